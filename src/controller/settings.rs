//! What the operator was asked to do.

use super::guards::Guards;
use super::outcome::Timing;
use super::scope::NamespaceScope;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Reconciles running at once, per kind and watched namespace.
    pub concurrency: u16,
    /// Region for resources that name none (and whose model names none).
    pub default_region: String,
    /// The cluster's ID in owner tags: `--cluster-name`, or the UID of the kube-system
    /// namespace (see [`crate::cluster`]).
    pub cluster: String,
    pub timing: Timing,
    /// Namespaces whose resources may use `adoptionPolicy: Adopt`.
    pub adoption: NamespaceScope,
    /// The tenant guards: spend limits, where commitments may be bought.
    pub guards: Guards,
}

/// What resources may ask for, and get when they ask for nothing, as the operator was told:
/// what each kind's checks (its `precheck`) read, and nothing else of the process.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Region for resources that name none (and whose model names none).
    pub default_region: String,
    /// Namespaces whose resources may use `adoptionPolicy: Adopt`.
    pub adoption: NamespaceScope,
    /// The tenant guards (spend limits, where commitments may be bought, references across
    /// namespaces).
    pub guards: Guards,
}

impl Settings {
    pub fn policy(&self) -> Policy {
        Policy {
            default_region: self.default_region.clone(),
            adoption: self.adoption.clone(),
            guards: self.guards.clone(),
        }
    }
}
