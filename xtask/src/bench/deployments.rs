//! g: what a BedrockCustomModelDeployment lifecycle costs. N deployments, each on a model of
//! its own (the models Active first), created at once and run to Ready; an idle window; a
//! rollout (each deployment's modelRef pointed at a second model) to UpdateCompleted; then
//! deleted. Per window: the operator's writes per deployment (from a watch, and from the API
//! server's request counters), Bedrock calls per deployment by operation, events and CPU; and
//! the time from each POST (or PATCH) to Ready (or rolled out).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bedrock_emulator::{
    Counters, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig, Limits, Operation,
};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::deployment::BedrockCustomModelDeployment;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde::Serialize;
use serde_json::json;

use super::counters::{
    EVENT_VERBS, Snapshot, WRITE_VERBS, bedrock_by_operation, write_kind, writes,
};
use super::polling::percentile;
use super::resources::{create_all, delete_all, wait_all_gone, wait_all_ready};
use super::versions::{Change, Recorder, Spread, Version, first_seen, operator_writes};
use super::{Bench, POLL, compact};

/// Goal: the operator's writes to a deployment from its create to Ready (finalizer, Creating,
/// Active).
pub(super) const GOAL_WRITES_TO_READY: f64 = 3.0;
/// Goal: writes while nothing changes.
pub(super) const GOAL_IDLE_WRITES: f64 = 0.0;
/// Creates, PATCHes and DELETEs in flight at once.
const IN_FLIGHT: usize = 32;
/// The longest the counters may keep moving after the last change a window waited for.
const QUIET_CAP: Duration = Duration::from_secs(30);
/// Added to three times the emulator's delay for the waits on Ready and on the rollout.
const WAIT_SLACK: Duration = Duration::from_secs(120);
const RESOURCE: &str = "bedrockcustommodeldeployments";

/// The deployment section (`deployments` in results.json).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Deployments {
    pub deployments: usize,
    pub namespace: String,
    /// Flags added to the bench's operator flags for this section.
    pub extra_operator_flags: Vec<String>,
    pub deployment_creating_seconds: f64,
    pub deployment_updating_seconds: f64,
    /// The 2N models (one per deployment and one each rolls out to) Active, from their POST.
    pub models_ready_seconds: f64,
    pub apply_seconds: f64,
    /// From the first POST until every deployment was Ready.
    pub all_ready_seconds: f64,
    /// Per deployment, its POST to the first version with Ready True.
    pub time_to_ready: Latency,
    /// From the first modelRef PATCH until every deployment served its new model.
    pub all_rolled_out_seconds: f64,
    /// Per deployment, its PATCH to the first version with UpdateCompleted on the new model.
    pub time_to_rollout: Latency,
    /// From the first DELETE until every deployment was gone.
    pub delete_seconds: f64,
    /// Left in the emulator after the deployments and then the models were deleted.
    pub bedrock_deployments_left: usize,
    pub models_left: usize,
    pub phases: DeploymentPhases,
    /// create → Ready + rollout + delete (the idle window is in none of them).
    pub lifecycle: PhaseCost,
    pub goals: DeploymentGoals,
}

/// p50, p99 and max of per-deployment durations, in seconds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Latency {
    pub p50_seconds: Option<f64>,
    pub p99_seconds: Option<f64>,
    pub max_seconds: Option<f64>,
}

impl Latency {
    /// Each `end` minus its `start`.
    fn between(start: &BTreeMap<String, Instant>, end: &BTreeMap<String, Instant>) -> Self {
        let mut seconds: Vec<f64> = end
            .iter()
            .filter_map(|(name, at)| {
                let from = start.get(name)?;
                Some(at.saturating_duration_since(*from).as_secs_f64())
            })
            .collect();
        seconds.sort_by(f64::total_cmp);
        Self {
            p50_seconds: percentile(&seconds, 0.5),
            p99_seconds: percentile(&seconds, 0.99),
            max_seconds: seconds.last().copied(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeploymentPhases {
    pub create_to_ready: PhaseCost,
    /// Absent with `--deployment-idle 0s`.
    pub idle: Option<PhaseCost>,
    pub rollout: PhaseCost,
    pub delete: PhaseCost,
}

/// What one window (or several, summed) cost, per deployment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PhaseCost {
    pub seconds: f64,
    /// The operator's writes that made a new version of a deployment, counted per deployment
    /// from the watch.
    pub writes: Spread,
    /// Write requests to bedrockcustommodeldeployments per deployment (apiserver_request_total,
    /// the benchmark's own modelRef PATCHes taken out): also those that changed nothing.
    pub write_requests_per_deployment: f64,
    /// finalizer, status, other.
    pub write_requests_by_kind: BTreeMap<String, f64>,
    pub write_requests_by_verb: BTreeMap<String, f64>,
    /// Events of both kinds (the models are settled meanwhile).
    pub event_writes_per_deployment: f64,
    /// All operations, throttled calls included.
    pub bedrock_calls_per_deployment: f64,
    pub bedrock_calls_by_operation: BTreeMap<String, f64>,
    /// Of those, answered ThrottlingException by the emulator's token buckets.
    pub throttled_calls_per_deployment: f64,
    pub cpu_seconds_per_deployment: f64,
}

/// The section's goals, judged on the worst deployment and on the request counters.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeploymentGoals {
    /// Every deployment ≤ 3 writes from create to Ready, and ≤ 3 write requests per deployment.
    pub writes_to_ready_met: bool,
    /// No write in the idle window (`None` without one).
    pub idle_writes_met: Option<bool>,
}

/// One measured window: its snapshots and the benchmark's own write requests in it.
struct Window<'a> {
    start: &'a Snapshot,
    end: &'a Snapshot,
    own_patches: f64,
}

impl PhaseCost {
    fn over(windows: &[Window<'_>], versions: &[Version], names: &[String]) -> Self {
        let n = names.len().max(1) as f64;
        let mut seconds = 0.0;
        let mut per_deployment: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_verb: BTreeMap<String, f64> = BTreeMap::new();
        let mut events = 0.0;
        let mut calls: BTreeMap<String, f64> = BTreeMap::new();
        let mut throttled = 0.0;
        let mut cpu = 0.0;
        for w in windows {
            seconds += w.end.at.duration_since(w.start.at).as_secs_f64();
            for (name, count) in operator_writes(versions, names, w.start.at, w.end.at) {
                *per_deployment.entry(name).or_default() += count;
            }
            let mut requests = writes(&w.start.apiserver, &w.end.apiserver, RESOURCE, WRITE_VERBS);
            if let Some(patches) = requests.get_mut("PATCH") {
                *patches -= w.own_patches;
            }
            for (verb, count) in requests {
                *by_verb.entry(verb).or_default() += count;
            }
            events +=
                total(writes(&w.start.apiserver, &w.end.apiserver, "events", EVENT_VERBS).values());
            for (op, count) in bedrock_by_operation(&w.start.bedrock, &w.end.bedrock) {
                *calls.entry(op).or_default() += count;
            }
            for op in Operation::ALL {
                let count = |c: &Counters| c.get(op, "ThrottlingException");
                throttled += count(&w.end.bedrock).saturating_sub(count(&w.start.bedrock)) as f64;
            }
            cpu += (w.end.cpu - w.start.cpu).max(0.0);
        }
        by_verb.retain(|_, v| *v > 0.0);
        let mut by_kind: BTreeMap<String, f64> = ["finalizer", "status", "other"]
            .iter()
            .map(|k| (k.to_string(), 0.0))
            .collect();
        for (verb, count) in &by_verb {
            *by_kind.entry(write_kind(verb).to_string()).or_default() += count / n;
        }
        let per = |map: BTreeMap<String, f64>| -> BTreeMap<String, f64> {
            map.into_iter().map(|(k, v)| (k, v / n)).collect()
        };
        Self {
            seconds,
            writes: Spread::of(&per_deployment),
            write_requests_per_deployment: total(by_verb.values()) / n,
            write_requests_by_kind: by_kind,
            write_requests_by_verb: per(by_verb),
            event_writes_per_deployment: events / n,
            bedrock_calls_per_deployment: total(calls.values()) / n,
            bedrock_calls_by_operation: per(calls),
            throttled_calls_per_deployment: throttled / n,
            cpu_seconds_per_deployment: cpu / n,
        }
    }
}

/// The sum, 0 when empty (an empty `sum` of floats is -0).
fn total<'a>(values: impl Iterator<Item = &'a f64>) -> f64 {
    values.fold(0.0, |sum, v| sum + v)
}

impl Bench<'_> {
    /// The operator flags this section adds: a shorter resync and tag check when asked for.
    pub(super) fn deployment_flags(&self) -> Vec<String> {
        match self.args.deployments.deployment_resync {
            Some(resync) => {
                let every = format!("{}ms", resync.as_millis());
                vec![
                    "--resync".into(),
                    every.clone(),
                    "--tag-check-interval".into(),
                    every,
                ]
            }
            None => Vec::new(),
        }
    }

    /// g: N deployments created, idle, rolled out and deleted.
    pub(super) async fn deployments(&self) -> Result<Deployments> {
        let options = &self.args.deployments;
        let size = options.deployments;
        println!("\nbench: {size} deployments, one model each");
        let namespace = self.plane.create_namespace("bench-deployments").await?;
        let emulator = self.deployment_emulator(size).await?;
        let extra = self.deployment_flags();
        let extra_refs: Vec<&str> = extra.iter().map(String::as_str).collect();
        let mut operator = self.spawn(&namespace, &emulator, &extra_refs, "deployments")?;
        operator.wait_ready(Duration::from_secs(60)).await?;
        let result = self
            .deployment_lifecycle(size, &namespace, &emulator, &operator)
            .await
            .with_context(|| {
                format!(
                    "operator log: {}",
                    self.out.join("operator-deployments.log").display()
                )
            });
        operator.kill().await.ok();
        result
    }

    async fn deployment_emulator(&self, size: usize) -> Result<EmulatorHandle> {
        let options = &self.args.deployments;
        Ok(Emulator::start(EmulatorConfig {
            ready_delay: self.args.common.creating,
            deployment_ready_delay: options.deployment_creating,
            deployment_update_delay: options.deployment_updating,
            limits: Limits {
                max_models: 1_000_000,
                max_deployments: size.max(1) * 2,
                ..Limits::default()
            },
            faults: FaultConfig {
                rate_limits: self.rate_limits(),
                ..FaultConfig::default()
            },
            seed: Some(size as u64),
            ..EmulatorConfig::default()
        })
        .await?)
    }

    async fn deployment_lifecycle(
        &self,
        size: usize,
        namespace: &str,
        emulator: &EmulatorHandle,
        operator: &testkit::operator::Operator,
    ) -> Result<Deployments> {
        let options = &self.args.deployments;
        let client = self.plane.client();
        let models: Api<BedrockCustomModel> = Api::namespaced(client.clone(), namespace);
        let api: Api<BedrockCustomModelDeployment> = Api::namespaced(client, namespace);
        let names: Vec<String> = (0..size).map(|i| format!("dep-{i:04}")).collect();
        let first_models: Vec<String> = (0..size).map(|i| format!("dm-{i:04}-a")).collect();
        let second_models: Vec<String> = (0..size).map(|i| format!("dm-{i:04}-b")).collect();
        let all_models: Vec<String> = first_models.iter().chain(&second_models).cloned().collect();

        // The models first, so that the deployments' windows hold nothing of theirs.
        let started = Instant::now();
        create_all(&models, &all_models).await?;
        let models_deadline =
            Duration::from_secs_f64(all_models.len() as f64 / self.args.common.create_rate * 3.0)
                + self.args.common.creating * 3
                + WAIT_SLACK;
        let timeline = wait_all_ready(
            &models,
            all_models.len(),
            started,
            models_deadline,
            POLL,
            false,
        )
        .await?;
        let models_ready = timeline.last().copied().unwrap_or_default();
        anyhow::ensure!(
            models_ready.1 >= all_models.len(),
            "only {} of {} models Ready",
            models_ready.1,
            all_models.len()
        );
        self.settle(emulator, operator, QUIET_CAP).await?;
        println!(
            "bench: {} models Ready after {:.1} s",
            all_models.len(),
            models_ready.0
        );

        let recorder = Recorder::start(api.clone()).await?;

        // create → Ready
        let before = self.snapshot(emulator, Some(operator)).await?;
        let posted = post_all(&api, &names, &first_models).await?;
        let applied = before.at.elapsed();
        recorder
            .wait_all(
                "Ready",
                &names,
                options.deployment_creating * 3 + WAIT_SLACK,
                |v| v.ready,
            )
            .await?;
        let all_ready = before.at.elapsed();
        self.settle(emulator, operator, QUIET_CAP).await?;
        let ready = self.snapshot(emulator, Some(operator)).await?;
        println!(
            "bench: {size} deployments Ready after {:.1} s",
            all_ready.as_secs_f64()
        );

        // idle
        let idle = if options.deployment_idle.is_zero() {
            None
        } else {
            println!("bench: idle for {:?}", options.deployment_idle);
            let start = self.snapshot(emulator, Some(operator)).await?;
            // The window measured: nothing changes meanwhile.
            tokio::time::sleep(options.deployment_idle).await;
            let end = self.snapshot(emulator, Some(operator)).await?;
            Some((start, end))
        };

        // rollout
        let before_rollout = self.snapshot(emulator, Some(operator)).await?;
        let patched = patch_all(&api, &names, &second_models).await?;
        recorder
            .wait_all(
                "rolled out",
                &names,
                options.deployment_updating * 3 + WAIT_SLACK,
                |v| v.rolled_out,
            )
            .await?;
        let all_rolled_out = before_rollout.at.elapsed();
        self.settle(emulator, operator, QUIET_CAP).await?;
        let rolled_out = self.snapshot(emulator, Some(operator)).await?;
        println!(
            "bench: {size} deployments rolled out after {:.1} s",
            all_rolled_out.as_secs_f64()
        );

        // delete
        let before_delete = self.snapshot(emulator, Some(operator)).await?;
        delete_each(&api, &names).await?;
        recorder
            .wait_all("deleted", &names, WAIT_SLACK, |v| {
                v.change == Change::Deleted
            })
            .await?;
        let deleted = before_delete.at.elapsed();
        self.settle(emulator, operator, QUIET_CAP).await?;
        let gone = self.snapshot(emulator, Some(operator)).await?;
        let versions = recorder.stop().await?;
        let bedrock_deployments_left = emulator.state().deployments().len();

        delete_all(&models, &all_models).await?;
        wait_all_gone(&models, WAIT_SLACK, false).await?;
        let models_left = emulator.models().iter().filter(|m| !m.foreign).count();

        let window = |start, end, own_patches| Window {
            start,
            end,
            own_patches,
        };
        let create_window = window(&before, &ready, 0.0);
        let rollout_window = window(&before_rollout, &rolled_out, patched.len() as f64);
        let delete_window = window(&before_delete, &gone, 0.0);
        let create = PhaseCost::over(std::slice::from_ref(&create_window), &versions, &names);
        let idle = idle
            .as_ref()
            .map(|(start, end)| PhaseCost::over(&[window(start, end, 0.0)], &versions, &names));
        let rollout = PhaseCost::over(std::slice::from_ref(&rollout_window), &versions, &names);
        let delete = PhaseCost::over(std::slice::from_ref(&delete_window), &versions, &names);
        let lifecycle = PhaseCost::over(
            &[create_window, rollout_window, delete_window],
            &versions,
            &names,
        );

        let ready_seen = first_seen(&versions, &names, before.at, ready.at, |v| v.ready);
        let rolled_out_seen =
            first_seen(&versions, &names, before_rollout.at, rolled_out.at, |v| {
                v.rolled_out
            });
        let goals = DeploymentGoals {
            writes_to_ready_met: create.writes.max as f64 <= GOAL_WRITES_TO_READY
                && create.write_requests_per_deployment <= GOAL_WRITES_TO_READY,
            idle_writes_met: idle.as_ref().map(|i| {
                i.writes.max as f64 <= GOAL_IDLE_WRITES
                    && i.write_requests_per_deployment <= GOAL_IDLE_WRITES
            }),
        };
        let figures = Deployments {
            deployments: size,
            namespace: namespace.to_string(),
            extra_operator_flags: self.deployment_flags(),
            deployment_creating_seconds: options.deployment_creating.as_secs_f64(),
            deployment_updating_seconds: options.deployment_updating.as_secs_f64(),
            models_ready_seconds: models_ready.0,
            apply_seconds: applied.as_secs_f64(),
            all_ready_seconds: all_ready.as_secs_f64(),
            time_to_ready: Latency::between(&posted, &ready_seen),
            all_rolled_out_seconds: all_rolled_out.as_secs_f64(),
            time_to_rollout: Latency::between(&patched, &rolled_out_seen),
            delete_seconds: deleted.as_secs_f64(),
            bedrock_deployments_left,
            models_left,
            phases: DeploymentPhases {
                create_to_ready: create,
                idle,
                rollout,
                delete,
            },
            lifecycle,
            goals,
        };
        println!("bench: deployments {}", compact(&figures.phases));
        Ok(figures)
    }
}

fn deployment(name: &str, model: &str) -> Result<BedrockCustomModelDeployment> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModelDeployment",
        "metadata": { "name": name },
        "spec": {
            "modelRef": { "name": model },
            "tags": { "bench": "deployments" },
            "deletionPolicy": "Delete",
        },
    }))?)
}

/// Runs `request` for each (deployment, model) pair, 32 at a time; when each one was sent.
async fn each<F, Fut>(
    names: &[String],
    models: &[String],
    request: F,
) -> Result<BTreeMap<String, Instant>>
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for (name, model) in names.iter().zip(models) {
        let limit = Arc::clone(&limit);
        let sent = request(name.clone(), model.clone());
        let name = name.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let at = Instant::now();
            sent.await?;
            anyhow::Ok((name, at))
        });
    }
    let mut sent = BTreeMap::new();
    while let Some(result) = tasks.join_next().await {
        let (name, at) = result??;
        sent.insert(name, at);
    }
    Ok(sent)
}

/// POSTs every deployment, on its first model.
async fn post_all(
    api: &Api<BedrockCustomModelDeployment>,
    names: &[String],
    models: &[String],
) -> Result<BTreeMap<String, Instant>> {
    each(names, models, |name, model| {
        let api = api.clone();
        async move {
            api.create(&PostParams::default(), &deployment(&name, &model)?)
                .await?;
            Ok(())
        }
    })
    .await
}

/// Points every deployment's modelRef at its second model (a merge PATCH of the spec: the
/// write a person or a GitOps tool makes).
async fn patch_all(
    api: &Api<BedrockCustomModelDeployment>,
    names: &[String],
    models: &[String],
) -> Result<BTreeMap<String, Instant>> {
    each(names, models, |name, model| {
        let api = api.clone();
        async move {
            let change = json!({ "spec": { "modelRef": { "name": model } } });
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&change))
                .await?;
            Ok(())
        }
    })
    .await
}

async fn delete_each(api: &Api<BedrockCustomModelDeployment>, names: &[String]) -> Result<()> {
    each(names, names, |name, _| {
        let api = api.clone();
        async move {
            api.delete(&name, &DeleteParams::default()).await?;
            Ok(())
        }
    })
    .await?;
    Ok(())
}
