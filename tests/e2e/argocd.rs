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

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use bedrock_emulator::{
    DeploymentDelays, DeploymentFailure, EmulatorConfig, FaultConfig, ForeignModel, Limits,
    Operation, ProvisionedDelays, ProvisionedFailure,
};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::deployment::BedrockCustomModelDeployment;
use bedrock_operator::api::throughput::{
    BedrockProvisionedThroughput, CONFIRM_COMMITMENT_ANNOTATION,
};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use testkit::gotools::ARGOCD_LUA;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::harness::{COMMITMENTS_HERE, DEADLINE, World, s3_spec, tail};

/// Set to 1 to rewrite the contribution layout's testdata from the live objects.
const WRITE_TESTDATA_ENV: &str = "BEDROCK_OPERATOR_WRITE_TESTDATA";
/// A role the emulator answers AccessDeniedException for.
const DENIED_ROLE: &str = "arn:aws:iam::123456789012:role/NoPassRole";
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
        "updating",
        "throughput_missing",
        "deletion_blocked",
        "generation_not_observed",
        "deleting",
    ],
};

/// Every kind with a health check, in the order argocd-cm lists them.
const CHECKS: &[Check] = &[MODEL, DEPLOYMENT, THROUGHPUT];

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
        "# Written by tests/e2e/argocd.rs from live objects ({WRITE_TESTDATA_ENV}=1); see docs/argocd.md.\n{}",
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

/// Creating, Active, Failed, InvalidSpec, NameConflict, AccessDenied and DeletionBlocked, each
/// produced by the real operator, each judged as Argo CD judges it.
#[tokio::test]
async fn health_of_each_operator_state() -> Result<()> {
    let world = World::start("argo-states").await?;
    let state = world.emulator.state();
    state.set_ready_delay("slow", FOREVER)?;
    state.insert_model(ForeignModel {
        model_name: "taken".into(),
        ..ForeignModel::default()
    })?;
    state.set_faults(FaultConfig {
        access_denied_role_arns: vec![DENIED_ROLE.into()],
        ..FaultConfig::default()
    })?;

    world.apply("slow", s3_spec("slow")).await?;
    world.apply("fine", s3_spec("fine")).await?;
    world.apply("in-use", s3_spec("in-use")).await?;
    world.apply("broken", s3_spec("force-failure")).await?;
    // A dotted metadata.name is no valid model name; the schema cannot tell, the operator can.
    world.apply("dotted.name", s3_spec("dotted")).await?;
    world.apply("taken", s3_spec("taken")).await?;
    let mut denied = s3_spec("denied");
    denied["roleArn"] = json!(DENIED_ROLE);
    world.apply("denied", denied).await?;

    // Creating.
    let creating = wait_reason_json(&world, MODEL, "slow", READY, "Creating").await?;
    let health = assert_health(MODEL, &creating, "Progressing", READY).await?;
    assert!(
        health.message.to_lowercase().contains("creating") && health.message.contains("slow"),
        "{health:?}"
    );
    keep_as_testdata(MODEL, "creating", &creating, &health)?;

    // Active.
    let active = wait_reason_json(&world, MODEL, "fine", READY, "Active").await?;
    assert_eq!(
        active["status"]["observedGeneration"],
        active["metadata"]["generation"]
    );
    let health = assert_health(MODEL, &active, "Healthy", READY).await?;
    assert!(health.message.contains("is Active"), "{health:?}");
    keep_as_testdata(MODEL, "active", &active, &health)?;

    // Failed: the message carries Bedrock's failureMessage.
    let failed = wait_reason_json(&world, MODEL, "broken", READY, "Failed").await?;
    let health = assert_health(MODEL, &failed, "Degraded", READY).await?;
    let failure = failed["status"]["failureMessage"]
        .as_str()
        .context("failureMessage")?
        .trim_end_matches('.');
    assert!(health.message.contains(failure), "{health:?}");
    keep_as_testdata(MODEL, "failed", &failed, &health)?;

    // InvalidSpec, naming the field.
    let invalid = wait_reason_json(&world, MODEL, "dotted.name", READY, "InvalidSpec").await?;
    let health = assert_health(MODEL, &invalid, "Degraded", READY).await?;
    assert!(health.message.contains("spec.modelName"), "{health:?}");
    keep_as_testdata(MODEL, "invalid_spec", &invalid, &health)?;

    // NameConflict with a model the operator did not create.
    let conflict = wait_reason_json(&world, MODEL, "taken", READY, "NameConflict").await?;
    let health = assert_health(MODEL, &conflict, "Degraded", READY).await?;
    assert!(health.message.contains("adoptionPolicy"), "{health:?}");
    keep_as_testdata(MODEL, "name_conflict", &conflict, &health)?;

    // AccessDenied on CreateCustomModel.
    let denied = wait_reason_json(&world, MODEL, "denied", READY, "AccessDenied").await?;
    let health = assert_health(MODEL, &denied, "Degraded", READY).await?;
    assert!(health.message.contains("iam:PassRole"), "{health:?}");
    assert_eq!(
        condition_in(&denied, SYNCED).map(|c| c.1).as_deref(),
        Some("AccessDenied")
    );
    keep_as_testdata(MODEL, "access_denied", &denied, &health)?;

    // DeletionBlocked: Bedrock refuses to delete a model in use. Argo CD shows any object being
    // deleted as Pending deletion without asking the script; the reason and Bedrock's words are
    // on the conditions (`kubectl get bcm`, `kubectl describe bcm`).
    world.wait_ready("in-use").await?;
    state.set_delete_conflict(
        "in-use",
        Some("the model is used by provisioned throughput pt-1".into()),
    )?;
    world.delete("in-use").await?;
    let blocked = wait_json(&world, MODEL, "in-use", "DeletionBlocked", |object| {
        object["metadata"]["deletionTimestamp"].is_string()
            && condition_in(object, READY).is_some_and(|c| c.1 == "DeletionBlocked")
    })
    .await?;
    let health = assert_pending_deletion(MODEL, &blocked).await?;
    let (status, _, message, _) = condition_in(&blocked, READY).context("Ready")?;
    assert_eq!(status, "False");
    assert!(message.contains("provisioned throughput"), "{message}");
    keep_as_testdata(MODEL, "deletion_blocked", &blocked, &health)?;
    state.clear_delete_conflict("in-use")?;
    world.wait_gone("in-use").await?;

    // The slow model finishes: Healthy.
    state.set_ready_delay("slow", Duration::ZERO)?;
    let done = wait_reason_json(&world, MODEL, "slow", READY, "Active").await?;
    assert_health(MODEL, &done, "Healthy", READY).await?;
    Ok(())
}

/// With the operator stopped, a spec change (a new generation) is Progressing with the
/// generation it waits for, and a deletion Pending deletion; once it is back, Healthy and gone.
#[tokio::test]
async fn health_while_the_operator_is_away() -> Result<()> {
    let mut world = World::start("argo-away").await?;
    world.apply("drifting", s3_spec("drifting")).await?;
    world.apply("leaving", s3_spec("leaving")).await?;
    world.wait_ready("drifting").await?;
    world.wait_ready("leaving").await?;
    let before = live_json(&world, MODEL, "drifting")
        .await?
        .context("drifting")?;
    assert_health(MODEL, &before, "Healthy", READY).await?;

    world.kill_operator().await?;
    let mut spec = s3_spec("drifting");
    spec["tags"] = json!({ "team": "ml" });
    world.apply("drifting", spec).await?;
    world.delete("leaving").await?;

    // A new generation the operator has not seen: the old Ready=True no longer counts. (The
    // script used math.floor here, which argocd-cm scripts do not have: Argo CD showed Unknown.)
    let unobserved = live_json(&world, MODEL, "drifting")
        .await?
        .context("drifting")?;
    let generation = unobserved["metadata"]["generation"]
        .as_i64()
        .context("generation")?;
    assert_eq!(
        unobserved["status"]["observedGeneration"].as_i64(),
        Some(generation - 1)
    );
    assert_eq!(
        condition_in(&unobserved, READY).map(|c| c.0).as_deref(),
        Some("True"),
        "the status still says Ready from the last generation"
    );
    let health = health_of(MODEL, &unobserved).await?;
    assert_eq!(
        health,
        Health {
            status: "Progressing".into(),
            message: format!(
                "Waiting for the operator to observe generation {generation} (status.observedGeneration is {})",
                generation - 1
            ),
        }
    );
    keep_as_testdata(MODEL, "generation_not_observed", &unobserved, &health)?;

    // Deleted, but the finalizer waits for the operator.
    let leaving = live_json(&world, MODEL, "leaving")
        .await?
        .context("leaving")?;
    let health = assert_pending_deletion(MODEL, &leaving).await?;
    keep_as_testdata(MODEL, "deleting", &leaving, &health)?;

    world.start_operator().await?;
    let caught_up = wait_json(
        &world,
        MODEL,
        "drifting",
        "Ready for the new generation",
        |object| {
            condition_in(object, READY).is_some_and(|c| c.0 == "True" && c.3 == Some(generation))
                && object["status"]["observedGeneration"].as_i64() == Some(generation)
        },
    )
    .await?;
    assert_health(MODEL, &caught_up, "Healthy", READY).await?;
    world.wait_gone("leaving").await?;
    Ok(())
}

/// ImmutableFieldChanged is Degraded. The API server refuses a change of an immutable field
/// (CEL rules), so the state comes from the operator's side: it restarts with another default
/// region, which a model without spec.region cannot move to.
#[tokio::test]
async fn health_when_the_default_region_changes() -> Result<()> {
    let mut world = World::start("argo-region").await?;
    world.apply("settled", s3_spec("settled")).await?;
    world.wait_ready("settled").await?;
    world.kill_operator().await?;
    world
        .start_operator_with_env(&[("AWS_REGION", "eu-west-1")])
        .await?;

    let refused =
        wait_reason_json(&world, MODEL, "settled", SYNCED, "ImmutableFieldChanged").await?;
    let health = assert_health(MODEL, &refused, "Degraded", SYNCED).await?;
    assert!(health.message.contains("spec.region"), "{health:?}");
    assert_eq!(
        condition_in(&refused, READY).map(|c| c.1).as_deref(),
        Some("ImmutableFieldChanged"),
        "the Ready condition says the same"
    );
    keep_as_testdata(MODEL, "immutable_field_changed", &refused, &health)?;
    Ok(())
}

/// Throttling and server errors the operator keeps retrying are Progressing, with the Synced
/// condition's message; once Bedrock recovers, Healthy.
#[tokio::test]
async fn health_while_bedrock_is_throttling_or_failing() -> Result<()> {
    let world = World::start("argo-transient").await?;
    let state = world.emulator.state();
    state.set_faults(FaultConfig {
        throttle_fraction: 1.0,
        operations: vec![Operation::CreateCustomModel],
        ..FaultConfig::default()
    })?;
    world.apply("patient", s3_spec("patient")).await?;
    let throttled = wait_reason_json(&world, MODEL, "patient", SYNCED, "Throttled").await?;
    let health = assert_health(MODEL, &throttled, "Progressing", SYNCED).await?;
    assert!(health.message.contains("throttling"), "{health:?}");
    keep_as_testdata(MODEL, "throttled", &throttled, &health)?;

    state.set_faults(FaultConfig {
        internal_error_fraction: 1.0,
        operations: vec![Operation::CreateCustomModel],
        ..FaultConfig::default()
    })?;
    let unavailable =
        wait_reason_json(&world, MODEL, "patient", SYNCED, "BedrockUnavailable").await?;
    let health = assert_health(MODEL, &unavailable, "Progressing", SYNCED).await?;
    keep_as_testdata(MODEL, "bedrock_unavailable", &unavailable, &health)?;

    state.set_faults(FaultConfig::default())?;
    let ready = wait_reason_json(&world, MODEL, "patient", READY, "Active").await?;
    assert_health(MODEL, &ready, "Healthy", READY).await?;
    assert_eq!(world.emulator.state().create_log().len(), 1);
    Ok(())
}

/// A deployment spec naming the BedrockCustomModel `model` of the namespace.
fn by_ref(model: &str) -> Value {
    json!({ "modelRef": { "name": model } })
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

/// Server-side applies a BedrockCustomModelDeployment, as `kubectl apply` would.
async fn apply_deployment(world: &World, name: &str, spec: Value) -> Result<()> {
    apply_as(
        world,
        DEPLOYMENT,
        json!({ "metadata": { "name": name }, "spec": spec }),
    )
    .await
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

/// The deployment once Ready is True with reason Active and Synced says Reconciled, both for
/// the current generation.
async fn wait_serving(world: &World, name: &str) -> Result<Value> {
    wait_json(world, DEPLOYMENT, name, "Active and Reconciled", |object| {
        let generation = object["metadata"]["generation"].as_i64();
        condition_in(object, READY).is_some_and(|c| c.0 == "True" && c.1 == "Active")
            && condition_in(object, SYNCED)
                .is_some_and(|c| c.1 == "Reconciled" && c.3.is_some() && c.3 == generation)
    })
    .await
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A deployment Bedrock is creating is Progressing, an Active one Healthy, one Bedrock could
/// not create Degraded with Bedrock's reason.
#[tokio::test]
async fn health_of_a_deployment_creating_serving_or_failed() -> Result<()> {
    let world = World::start("argo-dep-states").await?;
    let state = world.emulator.state();
    world.apply("base", s3_spec("base")).await?;
    let base = ready_model_arn(&world, "base").await?;

    // Creating: Bedrock keeps this one Creating for the whole test.
    state.set_deployment_delays(DeploymentDelays {
        create_ms: millis(FOREVER),
        update_ms: QUICK_MS,
    });
    apply_deployment(&world, "pending", by_ref("base")).await?;
    let creating = wait_json(
        &world,
        DEPLOYMENT,
        "pending",
        "Creating in Bedrock",
        |object| {
            object["status"]["deploymentStatus"] == "Creating"
                && condition_in(object, READY).is_some_and(|c| c.1 == "Creating")
        },
    )
    .await?;
    let health = assert_health(DEPLOYMENT, &creating, "Progressing", READY).await?;
    assert!(
        health.message.contains("creating deployment pending"),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "creating", &creating, &health)?;
    state.set_deployment_delays(DeploymentDelays {
        create_ms: QUICK_MS,
        update_ms: QUICK_MS,
    });

    // Active.
    apply_deployment(&world, "serving", by_ref("base")).await?;
    let active = wait_serving(&world, "serving").await?;
    let health = assert_health(DEPLOYMENT, &active, "Healthy", READY).await?;
    assert!(
        health.message.contains("is Active, serving") && health.message.contains(&base),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "active", &active, &health)?;

    // Failed: Bedrock could not create it; the message carries Bedrock's failureMessage.
    state.add_deployment_failure(
        DeploymentFailure::next_create("Insufficient capacity for the model")
            .for_deployment("doomed"),
    )?;
    apply_deployment(&world, "doomed", by_ref("base")).await?;
    let failed = wait_reason_json(&world, DEPLOYMENT, "doomed", READY, "Failed").await?;
    let health = assert_health(DEPLOYMENT, &failed, "Degraded", READY).await?;
    let failure = failed["status"]["failureMessage"]
        .as_str()
        .context("failureMessage")?
        .trim_end_matches('.');
    assert!(
        failure.contains("Insufficient capacity") && health.message.contains(failure),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "failed", &failed, &health)?;
    Ok(())
}

/// A deployment waits for the model it references: Progressing while that model is importing
/// or not applied yet, with the operator's message naming it; Degraded when the model failed
/// in Bedrock or is being deleted, which the operator cannot get past on its own.
#[tokio::test]
async fn health_of_a_deployment_waiting_for_its_model() -> Result<()> {
    let world = World::start("argo-dep-model").await?;
    let state = world.emulator.state();
    state.set_ready_delay("importing", FOREVER)?;
    world.apply("importing", s3_spec("importing")).await?;
    world.apply("broken", s3_spec("force-failure")).await?;
    world.apply("leaving", s3_spec("leaving")).await?;
    apply_deployment(&world, "waiting", by_ref("importing")).await?;
    apply_deployment(&world, "lonely", by_ref("nobody")).await?;
    apply_deployment(&world, "unlucky", by_ref("broken")).await?;
    apply_deployment(&world, "orphan", by_ref("leaving")).await?;

    // ModelNotReady: the model is importing.
    world.wait_reason("importing", READY, "Creating").await?;
    let waiting = wait_json(
        &world,
        DEPLOYMENT,
        "waiting",
        "waiting for an importing model",
        |object| {
            condition_in(object, SYNCED)
                .is_some_and(|c| c.1 == "ModelNotReady" && c.2.contains("it is Creating"))
        },
    )
    .await?;
    let health = assert_health(DEPLOYMENT, &waiting, "Progressing", SYNCED).await?;
    assert!(health.message.contains("importing"), "{health:?}");
    keep_as_testdata(DEPLOYMENT, "model_not_ready", &waiting, &health)?;

    // ModelNotFound: no such model in the namespace (yet).
    let missing = wait_reason_json(&world, DEPLOYMENT, "lonely", SYNCED, "ModelNotFound").await?;
    let health = assert_health(DEPLOYMENT, &missing, "Progressing", SYNCED).await?;
    assert!(
        health.message.contains("spec.modelRef") && health.message.contains("nobody"),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "model_not_found", &missing, &health)?;

    // ModelFailed: the referenced model failed in Bedrock.
    let model_failed =
        wait_reason_json(&world, DEPLOYMENT, "unlucky", SYNCED, "ModelFailed").await?;
    let health = assert_health(DEPLOYMENT, &model_failed, "Degraded", SYNCED).await?;
    assert!(
        health.message.contains("broken") && health.message.contains("failed in Bedrock"),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "model_failed", &model_failed, &health)?;

    // ModelDeleting: the model of a serving deployment is deleted. The model waits for the
    // deployment (DeletionBlocked); the deployment keeps serving it, Ready True.
    wait_serving(&world, "orphan").await?;
    world.delete("leaving").await?;
    let deleting = wait_reason_json(&world, DEPLOYMENT, "orphan", SYNCED, "ModelDeleting").await?;
    assert_eq!(
        condition_in(&deleting, READY).map(|c| c.0).as_deref(),
        Some("True"),
        "still serving"
    );
    let health = assert_health(DEPLOYMENT, &deleting, "Degraded", SYNCED).await?;
    assert!(
        health.message.contains("being deleted") && health.message.contains("keeps serving"),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "model_deleting", &deleting, &health)?;
    Ok(())
}

/// Specs the operator refuses without calling Bedrock (InvalidSpec) and a deployment name
/// held by another resource (NameConflict) are Degraded, naming the field to change.
#[tokio::test]
async fn health_of_a_deployment_whose_spec_cannot_be_deployed() -> Result<()> {
    let world = World::start("argo-dep-spec").await?;
    world.apply("base", s3_spec("base")).await?;

    // A dotted metadata.name is no valid deployment name; the schema cannot tell, the
    // operator can.
    apply_deployment(&world, "dotted.name", by_ref("base")).await?;
    let invalid = wait_reason_json(&world, DEPLOYMENT, "dotted.name", READY, "InvalidSpec").await?;
    let health = assert_health(DEPLOYMENT, &invalid, "Degraded", READY).await?;
    assert!(
        health.message.contains("spec.modelDeploymentName"),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "invalid_spec", &invalid, &health)?;

    let shared = json!({ "modelRef": { "name": "base" }, "modelDeploymentName": "shared" });
    apply_deployment(&world, "first", shared.clone()).await?;
    wait_serving(&world, "first").await?;
    apply_deployment(&world, "second", shared).await?;
    let conflict = wait_reason_json(&world, DEPLOYMENT, "second", READY, "NameConflict").await?;
    let health = assert_health(DEPLOYMENT, &conflict, "Degraded", READY).await?;
    assert!(
        health.message.contains("spec.modelDeploymentName"),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "name_conflict", &conflict, &health)?;
    Ok(())
}

/// Pointing a serving deployment at another model swaps it in place: Ready stays True on the
/// old model, yet Argo CD shows Progressing until Bedrock completes the swap. A swap Bedrock
/// fails is Degraded with what failed and the model the deployment still serves.
#[tokio::test]
async fn health_of_a_deployment_during_a_model_swap() -> Result<()> {
    let world = World::start("argo-dep-swap").await?;
    let state = world.emulator.state();
    state.set_deployment_delays(DeploymentDelays {
        create_ms: QUICK_MS,
        update_ms: millis(FOREVER),
    });
    world.apply("v3", s3_spec("v3")).await?;
    world.apply("v4", s3_spec("v4")).await?;
    let v3 = ready_model_arn(&world, "v3").await?;
    let v4 = ready_model_arn(&world, "v4").await?;
    apply_deployment(&world, "rolling", by_ref("v3")).await?;
    apply_deployment(&world, "swap", by_ref("v3")).await?;
    let before = wait_serving(&world, "rolling").await?;
    assert_health(DEPLOYMENT, &before, "Healthy", READY).await?;
    wait_serving(&world, "swap").await?;

    // Updating: Bedrock keeps the swap going for the whole test; Ready stays True on v3.
    apply_deployment(&world, "rolling", by_ref("v4")).await?;
    let updating = wait_json(&world, DEPLOYMENT, "rolling", "Updating", |object| {
        object["status"]["updateStatus"] == "Updating"
            && condition_in(object, SYNCED).is_some_and(|c| {
                c.1 == "Updating"
                    && c.3.is_some()
                    && c.3 == object["metadata"]["generation"].as_i64()
            })
    })
    .await?;
    assert_eq!(
        condition_in(&updating, READY).map(|c| (c.0, c.1)),
        Some(("True".to_string(), "Active".to_string())),
        "Ready kept during the swap"
    );
    let health = assert_health(DEPLOYMENT, &updating, "Progressing", SYNCED).await?;
    assert!(
        health.message.contains(&format!("rolling model {v4}"))
            && health.message.contains(&format!("serves {v3} until then")),
        "{health:?}"
    );
    keep_as_testdata(DEPLOYMENT, "updating", &updating, &health)?;

    // UpdateFailed: Bedrock fails the next swap of "swap" once it has run (quickly: the delay
    // of "rolling"'s swap was fixed when it started); the deployment keeps serving v3.
    state.set_deployment_delays(DeploymentDelays {
        create_ms: QUICK_MS,
        update_ms: QUICK_MS,
    });
    state.add_deployment_failure(
        DeploymentFailure::next_update("The model v4 does not fit the deployment's capacity")
            .for_deployment("swap"),
    )?;
    apply_deployment(&world, "swap", by_ref("v4")).await?;
    let failed = wait_reason_json(&world, DEPLOYMENT, "swap", SYNCED, "UpdateFailed").await?;
    assert_eq!(
        condition_in(&failed, READY).map(|c| c.0).as_deref(),
        Some("True"),
        "still serving v3"
    );
    assert_eq!(failed["status"]["modelArn"], json!(v3));
    let health = assert_health(DEPLOYMENT, &failed, "Degraded", SYNCED).await?;
    assert!(
        health.message.contains(&v4) && health.message.contains(&format!("keeps serving {v3}")),
        "{health:?}"
    );
    if let Some(failure) = failed["status"]["failureMessage"].as_str() {
        assert!(
            health.message.contains(failure.trim_end_matches('.')),
            "Bedrock's words ({failure}) are in {health:?}"
        );
    }
    keep_as_testdata(DEPLOYMENT, "update_failed", &failed, &health)?;
    Ok(())
}

/// With the operator stopped, a spec change is Progressing with the generation it waits for
/// (the old Ready=True no longer counts), a deletion Pending deletion; once it is back,
/// Healthy and gone.
#[tokio::test]
async fn health_of_a_deployment_while_the_operator_is_away() -> Result<()> {
    let mut world = World::start("argo-dep-away").await?;
    world.apply("base", s3_spec("base")).await?;
    apply_deployment(&world, "drifting", by_ref("base")).await?;
    apply_deployment(&world, "leaving", by_ref("base")).await?;
    wait_serving(&world, "drifting").await?;
    wait_serving(&world, "leaving").await?;

    world.kill_operator().await?;
    apply_deployment(
        &world,
        "drifting",
        json!({ "modelRef": { "name": "base" }, "tags": { "team": "ml" } }),
    )
    .await?;
    DEPLOYMENT
        .api(&world)
        .delete("leaving", &DeleteParams::default())
        .await?;

    let unobserved = live_json(&world, DEPLOYMENT, "drifting")
        .await?
        .context("drifting")?;
    let generation = unobserved["metadata"]["generation"]
        .as_i64()
        .context("generation")?;
    assert_eq!(
        unobserved["status"]["observedGeneration"].as_i64(),
        Some(generation - 1)
    );
    assert_eq!(
        condition_in(&unobserved, READY).map(|c| c.0).as_deref(),
        Some("True"),
        "the status still says Ready from the last generation"
    );
    let health = health_of(DEPLOYMENT, &unobserved).await?;
    assert_eq!(
        health,
        Health {
            status: "Progressing".into(),
            message: format!(
                "Waiting for the operator to observe generation {generation} (status.observedGeneration is {})",
                generation - 1
            ),
        }
    );
    keep_as_testdata(DEPLOYMENT, "generation_not_observed", &unobserved, &health)?;

    // Deleted, but the finalizer waits for the operator.
    let leaving = live_json(&world, DEPLOYMENT, "leaving")
        .await?
        .context("leaving")?;
    let health = assert_pending_deletion(DEPLOYMENT, &leaving).await?;
    keep_as_testdata(DEPLOYMENT, "deleting", &leaving, &health)?;

    world.start_operator().await?;
    let caught_up = wait_serving(&world, "drifting").await?;
    assert_eq!(caught_up["status"]["observedGeneration"], json!(generation));
    assert_health(DEPLOYMENT, &caught_up, "Healthy", READY).await?;
    let api = DEPLOYMENT.api(&world);
    testkit::wait::until(
        "deployment leaving to be deleted",
        DEADLINE,
        POLL,
        async || Ok(api.get_opt("leaving").await?.is_none().then_some(())),
    )
    .await
    .with_context(|| tail(&world.operator_logs(), 40))?;
    Ok(())
}

/// A throughput spec of one model unit, without commitment, for the BedrockCustomModel `model`.
fn units_of(model: &str) -> Value {
    json!({ "modelRef": { "name": model }, "modelUnits": 1 })
}

/// Server-side applies a BedrockProvisionedThroughput, as `kubectl apply` would.
async fn apply_throughput(world: &World, name: &str, spec: Value) -> Result<()> {
    apply_as(
        world,
        THROUGHPUT,
        json!({ "metadata": { "name": name }, "spec": spec }),
    )
    .await
}

/// A throughput of one model unit with a OneMonth term, confirmed by the annotation (or not).
async fn apply_committed(world: &World, name: &str, model: &str, confirm: bool) -> Result<()> {
    let mut object = json!({
        "metadata": { "name": name },
        "spec": { "modelRef": { "name": model }, "modelUnits": 1, "commitmentDuration": "OneMonth" },
    });
    if confirm {
        object["metadata"]["annotations"] = json!({ CONFIRM_COMMITMENT_ANNOTATION: "OneMonth" });
    }
    apply_as(world, THROUGHPUT, object).await
}

/// The throughput once Ready is True with reason InService and Synced says Reconciled, both
/// for the current generation.
async fn wait_in_service(world: &World, name: &str) -> Result<Value> {
    wait_json(
        world,
        THROUGHPUT,
        name,
        "InService and Reconciled",
        |object| {
            let generation = object["metadata"]["generation"].as_i64();
            condition_in(object, READY).is_some_and(|c| c.0 == "True" && c.1 == "InService")
                && condition_in(object, SYNCED)
                    .is_some_and(|c| c.1 == "Reconciled" && c.3.is_some() && c.3 == generation)
        },
    )
    .await
}

async fn wait_throughput_gone(world: &World, name: &str) -> Result<()> {
    let api = THROUGHPUT.api(world);
    testkit::wait::until(
        format!("throughput {name} to be deleted"),
        DEADLINE,
        POLL,
        async || Ok(api.get_opt(name).await?.is_none().then_some(())),
    )
    .await
    .with_context(|| tail(&world.operator_logs(), 40))
}

/// A world whose emulator grants `units` model units of Provisioned Throughput, and whose
/// namespace may buy commitment terms.
async fn throughput_world(test: &str, units: usize, env: &[(&str, &str)]) -> Result<World> {
    let emulator = EmulatorConfig {
        ready_delay: Duration::from_millis(1500),
        limits: Limits {
            max_provisioned_model_units: units,
            ..Limits::default()
        },
        ..EmulatorConfig::default()
    };
    World::with(test, emulator, &[COMMITMENTS_HERE], env).await
}

/// A throughput Bedrock is creating is Progressing; one InService Healthy, saying its units
/// and its model; one Bedrock could not create Degraded with Bedrock's reason; one the
/// account's model-unit quota cannot hold Degraded, saying what to ask AWS for.
#[tokio::test]
async fn health_of_a_throughput_creating_in_service_or_failed() -> Result<()> {
    let world = throughput_world("argo-pt-states", 4, &[]).await?;
    let state = world.emulator.state();
    world.apply("base", s3_spec("base")).await?;
    let base = ready_model_arn(&world, "base").await?;

    // Creating: Bedrock keeps this one Creating for the whole test.
    state.set_provisioned_delays(ProvisionedDelays {
        create_ms: millis(FOREVER),
        update_ms: QUICK_MS,
    });
    apply_throughput(&world, "pending", units_of("base")).await?;
    let creating = wait_json(
        &world,
        THROUGHPUT,
        "pending",
        "Creating in Bedrock",
        |object| {
            object["status"]["throughputStatus"] == "Creating"
                && condition_in(object, READY).is_some_and(|c| c.1 == "Creating")
        },
    )
    .await?;
    let health = assert_health(THROUGHPUT, &creating, "Progressing", READY).await?;
    assert!(
        health
            .message
            .contains("creating provisioned throughput pending"),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "creating", &creating, &health)?;
    state.set_provisioned_delays(ProvisionedDelays {
        create_ms: QUICK_MS,
        update_ms: QUICK_MS,
    });

    // InService: the message says the units in service and the model served.
    apply_throughput(&world, "serving", units_of("base")).await?;
    let in_service = wait_in_service(&world, "serving").await?;
    assert_eq!(in_service["status"]["throughputStatus"], "InService");
    let health = assert_health(THROUGHPUT, &in_service, "Healthy", READY).await?;
    assert!(
        health.message.contains("is InService with 1 model unit,")
            && health.message.contains(&format!("serving {base}")),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "in_service", &in_service, &health)?;

    // Failed: Bedrock could not create it; the message carries Bedrock's failureMessage.
    state.add_provisioned_failure(
        ProvisionedFailure::next_create("Insufficient capacity for the model units")
            .for_provisioned_model("doomed"),
    )?;
    apply_throughput(&world, "doomed", units_of("base")).await?;
    let failed = wait_reason_json(&world, THROUGHPUT, "doomed", READY, "Failed").await?;
    assert_eq!(failed["status"]["throughputStatus"], "Failed");
    let health = assert_health(THROUGHPUT, &failed, "Degraded", READY).await?;
    let failure = failed["status"]["failureMessage"]
        .as_str()
        .context("failureMessage")?
        .trim_end_matches('.');
    assert!(
        failure.contains("Insufficient capacity") && health.message.contains(failure),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "failed", &failed, &health)?;

    // QuotaExceeded: more model units than the account is granted (4 here).
    apply_throughput(
        &world,
        "greedy",
        json!({ "modelRef": { "name": "base" }, "modelUnits": 5 }),
    )
    .await?;
    let quota = wait_reason_json(&world, THROUGHPUT, "greedy", READY, "QuotaExceeded").await?;
    let health = assert_health(THROUGHPUT, &quota, "Degraded", READY).await?;
    assert!(health.message.contains("quota increase"), "{health:?}");
    keep_as_testdata(THROUGHPUT, "quota_exceeded", &quota, &health)?;
    Ok(())
}

/// A throughput waits for the model it references: Progressing while that model is importing
/// or not applied yet, with the operator's message naming it (and nothing bought); Degraded
/// when the model failed in Bedrock.
#[tokio::test]
async fn health_of_a_throughput_waiting_for_its_model() -> Result<()> {
    let world = World::start("argo-pt-model").await?;
    let state = world.emulator.state();
    state.set_ready_delay("importing", FOREVER)?;
    world.apply("importing", s3_spec("importing")).await?;
    world.apply("broken", s3_spec("force-failure")).await?;
    apply_throughput(&world, "waiting", units_of("importing")).await?;
    apply_throughput(&world, "lonely", units_of("nobody")).await?;
    apply_throughput(&world, "unlucky", units_of("broken")).await?;

    // ModelNotReady: the model is importing.
    world.wait_reason("importing", READY, "Creating").await?;
    let waiting = wait_json(
        &world,
        THROUGHPUT,
        "waiting",
        "waiting for an importing model",
        |object| {
            condition_in(object, SYNCED)
                .is_some_and(|c| c.1 == "ModelNotReady" && c.2.contains("it is Creating"))
        },
    )
    .await?;
    let health = assert_health(THROUGHPUT, &waiting, "Progressing", SYNCED).await?;
    assert!(health.message.contains("importing"), "{health:?}");
    keep_as_testdata(THROUGHPUT, "model_not_ready", &waiting, &health)?;

    // ModelNotFound: no such model in the namespace (yet).
    let missing = wait_reason_json(&world, THROUGHPUT, "lonely", SYNCED, "ModelNotFound").await?;
    let health = assert_health(THROUGHPUT, &missing, "Progressing", SYNCED).await?;
    assert!(
        health.message.contains("spec.modelRef") && health.message.contains("nobody"),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "model_not_found", &missing, &health)?;

    // ModelFailed: the referenced model failed in Bedrock.
    let model_failed =
        wait_reason_json(&world, THROUGHPUT, "unlucky", SYNCED, "ModelFailed").await?;
    let health = assert_health(THROUGHPUT, &model_failed, "Degraded", SYNCED).await?;
    assert!(
        health.message.contains("broken") && health.message.contains("failed in Bedrock"),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "model_failed", &model_failed, &health)?;
    assert_eq!(
        world.calls(Operation::CreateProvisionedModelThroughput),
        0,
        "nothing bought while waiting"
    );
    Ok(())
}

/// A commitment the annotation does not confirm (InvalidSpec, naming the annotation) and a
/// provisioned model name held by another resource (NameConflict) are Degraded, naming what
/// to change.
#[tokio::test]
async fn health_of_a_throughput_whose_spec_cannot_be_bought() -> Result<()> {
    let world = World::start_with("argo-pt-spec", &[COMMITMENTS_HERE]).await?;
    world.apply("base", s3_spec("base")).await?;
    world.wait_ready("base").await?;

    apply_committed(&world, "unconfirmed", "base", false).await?;
    let invalid = wait_reason_json(&world, THROUGHPUT, "unconfirmed", READY, "InvalidSpec").await?;
    let health = assert_health(THROUGHPUT, &invalid, "Degraded", READY).await?;
    assert!(
        health.message.contains(CONFIRM_COMMITMENT_ANNOTATION),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "invalid_spec", &invalid, &health)?;

    let shared = json!({ "modelRef": { "name": "base" }, "modelUnits": 1, "provisionedModelName": "shared" });
    apply_throughput(&world, "first", shared.clone()).await?;
    wait_in_service(&world, "first").await?;
    apply_throughput(&world, "second", shared).await?;
    let conflict = wait_reason_json(&world, THROUGHPUT, "second", READY, "NameConflict").await?;
    let health = assert_health(THROUGHPUT, &conflict, "Degraded", READY).await?;
    assert!(
        health.message.contains("spec.provisionedModelName"),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "name_conflict", &conflict, &health)?;
    assert_eq!(
        world.ok_calls(Operation::CreateProvisionedModelThroughput),
        1,
        "only the first one bought"
    );
    Ok(())
}

/// Pointing an InService throughput at another model swaps it in place: Ready stays True on
/// the old model, yet Argo CD shows Progressing until Bedrock completes the swap.
#[tokio::test]
async fn health_of_a_throughput_during_a_model_swap() -> Result<()> {
    let world = World::start("argo-pt-swap").await?;
    let state = world.emulator.state();
    state.set_provisioned_delays(ProvisionedDelays {
        create_ms: QUICK_MS,
        update_ms: millis(FOREVER),
    });
    world.apply("v3", s3_spec("v3")).await?;
    world.apply("v4", s3_spec("v4")).await?;
    let v3 = ready_model_arn(&world, "v3").await?;
    let v4 = ready_model_arn(&world, "v4").await?;
    apply_throughput(&world, "rolling", units_of("v3")).await?;
    let before = wait_in_service(&world, "rolling").await?;
    assert_health(THROUGHPUT, &before, "Healthy", READY).await?;

    // Updating: Bedrock keeps the swap going for the whole test; Ready stays True on v3.
    apply_throughput(&world, "rolling", units_of("v4")).await?;
    let updating = wait_json(&world, THROUGHPUT, "rolling", "Updating", |object| {
        object["status"]["throughputStatus"] == "Updating"
            && condition_in(object, SYNCED).is_some_and(|c| {
                c.1 == "Updating"
                    && c.2.starts_with("swapping model")
                    && c.3.is_some()
                    && c.3 == object["metadata"]["generation"].as_i64()
            })
    })
    .await?;
    assert_eq!(
        condition_in(&updating, READY).map(|c| (c.0, c.1)),
        Some(("True".to_string(), "InService".to_string())),
        "Ready kept during the swap"
    );
    let health = assert_health(THROUGHPUT, &updating, "Progressing", SYNCED).await?;
    assert!(
        health.message.contains(&format!("swapping model {v4}"))
            && health.message.contains(&format!("serves {v3} until then")),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "updating", &updating, &health)?;
    Ok(())
}

/// A committed throughput: one that disappeared outside the operator is Degraded
/// (ThroughputMissing: buying it again would start a new term); one deleted before its term
/// ends waits for the term with its finalizer (Synced DeletionBlocked, naming the date), and
/// Argo CD shows it Pending deletion all along, as every object being deleted. Both clocks
/// then pass the term and it goes.
#[tokio::test]
async fn health_of_a_throughput_with_a_commitment() -> Result<()> {
    // The operator's clock offset (fault-points build), moved with the emulator's below.
    let clock = std::env::temp_dir().join(format!(
        "bedrock-operator-argocd-clock-{}-{}",
        std::process::id(),
        std::time::UNIX_EPOCH.elapsed()?.as_nanos()
    ));
    std::fs::write(&clock, "0")?;
    let clock_path = clock.to_string_lossy().to_string();
    let outcome = committed_states(&clock, &clock_path).await;
    let _ = std::fs::remove_file(&clock);
    outcome
}

async fn committed_states(clock: &Path, clock_path: &str) -> Result<()> {
    let world = throughput_world(
        "argo-pt-term",
        2,
        &[("BEDROCK_OPERATOR_FAULT_CLOCK_FILE", clock_path)],
    )
    .await?;
    let state = world.emulator.state();
    world.apply("nova", s3_spec("nova")).await?;
    apply_committed(&world, "kept", "nova", true).await?;
    apply_committed(&world, "vanished", "nova", true).await?;
    let kept = wait_in_service(&world, "kept").await?;
    let vanished = wait_in_service(&world, "vanished").await?;
    assert_health(THROUGHPUT, &kept, "Healthy", READY).await?;

    // ThroughputMissing: it disappeared in Bedrock; the operator buys no new term unasked.
    let arn = vanished["status"]["provisionedModelArn"]
        .as_str()
        .context("provisionedModelArn")?;
    state
        .remove_provisioned_throughput(arn)
        .context("the throughput in Bedrock")?;
    let missing =
        wait_reason_json(&world, THROUGHPUT, "vanished", READY, "ThroughputMissing").await?;
    let health = assert_health(THROUGHPUT, &missing, "Degraded", READY).await?;
    assert!(
        health.message.contains("bedrock-operator.dev/retry")
            && health.message.contains("new OneMonth commitment"),
        "{health:?}"
    );
    keep_as_testdata(THROUGHPUT, "throughput_missing", &missing, &health)?;
    THROUGHPUT
        .api(&world)
        .delete("vanished", &DeleteParams::default())
        .await?;
    wait_throughput_gone(&world, "vanished").await?;

    // DeletionBlocked by the term: the date is on the Synced condition (and the Ready one, and
    // a Warning event), not in the health, which Argo CD decides without the script.
    let until = kept["status"]["commitmentExpirationTime"]
        .as_str()
        .context("commitmentExpirationTime")?
        .to_string();
    THROUGHPUT
        .api(&world)
        .delete("kept", &DeleteParams::default())
        .await?;
    let blocked = wait_json(
        &world,
        THROUGHPUT,
        "kept",
        "DeletionBlocked by its term",
        |object| {
            object["metadata"]["deletionTimestamp"].is_string()
                && condition_in(object, SYNCED).is_some_and(|c| c.1 == "DeletionBlocked")
        },
    )
    .await?;
    let health = assert_pending_deletion(THROUGHPUT, &blocked).await?;
    let (status, _, message, _) = condition_in(&blocked, SYNCED).context("Synced")?;
    assert_eq!(status, "False");
    assert!(
        message.contains(&format!("commitment that ends at {until}")),
        "{message}"
    );
    keep_as_testdata(THROUGHPUT, "deletion_blocked", &blocked, &health)?;
    assert_eq!(
        world.calls(Operation::DeleteProvisionedModelThroughput),
        0,
        "no call before the term ends"
    );

    // A month and a bit later, on both clocks.
    let later = Duration::from_secs(32 * 24 * 3600);
    state.advance_clock(later)?;
    std::fs::write(clock, later.as_secs().to_string())?;
    wait_throughput_gone(&world, "kept").await
}

/// With the operator stopped, a spec change is Progressing with the generation it waits for
/// (the old Ready=True no longer counts), a deletion Pending deletion; once it is back,
/// Healthy and gone.
#[tokio::test]
async fn health_of_a_throughput_while_the_operator_is_away() -> Result<()> {
    let mut world = World::start("argo-pt-away").await?;
    world.apply("base", s3_spec("base")).await?;
    apply_throughput(&world, "drifting", units_of("base")).await?;
    apply_throughput(&world, "leaving", units_of("base")).await?;
    wait_in_service(&world, "drifting").await?;
    wait_in_service(&world, "leaving").await?;

    world.kill_operator().await?;
    apply_throughput(
        &world,
        "drifting",
        json!({ "modelRef": { "name": "base" }, "modelUnits": 1, "tags": { "team": "ml" } }),
    )
    .await?;
    THROUGHPUT
        .api(&world)
        .delete("leaving", &DeleteParams::default())
        .await?;

    let unobserved = live_json(&world, THROUGHPUT, "drifting")
        .await?
        .context("drifting")?;
    let generation = unobserved["metadata"]["generation"]
        .as_i64()
        .context("generation")?;
    assert_eq!(
        unobserved["status"]["observedGeneration"].as_i64(),
        Some(generation - 1)
    );
    assert_eq!(
        condition_in(&unobserved, READY).map(|c| c.0).as_deref(),
        Some("True"),
        "the status still says Ready from the last generation"
    );
    let health = health_of(THROUGHPUT, &unobserved).await?;
    assert_eq!(
        health,
        Health {
            status: "Progressing".into(),
            message: format!(
                "Waiting for the operator to observe generation {generation} (status.observedGeneration is {})",
                generation - 1
            ),
        }
    );
    keep_as_testdata(THROUGHPUT, "generation_not_observed", &unobserved, &health)?;

    // Deleted, but the finalizer waits for the operator.
    let leaving = live_json(&world, THROUGHPUT, "leaving")
        .await?
        .context("leaving")?;
    let health = assert_pending_deletion(THROUGHPUT, &leaving).await?;
    keep_as_testdata(THROUGHPUT, "deleting", &leaving, &health)?;

    world.start_operator().await?;
    let caught_up = wait_in_service(&world, "drifting").await?;
    assert_eq!(caught_up["status"]["observedGeneration"], json!(generation));
    assert_health(THROUGHPUT, &caught_up, "Healthy", READY).await?;
    wait_throughput_gone(&world, "leaving").await
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

/// A BedrockCustomModel. Neither script reads kind or spec, so the topics both kinds share
/// use it for both.
fn object(metadata: Value, status: Value) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModel",
        "metadata": metadata,
        "spec": { "source": { "s3Uri": "s3://e2e-models/x/" } },
        "status": status,
    })
}

fn deployment(metadata: Value, status: Value) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModelDeployment",
        "metadata": metadata,
        "spec": { "modelRef": { "name": "v4" } },
        "status": status,
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

/// No status, no conditions, conditions of the wrong shape: Progressing, never an error.
#[tokio::test]
async fn edge_objects_without_a_status_or_conditions() -> Result<()> {
    check_cases(CHECKS, vec![
        (
            "empty object",
            json!({}),
            "Progressing",
            "report a status".into(),
        ),
        (
            "no status at all",
            json!({ "metadata": gen2(), "spec": {} }),
            "Progressing",
            "report a status".into(),
        ),
        (
            "a status that is not an object",
            object(gen2(), json!("Active")),
            "Progressing",
            "report a status".into(),
        ),
        (
            "empty conditions",
            object(gen2(), json!({ "observedGeneration": 2, "conditions": [] })),
            "Progressing",
            "Ready condition".into(),
        ),
        (
            "conditions of the wrong type",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": "Ready" }),
            ),
            "Progressing",
            "Ready condition".into(),
        ),
        (
            "only a Synced condition",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [synced("True", "Reconciled", json!(2))] }),
            ),
            "Progressing",
            "Ready condition".into(),
        ),
        (
            "status without observedGeneration",
            object(
                gen2(),
                json!({ "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "observe generation 2 (status.observedGeneration is none)".into(),
        ),
        (
            "Ready without observedGeneration",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [{ "type": "Ready", "status": "True", "reason": "Active" }] }),
            ),
            "Progressing",
            "the Ready condition is for generation none".into(),
        ),
    ])
    .await
}

/// Argo CD hands the script every number as a float: generations compare and print as the
/// whole numbers they are.
#[tokio::test]
async fn edge_objects_with_float_numbers() -> Result<()> {
    check_cases(CHECKS, vec![
        (
            "generation and observedGeneration written as floats",
            object(
                json!({ "name": "m", "generation": 2.0 }),
                json!({ "observedGeneration": 2.0, "conditions": [ready("True", "Active", json!(2.0))] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
        (
            "a generation not yet observed",
            object(
                json!({ "name": "m", "generation": 3 }),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "Waiting for the operator to observe generation 3 (status.observedGeneration is 2)"
                .into(),
        ),
        (
            "Ready for an older generation",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(1))] }),
            ),
            "Progressing",
            "observe generation 2 (the Ready condition is for generation 1)".into(),
        ),
        (
            "a large generation",
            object(
                json!({ "name": "m", "generation": 1_234_567_890_123_i64 }),
                json!({ "observedGeneration": 1_234_567_890_122_i64, "conditions": [ready("True", "Active", json!(1_234_567_890_122_i64))] }),
            ),
            "Progressing",
            "generation 1234567890123 (status.observedGeneration is 1234567890122)".into(),
        ),
    ])
    .await
}

/// Argo CD drops every JSON null, also inside arrays (the entries after it move up).
#[tokio::test]
async fn edge_objects_with_nulls() -> Result<()> {
    check_cases(CHECKS, vec![
        (
            "null status",
            object(gen2(), Value::Null),
            "Progressing",
            "report a status".into(),
        ),
        (
            "null conditions",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": null }),
            ),
            "Progressing",
            "Ready condition".into(),
        ),
        (
            "null observedGeneration",
            object(
                gen2(),
                json!({ "observedGeneration": null, "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "(status.observedGeneration is none)".into(),
        ),
        (
            "null entries around Ready and junk entries",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [null, 7, "x", ready("True", "Active", json!(2)), null] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
        (
            "a null message: the reason stands in",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [{ "type": "Ready", "status": "False", "reason": "QuotaExceeded", "message": null, "observedGeneration": 2 }] }),
            ),
            "Degraded",
            "QuotaExceeded".into(),
        ),
        (
            "a null metadata.generation: nothing to compare with",
            object(
                json!({ "name": "m", "generation": null }),
                json!({ "conditions": [ready("True", "Active", Value::Null)] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
    ])
    .await
}

/// The conditions may come in any order, with other types among them.
#[tokio::test]
async fn edge_objects_with_conditions_in_any_order() -> Result<()> {
    let other = json!({ "type": "SomethingElse", "status": "False", "reason": "Whatever" });
    check_cases(CHECKS, vec![
        (
            "Synced before Ready",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [synced("True", "Reconciled", json!(2)), other, ready("True", "Active", json!(2))] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
        (
            "Ready, but tag changes are throttled (Synced first)",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [synced("False", "Throttled", json!(2)), ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "synced message (Throttled)".into(),
        ),
        (
            "Degraded only on Synced, Ready last",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [other, synced("False", "TooManyTags", json!(2)), ready("False", "Creating", json!(2))] }),
            ),
            "Degraded",
            "synced message (TooManyTags)".into(),
        ),
        (
            "a Degraded Synced of an older generation does not count",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [synced("False", "TooManyTags", json!(1)), ready("True", "Active", json!(2))] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
    ])
    .await
}

/// Reasons a newer operator may add: Unknown (with the reason) only when Ready is False for a
/// reason this check has not heard of; otherwise Ready's status decides. Deleting is a reason
/// of models only: the deployment's and the throughput's checks do not know it.
#[tokio::test]
async fn edge_objects_with_reasons_this_check_does_not_know() -> Result<()> {
    let deleting = || {
        object(
            gen2(),
            json!({ "observedGeneration": 2, "conditions": [ready("False", "Deleting", json!(2))] }),
        )
    };
    let shared: Vec<Case> = vec![
        (
            "Ready False, a new reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "SomethingNew", json!(2))] }),
            ),
            "Unknown",
            "SomethingNew".into(),
        ),
        (
            "Ready Unknown, a new reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("Unknown", "SomethingNew", json!(2))] }),
            ),
            "Progressing",
            "ready message (SomethingNew)".into(),
        ),
        (
            "Ready True, a new reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "SomethingNew", json!(2))] }),
            ),
            "Healthy",
            "ready message (SomethingNew)".into(),
        ),
        (
            "Ready True, Synced False for a new reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(2)), synced("False", "SomethingNew", json!(2))] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
    ];
    let mut failures = failed_cases(CHECKS, &shared).await?;
    failures.extend(
        failed_cases(
            &[MODEL],
            &[(
                "a Deleting reason",
                deleting(),
                "Progressing",
                "ready message (Deleting)".into(),
            )],
        )
        .await?,
    );
    failures.extend(
        failed_cases(
            &[DEPLOYMENT, THROUGHPUT],
            &[(
                "a Deleting reason",
                deleting(),
                "Unknown",
                "(Deleting): ready message (Deleting)".into(),
            )],
        )
        .await?,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Whatever its conditions say, an object being deleted is Pending deletion: Argo CD does not
/// run the script for it, and the script says the same when run on its own.
#[tokio::test]
async fn edge_objects_being_deleted() -> Result<()> {
    let deleted = |generation: i64| json!({ "name": "m", "generation": generation, "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["bedrock-operator.dev/cleanup"] });
    check_cases(CHECKS, vec![
        (
            "blocked",
            object(
                deleted(2),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "DeletionBlocked", json!(2)), synced("False", "DeletionBlocked", json!(2))] }),
            ),
            "Progressing",
            PENDING_DELETION.into(),
        ),
        (
            "not yet observed",
            object(
                deleted(3),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            PENDING_DELETION.into(),
        ),
        (
            "never reconciled",
            json!({ "metadata": deleted(1) }),
            "Progressing",
            PENDING_DELETION.into(),
        ),
        (
            "Failed",
            object(
                deleted(2),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "Failed", json!(2))] }),
            ),
            "Progressing",
            PENDING_DELETION.into(),
        ),
    ])
    .await
}

const V3: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/v3v3v3v3v3v3";
const V4: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/v4v4v4v4v4v4";

/// A deployment's status at generation 2 with `conditions` and the model fields of a swap
/// from v3 to v4, plus `extra` (updateStatus, deploymentStatus).
fn swap_status(conditions: Value, extra: Value) -> Value {
    let mut status = json!({
        "observedGeneration": 2,
        "modelDeploymentName": "chat",
        "modelArn": V3,
        "desiredModelArn": V4,
        "conditions": conditions,
    });
    if let (Some(status), Some(extra)) = (status.as_object_mut(), extra.as_object()) {
        status.extend(extra.clone());
    }
    status
}

/// Ready stays True on the old model while Bedrock swaps in the new one: Progressing until the
/// swap completes, whichever of Synced or updateStatus says so; a failed swap is Degraded; a
/// swap that failed before and no longer matters (the spec points back at the model served)
/// leaves UpdateFailed in updateStatus, and the deployment Healthy.
#[tokio::test]
async fn edge_deployments_during_a_model_swap() -> Result<()> {
    let active = || ready("True", "Active", json!(2));
    check_cases(
        &[DEPLOYMENT],
        vec![
            (
                "Synced Updating, Ready True on the old model",
                deployment(
                    gen2(),
                    swap_status(
                        json!([active(), synced("True", "Updating", json!(2))]),
                        json!({ "updateStatus": "Updating" }),
                    ),
                ),
                "Progressing",
                "synced message (Updating)".into(),
            ),
            (
                "updateStatus Updating, the conditions not yet saying so",
                deployment(
                    gen2(),
                    swap_status(
                        json!([active(), synced("True", "Reconciled", json!(2))]),
                        json!({ "updateStatus": "Updating" }),
                    ),
                ),
                "Progressing",
                format!("Bedrock is rolling model {V4} out to deployment chat; it serves {V3} until then"),
            ),
            (
                "updateStatus Updating, without the model fields",
                deployment(
                    gen2(),
                    json!({ "observedGeneration": 2, "updateStatus": "Updating", "conditions": [active()] }),
                ),
                "Progressing",
                "Bedrock is rolling another model out to the deployment; it serves the previous model until then".into(),
            ),
            (
                "a swap throttled on its way",
                deployment(
                    gen2(),
                    swap_status(
                        json!([active(), synced("False", "Throttled", json!(2))]),
                        json!({ "updateStatus": "Updating" }),
                    ),
                ),
                "Progressing",
                "synced message (Throttled)".into(),
            ),
            (
                "a failed swap: Synced UpdateFailed, Ready True on the old model",
                deployment(
                    gen2(),
                    swap_status(
                        json!([active(), synced("False", "UpdateFailed", json!(2))]),
                        json!({ "updateStatus": "UpdateFailed" }),
                    ),
                ),
                "Degraded",
                "synced message (UpdateFailed)".into(),
            ),
            (
                "an old UpdateFailed, the spec back on the model served",
                deployment(
                    gen2(),
                    json!({ "observedGeneration": 2, "modelArn": V3, "desiredModelArn": V3, "updateStatus": "UpdateFailed", "conditions": [active(), synced("True", "Reconciled", json!(2))] }),
                ),
                "Healthy",
                "ready message (Active)".into(),
            ),
            (
                "the swap completed",
                deployment(
                    gen2(),
                    json!({ "observedGeneration": 2, "modelArn": V4, "desiredModelArn": V4, "updateStatus": "UpdateCompleted", "conditions": [active(), synced("True", "Reconciled", json!(2))] }),
                ),
                "Healthy",
                "ready message (Active)".into(),
            ),
            (
                "an updateStatus that is not a string",
                deployment(
                    gen2(),
                    json!({ "observedGeneration": 2, "updateStatus": 7, "conditions": [active()] }),
                ),
                "Healthy",
                "ready message (Active)".into(),
            ),
            (
                "a Failed deployment, whatever updateStatus says",
                deployment(
                    gen2(),
                    swap_status(
                        json!([ready("False", "Failed", json!(2)), synced("False", "Failed", json!(2))]),
                        json!({ "deploymentStatus": "Failed", "updateStatus": "Updating" }),
                    ),
                ),
                "Degraded",
                "ready message (Failed)".into(),
            ),
            (
                "an update for a generation not yet observed",
                deployment(
                    json!({ "name": "chat", "generation": 3 }),
                    swap_status(
                        json!([active(), synced("True", "Updating", json!(2))]),
                        json!({ "updateStatus": "Updating" }),
                    ),
                ),
                "Progressing",
                "observe generation 3 (status.observedGeneration is 2)".into(),
            ),
        ],
    )
    .await
}

/// The referenced model: waiting for it is Progressing (before the first create, and while
/// the deployment keeps serving an older model); a model that failed or is being deleted is
/// Degraded.
#[tokio::test]
async fn edge_deployments_and_their_model() -> Result<()> {
    let both = |status: &str, reason: &str| json!({ "observedGeneration": 2, "conditions": [ready(status, reason, json!(2)), synced(status, reason, json!(2))] });
    let serving = |reason: &str| {
        swap_status(
            json!([
                ready("True", "Active", json!(2)),
                synced("False", reason, json!(2))
            ]),
            json!({}),
        )
    };
    check_cases(
        &[DEPLOYMENT],
        vec![
            (
                "ModelNotReady before the first create",
                deployment(gen2(), both("False", "ModelNotReady")),
                "Progressing",
                "synced message (ModelNotReady)".into(),
            ),
            (
                "ModelNotFound before the first create",
                deployment(gen2(), both("False", "ModelNotFound")),
                "Progressing",
                "synced message (ModelNotFound)".into(),
            ),
            (
                "ModelNotReady while serving an older model",
                deployment(gen2(), serving("ModelNotReady")),
                "Progressing",
                "synced message (ModelNotReady)".into(),
            ),
            (
                "ModelFailed before the first create",
                deployment(gen2(), both("False", "ModelFailed")),
                "Degraded",
                "ready message (ModelFailed)".into(),
            ),
            (
                "ModelFailed while serving an older model",
                deployment(gen2(), serving("ModelFailed")),
                "Degraded",
                "synced message (ModelFailed)".into(),
            ),
            (
                "ModelDeleting while serving it",
                deployment(gen2(), serving("ModelDeleting")),
                "Degraded",
                "synced message (ModelDeleting)".into(),
            ),
            (
                "Creating",
                deployment(
                    gen2(),
                    json!({ "observedGeneration": 2, "deploymentStatus": "Creating", "conditions": [ready("False", "Creating", json!(2)), synced("True", "Reconciled", json!(2))] }),
                ),
                "Progressing",
                "ready message (Creating)".into(),
            ),
        ],
    )
    .await
}

fn throughput(metadata: Value, status: Value) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockProvisionedThroughput",
        "metadata": metadata,
        "spec": { "modelRef": { "name": "v4" }, "modelUnits": 1 },
        "status": status,
    })
}

/// A throughput's status at generation 2 with `conditions`, bought with one unit and serving
/// v3 while the spec names v4, plus `extra` (throughputStatus, commitment fields).
fn throughput_status(conditions: Value, extra: Value) -> Value {
    let mut status = json!({
        "observedGeneration": 2,
        "provisionedModelName": "pt",
        "provisionedModelArn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl",
        "modelArn": V3,
        "desiredModelArn": V4,
        "modelUnits": 1,
        "conditions": conditions,
    });
    if let (Some(status), Some(extra)) = (status.as_object_mut(), extra.as_object()) {
        status.extend(extra.clone());
    }
    status
}

fn in_service() -> Value {
    ready("True", "InService", json!(2))
}

/// Ready stays True on the old model while Bedrock swaps in the new one: Progressing until the
/// swap completes, whichever of Synced or throughputStatus says so; a swap Bedrock failed
/// leaves the throughput Failed, Degraded.
#[tokio::test]
async fn edge_throughputs_during_a_model_swap() -> Result<()> {
    check_cases(
        &[THROUGHPUT],
        vec![
            (
                "InService, Reconciled",
                throughput(
                    gen2(),
                    throughput_status(
                        json!([in_service(), synced("True", "Reconciled", json!(2))]),
                        json!({ "throughputStatus": "InService", "desiredModelArn": V3 }),
                    ),
                ),
                "Healthy",
                "ready message (InService)".into(),
            ),
            (
                "Synced Updating, Ready True on the old model",
                throughput(
                    gen2(),
                    throughput_status(
                        json!([in_service(), synced("True", "Updating", json!(2))]),
                        json!({ "throughputStatus": "Updating" }),
                    ),
                ),
                "Progressing",
                "synced message (Updating)".into(),
            ),
            (
                "Synced Updating before Bedrock says so (the update just sent)",
                throughput(
                    gen2(),
                    throughput_status(
                        json!([in_service(), synced("True", "Updating", json!(2))]),
                        json!({ "throughputStatus": "InService" }),
                    ),
                ),
                "Progressing",
                "synced message (Updating)".into(),
            ),
            (
                "throughputStatus Updating, the conditions not yet saying so",
                throughput(
                    gen2(),
                    throughput_status(
                        json!([in_service(), synced("True", "Reconciled", json!(2))]),
                        json!({ "throughputStatus": "Updating" }),
                    ),
                ),
                "Progressing",
                format!("Bedrock is updating provisioned throughput pt (to model {V4}); it serves {V3} until then"),
            ),
            (
                "throughputStatus Updating, without the name and model fields",
                throughput(
                    gen2(),
                    json!({ "observedGeneration": 2, "throughputStatus": "Updating", "conditions": [in_service()] }),
                ),
                "Progressing",
                "Bedrock is updating the provisioned throughput (to another model); it serves the previous model until then".into(),
            ),
            (
                "a swap throttled on its way",
                throughput(
                    gen2(),
                    throughput_status(
                        json!([in_service(), synced("False", "Throttled", json!(2))]),
                        json!({ "throughputStatus": "InService" }),
                    ),
                ),
                "Progressing",
                "synced message (Throttled)".into(),
            ),
            (
                "a swap Bedrock failed: the throughput is Failed",
                throughput(
                    gen2(),
                    throughput_status(
                        json!([ready("False", "Failed", json!(2)), synced("False", "Failed", json!(2))]),
                        json!({ "throughputStatus": "Failed", "failureMessage": "no capacity" }),
                    ),
                ),
                "Degraded",
                "ready message (Failed)".into(),
            ),
            (
                "a throughputStatus that is not a string",
                throughput(
                    gen2(),
                    json!({ "observedGeneration": 2, "throughputStatus": 7, "conditions": [in_service()] }),
                ),
                "Healthy",
                "ready message (InService)".into(),
            ),
            (
                "an update for a generation not yet observed",
                throughput(
                    json!({ "name": "pt", "generation": 3 }),
                    throughput_status(
                        json!([in_service(), synced("True", "Updating", json!(2))]),
                        json!({ "throughputStatus": "Updating" }),
                    ),
                ),
                "Progressing",
                "observe generation 3 (status.observedGeneration is 2)".into(),
            ),
        ],
    )
    .await
}

/// The referenced model: waiting for it is Progressing (before the purchase, and while the
/// throughput keeps serving an older model); a model that failed or is being deleted is
/// Degraded.
#[tokio::test]
async fn edge_throughputs_and_their_model() -> Result<()> {
    let both = |status: &str, reason: &str| json!({ "observedGeneration": 2, "conditions": [ready(status, reason, json!(2)), synced(status, reason, json!(2))] });
    let serving = |reason: &str| {
        throughput_status(
            json!([in_service(), synced("False", reason, json!(2))]),
            json!({ "throughputStatus": "InService" }),
        )
    };
    check_cases(
        &[THROUGHPUT],
        vec![
            (
                "ModelNotReady before the purchase",
                throughput(gen2(), both("False", "ModelNotReady")),
                "Progressing",
                "synced message (ModelNotReady)".into(),
            ),
            (
                "ModelNotFound before the purchase",
                throughput(gen2(), both("False", "ModelNotFound")),
                "Progressing",
                "synced message (ModelNotFound)".into(),
            ),
            (
                "ModelNotReady while serving an older model",
                throughput(gen2(), serving("ModelNotReady")),
                "Progressing",
                "synced message (ModelNotReady)".into(),
            ),
            (
                "ModelFailed before the purchase",
                throughput(gen2(), both("False", "ModelFailed")),
                "Degraded",
                "ready message (ModelFailed)".into(),
            ),
            (
                "ModelFailed while serving an older model",
                throughput(gen2(), serving("ModelFailed")),
                "Degraded",
                "synced message (ModelFailed)".into(),
            ),
            (
                "ModelDeleting while serving it",
                throughput(gen2(), serving("ModelDeleting")),
                "Degraded",
                "synced message (ModelDeleting)".into(),
            ),
            (
                "Creating",
                throughput(
                    gen2(),
                    json!({ "observedGeneration": 2, "throughputStatus": "Creating", "conditions": [ready("False", "Creating", json!(2)), synced("True", "Reconciled", json!(2))] }),
                ),
                "Progressing",
                "ready message (Creating)".into(),
            ),
        ],
    )
    .await
}

/// What the operator will not get past on its own is Degraded with the operator's message:
/// the commitment guard, a throughput that vanished with its term, the model-unit quota, a
/// unit change on a live throughput, a name held by another resource.
#[tokio::test]
async fn edge_throughputs_a_person_must_act_on() -> Result<()> {
    let both = |reason: &str| json!({ "observedGeneration": 2, "conditions": [ready("False", reason, json!(2)), synced("False", reason, json!(2))] });
    let cases = [
        "InvalidSpec",
        "ThroughputMissing",
        "QuotaExceeded",
        "ImmutableFieldChanged",
        "NameConflict",
        "AccessDenied",
        "ValidationFailed",
        "ResourceNotFound",
        "UpdateFailed",
    ]
    .into_iter()
    .map(|reason| {
        (
            reason,
            throughput(gen2(), both(reason)),
            "Degraded",
            format!("ready message ({reason})"),
        )
    })
    .chain([(
        "a tag change refused while InService",
        throughput(
            gen2(),
            throughput_status(
                json!([in_service(), synced("False", "TooManyTags", json!(2))]),
                json!({ "throughputStatus": "InService" }),
            ),
        ),
        "Degraded",
        "synced message (TooManyTags)".into(),
    )])
    .collect();
    check_cases(&[THROUGHPUT], cases).await
}

/// A committed throughput deleted before its term ends keeps its finalizer until the term is
/// over (Synced DeletionBlocked, naming the date), which may be months. Argo CD shows it
/// Pending deletion all along, as it shows every object being deleted, and never asks the
/// script: the script says the same wherever it runs, whatever the conditions tell apart.
#[tokio::test]
async fn edge_throughputs_whose_deletion_waits_for_the_term() -> Result<()> {
    let deleted = json!({ "name": "pt", "generation": 2, "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["bedrock-operator.dev/finalizer"] });
    let blocked = |message: &str| {
        let condition = |type_: &str| json!({ "type": type_, "status": "False", "reason": "DeletionBlocked", "message": message, "observedGeneration": 2 });
        throughput_status(
            json!([condition("Ready"), condition("Synced")]),
            json!({ "throughputStatus": "InService", "commitmentDuration": "OneMonth", "commitmentExpirationTime": "2026-02-01T00:00:00Z" }),
        )
    };
    check_cases(
        &[THROUGHPUT],
        vec![
            (
                "the term has not ended",
                throughput(
                    deleted.clone(),
                    blocked(
                        "provisioned throughput pt has a OneMonth commitment that ends at 2026-02-01T00:00:00Z; …",
                    ),
                ),
                "Progressing",
                PENDING_DELETION.into(),
            ),
            (
                "Bedrock refused the deletion",
                throughput(
                    deleted.clone(),
                    blocked("Bedrock refused to delete provisioned throughput …"),
                ),
                "Progressing",
                PENDING_DELETION.into(),
            ),
            (
                "the term is over, the deletion under way",
                throughput(
                    deleted,
                    throughput_status(
                        json!([in_service(), synced("True", "Reconciled", json!(2))]),
                        json!({ "throughputStatus": "InService" }),
                    ),
                ),
                "Progressing",
                PENDING_DELETION.into(),
            ),
        ],
    )
    .await
}

/// argocd-lua is no more lenient than Argo CD, or the tests above would prove nothing: without
/// useOpenLibs there is no `math` (the error a user saw, as Unknown), numbers are floats, nulls
/// in arrays vanish, a deleted object never reaches the script, and a status Argo CD does not
/// know is Unknown.
#[tokio::test]
async fn argocd_lua_runs_scripts_as_argo_cd_does() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("argocd-lua-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = |name: &str, text: &str| -> Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let healthy = |message: &str| Health {
        status: "Healthy".into(),
        message: message.into(),
    };
    let object = json!({
        "metadata": { "generation": 2 },
        "status": { "conditions": [null, { "type": "Ready" }, null, { "type": "Synced" }], "message": null },
    });

    let floor = script(
        "floor.lua",
        "return { status = 'Healthy', message = tostring(math.floor(obj.metadata.generation)) }",
    )?;
    let healths = health_under(&floor, Mode::ArgocdCm, std::slice::from_ref(&object)).await?;
    let argocd_cm = &healths[0];
    assert_eq!(argocd_cm.status, "Unknown");
    assert!(
        argocd_cm
            .message
            .ends_with("attempt to index a non-table object(nil) with key 'floor'"),
        "{argocd_cm:?}"
    );
    assert_eq!(
        health_under(&floor, Mode::OpenLibs, std::slice::from_ref(&object)).await?,
        [healthy("2")]
    );

    let shapes = script(
        "shapes.lua",
        "return { status = 'Healthy', message = tostring(obj.metadata.generation) .. ' '
           .. tostring(#obj.status.conditions) .. ' ' .. obj.status.conditions[2].type .. ' '
           .. type(obj.status.message) .. ' ' .. type(string) .. ' ' .. type(os) }",
    )?;
    assert_eq!(
        health_under(&shapes, Mode::ArgocdCm, std::slice::from_ref(&object)).await?,
        [healthy("2 2 Synced nil nil nil")]
    );

    let never = script("never.lua", "error('the script ran')")?;
    let mut deleted = object.clone();
    deleted["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let healths = health_under(&never, Mode::ArgocdCm, &[deleted.clone(), object.clone()]).await?;
    assert_eq!(
        healths[0],
        Health {
            status: "Progressing".into(),
            message: PENDING_DELETION.into()
        }
    );
    assert_eq!(healths[1].status, "Unknown");
    assert!(
        healths[1].message.ends_with("the script ran"),
        "{healths:?}"
    );
    let script_only = health_under(&never, Mode::ScriptOnly, &[deleted]).await?;
    assert_eq!(script_only[0].status, "Unknown", "{script_only:?}");

    let odd = script(
        "odd.lua",
        "return { status = 'Fine', message = 'all good' }",
    )?;
    assert_eq!(
        health_under(&odd, Mode::ArgocdCm, &[object]).await?,
        [Health {
            status: "Unknown".into(),
            message: "Lua returned an invalid health status".into()
        }]
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// The argocd-cm snippet installs each kind's script, byte for byte, under the key Argo CD
/// looks up for that group and kind, and nothing else.
#[test]
fn argocd_cm_snippet_is_each_kinds_script() -> Result<()> {
    let snippet: Value = serde_yaml::from_str(&std::fs::read_to_string(
        argocd_dir().join("argocd-cm.yaml"),
    )?)?;
    assert_eq!(snippet["kind"], "ConfigMap");
    assert_eq!(snippet["metadata"]["name"], "argocd-cm");
    let keys: Vec<String> = CHECKS.iter().map(Check::argocd_cm_key).collect();
    assert_eq!(
        keys,
        [
            "resource.customizations.health.bedrock-operator.dev_BedrockCustomModel",
            "resource.customizations.health.bedrock-operator.dev_BedrockCustomModelDeployment",
            "resource.customizations.health.bedrock-operator.dev_BedrockProvisionedThroughput",
        ]
    );
    let data = snippet["data"].as_object().context("data")?;
    let mut listed: Vec<&String> = data.keys().collect();
    listed.sort();
    assert_eq!(listed, keys.iter().collect::<Vec<_>>(), "argocd-cm's keys");
    for (check, key) in CHECKS.iter().zip(&keys) {
        let script = std::fs::read_to_string(check.script())?;
        let inlined = data[key].as_str().context("the script")?;
        assert!(
            inlined == script,
            "docs/argocd/argocd-cm.yaml's script for {} differs from docs/argocd/{}: paste it under `{key}: |`, indented by four spaces",
            check.kind(),
            check.script
        );
    }
    Ok(())
}

/// Each contribution layout carries the script argocd-cm installs, byte for byte.
#[test]
fn contribution_layout_health_lua_is_health_lua() -> Result<()> {
    for check in CHECKS {
        let script = std::fs::read_to_string(check.script())?;
        let path = check.contribution_dir().join("health.lua");
        let contributed = std::fs::read_to_string(&path)?;
        assert!(
            contributed == script,
            "{} differs from docs/argocd/{}: copy it",
            path.display(),
            check.script
        );
    }
    Ok(())
}

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

#[test]
fn contribution_layout_covers_every_live_state() -> Result<()> {
    assert_covers_every_live_state(MODEL)
}

#[test]
fn deployment_contribution_layout_covers_every_live_state() -> Result<()> {
    assert_covers_every_live_state(DEPLOYMENT)
}

#[test]
fn throughput_contribution_layout_covers_every_live_state() -> Result<()> {
    assert_covers_every_live_state(THROUGHPUT)
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

/// The committed testdata get the health health_test.yaml says, with argocd-cm's libraries.
#[tokio::test]
async fn contribution_health_tests_pass_with_argocd_cm_libraries() -> Result<()> {
    run_contribution_tests(MODEL, &[]).await
}

/// … and with every library, as Argo CD runs the scripts it bundles.
#[tokio::test]
async fn contribution_health_tests_pass_with_every_library() -> Result<()> {
    run_contribution_tests(MODEL, &["-open-libs"]).await
}

/// The deployment's, with argocd-cm's libraries.
#[tokio::test]
async fn deployment_contribution_health_tests_pass_with_argocd_cm_libraries() -> Result<()> {
    run_contribution_tests(DEPLOYMENT, &[]).await
}

/// … and with every library.
#[tokio::test]
async fn deployment_contribution_health_tests_pass_with_every_library() -> Result<()> {
    run_contribution_tests(DEPLOYMENT, &["-open-libs"]).await
}

/// The throughput's, with argocd-cm's libraries.
#[tokio::test]
async fn throughput_contribution_health_tests_pass_with_argocd_cm_libraries() -> Result<()> {
    run_contribution_tests(THROUGHPUT, &[]).await
}

/// … and with every library.
#[tokio::test]
async fn throughput_contribution_health_tests_pass_with_every_library() -> Result<()> {
    run_contribution_tests(THROUGHPUT, &["-open-libs"]).await
}
