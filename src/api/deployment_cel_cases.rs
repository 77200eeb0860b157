//! The cases of the BedrockCustomModelDeployment CRD's schema and CEL rules, as plain data
//! shared by two tests: `deployment_validation_tests.rs` checks each against the schema and
//! kube-cel and against the controller's `validate_deployment`, and `tests/crd_server.rs`
//! replays them against a real kube-apiserver with kubectl.
//!
//! Like `cel_cases.rs` (whose case types it uses: its includers mount that file as the sibling
//! module `cel_cases`), only JSON values and string constants. Expected failures are worded as
//! the API server words them: a CEL rule's message, or, for the OpenAPI schema, a fragment of
//! the server's message ([`SHOULD_MATCH`], [`TOO_LONG`], ...).

// Each of the two includers uses a different part.
#![allow(dead_code)]

use serde_json::{Value, json};

use super::cel_cases::{
    BadInput, CreateCase, Failure, Immutability, RESERVED, SHOULD_MATCH, TAG_KEY_RULE, TOO_LONG,
    TOO_MANY, TOO_SHORT, UpdateCase, bad_input, failure, in_state, patched,
};
// The model the cases refer to is the model kind's.
pub use super::cel_cases::{MODEL, MODEL_ARN, OTHER_MODEL, OTHER_MODEL_ARN};

/// metadata.name of every case's resource (the effective deployment name when
/// spec.modelDeploymentName is unset).
pub const NAME: &str = "my-deployment";
pub const DEPLOYMENT_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456";
pub const PROVISIONED_MODEL_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123def456";
pub const FOUNDATION_MODEL_ARN: &str =
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";

pub const ONE_MODEL: &str = "exactly one of spec.modelRef or spec.modelArn must be set";
pub const ARN_REGION: &str = "spec.region must be the region of spec.modelArn";

/// A valid spec: a reference to [`MODEL`], and one tag.
pub fn spec() -> Value {
    json!({
        "modelRef": { "name": MODEL },
        "tags": { "team": "ml" },
    })
}

/// A valid spec naming the model by ARN.
pub fn arn_spec() -> Value {
    json!({ "modelArn": MODEL_ARN })
}

/// [`spec`] with a merge patch applied.
pub fn spec_with(change: Value) -> Value {
    patched(&spec(), &change)
}

/// [`arn_spec`] with a merge patch applied.
pub fn arn_spec_with(change: Value) -> Value {
    patched(&arn_spec(), &change)
}

/// Every bad input of this kind is one the controller refuses too, naming `field`.
fn bad(name: &str, spec: Value, want: Vec<Failure>, field: &'static str) -> BadInput {
    bad_input(name, spec, want, Some(field))
}

pub fn both_model_fields() -> BadInput {
    bad(
        "both modelRef and modelArn",
        spec_with(json!({ "modelArn": MODEL_ARN })),
        vec![failure("spec", ONE_MODEL)],
        "spec",
    )
}

pub fn neither_model_field() -> BadInput {
    bad(
        "neither modelRef nor modelArn",
        spec_with(json!({ "modelRef": null })),
        vec![failure("spec", ONE_MODEL)],
        "spec",
    )
}

pub fn deployment_name_too_long() -> BadInput {
    // 64 characters that the pattern alone would accept (32 groups of "a-").
    bad(
        "modelDeploymentName of 64 characters",
        spec_with(json!({ "modelDeploymentName": "a-".repeat(32) })),
        vec![failure("spec.modelDeploymentName", TOO_LONG)],
        "spec.modelDeploymentName",
    )
}

pub fn deployment_name_with_bad_characters() -> BadInput {
    bad(
        "modelDeploymentName with a space and '!'",
        spec_with(json!({ "modelDeploymentName": "my deployment!" })),
        vec![failure("spec.modelDeploymentName", SHOULD_MATCH)],
        "spec.modelDeploymentName",
    )
}

pub fn deployment_name_with_leading_dash() -> BadInput {
    bad(
        "modelDeploymentName starting with '-'",
        spec_with(json!({ "modelDeploymentName": "-deployment" })),
        vec![failure("spec.modelDeploymentName", SHOULD_MATCH)],
        "spec.modelDeploymentName",
    )
}

pub fn model_arn_of_a_deployment() -> BadInput {
    bad(
        "modelArn of a custom model deployment",
        arn_spec_with(json!({ "modelArn": DEPLOYMENT_ARN })),
        vec![failure("spec.modelArn", SHOULD_MATCH)],
        "spec.modelArn",
    )
}

pub fn model_arn_of_a_provisioned_model() -> BadInput {
    bad(
        "modelArn of a provisioned model",
        arn_spec_with(json!({ "modelArn": PROVISIONED_MODEL_ARN })),
        vec![failure("spec.modelArn", SHOULD_MATCH)],
        "spec.modelArn",
    )
}

pub fn model_arn_of_a_foundation_model() -> BadInput {
    bad(
        "modelArn of a foundation model",
        arn_spec_with(json!({ "modelArn": FOUNDATION_MODEL_ARN })),
        vec![failure("spec.modelArn", SHOULD_MATCH)],
        "spec.modelArn",
    )
}

pub fn model_arn_garbage() -> BadInput {
    bad(
        "modelArn that is no Bedrock ARN",
        arn_spec_with(json!({ "modelArn": "arn:aws:s3:::my-bucket/models/nova" })),
        vec![failure("spec.modelArn", SHOULD_MATCH)],
        "spec.modelArn",
    )
}

pub fn model_arn_too_short() -> BadInput {
    bad(
        "modelArn of 10 characters",
        arn_spec_with(json!({ "modelArn": "my-model-1" })),
        vec![failure("spec.modelArn", TOO_SHORT)],
        "spec.modelArn",
    )
}

pub fn model_ref_with_empty_name() -> BadInput {
    bad(
        "modelRef with an empty name",
        spec_with(json!({ "modelRef": { "name": "" } })),
        vec![failure("spec.modelRef.name", TOO_SHORT)],
        "spec.modelRef.name",
    )
}

pub fn model_ref_with_invalid_name() -> BadInput {
    bad(
        "modelRef with an uppercase name and '_'",
        spec_with(json!({ "modelRef": { "name": "My_Model" } })),
        vec![failure("spec.modelRef.name", SHOULD_MATCH)],
        "spec.modelRef.name",
    )
}

pub fn description_too_long() -> BadInput {
    bad(
        "description of 2049 characters",
        spec_with(json!({ "description": "d".repeat(2049) })),
        vec![failure("spec.description", TOO_LONG)],
        "spec.description",
    )
}

pub fn description_empty() -> BadInput {
    bad(
        "empty description",
        spec_with(json!({ "description": "" })),
        vec![failure("spec.description", TOO_SHORT)],
        "spec.description",
    )
}

pub fn reserved_aws_tag_key() -> BadInput {
    bad(
        "reserved aws: tag key",
        spec_with(json!({ "tags": { "aws:x": "y" } })),
        vec![failure("spec.tags", RESERVED)],
        "spec.tags[\"aws:x\"]",
    )
}

pub fn reserved_operator_tag_key() -> BadInput {
    bad(
        "reserved operator tag key",
        spec_with(json!({ "tags": { "bedrock-operator.dev/owner": "someone" } })),
        vec![failure("spec.tags", RESERVED)],
        "spec.tags[\"bedrock-operator.dev/owner\"]",
    )
}

pub fn tag_key_with_bad_character() -> BadInput {
    bad(
        "tag key with '!'",
        spec_with(json!({ "tags": { "team!": "ml" } })),
        vec![failure("spec.tags", TAG_KEY_RULE)],
        "spec.tags[\"team!\"]",
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
        "spec.tags",
    )
}

pub fn bad_region() -> BadInput {
    bad(
        "region in uppercase",
        spec_with(json!({ "region": "US-EAST-1" })),
        vec![failure("spec.region", SHOULD_MATCH)],
        "spec.region",
    )
}

pub fn region_other_than_the_model_arns() -> BadInput {
    bad(
        "region other than modelArn's",
        arn_spec_with(json!({ "region": "us-west-2" })),
        vec![failure("spec.region", ARN_REGION)],
        "spec.region",
    )
}

super::cel_cases::export_cases!();

/// Every bad input, for the server replay (the unit tests name each).
pub fn bad_inputs() -> Vec<BadInput> {
    vec![
        both_model_fields(),
        neither_model_field(),
        deployment_name_too_long(),
        deployment_name_with_bad_characters(),
        deployment_name_with_leading_dash(),
        model_arn_of_a_deployment(),
        model_arn_of_a_provisioned_model(),
        model_arn_of_a_foundation_model(),
        model_arn_garbage(),
        model_arn_too_short(),
        model_ref_with_empty_name(),
        model_ref_with_invalid_name(),
        description_too_long(),
        description_empty(),
        reserved_aws_tag_key(),
        reserved_operator_tag_key(),
        tag_key_with_bad_character(),
        too_many_tags(),
        bad_region(),
        region_other_than_the_model_arns(),
        export_config_map_name_invalid(),
        export_config_map_name_too_long(),
        export_config_map_name_empty(),
    ]
}

/// Specs both the server and the controller accept.
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
        case("modelArn", arn_spec()),
        case(
            "modelArn with its own region",
            arn_spec_with(json!({ "region": "us-east-1" })),
        ),
        case(
            "modelRef with a region",
            spec_with(json!({ "region": "us-west-2" })),
        ),
        case(
            "modelArn of a fine-tuned custom model",
            arn_spec_with(json!({
                "modelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc123def456",
            })),
        ),
        case(
            "modelArn in aws-us-gov",
            arn_spec_with(json!({
                "modelArn": "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:custom-model/imported/abc123def456",
                "region": "us-gov-west-1",
            })),
        ),
        case(
            "63-character modelDeploymentName",
            spec_with(json!({ "modelDeploymentName": format!("{}a", "a-".repeat(31)) })),
        ),
        case(
            "modelDeploymentName with underscores and digits",
            spec_with(json!({ "modelDeploymentName": "Nova_support_2025-06" })),
        ),
        case(
            "2048-character description",
            spec_with(json!({ "description": "d".repeat(2048) })),
        ),
        case(
            "modelRef to a dotted name",
            spec_with(json!({ "modelRef": { "name": "nova.support-v2" } })),
        ),
        case("47 tags", spec_with(json!({ "tags": tags }))),
        case(
            "deletionPolicy Retain",
            spec_with(json!({ "deletionPolicy": "Retain" })),
        ),
    ]
    .into_iter()
    .chain(super::cel_cases::export_valid_creates(&spec()))
    .collect()
}

/// The status of an existing deployment in `state` (`None`: Bedrock state not recorded).
pub fn with_deployment(state: Option<&str>) -> Option<Value> {
    let status = json!({
        "deploymentArn": DEPLOYMENT_ARN,
        "modelDeploymentName": NAME,
        "modelArn": MODEL_ARN,
    });
    in_state(status, "deploymentStatus", state)
}

/// A status that records no deployment yet.
pub fn without_deployment() -> Option<Value> {
    Some(json!({ "modelDeploymentName": NAME }))
}

/// The failure of the immutability rule of `field` (a spec field name).
pub fn immutable(field: &str) -> Failure {
    match field {
        "modelDeploymentName" => failure(
            "spec.modelDeploymentName",
            "spec.modelDeploymentName cannot change once the Bedrock deployment exists",
        ),
        "description" => failure(
            "spec.description",
            "spec.description cannot change once the Bedrock deployment exists",
        ),
        "region" => failure(
            "spec.region",
            "spec.region cannot change once the Bedrock deployment exists",
        ),
        other => panic!("no immutability rule for spec.{other}"),
    }
}

/// The changes the immutability rules guard.
fn immutable_changes() -> Vec<(&'static str, Value)> {
    vec![
        (
            "modelDeploymentName",
            json!({ "modelDeploymentName": "renamed" }),
        ),
        ("description", json!({ "description": "a new description" })),
        ("region", json!({ "region": "eu-west-1" })),
    ]
}

const IMMUTABILITY: Immutability = Immutability {
    spec,
    existing: with_deployment,
    changes: immutable_changes,
    refused: immutable,
};

/// An immutable field changed while a deployment exists and is not Failed: refused.
pub fn immutable_field_changed(field: &str, state: Option<&str>) -> UpdateCase {
    IMMUTABILITY.changed_while(field, state)
}

/// The immutability transition rules: the effective deployment name, the description and the
/// region keep their values once a deployment exists, unless it Failed; the model may change.
pub fn immutability_cases() -> Vec<UpdateCase> {
    let mut cases = IMMUTABILITY.cases(
        &[Some("Active"), Some("Creating"), None],
        &[
            (with_deployment(Some("Failed")), "Failed"),
            (without_deployment(), "no deploymentArn"),
            (None, "no status"),
        ],
    );
    cases.extend(model_swap_cases());
    let active = with_deployment(Some("Active"));
    let case = |name: &str, spec: Value, change: Value, want: Vec<Failure>| UpdateCase {
        name: name.to_string(),
        spec,
        status: active.clone(),
        change,
        want,
    };
    cases.extend([
        case(
            "name, description and region changed while Active: each reported",
            spec(),
            json!({
                "modelDeploymentName": "renamed",
                "description": "new",
                "region": "eu-west-1",
            }),
            vec![
                immutable("modelDeploymentName"),
                immutable("description"),
                immutable("region"),
            ],
        ),
        case(
            "modelDeploymentName set to metadata.name: same deployment name",
            spec(),
            json!({ "modelDeploymentName": NAME }),
            vec![],
        ),
        case(
            "modelDeploymentName unset when it equalled metadata.name",
            spec_with(json!({ "modelDeploymentName": NAME })),
            json!({ "modelDeploymentName": null }),
            vec![],
        ),
        case(
            "only tags changed while Active",
            spec(),
            json!({ "tags": { "team": null, "env": "prod" } }),
            vec![],
        ),
        case(
            "only deletionPolicy changed while Active",
            spec(),
            json!({ "deletionPolicy": "Retain" }),
            vec![],
        ),
        case("nothing changed while Active", spec(), json!({}), vec![]),
    ]);
    cases
}

/// Swapping the model is allowed at any time: it is rolled out in place.
pub fn model_swap_cases() -> Vec<UpdateCase> {
    let active = with_deployment(Some("Active"));
    let case = |name: &str, spec: Value, change: Value| UpdateCase {
        name: name.to_string(),
        spec,
        status: active.clone(),
        change,
        want: vec![],
    };
    vec![
        case(
            "modelRef to another model while Active",
            spec(),
            json!({ "modelRef": { "name": OTHER_MODEL } }),
        ),
        case(
            "modelRef replaced by modelArn while Active",
            spec(),
            json!({ "modelRef": null, "modelArn": MODEL_ARN }),
        ),
        case(
            "modelArn to another model while Active",
            arn_spec(),
            json!({ "modelArn": OTHER_MODEL_ARN }),
        ),
        case(
            "modelArn replaced by modelRef while Active",
            arn_spec(),
            json!({ "modelArn": null, "modelRef": { "name": MODEL } }),
        ),
    ]
}

/// Updates still meet the creation rules, next to the transition rules.
pub fn update_creation_rule_cases() -> Vec<UpdateCase> {
    vec![
        UpdateCase {
            name: "modelRef removed from an Active deployment".into(),
            spec: spec(),
            status: with_deployment(Some("Active")),
            change: json!({ "modelRef": null }),
            want: vec![failure("spec", ONE_MODEL)],
        },
        UpdateCase {
            name: "modelArn added next to modelRef on an Active deployment".into(),
            spec: spec(),
            status: with_deployment(Some("Active")),
            change: json!({ "modelArn": MODEL_ARN }),
            want: vec![failure("spec", ONE_MODEL)],
        },
    ]
}
