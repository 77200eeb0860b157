//! The BedrockCustomModel CRD's CEL rules, evaluated with a real CEL implementation (kube-cel,
//! on the CRD `#[kube(cel)]` generates, by the shared harness of `crd_check.rs`), on the cases
//! of `cel_cases.rs` (which `tests/crd_server.rs` replays against a real kube-apiserver).

use super::*;
use crate::api::BedrockCustomModel;
use crate::api::cel_cases as cases;
use crate::api::crd_check::CrdCheck;

const CHECK: CrdCheck<BedrockCustomModel> =
    CrdCheck::new(cases::NAME, "0b6f2c1e-5d7a-4c1b-9a8e-3f2d1c0b9a87");

#[test]
fn creation_rules() {
    CHECK.check_cel_creates("creation rules", cases::creation_cases());
}

#[test]
fn creation_rules_ignore_transition_rules() {
    CHECK.check_cel_creates(
        "creation with a status",
        cases::creation_with_status_cases(),
    );
}

#[test]
fn immutability_transition_rules() {
    CHECK.check_cel_updates("immutability rules", cases::immutability_cases());
}

#[test]
fn update_rules_still_apply_creation_rules() {
    CHECK.check_cel_updates(
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
