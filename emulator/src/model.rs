//! The emulator's public data types: what the control API and the in-process accessors return.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::operation::Operation;

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

/// A resource tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
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

/// Calls per operation and outcome; the outcome is `Ok` or the error code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Counters(pub BTreeMap<Operation, BTreeMap<String, u64>>);

impl Counters {
    /// Calls of `operation` that ended with `outcome` (`"Ok"` or an error code).
    pub fn get(&self, operation: Operation, outcome: &str) -> u64 {
        self.0
            .get(&operation)
            .and_then(|outcomes| outcomes.get(outcome))
            .copied()
            .unwrap_or(0)
    }

    /// All calls of `operation`, whatever their outcome.
    pub fn total(&self, operation: Operation) -> u64 {
        self.0
            .get(&operation)
            .map(|outcomes| outcomes.values().sum())
            .unwrap_or(0)
    }
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

/// Formats a timestamp the way Bedrock does (`2026-11-22T13:53:53.123Z`); aws-sdk-rust refuses
/// anything without the `T` separator.
pub(crate) fn format_timestamp(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) mod rfc3339_millis {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_timestamp(time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

pub(crate) mod rfc3339_millis_opt {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.serialize_str(&format_timestamp(time)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|time| time.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_t_separator_and_z() {
        let time = DateTime::parse_from_rfc3339("2026-11-22T13:53:53.5+00:00")
            .map(|time| time.with_timezone(&Utc))
            .ok();
        assert_eq!(
            time.map(|time| format_timestamp(&time)).as_deref(),
            Some("2026-11-22T13:53:53.500Z")
        );
    }

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

    #[test]
    fn counters_serialise_by_operation_name() {
        let mut counters = Counters::default();
        counters
            .0
            .entry(Operation::GetCustomModel)
            .or_default()
            .insert("Ok".into(), 3);
        let json = serde_json::to_string(&counters).unwrap_or_default();
        assert_eq!(json, r#"{"GetCustomModel":{"Ok":3}}"#);
        let back: Counters = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.get(Operation::GetCustomModel, "Ok"), 3);
    }
}
