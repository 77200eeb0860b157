//! The stages of one reconcile: observe (Kubernetes + Bedrock) → plan (pure, in `plan`) → act
//! (Bedrock calls) → report (status, events).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::core::error_boundary::{DeserializeGuard, InvalidObject};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::{debug, info, warn};

use super::ownership::{self, Deletion, Holder, Liveness};
use super::plan::{self, Cleanup, Lookup, Next, Note, Observation, Plan};
use super::{Context, Error};
use crate::api::conditions::{self, Desired, reason};
use crate::api::{BedrockCustomModel, BedrockCustomModelStatus, FINALIZER};
use crate::bedrock::{Bedrock, BedrockError, ErrorClass, ModelState};

/// Field manager of every status write.
pub const FIELD_MANAGER: &str = "bedrock-operator";

/// The pause before the next step of a multi-step change (replace = delete, then create).
const SOON: Duration = Duration::from_millis(200);

/// Entry point for the controller: one object, one pass.
pub async fn reconcile<B: Bedrock>(
    object: Arc<DeserializeGuard<BedrockCustomModel>>,
    ctx: Arc<Context<B>>,
) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let result = reconcile_object(&object, &ctx).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.category(),
    };
    ctx.metrics.reconciled(outcome, started);
    result
}

async fn reconcile_object<B: Bedrock>(
    object: &DeserializeGuard<BedrockCustomModel>,
    ctx: &Arc<Context<B>>,
) -> Result<Action, Error> {
    let resource = match &object.0 {
        Ok(resource) => resource.clone(),
        Err(invalid) => return report_malformed(invalid, ctx).await,
    };
    let namespace = resource.namespace().unwrap_or_default();
    let api: Api<BedrockCustomModel> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = finalizer(&api, FINALIZER, Arc::new(resource), |event| async {
        match event {
            Finalizer::Apply(resource) => apply(&resource, ctx).await,
            Finalizer::Cleanup(resource) => {
                let result = cleanup(&resource, ctx).await;
                if result.is_ok() {
                    ctx.metrics
                        .model_status(&Context::<B>::key(&resource), None);
                    ctx.forget(&resource);
                }
                result
            }
        }
    })
    .await;
    result.map_err(|e| Error::Finalizer(Box::new(e)))
}

fn region_of<B: Bedrock>(resource: &BedrockCustomModel, ctx: &Context<B>) -> String {
    // A model keeps the region it was created in; a new one goes to spec.region or the default.
    resource
        .spec
        .region
        .clone()
        .unwrap_or_else(|| ctx.default_region.clone())
}

async fn apply<B: Bedrock>(
    resource: &BedrockCustomModel,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    let region = region_of(resource, ctx);
    if let Some(plan) = plan::precheck(resource, &region)
        .or_else(|| plan::adoption_refused(resource, &region, &ctx.adoption))
    {
        report(resource, ctx, &plan.status, &plan.conditions, &plan.events).await?;
        ctx.succeeded(resource);
        return Ok(ctx.action(&plan.next));
    }

    if ctx.first_look(resource) && plan::settled(resource) {
        ctx.metrics.model_status(
            &Context::<B>::key(resource),
            Some(crate::metrics::ModelStatusLabel::from_status(
                resource
                    .status
                    .as_ref()
                    .and_then(|s| s.model_status.as_deref()),
            )),
        );
        return Ok(Action::requeue(super::spread(ctx.timing.resync)));
    }

    // Observe.
    let lookup = plan::lookup(resource);
    let lookup_region = resource
        .status
        .as_ref()
        .and_then(|s| s.region.clone())
        .filter(|_| matches!(lookup, Lookup::ByArn(_)))
        .unwrap_or_else(|| region.clone());
    let identifier = match &lookup {
        Lookup::ByArn(arn) => arn.as_str(),
        Lookup::ByName(name) => name.as_str(),
    };
    // A model found by name may be taken (adopted, or created): one reconcile per model name
    // and region at a time, from the look-up to the status write, whatever the namespace.
    let _name_lock = match &lookup {
        Lookup::ByName(name) => Some(
            ctx.model_names
                .lock(format!("{lookup_region}/{name}"))
                .await,
        ),
        Lookup::ByArn(_) => None,
    };
    let tags_due = ctx.tags_due(resource);
    let observed = async {
        let model = ctx.bedrock.get_model(&lookup_region, identifier).await?;
        let tags = match &model {
            Some(model) if plan::needs_tags(resource, &lookup, model, tags_due) => {
                Some(ctx.bedrock.list_tags(&lookup_region, &model.arn).await?)
            }
            _ => None,
        };
        Ok::<_, BedrockError>((model, tags))
    };
    let (model, tags) = match observed.await {
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
        Some(holder) => look_up_owner(&holder, ctx).await?,
        None => Liveness::Unknown,
    };
    let observation = Observation {
        model,
        tags,
        swept: ctx.sweep.covers(&lookup_region),
        owner,
    };
    let elapsed = observation
        .model
        .as_ref()
        .and_then(|m| m.creation_time.as_deref())
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(|created| {
            let span = Timestamp::now().duration_since(created);
            Duration::try_from(span).unwrap_or_default()
        });

    // Plan.
    let mut plan = plan::plan_apply(resource, &region, &observation, &ctx.timing, elapsed);

    // Act.
    match act(resource, &region, &mut plan, ctx).await {
        Ok(None) => {}
        Ok(Some(lost)) => {
            // Another resource holds the model (it tagged it at the same moment, or holds the
            // Failed model this one meant to replace): not this resource's model.
            let owner = lost.holder.as_ref().map(ToString::to_string);
            warn!(resource = %resource.name_any(), namespace = %resource.namespace().unwrap_or_default(), arn = %lost.arn, owner = ?owner, "the model belongs to another resource");
            plan = plan::name_conflict(
                resource,
                &region,
                plan::base_status(resource, &region),
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
    sweep(resource, &plan.status, created, ctx);
    Ok(ctx.action(&plan.next))
}

/// Hands a Creating model to the sweep (when it covers the model's region), and takes any other
/// back from it. `created` is Bedrock's creationTime of the model as just read (none right
/// after a create: then it is now); the sweep lists from the oldest one, so it must not be
/// later than the real one.
fn sweep<B: Bedrock>(
    resource: &BedrockCustomModel,
    status: &BedrockCustomModelStatus,
    created: Option<&str>,
    ctx: &Context<B>,
) {
    let reference = super::sweep::reference(resource);
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
    let creating = status.model_status.as_deref() == Some(ModelState::Creating.as_str());
    if creating && ctx.sweep.covers(region) {
        ctx.sweep.watch(region, arn, created, reference);
    } else {
        ctx.sweep.forget(arn, &reference);
    }
}

/// A model this resource meant to take or delete turned out to be another resource's (or, with
/// no owner tag, nobody's that the operator knows).
struct Lost {
    arn: String,
    holder: Option<Holder>,
}

/// The model's tags as they are now; `None` when the model is gone.
async fn tags_now<B: Bedrock>(
    ctx: &Context<B>,
    region: &str,
    arn: &str,
) -> Result<Option<std::collections::BTreeMap<String, String>>, BedrockError> {
    match ctx.bedrock.list_tags(region, arn).await {
        Ok(tags) => Ok(Some(tags)),
        Err(error) if error.class() == ErrorClass::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Whether the resource an owner tag names still exists: a GET through the API server (not the
/// cache, which may lag), its UID compared with the tag's. A namespace the operator may not
/// read cannot prove the owner gone, so the owner counts as alive.
async fn look_up_owner<B: Bedrock>(holder: &Holder, ctx: &Context<B>) -> Result<Liveness, Error> {
    let Some(reference) = &holder.reference else {
        return Ok(Liveness::Unknown);
    };
    let api: Api<BedrockCustomModel> = Api::namespaced(ctx.client.clone(), &reference.namespace);
    match api.get_metadata_opt(&reference.name).await {
        Ok(found) => Ok(ownership::liveness(
            holder,
            found.as_ref().and_then(|o| o.metadata.uid.as_deref()),
        )),
        Err(kube::Error::Api(status)) if status.is_forbidden() => {
            debug!(owner = %holder, "may not read the owner; taking it as alive");
            Ok(Liveness::Alive)
        }
        Err(e) => Err(Error::Kube(e)),
    }
}

/// Runs the plan's calls in order; on the first failure stops and returns it. Stops early,
/// returning whose it is, when a model turns out to belong to another resource.
async fn act<B: Bedrock>(
    resource: &BedrockCustomModel,
    region: &str,
    plan: &mut Plan,
    ctx: &Context<B>,
) -> Result<Option<Lost>, BedrockError> {
    let uid = resource.metadata.uid.as_deref().unwrap_or_default();
    let actions = std::mem::take(&mut plan.actions);
    for action in &actions {
        match action {
            plan::Action::Create(request) => {
                let arn = ctx.bedrock.create_model(region, request).await?;
                info!(model = %request.model_name, arn = %arn, "model created");
                crate::fault::after_create();
                let swept = ctx.sweep.covers(region);
                plan::after_create(plan, resource, region, arn, &ctx.timing, swept);
            }
            plan::Action::Delete { arn } => {
                let region = region_for_arn(resource, region);
                // Only the owner deletes: the tags as they are right now say who that is.
                if let Some(tags) = tags_now(ctx, region, arn).await? {
                    if let Deletion::LeaveToOwner(holder) = ownership::deletion(&tags, uid) {
                        return Ok(Some(Lost {
                            arn: arn.clone(),
                            holder,
                        }));
                    }
                    ctx.bedrock.delete_model(region, arn).await?;
                    info!(arn = %arn, "model deleted for replacement");
                }
            }
            plan::Action::Claim { arn, tags } => {
                let region = region_for_arn(resource, region);
                ctx.bedrock.tag(region, arn, tags).await?;
                // Another writer may have claimed it at the same moment (a second process
                // during a failover): the last tag written wins, and says whose it is.
                let now = ctx.bedrock.list_tags(region, arn).await?;
                let holder = ownership::holder(&now);
                if holder.as_ref().is_none_or(|h| h.uid != uid) {
                    return Ok(Some(Lost {
                        arn: arn.clone(),
                        holder,
                    }));
                }
                info!(arn = %arn, "model adopted");
            }
            plan::Action::Tag { arn, tags } => {
                ctx.bedrock
                    .tag(region_for_arn(resource, region), arn, tags)
                    .await?;
                debug!(arn = %arn, keys = tags.len(), "tags set");
            }
            plan::Action::Untag { arn, keys } => {
                ctx.bedrock
                    .untag(region_for_arn(resource, region), arn, keys)
                    .await?;
                debug!(arn = %arn, keys = keys.len(), "tags removed");
            }
        }
    }
    plan.actions = actions;
    Ok(None)
}

/// The region of an existing model: where it was created, whatever the spec says now.
fn region_for_arn<'a>(resource: &'a BedrockCustomModel, fallback: &'a str) -> &'a str {
    resource
        .status
        .as_ref()
        .and_then(|s| s.region.as_deref())
        .unwrap_or(fallback)
}

/// Shows a failed call on the resource when it is worth showing, and hands the error to the
/// error policy for the retry delay. `status` is what is known of the model (the plan's status
/// when an action failed, the current one when observing failed).
async fn fail<B: Bedrock>(
    resource: &BedrockCustomModel,
    ctx: &Context<B>,
    status: &BedrockCustomModelStatus,
    error: BedrockError,
) -> Error {
    let failures = ctx.failures(resource) + 1;
    let name = resource.model_name().to_string();
    warn!(
        resource = %resource.name_any(),
        namespace = %resource.namespace().unwrap_or_default(),
        operation = error.operation,
        class = error.class().as_str(),
        error = %error.describe(),
        "Bedrock call failed"
    );
    if let Some(mut desired) = plan::failure_conditions(&error, &name, failures, &ctx.timing) {
        // When the failure does not decide Ready, Ready stays as the resource shows it (or, on a
        // resource that has none yet, says the same as Synced).
        if !desired.iter().any(|c| c.type_ == conditions::READY) {
            let current = resource
                .status
                .as_ref()
                .and_then(|s| conditions::find(&s.conditions, conditions::READY));
            let ready = match current {
                Some(condition) => Desired::from_condition(conditions::READY, condition),
                None => {
                    let synced = &desired[0];
                    Desired::new(
                        conditions::READY,
                        false,
                        synced.reason.clone(),
                        synced.message.clone(),
                    )
                }
            };
            desired.insert(0, ready);
        }
        let events = desired
            .last()
            .filter(|_| changed_reason(resource, &desired))
            .map(|c| Note {
                warning: true,
                reason: c.reason.clone(),
                action: "Reconcile",
                message: c.message.clone(),
            })
            .into_iter()
            .collect::<Vec<_>>();
        if let Err(e) = report(resource, ctx, status, &desired, &events).await {
            warn!(error = %e, "could not write the failure to the status");
        }
    }
    Error::Bedrock(Box::new(error))
}

fn changed_reason(resource: &BedrockCustomModel, desired: &[Desired]) -> bool {
    let current = resource
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    desired.iter().any(|want| {
        conditions::find(current, want.type_)
            .is_none_or(|c| c.reason != want.reason || c.message != want.message)
    })
}

async fn cleanup<B: Bedrock>(
    resource: &BedrockCustomModel,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    let region = resource
        .status
        .as_ref()
        .and_then(|s| s.region.clone())
        .unwrap_or_else(|| region_of(resource, ctx));
    let target = match plan::cleanup(resource, &ctx.adoption) {
        Cleanup::Retain => {
            publish(
                resource,
                ctx,
                &[Note {
                    warning: false,
                    reason: reason::RETAINED.to_string(),
                    action: "Delete",
                    message: format!(
                        "kept Bedrock model {} because deletionPolicy is Retain",
                        resource.model_name()
                    ),
                }],
            )
            .await;
            return Ok(Action::await_change());
        }
        Cleanup::Nothing => return Ok(Action::await_change()),
        Cleanup::Delete { arn } => Some(arn),
        Cleanup::LookUp { name } => ctx
            .bedrock
            .get_model(&region, &name)
            .await
            .map_err(|e| Error::Bedrock(Box::new(e)))?
            .map(|model| model.arn),
    };
    let Some(arn) = target else {
        return Ok(Action::await_change());
    };
    // Only the model's owner deletes it: its tags, read just before the call, say who that is.
    let tags = tags_now(ctx, &region, &arn)
        .await
        .map_err(|e| Error::Bedrock(Box::new(e)))?;
    let Some(tags) = tags else {
        // Already gone.
        ctx.succeeded(resource);
        return Ok(Action::await_change());
    };
    let uid = resource.metadata.uid.as_deref().unwrap_or_default();
    if let Deletion::LeaveToOwner(holder) = ownership::deletion(&tags, uid) {
        let model = format!("{} ({arn})", resource.model_name());
        let message = ownership::left_message("Bedrock model", &model, holder.as_ref());
        info!(arn = %arn, owner = ?holder.as_ref().map(ToString::to_string), "model left to its owner");
        publish(
            resource,
            ctx,
            &[Note {
                warning: true,
                reason: reason::LEFT_TO_OWNER.to_string(),
                action: "Delete",
                message,
            }],
        )
        .await;
        ctx.succeeded(resource);
        return Ok(Action::await_change());
    }
    match ctx.bedrock.delete_model(&region, &arn).await {
        Ok(existed) => {
            info!(arn = %arn, existed, "model deleted");
            if existed {
                publish(
                    resource,
                    ctx,
                    &[Note {
                        warning: false,
                        reason: "Deleted".to_string(),
                        action: "Delete",
                        message: format!("deleted Bedrock model {arn}"),
                    }],
                )
                .await;
            }
            ctx.succeeded(resource);
            Ok(Action::await_change())
        }
        Err(error) if error.class() == ErrorClass::Conflict => {
            let message = format!(
                "Bedrock refused to delete model {arn}: {}. The operator keeps the finalizer and retries with backoff; remove what uses the model (such as a provisioned throughput), or set spec.deletionPolicy: Retain to keep the model and let the resource go",
                error.describe()
            );
            let desired = vec![
                Desired::new(
                    conditions::READY,
                    false,
                    reason::DELETION_BLOCKED,
                    message.clone(),
                ),
                Desired::new(
                    conditions::SYNCED,
                    false,
                    reason::DELETION_BLOCKED,
                    message.clone(),
                ),
            ];
            let events = if changed_reason(resource, &desired) {
                vec![Note {
                    warning: true,
                    reason: reason::DELETION_BLOCKED.to_string(),
                    action: "Delete",
                    message,
                }]
            } else {
                Vec::new()
            };
            let mut status = resource.status.clone().unwrap_or_default();
            status.observed_generation = resource.metadata.generation;
            report(resource, ctx, &status, &desired, &events).await?;
            Err(Error::Bedrock(Box::new(error)))
        }
        Err(error) => Err(Error::Bedrock(Box::new(error))),
    }
}

/// Writes the status when it changed (server-side apply on the status subresource, one field
/// manager) and publishes the events.
async fn report<B: Bedrock>(
    resource: &BedrockCustomModel,
    ctx: &Context<B>,
    status: &BedrockCustomModelStatus,
    desired: &[Desired],
    events: &[Note],
) -> Result<(), Error> {
    ctx.metrics.model_status(
        &Context::<B>::key(resource),
        Some(crate::metrics::ModelStatusLabel::from_status(
            status.model_status.as_deref(),
        )),
    );
    let now = Time(Timestamp::now());
    let current = resource.status.clone().unwrap_or_default();
    let mut next = status.clone();
    next.conditions = conditions::merge(
        &current.conditions,
        desired,
        resource.metadata.generation,
        &now,
    );
    if resource.status.as_ref() != Some(&next) {
        let api: Api<BedrockCustomModel> = Api::namespaced(
            ctx.client.clone(),
            &resource.namespace().unwrap_or_default(),
        );
        let patch = json!({
            "apiVersion": BedrockCustomModel::api_version(&()),
            "kind": BedrockCustomModel::kind(&()),
            "status": next,
        });
        api.patch_status(
            &resource.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(Error::Kube)?;
        if let Some(ready) = next
            .conditions
            .iter()
            .find(|c| c.type_ == conditions::READY)
            && current
                .conditions
                .iter()
                .find(|c| c.type_ == conditions::READY)
                .is_none_or(|c| c.reason != ready.reason || c.status != ready.status)
        {
            info!(
                resource = %resource.name_any(),
                namespace = %resource.namespace().unwrap_or_default(),
                model = %resource.model_name(),
                ready = %ready.status,
                reason = %ready.reason,
                "status changed"
            );
        }
    }
    publish(resource, ctx, events).await;
    Ok(())
}

async fn publish<B: Bedrock>(resource: &BedrockCustomModel, ctx: &Context<B>, events: &[Note]) {
    let reference = resource.object_ref(&());
    for note in events {
        let event = Event {
            type_: if note.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: note.reason.to_string(),
            note: Some(note.message.chars().take(1000).collect()),
            action: note.action.to_string(),
            secondary: None,
        };
        // An event that cannot be written must not fail the reconcile.
        if let Err(e) = ctx.recorder.publish(&event, &reference).await {
            warn!(error = %e, reason = note.reason, "could not publish event");
        }
    }
}

/// An object that does not match the Rust types (written before a schema change, or on a
/// server that did not enforce the schema): say so on it, and keep serving the others.
async fn report_malformed<B: Bedrock>(
    invalid: &InvalidObject,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    let name = invalid.metadata.name.clone().unwrap_or_default();
    let namespace = invalid.metadata.namespace.clone().unwrap_or_default();
    warn!(resource = %name, namespace = %namespace, error = %invalid.error, "object does not match the BedrockCustomModel schema");
    let message = format!(
        "the object does not match the BedrockCustomModel schema, so nothing was sent to AWS: {}",
        invalid.error
    );
    let now = Time(Timestamp::now());
    let desired = [
        Desired::new(
            conditions::READY,
            false,
            reason::INVALID_SPEC,
            message.clone(),
        ),
        Desired::new(conditions::SYNCED, false, reason::INVALID_SPEC, message),
    ];
    let conditions = conditions::merge(&[], &desired, invalid.metadata.generation, &now);
    let api: Api<DeserializeGuard<BedrockCustomModel>> =
        Api::namespaced(ctx.client.clone(), &namespace);
    // A merge patch of the conditions only: an apply would drop the rest of the status (the
    // model ARN among it), which must survive until the object is fixed.
    let patch = json!({
        "status": { "observedGeneration": invalid.metadata.generation, "conditions": conditions },
    });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(Error::Kube)?;
    Ok(Action::await_change())
}

impl<B: Bedrock> Context<B> {
    /// The controller action for a plan's `next`.
    pub(super) fn action(&self, next: &Next) -> Action {
        match next {
            Next::Poll(delay) | Next::After(delay) => Action::requeue(*delay),
            Next::Resync => Action::requeue(super::jitter(self.timing.resync)),
            Next::AwaitChange => Action::await_change(),
            Next::Soon => Action::requeue(SOON),
        }
    }
}
