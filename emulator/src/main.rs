//! `bedrock-emulator`: serves the emulator until SIGTERM or SIGINT. The first line on stdout is
//! `listening on http://ADDR`; logs go to stderr.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bedrock_emulator::{
    Emulator, EmulatorConfig, FaultConfig, Limits, Operation, RateLimit, SigV4Credentials,
};
use clap::Parser;
use tracing::{error, info};
use tracing_subscriber::EnvFilter;

/// How long in-flight requests get to finish after a signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// An emulator of Amazon Bedrock's custom-model API, for tests.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "BEDROCK_EMULATOR_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// Region in generated ARNs (and the one signatures must be scoped to when verified).
    #[arg(long, env = "BEDROCK_EMULATOR_REGION", default_value = "us-east-1")]
    region: String,

    /// Account id in generated ARNs.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_ACCOUNT_ID",
        default_value = "123456789012"
    )]
    account_id: String,

    /// Milliseconds a new model stays Creating before turning Active (or Failed).
    #[arg(long, env = "BEDROCK_EMULATOR_READY_DELAY_MS", default_value_t = 1000)]
    ready_delay_ms: u64,

    /// Milliseconds a new custom model deployment stays Creating before turning Active.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_DEPLOYMENT_READY_DELAY_MS",
        default_value_t = 1000
    )]
    deployment_ready_delay_ms: u64,

    /// Milliseconds UpdateCustomModelDeployment stays Updating before UpdateCompleted.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_DEPLOYMENT_UPDATE_DELAY_MS",
        default_value_t = 1000
    )]
    deployment_update_delay_ms: u64,

    /// Milliseconds a new Provisioned Throughput stays Creating before turning InService.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_PROVISIONED_CREATE_DELAY_MS",
        default_value_t = 1000
    )]
    provisioned_create_delay_ms: u64,

    /// Milliseconds UpdateProvisionedModelThroughput (a new model) stays Updating.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_PROVISIONED_UPDATE_DELAY_MS",
        default_value_t = 1000
    )]
    provisioned_update_delay_ms: u64,

    /// How long a model import job stays InProgress, in milliseconds.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_IMPORT_JOB_DELAY_MS",
        default_value_t = 1000
    )]
    import_job_delay_ms: u64,

    /// A model whose S3 URI or model package ARN contains this ends Failed.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_FAILURE_MARKER",
        default_value = "force-failure"
    )]
    failure_marker: String,

    /// CreateCustomModel answers ServiceQuotaExceededException once this many models exist.
    #[arg(long, env = "BEDROCK_EMULATOR_MAX_MODELS", default_value_t = 100)]
    max_models: usize,

    /// CreateCustomModelDeployment answers ServiceQuotaExceededException once this many
    /// deployments exist.
    #[arg(long, env = "BEDROCK_EMULATOR_MAX_DEPLOYMENTS", default_value_t = 10)]
    max_deployments: usize,

    /// CreateProvisionedModelThroughput answers ServiceQuotaExceededException when the model
    /// units of every Provisioned Throughput would exceed this.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_MAX_PROVISIONED_MODEL_UNITS",
        default_value_t = 2
    )]
    max_provisioned_model_units: usize,

    /// Imported models (counting jobs in progress) before CreateModelImportJob answers
    /// ServiceQuotaExceededException.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_MAX_IMPORTED_MODELS",
        default_value_t = 3
    )]
    max_imported_models: usize,

    /// Model import jobs in progress at once before CreateModelImportJob answers
    /// ServiceQuotaExceededException.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_MAX_CONCURRENT_IMPORT_JOBS",
        default_value_t = 1
    )]
    max_concurrent_import_jobs: usize,

    /// Tags per resource (counting existing ones) before TooManyTagsException.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_MAX_TAGS_PER_RESOURCE",
        default_value_t = 50
    )]
    max_tags_per_resource: usize,

    /// Seconds a clientRequestToken is remembered.
    #[arg(long, env = "BEDROCK_EMULATOR_IDEMPOTENCY_WINDOW_SECS", default_value_t = 8 * 60 * 60)]
    idempotency_window_secs: u64,

    /// Milliseconds added before each answer.
    #[arg(long, env = "BEDROCK_EMULATOR_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,

    /// Fraction (0..=1) of calls answered ThrottlingException.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_THROTTLE_FRACTION",
        default_value_t = 0.0
    )]
    throttle_fraction: f64,

    /// Fraction (0..=1) of calls answered InternalServerException.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_INTERNAL_ERROR_FRACTION",
        default_value_t = 0.0
    )]
    internal_error_fraction: f64,

    /// Operations the latency and fractions apply to (all when absent), comma-separated.
    #[arg(long, env = "BEDROCK_EMULATOR_FAULT_OPERATIONS", value_delimiter = ',')]
    fault_operations: Vec<Operation>,

    /// Token bucket for an operation: OPERATION=RATE_PER_SECOND:BURST, e.g.
    /// GetCustomModel=5:10. Repeatable (comma-separated in the environment variable).
    #[arg(
        long = "rate-limit",
        env = "BEDROCK_EMULATOR_RATE_LIMITS",
        value_delimiter = ',',
        value_parser = parse_rate_limit
    )]
    rate_limits: Vec<(Operation, RateLimit)>,

    /// Role ARN for which CreateCustomModel answers AccessDeniedException. Repeatable.
    #[arg(
        long = "access-denied-role-arn",
        env = "BEDROCK_EMULATOR_ACCESS_DENIED_ROLE_ARNS",
        value_delimiter = ','
    )]
    access_denied_role_arns: Vec<String>,

    /// Operation every call of which answers AccessDeniedException. Repeatable.
    #[arg(
        long = "access-denied-operation",
        env = "BEDROCK_EMULATOR_ACCESS_DENIED_OPERATIONS",
        value_delimiter = ','
    )]
    access_denied_operations: Vec<Operation>,

    /// Verify SigV4 signatures against this access key id (needs --verify-secret-access-key).
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_VERIFY_ACCESS_KEY_ID",
        requires = "verify_secret_access_key"
    )]
    verify_access_key_id: Option<String>,

    /// The secret access key signatures are verified with.
    #[arg(
        long,
        env = "BEDROCK_EMULATOR_VERIFY_SECRET_ACCESS_KEY",
        requires = "verify_access_key_id",
        hide_env_values = true
    )]
    verify_secret_access_key: Option<String>,

    /// The only Bearer token (Bedrock API key) accepted; any is accepted when absent.
    #[arg(long, env = "BEDROCK_EMULATOR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,

    /// Seed for generated ARNs and probabilistic faults.
    #[arg(long, env = "BEDROCK_EMULATOR_SEED")]
    seed: Option<u64>,

    /// Request bodies above this many bytes get 413.
    #[arg(long, env = "BEDROCK_EMULATOR_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
}

fn parse_rate_limit(text: &str) -> Result<(Operation, RateLimit), String> {
    let (operation, limit) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not OPERATION=RATE:BURST"))?;
    let operation: Operation = operation
        .trim()
        .parse()
        .map_err(|error| format!("{error}"))?;
    let (rate, burst) = limit
        .split_once(':')
        .ok_or_else(|| format!("'{limit}' is not RATE:BURST"))?;
    let rate_per_second: f64 = rate
        .trim()
        .parse()
        .map_err(|_| format!("'{rate}' is not a number"))?;
    let burst: u32 = burst
        .trim()
        .parse()
        .map_err(|_| format!("'{burst}' is not a whole number"))?;
    Ok((
        operation,
        RateLimit {
            rate_per_second,
            burst,
        },
    ))
}

impl Args {
    fn into_config(self) -> EmulatorConfig {
        let verify_signatures = match (self.verify_access_key_id, self.verify_secret_access_key) {
            (Some(access_key_id), Some(secret_access_key)) => Some(SigV4Credentials {
                access_key_id,
                secret_access_key,
            }),
            _ => None,
        };
        EmulatorConfig {
            listen: self.listen,
            region: self.region,
            account_id: self.account_id,
            ready_delay: Duration::from_millis(self.ready_delay_ms),
            failure_marker: self.failure_marker,
            deployment_ready_delay: Duration::from_millis(self.deployment_ready_delay_ms),
            deployment_update_delay: Duration::from_millis(self.deployment_update_delay_ms),
            provisioned_create_delay: Duration::from_millis(self.provisioned_create_delay_ms),
            provisioned_update_delay: Duration::from_millis(self.provisioned_update_delay_ms),
            import_job_delay: Duration::from_millis(self.import_job_delay_ms),
            limits: Limits {
                max_models: self.max_models,
                max_tags_per_resource: self.max_tags_per_resource,
                max_deployments: self.max_deployments,
                max_provisioned_model_units: self.max_provisioned_model_units,
                max_imported_models: self.max_imported_models,
                max_concurrent_import_jobs: self.max_concurrent_import_jobs,
            },
            idempotency_window: Duration::from_secs(self.idempotency_window_secs),
            faults: FaultConfig {
                latency_ms: self.latency_ms,
                throttle_fraction: self.throttle_fraction,
                internal_error_fraction: self.internal_error_fraction,
                operations: self.fault_operations,
                rate_limits: self.rate_limits.into_iter().collect::<BTreeMap<_, _>>(),
                access_denied_role_arns: self.access_denied_role_arns,
                access_denied_operations: self.access_denied_operations,
            },
            verify_signatures,
            api_key: self.api_key,
            seed: self.seed,
            max_body_bytes: self.max_body_bytes,
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let handle = match Emulator::start(args.into_config()).await {
        Ok(handle) => handle,
        Err(start_error) => {
            error!(error = %start_error, "bedrock emulator could not start");
            eprintln!("bedrock-emulator: {start_error}");
            return ExitCode::FAILURE;
        }
    };
    // The parent process reads this line to learn the port.
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "listening on {}", handle.url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }

    shutdown_signal().await;
    info!("signal received, shutting down");
    match tokio::time::timeout(SHUTDOWN_GRACE, handle.shutdown()).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(serve_error)) => {
            error!(error = %serve_error, "server error during shutdown");
            ExitCode::FAILURE
        }
        Err(_) => {
            info!("in-flight requests did not finish in time; exiting anyway");
            ExitCode::SUCCESS
        }
    }
}
