//! The reconcile loop: wiring (`run`), the stages (`reconcile`), and the pure decisions (`plan`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::select_all;
use kube::api::Api;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{finalizer, watcher};
use kube::{Client, ResourceExt};
use rand::Rng;
use tracing::{error, info};

use crate::api::BedrockCustomModel;
use crate::bedrock::{Bedrock, BedrockError};
use crate::metrics::Metrics;
use crate::server::Health;

pub mod plan;
mod reconcile;

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
}

/// Shared by every reconcile.
pub struct Context<B> {
    pub client: Client,
    pub bedrock: B,
    pub recorder: Recorder,
    pub timing: Timing,
    pub default_region: String,
    pub metrics: Arc<Metrics>,
    /// Consecutive failures per object UID, for backoff; cleared on success.
    failures: Mutex<HashMap<String, u32>>,
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
            failures: Mutex::new(HashMap::new()),
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

/// How often the readiness task re-checks whether the caches have synced.
const READY_RECHECK: Duration = Duration::from_millis(250);

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
    let apis: Vec<Api<DeserializeGuard<BedrockCustomModel>>> = if settings.namespaces.is_empty() {
        vec![Api::all(client.clone())]
    } else {
        settings
            .namespaces
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect()
    };
    info!(namespaces = ?settings.namespaces, concurrency = settings.concurrency, region = %settings.default_region, "starting controller");
    let mut stores = Vec::new();
    let controllers: Vec<_> = apis
        .into_iter()
        .map(|api| {
            let controller = Controller::new(api, watcher::Config::default().any_semantic())
                .with_config(ControllerConfig::default().concurrency(settings.concurrency));
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
    select_all(controllers)
        .for_each(|result| async move {
            if let Err(e) = result {
                match &e {
                    kube::runtime::controller::Error::ReconcilerFailed(err, obj) => {
                        tracing::debug!(object = %obj, error = %err, "reconcile failed");
                    }
                    other => error!(error = %other, "controller error"),
                }
            }
        })
        .await;
    synced.abort();
    info!("controller stopped");
}
