//! The controller's spec validation, and that it checks exactly what the CRD schema checks.

use std::collections::BTreeMap;

use kube::api::ObjectMeta;
use serde_json::Value;

use super::*;
use crate::api::{BedrockCustomModelSpec, ModelSource};

const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
const S3_SOURCE: &str = "s3://my-bucket/models/nova/";
const PACKAGE_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/1";
const KMS: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn resource(metadata_name: &str, spec: BedrockCustomModelSpec) -> BedrockCustomModel {
    BedrockCustomModel {
        metadata: ObjectMeta {
            name: Some(metadata_name.into()),
            namespace: Some("ml".into()),
            uid: Some("0b6f2c1e-5d7a-4c1b-9a8e-3f2d1c0b9a87".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec,
        status: None,
    }
}

/// A valid S3 spec.
fn s3_spec() -> BedrockCustomModelSpec {
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

fn package_spec() -> BedrockCustomModelSpec {
    BedrockCustomModelSpec {
        source: ModelSource {
            s3_uri: None,
            model_package_arn: Some(PACKAGE_ARN.into()),
        },
        ..Default::default()
    }
}

fn with(
    mut spec: BedrockCustomModelSpec,
    change: impl FnOnce(&mut BedrockCustomModelSpec),
) -> BedrockCustomModelSpec {
    change(&mut spec);
    spec
}

fn with_tag(key: &str, value: &str) -> BedrockCustomModelSpec {
    with(s3_spec(), |s| {
        s.tags.insert(key.into(), value.into());
    })
}

fn numbered_tags(count: usize) -> BTreeMap<String, String> {
    (0..count)
        .map(|i| (format!("key-{i:02}"), format!("value-{i}")))
        .collect()
}

#[test]
fn invalid_specs_name_the_field() {
    struct Case {
        name: &'static str,
        metadata_name: &'static str,
        spec: BedrockCustomModelSpec,
        /// The exact fields reported, in order.
        fields: Vec<String>,
        /// Must appear in the first error's message.
        message: &'static str,
    }
    let case = |name, spec, field: &str, message| Case {
        name,
        metadata_name: "my-model",
        spec,
        fields: vec![field.to_string()],
        message,
    };
    let long_key = "k".repeat(129);
    let cases = vec![
        case(
            "modelName with a space and '!'",
            with(s3_spec(), |s| s.model_name = Some("my model!".into())),
            "spec.modelName",
            "is not valid",
        ),
        case(
            "modelName with a dot",
            with(s3_spec(), |s| s.model_name = Some("my.model".into())),
            "spec.modelName",
            "single '-' or '_'",
        ),
        case(
            "modelName with a double hyphen",
            with(s3_spec(), |s| s.model_name = Some("my--model".into())),
            "spec.modelName",
            "\"my--model\"",
        ),
        case(
            "modelName with hyphen and underscore in a row",
            with(s3_spec(), |s| s.model_name = Some("my-_model".into())),
            "spec.modelName",
            "is not valid",
        ),
        case(
            "modelName starting with a hyphen",
            with(s3_spec(), |s| s.model_name = Some("-model".into())),
            "spec.modelName",
            "is not valid",
        ),
        case(
            "modelName of 64 characters",
            with(s3_spec(), |s| s.model_name = Some("a".repeat(64))),
            "spec.modelName",
            "is 64 characters long; the limit is 63",
        ),
        case(
            "empty modelName",
            with(s3_spec(), |s| s.model_name = Some(String::new())),
            "spec.modelName",
            "must not be empty",
        ),
        Case {
            name: "no modelName and metadata.name with a dot",
            metadata_name: "my.model",
            spec: s3_spec(),
            fields: vec!["spec.modelName".into()],
            message: "is unset, so the model would be named after metadata.name \"my.model\"",
        },
        Case {
            name: "no modelName and a 64-character metadata.name",
            metadata_name: "m123456789-123456789-123456789-123456789-123456789-123456789-123",
            spec: s3_spec(),
            fields: vec!["spec.modelName".into()],
            message: "set spec.modelName",
        },
        case(
            "both sources",
            with(s3_spec(), |s| {
                s.source.model_package_arn = Some(PACKAGE_ARN.into())
            }),
            "spec.source",
            "sets both s3Uri and modelPackageArn",
        ),
        case(
            "neither source",
            with(s3_spec(), |s| s.source = ModelSource::default()),
            "spec.source",
            "sets neither s3Uri nor modelPackageArn",
        ),
        case(
            "s3Uri with an uppercase bucket",
            with(s3_spec(), |s| {
                s.source.s3_uri = Some("s3://My-Bucket/model/".into())
            }),
            "spec.source.s3Uri",
            "lowercase bucket",
        ),
        case(
            "s3Uri without scheme",
            with(s3_spec(), |s| {
                s.source.s3_uri = Some("my-bucket/model/".into())
            }),
            "spec.source.s3Uri",
            "is not valid",
        ),
        case(
            "s3Uri with an https scheme",
            with(s3_spec(), |s| {
                s.source.s3_uri = Some("https://my-bucket.s3.amazonaws.com/model/".into())
            }),
            "spec.source.s3Uri",
            "is not valid",
        ),
        case(
            "s3Uri with a two-character bucket",
            with(s3_spec(), |s| {
                s.source.s3_uri = Some("s3://ab/model/".into())
            }),
            "spec.source.s3Uri",
            "is not valid",
        ),
        case(
            "s3Uri of 1025 characters",
            with(s3_spec(), |s| {
                s.source.s3_uri = Some(format!("s3://my-bucket/{}", "a".repeat(1025 - 15)))
            }),
            "spec.source.s3Uri",
            "is 1025 characters long; the limit is 1024",
        ),
        case(
            "modelPackageArn with an 11-digit account",
            with(package_spec(), |s| {
                s.source.model_package_arn =
                    Some("arn:aws:sagemaker:us-east-1:12345678901:model-package/my-group/1".into())
            }),
            "spec.source.modelPackageArn",
            "SageMaker model package ARN",
        ),
        case(
            "modelPackageArn of another SageMaker resource",
            with(package_spec(), |s| {
                s.source.model_package_arn =
                    Some("arn:aws:sagemaker:us-east-1:123456789012:model/my-model".into())
            }),
            "spec.source.modelPackageArn",
            "is not valid",
        ),
        case(
            "s3Uri without roleArn",
            with(s3_spec(), |s| s.role_arn = None),
            "spec.roleArn",
            "is required when source.s3Uri is set",
        ),
        case(
            "roleArn of a user",
            with(s3_spec(), |s| {
                s.role_arn = Some("arn:aws:iam::123456789012:user/alice".into())
            }),
            "spec.roleArn",
            "IAM role ARN",
        ),
        case(
            "roleArn that is a bare name",
            with(package_spec(), |s| {
                s.role_arn = Some("BedrockImport".into())
            }),
            "spec.roleArn",
            "is not valid",
        ),
        case(
            "empty roleArn",
            with(s3_spec(), |s| s.role_arn = Some(String::new())),
            "spec.roleArn",
            "must not be empty",
        ),
        case(
            "kmsKeyArn that is an alias",
            with(s3_spec(), |s| {
                s.kms_key_arn = Some("arn:aws:kms:us-east-1:123456789012:alias/my-key".into())
            }),
            "spec.kmsKeyArn",
            "KMS key ARN",
        ),
        case(
            "kmsKeyArn with a short key id",
            with(s3_spec(), |s| {
                s.kms_key_arn = Some("arn:aws:kms:us-east-1:123456789012:key/1234abcd".into())
            }),
            "spec.kmsKeyArn",
            "is not valid",
        ),
        case(
            "48 tags",
            with(s3_spec(), |s| s.tags = numbered_tags(48)),
            "spec.tags",
            "has 48 entries; the limit is 47",
        ),
        case(
            "tag key with '!'",
            with_tag("team!", "ml"),
            "spec.tags[\"team!\"]",
            "is not valid",
        ),
        case(
            "tag key with '&'",
            with_tag("r&d", "ml"),
            "spec.tags[\"r&d\"]",
            "letters, digits, spaces",
        ),
        case(
            "empty tag key",
            with_tag("", "ml"),
            "spec.tags[\"\"]",
            "must not be empty",
        ),
        case(
            "tag key of 129 characters",
            with_tag(&long_key, "ml"),
            &format!("spec.tags[\"{}\"]", "k".repeat(129)),
            "is 129 characters long; the limit is 128",
        ),
        case(
            "tag value of 257 characters",
            with_tag("team", &"v".repeat(257)),
            "spec.tags[\"team\"]",
            "value is 257 characters long; the limit is 256",
        ),
        case(
            "tag value with '%'",
            with_tag("team", "100%"),
            "spec.tags[\"team\"]",
            "value \"100%\" is not valid",
        ),
        case(
            "tag value with a comma",
            with_tag("team", "ml,data"),
            "spec.tags[\"team\"]",
            "value \"ml,data\" is not valid",
        ),
        case(
            "reserved aws: key",
            with_tag("aws:x", "y"),
            "spec.tags[\"aws:x\"]",
            "reserved prefix",
        ),
        case(
            "reserved operator key",
            with_tag("bedrock-operator.dev/owner", "someone"),
            "spec.tags[\"bedrock-operator.dev/owner\"]",
            "reserved prefix",
        ),
        case(
            "region in uppercase",
            with(s3_spec(), |s| s.region = Some("US-EAST-1".into())),
            "spec.region",
            "an AWS region such as us-east-1",
        ),
        case(
            "region without hyphens",
            with(s3_spec(), |s| s.region = Some("useast1".into())),
            "spec.region",
            "is not valid",
        ),
        case(
            "region of 21 characters",
            with(s3_spec(), |s| {
                s.region = Some("us-northwesterly-12-1".into())
            }),
            "spec.region",
            "is 21 characters long; the limit is 20",
        ),
        case(
            "empty region",
            with(s3_spec(), |s| s.region = Some(String::new())),
            "spec.region",
            "must not be empty",
        ),
        Case {
            name: "several problems are all reported, in field order",
            metadata_name: "my-model",
            spec: with(s3_spec(), |s| {
                s.model_name = Some("bad name".into());
                s.role_arn = None;
                s.kms_key_arn = Some("nope".into());
                s.tags.insert("aws:x".into(), "y".into());
                s.region = Some("mars".into());
            }),
            fields: vec![
                "spec.modelName".into(),
                "spec.roleArn".into(),
                "spec.kmsKeyArn".into(),
                "spec.tags[\"aws:x\"]".into(),
                "spec.region".into(),
            ],
            message: "is not valid",
        },
        Case {
            name: "a reserved key with bad characters reports both",
            metadata_name: "my-model",
            spec: with_tag("aws:x!", "y"),
            fields: vec![
                "spec.tags[\"aws:x!\"]".into(),
                "spec.tags[\"aws:x!\"]".into(),
            ],
            message: "is not valid",
        },
    ];
    assert!(cases.len() >= 25);

    for case in cases {
        let errors = validate(&resource(case.metadata_name, case.spec));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, case.fields, "{}: fields ({errors:?})", case.name);
        assert!(
            errors[0].message.contains(case.message),
            "{}: message should contain {:?}: {}",
            case.name,
            case.message,
            errors[0].message
        );
        assert_eq!(
            errors[0].to_string(),
            format!("{}: {}", errors[0].field, errors[0].message),
            "{}: display",
            case.name
        );
    }
}

#[test]
fn long_tag_key_field_is_the_full_key() {
    // A valid 100-character key with an invalid value: the path should name that key.
    let key = "k".repeat(100);
    let errors = validate(&resource("my-model", with_tag(&key, "bad,value")));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, format!("spec.tags[\"{key}\"]"));
}

#[test]
fn valid_specs_have_no_errors() {
    let cases = vec![
        ("s3 source with role", "my-model", s3_spec()),
        ("model package without role", "my-model", package_spec()),
        (
            "model package with role",
            "my-model",
            with(package_spec(), |s| s.role_arn = Some(ROLE.into())),
        ),
        (
            "kms key",
            "my-model",
            with(s3_spec(), |s| s.kms_key_arn = Some(KMS.into())),
        ),
        (
            "kms key in another partition",
            "my-model",
            with(s3_spec(), |s| {
                s.kms_key_arn = Some("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab".into())
            }),
        ),
        (
            "47 tags",
            "my-model",
            with(s3_spec(), |s| s.tags = numbered_tags(47)),
        ),
        (
            "no tags",
            "my-model",
            with(s3_spec(), |s| s.tags = BTreeMap::new()),
        ),
        (
            "63-character modelName",
            "my-model",
            with(s3_spec(), |s| {
                s.model_name = Some(format!("{}a", "a-".repeat(31)))
            }),
        ),
        (
            "63-character metadata.name without modelName",
            "m123456789-123456789-123456789-123456789-123456789-123456789-12",
            s3_spec(),
        ),
        (
            "modelName with underscores and digits",
            "my.model",
            with(s3_spec(), |s| s.model_name = Some("Nova_ft_2025-06".into())),
        ),
        ("one-character modelName", "x", s3_spec()),
        (
            "bucket-only s3Uri",
            "my-model",
            with(s3_spec(), |s| {
                s.source.s3_uri = Some("s3://my.bucket-01".into())
            }),
        ),
        (
            "s3Uri with allowed punctuation",
            "my-model",
            with(s3_spec(), |s| {
                s.source.s3_uri = Some("s3://my-bucket/Run_(1)/ckpt-*!'.x/".into())
            }),
        ),
        (
            "role with a path in aws-cn",
            "my-model",
            with(s3_spec(), |s| {
                s.role_arn =
                    Some("arn:aws-cn:iam::123456789012:role/service-role/BedrockImport".into())
            }),
        ),
        (
            "tags using every allowed character, 128-character key, 256-character value",
            "my-model",
            with(s3_spec(), |s| {
                s.tags = BTreeMap::from([
                    ("cost center".into(), "a.b_c:d/e=f+g-h@i".into()),
                    ("k".repeat(128), "v".repeat(256)),
                    ("empty".into(), String::new()),
                ])
            }),
        ),
        (
            "keys that merely contain reserved words",
            "my-model",
            with(s3_spec(), |s| {
                s.tags = BTreeMap::from([
                    ("team/aws:x".into(), "y".into()),
                    ("my-bedrock-operator.dev/x".into(), "y".into()),
                ])
            }),
        ),
        (
            "region us-east-1",
            "my-model",
            with(s3_spec(), |s| s.region = Some("us-east-1".into())),
        ),
        (
            "region us-gov-west-1",
            "my-model",
            with(s3_spec(), |s| s.region = Some("us-gov-west-1".into())),
        ),
        (
            "region ap-southeast-2",
            "my-model",
            with(s3_spec(), |s| s.region = Some("ap-southeast-2".into())),
        ),
        (
            "policies set",
            "my-model",
            with(s3_spec(), |s| {
                s.deletion_policy = crate::api::DeletionPolicy::Retain;
                s.adoption_policy = crate::api::AdoptionPolicy::Adopt;
            }),
        ),
    ];
    for (name, metadata_name, spec) in cases {
        let errors = validate(&resource(metadata_name, spec));
        assert!(errors.is_empty(), "{name}: unexpected errors {errors:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// One source of truth: the CRD schema carries the same constraints as `patterns`.
// ---------------------------------------------------------------------------------------------

fn schema() -> Value {
    let crd = serde_json::to_value(crate::crd::crd()).expect("CRD serializes");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn at<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |node, key| {
        let next = &node[*key];
        assert!(
            !next.is_null(),
            "schema has no {} (at {key})",
            path.join(".")
        );
        next
    })
}

#[test]
fn crd_schema_uses_the_pattern_constants() {
    let schema = schema();
    let spec = at(&schema, &["properties", "spec", "properties"]);
    let source = at(spec, &["source", "properties"]);
    let created_source = at(
        &schema,
        &[
            "properties",
            "status",
            "properties",
            "createdWith",
            "properties",
            "source",
            "properties",
        ],
    );
    let string_fields: Vec<(&str, &Value, &str, u32)> = vec![
        (
            "spec.modelName",
            &spec["modelName"],
            patterns::MODEL_NAME,
            patterns::MODEL_NAME_MAX,
        ),
        (
            "spec.source.s3Uri",
            &source["s3Uri"],
            patterns::S3_URI,
            patterns::S3_URI_MAX,
        ),
        (
            "spec.source.modelPackageArn",
            &source["modelPackageArn"],
            patterns::MODEL_PACKAGE_ARN,
            patterns::MODEL_PACKAGE_ARN_MAX,
        ),
        (
            "spec.roleArn",
            &spec["roleArn"],
            patterns::ROLE_ARN,
            patterns::ARN_MAX,
        ),
        (
            "spec.kmsKeyArn",
            &spec["kmsKeyArn"],
            patterns::KMS_KEY_ARN,
            patterns::ARN_MAX,
        ),
        (
            "spec.region",
            &spec["region"],
            patterns::REGION,
            patterns::REGION_MAX,
        ),
        (
            "spec.tags values",
            &spec["tags"]["additionalProperties"],
            patterns::TAG_VALUE,
            patterns::TAG_VALUE_MAX,
        ),
        (
            "status.createdWith.source.s3Uri",
            &created_source["s3Uri"],
            patterns::S3_URI,
            patterns::S3_URI_MAX,
        ),
        (
            "status.createdWith.source.modelPackageArn",
            &created_source["modelPackageArn"],
            patterns::MODEL_PACKAGE_ARN,
            patterns::MODEL_PACKAGE_ARN_MAX,
        ),
    ];
    for (field, node, pattern, max) in string_fields {
        assert_eq!(node["type"], "string", "{field}: type");
        assert_eq!(node["pattern"], pattern, "{field}: pattern");
        assert_eq!(node["maxLength"], max, "{field}: maxLength");
        if field != "spec.tags values" {
            assert_eq!(node["minLength"], 1, "{field}: minLength");
        }
    }

    let tags = &spec["tags"];
    assert_eq!(
        tags["maxProperties"],
        patterns::SPEC_TAGS_MAX,
        "spec.tags: maxProperties"
    );
    assert_eq!(patterns::SPEC_TAGS_MAX, 47);
    let rules: Vec<&str> = tags["x-kubernetes-validations"]
        .as_array()
        .expect("spec.tags has CEL rules")
        .iter()
        .map(|r| r["rule"].as_str().expect("rule is a string"))
        .collect();
    // The CEL rule embeds TAG_KEY as a single-quoted CEL string: backslashes doubled.
    let escaped_key = patterns::TAG_KEY.replace('\\', "\\\\");
    assert!(
        rules
            .iter()
            .any(|r| r.contains(&format!("k.matches('{escaped_key}')"))
                && r.contains(&format!("k.size() <= {}", patterns::TAG_KEY_MAX))),
        "spec.tags key rule should embed patterns::TAG_KEY and TAG_KEY_MAX: {rules:?}"
    );
    assert!(
        rules.iter().any(|r| r.contains("'aws:'")
            && r.contains(&format!("'{}'", crate::api::tags::OPERATOR_PREFIX))),
        "spec.tags reserved-prefix rule: {rules:?}"
    );
}

#[test]
fn committed_crd_matches_the_pattern_constants() {
    // The YAML under crds/ is what gets applied: it must carry the same strings.
    let yaml = include_str!("../../crds/bedrockcustommodels.bedrock-operator.dev.yaml");
    let committed: Value = serde_yaml::from_str(yaml).expect("committed CRD parses");
    let committed = &committed["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let spec = at(committed, &["properties", "spec", "properties"]);
    for (field, node, pattern) in [
        ("modelName", &spec["modelName"], patterns::MODEL_NAME),
        (
            "s3Uri",
            &spec["source"]["properties"]["s3Uri"],
            patterns::S3_URI,
        ),
        (
            "modelPackageArn",
            &spec["source"]["properties"]["modelPackageArn"],
            patterns::MODEL_PACKAGE_ARN,
        ),
        ("roleArn", &spec["roleArn"], patterns::ROLE_ARN),
        ("kmsKeyArn", &spec["kmsKeyArn"], patterns::KMS_KEY_ARN),
        ("region", &spec["region"], patterns::REGION),
        (
            "tags",
            &spec["tags"]["additionalProperties"],
            patterns::TAG_VALUE,
        ),
    ] {
        assert_eq!(node["pattern"], pattern, "committed CRD {field}: pattern");
    }
}

#[test]
fn pattern_constants_compile_and_are_anchored() {
    let all = [
        ("MODEL_NAME", patterns::MODEL_NAME),
        ("S3_URI", patterns::S3_URI),
        ("MODEL_PACKAGE_ARN", patterns::MODEL_PACKAGE_ARN),
        ("KMS_KEY_ARN", patterns::KMS_KEY_ARN),
        ("ROLE_ARN", patterns::ROLE_ARN),
        ("TAG_KEY", patterns::TAG_KEY),
        ("TAG_VALUE", patterns::TAG_VALUE),
        ("REGION", patterns::REGION),
    ];
    for (name, pattern) in all {
        assert!(
            Regex::new(pattern).is_ok(),
            "{name} does not compile: {pattern}"
        );
        assert!(
            pattern.starts_with('^') && pattern.ends_with('$'),
            "{name} must be anchored: {pattern}"
        );
    }
    // And the validator's lazily compiled checks build without panicking.
    for check in [
        &MODEL_NAME,
        &S3_URI,
        &MODEL_PACKAGE_ARN,
        &ROLE_ARN,
        &KMS_KEY_ARN,
        &REGION,
        &TAG_KEY,
    ] {
        assert!(check.max > 0);
    }
    assert!(TAG_VALUE.is_match("ok"));
}

#[test]
fn a_valid_spec_gives_its_one_source() {
    assert_eq!(
        validate_model(&resource("m", s3_spec())),
        Ok(ValidModel {
            source: ValidSource::S3Uri(S3_SOURCE.into())
        })
    );
    assert_eq!(
        validate_model(&resource("m", package_spec())),
        Ok(ValidModel {
            source: ValidSource::ModelPackageArn(PACKAGE_ARN.into())
        })
    );
}

#[test]
fn a_spec_with_both_sources_or_none_gives_no_valid_model() {
    let mut both = s3_spec();
    both.source.model_package_arn = Some(PACKAGE_ARN.into());
    let mut neither = s3_spec();
    neither.source.s3_uri = None;
    for spec in [both, neither] {
        let errors = validate_model(&resource("m", spec)).expect_err("refused");
        assert!(
            errors.iter().any(|e| e.field == "spec.source"),
            "{errors:?}"
        );
    }
}
