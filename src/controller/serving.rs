//! What the kinds that serve a model (deployments, provisioned throughputs) share in the
//! apply stage ([`super::apply`]): the model their spec names, read before anything else
//! (through the API server), refused when it is another namespace's and the operator does not
//! allow that, and resolved to what Bedrock accepts.

use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;

use super::apply::{self, Apply, Facts, Seen};
use super::context::Context;
use super::error::Error;
use super::kind::Managed;
use super::lifecycle::KindPlan;
use super::reference::{self, Lookup, Observation, Resolution, Serves};
use crate::api::BedrockCustomModel;
use crate::api::validation::FieldError;
use crate::bedrock::Bedrock;

/// What a serving kind's spec says of its model. Pure.
pub trait Serving: Apply<Inputs = Resolution> + Serves {
    /// The name of the BedrockCustomModel the spec references, if it names one.
    fn referenced(valid: &Self::Valid) -> Option<&str>;
    /// The model the spec names by ARN or ID, if it does, and the field that names it.
    fn named_model(valid: &Self::Valid) -> Option<(&'static str, &str)>;
    fn resolve(valid: &Self::Valid, model: Option<&BedrockCustomModel>) -> Resolution;
}

/// The `inputs` of a serving kind: the model its spec names, resolved. The referenced model is
/// read through the API server, not the cache: the watch that brings this reconcile when the
/// model changes may run ahead of the models' cache.
pub async fn inputs<K: Serving, B: Bedrock>(
    resource: &K,
    valid: &K::Valid,
    ctx: &Context<B>,
) -> Result<Result<Resolution, KindPlan<K>>, Error> {
    let namespace = resource.namespace().unwrap_or_default();
    let referenced = match K::referenced(valid) {
        Some(name) => Api::<BedrockCustomModel>::namespaced(ctx.client.clone(), &namespace)
            .get_opt(name)
            .await
            .map_err(Error::kube("reading the referenced BedrockCustomModel"))?,
        None => None,
    };
    if let Some(plan) = cross_namespace_refused(resource, valid, &namespace, ctx) {
        return Ok(Err(plan));
    }
    Ok(Ok(K::resolve(valid, referenced.as_ref())))
}

/// How a serving kind finds its object; `None` while there is nothing to look up: by name
/// before the model is known (no call while waiting).
pub fn lookup(lookup: Lookup, model: &Resolution) -> Option<Lookup> {
    match lookup {
        Lookup::ByName(_) if model.arn().is_none() => None,
        lookup => Some(lookup),
    }
}

/// What a serving kind's plan reads: the model resolved and what was seen of the object, and
/// how long the object (or its last change) has been in progress.
pub fn observation<R>(
    model: Resolution,
    seen: Seen<R>,
    facts: &Facts<'_>,
) -> (Observation<R>, Duration) {
    let observation = Observation {
        model,
        remote: seen.remote,
        tags: seen.tags,
        owner: seen.owner,
        cluster: facts.cluster.to_string(),
    };
    (observation, facts.elapsed.unwrap_or_default())
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
    let holders = reference::holders(
        &ctx.index
            .filter::<BedrockCustomModel>(|m| reference::holds(m, arn)),
    );
    let error = ctx
        .guards
        .cross_namespace_refused(namespace, field, arn, &holders)?;
    Some(resource.invalid(&[error], &ctx.default_region))
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

/// spec.region that is not the region of the BedrockCustomModel the spec references: a
/// resource serves a model of its own region, so this is InvalidSpec naming both, with no call
/// (a model named by ARN in another region is refused by the schema already).
pub fn region_mismatch<K: Serving>(
    resource: &K,
    valid: &K::Valid,
    model: &Resolution,
) -> Option<KindPlan<K>> {
    let (Some(name), Some(wanted), Some(actual)) = (
        K::referenced(valid),
        resource.given_region(),
        model.region(),
    ) else {
        return None;
    };
    if wanted == actual {
        return None;
    }
    let error = FieldError {
        field: "spec.region".into(),
        message: format!(
            "{wanted} is not the region of BedrockCustomModel {name} ({actual}); a {} serves a model of its own region, so remove spec.region or reference a model in {wanted}",
            K::NOUN
        ),
    };
    Some(apply::invalid(resource, &[error]))
}
