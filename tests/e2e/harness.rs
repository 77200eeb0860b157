//! One test's world: a namespace on the real control plane, its own Bedrock emulator, and the
//! real operator binary running against both.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bedrock_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Operation};
use bedrock_operator::api::conditions;
use bedrock_operator::api::{BedrockCustomModel, crd};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use testkit::ControlPlane;
use tokio::process::{Child, Command};

/// The longest a test waits for any one thing.
pub const DEADLINE: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);

/// Operator flags for tests: fast polls and short backoffs, so tests take seconds.
pub const FAST: &[&str] = &[
    "--poll-initial",
    "300ms",
    "--poll-max",
    "1s",
    "--resync",
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

pub struct World {
    pub plane: &'static ControlPlane,
    pub namespace: String,
    pub emulator: EmulatorHandle,
    pub api: Api<BedrockCustomModel>,
    pub operator: Option<Operator>,
    operator_args: Vec<String>,
    operator_env: Vec<(String, String)>,
}

/// The operator binary running as a child process; killed when dropped.
pub struct Operator {
    pub child: Child,
}

impl World {
    /// A fresh namespace and emulator, and the operator started with `FAST` timings.
    pub async fn start(test: &str) -> Result<Self> {
        Self::with(test, EmulatorConfig::default(), &[], &[]).await
    }

    pub async fn with(
        test: &str,
        emulator: EmulatorConfig,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let plane = testkit::shared().await?;
        plane.install_crds(&[crd::crd()]).await?;
        let namespace = plane.create_namespace(test).await?;
        let emulator = Emulator::start(EmulatorConfig {
            ready_delay: Duration::from_millis(1500),
            ..emulator
        })
        .await?;
        let api = Api::namespaced(plane.client(), &namespace);
        let mut world = World {
            plane,
            namespace,
            emulator,
            api,
            operator: None,
            operator_args: args.iter().map(|s| s.to_string()).collect(),
            operator_env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        world.start_operator().await?;
        Ok(world)
    }

    /// Starts (or restarts) the operator process.
    pub async fn start_operator(&mut self) -> Result<()> {
        self.start_operator_with_env(&[]).await
    }

    pub async fn start_operator_with_env(&mut self, extra_env: &[(&str, &str)]) -> Result<()> {
        let dir = self.plane.dir().join("operator-logs");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!(
            "{}-{}.log",
            self.namespace,
            Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id())
        ));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_bedrock-operator"));
        command
            .arg("run")
            .args(["--namespace", &self.namespace])
            .args(FAST)
            .args(&self.operator_args)
            .env("KUBECONFIG", self.plane.kubeconfig_path())
            .env("AWS_ENDPOINT_URL_BEDROCK", self.emulator.url())
            .env("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env("RUST_LOG", "info,bedrock_operator=debug")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true);
        for (key, value) in &self.operator_env {
            command.env(key, value);
        }
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().context("starting the operator")?;
        self.operator = Some(Operator { child });
        Ok(())
    }

    /// SIGKILLs the operator and waits for it to be gone.
    pub async fn kill_operator(&mut self) -> Result<()> {
        if let Some(mut operator) = self.operator.take() {
            operator.child.kill().await.ok();
            operator.child.wait().await?;
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

    /// Server-side applies a resource from JSON (apiVersion/kind added), as `kubectl apply` would.
    pub async fn apply(&self, name: &str, spec: Value) -> Result<BedrockCustomModel> {
        self.apply_object(json!({ "metadata": { "name": name }, "spec": spec }))
            .await
    }

    pub async fn apply_object(&self, mut object: Value) -> Result<BedrockCustomModel> {
        object["apiVersion"] = json!("bedrock-operator.dev/v1alpha1");
        object["kind"] = json!("BedrockCustomModel");
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

    pub async fn get(&self, name: &str) -> Result<BedrockCustomModel> {
        Ok(self.api.get(name).await?)
    }

    pub async fn delete(&self, name: &str) -> Result<()> {
        self.api.delete(name, &DeleteParams::default()).await?;
        Ok(())
    }

    /// Waits until `check` holds for the resource, or fails with what it last saw.
    pub async fn wait_for(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&BedrockCustomModel) -> bool,
    ) -> Result<BedrockCustomModel> {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < DEADLINE {
            if let Some(resource) = self.api.get_opt(name).await? {
                if check(&resource) {
                    return Ok(resource);
                }
                last = Some(resource);
            }
            tokio::time::sleep(POLL).await;
        }
        bail!(
            "{name} never became {what} within {DEADLINE:?}; last seen status: {}\noperator log tail:\n{}",
            serde_json::to_string_pretty(&last.and_then(|r| r.status)).unwrap_or_default(),
            tail(&self.operator_logs(), 40)
        )
    }

    pub async fn wait_ready(&self, name: &str) -> Result<BedrockCustomModel> {
        self.wait_for(name, "Ready", |r| {
            condition(r, conditions::READY).is_some_and(|c| c.0 == "True")
        })
        .await
    }

    /// Waits for a condition `type_` with `reason`.
    pub async fn wait_reason(
        &self,
        name: &str,
        type_: &str,
        reason: &str,
    ) -> Result<BedrockCustomModel> {
        self.wait_for(name, &format!("{type_} reason {reason}"), |r| {
            condition(r, type_).is_some_and(|c| c.1 == reason)
        })
        .await
    }

    pub async fn wait_gone(&self, name: &str) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if self.api.get_opt(name).await?.is_none() {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        bail!(
            "{name} was not deleted within {DEADLINE:?}\noperator log tail:\n{}",
            tail(&self.operator_logs(), 40)
        )
    }

    /// Waits until `check` holds for the emulator's state.
    pub async fn wait_emulator(
        &self,
        what: &str,
        check: impl Fn(&EmulatorHandle) -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if check(&self.emulator) {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        bail!("the emulator never showed {what} within {DEADLINE:?}")
    }

    /// Events recorded for the resource `name`, as (type, reason, note).
    pub async fn events(&self, name: &str) -> Result<Vec<(String, String, String)>> {
        let api: Api<Event> = Api::namespaced(self.plane.client(), &self.namespace);
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

/// Static test credentials: a test scans the logs for them.
pub const TEST_ACCESS_KEY: &str = "AKIDE2ETESTKEY000001";
pub const TEST_SECRET_KEY: &str = "e2e-test-secret-key-must-never-be-logged";

/// (status, reason, message) of a condition.
pub fn condition(resource: &BedrockCustomModel, type_: &str) -> Option<(String, String, String)> {
    resource
        .status
        .as_ref()
        .and_then(|s| conditions::find(&s.conditions, type_))
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
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
