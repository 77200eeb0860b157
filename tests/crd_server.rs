//! The CRD on a real, current kube-apiserver, driven with the kubectl of the same release (the
//! release `TESTKIT_KUBERNETES` names; the compatibility leg runs this file on the oldest one):
//!
//! - the committed CRD applies unchanged with `kubectl apply --server-side` (as Helm 4 does) and
//!   with client-side `kubectl apply`, prints no warning and becomes Established;
//! - every case of the CEL table (`src/api/cel_cases.rs`, which the kube-cel unit tests run too)
//!   gets the same verdict from the server, met as a user meets it: `kubectl apply` (server-side
//!   and client-side) and `kubectl patch`, after the operator's field manager wrote the status
//!   through the status subresource; the server's message names the field;
//! - `kubectl explain`, `kubectl get` (printer columns) and `kubectl wait --for=condition=Ready`.
//!
//! Every kind: BedrockCustomModel (`cel_cases.rs`), BedrockCustomModelDeployment
//! (`deployment_cel_cases.rs`), BedrockProvisionedThroughput (`throughput_cel_cases.rs`) and
//! BedrockImportedModel (`imported_cel_cases.rs`); the bad inputs of the last three also break
//! the OpenAPI schema.

#[path = "../src/api/cel_cases.rs"]
mod cel_cases;
#[path = "../src/api/deployment_cel_cases.rs"]
mod deployment_cel_cases;
#[path = "../src/api/imported_cel_cases.rs"]
mod imported_cel_cases;
#[path = "../src/api/throughput_cel_cases.rs"]
mod throughput_cel_cases;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::LazyLock;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bedrock_operator::api::{
    BedrockCustomModel, BedrockCustomModelDeployment, BedrockCustomModelDeploymentSpec,
    BedrockCustomModelSpec, BedrockImportedModel, BedrockImportedModelSpec,
    BedrockProvisionedThroughput, BedrockProvisionedThroughputSpec, conditions,
};
use bedrock_operator::controller::FIELD_MANAGER;
use bedrock_operator::crd;
use futures::future::try_join_all;
use kube::Resource;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use regex::Regex;
use serde_json::{Value, json};
use testkit::ControlPlane;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use cel_cases::{CreateCase, Failure, NAME, UpdateCase};

const CRD_FILE: &str = "crds/bedrockcustommodels.bedrock-operator.dev.yaml";
const CRD_YAML: &str = include_str!("../crds/bedrockcustommodels.bedrock-operator.dev.yaml");
const CRD_NAME: &str = "bedrockcustommodels.bedrock-operator.dev";
const DEPLOYMENT_CRD_FILE: &str = "crds/bedrockcustommodeldeployments.bedrock-operator.dev.yaml";
const DEPLOYMENT_CRD_YAML: &str =
    include_str!("../crds/bedrockcustommodeldeployments.bedrock-operator.dev.yaml");
const DEPLOYMENT_CRD_NAME: &str = "bedrockcustommodeldeployments.bedrock-operator.dev";
const THROUGHPUT_CRD_FILE: &str = "crds/bedrockprovisionedthroughputs.bedrock-operator.dev.yaml";
const THROUGHPUT_CRD_YAML: &str =
    include_str!("../crds/bedrockprovisionedthroughputs.bedrock-operator.dev.yaml");
const THROUGHPUT_CRD_NAME: &str = "bedrockprovisionedthroughputs.bedrock-operator.dev";
const IMPORTED_CRD_FILE: &str = "crds/bedrockimportedmodels.bedrock-operator.dev.yaml";
const IMPORTED_CRD_YAML: &str =
    include_str!("../crds/bedrockimportedmodels.bedrock-operator.dev.yaml");
const IMPORTED_CRD_NAME: &str = "bedrockimportedmodels.bedrock-operator.dev";
/// `--timeout` of a `kubectl wait` that should succeed.
const WAIT: &str = "--timeout=60s";
/// `--timeout` of deleting a CRD: the API server tears down the kind's storage (and its
/// instances) first, which took over 60 s in a CI run with every other test of this binary
/// replaying cases through kubectl on the same 2 cores.
const WAIT_CRD_GONE: &str = "--timeout=180s";
/// How long the test waits for a `kubectl wait` it started in the background.
const DEADLINE: Duration = Duration::from_secs(90);

/// The kubectl of the running release, acting as the control plane's admin.
struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
    cache_dir: PathBuf,
}

/// How a kubectl run ended and what it printed.
#[derive(Debug)]
struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    async fn new(plane: &ControlPlane) -> Result<Self> {
        let binaries = testkit::binaries::locate().await?;
        let binary = binaries.kubectl.context(
            "no kubectl for the running release (KUBEBUILDER_ASSETS has none): these tests drive kubectl",
        )?;
        Ok(Self {
            binary,
            kubeconfig: plane.kubeconfig_path().to_path_buf(),
            // Discovery is cached per control plane, not in ~/.kube.
            cache_dir: plane.dir().join("kubectl-cache"),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env("KUBECONFIG", &self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs kubectl with `args`, feeding `stdin` if given.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<Run> {
        let mut command = self.command(args);
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())
                .await
                .context("writing kubectl's stdin")?;
        }
        finish(child).await
    }

    /// [`Kubectl::run`], failing unless kubectl succeeds.
    async fn ok(&self, args: &[&str], stdin: Option<&str>) -> Result<Run> {
        let run = self.run(args, stdin).await?;
        if !run.success {
            bail!("kubectl {} failed: {}", args.join(" "), run.stderr.trim());
        }
        Ok(run)
    }

    /// Starts kubectl in the background.
    fn spawn(&self, args: &[&str]) -> Result<Child> {
        self.command(args)
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))
    }
}

async fn finish(child: Child) -> Result<Run> {
    let output = child
        .wait_with_output()
        .await
        .context("waiting for kubectl")?;
    Ok(Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// The shared control plane of this binary, with the committed CRDs installed.
async fn plane() -> Result<&'static ControlPlane> {
    let plane = testkit::shared().await?;
    plane.install_crds_yaml(CRD_YAML).await?;
    plane.install_crds_yaml(DEPLOYMENT_CRD_YAML).await?;
    plane.install_crds_yaml(THROUGHPUT_CRD_YAML).await?;
    plane.install_crds_yaml(IMPORTED_CRD_YAML).await?;
    Ok(plane)
}

fn crd_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(file)
}

/// A kind whose cases are replayed: the kinds differ only in these values.
#[derive(Clone, Copy)]
struct Kind {
    /// What kubectl calls the resource type.
    resource: &'static str,
    api_version: fn() -> String,
    kind: fn() -> String,
    api_resource: fn() -> ApiResource,
    /// metadata.name of every case's resource.
    name: &'static str,
    /// The start of the names of the namespaces the replays run in.
    namespace_prefix: &'static str,
    /// The spec with the schema's defaults, as the server stores it (and as the Rust type
    /// reads it).
    stored_form: fn(&Value) -> Result<Value>,
}

/// `spec` read as `T` and written back: the form the server stores (defaults applied).
fn typed_form<T: serde::de::DeserializeOwned + serde::Serialize>(spec: &Value) -> Result<Value> {
    let typed: T = serde_json::from_value(spec.clone()).with_context(|| {
        format!(
            "the spec {spec} does not read as a {}",
            std::any::type_name::<T>()
        )
    })?;
    Ok(serde_json::to_value(typed)?)
}

const MODEL: Kind = Kind {
    resource: "bedrockcustommodel",
    api_version: || BedrockCustomModel::api_version(&()).into_owned(),
    kind: || BedrockCustomModel::kind(&()).into_owned(),
    api_resource: || ApiResource::erase::<BedrockCustomModel>(&()),
    name: NAME,
    namespace_prefix: "cel",
    stored_form: typed_form::<BedrockCustomModelSpec>,
};

const DEPLOYMENT: Kind = Kind {
    resource: "bedrockcustommodeldeployment",
    api_version: || BedrockCustomModelDeployment::api_version(&()).into_owned(),
    kind: || BedrockCustomModelDeployment::kind(&()).into_owned(),
    api_resource: || ApiResource::erase::<BedrockCustomModelDeployment>(&()),
    name: deployment_cel_cases::NAME,
    namespace_prefix: "bcmd-cel",
    stored_form: typed_form::<BedrockCustomModelDeploymentSpec>,
};

const THROUGHPUT: Kind = Kind {
    resource: "bedrockprovisionedthroughput",
    api_version: || BedrockProvisionedThroughput::api_version(&()).into_owned(),
    kind: || BedrockProvisionedThroughput::kind(&()).into_owned(),
    api_resource: || ApiResource::erase::<BedrockProvisionedThroughput>(&()),
    name: throughput_cel_cases::NAME,
    namespace_prefix: "bpt-cel",
    stored_form: typed_form::<BedrockProvisionedThroughputSpec>,
};

const IMPORTED: Kind = Kind {
    resource: "bedrockimportedmodel",
    api_version: || BedrockImportedModel::api_version(&()).into_owned(),
    kind: || BedrockImportedModel::kind(&()).into_owned(),
    api_resource: || ApiResource::erase::<BedrockImportedModel>(&()),
    name: imported_cel_cases::NAME,
    namespace_prefix: "bim-cel",
    stored_form: typed_form::<BedrockImportedModelSpec>,
};

impl Kind {
    fn api(&self, plane: &ControlPlane, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(plane.client(), namespace, &(self.api_resource)())
    }

    /// The resource named [`Kind::name`] as a user (or, with a status, a client) would send it.
    fn object(&self, spec: &Value, status: Option<&Value>) -> Value {
        let mut object = json!({
            "apiVersion": (self.api_version)(),
            "kind": (self.kind)(),
            "metadata": { "name": self.name },
            "spec": spec,
        });
        if let Some(status) = status {
            object["status"] = status.clone();
        }
        object
    }
}

/// A BedrockCustomModel named [`NAME`] as a user (or, with a status, a client) would send it.
fn object(spec: &Value, status: Option<&Value>) -> Value {
    MODEL.object(spec, status)
}

/// Writes `status` as the operator does: server-side apply on the status subresource with the
/// operator's field manager.
async fn write_status(api: &Api<BedrockCustomModel>, name: &str, status: &Value) -> Result<()> {
    let patch = json!({
        "apiVersion": BedrockCustomModel::api_version(&()),
        "kind": BedrockCustomModel::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .with_context(|| format!("writing the status of {name}"))?;
    Ok(())
}

/// [`write_status`] for a resource of any kind.
async fn write_status_of(
    kind: &Kind,
    api: &Api<DynamicObject>,
    name: &str,
    status: &Value,
) -> Result<()> {
    let patch = json!({
        "apiVersion": (kind.api_version)(),
        "kind": (kind.kind)(),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .with_context(|| format!("writing the status of {name}"))?;
    Ok(())
}

/// Deletes the case's resource (it has no finalizer: gone when the call returns).
async fn delete(kind: &Kind, api: &Api<DynamicObject>) -> Result<()> {
    match api.delete(kind.name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(error) => Err(error).context("deleting the case's resource"),
    }
}

/// The stored spec in its typed form, or `None` when there is no such resource.
async fn stored_spec(kind: &Kind, api: &Api<DynamicObject>) -> Result<Option<Value>> {
    let Some(resource) = api.get_opt(kind.name).await? else {
        return Ok(None);
    };
    Ok(Some((kind.stored_form)(&resource.data["spec"])?))
}

/// The field errors in a refusal printed by kubectl: `(field path, "Type: message")`, in order.
/// kubectl prints the server's Status message, `... is invalid: spec.x: Forbidden: ...` for one
/// error and `... is invalid: [spec.x: Forbidden: ..., spec.y: Required value: ...]` for several.
fn field_errors(stderr: &str) -> Vec<(String, String)> {
    static FIELD_ERROR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\b((?:spec|status|metadata)(?:\.[A-Za-z0-9_-]+|\[[^\]]*\])*): (Required value|Forbidden|Invalid value|Unsupported value|Too long|Too many|Duplicate value|Not found|Internal error)",
        )
        .expect("a valid regex")
    });
    let found: Vec<_> = FIELD_ERROR.captures_iter(stderr).collect();
    found
        .iter()
        .enumerate()
        .map(|(index, capture)| {
            let whole = capture.get(0).expect("group 0 always matches");
            let end = found
                .get(index + 1)
                .and_then(|next| next.get(0))
                .map_or(stderr.len(), |next| next.start());
            let rest = stderr[whole.end()..end]
                .trim_start_matches(':')
                .trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ']');
            (
                capture[1].to_string(),
                format!("{}:{rest}", &capture[2]).trim().to_string(),
            )
        })
        .collect()
}

/// The server's verdict on one kubectl run: its field errors (none when it accepted).
fn verdict(run: &Run) -> std::result::Result<Vec<(String, String)>, String> {
    if run.success {
        return Ok(Vec::new());
    }
    let errors = field_errors(&run.stderr);
    if errors.is_empty() {
        // Not a validation verdict: kubectl or the request failed for another reason.
        return Err(format!(
            "kubectl failed without a field error: {}",
            run.stderr.trim()
        ));
    }
    Ok(errors)
}

/// Why `got` does not match `want` (in any order), if it does not.
fn mismatch(got: &[(String, String)], want: &[Failure]) -> Option<String> {
    let matched = want.iter().all(|w| {
        got.iter()
            .any(|(field, message)| field == w.field && message.contains(w.message))
    });
    (got.len() != want.len() || !matched).then(|| format!("expected {want:?}, got {got:?}"))
}

/// How the user meets the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    ServerSideApply,
    ClientSideApply,
    MergePatch,
}

impl Verb {
    const ALL: [Verb; 3] = [
        Self::ServerSideApply,
        Self::ClientSideApply,
        Self::MergePatch,
    ];

    fn describe(self) -> &'static str {
        match self {
            Self::ServerSideApply => "kubectl apply --server-side",
            Self::ClientSideApply => "kubectl apply",
            Self::MergePatch => "kubectl patch --type merge",
        }
    }

    fn namespace_prefix(self) -> &'static str {
        match self {
            Self::ServerSideApply => "ssa",
            Self::ClientSideApply => "csa",
            Self::MergePatch => "patch",
        }
    }

    /// How the user creates the resource before changing it with this verb.
    async fn create(self, kubectl: &Kubectl, namespace: &str, object: &Value) -> Result<Run> {
        let object = object.to_string();
        let args: &[&str] = match self {
            Self::ServerSideApply => &["apply", "--server-side", "-n", namespace, "-f", "-"],
            Self::ClientSideApply => &["apply", "-n", namespace, "-f", "-"],
            Self::MergePatch => &["create", "-n", namespace, "-f", "-"],
        };
        kubectl.run(args, Some(&object)).await
    }

    /// The user's change of the spec with this verb.
    async fn change(
        self,
        kind: &Kind,
        kubectl: &Kubectl,
        namespace: &str,
        case: &UpdateCase,
    ) -> Result<Run> {
        match self {
            Self::ServerSideApply | Self::ClientSideApply => {
                self.create(kubectl, namespace, &kind.object(&case.new_spec(), None))
                    .await
            }
            Self::MergePatch => {
                let patch = json!({ "spec": case.change }).to_string();
                kubectl
                    .run(
                        &[
                            "patch",
                            kind.resource,
                            kind.name,
                            "-n",
                            namespace,
                            "--type",
                            "merge",
                            "-p",
                            &patch,
                        ],
                        None,
                    )
                    .await
            }
        }
    }
}

/// Replays a creation case; returns what differs from the table, if anything.
async fn replay_create(
    kind: &Kind,
    kubectl: &Kubectl,
    api: &Api<DynamicObject>,
    namespace: &str,
    verb: Verb,
    case: &CreateCase,
) -> Result<Option<String>> {
    delete(kind, api).await?;
    let run = verb
        .create(
            kubectl,
            namespace,
            &kind.object(&case.spec, case.status.as_ref()),
        )
        .await?;
    let result = match verdict(&run) {
        Err(problem) => Some(problem),
        Ok(got) => match mismatch(&got, &case.want) {
            Some(problem) => Some(problem),
            None if case.want.is_empty() => {
                let stored = api
                    .get(kind.name)
                    .await
                    .context("reading the created resource")?;
                let spec = (kind.stored_form)(&stored.data["spec"])?;
                if spec != (kind.stored_form)(&case.spec)? {
                    Some(format!("accepted, but stored the spec {spec}"))
                } else {
                    stored.data.get("status").map(|status| {
                        format!("accepted, and kept the status {status} sent with the create")
                    })
                }
            }
            None => None,
        },
    };
    delete(kind, api).await?;
    Ok(result.map(|problem| format!("{} [{}]: {problem}", case.name, verb.describe())))
}

/// Replays an update case; returns what differs from the table, if anything.
async fn replay_update(
    kind: &Kind,
    kubectl: &Kubectl,
    api: &Api<DynamicObject>,
    namespace: &str,
    verb: Verb,
    case: &UpdateCase,
) -> Result<Option<String>> {
    delete(kind, api).await?;
    let created = verb
        .create(kubectl, namespace, &kind.object(&case.spec, None))
        .await?;
    if !created.success {
        bail!(
            "{}: creating the resource before the change failed: {}",
            case.name,
            created.stderr.trim()
        );
    }
    if let Some(status) = &case.status {
        write_status_of(kind, api, kind.name, status).await?;
    }
    let run = verb.change(kind, kubectl, namespace, case).await?;
    let result = match verdict(&run) {
        Err(problem) => Some(problem),
        Ok(got) => match mismatch(&got, &case.want) {
            Some(problem) => Some(problem),
            None => {
                // Accepted: the change is stored; refused: nothing changed.
                let expected = if case.want.is_empty() {
                    case.new_spec()
                } else {
                    case.spec.clone()
                };
                let stored = stored_spec(kind, api).await?;
                (stored.as_ref() != Some(&(kind.stored_form)(&expected)?)).then(|| {
                    format!(
                        "the verdict matched, but the stored spec is {stored:?}, not {expected}"
                    )
                })
            }
        },
    };
    delete(kind, api).await?;
    Ok(result.map(|problem| format!("{} [{}]: {problem}", case.name, verb.describe())))
}

/// Replays `cases` of `kind` with each of `verbs` (each verb in its own namespace, the verbs
/// concurrently) and fails with every case that differs from the table.
async fn replay_creates(
    kind: Kind,
    family: &str,
    cases: Vec<CreateCase>,
    verbs: &[Verb],
) -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let runs = verbs.iter().map(|&verb| {
        let (kubectl, cases, kind) = (&kubectl, &cases, &kind);
        async move {
            let namespace = plane
                .create_namespace(&format!(
                    "{}-{}",
                    kind.namespace_prefix,
                    verb.namespace_prefix()
                ))
                .await?;
            let api = kind.api(plane, &namespace);
            let mut problems = Vec::new();
            for case in cases {
                problems.extend(replay_create(kind, kubectl, &api, &namespace, verb, case).await?);
            }
            Ok::<_, anyhow::Error>(problems)
        }
    });
    let problems = try_join_all(runs).await?.concat();
    report(family, cases.len() * verbs.len(), problems)
}

/// [`replay_creates`] for update cases, with every verb.
async fn replay_updates(kind: Kind, family: &str, cases: Vec<UpdateCase>) -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let runs = Verb::ALL.iter().map(|&verb| {
        let (kubectl, cases, kind) = (&kubectl, &cases, &kind);
        async move {
            let namespace = plane
                .create_namespace(&format!(
                    "{}-{}",
                    kind.namespace_prefix,
                    verb.namespace_prefix()
                ))
                .await?;
            let api = kind.api(plane, &namespace);
            let mut problems = Vec::new();
            for case in cases {
                problems.extend(replay_update(kind, kubectl, &api, &namespace, verb, case).await?);
            }
            Ok::<_, anyhow::Error>(problems)
        }
    });
    let problems = try_join_all(runs).await?.concat();
    report(family, cases.len() * Verb::ALL.len(), problems)
}

fn report(family: &str, replays: usize, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        eprintln!("{family}: {replays} replays gave the table's verdict");
        return Ok(());
    }
    let mut text = format!(
        "{family}: {} of {replays} replays differ from the table (src/api/cel_cases.rs, deployment_cel_cases.rs, throughput_cel_cases.rs or imported_cel_cases.rs):",
        problems.len()
    );
    for problem in &problems {
        let _ = write!(text, "\n- {problem}");
    }
    bail!(text)
}

/// JSON equality with numbers compared by value: a schema's `minimum` is a float in the CRD
/// type, so the committed YAML says `1.0` where the server (Go's float64, printed as JSON) says
/// `1`; both are the same bound.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| same_json(x, y)))
        }
        _ => a == b,
    }
}

/// Applies the committed CRD `file` (named `name`, text `yaml`) with both kinds of apply,
/// then deletes it; returns what went wrong.
async fn apply_unchanged(
    kubectl: &Kubectl,
    file: &str,
    yaml: &str,
    name: &str,
) -> Result<Vec<String>> {
    let path = crd_path(file);
    let path = path.to_str().context("the CRD path is not UTF-8")?;
    let mut committed: Value = serde_yaml::from_str(yaml)?;
    // The one field the server defaults.
    let list_kind = format!(
        "{}List",
        committed["spec"]["names"]["kind"].as_str().unwrap_or("")
    );
    committed["spec"]["names"]["listKind"] = json!(list_kind);
    let mut problems = Vec::new();
    for (how, apply) in [
        (
            "kubectl apply --server-side",
            vec!["apply", "--server-side", "-f", path],
        ),
        ("kubectl apply", vec!["apply", "-f", path]),
    ] {
        let run = kubectl.run(&apply, None).await?;
        if !run.success {
            problems.push(format!(
                "{file}: {how} refused the CRD:\n{}",
                run.stderr.trim()
            ));
            continue;
        }
        if !run.stderr.trim().is_empty() {
            problems.push(format!("{file}: {how} printed:\n{}", run.stderr.trim()));
        }
        kubectl
            .ok(
                &[
                    "wait",
                    "--for=condition=Established",
                    &format!("crd/{name}"),
                    WAIT,
                ],
                None,
            )
            .await
            .with_context(|| {
                format!("{file}: the CRD applied with {how} did not become Established")
            })?;
        let stored: Value = serde_json::from_str(
            &kubectl
                .ok(&["get", "crd", name, "-o", "json"], None)
                .await?
                .stdout,
        )?;
        for part in ["group", "names", "scope", "versions"] {
            if !same_json(&stored["spec"][part], &committed["spec"][part]) {
                problems.push(format!(
                    "{file}: {how}: the stored spec.{part} differs from the file:\n  stored: {}\n  file:   {}",
                    stored["spec"][part], committed["spec"][part]
                ));
            }
        }
        // A list of the kind first, so that the API server's handler of custom resources has
        // caught up with this CRD before the deletion's clean-up of instances asks it for them:
        // a clean-up that fails is retried with a backoff that doubles each time, and once (on
        // a machine loaded with other builds) the deletion outlasted the wait below.
        kubectl.ok(&["get", name, "-A"], None).await?;
        kubectl
            .ok(&["delete", "-f", path, "--wait=true", WAIT_CRD_GONE], None)
            .await?;
    }
    Ok(problems)
}

#[tokio::test]
async fn committed_crds_apply_unchanged_with_kubectl() -> Result<()> {
    let plane = ControlPlane::start().await?;
    let kubectl = Kubectl::new(&plane).await?;
    let mut problems = apply_unchanged(&kubectl, CRD_FILE, CRD_YAML, CRD_NAME).await?;
    problems.extend(
        apply_unchanged(
            &kubectl,
            DEPLOYMENT_CRD_FILE,
            DEPLOYMENT_CRD_YAML,
            DEPLOYMENT_CRD_NAME,
        )
        .await?,
    );
    problems.extend(
        apply_unchanged(
            &kubectl,
            THROUGHPUT_CRD_FILE,
            THROUGHPUT_CRD_YAML,
            THROUGHPUT_CRD_NAME,
        )
        .await?,
    );
    problems.extend(
        apply_unchanged(
            &kubectl,
            IMPORTED_CRD_FILE,
            IMPORTED_CRD_YAML,
            IMPORTED_CRD_NAME,
        )
        .await?,
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[tokio::test]
async fn creation_rules_on_the_server() -> Result<()> {
    replay_creates(
        MODEL,
        "creation rules",
        cel_cases::creation_cases(),
        &[Verb::ServerSideApply, Verb::ClientSideApply],
    )
    .await
}

#[tokio::test]
async fn creation_ignores_the_transition_rules_on_the_server() -> Result<()> {
    replay_creates(
        MODEL,
        "creation with a status",
        cel_cases::creation_with_status_cases(),
        &[Verb::ServerSideApply, Verb::ClientSideApply],
    )
    .await
}

#[tokio::test]
async fn immutability_rules_on_the_server() -> Result<()> {
    replay_updates(MODEL, "immutability rules", cel_cases::immutability_cases()).await
}

#[tokio::test]
async fn update_rules_still_apply_creation_rules_on_the_server() -> Result<()> {
    replay_updates(
        MODEL,
        "creation rules on update",
        cel_cases::update_creation_rule_cases(),
    )
    .await
}

#[tokio::test]
async fn deployment_bad_inputs_on_the_server() -> Result<()> {
    replay_creates(
        DEPLOYMENT,
        "deployment bad inputs",
        deployment_cel_cases::bad_inputs()
            .into_iter()
            .map(|input| input.case)
            .collect(),
        &[Verb::ServerSideApply, Verb::ClientSideApply],
    )
    .await
}

#[tokio::test]
async fn deployment_valid_specs_on_the_server() -> Result<()> {
    replay_creates(
        DEPLOYMENT,
        "deployment valid specs",
        deployment_cel_cases::valid_creates(),
        &[Verb::ServerSideApply, Verb::ClientSideApply],
    )
    .await
}

#[tokio::test]
async fn deployment_immutability_rules_on_the_server() -> Result<()> {
    replay_updates(
        DEPLOYMENT,
        "deployment immutability rules",
        deployment_cel_cases::immutability_cases(),
    )
    .await
}

#[tokio::test]
async fn deployment_update_rules_still_apply_creation_rules_on_the_server() -> Result<()> {
    replay_updates(
        DEPLOYMENT,
        "deployment creation rules on update",
        deployment_cel_cases::update_creation_rule_cases(),
    )
    .await
}

#[tokio::test]
async fn throughput_bad_inputs_on_the_server() -> Result<()> {
    replay_creates(
        THROUGHPUT,
        "throughput bad inputs",
        throughput_cel_cases::bad_inputs()
            .into_iter()
            .map(|input| input.case)
            .collect(),
        &[Verb::ServerSideApply, Verb::ClientSideApply],
    )
    .await
}

#[tokio::test]
async fn throughput_valid_specs_on_the_server() -> Result<()> {
    replay_creates(
        THROUGHPUT,
        "throughput valid specs",
        throughput_cel_cases::valid_creates(),
        &[Verb::ServerSideApply, Verb::ClientSideApply],
    )
    .await
}

#[tokio::test]
async fn throughput_immutability_rules_on_the_server() -> Result<()> {
    replay_updates(
        THROUGHPUT,
        "throughput immutability rules",
        throughput_cel_cases::immutability_cases(),
    )
    .await
}

#[tokio::test]
async fn throughput_update_rules_still_apply_schema_and_creation_rules_on_the_server() -> Result<()>
{
    replay_updates(
        THROUGHPUT,
        "throughput schema and creation rules on update",
        throughput_cel_cases::update_creation_rule_cases(),
    )
    .await
}

#[tokio::test]
async fn imported_bad_inputs_on_the_server() -> Result<()> {
    replay_creates(
        IMPORTED,
        "imported model bad inputs",
        imported_cel_cases::bad_inputs()
            .into_iter()
            .map(|input| input.case)
            .collect(),
        &[Verb::ServerSideApply, Verb::ClientSideApply],
    )
    .await
}

#[tokio::test]
async fn imported_valid_specs_on_the_server() -> Result<()> {
    replay_creates(
        IMPORTED,
        "imported model valid specs",
        imported_cel_cases::valid_creates(),
        &[Verb::ServerSideApply, Verb::ClientSideApply],
    )
    .await
}

#[tokio::test]
async fn imported_immutability_rules_on_the_server() -> Result<()> {
    replay_updates(
        IMPORTED,
        "imported model immutability rules",
        imported_cel_cases::immutability_cases(),
    )
    .await
}

#[tokio::test]
async fn imported_update_rules_still_apply_schema_and_creation_rules_on_the_server() -> Result<()> {
    replay_updates(
        IMPORTED,
        "imported model schema and creation rules on update",
        imported_cel_cases::update_creation_rule_cases(),
    )
    .await
}

/// Collapses whitespace runs, so that text kubectl wrapped compares with the original.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn kubectl_explain_prints_the_field_descriptions() -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let printed = kubectl
        .ok(&["explain", "bedrockcustommodel.spec.source"], None)
        .await?
        .stdout;
    let printed = words(&printed);
    // The descriptions are the Rust doc comments of ModelSource and its fields.
    let generated = serde_json::to_value(crd::crd())?;
    let source = &generated["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["source"];
    let mut missing = Vec::new();
    for (what, description) in [
        ("spec.source", &source["description"]),
        (
            "spec.source.s3Uri",
            &source["properties"]["s3Uri"]["description"],
        ),
        (
            "spec.source.modelPackageArn",
            &source["properties"]["modelPackageArn"]["description"],
        ),
    ] {
        let description = words(description.as_str().context("a description")?);
        if !printed.contains(&description) {
            missing.push(format!("{what}: {description:?}"));
        }
    }
    for expected in [
        "Where the model artifacts come from: exactly one of s3Uri or modelPackageArn.",
        "s3Uri <string>",
        "modelPackageArn <string>",
    ] {
        if !printed.contains(expected) {
            missing.push(format!("{expected:?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "kubectl explain bedrockcustommodel.spec.source lacks {missing:?}; it printed:\n{printed}"
    );
    Ok(())
}

/// A Ready (or not Ready) status as the operator writes it.
fn ready_status(ready: bool) -> Value {
    let (status, reason, model_status) = if ready {
        ("True", conditions::reason::ACTIVE, "Active")
    } else {
        ("False", conditions::reason::CREATING, "Creating")
    };
    json!({
        "observedGeneration": 1,
        "modelArn": cel_cases::ARN,
        "modelName": "nova-support",
        "modelStatus": model_status,
        "conditions": [{
            "type": conditions::READY,
            "status": status,
            "reason": reason,
            "message": "as the operator would say it",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
            "observedGeneration": 1,
        }],
    })
}

/// Creates the resource [`NAME`] in a new namespace with `kubectl apply`.
async fn new_resource(
    plane: &ControlPlane,
    kubectl: &Kubectl,
    prefix: &str,
) -> Result<(String, Api<BedrockCustomModel>)> {
    let namespace = plane.create_namespace(prefix).await?;
    kubectl
        .ok(
            &["apply", "-n", &namespace, "-f", "-"],
            Some(&object(&cel_cases::spec(), None).to_string()),
        )
        .await?;
    let api = Api::namespaced(plane.client(), &namespace);
    Ok((namespace, api))
}

/// The rows of a `kubectl get` table, split on whitespace.
fn table(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn kubectl_get_prints_the_printer_columns() -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let (namespace, api) = new_resource(plane, &kubectl, "get-columns").await?;
    write_status(&api, NAME, &ready_status(true)).await?;

    let rows = table(
        &kubectl
            .ok(&["get", "bcm", "-n", &namespace], None)
            .await?
            .stdout,
    );
    assert_eq!(
        rows.first().map(Vec::as_slice),
        Some(&["NAME", "MODEL", "STATUS", "READY", "AGE"].map(String::from)[..]),
        "kubectl get bcm: {rows:?}"
    );
    assert_eq!(rows.len(), 2, "kubectl get bcm: {rows:?}");
    assert_eq!(
        rows[1][..4],
        [NAME, "nova-support", "Active", "True"].map(String::from),
        "kubectl get bcm: {rows:?}"
    );

    let wide = table(
        &kubectl
            .ok(&["get", "bcm", "-n", &namespace, "-o", "wide"], None)
            .await?
            .stdout,
    );
    assert_eq!(
        wide.first().map(Vec::as_slice),
        Some(&["NAME", "MODEL", "STATUS", "READY", "AGE", "ARN", "REASON"].map(String::from)[..]),
        "kubectl get bcm -o wide: {wide:?}"
    );
    assert_eq!(wide.len(), 2, "kubectl get bcm -o wide: {wide:?}");
    assert_eq!(
        wide[1][5..],
        [cel_cases::ARN, conditions::reason::ACTIVE].map(String::from),
        "kubectl get bcm -o wide: {wide:?}"
    );

    // The category: `kubectl get bedrock` lists it too.
    let category = table(
        &kubectl
            .ok(&["get", "bedrock", "-n", &namespace], None)
            .await?
            .stdout,
    );
    assert!(
        category.iter().any(|row| row
            .first()
            .is_some_and(|name| name.ends_with(&format!("/{NAME}")) || name == NAME)),
        "kubectl get bedrock: {category:?}"
    );
    Ok(())
}

/// An Active, Ready deployment's status as the operator writes it.
fn deployment_ready_status() -> Value {
    json!({
        "observedGeneration": 1,
        "deploymentArn": deployment_cel_cases::DEPLOYMENT_ARN,
        "modelDeploymentName": "nova-support",
        "modelArn": deployment_cel_cases::MODEL_ARN,
        "desiredModelArn": deployment_cel_cases::MODEL_ARN,
        "deploymentStatus": "Active",
        "updateStatus": "UpdateCompleted",
        "conditions": [{
            "type": conditions::READY,
            "status": "True",
            "reason": conditions::reason::ACTIVE,
            "message": "as the operator would say it",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
            "observedGeneration": 1,
        }],
    })
}

#[tokio::test]
async fn kubectl_get_prints_the_deployment_printer_columns() -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let namespace = plane.create_namespace("bcmd-columns").await?;
    kubectl
        .ok(
            &["apply", "-n", &namespace, "-f", "-"],
            Some(
                &DEPLOYMENT
                    .object(&deployment_cel_cases::spec(), None)
                    .to_string(),
            ),
        )
        .await?;
    let api = DEPLOYMENT.api(plane, &namespace);
    write_status_of(
        &DEPLOYMENT,
        &api,
        DEPLOYMENT.name,
        &deployment_ready_status(),
    )
    .await?;

    let rows = table(
        &kubectl
            .ok(&["get", "bcmd", "-n", &namespace], None)
            .await?
            .stdout,
    );
    assert_eq!(
        rows.first().map(Vec::as_slice),
        Some(&["NAME", "DEPLOYMENT", "MODEL", "STATUS", "READY", "AGE"].map(String::from)[..]),
        "kubectl get bcmd: {rows:?}"
    );
    assert_eq!(rows.len(), 2, "kubectl get bcmd: {rows:?}");
    assert_eq!(
        rows[1][..5],
        [
            deployment_cel_cases::NAME,
            "nova-support",
            deployment_cel_cases::MODEL_ARN,
            "Active",
            "True",
        ]
        .map(String::from),
        "kubectl get bcmd: {rows:?}"
    );

    let wide = table(
        &kubectl
            .ok(&["get", "bcmd", "-n", &namespace, "-o", "wide"], None)
            .await?
            .stdout,
    );
    assert_eq!(
        wide.first().map(Vec::as_slice),
        Some(
            &[
                "NAME",
                "DEPLOYMENT",
                "MODEL",
                "STATUS",
                "READY",
                "AGE",
                "ARN",
                "UPDATE",
                "REASON",
            ]
            .map(String::from)[..]
        ),
        "kubectl get bcmd -o wide: {wide:?}"
    );
    assert_eq!(
        wide[1][6..],
        [
            deployment_cel_cases::DEPLOYMENT_ARN,
            "UpdateCompleted",
            conditions::reason::ACTIVE,
        ]
        .map(String::from),
        "kubectl get bcmd -o wide: {wide:?}"
    );

    // The category: `kubectl get bedrock` lists deployments next to models.
    let category = table(
        &kubectl
            .ok(&["get", "bedrock", "-n", &namespace], None)
            .await?
            .stdout,
    );
    assert!(
        category.iter().any(|row| row.first().is_some_and(|name| {
            name.starts_with("bedrockcustommodeldeployment")
                && name.ends_with(&format!("/{}", deployment_cel_cases::NAME))
        })),
        "kubectl get bedrock: {category:?}"
    );

    // The operator's typed view reads what the server stored.
    let typed: Api<BedrockCustomModelDeployment> = Api::namespaced(plane.client(), &namespace);
    let stored = typed.get(deployment_cel_cases::NAME).await?;
    let status = stored
        .status
        .context("the stored deployment has a status")?;
    assert_eq!(
        status.deployment_status,
        Some(bedrock_operator::api::DeploymentStatus::Active)
    );
    assert_eq!(
        status.update_status,
        Some(bedrock_operator::api::UpdateStatus::UpdateCompleted)
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_explain_prints_the_deployment_field_descriptions() -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let printed = words(
        &kubectl
            .ok(&["explain", "bcmd.spec.modelRef"], None)
            .await?
            .stdout,
    );
    let generated = serde_json::to_value(crd::deployment_crd())?;
    let model_ref = &generated["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["modelRef"];
    let mut missing = Vec::new();
    for (what, description) in [
        ("spec.modelRef", &model_ref["description"]),
        (
            "spec.modelRef.name",
            &model_ref["properties"]["name"]["description"],
        ),
    ] {
        let description = words(description.as_str().context("a description")?);
        if !printed.contains(&description) {
            missing.push(format!("{what}: {description:?}"));
        }
    }
    for expected in [
        "name <string> -required-",
        "references stay in the namespace",
    ] {
        if !printed.contains(expected) {
            missing.push(format!("{expected:?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "kubectl explain bcmd.spec.modelRef lacks {missing:?}; it printed:\n{printed}"
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_wait_times_out_while_not_ready() -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let (namespace, api) = new_resource(plane, &kubectl, "wait-timeout").await?;
    write_status(&api, NAME, &ready_status(false)).await?;

    let target = format!("bcm/{NAME}");
    let run = kubectl
        .run(
            &[
                "wait",
                "--for=condition=Ready",
                &target,
                "-n",
                &namespace,
                "--timeout=3s",
            ],
            None,
        )
        .await?;
    assert!(
        !run.success,
        "kubectl wait returned success while Ready is False: {run:?}"
    );
    assert!(
        run.stderr.contains("timed out"),
        "kubectl wait should say it timed out: {run:?}"
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_wait_returns_once_ready() -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let (namespace, api) = new_resource(plane, &kubectl, "wait-ready").await?;
    write_status(&api, NAME, &ready_status(false)).await?;

    let target = format!("bcm/{NAME}");
    let mut waiting = kubectl.spawn(&[
        "wait",
        "--for=condition=Ready",
        &target,
        "-n",
        &namespace,
        WAIT,
    ])?;
    if let Some(exit) = waiting.try_wait()? {
        bail!("kubectl wait ended ({exit}) while Ready was False");
    }
    write_status(&api, NAME, &ready_status(true)).await?;
    let run = tokio::time::timeout(DEADLINE, finish(waiting))
        .await
        .context("kubectl wait did not return after Ready became True")??;
    assert!(
        run.success,
        "kubectl wait failed once Ready was True: {run:?}"
    );
    assert!(
        run.stdout.contains("condition met"),
        "kubectl wait should report the condition met: {run:?}"
    );
    Ok(())
}

/// An InService, Ready, committed throughput's status as the operator writes it.
fn throughput_ready_status() -> Value {
    json!({
        "observedGeneration": 1,
        "provisionedModelArn": throughput_cel_cases::THROUGHPUT_ARN,
        "provisionedModelName": "nova-support-pt",
        "region": "us-east-1",
        "throughputStatus": "InService",
        "modelArn": throughput_cel_cases::MODEL_ARN,
        "desiredModelArn": throughput_cel_cases::MODEL_ARN,
        "modelUnits": 2,
        "commitmentDuration": "OneMonth",
        "commitmentExpirationTime": "2027-01-05T10:00:00Z",
        "conditions": [{
            "type": conditions::READY,
            "status": "True",
            "reason": conditions::reason::IN_SERVICE,
            "message": "as the operator would say it",
            "lastTransitionTime": "2025-01-01T00:00:00Z",
            "observedGeneration": 1,
        }],
    })
}

/// `kubectl get bpt` shows the units in service and when the commitment term ends (as a time:
/// a date column in the future would print as invalid), `-o wide` the ARN and the term.
#[tokio::test]
async fn kubectl_get_prints_the_throughput_printer_columns() -> Result<()> {
    let plane = plane().await?;
    let kubectl = Kubectl::new(plane).await?;
    let namespace = plane.create_namespace("bpt-columns").await?;
    kubectl
        .ok(
            &["apply", "-n", &namespace, "-f", "-"],
            Some(
                &THROUGHPUT
                    .object(&throughput_cel_cases::spec(), None)
                    .to_string(),
            ),
        )
        .await?;
    let api = THROUGHPUT.api(plane, &namespace);
    write_status_of(
        &THROUGHPUT,
        &api,
        THROUGHPUT.name,
        &throughput_ready_status(),
    )
    .await?;

    let rows = table(
        &kubectl
            .ok(&["get", "bpt", "-n", &namespace], None)
            .await?
            .stdout,
    );
    assert_eq!(
        rows.first().map(Vec::as_slice),
        Some(
            &[
                "NAME",
                "THROUGHPUT",
                "MODEL",
                "UNITS",
                "STATUS",
                "COMMITMENT",
                "ENDS",
                "READY",
                "AGE"
            ]
            .map(String::from)[..]
        ),
        "kubectl get bpt: {rows:?}"
    );
    assert_eq!(rows.len(), 2, "kubectl get bpt: {rows:?}");
    assert_eq!(
        rows[1][..7],
        [
            throughput_cel_cases::NAME,
            "nova-support-pt",
            throughput_cel_cases::MODEL_ARN,
            "2",
            "InService",
            "2027-01-05T10:00:00Z",
            "True",
        ]
        .map(String::from),
        "kubectl get bpt: {rows:?}"
    );

    let wide = table(
        &kubectl
            .ok(&["get", "bpt", "-n", &namespace, "-o", "wide"], None)
            .await?
            .stdout,
    );
    assert_eq!(
        wide[1][8..],
        [
            throughput_cel_cases::THROUGHPUT_ARN,
            "OneMonth",
            conditions::reason::IN_SERVICE,
        ]
        .map(String::from),
        "kubectl get bpt -o wide: {wide:?}"
    );

    // The category: `kubectl get bedrock` lists throughputs too.
    let category = table(
        &kubectl
            .ok(&["get", "bedrock", "-n", &namespace], None)
            .await?
            .stdout,
    );
    assert!(
        category.iter().any(|row| row.first().is_some_and(|name| {
            name.starts_with("bedrockprovisionedthroughput")
                && name.ends_with(&format!("/{}", throughput_cel_cases::NAME))
        })),
        "kubectl get bedrock: {category:?}"
    );
    Ok(())
}
