//! Plain HTTP/1.0 GETs, enough for the operator's admin endpoints (`/metrics`, `/livez`,
//! `/readyz`, on loopback or at a Pod's IP) and a registry's `/v2/`: no client library, no TLS,
//! no keep-alive.

use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `GET path` from `authority` (`127.0.0.1:8080`, or `http://127.0.0.1:8080`): the status
/// code and the body. Fails when nothing listens or the answer is no HTTP response.
pub async fn get(authority: &str, path: &str) -> Result<(u16, String)> {
    let authority = authority
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("an HTTP status line from {authority}{path}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Waits until `GET path` on `authority` answers `status`; returns that answer's body. Until
/// then a refused connection or another status is no error; the timeout names the last answer.
pub async fn wait_for_status(
    authority: &str,
    path: &str,
    status: u16,
    deadline: Duration,
    poll: Duration,
) -> Result<String> {
    let mut last = String::from("no answer yet");
    let answer = crate::wait::until(
        format!("{authority}{path} to answer {status}"),
        deadline,
        poll,
        async || match get(authority, path).await {
            Ok((code, body)) if code == status => Ok(Some(body)),
            Ok((code, body)) => {
                last = format!("{code} {body}");
                Ok(None)
            }
            Err(error) => {
                last = format!("{error:#}");
                Ok(None)
            }
        },
    )
    .await;
    answer.with_context(|| format!("last answer: {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Answers each connection with `response`, verbatim, and remembers the requests.
    async fn server(response: &'static str) -> Result<(String, tokio::task::JoinHandle<String>)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let authority = listener.local_addr()?.to_string();
        let handle = tokio::spawn(async move {
            let Ok((mut stream, _)) = listener.accept().await else {
                return String::new();
            };
            let mut request = vec![0u8; 1024];
            let read = stream.read(&mut request).await.unwrap_or(0);
            let _ = stream.write_all(response.as_bytes()).await;
            String::from_utf8_lossy(&request[..read]).into_owned()
        });
        Ok((authority, handle))
    }

    #[tokio::test]
    async fn get_returns_status_and_body() -> Result<()> {
        let (authority, request) =
            server("HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nnot ready")
                .await?;
        let answer = get(&format!("http://{authority}"), "/readyz").await?;
        assert_eq!(answer, (503, "not ready".to_string()));
        assert!(request.await?.starts_with("GET /readyz HTTP/1.0\r\n"));
        Ok(())
    }

    #[tokio::test]
    async fn nothing_listening_is_an_error() -> Result<()> {
        let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
        assert!(get(&format!("127.0.0.1:{port}"), "/").await.is_err());
        Ok(())
    }

    #[tokio::test]
    async fn waiting_for_a_status_names_the_last_answer() -> Result<()> {
        let port = TcpListener::bind("127.0.0.1:0").await?.local_addr()?.port();
        let error = wait_for_status(
            &format!("127.0.0.1:{port}"),
            "/readyz",
            200,
            Duration::from_millis(50),
            Duration::from_millis(10),
        )
        .await
        .expect_err("nothing listens");
        let text = format!("{error:#}");
        assert!(
            text.contains("last answer: connecting to 127.0.0.1:"),
            "{text}"
        );
        assert!(text.contains("/readyz to answer 200"), "{text}");
        Ok(())
    }
}
