//! Custom models: their table, lifecycle (computed from timestamps rather than timers), the
//! per-model scripting (Creating delays, delete conflicts, forced statuses, foreign models), and
//! the four Bedrock operations on them.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tracing::info;

use super::conflicts::DeleteConflicts;
use super::tokens::IdempotencyTokens;
use super::{EmulatorState, Forced, Inner, paging, scripted_name};
use crate::config::{DEFAULT_FOUNDATION_MODEL_ID, EmulatorConfig};
use crate::error::{ApiError, ErrorKind};
use crate::model::{
    CreateCustomModelOutput, CreateLogEntry, CustomModelSummary, ForceStatus, ForeignModel,
    GetCustomModelOutput, ListCustomModelsOutput, ModelRecord, ModelSource, ModelStatus,
};
use crate::types::{Tag, format_timestamp};
use crate::validate::{self, CreateCustomModelInput, CreateFingerprint, ListCustomModelsInput};

/// Every model Bedrock imports is reported with this customization type.
const CUSTOMIZATION_TYPE: &str = "IMPORTED";

/// Every model, with what the operations share about them.
pub(super) struct Models {
    /// Models by ARN.
    by_arn: HashMap<String, Model>,
    /// Model ARNs by name.
    names: HashMap<String, String>,
    tokens: IdempotencyTokens<CreateFingerprint>,
    create_log: Vec<CreateLogEntry>,
    /// The Creating delay of models created from now on.
    ready_delay: Duration,
    /// Per-name Creating delays, set before or after the model exists.
    ready_delays: HashMap<String, Duration>,
}

/// One model, with what GetCustomModel hides and the emulator's own scripting.
pub(super) struct Model {
    /// Creation order, the tie-break between equal creation times.
    seq: u64,
    pub(super) arn: String,
    pub(super) name: String,
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

/// A model's status at one instant, computed from timestamps rather than timers.
pub(super) struct Lifecycle {
    pub(super) status: ModelStatus,
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
    pub(super) fn foundation_model_arn(&self, region: &str) -> String {
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
fn default_foundation_model_arn(region: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{DEFAULT_FOUNDATION_MODEL_ID}")
}

pub(super) fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "The model '{identifier}' could not be found. Check the model identifier and try again."
    ))
}

/// DeleteCustomModel's refusal of a model in use, when a test scripts one without words.
fn in_use(name: &str) -> String {
    format!(
        "The model '{name}' is in use by a provisioned throughput and cannot be deleted. Delete the provisioned throughput first."
    )
}

/// `'a', 'b'`: names in a message.
fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("'{name}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Models {
    pub(super) fn new(config: &EmulatorConfig) -> Self {
        Models {
            by_arn: HashMap::new(),
            names: HashMap::new(),
            tokens: IdempotencyTokens::new(),
            create_log: Vec::new(),
            ready_delay: config.ready_delay,
            ready_delays: HashMap::new(),
        }
    }

    /// The model with this ARN.
    pub(super) fn get(&self, arn: &str) -> Option<&Model> {
        self.by_arn.get(arn)
    }

    /// The model with this name or ARN.
    pub(super) fn resolve(&self, identifier: &str) -> Option<&Model> {
        match self.by_arn.get(identifier) {
            Some(model) => Some(model),
            None => self
                .names
                .get(identifier)
                .and_then(|arn| self.by_arn.get(arn)),
        }
    }

    fn resolve_arn(&self, identifier: &str) -> Option<String> {
        self.resolve(identifier).map(|model| model.arn.clone())
    }

    /// A name for the per-name settings: an ARN is resolved to its model's name.
    fn settings_name(&self, identifier: &str) -> Result<String, ApiError> {
        scripted_name(identifier, |arn| {
            self.resolve(arn).map(|model| model.name.clone())
        })
    }

    pub(super) fn contains(&self, arn: &str) -> bool {
        self.by_arn.contains_key(arn)
    }

    pub(super) fn tags_mut(&mut self, arn: &str) -> Option<&mut Vec<Tag>> {
        self.by_arn.get_mut(arn).map(|model| &mut model.tags)
    }

    /// Where `model` stands at `now`, per-name delay overrides included.
    pub(super) fn lifecycle(&self, model: &Model, now: DateTime<Utc>) -> Lifecycle {
        model.lifecycle(now, &self.ready_delays)
    }

    fn insert(&mut self, model: Model) {
        self.names.insert(model.name.clone(), model.arn.clone());
        self.by_arn.insert(model.arn.clone(), model);
    }

    fn remove(&mut self, arn: &str) -> Option<Model> {
        let model = self.by_arn.remove(arn)?;
        self.names.remove(&model.name);
        Some(model)
    }

    fn record(
        &self,
        model: &Model,
        now: DateTime<Utc>,
        conflicts: &DeleteConflicts,
    ) -> ModelRecord {
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
            delete_conflict: conflicts.refusal(&model.name, || in_use(&model.name)),
        }
    }
}

impl Inner {
    /// A fresh custom model ARN no model has yet.
    fn new_arn(&mut self, region: &str, account_id: &str) -> String {
        loop {
            let suffix = self.random_suffix();
            let arn =
                format!("arn:aws:bedrock:{region}:{account_id}:custom-model/imported/{suffix}");
            if !self.models.by_arn.contains_key(&arn) {
                return arn;
            }
        }
    }
}

impl EmulatorState {
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
        if let Some(model_arn) = inner.models.tokens.replay(
            input.client_request_token.as_deref(),
            &fingerprint,
            now,
            self.config.idempotency_window,
            "model",
        )? {
            return Ok(CreateCustomModelOutput { model_arn });
        }

        if inner.models.names.contains_key(&input.model_name) {
            return Err(ApiError::conflict(format!(
                "A custom model with the name '{}' already exists.",
                input.model_name
            )));
        }
        if inner.models.by_arn.len() >= inner.limits.max_models {
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
            ready_delay: inner.models.ready_delay,
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
        inner.models.insert(model);
        inner.models.tokens.remember(
            input.client_request_token.as_deref(),
            fingerprint,
            &arn,
            &input.model_name,
            now,
        );
        inner.models.create_log.push(CreateLogEntry {
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
            .models
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let lifecycle = model.lifecycle(now, &inner.models.ready_delays);
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
            .by_arn
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
            .map(|model| (model, model.lifecycle(now, &inner.models.ready_delays)))
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
            .models
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        if let Some(message) = inner
            .delete_conflicts
            .refusal(&model.name, || in_use(&model.name))
        {
            return Err(ApiError::conflict(message));
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
        if let Some(model) = inner.models.remove(&arn) {
            drop(inner);
            info!(model = %model.name, arn = %arn, "model deleted");
        }
        Ok(())
    }

    // ----- Inspection -----

    /// Every model CreateCustomModel actually created, in order.
    pub fn create_log(&self) -> Vec<CreateLogEntry> {
        self.lock().models.create_log.clone()
    }

    /// The whole model table, in creation order.
    pub fn models(&self) -> Vec<ModelRecord> {
        let now = self.now();
        let inner = self.lock();
        let mut models: Vec<&Model> = inner.models.by_arn.values().collect();
        models.sort_by_key(|model| model.seq);
        models
            .into_iter()
            .map(|model| inner.models.record(model, now, &inner.delete_conflicts))
            .collect()
    }

    /// One model, by name or ARN.
    pub fn model(&self, identifier: &str) -> Option<ModelRecord> {
        let now = self.now();
        let inner = self.lock();
        inner
            .models
            .resolve(identifier)
            .map(|model| inner.models.record(model, now, &inner.delete_conflicts))
    }

    /// The delay new models spend in Creating.
    pub fn default_ready_delay(&self) -> Duration {
        self.lock().models.ready_delay
    }

    // ----- Scripting -----

    /// Sets the delay models created from now on spend in Creating.
    pub fn set_default_ready_delay(&self, delay: Duration) {
        self.lock().models.ready_delay = delay;
    }

    /// Sets the Creating delay of one model (by name, or ARN of an existing model), before or
    /// after its creation. It counts from the model's creation time.
    pub fn set_ready_delay(&self, identifier: &str, delay: Duration) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let name = inner.models.settings_name(identifier)?;
        inner.models.ready_delays.insert(name, delay);
        Ok(())
    }

    /// Removes a per-model delay; returns whether there was one.
    pub fn clear_ready_delay(&self, identifier: &str) -> Result<bool, ApiError> {
        let mut inner = self.lock();
        let name = inner.models.settings_name(identifier)?;
        Ok(inner.models.ready_delays.remove(&name).is_some())
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
            .models
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
            .by_arn
            .get_mut(&arn)
            .ok_or_else(|| not_found(identifier))?;
        model.forced = Some(forced);
        let inner = &*inner;
        let model = inner
            .models
            .by_arn
            .get(&arn)
            .ok_or_else(|| not_found(identifier))?;
        Ok(inner.models.record(model, now, &inner.delete_conflicts))
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
        if inner.models.names.contains_key(&foreign.model_name) {
            return Err(ApiError::conflict(format!(
                "A custom model with the name '{}' already exists.",
                foreign.model_name
            )));
        }
        let arn = match foreign.model_arn {
            Some(arn) if inner.models.by_arn.contains_key(&arn) => {
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
            ready_delay: inner.models.ready_delay,
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
        inner.models.insert(model);
        let model = inner
            .models
            .by_arn
            .get(&arn)
            .ok_or_else(|| not_found(&arn))?;
        Ok(inner
            .models
            .record(model, self.now(), &inner.delete_conflicts))
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
            .models
            .resolve_arn(identifier)
            .ok_or_else(|| not_found(identifier))?;
        if let Some(model) = inner.models.by_arn.get_mut(&arn) {
            model.foundation_model_arn = foundation_model_arn;
        }
        let model = inner
            .models
            .by_arn
            .get(&arn)
            .ok_or_else(|| not_found(identifier))?;
        Ok(inner.models.record(model, now, &inner.delete_conflicts))
    }

    /// Deletes a model out of band (no delete conflict applies); returns it if it existed.
    pub fn remove_model(&self, identifier: &str) -> Option<ModelRecord> {
        let now = self.now();
        let mut inner = self.lock();
        let arn = inner.models.resolve_arn(identifier)?;
        let model = inner.models.remove(&arn)?;
        Some(inner.models.record(&model, now, &inner.delete_conflicts))
    }
}
