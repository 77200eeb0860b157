//! Tools the tests need beyond Rust, built on demand and cached outside the checkout: the helm
//! CLI (built from Helm's own Go module by `testkit::gotools::HELM`, for the chart tests),
//! the CNCF distribution registry (`testkit::gotools::REGISTRY`, the OCI registry the chart
//! tests push the chart to and install it from), actionlint (`testkit::gotools::ACTIONLINT`,
//! for the workflow lint), `argocd-lua` (built from our Go module by
//! `testkit::gotools::ARGOCD_LUA`, for the Argo CD health check), and what testkit's node runs
//! (`testkit::gotools::NODE_MODULES`: kubelet, kube-scheduler and kube-proxy, containerd, runc,
//! the CNI plugins, and our `pause` and `api-check`). The tests find them in the same cache, so
//! building them here only keeps parallel tests from waiting on the build.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// What the tests get.
#[derive(Debug)]
pub struct Tools {
    /// Shown, not passed on: the chart tests find helm in the same cache.
    #[expect(dead_code, reason = "read through the Debug output only")]
    pub helm: PathBuf,
    /// Shown, not passed on: the Argo CD tests find argocd-lua in the same cache.
    #[expect(dead_code, reason = "read through the Debug output only")]
    pub argocd_lua: PathBuf,
    /// Shown, not passed on: the chart tests find the registry in the same cache.
    #[expect(dead_code, reason = "read through the Debug output only")]
    pub registry: PathBuf,
    /// Shown, not passed on: the workflow test finds actionlint in the same cache.
    #[expect(dead_code, reason = "read through the Debug output only")]
    pub actionlint: PathBuf,
    /// Shown, not passed on: testkit's node finds its programs in the same cache.
    #[expect(dead_code, reason = "read through the Debug output only")]
    pub node: Vec<PathBuf>,
}

/// Debian packages testkit's node needs from the machine: a file each installs, and the package.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    // kube-proxy and the node's clean-up.
    ("/usr/sbin/iptables", "iptables"),
    // The bridge, veth pairs and addresses.
    ("/usr/sbin/ip", "iproute2"),
    // runc is built with seccomp, so that Pods' RuntimeDefault profiles are enforced.
    ("/usr/include/seccomp.h", "libseccomp-dev"),
];

/// Installs the missing [`DEBIAN_PACKAGES`] with apt-get (as root; CI machines are Debian).
pub fn ensure_debian_packages() -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .filter(|(file, _)| !Path::new(file).exists())
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = || -> Result<bool> {
        let status = Command::new("apt-get")
            .args(["install", "--yes", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("running apt-get (testkit's node needs Debian packages)")?;
        Ok(status.success())
    };
    eprintln!("xtask: installing {} with apt-get", missing.join(", "));
    if install()? {
        return Ok(());
    }
    // A fresh machine may have no package lists yet.
    let updated = Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get update")?;
    if !updated.success() || !install()? {
        bail!(
            "could not install {} (testkit's node needs them; as root: apt-get install {})",
            missing.join(", "),
            missing.join(" ")
        );
    }
    Ok(())
}

pub fn ensure() -> Result<Tools> {
    ensure_debian_packages()?;
    Ok(Tools {
        helm: testkit::gotools::HELM.ensure()?.join("helm"),
        argocd_lua: testkit::gotools::ARGOCD_LUA.ensure()?.join("argocd-lua"),
        registry: testkit::gotools::REGISTRY.ensure()?.join("registry"),
        actionlint: testkit::gotools::ACTIONLINT.ensure()?.join("actionlint"),
        node: testkit::gotools::NODE_MODULES
            .iter()
            .map(|module| module.ensure())
            .collect::<Result<_>>()?,
    })
}
