//! bedrock-runtime inference (Converse, InvokeModel): the scripts that decide how a model
//! answers, the invocation log, and the wire shapes of the answers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::operation::Operation;
use crate::types::rfc3339_millis;

/// What a model answers when no script is set for it: pleasant, and built from nothing the
/// caller sent, so no prompt (or secret in it) is ever echoed back.
pub const DEFAULT_ANSWER: &str = "Hello from the Bedrock emulator. This is a canned answer.";

/// How one model answers every Converse and InvokeModel call, set through the control API
/// (`PUT /__emulator/model-scripts/{modelArn}`) and keyed by the model ARN a deployment or a
/// Provisioned Throughput serves, so a swap to a new model changes what callers see.
///
/// Whether an answer is "good" or "wrong" is up to the test: both are a fixed text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "behaviour", rename_all = "camelCase", deny_unknown_fields)]
pub enum ModelScript {
    /// `{"behaviour": "answer", "text": "..."}`: answers `text`.
    Answer { text: String },
    /// `{"behaviour": "error", "message": "..."}`: fails with ModelErrorException (424, the
    /// model's original status 500).
    #[serde(rename_all = "camelCase")]
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// `{"behaviour": "slow", "delayMs": 2000, "text": "..."}`: answers `text` (the default
    /// answer when absent) after `delayMs`.
    #[serde(rename_all = "camelCase")]
    Slow {
        delay_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

/// The message a scripted model error carries when the script gives none.
pub(crate) const DEFAULT_MODEL_ERROR: &str =
    "The model returned an error while processing the request.";

/// How one invocation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationRecord {
    /// When the emulator received the call (its clock), before any scripted delay.
    #[serde(with = "rfc3339_millis")]
    pub time: DateTime<Utc>,
    pub operation: Operation,
    /// The `modelId` the caller invoked: a deployment or Provisioned Throughput ARN.
    pub model_id: String,
    /// The model that answered: the one the deployment or throughput served at `time`. Absent
    /// when the call never reached a model (unknown or not-ready target, invalid request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_arn: Option<String>,
    /// `Ok` or the error code the caller received.
    pub outcome: String,
    /// The text the caller received, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

/// What the state decided for one call: the model that serves it, the text and the delay.
#[derive(Clone, Debug)]
pub(crate) struct Invocation {
    pub(crate) text: String,
    pub(crate) delay: Duration,
}

/// Rough token count: whitespace-separated words, which is all a test can rely on.
pub(crate) fn token_count(text: &str) -> i32 {
    i32::try_from(text.split_whitespace().count()).unwrap_or(i32::MAX)
}

// ----- Wire shapes -----

#[derive(Serialize)]
pub(crate) struct TextBlock<'a> {
    pub(crate) text: &'a str,
}

#[derive(Serialize)]
pub(crate) struct AssistantMessage<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: [TextBlock<'a>; 1],
}

#[derive(Serialize)]
pub(crate) struct ConverseOutput<'a> {
    pub(crate) message: AssistantMessage<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenUsage {
    pub(crate) input_tokens: i32,
    pub(crate) output_tokens: i32,
    pub(crate) total_tokens: i32,
}

impl TokenUsage {
    pub(crate) fn new(input_tokens: i32, output_tokens: i32) -> Self {
        TokenUsage {
            input_tokens,
            output_tokens,
            total_tokens: input_tokens.saturating_add(output_tokens),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseMetrics {
    pub(crate) latency_ms: i64,
}

/// The ConverseResponse.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseResponse<'a> {
    pub(crate) output: ConverseOutput<'a>,
    pub(crate) stop_reason: &'static str,
    pub(crate) usage: TokenUsage,
    pub(crate) metrics: ConverseMetrics,
}

/// The InvokeModel body, in the Amazon Nova native format (the models custom model
/// deployments serve): `{"output": {"message": ...}, "stopReason": ..., "usage": ...}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InvokeModelBody<'a> {
    pub(crate) output: ConverseOutput<'a>,
    pub(crate) stop_reason: &'static str,
    pub(crate) usage: TokenUsage,
}
