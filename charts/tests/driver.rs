//! The Rust side of `charts/tests/helm_driver.py`: real Helm (v4, through PyPI's
//! helm-python-sdk) run as a subprocess with JSON in and out, for the chart tests
//! (`tests/helm.rs`) and the RBAC end-to-end tests (`tests/e2e/rbac.rs`), which include this
//! file with `#[path]`.
//!
//! The Python interpreter comes from `BEDROCK_OPERATOR_PYTHON`, else the virtual environment
//! `cargo xtask prereqs` creates (`${XDG_CACHE_HOME:-~/.cache}/bedrock-operator/venv`).

#![allow(dead_code)] // each test crate uses part of it

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

pub const PYTHON_ENV: &str = "BEDROCK_OPERATOR_PYTHON";

/// The chart, relative to the workspace root.
pub const CHART_DIR: &str = "charts/bedrock-operator";

/// A refusal from Helm (bad values, a failed install, …): the exception's type and message.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub kind: String,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

pub struct Helm {
    python: PathBuf,
    driver: PathBuf,
    chart: PathBuf,
}

/// The workspace root (the bedrock-operator package's manifest folder).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Helm {
    /// Finds the interpreter; fails with what to run when it is missing.
    pub fn new() -> Result<Self> {
        let python = match std::env::var_os(PYTHON_ENV) {
            Some(path) => PathBuf::from(path),
            None => std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .context("neither XDG_CACHE_HOME nor HOME is set")?
                .join("bedrock-operator/venv/bin/python"),
        };
        if !python.exists() {
            bail!(
                "no Python with helm-python-sdk at {}: run `cargo xtask prereqs` (it creates that \
                 virtual environment) or set {PYTHON_ENV} to an interpreter that has \
                 `pip install helm-python-sdk==0.2.2 PyYAML`",
                python.display()
            );
        }
        let root = workspace_root();
        Ok(Self {
            python,
            driver: root.join("charts/tests/helm_driver.py"),
            chart: root.join(CHART_DIR),
        })
    }

    pub fn chart_dir(&self) -> &Path {
        &self.chart
    }

    /// One request to the driver: `Ok(Ok(result))`, `Ok(Err(refusal))` when Helm refused, or
    /// `Err` when the driver itself could not run.
    pub fn call(&self, mut request: Value) -> Result<std::result::Result<Value, Refusal>> {
        if request.get("chart").is_none() {
            request["chart"] = json!(self.chart);
        }
        let mut child = Command::new(&self.python)
            .arg(&self.driver)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.python.display()))?;
        child
            .stdin
            .take()
            .context("the driver's stdin")?
            .write_all(request.to_string().as_bytes())?;
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!(
                "helm_driver.py failed ({}) on {}:\n{}",
                output.status,
                request["action"],
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let answer: Value = serde_json::from_slice(&output.stdout).with_context(|| {
            format!(
                "helm_driver.py printed no JSON: {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
        if answer["ok"] == json!(true) {
            Ok(Ok(answer["result"].clone()))
        } else {
            Ok(Err(Refusal {
                kind: answer["error"]["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                message: answer["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            }))
        }
    }

    fn expect(&self, request: Value) -> Result<Value> {
        let action = request["action"].clone();
        match self.call(request)? {
            Ok(result) => Ok(result),
            Err(refusal) => bail!("helm {action} refused: {refusal}"),
        }
    }

    /// `helm lint --strict`: the report (`messages` with severities, `errors`).
    pub fn lint(&self, values: Value) -> Result<Value> {
        self.expect(json!({ "action": "lint", "values": values }))
    }

    /// `helm template` as release `release` in `namespace`; `Err(refusal)` when Helm refuses
    /// the values.
    pub fn try_render(
        &self,
        values: Value,
        release: &str,
        namespace: &str,
    ) -> Result<std::result::Result<Rendered, Refusal>> {
        let answer = self.call(json!({
            "action": "render", "values": values, "release": release, "namespace": namespace,
        }))?;
        match answer {
            Ok(files) => {
                let files: BTreeMap<String, String> =
                    serde_json::from_value(files).context("render returns file → text")?;
                Ok(Ok(Rendered::parse(files)?))
            }
            Err(refusal) => Ok(Err(refusal)),
        }
    }

    pub fn render(&self, values: Value, release: &str, namespace: &str) -> Result<Rendered> {
        match self.try_render(values, release, namespace)? {
            Ok(rendered) => Ok(rendered),
            Err(refusal) => bail!("helm template refused: {refusal}"),
        }
    }

    /// `helm install` (no waiting for pods; CRDs created, not server-side applied).
    pub fn install(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
        values: Value,
    ) -> Result<Value> {
        self.expect(json!({
            "action": "install", "kubeconfig": kubeconfig, "release": release,
            "namespace": namespace, "values": values,
        }))
    }

    pub fn upgrade(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
        values: Value,
    ) -> Result<Value> {
        self.expect(json!({
            "action": "upgrade", "kubeconfig": kubeconfig, "release": release,
            "namespace": namespace, "values": values,
        }))
    }

    pub fn uninstall(&self, kubeconfig: &Path, release: &str, namespace: &str) -> Result<Value> {
        self.expect(json!({
            "action": "uninstall", "kubeconfig": kubeconfig, "release": release,
            "namespace": namespace,
        }))
    }

    /// The release's summary, or a refusal (e.g. HelmNotFoundError once uninstalled).
    pub fn status(
        &self,
        kubeconfig: &Path,
        release: &str,
        namespace: &str,
    ) -> Result<std::result::Result<Value, Refusal>> {
        self.call(json!({
            "action": "status", "kubeconfig": kubeconfig, "release": release,
            "namespace": namespace,
        }))
    }
}

/// A rendered chart: the text of each template, and every object it produced.
#[derive(Debug)]
pub struct Rendered {
    pub files: BTreeMap<String, String>,
    pub objects: Vec<Value>,
}

impl Rendered {
    pub fn parse(files: BTreeMap<String, String>) -> Result<Self> {
        let mut objects = Vec::new();
        for (name, text) in &files {
            if !name.ends_with(".yaml") {
                continue;
            }
            objects.extend(parse_documents(text).with_context(|| format!("parsing {name}"))?);
        }
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

    /// The NOTES.txt text.
    pub fn notes(&self) -> &str {
        self.files
            .iter()
            .find(|(name, _)| name.ends_with("NOTES.txt"))
            .map(|(_, text)| text.as_str())
            .unwrap_or_default()
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
