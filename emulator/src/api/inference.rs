//! The bedrock-runtime routes: Converse and InvokeModel on a deployment or Provisioned
//! Throughput ARN. They share the control-plane pipeline (authentication, faults, counters);
//! a scripted slow model waits outside the state lock, after the call is logged.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http::request::Parts;

use super::{BedrockRequest, admit_call, finish};
use crate::error::ApiError;
use crate::operation::Operation;
use crate::runtime::{
    AssistantMessage, ConverseMetrics, ConverseOutput, ConverseResponse, InvokeModelBody,
    TextBlock, TokenUsage, token_count,
};
use crate::state::EmulatorState;
use crate::validate;
use crate::wire::json_response;

/// The only stop reason the emulator's canned answers give.
const STOP_REASON: &str = "end_turn";
const ASSISTANT: &str = "assistant";

/// The `{modelId}` label between `/model/` and the operation suffix, percent-decoded.
fn model_id(parts: &Parts, suffix: &str) -> Result<String, ApiError> {
    let raw = parts
        .uri
        .path()
        .strip_prefix("/model/")
        .and_then(|rest| rest.strip_suffix(suffix))
        .unwrap_or_default();
    validate::parse_runtime_model_id(raw)
}

fn assistant_output(text: &str) -> ConverseOutput<'_> {
    ConverseOutput {
        message: AssistantMessage {
            role: ASSISTANT,
            content: [TextBlock { text }],
        },
    }
}

pub(super) async fn converse(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    let operation = Operation::Converse;
    let started = Instant::now();
    let result = async {
        let body = admit_call(&state, operation, &request).await?;
        let model_id = model_id(&request.parts, "/converse")?;
        let input = validate::parse_converse(body);
        let input_tokens = input.as_ref().map_or(0, |input| input.input_tokens);
        let invocation = state.invoke(operation, &model_id, input.map(|_| ()))?;
        if !invocation.delay.is_zero() {
            tokio::time::sleep(invocation.delay).await;
        }
        let output = ConverseResponse {
            output: assistant_output(&invocation.text),
            stop_reason: STOP_REASON,
            usage: TokenUsage::new(input_tokens, token_count(&invocation.text)),
            metrics: ConverseMetrics {
                latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            },
        };
        Ok(json_response(StatusCode::OK, &output))
    }
    .await;
    finish(&state, operation, started, result)
}

pub(super) async fn invoke_model(
    State(state): State<Arc<EmulatorState>>,
    request: BedrockRequest,
) -> Response {
    let operation = Operation::InvokeModel;
    let started = Instant::now();
    let result = async {
        let body = admit_call(&state, operation, &request).await?;
        let model_id = model_id(&request.parts, "/invoke")?;
        let input_tokens = validate::parse_invoke_model(body);
        let invocation = state.invoke(
            operation,
            &model_id,
            input_tokens.as_ref().map(|_| ()).map_err(Clone::clone),
        )?;
        if !invocation.delay.is_zero() {
            tokio::time::sleep(invocation.delay).await;
        }
        let output = InvokeModelBody {
            output: assistant_output(&invocation.text),
            stop_reason: STOP_REASON,
            usage: TokenUsage::new(input_tokens.unwrap_or(0), token_count(&invocation.text)),
        };
        // The payload is the model's own JSON, with the Content-Type header the shape requires.
        let mut response = json_response(StatusCode::OK, &output);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(response)
    }
    .await;
    finish(&state, operation, started, result)
}
