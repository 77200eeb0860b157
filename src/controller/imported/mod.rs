//! BedrockImportedModel: its hooks in the shared lifecycle ([`super::lifecycle`],
//! [`super::apply`], [`super::cleanup`]): a one-shot import job that makes an imported model,
//! no model reference, no change in place. Its decisions are in `plan`.

use std::convert::Infallible;

use tracing::info;

pub mod plan;

use super::apply::{Apply, Facts, Plans};
use super::context::Context;
use super::error::Error;
use super::holding::Lost;
use super::kind::{Managed, status_access};
use super::lifecycle::{Flow, Lifecycle, no_update};
use super::outcome::{self};
use super::settings::Policy;
use super::wiring::Wired;
use crate::api::validation::FieldError;
use crate::api::{BedrockImportedModel, BedrockImportedModelStatus, ValidImported};
use crate::bedrock::{
    Bedrock, BedrockError, CreateImportRequest, ErrorClass, ImportJob, JobState, RemoteImport,
};
use crate::metrics::Metrics;
use plan::{Observation, Plan};

impl Managed for BedrockImportedModel {
    type Status = BedrockImportedModelStatus;
    status_access!(
        job_arn,
        imported_model_name = "spec.importedModelName",
        bedrock_name: imported_model_name
    );

    const WORDS: outcome::Words = plan::WORDS;
    fn record_state(metrics: &Metrics, key: &str, status: Option<&Self::Status>) {
        metrics.import_status(key, status.map(|s| s.job_status.into()));
    }
}

impl Lifecycle for BedrockImportedModel {
    type Valid = ValidImported;
    type Remote = RemoteImport;
    type Create = CreateImportRequest;
    type Update = Infallible;
    /// The import by its job's ARN (the status holds one), else by the imported model's name:
    /// the job, and once it Completed the model it made.
    async fn get<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteImport>, BedrockError> {
        let bedrock = &ctx.bedrock;
        if identifier.contains(":model-import-job/") {
            let Some(job) = bedrock.get_import_job(region, identifier).await? else {
                return Ok(None);
            };
            let model = match (&job.state, &job.imported_model_arn) {
                (JobState::Completed, Some(arn)) => bedrock.get_imported_model(region, arn).await?,
                _ => None,
            };
            return Ok(Some(RemoteImport::new(job, model)));
        }
        let Some(model) = bedrock.get_imported_model(region, identifier).await? else {
            return Ok(None);
        };
        let job = match &model.job_arn {
            Some(arn) => bedrock.get_import_job(region, arn).await?,
            None => None,
        };
        let job = job.unwrap_or_else(|| ImportJob::forgotten(&model));
        Ok(Some(RemoteImport::new(job, Some(model))))
    }
    async fn create<B: Bedrock>(
        &self,
        _valid: &ValidImported,
        region: &str,
        request: &CreateImportRequest,
        plan: &mut Plan,
        ctx: &Context<B>,
    ) -> Result<Flow, BedrockError> {
        let arn = ctx.bedrock.create_import_job(region, request).await?;
        info!(job = %request.job_name, model = %request.imported_model_name, arn = %arn, "model import job started");
        plan::after_create(plan, self, request, region, arn, &ctx.timing);
        Ok(Flow::Go)
    }
    no_update!();
    /// Deletes the imported model of the job `arn` (Bedrock keeps the job's record, and cannot
    /// stop a running job: that is a refusal, retried).
    async fn delete<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        arn: &str,
    ) -> Result<bool, BedrockError> {
        let Some(import) = Self::get(ctx, region, arn).await? else {
            return Ok(false);
        };
        match (&import.job.state, &import.job.imported_model_arn) {
            (JobState::Completed, Some(model)) => {
                ctx.bedrock.delete_imported_model(region, model).await
            }
            (JobState::Completed | JobState::Failed, _) => Ok(false),
            (JobState::InProgress | JobState::Other(_), _) => Err(BedrockError {
                operation: crate::bedrock::Operation::DeleteImportedModel.as_str(),
                class: ErrorClass::Conflict,
                code: None,
                message: Some(format!(
                    "import job {} is still {}; Bedrock cannot stop it, so its model is deleted once it ends",
                    import.job.name,
                    import.job.state.as_str()
                )),
                source: None,
            }),
        }
    }
}

impl Apply for BedrockImportedModel {
    type Inputs = ();

    fn validate(&self) -> Result<ValidImported, Vec<FieldError>> {
        crate::api::imported::validate_imported(self)
    }
    fn precheck(
        &self,
        _valid: &ValidImported,
        _inputs: &(),
        region: &str,
        policy: &Policy,
    ) -> Option<Plan> {
        let adopt = self.spec.adoption_policy == crate::api::AdoptionPolicy::Adopt;
        let status = || plan::base_status(self, region);
        plan::immutable_changed(self, region)
            .or_else(|| super::apply::adoption_refused(self, adopt, status, &policy.adoption))
            .or_else(|| plan::guards_refused(self, &policy.guards))
    }
}

impl Plans for BedrockImportedModel {
    async fn inputs<B: Bedrock>(
        &self,
        _valid: &ValidImported,
        _ctx: &Context<B>,
    ) -> Result<Result<(), Plan>, Error> {
        Ok(Ok(()))
    }
    fn plan(
        &self,
        valid: &ValidImported,
        region: &str,
        observation: &Observation,
        facts: &Facts<'_>,
    ) -> Plan {
        plan::plan_apply(
            self,
            valid,
            region,
            observation,
            facts.timing,
            facts.elapsed,
        )
    }
    fn lost(&self, _valid: &ValidImported, region: &str, lost: &Lost, facts: &Facts<'_>) -> Plan {
        plan::name_conflict(self, region, &lost.arn, lost.holder.as_ref(), facts.timing)
    }
}

impl Wired for BedrockImportedModel {}
