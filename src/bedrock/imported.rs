//! Open-weight model imports (CreateModelImportJob) in domain terms: the job, the imported model
//! it makes, and their operations over aws-sdk-bedrock.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_bedrock::types::{ModelDataSource, ModelImportJobStatus, S3DataSource, VpcConfig};

use super::BedrockError;
use super::operation::Operation;
use super::sdk::{SdkBedrock, construction, rfc3339, sdk_tags};

/// The VPC an import job runs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportVpc {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// One CreateModelImportJob call. Its tags go on the job and on the imported model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateImportRequest {
    pub job_name: String,
    pub imported_model_name: String,
    pub role_arn: String,
    pub s3_uri: String,
    pub kms_key_id: Option<String>,
    pub vpc: Option<ImportVpc>,
    pub tags: BTreeMap<String, String>,
    /// Deterministic, so that a retried create can never start a second job.
    pub client_request_token: String,
}

super::state!(
    /// Bedrock's status of a model import job.
    JobState { InProgress, Completed, Failed }
);

/// A model import job as GetModelImportJob describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportJob {
    pub arn: String,
    pub name: String,
    pub imported_model_name: String,
    /// Set once the job Completed.
    pub imported_model_arn: Option<String>,
    pub role_arn: Option<String>,
    pub s3_uri: Option<String>,
    pub state: JobState,
    pub failure_message: Option<String>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    pub kms_key_arn: Option<String>,
}

impl ImportJob {
    /// The job that made `model` when Bedrock no longer has its record (it forgets old jobs):
    /// Completed, and held by the model's own ARN, since the job ARN the model still names can
    /// neither be looked up nor tagged.
    pub fn forgotten(model: &ImportedModel) -> Self {
        Self {
            arn: model.arn.clone(),
            name: String::new(),
            imported_model_name: model.name.clone(),
            imported_model_arn: Some(model.arn.clone()),
            role_arn: None,
            s3_uri: None,
            state: JobState::Completed,
            failure_message: None,
            creation_time: model.creation_time.clone(),
            kms_key_arn: model.kms_key_arn.clone(),
        }
    }
}

/// An imported model as GetImportedModel describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedModel {
    pub arn: String,
    pub name: String,
    pub job_arn: Option<String>,
    pub architecture: Option<String>,
    pub instruct_supported: Option<bool>,
    pub units_per_copy: Option<i32>,
    pub units_version: Option<String>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    pub kms_key_arn: Option<String>,
}

/// What a BedrockImportedModel holds, as Bedrock describes it: the import job (its ARN is the
/// one the resource holds and its owner tags are read from) and, once the job Completed, the
/// imported model it made. `name` is the imported model's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteImport {
    pub arn: String,
    pub name: String,
    pub job: ImportJob,
    pub model: Option<ImportedModel>,
    /// The job's failure, as [`super::Object::failure`] reads it.
    pub failure_message: Option<String>,
    pub creation_time: Option<String>,
}

impl RemoteImport {
    /// The job and what it made.
    pub fn new(job: ImportJob, model: Option<ImportedModel>) -> Self {
        Self {
            arn: job.arn.clone(),
            name: job.imported_model_name.clone(),
            failure_message: job.failure_message.clone(),
            creation_time: job.creation_time.clone(),
            job,
            model,
        }
    }
}

super::object!(RemoteImport, changed_at: [creation_time], steady: |import| import.job.state == JobState::Completed && import.model.is_some());

/// The calls of the imported model kind.
pub trait ImportJobs: Send + Sync {
    /// CreateModelImportJob; returns the job ARN.
    fn create_import_job(
        &self,
        region: &str,
        request: &CreateImportRequest,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// GetModelImportJob by name or ARN; `None` when there is no such job.
    fn get_import_job(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<ImportJob>, BedrockError>> + Send;

    /// GetImportedModel by name or ARN; `None` when there is no such model.
    fn get_imported_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<ImportedModel>, BedrockError>> + Send;

    /// DeleteImportedModel; `Ok(false)` when the model was already gone.
    fn delete_imported_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, BedrockError>> + Send;
}

impl From<&JobState> for crate::api::JobStatus {
    fn from(state: &JobState) -> Self {
        match state {
            JobState::InProgress => Self::InProgress,
            JobState::Completed => Self::Completed,
            JobState::Failed => Self::Failed,
            JobState::Other(_) => Self::Unknown,
        }
    }
}

// The operations over aws-sdk-bedrock, through the one call path of `super::sdk`.
impl ImportJobs for SdkBedrock {
    async fn create_import_job(
        &self,
        region: &str,
        request: &CreateImportRequest,
    ) -> Result<String, BedrockError> {
        const OP: Operation = Operation::CreateModelImportJob;
        let tags = sdk_tags(OP, &request.tags)?;
        let source = ModelDataSource::S3DataSource(
            S3DataSource::builder()
                .s3_uri(&request.s3_uri)
                .build()
                .map_err(|e| construction(OP, e))?,
        );
        let vpc = request
            .vpc
            .as_ref()
            .map(|vpc| {
                VpcConfig::builder()
                    .set_subnet_ids(Some(vpc.subnet_ids.clone()))
                    .set_security_group_ids(Some(vpc.security_group_ids.clone()))
                    .build()
                    .map_err(|e| construction(OP, e))
            })
            .transpose()?;
        let output = self
            .call(region, OP, |client| {
                client
                    .create_model_import_job()
                    .job_name(&request.job_name)
                    .imported_model_name(&request.imported_model_name)
                    .role_arn(&request.role_arn)
                    .model_data_source(source.clone())
                    .set_job_tags(Some(tags.clone()))
                    .set_imported_model_tags(Some(tags.clone()))
                    .client_request_token(&request.client_request_token)
                    .set_vpc_config(vpc.clone())
                    .set_imported_model_kms_key_id(request.kms_key_id.clone())
                    .send()
            })
            .await?;
        Ok(output.job_arn().to_string())
    }

    async fn get_import_job(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<ImportJob>, BedrockError> {
        let output = self
            .look_up(region, Operation::GetModelImportJob, |client| {
                client
                    .get_model_import_job()
                    .job_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.map(|job| ImportJob {
            arn: job.job_arn().unwrap_or_default().to_string(),
            name: job.job_name().unwrap_or_default().to_string(),
            imported_model_name: job.imported_model_name().unwrap_or_default().to_string(),
            imported_model_arn: job.imported_model_arn().map(str::to_string),
            role_arn: job.role_arn().map(str::to_string),
            s3_uri: match job.model_data_source() {
                Some(ModelDataSource::S3DataSource(s3)) => Some(s3.s3_uri().to_string()),
                _ => None,
            },
            state: job
                .status()
                .map_or(JobState::InProgress, |s: &ModelImportJobStatus| {
                    JobState::from(s.as_str())
                }),
            failure_message: job.failure_message().map(str::to_string),
            creation_time: job.creation_time().and_then(rfc3339),
            kms_key_arn: job.imported_model_kms_key_arn().map(str::to_string),
        }))
    }

    async fn get_imported_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<ImportedModel>, BedrockError> {
        let output = self
            .look_up(region, Operation::GetImportedModel, |client| {
                client
                    .get_imported_model()
                    .model_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.map(|model| ImportedModel {
            arn: model.model_arn().unwrap_or_default().to_string(),
            name: model.model_name().unwrap_or_default().to_string(),
            job_arn: model.job_arn().map(str::to_string),
            architecture: model.model_architecture().map(str::to_string),
            instruct_supported: model.instruct_supported(),
            units_per_copy: model
                .custom_model_units()
                .and_then(|units| units.custom_model_units_per_model_copy()),
            units_version: model
                .custom_model_units()
                .and_then(|units| units.custom_model_units_version())
                .map(str::to_string),
            creation_time: model.creation_time().and_then(rfc3339),
            kms_key_arn: model.model_kms_key_arn().map(str::to_string),
        }))
    }

    async fn delete_imported_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<bool, BedrockError> {
        let output = self
            .look_up(region, Operation::DeleteImportedModel, |client| {
                client
                    .delete_imported_model()
                    .model_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_job_states_parse_and_others_are_kept() {
        assert_eq!(JobState::from("InProgress"), JobState::InProgress);
        assert_eq!(JobState::from("Completed"), JobState::Completed);
        assert_eq!(JobState::from("Failed"), JobState::Failed);
        assert_eq!(JobState::from("Stopping").as_str(), "Stopping");
    }
}
