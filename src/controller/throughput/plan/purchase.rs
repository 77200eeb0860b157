//! Buying the throughput: the CreateProvisionedModelThroughput request with its idempotency
//! token, buying again after it disappeared (not a commitment without a new retry value), the
//! status once bought.

use std::time::Duration;

use crate::api::RETRY_ANNOTATION;
use crate::api::conditions::reason;
use crate::api::throughput::{
    BedrockProvisionedThroughput, BedrockProvisionedThroughputStatus, CommitmentDuration,
    ThroughputStatus, ValidThroughput,
};
use crate::bedrock::CreateThroughputRequest;
use crate::controller::call;
use crate::controller::kind::Managed;
use crate::controller::outcome::{self, Next, Note, Timing};
use crate::controller::reference;

use super::Throughput;
use super::{HeldStatus, Plan, created_with};
use crate::controller::held;

// What the token of a CreateProvisionedModelThroughput covers.
call::token_table!(CreateThroughputRequest, "bpt", |request| {
    vec![
        request.name.clone(),
        request.model_id.clone(),
        request.model_units.to_string(),
        request.commitment.clone().unwrap_or_default(),
    ]
});

/// The CreateProvisionedModelThroughput request for the spec and the resolved model.
pub fn create_request(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    model_id: &str,
    region: &str,
    recreations: i32,
    cluster: &str,
) -> CreateThroughputRequest {
    let request = CreateThroughputRequest {
        name: valid.name.clone(),
        model_id: model_id.to_string(),
        model_units: valid.model_units,
        commitment: valid.commitment.map(|c| c.as_str().to_string()),
        tags: resource.desired_tags(cluster),
        client_request_token: String::new(),
    };
    call::tokened(request, &resource.metadata, region, recreations)
}

pub(super) fn commitment(value: &str) -> Option<CommitmentDuration> {
    match value {
        "OneMonth" => Some(CommitmentDuration::OneMonth),
        "SixMonths" => Some(CommitmentDuration::SixMonths),
        _ => None,
    }
}

/// The throughput disappeared although nobody asked this operator to delete it. Without a
/// commitment it is bought again, with a Warning. With one, buying again starts a new term, so
/// that waits for a new value of the retry annotation.
pub(super) fn plan_missing(
    given: &Throughput<'_>,
    mut status: BedrockProvisionedThroughputStatus,
    arn: &str,
) -> Plan {
    let was_failed = status.failed();
    let retry = outcome::unhandled_retry(
        given.resource.metadata.annotations.as_ref(),
        status.retry_handled.as_deref(),
    );
    if let Some(term) = given.valid.commitment
        && !was_failed
        && retry.is_none()
    {
        let message = format!(
            "provisioned throughput {arn} disappeared outside the operator; buying it again would start a new {term} commitment, so the operator waits: set the {RETRY_ANNOTATION} annotation to a new value to buy it again, or delete this resource"
        );
        status.clear();
        return outcome::blocked(
            given.resource.conditions(),
            status,
            reason::THROUGHPUT_MISSING,
            message,
            Next::AwaitChange,
        );
    }
    if retry.is_some() {
        status.retry_handled = retry;
    }
    let what = format!("provisioned throughput {arn}");
    held::recreate(given, status, &what, "buying it again")
}

/// No throughput yet: buy it once the model is resolved; until then wait, with no call.
pub(super) fn plan_create(
    given: &Throughput<'_>,
    mut status: BedrockProvisionedThroughputStatus,
    events: Vec<Note>,
) -> Plan {
    let Some(model_id) = given.observation.inputs.arn() else {
        let current = given.resource.conditions();
        return reference::waiting(
            current,
            status,
            &given.observation.inputs,
            "throughput",
            events,
        );
    };
    let request = create_request(
        given.resource,
        given.valid,
        model_id,
        given.region,
        status.recreations,
        &given.observation.cluster,
    );
    status.provisioned_model_name = Some(given.valid.name.clone());
    let term = match given.valid.commitment {
        Some(term) => format!(" with a {term} commitment"),
        None => " without commitment".to_string(),
    };
    let message = format!(
        "buying provisioned throughput {} of {} model units of {model_id}{term}",
        request.name, request.model_units
    );
    held::create(given, status, request, message, events)
}

/// The status once Create has returned `arn`: what the polls of a Creating throughput will
/// say, so that they write nothing.
pub fn after_create(
    plan: &mut Plan,
    valid: &ValidThroughput,
    region: &str,
    model_id: &str,
    arn: String,
    timing: &Timing,
    generation: Option<i64>,
) {
    plan.status.provisioned_model_arn = Some(arn);
    plan.status.throughput_status = Some(ThroughputStatus::Creating);
    let message = creating_message(&valid.name);
    plan.conditions = outcome::creating(message);
    plan.status.desired_model_arn = Some(model_id.to_string());
    // What the polls of the Creating throughput will report, so that they write nothing (a
    // foundation model ID comes back as its ARN; a commitment's end is Bedrock's to say).
    if model_id.starts_with("arn:") {
        plan.status.model_arn = Some(model_id.to_string());
    }
    plan.status.model_units = Some(valid.model_units);
    plan.status.commitment_duration = valid.commitment.map(|c| c.as_str().to_string());
    plan.status.created_with = Some(created_with(valid, region));
    // The create carried spec.tags.
    plan.status.tags_synced_generation = generation;
    plan.next = Next::Poll(outcome::poll_delay(timing, Duration::ZERO));
}

pub(super) fn creating_message(name: &str) -> String {
    format!("Bedrock is creating provisioned throughput {name}")
}
