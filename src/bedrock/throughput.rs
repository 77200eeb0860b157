//! Provisioned Throughput (dedicated, hourly-billed capacity for a model) in domain terms.

use std::collections::BTreeMap;
use std::future::Future;

use super::BedrockError;

/// One CreateProvisionedModelThroughput call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateThroughputRequest {
    /// `provisionedModelName`: unique per account and region.
    pub name: String,
    /// `modelId`: the model's ARN (or a foundation model ID, or a custom model name).
    pub model_id: String,
    pub model_units: i32,
    /// `OneMonth`, `SixMonths`, or `None` for no commitment.
    pub commitment: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Deterministic, so that a retried create can never buy a second throughput.
    pub client_request_token: String,
}

/// A throughput's `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThroughputState {
    Creating,
    InService,
    Updating,
    Failed,
    /// A status this operator does not know; treated as still in progress.
    Other(String),
}

impl ThroughputState {
    pub fn as_str(&self) -> &str {
        match self {
            ThroughputState::Creating => "Creating",
            ThroughputState::InService => "InService",
            ThroughputState::Updating => "Updating",
            ThroughputState::Failed => "Failed",
            ThroughputState::Other(other) => other,
        }
    }
}

impl From<&str> for ThroughputState {
    fn from(status: &str) -> Self {
        match status {
            "Creating" => ThroughputState::Creating,
            "InService" => ThroughputState::InService,
            "Updating" => ThroughputState::Updating,
            "Failed" => ThroughputState::Failed,
            other => ThroughputState::Other(other.to_string()),
        }
    }
}

/// A throughput as GetProvisionedModelThroughput describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteThroughput {
    /// What callers pass as `modelId` to InvokeModel or Converse.
    pub arn: String,
    /// `provisionedModelName`.
    pub name: String,
    /// The model in service (during an update, still the old one).
    pub model_arn: String,
    /// The model an update swaps in (the same as `model_arn` when none runs).
    pub desired_model_arn: String,
    pub model_units: i32,
    pub state: ThroughputState,
    pub failure_message: Option<String>,
    /// `OneMonth`, `SixMonths`, or `None`.
    pub commitment: Option<String>,
    /// RFC 3339: when the commitment term ends.
    pub commitment_expiration_time: Option<String>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    /// RFC 3339.
    pub last_modified_time: Option<String>,
}

super::object!(
    RemoteThroughput,
    changed_at: [last_modified_time, creation_time],
    steady: |throughput| throughput.state == ThroughputState::InService
);

/// One UpdateProvisionedModelThroughput call: a new name, a new model, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateThroughputRequest {
    pub name: Option<String>,
    pub model_id: Option<String>,
}

/// The calls of the provisioned throughput kind.
pub trait Throughputs: Send + Sync {
    /// CreateProvisionedModelThroughput; returns the provisioned model ARN.
    fn create_throughput(
        &self,
        region: &str,
        request: &CreateThroughputRequest,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// GetProvisionedModelThroughput by name or ARN; `None` when there is no such throughput.
    fn get_throughput(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<RemoteThroughput>, BedrockError>> + Send;

    /// UpdateProvisionedModelThroughput: a new name and/or model, applied in the background
    /// (status Updating).
    fn update_throughput(
        &self,
        region: &str,
        identifier: &str,
        request: &UpdateThroughputRequest,
    ) -> impl Future<Output = Result<(), BedrockError>> + Send;

    /// DeleteProvisionedModelThroughput; `Ok(false)` when it was already gone. Bedrock refuses
    /// (ConflictException) before a commitment term ends.
    fn delete_throughput(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, BedrockError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_states_parse_and_unknown_ones_are_kept() {
        for state in ["Creating", "InService", "Updating", "Failed"] {
            assert_eq!(ThroughputState::from(state).as_str(), state);
        }
        assert_eq!(
            ThroughputState::from("Deleting"),
            ThroughputState::Other("Deleting".into())
        );
    }
}
