//! What the process reads from the API server before its controllers run (the cluster ID, the
//! leader lease) waits for an API server that cannot answer yet, instead of exiting: a Pod that
//! exits only comes back after the kubelet's growing back-off, and a process started while the
//! API server restarts would otherwise be gone for good where nothing restarts it.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tracing::warn;

/// The first wait between two tries; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// Runs `request` until it succeeds or fails with an error that is not `transient`, with a
/// warning (naming `what`) and a growing wait before each new try.
pub async fn answered<T, E, F, Fut>(
    what: &str,
    transient: impl Fn(&E) -> bool,
    mut request: F,
) -> Result<T, E>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut wait = RETRY_FIRST;
    loop {
        match request().await {
            Err(error) if transient(&error) => {
                warn!(error = %error, retry_in = ?wait, "the API server cannot answer yet; {what} again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
            done => return done,
        }
    }
}

/// Whether a failed request to the API server may succeed when tried again: no answer at all
/// (a connection refused or cut, a timeout), too many requests, or a server error. An answer
/// that refuses the request (401, 403, 404, ...) is final.
pub fn transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            ..kube::core::Status::default()
        }))
    }

    #[test]
    fn an_api_server_that_cannot_answer_yet_is_waited_for() {
        for code in [429, 500, 503, 504] {
            assert!(transient(&api_error(code)), "{code}");
        }
        let refused: Box<dyn std::error::Error + Send + Sync> = "connection refused".into();
        assert!(transient(&kube::Error::Service(refused)));
    }

    #[test]
    fn a_refusal_is_final() {
        for code in [400, 401, 403, 404] {
            assert!(!transient(&api_error(code)), "{code}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn tries_again_until_answered() {
        let mut tries = 0;
        let answer = answered("reading", transient, || {
            tries += 1;
            let result = if tries < 3 {
                Err(api_error(503))
            } else {
                Ok(tries)
            };
            async move { result }
        })
        .await;
        assert_eq!(answer.ok(), Some(3));
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_a_refusal() {
        let mut tries = 0;
        let answer: Result<(), _> = answered("reading", transient, || {
            tries += 1;
            async { Err(api_error(403)) }
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(tries, 1);
    }
}
