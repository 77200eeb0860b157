//! Provisioned Throughput (dedicated, hourly-billed capacity for a model) in domain terms,
//! and its operations over aws-sdk-bedrock.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_bedrock::types::CommitmentDuration;

use super::BedrockError;
use super::operation::Operation;
use super::sdk::{SdkBedrock, rfc3339, sdk_tags};

/// One CreateProvisionedModelThroughput call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateThroughputRequest {
    /// `provisionedModelName`: unique per account and region.
    pub name: String,
    /// `modelId`: the model's ARN (or a foundation model ID, or a custom model name).
    pub model_id: String,
    pub model_units: i32,
    /// `OneMonth`, `SixMonths`, or `None` for no commitment.
    pub commitment: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Deterministic, so that a retried create can never buy a second throughput.
    pub client_request_token: String,
}

super::state!(
    /// A throughput's `status`.
    ThroughputState { Creating, InService, Updating, Failed }
);

/// A throughput as GetProvisionedModelThroughput describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteThroughput {
    /// What callers pass as `modelId` to InvokeModel or Converse.
    pub arn: String,
    /// `provisionedModelName`.
    pub name: String,
    /// The model in service (during an update, still the old one).
    pub model_arn: String,
    /// The model an update swaps in (the same as `model_arn` when none runs).
    pub desired_model_arn: String,
    pub model_units: i32,
    pub state: ThroughputState,
    pub failure_message: Option<String>,
    /// `OneMonth`, `SixMonths`, or `None`.
    pub commitment: Option<String>,
    /// RFC 3339: when the commitment term ends.
    pub commitment_expiration_time: Option<String>,
    /// RFC 3339.
    pub creation_time: Option<String>,
    /// RFC 3339.
    pub last_modified_time: Option<String>,
}

super::object!(
    RemoteThroughput,
    changed_at: [last_modified_time, creation_time],
    steady: |throughput| throughput.state == ThroughputState::InService
);

/// One UpdateProvisionedModelThroughput call: a new name, a new model, or both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateThroughputRequest {
    pub name: Option<String>,
    pub model_id: Option<String>,
}

/// The calls of the provisioned throughput kind.
pub trait Throughputs: Send + Sync {
    /// CreateProvisionedModelThroughput; returns the provisioned model ARN.
    fn create_throughput(
        &self,
        region: &str,
        request: &CreateThroughputRequest,
    ) -> impl Future<Output = Result<String, BedrockError>> + Send;

    /// GetProvisionedModelThroughput by name or ARN; `None` when there is no such throughput.
    fn get_throughput(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<RemoteThroughput>, BedrockError>> + Send;

    /// UpdateProvisionedModelThroughput: a new name and/or model, applied in the background
    /// (status Updating).
    fn update_throughput(
        &self,
        region: &str,
        identifier: &str,
        request: &UpdateThroughputRequest,
    ) -> impl Future<Output = Result<(), BedrockError>> + Send;

    /// DeleteProvisionedModelThroughput; `Ok(false)` when it was already gone. Bedrock refuses
    /// (ConflictException) before a commitment term ends.
    fn delete_throughput(
        &self,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<bool, BedrockError>> + Send;
}

// The operations over aws-sdk-bedrock, through the one call path of `super::sdk`.
impl Throughputs for SdkBedrock {
    async fn create_throughput(
        &self,
        region: &str,
        request: &CreateThroughputRequest,
    ) -> Result<String, BedrockError> {
        const OP: Operation = Operation::CreateProvisionedModelThroughput;
        let tags = sdk_tags(OP, &request.tags)?;
        let output = self
            .call(region, OP, |client| {
                client
                    .create_provisioned_model_throughput()
                    .provisioned_model_name(&request.name)
                    .model_id(&request.model_id)
                    .model_units(request.model_units)
                    .set_commitment_duration(
                        request.commitment.as_deref().map(CommitmentDuration::from),
                    )
                    .set_tags(Some(tags))
                    .client_request_token(&request.client_request_token)
                    .send()
            })
            .await?;
        Ok(output.provisioned_model_arn().to_string())
    }

    async fn get_throughput(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteThroughput>, BedrockError> {
        let output = self
            .look_up(region, Operation::GetProvisionedModelThroughput, |client| {
                client
                    .get_provisioned_model_throughput()
                    .provisioned_model_id(identifier)
                    .send()
            })
            .await?;
        Ok(output.map(|output| RemoteThroughput {
            arn: output.provisioned_model_arn().to_string(),
            name: output.provisioned_model_name().to_string(),
            model_arn: output.model_arn().to_string(),
            desired_model_arn: output.desired_model_arn().to_string(),
            model_units: output.model_units(),
            state: ThroughputState::from(output.status().as_str()),
            failure_message: output.failure_message().map(str::to_string),
            commitment: output.commitment_duration().map(|c| c.as_str().to_string()),
            commitment_expiration_time: output.commitment_expiration_time().and_then(rfc3339),
            creation_time: rfc3339(output.creation_time()),
            last_modified_time: rfc3339(output.last_modified_time()),
        }))
    }

    async fn update_throughput(
        &self,
        region: &str,
        identifier: &str,
        request: &UpdateThroughputRequest,
    ) -> Result<(), BedrockError> {
        self.call(
            region,
            Operation::UpdateProvisionedModelThroughput,
            |client| {
                client
                    .update_provisioned_model_throughput()
                    .provisioned_model_id(identifier)
                    .set_desired_provisioned_model_name(request.name.clone())
                    .set_desired_model_id(request.model_id.clone())
                    .send()
            },
        )
        .await?;
        Ok(())
    }

    async fn delete_throughput(
        &self,
        region: &str,
        identifier: &str,
    ) -> Result<bool, BedrockError> {
        let output = self
            .look_up(
                region,
                Operation::DeleteProvisionedModelThroughput,
                |client| {
                    client
                        .delete_provisioned_model_throughput()
                        .provisioned_model_id(identifier)
                        .send()
                },
            )
            .await?;
        Ok(output.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_states_parse_and_unknown_ones_are_kept() {
        for state in ["Creating", "InService", "Updating", "Failed"] {
            assert_eq!(ThroughputState::from(state).as_str(), state);
        }
        assert_eq!(
            ThroughputState::from("Deleting"),
            ThroughputState::Other("Deleting".into())
        );
    }
}
