//! Helpers shared by the integration tests: an emulator per test, the real aws-sdk-bedrock client
//! pointed at it, raw HTTP for what the SDK cannot send, and deadline-bound waiting.

#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use aws_credential_types::Credentials;
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::config::retry::RetryConfig;
use aws_sdk_bedrock::config::{BehaviorVersion, Region};
use aws_sdk_bedrock::types::{
    CustomModelDataSource, ModelDataSource, ModelPackageArnDataSource, S3DataSource, Tag,
};
use bedrock_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/BedrockImport";
pub const S3_URI: &str = "s3://amazon-sagemaker-bucket/models/nova/";
pub const KMS_KEY_ARN: &str =
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
pub const PACKAGE_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/nova/1";

/// How long a test waits for a condition before failing.
pub const WAIT_DEADLINE: Duration = Duration::from_secs(15);

/// A test emulator with a seed, and models that stay Creating unless a test says otherwise.
pub fn test_config() -> EmulatorConfig {
    EmulatorConfig {
        ready_delay: Duration::from_secs(3600),
        seed: Some(7),
        ..EmulatorConfig::default()
    }
}

pub async fn start() -> Result<EmulatorHandle> {
    start_with(test_config()).await
}

pub async fn start_with(config: EmulatorConfig) -> Result<EmulatorHandle> {
    Emulator::start(config).await.context("start the emulator")
}

pub fn test_credentials() -> Credentials {
    Credentials::new("AKIDTEST", "secret", None, None, "test")
}

/// The real SDK client, without retries so that every error is seen once.
pub fn sdk(url: &str) -> Client {
    sdk_with(url, test_credentials(), 1)
}

pub fn sdk_with(url: &str, credentials: Credentials, max_attempts: u32) -> Client {
    let config = aws_sdk_bedrock::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(credentials)
        .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
        .build();
    Client::from_conf(config)
}

pub fn s3_source(uri: &str) -> Result<ModelDataSource> {
    Ok(ModelDataSource::S3DataSource(
        S3DataSource::builder().s3_uri(uri).build()?,
    ))
}

pub fn package_source(arn: &str) -> Result<CustomModelDataSource> {
    Ok(CustomModelDataSource::ModelPackageArnDataSource(
        ModelPackageArnDataSource::builder()
            .model_package_arn(arn)
            .build()?,
    ))
}

pub fn tag(key: &str, value: &str) -> Result<Tag> {
    Ok(Tag::builder().key(key).value(value).build()?)
}

/// Creates a model from S3 with the test role; returns its ARN.
pub async fn create(client: &Client, name: &str, token: &str) -> Result<String> {
    let output = client
        .create_custom_model()
        .model_name(name)
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .client_request_token(token)
        .send()
        .await
        .with_context(|| format!("create {name}"))?;
    Ok(output.model_arn().to_owned())
}

/// Polls `check` until it returns `Some`, failing after [`WAIT_DEADLINE`].
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + WAIT_DEADLINE;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {WAIT_DEADLINE:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A well-formed SigV4 header (the signature itself is not checked unless configured).
pub fn fake_sigv4() -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        "0".repeat(64)
    )
}

/// A raw HTTP answer.
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("JSON body, got {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The error code from `x-amzn-ErrorType`.
    pub fn error_code(&self) -> Option<&str> {
        self.headers
            .get("x-amzn-errortype")
            .and_then(|value| value.to_str().ok())
    }

    /// The `message` member of an error body.
    pub fn message(&self) -> Result<String> {
        self.json()?
            .get("message")
            .and_then(|message| message.as_str())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no message in {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// Sends one raw request; `authorization` adds the header when set.
pub async fn raw(
    url: &str,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    body: impl Into<Bytes>,
) -> Result<RawResponse> {
    let client = HyperClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .header("content-type", "application/json")
        .header("x-amz-date", "20260101T000000Z");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = client
        .request(request.body(Full::new(body.into()))?)
        .await
        .context("send the raw request")?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

/// A model that is Active at once (inserted through the control API); returns its ARN.
pub fn active_model(emulator: &EmulatorHandle, name: &str) -> Result<String> {
    Ok(emulator
        .insert_model(bedrock_emulator::ForeignModel::new(name))?
        .model_arn)
}

/// Deploys `model_arn` as `name`; returns the deployment's ARN.
pub async fn deploy(client: &Client, name: &str, model_arn: &str, token: &str) -> Result<String> {
    let output = client
        .create_custom_model_deployment()
        .model_deployment_name(name)
        .model_arn(model_arn)
        .client_request_token(token)
        .send()
        .await
        .with_context(|| format!("deploy {name}"))?;
    Ok(output.custom_model_deployment_arn().to_owned())
}

/// The HTTP status and error code of a failed SDK call (`None` when it succeeded).
pub fn failure<T, E>(
    result: std::result::Result<T, aws_sdk_bedrock::error::SdkError<E>>,
) -> Option<(u16, String, String)>
where
    E: aws_sdk_bedrock::error::ProvideErrorMetadata,
{
    let error = result.err()?;
    let status = error.raw_response().map(|raw| raw.status().as_u16())?;
    let error = error.as_service_error()?;
    let code = error.code().unwrap_or_default().to_owned();
    let message = error.message().unwrap_or_default().to_owned();
    Some((status, code, message))
}
