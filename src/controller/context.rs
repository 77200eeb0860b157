//! What every reconcile shares: clients, settings, the locks, and what is kept in memory about
//! objects ([`Memory`]).

use std::sync::Arc;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

use super::guards::Guards;
use super::index::Index;
use super::memory::Memory;
use super::outcome::Timing;
use super::scope::NamespaceScope;
use super::settings::Settings;
use super::{locks, sweep};
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
    /// Namespaces whose resources may use `adoptionPolicy: Adopt`.
    pub adoption: NamespaceScope,
    /// The tenant guards (spend limits, where commitments may be bought).
    pub guards: Guards,
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
}

impl<B: Bedrock> Context<B> {
    pub fn new(
        client: Client,
        bedrock: B,
        settings: &Settings,
        metrics: Arc<Metrics>,
        index: Index,
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
            adoption: settings.adoption.clone(),
            guards: settings.guards.clone(),
            index,
            names: locks::KeyedLocks::default(),
            budgets: locks::KeyedLocks::default(),
            sweep: sweep::Sweep::new(
                settings.timing.sweep_interval,
                settings.timing.sweep_fallback,
            ),
        }
    }
}
