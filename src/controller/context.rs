//! What every reconcile shares: clients, settings, and what is kept in memory about objects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

use super::guards::Guards;
use super::index::Index;
use super::kind::Managed;
use super::outcome::Timing;
use super::scope::NamespaceScope;
use super::settings::Settings;
use super::{locks, sweep};
use crate::bedrock::Bedrock;
use crate::metrics::Metrics;

pub struct Context<B> {
    pub client: Client,
    pub bedrock: B,
    pub recorder: Recorder,
    pub timing: Timing,
    pub default_region: String,
    /// The cluster this operator serves, as owner tags name it (`--cluster-name`, or the UID
    /// of the kube-system namespace).
    pub cluster: String,
    pub metrics: Arc<Metrics>,
    /// Namespaces whose resources may use `adoptionPolicy: Adopt`.
    pub adoption: NamespaceScope,
    /// The tenant guards (spend limits, where commitments may be bought).
    pub guards: Guards,
    /// The cached resources of every kind, for references between them.
    pub index: Index,
    /// One adoption (or create) of a Bedrock name per region at a time, by `kind/region/name`.
    pub(crate) names: locks::KeyedLocks,
    /// One purchase of model units per namespace at a time, by namespace, while a limit of
    /// model units per namespace is set: the budget check and the create that follows it.
    pub(crate) budgets: locks::KeyedLocks,
    /// Model units bought by this process, by the throughput's UID, until the throughput goes:
    /// counted in its namespace's budget even before its status shows the purchase.
    bought: Mutex<HashMap<String, i32>>,
    /// Consecutive failures per object UID, for backoff; cleared on success.
    failures: Mutex<HashMap<String, u32>>,
    /// When each object's Bedrock tags were last read (or the object first seen), by UID: the
    /// tags are read again once a resync period has passed.
    tag_checks: Mutex<HashMap<String, Instant>>,
    /// One ListCustomModels per region for every Creating model.
    pub(crate) sweep: sweep::Sweep,
}

impl<B: Bedrock> Context<B> {
    pub fn new(
        client: Client,
        bedrock: B,
        settings: &Settings,
        metrics: Arc<Metrics>,
        index: Index,
    ) -> Self {
        let reporter = Reporter {
            controller: "bedrock-operator".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            bedrock,
            timing: settings.timing.clone(),
            default_region: settings.default_region.clone(),
            cluster: settings.cluster.clone(),
            metrics,
            adoption: settings.adoption.clone(),
            guards: settings.guards.clone(),
            index,
            names: locks::KeyedLocks::default(),
            budgets: locks::KeyedLocks::default(),
            bought: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            tag_checks: Mutex::new(HashMap::new()),
            sweep: sweep::Sweep::new(
                settings.timing.sweep_interval,
                settings.timing.sweep_fallback,
            ),
        }
    }

    /// Whether this process looks at the object for the first time; starts the clock of its
    /// tag drift check (so a restart reads no tags).
    pub(crate) fn first_look(&self, resource: &impl Managed) -> bool {
        let mut checks = self.tag_checks.lock().unwrap_or_else(|p| p.into_inner());
        let key = resource.key();
        if checks.contains_key(&key) {
            return false;
        }
        checks.insert(key, Instant::now());
        true
    }

    /// Whether the periodic drift check of this object's tags is due: on the first resync at
    /// least `tag_check` after the last read.
    pub(crate) fn tags_due(&self, resource: &impl Managed) -> bool {
        let checks = self.tag_checks.lock().unwrap_or_else(|p| p.into_inner());
        // Resyncs come every resync period -10 %/+10 %: allow for the early ones.
        let due = self
            .timing
            .tag_check
            .saturating_sub(self.timing.resync.mul_f64(0.15));
        checks
            .get(&resource.key())
            .is_some_and(|last| last.elapsed() >= due)
    }

    /// Records that the object's tags were read now.
    pub(crate) fn tags_checked(&self, resource: &impl Managed) {
        let mut checks = self.tag_checks.lock().unwrap_or_else(|p| p.into_inner());
        checks.insert(resource.key(), Instant::now());
    }

    /// Drops what is kept in memory about an object that is gone.
    pub(crate) fn forget(&self, resource: &impl Managed) {
        self.tag_checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&resource.key());
        self.bought
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&resource.key());
    }

    /// Records that the throughput `key` (its UID) was bought with `units` model units.
    pub(crate) fn record_purchase(&self, key: String, units: i32) {
        let mut bought = self.bought.lock().unwrap_or_else(|p| p.into_inner());
        bought.insert(key, units);
    }

    /// The model units this process bought, by UID (see [`Context::record_purchase`]).
    pub(crate) fn purchases(&self) -> HashMap<String, i32> {
        self.bought
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Consecutive failures of the object so far.
    pub(crate) fn failures(&self, resource: &impl Managed) -> u32 {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.get(&resource.key()).copied().unwrap_or(0)
    }

    /// Counts one more failure of the object `key`; returns the count.
    pub(crate) fn failed(&self, key: String) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = *failures.entry(key).and_modify(|c| *c += 1).or_insert(1);
        self.metrics.objects_in_backoff.set(failures.len() as i64);
        count
    }

    /// Clears the object's failures.
    pub(crate) fn succeeded(&self, resource: &impl Managed) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&resource.key());
        self.metrics.objects_in_backoff.set(failures.len() as i64);
    }
}
