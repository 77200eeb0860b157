//! Every decision of a BedrockCustomModel reconcile, as pure functions from (resource,
//! observation, timing) to (actions, next status, events, when to look again). No I/O:
//! unit-tested with plain values in `plan_tests/`.
//!
//! The topic files: `checks` (refusals before any call, settled, needs_tags), `create` (the
//! create request and its plan), `existing` (a model that exists: states, polls, replacement),
//! `cleanup` (deleting the resource).

mod checks;
mod create;
mod existing;

use crate::controller::outcome::Words;
use std::time::Duration;

use crate::api::conditions::{self, Desired, event, reason};
use crate::api::model::{ValidModel, ValidSource};
#[cfg(test)]
use crate::api::tags;
use crate::api::validation;
use crate::api::{
    AdoptionPolicy, BedrockCustomModel, BedrockCustomModelStatus, CreatedWith, ModelStatus,
    RETRY_ANNOTATION,
};
#[cfg(test)]
use crate::bedrock::ErrorClass;
use crate::bedrock::{BedrockError, CreateRequest, ModelState, RemoteModel, Source};
#[cfg(test)]
use crate::controller::apply::needs_tags;
#[cfg(test)]
use crate::controller::held::settled;

use crate::controller::call::{self, Call};
pub use crate::controller::cleanup::Cleanup;
use crate::controller::guards::{Guarded, Guards, NOTHING_SENT};
use crate::controller::held;
use crate::controller::outcome::{self};
use crate::controller::ownership::Holder;
use crate::controller::scope::NamespaceScope;

pub use crate::controller::outcome::{Next, Note, Timing, poll_delay, retry_delay};

pub use crate::controller::call::client_request_token;
pub use checks::{adoption_refused, guards_refused, immutable_changed, invalid, precheck};
use create::plan_create;
pub use create::{after_create, create_request};
pub use existing::creating_poll;
use existing::plan_existing;

/// One call to make to Bedrock: create the model, or the calls every kind shares (a model
/// changes nothing in place).
pub type Action = Call<CreateRequest>;

/// The outcome of planning a model's reconcile.
pub type Plan = outcome::Plan<BedrockCustomModelStatus, Action>;

/// What a model's plan knows beyond its spec, read before Bedrock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Whether a sweep (one ListCustomModels per region) watches this region for imports that
    /// finish, so that a Creating model needs only a rare poll of its own.
    pub swept: bool,
}

/// What the operator saw before deciding: the sweep, and the model (looked up by
/// status.modelArn, or by name when the status has none) with its tags.
pub type Observation = held::Observation<RemoteModel, Inputs>;

/// The two regions a model reconcile deals with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regions {
    /// Where a new model goes: spec.region, or the operator's default.
    pub desired: String,
    /// Where the model the status names lives (the region it was created in, whatever the spec
    /// says now); `desired` while the status names none.
    pub model: String,
}

/// The regions of a model reconcile: the one place that chooses them.
pub fn regions(resource: &BedrockCustomModel, default_region: &str) -> Regions {
    let desired = resource
        .spec
        .region
        .clone()
        .unwrap_or_else(|| default_region.to_string());
    let status = resource.status.as_ref();
    let model = status
        .filter(|s| s.model_arn.is_some())
        .and_then(|s| s.region.clone())
        .unwrap_or_else(|| desired.clone());
    Regions { desired, model }
}

pub use crate::controller::reference::Lookup;

/// The Bedrock model name: spec.modelName or metadata.name.
fn model_name(resource: &BedrockCustomModel) -> String {
    resource.model_name().to_string()
}

/// The parameters the spec asks to create the model with.
pub fn desired_parameters(resource: &BedrockCustomModel, region: &str) -> CreatedWith {
    CreatedWith {
        model_name: model_name(resource),
        source: Some(resource.spec.source.clone()),
        role_arn: resource.spec.role_arn.clone(),
        kms_key_arn: resource.spec.kms_key_arn.clone(),
        region: region.to_string(),
        adopted: false,
    }
}

/// The immutable fields whose spec value differs from what the model was created with.
impl held::Fixed for CreatedWith {
    fn changes(&self, current: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.model_name != current.model_name {
            changed.push("modelName");
        }
        if current.source.is_some() && self.source != current.source {
            changed.push("source");
        }
        if !current.adopted && self.role_arn != current.role_arn {
            changed.push("roleArn");
        }
        if self.kms_key_arn != current.kms_key_arn {
            changed.push("kmsKeyArn");
        }
        if self.region != current.region {
            changed.push("region");
        }
        changed
    }
}

/// The status every plan starts from: the current one, brought to this generation.
pub fn base_status(resource: &BedrockCustomModel, region: &str) -> BedrockCustomModelStatus {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    status.model_name = Some(model_name(resource));
    if status.model_arn.is_none() {
        status.region = Some(region.to_string());
    }
    status.conditions.clear();
    status
}

/// A plan that makes no call and shows why on both conditions.
fn blocked(
    resource: &BedrockCustomModel,
    status: BedrockCustomModelStatus,
    why: &'static str,
    message: String,
    next: Next,
) -> Plan {
    outcome::blocked(current_conditions(resource), status, why, message, next)
}

/// The resource's conditions as they stand.
pub fn current_conditions(
    resource: &BedrockCustomModel,
) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
    resource
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

held::held_status!(BedrockCustomModelStatus {
    created_with: CreatedWith,
    arn: model_arn,
    state: model_status {
        failed: ModelStatus::Failed,
        serving: ModelStatus::Active => reason::ACTIVE,
        synced_too: false,
    },
    clear: [failure_message, creation_time],
});

/// Plans a reconcile of a resource that is not being deleted, given what Bedrock said.
pub fn plan_apply(
    resource: &BedrockCustomModel,
    valid: &ValidModel,
    region: &str,
    observation: &Observation,
    timing: &Timing,
    elapsed_since_creation: Option<Duration>,
) -> Plan {
    let status = base_status(resource, region);
    let elapsed = elapsed_since_creation;
    let branches = Model::new(resource, valid, region, observation, timing, elapsed);
    held::plan(branches, status)
}

/// The model's own branches of the shared match.
pub(super) type Model<'a> =
    held::Given<'a, BedrockCustomModel, ValidModel, Observation, Option<Duration>>;

impl held::Branches for Model<'_> {
    type Kind = BedrockCustomModel;
    const MISSING: &'static str = event::MODEL_MISSING;
    /// The owner tags only: the spec's tags join them when the plan sets them (tag sync).
    const CLAIMS_SPEC_TAGS: bool = false;

    fn create(&self, status: BedrockCustomModelStatus, events: Vec<Note>) -> Plan {
        plan_create(self, status, events)
    }
    fn existing(&self, status: BedrockCustomModelStatus, found: &RemoteModel) -> Plan {
        plan_existing(self, status, found)
    }
    fn created_with(&self) -> CreatedWith {
        desired_parameters(self.resource, self.region)
    }
    fn adopted_with(&self, found: &RemoteModel) -> CreatedWith {
        CreatedWith {
            model_name: found.name.clone(),
            source: None,
            role_arn: None,
            kms_key_arn: found.kms_key_arn.clone(),
            region: self.region.to_string(),
            adopted: true,
        }
    }
}

/// NameConflict after a call found the model `arn` another resource's (it tagged it at the
/// same moment, or holds the Failed model this one meant to replace).
pub fn name_conflict(
    resource: &BedrockCustomModel,
    region: &str,
    status: BedrockCustomModelStatus,
    arn: &str,
    holder: Option<&Holder>,
    timing: &Timing,
) -> Plan {
    let name = model_name(resource);
    let conflict = held::Conflict {
        name: &name,
        arn,
        region,
        holder,
        adopt: resource.spec.adoption_policy == AdoptionPolicy::Adopt,
    };
    held::name_conflict(resource, status, &conflict, timing.slow_retry)
}

/// How the model's messages word it, and what a person can do.
pub const WORDS: Words = Words {
    noun: "model",
    access_hint: ", including iam:PassRole on spec.roleArn",
    quota_hint: "Delete unused custom models or request a quota increase",
    not_found_hint: "Check spec.source and spec.roleArn",
    deletion_refused: "No deployment or throughput in the namespaces this operator watches uses it, so something else does (a resource in a namespace the operator does not watch, or one made outside Kubernetes). The operator keeps the finalizer and retries with backoff; remove what uses the model (such as a provisioned throughput), or set spec.deletionPolicy: Retain to keep the model and let the resource go",
};

/// How a failed call shows on the resource: `None` for transient failures not yet worth a
/// status write (they are retried with backoff).
pub fn failure_conditions(
    error: &BedrockError,
    model_name: &str,
    consecutive_failures: u32,
    timing: &Timing,
) -> Option<Vec<Desired>> {
    outcome::failure_conditions(
        error,
        &WORDS.subject(model_name),
        consecutive_failures,
        timing,
    )
}

#[cfg(test)]
#[path = "../plan_tests/mod.rs"]
mod tests;
