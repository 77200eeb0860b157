//! Imported custom models (CreateCustomModel) in domain terms, and their operations over
//! aws-sdk-bedrock.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_bedrock::types::{
    CustomModelDataSource, ModelDataSource, ModelPackageArnDataSource, ModelStatus, S3DataSource,
};

use super::BedrockError;
use super::operation::Operation;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use super::sdk::{PAGE_SIZE, SdkBedrock, construction, rfc3339, sdk_tags};

/// Where the model artifacts come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    S3Uri(String),
    ModelPackageArn(String),
}

/// One CreateCustomModel call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    pub model_name: String,
    pub source: Source,
    pub role_arn: Option<String>,
    pub kms_key_arn: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Deterministic, so that a retried create can never make a second model.
    pub client_request_token: String,
}

super::state!(
    /// Bedrock's modelStatus.
    ModelState { Creating, Active, Failed }
);

/// A model as GetCustomModel describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteModel {
    pub arn: String,
    pub name: String,
    pub state: ModelState,
    pub failure_message: Option<String>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    pub kms_key_arn: Option<String>,
}

super::object!(RemoteModel, changed_at: [creation_time], steady: |model| model.state == ModelState::Active);

/// One entry of ListCustomModels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSummary {
    pub arn: String,
    pub state: ModelState,
}

/// The calls of the model kind.
pub trait Models: Send + Sync {
    /// CreateCustomModel; returns the model ARN.
    fn create_model(
        &self,
        region: &str,
        request: &CreateRequest,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// GetCustomModel by name or ARN; `None` when there is no such model.
    fn get_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<RemoteModel>, BedrockError>> + Send;

    /// ListCustomModels of the models in `state` created after `created_after` (RFC 3339),
    /// every page.
    fn list_models(
        &self,
        region: &str,
        state: ModelState,
        created_after: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ModelSummary>, BedrockError>> + Send;

    /// DeleteCustomModel; `Ok(false)` when the model was already gone.
    fn delete_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, BedrockError>> + Send;
}

impl From<&ModelState> for crate::api::ModelStatus {
    fn from(state: &ModelState) -> Self {
        match state {
            ModelState::Creating => Self::Creating,
            ModelState::Active => Self::Active,
            ModelState::Failed => Self::Failed,
            ModelState::Other(_) => Self::Unknown,
        }
    }
}

// The operations over aws-sdk-bedrock, through the one call path of `super::sdk`.
impl Models for SdkBedrock {
    async fn create_model(
        &self,
        region: &str,
        request: &CreateRequest,
    ) -> Result<String, BedrockError> {
        const OP: Operation = Operation::CreateCustomModel;
        let tags = sdk_tags(OP, &request.tags)?;
        let (model_source, package_source) = match &request.source {
            Source::S3Uri(uri) => (
                Some(ModelDataSource::S3DataSource(
                    S3DataSource::builder()
                        .s3_uri(uri)
                        .build()
                        .map_err(|e| construction(OP, e))?,
                )),
                None,
            ),
            Source::ModelPackageArn(arn) => (
                None,
                Some(CustomModelDataSource::ModelPackageArnDataSource(
                    ModelPackageArnDataSource::builder()
                        .model_package_arn(arn)
                        .build()
                        .map_err(|e| construction(OP, e))?,
                )),
            ),
        };
        let output = self
            .call(region, OP, |client| {
                client
                    .create_custom_model()
                    .model_name(&request.model_name)
                    .client_request_token(&request.client_request_token)
                    .set_role_arn(request.role_arn.clone())
                    .set_model_kms_key_arn(request.kms_key_arn.clone())
                    .set_model_tags(Some(tags))
                    .set_model_source_config(model_source)
                    .set_custom_model_data_source(package_source)
                    .send()
            })
            .await?;
        Ok(output.model_arn().to_string())
    }

    async fn get_model(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteModel>, BedrockError> {
        let output = self
            .look_up(region, Operation::GetCustomModel, |client| {
                client
                    .get_custom_model()
                    .model_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.map(|output| RemoteModel {
            arn: output.model_arn().to_string(),
            name: output.model_name().to_string(),
            state: model_state(output.model_status()),
            failure_message: output.failure_message().map(str::to_string),
            creation_time: rfc3339(output.creation_time()),
            kms_key_arn: output.model_kms_key_arn().map(str::to_string),
        }))
    }

    async fn list_models(
        &self,
        region: &str,
        state: ModelState,
        created_after: Option<&str>,
    ) -> Result<Vec<ModelSummary>, BedrockError> {
        const OP: Operation = Operation::ListCustomModels;
        let after = created_after
            .map(|t| DateTime::from_str(t, Format::DateTime))
            .transpose()
            .map_err(|e| construction(OP, e))?;
        let mut models = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            // Each page is a call of its own: paced, rate limited and counted.
            let output = self
                .call(region, OP, |client| {
                    client
                        .list_custom_models()
                        .model_status(ModelStatus::from(state.as_str()))
                        .set_creation_time_after(after)
                        .max_results(PAGE_SIZE)
                        .set_next_token(next_token.take())
                        .send()
                })
                .await?;
            models.extend(output.model_summaries().iter().map(|summary| ModelSummary {
                arn: summary.model_arn().to_string(),
                state: model_state(summary.model_status()),
            }));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(models),
            }
        }
    }

    async fn delete_model(&self, region: &str, identifier: &str) -> Result<bool, BedrockError> {
        let output = self
            .look_up(region, Operation::DeleteCustomModel, |client| {
                client
                    .delete_custom_model()
                    .model_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.is_some())
    }
}

fn model_state(status: Option<&ModelStatus>) -> ModelState {
    status.map_or(ModelState::Creating, |status| {
        ModelState::from(status.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_model_states_parse() {
        assert_eq!(ModelState::from("Creating"), ModelState::Creating);
        assert_eq!(ModelState::from("Active"), ModelState::Active);
        assert_eq!(ModelState::from("Failed"), ModelState::Failed);
    }

    #[test]
    fn an_unknown_model_state_is_kept_as_other() {
        let state = ModelState::from("Deleting");
        assert_eq!(state, ModelState::Other("Deleting".into()));
        assert_eq!(state.as_str(), "Deleting");
    }
}
