//! Starting an import: the idempotency token, the job's name (derived from the token, so the
//! same attempt always has the same name and a new attempt a new one), the
//! CreateModelImportJob request, its plan and the status once Bedrock has answered.

use super::*;
use crate::api::patterns::IMPORT_JOB_NAME_MAX;
use crate::bedrock::ImportVpc;
use crate::controller::call;
use crate::controller::kind::Managed;
use crate::controller::outcome::{Next, poll_delay};

// What the token of a CreateModelImportJob covers (the job name comes from the token).
call::token_table!(CreateImportRequest, "bim", |request| {
    let vpc = request
        .vpc
        .as_ref()
        .map(|vpc| {
            format!(
                "{}/{}",
                vpc.subnet_ids.join(","),
                vpc.security_group_ids.join(",")
            )
        })
        .unwrap_or_default();
    vec![
        request.imported_model_name.clone(),
        request.s3_uri.clone(),
        request.role_arn.clone(),
        request.kms_key_id.clone().unwrap_or_default(),
        vpc,
    ]
});

/// The import job's name: the imported model name (its underscores as hyphens, which job names
/// do not allow; shortened to fit) and 12 hex digits of the attempt's token.
pub fn job_name(imported_model_name: &str, token: &str) -> String {
    const ATTEMPT: usize = 12;
    let attempt: String = token
        .rsplit('-')
        .next()
        .unwrap_or_default()
        .chars()
        .take(ATTEMPT)
        .collect();
    let stem: String = imported_model_name
        .chars()
        .map(|c| if c == '_' { '-' } else { c })
        .take(IMPORT_JOB_NAME_MAX - ATTEMPT - 1)
        .collect();
    format!("{}-{attempt}", stem.trim_end_matches('-'))
}

/// The CreateModelImportJob request for the spec, with its token and the job name from it.
pub fn create_request(
    resource: &BedrockImportedModel,
    valid: &ValidImported,
    region: &str,
    recreations: i32,
    cluster: &str,
) -> CreateImportRequest {
    let spec = &resource.spec;
    let request = CreateImportRequest {
        job_name: String::new(),
        imported_model_name: resource.imported_model_name().to_string(),
        role_arn: spec.role_arn.clone(),
        s3_uri: valid.s3_uri.clone(),
        kms_key_id: spec.kms_key_id.clone(),
        vpc: spec.vpc_config.as_ref().map(|vpc| ImportVpc {
            subnet_ids: vpc.subnet_ids.clone(),
            security_group_ids: vpc.security_group_ids.clone(),
        }),
        tags: resource.desired_tags(cluster),
        client_request_token: String::new(),
    };
    let mut request = call::tokened(request, &resource.metadata, region, recreations);
    request.job_name = job_name(&request.imported_model_name, &request.client_request_token);
    request
}

pub(super) fn plan_create(
    given: &Imported<'_>,
    status: BedrockImportedModelStatus,
    events: Vec<Note>,
) -> Plan {
    let request = create_request(
        given.resource,
        given.valid,
        given.region,
        status.recreations,
        &given.observation.cluster,
    );
    let message = format!(
        "starting import job {} for Bedrock imported model {}",
        request.job_name, request.imported_model_name
    );
    held::create(given, status, request, message, events)
}

/// The status and conditions once CreateModelImportJob has returned `arn`.
pub fn after_create(
    plan: &mut Plan,
    resource: &BedrockImportedModel,
    request: &CreateImportRequest,
    region: &str,
    arn: String,
    timing: &Timing,
) {
    plan.status.job_arn = Some(arn);
    plan.status.job_name = Some(request.job_name.clone());
    plan.status.job_status = Some(JobStatus::InProgress);
    plan.conditions = outcome::creating(super::existing::importing(
        &request.imported_model_name,
        &request.job_name,
    ));
    plan.status.created_with = Some(desired_parameters(resource, region));
    // The job carried spec.tags to the job and the model.
    plan.status.tags_synced_generation = resource.metadata.generation;
    plan.next = Next::Poll(poll_delay(timing, Duration::ZERO));
}
