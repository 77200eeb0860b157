//! Provisioned Throughput: its table, lifecycle (computed from the emulator's clock, like the
//! models' and deployments'), commitment terms, the model-unit quota, the model it may be
//! switched to, scripted failures, and the five Bedrock operations on it.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::info;

use super::failures::{FailureQueue, Scripted};
use super::tokens::IdempotencyTokens;
use super::{EmulatorState, Inner, after, merged_tag_count, millis, paging};
use crate::config::EmulatorConfig;
use crate::error::{ApiError, ErrorKind};
use crate::model::ModelStatus;
use crate::provisioned::{
    CommitmentDuration, GetProvisionedModelThroughputOutput, ListProvisionedModelThroughputsOutput,
    ProvisionedCreateLogEntry, ProvisionedDelays, ProvisionedFailure, ProvisionedForceStatus,
    ProvisionedModelArnOutput, ProvisionedModelSummary, ProvisionedPhase, ProvisionedRecord,
    ProvisionedStatus,
};
use crate::types::{Tag, format_timestamp};
use crate::validate::{
    CreateProvisionedFingerprint, CreateProvisionedInput, ListProvisionedInput,
    UpdateProvisionedInput,
};

const DEFAULT_CREATE_FAILURE: &str =
    "The Provisioned Throughput could not be created (scripted by the emulator).";
const DEFAULT_UPDATE_FAILURE: &str =
    "The Provisioned Throughput could not be updated to the new model (scripted by the emulator).";
const DEFAULT_FORCED_FAILURE: &str = "The Provisioned Throughput failed (forced by the emulator).";

/// Every Provisioned Throughput, with what the operations share about them.
pub(super) struct Provisioned {
    /// Throughputs by ARN.
    by_arn: HashMap<String, Throughput>,
    /// Throughput ARNs by name.
    names: HashMap<String, String>,
    tokens: IdempotencyTokens<CreateProvisionedFingerprint>,
    create_log: Vec<ProvisionedCreateLogEntry>,
    failures: FailureQueue<ProvisionedFailure>,
    create_delay: Duration,
    update_delay: Duration,
}

struct Throughput {
    /// Creation order, the tie-break between equal creation times.
    seq: u64,
    arn: String,
    name: String,
    model_units: i32,
    /// The model served before the last transition (its target once an update completed).
    model_arn: String,
    /// The base model: the foundation model itself, or the one the custom model was
    /// customized from.
    foundation_model_arn: String,
    /// Bought for a foundation model: its model cannot be changed.
    for_foundation_model: bool,
    commitment: Option<CommitmentDuration>,
    commitment_expiration_time: Option<DateTime<Utc>>,
    creation_time: DateTime<Utc>,
    /// The create, or the last model update.
    transition: Transition,
    /// The last change that is not a transition's start or end: a rename or a forced status.
    touched_at: DateTime<Utc>,
    tags: Vec<Tag>,
    client_request_token: Option<String>,
}

struct Transition {
    /// The model an update switches to; `None` for the create.
    target: Option<String>,
    started_at: DateTime<Utc>,
    /// `None` for a delay too large to represent ("never").
    finishes_at: Option<DateTime<Utc>>,
    /// Set by a scripted (or forced) failure: the transition fails when it finishes.
    failure: Option<String>,
}

impl Transition {
    fn finished(&self, now: DateTime<Utc>) -> bool {
        self.finishes_at.is_some_and(|at| now >= at)
    }
}

/// A throughput at one instant.
struct View {
    status: ProvisionedStatus,
    failure_message: Option<String>,
    model_arn: String,
    desired_model_arn: String,
    ready_time: Option<DateTime<Utc>>,
    last_modified_time: DateTime<Utc>,
}

impl Throughput {
    fn view(&self, now: DateTime<Utc>) -> View {
        let transition = &self.transition;
        let desired_model_arn = transition
            .target
            .clone()
            .unwrap_or_else(|| self.model_arn.clone());
        let mut last_modified_time = self
            .creation_time
            .max(transition.started_at)
            .max(self.touched_at);
        if !transition.finished(now) {
            let status = match transition.target {
                None => ProvisionedStatus::Creating,
                Some(_) => ProvisionedStatus::Updating,
            };
            return View {
                status,
                failure_message: None,
                model_arn: self.model_arn.clone(),
                desired_model_arn,
                ready_time: transition.finishes_at,
                last_modified_time,
            };
        }
        if let Some(finished) = transition.finishes_at {
            last_modified_time = last_modified_time.max(finished);
        }
        match &transition.failure {
            // A failed update leaves the old model in place; desiredModelArn keeps the new one.
            Some(message) => View {
                status: ProvisionedStatus::Failed,
                failure_message: Some(message.clone()),
                model_arn: self.model_arn.clone(),
                desired_model_arn,
                ready_time: None,
                last_modified_time,
            },
            None => View {
                status: ProvisionedStatus::InService,
                failure_message: None,
                model_arn: desired_model_arn.clone(),
                desired_model_arn,
                ready_time: None,
                last_modified_time,
            },
        }
    }

    /// Whether deleting `model_arn` would pull a model from under this throughput: the model it
    /// serves, or the one an update still Updating switches to.
    fn uses(&self, model_arn: &str, now: DateTime<Utc>) -> bool {
        let view = self.view(now);
        view.model_arn == model_arn
            || (view.status == ProvisionedStatus::Updating && view.desired_model_arn == model_arn)
    }

    fn sort_key(&self) -> paging::SortKey {
        (self.creation_time.timestamp_millis(), self.seq)
    }

    fn record(&self, now: DateTime<Utc>) -> ProvisionedRecord {
        let view = self.view(now);
        ProvisionedRecord {
            provisioned_model_arn: self.arn.clone(),
            provisioned_model_name: self.name.clone(),
            model_arn: view.model_arn,
            desired_model_arn: view.desired_model_arn,
            foundation_model_arn: self.foundation_model_arn.clone(),
            model_units: self.model_units,
            desired_model_units: self.model_units,
            status: view.status,
            failure_message: view.failure_message,
            commitment_duration: self.commitment,
            commitment_expiration_time: self.commitment_expiration_time,
            creation_time: self.creation_time,
            last_modified_time: view.last_modified_time,
            ready_time: view.ready_time,
            tags: self.tags.clone(),
            client_request_token: self.client_request_token.clone(),
        }
    }
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "The Provisioned Throughput '{identifier}' could not be found. Check the name or ARN and try again."
    ))
}

impl Scripted for ProvisionedFailure {
    type Phase = ProvisionedPhase;

    fn phase(&self) -> ProvisionedPhase {
        self.phase
    }

    fn target(&self) -> Option<&str> {
        self.provisioned_model_name.as_deref()
    }

    fn remaining(&mut self) -> &mut u32 {
        &mut self.count
    }

    fn message(&self) -> Option<&str> {
        self.failure_message.as_deref()
    }
}

fn default_failure(phase: ProvisionedPhase) -> &'static str {
    match phase {
        ProvisionedPhase::Create => DEFAULT_CREATE_FAILURE,
        ProvisionedPhase::Update => DEFAULT_UPDATE_FAILURE,
    }
}

impl Provisioned {
    pub(super) fn new(config: &EmulatorConfig) -> Self {
        Provisioned {
            by_arn: HashMap::new(),
            names: HashMap::new(),
            tokens: IdempotencyTokens::new(),
            create_log: Vec::new(),
            failures: FailureQueue::new(),
            create_delay: config.provisioned_create_delay,
            update_delay: config.provisioned_update_delay,
        }
    }

    fn resolve(&self, identifier: &str) -> Option<&Throughput> {
        self.by_arn.get(identifier).or_else(|| {
            self.names
                .get(identifier)
                .and_then(|arn| self.by_arn.get(arn))
        })
    }

    fn resolve_mut(&mut self, identifier: &str) -> Option<&mut Throughput> {
        let arn = self.resolve(identifier)?.arn.clone();
        self.by_arn.get_mut(&arn)
    }

    fn remove(&mut self, arn: &str) -> Option<Throughput> {
        let throughput = self.by_arn.remove(arn)?;
        self.names.remove(&throughput.name);
        Some(throughput)
    }

    pub(super) fn contains(&self, arn: &str) -> bool {
        self.by_arn.contains_key(arn)
    }

    pub(super) fn tags_mut(&mut self, arn: &str) -> Option<&mut Vec<Tag>> {
        self.by_arn
            .get_mut(arn)
            .map(|throughput| &mut throughput.tags)
    }

    /// The names of the throughputs that use `model_arn`, sorted.
    pub(super) fn using_model(&self, model_arn: &str, now: DateTime<Utc>) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_arn
            .values()
            .filter(|throughput| throughput.uses(model_arn, now))
            .map(|throughput| throughput.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Model units held by every existing throughput, whatever its status.
    fn units_in_use(&self) -> i64 {
        self.by_arn
            .values()
            .map(|throughput| i64::from(throughput.model_units))
            .sum()
    }
}

/// A `modelId` resolved: the ARN to serve and its base model.
struct ProvisionableModel {
    model_arn: String,
    foundation_model_arn: String,
    is_foundation_model: bool,
}

impl Inner {
    /// Resolves a `modelId` (custom model name or ARN, foundation model ID or ARN). A custom model
    /// must exist (`missing` makes the error when it does not) and be Active. The emulator has no
    /// catalogue of foundation models: any well-formed foundation model is accepted.
    fn provisionable_model(
        &self,
        model_id: &str,
        member: &str,
        region: &str,
        now: DateTime<Utc>,
        missing: fn(String) -> ApiError,
    ) -> Result<ProvisionableModel, ApiError> {
        let foundation_model_arn = if model_id.starts_with("arn:") {
            model_id
                .contains(":foundation-model/")
                .then(|| model_id.to_owned())
        } else {
            // Custom model names cannot contain a dot; foundation model IDs always do.
            model_id
                .contains('.')
                .then(|| format!("arn:aws:bedrock:{region}::foundation-model/{model_id}"))
        };
        if let Some(arn) = foundation_model_arn {
            return Ok(ProvisionableModel {
                model_arn: arn.clone(),
                foundation_model_arn: arn,
                is_foundation_model: true,
            });
        }
        let model = self.models.resolve(model_id).ok_or_else(|| {
            missing(format!(
                "The custom model '{model_id}' given as {member} could not be found. Check the model name or ARN and try again."
            ))
        })?;
        let status = self.models.lifecycle(model, now).status;
        if status != ModelStatus::Active {
            return Err(ApiError::validation(format!(
                "The custom model '{}' given as {member} is {}; it must be Active to be used by a Provisioned Throughput.",
                model.name,
                status.as_str()
            )));
        }
        Ok(ProvisionableModel {
            model_arn: model.arn.clone(),
            foundation_model_arn: model.foundation_model_arn(region),
            is_foundation_model: false,
        })
    }
}

impl EmulatorState {
    pub(crate) fn create_provisioned_model_throughput(
        &self,
        input: CreateProvisionedInput,
    ) -> Result<ProvisionedModelArnOutput, ApiError> {
        let now = self.now_millis();
        let mut inner = self.lock();
        let max_tags = inner.limits.max_tags_per_resource;
        if merged_tag_count(&[], &input.tags) > max_tags {
            return Err(ApiError::too_many_tags(
                format!(
                    "The request has {} tags; a resource can have at most {max_tags}.",
                    input.tags.len()
                ),
                input.provisioned_model_name.clone(),
            ));
        }
        let fingerprint = input.fingerprint();
        if let Some(arn) = inner.provisioned.tokens.replay(
            input.client_request_token.as_deref(),
            &fingerprint,
            now,
            self.config.idempotency_window,
            "Provisioned Throughput",
        )? {
            return Ok(ProvisionedModelArnOutput {
                provisioned_model_arn: arn,
            });
        }
        // CreateProvisionedModelThroughput lists no ConflictException: a taken name is a
        // ValidationException, as for deployments.
        if inner
            .provisioned
            .names
            .contains_key(&input.provisioned_model_name)
        {
            return Err(ApiError::validation(format!(
                "A Provisioned Throughput with the name '{}' already exists. Provisioned Throughput names must be unique within the account and Region.",
                input.provisioned_model_name
            )));
        }
        let model = inner.provisionable_model(
            &input.model_id,
            "modelId",
            &self.config.region,
            now,
            ApiError::not_found,
        )?;
        let max_units = inner.limits.max_provisioned_model_units;
        let in_use = inner.provisioned.units_in_use();
        if in_use + i64::from(input.model_units) > i64::try_from(max_units).unwrap_or(i64::MAX) {
            return Err(ApiError::new(
                ErrorKind::ServiceQuotaExceeded,
                format!(
                    "Creating a Provisioned Throughput of {} model units would exceed the quota of {max_units} model units in account {} and region {} ({in_use} in use). Request more model units through the AWS support center, or delete Provisioned Throughputs you no longer need.",
                    input.model_units, self.config.account_id, self.config.region
                ),
            ));
        }

        let arn = loop {
            let suffix = inner.random_suffix();
            let arn = format!(
                "arn:aws:bedrock:{}:{}:provisioned-model/{suffix}",
                self.config.region, self.config.account_id
            );
            if !inner.provisioned.by_arn.contains_key(&arn) {
                break arn;
            }
        };
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let provisioned = &mut inner.provisioned;
        let failure = provisioned.failures.take(
            ProvisionedPhase::Create,
            &input.provisioned_model_name,
            DEFAULT_CREATE_FAILURE,
        );
        let throughput = Throughput {
            seq,
            arn: arn.clone(),
            name: input.provisioned_model_name.clone(),
            model_units: input.model_units,
            model_arn: model.model_arn.clone(),
            foundation_model_arn: model.foundation_model_arn,
            for_foundation_model: model.is_foundation_model,
            commitment: input.commitment_duration,
            commitment_expiration_time: input
                .commitment_duration
                .and_then(|term| term.expiration(now)),
            creation_time: now,
            transition: Transition {
                target: None,
                started_at: now,
                finishes_at: after(now, provisioned.create_delay),
                failure,
            },
            touched_at: now,
            tags: input.tags,
            client_request_token: input.client_request_token.clone(),
        };
        provisioned
            .names
            .insert(throughput.name.clone(), arn.clone());
        provisioned.by_arn.insert(arn.clone(), throughput);
        provisioned.tokens.remember(
            input.client_request_token.as_deref(),
            fingerprint,
            &arn,
            &input.provisioned_model_name,
            now,
        );
        provisioned.create_log.push(ProvisionedCreateLogEntry {
            provisioned_model_name: input.provisioned_model_name.clone(),
            provisioned_model_arn: arn.clone(),
            model_arn: model.model_arn.clone(),
            model_units: input.model_units,
            commitment_duration: input.commitment_duration,
            client_request_token: input.client_request_token,
            time: now,
        });
        drop(inner);
        info!(provisioned_model = %input.provisioned_model_name, arn = %arn, model = %model.model_arn, units = input.model_units, "provisioned throughput created");
        Ok(ProvisionedModelArnOutput {
            provisioned_model_arn: arn,
        })
    }

    pub(crate) fn get_provisioned_model_throughput(
        &self,
        identifier: &str,
    ) -> Result<GetProvisionedModelThroughputOutput, ApiError> {
        let now = self.now();
        let inner = self.lock();
        let throughput = inner
            .provisioned
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let view = throughput.view(now);
        Ok(GetProvisionedModelThroughputOutput {
            model_units: throughput.model_units,
            desired_model_units: throughput.model_units,
            provisioned_model_name: throughput.name.clone(),
            provisioned_model_arn: throughput.arn.clone(),
            model_arn: view.model_arn,
            desired_model_arn: view.desired_model_arn,
            foundation_model_arn: throughput.foundation_model_arn.clone(),
            status: view.status.as_str(),
            creation_time: format_timestamp(&throughput.creation_time),
            last_modified_time: format_timestamp(&view.last_modified_time),
            failure_message: view.failure_message,
            commitment_duration: throughput.commitment.map(CommitmentDuration::as_str),
            commitment_expiration_time: throughput
                .commitment_expiration_time
                .as_ref()
                .map(format_timestamp),
        })
    }

    pub(crate) fn list_provisioned_model_throughputs(
        &self,
        input: &ListProvisionedInput,
    ) -> Result<ListProvisionedModelThroughputsOutput, ApiError> {
        let now = self.now();
        let inner = self.lock();
        let matching: Vec<(&Throughput, View)> = inner
            .provisioned
            .by_arn
            .values()
            .filter(|throughput| {
                input
                    .creation_time_before
                    .is_none_or(|before| throughput.creation_time < before)
                    && input
                        .creation_time_after
                        .is_none_or(|after| throughput.creation_time > after)
                    && input
                        .name_contains
                        .as_ref()
                        .is_none_or(|part| throughput.name.contains(part.as_str()))
            })
            .map(|throughput| (throughput, throughput.view(now)))
            .filter(|(_, view)| {
                input
                    .status_equals
                    .is_none_or(|status| view.status == status)
                    && input
                        .model_arn_equals
                        .as_ref()
                        .is_none_or(|arn| &view.model_arn == arn)
            })
            .collect();
        let (page, next_token) = paging::page(
            matching,
            |(throughput, _)| throughput.sort_key(),
            input.sort_order,
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let provisioned_model_summaries = page
            .into_iter()
            .map(|(throughput, view)| ProvisionedModelSummary {
                provisioned_model_name: throughput.name.clone(),
                provisioned_model_arn: throughput.arn.clone(),
                model_arn: view.model_arn,
                desired_model_arn: view.desired_model_arn,
                foundation_model_arn: throughput.foundation_model_arn.clone(),
                model_units: throughput.model_units,
                desired_model_units: throughput.model_units,
                status: view.status.as_str(),
                commitment_duration: throughput.commitment.map(CommitmentDuration::as_str),
                commitment_expiration_time: throughput
                    .commitment_expiration_time
                    .as_ref()
                    .map(format_timestamp),
                creation_time: format_timestamp(&throughput.creation_time),
                last_modified_time: format_timestamp(&view.last_modified_time),
            })
            .collect();
        Ok(ListProvisionedModelThroughputsOutput {
            next_token,
            provisioned_model_summaries,
        })
    }

    /// Renames (at once) and/or switches the model (Updating for the update delay). Every check
    /// runs before anything changes: a refused request changes nothing.
    pub(crate) fn update_provisioned_model_throughput(
        &self,
        identifier: &str,
        input: UpdateProvisionedInput,
    ) -> Result<(), ApiError> {
        let now = self.now_millis();
        let mut inner = self.lock();
        let throughput = inner
            .provisioned
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let arn = throughput.arn.clone();
        let name = throughput.name.clone();
        let view = throughput.view(now);

        let rename = input
            .desired_provisioned_model_name
            .filter(|desired| *desired != name);
        if let Some(desired) = &rename
            && inner.provisioned.names.contains_key(desired)
        {
            return Err(ApiError::validation(format!(
                "A Provisioned Throughput with the name '{desired}' already exists. Provisioned Throughput names must be unique within the account and Region."
            )));
        }

        let switch = match input.desired_model_id {
            None => None,
            Some(model_id) => {
                if throughput.for_foundation_model {
                    return Err(ApiError::validation(format!(
                        "The Provisioned Throughput '{name}' was bought for the base model '{}'; its model cannot be changed (desiredModelId applies only to Provisioned Throughput of custom models).",
                        throughput.foundation_model_arn
                    )));
                }
                // A missing model is a ValidationException here: ResourceNotFoundException
                // would read as "the Provisioned Throughput is gone".
                let model = inner.provisionable_model(
                    &model_id,
                    "desiredModelId",
                    &self.config.region,
                    now,
                    ApiError::validation,
                )?;
                match view.status {
                    // A retry of the call that started the running update changes nothing.
                    ProvisionedStatus::Updating if view.desired_model_arn == model.model_arn => {
                        None
                    }
                    // Asking for the model already served changes nothing, in any status.
                    status
                        if status != ProvisionedStatus::Updating
                            && view.model_arn == model.model_arn =>
                    {
                        None
                    }
                    ProvisionedStatus::InService => {
                        if model.foundation_model_arn != throughput.foundation_model_arn {
                            return Err(ApiError::validation(format!(
                                "The model '{}' is customized from '{}', but the Provisioned Throughput '{name}' serves models of the base model '{}'. Choose the base model or another custom model customized from it.",
                                model.model_arn,
                                model.foundation_model_arn,
                                throughput.foundation_model_arn
                            )));
                        }
                        Some(model.model_arn)
                    }
                    status => {
                        // UpdateProvisionedModelThroughput lists no ConflictException.
                        return Err(ApiError::validation(format!(
                            "The Provisioned Throughput '{name}' is {}; its model can be changed only while it is InService.",
                            status.as_str()
                        )));
                    }
                }
            }
        };

        let provisioned = &mut inner.provisioned;
        let failure = switch.as_ref().and_then(|_| {
            provisioned
                .failures
                .take(ProvisionedPhase::Update, &name, DEFAULT_UPDATE_FAILURE)
        });
        let update_delay = provisioned.update_delay;
        let Some(throughput) = provisioned.by_arn.get_mut(&arn) else {
            return Err(not_found(identifier));
        };
        if let Some(model_arn) = &switch {
            // The model a completed update switched to is the one this update replaces.
            throughput.model_arn.clone_from(&view.model_arn);
            throughput.transition = Transition {
                target: Some(model_arn.clone()),
                started_at: now,
                finishes_at: after(now, update_delay),
                failure,
            };
        }
        if let Some(desired) = &rename {
            throughput.name.clone_from(desired);
            throughput.touched_at = now;
            provisioned.names.remove(&name);
            provisioned.names.insert(desired.clone(), arn.clone());
        }
        drop(inner);
        info!(provisioned_model = %name, arn = %arn, renamed = ?rename, model = ?switch, "provisioned throughput updated");
        Ok(())
    }

    /// Deletes a throughput, unless its commitment term is still running.
    pub(crate) fn delete_provisioned_model_throughput(
        &self,
        identifier: &str,
    ) -> Result<(), ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        let throughput = inner
            .provisioned
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        if let (Some(term), Some(ends)) =
            (throughput.commitment, throughput.commitment_expiration_time)
            && now < ends
        {
            return Err(ApiError::conflict(format!(
                "The Provisioned Throughput '{}' has a {} commitment term that ends at {}; it cannot be deleted before then.",
                throughput.name,
                term.as_str(),
                format_timestamp(&ends)
            )));
        }
        let arn = throughput.arn.clone();
        if let Some(throughput) = inner.provisioned.remove(&arn) {
            drop(inner);
            info!(provisioned_model = %throughput.name, arn = %arn, "provisioned throughput deleted");
        }
        Ok(())
    }

    // ----- Inspection and scripting -----

    /// Every Provisioned Throughput, in creation order.
    pub fn provisioned_throughputs(&self) -> Vec<ProvisionedRecord> {
        let now = self.now();
        let inner = self.lock();
        let mut throughputs: Vec<&Throughput> = inner.provisioned.by_arn.values().collect();
        throughputs.sort_by_key(|throughput| throughput.seq);
        throughputs
            .into_iter()
            .map(|throughput| throughput.record(now))
            .collect()
    }

    /// One Provisioned Throughput, by name or ARN.
    pub fn provisioned_throughput(&self, identifier: &str) -> Option<ProvisionedRecord> {
        let now = self.now();
        self.lock()
            .provisioned
            .resolve(identifier)
            .map(|throughput| throughput.record(now))
    }

    /// Every Provisioned Throughput CreateProvisionedModelThroughput actually created, in order.
    pub fn provisioned_create_log(&self) -> Vec<ProvisionedCreateLogEntry> {
        self.lock().provisioned.create_log.clone()
    }

    /// Deletes a Provisioned Throughput out of band (no commitment applies); returns it if it
    /// existed.
    pub fn remove_provisioned_throughput(&self, identifier: &str) -> Option<ProvisionedRecord> {
        let now = self.now();
        let mut inner = self.lock();
        let arn = inner.provisioned.resolve(identifier)?.arn.clone();
        inner
            .provisioned
            .remove(&arn)
            .map(|throughput| throughput.record(now))
    }

    /// Ends the create or model update in progress now, InService or Failed; on a throughput
    /// already settled, rewrites how its last create or update ended (InService after a failed
    /// update serves the new model).
    pub fn force_provisioned_status(
        &self,
        identifier: &str,
        status: ProvisionedForceStatus,
    ) -> Result<ProvisionedRecord, ApiError> {
        let now = self.now_millis();
        let mut inner = self.lock();
        let throughput = inner
            .provisioned
            .resolve_mut(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let transition = &mut throughput.transition;
        if !transition.finished(now) {
            transition.finishes_at = Some(now);
        }
        transition.failure = match status {
            ProvisionedForceStatus::InService => None,
            ProvisionedForceStatus::Failed { failure_message } => {
                Some(failure_message.unwrap_or_else(|| DEFAULT_FORCED_FAILURE.to_owned()))
            }
        };
        throughput.touched_at = now;
        Ok(throughput.record(now))
    }

    /// Scripts failures: the next `count` creates (or model updates), or those of the named
    /// Provisioned Throughput, fail once their delay is over. A named failure hits a throughput
    /// still Creating (or Updating, for the update phase) at once.
    pub fn add_provisioned_failure(&self, mut failure: ProvisionedFailure) -> Result<(), ApiError> {
        FailureQueue::check(&mut failure, "provisionedModelName")?;
        let now = self.now();
        let mut inner = self.lock();
        let provisioned = &mut inner.provisioned;
        if let Some(throughput) = failure
            .provisioned_model_name
            .as_deref()
            .and_then(|name| provisioned.resolve_mut(name))
        {
            let running = match throughput.view(now).status {
                ProvisionedStatus::Creating => Some(ProvisionedPhase::Create),
                ProvisionedStatus::Updating => Some(ProvisionedPhase::Update),
                ProvisionedStatus::InService | ProvisionedStatus::Failed => None,
            };
            if running == Some(failure.phase) {
                throughput.transition.failure = Some(
                    failure
                        .failure_message
                        .unwrap_or_else(|| default_failure(failure.phase).to_owned()),
                );
                return Ok(());
            }
        }
        provisioned.failures.push(failure);
        Ok(())
    }

    /// The scripted failures not used yet.
    pub fn provisioned_failures(&self) -> Vec<ProvisionedFailure> {
        self.lock().provisioned.failures.pending()
    }

    /// Drops every scripted failure not used yet; returns how many there were.
    pub fn clear_provisioned_failures(&self) -> usize {
        self.lock().provisioned.failures.clear()
    }

    pub fn provisioned_delays(&self) -> ProvisionedDelays {
        let inner = self.lock();
        ProvisionedDelays {
            create_ms: millis(inner.provisioned.create_delay),
            update_ms: millis(inner.provisioned.update_delay),
        }
    }

    /// Sets the delays of Provisioned Throughputs created and model updates started from now on.
    pub fn set_provisioned_delays(&self, delays: ProvisionedDelays) {
        let mut inner = self.lock();
        inner.provisioned.create_delay = Duration::from_millis(delays.create_ms);
        inner.provisioned.update_delay = Duration::from_millis(delays.update_ms);
    }
}
