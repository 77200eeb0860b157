//! The stages of a BedrockProvisionedThroughput reconcile: validate and guard (no call) →
//! observe (the referenced model through the API server, the throughput from Bedrock) → plan
//! (pure, in `plan`) → act → report.

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
use crate::api::throughput::{
    BedrockProvisionedThroughput, BedrockProvisionedThroughputStatus, ThroughputModel,
    ValidThroughput,
};
use crate::api::validation;
use crate::bedrock::{Bedrock, BedrockError};
use crate::metrics::{CommitmentLabel, Metrics};

pub mod plan;

use plan::{Cleanup, Lookup, Observation, Plan};

impl Managed for BedrockProvisionedThroughput {
    type Status = BedrockProvisionedThroughputStatus;
    const KIND: KindLabel = KindLabel::BedrockProvisionedThroughput;

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
        self.provisioned_model_name()
    }
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

impl<B: Bedrock> Stages<B> for BedrockProvisionedThroughput {
    async fn apply(resource: &Self, ctx: &Context<B>) -> Result<Action, Error> {
        apply(resource, ctx).await
    }

    async fn cleanup(resource: &Self, ctx: &Context<B>) -> Result<Action, Error> {
        cleanup(resource, ctx).await
    }
}

async fn apply<B: Bedrock>(
    resource: &BedrockProvisionedThroughput,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    // Validate and guard: the code below only meets a checked spec whose purchase is allowed.
    let valid = match validation::validate_throughput(resource) {
        Ok(valid) => valid,
        Err(errors) => {
            let plan = plan::invalid(resource, &errors);
            return finish(resource, ctx, &plan).await;
        }
    };
    if let Some(plan) = plan::commitment_refused(resource, ctx.allow_commitments)
        .or_else(|| plan::adoption_refused(resource, &valid, &ctx.adoption))
    {
        return finish(resource, ctx, &plan).await;
    }
    let namespace = resource.namespace().unwrap_or_default();
    // The referenced model is read through the API server, not the cache: the watch that
    // brings this reconcile when the model changes may run ahead of the models' cache.
    let referenced = match &valid.model {
        ThroughputModel::Ref(name) => {
            Api::<BedrockCustomModel>::namespaced(ctx.client.clone(), &namespace)
                .get_opt(name)
                .await
                .map_err(Error::Kube)?
        }
        ThroughputModel::Id(_) => None,
    };
    let model = plan::resolve(&valid.model, referenced.as_ref());
    let region = plan::region(resource, &valid, &model, &ctx.default_region);
    if let Some(plan) = plan::region_mismatch(resource, &valid, &model)
        .or_else(|| plan::precheck(resource, &valid, &region))
    {
        return finish(resource, ctx, &plan).await;
    }
    if ctx.first_look(resource) && plan::settled(resource) {
        // Counted in the gauge from the first look on, though not looked at in Bedrock yet.
        BedrockProvisionedThroughput::record_state(
            &ctx.metrics,
            &resource.key(),
            resource.status.as_ref(),
        );
        return Ok(Action::requeue(driver::spread(ctx.timing.resync)));
    }

    // Observe.
    let lookup = plan::lookup(resource, &valid);
    let identifier = match &lookup {
        // Nothing to look up by name before the model is known: no call while waiting.
        Lookup::ByName(_) if model.arn().is_none() => None,
        Lookup::ByName(name) | Lookup::ByArn(name) => Some(name.clone()),
    };
    let _name_lock = match &lookup {
        Lookup::ByName(name) if identifier.is_some() => {
            Some(ctx.names.lock(format!("throughput/{region}/{name}")).await)
        }
        _ => None,
    };
    let tags_due = ctx.tags_due(resource);
    let observed = async {
        let Some(identifier) = &identifier else {
            return Ok((None, None));
        };
        let remote = ctx.bedrock.get_throughput(&region, identifier).await?;
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
            holding::look_up_owner::<BedrockProvisionedThroughput, B>(&holder, ctx).await?
        }
        None => Liveness::Unknown,
    };
    let elapsed = remote
        .as_ref()
        .and_then(|t| {
            t.last_modified_time
                .as_deref()
                .or(t.creation_time.as_deref())
        })
        .map(holding::elapsed_since)
        .unwrap_or_default();
    let observation = Observation {
        model,
        throughput: remote,
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
            warn!(resource = %resource.name_any(), namespace = %namespace, arn = %lost.arn, "the throughput belongs to another resource");
            let message =
                ownership::left_message("provisioned throughput", &lost.arn, lost.holder.as_ref());
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
    resource: &BedrockProvisionedThroughput,
    ctx: &Context<B>,
    plan: &Plan,
) -> Result<Action, Error> {
    report(resource, ctx, &plan.status, &plan.conditions, &plan.events).await?;
    ctx.succeeded(resource);
    Ok(driver::action(ctx, &plan.next))
}

/// Runs the plan's calls in order; on the first failure stops and returns it.
async fn act<B: Bedrock>(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    region: &str,
    plan: &mut Plan,
    ctx: &Context<B>,
) -> Result<Option<Lost>, BedrockError> {
    let uid = resource.metadata.uid.as_deref().unwrap_or_default();
    let actions = std::mem::take(&mut plan.actions);
    for action in &actions {
        match action {
            plan::Action::Create(request) => {
                let arn = ctx.bedrock.create_throughput(region, request).await?;
                info!(throughput = %request.name, arn = %arn, model = %request.model_id, units = request.model_units, commitment = ?request.commitment, "provisioned throughput bought");
                crate::fault::after_create();
                plan::after_create(
                    plan,
                    valid,
                    region,
                    &request.model_id,
                    arn,
                    &ctx.timing,
                    resource.metadata.generation,
                );
            }
            plan::Action::Update { arn, request } => {
                ctx.bedrock.update_throughput(region, arn, request).await?;
                info!(arn = %arn, name = ?request.name, model = ?request.model_id, "provisioned throughput update started");
                plan::after_update(plan, &ctx.timing);
            }
            plan::Action::Delete { arn } => {
                let delete = async || ctx.bedrock.delete_throughput(region, arn).await;
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
    resource: &BedrockProvisionedThroughput,
    ctx: &Context<B>,
    status: &BedrockProvisionedThroughputStatus,
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
    let subject = plan::subject(resource.provisioned_model_name());
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
    resource: &BedrockProvisionedThroughput,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    let region = resource
        .status
        .as_ref()
        .and_then(|s| s.region.clone())
        .or_else(|| resource.spec.region.clone())
        .unwrap_or_else(|| ctx.default_region.clone());
    let target = match plan::cleanup(resource, &ctx.adoption, crate::fault::now()) {
        Cleanup::Retain => {
            publish(
                resource,
                ctx,
                &[Note::warning(
                    reason::RETAINED,
                    "Delete",
                    plan::retained_message(resource),
                )],
            )
            .await;
            return Ok(Action::await_change());
        }
        Cleanup::Nothing => return Ok(Action::await_change()),
        Cleanup::Committed { until, wait } => {
            let message = plan::committed_message(resource, &until);
            info!(until = %until, "throughput deletion waits for the end of its commitment term");
            let (desired, events) =
                outcome::deletion_blocked(plan::current_conditions(resource), message.clone());
            report(
                resource,
                ctx,
                &resource.observed_status(),
                &desired,
                &events,
            )
            .await?;
            // Looked at again at the end of the term, or after --slow-retry if sooner (a look
            // makes no call and writes nothing while the term runs; it notices a clock change).
            return Err(Error::WaitingUntil(
                message,
                wait.min(ctx.timing.slow_retry),
            ));
        }
        Cleanup::Delete { arn } => Some(arn),
        Cleanup::LookUp { name } => ctx
            .bedrock
            .get_throughput(&region, &name)
            .await?
            .map(|throughput| throughput.arn),
    };
    let Some(arn) = target else {
        return Ok(Action::await_change());
    };
    let doomed = holding::Doomed {
        noun: "provisioned throughput",
        name: resource.provisioned_model_name(),
        region: &region,
        arn: &arn,
    };
    holding::delete_as_owner(
        resource,
        ctx,
        doomed,
        async || ctx.bedrock.delete_throughput(&region, &arn).await,
        |error| plan::deletion_refused_message(&arn, error),
    )
    .await
}
