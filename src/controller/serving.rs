//! The apply stage of every kind that serves a model (deployments, provisioned throughputs),
//! written once: validate → read the referenced model (through the API server) → resolve →
//! checks that need no call → observe the Bedrock object (and its tags, and the owner they
//! name) → plan (the kind's pure plan) → act (the kind's calls) → report. A kind says what is
//! its own through [`Serving`]; its decisions stay in its `plan`.

use std::future::Future;
use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use tracing::warn;

use super::context::Context;
use super::driver;
use super::error::Error;
use super::holding;
use super::kind::Managed;
use super::lifecycle::{self, KindPlan, Lifecycle};
use super::locks::Held;
use super::outcome::{self, Timing};
use super::ownership::{self, Liveness, Me};
use super::reference::{self, Lookup, Observation, Resolution, Serves};
use super::report::{fail, finish};
use crate::api::BedrockCustomModel;
use crate::api::conditions::reason;
use crate::api::validation::FieldError;
use crate::bedrock::{Bedrock, BedrockError};

/// What the shared apply stage needs from a kind that serves a model, beyond its
/// [`Lifecycle`]. Every method but `admit` is a pure decision of the kind's plan.
pub trait Serving: Lifecycle + Serves {
    fn validate(&self) -> Result<Self::Valid, Vec<FieldError>>;
    /// InvalidSpec naming every field, no call.
    fn invalid(&self, errors: &[FieldError]) -> KindPlan<Self>;
    /// The name of the BedrockCustomModel the spec references, if it names one.
    fn referenced(valid: &Self::Valid) -> Option<&str>;
    /// The model the spec names by ARN or ID, if it does, and the field that names it.
    fn named_model(valid: &Self::Valid) -> Option<(&'static str, &str)>;
    fn resolve(valid: &Self::Valid, model: Option<&BedrockCustomModel>) -> Resolution;
    fn region(&self, valid: &Self::Valid, model: &Resolution, default_region: &str) -> String;
    /// Every check that stops the reconcile before a Bedrock call (settings: `ctx`).
    fn precheck<B>(
        &self,
        valid: &Self::Valid,
        model: &Resolution,
        region: &str,
        ctx: &Context<B>,
    ) -> Option<KindPlan<Self>>;
    /// Whether the status shows the spec reconciled and nothing pending.
    fn settled(&self) -> bool;
    fn lookup(&self, valid: &Self::Valid) -> Lookup;
    fn needs_tags(&self, lookup: &Lookup, remote: &Self::Remote, due: bool) -> bool;
    /// When the object (or its last change) started, RFC 3339: how long it has been in
    /// progress.
    fn changed_at(remote: &Self::Remote) -> Option<&str>;
    fn base_status(&self, valid: &Self::Valid, region: &str) -> Self::Status;
    fn plan_apply(
        &self,
        valid: &Self::Valid,
        region: &str,
        observation: &Observation<Self::Remote>,
        timing: &Timing,
        elapsed: Duration,
    ) -> KindPlan<Self>;

    /// Guards that need the API server (a namespace's budget of model units), checked before
    /// any Bedrock call (`plan`: `None`) and again once the plan is made, before its calls
    /// (`plan`: `Some`): a refusal, or go on. A guard that needs a lock keeps it in `held`,
    /// which the apply stage holds until the status is written, so that a concurrent
    /// reconcile of the same namespace sees what this one bought.
    fn admit<'c, B: Bedrock>(
        &self,
        valid: &Self::Valid,
        plan: Option<&KindPlan<Self>>,
        held: &mut Option<Held<'c>>,
        ctx: &'c Context<B>,
    ) -> impl Future<Output = Result<Option<KindPlan<Self>>, Error>> + Send {
        let _ = (valid, plan, held, ctx);
        async { Ok(None) }
    }
}

/// The apply stage of a serving kind.
pub async fn apply<K: Serving, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    // Validate: the code below only meets a checked spec.
    let valid = match resource.validate() {
        Ok(valid) => valid,
        Err(errors) => return finish(resource, ctx, &resource.invalid(&errors)).await,
    };
    let namespace = resource.namespace().unwrap_or_default();
    // The referenced model is read through the API server, not the cache: the watch that
    // brings this reconcile when the model changes may run ahead of the models' cache.
    let referenced = match K::referenced(&valid) {
        Some(name) => Api::<BedrockCustomModel>::namespaced(ctx.client.clone(), &namespace)
            .get_opt(name)
            .await
            .map_err(Error::kube("reading the referenced BedrockCustomModel"))?,
        None => None,
    };
    if let Some(plan) = cross_namespace_refused(resource, &valid, &namespace, ctx) {
        return finish(resource, ctx, &plan).await;
    }
    let model = K::resolve(&valid, referenced.as_ref());
    let region = resource.region(&valid, &model, &ctx.default_region);
    if let Some(plan) = resource.precheck(&valid, &model, &region, ctx) {
        return finish(resource, ctx, &plan).await;
    }
    // Held until the status is written (the end of this function).
    let mut held = None;
    if let Some(plan) = resource.admit(&valid, None, &mut held, ctx).await? {
        return finish(resource, ctx, &plan).await;
    }
    if ctx.first_look(resource) && resource.settled() {
        // Counted in the gauges from the first look on, though not looked at in Bedrock yet.
        K::record_state(&ctx.metrics, &resource.key(), resource.status());
        return Ok(Action::requeue(driver::spread(ctx.timing.resync)));
    }

    // Observe.
    let lookup = resource.lookup(&valid);
    let identifier = match &lookup {
        // Nothing to look up by name before the model is known: no call while waiting.
        Lookup::ByName(_) if model.arn().is_none() => None,
        Lookup::ByName(name) | Lookup::ByArn(name) => Some(name.clone()),
    };
    // One adoption (or create) of a name per region at a time.
    let _name_lock = match &lookup {
        Lookup::ByName(name) if identifier.is_some() => {
            Some(ctx.names.lock(format!("{}/{region}/{name}", K::NOUN)).await)
        }
        _ => None,
    };
    let tags_due = ctx.tags_due(resource);
    let observed = async {
        let Some(identifier) = &identifier else {
            return Ok((None, None));
        };
        let remote = K::get(ctx, &region, identifier).await?;
        let tags = match &remote {
            Some(remote) if resource.needs_tags(&lookup, remote, tags_due) => Some(
                ctx.bedrock
                    .list_tags(&region, K::remote_arn(remote))
                    .await?,
            ),
            _ => None,
        };
        Ok::<_, BedrockError>((remote, tags))
    };
    let (remote, tags) = match observed.await {
        Ok(observed) => observed,
        Err(error) => {
            let status = resource.status().cloned().unwrap_or_default();
            return Err(fail(resource, ctx, &status, error).await);
        }
    };
    let me = Me::of(resource.meta(), &ctx.cluster);
    let owner = match tags
        .as_ref()
        .and_then(|tags| ownership::owner_to_look_up(&me, tags))
    {
        Some(holder) => holding::look_up_owner::<K, B>(&holder, ctx).await?,
        None => Liveness::Unknown,
    };
    let elapsed = remote
        .as_ref()
        .and_then(K::changed_at)
        .map(holding::elapsed_since)
        .unwrap_or_default();
    let observation = Observation {
        model,
        remote,
        tags,
        owner,
        cluster: ctx.cluster.clone(),
    };

    // Plan.
    let mut plan = resource.plan_apply(&valid, &region, &observation, &ctx.timing, elapsed);
    if let Some(refused) = resource.admit(&valid, Some(&plan), &mut held, ctx).await? {
        plan = refused;
    }

    // Act.
    match lifecycle::act(resource, &valid, &region, &mut plan, ctx).await {
        Ok(None) => {}
        Ok(Some(lost)) => {
            warn!(resource = %resource.name_any(), namespace = %namespace, arn = %lost.arn, "the Bedrock {} belongs to another resource", K::NOUN);
            let noun = format!("Bedrock {}", K::NOUN);
            let message = ownership::left_message(&noun, &lost.arn, lost.holder.as_ref());
            plan = outcome::blocked(
                resource.conditions(),
                resource.base_status(&valid, &region),
                reason::NAME_CONFLICT,
                message,
                outcome::Next::After(ctx.timing.slow_retry),
            );
        }
        Err(failure) => return Err(fail(resource, ctx, &plan.status, failure).await),
    }
    if observation.tags.is_some() {
        ctx.tags_checked(resource);
    }
    finish(resource, ctx, &plan).await
}

/// A spec that names (by ARN or ID) the model a BedrockCustomModel of another namespace holds,
/// in a namespace the operator's `--cross-namespace-references` leaves out: InvalidSpec naming
/// the field, no call. Decided from the models' cache alone; a model held by no cached resource
/// (a foundation model, one made outside the operator, or one of a namespace this operator does
/// not watch) is not refused.
fn cross_namespace_refused<K: Serving, B>(
    resource: &K,
    valid: &K::Valid,
    namespace: &str,
    ctx: &Context<B>,
) -> Option<KindPlan<K>> {
    let (field, arn) = K::named_model(valid)?;
    if ctx.guards.cross_namespace_references == crate::controller::scope::NamespaceScope::All {
        return None;
    }
    let holders = reference::holders(&ctx.index.models.filter(|m| reference::holds(m, arn)));
    let error = ctx
        .guards
        .cross_namespace_refused(namespace, field, arn, &holders)?;
    Some(resource.invalid(&[error]))
}

/// The region of the model a serving resource's spec names, for [`lifecycle::region`] in
/// cleanup: the region of a model ARN, or that of the model the referenced BedrockCustomModel
/// holds (read through the API server, whatever its state).
pub(crate) async fn model_region<K: Serving, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
) -> Result<Option<String>, Error> {
    let Ok(valid) = resource.validate() else {
        return Ok(None);
    };
    if let Some(name) = K::referenced(&valid) {
        let namespace = resource.namespace().unwrap_or_default();
        let model = Api::<BedrockCustomModel>::namespaced(ctx.client.clone(), &namespace)
            .get_opt(name)
            .await
            .map_err(Error::kube("reading the referenced BedrockCustomModel"))?;
        return Ok(model.and_then(|m| m.held_region().map(str::to_string)));
    }
    Ok(K::named_model(&valid)
        .and_then(|(_, arn)| crate::api::deployment::arn_region(arn))
        .map(str::to_string))
}
