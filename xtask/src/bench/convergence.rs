//! a–d: N resources applied at once: time until all are Ready against the floor the rate
//! limits allow, cost per lifecycle; for the largest N also the idle window and a restart with
//! everything present.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use bedrock_operator::api::BedrockCustomModel;
use kube::api::Api;
use serde::Serialize;

use super::counters::{
    ApiserverWrites, LifecycleCost, Snapshot, bedrock_by_operation, lifecycle_cost,
};
use super::operator::Usage;
use super::resources::{create_all, delete_all, wait_all_gone, wait_all_ready};
use super::{Bench, POLL, compact, plot};

/// One convergence run (`convergence[]` in results.json).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Convergence {
    pub resources: usize,
    pub namespace: String,
    /// Spawn to /readyz 200 with no resource yet.
    pub readyz_empty_seconds: f64,
    pub apply_seconds: f64,
    /// `None` when not all became Ready by the deadline.
    pub all_ready_seconds: Option<f64>,
    pub ready_at_end: usize,
    /// N / create rate + Creating.
    pub floor_seconds: f64,
    /// Time until all Ready over the floor; NaN (null) when not all became Ready.
    pub ratio: f64,
    /// (seconds since the first POST, Ready count).
    pub timeline: Vec<(f64, usize)>,
    pub delete_seconds: f64,
    pub models_left: usize,
    pub cost_per_model: LifecycleCost,
    /// The idle window (largest N only, unless `--idle 0s`).
    pub steady_state: Option<SteadyState>,
    /// The restart with everything present (largest N only).
    pub restart: Option<Restart>,
    /// Of the operator that deleted them (the restarted one for the largest N).
    #[serde(rename = "peakRssMiB")]
    pub peak_rss_mib: f64,
}

/// What the converged operator did while nothing changed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SteadyState {
    pub idle_seconds: f64,
    #[serde(flatten)]
    pub writes: ApiserverWrites,
    pub bedrock_calls: BTreeMap<String, f64>,
    pub cpu_seconds: f64,
}

impl SteadyState {
    fn between(start: &Snapshot, end: &Snapshot) -> Self {
        Self {
            idle_seconds: end.at.duration_since(start.at).as_secs_f64(),
            writes: ApiserverWrites::between(start, end),
            bedrock_calls: bedrock_by_operation(&start.bedrock, &end.bedrock),
            cpu_seconds: end.cpu - start.cpu,
        }
    }
}

/// A SIGKILLed operator's successor with every resource present.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Restart {
    pub resources_present: usize,
    pub readyz_seconds: f64,
    #[serde(rename = "peakRssMiBConvergence")]
    pub peak_rss_mib_convergence: f64,
    #[serde(rename = "peakRssMiBAfterRestart30s")]
    pub peak_rss_mib_after_restart_30s: f64,
}

/// How long the restarted operator re-checks what it found before its peak RSS is read.
const RESTART_SETTLE: Duration = Duration::from_secs(30);
/// The longest the counters may keep moving after the last Ready or the last deletion.
const QUIET_CAP: Duration = Duration::from_secs(30);

impl Bench<'_> {
    /// a–d for one size: apply `size` at once, time to all Ready, costs; for the largest size
    /// also the idle window and a restart with everything present; then delete all.
    pub(super) async fn convergence(&self, size: usize, largest: bool) -> Result<Convergence> {
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
        let floor = size as f64 / a.common.create_rate + a.common.creating.as_secs_f64();
        let deadline = Duration::from_secs_f64(floor * 3.0 + 120.0);
        let timeline = wait_all_ready(&api, size, started, deadline, POLL, false).await?;
        let (converged, ready_count) = timeline.last().copied().unwrap_or_default();
        let all_ready = ready_count >= size;
        self.settle(&emulator, &operator, QUIET_CAP).await?;
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
        plot::convergence(
            &self.out.join(format!("ready-{size}.svg")),
            &timeline,
            size,
            a.common.create_rate,
            a.common.creating.as_secs_f64(),
        )?;

        let mut steady_state = None;
        let mut restart = None;
        if largest && all_ready {
            if !a.idle.is_zero() {
                println!("bench: idle for {:?}", a.idle);
                let idle_start = self.snapshot(&emulator, Some(&operator)).await?;
                // The window measured: nothing changes meanwhile.
                tokio::time::sleep(a.idle).await;
                let idle_end = self.snapshot(&emulator, Some(&operator)).await?;
                let steady = SteadyState::between(&idle_start, &idle_end);
                println!("bench: steady state {}", compact(&steady));
                steady_state = Some(steady);
            }
            let peak = operator.peak_rss_mib();
            operator.kill().await.ok();
            let mut restarted =
                self.spawn(&namespace, &emulator, &[], &format!("{size}-restart"))?;
            let ready = restarted.wait_ready(Duration::from_secs(120)).await?;
            // Let it re-check what it found before reading its peak.
            tokio::time::sleep(RESTART_SETTLE).await;
            let figures = Restart {
                resources_present: size,
                readyz_seconds: ready.as_secs_f64(),
                peak_rss_mib_convergence: peak,
                peak_rss_mib_after_restart_30s: restarted.peak_rss_mib(),
            };
            println!("bench: restart {}", compact(&figures));
            restart = Some(figures);
            operator = restarted;
        }

        let before_delete = self.snapshot(&emulator, Some(&operator)).await?;
        delete_all(&api, &names).await?;
        let deleted_at = Instant::now();
        wait_all_gone(&api, deadline, false).await?;
        let deleted = deleted_at.elapsed().as_secs_f64();
        self.settle(&emulator, &operator, QUIET_CAP).await?;
        let gone = self.snapshot(&emulator, Some(&operator)).await?;
        let peak_rss = operator.peak_rss_mib();
        operator.kill().await.ok();
        let left = emulator.models().iter().filter(|m| !m.foreign).count();

        let cost = lifecycle_cost(size, &before, &after, &before_delete, &gone);
        println!("bench: cost per lifecycle {}", compact(&cost));
        Ok(Convergence {
            resources: size,
            namespace,
            readyz_empty_seconds: ready_empty.as_secs_f64(),
            apply_seconds: applied.as_secs_f64(),
            all_ready_seconds: all_ready.then_some(converged),
            ready_at_end: ready_count,
            floor_seconds: floor,
            ratio,
            timeline,
            delete_seconds: deleted,
            models_left: left,
            cost_per_model: cost,
            steady_state,
            restart,
            peak_rss_mib: peak_rss,
        })
    }
}
