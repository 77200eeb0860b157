//! What the process keeps in memory about each object, by its UID (unique across kinds): when
//! it first looked at it and last read its tags, its consecutive failures (for backoff), and
//! the model units it bought. All of it goes when the object goes ([`Memory::forget`]); a
//! restart starts afresh.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::kind::Managed;
use super::outcome::Timing;
use crate::metrics::Metrics;

pub(crate) struct Memory {
    /// How often the tags of an object are read again.
    tag_check: Duration,
    /// The resync period (resyncs come ±10 % around it).
    resync: Duration,
    /// For the gauge of objects in backoff.
    metrics: Arc<Metrics>,
    /// Model units bought by this process, by the throughput's UID, until the throughput goes:
    /// counted in its namespace's budget even before its status shows the purchase.
    bought: Mutex<HashMap<String, i32>>,
    /// Consecutive failures per object UID, for backoff; cleared on success.
    failures: Mutex<HashMap<String, u32>>,
    /// When each object's Bedrock tags were last read (or the object first seen), by UID: the
    /// tags are read again once a resync period has passed.
    tag_checks: Mutex<HashMap<String, Instant>>,
}

impl Memory {
    pub(crate) fn new(timing: &Timing, metrics: Arc<Metrics>) -> Self {
        Self {
            tag_check: timing.tag_check,
            resync: timing.resync,
            metrics,
            bought: Mutex::default(),
            failures: Mutex::default(),
            tag_checks: Mutex::default(),
        }
    }

    /// Whether this process looks at the object for the first time; starts the clock of its
    /// tag drift check (so a restart reads no tags).
    pub(crate) fn first_look(&self, resource: &impl Managed) -> bool {
        let mut checks = self.tag_checks.lock();
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
        let checks = self.tag_checks.lock();
        // Resyncs come every resync period -10 %/+10 %: allow for the early ones.
        let due = self.tag_check.saturating_sub(self.resync.mul_f64(0.15));
        checks
            .get(&resource.key())
            .is_some_and(|last| last.elapsed() >= due)
    }

    /// Records that the object's tags were read now.
    pub(crate) fn tags_checked(&self, resource: &impl Managed) {
        let mut checks = self.tag_checks.lock();
        checks.insert(resource.key(), Instant::now());
    }

    /// Drops what is kept in memory about an object that is gone.
    pub(crate) fn forget(&self, resource: &impl Managed) {
        self.tag_checks.lock().remove(&resource.key());
        self.bought.lock().remove(&resource.key());
    }

    /// Records that the throughput `key` (its UID) was bought with `units` model units.
    pub(crate) fn record_purchase(&self, key: String, units: i32) {
        let mut bought = self.bought.lock();
        bought.insert(key, units);
    }

    /// The model units this process bought, by UID (see [`Context::record_purchase`]).
    pub(crate) fn purchases(&self) -> HashMap<String, i32> {
        self.bought.lock().clone()
    }

    /// Consecutive failures of the object so far.
    pub(crate) fn failures(&self, resource: &impl Managed) -> u32 {
        let failures = self.failures.lock();
        failures.get(&resource.key()).copied().unwrap_or(0)
    }

    /// Counts one more failure of the object `key`; returns the count.
    pub(crate) fn failed(&self, key: String) -> u32 {
        let mut failures = self.failures.lock();
        let count = *failures.entry(key).and_modify(|c| *c += 1).or_insert(1);
        self.metrics.objects_in_backoff.set(failures.len() as i64);
        count
    }

    /// Clears the object's failures.
    pub(crate) fn succeeded(&self, resource: &impl Managed) {
        let mut failures = self.failures.lock();
        failures.remove(&resource.key());
        self.metrics.objects_in_backoff.set(failures.len() as i64);
    }
}
