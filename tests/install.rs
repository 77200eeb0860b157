//! The operator installed as users install it, on testkit's real node (containerd, runc, CNI,
//! kubelet, kube-scheduler, kube-proxy): the release image built and pushed by the release's
//! own command (`cargo xtask image --push`) to a real OCI registry, the chart pushed there as
//! `cargo xtask chart --push` does, `helm install oci://… --wait` with only the values a user
//! of a non-EKS cluster sets (the image repository, the region, static keys from a Secret, the
//! Bedrock endpoint), then the Pod and the operator in it as a user would check them: pulled
//! from the registry, running as uid 65532 on a read-only root filesystem, Ready by its probes
//! and never restarted, talking to the API server with its projected ServiceAccount token and
//! to Bedrock (the emulator, on the node's bridge) to bring one resource of each kind to Ready.
//!
//! Needs root, `ip` and `iptables`, as testkit's node does. The first run builds the production
//! profile (fat LTO) of the operator: 10 to 30 minutes on 2 cores; later runs reuse its target
//! folder (`CARGO_TARGET_TMPDIR/image-cargo`) and take a few minutes.

#[path = "../charts/tests/driver.rs"]
mod driver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bedrock_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Operation};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, LogParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use testkit::ControlPlane;
use testkit::node::{self, Node};
use testkit::registry::Registry;
use testkit::wait;

use driver::{ChartSource, Helm, workspace_root};

const RELEASE: &str = "bedrock-operator";
const REGION: &str = "us-east-1";
/// The Secret a user creates for the operator's static AWS keys (a cluster outside EKS has
/// no IRSA or Pod Identity).
const CREDENTIALS_SECRET: &str = "bedrock-operator-aws";
/// The image build of the first run compiles the production profile from nothing.
const IMAGE_BUILD_DEADLINE: Duration = Duration::from_secs(45 * 60);
const DEADLINE: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(250);
/// The image's user (xtask/src/image.rs `NONROOT`, the chart's `runAsUser`).
const NONROOT: u32 = 65532;

/// `cargo xtask ARGS` from the workspace root, its output in `log`: what a release runs.
async fn xtask(args: &[&str], log: &Path, deadline: Duration) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut command = tokio::process::Command::new(cargo);
    // As from a person's shell: without what cargo sets for a test binary (the package's
    // metadata, the dependencies' library path), which would make builds differ from theirs.
    for (name, _) in std::env::vars_os() {
        let name_text = name.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_BIN_EXE_",
            "CARGO_CRATE_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "LD_LIBRARY_PATH",
            "OUT_DIR",
        ]
        .iter()
        .any(|prefix| name_text.starts_with(prefix))
        {
            command.env_remove(&name);
        }
    }
    let mut child = command
        .current_dir(workspace_root())
        .arg("xtask")
        .args(args)
        .stdout(output.try_clone()?)
        .stderr(output)
        .kill_on_drop(true)
        .spawn()
        .context("starting cargo xtask")?;
    let status = tokio::time::timeout(deadline, child.wait())
        .await
        .with_context(|| format!("cargo xtask {args:?} did not finish within {deadline:?}"))??;
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        bail!(
            "cargo xtask {args:?} failed ({status}):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// The chart's `appVersion`: the image tag it deploys when the user sets none.
fn app_version() -> Result<String> {
    let path = workspace_root()
        .join(testkit::chart::CHART_DIR)
        .join("Chart.yaml");
    let chart: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path)?)
        .with_context(|| format!("parsing {}", path.display()))?;
    chart["appVersion"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("{} has no appVersion", path.display()))
}

/// The namespaced API of one of the operator's kinds.
fn custom_resources(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bedrock-operator.dev", "v1alpha1", kind),
        plural,
    );
    Api::namespaced_with(client.clone(), namespace, &resource)
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The operator process of the Pod with `pod_uid`, found on the node the way `ps` would: the
/// image's binary, in the Pod's cgroup. Returns its pid.
fn operator_process(pod_uid: &str) -> Result<u32> {
    let systemd_uid = pod_uid.replace('-', "_");
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !cmdline.starts_with(b"/usr/local/bin/bedrock-operator\0") {
            continue;
        }
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if cgroup.contains(pod_uid) || cgroup.contains(&systemd_uid) {
            return Ok(pid);
        }
    }
    bail!("no /usr/local/bin/bedrock-operator process in the cgroup of Pod {pod_uid}")
}

/// The real and effective uids of `pid` (`Uid:` of /proc/PID/status).
fn uids(pid: u32) -> Result<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .context("a Uid line")?;
    line.split_whitespace()
        .skip(1)
        .map(|uid| uid.parse::<u32>().context("a uid"))
        .collect()
}

/// The mount options of the root filesystem `pid` sees (`/` in /proc/PID/mountinfo).
fn root_mount_options(pid: u32) -> Result<String> {
    let mountinfo = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))?;
    mountinfo
        .lines()
        .rev()
        .find_map(|line| {
            // The last mount on `/` is the one the process sees.
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.get(4) == Some(&"/") {
                fields.get(5).map(|options| options.to_string())
            } else {
                None
            }
        })
        .context("no / in the process's mountinfo")
}

/// One resource of each kind: a model, a deployment of it, a throughput of it.
fn resources() -> [(&'static str, &'static str, &'static str, Value); 3] {
    [
        (
            "BedrockCustomModel",
            "bedrockcustommodels",
            "model",
            json!({
                "source": { "s3Uri": "s3://install-test/model/" },
                "roleArn": "arn:aws:iam::123456789012:role/bedrock-operator/BedrockImport",
            }),
        ),
        (
            "BedrockCustomModelDeployment",
            "bedrockcustommodeldeployments",
            "deployment",
            json!({ "modelRef": { "name": "model" } }),
        ),
        (
            "BedrockProvisionedThroughput",
            "bedrockprovisionedthroughputs",
            "throughput",
            json!({ "modelRef": { "name": "model" }, "modelUnits": 1 }),
        ),
    ]
}

/// A registry holding the release image and the chart, a node-network control plane with a
/// real node that may pull from it, the emulator on the node's bridge, a namespace with the
/// user's credentials Secret. Fields drop in order: the node before its control plane.
struct Cluster {
    node: Node,
    plane: ControlPlane,
    emulator: EmulatorHandle,
    registry: Registry,
    helm: Helm,
    namespace: String,
    pods: Api<Pod>,
    repository: String,
    image_ref: String,
    image_digest: String,
    _scratch: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Result<Self> {
        let scratch = tempfile::tempdir()?;
        let registry = Registry::start().await?;
        let tag = app_version()?;
        let repository = format!("{}/bedrock-operator", registry.host());
        let image_ref = format!("{repository}:{tag}");

        // The image, as a release builds and pushes it (a dedicated target folder: later runs
        // are incremental). This is the long step on a cold machine; it runs before anything
        // is started that a slow build could time out.
        let image_target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("image-cargo");
        let digest_file = scratch.path().join("image.digest");
        let started = Instant::now();
        xtask(
            &[
                "image",
                "--push",
                &image_ref,
                "--plain-http",
                "--target-dir",
                &image_target.to_string_lossy(),
                "--digest-file",
                &digest_file.to_string_lossy(),
            ],
            &scratch.path().join("xtask-image.log"),
            IMAGE_BUILD_DEADLINE,
        )
        .await?;
        let image_digest = std::fs::read_to_string(&digest_file)?.trim().to_string();
        eprintln!(
            "cargo xtask image --push {image_ref}: {image_digest} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        ensure!(
            registry.tags("bedrock-operator").await? == [tag],
            "the registry holds the image at the appVersion"
        );

        // The chart, as `cargo xtask chart --push oci://…/charts --plain-http` pushes it.
        let helm = Helm::new()?;
        let pushed = helm.publish(helm.chart_dir(), scratch.path(), &registry, "charts", None)?;
        let helm = helm.with_source(ChartSource::Oci(pushed));

        let started = Instant::now();
        let plane = ControlPlane::builder().node_network().start().await?;
        let node = Node::start(&plane).await?;
        node.allow_plain_http_registry(&registry.host())?;
        eprintln!(
            "control plane and node ready in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // Bedrock where the Pod reaches it: the node's bridge, the Pods' gateway.
        let emulator = Emulator::start(EmulatorConfig {
            listen: format!("{}:0", node::GATEWAY).parse()?,
            region: REGION.to_string(),
            ready_delay: Duration::from_millis(300),
            deployment_ready_delay: Duration::from_millis(300),
            provisioned_create_delay: Duration::from_millis(300),
            ..EmulatorConfig::default()
        })
        .await?;

        let namespace = plane.create_namespace("bedrock-install").await?;
        let secrets: Api<Secret> = Api::namespaced(plane.client(), &namespace);
        secrets
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "metadata": { "name": CREDENTIALS_SECRET },
                    "stringData": {
                        "AWS_ACCESS_KEY_ID": "AKIDINSTALLTEST00001",
                        "AWS_SECRET_ACCESS_KEY": "install-test-secret",
                    },
                }))?,
            )
            .await
            .context("creating the credentials Secret")?;
        Ok(Self {
            pods: Api::namespaced(plane.client(), &namespace),
            node,
            plane,
            emulator,
            registry,
            helm,
            namespace,
            repository,
            image_ref,
            image_digest,
            _scratch: scratch,
        })
    }

    /// What a user of a non-EKS cluster sets: no more (and `more`, merged at the top).
    fn values(&self, more: Value) -> Value {
        let from_secret = |name: &str| {
            json!({
                "name": name,
                "valueFrom": { "secretKeyRef": { "name": CREDENTIALS_SECRET, "key": name } },
            })
        };
        let mut values = json!({
            "image": { "repository": self.repository },
            "aws": { "region": REGION },
            "extraEnv": [
                from_secret("AWS_ACCESS_KEY_ID"),
                from_secret("AWS_SECRET_ACCESS_KEY"),
                { "name": "AWS_ENDPOINT_URL_BEDROCK", "value": self.emulator.url() },
            ],
        });
        if let (Some(values), Value::Object(more)) = (values.as_object_mut(), more) {
            values.extend(more);
        }
        values
    }

    /// `helm install --wait` with `values`, timed: returns once `replicas` Pods are Ready, with
    /// them and how long after the install started each became Ready.
    async fn install(&self, values: Value, replicas: usize) -> Result<(Instant, Vec<Pod>)> {
        let kubeconfig = self.plane.kubeconfig_path().to_path_buf();
        let installing = Instant::now();
        let pods_ready = async {
            let mut seen = std::collections::BTreeMap::new();
            wait::until(
                format!("{replicas} operator Pod(s) to become Ready"),
                driver::WAIT_TIMEOUT,
                POLL,
                async || {
                    let pods = self.pods.list(&ListParams::default()).await?.items;
                    for pod in pods.iter().filter(|p| is_ready(p)) {
                        let name = pod.metadata.name.clone().unwrap_or_default();
                        seen.entry(name.clone()).or_insert_with(|| {
                            eprintln!(
                                "Pod {name} Ready {:.1} s after helm install",
                                installing.elapsed().as_secs_f64()
                            );
                        });
                    }
                    let ready: Vec<Pod> = pods.into_iter().filter(is_ready).collect();
                    Ok((ready.len() == replicas).then_some(ready))
                },
            )
            .await
        };
        let (installed, ready) = tokio::join!(
            self.helm
                .install(&kubeconfig, RELEASE, &self.namespace, values),
            pods_ready
        );
        let release = self.explain(installed).await?;
        eprintln!(
            "helm install --wait returned after {:.1} s",
            installing.elapsed().as_secs_f64()
        );
        ensure!(
            release["info"]["status"] == "deployed",
            "{}",
            release["info"]
        );
        let ready = self.explain(ready).await?;
        Ok((installing, ready))
    }

    /// Applies [`resources`] and waits for each to become Ready, printing how long it took.
    async fn apply_resources_until_ready(&self, installing: Instant) -> Result<()> {
        let client = self.plane.client();
        let applying = Instant::now();
        for (kind, plural, name, spec) in resources() {
            let object: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "bedrock-operator.dev/v1alpha1",
                "kind": kind,
                "metadata": { "name": name },
                "spec": spec,
            }))?;
            custom_resources(&client, &self.namespace, kind, plural)
                .create(&PostParams::default(), &object)
                .await
                .with_context(|| format!("creating {kind} {name}"))?;
        }
        for (kind, plural, name, _) in resources() {
            let api = custom_resources(&client, &self.namespace, kind, plural);
            let ready = wait::until(
                format!("{kind} {name} to become Ready"),
                DEADLINE,
                POLL,
                async || {
                    let object = api.get(name).await?;
                    let ready = object.data["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True");
                    Ok(ready.then_some(()))
                },
            )
            .await;
            self.explain(ready).await?;
            eprintln!(
                "{kind} {name} Ready {:.1} s after it was applied, {:.1} s after helm install",
                applying.elapsed().as_secs_f64(),
                installing.elapsed().as_secs_f64()
            );
        }
        let state = self.emulator.state();
        ensure!(
            state.models().len() == 1
                && state.deployments().len() == 1
                && state.provisioned_throughputs().len() == 1,
            "one Bedrock object of each kind"
        );
        Ok(())
    }

    /// Creates of each kind that Bedrock accepted.
    fn creates(&self) -> Vec<u64> {
        let counters = self.emulator.state().counters();
        [
            Operation::CreateCustomModel,
            Operation::CreateCustomModelDeployment,
            Operation::CreateProvisionedModelThroughput,
        ]
        .into_iter()
        .map(|operation| counters.get(operation, "Ok"))
        .collect()
    }

    /// A failed step, with each Pod's status and log and the registry's log.
    async fn explain<T>(&self, result: Result<T>) -> Result<T> {
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let mut report = String::new();
        for pod in self
            .pods
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let logs = self
                .pods
                .logs(&name, &LogParams::default())
                .await
                .unwrap_or_else(|e| format!("(no logs: {e})"));
            report.push_str(&format!(
                "Pod {name}: {}\n{logs}\n",
                serde_json::to_string(&pod.status).unwrap_or_default()
            ));
        }
        report.push_str(&format!("registry log:\n{}", self.registry.log_tail()));
        Err(error.context(report))
    }

    /// The operator's log lines in which the API server refused it.
    async fn refusals(&self, pod: &str) -> Result<Vec<String>> {
        let logs = self.pods.logs(pod, &LogParams::default()).await?;
        Ok(logs
            .lines()
            .filter(|line| {
                let line = line.to_ascii_lowercase();
                line.contains("forbidden") || line.contains("unauthorized")
            })
            .map(str::to_string)
            .collect())
    }
}

/// The `/metrics` of the operator in `pod`, read from its admin port at the Pod's IP, as
/// Prometheus would scrape it.
async fn metrics(pod: &Pod) -> Result<String> {
    let ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .context("the Pod's IP")?;
    let (status, text) = testkit::http::get(&format!("{ip}:8080"), "/metrics").await?;
    ensure!(status == 200, "GET /metrics on {ip}:8080: {status}");
    Ok(text)
}

/// The `bedrock_operator_leader` gauge of the operator in `pod`.
async fn leader_gauge(pod: &Pod) -> Result<Option<String>> {
    let text = metrics(pod).await?;
    Ok(text
        .lines()
        .find(|line| line.starts_with("bedrock_operator_leader "))
        .map(|line| {
            line.trim_start_matches("bedrock_operator_leader ")
                .to_string()
        }))
}

#[tokio::test]
async fn helm_install_from_a_registry_runs_the_release_image_on_a_real_node() -> Result<()> {
    let cluster = Cluster::start().await?;
    let (installing, ready) = cluster.install(cluster.values(json!({})), 1).await?;
    let [pod] = ready.as_slice() else {
        bail!("one Ready Pod: {}", ready.len());
    };

    // The Pod: pulled from the registry, the pushed image, hardened as the chart says.
    let pod_name = pod.metadata.name.clone().context("the Pod's name")?;
    let spec = pod.spec.clone().context("the Pod's spec")?;
    ensure!(
        spec.node_name.as_deref() == Some(node::NODE_NAME),
        "bound to {:?}",
        spec.node_name
    );
    let container = spec.containers.first().context("a container")?;
    ensure!(
        container.image.as_deref() == Some(cluster.image_ref.as_str()),
        "the chart deploys {}: {:?}",
        cluster.image_ref,
        container.image
    );
    let security = container.security_context.clone().unwrap_or_default();
    ensure!(
        security.read_only_root_filesystem == Some(true),
        "{security:?}"
    );
    let pod_security = spec.security_context.clone().unwrap_or_default();
    ensure!(
        pod_security.run_as_user == Some(i64::from(NONROOT)),
        "{pod_security:?}"
    );
    let status = pod.status.clone().context("the Pod's status")?;
    let container_status = status
        .container_statuses
        .as_ref()
        .and_then(|s| s.first())
        .context("a container status")?;
    ensure!(
        container_status
            .image_id
            .ends_with(&format!("@{}", cluster.image_digest)),
        "the Pod runs {}, not the pushed {}",
        container_status.image_id,
        cluster.image_digest
    );
    ensure!(
        cluster.registry.log_has_line(&[
            "http.request.method=GET",
            &format!("/v2/bedrock-operator/manifests/{}", cluster.image_digest),
            "http.request.useragent=containerd/",
        ]),
        "containerd pulled the image from the registry; registry log:\n{}",
        cluster.registry.log_tail()
    );
    ensure!(
        status
            .pod_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.213.0.")),
        "a Pod IP on the node's bridge: {:?}",
        status.pod_ip
    );

    // The operator itself, as the node runs it: uid 65532, a read-only root.
    let pod_uid = pod.metadata.uid.clone().context("the Pod's uid")?;
    let pid = operator_process(&pod_uid)?;
    let process_uids = uids(pid)?;
    ensure!(
        process_uids.iter().all(|uid| *uid == NONROOT),
        "the operator runs as {process_uids:?}"
    );
    let root_options = root_mount_options(pid)?;
    ensure!(
        root_options.split(',').any(|o| o == "ro"),
        "the operator's / is mounted {root_options}"
    );

    // A model, a deployment and a throughput of it, all Ready: the operator reads and writes
    // them with its ServiceAccount's projected token and reaches Bedrock from the Pod.
    cluster.apply_resources_until_ready(installing).await?;

    // Probes kept passing and nothing restarted; the log holds no refusal of the API server.
    let pod = cluster.pods.get(&pod_name).await?;
    let restarts: i32 = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|s| s.restart_count)
        .sum();
    ensure!(is_ready(&pod), "the Pod stays Ready");
    ensure!(restarts == 0, "the operator restarted {restarts} time(s)");
    let refused = cluster.refusals(&pod_name).await?;
    ensure!(
        refused.is_empty(),
        "the API server refused the operator: {refused:#?}"
    );

    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn deleting_the_leaders_pod_hands_over_to_the_standby_without_a_second_create() -> Result<()>
{
    let cluster = Cluster::start().await?;
    let (installing, ready) = cluster
        .install(cluster.values(json!({ "replicas": 2 })), 2)
        .await?;
    cluster.apply_resources_until_ready(installing).await?;
    ensure!(cluster.creates() == [1, 1, 1], "{:?}", cluster.creates());

    let leases: Api<Lease> = Api::namespaced(cluster.plane.client(), &cluster.namespace);
    let holder = async || -> Result<Option<String>> {
        Ok(leases
            .get_opt(RELEASE)
            .await?
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity))
    };
    let leader = holder().await?.context("a leader")?;
    let standby = ready
        .iter()
        .find(|p| p.metadata.name.as_deref() != Some(leader.as_str()))
        .context("a standby Pod")?
        .clone();
    let standby_name = standby.metadata.name.clone().context("a name")?;
    ensure!(
        leader_gauge(&standby).await?.as_deref() == Some("0"),
        "the standby does not lead"
    );

    // `kubectl delete pod`: the kubelet sends SIGTERM; the leader releases its Lease on the way
    // out, so the standby need not wait for it to expire.
    let deleting = Instant::now();
    cluster
        .pods
        .delete(&leader, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting the leader's Pod {leader}"))?;
    let handover = wait::until(
        format!("{standby_name} to take the Lease from {leader}"),
        DEADLINE,
        POLL,
        async || Ok((holder().await?.as_deref() == Some(standby_name.as_str())).then_some(())),
    )
    .await;
    cluster.explain(handover).await?;
    let handed_over = deleting.elapsed();
    let gone = wait::until(
        format!("the leader's Pod {leader} to be gone"),
        DEADLINE,
        POLL,
        async || Ok(cluster.pods.get_opt(&leader).await?.is_none().then_some(())),
    )
    .await;
    cluster.explain(gone).await?;
    let terminated = deleting.elapsed();
    eprintln!(
        "after deleting the leader's Pod: the standby leads after {:.1} s, the old Pod is gone after {:.1} s",
        handed_over.as_secs_f64(),
        terminated.as_secs_f64()
    );
    ensure!(
        leader_gauge(&standby).await?.as_deref() == Some("1"),
        "the standby reports itself leader"
    );
    // Well inside terminationGracePeriodSeconds (45 s): the operator, PID 1 of its container,
    // exited on SIGTERM rather than being killed at the end of the grace period.
    ensure!(
        terminated < Duration::from_secs(30),
        "the leader's Pod took {terminated:?} to go: SIGTERM not handled?"
    );

    // The new leader settles every resource again, and creates nothing.
    let reconciled = wait::until(
        format!("{standby_name} to reconcile every kind"),
        DEADLINE,
        POLL,
        async || {
            let text = metrics(&standby).await?;
            let all = resources().iter().all(|(kind, ..)| {
                text.contains(&format!(
                    r#"bedrock_operator_reconciles_total{{kind="{kind}",outcome="ok"}}"#
                ))
            });
            Ok(all.then_some(()))
        },
    )
    .await;
    cluster.explain(reconciled).await?;
    let settled = wait::until_stable(
        "one create of each kind, no more",
        Duration::from_secs(5),
        DEADLINE,
        POLL,
        async || Ok(cluster.creates() == [1, 1, 1]),
    )
    .await;
    cluster.explain(settled).await?;
    ensure!(
        cluster.emulator.state().create_log().len() == 1,
        "the emulator's create log: {:?}",
        cluster.emulator.state().create_log()
    );
    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}
