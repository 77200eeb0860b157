//! The cases of the BedrockProvisionedThroughput CRD's schema and CEL rules, as plain data
//! shared by two tests: `throughput_validation_tests.rs` checks each against the schema and
//! kube-cel and against the controller's `validate_throughput`, and `tests/crd_server.rs`
//! replays them against a real kube-apiserver with kubectl.
//!
//! Like `deployment_cel_cases.rs` (and with the case types of `cel_cases.rs`, which its
//! includers mount as the sibling module `cel_cases`), only JSON values and string constants.
//! Expected failures are worded as the API server words them: a CEL rule's message, or, for the
//! OpenAPI schema, a fragment of the server's message ([`SHOULD_MATCH`], [`TOO_LONG`], ...).

// Each of the two includers uses a different part.
#![allow(dead_code)]

use serde_json::{Value, json};

use super::cel_cases::{
    AT_LEAST_ONE, BadInput, CreateCase, Failure, Immutability, RESERVED, SHOULD_MATCH,
    TAG_KEY_RULE, TOO_LONG, TOO_MANY, TOO_SHORT, UNSUPPORTED, UpdateCase, bad_input as bad,
    failure, in_state, patched,
};
// The model the cases refer to is the model kind's.
pub use super::cel_cases::{MODEL, MODEL_ARN, OTHER_MODEL, OTHER_MODEL_ARN};

/// metadata.name of every case's resource (the effective provisioned model name when
/// spec.provisionedModelName is unset).
pub const NAME: &str = "my-throughput";
pub const FOUNDATION_MODEL_ID: &str = "amazon.nova-lite-v1:0";
pub const FOUNDATION_MODEL_ARN: &str =
    "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0";
pub const THROUGHPUT_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456";
pub const DEPLOYMENT_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456";
pub const IMPORTED_MODEL_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:imported-model/abc123def456";

pub const ONE_MODEL: &str = "exactly one of spec.modelRef or spec.modelId must be set";
pub const ARN_REGION: &str = "spec.region must be the region of the model ARN in spec.modelId";

/// A valid spec: a reference to [`MODEL`], one model unit, and one tag.
pub fn spec() -> Value {
    json!({
        "modelRef": { "name": MODEL },
        "modelUnits": 1,
        "tags": { "team": "ml" },
    })
}

/// A valid spec naming the model by ARN.
pub fn arn_spec() -> Value {
    json!({ "modelId": MODEL_ARN, "modelUnits": 1 })
}

/// [`spec`] with a merge patch applied.
pub fn spec_with(change: Value) -> Value {
    patched(&spec(), &change)
}

/// [`arn_spec`] with a merge patch applied.
pub fn arn_spec_with(change: Value) -> Value {
    patched(&arn_spec(), &change)
}

pub fn both_model_fields() -> BadInput {
    bad(
        "both modelRef and modelId",
        spec_with(json!({ "modelId": MODEL_ARN })),
        vec![failure("spec", ONE_MODEL)],
        Some("spec"),
    )
}

pub fn neither_model_field() -> BadInput {
    bad(
        "neither modelRef nor modelId",
        spec_with(json!({ "modelRef": null })),
        vec![failure("spec", ONE_MODEL)],
        Some("spec"),
    )
}

pub fn zero_model_units() -> BadInput {
    bad(
        "modelUnits 0",
        spec_with(json!({ "modelUnits": 0 })),
        vec![failure("spec.modelUnits", AT_LEAST_ONE)],
        Some("spec.modelUnits"),
    )
}

pub fn negative_model_units() -> BadInput {
    bad(
        "modelUnits -1",
        spec_with(json!({ "modelUnits": -1 })),
        vec![failure("spec.modelUnits", AT_LEAST_ONE)],
        Some("spec.modelUnits"),
    )
}

pub fn provisioned_model_name_too_long() -> BadInput {
    // 64 characters that the pattern alone would accept (32 groups of "a-").
    bad(
        "provisionedModelName of 64 characters",
        spec_with(json!({ "provisionedModelName": "a-".repeat(32) })),
        vec![failure("spec.provisionedModelName", TOO_LONG)],
        Some("spec.provisionedModelName"),
    )
}

pub fn provisioned_model_name_with_bad_characters() -> BadInput {
    bad(
        "provisionedModelName with a space and '!'",
        spec_with(json!({ "provisionedModelName": "my throughput!" })),
        vec![failure("spec.provisionedModelName", SHOULD_MATCH)],
        Some("spec.provisionedModelName"),
    )
}

pub fn provisioned_model_name_with_a_dot() -> BadInput {
    // A valid metadata.name, but no Bedrock name.
    bad(
        "provisionedModelName with a '.'",
        spec_with(json!({ "provisionedModelName": "nova.support" })),
        vec![failure("spec.provisionedModelName", SHOULD_MATCH)],
        Some("spec.provisionedModelName"),
    )
}

pub fn provisioned_model_name_empty() -> BadInput {
    bad(
        "empty provisionedModelName",
        spec_with(json!({ "provisionedModelName": "" })),
        vec![failure("spec.provisionedModelName", TOO_SHORT)],
        Some("spec.provisionedModelName"),
    )
}

pub fn model_id_of_a_deployment() -> BadInput {
    bad(
        "modelId of a custom model deployment",
        arn_spec_with(json!({ "modelId": DEPLOYMENT_ARN })),
        vec![failure("spec.modelId", SHOULD_MATCH)],
        Some("spec.modelId"),
    )
}

pub fn model_id_of_a_provisioned_model() -> BadInput {
    bad(
        "modelId of a provisioned model",
        arn_spec_with(json!({ "modelId": THROUGHPUT_ARN })),
        vec![failure("spec.modelId", SHOULD_MATCH)],
        Some("spec.modelId"),
    )
}

pub fn model_id_of_an_imported_model() -> BadInput {
    bad(
        "modelId of an imported model",
        arn_spec_with(json!({ "modelId": IMPORTED_MODEL_ARN })),
        vec![failure("spec.modelId", SHOULD_MATCH)],
        Some("spec.modelId"),
    )
}

pub fn model_id_a_custom_models_bare_name() -> BadInput {
    // Bedrock takes it; the operator does not, on purpose (see patterns::PROVISIONED_MODEL_ID).
    bad(
        "modelId that is a custom model's bare name",
        arn_spec_with(json!({ "modelId": "nova-support-v3" })),
        vec![failure("spec.modelId", SHOULD_MATCH)],
        Some("spec.modelId"),
    )
}

pub fn model_id_empty() -> BadInput {
    bad(
        "empty modelId",
        arn_spec_with(json!({ "modelId": "" })),
        vec![failure("spec.modelId", TOO_SHORT)],
        Some("spec.modelId"),
    )
}

pub fn model_ref_with_empty_name() -> BadInput {
    bad(
        "modelRef with an empty name",
        spec_with(json!({ "modelRef": { "name": "" } })),
        vec![failure("spec.modelRef.name", TOO_SHORT)],
        Some("spec.modelRef.name"),
    )
}

pub fn model_ref_with_invalid_name() -> BadInput {
    bad(
        "modelRef with an uppercase name and '_'",
        spec_with(json!({ "modelRef": { "name": "My_Model" } })),
        vec![failure("spec.modelRef.name", SHOULD_MATCH)],
        Some("spec.modelRef.name"),
    )
}

pub fn region_other_than_the_model_ids() -> BadInput {
    bad(
        "region other than the custom model ARN's",
        arn_spec_with(json!({ "region": "us-west-2" })),
        vec![failure("spec.region", ARN_REGION)],
        Some("spec.region"),
    )
}

pub fn region_other_than_the_foundation_model_arns() -> BadInput {
    bad(
        "region other than the foundation model ARN's",
        arn_spec_with(json!({ "modelId": FOUNDATION_MODEL_ARN, "region": "us-east-1" })),
        vec![failure("spec.region", ARN_REGION)],
        Some("spec.region"),
    )
}

pub fn bad_region() -> BadInput {
    bad(
        "region in uppercase",
        spec_with(json!({ "region": "US-EAST-1" })),
        vec![failure("spec.region", SHOULD_MATCH)],
        Some("spec.region"),
    )
}

pub fn region_without_its_number() -> BadInput {
    bad(
        "region without its number",
        spec_with(json!({ "region": "us-east" })),
        vec![failure("spec.region", SHOULD_MATCH)],
        Some("spec.region"),
    )
}

pub fn unknown_commitment_duration() -> BadInput {
    bad(
        "commitmentDuration TwelveMonths",
        spec_with(json!({ "commitmentDuration": "TwelveMonths" })),
        vec![failure("spec.commitmentDuration", UNSUPPORTED)],
        None,
    )
}

pub fn commitment_duration_in_lowercase() -> BadInput {
    bad(
        "commitmentDuration in lowercase",
        spec_with(json!({ "commitmentDuration": "onemonth" })),
        vec![failure("spec.commitmentDuration", UNSUPPORTED)],
        None,
    )
}

pub fn reserved_aws_tag_key() -> BadInput {
    bad(
        "reserved aws: tag key",
        spec_with(json!({ "tags": { "aws:x": "y" } })),
        vec![failure("spec.tags", RESERVED)],
        Some("spec.tags[\"aws:x\"]"),
    )
}

pub fn reserved_operator_tag_key() -> BadInput {
    bad(
        "reserved operator tag key",
        spec_with(json!({ "tags": { "bedrock-operator.dev/owner": "someone" } })),
        vec![failure("spec.tags", RESERVED)],
        Some("spec.tags[\"bedrock-operator.dev/owner\"]"),
    )
}

pub fn tag_key_with_bad_character() -> BadInput {
    bad(
        "tag key with '!'",
        spec_with(json!({ "tags": { "team!": "ml" } })),
        vec![failure("spec.tags", TAG_KEY_RULE)],
        Some("spec.tags[\"team!\"]"),
    )
}

pub fn too_many_tags() -> BadInput {
    // 47 more next to the spec's "team".
    let tags: serde_json::Map<String, Value> = (0..47)
        .map(|i| (format!("key-{i:02}"), json!(format!("value-{i}"))))
        .collect();
    bad(
        "48 tags",
        spec_with(json!({ "tags": tags })),
        vec![failure("spec.tags", TOO_MANY)],
        Some("spec.tags"),
    )
}

super::cel_cases::export_cases!();

/// Every bad input, for the server replay (the unit tests name each).
pub fn bad_inputs() -> Vec<BadInput> {
    vec![
        both_model_fields(),
        neither_model_field(),
        zero_model_units(),
        negative_model_units(),
        provisioned_model_name_too_long(),
        provisioned_model_name_with_bad_characters(),
        provisioned_model_name_with_a_dot(),
        provisioned_model_name_empty(),
        model_id_of_a_deployment(),
        model_id_of_a_provisioned_model(),
        model_id_of_an_imported_model(),
        model_id_a_custom_models_bare_name(),
        model_id_empty(),
        model_ref_with_empty_name(),
        model_ref_with_invalid_name(),
        region_other_than_the_model_ids(),
        region_other_than_the_foundation_model_arns(),
        bad_region(),
        region_without_its_number(),
        unknown_commitment_duration(),
        commitment_duration_in_lowercase(),
        reserved_aws_tag_key(),
        reserved_operator_tag_key(),
        tag_key_with_bad_character(),
        too_many_tags(),
        export_config_map_name_invalid(),
        export_config_map_name_too_long(),
        export_config_map_name_empty(),
    ]
}

/// Specs both the server and the controller's `validate_throughput` accept.
pub fn valid_creates() -> Vec<CreateCase> {
    let case = |name: &str, spec: Value| CreateCase {
        name: name.to_string(),
        spec,
        status: None,
        want: vec![],
    };
    // 46 more next to the spec's "team".
    let tags: serde_json::Map<String, Value> = (0..46)
        .map(|i| (format!("key-{i:02}"), json!(format!("value-{i}"))))
        .collect();
    vec![
        case("modelRef", spec()),
        case("modelId of a custom model", arn_spec()),
        case(
            "modelId with its own region",
            arn_spec_with(json!({ "region": "us-east-1" })),
        ),
        case(
            "modelId of a fine-tuned custom model",
            arn_spec_with(json!({
                "modelId": "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc123def456",
            })),
        ),
        case(
            "modelId in aws-us-gov",
            arn_spec_with(json!({
                "modelId": "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:custom-model/imported/abc123def456",
                "region": "us-gov-west-1",
            })),
        ),
        case(
            "modelId of a foundation model ARN with its region",
            arn_spec_with(json!({ "modelId": FOUNDATION_MODEL_ARN, "region": "eu-west-1" })),
        ),
        case(
            "modelId of a foundation model ID with any region",
            arn_spec_with(json!({ "modelId": FOUNDATION_MODEL_ID, "region": "ap-southeast-2" })),
        ),
        case(
            "modelRef with a region",
            spec_with(json!({ "region": "us-west-2" })),
        ),
        case(
            "commitmentDuration OneMonth (the schema does not guard commitments)",
            spec_with(json!({ "commitmentDuration": "OneMonth" })),
        ),
        case(
            "commitmentDuration SixMonths",
            spec_with(json!({ "commitmentDuration": "SixMonths" })),
        ),
        case(
            "63-character provisionedModelName",
            spec_with(json!({ "provisionedModelName": format!("{}a", "a-".repeat(31)) })),
        ),
        case(
            "provisionedModelName with uppercase, underscores and digits",
            spec_with(json!({ "provisionedModelName": "Nova_support_2025-06" })),
        ),
        case(
            "modelRef to a dotted name",
            spec_with(json!({ "modelRef": { "name": "nova.support-v2" } })),
        ),
        case("100 model units", spec_with(json!({ "modelUnits": 100 }))),
        case("47 tags", spec_with(json!({ "tags": tags }))),
        case(
            "deletionPolicy Retain, adoptionPolicy Adopt",
            spec_with(json!({ "deletionPolicy": "Retain", "adoptionPolicy": "Adopt" })),
        ),
    ]
    .into_iter()
    .chain(super::cel_cases::export_valid_creates(&spec()))
    .collect()
}

/// The status of a bought throughput in `state` (`None`: Bedrock state not recorded).
pub fn with_throughput(state: Option<&str>) -> Option<Value> {
    let status = json!({
        "provisionedModelArn": THROUGHPUT_ARN,
        "provisionedModelName": NAME,
        "modelArn": MODEL_ARN,
        "modelUnits": 1,
        "region": "us-east-1",
    });
    in_state(status, "throughputStatus", state)
}

/// A status that records no throughput yet.
pub fn without_throughput() -> Option<Value> {
    Some(json!({ "provisionedModelName": NAME }))
}

/// The failure of the immutability rule of `field` (a spec field name).
pub fn immutable(field: &str) -> Failure {
    match field {
        "modelUnits" => failure(
            "spec.modelUnits",
            "spec.modelUnits cannot change once the provisioned throughput exists",
        ),
        "commitmentDuration" => failure(
            "spec.commitmentDuration",
            "spec.commitmentDuration cannot change once the provisioned throughput exists",
        ),
        "region" => failure(
            "spec.region",
            "spec.region cannot change once the provisioned throughput exists",
        ),
        other => panic!("no immutability rule for spec.{other}"),
    }
}

/// The changes the immutability rules guard.
fn immutable_changes() -> Vec<(&'static str, Value)> {
    vec![
        ("modelUnits", json!({ "modelUnits": 2 })),
        (
            "commitmentDuration",
            json!({ "commitmentDuration": "OneMonth" }),
        ),
        ("region", json!({ "region": "eu-west-1" })),
    ]
}

const IMMUTABILITY: Immutability = Immutability {
    spec,
    existing: with_throughput,
    changes: immutable_changes,
    refused: immutable,
};

/// An immutable field changed while a throughput exists and is not Failed: refused.
pub fn immutable_field_changed(field: &str, state: Option<&str>) -> UpdateCase {
    IMMUTABILITY.changed_while(field, state)
}

/// The statuses under which the immutability rules do not hold: Failed (which the operator
/// replaces), before any ARN, before any status.
const BEFORE_IT_COUNTS: [&str; 3] = ["Failed", "no provisionedModelArn", "no status"];

/// The status [`BEFORE_IT_COUNTS`] names.
fn status_before_it_counts(status: &str) -> Option<Value> {
    match status {
        "Failed" => with_throughput(Some("Failed")),
        "no provisionedModelArn" => without_throughput(),
        "no status" => None,
        other => panic!("no such status: {other}"),
    }
}

/// An immutable field changed while Failed (which the operator replaces), before any ARN, or
/// before any status: allowed.
pub fn immutable_field_changed_before_it_counts(field: &str, status: &str) -> UpdateCase {
    IMMUTABILITY.changed_before_it_counts(field, status_before_it_counts(status), status)
}

/// The immutability transition rules: model units, commitment term and region keep their
/// values once the throughput is bought, unless it Failed; the name and the model may change.
pub fn immutability_cases() -> Vec<UpdateCase> {
    let allowed = BEFORE_IT_COUNTS.map(|status| (status_before_it_counts(status), status));
    let mut cases = IMMUTABILITY.cases(
        &[Some("InService"), Some("Creating"), Some("Updating"), None],
        &allowed,
    );
    cases.extend(in_place_cases());
    let in_service = with_throughput(Some("InService"));
    let case = |name: &str, spec: Value, change: Value, want: Vec<Failure>| UpdateCase {
        name: name.to_string(),
        spec,
        status: in_service.clone(),
        change,
        want,
    };
    cases.extend([
        case(
            "units, term and region changed while InService: each reported",
            spec(),
            json!({ "modelUnits": 3, "commitmentDuration": "SixMonths", "region": "eu-west-1" }),
            vec![
                immutable("modelUnits"),
                immutable("commitmentDuration"),
                immutable("region"),
            ],
        ),
        case(
            "commitmentDuration OneMonth changed to SixMonths while InService",
            spec_with(json!({ "commitmentDuration": "OneMonth" })),
            json!({ "commitmentDuration": "SixMonths" }),
            vec![immutable("commitmentDuration")],
        ),
        case(
            "commitmentDuration removed while InService",
            spec_with(json!({ "commitmentDuration": "OneMonth" })),
            json!({ "commitmentDuration": null }),
            vec![immutable("commitmentDuration")],
        ),
        case(
            "region changed to another while InService",
            spec_with(json!({ "region": "us-east-1" })),
            json!({ "region": "us-west-2" }),
            vec![immutable("region")],
        ),
        case(
            "region removed while InService",
            spec_with(json!({ "region": "us-east-1" })),
            json!({ "region": null }),
            vec![immutable("region")],
        ),
        case(
            "modelUnits set to what it was while InService",
            spec(),
            json!({ "modelUnits": 1 }),
            vec![],
        ),
        case(
            "only tags changed while InService",
            spec(),
            json!({ "tags": { "team": null, "env": "prod" } }),
            vec![],
        ),
        case(
            "only deletionPolicy and adoptionPolicy changed while InService",
            spec(),
            json!({ "deletionPolicy": "Retain", "adoptionPolicy": "Adopt" }),
            vec![],
        ),
        case("nothing changed while InService", spec(), json!({}), vec![]),
    ]);
    cases
}

/// What Bedrock changes in place (UpdateProvisionedModelThroughput): allowed at any time.
pub fn in_place_cases() -> Vec<UpdateCase> {
    let in_service = with_throughput(Some("InService"));
    let case = |name: &str, spec: Value, change: Value| UpdateCase {
        name: name.to_string(),
        spec,
        status: in_service.clone(),
        change,
        want: vec![],
    };
    vec![
        case(
            "provisionedModelName set while InService: renamed in place",
            spec(),
            json!({ "provisionedModelName": "renamed" }),
        ),
        case(
            "provisionedModelName changed while InService: renamed in place",
            spec_with(json!({ "provisionedModelName": "nova-support" })),
            json!({ "provisionedModelName": "nova-support-v2" }),
        ),
        case(
            "provisionedModelName unset while InService: renamed to metadata.name",
            spec_with(json!({ "provisionedModelName": "nova-support" })),
            json!({ "provisionedModelName": null }),
        ),
        case(
            "modelRef to another model while InService",
            spec(),
            json!({ "modelRef": { "name": OTHER_MODEL } }),
        ),
        case(
            "modelRef replaced by modelId while InService",
            spec(),
            json!({ "modelRef": null, "modelId": MODEL_ARN }),
        ),
        case(
            "modelId to another model while InService",
            arn_spec(),
            json!({ "modelId": OTHER_MODEL_ARN }),
        ),
        case(
            "modelId replaced by modelRef while InService",
            arn_spec(),
            json!({ "modelId": null, "modelRef": { "name": MODEL } }),
        ),
    ]
}

/// Updates still meet the schema and the creation rules, next to the transition rules.
pub fn update_creation_rule_cases() -> Vec<UpdateCase> {
    let case = |name: &str, spec: Value, status: Option<Value>, change: Value, want| UpdateCase {
        name: name.to_string(),
        spec,
        status,
        change,
        want,
    };
    vec![
        case(
            "modelRef removed from an InService throughput",
            spec(),
            with_throughput(Some("InService")),
            json!({ "modelRef": null }),
            vec![failure("spec", ONE_MODEL)],
        ),
        case(
            "modelId added next to modelRef on an InService throughput",
            spec(),
            with_throughput(Some("InService")),
            json!({ "modelId": MODEL_ARN }),
            vec![failure("spec", ONE_MODEL)],
        ),
        case(
            "region other than modelId's set before any ARN",
            arn_spec(),
            without_throughput(),
            json!({ "region": "us-west-2" }),
            vec![failure("spec.region", ARN_REGION)],
        ),
        case(
            "region other than modelId's set while InService: both rules",
            arn_spec(),
            with_throughput(Some("InService")),
            json!({ "region": "us-west-2" }),
            vec![failure("spec.region", ARN_REGION), immutable("region")],
        ),
        case(
            "modelUnits set to 0 while Failed: the schema's minimum",
            spec(),
            with_throughput(Some("Failed")),
            json!({ "modelUnits": 0 }),
            vec![failure("spec.modelUnits", AT_LEAST_ONE)],
        ),
        case(
            "modelUnits set to 0 while InService: the minimum and the transition rule",
            spec(),
            with_throughput(Some("InService")),
            json!({ "modelUnits": 0 }),
            vec![
                failure("spec.modelUnits", AT_LEAST_ONE),
                immutable("modelUnits"),
            ],
        ),
    ]
}
