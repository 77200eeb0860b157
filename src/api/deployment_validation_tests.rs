//! BedrockCustomModelDeployment: every bad input of `deployment_cel_cases.rs` refused by the CRD
//! (its OpenAPI schema, checked here as the API server checks it, and its CEL rules, evaluated
//! with kube-cel) and by the controller's `validate_deployment`, each naming the field; the
//! valid specs accepted by both; and the schema built from the `patterns` constants.
//! `tests/crd_server.rs` replays the same cases against a real kube-apiserver.

use std::collections::BTreeMap;

use kube::api::ObjectMeta;
use kube::core::cel::ValidationErrors;
use regex::Regex;
use serde_json::Value;

use super::*;
use crate::api::{
    BedrockCustomModelDeployment, DeletionPolicy, ModelRef, ModelTarget, ValidDeployment,
};

#[path = "deployment_cel_cases.rs"]
mod cases;
// The model's CEL tests mount this file too; here it provides the case types that
// `deployment_cel_cases.rs` uses (as `tests/crd_server.rs` mounts both side by side).
#[allow(clippy::duplicate_mod)]
#[path = "cel_cases.rs"]
mod cel_cases;

use cases::BadInput;
use cel_cases::{CreateCase, Failure, UpdateCase};

fn resource(
    metadata_name: &str,
    spec: &Value,
    status: Option<&Value>,
) -> BedrockCustomModelDeployment {
    BedrockCustomModelDeployment {
        metadata: ObjectMeta {
            name: Some(metadata_name.into()),
            namespace: Some("ml".into()),
            uid: Some("5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: serde_json::from_value(spec.clone()).expect("a case's spec deserializes"),
        status: status.map(|s| serde_json::from_value(s.clone()).expect("a case's status")),
    }
}

fn schema() -> Value {
    let crd = serde_json::to_value(crate::crd::deployment_crd()).expect("CRD serializes");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// The OpenAPI checks the API server makes before the CEL rules, as it words them: of a
/// string's maxLength, minLength and pattern only the first that fails is reported.
fn schema_failures(schema: &Value, value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    let child = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    match value {
        Value::Object(object) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().expect("required names are strings");
                if !object.contains_key(name) {
                    out.push((child(name), "Required value".into()));
                }
            }
            if let Some(max) = schema["maxProperties"].as_u64()
                && object.len() as u64 > max
            {
                out.push((
                    path.to_string(),
                    format!("Too many: {}: must have at most {max} items", object.len()),
                ));
            }
            for (name, field) in object {
                if let Some(field_schema) = schema["properties"].get(name) {
                    schema_failures(field_schema, field, &child(name), out);
                } else if schema["additionalProperties"].is_object() {
                    let entry = format!("{path}[{name}]");
                    schema_failures(&schema["additionalProperties"], field, &entry, out);
                }
            }
        }
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(max) = schema["maxLength"].as_u64()
                && length > max
            {
                out.push((
                    path.to_string(),
                    format!("Too long: may not be more than {max} bytes"),
                ));
            } else if let Some(min) = schema["minLength"].as_u64()
                && length < min
            {
                out.push((
                    path.to_string(),
                    format!(
                        "Invalid value: {text:?}: {path} in body should be at least {min} chars long"
                    ),
                ));
            } else if let Some(pattern) = schema["pattern"].as_str()
                && !Regex::new(pattern)
                    .expect("schema patterns compile")
                    .is_match(text)
            {
                out.push((
                    path.to_string(),
                    format!("Invalid value: {text:?}: {path} in body should match '{pattern}'"),
                ));
            }
            if let Some(allowed) = schema["enum"].as_array()
                && !allowed.contains(value)
            {
                out.push((path.to_string(), format!("Unsupported value: {text:?}")));
            }
        }
        _ => {}
    }
}

/// (field path, message) of each CEL failure; the leading dot kube-cel adds is dropped (see
/// `cel_tests.rs`).
fn cel_failures(result: Result<(), ValidationErrors>) -> Vec<(String, String)> {
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

/// What the API server would refuse in a create of `spec`: schema, then CEL.
fn server_failures(spec: &Value, status: Option<&Value>) -> Vec<(String, String)> {
    let object = serde_json::json!({ "metadata": { "name": cases::NAME }, "spec": spec });
    let mut failures = Vec::new();
    schema_failures(&schema(), &object, "", &mut failures);
    failures.extend(cel_failures(
        resource(cases::NAME, spec, status).validate_cel(),
    ));
    failures
}

/// Why `got` is not exactly `want` (in any order), if it is not.
fn mismatch(case: &str, got: &[(String, String)], want: &[Failure]) -> Option<String> {
    let matched = want.iter().all(|w| {
        got.iter()
            .any(|(field, message)| field == w.field && message.contains(w.message))
    });
    (got.len() != want.len() || !matched).then(|| format!("{case}: expected {want:?}, got {got:?}"))
}

/// Panics unless `got` is exactly `want` (in any order).
fn assert_failures(case: &str, got: &[(String, String)], want: &[Failure]) {
    if let Some(problem) = mismatch(case, got, want) {
        panic!("{problem}");
    }
}

/// The server's verdict on the create, and the controller's: both refuse, naming the field.
fn check_bad_input(input: BadInput) {
    let BadInput { case, field } = input;
    assert!(!case.want.is_empty(), "{}: a bad input", case.name);
    assert_failures(
        &case.name,
        &server_failures(&case.spec, case.status.as_ref()),
        &case.want,
    );
    let errors = validate_deployment(&resource(cases::NAME, &case.spec, None))
        .expect_err("the controller refuses a bad input");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [field],
        "{}: controller errors {errors:?}",
        case.name
    );
    assert!(
        errors[0].to_string().starts_with(&format!("{field}: ")),
        "{}: {}",
        case.name,
        errors[0]
    );
}

macro_rules! bad_inputs {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                check_bad_input(cases::$case());
            }
        )*

        /// Every bad input the server replays has its own named test here.
        #[test]
        fn every_bad_input_has_a_named_test() {
            let named: Vec<String> = vec![$(cases::$case().case.name),*];
            let replayed: Vec<String> =
                cases::bad_inputs().into_iter().map(|input| input.case.name).collect();
            assert_eq!(named, replayed);
            assert!(named.len() >= 12);
        }
    };
}

bad_inputs!(
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
);

#[test]
fn valid_specs_pass_the_server_and_the_controller() {
    let cases: Vec<CreateCase> = cases::valid_creates();
    for case in &cases {
        assert_failures(&case.name, &server_failures(&case.spec, None), &[]);
        let valid = validate_deployment(&resource(cases::NAME, &case.spec, None));
        assert!(valid.is_ok(), "{}: {valid:?}", case.name);
    }
}

/// What differs from the table in the CEL verdict on the update, if anything.
fn update_mismatch(case: &UpdateCase) -> Option<String> {
    let old = resource(cases::NAME, &case.spec, case.status.as_ref());
    // The status subresource keeps the status as it was across a spec update.
    let new = resource(cases::NAME, &case.new_spec(), case.status.as_ref());
    let got = cel_failures(new.validate_cel_update(&old));
    mismatch(&case.name, &got, &case.want)
}

/// Fails with every case of `cases` that differs from the table.
fn check_updates(cases: Vec<UpdateCase>) {
    let problems: Vec<String> = cases.iter().filter_map(update_mismatch).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn deployment_name_is_immutable_while_active() {
    check_updates(vec![cases::immutable_field_changed(
        "modelDeploymentName",
        Some("Active"),
    )]);
}

#[test]
fn description_is_immutable_while_creating() {
    check_updates(vec![cases::immutable_field_changed(
        "description",
        Some("Creating"),
    )]);
}

#[test]
fn region_is_immutable_once_the_deployment_has_an_arn() {
    check_updates(vec![cases::immutable_field_changed("region", None)]);
}

#[test]
fn immutability_rules() {
    // The whole family, as the server replays it.
    check_updates(cases::immutability_cases());
}

#[test]
fn swapping_the_model_is_allowed_while_active() {
    check_updates(cases::model_swap_cases());
}

#[test]
fn update_still_needs_exactly_one_model() {
    check_updates(cases::update_creation_rule_cases());
}

// ---------------------------------------------------------------------------------------------
// The controller's validated value.
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_reference_becomes_a_model_target_ref() {
    let valid = validate_deployment(&resource(cases::NAME, &cases::spec(), None))
        .expect("the valid spec passes");
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
    let valid = validate_deployment(&resource(cases::NAME, &spec, None)).expect("the spec passes");
    assert_eq!(valid.deployment_name, "support");
    assert_eq!(valid.description.as_deref(), Some("Nova support assistant"));
    assert_eq!(valid.model, ModelTarget::Arn(cases::MODEL_ARN.into()));
    assert_eq!(valid.region.as_deref(), Some("us-east-1"));
    assert_eq!(valid.deletion_policy, DeletionPolicy::Retain);
}

#[test]
fn invalid_metadata_name_without_deployment_name_is_refused() {
    // No schema can state this: metadata.name is a DNS name, the default deployment name is not.
    let errors = validate_deployment(&resource("my.deployment", &cases::spec(), None))
        .expect_err("a dotted name is no deployment name");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "spec.modelDeploymentName");
    assert!(
        errors[0].message.contains(
            "is unset, so the deployment would be named after metadata.name \"my.deployment\""
        ),
        "{}",
        errors[0].message
    );
}

#[test]
fn several_problems_are_all_reported_in_field_order() {
    let mut deployment = resource(cases::NAME, &cases::spec(), None);
    deployment.spec.model_deployment_name = Some("bad name".into());
    deployment.spec.model_ref = Some(ModelRef {
        name: "Bad_Name".into(),
    });
    deployment.spec.tags.insert("aws:x".into(), "y".into());
    deployment.spec.region = Some("mars".into());
    let errors = validate_deployment(&deployment).expect_err("four problems");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.modelDeploymentName",
            "spec.modelRef.name",
            "spec.tags[\"aws:x\"]",
            "spec.region",
        ]
    );
}

#[test]
fn too_many_tags_message_speaks_of_the_deployment() {
    let input = cases::too_many_tags();
    let errors =
        validate_deployment(&resource(cases::NAME, &input.case.spec, None)).expect_err("48 tags");
    assert!(
        errors[0]
            .message
            .contains("has 48 entries; the limit is 47 (Bedrock allows 50 tags per deployment"),
        "{}",
        errors[0].message
    );
}

// ---------------------------------------------------------------------------------------------
// One source of truth: the deployment CRD carries the `patterns` constants.
// ---------------------------------------------------------------------------------------------

#[test]
fn deployment_schema_uses_the_pattern_constants() {
    let schema = schema();
    let spec = &schema["properties"]["spec"]["properties"];
    for (field, node, pattern, min, max) in [
        (
            "spec.modelDeploymentName",
            &spec["modelDeploymentName"],
            Some(patterns::MODEL_DEPLOYMENT_NAME),
            1,
            patterns::MODEL_DEPLOYMENT_NAME_MAX,
        ),
        (
            "spec.modelArn",
            &spec["modelArn"],
            Some(patterns::CUSTOM_MODEL_ARN),
            patterns::CUSTOM_MODEL_ARN_MIN,
            patterns::CUSTOM_MODEL_ARN_MAX,
        ),
        (
            "spec.modelRef.name",
            &spec["modelRef"]["properties"]["name"],
            Some(patterns::OBJECT_NAME),
            1,
            patterns::OBJECT_NAME_MAX,
        ),
        (
            "spec.description",
            &spec["description"],
            None,
            1,
            patterns::DEPLOYMENT_DESCRIPTION_MAX,
        ),
        (
            "spec.region",
            &spec["region"],
            Some(patterns::REGION),
            1,
            patterns::REGION_MAX,
        ),
    ] {
        assert_eq!(node["type"], "string", "{field}: type");
        assert_eq!(node["pattern"].as_str(), pattern, "{field}: pattern");
        assert_eq!(node["minLength"], min, "{field}: minLength");
        assert_eq!(node["maxLength"], max, "{field}: maxLength");
    }
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
    let yaml = include_str!("../../crds/bedrockcustommodeldeployments.bedrock-operator.dev.yaml");
    let committed: Value = serde_yaml::from_str(yaml).expect("committed CRD parses");
    let spec = &committed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"];
    for (field, node, pattern) in [
        (
            "modelDeploymentName",
            &spec["modelDeploymentName"],
            patterns::MODEL_DEPLOYMENT_NAME,
        ),
        ("modelArn", &spec["modelArn"], patterns::CUSTOM_MODEL_ARN),
        (
            "modelRef.name",
            &spec["modelRef"]["properties"]["name"],
            patterns::OBJECT_NAME,
        ),
        ("region", &spec["region"], patterns::REGION),
    ] {
        assert_eq!(node["pattern"], pattern, "committed CRD {field}: pattern");
    }
}

#[test]
fn deployment_pattern_constants_compile_and_are_anchored() {
    for (name, pattern) in [
        ("MODEL_DEPLOYMENT_NAME", patterns::MODEL_DEPLOYMENT_NAME),
        ("CUSTOM_MODEL_ARN", patterns::CUSTOM_MODEL_ARN),
        ("OBJECT_NAME", patterns::OBJECT_NAME),
    ] {
        assert!(Regex::new(pattern).is_ok(), "{name} does not compile");
        assert!(
            pattern.starts_with('^') && pattern.ends_with('$'),
            "{name} must be anchored: {pattern}"
        );
    }
    for check in [&MODEL_DEPLOYMENT_NAME, &CUSTOM_MODEL_ARN, &OBJECT_NAME] {
        assert!(check.max > 0);
    }
}

#[test]
fn status_columns_and_enums_are_strings_in_the_schema() {
    // Helm does not upgrade CRDs: an operator newer than its CRD must still write its status.
    let schema = schema();
    let status = &schema["properties"]["status"]["properties"];
    for field in ["deploymentStatus", "updateStatus"] {
        assert_eq!(status[field]["type"], "string", "status.{field}");
        assert!(status[field]["enum"].is_null(), "status.{field}: no enum");
    }
    assert_eq!(status["conditions"]["x-kubernetes-list-type"], "map");
}
