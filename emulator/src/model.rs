//! Custom models: the public data types the control API and the in-process accessors use for
//! them, and the wire shapes of the Bedrock answers about them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{Tag, rfc3339_millis, rfc3339_millis_opt};

/// A custom model's status, as Bedrock reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelStatus {
    Creating,
    Active,
    Failed,
}

impl ModelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStatus::Creating => "Creating",
            ModelStatus::Active => "Active",
            ModelStatus::Failed => "Failed",
        }
    }
}

/// Where a model's artifacts come from: `{"s3Uri": "..."}` or `{"modelPackageArn": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModelSource {
    /// `modelSourceConfig.s3DataSource.s3Uri`
    S3Uri(String),
    /// `customModelDataSource.modelPackageArnDataSource.modelPackageArn`
    ModelPackageArn(String),
}

impl ModelSource {
    pub fn location(&self) -> &str {
        match self {
            ModelSource::S3Uri(uri) => uri,
            ModelSource::ModelPackageArn(arn) => arn,
        }
    }
}

/// Everything the emulator knows about one model, including what GetCustomModel hides (source,
/// role, tags) and the emulator's own scripting (delete conflict, ready time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRecord {
    pub model_arn: String,
    pub model_name: String,
    pub status: ModelStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub creation_time: DateTime<Utc>,
    /// When a model that is still Creating turns Active or Failed (absent once forced).
    #[serde(
        default,
        with = "rfc3339_millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ready_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ModelSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_kms_key_arn: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foundation_model_arn: Option<String>,
    pub owner_account_id: String,
    /// Inserted through the control API rather than created through CreateCustomModel.
    pub foreign: bool,
    /// The ConflictException message DeleteCustomModel answers with, while scripted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_conflict: Option<String>,
}

/// One model actually created by CreateCustomModel (idempotent replays add nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateLogEntry {
    pub model_name: String,
    pub model_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub time: DateTime<Utc>,
}

/// A status to force a model into through the control API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", deny_unknown_fields)]
pub enum ForceStatus {
    Active,
    Failed {
        #[serde(
            default,
            rename = "failureMessage",
            skip_serializing_if = "Option::is_none"
        )]
        failure_message: Option<String>,
    },
}

/// A model inserted directly into the table, as if created outside the operator ("foreign").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForeignModel {
    pub model_name: String,
    /// Generated like CreateCustomModel's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_arn: Option<String>,
    /// Active when absent. Creating follows the normal lifecycle from `creationTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ModelStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// Now when absent.
    #[serde(
        default,
        with = "rfc3339_millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ModelSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_kms_key_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foundation_model_arn: Option<String>,
    /// The emulator's account when absent; another account makes the model "not owned".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_account_id: Option<String>,
}

impl ForeignModel {
    pub fn new(model_name: impl Into<String>) -> Self {
        ForeignModel {
            model_name: model_name.into(),
            ..ForeignModel::default()
        }
    }
}

// The wire shapes of the Bedrock answers about custom models.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateCustomModelOutput {
    pub model_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetCustomModelOutput {
    pub model_arn: String,
    pub model_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model_arn: Option<String>,
    pub customization_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_kms_key_arn: Option<String>,
    pub creation_time: String,
    pub model_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListCustomModelsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub model_summaries: Vec<CustomModelSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomModelSummary {
    pub model_arn: String,
    pub model_name: String,
    pub creation_time: String,
    /// Imported models have no base model; left out, aws-sdk-bedrock reads an empty string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model_name: Option<String>,
    pub customization_type: &'static str,
    pub owner_account_id: String,
    pub model_status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn force_status_wire_form() {
        let failed: ForceStatus =
            serde_json::from_str(r#"{"status":"Failed","failureMessage":"boom"}"#)
                .unwrap_or(ForceStatus::Active);
        assert_eq!(
            failed,
            ForceStatus::Failed {
                failure_message: Some("boom".into())
            }
        );
        let active: Result<ForceStatus, _> = serde_json::from_str(r#"{"status":"Active"}"#);
        assert_eq!(active.ok(), Some(ForceStatus::Active));
    }
}
