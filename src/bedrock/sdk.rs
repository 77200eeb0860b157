//! [`super::Bedrock`] over aws-sdk-bedrock.
//!
//! Credentials, region and endpoint come from the standard aws-config chain (environment,
//! profile, IRSA web identity, EKS Pod Identity, instance metadata; `AWS_ENDPOINT_URL_BEDROCK`
//! or `AWS_ENDPOINT_URL`). The SDK's own retries are off: the controller retries with
//! per-object backoff, so that the operator-wide rate limit caps every call sent.
//!
//! Every request goes through one call path, `SdkBedrock::call` (or `SdkBedrock::look_up`
//! when NotFound is an answer): the operation's pace, the operator-wide rate limiter, the send,
//! the mapping of the SDK's error to a [`BedrockError`], the pacing feedback and the metrics.
//! An operation's method only builds its request and turns the output into domain types.

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
use aws_sdk_bedrock::types::{
    CommitmentDuration, CustomModelDataSource, CustomModelDeploymentStatus, ModelDataSource,
    ModelPackageArnDataSource, ModelStatus, S3DataSource, Tag,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::metered::Meter;
use super::pacing::Pacer;
use super::{
    BedrockError, CreateDeploymentRequest, CreateRequest, CreateThroughputRequest,
    DeploymentFilter, DeploymentState, DeploymentSummary, DeploymentUpdate, Deployments,
    ErrorClass, ModelState, ModelSummary, Models, Operation, RemoteDeployment, RemoteModel,
    RemoteThroughput, Source, Tags, ThroughputState, Throughputs, UpdateState,
    UpdateThroughputRequest,
};
use crate::metrics::Metrics;

/// Results per page of the List operations (the most Bedrock allows).
const PAGE_SIZE: i32 = 1000;

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
    async fn call<T, E, F, Fut>(
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
    async fn look_up<T, E, F, Fut>(
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

impl Models for SdkBedrock {
    async fn create_model(
        &self,
        region: &str,
        request: &CreateRequest,
    ) -> Result<String, BedrockError> {
        const OP: Operation = Operation::CreateCustomModel;
        let tags = sdk_tags(OP, &request.tags)?;
        let (model_source, package_source) = match &request.source {
            Source::S3Uri(uri) => (
                Some(ModelDataSource::S3DataSource(
                    S3DataSource::builder()
                        .s3_uri(uri)
                        .build()
                        .map_err(|e| construction(OP, e))?,
                )),
                None,
            ),
            Source::ModelPackageArn(arn) => (
                None,
                Some(CustomModelDataSource::ModelPackageArnDataSource(
                    ModelPackageArnDataSource::builder()
                        .model_package_arn(arn)
                        .build()
                        .map_err(|e| construction(OP, e))?,
                )),
            ),
        };
        let output = self
            .call(region, OP, |client| {
                client
                    .create_custom_model()
                    .model_name(&request.model_name)
                    .client_request_token(&request.client_request_token)
                    .set_role_arn(request.role_arn.clone())
                    .set_model_kms_key_arn(request.kms_key_arn.clone())
                    .set_model_tags(Some(tags))
                    .set_model_source_config(model_source)
                    .set_custom_model_data_source(package_source)
                    .send()
            })
            .await?;
        Ok(output.model_arn().to_string())
    }

    async fn get_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteModel>, BedrockError> {
        let output = self
            .look_up(region, Operation::GetCustomModel, |client| {
                client
                    .get_custom_model()
                    .model_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.map(|output| RemoteModel {
            arn: output.model_arn().to_string(),
            name: output.model_name().to_string(),
            state: model_state(output.model_status()),
            failure_message: output.failure_message().map(str::to_string),
            creation_time: rfc3339(output.creation_time()),
            kms_key_arn: output.model_kms_key_arn().map(str::to_string),
        }))
    }

    async fn list_models(
        &self,
        region: &str,
        state: ModelState,
        created_after: Option<&str>,
    ) -> Result<Vec<ModelSummary>, BedrockError> {
        const OP: Operation = Operation::ListCustomModels;
        let after = created_after
            .map(|t| DateTime::from_str(t, Format::DateTime))
            .transpose()
            .map_err(|e| construction(OP, e))?;
        let mut models = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            // Each page is a call of its own: paced, rate limited and counted.
            let output = self
                .call(region, OP, |client| {
                    client
                        .list_custom_models()
                        .model_status(ModelStatus::from(state.as_str()))
                        .set_creation_time_after(after)
                        .max_results(PAGE_SIZE)
                        .set_next_token(next_token.take())
                        .send()
                })
                .await?;
            models.extend(output.model_summaries().iter().map(|summary| ModelSummary {
                arn: summary.model_arn().to_string(),
                state: model_state(summary.model_status()),
            }));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(models),
            }
        }
    }

    async fn delete_model(&self, region: &str, identifier: &str) -> Result<bool, BedrockError> {
        let output = self
            .look_up(region, Operation::DeleteCustomModel, |client| {
                client
                    .delete_custom_model()
                    .model_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.is_some())
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

impl Deployments for SdkBedrock {
    async fn create_deployment(
        &self,
        region: &str,
        request: &CreateDeploymentRequest,
    ) -> Result<String, BedrockError> {
        const OP: Operation = Operation::CreateCustomModelDeployment;
        let tags = sdk_tags(OP, &request.tags)?;
        let output = self
            .call(region, OP, |client| {
                client
                    .create_custom_model_deployment()
                    .model_deployment_name(&request.name)
                    .model_arn(&request.model_arn)
                    .set_description(request.description.clone())
                    .set_tags(Some(tags))
                    .client_request_token(&request.client_request_token)
                    .send()
            })
            .await?;
        Ok(output.custom_model_deployment_arn().to_string())
    }

    async fn get_deployment(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteDeployment>, BedrockError> {
        let output = self
            .look_up(region, Operation::GetCustomModelDeployment, |client| {
                client
                    .get_custom_model_deployment()
                    .custom_model_deployment_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.map(|output| RemoteDeployment {
            arn: output.custom_model_deployment_arn().to_string(),
            name: output.model_deployment_name().to_string(),
            model_arn: output.model_arn().to_string(),
            description: output.description().map(str::to_string),
            state: DeploymentState::from(output.status().as_str()),
            failure_message: output.failure_message().map(str::to_string),
            update: output.update_details().map(|update| DeploymentUpdate {
                model_arn: update.model_arn().to_string(),
                state: UpdateState::from(update.update_status().as_str()),
            }),
            creation_time: rfc3339(output.created_at()),
            last_updated_time: output.last_updated_at().and_then(rfc3339),
        }))
    }

    async fn list_deployments(
        &self,
        region: &str,
        filter: &DeploymentFilter,
    ) -> Result<Vec<DeploymentSummary>, BedrockError> {
        let mut deployments = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            // Each page is a call of its own: paced, rate limited and counted.
            let output = self
                .call(region, Operation::ListCustomModelDeployments, |client| {
                    client
                        .list_custom_model_deployments()
                        .set_status_equals(
                            filter
                                .state
                                .as_ref()
                                .map(|state| CustomModelDeploymentStatus::from(state.as_str())),
                        )
                        .set_model_arn_equals(filter.model_arn.clone())
                        .set_name_contains(filter.name_contains.clone())
                        .max_results(PAGE_SIZE)
                        .set_next_token(next_token.take())
                        .send()
                })
                .await?;
            deployments.extend(output.model_deployment_summaries().iter().map(|summary| {
                DeploymentSummary {
                    arn: summary.custom_model_deployment_arn().to_string(),
                    name: summary.custom_model_deployment_name().to_string(),
                    model_arn: summary.model_arn().to_string(),
                    state: DeploymentState::from(summary.status().as_str()),
                    failure_message: summary.failure_message().map(str::to_string),
                    creation_time: rfc3339(summary.created_at()),
                    last_updated_time: summary.last_updated_at().and_then(rfc3339),
                }
            }));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(deployments),
            }
        }
    }

    async fn update_deployment(
        &self,
        region: &str,
        identifier: &str,
        model_arn: &str,
    ) -> Result<String, BedrockError> {
        let output = self
            .call(region, Operation::UpdateCustomModelDeployment, |client| {
                client
                    .update_custom_model_deployment()
                    .custom_model_deployment_identifier(identifier)
                    .model_arn(model_arn)
                    .send()
            })
            .await?;
        Ok(output.custom_model_deployment_arn().to_string())
    }

    async fn delete_deployment(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<bool, BedrockError> {
        let output = self
            .look_up(region, Operation::DeleteCustomModelDeployment, |client| {
                client
                    .delete_custom_model_deployment()
                    .custom_model_deployment_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.is_some())
    }
}

impl Throughputs for SdkBedrock {
    async fn create_throughput(
        &self,
        region: &str,
        request: &CreateThroughputRequest,
    ) -> Result<String, BedrockError> {
        const OP: Operation = Operation::CreateProvisionedModelThroughput;
        let tags = sdk_tags(OP, &request.tags)?;
        let output = self
            .call(region, OP, |client| {
                client
                    .create_provisioned_model_throughput()
                    .provisioned_model_name(&request.name)
                    .model_id(&request.model_id)
                    .model_units(request.model_units)
                    .set_commitment_duration(
                        request.commitment.as_deref().map(CommitmentDuration::from),
                    )
                    .set_tags(Some(tags))
                    .client_request_token(&request.client_request_token)
                    .send()
            })
            .await?;
        Ok(output.provisioned_model_arn().to_string())
    }

    async fn get_throughput(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteThroughput>, BedrockError> {
        let output = self
            .look_up(region, Operation::GetProvisionedModelThroughput, |client| {
                client
                    .get_provisioned_model_throughput()
                    .provisioned_model_id(identifier)
                    .send()
            })
            .await?;
        Ok(output.map(|output| RemoteThroughput {
            arn: output.provisioned_model_arn().to_string(),
            name: output.provisioned_model_name().to_string(),
            model_arn: output.model_arn().to_string(),
            desired_model_arn: output.desired_model_arn().to_string(),
            model_units: output.model_units(),
            state: ThroughputState::from(output.status().as_str()),
            failure_message: output.failure_message().map(str::to_string),
            commitment: output.commitment_duration().map(|c| c.as_str().to_string()),
            commitment_expiration_time: output.commitment_expiration_time().and_then(rfc3339),
            creation_time: rfc3339(output.creation_time()),
            last_modified_time: rfc3339(output.last_modified_time()),
        }))
    }

    async fn update_throughput(
        &self,
        region: &str,
        identifier: &str,
        request: &UpdateThroughputRequest,
    ) -> Result<(), BedrockError> {
        self.call(
            region,
            Operation::UpdateProvisionedModelThroughput,
            |client| {
                client
                    .update_provisioned_model_throughput()
                    .provisioned_model_id(identifier)
                    .set_desired_provisioned_model_name(request.name.clone())
                    .set_desired_model_id(request.model_id.clone())
                    .send()
            },
        )
        .await?;
        Ok(())
    }

    async fn delete_throughput(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<bool, BedrockError> {
        let output = self
            .look_up(
                region,
                Operation::DeleteProvisionedModelThroughput,
                |client| {
                    client
                        .delete_provisioned_model_throughput()
                        .provisioned_model_id(identifier)
                        .send()
                },
            )
            .await?;
        Ok(output.is_some())
    }
}

fn model_state(status: Option<&ModelStatus>) -> ModelState {
    status.map_or(ModelState::Creating, |status| {
        ModelState::from(status.as_str())
    })
}

/// A timestamp as RFC 3339.
fn rfc3339(time: &DateTime) -> Option<String> {
    time.fmt(Format::DateTime).ok()
}

fn sdk_tags(
    operation: Operation,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<Tag>, BedrockError> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| construction(operation, e))
}

/// A request that could not be built: nothing was sent.
fn construction(operation: Operation, err: impl StdError + Send + Sync + 'static) -> BedrockError {
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
