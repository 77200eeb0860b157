//! The CRD's CEL rules, evaluated with a real CEL implementation (kube-cel, through the
//! `validate_cel` / `validate_cel_update` methods `#[kube(cel)]` generates), on the cases of
//! `cel_cases.rs` (which `tests/crd_server.rs` replays against a real kube-apiserver).

use kube::api::ObjectMeta;
use kube::core::cel::ValidationErrors;
use serde_json::Value;

use super::*;
use crate::api::BedrockCustomModel;

#[path = "cel_cases.rs"]
mod cases;

use cases::{CreateCase, Failure, UpdateCase};

fn resource(spec: &Value, status: Option<&Value>) -> BedrockCustomModel {
    BedrockCustomModel {
        metadata: ObjectMeta {
            name: Some(cases::NAME.into()),
            namespace: Some("ml".into()),
            uid: Some("0b6f2c1e-5d7a-4c1b-9a8e-3f2d1c0b9a87".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: serde_json::from_value(spec.clone()).expect("a case's spec deserializes"),
        status: status.map(|s| serde_json::from_value(s.clone()).expect("a case's status")),
    }
}

/// (field path, message) of each failure, for assertions and readable panics.
///
/// kube-cel 0.8 appends a rule's `fieldPath` to the node path verbatim, so a rule on the root
/// (node path "") with fieldPath `.spec.region` reports `.spec.region`; the apiserver reports
/// `spec.region`. The leading dot is dropped so both read the same.
fn failures(result: Result<(), ValidationErrors>) -> Vec<(String, String)> {
    match result {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| {
                (
                    e.field_path.trim_start_matches('.').to_string(),
                    e.message.clone(),
                )
            })
            .collect(),
    }
}

/// What is wrong with `got` against the expected failures (in any order), if anything.
fn mismatch(case: &str, got: &[(String, String)], want: &[Failure]) -> Option<String> {
    let unmatched: Vec<&Failure> = want
        .iter()
        .filter(|w| {
            !got.iter()
                .any(|(field, message)| field == w.field && message.contains(w.message))
        })
        .collect();
    (got.len() != want.len() || !unmatched.is_empty())
        .then(|| format!("{case}: expected {want:?}, got {got:?}"))
}

/// Fails with every mismatching case, not just the first.
fn assert_all(family: &str, total: usize, mismatches: Vec<String>) {
    assert!(
        mismatches.is_empty(),
        "{family}: {} of {total} cases differ from the table:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn check_creates(family: &str, cases: Vec<CreateCase>) {
    let total = cases.len();
    let mismatches = cases
        .iter()
        .filter_map(|case| {
            let got = failures(resource(&case.spec, case.status.as_ref()).validate_cel());
            mismatch(&case.name, &got, &case.want)
        })
        .collect();
    assert_all(family, total, mismatches);
}

fn check_updates(family: &str, cases: Vec<UpdateCase>) {
    let total = cases.len();
    let mismatches = cases
        .iter()
        .filter_map(|case| {
            let old = resource(&case.spec, case.status.as_ref());
            // The status subresource keeps the status as it was across a spec update.
            let new = resource(&case.new_spec(), case.status.as_ref());
            let got = failures(new.validate_cel_update(&old));
            mismatch(&case.name, &got, &case.want)
        })
        .collect();
    assert_all(family, total, mismatches);
}

#[test]
fn creation_rules() {
    check_creates("creation rules", cases::creation_cases());
}

#[test]
fn creation_rules_ignore_transition_rules() {
    check_creates(
        "creation with a status",
        cases::creation_with_status_cases(),
    );
}

#[test]
fn immutability_transition_rules() {
    check_updates("immutability rules", cases::immutability_cases());
}

#[test]
fn update_rules_still_apply_creation_rules() {
    check_updates(
        "creation rules on update",
        cases::update_creation_rule_cases(),
    );
}

#[test]
fn rule_builders() {
    let rule = immutable_once_created("region", &optional_equal("region"));
    assert_eq!(rule.field_path.as_deref(), Some(".spec.region"));
    assert!(
        rule.rule.contains("oldSelf.status.modelStatus == 'Failed'"),
        "{}",
        rule.rule
    );
    assert!(matches!(rule.reason, Some(Reason::FieldValueForbidden)));
    assert_eq!(cel_string(r"^a\s'b$"), r"^a\\s\'b$");
    let keys = tag_keys();
    assert!(
        keys.rule
            .contains(&format!("k.size() <= {}", patterns::TAG_KEY_MAX)),
        "{}",
        keys.rule
    );
}
