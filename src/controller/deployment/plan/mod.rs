//! Every decision of a BedrockCustomModelDeployment reconcile, as pure functions from
//! (resource, validated spec, observation, timing) to (calls, next status, events, when to
//! look again). No I/O: unit-tested with plain values in `plan_tests.rs`.
//!
//! The topic files: `checks` (refusals before any call, settled, needs_tags), `create` (the
//! create request and its plan), `existing` (a deployment that exists: states, rollouts),
//! `cleanup` (deleting the resource).

mod checks;
mod cleanup;
mod create;
mod existing;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::api::conditions::{event, reason};
use crate::api::deployment::{
    BedrockCustomModelDeployment, BedrockCustomModelDeploymentStatus, DeploymentCreatedWith,
    DeploymentStatus, ModelTarget, ValidDeployment,
};
use crate::api::{AdoptionPolicy, BedrockCustomModel, tags};
use crate::bedrock::{CreateDeploymentRequest, RemoteDeployment};
use crate::controller::call::{self, Call};
pub use crate::controller::cleanup::Cleanup;
use crate::controller::outcome::{self, Next, Note, Subject, Timing};
use crate::controller::ownership::{self, Holder, Match, Me};
use crate::controller::reference;
pub use crate::controller::reference::{Lookup, Resolution};

pub use checks::{adoption_refused, invalid, needs_tags, precheck, region_mismatch, settled};
pub use cleanup::{cleanup, deletion_refused_message};
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
use crate::api::{DeletionPolicy, RETRY_ANNOTATION, validation};
#[cfg(test)]
use crate::bedrock::{DeploymentState, UpdateState};
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

/// Resolves the spec's model: a modelArn as it is; a modelRef from the referenced resource's
/// status, only once that model is Ready (`model` is the referenced resource as read).
pub fn resolve(target: &ModelTarget, model: Option<&BedrockCustomModel>) -> Resolution {
    match target {
        ModelTarget::Arn(arn) => Resolution::Resolved {
            arn: arn.clone(),
            region: target.arn_region().map(str::to_string),
        },
        ModelTarget::Ref(name) => reference::resolve_ref(name, model),
    }
}

fn unresolved(resolution: &Resolution) -> (&'static str, String) {
    reference::unresolved(resolution, "deployment")
}

/// What the operator saw before deciding.
pub type Observation = reference::Observation<RemoteDeployment>;

pub fn lookup(resource: &BedrockCustomModelDeployment, valid: &ValidDeployment) -> Lookup {
    let arn = resource
        .status
        .as_ref()
        .and_then(|s| s.deployment_arn.as_deref());
    Lookup::new(arn, &valid.deployment_name)
}

/// The region of the deployment: the one it lives in once it exists; for a new one
/// spec.region, else the model's, else the operator's default.
pub fn region(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    model: &Resolution,
    default_region: &str,
) -> String {
    resource
        .status
        .as_ref()
        .filter(|s| s.deployment_arn.is_some())
        .and_then(|s| s.region.clone())
        .unwrap_or_else(|| valid.region(model.region(), default_region))
}

/// How the deployment's failures are worded.
pub fn subject(name: &str) -> Subject<'_> {
    Subject {
        noun: "deployment",
        name,
        access_hint: "",
        quota_hint: "Delete unused custom model deployments or request a quota increase",
        not_found_hint: "Check spec.modelRef or spec.modelArn",
    }
}

/// The resource's conditions as they stand.
pub fn current_conditions(resource: &BedrockCustomModelDeployment) -> &[Condition] {
    resource
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

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
pub fn immutable_changes(
    desired: &DeploymentCreatedWith,
    current: &DeploymentCreatedWith,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if desired.model_deployment_name != current.model_deployment_name {
        changed.push("modelDeploymentName");
    }
    // An adopted deployment's description is Bedrock's; a spec that states none accepts it.
    let accepted = current.adopted && desired.description.is_none();
    if desired.description != current.description && !accepted {
        changed.push("description");
    }
    if desired.region != current.region {
        changed.push("region");
    }
    changed
}

fn is_failed(status: &BedrockCustomModelDeploymentStatus) -> bool {
    status.deployment_status == Some(DeploymentStatus::Failed)
}

fn desired_tags(
    resource: &BedrockCustomModelDeployment,
    cluster: &str,
) -> BTreeMap<String, String> {
    tags::desired(&resource.spec.tags, &resource.metadata, cluster)
}

/// Plans a reconcile of a deployment that is not being deleted, given what was observed.
/// `elapsed` is how long the deployment (or its update) has been in progress.
pub fn plan_apply(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
    observation: &Observation,
    timing: &Timing,
    elapsed: Duration,
) -> Plan {
    let mut status = base_status(resource, valid, region);
    let me = Me::of(&resource.metadata, &observation.cluster);
    if let Some(arn) = observation.model.arn() {
        status.desired_model_arn = Some(arn.to_string());
    }
    let adopt = valid.adoption_policy == AdoptionPolicy::Adopt;
    let (held, tags) = (status.deployment_arn.clone(), observation.tags.as_ref());
    let found = observation.remote.as_ref();
    match ownership::matching(held, found, tags, &me, adopt, observation.owner) {
        Match::Create => plan_create(resource, valid, region, status, observation, Vec::new()),
        Match::TakeBack(found) => {
            status.created_with = Some(created_with(valid, region));
            hold(&mut status, found, region);
            plan_existing(resource, valid, status, found, observation, timing, elapsed)
        }
        Match::Adopt { found, from } => {
            status.created_with = Some(DeploymentCreatedWith {
                model_deployment_name: found.name.clone(),
                description: found.description.clone(),
                region: region.to_string(),
                adopted: true,
            });
            status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
            hold(&mut status, found, region);
            let mut plan =
                plan_existing(resource, valid, status, found, observation, timing, elapsed);
            claim_deployment(&mut plan, resource, &found.arn, &observation.cluster);
            let noun = "Bedrock deployment";
            let message = ownership::adopted_message(noun, &found.name, &found.arn, from.as_ref());
            plan.events
                .insert(0, Note::normal(event::ADOPTED, "Adopt", message));
            plan
        }
        Match::Conflict { found, holder } => {
            status.region = Some(region.to_string());
            name_conflict(resource, valid, status, found, holder.as_ref(), timing)
        }
        Match::Missing { arn } => {
            // Gone although nobody asked this operator to delete it.
            let was_failed = is_failed(&status);
            status.recreations += 1;
            clear_deployment(&mut status);
            let events = if was_failed {
                Vec::new()
            } else {
                vec![Note::warning(
                    event::DEPLOYMENT_MISSING,
                    "Recreate",
                    format!(
                        "Bedrock deployment {arn} disappeared outside the operator; creating it again"
                    ),
                )]
            };
            plan_create(resource, valid, region, status, observation, events)
        }
        Match::Held(found) => {
            plan_existing(resource, valid, status, found, observation, timing, elapsed)
        }
    }
}

/// Holds the deployment found by name (taken back or adopted).
fn hold(status: &mut BedrockCustomModelDeploymentStatus, found: &RemoteDeployment, region: &str) {
    status.region = Some(region.to_string());
    status.deployment_arn = Some(found.arn.clone());
}

/// NameConflict: the deployment found by name is not this resource's to take. The status keeps
/// no deployment, so deleting this resource never deletes it.
fn name_conflict(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    mut status: BedrockCustomModelDeploymentStatus,
    found: &RemoteDeployment,
    holder: Option<&Holder>,
    timing: &Timing,
) -> Plan {
    clear_deployment(&mut status);
    let region = status.region.clone().unwrap_or_default();
    let (name, arn) = (&found.name, &found.arn);
    let found = ownership::Found {
        noun: "deployment",
        field: "spec.modelDeploymentName",
        name,
        region: &region,
        arn,
    };
    let adopt = valid.adoption_policy == AdoptionPolicy::Adopt;
    let message = ownership::name_conflict_message(&found, holder, adopt);
    outcome::blocked(
        current_conditions(resource),
        status,
        reason::NAME_CONFLICT,
        message,
        Next::After(timing.slow_retry),
    )
}

/// Turns the plan of an adopted deployment into a claim: the owner tags and the spec's tags go
/// on first, in one call that is read back, before anything else is done to it.
fn claim_deployment(
    plan: &mut Plan,
    resource: &BedrockCustomModelDeployment,
    arn: &str,
    cluster: &str,
) {
    call::claim_first(plan, arn, desired_tags(resource, cluster));
    // The next look reads the tags again: another process may have claimed the object in the
    // same moment (a leader failover), and finds out then.
    plan.status.tags_synced_generation = resource
        .status
        .as_ref()
        .and_then(|s| s.tags_synced_generation);
}

/// Forgets the current deployment (`createdWith` stays: it is replaced at the next create).
fn clear_deployment(status: &mut BedrockCustomModelDeploymentStatus) {
    status.deployment_arn = None;
    status.deployment_status = None;
    status.model_arn = None;
    status.update_status = None;
    status.failure_message = None;
}

impl reference::Serves for BedrockCustomModelDeployment {
    fn model_ref(&self) -> Option<&str> {
        self.spec.model_ref.as_ref().map(|r| r.name.as_str())
    }
    fn model_arns(&self) -> [Option<&str>; 3] {
        let status = self.status.as_ref();
        [
            self.spec.model_arn.as_deref(),
            status.and_then(|s| s.model_arn.as_deref()),
            status.and_then(|s| s.desired_model_arn.as_deref()),
        ]
    }
}

#[cfg(test)]
#[path = "../plan_tests.rs"]
mod tests;
