//! The AWS boundary: a small trait that speaks domain types. The controller never sees an SDK
//! type; `sdk` implements the trait with aws-sdk-bedrock, every request through one call path
//! (pace, rate limit, send, map the error, record the metrics of `metered`). `Operation` is the
//! table of the operations called.

use std::collections::BTreeMap;
use std::future::Future;

mod deployment;
mod error;
pub mod metered;
mod operation;
mod pacing;
pub mod sdk;
mod throughput;

pub use deployment::{
    CreateDeploymentRequest, DeploymentFilter, DeploymentState, DeploymentSummary,
    DeploymentUpdate, RemoteDeployment, UpdateState,
};
pub use error::{BedrockError, ErrorClass};
pub use operation::Operation;
pub use throughput::{
    CreateThroughputRequest, RemoteThroughput, ThroughputState, UpdateThroughputRequest,
};

/// Where the model artifacts come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    S3Uri(String),
    ModelPackageArn(String),
}

/// One CreateCustomModel call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    pub model_name: String,
    pub source: Source,
    pub role_arn: Option<String>,
    pub kms_key_arn: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Deterministic, so that a retried create can never make a second model.
    pub client_request_token: String,
}

/// Bedrock's modelStatus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelState {
    Creating,
    Active,
    Failed,
    /// A status this operator does not know yet; treated as still in progress.
    Other(String),
}

impl ModelState {
    pub fn as_str(&self) -> &str {
        match self {
            ModelState::Creating => "Creating",
            ModelState::Active => "Active",
            ModelState::Failed => "Failed",
            ModelState::Other(other) => other,
        }
    }
}

impl From<&str> for ModelState {
    fn from(status: &str) -> Self {
        match status {
            "Creating" => ModelState::Creating,
            "Active" => ModelState::Active,
            "Failed" => ModelState::Failed,
            other => ModelState::Other(other.to_string()),
        }
    }
}

/// A model as GetCustomModel describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteModel {
    pub arn: String,
    pub name: String,
    pub state: ModelState,
    pub failure_message: Option<String>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    pub kms_key_arn: Option<String>,
}

/// One entry of ListCustomModels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    pub arn: String,
    pub state: ModelState,
}

/// The operations the operator uses. Every method takes the region of the resource.
pub trait Bedrock: Send + Sync + 'static {
    /// CreateCustomModel; returns the model ARN.
    fn create_model(
        &self,
        region: &str,
        request: &CreateRequest,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// GetCustomModel by name or ARN; `None` when there is no such model.
    fn get_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<RemoteModel>, BedrockError>> + Send;

    /// ListCustomModels of the models in `state` created after `created_after` (RFC 3339),
    /// every page.
    fn list_models(
        &self,
        region: &str,
        state: ModelState,
        created_after: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ModelSummary>, BedrockError>> + Send;

    /// DeleteCustomModel; `Ok(false)` when the model was already gone.
    fn delete_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, BedrockError>> + Send;

    /// ListTagsForResource.
    fn list_tags(
        &self,
        region: &str,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, BedrockError>> + Send;

    /// TagResource.
    fn tag(
        &self,
        region: &str,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), BedrockError>> + Send;

    /// UntagResource.
    fn untag(
        &self,
        region: &str,
        arn: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), BedrockError>> + Send;

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

impl From<&ModelState> for crate::api::ModelStatus {
    fn from(state: &ModelState) -> Self {
        match state {
            ModelState::Creating => Self::Creating,
            ModelState::Active => Self::Active,
            ModelState::Failed => Self::Failed,
            ModelState::Other(_) => Self::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_model_states_parse() {
        assert_eq!(ModelState::from("Creating"), ModelState::Creating);
        assert_eq!(ModelState::from("Active"), ModelState::Active);
        assert_eq!(ModelState::from("Failed"), ModelState::Failed);
    }

    #[test]
    fn an_unknown_model_state_is_kept_as_other() {
        let state = ModelState::from("Deleting");
        assert_eq!(state, ModelState::Other("Deleting".into()));
        assert_eq!(state.as_str(), "Deleting");
    }
}
