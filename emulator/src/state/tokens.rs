//! Idempotency tokens, shared by every create: what a clientRequestToken created, remembered for
//! the idempotency window on the emulator's clock.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::ApiError;

/// The tokens of one create operation; `F` is the fingerprint of the parameters a replay must
/// repeat.
pub(super) struct IdempotencyTokens<F> {
    by_token: HashMap<String, TokenRecord<F>>,
}

struct TokenRecord<F> {
    fingerprint: F,
    arn: String,
    name: String,
    remembered_at: DateTime<Utc>,
}

impl<F: PartialEq> IdempotencyTokens<F> {
    pub(super) fn new() -> Self {
        IdempotencyTokens {
            by_token: HashMap::new(),
        }
    }

    /// The ARN a replay of `token` answers with (`None` for a token not, or no longer,
    /// remembered), or the ValidationException for a token reused with other parameters.
    /// `noun` names what the token created ("model", "deployment").
    pub(super) fn replay(
        &mut self,
        token: Option<&str>,
        fingerprint: &F,
        now: DateTime<Utc>,
        window: Duration,
        noun: &str,
    ) -> Result<Option<String>, ApiError> {
        let Some(token) = token else {
            return Ok(None);
        };
        let expired = self.by_token.get(token).is_some_and(|record| {
            (now - record.remembered_at)
                .to_std()
                .is_ok_and(|elapsed| elapsed >= window)
        });
        if expired {
            self.by_token.remove(token);
        }
        match self.by_token.get(token) {
            None => Ok(None),
            Some(record) if record.fingerprint == *fingerprint => Ok(Some(record.arn.clone())),
            Some(record) => Err(ApiError::validation(format!(
                "The clientRequestToken '{token}' was already used with different request parameters (it created {noun} '{}'). Use a new clientRequestToken for a different request.",
                record.name
            ))),
        }
    }

    /// Remembers what `token` created.
    pub(super) fn remember(
        &mut self,
        token: Option<&str>,
        fingerprint: F,
        arn: &str,
        name: &str,
        now: DateTime<Utc>,
    ) {
        if let Some(token) = token {
            self.by_token.insert(
                token.to_owned(),
                TokenRecord {
                    fingerprint,
                    arn: arn.to_owned(),
                    name: name.to_owned(),
                    remembered_at: now,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_within_the_window_and_forgets_after_it() {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let window = Duration::from_secs(60);
        let mut tokens = IdempotencyTokens::new();
        tokens.remember(Some("t"), 1, "arn-1", "one", start);
        assert_eq!(
            tokens.replay(Some("t"), &1, start, window, "model").ok(),
            Some(Some("arn-1".to_owned()))
        );
        let refused = tokens.replay(Some("t"), &2, start, window, "model");
        assert!(refused.is_err_and(|error| error.message().contains("model 'one'")));
        let later = start + chrono::TimeDelta::seconds(60);
        assert_eq!(
            tokens.replay(Some("t"), &2, later, window, "model").ok(),
            Some(None)
        );
        assert_eq!(
            tokens.replay(None, &2, later, window, "model").ok(),
            Some(None)
        );
    }
}
