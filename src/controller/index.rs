//! The operator's caches of each kind, shared so that one kind can look up another: a model
//! being deleted finds the resources that still use it, and a model's change finds the
//! resources that reference it, without a call to the API server. Keyed by type: a kind's
//! caches come in when the wiring registers it, and no list of kinds is written here.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::reflector::Store;

use super::kind::Managed;

/// The caches of one kind: one store per watched namespace (or one for all).
pub struct Stores<K: Managed> {
    stores: Vec<Store<DeserializeGuard<K>>>,
}

impl<K: Managed> Default for Stores<K> {
    fn default() -> Self {
        Self { stores: Vec::new() }
    }
}

impl<K: Managed> Stores<K> {
    /// Every well-formed cached object for which `keep` holds.
    pub fn filter(&self, keep: impl Fn(&K) -> bool) -> Vec<K> {
        self.stores
            .iter()
            .flat_map(|store| store.state())
            .filter_map(|object: Arc<DeserializeGuard<K>>| {
                object.0.as_ref().ok().filter(|o| keep(o)).cloned()
            })
            .collect()
    }
}

/// The caches of every kind, by type.
#[derive(Default)]
pub struct Index {
    kinds: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl Index {
    /// Adds a store of kind `K` (one watched namespace's).
    pub fn add<K: Managed>(&mut self, store: Store<DeserializeGuard<K>>) {
        let entry = self
            .kinds
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Box::new(Stores::<K>::default()));
        // The entry of a type always holds that type's stores.
        if let Some(stores) = entry.downcast_mut::<Stores<K>>() {
            stores.stores.push(store);
        }
    }

    /// Every well-formed cached object of kind `K` for which `keep` holds (none for a kind
    /// that was not registered).
    pub fn filter<K: Managed>(&self, keep: impl Fn(&K) -> bool) -> Vec<K> {
        self.kinds
            .get(&TypeId::of::<K>())
            .and_then(|stores| stores.downcast_ref::<Stores<K>>())
            .map(|stores| stores.filter(keep))
            .unwrap_or_default()
    }
}
