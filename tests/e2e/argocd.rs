//! The Argo CD health check (docs/argocd/health.lua), run by a real Lua interpreter on objects
//! the real operator produced: each test drives the operator into a state, fetches the object
//! from the API server as JSON, pipes it through docs/argocd/run_health.lua and checks the health
//! Argo CD would show. A table test covers hand-written edge objects, and another checks that
//! the argocd-cm snippet carries the same script.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bedrock_emulator::{FaultConfig, ForeignModel, Operation};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::{READY, SYNCED};
use kube::Resource;
use kube::api::{Api, ApiResource, DynamicObject};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::harness::{DEADLINE, World, s3_spec, tail};

/// Where `cargo xtask test` puts the Lua 5.4 interpreter (with lua-cjson).
const LUA_ENV: &str = "BEDROCK_OPERATOR_LUA";
const DEFAULT_LUA: &str = "/usr/bin/lua5.4";
/// A role the emulator answers AccessDeniedException for.
const DENIED_ROLE: &str = "arn:aws:iam::123456789012:role/NoPassRole";
/// Long enough that a model stays Creating for the whole test.
const FOREVER: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_millis(100);

fn argocd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/argocd")
}

fn lua() -> PathBuf {
    let path = std::env::var_os(LUA_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LUA));
    assert!(
        path.exists(),
        "no Lua interpreter at {}: install the Debian packages lua5.4 and lua-cjson (`cargo xtask test` does) or point {LUA_ENV} at a Lua 5.4 with lua-cjson",
        path.display()
    );
    path
}

/// What Argo CD would show for an object.
#[derive(Debug, Deserialize, PartialEq, Eq)]
struct Health {
    status: String,
    message: String,
}

/// Runs health.lua on `object` with the real interpreter.
async fn health_of(object: &Value) -> Result<Health> {
    let dir = argocd_dir();
    let mut child = Command::new(lua())
        .arg(dir.join("run_health.lua"))
        .arg(dir.join("health.lua"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting Lua")?;
    let mut stdin = child.stdin.take().context("Lua's stdin")?;
    stdin.write_all(&serde_json::to_vec(object)?).await?;
    drop(stdin);
    let output = child.wait_with_output().await?;
    ensure!(
        output.status.success(),
        "run_health.lua failed ({}): {}\nobject: {object}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "run_health.lua printed {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
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
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < DEADLINE {
        if let Some(object) = live_json(world, name).await? {
            if check(&object) {
                return Ok(object);
            }
            last = Some(object);
        }
        tokio::time::sleep(POLL).await;
    }
    bail!(
        "{name} never became {what} within {DEADLINE:?}; last seen: {}\noperator log tail:\n{}",
        serde_json::to_string_pretty(&last).unwrap_or_default(),
        tail(&world.operator_logs(), 40)
    )
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

/// Creating, Active, Failed, InvalidSpec, NameConflict, AccessDenied, ImmutableFieldChanged and
/// DeletionBlocked, each produced by the real operator, each judged by health.lua.
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
    world
        .apply(
            "no-role",
            json!({ "source": { "s3Uri": "s3://e2e-models/no-role/" } }),
        )
        .await?;
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

    // Active.
    let active = wait_reason_json(&world, "fine", READY, "Active").await?;
    assert_eq!(
        active["status"]["observedGeneration"],
        active["metadata"]["generation"]
    );
    let health = assert_health(&active, "Healthy", READY).await?;
    assert!(health.message.contains("is Active"), "{health:?}");

    // Failed: the message carries Bedrock's failureMessage.
    let failed = wait_reason_json(&world, "broken", READY, "Failed").await?;
    let health = assert_health(&failed, "Degraded", READY).await?;
    let failure = failed["status"]["failureMessage"]
        .as_str()
        .context("failureMessage")?
        .trim_end_matches('.');
    assert!(health.message.contains(failure), "{health:?}");

    // InvalidSpec: s3Uri without roleArn (a CEL rule the 1.20 server does not enforce).
    let invalid = wait_reason_json(&world, "no-role", READY, "InvalidSpec").await?;
    let health = assert_health(&invalid, "Degraded", READY).await?;
    assert!(health.message.contains("spec.roleArn"), "{health:?}");

    // NameConflict with a model the operator did not create.
    let conflict = wait_reason_json(&world, "taken", READY, "NameConflict").await?;
    let health = assert_health(&conflict, "Degraded", READY).await?;
    assert!(health.message.contains("adoptionPolicy"), "{health:?}");

    // AccessDenied on CreateCustomModel.
    let denied = wait_reason_json(&world, "denied", READY, "AccessDenied").await?;
    let health = assert_health(&denied, "Degraded", READY).await?;
    assert!(health.message.contains("iam:PassRole"), "{health:?}");
    assert_eq!(
        condition_in(&denied, SYNCED).map(|c| c.1).as_deref(),
        Some("AccessDenied")
    );

    // ImmutableFieldChanged: the source of an Active model changes.
    world.apply("fine", s3_spec("elsewhere")).await?;
    let refused = wait_reason_json(&world, "fine", SYNCED, "ImmutableFieldChanged").await?;
    let health = assert_health(&refused, "Degraded", SYNCED).await?;
    assert!(health.message.contains("spec.source"), "{health:?}");
    assert_eq!(
        condition_in(&refused, READY).map(|c| c.1).as_deref(),
        Some("ImmutableFieldChanged"),
        "the Ready condition says the same"
    );

    // DeletionBlocked: Bedrock refuses to delete a model in use.
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
    let health = assert_health(&blocked, "Degraded", READY).await?;
    assert!(
        health.message.contains("provisioned throughput"),
        "{health:?}"
    );
    state.clear_delete_conflict("in-use")?;
    world.wait_gone("in-use").await?;

    // The slow model finishes: Healthy.
    state.set_ready_delay("slow", Duration::ZERO)?;
    let done = wait_reason_json(&world, "slow", READY, "Active").await?;
    assert_health(&done, "Healthy", READY).await?;
    Ok(())
}

/// With the operator stopped, a spec change (a new generation) and a deletion are Progressing;
/// once it is back, Healthy and gone.
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

    // A new generation the operator has not seen: the old Ready=True no longer counts.
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
    assert_eq!(health.status, "Progressing", "{health:?}");
    assert!(
        health
            .message
            .contains(&format!("observe generation {generation}")),
        "{health:?}"
    );

    // Deleted, but the finalizer waits for the operator.
    let leaving = live_json(&world, "leaving").await?.context("leaving")?;
    assert!(leaving["metadata"]["deletionTimestamp"].is_string());
    let health = health_of(&leaving).await?;
    assert_eq!(health.status, "Progressing", "{health:?}");
    assert!(health.message.starts_with("Deleting"), "{health:?}");

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

    state.set_faults(FaultConfig {
        internal_error_fraction: 1.0,
        operations: vec![Operation::CreateCustomModel],
        ..FaultConfig::default()
    })?;
    let unavailable = wait_reason_json(&world, "patient", SYNCED, "BedrockUnavailable").await?;
    assert_health(&unavailable, "Progressing", SYNCED).await?;

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

/// Hand-written objects the operator would not produce, or not often: the script must give a
/// sensible answer and never raise an error.
#[tokio::test]
async fn health_of_edge_objects() -> Result<()> {
    let gen2 = || json!({ "name": "m", "generation": 2 });
    // (case, object, status, a part of the message)
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("empty object", json!({}), "Progressing", "report a status"),
        (
            "no status at all",
            json!({ "metadata": gen2(), "spec": {} }),
            "Progressing",
            "report a status",
        ),
        (
            "null status",
            object(gen2(), Value::Null),
            "Progressing",
            "report a status",
        ),
        (
            "status without observedGeneration",
            object(
                gen2(),
                json!({ "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "observe generation 2 (status.observedGeneration is none)",
        ),
        (
            "empty conditions",
            object(gen2(), json!({ "observedGeneration": 2, "conditions": [] })),
            "Progressing",
            "Ready condition",
        ),
        (
            "conditions of the wrong type",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": "Ready" }),
            ),
            "Progressing",
            "Ready condition",
        ),
        (
            "Ready without observedGeneration",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [{ "type": "Ready", "status": "True", "reason": "Active" }] }),
            ),
            "Progressing",
            "the Ready condition is for generation none",
        ),
        (
            "Ready for an older generation",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(1))] }),
            ),
            "Progressing",
            "observe generation 2",
        ),
        (
            "Ready for the current generation, among junk entries",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [null, 7, "x", ready("True", "Active", json!(2))] }),
            ),
            "Healthy",
            "ready message (Active)",
        ),
        (
            "no metadata.generation to compare with",
            object(
                json!({ "name": "m" }),
                json!({ "conditions": [ready("True", "Active", Value::Null)] }),
            ),
            "Healthy",
            "ready message (Active)",
        ),
        (
            "Ready, but tag changes are throttled",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(2)), synced("False", "Throttled", json!(2))] }),
            ),
            "Progressing",
            "synced message (Throttled)",
        ),
        (
            "a Degraded reason without a message",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [{ "type": "Ready", "status": "False", "reason": "QuotaExceeded", "observedGeneration": 2 }] }),
            ),
            "Degraded",
            "QuotaExceeded",
        ),
        (
            "Degraded only on Synced",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "Creating", json!(2)), synced("False", "TooManyTags", json!(2))] }),
            ),
            "Degraded",
            "synced message (TooManyTags)",
        ),
        (
            "a reason this check does not know",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "SomethingNew", json!(2))] }),
            ),
            "Unknown",
            "SomethingNew",
        ),
        (
            "a Deleting reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "Deleting", json!(2))] }),
            ),
            "Progressing",
            "ready message (Deleting)",
        ),
        (
            "being deleted, not yet observed",
            object(
                json!({ "name": "m", "generation": 3, "deletionTimestamp": "2026-01-01T00:00:00Z" }),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "Deleting",
        ),
        (
            "being deleted, blocked",
            object(
                json!({ "name": "m", "generation": 2, "deletionTimestamp": "2026-01-01T00:00:00Z" }),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "DeletionBlocked", json!(2))] }),
            ),
            "Degraded",
            "ready message (DeletionBlocked)",
        ),
    ];
    let mut failures = Vec::new();
    for (case, object, status, message) in &cases {
        let health = health_of(object).await?;
        if health.status != *status || !health.message.contains(message) {
            failures.push(format!(
                "{case}: got {health:?}, want {status} with a message containing {message:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
