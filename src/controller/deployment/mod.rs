//! BedrockCustomModelDeployment: its hooks in the shared lifecycle ([`super::lifecycle`],
//! [`super::serving`], [`super::cleanup`]): its calls and its messages. Its decisions are in
//! `plan`.

use tracing::info;

use super::apply::Apply;
use super::context::Context;
use super::kind::{Managed, status_access};
use super::lifecycle::{Flow, Lifecycle};
use super::outcome::{self, Note};
use super::reference::Resolution;
use super::serving::Serving;
use super::settings::Policy;
use crate::api::conditions::reason;
use crate::api::deployment::{
    BedrockCustomModelDeployment, BedrockCustomModelDeploymentStatus, ValidDeployment,
};
use crate::api::validation::{self, FieldError};
use crate::bedrock::{Bedrock, BedrockError, CreateDeploymentRequest, RemoteDeployment};
use crate::metrics::Metrics;

pub mod plan;

use plan::Plan;

impl Managed for BedrockCustomModelDeployment {
    type Status = BedrockCustomModelDeploymentStatus;
    status_access!(
        deployment_arn,
        model_deployment_name = "spec.modelDeploymentName",
        bedrock_name: deployment_name
    );

    const WORDS: outcome::Words = plan::WORDS;
    fn record_state(metrics: &Metrics, key: &str, status: Option<&Self::Status>) {
        metrics.deployment_status(key, status.map(|s| s.deployment_status.into()));
    }
}

impl Lifecycle for BedrockCustomModelDeployment {
    type Valid = ValidDeployment;
    type Remote = RemoteDeployment;
    type Create = CreateDeploymentRequest;
    type Update = plan::Rollout;
    async fn get<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteDeployment>, BedrockError> {
        ctx.bedrock.get_deployment(region, identifier).await
    }
    async fn create<B: Bedrock>(
        &self,
        valid: &ValidDeployment,
        region: &str,
        request: &CreateDeploymentRequest,
        plan: &mut Plan,
        ctx: &Context<B>,
    ) -> Result<Flow, BedrockError> {
        let arn = ctx.bedrock.create_deployment(region, request).await?;
        info!(deployment = %request.name, arn = %arn, model = %request.model_arn, "deployment created");
        let generation = self.metadata.generation;
        plan::after_create(
            plan,
            valid,
            region,
            &request.model_arn,
            arn,
            &ctx.timing,
            generation,
        );
        Ok(Flow::Go)
    }
    async fn update<B: Bedrock>(
        region: &str,
        arn: &str,
        change: &plan::Rollout,
        plan: &mut Plan,
        ctx: &Context<B>,
    ) -> Result<(), BedrockError> {
        let model_arn = &change.model_arn;
        ctx.bedrock
            .update_deployment(region, arn, model_arn)
            .await?;
        info!(arn = %arn, model = %model_arn, "deployment update started");
        plan::after_update(plan, &ctx.timing);
        Ok(())
    }
    async fn delete<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        arn: &str,
    ) -> Result<bool, BedrockError> {
        ctx.bedrock.delete_deployment(region, arn).await
    }
    fn retained(&self) -> Note {
        Note::warning(
            reason::RETAINED,
            "Delete",
            format!(
                "kept Bedrock deployment {} because deletionPolicy is Retain; it keeps serving (and billing) until deleted in Bedrock",
                self.deployment_name()
            ),
        )
    }
}

impl Apply for BedrockCustomModelDeployment {
    type Inputs = Resolution;

    fn validate(&self) -> Result<ValidDeployment, Vec<FieldError>> {
        validation::validate_deployment(self)
    }
    fn precheck(
        &self,
        valid: &ValidDeployment,
        model: &Resolution,
        region: &str,
        policy: &Policy,
    ) -> Option<Plan> {
        plan::region_mismatch(self, valid, model)
            .or_else(|| plan::precheck(self, valid, region))
            .or_else(|| plan::adoption_refused(self, valid, region, &policy.adoption))
    }
}

impl Serving for BedrockCustomModelDeployment {
    fn base_status(&self, valid: &ValidDeployment, region: &str) -> Self::Status {
        plan::base_status(self, valid, region)
    }
}
