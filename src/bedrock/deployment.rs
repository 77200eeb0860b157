//! Custom model deployments (on-demand inference of a custom model) in domain terms, and
//! their operations over aws-sdk-bedrock.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_bedrock::types::CustomModelDeploymentStatus;

use super::BedrockError;
use super::operation::Operation;
use super::sdk::{PAGE_SIZE, SdkBedrock, rfc3339, sdk_tags};

/// One CreateCustomModelDeployment call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateDeploymentRequest {
    /// `modelDeploymentName`: unique per account and region.
    pub name: String,
    /// The custom model to deploy; Bedrock wants it Active.
    pub model_arn: String,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Deterministic, so that a retried create can never make a second deployment.
    pub client_request_token: String,
}

super::state!(
    /// A deployment's `status`.
    /// Bedrock's user guide shows a transient `Deleting`, read as `Other`.
    DeploymentState { Creating, Active, Failed }
);

super::state!(
    /// The `updateStatus` of the last UpdateCustomModelDeployment.
    UpdateState { Updating, UpdateCompleted, UpdateFailed }
);

/// `updateDetails`: the model an update swaps in, and how far it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentUpdate {
    pub model_arn: String,
    pub state: UpdateState,
}

/// A deployment as GetCustomModelDeployment describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteDeployment {
    /// What callers pass as `modelId` to InvokeModel or Converse.
    pub arn: String,
    /// `modelDeploymentName`.
    pub name: String,
    /// The model deployed now (during an update, still the old one: see `update`).
    pub model_arn: String,
    pub description: Option<String>,
    pub state: DeploymentState,
    pub failure_message: Option<String>,
    /// The last update, if there was one.
    pub update: Option<DeploymentUpdate>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    /// RFC 3339.
    pub last_updated_time: Option<String>,
}

// While a swap runs the tags are not synced (the plan waits for it), so the polls of an update
// read none.
super::object!(
    RemoteDeployment,
    changed_at: [last_updated_time, creation_time],
    steady: |deployment| deployment.state == DeploymentState::Active
        && !deployment
            .update
            .as_ref()
            .is_some_and(|u| u.state == UpdateState::Updating)
);

/// One entry of ListCustomModelDeployments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentSummary {
    pub arn: String,
    /// `customModelDeploymentName` (Get names the same field `modelDeploymentName`).
    pub name: String,
    pub model_arn: String,
    pub state: DeploymentState,
    pub failure_message: Option<String>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    /// RFC 3339.
    pub last_updated_time: Option<String>,
}

/// Which deployments ListCustomModelDeployments returns; every filter set must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentFilter {
    /// `statusEquals`.
    pub state: Option<DeploymentState>,
    /// `modelArnEquals`.
    pub model_arn: Option<String>,
    /// `nameContains`.
    pub name_contains: Option<String>,
}

/// The calls of the deployment kind.
pub trait Deployments: Send + Sync {
    /// CreateCustomModelDeployment; returns the deployment ARN.
    fn create_deployment(
        &self,
        region: &str,
        request: &CreateDeploymentRequest,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// GetCustomModelDeployment by name or ARN; `None` when there is no such deployment.
    fn get_deployment(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<RemoteDeployment>, BedrockError>> + Send;

    /// ListCustomModelDeployments of the deployments that match `filter`, every page.
    fn list_deployments(
        &self,
        region: &str,
        filter: &DeploymentFilter,
    ) -> impl Future<Output = Result<Vec<DeploymentSummary>, BedrockError>> + Send;

    /// UpdateCustomModelDeployment: swaps the deployed model for `model_arn`; returns the
    /// deployment ARN. The swap goes on in the background (`RemoteDeployment::update`).
    fn update_deployment(
        &self,
        region: &str,
        identifier: &str,
        model_arn: &str,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// DeleteCustomModelDeployment (the model stays); `Ok(false)` when the deployment was
    /// already gone.
    fn delete_deployment(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, BedrockError>> + Send;
}

// The operations over aws-sdk-bedrock, through the one call path of `super::sdk`.
impl Deployments for SdkBedrock {
    async fn create_deployment(
        &self,
        region: &str,
        request: &CreateDeploymentRequest,
    ) -> Result<String, BedrockError> {
        const OP: Operation = Operation::CreateCustomModelDeployment;
        let tags = sdk_tags(OP, &request.tags)?;
        let output = self
            .call(region, OP, |client| {
                client
                    .create_custom_model_deployment()
                    .model_deployment_name(&request.name)
                    .model_arn(&request.model_arn)
                    .set_description(request.description.clone())
                    .set_tags(Some(tags))
                    .client_request_token(&request.client_request_token)
                    .send()
            })
            .await?;
        Ok(output.custom_model_deployment_arn().to_string())
    }

    async fn get_deployment(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteDeployment>, BedrockError> {
        let output = self
            .look_up(region, Operation::GetCustomModelDeployment, |client| {
                client
                    .get_custom_model_deployment()
                    .custom_model_deployment_identifier(identifier)
                    .send()
            })
            .await?;
        Ok(output.map(|output| RemoteDeployment {
            arn: output.custom_model_deployment_arn().to_string(),
            name: output.model_deployment_name().to_string(),
            model_arn: output.model_arn().to_string(),
            description: output.description().map(str::to_string),
            state: DeploymentState::from(output.status().as_str()),
            failure_message: output.failure_message().map(str::to_string),
            update: output.update_details().map(|update| DeploymentUpdate {
                model_arn: update.model_arn().to_string(),
                state: UpdateState::from(update.update_status().as_str()),
            }),
            creation_time: rfc3339(output.created_at()),
            last_updated_time: output.last_updated_at().and_then(rfc3339),
        }))
    }

    async fn list_deployments(
        &self,
        region: &str,
        filter: &DeploymentFilter,
    ) -> Result<Vec<DeploymentSummary>, BedrockError> {
        let mut deployments = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            // Each page is a call of its own: paced, rate limited and counted.
            let output = self
                .call(region, Operation::ListCustomModelDeployments, |client| {
                    client
                        .list_custom_model_deployments()
                        .set_status_equals(
                            filter
                                .state
                                .as_ref()
                                .map(|state| CustomModelDeploymentStatus::from(state.as_str())),
                        )
                        .set_model_arn_equals(filter.model_arn.clone())
                        .set_name_contains(filter.name_contains.clone())
                        .max_results(PAGE_SIZE)
                        .set_next_token(next_token.take())
                        .send()
                })
                .await?;
            deployments.extend(output.model_deployment_summaries().iter().map(|summary| {
                DeploymentSummary {
                    arn: summary.custom_model_deployment_arn().to_string(),
                    name: summary.custom_model_deployment_name().to_string(),
                    model_arn: summary.model_arn().to_string(),
                    state: DeploymentState::from(summary.status().as_str()),
                    failure_message: summary.failure_message().map(str::to_string),
                    creation_time: rfc3339(summary.created_at()),
                    last_updated_time: summary.last_updated_at().and_then(rfc3339),
                }
            }));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(deployments),
            }
        }
    }

    async fn update_deployment(
        &self,
        region: &str,
        identifier: &str,
        model_arn: &str,
    ) -> Result<String, BedrockError> {
        let output = self
            .call(region, Operation::UpdateCustomModelDeployment, |client| {
                client
                    .update_custom_model_deployment()
                    .custom_model_deployment_identifier(identifier)
                    .model_arn(model_arn)
                    .send()
            })
            .await?;
        Ok(output.custom_model_deployment_arn().to_string())
    }

    async fn delete_deployment(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<bool, BedrockError> {
        let output = self
            .look_up(region, Operation::DeleteCustomModelDeployment, |client| {
                client
                    .delete_custom_model_deployment()
                    .custom_model_deployment_identifier(identifier)
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
    fn known_deployment_states_parse() {
        assert_eq!(DeploymentState::from("Creating"), DeploymentState::Creating);
        assert_eq!(DeploymentState::from("Active"), DeploymentState::Active);
        assert_eq!(DeploymentState::from("Failed"), DeploymentState::Failed);
    }

    #[test]
    fn an_unknown_deployment_state_is_kept_as_other() {
        let state = DeploymentState::from("Deleting");
        assert_eq!(state, DeploymentState::Other("Deleting".into()));
        assert_eq!(state.as_str(), "Deleting");
    }

    #[test]
    fn deployment_states_round_trip() {
        for state in [
            DeploymentState::Creating,
            DeploymentState::Active,
            DeploymentState::Failed,
        ] {
            assert_eq!(DeploymentState::from(state.as_str()), state);
        }
    }

    #[test]
    fn deployment_state_parsing_is_case_sensitive() {
        assert_eq!(
            DeploymentState::from("ACTIVE"),
            DeploymentState::Other("ACTIVE".into())
        );
    }

    #[test]
    fn known_update_states_parse() {
        assert_eq!(UpdateState::from("Updating"), UpdateState::Updating);
        assert_eq!(
            UpdateState::from("UpdateCompleted"),
            UpdateState::UpdateCompleted
        );
        assert_eq!(UpdateState::from("UpdateFailed"), UpdateState::UpdateFailed);
    }

    #[test]
    fn an_unknown_update_state_is_kept_as_other() {
        let state = UpdateState::from("RollingBack");
        assert_eq!(state, UpdateState::Other("RollingBack".into()));
        assert_eq!(state.as_str(), "RollingBack");
    }

    #[test]
    fn update_states_round_trip() {
        for state in [
            UpdateState::Updating,
            UpdateState::UpdateCompleted,
            UpdateState::UpdateFailed,
        ] {
            assert_eq!(UpdateState::from(state.as_str()), state);
        }
    }
}
