//! A long-lived developer cluster (`cargo xtask cluster up` / `cluster down`): the same
//! kube-apiserver, kube-controller-manager and etcd as the tests use, started as daemons that
//! outlive the command.
//!
//! Everything lives in [`state_dir`]: `state.json` (pids, ports), `admin.kubeconfig`, the etcd
//! data and the logs (`etcd.log`, `kube-apiserver.log`, `kube-controller-manager.log`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::binaries;
use crate::kubeconfig;
use crate::process::{self, Lifetime};
use crate::servers::{self, Layout, StaticUser};

const STATE_FILE: &str = "state.json";
const ADMIN_USER: &str = "admin";
const START_TIMEOUT: Duration = Duration::from_secs(120);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What `up` recorded about the running daemons.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterState {
    /// Process id of etcd (leader of its own session and process group).
    pub etcd_pid: u32,
    /// Process id of kube-apiserver (leader of its own session and process group).
    pub apiserver_pid: u32,
    /// etcd's loopback client port.
    pub etcd_port: u16,
    /// Process id of kube-controller-manager, if one runs.
    #[serde(default)]
    pub controller_manager_pid: Option<u32>,
    /// kube-apiserver's loopback secure port.
    pub apiserver_port: u16,
    /// `https://127.0.0.1:<apiserver_port>`.
    pub server: String,
    /// The admin kubeconfig.
    pub kubeconfig: PathBuf,
}

/// `${XDG_STATE_HOME:-$HOME/.local/state}/bedrock-operator/cluster`.
pub fn state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("bedrock-operator").join("cluster")
}

/// Starts the developer cluster unless it already runs, and returns its admin kubeconfig.
///
/// Idempotent: a running, ready cluster is reused; a dead or half-dead one is cleaned up and
/// started afresh (its data is lost).
pub async fn up() -> Result<PathBuf> {
    let dir = state_dir();
    if let Some(state) = read_state(&dir)? {
        if is_alive(&dir, &state) && is_ready(&state.kubeconfig).await {
            tracing::info!(server = %state.server, "cluster already running");
            return Ok(state.kubeconfig);
        }
        tracing::warn!(dir = %dir.display(), "found a stopped or broken cluster; starting a new one");
        stop(&dir, &state).await?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let binaries = binaries::locate().await?;
    let layout = Layout::new(&dir);
    let admin = StaticUser {
        name: ADMIN_USER.into(),
        groups: vec!["system:masters".into()],
        token: process::random_hex(24)?,
    };
    let manager = StaticUser {
        name: servers::CONTROLLER_MANAGER_USER.into(),
        groups: Vec::new(),
        token: process::random_hex(24)?,
    };
    layout.prepare(&[admin.clone(), manager.clone()])?;
    let (etcd, etcd_port) =
        servers::start_etcd(&binaries, &layout, Lifetime::Detached, START_TIMEOUT).await?;
    let (apiserver, apiserver_port) = servers::start_apiserver(
        &binaries,
        &layout,
        Lifetime::Detached,
        etcd_port,
        None,
        &admin.token,
        START_TIMEOUT,
    )
    .await?;

    let server = format!("https://127.0.0.1:{apiserver_port}");
    let kubeconfig = layout.kubeconfig(ADMIN_USER);
    kubeconfig::write(
        &kubeconfig,
        &kubeconfig::render(&server, ADMIN_USER, &admin.token, None)?,
    )?;
    let controller_manager = match &binaries.kube_controller_manager {
        Some(binary) => {
            let mut process = servers::start_controller_manager(
                binary,
                &layout,
                Lifetime::Detached,
                apiserver_port,
                &manager.token,
            )?;
            let config = kubeconfig::config(&std::fs::read_to_string(&kubeconfig)?).await?;
            let client = kube::Client::try_from(config).context("building the admin client")?;
            servers::wait_controller_manager(&mut process, &client, START_TIMEOUT).await?;
            Some(process)
        }
        None => None,
    };
    let state = ClusterState {
        etcd_pid: etcd.pid(),
        apiserver_pid: apiserver.pid(),
        controller_manager_pid: controller_manager.as_ref().map(process::Proc::pid),
        etcd_port,
        apiserver_port,
        server,
        kubeconfig: kubeconfig.clone(),
    };
    let text = serde_json::to_string_pretty(&state)?;
    std::fs::write(dir.join(STATE_FILE), text).context("writing the cluster state")?;
    // Only now, with the state on disk, may the daemons outlive this process.
    if let Some(process) = controller_manager {
        process.release();
    }
    apiserver.release();
    etcd.release();
    tracing::info!(server = %state.server, kubeconfig = %kubeconfig.display(), "cluster up");
    Ok(kubeconfig)
}

/// Stops the developer cluster and removes its state dir (data and logs). Does nothing when no
/// cluster is recorded.
pub async fn down() -> Result<()> {
    let dir = state_dir();
    match read_state(&dir)? {
        Some(state) => stop(&dir, &state).await?,
        None => tracing::info!(dir = %dir.display(), "no cluster recorded"),
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

/// The recorded state of the developer cluster, if `up` wrote one.
pub fn status() -> Result<Option<ClusterState>> {
    read_state(&state_dir())
}

fn read_state(dir: &Path) -> Result<Option<ClusterState>> {
    let path = dir.join(STATE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => match serde_json::from_str(&text) {
            Ok(state) => Ok(Some(state)),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "ignoring an unreadable cluster state");
                Ok(None)
            }
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

/// Whether `pid` is one of our daemons: pids get reused, so the command line must name the dir.
fn is_ours(dir: &Path, pid: u32) -> bool {
    process::is_running(pid)
        && process::cmdline(pid).is_some_and(|line| line.contains(&*dir.to_string_lossy()))
}

fn is_alive(dir: &Path, state: &ClusterState) -> bool {
    is_ours(dir, state.etcd_pid) && is_ours(dir, state.apiserver_pid)
}

async fn is_ready(kubeconfig_path: &Path) -> bool {
    let Ok(yaml) = std::fs::read_to_string(kubeconfig_path) else {
        return false;
    };
    let Ok(mut config) = kubeconfig::config(&yaml).await else {
        return false;
    };
    config.connect_timeout = Some(PROBE_TIMEOUT);
    config.read_timeout = Some(PROBE_TIMEOUT);
    let Ok(client) = kube::Client::try_from(config) else {
        return false;
    };
    let Ok(request) = http::Request::get("/readyz").body(Vec::new()) else {
        return false;
    };
    client.request_text(request).await.is_ok()
}

async fn stop(dir: &Path, state: &ClusterState) -> Result<()> {
    let dir = dir.to_path_buf();
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        // The controller-manager first, then the apiserver, so neither logs a storm of errors
        // about the one below it on its way out.
        let pids = state
            .controller_manager_pid
            .into_iter()
            .chain([state.apiserver_pid, state.etcd_pid]);
        for pid in pids {
            if is_ours(&dir, pid) {
                process::stop_foreign(pid, STOP_GRACE);
                tracing::info!(pid, "stopped");
            }
        }
    })
    .await
    .context("the stop task panicked")
}
