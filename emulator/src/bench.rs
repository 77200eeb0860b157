//! Load generation against a running emulator: GetCustomModel over several keep-alive HTTP/1.1
//! connections, for a bounded number of requests and a bounded time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::client::{ControlClient, ControlClientError};
use crate::model::ForeignModel;

/// Names of the models [`seed_models`] inserts.
pub const BENCH_MODEL_PREFIX: &str = "bench-model-";

/// What a load run is asked to do.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Concurrent keep-alive connections.
    pub connections: usize,
    /// Requests in total, across connections.
    pub requests: usize,
    /// Models to GET, round-robin.
    pub model_names: Vec<String>,
    /// The run stops at this deadline even if requests remain.
    pub time_limit: Duration,
}

/// What a load run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ThroughputReport {
    /// Requests answered (successfully or not).
    pub requests: usize,
    /// Requests not answered 200.
    pub errors: usize,
    pub elapsed: Duration,
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl std::fmt::Display for ThroughputReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests ({} errors) in {:.3}s: {:.0} req/s; latency p50 {:?} p90 {:?} p99 {:?} max {:?}",
            self.requests,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.requests_per_second,
            self.p50,
            self.p90,
            self.p99,
            self.max
        )
    }
}

/// Why a load run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid emulator URL '{0}' (expected http://HOST:PORT)")]
    InvalidUrl(String),
    #[error("could not connect to the emulator")]
    Connect(#[source] std::io::Error),
    #[error("HTTP error")]
    Http(#[source] hyper::Error),
    #[error("could not build a request")]
    Request(#[source] http::Error),
    #[error("control API call failed")]
    Control(#[source] ControlClientError),
    #[error("nothing to do: connections, requests and model names must be non-zero")]
    Empty,
}

/// Seeds `count` Active models through the control API (reusing those already there) and
/// returns their names.
pub async fn seed_models(url: &str, count: usize) -> Result<Vec<String>, BenchError> {
    let control = ControlClient::new(url).map_err(BenchError::Control)?;
    let mut names = Vec::with_capacity(count);
    for index in 0..count {
        let name = format!("{BENCH_MODEL_PREFIX}{index}");
        if control
            .model(&name)
            .await
            .map_err(BenchError::Control)?
            .is_none()
        {
            control
                .insert_model(&ForeignModel::new(name.clone()))
                .await
                .map_err(BenchError::Control)?;
        }
        names.push(name);
    }
    Ok(names)
}

/// Seeds ten models, then sends `requests` GetCustomModel calls over `connections` keep-alive
/// connections (time-limited to two minutes). The emulator must not verify signatures.
pub async fn get_throughput(
    url: &str,
    connections: usize,
    requests: usize,
) -> Result<ThroughputReport, BenchError> {
    let model_names = seed_models(url, 10).await?;
    run_get_load(
        url,
        &LoadOptions {
            connections,
            requests,
            model_names,
            time_limit: Duration::from_secs(120),
        },
    )
    .await
}

/// Drives GetCustomModel as [`LoadOptions`] says and measures throughput and latency.
pub async fn run_get_load(
    url: &str,
    options: &LoadOptions,
) -> Result<ThroughputReport, BenchError> {
    if options.connections == 0 || options.requests == 0 || options.model_names.is_empty() {
        return Err(BenchError::Empty);
    }
    let authority = url
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|authority| !authority.is_empty() && !authority.contains('/'))
        .ok_or_else(|| BenchError::InvalidUrl(url.to_owned()))?
        .to_owned();

    let issued = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + options.time_limit;
    let mut workers = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        let stream = TcpStream::connect(&authority)
            .await
            .map_err(BenchError::Connect)?;
        stream.set_nodelay(true).map_err(BenchError::Connect)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(BenchError::Http)?;
        tokio::spawn(connection);
        workers.push(tokio::spawn(worker(
            sender,
            authority.clone(),
            options.model_names.clone(),
            options.requests,
            Arc::clone(&issued),
            deadline,
        )));
    }

    let mut latencies = Vec::with_capacity(options.requests);
    let mut errors = 0;
    for worker in workers {
        match worker.await {
            Ok(Ok(outcome)) => {
                latencies.extend(outcome.latencies);
                errors += outcome.errors;
            }
            Ok(Err(error)) => return Err(error),
            Err(join_error) => {
                return Err(BenchError::Connect(std::io::Error::other(join_error)));
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: usize| -> Duration {
        if latencies.is_empty() {
            Duration::ZERO
        } else {
            latencies[(latencies.len() * p / 100).min(latencies.len() - 1)]
        }
    };
    Ok(ThroughputReport {
        requests: latencies.len(),
        errors,
        elapsed,
        requests_per_second: latencies.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        p50: percentile(50),
        p90: percentile(90),
        p99: percentile(99),
        max: latencies.last().copied().unwrap_or_default(),
    })
}

struct WorkerOutcome {
    latencies: Vec<Duration>,
    errors: usize,
}

async fn worker(
    mut sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    authority: String,
    model_names: Vec<String>,
    total: usize,
    issued: Arc<AtomicUsize>,
    deadline: Instant,
) -> Result<WorkerOutcome, BenchError> {
    // A well-formed SigV4 header: the emulator checks its shape, not its signature, by default.
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        "0".repeat(64)
    );
    let mut outcome = WorkerOutcome {
        latencies: Vec::new(),
        errors: 0,
    };
    loop {
        let index = issued.fetch_add(1, Ordering::Relaxed);
        if index >= total || Instant::now() >= deadline {
            return Ok(outcome);
        }
        let name = &model_names[index % model_names.len()];
        let request = Request::get(format!("/custom-models/{name}"))
            .header(http::header::HOST, &authority)
            .header(http::header::AUTHORIZATION, &authorization)
            .header("x-amz-date", "20260101T000000Z")
            .body(Empty::<Bytes>::new())
            .map_err(BenchError::Request)?;
        let sent = Instant::now();
        sender.ready().await.map_err(BenchError::Http)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(BenchError::Http)?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(BenchError::Http)?;
        outcome.latencies.push(sent.elapsed());
        if status != StatusCode::OK {
            outcome.errors += 1;
        }
    }
}
