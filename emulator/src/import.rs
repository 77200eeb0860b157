//! Model imports (open-weight models brought in from S3): the public data types the in-process
//! accessors use for import jobs and imported models, and the wire shapes of the Bedrock answers
//! about them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{Tag, rfc3339_millis, rfc3339_millis_opt};

/// A model import job's status, as Bedrock reports it (`ModelImportJobStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImportJobStatus {
    InProgress,
    Completed,
    Failed,
}

impl ImportJobStatus {
    pub const ALL: [ImportJobStatus; 3] = [
        ImportJobStatus::InProgress,
        ImportJobStatus::Completed,
        ImportJobStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportJobStatus::InProgress => "InProgress",
            ImportJobStatus::Completed => "Completed",
            ImportJobStatus::Failed => "Failed",
        }
    }
}

/// Everything the emulator knows about one model import job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportJobRecord {
    pub job_arn: String,
    pub job_name: String,
    pub imported_model_name: String,
    /// Set once the job completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_model_arn: Option<String>,
    pub status: ImportJobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    pub role_arn: String,
    pub s3_uri: String,
    #[serde(with = "rfc3339_millis")]
    pub creation_time: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub last_modified_time: DateTime<Utc>,
    /// When the job ended (Completed or Failed); when it will, while InProgress.
    #[serde(
        default,
        with = "rfc3339_millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub imported_model_tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
}

/// Everything the emulator knows about one imported model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedModelRecord {
    pub model_arn: String,
    pub model_name: String,
    pub job_arn: String,
    pub job_name: String,
    pub s3_uri: String,
    #[serde(with = "rfc3339_millis")]
    pub creation_time: DateTime<Utc>,
    pub model_architecture: String,
    pub instruct_supported: bool,
    pub custom_model_units_per_model_copy: i32,
    pub custom_model_units_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_kms_key_arn: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The ConflictException message DeleteImportedModel answers with, while scripted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_conflict: Option<String>,
}

/// One job CreateModelImportJob actually created (idempotent replays add nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportJobCreateLogEntry {
    pub job_name: String,
    pub job_arn: String,
    pub imported_model_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub time: DateTime<Utc>,
}

/// A scripted failure: the next `count` import jobs, or those of one job name, end Failed
/// (with no imported model) once their delay is over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportJobFailure {
    /// Only this job (by name); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// How many jobs fail; 1 when absent.
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

fn one() -> u32 {
    1
}

impl ImportJobFailure {
    /// The next import job (of any name) fails with `message`.
    pub fn next_job(message: impl Into<String>) -> Self {
        ImportJobFailure {
            job_name: None,
            count: 1,
            failure_message: Some(message.into()),
        }
    }

    /// Only the job named `name`.
    pub fn for_job(mut self, name: impl Into<String>) -> Self {
        self.job_name = Some(name.into());
        self
    }
}

/// The delay of import jobs created from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportDelays {
    /// Milliseconds a new import job stays InProgress.
    pub job_ms: u64,
}

// The wire shapes of the Bedrock answers about model imports.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateModelImportJobOutput {
    pub job_arn: String,
}

/// `ModelDataSource`, a union with one member.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelDataSourceOutput {
    pub s3_data_source: S3DataSourceOutput,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct S3DataSourceOutput {
    pub s3_uri: String,
}

impl ModelDataSourceOutput {
    pub fn s3(uri: &str) -> Self {
        ModelDataSourceOutput {
            s3_data_source: S3DataSourceOutput {
                s3_uri: uri.to_owned(),
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VpcConfigOutput {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetModelImportJobOutput {
    pub job_arn: String,
    pub job_name: String,
    pub imported_model_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_model_arn: Option<String>,
    pub role_arn: String,
    pub model_data_source: ModelDataSourceOutput,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    pub creation_time: String,
    pub last_modified_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfigOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_model_kms_key_arn: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListModelImportJobsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub model_import_job_summaries: Vec<ModelImportJobSummary>,
}

/// The list summary: no role, source or failure message.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModelImportJobSummary {
    pub job_arn: String,
    pub job_name: String,
    pub status: &'static str,
    pub last_modified_time: String,
    pub creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_model_arn: Option<String>,
    pub imported_model_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomModelUnitsOutput {
    pub custom_model_units_per_model_copy: i32,
    pub custom_model_units_version: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetImportedModelOutput {
    pub model_arn: String,
    pub model_name: String,
    pub job_name: String,
    pub job_arn: String,
    pub model_data_source: ModelDataSourceOutput,
    pub creation_time: String,
    pub model_architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_kms_key_arn: Option<String>,
    pub instruct_supported: bool,
    pub custom_model_units: CustomModelUnitsOutput,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListImportedModelsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub model_summaries: Vec<ImportedModelSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportedModelSummary {
    pub model_arn: String,
    pub model_name: String,
    pub creation_time: String,
    pub instruct_supported: bool,
    pub model_architecture: String,
}
