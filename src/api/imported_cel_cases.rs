//! The cases of the BedrockImportedModel CRD's schema and CEL rules, as plain data shared by two
//! tests: `imported_validation_tests.rs` checks each against the schema and kube-cel and against
//! the controller's `validate_imported`, and `tests/crd_server.rs` replays them against a real
//! kube-apiserver with kubectl.
//!
//! Like `throughput_cel_cases.rs` (and with the case types of `cel_cases.rs`, which its
//! includers mount as the sibling module `cel_cases`), only JSON values and string constants.
//! Expected failures are worded as the API server words them: a CEL rule's message, or, for the
//! OpenAPI schema, a fragment of the server's message ([`SHOULD_MATCH`], [`TOO_LONG`], ...).

// Each of the two includers uses a different part.
#![allow(dead_code)]

use serde_json::{Value, json};

use super::cel_cases::{
    BadInput, CreateCase, Failure, Immutability, REQUIRED, RESERVED, SHOULD_MATCH, TAG_KEY_RULE,
    TOO_FEW_ITEMS, TOO_LONG, TOO_MANY, TOO_SHORT, UNSUPPORTED, UpdateCase, bad_input as bad,
    failure, in_state, patched,
};
// The roles and the KMS key ARN are the model kind's.
pub use super::cel_cases::{KMS as KMS_KEY_ARN, OTHER_ROLE, ROLE};

/// metadata.name of every case's resource (the effective imported model name when
/// spec.importedModelName is unset).
pub const NAME: &str = "my-imported-model";
pub const S3_SOURCE: &str = "s3://my-bucket/llama-3-8b-ft/";
pub const OTHER_S3_SOURCE: &str = "s3://my-bucket/llama-3-8b-ft-v2/";
/// The key of [`KMS_KEY_ARN`] by its ID, an alias of it, and the alias's ARN.
pub const KMS_KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
pub const KMS_ALIAS: &str = "alias/bedrock-imports";
pub const KMS_ALIAS_ARN: &str = "arn:aws:kms:us-east-1:123456789012:alias/bedrock-imports";
pub const SUBNET: &str = "subnet-0123456789abcdef0";
pub const OTHER_SUBNET: &str = "subnet-0fedcba9876543210";
pub const SECURITY_GROUP: &str = "sg-0123456789abcdef0";
pub const JOB_ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:model-import-job/abc123def456";
pub const IMPORTED_MODEL_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:imported-model/abc123def456";

/// A valid spec: an S3 source with its role, and one tag.
pub fn spec() -> Value {
    json!({
        "source": { "s3Uri": S3_SOURCE },
        "roleArn": ROLE,
        "tags": { "team": "ml" },
    })
}

/// [`spec`] with a merge patch applied.
pub fn spec_with(change: Value) -> Value {
    patched(&spec(), &change)
}

/// A valid VPC configuration: one subnet, one security group.
pub fn vpc_config() -> Value {
    json!({ "subnetIds": [SUBNET], "securityGroupIds": [SECURITY_GROUP] })
}

/// `n` distinct subnet (`prefix` "subnet") or security group (`prefix` "sg") IDs.
fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:017x}")).collect()
}

pub fn imported_model_name_too_long() -> BadInput {
    // 64 characters that the pattern alone would accept (32 groups of "a-").
    bad(
        "importedModelName of 64 characters",
        spec_with(json!({ "importedModelName": "a-".repeat(32) })),
        vec![failure("spec.importedModelName", TOO_LONG)],
        Some("spec.importedModelName"),
    )
}

pub fn imported_model_name_with_bad_characters() -> BadInput {
    bad(
        "importedModelName with a space and '!'",
        spec_with(json!({ "importedModelName": "my model!" })),
        vec![failure("spec.importedModelName", SHOULD_MATCH)],
        Some("spec.importedModelName"),
    )
}

pub fn imported_model_name_with_a_dot() -> BadInput {
    // A valid metadata.name, but no Bedrock name.
    bad(
        "importedModelName with a '.'",
        spec_with(json!({ "importedModelName": "llama.support" })),
        vec![failure("spec.importedModelName", SHOULD_MATCH)],
        Some("spec.importedModelName"),
    )
}

pub fn imported_model_name_with_two_hyphens() -> BadInput {
    bad(
        "importedModelName with '--'",
        spec_with(json!({ "importedModelName": "llama--support" })),
        vec![failure("spec.importedModelName", SHOULD_MATCH)],
        Some("spec.importedModelName"),
    )
}

pub fn imported_model_name_empty() -> BadInput {
    bad(
        "empty importedModelName",
        spec_with(json!({ "importedModelName": "" })),
        vec![failure("spec.importedModelName", TOO_SHORT)],
        Some("spec.importedModelName"),
    )
}

pub fn source_missing() -> BadInput {
    bad(
        "no source",
        spec_with(json!({ "source": null })),
        vec![failure("spec.source", REQUIRED)],
        None,
    )
}

pub fn s3_uri_missing() -> BadInput {
    bad(
        "source without s3Uri",
        spec_with(json!({ "source": { "s3Uri": null } })),
        vec![failure("spec.source.s3Uri", REQUIRED)],
        None,
    )
}

pub fn s3_uri_not_s3() -> BadInput {
    bad(
        "s3Uri that is an https URL",
        spec_with(json!({ "source": { "s3Uri": "https://my-bucket.s3.amazonaws.com/llama/" } })),
        vec![failure("spec.source.s3Uri", SHOULD_MATCH)],
        Some("spec.source.s3Uri"),
    )
}

pub fn s3_uri_with_uppercase_bucket() -> BadInput {
    bad(
        "s3Uri with an uppercase bucket",
        spec_with(json!({ "source": { "s3Uri": "s3://My-Bucket/llama/" } })),
        vec![failure("spec.source.s3Uri", SHOULD_MATCH)],
        Some("spec.source.s3Uri"),
    )
}

pub fn s3_uri_too_long() -> BadInput {
    // 1025 characters that the pattern alone would accept.
    let uri = format!(
        "s3://my-bucket/{}",
        "a".repeat(1025 - "s3://my-bucket/".len())
    );
    bad(
        "s3Uri of 1025 characters",
        spec_with(json!({ "source": { "s3Uri": uri } })),
        vec![failure("spec.source.s3Uri", TOO_LONG)],
        Some("spec.source.s3Uri"),
    )
}

pub fn s3_uri_empty() -> BadInput {
    bad(
        "empty s3Uri",
        spec_with(json!({ "source": { "s3Uri": "" } })),
        vec![failure("spec.source.s3Uri", TOO_SHORT)],
        Some("spec.source.s3Uri"),
    )
}

pub fn role_arn_missing() -> BadInput {
    bad(
        "no roleArn",
        spec_with(json!({ "roleArn": null })),
        vec![failure("spec.roleArn", REQUIRED)],
        None,
    )
}

pub fn role_arn_not_a_role() -> BadInput {
    bad(
        "roleArn of an IAM user",
        spec_with(json!({ "roleArn": "arn:aws:iam::123456789012:user/someone" })),
        vec![failure("spec.roleArn", SHOULD_MATCH)],
        Some("spec.roleArn"),
    )
}

pub fn role_arn_too_long() -> BadInput {
    // 2049 characters that the pattern alone would accept.
    let role = format!("{ROLE}{}", "x".repeat(2049 - ROLE.len()));
    bad(
        "roleArn of 2049 characters",
        spec_with(json!({ "roleArn": role })),
        vec![failure("spec.roleArn", TOO_LONG)],
        Some("spec.roleArn"),
    )
}

pub fn kms_key_id_bad() -> BadInput {
    bad(
        "kmsKeyId that is no key, alias or ARN",
        spec_with(json!({ "kmsKeyId": "my key" })),
        vec![failure("spec.kmsKeyId", SHOULD_MATCH)],
        Some("spec.kmsKeyId"),
    )
}

pub fn kms_key_id_of_another_service() -> BadInput {
    bad(
        "kmsKeyId that is an S3 bucket ARN",
        spec_with(json!({ "kmsKeyId": "arn:aws:s3:::my-bucket" })),
        vec![failure("spec.kmsKeyId", SHOULD_MATCH)],
        Some("spec.kmsKeyId"),
    )
}

pub fn kms_key_id_empty() -> BadInput {
    bad(
        "empty kmsKeyId",
        spec_with(json!({ "kmsKeyId": "" })),
        vec![failure("spec.kmsKeyId", TOO_SHORT)],
        Some("spec.kmsKeyId"),
    )
}

pub fn vpc_config_without_subnets() -> BadInput {
    bad(
        "vpcConfig with no subnet",
        spec_with(
            json!({ "vpcConfig": { "subnetIds": [], "securityGroupIds": [SECURITY_GROUP] } }),
        ),
        vec![failure("spec.vpcConfig.subnetIds", TOO_FEW_ITEMS)],
        Some("spec.vpcConfig.subnetIds"),
    )
}

pub fn vpc_config_with_17_subnets() -> BadInput {
    bad(
        "vpcConfig with 17 subnets",
        spec_with(json!({ "vpcConfig": {
            "subnetIds": ids("subnet", 17),
            "securityGroupIds": [SECURITY_GROUP],
        } })),
        vec![failure("spec.vpcConfig.subnetIds", TOO_MANY)],
        Some("spec.vpcConfig.subnetIds"),
    )
}

pub fn vpc_config_with_6_security_groups() -> BadInput {
    bad(
        "vpcConfig with 6 security groups",
        spec_with(json!({ "vpcConfig": {
            "subnetIds": [SUBNET],
            "securityGroupIds": ids("sg", 6),
        } })),
        vec![failure("spec.vpcConfig.securityGroupIds", TOO_MANY)],
        Some("spec.vpcConfig.securityGroupIds"),
    )
}

pub fn vpc_config_without_security_groups() -> BadInput {
    bad(
        "vpcConfig without securityGroupIds",
        spec_with(json!({ "vpcConfig": { "subnetIds": [SUBNET] } })),
        vec![failure("spec.vpcConfig.securityGroupIds", REQUIRED)],
        None,
    )
}

pub fn vpc_config_with_bad_subnet_id() -> BadInput {
    bad(
        "vpcConfig with a subnet ID with '_'",
        spec_with(json!({ "vpcConfig": {
            "subnetIds": [SUBNET, "subnet_0123"],
            "securityGroupIds": [SECURITY_GROUP],
        } })),
        vec![failure("spec.vpcConfig.subnetIds[1]", SHOULD_MATCH)],
        Some("spec.vpcConfig.subnetIds[1]"),
    )
}

pub fn vpc_config_with_too_long_id() -> BadInput {
    // 33 characters that the pattern alone would accept.
    bad(
        "vpcConfig with a security group ID of 33 characters",
        spec_with(json!({ "vpcConfig": {
            "subnetIds": [SUBNET],
            "securityGroupIds": [format!("sg-{}", "0".repeat(30))],
        } })),
        vec![failure("spec.vpcConfig.securityGroupIds[0]", TOO_LONG)],
        Some("spec.vpcConfig.securityGroupIds[0]"),
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

pub fn unknown_deletion_policy() -> BadInput {
    bad(
        "deletionPolicy Orphan",
        spec_with(json!({ "deletionPolicy": "Orphan" })),
        vec![failure("spec.deletionPolicy", UNSUPPORTED)],
        None,
    )
}

pub fn unknown_adoption_policy() -> BadInput {
    bad(
        "adoptionPolicy Always",
        spec_with(json!({ "adoptionPolicy": "Always" })),
        vec![failure("spec.adoptionPolicy", UNSUPPORTED)],
        None,
    )
}

/// Every bad input, for the server replay (the unit tests name each).
pub fn bad_inputs() -> Vec<BadInput> {
    vec![
        imported_model_name_too_long(),
        imported_model_name_with_bad_characters(),
        imported_model_name_with_a_dot(),
        imported_model_name_with_two_hyphens(),
        imported_model_name_empty(),
        source_missing(),
        s3_uri_missing(),
        s3_uri_not_s3(),
        s3_uri_with_uppercase_bucket(),
        s3_uri_too_long(),
        s3_uri_empty(),
        role_arn_missing(),
        role_arn_not_a_role(),
        role_arn_too_long(),
        kms_key_id_bad(),
        kms_key_id_of_another_service(),
        kms_key_id_empty(),
        vpc_config_without_subnets(),
        vpc_config_with_17_subnets(),
        vpc_config_with_6_security_groups(),
        vpc_config_without_security_groups(),
        vpc_config_with_bad_subnet_id(),
        vpc_config_with_too_long_id(),
        bad_region(),
        region_without_its_number(),
        reserved_aws_tag_key(),
        reserved_operator_tag_key(),
        tag_key_with_bad_character(),
        too_many_tags(),
        unknown_deletion_policy(),
        unknown_adoption_policy(),
    ]
}

/// Specs both the server and the controller's `validate_imported` accept.
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
    // 1024 characters.
    let longest_uri = format!(
        "s3://my-bucket/{}",
        "a".repeat(1024 - "s3://my-bucket/".len())
    );
    vec![
        case("s3 source with role", spec()),
        case(
            "63-character importedModelName",
            spec_with(json!({ "importedModelName": format!("{}a", "a-".repeat(31)) })),
        ),
        case(
            "importedModelName with uppercase, underscores and digits",
            spec_with(json!({ "importedModelName": "Llama_3-8B_ft_2025" })),
        ),
        case(
            "s3Uri of a dotted bucket without a trailing slash",
            spec_with(json!({ "source": { "s3Uri": "s3://my.models-bucket/Llama-3/8B_ft(v2)" } })),
        ),
        case(
            "s3Uri of a bucket alone",
            spec_with(json!({ "source": { "s3Uri": "s3://my-bucket" } })),
        ),
        case(
            "s3Uri of 1024 characters",
            spec_with(json!({ "source": { "s3Uri": longest_uri } })),
        ),
        case(
            "roleArn in aws-cn with a path",
            spec_with(
                json!({ "roleArn": "arn:aws-cn:iam::123456789012:role/service-role/BedrockImport" }),
            ),
        ),
        case(
            "kmsKeyId a key ARN",
            spec_with(json!({ "kmsKeyId": KMS_KEY_ARN })),
        ),
        case(
            "kmsKeyId a key ID",
            spec_with(json!({ "kmsKeyId": KMS_KEY_ID })),
        ),
        case(
            "kmsKeyId an alias name",
            spec_with(json!({ "kmsKeyId": KMS_ALIAS })),
        ),
        case(
            "kmsKeyId an alias ARN",
            spec_with(json!({ "kmsKeyId": KMS_ALIAS_ARN })),
        ),
        case(
            "kmsKeyId an alias name with '_' and '/'",
            spec_with(json!({ "kmsKeyId": "alias/team_ml/imports" })),
        ),
        case(
            "kmsKeyId a key ARN in aws-us-gov",
            spec_with(json!({
                "kmsKeyId": format!("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/{KMS_KEY_ID}"),
            })),
        ),
        case(
            "vpcConfig with one subnet and one security group",
            spec_with(json!({ "vpcConfig": vpc_config() })),
        ),
        case(
            "vpcConfig with 16 subnets and 5 security groups",
            spec_with(json!({ "vpcConfig": {
                "subnetIds": ids("subnet", 16),
                "securityGroupIds": ids("sg", 5),
            } })),
        ),
        case(
            "vpcConfig with IDs of 32 characters",
            spec_with(json!({ "vpcConfig": {
                "subnetIds": [format!("subnet-{}", "a".repeat(25))],
                "securityGroupIds": [format!("sg-{}", "0".repeat(29))],
            } })),
        ),
        case(
            "region us-gov-west-1",
            spec_with(json!({ "region": "us-gov-west-1" })),
        ),
        case("47 tags", spec_with(json!({ "tags": tags }))),
        case(
            "tag keys with every allowed character",
            spec_with(json!({ "tags": { "cost center._:/=+-@": "v", "team/aws:x": "v" } })),
        ),
        case(
            "deletionPolicy Retain, adoptionPolicy Adopt",
            spec_with(json!({ "deletionPolicy": "Retain", "adoptionPolicy": "Adopt" })),
        ),
        case(
            "every optional field",
            spec_with(json!({
                "importedModelName": "llama-3-8b-ft",
                "kmsKeyId": KMS_ALIAS,
                "vpcConfig": vpc_config(),
                "region": "eu-west-1",
                "deletionPolicy": "Retain",
            })),
        ),
    ]
}

/// The status of an import started in `state` (`None`: the job's status not recorded).
pub fn with_import(state: Option<&str>) -> Option<Value> {
    let status = json!({
        "jobArn": JOB_ARN,
        "jobName": format!("{NAME}-abc123def456"),
        "importedModelName": NAME,
        "region": "us-east-1",
    });
    in_state(status, "jobStatus", state)
}

/// The status of a Completed import: the imported model exists.
pub fn completed() -> Option<Value> {
    let mut status = with_import(Some("Completed"))?;
    status["importedModelArn"] = json!(IMPORTED_MODEL_ARN);
    Some(status)
}

/// A status that records no import job yet.
pub fn without_import() -> Option<Value> {
    Some(json!({ "importedModelName": NAME, "region": "us-east-1" }))
}

/// The failure of the immutability rule of `field` (a spec field name).
pub fn immutable(field: &str) -> Failure {
    match field {
        "importedModelName" => failure(
            "spec.importedModelName",
            "spec.importedModelName cannot change once the model import has started",
        ),
        "source" => failure(
            "spec.source",
            "spec.source cannot change once the model import has started",
        ),
        "roleArn" => failure(
            "spec.roleArn",
            "spec.roleArn cannot change once the model import has started",
        ),
        "kmsKeyId" => failure(
            "spec.kmsKeyId",
            "spec.kmsKeyId cannot change once the model import has started",
        ),
        "vpcConfig" => failure(
            "spec.vpcConfig",
            "spec.vpcConfig cannot change once the model import has started",
        ),
        "region" => failure(
            "spec.region",
            "spec.region cannot change once the model import has started",
        ),
        other => panic!("no immutability rule for spec.{other}"),
    }
}

/// The changes the immutability rules guard.
fn immutable_changes() -> Vec<(&'static str, Value)> {
    vec![
        (
            "importedModelName",
            json!({ "importedModelName": "renamed" }),
        ),
        ("source", json!({ "source": { "s3Uri": OTHER_S3_SOURCE } })),
        ("roleArn", json!({ "roleArn": OTHER_ROLE })),
        ("kmsKeyId", json!({ "kmsKeyId": KMS_KEY_ARN })),
        ("vpcConfig", json!({ "vpcConfig": vpc_config() })),
        ("region", json!({ "region": "eu-west-1" })),
    ]
}

const IMMUTABILITY: Immutability = Immutability {
    spec,
    existing: with_import,
    changes: immutable_changes,
    refused: immutable,
};

/// A fixed field changed while an import job exists and did not fail: refused.
pub fn immutable_field_changed(field: &str, state: Option<&str>) -> UpdateCase {
    IMMUTABILITY.changed_while(field, state)
}

/// The statuses under which the immutability rules do not hold: Failed (the operator starts a
/// new import), before any job ARN, before any status.
const BEFORE_IT_COUNTS: [&str; 3] = ["Failed", "no jobArn", "no status"];

/// The status [`BEFORE_IT_COUNTS`] names.
fn status_before_it_counts(status: &str) -> Option<Value> {
    match status {
        "Failed" => with_import(Some("Failed")),
        "no jobArn" => without_import(),
        "no status" => None,
        other => panic!("no such status: {other}"),
    }
}

/// A fixed field changed while Failed, before any job ARN, or before any status: allowed.
pub fn immutable_field_changed_before_it_counts(field: &str, status: &str) -> UpdateCase {
    IMMUTABILITY.changed_before_it_counts(field, status_before_it_counts(status), status)
}

/// The immutability transition rules: the effective importedModelName, source, roleArn,
/// kmsKeyId, vpcConfig and region keep their values once the import has started, unless it
/// Failed; tags and the policies may change.
pub fn immutability_cases() -> Vec<UpdateCase> {
    let allowed = BEFORE_IT_COUNTS.map(|status| (status_before_it_counts(status), status));
    let mut cases = IMMUTABILITY.cases(&[Some("Completed"), Some("InProgress"), None], &allowed);
    let done = completed();
    let case = |name: &str, spec: Value, change: Value, want: Vec<Failure>| UpdateCase {
        name: name.to_string(),
        spec,
        status: done.clone(),
        change,
        want,
    };
    let with_vpc = || spec_with(json!({ "vpcConfig": vpc_config() }));
    cases.extend([
        case(
            "name, role and region changed once Completed: each reported",
            spec(),
            json!({ "importedModelName": "renamed", "roleArn": OTHER_ROLE, "region": "eu-west-1" }),
            vec![
                immutable("importedModelName"),
                immutable("roleArn"),
                immutable("region"),
            ],
        ),
        case(
            "kmsKeyId removed once Completed",
            spec_with(json!({ "kmsKeyId": KMS_KEY_ARN })),
            json!({ "kmsKeyId": null }),
            vec![immutable("kmsKeyId")],
        ),
        case(
            "kmsKeyId changed to an alias of the same key once Completed",
            spec_with(json!({ "kmsKeyId": KMS_KEY_ARN })),
            json!({ "kmsKeyId": KMS_ALIAS }),
            vec![immutable("kmsKeyId")],
        ),
        case(
            "vpcConfig removed once Completed",
            with_vpc(),
            json!({ "vpcConfig": null }),
            vec![immutable("vpcConfig")],
        ),
        case(
            "a subnet added to vpcConfig once Completed",
            with_vpc(),
            json!({ "vpcConfig": { "subnetIds": [SUBNET, OTHER_SUBNET] } }),
            vec![immutable("vpcConfig")],
        ),
        case(
            "region removed once Completed",
            spec_with(json!({ "region": "us-east-1" })),
            json!({ "region": null }),
            vec![immutable("region")],
        ),
        case(
            "importedModelName set to metadata.name: same name",
            spec(),
            json!({ "importedModelName": NAME }),
            vec![],
        ),
        case(
            "importedModelName unset when it equalled metadata.name",
            spec_with(json!({ "importedModelName": NAME })),
            json!({ "importedModelName": null }),
            vec![],
        ),
        case(
            "vpcConfig set to what it was once Completed",
            with_vpc(),
            json!({ "vpcConfig": vpc_config() }),
            vec![],
        ),
        case(
            "only tags changed once Completed",
            spec(),
            json!({ "tags": { "team": null, "env": "prod" } }),
            vec![],
        ),
        case(
            "only deletionPolicy and adoptionPolicy changed once Completed",
            spec(),
            json!({ "deletionPolicy": "Retain", "adoptionPolicy": "Adopt" }),
            vec![],
        ),
        case("nothing changed once Completed", spec(), json!({}), vec![]),
    ]);
    cases
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
            "reserved tag key added once Completed",
            spec(),
            completed(),
            json!({ "tags": { "aws:x": "y" } }),
            vec![failure("spec.tags", RESERVED)],
        ),
        case(
            "s3Uri made invalid while Failed: the schema's pattern",
            spec(),
            with_import(Some("Failed")),
            json!({ "source": { "s3Uri": "s3://My-Bucket/llama/" } }),
            vec![failure("spec.source.s3Uri", SHOULD_MATCH)],
        ),
        case(
            "s3Uri made invalid once Completed: the pattern and the transition rule",
            spec(),
            completed(),
            json!({ "source": { "s3Uri": "s3://My-Bucket/llama/" } }),
            vec![
                failure("spec.source.s3Uri", SHOULD_MATCH),
                immutable("source"),
            ],
        ),
        case(
            "roleArn removed while Failed: required",
            spec(),
            with_import(Some("Failed")),
            json!({ "roleArn": null }),
            vec![failure("spec.roleArn", REQUIRED)],
        ),
        case(
            // A missing value stops the server before the CEL rules.
            "roleArn removed once Completed: required, the transition rule not checked",
            spec(),
            completed(),
            json!({ "roleArn": null }),
            vec![failure("spec.roleArn", REQUIRED)],
        ),
        case(
            "vpcConfig made empty while Failed: the schema's minItems",
            spec_with(json!({ "vpcConfig": vpc_config() })),
            with_import(Some("Failed")),
            json!({ "vpcConfig": { "subnetIds": [] } }),
            vec![failure("spec.vpcConfig.subnetIds", TOO_FEW_ITEMS)],
        ),
        case(
            "kmsKeyId made invalid once Completed: the pattern and the transition rule",
            spec_with(json!({ "kmsKeyId": KMS_KEY_ARN })),
            completed(),
            json!({ "kmsKeyId": "my key" }),
            vec![
                failure("spec.kmsKeyId", SHOULD_MATCH),
                immutable("kmsKeyId"),
            ],
        ),
    ]
}
