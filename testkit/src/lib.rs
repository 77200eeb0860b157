//! A real Kubernetes API for bedrock-operator's tests: kube-apiserver 1.20.2 + etcd, started
//! per test (or per test binary) on loopback ports, with static-token users, service-account
//! tokens and CRD installation adapted to the old server.
//!
//! - [`ControlPlane`]: the guard tests hold; see [`ControlPlane::builder`] and [`shared`].
//! - [`cluster`]: the same servers as daemons, for `cargo xtask cluster up` / `down`.
//! - [`binaries`]: where the binaries come from (`KUBEBUILDER_ASSETS`, the cache, or a one-time
//!   build from Debian's source package by `scripts/build-kube-apiserver.sh`).
//! - [`crds`]: CRD adaptation for old servers (CEL rules and selectable fields removed).
//!
//! Linux only: child processes are tied to the test process with `PR_SET_PDEATHSIG`.

pub mod binaries;
pub mod cluster;
mod control_plane;
pub mod crds;
mod kubeconfig;
mod process;
mod reaper;
mod servers;

pub use control_plane::{
    ControlPlane, ControlPlaneBuilder, DEFAULT_START_TIMEOUT, KEEP_TEMP, NAMESPACE_LABEL,
    USE_EXISTING_CLUSTER, shared,
};
