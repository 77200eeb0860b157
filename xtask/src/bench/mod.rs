//! `cargo xtask bench operator` (every section), `cargo xtask bench deployments`, `cargo xtask
//! bench throughputs` and `cargo xtask bench imports` (one lifecycle section only): the release
//! operator against its own control plane and an in-process Bedrock emulator with AWS-like rate
//! limits. Prints figures and writes them to `target/bench-results/<run>/` (results.json,
//! results.md, SVG plots). See docs/benchmarks.md for what each figure means.
//!
//! `cargo xtask bench pod` ([`pod`], with [`cgroup`]) installs the chart on testkit's real node
//! instead and measures the operator's Pod by its cgroup.
//!
//! One module per job: [`args`] (the command line), [`operator`] (spawning the release operator
//! and reading its CPU and memory), [`resources`] (applying, counting and deleting the
//! resources), [`counters`] (Bedrock calls and API-server writes between snapshots),
//! [`versions`] (every version of a kind's objects, from a watch), the scenarios
//! [`convergence`], [`startup`], [`polling`] and [`lifecycle`] (what one lifecycle of a kind
//! costs; per kind [`deployments`], [`throughputs`] and [`imports`]), each with the typed
//! figures it adds to results.json, and [`report`] (results.md) and [`plot`] (the SVGs).

mod args;
mod cgroup;
mod convergence;
mod counters;
mod deployments;
mod imports;
mod lifecycle;
mod operator;
mod plot;
mod pod;
mod polling;
mod report;
mod resources;
mod startup;
mod throughputs;
mod versions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use bedrock_emulator::{
    Emulator, EmulatorConfig, EmulatorHandle, FaultConfig, Limits, Operation, RateLimit,
};
use bedrock_operator::crd;
use serde::Serialize;
use testkit::ControlPlane;

pub use args::{Args, DeploymentsArgs, ImportsArgs, ThroughputsArgs};
pub use pod::{PodArgs, run as run_pod};

use convergence::Convergence;
use deployments::Deployments;
use imports::Imports;
use lifecycle::{Kind, Lifecycle, LifecycleSettings};
use polling::Polling;
use startup::{STARTUP_CREATING, Startup};
use throughputs::Throughputs;

/// How often a wait for the resources lists them.
const POLL: Duration = Duration::from_millis(500);

/// results.json: what the run measured, section by section (a section it skipped is absent).
#[derive(Debug, Serialize)]
struct Results {
    /// The run's folder name, a UTC timestamp.
    run: String,
    machine: String,
    settings: Settings,
    convergence: Vec<Convergence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    startup: Option<Startup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    polling: Option<Polling>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployments: Option<Lifecycle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    throughputs: Option<Lifecycle>,
    #[serde(skip_serializing_if = "Option::is_none")]
    imports: Option<Lifecycle>,
}

/// The emulator's and the operator's settings of the run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    creating_seconds: f64,
    emulator_rate_limits: RateLimits,
    operator_flags: Vec<String>,
    idle_seconds: f64,
    startup: StartupSettings,
    deployments: LifecycleSettings,
    throughputs: LifecycleSettings,
    imports: LifecycleSettings,
}

/// The emulator's token buckets (calls/s; burst = rate).
#[derive(Debug, Clone, Serialize)]
struct RateLimits {
    #[serde(rename = "CreateCustomModel")]
    create: f64,
    #[serde(rename = "GetCustomModel")]
    get: f64,
    #[serde(rename = "TagResource/UntagResource/ListTagsForResource")]
    tagging: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct StartupSettings {
    resources: usize,
    creating_seconds: f64,
    /// "none": the start-up scenario's emulator does not throttle.
    emulator_rate_limits: &'static str,
    operator_flags: Vec<String>,
}

pub async fn run(root: &Path, mut args: Args) -> Result<()> {
    if args.large && !args.sizes.contains(&5000) {
        args.sizes.push(5000);
    }
    args.sizes.sort_unstable();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = match &args.common.operator {
        Some(path) => path.clone(),
        None => {
            let mut build = crate::nested_cargo();
            // The profile the image ships (Dockerfile), without test-only features.
            build.args(["build", "--profile", "production", "-p", "bedrock-operator"]);
            crate::run(&mut build)?;
            target_dir.join("production/bedrock-operator")
        }
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let out = root.join(&args.common.results_dir).join(&stamp);
    std::fs::create_dir_all(&out)?;
    let machine = machine();
    println!(
        "bench: results in {}\nbench: machine: {machine}",
        out.display()
    );

    let plane = ControlPlane::start().await?;
    plane.install_crds(&crd::crds()).await?;
    let bench = Bench {
        plane: &plane,
        binary,
        out: out.clone(),
        args: &args,
    };

    let settings = bench.settings();
    let mut markdown = format!(
        "# bedrock-operator benchmark {stamp}\n\nMachine: {machine}\n\nSettings: `{}`\n",
        report::json(&settings)
    );
    let mut results = Results {
        run: stamp,
        machine,
        settings,
        convergence: Vec::new(),
        startup: None,
        polling: None,
        deployments: None,
        throughputs: None,
        imports: None,
    };

    // Both files are rewritten after every section, so a long run that fails late keeps what
    // it measured. Through a `Value`, the keys come out sorted, as they always have.
    let save = |results: &Results, markdown: &str| -> Result<()> {
        let json = serde_json::to_value(results)?;
        std::fs::write(
            out.join("results.json"),
            serde_json::to_string_pretty(&json)?,
        )?;
        std::fs::write(out.join("results.md"), markdown)?;
        Ok(())
    };

    let largest = args.sizes.last().copied();
    for &size in &args.sizes {
        let result = bench.convergence(size, Some(size) == largest).await?;
        markdown.push_str(&report::convergence(&result));
        results.convergence.push(result);
        save(&results, &markdown)?;
    }

    if args.startup_size > 0 {
        let startup = bench.startup(args.startup_size).await?;
        markdown.push_str(&report::startup(&startup));
        results.startup = Some(startup);
        save(&results, &markdown)?;
    }

    if args.policy_models > 0 {
        let polling = bench.policies().await?;
        markdown.push_str(&report::polling(&polling));
        results.polling = Some(polling);
        save(&results, &markdown)?;
    }

    if args.deployments.deployments > 0 {
        let deployments = bench
            .section::<Deployments>(args.deployments.lifecycle())
            .await?;
        markdown.push_str(&deployments.1);
        results.deployments = Some(deployments.0);
        save(&results, &markdown)?;
    }

    if args.throughputs.throughputs > 0 {
        let throughputs = bench
            .section::<Throughputs>(args.throughputs.lifecycle())
            .await?;
        markdown.push_str(&throughputs.1);
        results.throughputs = Some(throughputs.0);
        save(&results, &markdown)?;
    }

    if args.imports.imports > 0 {
        let imports = bench.section::<Imports>(args.imports.lifecycle()).await?;
        markdown.push_str(&imports.1);
        results.imports = Some(imports.0);
    }

    save(&results, &markdown)?;
    println!("\n{markdown}");
    println!("bench: wrote {}", out.display());
    Ok(())
}

/// What every scenario shares: the control plane, the operator binary, the run's folder and
/// the command line.
struct Bench<'a> {
    plane: &'a ControlPlane,
    binary: PathBuf,
    out: PathBuf,
    args: &'a Args,
}

impl Bench<'_> {
    fn settings(&self) -> Settings {
        let a = self.args;
        Settings {
            creating_seconds: a.common.creating.as_secs_f64(),
            emulator_rate_limits: RateLimits {
                create: a.common.create_rate,
                get: a.common.get_rate,
                tagging: a.common.tag_rate,
            },
            operator_flags: self.base_flags(),
            idle_seconds: a.idle.as_secs_f64(),
            startup: StartupSettings {
                resources: a.startup_size,
                creating_seconds: STARTUP_CREATING.as_secs_f64(),
                emulator_rate_limits: "none",
                operator_flags: self.startup_flags(),
            },
            deployments: LifecycleSettings::of::<Deployments>(&a.deployments.lifecycle()),
            throughputs: LifecycleSettings::of::<Throughputs>(&a.throughputs.lifecycle()),
            imports: LifecycleSettings::of::<Imports>(&a.imports.lifecycle()),
        }
    }

    /// A lifecycle section and its part of results.md.
    async fn section<K: Kind>(
        &self,
        options: args::LifecycleOptions,
    ) -> Result<(Lifecycle, String)> {
        let figures = self.lifecycle::<K>(options).await?;
        let markdown = report::lifecycle(&figures, &K::LABELS);
        Ok((figures, markdown))
    }

    /// An emulator with the command line's Creating time and token buckets.
    async fn emulator(&self, seed: u64) -> Result<EmulatorHandle> {
        Self::start_emulator(seed, self.args.common.creating, self.rate_limits()).await
    }

    /// The command line's token buckets (the deployment, throughput and import operations have
    /// none).
    fn rate_limits(&self) -> BTreeMap<Operation, RateLimit> {
        let a = self.args;
        let bucket = |rate: f64| RateLimit {
            rate_per_second: rate,
            burst: rate.ceil().max(1.0) as u32,
        };
        let mut rate_limits = BTreeMap::new();
        rate_limits.insert(Operation::CreateCustomModel, bucket(a.common.create_rate));
        rate_limits.insert(Operation::GetCustomModel, bucket(a.common.get_rate));
        for op in [
            Operation::TagResource,
            Operation::UntagResource,
            Operation::ListTagsForResource,
        ] {
            rate_limits.insert(op, bucket(a.common.tag_rate));
        }
        rate_limits
    }

    /// An emulator that keeps models Creating for `creating`, with these token buckets and
    /// room for any number of models.
    async fn start_emulator(
        seed: u64,
        creating: Duration,
        rate_limits: BTreeMap<Operation, RateLimit>,
    ) -> Result<EmulatorHandle> {
        Ok(Emulator::start(EmulatorConfig {
            ready_delay: creating,
            limits: Limits {
                max_models: 1_000_000,
                ..Limits::default()
            },
            faults: FaultConfig {
                rate_limits,
                ..FaultConfig::default()
            },
            seed: Some(seed),
            ..EmulatorConfig::default()
        })
        .await?)
    }
}

/// One line of figures for the console, as results.json has them.
fn compact<T: Serialize>(figures: &T) -> String {
    report::json(figures)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    format!("{cores} cores, {cpu}, load average at start {load}")
}
