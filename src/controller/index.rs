//! The operator's caches of each kind, shared so that one kind can look up another: a model
//! being deleted finds the deployments and throughputs that still use it, and a model's change
//! finds the resources that reference it, without a call to the API server.

use std::sync::Arc;

use parking_lot::RwLock;

use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::reflector::Store;

use super::kind::Managed;

/// The caches of one kind: one store per watched namespace (or one for all).
pub struct Stores<K: Managed> {
    stores: RwLock<Vec<Store<DeserializeGuard<K>>>>,
}

impl<K: Managed> Default for Stores<K> {
    fn default() -> Self {
        Self {
            stores: RwLock::new(Vec::new()),
        }
    }
}

impl<K: Managed> Stores<K> {
    pub fn add(&self, store: Store<DeserializeGuard<K>>) {
        self.stores.write().push(store);
    }

    /// Every well-formed cached object for which `keep` holds.
    pub fn filter(&self, keep: impl Fn(&K) -> bool) -> Vec<K> {
        let stores = self.stores.read();
        stores
            .iter()
            .flat_map(|store| store.state())
            .filter_map(|object: Arc<DeserializeGuard<K>>| {
                object.0.as_ref().ok().filter(|o| keep(o)).cloned()
            })
            .collect()
    }
}

/// The caches of every kind.
#[derive(Default)]
pub struct Index {
    pub models: Stores<crate::api::BedrockCustomModel>,
    pub deployments: Stores<crate::api::deployment::BedrockCustomModelDeployment>,
    pub throughputs: Stores<crate::api::throughput::BedrockProvisionedThroughput>,
}
