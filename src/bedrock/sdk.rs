//! [`Bedrock`] over aws-sdk-bedrock.
//!
//! Credentials, region and endpoint come from the standard aws-config chain (environment,
//! profile, IRSA web identity, EKS Pod Identity, instance metadata; `AWS_ENDPOINT_URL_BEDROCK`
//! or `AWS_ENDPOINT_URL`). The SDK's own retries are off: the controller retries with
//! per-object backoff, so that the operator-wide rate limit caps every call sent.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::config::http::HttpResponse;
use aws_sdk_bedrock::config::retry::RetryConfig;
use aws_sdk_bedrock::config::timeout::TimeoutConfig;
use aws_sdk_bedrock::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrock::types::{
    CustomModelDataSource, ModelDataSource, ModelPackageArnDataSource, ModelStatus, S3DataSource,
    Tag,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::pacing::Pacer;
use super::{
    Bedrock, BedrockError, CreateRequest, ErrorClass, ModelState, ModelSummary, RemoteModel,
    Source, operation,
};

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
        }
    }

    /// The region of the AWS configuration, used when a resource names none.
    pub fn default_region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    fn client(&self, region: &str) -> Client {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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

    /// Waits for the operation's pace (after throttling) and the operator-wide rate limiter,
    /// then hands out the region's client.
    async fn ready(&self, region: &str, operation: &'static str) -> Client {
        self.pacer.wait(region, operation).await;
        self.limiter.until_ready().await;
        self.client(region)
    }

    /// Feeds a call's outcome back into the pacing of its operation.
    fn record<T>(&self, region: &str, operation: &'static str, result: &Result<T, BedrockError>) {
        let throttled = matches!(result, Err(e) if e.class == ErrorClass::Throttled);
        self.pacer.record(region, operation, throttled);
    }
}

impl Bedrock for SdkBedrock {
    async fn create_model(
        &self,
        region: &str,
        request: &CreateRequest,
    ) -> Result<String, BedrockError> {
        const OP: &str = operation::CREATE_CUSTOM_MODEL;
        let tags = request
            .tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| construction(OP, e))?;
        let mut call = self
            .ready(region, OP)
            .await
            .create_custom_model()
            .model_name(&request.model_name)
            .client_request_token(&request.client_request_token)
            .set_role_arn(request.role_arn.clone())
            .set_model_kms_key_arn(request.kms_key_arn.clone())
            .set_model_tags(Some(tags));
        call = match &request.source {
            Source::S3Uri(uri) => call.model_source_config(ModelDataSource::S3DataSource(
                S3DataSource::builder()
                    .s3_uri(uri)
                    .build()
                    .map_err(|e| construction(OP, e))?,
            )),
            Source::ModelPackageArn(arn) => {
                call.custom_model_data_source(CustomModelDataSource::ModelPackageArnDataSource(
                    ModelPackageArnDataSource::builder()
                        .model_package_arn(arn)
                        .build()
                        .map_err(|e| construction(OP, e))?,
                ))
            }
        };
        let output = call.send().await.map_err(|e| map_error(OP, e));
        self.record(region, OP, &output);
        let output = output?;
        Ok(output.model_arn().to_string())
    }

    async fn get_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteModel>, BedrockError> {
        const OP: &str = operation::GET_CUSTOM_MODEL;
        let result = self
            .ready(region, OP)
            .await
            .get_custom_model()
            .model_identifier(identifier)
            .send()
            .await;
        if result.is_ok() {
            self.pacer.record(region, OP, false);
        }
        match result {
            Ok(output) => Ok(Some(RemoteModel {
                arn: output.model_arn().to_string(),
                name: output.model_name().to_string(),
                state: model_state(output.model_status()),
                failure_message: output.failure_message().map(str::to_string),
                creation_time: output
                    .creation_time()
                    .fmt(aws_smithy_types::date_time::Format::DateTime)
                    .ok(),
                kms_key_arn: output.model_kms_key_arn().map(str::to_string),
            })),
            Err(err) => {
                let err = map_error(OP, err);
                self.pacer
                    .record(region, OP, err.class == ErrorClass::Throttled);
                if err.class == ErrorClass::NotFound {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn list_models(
        &self,
        region: &str,
        state: ModelState,
        created_after: Option<&str>,
    ) -> Result<Vec<ModelSummary>, BedrockError> {
        const OP: &str = operation::LIST_CUSTOM_MODELS;
        let after = created_after
            .map(|t| {
                aws_smithy_types::DateTime::from_str(
                    t,
                    aws_smithy_types::date_time::Format::DateTime,
                )
            })
            .transpose()
            .map_err(|e| construction(OP, e))?;
        let mut models = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            // Each page waits for the rate limiter like any other call.
            let output = self
                .ready(region, OP)
                .await
                .list_custom_models()
                .model_status(ModelStatus::from(state.as_str()))
                .set_creation_time_after(after)
                .max_results(1000)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| map_error(OP, e));
            self.record(region, OP, &output);
            let output = output?;
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
        const OP: &str = operation::DELETE_CUSTOM_MODEL;
        let result = self
            .ready(region, OP)
            .await
            .delete_custom_model()
            .model_identifier(identifier)
            .send()
            .await;
        if result.is_ok() {
            self.pacer.record(region, OP, false);
        }
        match result {
            Ok(_) => Ok(true),
            Err(err) => {
                let err = map_error(OP, err);
                self.pacer
                    .record(region, OP, err.class == ErrorClass::Throttled);
                if err.class == ErrorClass::NotFound {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn list_tags(
        &self,
        region: &str,
        arn: &str,
    ) -> Result<BTreeMap<String, String>, BedrockError> {
        const OP: &str = operation::LIST_TAGS_FOR_RESOURCE;
        let output = self
            .ready(region, OP)
            .await
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| map_error(OP, e));
        self.record(region, OP, &output);
        let output = output?;
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
        const OP: &str = operation::TAG_RESOURCE;
        let tags = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| construction(OP, e))?;
        let output = self
            .ready(region, OP)
            .await
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| map_error(OP, e));
        self.record(region, OP, &output);
        output?;
        Ok(())
    }

    async fn untag(&self, region: &str, arn: &str, keys: &[String]) -> Result<(), BedrockError> {
        const OP: &str = operation::UNTAG_RESOURCE;
        let output = self
            .ready(region, OP)
            .await
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| map_error(OP, e));
        self.record(region, OP, &output);
        output?;
        Ok(())
    }
}

fn model_state(status: Option<&ModelStatus>) -> ModelState {
    match status {
        Some(ModelStatus::Active) => ModelState::Active,
        Some(ModelStatus::Failed) => ModelState::Failed,
        Some(ModelStatus::Creating) | None => ModelState::Creating,
        Some(other) => ModelState::Other(other.as_str().to_string()),
    }
}

fn construction(
    operation: &'static str,
    err: impl StdError + Send + Sync + 'static,
) -> BedrockError {
    BedrockError {
        operation,
        class: ErrorClass::Terminal,
        code: None,
        message: None,
        source: Some(Box::new(err)),
    }
}

fn map_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> BedrockError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
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
