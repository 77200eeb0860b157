//! Turns wire input into validated requests, checking every member against the service model's
//! constraints. Patterns are the model's, anchored, and compiled once.
//!
//! Violations are reported the way AWS reports them: `1 validation error detected: Value 'x' at
//! 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern: ...`.
//!
//! This file holds what every kind shares: the patterns and rules, the violation collector, the
//! JSON and query readers, and the tagging operations. Each kind's operations are in its own
//! file: `models.rs`, `deployments.rs`, `provisioned.rs`, `imports.rs`.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::types::Tag;

mod deployments;
mod imports;
mod models;
mod provisioned;
mod runtime;

pub(crate) use deployments::{
    CreateDeploymentFingerprint, CreateDeploymentInput, ListDeploymentsInput,
    UpdateDeploymentInput, parse_create_deployment, parse_deployment_identifier,
    parse_list_deployments, parse_update_deployment,
};
pub(crate) use imports::{
    CreateImportJobFingerprint, CreateImportJobInput, ListImportJobsInput, ListImportedModelsInput,
    VpcConfig, parse_create_import_job, parse_import_job_identifier,
    parse_imported_model_identifier, parse_list_import_jobs, parse_list_imported_models,
};
pub(crate) use models::{
    CreateCustomModelInput, CreateFingerprint, ListCustomModelsInput, parse_create_custom_model,
    parse_list_custom_models, parse_model_identifier,
};
pub(crate) use provisioned::{
    CreateProvisionedFingerprint, CreateProvisionedInput, ListProvisionedInput,
    UpdateProvisionedInput, parse_create_provisioned, parse_list_provisioned,
    parse_provisioned_identifier, parse_update_provisioned,
};
pub(crate) use runtime::{parse_converse, parse_invoke_model, parse_runtime_model_id};

fn anchored(pattern: &str) -> Regex {
    // The patterns are constants of this file; a typo is caught by the unit tests below.
    Regex::new(&format!("^(?:{pattern})$")).unwrap_or_else(|error| panic!("bad pattern: {error}"))
}

macro_rules! pattern {
    ($name:ident, $source:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| anchored($source));
    };
}

// Where the model's Java-flavoured pattern differs from what the regex crate accepts, the regex
// source is adjusted (ASCII `\s`, escaped `-` in classes) and the model's text is kept for
// messages.
const CUSTOM_MODEL_NAME_TEXT: &str = "([0-9a-zA-Z][_-]?){1,63}";
pattern!(CUSTOM_MODEL_NAME, CUSTOM_MODEL_NAME_TEXT);

const S3_URI_TEXT: &str =
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?";
pattern!(S3_URI, S3_URI_TEXT);

const MODEL_PACKAGE_ARN_TEXT: &str =
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/[\S]{1,2048}";
// `\S{1,2048}` would compile to a huge automaton; match `\S+` and check the length apart.
pattern!(
    MODEL_PACKAGE_ARN,
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/(\S+)"
);

const KMS_KEY_ARN_TEXT: &str = r"arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:key/[a-zA-Z0-9-]{36}";
pattern!(KMS_KEY_ARN, KMS_KEY_ARN_TEXT);

const ROLE_ARN_TEXT: &str = r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+";
pattern!(ROLE_ARN, ROLE_ARN_TEXT);

const TAG_TEXT: &str = r"[a-zA-Z0-9\s._:/=+@-]*";
// Java's `\s` is ASCII whitespace only.
pattern!(TAG, r"[a-zA-Z0-9 \t\n\x0B\x0C\r._:/=+@\-]*");

const IDEMPOTENCY_TOKEN_TEXT: &str = r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?";
pattern!(IDEMPOTENCY_TOKEN, IDEMPOTENCY_TOKEN_TEXT);

const MODEL_IDENTIFIER_TEXT: &str = r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/((imported)|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12})|(:foundation-model/([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})))|(([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}))|(([0-9a-zA-Z][_-]?)+)";
pattern!(MODEL_IDENTIFIER, MODEL_IDENTIFIER_TEXT);

const MODEL_ARN_TEXT: &str = r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/((imported)|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12})|(:foundation-model/[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}))";
pattern!(MODEL_ARN, MODEL_ARN_TEXT);

const FOUNDATION_MODEL_ARN_TEXT: &str = r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}";
pattern!(FOUNDATION_MODEL_ARN, FOUNDATION_MODEL_ARN_TEXT);

const TAGGABLE_ARN_TEXT: &str = r".*(^[a-zA-Z0-9][a-zA-Z0-9\-]*$)|(^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/(imported)/[a-z0-9]{12}$)|(^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:([0-9]{12}|)((:(fine-tuning-job|model-customization-job|custom-model)/[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}(/[a-z0-9]{12})$)|(:guardrail/[a-z0-9]+$)|(:automated-reasoning-policy/[a-zA-Z0-9]+(:[a-zA-Z0-9]+)?$)|(:(inference-profile|application-inference-profile)/[a-zA-Z0-9-:.]+$)|(:(provisioned-model|model-invocation-job|model-evaluation-job|evaluation-job|model-import-job|imported-model|async-invoke|provisioned-model-v2|provisioned-model-reservation|prompt-router|custom-model-deployment)/[a-z0-9]{12}$))).*";
pattern!(
    TAGGABLE_ARN,
    r".*(^[a-zA-Z0-9][a-zA-Z0-9\-]*$)|(^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/(imported)/[a-z0-9]{12}$)|(^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:([0-9]{12}|)((:(fine-tuning-job|model-customization-job|custom-model)/[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}(/[a-z0-9]{12})$)|(:guardrail/[a-z0-9]+$)|(:automated-reasoning-policy/[a-zA-Z0-9]+(:[a-zA-Z0-9]+)?$)|(:(inference-profile|application-inference-profile)/[a-zA-Z0-9\-:.]+$)|(:(provisioned-model|model-invocation-job|model-evaluation-job|evaluation-job|model-import-job|imported-model|async-invoke|provisioned-model-v2|provisioned-model-reservation|prompt-router|custom-model-deployment)/[a-z0-9]{12}$))).*"
);

const CUSTOM_MODEL_ARN_TEXT: &str = r"arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/(imported|[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})/[a-z0-9]{12}";
pattern!(CUSTOM_MODEL_ARN, CUSTOM_MODEL_ARN_TEXT);

const DEPLOYMENT_IDENTIFIER_TEXT: &str = r"(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model-deployment/[a-z0-9]{12})|^([0-9a-zA-Z][_-]?){1,63}";
pattern!(DEPLOYMENT_IDENTIFIER, DEPLOYMENT_IDENTIFIER_TEXT);

const DEPLOYMENT_DESCRIPTION_TEXT: &str = ".*";
pattern!(DEPLOYMENT_DESCRIPTION, DEPLOYMENT_DESCRIPTION_TEXT);

const PROVISIONED_MODEL_NAME_TEXT: &str = "([0-9a-zA-Z][_-]?)+";
pattern!(PROVISIONED_MODEL_NAME, PROVISIONED_MODEL_NAME_TEXT);

const PROVISIONED_MODEL_ID_TEXT: &str = r"((([0-9a-zA-Z][_-]?)+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:provisioned-model/[a-z0-9]{12}))";
pattern!(PROVISIONED_MODEL_ID, PROVISIONED_MODEL_ID_TEXT);

const JOB_NAME_TEXT: &str = r"[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*";
pattern!(JOB_NAME, JOB_NAME_TEXT);

/// ImportedModelName has ProvisionedModelName's pattern (no `{1,63}` in it, unlike
/// CustomModelName's).
const IMPORTED_MODEL_NAME_TEXT: &str = PROVISIONED_MODEL_NAME_TEXT;

const IMPORT_JOB_IDENTIFIER_TEXT: &str = r"(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-import-job/[a-z0-9]{12})|([a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*)";
pattern!(IMPORT_JOB_IDENTIFIER, IMPORT_JOB_IDENTIFIER_TEXT);

const IMPORTED_MODEL_IDENTIFIER_TEXT: &str = r"(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:imported-model/[a-z0-9]{12})|(([0-9a-zA-Z][_-]?)+)";
pattern!(IMPORTED_MODEL_IDENTIFIER, IMPORTED_MODEL_IDENTIFIER_TEXT);

const KMS_KEY_ID_TEXT: &str = r"(arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)))|([a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9-_/]+)";
// `[a-zA-Z0-9-_/]` in Java is a class of letters, digits, `-`, `_` and `/`.
pattern!(
    KMS_KEY_ID,
    r"(arn:aws(-[^:]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:((key/[a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9\-_/]+)))|([a-zA-Z0-9-]{36})|(alias/[a-zA-Z0-9\-_/]+)"
);

/// SubnetId and SecurityGroupId share it.
const VPC_ID_TEXT: &str = "[-0-9a-zA-Z]+";
pattern!(VPC_ID, VPC_ID_TEXT);

const PAGINATION_TOKEN_TEXT: &str = r"\S*";
pattern!(PAGINATION_TOKEN, PAGINATION_TOKEN_TEXT);

/// A string member's constraints.
struct StringRule {
    min: usize,
    max: Option<usize>,
    matches: fn(&str) -> bool,
    pattern_text: &'static str,
}

const MODEL_NAME_RULE: StringRule = StringRule {
    min: 1,
    max: Some(63),
    matches: |value| CUSTOM_MODEL_NAME.is_match(value),
    pattern_text: CUSTOM_MODEL_NAME_TEXT,
};
const S3_URI_RULE: StringRule = StringRule {
    min: 1,
    max: Some(1024),
    matches: |value| S3_URI.is_match(value),
    pattern_text: S3_URI_TEXT,
};
const MODEL_PACKAGE_ARN_RULE: StringRule = StringRule {
    min: 0,
    max: None,
    matches: |value| {
        MODEL_PACKAGE_ARN
            .captures(value)
            .and_then(|captures| captures.get(1))
            .is_some_and(|suffix| suffix.as_str().chars().count() <= 2048)
    },
    pattern_text: MODEL_PACKAGE_ARN_TEXT,
};
const KMS_KEY_ARN_RULE: StringRule = StringRule {
    min: 1,
    max: Some(2048),
    matches: |value| KMS_KEY_ARN.is_match(value),
    pattern_text: KMS_KEY_ARN_TEXT,
};
const ROLE_ARN_RULE: StringRule = StringRule {
    min: 0,
    max: Some(2048),
    matches: |value| ROLE_ARN.is_match(value),
    pattern_text: ROLE_ARN_TEXT,
};
const TAG_KEY_RULE: StringRule = StringRule {
    min: 1,
    max: Some(128),
    matches: |value| TAG.is_match(value),
    pattern_text: TAG_TEXT,
};
const TAG_VALUE_RULE: StringRule = StringRule {
    min: 0,
    max: Some(256),
    matches: |value| TAG.is_match(value),
    pattern_text: TAG_TEXT,
};
const IDEMPOTENCY_TOKEN_RULE: StringRule = StringRule {
    min: 1,
    max: Some(256),
    matches: |value| IDEMPOTENCY_TOKEN.is_match(value),
    pattern_text: IDEMPOTENCY_TOKEN_TEXT,
};
const MODEL_IDENTIFIER_RULE: StringRule = StringRule {
    min: 1,
    max: Some(2048),
    matches: |value| MODEL_IDENTIFIER.is_match(value),
    pattern_text: MODEL_IDENTIFIER_TEXT,
};
const MODEL_ARN_RULE: StringRule = StringRule {
    min: 20,
    max: Some(1011),
    matches: |value| MODEL_ARN.is_match(value),
    pattern_text: MODEL_ARN_TEXT,
};
const FOUNDATION_MODEL_ARN_RULE: StringRule = StringRule {
    min: 0,
    max: None,
    matches: |value| FOUNDATION_MODEL_ARN.is_match(value),
    pattern_text: FOUNDATION_MODEL_ARN_TEXT,
};
const TAGGABLE_ARN_RULE: StringRule = StringRule {
    min: 20,
    max: Some(1011),
    matches: |value| TAGGABLE_ARN.is_match(value),
    pattern_text: TAGGABLE_ARN_TEXT,
};
/// ModelDeploymentName has the same constraints as CustomModelName.
const DEPLOYMENT_NAME_RULE: StringRule = MODEL_NAME_RULE;
const CUSTOM_MODEL_ARN_RULE: StringRule = StringRule {
    min: 20,
    max: Some(1011),
    matches: |value| CUSTOM_MODEL_ARN.is_match(value),
    pattern_text: CUSTOM_MODEL_ARN_TEXT,
};
const DEPLOYMENT_IDENTIFIER_RULE: StringRule = StringRule {
    min: 1,
    max: Some(93),
    matches: |value| DEPLOYMENT_IDENTIFIER.is_match(value),
    pattern_text: DEPLOYMENT_IDENTIFIER_TEXT,
};
const DEPLOYMENT_DESCRIPTION_RULE: StringRule = StringRule {
    min: 1,
    max: Some(2048),
    matches: |value| DEPLOYMENT_DESCRIPTION.is_match(value),
    pattern_text: DEPLOYMENT_DESCRIPTION_TEXT,
};
const PROVISIONED_MODEL_NAME_RULE: StringRule = StringRule {
    min: 1,
    max: Some(63),
    matches: |value| PROVISIONED_MODEL_NAME.is_match(value),
    pattern_text: PROVISIONED_MODEL_NAME_TEXT,
};
const PROVISIONED_MODEL_ID_RULE: StringRule = StringRule {
    min: 0,
    max: None,
    matches: |value| PROVISIONED_MODEL_ID.is_match(value),
    pattern_text: PROVISIONED_MODEL_ID_TEXT,
};
const JOB_NAME_RULE: StringRule = StringRule {
    min: 1,
    max: Some(63),
    matches: |value| JOB_NAME.is_match(value),
    pattern_text: JOB_NAME_TEXT,
};
const IMPORTED_MODEL_NAME_RULE: StringRule = StringRule {
    min: 1,
    max: Some(63),
    matches: |value| PROVISIONED_MODEL_NAME.is_match(value),
    pattern_text: IMPORTED_MODEL_NAME_TEXT,
};
const IMPORT_JOB_IDENTIFIER_RULE: StringRule = StringRule {
    min: 0,
    max: Some(1011),
    matches: |value| IMPORT_JOB_IDENTIFIER.is_match(value),
    pattern_text: IMPORT_JOB_IDENTIFIER_TEXT,
};
const IMPORTED_MODEL_IDENTIFIER_RULE: StringRule = StringRule {
    min: 1,
    max: Some(1011),
    matches: |value| IMPORTED_MODEL_IDENTIFIER.is_match(value),
    pattern_text: IMPORTED_MODEL_IDENTIFIER_TEXT,
};
const KMS_KEY_ID_RULE: StringRule = StringRule {
    min: 1,
    max: Some(2048),
    matches: |value| KMS_KEY_ID.is_match(value),
    pattern_text: KMS_KEY_ID_TEXT,
};
const VPC_ID_RULE: StringRule = StringRule {
    min: 0,
    max: Some(32),
    matches: |value| VPC_ID.is_match(value),
    pattern_text: VPC_ID_TEXT,
};
const PAGINATION_TOKEN_RULE: StringRule = StringRule {
    min: 1,
    max: Some(2048),
    matches: |value| PAGINATION_TOKEN.is_match(value),
    pattern_text: PAGINATION_TOKEN_TEXT,
};

/// Whether `name` is a valid CustomModelName.
pub(crate) fn is_valid_model_name(name: &str) -> bool {
    (1..=63).contains(&name.chars().count()) && CUSTOM_MODEL_NAME.is_match(name)
}

/// Whether `arn` is a valid ModelArn.
pub(crate) fn is_valid_model_arn(arn: &str) -> bool {
    (20..=1011).contains(&arn.chars().count()) && MODEL_ARN.is_match(arn)
}

/// Whether `arn` is a valid FoundationModelArn.
pub(crate) fn is_valid_foundation_model_arn(arn: &str) -> bool {
    FOUNDATION_MODEL_ARN.is_match(arn)
}

/// Validation errors collected for one request.
#[derive(Default)]
pub(crate) struct Violations(Vec<String>);

const MAX_ECHOED_VALUE_CHARS: usize = 128;

impl Violations {
    fn push(&mut self, path: &str, value: Option<&str>, constraint: &str) {
        let value = match value {
            None => "null".to_owned(),
            Some(value) if value.chars().count() > MAX_ECHOED_VALUE_CHARS => {
                let prefix: String = value.chars().take(MAX_ECHOED_VALUE_CHARS).collect();
                format!("'{prefix}...'")
            }
            Some(value) => format!("'{value}'"),
        };
        self.0.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn null(&mut self, path: &str) {
        self.push(path, None, "Member must not be null");
    }

    fn check(&mut self, path: &str, value: &str, rule: &StringRule) {
        let length = value.chars().count();
        if length < rule.min {
            self.push(
                path,
                Some(value),
                &format!(
                    "Member must have length greater than or equal to {}",
                    rule.min
                ),
            );
        }
        if let Some(max) = rule.max
            && length > max
        {
            self.push(
                path,
                Some(value),
                &format!("Member must have length less than or equal to {max}"),
            );
        }
        if !(rule.matches)(value) {
            self.push(
                path,
                Some(value),
                &format!(
                    "Member must satisfy regular expression pattern: {}",
                    rule.pattern_text
                ),
            );
        }
    }

    fn check_enum(&mut self, path: &str, value: &str, allowed: &[&str]) -> bool {
        if allowed.contains(&value) {
            true
        } else {
            self.push(
                path,
                Some(value),
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
            false
        }
    }

    fn into_result(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            count => Err(ApiError::validation(format!(
                "{count} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

fn single_violation(path: &str, value: Option<&str>, constraint: &str) -> ApiError {
    let mut violations = Violations::default();
    violations.push(path, value, constraint);
    match violations.into_result() {
        Err(error) => error,
        Ok(()) => ApiError::validation(constraint.to_owned()),
    }
}

/// Parses a request body as a JSON object. An empty body counts as `{}`.
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::validation(
            "The request body must be a JSON object.",
        )),
        Err(error) => Err(ApiError::validation(format!(
            "The request body is not valid JSON: {error}"
        ))),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Reads an optional string member; a wrong type is a violation. JSON null counts as absent.
fn string<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
    violations: &mut Violations,
) -> Option<&'a str> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => {
            violations.push(path, Some(&describe(other)), "Member must be a string");
            None
        }
    }
}

/// Reads a required string member, recording a null violation when absent.
fn required_string<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
    violations: &mut Violations,
) -> Option<&'a str> {
    let present = !matches!(object.get(key), None | Some(Value::Null));
    let value = string(object, key, path, violations);
    if !present {
        violations.null(path);
    }
    value
}

fn structure<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
    violations: &mut Violations,
) -> Option<&'a Map<String, Value>> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(inner)) => Some(inner),
        Some(other) => {
            violations.push(path, Some(&describe(other)), "Member must be a structure");
            None
        }
    }
}

fn list<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    path: &str,
    violations: &mut Violations,
) -> Option<&'a Vec<Value>> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items),
        Some(other) => {
            violations.push(path, Some(&describe(other)), "Member must be a list");
            None
        }
    }
}

/// Reads a union: exactly one of `members` must be set, to a structure.
fn union<'a>(
    union_object: &'a Map<String, Value>,
    members: &[&str],
    path: &str,
    violations: &mut Violations,
) -> Option<(&'a str, &'a Map<String, Value>)> {
    let set: Vec<(&String, &Value)> = union_object
        .iter()
        .filter(|(_, value)| !value.is_null())
        .collect();
    let [(name, value)] = set.as_slice() else {
        violations.push(
            path,
            Some(&Value::Object(union_object.clone()).to_string()),
            &format!(
                "Member must have exactly one of the following members set: [{}]",
                members.join(", ")
            ),
        );
        return None;
    };
    if !members.contains(&name.as_str()) {
        violations.push(
            path,
            Some(&Value::Object(union_object.clone()).to_string()),
            &format!(
                "Member must have exactly one of the following members set: [{}]",
                members.join(", ")
            ),
        );
        return None;
    }
    match value {
        Value::Object(inner) => Some((name.as_str(), inner)),
        other => {
            violations.push(
                &format!("{path}.{name}"),
                Some(&describe(other)),
                "Member must be a structure",
            );
            None
        }
    }
}

/// Reads a TagList member: `{"key": ..., "value": ...}` items, checked against the tag rules.
/// Reserved `aws:` keys and duplicate keys are violations too.
fn tags(
    object: &Map<String, Value>,
    key: &str,
    required: bool,
    violations: &mut Violations,
) -> Vec<Tag> {
    let Some(items) = list(object, key, key, violations) else {
        if required && matches!(object.get(key), None | Some(Value::Null)) {
            violations.null(key);
        }
        return Vec::new();
    };
    if items.len() > 200 {
        violations.push(
            key,
            Some(&format!("[{} tags]", items.len())),
            "Member must have length less than or equal to 200",
        );
        return Vec::new();
    }
    let mut tags = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let path = format!("{key}.{}.member", index + 1);
        let Value::Object(tag) = item else {
            violations.push(&path, Some(&describe(item)), "Member must be a structure");
            continue;
        };
        let tag_key = required_string(tag, "key", &format!("{path}.key"), violations);
        let tag_value = required_string(tag, "value", &format!("{path}.value"), violations);
        if let Some(tag_key) = tag_key {
            check_tag_key(&format!("{path}.key"), tag_key, violations);
            if tags.iter().any(|seen: &Tag| seen.key == tag_key) {
                violations.push(
                    &format!("{path}.key"),
                    Some(tag_key),
                    "Tag keys must be unique within a request",
                );
            }
        }
        if let Some(tag_value) = tag_value {
            violations.check(&format!("{path}.value"), tag_value, &TAG_VALUE_RULE);
        }
        if let (Some(tag_key), Some(tag_value)) = (tag_key, tag_value) {
            tags.push(Tag::new(tag_key, tag_value));
        }
    }
    tags
}

fn check_tag_key(path: &str, key: &str, violations: &mut Violations) {
    violations.check(path, key, &TAG_KEY_RULE);
    if key
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
    {
        violations.push(
            path,
            Some(key),
            "Tag keys starting with 'aws:' are reserved for AWS use",
        );
    }
}

/// Percent-decodes a path label and checks it against `rule`; `member` names it in messages.
fn path_label(raw: &str, member: &str, rule: &StringRule) -> Result<String, ApiError> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            single_violation(
                member,
                Some(raw),
                "Member must be valid UTF-8 once percent-decoded",
            )
        })?
        .into_owned();
    let mut violations = Violations::default();
    violations.check(member, &decoded, rule);
    violations.into_result()?;
    Ok(decoded)
}

/// Reads `resourceARN` for the tagging operations.
fn resource_arn(root: &Map<String, Value>, violations: &mut Violations) -> Option<String> {
    let arn = required_string(root, "resourceARN", "resourceARN", violations);
    if let Some(arn) = arn {
        violations.check("resourceARN", arn, &TAGGABLE_ARN_RULE);
    }
    arn.map(str::to_owned)
}

pub(crate) struct TagResourceInput {
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

pub(crate) fn parse_tag_resource(body: &[u8]) -> Result<TagResourceInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let resource_arn = resource_arn(&root, &mut violations);
    let tags = tags(&root, "tags", true, &mut violations);
    violations.into_result()?;
    let resource_arn = resource_arn
        .ok_or_else(|| single_violation("resourceARN", None, "Member must not be null"))?;
    Ok(TagResourceInput { resource_arn, tags })
}

pub(crate) struct UntagResourceInput {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

pub(crate) fn parse_untag_resource(body: &[u8]) -> Result<UntagResourceInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let resource_arn = resource_arn(&root, &mut violations);
    let mut tag_keys = Vec::new();
    match list(&root, "tagKeys", "tagKeys", &mut violations) {
        None => {
            if matches!(root.get("tagKeys"), None | Some(Value::Null)) {
                violations.null("tagKeys");
            }
        }
        Some(items) if items.len() > 200 => violations.push(
            "tagKeys",
            Some(&format!("[{} keys]", items.len())),
            "Member must have length less than or equal to 200",
        ),
        Some(items) => {
            for (index, item) in items.iter().enumerate() {
                let path = format!("tagKeys.{}.member", index + 1);
                match item {
                    Value::String(key) => {
                        check_tag_key(&path, key, &mut violations);
                        tag_keys.push(key.clone());
                    }
                    Value::Null => violations.null(&path),
                    other => {
                        violations.push(&path, Some(&describe(other)), "Member must be a string")
                    }
                }
            }
        }
    }
    violations.into_result()?;
    let resource_arn = resource_arn
        .ok_or_else(|| single_violation("resourceARN", None, "Member must not be null"))?;
    Ok(UntagResourceInput {
        resource_arn,
        tag_keys,
    })
}

pub(crate) fn parse_list_tags_for_resource(body: &[u8]) -> Result<String, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let resource_arn = resource_arn(&root, &mut violations);
    violations.into_result()?;
    resource_arn.ok_or_else(|| single_violation("resourceARN", None, "Member must not be null"))
}

/// Sort order of the list operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortOrder {
    Ascending,
    Descending,
}

/// How many summaries a page holds when maxResults is absent.
pub(crate) const DEFAULT_MAX_RESULTS: usize = 100;

/// `maxResults` of the list operations: 1..=1000.
fn max_results(value: &str, violations: &mut Violations) -> Option<usize> {
    match value.parse::<i64>() {
        Ok(count) if count < 1 => violations.push(
            "maxResults",
            Some(value),
            "Member must have value greater than or equal to 1",
        ),
        Ok(count) if count > 1000 => violations.push(
            "maxResults",
            Some(value),
            "Member must have value less than or equal to 1000",
        ),
        Ok(count) => return usize::try_from(count).ok(),
        Err(_) => violations.push("maxResults", Some(value), "Member must be an integer"),
    }
    None
}

fn next_token(value: &str, violations: &mut Violations) -> Option<String> {
    violations.check("nextToken", value, &PAGINATION_TOKEN_RULE);
    Some(value.to_owned())
}

fn sort_order(value: &str, violations: &mut Violations) -> Option<SortOrder> {
    violations
        .check_enum("sortOrder", value, &["Ascending", "Descending"])
        .then_some(if value == "Ascending" {
            SortOrder::Ascending
        } else {
            SortOrder::Descending
        })
}

fn timestamp(name: &str, value: &str, violations: &mut Violations) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(value) {
        Ok(time) => Some(time.with_timezone(&Utc)),
        Err(_) => {
            violations.push(
                name,
                Some(value),
                "Member must be a timestamp in ISO 8601 (RFC 3339) form, e.g. 2026-11-22T13:53:53Z",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        for regex in [
            &CUSTOM_MODEL_NAME,
            &S3_URI,
            &MODEL_PACKAGE_ARN,
            &KMS_KEY_ARN,
            &ROLE_ARN,
            &TAG,
            &IDEMPOTENCY_TOKEN,
            &MODEL_IDENTIFIER,
            &MODEL_ARN,
            &FOUNDATION_MODEL_ARN,
            &TAGGABLE_ARN,
            &PAGINATION_TOKEN,
            &CUSTOM_MODEL_ARN,
            &DEPLOYMENT_IDENTIFIER,
            &DEPLOYMENT_DESCRIPTION,
            &PROVISIONED_MODEL_NAME,
            &PROVISIONED_MODEL_ID,
            &JOB_NAME,
            &IMPORT_JOB_IDENTIFIER,
            &IMPORTED_MODEL_IDENTIFIER,
            &KMS_KEY_ID,
            &VPC_ID,
        ] {
            LazyLock::force(regex);
        }
    }

    #[test]
    fn patterns_are_anchored() {
        assert!(is_valid_model_name("my-model_1"));
        assert!(!is_valid_model_name("my model"));
        assert!(!is_valid_model_name("-leading"));
        assert!(!is_valid_model_name(&"a".repeat(64)));
        assert!(S3_URI.is_match("s3://bucket/path/to/model/"));
        assert!(!S3_URI.is_match("xs3://bucket/path"));
        assert!(ROLE_ARN.is_match("arn:aws:iam::123456789012:role/Import"));
        assert!(!ROLE_ARN.is_match("arn:aws:iam::123456789012:user/Import"));
        assert!(
            TAGGABLE_ARN.is_match(
                "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefghij12"
            )
        );
        assert!(
            TAGGABLE_ARN
                .is_match("arn:aws:bedrock:us-east-1:123456789012:inference-profile/a-b:c.d")
        );
        assert!(!TAGGABLE_ARN.is_match("arn:aws:s3:::bucket/with/slashes"));
        assert!(
            MODEL_IDENTIFIER.is_match(
                "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefghij12"
            )
        );
        assert!(MODEL_IDENTIFIER.is_match("plain-name"));
        assert!(!MODEL_IDENTIFIER.is_match("has space"));
        assert!(TAG.is_match("team name:a/b=c+d@e-f_g.h"));
        assert!(!TAG.is_match("emoji\u{1F600}"));
        assert!(!TAG.is_match("nbsp\u{a0}"));
    }

    #[test]
    fn model_package_arn_suffix_is_limited_to_2048() {
        let prefix = "arn:aws:sagemaker:us-east-1:123456789012:model-package/";
        assert!((MODEL_PACKAGE_ARN_RULE.matches)(&format!("{prefix}pkg/1")));
        assert!(!(MODEL_PACKAGE_ARN_RULE.matches)(&format!(
            "{prefix}{}",
            "x".repeat(2049)
        )));
        assert!(!(MODEL_PACKAGE_ARN_RULE.matches)(&format!(
            "{prefix}has space"
        )));
    }
}
