//! What one lifecycle of a kind costs (g: deployments, h: throughputs, i: imported models),
//! measured the same way for each: N objects, created at once and run to Ready; an idle
//! window; for a kind that serves a model, a swap; then deleted. An object of a serving kind
//! is on a model of its own (the models Active first), and its swap points its modelRef at a
//! second model of the same base until it serves the new model; a kind that serves no model
//! (imports) has no models and no swap window.
//! Per window: the operator's writes per object (from a watch, and from the API server's
//! request counters), Bedrock calls per object by operation, events and CPU; and the time from
//! each POST (or PATCH) to Ready (or swapped).
//!
//! A kind adds a [`Kind`]: its labels, whether it serves a model, the object it POSTs, the
//! emulator's delays and quota for it, and how many it left in Bedrock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bedrock_emulator::{
    Counters, Emulator, EmulatorConfig, EmulatorHandle, FaultConfig, Limits, Operation,
};
use bedrock_operator::api::BedrockCustomModel;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde::Serialize;
use serde_json::json;

use super::args::LifecycleOptions;
use super::counters::{
    EVENT_VERBS, Snapshot, WRITE_VERBS, bedrock_by_operation, write_kind, writes,
};
use super::polling::percentile;
use super::resources::{create_all, delete_all, wait_all_gone, wait_all_ready};
use super::versions::{Change, Recorder, Spread, Version, Watched, first_seen, operator_writes};
use super::{Bench, POLL, compact};

/// Goal: the operator's writes to an object from its create to Ready (finalizer, Creating,
/// and Active or InService).
pub(super) const GOAL_WRITES_TO_READY: f64 = 3.0;
/// Goal: writes while nothing changes.
pub(super) const GOAL_IDLE_WRITES: f64 = 0.0;
/// Creates, PATCHes and DELETEs in flight at once.
pub(super) const IN_FLIGHT: usize = 32;
/// The longest the counters may keep moving after the last change a window waited for.
const QUIET_CAP: Duration = Duration::from_secs(30);
/// Added to three times the emulator's delay for the waits on Ready and on the swap.
const WAIT_SLACK: Duration = Duration::from_secs(120);

/// A kind the lifecycle sections measure.
pub(super) trait Kind {
    type Object: Watched;
    const LABELS: Labels;
    /// Each object references a model (created before the objects and deleted after them)
    /// and swaps to a second one. False: the section creates no models and has no swap
    /// window, and leaves their figures out.
    const SERVES_MODEL: bool = true;
    /// The object `name` on `model`, as a user would write it (`model` is empty for a kind
    /// that serves none).
    fn object(name: &str, model: &str) -> Result<Self::Object>;
    /// The emulator's delays and quota for `options.objects` objects (each also swapping, for
    /// a kind that serves a model).
    fn configure(emulator: &mut EmulatorConfig, options: &LifecycleOptions);
    /// Objects of the kind still in the emulator.
    fn left_in_bedrock(emulator: &EmulatorHandle) -> usize;
}

/// How the figures and messages name a kind and its steps.
pub(super) struct Labels {
    /// "BedrockCustomModelDeployment"
    pub kind: &'static str,
    /// The resource as `apiserver_request_total` names it.
    pub resource: &'static str,
    /// "deployment", "deployments"
    pub one: &'static str,
    pub many: &'static str,
    /// Object names are `PREFIX-0000`, their models `MODEL_PREFIX-0000-a` and `-b`.
    pub prefix: &'static str,
    pub model_prefix: &'static str,
    /// The modelRef change: "rollout", "swap"; and done: "rolled out", "swapped" (unused for
    /// a kind that serves no model).
    pub swap: &'static str,
    pub swapped: &'static str,
    /// What the wait on the swap waits for.
    pub swapped_when: &'static str,
    /// What the emulator does while a new object is Creating: "deployments Creating",
    /// "import jobs InProgress".
    pub creating: &'static str,
    /// The writes the goal of 3 to Ready allows.
    pub ready_writes: &'static str,
}

/// A lifecycle section (`deployments`, `throughputs`, `imports` in results.json). Figures "per
/// object" are per deployment, throughput or import. The model and swap figures are absent
/// for a kind that serves no model.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Lifecycle {
    pub kind: &'static str,
    pub objects: usize,
    pub namespace: String,
    /// Flags added to the bench's operator flags for this section.
    pub extra_operator_flags: Vec<String>,
    pub creating_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updating_seconds: Option<f64>,
    /// The 2N models (one per object and one each swaps to) Active, from their POST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models_ready_seconds: Option<f64>,
    pub apply_seconds: f64,
    /// From the first POST until every object was Ready.
    pub all_ready_seconds: f64,
    /// Per object, its POST to the first version with Ready True.
    pub time_to_ready: Latency,
    /// From the first modelRef PATCH until every object served its new model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_swapped_seconds: Option<f64>,
    /// Per object, its PATCH to the first version serving the new model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_swap: Option<Latency>,
    /// From the first DELETE until every object was gone.
    pub delete_seconds: f64,
    /// Left in the emulator after the objects and then the models were deleted.
    pub left_in_bedrock: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models_left: Option<usize>,
    pub phases: Phases,
    /// create → Ready + swap (if any) + delete (the idle window is in none of them).
    pub lifecycle: PhaseCost,
    pub goals: Goals,
}

/// The section's settings (`settings.deployments`, `settings.throughputs`,
/// `settings.imports`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LifecycleSettings {
    pub objects: usize,
    pub idle_seconds: f64,
    pub creating_seconds: f64,
    /// Absent for a kind that serves no model (no swap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updating_seconds: Option<f64>,
    /// The flags this section adds to `operatorFlags`.
    pub extra_operator_flags: Vec<String>,
}

impl LifecycleSettings {
    pub(super) fn of<K: Kind>(options: &LifecycleOptions) -> Self {
        Self {
            objects: options.objects,
            idle_seconds: options.idle.as_secs_f64(),
            creating_seconds: options.creating.as_secs_f64(),
            updating_seconds: K::SERVES_MODEL.then_some(options.updating.as_secs_f64()),
            extra_operator_flags: extra_flags(options),
        }
    }
}

/// p50, p99 and max of per-object durations, in seconds.
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
pub(super) struct Phases {
    pub create_to_ready: PhaseCost,
    /// Absent without an idle window.
    pub idle: Option<PhaseCost>,
    /// Absent for a kind that serves no model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap: Option<PhaseCost>,
    pub delete: PhaseCost,
}

/// What one window (or several, summed) cost, per object.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PhaseCost {
    pub seconds: f64,
    /// The operator's writes that made a new version of an object, counted per object from
    /// the watch.
    pub writes: Spread,
    /// Write requests to the kind's resource per object (apiserver_request_total, the
    /// benchmark's own modelRef PATCHes taken out): also those that changed nothing.
    pub write_requests_per_object: f64,
    /// finalizer, status, other.
    pub write_requests_by_kind: BTreeMap<String, f64>,
    pub write_requests_by_verb: BTreeMap<String, f64>,
    /// Events of both kinds (the models are settled meanwhile).
    pub event_writes_per_object: f64,
    /// All operations, throttled calls included.
    pub bedrock_calls_per_object: f64,
    pub bedrock_calls_by_operation: BTreeMap<String, f64>,
    /// Of those, answered ThrottlingException by the emulator's token buckets.
    pub throttled_calls_per_object: f64,
    pub cpu_seconds_per_object: f64,
}

/// The section's goals, judged on the worst object and on the request counters.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Goals {
    /// Every object ≤ 3 writes from create to Ready, and ≤ 3 write requests per object.
    pub writes_to_ready_met: bool,
    /// No write in the idle window (`None` without one).
    pub idle_writes_met: Option<bool>,
}

impl Goals {
    fn judge(create: &PhaseCost, idle: Option<&PhaseCost>) -> Self {
        let within = |cost: &PhaseCost, goal: f64| {
            cost.writes.max as f64 <= goal && cost.write_requests_per_object <= goal
        };
        Self {
            writes_to_ready_met: within(create, GOAL_WRITES_TO_READY),
            idle_writes_met: idle.map(|i| within(i, GOAL_IDLE_WRITES)),
        }
    }
}

/// A serving kind's swap: the window's snapshots, when each object's modelRef PATCH was sent,
/// and how long after the first one every object was swapped.
struct Swap {
    start: Snapshot,
    patched: BTreeMap<String, Instant>,
    all: Duration,
    end: Snapshot,
}

/// One measured window: its snapshots and the benchmark's own write requests in it.
#[derive(Clone, Copy)]
struct Window<'a> {
    start: &'a Snapshot,
    end: &'a Snapshot,
    own_patches: f64,
}

impl PhaseCost {
    fn over(
        windows: &[Window<'_>],
        versions: &[Version],
        names: &[String],
        resource: &str,
    ) -> Self {
        let n = names.len().max(1) as f64;
        let mut seconds = 0.0;
        let mut per_object: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_verb: BTreeMap<String, f64> = BTreeMap::new();
        let mut events = 0.0;
        let mut calls: BTreeMap<String, f64> = BTreeMap::new();
        let mut throttled = 0.0;
        let mut cpu = 0.0;
        for w in windows {
            seconds += w.end.at.duration_since(w.start.at).as_secs_f64();
            for (name, count) in operator_writes(versions, names, w.start.at, w.end.at) {
                *per_object.entry(name).or_default() += count;
            }
            let mut requests = writes(&w.start.apiserver, &w.end.apiserver, resource, WRITE_VERBS);
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
            writes: Spread::of(&per_object),
            write_requests_per_object: total(by_verb.values()) / n,
            write_requests_by_kind: by_kind,
            write_requests_by_verb: per(by_verb),
            event_writes_per_object: events / n,
            bedrock_calls_per_object: total(calls.values()) / n,
            bedrock_calls_by_operation: per(calls),
            throttled_calls_per_object: throttled / n,
            cpu_seconds_per_object: cpu / n,
        }
    }
}

/// The sum, 0 when empty (an empty `sum` of floats is -0).
fn total<'a>(values: impl Iterator<Item = &'a f64>) -> f64 {
    values.fold(0.0, |sum, v| sum + v)
}

/// The operator flags a section adds: a shorter resync and tag check when asked for.
pub(super) fn extra_flags(options: &LifecycleOptions) -> Vec<String> {
    match options.resync {
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

impl Bench<'_> {
    /// N objects of kind `K` created, idle, swapped (if the kind serves a model) and deleted, in
    /// a namespace, emulator and operator of their own.
    pub(super) async fn lifecycle<K: Kind>(&self, options: LifecycleOptions) -> Result<Lifecycle> {
        let labels = &K::LABELS;
        let each = if K::SERVES_MODEL {
            ", one model each"
        } else {
            ""
        };
        println!("\nbench: {} {}{each}", options.objects, labels.many);
        let namespace = self
            .plane
            .create_namespace(&format!("bench-{}", labels.many))
            .await?;
        let emulator = self.lifecycle_emulator::<K>(&options).await?;
        let extra = extra_flags(&options);
        let extra_refs: Vec<&str> = extra.iter().map(String::as_str).collect();
        let mut operator = self.spawn(&namespace, &emulator, &extra_refs, labels.many)?;
        operator.wait_ready(Duration::from_secs(60)).await?;
        let result = self
            .run_lifecycle::<K>(&options, &namespace, &emulator, &operator)
            .await
            .with_context(|| {
                format!(
                    "operator log: {}",
                    self.out
                        .join(format!("operator-{}.log", labels.many))
                        .display()
                )
            });
        operator.kill().await.ok();
        result
    }

    async fn lifecycle_emulator<K: Kind>(
        &self,
        options: &LifecycleOptions,
    ) -> Result<EmulatorHandle> {
        let mut config = EmulatorConfig {
            ready_delay: self.args.common.creating,
            limits: Limits {
                max_models: 1_000_000,
                ..Limits::default()
            },
            faults: FaultConfig {
                rate_limits: self.rate_limits(),
                ..FaultConfig::default()
            },
            seed: Some(options.objects as u64),
            ..EmulatorConfig::default()
        };
        K::configure(&mut config, options);
        Ok(Emulator::start(config).await?)
    }

    async fn run_lifecycle<K: Kind>(
        &self,
        options: &LifecycleOptions,
        namespace: &str,
        emulator: &EmulatorHandle,
        operator: &testkit::operator::Operator,
    ) -> Result<Lifecycle> {
        let labels = &K::LABELS;
        let size = options.objects;
        let client = self.plane.client();
        let models: Api<BedrockCustomModel> = Api::namespaced(client.clone(), namespace);
        let api: Api<K::Object> = Api::namespaced(client, namespace);
        let names: Vec<String> = (0..size)
            .map(|i| format!("{}-{i:04}", labels.prefix))
            .collect();
        let model = |suffix: &str| -> Vec<String> {
            (0..size)
                .map(|i| format!("{}-{i:04}-{suffix}", labels.model_prefix))
                .collect()
        };
        // A serving kind's objects start on their first model and swap to their second; a kind
        // that serves none gets an empty model name and no models are made.
        let (first_models, second_models) = if K::SERVES_MODEL {
            (model("a"), model("b"))
        } else {
            (vec![String::new(); size], Vec::new())
        };
        let all_models: Vec<String> = if K::SERVES_MODEL {
            first_models.iter().chain(&second_models).cloned().collect()
        } else {
            Vec::new()
        };

        // The models first, so that the objects' windows hold nothing of theirs.
        let models_ready = if K::SERVES_MODEL {
            Some(
                self.models_ready(&models, &all_models, emulator, operator)
                    .await?,
            )
        } else {
            None
        };

        let recorder = Recorder::start(api.clone(), labels.many).await?;

        // create → Ready
        let before = self.snapshot(emulator, Some(operator)).await?;
        let posted = post_all::<K>(&api, &names, &first_models).await?;
        let applied = before.at.elapsed();
        recorder
            .wait_all("Ready", &names, options.creating * 3 + WAIT_SLACK, |v| {
                v.ready
            })
            .await?;
        let all_ready = before.at.elapsed();
        self.settle(emulator, operator, QUIET_CAP).await?;
        let ready = self.snapshot(emulator, Some(operator)).await?;
        println!(
            "bench: {size} {} Ready after {:.1} s",
            labels.many,
            all_ready.as_secs_f64()
        );

        // idle
        let idle = if options.idle.is_zero() {
            None
        } else {
            println!("bench: idle for {:?}", options.idle);
            let start = self.snapshot(emulator, Some(operator)).await?;
            // The window measured: nothing changes meanwhile.
            tokio::time::sleep(options.idle).await;
            let end = self.snapshot(emulator, Some(operator)).await?;
            Some((start, end))
        };

        // swap
        let swap = if K::SERVES_MODEL {
            let before_swap = self.snapshot(emulator, Some(operator)).await?;
            let patched = patch_all(&api, &names, &second_models).await?;
            recorder
                .wait_all(
                    labels.swapped,
                    &names,
                    options.updating * 3 + WAIT_SLACK,
                    |v| v.swapped,
                )
                .await?;
            let all_swapped = before_swap.at.elapsed();
            self.settle(emulator, operator, QUIET_CAP).await?;
            let swapped = self.snapshot(emulator, Some(operator)).await?;
            println!(
                "bench: {size} {} {} after {:.1} s",
                labels.many,
                labels.swapped,
                all_swapped.as_secs_f64()
            );
            Some(Swap {
                start: before_swap,
                patched,
                all: all_swapped,
                end: swapped,
            })
        } else {
            None
        };

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
        let left_in_bedrock = K::left_in_bedrock(emulator);

        let models_left = if K::SERVES_MODEL {
            delete_all(&models, &all_models).await?;
            wait_all_gone(&models, WAIT_SLACK, false).await?;
            Some(emulator.models().iter().filter(|m| !m.foreign).count())
        } else {
            None
        };

        let window = |start, end, own_patches| Window {
            start,
            end,
            own_patches,
        };
        let cost =
            |windows: &[Window<'_>]| PhaseCost::over(windows, &versions, &names, labels.resource);
        let create_window = window(&before, &ready, 0.0);
        let swap_window = swap
            .as_ref()
            .map(|s| window(&s.start, &s.end, s.patched.len() as f64));
        let delete_window = window(&before_delete, &gone, 0.0);
        let create = cost(&[create_window]);
        let idle = idle
            .as_ref()
            .map(|(start, end)| cost(&[window(start, end, 0.0)]));
        let swap_cost = swap_window.map(|w| cost(&[w]));
        let delete = cost(&[delete_window]);
        let lifecycle_windows: Vec<Window<'_>> = std::iter::once(create_window)
            .chain(swap_window)
            .chain([delete_window])
            .collect();
        let lifecycle = cost(&lifecycle_windows);

        let ready_seen = first_seen(&versions, &names, before.at, ready.at, |v| v.ready);
        let time_to_swap = swap.as_ref().map(|s| {
            let swapped_seen = first_seen(&versions, &names, s.start.at, s.end.at, |v| v.swapped);
            Latency::between(&s.patched, &swapped_seen)
        });
        let figures = Lifecycle {
            kind: labels.kind,
            objects: size,
            namespace: namespace.to_string(),
            extra_operator_flags: extra_flags(options),
            creating_seconds: options.creating.as_secs_f64(),
            updating_seconds: K::SERVES_MODEL.then_some(options.updating.as_secs_f64()),
            models_ready_seconds: models_ready,
            apply_seconds: applied.as_secs_f64(),
            all_ready_seconds: all_ready.as_secs_f64(),
            time_to_ready: Latency::between(&posted, &ready_seen),
            all_swapped_seconds: swap.as_ref().map(|s| s.all.as_secs_f64()),
            time_to_swap,
            delete_seconds: deleted.as_secs_f64(),
            left_in_bedrock,
            models_left,
            goals: Goals::judge(&create, idle.as_ref()),
            phases: Phases {
                create_to_ready: create,
                idle,
                swap: swap_cost,
                delete,
            },
            lifecycle,
        };
        println!("bench: {} {}", labels.many, compact(&figures.phases));
        Ok(figures)
    }

    /// POSTs the models of a serving kind's objects, waits until all are Active and the
    /// counters are quiet; how long after the first POST they were all Active.
    async fn models_ready(
        &self,
        models: &Api<BedrockCustomModel>,
        all_models: &[String],
        emulator: &EmulatorHandle,
        operator: &testkit::operator::Operator,
    ) -> Result<f64> {
        let started = Instant::now();
        create_all(models, all_models).await?;
        let models_deadline =
            Duration::from_secs_f64(all_models.len() as f64 / self.args.common.create_rate * 3.0)
                + self.args.common.creating * 3
                + WAIT_SLACK;
        let timeline = wait_all_ready(
            models,
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
        Ok(models_ready.0)
    }
}

/// Runs `request` for each (object, model) pair, 32 at a time; when each one was sent.
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

/// POSTs every object, on its first model.
async fn post_all<K: Kind>(
    api: &Api<K::Object>,
    names: &[String],
    models: &[String],
) -> Result<BTreeMap<String, Instant>> {
    each(names, models, |name, model| {
        let api = api.clone();
        let object = K::object(&name, &model);
        async move {
            api.create(&PostParams::default(), &object?).await?;
            Ok(())
        }
    })
    .await
}

/// Points every object's modelRef at its second model (a merge PATCH of the spec: the write a
/// person or a GitOps tool makes).
async fn patch_all<O: Watched>(
    api: &Api<O>,
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

async fn delete_each<O: Watched>(api: &Api<O>, names: &[String]) -> Result<()> {
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
