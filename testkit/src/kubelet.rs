//! A stand-in kubelet, for a test that needs a Deployment to become available on a control plane
//! that has neither a scheduler nor a kubelet (`helm install --wait` waits for exactly that).
//!
//! [`Kubelet::start`] registers a Ready [`Node`] and then, for the Pods of one namespace:
//!
//! - binds every pending Pod of the default scheduler to that Node through the `binding`
//!   subresource, as the scheduler would;
//! - "runs" each Pod bound to it by starting a local process the test supplies in place of the
//!   container (a [`Launcher`]), with the container's environment resolved (values and the
//!   downward API), a kubeconfig holding a token of the Pod's ServiceAccount bound to the Pod
//!   (as the kubelet's projected token is), and each container port mapped to a free loopback
//!   port;
//! - reports the Pod Running through the `status` subresource, and Ready only while the process
//!   answers the container's `readinessProbe` (`httpGet` path and port) with a 2xx/3xx: a Pod is
//!   available only once the real program behind it is;
//! - on a Pod's deletion, sends the process SIGTERM, gives it the Pod's grace period, then
//!   removes the Pod (a delete with grace period 0, as the kubelet does once its containers are
//!   gone).
//!
//! The kube-controller-manager's Deployment and ReplicaSet controllers do the rest (Pods, rolling
//! updates, availability). What it does not do: images (the test decides what runs), restarts,
//! liveness probes, volumes, init containers and Pods of more than one container, node affinity
//! and taints, resource accounting, Node heartbeats (no node-lifecycle controller runs to miss
//! them). It probes every [`PROBE_INTERVAL`] rather than every
//! `periodSeconds`, and polls the namespace's Pods every [`SYNC_INTERVAL`] rather than watching
//! them: both keep tests quick and the code small.
//!
//! Each Pod's output goes to `<control plane dir>/pods/<namespace>_<pod>.log`
//! ([`Kubelet::logs`]). Dropping the [`Kubelet`] stops its processes (SIGTERM, SIGKILL after a
//! few seconds); like every testkit child they also die with the test process.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Container, Node, Pod, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::{Value, json};

use crate::ControlPlane;
use crate::kubeconfig;
use crate::process::{self, Lifetime, Proc};

/// How often the Pods of the namespace are listed.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);
/// How often a running Pod's readiness probe is tried.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// The longest one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a process gets after SIGTERM when the Pod gives no grace period, and the cap on
/// the ones Pods give (a test should not wait 45 s for a process that ignores SIGTERM).
const MAX_STOP_GRACE: Duration = Duration::from_secs(10);
/// Lifetime of the Pods' ServiceAccount tokens (the kubelet's default projected token is an
/// hour, refreshed; tests are shorter than that).
const TOKEN_SECONDS: i64 = 60 * 60;
const DEFAULT_SCHEDULER: &str = "default-scheduler";

/// What the [`Launcher`] gets for the one container of a bound Pod.
#[derive(Debug)]
pub struct PodRun<'a> {
    pub pod: &'a Pod,
    pub container: &'a Container,
    /// The container's `env`, resolved: plain values and the downward API fields
    /// `metadata.name`, `metadata.namespace`, `metadata.uid`, `spec.serviceAccountName`,
    /// `spec.nodeName`, `status.podIP`, `status.hostIP`.
    pub env: Vec<(String, String)>,
    /// A kubeconfig (for `KUBECONFIG`) with a token of the Pod's ServiceAccount, bound to the Pod.
    pub kubeconfig: PathBuf,
    /// Each `containerPort` → the loopback port the process must listen on instead.
    pub ports: BTreeMap<i32, u16>,
}

/// Builds the command that stands in for a Pod's container. The kubelet spawns it (stdin
/// closed, output to the Pod's log, killed with the test process); an error keeps the Pod from
/// starting and shows in its container status as `CreateContainerError`.
pub type Launcher = dyn Fn(&PodRun<'_>) -> Result<std::process::Command> + Send + Sync;

/// A running stand-in kubelet; see the module documentation.
pub struct Kubelet {
    node: String,
    namespace: String,
    pods_dir: PathBuf,
    processes: Processes,
    task: tokio::task::JoinHandle<()>,
}

/// The processes standing in for Pods, by Pod UID.
type Processes = Arc<Mutex<BTreeMap<String, RunningPod>>>;

struct RunningPod {
    name: String,
    process: Proc,
}

impl Kubelet {
    /// Registers the Ready Node `node` and starts serving the Pods of `namespace`.
    pub async fn start<F>(
        plane: &ControlPlane,
        node: &str,
        namespace: &str,
        launcher: F,
    ) -> Result<Self>
    where
        F: Fn(&PodRun<'_>) -> Result<std::process::Command> + Send + Sync + 'static,
    {
        let client = plane.client();
        register_node(&client, node).await?;
        let pods_dir = plane.dir().join("pods");
        std::fs::create_dir_all(&pods_dir)
            .with_context(|| format!("creating {}", pods_dir.display()))?;
        let processes = Processes::default();
        let context = Arc::new(Shared {
            pods: Api::namespaced(client.clone(), namespace),
            accounts: Api::namespaced(client, namespace),
            server: plane.server_url(),
            node: node.to_string(),
            pods_dir: pods_dir.clone(),
            launcher: Box::new(launcher),
            processes: processes.clone(),
        });
        let task = tokio::spawn(sync_loop(context));
        tracing::info!(node, namespace, "stand-in kubelet started");
        Ok(Self {
            node: node.to_string(),
            namespace: namespace.to_string(),
            pods_dir,
            processes,
            task,
        })
    }

    /// The Node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The names of the Pods whose processes run now.
    pub fn running_pods(&self) -> Vec<String> {
        lock(&self.processes)
            .values_mut()
            .filter_map(|running| {
                let alive = running.process.exited().is_none();
                alive.then(|| running.name.clone())
            })
            .collect()
    }

    /// What the process of Pod `name` wrote so far (empty when it never ran).
    pub fn logs(&self, name: &str) -> String {
        std::fs::read_to_string(log_path(&self.pods_dir, &self.namespace, name)).unwrap_or_default()
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.task.abort();
        let running = std::mem::take(&mut *lock(&self.processes));
        for (_, mut pod) in running {
            pod.process.stop(process::STOP_GRACE);
        }
    }
}

fn lock(processes: &Processes) -> std::sync::MutexGuard<'_, BTreeMap<String, RunningPod>> {
    // A panic while holding the lock leaves the map usable; never propagate the poison.
    processes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn log_path(pods_dir: &Path, namespace: &str, pod: &str) -> PathBuf {
    pods_dir.join(format!("{namespace}_{pod}.log"))
}

/// What the sync loop and the Pod tasks share.
struct Shared {
    pods: Api<Pod>,
    accounts: Api<ServiceAccount>,
    server: String,
    node: String,
    pods_dir: PathBuf,
    launcher: Box<Launcher>,
    processes: Processes,
}

async fn register_node(client: &kube::Client, name: &str) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
            },
        },
    }))?;
    match nodes.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.is_already_exists() => {}
        Err(error) => return Err(error).with_context(|| format!("registering node {name}")),
    }
    let now = Time(Timestamp::now());
    let status = json!({
        "status": {
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "KubeletReady",
                "message": "testkit's stand-in kubelet is posting ready status",
                "lastHeartbeatTime": now, "lastTransitionTime": now,
            }],
            "addresses": [
                { "type": "InternalIP", "address": "127.0.0.1" },
                { "type": "Hostname", "address": name },
            ],
            "capacity": { "cpu": "2", "memory": "4Gi", "pods": "110" },
            "allocatable": { "cpu": "2", "memory": "4Gi", "pods": "110" },
        },
    });
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .with_context(|| format!("reporting node {name} Ready"))?;
    Ok(())
}

/// Lists the namespace's Pods and acts on each, until aborted.
async fn sync_loop(context: Arc<Shared>) {
    let mut state = SyncState::default();
    loop {
        match context.pods.list(&ListParams::default()).await {
            Ok(list) => state.sync(&context, list.items).await,
            Err(error) => tracing::warn!(%error, "listing pods failed"),
        }
        tokio::time::sleep(SYNC_INTERVAL).await;
    }
}

/// What the sync loop remembers between rounds.
#[derive(Default)]
struct SyncState {
    /// Per Pod UID, the task running the Pod or, once it is being deleted, stopping it.
    workers: BTreeMap<String, tokio::task::JoinHandle<()>>,
    /// Pods whose deletion is being carried out.
    stopping: BTreeSet<String>,
    /// Pod IPs are handed out from 10.88.0.0/16 (nothing routes to them: processes listen on
    /// loopback ports, see [`PodRun::ports`]).
    next_ip: u32,
}

/// The sync loop is dropped when the [`Kubelet`] aborts it: its workers go with it.
impl Drop for SyncState {
    fn drop(&mut self) {
        for task in self.workers.values() {
            task.abort();
        }
    }
}

impl SyncState {
    async fn sync(&mut self, context: &Arc<Shared>, pods: Vec<Pod>) {
        let present: BTreeSet<String> =
            pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        // Pods removed by someone else (a forced delete): their processes go too.
        self.workers.retain(|uid, task| {
            let keep = present.contains(uid);
            if !keep {
                task.abort();
                let processes = context.processes.clone();
                let uid = uid.clone();
                tokio::task::spawn_blocking(move || stop_process(&processes, &uid, MAX_STOP_GRACE));
            }
            keep
        });
        self.stopping.retain(|uid| present.contains(uid));
        for pod in pods {
            self.sync_pod(context, pod).await;
        }
    }

    async fn sync_pod(&mut self, context: &Arc<Shared>, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        let name = pod.metadata.name.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let ours = spec.node_name.as_deref() == Some(context.node.as_str());
        if pod.metadata.deletion_timestamp.is_some() {
            // (The API server deletes unbound Pods at once: only bound ones get here.)
            if ours && self.stopping.insert(uid.clone()) {
                if let Some(task) = self.workers.remove(&uid) {
                    task.abort();
                }
                let grace = pod
                    .metadata
                    .deletion_grace_period_seconds
                    .and_then(|s| u64::try_from(s).ok())
                    .map_or(MAX_STOP_GRACE, Duration::from_secs)
                    .min(MAX_STOP_GRACE);
                let task = tokio::spawn(terminate(context.clone(), name, uid.clone(), grace));
                self.workers.insert(uid, task);
            }
            return;
        }
        let scheduler = spec.scheduler_name.as_deref().unwrap_or(DEFAULT_SCHEDULER);
        if spec.node_name.is_none() && scheduler == DEFAULT_SCHEDULER {
            if let Err(error) = bind(context, &name).await {
                tracing::warn!(pod = %name, error = format!("{error:#}"), "binding failed");
            }
            return;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let finished = matches!(phase, Some("Succeeded" | "Failed"));
        if ours && !finished && !self.workers.contains_key(&uid) {
            let ip = format!("10.88.{}.{}", self.next_ip / 250, self.next_ip % 250 + 1);
            self.next_ip += 1;
            let task = tokio::spawn(run_pod(context.clone(), pod, ip));
            self.workers.insert(uid, task);
        }
    }
}

/// The scheduler's part: bind the Pod to our Node.
async fn bind(context: &Shared, pod: &str) -> Result<()> {
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": { "name": pod },
        "target": { "apiVersion": "v1", "kind": "Node", "name": context.node },
    });
    match context
        .pods
        .create_subresource::<_, Value>("binding", pod, &PostParams::default(), &binding)
        .await
    {
        Ok(_) => Ok(()),
        // Bound already (an earlier round's binding we have not listed yet).
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error).context("binding"),
    }
}

/// Starts the Pod's process, reports it Running, then keeps its readiness up to date until the
/// process exits or the task is aborted.
async fn run_pod(context: Arc<Shared>, pod: Pod, ip: String) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let started = Time(Timestamp::now());
    let probe = match start(&context, &pod, &ip).await {
        Ok(probe) => probe,
        Err(error) => {
            let message = format!("{error:#}");
            tracing::warn!(pod = %name, %message, "could not start the pod's process");
            let status = pod_status(&pod, &ip, &started, ContainerState::Waiting(message));
            report(&context, &name, status).await;
            return;
        }
    };
    let mut ready = None;
    loop {
        let exited = lock(&context.processes)
            .get_mut(&uid)
            .map(|running| running.process.exited());
        match exited {
            // Stopped for the Pod's deletion: `terminate` reports from here on.
            None => return,
            Some(Some(status)) => {
                tracing::warn!(pod = %name, %status, "the pod's process exited");
                let state = ContainerState::Terminated(status.code().unwrap_or(-1));
                report(&context, &name, pod_status(&pod, &ip, &started, state)).await;
                return;
            }
            Some(None) => {}
        }
        let now_ready = match &probe {
            Some((port, path)) => http_ok(*port, path).await,
            None => true,
        };
        if ready != Some(now_ready) {
            let state = ContainerState::Running { ready: now_ready };
            if report(&context, &name, pod_status(&pod, &ip, &started, state)).await {
                tracing::info!(pod = %name, ready = now_ready, "pod status reported");
                ready = Some(now_ready);
            }
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

/// Spawns the Pod's process; returns where its readiness probe goes (loopback port and path),
/// or `None` when the container has no readiness probe (ready once running).
async fn start(context: &Shared, pod: &Pod, ip: &str) -> Result<Option<(u16, String)>> {
    let name = pod.metadata.name.clone().context("a pod without a name")?;
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().context("a pod without a uid")?;
    let spec = pod.spec.as_ref().context("a pod without a spec")?;
    let container = match spec.containers.as_slice() {
        [one] => one,
        other => bail!(
            "the stand-in kubelet runs pods of one container; this one has {}",
            other.len()
        ),
    };
    let mut ports = BTreeMap::new();
    for port in container.ports.iter().flatten() {
        ports.insert(port.container_port, process::free_port()?);
    }
    let probe = match container.readiness_probe.as_ref() {
        None => None,
        Some(probe) => {
            let get = probe
                .http_get
                .as_ref()
                .context("only httpGet readiness probes are supported")?;
            let container_port = match &get.port {
                IntOrString::Int(port) => *port,
                IntOrString::String(named) => container
                    .ports
                    .iter()
                    .flatten()
                    .find(|p| p.name.as_deref() == Some(named.as_str()))
                    .map(|p| p.container_port)
                    .with_context(|| {
                        format!("the readiness probe's port {named:?} is not declared")
                    })?,
            };
            let port = *ports.get(&container_port).with_context(|| {
                format!("the readiness probe's port {container_port} is not declared")
            })?;
            Some((port, get.path.clone().unwrap_or_else(|| "/".into())))
        }
    };
    let env = resolve_env(pod, container, ip)?;
    let account = spec.service_account_name.as_deref().unwrap_or("default");
    let token = pod_token(context, account, &name, &uid).await?;
    let user = format!("system:serviceaccount:{namespace}:{account}");
    let kubeconfig = context
        .pods_dir
        .join(format!("{namespace}_{name}.kubeconfig"));
    kubeconfig::write(
        &kubeconfig,
        &kubeconfig::render(&context.server, &user, &token, Some(namespace.as_str()))?,
    )?;
    let run = PodRun {
        pod,
        container,
        env,
        kubeconfig,
        ports,
    };
    let command = (context.launcher)(&run).context("the launcher refused the pod")?;
    let process = Proc::spawn(
        "pod",
        command,
        &log_path(&context.pods_dir, &namespace, &name),
        Lifetime::Supervised,
    )?;
    tracing::info!(pod = %name, pid = process.pid(), "pod's process started");
    lock(&context.processes).insert(uid, RunningPod { name, process });
    Ok(probe)
}

/// A token of `account` bound to the Pod, as the kubelet projects into it: it stops working
/// once the Pod is gone.
async fn pod_token(context: &Shared, account: &str, pod: &str, uid: &str) -> Result<String> {
    let request = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds: Some(TOKEN_SECONDS),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod.into()),
                uid: Some(uid.into()),
            }),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let answer = context
        .accounts
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .with_context(|| format!("requesting a token of service account {account}"))?;
    answer
        .status
        .map(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow!("the TokenRequest for {account} returned no token"))
}

fn resolve_env(pod: &Pod, container: &Container, ip: &str) -> Result<Vec<(String, String)>> {
    let spec = pod.spec.as_ref();
    let mut env = Vec::new();
    for variable in container.env.iter().flatten() {
        let value = match (&variable.value, &variable.value_from) {
            (Some(value), _) => value.clone(),
            (None, None) => String::new(),
            (None, Some(from)) => {
                let field = from
                    .field_ref
                    .as_ref()
                    .map(|f| f.field_path.as_str())
                    .with_context(|| {
                        format!("{}: only fieldRef sources are supported", variable.name)
                    })?;
                match field {
                    "metadata.name" => pod.metadata.name.clone().unwrap_or_default(),
                    "metadata.namespace" => pod.metadata.namespace.clone().unwrap_or_default(),
                    "metadata.uid" => pod.metadata.uid.clone().unwrap_or_default(),
                    "spec.serviceAccountName" => spec
                        .and_then(|s| s.service_account_name.clone())
                        .unwrap_or_default(),
                    "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
                    "status.podIP" => ip.to_string(),
                    "status.hostIP" => "127.0.0.1".to_string(),
                    other => bail!("{}: unsupported fieldRef {other}", variable.name),
                }
            }
        };
        env.push((variable.name.clone(), value));
    }
    Ok(env)
}

/// The kubelet's side of a Pod's deletion: stop the process within the grace period, then
/// remove the Pod.
async fn terminate(context: Arc<Shared>, name: String, uid: String, grace: Duration) {
    let processes = context.processes.clone();
    let stopping = uid.clone();
    let _ = tokio::task::spawn_blocking(move || stop_process(&processes, &stopping, grace)).await;
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match context.pods.delete(&name, &params).await {
        Ok(_) => tracing::info!(pod = %name, "pod's process stopped, pod removed"),
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
        Err(error) => tracing::warn!(pod = %name, %error, "removing the pod failed"),
    }
}

/// SIGTERM, up to `grace`, SIGKILL (blocking).
fn stop_process(processes: &Processes, uid: &str, grace: Duration) {
    let running = lock(processes).remove(uid);
    if let Some(mut running) = running {
        running.process.stop(grace);
        tracing::info!(pod = %running.name, "pod's process stopped");
    }
}

enum ContainerState {
    Waiting(String),
    Running { ready: bool },
    Terminated(i32),
}

/// The status a kubelet would post for the Pod's one container in `state`.
fn pod_status(pod: &Pod, ip: &str, started: &Time, state: ContainerState) -> Value {
    let now = Time(Timestamp::now());
    let container = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .cloned()
        .unwrap_or_default();
    let (phase, ready, container_state) = match &state {
        ContainerState::Waiting(message) => (
            "Pending",
            false,
            json!({ "waiting": { "reason": "CreateContainerError", "message": message } }),
        ),
        ContainerState::Running { ready } => (
            "Running",
            *ready,
            json!({ "running": { "startedAt": started } }),
        ),
        ContainerState::Terminated(code) => (
            "Running",
            false,
            json!({ "terminated": {
                "exitCode": code, "reason": if *code == 0 { "Completed" } else { "Error" },
                "startedAt": started, "finishedAt": now,
            } }),
        ),
    };
    let running = matches!(state, ContainerState::Running { .. });
    let condition = |type_: &str, status: bool| json!({ "type": type_, "status": if status { "True" } else { "False" }, "lastTransitionTime": now });
    json!({
        "status": {
            "phase": phase,
            "hostIP": "127.0.0.1",
            "hostIPs": [{ "ip": "127.0.0.1" }],
            "podIP": ip,
            "podIPs": [{ "ip": ip }],
            "startTime": started,
            "conditions": [
                condition("PodReadyToStartContainers", true),
                condition("Initialized", true),
                condition("ContainersReady", ready),
                condition("Ready", ready),
                condition("PodScheduled", true),
            ],
            "containerStatuses": [{
                "name": container.name,
                "image": container.image.unwrap_or_default(),
                "imageID": "",
                "ready": ready,
                "started": running,
                "restartCount": 0,
                "state": container_state,
            }],
        },
    })
}

/// Posts a Pod status; false (and a warning) when the server refused it.
async fn report(context: &Shared, name: &str, status: Value) -> bool {
    match context
        .pods
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
    {
        Ok(_) => true,
        Err(error) => {
            tracing::warn!(pod = %name, %error, "reporting the pod's status failed");
            false
        }
    }
}

/// Whether `GET http://127.0.0.1:{port}{path}` answers 2xx or 3xx (the kubelet's success).
async fn http_ok(port: u16, path: &str) -> bool {
    let authority = format!("127.0.0.1:{port}");
    match tokio::time::timeout(PROBE_TIMEOUT, crate::http::get(&authority, path)).await {
        Ok(Ok((code, _))) => (200..400).contains(&code),
        _ => false,
    }
}
