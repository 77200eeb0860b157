//! Finding (or building, once) the server binaries of a control plane: kube-apiserver,
//! kube-controller-manager, etcd, and the kubectl of the same release.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::gotools::{self, GoModule, is_executable};

/// Environment variable naming a folder with `kube-apiserver` and `etcd`, and optionally
/// `kube-controller-manager` and `kubectl` (the envtest convention).
pub const KUBEBUILDER_ASSETS: &str = "KUBEBUILDER_ASSETS";
/// Environment variable choosing the Kubernetes release testkit builds and runs: `newest`
/// (default) or `oldest` (the oldest the operator supports; the compatibility leg).
pub const KUBERNETES_ENV: &str = "TESTKIT_KUBERNETES";

/// Which of the two pinned Kubernetes releases to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Release {
    /// The newest release that builds here; the whole suite runs on it.
    #[default]
    Newest,
    /// The oldest supported release.
    Oldest,
}

impl Release {
    /// The release `TESTKIT_KUBERNETES` names (newest when unset).
    pub fn from_env() -> Result<Self> {
        match std::env::var(KUBERNETES_ENV).ok().as_deref().map(str::trim) {
            None | Some("") | Some("newest") => Ok(Self::Newest),
            Some("oldest") => Ok(Self::Oldest),
            Some(other) => bail!("{KUBERNETES_ENV}={other:?}: expected `newest` or `oldest`"),
        }
    }

    /// The Go module that pins this release.
    pub fn module(self) -> GoModule {
        match self {
            Self::Newest => gotools::KUBERNETES_NEWEST,
            Self::Oldest => gotools::KUBERNETES_OLDEST,
        }
    }

    /// The pinned version, e.g. `v1.37.2`.
    pub fn version(self) -> &'static str {
        self.module().kubernetes_version().unwrap_or("unknown")
    }
}

/// The binaries a control plane runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Path of `kube-apiserver`.
    pub kube_apiserver: PathBuf,
    /// Path of `kube-controller-manager`; `None` when `KUBEBUILDER_ASSETS` brings none (then
    /// namespaces never finish deleting and nothing is garbage-collected).
    pub kube_controller_manager: Option<PathBuf>,
    /// Path of `kubectl` of the same release, if known.
    pub kubectl: Option<PathBuf>,
    /// Path of `etcd`.
    pub etcd: PathBuf,
    /// The minor version of `kube-apiserver` (37 for 1.37.2).
    pub apiserver_minor: u32,
}

/// Finds the binaries: `$KUBEBUILDER_ASSETS`, else the release `TESTKIT_KUBERNETES` names,
/// built from Go modules once per machine (see [`gotools`]).
pub async fn locate() -> Result<Binaries> {
    let release = Release::from_env()?;
    locate_release(release).await
}

/// [`locate`] for a given release (ignoring `TESTKIT_KUBERNETES`, not `KUBEBUILDER_ASSETS`).
pub async fn locate_release(release: Release) -> Result<Binaries> {
    tokio::task::spawn_blocking(move || locate_blocking(release))
        .await
        .context("the binary lookup task panicked")?
}

fn locate_blocking(release: Release) -> Result<Binaries> {
    if let Some(assets) = std::env::var_os(KUBEBUILDER_ASSETS).filter(|v| !v.is_empty()) {
        let assets = PathBuf::from(assets);
        let kube_apiserver = assets.join("kube-apiserver");
        let etcd = assets.join("etcd");
        for binary in [&kube_apiserver, &etcd] {
            if !is_executable(binary) {
                bail!(
                    "{KUBEBUILDER_ASSETS}={} has no executable {}",
                    assets.display(),
                    binary.display()
                );
            }
        }
        let optional = |name: &str| Some(assets.join(name)).filter(|p| is_executable(p));
        return with_version(Binaries {
            kube_apiserver,
            kube_controller_manager: optional("kube-controller-manager"),
            kubectl: optional("kubectl"),
            etcd,
            apiserver_minor: 0,
        });
    }

    let kubernetes = release.module().ensure()?;
    let etcd = gotools::ETCD.ensure()?;
    with_version(Binaries {
        kube_apiserver: kubernetes.join("kube-apiserver"),
        kube_controller_manager: Some(kubernetes.join("kube-controller-manager")),
        kubectl: Some(kubernetes.join("kubectl")),
        etcd: etcd.join("etcd"),
        apiserver_minor: 0,
    })
}

fn with_version(mut binaries: Binaries) -> Result<Binaries> {
    let output = Command::new(&binaries.kube_apiserver)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", binaries.kube_apiserver.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    binaries.apiserver_minor = parse_minor(&text).with_context(|| {
        format!(
            "unexpected `{} --version` output: {text:?}",
            binaries.kube_apiserver.display()
        )
    })?;
    Ok(binaries)
}

/// The minor version from `Kubernetes v1.37.2` (or a bare `v1.33.0-rc.1`).
fn parse_minor(version: &str) -> Option<u32> {
    let v = version.split_whitespace().find(|w| w.starts_with('v'))?;
    let minor = v.trim_start_matches('v').split('.').nth(1)?;
    minor
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minor_versions() {
        assert_eq!(parse_minor("Kubernetes v1.37.2\n"), Some(37));
        assert_eq!(parse_minor("Kubernetes v1.33.0-rc.1"), Some(33));
        assert_eq!(parse_minor("garbage"), None);
    }

    #[test]
    fn the_newest_release_is_newer_than_the_oldest() {
        let minor = |release: Release| parse_minor(release.version()).expect("a version");
        assert!(minor(Release::Newest) > minor(Release::Oldest));
    }
}
