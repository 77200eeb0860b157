//! An import that exists: the job in progress (polled), Failed (replaced on a retry or a
//! changed field), Completed with its imported model (Ready, tags kept in sync), or Completed
//! with the model gone (imported again).

use super::*;
use crate::api::CustomModelUnits;
use crate::api::RETRY_ANNOTATION;
use crate::api::conditions::{self, Desired, reason};
use crate::bedrock::{ImportedModel, JobState};
use crate::controller::kind::Managed;
use crate::controller::outcome::poll_delay;

/// How a failed import is worded.
const FAILURE: held::Failure = held::Failure {
    event: event::MODEL_FAILED,
    message: |name, failure| {
        format!(
            "Bedrock could not import model {name}: {failure}. Fix the spec (changing source, roleArn, kmsKeyId or vpcConfig starts a new import) or set the {RETRY_ANNOTATION} annotation to a new value to try again"
        )
    },
};

pub(super) fn plan_existing(
    given: &Imported<'_>,
    mut status: BedrockImportedModelStatus,
    import: &RemoteImport,
) -> Plan {
    let job = &import.job;
    status.job_arn = Some(job.arn.clone());
    status.job_name = Some(job.name.clone()).filter(|name| !name.is_empty());
    status.job_status = Some(JobStatus::from(&job.state));
    status.failure_message = job
        .failure_message
        .clone()
        .filter(|_| job.state == JobState::Failed);
    let name = &import.name;
    match (&job.state, &import.model) {
        (JobState::Failed, _) => {
            let desired = desired_parameters(given.resource, given.region);
            held::failed(given.resource, status, import, &desired, &FAILURE)
        }
        (JobState::Completed, Some(model)) => ready(given, status, import, model),
        (JobState::Completed, None) => {
            let what = format!("Bedrock imported model {name}");
            held::recreate(given, status, &what, "importing it again")
        }
        (JobState::InProgress | JobState::Other(_), _) => {
            let message = importing(name, &job.name);
            let delay = poll_delay(given.timing, given.elapsed.unwrap_or_default());
            outcome::still_creating(status, message, delay)
        }
    }
}

/// A Completed import with its model: the model's facts in the status, its tags kept in sync
/// with the job's, Ready.
fn ready(
    given: &Imported<'_>,
    mut status: BedrockImportedModelStatus,
    import: &RemoteImport,
    model: &ImportedModel,
) -> Plan {
    let resource = given.resource;
    let previous = resource.status.as_ref();
    let first_sight = previous.and_then(|s| s.imported_model_arn.as_deref()) != Some(&model.arn);
    status.imported_model_arn = Some(model.arn.clone());
    status.model_architecture = model.architecture.clone();
    status.instruct_supported = model.instruct_supported;
    status.custom_model_units = (model.units_per_copy.is_some() || model.units_version.is_some())
        .then(|| CustomModelUnits {
            custom_model_units_per_model_copy: model.units_per_copy,
            custom_model_units_version: model.units_version.clone(),
        });
    status.creation_time = model.creation_time.clone();

    let cluster = &given.observation.cluster;
    let job_calls = held::sync_tags(
        &mut status,
        &import.arn,
        resource.spec_tags(),
        &resource.metadata,
        given.observation.tags.as_ref(),
        cluster,
    );
    // The model carries what the job carries: the same changes, made on both (once, when the
    // job record is gone and the model is held by its own ARN).
    let mut actions = Vec::new();
    for call in job_calls {
        if import.arn != model.arn {
            actions.push(on_model(&call, &model.arn));
        }
        actions.push(call);
    }
    let adopted = status.created_with.as_ref().is_some_and(|c| c.adopted);
    if adopted && first_sight {
        // An adopted model was claimed through its job: the model gets the same tags once.
        actions.push(Call::Tag {
            arn: model.arn.clone(),
            tags: resource.desired_tags(cluster),
        });
    }
    let architecture = model.architecture.as_deref().unwrap_or("unknown");
    let message = format!(
        "Bedrock imported model {} is Active (architecture {architecture})",
        import.name
    );
    let was_ready = previous.and_then(|s| s.job_status) == Some(JobStatus::Completed);
    let events = if was_ready && !first_sight {
        Vec::new()
    } else {
        vec![Note::normal(reason::ACTIVE, "Create", message.clone())]
    };
    let ready = Desired::new(conditions::READY, true, reason::ACTIVE, message.clone());
    outcome::serving(actions, status, ready, message, events)
}

/// A tag call of the job, made on the model `arn` instead.
fn on_model(call: &Action, arn: &str) -> Action {
    match call {
        Call::Tag { tags, .. } => Call::Tag {
            arn: arn.to_string(),
            tags: tags.clone(),
        },
        Call::Untag { keys, .. } => Call::Untag {
            arn: arn.to_string(),
            keys: keys.clone(),
        },
        other => other.clone(),
    }
}

/// Ready False (Creating) while the job runs: the same words right after the create as at every
/// poll, so that polling a running job writes nothing.
pub(super) fn importing(name: &str, job: &str) -> String {
    format!("Bedrock is importing model {name} (job {job})")
}
