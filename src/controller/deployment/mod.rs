//! The stages of a BedrockCustomModelDeployment reconcile: validate → observe (the referenced
//! model from the cache, the deployment from Bedrock) → plan (pure, in `plan`) → act → report.

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use tracing::{info, warn};

use super::context::Context;
use super::driver::{self, Stages};
use super::error::Error;
use super::holding::{self, Lost};
use super::kind::{KindLabel, Managed};
use super::outcome::{self, Note};
use super::ownership::{self, Liveness};
use super::report::{publish, report};
use crate::api::BedrockCustomModel;
use crate::api::conditions::reason;
use crate::api::deployment::{
    BedrockCustomModelDeployment, BedrockCustomModelDeploymentStatus, ModelTarget, ValidDeployment,
};
use crate::api::validation;
use crate::bedrock::{Bedrock, BedrockError};
use crate::metrics::Metrics;

pub mod plan;

use plan::{Cleanup, Lookup, Observation, Plan};

impl Managed for BedrockCustomModelDeployment {
    type Status = BedrockCustomModelDeploymentStatus;
    const KIND: KindLabel = KindLabel::BedrockCustomModelDeployment;

    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn status_conditions(
        status: &Self::Status,
    ) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
        &status.conditions
    }
    fn set_status_conditions(
        status: &mut Self::Status,
        conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    ) {
        status.conditions = conditions;
    }
    fn set_observed_generation(status: &mut Self::Status, generation: Option<i64>) {
        status.observed_generation = generation;
    }
    fn bedrock_name(&self) -> &str {
        self.deployment_name()
    }
    fn record_state(metrics: &Metrics, key: &str, status: Option<&Self::Status>) {
        metrics.deployment_status(key, status.map(|s| s.deployment_status.into()));
    }
}

impl<B: Bedrock> Stages<B> for BedrockCustomModelDeployment {
    async fn apply(resource: &Self, ctx: &Context<B>) -> Result<Action, Error> {
        apply(resource, ctx).await
    }

    async fn cleanup(resource: &Self, ctx: &Context<B>) -> Result<Action, Error> {
        cleanup(resource, ctx).await
    }
}

async fn apply<B: Bedrock>(
    resource: &BedrockCustomModelDeployment,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    // Validate: the code below only meets a checked spec.
    let valid = match validation::validate_deployment(resource) {
        Ok(valid) => valid,
        Err(errors) => {
            let plan = plan::invalid(resource, &errors);
            return finish(resource, ctx, &plan).await;
        }
    };
    let namespace = resource.namespace().unwrap_or_default();
    // The referenced model is read through the API server, not the cache: the watch that
    // brings this reconcile when the model changes may run ahead of the models' cache.
    let referenced = match &valid.model {
        ModelTarget::Ref(name) => {
            Api::<BedrockCustomModel>::namespaced(ctx.client.clone(), &namespace)
                .get_opt(name)
                .await
                .map_err(Error::Kube)?
        }
        ModelTarget::Arn(_) => None,
    };
    let model = plan::resolve(&valid.model, referenced.as_ref());
    let region = plan::region(resource, &valid, &model, &ctx.default_region);
    if let Some(plan) = plan::region_mismatch(resource, &valid, &model)
        .or_else(|| plan::precheck(resource, &valid, &region))
        .or_else(|| plan::adoption_refused(resource, &valid, &region, &ctx.adoption))
    {
        return finish(resource, ctx, &plan).await;
    }
    if ctx.first_look(resource) && plan::settled(resource) {
        // Counted in the gauge from the first look on, though not looked at in Bedrock yet.
        BedrockCustomModelDeployment::record_state(
            &ctx.metrics,
            &resource.key(),
            resource.status.as_ref(),
        );
        return Ok(Action::requeue(driver::spread(ctx.timing.resync)));
    }

    // Observe.
    let lookup = plan::lookup(resource, &valid);
    let deployment = match &lookup {
        // Nothing to look up by name before the model is known: no call while waiting.
        Lookup::ByName(_) if model.arn().is_none() => None,
        Lookup::ByName(name) | Lookup::ByArn(name) => Some(name.clone()),
    };
    let _name_lock = match &lookup {
        Lookup::ByName(name) if deployment.is_some() => {
            Some(ctx.names.lock(format!("deployment/{region}/{name}")).await)
        }
        _ => None,
    };
    let tags_due = ctx.tags_due(resource);
    let observed = async {
        let Some(identifier) = &deployment else {
            return Ok((None, None));
        };
        let remote = ctx.bedrock.get_deployment(&region, identifier).await?;
        let tags = match &remote {
            Some(remote) if plan::needs_tags(resource, &lookup, remote, tags_due) => {
                Some(ctx.bedrock.list_tags(&region, &remote.arn).await?)
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
    let owner = match tags
        .as_ref()
        .and_then(|tags| plan::owner_to_look_up(resource, tags))
    {
        Some(holder) => {
            holding::look_up_owner::<BedrockCustomModelDeployment, B>(&holder, ctx).await?
        }
        None => Liveness::Unknown,
    };
    let elapsed = remote
        .as_ref()
        .and_then(|d| {
            d.last_updated_time
                .as_deref()
                .or(d.creation_time.as_deref())
        })
        .map(holding::elapsed_since)
        .unwrap_or_default();
    let observation = Observation {
        model,
        deployment: remote,
        tags,
        owner,
    };

    // Plan.
    let mut plan = plan::plan_apply(
        resource,
        &valid,
        &region,
        &observation,
        &ctx.timing,
        elapsed,
    );

    // Act.
    match act(resource, &valid, &region, &mut plan, ctx).await {
        Ok(None) => {}
        Ok(Some(lost)) => {
            warn!(resource = %resource.name_any(), namespace = %namespace, arn = %lost.arn, "the deployment belongs to another resource");
            let message =
                ownership::left_message("Bedrock deployment", &lost.arn, lost.holder.as_ref());
            plan = outcome::blocked(
                plan::current_conditions(resource),
                plan::base_status(resource, &valid, &region),
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

/// Reports a plan and turns its `next` into the controller's action.
async fn finish<B: Bedrock>(
    resource: &BedrockCustomModelDeployment,
    ctx: &Context<B>,
    plan: &Plan,
) -> Result<Action, Error> {
    report(resource, ctx, &plan.status, &plan.conditions, &plan.events).await?;
    ctx.succeeded(resource);
    Ok(driver::action(ctx, &plan.next))
}

/// Runs the plan's calls in order; on the first failure stops and returns it.
async fn act<B: Bedrock>(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
    plan: &mut Plan,
    ctx: &Context<B>,
) -> Result<Option<Lost>, BedrockError> {
    let uid = resource.metadata.uid.as_deref().unwrap_or_default();
    let actions = std::mem::take(&mut plan.actions);
    for action in &actions {
        match action {
            plan::Action::Create(request) => {
                let arn = ctx.bedrock.create_deployment(region, request).await?;
                info!(deployment = %request.name, arn = %arn, model = %request.model_arn, "deployment created");
                crate::fault::after_create();
                plan::after_create(
                    plan,
                    valid,
                    region,
                    &request.model_arn,
                    arn,
                    &ctx.timing,
                    resource.metadata.generation,
                );
            }
            plan::Action::Update { arn, model_arn } => {
                ctx.bedrock
                    .update_deployment(region, arn, model_arn)
                    .await?;
                info!(arn = %arn, model = %model_arn, "deployment update started");
                plan::after_update(plan, &ctx.timing);
            }
            plan::Action::Delete { arn } => {
                let delete = async || ctx.bedrock.delete_deployment(region, arn).await;
                if let Some(lost) = holding::delete_owned(ctx, region, arn, uid, delete).await? {
                    return Ok(Some(lost));
                }
            }
            plan::Action::Claim { arn, tags } => {
                if let Some(lost) = holding::claim(ctx, region, arn, tags, uid).await? {
                    return Ok(Some(lost));
                }
            }
            plan::Action::Tag { arn, tags } => {
                ctx.bedrock.tag(region, arn, tags).await?;
            }
            plan::Action::Untag { arn, keys } => {
                ctx.bedrock.untag(region, arn, keys).await?;
            }
        }
    }
    plan.actions = actions;
    Ok(None)
}

/// Shows a failed call on the resource when it is worth showing, and hands the error to the
/// error policy for the retry delay.
async fn fail<B: Bedrock>(
    resource: &BedrockCustomModelDeployment,
    ctx: &Context<B>,
    status: &BedrockCustomModelDeploymentStatus,
    error: BedrockError,
) -> Error {
    let failures = ctx.failures(resource) + 1;
    warn!(
        resource = %resource.name_any(),
        namespace = %resource.namespace().unwrap_or_default(),
        operation = error.operation,
        class = error.class().as_str(),
        error = %error.describe(),
        "Bedrock call failed"
    );
    let subject = plan::subject(resource.deployment_name());
    if let Some((desired, events)) = outcome::failure(
        plan::current_conditions(resource),
        &error,
        &subject,
        failures,
        &ctx.timing,
    ) && let Err(e) = report(resource, ctx, status, &desired, &events).await
    {
        warn!(error = %e, "could not write the failure to the status");
    }
    Error::from(error)
}

async fn cleanup<B: Bedrock>(
    resource: &BedrockCustomModelDeployment,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    let region = resource
        .status
        .as_ref()
        .and_then(|s| s.region.clone())
        .or_else(|| resource.spec.region.clone())
        .unwrap_or_else(|| ctx.default_region.clone());
    let target = match plan::cleanup(resource, &ctx.adoption) {
        Cleanup::Retain => {
            publish(
                resource,
                ctx,
                &[Note::warning(
                    reason::RETAINED,
                    "Delete",
                    format!(
                        "kept Bedrock deployment {} because deletionPolicy is Retain; it keeps serving (and billing) until deleted in Bedrock",
                        resource.deployment_name()
                    ),
                )],
            )
            .await;
            return Ok(Action::await_change());
        }
        Cleanup::Nothing => return Ok(Action::await_change()),
        Cleanup::Delete { arn } => Some(arn),
        Cleanup::LookUp { name } => ctx
            .bedrock
            .get_deployment(&region, &name)
            .await?
            .map(|deployment| deployment.arn),
    };
    let Some(arn) = target else {
        return Ok(Action::await_change());
    };
    let doomed = holding::Doomed {
        noun: "Bedrock deployment",
        name: resource.deployment_name(),
        region: &region,
        arn: &arn,
    };
    holding::delete_as_owner(
        resource,
        ctx,
        doomed,
        async || ctx.bedrock.delete_deployment(&region, &arn).await,
        |error| plan::deletion_refused_message(&arn, error),
    )
    .await
}
