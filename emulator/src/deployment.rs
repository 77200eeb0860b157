//! Custom model deployments: the public data types the control API and the in-process accessors
//! use for them, and the wire shapes of the Bedrock answers about them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{Tag, rfc3339_millis, rfc3339_millis_opt};

/// A deployment's status, as Bedrock reports it (`CustomModelDeploymentStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeploymentStatus {
    Creating,
    Active,
    Failed,
}

impl DeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Creating => "Creating",
            DeploymentStatus::Active => "Active",
            DeploymentStatus::Failed => "Failed",
        }
    }
}

/// The status of the last UpdateCustomModelDeployment (`CustomModelDeploymentUpdateStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeploymentUpdateStatus {
    Updating,
    UpdateCompleted,
    UpdateFailed,
}

impl DeploymentUpdateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentUpdateStatus::Updating => "Updating",
            DeploymentUpdateStatus::UpdateCompleted => "UpdateCompleted",
            DeploymentUpdateStatus::UpdateFailed => "UpdateFailed",
        }
    }
}

/// The last model swap of a deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentUpdateRecord {
    /// The model the update swaps in.
    pub model_arn: String,
    /// The model served before the update (and still served while Updating or after
    /// UpdateFailed).
    pub previous_model_arn: String,
    pub update_status: DeploymentUpdateStatus,
    #[serde(with = "rfc3339_millis")]
    pub started_at: DateTime<Utc>,
    /// When an update still Updating completes (or fails).
    #[serde(with = "rfc3339_millis")]
    pub finishes_at: DateTime<Utc>,
    /// Why the update failed (the emulator's scripting; Bedrock shows no message for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

/// Everything the emulator knows about one custom model deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    pub custom_model_deployment_arn: String,
    pub model_deployment_name: String,
    /// The model the deployment serves now.
    pub model_arn: String,
    pub status: DeploymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub created_at: DateTime<Utc>,
    /// When a deployment still Creating turns Active or Failed (absent once forced).
    #[serde(
        default,
        with = "rfc3339_millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ready_time: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339_millis")]
    pub last_updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<DeploymentUpdateRecord>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
}

/// One deployment CreateCustomModelDeployment actually created (idempotent replays add nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCreateLogEntry {
    pub model_deployment_name: String,
    pub custom_model_deployment_arn: String,
    pub model_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_token: Option<String>,
    #[serde(with = "rfc3339_millis")]
    pub time: DateTime<Utc>,
}

/// Which step of a deployment's life a scripted failure hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeploymentPhase {
    /// CreateCustomModelDeployment: the deployment goes Creating → Failed.
    Create,
    /// UpdateCustomModelDeployment: the update goes Updating → UpdateFailed; the deployment
    /// stays Active on its previous model.
    Update,
}

/// A scripted failure: the next `count` deployments (or updates), or those of one deployment
/// name, fail once their delay is over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentFailure {
    pub phase: DeploymentPhase,
    /// Only this deployment (by name); any deployment when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_name: Option<String>,
    /// How many creates (or updates) fail; 1 when absent.
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

fn one() -> u32 {
    1
}

impl DeploymentFailure {
    /// The next create (of any deployment) fails with `message`.
    pub fn next_create(message: impl Into<String>) -> Self {
        DeploymentFailure {
            phase: DeploymentPhase::Create,
            deployment_name: None,
            count: 1,
            failure_message: Some(message.into()),
        }
    }

    /// The next update (of any deployment) fails with `message`.
    pub fn next_update(message: impl Into<String>) -> Self {
        DeploymentFailure {
            phase: DeploymentPhase::Update,
            ..DeploymentFailure::next_create(message)
        }
    }

    /// Only the deployment named `name`.
    pub fn for_deployment(mut self, name: impl Into<String>) -> Self {
        self.deployment_name = Some(name.into());
        self
    }
}

/// The delays of deployments created and updates started from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentDelays {
    /// Milliseconds a new deployment stays Creating.
    pub create_ms: u64,
    /// Milliseconds an update stays Updating.
    pub update_ms: u64,
}

// The wire shapes of the Bedrock answers about deployments.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomModelDeploymentArnOutput {
    pub custom_model_deployment_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetCustomModelDeploymentOutput {
    pub custom_model_deployment_arn: String,
    /// Get says `modelDeploymentName`; the list summary says `customModelDeploymentName`.
    pub model_deployment_name: String,
    pub model_arn: String,
    pub created_at: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_details: Option<UpdateDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    pub last_updated_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateDetails {
    pub model_arn: String,
    pub update_status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListCustomModelDeploymentsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub model_deployment_summaries: Vec<CustomModelDeploymentSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomModelDeploymentSummary {
    pub custom_model_deployment_arn: String,
    pub custom_model_deployment_name: String,
    pub model_arn: String,
    pub created_at: String,
    pub status: &'static str,
    pub last_updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}
