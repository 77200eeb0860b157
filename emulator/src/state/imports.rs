//! Model imports: the import jobs and the imported models they create, their lifecycle
//! (computed from the emulator's clock: a job is InProgress until its delay is over, then
//! Completed with a new imported model, or Failed when a failure was scripted), the quotas, and
//! the six Bedrock operations on them.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::info;

use super::conflicts::DeleteConflicts;
use super::failures::{FailureQueue, Scripted};
use super::tokens::IdempotencyTokens;
use super::{EmulatorState, Inner, after, merged_tag_count, millis, paging};
use crate::config::EmulatorConfig;
use crate::error::{ApiError, ErrorKind};
use crate::import::{
    CreateModelImportJobOutput, CustomModelUnitsOutput, GetImportedModelOutput,
    GetModelImportJobOutput, ImportDelays, ImportJobCreateLogEntry, ImportJobFailure,
    ImportJobRecord, ImportJobStatus, ImportedModelRecord, ImportedModelSummary,
    ListImportedModelsOutput, ListModelImportJobsOutput, ModelDataSourceOutput,
    ModelImportJobSummary, VpcConfigOutput,
};
use crate::types::{Tag, format_timestamp};
use crate::validate::{
    CreateImportJobFingerprint, CreateImportJobInput, ListImportJobsInput, ListImportedModelsInput,
    VpcConfig,
};

const DEFAULT_IMPORT_FAILURE: &str = "The model import job failed (scripted by the emulator): the model artifacts could not be validated.";
/// What Bedrock reads from a model's `config.json`; the emulator guesses it from the S3 URI
/// (the first of these names it contains), else reports the most common one.
const KNOWN_ARCHITECTURES: [(&str, &str); 5] = [
    ("mixtral", "mixtral"),
    ("mistral", "mistral"),
    ("flan", "flan"),
    ("qwen", "qwen2"),
    ("llama2", "llama2"),
];
const DEFAULT_ARCHITECTURE: &str = "llama3";
/// The custom model units one copy of an imported model takes, and their version.
const CUSTOM_MODEL_UNITS_PER_COPY: i32 = 1;
const CUSTOM_MODEL_UNITS_VERSION: &str = "v1.0";

/// Every import job and imported model.
pub(super) struct Imports {
    /// Jobs by ARN.
    jobs: HashMap<String, Job>,
    /// Job ARNs by name.
    job_names: HashMap<String, String>,
    /// Imported models by ARN.
    models: HashMap<String, ImportedModel>,
    /// Imported model ARNs by name.
    model_names: HashMap<String, String>,
    tokens: IdempotencyTokens<CreateImportJobFingerprint>,
    create_log: Vec<ImportJobCreateLogEntry>,
    failures: FailureQueue<ImportJobFailure>,
    /// How long jobs created from now on stay InProgress.
    job_delay: Duration,
}

struct Job {
    /// Creation order, the tie-break between equal creation times.
    seq: u64,
    arn: String,
    name: String,
    imported_model_name: String,
    /// The ARN its model gets when the job completes.
    imported_model_arn: String,
    role_arn: String,
    s3_uri: String,
    vpc_config: Option<VpcConfig>,
    kms_key_arn: Option<String>,
    creation_time: DateTime<Utc>,
    /// `None` for a delay too large to represent ("never").
    finishes_at: Option<DateTime<Utc>>,
    /// Set by a scripted failure: the job fails when it finishes.
    failure: Option<String>,
    /// Whether its end was applied (its model created, or nothing for a failure), so that a
    /// model deleted afterwards is not created again.
    settled: bool,
    tags: Vec<Tag>,
    imported_model_tags: Vec<Tag>,
    client_request_token: Option<String>,
}

struct ImportedModel {
    seq: u64,
    arn: String,
    name: String,
    job_arn: String,
    job_name: String,
    s3_uri: String,
    creation_time: DateTime<Utc>,
    architecture: &'static str,
    kms_key_arn: Option<String>,
    tags: Vec<Tag>,
}

impl Job {
    fn status(&self, now: DateTime<Utc>) -> ImportJobStatus {
        if self.finishes_at.is_none_or(|at| now < at) {
            ImportJobStatus::InProgress
        } else if self.failure.is_some() {
            ImportJobStatus::Failed
        } else {
            ImportJobStatus::Completed
        }
    }

    /// The end time, once the job ended.
    fn end_time(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.finishes_at.filter(|at| now >= *at)
    }

    fn last_modified_time(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.end_time(now).unwrap_or(self.creation_time)
    }

    fn completed_model_arn(&self, now: DateTime<Utc>) -> Option<String> {
        (self.status(now) == ImportJobStatus::Completed).then(|| self.imported_model_arn.clone())
    }

    fn failure_message(&self, now: DateTime<Utc>) -> Option<String> {
        (self.status(now) == ImportJobStatus::Failed)
            .then(|| self.failure.clone())
            .flatten()
    }

    fn sort_key(&self) -> paging::SortKey {
        (self.creation_time.timestamp_millis(), self.seq)
    }

    fn record(&self, now: DateTime<Utc>) -> ImportJobRecord {
        ImportJobRecord {
            job_arn: self.arn.clone(),
            job_name: self.name.clone(),
            imported_model_name: self.imported_model_name.clone(),
            imported_model_arn: self.completed_model_arn(now),
            status: self.status(now),
            failure_message: self.failure_message(now),
            role_arn: self.role_arn.clone(),
            s3_uri: self.s3_uri.clone(),
            creation_time: self.creation_time,
            last_modified_time: self.last_modified_time(now),
            end_time: self.finishes_at,
            tags: self.tags.clone(),
            imported_model_tags: self.imported_model_tags.clone(),
            client_request_token: self.client_request_token.clone(),
        }
    }
}

impl ImportedModel {
    fn sort_key(&self) -> paging::SortKey {
        (self.creation_time.timestamp_millis(), self.seq)
    }

    fn record(&self, conflicts: &DeleteConflicts) -> ImportedModelRecord {
        ImportedModelRecord {
            model_arn: self.arn.clone(),
            model_name: self.name.clone(),
            job_arn: self.job_arn.clone(),
            job_name: self.job_name.clone(),
            s3_uri: self.s3_uri.clone(),
            creation_time: self.creation_time,
            model_architecture: self.architecture.to_owned(),
            instruct_supported: true,
            custom_model_units_per_model_copy: CUSTOM_MODEL_UNITS_PER_COPY,
            custom_model_units_version: CUSTOM_MODEL_UNITS_VERSION.to_owned(),
            model_kms_key_arn: self.kms_key_arn.clone(),
            tags: self.tags.clone(),
            delete_conflict: conflicts.refusal(&self.name, || in_use(&self.name)),
        }
    }
}

/// DeleteImportedModel's refusal of a model in use, when a test scripts one without words.
fn in_use(name: &str) -> String {
    format!("The imported model '{name}' is in use and cannot be deleted. Stop using it first.")
}

fn architecture(s3_uri: &str) -> &'static str {
    let uri = s3_uri.to_ascii_lowercase();
    KNOWN_ARCHITECTURES
        .iter()
        .find(|(marker, _)| uri.contains(marker))
        .map_or(DEFAULT_ARCHITECTURE, |(_, architecture)| architecture)
}

/// The key ARN an `importedModelKmsKeyId` names: a key ARN as is, a bare key ID in the
/// emulator's region and account. The emulator has no KMS to resolve an alias: none then.
fn kms_key_arn(key_id: &str, region: &str, account_id: &str) -> Option<String> {
    if key_id.contains(":key/") {
        Some(key_id.to_owned())
    } else if key_id.starts_with("alias/") || key_id.contains(":alias/") {
        None
    } else {
        Some(format!("arn:aws:kms:{region}:{account_id}:key/{key_id}"))
    }
}

fn job_not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "The model import job '{identifier}' could not be found. Check the job name or ARN and try again."
    ))
}

fn model_not_found(identifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "The imported model '{identifier}' could not be found. Check the model name or ARN and try again."
    ))
}

impl Scripted for ImportJobFailure {
    type Phase = ();

    fn phase(&self) {}

    fn target(&self) -> Option<&str> {
        self.job_name.as_deref()
    }

    fn remaining(&mut self) -> &mut u32 {
        &mut self.count
    }

    fn message(&self) -> Option<&str> {
        self.failure_message.as_deref()
    }
}

impl Imports {
    pub(super) fn new(config: &EmulatorConfig) -> Self {
        Imports {
            jobs: HashMap::new(),
            job_names: HashMap::new(),
            models: HashMap::new(),
            model_names: HashMap::new(),
            tokens: IdempotencyTokens::new(),
            create_log: Vec::new(),
            failures: FailureQueue::new(),
            job_delay: config.import_job_delay,
        }
    }

    /// Applies the end of every job whose delay is over: a completed job's model appears,
    /// created when the job ended.
    pub(super) fn settle(&mut self, now: DateTime<Utc>) {
        for job in self.jobs.values_mut() {
            if job.settled || job.status(now) == ImportJobStatus::InProgress {
                continue;
            }
            job.settled = true;
            if job.failure.is_some() {
                continue;
            }
            let creation_time = job.finishes_at.unwrap_or(now);
            let model = ImportedModel {
                seq: job.seq,
                arn: job.imported_model_arn.clone(),
                name: job.imported_model_name.clone(),
                job_arn: job.arn.clone(),
                job_name: job.name.clone(),
                s3_uri: job.s3_uri.clone(),
                creation_time: DateTime::from_timestamp_millis(creation_time.timestamp_millis())
                    .unwrap_or(creation_time),
                architecture: architecture(&job.s3_uri),
                kms_key_arn: job.kms_key_arn.clone(),
                tags: job.imported_model_tags.clone(),
            };
            self.model_names
                .insert(model.name.clone(), model.arn.clone());
            self.models.insert(model.arn.clone(), model);
        }
    }

    fn job(&self, identifier: &str) -> Option<&Job> {
        self.jobs.get(identifier).or_else(|| {
            self.job_names
                .get(identifier)
                .and_then(|arn| self.jobs.get(arn))
        })
    }

    fn model(&self, identifier: &str) -> Option<&ImportedModel> {
        self.models.get(identifier).or_else(|| {
            self.model_names
                .get(identifier)
                .and_then(|arn| self.models.get(arn))
        })
    }

    /// The name of the imported model with this name or ARN.
    pub(super) fn model_name(&self, identifier: &str) -> Option<String> {
        self.model(identifier).map(|model| model.name.clone())
    }

    /// Jobs that have not ended (after [`Imports::settle`], those not settled).
    fn in_progress(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values().filter(|job| !job.settled)
    }

    pub(super) fn contains(&self, arn: &str) -> bool {
        self.jobs.contains_key(arn) || self.models.contains_key(arn)
    }

    pub(super) fn tags_mut(&mut self, arn: &str) -> Option<&mut Vec<Tag>> {
        if let Some(job) = self.jobs.get_mut(arn) {
            return Some(&mut job.tags);
        }
        self.models.get_mut(arn).map(|model| &mut model.tags)
    }
}

impl Inner {
    /// A fresh ARN of `kind` (`model-import-job`, `imported-model`) that `taken` says is free.
    fn new_import_arn(
        &mut self,
        kind: &str,
        region: &str,
        account_id: &str,
        taken: impl Fn(&Imports, &str) -> bool,
    ) -> String {
        loop {
            let suffix = self.random_suffix();
            let arn = format!("arn:aws:bedrock:{region}:{account_id}:{kind}/{suffix}");
            if !taken(&self.imports, &arn) {
                return arn;
            }
        }
    }
}

impl EmulatorState {
    // ----- Bedrock operations -----

    pub(crate) fn create_model_import_job(
        &self,
        input: CreateImportJobInput,
    ) -> Result<CreateModelImportJobOutput, ApiError> {
        let now = self.now_millis();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let max_tags = inner.limits.max_tags_per_resource;
        for (tags, member) in [
            (&input.job_tags, &input.job_name),
            (&input.imported_model_tags, &input.imported_model_name),
        ] {
            if merged_tag_count(&[], tags) > max_tags {
                return Err(ApiError::too_many_tags(
                    format!(
                        "The request has {} tags for one resource; a resource can have at most {max_tags}.",
                        tags.len()
                    ),
                    member.clone(),
                ));
            }
        }
        if inner
            .faults
            .access_denied_role_arns
            .contains(&input.role_arn)
        {
            return Err(ApiError::new(
                ErrorKind::AccessDenied,
                format!(
                    "User: arn:aws:sts::{}:assumed-role/emulator/session is not authorized to perform: iam:PassRole on resource: {}",
                    self.config.account_id, input.role_arn
                ),
            ));
        }
        let fingerprint = input.fingerprint();
        if let Some(job_arn) = inner.imports.tokens.replay(
            input.client_request_token.as_deref(),
            &fingerprint,
            now,
            self.config.idempotency_window,
            "model import job",
        )? {
            return Ok(CreateModelImportJobOutput { job_arn });
        }
        let imports = &inner.imports;
        if imports.job_names.contains_key(&input.job_name) {
            return Err(ApiError::conflict(format!(
                "A model import job with the name '{}' already exists. Job names must be unique within the account and Region.",
                input.job_name
            )));
        }
        let name_taken = imports.model_names.contains_key(&input.imported_model_name)
            || imports
                .in_progress()
                .any(|job| job.imported_model_name == input.imported_model_name);
        if name_taken {
            return Err(ApiError::conflict(format!(
                "An imported model with the name '{}' already exists or is being imported.",
                input.imported_model_name
            )));
        }
        let running = imports.in_progress().count();
        let max_jobs = inner.limits.max_concurrent_import_jobs;
        if running >= max_jobs {
            return Err(ApiError::new(
                ErrorKind::ServiceQuotaExceeded,
                format!(
                    "You have reached the quota of {max_jobs} concurrent model import jobs in account {} and region {}. Wait for a running job to end.",
                    self.config.account_id, self.config.region
                ),
            ));
        }
        let max_models = inner.limits.max_imported_models;
        if imports.models.len() + running >= max_models {
            return Err(ApiError::new(
                ErrorKind::ServiceQuotaExceeded,
                format!(
                    "You have reached the quota of {max_models} imported models in account {} and region {}. Delete imported models you no longer need.",
                    self.config.account_id, self.config.region
                ),
            ));
        }

        let (region, account_id) = (&self.config.region, &self.config.account_id);
        let job_arn =
            inner.new_import_arn("model-import-job", region, account_id, |imports, arn| {
                imports.jobs.contains_key(arn)
            });
        let model_arn =
            inner.new_import_arn("imported-model", region, account_id, |imports, arn| {
                imports.models.contains_key(arn)
                    || imports
                        .jobs
                        .values()
                        .any(|job| job.imported_model_arn == arn)
            });
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let imports = &mut inner.imports;
        let marker = &self.config.failure_marker;
        let failure = imports
            .failures
            .take((), &input.job_name, DEFAULT_IMPORT_FAILURE)
            .or_else(|| {
                (!marker.is_empty() && input.s3_uri.contains(marker.as_str())).then(|| {
                    format!(
                        "The model import job failed: the model artifacts at '{}' could not be validated.",
                        input.s3_uri
                    )
                })
            });
        let job = Job {
            seq,
            arn: job_arn.clone(),
            name: input.job_name.clone(),
            imported_model_name: input.imported_model_name.clone(),
            imported_model_arn: model_arn,
            role_arn: input.role_arn,
            s3_uri: input.s3_uri,
            vpc_config: input.vpc_config,
            kms_key_arn: input
                .imported_model_kms_key_id
                .as_deref()
                .and_then(|key| kms_key_arn(key, region, account_id)),
            creation_time: now,
            finishes_at: after(now, imports.job_delay),
            failure,
            settled: false,
            tags: input.job_tags,
            imported_model_tags: input.imported_model_tags,
            client_request_token: input.client_request_token.clone(),
        };
        imports.job_names.insert(job.name.clone(), job_arn.clone());
        imports.jobs.insert(job_arn.clone(), job);
        imports.tokens.remember(
            input.client_request_token.as_deref(),
            fingerprint,
            &job_arn,
            &input.job_name,
            now,
        );
        imports.create_log.push(ImportJobCreateLogEntry {
            job_name: input.job_name.clone(),
            job_arn: job_arn.clone(),
            imported_model_name: input.imported_model_name.clone(),
            client_request_token: input.client_request_token,
            time: now,
        });
        drop(inner);
        info!(job = %input.job_name, arn = %job_arn, imported_model = %input.imported_model_name, "model import job created");
        Ok(CreateModelImportJobOutput { job_arn })
    }

    pub(crate) fn get_model_import_job(
        &self,
        identifier: &str,
    ) -> Result<GetModelImportJobOutput, ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let job = inner
            .imports
            .job(identifier)
            .ok_or_else(|| job_not_found(identifier))?;
        Ok(GetModelImportJobOutput {
            job_arn: job.arn.clone(),
            job_name: job.name.clone(),
            imported_model_name: job.imported_model_name.clone(),
            imported_model_arn: job.completed_model_arn(now),
            role_arn: job.role_arn.clone(),
            model_data_source: ModelDataSourceOutput::s3(&job.s3_uri),
            status: job.status(now).as_str(),
            failure_message: job.failure_message(now),
            creation_time: format_timestamp(&job.creation_time),
            last_modified_time: format_timestamp(&job.last_modified_time(now)),
            end_time: job.end_time(now).as_ref().map(format_timestamp),
            vpc_config: job.vpc_config.as_ref().map(|vpc| VpcConfigOutput {
                subnet_ids: vpc.subnet_ids.clone(),
                security_group_ids: vpc.security_group_ids.clone(),
            }),
            imported_model_kms_key_arn: job.kms_key_arn.clone(),
        })
    }

    pub(crate) fn list_model_import_jobs(
        &self,
        input: &ListImportJobsInput,
    ) -> Result<ListModelImportJobsOutput, ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let matching: Vec<&Job> = inner
            .imports
            .jobs
            .values()
            .filter(|job| {
                input
                    .creation_time_before
                    .is_none_or(|before| job.creation_time < before)
                    && input
                        .creation_time_after
                        .is_none_or(|after| job.creation_time > after)
                    && input
                        .name_contains
                        .as_ref()
                        .is_none_or(|part| job.name.contains(part.as_str()))
                    && input
                        .status_equals
                        .is_none_or(|status| job.status(now) == status)
            })
            .collect();
        let (page, next_token) = paging::page(
            matching,
            |job| job.sort_key(),
            input.sort_order,
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let model_import_job_summaries = page
            .into_iter()
            .map(|job| ModelImportJobSummary {
                job_arn: job.arn.clone(),
                job_name: job.name.clone(),
                status: job.status(now).as_str(),
                last_modified_time: format_timestamp(&job.last_modified_time(now)),
                creation_time: format_timestamp(&job.creation_time),
                end_time: job.end_time(now).as_ref().map(format_timestamp),
                imported_model_arn: job.completed_model_arn(now),
                imported_model_name: job.imported_model_name.clone(),
            })
            .collect();
        Ok(ListModelImportJobsOutput {
            next_token,
            model_import_job_summaries,
        })
    }

    pub(crate) fn get_imported_model(
        &self,
        identifier: &str,
    ) -> Result<GetImportedModelOutput, ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let model = inner
            .imports
            .model(identifier)
            .ok_or_else(|| model_not_found(identifier))?;
        Ok(GetImportedModelOutput {
            model_arn: model.arn.clone(),
            model_name: model.name.clone(),
            job_name: model.job_name.clone(),
            job_arn: model.job_arn.clone(),
            model_data_source: ModelDataSourceOutput::s3(&model.s3_uri),
            creation_time: format_timestamp(&model.creation_time),
            model_architecture: model.architecture.to_owned(),
            model_kms_key_arn: model.kms_key_arn.clone(),
            instruct_supported: true,
            custom_model_units: CustomModelUnitsOutput {
                custom_model_units_per_model_copy: CUSTOM_MODEL_UNITS_PER_COPY,
                custom_model_units_version: CUSTOM_MODEL_UNITS_VERSION.to_owned(),
            },
        })
    }

    pub(crate) fn list_imported_models(
        &self,
        input: &ListImportedModelsInput,
    ) -> Result<ListImportedModelsOutput, ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let matching: Vec<&ImportedModel> = inner
            .imports
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
            })
            .collect();
        let (page, next_token) = paging::page(
            matching,
            |model| model.sort_key(),
            input.sort_order,
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let model_summaries = page
            .into_iter()
            .map(|model| ImportedModelSummary {
                model_arn: model.arn.clone(),
                model_name: model.name.clone(),
                creation_time: format_timestamp(&model.creation_time),
                instruct_supported: true,
                model_architecture: model.architecture.to_owned(),
            })
            .collect();
        Ok(ListImportedModelsOutput {
            next_token,
            model_summaries,
        })
    }

    pub(crate) fn delete_imported_model(&self, identifier: &str) -> Result<(), ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let model = inner
            .imports
            .model(identifier)
            .ok_or_else(|| model_not_found(identifier))?;
        if let Some(message) = inner
            .delete_conflicts
            .refusal(&model.name, || in_use(&model.name))
        {
            return Err(ApiError::conflict(message));
        }
        let arn = model.arn.clone();
        let imports = &mut inner.imports;
        if let Some(model) = imports.models.remove(&arn) {
            imports.model_names.remove(&model.name);
            drop(inner);
            info!(imported_model = %model.name, arn = %arn, "imported model deleted");
        }
        Ok(())
    }

    // ----- Inspection -----

    /// Every import job, in creation order.
    pub fn import_jobs(&self) -> Vec<ImportJobRecord> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let mut jobs: Vec<&Job> = inner.imports.jobs.values().collect();
        jobs.sort_by_key(|job| job.seq);
        jobs.into_iter().map(|job| job.record(now)).collect()
    }

    /// One import job, by name or ARN.
    pub fn import_job(&self, identifier: &str) -> Option<ImportJobRecord> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        inner.imports.job(identifier).map(|job| job.record(now))
    }

    /// Every imported model, in creation order.
    pub fn imported_models(&self) -> Vec<ImportedModelRecord> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let mut models: Vec<&ImportedModel> = inner.imports.models.values().collect();
        models.sort_by_key(|model| model.seq);
        models
            .into_iter()
            .map(|model| model.record(&inner.delete_conflicts))
            .collect()
    }

    /// One imported model, by name or ARN.
    pub fn imported_model(&self, identifier: &str) -> Option<ImportedModelRecord> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        inner
            .imports
            .model(identifier)
            .map(|model| model.record(&inner.delete_conflicts))
    }

    /// Forgets an import job out of band, as Bedrock forgets the records of old jobs: the model
    /// it made stays and still names it. Returns the job if it existed; a job still running
    /// never makes its model.
    pub fn remove_import_job(&self, identifier: &str) -> Option<ImportJobRecord> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let imports = &mut inner.imports;
        let arn = imports.job(identifier)?.arn.clone();
        let job = imports.jobs.remove(&arn)?;
        imports.job_names.remove(&job.name);
        drop(inner);
        info!(job = %job.name, arn = %arn, "model import job record removed");
        Some(job.record(now))
    }

    /// Every job CreateModelImportJob actually created, in order.
    pub fn import_job_create_log(&self) -> Vec<ImportJobCreateLogEntry> {
        self.lock().imports.create_log.clone()
    }

    // ----- Scripting -----

    /// Queues a scripted failure: the next `count` import jobs, or those of one job name, end
    /// Failed once their delay is over. A named failure hits a job still InProgress at once.
    pub fn add_import_job_failure(&self, mut failure: ImportJobFailure) -> Result<(), ApiError> {
        FailureQueue::check(&mut failure, "jobName")?;
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let imports = &mut inner.imports;
        let running = failure
            .job_name
            .as_deref()
            .and_then(|name| imports.job_names.get(name))
            .and_then(|arn| imports.jobs.get_mut(arn))
            .filter(|job| !job.settled);
        if let Some(job) = running {
            job.failure = Some(
                failure
                    .failure_message
                    .unwrap_or_else(|| DEFAULT_IMPORT_FAILURE.to_owned()),
            );
            return Ok(());
        }
        imports.failures.push(failure);
        Ok(())
    }

    /// The scripted failures not used yet.
    pub fn import_job_failures(&self) -> Vec<ImportJobFailure> {
        self.lock().imports.failures.pending()
    }

    /// Drops every scripted failure not used yet; returns how many there were.
    pub fn clear_import_job_failures(&self) -> usize {
        self.lock().imports.failures.clear()
    }

    pub fn import_delays(&self) -> ImportDelays {
        ImportDelays {
            job_ms: millis(self.lock().imports.job_delay),
        }
    }

    /// Sets how long import jobs created from now on stay InProgress.
    pub fn set_import_delays(&self, delays: ImportDelays) {
        self.lock().imports.job_delay = Duration::from_millis(delays.job_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_follows_the_s3_uri() {
        assert_eq!(architecture("s3://bucket/Mistral-7B/"), "mistral");
        assert_eq!(architecture("s3://bucket/mixtral-8x7b/"), "mixtral");
        assert_eq!(architecture("s3://bucket/my-model/"), "llama3");
    }

    #[test]
    fn kms_key_ids_become_key_arns() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            kms_key_arn(id, "us-east-1", "123456789012").as_deref(),
            Some("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        );
        assert_eq!(kms_key_arn("alias/mine", "us-east-1", "123456789012"), None);
    }
}
