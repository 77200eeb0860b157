//! A cluster with testkit's real node and the operator installed on it as users install it:
//! the release image and the chart in a real OCI registry, `helm install oci://…`, the
//! emulator where the Pods reach it. Shared by the tests that install the operator
//! (tests/install.rs and others), each with its own registry, control plane and node.

#![allow(dead_code)] // each test crate uses part of it

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use bedrock_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Operation};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams, LogParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use testkit::ControlPlane;
use testkit::node::{self, Node};
use testkit::registry::Registry;
use testkit::wait;

use crate::driver::{self, ChartSource, Helm, workspace_root};

pub const RELEASE: &str = "bedrock-operator";
pub const REGION: &str = "us-east-1";
pub const DEADLINE: Duration = Duration::from_secs(120);
pub const POLL: Duration = Duration::from_millis(250);
/// The image's user (xtask/src/image.rs `NONROOT`, the chart's `runAsUser`).
pub const NONROOT: u32 = 65532;

/// The chart's `appVersion`: the image tag it deploys when the user sets none.
pub fn app_version() -> Result<String> {
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
pub fn custom_resources(
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

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub use testkit::install::operator_process;

/// The real and effective uids of `pid` (`Uid:` of /proc/PID/status).
pub fn uids(pid: u32) -> Result<Vec<u32>> {
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
pub fn root_mount_options(pid: u32) -> Result<String> {
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
pub fn resources() -> [(&'static str, &'static str, &'static str, Value); 3] {
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
pub struct Cluster {
    pub node: Node,
    pub plane: ControlPlane,
    pub emulator: EmulatorHandle,
    pub registry: Registry,
    pub helm: Helm,
    pub namespace: String,
    pub pods: Api<Pod>,
    pub repository: String,
    pub image_ref: String,
    pub image_digest: String,
    /// The chart as it was pushed to the registry (`oci://…`, its version and digest).
    pub chart: testkit::chart::Pushed,
    pub _scratch: tempfile::TempDir,
}

/// What [`Cluster::start_with`] varies.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// The chart pushed as a release pushes it (`cargo xtask chart --image-repository`): it
    /// deploys the pushed image by default, so the user sets no `image.repository`.
    pub chart_names_the_image: bool,
}

impl Cluster {
    pub async fn start() -> Result<Self> {
        Self::start_with(Setup::default()).await
    }

    pub async fn start_with(setup: Setup) -> Result<Self> {
        let scratch = tempfile::tempdir()?;
        let registry = Registry::start().await?;
        let tag = app_version()?;
        let repository = format!("{}/bedrock-operator", registry.host());
        let image_ref = format!("{repository}:{tag}");

        // The image `cargo xtask image` builds (`cargo xtask test` built it before the suite;
        // run alone, this test builds it), pushed as `cargo xtask image --push` pushes it.
        let layout = testkit::image::operator_layout(
            &workspace_root(),
            Path::new(env!("CARGO_TARGET_TMPDIR")),
        )
        .await?;
        let started = Instant::now();
        let image_digest = testkit::oci::push_layout(&layout, &image_ref, true).await?;
        eprintln!(
            "pushed {} to {image_ref}: {image_digest} in {:.1} s",
            layout.display(),
            started.elapsed().as_secs_f64()
        );
        ensure!(
            registry.tags("bedrock-operator").await? == [tag],
            "the registry holds the image at the appVersion"
        );

        // The chart, as `cargo xtask chart --push oci://…/charts --plain-http` pushes it.
        let helm = Helm::new()?;
        let image_repository = setup.chart_names_the_image.then_some(repository.as_str());
        let pushed = helm.publish(
            helm.chart_dir(),
            scratch.path(),
            &registry,
            "charts",
            image_repository,
        )?;
        let helm = helm.with_source(ChartSource::Oci(pushed.clone()));

        let started = Instant::now();
        // The audit log tells what the API server refused the operator, also once its Pod is
        // gone.
        let plane = ControlPlane::builder()
            .node_network()
            .audit_log()
            .start()
            .await?;
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
        testkit::install::create_credentials_secret(
            plane.client(),
            &namespace,
            "AKIDINSTALLTEST00001",
            "install-test-secret",
        )
        .await?;
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
            chart: pushed,
            _scratch: scratch,
        })
    }

    /// Pushes the release image under `tag` too (as a release before this one would have
    /// tagged its own image); returns its digest.
    pub async fn push_image_tag(&self, tag: &str) -> Result<String> {
        let layout = testkit::image::operator_layout(
            &workspace_root(),
            Path::new(env!("CARGO_TARGET_TMPDIR")),
        )
        .await?;
        testkit::oci::push_layout(&layout, &format!("{}:{tag}", self.repository), true).await
    }

    /// The operator's identity towards the API server: the chart's ServiceAccount.
    pub fn operator_user(&self) -> String {
        format!("system:serviceaccount:{}:{RELEASE}", self.namespace)
    }

    /// What a user of a non-EKS cluster sets: no more (and `more`, merged at the top).
    pub fn values(&self, more: Value) -> Value {
        let mut values =
            testkit::install::user_values(&self.repository, REGION, &self.emulator.url());
        if let (Some(values), Value::Object(more)) = (values.as_object_mut(), more) {
            values.extend(more);
        }
        values
    }

    /// `helm install --wait` with `values`, timed: returns once `replicas` Pods are Ready, with
    /// them and how long after the install started each became Ready.
    pub async fn install(&self, values: Value, replicas: usize) -> Result<(Instant, Vec<Pod>)> {
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

    /// Creates the resource `name` of `kind` (`plural`) with `spec` in the release's namespace.
    pub async fn create(&self, kind: &str, plural: &str, name: &str, spec: Value) -> Result<()> {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "bedrock-operator.dev/v1alpha1",
            "kind": kind,
            "metadata": { "name": name },
            "spec": spec,
        }))?;
        custom_resources(&self.plane.client(), &self.namespace, kind, plural)
            .create(&PostParams::default(), &object)
            .await
            .with_context(|| format!("creating {kind} {name}"))?;
        Ok(())
    }

    /// Waits until the resource `name` of `kind` (`plural`) has the condition Ready=True.
    pub async fn wait_ready(&self, kind: &str, plural: &str, name: &str) -> Result<()> {
        let api = custom_resources(&self.plane.client(), &self.namespace, kind, plural);
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
        self.explain(ready).await
    }

    /// Applies [`resources`] and waits for each to become Ready, printing how long it took.
    pub async fn apply_resources_until_ready(&self, installing: Instant) -> Result<()> {
        let applying = Instant::now();
        for (kind, plural, name, spec) in resources() {
            self.create(kind, plural, name, spec).await?;
        }
        for (kind, plural, name, _) in resources() {
            self.wait_ready(kind, plural, name).await?;
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
    pub fn creates(&self) -> Vec<u64> {
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

    /// Who holds the operator's leader Lease (the chart's default name: the release's).
    pub async fn lease_holder(&self) -> Result<Option<String>> {
        let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
            Api::namespaced(self.plane.client(), &self.namespace);
        Ok(leases
            .get_opt(RELEASE)
            .await?
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity))
    }

    /// Waits until Bedrock has accepted `models` model creates and one deployment and one
    /// throughput create, and that stays so for 5 s; the emulator's log of models created must
    /// agree: nothing was created twice.
    pub async fn settle_creates(&self, models: u64) -> Result<()> {
        let expected = [models, 1, 1];
        let settled = wait::until_stable(
            format!("creates of each kind {expected:?}, no more"),
            Duration::from_secs(5),
            DEADLINE,
            POLL,
            async || Ok(self.creates() == expected),
        )
        .await;
        self.explain(settled).await?;
        let log = self.emulator.state().create_log();
        ensure!(
            log.len() as u64 == models,
            "the emulator's create log: {log:?}"
        );
        Ok(())
    }

    /// `kubectl ARGS` of the API server's release, as the admin, in the release's namespace:
    /// whether it succeeded, and what it printed (stdout then stderr). Bounded by [`DEADLINE`].
    pub async fn kubectl(&self, args: &[&str]) -> Result<(bool, String)> {
        let kubectl = testkit::binaries::locate()
            .await?
            .kubectl
            .context("kubectl (KUBEBUILDER_ASSETS has none)")?;
        let output = tokio::time::timeout(
            DEADLINE,
            tokio::process::Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(self.plane.kubeconfig_path())
                .args(["--namespace", &self.namespace])
                .args(args)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .with_context(|| format!("kubectl {args:?} did not finish within {DEADLINE:?}"))??;
        Ok((
            output.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        ))
    }

    /// A failed step, with each Pod's status and log and the registry's log.
    pub async fn explain<T>(&self, result: Result<T>) -> Result<T> {
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

    /// The requests of the operator in `pod` that the API server refused for want of rights
    /// (403), from the server's audit log: also those the operator never logged, and those of
    /// a Pod that is gone. (A request refused for its token, 401, is logged without a user.)
    pub async fn refusals(&self, pod: &str) -> Result<Vec<String>> {
        Ok(self
            .plane
            .refused_requests(&self.operator_user())?
            .iter()
            .filter(|request| request.pod() == Some(pod))
            .map(|request| request.summary())
            .collect())
    }
}

/// The `/metrics` of the operator in `pod`, read from its admin port at the Pod's IP, as
/// Prometheus would scrape it.
pub async fn metrics(pod: &Pod) -> Result<String> {
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
pub async fn leader_gauge(pod: &Pod) -> Result<Option<String>> {
    let text = metrics(pod).await?;
    Ok(text
        .lines()
        .find(|line| line.starts_with("bedrock_operator_leader "))
        .map(|line| {
            line.trim_start_matches("bedrock_operator_leader ")
                .to_string()
        }))
}
