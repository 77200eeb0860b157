//! BedrockProvisionedThroughput's health check: live states (kept as its contribution layout's
//! testdata), edge objects of a model swap, the model it references and a commitment term, and
//! health_test.yaml.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use bedrock_emulator::{EmulatorConfig, Limits, Operation, ProvisionedDelays, ProvisionedFailure};
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::throughput::CONFIRM_COMMITMENT_ANNOTATION;
use kube::api::DeleteParams;
use serde_json::{Value, json};

use super::{
    FOREVER, Health, PENDING_DELETION, POLL, QUICK_MS, THROUGHPUT, V3, V4, apply_as,
    assert_covers_every_live_state, assert_health, assert_pending_deletion, check_cases,
    condition_in, export_conflict, gen2, health_of, keep_as_testdata, live_json, millis, ready,
    ready_model_arn, run_contribution_tests, synced, wait_json, wait_reason_json,
};
use crate::harness::{COMMITMENTS_HERE, DEADLINE, World, s3_spec, tail};

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

    // spec.export names a ConfigMap that is not the throughput's: it serves, apps get nothing.
    export_conflict(&world, THROUGHPUT, units_of("base")).await?;
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

#[test]
fn throughput_contribution_layout_covers_every_live_state() -> Result<()> {
    assert_covers_every_live_state(THROUGHPUT)
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
