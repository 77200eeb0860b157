//! BedrockProvisionedThroughput: every bad input of `throughput_cel_cases.rs` refused by the CRD
//! (its OpenAPI schema, checked as the API server checks it, and its CEL rules, evaluated with
//! kube-cel: the shared harness of `crd_check.rs`) and by the controller's
//! `validate_throughput`, each naming the field; the valid specs accepted by both; the
//! transition rules; the commitment guard (the controller's alone); and the schema built from
//! the `patterns` constants. `tests/crd_server.rs` replays the same cases against a real
//! kube-apiserver.
//!
//! A spec `validate_throughput` refuses is InvalidSpec before any AWS call (the controller's
//! `apply` returns `plan::invalid` first; `plan_tests.rs` shows that plan has no action), so
//! "the controller names the field" here means "nothing is bought".

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::json;

use crate::api::cel_cases::UpdateCase;
use crate::api::crd_check::{
    CrdCheck, StringField, assert_anchored, assert_committed_patterns, assert_fields,
    assert_message, assert_one_error, assert_status_strings, assert_string_fields, bad_input_tests,
    server_update_tests, string_field,
};
use crate::api::throughput_cel_cases as cases;
use crate::api::validation::{FieldError, commitment_refused, validate_throughput};
use crate::api::{
    AdoptionPolicy, BedrockProvisionedThroughput, CommitmentDuration, DeletionPolicy,
    ThroughputModel, ValidThroughput, patterns, throughput::CONFIRM_COMMITMENT_ANNOTATION,
};

const CHECK: CrdCheck<BedrockProvisionedThroughput> =
    CrdCheck::new(cases::NAME, "7d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a");

bad_input_tests!(
    CHECK, validate_throughput;
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
    export_config_map_name_invalid,
    export_config_map_name_too_long,
    export_config_map_name_empty,
);

#[test]
fn valid_specs_pass_the_server_and_the_controller() {
    CHECK.check_valid_creates(cases::valid_creates(), validate_throughput);
}

#[test]
fn invalid_metadata_name_without_provisioned_model_name_is_refused() {
    // No schema can state this: metadata.name is a DNS name, the default throughput name is not.
    let errors = validate_throughput(&CHECK.resource("my.throughput", &cases::spec(), None))
        .expect_err("a dotted name is no provisioned model name");
    assert_one_error(
        &errors,
        "spec.provisionedModelName",
        "is unset, so the throughput would be named after metadata.name \"my.throughput\"",
    );
    // The server takes it: the name is a valid object name.
    CHECK.assert_server_accepts("dotted metadata.name", &cases::spec());
    // With provisionedModelName set, metadata.name does not matter.
    let named = cases::spec_with(json!({ "provisionedModelName": "nova-support" }));
    let valid = validate_throughput(&CHECK.resource("my.throughput", &named, None))
        .expect("the name is spec.provisionedModelName");
    assert_eq!(valid.name, "nova-support");
}

// ---------------------------------------------------------------------------------------------
// Transition rules: what the server (schema and CEL) says about a change.
// ---------------------------------------------------------------------------------------------

server_update_tests!(CHECK;
    model_units_cannot_change_once_in_service =>
        vec![cases::immutable_field_changed("modelUnits", Some("InService"))],
    model_units_cannot_change_while_creating_or_updating => vec![
        cases::immutable_field_changed("modelUnits", Some("Creating")),
        cases::immutable_field_changed("modelUnits", Some("Updating")),
    ],
    model_units_may_change_while_failed =>
        vec![cases::immutable_field_changed_before_it_counts("modelUnits", "Failed")],
    model_units_may_change_before_any_arn => vec![
        cases::immutable_field_changed_before_it_counts("modelUnits", "no provisionedModelArn"),
        cases::immutable_field_changed_before_it_counts("modelUnits", "no status"),
    ],
    commitment_duration_cannot_change_once_bought =>
        vec![cases::immutable_field_changed("commitmentDuration", Some("InService"))],
    region_cannot_change_once_bought =>
        vec![cases::immutable_field_changed("region", Some("InService"))],
);

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
    CHECK.check_server_updates("renames", renames);
}

server_update_tests!(CHECK;
    swapping_the_model_is_allowed_once_bought => cases::in_place_cases(),
    /// The whole family, as the server replays it.
    immutability_rules => cases::immutability_cases(),
    update_still_meets_the_schema_and_the_creation_rules => cases::update_creation_rule_cases(),
);

// ---------------------------------------------------------------------------------------------
// The commitment guard: the controller's alone (the schema takes any term; see valid_creates).
// ---------------------------------------------------------------------------------------------

fn committed(term: &str, confirmed: Option<&str>) -> BedrockProvisionedThroughput {
    let mut throughput = CHECK.object(
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
    let throughput = CHECK.object(&cases::spec(), None);
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
    let valid =
        validate_throughput(&CHECK.object(&cases::spec(), None)).expect("the valid spec passes");
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
            export: None,
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
    let valid = validate_throughput(&CHECK.object(&spec, None)).expect("the spec passes");
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
    let errors = validate_throughput(&CHECK.object(&spec, None)).expect_err("five");
    assert_fields(
        &errors,
        &[
            "spec.provisionedModelName",
            "spec.modelRef.name",
            "spec.modelUnits",
            "spec.tags[\"aws:x\"]",
            "spec.region",
        ],
    );
}

#[test]
fn too_many_tags_message_speaks_of_the_throughput() {
    let input = cases::too_many_tags();
    let errors = validate_throughput(&CHECK.object(&input.case.spec, None)).expect_err("48 tags");
    assert_message(
        &errors[0],
        "has 48 entries; the limit is 47 (Bedrock allows 50 tags per throughput",
    );
}

// ---------------------------------------------------------------------------------------------
// One source of truth: the throughput CRD carries the `patterns` constants.
// ---------------------------------------------------------------------------------------------

/// The string fields of the throughput schema and the constants they carry.
const STRING_FIELDS: [StringField; 4] = [
    string_field(
        "spec.provisionedModelName",
        Some(patterns::PROVISIONED_MODEL_NAME),
        1,
        patterns::PROVISIONED_MODEL_NAME_MAX,
    ),
    string_field(
        "spec.modelId",
        Some(patterns::PROVISIONED_MODEL_ID),
        1,
        patterns::PROVISIONED_MODEL_ID_MAX,
    ),
    string_field(
        "spec.modelRef.name",
        Some(patterns::OBJECT_NAME),
        1,
        patterns::OBJECT_NAME_MAX,
    ),
    string_field(
        "spec.region",
        Some(patterns::REGION),
        1,
        patterns::REGION_MAX,
    ),
];

#[test]
fn throughput_schema_uses_the_pattern_constants() {
    let schema = CHECK.schema();
    assert_string_fields(&schema, &STRING_FIELDS);
    let spec = &schema["properties"]["spec"]["properties"];
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
    assert_committed_patterns(
        include_str!("../../crds/bedrockprovisionedthroughputs.bedrock-operator.dev.yaml"),
        &STRING_FIELDS,
    );
}

#[test]
fn throughput_pattern_constants_compile_and_are_anchored() {
    // Each alternative of the ID pattern's top-level `|` is anchored on its own.
    assert_anchored(&[
        ("PROVISIONED_MODEL_NAME", patterns::PROVISIONED_MODEL_NAME),
        ("PROVISIONED_MODEL_ID", patterns::PROVISIONED_MODEL_ID),
    ]);
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
    assert_status_strings(&CHECK.schema(), &["throughputStatus", "commitmentDuration"]);
}
