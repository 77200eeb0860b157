//! Planning a throughput that exists: its states (Creating, Updating, Failed, InService), the
//! rename or model swap in place, tag drift, and the model units in service.

use std::time::Duration;

use crate::api::RETRY_ANNOTATION;
use crate::api::conditions::{self, Desired, event, reason};
use crate::api::throughput::{
    BedrockProvisionedThroughput, BedrockProvisionedThroughputStatus, ThroughputStatus,
    ValidThroughput,
};
use crate::bedrock::{RemoteThroughput, ThroughputState, UpdateThroughputRequest};
use crate::controller::kind::Managed;
use crate::controller::outcome::{self, Next, Note, Timing};

use super::Throughput;
use super::purchase::creating_message;
use super::{Action, Observation, Plan, created_with, same_model, unresolved};
use crate::controller::held;
use crate::controller::rollout;

/// The status once Update has been accepted.
pub fn after_update(plan: &mut Plan, timing: &Timing) {
    plan.status.throughput_status = Some(ThroughputStatus::Updating);
    plan.next = Next::Poll(outcome::poll_delay(timing, Duration::ZERO));
}

pub(super) fn throughput_status(state: &ThroughputState) -> ThroughputStatus {
    match state {
        ThroughputState::Creating => ThroughputStatus::Creating,
        ThroughputState::InService => ThroughputStatus::InService,
        ThroughputState::Updating => ThroughputStatus::Updating,
        ThroughputState::Failed => ThroughputStatus::Failed,
        ThroughputState::Other(_) => ThroughputStatus::Unknown,
    }
}

/// Ready's message while the throughput serves (also during a swap).
pub(super) fn in_service_message(name: &str, model_units: i32, serving: &str) -> String {
    format!(
        "provisioned throughput {name} is InService with {}, serving {serving}",
        units(model_units)
    )
}

/// Synced's message while a model swap runs: the same from the plan that starts it and from
/// the polls that follow it.
pub(super) fn swapping_message(name: &str, model: &str, serving: &str) -> String {
    format!(
        "swapping model {model} into provisioned throughput {name}; it serves {serving} until then"
    )
}

/// "1 model unit", "2 model units".
pub(super) fn units(count: i32) -> String {
    if count == 1 {
        "1 model unit".to_string()
    } else {
        format!("{count} model units")
    }
}

/// Units in service: those of a throughput that serves (InService, or Updating, which keeps
/// serving the old model); none while Creating or Failed.
pub fn units_in_service(status: &BedrockProvisionedThroughputStatus) -> i32 {
    match status.throughput_status {
        Some(ThroughputStatus::InService | ThroughputStatus::Updating) => {
            status.model_units.unwrap_or_default()
        }
        _ => 0,
    }
}

/// How a throughput's failure is worded.
const FAILURE: held::Failure = held::Failure {
    event: event::THROUGHPUT_FAILED,
    message: |name, failure| {
        format!(
            "Bedrock could not provision throughput {name}: {failure}. Set the {RETRY_ANNOTATION} annotation to a new value to try again, or delete the resource"
        )
    },
};

pub(super) fn plan_existing(
    given: &Throughput<'_>,
    mut status: BedrockProvisionedThroughputStatus,
    found: &RemoteThroughput,
) -> Plan {
    let previous = given.resource.status.clone().unwrap_or_default();
    status.provisioned_model_arn = Some(found.arn.clone());
    status.provisioned_model_name = Some(found.name.clone());
    status.throughput_status = Some(throughput_status(&found.state));
    status.model_arn = Some(found.model_arn.clone());
    status.model_units = Some(found.model_units);
    status.commitment_duration = found.commitment.clone();
    status.commitment_expiration_time = found.commitment_expiration_time.clone();
    status.failure_message = found
        .failure_message
        .clone()
        .filter(|_| found.state == ThroughputState::Failed);
    let mut plan = plan_state(
        given.resource,
        given.valid,
        status,
        found,
        given.observation,
        given.timing,
        given.elapsed,
    );
    // Cost visible: every change of the units in service is an event.
    let before = units_in_service(&previous);
    let now = units_in_service(&plan.status);
    if before != now {
        plan.events.push(Note::normal(
            event::MODEL_UNITS,
            "Provision",
            format!(
                "{} in service for provisioned throughput {} (was {before})",
                units(now),
                found.name
            ),
        ));
    }
    plan
}

pub(super) fn plan_state(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    status: BedrockProvisionedThroughputStatus,
    found: &RemoteThroughput,
    observation: &Observation,
    timing: &Timing,
    elapsed: Duration,
) -> Plan {
    let previous = resource.status.clone().unwrap_or_default();
    let name = &found.name;
    let serving = &found.model_arn;
    match &found.state {
        ThroughputState::Failed => {
            let desired = created_with(valid, status.region.as_deref().unwrap_or_default());
            held::failed(resource, status, found, &desired, &FAILURE)
        }
        ThroughputState::Creating | ThroughputState::Other(_) => {
            let message = creating_message(name);
            outcome::still_creating(status, message, outcome::poll_delay(timing, elapsed))
        }
        ThroughputState::Updating => {
            // The words of the plan that started the swap, so that its polls write nothing.
            let message = swapping_message(name, &found.desired_model_arn, serving);
            let announce = previous.throughput_status != Some(ThroughputStatus::Updating);
            let ready = Desired::new(
                conditions::READY,
                true,
                reason::IN_SERVICE,
                in_service_message(name, found.model_units, serving),
            );
            rollout::running(status, ready, message, announce, timing, elapsed)
        }
        ThroughputState::InService => {
            plan_in_service(resource, valid, status, found, observation, &previous)
        }
    }
}

pub(super) fn plan_in_service(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    mut status: BedrockProvisionedThroughputStatus,
    found: &RemoteThroughput,
    observation: &Observation,
    previous: &BedrockProvisionedThroughputStatus,
) -> Plan {
    let name = &found.name;
    let serving = &found.model_arn;
    let serving_message = in_service_message(name, found.model_units, serving);
    let ready = Desired::new(
        conditions::READY,
        true,
        reason::IN_SERVICE,
        serving_message.clone(),
    );
    let Some(desired_model) = observation.inputs.arn() else {
        // The model the spec names now cannot be resolved: keep serving, say why.
        let keeps = format!("the throughput keeps serving {serving}");
        let why = unresolved(&observation.inputs);
        return rollout::unresolved(resource.conditions(), status, ready, why, &keeps);
    };
    let rename = (valid.name != found.name).then(|| valid.name.clone());
    let swap = (!same_model(desired_model, serving)).then(|| desired_model.to_string());
    if rename.is_some() || swap.is_some() {
        let message = match (&rename, &swap) {
            (Some(new), Some(model)) => format!(
                "renaming provisioned throughput {name} to {new}; {}",
                swapping_message(new, model, serving)
            ),
            (Some(new), None) => format!("renaming provisioned throughput {name} to {new}"),
            (None, _) => swapping_message(name, desired_model, serving),
        };
        let renamed = rename.as_ref().map(|new| {
            let message = format!("provisioned throughput {name} is renamed {new}");
            Note::normal(event::RENAMED, "Update", message)
        });
        let update = Action::Update {
            arn: found.arn.clone(),
            change: UpdateThroughputRequest {
                name: rename,
                model_id: swap,
            },
        };
        return rollout::start(
            status,
            ready,
            update,
            message,
            renamed.into_iter().collect(),
        );
    }
    let actions = held::sync_tags(
        &mut status,
        &found.arn,
        &resource.spec.tags,
        &resource.metadata,
        observation.tags.as_ref(),
        &observation.cluster,
    );
    let ended = previous.throughput_status == Some(ThroughputStatus::Updating);
    let ended = ended.then(|| format!("provisioned throughput {name} now serves {serving}"));
    let became = previous.throughput_status != Some(ThroughputStatus::InService);
    let became = became.then_some(reason::IN_SERVICE);
    let events = rollout::settled_events(ended, became, &serving_message);
    outcome::serving(actions, status, ready, serving_message, events)
}
