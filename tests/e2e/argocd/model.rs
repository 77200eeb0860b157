//! BedrockCustomModel's health check (docs/argocd/health.lua): live states the real operator
//! produces, kept as the testdata of its contribution layout, and that layout's health_test.yaml.

use std::time::Duration;

use anyhow::{Context, Result};
use bedrock_emulator::{FaultConfig, ForeignModel, Operation};
use bedrock_operator::api::conditions::{READY, SYNCED};
use serde_json::json;

use super::{
    FOREVER, Health, MODEL, assert_covers_every_live_state, assert_health, assert_pending_deletion,
    condition_in, health_of, keep_as_testdata, live_json, run_contribution_tests, wait_json,
    wait_reason_json,
};
use crate::harness::{World, s3_spec};

/// A role the emulator answers AccessDeniedException for.
const DENIED_ROLE: &str = "arn:aws:iam::123456789012:role/NoPassRole";

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

#[test]
fn contribution_layout_covers_every_live_state() -> Result<()> {
    assert_covers_every_live_state(MODEL)
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
