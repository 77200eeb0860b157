//! The Argo CD health checks, one per kind (docs/argocd/health.lua for BedrockCustomModel,
//! docs/argocd/resource_customizations/…/<kind>/health.lua for BedrockCustomModelDeployment
//! and BedrockProvisionedThroughput), run the way Argo CD runs them: by testkit's `argocd-lua`
//! (testkit/go/argocd-lua), which embeds Argo CD's Lua interpreter, gopher-lua (Lua 5.1), and
//! repeats what Argo CD does around it. An object being deleted is Progressing "Pending
//! deletion" before any script runs; a script installed through argocd-cm gets no `string`,
//! `math` or `os`; numbers arrive as floats and JSON nulls are dropped; an error is Unknown with
//! the error's text.
//!
//! - Live objects: each test drives the real operator into a state, takes the object from the
//!   API server and checks the health Argo CD would show. The same objects are the testdata of
//!   the contribution layout (docs/argocd/resource_customizations/<group>/<kind>/): with
//!   `BEDROCK_OPERATOR_WRITE_TESTDATA=1` the tests rewrite them and health_test.yaml; without,
//!   they check that the committed ones still stand for what the operator produces.
//! - Edge objects: hand-written, one test per topic, judged by every script where the topic is
//!   shared, and by the deployment's or the throughput's alone for their model swaps, the model
//!   they reference and (throughputs) what a commitment term changes.
//! - One script per kind: the argocd-cm snippet carries each, byte for byte, under its kind's
//!   key, and every verdict is checked to be the same with argocd-cm's libraries, with every
//!   library (useOpenLibs, and how Argo CD runs the scripts it bundles) and run on its own (as
//!   Argo CD's test of resource_customizations runs it, without the deletion rule).
//!
//! The tests of one kind are in `model.rs`, `deployment.rs`, `throughput.rs` and `imported.rs`; those that span
//! the kinds, and argocd-lua's own, in `common.rs`. This file holds what they share: the checks,
//! running argocd-lua, waiting for and judging live objects, keeping testdata, and the builders
//! of edge objects.

mod common;
mod deployment;
mod imported;
mod model;
mod throughput;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::deployment::BedrockCustomModelDeployment;
use bedrock_operator::api::throughput::BedrockProvisionedThroughput;
use bedrock_operator::api::{BedrockCustomModel, BedrockImportedModel};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use testkit::gotools::ARGOCD_LUA;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::harness::{DEADLINE, World, tail};

/// Set to 1 to rewrite the contribution layout's testdata from the live objects.
const WRITE_TESTDATA_ENV: &str = "BEDROCK_OPERATOR_WRITE_TESTDATA";
/// Long enough that a model stays Creating (or a deployment or throughput Creating or
/// Updating) for the whole test.
const FOREVER: Duration = Duration::from_secs(600);
/// How long the emulator keeps a deployment (or throughput) Creating, or Updating, when a test
/// does not wait on that state.
const QUICK_MS: u64 = 500;
const POLL: Duration = Duration::from_millis(100);
/// What Argo CD shows for any object with a deletionTimestamp (gitops-engine's health.go).
const PENDING_DELETION: &str = "Pending deletion";

/// The health check of one kind: the resource it judges, its script and the live states kept
/// as the testdata of its contribution layout.
#[derive(Debug, Clone, Copy)]
struct Check {
    resource: fn() -> ApiResource,
    /// The script argocd-cm installs, relative to docs/argocd.
    script: &'static str,
    /// The live states kept as testdata, by file stem: every state the live tests produce.
    live_states: &'static [&'static str],
}

const MODEL: Check = Check {
    resource: || ApiResource::erase::<BedrockCustomModel>(&()),
    // Kept byte for byte in the contribution layout too (a test checks it).
    script: "health.lua",
    live_states: &[
        "creating",
        "active",
        "failed",
        "invalid_spec",
        "name_conflict",
        "access_denied",
        "immutable_field_changed",
        "deletion_blocked",
        "generation_not_observed",
        "deleting",
        "throttled",
        "bedrock_unavailable",
    ],
};

const DEPLOYMENT: Check = Check {
    resource: || ApiResource::erase::<BedrockCustomModelDeployment>(&()),
    // The contribution layout's script is the one argocd-cm installs.
    script: "resource_customizations/bedrock-operator.dev/BedrockCustomModelDeployment/health.lua",
    live_states: &[
        "creating",
        "active",
        "failed",
        "model_not_ready",
        "model_not_found",
        "model_failed",
        "model_deleting",
        "invalid_spec",
        "name_conflict",
        "export_conflict",
        "updating",
        "update_failed",
        "generation_not_observed",
        "deleting",
    ],
};

const THROUGHPUT: Check = Check {
    resource: || ApiResource::erase::<BedrockProvisionedThroughput>(&()),
    // As the deployment's: the contribution layout's script is the one argocd-cm installs.
    script: "resource_customizations/bedrock-operator.dev/BedrockProvisionedThroughput/health.lua",
    live_states: &[
        "creating",
        "in_service",
        "failed",
        "quota_exceeded",
        "model_not_ready",
        "model_not_found",
        "model_failed",
        "invalid_spec",
        "name_conflict",
        "export_conflict",
        "updating",
        "throughput_missing",
        "deletion_blocked",
        "generation_not_observed",
        "deleting",
    ],
};

const IMPORTED: Check = Check {
    resource: || ApiResource::erase::<BedrockImportedModel>(&()),
    // As the deployment's: the contribution layout's script is the one argocd-cm installs.
    script: "resource_customizations/bedrock-operator.dev/BedrockImportedModel/health.lua",
    live_states: &[
        "creating",
        "active",
        "failed",
        "invalid_spec",
        "name_conflict",
        "access_denied",
        "deletion_blocked",
        "generation_not_observed",
        "deleting",
        "throttled",
        "bedrock_unavailable",
    ],
};

/// Every kind with a health check, in the order argocd-cm lists them.
const CHECKS: &[Check] = &[MODEL, DEPLOYMENT, IMPORTED, THROUGHPUT];

fn argocd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/argocd")
}

impl Check {
    fn kind(&self) -> String {
        (self.resource)().kind
    }

    fn script(&self) -> PathBuf {
        argocd_dir().join(self.script)
    }

    /// Argo CD's resource_customizations/<group>/<kind>/ layout, for a contribution upstream.
    fn contribution_dir(&self) -> PathBuf {
        let resource = (self.resource)();
        argocd_dir()
            .join("resource_customizations")
            .join(resource.group)
            .join(resource.kind)
    }

    /// The argocd-cm key Argo CD (2.1 and later) reads this kind's health script from.
    fn argocd_cm_key(&self) -> String {
        let resource = (self.resource)();
        format!(
            "resource.customizations.health.{}_{}",
            resource.group, resource.kind
        )
    }

    /// The live objects of this kind in the world's namespace.
    fn api(&self, world: &World) -> Api<DynamicObject> {
        Api::namespaced_with(world.plane.client(), &world.namespace, &(self.resource)())
    }
}

/// What Argo CD shows for an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Health {
    status: String,
    message: String,
}

/// How `argocd-lua` runs the script.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// As Argo CD runs a script from argocd-cm: base, table and package libraries only, and a
    /// deleted object Pending deletion without the script.
    ArgocdCm,
    /// With every library: `resource.customizations.useOpenLibs.<group>_<kind>: "true"`, and
    /// how Argo CD runs the scripts it bundles.
    OpenLibs,
    /// The script alone on every object, deleted or not, as Argo CD's own tests run it.
    ScriptOnly,
}

impl Mode {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Mode::ArgocdCm => &[],
            Mode::OpenLibs => &["-open-libs"],
            Mode::ScriptOnly => &["-script-only"],
        }
    }
}

/// testkit's argocd-lua, built once per machine.
async fn argocd_lua() -> Result<PathBuf> {
    let bin = tokio::task::spawn_blocking(|| ARGOCD_LUA.ensure())
        .await
        .context("building argocd-lua")??;
    Ok(bin.join("argocd-lua"))
}

/// Runs `argocd-lua` with `args` and `input` on stdin; its stdout, or an error with its stderr.
async fn run_argocd_lua(args: &[&str], input: &[u8]) -> Result<(bool, String)> {
    let mut child = Command::new(argocd_lua().await?)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting argocd-lua")?;
    let mut stdin = child.stdin.take().context("argocd-lua's stdin")?;
    stdin.write_all(input).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    ensure!(
        output.status.code().is_some_and(|code| code < 2),
        "argocd-lua {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

/// The health of each object with `script` under `mode`.
async fn health_under(script: &Path, mode: Mode, objects: &[Value]) -> Result<Vec<Health>> {
    let script = script.to_str().context("the script's path is not UTF-8")?;
    let mut args = vec!["health"];
    args.extend(mode.flags());
    args.push(script);
    let (_, stdout) = run_argocd_lua(&args, &serde_json::to_vec(objects)?).await?;
    let healths: Vec<Health> =
        serde_json::from_str(&stdout).with_context(|| format!("argocd-lua printed {stdout}"))?;
    ensure!(
        healths.len() == objects.len(),
        "argocd-lua printed {stdout}"
    );
    Ok(healths)
}

/// What Argo CD shows for each object with the kind's script installed through argocd-cm.
/// Fails if the script answers anything else with every library open or when run on its own:
/// it must not matter how Argo CD runs it.
async fn argo_health(check: Check, objects: &[Value]) -> Result<Vec<Health>> {
    let script = check.script();
    let shown = health_under(&script, Mode::ArgocdCm, objects).await?;
    for mode in [Mode::OpenLibs, Mode::ScriptOnly] {
        let other = health_under(&script, mode, objects).await?;
        for ((object, argocd_cm), answer) in objects.iter().zip(&shown).zip(&other) {
            ensure!(
                argocd_cm == answer,
                "{} says {answer:?} in mode {mode:?} but {argocd_cm:?} as an argocd-cm script\nobject: {object}",
                check.script
            );
        }
    }
    Ok(shown)
}

async fn health_of(check: Check, object: &Value) -> Result<Health> {
    argo_health(check, std::slice::from_ref(object))
        .await?
        .pop()
        .context("one health for one object")
}

/// The resource exactly as the API server returns it, as JSON.
async fn live_json(world: &World, check: Check, name: &str) -> Result<Option<Value>> {
    Ok(match check.api(world).get_opt(name).await? {
        Some(object) => Some(serde_json::to_value(object)?),
        None => None,
    })
}

/// Waits until the live object satisfies `wanted`, and returns that very object.
async fn wait_json(
    world: &World,
    check: Check,
    name: &str,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let mut last = None;
    let found = testkit::wait::until(
        format!("{} {name} to become {what}", check.kind()),
        DEADLINE,
        POLL,
        async || {
            let seen = live_json(world, check, name).await?;
            if seen.as_ref().is_some_and(&wanted) {
                return Ok(seen);
            }
            last = seen.or(last.take());
            Ok(None)
        },
    )
    .await;
    found.with_context(|| {
        format!(
            "last seen: {}\noperator log tail:\n{}",
            serde_json::to_string_pretty(&last).unwrap_or_default(),
            tail(&world.operator_logs(), 40)
        )
    })
}

/// (status, reason, message, observedGeneration) of a condition in a JSON object.
fn condition_in(object: &Value, type_: &str) -> Option<(String, String, String, Option<i64>)> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
                c["observedGeneration"].as_i64(),
            )
        })
}

/// The object once `type_` has `reason` for the current generation.
async fn wait_reason_json(
    world: &World,
    check: Check,
    name: &str,
    type_: &str,
    reason: &str,
) -> Result<Value> {
    wait_json(world, check, name, &format!("{type_} {reason}"), |object| {
        condition_in(object, type_).is_some_and(|c| {
            c.1 == reason && c.3.is_some() && c.3 == object["metadata"]["generation"].as_i64()
        })
    })
    .await
}

/// Checks the health of `object`: its status, and that the message is the message of the
/// condition `type_`.
async fn assert_health(check: Check, object: &Value, status: &str, type_: &str) -> Result<Health> {
    let health = health_of(check, object).await?;
    let (_, reason, message, _) =
        condition_in(object, type_).with_context(|| format!("no {type_} condition in {object}"))?;
    assert_eq!(
        health.status, status,
        "{type_} reason {reason}: {health:?}\nobject: {object}"
    );
    assert_eq!(
        health.message, message,
        "the health message is the {type_} condition's ({reason})"
    );
    assert!(!health.message.is_empty(), "{health:?}");
    Ok(health)
}

/// Checks that `object` is Progressing "Pending deletion", as Argo CD shows every object with a
/// deletionTimestamp.
async fn assert_pending_deletion(check: Check, object: &Value) -> Result<Health> {
    assert!(
        object["metadata"]["deletionTimestamp"].is_string(),
        "{object}"
    );
    let health = health_of(check, object).await?;
    assert_eq!(
        health,
        Health {
            status: "Progressing".into(),
            message: PENDING_DELETION.into(),
        },
        "object: {object}"
    );
    Ok(health)
}

/// health_test.yaml of a contribution layout.
#[derive(Debug, Default, Serialize, Deserialize)]
struct HealthTests {
    tests: Vec<HealthTest>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthTest {
    health_status: Health,
    input_path: String,
}

impl HealthTests {
    fn read(check: Check) -> Result<Self> {
        let path = check.contribution_dir().join("health_test.yaml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

fn writing_testdata() -> bool {
    std::env::var(WRITE_TESTDATA_ENV).is_ok_and(|v| v == "1" || v == "true")
}

/// What must still hold between a committed testdata object and the live object of its state.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    being_deleted: bool,
    /// (status, reason) of Ready and of Synced.
    ready: Option<(String, String)>,
    synced: Option<(String, String)>,
    /// A deployment's model swap: Updating, UpdateCompleted or UpdateFailed (models have none).
    update_status: Option<String>,
    /// A throughput's status in Bedrock: Creating, InService, Updating or Failed.
    throughput_status: Option<String>,
}

impl Shape {
    fn of(object: &Value) -> Self {
        let condition =
            |type_| condition_in(object, type_).map(|(status, reason, ..)| (status, reason));
        Shape {
            being_deleted: object["metadata"]["deletionTimestamp"].is_string(),
            ready: condition(READY),
            synced: condition(SYNCED),
            update_status: object["status"]["updateStatus"]
                .as_str()
                .map(str::to_string),
            throughput_status: object["status"]["throughputStatus"]
                .as_str()
                .map(str::to_string),
        }
    }
}

/// Keeps a live object of `state` as testdata/`state`.yaml of the kind's contribution layout,
/// with the health it got in health_test.yaml (when `BEDROCK_OPERATOR_WRITE_TESTDATA=1`);
/// otherwise checks that the committed object is still of the same shape and health.
fn keep_as_testdata(check: Check, state: &str, object: &Value, health: &Health) -> Result<()> {
    assert!(
        check.live_states.contains(&state),
        "{state} is a live state of {}",
        check.kind()
    );
    let dir = check.contribution_dir();
    let input_path = format!("testdata/{state}.yaml");
    let path = dir.join(&input_path);
    if !writing_testdata() {
        let hint = format!("regenerate with {WRITE_TESTDATA_ENV}=1 (docs/argocd.md)");
        let committed: Value = serde_yaml::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}: {hint}", path.display()))?,
        )?;
        assert_eq!(
            Shape::of(&committed),
            Shape::of(object),
            "{} {input_path} no longer looks like what the operator shows for {state}: {hint}",
            check.kind()
        );
        let tests = HealthTests::read(check)?;
        let expected = tests
            .tests
            .iter()
            .find(|t| t.input_path == input_path)
            .with_context(|| {
                format!(
                    "{}'s health_test.yaml has no test for {input_path}: {hint}",
                    check.kind()
                )
            })?;
        assert_eq!(
            expected.health_status.status,
            health.status,
            "{}'s health_test.yaml expects another status for {input_path}: {hint}",
            check.kind()
        );
        return Ok(());
    }

    let mut kept = object.clone();
    if let Some(metadata) = kept["metadata"].as_object_mut() {
        metadata.remove("managedFields");
    }
    // The live tests run in parallel, in one process or several: one writer at a time.
    let lock_path = std::env::temp_dir().join("bedrock-operator-argocd-testdata.lock");
    let lock = std::fs::File::create(&lock_path)?;
    lock.lock()?;
    std::fs::create_dir_all(path.parent().context("testdata has a parent")?)?;
    write_whole(&dir, &path, &serde_yaml::to_string(&kept)?)?;
    let mut tests = HealthTests::read(check).unwrap_or_default();
    tests.tests.retain(|t| t.input_path != input_path);
    tests.tests.push(HealthTest {
        health_status: health.clone(),
        input_path,
    });
    tests.tests.sort_by(|a, b| a.input_path.cmp(&b.input_path));
    let text = format!(
        "# Written by tests/e2e/argocd/ from live objects ({WRITE_TESTDATA_ENV}=1); see docs/argocd.md.\n{}",
        serde_yaml::to_string(&tests)?
    );
    write_whole(&dir, &dir.join("health_test.yaml"), &text)?;
    Ok(())
}

/// Writes `path` through a rename (from a file in `dir`), so that the tests reading it
/// meanwhile never see half a file.
fn write_whole(dir: &Path, path: &Path, text: &str) -> Result<()> {
    let temporary = dir.join(format!(".writing-{}", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

/// Server-side applies `object` (metadata and spec) as the check's kind, as `kubectl apply`
/// would.
async fn apply_as(world: &World, check: Check, mut object: Value) -> Result<()> {
    let resource = (check.resource)();
    object["apiVersion"] = json!(resource.api_version);
    object["kind"] = json!(resource.kind);
    let name = object["metadata"]["name"]
        .as_str()
        .context("metadata.name")?
        .to_string();
    check
        .api(world)
        .patch(
            &name,
            &PatchParams::apply("e2e-user").force(),
            &Patch::Apply(&object),
        )
        .await?;
    Ok(())
}

/// A serving kind's `spec` exporting to a ConfigMap that is not the resource's: it serves
/// (Ready True) with Synced ExportConflict, which is Degraded naming the field; kept as the
/// kind's `export_conflict` live state.
async fn export_conflict(world: &World, check: Check, mut spec: Value) -> Result<()> {
    world.create_foreign_config_map("exported-bedrock").await?;
    spec["export"] = json!({});
    apply_as(
        world,
        check,
        json!({ "metadata": { "name": "exported" }, "spec": spec }),
    )
    .await?;
    let what = "serving, with Synced ExportConflict";
    let refused = wait_json(world, check, "exported", what, |object| {
        condition_in(object, READY).is_some_and(|c| c.0 == "True")
            && condition_in(object, SYNCED).is_some_and(|c| c.1 == "ExportConflict")
    })
    .await?;
    let health = assert_health(check, &refused, "Degraded", SYNCED).await?;
    assert!(
        health.message.contains("spec.export.configMapName"),
        "{health:?}"
    );
    keep_as_testdata(check, "export_conflict", &refused, &health)
}

/// The ARN of the BedrockCustomModel `name` once it is Ready.
async fn ready_model_arn(world: &World, name: &str) -> Result<String> {
    world
        .wait_ready(name)
        .await?
        .status
        .and_then(|status| status.model_arn)
        .with_context(|| format!("the ARN of model {name}"))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn ready(status: &str, reason: &str, generation: Value) -> Value {
    json!({
        "type": "Ready", "status": status, "reason": reason,
        "message": format!("ready message ({reason})"), "observedGeneration": generation,
    })
}

fn synced(status: &str, reason: &str, generation: Value) -> Value {
    json!({
        "type": "Synced", "status": status, "reason": reason,
        "message": format!("synced message ({reason})"), "observedGeneration": generation,
    })
}

fn gen2() -> Value {
    json!({ "name": "m", "generation": 2 })
}

/// (case, object, status, a part of the message)
type Case = (&'static str, Value, &'static str, String);

/// Judges every case's object with each of `checks` (in one run per mode) and describes every
/// case that got another health, not just the first.
async fn failed_cases(checks: &[Check], cases: &[Case]) -> Result<Vec<String>> {
    let objects: Vec<Value> = cases.iter().map(|case| case.1.clone()).collect();
    let mut failures = Vec::new();
    for &check in checks {
        let healths = argo_health(check, &objects).await?;
        failures.extend(
            cases
                .iter()
                .zip(&healths)
                .filter(|((_, _, status, message), health)| {
                    health.status != *status || !health.message.contains(message.as_str())
                })
                .map(|((case, _, status, message), health)| {
                    format!(
                        "{}: {case}: got {health:?}, want {status} with a message containing {message:?}",
                        check.kind()
                    )
                }),
        );
    }
    Ok(failures)
}

/// Judges every case with each of `checks`; fails listing every case that got another health.
async fn check_cases(checks: &[Check], cases: Vec<Case>) -> Result<()> {
    let failures = failed_cases(checks, &cases).await?;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

const V3: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/v3v3v3v3v3v3";
const V4: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/v4v4v4v4v4v4";

/// The kind's health_test.yaml has one test per live state, each on its own testdata file, and
/// nothing else.
fn assert_covers_every_live_state(check: Check) -> Result<()> {
    let tests = HealthTests::read(check)?;
    let listed: Vec<&str> = tests.tests.iter().map(|t| t.input_path.as_str()).collect();
    let mut wanted: Vec<String> = check
        .live_states
        .iter()
        .map(|state| format!("testdata/{state}.yaml"))
        .collect();
    wanted.sort();
    assert_eq!(
        listed,
        wanted,
        "{}'s health_test.yaml's tests, in order",
        check.kind()
    );
    let mut files: Vec<String> = std::fs::read_dir(check.contribution_dir().join("testdata"))?
        .map(|entry| Ok(format!("testdata/{}", entry?.file_name().to_string_lossy())))
        .collect::<Result<_>>()?;
    files.sort();
    assert_eq!(files, wanted, "{}'s testdata files", check.kind());
    Ok(())
}

/// Runs the kind's health_test.yaml through argocd-lua's `test`, which runs it like Argo CD's
/// own test of resource_customizations; every test must pass.
async fn run_contribution_tests(check: Check, flags: &[&str]) -> Result<()> {
    let dir = check.contribution_dir();
    let mut args = vec!["test"];
    args.extend(flags);
    args.push(dir.to_str().context("the path is not UTF-8")?);
    let (passed, stdout) = run_argocd_lua(&args, b"").await?;
    assert!(
        passed,
        "{}'s health_test.yaml with {flags:?}:\n{stdout}",
        check.kind()
    );
    let ok = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(ok, HealthTests::read(check)?.tests.len(), "{stdout}");
    Ok(())
}
