//! Kubeconfig files for the identities of a control plane.

use std::path::Path;

use anyhow::{Context, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

/// A kubeconfig for `server` (TLS not verified: the server's certificate is self-signed) that
/// authenticates with a bearer `token`.
pub(crate) fn render(
    server: &str,
    user: &str,
    token: &str,
    namespace: Option<&str>,
) -> Result<String> {
    let mut context = json!({ "cluster": "testkit", "user": user });
    if let Some(namespace) = namespace {
        context["namespace"] = json!(namespace);
    }
    let document = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "testkit",
            "cluster": { "server": server, "insecure-skip-tls-verify": true },
        }],
        "users": [{ "name": user, "user": { "token": token } }],
        "contexts": [{ "name": user, "context": context }],
        "current-context": user,
    });
    serde_yaml::to_string(&document).context("rendering a kubeconfig")
}

/// The client configuration a kubeconfig text describes.
pub(crate) async fn config(yaml: &str) -> Result<kube::Config> {
    let kubeconfig = Kubeconfig::from_yaml(yaml).context("parsing a generated kubeconfig")?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("loading a generated kubeconfig")
}

/// Writes a kubeconfig readable only by this user (it holds a token).
pub(crate) fn write(path: &Path, yaml: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(yaml.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
