//! BedrockProvisionedThroughput: every bad input of `throughput_cel_cases.rs` refused by the CRD
//! (its OpenAPI schema, checked here as the API server checks it, and its CEL rules, evaluated
//! with kube-cel) and by the controller's `validate_throughput`, each naming the field; the
//! valid specs accepted by both; the transition rules; the commitment guard (the controller's
//! alone); and the schema built from the `patterns` constants. `tests/crd_server.rs` replays
//! the same cases against a real kube-apiserver.
//!
//! A spec `validate_throughput` refuses is InvalidSpec before any AWS call (the controller's
//! `apply` returns `plan::invalid` first; `plan_tests.rs` shows that plan has no action), so
//! "the controller names the field" here means "nothing is bought".

use std::collections::BTreeMap;

use kube::api::ObjectMeta;
use kube::core::cel::ValidationErrors;
use regex::Regex;
use serde_json::{Value, json};

use crate::api::validation::{FieldError, commitment_refused, validate_throughput};
use crate::api::{
    AdoptionPolicy, BedrockProvisionedThroughput, BedrockProvisionedThroughputSpec,
    CommitmentDuration, DeletionPolicy, ThroughputModel, ValidThroughput, patterns,
    throughput::CONFIRM_COMMITMENT_ANNOTATION,
};

#[path = "throughput_cel_cases.rs"]
mod cases;
// The model's CEL tests mount this file too; here it provides the case types that
// `throughput_cel_cases.rs` uses (as `tests/crd_server.rs` mounts both side by side).
#[allow(clippy::duplicate_mod)]
#[path = "cel_cases.rs"]
mod cel_cases;

use cases::BadInput;
use cel_cases::{CreateCase, Failure, UpdateCase};

fn resource(
    metadata_name: &str,
    spec: &Value,
    status: Option<&Value>,
) -> BedrockProvisionedThroughput {
    BedrockProvisionedThroughput {
        metadata: ObjectMeta {
            name: Some(metadata_name.into()),
            namespace: Some("ml".into()),
            uid: Some("7d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: serde_json::from_value(spec.clone()).expect("a case's spec deserializes"),
        status: status.map(|s| serde_json::from_value(s.clone()).expect("a case's status")),
    }
}

fn schema() -> Value {
    let crd = serde_json::to_value(crate::crd::throughput_crd()).expect("CRD serializes");
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
        Value::Number(number) => {
            if let (Some(minimum), Some(n)) = (schema["minimum"].as_f64(), number.as_f64())
                && n < minimum
            {
                out.push((
                    path.to_string(),
                    format!(
                        "Invalid value: {number}: {path} in body should be greater than or equal to {minimum}"
                    ),
                ));
            }
        }
        _ => {}
    }
}

/// The schema failures after which the API server does not run the CEL rules (it says "some
/// validation rules were not checked", with no field): a missing, unsupported, too long or
/// too many value.
fn blocks_cel(failures: &[(String, String)]) -> bool {
    failures.iter().any(|(_, message)| {
        [
            "Required value",
            "Unsupported value",
            "Too long",
            "Too many",
        ]
        .iter()
        .any(|kind| message.starts_with(kind))
    })
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

/// The schema's verdict on `spec` as the server words it.
fn spec_schema_failures(spec: &Value) -> Vec<(String, String)> {
    let object = json!({ "metadata": { "name": cases::NAME }, "spec": spec });
    let mut failures = Vec::new();
    schema_failures(&schema(), &object, "", &mut failures);
    failures
}

/// What the API server would refuse in a create of `spec`: schema, then CEL.
fn server_failures(spec: &Value, status: Option<&Value>) -> Vec<(String, String)> {
    let mut failures = spec_schema_failures(spec);
    if !blocks_cel(&failures) {
        failures.extend(cel_failures(
            resource(cases::NAME, spec, status).validate_cel(),
        ));
    }
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
    let Some(field) = field else {
        // A value the type has no place for: the controller never gets to validate it.
        let read = serde_json::from_value::<BedrockProvisionedThroughputSpec>(case.spec.clone());
        let error = read.expect_err("the spec does not read as the Rust type");
        assert!(
            error.to_string().contains("unknown variant"),
            "{}: {error}",
            case.name
        );
        return;
    };
    let errors = validate_throughput(&resource(cases::NAME, &case.spec, None))
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
    zero_model_units,
    negative_model_units,
    provisioned_model_name_too_long,
    provisioned_model_name_with_bad_characters,
    provisioned_model_name_with_a_dot,
    provisioned_model_name_empty,
    model_id_of_a_deployment,
    model_id_of_a_provisioned_model,
    model_id_of_an_imported_model,
    model_id_a_custom_models_bare_name,
    model_id_empty,
    model_ref_with_empty_name,
    model_ref_with_invalid_name,
    region_other_than_the_model_ids,
    region_other_than_the_foundation_model_arns,
    bad_region,
    region_without_its_number,
    unknown_commitment_duration,
    commitment_duration_in_lowercase,
    reserved_aws_tag_key,
    reserved_operator_tag_key,
    tag_key_with_bad_character,
    too_many_tags,
);

#[test]
fn valid_specs_pass_the_server_and_the_controller() {
    let cases: Vec<CreateCase> = cases::valid_creates();
    for case in &cases {
        assert_failures(&case.name, &server_failures(&case.spec, None), &[]);
        let valid = validate_throughput(&resource(cases::NAME, &case.spec, None));
        assert!(valid.is_ok(), "{}: {valid:?}", case.name);
    }
}

#[test]
fn invalid_metadata_name_without_provisioned_model_name_is_refused() {
    // No schema can state this: metadata.name is a DNS name, the default throughput name is not.
    let errors = validate_throughput(&resource("my.throughput", &cases::spec(), None))
        .expect_err("a dotted name is no provisioned model name");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "spec.provisionedModelName");
    assert!(
        errors[0].message.contains(
            "is unset, so the throughput would be named after metadata.name \"my.throughput\""
        ),
        "{}",
        errors[0].message
    );
    // The server takes it: the name is a valid object name.
    assert_failures(
        "dotted metadata.name",
        &server_failures(&cases::spec(), None),
        &[],
    );
    // With provisionedModelName set, metadata.name does not matter.
    let named = cases::spec_with(json!({ "provisionedModelName": "nova-support" }));
    let valid = validate_throughput(&resource("my.throughput", &named, None))
        .expect("the name is spec.provisionedModelName");
    assert_eq!(valid.name, "nova-support");
}

// ---------------------------------------------------------------------------------------------
// Transition rules: what the server (schema and CEL) says about a change.
// ---------------------------------------------------------------------------------------------

/// What differs from the table in the server's verdict on the update, if anything.
fn update_mismatch(case: &UpdateCase) -> Option<String> {
    let new_spec = case.new_spec();
    let mut got = spec_schema_failures(&new_spec);
    if !blocks_cel(&got) {
        let old = resource(cases::NAME, &case.spec, case.status.as_ref());
        // The status subresource keeps the status as it was across a spec update.
        let new = resource(cases::NAME, &new_spec, case.status.as_ref());
        got.extend(cel_failures(new.validate_cel_update(&old)));
    }
    mismatch(&case.name, &got, &case.want)
}

/// Fails with every case of `cases` that differs from the table.
fn check_updates(cases: Vec<UpdateCase>) {
    let problems: Vec<String> = cases.iter().filter_map(update_mismatch).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn model_units_cannot_change_once_in_service() {
    check_updates(vec![cases::immutable_field_changed(
        "modelUnits",
        Some("InService"),
    )]);
}

#[test]
fn model_units_cannot_change_while_creating_or_updating() {
    check_updates(vec![
        cases::immutable_field_changed("modelUnits", Some("Creating")),
        cases::immutable_field_changed("modelUnits", Some("Updating")),
    ]);
}

#[test]
fn model_units_may_change_while_failed() {
    check_updates(vec![cases::immutable_field_changed_before_it_counts(
        "modelUnits",
        "Failed",
    )]);
}

#[test]
fn model_units_may_change_before_any_arn() {
    check_updates(vec![
        cases::immutable_field_changed_before_it_counts("modelUnits", "no provisionedModelArn"),
        cases::immutable_field_changed_before_it_counts("modelUnits", "no status"),
    ]);
}

#[test]
fn commitment_duration_cannot_change_once_bought() {
    check_updates(vec![cases::immutable_field_changed(
        "commitmentDuration",
        Some("InService"),
    )]);
}

#[test]
fn region_cannot_change_once_bought() {
    check_updates(vec![cases::immutable_field_changed(
        "region",
        Some("InService"),
    )]);
}

#[test]
fn renaming_is_allowed_once_bought() {
    let renames: Vec<UpdateCase> = cases::in_place_cases()
        .into_iter()
        .filter(|case| case.name.starts_with("provisionedModelName"))
        .collect();
    assert_eq!(renames.len(), 3);
    for case in &renames {
        assert_eq!(case.status, cases::with_throughput(Some("InService")));
        assert!(case.want.is_empty(), "{}", case.name);
    }
    check_updates(renames);
}

#[test]
fn swapping_the_model_is_allowed_once_bought() {
    check_updates(cases::in_place_cases());
}

#[test]
fn immutability_rules() {
    // The whole family, as the server replays it.
    check_updates(cases::immutability_cases());
}

#[test]
fn update_still_meets_the_schema_and_the_creation_rules() {
    check_updates(cases::update_creation_rule_cases());
}

// ---------------------------------------------------------------------------------------------
// The commitment guard: the controller's alone (the schema takes any term; see valid_creates).
// ---------------------------------------------------------------------------------------------

fn committed(term: &str, confirmed: Option<&str>) -> BedrockProvisionedThroughput {
    let mut throughput = resource(
        cases::NAME,
        &cases::spec_with(json!({ "commitmentDuration": term })),
        None,
    );
    if let Some(value) = confirmed {
        throughput.metadata.annotations = Some(BTreeMap::from([(
            CONFIRM_COMMITMENT_ANNOTATION.to_string(),
            value.to_string(),
        )]));
    }
    throughput
}

fn annotation_field() -> String {
    format!("metadata.annotations[{CONFIRM_COMMITMENT_ANNOTATION}]")
}

/// The guard's refusal of a spec that is otherwise valid (so the guard alone stops the buy).
fn refusal(throughput: &BedrockProvisionedThroughput) -> FieldError {
    assert!(
        validate_throughput(throughput).is_ok(),
        "the spec itself is valid"
    );
    commitment_refused(throughput).expect("the guard refuses")
}

#[test]
fn a_commitment_without_the_annotation_is_refused_naming_it() {
    let error = refusal(&committed("OneMonth", None));
    assert_eq!(error.field, annotation_field());
    assert!(
        error.message.starts_with("is missing")
            && error
                .message
                .contains(&format!("{CONFIRM_COMMITMENT_ANNOTATION}: OneMonth")),
        "{}",
        error.message
    );
}

#[test]
fn an_annotation_naming_another_term_is_refused_naming_it() {
    let error = refusal(&committed("SixMonths", Some("OneMonth")));
    assert_eq!(error.field, annotation_field());
    assert!(
        error
            .message
            .starts_with("is \"OneMonth\", but spec.commitmentDuration is SixMonths"),
        "{}",
        error.message
    );
}

#[test]
fn an_annotation_in_another_spelling_does_not_confirm() {
    let error = refusal(&committed("OneMonth", Some("onemonth")));
    assert_eq!(error.field, annotation_field());
}

#[test]
fn the_matching_annotation_confirms_the_term() {
    for term in ["OneMonth", "SixMonths"] {
        let throughput = committed(term, Some(term));
        assert_eq!(commitment_refused(&throughput), None, "{term}");
        let valid = validate_throughput(&throughput).expect("a valid spec");
        assert_eq!(valid.commitment.map(CommitmentDuration::as_str), Some(term));
    }
}

#[test]
fn without_a_commitment_there_is_nothing_to_guard() {
    let throughput = resource(cases::NAME, &cases::spec(), None);
    assert_eq!(commitment_refused(&throughput), None);
    // A stray annotation does not make a commitment.
    let mut annotated = throughput.clone();
    annotated.metadata.annotations = Some(BTreeMap::from([(
        CONFIRM_COMMITMENT_ANNOTATION.to_string(),
        "OneMonth".to_string(),
    )]));
    assert_eq!(commitment_refused(&annotated), None);
}

// ---------------------------------------------------------------------------------------------
// The controller's validated value.
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_reference_becomes_a_throughput_model_ref() {
    let valid = validate_throughput(&resource(cases::NAME, &cases::spec(), None))
        .expect("the valid spec passes");
    assert_eq!(
        valid,
        ValidThroughput {
            name: cases::NAME.into(),
            model: ThroughputModel::Ref(cases::MODEL.into()),
            model_units: 1,
            commitment: None,
            region: None,
            tags: BTreeMap::from([("team".to_string(), "ml".to_string())]),
            deletion_policy: DeletionPolicy::Delete,
            adoption_policy: AdoptionPolicy::Never,
        }
    );
}

#[test]
fn valid_model_id_keeps_the_spec_values() {
    let spec = cases::arn_spec_with(json!({
        "provisionedModelName": "support",
        "modelUnits": 4,
        "commitmentDuration": "SixMonths",
        "region": "us-east-1",
        "deletionPolicy": "Retain",
    }));
    let valid = validate_throughput(&resource(cases::NAME, &spec, None)).expect("the spec passes");
    assert_eq!(valid.name, "support");
    assert_eq!(valid.model, ThroughputModel::Id(cases::MODEL_ARN.into()));
    assert_eq!(valid.model_units, 4);
    assert_eq!(valid.commitment, Some(CommitmentDuration::SixMonths));
    assert_eq!(valid.region.as_deref(), Some("us-east-1"));
    assert_eq!(valid.deletion_policy, DeletionPolicy::Retain);
}

#[test]
fn several_problems_are_all_reported_in_field_order() {
    let spec = cases::spec_with(json!({
        "provisionedModelName": "bad name",
        "modelRef": { "name": "Bad_Name" },
        "modelUnits": 0,
        "tags": { "aws:x": "y" },
        "region": "mars",
    }));
    let errors = validate_throughput(&resource(cases::NAME, &spec, None)).expect_err("five");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.provisionedModelName",
            "spec.modelRef.name",
            "spec.modelUnits",
            "spec.tags[\"aws:x\"]",
            "spec.region",
        ]
    );
}

#[test]
fn too_many_tags_message_speaks_of_the_throughput() {
    let input = cases::too_many_tags();
    let errors =
        validate_throughput(&resource(cases::NAME, &input.case.spec, None)).expect_err("48 tags");
    assert!(
        errors[0]
            .message
            .contains("has 48 entries; the limit is 47 (Bedrock allows 50 tags per throughput"),
        "{}",
        errors[0].message
    );
}

// ---------------------------------------------------------------------------------------------
// One source of truth: the throughput CRD carries the `patterns` constants.
// ---------------------------------------------------------------------------------------------

#[test]
fn throughput_schema_uses_the_pattern_constants() {
    let schema = schema();
    let spec = &schema["properties"]["spec"]["properties"];
    for (field, node, pattern, min, max) in [
        (
            "spec.provisionedModelName",
            &spec["provisionedModelName"],
            patterns::PROVISIONED_MODEL_NAME,
            1,
            patterns::PROVISIONED_MODEL_NAME_MAX,
        ),
        (
            "spec.modelId",
            &spec["modelId"],
            patterns::PROVISIONED_MODEL_ID,
            1,
            patterns::PROVISIONED_MODEL_ID_MAX,
        ),
        (
            "spec.modelRef.name",
            &spec["modelRef"]["properties"]["name"],
            patterns::OBJECT_NAME,
            1,
            patterns::OBJECT_NAME_MAX,
        ),
        (
            "spec.region",
            &spec["region"],
            patterns::REGION,
            1,
            patterns::REGION_MAX,
        ),
    ] {
        assert_eq!(node["type"], "string", "{field}: type");
        assert_eq!(node["pattern"], pattern, "{field}: pattern");
        assert_eq!(node["minLength"], min, "{field}: minLength");
        assert_eq!(node["maxLength"], max, "{field}: maxLength");
    }
    assert_eq!(spec["modelUnits"]["type"], "integer");
    assert_eq!(spec["modelUnits"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(
        schema["properties"]["spec"]["required"],
        json!(["modelUnits"])
    );
    assert_eq!(
        spec["commitmentDuration"]["enum"],
        json!(["OneMonth", "SixMonths"])
    );
    assert_eq!(
        spec["tags"]["maxProperties"],
        json!(patterns::SPEC_TAGS_MAX)
    );
}

#[test]
fn committed_throughput_crd_matches_the_pattern_constants() {
    let yaml = include_str!("../../crds/bedrockprovisionedthroughputs.bedrock-operator.dev.yaml");
    let committed: Value = serde_yaml::from_str(yaml).expect("committed CRD parses");
    let spec = &committed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"];
    for (field, node, pattern) in [
        (
            "provisionedModelName",
            &spec["provisionedModelName"],
            patterns::PROVISIONED_MODEL_NAME,
        ),
        ("modelId", &spec["modelId"], patterns::PROVISIONED_MODEL_ID),
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
fn throughput_pattern_constants_compile_and_are_anchored() {
    for (name, pattern) in [
        ("PROVISIONED_MODEL_NAME", patterns::PROVISIONED_MODEL_NAME),
        ("PROVISIONED_MODEL_ID", patterns::PROVISIONED_MODEL_ID),
    ] {
        assert!(Regex::new(pattern).is_ok(), "{name} does not compile");
        // Each alternative of the top-level `|` is anchored on its own.
        assert!(
            pattern.starts_with('^') && pattern.ends_with('$'),
            "{name} must be anchored: {pattern}"
        );
    }
    // The ID pattern's two alternatives: an ARN, and a foundation model ID.
    let id = Regex::new(patterns::PROVISIONED_MODEL_ID).expect("compiles");
    for accepted in [
        cases::MODEL_ARN,
        cases::FOUNDATION_MODEL_ARN,
        cases::FOUNDATION_MODEL_ID,
    ] {
        assert!(id.is_match(accepted), "{accepted}");
        for padded in [format!(" {accepted}"), format!("{accepted} ")] {
            assert!(!id.is_match(&padded), "{padded:?}");
        }
    }
}

#[test]
fn status_columns_are_strings_in_the_schema() {
    // Helm does not upgrade CRDs: an operator newer than its CRD must still write its status.
    let schema = schema();
    let status = &schema["properties"]["status"]["properties"];
    for field in ["throughputStatus", "commitmentDuration"] {
        assert_eq!(status[field]["type"], "string", "status.{field}");
        assert!(status[field]["enum"].is_null(), "status.{field}: no enum");
    }
    assert_eq!(status["conditions"]["x-kubernetes-list-type"], "map");
}
