//! The CRD's CEL rules, evaluated with a real CEL implementation (kube-cel, through the
//! `validate_cel` / `validate_cel_update` methods `#[kube(cel)]` generates).

use std::collections::BTreeMap;

use kube::api::ObjectMeta;
use kube::core::cel::ValidationErrors;

use super::*;
use crate::api::{
    BedrockCustomModel, BedrockCustomModelSpec, BedrockCustomModelStatus, DeletionPolicy,
    ModelSource,
};

const NAME: &str = "my-model";
const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abc123def456";
const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/OtherRole";
const S3_SOURCE: &str = "s3://my-bucket/models/nova/";
const PACKAGE_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/1";
const KMS: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const ONE_SOURCE: &str = "exactly one of source.s3Uri or source.modelPackageArn must be set";
const ROLE_REQUIRED: &str = "roleArn is required when source.s3Uri is set";
const TAG_KEY_RULE: &str = "tag keys must be 1 to 128 characters";
const RESERVED: &str = "tag keys starting with 'aws:' or 'bedrock-operator.dev/' are reserved";

fn spec() -> BedrockCustomModelSpec {
    BedrockCustomModelSpec {
        source: ModelSource {
            s3_uri: Some(S3_SOURCE.into()),
            model_package_arn: None,
        },
        role_arn: Some(ROLE.into()),
        tags: BTreeMap::from([("team".to_string(), "ml".to_string())]),
        ..Default::default()
    }
}

fn spec_with(change: impl FnOnce(&mut BedrockCustomModelSpec)) -> BedrockCustomModelSpec {
    let mut spec = spec();
    change(&mut spec);
    spec
}

fn package() -> ModelSource {
    ModelSource {
        s3_uri: None,
        model_package_arn: Some(PACKAGE_ARN.into()),
    }
}

fn resource(
    spec: BedrockCustomModelSpec,
    status: Option<BedrockCustomModelStatus>,
) -> BedrockCustomModel {
    BedrockCustomModel {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some("ml".into()),
            uid: Some("0b6f2c1e-5d7a-4c1b-9a8e-3f2d1c0b9a87".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec,
        status,
    }
}

/// The status of an existing model in `state` (`None`: Bedrock state not recorded).
fn with_model(state: Option<&str>) -> Option<BedrockCustomModelStatus> {
    Some(BedrockCustomModelStatus {
        model_arn: Some(ARN.into()),
        model_name: Some(NAME.into()),
        model_status: state.map(str::to_string),
        ..Default::default()
    })
}

/// A status that records no model yet.
fn without_model() -> Option<BedrockCustomModelStatus> {
    Some(BedrockCustomModelStatus {
        model_name: Some(NAME.into()),
        model_status: Some("Creating".into()),
        ..Default::default()
    })
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

/// Checks `got` against the expected `(field path, message fragment)` pairs, in any order.
fn check(case: &str, got: &[(String, String)], want: &[(&str, &str)]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{case}: expected {want:?}, got {got:?}"
    );
    for (field, fragment) in want {
        assert!(
            got.iter().any(|(f, m)| f == field && m.contains(fragment)),
            "{case}: no failure at {field} containing {fragment:?} in {got:?}"
        );
    }
}

#[test]
fn creation_rules() {
    /// (case name, spec, expected (field path, message fragment) failures)
    type Case = (
        &'static str,
        BedrockCustomModelSpec,
        Vec<(&'static str, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        ("s3 source with role", spec(), vec![]),
        (
            "model package without role",
            spec_with(|s| {
                s.source = package();
                s.role_arn = None;
            }),
            vec![],
        ),
        (
            "model package with role",
            spec_with(|s| s.source = package()),
            vec![],
        ),
        (
            "both sources",
            spec_with(|s| s.source.model_package_arn = Some(PACKAGE_ARN.into())),
            vec![("spec.source", ONE_SOURCE)],
        ),
        (
            "neither source",
            spec_with(|s| {
                s.source = ModelSource::default();
                s.role_arn = None;
            }),
            vec![("spec.source", ONE_SOURCE)],
        ),
        (
            "s3 source without role",
            spec_with(|s| s.role_arn = None),
            vec![("spec.roleArn", ROLE_REQUIRED)],
        ),
        (
            "reserved aws: key",
            spec_with(|s| {
                s.tags.insert("aws:x".into(), "y".into());
            }),
            vec![("spec.tags", RESERVED)],
        ),
        (
            "reserved operator key",
            spec_with(|s| {
                s.tags
                    .insert("bedrock-operator.dev/owner-uid".into(), "y".into());
            }),
            vec![("spec.tags", RESERVED)],
        ),
        (
            "key with '!'",
            spec_with(|s| {
                s.tags.insert("team!".into(), "y".into());
            }),
            vec![("spec.tags", TAG_KEY_RULE)],
        ),
        (
            "key with '&'",
            spec_with(|s| {
                s.tags.insert("r&d".into(), "y".into());
            }),
            vec![("spec.tags", TAG_KEY_RULE)],
        ),
        (
            "empty key",
            spec_with(|s| {
                s.tags.insert(String::new(), "y".into());
            }),
            vec![("spec.tags", TAG_KEY_RULE)],
        ),
        (
            "129-character key",
            spec_with(|s| {
                s.tags.insert("k".repeat(129), "y".into());
            }),
            vec![("spec.tags", TAG_KEY_RULE)],
        ),
        (
            "reserved key with a bad character breaks both rules",
            spec_with(|s| {
                s.tags.insert("aws:x!".into(), "y".into());
            }),
            vec![("spec.tags", TAG_KEY_RULE), ("spec.tags", RESERVED)],
        ),
        (
            "keys with every allowed character, 128 characters",
            spec_with(|s| {
                s.tags = BTreeMap::from([
                    ("cost center._:/=+-@".to_string(), "v".to_string()),
                    ("k".repeat(128), "v".to_string()),
                    ("team/aws:x".to_string(), "v".to_string()),
                ]);
            }),
            vec![],
        ),
        (
            "both sources and no role: each rule reports",
            spec_with(|s| {
                s.source.model_package_arn = Some(PACKAGE_ARN.into());
                s.role_arn = None;
            }),
            vec![("spec.source", ONE_SOURCE), ("spec.roleArn", ROLE_REQUIRED)],
        ),
    ];
    for (name, spec, want) in cases {
        let got = failures(resource(spec, None).validate_cel());
        check(name, &got, &want);
    }
}

#[test]
fn creation_rules_ignore_transition_rules() {
    // The immutability rules compare with oldSelf: on create (no old object) they do not run,
    // whatever the status says.
    let got = failures(resource(spec(), with_model(Some("Active"))).validate_cel());
    check("create with a status", &got, &[]);
}

#[test]
fn immutability_transition_rules() {
    struct Case {
        name: String,
        old_spec: BedrockCustomModelSpec,
        old_status: Option<BedrockCustomModelStatus>,
        new_spec: BedrockCustomModelSpec,
        want: Vec<(&'static str, &'static str)>,
    }
    let immutable = |field: &'static str| -> (&'static str, &'static str) {
        let path = match field {
            "modelName" => "spec.modelName",
            "source" => "spec.source",
            "roleArn" => "spec.roleArn",
            "kmsKeyArn" => "spec.kmsKeyArn",
            "region" => "spec.region",
            other => panic!("unknown field {other}"),
        };
        (path, path)
    };
    let renamed = spec_with(|s| s.model_name = Some("renamed".into()));
    let new_uri = spec_with(|s| s.source.s3_uri = Some("s3://my-bucket/models/nova-v2/".into()));
    let new_role = spec_with(|s| s.role_arn = Some(OTHER_ROLE.into()));
    let with_kms = spec_with(|s| s.kms_key_arn = Some(KMS.into()));
    let in_region = spec_with(|s| s.region = Some("eu-west-1".into()));

    let mut cases = Vec::new();
    // Each immutable field, changed while a model exists and is not Failed: refused.
    for (state, state_name) in [
        (Some("Active"), "Active"),
        (Some("Creating"), "Creating"),
        (None, "unknown"),
    ] {
        for (field, new_spec) in [
            ("modelName", renamed.clone()),
            ("source", new_uri.clone()),
            ("roleArn", new_role.clone()),
            ("kmsKeyArn", with_kms.clone()),
            ("region", in_region.clone()),
        ] {
            cases.push(Case {
                name: format!("{field} changed while {state_name}"),
                old_spec: spec(),
                old_status: with_model(state),
                new_spec,
                want: vec![immutable(field)],
            });
        }
    }
    // The same changes while Failed, or before any model exists: allowed.
    for (status, status_name) in [
        (with_model(Some("Failed")), "Failed"),
        (without_model(), "no modelArn"),
        (None, "no status"),
    ] {
        for (field, new_spec) in [
            ("modelName", renamed.clone()),
            ("source", new_uri.clone()),
            ("roleArn", new_role.clone()),
            ("kmsKeyArn", with_kms.clone()),
            ("region", in_region.clone()),
        ] {
            cases.push(Case {
                name: format!("{field} changed, {status_name}"),
                old_spec: spec(),
                old_status: status.clone(),
                new_spec,
                want: vec![],
            });
        }
    }
    cases.extend([
        Case {
            name: "several fields changed while Active: each reported".into(),
            old_spec: spec(),
            old_status: with_model(Some("Active")),
            new_spec: spec_with(|s| {
                s.model_name = Some("renamed".into());
                s.role_arn = Some(OTHER_ROLE.into());
                s.region = Some("eu-west-1".into());
            }),
            want: vec![
                immutable("modelName"),
                immutable("roleArn"),
                immutable("region"),
            ],
        },
        Case {
            name: "switch to a model package while Active".into(),
            old_spec: spec(),
            old_status: with_model(Some("Active")),
            new_spec: spec_with(|s| {
                s.source = package();
                s.role_arn = None;
            }),
            want: vec![immutable("source"), immutable("roleArn")],
        },
        Case {
            name: "kmsKeyArn removed while Active".into(),
            old_spec: with_kms.clone(),
            old_status: with_model(Some("Active")),
            new_spec: spec(),
            want: vec![immutable("kmsKeyArn")],
        },
        Case {
            name: "modelName set to metadata.name: same model name".into(),
            old_spec: spec(),
            old_status: with_model(Some("Active")),
            new_spec: spec_with(|s| s.model_name = Some(NAME.into())),
            want: vec![],
        },
        Case {
            name: "modelName unset when it equalled metadata.name".into(),
            old_spec: spec_with(|s| s.model_name = Some(NAME.into())),
            old_status: with_model(Some("Active")),
            new_spec: spec(),
            want: vec![],
        },
        Case {
            name: "only tags changed while Active".into(),
            old_spec: spec(),
            old_status: with_model(Some("Active")),
            new_spec: spec_with(|s| {
                s.tags = BTreeMap::from([("env".to_string(), "prod".to_string())]);
            }),
            want: vec![],
        },
        Case {
            name: "only deletionPolicy changed while Active".into(),
            old_spec: spec(),
            old_status: with_model(Some("Active")),
            new_spec: spec_with(|s| s.deletion_policy = DeletionPolicy::Retain),
            want: vec![],
        },
        Case {
            name: "only adoptionPolicy changed while Active".into(),
            old_spec: spec(),
            old_status: with_model(Some("Active")),
            new_spec: spec_with(|s| s.adoption_policy = crate::api::AdoptionPolicy::Adopt),
            want: vec![],
        },
        Case {
            name: "nothing changed while Active".into(),
            old_spec: spec(),
            old_status: with_model(Some("Active")),
            new_spec: spec(),
            want: vec![],
        },
    ]);

    for case in cases {
        let old = resource(case.old_spec, case.old_status.clone());
        // The status subresource keeps the status as it was across a spec update.
        let new = resource(case.new_spec, case.old_status);
        let got = failures(new.validate_cel_update(&old));
        check(&case.name, &got, &case.want);
        for (_, message) in &got {
            assert!(
                message.contains("cannot change once the Bedrock model exists"),
                "{}: message should say why: {message}",
                case.name
            );
        }
    }
}

#[test]
fn update_rules_still_apply_creation_rules() {
    let old = resource(spec(), with_model(Some("Active")));
    let new = resource(spec_with(|s| s.role_arn = None), with_model(Some("Active")));
    let got = failures(new.validate_cel_update(&old));
    check(
        "role removed from an Active s3 model",
        &got,
        &[
            ("spec.roleArn", ROLE_REQUIRED),
            ("spec.roleArn", "spec.roleArn cannot change"),
        ],
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
