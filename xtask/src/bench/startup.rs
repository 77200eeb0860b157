//! f: start-up with many resources present. Converge them (no throttling, short imports, a
//! high operator rate limit), SIGTERM the operator, start a fresh one with the same flags and
//! time its /readyz; watch its memory, Bedrock calls and API-server writes while it reconciles
//! everything it found; then delete all.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use bedrock_operator::api::BedrockCustomModel;
use kube::api::Api;
use serde::Serialize;

use super::Bench;
use super::counters::{ApiserverWrites, bedrock_by_operation};
use super::operator::Usage;
use super::resources::{count_resources, create_all, delete_all, wait_all_gone, wait_all_ready};

/// How long a model stays Creating (no throttling at all).
pub(super) const STARTUP_CREATING: Duration = Duration::from_secs(1);
/// Operator --rate-limit-qps and --rate-limit-burst.
pub(super) const STARTUP_QPS: f64 = 2000.0;
pub(super) const STARTUP_BURST: u32 = 200;
/// The most the convergence and the deletion may take.
const STARTUP_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// The restarted operator is watched at least this long after its spawn, then until neither
/// Bedrock calls nor its API-server writes moved for `RESTART_QUIET`, at most `RESTART_CAP`.
pub(super) const RESTART_MIN: Duration = Duration::from_secs(60);
pub(super) const RESTART_QUIET: Duration = Duration::from_secs(5);
pub(super) const RESTART_CAP: Duration = Duration::from_secs(300);
/// Goals (at 10,000 resources).
pub(super) const GOAL_RSS_MIB: f64 = 64.0;
pub(super) const GOAL_READYZ_SECONDS: f64 = 10.0;
/// How long the converged operator gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// The start-up scenario (`startup` in results.json).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Startup {
    pub resources: usize,
    pub namespace: String,
    pub creating_seconds: f64,
    pub operator_flags: Vec<String>,
    pub apply_seconds: f64,
    pub all_ready_seconds: Option<f64>,
    pub ready_at_end: usize,
    #[serde(rename = "peakRssMiBConverging")]
    pub peak_rss_mib_converging: f64,
    pub cpu_seconds_converging: f64,
    /// SIGTERM to exit of the converged operator.
    pub stop_seconds: f64,
    pub restart: StartupRestart,
    /// `None` when not all were gone by the deadline.
    pub delete_seconds: Option<f64>,
    pub resources_left: Option<usize>,
    pub models_left: usize,
    pub goals: Goals,
    /// (seconds since the first POST, Ready count).
    pub timeline: Vec<(f64, usize)>,
}

/// The fresh operator, from its spawn to the end of the window watched.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StartupRestart {
    pub readyz_seconds: f64,
    #[serde(rename = "peakRssMiB")]
    pub peak_rss_mib: f64,
    #[serde(rename = "rssAtEndMiB")]
    pub rss_at_end_mib: f64,
    pub window_seconds: f64,
    pub last_activity_seconds: f64,
    /// False when the window ended at its cap, still active.
    pub went_quiet: bool,
    pub bedrock_calls: BTreeMap<String, f64>,
    #[serde(flatten)]
    pub writes: ApiserverWrites,
    pub cpu_seconds: f64,
    /// (seconds since the spawn, VmRSS MiB) once a second.
    pub rss_timeline: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Goals {
    #[serde(rename = "peakRssMiB")]
    pub peak_rss_mib: f64,
    pub readyz_seconds: f64,
}

impl Bench<'_> {
    /// The start-up scenario with `size` resources present.
    pub(super) async fn startup(&self, size: usize) -> Result<Startup> {
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
        self.settle(&emulator, &operator, Duration::from_secs(60))
            .await?;
        let peak_converging = operator.peak_rss_mib();
        let cpu_converging = operator.cpu_seconds();
        let stop_seconds = operator.terminate(STOP_GRACE).await.as_secs_f64();

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
                restarted.started(),
                RESTART_MIN,
                RESTART_QUIET,
                RESTART_CAP,
            )
            .await?;
        let after = self.snapshot(&emulator, Some(&restarted)).await?;
        let restart = StartupRestart {
            readyz_seconds: readyz,
            peak_rss_mib: restarted.peak_rss_mib(),
            rss_at_end_mib: restarted.rss_mib(),
            window_seconds: after.at.duration_since(restarted.started()).as_secs_f64(),
            last_activity_seconds: window.last_activity.as_secs_f64(),
            went_quiet: window.went_quiet,
            bedrock_calls: bedrock_by_operation(&before.bedrock, &after.bedrock),
            writes: ApiserverWrites::between(&before, &after),
            cpu_seconds: after.cpu,
            rss_timeline: window.rss,
        };
        let summary = StartupRestart {
            rss_timeline: Vec::new(),
            ..restart.clone()
        };
        let mut summary = serde_json::to_value(&summary)?;
        summary["rssTimeline"] = "(in results.json)".into();
        println!("bench: after the restart {summary}");

        let deleting = Instant::now();
        delete_all(&api, &names).await?;
        let deleted = wait_all_gone(&api, STARTUP_DEADLINE, true).await;
        let delete_seconds = deleting.elapsed().as_secs_f64();
        if let Err(e) = &deleted {
            eprintln!("bench: start-up scenario: {e:#}");
        }
        restarted.terminate(STOP_GRACE).await;
        let resources_left = count_resources(&api).await.ok();
        let models_left = emulator.models().iter().filter(|m| !m.foreign).count();
        println!(
            "bench: start-up: {size} deleted in {delete_seconds:.1} s, {models_left} models left"
        );
        let result = Startup {
            resources: size,
            namespace,
            creating_seconds: STARTUP_CREATING.as_secs_f64(),
            operator_flags: flags,
            apply_seconds: applied,
            all_ready_seconds: all_ready.then_some(converged),
            ready_at_end: ready_count,
            peak_rss_mib_converging: peak_converging,
            cpu_seconds_converging: cpu_converging,
            stop_seconds,
            restart,
            delete_seconds: deleted.is_ok().then_some(delete_seconds),
            resources_left,
            models_left,
            goals: Goals {
                peak_rss_mib: GOAL_RSS_MIB,
                readyz_seconds: GOAL_READYZ_SECONDS,
            },
            timeline,
        };
        Ok(result)
    }
}
