//! The `helm` CLI (v4, built once per machine by `testkit::gotools::HELM` from Helm's own
//! module) run the way users run it, for the chart tests (`tests/helm.rs`), the releases on
//! testkit's node (`tests/upgrade.rs`, `tests/install.rs`) and the RBAC end-to-end tests
//! (`tests/e2e/rbac.rs`), which include this file with `#[path]`.
//!
//! Local commands (`lint`, `template`) block; commands that talk to a cluster are `async`
//! (tokio processes), so that whatever must happen meanwhile on the test's runtime (a watch, a
//! wait for the Pods that `helm install --wait` waits for) keeps running. Helm's own configuration,
//! cache and data go to a folder of the test target's tmp dir, never to the user's; the
//! cluster is always the `--kubeconfig` given, never `$KUBECONFIG`.
//!
//! `install`/`upgrade` take the chart from a [`ChartSource`]: the checkout's folder by default,
//! or, as users get it, an `oci://` registry the test pushed it to with [`Helm::publish`]
//! (`testkit::chart`, the code path of `cargo xtask chart --push`).

#![allow(dead_code)] // each test crate uses part of it

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

/// The chart, relative to the workspace root.
pub const CHART_DIR: &str = "charts/bedrock-operator";

/// How long `--wait` may take (helm's `--timeout`).
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(120);

/// A refusal from Helm: a command that exited non-zero, with what it printed on stderr
/// (`Error: values don't meet the specifications of the schema(s) …`).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message.trim_end())
    }
}

/// Where `helm install` / `helm upgrade` take the chart from.
#[derive(Debug, Clone)]
pub enum ChartSource {
    /// A chart folder: the checkout's, or an earlier release's exported from git.
    Dir(PathBuf),
    /// A chart in an OCI registry, as users install it.
    Oci(testkit::chart::Pushed),
}

impl ChartSource {
    /// `CHART [--version V --plain-http]` for the command line.
    fn args(&self) -> Vec<String> {
        match self {
            Self::Dir(dir) => vec![dir.to_string_lossy().into_owned()],
            Self::Oci(pushed) => {
                let mut args = vec![
                    pushed.chart_ref.clone(),
                    "--version".to_string(),
                    pushed.version.clone(),
                ];
                if pushed.plain_http {
                    args.push("--plain-http".to_string());
                }
                args
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Helm {
    binary: PathBuf,
    chart: PathBuf,
    home: PathBuf,
    source: ChartSource,
}

/// The workspace root (the bedrock-operator package's manifest folder).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Helm {
    /// The helm binary, built on first use (a few minutes, once per machine; blocking).
    pub fn new() -> Result<Self> {
        let binary = testkit::gotools::HELM
            .ensure()
            .context("building the helm CLI (testkit/go/helm)")?
            .join("helm");
        let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("helm-home");
        std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
        let chart = workspace_root().join(CHART_DIR);
        Ok(Self {
            binary,
            source: ChartSource::Dir(chart.clone()),
            chart,
            home,
        })
    }

    /// The same helm, installing and upgrading from `source`.
    pub fn with_source(&self, source: ChartSource) -> Self {
        Self {
            source,
            ..self.clone()
        }
    }

    /// The same helm CLI and home, for `testkit::chart`.
    pub fn cli(&self) -> testkit::chart::HelmCli {
        testkit::chart::HelmCli::at(&self.binary).with_home(&self.home)
    }

    /// `helm package CHART_DIR` into `out_dir` and `helm push --plain-http` to `registry`
    /// under `path` by `testkit::chart`, as `cargo xtask chart --push` does: where the chart
    /// went and its digest. With `image_repository`, the packaged chart deploys that image by
    /// default (`cargo xtask chart --image-repository`, what a release sets).
    pub fn publish(
        &self,
        chart_dir: &Path,
        out_dir: &Path,
        registry: &testkit::registry::Registry,
        path: &str,
        image_repository: Option<&str>,
    ) -> Result<testkit::chart::Pushed> {
        let cli = self.cli();
        let package = testkit::chart::package_with(&cli, chart_dir, out_dir, image_repository)?;
        testkit::chart::push(&cli, &package, &registry.oci_ref(path), true)
            .with_context(|| format!("registry log:\n{}", registry.log_tail()))
    }

    pub fn chart_dir(&self) -> &Path {
        &self.chart
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env("HELM_CONFIG_HOME", self.home.join("config"))
            .env("HELM_CACHE_HOME", self.home.join("cache"))
            .env("HELM_DATA_HOME", self.home.join("data"))
            .env_remove("KUBECONFIG")
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// `helm ARGS` with `values` on stdin (for `-f -`): its stdout, or the refusal.
    pub fn run(
        &self,
        args: &[&str],
        values: &Value,
    ) -> Result<std::result::Result<String, Refusal>> {
        let mut child = self
            .command()
            .args(args)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        child
            .stdin
            .take()
            .context("helm's stdin")?
            .write_all(values.to_string().as_bytes())?;
        outcome(child.wait_with_output()?)
    }

    /// [`Helm::run`] for commands that talk to the cluster of `kubeconfig`.
    pub async fn run_async(
        &self,
        kubeconfig: &Path,
        args: &[&str],
        values: &Value,
    ) -> Result<std::result::Result<String, Refusal>> {
        use tokio::io::AsyncWriteExt;
        let mut command = tokio::process::Command::from(self.command());
        command
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let mut stdin = child.stdin.take().context("helm's stdin")?;
        stdin.write_all(values.to_string().as_bytes()).await?;
        drop(stdin);
        outcome(child.wait_with_output().await?)
    }

    fn expect(&self, args: &[&str], values: &Value) -> Result<String> {
        match self.run(args, values)? {
            Ok(stdout) => Ok(stdout),
            Err(refusal) => bail!("helm {} refused: {refusal}", args.join(" ")),
        }
    }

    async fn expect_async(
        &self,
        kubeconfig: &Path,
        args: &[&str],
        values: &Value,
    ) -> Result<String> {
        match self.run_async(kubeconfig, args, values).await? {
            Ok(stdout) => Ok(stdout),
            Err(refusal) => bail!("helm {} refused: {refusal}", args.join(" ")),
        }
    }

    fn chart(&self) -> &str {
        self.chart.to_str().unwrap_or(CHART_DIR)
    }

    /// `helm lint --strict` with `values`: its report (fails when the chart fails).
    pub fn lint(&self, values: Value) -> Result<String> {
        self.expect(
            &["lint", "--strict", self.chart(), "--values", "-"],
            &values,
        )
    }

    /// `helm template RELEASE CHART --namespace NAMESPACE --values - EXTRA…`: what it rendered,
    /// or Helm's refusal.
    pub fn try_render_with(
        &self,
        values: Value,
        release: &str,
        namespace: &str,
        extra: &[&str],
    ) -> Result<std::result::Result<Rendered, Refusal>> {
        let mut args = vec![
            "template",
            release,
            self.chart(),
            "--namespace",
            namespace,
            "--values",
            "-",
        ];
        args.extend_from_slice(extra);
        match self.run(&args, &values)? {
            Ok(stdout) => Ok(Ok(Rendered::parse(&stdout)?)),
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    /// `helm template` as release `release` in `namespace`; `Err(refusal)` when Helm refuses
    /// the values.
    pub fn try_render(
        &self,
        values: Value,
        release: &str,
        namespace: &str,
    ) -> Result<std::result::Result<Rendered, Refusal>> {
        self.try_render_with(values, release, namespace, &[])
    }

    pub fn render(&self, values: Value, release: &str, namespace: &str) -> Result<Rendered> {
        match self.try_render(values, release, namespace)? {
            Ok(rendered) => Ok(rendered),
            Err(refusal) => bail!("helm template refused: {refusal}"),
        }
    }

    /// The NOTES.txt an install would print (`helm template` leaves it out):
    /// `helm install --dry-run=client --output json`.
    pub fn notes(&self, values: Value, release: &str, namespace: &str) -> Result<String> {
        let stdout = self.expect(
            &[
                "install",
                release,
                self.chart(),
                "--namespace",
                namespace,
                "--dry-run=client",
                "--output",
                "json",
                "--values",
                "-",
            ],
            &values,
        )?;
        let release: Value = serde_json::from_str(&stdout).context("helm's release JSON")?;
        Ok(release["info"]["notes"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// `helm install --wait`: the release as `--output json` prints it (`version`,
    /// `info.status`, `info.notes`, `manifest`, `apply_method`, …).
    pub async fn install(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
        values: Value,
    ) -> Result<Value> {
        self.deploy("install", kubeconfig, release, namespace, values, &[])
            .await
    }

    /// `helm upgrade --wait` with exactly `values` (not reused): the release JSON.
    pub async fn upgrade(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
        values: Value,
    ) -> Result<Value> {
        self.deploy("upgrade", kubeconfig, release, namespace, values, &[])
            .await
    }

    /// [`Helm::upgrade`] with more flags (e.g. `--take-ownership`).
    pub async fn upgrade_with(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
        values: Value,
        extra: &[&str],
    ) -> Result<Value> {
        self.deploy("upgrade", kubeconfig, release, namespace, values, extra)
            .await
    }

    /// `helm install|upgrade RELEASE CHART --wait EXTRA…` with `values` on stdin, the chart
    /// from this helm's [`ChartSource`]: the release JSON.
    async fn deploy(
        &self,
        verb: &str,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
        values: Value,
        extra: &[&str],
    ) -> Result<Value> {
        let timeout = timeout_flag();
        let source = self.source.args();
        let mut args = vec![verb, release];
        args.extend(source.iter().map(String::as_str));
        args.extend_from_slice(&[
            "--namespace",
            namespace,
            "--wait",
            "--timeout",
            &timeout,
            "--output",
            "json",
            "--values",
            "-",
        ]);
        args.extend_from_slice(extra);
        let stdout = self.expect_async(kubeconfig, &args, &values).await?;
        // From an oci:// chart, Helm first prints `Pulled: …` and `Digest: …` lines; the JSON
        // starts at the first line that opens an object.
        let json_start = stdout
            .lines()
            .scan(0, |offset, line| {
                let start = *offset;
                *offset += line.len() + 1;
                Some((start, line))
            })
            .find_map(|(start, line)| line.starts_with('{').then_some(start))
            .unwrap_or(0);
        serde_json::from_str(&stdout[json_start..])
            .with_context(|| format!("helm {verb} printed no release JSON: {stdout:.300}"))
    }

    /// `helm rollback RELEASE REVISION --wait`.
    pub async fn rollback(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
        revision: u32,
    ) -> Result<String> {
        let timeout = timeout_flag();
        let revision = revision.to_string();
        self.expect_async(
            kubeconfig,
            &[
                "rollback",
                release,
                &revision,
                "--namespace",
                namespace,
                "--wait",
                "--timeout",
                &timeout,
            ],
            &Value::Null,
        )
        .await
    }

    /// `helm history --output json`: one entry per revision (`revision`, `status`,
    /// `description`, …).
    pub async fn history(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
    ) -> Result<Value> {
        let stdout = self
            .expect_async(
                kubeconfig,
                &[
                    "history",
                    release,
                    "--namespace",
                    namespace,
                    "--output",
                    "json",
                ],
                &Value::Null,
            )
            .await?;
        serde_json::from_str(&stdout).context("helm history printed no JSON")
    }

    /// `helm uninstall --wait`: what it printed.
    pub async fn uninstall(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
    ) -> Result<String> {
        let timeout = timeout_flag();
        self.expect_async(
            kubeconfig,
            &[
                "uninstall",
                release,
                "--namespace",
                namespace,
                "--wait",
                "--timeout",
                &timeout,
            ],
            &Value::Null,
        )
        .await
    }

    /// `helm status --output json`, or the refusal (`release: not found` once uninstalled).
    pub async fn status(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
    ) -> Result<std::result::Result<Value, Refusal>> {
        let answer = self
            .run_async(
                kubeconfig,
                &[
                    "status",
                    release,
                    "--namespace",
                    namespace,
                    "--output",
                    "json",
                ],
                &Value::Null,
            )
            .await?;
        Ok(match answer {
            Ok(stdout) => Ok(serde_json::from_str(&stdout).context("helm status printed no JSON")?),
            Err(refusal) => Err(refusal),
        })
    }
}

fn timeout_flag() -> String {
    format!("{}s", WAIT_TIMEOUT.as_secs())
}

fn outcome(output: Output) -> Result<std::result::Result<String, Refusal>> {
    let stdout = String::from_utf8(output.stdout).context("helm printed non-UTF-8")?;
    if output.status.success() {
        Ok(Ok(stdout))
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Ok(Err(Refusal {
            message: format!("({}) {stderr}{stdout}", output.status),
        }))
    }
}

/// What `helm template` printed: the text of each source file (`bedrock-operator/templates/…`),
/// and every object.
#[derive(Debug)]
pub struct Rendered {
    pub files: BTreeMap<String, String>,
    pub objects: Vec<Value>,
}

impl Rendered {
    /// Splits Helm's stream at its `# Source: PATH` comments.
    pub fn parse(stream: &str) -> Result<Self> {
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in stream.split_inclusive('\n') {
            if line.trim_end() == "---" {
                current = None;
                continue;
            }
            if current.is_none()
                && let Some(source) = line.strip_prefix("# Source: ")
            {
                current = Some(source.trim_end().to_string());
                continue;
            }
            if let Some(source) = &current {
                files.entry(source.clone()).or_default().push_str(line);
            }
        }
        let objects = parse_documents(stream).context("parsing helm template's output")?;
        Ok(Self { files, objects })
    }

    /// Objects of `kind`.
    pub fn all(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    /// The one object of `kind`; fails when there are none or several.
    pub fn one(&self, kind: &str) -> Result<&Value> {
        match self.all(kind).as_slice() {
            [one] => Ok(one),
            other => bail!("expected one {kind}, found {}", other.len()),
        }
    }

    /// The object of `kind` named `name`.
    pub fn named(&self, kind: &str, name: &str) -> Result<&Value> {
        self.all(kind)
            .into_iter()
            .find(|o| o["metadata"]["name"] == name)
            .with_context(|| format!("no {kind} named {name}"))
    }
}

/// The non-empty documents of a YAML stream, as JSON values.
pub fn parse_documents(text: &str) -> Result<Vec<Value>> {
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document)?;
        if !value.is_null() {
            objects.push(value);
        }
    }
    Ok(objects)
}
