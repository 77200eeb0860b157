//! Provisioned Throughput: the public data types the control API and the in-process accessors
//! use for it, and the wire shapes of the Bedrock answers about it.

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{Tag, rfc3339_millis, rfc3339_millis_opt};

/// A Provisioned Throughput's status, as Bedrock reports it (`ProvisionedModelStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProvisionedStatus {
    Creating,
    InService,
    Updating,
    Failed,
}

impl ProvisionedStatus {
    pub const ALL: [ProvisionedStatus; 4] = [
        ProvisionedStatus::Creating,
        ProvisionedStatus::InService,
        ProvisionedStatus::Updating,
        ProvisionedStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionedStatus::Creating => "Creating",
            ProvisionedStatus::InService => "InService",
            ProvisionedStatus::Updating => "Updating",
            ProvisionedStatus::Failed => "Failed",
        }
    }
}

/// A commitment term (`CommitmentDuration`); no commitment when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommitmentDuration {
    OneMonth,
    SixMonths,
}

impl CommitmentDuration {
    pub const ALL: [CommitmentDuration; 2] =
        [CommitmentDuration::OneMonth, CommitmentDuration::SixMonths];

    pub fn as_str(self) -> &'static str {
        match self {
            CommitmentDuration::OneMonth => "OneMonth",
            CommitmentDuration::SixMonths => "SixMonths",
        }
    }

    /// When a term that starts at `start` ends: one or six calendar months later (the last day
    /// of the month when the day does not exist there: Jan 31 + one month = Feb 28 or 29).
    pub fn expiration(self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let months = match self {
            CommitmentDuration::OneMonth => Months::new(1),
            CommitmentDuration::SixMonths => Months::new(6),
        };
        start.checked_add_months(months)
    }
}

/// Everything the emulator knows about one Provisioned Throughput.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedRecord {
    pub provisioned_model_arn: String,
    pub provisioned_model_name: String,
    /// The model served now.
    pub model_arn: String,
    /// The model asked for: differs from `modelArn` while an update runs (or after it failed).
    pub desired_model_arn: String,
    pub foundation_model_arn: String,
    pub model_units: i32,
    pub desired_model_units: i32,
    pub status: ProvisionedStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<CommitmentDuration>,
    #[serde(
        default,
        with = "rfc3339_millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub commitment_expiration_time: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339_millis")]
    pub creation_time: DateTime<Utc>,
    #[serde(with = "rfc3339_millis")]
    pub last_modified_time: DateTime<Utc>,
    /// When a throughput still Creating or Updating turns InService or Failed.
    #[serde(
        default,
        with = "rfc3339_millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ready_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
}

/// One Provisioned Throughput CreateProvisionedModelThroughput actually created (idempotent
/// replays add nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedCreateLogEntry {
    pub provisioned_model_name: String,
    pub provisioned_model_arn: String,
    pub model_arn: String,
    pub model_units: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<CommitmentDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub time: DateTime<Utc>,
}

/// Which step of a Provisioned Throughput's life a scripted failure hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProvisionedPhase {
    /// CreateProvisionedModelThroughput: Creating → Failed.
    Create,
    /// UpdateProvisionedModelThroughput with a new model: Updating → Failed, still on the old
    /// model (`desiredModelArn` names the new one).
    Update,
}

/// A scripted failure: the next `count` creates (or model updates), or those of one
/// Provisioned Throughput name, fail once their delay is over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisionedFailure {
    pub phase: ProvisionedPhase,
    /// Only this Provisioned Throughput (by name); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_model_name: Option<String>,
    /// How many creates (or updates) fail; 1 when absent.
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

fn one() -> u32 {
    1
}

impl ProvisionedFailure {
    /// The next create (of any Provisioned Throughput) fails with `message`.
    pub fn next_create(message: impl Into<String>) -> Self {
        ProvisionedFailure {
            phase: ProvisionedPhase::Create,
            provisioned_model_name: None,
            count: 1,
            failure_message: Some(message.into()),
        }
    }

    /// The next model update (of any Provisioned Throughput) fails with `message`.
    pub fn next_update(message: impl Into<String>) -> Self {
        ProvisionedFailure {
            phase: ProvisionedPhase::Update,
            ..ProvisionedFailure::next_create(message)
        }
    }

    /// Only the Provisioned Throughput named `name`.
    pub fn for_provisioned_model(mut self, name: impl Into<String>) -> Self {
        self.provisioned_model_name = Some(name.into());
        self
    }
}

/// The delays of Provisioned Throughputs created and model updates started from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisionedDelays {
    /// Milliseconds a new Provisioned Throughput stays Creating.
    pub create_ms: u64,
    /// Milliseconds a model update stays Updating.
    pub update_ms: u64,
}

/// A status to force a Provisioned Throughput into through the control API: the create or
/// update in progress (or the last one) ends that way now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", deny_unknown_fields)]
pub enum ProvisionedForceStatus {
    InService,
    Failed {
        #[serde(
            default,
            rename = "failureMessage",
            skip_serializing_if = "Option::is_none"
        )]
        failure_message: Option<String>,
    },
}

// The wire shapes of the Bedrock answers about Provisioned Throughputs.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProvisionedModelArnOutput {
    pub provisioned_model_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetProvisionedModelThroughputOutput {
    pub model_units: i32,
    pub desired_model_units: i32,
    pub provisioned_model_name: String,
    pub provisioned_model_arn: String,
    pub model_arn: String,
    pub desired_model_arn: String,
    pub foundation_model_arn: String,
    pub status: &'static str,
    pub creation_time: String,
    pub last_modified_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_expiration_time: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListProvisionedModelThroughputsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub provisioned_model_summaries: Vec<ProvisionedModelSummary>,
}

/// The list summary has the same members as Get, but no `failureMessage`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProvisionedModelSummary {
    pub provisioned_model_name: String,
    pub provisioned_model_arn: String,
    pub model_arn: String,
    pub desired_model_arn: String,
    pub foundation_model_arn: String,
    pub model_units: i32,
    pub desired_model_units: i32,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_expiration_time: Option<String>,
    pub creation_time: String,
    pub last_modified_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_terms_are_calendar_months() {
        let start = DateTime::parse_from_rfc3339("2026-01-31T10:00:00Z")
            .map(|time| time.with_timezone(&Utc))
            .ok();
        let end = |term: CommitmentDuration| start.and_then(|start| term.expiration(start));
        assert_eq!(
            end(CommitmentDuration::OneMonth).map(|end| end.to_rfc3339()),
            Some("2026-02-28T10:00:00+00:00".to_owned())
        );
        assert_eq!(
            end(CommitmentDuration::SixMonths).map(|end| end.to_rfc3339()),
            Some("2026-07-31T10:00:00+00:00".to_owned())
        );
    }
}
