//! `cargo xtask bench operator`: the release operator against its own control plane and an
//! in-process Bedrock emulator with AWS-like rate limits. Prints figures and writes them to
//! `target/bench-results/<run>/` (JSON, Markdown, SVG plots). See docs/benchmarks.md for what each
//! figure means.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bedrock_emulator::{
    Counters, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig, Limits, Operation, RateLimit,
};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::crd;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use plotters::style::RGBColor;
use serde_json::{Value, json};
use testkit::ControlPlane;
use tokio::process::{Child, Command};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Resources applied at once, one convergence run per size.
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1000])]
    sizes: Vec<usize>,
    /// Also run 5000 resources.
    #[arg(long)]
    large: bool,
    /// Idle window after the largest run converged (e.g. 60s, 5m); 0s skips it.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    idle: Duration,
    /// How long the emulator keeps a new model Creating.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    creating: Duration,
    /// Emulator token bucket for CreateCustomModel (calls/s; burst = rate).
    #[arg(long, default_value_t = 10.0)]
    create_rate: f64,
    /// Emulator token bucket for GetCustomModel.
    #[arg(long, default_value_t = 50.0)]
    get_rate: f64,
    /// Emulator token bucket for TagResource, UntagResource and ListTagsForResource each.
    #[arg(long, default_value_t = 10.0)]
    tag_rate: f64,
    /// Operator --concurrency.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Operator --rate-limit-qps (default: create rate + get rate).
    #[arg(long)]
    rate_limit_qps: Option<f64>,
    /// Operator --rate-limit-burst.
    #[arg(long, default_value_t = 20)]
    rate_limit_burst: u32,
    /// Models per polling policy (0 skips the polling comparison).
    #[arg(long, default_value_t = 30)]
    policy_models: usize,
    /// Shortest import in the polling comparison.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    policy_min: Duration,
    /// Longest import in the polling comparison.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    policy_max: Duration,
    /// Resources present for the start-up scenario: converge them, restart the operator, time
    /// its /readyz and watch its memory while it reconciles them all (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    startup_size: usize,
    /// Use this operator binary instead of building the release one (figures from a debug
    /// build are not comparable).
    #[arg(long)]
    operator: Option<PathBuf>,
    /// Where each run's folder goes.
    #[arg(long, default_value = "target/bench-results")]
    results_dir: PathBuf,
}

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

/// A `cargo` command without the variables `cargo run` set for xtask itself: build scripts that
/// watch such variables would make a nested build start from scratch.
pub fn nested_cargo() -> std::process::Command {
    let mut command = std::process::Command::new(crate::cargo());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&key.as_ref())
        {
            command.env_remove(key.as_ref());
        }
    }
    command
}

const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
const POLL: Duration = Duration::from_millis(500);

/// Start-up scenario: how long a model stays Creating (no throttling at all).
const STARTUP_CREATING: Duration = Duration::from_secs(1);
/// Start-up scenario: operator --rate-limit-qps and --rate-limit-burst.
const STARTUP_QPS: f64 = 2000.0;
const STARTUP_BURST: u32 = 200;
/// Start-up scenario: the most the convergence and the deletion may take.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// Start-up scenario: the restarted operator is watched at least this long after its spawn,
/// then until neither Bedrock calls nor its API-server writes moved for `RESTART_QUIET`, at
/// most `RESTART_CAP`.
const RESTART_MIN: Duration = Duration::from_secs(60);
const RESTART_QUIET: Duration = Duration::from_secs(5);
const RESTART_CAP: Duration = Duration::from_secs(300);
/// Goals of the start-up scenario (at 10,000 resources).
const GOAL_RSS_MIB: f64 = 64.0;
const GOAL_READYZ_SECONDS: f64 = 10.0;
/// Goal of the polling comparison.
const GOAL_LAG_P99_SECONDS: f64 = 30.0;

/// The polling configurations compared side by side.
const POLICIES: [(&str, &[&str]); 4] = [
    ("default (sweep 10s)", &[]),
    ("per-model schedule", &["--sweep-interval", "0s"]),
    (
        "fixed 30s",
        &[
            "--sweep-interval",
            "0s",
            "--poll-initial",
            "30s",
            "--poll-max",
            "30s",
        ],
    ),
    (
        "fixed 60s",
        &[
            "--sweep-interval",
            "0s",
            "--poll-initial",
            "60s",
            "--poll-max",
            "60s",
        ],
    ),
];

pub async fn run(root: &Path, mut args: Args) -> Result<()> {
    if args.large && !args.sizes.contains(&5000) {
        args.sizes.push(5000);
    }
    args.sizes.sort_unstable();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = match &args.operator {
        Some(path) => path.clone(),
        None => {
            let mut build = nested_cargo();
            // The profile the image ships (Dockerfile), without test-only features.
            build.args(["build", "--profile", "production", "-p", "bedrock-operator"]);
            crate::run(&mut build)?;
            target_dir.join("production/bedrock-operator")
        }
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let out = root.join(&args.results_dir).join(&stamp);
    std::fs::create_dir_all(&out)?;
    let machine = machine();
    println!(
        "bench: results in {}\nbench: machine: {machine}",
        out.display()
    );

    let plane = ControlPlane::start().await?;
    plane.install_crds(&[crd::crd()]).await?;
    let bench = Bench {
        plane: &plane,
        binary,
        out: out.clone(),
        args: &args,
    };

    let mut report = json!({
        "run": stamp,
        "machine": machine,
        "settings": bench.settings(),
    });
    let mut markdown = format!(
        "# bedrock-operator benchmark {stamp}\n\nMachine: {machine}\n\nSettings: `{}`\n",
        bench.settings()
    );

    // Both files are rewritten after every section, so a long run that fails late keeps what
    // it measured.
    let save = |report: &Value, markdown: &str| -> Result<()> {
        std::fs::write(
            out.join("results.json"),
            serde_json::to_string_pretty(report)?,
        )?;
        std::fs::write(out.join("results.md"), markdown)?;
        Ok(())
    };

    let mut convergence = Vec::new();
    let largest = args.sizes.last().copied();
    for &size in &args.sizes {
        let result = bench.convergence(size, Some(size) == largest).await?;
        markdown.push_str(&convergence_markdown(&result));
        convergence.push(result);
        report["convergence"] = json!(convergence);
        save(&report, &markdown)?;
    }
    report["convergence"] = json!(convergence);

    if args.startup_size > 0 {
        let startup = bench.startup(args.startup_size).await?;
        markdown.push_str(&startup_markdown(&startup));
        report["startup"] = startup;
        save(&report, &markdown)?;
    }

    if args.policy_models > 0 {
        let policies = bench.policies().await?;
        markdown.push_str(&policies_markdown(&policies));
        report["polling"] = policies;
    }

    save(&report, &markdown)?;
    println!("\n{markdown}");
    println!("bench: wrote {}", out.display());
    Ok(())
}

struct Bench<'a> {
    plane: &'a ControlPlane,
    binary: PathBuf,
    out: PathBuf,
    args: &'a Args,
}

struct Operator {
    child: Child,
    admin: String,
    started: Instant,
    log: PathBuf,
}

impl Operator {
    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// utime + stime in seconds.
    fn cpu_seconds(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) else {
            return 0.0;
        };
        // Fields after the command (which may hold spaces) start after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
            .sum();
        ticks / clock_ticks()
    }

    /// VmHWM (peak resident set) in MiB.
    fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    /// VmRSS (current resident set) in MiB.
    fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    /// A `kB` field of /proc/PID/status in MiB (0 when the process is gone).
    fn status_mib(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }

    /// Waits for /readyz 200; the time since the process started. Fails at once if the
    /// process exited (e.g. it does not know a flag; its log says why).
    async fn wait_ready(&mut self, deadline: Duration) -> Result<Duration> {
        while self.started.elapsed() < deadline {
            if http_status(&self.admin, "/readyz").await.ok() == Some(200) {
                return Ok(self.started.elapsed());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!(
                    "the operator exited ({status}) before it became ready; see {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("the operator at {} never became ready", self.admin)
    }

    /// SIGKILL.
    async fn stop(mut self) {
        self.child.kill().await.ok();
        self.child.wait().await.ok();
    }

    /// SIGTERM, then SIGKILL if it has not exited after 30 s; how long it took to exit.
    async fn terminate(mut self) -> Duration {
        let asked = Instant::now();
        if let Some(pid) = self.child.id() {
            let sent = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if sent
                && tokio::time::timeout(Duration::from_secs(30), self.child.wait())
                    .await
                    .is_ok()
            {
                return asked.elapsed();
            }
            eprintln!("bench: operator {pid} still running 30 s after SIGTERM; killing it");
        }
        self.stop().await;
        asked.elapsed()
    }
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// What `Bench::wait_quiet` saw.
struct Quiet {
    /// From `since` to the last change of the counters.
    last_activity: Duration,
    /// False when it stopped at the cap.
    went_quiet: bool,
    /// (seconds since `since`, VmRSS MiB) once a second.
    rss: Vec<(f64, f64)>,
}

/// Everything that counts as activity: all Bedrock calls, and the operator's writes to the
/// API server (the benchmark's own POSTs and DELETEs of resources are not counted).
fn activity(snapshot: &Snapshot) -> (u64, u64) {
    let bedrock = Operation::ALL
        .iter()
        .map(|op| snapshot.bedrock.total(*op))
        .sum();
    let writes = snapshot
        .apiserver
        .iter()
        .filter(|((verb, resource, _), _)| match resource.as_str() {
            "bedrockcustommodels" => WRITE_VERBS.contains(&verb.as_str()),
            "events" => EVENT_VERBS.contains(&verb.as_str()),
            _ => false,
        })
        .map(|(_, v)| *v)
        .sum::<f64>();
    (bedrock, writes as u64)
}

/// One snapshot of everything counted.
struct Snapshot {
    at: Instant,
    bedrock: Counters,
    apiserver: BTreeMap<(String, String, String), f64>,
    cpu: f64,
}

impl<'a> Bench<'a> {
    fn settings(&self) -> Value {
        let a = self.args;
        json!({
            "creatingSeconds": a.creating.as_secs_f64(),
            "emulatorRateLimits": {
                "CreateCustomModel": a.create_rate,
                "GetCustomModel": a.get_rate,
                "TagResource/UntagResource/ListTagsForResource": a.tag_rate,
            },
            "operatorFlags": self.base_flags(),
            "idleSeconds": a.idle.as_secs_f64(),
            "startup": {
                "resources": a.startup_size,
                "creatingSeconds": STARTUP_CREATING.as_secs_f64(),
                "emulatorRateLimits": "none",
                "operatorFlags": self.startup_flags(),
            },
        })
    }

    /// The start-up scenario's operator flags: the bench's concurrency, a rate limit high
    /// enough that converging 10,000 resources takes minutes, not hours.
    fn startup_flags(&self) -> Vec<String> {
        vec![
            "--concurrency".into(),
            self.args.concurrency.to_string(),
            "--rate-limit-qps".into(),
            STARTUP_QPS.to_string(),
            "--rate-limit-burst".into(),
            STARTUP_BURST.to_string(),
        ]
    }

    fn base_flags(&self) -> Vec<String> {
        let a = self.args;
        let qps = a.rate_limit_qps.unwrap_or(a.create_rate + a.get_rate);
        vec![
            "--concurrency".into(),
            a.concurrency.to_string(),
            "--rate-limit-qps".into(),
            qps.to_string(),
            "--rate-limit-burst".into(),
            a.rate_limit_burst.to_string(),
        ]
    }

    async fn emulator(&self, seed: u64) -> Result<EmulatorHandle> {
        let a = self.args;
        let bucket = |rate: f64| RateLimit {
            rate_per_second: rate,
            burst: rate.ceil().max(1.0) as u32,
        };
        let mut rate_limits = BTreeMap::new();
        rate_limits.insert(Operation::CreateCustomModel, bucket(a.create_rate));
        rate_limits.insert(Operation::GetCustomModel, bucket(a.get_rate));
        for op in [
            Operation::TagResource,
            Operation::UntagResource,
            Operation::ListTagsForResource,
        ] {
            rate_limits.insert(op, bucket(a.tag_rate));
        }
        Self::start_emulator(seed, a.creating, rate_limits).await
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

    /// The operator with the base flags plus `extra`.
    fn spawn(
        &self,
        namespace: &str,
        emulator: &EmulatorHandle,
        extra: &[&str],
        tag: &str,
    ) -> Result<Operator> {
        let mut flags = self.base_flags();
        flags.extend(extra.iter().map(|f| f.to_string()));
        self.spawn_with(namespace, emulator, &flags, tag)
    }

    /// The operator with exactly these flags (besides admin address, namespace and logging);
    /// it refuses a flag given twice, so the base flags cannot be overridden by appending.
    fn spawn_with(
        &self,
        namespace: &str,
        emulator: &EmulatorHandle,
        flags: &[String],
        tag: &str,
    ) -> Result<Operator> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log_path = self.out.join(format!("operator-{tag}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let child = Command::new(&self.binary)
            .arg("run")
            .args(["--admin-address", &format!("127.0.0.1:{port}")])
            .args(["--namespace", namespace])
            .args(flags)
            .args(["--log-level", "info"])
            .env("KUBECONFIG", self.plane.kubeconfig_path())
            .env("AWS_ENDPOINT_URL_BEDROCK", emulator.url())
            .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
            .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting the release operator")?;
        Ok(Operator {
            child,
            admin: format!("127.0.0.1:{port}"),
            started: Instant::now(),
            log: log_path,
        })
    }

    /// Counters now; CPU 0 without an operator (one about to be started).
    async fn snapshot(
        &self,
        emulator: &EmulatorHandle,
        operator: Option<&Operator>,
    ) -> Result<Snapshot> {
        Ok(Snapshot {
            at: Instant::now(),
            bedrock: emulator.counters(),
            apiserver: request_totals(&self.plane.apiserver_metrics_text().await?),
            cpu: operator.map(Operator::cpu_seconds).unwrap_or(0.0),
        })
    }

    /// Samples once a second until neither the emulator's call counters nor the operator's
    /// API-server writes moved for `quiet` (but not before `min` since `since`), or until
    /// `cap` since `since`. Records the operator's RSS at each sample.
    async fn wait_quiet(
        &self,
        emulator: &EmulatorHandle,
        operator: Option<&Operator>,
        since: Instant,
        min: Duration,
        quiet: Duration,
        cap: Duration,
    ) -> Result<Quiet> {
        let mut last = activity(&self.snapshot(emulator, operator).await?);
        let mut last_change = Instant::now();
        let mut rss = Vec::new();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = activity(&self.snapshot(emulator, operator).await?);
            if let Some(operator) = operator {
                rss.push((since.elapsed().as_secs_f64(), operator.rss_mib()));
            }
            if now != last {
                last = now;
                last_change = Instant::now();
            }
            let went_quiet = last_change.elapsed() >= quiet && since.elapsed() >= min;
            if went_quiet || since.elapsed() >= cap {
                return Ok(Quiet {
                    last_activity: last_change.saturating_duration_since(since),
                    went_quiet,
                    rss,
                });
            }
        }
    }

    /// a–d for one size: apply `size` at once, time to all Ready, costs; for the largest size
    /// also the idle window and a restart with everything present; then delete all.
    async fn convergence(&self, size: usize, largest: bool) -> Result<Value> {
        let a = self.args;
        println!("\nbench: convergence of {size} resources");
        let namespace = self
            .plane
            .create_namespace(&format!("bench-{size}"))
            .await?;
        let emulator = self.emulator(size as u64).await?;
        let api: Api<BedrockCustomModel> = Api::namespaced(self.plane.client(), &namespace);
        let mut operator = self.spawn(&namespace, &emulator, &[], &format!("{size}"))?;
        let ready_empty = operator.wait_ready(Duration::from_secs(60)).await?;
        let names: Vec<String> = (0..size).map(|i| format!("bench-{i:05}")).collect();

        let before = self.snapshot(&emulator, Some(&operator)).await?;
        let started = Instant::now();
        create_all(&api, &names).await?;
        let applied = started.elapsed();
        let floor = size as f64 / a.create_rate + a.creating.as_secs_f64();
        let deadline = Duration::from_secs_f64(floor * 3.0 + 120.0);
        let timeline = wait_all_ready(&api, size, started, deadline, POLL, false).await?;
        let (converged, ready_count) = timeline.last().copied().unwrap_or_default();
        let all_ready = ready_count >= size;
        // Writes that follow the last Ready (events, a trailing status patch) belong to the
        // create-to-Ready phase too.
        self.wait_quiet(
            &emulator,
            Some(&operator),
            Instant::now(),
            Duration::ZERO,
            Duration::from_secs(3),
            Duration::from_secs(30),
        )
        .await?;
        let after = self.snapshot(&emulator, Some(&operator)).await?;
        let ratio = if all_ready {
            converged / floor
        } else {
            f64::NAN
        };
        println!(
            "bench: {size} Ready after {converged:.1} s (floor {floor:.1} s, ratio {ratio:.3}; applied in {:.1} s)",
            applied.as_secs_f64()
        );
        plot(
            &self.out.join(format!("ready-{size}.svg")),
            &timeline,
            size,
            a.create_rate,
            a.creating.as_secs_f64(),
        )?;

        let mut result = json!({
            "resources": size,
            "namespace": namespace,
            "readyzEmptySeconds": ready_empty.as_secs_f64(),
            "applySeconds": applied.as_secs_f64(),
            "allReadySeconds": all_ready.then_some(converged),
            "readyAtEnd": ready_count,
            "floorSeconds": floor,
            "ratio": ratio,
            "timeline": timeline.iter().map(|(t, n)| json!([t, n])).collect::<Vec<_>>(),
        });

        let mut steady = Value::Null;
        let mut restart = Value::Null;
        if largest && all_ready {
            if !a.idle.is_zero() {
                println!("bench: idle for {:?}", a.idle);
                let idle_start = self.snapshot(&emulator, Some(&operator)).await?;
                tokio::time::sleep(a.idle).await;
                let idle_end = self.snapshot(&emulator, Some(&operator)).await?;
                steady = steady_figures(&idle_start, &idle_end);
                println!("bench: steady state {steady}");
            }
            let peak = operator.peak_rss_mib();
            operator.stop().await;
            let mut restarted =
                self.spawn(&namespace, &emulator, &[], &format!("{size}-restart"))?;
            let ready = restarted.wait_ready(Duration::from_secs(120)).await?;
            // Let it re-check what it found before reading its peak.
            tokio::time::sleep(Duration::from_secs(30)).await;
            restart = json!({
                "resourcesPresent": size,
                "readyzSeconds": ready.as_secs_f64(),
                "peakRssMiBConvergence": peak,
                "peakRssMiBAfterRestart30s": restarted.peak_rss_mib(),
            });
            println!("bench: restart {restart}");
            operator = restarted;
        }

        let before_delete = self.snapshot(&emulator, Some(&operator)).await?;
        delete_all(&api, &names).await?;
        let deleted_at = Instant::now();
        wait_all_gone(&api, deadline, false).await?;
        let deleted = deleted_at.elapsed().as_secs_f64();
        self.wait_quiet(
            &emulator,
            Some(&operator),
            Instant::now(),
            Duration::ZERO,
            Duration::from_secs(3),
            Duration::from_secs(30),
        )
        .await?;
        let gone = self.snapshot(&emulator, Some(&operator)).await?;
        let peak_rss = operator.peak_rss_mib();
        operator.stop().await;
        let left = emulator.models().iter().filter(|m| !m.foreign).count();

        let cost = lifecycle_cost(size, &before, &after, &before_delete, &gone);
        println!("bench: cost per lifecycle {cost}");
        result["deleteSeconds"] = json!(deleted);
        result["modelsLeft"] = json!(left);
        result["costPerModel"] = cost;
        result["steadyState"] = steady;
        result["restart"] = restart;
        result["peakRssMiB"] = json!(peak_rss);
        Ok(result)
    }

    /// f: start-up with `size` resources present. Converge them (no throttling, short
    /// imports, a high operator rate limit), SIGTERM the operator, start a fresh one with the
    /// same flags and time its /readyz; watch its memory, Bedrock calls and API-server writes
    /// while it reconciles everything it found; then delete all.
    async fn startup(&self, size: usize) -> Result<Value> {
        println!("\nbench: start-up with {size} resources present");
        let namespace = self.plane.create_namespace("bench-startup").await?;
        let emulator = Self::start_emulator(7, STARTUP_CREATING, BTreeMap::new()).await?;
        let api: Api<BedrockCustomModel> = Api::namespaced(self.plane.client(), &namespace);
        let flags = self.startup_flags();
        let mut operator = self.spawn_with(&namespace, &emulator, &flags, "startup")?;
        operator.wait_ready(Duration::from_secs(60)).await?;
        let names: Vec<String> = (0..size).map(|i| format!("start-{i:05}")).collect();

        let started = Instant::now();
        create_all(&api, &names).await?;
        let applied = started.elapsed().as_secs_f64();
        println!("bench: {size} applied in {applied:.1} s");
        let timeline = wait_all_ready(
            &api,
            size,
            started,
            STARTUP_DEADLINE,
            Duration::from_secs(2),
            true,
        )
        .await?;
        let (converged, ready_count) = timeline.last().copied().unwrap_or_default();
        let all_ready = ready_count >= size;
        println!("bench: {ready_count}/{size} Ready after {converged:.1} s");
        self.wait_quiet(
            &emulator,
            Some(&operator),
            Instant::now(),
            Duration::ZERO,
            Duration::from_secs(3),
            Duration::from_secs(60),
        )
        .await?;
        let peak_converging = operator.peak_rss_mib();
        let cpu_converging = operator.cpu_seconds();
        let stop_seconds = operator.terminate().await.as_secs_f64();

        let before = self.snapshot(&emulator, None).await?;
        let mut restarted = self.spawn_with(&namespace, &emulator, &flags, "startup-restart")?;
        let readyz = restarted
            .wait_ready(Duration::from_secs(300))
            .await?
            .as_secs_f64();
        println!(
            "bench: restarted with {ready_count} resources present: /readyz 200 after {readyz:.2} s"
        );
        let window = self
            .wait_quiet(
                &emulator,
                Some(&restarted),
                restarted.started,
                RESTART_MIN,
                RESTART_QUIET,
                RESTART_CAP,
            )
            .await?;
        let after = self.snapshot(&emulator, Some(&restarted)).await?;
        let peak_restart = restarted.peak_rss_mib();
        let (writes, writes_by, other_writes) = apiserver_writes(&before, &after);
        let restart = json!({
            "readyzSeconds": readyz,
            "peakRssMiB": peak_restart,
            "rssAtEndMiB": restarted.rss_mib(),
            "windowSeconds": after.at.duration_since(restarted.started).as_secs_f64(),
            "lastActivitySeconds": window.last_activity.as_secs_f64(),
            "wentQuiet": window.went_quiet,
            "bedrockCalls": bedrock_by_operation(&before.bedrock, &after.bedrock),
            "apiserverWrites": writes,
            "apiserverWritesBy": writes_by,
            "otherApiserverWrites": other_writes,
            "cpuSeconds": after.cpu,
            "rssTimeline": window.rss.iter().map(|(t, m)| json!([t, m])).collect::<Vec<_>>(),
        });
        let mut summary = restart.clone();
        summary["rssTimeline"] = json!("(in results.json)");
        println!("bench: after the restart {summary}");

        let deleting = Instant::now();
        delete_all(&api, &names).await?;
        let deleted = wait_all_gone(&api, STARTUP_DEADLINE, true).await;
        let delete_seconds = deleting.elapsed().as_secs_f64();
        if let Err(e) = &deleted {
            eprintln!("bench: start-up scenario: {e:#}");
        }
        restarted.terminate().await;
        let resources_left = count_resources(&api).await.ok();
        let models_left = emulator.models().iter().filter(|m| !m.foreign).count();

        let result = json!({
            "resources": size,
            "namespace": namespace,
            "creatingSeconds": STARTUP_CREATING.as_secs_f64(),
            "operatorFlags": flags,
            "applySeconds": applied,
            "allReadySeconds": all_ready.then_some(converged),
            "readyAtEnd": ready_count,
            "peakRssMiBConverging": peak_converging,
            "cpuSecondsConverging": cpu_converging,
            "stopSeconds": stop_seconds,
            "restart": restart,
            "deleteSeconds": deleted.is_ok().then_some(delete_seconds),
            "resourcesLeft": resources_left,
            "modelsLeft": models_left,
            "goals": { "peakRssMiB": GOAL_RSS_MIB, "readyzSeconds": GOAL_READYZ_SECONDS },
            "timeline": timeline.iter().map(|(t, n)| json!([t, n])).collect::<Vec<_>>(),
        });
        println!(
            "bench: start-up: {size} deleted in {delete_seconds:.1} s, {models_left} models left"
        );
        Ok(result)
    }

    /// e: the polling configurations side by side, same import durations.
    async fn policies(&self) -> Result<Value> {
        let a = self.args;
        let m = a.policy_models;
        let delay = |i: usize| {
            let span = a.policy_max.saturating_sub(a.policy_min);
            a.policy_min + span.mul_f64(i as f64 / (m.max(2) - 1) as f64)
        };
        println!(
            "\nbench: polling policies, {m} models each, imports {:?}..{:?}",
            a.policy_min, a.policy_max
        );
        let names: Vec<String> = (0..m).map(|i| format!("poll-{i:03}")).collect();
        let mut runs = Vec::new();
        for (index, (label, flags)) in POLICIES.iter().enumerate() {
            let namespace = self.plane.create_namespace("bench-poll").await?;
            let emulator = self.emulator(1000 + index as u64).await?;
            for (i, name) in names.iter().enumerate() {
                emulator.set_ready_delay(name, delay(i))?;
            }
            let api: Api<BedrockCustomModel> = Api::namespaced(self.plane.client(), &namespace);
            let mut operator =
                self.spawn(&namespace, &emulator, flags, &format!("poll-{index}"))?;
            operator.wait_ready(Duration::from_secs(60)).await?;
            runs.push((*label, *flags, emulator, api, operator));
        }
        let started = Instant::now();
        for (_, _, _, api, _) in &runs {
            create_all(api, &names).await?;
        }
        // Each configuration's counters are read when its own resources are all Ready, so
        // that a fast one is not charged for its idle time while a slow one catches up.
        let deadline = a.policy_max + Duration::from_secs(180);
        let mut at_ready: Vec<Option<(f64, Counters)>> = runs.iter().map(|_| None).collect();
        let mut timelines: Vec<Vec<(f64, usize)>> = runs.iter().map(|_| vec![(0.0, 0)]).collect();
        loop {
            for (i, (_, _, emulator, api, _)) in runs.iter().enumerate() {
                if at_ready[i].is_some() {
                    continue;
                }
                let ready = count_ready(api).await?.1;
                let t = started.elapsed().as_secs_f64();
                if timelines[i].last().is_none_or(|(_, n)| *n != ready) {
                    timelines[i].push((t, ready));
                }
                if ready >= m {
                    at_ready[i] = Some((t, emulator.counters()));
                }
            }
            if at_ready.iter().all(Option::is_some) {
                break;
            }
            if started.elapsed() > deadline {
                eprintln!("bench: polling: not all Ready after {deadline:?}");
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        // Bedrock's side: how many imports had ended by each second.
        let end = timelines
            .iter()
            .filter_map(|t| t.last().map(|p| p.0))
            .fold(a.policy_max.as_secs_f64(), f64::max);
        let active: Vec<(f64, usize)> = (0..=end.ceil() as usize)
            .map(|t| {
                let done = (0..m)
                    .filter(|i| delay(*i).as_secs_f64() <= t as f64)
                    .count();
                (t as f64, done)
            })
            .collect();
        let series: Vec<(&str, &[(f64, usize)])> = runs
            .iter()
            .zip(&timelines)
            .map(|((label, ..), timeline)| (*label, timeline.as_slice()))
            .collect();
        plot_policies(&self.out.join("ready-policies.svg"), &series, &active, m)?;
        let mut out = Vec::new();
        for ((label, flags, emulator, api, operator), ready) in runs.into_iter().zip(at_ready) {
            let list = list_all(&api).await?;
            let mut lags = Vec::new();
            for resource in &list {
                let name = resource.metadata.name.clone().unwrap_or_default();
                let ready_time = emulator.model(&name).and_then(|m| m.ready_time);
                let transition = ready_transition(resource);
                if let (Some(ready_time), Some(transition)) = (ready_time, transition) {
                    lags.push((transition - ready_time).num_milliseconds() as f64 / 1000.0);
                }
            }
            lags.sort_by(f64::total_cmp);
            let all_ready = ready.is_some();
            let (ready_seconds, counters) = match ready {
                Some((t, c)) => (Some(t), c),
                None => (None, emulator.counters()),
            };
            let per = |op| counters.total(op) as f64 / m as f64;
            let gets = per(Operation::GetCustomModel);
            let lists = per(Operation::ListCustomModels);
            let list_tags = per(Operation::ListTagsForResource);
            let row = json!({
                "policy": label,
                "flags": flags,
                "getPerModel": gets,
                "listPerModel": lists,
                "listTagsPerModel": list_tags,
                "readsPerModel": gets + lists + list_tags,
                "allReady": all_ready,
                "allReadySeconds": ready_seconds,
                "lagP50Seconds": percentile(&lags, 0.50),
                "lagP99Seconds": percentile(&lags, 0.99),
                "lagMaxSeconds": lags.last(),
                "models": lags.len(),
            });
            println!("bench: polling {row}");
            out.push(row);
            delete_all(&api, &names).await?;
            wait_all_gone(&api, Duration::from_secs(120), false).await?;
            operator.stop().await;
        }
        Ok(json!({
            "modelsPerPolicy": m,
            "importSecondsMin": a.policy_min.as_secs_f64(),
            "importSecondsMax": a.policy_max.as_secs_f64(),
            "policies": out,
        }))
    }
}

fn ready_transition(resource: &BedrockCustomModel) -> Option<chrono::DateTime<chrono::Utc>> {
    let value = serde_json::to_value(resource).ok()?;
    let condition = value["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready" && c["status"] == "True")?
        .clone();
    chrono::DateTime::parse_from_rfc3339(condition["lastTransitionTime"].as_str()?)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied()
}

fn spec(name: &str) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModel",
        "metadata": { "name": name },
        "spec": {
            "source": { "s3Uri": format!("s3://bench-models/{name}/") },
            "roleArn": ROLE,
            "deletionPolicy": "Delete",
        },
    })
}

/// Creates every resource (POST, 32 at a time), retrying what the API server refuses.
async fn create_all(api: &Api<BedrockCustomModel>, names: &[String]) -> Result<()> {
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let api = api.clone();
        let limit = Arc::clone(&limit);
        let object: BedrockCustomModel = serde_json::from_value(spec(name))?;
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let mut attempt = 0;
            loop {
                match api.create(&PostParams::default(), &object).await {
                    Ok(_) => return anyhow::Ok(()),
                    Err(kube::Error::Api(e)) if e.code == 409 => return Ok(()),
                    Err(e) if attempt < 5 => {
                        attempt += 1;
                        eprintln!("bench: create retry: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

async fn delete_all(api: &Api<BedrockCustomModel>, names: &[String]) -> Result<()> {
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let name = name.clone();
        let api = api.clone();
        let limit = Arc::clone(&limit);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) | Err(kube::Error::Api(_)) => anyhow::Ok(()),
                Err(e) => Err(e.into()),
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

/// Every resource, in pages of 500 (a single list of 10,000 is a large response).
async fn list_all(api: &Api<BedrockCustomModel>) -> Result<Vec<BedrockCustomModel>> {
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(items),
        }
    }
}

fn is_ready(resource: &BedrockCustomModel) -> bool {
    resource.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

/// (resources, of which Ready).
async fn count_ready(api: &Api<BedrockCustomModel>) -> Result<(usize, usize)> {
    let items = list_all(api).await?;
    Ok((items.len(), items.iter().filter(|r| is_ready(r)).count()))
}

/// How many resources there are, from a one-item page's remainingItemCount.
async fn count_resources(api: &Api<BedrockCustomModel>) -> Result<usize> {
    let page = api.list(&ListParams::default().limit(1)).await?;
    let more = page
        .metadata
        .continue_
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    match page.metadata.remaining_item_count {
        Some(remaining) => Ok(page.items.len() + remaining.max(0) as usize),
        None if more => Ok(list_all(api).await?.len()),
        None => Ok(page.items.len()),
    }
}

/// Polls the list every `poll` until `size` resources are Ready (or the deadline passed); the
/// (seconds, Ready count) timeline. With `progress`, prints the count every 10 s or so.
async fn wait_all_ready(
    api: &Api<BedrockCustomModel>,
    size: usize,
    started: Instant,
    deadline: Duration,
    poll: Duration,
    progress: bool,
) -> Result<Vec<(f64, usize)>> {
    let mut timeline = vec![(0.0, 0)];
    let mut printed = Instant::now();
    loop {
        let (_, ready) = count_ready(api).await?;
        let t = started.elapsed().as_secs_f64();
        timeline.push((t, ready));
        if ready >= size {
            return Ok(timeline);
        }
        if started.elapsed() > deadline {
            // Reported as not converged rather than failing the whole run.
            eprintln!("bench: only {ready}/{size} Ready after {deadline:?}");
            return Ok(timeline);
        }
        if progress && printed.elapsed() >= Duration::from_secs(10) {
            println!("bench: {ready}/{size} Ready after {t:.0} s");
            printed = Instant::now();
        }
        tokio::time::sleep(poll).await;
    }
}

async fn wait_all_gone(
    api: &Api<BedrockCustomModel>,
    deadline: Duration,
    progress: bool,
) -> Result<()> {
    let start = Instant::now();
    let mut printed = Instant::now();
    loop {
        let left = count_resources(api).await?;
        if left == 0 {
            return Ok(());
        }
        if start.elapsed() > deadline {
            bail!("{left} resources not deleted after {deadline:?}");
        }
        if progress && printed.elapsed() >= Duration::from_secs(10) {
            println!(
                "bench: {left} resources left after {:.0} s",
                start.elapsed().as_secs_f64()
            );
            printed = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `apiserver_request_total` summed by (verb, resource, subresource).
pub fn request_totals(text: &str) -> BTreeMap<(String, String, String), f64> {
    let mut totals = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once('}') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let mut verb = String::new();
        let mut resource = String::new();
        let mut subresource = String::new();
        for pair in labels.split("\",") {
            let Some((key, val)) = pair.split_once("=\"") else {
                continue;
            };
            let val = val.trim_end_matches('"').to_string();
            match key {
                "verb" => verb = val,
                "resource" => resource = val,
                "subresource" => subresource = val,
                _ => {}
            }
        }
        *totals.entry((verb, resource, subresource)).or_insert(0.0) += value;
    }
    totals
}

/// What the operator writes to the API server (leases only with --leader-election).
const OPERATOR_RESOURCES: &[&str] = &["bedrockcustommodels", "events"];

const WRITE_VERBS: &[&str] = &["PATCH", "APPLY", "UPDATE"];

/// The operator creates events (and may patch them when it aggregates).
const EVENT_VERBS: &[&str] = &["POST", "CREATE", "PATCH", "APPLY", "UPDATE"];

/// Operator writes (PATCH, APPLY, UPDATE; the benchmark itself only POSTs and DELETEs) to a
/// resource, by subresource ("" = the object itself).
fn writes(
    before: &BTreeMap<(String, String, String), f64>,
    after: &BTreeMap<(String, String, String), f64>,
    resource: &str,
    verbs: &[&str],
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for ((verb, res, sub), value) in after {
        if res == resource && verbs.contains(&verb.as_str()) {
            let old = before
                .get(&(verb.clone(), res.clone(), sub.clone()))
                .copied()
                .unwrap_or(0.0);
            let key = if sub.is_empty() {
                verb.clone()
            } else {
                format!("{verb} {sub}")
            };
            *out.entry(key).or_insert(0.0) += value - old;
        }
    }
    out.retain(|_, v| *v > 0.0);
    out
}

/// The kind of a write to bedrockcustommodels, from its `writes` key: a PATCH or APPLY of the
/// object itself is metadata, which the operator only touches for its finalizer; a write to
/// the status subresource is a status write; anything else (UPDATE, other subresources) is
/// other.
fn bcm_write_kind(key: &str) -> &'static str {
    match key.split_once(' ') {
        None if key == "PATCH" || key == "APPLY" => "finalizer",
        Some((_, "status")) => "status",
        _ => "other",
    }
}

fn bedrock_diff(before: &Counters, after: &Counters, op: Operation, outcome: Option<&str>) -> f64 {
    let count = |c: &Counters| match outcome {
        Some(o) => c.get(op, o),
        None => c.total(op),
    };
    count(after).saturating_sub(count(before)) as f64
}

/// Bedrock calls by operation between two counter readings (operations with none left out).
fn bedrock_by_operation(before: &Counters, after: &Counters) -> serde_json::Map<String, Value> {
    let mut calls = serde_json::Map::new();
    for op in Operation::ALL {
        let n = bedrock_diff(before, after, op, None);
        if n > 0.0 {
            calls.insert(op.to_string(), json!(n));
        }
    }
    calls
}

/// API-server writes between two snapshots: (total by the operator, the operator's by verb,
/// resource and subresource, everyone else's). The operator writes only OPERATOR_RESOURCES;
/// the API server writes endpoints and leases of its own on a timer.
fn apiserver_writes(
    start: &Snapshot,
    end: &Snapshot,
) -> (
    f64,
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
) {
    let mut total = 0.0;
    let mut by_resource = serde_json::Map::new();
    let mut others = serde_json::Map::new();
    for (key, value) in &end.apiserver {
        let (verb, resource, sub) = key;
        if matches!(
            verb.as_str(),
            "POST" | "CREATE" | "PATCH" | "APPLY" | "UPDATE" | "DELETE"
        ) {
            let diff = value - start.apiserver.get(key).copied().unwrap_or(0.0);
            if diff <= 0.0 {
                continue;
            }
            let key = format!("{verb} {resource} {sub}").trim().to_string();
            if OPERATOR_RESOURCES.contains(&resource.as_str()) {
                total += diff;
                by_resource.insert(key, json!(diff));
            } else {
                others.insert(key, json!(diff));
            }
        }
    }
    (total, by_resource, others)
}

/// Sums over one or more (before, after) windows.
#[derive(Default)]
struct Costs {
    created: f64,
    create_calls: f64,
    create_throttled: f64,
    throttled: f64,
    gets: f64,
    lists: f64,
    list_tags: f64,
    tagging: f64,
    deletes: f64,
    cpu: f64,
    bcm: BTreeMap<String, f64>,
    events: BTreeMap<String, f64>,
}

impl Costs {
    fn add(&mut self, b: &Snapshot, a: &Snapshot) {
        let diff = |op, outcome| bedrock_diff(&b.bedrock, &a.bedrock, op, outcome);
        self.created += diff(Operation::CreateCustomModel, Some("Ok"));
        self.create_calls += diff(Operation::CreateCustomModel, None);
        self.create_throttled += diff(Operation::CreateCustomModel, Some("ThrottlingException"));
        self.gets += diff(Operation::GetCustomModel, None);
        self.lists += diff(Operation::ListCustomModels, None);
        self.list_tags += diff(Operation::ListTagsForResource, None);
        self.deletes += diff(Operation::DeleteCustomModel, None);
        for op in [
            Operation::TagResource,
            Operation::UntagResource,
            Operation::ListTagsForResource,
        ] {
            self.tagging += diff(op, None);
        }
        for op in Operation::ALL {
            self.throttled += diff(op, Some("ThrottlingException"));
        }
        self.cpu += (a.cpu - b.cpu).max(0.0);
        for (k, v) in writes(
            &b.apiserver,
            &a.apiserver,
            "bedrockcustommodels",
            WRITE_VERBS,
        ) {
            *self.bcm.entry(k).or_default() += v;
        }
        for (k, v) in writes(&b.apiserver, &a.apiserver, "events", EVENT_VERBS) {
            *self.events.entry(k).or_default() += v;
        }
    }

    fn per_model(&self, size: usize) -> Value {
        let n = size.max(1) as f64;
        let per = |map: &BTreeMap<String, f64>| {
            map.iter()
                .map(|(k, v)| (k.clone(), json!(v / n)))
                .collect::<serde_json::Map<_, _>>()
        };
        let mut kinds: BTreeMap<String, f64> = ["finalizer", "status", "other"]
            .iter()
            .map(|k| (k.to_string(), 0.0))
            .collect();
        for (k, v) in &self.bcm {
            *kinds.entry(bcm_write_kind(k).to_string()).or_default() += v;
        }
        json!({
            "createAcceptedPerModel": self.created / n,
            "createCallsPerModel": self.create_calls / n,
            "createThrottledTotal": self.create_throttled,
            "throttledTotal": self.throttled,
            "getPerModel": self.gets / n,
            "listPerModel": self.lists / n,
            "listTagsPerModel": self.list_tags / n,
            "bedrockReadsPerModel": (self.gets + self.lists + self.list_tags) / n,
            "deletePerModel": self.deletes / n,
            "taggingCallsPerModel": self.tagging / n,
            "bcmWritesPerModel": self.bcm.values().sum::<f64>() / n,
            "bcmWritesByVerb": per(&self.bcm),
            "bcmWritesByKind": per(&kinds),
            "eventWritesPerModel": self.events.values().sum::<f64>() / n,
            "eventWritesByVerb": per(&self.events),
            "cpuSecondsPerModel": self.cpu / n,
        })
    }
}

/// Per-model costs: the top-level figures cover the whole lifecycle (create → all Ready plus
/// delete → all gone); `phases` has each window on its own.
fn lifecycle_cost(
    size: usize,
    before: &Snapshot,
    after: &Snapshot,
    before_delete: &Snapshot,
    gone: &Snapshot,
) -> Value {
    let mut create = Costs::default();
    create.add(before, after);
    let mut delete = Costs::default();
    delete.add(before_delete, gone);
    let mut total = Costs::default();
    total.add(before, after);
    total.add(before_delete, gone);
    let mut cost = total.per_model(size);
    cost["phases"] = json!({
        "createToReady": create.per_model(size),
        "delete": delete.per_model(size),
    });
    cost
}

fn steady_figures(start: &Snapshot, end: &Snapshot) -> Value {
    let seconds = end.at.duration_since(start.at).as_secs_f64();
    let (api_writes, by_resource, others) = apiserver_writes(start, end);
    json!({
        "idleSeconds": seconds,
        "apiserverWrites": api_writes,
        "apiserverWritesBy": by_resource,
        "otherApiserverWrites": others,
        "bedrockCalls": bedrock_by_operation(&start.bedrock, &end.bedrock),
        "cpuSeconds": end.cpu - start.cpu,
    })
}

/// A figure with three decimals, or "not measured".
fn fig(v: &Value) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.3}"),
        None => "not measured".into(),
    }
}

/// "met" / "**missed**" for `value ≤ goal`, or "not measured".
fn verdict(value: &Value, goal: f64) -> String {
    match value.as_f64() {
        Some(x) if x <= goal => "met".into(),
        Some(_) => "**missed**".into(),
        None => "not measured".into(),
    }
}

fn convergence_markdown(r: &Value) -> String {
    let c = &r["costPerModel"];
    let f = fig;
    let mut s = format!(
        "\n## {n} resources applied at once\n\n| figure | value | goal |\n|---|---|---|\n\
         | time until all Ready | {t} s | |\n\
         | Ready when the wait ended | {ready_end} | all |\n\
         | floor N/create rate + Creating | {floor} s | |\n\
         | ratio | {ratio} | ≤ 1.15 at N=1000 |\n\
         | {rss_label} | {rss} MiB | ≤ 64 MiB |\n\
         | time to delete all | {del} s | |\n\
         | models left after delete | {left} | 0 |\n",
        n = r["resources"],
        t = f(&r["allReadySeconds"]),
        ready_end = r["readyAtEnd"],
        floor = f(&r["floorSeconds"]),
        ratio = f(&r["ratio"]),
        rss = f(&r["peakRssMiB"]),
        // For the largest size the operator that deletes is the restarted one.
        rss_label = if r["restart"].is_null() {
            "peak RSS of the operator"
        } else {
            "peak RSS of the restarted operator (restart → delete all)"
        },
        del = f(&r["deleteSeconds"]),
        left = r["modelsLeft"],
    );
    let st = &r["steadyState"];
    if !st.is_null() {
        s.push_str(&format!(
            "| idle window | {} s | |\n| API-server writes while idle (bedrockcustommodels, events) | {} {} | 0 |\n\
             | other API-server writes while idle (its own endpoints, leases) | {} | |\n\
             | Bedrock calls while idle | {} | resync only |\n| operator CPU while idle | {} s | |\n",
            f(&st["idleSeconds"]),
            st["apiserverWrites"],
            st["apiserverWritesBy"],
            st["otherApiserverWrites"],
            st["bedrockCalls"],
            f(&st["cpuSeconds"]),
        ));
    }
    let rs = &r["restart"];
    if !rs.is_null() {
        s.push_str(&format!(
            "| restart (SIGKILL): /readyz 200 after, with {} resources present | {} s | ≤ 10 s at 10,000 |\n\
             | peak RSS during convergence (+ idle) | {} MiB | ≤ 64 MiB |\n\
             | peak RSS 30 s after the restart | {} MiB | ≤ 64 MiB |\n",
            rs["resourcesPresent"],
            f(&rs["readyzSeconds"]),
            f(&rs["peakRssMiBConvergence"]),
            f(&rs["peakRssMiBAfterRestart30s"]),
        ));
    }
    // Cost per lifecycle, by window.
    let create = &c["phases"]["createToReady"];
    let delete = &c["phases"]["delete"];
    s.push_str(
        "\nCost per model. Windows: **create → all Ready** from the first POST until every \
         resource is Ready and the counters are quiet for 3 s; **delete** from the first DELETE \
         until every resource is gone and the counters are quiet for 3 s; **lifecycle** = both. \
         The idle window and the restart are in neither.\n\n\
         | figure | create → all Ready | delete | lifecycle | goal |\n|---|---|---|---|---|\n",
    );
    let row = |s: &mut String, label: &str, key: &str, goal: &str| {
        s.push_str(&format!(
            "| {label} | {} | {} | {} | {goal} |\n",
            f(&create[key]),
            f(&delete[key]),
            f(&c[key]),
        ));
    };
    row(
        &mut s,
        "accepted CreateCustomModel per model",
        "createAcceptedPerModel",
        "1",
    );
    row(
        &mut s,
        "CreateCustomModel calls per model (incl. throttled)",
        "createCallsPerModel",
        "",
    );
    s.push_str(&format!(
        "| throttled Bedrock calls, total (of which Create) | {} ({}) | {} ({}) | {} ({}) | |\n",
        create["throttledTotal"],
        create["createThrottledTotal"],
        delete["throttledTotal"],
        delete["createThrottledTotal"],
        c["throttledTotal"],
        c["createThrottledTotal"],
    ));
    row(&mut s, "GetCustomModel per model", "getPerModel", "");
    row(&mut s, "ListCustomModels per model", "listPerModel", "");
    row(
        &mut s,
        "ListTagsForResource per model",
        "listTagsPerModel",
        "",
    );
    row(
        &mut s,
        "Bedrock reads per model (Get + List + ListTags)",
        "bedrockReadsPerModel",
        "",
    );
    row(
        &mut s,
        "tagging calls per model (Tag + Untag + ListTags)",
        "taggingCallsPerModel",
        "0",
    );
    row(&mut s, "DeleteCustomModel per model", "deletePerModel", "");
    let kind = |v: &Value, k: &str| f(&v["bcmWritesByKind"][k]);
    s.push_str(&format!(
        "| writes to bedrockcustommodels per model | {} | {} | {} | ≤ 3 create → Active (finalizer, Creating, Active): {} |\n",
        f(&create["bcmWritesPerModel"]),
        f(&delete["bcmWritesPerModel"]),
        f(&c["bcmWritesPerModel"]),
        verdict(&create["bcmWritesPerModel"], 3.0),
    ));
    for (k, label) in [
        (
            "finalizer",
            "finalizer (PATCH/APPLY of the object's metadata)",
        ),
        ("status", "status (status subresource)"),
        ("other", "other"),
    ] {
        s.push_str(&format!(
            "| … {label} | {} | {} | {} | |\n",
            kind(create, k),
            kind(delete, k),
            kind(c, k)
        ));
    }
    s.push_str(&format!(
        "| … by verb | {} | {} | {} | |\n",
        create["bcmWritesByVerb"], delete["bcmWritesByVerb"], c["bcmWritesByVerb"]
    ));
    row(
        &mut s,
        "writes to events per model",
        "eventWritesPerModel",
        "",
    );
    row(
        &mut s,
        "operator CPU seconds per model",
        "cpuSecondsPerModel",
        "",
    );
    s.push_str(&format!(
        "\nPlot: `ready-{}.svg` (resources Ready over time since the first POST, and the floor).\n",
        r["resources"]
    ));
    s
}

fn startup_markdown(r: &Value) -> String {
    let f = fig;
    let rs = &r["restart"];
    let n = r["resources"].as_u64().unwrap_or(0);
    let at = if n == 10_000 {
        String::new()
    } else {
        format!(" (the goal is for 10,000; measured with {n})")
    };
    let peak = |v: &Value| {
        format!(
            "{} MiB | ≤ {GOAL_RSS_MIB} MiB: {}{at}",
            f(v),
            verdict(v, GOAL_RSS_MIB)
        )
    };
    let mut s = format!(
        "\n## Start-up with {n} resources present\n\n\
         Emulator without throttling, imports Creating for {creating} s; operator flags `{flags}`.\n\
         The converged operator is stopped with SIGTERM and a fresh one started with the same flags.\n\n\
         | figure | value | goal |\n|---|---|---|\n\
         | resources applied (POST, 32 in flight) in | {apply} s | |\n\
         | time until all Ready | {ready} s | |\n\
         | Ready when the wait ended | {ready_end} | {n} |\n\
         | peak RSS while converging them | {peak_conv} |\n\
         | operator CPU while converging | {cpu_conv} s | |\n\
         | SIGTERM to exit | {stop} s | |\n\
         | restart: spawn to /readyz 200 | {readyz} s | ≤ {GOAL_READYZ_SECONDS} s: {readyz_verdict}{at} |\n\
         | restart: peak RSS (spawn to the end of the window) | {peak_restart} |\n\
         | restart: window watched (from spawn) | {window} s | |\n\
         | restart: last Bedrock call or API-server write seen (from spawn, ±1 s) | {last} s{capped} | |\n\
         | restart: Bedrock calls, by operation | {calls} | |\n\
         | restart: API-server writes (bedrockcustommodels, events) | {writes} {writes_by} | 0 |\n\
         | restart: operator CPU | {cpu} s | |\n\
         | time to delete all | {del} s | |\n\
         | resources left / models left | {res_left} / {models_left} | 0 / 0 |\n",
        creating = r["creatingSeconds"],
        flags = r["operatorFlags"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "))
            .unwrap_or_default(),
        apply = f(&r["applySeconds"]),
        ready = f(&r["allReadySeconds"]),
        ready_end = r["readyAtEnd"],
        peak_conv = peak(&r["peakRssMiBConverging"]),
        cpu_conv = f(&r["cpuSecondsConverging"]),
        stop = f(&r["stopSeconds"]),
        readyz = f(&rs["readyzSeconds"]),
        readyz_verdict = verdict(&rs["readyzSeconds"], GOAL_READYZ_SECONDS),
        peak_restart = peak(&rs["peakRssMiB"]),
        window = f(&rs["windowSeconds"]),
        last = f(&rs["lastActivitySeconds"]),
        capped = if rs["wentQuiet"] == json!(false) {
            format!(" (still active at the {} s cap)", RESTART_CAP.as_secs())
        } else {
            String::new()
        },
        calls = rs["bedrockCalls"],
        writes = rs["apiserverWrites"],
        writes_by = rs["apiserverWritesBy"],
        cpu = f(&rs["cpuSeconds"]),
        del = f(&r["deleteSeconds"]),
        res_left = r["resourcesLeft"],
        models_left = r["modelsLeft"],
    );
    s.push_str(&format!(
        "\nThe restart window runs at least {} s from the spawn, then until neither the \
         emulator's counters nor the operator's API-server writes moved for {} s (at most {} s).\n",
        RESTART_MIN.as_secs(),
        RESTART_QUIET.as_secs(),
        RESTART_CAP.as_secs()
    ));
    s
}

fn policies_markdown(p: &Value) -> String {
    let mut s = format!(
        "\n## Polling policies ({} models each, imports {}–{} s)\n\n\
         | policy | GetCustomModel per model | ListCustomModels per model | Bedrock reads per model (Get + List + ListTags) | lag p50 (s) | lag p99 (s) | lag max (s) |\n\
         |---|---|---|---|---|---|---|\n",
        p["modelsPerPolicy"], p["importSecondsMin"], p["importSecondsMax"]
    );
    let rows: Vec<&Value> = p["policies"].as_array().into_iter().flatten().collect();
    let lag = |v: &Value| match v.as_f64() {
        Some(x) => format!("{x:.1}"),
        None => "not measured".into(),
    };
    for row in &rows {
        let flags = row["flags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" (`{flags}`)")
        };
        let not_ready = if row["allReady"] == json!(false) {
            " — not all Ready by the deadline"
        } else {
            ""
        };
        s.push_str(&format!(
            "| {}{flags}{not_ready} | {:.2} | {:.2} | {:.2} | {} | {} | {} |\n",
            row["policy"].as_str().unwrap_or(""),
            row["getPerModel"].as_f64().unwrap_or(0.0),
            row["listPerModel"].as_f64().unwrap_or(0.0),
            row["readsPerModel"].as_f64().unwrap_or(0.0),
            lag(&row["lagP50Seconds"]),
            lag(&row["lagP99Seconds"]),
            lag(&row["lagMaxSeconds"]),
        ));
    }
    s.push_str(
        "\nCalls cover each configuration from its operator's start until its own resources were \
         all Ready (the look before the create and the polls or sweeps; not the delete). \
         ListCustomModels is one call per region per sweep (per page), shared by all models \
         Creating at the time, so its per-model figure falls as M grows. \
         Lag: Ready's lastTransitionTime (whole seconds) minus the emulator's readyTime.\n",
    );
    s.push_str(
        "\nPlot: `ready-policies.svg` (resources Ready over time since the first POST, one line \
         per configuration, and the imports that had ended in Bedrock).\n",
    );
    let find = |name: &str| rows.iter().find(|r| r["policy"] == name);
    if let (Some(default), Some(fixed)) = (find(POLICIES[0].0), find("fixed 30s")) {
        let fewer = |key: &str| match (default[key].as_f64(), fixed[key].as_f64()) {
            (Some(d), Some(x)) if d < x => format!("{d:.2} < {x:.2}: met"),
            (Some(d), Some(x)) => format!("{d:.2} ≥ {x:.2}: **missed**"),
            _ => "not measured".into(),
        };
        let lag_verdict = verdict(&default["lagP99Seconds"], GOAL_LAG_P99_SECONDS);
        let reads = fewer("readsPerModel");
        let overall = if lag_verdict == "met" && reads.ends_with(": met") {
            "met"
        } else {
            "**missed**"
        };
        s.push_str(&format!(
            "\nGoal: lag p99 ≤ {GOAL_LAG_P99_SECONDS} s with fewer Bedrock calls than fixed 30s — {overall}.\n\n\
             - default lag p99 {} s ≤ {GOAL_LAG_P99_SECONDS} s: {lag_verdict}\n\
             - Bedrock reads per model, default vs fixed 30s: {reads}\n\
             - GetCustomModel per model, default vs fixed 30s: {}\n",
            lag(&default["lagP99Seconds"]),
            fewer("getPerModel"),
        ));
    }
    s
}

/// The x axis of both plots.
const X_LABEL: &str = "time since the first POST (s)";
/// The y axis of both plots.
const Y_LABEL: &str = "resources Ready (count)";
/// The grey of the reference line each plot compares against (the floor, imports ended).
const REFERENCE_GREY: RGBColor = RGBColor(160, 160, 160);
/// The colours of the policy plot's lines, in the order of `POLICIES`.
const POLICY_COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

/// One line of a plot, named in the legend.
struct Line {
    label: String,
    colour: RGBColor,
    width: u32,
    /// (seconds, count)
    points: Vec<(f64, f64)>,
}

/// An 800×500 SVG chart of counts over seconds: a title, axes with units and tick labels, a
/// grid every `x_step` seconds and every tenth of `y_max`, and a legend naming each line. SVG
/// keeps text as `<text>` elements, so writing it needs no font files.
fn chart(path: &Path, title: &str, y_max: usize, x_step: f64, lines: &[Line]) -> Result<()> {
    use plotters::prelude::*;
    let end = lines
        .iter()
        .filter_map(|line| line.points.last().map(|p| p.0))
        .fold(1.0, f64::max)
        * 1.05;
    // Headroom above N, so that a line at N is not hidden by the frame.
    let top = y_max.max(1) as f64 * 1.05;
    let y_step = (y_max as f64 / 10.0).ceil().max(1.0);
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((0.0..end).step(x_step), (0.0..top).step(y_step))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc(X_LABEL)
        .y_desc(Y_LABEL)
        .axis_desc_style(("sans-serif", 17))
        .label_style(("sans-serif", 15))
        .x_labels(16)
        .y_labels(11)
        .x_label_formatter(&|t| format!("{t:.0}"))
        .y_label_formatter(&|n| format!("{n:.0}"))
        .bold_line_style(RGBColor(220, 220, 220))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(plot_error)?;
    for line in lines {
        let style = line.colour.stroke_width(line.width);
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), style))
            .map_err(plot_error)?
            .label(line.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 15))
        // Both plots rise from the lower left, the measured lines below and right of the
        // reference one: the upper left stays empty.
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)
}

fn plot_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot: {error:?}")
}

/// Resources Ready over time, with the floor.
fn plot(
    path: &Path,
    timeline: &[(f64, usize)],
    size: usize,
    rate: f64,
    creating: f64,
) -> Result<()> {
    let last = timeline.last().map(|p| p.0).unwrap_or(0.0);
    // The floor: nothing before Creating ends, then `rate` per second.
    let full = creating + size as f64 / rate;
    let floor = Line {
        label: format!("floor: {creating} s Creating, then {rate} creates/s"),
        colour: REFERENCE_GREY,
        width: 2,
        points: vec![
            (0.0, 0.0),
            (creating, 0.0),
            (full, size as f64),
            (last.max(full), size as f64),
        ],
    };
    let ready = Line {
        label: "Ready".into(),
        colour: plotters::style::BLUE,
        width: 3,
        points: timeline.iter().map(|(t, n)| (*t, *n as f64)).collect(),
    };
    let x_step = if last.max(full) > 600.0 { 60.0 } else { 10.0 };
    chart(
        path,
        &format!("Resources Ready over time, N = {size}"),
        size,
        x_step,
        &[floor, ready],
    )
}

/// Resources Ready over time, one line per polling configuration (colours in `POLICY_COLOURS`),
/// and in grey the imports that had ended in Bedrock: the closer a line follows the grey one,
/// the shorter the lag.
fn plot_policies(
    path: &Path,
    series: &[(&str, &[(f64, usize)])],
    active: &[(f64, usize)],
    models: usize,
) -> Result<()> {
    // Steps: a count holds until the next sample.
    let steps = |points: &[(f64, usize)]| {
        let mut out = Vec::new();
        for (i, (t, n)) in points.iter().enumerate() {
            if i > 0 {
                out.push((*t, points[i - 1].1 as f64));
            }
            out.push((*t, *n as f64));
        }
        out
    };
    let mut lines = vec![Line {
        label: "imports ended in Bedrock".into(),
        colour: REFERENCE_GREY,
        width: 4,
        points: steps(active),
    }];
    for ((label, timeline), colour) in series.iter().zip(POLICY_COLOURS) {
        lines.push(Line {
            label: (*label).into(),
            colour,
            width: 2,
            points: steps(timeline),
        });
    }
    chart(
        path,
        &format!("Resources Ready per polling configuration ({models} models each)"),
        models,
        30.0,
        &lines,
    )
}

/// A plain HTTP/1.0 GET's status code.
async fn http_status(authority: &str, path: &str) -> Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("an HTTP status line")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_totals() {
        let text = "# HELP x\napiserver_request_total{code=\"200\",component=\"apiserver\",dry_run=\"\",group=\"bedrock-operator.dev\",resource=\"bedrockcustommodels\",scope=\"namespace\",subresource=\"status\",verb=\"PATCH\",version=\"v1alpha1\"} 7\n\
            apiserver_request_total{code=\"409\",component=\"apiserver\",dry_run=\"\",group=\"bedrock-operator.dev\",resource=\"bedrockcustommodels\",scope=\"namespace\",subresource=\"status\",verb=\"PATCH\",version=\"v1alpha1\"} 2\n";
        let totals = request_totals(text);
        assert_eq!(
            totals.get(&(
                "PATCH".into(),
                "bedrockcustommodels".into(),
                "status".into()
            )),
            Some(&9.0)
        );
    }

    /// The text of every `<text>` element of an SVG file, unescaped.
    fn svg_texts(path: &Path) -> Vec<String> {
        let svg = std::fs::read_to_string(path).expect("the plot was written");
        assert!(svg.contains("<svg"), "not an SVG: {}", path.display());
        svg.split("<text")
            .skip(1)
            .filter_map(|element| {
                let (_, rest) = element.split_once('>')?;
                let (text, _) = rest.split_once("</text>")?;
                Some(
                    text.trim()
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&apos;", "'")
                        .replace("&amp;", "&"),
                )
            })
            .collect()
    }

    /// A scratch directory for one test, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a scratch dir");
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn assert_has(texts: &[String], expected: &str) {
        assert!(
            texts.iter().any(|t| t == expected),
            "no text {expected:?} in the plot; texts: {texts:?}"
        );
    }

    #[test]
    fn convergence_plot_has_title_axes_ticks_and_legend() {
        let scratch = Scratch::new("plot-ready");
        let path = scratch.0.join("ready-20.svg");
        let timeline = [(0.0, 0), (10.5, 4), (12.0, 12), (13.5, 20)];
        plot(&path, &timeline, 20, 10.0, 10.0).unwrap();
        let texts = svg_texts(&path);
        assert_has(&texts, "Resources Ready over time, N = 20");
        assert_has(&texts, "time since the first POST (s)");
        assert_has(&texts, "resources Ready (count)");
        assert_has(&texts, "Ready");
        assert_has(&texts, "floor: 10 s Creating, then 10 creates/s");
        // Tick labels every 10 s and every tenth of N.
        for tick in ["0", "10", "20"] {
            assert_has(&texts, tick);
        }
        assert_has(&texts, "12");
    }

    #[test]
    fn policies_plot_has_title_axes_ticks_and_a_legend_entry_per_configuration() {
        let scratch = Scratch::new("plot-policies");
        let path = scratch.0.join("ready-policies.svg");
        let timelines: Vec<Vec<(f64, usize)>> = (0..POLICIES.len())
            .map(|i| {
                vec![
                    (0.0, 0),
                    (35.0 + 10.0 * i as f64, 3),
                    (65.0 + 10.0 * i as f64, 5),
                ]
            })
            .collect();
        let series: Vec<(&str, &[(f64, usize)])> = POLICIES
            .iter()
            .zip(&timelines)
            .map(|((label, _), timeline)| (*label, timeline.as_slice()))
            .collect();
        let active: Vec<(f64, usize)> = (0..=60).map(|t| (t as f64, t / 12)).collect();
        plot_policies(&path, &series, &active, 5).unwrap();
        let texts = svg_texts(&path);
        assert_has(
            &texts,
            "Resources Ready per polling configuration (5 models each)",
        );
        assert_has(&texts, "time since the first POST (s)");
        assert_has(&texts, "resources Ready (count)");
        assert_has(&texts, "imports ended in Bedrock");
        for label in [
            "default (sweep 10s)",
            "per-model schedule",
            "fixed 30s",
            "fixed 60s",
        ] {
            assert_has(&texts, label);
        }
        // Ticks every 30 s.
        for tick in ["0", "30", "60"] {
            assert_has(&texts, tick);
        }
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
