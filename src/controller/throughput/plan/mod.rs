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

use crate::api::conditions::reason;
#[cfg(test)]
use crate::api::tags;
use crate::api::throughput::{
    BedrockProvisionedThroughput, BedrockProvisionedThroughputStatus, ThroughputCreatedWith,
    ThroughputModel, ThroughputStatus, ValidThroughput,
};
use crate::bedrock::{CreateThroughputRequest, RemoteThroughput, UpdateThroughputRequest};
use crate::controller::call::Call;
pub use crate::controller::cleanup::Cleanup;
use crate::controller::held::{self, HeldStatus};
use crate::controller::outcome::Words;
use crate::controller::outcome::{self, Note};
use crate::controller::reference;
pub use crate::controller::reference::Resolution;
pub use crate::controller::serving::region_mismatch;
use crate::controller::serving::{self, serving_tables};

pub use checks::{adoption_refused, invalid, precheck};
pub use cleanup::{cleanup, committed_message, retained_message};
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
use crate::api::{AdoptionPolicy, BedrockCustomModel};
#[cfg(test)]
use crate::api::{DeletionPolicy, RETRY_ANNOTATION};
#[cfg(test)]
use crate::bedrock::{BedrockError, ThroughputState};
#[cfg(test)]
use crate::controller::guards::{Guards, Holding};
#[cfg(test)]
use crate::controller::held::settled;
#[cfg(test)]
use crate::controller::outcome::Timing;
#[cfg(test)]
use cleanup::TERM_SLACK;
#[cfg(test)]
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
#[cfg(test)]
use k8s_openapi::jiff::Timestamp;

/// One call to make to Bedrock: buy the throughput (CreateProvisionedModelThroughput), rename
/// it or swap its model in place (UpdateProvisionedModelThroughput), or the calls every kind
/// shares.
pub type Action = Call<CreateThroughputRequest, UpdateThroughputRequest>;

/// The outcome of planning a throughput's reconcile.
pub type Plan = outcome::Plan<BedrockProvisionedThroughputStatus, Action>;

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

/// How the provisioned throughput's messages word it, and what a person can do.
pub const WORDS: Words = Words {
    noun: "provisioned throughput",
    access_hint: "",
    quota_hint: "Model units for custom models must be granted to the account by AWS first: request a Provisioned Throughput quota increase (model units) in Service Quotas, or delete unused throughputs",
    not_found_hint: "Check spec.modelRef or spec.modelId",
    deletion_refused: "The operator keeps the finalizer and retries with backoff (a commitment term that has not ended is the usual cause), or set spec.deletionPolicy: Retain to keep the throughput (it keeps billing) and let the resource go",
};

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
impl held::Fixed for ThroughputCreatedWith {
    fn changes(&self, current: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.model_units != current.model_units {
            changed.push("modelUnits");
        }
        if self.commitment_duration != current.commitment_duration {
            changed.push("commitmentDuration");
        }
        if self.region != current.region {
            changed.push("region");
        }
        changed
    }
}

serving_tables!(BedrockProvisionedThroughput {
    valid: ValidThroughput {
        name: name,
        model: ThroughputModel::Id = "spec.modelId",
    },
    status: BedrockProvisionedThroughputStatus,
    spec_model: model_id,
});

held::held_status!(BedrockProvisionedThroughputStatus {
    created_with: ThroughputCreatedWith,
    arn: provisioned_model_arn,
    state: throughput_status {
        failed: ThroughputStatus::Failed,
        serving: ThroughputStatus::InService => reason::IN_SERVICE,
        synced_too: true,
    },
    clear: [
        model_arn,
        model_units,
        commitment_duration,
        commitment_expiration_time,
        failure_message,
    ],
});

/// The throughput's own branches of the shared match.
pub(super) type Throughput<'a> = serving::Given<'a, BedrockProvisionedThroughput>;

impl held::Branches for Throughput<'_> {
    type Kind = BedrockProvisionedThroughput;
    const MISSING: &'static str = reason::THROUGHPUT_MISSING;
    const CLAIMS_SPEC_TAGS: bool = true;

    fn create(&self, status: BedrockProvisionedThroughputStatus, events: Vec<Note>) -> Plan {
        plan_create(self, status, events)
    }
    fn existing(
        &self,
        status: BedrockProvisionedThroughputStatus,
        found: &RemoteThroughput,
    ) -> Plan {
        plan_existing(self, status, found)
    }
    fn created_with(&self) -> ThroughputCreatedWith {
        created_with(self.valid, self.region)
    }
    fn adopted_with(&self, found: &RemoteThroughput) -> ThroughputCreatedWith {
        ThroughputCreatedWith {
            model_units: found.model_units,
            commitment_duration: found.commitment.as_deref().and_then(commitment),
            region: self.region.to_string(),
            adopted: true,
        }
    }
    /// A throughput that disappeared is bought again only under the purchase rules.
    fn missing(&self, status: BedrockProvisionedThroughputStatus, arn: &str) -> Plan {
        plan_missing(self, status, arn)
    }
}

#[cfg(test)]
#[path = "../plan_tests/mod.rs"]
mod tests;
