//! Creating the deployment: the CreateCustomModelDeployment request with its idempotency
//! token, the plan of a create, and the status once it returned.

use std::time::Duration;

use crate::api::deployment::{
    BedrockCustomModelDeployment, BedrockCustomModelDeploymentStatus, DeploymentStatus,
    ValidDeployment,
};
use crate::bedrock::CreateDeploymentRequest;
use crate::controller::call;
use crate::controller::kind::Managed;
use crate::controller::outcome::{self, Next, Note, Timing};
use crate::controller::reference;

use super::Deployment;
use super::{Plan, created_with};
use crate::controller::held;

// What the token of a CreateCustomModelDeployment covers.
call::token_table!(CreateDeploymentRequest, "bcmd", |request| {
    vec![
        request.name.clone(),
        request.model_arn.clone(),
        request.description.clone().unwrap_or_default(),
    ]
});

/// The CreateCustomModelDeployment request for the spec and the resolved model.
pub fn create_request(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    model_arn: &str,
    region: &str,
    recreations: i32,
    cluster: &str,
) -> CreateDeploymentRequest {
    let request = CreateDeploymentRequest {
        name: valid.deployment_name.clone(),
        model_arn: model_arn.to_string(),
        description: valid.description.clone(),
        tags: resource.desired_tags(cluster),
        client_request_token: String::new(),
    };
    call::tokened(request, &resource.metadata, region, recreations)
}

/// No deployment yet: create it once the model is resolved; until then wait, with no call.
pub(super) fn plan_create(
    given: &Deployment<'_>,
    status: BedrockCustomModelDeploymentStatus,
    events: Vec<Note>,
) -> Plan {
    let Some(model_arn) = given.observation.inputs.arn() else {
        let current = given.resource.conditions();
        return reference::waiting(
            current,
            status,
            &given.observation.inputs,
            "deployment",
            events,
        );
    };
    let request = create_request(
        given.resource,
        given.valid,
        model_arn,
        given.region,
        status.recreations,
        &given.observation.cluster,
    );
    let message = format!(
        "creating Bedrock deployment {} of model {model_arn}",
        request.name
    );
    held::create(given, status, request, message, events)
}

/// The status once Create has returned `arn`.
pub fn after_create(
    plan: &mut Plan,
    valid: &ValidDeployment,
    region: &str,
    model_arn: &str,
    arn: String,
    timing: &Timing,
    generation: Option<i64>,
) {
    plan.status.deployment_arn = Some(arn);
    plan.status.deployment_status = Some(DeploymentStatus::Creating);
    // What the polls of a Creating deployment will say, so that they write nothing.
    let message = format!("Bedrock is creating deployment {}", valid.deployment_name);
    plan.conditions = outcome::creating(message);
    plan.status.model_arn = Some(model_arn.to_string());
    plan.status.created_with = Some(created_with(valid, region));
    // The create carried spec.tags.
    plan.status.tags_synced_generation = generation;
    plan.next = Next::Poll(outcome::poll_delay(timing, Duration::ZERO));
}
