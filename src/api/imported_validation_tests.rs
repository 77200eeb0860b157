//! BedrockImportedModel: every bad input of `imported_cel_cases.rs` refused by the CRD (its
//! OpenAPI schema, checked as the API server checks it, and its CEL rules, evaluated with
//! kube-cel: the shared harness of `crd_check.rs`) and by the controller's `validate_imported`,
//! each naming the field; the valid specs accepted by both; the transition rules; and the
//! schema built from the `patterns` constants. `tests/crd_server.rs` replays the same cases
//! against a real kube-apiserver.
//!
//! A spec `validate_imported` refuses is InvalidSpec before any AWS call (the controller's
//! `apply` validates first and returns `plan::invalid`, with no action, on a refusal), so "the
//! controller names the field" here means "no import job is started".

use regex::Regex;
use serde_json::json;

use crate::api::crd_check::{
    CrdCheck, StringField, assert_anchored, assert_committed_patterns, assert_fields,
    assert_message, assert_one_error, assert_status_strings, assert_string_fields, bad_input_tests,
    schema_node, server_update_tests, string_field,
};
use crate::api::imported::validate_imported;
use crate::api::imported_cel_cases as cases;
use crate::api::{BedrockImportedModel, ValidImported, patterns};

const CHECK: CrdCheck<BedrockImportedModel> =
    CrdCheck::new(cases::NAME, "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f");

bad_input_tests!(
    CHECK, validate_imported;
    imported_model_name_too_long,
    imported_model_name_with_bad_characters,
    imported_model_name_with_a_dot,
    imported_model_name_with_two_hyphens,
    imported_model_name_empty,
    source_missing,
    s3_uri_missing,
    s3_uri_not_s3,
    s3_uri_with_uppercase_bucket,
    s3_uri_too_long,
    s3_uri_empty,
    role_arn_missing,
    role_arn_not_a_role,
    role_arn_too_long,
    kms_key_id_bad,
    kms_key_id_of_another_service,
    kms_key_id_empty,
    vpc_config_without_subnets,
    vpc_config_with_17_subnets,
    vpc_config_with_6_security_groups,
    vpc_config_without_security_groups,
    vpc_config_with_bad_subnet_id,
    vpc_config_with_too_long_id,
    bad_region,
    region_without_its_number,
    reserved_aws_tag_key,
    reserved_operator_tag_key,
    tag_key_with_bad_character,
    too_many_tags,
    unknown_deletion_policy,
    unknown_adoption_policy,
);

#[test]
fn valid_specs_pass_the_server_and_the_controller() {
    CHECK.check_valid_creates(cases::valid_creates(), validate_imported);
}

#[test]
fn invalid_metadata_name_without_imported_model_name_is_refused() {
    // No schema can state this: metadata.name is a DNS name, the default imported model name is
    // not.
    for (metadata_name, shown) in [
        ("my.imported-model", "\"my.imported-model\""),
        ("llama--ft", "\"llama--ft\""),
    ] {
        let errors = validate_imported(&CHECK.resource(metadata_name, &cases::spec(), None))
            .expect_err("no imported model name");
        assert_one_error(
            &errors,
            "spec.importedModelName",
            &format!("is unset, so the imported model would be named after metadata.name {shown}"),
        );
    }
    let long = format!("{}a", "a-".repeat(32));
    let errors =
        validate_imported(&CHECK.resource(&long, &cases::spec(), None)).expect_err("65 characters");
    assert_fields(&errors, &["spec.importedModelName"]);
    // The server takes them: the names are valid object names.
    CHECK.assert_server_accepts("dotted metadata.name", &cases::spec());
    // With importedModelName set, metadata.name does not matter.
    let named = cases::spec_with(json!({ "importedModelName": "llama-3-8b-ft" }));
    let imported = CHECK.resource("my.imported-model", &named, None);
    validate_imported(&imported).expect("the name is spec.importedModelName");
    assert_eq!(imported.imported_model_name(), "llama-3-8b-ft");
}

// ---------------------------------------------------------------------------------------------
// Transition rules: what the server (schema and CEL) says about a change.
// ---------------------------------------------------------------------------------------------

/// The fields an import fixes.
const FIXED: [&str; 6] = [
    "importedModelName",
    "source",
    "roleArn",
    "kmsKeyId",
    "vpcConfig",
    "region",
];

server_update_tests!(CHECK;
    fixed_fields_cannot_change_once_completed =>
        FIXED.map(|field| cases::immutable_field_changed(field, Some("Completed"))).to_vec(),
    fixed_fields_cannot_change_while_in_progress =>
        FIXED.map(|field| cases::immutable_field_changed(field, Some("InProgress"))).to_vec(),
    fixed_fields_cannot_change_once_a_job_exists_in_no_recorded_state =>
        FIXED.map(|field| cases::immutable_field_changed(field, None)).to_vec(),
    fixed_fields_may_change_while_failed => FIXED
        .map(|field| cases::immutable_field_changed_before_it_counts(field, "Failed"))
        .to_vec(),
    fixed_fields_may_change_before_any_job => FIXED
        .into_iter()
        .flat_map(|field| {
            ["no jobArn", "no status"].map(|status| {
                cases::immutable_field_changed_before_it_counts(field, status)
            })
        })
        .collect(),
    /// The whole family, as the server replays it.
    immutability_rules => cases::immutability_cases(),
    update_still_meets_the_schema_and_the_creation_rules => cases::update_creation_rule_cases(),
);

#[test]
fn every_fixed_field_has_its_rule_and_its_cases() {
    let cases = cases::immutability_cases();
    for field in FIXED {
        let refused = cases::immutable(field);
        assert!(
            refused.message.starts_with(&format!("spec.{field} ")),
            "{field}"
        );
        assert!(
            cases.iter().any(|case| case.want == [refused]),
            "no refused change of {field}"
        );
    }
}

#[test]
fn transition_rules_do_not_run_on_create() {
    // Whatever status a client sends with a create, there is no old object to compare with.
    for status in [cases::completed(), cases::with_import(Some("InProgress"))] {
        assert_eq!(CHECK.cel_create(&cases::spec(), status.as_ref()), vec![]);
    }
}

// ---------------------------------------------------------------------------------------------
// The controller's validated value.
// ---------------------------------------------------------------------------------------------

#[test]
fn valid_spec_becomes_its_s3_uri() {
    let valid = validate_imported(&CHECK.object(&cases::spec(), None)).expect("a valid spec");
    assert_eq!(
        valid,
        ValidImported {
            s3_uri: cases::S3_SOURCE.into(),
        }
    );
}

#[test]
fn several_problems_are_all_reported_in_field_order() {
    let spec = cases::spec_with(json!({
        "importedModelName": "bad name",
        "source": { "s3Uri": "s3://Bad/" },
        "roleArn": "arn:aws:iam::123456789012:user/x",
        "kmsKeyId": "no key",
        "vpcConfig": { "subnetIds": [], "securityGroupIds": ["sg_1"] },
        "tags": { "aws:x": "y" },
        "region": "mars",
    }));
    let errors = validate_imported(&CHECK.object(&spec, None)).expect_err("eight");
    assert_fields(
        &errors,
        &[
            "spec.importedModelName",
            "spec.source.s3Uri",
            "spec.roleArn",
            "spec.kmsKeyId",
            "spec.vpcConfig.subnetIds",
            "spec.vpcConfig.securityGroupIds[0]",
            "spec.tags[\"aws:x\"]",
            "spec.region",
        ],
    );
}

#[test]
fn vpc_list_messages_say_how_many_it_takes() {
    let input = cases::vpc_config_with_17_subnets();
    let errors = validate_imported(&CHECK.object(&input.case.spec, None)).expect_err("17");
    assert_one_error(
        &errors,
        "spec.vpcConfig.subnetIds",
        "has 17 entries; it takes 1 to 16",
    );
    let input = cases::vpc_config_with_6_security_groups();
    let errors = validate_imported(&CHECK.object(&input.case.spec, None)).expect_err("6");
    assert_one_error(
        &errors,
        "spec.vpcConfig.securityGroupIds",
        "has 6 entries; it takes 1 to 5",
    );
}

#[test]
fn too_many_tags_message_speaks_of_the_imported_model() {
    let input = cases::too_many_tags();
    let errors = validate_imported(&CHECK.object(&input.case.spec, None)).expect_err("48 tags");
    assert_message(
        &errors[0],
        "has 48 entries; the limit is 47 (Bedrock allows 50 tags per imported model",
    );
}

// ---------------------------------------------------------------------------------------------
// One source of truth: the imported model CRD carries the `patterns` constants.
// ---------------------------------------------------------------------------------------------

/// The string fields of the imported model schema and the constants they carry.
const STRING_FIELDS: [StringField; 5] = [
    string_field(
        "spec.importedModelName",
        Some(patterns::IMPORTED_MODEL_NAME),
        1,
        patterns::IMPORTED_MODEL_NAME_MAX,
    ),
    string_field(
        "spec.source.s3Uri",
        Some(patterns::S3_URI),
        1,
        patterns::S3_URI_MAX,
    ),
    string_field(
        "spec.roleArn",
        Some(patterns::ROLE_ARN),
        1,
        patterns::ARN_MAX,
    ),
    string_field(
        "spec.kmsKeyId",
        Some(patterns::KMS_KEY_ID),
        1,
        patterns::ARN_MAX,
    ),
    string_field(
        "spec.region",
        Some(patterns::REGION),
        1,
        patterns::REGION_MAX,
    ),
];

#[test]
fn imported_schema_uses_the_pattern_constants() {
    let schema = CHECK.schema();
    assert_string_fields(&schema, &STRING_FIELDS);
    for (list, max) in [
        ("subnetIds", patterns::VPC_SUBNETS_MAX),
        ("securityGroupIds", patterns::VPC_SECURITY_GROUPS_MAX),
    ] {
        let node = schema_node(&schema, &format!("spec.vpcConfig.{list}"));
        assert_eq!(node["type"], "array", "{list}");
        assert_eq!(node["minItems"], 1, "{list}");
        assert_eq!(node["maxItems"], max, "{list}");
        let items = &node["items"];
        assert_eq!(items["type"], "string", "{list} items");
        assert_eq!(items["pattern"], patterns::VPC_ID, "{list} items");
        assert_eq!(items["minLength"], 1, "{list} items");
        assert_eq!(items["maxLength"], patterns::VPC_ID_MAX, "{list} items");
    }
    let spec = &schema["properties"]["spec"];
    assert_eq!(spec["required"], json!(["roleArn", "source"]));
    assert_eq!(
        schema_node(&schema, "spec.vpcConfig")["required"],
        json!(["securityGroupIds", "subnetIds"])
    );
    assert_eq!(
        spec["properties"]["deletionPolicy"]["enum"],
        json!(["Delete", "Retain"])
    );
    assert_eq!(
        spec["properties"]["adoptionPolicy"]["enum"],
        json!(["Never", "Adopt"])
    );
    assert_eq!(
        spec["properties"]["tags"]["maxProperties"],
        json!(patterns::SPEC_TAGS_MAX)
    );
}

#[test]
fn committed_imported_crd_matches_the_pattern_constants() {
    let yaml = include_str!("../../crds/bedrockimportedmodels.bedrock-operator.dev.yaml");
    assert_committed_patterns(yaml, &STRING_FIELDS);
    let committed: serde_json::Value = serde_yaml::from_str(yaml).expect("committed CRD parses");
    let schema = &committed["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    for list in ["subnetIds", "securityGroupIds"] {
        let node = schema_node(schema, &format!("spec.vpcConfig.{list}"));
        assert_eq!(node["items"]["pattern"], patterns::VPC_ID, "{list}");
    }
}

#[test]
fn imported_pattern_constants_compile_and_are_anchored() {
    // Each alternative of the KMS pattern's top-level `|` is inside the anchored group.
    assert_anchored(&[
        ("IMPORTED_MODEL_NAME", patterns::IMPORTED_MODEL_NAME),
        ("KMS_KEY_ID", patterns::KMS_KEY_ID),
        ("VPC_ID", patterns::VPC_ID),
    ]);
    let key = Regex::new(patterns::KMS_KEY_ID).expect("compiles");
    for accepted in [
        cases::KMS_KEY_ARN,
        cases::KMS_KEY_ID,
        cases::KMS_ALIAS,
        cases::KMS_ALIAS_ARN,
    ] {
        assert!(key.is_match(accepted), "{accepted}");
        for padded in [format!(" {accepted}"), format!("{accepted} ")] {
            assert!(!key.is_match(&padded), "{padded:?}");
        }
    }
    // A key ID is exactly 36 characters.
    assert!(!key.is_match(&cases::KMS_KEY_ID[1..]));
    assert!(!key.is_match(&format!("{}0", cases::KMS_KEY_ID)));
}

#[test]
fn status_columns_are_strings_in_the_schema() {
    assert_status_strings(&CHECK.schema(), &["jobStatus", "importedModelName"]);
}
