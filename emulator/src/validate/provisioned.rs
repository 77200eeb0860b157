//! The Provisioned Throughput operations' input, checked against the service model like the
//! other operations' (same messages, same member paths).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{
    DEFAULT_MAX_RESULTS, IDEMPOTENCY_TOKEN_RULE, MODEL_ARN_RULE, MODEL_IDENTIFIER_RULE,
    PROVISIONED_MODEL_ID_RULE, PROVISIONED_MODEL_NAME_RULE, SortOrder, Violations, describe,
    max_results, next_token, parse_object, path_label, required_string, single_violation,
    sort_order, string, tags, timestamp,
};
use crate::error::ApiError;
use crate::provisioned::{CommitmentDuration, ProvisionedStatus};
use crate::types::Tag;

/// A validated CreateProvisionedModelThroughput request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CreateProvisionedInput {
    pub provisioned_model_name: String,
    pub model_units: i32,
    /// As given: a custom model's name or ARN, or a foundation model's ID or ARN.
    pub model_id: String,
    pub commitment_duration: Option<CommitmentDuration>,
    pub tags: Vec<Tag>,
    pub client_request_token: Option<String>,
}

/// The parameters an idempotent replay must repeat (everything but the token; tag order is
/// irrelevant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CreateProvisionedFingerprint {
    provisioned_model_name: String,
    model_units: i32,
    model_id: String,
    commitment_duration: Option<CommitmentDuration>,
    tags: Vec<Tag>,
}

impl CreateProvisionedInput {
    pub fn fingerprint(&self) -> CreateProvisionedFingerprint {
        let mut tags = self.tags.clone();
        tags.sort();
        CreateProvisionedFingerprint {
            provisioned_model_name: self.provisioned_model_name.clone(),
            model_units: self.model_units,
            model_id: self.model_id.clone(),
            commitment_duration: self.commitment_duration,
            tags,
        }
    }
}

/// Reads a required `PositiveInteger` member (1..=2^31-1, a JSON integer).
fn positive_integer(
    object: &Map<String, Value>,
    key: &str,
    violations: &mut Violations,
) -> Option<i32> {
    match object.get(key) {
        None | Some(Value::Null) => {
            violations.null(key);
            None
        }
        Some(Value::Number(number)) => match number.as_i64() {
            Some(value) if value < 1 => {
                violations.push(
                    key,
                    Some(&value.to_string()),
                    "Member must have value greater than or equal to 1",
                );
                None
            }
            Some(value) => match i32::try_from(value) {
                Ok(value) => Some(value),
                Err(_) => {
                    violations.push(
                        key,
                        Some(&value.to_string()),
                        "Member must have value less than or equal to 2147483647",
                    );
                    None
                }
            },
            None => {
                violations.push(key, Some(&number.to_string()), "Member must be an integer");
                None
            }
        },
        Some(other) => {
            violations.push(key, Some(&describe(other)), "Member must be an integer");
            None
        }
    }
}

fn commitment(value: &str, violations: &mut Violations) -> Option<CommitmentDuration> {
    let names = CommitmentDuration::ALL.map(CommitmentDuration::as_str);
    violations
        .check_enum("commitmentDuration", value, &names)
        .then(|| {
            CommitmentDuration::ALL
                .into_iter()
                .find(|term| term.as_str() == value)
        })
        .flatten()
}

pub(crate) fn parse_create_provisioned(body: &[u8]) -> Result<CreateProvisionedInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let token = string(
        &root,
        "clientRequestToken",
        "clientRequestToken",
        &mut violations,
    );
    if let Some(token) = token {
        violations.check("clientRequestToken", token, &IDEMPOTENCY_TOKEN_RULE);
    }
    let model_units = positive_integer(&root, "modelUnits", &mut violations);
    let name = required_string(
        &root,
        "provisionedModelName",
        "provisionedModelName",
        &mut violations,
    );
    if let Some(name) = name {
        violations.check("provisionedModelName", name, &PROVISIONED_MODEL_NAME_RULE);
    }
    let model_id = required_string(&root, "modelId", "modelId", &mut violations);
    if let Some(model_id) = model_id {
        violations.check("modelId", model_id, &MODEL_IDENTIFIER_RULE);
    }
    let commitment_duration = string(
        &root,
        "commitmentDuration",
        "commitmentDuration",
        &mut violations,
    )
    .and_then(|value| commitment(value, &mut violations));
    let tags = tags(&root, "tags", false, &mut violations);
    violations.into_result()?;
    let (Some(name), Some(model_units), Some(model_id)) = (name, model_units, model_id) else {
        return Err(single_violation(
            "provisionedModelName",
            None,
            "Member must not be null",
        ));
    };
    Ok(CreateProvisionedInput {
        provisioned_model_name: name.to_owned(),
        model_units,
        model_id: model_id.to_owned(),
        commitment_duration,
        tags,
        client_request_token: token.map(str::to_owned),
    })
}

/// Percent-decodes and validates a `{provisionedModelId}` path label.
pub(crate) fn parse_provisioned_identifier(raw: &str) -> Result<String, ApiError> {
    path_label(raw, "provisionedModelId", &PROVISIONED_MODEL_ID_RULE)
}

/// A validated UpdateProvisionedModelThroughput body: either member may be absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UpdateProvisionedInput {
    pub desired_provisioned_model_name: Option<String>,
    pub desired_model_id: Option<String>,
}

pub(crate) fn parse_update_provisioned(body: &[u8]) -> Result<UpdateProvisionedInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let name = string(
        &root,
        "desiredProvisionedModelName",
        "desiredProvisionedModelName",
        &mut violations,
    );
    if let Some(name) = name {
        violations.check(
            "desiredProvisionedModelName",
            name,
            &PROVISIONED_MODEL_NAME_RULE,
        );
    }
    let model_id = string(&root, "desiredModelId", "desiredModelId", &mut violations);
    if let Some(model_id) = model_id {
        violations.check("desiredModelId", model_id, &MODEL_IDENTIFIER_RULE);
    }
    violations.into_result()?;
    Ok(UpdateProvisionedInput {
        desired_provisioned_model_name: name.map(str::to_owned),
        desired_model_id: model_id.map(str::to_owned),
    })
}

/// The validated query of ListProvisionedModelThroughputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListProvisionedInput {
    pub creation_time_after: Option<DateTime<Utc>>,
    pub creation_time_before: Option<DateTime<Utc>>,
    pub status_equals: Option<ProvisionedStatus>,
    pub model_arn_equals: Option<String>,
    pub name_contains: Option<String>,
    pub max_results: usize,
    pub next_token: Option<String>,
    pub sort_order: SortOrder,
}

pub(crate) fn parse_list_provisioned(
    query: Option<&str>,
) -> Result<ListProvisionedInput, ApiError> {
    let mut input = ListProvisionedInput {
        creation_time_after: None,
        creation_time_before: None,
        status_equals: None,
        model_arn_equals: None,
        name_contains: None,
        max_results: DEFAULT_MAX_RESULTS,
        next_token: None,
        sort_order: SortOrder::Descending,
    };
    let statuses = ProvisionedStatus::ALL.map(ProvisionedStatus::as_str);
    let mut violations = Violations::default();
    // Unknown parameters are ignored, as AWS does; a repeated one keeps its last value.
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = value.as_ref();
        match name.as_ref() {
            "creationTimeAfter" => {
                input.creation_time_after = timestamp(&name, value, &mut violations)
            }
            "creationTimeBefore" => {
                input.creation_time_before = timestamp(&name, value, &mut violations)
            }
            "statusEquals" if violations.check_enum("statusEquals", value, &statuses) => {
                input.status_equals = ProvisionedStatus::ALL
                    .into_iter()
                    .find(|status| status.as_str() == value);
            }
            "modelArnEquals" => {
                violations.check("modelArnEquals", value, &MODEL_ARN_RULE);
                input.model_arn_equals = Some(value.to_owned());
            }
            "nameContains" => {
                violations.check("nameContains", value, &PROVISIONED_MODEL_NAME_RULE);
                input.name_contains = Some(value.to_owned());
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

    #[test]
    fn create_names_each_offending_member() {
        let text = message(parse_create_provisioned(
            br#"{"modelUnits":0,"provisionedModelName":"bad name","commitmentDuration":"OneYear"}"#,
        ));
        assert!(
            text.starts_with("4 validation errors detected:")
                && text.contains("Value '0' at 'modelUnits' failed to satisfy constraint: Member must have value greater than or equal to 1")
                && text.contains("Value 'bad name' at 'provisionedModelName'")
                && text.contains("at 'modelId' failed to satisfy constraint: Member must not be null")
                && text.contains("Value 'OneYear' at 'commitmentDuration' failed to satisfy constraint: Member must satisfy enum value set: [OneMonth, SixMonths]"),
            "{text}"
        );
        let text = message(parse_create_provisioned(
            br#"{"modelUnits":"1","provisionedModelName":"p","modelId":"m"}"#,
        ));
        assert!(
            text.contains(
                "at 'modelUnits' failed to satisfy constraint: Member must be an integer"
            ),
            "{text}"
        );
        let text = message(parse_create_provisioned(
            br#"{"modelUnits":1.5,"provisionedModelName":"p","modelId":"has space"}"#,
        ));
        assert!(
            text.contains("'modelUnits'") && text.contains("'modelId'"),
            "{text}"
        );
    }

    #[test]
    fn create_accepts_a_complete_request() {
        let input = parse_create_provisioned(
            br#"{"modelUnits":2,"provisionedModelName":"pt-1","modelId":"amazon.nova-lite-v1:0","commitmentDuration":"SixMonths","tags":[{"key":"k","value":"v"}],"clientRequestToken":"t-1"}"#,
        )
        .ok();
        assert_eq!(
            input.map(|input| (input.model_units, input.commitment_duration, input.tags)),
            Some((
                2,
                Some(CommitmentDuration::SixMonths),
                vec![Tag::new("k", "v")]
            ))
        );
    }

    #[test]
    fn identifiers_are_names_or_provisioned_model_arns() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghij12";
        let encoded = arn.replace(':', "%3A").replace('/', "%2F");
        assert_eq!(
            parse_provisioned_identifier(&encoded).ok().as_deref(),
            Some(arn)
        );
        assert!(parse_provisioned_identifier("my-throughput").is_ok());
        let deployment = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Acustom-model-deployment%2Fabcdefghij12";
        assert!(parse_provisioned_identifier(deployment).is_err());
    }

    #[test]
    fn update_members_are_both_optional() {
        assert_eq!(
            parse_update_provisioned(b"{}").ok(),
            Some(UpdateProvisionedInput {
                desired_provisioned_model_name: None,
                desired_model_id: None,
            })
        );
        let text = message(parse_update_provisioned(
            br#"{"desiredProvisionedModelName":"a b","desiredModelId":""}"#,
        ));
        assert!(
            text.contains("'desiredProvisionedModelName'") && text.contains("'desiredModelId'"),
            "{text}"
        );
    }

    #[test]
    fn list_query_checks_each_parameter() {
        let input = parse_list_provisioned(Some(
            "maxResults=5&sortOrder=Ascending&statusEquals=InService&creationTimeAfter=2026-01-01T00%3A00%3A00Z",
        ))
        .ok();
        assert_eq!(input.as_ref().map(|input| input.max_results), Some(5));
        assert_eq!(
            input.as_ref().and_then(|input| input.status_equals),
            Some(ProvisionedStatus::InService)
        );
        for (query, member) in [
            ("maxResults=0", "maxResults"),
            ("sortOrder=Sideways", "sortOrder"),
            ("sortBy=Name", "sortBy"),
            ("statusEquals=Active", "statusEquals"),
            ("nameContains=a%20b", "nameContains"),
            ("creationTimeBefore=yesterday", "creationTimeBefore"),
            ("modelArnEquals=arn", "modelArnEquals"),
            ("nextToken=a%20b", "nextToken"),
        ] {
            let text = message(parse_list_provisioned(Some(query)));
            assert!(text.contains(&format!("at '{member}'")), "{query}: {text}");
        }
    }
}
