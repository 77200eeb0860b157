//! The controllers: wiring (`run`), the shared machinery (stage driver, status report, backoff,
//! caches), and per kind its stages and its pure plan.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::utils::PredicateConfig;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tracing::{error, info};

use crate::api::BedrockCustomModel;
use crate::api::deployment::BedrockCustomModelDeployment;
use crate::api::throughput::BedrockProvisionedThroughput;
use crate::bedrock::Bedrock;
use crate::metrics::Metrics;
use crate::server::Health;
use reference::Serves;

mod apply;
mod call;
mod cleanup;
mod context;
mod deployment;
mod driver;
mod error;
#[cfg(test)]
mod fixtures;
pub mod guards;
mod held;
mod holding;
mod index;
mod kind;
mod lifecycle;
mod locks;
mod memory;
mod model;
mod reference;
mod serving;
mod throughput;
pub use model::plan;
use model::sweep;
pub mod outcome;
pub mod ownership;
mod report;
mod schedule;
pub mod scope;
mod settings;

pub use context::Context;
pub use error::Error;
pub use kind::{KindLabel, Managed};
pub use outcome::Timing;
pub use report::FIELD_MANAGER;
pub use settings::Settings;

/// How often the readiness task re-checks whether the caches have synced.
const READY_RECHECK: Duration = Duration::from_millis(250);

/// The namespaces to watch: one API per namespace, or one for all.
fn apis<K>(client: &Client, namespaces: &[String]) -> Vec<(Option<String>, Api<K>)>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    if namespaces.is_empty() {
        vec![(None, Api::all(client.clone()))]
    } else {
        namespaces
            .iter()
            .map(|ns| (Some(ns.clone()), Api::namespaced(client.clone(), ns)))
            .collect()
    }
}

/// An API of one watched namespace, or of all.
fn scoped<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// A kind's watch of one namespace: the objects go through `slim` into the cache, and only
/// changes that call for a reconcile (see [`driver::trigger_hash`]) come out.
fn trigger_stream<K: Managed>(
    api: Api<DeserializeGuard<K>>,
    writer: reflector::store::Writer<DeserializeGuard<K>>,
) -> impl futures::Stream<Item = Result<DeserializeGuard<K>, watcher::Error>> + Send + 'static {
    watcher(api, driver::watcher_config())
        .default_backoff()
        .modify(driver::slim::<K>)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(driver::trigger_hash::<K>, PredicateConfig::default())
}

/// Waits until every store has synced, then turns `health` ready.
async fn mark_ready(stores: Vec<Box<dyn Ready>>, health: Arc<Health>) {
    for store in stores {
        if !store.ready().await {
            return;
        }
    }
    info!("caches synced");
    health.set_ready(true);
}

/// A cache whose initial list may still be in progress.
trait Ready: Send {
    /// Waits until the cache has synced; `false` when it never will (the writer is gone).
    fn ready(&self) -> futures::future::BoxFuture<'_, bool>;
}

impl<K: Managed> Ready for Store<DeserializeGuard<K>> {
    fn ready(&self) -> futures::future::BoxFuture<'_, bool> {
        Box::pin(async move {
            // The store's readiness latch wakes only its latest waiter (the controller's own
            // runner, once it polls), so look again on a short interval instead of waiting
            // once.
            loop {
                match tokio::time::timeout(READY_RECHECK, self.wait_until_ready()).await {
                    Ok(Ok(())) => return true,
                    Ok(Err(_)) => return false,
                    Err(_) => continue,
                }
            }
        })
    }
}

/// The models being deleted that a serving resource (as it is now, or as it was when it went)
/// may hold up: their deletion waits for it, so they are looked at again when it changes or goes.
fn models_waiting_for<K: Serves, B: Bedrock>(
    ctx: &Context<B>,
    user: &K,
) -> Vec<ObjectRef<DeserializeGuard<BedrockCustomModel>>> {
    // Any namespace: a user may name another namespace's model by ARN.
    let one = std::slice::from_ref(user);
    ctx.index
        .models
        .filter(|model| {
            model.metadata.deletion_timestamp.is_some() && !reference::users(model, one).is_empty()
        })
        .iter()
        .map(|model| {
            ObjectRef::new(&model.name_any()).within(&model.namespace().unwrap_or_default())
        })
        .collect()
}

/// The resources of one serving kind whose spec.modelRef names the model: looked at again
/// when it changes.
fn referrers_of<K: Managed + Serves>(
    cache: &index::Stores<K>,
    model: &PartialObjectMeta<BedrockCustomModel>,
) -> Vec<ObjectRef<DeserializeGuard<K>>> {
    let namespace = model.namespace().unwrap_or_default();
    let name = model.name_any();
    cache
        .filter(|r| {
            r.meta().namespace.as_deref() == Some(namespace.as_str())
                && r.model_ref() == Some(name.as_str())
        })
        .iter()
        .map(|r| ObjectRef::new(&r.name_any()).within(&namespace))
        .collect()
}

/// Resolves once `stop` turns true: the controllers' graceful shutdown.
fn shutdown(
    stop: &tokio::sync::watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send + 'static {
    let mut stop = stop.clone();
    async move {
        let _ = stop.wait_for(|stop| *stop).await;
    }
}

/// What the controllers of the kinds that serve a model share.
struct ServedBy<'a, B: Bedrock> {
    client: &'a Client,
    ctx: &'a Arc<Context<B>>,
    config: &'a ControllerConfig,
    stop: &'a tokio::sync::watch::Receiver<bool>,
}

impl<B: Bedrock> ServedBy<'_, B> {
    /// The controller of serving kind `K` in one watched namespace: its own objects, and each
    /// model that changes (becomes Ready, fails, goes) mapped to the resources referencing it.
    fn controller<K>(
        &self,
        namespace: Option<String>,
        api: Api<DeserializeGuard<K>>,
        (reader, writer): (
            Store<DeserializeGuard<K>>,
            reflector::store::Writer<DeserializeGuard<K>>,
        ),
        cache: fn(&index::Index) -> &index::Stores<K>,
    ) -> futures::future::BoxFuture<'static, ()>
    where
        K: Serves + apply::Apply,
    {
        let models: Api<PartialObjectMeta<BedrockCustomModel>> = scoped(self.client, &namespace);
        let referrers = self.ctx.clone();
        Controller::for_stream(trigger_stream(api, writer), reader)
            .with_config(self.config.clone())
            .watches_stream(
                watcher(models, driver::watcher_config())
                    .default_backoff()
                    .touched_objects(),
                move |model| referrers_of(cache(&referrers.index), &model),
            )
            .graceful_shutdown_on(shutdown(self.stop))
            .run(
                driver::reconcile::<K, B>,
                driver::error_policy::<K, B>,
                self.ctx.clone(),
            )
            .for_each(log_result)
            .boxed()
    }
}

/// Logs what a controller reports, by how much it matters.
fn log_result<T>(
    result: Result<T, kube::runtime::controller::Error<Error, watcher::Error>>,
) -> futures::future::Ready<()> {
    if let Err(e) = result {
        match &e {
            kube::runtime::controller::Error::ReconcilerFailed(err, obj) => {
                tracing::debug!(object = %obj, error = %err, "reconcile failed");
            }
            // A sweep or a watched reference can ask for a resource deleted meanwhile.
            kube::runtime::controller::Error::ObjectNotFound(obj) => {
                tracing::debug!(object = %obj, "reconcile requested for an object that is gone");
            }
            other => error!(error = %other, "controller error"),
        }
    }
    futures::future::ready(())
}

/// Runs the controllers until `stop` turns true, then lets in-flight reconciles finish.
/// `health` turns ready once every watched namespace's caches have synced.
pub async fn run<B: Bedrock>(
    client: Client,
    bedrock: B,
    settings: Settings,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    info!(namespaces = ?settings.namespaces, concurrency = settings.concurrency, region = %settings.default_region, "starting controllers");
    let model_apis = apis::<DeserializeGuard<BedrockCustomModel>>(&client, &settings.namespaces);
    let deployment_apis =
        apis::<DeserializeGuard<BedrockCustomModelDeployment>>(&client, &settings.namespaces);
    let throughput_apis =
        apis::<DeserializeGuard<BedrockProvisionedThroughput>>(&client, &settings.namespaces);
    // The stores exist before the controllers, so that the shared index (which one kind reads
    // to find the resources that reference another) holds them from the first reconcile on.
    let model_stores: Vec<_> = model_apis.iter().map(|_| reflector::store()).collect();
    let deployment_stores: Vec<_> = deployment_apis.iter().map(|_| reflector::store()).collect();
    let throughput_stores: Vec<_> = throughput_apis.iter().map(|_| reflector::store()).collect();
    let index = index::Index::default();
    let mut ready: Vec<Box<dyn Ready>> = Vec::new();
    for (reader, _) in &model_stores {
        index.models.add(reader.clone());
        ready.push(Box::new(reader.clone()));
    }
    for (reader, _) in &deployment_stores {
        index.deployments.add(reader.clone());
        ready.push(Box::new(reader.clone()));
    }
    for (reader, _) in &throughput_stores {
        index.throughputs.add(reader.clone());
        ready.push(Box::new(reader.clone()));
    }
    let ctx = Arc::new(Context::new(
        client.clone(),
        bedrock,
        &settings,
        metrics,
        index,
    ));
    let config = ControllerConfig::default().concurrency(settings.concurrency);
    let mut controllers = Vec::new();
    for ((namespace, api), (reader, writer)) in model_apis.into_iter().zip(model_stores) {
        // A deployment or throughput that changes or goes may release a model whose deletion
        // waits for it.
        let deployments: Api<BedrockCustomModelDeployment> = scoped(&client, &namespace);
        let throughputs: Api<BedrockProvisionedThroughput> = scoped(&client, &namespace);
        let (waiting, waiting_too) = (ctx.clone(), ctx.clone());
        let controller = Controller::for_stream(trigger_stream(api, writer), reader)
            .with_config(config.clone())
            .reconcile_on(ctx.sweep.subscribe(namespace))
            .watches_stream(
                watcher(deployments, driver::watcher_config())
                    .default_backoff()
                    .touched_objects(),
                move |deployment| models_waiting_for(&waiting, &deployment),
            )
            .watches_stream(
                watcher(throughputs, driver::watcher_config())
                    .default_backoff()
                    .touched_objects(),
                move |throughput| models_waiting_for(&waiting_too, &throughput),
            )
            .graceful_shutdown_on(shutdown(&stop))
            .run(
                driver::reconcile::<BedrockCustomModel, B>,
                driver::error_policy::<BedrockCustomModel, B>,
                ctx.clone(),
            )
            .for_each(log_result)
            .boxed();
        controllers.push(controller);
    }
    for ((namespace, api), store) in deployment_apis.into_iter().zip(deployment_stores) {
        let served = ServedBy {
            client: &client,
            ctx: &ctx,
            config: &config,
            stop: &stop,
        };
        controllers.push(served.controller(namespace, api, store, |index| &index.deployments));
    }
    for ((namespace, api), store) in throughput_apis.into_iter().zip(throughput_stores) {
        let served = ServedBy {
            client: &client,
            ctx: &ctx,
            config: &config,
            stop: &stop,
        };
        controllers.push(served.controller(namespace, api, store, |index| &index.throughputs));
    }
    let synced = tokio::spawn(mark_ready(ready, health));
    let sweeping = tokio::spawn(sweep::run(ctx.clone(), stop.clone()));
    futures::future::join_all(controllers).await;
    synced.abort();
    sweeping.abort();
    info!("controllers stopped");
}
