//! The sweep: one ListCustomModels call per region and interval finds the imports that ended,
//! instead of one GetCustomModel per Creating model per poll. Reconciles register each model
//! they see Creating; when a sweep no longer lists a registered model as Creating, its resource
//! is reconciled at once (which reads the model and reports Active or Failed). The models' own
//! polls stay on as a rare back-up, and take over when the sweep keeps failing in a region
//! (such as a policy without bedrock:ListCustomModels).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::reflector::ObjectRef;
use tracing::{debug, info, warn};

use crate::api::BedrockCustomModel;
use crate::bedrock::{Bedrock, ErrorClass, ModelState};
use crate::controller::Context;

pub type Reference = ObjectRef<DeserializeGuard<BedrockCustomModel>>;

/// The sweep's reference to a resource.
pub fn reference(resource: &BedrockCustomModel) -> Reference {
    use kube::ResourceExt;
    ObjectRef::new(&resource.name_any()).within(&resource.namespace().unwrap_or_default())
}

/// Consecutive failed sweeps of a region before its models go back to polling on their own.
const FAILURES_BEFORE_FALLBACK: u32 = 3;

/// How far before the oldest registered model's creation the listing starts, for clocks that
/// disagree.
const CLOCK_MARGIN: SignedDuration = SignedDuration::from_secs(60);

/// A registered Creating model.
struct Watched {
    region: String,
    /// The resources that reported the model Creating: normally one (its owner), more for a
    /// moment while several resources name one model, until all but one see NameConflict.
    references: Vec<Reference>,
    created: Timestamp,
    since: Instant,
}

#[derive(Default)]
struct Region {
    failures: u32,
    /// After repeated failures: when the sweep may cover this region again.
    paused_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    /// By model ARN.
    watched: HashMap<String, Watched>,
    regions: HashMap<String, Region>,
    /// Where the reconcile requests go: one receiver per controller, by watched namespace
    /// (`None`: all namespaces).
    routes: Vec<(Option<String>, UnboundedSender<Reference>)>,
}

pub struct Sweep {
    interval: Duration,
    /// How long a region stays on per-model polls after repeated failed sweeps.
    pause: Duration,
    state: Mutex<State>,
}

impl Sweep {
    pub fn new(interval: Duration, pause: Duration) -> Self {
        Self {
            interval,
            pause,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> parking_lot::MutexGuard<'_, State> {
        self.state.lock()
    }

    /// The reconcile requests for the controller of `namespace` (`None`: all namespaces).
    pub fn subscribe(&self, namespace: Option<String>) -> UnboundedReceiver<Reference> {
        let (sender, receiver) = unbounded();
        self.state().routes.push((namespace, sender));
        receiver
    }

    /// Whether a sweep watches `region` now.
    pub fn covers(&self, region: &str) -> bool {
        if self.interval.is_zero() {
            return false;
        }
        let state = self.state();
        state
            .regions
            .get(region)
            .and_then(|r| r.paused_until)
            .is_none_or(|until| Instant::now() >= until)
    }

    /// Registers a model seen Creating; `created` is Bedrock's creationTime when known.
    pub fn watch(&self, region: &str, arn: &str, created: Option<&str>, reference: Reference) {
        let created = created
            .and_then(|t| t.parse::<Timestamp>().ok())
            .unwrap_or_else(Timestamp::now);
        let mut state = self.state();
        state
            .watched
            .entry(arn.to_string())
            .and_modify(|w| {
                if !w.references.contains(&reference) {
                    w.references.push(reference.clone());
                }
                w.created = w.created.min(created);
            })
            .or_insert_with(|| Watched {
                region: region.to_string(),
                references: vec![reference],
                created,
                since: Instant::now(),
            });
    }

    /// Forgets the model for `reference`, which no longer sees it Creating (or is gone); the
    /// model stays watched for any other resource that registered it.
    pub fn forget(&self, arn: &str, reference: &Reference) {
        let mut state = self.state();
        if let Some(watched) = state.watched.get_mut(arn) {
            watched.references.retain(|r| r != reference);
            if watched.references.is_empty() {
                state.watched.remove(arn);
            }
        }
    }

    /// How many models the sweep watches.
    pub fn watched(&self) -> usize {
        self.state().watched.len()
    }

    /// The regions to list and, for each, the time the listing starts from.
    fn due(&self) -> Vec<(String, Timestamp)> {
        let state = self.state();
        let mut oldest: HashMap<&str, Timestamp> = HashMap::new();
        for watched in state.watched.values() {
            oldest
                .entry(watched.region.as_str())
                .and_modify(|t| *t = (*t).min(watched.created))
                .or_insert(watched.created);
        }
        oldest
            .into_iter()
            .map(|(region, created)| {
                let from = created
                    .checked_sub(CLOCK_MARGIN)
                    .unwrap_or(Timestamp::UNIX_EPOCH);
                (region.to_string(), from)
            })
            .collect()
    }

    /// Takes one listing of `region`'s Creating models, made by a call that started at
    /// `started`: every model registered before that and no longer listed has finished (or is
    /// gone). Returns their resources, forgotten here.
    fn settle(&self, region: &str, creating: &HashSet<String>, started: Instant) -> Vec<Reference> {
        let mut state = self.state();
        state.regions.insert(region.to_string(), Region::default());
        let ended: Vec<String> = state
            .watched
            .iter()
            .filter(|(arn, w)| w.region == region && w.since < started && !creating.contains(*arn))
            .map(|(arn, _)| arn.clone())
            .collect();
        ended
            .iter()
            .filter_map(|arn| state.watched.remove(arn))
            .flat_map(|w| w.references)
            .collect()
    }

    /// Counts a failed sweep of `region`; after a few in a row, pauses the sweep there and
    /// returns the resources it watched so that they go back to polling on their own.
    fn failed(&self, region: &str) -> Vec<Reference> {
        let mut state = self.state();
        let entry = state.regions.entry(region.to_string()).or_default();
        entry.failures += 1;
        if entry.failures < FAILURES_BEFORE_FALLBACK {
            return Vec::new();
        }
        entry.failures = 0;
        entry.paused_until = Some(Instant::now() + self.pause);
        let arns: Vec<String> = state
            .watched
            .iter()
            .filter(|(_, w)| w.region == region)
            .map(|(arn, _)| arn.clone())
            .collect();
        arns.iter()
            .filter_map(|arn| state.watched.remove(arn))
            .flat_map(|w| w.references)
            .collect()
    }

    /// Asks the controller that serves each resource to reconcile it.
    fn reconcile(&self, references: Vec<Reference>) {
        let state = self.state();
        for reference in references {
            for (namespace, sender) in &state.routes {
                if namespace.is_none() || namespace.as_deref() == reference.namespace.as_deref() {
                    let _ = sender.unbounded_send(reference.clone());
                }
            }
        }
    }
}

/// Sweeps every region with watched models each interval until `stop` turns true.
pub async fn run<B: Bedrock>(ctx: Arc<Context<B>>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let sweep = &ctx.sweep;
    if sweep.interval.is_zero() {
        return;
    }
    info!(interval = ?sweep.interval, "sweeping Creating models with ListCustomModels");
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep(sweep.interval) => {}
        }
        for (region, from) in sweep.due() {
            let started = Instant::now();
            let from = from.to_string();
            match ctx
                .bedrock
                .list_models(&region, ModelState::Creating, Some(&from))
                .await
            {
                Ok(models) => {
                    let creating: HashSet<String> = models
                        .into_iter()
                        .filter(|m| m.state == ModelState::Creating)
                        .map(|m| m.arn)
                        .collect();
                    let ended = sweep.settle(&region, &creating, started);
                    if !ended.is_empty() {
                        debug!(region = %region, ended = ended.len(), still_creating = creating.len(), "sweep found finished imports");
                    }
                    sweep.reconcile(ended);
                }
                Err(error) => {
                    if error.class() == ErrorClass::Throttled {
                        debug!(region = %region, error = %error.describe(), "sweep throttled");
                    } else {
                        warn!(region = %region, class = error.class().as_str(), error = %error.describe(), "ListCustomModels failed; Creating models keep their own polls meanwhile (the operator's IAM policy needs bedrock:ListCustomModels; --sweep-interval 0s turns the sweep off)");
                    }
                    let released = sweep.failed(&region);
                    if !released.is_empty() {
                        warn!(region = %region, models = released.len(), pause = ?sweep.pause, "sweep paused after repeated failures; Creating models poll on their own");
                    }
                    sweep.reconcile(released);
                }
            }
        }
        ctx.metrics.sweep_watched_models.set(sweep.watched() as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(name: &str) -> Reference {
        ObjectRef::new(name).within("team-a")
    }

    #[test]
    fn a_model_no_longer_listed_as_creating_is_reconciled_once() {
        let sweep = Sweep::new(Duration::from_secs(10), Duration::from_secs(300));
        let mut all = sweep.subscribe(None);
        let mut other = sweep.subscribe(Some("team-b".into()));
        sweep.watch("us-east-1", "arn:a", None, reference("a"));
        sweep.watch("us-east-1", "arn:b", None, reference("b"));
        sweep.watch("eu-west-1", "arn:c", None, reference("c"));
        let started = Instant::now();

        let creating: HashSet<String> = ["arn:b".to_string()].into();
        let ended = sweep.settle("us-east-1", &creating, started);
        assert_eq!(ended, vec![reference("a")]);
        sweep.reconcile(ended);
        assert_eq!(all.try_recv().ok(), Some(reference("a")));
        assert!(all.try_recv().is_err(), "nothing else was sent");
        assert!(
            other.try_recv().is_err(),
            "another namespace's controller gets nothing"
        );
        // b is still Creating, c is in another region: both still watched.
        assert_eq!(sweep.watched(), 2);
        assert!(
            sweep
                .settle("us-east-1", &creating, Instant::now())
                .is_empty()
        );
    }

    #[test]
    fn a_model_registered_during_the_listing_is_kept() {
        let sweep = Sweep::new(Duration::from_secs(10), Duration::from_secs(300));
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        sweep.watch("us-east-1", "arn:new", None, reference("new"));
        assert!(
            sweep
                .settle("us-east-1", &HashSet::new(), started)
                .is_empty()
        );
        assert_eq!(sweep.watched(), 1);
    }

    #[test]
    fn repeated_failures_pause_the_region_and_release_its_models() {
        let sweep = Sweep::new(Duration::from_secs(10), Duration::from_secs(300));
        sweep.watch("us-east-1", "arn:a", None, reference("a"));
        assert!(sweep.covers("us-east-1"));
        assert!(sweep.failed("us-east-1").is_empty());
        assert!(sweep.failed("us-east-1").is_empty());
        assert_eq!(sweep.failed("us-east-1"), vec![reference("a")]);
        assert!(!sweep.covers("us-east-1"), "paused after three failures");
        assert!(sweep.covers("eu-west-1"), "other regions are unaffected");
        assert_eq!(sweep.watched(), 0);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let sweep = Sweep::new(Duration::from_secs(10), Duration::from_secs(300));
        sweep.failed("us-east-1");
        sweep.failed("us-east-1");
        sweep.settle("us-east-1", &HashSet::new(), Instant::now());
        sweep.failed("us-east-1");
        assert!(sweep.covers("us-east-1"));
    }

    #[test]
    fn the_listing_starts_before_the_oldest_watched_model() {
        let sweep = Sweep::new(Duration::from_secs(10), Duration::from_secs(300));
        sweep.watch(
            "us-east-1",
            "arn:a",
            Some("2026-11-22T10:00:00Z"),
            reference("a"),
        );
        sweep.watch(
            "us-east-1",
            "arn:b",
            Some("2026-11-22T09:00:00Z"),
            reference("b"),
        );
        let due = sweep.due();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0, "us-east-1");
        assert_eq!(due[0].1.to_string(), "2026-11-22T08:59:00Z");
    }

    #[test]
    fn a_model_named_by_two_resources_reconciles_both_and_forgets_per_resource() {
        let sweep = Sweep::new(Duration::from_secs(10), Duration::from_secs(300));
        let mut all = sweep.subscribe(None);
        let owner = ObjectRef::new("m").within("team-b");
        sweep.watch("us-east-1", "arn:shared", None, reference("m"));
        sweep.watch("us-east-1", "arn:shared", None, owner.clone());
        sweep.watch("us-east-1", "arn:shared", None, owner.clone());
        // team-a's resource learns the model is not its own: the owner stays watched.
        sweep.forget("arn:shared", &reference("m"));
        assert_eq!(sweep.watched(), 1);
        std::thread::sleep(Duration::from_millis(2));
        let ended = sweep.settle("us-east-1", &HashSet::new(), Instant::now());
        assert_eq!(ended, vec![owner.clone()]);

        sweep.watch("us-east-1", "arn:shared", None, reference("m"));
        sweep.watch("us-east-1", "arn:shared", None, owner.clone());
        std::thread::sleep(Duration::from_millis(2));
        let ended = sweep.settle("us-east-1", &HashSet::new(), Instant::now());
        assert_eq!(
            ended,
            vec![reference("m"), owner.clone()],
            "no resource is left Creating"
        );
        sweep.reconcile(ended);
        assert_eq!(all.try_recv().ok(), Some(reference("m")));
        assert_eq!(all.try_recv().ok(), Some(owner));
    }

    #[test]
    fn a_zero_interval_covers_nothing() {
        let sweep = Sweep::new(Duration::ZERO, Duration::from_secs(300));
        assert!(!sweep.covers("us-east-1"));
    }
}
