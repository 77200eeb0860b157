//! The custom model deployment operations' input, checked against the service model like the
//! model operations' (same messages, same member paths).

use chrono::{DateTime, Utc};

use super::{
    CUSTOM_MODEL_ARN_RULE, DEFAULT_MAX_RESULTS, DEPLOYMENT_DESCRIPTION_RULE,
    DEPLOYMENT_IDENTIFIER_RULE, DEPLOYMENT_NAME_RULE, IDEMPOTENCY_TOKEN_RULE, SortOrder,
    Violations, max_results, next_token, parse_object, path_label, required_string,
    single_violation, sort_order, string, tags, timestamp,
};
use crate::deployment::DeploymentStatus;
use crate::error::ApiError;
use crate::types::Tag;

/// A validated CreateCustomModelDeployment request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CreateDeploymentInput {
    pub model_deployment_name: String,
    pub model_arn: String,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
    pub client_request_token: Option<String>,
}

/// The parameters an idempotent replay must repeat (everything but the token; tag order is
/// irrelevant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CreateDeploymentFingerprint {
    model_deployment_name: String,
    model_arn: String,
    description: Option<String>,
    tags: Vec<Tag>,
}

impl CreateDeploymentInput {
    pub fn fingerprint(&self) -> CreateDeploymentFingerprint {
        let mut tags = self.tags.clone();
        tags.sort();
        CreateDeploymentFingerprint {
            model_deployment_name: self.model_deployment_name.clone(),
            model_arn: self.model_arn.clone(),
            description: self.description.clone(),
            tags,
        }
    }
}

pub(crate) fn parse_create_deployment(body: &[u8]) -> Result<CreateDeploymentInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let name = required_string(
        &root,
        "modelDeploymentName",
        "modelDeploymentName",
        &mut violations,
    );
    if let Some(name) = name {
        violations.check("modelDeploymentName", name, &DEPLOYMENT_NAME_RULE);
    }
    let model_arn = required_string(&root, "modelArn", "modelArn", &mut violations);
    if let Some(arn) = model_arn {
        violations.check("modelArn", arn, &CUSTOM_MODEL_ARN_RULE);
    }
    let description = string(&root, "description", "description", &mut violations);
    if let Some(description) = description {
        violations.check("description", description, &DEPLOYMENT_DESCRIPTION_RULE);
    }
    let tags = tags(&root, "tags", false, &mut violations);
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
    let (Some(name), Some(model_arn)) = (name, model_arn) else {
        return Err(single_violation(
            "modelDeploymentName",
            None,
            "Member must not be null",
        ));
    };
    Ok(CreateDeploymentInput {
        model_deployment_name: name.to_owned(),
        model_arn: model_arn.to_owned(),
        description: description.map(str::to_owned),
        tags,
        client_request_token: token.map(str::to_owned),
    })
}

/// Percent-decodes and validates a `{customModelDeploymentIdentifier}` path label.
pub(crate) fn parse_deployment_identifier(raw: &str) -> Result<String, ApiError> {
    path_label(
        raw,
        "customModelDeploymentIdentifier",
        &DEPLOYMENT_IDENTIFIER_RULE,
    )
}

/// A validated UpdateCustomModelDeployment body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UpdateDeploymentInput {
    pub model_arn: String,
}

pub(crate) fn parse_update_deployment(body: &[u8]) -> Result<UpdateDeploymentInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let model_arn = required_string(&root, "modelArn", "modelArn", &mut violations);
    if let Some(arn) = model_arn {
        violations.check("modelArn", arn, &CUSTOM_MODEL_ARN_RULE);
    }
    violations.into_result()?;
    let model_arn =
        model_arn.ok_or_else(|| single_violation("modelArn", None, "Member must not be null"))?;
    Ok(UpdateDeploymentInput {
        model_arn: model_arn.to_owned(),
    })
}

/// The validated query of ListCustomModelDeployments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListDeploymentsInput {
    pub created_before: Option<DateTime<Utc>>,
    pub created_after: Option<DateTime<Utc>>,
    pub name_contains: Option<String>,
    pub model_arn_equals: Option<String>,
    pub status_equals: Option<DeploymentStatus>,
    pub max_results: usize,
    pub next_token: Option<String>,
    pub sort_order: SortOrder,
}

pub(crate) fn parse_list_deployments(
    query: Option<&str>,
) -> Result<ListDeploymentsInput, ApiError> {
    let mut input = ListDeploymentsInput {
        created_before: None,
        created_after: None,
        name_contains: None,
        model_arn_equals: None,
        status_equals: None,
        max_results: DEFAULT_MAX_RESULTS,
        next_token: None,
        sort_order: SortOrder::Descending,
    };
    let mut violations = Violations::default();
    // Unknown parameters are ignored, as AWS does; a repeated one keeps its last value.
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = value.as_ref();
        match name.as_ref() {
            "createdBefore" => input.created_before = timestamp(&name, value, &mut violations),
            "createdAfter" => input.created_after = timestamp(&name, value, &mut violations),
            "nameContains" => {
                violations.check("nameContains", value, &DEPLOYMENT_NAME_RULE);
                input.name_contains = Some(value.to_owned());
            }
            "modelArnEquals" => {
                violations.check("modelArnEquals", value, &CUSTOM_MODEL_ARN_RULE);
                input.model_arn_equals = Some(value.to_owned());
            }
            "statusEquals"
                if violations.check_enum(
                    "statusEquals",
                    value,
                    &["Creating", "Active", "Failed"],
                ) =>
            {
                input.status_equals = match value {
                    "Creating" => Some(DeploymentStatus::Creating),
                    "Active" => Some(DeploymentStatus::Active),
                    _ => Some(DeploymentStatus::Failed),
                };
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
            _ => {}
        }
    }
    violations.into_result().map(|()| input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message<T: std::fmt::Debug>(result: Result<T, ApiError>) -> String {
        match result {
            Ok(value) => panic!("expected a validation error, got {value:?}"),
            Err(error) => {
                assert_eq!(error.code(), "ValidationException");
                error.message().to_owned()
            }
        }
    }

    const MODEL: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefghij12";

    #[test]
    fn create_names_each_offending_member() {
        let text = message(parse_create_deployment(br#"{"modelArn":"arn:aws:nope"}"#));
        assert!(
            text.starts_with("3 validation errors detected:")
                && text.contains("at 'modelDeploymentName' failed to satisfy constraint: Member must not be null")
                && text.contains("at 'modelArn' failed to satisfy constraint: Member must satisfy regular expression pattern"),
            "{text}"
        );
        let body =
            format!(r#"{{"modelDeploymentName":"d","modelArn":"{MODEL}","description":""}}"#);
        let text = message(parse_create_deployment(body.as_bytes()));
        assert!(text.contains("at 'description'"), "{text}");
        let body = format!(
            r#"{{"modelDeploymentName":"d","modelArn":"{MODEL}","tags":[{{"key":"aws:x","value":"v"}}]}}"#
        );
        let text = message(parse_create_deployment(body.as_bytes()));
        assert!(text.contains("'tags.1.member.key'"), "{text}");
    }

    #[test]
    fn create_accepts_a_complete_request() {
        let body = format!(
            r#"{{"modelDeploymentName":"d-1","modelArn":"{MODEL}","description":"serves v3","tags":[{{"key":"k","value":"v"}}],"clientRequestToken":"t-1"}}"#
        );
        let input = parse_create_deployment(body.as_bytes()).ok();
        assert_eq!(
            input.map(|input| (input.model_deployment_name, input.description, input.tags)),
            Some((
                "d-1".to_owned(),
                Some("serves v3".to_owned()),
                vec![Tag::new("k", "v")]
            ))
        );
    }

    #[test]
    fn identifiers_are_names_or_deployment_arns() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefghij12";
        let encoded = arn.replace(':', "%3A").replace('/', "%2F");
        assert_eq!(
            parse_deployment_identifier(&encoded).ok().as_deref(),
            Some(arn)
        );
        assert!(parse_deployment_identifier("my-deployment").is_ok());
        // A model ARN is no deployment identifier.
        let model = MODEL.replace(':', "%3A").replace('/', "%2F");
        assert!(parse_deployment_identifier(&model).is_err());
    }

    #[test]
    fn list_query_checks_each_parameter() {
        let input = parse_list_deployments(Some(
            "maxResults=5&sortOrder=Ascending&statusEquals=Failed&createdAfter=2026-01-01T00%3A00%3A00Z",
        ))
        .ok();
        assert_eq!(input.as_ref().map(|input| input.max_results), Some(5));
        assert_eq!(
            input.as_ref().and_then(|input| input.status_equals),
            Some(DeploymentStatus::Failed)
        );
        for (query, member) in [
            ("maxResults=0", "maxResults"),
            ("sortOrder=Sideways", "sortOrder"),
            ("sortBy=Name", "sortBy"),
            ("statusEquals=Updating", "statusEquals"),
            ("nameContains=a%20b", "nameContains"),
            ("createdBefore=yesterday", "createdBefore"),
            ("modelArnEquals=arn", "modelArnEquals"),
            ("nextToken=a%20b", "nextToken"),
        ] {
            let text = message(parse_list_deployments(Some(query)));
            assert!(text.contains(&format!("at '{member}'")), "{query}: {text}");
        }
    }
}
