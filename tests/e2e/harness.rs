//! One test's world: a namespace on the real control plane, its own Bedrock emulator, and the
//! real operator binary running against both.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bedrock_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Operation};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions;
use bedrock_operator::controller::Managed;
use bedrock_operator::crd;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use testkit::ControlPlane;
use testkit::operator::OperatorCommand;
use testkit::wait;

/// A plain HTTP/1.0 GET: (status code, body). Enough for the admin endpoints.
pub use testkit::http::get as http_get;
/// The operator binary running as a child process; killed when dropped.
pub use testkit::operator::Operator;

/// The longest a test waits for any one thing.
pub const DEADLINE: Duration = Duration::from_secs(90);
pub const POLL: Duration = Duration::from_millis(100);

/// Operator flags for tests: fast polls and short backoffs, so tests take seconds.
pub const FAST: &[&str] = &[
    "--sweep-interval",
    "300ms",
    "--sweep-fallback",
    "5s",
    "--poll-initial",
    "300ms",
    "--poll-max",
    "1s",
    "--resync",
    "3s",
    "--tag-check-interval",
    "3s",
    "--slow-retry",
    "2s",
    "--backoff-base",
    "100ms",
    "--backoff-max",
    "1s",
    "--rate-limit-qps",
    "500",
    "--rate-limit-burst",
    "500",
];

/// An operator argument that lets the test's own namespace buy commitment terms (none may by
/// default): `{namespace}` in an argument stands for the world's namespace.
pub const COMMITMENTS_HERE: &str = "--commitment-namespaces={namespace}";

/// `FAST` without the flags (and their values) that `args` sets itself.
fn fast_except(args: &[String]) -> Vec<&'static str> {
    FAST.chunks(2)
        .filter(|pair| !args.iter().any(|a| a == pair[0]))
        .flatten()
        .copied()
        .collect()
}

pub struct World {
    /// Where the current operator process serves /metrics, /livez and /readyz.
    pub admin_url: String,
    pub plane: &'static ControlPlane,
    pub namespace: String,
    pub emulator: EmulatorHandle,
    pub api: Api<BedrockCustomModel>,
    pub operator: Option<Operator>,
    operator_args: Vec<String>,
    operator_env: Vec<(String, String)>,
    /// Operator processes started so far (each logs to a file of its own).
    spawned: AtomicUsize,
}

impl World {
    /// A fresh namespace and emulator (imports take 1.5 s), and the operator started with
    /// `FAST` timings.
    pub async fn start(test: &str) -> Result<Self> {
        let emulator = EmulatorConfig {
            ready_delay: Duration::from_millis(1500),
            ..EmulatorConfig::default()
        };
        Self::with(test, emulator, &[], &[]).await
    }

    /// [`World::start`] with more operator arguments.
    pub async fn start_with(test: &str, args: &[&str]) -> Result<Self> {
        let emulator = EmulatorConfig {
            ready_delay: Duration::from_millis(1500),
            ..EmulatorConfig::default()
        };
        Self::with(test, emulator, args, &[]).await
    }

    /// A world of its own emulator and operator arguments (`{namespace}` in an argument
    /// stands for the world's namespace) and environment.
    pub async fn with(
        test: &str,
        emulator: EmulatorConfig,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        Self::with_plane(testkit::shared().await?, test, emulator, args, env).await
    }

    /// Starts (or restarts) the operator process.
    pub async fn start_operator(&mut self) -> Result<()> {
        self.start_operator_with_env(&[]).await
    }

    pub async fn start_operator_with_env(&mut self, extra_env: &[(&str, &str)]) -> Result<()> {
        let (operator, admin_url) = self.spawn_operator(&[], extra_env)?;
        self.operator = Some(operator);
        self.admin_url = admin_url;
        Ok(())
    }

    /// Starts one more operator process (not tracked in `self.operator`); returns it and the
    /// URL of its admin server.
    pub fn spawn_operator(
        &self,
        extra_args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> Result<(Operator, String)> {
        self.spawn_operator_serving(self.plane, &self.namespace, extra_args, extra_env)
    }

    /// Starts an operator serving `namespace` of another cluster (`plane`) against this world's
    /// emulator: two clusters sharing one AWS account. Returns it and its admin URL; it logs
    /// with this world's operators.
    pub fn spawn_operator_on(
        &self,
        plane: &ControlPlane,
        namespace: &str,
        extra_args: &[&str],
    ) -> Result<(Operator, String)> {
        self.spawn_operator_serving(plane, namespace, extra_args, &[])
    }

    /// An operator process against this world's emulator, serving `namespace` of `plane`.
    fn spawn_operator_serving(
        &self,
        plane: &ControlPlane,
        namespace: &str,
        extra_args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> Result<(Operator, String)> {
        let sequence = self.spawned.fetch_add(1, Ordering::Relaxed);
        let log = self
            .plane
            .dir()
            .join("operator-logs")
            .join(format!("{}-{sequence}.log", self.namespace));
        let operator = OperatorCommand::new(
            env!("CARGO_BIN_EXE_bedrock-operator"),
            plane.kubeconfig_path(),
            &self.emulator.url(),
            log,
        )
        .namespace(namespace)
        .args(fast_except(&self.operator_args))
        .args(&self.operator_args)
        .args(extra_args)
        .credentials(TEST_ACCESS_KEY, TEST_SECRET_KEY)
        .env("RUST_LOG", "info,bedrock_operator=debug")
        // This world's environment (which may name its own kubeconfig) only on its own plane.
        .envs(
            self.operator_env
                .iter()
                .filter(|_| std::ptr::eq(plane, self.plane))
                .map(|(k, v)| (k, v)),
        )
        .envs(extra_env.iter().copied())
        .spawn()?;
        let admin_url = operator.admin_url();
        Ok((operator, admin_url))
    }

    /// Resources of kind `K` of `namespace` on another cluster's control plane.
    pub fn on_plane<K: Managed>(&self, plane: &ControlPlane, namespace: &str) -> Scope<'_, K> {
        Scope {
            world: self,
            api: Api::namespaced(plane.client(), namespace),
            namespace: namespace.to_string(),
        }
    }

    /// SIGKILLs the operator and waits for it to be gone.
    pub async fn kill_operator(&mut self) -> Result<()> {
        if let Some(mut operator) = self.operator.take() {
            operator.kill().await?;
        }
        Ok(())
    }

    /// Everything the operator processes of this test logged.
    pub fn operator_logs(&self) -> String {
        let dir = self.plane.dir().join("operator-logs");
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&self.namespace)
                {
                    text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
                }
            }
        }
        text
    }

    /// Resources of this world's own namespace.
    pub fn scope(&self) -> Scope<'_> {
        self.in_namespace(&self.namespace)
    }

    /// Resources of kind `K` (a deployment, a throughput) of this world's own namespace.
    pub fn kind<K: Managed>(&self) -> Scope<'_, K> {
        Scope {
            world: self,
            api: Api::namespaced(self.plane.client(), &self.namespace),
            namespace: self.namespace.clone(),
        }
    }

    /// Resources of another namespace this world's operator watches (started with
    /// `--namespace` naming it too).
    pub fn in_namespace(&self, namespace: &str) -> Scope<'_> {
        Scope {
            world: self,
            api: Api::namespaced(self.plane.client(), namespace),
            namespace: namespace.to_string(),
        }
    }

    /// Resources of kind `K` of another namespace this world's operator watches.
    pub fn kind_in<K: Managed>(&self, namespace: &str) -> Scope<'_, K> {
        Scope {
            world: self,
            api: Api::namespaced(self.plane.client(), namespace),
            namespace: namespace.to_string(),
        }
    }

    /// Server-side applies a resource from JSON (apiVersion/kind added), as `kubectl apply` would.
    pub async fn apply(&self, name: &str, spec: Value) -> Result<BedrockCustomModel> {
        self.scope().apply(name, spec).await
    }

    pub async fn apply_object(&self, object: Value) -> Result<BedrockCustomModel> {
        self.scope().apply_object(object).await
    }

    pub async fn get(&self, name: &str) -> Result<BedrockCustomModel> {
        self.scope().get(name).await
    }

    pub async fn delete(&self, name: &str) -> Result<()> {
        self.scope().delete(name).await
    }

    /// Waits until `check` holds for the resource, or fails with what it last saw.
    pub async fn wait_for(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&BedrockCustomModel) -> bool,
    ) -> Result<BedrockCustomModel> {
        self.scope().wait_for(name, what, check).await
    }

    pub async fn wait_ready(&self, name: &str) -> Result<BedrockCustomModel> {
        self.scope().wait_ready(name).await
    }

    /// Waits for a condition `type_` with `reason`.
    pub async fn wait_reason(
        &self,
        name: &str,
        type_: &str,
        reason: &str,
    ) -> Result<BedrockCustomModel> {
        self.scope().wait_reason(name, type_, reason).await
    }

    pub async fn wait_gone(&self, name: &str) -> Result<()> {
        self.scope().wait_gone(name).await
    }

    /// Waits until `check` holds for the emulator's state.
    pub async fn wait_emulator(
        &self,
        what: &str,
        check: impl Fn(&EmulatorHandle) -> bool,
    ) -> Result<()> {
        wait::until(
            format!("the emulator to show {what}"),
            DEADLINE,
            POLL,
            async || Ok(check(&self.emulator).then_some(())),
        )
        .await
    }

    /// Events recorded for the resource `name`, as (type, reason, note).
    pub async fn events(&self, name: &str) -> Result<Vec<(String, String, String)>> {
        self.scope().events(name).await
    }

    /// The ConfigMaps of the world's namespace (admin client).
    pub fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.plane.client(), &self.namespace)
    }

    /// Creates a ConfigMap `name` of the world's namespace that no resource owns (made by
    /// hand, or by another tool), as admin.
    pub async fn create_foreign_config_map(&self, name: &str) -> Result<ConfigMap> {
        let config_map: ConfigMap = serde_json::from_value(json!({
            "metadata": { "name": name },
            "data": { "BEDROCK_MODEL_ID": "hand-written" },
        }))?;
        Ok(self
            .config_maps()
            .create(&PostParams::default(), &config_map)
            .await?)
    }

    /// Waits until `check` holds for the ConfigMap `name` of the world's namespace (`None`:
    /// there is none); returns what it saw. Fails naming `what`, with the last ConfigMap seen.
    pub async fn wait_config_map(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(Option<&ConfigMap>) -> bool,
    ) -> Result<Option<ConfigMap>> {
        let api = self.config_maps();
        let mut last = None;
        let found = wait::until(
            format!("ConfigMap {name} to be {what}"),
            DEADLINE,
            POLL,
            async || {
                let seen = api.get_opt(name).await?;
                if check(seen.as_ref()) {
                    return Ok(Some(seen));
                }
                last = seen;
                Ok(None)
            },
        )
        .await;
        found.with_context(|| {
            format!(
                "last seen: {:?}\noperator log tail:\n{}",
                last.map(|c| (c.metadata.owner_references, c.data)),
                tail(&self.operator_logs(), 40)
            )
        })
    }

    /// Scrapes the current operator's `/metrics` until `check` holds for the text; returns
    /// that text. Fails naming `what` and quoting the last scrape.
    pub async fn wait_metrics(&self, what: &str, check: impl Fn(&str) -> bool) -> Result<String> {
        let mut last = String::new();
        let matched = wait::until(
            format!("the metrics to show {what}"),
            DEADLINE,
            POLL,
            async || {
                if let Ok((200, text)) = http_get(&self.admin_url, "/metrics").await {
                    if check(&text) {
                        return Ok(Some(text));
                    }
                    last = text;
                }
                Ok(None)
            },
        )
        .await;
        matched.with_context(|| format!("last scrape:\n{last}"))
    }

    /// Waits until an event of `type_` (Normal/Warning) with `reason` was recorded for `name`.
    pub async fn wait_event(&self, name: &str, type_: &str, reason: &str) -> Result<()> {
        self.scope().wait_event(name, type_, reason).await
    }

    /// Calls the emulator answered for `operation`, any outcome.
    pub fn calls(&self, operation: Operation) -> u64 {
        self.emulator.state().counters().total(operation)
    }

    pub fn ok_calls(&self, operation: Operation) -> u64 {
        self.emulator.state().counters().get(operation, "Ok")
    }

    /// The model's tags in the emulator, as a map.
    pub fn model_tags(&self, name: &str) -> Option<std::collections::BTreeMap<String, String>> {
        self.emulator
            .state()
            .model(name)
            .map(|m| m.tags.into_iter().map(|t| (t.key, t.value)).collect())
    }
}

/// Waits until `GET base+path` answers `status`.
pub async fn wait_http(base: &str, path: &str, status: u16) -> Result<String> {
    testkit::http::wait_for_status(base, path, status, DEADLINE, POLL).await
}

/// The value of one sample line of a Prometheus text exposition, e.g.
/// `bedrock_operator_models{model_status="Active"}`.
pub fn metric(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(sample) && line[sample.len()..].starts_with(' '))
        .and_then(|line| line[sample.len()..].trim().parse().ok())
}

/// Static test credentials: a test scans the logs for them.
pub const TEST_ACCESS_KEY: &str = "AKIDE2ETESTKEY000001";
pub const TEST_SECRET_KEY: &str = "e2e-test-secret-key-must-never-be-logged";

/// (status, reason, message) of a condition.
pub fn condition(resource: &BedrockCustomModel, type_: &str) -> Option<(String, String, String)> {
    condition_of(resource, type_)
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A valid S3-sourced spec.
pub fn s3_spec(path: &str) -> Value {
    json!({
        "source": { "s3Uri": format!("s3://e2e-models/{path}/") },
        "roleArn": "arn:aws:iam::123456789012:role/BedrockImport",
    })
}

impl World {
    /// [`World::start`], but the operator authenticates with `kubeconfig` instead of the admin's
    /// (e.g. a service account's, to prove its RBAC is enough), with `args` and `env` added.
    /// Fails if the operator process did not get that kubeconfig.
    pub async fn start_with_kubeconfig(
        test: &str,
        kubeconfig: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let path = kubeconfig
            .to_str()
            .context("the kubeconfig path is not UTF-8")?;
        let mut env = env.to_vec();
        env.push(("KUBECONFIG", path));
        let emulator = EmulatorConfig {
            ready_delay: Duration::from_millis(1500),
            ..EmulatorConfig::default()
        };
        let world = Self::with(test, emulator, args, &env).await?;
        let pid = world
            .operator
            .as_ref()
            .and_then(|o| o.child.id())
            .context("the operator is running")?;
        // The harness sets the admin's KUBECONFIG first and the test's env after it; make sure
        // that stays so, or this would silently run as admin. (An unreadable or empty environ,
        // e.g. a process that already exited, tells nothing and fails elsewhere.)
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let seen = environ
            .split(|b| *b == 0)
            .find_map(|var| var.strip_prefix(b"KUBECONFIG="))
            .map(|value| String::from_utf8_lossy(value).into_owned());
        if let Some(seen) = seen
            && seen != path
        {
            bail!("the operator was started with KUBECONFIG={seen}, not {path}");
        }
        Ok(world)
    }
}

impl World {
    /// [`World::with`] on a given control plane instead of the shared one: for tests that
    /// restart kube-apiserver (keep the plane in a test-local `static OnceCell`).
    pub async fn with_plane(
        plane: &'static ControlPlane,
        test: &str,
        emulator: EmulatorConfig,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        plane.install_crds(&crd::crds()).await?;
        let namespace = plane.create_namespace(test).await?;
        let emulator = Emulator::start(emulator).await?;
        let api = Api::namespaced(plane.client(), &namespace);
        let operator_args = args
            .iter()
            .map(|s| s.replace("{namespace}", &namespace))
            .collect();
        let mut world = World {
            admin_url: String::new(),
            plane,
            namespace,
            emulator,
            api,
            operator: None,
            operator_args,
            operator_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            spawned: AtomicUsize::new(0),
        };
        world.start_operator().await?;
        Ok(world)
    }
}

/// The resources of one kind (models unless said otherwise) in one namespace watched by a
/// world's operator.
pub struct Scope<'a, K = BedrockCustomModel> {
    world: &'a World,
    pub api: Api<K>,
    pub namespace: String,
}

/// (status, reason, message) of a condition of any kind.
pub fn condition_of<K: Managed>(resource: &K, type_: &str) -> Option<(String, String, String)> {
    conditions::find(resource.conditions(), type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

impl<K: Managed> Scope<'_, K> {
    /// Server-side applies a resource from JSON (apiVersion/kind added), as `kubectl apply` would.
    pub async fn apply(&self, name: &str, spec: Value) -> Result<K> {
        self.apply_object(json!({ "metadata": { "name": name }, "spec": spec }))
            .await
    }

    pub async fn apply_object(&self, mut object: Value) -> Result<K> {
        object["apiVersion"] = json!(K::api_version(&()));
        object["kind"] = json!(K::kind(&()));
        let name = object["metadata"]["name"]
            .as_str()
            .context("metadata.name")?
            .to_string();
        Ok(self
            .api
            .patch(
                &name,
                &PatchParams::apply("e2e-user").force(),
                &Patch::Apply(&object),
            )
            .await?)
    }

    pub async fn get(&self, name: &str) -> Result<K> {
        Ok(self.api.get(name).await?)
    }

    pub async fn delete(&self, name: &str) -> Result<()> {
        self.api.delete(name, &DeleteParams::default()).await?;
        Ok(())
    }

    /// Waits until `check` holds for the resource, or fails with what it last saw.
    pub async fn wait_for(&self, name: &str, what: &str, check: impl Fn(&K) -> bool) -> Result<K> {
        let mut last = None;
        let found = wait::until(
            format!("{name} to become {what}"),
            DEADLINE,
            POLL,
            async || {
                let seen = self.api.get_opt(name).await?;
                if seen.as_ref().is_some_and(&check) {
                    return Ok(seen);
                }
                last = seen.or(last.take());
                Ok(None)
            },
        )
        .await;
        found.with_context(|| {
            format!(
                "last seen status: {}\noperator log tail:\n{}",
                serde_json::to_string_pretty(&last.as_ref().and_then(Managed::status))
                    .unwrap_or_default(),
                tail(&self.world.operator_logs(), 40)
            )
        })
    }

    pub async fn wait_ready(&self, name: &str) -> Result<K> {
        self.wait_for(name, "Ready", |r| {
            condition_of(r, conditions::READY).is_some_and(|c| c.0 == "True")
        })
        .await
    }

    /// Waits for a condition `type_` with `reason`.
    pub async fn wait_reason(&self, name: &str, type_: &str, reason: &str) -> Result<K> {
        self.wait_for(name, &format!("{type_} reason {reason}"), |r| {
            condition_of(r, type_).is_some_and(|c| c.1 == reason)
        })
        .await
    }

    pub async fn wait_gone(&self, name: &str) -> Result<()> {
        let gone = wait::until(
            format!("{name} to be deleted"),
            DEADLINE,
            POLL,
            async || Ok(self.api.get_opt(name).await?.is_none().then_some(())),
        )
        .await;
        gone.with_context(|| {
            format!(
                "operator log tail:\n{}",
                tail(&self.world.operator_logs(), 40)
            )
        })
    }

    /// Events recorded for the resource `name`, as (type, reason, note).
    pub async fn events(&self, name: &str) -> Result<Vec<(String, String, String)>> {
        // The client of the resources' own control plane (another cluster's, for `on_plane`).
        let api: Api<Event> = Api::namespaced(self.api.clone().into_client(), &self.namespace);
        let events = api.list(&ListParams::default()).await?;
        Ok(events
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|e| {
                (
                    e.type_.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    e.note.unwrap_or_default(),
                )
            })
            .collect())
    }

    /// Waits until an event of `type_` (Normal/Warning) with `reason` was recorded for `name`
    /// (events are published just after the status write, so they can trail it).
    pub async fn wait_event(&self, name: &str, type_: &str, reason: &str) -> Result<()> {
        let mut seen = Vec::new();
        let recorded = wait::until(
            format!("a {type_} event {reason} for {name}"),
            DEADLINE,
            POLL,
            async || {
                seen = self.events(name).await?;
                Ok(seen
                    .iter()
                    .any(|e| e.0 == type_ && e.1 == reason)
                    .then_some(()))
            },
        )
        .await;
        recorded.with_context(|| format!("events: {seen:?}"))
    }
}

/// The value of `key` in a ConfigMap's data.
pub fn data_of<'a>(config_map: Option<&'a ConfigMap>, key: &str) -> Option<&'a str> {
    config_map?.data.as_ref()?.get(key).map(String::as_str)
}
