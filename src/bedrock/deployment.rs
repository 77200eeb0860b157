//! Custom model deployments (on-demand inference of a custom model) in domain terms.

use std::collections::BTreeMap;
use std::future::Future;

use super::BedrockError;

/// One CreateCustomModelDeployment call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateDeploymentRequest {
    /// `modelDeploymentName`: unique per account and region.
    pub name: String,
    /// The custom model to deploy; Bedrock wants it Active.
    pub model_arn: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Deterministic, so that a retried create can never make a second deployment.
    pub client_request_token: String,
}

/// A deployment's `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeploymentState {
    Creating,
    Active,
    Failed,
    /// A status this operator does not know (the user guide shows a transient `Deleting`);
    /// treated as still in progress.
    Other(String),
}

impl DeploymentState {
    pub fn as_str(&self) -> &str {
        match self {
            DeploymentState::Creating => "Creating",
            DeploymentState::Active => "Active",
            DeploymentState::Failed => "Failed",
            DeploymentState::Other(other) => other,
        }
    }
}

impl From<&str> for DeploymentState {
    fn from(status: &str) -> Self {
        match status {
            "Creating" => DeploymentState::Creating,
            "Active" => DeploymentState::Active,
            "Failed" => DeploymentState::Failed,
            other => DeploymentState::Other(other.to_string()),
        }
    }
}

/// The `updateStatus` of the last UpdateCustomModelDeployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateState {
    Updating,
    UpdateCompleted,
    UpdateFailed,
    /// A status this operator does not know; treated as still in progress.
    Other(String),
}

impl UpdateState {
    pub fn as_str(&self) -> &str {
        match self {
            UpdateState::Updating => "Updating",
            UpdateState::UpdateCompleted => "UpdateCompleted",
            UpdateState::UpdateFailed => "UpdateFailed",
            UpdateState::Other(other) => other,
        }
    }
}

impl From<&str> for UpdateState {
    fn from(status: &str) -> Self {
        match status {
            "Updating" => UpdateState::Updating,
            "UpdateCompleted" => UpdateState::UpdateCompleted,
            "UpdateFailed" => UpdateState::UpdateFailed,
            other => UpdateState::Other(other.to_string()),
        }
    }
}

/// `updateDetails`: the model an update swaps in, and how far it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentUpdate {
    pub model_arn: String,
    pub state: UpdateState,
}

/// A deployment as GetCustomModelDeployment describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteDeployment {
    /// What callers pass as `modelId` to InvokeModel or Converse.
    pub arn: String,
    /// `modelDeploymentName`.
    pub name: String,
    /// The model deployed now (during an update, still the old one: see `update`).
    pub model_arn: String,
    pub description: Option<String>,
    pub state: DeploymentState,
    pub failure_message: Option<String>,
    /// The last update, if there was one.
    pub update: Option<DeploymentUpdate>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    /// RFC 3339.
    pub last_updated_time: Option<String>,
}

// While a swap runs the tags are not synced (the plan waits for it), so the polls of an update
// read none.
super::object!(
    RemoteDeployment,
    changed_at: [last_updated_time, creation_time],
    steady: |deployment| deployment.state == DeploymentState::Active
        && !deployment
            .update
            .as_ref()
            .is_some_and(|u| u.state == UpdateState::Updating)
);

/// One entry of ListCustomModelDeployments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentSummary {
    pub arn: String,
    /// `customModelDeploymentName` (Get names the same field `modelDeploymentName`).
    pub name: String,
    pub model_arn: String,
    pub state: DeploymentState,
    pub failure_message: Option<String>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    /// RFC 3339.
    pub last_updated_time: Option<String>,
}

/// Which deployments ListCustomModelDeployments returns; every filter set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentFilter {
    /// `statusEquals`.
    pub state: Option<DeploymentState>,
    /// `modelArnEquals`.
    pub model_arn: Option<String>,
    /// `nameContains`.
    pub name_contains: Option<String>,
}

/// The calls of the deployment kind.
pub trait Deployments: Send + Sync {
    /// CreateCustomModelDeployment; returns the deployment ARN.
    fn create_deployment(
        &self,
        region: &str,
        request: &CreateDeploymentRequest,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// GetCustomModelDeployment by name or ARN; `None` when there is no such deployment.
    fn get_deployment(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<RemoteDeployment>, BedrockError>> + Send;

    /// ListCustomModelDeployments of the deployments that match `filter`, every page.
    fn list_deployments(
        &self,
        region: &str,
        filter: &DeploymentFilter,
    ) -> impl Future<Output = Result<Vec<DeploymentSummary>, BedrockError>> + Send;

    /// UpdateCustomModelDeployment: swaps the deployed model for `model_arn`; returns the
    /// deployment ARN. The swap goes on in the background (`RemoteDeployment::update`).
    fn update_deployment(
        &self,
        region: &str,
        identifier: &str,
        model_arn: &str,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// DeleteCustomModelDeployment (the model stays); `Ok(false)` when the deployment was
    /// already gone.
    fn delete_deployment(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, BedrockError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_deployment_states_parse() {
        assert_eq!(DeploymentState::from("Creating"), DeploymentState::Creating);
        assert_eq!(DeploymentState::from("Active"), DeploymentState::Active);
        assert_eq!(DeploymentState::from("Failed"), DeploymentState::Failed);
    }

    #[test]
    fn an_unknown_deployment_state_is_kept_as_other() {
        let state = DeploymentState::from("Deleting");
        assert_eq!(state, DeploymentState::Other("Deleting".into()));
        assert_eq!(state.as_str(), "Deleting");
    }

    #[test]
    fn deployment_states_round_trip() {
        for state in [
            DeploymentState::Creating,
            DeploymentState::Active,
            DeploymentState::Failed,
        ] {
            assert_eq!(DeploymentState::from(state.as_str()), state);
        }
    }

    #[test]
    fn deployment_state_parsing_is_case_sensitive() {
        assert_eq!(
            DeploymentState::from("ACTIVE"),
            DeploymentState::Other("ACTIVE".into())
        );
    }

    #[test]
    fn known_update_states_parse() {
        assert_eq!(UpdateState::from("Updating"), UpdateState::Updating);
        assert_eq!(
            UpdateState::from("UpdateCompleted"),
            UpdateState::UpdateCompleted
        );
        assert_eq!(UpdateState::from("UpdateFailed"), UpdateState::UpdateFailed);
    }

    #[test]
    fn an_unknown_update_state_is_kept_as_other() {
        let state = UpdateState::from("RollingBack");
        assert_eq!(state, UpdateState::Other("RollingBack".into()));
        assert_eq!(state.as_str(), "RollingBack");
    }

    #[test]
    fn update_states_round_trip() {
        for state in [
            UpdateState::Updating,
            UpdateState::UpdateCompleted,
            UpdateState::UpdateFailed,
        ] {
            assert_eq!(UpdateState::from(state.as_str()), state);
        }
    }
}
