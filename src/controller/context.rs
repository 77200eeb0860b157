//! What every reconcile shares: clients, settings, the locks, and what is kept in memory about
//! objects ([`Memory`]).

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use kube::Client;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;

use super::error::Error;
use super::index::Index;
use super::memory::Memory;
use super::outcome::Timing;
use super::ownership::OwnerRef;
use super::settings::{Policy, Settings};
use super::{locks, sweep};
use crate::api::BedrockCustomModel;
use crate::bedrock::Bedrock;
use crate::metrics::Metrics;

pub struct Context<B> {
    pub client: Client,
    pub bedrock: B,
    pub recorder: Recorder,
    pub timing: Timing,
    pub default_region: String,
    /// The cluster this operator serves, as owner tags name it (`--cluster-name`, or the UID
    /// of the kube-system namespace).
    pub cluster: String,
    pub metrics: Arc<Metrics>,
    /// What resources may ask for: passed to each kind's checks.
    pub policy: Policy,
    /// The cached resources of every kind, for references between them.
    pub index: Index,
    /// One adoption (or create) of a Bedrock name per region at a time, by `kind/region/name`.
    pub(crate) names: locks::KeyedLocks,
    /// One purchase of model units per namespace at a time, by namespace, while a limit of
    /// model units per namespace is set: the budget check and the create that follows it.
    pub(crate) budgets: locks::KeyedLocks,
    /// What this process keeps in memory about each object.
    pub(crate) memory: Memory,
    /// One ListCustomModels per region for every Creating model.
    pub(crate) sweep: sweep::Sweep,
    /// The kinds that serve a model, as the model's controller sees them.
    pub(crate) serving: Vec<Arc<dyn ServingKind<B>>>,
}

/// A kind that serves a model, its type erased: what the model's controller needs of it.
pub trait ServingKind<B: Bedrock>: Send + Sync {
    /// The resources of the kind that still use `model`: its Kubernetes kind, and each user
    /// found in the cache, then read again through the API server (the cache may still hold
    /// one that was just deleted).
    fn users<'a>(
        &'a self,
        model: &'a BedrockCustomModel,
        ctx: &'a Context<B>,
    ) -> BoxFuture<'a, Result<(&'static str, Vec<OwnerRef>), Error>>;

    /// The models being deleted that a resource of the kind in `namespace` holds up, each time
    /// one changes or goes: their deletion waits for it.
    fn waiting_models(
        &self,
        client: &Client,
        namespace: &Option<String>,
        ctx: Arc<Context<B>>,
    ) -> BoxStream<'static, ObjectRef<DeserializeGuard<BedrockCustomModel>>>;
}

impl<B: Bedrock> Context<B> {
    pub fn new(
        client: Client,
        bedrock: B,
        settings: &Settings,
        metrics: Arc<Metrics>,
        index: Index,
        serving: Vec<Arc<dyn ServingKind<B>>>,
    ) -> Self {
        let reporter = Reporter {
            controller: "bedrock-operator".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            memory: Memory::new(&settings.timing, metrics.clone()),
            recorder: Recorder::new(client.clone(), reporter),
            client,
            bedrock,
            timing: settings.timing.clone(),
            default_region: settings.default_region.clone(),
            cluster: settings.cluster.clone(),
            metrics,
            policy: settings.policy(),
            index,
            names: locks::KeyedLocks::default(),
            budgets: locks::KeyedLocks::default(),
            sweep: sweep::Sweep::new(
                settings.timing.sweep_interval,
                settings.timing.sweep_fallback,
            ),
            serving,
        }
    }
}
