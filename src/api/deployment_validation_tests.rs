//! BedrockCustomModelDeployment: every bad input of `deployment_cel_cases.rs` refused by the CRD
//! (its OpenAPI schema, checked as the API server checks it, and its CEL rules, evaluated with
//! kube-cel: the shared harness of `crd_check.rs`) and by the controller's
//! `validate_deployment`, each naming the field; the valid specs accepted by both; the
//! transition rules; and the schema built from the `patterns` constants.
//! `tests/crd_server.rs` replays the same cases against a real kube-apiserver.

use std::collections::BTreeMap;

use super::*;
use crate::api::crd_check::{
    CrdCheck, StringField, assert_anchored, assert_committed_patterns, assert_fields,
    assert_message, assert_one_error, assert_status_strings, assert_string_fields, bad_input_tests,
    server_update_tests, string_field,
};
use crate::api::deployment_cel_cases as cases;
use crate::api::{
    BedrockCustomModelDeployment, DeletionPolicy, ModelRef, ModelTarget, ValidDeployment,
};

const CHECK: CrdCheck<BedrockCustomModelDeployment> =
    CrdCheck::new(cases::NAME, "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f");

bad_input_tests!(
    CHECK, validate_deployment;
    both_model_fields,
    neither_model_field,
    deployment_name_too_long,
    deployment_name_with_bad_characters,
    deployment_name_with_leading_dash,
    model_arn_of_a_deployment,
    model_arn_of_a_provisioned_model,
    model_arn_of_a_foundation_model,
    model_arn_garbage,
    model_arn_too_short,
    model_ref_with_empty_name,
    model_ref_with_invalid_name,
    description_too_long,
    description_empty,
    reserved_aws_tag_key,
    reserved_operator_tag_key,
    tag_key_with_bad_character,
    too_many_tags,
    bad_region,
    region_other_than_the_model_arns,
    export_config_map_name_invalid,
    export_config_map_name_too_long,
    export_config_map_name_empty,
);

#[test]
fn valid_specs_pass_the_server_and_the_controller() {
    CHECK.check_valid_creates(cases::valid_creates(), validate_deployment);
}

server_update_tests!(CHECK;
    deployment_name_is_immutable_while_active =>
        vec![cases::immutable_field_changed("modelDeploymentName", Some("Active"))],
    description_is_immutable_while_creating =>
        vec![cases::immutable_field_changed("description", Some("Creating"))],
    region_is_immutable_once_the_deployment_has_an_arn =>
        vec![cases::immutable_field_changed("region", None)],
    /// The whole family, as the server replays it.
    immutability_rules => cases::immutability_cases(),
    swapping_the_model_is_allowed_while_active => cases::model_swap_cases(),
    update_still_needs_exactly_one_model => cases::update_creation_rule_cases(),
);

// ---------------------------------------------------------------------------------------------
// The controller's validated value.
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_reference_becomes_a_model_target_ref() {
    let valid =
        validate_deployment(&CHECK.object(&cases::spec(), None)).expect("the valid spec passes");
    assert_eq!(
        valid,
        ValidDeployment {
            deployment_name: cases::NAME.into(),
            description: None,
            model: ModelTarget::Ref(cases::MODEL.into()),
            region: None,
            tags: BTreeMap::from([("team".to_string(), "ml".to_string())]),
            deletion_policy: DeletionPolicy::Delete,
            adoption_policy: crate::api::AdoptionPolicy::Never,
            export: None,
        }
    );
}

#[test]
fn valid_arn_becomes_a_model_target_arn_with_the_spec_values() {
    let spec = cases::arn_spec_with(serde_json::json!({
        "modelDeploymentName": "support",
        "description": "Nova support assistant",
        "region": "us-east-1",
        "deletionPolicy": "Retain",
    }));
    let valid = validate_deployment(&CHECK.object(&spec, None)).expect("the spec passes");
    assert_eq!(valid.deployment_name, "support");
    assert_eq!(valid.description.as_deref(), Some("Nova support assistant"));
    assert_eq!(valid.model, ModelTarget::Arn(cases::MODEL_ARN.into()));
    assert_eq!(valid.region.as_deref(), Some("us-east-1"));
    assert_eq!(valid.deletion_policy, DeletionPolicy::Retain);
}

#[test]
fn invalid_metadata_name_without_deployment_name_is_refused() {
    // No schema can state this: metadata.name is a DNS name, the default deployment name is not.
    let errors = validate_deployment(&CHECK.resource("my.deployment", &cases::spec(), None))
        .expect_err("a dotted name is no deployment name");
    assert_one_error(
        &errors,
        "spec.modelDeploymentName",
        "is unset, so the deployment would be named after metadata.name \"my.deployment\"",
    );
}

#[test]
fn several_problems_are_all_reported_in_field_order() {
    let mut deployment = CHECK.object(&cases::spec(), None);
    deployment.spec.model_deployment_name = Some("bad name".into());
    deployment.spec.model_ref = Some(ModelRef {
        name: "Bad_Name".into(),
    });
    deployment.spec.tags.insert("aws:x".into(), "y".into());
    deployment.spec.region = Some("mars".into());
    let errors = validate_deployment(&deployment).expect_err("four problems");
    assert_fields(
        &errors,
        &[
            "spec.modelDeploymentName",
            "spec.modelRef.name",
            "spec.tags[\"aws:x\"]",
            "spec.region",
        ],
    );
}

#[test]
fn too_many_tags_message_speaks_of_the_deployment() {
    let input = cases::too_many_tags();
    let errors = validate_deployment(&CHECK.object(&input.case.spec, None)).expect_err("48 tags");
    assert_message(
        &errors[0],
        "has 48 entries; the limit is 47 (Bedrock allows 50 tags per deployment",
    );
}

// ---------------------------------------------------------------------------------------------
// One source of truth: the deployment CRD carries the `patterns` constants.
// ---------------------------------------------------------------------------------------------

/// The string fields of the deployment schema and the constants they carry.
const STRING_FIELDS: [StringField; 5] = [
    string_field(
        "spec.modelDeploymentName",
        Some(patterns::MODEL_DEPLOYMENT_NAME),
        1,
        patterns::MODEL_DEPLOYMENT_NAME_MAX,
    ),
    string_field(
        "spec.modelArn",
        Some(patterns::CUSTOM_MODEL_ARN),
        patterns::CUSTOM_MODEL_ARN_MIN,
        patterns::CUSTOM_MODEL_ARN_MAX,
    ),
    string_field(
        "spec.modelRef.name",
        Some(patterns::OBJECT_NAME),
        1,
        patterns::OBJECT_NAME_MAX,
    ),
    string_field(
        "spec.description",
        None,
        1,
        patterns::DEPLOYMENT_DESCRIPTION_MAX,
    ),
    string_field(
        "spec.region",
        Some(patterns::REGION),
        1,
        patterns::REGION_MAX,
    ),
];

#[test]
fn deployment_schema_uses_the_pattern_constants() {
    let schema = CHECK.schema();
    assert_string_fields(&schema, &STRING_FIELDS);
    let spec = &schema["properties"]["spec"]["properties"];
    assert_eq!(
        spec["modelRef"]["required"],
        serde_json::json!(["name"]),
        "spec.modelRef.name is required"
    );
    assert_eq!(
        spec["deletionPolicy"]["enum"],
        serde_json::json!(["Delete", "Retain"])
    );
}

#[test]
fn committed_deployment_crd_matches_the_pattern_constants() {
    assert_committed_patterns(
        include_str!("../../crds/bedrockcustommodeldeployments.bedrock-operator.dev.yaml"),
        &STRING_FIELDS,
    );
}

#[test]
fn deployment_pattern_constants_compile_and_are_anchored() {
    assert_anchored(&[
        ("MODEL_DEPLOYMENT_NAME", patterns::MODEL_DEPLOYMENT_NAME),
        ("CUSTOM_MODEL_ARN", patterns::CUSTOM_MODEL_ARN),
        ("OBJECT_NAME", patterns::OBJECT_NAME),
    ]);
    for check in [&MODEL_DEPLOYMENT_NAME, &CUSTOM_MODEL_ARN, &OBJECT_NAME] {
        assert!(check.max > 0);
    }
}

#[test]
fn status_columns_and_enums_are_strings_in_the_schema() {
    assert_status_strings(&CHECK.schema(), &["deploymentStatus", "updateStatus"]);
}

#[test]
fn export_names_the_configmap_after_the_resource_unless_configmapname_is_set() {
    let exported = |export: serde_json::Value| {
        validate_deployment(&CHECK.object(
            &cases::spec_with(serde_json::json!({ "export": export })),
            None,
        ))
        .map(|valid| valid.export)
    };
    assert_eq!(
        exported(serde_json::json!({})),
        Ok(Some(format!("{}-bedrock", cases::NAME)))
    );
    assert_eq!(
        exported(serde_json::json!({ "configMapName": "chat-endpoint" })),
        Ok(Some("chat-endpoint".to_string()))
    );
    assert_eq!(
        validate_deployment(&CHECK.object(&cases::spec(), None)).map(|valid| valid.export),
        Ok(None)
    );
}

/// No schema can state it: metadata.name is valid, the ConfigMap name made from it is too long.
#[test]
fn a_default_configmap_name_too_long_names_the_field_to_set() {
    let spec = cases::spec_with(serde_json::json!({ "modelDeploymentName": "chat", "export": {} }));
    let mut deployment = CHECK.object(&spec, None);
    deployment.metadata.name = Some("a".repeat(250));
    let errors = validate_deployment(&deployment).expect_err("too long a default");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "spec.export.configMapName");
    assert!(
        errors[0]
            .message
            .starts_with("is unset, so the ConfigMap would be named")
            && errors[0].message.ends_with("set spec.export.configMapName"),
        "{}",
        errors[0].message
    );
}
