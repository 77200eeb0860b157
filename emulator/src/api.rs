//! The Bedrock side: routes, the request pipeline (body limit, authentication, faults, counters)
//! and the wire shapes of the answers.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::BytesMut;
use chrono::Utc;
use http::request::Parts;
use http_body_util::BodyExt;
use serde::Serialize;
use tracing::debug;

use crate::auth;
use crate::error::{ApiError, ErrorKind};
use crate::model::Tag;
use crate::operation::Operation;
use crate::state::EmulatorState;
use crate::validate;

pub(crate) const REQUEST_ID_HEADER: &str = "x-amzn-requestid";

/// After the body limit is exceeded, this much more is read and thrown away so that the client,
/// still sending, receives the 413 rather than a connection reset.
const DRAIN_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// A fresh request id in UUID form, as AWS sends in `x-amzn-RequestId`.
pub(crate) fn new_request_id() -> String {
    let bits: u128 = rand::random();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateCustomModelOutput {
    pub model_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetCustomModelOutput {
    pub model_arn: String,
    pub model_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model_arn: Option<String>,
    pub customization_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_kms_key_arn: Option<String>,
    pub creation_time: String,
    pub model_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListCustomModelsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub model_summaries: Vec<CustomModelSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomModelSummary {
    pub model_arn: String,
    pub model_name: String,
    pub creation_time: String,
    /// Imported models have no base model; left out, aws-sdk-bedrock reads an empty string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_model_name: Option<String>,
    pub customization_type: &'static str,
    pub owner_account_id: String,
    pub model_status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomModelDeploymentArnOutput {
    pub custom_model_deployment_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetCustomModelDeploymentOutput {
    pub custom_model_deployment_arn: String,
    /// Get says `modelDeploymentName`; the list summary says `customModelDeploymentName`.
    pub model_deployment_name: String,
    pub model_arn: String,
    pub created_at: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_details: Option<UpdateDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    pub last_updated_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateDetails {
    pub model_arn: String,
    pub update_status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListCustomModelDeploymentsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub model_deployment_summaries: Vec<CustomModelDeploymentSummary>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomModelDeploymentSummary {
    pub custom_model_deployment_arn: String,
    pub custom_model_deployment_name: String,
    pub model_arn: String,
    pub created_at: String,
    pub status: &'static str,
    pub last_updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProvisionedModelArnOutput {
    pub provisioned_model_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetProvisionedModelThroughputOutput {
    pub model_units: i32,
    pub desired_model_units: i32,
    pub provisioned_model_name: String,
    pub provisioned_model_arn: String,
    pub model_arn: String,
    pub desired_model_arn: String,
    pub foundation_model_arn: String,
    pub status: &'static str,
    pub creation_time: String,
    pub last_modified_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_expiration_time: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListProvisionedModelThroughputsOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    pub provisioned_model_summaries: Vec<ProvisionedModelSummary>,
}

/// The list summary has the same members as Get, but no `failureMessage`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProvisionedModelSummary {
    pub provisioned_model_name: String,
    pub provisioned_model_arn: String,
    pub model_arn: String,
    pub desired_model_arn: String,
    pub foundation_model_arn: String,
    pub model_units: i32,
    pub desired_model_units: i32,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_expiration_time: Option<String>,
    pub creation_time: String,
    pub last_modified_time: String,
}

#[derive(Serialize)]
pub(crate) struct ListTagsForResourceOutput {
    pub tags: Vec<Tag>,
}

#[derive(Serialize)]
struct Empty {}

/// A JSON answer with the headers AWS sends.
pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Ok(request_id) = HeaderValue::from_str(&new_request_id()) {
                headers.insert(REQUEST_ID_HEADER, request_id);
            }
            response
        }
        Err(error) => ApiError::new(
            ErrorKind::InternalServer,
            format!("could not serialise the response: {error}"),
        )
        .into_response(),
    }
}

/// A Bedrock request with its body read (or the reason it could not be).
pub(crate) struct BedrockRequest {
    parts: Parts,
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

/// Reads a body up to `limit` bytes. Past the limit it keeps reading (and discarding) up to
/// [`DRAIN_LIMIT_BYTES`] so the 413 reaches a client that is still sending.
pub(crate) async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut buffer = BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            ApiError::validation(format!("The request body could not be read: {error}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= limit {
            buffer.extend_from_slice(&data);
        } else if total > DRAIN_LIMIT_BYTES {
            break;
        }
    }
    if total > limit {
        return Err(ApiError::new(
            ErrorKind::RequestEntityTooLarge,
            format!("The request body exceeds the limit of {limit} bytes."),
        ));
    }
    Ok(buffer.freeze())
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
        let body = request.body.as_ref().map_err(Clone::clone)?;
        auth::authorize(&request.parts, body, state.config(), Utc::now())?;
        let latency = state.latency_for(operation);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        state.admit(operation)?;
        handle(state, &request.parts, body)
    }
    .await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuids() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
