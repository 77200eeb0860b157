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
