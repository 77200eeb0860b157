//! The reconcile loop: wiring (`run`), the stages (`reconcile`), and the pure decisions (`plan`).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::select_all;
use kube::api::Api;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector;
use kube::runtime::utils::PredicateConfig;
use kube::runtime::{WatchStreamExt, finalizer, watcher};
use kube::{Client, Resource, ResourceExt};
use rand::Rng;
use tracing::{error, info};

use crate::api::{BedrockCustomModel, RETRY_ANNOTATION};
use crate::bedrock::{Bedrock, BedrockError};
use crate::metrics::Metrics;
use crate::server::Health;

mod locks;
pub mod ownership;
pub mod plan;
mod reconcile;
mod sweep;

pub use plan::Timing;
pub use reconcile::FIELD_MANAGER;

/// Why a reconcile did not finish; the error policy turns it into a retry delay.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Bedrock: {0}")]
    Bedrock(#[source] Box<BedrockError>),
    #[error("Kubernetes API: {0}")]
    Kube(#[source] kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
}

impl Error {
    /// A bounded label for metrics: the Bedrock error class, or where it failed.
    pub fn category(&self) -> &'static str {
        match self.bedrock() {
            Some(bedrock) => bedrock.class().as_str(),
            None => match self {
                Error::Kube(_) => "kubernetes",
                Error::Finalizer(inner) => match inner.as_ref() {
                    finalizer::Error::ApplyFailed(Error::Kube(_))
                    | finalizer::Error::CleanupFailed(Error::Kube(_)) => "kubernetes",
                    _ => "finalizer",
                },
                Error::Bedrock(_) => "bedrock",
            },
        }
    }

    /// The Bedrock error at the bottom of this one, if any.
    fn bedrock(&self) -> Option<&BedrockError> {
        match self {
            Error::Bedrock(e) => Some(e),
            Error::Finalizer(e) => match e.as_ref() {
                finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => {
                    inner.bedrock()
                }
                _ => None,
            },
            Error::Kube(_) => None,
        }
    }
}

/// What the operator was asked to do.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Reconciles running at once, per watched namespace.
    pub concurrency: u16,
    /// Region for resources that name none.
    pub default_region: String,
    pub timing: Timing,
    /// Namespaces whose resources may use `adoptionPolicy: Adopt`.
    pub adoption: ownership::AdoptionScope,
}

/// Shared by every reconcile.
pub struct Context<B> {
    pub client: Client,
    pub bedrock: B,
    pub recorder: Recorder,
    pub timing: Timing,
    pub default_region: String,
    pub metrics: Arc<Metrics>,
    /// Namespaces whose resources may use `adoptionPolicy: Adopt`.
    pub adoption: ownership::AdoptionScope,
    /// One adoption (or create) of a model name per region at a time, by `region/name`.
    pub(crate) model_names: locks::KeyedLocks,
    /// Consecutive failures per object UID, for backoff; cleared on success.
    failures: Mutex<HashMap<String, u32>>,
    /// When each object's model tags were last read (or the object first seen), by UID: the
    /// tags are read again once a resync period has passed.
    tag_checks: Mutex<HashMap<String, Instant>>,
    /// One ListCustomModels per region for every Creating model.
    pub(crate) sweep: sweep::Sweep,
}

impl<B: Bedrock> Context<B> {
    pub fn new(client: Client, bedrock: B, settings: &Settings, metrics: Arc<Metrics>) -> Self {
        let reporter = Reporter {
            controller: "bedrock-operator".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            bedrock,
            timing: settings.timing.clone(),
            default_region: settings.default_region.clone(),
            metrics,
            adoption: settings.adoption.clone(),
            model_names: locks::KeyedLocks::default(),
            failures: Mutex::new(HashMap::new()),
            tag_checks: Mutex::new(HashMap::new()),
            sweep: sweep::Sweep::new(
                settings.timing.sweep_interval,
                settings.timing.sweep_fallback,
            ),
        }
    }

    /// Whether this process looks at the object for the first time; starts the clock of its
    /// tag drift check (so a restart reads no tags).
    pub(crate) fn first_look(&self, resource: &BedrockCustomModel) -> bool {
        let mut checks = self.tag_checks.lock().unwrap_or_else(|p| p.into_inner());
        let key = Self::key(resource);
        if checks.contains_key(&key) {
            return false;
        }
        checks.insert(key, Instant::now());
        true
    }

    /// Whether the periodic drift check of this object's model tags is due: on the first
    /// resync at least `tag_check` after the last read.
    pub(crate) fn tags_due(&self, resource: &BedrockCustomModel) -> bool {
        let checks = self.tag_checks.lock().unwrap_or_else(|p| p.into_inner());
        // Resyncs come every resync period -10 %/+10 %: allow for the early ones.
        let due = self
            .timing
            .tag_check
            .saturating_sub(self.timing.resync.mul_f64(0.15));
        checks
            .get(&Self::key(resource))
            .is_some_and(|last| last.elapsed() >= due)
    }

    /// Records that the model's tags were read now.
    pub(crate) fn tags_checked(&self, resource: &BedrockCustomModel) {
        let mut checks = self.tag_checks.lock().unwrap_or_else(|p| p.into_inner());
        checks.insert(Self::key(resource), Instant::now());
    }

    /// Drops what is kept in memory about an object that is gone.
    pub(crate) fn forget(&self, resource: &BedrockCustomModel) {
        let key = Self::key(resource);
        self.tag_checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        if let Some(arn) = resource
            .status
            .as_ref()
            .and_then(|s| s.model_arn.as_deref())
        {
            self.sweep.forget(arn, &sweep::reference(resource));
        }
    }

    pub(crate) fn key(resource: &BedrockCustomModel) -> String {
        resource.uid().unwrap_or_else(|| resource.name_any())
    }

    fn failures(&self, resource: &BedrockCustomModel) -> u32 {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.get(&Self::key(resource)).copied().unwrap_or(0)
    }

    fn failed(&self, key: String) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = *failures.entry(key).and_modify(|c| *c += 1).or_insert(1);
        self.metrics.objects_in_backoff.set(failures.len() as i64);
        count
    }

    fn succeeded(&self, resource: &BedrockCustomModel) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&Self::key(resource));
        self.metrics.objects_in_backoff.set(failures.len() as i64);
    }
}

/// What of an object, when it changes, calls for a reconcile: its generation (the spec), the
/// retry annotation, finalizers and deletion. Changes to the status (the operator's own writes)
/// and to other metadata are left out, so that a status write does not come back as a
/// reconcile and a Bedrock call; the requeue schedule and the sweep decide when to look again.
/// The UID is part of the hash, so a re-created object of the same name is always new.
fn trigger_hash(object: &DeserializeGuard<BedrockCustomModel>) -> Option<u64> {
    let meta = object.meta();
    let mut hasher = DefaultHasher::new();
    meta.uid.hash(&mut hasher);
    meta.generation.hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(RETRY_ANNOTATION))
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// Drops what the operator never reads before an object goes into the cache: managedFields
/// (often the largest part of an object) and kubectl's copy of the last applied manifest.
/// Memory per cached resource is what bounds the operator at 10,000 resources.
fn slim(object: &mut DeserializeGuard<BedrockCustomModel>) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// Pages of the initial list: smaller than kube's default (500), so that less of the list is
/// in memory at once before `slim` (what sets the operator's peak RSS at 10,000 resources).
const LIST_PAGE_SIZE: u32 = 200;

fn watcher_config() -> watcher::Config {
    watcher::Config::default()
        .any_semantic()
        .page_size(LIST_PAGE_SIZE)
}

/// The annotation `kubectl apply` keeps its last manifest in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// How often the readiness task re-checks whether the caches have synced.
const READY_RECHECK: Duration = Duration::from_millis(250);

/// A point in the first resync period, uniformly: where a settled resource seen for the first
/// time gets its first look.
fn spread(period: Duration) -> Duration {
    period.mul_f64(rand::rng().random_range(0.0..1.0))
}

/// ±10 % so that resources created together do not resync together.
fn jitter(period: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..1.1);
    period.mul_f64(factor)
}

fn error_policy<B: Bedrock>(
    object: Arc<DeserializeGuard<BedrockCustomModel>>,
    error: &Error,
    ctx: Arc<Context<B>>,
) -> Action {
    let key = match &object.0 {
        Ok(resource) => Context::<B>::key(resource),
        Err(invalid) => invalid.metadata.uid.clone().unwrap_or_default(),
    };
    let failures = ctx.failed(key);
    let delay = match error.bedrock() {
        Some(bedrock) => plan::retry_delay(bedrock.class(), failures, &ctx.timing),
        // Kubernetes API errors (conflicts, a restarting API server): back off like throttling.
        None => plan::retry_delay(crate::bedrock::ErrorClass::Retryable, failures, &ctx.timing),
    };
    Action::requeue(jitter(delay))
}

/// Runs the controller until `stop` turns true, then lets in-flight reconciles finish.
/// `health` turns ready once every watched namespace's cache has synced.
pub async fn run<B: Bedrock>(
    client: Client,
    bedrock: B,
    settings: Settings,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let ctx = Arc::new(Context::new(client.clone(), bedrock, &settings, metrics));
    let apis: Vec<(Option<String>, Api<DeserializeGuard<BedrockCustomModel>>)> =
        if settings.namespaces.is_empty() {
            vec![(None, Api::all(client.clone()))]
        } else {
            settings
                .namespaces
                .iter()
                .map(|ns| (Some(ns.clone()), Api::namespaced(client.clone(), ns)))
                .collect()
        };
    info!(namespaces = ?settings.namespaces, concurrency = settings.concurrency, region = %settings.default_region, "starting controller");
    let mut stores = Vec::new();
    let controllers: Vec<_> = apis
        .into_iter()
        .map(|(namespace, api)| {
            let (reader, writer) = reflector::store();
            let trigger = watcher(api, watcher_config())
                .default_backoff()
                .modify(slim)
                .reflect(writer)
                .applied_objects()
                .predicate_filter(trigger_hash, PredicateConfig::default());
            let controller = Controller::for_stream(trigger, reader)
                .with_config(ControllerConfig::default().concurrency(settings.concurrency))
                .reconcile_on(ctx.sweep.subscribe(namespace));
            stores.push(controller.store());
            let mut stop = stop.clone();
            controller
                .graceful_shutdown_on(async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                })
                .run(reconcile::reconcile, error_policy, ctx.clone())
                .boxed()
        })
        .collect();
    let synced = tokio::spawn(async move {
        for store in stores {
            // The store's readiness latch wakes only its latest waiter (the controller's own
            // runner, once it polls), so look again on a short interval instead of waiting once.
            loop {
                match tokio::time::timeout(READY_RECHECK, store.wait_until_ready()).await {
                    Ok(Ok(())) => break,
                    Ok(Err(_)) => return,
                    Err(_) => continue,
                }
            }
        }
        info!("caches synced");
        health.set_ready(true);
    });
    let sweeping = tokio::spawn(sweep::run(ctx.clone(), stop.clone()));
    select_all(controllers)
        .for_each(|result| async move {
            if let Err(e) = result {
                match &e {
                    kube::runtime::controller::Error::ReconcilerFailed(err, obj) => {
                        tracing::debug!(object = %obj, error = %err, "reconcile failed");
                    }
                    // A sweep can ask for a resource deleted meanwhile.
                    kube::runtime::controller::Error::ObjectNotFound(obj) => {
                        tracing::debug!(object = %obj, "reconcile requested for an object that is gone");
                    }
                    other => error!(error = %other, "controller error"),
                }
            }
        })
        .await;
    synced.abort();
    sweeping.abort();
    info!("controller stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
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
        slim(&mut o);
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
    fn status_and_other_metadata_do_not_trigger_but_spec_retry_finalizers_and_deletion_do() {
        let base = object(&[]);
        let hash = |o: &DeserializeGuard<BedrockCustomModel>| trigger_hash(o).unwrap();
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
