//! A typed client for the control API, for use from another process (xtask, benchmarks).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::{ClockAdvance, ClockStatus};
use crate::config::Limits;
use crate::control::{Cleared, ConflictBody, DelayBody, FoundationModelBody};
use crate::deployment::{
    DeploymentCreateLogEntry, DeploymentDelays, DeploymentFailure, DeploymentRecord,
};
use crate::faults::FaultConfig;
use crate::import::{
    ImportDelays, ImportJobCreateLogEntry, ImportJobFailure, ImportJobRecord, ImportedModelRecord,
};
use crate::model::{CreateLogEntry, ForceStatus, ForeignModel, ModelRecord};
use crate::provisioned::{
    ProvisionedCreateLogEntry, ProvisionedDelays, ProvisionedFailure, ProvisionedForceStatus,
    ProvisionedRecord,
};
use crate::runtime::{InvocationRecord, ModelScript};
use crate::types::Counters;

/// A control API call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlClientError {
    #[error("invalid emulator URL '{0}'")]
    InvalidUrl(String),
    #[error("could not build the request")]
    Request(#[source] http::Error),
    #[error("the emulator could not be reached")]
    Transport(#[source] hyper_util::client::legacy::Error),
    #[error("could not read the emulator's answer")]
    Body(#[source] hyper::Error),
    #[error("the emulator answered {status} {code}: {message}")]
    Status {
        status: StatusCode,
        code: String,
        message: String,
    },
    #[error("could not encode or decode JSON")]
    Json(#[source] serde_json::Error),
}

/// Talks to `/__emulator/` over HTTP/1.1 keep-alive connections.
#[derive(Clone, Debug)]
pub struct ControlClient {
    base_url: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

/// A 404 as `None`: the answer of a call on something that may not exist.
fn found<T>(result: Result<T, ControlClientError>) -> Result<Option<T>, ControlClientError> {
    match result {
        Ok(record) => Ok(Some(record)),
        Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// A path segment holding a name or ARN.
fn segment(identifier: &str) -> String {
    utf8_percent_encode(identifier, NON_ALPHANUMERIC).to_string()
}

impl ControlClient {
    /// `base_url` is the emulator's URL, e.g. `http://127.0.0.1:4010`.
    pub fn new(base_url: impl Into<String>) -> Result<Self, ControlClientError> {
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        if !base_url.starts_with("http://") {
            return Err(ControlClientError::InvalidUrl(base_url));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(ControlClient { base_url, http })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, ControlClientError> {
        let body = match body {
            Some(body) => Bytes::from(serde_json::to_vec(body).map_err(ControlClientError::Json)?),
            None => Bytes::new(),
        };
        let request = Request::builder()
            .method(method)
            .uri(format!("{}/__emulator{path}", self.base_url))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(ControlClientError::Request)?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(ControlClientError::Transport)?;
        let status = response.status();
        let code = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(ControlClientError::Body)?
            .to_bytes();
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|body| body.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(ControlClientError::Status {
                status,
                code,
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(ControlClientError::Json)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ControlClientError> {
        self.call(Method::GET, path, None::<&()>).await
    }

    /// Succeeds when the emulator answers.
    pub async fn health(&self) -> Result<(), ControlClientError> {
        self.get::<serde_json::Value>("/health").await.map(|_| ())
    }

    pub async fn counters(&self) -> Result<Counters, ControlClientError> {
        self.get("/counters").await
    }

    pub async fn create_log(&self) -> Result<Vec<CreateLogEntry>, ControlClientError> {
        self.get("/create-log").await
    }

    pub async fn models(&self) -> Result<Vec<ModelRecord>, ControlClientError> {
        self.get("/models").await
    }

    /// One model by name or ARN; `None` when it does not exist.
    pub async fn model(&self, identifier: &str) -> Result<Option<ModelRecord>, ControlClientError> {
        match self.get(&format!("/models/{}", segment(identifier))).await {
            Ok(record) => Ok(Some(record)),
            Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    pub async fn insert_model(
        &self,
        model: &ForeignModel,
    ) -> Result<ModelRecord, ControlClientError> {
        self.call(Method::POST, "/models", Some(model)).await
    }

    /// Deletes a model out of band; `None` when it did not exist.
    pub async fn remove_model(
        &self,
        identifier: &str,
    ) -> Result<Option<ModelRecord>, ControlClientError> {
        let path = format!("/models/{}", segment(identifier));
        match self.call(Method::DELETE, &path, None::<&()>).await {
            Ok(record) => Ok(Some(record)),
            Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    pub async fn force_status(
        &self,
        identifier: &str,
        status: &ForceStatus,
    ) -> Result<ModelRecord, ControlClientError> {
        let path = format!("/models/{}/status", segment(identifier));
        self.call(Method::POST, &path, Some(status)).await
    }

    pub async fn faults(&self) -> Result<FaultConfig, ControlClientError> {
        self.get("/faults").await
    }

    pub async fn set_faults(
        &self,
        faults: &FaultConfig,
    ) -> Result<FaultConfig, ControlClientError> {
        self.call(Method::PUT, "/faults", Some(faults)).await
    }

    pub async fn limits(&self) -> Result<Limits, ControlClientError> {
        self.get("/limits").await
    }

    pub async fn set_limits(&self, limits: &Limits) -> Result<Limits, ControlClientError> {
        self.call(Method::PUT, "/limits", Some(limits)).await
    }

    pub async fn default_ready_delay(&self) -> Result<Duration, ControlClientError> {
        let body: DelayBody = self.get("/ready-delay").await?;
        Ok(Duration::from_millis(body.delay_ms))
    }

    pub async fn set_default_ready_delay(&self, delay: Duration) -> Result<(), ControlClientError> {
        let body = DelayBody {
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        };
        self.call::<DelayBody>(Method::PUT, "/ready-delay", Some(&body))
            .await
            .map(|_| ())
    }

    pub async fn set_ready_delay(
        &self,
        identifier: &str,
        delay: Duration,
    ) -> Result<(), ControlClientError> {
        let body = DelayBody {
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        };
        let path = format!("/ready-delay/{}", segment(identifier));
        self.call::<DelayBody>(Method::PUT, &path, Some(&body))
            .await
            .map(|_| ())
    }

    pub async fn clear_ready_delay(&self, identifier: &str) -> Result<bool, ControlClientError> {
        let path = format!("/ready-delay/{}", segment(identifier));
        self.call::<Cleared>(Method::DELETE, &path, None::<&()>)
            .await
            .map(|body| body.cleared)
    }

    pub async fn set_delete_conflict(
        &self,
        identifier: &str,
        message: Option<&str>,
    ) -> Result<(), ControlClientError> {
        let body = ConflictBody {
            message: message.map(str::to_owned),
        };
        let path = format!("/delete-conflicts/{}", segment(identifier));
        self.call::<serde_json::Value>(Method::PUT, &path, Some(&body))
            .await
            .map(|_| ())
    }

    pub async fn clear_delete_conflict(
        &self,
        identifier: &str,
    ) -> Result<bool, ControlClientError> {
        let path = format!("/delete-conflicts/{}", segment(identifier));
        self.call::<Cleared>(Method::DELETE, &path, None::<&()>)
            .await
            .map(|body| body.cleared)
    }

    pub async fn deployments(&self) -> Result<Vec<DeploymentRecord>, ControlClientError> {
        self.get("/deployments").await
    }

    /// One deployment by name or ARN; `None` when it does not exist.
    pub async fn deployment(
        &self,
        identifier: &str,
    ) -> Result<Option<DeploymentRecord>, ControlClientError> {
        match self
            .get(&format!("/deployments/{}", segment(identifier)))
            .await
        {
            Ok(record) => Ok(Some(record)),
            Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    pub async fn deployment_create_log(
        &self,
    ) -> Result<Vec<DeploymentCreateLogEntry>, ControlClientError> {
        self.get("/deployment-create-log").await
    }

    /// Deletes a deployment out of band; `None` when it did not exist.
    pub async fn remove_deployment(
        &self,
        identifier: &str,
    ) -> Result<Option<DeploymentRecord>, ControlClientError> {
        let path = format!("/deployments/{}", segment(identifier));
        match self.call(Method::DELETE, &path, None::<&()>).await {
            Ok(record) => Ok(Some(record)),
            Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    pub async fn force_deployment_status(
        &self,
        identifier: &str,
        status: &ForceStatus,
    ) -> Result<DeploymentRecord, ControlClientError> {
        let path = format!("/deployments/{}/status", segment(identifier));
        self.call(Method::POST, &path, Some(status)).await
    }

    /// Adds a scripted failure; returns the failures still pending.
    pub async fn add_deployment_failure(
        &self,
        failure: &DeploymentFailure,
    ) -> Result<Vec<DeploymentFailure>, ControlClientError> {
        self.call(Method::POST, "/deployment-failures", Some(failure))
            .await
    }

    pub async fn deployment_failures(&self) -> Result<Vec<DeploymentFailure>, ControlClientError> {
        self.get("/deployment-failures").await
    }

    pub async fn clear_deployment_failures(&self) -> Result<bool, ControlClientError> {
        self.call::<Cleared>(Method::DELETE, "/deployment-failures", None::<&()>)
            .await
            .map(|body| body.cleared)
    }

    pub async fn deployment_delays(&self) -> Result<DeploymentDelays, ControlClientError> {
        self.get("/deployment-delays").await
    }

    pub async fn set_deployment_delays(
        &self,
        delays: &DeploymentDelays,
    ) -> Result<DeploymentDelays, ControlClientError> {
        self.call(Method::PUT, "/deployment-delays", Some(delays))
            .await
    }

    /// Sets (or, with `None`, clears) the foundation model a model was customized from.
    pub async fn set_foundation_model(
        &self,
        identifier: &str,
        foundation_model_arn: Option<&str>,
    ) -> Result<ModelRecord, ControlClientError> {
        let body = FoundationModelBody {
            foundation_model_arn: foundation_model_arn.map(str::to_owned),
        };
        let path = format!("/models/{}/foundation-model", segment(identifier));
        self.call(Method::PUT, &path, Some(&body)).await
    }

    pub async fn provisioned_throughputs(
        &self,
    ) -> Result<Vec<ProvisionedRecord>, ControlClientError> {
        self.get("/provisioned-throughputs").await
    }

    /// One Provisioned Throughput by name or ARN; `None` when it does not exist.
    pub async fn provisioned_throughput(
        &self,
        identifier: &str,
    ) -> Result<Option<ProvisionedRecord>, ControlClientError> {
        match self
            .get(&format!("/provisioned-throughputs/{}", segment(identifier)))
            .await
        {
            Ok(record) => Ok(Some(record)),
            Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    pub async fn provisioned_create_log(
        &self,
    ) -> Result<Vec<ProvisionedCreateLogEntry>, ControlClientError> {
        self.get("/provisioned-create-log").await
    }

    /// Deletes a Provisioned Throughput out of band (no commitment applies); `None` when it did
    /// not exist.
    pub async fn remove_provisioned_throughput(
        &self,
        identifier: &str,
    ) -> Result<Option<ProvisionedRecord>, ControlClientError> {
        let path = format!("/provisioned-throughputs/{}", segment(identifier));
        match self.call(Method::DELETE, &path, None::<&()>).await {
            Ok(record) => Ok(Some(record)),
            Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    pub async fn force_provisioned_status(
        &self,
        identifier: &str,
        status: &ProvisionedForceStatus,
    ) -> Result<ProvisionedRecord, ControlClientError> {
        let path = format!("/provisioned-throughputs/{}/status", segment(identifier));
        self.call(Method::POST, &path, Some(status)).await
    }

    /// Adds a scripted failure; returns the failures still pending.
    pub async fn add_provisioned_failure(
        &self,
        failure: &ProvisionedFailure,
    ) -> Result<Vec<ProvisionedFailure>, ControlClientError> {
        self.call(Method::POST, "/provisioned-failures", Some(failure))
            .await
    }

    pub async fn provisioned_failures(
        &self,
    ) -> Result<Vec<ProvisionedFailure>, ControlClientError> {
        self.get("/provisioned-failures").await
    }

    pub async fn clear_provisioned_failures(&self) -> Result<bool, ControlClientError> {
        self.call::<Cleared>(Method::DELETE, "/provisioned-failures", None::<&()>)
            .await
            .map(|body| body.cleared)
    }

    pub async fn provisioned_delays(&self) -> Result<ProvisionedDelays, ControlClientError> {
        self.get("/provisioned-delays").await
    }

    pub async fn set_provisioned_delays(
        &self,
        delays: &ProvisionedDelays,
    ) -> Result<ProvisionedDelays, ControlClientError> {
        self.call(Method::PUT, "/provisioned-delays", Some(delays))
            .await
    }

    pub async fn import_jobs(&self) -> Result<Vec<ImportJobRecord>, ControlClientError> {
        self.get("/import-jobs").await
    }

    /// One import job by name or ARN; `None` when it does not exist.
    pub async fn import_job(
        &self,
        identifier: &str,
    ) -> Result<Option<ImportJobRecord>, ControlClientError> {
        match self
            .get(&format!("/import-jobs/{}", segment(identifier)))
            .await
        {
            Ok(record) => Ok(Some(record)),
            Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Forgets an import job out of band (its model stays); `None` when it did not exist.
    pub async fn remove_import_job(
        &self,
        identifier: &str,
    ) -> Result<Option<ImportJobRecord>, ControlClientError> {
        let path = format!("/import-jobs/{}", segment(identifier));
        found(self.call(Method::DELETE, &path, None::<&()>).await)
    }

    pub async fn imported_models(&self) -> Result<Vec<ImportedModelRecord>, ControlClientError> {
        self.get("/imported-models").await
    }

    /// One imported model by name or ARN; `None` when it does not exist.
    pub async fn imported_model(
        &self,
        identifier: &str,
    ) -> Result<Option<ImportedModelRecord>, ControlClientError> {
        match self
            .get(&format!("/imported-models/{}", segment(identifier)))
            .await
        {
            Ok(record) => Ok(Some(record)),
            Err(ControlClientError::Status { status, .. }) if status == StatusCode::NOT_FOUND => {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    pub async fn import_job_create_log(
        &self,
    ) -> Result<Vec<ImportJobCreateLogEntry>, ControlClientError> {
        self.get("/import-job-create-log").await
    }

    /// Adds a scripted import failure; returns the failures still pending.
    pub async fn add_import_job_failure(
        &self,
        failure: &ImportJobFailure,
    ) -> Result<Vec<ImportJobFailure>, ControlClientError> {
        self.call(Method::POST, "/import-job-failures", Some(failure))
            .await
    }

    pub async fn import_job_failures(&self) -> Result<Vec<ImportJobFailure>, ControlClientError> {
        self.get("/import-job-failures").await
    }

    pub async fn clear_import_job_failures(&self) -> Result<bool, ControlClientError> {
        self.call::<Cleared>(Method::DELETE, "/import-job-failures", None::<&()>)
            .await
            .map(|body| body.cleared)
    }

    pub async fn import_delays(&self) -> Result<ImportDelays, ControlClientError> {
        self.get("/import-delays").await
    }

    pub async fn set_import_delays(
        &self,
        delays: &ImportDelays,
    ) -> Result<ImportDelays, ControlClientError> {
        self.call(Method::PUT, "/import-delays", Some(delays)).await
    }

    /// Every Converse and InvokeModel call, in order.
    pub async fn invocation_log(&self) -> Result<Vec<InvocationRecord>, ControlClientError> {
        self.get("/invocations").await
    }

    /// Sets how the model `model_arn` answers Converse and InvokeModel.
    pub async fn set_model_script(
        &self,
        model_arn: &str,
        script: &ModelScript,
    ) -> Result<(), ControlClientError> {
        let path = format!("/model-scripts/{}", segment(model_arn));
        self.call::<ModelScript>(Method::PUT, &path, Some(script))
            .await
            .map(|_| ())
    }

    /// Back to the default answer for `model_arn`; true if it had a script.
    pub async fn clear_model_script(&self, model_arn: &str) -> Result<bool, ControlClientError> {
        let path = format!("/model-scripts/{}", segment(model_arn));
        self.call::<Cleared>(Method::DELETE, &path, None::<&()>)
            .await
            .map(|body| body.cleared)
    }

    /// Where the emulator's clock stands.
    pub async fn clock(&self) -> Result<ClockStatus, ControlClientError> {
        self.get("/clock").await
    }

    /// Moves the emulator's clock forward by `by` (millisecond precision).
    pub async fn advance_clock(&self, by: Duration) -> Result<ClockStatus, ControlClientError> {
        let body = ClockAdvance {
            advance_seconds: 0,
            advance_ms: u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
        };
        self.call(Method::POST, "/clock", Some(&body)).await
    }

    /// Back to the start-up state.
    pub async fn reset(&self) -> Result<(), ControlClientError> {
        self.call::<serde_json::Value>(Method::POST, "/reset", None::<&()>)
            .await
            .map(|_| ())
    }
}
