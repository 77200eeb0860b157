//! BedrockProvisionedThroughput: its hooks in the shared lifecycle ([`super::lifecycle`],
//! [`super::serving`], [`super::cleanup`]): its calls, the namespace's budget of model units,
//! and its messages (a deletion waits for the end of a commitment term). Its decisions are in
//! `plan`.

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use tracing::info;

use super::apply::Apply;
use super::cleanup::Cleanup;
use super::context::Context;
use super::error::Error;
use super::guards;
use super::kind::{Managed, status_access};
use super::lifecycle::{Flow, Lifecycle};
use super::locks::Held;
use super::outcome::{self, Note};
use super::reference::Resolution;
use super::scope::NamespaceScope;
use super::serving::Serving;
use super::settings::Policy;
use crate::api::conditions::reason;
use crate::api::throughput::{
    BedrockProvisionedThroughput, BedrockProvisionedThroughputStatus, ValidThroughput,
};
use crate::api::validation::{self, FieldError};
use crate::bedrock::{
    Bedrock, BedrockError, CreateThroughputRequest, RemoteThroughput, UpdateThroughputRequest,
};
use crate::metrics::{CommitmentLabel, Metrics};

pub mod plan;

use plan::Plan;

impl Managed for BedrockProvisionedThroughput {
    type Status = BedrockProvisionedThroughputStatus;
    status_access!(
        provisioned_model_arn,
        provisioned_model_name = "spec.provisionedModelName",
        bedrock_name: provisioned_model_name
    );

    const WORDS: outcome::Words = plan::WORDS;
    fn record_state(metrics: &Metrics, key: &str, status: Option<&Self::Status>) {
        metrics.model_units(
            key,
            status.map(|s| {
                (
                    s.region.as_deref().unwrap_or_default(),
                    CommitmentLabel::from_status(s.commitment_duration.as_deref()),
                    i64::from(plan::units_in_service(s)),
                )
            }),
        );
    }
}

impl Lifecycle for BedrockProvisionedThroughput {
    type Valid = ValidThroughput;
    type Remote = RemoteThroughput;
    type Create = CreateThroughputRequest;
    type Update = UpdateThroughputRequest;
    async fn get<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteThroughput>, BedrockError> {
        ctx.bedrock.get_throughput(region, identifier).await
    }
    /// Every purchase meets the guards, also one the status did not expect (a throughput
    /// bought again after it disappeared); the namespace's budget was checked just before
    /// (`admit`), under the lock still held.
    async fn create<B: Bedrock>(
        &self,
        valid: &ValidThroughput,
        region: &str,
        request: &CreateThroughputRequest,
        plan: &mut Plan,
        ctx: &Context<B>,
    ) -> Result<Flow, BedrockError> {
        if let Some(refused) = plan::purchase_refused(self, &ctx.policy.guards) {
            *plan = refused;
            return Ok(Flow::Stop);
        }
        let arn = ctx.bedrock.create_throughput(region, request).await?;
        ctx.memory.record_purchase(self.key(), request.model_units);
        info!(throughput = %request.name, arn = %arn, model = %request.model_id, units = request.model_units, commitment = ?request.commitment, "provisioned throughput bought");
        let generation = self.metadata.generation;
        plan::after_create(
            plan,
            valid,
            region,
            &request.model_id,
            arn,
            &ctx.timing,
            generation,
        );
        Ok(Flow::Go)
    }
    async fn update<B: Bedrock>(
        region: &str,
        arn: &str,
        change: &UpdateThroughputRequest,
        plan: &mut Plan,
        ctx: &Context<B>,
    ) -> Result<(), BedrockError> {
        ctx.bedrock.update_throughput(region, arn, change).await?;
        info!(arn = %arn, name = ?change.name, model = ?change.model_id, "provisioned throughput update started");
        plan::after_update(plan, &ctx.timing);
        Ok(())
    }
    async fn delete<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        arn: &str,
    ) -> Result<bool, BedrockError> {
        ctx.bedrock.delete_throughput(region, arn).await
    }
    fn retained(&self) -> Note {
        Note::warning(reason::RETAINED, "Delete", plan::retained_message(self))
    }
    fn undeletable_until(&self, until: &str) -> String {
        plan::committed_message(self, until)
    }
}

impl Apply for BedrockProvisionedThroughput {
    type Inputs = Resolution;

    fn validate(&self) -> Result<ValidThroughput, Vec<FieldError>> {
        validation::validate_throughput(self)
    }
    /// Not before the commitment term ends.
    fn deletion(&self, adoption: &NamespaceScope, now: Timestamp) -> Cleanup {
        plan::cleanup(self, adoption, now)
    }
    /// The purchase guards first: nothing else matters while a purchase is not allowed.
    fn precheck(
        &self,
        valid: &ValidThroughput,
        model: &Resolution,
        region: &str,
        policy: &Policy,
    ) -> Option<Plan> {
        plan::guard_refused(self, &policy.guards)
            .or_else(|| plan::adoption_refused(self, valid, &policy.adoption))
            .or_else(|| plan::region_mismatch(self, valid, model))
            .or_else(|| plan::precheck(self, valid, region))
    }
    async fn admit<'c, B: Bedrock>(
        &self,
        _valid: &ValidThroughput,
        plan: Option<&Plan>,
        held: &mut Option<Held<'c>>,
        ctx: &'c Context<B>,
    ) -> Result<Option<Plan>, Error> {
        admit(self, plan, held, ctx).await
    }
}

impl Serving for BedrockProvisionedThroughput {
    fn base_status(&self, valid: &ValidThroughput, region: &str) -> Self::Status {
        plan::base_status(self, valid, region)
    }
}

/// The namespace's budget of model units (when a limit is set): before any call for a
/// throughput not bought yet, and before a plan's purchase. The check and the purchase hold the
/// namespace's lock, taken once per reconcile and kept until the status is written; the sum
/// comes from a list through the API server (the cache may lag behind a purchase made moments
/// ago), plus what this process bought that the list's statuses do not show yet.
async fn admit<'c, B: Bedrock>(
    resource: &BedrockProvisionedThroughput,
    plan: Option<&Plan>,
    held: &mut Option<Held<'c>>,
    ctx: &'c Context<B>,
) -> Result<Option<Plan>, Error> {
    let namespace = resource.namespace().unwrap_or_default();
    if ctx.policy.guards.units_per_namespace(&namespace).is_none() {
        // No budget: no lock, no list (the quiet path the cost benchmark measures).
        return Ok(None);
    }
    let buys = match plan {
        None => resource
            .status
            .as_ref()
            .is_none_or(|s| s.provisioned_model_arn.is_none()),
        // Checked under the lock before this reconcile's first call, still held: nothing
        // bought since.
        Some(_) if held.is_some() => false,
        Some(plan) => plan
            .actions
            .iter()
            .any(|a| matches!(a, plan::Action::Create(_))),
    };
    if !buys {
        return Ok(None);
    }
    let lock = ctx.budgets.lock(namespace.clone()).await;
    let throughputs =
        Api::<BedrockProvisionedThroughput>::namespaced(ctx.client.clone(), &namespace)
            .list(&ListParams::default())
            .await
            .map_err(Error::kube(
                "listing the namespace's throughputs for its model-unit budget",
            ))?;
    let uid = resource.metadata.uid.as_deref().unwrap_or_default();
    let others = guards::holdings(&throughputs.items, uid, &ctx.memory.purchases());
    *held = Some(lock);
    Ok(plan::budget_refused(
        resource,
        &ctx.policy.guards,
        &others,
        &ctx.timing,
    ))
}
