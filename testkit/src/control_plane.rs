//! [`ControlPlane`]: a kube-apiserver + etcd owned by a test, or an existing cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::AuthInfo;

use crate::binaries::{self, Binaries};
use crate::process::{self, Lifetime, Proc};
use crate::servers::{self, Layout, StaticUser};
use crate::{audit, crds, kubeconfig, reaper};

/// Environment variable: `true` makes [`ControlPlane::start`] use the current kubeconfig instead
/// of starting servers (the envtest convention).
pub const USE_EXISTING_CLUSTER: &str = "USE_EXISTING_CLUSTER";
/// Environment variable: `true` keeps a control plane's temp dir (logs, etcd data) after it stops.
pub const KEEP_TEMP: &str = "TESTKIT_KEEP_TEMP";

/// How long etcd and kube-apiserver may take to become ready, unless the builder says otherwise.
/// A start takes 5-10 s on an idle machine; parallel builds on 2 cores can triple that.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(90);
/// Lifetime of the tokens minted for service accounts.
const SERVICE_ACCOUNT_TOKEN_SECONDS: i64 = 24 * 60 * 60;
const ADMIN_USER: &str = "admin";
const ADMIN_GROUP: &str = "system:masters";
/// Label put on namespaces made by [`ControlPlane::create_namespace`].
pub const NAMESPACE_LABEL: &str = "testkit.bedrock-operator.io/owned";

/// A Kubernetes API to test against: kube-apiserver, kube-controller-manager and etcd started
/// for this guard (the release `TESTKIT_KUBERNETES` names, see [`crate::binaries`]), or,
/// with `USE_EXISTING_CLUSTER=true`, the cluster of the current kubeconfig.
///
/// Dropping the guard stops the processes (SIGTERM, then SIGKILL after 5 s) and removes the temp
/// dir, also when the test panics. The processes are also killed by the kernel if the test
/// process dies without dropping the guard (PR_SET_PDEATHSIG), and a guard kept in a `static`
/// is cleaned up when the process exits.
///
/// ```no_run
/// # async fn demo() -> anyhow::Result<()> {
/// let cp = testkit::ControlPlane::builder().user("alice", &["devs"]).start().await?;
/// let namespace = cp.create_namespace("demo").await?;
/// let alice = cp.client_for_user("alice")?;
/// # Ok(()) }
/// ```
pub struct ControlPlane {
    admin: kube::Config,
    admin_kubeconfig: PathBuf,
    /// Where service-account kubeconfigs go.
    scratch: PathBuf,
    backend: Backend,
}

enum Backend {
    Local(Box<Local>),
    Existing { _scratch: tempfile::TempDir },
}

struct Local {
    reaper_id: u64,
    layout: Layout,
    keep_dir: bool,
    binaries: Binaries,
    start_timeout: Duration,
    admin_token: String,
    etcd_port: u16,
    apiserver_port: u16,
    // Field order is drop order: the controller-manager goes before the apiserver it talks to,
    // the apiserver before the etcd it writes to.
    controller_manager: Option<Proc>,
    apiserver: Mutex<Proc>,
    etcd: Proc,
    users: BTreeMap<String, UserAccess>,
    /// Held while a control plane with a node network lives: the network's addresses, bridge
    /// and kube-proxy's rules exist once per machine.
    _node_network_lock: Option<std::fs::File>,
}

struct UserAccess {
    kubeconfig: PathBuf,
    config: kube::Config,
}

/// Configures a [`ControlPlane`] before it starts.
#[derive(Debug, Clone)]
#[must_use]
pub struct ControlPlaneBuilder {
    users: Vec<(String, Vec<String>)>,
    start_timeout: Duration,
    node_network: bool,
    audit_log: bool,
}

impl ControlPlaneBuilder {
    /// Adds a static-token user with these groups. It has no RBAC rights until a test grants them.
    pub fn user(mut self, name: &str, groups: &[&str]) -> Self {
        self.users.push((
            name.to_string(),
            groups.iter().map(|g| g.to_string()).collect(),
        ));
        self
    }

    /// Sets the control plane up for a [`crate::node::Node`]: the API server listens on every
    /// address and advertises [`crate::node::GATEWAY`] (Pods reach the host there, not at
    /// 127.0.0.1), Services get addresses from [`crate::node::SERVICE_CIDR`], the `kubernetes`
    /// Service gets endpoints, nodes are authorized by the Node authorizer, the
    /// node-lifecycle controller runs, and the node's programs get static users
    /// ([`crate::node::KUBELET_USER`], `system:kube-scheduler`, `system:kube-proxy`).
    ///
    /// Only one such control plane runs on a machine at a time (its addresses are fixed):
    /// `start` waits for a lock that the one before holds until it is dropped.
    pub fn node_network(mut self) -> Self {
        self.node_network = true;
        self
    }

    /// Has the API server write an audit log: each request, who made it (with the Pod of a
    /// projected ServiceAccount token) and the answer, at `Metadata` level (see
    /// [`crate::audit`]). Read it with [`ControlPlane::audit_events`] or
    /// [`ControlPlane::refused_requests`].
    pub fn audit_log(mut self) -> Self {
        self.audit_log = true;
        self
    }

    /// How long etcd and kube-apiserver may each take to become ready (default 90 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Starts the servers (or connects to the existing cluster, see [`USE_EXISTING_CLUSTER`]).
    pub async fn start(self) -> Result<ControlPlane> {
        if use_existing_cluster() {
            return ControlPlane::existing().await;
        }
        let node_network_lock = if self.node_network {
            Some(crate::node::lock_machine().await?)
        } else {
            None
        };
        let started = Instant::now();
        let binaries = binaries::locate().await?;
        let dir = reaper::create_dir()?;
        let keep_dir = env_flag(KEEP_TEMP);
        // Until the guard exists, a failure must not leave the dir behind.
        let mut dir_guard = DirGuard {
            dir: dir.clone(),
            keep: keep_dir,
        };
        let mut layout = Layout::new(&dir);
        layout.node_network = self.node_network;
        layout.audit = self.audit_log;

        let admin_token = process::random_hex(24)?;
        let manager_token = process::random_hex(24)?;
        let mut static_users = vec![
            StaticUser {
                name: ADMIN_USER.into(),
                groups: vec![ADMIN_GROUP.into()],
                token: admin_token.clone(),
            },
            StaticUser {
                name: servers::CONTROLLER_MANAGER_USER.into(),
                groups: Vec::new(),
                token: manager_token.clone(),
            },
        ];
        let mut users = self.users.clone();
        if self.node_network {
            users.extend(crate::node::static_users());
        }
        for (name, groups) in &users {
            if name == ADMIN_USER || static_users.iter().any(|u| &u.name == name) {
                bail!("static user {name:?} is defined twice");
            }
            static_users.push(StaticUser {
                name: name.clone(),
                groups: groups.clone(),
                token: process::random_hex(24)?,
            });
        }
        layout.prepare(&static_users)?;

        let lifetime = Lifetime::Supervised;
        let (etcd, etcd_port) =
            servers::start_etcd(&binaries, &layout, lifetime, self.start_timeout).await?;
        let (apiserver, apiserver_port) = servers::start_apiserver(
            &binaries,
            &layout,
            lifetime,
            etcd_port,
            None,
            &admin_token,
            self.start_timeout,
        )
        .await?;

        let server = format!("https://127.0.0.1:{apiserver_port}");
        let mut users = BTreeMap::new();
        let mut admin = None;
        for user in static_users
            .iter()
            .filter(|u| u.name != servers::CONTROLLER_MANAGER_USER)
        {
            let yaml = kubeconfig::render(&server, &user.name, &user.token, None)?;
            let path = layout.kubeconfig(&user.name);
            kubeconfig::write(&path, &yaml)?;
            let access = UserAccess {
                kubeconfig: path,
                config: kubeconfig::config(&yaml).await?,
            };
            if user.name == ADMIN_USER {
                admin = Some(access);
            } else {
                users.insert(user.name.clone(), access);
            }
        }
        let admin = admin.context("the admin user is missing")?;

        let controller_manager = match &binaries.kube_controller_manager {
            Some(binary) => {
                let mut manager = servers::start_controller_manager(
                    binary,
                    &layout,
                    lifetime,
                    apiserver_port,
                    &manager_token,
                )?;
                servers::wait_controller_manager(
                    &mut manager,
                    &client_from(admin.config.clone()),
                    self.start_timeout,
                )
                .await?;
                Some(manager)
            }
            None => {
                tracing::warn!(
                    "no kube-controller-manager: namespaces will not finish deleting and nothing is garbage-collected"
                );
                None
            }
        };

        let mut pids = vec![apiserver.pid(), etcd.pid()];
        pids.extend(controller_manager.as_ref().map(Proc::pid));
        let reaper_id = reaper::register(pids, &dir, keep_dir);
        // The guard below owns the dir from here on.
        dir_guard.keep = true;
        tracing::info!(
            server = %server,
            dir = %dir.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "control plane ready"
        );
        Ok(ControlPlane {
            admin: admin.config,
            admin_kubeconfig: admin.kubeconfig,
            scratch: dir.clone(),
            backend: Backend::Local(Box::new(Local {
                reaper_id,
                layout,
                keep_dir,
                binaries,
                start_timeout: self.start_timeout,
                admin_token,
                etcd_port,
                apiserver_port,
                controller_manager,
                apiserver: Mutex::new(apiserver),
                etcd,
                users,
                _node_network_lock: node_network_lock,
            })),
        })
    }
}

/// Removes a half-built control plane's dir when its start fails.
struct DirGuard {
    dir: PathBuf,
    keep: bool,
}

impl Drop for DirGuard {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub(crate) fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

fn use_existing_cluster() -> bool {
    env_flag(USE_EXISTING_CLUSTER)
}

impl ControlPlane {
    /// Starts a control plane with only the admin identity.
    pub async fn start() -> Result<Self> {
        Self::builder().start().await
    }

    /// A builder, to add static users or change the start timeout.
    pub fn builder() -> ControlPlaneBuilder {
        ControlPlaneBuilder {
            users: Vec::new(),
            start_timeout: DEFAULT_START_TIMEOUT,
            node_network: false,
            audit_log: false,
        }
    }

    async fn existing() -> Result<Self> {
        let admin = kube::Config::infer().await.context(
            "USE_EXISTING_CLUSTER=true but no kubeconfig or in-cluster config was found",
        )?;
        let admin_kubeconfig = std::env::var_os("KUBECONFIG")
            .and_then(|paths| std::env::split_paths(&paths).next())
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
            })
            .context("cannot tell where the current kubeconfig is (set KUBECONFIG)")?;
        let scratch = tempfile::Builder::new()
            .prefix("bedrock-testkit-existing-")
            .tempdir()
            .context("creating a temp dir")?;
        // Fail here, not in a later `client()`, when the kubeconfig's TLS material is unusable.
        kube::Client::try_from(admin.clone())
            .context("building a client from the current kubeconfig")?;
        tracing::info!(server = %admin.cluster_url, "using the existing cluster");
        Ok(Self {
            admin,
            admin_kubeconfig,
            scratch: scratch.path().to_path_buf(),
            backend: Backend::Existing { _scratch: scratch },
        })
    }

    fn local(&self) -> Result<&Local> {
        match &self.backend {
            Backend::Local(local) => Ok(local),
            Backend::Existing { .. } => Err(anyhow!(
                "not available with {USE_EXISTING_CLUSTER}=true: this needs a control plane started by testkit"
            )),
        }
    }

    /// Whether this guard runs its own servers (false with `USE_EXISTING_CLUSTER=true`).
    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local(_))
    }

    /// A client acting as cluster admin (group `system:masters`).
    ///
    /// Each call builds a new client: a client is bound to the tokio runtime it was built on, and
    /// every `#[tokio::test]` has its own. Panics outside a tokio runtime.
    pub fn client(&self) -> kube::Client {
        client_from(self.admin.clone())
    }

    /// The admin kubeconfig (token, `insecure-skip-tls-verify`) for tools such as kubectl or
    /// Helm; with `USE_EXISTING_CLUSTER=true`, the current kubeconfig.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.admin_kubeconfig
    }

    /// The API server's URL, e.g. `https://127.0.0.1:40123`.
    pub fn server_url(&self) -> String {
        self.admin
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string()
    }

    /// The client configuration of the admin, to derive other clients from.
    pub fn admin_config(&self) -> kube::Config {
        self.admin.clone()
    }

    /// A client for a static user added with [`ControlPlaneBuilder::user`].
    pub fn client_for_user(&self, name: &str) -> Result<kube::Client> {
        Ok(client_from(self.user(name)?.config.clone()))
    }

    /// The kubeconfig file of a static user added with [`ControlPlaneBuilder::user`].
    pub fn kubeconfig_for_user(&self, name: &str) -> Result<&Path> {
        Ok(&self.user(name)?.kubeconfig)
    }

    fn user(&self, name: &str) -> Result<&UserAccess> {
        self.local()?.users.get(name).with_context(|| {
            format!("no static user {name:?}; add it with ControlPlane::builder().user(..)")
        })
    }

    /// A client that authenticates as admin and impersonates `user` in `groups` (no token or
    /// account needed; RBAC applies to the impersonated identity). Works on any cluster.
    pub fn impersonating_client(&self, user: &str, groups: &[&str]) -> kube::Client {
        let mut config = self.admin.clone();
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups = if groups.is_empty() {
            None
        } else {
            Some(groups.iter().map(|g| g.to_string()).collect())
        };
        client_from(config)
    }

    /// A client that authenticates with a real token of service account `namespace/name`,
    /// minted by the TokenRequest API. Creates the service account if it does not exist (no
    /// controller-manager runs, so nothing else would).
    pub async fn service_account_client(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<kube::Client> {
        let token = self.service_account_token(namespace, name).await?;
        let mut config = self.admin.clone();
        config.auth_info = token_auth(&token)?;
        config.default_namespace = namespace.to_string();
        Ok(client_from(config))
    }

    /// A kubeconfig file for service account `namespace/name` (see
    /// [`ControlPlane::service_account_client`]), with `namespace` as its default namespace.
    pub async fn service_account_kubeconfig(&self, namespace: &str, name: &str) -> Result<PathBuf> {
        let token = self.service_account_token(namespace, name).await?;
        let user = format!("system:serviceaccount:{namespace}:{name}");
        let yaml = kubeconfig::render(&self.server_url(), &user, &token, Some(namespace))?;
        let path = self
            .scratch
            .join(format!("sa-{namespace}-{name}.kubeconfig"));
        kubeconfig::write(&path, &yaml)?;
        Ok(path)
    }

    async fn service_account_token(&self, namespace: &str, name: &str) -> Result<String> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client(), namespace);
        let account = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        match accounts.create(&PostParams::default(), &account).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.is_already_exists() => {}
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("creating service account {namespace}/{name}"));
            }
        }
        let request = TokenRequest {
            spec: TokenRequestSpec {
                expiration_seconds: Some(SERVICE_ACCOUNT_TOKEN_SECONDS),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let answer = accounts
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .with_context(|| {
                format!("requesting a token for service account {namespace}/{name}")
            })?;
        answer
            .status
            .map(|s| s.token)
            .filter(|t| !t.is_empty())
            .with_context(|| format!("the TokenRequest for {namespace}/{name} returned no token"))
    }

    /// Installs CRDs unchanged by server-side apply (as Helm 4 does) and waits until they are
    /// Established.
    pub async fn install_crds(&self, crds: &[CustomResourceDefinition]) -> Result<()> {
        crds::install(&self.client(), crds).await
    }

    /// [`ControlPlane::install_crds`] for YAML text (one or more `---`-separated documents).
    pub async fn install_crds_yaml(&self, yaml: &str) -> Result<()> {
        let crds = crds::parse_yaml(yaml)?;
        self.install_crds(&crds).await
    }

    /// Creates a namespace with a unique name starting with `prefix` and returns the name.
    /// kube-controller-manager finalises namespaces when they are deleted, so a test may delete
    /// its namespace (and wait for it to go) to see what users see.
    /// do not need to delete them.
    pub async fn create_namespace(&self, prefix: &str) -> Result<String> {
        let namespaces: Api<Namespace> = Api::all(self.client());
        let namespace = Namespace {
            metadata: ObjectMeta {
                generate_name: Some(format!("{prefix}-")),
                labels: Some([(NAMESPACE_LABEL.to_string(), "true".to_string())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let created = namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("creating a namespace named {prefix}-…"))?;
        created
            .metadata
            .name
            .context("the created namespace has no name")
    }

    /// The raw text of the API server's `/metrics` (Prometheus format), read as admin.
    pub async fn apiserver_metrics_text(&self) -> Result<String> {
        let request = http::Request::get("/metrics").body(Vec::new())?;
        self.client()
            .request_text(request)
            .await
            .context("reading the apiserver's /metrics")
    }

    /// Stops kube-apiserver and starts it again on the same port against the same etcd (the
    /// stored objects survive), then waits for `/readyz`. Clients made earlier keep working.
    pub async fn restart_apiserver(&self) -> Result<()> {
        self.stop_apiserver()?;
        self.start_apiserver().await
    }

    /// Stops kube-apiserver (SIGTERM, then SIGKILL after the grace period): until
    /// [`Self::start_apiserver`], every request to it is refused.
    pub fn stop_apiserver(&self) -> Result<()> {
        let local = self.local()?;
        let mut apiserver = local
            .apiserver
            .lock()
            .map_err(|_| anyhow!("apiserver lock poisoned"))?;
        apiserver.stop(process::STOP_GRACE);
        tracing::info!(pid = apiserver.pid(), "kube-apiserver stopped");
        Ok(())
    }

    /// Starts kube-apiserver again on its port against the same etcd, after
    /// [`Self::stop_apiserver`], and waits for `/readyz`.
    pub async fn start_apiserver(&self) -> Result<()> {
        let local = self.local()?;
        let (apiserver, _) = servers::start_apiserver(
            &local.binaries,
            &local.layout,
            Lifetime::Supervised,
            local.etcd_port,
            Some(local.apiserver_port),
            &local.admin_token,
            local.start_timeout,
        )
        .await
        .context("starting kube-apiserver again")?;
        let new_pid = apiserver.pid();
        *local
            .apiserver
            .lock()
            .map_err(|_| anyhow!("apiserver lock poisoned"))? = apiserver;
        let mut pids = vec![new_pid, local.etcd.pid()];
        pids.extend(local.controller_manager.as_ref().map(Proc::pid));
        reaper::update(local.reaper_id, pids);
        tracing::info!(new_pid, "kube-apiserver started again");
        Ok(())
    }

    /// The pids of etcd, kube-apiserver and kube-controller-manager (empty for an existing
    /// cluster).
    pub fn pids(&self) -> Vec<u32> {
        match &self.backend {
            Backend::Local(local) => {
                let mut pids = vec![local.etcd.pid()];
                if let Ok(apiserver) = local.apiserver.lock() {
                    pids.push(apiserver.pid());
                }
                pids.extend(local.controller_manager.as_ref().map(Proc::pid));
                pids
            }
            Backend::Existing { .. } => Vec::new(),
        }
    }

    /// Every request the API server's audit log holds so far, in the order it answered them
    /// (the control plane was started with [`ControlPlaneBuilder::audit_log`]).
    pub fn audit_events(&self) -> Result<Vec<audit::AuditEvent>> {
        let local = self.local()?;
        if !local.layout.audit {
            bail!("no audit log: start the control plane with ControlPlane::builder().audit_log()");
        }
        audit::read(&local.layout.audit_log())
    }

    /// The requests of `user` (e.g. `system:serviceaccount:NS:NAME`) that the API server refused
    /// (401 or 403), from its audit log: also those of programs that are gone.
    pub fn refused_requests(&self, user: &str) -> Result<Vec<audit::AuditEvent>> {
        Ok(audit::refused_by(&self.audit_events()?, user))
    }

    /// Whether the control plane was started with [`ControlPlaneBuilder::node_network`].
    pub fn has_node_network(&self) -> bool {
        matches!(&self.backend, Backend::Local(local) if local.layout.node_network)
    }

    /// The minor version of the API server (37 for 1.37.2), when testkit runs it.
    pub(crate) fn apiserver_minor(&self) -> Option<u32> {
        match &self.backend {
            Backend::Local(local) => Some(local.binaries.apiserver_minor),
            Backend::Existing { .. } => None,
        }
    }

    /// The folder holding logs (`etcd.log`, `kube-apiserver.log`, `kube-apiserver-audit.log`),
    /// etcd data and kubeconfigs.
    /// It is removed on drop unless `TESTKIT_KEEP_TEMP=true`.
    pub fn dir(&self) -> &Path {
        &self.scratch
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(manager) = self.controller_manager.as_mut() {
            manager.stop(process::STOP_GRACE);
        }
        if let Ok(apiserver) = self.apiserver.get_mut() {
            apiserver.stop(process::STOP_GRACE);
        }
        self.etcd.stop(process::STOP_GRACE);
        reaper::forget(self.reaper_id);
        if self.keep_dir {
            tracing::info!(dir = %self.layout.dir.display(), "kept the control plane's dir");
        } else if let Err(error) = std::fs::remove_dir_all(&self.layout.dir) {
            tracing::warn!(dir = %self.layout.dir.display(), %error, "could not remove the control plane's dir");
        }
    }
}

fn client_from(config: kube::Config) -> kube::Client {
    // Only fails for unusable TLS material; ours has none, and existing-cluster configs were
    // loaded by kube itself.
    kube::Client::try_from(config).expect("a client from a validated kube::Config")
}

/// Bearer-token credentials (AuthInfo keeps tokens in a secret type only its parser builds).
fn token_auth(token: &str) -> Result<AuthInfo> {
    serde_json::from_value(serde_json::json!({ "token": token }))
        .context("building token credentials")
}

static SHARED: tokio::sync::OnceCell<ControlPlane> = tokio::sync::OnceCell::const_new();

/// One control plane (admin only) shared by all tests of a test binary, started on first use.
/// It lives until the process exits; the processes and temp dir are cleaned up then. Tests that
/// share it must each work in their own namespace ([`ControlPlane::create_namespace`]) and must
/// not restart it.
pub async fn shared() -> Result<&'static ControlPlane> {
    SHARED.get_or_try_init(ControlPlane::start).await
}
