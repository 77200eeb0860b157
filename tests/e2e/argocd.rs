//! The Argo CD health check (docs/argocd/health.lua), run the way Argo CD runs it: by testkit's
//! `argocd-lua` (testkit/go/argocd-lua), which embeds Argo CD's Lua interpreter, gopher-lua
//! (Lua 5.1), and repeats what Argo CD does around it. An object being deleted is Progressing
//! "Pending deletion" before any script runs; a script installed through argocd-cm gets no
//! `string`, `math` or `os`; numbers arrive as floats and JSON nulls are dropped; an error is
//! Unknown with the error's text.
//!
//! - Live objects: each test drives the real operator into a state, takes the object from the
//!   API server and checks the health Argo CD would show. The same objects are the testdata of
//!   the contribution layout (docs/argocd/resource_customizations/…): with
//!   `BEDROCK_OPERATOR_WRITE_TESTDATA=1` the tests rewrite them and health_test.yaml; without,
//!   they check that the committed ones still stand for what the operator produces.
//! - Edge objects: hand-written, one test per topic.
//! - One script: the argocd-cm snippet and the contribution layout carry health.lua byte for
//!   byte, and every verdict is checked to be the same with argocd-cm's libraries, with every
//!   library (useOpenLibs, and how Argo CD runs the scripts it bundles) and run on its own (as
//!   Argo CD's test of resource_customizations runs it, without the deletion rule).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use bedrock_emulator::{FaultConfig, ForeignModel, Operation};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::{READY, SYNCED};
use kube::Resource;
use kube::api::{Api, ApiResource, DynamicObject};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use testkit::gotools::ARGOCD_LUA;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::harness::{DEADLINE, World, s3_spec, tail};

/// Set to 1 to rewrite the contribution layout's testdata from the live objects.
const WRITE_TESTDATA_ENV: &str = "BEDROCK_OPERATOR_WRITE_TESTDATA";
/// A role the emulator answers AccessDeniedException for.
const DENIED_ROLE: &str = "arn:aws:iam::123456789012:role/NoPassRole";
/// Long enough that a model stays Creating for the whole test.
const FOREVER: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_millis(100);
/// What Argo CD shows for any object with a deletionTimestamp (gitops-engine's health.go).
const PENDING_DELETION: &str = "Pending deletion";

/// The live states kept as testdata, by file stem: every state the live tests below produce.
const LIVE_STATES: &[&str] = &[
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
];

fn argocd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/argocd")
}

/// Argo CD's resource_customizations/<group>/<kind>/ layout, for a contribution upstream.
fn contribution_dir() -> PathBuf {
    argocd_dir()
        .join("resource_customizations")
        .join(BedrockCustomModel::group(&()).as_ref())
        .join(BedrockCustomModel::kind(&()).as_ref())
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

/// What Argo CD shows for each object with health.lua installed through argocd-cm. Fails if
/// the script answers anything else with every library open or when run on its own: it must
/// not matter how Argo CD runs it.
async fn argo_health(objects: &[Value]) -> Result<Vec<Health>> {
    let script = argocd_dir().join("health.lua");
    let shown = health_under(&script, Mode::ArgocdCm, objects).await?;
    for mode in [Mode::OpenLibs, Mode::ScriptOnly] {
        let other = health_under(&script, mode, objects).await?;
        for ((object, argocd_cm), answer) in objects.iter().zip(&shown).zip(&other) {
            ensure!(
                argocd_cm == answer,
                "health.lua says {answer:?} in mode {mode:?} but {argocd_cm:?} as an argocd-cm script\nobject: {object}"
            );
        }
    }
    Ok(shown)
}

async fn health_of(object: &Value) -> Result<Health> {
    argo_health(std::slice::from_ref(object))
        .await?
        .pop()
        .context("one health for one object")
}

/// The resource exactly as the API server returns it, as JSON.
async fn live_json(world: &World, name: &str) -> Result<Option<Value>> {
    let resource = ApiResource::erase::<BedrockCustomModel>(&());
    let api: Api<DynamicObject> =
        Api::namespaced_with(world.plane.client(), &world.namespace, &resource);
    Ok(match api.get_opt(name).await? {
        Some(object) => Some(serde_json::to_value(object)?),
        None => None,
    })
}

/// Waits until the live object satisfies `check`, and returns that very object.
async fn wait_json(
    world: &World,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let mut last = None;
    let found = testkit::wait::until(
        format!("{name} to become {what}"),
        DEADLINE,
        POLL,
        async || {
            let seen = live_json(world, name).await?;
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
async fn wait_reason_json(world: &World, name: &str, type_: &str, reason: &str) -> Result<Value> {
    wait_json(world, name, &format!("{type_} {reason}"), |object| {
        condition_in(object, type_).is_some_and(|c| {
            c.1 == reason && c.3.is_some() && c.3 == object["metadata"]["generation"].as_i64()
        })
    })
    .await
}

/// Checks the health of `object`: its status, and that the message is the message of the
/// condition `type_`.
async fn assert_health(object: &Value, status: &str, type_: &str) -> Result<Health> {
    let health = health_of(object).await?;
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
async fn assert_pending_deletion(object: &Value) -> Result<Health> {
    assert!(
        object["metadata"]["deletionTimestamp"].is_string(),
        "{object}"
    );
    let health = health_of(object).await?;
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

/// health_test.yaml of the contribution layout.
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
    fn read() -> Result<Self> {
        let path = contribution_dir().join("health_test.yaml");
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
}

impl Shape {
    fn of(object: &Value) -> Self {
        let condition =
            |type_| condition_in(object, type_).map(|(status, reason, ..)| (status, reason));
        Shape {
            being_deleted: object["metadata"]["deletionTimestamp"].is_string(),
            ready: condition(READY),
            synced: condition(SYNCED),
        }
    }
}

/// Keeps a live object of `state` as testdata/`state`.yaml of the contribution layout, with the
/// health it got in health_test.yaml (when `BEDROCK_OPERATOR_WRITE_TESTDATA=1`); otherwise
/// checks that the committed object is still of the same shape and health.
fn keep_as_testdata(state: &str, object: &Value, health: &Health) -> Result<()> {
    assert!(LIVE_STATES.contains(&state), "{state} is in LIVE_STATES");
    let input_path = format!("testdata/{state}.yaml");
    let path = contribution_dir().join(&input_path);
    if !writing_testdata() {
        let hint = format!("regenerate with {WRITE_TESTDATA_ENV}=1 (docs/argocd.md)");
        let committed: Value = serde_yaml::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}: {hint}", path.display()))?,
        )?;
        assert_eq!(
            Shape::of(&committed),
            Shape::of(object),
            "{input_path} no longer looks like what the operator shows for {state}: {hint}"
        );
        let tests = HealthTests::read()?;
        let expected = tests
            .tests
            .iter()
            .find(|t| t.input_path == input_path)
            .with_context(|| format!("health_test.yaml has no test for {input_path}: {hint}"))?;
        assert_eq!(
            expected.health_status.status, health.status,
            "health_test.yaml expects another status for {input_path}: {hint}"
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
    write_whole(&path, &serde_yaml::to_string(&kept)?)?;
    let mut tests = HealthTests::read().unwrap_or_default();
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
    write_whole(&contribution_dir().join("health_test.yaml"), &text)?;
    Ok(())
}

/// Writes `path` through a rename, so that the tests reading it meanwhile never see half a file.
fn write_whole(path: &Path, text: &str) -> Result<()> {
    let temporary = contribution_dir().join(format!(".writing-{}", std::process::id()));
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
    let creating = wait_reason_json(&world, "slow", READY, "Creating").await?;
    let health = assert_health(&creating, "Progressing", READY).await?;
    assert!(
        health.message.to_lowercase().contains("creating") && health.message.contains("slow"),
        "{health:?}"
    );
    keep_as_testdata("creating", &creating, &health)?;

    // Active.
    let active = wait_reason_json(&world, "fine", READY, "Active").await?;
    assert_eq!(
        active["status"]["observedGeneration"],
        active["metadata"]["generation"]
    );
    let health = assert_health(&active, "Healthy", READY).await?;
    assert!(health.message.contains("is Active"), "{health:?}");
    keep_as_testdata("active", &active, &health)?;

    // Failed: the message carries Bedrock's failureMessage.
    let failed = wait_reason_json(&world, "broken", READY, "Failed").await?;
    let health = assert_health(&failed, "Degraded", READY).await?;
    let failure = failed["status"]["failureMessage"]
        .as_str()
        .context("failureMessage")?
        .trim_end_matches('.');
    assert!(health.message.contains(failure), "{health:?}");
    keep_as_testdata("failed", &failed, &health)?;

    // InvalidSpec, naming the field.
    let invalid = wait_reason_json(&world, "dotted.name", READY, "InvalidSpec").await?;
    let health = assert_health(&invalid, "Degraded", READY).await?;
    assert!(health.message.contains("spec.modelName"), "{health:?}");
    keep_as_testdata("invalid_spec", &invalid, &health)?;

    // NameConflict with a model the operator did not create.
    let conflict = wait_reason_json(&world, "taken", READY, "NameConflict").await?;
    let health = assert_health(&conflict, "Degraded", READY).await?;
    assert!(health.message.contains("adoptionPolicy"), "{health:?}");
    keep_as_testdata("name_conflict", &conflict, &health)?;

    // AccessDenied on CreateCustomModel.
    let denied = wait_reason_json(&world, "denied", READY, "AccessDenied").await?;
    let health = assert_health(&denied, "Degraded", READY).await?;
    assert!(health.message.contains("iam:PassRole"), "{health:?}");
    assert_eq!(
        condition_in(&denied, SYNCED).map(|c| c.1).as_deref(),
        Some("AccessDenied")
    );
    keep_as_testdata("access_denied", &denied, &health)?;

    // DeletionBlocked: Bedrock refuses to delete a model in use. Argo CD shows any object being
    // deleted as Pending deletion without asking the script; the reason and Bedrock's words are
    // on the conditions (`kubectl get bcm`, `kubectl describe bcm`).
    world.wait_ready("in-use").await?;
    state.set_delete_conflict(
        "in-use",
        Some("the model is used by provisioned throughput pt-1".into()),
    )?;
    world.delete("in-use").await?;
    let blocked = wait_json(&world, "in-use", "DeletionBlocked", |object| {
        object["metadata"]["deletionTimestamp"].is_string()
            && condition_in(object, READY).is_some_and(|c| c.1 == "DeletionBlocked")
    })
    .await?;
    let health = assert_pending_deletion(&blocked).await?;
    let (status, _, message, _) = condition_in(&blocked, READY).context("Ready")?;
    assert_eq!(status, "False");
    assert!(message.contains("provisioned throughput"), "{message}");
    keep_as_testdata("deletion_blocked", &blocked, &health)?;
    state.clear_delete_conflict("in-use")?;
    world.wait_gone("in-use").await?;

    // The slow model finishes: Healthy.
    state.set_ready_delay("slow", Duration::ZERO)?;
    let done = wait_reason_json(&world, "slow", READY, "Active").await?;
    assert_health(&done, "Healthy", READY).await?;
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
    let before = live_json(&world, "drifting").await?.context("drifting")?;
    assert_health(&before, "Healthy", READY).await?;

    world.kill_operator().await?;
    let mut spec = s3_spec("drifting");
    spec["tags"] = json!({ "team": "ml" });
    world.apply("drifting", spec).await?;
    world.delete("leaving").await?;

    // A new generation the operator has not seen: the old Ready=True no longer counts. (The
    // script used math.floor here, which argocd-cm scripts do not have: Argo CD showed Unknown.)
    let unobserved = live_json(&world, "drifting").await?.context("drifting")?;
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
    let health = health_of(&unobserved).await?;
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
    keep_as_testdata("generation_not_observed", &unobserved, &health)?;

    // Deleted, but the finalizer waits for the operator.
    let leaving = live_json(&world, "leaving").await?.context("leaving")?;
    let health = assert_pending_deletion(&leaving).await?;
    keep_as_testdata("deleting", &leaving, &health)?;

    world.start_operator().await?;
    let caught_up = wait_json(
        &world,
        "drifting",
        "Ready for the new generation",
        |object| {
            condition_in(object, READY).is_some_and(|c| c.0 == "True" && c.3 == Some(generation))
                && object["status"]["observedGeneration"].as_i64() == Some(generation)
        },
    )
    .await?;
    assert_health(&caught_up, "Healthy", READY).await?;
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

    let refused = wait_reason_json(&world, "settled", SYNCED, "ImmutableFieldChanged").await?;
    let health = assert_health(&refused, "Degraded", SYNCED).await?;
    assert!(health.message.contains("spec.region"), "{health:?}");
    assert_eq!(
        condition_in(&refused, READY).map(|c| c.1).as_deref(),
        Some("ImmutableFieldChanged"),
        "the Ready condition says the same"
    );
    keep_as_testdata("immutable_field_changed", &refused, &health)?;
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
    let throttled = wait_reason_json(&world, "patient", SYNCED, "Throttled").await?;
    let health = assert_health(&throttled, "Progressing", SYNCED).await?;
    assert!(health.message.contains("throttling"), "{health:?}");
    keep_as_testdata("throttled", &throttled, &health)?;

    state.set_faults(FaultConfig {
        internal_error_fraction: 1.0,
        operations: vec![Operation::CreateCustomModel],
        ..FaultConfig::default()
    })?;
    let unavailable = wait_reason_json(&world, "patient", SYNCED, "BedrockUnavailable").await?;
    let health = assert_health(&unavailable, "Progressing", SYNCED).await?;
    keep_as_testdata("bedrock_unavailable", &unavailable, &health)?;

    state.set_faults(FaultConfig::default())?;
    let ready = wait_reason_json(&world, "patient", READY, "Active").await?;
    assert_health(&ready, "Healthy", READY).await?;
    assert_eq!(world.emulator.state().create_log().len(), 1);
    Ok(())
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

fn object(metadata: Value, status: Value) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModel",
        "metadata": metadata,
        "spec": { "source": { "s3Uri": "s3://e2e-models/x/" } },
        "status": status,
    })
}

fn gen2() -> Value {
    json!({ "name": "m", "generation": 2 })
}

/// (case, object, status, a part of the message)
type Case = (&'static str, Value, &'static str, String);

/// Judges every case's object (in one run per mode) and reports every case that got another
/// health, not just the first.
async fn check_cases(cases: Vec<Case>) -> Result<()> {
    let objects: Vec<Value> = cases.iter().map(|case| case.1.clone()).collect();
    let healths = argo_health(&objects).await?;
    let failures: Vec<String> = cases
        .iter()
        .zip(&healths)
        .filter(|((_, _, status, message), health)| {
            health.status != *status || !health.message.contains(message.as_str())
        })
        .map(|((case, _, status, message), health)| {
            format!("{case}: got {health:?}, want {status} with a message containing {message:?}")
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// No status, no conditions, conditions of the wrong shape: Progressing, never an error.
#[tokio::test]
async fn edge_objects_without_a_status_or_conditions() -> Result<()> {
    check_cases(vec![
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
    check_cases(vec![
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
    check_cases(vec![
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
    check_cases(vec![
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
/// reason this check has not heard of; otherwise Ready's status decides.
#[tokio::test]
async fn edge_objects_with_reasons_this_check_does_not_know() -> Result<()> {
    check_cases(vec![
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
        (
            "a Deleting reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "Deleting", json!(2))] }),
            ),
            "Progressing",
            "ready message (Deleting)".into(),
        ),
    ])
    .await
}

/// Whatever its conditions say, an object being deleted is Pending deletion: Argo CD does not
/// run the script for it, and the script says the same when run on its own.
#[tokio::test]
async fn edge_objects_being_deleted() -> Result<()> {
    let deleted = |generation: i64| json!({ "name": "m", "generation": generation, "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["bedrock-operator.dev/cleanup"] });
    check_cases(vec![
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

/// The argocd-cm snippet installs health.lua, byte for byte, under the key Argo CD looks up for
/// this group and kind.
#[test]
fn argocd_cm_snippet_is_health_lua() -> Result<()> {
    let dir = argocd_dir();
    let script = std::fs::read_to_string(dir.join("health.lua"))?;
    let snippet: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("argocd-cm.yaml"))?)?;
    assert_eq!(snippet["kind"], "ConfigMap");
    assert_eq!(snippet["metadata"]["name"], "argocd-cm");
    let key = format!(
        "resource.customizations.health.{}_{}",
        BedrockCustomModel::group(&()),
        BedrockCustomModel::kind(&())
    );
    assert_eq!(
        key,
        "resource.customizations.health.bedrock-operator.dev_BedrockCustomModel"
    );
    let data = snippet["data"].as_object().context("data")?;
    assert_eq!(data.keys().collect::<Vec<_>>(), [&key]);
    let inlined = data[&key].as_str().context("the script")?;
    assert!(
        inlined == script,
        "docs/argocd/argocd-cm.yaml's script differs from docs/argocd/health.lua: paste health.lua under `{key}: |`, indented by four spaces"
    );
    Ok(())
}

/// The contribution layout carries health.lua byte for byte.
#[test]
fn contribution_layout_health_lua_is_health_lua() -> Result<()> {
    let script = std::fs::read_to_string(argocd_dir().join("health.lua"))?;
    let contributed = std::fs::read_to_string(contribution_dir().join("health.lua"))?;
    assert!(
        contributed == script,
        "{} differs from docs/argocd/health.lua: copy it",
        contribution_dir().join("health.lua").display()
    );
    Ok(())
}

/// health_test.yaml has one test per live state, each on its own testdata file, and nothing else.
#[test]
fn contribution_layout_covers_every_live_state() -> Result<()> {
    let tests = HealthTests::read()?;
    let listed: Vec<&str> = tests.tests.iter().map(|t| t.input_path.as_str()).collect();
    let mut wanted: Vec<String> = LIVE_STATES
        .iter()
        .map(|state| format!("testdata/{state}.yaml"))
        .collect();
    wanted.sort();
    assert_eq!(listed, wanted, "health_test.yaml's tests, in order");
    let mut files: Vec<String> = std::fs::read_dir(contribution_dir().join("testdata"))?
        .map(|entry| Ok(format!("testdata/{}", entry?.file_name().to_string_lossy())))
        .collect::<Result<_>>()?;
    files.sort();
    assert_eq!(files, wanted, "the testdata files");
    Ok(())
}

/// Runs health_test.yaml through argocd-lua's `test`, which runs it like Argo CD's own test of
/// resource_customizations; every test must pass.
async fn run_contribution_tests(flags: &[&str]) -> Result<()> {
    let dir = contribution_dir();
    let mut args = vec!["test"];
    args.extend(flags);
    args.push(dir.to_str().context("the path is not UTF-8")?);
    let (passed, stdout) = run_argocd_lua(&args, b"").await?;
    assert!(passed, "health_test.yaml with {flags:?}:\n{stdout}");
    let ok = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert_eq!(ok, HealthTests::read()?.tests.len(), "{stdout}");
    Ok(())
}

/// The committed testdata get the health health_test.yaml says, with argocd-cm's libraries.
#[tokio::test]
async fn contribution_health_tests_pass_with_argocd_cm_libraries() -> Result<()> {
    run_contribution_tests(&[]).await
}

/// … and with every library, as Argo CD runs the scripts it bundles.
#[tokio::test]
async fn contribution_health_tests_pass_with_every_library() -> Result<()> {
    run_contribution_tests(&["-open-libs"]).await
}
