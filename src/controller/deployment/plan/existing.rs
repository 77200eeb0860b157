//! Planning a deployment that exists: its states (Creating, Failed, Active), model rollouts
//! in place and their failures, tag drift.

use std::time::Duration;

use crate::api::RETRY_ANNOTATION;
use crate::api::conditions::{self, Desired, event, reason};
use crate::api::deployment::{BedrockCustomModelDeploymentStatus, DeploymentStatus, UpdateStatus};
use crate::bedrock::{DeploymentState, RemoteDeployment, UpdateState};
use crate::controller::kind::Managed;
use crate::controller::outcome::{self, Next, Note, Timing};

use super::Deployment;
use super::{Action, Plan, Rollout, created_with, unresolved};
use crate::controller::held;
use crate::controller::rollout;

/// The status once Update has been accepted.
pub fn after_update(plan: &mut Plan, timing: &Timing) {
    plan.status.update_status = Some(UpdateStatus::Updating);
    plan.next = Next::Poll(outcome::poll_delay(timing, Duration::ZERO));
}

pub(super) fn deployment_status(state: &DeploymentState) -> DeploymentStatus {
    match state {
        DeploymentState::Creating => DeploymentStatus::Creating,
        DeploymentState::Active => DeploymentStatus::Active,
        DeploymentState::Failed => DeploymentStatus::Failed,
        DeploymentState::Other(_) => DeploymentStatus::Unknown,
    }
}

pub(super) fn update_status(state: &UpdateState) -> UpdateStatus {
    match state {
        UpdateState::Updating => UpdateStatus::Updating,
        UpdateState::UpdateCompleted => UpdateStatus::UpdateCompleted,
        UpdateState::UpdateFailed => UpdateStatus::UpdateFailed,
        UpdateState::Other(_) => UpdateStatus::Unknown,
    }
}

/// How a deployment's failure is worded.
const FAILURE: held::Failure = held::Failure {
    event: event::DEPLOYMENT_FAILED,
    message: |name, failure| {
        format!(
            "Bedrock could not create deployment {name}: {failure}. Set the {RETRY_ANNOTATION} annotation to a new value to try again, or delete the resource"
        )
    },
};

pub(super) fn plan_existing(
    given: &Deployment<'_>,
    mut status: BedrockCustomModelDeploymentStatus,
    found: &RemoteDeployment,
) -> Plan {
    let previous = given.resource.status.clone().unwrap_or_default();
    status.deployment_arn = Some(found.arn.clone());
    status.deployment_status = Some(deployment_status(&found.state));
    status.model_arn = Some(found.model_arn.clone());
    status.update_status = found.update.as_ref().map(|u| update_status(&u.state));
    status.failure_message = found.failure_message.clone().filter(|_| {
        found.state == DeploymentState::Failed
            || found
                .update
                .as_ref()
                .is_some_and(|u| u.state == UpdateState::UpdateFailed)
    });
    let name = &found.name;
    let serving = &found.model_arn;
    match &found.state {
        DeploymentState::Failed => {
            // A Failed deployment may be renamed (or moved, or described anew): replaced.
            let desired = created_with(given.valid, status.region.as_deref().unwrap_or_default());
            held::failed(given.resource, status, found, &desired, &FAILURE)
        }
        DeploymentState::Creating | DeploymentState::Other(_) => {
            let message = format!("Bedrock is creating deployment {name}");
            outcome::still_creating(
                status,
                message,
                outcome::poll_delay(given.timing, given.elapsed),
            )
        }
        DeploymentState::Active => {
            let serving_message = format!("Bedrock deployment {name} is Active, serving {serving}");
            let ready = Desired::new(
                conditions::READY,
                true,
                reason::ACTIVE,
                serving_message.clone(),
            );
            let desired_model = given.observation.inputs.arn();
            let update = found.update.as_ref();
            if let Some(update) = update.filter(|u| u.state == UpdateState::Updating) {
                let message = format!(
                    "rolling model {} out to deployment {name}; it serves {serving} until then",
                    update.model_arn
                );
                let announce = previous.update_status != Some(UpdateStatus::Updating);
                return rollout::running(
                    status,
                    ready,
                    message,
                    announce,
                    given.timing,
                    given.elapsed,
                );
            }
            match desired_model {
                Some(desired) if desired != serving => {
                    let failed_before = update.is_some_and(|u| {
                        u.state == UpdateState::UpdateFailed && u.model_arn == desired
                    });
                    let retry = outcome::unhandled_retry(
                        given.resource.metadata.annotations.as_ref(),
                        previous.retry_handled.as_deref(),
                    );
                    if failed_before && retry.is_none() {
                        let failure = found
                            .failure_message
                            .as_deref()
                            .unwrap_or("no reason given")
                            .trim_end_matches('.');
                        let message = format!(
                            "Bedrock could not roll model {desired} out to deployment {name}: {failure}. The deployment keeps serving {serving}; point the spec at another model, or set the {RETRY_ANNOTATION} annotation to a new value to try again"
                        );
                        let events = if previous.update_status != Some(UpdateStatus::UpdateFailed)
                            || outcome::changed(
                                given.resource.conditions(),
                                &[Desired::new(
                                    conditions::SYNCED,
                                    false,
                                    reason::UPDATE_FAILED,
                                    message.clone(),
                                )],
                            ) {
                            vec![Note::warning(
                                reason::UPDATE_FAILED,
                                "Update",
                                message.clone(),
                            )]
                        } else {
                            Vec::new()
                        };
                        return Plan {
                            actions: Vec::new(),
                            status,
                            conditions: vec![
                                ready,
                                Desired::new(
                                    conditions::SYNCED,
                                    false,
                                    reason::UPDATE_FAILED,
                                    message,
                                ),
                            ],
                            events,
                            next: Next::Resync,
                        };
                    }
                    if let Some(retry) = retry {
                        status.retry_handled = Some(retry);
                    }
                    let message = format!(
                        "rolling model {desired} out to deployment {name}; it serves {serving} until then"
                    );
                    let update = Action::Update {
                        arn: found.arn.clone(),
                        change: Rollout {
                            model_arn: desired.to_string(),
                        },
                    };
                    rollout::start(status, ready, update, message, Vec::new())
                }
                None => {
                    // The model the spec names now cannot be resolved: keep serving, say why.
                    let keeps = format!("the deployment keeps serving {serving}");
                    let why = unresolved(&given.observation.inputs);
                    rollout::unresolved(given.resource.conditions(), status, ready, why, &keeps)
                }
                Some(_) => {
                    let actions = held::sync_tags(
                        &mut status,
                        &found.arn,
                        &given.resource.spec.tags,
                        &given.resource.metadata,
                        given.observation.tags.as_ref(),
                        &given.observation.cluster,
                    );
                    let ended = previous.update_status == Some(UpdateStatus::Updating)
                        && status.update_status == Some(UpdateStatus::UpdateCompleted);
                    let ended = ended.then(|| format!("deployment {name} now serves {serving}"));
                    let became = previous.deployment_status != Some(DeploymentStatus::Active);
                    let became = became.then_some(reason::ACTIVE);
                    let events = rollout::settled_events(ended, became, &serving_message);
                    outcome::serving(actions, status, ready, serving_message, events)
                }
            }
        }
    }
}
