//! The stage driver every kind runs through: the finalizer is the only top-level branch; an
//! object that does not match the schema is reported, not reconciled; each kind's `apply` and
//! `cleanup` run observe → plan → act → report; failures go to one error policy.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;

use kube::api::Api;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};

use super::apply::{self, Plans};
use super::cleanup;
use super::context::Context;
use super::error::Error;
use super::guards::{Guards, NOTHING_SENT};
use super::kind::Managed;
use super::outcome::{self, Next};
use super::report;
use super::schedule::jitter;
use crate::api::conditions::reason;
use crate::api::throughput::CONFIRM_COMMITMENT_ANNOTATION;
use crate::api::validation::FieldError;
use crate::api::{FINALIZER, RETRY_ANNOTATION, TAKE_OVER_ANNOTATION};
use crate::bedrock::{Bedrock, ErrorClass};

/// Entry point of every kind's controller: one object, one pass.
pub async fn reconcile<K: Plans, B: Bedrock>(
    object: Arc<DeserializeGuard<K>>,
    ctx: Arc<Context<B>>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let result = match &object.0 {
        Err(invalid) => report::malformed::<K, B>(invalid, &ctx).await,
        Ok(resource) => {
            let api: Api<K> = Api::namespaced(
                ctx.client.clone(),
                &resource.namespace().unwrap_or_default(),
            );
            let result = finalizer(&api, FINALIZER, Arc::new(resource.clone()), |event| async {
                match event {
                    Finalizer::Apply(resource) => match named(&*resource, &ctx.policy.guards) {
                        Ok(renamed) => {
                            apply::apply(renamed.as_ref().unwrap_or(&*resource), &ctx).await
                        }
                        Err(refused) => name_refused(&*resource, &ctx, &refused).await,
                    },
                    Finalizer::Cleanup(resource) => {
                        let renamed = named(&*resource, &ctx.policy.guards).ok().flatten();
                        let resource = renamed.as_ref().unwrap_or(&*resource);
                        let result = cleanup::cleanup(resource, &ctx).await;
                        if result.is_ok() {
                            K::record_state(&ctx.metrics, &resource.key(), None);
                            ctx.memory.forget(resource);
                            resource.forgotten(&ctx);
                        }
                        result
                    }
                }
            })
            .await
            .map_err(|e| Error::Finalizer(Box::new(e)));
            // Whatever stopped the reconcile shows on the resource, whichever stage it came
            // from (a stage that showed its own failure marked it so).
            if let Err(error) = &result
                && !error.waiting()
                && !error.is_shown()
            {
                report::show(resource, &ctx, error).await;
            }
            result
        }
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.category(),
    };
    ctx.metrics.reconciled(K::KIND.label, outcome, started);
    result
}

/// The resource as its stages see it, when that differs from what was read: the Bedrock name
/// the spec leaves unset filled in with the operator's default (`<namespace>-<name>` with
/// `--namespaced-names`, or the name the object it holds was created with), so that every
/// stage, status and message uses the one name [`Guards::default_name`] chose. An error when
/// the composed name is not one Bedrock accepts.
pub fn named<K: Managed>(resource: &K, guards: &Guards) -> Result<Option<K>, FieldError> {
    let name = guards.default_name(
        &resource.namespace().unwrap_or_default(),
        &resource.name_any(),
        resource.given_name(),
        resource.held_name(),
        K::NAME_FIELD,
    )?;
    Ok(name.map(|name| {
        let mut named = resource.clone();
        named.set_given_name(name);
        named
    }))
}

/// InvalidSpec for a default name Bedrock would not accept: no call.
async fn name_refused<K: Managed, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
    refused: &FieldError,
) -> Result<Action, Error> {
    let mut status = resource.observed_status();
    K::set_status_conditions(&mut status, Vec::new());
    let plan: outcome::Plan<K::Status, ()> = outcome::blocked(
        resource.conditions(),
        status,
        reason::INVALID_SPEC,
        format!("{NOTHING_SENT}: {refused}"),
        Next::AwaitChange,
    );
    report::finish(resource, ctx, &plan).await
}

/// The retry delay of a failed reconcile: backoff per object and error class; a deletion
/// waiting for other resources looks again after the slow retry (the watch on those resources
/// usually brings it back sooner); one waiting for a moment looks again at that moment.
pub fn error_policy<K: Managed, B: Bedrock>(
    object: Arc<DeserializeGuard<K>>,
    error: &Error,
    ctx: Arc<Context<B>>,
) -> Action {
    if let Some(wait) = error.waiting_until() {
        return Action::requeue(wait);
    }
    if error.waiting() {
        return Action::requeue(jitter(ctx.timing.slow_retry));
    }
    let key = match &object.0 {
        Ok(resource) => resource.key(),
        Err(invalid) => invalid.metadata.uid.clone().unwrap_or_default(),
    };
    let failures = ctx.memory.failed(key);
    // Kubernetes API errors (conflicts, a restarting API server): back off like a server error.
    let class = error
        .bedrock()
        .map_or(ErrorClass::Retryable, |bedrock| bedrock.class());
    Action::requeue(jitter(outcome::retry_delay(class, failures, &ctx.timing)))
}

/// What of an object, when it changes, calls for a reconcile: its generation (the spec), the
/// retry and confirm-commitment annotations, finalizers and deletion. Changes to the status (the operator's own writes)
/// and to other metadata are left out, so that a status write does not come back as a
/// reconcile and a Bedrock call; the requeue schedule, the sweep and the watches of referenced
/// objects decide when to look again. The UID is part of the hash, so a re-created object of
/// the same name is always new.
pub fn trigger_hash<K: Managed>(object: &DeserializeGuard<K>) -> Option<u64> {
    let meta = object.meta();
    let mut hasher = DefaultHasher::new();
    meta.uid.hash(&mut hasher);
    meta.generation.hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    for annotation in TRIGGER_ANNOTATIONS {
        meta.annotations
            .as_ref()
            .and_then(|a| a.get(annotation))
            .hash(&mut hasher);
    }
    Some(hasher.finish())
}

/// The annotations whose change is a reason to reconcile: a new retry value, (for a
/// provisioned throughput) the confirmation of a commitment term, and a take-over from another
/// cluster.
const TRIGGER_ANNOTATIONS: [&str; 3] = [
    RETRY_ANNOTATION,
    CONFIRM_COMMITMENT_ANNOTATION,
    TAKE_OVER_ANNOTATION,
];

/// Drops what the operator never reads before an object goes into the cache: managedFields
/// (often the largest part of an object) and kubectl's copy of the last applied manifest.
/// Memory per cached resource is what bounds the operator at 10,000 resources.
pub fn slim<K: Managed>(object: &mut DeserializeGuard<K>) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// The annotation `kubectl apply` keeps its last manifest in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Pages of the initial list: smaller than kube's default (500), so that less of the list is
/// in memory at once before `slim` (what sets the operator's peak RSS at 10,000 resources).
const LIST_PAGE_SIZE: u32 = 200;

pub fn watcher_config() -> watcher::Config {
    watcher::Config::default()
        .any_semantic()
        .page_size(LIST_PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::BedrockCustomModel;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    fn object(annotations: &[(&str, &str)]) -> DeserializeGuard<BedrockCustomModel> {
        let mut value = serde_json::json!({
            "apiVersion": "bedrock-operator.dev/v1alpha1",
            "kind": "BedrockCustomModel",
            "metadata": { "name": "m", "namespace": "ns", "uid": "u1", "generation": 1 },
            "spec": { "source": { "s3Uri": "s3://bucket/model/" }, "roleArn": "arn:aws:iam::123456789012:role/r" },
        });
        value["metadata"]["annotations"] = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let mut object: DeserializeGuard<BedrockCustomModel> =
            serde_json::from_value(value).expect("object");
        object.meta_mut().managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("kubectl".into()),
            ..Default::default()
        }]);
        object
    }

    #[test]
    fn slim_drops_what_the_operator_never_reads_and_keeps_the_rest() {
        let mut o = object(&[(LAST_APPLIED, "{...}"), (RETRY_ANNOTATION, "1")]);
        slim::<BedrockCustomModel>(&mut o);
        assert_eq!(o.meta().managed_fields, None);
        let annotations = o.meta().annotations.clone().unwrap_or_default();
        assert!(!annotations.contains_key(LAST_APPLIED));
        assert_eq!(
            annotations.get(RETRY_ANNOTATION).map(String::as_str),
            Some("1")
        );
        assert!(o.0.is_ok(), "the object itself is untouched");
    }

    #[test]
    fn status_and_other_metadata_do_not_trigger_but_spec_annotations_finalizers_and_deletion_do() {
        let base = object(&[]);
        let hash = |o: &DeserializeGuard<BedrockCustomModel>| {
            trigger_hash::<BedrockCustomModel>(o).unwrap()
        };
        let same = |change: &dyn Fn(&mut DeserializeGuard<BedrockCustomModel>)| {
            let mut o = object(&[]);
            change(&mut o);
            hash(&o) == hash(&base)
        };
        assert!(same(&|o| {
            o.meta_mut().resource_version = Some("42".into());
            if let Ok(r) = o.0.as_mut() {
                r.status = Some(Default::default());
            }
        }));
        assert!(same(&|o| {
            o.meta_mut().labels = Some([("app".to_string(), "x".to_string())].into());
        }));
        assert!(!same(&|o| o.meta_mut().generation = Some(2)));
        assert!(!same(&|o| {
            o.meta_mut().annotations =
                Some([(RETRY_ANNOTATION.to_string(), "2".to_string())].into());
        }));
        assert!(
            !same(&|o| {
                o.meta_mut().annotations = Some(
                    [(
                        CONFIRM_COMMITMENT_ANNOTATION.to_string(),
                        "OneMonth".to_string(),
                    )]
                    .into(),
                );
            }),
            "confirming a commitment is a reason to look"
        );
        assert!(same(&|o| {
            o.meta_mut().annotations = Some([("note".to_string(), "x".to_string())].into());
        }));
        assert!(!same(
            &|o| o.meta_mut().finalizers = Some(vec![crate::api::FINALIZER.into()])
        ));
        assert!(!same(&|o| {
            o.meta_mut().deletion_timestamp =
                Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::now(),
                ));
        }));
        assert!(
            !same(&|o| o.meta_mut().uid = Some("u2".into())),
            "a new object of the same name"
        );
    }
}
