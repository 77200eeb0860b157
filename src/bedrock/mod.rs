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
    DeploymentUpdate, Deployments, RemoteDeployment, UpdateState,
};
pub use error::{BedrockError, ErrorClass};
pub use operation::Operation;
pub use throughput::{
    CreateThroughputRequest, RemoteThroughput, ThroughputState, Throughputs,
    UpdateThroughputRequest,
};

/// A Bedrock object as Get describes it: its ARN, its name, and when it (or its last change)
/// started.
pub trait Object {
    fn arn(&self) -> &str;
    fn name(&self) -> &str;
    /// When the object (or its last change) started, RFC 3339: how long it has been in
    /// progress.
    fn changed_at(&self) -> Option<&str>;
    /// Whether it serves with no change under way (Active, InService): the state in which the
    /// operator keeps its tags in sync.
    fn steady(&self) -> bool;
    /// Bedrock's reason of a failure, when it gives one.
    fn failure(&self) -> Option<&str>;
}

/// Implements [`Object`] for a Bedrock type with `arn`, `name` and `failure_message` fields; `changed_at` is the
/// first of the listed time fields that is set; `steady` is the expression given, of `self`
/// named as the closure names it.
macro_rules! object {
    ($remote:ty, changed_at: [$($time:ident),+], steady: |$it:ident| $steady:expr) => {
        impl $crate::bedrock::Object for $remote {
            fn arn(&self) -> &str {
                &self.arn
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn changed_at(&self) -> Option<&str> {
                None$(.or(self.$time.as_deref()))+
            }
            fn steady(&self) -> bool {
                let $it = self;
                $steady
            }
            fn failure(&self) -> Option<&str> {
                self.failure_message.as_deref()
            }
        }
    };
}
pub(crate) use object;

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

object!(RemoteModel, changed_at: [creation_time], steady: |model| model.state == ModelState::Active);

/// One entry of ListCustomModels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    pub arn: String,
    pub state: ModelState,
}

/// The Bedrock operations the operator uses, grouped by the kind that calls them: a kind adds
/// its own trait (its file in this module) and one bound here, not methods to one trait. Every
/// method takes the region of the resource.
pub trait Bedrock: Models + Tags + Deployments + Throughputs + Send + Sync + 'static {}

impl<T: Models + Tags + Deployments + Throughputs + Send + Sync + 'static> Bedrock for T {}

/// The calls of the model kind.
pub trait Models: Send + Sync {
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
}

/// The tag calls every kind makes on its object.
pub trait Tags: Send + Sync {
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
