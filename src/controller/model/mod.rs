//! BedrockCustomModel: its hooks in the shared lifecycle ([`super::lifecycle`],
//! [`super::apply`], [`super::cleanup`]): its calls, the sweep that watches imports, the users
//! its deletion waits for, and its messages. Its decisions are in `plan`.

use std::convert::Infallible;

use kube::ResourceExt;
use tracing::info;

pub mod plan;
pub(crate) mod sweep;

use super::apply::{Apply, Facts, Plans};
use super::context::Context;
use super::error::Error;
use super::holding::Lost;
use super::kind::{Managed, status_access};
use super::lifecycle::{Flow, Lifecycle, no_update};
use super::outcome::{self};
use super::ownership;
use super::reference::{self, Users};
use super::settings::Policy;
use super::wiring::{Cache, Scoped, Wired, Wiring};
use crate::api::model::ValidModel;
use crate::api::validation::{self, FieldError};
use crate::api::{BedrockCustomModel, BedrockCustomModelStatus, ModelStatus};
use crate::bedrock::{Bedrock, BedrockError, CreateRequest, RemoteModel};
use crate::metrics::{Metrics, ModelStatusLabel};
use futures::future::BoxFuture;
use plan::{Inputs, Observation, Plan, Regions};

impl Managed for BedrockCustomModel {
    type Status = BedrockCustomModelStatus;
    status_access!(
        model_arn,
        model_name = "spec.modelName",
        bedrock_name: model_name
    );

    const WORDS: outcome::Words = plan::WORDS;
    fn record_state(metrics: &Metrics, key: &str, status: Option<&Self::Status>) {
        metrics.model_status(
            key,
            status.map(|s| ModelStatusLabel::from_status(s.model_status)),
        );
    }
}

impl Lifecycle for BedrockCustomModel {
    type Valid = ValidModel;
    type Remote = RemoteModel;
    type Create = CreateRequest;
    type Update = Infallible;
    async fn get<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteModel>, BedrockError> {
        ctx.bedrock.get_model(region, identifier).await
    }
    /// A new model goes where the spec asks (`region` is where the model the status names
    /// lives, for the other calls).
    async fn create<B: Bedrock>(
        &self,
        _valid: &ValidModel,
        _region: &str,
        request: &CreateRequest,
        plan: &mut Plan,
        ctx: &Context<B>,
    ) -> Result<Flow, BedrockError> {
        let Regions { desired, .. } = plan::regions(self, &ctx.default_region);
        let arn = ctx.bedrock.create_model(&desired, request).await?;
        info!(model = %request.model_name, arn = %arn, "model created");
        let swept = ctx.sweep.covers(&desired);
        plan::after_create(plan, self, &desired, arn, &ctx.timing, swept);
        Ok(Flow::Go)
    }
    no_update!();
    async fn delete<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        arn: &str,
    ) -> Result<bool, BedrockError> {
        ctx.bedrock.delete_model(region, arn).await
    }
    /// Deployments and throughputs managed here that still use the model go first.
    async fn users<B: Bedrock>(&self, ctx: &Context<B>) -> Result<Option<String>, Error> {
        let namespace = self.namespace().unwrap_or_default();
        let users = users(self, &namespace, ctx).await?;
        Ok((!users.is_empty()).then(|| users.message(self.model_name())))
    }
}

impl Apply for BedrockCustomModel {
    type Inputs = Inputs;

    fn validate(&self) -> Result<ValidModel, Vec<FieldError>> {
        validation::validate_model(self)
    }
    fn invalid(&self, errors: &[FieldError], default_region: &str) -> Plan {
        let Regions { desired, .. } = plan::regions(self, default_region);
        plan::invalid(self, &desired, errors)
    }
    fn precheck(
        &self,
        _valid: &ValidModel,
        _inputs: &Inputs,
        _region: &str,
        policy: &Policy,
    ) -> Option<Plan> {
        let Regions { desired, .. } = plan::regions(self, &policy.default_region);
        // The spec is valid (`validate`): only what validation does not see is checked here.
        plan::immutable_changed(self, &desired)
            .or_else(|| plan::adoption_refused(self, &desired, &policy.adoption))
            .or_else(|| plan::guards_refused(self, &desired, &policy.guards))
    }
    fn forgotten<B: Bedrock>(&self, ctx: &Context<B>) {
        if let Some(arn) = self.status.as_ref().and_then(|s| s.model_arn.as_deref()) {
            ctx.sweep.forget(arn, &sweep::reference(self));
        }
    }
    fn reported<B: Bedrock>(
        &self,
        status: &BedrockCustomModelStatus,
        changed_at: Option<&str>,
        ctx: &Context<B>,
    ) {
        hand_to_sweep(self, status, changed_at, ctx);
    }
}

impl Plans for BedrockCustomModel {
    async fn inputs<B: Bedrock>(
        &self,
        _valid: &ValidModel,
        ctx: &Context<B>,
    ) -> Result<Result<Inputs, Plan>, Error> {
        let Regions { model, .. } = plan::regions(self, &ctx.default_region);
        Ok(Ok(Inputs {
            swept: ctx.sweep.covers(&model),
        }))
    }
    fn plan(
        &self,
        valid: &ValidModel,
        _region: &str,
        observation: &Observation,
        facts: &Facts<'_>,
    ) -> Plan {
        let Regions { desired, .. } = plan::regions(self, facts.default_region);
        plan::plan_apply(
            self,
            valid,
            &desired,
            observation,
            facts.timing,
            facts.elapsed,
        )
    }
    /// Another resource holds the model (it tagged it at the same moment, or holds the Failed
    /// model this one meant to replace): not this resource's model.
    fn lost(&self, _valid: &ValidModel, _region: &str, lost: &Lost, facts: &Facts<'_>) -> Plan {
        let Regions { desired, .. } = plan::regions(self, facts.default_region);
        let status = plan::base_status(self, &desired);
        plan::name_conflict(
            self,
            &desired,
            status,
            &lost.arn,
            lost.holder.as_ref(),
            facts.timing,
        )
    }
}

/// Hands a Creating model to the sweep (when it covers the model's region), and takes any other
/// back from it. `created` is Bedrock's creationTime of the model as just read (none right
/// after a create: then it is now); the sweep lists from the oldest one, so it must not be
/// later than the real one.
fn hand_to_sweep<B: Bedrock>(
    resource: &BedrockCustomModel,
    status: &BedrockCustomModelStatus,
    created: Option<&str>,
    ctx: &Context<B>,
) {
    let reference = sweep::reference(resource);
    let previous = resource
        .status
        .as_ref()
        .and_then(|s| s.model_arn.as_deref());
    if let Some(previous) = previous
        && Some(previous) != status.model_arn.as_deref()
    {
        // The resource no longer names that model (replaced, or found to be another's).
        ctx.sweep.forget(previous, &reference);
    }
    let Some(arn) = status.model_arn.as_deref() else {
        return;
    };
    let region = status.region.as_deref().unwrap_or_default();
    let creating = status.model_status == Some(ModelStatus::Creating);
    if creating && ctx.sweep.covers(region) {
        ctx.sweep.watch(region, arn, created, reference);
    } else {
        ctx.sweep.forget(arn, &reference);
    }
}

/// The resources managed here that still use the model, of every serving kind, in any watched
/// namespace (a deployment or throughput of another namespace may name it by ARN when
/// `--cross-namespace-references` allows).
async fn users<B: Bedrock>(
    resource: &BedrockCustomModel,
    namespace: &str,
    ctx: &Context<B>,
) -> Result<Users, Error> {
    let names = |users: Vec<ownership::OwnerRef>| {
        users
            .iter()
            .map(|user| reference::user_name(user, namespace))
            .collect()
    };
    let mut users = Vec::new();
    for kind in &ctx.serving {
        let (name, found) = kind.users(resource, ctx).await?;
        users.push((name, names(found)));
    }
    Ok(Users(users))
}

impl Wired for BedrockCustomModel {
    fn controller<B: Bedrock>(
        wiring: &Wiring<B>,
        scoped: Scoped<Self>,
        cache: Cache<Self>,
    ) -> BoxFuture<'static, ()> {
        wiring.models(scoped, cache)
    }
}
