//! Bedrock call metrics: the call path in `sdk.rs` counts every request by operation and
//! outcome (`ok`, or the error class) and times it by operation, the wait for the pace and the
//! rate limiter included. The metrics themselves are registered in `crate::metrics`.

use std::sync::Arc;
use std::time::Instant;

use super::{BedrockError, Operation};
use crate::metrics::{CallLabels, Metrics, OperationLabels};

/// Where the call path records its calls; off until given the operator's metrics.
#[derive(Clone, Default)]
pub struct Meter {
    metrics: Option<Arc<Metrics>>,
}

impl Meter {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics: Some(metrics),
        }
    }

    /// Records one call that started at `started` and ended with `result`.
    pub fn record<T>(
        &self,
        operation: Operation,
        started: Instant,
        result: &Result<T, BedrockError>,
    ) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        let operation = operation.as_str();
        metrics
            .bedrock_calls
            .get_or_create(&CallLabels {
                operation,
                outcome: outcome(result),
            })
            .inc();
        metrics
            .bedrock_call_duration
            .get_or_create(&OperationLabels { operation })
            .observe(started.elapsed().as_secs_f64());
    }
}

/// The `outcome` label.
fn outcome<T>(result: &Result<T, BedrockError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.class().as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bedrock::ErrorClass;

    fn error(class: ErrorClass) -> BedrockError {
        BedrockError {
            operation: Operation::TagResource.as_str(),
            class,
            code: None,
            message: None,
            source: None,
        }
    }

    #[test]
    fn calls_are_counted_by_operation_and_outcome_and_timed_by_operation() {
        let metrics = Arc::new(Metrics::new());
        let meter = Meter::new(metrics.clone());
        let started = Instant::now();
        meter.record(Operation::GetCustomModel, started, &Ok(()));
        meter.record(Operation::GetCustomModel, started, &Ok(()));
        meter.record::<()>(
            Operation::CreateCustomModel,
            started,
            &Err(error(ErrorClass::Throttled)),
        );
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"bedrock_operator_bedrock_calls_total{operation="GetCustomModel",outcome="ok"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"bedrock_operator_bedrock_calls_total{operation="CreateCustomModel",outcome="throttled"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"bedrock_operator_bedrock_call_duration_seconds_count{operation="GetCustomModel"} 2"#
            ),
            "{text}"
        );
    }
}
