//! Starting etcd and kube-apiserver in a folder: the part shared by test control planes and the
//! detached developer cluster.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::binaries::Binaries;
use crate::kubeconfig;
use crate::process::{self, Lifetime, Proc};

/// How often readiness is polled while a server starts.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How many times a start is retried when another process took the port we picked.
const PORT_ATTEMPTS: usize = 5;
/// The per-request timeouts of the readiness probe, so a half-started server cannot stall it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const ADDRESS_IN_USE: &str = "address already in use";
/// The issuer of service-account tokens (the in-cluster name of the API server).
const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc";
/// The identity kube-controller-manager authenticates as: RBAC's built-in
/// `system:kube-controller-manager` binding grants it what it needs to mint each controller's
/// service-account token (`--use-service-account-credentials`).
pub(crate) const CONTROLLER_MANAGER_USER: &str = "system:kube-controller-manager";
/// The controllers kube-controller-manager runs: what a cluster's users rely on without a
/// kubelet or a cloud (namespace deletion, garbage collection, service accounts and their tokens,
/// the root CA config map, Deployments down to Pods, PodDisruptionBudgets, EndpointSlices).
/// Node, volume, cloud and job controllers are left out: there are no nodes or volumes.
const CONTROLLERS: &[&str] = &[
    "namespace-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "deployment-controller",
    "replicaset-controller",
    "disruption-controller",
    "clusterrole-aggregation-controller",
    "endpointslice-controller",
];

/// Run in addition to [`CONTROLLERS`] by a control plane with a node network.
const NODE_LIFECYCLE_CONTROLLER: &str = "node-lifecycle-controller";

/// A static-token identity the apiserver knows from its token file.
#[derive(Debug, Clone)]
pub(crate) struct StaticUser {
    pub(crate) name: String,
    pub(crate) groups: Vec<String>,
    pub(crate) token: String,
}

/// The files of one control plane, all under one folder, and whether its API server is set up
/// for a node (see [`crate::node`]).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) dir: PathBuf,
    /// The API server listens on every address and advertises the node network's gateway (which
    /// the Pods reach), the `kubernetes` Service gets endpoints, nodes are authorized as
    /// nodes, and the node-lifecycle controller runs.
    pub(crate) node_network: bool,
    /// The API server writes an audit log ([`crate::audit`]).
    pub(crate) audit: bool,
}

impl Layout {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            node_network: false,
            audit: false,
        }
    }
    fn etcd_data(&self) -> PathBuf {
        self.dir.join("etcd-data")
    }
    fn cert_dir(&self) -> PathBuf {
        self.dir.join("certs")
    }
    fn token_file(&self) -> PathBuf {
        self.dir.join("tokens.csv")
    }
    fn service_account_key(&self) -> PathBuf {
        self.dir.join("service-account.key")
    }
    pub(crate) fn etcd_log(&self) -> PathBuf {
        self.dir.join("etcd.log")
    }
    pub(crate) fn apiserver_log(&self) -> PathBuf {
        self.dir.join("kube-apiserver.log")
    }
    pub(crate) fn controller_manager_log(&self) -> PathBuf {
        self.dir.join("kube-controller-manager.log")
    }
    fn audit_policy(&self) -> PathBuf {
        self.dir.join("audit-policy.yaml")
    }
    pub(crate) fn audit_log(&self) -> PathBuf {
        self.dir.join("kube-apiserver-audit.log")
    }
    /// The API server's self-signed serving certificate (the cluster's root CA, as far as
    /// pods and service-account token secrets are concerned).
    fn serving_certificate(&self) -> PathBuf {
        self.cert_dir().join("apiserver.crt")
    }
    pub(crate) fn kubeconfig(&self, user: &str) -> PathBuf {
        let file: String = user
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{file}.kubeconfig"))
    }

    /// Writes the token file and a service-account signing key.
    pub(crate) fn prepare(&self, users: &[StaticUser]) -> Result<()> {
        for dir in [self.etcd_data(), self.cert_dir()] {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        // etcd refuses a data dir that others can read.
        set_mode(&self.etcd_data(), 0o700)?;

        let mut tokens = String::new();
        for user in users {
            // token,user,uid,"group1,group2"
            tokens.push_str(&format!(
                "{},{},{},\"{}\"\n",
                user.token,
                user.name,
                user.name,
                user.groups.join(",")
            ));
        }
        std::fs::write(self.token_file(), tokens)
            .with_context(|| format!("writing {}", self.token_file().display()))?;
        set_mode(&self.token_file(), 0o600)?;
        if self.audit {
            std::fs::write(self.audit_policy(), crate::audit::POLICY)
                .with_context(|| format!("writing {}", self.audit_policy().display()))?;
        }

        let key = self.service_account_key();
        let output = Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(&key)
            .arg("2048")
            .output()
            .context(
                "running openssl to create the service-account signing key (is openssl installed?)",
            )?;
        if !output.status.success() {
            bail!(
                "openssl genrsa failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// Starts etcd on free loopback ports and waits until it reports healthy.
pub(crate) async fn start_etcd(
    binaries: &Binaries,
    layout: &Layout,
    lifetime: Lifetime,
    timeout: Duration,
) -> Result<(Proc, u16)> {
    for attempt in 1..=PORT_ATTEMPTS {
        let client_port = process::free_port()?;
        let peer_port = process::free_port()?;
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let mut command = Command::new(&binaries.etcd);
        command
            .arg("--name=testkit")
            .arg(format!("--data-dir={}", layout.etcd_data().display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=testkit={peer_url}"))
            // Keep ETCD_* variables of the environment from changing the flags above.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        let mut etcd = Proc::spawn("etcd", command, &layout.etcd_log(), lifetime)?;
        match wait_etcd_healthy(&mut etcd, client_port, timeout).await {
            Ok(()) => {
                tracing::info!(pid = etcd.pid(), client_port, "etcd is healthy");
                return Ok((etcd, client_port));
            }
            Err(_) if attempt < PORT_ATTEMPTS && etcd.log_contains(ADDRESS_IN_USE) => {
                tracing::debug!(client_port, peer_port, "etcd port taken, retrying");
                etcd.stop(process::STOP_GRACE);
            }
            Err(error) => return Err(error),
        }
    }
    bail!("etcd could not bind free ports after {PORT_ATTEMPTS} attempts")
}

async fn wait_etcd_healthy(etcd: &mut Proc, port: u16, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = etcd.exited() {
            return Err(etcd.exit_error(status));
        }
        let last = match tokio::time::timeout(PROBE_TIMEOUT, etcd_health(port)).await {
            Ok(Ok(body)) if body.contains(r#""health":"true""#) => return Ok(()),
            Ok(Ok(body)) => body,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "health probe timed out".into(),
        };
        if Instant::now() >= deadline {
            bail!(
                "etcd was not healthy within {timeout:?} (last probe: {last}); last lines of its log:\n{}",
                etcd.log_tail()
            );
        }
        tokio::time::sleep(READY_POLL_INTERVAL).await;
    }
}

/// etcd's `/health` over plain HTTP (etcd listens without TLS on loopback).
async fn etcd_health(port: u16) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// Starts kube-apiserver against the etcd on `etcd_port` and waits for `/readyz`.
///
/// With `port` set (a restart) it must come back on that port; otherwise it picks a free one and
/// retries with another when the port was taken meanwhile.
pub(crate) async fn start_apiserver(
    binaries: &Binaries,
    layout: &Layout,
    lifetime: Lifetime,
    etcd_port: u16,
    port: Option<u16>,
    admin_token: &str,
    timeout: Duration,
) -> Result<(Proc, u16)> {
    for attempt in 1..=PORT_ATTEMPTS {
        let secure_port = match port {
            Some(port) => port,
            None => process::free_port()?,
        };
        let command = apiserver_command(binaries, layout, etcd_port, secure_port);
        let mut apiserver =
            Proc::spawn("kube-apiserver", command, &layout.apiserver_log(), lifetime)?;
        match wait_apiserver_ready(&mut apiserver, secure_port, admin_token, timeout).await {
            Ok(()) => {
                tracing::info!(
                    pid = apiserver.pid(),
                    port = secure_port,
                    "kube-apiserver is ready"
                );
                return Ok((apiserver, secure_port));
            }
            Err(_) if attempt < PORT_ATTEMPTS && apiserver.log_contains(ADDRESS_IN_USE) => {
                tracing::debug!(port = secure_port, "kube-apiserver port taken, retrying");
                apiserver.stop(process::STOP_GRACE);
                if port.is_some() {
                    // The old server's socket may linger for a moment; give it time to go.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            Err(error) => return Err(error),
        }
    }
    bail!("kube-apiserver could not bind its port after {PORT_ATTEMPTS} attempts")
}

fn apiserver_command(binaries: &Binaries, layout: &Layout, etcd_port: u16, port: u16) -> Command {
    let key = layout.service_account_key();
    let mut command = Command::new(&binaries.kube_apiserver);
    command
        .arg(format!("--etcd-servers=http://127.0.0.1:{etcd_port}"))
        .arg(format!("--secure-port={port}"))
        .arg(format!("--cert-dir={}", layout.cert_dir().display()))
        .arg(format!(
            "--token-auth-file={}",
            layout.token_file().display()
        ))
        .arg(format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}"))
        .arg(format!("--service-account-key-file={}", key.display()))
        .arg(format!(
            "--service-account-signing-key-file={}",
            key.display()
        ));
    if layout.node_network {
        // Pods reach the host through their bridge's gateway, not through 127.0.0.1: the server
        // listens everywhere (loopback clients keep working) and advertises the gateway, which
        // the `kubernetes` Service's endpoints name (the lease reconciler keeps them).
        command
            .arg("--bind-address=0.0.0.0")
            .arg(format!("--advertise-address={}", crate::node::GATEWAY))
            .arg(format!(
                "--service-cluster-ip-range={}",
                crate::node::SERVICE_CIDR
            ))
            .arg("--endpoint-reconciler-type=lease")
            // The kubelet is `system:node:<name>` in `system:nodes`, as on EKS.
            .arg("--authorization-mode=Node,RBAC")
            // Logs and exec go to the kubelet at the address it reports, not its host name.
            .arg("--kubelet-preferred-address-types=InternalIP");
    } else {
        command
            .arg("--bind-address=127.0.0.1")
            .arg("--advertise-address=127.0.0.1")
            .arg("--authorization-mode=RBAC")
            .arg("--service-cluster-ip-range=10.0.0.0/24")
            // The `kubernetes` Service's endpoints would name the advertise address, and a
            // loopback one is refused since 1.37; nothing here routes to it anyway.
            .arg("--endpoint-reconciler-type=none");
    }
    if layout.audit {
        command
            .arg(format!(
                "--audit-policy-file={}",
                layout.audit_policy().display()
            ))
            .arg(format!("--audit-log-path={}", layout.audit_log().display()))
            .arg("--audit-log-format=json");
    }
    command
}

/// Starts kube-controller-manager against the API server on `apiserver_port`, as the static
/// user [`CONTROLLER_MANAGER_USER`] whose token is `token`. It serves nothing (secure port 0)
/// and needs no leader election; [`wait_controller_manager`] tells when it works.
pub(crate) fn start_controller_manager(
    binary: &Path,
    layout: &Layout,
    lifetime: Lifetime,
    apiserver_port: u16,
    token: &str,
) -> Result<Proc> {
    let server = format!("https://127.0.0.1:{apiserver_port}");
    let kubeconfig = layout.kubeconfig(CONTROLLER_MANAGER_USER);
    kubeconfig::write(
        &kubeconfig,
        &kubeconfig::render(&server, CONTROLLER_MANAGER_USER, token, None)?,
    )?;
    let key = layout.service_account_key();
    let mut controllers = CONTROLLERS.to_vec();
    if layout.node_network {
        // Takes the not-ready taint off a node once its kubelet reports Ready, so the scheduler
        // places Pods there.
        controllers.push(NODE_LIFECYCLE_CONTROLLER);
    }
    let mut command = Command::new(binary);
    command
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("--secure-port=0")
        .arg("--leader-elect=false")
        .arg("--use-service-account-credentials=true")
        .arg(format!(
            "--service-account-private-key-file={}",
            key.display()
        ))
        .arg(format!(
            "--root-ca-file={}",
            layout.serving_certificate().display()
        ))
        .arg(format!("--controllers={}", controllers.join(",")))
        // Namespaces and garbage go at once, not after the 30 s default sync.
        .arg("--concurrent-namespace-syncs=5")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    Proc::spawn(
        "kube-controller-manager",
        command,
        &layout.controller_manager_log(),
        lifetime,
    )
}

/// Waits until kube-controller-manager's controllers act: the service-account controller has
/// made the `default` service account of the `default` namespace.
pub(crate) async fn wait_controller_manager(
    manager: &mut Proc,
    admin: &kube::Client,
    timeout: Duration,
) -> Result<()> {
    use k8s_openapi::api::core::v1::ServiceAccount;
    let accounts: kube::Api<ServiceAccount> = kube::Api::namespaced(admin.clone(), "default");
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = manager.exited() {
            return Err(manager.exit_error(status));
        }
        let last = match accounts.get_opt("default").await {
            Ok(Some(_)) => return Ok(()),
            Ok(None) => "no service account default/default yet".to_string(),
            Err(error) => error.to_string(),
        };
        if Instant::now() >= deadline {
            bail!(
                "kube-controller-manager did not act within {timeout:?} ({last}); last lines of its log:\n{}",
                manager.log_tail()
            );
        }
        tokio::time::sleep(READY_POLL_INTERVAL).await;
    }
}

async fn wait_apiserver_ready(
    apiserver: &mut Proc,
    port: u16,
    admin_token: &str,
    timeout: Duration,
) -> Result<()> {
    let server = format!("https://127.0.0.1:{port}");
    let mut config =
        kubeconfig::config(&kubeconfig::render(&server, "admin", admin_token, None)?).await?;
    config.connect_timeout = Some(PROBE_TIMEOUT);
    config.read_timeout = Some(PROBE_TIMEOUT);
    let client = kube::Client::try_from(config).context("building the readiness client")?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = apiserver.exited() {
            return Err(apiserver.exit_error(status));
        }
        let request = http::Request::get("/readyz").body(Vec::new())?;
        let last = match client.request_text(request).await {
            Ok(_) => return Ok(()),
            Err(error) => error.to_string(),
        };
        if Instant::now() >= deadline {
            bail!(
                "kube-apiserver was not ready within {timeout:?} (last /readyz: {last}); last lines of its log:\n{}",
                apiserver.log_tail()
            );
        }
        tokio::time::sleep(READY_POLL_INTERVAL).await;
    }
}
