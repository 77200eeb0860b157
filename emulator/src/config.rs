//! Start-up configuration.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::FaultConfig;

/// The default region and account, as in the AWS documentation's examples.
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// The substring of a model source that makes the import fail.
pub const DEFAULT_FAILURE_MARKER: &str = "force-failure";
/// The published default quota for custom models per account and region.
pub const DEFAULT_MAX_MODELS: usize = 100;
/// TooManyTagsException's documented limit, counting tags already on the resource.
pub const DEFAULT_MAX_TAGS_PER_RESOURCE: usize = 50;
/// How long AWS remembers idempotency tokens.
pub const DEFAULT_IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a new model stays Creating.
pub const DEFAULT_READY_DELAY: Duration = Duration::from_secs(1);
/// How long a new custom model deployment stays Creating.
pub const DEFAULT_DEPLOYMENT_READY_DELAY: Duration = Duration::from_secs(1);
/// How long an update of a custom model deployment stays Updating.
pub const DEFAULT_DEPLOYMENT_UPDATE_DELAY: Duration = Duration::from_secs(1);
/// Custom model deployments per account and region before ServiceQuotaExceededException. AWS
/// publishes no figure in the service model; this is the emulator's default, adjustable like
/// the real quota.
pub const DEFAULT_MAX_DEPLOYMENTS: usize = 10;
/// How long a new Provisioned Throughput stays Creating.
pub const DEFAULT_PROVISIONED_CREATE_DELAY: Duration = Duration::from_secs(1);
/// How long a model update of a Provisioned Throughput stays Updating.
pub const DEFAULT_PROVISIONED_UPDATE_DELAY: Duration = Duration::from_secs(1);
/// Model units across every Provisioned Throughput of the account before
/// ServiceQuotaExceededException: AWS's default quota for no-commitment Provisioned Throughput of
/// custom models ("Model units no-commitment Provisioned Throughputs across custom models", 2);
/// units with commitment must be granted by AWS first. The emulator keeps one pool for all.
pub const DEFAULT_MAX_PROVISIONED_MODEL_UNITS: usize = 2;
/// How long a new model import job stays InProgress.
pub const DEFAULT_IMPORT_JOB_DELAY: Duration = Duration::from_secs(1);
/// The published default quota for imported models per account and region.
pub const DEFAULT_MAX_IMPORTED_MODELS: usize = 3;
/// The published default quota for model import jobs running at once.
pub const DEFAULT_MAX_CONCURRENT_IMPORT_JOBS: usize = 1;
/// The foundation model a custom model without one counts as customized from (imported models
/// carry none, but Provisioned Throughput reports and compares it).
pub const DEFAULT_FOUNDATION_MODEL_ID: &str = "amazon.nova-lite-v1:0";
/// Request bodies above this size get 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything the emulator is started with. `EmulatorConfig::default()` listens on a free
/// loopback port.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    pub region: String,
    pub account_id: String,
    /// How long a new model stays Creating before turning Active (or Failed).
    pub ready_delay: Duration,
    /// A model whose S3 URI or model package ARN contains this ends Failed.
    pub failure_marker: String,
    /// How long a new custom model deployment stays Creating before turning Active (or Failed).
    pub deployment_ready_delay: Duration,
    /// How long UpdateCustomModelDeployment stays Updating before UpdateCompleted (or
    /// UpdateFailed).
    pub deployment_update_delay: Duration,
    /// How long a new Provisioned Throughput stays Creating before turning InService (or
    /// Failed).
    pub provisioned_create_delay: Duration,
    /// How long UpdateProvisionedModelThroughput (a new model) stays Updating.
    pub provisioned_update_delay: Duration,
    /// How long a new model import job stays InProgress before turning Completed (or Failed).
    pub import_job_delay: Duration,
    pub limits: Limits,
    /// How long a clientRequestToken is remembered.
    pub idempotency_window: Duration,
    pub faults: FaultConfig,
    /// When set, SigV4 signatures are verified against these credentials; otherwise any
    /// well-formed SigV4 header is accepted.
    pub verify_signatures: Option<SigV4Credentials>,
    /// When set, `Authorization: Bearer` tokens must equal this; otherwise any is accepted.
    pub api_key: Option<String>,
    /// Seeds the random generator (ARNs, probabilistic faults) for reproducible runs.
    pub seed: Option<u64>,
    pub max_body_bytes: usize,
}

/// The credentials signatures are verified against.
#[derive(Clone, PartialEq, Eq)]
pub struct SigV4Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for SigV4Credentials {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

/// Limits that can also be changed at run time (`PUT /__emulator/limits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// CreateCustomModel answers ServiceQuotaExceededException once this many models exist.
    pub max_models: usize,
    /// Tags per resource, counting existing ones, before TooManyTagsException.
    pub max_tags_per_resource: usize,
    /// CreateCustomModelDeployment answers ServiceQuotaExceededException once this many
    /// deployments exist. Optional in the JSON form (default 10).
    #[serde(default = "default_max_deployments")]
    pub max_deployments: usize,
    /// CreateProvisionedModelThroughput answers ServiceQuotaExceededException when the model
    /// units of every existing Provisioned Throughput plus the new one would exceed this.
    /// Optional in the JSON form (default 2).
    #[serde(default = "default_max_provisioned_model_units")]
    pub max_provisioned_model_units: usize,
    /// CreateModelImportJob answers ServiceQuotaExceededException once this many imported
    /// models exist, counting jobs in progress. Optional in the JSON form (default 3).
    #[serde(default = "default_max_imported_models")]
    pub max_imported_models: usize,
    /// CreateModelImportJob answers ServiceQuotaExceededException while this many jobs are in
    /// progress. Optional in the JSON form (default 1).
    #[serde(default = "default_max_concurrent_import_jobs")]
    pub max_concurrent_import_jobs: usize,
}

fn default_max_imported_models() -> usize {
    DEFAULT_MAX_IMPORTED_MODELS
}

fn default_max_concurrent_import_jobs() -> usize {
    DEFAULT_MAX_CONCURRENT_IMPORT_JOBS
}

fn default_max_deployments() -> usize {
    DEFAULT_MAX_DEPLOYMENTS
}

fn default_max_provisioned_model_units() -> usize {
    DEFAULT_MAX_PROVISIONED_MODEL_UNITS
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_models: DEFAULT_MAX_MODELS,
            max_tags_per_resource: DEFAULT_MAX_TAGS_PER_RESOURCE,
            max_deployments: DEFAULT_MAX_DEPLOYMENTS,
            max_provisioned_model_units: DEFAULT_MAX_PROVISIONED_MODEL_UNITS,
            max_imported_models: DEFAULT_MAX_IMPORTED_MODELS,
            max_concurrent_import_jobs: DEFAULT_MAX_CONCURRENT_IMPORT_JOBS,
        }
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            region: DEFAULT_REGION.to_owned(),
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
            ready_delay: DEFAULT_READY_DELAY,
            failure_marker: DEFAULT_FAILURE_MARKER.to_owned(),
            deployment_ready_delay: DEFAULT_DEPLOYMENT_READY_DELAY,
            deployment_update_delay: DEFAULT_DEPLOYMENT_UPDATE_DELAY,
            provisioned_create_delay: DEFAULT_PROVISIONED_CREATE_DELAY,
            provisioned_update_delay: DEFAULT_PROVISIONED_UPDATE_DELAY,
            import_job_delay: DEFAULT_IMPORT_JOB_DELAY,
            limits: Limits::default(),
            idempotency_window: DEFAULT_IDEMPOTENCY_WINDOW,
            faults: FaultConfig::default(),
            verify_signatures: None,
            api_key: None,
            seed: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}
