//! A real OCI registry on loopback: the CNCF distribution registry (built from its own Go module
//! by [`crate::gotools::REGISTRY`]), plain HTTP on `127.0.0.1` and a free port, its blobs in a
//! temp dir. The chart tests `helm push` the packaged chart to it and `helm install` from
//! `oci://127.0.0.1:PORT/…` as users install from ghcr.io.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let registry = testkit::registry::Registry::start().await?;
//! let reference = registry.oci_ref("charts"); // oci://127.0.0.1:PORT/charts
//! // helm push bedrock-operator-0.1.0.tgz oci://127.0.0.1:PORT/charts --plain-http
//! # Ok(()) }
//! ```
//!
//! Dropping the guard stops the registry (SIGTERM, SIGKILL after 5 s) and removes its storage;
//! like every testkit server it runs in its own process group with `PR_SET_PDEATHSIG`, so it
//! dies with the test process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::gotools;
use crate::process::{self, Lifetime, Proc};

/// How long the registry may take to answer `/v2/` (it starts in well under a second).
const START_TIMEOUT: Duration = Duration::from_secs(30);
const READY_POLL: Duration = Duration::from_millis(50);
/// Fresh ports to try when another process took the chosen one before the registry bound it.
const PORT_ATTEMPTS: usize = 5;

/// A running registry; stopped, and its storage removed, when dropped.
#[derive(Debug)]
pub struct Registry {
    // Declared before `dir`: the process stops before its storage goes.
    process: Proc,
    port: u16,
    dir: tempfile::TempDir,
}

/// The user of [`Registry::start_with_login`].
pub const LOGIN_USER: &str = "testkit";
/// Its password.
pub const LOGIN_PASSWORD: &str = "testkit-registry-password";
/// `LOGIN_USER:bcrypt(LOGIN_PASSWORD)` (cost 4), the registry's htpasswd file: the only hash
/// the registry accepts, made once with Go's golang.org/x/crypto/bcrypt.
const LOGIN_HTPASSWD: &str =
    "testkit:$2a$04$waWJDbOyNWGp/KqYLb4Qp.yWsZZvb4oH2pk2HDzoQU1i9dvvgeTVW\n";

impl Registry {
    /// Builds the registry once per machine (a minute or two cold), starts it on a free
    /// loopback port and waits until `GET /v2/` answers 200. Anyone may push and pull.
    pub async fn start() -> Result<Self> {
        Self::start_with(false).await
    }

    /// [`Registry::start`] with HTTP basic authentication: only [`LOGIN_USER`] with
    /// [`LOGIN_PASSWORD`] may push or pull (as GHCR wants a login); ready once `GET /v2/`
    /// answers 401.
    pub async fn start_with_login() -> Result<Self> {
        Self::start_with(true).await
    }

    async fn start_with(login: bool) -> Result<Self> {
        let binary = tokio::task::spawn_blocking(|| gotools::REGISTRY.ensure())
            .await
            .context("the registry build task")?
            .context("building the distribution registry (testkit/go/registry)")?
            .join("registry");
        let dir = tempfile::Builder::new()
            .prefix("bedrock-operator-registry-")
            .tempdir()
            .context("creating the registry's temp dir")?;
        let htpasswd = if login {
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, LOGIN_HTPASSWD)
                .with_context(|| format!("writing {}", path.display()))?;
            Some(path)
        } else {
            None
        };
        for attempt in 1..=PORT_ATTEMPTS {
            let port = process::free_port()?;
            let config = write_config(dir.path(), port, htpasswd.as_deref())?;
            let mut command = Command::new(&binary);
            command
                .arg("serve")
                .arg(&config)
                // Only our config: no REGISTRY_* overrides from the environment, and no
                // OpenTelemetry exporter looking for a collector.
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("OTEL_TRACES_EXPORTER", "none");
            let log = dir.path().join("registry.log");
            let mut registry = Proc::spawn("registry", command, &log, Lifetime::Supervised)?;
            let ready_status = if login { 401 } else { 200 };
            match wait_ready(&mut registry, port, ready_status).await {
                Ok(()) => {
                    tracing::info!(pid = registry.pid(), port, "registry is ready");
                    return Ok(Self {
                        process: registry,
                        port,
                        dir,
                    });
                }
                Err(_) if attempt < PORT_ATTEMPTS && registry.log_contains(ADDRESS_IN_USE) => {
                    tracing::debug!(port, "registry port taken, retrying");
                    registry.stop(process::STOP_GRACE);
                }
                Err(error) => return Err(error),
            }
        }
        bail!("the registry could not bind a free port after {PORT_ATTEMPTS} attempts")
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `oci://127.0.0.1:PORT/<path>` (`path` without slashes at either end), what `helm push`
    /// takes; `helm install` takes it with `/<chart name>` appended.
    pub fn oci_ref(&self, path: &str) -> String {
        format!("oci://{}/{}", self.host(), path.trim_matches('/'))
    }

    /// Where the registry keeps its blobs and its log (`registry.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines of the registry's log (its access log), for failure messages.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Whether the registry's log (its access log included: every request's URI) mentions
    /// `needle`, e.g. `/v2/charts/bedrock-operator/manifests/0.1.0`.
    pub fn log_contains(&self, needle: &str) -> bool {
        self.process.log_contains(needle)
    }

    /// Whether one line of the registry's log mentions every one of `needles`, e.g. a request
    /// and its status: `["http.request.method=PUT", "/manifests/0.1.0", "http.response.status=201"]`.
    pub fn log_has_line(&self, needles: &[&str]) -> bool {
        self.process
            .log_text()
            .lines()
            .any(|line| needles.iter().all(|needle| line.contains(needle)))
    }

    /// The tags the registry holds for `repository` (`charts/bedrock-operator`), read from
    /// `GET /v2/<repository>/tags/list`.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>> {
        let path = format!("/v2/{}/tags/list", repository.trim_matches('/'));
        let (status, body) = crate::http::get(&self.host(), &path).await?;
        if status == 404 {
            return Ok(Vec::new());
        }
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        let list: serde_json::Value =
            serde_json::from_str(&body).with_context(|| format!("GET {path}: {body}"))?;
        Ok(list["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|tag| tag.as_str().map(str::to_string))
            .collect())
    }
}

const ADDRESS_IN_USE: &str = "address already in use";

/// The registry's configuration: plain HTTP on loopback, filesystem storage under `dir`,
/// deletes allowed (so that a test may replace a tag), basic authentication against
/// `htpasswd` when given.
fn write_config(dir: &Path, port: u16, htpasswd: Option<&Path>) -> Result<PathBuf> {
    let storage = dir.join("storage");
    std::fs::create_dir_all(&storage).with_context(|| format!("creating {}", storage.display()))?;
    let mut config = serde_json::json!({
        "version": 0.1,
        "log": { "level": "info", "formatter": "text" },
        "storage": {
            "filesystem": { "rootdirectory": storage },
            "delete": { "enabled": true },
        },
        "http": { "addr": format!("127.0.0.1:{port}") },
    });
    if let Some(htpasswd) = htpasswd {
        config["auth"] = serde_json::json!({
            "htpasswd": { "realm": "testkit", "path": htpasswd },
        });
    }
    let path = dir.join("config.yml");
    // JSON is YAML: the registry reads it as its YAML config.
    std::fs::write(&path, serde_json::to_string_pretty(&config)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Polls `GET /v2/` (the OCI distribution API's base: 200 without auth, 401 with) until it
/// answers `status`; fails at once, quoting the log, if the registry exits.
async fn wait_ready(registry: &mut Proc, port: u16, status: u16) -> Result<()> {
    let authority = format!("127.0.0.1:{port}");
    let mut last = String::from("no answer yet");
    let ready = crate::wait::until(
        format!("the registry on {authority} to answer GET /v2/ with {status}"),
        START_TIMEOUT,
        READY_POLL,
        async || {
            if let Some(exit) = registry.exited() {
                return Err(registry.exit_error(exit));
            }
            match crate::http::get(&authority, "/v2/").await {
                Ok((code, _)) if code == status => Ok(Some(())),
                Ok((code, body)) => {
                    last = format!("{code} {body}");
                    Ok(None)
                }
                Err(error) => {
                    last = format!("{error:#}");
                    Ok(None)
                }
            }
        },
    )
    .await;
    ready.with_context(|| {
        format!(
            "last answer: {last}; last lines of its log:\n{}",
            registry.log_tail()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The registry answers the distribution API once `start` returns, holds nothing yet, and
    /// is gone (its port refuses connections) once the guard drops.
    #[tokio::test]
    async fn starts_ready_and_stops_on_drop() -> Result<()> {
        let registry = Registry::start().await?;
        let host = registry.host();
        let (status, _) = crate::http::get(&host, "/v2/").await?;
        assert_eq!(status, 200);
        assert_eq!(
            registry.tags("charts/bedrock-operator").await?,
            Vec::<String>::new()
        );
        assert!(
            registry
                .oci_ref("/charts/")
                .ends_with(&format!("{host}/charts"))
        );
        let storage = registry.dir().to_path_buf();
        drop(registry);
        assert!(
            tokio::net::TcpStream::connect(&host).await.is_err(),
            "nothing listens on {host} after the drop"
        );
        assert!(!storage.exists(), "the storage is removed");
        Ok(())
    }
}
