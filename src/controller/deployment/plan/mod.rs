//! Every decision of a BedrockCustomModelDeployment reconcile, as pure functions from
//! (resource, validated spec, observation, timing) to (calls, next status, events, when to
//! look again). No I/O: unit-tested with plain values in `plan_tests.rs`.
//!
//! The topic files: `checks` (refusals before any call, settled, needs_tags), `create` (the
//! create request and its plan), `existing` (a deployment that exists: states, rollouts),
//! `cleanup` (deleting the resource).

mod checks;
mod create;
mod existing;

use crate::api::conditions::{event, reason};
use crate::api::deployment::{
    BedrockCustomModelDeployment, BedrockCustomModelDeploymentStatus, DeploymentCreatedWith,
    DeploymentStatus, ModelTarget, ValidDeployment,
};
#[cfg(test)]
use crate::api::tags;
use crate::bedrock::{CreateDeploymentRequest, RemoteDeployment};
use crate::controller::call::Call;
use crate::controller::held;
use crate::controller::outcome::Words;
use crate::controller::outcome::{self, Note};
use crate::controller::reference;
#[cfg(test)]
use crate::controller::reference::Lookup;
pub use crate::controller::reference::Resolution;
pub use crate::controller::serving::region_mismatch;
use crate::controller::serving::{self, serving_tables};

pub use checks::{adoption_refused, precheck};
pub use create::after_create;
use create::plan_create;
pub use existing::after_update;
use existing::plan_existing;

// The names the tests (`use super::*`) took from the single plan file.
#[cfg(test)]
use crate::api::conditions::{self, Desired};
#[cfg(test)]
use crate::api::deployment::UpdateStatus;
#[cfg(test)]
use crate::api::{AdoptionPolicy, BedrockCustomModel};
#[cfg(test)]
use crate::api::{DeletionPolicy, RETRY_ANNOTATION, validation};
#[cfg(test)]
use crate::bedrock::{DeploymentState, UpdateState};
#[cfg(test)]
use crate::controller::apply::needs_tags;
#[cfg(test)]
use crate::controller::held::settled;
#[cfg(test)]
use crate::controller::outcome::Timing;
#[cfg(test)]
use crate::controller::serving::{region, resolve};
#[cfg(test)]
use create::create_request;

/// One call to make to Bedrock: create, or roll another model out in place
/// (UpdateCustomModelDeployment), or the calls every kind shares.
pub type Action = Call<CreateDeploymentRequest, Rollout>;

/// Roll another model out in place (UpdateCustomModelDeployment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub model_arn: String,
}

/// The outcome of planning a deployment's reconcile.
pub type Plan = outcome::Plan<BedrockCustomModelDeploymentStatus, Action>;

fn unresolved(resolution: &Resolution) -> (&'static str, String) {
    reference::unresolved(resolution, "deployment")
}

/// What the operator saw before deciding.
#[cfg(test)]
pub type Observation = reference::Observation<RemoteDeployment>;

/// How the deployment's messages word it, and what a person can do.
pub const WORDS: Words = Words {
    noun: "deployment",
    access_hint: "",
    quota_hint: "Delete unused custom model deployments or request a quota increase",
    not_found_hint: "Check spec.modelRef or spec.modelArn",
    deletion_refused: "The operator keeps the finalizer and retries with backoff, or set spec.deletionPolicy: Retain to keep the deployment and let the resource go",
};

/// The status every plan starts from: the current one, brought to this generation.
pub fn base_status(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
) -> BedrockCustomModelDeploymentStatus {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    status.model_deployment_name = Some(valid.deployment_name.clone());
    if status.deployment_arn.is_none() {
        status.region = Some(region.to_string());
    }
    status.conditions.clear();
    status
}

fn created_with(valid: &ValidDeployment, region: &str) -> DeploymentCreatedWith {
    DeploymentCreatedWith {
        model_deployment_name: valid.deployment_name.clone(),
        description: valid.description.clone(),
        region: region.to_string(),
        adopted: false,
    }
}

/// The immutable fields whose spec value differs from what the deployment was created with.
impl held::Fixed for DeploymentCreatedWith {
    fn changes(&self, current: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.model_deployment_name != current.model_deployment_name {
            changed.push("modelDeploymentName");
        }
        // An adopted deployment's description is Bedrock's; a spec that states none accepts it.
        let accepted = current.adopted && self.description.is_none();
        if self.description != current.description && !accepted {
            changed.push("description");
        }
        if self.region != current.region {
            changed.push("region");
        }
        changed
    }
}

serving_tables!(BedrockCustomModelDeployment {
    valid: ValidDeployment {
        name: deployment_name,
        model: ModelTarget::Arn = "spec.modelArn",
    },
    status: BedrockCustomModelDeploymentStatus,
    spec_model: model_arn,
});

held::held_status!(BedrockCustomModelDeploymentStatus {
    created_with: DeploymentCreatedWith,
    arn: deployment_arn,
    state: deployment_status {
        failed: DeploymentStatus::Failed,
        serving: DeploymentStatus::Active => reason::ACTIVE,
        synced_too: true,
    },
    clear: [model_arn, update_status, failure_message],
});

/// The deployment's own branches of the shared match.
pub(super) type Deployment<'a> = serving::Given<'a, BedrockCustomModelDeployment>;

impl held::Branches for Deployment<'_> {
    type Kind = BedrockCustomModelDeployment;
    const MISSING: &'static str = event::DEPLOYMENT_MISSING;
    const CLAIMS_SPEC_TAGS: bool = true;

    fn create(&self, status: BedrockCustomModelDeploymentStatus, events: Vec<Note>) -> Plan {
        plan_create(self, status, events)
    }
    fn existing(
        &self,
        status: BedrockCustomModelDeploymentStatus,
        found: &RemoteDeployment,
    ) -> Plan {
        plan_existing(self, status, found)
    }
    fn created_with(&self) -> DeploymentCreatedWith {
        created_with(self.valid, self.region)
    }
    fn adopted_with(&self, found: &RemoteDeployment) -> DeploymentCreatedWith {
        DeploymentCreatedWith {
            model_deployment_name: found.name.clone(),
            description: found.description.clone(),
            region: self.region.to_string(),
            adopted: true,
        }
    }
}

#[cfg(test)]
#[path = "../plan_tests/mod.rs"]
mod tests;
