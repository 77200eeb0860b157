//! BedrockCustomModelDeployment's health check: live states (kept as its contribution layout's
//! testdata), edge objects of a model swap and of the model it references, and health_test.yaml.

use anyhow::{Context, Result};
use bedrock_emulator::{DeploymentDelays, DeploymentFailure};
use bedrock_operator::api::conditions::{READY, SYNCED};
use kube::api::DeleteParams;
use serde_json::{Value, json};

use super::{
    DEPLOYMENT, FOREVER, Health, POLL, QUICK_MS, V3, V4, apply_as, assert_covers_every_live_state,
    assert_health, assert_pending_deletion, check_cases, condition_in, export_conflict, gen2,
    health_of, keep_as_testdata, live_json, millis, ready, ready_model_arn, run_contribution_tests,
    synced, wait_json, wait_reason_json,
};
use crate::harness::{DEADLINE, World, s3_spec, tail};

/// A deployment spec naming the BedrockCustomModel `model` of the namespace.
fn by_ref(model: &str) -> Value {
    json!({ "modelRef": { "name": model } })
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

    // spec.export names a ConfigMap that is not the deployment's: it serves, apps get nothing.
    export_conflict(&world, DEPLOYMENT, by_ref("base")).await?;
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

fn deployment(metadata: Value, status: Value) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModelDeployment",
        "metadata": metadata,
        "spec": { "modelRef": { "name": "v4" } },
        "status": status,
    })
}

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

#[test]
fn deployment_contribution_layout_covers_every_live_state() -> Result<()> {
    assert_covers_every_live_state(DEPLOYMENT)
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
