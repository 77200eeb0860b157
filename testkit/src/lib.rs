//! A real Kubernetes control plane for bedrock-operator's tests: kube-apiserver,
//! kube-controller-manager and etcd of a current release, built from their own Go modules and
//! started per test (or per test binary) on loopback ports, with static-token users and
//! service-account tokens.
//!
//! - [`ControlPlane`]: the guard tests hold; see [`ControlPlane::builder`] and [`shared`].
//! - [`cluster`]: the same servers as daemons, for `cargo xtask cluster up` / `down`.
//! - [`binaries`]: where the binaries come from (`KUBEBUILDER_ASSETS`, or a one-time build of the
//!   release `TESTKIT_KUBERNETES` names: `newest` or `oldest`).
//! - [`gotools`]: the Go modules of ours that pin and build every third-party test program.
//! - [`crds`]: installing CRDs as Helm 4 does (server-side apply, unchanged).
//! - [`python`]: botocore, pinned, installed once per machine: the emulator's second client.
//! - [`operator`]: the operator binary as a child process against a control plane and a Bedrock
//!   endpoint; [`http`]: plain GETs of its admin endpoints; [`wait`]: waiting for a condition
//!   with a deadline. The end-to-end tests, the chart tests and xtask share them.
//! - [`install`]: the values and Secret a user sets to install the chart, and the operator
//!   process of an installed Pod.
//! - [`registry`]: an OCI registry (CNCF distribution) on loopback, for charts pushed and
//!   installed as `oci://`; [`chart`]: packaging and pushing the chart (`cargo xtask chart`).
//! - [`audit`]: the API server's audit log, for who was refused what
//!   ([`ControlPlaneBuilder::audit_log`]).
//!
//! Linux only: child processes are tied to the test process with `PR_SET_PDEATHSIG`.

pub mod audit;
pub mod binaries;
pub mod chart;
pub mod cluster;
mod control_plane;
pub mod crds;
pub mod gotools;
pub mod http;
pub mod image;
pub mod install;
mod kubeconfig;
pub mod node;
pub mod oci;
pub mod operator;
mod process;
pub use process::pids;
pub mod python;
mod reaper;
pub mod registry;
mod servers;
pub mod wait;

pub use control_plane::{
    ControlPlane, ControlPlaneBuilder, DEFAULT_START_TIMEOUT, KEEP_TEMP, NAMESPACE_LABEL,
    USE_EXISTING_CLUSTER, shared,
};
