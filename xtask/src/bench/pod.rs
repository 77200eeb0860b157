//! `cargo xtask bench pod`: the operator's Pod on testkit's real node, installed as users
//! install it (the release image and the chart from an OCI registry, `helm install --wait`
//! with the chart's defaults and a non-EKS user's values), measured by its container's cgroup
//! as the kubelet sees it: peak working set, peak usage with page cache, peak and mean CPU.
//! Two scenarios, the figures behind the chart's default requests and limits:
//!
//! 1. N resources (default 1,000) created at once and converging;
//! 2. M resources (default 10,000) present and converged (the first Pod converges the rest,
//!    measured too), then the Pod deleted, as a rollout replaces it: the new Pod's time from
//!    creation to Ready and its cgroup while it reconciles everything it finds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bedrock_emulator::{Emulator, EmulatorConfig, EmulatorHandle, FaultConfig, Limits};
use bedrock_operator::api::BedrockCustomModel;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use serde::Serialize;
use serde_json::{Value, json};
use testkit::ControlPlane;
use testkit::chart::{HelmCli, Pushed};
use testkit::install::operator_process;
use testkit::node::{self, Node};
use testkit::registry::Registry;
use testkit::wait;

use super::cgroup::{Cgroup, Peaks, Sampler};
use super::counters::wait_quiet;
use super::report;
use super::resources::{create_all, wait_all_ready};
use super::startup::{
    RESTART_CAP, RESTART_MIN, RESTART_QUIET, STARTUP_BURST, STARTUP_CREATING, STARTUP_QPS,
};

/// `cargo xtask bench pod`.
#[derive(Debug, clap::Args)]
pub struct PodArgs {
    /// Resources converging in scenario 1, then present when the Pod is replaced in
    /// scenario 2 (e.g. 100,1000 for a quick run).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_values_t = [1000, 10_000])]
    pub sizes: Vec<usize>,
    /// Where the run's folder goes.
    #[arg(long, default_value = "target/bench-results")]
    pub results_dir: PathBuf,
}

const RELEASE: &str = "bedrock-operator";
const REGION: &str = "us-east-1";
/// helm install --wait --timeout.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(180);
/// The most converging the resources may take.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// How long the wait for a new Pod's operator process and for its Ready may take.
const POD_DEADLINE: Duration = Duration::from_secs(300);
/// After all are Ready, until the counters are quiet this long (at most `SETTLE_CAP`).
const SETTLE_QUIET: Duration = Duration::from_secs(3);
const SETTLE_CAP: Duration = Duration::from_secs(60);

/// results.json of `cargo xtask bench pod`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PodResults {
    pub run: String,
    pub machine: String,
    pub settings: PodSettings,
    /// The chart's current `resources` (values.yaml).
    pub chart: ChartResources,
    pub converging: Option<Converging>,
    /// The first Pod converging the resources added up to the second size.
    pub growing: Option<Converging>,
    pub restart: Option<Restart>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PodSettings {
    pub converging_resources: usize,
    pub present_resources: usize,
    /// Chart values the bench sets besides a user's (image, region, keys, endpoint).
    pub chart_values: Value,
    pub creating_seconds: f64,
    /// "none": the emulator does not throttle.
    pub emulator_rate_limits: &'static str,
}

/// Scenario 1, or the growth to the second size.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Converging {
    pub resources: usize,
    pub created: usize,
    pub apply_seconds: f64,
    pub all_ready_seconds: Option<f64>,
    pub ready_at_end: usize,
    pub cgroup: Peaks,
    /// VmHWM of the operator process at the end: its peak resident set, with the pages of its
    /// binary that the cgroup does not pay for (see docs/benchmarks.md).
    #[serde(rename = "processPeakRssMiB")]
    pub process_peak_rss_mib: Option<f64>,
}

/// Scenario 2: the Pod that replaced the deleted one.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Restart {
    pub resources: usize,
    /// metadata.creationTimestamp → the Ready condition's lastTransitionTime (whole seconds).
    pub pod_created_to_ready_seconds: Option<f64>,
    /// The DELETE of the old Pod → the new one seen Ready (polled every 250 ms).
    pub delete_to_ready_seconds: f64,
    /// The new Pod's cgroup found (the window starts) → seen Ready.
    pub window_start_to_ready_seconds: f64,
    pub last_activity_seconds: f64,
    pub went_quiet: bool,
    pub container_restarts: i32,
    pub cgroup: Peaks,
    /// VmHWM of the new operator process at the end of the window.
    #[serde(rename = "processPeakRssMiB")]
    pub process_peak_rss_mib: Option<f64>,
}

/// The chart's `resources`, in MiB and millicores.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct ChartResources {
    pub request_cpu_millicores: Option<f64>,
    #[serde(rename = "requestMemoryMiB")]
    pub request_memory_mib: Option<f64>,
    pub limit_cpu_millicores: Option<f64>,
    #[serde(rename = "limitMemoryMiB")]
    pub limit_memory_mib: Option<f64>,
}

impl ChartResources {
    /// `resources` of the chart's values.yaml.
    fn read(root: &Path) -> Result<Self> {
        let path = root.join(testkit::chart::CHART_DIR).join("values.yaml");
        let values: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| format!("parsing {}", path.display()))?;
        let resources = &values["resources"];
        let quantity = |section: &str, name: &str, parse: fn(&str) -> Option<f64>| match &resources
            [section][name]
        {
            serde_yaml::Value::String(s) => parse(s),
            serde_yaml::Value::Number(n) => parse(&n.to_string()),
            _ => None,
        };
        Ok(Self {
            request_cpu_millicores: quantity("requests", "cpu", cpu_millicores),
            request_memory_mib: quantity("requests", "memory", memory_mib),
            limit_cpu_millicores: quantity("limits", "cpu", cpu_millicores),
            limit_memory_mib: quantity("limits", "memory", memory_mib),
        })
    }
}

/// A Kubernetes CPU quantity (`50m`, `0.5`, `1`) in millicores.
fn cpu_millicores(quantity: &str) -> Option<f64> {
    match quantity.strip_suffix('m') {
        Some(milli) => milli.parse().ok(),
        None => quantity.parse::<f64>().ok().map(|cores| cores * 1000.0),
    }
}

/// A Kubernetes memory quantity (`64Mi`, `1Gi`, `128M`, bytes) in MiB.
fn memory_mib(quantity: &str) -> Option<f64> {
    const UNITS: [(&str, f64); 6] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
    ];
    let (number, factor) = UNITS
        .iter()
        .find_map(|(suffix, factor)| quantity.strip_suffix(suffix).map(|n| (n, *factor)))
        .unwrap_or((quantity, 1.0));
    number
        .parse::<f64>()
        .ok()
        .map(|n| n * factor / (1024.0 * 1024.0))
}

/// The chart values the bench sets besides a user's: the start-up scenario's operator rate
/// limit of `bench operator`, so that 10,000 resources converge in minutes; every other value
/// (concurrency 16, resources, probes, leader election) is the chart's default.
fn bench_values() -> Value {
    json!({ "rateLimit": { "qps": STARTUP_QPS, "burst": STARTUP_BURST } })
}

/// The registry with the image and chart, the node-network control plane and its node, the
/// emulator on the node's bridge, the namespace with the credentials Secret and the release.
/// Fields drop in order: the node before its control plane.
struct Installed {
    _node: Node,
    plane: ControlPlane,
    emulator: EmulatorHandle,
    _registry: Registry,
    namespace: String,
}

impl Installed {
    async fn start(root: &Path, target_dir: &Path, out: &Path) -> Result<Self> {
        // Helm's configuration and cache, and the chart's package.
        let scratch = target_dir.join("tmp/bench-pod");
        std::fs::create_dir_all(&scratch)?;
        let registry = Registry::start().await?;
        let (_, app_version) = app_version(root)?;
        let repository = format!("{}/bedrock-operator", registry.host());

        let layout = testkit::image::operator_layout(root, &target_dir.join("tmp")).await?;
        let started = Instant::now();
        let digest =
            testkit::oci::push_layout(&layout, &format!("{repository}:{app_version}"), true)
                .await?;
        println!(
            "bench: pushed {} as {repository}:{app_version} ({digest}) in {:.1} s",
            layout.display(),
            started.elapsed().as_secs_f64()
        );
        let helm = HelmCli::built()?.with_home(scratch.join("helm-home"));
        let chart = testkit::chart::publish(
            &helm,
            &root.join(testkit::chart::CHART_DIR),
            &scratch,
            &registry.oci_ref("charts"),
            true,
        )
        .with_context(|| format!("registry log:\n{}", registry.log_tail()))?;

        let started = Instant::now();
        let plane = ControlPlane::builder().node_network().start().await?;
        let node = Node::start(&plane).await?;
        node.allow_plain_http_registry(&registry.host())?;
        println!(
            "bench: control plane and node ready in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let emulator = Emulator::start(EmulatorConfig {
            listen: format!("{}:0", node::GATEWAY).parse()?,
            region: REGION.to_string(),
            ready_delay: STARTUP_CREATING,
            limits: Limits {
                max_models: 1_000_000,
                ..Limits::default()
            },
            faults: FaultConfig::default(),
            seed: Some(11),
            ..EmulatorConfig::default()
        })
        .await?;

        let namespace = plane.create_namespace("bench-pod").await?;
        testkit::install::create_credentials_secret(
            plane.client(),
            &namespace,
            "AKIDBENCHPOD00000001",
            "bench-secret",
        )
        .await?;
        let installed = Self {
            _node: node,
            plane,
            emulator,
            _registry: registry,
            namespace,
        };
        let mut values =
            testkit::install::user_values(&repository, REGION, &installed.emulator.url());
        if let (Some(values), Value::Object(more)) = (values.as_object_mut(), bench_values()) {
            values.extend(more);
        }
        installed.helm_install(&helm, &chart, &values, out).await?;
        Ok(installed)
    }

    /// `helm install --wait` of the pushed chart with `values`, as a user runs it.
    async fn helm_install(
        &self,
        helm: &HelmCli,
        chart: &Pushed,
        values: &Value,
        out: &Path,
    ) -> Result<()> {
        let values_file = out.join("values.json");
        std::fs::write(&values_file, serde_json::to_string_pretty(values)?)?;
        let timeout = format!("{}s", INSTALL_TIMEOUT.as_secs());
        let mut command = tokio::process::Command::from(helm.command());
        command
            .args([
                "install",
                RELEASE,
                &chart.chart_ref,
                "--version",
                &chart.version,
            ])
            .arg("--plain-http")
            .args(["--namespace", &self.namespace, "--kubeconfig"])
            .arg(self.plane.kubeconfig_path())
            .arg("--values")
            .arg(&values_file)
            .args(["--wait", "--timeout", &timeout])
            .kill_on_drop(true);
        let started = Instant::now();
        let output =
            tokio::time::timeout(INSTALL_TIMEOUT + Duration::from_secs(30), command.output())
                .await
                .context("helm install did not return")??;
        ensure!(
            output.status.success(),
            "helm install failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        println!(
            "bench: helm install --wait returned after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.plane.client(), &self.namespace)
    }

    fn models(&self) -> Api<BedrockCustomModel> {
        Api::namespaced(self.plane.client(), &self.namespace)
    }

    /// The operator Pod other than `except` (not being deleted) and its operator process,
    /// once the process runs.
    async fn operator_pod(&self, except: Option<&str>) -> Result<(Pod, u32)> {
        let pods = self.pods();
        wait::until(
            "the operator Pod's process",
            POD_DEADLINE,
            Duration::from_millis(100),
            async || {
                let list = pods.list(&ListParams::default()).await?.items;
                for pod in list {
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    if pod.metadata.deletion_timestamp.is_some() || Some(uid.as_str()) == except {
                        continue;
                    }
                    if let Ok(pid) = operator_process(&uid) {
                        return Ok(Some((pod, pid)));
                    }
                }
                Ok(None)
            },
        )
        .await
    }

    /// Creates `names`, waits until `total` resources are Ready, then until the counters
    /// are quiet; the cgroup of `pid` sampled throughout.
    async fn converge(&self, names: &[String], total: usize, pid: u32) -> Result<Converging> {
        let api = self.models();
        let sampler = Sampler::start(Cgroup::of_process(pid)?);
        let started = Instant::now();
        create_all(&api, names).await?;
        let apply_seconds = started.elapsed().as_secs_f64();
        println!("bench: {} created in {apply_seconds:.1} s", names.len());
        let timeline = wait_all_ready(
            &api,
            total,
            started,
            CONVERGE_DEADLINE,
            Duration::from_secs(2),
            true,
        )
        .await?;
        let (converged, ready_at_end) = timeline.last().copied().unwrap_or_default();
        println!("bench: {ready_at_end}/{total} Ready after {converged:.1} s");
        wait_quiet(
            &self.plane,
            &self.emulator,
            Instant::now(),
            Duration::ZERO,
            SETTLE_QUIET,
            SETTLE_CAP,
            |_| {},
        )
        .await?;
        Ok(Converging {
            resources: total,
            created: names.len(),
            apply_seconds,
            all_ready_seconds: (ready_at_end >= total).then_some(converged),
            ready_at_end,
            cgroup: sampler.finish().await?,
            process_peak_rss_mib: vm_hwm_mib(pid),
        })
    }

    /// Scenario 2: deletes the Pod `old`, as a rollout replaces it, and measures the new one.
    async fn replace(&self, old: &Pod, present: usize) -> Result<Restart> {
        let pods = self.pods();
        let old_name = old.metadata.name.clone().context("the Pod's name")?;
        let old_uid = old.metadata.uid.clone().context("the Pod's uid")?;
        let deleting = Instant::now();
        pods.delete(&old_name, &DeleteParams::default()).await?;
        let (pod, pid) = self.operator_pod(Some(&old_uid)).await?;
        let sampler = Sampler::start(Cgroup::of_process(pid)?);
        let since = Instant::now();
        let name = pod.metadata.name.clone().context("the new Pod's name")?;
        println!(
            "bench: Pod {name} replaces {old_name}: its operator runs {:.1} s after the delete",
            deleting.elapsed().as_secs_f64()
        );
        let ready = wait::until(
            format!("Pod {name} Ready"),
            POD_DEADLINE,
            Duration::from_millis(250),
            async || {
                let pod = pods.get(&name).await?;
                Ok(ready_since(&pod).is_some().then_some(pod))
            },
        )
        .await?;
        let delete_to_ready_seconds = deleting.elapsed().as_secs_f64();
        let window_start_to_ready_seconds = since.elapsed().as_secs_f64();
        let created = ready.metadata.creation_timestamp.as_ref().map(|t| t.0);
        let pod_created_to_ready_seconds = created
            .zip(ready_since(&ready))
            .map(|(created, ready)| ready.duration_since(created).as_secs_f64());
        println!(
            "bench: Pod {name} Ready {delete_to_ready_seconds:.1} s after the delete \
             (creation → Ready by its timestamps: {pod_created_to_ready_seconds:?} s)"
        );
        let window = wait_quiet(
            &self.plane,
            &self.emulator,
            since,
            RESTART_MIN,
            RESTART_QUIET,
            RESTART_CAP,
            |_| {},
        )
        .await?;
        let cgroup = sampler.finish().await?;
        let process_peak_rss_mib = vm_hwm_mib(pid);
        let after = pods.get(&name).await?;
        let container_restarts = after
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|s| s.first())
            .map(|s| s.restart_count)
            .unwrap_or_default();
        Ok(Restart {
            resources: present,
            pod_created_to_ready_seconds,
            delete_to_ready_seconds,
            window_start_to_ready_seconds,
            last_activity_seconds: window.last_activity.as_secs_f64(),
            went_quiet: window.went_quiet,
            container_restarts,
            cgroup,
            process_peak_rss_mib,
        })
    }
}

/// VmHWM of process `pid` in MiB (None once it is gone).
fn vm_hwm_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// When the Pod's Ready condition became True (None while it is not Ready).
fn ready_since(pod: &Pod) -> Option<k8s_openapi::jiff::Timestamp> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .map(|c| {
            c.last_transition_time
                .as_ref()
                .map(|t| t.0)
                .unwrap_or_default()
        })
}

/// The chart's name and appVersion (the image tag it deploys by default).
fn app_version(root: &Path) -> Result<(String, String)> {
    let path = root.join(testkit::chart::CHART_DIR).join("Chart.yaml");
    let chart: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path)?)
        .with_context(|| format!("parsing {}", path.display()))?;
    let field = |key: &str| {
        chart[key]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("{} has no {key}", path.display()))
    };
    Ok((field("name")?, field("appVersion")?))
}

pub async fn run(root: &Path, args: PodArgs) -> Result<()> {
    let [converging, present] = args.sizes[..] else {
        bail!("--sizes takes two sizes: converging, then present (e.g. 1000,10000)");
    };
    ensure!(
        converging > 0 && present >= converging,
        "--sizes {converging},{present}: the second must be at least the first"
    );
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let out = root.join(&args.results_dir).join(format!("{stamp}-pod"));
    std::fs::create_dir_all(&out)?;
    let machine = super::machine();
    println!(
        "bench: results in {}\nbench: machine: {machine}",
        out.display()
    );
    let running = Instant::now();

    let mut results = PodResults {
        run: stamp,
        machine,
        settings: PodSettings {
            converging_resources: converging,
            present_resources: present,
            chart_values: bench_values(),
            creating_seconds: STARTUP_CREATING.as_secs_f64(),
            emulator_rate_limits: "none",
        },
        chart: ChartResources::read(root)?,
        converging: None,
        growing: None,
        restart: None,
    };
    let save = |results: &PodResults| -> Result<String> {
        let markdown = report::pod(results);
        std::fs::write(
            out.join("results.json"),
            serde_json::to_string_pretty(results)?,
        )?;
        std::fs::write(out.join("results.md"), &markdown)?;
        Ok(markdown)
    };

    let installed = Installed::start(root, &target_dir, &out).await?;
    println!(
        "bench: installed in {:.1} s",
        running.elapsed().as_secs_f64()
    );
    let names: Vec<String> = (0..present).map(|i| format!("pod-bench-{i:05}")).collect();
    let (pod, pid) = installed.operator_pod(None).await?;

    println!("\nbench: scenario 1: {converging} resources converging");
    let first = installed
        .converge(&names[..converging], converging, pid)
        .await?;
    println!("bench: {}", report::json(&first));
    results.converging = Some(first);
    save(&results)?;

    if present > converging {
        println!(
            "\nbench: {} more, to {present} present",
            present - converging
        );
        let growing = installed
            .converge(&names[converging..], present, pid)
            .await?;
        results.growing = Some(growing);
        save(&results)?;
    }

    println!("\nbench: scenario 2: the Pod replaced with {present} resources present");
    let restart = installed.replace(&pod, present).await?;
    results.restart = Some(restart);
    let markdown = save(&results)?;
    println!("\n{markdown}");
    println!(
        "bench: wrote {} after {:.1} min",
        out.display(),
        running.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_in_millicores_and_mebibytes() {
        let cpu = [
            ("50m", Some(50.0)),
            ("0.5", Some(500.0)),
            ("2", Some(2000.0)),
            ("x", None),
        ];
        for (quantity, expected) in cpu {
            assert_eq!(cpu_millicores(quantity), expected, "cpu {quantity}");
        }
        let memory = [
            ("64Mi", Some(64.0)),
            ("1Gi", Some(1024.0)),
            ("512Ki", Some(0.5)),
            ("1048576", Some(1.0)),
            ("lots", None),
        ];
        for (quantity, expected) in memory {
            assert_eq!(memory_mib(quantity), expected, "memory {quantity}");
        }
    }
}
