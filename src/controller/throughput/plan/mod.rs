//! Every decision of a BedrockProvisionedThroughput reconcile, as pure functions from
//! (resource, validated spec, observation, timing, now) to (calls, next status, events, when to
//! look again). No I/O: unit-tested with plain values in `plan_tests.rs`.
//!
//! Money first: nothing is bought while the spec is invalid, while a commitment is not
//! confirmed by the annotation (or not allowed in the namespace), while it would exceed a
//! tenant guard's limit of model units, or while the model is not ready; a committed throughput that disappeared is not bought again without a new retry
//! value; a committed throughput is not deleted (nor Bedrock asked to) before its term ends.
//!
//! The topic files: `purchase_guards` (the guards and budget of a purchase), `checks` (the other
//! refusals before any call, settled, needs_tags), `purchase` (buying, and buying again after a
//! throughput disappeared), `existing` (a throughput that exists: states, in service, swaps and
//! renames), `cleanup` (deleting the resource, the commitment term, its messages).

mod checks;
mod cleanup;
mod existing;
mod purchase;
mod purchase_guards;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::api::conditions::{event, reason};
use crate::api::throughput::{
    BedrockProvisionedThroughput, BedrockProvisionedThroughputStatus, ThroughputCreatedWith,
    ThroughputModel, ThroughputStatus, ValidThroughput,
};
use crate::api::{AdoptionPolicy, BedrockCustomModel, tags};
use crate::bedrock::{CreateThroughputRequest, RemoteThroughput, UpdateThroughputRequest};
use crate::controller::call::{self, Call};
pub use crate::controller::cleanup::Cleanup;
use crate::controller::outcome::{self, Next, Note, Subject, Timing};
use crate::controller::ownership::{self, Holder, Match, Me};
use crate::controller::reference;
pub use crate::controller::reference::{Lookup, Resolution};

pub use checks::{adoption_refused, invalid, needs_tags, precheck, region_mismatch, settled};
pub use cleanup::{cleanup, committed_message, deletion_refused_message, retained_message};
use existing::plan_existing;
pub use existing::{after_update, units_in_service};
pub use purchase::after_create;
use purchase::{commitment, plan_create, plan_missing};
pub use purchase_guards::{budget_refused, guard_refused, purchase_refused};

// The names the tests (`use super::*`) took from the single plan file.
#[cfg(test)]
use crate::api::conditions::{self, Desired};
#[cfg(test)]
use crate::api::throughput::CommitmentDuration;
#[cfg(test)]
use crate::api::validation;
#[cfg(test)]
use crate::api::{DeletionPolicy, RETRY_ANNOTATION};
#[cfg(test)]
use crate::bedrock::{BedrockError, ThroughputState};
#[cfg(test)]
use crate::controller::guards::{Guards, Holding};
#[cfg(test)]
use cleanup::TERM_SLACK;
#[cfg(test)]
use k8s_openapi::jiff::Timestamp;

/// One call to make to Bedrock: buy the throughput (CreateProvisionedModelThroughput), rename
/// it or swap its model in place (UpdateProvisionedModelThroughput), or the calls every kind
/// shares.
pub type Action = Call<CreateThroughputRequest, UpdateThroughputRequest>;

/// The outcome of planning a throughput's reconcile.
pub type Plan = outcome::Plan<BedrockProvisionedThroughputStatus, Action>;

/// Resolves the spec's model: a modelId as it is; a modelRef from the referenced resource's
/// status, only once that model is Ready.
pub fn resolve(target: &ThroughputModel, model: Option<&BedrockCustomModel>) -> Resolution {
    match target {
        ThroughputModel::Id(id) => Resolution::Resolved {
            arn: id.clone(),
            region: target.arn_region().map(str::to_string),
        },
        ThroughputModel::Ref(name) => reference::resolve_ref(name, model),
    }
}

fn unresolved(resolution: &Resolution) -> (&'static str, String) {
    reference::unresolved(resolution, "throughput")
}

/// Whether `wanted` (a model ARN, or a foundation model ID) names the model Bedrock reports as
/// `arn`: the same ARN, or the foundation model ARN that ends with that ID.
pub fn same_model(wanted: &str, arn: &str) -> bool {
    wanted == arn
        || (!wanted.starts_with("arn:") && arn.ends_with(&format!(":foundation-model/{wanted}")))
}

/// What the operator saw before deciding.
pub type Observation = reference::Observation<RemoteThroughput>;

pub fn lookup(resource: &BedrockProvisionedThroughput, valid: &ValidThroughput) -> Lookup {
    let arn = resource
        .status
        .as_ref()
        .and_then(|s| s.provisioned_model_arn.as_deref());
    Lookup::new(arn, &valid.name)
}

/// The region of the throughput: the one it lives in once it exists; for a new one spec.region,
/// else the model's, else the operator's default.
pub fn region(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    model: &Resolution,
    default_region: &str,
) -> String {
    resource
        .status
        .as_ref()
        .filter(|s| s.provisioned_model_arn.is_some())
        .and_then(|s| s.region.clone())
        .unwrap_or_else(|| valid.region(model.region(), default_region))
}

/// How the throughput's failures are worded.
pub fn subject(name: &str) -> Subject<'_> {
    Subject {
        noun: "provisioned throughput",
        name,
        access_hint: "",
        quota_hint: "Model units for custom models must be granted to the account by AWS first: request a Provisioned Throughput quota increase (model units) in Service Quotas, or delete unused throughputs",
        not_found_hint: "Check spec.modelRef or spec.modelId",
    }
}

/// The resource's conditions as they stand.
pub fn current_conditions(resource: &BedrockProvisionedThroughput) -> &[Condition] {
    resource
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

/// The status every plan starts from: the current one, brought to this generation.
pub fn base_status(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    region: &str,
) -> BedrockProvisionedThroughputStatus {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    if status.provisioned_model_arn.is_none() {
        status.provisioned_model_name = Some(valid.name.clone());
        status.region = Some(region.to_string());
    }
    status.conditions.clear();
    status
}

fn created_with(valid: &ValidThroughput, region: &str) -> ThroughputCreatedWith {
    ThroughputCreatedWith {
        model_units: valid.model_units,
        commitment_duration: valid.commitment,
        region: region.to_string(),
        adopted: false,
    }
}

/// The fields Bedrock cannot change whose spec value differs from what the throughput was
/// bought with, each with what to do instead.
pub fn immutable_changes(
    desired: &ThroughputCreatedWith,
    current: &ThroughputCreatedWith,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if desired.model_units != current.model_units {
        changed.push("modelUnits");
    }
    if desired.commitment_duration != current.commitment_duration {
        changed.push("commitmentDuration");
    }
    if desired.region != current.region {
        changed.push("region");
    }
    changed
}

fn is_failed(status: &BedrockProvisionedThroughputStatus) -> bool {
    status.throughput_status == Some(ThroughputStatus::Failed)
}

fn desired_tags(
    resource: &BedrockProvisionedThroughput,
    cluster: &str,
) -> BTreeMap<String, String> {
    tags::desired(&resource.spec.tags, &resource.metadata, cluster)
}

/// Plans a reconcile of a throughput that is not being deleted, given what was observed.
/// `elapsed` is how long the throughput (or its update) has been in progress.
pub fn plan_apply(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
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
    let (held, tags) = (
        status.provisioned_model_arn.clone(),
        observation.tags.as_ref(),
    );
    let found = observation.remote.as_ref();
    match ownership::matching(held, found, tags, &me, adopt, observation.owner) {
        Match::Create => plan_create(resource, valid, region, status, observation, Vec::new()),
        Match::TakeBack(found) => {
            status.created_with = Some(created_with(valid, region));
            hold(&mut status, found, region);
            plan_existing(resource, valid, status, found, observation, timing, elapsed)
        }
        Match::Adopt { found, from } => {
            status.created_with = Some(ThroughputCreatedWith {
                model_units: found.model_units,
                commitment_duration: found.commitment.as_deref().and_then(commitment),
                region: region.to_string(),
                adopted: true,
            });
            status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
            hold(&mut status, found, region);
            let mut plan =
                plan_existing(resource, valid, status, found, observation, timing, elapsed);
            claim_throughput(&mut plan, resource, &found.arn, &observation.cluster);
            let noun = "provisioned throughput";
            let message = ownership::adopted_message(noun, &found.name, &found.arn, from.as_ref());
            plan.events
                .insert(0, Note::normal(event::ADOPTED, "Adopt", message));
            plan
        }
        Match::Conflict { found, holder } => {
            status.region = Some(region.to_string());
            name_conflict(resource, valid, status, found, holder.as_ref(), timing)
        }
        Match::Missing { arn } => plan_missing(resource, valid, region, status, observation, &arn),
        Match::Held(found) => {
            plan_existing(resource, valid, status, found, observation, timing, elapsed)
        }
    }
}

/// Holds the throughput found by name (taken back or adopted).
fn hold(status: &mut BedrockProvisionedThroughputStatus, found: &RemoteThroughput, region: &str) {
    status.region = Some(region.to_string());
    status.provisioned_model_arn = Some(found.arn.clone());
}

/// NameConflict: the throughput found by name is not this resource's to take.
fn name_conflict(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    mut status: BedrockProvisionedThroughputStatus,
    found: &RemoteThroughput,
    holder: Option<&Holder>,
    timing: &Timing,
) -> Plan {
    clear_throughput(&mut status);
    let region = status.region.clone().unwrap_or_default();
    let (name, arn) = (&found.name, &found.arn);
    let found = ownership::Found {
        noun: "provisioned throughput",
        field: "spec.provisionedModelName",
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

/// Turns the plan of an adopted throughput into a claim: the owner tags and spec.tags go on
/// first, in one call that is read back, before anything else is done to it.
fn claim_throughput(
    plan: &mut Plan,
    resource: &BedrockProvisionedThroughput,
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

/// Forgets the current throughput (`createdWith` stays: it is replaced at the next purchase).
fn clear_throughput(status: &mut BedrockProvisionedThroughputStatus) {
    status.provisioned_model_arn = None;
    status.throughput_status = None;
    status.model_arn = None;
    status.model_units = None;
    status.commitment_duration = None;
    status.commitment_expiration_time = None;
    status.failure_message = None;
}

impl reference::Serves for BedrockProvisionedThroughput {
    fn model_ref(&self) -> Option<&str> {
        self.spec.model_ref.as_ref().map(|r| r.name.as_str())
    }
    fn model_arns(&self) -> [Option<&str>; 3] {
        let status = self.status.as_ref();
        [
            self.spec.model_id.as_deref(),
            status.and_then(|s| s.model_arn.as_deref()),
            status.and_then(|s| s.desired_model_arn.as_deref()),
        ]
    }
}

#[cfg(test)]
#[path = "../plan_tests.rs"]
mod tests;
