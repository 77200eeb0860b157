//! Custom model deployments: their table, lifecycle (computed from timestamps, like the models'),
//! scripted failures, and the five Bedrock operations on them.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::info;

use super::failures::{FailureQueue, Scripted};
use super::tokens::IdempotencyTokens;
use super::{EmulatorState, Forced, Inner, after, merged_tag_count, millis, paging};
use crate::config::EmulatorConfig;
use crate::deployment::{
    CustomModelDeploymentArnOutput, CustomModelDeploymentSummary, DeploymentCreateLogEntry,
    DeploymentDelays, DeploymentFailure, DeploymentPhase, DeploymentRecord, DeploymentStatus,
    DeploymentUpdateRecord, DeploymentUpdateStatus, GetCustomModelDeploymentOutput,
    ListCustomModelDeploymentsOutput, UpdateDetails,
};
use crate::error::{ApiError, ErrorKind};
use crate::model::{ForceStatus, ModelStatus};
use crate::types::{Tag, format_timestamp};
use crate::validate::{
    CreateDeploymentFingerprint, CreateDeploymentInput, ListDeploymentsInput, UpdateDeploymentInput,
};

const DEFAULT_CREATE_FAILURE: &str =
    "The custom model deployment failed (scripted by the emulator).";
const DEFAULT_UPDATE_FAILURE: &str =
    "The custom model deployment update failed (scripted by the emulator).";

/// Every deployment, with what the operations share about them.
pub(super) struct Deployments {
    /// Deployments by ARN.
    by_arn: HashMap<String, Deployment>,
    /// Deployment ARNs by name.
    names: HashMap<String, String>,
    tokens: IdempotencyTokens<CreateDeploymentFingerprint>,
    create_log: Vec<DeploymentCreateLogEntry>,
    failures: FailureQueue<DeploymentFailure>,
    ready_delay: Duration,
    update_delay: Duration,
}

struct Deployment {
    /// Creation order, the tie-break between equal creation times.
    seq: u64,
    arn: String,
    name: String,
    description: Option<String>,
    /// The model served before the last update (the update's target once it completed).
    model_arn: String,
    created_at: DateTime<Utc>,
    /// The global delay when the deployment was created.
    ready_delay: Duration,
    /// Set by a scripted failure: the deployment fails once the delay is over.
    planned_failure: Option<String>,
    forced: Option<(Forced, DateTime<Utc>)>,
    update: Option<Update>,
    tags: Vec<Tag>,
    client_request_token: Option<String>,
}

struct Update {
    model_arn: String,
    started_at: DateTime<Utc>,
    delay: Duration,
    planned_failure: Option<String>,
}

/// A deployment at one instant.
struct View {
    status: DeploymentStatus,
    failure_message: Option<String>,
    ready_time: Option<DateTime<Utc>>,
    /// The model served now.
    model_arn: String,
    update: Option<(DeploymentUpdateStatus, DateTime<Utc>)>,
    last_updated_at: DateTime<Utc>,
}

impl Update {
    fn finishes_at(&self) -> Option<DateTime<Utc>> {
        after(self.started_at, self.delay)
    }

    fn status(&self, now: DateTime<Utc>) -> DeploymentUpdateStatus {
        match self.finishes_at() {
            Some(done) if now >= done => {
                if self.planned_failure.is_some() {
                    DeploymentUpdateStatus::UpdateFailed
                } else {
                    DeploymentUpdateStatus::UpdateCompleted
                }
            }
            _ => DeploymentUpdateStatus::Updating,
        }
    }
}

impl Deployment {
    fn view(&self, now: DateTime<Utc>) -> View {
        let ready_time = after(self.created_at, self.ready_delay);
        let mut last_updated_at = self.created_at;
        let (status, failure_message, ready_time) = match &self.forced {
            Some((Forced::Active, at)) => {
                last_updated_at = last_updated_at.max(*at);
                (DeploymentStatus::Active, None, None)
            }
            Some((Forced::Failed(message), at)) => {
                last_updated_at = last_updated_at.max(*at);
                (DeploymentStatus::Failed, Some(message.clone()), None)
            }
            None => match ready_time {
                Some(ready) if now >= ready => {
                    last_updated_at = last_updated_at.max(ready);
                    match &self.planned_failure {
                        Some(message) => (DeploymentStatus::Failed, Some(message.clone()), None),
                        None => (DeploymentStatus::Active, None, None),
                    }
                }
                _ => (DeploymentStatus::Creating, None, ready_time),
            },
        };
        let mut model_arn = self.model_arn.clone();
        let update = self.update.as_ref().map(|update| {
            let update_status = update.status(now);
            last_updated_at = last_updated_at.max(update.started_at);
            if update_status != DeploymentUpdateStatus::Updating
                && let Some(done) = update.finishes_at()
            {
                last_updated_at = last_updated_at.max(done);
            }
            if update_status == DeploymentUpdateStatus::UpdateCompleted {
                model_arn.clone_from(&update.model_arn);
            }
            (update_status, update.started_at)
        });
        View {
            status,
            failure_message,
            ready_time,
            model_arn,
            update,
            last_updated_at,
        }
    }

    /// Whether deleting `model_arn` would pull a model from under this deployment: the model
    /// it serves, or either side of a swap still Updating.
    fn uses(&self, model_arn: &str, now: DateTime<Utc>) -> bool {
        let view = self.view(now);
        view.model_arn == model_arn
            || self.update.as_ref().is_some_and(|update| {
                update.model_arn == model_arn
                    && update.status(now) == DeploymentUpdateStatus::Updating
            })
    }

    fn sort_key(&self) -> paging::SortKey {
        (self.created_at.timestamp_millis(), self.seq)
    }

    fn record(&self, now: DateTime<Utc>) -> DeploymentRecord {
        let view = self.view(now);
        DeploymentRecord {
            custom_model_deployment_arn: self.arn.clone(),
            model_deployment_name: self.name.clone(),
            model_arn: view.model_arn,
            status: view.status,
            failure_message: view.failure_message,
            description: self.description.clone(),
            created_at: self.created_at,
            ready_time: view.ready_time,
            last_updated_at: view.last_updated_at,
            update: self.update.as_ref().map(|update| {
                let started_at = update.started_at;
                DeploymentUpdateRecord {
                    model_arn: update.model_arn.clone(),
                    previous_model_arn: self.model_arn.clone(),
                    update_status: update.status(now),
                    started_at,
                    finishes_at: update.finishes_at().unwrap_or(DateTime::<Utc>::MAX_UTC),
                    failure_message: update.planned_failure.clone(),
                }
            }),
            tags: self.tags.clone(),
            client_request_token: self.client_request_token.clone(),
        }
    }
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "The custom model deployment '{identifier}' could not be found. Check the deployment name or ARN and try again."
    ))
}

impl Deployments {
    pub(super) fn new(config: &EmulatorConfig) -> Self {
        Deployments {
            by_arn: HashMap::new(),
            names: HashMap::new(),
            tokens: IdempotencyTokens::new(),
            create_log: Vec::new(),
            failures: FailureQueue::new(),
            ready_delay: config.deployment_ready_delay,
            update_delay: config.deployment_update_delay,
        }
    }

    fn resolve(&self, identifier: &str) -> Option<&Deployment> {
        self.by_arn.get(identifier).or_else(|| {
            self.names
                .get(identifier)
                .and_then(|arn| self.by_arn.get(arn))
        })
    }

    fn resolve_mut(&mut self, identifier: &str) -> Option<&mut Deployment> {
        let arn = self.resolve(identifier)?.arn.clone();
        self.by_arn.get_mut(&arn)
    }

    pub(super) fn tags_mut(&mut self, arn: &str) -> Option<&mut Vec<Tag>> {
        self.by_arn
            .get_mut(arn)
            .map(|deployment| &mut deployment.tags)
    }

    /// The names of the deployments that use `model_arn`, sorted.
    pub(super) fn using_model(&self, model_arn: &str, now: DateTime<Utc>) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_arn
            .values()
            .filter(|deployment| deployment.uses(model_arn, now))
            .map(|deployment| deployment.name.clone())
            .collect();
        names.sort();
        names
    }
}

impl Scripted for DeploymentFailure {
    type Phase = DeploymentPhase;

    fn phase(&self) -> DeploymentPhase {
        self.phase
    }

    fn target(&self) -> Option<&str> {
        self.deployment_name.as_deref()
    }

    fn remaining(&mut self) -> &mut u32 {
        &mut self.count
    }

    fn message(&self) -> Option<&str> {
        self.failure_message.as_deref()
    }
}

fn default_failure(phase: DeploymentPhase) -> &'static str {
    match phase {
        DeploymentPhase::Create => DEFAULT_CREATE_FAILURE,
        DeploymentPhase::Update => DEFAULT_UPDATE_FAILURE,
    }
}

impl Inner {
    /// Why `model_arn` cannot be deployed now, if it cannot: it must name an existing model
    /// that is Active.
    fn check_deployable(&self, model_arn: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        let Some(model) = self.models.get(model_arn) else {
            return Err(ApiError::validation(format!(
                "The custom model '{model_arn}' given as modelArn does not exist. Create the model (or check the ARN) and try again."
            )));
        };
        let lifecycle = self.models.lifecycle(model, now);
        if lifecycle.status != ModelStatus::Active {
            return Err(ApiError::validation(format!(
                "The custom model '{}' given as modelArn is {}; it must be Active to be deployed.",
                model.name,
                lifecycle.status.as_str()
            )));
        }
        Ok(())
    }
}

impl EmulatorState {
    pub(crate) fn create_custom_model_deployment(
        &self,
        input: CreateDeploymentInput,
    ) -> Result<CustomModelDeploymentArnOutput, ApiError> {
        let now = self.now_millis();
        let mut inner = self.lock();
        let max_tags = inner.limits.max_tags_per_resource;
        if merged_tag_count(&[], &input.tags) > max_tags {
            return Err(ApiError::too_many_tags(
                format!(
                    "The request has {} tags; a resource can have at most {max_tags}.",
                    input.tags.len()
                ),
                input.model_deployment_name.clone(),
            ));
        }

        let fingerprint = input.fingerprint();
        let deployments = &mut inner.deployments;
        if let Some(arn) = deployments.tokens.replay(
            input.client_request_token.as_deref(),
            &fingerprint,
            now,
            self.config.idempotency_window,
            "deployment",
        )? {
            return Ok(CustomModelDeploymentArnOutput {
                custom_model_deployment_arn: arn,
            });
        }

        // CreateCustomModelDeployment lists no ConflictException: a taken name is a
        // ValidationException, the documented code for a request the service refuses.
        if deployments.names.contains_key(&input.model_deployment_name) {
            return Err(ApiError::validation(format!(
                "A custom model deployment with the name '{}' already exists. Deployment names must be unique within the account and Region.",
                input.model_deployment_name
            )));
        }
        let max_deployments = inner.limits.max_deployments;
        if inner.deployments.by_arn.len() >= max_deployments {
            return Err(ApiError::new(
                ErrorKind::ServiceQuotaExceeded,
                format!(
                    "You have reached the quota of {max_deployments} custom model deployments in account {} and region {}.",
                    self.config.account_id, self.config.region
                ),
            ));
        }
        inner.check_deployable(&input.model_arn, now)?;

        let arn = loop {
            let suffix = inner.random_suffix();
            let arn = format!(
                "arn:aws:bedrock:{}:{}:custom-model-deployment/{suffix}",
                self.config.region, self.config.account_id
            );
            if !inner.deployments.by_arn.contains_key(&arn) {
                break arn;
            }
        };
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let deployments = &mut inner.deployments;
        let planned_failure = deployments.failures.take(
            DeploymentPhase::Create,
            &input.model_deployment_name,
            DEFAULT_CREATE_FAILURE,
        );
        let deployment = Deployment {
            seq,
            arn: arn.clone(),
            name: input.model_deployment_name.clone(),
            description: input.description,
            model_arn: input.model_arn.clone(),
            created_at: now,
            ready_delay: deployments.ready_delay,
            planned_failure,
            forced: None,
            update: None,
            tags: input.tags,
            client_request_token: input.client_request_token.clone(),
        };
        deployments
            .names
            .insert(deployment.name.clone(), arn.clone());
        deployments.by_arn.insert(arn.clone(), deployment);
        deployments.tokens.remember(
            input.client_request_token.as_deref(),
            fingerprint,
            &arn,
            &input.model_deployment_name,
            now,
        );
        deployments.create_log.push(DeploymentCreateLogEntry {
            model_deployment_name: input.model_deployment_name.clone(),
            custom_model_deployment_arn: arn.clone(),
            model_arn: input.model_arn.clone(),
            client_request_token: input.client_request_token,
            time: now,
        });
        drop(inner);
        info!(deployment = %input.model_deployment_name, arn = %arn, model = %input.model_arn, "deployment created");
        Ok(CustomModelDeploymentArnOutput {
            custom_model_deployment_arn: arn,
        })
    }

    pub(crate) fn get_custom_model_deployment(
        &self,
        identifier: &str,
    ) -> Result<GetCustomModelDeploymentOutput, ApiError> {
        let now = self.now();
        let inner = self.lock();
        let deployment = inner
            .deployments
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let view = deployment.view(now);
        Ok(GetCustomModelDeploymentOutput {
            custom_model_deployment_arn: deployment.arn.clone(),
            model_deployment_name: deployment.name.clone(),
            model_arn: view.model_arn,
            created_at: format_timestamp(&deployment.created_at),
            status: view.status.as_str(),
            description: deployment.description.clone(),
            update_details: deployment.update.as_ref().zip(view.update).map(
                |(update, (status, _))| UpdateDetails {
                    model_arn: update.model_arn.clone(),
                    update_status: status.as_str(),
                },
            ),
            failure_message: view.failure_message,
            last_updated_at: format_timestamp(&view.last_updated_at),
        })
    }

    pub(crate) fn list_custom_model_deployments(
        &self,
        input: &ListDeploymentsInput,
    ) -> Result<ListCustomModelDeploymentsOutput, ApiError> {
        let now = self.now();
        let inner = self.lock();
        let matching: Vec<(&Deployment, View)> = inner
            .deployments
            .by_arn
            .values()
            .filter(|deployment| {
                input
                    .created_before
                    .is_none_or(|before| deployment.created_at < before)
                    && input
                        .created_after
                        .is_none_or(|after| deployment.created_at > after)
                    && input
                        .name_contains
                        .as_ref()
                        .is_none_or(|part| deployment.name.contains(part.as_str()))
            })
            .map(|deployment| (deployment, deployment.view(now)))
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
            |(deployment, _)| deployment.sort_key(),
            input.sort_order,
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let model_deployment_summaries = page
            .into_iter()
            .map(|(deployment, view)| CustomModelDeploymentSummary {
                custom_model_deployment_arn: deployment.arn.clone(),
                custom_model_deployment_name: deployment.name.clone(),
                model_arn: view.model_arn,
                created_at: format_timestamp(&deployment.created_at),
                status: view.status.as_str(),
                last_updated_at: format_timestamp(&view.last_updated_at),
                failure_message: view.failure_message,
            })
            .collect();
        Ok(ListCustomModelDeploymentsOutput {
            next_token,
            model_deployment_summaries,
        })
    }

    pub(crate) fn update_custom_model_deployment(
        &self,
        identifier: &str,
        input: UpdateDeploymentInput,
    ) -> Result<CustomModelDeploymentArnOutput, ApiError> {
        let now = self.now_millis();
        let mut inner = self.lock();
        let deployment = inner
            .deployments
            .resolve(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let arn = deployment.arn.clone();
        let name = deployment.name.clone();
        let view = deployment.view(now);
        let in_progress = deployment
            .update
            .as_ref()
            .filter(|update| update.status(now) == DeploymentUpdateStatus::Updating);
        let output = CustomModelDeploymentArnOutput {
            custom_model_deployment_arn: arn.clone(),
        };
        // A retry of the call that started the running update, or a swap to the model already
        // served, changes nothing (the operation is idempotent).
        match in_progress {
            Some(update) if update.model_arn == input.model_arn => return Ok(output),
            Some(update) => {
                return Err(ApiError::validation(format!(
                    "The custom model deployment '{name}' is already being updated to model '{}'. Wait until its update is no longer Updating, then try again.",
                    update.model_arn
                )));
            }
            None => {}
        }
        if view.status != DeploymentStatus::Active {
            return Err(ApiError::validation(format!(
                "The custom model deployment '{name}' is {}; only an Active deployment can be updated.",
                view.status.as_str()
            )));
        }
        if view.model_arn == input.model_arn {
            return Ok(output);
        }
        inner.check_deployable(&input.model_arn, now)?;

        let deployments = &mut inner.deployments;
        let planned_failure =
            deployments
                .failures
                .take(DeploymentPhase::Update, &name, DEFAULT_UPDATE_FAILURE);
        let delay = deployments.update_delay;
        let Some(deployment) = deployments.by_arn.get_mut(&arn) else {
            return Err(not_found(identifier));
        };
        // The model a completed update swapped in becomes the one the next update replaces.
        deployment.model_arn = view.model_arn;
        deployment.update = Some(Update {
            model_arn: input.model_arn.clone(),
            started_at: now,
            delay,
            planned_failure,
        });
        drop(inner);
        info!(deployment = %name, arn = %arn, model = %input.model_arn, "deployment update started");
        Ok(output)
    }

    pub(crate) fn delete_custom_model_deployment(&self, identifier: &str) -> Result<(), ApiError> {
        let mut inner = self.lock();
        let deployments = &mut inner.deployments;
        let arn = deployments
            .resolve(identifier)
            .map(|deployment| deployment.arn.clone())
            .ok_or_else(|| not_found(identifier))?;
        if let Some(deployment) = deployments.by_arn.remove(&arn) {
            deployments.names.remove(&deployment.name);
            drop(inner);
            info!(deployment = %deployment.name, arn = %arn, "deployment deleted");
        }
        Ok(())
    }

    // ----- Inspection and scripting -----

    /// Every custom model deployment, in creation order.
    pub fn deployments(&self) -> Vec<DeploymentRecord> {
        let now = self.now();
        let inner = self.lock();
        let mut deployments: Vec<&Deployment> = inner.deployments.by_arn.values().collect();
        deployments.sort_by_key(|deployment| deployment.seq);
        deployments
            .into_iter()
            .map(|deployment| deployment.record(now))
            .collect()
    }

    /// One deployment, by name or ARN.
    pub fn deployment(&self, identifier: &str) -> Option<DeploymentRecord> {
        let now = self.now();
        self.lock()
            .deployments
            .resolve(identifier)
            .map(|deployment| deployment.record(now))
    }

    /// Every deployment CreateCustomModelDeployment actually created, in order.
    pub fn deployment_create_log(&self) -> Vec<DeploymentCreateLogEntry> {
        self.lock().deployments.create_log.clone()
    }

    /// Deletes a deployment out of band; returns it if it existed.
    pub fn remove_deployment(&self, identifier: &str) -> Option<DeploymentRecord> {
        let now = self.now();
        let mut inner = self.lock();
        let deployments = &mut inner.deployments;
        let arn = deployments.resolve(identifier)?.arn.clone();
        let deployment = deployments.by_arn.remove(&arn)?;
        deployments.names.remove(&deployment.name);
        Some(deployment.record(now))
    }

    /// Forces a deployment Active or Failed at once (an update in progress carries on).
    pub fn force_deployment_status(
        &self,
        identifier: &str,
        status: ForceStatus,
    ) -> Result<DeploymentRecord, ApiError> {
        let now = self.now_millis();
        let mut inner = self.lock();
        let deployment = inner
            .deployments
            .resolve_mut(identifier)
            .ok_or_else(|| not_found(identifier))?;
        let forced = match status {
            ForceStatus::Active => Forced::Active,
            ForceStatus::Failed { failure_message } => {
                Forced::Failed(failure_message.unwrap_or_else(|| DEFAULT_CREATE_FAILURE.to_owned()))
            }
        };
        deployment.forced = Some((forced, now));
        Ok(deployment.record(now))
    }

    /// Scripts failures: the next `count` creates (or updates), or those of the named
    /// deployment, fail once their delay is over. A named failure hits a deployment still
    /// Creating (or an update still Updating) at once.
    pub fn add_deployment_failure(&self, mut failure: DeploymentFailure) -> Result<(), ApiError> {
        FailureQueue::check(&mut failure, "deploymentName")?;
        let now = self.now();
        let mut inner = self.lock();
        let deployments = &mut inner.deployments;
        let message = failure.failure_message.clone();
        if let Some(deployment) = failure
            .deployment_name
            .as_deref()
            .and_then(|name| deployments.resolve_mut(name))
        {
            let view = deployment.view(now);
            match failure.phase {
                DeploymentPhase::Create if view.status == DeploymentStatus::Creating => {
                    deployment.planned_failure =
                        Some(message.unwrap_or_else(|| default_failure(failure.phase).to_owned()));
                    return Ok(());
                }
                DeploymentPhase::Update => {
                    if let Some(update) = deployment
                        .update
                        .as_mut()
                        .filter(|update| update.status(now) == DeploymentUpdateStatus::Updating)
                    {
                        update.planned_failure = Some(
                            message.unwrap_or_else(|| default_failure(failure.phase).to_owned()),
                        );
                        return Ok(());
                    }
                }
                DeploymentPhase::Create => {}
            }
        }
        deployments.failures.push(failure);
        Ok(())
    }

    /// The scripted failures not used yet.
    pub fn deployment_failures(&self) -> Vec<DeploymentFailure> {
        self.lock().deployments.failures.pending()
    }

    /// Drops every scripted failure not used yet; returns how many there were.
    pub fn clear_deployment_failures(&self) -> usize {
        self.lock().deployments.failures.clear()
    }

    pub fn deployment_delays(&self) -> DeploymentDelays {
        let inner = self.lock();
        DeploymentDelays {
            create_ms: millis(inner.deployments.ready_delay),
            update_ms: millis(inner.deployments.update_delay),
        }
    }

    /// Sets the delays of deployments created and updates started from now on.
    pub fn set_deployment_delays(&self, delays: DeploymentDelays) {
        let mut inner = self.lock();
        inner.deployments.ready_delay = Duration::from_millis(delays.create_ms);
        inner.deployments.update_delay = Duration::from_millis(delays.update_ms);
    }
}
