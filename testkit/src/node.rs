//! A real node for a test control plane, with the programs an EKS node runs: containerd 2 with
//! runc, the CNI `bridge` and `host-local` plugins, and kubelet, kube-proxy (iptables mode) and
//! kube-scheduler of the control plane's Kubernetes release (all built by [`crate::gotools`]).
//!
//! ```no_run
//! # async fn demo(app: Vec<u8>) -> anyhow::Result<()> {
//! use testkit::oci::{Entry, Image, Layout};
//! let cp = testkit::ControlPlane::builder().node_network().start().await?;
//! let node = testkit::node::Node::start(&cp).await?;     // Ready, schedulable
//! let image = Image::for_host()
//!     .layer(vec![Entry::file("app", 0o755, app)])
//!     .entrypoint(["/app"]);
//! node.import_image(&Layout::new("testkit.local/app:1").image(image)).await?;
//! // … Pods with `image: testkit.local/app:1` and `imagePullPolicy: Never` …
//! node.stop().await?;                                     // or drop it
//! # Ok(()) }
//! ```
//!
//! The network exists once per machine (the control plane's builder takes a machine-wide lock
//! for it): Pods get addresses from [`POD_CIDR`] on the bridge [`BRIDGE`], whose address
//! [`GATEWAY`] is also the node's InternalIP and the API server's advertised address; Services
//! get addresses from [`SERVICE_CIDR`], where kube-proxy's iptables rules send the
//! `kubernetes` Service to the API server. Nothing else on the machine uses these ranges.
//!
//! No image can be pulled from a public registry here, so the Pod sandbox image
//! ([`PAUSE_IMAGE`]) is ours: testkit's `pause` program in an image [`crate::oci`] writes,
//! imported into containerd before the kubelet starts. Tests bring their images the same way
//! ([`Node::import_image`]); containerd also reads `hosts.toml` files from
//! [`Node::registry_config_dir`], so a plain-HTTP registry on 127.0.0.1 can be used
//! ([`Node::allow_plain_http_registry`]).
//!
//! Needs Linux, root, `ip`, `iptables` and `mount` on the `PATH`. The kubelet runs with
//! `failCgroupV1: false` and the cgroupfs driver (no systemd needed); tested on a cgroup v1
//! hierarchy.
//!
//! [`Node::stop`] (or dropping the node) stops every program, kills what containerd's shims
//! left running, unmounts what the kubelet and containerd mounted under the node's folder,
//! removes the bridge, kube-proxy's and the kubelet's iptables chains and the kubelet's
//! cgroups. Hold a node in a local, not a `static` (a static is never dropped, and the shims
//! and containers would outlive the test process until the next node's start sweeps them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Node as NodeObject, Pod};
use kube::api::{Api, DeleteParams, ListParams};

use crate::control_plane::ControlPlane;
use crate::gotools::{self, find_in_path};
use crate::process::{self, Lifetime, Proc};
use crate::{oci, reaper, wait};

/// The node's name, and the kubelet's identity is `system:node:<this>`.
pub const NODE_NAME: &str = "testkit-node";
/// The static user the kubelet authenticates as (group `system:nodes`: the Node authorizer).
pub const KUBELET_USER: &str = "system:node:testkit-node";
const NODES_GROUP: &str = "system:nodes";
/// The user RBAC's built-in `system:kube-scheduler` binding names.
const SCHEDULER_USER: &str = "system:kube-scheduler";
/// The user RBAC's built-in `system:node-proxier` binding names.
const PROXY_USER: &str = "system:kube-proxy";
/// The Pods' addresses (host-local IPAM on [`BRIDGE`]).
pub const POD_CIDR: &str = "10.213.0.0/24";
/// The bridge's address: the Pods' default gateway, the node's InternalIP and the address the
/// API server advertises.
pub const GATEWAY: &str = "10.213.0.1";
/// The prefix length of [`POD_CIDR`].
const POD_PREFIX: u8 = 24;
/// The Services' cluster IPs; the `kubernetes` Service is the first, 10.213.128.1.
pub const SERVICE_CIDR: &str = "10.213.128.0/24";
/// The Linux bridge the Pods' veths are attached to.
pub const BRIDGE: &str = "testkit0";
/// The sandbox image of every Pod: testkit's `pause` program (see [`gotools::PAUSE`]).
pub const PAUSE_IMAGE: &str = "testkit.local/pause:1";
/// The containerd namespace the CRI plugin keeps Kubernetes' images and containers in.
const CRI_NAMESPACE: &str = "k8s.io";
/// The cgroup the kubelet puts Pods under (cgroupfs driver, `cgroupsPerQOS`), in every
/// hierarchy.
const PODS_CGROUP: &str = "kubepods";
/// How long the node may take from start to Ready with its Service rules in place.
pub const READY_TIMEOUT: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_millis(500);
/// How long [`Node::stop`] waits for the kubelet to tear the node's Pods down.
const POD_TEARDOWN_TIMEOUT: Duration = Duration::from_secs(60);
/// The variable `cargo xtask test` marks every process of a run with (see xtask's main.rs).
const RUN_MARKER_ENV: &str = "BEDROCK_OPERATOR_TEST_RUN";
/// How long a `ctr` or `ip` command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// The static users a control plane with a node network adds: `(name, groups)`.
pub(crate) fn static_users() -> Vec<(String, Vec<String>)> {
    vec![
        (KUBELET_USER.to_string(), vec![NODES_GROUP.to_string()]),
        (SCHEDULER_USER.to_string(), Vec::new()),
        (PROXY_USER.to_string(), Vec::new()),
    ]
}

/// Takes the machine-wide lock of the node network (waits while another test holds it).
pub(crate) async fn lock_machine() -> Result<std::fs::File> {
    tokio::task::spawn_blocking(|| {
        let root = reaper::temp_root();
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let path = root.join("node-network.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(file)
    })
    .await
    .context("the node-network lock task panicked")?
}

/// Paths of the node's programs.
#[derive(Debug, Clone)]
struct Programs {
    kubelet: PathBuf,
    kube_proxy: PathBuf,
    kube_scheduler: PathBuf,
    containerd_bin: PathBuf,
    runc: PathBuf,
    cni_bin: PathBuf,
    pause: PathBuf,
}

impl Programs {
    fn ensure() -> Result<Self> {
        let kubernetes = gotools::KUBERNETES_NEWEST.ensure()?;
        Ok(Self {
            kubelet: kubernetes.join("kubelet"),
            kube_proxy: kubernetes.join("kube-proxy"),
            kube_scheduler: kubernetes.join("kube-scheduler"),
            containerd_bin: gotools::CONTAINERD.ensure()?,
            runc: gotools::RUNC.ensure()?.join("runc"),
            cni_bin: gotools::CNI_PLUGINS.ensure()?,
            pause: gotools::PAUSE.ensure()?.join("pause"),
        })
    }

    fn ctr(&self) -> PathBuf {
        self.containerd_bin.join("ctr")
    }

    /// The environment of the node's programs: only `PATH`, with containerd's folder first
    /// (containerd finds its shim there), and the test run's marker, which the shims inherit
    /// from containerd, so `cargo xtask test` sees any that outlive the suite.
    fn environment(&self, command: &mut Command) {
        let mut dirs = vec![self.containerd_bin.clone()];
        if let Some(system) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&system));
        }
        command
            .env_clear()
            .env("PATH", std::env::join_paths(dirs).unwrap_or_default());
        if let Some(marker) = std::env::var_os(RUN_MARKER_ENV) {
            command.env(RUN_MARKER_ENV, marker);
        }
    }
}

/// The files of a node, under `<control plane dir>/node`.
#[derive(Debug, Clone)]
struct NodeLayout {
    dir: PathBuf,
}

impl NodeLayout {
    fn containerd_dir(&self) -> PathBuf {
        self.dir.join("containerd")
    }
    fn containerd_socket(&self) -> PathBuf {
        self.containerd_dir().join("containerd.sock")
    }
    fn containerd_config(&self) -> PathBuf {
        self.containerd_dir().join("config.toml")
    }
    fn registry_config_dir(&self) -> PathBuf {
        self.containerd_dir().join("certs.d")
    }
    fn cni_conf_dir(&self) -> PathBuf {
        self.dir.join("cni").join("net.d")
    }
    fn ipam_dir(&self) -> PathBuf {
        self.dir.join("cni").join("ipam")
    }
    fn kubelet_dir(&self) -> PathBuf {
        self.dir.join("kubelet")
    }
    fn pod_logs_dir(&self) -> PathBuf {
        self.dir.join("pod-logs")
    }
    fn images_dir(&self) -> PathBuf {
        self.dir.join("images")
    }
    fn log(&self, program: &str) -> PathBuf {
        self.dir.join(format!("{program}.log"))
    }
}

/// A node registered with a control plane, Ready and schedulable: see the module docs.
pub struct Node {
    layout: NodeLayout,
    programs: Programs,
    admin: kube::Client,
    /// In stop order: the programs that talk to the API server first, containerd last.
    processes: Vec<Proc>,
    torn_down: bool,
}

impl Node {
    /// Starts containerd, the kubelet, kube-scheduler and kube-proxy against `plane` (started
    /// with [`crate::ControlPlaneBuilder::node_network`]) and waits until the node is Ready,
    /// schedulable, and kube-proxy sends the `kubernetes` Service to the API server.
    pub async fn start(plane: &ControlPlane) -> Result<Self> {
        if !plane.has_node_network() {
            bail!(
                "a node needs a control plane started with ControlPlane::builder().node_network()"
            );
        }
        // The kubelet may not be newer than the API server; only the newest release has one.
        let node_minor = gotools::KUBERNETES_NEWEST
            .kubernetes_version()
            .and_then(|v| v.split('.').nth(1))
            .and_then(|m| m.parse::<u32>().ok());
        if let Some(apiserver) = plane.apiserver_minor()
            && node_minor.is_some_and(|node| node > apiserver)
        {
            bail!(
                "the node's kubelet is Kubernetes {} but the API server is 1.{apiserver}: a node needs the newest release (TESTKIT_KUBERNETES=newest)",
                gotools::KUBERNETES_NEWEST
                    .kubernetes_version()
                    .unwrap_or("?")
            );
        }
        for tool in ["ip", "iptables", "mount"] {
            if find_in_path(tool).is_none() {
                bail!(
                    "testkit's node needs `{tool}` on the PATH (Debian: apt-get install iproute2 iptables mount)"
                );
            }
        }
        let programs = tokio::task::spawn_blocking(Programs::ensure)
            .await
            .context("the build task panicked")??;
        // The plane holds the machine's node-network lock: whatever Pods, shims and mounts of
        // testkit's nodes exist now belong to a test process that was killed before its node
        // could clean up.
        sweep_leftovers();
        let layout = NodeLayout {
            dir: plane.dir().join("node"),
        };
        for dir in [
            layout.containerd_dir(),
            layout.registry_config_dir(),
            layout.cni_conf_dir(),
            layout.ipam_dir(),
            layout.kubelet_dir(),
            layout.pod_logs_dir(),
            layout.images_dir(),
        ] {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut node = Self {
            layout,
            programs,
            admin: plane.client(),
            processes: Vec::new(),
            torn_down: false,
        };
        // From here on a failure tears down what was set up (Drop).
        node.start_inner(plane).await?;
        Ok(node)
    }

    async fn start_inner(&mut self, plane: &ControlPlane) -> Result<()> {
        let started = std::time::Instant::now();
        create_bridge()?;
        std::fs::write(
            self.layout.cni_conf_dir().join("10-testkit.conflist"),
            cni_config(&self.layout.ipam_dir()),
        )
        .context("writing the CNI configuration")?;
        std::fs::write(
            self.layout.containerd_config(),
            containerd_config(&self.layout, &self.programs),
        )
        .context("writing containerd's configuration")?;

        let mut command = Command::new(self.programs.containerd_bin.join("containerd"));
        command.arg("--config").arg(self.layout.containerd_config());
        self.programs.environment(&mut command);
        let containerd = Proc::spawn(
            "containerd",
            command,
            &self.layout.log("containerd"),
            Lifetime::Supervised,
        )?;
        self.processes.push(containerd);
        self.wait_containerd().await?;

        let pause = oci::Layout::new(PAUSE_IMAGE).image(
            oci::Image::for_host()
                .layer(vec![oci::Entry::file(
                    "pause",
                    0o755,
                    std::fs::read(&self.programs.pause)
                        .with_context(|| format!("reading {}", self.programs.pause.display()))?,
                )])
                .entrypoint(["/pause"])
                .user("65535:65535"),
        );
        self.import_image(&pause).await?;

        let kubelet = self.start_kubelet(plane)?;
        self.processes.insert(0, kubelet);
        let scheduler = self.start_scheduler(plane)?;
        self.processes.insert(0, scheduler);
        let proxy = self.start_proxy(plane)?;
        self.processes.insert(0, proxy);

        self.wait_ready().await?;
        tracing::info!(
            node = NODE_NAME,
            dir = %self.layout.dir.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "node ready"
        );
        Ok(())
    }

    /// The node's folder: the programs' logs (`containerd.log`, `kubelet.log`,
    /// `kube-scheduler.log`, `kube-proxy.log`), their state and the Pods' logs.
    pub fn dir(&self) -> &Path {
        &self.layout.dir
    }

    /// Where containerd reads per-registry `hosts.toml` files (`<host:port>/hosts.toml`), e.g.
    /// for a plain-HTTP registry on 127.0.0.1.
    pub fn registry_config_dir(&self) -> PathBuf {
        self.layout.registry_config_dir()
    }

    /// Lets containerd pull from a plain-HTTP registry at `host_port` (e.g. `127.0.0.1:5000`):
    /// writes `<host_port>/hosts.toml` under [`Node::registry_config_dir`]. containerd reads it
    /// at each pull, so this works while the node runs.
    pub fn allow_plain_http_registry(&self, host_port: &str) -> Result<()> {
        let dir = self.layout.registry_config_dir().join(host_port);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("hosts.toml");
        std::fs::write(&path, plain_http_hosts_toml(host_port))
            .with_context(|| format!("writing {}", path.display()))
    }

    /// containerd's socket (for `ctr --address` or `crictl`).
    pub fn containerd_socket(&self) -> PathBuf {
        self.layout.containerd_socket()
    }

    /// Writes `image` as an OCI archive and imports it into containerd's Kubernetes namespace,
    /// unpacked, so Pods can use it under its name (with `imagePullPolicy: Never` or
    /// `IfNotPresent`).
    pub async fn import_image(&self, image: &oci::Layout) -> Result<oci::Written> {
        let tar = self
            .layout
            .images_dir()
            .join(format!("{}.tar", process::random_hex(8)?));
        let written = image.write_tar(&tar)?;
        let mut command = Command::new(self.programs.ctr());
        command
            .arg("--address")
            .arg(self.layout.containerd_socket())
            .args(["--namespace", CRI_NAMESPACE, "images", "import"])
            .arg("--platform")
            .arg(format!("linux/{}", oci::host_architecture()))
            .arg(&tar);
        run(command, "ctr images import").await?;
        let _ = std::fs::remove_file(&tar);
        tracing::debug!(image = %written.name, digest = %written.digest, "imported into containerd");
        Ok(written)
    }

    async fn wait_containerd(&mut self) -> Result<()> {
        let socket = self.layout.containerd_socket();
        let ctr = self.programs.ctr();
        let containerd = &mut self.processes[0];
        wait::until(
            "containerd to answer on its socket",
            READY_TIMEOUT,
            POLL,
            async || {
                if let Some(status) = containerd.exited() {
                    return Err(containerd.exit_error(status));
                }
                if !socket.exists() {
                    return Ok(None);
                }
                let mut command = Command::new(&ctr);
                command.arg("--address").arg(&socket).arg("version");
                Ok(run(command, "ctr version").await.ok().map(|_| ()))
            },
        )
        .await
        .with_context(|| {
            format!(
                "last lines of containerd's log:\n{}",
                self.processes[0].log_tail()
            )
        })
    }

    fn start_kubelet(&self, plane: &ControlPlane) -> Result<Proc> {
        let dir = self.layout.kubelet_dir();
        let config = dir.join("config.yaml");
        let resolv_conf = dir.join("resolv.conf");
        // No DNS server runs for the Pods; an empty resolv.conf keeps the host's out of them.
        std::fs::write(&resolv_conf, "# testkit's node: no DNS\n")
            .with_context(|| format!("writing {}", resolv_conf.display()))?;
        let port = process::free_port()?;
        let healthz_port = process::free_port()?;
        std::fs::write(
            &config,
            kubelet_config(&self.layout, &resolv_conf, port, healthz_port)?,
        )
        .with_context(|| format!("writing {}", config.display()))?;
        let mut command = Command::new(&self.programs.kubelet);
        command
            .arg(format!("--config={}", config.display()))
            .arg(format!(
                "--kubeconfig={}",
                plane.kubeconfig_for_user(KUBELET_USER)?.display()
            ))
            .arg(format!("--root-dir={}", dir.join("root").display()))
            .arg(format!("--cert-dir={}", dir.join("pki").display()))
            .arg(format!("--hostname-override={NODE_NAME}"))
            .arg(format!("--node-ip={GATEWAY}"))
            .arg("--v=2");
        self.programs.environment(&mut command);
        Proc::spawn(
            "kubelet",
            command,
            &self.layout.log("kubelet"),
            Lifetime::Supervised,
        )
    }

    fn start_scheduler(&self, plane: &ControlPlane) -> Result<Proc> {
        let mut command = Command::new(&self.programs.kube_scheduler);
        command
            .arg(format!(
                "--kubeconfig={}",
                plane.kubeconfig_for_user(SCHEDULER_USER)?.display()
            ))
            .arg("--leader-elect=false")
            // Serves nothing: nobody scrapes it, and a fixed port would collide.
            .arg("--secure-port=0");
        self.programs.environment(&mut command);
        Proc::spawn(
            "kube-scheduler",
            command,
            &self.layout.log("kube-scheduler"),
            Lifetime::Supervised,
        )
    }

    fn start_proxy(&self, plane: &ControlPlane) -> Result<Proc> {
        let mut command = Command::new(&self.programs.kube_proxy);
        command
            .arg(format!(
                "--kubeconfig={}",
                plane.kubeconfig_for_user(PROXY_USER)?.display()
            ))
            .arg("--proxy-mode=iptables")
            .arg(format!("--cluster-cidr={POD_CIDR}"))
            .arg(format!("--hostname-override={NODE_NAME}"))
            .arg(format!(
                "--healthz-bind-address=127.0.0.1:{}",
                process::free_port()?
            ))
            .arg(format!(
                "--metrics-bind-address=127.0.0.1:{}",
                process::free_port()?
            ))
            // Leave the machine's conntrack settings alone (a VM may not allow changing them).
            .arg("--conntrack-max-per-core=0")
            .arg("--conntrack-tcp-timeout-established=0")
            .arg("--conntrack-tcp-timeout-close-wait=0")
            .arg("--v=2");
        self.programs.environment(&mut command);
        Proc::spawn(
            "kube-proxy",
            command,
            &self.layout.log("kube-proxy"),
            Lifetime::Supervised,
        )
    }

    /// Waits until the Node is Ready without the not-ready taint and kube-proxy has written the
    /// `kubernetes` Service's rules; fails at once when one of the programs exits.
    async fn wait_ready(&mut self) -> Result<()> {
        let nodes: Api<NodeObject> = Api::all(self.admin.clone());
        let processes = &mut self.processes;
        let mut last = String::from("no Node object yet");
        let result = wait::until(
            format!("node {NODE_NAME} to become Ready and schedulable"),
            READY_TIMEOUT,
            POLL,
            async || {
                for process in processes.iter_mut() {
                    if let Some(status) = process.exited() {
                        return Err(process.exit_error(status));
                    }
                }
                let Some(node) = nodes.get_opt(NODE_NAME).await? else {
                    return Ok(None);
                };
                let ready = node
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                    .map(|c| format!("{} ({})", c.status, c.message.clone().unwrap_or_default()));
                let taints: Vec<String> = node
                    .spec
                    .as_ref()
                    .and_then(|s| s.taints.as_ref())
                    .map(|t| t.iter().map(|t| t.key.clone()).collect())
                    .unwrap_or_default();
                let rules = kubernetes_service_rules().unwrap_or(false);
                last = format!(
                    "Ready: {}, taints: {taints:?}, kubernetes Service rules: {rules}",
                    ready.as_deref().unwrap_or("unknown")
                );
                Ok((ready.as_deref().is_some_and(|r| r.starts_with("True"))
                    && taints.is_empty()
                    && rules)
                    .then_some(()))
            },
        )
        .await;
        result.with_context(|| {
            let mut tails = format!("last seen: {last}");
            for process in &self.processes {
                tails.push_str(&format!(
                    "\n--- last lines of {}'s log:\n{}",
                    process.name(),
                    process.log_tail()
                ));
            }
            tails
        })
    }

    /// Deletes every Pod on the node and waits until the kubelet has torn them down (their
    /// containers, network namespaces and IP addresses), then stops everything as dropping does.
    pub async fn stop(mut self) -> Result<()> {
        let result = self.delete_pods().await;
        self.teardown();
        result
    }

    async fn delete_pods(&self) -> Result<()> {
        // Cordoned first, as `kubectl drain` does: the Pods that controllers make in place of
        // the deleted ones (a Deployment's) stay Pending instead of starting here.
        let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(self.admin.clone());
        nodes
            .patch(
                NODE_NAME,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(serde_json::json!({ "spec": { "unschedulable": true } })),
            )
            .await
            .context("cordoning the node")?;
        let pods: Api<Pod> = Api::all(self.admin.clone());
        let on_node = ListParams::default().fields(&format!("spec.nodeName={NODE_NAME}"));
        // The kubelet stops a deleted Pod's containers and sandbox (which releases its network)
        // at once; it removes them only at its next garbage collection, a minute later. No
        // running task is what matters. Pods bound before the cordon may still appear: each
        // round deletes what is on the node.
        let ctr = self.programs.ctr();
        let socket = self.layout.containerd_socket();
        let mut running = String::new();
        wait::until(
            "the kubelet to stop the node's Pods",
            POD_TEARDOWN_TIMEOUT,
            POLL,
            async || {
                let mut deleted = 0;
                for pod in pods
                    .list(&on_node)
                    .await
                    .context("listing the node's Pods")?
                {
                    let (Some(name), Some(namespace)) = (pod.metadata.name, pod.metadata.namespace)
                    else {
                        continue;
                    };
                    if pod.metadata.deletion_timestamp.is_some() {
                        continue;
                    }
                    let api: Api<Pod> = Api::namespaced(self.admin.clone(), &namespace);
                    match api
                        .delete(&name, &DeleteParams::default().grace_period(0))
                        .await
                    {
                        Ok(_) => deleted += 1,
                        Err(kube::Error::Api(status)) if status.is_not_found() => {}
                        Err(error) => {
                            return Err(error)
                                .with_context(|| format!("deleting Pod {namespace}/{name}"));
                        }
                    }
                }
                let mut command = Command::new(&ctr);
                command.arg("--address").arg(&socket).args([
                    "--namespace",
                    CRI_NAMESPACE,
                    "tasks",
                    "list",
                    "--quiet",
                ]);
                running = run(command, "ctr tasks list").await?;
                Ok((deleted == 0 && running.trim().is_empty()).then_some(()))
            },
        )
        .await
        .with_context(|| format!("still running: {}", running.trim()))
    }

    /// Stops everything, in an order that leaves nothing behind; safe to call twice.
    fn teardown(&mut self) {
        if self.torn_down {
            return;
        }
        self.torn_down = true;
        // kube-proxy, kube-scheduler and the kubelet first: nothing recreates a container after.
        // containerd, started first, is last in the list.
        let containerd = self.processes.pop();
        for process in &mut self.processes {
            process.stop(process::STOP_GRACE);
        }
        // The shims daemonize out of containerd's process group; kill them and the containers
        // (everything in the kubelet's Pod cgroups).
        kill_pod_processes();
        kill_shims(&self.layout.containerd_socket());
        if let Some(mut containerd) = containerd {
            containerd.stop(process::STOP_GRACE);
        }
        unmount_under(&self.layout.dir);
        let mut cleanup = Command::new(&self.programs.kube_proxy);
        cleanup.arg("--cleanup").arg("--proxy-mode=iptables");
        match cleanup.output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => tracing::warn!(
                stderr = %String::from_utf8_lossy(&output.stderr),
                "kube-proxy --cleanup failed"
            ),
            Err(error) => tracing::warn!(%error, "could not run kube-proxy --cleanup"),
        }
        remove_kubelet_chains();
        delete_bridge();
        remove_pod_cgroups();
        if crate::control_plane::env_flag(crate::KEEP_TEMP) {
            tracing::info!(dir = %self.layout.dir.display(), "kept the node's dir");
        } else if let Err(error) = std::fs::remove_dir_all(&self.layout.dir) {
            tracing::warn!(dir = %self.layout.dir.display(), %error, "could not remove the node's dir");
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Runs a short command to completion; its stdout, or an error quoting its stderr.
async fn run(mut command: Command, what: &str) -> Result<String> {
    command.stdin(std::process::Stdio::null());
    let what = what.to_string();
    let output = tokio::time::timeout(
        COMMAND_TIMEOUT,
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .with_context(|| format!("{what} took longer than {COMMAND_TIMEOUT:?}"))?
    .context("the command task panicked")?
    .with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `ip` with these arguments; an error quotes its stderr.
fn ip(args: &[&str]) -> Result<()> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .context("running ip")?;
    if !output.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Creates [`BRIDGE`] with [`GATEWAY`], replacing one a killed test left behind.
fn create_bridge() -> Result<()> {
    delete_bridge();
    ip(&["link", "add", BRIDGE, "type", "bridge"])?;
    ip(&[
        "addr",
        "add",
        &format!("{GATEWAY}/{POD_PREFIX}"),
        "dev",
        BRIDGE,
    ])?;
    ip(&["link", "set", BRIDGE, "up"])
}

fn delete_bridge() {
    let exists = Path::new("/sys/class/net").join(BRIDGE).exists();
    if exists && let Err(error) = ip(&["link", "delete", BRIDGE]) {
        tracing::warn!(%error, "could not delete the node's bridge");
    }
}

/// The chains the kubelet keeps in every table, which `kube-proxy --cleanup` leaves: the
/// canaries it watches to notice a flush, the hint telling iptables-wrapper which backend is in
/// use, and the firewall against martian packets to 127.0.0.1 (with the jumps to it).
const KUBELET_IPTABLES: &[(&str, &[&str])] = &[
    ("filter", &["-D", "INPUT", "-j", "KUBE-FIREWALL"]),
    ("filter", &["-D", "OUTPUT", "-j", "KUBE-FIREWALL"]),
    ("filter", &["-F", "KUBE-FIREWALL"]),
    ("filter", &["-X", "KUBE-FIREWALL"]),
    ("filter", &["-X", "KUBE-KUBELET-CANARY"]),
    ("nat", &["-X", "KUBE-KUBELET-CANARY"]),
    ("mangle", &["-X", "KUBE-KUBELET-CANARY"]),
    ("mangle", &["-X", "KUBE-IPTABLES-HINT"]),
];

/// Removes [`KUBELET_IPTABLES`] (IPv4 and IPv6); missing ones are fine.
fn remove_kubelet_chains() {
    for program in ["iptables", "ip6tables"] {
        for (table, args) in KUBELET_IPTABLES {
            // A rule or chain that is not there fails the command; nothing to do then.
            let _ = Command::new(program)
                .args(["-w", "-t", table])
                .args(*args)
                .stderr(std::process::Stdio::null())
                .output();
        }
    }
}

/// The `KUBE-*` and `CNI-*` chains of every table (IPv4 and IPv6): empty once a node has
/// cleaned up after itself.
pub fn leftover_chains() -> Result<Vec<String>> {
    let mut chains = Vec::new();
    for program in ["iptables-save", "ip6tables-save"] {
        let output = Command::new(program)
            .output()
            .with_context(|| format!("running {program}"))?;
        let mut table = "";
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix('*') {
                table = name;
            } else if let Some(chain) = line.strip_prefix(':')
                && (chain.starts_with("KUBE-") || chain.starts_with("CNI-"))
            {
                let name = chain.split_whitespace().next().unwrap_or(chain);
                chains.push(format!("{program} {table} {name}"));
            }
        }
    }
    Ok(chains)
}

/// Whether kube-proxy has written the `kubernetes` Service's iptables rules.
fn kubernetes_service_rules() -> Result<bool> {
    let output = Command::new("iptables")
        .args(["-w", "-t", "nat", "-S", "KUBE-SERVICES"])
        .output()
        .context("running iptables")?;
    Ok(output.status.success()
        && String::from_utf8_lossy(&output.stdout).contains("default/kubernetes:https"))
}

/// The CNI network: a bridge with host-local addresses, and portmap for `hostPort`s.
fn cni_config(ipam_dir: &Path) -> String {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "testkit",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isDefaultGateway": true,
                // Pods only talk to each other and to the host; nothing to masquerade.
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{ "subnet": POD_CIDR, "gateway": GATEWAY }]],
                    "dataDir": ipam_dir,
                }
            },
            { "type": "portmap", "capabilities": { "portMappings": true } }
        ]
    })
    .to_string()
}

/// containerd 2's configuration (version 3): everything under the node's folder, the CRI
/// plugin with our sandbox image, runc, our CNI plugins, and per-registry `hosts.toml` files.
fn containerd_config(layout: &NodeLayout, programs: &Programs) -> String {
    let dir = layout.containerd_dir();
    let quote = |path: &Path| toml_string(&path.display().to_string());
    format!(
        r#"version = 3
root = {root}
state = {state}
# The NRI socket would be a fixed path outside the node's folder; nothing here uses NRI.
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = {socket}

[ttrpc]
  address = {ttrpc}

[plugins.'io.containerd.internal.v1.opt']
  path = {opt}

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = {pause}
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = {registry}

[plugins.'io.containerd.cri.v1.runtime']
  # Network namespaces under the node's folder, not /var/run/netns.
  netns_mounts_under_state_dir = true
  # Lowering an OOM score needs CAP_SYS_RESOURCE, which some machines (Firecracker VMs among
  # them) withhold even from root; the kubelet's -998 for sandboxes would fail every Pod.
  restrict_oom_score_adj = true
  enable_cdi = false
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = {runc}
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [{cni_bin}]
    conf_dir = {cni_conf}
    max_conf_num = 1

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"#,
        root = quote(&dir.join("root")),
        state = quote(&dir.join("state")),
        socket = quote(&layout.containerd_socket()),
        ttrpc = quote(&dir.join("containerd.ttrpc.sock")),
        opt = quote(&dir.join("opt")),
        pause = toml_string(PAUSE_IMAGE),
        registry = quote(&layout.registry_config_dir()),
        runc = quote(&programs.runc),
        cni_bin = quote(&programs.cni_bin),
        cni_conf = quote(&layout.cni_conf_dir()),
    )
}

/// containerd's `hosts.toml` for a registry served over plain HTTP.
fn plain_http_hosts_toml(host_port: &str) -> String {
    let url = toml_string(&format!("http://{host_port}"));
    format!("server = {url}\n\n[host.{url}]\n  capabilities = [\"pull\", \"resolve\"]\n")
}

/// Cleans up after a node whose test process was killed: kills the processes left in the
/// kubelet's Pod cgroups and testkit's containerd shims, and unmounts what is still mounted in
/// the folders of dead test processes (so the next control plane can remove them).
fn sweep_leftovers() {
    kill_pod_processes();
    let root = reaper::temp_root();
    kill_shims(&root);
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    for entry in entries.flatten() {
        let owner = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix("cp-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if owner.is_some_and(|pid| !process::is_running(pid)) {
            unmount_under(&entry.path());
        }
    }
}

/// A TOML basic string (JSON's escaping is a subset TOML accepts).
fn toml_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// The kubelet's configuration for a shared test machine.
fn kubelet_config(
    layout: &NodeLayout,
    resolv_conf: &Path,
    port: u16,
    healthz_port: u16,
) -> Result<String> {
    let eviction: BTreeMap<&str, &str> = [
        // A test machine runs many things; evict only when the node is truly out of room.
        ("memory.available", "50Mi"),
        ("nodefs.available", "1%"),
        ("nodefs.inodesFree", "1%"),
        ("imagefs.available", "1%"),
    ]
    .into();
    let config = serde_json::json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        // The test machines have a cgroup v1 hierarchy; 1.35+ refuses it unless told.
        "failCgroupV1": false,
        // No systemd runs here.
        "cgroupDriver": "cgroupfs",
        "cgroupsPerQOS": true,
        "failSwapOn": false,
        "containerRuntimeEndpoint": format!("unix://{}", layout.containerd_socket().display()),
        "address": GATEWAY,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        // The API server reaches the kubelet for logs and exec without a client certificate.
        "authentication": {
            "anonymous": { "enabled": true },
            "webhook": { "enabled": false },
        },
        "authorization": { "mode": "AlwaysAllow" },
        "podCIDR": POD_CIDR,
        "resolvConf": resolv_conf,
        "clusterDomain": "cluster.local",
        "podLogsDir": layout.pod_logs_dir(),
        "volumePluginDir": layout.kubelet_dir().join("volume-plugins"),
        "evictionHard": eviction,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": false,
        "maxPods": 32,
        // Report status changes quickly (tests wait on them).
        "nodeStatusUpdateFrequency": "2s",
        "syncFrequency": "10s",
        "enforceNodeAllocatable": ["pods"],
    });
    serde_json::to_string_pretty(&config).context("serialising the kubelet configuration")
}

/// The controller hierarchies of the machine's cgroup v1 mounts (and the v2 one, if any).
fn cgroup_mounts() -> Vec<PathBuf> {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return Vec::new();
    };
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _source = fields.next()?;
            let target = fields.next()?;
            let kind = fields.next()?;
            (kind == "cgroup" || kind == "cgroup2").then(|| PathBuf::from(target))
        })
        .collect()
}

/// SIGKILLs every process in the kubelet's Pod cgroups (the containers and their sandboxes).
fn kill_pod_processes() {
    for mount in cgroup_mounts() {
        let root = mount.join(PODS_CGROUP);
        for dir in walk_dirs(&root) {
            let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) else {
                continue;
            };
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// Stops the containerd shims whose command line names a path under `under` (their containerd's
/// socket).
fn kill_shims(under: &Path) {
    let needle = under.display().to_string();
    for pid in process::pids() {
        let Some(cmdline) = process::cmdline(pid) else {
            continue;
        };
        if cmdline.contains("containerd-shim") && cmdline.contains(&needle) {
            process::stop_foreign(pid, Duration::from_secs(2));
        }
    }
}

/// Every folder under `root`, deepest first.
fn walk_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
        found.push(dir);
    }
    found.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    found
}

/// Removes the kubelet's Pod cgroups (empty once their processes are gone).
fn remove_pod_cgroups() {
    for mount in cgroup_mounts() {
        let root = mount.join(PODS_CGROUP);
        if !root.exists() {
            continue;
        }
        for dir in walk_dirs(&root) {
            // A cgroup goes away with rmdir once empty; its files are not real files.
            let mut removed = std::fs::remove_dir(&dir).is_ok();
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            while !removed && dir.exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
                removed = std::fs::remove_dir(&dir).is_ok();
            }
            if !removed && dir.exists() {
                tracing::warn!(cgroup = %dir.display(), "could not remove a Pod cgroup");
            }
        }
    }
}

/// Unmounts every mount point under `dir` (deepest first; lazily, so a busy one goes once
/// free).
fn unmount_under(dir: &Path) {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split_whitespace().nth(4))
        .map(unescape_mount_path)
        .filter(|point| point.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    for point in points {
        let Ok(path) = std::ffi::CString::new(point.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        // SAFETY: umount2 reads a NUL-terminated path that outlives the call.
        let result = unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        if result != 0 {
            tracing::warn!(mount = %point.display(), error = %std::io::Error::last_os_error(), "could not unmount");
        }
    }
}

/// mountinfo escapes spaces, tabs, newlines and backslashes as `\ooo`.
fn unescape_mount_path(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && let Ok(value) = u8::from_str_radix(&field[i + 1..i + 4], 8)
        {
            out.push(value);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_unescaped() {
        let cases = [
            ("/tmp/a", "/tmp/a"),
            ("/tmp/with\\040space", "/tmp/with space"),
            ("/tmp/back\\134slash", "/tmp/back\\slash"),
            ("/tmp/end\\04", "/tmp/end\\04"),
        ];
        for (field, path) in cases {
            assert_eq!(unescape_mount_path(field), PathBuf::from(path), "{field}");
        }
    }

    #[test]
    fn the_network_ranges_hold_their_addresses() {
        assert!(GATEWAY.starts_with("10.213.0."));
        assert_eq!(POD_CIDR, format!("10.213.0.0/{POD_PREFIX}"));
        assert!(!SERVICE_CIDR.starts_with("10.213.0."));
    }

    #[test]
    fn configurations_parse() {
        let layout = NodeLayout {
            dir: PathBuf::from("/tmp/node with space"),
        };
        let programs = Programs {
            kubelet: "/k".into(),
            kube_proxy: "/p".into(),
            kube_scheduler: "/s".into(),
            containerd_bin: "/c".into(),
            runc: "/r".into(),
            cni_bin: "/cni".into(),
            pause: "/pause".into(),
        };
        let cni: serde_json::Value =
            serde_json::from_str(&cni_config(&layout.ipam_dir())).expect("json");
        assert_eq!(cni["plugins"][0]["bridge"], BRIDGE);
        let kubelet: serde_json::Value = serde_json::from_str(
            &kubelet_config(&layout, Path::new("/r.conf"), 1, 2).expect("config"),
        )
        .expect("json");
        assert_eq!(kubelet["failCgroupV1"], false);
        assert_eq!(kubelet["cgroupDriver"], "cgroupfs");
        let toml = containerd_config(&layout, &programs);
        assert!(
            toml.contains(r#"root = "/tmp/node with space/containerd/root""#),
            "{toml}"
        );
        assert!(toml.contains(r#"sandbox = "testkit.local/pause:1""#));
    }

    #[test]
    fn a_plain_http_registry_gets_an_http_server_entry() {
        assert_eq!(
            plain_http_hosts_toml("127.0.0.1:5000"),
            "server = \"http://127.0.0.1:5000\"\n\n[host.\"http://127.0.0.1:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        );
    }
}
