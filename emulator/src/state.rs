//! The emulator's state and every operation on it. The Bedrock handlers, the HTTP control API and
//! the in-process accessors all call these methods; the lock is never held across an await.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracing::info;

use crate::api::{
    CreateCustomModelOutput, CustomModelSummary, GetCustomModelOutput, ListCustomModelsOutput,
    ListTagsForResourceOutput,
};
use crate::clock::ClockStatus;
use crate::config::{DEFAULT_FOUNDATION_MODEL_ID, EmulatorConfig, Limits};
use crate::error::{ApiError, ErrorKind};
use crate::faults::{FaultConfig, TokenBucket};
use crate::model::{
    Counters, CreateLogEntry, ForceStatus, ForeignModel, ModelRecord, ModelSource, ModelStatus,
    Tag, format_timestamp,
};
use crate::operation::Operation;
use crate::validate::{
    self, CreateCustomModelInput, CreateFingerprint, ListCustomModelsInput, TagResourceInput,
    UntagResourceInput,
};
use deployments::Deployments;
use provisioned::Provisioned;
use tokens::IdempotencyTokens;

mod deployments;
mod failures;
mod paging;
mod provisioned;
mod tokens;

/// Every model Bedrock imports is reported with this customization type.
const CUSTOMIZATION_TYPE: &str = "IMPORTED";
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
    /// Models by ARN.
    models: HashMap<String, Model>,
    /// Model ARNs by name.
    names: HashMap<String, String>,
    tokens: IdempotencyTokens<CreateFingerprint>,
    create_log: Vec<CreateLogEntry>,
    counters: HashMap<(Operation, &'static str), u64>,
    faults: FaultConfig,
    buckets: HashMap<Operation, TokenBucket>,
    ready_delay: Duration,
    ready_delays: HashMap<String, Duration>,
    delete_conflicts: HashMap<String, String>,
    limits: Limits,
    next_seq: u64,
    rng: StdRng,
    deployments: Deployments,
    provisioned: Provisioned,
}

struct Model {
    /// Creation order, the tie-break between equal creation times.
    seq: u64,
    arn: String,
    name: String,
    creation_time: DateTime<Utc>,
    /// The global ready delay when the model was created (a per-name override wins).
    ready_delay: Duration,
    source: Option<ModelSource>,
    role_arn: Option<String>,
    kms_key_arn: Option<String>,
    tags: Vec<Tag>,
    client_request_token: Option<String>,
    base_model_arn: Option<String>,
    base_model_name: Option<String>,
    foundation_model_arn: Option<String>,
    owner_account_id: String,
    /// Set when the source carried the failure marker: the import fails once the delay is over.
    planned_failure: Option<String>,
    forced: Option<Forced>,
    foreign: bool,
}

#[derive(Clone, Debug)]
enum Forced {
    Active,
    Failed(String),
}

/// A model's status at one instant, computed from timestamps rather than timers.
struct Lifecycle {
    status: ModelStatus,
    failure_message: Option<String>,
    ready_time: Option<DateTime<Utc>>,
}

impl Model {
    fn lifecycle(&self, now: DateTime<Utc>, overrides: &HashMap<String, Duration>) -> Lifecycle {
        match &self.forced {
            Some(Forced::Active) => Lifecycle {
                status: ModelStatus::Active,
                failure_message: None,
                ready_time: None,
            },
            Some(Forced::Failed(message)) => Lifecycle {
                status: ModelStatus::Failed,
                failure_message: Some(message.clone()),
                ready_time: None,
            },
            None => {
                let delay = overrides
                    .get(&self.name)
                    .copied()
                    .unwrap_or(self.ready_delay);
                // A delay too large to represent means "never".
                let ready_time = TimeDelta::from_std(delay)
                    .ok()
                    .and_then(|delay| self.creation_time.checked_add_signed(delay));
                match ready_time {
                    Some(ready) if now >= ready => Lifecycle {
                        status: if self.planned_failure.is_some() {
                            ModelStatus::Failed
                        } else {
                            ModelStatus::Active
                        },
                        failure_message: self.planned_failure.clone(),
                        ready_time,
                    },
                    _ => Lifecycle {
                        status: ModelStatus::Creating,
                        failure_message: None,
                        ready_time,
                    },
                }
            }
        }
    }

    /// The key ListCustomModels sorts and paginates on.
    fn sort_key(&self) -> paging::SortKey {
        (self.creation_time.timestamp_millis(), self.seq)
    }

    /// The foundation model this model was customized from: `foundationModelArn` when set, else
    /// a foundation-model `baseModelArn`, else the emulator's default (imported models carry
    /// none; Provisioned Throughput needs one).
    fn foundation_model_arn(&self, region: &str) -> String {
        self.foundation_model_arn
            .clone()
            .or_else(|| {
                self.base_model_arn
                    .clone()
                    .filter(|arn| arn.contains(":foundation-model/"))
            })
            .unwrap_or_else(|| default_foundation_model_arn(region))
    }
}

/// The foundation model a model without one counts as customized from.
pub(crate) fn default_foundation_model_arn(region: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{DEFAULT_FOUNDATION_MODEL_ID}")
}

/// `start + delay`, or `None` for a delay too large to represent ("never").
pub(crate) fn after(start: DateTime<Utc>, delay: Duration) -> Option<DateTime<Utc>> {
    TimeDelta::from_std(delay)
        .ok()
        .and_then(|delay| start.checked_add_signed(delay))
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
            models: HashMap::new(),
            names: HashMap::new(),
            tokens: IdempotencyTokens::new(),
            create_log: Vec::new(),
            counters: HashMap::new(),
            faults: FaultConfig::default(),
            buckets: HashMap::new(),
            ready_delay: config.ready_delay,
            ready_delays: HashMap::new(),
            delete_conflicts: HashMap::new(),
            limits: config.limits,
            next_seq: 0,
            rng,
            deployments: Deployments::new(config),
            provisioned: Provisioned::new(config),
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

    fn resolve(&self, identifier: &str) -> Option<&Model> {
        match self.models.get(identifier) {
            Some(model) => Some(model),
            None => self
                .names
                .get(identifier)
                .and_then(|arn| self.models.get(arn)),
        }
    }

    fn resolve_arn(&self, identifier: &str) -> Option<String> {
        self.resolve(identifier).map(|model| model.arn.clone())
    }

    /// A name for the per-name settings: an ARN is resolved to its model's name.
    fn settings_name(&self, identifier: &str) -> Result<String, ApiError> {
        if identifier.starts_with("arn:") {
            self.resolve(identifier)
                .map(|model| model.name.clone())
                .ok_or_else(|| not_found(identifier))
        } else if validate::is_valid_model_name(identifier) {
            Ok(identifier.to_owned())
        } else {
            Err(ApiError::validation(format!(
                "'{identifier}' is neither a valid model name nor the ARN of an existing model"
            )))
        }
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

    fn new_arn(&mut self, region: &str, account_id: &str) -> String {
        loop {
            let suffix = self.random_suffix();
            let arn =
                format!("arn:aws:bedrock:{region}:{account_id}:custom-model/imported/{suffix}");
            if !self.models.contains_key(&arn) {
                return arn;
            }
        }
    }

    /// The tags of the model, deployment or Provisioned Throughput with this ARN.
    fn tags_mut(&mut self, arn: &str) -> Option<&mut Vec<Tag>> {
        if self.models.contains_key(arn) {
            return self.models.get_mut(arn).map(|model| &mut model.tags);
        }
        if self.provisioned.contains(arn) {
            return self.provisioned.tags_mut(arn);
        }
        self.deployments.tags_mut(arn)
    }

    fn insert(&mut self, model: Model) {
        self.names.insert(model.name.clone(), model.arn.clone());
        self.models.insert(model.arn.clone(), model);
    }

    fn remove(&mut self, arn: &str) -> Option<Model> {
        let model = self.models.remove(arn)?;
        self.names.remove(&model.name);
        Some(model)
    }

    fn record(&self, model: &Model, now: DateTime<Utc>) -> ModelRecord {
        let lifecycle = model.lifecycle(now, &self.ready_delays);
        ModelRecord {
            model_arn: model.arn.clone(),
            model_name: model.name.clone(),
            status: lifecycle.status,
            failure_message: lifecycle.failure_message,
            creation_time: model.creation_time,
            ready_time: lifecycle.ready_time,
            source: model.source.clone(),
            role_arn: model.role_arn.clone(),
            model_kms_key_arn: model.kms_key_arn.clone(),
            tags: model.tags.clone(),
            client_request_token: model.client_request_token.clone(),
            base_model_arn: model.base_model_arn.clone(),
            base_model_name: model.base_model_name.clone(),
            foundation_model_arn: model.foundation_model_arn.clone(),
            owner_account_id: model.owner_account_id.clone(),
            foreign: model.foreign,
            delete_conflict: self.delete_conflicts.get(&model.name).cloned(),
        }
    }
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "The model '{identifier}' could not be found. Check the model identifier and try again."
    ))
}

/// `'a', 'b'`: names in a message.
fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("'{name}'"))
        .collect::<Vec<_>>()
        .join(", ")
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

    // ----- Bedrock operations -----

    pub(crate) fn create_custom_model(
        &self,
        input: CreateCustomModelInput,
    ) -> Result<CreateCustomModelOutput, ApiError> {
        let now = self.now_millis();
        let mut inner = self.lock();

        if input.model_tags.len() > inner.limits.max_tags_per_resource {
            return Err(ApiError::too_many_tags(
                format!(
                    "The request has {} tags; a resource can have at most {}.",
                    input.model_tags.len(),
                    inner.limits.max_tags_per_resource
                ),
                input.model_name.clone(),
            ));
        }
        if let Some(role) = &input.role_arn
            && inner.faults.access_denied_role_arns.contains(role)
        {
            return Err(ApiError::new(
                ErrorKind::AccessDenied,
                format!(
                    "User: arn:aws:sts::{}:assumed-role/emulator/session is not authorized to perform: iam:PassRole on resource: {role}",
                    self.config.account_id
                ),
            ));
        }

        let fingerprint = input.fingerprint();
        if let Some(model_arn) = inner.tokens.replay(
            input.client_request_token.as_deref(),
            &fingerprint,
            now,
            self.config.idempotency_window,
            "model",
        )? {
            return Ok(CreateCustomModelOutput { model_arn });
        }

        if inner.names.contains_key(&input.model_name) {
            return Err(ApiError::conflict(format!(
                "A custom model with the name '{}' already exists.",
                input.model_name
            )));
        }
        if inner.models.len() >= inner.limits.max_models {
            return Err(ApiError::new(
                ErrorKind::ServiceQuotaExceeded,
                format!(
                    "You have reached the quota of {} custom models in account {} and region {}.",
                    inner.limits.max_models, self.config.account_id, self.config.region
                ),
            ));
        }

        let arn = inner.new_arn(&self.config.region, &self.config.account_id);
        let marker = &self.config.failure_marker;
        let planned_failure = (!marker.is_empty() && input.source.location().contains(marker))
            .then(|| {
                format!(
                    "Model import failed: the model artifacts at '{}' could not be validated.",
                    input.source.location()
                )
            });
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let model = Model {
            seq,
            arn: arn.clone(),
            name: input.model_name.clone(),
            creation_time: now,
            ready_delay: inner.ready_delay,
            source: Some(input.source),
            role_arn: input.role_arn,
            kms_key_arn: input.model_kms_key_arn,
            tags: input.model_tags,
            client_request_token: input.client_request_token.clone(),
            base_model_arn: None,
            base_model_name: None,
            foundation_model_arn: None,
            owner_account_id: self.config.account_id.clone(),
            planned_failure,
            forced: None,
            foreign: false,
        };
        inner.insert(model);
        inner.tokens.remember(
            input.client_request_token.as_deref(),
            fingerprint,
            &arn,
            &input.model_name,
            now,
        );
        inner.create_log.push(CreateLogEntry {
            model_name: input.model_name.clone(),
            model_arn: arn.clone(),
            client_request_token: input.client_request_token,
            time: now,
        });
        drop(inner);
        info!(model = %input.model_name, arn = %arn, "model created");
        Ok(CreateCustomModelOutput { model_arn: arn })
    }

    pub(crate) fn get_custom_model(
        &self,
        identifier: &str,
    ) -> Result<GetCustomModelOutput, ApiError> {
        let now = self.now();
        let inner = self.lock();
        let model = inner
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let lifecycle = model.lifecycle(now, &inner.ready_delays);
        Ok(GetCustomModelOutput {
            model_arn: model.arn.clone(),
            model_name: model.name.clone(),
            base_model_arn: model.base_model_arn.clone(),
            customization_type: CUSTOMIZATION_TYPE,
            model_kms_key_arn: model.kms_key_arn.clone(),
            creation_time: format_timestamp(&model.creation_time),
            model_status: lifecycle.status.as_str(),
            failure_message: lifecycle.failure_message,
        })
    }

    pub(crate) fn list_custom_models(
        &self,
        input: &ListCustomModelsInput,
    ) -> Result<ListCustomModelsOutput, ApiError> {
        let now = self.now();
        let inner = self.lock();
        let matching: Vec<(&Model, Lifecycle)> = inner
            .models
            .values()
            .filter(|model| {
                input
                    .creation_time_before
                    .is_none_or(|before| model.creation_time < before)
                    && input
                        .creation_time_after
                        .is_none_or(|after| model.creation_time > after)
                    && input
                        .name_contains
                        .as_ref()
                        .is_none_or(|part| model.name.contains(part.as_str()))
                    && input
                        .base_model_arn_equals
                        .as_ref()
                        .is_none_or(|arn| model.base_model_arn.as_ref() == Some(arn))
                    && input
                        .foundation_model_arn_equals
                        .as_ref()
                        .is_none_or(|arn| model.foundation_model_arn.as_ref() == Some(arn))
                    && input.is_owned.is_none_or(|owned| {
                        (model.owner_account_id == self.config.account_id) == owned
                    })
            })
            .map(|model| (model, model.lifecycle(now, &inner.ready_delays)))
            .filter(|(_, lifecycle)| {
                input
                    .model_status
                    .is_none_or(|status| lifecycle.status == status)
            })
            .collect();
        let (page, next_token) = paging::page(
            matching,
            |(model, _)| model.sort_key(),
            input.sort_order,
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let model_summaries = page
            .into_iter()
            .map(|(model, lifecycle)| CustomModelSummary {
                model_arn: model.arn.clone(),
                model_name: model.name.clone(),
                creation_time: format_timestamp(&model.creation_time),
                base_model_arn: model.base_model_arn.clone(),
                base_model_name: model.base_model_name.clone(),
                customization_type: CUSTOMIZATION_TYPE,
                owner_account_id: model.owner_account_id.clone(),
                model_status: lifecycle.status.as_str(),
            })
            .collect();
        Ok(ListCustomModelsOutput {
            next_token,
            model_summaries,
        })
    }

    pub(crate) fn delete_custom_model(&self, identifier: &str) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let model = inner
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        if let Some(message) = inner.delete_conflicts.get(&model.name) {
            return Err(ApiError::conflict(message.clone()));
        }
        let now = self.now();
        let throughputs = inner.provisioned.using_model(&model.arn, now);
        if !throughputs.is_empty() {
            return Err(ApiError::conflict(format!(
                "The model '{}' is used by the Provisioned Throughput(s) {} and cannot be deleted. Delete the Provisioned Throughput(s) or update them to another model first.",
                model.name,
                quoted_list(&throughputs)
            )));
        }
        let users = inner.deployments.using_model(&model.arn, now);
        if !users.is_empty() {
            return Err(ApiError::conflict(format!(
                "The model '{}' is used by the custom model deployment(s) {} and cannot be deleted. Delete the deployment(s) or update them to another model first.",
                model.name,
                quoted_list(&users)
            )));
        }
        let arn = model.arn.clone();
        if let Some(model) = inner.remove(&arn) {
            drop(inner);
            info!(model = %model.name, arn = %arn, "model deleted");
        }
        Ok(())
    }

    pub(crate) fn tag_resource(&self, input: TagResourceInput) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let max_tags = inner.limits.max_tags_per_resource;
        let tags = inner
            .tags_mut(&input.resource_arn)
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
        let mut inner = self.lock();
        let tags = inner
            .tags_mut(&input.resource_arn)
            .ok_or_else(|| resource_not_found(&input.resource_arn))?;
        tags.retain(|tag| !input.tag_keys.contains(&tag.key));
        Ok(())
    }

    pub(crate) fn list_tags_for_resource(
        &self,
        resource_arn: &str,
    ) -> Result<ListTagsForResourceOutput, ApiError> {
        let mut inner = self.lock();
        let tags = inner
            .tags_mut(resource_arn)
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
                    "User: arn:aws:sts::{}:assumed-role/emulator/session is not authorized to perform: bedrock:{operation} because no identity-based policy allows the bedrock:{operation} action",
                    self.config.account_id
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

    /// Every model CreateCustomModel actually created, in order.
    pub fn create_log(&self) -> Vec<CreateLogEntry> {
        self.lock().create_log.clone()
    }

    /// The whole model table, in creation order.
    pub fn models(&self) -> Vec<ModelRecord> {
        let now = self.now();
        let inner = self.lock();
        let mut models: Vec<&Model> = inner.models.values().collect();
        models.sort_by_key(|model| model.seq);
        models
            .into_iter()
            .map(|model| inner.record(model, now))
            .collect()
    }

    /// One model, by name or ARN.
    pub fn model(&self, identifier: &str) -> Option<ModelRecord> {
        let now = self.now();
        let inner = self.lock();
        inner
            .resolve(identifier)
            .map(|model| inner.record(model, now))
    }

    pub fn faults(&self) -> FaultConfig {
        self.lock().faults.clone()
    }

    pub fn limits(&self) -> Limits {
        self.lock().limits
    }

    /// The delay new models spend in Creating.
    pub fn default_ready_delay(&self) -> Duration {
        self.lock().ready_delay
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

    /// Sets the delay models created from now on spend in Creating.
    pub fn set_default_ready_delay(&self, delay: Duration) {
        self.lock().ready_delay = delay;
    }

    /// Sets the Creating delay of one model (by name, or ARN of an existing model), before or
    /// after its creation. It counts from the model's creation time.
    pub fn set_ready_delay(&self, identifier: &str, delay: Duration) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let name = inner.settings_name(identifier)?;
        inner.ready_delays.insert(name, delay);
        Ok(())
    }

    /// Removes a per-model delay; returns whether there was one.
    pub fn clear_ready_delay(&self, identifier: &str) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let name = inner.settings_name(identifier)?;
        Ok(inner.ready_delays.remove(&name).is_some())
    }

    /// Makes DeleteCustomModel answer ConflictException for this model (by name, or ARN of an
    /// existing model) until cleared.
    pub fn set_delete_conflict(
        &self,
        identifier: &str,
        message: Option<String>,
    ) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let name = inner.settings_name(identifier)?;
        let message = message.unwrap_or_else(|| {
            format!(
                "The model '{name}' is in use by a provisioned throughput and cannot be deleted. Delete the provisioned throughput first."
            )
        });
        inner.delete_conflicts.insert(name, message);
        Ok(())
    }

    /// Lets DeleteCustomModel succeed again; returns whether a conflict was set.
    pub fn clear_delete_conflict(&self, identifier: &str) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let name = inner.settings_name(identifier)?;
        Ok(inner.delete_conflicts.remove(&name).is_some())
    }

    /// Forces a model Active or Failed at once.
    pub fn force_status(
        &self,
        identifier: &str,
        status: ForceStatus,
    ) -> Result<ModelRecord, ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        let arn = inner
            .resolve_arn(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let forced = match status {
            ForceStatus::Active => Forced::Active,
            ForceStatus::Failed { failure_message } => Forced::Failed(
                failure_message
                    .unwrap_or_else(|| "Model import failed (forced by the emulator).".to_owned()),
            ),
        };
        let model = inner
            .models
            .get_mut(&arn)
            .ok_or_else(|| not_found(identifier))?;
        model.forced = Some(forced);
        let inner = &*inner;
        let model = inner
            .models
            .get(&arn)
            .ok_or_else(|| not_found(identifier))?;
        Ok(inner.record(model, now))
    }

    /// Inserts a model directly, as if created outside the operator. It is not in the create log.
    pub fn insert_model(&self, foreign: ForeignModel) -> Result<ModelRecord, ApiError> {
        if !validate::is_valid_model_name(&foreign.model_name) {
            return Err(ApiError::validation(format!(
                "modelName '{}' is not a valid custom model name",
                foreign.model_name
            )));
        }
        if let Some(arn) = &foreign.model_arn
            && !validate::is_valid_model_arn(arn)
        {
            return Err(ApiError::validation(format!(
                "modelArn '{arn}' is not a valid model ARN"
            )));
        }
        let now = self.now_millis();
        let mut inner = self.lock();
        if inner.names.contains_key(&foreign.model_name) {
            return Err(ApiError::conflict(format!(
                "A custom model with the name '{}' already exists.",
                foreign.model_name
            )));
        }
        let arn = match foreign.model_arn {
            Some(arn) if inner.models.contains_key(&arn) => {
                return Err(ApiError::conflict(format!(
                    "A custom model with the ARN '{arn}' already exists."
                )));
            }
            Some(arn) => arn,
            None => inner.new_arn(&self.config.region, &self.config.account_id),
        };
        let forced = match foreign.status {
            None | Some(ModelStatus::Active) => Some(Forced::Active),
            Some(ModelStatus::Failed) => Some(Forced::Failed(
                foreign
                    .failure_message
                    .unwrap_or_else(|| "Model import failed.".to_owned()),
            )),
            Some(ModelStatus::Creating) => None,
        };
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let model = Model {
            seq,
            arn: arn.clone(),
            name: foreign.model_name,
            creation_time: foreign.creation_time.unwrap_or(now),
            ready_delay: inner.ready_delay,
            source: foreign.source,
            role_arn: foreign.role_arn,
            kms_key_arn: foreign.model_kms_key_arn,
            tags: foreign.tags,
            client_request_token: None,
            base_model_arn: foreign.base_model_arn,
            base_model_name: foreign.base_model_name,
            foundation_model_arn: foreign.foundation_model_arn,
            owner_account_id: foreign
                .owner_account_id
                .unwrap_or_else(|| self.config.account_id.clone()),
            planned_failure: None,
            forced,
            foreign: true,
        };
        inner.insert(model);
        let model = inner.models.get(&arn).ok_or_else(|| not_found(&arn))?;
        Ok(inner.record(model, self.now()))
    }

    /// Sets (or, with `None`, clears) the foundation model a model was customized from. Provisioned
    /// Throughput goes by it: the throughput's `foundationModelArn`, and the same-base rule of
    /// UpdateProvisionedModelThroughput. A model without one counts as customized from
    /// [`crate::config::DEFAULT_FOUNDATION_MODEL_ID`] in the emulator's region.
    pub fn set_foundation_model(
        &self,
        identifier: &str,
        foundation_model_arn: Option<String>,
    ) -> Result<ModelRecord, ApiError> {
        if let Some(arn) = &foundation_model_arn
            && !validate::is_valid_foundation_model_arn(arn)
        {
            return Err(ApiError::validation(format!(
                "foundationModelArn '{arn}' is not a valid foundation model ARN"
            )));
        }
        let now = self.now();
        let mut inner = self.lock();
        let arn = inner
            .resolve_arn(identifier)
            .ok_or_else(|| not_found(identifier))?;
        if let Some(model) = inner.models.get_mut(&arn) {
            model.foundation_model_arn = foundation_model_arn;
        }
        let model = inner
            .models
            .get(&arn)
            .ok_or_else(|| not_found(identifier))?;
        Ok(inner.record(model, now))
    }

    /// Deletes a model out of band (no delete conflict applies); returns it if it existed.
    pub fn remove_model(&self, identifier: &str) -> Option<ModelRecord> {
        let now = self.now();
        let mut inner = self.lock();
        let arn = inner.resolve_arn(identifier)?;
        let model = inner.remove(&arn)?;
        Some(inner.record(&model, now))
    }

    /// Back to the start-up state: no models, deployments, Provisioned Throughputs, tokens, log
    /// entries, scripted failures or counters; the clock back on the wall clock; faults, delays
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
