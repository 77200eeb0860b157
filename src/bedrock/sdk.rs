//! The client over aws-sdk-bedrock that every kind's calls go through (each kind implements
//! its trait of [`super::Bedrock`] in its own file), and the tag calls.
//!
//! Credentials, region and endpoint come from the standard aws-config chain (environment,
//! profile, IRSA web identity, EKS Pod Identity, instance metadata; `AWS_ENDPOINT_URL_BEDROCK`
//! or `AWS_ENDPOINT_URL`). The SDK's own retries are off: the controller retries with
//! per-object backoff, so that the operator-wide rate limit caps every call sent.
//!
//! Every request goes through one call path, `SdkBedrock::call` (or `SdkBedrock::look_up`
//! when NotFound is an answer): the operation's pace, the operator-wide rate limiter, the send,
//! the mapping of the SDK's error to a [`BedrockError`], the pacing feedback and the metrics.
//! A kind's operation only builds its request and turns the output into domain types.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::config::http::HttpResponse;
use aws_sdk_bedrock::config::retry::RetryConfig;
use aws_sdk_bedrock::config::timeout::TimeoutConfig;
use aws_sdk_bedrock::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrock::types::Tag;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::metered::Meter;
use super::pacing::Pacer;
use super::{BedrockError, ErrorClass, Operation, Tags};
use crate::metrics::Metrics;

/// Results per page of the List operations (the most Bedrock allows).
pub(super) const PAGE_SIZE: i32 = 1000;

/// Settings of the SDK-backed client.
#[derive(Clone, Debug)]
pub struct SdkSettings {
    /// Calls per second to Bedrock across the whole operator.
    pub rate_limit_qps: f64,
    /// Calls allowed in a burst above the rate.
    pub rate_limit_burst: u32,
    /// Limit for one call, including connecting.
    pub call_timeout: Duration,
}

impl Default for SdkSettings {
    fn default() -> Self {
        Self {
            rate_limit_qps: 10.0,
            rate_limit_burst: 20,
            call_timeout: Duration::from_secs(30),
        }
    }
}

/// Bedrock over aws-sdk-bedrock, one client per region, all behind one rate limiter, each
/// operation paced on its own once Bedrock throttles it.
pub struct SdkBedrock {
    base: SdkConfig,
    settings: SdkSettings,
    clients: Mutex<HashMap<String, Client>>,
    limiter: Arc<DefaultDirectRateLimiter>,
    pacer: Pacer,
    meter: Meter,
}

impl SdkBedrock {
    /// Loads the AWS configuration from the standard chain.
    pub async fn from_env(settings: SdkSettings) -> Self {
        let base = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::new(base, settings)
    }

    pub fn new(base: SdkConfig, settings: SdkSettings) -> Self {
        let period = Duration::from_secs_f64(1.0 / settings.rate_limit_qps.max(0.001));
        let burst = NonZeroU32::new(settings.rate_limit_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        let ceiling = settings.rate_limit_qps;
        Self {
            base,
            settings,
            clients: Mutex::new(HashMap::new()),
            limiter: Arc::new(RateLimiter::direct(quota)),
            pacer: Pacer::new(ceiling),
            meter: Meter::default(),
        }
    }

    /// Counts and times every call in `metrics` (`bedrock_calls_total`,
    /// `bedrock_call_duration_seconds`).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.meter = Meter::new(metrics);
        self
    }

    /// The region of the AWS configuration, used when a resource names none.
    pub fn default_region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    fn client(&self, region: &str) -> Client {
        let mut clients = self.clients.lock();
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = aws_sdk_bedrock::config::Builder::from(&self.base)
                    .region(Region::new(region.to_string()))
                    .retry_config(RetryConfig::disabled())
                    .timeout_config(
                        TimeoutConfig::builder()
                            .operation_timeout(self.settings.call_timeout)
                            .connect_timeout(Duration::from_secs(5))
                            .build(),
                    )
                    .build();
                Client::from_conf(config)
            })
            .clone()
    }

    /// Sends one request of `operation` in `region` built by `send` from the region's client,
    /// and records it in the metrics.
    pub(super) async fn call<T, E, F, Fut>(
        &self,
        region: &str,
        operation: Operation,
        send: F,
    ) -> Result<T, BedrockError>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let started = Instant::now();
        let result = self.paced(region, operation, send).await;
        self.meter.record(operation, started, &result);
        result
    }

    /// [`Self::call`] for a request about one resource whose absence is an answer: NotFound
    /// is `Ok(None)`, and counts as `ok` in the metrics.
    pub(super) async fn look_up<T, E, F, Fut>(
        &self,
        region: &str,
        operation: Operation,
        send: F,
    ) -> Result<Option<T>, BedrockError>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let started = Instant::now();
        let result = match self.paced(region, operation, send).await {
            Ok(output) => Ok(Some(output)),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        };
        self.meter.record(operation, started, &result);
        result
    }

    /// Waits for the operation's pace (after throttling) and the operator-wide rate limiter,
    /// sends, maps the error, and feeds the outcome back into the operation's pace.
    async fn paced<T, E, F, Fut>(
        &self,
        region: &str,
        operation: Operation,
        send: F,
    ) -> Result<T, BedrockError>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.pacer.wait(region, operation).await;
        self.limiter.until_ready().await;
        let result = send(self.client(region))
            .await
            .map_err(|e| map_error(operation, e));
        let throttled = matches!(&result, Err(e) if e.class() == ErrorClass::Throttled);
        self.pacer.record(region, operation, throttled);
        result
    }
}

impl Tags for SdkBedrock {
    async fn list_tags(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, BedrockError> {
        let output = self
            .call(region, Operation::ListTagsForResource, |client| {
                client.list_tags_for_resource().resource_arn(arn).send()
            })
            .await?;
        Ok(output
            .tags()
            .iter()
            .map(|tag| (tag.key().to_string(), tag.value().to_string()))
            .collect())
    }

    async fn tag(
        &self,
        region: &str,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), BedrockError> {
        const OP: Operation = Operation::TagResource;
        let tags = sdk_tags(OP, tags)?;
        self.call(region, OP, |client| {
            client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
        })
        .await?;
        Ok(())
    }

    async fn untag(&self, region: &str, arn: &str, keys: &[String]) -> Result<(), BedrockError> {
        self.call(region, Operation::UntagResource, |client| {
            client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys.to_vec()))
                .send()
        })
        .await?;
        Ok(())
    }
}

/// A timestamp as RFC 3339.
pub(super) fn rfc3339(time: &DateTime) -> Option<String> {
    time.fmt(Format::DateTime).ok()
}

pub(super) fn sdk_tags(
    operation: Operation,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Tag>, BedrockError> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| construction(operation, e))
}

/// A request that could not be built: nothing was sent.
pub(super) fn construction(
    operation: Operation,
    err: impl StdError + Send + Sync + 'static,
) -> BedrockError {
    BedrockError {
        operation: operation.as_str(),
        class: ErrorClass::Terminal,
        code: None,
        message: None,
        source: Some(Box::new(err)),
    }
}

/// The SDK's error of any operation, in domain terms: classified by the service's error code
/// (see [`ErrorClass::from_code`]), or by how the call failed when the service did not answer.
fn map_error<E>(operation: Operation, err: SdkError<E, HttpResponse>) -> BedrockError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let operation = operation.as_str();
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let err = service.into_err();
            let code = err.code().map(str::to_string);
            let message = err.message().map(str::to_string);
            let class = ErrorClass::from_code(code.as_deref().unwrap_or_default(), Some(status));
            BedrockError {
                operation,
                class,
                code,
                message,
                source: Some(Box::new(err)),
            }
        }
        SdkError::ConstructionFailure(_) => BedrockError {
            operation,
            class: ErrorClass::Terminal,
            code: None,
            message: Some(DisplayErrorContext(&err).to_string()),
            source: Some(Box::new(err)),
        },
        // Timeouts, connection failures and unparseable responses: the call may or may not have
        // reached Bedrock, so retry (every call the operator makes is idempotent).
        other => BedrockError {
            operation,
            class: ErrorClass::Retryable,
            code: None,
            message: Some(DisplayErrorContext(&other).to_string()),
            source: Some(Box::new(other)),
        },
    }
}

#[cfg(test)]
#[path = "sdk_tests.rs"]
mod tests;
