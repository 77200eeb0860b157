//! Tools the tests need beyond Rust, built on demand and cached outside the checkout: the helm
//! CLI (built from Helm's own Go module by `testkit::gotools::HELM`, for the chart tests),
//! the CNCF distribution registry (`testkit::gotools::REGISTRY`, the OCI registry the chart
//! tests push the chart to and install it from), actionlint (`testkit::gotools::ACTIONLINT`,
//! for the workflow lint), `argocd-lua` (built from our Go module by
//! `testkit::gotools::ARGOCD_LUA`, for the Argo CD health check), and what testkit's node runs
//! (`testkit::gotools::NODE_MODULES`: kubelet, kube-scheduler and kube-proxy, containerd, runc,
//! the CNI plugins, and our `pause` and `api-check`). The tests find them in the same cache, so
//! building them here only keeps parallel tests from waiting on the build.

use std::path::PathBuf;

use anyhow::Result;

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

pub fn ensure() -> Result<Tools> {
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
