//! Prometheus metrics (prometheus-client). Labels are bounded: operation, outcome, error
//! class, model status — never an object name or an error string.

use crate::controller::KindLabel;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The resource kind reconciled.
    pub kind: KindLabel,
    /// `ok` or an error category.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub operation: &'static str,
    /// `ok` or the error class (`throttled`, `access_denied`, …).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub model_status: ModelStatusLabel,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum ModelStatusLabel {
    None,
    Creating,
    Active,
    Failed,
    Other,
}

impl ModelStatusLabel {
    pub fn from_status(status: Option<&str>) -> Self {
        match status {
            None => ModelStatusLabel::None,
            Some("Creating") => ModelStatusLabel::Creating,
            Some("Active") => ModelStatusLabel::Active,
            Some("Failed") => ModelStatusLabel::Failed,
            Some(_) => ModelStatusLabel::Other,
        }
    }
}

const ALL_STATUSES: [ModelStatusLabel; 5] = [
    ModelStatusLabel::None,
    ModelStatusLabel::Creating,
    ModelStatusLabel::Active,
    ModelStatusLabel::Failed,
    ModelStatusLabel::Other,
];

/// Every metric the operator exports.
pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<OutcomeLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub bedrock_calls: Family<CallLabels, Counter>,
    pub bedrock_call_duration: Family<OperationLabels, Histogram>,
    pub models: Family<StatusLabels, Gauge>,
    pub objects_in_backoff: Gauge,
    pub sweep_watched_models: Gauge,
    pub leader: Gauge,
    /// Last known modelStatus per resource UID, behind the `models` gauge.
    model_statuses: Mutex<HashMap<String, ModelStatusLabel>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("bedrock_operator");
        let reconciles = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles finished, by resource kind and outcome (ok, or an error category)",
            reconciles.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took",
            reconcile_duration.clone(),
        );
        let bedrock_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "bedrock_calls",
            "Calls to Bedrock, by operation and outcome (ok, or the error class)",
            bedrock_calls.clone(),
        );
        let bedrock_call_duration =
            Family::<OperationLabels, Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 16))
            });
        registry.register(
            "bedrock_call_duration_seconds",
            "Latency of calls to Bedrock, by operation (including the wait for the rate limiter)",
            bedrock_call_duration.clone(),
        );
        let models = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "models",
            "Resources by the modelStatus last observed in Bedrock (none: no model yet)",
            models.clone(),
        );
        let objects_in_backoff = Gauge::default();
        registry.register(
            "objects_in_backoff",
            "Resources waiting to retry after a failure",
            objects_in_backoff.clone(),
        );
        let sweep_watched_models = Gauge::default();
        registry.register(
            "sweep_watched_models",
            "Creating models whose end the ListCustomModels sweep watches for",
            sweep_watched_models.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this process holds the leader lease (or runs without leader election)",
            leader.clone(),
        );
        for model_status in ALL_STATUSES {
            models.get_or_create(&StatusLabels { model_status }).set(0);
        }
        Self {
            registry,
            reconciles,
            reconcile_duration,
            bedrock_calls,
            bedrock_call_duration,
            models,
            objects_in_backoff,
            sweep_watched_models,
            leader,
            model_statuses: Mutex::new(HashMap::new()),
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    pub fn reconciled(&self, kind: KindLabel, outcome: &str, started: Instant) {
        self.reconciles
            .get_or_create(&OutcomeLabels {
                kind,
                outcome: outcome.to_string(),
            })
            .inc();
        self.reconcile_duration
            .observe(started.elapsed().as_secs_f64());
    }

    /// Records the modelStatus of resource `uid` (`None` removes it, on deletion).
    pub fn model_status(&self, uid: &str, status: Option<ModelStatusLabel>) {
        let mut statuses = self
            .model_statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let previous = match status {
            Some(status) => statuses.insert(uid.to_string(), status),
            None => statuses.remove(uid),
        };
        // Only the two labels involved change: no pass over every resource per reconcile.
        if previous == status {
            return;
        }
        if let Some(model_status) = previous {
            self.models
                .get_or_create(&StatusLabels { model_status })
                .dec();
        }
        if let Some(model_status) = status {
            self.models
                .get_or_create(&StatusLabels { model_status })
                .inc();
        }
    }
}
