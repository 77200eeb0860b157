//! The AWS boundary: a small trait that speaks domain types. The controller never sees an SDK
//! type; `sdk` implements the trait with aws-sdk-bedrock.

use std::collections::BTreeMap;
use std::future::Future;

mod error;
mod pacing;
pub mod sdk;

pub use error::{BedrockError, ErrorClass};

/// The Bedrock operations the operator calls, by their API names: the metrics' `operation`
/// label, and the list docs/iam-policy.json must cover (a test checks it).
pub mod operation {
    pub const CREATE_CUSTOM_MODEL: &str = "CreateCustomModel";
    pub const GET_CUSTOM_MODEL: &str = "GetCustomModel";
    pub const LIST_CUSTOM_MODELS: &str = "ListCustomModels";
    pub const DELETE_CUSTOM_MODEL: &str = "DeleteCustomModel";
    pub const LIST_TAGS_FOR_RESOURCE: &str = "ListTagsForResource";
    pub const TAG_RESOURCE: &str = "TagResource";
    pub const UNTAG_RESOURCE: &str = "UntagResource";

    pub const ALL: [&str; 7] = [
        CREATE_CUSTOM_MODEL,
        GET_CUSTOM_MODEL,
        LIST_CUSTOM_MODELS,
        DELETE_CUSTOM_MODEL,
        LIST_TAGS_FOR_RESOURCE,
        TAG_RESOURCE,
        UNTAG_RESOURCE,
    ];
}

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

/// The operations the operator uses. Every method takes the region of the model.
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
}
