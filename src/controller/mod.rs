//! The controllers: wiring (`run`), the shared machinery (stage driver, status report, backoff,
//! caches), and per kind its stages and its pure plan.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::api::Api;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::Config as ControllerConfig;
use kube::runtime::reflector::{self, Store};
use kube::runtime::utils::PredicateConfig;
use kube::runtime::{WatchStreamExt, watcher};
use tracing::{error, info};

use crate::bedrock::Bedrock;
use crate::metrics::Metrics;
use crate::server::Health;

mod apply;
mod call;
mod cleanup;
mod context;
mod deletion;
mod deployment;
mod driver;
mod error;
mod export;
pub mod guards;
mod held;
mod holding;
mod imported;
mod index;
mod kind;
mod lifecycle;
mod locks;
mod memory;
mod model;
mod reference;
mod rollout;
mod serving;
mod throughput;
mod wiring;
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

/// Resolves once `stop` turns true: the controllers' graceful shutdown.
fn shutdown(
    stop: &tokio::sync::watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send + 'static {
    let mut stop = stop.clone();
    async move {
        let _ = stop.wait_for(|stop| *stop).await;
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
/// `health` turns ready once every watched namespace's caches have synced. The kinds and how
/// they watch each other come from the registry ([`crate::for_each_kind!`], and each kind's
/// `Wired`).
pub async fn run<B: Bedrock>(
    client: Client,
    bedrock: B,
    settings: Settings,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    info!(namespaces = ?settings.namespaces, concurrency = settings.concurrency, region = %settings.default_region, "starting controllers");
    // The caches exist before the controllers, so that the shared index (which one kind reads
    // to find the resources that reference another) holds them from the first reconcile on.
    let mut caches = wiring::Caches::<B>::new(client.clone(), settings.namespaces.clone());
    let served = served_plurals(&client).await;
    macro_rules! register {
        ($($kind:ty),+) => {
            $(if installed(<$kind as crate::kinds::Registered>::KIND, served.as_ref()) {
                caches.kind::<$kind>();
            })+
        };
    }
    crate::for_each_kind!(register);
    let wiring::Caches {
        index,
        ready,
        serving,
        start,
        ..
    } = caches;
    let ctx = Arc::new(Context::new(
        client.clone(),
        bedrock,
        &settings,
        metrics,
        index,
        serving,
    ));
    let wiring = wiring::Wiring {
        client,
        ctx: ctx.clone(),
        config: ControllerConfig::default().concurrency(settings.concurrency),
        stop: stop.clone(),
    };
    let controllers: Vec<_> = start.into_iter().flat_map(|kind| kind(&wiring)).collect();
    let synced = tokio::spawn(mark_ready(ready, health));
    let sweeping = tokio::spawn(sweep::run(ctx.clone(), stop.clone()));
    futures::future::join_all(controllers).await;
    synced.abort();
    sweeping.abort();
    info!("controllers stopped");
}

/// The resources of the operator's API group the API server serves (the CRDs installed), read
/// once at start; `None` when it serves none of them or could not say (then every kind is
/// wired, and readiness waits for the CRDs as always).
async fn served_plurals(client: &Client) -> Option<std::collections::BTreeSet<String>> {
    use kube::Resource;
    let version = crate::api::BedrockCustomModel::api_version(&()).into_owned();
    let read = crate::startup::answered(
        "discovering the installed CRDs",
        crate::startup::transient,
        || client.list_api_group_resources(&version),
    )
    .await;
    match read {
        Ok(list) => Some(list.resources.into_iter().map(|r| r.name).collect()),
        Err(error) => {
            tracing::debug!(error = %error, "the API group is not served; wiring every kind");
            None
        }
    }
}

/// Whether `kind` is wired: its CRD is installed, or what is installed is not known. A kind
/// whose CRD is missing while others of the group are served (an operator newer than the CRDs
/// a cluster admin applied, or than a previous chart's) is left out with a warning, so that the
/// other kinds still run.
fn installed(
    kind: crate::kinds::Kind,
    served: Option<&std::collections::BTreeSet<String>>,
) -> bool {
    let Some(served) = served else {
        return true;
    };
    if served.contains(kind.plural) {
        return true;
    }
    tracing::warn!(
        kind = %kind.name(),
        crd = %kind.crd_name(),
        "the CRD of this kind is not installed: the operator does not manage it; install the CRD (helm upgrade with crds.install, or kubectl apply -f crds/) and restart the operator"
    );
    false
}

#[cfg(test)]
mod served_tests {
    use std::collections::BTreeSet;

    use super::installed;
    use crate::kinds::KINDS;

    #[test]
    fn a_kind_is_wired_when_its_crd_is_served_or_nothing_is_known() {
        let imported = KINDS
            .iter()
            .find(|k| k.plural == "bedrockimportedmodels")
            .copied()
            .expect("registered");
        let model = KINDS[0];
        let older: BTreeSet<String> = ["bedrockcustommodels", "bedrockcustommodels/status"]
            .into_iter()
            .map(String::from)
            .collect();
        assert!(installed(model, Some(&older)), "its CRD is served");
        assert!(!installed(imported, Some(&older)), "its CRD is missing");
        assert!(
            installed(imported, None),
            "nothing is known: wired as always"
        );
    }
}

#[cfg(test)]
mod fixtures;
