//! The Bedrock side: routes and the request pipeline (body limit, authentication, faults,
//! counters). The wire shapes of the answers belong to their kinds (`model.rs`, `deployment.rs`,
//! `provisioned.rs`, `import.rs`; `types.rs` for the shared ones).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use http::request::Parts;
use tracing::debug;

use crate::auth;
use crate::error::{ApiError, ErrorKind};
use crate::operation::Operation;
use crate::state::EmulatorState;
use crate::types::Empty;
use crate::validate;
use crate::wire::{json_response, read_body};

mod inference;

/// A Bedrock request with its body read (or the reason it could not be).
pub(crate) struct BedrockRequest {
    pub(crate) parts: Parts,
    body: Result<Bytes, ApiError>,
}

impl FromRequest<Arc<EmulatorState>> for BedrockRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request(
        request: Request,
        state: &Arc<EmulatorState>,
    ) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let body = read_body(body, state.config().max_body_bytes).await;
        Ok(BedrockRequest { parts, body })
    }
}

/// Runs one Bedrock call through the pipeline every call shares: body → authentication → added
/// latency → throttling and injected errors → the operation; then counts the outcome.
async fn serve(
    state: &EmulatorState,
    operation: Operation,
    request: BedrockRequest,
    handle: impl FnOnce(&EmulatorState, &Parts, &[u8]) -> Result<Response, ApiError>,
) -> Response {
    let started = Instant::now();
    let result = async {
        let body = admit_call(state, operation, &request).await?;
        handle(state, &request.parts, body)
    }
    .await;
    finish(state, operation, started, result)
}

/// The front of the pipeline: body → authentication → added latency → throttling and injected
/// errors. Returns the body of a call that may go on to its operation.
pub(crate) async fn admit_call<'a>(
    state: &EmulatorState,
    operation: Operation,
    request: &'a BedrockRequest,
) -> Result<&'a [u8], ApiError> {
    let body = request.body.as_ref().map_err(Clone::clone)?;
    auth::authorize(&request.parts, body, state.config(), Utc::now())?;
    let latency = state.latency_for(operation);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    state.admit(operation)?;
    Ok(body)
}

/// The back of the pipeline: the response, counted and traced.
pub(crate) fn finish(
    state: &EmulatorState,
    operation: Operation,
    started: Instant,
    result: Result<Response, ApiError>,
) -> Response {
    let (response, outcome) = match result {
        Ok(response) => (response, "Ok"),
        Err(error) => {
            let code = error.code();
            (error.into_response(), code)
        }
    };
    state.count(operation, outcome);
    // Never the Authorization header: only the operation, outcome and timing.
    debug!(
        operation = %operation,
        outcome,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "bedrock call"
    );
    response
}

/// The `{modelIdentifier}` label: everything after `/custom-models/`, percent-decoded.
fn model_identifier(parts: &Parts) -> Result<String, ApiError> {
    let raw = parts
        .uri
        .path()
        .strip_prefix("/custom-models/")
        .unwrap_or_default();
    validate::parse_model_identifier(raw)
}

async fn create_custom_model(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::CreateCustomModel,
        request,
        |state, _, body| {
            let input = validate::parse_create_custom_model(body)?;
            let output = state.create_custom_model(input)?;
            Ok(json_response(StatusCode::ACCEPTED, &output))
        },
    )
    .await
}

async fn get_custom_model(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::GetCustomModel,
        request,
        |state, parts, _| {
            let identifier = model_identifier(parts)?;
            let output = state.get_custom_model(&identifier)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn list_custom_models(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::ListCustomModels,
        request,
        |state, parts, _| {
            let input = validate::parse_list_custom_models(parts.uri.query())?;
            let output = state.list_custom_models(&input)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn delete_custom_model(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::DeleteCustomModel,
        request,
        |state, parts, _| {
            let identifier = model_identifier(parts)?;
            state.delete_custom_model(&identifier)?;
            Ok(json_response(StatusCode::OK, &Empty {}))
        },
    )
    .await
}

async fn tag_resource(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(&state, Operation::TagResource, request, |state, _, body| {
        let input = validate::parse_tag_resource(body)?;
        state.tag_resource(input)?;
        Ok(json_response(StatusCode::OK, &Empty {}))
    })
    .await
}

async fn untag_resource(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::UntagResource,
        request,
        |state, _, body| {
            let input = validate::parse_untag_resource(body)?;
            state.untag_resource(input)?;
            Ok(json_response(StatusCode::OK, &Empty {}))
        },
    )
    .await
}

async fn list_tags_for_resource(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::ListTagsForResource,
        request,
        |state, _, body| {
            let resource_arn = validate::parse_list_tags_for_resource(body)?;
            let output = state.list_tags_for_resource(&resource_arn)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

/// The `{customModelDeploymentIdentifier}` label, percent-decoded.
fn deployment_identifier(parts: &Parts) -> Result<String, ApiError> {
    let raw = parts
        .uri
        .path()
        .strip_prefix(DEPLOYMENTS_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_default();
    validate::parse_deployment_identifier(raw)
}

const DEPLOYMENTS_PATH: &str = "/model-customization/custom-model-deployments";

async fn create_custom_model_deployment(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::CreateCustomModelDeployment,
        request,
        |state, _, body| {
            let input = validate::parse_create_deployment(body)?;
            let output = state.create_custom_model_deployment(input)?;
            Ok(json_response(StatusCode::ACCEPTED, &output))
        },
    )
    .await
}

async fn get_custom_model_deployment(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::GetCustomModelDeployment,
        request,
        |state, parts, _| {
            let identifier = deployment_identifier(parts)?;
            let output = state.get_custom_model_deployment(&identifier)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn list_custom_model_deployments(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::ListCustomModelDeployments,
        request,
        |state, parts, _| {
            let input = validate::parse_list_deployments(parts.uri.query())?;
            let output = state.list_custom_model_deployments(&input)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn update_custom_model_deployment(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::UpdateCustomModelDeployment,
        request,
        |state, parts, body| {
            let identifier = deployment_identifier(parts)?;
            let input = validate::parse_update_deployment(body)?;
            let output = state.update_custom_model_deployment(&identifier, input)?;
            Ok(json_response(StatusCode::ACCEPTED, &output))
        },
    )
    .await
}

async fn delete_custom_model_deployment(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::DeleteCustomModelDeployment,
        request,
        |state, parts, _| {
            let identifier = deployment_identifier(parts)?;
            state.delete_custom_model_deployment(&identifier)?;
            Ok(json_response(StatusCode::OK, &Empty {}))
        },
    )
    .await
}

/// The `{provisionedModelId}` label, percent-decoded.
fn provisioned_identifier(parts: &Parts) -> Result<String, ApiError> {
    let raw = parts
        .uri
        .path()
        .strip_prefix(PROVISIONED_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_default();
    validate::parse_provisioned_identifier(raw)
}

const PROVISIONED_PATH: &str = "/provisioned-model-throughput";

async fn create_provisioned_model_throughput(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::CreateProvisionedModelThroughput,
        request,
        |state, _, body| {
            let input = validate::parse_create_provisioned(body)?;
            let output = state.create_provisioned_model_throughput(input)?;
            Ok(json_response(StatusCode::CREATED, &output))
        },
    )
    .await
}

async fn get_provisioned_model_throughput(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::GetProvisionedModelThroughput,
        request,
        |state, parts, _| {
            let identifier = provisioned_identifier(parts)?;
            let output = state.get_provisioned_model_throughput(&identifier)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn list_provisioned_model_throughputs(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::ListProvisionedModelThroughputs,
        request,
        |state, parts, _| {
            let input = validate::parse_list_provisioned(parts.uri.query())?;
            let output = state.list_provisioned_model_throughputs(&input)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn update_provisioned_model_throughput(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::UpdateProvisionedModelThroughput,
        request,
        |state, parts, body| {
            let identifier = provisioned_identifier(parts)?;
            let input = validate::parse_update_provisioned(body)?;
            state.update_provisioned_model_throughput(&identifier, input)?;
            Ok(json_response(StatusCode::OK, &Empty {}))
        },
    )
    .await
}

async fn delete_provisioned_model_throughput(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::DeleteProvisionedModelThroughput,
        request,
        |state, parts, _| {
            let identifier = provisioned_identifier(parts)?;
            state.delete_provisioned_model_throughput(&identifier)?;
            Ok(json_response(StatusCode::OK, &Empty {}))
        },
    )
    .await
}

/// The `{jobIdentifier}` label, percent-decoded.
fn import_job_identifier(parts: &Parts) -> Result<String, ApiError> {
    let raw = parts
        .uri
        .path()
        .strip_prefix(IMPORT_JOBS_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_default();
    validate::parse_import_job_identifier(raw)
}

const IMPORT_JOBS_PATH: &str = "/model-import-jobs";

/// An imported model's `{modelIdentifier}` label, percent-decoded.
fn imported_model_identifier(parts: &Parts) -> Result<String, ApiError> {
    let raw = parts
        .uri
        .path()
        .strip_prefix(IMPORTED_MODELS_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_default();
    validate::parse_imported_model_identifier(raw)
}

const IMPORTED_MODELS_PATH: &str = "/imported-models";

async fn create_model_import_job(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::CreateModelImportJob,
        request,
        |state, _, body| {
            let input = validate::parse_create_import_job(body)?;
            let output = state.create_model_import_job(input)?;
            Ok(json_response(StatusCode::CREATED, &output))
        },
    )
    .await
}

async fn get_model_import_job(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::GetModelImportJob,
        request,
        |state, parts, _| {
            let identifier = import_job_identifier(parts)?;
            let output = state.get_model_import_job(&identifier)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn list_model_import_jobs(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::ListModelImportJobs,
        request,
        |state, parts, _| {
            let input = validate::parse_list_import_jobs(parts.uri.query())?;
            let output = state.list_model_import_jobs(&input)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn get_imported_model(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::GetImportedModel,
        request,
        |state, parts, _| {
            let identifier = imported_model_identifier(parts)?;
            let output = state.get_imported_model(&identifier)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn list_imported_models(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::ListImportedModels,
        request,
        |state, parts, _| {
            let input = validate::parse_list_imported_models(parts.uri.query())?;
            let output = state.list_imported_models(&input)?;
            Ok(json_response(StatusCode::OK, &output))
        },
    )
    .await
}

async fn delete_imported_model(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    serve(
        &state,
        Operation::DeleteImportedModel,
        request,
        |state, parts, _| {
            let identifier = imported_model_identifier(parts)?;
            state.delete_imported_model(&identifier)?;
            Ok(json_response(StatusCode::OK, &Empty {}))
        },
    )
    .await
}

/// The Bedrock routes. `/custom-models/create-custom-model` also answers GET and DELETE, for a
/// model that happens to be named `create-custom-model`.
pub(crate) fn routes() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route(
            "/custom-models/create-custom-model",
            post(create_custom_model)
                .get(get_custom_model)
                .delete(delete_custom_model),
        )
        .route("/custom-models", get(list_custom_models))
        .route(
            "/custom-models/{*model_identifier}",
            get(get_custom_model).delete(delete_custom_model),
        )
        .route("/tagResource", post(tag_resource))
        .route("/untagResource", post(untag_resource))
        .route("/listTagsForResource", post(list_tags_for_resource))
        .route(
            DEPLOYMENTS_PATH,
            get(list_custom_model_deployments).post(create_custom_model_deployment),
        )
        .route(
            "/model-customization/custom-model-deployments/{*deployment_identifier}",
            get(get_custom_model_deployment)
                .patch(update_custom_model_deployment)
                .delete(delete_custom_model_deployment),
        )
        .route(PROVISIONED_PATH, post(create_provisioned_model_throughput))
        .route(
            "/provisioned-model-throughputs",
            get(list_provisioned_model_throughputs),
        )
        .route(
            "/provisioned-model-throughput/{*provisioned_model_id}",
            get(get_provisioned_model_throughput)
                .patch(update_provisioned_model_throughput)
                .delete(delete_provisioned_model_throughput),
        )
        .route(
            IMPORT_JOBS_PATH,
            get(list_model_import_jobs).post(create_model_import_job),
        )
        .route(
            "/model-import-jobs/{*job_identifier}",
            get(get_model_import_job),
        )
        .route(IMPORTED_MODELS_PATH, get(list_imported_models))
        .route("/model/{model_id}/converse", post(inference::converse))
        .route("/model/{model_id}/invoke", post(inference::invoke_model))
        .route(
            "/imported-models/{*model_identifier}",
            get(get_imported_model).delete(delete_imported_model),
        )
}

/// Any path or method no operation serves.
pub(crate) async fn unknown_operation(request: Request) -> ApiError {
    ApiError::new(
        ErrorKind::UnknownOperation,
        format!(
            "No operation matches {} {}.",
            request.method(),
            request.uri().path()
        ),
    )
}
