//! The emulator's state and every operation on it. The Bedrock handlers, the HTTP control API and
//! the in-process accessors all call these methods; the lock is never held across an await.
//!
//! This file holds what every kind shares: the lock, the clock, generated ARN suffixes, tagging,
//! fault injection on the request path, counters and reset. Each kind's table and operations
//! are in its own file: `models.rs`, `deployments.rs`, `provisioned.rs`, `imports.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::clock::ClockStatus;
use crate::config::{EmulatorConfig, Limits};
use crate::error::{ApiError, ErrorKind};
use crate::faults::{FaultConfig, TokenBucket};
use crate::operation::Operation;
use crate::types::{Counters, ListTagsForResourceOutput, Tag};
use crate::validate::{self, TagResourceInput, UntagResourceInput};
use conflicts::DeleteConflicts;
use deployments::Deployments;
use imports::Imports;
use models::Models;
use provisioned::Provisioned;
use runtime::Runtime;

mod conflicts;
mod deployments;
mod failures;
mod imports;
mod models;
mod paging;
mod provisioned;
mod runtime;
mod tokens;

const ARN_SUFFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ARN_SUFFIX_LEN: usize = 12;
/// How far the clock can be moved ahead (100 years): far enough for any commitment term, and
/// nowhere near chrono's limits.
const MAX_CLOCK_OFFSET_MS: i64 = 100 * 366 * 24 * 60 * 60 * 1000;

/// Shared state behind every emulator entry point.
pub struct EmulatorState {
    config: EmulatorConfig,
    /// How far tests have moved the emulator's clock ahead of the wall clock, in milliseconds.
    clock_offset_ms: AtomicI64,
    inner: Mutex<Inner>,
}

struct Inner {
    counters: HashMap<(Operation, &'static str), u64>,
    faults: FaultConfig,
    buckets: HashMap<Operation, TokenBucket>,
    limits: Limits,
    /// Creation order across every kind, the tie-break between equal creation times.
    next_seq: u64,
    rng: StdRng,
    models: Models,
    deployments: Deployments,
    provisioned: Provisioned,
    imports: Imports,
    runtime: Runtime,
    delete_conflicts: DeleteConflicts,
}

/// A status forced through the control API, on a model or a deployment.
#[derive(Clone, Debug)]
enum Forced {
    Active,
    Failed(String),
}

/// `start + delay`, or `None` for a delay too large to represent ("never").
pub(crate) fn after(start: DateTime<Utc>, delay: Duration) -> Option<DateTime<Utc>> {
    TimeDelta::from_std(delay)
        .ok()
        .and_then(|delay| start.checked_add_signed(delay))
}

/// The model name per-name scripting is keyed by: a valid model name as is (the model need not
/// exist yet), an ARN as the name `name_of` finds for it.
fn scripted_name(
    identifier: &str,
    name_of: impl FnOnce(&str) -> Option<String>,
) -> Result<String, ApiError> {
    if identifier.starts_with("arn:") {
        name_of(identifier).ok_or_else(|| models::not_found(identifier))
    } else if validate::is_valid_model_name(identifier) {
        Ok(identifier.to_owned())
    } else {
        Err(ApiError::validation(format!(
            "'{identifier}' is neither a valid model name nor the ARN of an existing model"
        )))
    }
}

pub(crate) fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
}

impl Inner {
    fn new(config: &EmulatorConfig) -> Self {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let mut inner = Inner {
            counters: HashMap::new(),
            faults: FaultConfig::default(),
            buckets: HashMap::new(),
            limits: config.limits,
            next_seq: 0,
            rng,
            models: Models::new(config),
            deployments: Deployments::new(config),
            provisioned: Provisioned::new(config),
            imports: Imports::new(config),
            runtime: Runtime::new(),
            delete_conflicts: DeleteConflicts::default(),
        };
        inner.set_faults(config.faults.clone());
        inner
    }

    fn set_faults(&mut self, faults: FaultConfig) {
        let now = Instant::now();
        // Keep a bucket's level when its limit did not change, so re-sending the same faults does
        // not refill it.
        let mut buckets = HashMap::new();
        for (operation, limit) in &faults.rate_limits {
            let bucket = match self.buckets.remove(operation) {
                Some(bucket) if bucket.limit() == *limit => bucket,
                _ => TokenBucket::new(*limit, now),
            };
            buckets.insert(*operation, bucket);
        }
        self.buckets = buckets;
        self.faults = faults;
    }

    /// The 12 lowercase alphanumerics that end every generated ARN.
    fn random_suffix(&mut self) -> String {
        (0..ARN_SUFFIX_LEN)
            .map(|_| {
                let index = self.rng.random_range(0..ARN_SUFFIX_ALPHABET.len());
                char::from(ARN_SUFFIX_ALPHABET[index])
            })
            .collect()
    }

    /// The tags of the model, deployment, Provisioned Throughput, import job or imported model
    /// with this ARN. Import jobs that ended by `now` have their imported models by then.
    fn tags_mut(&mut self, arn: &str, now: DateTime<Utc>) -> Option<&mut Vec<Tag>> {
        self.imports.settle(now);
        if self.imports.contains(arn) {
            return self.imports.tags_mut(arn);
        }
        if self.models.contains(arn) {
            return self.models.tags_mut(arn);
        }
        if self.provisioned.contains(arn) {
            return self.provisioned.tags_mut(arn);
        }
        self.deployments.tags_mut(arn)
    }
}

fn resource_not_found(arn: &str) -> ApiError {
    ApiError::not_found(format!("The resource '{arn}' could not be found."))
}

/// Merges `new` into `tags`: an existing key gets the new value.
fn merge_tags(tags: &mut Vec<Tag>, new: &[Tag]) {
    for tag in new {
        match tags.iter_mut().find(|existing| existing.key == tag.key) {
            Some(existing) => existing.value.clone_from(&tag.value),
            None => tags.push(tag.clone()),
        }
    }
}

fn merged_tag_count(existing: &[Tag], new: &[Tag]) -> usize {
    existing.len()
        + new
            .iter()
            .filter(|tag| !existing.iter().any(|existing| existing.key == tag.key))
            .count()
}

impl EmulatorState {
    pub(crate) fn new(config: EmulatorConfig) -> Self {
        let inner = Inner::new(&config);
        EmulatorState {
            config,
            clock_offset_ms: AtomicI64::new(0),
            inner: Mutex::new(inner),
        }
    }

    /// The emulator's notion of now: the wall clock plus however far tests moved it
    /// ([`EmulatorState::advance_clock`]). Every lifecycle, delay, reported timestamp,
    /// commitment term and idempotency window reads it.
    pub fn now(&self) -> DateTime<Utc> {
        let offset = TimeDelta::milliseconds(self.clock_offset_ms.load(Ordering::Relaxed));
        let now = Utc::now();
        now.checked_add_signed(offset).unwrap_or(now)
    }

    /// [`EmulatorState::now`], truncated to the millisecond precision Bedrock reports, so that
    /// what a client reads back can be fed to the creation-time filters exactly.
    pub(crate) fn now_millis(&self) -> DateTime<Utc> {
        let now = self.now();
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    /// Where the emulator's clock stands.
    pub fn clock(&self) -> ClockStatus {
        ClockStatus {
            now: self.now_millis(),
            offset_ms: u64::try_from(self.clock_offset_ms.load(Ordering::Relaxed)).unwrap_or(0),
        }
    }

    /// Moves the emulator's clock forward by `by` (it never goes back, except on reset).
    /// Everything computed from time sees the jump at once: delays run out, commitment terms
    /// end, idempotency tokens expire. SigV4 signature dates and rate-limit buckets keep to the
    /// wall clock, since they concern real requests.
    pub fn advance_clock(&self, by: Duration) -> Result<ClockStatus, ApiError> {
        let by = i64::try_from(by.as_millis())
            .ok()
            .filter(|by| *by <= MAX_CLOCK_OFFSET_MS)
            .ok_or_else(|| ApiError::validation("The clock can move at most 100 years ahead."))?;
        self.clock_offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                offset
                    .checked_add(by)
                    .filter(|offset| *offset <= MAX_CLOCK_OFFSET_MS)
            })
            .map_err(|_| ApiError::validation("The clock can move at most 100 years ahead."))?;
        Ok(self.clock())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the emulator down with it: the data stays usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The configuration the emulator was started with.
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    // ----- Bedrock operations on any kind: tagging -----

    pub(crate) fn tag_resource(&self, input: TagResourceInput) -> Result<(), ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        let max_tags = inner.limits.max_tags_per_resource;
        let tags = inner
            .tags_mut(&input.resource_arn, now)
            .ok_or_else(|| resource_not_found(&input.resource_arn))?;
        let count = merged_tag_count(tags, &input.tags);
        if count > max_tags {
            return Err(ApiError::too_many_tags(
                format!(
                    "The resource would have {count} tags; a resource can have at most {max_tags}, counting the tags it already has ({}).",
                    tags.len()
                ),
                input.resource_arn,
            ));
        }
        merge_tags(tags, &input.tags);
        Ok(())
    }

    pub(crate) fn untag_resource(&self, input: UntagResourceInput) -> Result<(), ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        let tags = inner
            .tags_mut(&input.resource_arn, now)
            .ok_or_else(|| resource_not_found(&input.resource_arn))?;
        tags.retain(|tag| !input.tag_keys.contains(&tag.key));
        Ok(())
    }

    pub(crate) fn list_tags_for_resource(
        &self,
        resource_arn: &str,
    ) -> Result<ListTagsForResourceOutput, ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        let tags = inner
            .tags_mut(resource_arn, now)
            .ok_or_else(|| resource_not_found(resource_arn))?;
        Ok(ListTagsForResourceOutput { tags: tags.clone() })
    }

    // ----- Fault injection on the request path -----

    pub(crate) fn latency_for(&self, operation: Operation) -> Duration {
        self.lock().faults.latency_for(operation)
    }

    /// Decides whether a call goes through: the denied operations, its token bucket, then the
    /// probabilistic throttle, then the probabilistic internal error.
    pub(crate) fn admit(&self, operation: Operation) -> Result<(), ApiError> {
        let mut inner = self.lock();
        if inner.faults.denies(operation) {
            return Err(ApiError::new(
                ErrorKind::AccessDenied,
                format!(
                    "User: arn:aws:sts::{}:assumed-role/emulator/session is not authorized to perform: {action} because no identity-based policy allows the {action} action",
                    self.config.account_id,
                    action = operation.iam_action(),
                ),
            ));
        }
        if let Some(bucket) = inner.buckets.get_mut(&operation)
            && !bucket.try_take(Instant::now())
        {
            return Err(ApiError::new(ErrorKind::Throttling, "Rate exceeded"));
        }
        if !inner.faults.applies_to(operation) {
            return Ok(());
        }
        let throttle = inner.faults.throttle_fraction;
        if throttle > 0.0 && inner.rng.random_bool(throttle.min(1.0)) {
            return Err(ApiError::new(ErrorKind::Throttling, "Rate exceeded"));
        }
        let internal = inner.faults.internal_error_fraction;
        if internal > 0.0 && inner.rng.random_bool(internal.min(1.0)) {
            return Err(ApiError::new(
                ErrorKind::InternalServer,
                "An internal server error occurred. Retry your request.",
            ));
        }
        Ok(())
    }

    pub(crate) fn count(&self, operation: Operation, outcome: &'static str) {
        *self
            .lock()
            .counters
            .entry((operation, outcome))
            .or_insert(0) += 1;
    }

    // ----- Inspection (what the control API returns) -----

    /// Calls per operation and outcome (`Ok` or the error code).
    pub fn counters(&self) -> Counters {
        let inner = self.lock();
        let mut counters = Counters::default();
        for ((operation, outcome), count) in &inner.counters {
            counters
                .0
                .entry(*operation)
                .or_default()
                .insert((*outcome).to_owned(), *count);
        }
        counters
    }

    pub fn faults(&self) -> FaultConfig {
        self.lock().faults.clone()
    }

    pub fn limits(&self) -> Limits {
        self.lock().limits
    }

    // ----- Scripting -----

    /// Replaces the injected faults. Token buckets whose limit is unchanged keep their level.
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), ApiError> {
        faults.validate()?;
        self.lock().set_faults(faults);
        Ok(())
    }

    pub fn set_limits(&self, limits: Limits) {
        self.lock().limits = limits;
    }

    /// Back to the start-up state: no models, deployments, Provisioned Throughputs, import jobs,
    /// imported models, tokens, log
    /// entries, scripted failures, model scripts, invocations or counters; the clock back on the wall clock; faults, delays
    /// and limits as configured at start.
    pub fn reset(&self) {
        let mut inner = self.lock();
        let rng = inner.rng.clone();
        *inner = Inner::new(&self.config);
        self.clock_offset_ms.store(0, Ordering::Relaxed);
        // Keep the random sequence going so a seeded run does not repeat its ARNs.
        inner.rng = rng;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_merge_counts_overwritten_keys_once() {
        let existing = vec![Tag::new("a", "1"), Tag::new("b", "2")];
        let new = vec![Tag::new("b", "3"), Tag::new("c", "4")];
        assert_eq!(merged_tag_count(&existing, &new), 3);
        let mut tags = existing;
        merge_tags(&mut tags, &new);
        assert_eq!(
            tags,
            vec![Tag::new("a", "1"), Tag::new("b", "3"), Tag::new("c", "4")]
        );
    }
}
