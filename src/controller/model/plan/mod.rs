//! Every decision of a BedrockCustomModel reconcile, as pure functions from (resource,
//! observation, timing) to (actions, next status, events, when to look again). No I/O:
//! unit-tested with plain values in `plan_tests/`.
//!
//! The topic files: `checks` (refusals before any call, settled, needs_tags), `create` (the
//! create request and its plan), `existing` (a model that exists: states, polls, replacement),
//! `cleanup` (deleting the resource).

mod checks;
mod cleanup;
mod create;
mod existing;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::conditions::{self, Desired, event, reason};
use crate::api::model::{ValidModel, ValidSource};
use crate::api::tags;
use crate::api::validation;
use crate::api::{
    AdoptionPolicy, BedrockCustomModel, BedrockCustomModelStatus, CreatedWith, DeletionPolicy,
    ModelStatus, RETRY_ANNOTATION,
};
#[cfg(test)]
use crate::bedrock::ErrorClass;
use crate::bedrock::{BedrockError, CreateRequest, ModelState, RemoteModel, Source};

use crate::controller::call::{self, Call};
pub use crate::controller::cleanup::Cleanup;
use crate::controller::guards::{Guarded, Guards, NOTHING_SENT};
use crate::controller::outcome::{self, Subject};
use crate::controller::ownership::{self, Holder, Liveness, Match, Me};
use crate::controller::scope::NamespaceScope;

pub use crate::controller::outcome::{Next, Note, Timing, poll_delay, retry_delay};

pub use checks::{
    adoption_refused, guards_refused, immutable_changed, invalid, needs_tags, precheck, settled,
};
pub use cleanup::{cleanup, deletion_refused_message};
use create::plan_create;
pub use create::{after_create, client_request_token, create_request};
pub use existing::creating_poll;
use existing::plan_existing;

/// One call to make to Bedrock: create the model, or the calls every kind shares (a model
/// changes nothing in place).
pub type Action = Call<CreateRequest>;

/// The outcome of planning a model's reconcile.
pub type Plan = outcome::Plan<BedrockCustomModelStatus, Action>;

/// What the operator saw in Bedrock before deciding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// The model: looked up by status.modelArn, or by name when the status has none.
    pub model: Option<RemoteModel>,
    /// Its tags, when they were read.
    pub tags: Option<BTreeMap<String, String>>,
    /// Whether a sweep (one ListCustomModels per region) watches this region for imports that
    /// finish, so that a Creating model needs only a rare poll of its own.
    pub swept: bool,
    /// Whether the resource the model's owner tag names still exists, when another resource's
    /// tag made the observe step look it up (see [`ownership::owner_to_look_up`]).
    pub owner: Liveness,
    /// The cluster this operator serves, as owner tags name it: read from the API server at
    /// start-up (or given by `--cluster-name`).
    pub cluster: String,
}

/// NameConflict: the model `arn` named `name` is not this resource's to take. The status keeps
/// no model (this resource is not the model's), so nothing keyed by the model's ARN (the sweep,
/// the deletion) treats this resource as its.
pub fn name_conflict(
    resource: &BedrockCustomModel,
    region: &str,
    mut status: BedrockCustomModelStatus,
    arn: &str,
    holder: Option<&Holder>,
    timing: &Timing,
) -> Plan {
    let name = model_name(resource);
    clear_model(&mut status);
    let found = ownership::Found {
        noun: "model",
        field: "spec.modelName",
        name: &name,
        region,
        arn,
    };
    let adopt = resource.spec.adoption_policy == AdoptionPolicy::Adopt;
    let message = ownership::name_conflict_message(&found, holder, adopt);
    blocked(
        resource,
        status,
        reason::NAME_CONFLICT,
        message,
        Next::After(timing.slow_retry),
    )
}

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
pub fn immutable_changes(desired: &CreatedWith, current: &CreatedWith) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if desired.model_name != current.model_name {
        changed.push("modelName");
    }
    if current.source.is_some() && desired.source != current.source {
        changed.push("source");
    }
    if !current.adopted && desired.role_arn != current.role_arn {
        changed.push("roleArn");
    }
    if desired.kms_key_arn != current.kms_key_arn {
        changed.push("kmsKeyArn");
    }
    if desired.region != current.region {
        changed.push("region");
    }
    changed
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

fn is_failed(status: &BedrockCustomModelStatus) -> bool {
    status.model_status == Some(ModelStatus::Failed)
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

/// Where the observe step should look for the model.
pub fn lookup(resource: &BedrockCustomModel) -> Lookup {
    let arn = resource
        .status
        .as_ref()
        .and_then(|s| s.model_arn.as_deref());
    Lookup::new(arn, &model_name(resource))
}

fn desired_tags(resource: &BedrockCustomModel, cluster: &str) -> BTreeMap<String, String> {
    tags::desired(&resource.spec.tags, &resource.metadata, cluster)
}

/// Plans a reconcile of a resource that is not being deleted, given what Bedrock said.
pub fn plan_apply(
    resource: &BedrockCustomModel,
    valid: &ValidModel,
    region: &str,
    observation: &Observation,
    timing: &Timing,
    elapsed_since_creation: Option<Duration>,
) -> Plan {
    let mut status = base_status(resource, region);
    let me = Me::of(&resource.metadata, &observation.cluster);
    let adopt = resource.spec.adoption_policy == AdoptionPolicy::Adopt;
    let (held, tags) = (status.model_arn.clone(), observation.tags.as_ref());
    let found = observation.model.as_ref();
    let elapsed = elapsed_since_creation;
    match ownership::matching(held, found, tags, &me, adopt, observation.owner) {
        Match::Create => plan_create(
            resource,
            valid,
            region,
            status,
            &observation.cluster,
            Vec::new(),
        ),
        // Created by this resource earlier (e.g. just before a crash): take it back.
        Match::TakeBack(model) => {
            status.created_with = Some(desired_parameters(resource, region));
            hold(&mut status, model, region);
            plan_existing(
                resource,
                region,
                status,
                model,
                observation,
                timing,
                elapsed,
            )
        }
        Match::Adopt { found: model, from } => {
            status.created_with = Some(CreatedWith {
                model_name: model.name.clone(),
                source: None,
                role_arn: None,
                kms_key_arn: model.kms_key_arn.clone(),
                region: region.to_string(),
                adopted: true,
            });
            hold(&mut status, model, region);
            let mut plan = plan_existing(
                resource,
                region,
                status,
                model,
                observation,
                timing,
                elapsed,
            );
            claim_model(&mut plan, resource, &model.arn, &observation.cluster);
            let noun = "Bedrock model";
            let message = ownership::adopted_message(noun, &model.name, &model.arn, from.as_ref());
            plan.events
                .insert(0, Note::normal(event::ADOPTED, "Adopt", message));
            plan
        }
        Match::Conflict {
            found: model,
            holder,
        } => name_conflict(
            resource,
            region,
            status,
            &model.arn,
            holder.as_ref(),
            timing,
        ),
        Match::Missing { arn } => {
            // The model is gone although nobody asked this operator to delete it.
            let was_failed = is_failed(&status);
            status.recreations += 1;
            clear_model(&mut status);
            let events = if was_failed {
                Vec::new()
            } else {
                vec![Note::warning(
                    event::MODEL_MISSING,
                    "Recreate",
                    format!(
                        "Bedrock model {arn} disappeared outside the operator; creating it again"
                    ),
                )]
            };
            plan_create(
                resource,
                valid,
                region,
                status,
                &observation.cluster,
                events,
            )
        }
        Match::Held(model) => plan_existing(
            resource,
            region,
            status,
            model,
            observation,
            timing,
            elapsed,
        ),
    }
}

/// Holds the model found by name (taken back or adopted).
fn hold(status: &mut BedrockCustomModelStatus, model: &RemoteModel, region: &str) {
    status.model_arn = Some(model.arn.clone());
    status.region = Some(region.to_string());
}

/// Turns an adoption's tag change into a claim: the owner tags go on the model first thing
/// (whatever its state), together with the spec's tags when the plan sets them.
fn claim_model(plan: &mut Plan, resource: &BedrockCustomModel, arn: &str, cluster: &str) {
    let owner = tags::operator_tags(
        resource.metadata.namespace.as_deref().unwrap_or_default(),
        resource.metadata.name.as_deref().unwrap_or_default(),
        resource.metadata.uid.as_deref().unwrap_or_default(),
        cluster,
    );
    call::claim_first(plan, arn, owner);
    // The next look reads the tags again: should another process have claimed the model in the
    // same moment after this one read its claim back (a leader failover), the later reader
    // finds out then, not an hour later.
    plan.status.tags_synced_generation = resource
        .status
        .as_ref()
        .and_then(|s| s.tags_synced_generation);
}

/// Forgets the current model. `created_with` stays (it is replaced when the next model is
/// created, and unused until then) because dropping a nested object through server-side apply
/// is unreliable on older API servers.
fn clear_model(status: &mut BedrockCustomModelStatus) {
    status.model_arn = None;
    status.model_status = None;
    status.failure_message = None;
    status.creation_time = None;
}

/// How the model's failures are worded.
pub fn subject(model_name: &str) -> Subject<'_> {
    Subject {
        noun: "model",
        name: model_name,
        access_hint: ", including iam:PassRole on spec.roleArn",
        quota_hint: "Delete unused custom models or request a quota increase",
        not_found_hint: "Check spec.source and spec.roleArn",
    }
}

/// How a failed call shows on the resource: `None` for transient failures not yet worth a
/// status write (they are retried with backoff).
pub fn failure_conditions(
    error: &BedrockError,
    model_name: &str,
    consecutive_failures: u32,
    timing: &Timing,
) -> Option<Vec<Desired>> {
    outcome::failure_conditions(error, &subject(model_name), consecutive_failures, timing)
}

#[cfg(test)]
#[path = "../plan_tests/mod.rs"]
mod tests;
