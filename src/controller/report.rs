//! The report stage, shared by every kind: the status through server-side apply on the status
//! subresource with one field manager (skipped when nothing changed), and Kubernetes Events.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::core::error_boundary::{DeserializeGuard, InvalidObject};
use kube::runtime::events::{Event, EventType};
use serde_json::json;
use tracing::{info, warn};

use super::context::Context;
use super::error::Error;
use super::kind::Managed;
use super::outcome::{self, Note, Plan};
use super::schedule;
use crate::api::conditions::{self, Desired, reason};
use crate::bedrock::{Bedrock, BedrockError};
use kube::runtime::controller::Action;

/// Field manager of every status write.
pub const FIELD_MANAGER: &str = "bedrock-operator";

/// Writes the status when it changed and publishes the events. `status` is the status without
/// conditions; `desired` are merged into the resource's conditions (a transition time moves
/// only when a condition's status flips).
pub async fn report<K: Managed, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
    status: &K::Status,
    desired: &[Desired],
    events: &[Note],
) -> Result<(), Error> {
    K::record_state(&ctx.metrics, &resource.key(), Some(status));
    let now = Time(Timestamp::now());
    let current = resource.conditions();
    let mut next = status.clone();
    K::set_status_conditions(
        &mut next,
        conditions::merge(current, desired, resource.meta().generation, &now),
    );
    if resource.status() != Some(&next) {
        let api: Api<K> = Api::namespaced(
            ctx.client.clone(),
            &resource.namespace().unwrap_or_default(),
        );
        let patch = json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": next,
        });
        api.patch_status(
            &resource.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(Error::kube("writing the status"))?;
        let ready = K::status_conditions(&next)
            .iter()
            .find(|c| c.type_ == conditions::READY);
        if let Some(ready) = ready
            && conditions::find(current, conditions::READY)
                .is_none_or(|c| c.reason != ready.reason || c.status != ready.status)
        {
            info!(
                kind = %K::kind(&()),
                resource = %resource.name_any(),
                namespace = %resource.namespace().unwrap_or_default(),
                bedrock_name = %resource.bedrock_name(),
                ready = %ready.status,
                reason = %ready.reason,
                "status changed"
            );
        }
    }
    publish(resource, ctx, events).await;
    Ok(())
}

/// Reports a plan (its status, conditions and events) and turns its `next` into the
/// controller's action.
pub async fn finish<K: Managed, A, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
    plan: &Plan<K::Status, A>,
) -> Result<Action, Error> {
    report(resource, ctx, &plan.status, &plan.conditions, &plan.events).await?;
    ctx.memory.succeeded(resource);
    Ok(schedule::action(ctx, &plan.next))
}

/// Shows a failed Bedrock call on the resource when it is worth showing (the shared, pure
/// [`outcome::failure`] decides), and hands the error to the error policy for the retry delay.
/// `status` is what is known of the object (the plan's status when an action failed, the
/// current one when observing failed).
pub async fn fail<K: Managed, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
    status: &K::Status,
    error: BedrockError,
) -> Error {
    let failures = ctx.memory.failures(resource) + 1;
    warn!(
        kind = %K::kind(&()),
        resource = %resource.name_any(),
        namespace = %resource.namespace().unwrap_or_default(),
        operation = error.operation,
        class = error.class().as_str(),
        error = %error.describe(),
        "Bedrock call failed"
    );
    if let Some((desired, events)) = outcome::failure(
        resource.conditions(),
        &error,
        &resource.subject(),
        failures,
        &ctx.timing,
    ) && let Err(e) = report(resource, ctx, status, &desired, &events).await
    {
        warn!(error = %e, "could not write the failure to the status");
    }
    Error::shown(error)
}

/// Shows a failure no stage showed (a Bedrock call of the cleanup, a Kubernetes API call, the
/// finalizer's patches) on the resource: Synced False with a reason and a message naming the
/// call and what to do, a Warning event when that is new, and a warn log line. The shared, pure
/// [`outcome::failure`] and [`outcome::kube_failure`] decide what, and when a transient one is
/// worth showing.
pub async fn show<K: Managed, B: Bedrock>(resource: &K, ctx: &Context<B>, error: &Error) {
    warn!(
        kind = %K::kind(&()),
        resource = %resource.name_any(),
        namespace = %resource.namespace().unwrap_or_default(),
        deleting = resource.meta().deletion_timestamp.is_some(),
        error = %error,
        "reconcile failed"
    );
    let failures = ctx.memory.failures(resource) + 1;
    let shown = if let Some(bedrock) = error.bedrock() {
        outcome::failure(
            resource.conditions(),
            bedrock,
            &resource.subject(),
            failures,
            &ctx.timing,
        )
    } else if let Some((action, source)) = error.kube_call() {
        outcome::kube_failure(resource.conditions(), action, source, failures, &ctx.timing)
    } else {
        None
    };
    let Some((desired, events)) = shown else {
        return;
    };
    if let Err(e) = report(
        resource,
        ctx,
        &resource.observed_status(),
        &desired,
        &events,
    )
    .await
    {
        // The status may be what cannot be written; the event may still get through.
        warn!(error = %e, "could not write the failure to the status");
        publish(resource, ctx, &events).await;
    }
}

/// Publishes events on the resource; one that cannot be written does not fail the reconcile.
pub async fn publish<K: Managed, B: Bedrock>(resource: &K, ctx: &Context<B>, events: &[Note]) {
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
        if let Err(e) = ctx.recorder.publish(&event, &reference).await {
            warn!(error = %e, reason = note.reason, "could not publish event");
        }
    }
}

/// An object that does not match the Rust types (written before a schema change, or on a
/// server that did not enforce the schema): say so on it, and keep serving the others.
pub async fn malformed<K: Managed, B: Bedrock>(
    invalid: &InvalidObject,
    ctx: &Context<B>,
) -> Result<kube::runtime::controller::Action, Error> {
    let kind = K::kind(&());
    let name = invalid.metadata.name.clone().unwrap_or_default();
    let namespace = invalid.metadata.namespace.clone().unwrap_or_default();
    warn!(kind = %kind, resource = %name, namespace = %namespace, error = %invalid.error, "object does not match the schema");
    let message = format!(
        "the object does not match the {kind} schema, so nothing was sent to AWS: {}",
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
    let api: Api<DeserializeGuard<K>> = Api::namespaced(ctx.client.clone(), &namespace);
    // A merge patch of the conditions only: an apply would drop the rest of the status (the
    // Bedrock ARN among it), which must survive until the object is fixed.
    let patch = json!({
        "status": { "observedGeneration": invalid.metadata.generation, "conditions": conditions },
    });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(Error::kube("writing the status"))?;
    Ok(kube::runtime::controller::Action::await_change())
}
