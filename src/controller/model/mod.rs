//! The stages of a BedrockCustomModel reconcile: observe (Kubernetes + Bedrock) → plan (pure,
//! in `plan`) → act (Bedrock calls) → report (the shared status writer and events).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use tracing::{info, warn};

pub mod plan;
pub(crate) mod sweep;

use std::convert::Infallible;

use k8s_openapi::jiff::Timestamp;

use super::cleanup::{self, Cleanup};
use super::context::Context;
use super::driver::{self, Stages};
use super::error::Error;
use super::holding;
use super::index::Stores;
use super::kind::{KindLabel, Managed};
use super::lifecycle::{self, Flow, Lifecycle};
use super::outcome::{self, Note};
use super::ownership::{self, Liveness, Me};
use super::reference::{self, Serves, Users};
use super::report::{fail, report};
use super::scope::NamespaceScope;
use crate::api::conditions::reason;
use crate::api::{BedrockCustomModel, BedrockCustomModelStatus, ModelStatus};
use crate::bedrock::{Bedrock, BedrockError, CreateRequest, RemoteModel};
use crate::metrics::{Metrics, ModelStatusLabel};
use plan::{Lookup, Observation, Plan, Regions};

impl Managed for BedrockCustomModel {
    type Status = BedrockCustomModelStatus;
    const KIND: KindLabel = KindLabel::BedrockCustomModel;

    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn status_conditions(status: &Self::Status) -> &[Condition] {
        &status.conditions
    }
    fn set_status_conditions(status: &mut Self::Status, conditions: Vec<Condition>) {
        status.conditions = conditions;
    }
    fn set_observed_generation(status: &mut Self::Status, generation: Option<i64>) {
        status.observed_generation = generation;
    }
    fn bedrock_name(&self) -> &str {
        self.model_name()
    }
    const NAME_FIELD: &'static str = "spec.modelName";
    fn given_name(&self) -> Option<&str> {
        self.spec.model_name.as_deref()
    }
    fn held_name(&self) -> Option<&str> {
        let status = self.status.as_ref()?;
        status.model_arn.as_ref()?;
        status.model_name.as_deref()
    }
    fn given_region(&self) -> Option<&str> {
        self.spec.region.as_deref()
    }
    fn held_region(&self) -> Option<&str> {
        let status = self.status.as_ref()?;
        status.model_arn.as_ref()?;
        status.region.as_deref()
    }
    fn set_given_name(&mut self, name: String) {
        self.spec.model_name = Some(name);
    }
    fn subject(&self) -> outcome::Subject<'_> {
        plan::subject(self.model_name())
    }
    fn record_state(metrics: &Metrics, key: &str, status: Option<&Self::Status>) {
        metrics.model_status(
            key,
            status.map(|s| ModelStatusLabel::from_status(s.model_status)),
        );
    }
}

impl Lifecycle for BedrockCustomModel {
    /// A model's spec is checked in its plan's precheck (no validated type yet).
    type Valid = ();
    type Remote = RemoteModel;
    type Create = CreateRequest;
    type Update = Infallible;
    const NOUN: &'static str = "model";

    async fn get<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        identifier: &str,
    ) -> Result<Option<RemoteModel>, BedrockError> {
        ctx.bedrock.get_model(region, identifier).await
    }
    fn remote_arn(remote: &RemoteModel) -> &str {
        &remote.arn
    }
    /// A new model goes where the spec asks (`region` is where the model the status names
    /// lives, for the other calls).
    async fn create<B: Bedrock>(
        &self,
        _valid: &(),
        _region: &str,
        request: &CreateRequest,
        plan: &mut Plan,
        ctx: &Context<B>,
    ) -> Result<Flow, BedrockError> {
        let Regions { desired, .. } = plan::regions(self, &ctx.default_region);
        let arn = ctx.bedrock.create_model(&desired, request).await?;
        info!(model = %request.model_name, arn = %arn, "model created");
        crate::fault::after_create();
        let swept = ctx.sweep.covers(&desired);
        plan::after_create(plan, self, &desired, arn, &ctx.timing, swept);
        Ok(Flow::Go)
    }
    async fn update<B: Bedrock>(
        _region: &str,
        _arn: &str,
        change: &Infallible,
        _plan: &mut Plan,
        _ctx: &Context<B>,
    ) -> Result<(), BedrockError> {
        match *change {}
    }
    async fn delete<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        arn: &str,
    ) -> Result<bool, BedrockError> {
        ctx.bedrock.delete_model(region, arn).await
    }
    fn deletion(&self, adoption: &NamespaceScope, _now: Timestamp) -> Cleanup {
        plan::cleanup(self, adoption)
    }
    fn retained(&self) -> Note {
        Note::normal(
            reason::RETAINED,
            "Delete",
            format!(
                "kept Bedrock model {} because deletionPolicy is Retain",
                self.model_name()
            ),
        )
    }
    fn deletion_refused(arn: &str, error: &BedrockError) -> String {
        plan::deletion_refused_message(arn, error)
    }
    /// Deployments and throughputs managed here that still use the model go first.
    async fn users<B: Bedrock>(&self, ctx: &Context<B>) -> Result<Option<String>, Error> {
        let namespace = self.namespace().unwrap_or_default();
        let users = users(self, &namespace, ctx).await?;
        Ok((!users.is_empty()).then(|| users.message(self.model_name())))
    }
}

impl<B: Bedrock> Stages<B> for BedrockCustomModel {
    async fn apply(resource: &Self, ctx: &Context<B>) -> Result<Action, Error> {
        apply(resource, ctx).await
    }

    async fn cleanup(resource: &Self, ctx: &Context<B>) -> Result<Action, Error> {
        cleanup::cleanup(resource, ctx).await
    }

    fn forget(resource: &Self, ctx: &Context<B>) {
        ctx.forget(resource);
        if let Some(arn) = resource
            .status
            .as_ref()
            .and_then(|s| s.model_arn.as_deref())
        {
            ctx.sweep.forget(arn, &sweep::reference(resource));
        }
    }
}

async fn apply<B: Bedrock>(
    resource: &BedrockCustomModel,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    let Regions { desired, model } = plan::regions(resource, &ctx.default_region);
    if let Some(plan) = plan::precheck(resource, &desired)
        .or_else(|| plan::adoption_refused(resource, &desired, &ctx.adoption))
        .or_else(|| plan::guards_refused(resource, &desired, &ctx.guards))
    {
        report(resource, ctx, &plan.status, &plan.conditions, &plan.events).await?;
        ctx.succeeded(resource);
        return Ok(driver::action(ctx, &plan.next));
    }

    if ctx.first_look(resource) && plan::settled(resource) {
        BedrockCustomModel::record_state(&ctx.metrics, &resource.key(), resource.status.as_ref());
        return Ok(Action::requeue(driver::spread(ctx.timing.resync)));
    }

    // Observe.
    let lookup = plan::lookup(resource);
    let identifier = match &lookup {
        Lookup::ByArn(arn) => arn.as_str(),
        Lookup::ByName(name) => name.as_str(),
    };
    // A model found by name may be taken (adopted, or created): one reconcile per model name
    // and region at a time, from the look-up to the status write, whatever the namespace.
    let _name_lock = match &lookup {
        Lookup::ByName(name) => Some(ctx.names.lock(format!("model/{model}/{name}")).await),
        Lookup::ByArn(_) => None,
    };
    let tags_due = ctx.tags_due(resource);
    let observed = async {
        let remote = ctx.bedrock.get_model(&model, identifier).await?;
        let tags = match &remote {
            Some(remote) if plan::needs_tags(resource, &lookup, remote, tags_due) => {
                Some(ctx.bedrock.list_tags(&model, &remote.arn).await?)
            }
            _ => None,
        };
        Ok::<_, BedrockError>((remote, tags))
    };
    let (remote, tags) = match observed.await {
        Ok(observed) => observed,
        Err(error) => {
            let status = resource.status.clone().unwrap_or_default();
            return Err(fail(resource, ctx, &status, error).await);
        }
    };
    let owner = match tags.as_ref().and_then(|tags| {
        ownership::owner_to_look_up(&Me::of(&resource.metadata, &ctx.cluster), tags)
    }) {
        Some(holder) => holding::look_up_owner::<BedrockCustomModel, B>(&holder, ctx).await?,
        None => Liveness::Unknown,
    };
    let observation = Observation {
        model: remote,
        tags,
        swept: ctx.sweep.covers(&model),
        owner,
        cluster: ctx.cluster.clone(),
    };
    let elapsed = observation
        .model
        .as_ref()
        .and_then(|m| m.creation_time.as_deref())
        .map(holding::elapsed_since);

    // Plan.
    let mut plan = plan::plan_apply(resource, &desired, &observation, &ctx.timing, elapsed);

    // Act.
    match lifecycle::act(resource, &(), &model, &mut plan, ctx).await {
        Ok(None) => {}
        Ok(Some(lost)) => {
            // Another resource holds the model (it tagged it at the same moment, or holds the
            // Failed model this one meant to replace): not this resource's model.
            let owner = lost.holder.as_ref().map(ToString::to_string);
            warn!(resource = %resource.name_any(), namespace = %resource.namespace().unwrap_or_default(), arn = %lost.arn, owner = ?owner, "the model belongs to another resource");
            plan = plan::name_conflict(
                resource,
                &desired,
                plan::base_status(resource, &desired),
                &lost.arn,
                lost.holder.as_ref(),
                &ctx.timing,
            );
        }
        Err(failure) => return Err(fail(resource, ctx, &plan.status, failure).await),
    }
    if observation.tags.is_some() {
        ctx.tags_checked(resource);
    }

    // Report.
    report(resource, ctx, &plan.status, &plan.conditions, &plan.events).await?;
    ctx.succeeded(resource);
    let created = observation
        .model
        .as_ref()
        .and_then(|m| m.creation_time.as_deref());
    hand_to_sweep(resource, &plan.status, created, ctx);
    Ok(driver::action(ctx, &plan.next))
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
    Ok(Users {
        deployments: names(users_of(resource, ctx, &ctx.index.deployments).await?),
        throughputs: names(users_of(resource, ctx, &ctx.index.throughputs).await?),
    })
}

/// The resources of one kind that still use the model (see [`reference::users`]): found in
/// the cache, then each read again through the API server, since the cache may still hold one
/// that was just deleted.
async fn users_of<K: Managed + Serves, B: Bedrock>(
    resource: &BedrockCustomModel,
    ctx: &Context<B>,
    cache: &Stores<K>,
) -> Result<Vec<ownership::OwnerRef>, Error> {
    let cached = cache.filter(|r| !reference::users(resource, std::slice::from_ref(r)).is_empty());
    let candidates = reference::users(resource, &cached);
    let mut fresh = Vec::new();
    for candidate in &candidates {
        let api: Api<K> = Api::namespaced(ctx.client.clone(), &candidate.namespace);
        if let Some(found) = api
            .get_opt(&candidate.name)
            .await
            .map_err(Error::kube("reading a resource that uses the model"))?
        {
            fresh.push(found);
        }
    }
    Ok(reference::users(resource, &fresh))
}
