//! The model import operations' input (CreateModelImportJob, the job and imported-model
//! identifiers, and the two lists), checked against the service model like the other
//! operations' (same messages, same member paths).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{
    DEFAULT_MAX_RESULTS, IDEMPOTENCY_TOKEN_RULE, IMPORT_JOB_IDENTIFIER_RULE,
    IMPORTED_MODEL_IDENTIFIER_RULE, IMPORTED_MODEL_NAME_RULE, JOB_NAME_RULE, KMS_KEY_ID_RULE,
    ROLE_ARN_RULE, S3_URI_RULE, SortOrder, VPC_ID_RULE, Violations, describe, list, max_results,
    next_token, parse_object, path_label, required_string, single_violation, sort_order, string,
    structure, tags, timestamp, union,
};
use crate::error::ApiError;
use crate::import::ImportJobStatus;
use crate::types::Tag;

/// The VPC an import job runs in (`VpcConfig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VpcConfig {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// A validated CreateModelImportJob request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CreateImportJobInput {
    pub job_name: String,
    pub imported_model_name: String,
    pub role_arn: String,
    /// `modelDataSource.s3DataSource.s3Uri`, the union's one member.
    pub s3_uri: String,
    pub job_tags: Vec<Tag>,
    pub imported_model_tags: Vec<Tag>,
    pub client_request_token: Option<String>,
    pub vpc_config: Option<VpcConfig>,
    /// As given: a key ARN, a key ID, an alias name or an alias ARN.
    pub imported_model_kms_key_id: Option<String>,
}

/// The parameters an idempotent replay must repeat (everything but the token; tag order is
/// irrelevant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CreateImportJobFingerprint {
    job_name: String,
    imported_model_name: String,
    role_arn: String,
    s3_uri: String,
    job_tags: Vec<Tag>,
    imported_model_tags: Vec<Tag>,
    vpc_config: Option<VpcConfig>,
    imported_model_kms_key_id: Option<String>,
}

impl CreateImportJobInput {
    pub fn fingerprint(&self) -> CreateImportJobFingerprint {
        let sorted = |tags: &[Tag]| {
            let mut tags = tags.to_vec();
            tags.sort();
            tags
        };
        CreateImportJobFingerprint {
            job_name: self.job_name.clone(),
            imported_model_name: self.imported_model_name.clone(),
            role_arn: self.role_arn.clone(),
            s3_uri: self.s3_uri.clone(),
            job_tags: sorted(&self.job_tags),
            imported_model_tags: sorted(&self.imported_model_tags),
            vpc_config: self.vpc_config.clone(),
            imported_model_kms_key_id: self.imported_model_kms_key_id.clone(),
        }
    }
}

/// Reads a required list of VPC IDs (`SubnetIds` 1..=16, `SecurityGroupIds` 1..=5).
fn vpc_ids(
    vpc: &Map<String, Value>,
    key: &str,
    max: usize,
    violations: &mut Violations,
) -> Vec<String> {
    let path = format!("vpcConfig.{key}");
    let Some(items) = list(vpc, key, &path, violations) else {
        if matches!(vpc.get(key), None | Some(Value::Null)) {
            violations.null(&path);
        }
        return Vec::new();
    };
    if items.is_empty() {
        violations.push(
            &path,
            Some("[]"),
            "Member must have length greater than or equal to 1",
        );
    }
    if items.len() > max {
        violations.push(
            &path,
            Some(&format!("[{} items]", items.len())),
            &format!("Member must have length less than or equal to {max}"),
        );
    }
    let mut ids = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let member = format!("{path}.{}.member", index + 1);
        match item {
            Value::String(id) => {
                violations.check(&member, id, &VPC_ID_RULE);
                ids.push(id.clone());
            }
            Value::Null => violations.null(&member),
            other => violations.push(&member, Some(&describe(other)), "Member must be a string"),
        }
    }
    ids
}

fn vpc_config(root: &Map<String, Value>, violations: &mut Violations) -> Option<VpcConfig> {
    let vpc = structure(root, "vpcConfig", "vpcConfig", violations)?;
    let subnet_ids = vpc_ids(vpc, "subnetIds", 16, violations);
    let security_group_ids = vpc_ids(vpc, "securityGroupIds", 5, violations);
    Some(VpcConfig {
        subnet_ids,
        security_group_ids,
    })
}

pub(crate) fn parse_create_import_job(body: &[u8]) -> Result<CreateImportJobInput, ApiError> {
    let root = parse_object(body)?;
    let mut violations = Violations::default();
    let job_name = required_string(&root, "jobName", "jobName", &mut violations);
    if let Some(name) = job_name {
        violations.check("jobName", name, &JOB_NAME_RULE);
    }
    let model_name = required_string(
        &root,
        "importedModelName",
        "importedModelName",
        &mut violations,
    );
    if let Some(name) = model_name {
        violations.check("importedModelName", name, &IMPORTED_MODEL_NAME_RULE);
    }
    let role_arn = required_string(&root, "roleArn", "roleArn", &mut violations);
    if let Some(role) = role_arn {
        violations.check("roleArn", role, &ROLE_ARN_RULE);
    }
    let mut s3_uri = None;
    match structure(&root, "modelDataSource", "modelDataSource", &mut violations) {
        None => {
            if matches!(root.get("modelDataSource"), None | Some(Value::Null)) {
                violations.null("modelDataSource");
            }
        }
        Some(source) => {
            if let Some((_, s3)) = union(
                source,
                &["s3DataSource"],
                "modelDataSource",
                &mut violations,
            ) {
                let path = "modelDataSource.s3DataSource.s3Uri";
                s3_uri = required_string(s3, "s3Uri", path, &mut violations);
                if let Some(uri) = s3_uri {
                    violations.check(path, uri, &S3_URI_RULE);
                }
            }
        }
    }
    let job_tags = tags(&root, "jobTags", false, &mut violations);
    let imported_model_tags = tags(&root, "importedModelTags", false, &mut violations);
    let token = string(
        &root,
        "clientRequestToken",
        "clientRequestToken",
        &mut violations,
    );
    if let Some(token) = token {
        violations.check("clientRequestToken", token, &IDEMPOTENCY_TOKEN_RULE);
    }
    let vpc_config = vpc_config(&root, &mut violations);
    let kms_key_id = string(
        &root,
        "importedModelKmsKeyId",
        "importedModelKmsKeyId",
        &mut violations,
    );
    if let Some(key) = kms_key_id {
        violations.check("importedModelKmsKeyId", key, &KMS_KEY_ID_RULE);
    }
    violations.into_result()?;
    let (Some(job_name), Some(model_name), Some(role_arn), Some(s3_uri)) =
        (job_name, model_name, role_arn, s3_uri)
    else {
        return Err(single_violation("jobName", None, "Member must not be null"));
    };
    Ok(CreateImportJobInput {
        job_name: job_name.to_owned(),
        imported_model_name: model_name.to_owned(),
        role_arn: role_arn.to_owned(),
        s3_uri: s3_uri.to_owned(),
        job_tags,
        imported_model_tags,
        client_request_token: token.map(str::to_owned),
        vpc_config,
        imported_model_kms_key_id: kms_key_id.map(str::to_owned),
    })
}

/// Percent-decodes and validates a `{jobIdentifier}` path label.
pub(crate) fn parse_import_job_identifier(raw: &str) -> Result<String, ApiError> {
    path_label(raw, "jobIdentifier", &IMPORT_JOB_IDENTIFIER_RULE)
}

/// Percent-decodes and validates an imported model's `{modelIdentifier}` path label.
pub(crate) fn parse_imported_model_identifier(raw: &str) -> Result<String, ApiError> {
    path_label(raw, "modelIdentifier", &IMPORTED_MODEL_IDENTIFIER_RULE)
}

/// The validated query of ListModelImportJobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListImportJobsInput {
    pub creation_time_after: Option<DateTime<Utc>>,
    pub creation_time_before: Option<DateTime<Utc>>,
    pub status_equals: Option<ImportJobStatus>,
    pub name_contains: Option<String>,
    pub max_results: usize,
    pub next_token: Option<String>,
    pub sort_order: SortOrder,
}

/// The validated query of ListImportedModels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListImportedModelsInput {
    pub creation_time_after: Option<DateTime<Utc>>,
    pub creation_time_before: Option<DateTime<Utc>>,
    pub name_contains: Option<String>,
    pub max_results: usize,
    pub next_token: Option<String>,
    pub sort_order: SortOrder,
}

/// The members both lists share; `true` when `name` was one of them.
fn common_list_member(
    name: &str,
    value: &str,
    input: &mut ListImportedModelsInput,
    violations: &mut Violations,
) -> bool {
    match name {
        "creationTimeAfter" => input.creation_time_after = timestamp(name, value, violations),
        "creationTimeBefore" => input.creation_time_before = timestamp(name, value, violations),
        "maxResults" => {
            if let Some(count) = max_results(value, violations) {
                input.max_results = count;
            }
        }
        "nextToken" => input.next_token = next_token(value, violations),
        "sortBy" => {
            violations.check_enum("sortBy", value, &["CreationTime"]);
        }
        "sortOrder" => {
            if let Some(order) = sort_order(value, violations) {
                input.sort_order = order;
            }
        }
        _ => return false,
    }
    true
}

fn empty_list_input() -> ListImportedModelsInput {
    ListImportedModelsInput {
        creation_time_after: None,
        creation_time_before: None,
        name_contains: None,
        max_results: DEFAULT_MAX_RESULTS,
        next_token: None,
        sort_order: SortOrder::Descending,
    }
}

pub(crate) fn parse_list_imported_models(
    query: Option<&str>,
) -> Result<ListImportedModelsInput, ApiError> {
    let mut input = empty_list_input();
    let mut violations = Violations::default();
    // Unknown parameters are ignored, as AWS does; a repeated one keeps its last value.
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if common_list_member(&name, &value, &mut input, &mut violations) {
            continue;
        }
        if name == "nameContains" {
            violations.check("nameContains", &value, &IMPORTED_MODEL_NAME_RULE);
            input.name_contains = Some(value.into_owned());
        }
    }
    violations.into_result().map(|()| input)
}

pub(crate) fn parse_list_import_jobs(query: Option<&str>) -> Result<ListImportJobsInput, ApiError> {
    let mut common = empty_list_input();
    let mut status_equals = None;
    let statuses = ImportJobStatus::ALL.map(ImportJobStatus::as_str);
    let mut violations = Violations::default();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if common_list_member(&name, &value, &mut common, &mut violations) {
            continue;
        }
        match name.as_ref() {
            "nameContains" => {
                violations.check("nameContains", &value, &JOB_NAME_RULE);
                common.name_contains = Some(value.into_owned());
            }
            "statusEquals" if violations.check_enum("statusEquals", &value, &statuses) => {
                status_equals = ImportJobStatus::ALL
                    .into_iter()
                    .find(|status| status.as_str() == value);
            }
            _ => {}
        }
    }
    violations.into_result()?;
    Ok(ListImportJobsInput {
        creation_time_after: common.creation_time_after,
        creation_time_before: common.creation_time_before,
        status_equals,
        name_contains: common.name_contains,
        max_results: common.max_results,
        next_token: common.next_token,
        sort_order: common.sort_order,
    })
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

    const VALID: &str = r#"{"jobName":"import.job-1","importedModelName":"llama_1","roleArn":"arn:aws:iam::123456789012:role/r","modelDataSource":{"s3DataSource":{"s3Uri":"s3://bucket/llama/"}}}"#;

    #[test]
    fn create_accepts_the_required_members() {
        let input = parse_create_import_job(VALID.as_bytes());
        assert!(input.is_ok_and(|input| input.job_name == "import.job-1"
            && input.s3_uri == "s3://bucket/llama/"
            && input.vpc_config.is_none()));
    }

    #[test]
    fn create_names_each_missing_member() {
        let text = message(parse_create_import_job(b"{}"));
        assert!(
            text.starts_with("4 validation errors detected:")
                && text.contains(
                    "Value null at 'jobName' failed to satisfy constraint: Member must not be null"
                )
                && text.contains("Value null at 'importedModelName'")
                && text.contains("Value null at 'roleArn'")
                && text.contains("Value null at 'modelDataSource'"),
            "{text}"
        );
    }

    #[test]
    fn create_checks_patterns_and_nested_members() {
        let text = message(parse_create_import_job(
            br#"{"jobName":"-bad","importedModelName":"bad name","roleArn":"arn:aws:iam::123456789012:user/u","modelDataSource":{"s3DataSource":{"s3Uri":"http://x"}},"vpcConfig":{"subnetIds":[],"securityGroupIds":["sg 1"]},"importedModelKmsKeyId":"not a key"}"#,
        ));
        assert!(
            text.starts_with("7 validation errors detected:")
                && text.contains("Value '-bad' at 'jobName'")
                && text.contains("Value 'bad name' at 'importedModelName'")
                && text.contains("at 'roleArn'")
                && text.contains("at 'modelDataSource.s3DataSource.s3Uri'")
                && text.contains("Value '[]' at 'vpcConfig.subnetIds' failed to satisfy constraint: Member must have length greater than or equal to 1")
                && text.contains("Value 'sg 1' at 'vpcConfig.securityGroupIds.1.member'")
                && text.contains("at 'importedModelKmsKeyId'"),
            "{text}"
        );
    }

    #[test]
    fn kms_key_id_takes_arns_ids_and_aliases() {
        for key in [
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/my_key-1",
            "arn:aws:kms:us-east-1:123456789012:alias/my/key",
        ] {
            assert!((KMS_KEY_ID_RULE.matches)(key), "{key}");
        }
        assert!(!(KMS_KEY_ID_RULE.matches)("key/short"));
    }

    #[test]
    fn identifiers_take_an_arn_or_a_name() {
        assert!(
            parse_import_job_identifier(
                "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Amodel-import-job%2Fabcdefghij12"
            )
            .is_ok_and(|id| id.ends_with("model-import-job/abcdefghij12"))
        );
        assert!(parse_import_job_identifier("job.v1+x").is_ok());
        assert!(parse_import_job_identifier("bad_name").is_err());
        assert!(parse_imported_model_identifier("my_model-1").is_ok());
        assert!(parse_imported_model_identifier("my.model").is_err());
        assert!(
            parse_imported_model_identifier(
                "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefghij12"
            )
            .is_err()
        );
    }

    #[test]
    fn list_queries_check_each_member() {
        let text = message(parse_list_import_jobs(Some(
            "statusEquals=Done&maxResults=0&sortBy=Name&nameContains=a_b",
        )));
        assert!(
            text.starts_with("4 validation errors detected:")
                && text.contains(
                    "Member must satisfy enum value set: [InProgress, Completed, Failed]"
                ),
            "{text}"
        );
        let input = parse_list_import_jobs(Some("statusEquals=Completed&sortOrder=Ascending"));
        assert!(input.is_ok_and(
            |input| input.status_equals == Some(ImportJobStatus::Completed)
                && input.sort_order == SortOrder::Ascending
        ));
        let text = message(parse_list_imported_models(Some("nameContains=a.b")));
        assert!(text.contains("at 'nameContains'"), "{text}");
        assert!(parse_list_imported_models(Some("statusEquals=whatever")).is_ok());
    }
}
