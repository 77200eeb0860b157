//! What the benchmark counts: Bedrock calls (the emulator's counters), API-server requests
//! (kube-apiserver's `apiserver_request_total`) and the operator's CPU, in snapshots; the
//! differences between two snapshots as figures per model, per window or while idle.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use bedrock_emulator::{Counters, EmulatorHandle, Operation};
use serde::Serialize;
use testkit::ControlPlane;
use testkit::operator::Operator;

use super::Bench;
use super::operator::Usage;

/// `apiserver_request_total` summed by (verb, resource, subresource).
pub(super) type RequestTotals = BTreeMap<(String, String, String), f64>;

/// What the operator writes to the API server (leases only with --leader-election).
const OPERATOR_RESOURCES: &[&str] = &[
    "bedrockcustommodels",
    "bedrockcustommodeldeployments",
    "bedrockprovisionedthroughputs",
    "events",
];

pub(super) const WRITE_VERBS: &[&str] = &["PATCH", "APPLY", "UPDATE"];

/// The operator creates events (and may patch them when it aggregates).
pub(super) const EVENT_VERBS: &[&str] = &["POST", "CREATE", "PATCH", "APPLY", "UPDATE"];

/// One snapshot of everything counted.
pub(super) struct Snapshot {
    pub at: Instant,
    pub bedrock: Counters,
    pub apiserver: RequestTotals,
    pub cpu: f64,
}

/// What `Bench::wait_quiet` saw.
pub(super) struct Quiet {
    /// From `since` to the last change of the counters.
    pub last_activity: Duration,
    /// False when it stopped at the cap.
    pub went_quiet: bool,
    /// (seconds since `since`, VmRSS MiB) once a second.
    pub rss: Vec<(f64, f64)>,
}

impl Bench<'_> {
    /// Counters now; CPU 0 without an operator (one about to be started).
    pub(super) async fn snapshot(
        &self,
        emulator: &EmulatorHandle,
        operator: Option<&Operator>,
    ) -> Result<Snapshot> {
        snapshot(
            self.plane,
            emulator,
            operator.map(Usage::cpu_seconds).unwrap_or(0.0),
        )
        .await
    }

    /// [`wait_quiet`], recording the operator's RSS at each sample.
    pub(super) async fn wait_quiet(
        &self,
        emulator: &EmulatorHandle,
        operator: Option<&Operator>,
        since: Instant,
        min: Duration,
        quiet: Duration,
        cap: Duration,
    ) -> Result<Quiet> {
        let mut rss = Vec::new();
        let mut window = wait_quiet(self.plane, emulator, since, min, quiet, cap, |at| {
            if let Some(operator) = operator {
                rss.push((at, operator.rss_mib()));
            }
        })
        .await?;
        window.rss = rss;
        Ok(window)
    }

    /// [`Bench::wait_quiet`] right now: until 3 s without activity, at most `cap`. Writes that
    /// follow the last change a phase waited for (events, a trailing status patch) belong to
    /// that phase.
    pub(super) async fn settle(
        &self,
        emulator: &EmulatorHandle,
        operator: &Operator,
        cap: Duration,
    ) -> Result<()> {
        self.wait_quiet(
            emulator,
            Some(operator),
            Instant::now(),
            Duration::ZERO,
            Duration::from_secs(3),
            cap,
        )
        .await?;
        Ok(())
    }
}

/// The emulator's counters and the API server's request totals now, with `cpu` seconds.
pub(super) async fn snapshot(
    plane: &ControlPlane,
    emulator: &EmulatorHandle,
    cpu: f64,
) -> Result<Snapshot> {
    Ok(Snapshot {
        at: Instant::now(),
        bedrock: emulator.counters(),
        apiserver: request_totals(&plane.apiserver_metrics_text().await?),
        cpu,
    })
}

/// Samples once a second until neither the emulator's call counters nor the operator's
/// API-server writes moved for `quiet` (but not before `min` since `since`), or until `cap`
/// since `since`; calls `on_sample` with the seconds since `since` at each sample. `rss` of the
/// result is left empty.
pub(super) async fn wait_quiet(
    plane: &ControlPlane,
    emulator: &EmulatorHandle,
    since: Instant,
    min: Duration,
    quiet: Duration,
    cap: Duration,
    mut on_sample: impl FnMut(f64),
) -> Result<Quiet> {
    let mut last = activity(&snapshot(plane, emulator, 0.0).await?);
    let mut last_change = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = activity(&snapshot(plane, emulator, 0.0).await?);
        on_sample(since.elapsed().as_secs_f64());
        if now != last {
            last = now;
            last_change = Instant::now();
        }
        let went_quiet = last_change.elapsed() >= quiet && since.elapsed() >= min;
        if went_quiet || since.elapsed() >= cap {
            return Ok(Quiet {
                last_activity: last_change.saturating_duration_since(since),
                went_quiet,
                rss: Vec::new(),
            });
        }
    }
}

/// Everything that counts as activity: all Bedrock calls, and the operator's writes to the
/// API server (the benchmark's own POSTs and DELETEs of resources are not counted; its PATCH
/// of a deployment's or throughput's modelRef is, and comes before the wait).
fn activity(snapshot: &Snapshot) -> (u64, u64) {
    let bedrock = Operation::ALL
        .iter()
        .map(|op| snapshot.bedrock.total(*op))
        .sum();
    let writes = snapshot
        .apiserver
        .iter()
        .filter(|((verb, resource, _), _)| match resource.as_str() {
            "bedrockcustommodels"
            | "bedrockcustommodeldeployments"
            | "bedrockprovisionedthroughputs" => WRITE_VERBS.contains(&verb.as_str()),
            "events" => EVENT_VERBS.contains(&verb.as_str()),
            _ => false,
        })
        .map(|(_, v)| *v)
        .sum::<f64>();
    (bedrock, writes as u64)
}

/// `apiserver_request_total` summed by (verb, resource, subresource).
pub(super) fn request_totals(text: &str) -> RequestTotals {
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

/// Operator writes (PATCH, APPLY, UPDATE) to a resource, by subresource ("" = the object
/// itself). The benchmark itself only POSTs and DELETEs, except for the modelRef PATCHes of
/// the lifecycle sections' swaps, which those sections take out.
pub(super) fn writes(
    before: &RequestTotals,
    after: &RequestTotals,
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

/// The kind of a write to one of the operator's resources, from its
/// `writes` key: a PATCH or APPLY of the object itself is metadata, which the operator only
/// touches for its finalizer; a write to the status subresource is a status write; anything
/// else (UPDATE, other subresources) is other.
pub(super) fn write_kind(key: &str) -> &'static str {
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
pub(super) fn bedrock_by_operation(before: &Counters, after: &Counters) -> BTreeMap<String, f64> {
    let mut calls = BTreeMap::new();
    for op in Operation::ALL {
        let n = bedrock_diff(before, after, op, None);
        if n > 0.0 {
            calls.insert(op.to_string(), n);
        }
    }
    calls
}

/// API-server writes between two snapshots. The operator writes only OPERATOR_RESOURCES; the
/// API server writes endpoints and leases of its own on a timer.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiserverWrites {
    /// By the operator, in total.
    pub apiserver_writes: f64,
    /// The operator's, by "VERB resource subresource".
    pub apiserver_writes_by: BTreeMap<String, f64>,
    /// Everyone else's.
    pub other_apiserver_writes: BTreeMap<String, f64>,
}

impl ApiserverWrites {
    pub(super) fn between(start: &Snapshot, end: &Snapshot) -> Self {
        let mut writes = Self::default();
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
                    writes.apiserver_writes += diff;
                    writes.apiserver_writes_by.insert(key, diff);
                } else {
                    writes.other_apiserver_writes.insert(key, diff);
                }
            }
        }
        writes
    }
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

/// Bedrock calls, API-server writes and CPU per model over a window (`costPerModel` and its
/// `phases` in results.json).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CostPerModel {
    pub create_accepted_per_model: f64,
    pub create_calls_per_model: f64,
    pub create_throttled_total: f64,
    pub throttled_total: f64,
    pub get_per_model: f64,
    pub list_per_model: f64,
    pub list_tags_per_model: f64,
    pub bedrock_reads_per_model: f64,
    pub delete_per_model: f64,
    pub tagging_calls_per_model: f64,
    pub bcm_writes_per_model: f64,
    pub bcm_writes_by_verb: BTreeMap<String, f64>,
    /// finalizer, status, other.
    pub bcm_writes_by_kind: BTreeMap<String, f64>,
    pub event_writes_per_model: f64,
    pub event_writes_by_verb: BTreeMap<String, f64>,
    pub cpu_seconds_per_model: f64,
}

/// The whole lifecycle's [`CostPerModel`] (create → all Ready plus delete → all gone), and
/// each window on its own.
#[derive(Debug, Clone, Serialize)]
pub(super) struct LifecycleCost {
    #[serde(flatten)]
    pub lifecycle: CostPerModel,
    pub phases: Phases,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Phases {
    pub create_to_ready: CostPerModel,
    pub delete: CostPerModel,
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

    fn per_model(&self, size: usize) -> CostPerModel {
        let n = size.max(1) as f64;
        let per = |map: &BTreeMap<String, f64>| {
            map.iter()
                .map(|(k, v)| (k.clone(), v / n))
                .collect::<BTreeMap<_, _>>()
        };
        let mut kinds: BTreeMap<String, f64> = ["finalizer", "status", "other"]
            .iter()
            .map(|k| (k.to_string(), 0.0))
            .collect();
        for (k, v) in &self.bcm {
            *kinds.entry(write_kind(k).to_string()).or_default() += v;
        }
        CostPerModel {
            create_accepted_per_model: self.created / n,
            create_calls_per_model: self.create_calls / n,
            create_throttled_total: self.create_throttled,
            throttled_total: self.throttled,
            get_per_model: self.gets / n,
            list_per_model: self.lists / n,
            list_tags_per_model: self.list_tags / n,
            bedrock_reads_per_model: (self.gets + self.lists + self.list_tags) / n,
            delete_per_model: self.deletes / n,
            tagging_calls_per_model: self.tagging / n,
            bcm_writes_per_model: self.bcm.values().sum::<f64>() / n,
            bcm_writes_by_verb: per(&self.bcm),
            bcm_writes_by_kind: per(&kinds),
            event_writes_per_model: self.events.values().sum::<f64>() / n,
            event_writes_by_verb: per(&self.events),
            cpu_seconds_per_model: self.cpu / n,
        }
    }
}

/// Per-model costs: the top-level figures cover the whole lifecycle (create → all Ready plus
/// delete → all gone); `phases` has each window on its own.
pub(super) fn lifecycle_cost(
    size: usize,
    before: &Snapshot,
    after: &Snapshot,
    before_delete: &Snapshot,
    gone: &Snapshot,
) -> LifecycleCost {
    let mut create = Costs::default();
    create.add(before, after);
    let mut delete = Costs::default();
    delete.add(before_delete, gone);
    let mut total = Costs::default();
    total.add(before, after);
    total.add(before_delete, gone);
    LifecycleCost {
        lifecycle: total.per_model(size),
        phases: Phases {
            create_to_ready: create.per_model(size),
            delete: delete.per_model(size),
        },
    }
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
}
