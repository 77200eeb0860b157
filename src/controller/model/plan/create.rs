//! Creating a model: the idempotency token, the CreateCustomModel request, the plan that makes
//! it and the status once Bedrock has answered.

use super::*;
use crate::controller::held;
use crate::controller::kind::Managed;

// What the token of a CreateCustomModel covers.
call::token_table!(CreateRequest, "bcm", |request| {
    let source = match &request.source {
        Source::S3Uri(uri) => format!("s3:{uri}"),
        Source::ModelPackageArn(arn) => format!("package:{arn}"),
    };
    vec![
        request.model_name.clone(),
        source,
        request.role_arn.clone().unwrap_or_default(),
        request.kms_key_arn.clone().unwrap_or_default(),
    ]
});

/// The CreateCustomModel request for the spec.
pub fn create_request(
    resource: &BedrockCustomModel,
    valid: &ValidModel,
    region: &str,
    recreations: i32,
    cluster: &str,
) -> CreateRequest {
    let source = match &valid.source {
        ValidSource::S3Uri(uri) => Source::S3Uri(uri.clone()),
        ValidSource::ModelPackageArn(arn) => Source::ModelPackageArn(arn.clone()),
    };
    let request = CreateRequest {
        model_name: model_name(resource),
        source,
        role_arn: resource.spec.role_arn.clone(),
        kms_key_arn: resource.spec.kms_key_arn.clone(),
        tags: resource.desired_tags(cluster),
        client_request_token: String::new(),
    };
    call::tokened(request, &resource.metadata, region, recreations)
}

pub(super) fn plan_create(
    given: &Model<'_>,
    status: BedrockCustomModelStatus,
    events: Vec<Note>,
) -> Plan {
    let cluster = &given.observation.cluster;
    let request = create_request(
        given.resource,
        given.valid,
        given.region,
        status.recreations,
        cluster,
    );
    let message = format!("creating Bedrock model {}", request.model_name);
    held::create(given, status, request, message, events)
}

/// The status and conditions once Create has returned `arn`.
pub fn after_create(
    plan: &mut Plan,
    resource: &BedrockCustomModel,
    region: &str,
    arn: String,
    timing: &Timing,
    swept: bool,
) {
    plan.status.model_arn = Some(arn);
    plan.status.model_status = Some(ModelStatus::Creating);
    plan.status.created_with = Some(desired_parameters(resource, region));
    // The create carried spec.tags.
    plan.status.tags_synced_generation = resource.metadata.generation;
    plan.next = Next::Poll(creating_poll(timing, Duration::ZERO, swept));
}
