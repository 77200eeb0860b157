//! Every decision of a BedrockImportedModel reconcile, as pure functions from (resource,
//! observation, timing) to (calls, next status, events, when to look again). No I/O:
//! unit-tested with plain values in `plan_tests/`.
//!
//! The resource holds its import job (status.jobArn: the ARN its owner tags are read from and
//! the shared match keys on); the imported model the job makes is read with it. The topic
//! files: `checks` (refusals before any call), `create` (the job's request, its name and
//! token), `existing` (a job that exists: in progress, Failed, Completed with its model).

mod checks;
mod create;
mod existing;

use crate::controller::outcome::Words;
use std::time::Duration;

use crate::api::conditions::event;
use crate::api::{
    AdoptionPolicy, BedrockImportedModel, BedrockImportedModelStatus, ImportCreatedWith, JobStatus,
    ValidImported,
};
use crate::bedrock::{CreateImportRequest, RemoteImport};
use crate::controller::call::Call;
use crate::controller::held;
use crate::controller::outcome::{self, Note, Timing};
use crate::controller::ownership::Holder;

pub use checks::{guards_refused, immutable_changed};
pub use create::after_create;
#[cfg(test)]
pub use create::{create_request, job_name};

/// One call to make to Bedrock: start the import job, or the calls every kind shares (an
/// imported model changes nothing in place).
pub type Action = Call<CreateImportRequest>;

/// The outcome of planning an imported model's reconcile.
pub type Plan = outcome::Plan<BedrockImportedModelStatus, Action>;

/// What the operator saw before deciding: the import (by status.jobArn, or by the imported
/// model's name while the status holds no job) and its job's tags.
pub type Observation = held::Observation<RemoteImport>;

/// The parameters the spec asks to import the model with.
pub fn desired_parameters(resource: &BedrockImportedModel, region: &str) -> ImportCreatedWith {
    let spec = &resource.spec;
    ImportCreatedWith {
        imported_model_name: resource.imported_model_name().to_string(),
        s3_uri: spec.source.s3_uri.clone(),
        role_arn: Some(spec.role_arn.clone()),
        kms_key_id: spec.kms_key_id.clone(),
        vpc_config: spec.vpc_config.clone(),
        region: region.to_string(),
        adopted: false,
    }
}

/// The fields whose spec value differs from what the import was started with (an adopted
/// model's role, key and VPC are not known: not compared).
impl held::Fixed for ImportCreatedWith {
    fn changes(&self, current: &Self) -> Vec<&'static str> {
        let adopted = current.adopted;
        [
            (
                "importedModelName",
                self.imported_model_name != current.imported_model_name,
            ),
            (
                "source",
                !current.s3_uri.is_empty() && self.s3_uri != current.s3_uri,
            ),
            ("roleArn", !adopted && self.role_arn != current.role_arn),
            (
                "kmsKeyId",
                !adopted && self.kms_key_id != current.kms_key_id,
            ),
            (
                "vpcConfig",
                !adopted && self.vpc_config != current.vpc_config,
            ),
            ("region", self.region != current.region),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect()
    }
}

/// The status every plan starts from: the current one, brought to this generation.
pub fn base_status(resource: &BedrockImportedModel, region: &str) -> BedrockImportedModelStatus {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    status.imported_model_name = Some(resource.imported_model_name().to_string());
    if status.job_arn.is_none() {
        status.region = Some(region.to_string());
    }
    status.conditions.clear();
    status
}

held::held_status!(BedrockImportedModelStatus {
    created_with: ImportCreatedWith,
    arn: job_arn,
    state: job_status {
        failed: JobStatus::Failed,
        serving: JobStatus::Completed => crate::api::conditions::reason::ACTIVE,
        synced_too: false,
    },
    clear: [
        job_name,
        imported_model_arn,
        model_architecture,
        instruct_supported,
        custom_model_units,
        failure_message,
        creation_time,
    ],
});

/// Plans a reconcile of a resource that is not being deleted, given what Bedrock said.
pub fn plan_apply(
    resource: &BedrockImportedModel,
    valid: &ValidImported,
    region: &str,
    observation: &Observation,
    timing: &Timing,
    elapsed: Option<Duration>,
) -> Plan {
    let status = base_status(resource, region);
    let given = Imported::new(resource, valid, region, observation, timing, elapsed);
    held::plan(given, status)
}

/// The imported model's own branches of the shared match.
pub(super) type Imported<'a> =
    held::Given<'a, BedrockImportedModel, ValidImported, Observation, Option<Duration>>;

impl held::Branches for Imported<'_> {
    type Kind = BedrockImportedModel;
    const MISSING: &'static str = event::MODEL_MISSING;
    /// The owner tags and the spec's go on the adopted job together; the model gets them when
    /// the plan first sees it ([`existing`]).
    const CLAIMS_SPEC_TAGS: bool = true;

    fn create(&self, status: BedrockImportedModelStatus, events: Vec<Note>) -> Plan {
        create::plan_create(self, status, events)
    }
    fn existing(&self, status: BedrockImportedModelStatus, found: &RemoteImport) -> Plan {
        existing::plan_existing(self, status, found)
    }
    fn created_with(&self) -> ImportCreatedWith {
        desired_parameters(self.resource, self.region)
    }
    /// The spec's values, but the source and role the job ran with: the spec may have changed
    /// between the create and a crash before the status write.
    fn taken_back_with(&self, found: &RemoteImport) -> ImportCreatedWith {
        let desired = desired_parameters(self.resource, self.region);
        ImportCreatedWith {
            s3_uri: found.job.s3_uri.clone().unwrap_or(desired.s3_uri),
            role_arn: found.job.role_arn.clone().or(desired.role_arn),
            ..desired
        }
    }
    fn adopted_with(&self, found: &RemoteImport) -> ImportCreatedWith {
        ImportCreatedWith {
            imported_model_name: found.name.clone(),
            s3_uri: found.job.s3_uri.clone().unwrap_or_default(),
            region: self.region.to_string(),
            adopted: true,
            ..ImportCreatedWith::default()
        }
    }
}

/// NameConflict after a call found the job `arn` another resource's.
pub fn name_conflict(
    resource: &BedrockImportedModel,
    region: &str,
    arn: &str,
    holder: Option<&Holder>,
    timing: &Timing,
) -> Plan {
    let name = resource.imported_model_name();
    let conflict = held::Conflict {
        name,
        arn,
        region,
        holder,
        adopt: resource.spec.adoption_policy == AdoptionPolicy::Adopt,
    };
    let status = base_status(resource, region);
    held::name_conflict(resource, status, &conflict, timing.slow_retry)
}

/// How the imported model's messages word it, and what a person can do.
pub const WORDS: Words = Words {
    noun: "imported model",
    access_hint: ", including iam:PassRole on spec.roleArn",
    quota_hint: "Delete imported models you no longer need, wait for a running import job to end, or request a quota increase",
    not_found_hint: "Check spec.source.s3Uri and spec.roleArn",
    deletion_refused: "The ARN is its import job's. The operator keeps the finalizer and retries with backoff; wait for a running import to end, remove what uses the model, or set spec.deletionPolicy: Retain to keep the model and let the resource go",
};

#[cfg(test)]
#[path = "../plan_tests/mod.rs"]
mod tests;
