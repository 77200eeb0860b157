//! What the kinds that serve a model (deployments, provisioned throughputs) share in the
//! apply stage ([`super::apply`]): the model their spec names, read before anything else
//! (through the API server), refused when it is another namespace's and the operator does not
//! allow that, and resolved to what Bedrock accepts.

use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;

use super::apply::{self, Apply, Facts, Plans};
use super::context::Context;
use super::error::Error;
use super::export::{self, Exports};
use super::held::{self, Branches, HeldStatus};
use super::holding::Lost;
use super::kind::Managed;
use super::lifecycle::{KindPlan, Lifecycle};
use super::outcome::Timing;
use super::reference::{self, Lookup, Observation, Resolution, Serves};
use crate::api::BedrockCustomModel;
use crate::api::validation::FieldError;
use crate::bedrock::Bedrock;

/// What a serving kind's spec says of its model, and the status its plans start from. Pure.
/// The rest of its apply stage ([`Plans`]) is written once, below.
pub trait Serving:
    Apply<Inputs = Resolution, Valid: Spec, Status: HeldStatus + Wants + Exports> + Serves
{
    /// The status every plan starts from: the current one, brought to this generation.
    fn base_status(&self, valid: &Self::Valid, region: &str) -> Self::Status;
}

/// How a serving spec names its model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names<'a> {
    /// A BedrockCustomModel of the resource's namespace, by metadata.name.
    Reference(&'a str),
    /// A model by ARN (or a foundation model by ID), and the field that names it.
    Model { field: &'static str, id: &'a str },
}

impl<'a> Names<'a> {
    /// The name of the BedrockCustomModel the spec references, if it names one.
    pub fn reference(self) -> Option<&'a str> {
        match self {
            Names::Reference(name) => Some(name),
            Names::Model { .. } => None,
        }
    }
    /// The model the spec names by ARN or ID, if it does, and the field that names it.
    pub fn model(self) -> Option<(&'static str, &'a str)> {
        match self {
            Names::Model { field, id } => Some((field, id)),
            Names::Reference(_) => None,
        }
    }
}

/// A serving spec's model field, read as [`Names`].
pub trait Target {
    fn names(&self) -> Names<'_>;
}

/// Resolves the spec's model: one named by ARN or ID as it is (in the region of its ARN); a
/// reference from the referenced resource's status, only once that model is Ready (`model`
/// is the referenced resource as read).
pub fn resolve<T: Target>(target: &T, model: Option<&BedrockCustomModel>) -> Resolution {
    match target.names() {
        Names::Reference(name) => reference::resolve_ref(name, model),
        Names::Model { id, .. } => Resolution::Resolved {
            arn: id.to_string(),
            region: id
                .starts_with("arn:")
                .then(|| crate::api::deployment::arn_region(id))
                .flatten()
                .map(str::to_string),
        },
    }
}

/// What the shared plan reads of a serving kind's checked spec.
pub trait Spec {
    type Target: Target;
    /// The model field.
    fn target(&self) -> &Self::Target;
    /// The Bedrock name the spec asks for (or the operator gives).
    fn name(&self) -> &str;
    /// The region of a new object: spec.region; else the model's (`referenced_model_region`
    /// for a referenced BedrockCustomModel); else the operator's default.
    fn new_region(&self, referenced_model_region: Option<&str>, operator_default: &str) -> String;
    /// The ConfigMap spec.export names, when it is set ([`super::export`]).
    fn export_config_map(&self) -> Option<&str>;
}

/// A serving kind's status: the model it is to serve.
pub trait Wants {
    fn want_model(&mut self, arn: &str);
}

/// The [`Serves`], [`Spec`], [`Target`], [`Wants`] and [`Exports`] tables of a serving kind:
/// its checked spec (the field of the Bedrock name; the variant of its model enum that names a
/// model by ARN or ID, and the spec field of it; the spec's own `region` method decides a new
/// object's region; its `export`), its status (`model_arn`, `region` and `export` fields), and
/// the spec field that names a model by ARN or ID.
macro_rules! serving_tables {
    ($kind:ty {
        valid: $valid:ty {
            name: $name:ident,
            model: $target:ident::$by:ident = $field:literal $(,)?
        },
        status: $status:ty,
        spec_model: $spec_model:ident $(,)?
    }) => {
        impl $crate::controller::reference::Serves for $kind {
            fn model_ref(&self) -> Option<&str> {
                self.spec.model_ref.as_ref().map(|r| r.name.as_str())
            }
            fn model_arns(&self) -> [Option<&str>; 3] {
                let status = self.status.as_ref();
                [
                    self.spec.$spec_model.as_deref(),
                    status.and_then(|s| s.model_arn.as_deref()),
                    status.and_then(|s| s.desired_model_arn.as_deref()),
                ]
            }
        }
        impl $crate::controller::serving::Target for $target {
            fn names(&self) -> $crate::controller::serving::Names<'_> {
                match self {
                    $target::Ref(name) => $crate::controller::serving::Names::Reference(name),
                    $target::$by(id) => {
                        $crate::controller::serving::Names::Model { field: $field, id }
                    }
                }
            }
        }
        impl $crate::controller::serving::Spec for $valid {
            type Target = $target;
            fn target(&self) -> &$target {
                &self.model
            }
            fn name(&self) -> &str {
                &self.$name
            }
            fn new_region(&self, model_region: Option<&str>, default: &str) -> String {
                self.region(model_region, default)
            }
            fn export_config_map(&self) -> Option<&str> {
                self.export.as_deref()
            }
        }
        impl $crate::controller::export::Exports for $status {
            fn export_data(&self) -> Option<std::collections::BTreeMap<String, String>> {
                $crate::api::export::data(
                    $crate::controller::held::HeldStatus::held_arn(self),
                    self.model_arn.as_deref(),
                    self.region.as_deref(),
                )
            }
            fn exported(&self) -> Option<&$crate::api::export::ExportStatus> {
                self.export.as_ref()
            }
            fn set_exported(&mut self, exported: Option<$crate::api::export::ExportStatus>) {
                self.export = exported;
            }
        }
        impl $crate::controller::serving::Wants for $status {
            fn want_model(&mut self, arn: &str) {
                self.desired_model_arn = Some(arn.to_string());
            }
        }
    };
}
pub(crate) use serving_tables;

/// What a serving kind's own branches of the shared match ([`held::decide`]) decide from.
pub type Given<'a, K> =
    held::Given<'a, K, <K as Lifecycle>::Valid, Observation<<K as Lifecycle>::Remote>, Duration>;

/// The apply stage of every serving kind: the model read first, the object found by the
/// status's ARN or (once the model is known) by name, and one plan from the shared match.
impl<K> Plans for K
where
    K: Serving,
    for<'a> Given<'a, K>: Branches<Kind = K>,
{
    async fn inputs<B: Bedrock>(
        &self,
        valid: &K::Valid,
        ctx: &Context<B>,
    ) -> Result<Result<Resolution, KindPlan<K>>, Error> {
        inputs(self, valid, ctx).await
    }
    fn region(&self, valid: &K::Valid, model: &Resolution, default_region: &str) -> String {
        region(self, valid, model, default_region)
    }
    fn lookup(&self, valid: &K::Valid, model: &Resolution) -> Option<Lookup> {
        let held = self.status().and_then(HeldStatus::held_arn);
        lookup(Lookup::new(held, valid.name()), model)
    }
    fn plan(
        &self,
        valid: &K::Valid,
        region: &str,
        observation: &Observation<K::Remote>,
        facts: &Facts<'_>,
    ) -> KindPlan<K> {
        let elapsed = facts.elapsed.unwrap_or_default();
        plan_apply(self, valid, region, observation, facts.timing, elapsed)
    }
    async fn model_region<B: Bedrock>(&self, ctx: &Context<B>) -> Result<Option<String>, Error> {
        model_region(self, ctx).await
    }
    fn lost(&self, valid: &K::Valid, region: &str, lost: &Lost, facts: &Facts<'_>) -> KindPlan<K> {
        let status = self.base_status(valid, region);
        apply::lost_to_another(self, status, lost, facts.timing)
    }
    async fn export<B: Bedrock>(&self, valid: &K::Valid, plan: &mut KindPlan<K>, ctx: &Context<B>) {
        export::export(self, valid.export_config_map(), plan, ctx).await;
    }
}

/// The region of a serving resource's object: the one it lives in once the status holds it;
/// for a new one spec.region, else the model's, else the operator's default.
pub fn region<K: Serving>(
    resource: &K,
    valid: &K::Valid,
    model: &Resolution,
    default_region: &str,
) -> String {
    match resource.held_region() {
        Some(region) => region.to_string(),
        None => valid.new_region(model.region(), default_region),
    }
}

/// Plans a reconcile of a serving resource that is not being deleted, given what was observed.
/// `elapsed` is how long the object (or its update) has been in progress.
pub fn plan_apply<K>(
    resource: &K,
    valid: &K::Valid,
    region: &str,
    observation: &Observation<K::Remote>,
    timing: &Timing,
    elapsed: Duration,
) -> KindPlan<K>
where
    K: Serving,
    for<'a> Given<'a, K>: Branches<Kind = K>,
{
    let mut status = resource.base_status(valid, region);
    if let Some(arn) = observation.inputs.arn() {
        status.want_model(arn);
    }
    let given = held::Given::new(resource, valid, region, observation, timing, elapsed);
    held::plan(given, status)
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
    let referenced = match valid.target().names().reference() {
        Some(name) => Api::<BedrockCustomModel>::namespaced(ctx.client.clone(), &namespace)
            .get_opt(name)
            .await
            .map_err(Error::kube("reading the referenced BedrockCustomModel"))?,
        None => None,
    };
    if let Some(plan) = cross_namespace_refused(resource, valid, &namespace, ctx) {
        return Ok(Err(plan));
    }
    Ok(Ok(resolve(valid.target(), referenced.as_ref())))
}

/// How a serving kind finds its object; `None` while there is nothing to look up: by name
/// before the model is known (no call while waiting).
pub fn lookup(lookup: Lookup, model: &Resolution) -> Option<Lookup> {
    match lookup {
        Lookup::ByName(_) if model.arn().is_none() => None,
        lookup => Some(lookup),
    }
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
    let (field, arn) = valid.target().names().model()?;
    if ctx.policy.guards.cross_namespace_references == crate::controller::scope::NamespaceScope::All
    {
        return None;
    }
    let holders = reference::holders(
        &ctx.index
            .filter::<BedrockCustomModel>(|m| reference::holds(m, arn)),
    );
    let error = ctx
        .policy
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
    if let Some(name) = valid.target().names().reference() {
        let namespace = resource.namespace().unwrap_or_default();
        let model = Api::<BedrockCustomModel>::namespaced(ctx.client.clone(), &namespace)
            .get_opt(name)
            .await
            .map_err(Error::kube("reading the referenced BedrockCustomModel"))?;
        return Ok(model.and_then(|m| m.held_region().map(str::to_string)));
    }
    Ok(valid
        .target()
        .names()
        .model()
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
        valid.target().names().reference(),
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
