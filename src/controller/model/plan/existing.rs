//! A model that exists: its states (Creating, Active, Failed), the polls while it imports, the
//! replacement of a Failed model and tag sync.

use super::*;
use crate::controller::held;

/// How a model's failure is worded.
const FAILURE: held::Failure = held::Failure {
    event: event::MODEL_FAILED,
    message: |name, failure| {
        format!(
            "Bedrock could not create model {name}: {failure}. Fix the spec (changing source, roleArn or kmsKeyArn replaces the model) or set the {RETRY_ANNOTATION} annotation to a new value to try again"
        )
    },
};

pub(super) fn plan_existing(
    given: &Model<'_>,
    mut status: BedrockCustomModelStatus,
    model: &RemoteModel,
) -> Plan {
    let elapsed_since_creation = given.elapsed;
    let previous_state = given.resource.status.as_ref().and_then(|s| s.model_status);
    status.model_arn = Some(model.arn.clone());
    status.model_status = Some(ModelStatus::from(&model.state));
    status.failure_message = model
        .failure_message
        .clone()
        .filter(|_| model.state == ModelState::Failed);
    // Recorded once the import is over, so that polls of a Creating model write nothing.
    if model.creation_time.is_some() && model.state != ModelState::Creating {
        status.creation_time = model.creation_time.clone();
    }
    let name = &model.name;

    match &model.state {
        ModelState::Failed => {
            let desired = desired_parameters(given.resource, given.region);
            held::failed(given.resource, status, model, &desired, &FAILURE)
        }
        ModelState::Active => {
            let actions = held::sync_tags(
                &mut status,
                &model.arn,
                &given.resource.spec.tags,
                &given.resource.metadata,
                given.observation.tags.as_ref(),
                &given.observation.cluster,
            );
            let message = format!("Bedrock model {name} is Active");
            let events = if previous_state != Some(ModelStatus::Active) {
                vec![Note::normal(reason::ACTIVE, "Create", message.clone())]
            } else {
                Vec::new()
            };
            let ready = Desired::new(conditions::READY, true, reason::ACTIVE, message.clone());
            outcome::serving(actions, status, ready, message, events)
        }
        ModelState::Creating | ModelState::Other(_) => {
            let message = format!("Bedrock is creating model {name}");
            let elapsed = elapsed_since_creation.unwrap_or_default();
            let delay = creating_poll(given.timing, elapsed, given.observation.inputs.swept);
            outcome::still_creating(status, message, delay)
        }
    }
}

/// The wait before a Creating model's own next poll: when a sweep watches its region, only the
/// sweep's back-up interval (the sweep triggers the reconcile when the import ends); otherwise
/// [`poll_delay`].
pub fn creating_poll(timing: &Timing, elapsed: Duration, swept: bool) -> Duration {
    if swept && !timing.sweep_interval.is_zero() {
        timing.sweep_fallback.max(timing.sweep_interval)
    } else {
        poll_delay(timing, elapsed)
    }
}
