//! The control API under `/__emulator/`: JSON in, JSON out, no authentication. Every endpoint
//! calls the same [`EmulatorState`] method the in-process handle exposes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::ClockAdvance;
use crate::config::Limits;
use crate::deployment::{DeploymentDelays, DeploymentFailure};
use crate::error::ApiError;
use crate::faults::FaultConfig;
use crate::import::{ImportDelays, ImportJobFailure};
use crate::model::{ForceStatus, ForeignModel};
use crate::provisioned::{ProvisionedDelays, ProvisionedFailure, ProvisionedForceStatus};
use crate::runtime::ModelScript;
use crate::state::EmulatorState;
use crate::wire::{json_response, read_body};

/// The reserved path prefix.
pub const PREFIX: &str = "/__emulator";

/// A JSON body; malformed JSON, wrong types, unknown fields and oversized bodies become
/// ValidationException (or 413) in the Bedrock error format.
pub(crate) struct ControlJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<EmulatorState>> for ControlJson<T> {
    type Rejection = ApiError;

    async fn from_request(
        request: Request,
        state: &Arc<EmulatorState>,
    ) -> Result<Self, Self::Rejection> {
        let body = read_body(request.into_body(), state.config().max_body_bytes).await?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &body
        };
        // The path names the offending member, e.g. "latencyMs: invalid type: string".
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            ApiError::validation(format!(
                "Invalid request body at '{}': {}",
                error.path(),
                error.inner()
            ))
        })?;
        deserializer
            .end()
            .map_err(|error| ApiError::validation(format!("Invalid request body: {error}")))?;
        Ok(ControlJson(value))
    }
}

fn path_param(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(value)| value)
        .map_err(|rejection| ApiError::validation(format!("Invalid path: {rejection}")))
}

fn ok_json(value: &impl Serialize) -> Response {
    json_response(StatusCode::OK, value)
}

/// `{"ok": true}`
#[derive(Serialize)]
struct Done {
    ok: bool,
}

/// `{"delayMs": 500}`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DelayBody {
    pub delay_ms: u64,
}

/// `{"message": "..."}`, message optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConflictBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `{"foundationModelArn": "..."}`; absent or null clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FoundationModelBody {
    #[serde(default)]
    pub foundation_model_arn: Option<String>,
}

/// `{"cleared": true}` when something was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleared {
    pub cleared: bool,
}

async fn health() -> Response {
    ok_json(&Done { ok: true })
}

async fn counters(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.counters())
}

async fn create_log(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.create_log())
}

async fn list_models(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.models())
}

async fn insert_model(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<ForeignModel>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(foreign) = body?;
    let record = state.insert_model(foreign)?;
    Ok(json_response(StatusCode::CREATED, &record))
}

async fn get_model(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .model(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| ApiError::not_found(format!("No model '{identifier}'.")))
}

async fn remove_model(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .remove_model(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| ApiError::not_found(format!("No model '{identifier}'.")))
}

async fn force_status(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<ControlJson<ForceStatus>, ApiError>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    let ControlJson(status) = body?;
    Ok(ok_json(&state.force_status(&identifier, status)?))
}

async fn get_faults(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.faults())
}

async fn put_faults(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<FaultConfig>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(faults) = body?;
    state.set_faults(faults)?;
    Ok(ok_json(&state.faults()))
}

async fn get_limits(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.limits())
}

async fn put_limits(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<Limits>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(limits) = body?;
    state.set_limits(limits);
    Ok(ok_json(&state.limits()))
}

fn delay_body(delay: Duration) -> DelayBody {
    DelayBody {
        delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
    }
}

async fn get_default_delay(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&delay_body(state.default_ready_delay()))
}

async fn put_default_delay(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<DelayBody>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(body) = body?;
    state.set_default_ready_delay(Duration::from_millis(body.delay_ms));
    Ok(ok_json(&body))
}

async fn put_model_delay(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<ControlJson<DelayBody>, ApiError>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    let ControlJson(body) = body?;
    state.set_ready_delay(&identifier, Duration::from_millis(body.delay_ms))?;
    Ok(ok_json(&body))
}

async fn delete_model_delay(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    let cleared = state.clear_ready_delay(&identifier)?;
    Ok(ok_json(&Cleared { cleared }))
}

async fn put_delete_conflict(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<ControlJson<ConflictBody>, ApiError>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    let ControlJson(body) = body?;
    state.set_delete_conflict(&identifier, body.message)?;
    Ok(ok_json(&Done { ok: true }))
}

async fn delete_delete_conflict(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    let cleared = state.clear_delete_conflict(&identifier)?;
    Ok(ok_json(&Cleared { cleared }))
}

async fn deployment_create_log(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.deployment_create_log())
}

async fn list_deployments(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.deployments())
}

fn no_deployment(identifier: &str) -> ApiError {
    ApiError::not_found(format!("No custom model deployment '{identifier}'."))
}

async fn get_deployment(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .deployment(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| no_deployment(&identifier))
}

async fn remove_deployment(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .remove_deployment(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| no_deployment(&identifier))
}

async fn force_deployment_status(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<ControlJson<ForceStatus>, ApiError>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    let ControlJson(status) = body?;
    Ok(ok_json(
        &state.force_deployment_status(&identifier, status)?,
    ))
}

async fn get_deployment_failures(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.deployment_failures())
}

async fn add_deployment_failure(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<DeploymentFailure>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(failure) = body?;
    state.add_deployment_failure(failure)?;
    Ok(ok_json(&state.deployment_failures()))
}

async fn clear_deployment_failures(State(state): State<Arc<EmulatorState>>) -> Response {
    let cleared = state.clear_deployment_failures() > 0;
    ok_json(&Cleared { cleared })
}

async fn get_deployment_delays(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.deployment_delays())
}

async fn put_deployment_delays(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<DeploymentDelays>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(delays) = body?;
    state.set_deployment_delays(delays);
    Ok(ok_json(&state.deployment_delays()))
}

async fn put_foundation_model(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<ControlJson<FoundationModelBody>, ApiError>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    let ControlJson(body) = body?;
    Ok(ok_json(&state.set_foundation_model(
        &identifier,
        body.foundation_model_arn,
    )?))
}

async fn provisioned_create_log(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.provisioned_create_log())
}

async fn list_provisioned(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.provisioned_throughputs())
}

fn no_provisioned(identifier: &str) -> ApiError {
    ApiError::not_found(format!("No Provisioned Throughput '{identifier}'."))
}

async fn get_provisioned(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .provisioned_throughput(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| no_provisioned(&identifier))
}

async fn remove_provisioned(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .remove_provisioned_throughput(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| no_provisioned(&identifier))
}

async fn force_provisioned_status(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<ControlJson<ProvisionedForceStatus>, ApiError>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    let ControlJson(status) = body?;
    Ok(ok_json(
        &state.force_provisioned_status(&identifier, status)?,
    ))
}

async fn get_provisioned_failures(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.provisioned_failures())
}

async fn add_provisioned_failure(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<ProvisionedFailure>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(failure) = body?;
    state.add_provisioned_failure(failure)?;
    Ok(ok_json(&state.provisioned_failures()))
}

async fn clear_provisioned_failures(State(state): State<Arc<EmulatorState>>) -> Response {
    let cleared = state.clear_provisioned_failures() > 0;
    ok_json(&Cleared { cleared })
}

async fn get_provisioned_delays(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.provisioned_delays())
}

async fn put_provisioned_delays(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<ProvisionedDelays>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(delays) = body?;
    state.set_provisioned_delays(delays);
    Ok(ok_json(&state.provisioned_delays()))
}

async fn import_job_create_log(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.import_job_create_log())
}

async fn list_import_jobs(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.import_jobs())
}

async fn get_import_job(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .import_job(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| ApiError::not_found(format!("No model import job '{identifier}'.")))
}

async fn remove_import_job(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .remove_import_job(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| ApiError::not_found(format!("No model import job '{identifier}'.")))
}

async fn list_imported_models(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.imported_models())
}

async fn get_imported_model(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let identifier = path_param(path)?;
    state
        .imported_model(&identifier)
        .map(|record| ok_json(&record))
        .ok_or_else(|| ApiError::not_found(format!("No imported model '{identifier}'.")))
}

async fn get_import_job_failures(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.import_job_failures())
}

async fn add_import_job_failure(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<ImportJobFailure>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(failure) = body?;
    state.add_import_job_failure(failure)?;
    Ok(ok_json(&state.import_job_failures()))
}

async fn clear_import_job_failures(State(state): State<Arc<EmulatorState>>) -> Response {
    let cleared = state.clear_import_job_failures() > 0;
    ok_json(&Cleared { cleared })
}

async fn get_import_delays(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.import_delays())
}

async fn put_import_delays(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<ImportDelays>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(delays) = body?;
    state.set_import_delays(delays);
    Ok(ok_json(&state.import_delays()))
}

async fn invocation_log(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.invocation_log())
}

async fn get_model_scripts(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.model_scripts())
}

async fn put_model_script(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<ControlJson<ModelScript>, ApiError>,
) -> Result<Response, ApiError> {
    let model_arn = path_param(path)?;
    let ControlJson(script) = body?;
    state.set_model_script(&model_arn, script.clone())?;
    Ok(ok_json(&script))
}

async fn delete_model_script(
    State(state): State<Arc<EmulatorState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let model_arn = path_param(path)?;
    let cleared = state.clear_model_script(&model_arn);
    Ok(ok_json(&Cleared { cleared }))
}

async fn get_clock(State(state): State<Arc<EmulatorState>>) -> Response {
    ok_json(&state.clock())
}

async fn advance_clock(
    State(state): State<Arc<EmulatorState>>,
    body: Result<ControlJson<ClockAdvance>, ApiError>,
) -> Result<Response, ApiError> {
    let ControlJson(advance) = body?;
    let by = advance
        .duration()
        .ok_or_else(|| ApiError::validation("The clock can move at most 100 years ahead."))?;
    Ok(ok_json(&state.advance_clock(by)?))
}

async fn reset(State(state): State<Arc<EmulatorState>>) -> Response {
    state.reset();
    ok_json(&Done { ok: true })
}

/// The control routes, all under [`PREFIX`]. Identifiers in paths are names or percent-encoded
/// ARNs (`/` as `%2F`).
pub(crate) fn routes() -> Router<Arc<EmulatorState>> {
    Router::new()
        .route("/__emulator/health", get(health))
        .route("/__emulator/counters", get(counters))
        .route("/__emulator/create-log", get(create_log))
        .route("/__emulator/models", get(list_models).post(insert_model))
        .route(
            "/__emulator/models/{identifier}",
            get(get_model).delete(remove_model),
        )
        .route("/__emulator/models/{identifier}/status", post(force_status))
        .route(
            "/__emulator/models/{identifier}/foundation-model",
            put(put_foundation_model),
        )
        .route("/__emulator/faults", get(get_faults).put(put_faults))
        .route("/__emulator/limits", get(get_limits).put(put_limits))
        .route(
            "/__emulator/ready-delay",
            get(get_default_delay).put(put_default_delay),
        )
        .route(
            "/__emulator/ready-delay/{identifier}",
            put(put_model_delay).delete(delete_model_delay),
        )
        .route(
            "/__emulator/delete-conflicts/{identifier}",
            put(put_delete_conflict).delete(delete_delete_conflict),
        )
        .route(
            "/__emulator/deployment-create-log",
            get(deployment_create_log),
        )
        .route("/__emulator/deployments", get(list_deployments))
        .route(
            "/__emulator/deployments/{identifier}",
            get(get_deployment).delete(remove_deployment),
        )
        .route(
            "/__emulator/deployments/{identifier}/status",
            post(force_deployment_status),
        )
        .route(
            "/__emulator/deployment-failures",
            get(get_deployment_failures)
                .post(add_deployment_failure)
                .delete(clear_deployment_failures),
        )
        .route(
            "/__emulator/deployment-delays",
            get(get_deployment_delays).put(put_deployment_delays),
        )
        .route(
            "/__emulator/provisioned-create-log",
            get(provisioned_create_log),
        )
        .route("/__emulator/provisioned-throughputs", get(list_provisioned))
        .route(
            "/__emulator/provisioned-throughputs/{identifier}",
            get(get_provisioned).delete(remove_provisioned),
        )
        .route(
            "/__emulator/provisioned-throughputs/{identifier}/status",
            post(force_provisioned_status),
        )
        .route(
            "/__emulator/provisioned-failures",
            get(get_provisioned_failures)
                .post(add_provisioned_failure)
                .delete(clear_provisioned_failures),
        )
        .route(
            "/__emulator/provisioned-delays",
            get(get_provisioned_delays).put(put_provisioned_delays),
        )
        .route(
            "/__emulator/import-job-create-log",
            get(import_job_create_log),
        )
        .route("/__emulator/import-jobs", get(list_import_jobs))
        .route(
            "/__emulator/import-jobs/{identifier}",
            get(get_import_job).delete(remove_import_job),
        )
        .route("/__emulator/imported-models", get(list_imported_models))
        .route(
            "/__emulator/imported-models/{identifier}",
            get(get_imported_model),
        )
        .route(
            "/__emulator/import-job-failures",
            get(get_import_job_failures)
                .post(add_import_job_failure)
                .delete(clear_import_job_failures),
        )
        .route(
            "/__emulator/import-delays",
            get(get_import_delays).put(put_import_delays),
        )
        .route("/__emulator/invocations", get(invocation_log))
        .route("/__emulator/model-scripts", get(get_model_scripts))
        .route(
            "/__emulator/model-scripts/{model_arn}",
            put(put_model_script).delete(delete_model_script),
        )
        .route("/__emulator/clock", get(get_clock).post(advance_clock))
        .route("/__emulator/reset", post(reset))
}
