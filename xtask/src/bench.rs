//! `cargo xtask bench operator`: the release operator against its own control plane and an
//! in-process Bedrock emulator with AWS-like rate limits. Prints figures and writes them to
//! `target/bench-results/<run>/` (JSON, Markdown, PNG). See docs/benchmarks.md for what each
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
            build.args([
                "build",
                "--release",
                "-p",
                "bedrock-operator",
                "--all-features",
            ]);
            crate::run(&mut build)?;
            target_dir.join("release/bedrock-operator")
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

    let mut convergence = Vec::new();
    let largest = args.sizes.last().copied();
    for &size in &args.sizes {
        let result = bench.convergence(size, Some(size) == largest).await?;
        markdown.push_str(&convergence_markdown(&result));
        convergence.push(result);
        std::fs::write(out.join("results.md"), &markdown)?;
    }
    report["convergence"] = json!(convergence);

    if args.policy_models > 0 {
        let policies = bench.policies().await?;
        markdown.push_str(&policies_markdown(&policies));
        report["polling"] = policies;
    }

    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(out.join("results.md"), &markdown)?;
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
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }

    /// Waits for /readyz 200; the time since the process started.
    async fn wait_ready(&self, deadline: Duration) -> Result<Duration> {
        while self.started.elapsed() < deadline {
            if http_status(&self.admin, "/readyz").await.ok() == Some(200) {
                return Ok(self.started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("the operator at {} never became ready", self.admin)
    }

    async fn stop(mut self) {
        self.child.kill().await.ok();
        self.child.wait().await.ok();
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
        })
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
        Ok(Emulator::start(EmulatorConfig {
            ready_delay: a.creating,
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

    fn spawn(
        &self,
        namespace: &str,
        emulator: &EmulatorHandle,
        extra: &[&str],
        tag: &str,
    ) -> Result<Operator> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.out.join(format!("operator-{tag}.log")))?;
        let child = Command::new(&self.binary)
            .arg("run")
            .args(["--admin-address", &format!("127.0.0.1:{port}")])
            .args(["--namespace", namespace])
            .args(self.base_flags())
            .args(extra)
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
        })
    }

    async fn snapshot(&self, emulator: &EmulatorHandle, operator: &Operator) -> Result<Snapshot> {
        Ok(Snapshot {
            at: Instant::now(),
            bedrock: emulator.counters(),
            apiserver: request_totals(&self.plane.apiserver_metrics_text().await?),
            cpu: operator.cpu_seconds(),
        })
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
        let operator = self.spawn(&namespace, &emulator, &[], &format!("{size}"))?;
        let ready_empty = operator.wait_ready(Duration::from_secs(60)).await?;
        let names: Vec<String> = (0..size).map(|i| format!("bench-{i:05}")).collect();

        let before = self.snapshot(&emulator, &operator).await?;
        let started = Instant::now();
        create_all(&api, &names).await?;
        let applied = started.elapsed();
        let floor = size as f64 / a.create_rate + a.creating.as_secs_f64();
        let deadline = Duration::from_secs_f64(floor * 3.0 + 120.0);
        let timeline = wait_all_ready(&api, size, started, deadline).await?;
        let (converged, ready_count) = timeline.last().copied().unwrap_or_default();
        let all_ready = ready_count >= size;
        let after = self.snapshot(&emulator, &operator).await?;
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
            &self.out.join(format!("ready-{size}.png")),
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

        let mut operator = operator;
        let mut steady = Value::Null;
        let mut restart = Value::Null;
        if largest && all_ready {
            if !a.idle.is_zero() {
                println!("bench: idle for {:?}", a.idle);
                let idle_start = self.snapshot(&emulator, &operator).await?;
                tokio::time::sleep(a.idle).await;
                let idle_end = self.snapshot(&emulator, &operator).await?;
                steady = steady_figures(&idle_start, &idle_end);
                println!("bench: steady state {steady}");
            }
            let peak = operator.peak_rss_mib();
            operator.stop().await;
            let restarted = self.spawn(&namespace, &emulator, &[], &format!("{size}-restart"))?;
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

        let before_delete = self.snapshot(&emulator, &operator).await?;
        delete_all(&api, &names).await?;
        let deleted_at = Instant::now();
        wait_all_gone(&api, deadline).await?;
        let deleted = deleted_at.elapsed().as_secs_f64();
        let gone = self.snapshot(&emulator, &operator).await?;
        let peak_rss = operator.peak_rss_mib();
        operator.stop().await;
        let left = emulator.models().iter().filter(|m| !m.foreign).count();

        let cost = lifecycle_cost(size, &[(&before, &after), (&before_delete, &gone)]);
        println!("bench: cost per lifecycle {cost}");
        result["deleteSeconds"] = json!(deleted);
        result["modelsLeft"] = json!(left);
        result["costPerModel"] = cost;
        result["steadyState"] = steady;
        result["restart"] = restart;
        result["peakRssMiB"] = json!(peak_rss);
        Ok(result)
    }

    /// e: three polling policies side by side, same import durations.
    async fn policies(&self) -> Result<Value> {
        let a = self.args;
        let policies: [(&str, &[&str]); 3] = [
            ("default", &[]),
            ("fixed 30s", &["--poll-initial", "30s", "--poll-max", "30s"]),
            ("fixed 60s", &["--poll-initial", "60s", "--poll-max", "60s"]),
        ];
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
        for (index, (label, flags)) in policies.iter().enumerate() {
            let namespace = self.plane.create_namespace("bench-poll").await?;
            let emulator = self.emulator(1000 + index as u64).await?;
            for (i, name) in names.iter().enumerate() {
                emulator.set_ready_delay(name, delay(i))?;
            }
            let api: Api<BedrockCustomModel> = Api::namespaced(self.plane.client(), &namespace);
            let operator = self.spawn(&namespace, &emulator, flags, &format!("poll-{index}"))?;
            operator.wait_ready(Duration::from_secs(60)).await?;
            runs.push((label, namespace, emulator, api, operator));
        }
        let started = Instant::now();
        for (_, _, _, api, _) in &runs {
            create_all(api, &names).await?;
        }
        let deadline = a.policy_max + Duration::from_secs(180);
        for (_, _, _, api, _) in &runs {
            wait_all_ready(api, m, started, deadline).await?;
        }
        let mut out = Vec::new();
        for (label, _, emulator, api, operator) in runs {
            let list = api.list(&ListParams::default()).await?;
            let mut lags = Vec::new();
            for resource in &list.items {
                let name = resource.metadata.name.clone().unwrap_or_default();
                let ready_time = emulator.model(&name).and_then(|m| m.ready_time);
                let transition = ready_transition(resource);
                if let (Some(ready_time), Some(transition)) = (ready_time, transition) {
                    lags.push((transition - ready_time).num_milliseconds() as f64 / 1000.0);
                }
            }
            lags.sort_by(f64::total_cmp);
            let counters = emulator.counters();
            let gets = counters.total(Operation::GetCustomModel) as f64 / m as f64;
            let row = json!({
                "policy": label,
                "getPerModel": gets,
                "lagP50Seconds": percentile(&lags, 0.50),
                "lagP99Seconds": percentile(&lags, 0.99),
                "lagMaxSeconds": lags.last(),
                "models": lags.len(),
            });
            println!("bench: polling {row}");
            out.push(row);
            delete_all(&api, &names).await?;
            wait_all_gone(&api, Duration::from_secs(120)).await?;
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

/// Polls the list until `size` resources are Ready (or the deadline passed); the (seconds,
/// Ready count) timeline.
async fn wait_all_ready(
    api: &Api<BedrockCustomModel>,
    size: usize,
    started: Instant,
    deadline: Duration,
) -> Result<Vec<(f64, usize)>> {
    let mut timeline = vec![(0.0, 0)];
    loop {
        let list = api.list(&ListParams::default()).await?;
        let t = started.elapsed().as_secs_f64();
        let ready = list
            .items
            .iter()
            .filter(|r| {
                r.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                })
            })
            .count();
        timeline.push((t, ready));
        if ready >= size {
            return Ok(timeline);
        }
        if started.elapsed() > deadline {
            // Reported as not converged rather than failing the whole run.
            eprintln!("bench: only {ready}/{size} Ready after {deadline:?}");
            return Ok(timeline);
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn wait_all_gone(api: &Api<BedrockCustomModel>, deadline: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let left = api.list(&ListParams::default()).await?.items.len();
        if left == 0 {
            return Ok(());
        }
        if start.elapsed() > deadline {
            bail!("{left} resources not deleted after {deadline:?}");
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

fn bedrock_diff(before: &Counters, after: &Counters, op: Operation, outcome: Option<&str>) -> f64 {
    let count = |c: &Counters| match outcome {
        Some(o) => c.get(op, o),
        None => c.total(op),
    };
    count(after).saturating_sub(count(before)) as f64
}

/// Per-model costs over the given (before, after) phases.
fn lifecycle_cost(size: usize, phases: &[(&Snapshot, &Snapshot)]) -> Value {
    let n = size.max(1) as f64;
    let mut created = 0.0;
    let mut create_throttled = 0.0;
    let mut create_calls = 0.0;
    let mut gets = 0.0;
    let mut deletes = 0.0;
    let mut tagging = 0.0;
    let mut throttled = 0.0;
    let mut cpu = 0.0;
    let mut bcm: BTreeMap<String, f64> = BTreeMap::new();
    let mut events: BTreeMap<String, f64> = BTreeMap::new();
    for (b, a) in phases {
        created += bedrock_diff(
            &b.bedrock,
            &a.bedrock,
            Operation::CreateCustomModel,
            Some("Ok"),
        );
        create_calls += bedrock_diff(&b.bedrock, &a.bedrock, Operation::CreateCustomModel, None);
        create_throttled += bedrock_diff(
            &b.bedrock,
            &a.bedrock,
            Operation::CreateCustomModel,
            Some("ThrottlingException"),
        );
        gets += bedrock_diff(&b.bedrock, &a.bedrock, Operation::GetCustomModel, None);
        deletes += bedrock_diff(&b.bedrock, &a.bedrock, Operation::DeleteCustomModel, None);
        for op in [
            Operation::TagResource,
            Operation::UntagResource,
            Operation::ListTagsForResource,
        ] {
            tagging += bedrock_diff(&b.bedrock, &a.bedrock, op, None);
        }
        for op in Operation::ALL {
            throttled += bedrock_diff(&b.bedrock, &a.bedrock, op, Some("ThrottlingException"));
        }
        cpu += (a.cpu - b.cpu).max(0.0);
        for (k, v) in writes(
            &b.apiserver,
            &a.apiserver,
            "bedrockcustommodels",
            WRITE_VERBS,
        ) {
            *bcm.entry(k).or_default() += v;
        }
        for (k, v) in writes(
            &b.apiserver,
            &a.apiserver,
            "events",
            &["POST", "CREATE", "PATCH", "APPLY", "UPDATE"],
        ) {
            *events.entry(k).or_default() += v;
        }
    }
    let per = |map: &BTreeMap<String, f64>| {
        map.iter()
            .map(|(k, v)| (k.clone(), json!(v / n)))
            .collect::<serde_json::Map<_, _>>()
    };
    json!({
        "createAcceptedPerModel": created / n,
        "createCallsPerModel": create_calls / n,
        "createThrottledTotal": create_throttled,
        "throttledTotal": throttled,
        "getPerModel": gets / n,
        "deletePerModel": deletes / n,
        "taggingCallsPerModel": tagging / n,
        "bcmWritesPerModel": bcm.values().sum::<f64>() / n,
        "bcmWritesByVerb": per(&bcm),
        "eventWritesPerModel": events.values().sum::<f64>() / n,
        "eventWritesByVerb": per(&events),
        "cpuSecondsPerModel": cpu / n,
    })
}

fn steady_figures(start: &Snapshot, end: &Snapshot) -> Value {
    let seconds = end.at.duration_since(start.at).as_secs_f64();
    let mut bedrock = serde_json::Map::new();
    for op in Operation::ALL {
        let calls = bedrock_diff(&start.bedrock, &end.bedrock, op, None);
        if calls > 0.0 {
            bedrock.insert(format!("{op:?}"), json!(calls));
        }
    }
    let mut api_writes = 0.0;
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
            // The operator writes only these; the API server writes endpoints and leases of
            // its own on a timer.
            if OPERATOR_RESOURCES.contains(&resource.as_str()) {
                api_writes += diff;
                by_resource.insert(key, json!(diff));
            } else {
                others.insert(key, json!(diff));
            }
        }
    }
    json!({
        "idleSeconds": seconds,
        "apiserverWrites": api_writes,
        "apiserverWritesBy": by_resource,
        "otherApiserverWrites": others,
        "bedrockCalls": bedrock,
        "cpuSeconds": end.cpu - start.cpu,
    })
}

fn convergence_markdown(r: &Value) -> String {
    let c = &r["costPerModel"];
    let f = |v: &Value| match v.as_f64() {
        Some(x) => format!("{x:.3}"),
        None => "not measured".into(),
    };
    let mut s = format!(
        "\n## {n} resources applied at once\n\n| figure | value | goal |\n|---|---|---|\n\
         | time until all Ready | {t} s | |\n\
         | Ready when the wait ended | {ready_end} | all |\n\
         | floor N/create rate + Creating | {floor} s | |\n\
         | ratio | {ratio} | ≤ 1.15 at N=1000 |\n\
         | accepted CreateCustomModel per model | {created} | 1 |\n\
         | CreateCustomModel calls per model (incl. throttled) | {calls} | |\n\
         | throttled Bedrock calls (total; of which Create) | {thr} ({cthr}) | |\n\
         | GetCustomModel per model | {gets} | |\n\
         | tagging calls per model | {tags} | 0 |\n\
         | writes to bedrockcustommodels per model | {bcm} {bcmv} | ≤ 3 |\n\
         | writes to events per model | {ev} {evv} | |\n\
         | operator CPU seconds per model | {cpu} | |\n\
         | peak RSS of the operator | {rss} MiB | ≤ 64 MiB |\n\
         | time to delete all | {del} s | |\n\
         | models left after delete | {left} | 0 |\n",
        n = r["resources"],
        t = f(&r["allReadySeconds"]),
        ready_end = r["readyAtEnd"],
        floor = f(&r["floorSeconds"]),
        ratio = f(&r["ratio"]),
        created = f(&c["createAcceptedPerModel"]),
        calls = f(&c["createCallsPerModel"]),
        thr = c["throttledTotal"],
        cthr = c["createThrottledTotal"],
        gets = f(&c["getPerModel"]),
        tags = f(&c["taggingCallsPerModel"]),
        bcm = f(&c["bcmWritesPerModel"]),
        bcmv = c["bcmWritesByVerb"],
        ev = f(&c["eventWritesPerModel"]),
        evv = c["eventWritesByVerb"],
        cpu = f(&c["cpuSecondsPerModel"]),
        rss = f(&r["peakRssMiB"]),
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
            "| restart: /readyz 200 after, with {} resources present | {} s | ≤ 10 s at 10,000 |\n\
             | peak RSS during convergence (+ idle) | {} MiB | ≤ 64 MiB |\n\
             | peak RSS 30 s after the restart | {} MiB | ≤ 64 MiB |\n",
            rs["resourcesPresent"],
            f(&rs["readyzSeconds"]),
            f(&rs["peakRssMiBConvergence"]),
            f(&rs["peakRssMiBAfterRestart30s"]),
        ));
    }
    s.push_str(&format!(
        "\nPlot: `ready-{}.png` (x: seconds since the apply, y: resources Ready; grey: the floor).\n",
        r["resources"]
    ));
    s
}

fn policies_markdown(p: &Value) -> String {
    let mut s = format!(
        "\n## Polling policies ({} models each, imports {}–{} s)\n\n\
         | policy | GetCustomModel per model | lag p50 (s) | lag p99 (s) | lag max (s) |\n|---|---|---|---|---|\n",
        p["modelsPerPolicy"], p["importSecondsMin"], p["importSecondsMax"]
    );
    for row in p["policies"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "| {} | {:.2} | {} | {} | {} |\n",
            row["policy"].as_str().unwrap_or(""),
            row["getPerModel"].as_f64().unwrap_or(0.0),
            row["lagP50Seconds"],
            row["lagP99Seconds"],
            row["lagMaxSeconds"],
        ));
    }
    s.push_str(
        "\nLag: Ready's lastTransitionTime (whole seconds) minus the emulator's readyTime.\n",
    );
    s
}

/// Resources Ready over time, with the floor; no text, so no fonts are needed.
fn plot(
    path: &Path,
    timeline: &[(f64, usize)],
    size: usize,
    rate: f64,
    creating: f64,
) -> Result<()> {
    use plotters::prelude::*;
    let end = timeline.last().map(|p| p.0).unwrap_or(1.0).max(1.0) * 1.05;
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let area = root.margin(20, 20, 20, 20);
    let (w, h) = area.dim_in_pixel();
    let to_px = |t: f64, n: f64| {
        (
            (t / end * w as f64) as i32,
            h as i32 - (n / size.max(1) as f64 * h as f64) as i32,
        )
    };
    let draw = |e: Result<(), DrawingAreaErrorKind<_>>| e.map_err(|e| anyhow::anyhow!("{e:?}"));
    // Axes and a grid every 10 % of N and every 10 s.
    for i in 0..=10 {
        let y = to_px(0.0, size as f64 * i as f64 / 10.0).1;
        draw(area.draw(&PathElement::new(
            vec![(0, y), (w as i32, y)],
            RGBColor(230, 230, 230),
        )))?;
    }
    let mut t = 0.0;
    while t <= end {
        let x = to_px(t, 0.0).0;
        draw(area.draw(&PathElement::new(
            vec![(x, 0), (x, h as i32)],
            RGBColor(230, 230, 230),
        )))?;
        t += if end > 600.0 { 60.0 } else { 10.0 };
    }
    draw(area.draw(&PathElement::new(
        vec![(0, 0), (0, h as i32), (w as i32, h as i32)],
        BLACK.stroke_width(2),
    )))?;
    // The floor: nothing before Creating ends, then `rate` per second.
    let full = creating + size as f64 / rate;
    draw(area.draw(&PathElement::new(
        vec![
            to_px(0.0, 0.0),
            to_px(creating, 0.0),
            to_px(full, size as f64),
            to_px(end, size as f64),
        ],
        RGBColor(160, 160, 160).stroke_width(2),
    )))?;
    let points: Vec<(i32, i32)> = timeline.iter().map(|(t, n)| to_px(*t, *n as f64)).collect();
    draw(area.draw(&PathElement::new(points, BLUE.stroke_width(3))))?;
    root.present().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(())
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

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
