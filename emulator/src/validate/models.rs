//! The custom model operations' input (CreateCustomModel, GetCustomModel and
//! DeleteCustomModel's path label, ListCustomModels' query), checked against the service model.

use chrono::{DateTime, Utc};

use super::{
    DEFAULT_MAX_RESULTS, FOUNDATION_MODEL_ARN_RULE, IDEMPOTENCY_TOKEN_RULE, KMS_KEY_ARN_RULE,
    MODEL_ARN_RULE, MODEL_IDENTIFIER_RULE, MODEL_NAME_RULE, MODEL_PACKAGE_ARN_RULE, ROLE_ARN_RULE,
    S3_URI_RULE, SortOrder, Violations, max_results, next_token, parse_object, path_label,
    required_string, single_violation, sort_order, string, structure, tags, timestamp, union,
};
use crate::error::ApiError;
use crate::model::{ModelSource, ModelStatus};
use crate::types::Tag;

/// A validated CreateCustomModel request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CreateCustomModelInput {
    pub model_name: String,
    pub source: ModelSource,
    pub model_kms_key_arn: Option<String>,
    pub role_arn: Option<String>,
    pub model_tags: Vec<Tag>,
    pub client_request_token: Option<String>,
}

impl CreateCustomModelInput {
    /// The parameters an idempotent replay must repeat (everything but the token; tag order is
    /// irrelevant).
    pub fn fingerprint(&self) -> CreateFingerprint {
        let mut tags = self.model_tags.clone();
        tags.sort();
        CreateFingerprint {
            model_name: self.model_name.clone(),
            source: self.source.clone(),
            model_kms_key_arn: self.model_kms_key_arn.clone(),
            role_arn: self.role_arn.clone(),
            tags,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CreateFingerprint {
    model_name: String,
    source: ModelSource,
    model_kms_key_arn: Option<String>,
    role_arn: Option<String>,
    tags: Vec<Tag>,
}

pub(crate) fn parse_create_custom_model(body: &[u8]) -> Result<CreateCustomModelInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();

    let model_name = required_string(&root, "modelName", "modelName", &mut violations);
    if let Some(name) = model_name {
        violations.check("modelName", name, &MODEL_NAME_RULE);
    }

    let mut s3_uri = None;
    let s3_config = structure(
        &root,
        "modelSourceConfig",
        "modelSourceConfig",
        &mut violations,
    );
    if let Some(config) = s3_config
        && let Some((_, s3)) = union(
            config,
            &["s3DataSource"],
            "modelSourceConfig",
            &mut violations,
        )
    {
        let path = "modelSourceConfig.s3DataSource.s3Uri";
        s3_uri = required_string(s3, "s3Uri", path, &mut violations);
        if let Some(uri) = s3_uri {
            violations.check(path, uri, &S3_URI_RULE);
        }
    }

    let mut package_arn = None;
    let package_config = structure(
        &root,
        "customModelDataSource",
        "customModelDataSource",
        &mut violations,
    );
    if let Some(config) = package_config
        && let Some((_, package)) = union(
            config,
            &["modelPackageArnDataSource"],
            "customModelDataSource",
            &mut violations,
        )
    {
        let path = "customModelDataSource.modelPackageArnDataSource.modelPackageArn";
        package_arn = required_string(package, "modelPackageArn", path, &mut violations);
        if let Some(arn) = package_arn {
            violations.check(path, arn, &MODEL_PACKAGE_ARN_RULE);
        }
    }

    let kms = string(&root, "modelKmsKeyArn", "modelKmsKeyArn", &mut violations);
    if let Some(kms) = kms {
        violations.check("modelKmsKeyArn", kms, &KMS_KEY_ARN_RULE);
    }
    let role = string(&root, "roleArn", "roleArn", &mut violations);
    if let Some(role) = role {
        violations.check("roleArn", role, &ROLE_ARN_RULE);
    }
    let model_tags = tags(&root, "modelTags", false, &mut violations);
    let token = string(
        &root,
        "clientRequestToken",
        "clientRequestToken",
        &mut violations,
    );
    if let Some(token) = token {
        violations.check("clientRequestToken", token, &IDEMPOTENCY_TOKEN_RULE);
    }
    violations.into_result()?;

    // Rules across members, checked once every member is individually valid.
    let source = match (s3_config, package_config, s3_uri, package_arn) {
        (Some(_), None, Some(uri), _) => ModelSource::S3Uri(uri.to_owned()),
        (None, Some(_), _, Some(arn)) => ModelSource::ModelPackageArn(arn.to_owned()),
        (Some(_), Some(_), _, _) => {
            return Err(ApiError::validation(
                "1 validation error detected: Exactly one of 'modelSourceConfig' or 'customModelDataSource' must be specified, not both.",
            ));
        }
        _ => {
            return Err(ApiError::validation(
                "1 validation error detected: Exactly one of 'modelSourceConfig' or 'customModelDataSource' must be specified.",
            ));
        }
    };
    if matches!(source, ModelSource::S3Uri(_)) && role.is_none() {
        return Err(single_violation(
            "roleArn",
            None,
            "Member must not be null when 'modelSourceConfig' (an Amazon S3 model source) is specified",
        ));
    }
    let Some(model_name) = model_name else {
        return Err(single_violation(
            "modelName",
            None,
            "Member must not be null",
        ));
    };

    Ok(CreateCustomModelInput {
        model_name: model_name.to_owned(),
        source,
        model_kms_key_arn: kms.map(str::to_owned),
        role_arn: role.map(str::to_owned),
        model_tags,
        client_request_token: token.map(str::to_owned),
    })
}

/// Percent-decodes and validates a `{modelIdentifier}` path label.
pub(crate) fn parse_model_identifier(raw: &str) -> Result<String, ApiError> {
    path_label(raw, "modelIdentifier", &MODEL_IDENTIFIER_RULE)
}

/// The validated query of ListCustomModels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListCustomModelsInput {
    pub creation_time_before: Option<DateTime<Utc>>,
    pub creation_time_after: Option<DateTime<Utc>>,
    pub name_contains: Option<String>,
    pub base_model_arn_equals: Option<String>,
    pub foundation_model_arn_equals: Option<String>,
    pub max_results: usize,
    pub next_token: Option<String>,
    pub sort_order: SortOrder,
    pub is_owned: Option<bool>,
    pub model_status: Option<ModelStatus>,
}

pub(crate) fn parse_list_custom_models(
    query: Option<&str>,
) -> Result<ListCustomModelsInput, ApiError> {
    let mut input = ListCustomModelsInput {
        creation_time_before: None,
        creation_time_after: None,
        name_contains: None,
        base_model_arn_equals: None,
        foundation_model_arn_equals: None,
        max_results: DEFAULT_MAX_RESULTS,
        next_token: None,
        sort_order: SortOrder::Descending,
        is_owned: None,
        model_status: None,
    };
    let mut violations = Violations::default();
    // Unknown parameters are ignored, as AWS does; a repeated one keeps its last value.
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = value.as_ref();
        match name.as_ref() {
            "creationTimeBefore" => {
                input.creation_time_before = timestamp(&name, value, &mut violations)
            }
            "creationTimeAfter" => {
                input.creation_time_after = timestamp(&name, value, &mut violations)
            }
            "nameContains" => {
                violations.check("nameContains", value, &MODEL_NAME_RULE);
                input.name_contains = Some(value.to_owned());
            }
            "baseModelArnEquals" => {
                violations.check("baseModelArnEquals", value, &MODEL_ARN_RULE);
                input.base_model_arn_equals = Some(value.to_owned());
            }
            "foundationModelArnEquals" => {
                violations.check(
                    "foundationModelArnEquals",
                    value,
                    &FOUNDATION_MODEL_ARN_RULE,
                );
                input.foundation_model_arn_equals = Some(value.to_owned());
            }
            "maxResults" => {
                if let Some(count) = max_results(value, &mut violations) {
                    input.max_results = count;
                }
            }
            "nextToken" => input.next_token = next_token(value, &mut violations),
            "sortBy" => {
                violations.check_enum("sortBy", value, &["CreationTime"]);
            }
            "sortOrder" => {
                if let Some(order) = sort_order(value, &mut violations) {
                    input.sort_order = order;
                }
            }
            "isOwned" => match value {
                "true" => input.is_owned = Some(true),
                "false" => input.is_owned = Some(false),
                _ => violations.push("isOwned", Some(value), "Member must be a boolean"),
            },
            "modelStatus"
                if violations.check_enum(
                    "modelStatus",
                    value,
                    &["Active", "Creating", "Failed"],
                ) =>
            {
                input.model_status = match value {
                    "Active" => Some(ModelStatus::Active),
                    "Creating" => Some(ModelStatus::Creating),
                    _ => Some(ModelStatus::Failed),
                };
            }
            _ => {}
        }
    }
    violations.into_result().map(|()| input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        match result {
            Ok(value) => panic!("expected a validation error, got {value:?}"),
            Err(error) => {
                assert_eq!(error.code(), "ValidationException");
                error.message().to_owned()
            }
        }
    }

    #[test]
    fn create_names_each_offending_member() {
        let message = error_message(parse_create_custom_model(
            br#"{"modelName":"bad name","modelSourceConfig":{"s3DataSource":{"s3Uri":"s3://bucket/m"}},"roleArn":"arn:aws:iam::123456789012:role/r"}"#,
        ));
        assert!(
            message.starts_with("1 validation error detected: Value 'bad name' at 'modelName'"),
            "{message}"
        );

        let message = error_message(parse_create_custom_model(br#"{"modelName":5}"#));
        assert!(
            message
                .contains("at 'modelName' failed to satisfy constraint: Member must be a string"),
            "{message}"
        );

        let message = error_message(parse_create_custom_model(
            br#"{"modelName":"m","modelSourceConfig":{"s3DataSource":{"s3Uri":"s3://bucket/m"}}}"#,
        ));
        assert!(message.contains("'roleArn'"), "{message}");

        let message = error_message(parse_create_custom_model(br#"{"modelName":"m"}"#));
        assert!(
            message.contains("modelSourceConfig") && message.contains("customModelDataSource"),
            "{message}"
        );

        let message = error_message(parse_create_custom_model(
            br#"{"modelName":"m","customModelDataSource":{"modelPackageArnDataSource":{"modelPackageArn":"arn:aws:sagemaker:us-east-1:123456789012:model-package/p/1"}},"modelTags":[{"key":"aws:x","value":"v"}]}"#,
        ));
        assert!(
            message.contains("'modelTags.1.member.key'") && message.contains("reserved"),
            "{message}"
        );

        let message = error_message(parse_create_custom_model(
            br#"{"modelName":"m","modelSourceConfig":{}}"#,
        ));
        assert!(message.contains("'modelSourceConfig'"), "{message}");
    }

    #[test]
    fn create_accepts_a_complete_request() {
        let input = parse_create_custom_model(
            br#"{"modelName":"m","modelSourceConfig":{"s3DataSource":{"s3Uri":"s3://bucket/m/"}},"roleArn":"arn:aws:iam::123456789012:role/r","modelTags":[{"key":"k","value":""}],"clientRequestToken":"tok-1","unknownMember":1}"#,
        );
        let input = input.ok();
        assert_eq!(
            input.map(|input| (input.source, input.model_tags)),
            Some((
                ModelSource::S3Uri("s3://bucket/m/".into()),
                vec![Tag::new("k", "")]
            ))
        );
    }

    #[test]
    fn list_query_checks_each_parameter() {
        let input = parse_list_custom_models(Some(
            "maxResults=5&sortOrder=Ascending&isOwned=false&modelStatus=Failed&creationTimeAfter=2026-01-01T00%3A00%3A00Z",
        ))
        .ok();
        assert_eq!(input.as_ref().map(|input| input.max_results), Some(5));
        assert_eq!(
            input.as_ref().map(|input| input.sort_order),
            Some(SortOrder::Ascending)
        );
        assert_eq!(input.as_ref().and_then(|input| input.is_owned), Some(false));

        for (query, member) in [
            ("maxResults=0", "maxResults"),
            ("maxResults=1001", "maxResults"),
            ("maxResults=x", "maxResults"),
            ("sortOrder=Sideways", "sortOrder"),
            ("sortBy=Name", "sortBy"),
            ("modelStatus=Gone", "modelStatus"),
            ("isOwned=maybe", "isOwned"),
            ("nameContains=a%20b", "nameContains"),
            ("creationTimeBefore=yesterday", "creationTimeBefore"),
            ("baseModelArnEquals=arn", "baseModelArnEquals"),
            ("foundationModelArnEquals=arn", "foundationModelArnEquals"),
            ("nextToken=a%20b", "nextToken"),
        ] {
            let message = error_message(parse_list_custom_models(Some(query)));
            assert!(
                message.contains(&format!("at '{member}'")),
                "{query}: {message}"
            );
        }
    }

    #[test]
    fn identifiers_are_percent_decoded() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefghij12";
        let encoded = arn.replace(':', "%3A").replace('/', "%2F");
        assert_eq!(parse_model_identifier(&encoded).ok().as_deref(), Some(arn));
        assert!(parse_model_identifier("bad%20name").is_err());
    }
}
