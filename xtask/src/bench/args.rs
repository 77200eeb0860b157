//! The command lines of `cargo xtask bench operator`, `cargo xtask bench deployments`, `cargo
//! xtask bench throughputs` and `cargo xtask bench imports`.

use std::path::PathBuf;
use std::time::Duration;

/// `cargo xtask bench operator`: every section.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resources applied at once, one convergence run per size.
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1000])]
    pub sizes: Vec<usize>,
    /// Also run 5000 resources.
    #[arg(long)]
    pub large: bool,
    /// Idle window after the largest run converged (e.g. 60s, 5m); 0s skips it.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub idle: Duration,
    /// Models per polling policy (0 skips the polling comparison).
    #[arg(long, default_value_t = 30)]
    pub policy_models: usize,
    /// Shortest import in the polling comparison.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub policy_min: Duration,
    /// Longest import in the polling comparison.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub policy_max: Duration,
    /// Resources present for the start-up scenario: converge them, restart the operator, time
    /// its /readyz and watch its memory while it reconciles them all (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    pub startup_size: usize,
    #[command(flatten)]
    pub deployments: DeploymentOptions,
    #[command(flatten)]
    pub throughputs: ThroughputOptions,
    #[command(flatten)]
    pub imports: ImportOptions,
    #[command(flatten)]
    pub common: Common,
}

/// `cargo xtask bench deployments`: the deployment section only.
#[derive(Debug, clap::Args)]
pub struct DeploymentsArgs {
    #[command(flatten)]
    pub deployments: DeploymentOptions,
    #[command(flatten)]
    pub common: Common,
}

/// `cargo xtask bench throughputs`: the throughput section only.
#[derive(Debug, clap::Args)]
pub struct ThroughputsArgs {
    #[command(flatten)]
    pub throughputs: ThroughputOptions,
    #[command(flatten)]
    pub common: Common,
}

/// `cargo xtask bench imports`: the imported model section only.
#[derive(Debug, clap::Args)]
pub struct ImportsArgs {
    #[command(flatten)]
    pub imports: ImportOptions,
    #[command(flatten)]
    pub common: Common,
}

impl Args {
    /// Only the lifecycle sections given; every other section off.
    fn only(
        deployments: Option<DeploymentOptions>,
        throughputs: Option<ThroughputOptions>,
        imports: Option<ImportOptions>,
        common: Common,
    ) -> Self {
        Args {
            sizes: Vec::new(),
            large: false,
            idle: Duration::ZERO,
            policy_models: 0,
            policy_min: Duration::ZERO,
            policy_max: Duration::ZERO,
            startup_size: 0,
            deployments: deployments.unwrap_or_else(DeploymentOptions::off),
            throughputs: throughputs.unwrap_or_else(ThroughputOptions::off),
            imports: imports.unwrap_or_else(ImportOptions::off),
            common,
        }
    }
}

impl From<DeploymentsArgs> for Args {
    fn from(only: DeploymentsArgs) -> Self {
        Args::only(Some(only.deployments), None, None, only.common)
    }
}

impl From<ThroughputsArgs> for Args {
    fn from(only: ThroughputsArgs) -> Self {
        Args::only(None, Some(only.throughputs), None, only.common)
    }
}

impl From<ImportsArgs> for Args {
    fn from(only: ImportsArgs) -> Self {
        Args::only(None, None, Some(only.imports), only.common)
    }
}

/// What a lifecycle section (g, h, i) runs with, whatever its flags are called.
#[derive(Debug, Clone, Copy)]
pub struct LifecycleOptions {
    /// Objects, one model each for a kind that serves one (0 skips the section).
    pub objects: usize,
    pub idle: Duration,
    /// How long the emulator keeps a new object Creating.
    pub creating: Duration,
    /// How long the emulator keeps a model swap Updating (unused for a kind that serves no
    /// model).
    pub updating: Duration,
    pub resync: Option<Duration>,
}

/// The deployment section (g): N models, one BedrockCustomModelDeployment each.
#[derive(Debug, Clone, clap::Args)]
pub struct DeploymentOptions {
    /// Deployments (one model each, plus the model each rolls out to; 0 skips the section).
    #[arg(long, default_value_t = 20)]
    pub deployments: usize,
    /// Idle window after every deployment is Ready (0s skips it).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub deployment_idle: Duration,
    /// How long the emulator keeps a new deployment Creating.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub deployment_creating: Duration,
    /// How long the emulator keeps a model swap Updating.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub deployment_updating: Duration,
    /// Operator --resync and --tag-check-interval for this section, so that the idle window
    /// holds resyncs and tag checks (default: the operator's own, 10m and 1h). Resyncs falling
    /// in the other windows add their reads to them.
    #[arg(long, value_parser = parse_duration)]
    pub deployment_resync: Option<Duration>,
}

impl DeploymentOptions {
    fn off() -> Self {
        Self {
            deployments: 0,
            deployment_idle: Duration::ZERO,
            deployment_creating: Duration::ZERO,
            deployment_updating: Duration::ZERO,
            deployment_resync: None,
        }
    }

    pub fn lifecycle(&self) -> LifecycleOptions {
        LifecycleOptions {
            objects: self.deployments,
            idle: self.deployment_idle,
            creating: self.deployment_creating,
            updating: self.deployment_updating,
            resync: self.deployment_resync,
        }
    }
}

/// The throughput section (h): N models, one BedrockProvisionedThroughput each (1 model unit,
/// no commitment).
#[derive(Debug, Clone, clap::Args)]
pub struct ThroughputOptions {
    /// Throughputs (one model each, plus the model each swaps to; 0 skips the section). The
    /// emulator's model-unit quota is raised to this.
    #[arg(long, default_value_t = 20)]
    pub throughputs: usize,
    /// Idle window after every throughput is Ready (0s skips it).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub throughput_idle: Duration,
    /// How long the emulator keeps a new throughput Creating.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub throughput_creating: Duration,
    /// How long the emulator keeps a model swap Updating.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub throughput_updating: Duration,
    /// Operator --resync and --tag-check-interval for this section (as --deployment-resync).
    #[arg(long, value_parser = parse_duration)]
    pub throughput_resync: Option<Duration>,
}

impl ThroughputOptions {
    fn off() -> Self {
        Self {
            throughputs: 0,
            throughput_idle: Duration::ZERO,
            throughput_creating: Duration::ZERO,
            throughput_updating: Duration::ZERO,
            throughput_resync: None,
        }
    }

    pub fn lifecycle(&self) -> LifecycleOptions {
        LifecycleOptions {
            objects: self.throughputs,
            idle: self.throughput_idle,
            creating: self.throughput_creating,
            updating: self.throughput_updating,
            resync: self.throughput_resync,
        }
    }
}

/// The imported model section (i): N BedrockImportedModels, no models, no swap.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportOptions {
    /// Imported models (0 skips the section). The emulator's quotas of concurrent import jobs
    /// and imported models are raised to this.
    #[arg(long, default_value_t = 20)]
    pub imports: usize,
    /// Idle window after every import is Ready (0s skips it).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub import_idle: Duration,
    /// How long the emulator keeps an import job InProgress.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub import_creating: Duration,
    /// Operator --resync and --tag-check-interval for this section (as --deployment-resync).
    #[arg(long, value_parser = parse_duration)]
    pub import_resync: Option<Duration>,
}

impl ImportOptions {
    fn off() -> Self {
        Self {
            imports: 0,
            import_idle: Duration::ZERO,
            import_creating: Duration::ZERO,
            import_resync: None,
        }
    }

    pub fn lifecycle(&self) -> LifecycleOptions {
        LifecycleOptions {
            objects: self.imports,
            idle: self.import_idle,
            creating: self.import_creating,
            // No swap.
            updating: Duration::ZERO,
            resync: self.import_resync,
        }
    }
}

/// The emulator's and the operator's settings every section shares.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// How long the emulator keeps a new model Creating.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub creating: Duration,
    /// Emulator token bucket for CreateCustomModel (calls/s; burst = rate).
    #[arg(long, default_value_t = 10.0)]
    pub create_rate: f64,
    /// Emulator token bucket for GetCustomModel.
    #[arg(long, default_value_t = 50.0)]
    pub get_rate: f64,
    /// Emulator token bucket for TagResource, UntagResource and ListTagsForResource each.
    #[arg(long, default_value_t = 10.0)]
    pub tag_rate: f64,
    /// Operator --concurrency.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Operator --rate-limit-qps (default: create rate + get rate).
    #[arg(long)]
    pub rate_limit_qps: Option<f64>,
    /// Operator --rate-limit-burst.
    #[arg(long, default_value_t = 20)]
    pub rate_limit_burst: u32,
    /// Use this operator binary instead of building the release one (figures from a debug
    /// build are not comparable).
    #[arg(long)]
    pub operator: Option<PathBuf>,
    /// Where each run's folder goes.
    #[arg(long, default_value = "target/bench-results")]
    pub results_dir: PathBuf,
}

/// `250ms`, `60s`, `5m`, `1h`, or seconds without a unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text}"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("unknown unit in {text} (ms, s, m, h)")),
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[derive(clap::Parser)]
    struct Imports {
        #[command(flatten)]
        args: ImportsArgs,
    }

    #[test]
    fn bench_imports_runs_only_the_imported_model_section() {
        use clap::Parser;
        let parsed = Imports::parse_from(["imports", "--import-resync", "10s"]);
        let options = parsed.args.imports.lifecycle();
        assert_eq!(options.objects, 20);
        assert_eq!(options.idle, Duration::from_secs(30));
        assert_eq!(options.creating, Duration::from_secs(10));
        assert_eq!(options.resync, Some(Duration::from_secs(10)));
        let args = Args::from(parsed.args);
        assert_eq!(args.imports.imports, 20);
        assert_eq!(args.deployments.deployments, 0);
        assert_eq!(args.throughputs.throughputs, 0);
        assert!(args.sizes.is_empty());
        assert_eq!((args.startup_size, args.policy_models), (0, 0));
    }
}
