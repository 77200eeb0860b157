//! Waiting for a condition with a deadline: look, and if it does not hold yet, look again after
//! a pause, until it holds or the deadline passes. Never a bare sleep that hopes the thing
//! happened meanwhile.
//!
//! ```no_run
//! # async fn example(api: kube::Api<k8s_openapi::api::core::v1::ConfigMap>) -> anyhow::Result<()> {
//! use std::time::Duration;
//! let config = testkit::wait::until(
//!     "config map settings to exist",
//!     Duration::from_secs(30),
//!     Duration::from_millis(100),
//!     async || Ok(api.get_opt("settings").await?),
//! )
//! .await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::Result;

/// The error of a wait whose condition never held: it names what was awaited and for how long.
/// Callers add what they last saw with `anyhow::Context`; `is::<TimedOut>()` tells it from an
/// error of a look itself.
#[derive(Debug, Clone)]
pub struct TimedOut {
    /// What was awaited, e.g. "my-model to become Ready".
    pub what: String,
    /// How long it was awaited.
    pub deadline: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for {}",
            self.deadline, self.what
        )
    }
}

impl std::error::Error for TimedOut {}

/// Calls `look` until it returns `Ok(Some(value))`, pausing `poll` between looks; returns that
/// value. An `Err` from `look` ends the wait at once with that error (a look that may fail for
/// a while, such as a connection refused before a server listens, returns `Ok(None)` instead).
/// When `deadline` has passed since the first look, fails with [`TimedOut`] naming `what`.
///
/// `look` is always called at least once, and once more after the deadline has passed if the
/// previous look was before it, so a condition that holds at the deadline is seen.
pub async fn until<T>(
    what: impl fmt::Display,
    deadline: Duration,
    poll: Duration,
    mut look: impl AsyncFnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        let looked_at = start.elapsed();
        if let Some(value) = look().await? {
            return Ok(value);
        }
        if looked_at >= deadline {
            return Err(TimedOut {
                what: what.to_string(),
                deadline,
            }
            .into());
        }
        tokio::time::sleep(poll.min(deadline.saturating_sub(start.elapsed()))).await;
    }
}

/// [`until`] for a condition that must hold without a break for `stable` before the wait
/// succeeds (e.g. "one owner, and it stays so over a resync"): `look` returns whether it holds
/// now; the wait fails with [`TimedOut`] when it has not held for `stable` by `deadline`.
pub async fn until_stable(
    what: impl fmt::Display,
    stable: Duration,
    deadline: Duration,
    poll: Duration,
    mut look: impl AsyncFnMut() -> Result<bool>,
) -> Result<()> {
    let mut holding_since: Option<Instant> = None;
    until(what, deadline, poll, async || {
        holding_since = match (look().await?, holding_since) {
            (true, None) => Some(Instant::now()),
            (true, since) => since,
            (false, _) => None,
        };
        Ok(holding_since
            .is_some_and(|since| since.elapsed() > stable)
            .then_some(()))
    })
    .await
}

/// Whether `error` is a wait that timed out (rather than a look that failed).
pub fn timed_out(error: &anyhow::Error) -> bool {
    error.is::<TimedOut>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLL: Duration = Duration::from_millis(5);

    #[tokio::test]
    async fn returns_the_value_once_the_condition_holds() -> Result<()> {
        let mut looks = 0;
        let value = until("the third look", Duration::from_secs(5), POLL, async || {
            looks += 1;
            Ok((looks == 3).then_some(looks * 10))
        })
        .await?;
        assert_eq!(value, 30);
        assert_eq!(looks, 3);
        Ok(())
    }

    #[tokio::test]
    async fn a_failing_look_ends_the_wait_with_its_error() {
        let mut looks = 0;
        let error = until(
            "never",
            Duration::from_secs(5),
            POLL,
            async || -> Result<Option<()>> {
                looks += 1;
                anyhow::bail!("the server refused")
            },
        )
        .await
        .expect_err("the look failed");
        assert_eq!(looks, 1);
        assert!(!timed_out(&error));
        assert_eq!(error.to_string(), "the server refused");
    }

    #[tokio::test]
    async fn the_timeout_names_what_was_awaited() {
        let mut looks = 0;
        let error = until(
            "my-model to become Ready",
            Duration::from_millis(30),
            POLL,
            async || -> Result<Option<()>> {
                looks += 1;
                Ok(None)
            },
        )
        .await
        .expect_err("never holds");
        assert!(timed_out(&error));
        assert_eq!(
            error.to_string(),
            "timed out after 30ms waiting for my-model to become Ready"
        );
        assert!(looks >= 2, "looked again before giving up: {looks}");
    }

    #[tokio::test]
    async fn a_zero_deadline_still_looks_once() -> Result<()> {
        let value = until("at once", Duration::ZERO, POLL, async || Ok(Some(7))).await?;
        assert_eq!(value, 7);
        Ok(())
    }

    #[tokio::test]
    async fn stable_needs_the_condition_to_hold_without_a_break() -> Result<()> {
        let mut looks = 0;
        until_stable(
            "a steady state",
            Duration::from_millis(20),
            Duration::from_secs(5),
            POLL,
            async || {
                looks += 1;
                // Flaps for the first few looks, then holds.
                Ok(looks > 4 || looks % 2 == 0)
            },
        )
        .await?;
        assert!(looks > 5, "{looks}");
        let error = until_stable(
            "a flapping condition",
            Duration::from_millis(20),
            Duration::from_millis(60),
            POLL,
            {
                let mut flip = false;
                async move || {
                    flip = !flip;
                    Ok(flip)
                }
            },
        )
        .await
        .expect_err("never stable");
        assert!(timed_out(&error));
        Ok(())
    }
}
