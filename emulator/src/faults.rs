//! Fault injection: added latency, token-bucket and probabilistic throttling, injected internal
//! errors and access denied for chosen roles.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::operation::Operation;

/// The faults the emulator injects. The JSON form is what `PUT /__emulator/faults` takes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Milliseconds added before answering each request.
    pub latency_ms: u64,
    /// Fraction (0..=1) of calls answered with ThrottlingException (429).
    pub throttle_fraction: f64,
    /// Fraction (0..=1) of calls answered with InternalServerException (500).
    pub internal_error_fraction: f64,
    /// The operations `latencyMs`, `throttleFraction` and `internalErrorFraction` apply to; all
    /// operations when empty.
    pub operations: Vec<Operation>,
    /// Per-operation token buckets; a call finding its bucket empty gets ThrottlingException.
    pub rate_limits: BTreeMap<Operation, RateLimit>,
    /// Role ARNs for which CreateCustomModel answers AccessDeniedException (403).
    pub access_denied_role_arns: Vec<String>,
    /// Operations the caller is not allowed to call at all: every call answers
    /// AccessDeniedException (403), as for an IAM policy without the action.
    pub access_denied_operations: Vec<Operation>,
}

/// A token bucket: `burst` calls at once, refilled at `ratePerSecond`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    pub rate_per_second: f64,
    pub burst: u32,
}

impl FaultConfig {
    /// Checks the ranges a caller could get wrong (fractions, rates).
    pub fn validate(&self) -> Result<(), ApiError> {
        for (name, fraction) in [
            ("throttleFraction", self.throttle_fraction),
            ("internalErrorFraction", self.internal_error_fraction),
        ] {
            if !(0.0..=1.0).contains(&fraction) {
                return Err(ApiError::validation(format!(
                    "{name} must be between 0 and 1, got {fraction}"
                )));
            }
        }
        for (operation, limit) in &self.rate_limits {
            if !(limit.rate_per_second.is_finite() && limit.rate_per_second >= 0.0) {
                return Err(ApiError::validation(format!(
                    "rateLimits.{operation}.ratePerSecond must be a non-negative number"
                )));
            }
            if limit.burst == 0 {
                return Err(ApiError::validation(format!(
                    "rateLimits.{operation}.burst must be at least 1"
                )));
            }
        }
        Ok(())
    }

    /// Whether the probabilistic faults and latency apply to `operation`.
    pub(crate) fn applies_to(&self, operation: Operation) -> bool {
        self.operations.is_empty() || self.operations.contains(&operation)
    }

    /// Whether the caller's (emulated) IAM policy lacks `operation`.
    pub(crate) fn denies(&self, operation: Operation) -> bool {
        self.access_denied_operations.contains(&operation)
    }

    pub(crate) fn latency_for(&self, operation: Operation) -> Duration {
        if self.applies_to(operation) {
            Duration::from_millis(self.latency_ms)
        } else {
            Duration::ZERO
        }
    }
}

/// The live state of one operation's bucket.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit, now: Instant) -> Self {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            refilled_at: now,
        }
    }

    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.limit.rate_per_second).min(f64::from(self.limit.burst));
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(
            RateLimit {
                rate_per_second: 2.0,
                burst: 3,
            },
            start,
        );
        assert!((0..3).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        assert!(bucket.try_take(start + Duration::from_millis(500)));
        assert!(!bucket.try_take(start + Duration::from_millis(600)));
    }

    #[test]
    fn rejects_out_of_range_fractions() {
        let faults = FaultConfig {
            throttle_fraction: 1.5,
            ..FaultConfig::default()
        };
        assert!(faults.validate().is_err());
        assert!(FaultConfig::default().validate().is_ok());
    }

    #[test]
    fn json_form_uses_operation_names() {
        let json = r#"{"rateLimits":{"GetCustomModel":{"ratePerSecond":1.5,"burst":2}},"operations":["CreateCustomModel"]}"#;
        let faults: FaultConfig = serde_json::from_str(json).unwrap_or_default();
        assert_eq!(
            faults.rate_limits.get(&Operation::GetCustomModel),
            Some(&RateLimit {
                rate_per_second: 1.5,
                burst: 2
            })
        );
        assert!(faults.applies_to(Operation::CreateCustomModel));
        assert!(!faults.applies_to(Operation::GetCustomModel));
    }
}
