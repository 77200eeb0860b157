//! BedrockImportedModel's health check
//! (docs/argocd/resource_customizations/bedrock-operator.dev/BedrockImportedModel/health.lua):
//! live states the real operator produces, kept as the testdata of its contribution layout, and
//! that layout's health_test.yaml.

use std::time::Duration;

use anyhow::{Context, Result};
use bedrock_emulator::{FaultConfig, ImportDelays, Limits, Operation};
use bedrock_operator::api::BedrockImportedModel;
use bedrock_operator::api::conditions::{READY, SYNCED};
use serde_json::{Value, json};

use super::{
    Health, IMPORTED, assert_covers_every_live_state, assert_health, assert_pending_deletion,
    condition_in, health_of, keep_as_testdata, live_json, run_contribution_tests, wait_json,
    wait_reason_json,
};
use crate::harness::{Scope, World};

/// A role the emulator answers AccessDeniedException for.
const DENIED_ROLE: &str = "arn:aws:iam::123456789012:role/NoPassRole";
const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
/// How long the slow import runs: through the Creating and DeletionBlocked looks.
const SLOW_JOB: Duration = Duration::from_secs(20);

fn spec(path: &str) -> Value {
    json!({ "source": { "s3Uri": format!("s3://open-weights/{path}/") }, "roleArn": ROLE })
}

fn imports(world: &World) -> Scope<'_, BedrockImportedModel> {
    world.kind()
}

/// Room for every import of a test at once (Bedrock's default is one job at a time).
fn roomy(world: &World) {
    let state = world.emulator.state();
    state.set_limits(Limits {
        max_concurrent_import_jobs: 20,
        max_imported_models: 20,
        ..state.limits()
    });
}

/// Creating, Active, Failed, InvalidSpec, NameConflict, AccessDenied and DeletionBlocked, each
/// produced by the real operator, each judged as Argo CD judges it.
#[tokio::test]
async fn health_of_each_operator_state() -> Result<()> {
    let world = World::start("argo-bim-states").await?;
    let imports: Scope<BedrockImportedModel> = world.kind();
    let state = world.emulator.state();
    roomy(&world);
    state.set_faults(FaultConfig {
        access_denied_role_arns: vec![DENIED_ROLE.into()],
        ..FaultConfig::default()
    })?;
    // A model of the name imported outside the operator.
    crate::lifecycle::sdk_client(&world)
        .await
        .create_model_import_job()
        .job_name("console-import")
        .imported_model_name("taken")
        .role_arn(ROLE)
        .model_data_source(aws_sdk_bedrock::types::ModelDataSource::S3DataSource(
            aws_sdk_bedrock::types::S3DataSource::builder()
                .s3_uri("s3://open-weights/taken/")
                .build()?,
        ))
        .send()
        .await?;
    state.set_import_delays(ImportDelays {
        job_ms: SLOW_JOB.as_millis() as u64,
    });
    imports.apply("slow", spec("slow")).await?;
    // Creating: the job runs.
    let creating = wait_reason_json(&world, IMPORTED, "slow", READY, "Creating").await?;
    let health = assert_health(IMPORTED, &creating, "Progressing", READY).await?;
    assert!(
        health.message.contains("importing model slow"),
        "{health:?}"
    );
    keep_as_testdata(IMPORTED, "creating", &creating, &health)?;

    state.set_import_delays(ImportDelays { job_ms: 300 });
    imports.apply("fine", spec("fine")).await?;
    imports.apply("broken", spec("force-failure")).await?;
    // A dotted metadata.name is no valid imported model name; the schema cannot tell, the
    // operator can.
    imports.apply("dotted.name", spec("dotted")).await?;
    imports.apply("taken", spec("taken")).await?;
    let mut denied = spec("denied");
    denied["roleArn"] = json!(DENIED_ROLE);
    imports.apply("denied", denied).await?;

    // Active.
    let active = wait_reason_json(&world, IMPORTED, "fine", READY, "Active").await?;
    let health = assert_health(IMPORTED, &active, "Healthy", READY).await?;
    assert!(health.message.contains("is Active"), "{health:?}");
    keep_as_testdata(IMPORTED, "active", &active, &health)?;

    // Failed: the message carries Bedrock's failureMessage.
    let failed = wait_reason_json(&world, IMPORTED, "broken", READY, "Failed").await?;
    let health = assert_health(IMPORTED, &failed, "Degraded", READY).await?;
    let failure = failed["status"]["failureMessage"]
        .as_str()
        .context("failureMessage")?
        .trim_end_matches('.');
    assert!(health.message.contains(failure), "{health:?}");
    keep_as_testdata(IMPORTED, "failed", &failed, &health)?;

    // InvalidSpec, naming the field.
    let invalid = wait_reason_json(&world, IMPORTED, "dotted.name", READY, "InvalidSpec").await?;
    let health = assert_health(IMPORTED, &invalid, "Degraded", READY).await?;
    assert!(
        health.message.contains("spec.importedModelName"),
        "{health:?}"
    );
    keep_as_testdata(IMPORTED, "invalid_spec", &invalid, &health)?;

    // NameConflict with a model the operator did not import.
    let conflict = wait_reason_json(&world, IMPORTED, "taken", READY, "NameConflict").await?;
    let health = assert_health(IMPORTED, &conflict, "Degraded", READY).await?;
    assert!(health.message.contains("adoptionPolicy"), "{health:?}");
    keep_as_testdata(IMPORTED, "name_conflict", &conflict, &health)?;

    // AccessDenied on CreateModelImportJob (iam:PassRole on the role).
    let denied = wait_reason_json(&world, IMPORTED, "denied", READY, "AccessDenied").await?;
    let health = assert_health(IMPORTED, &denied, "Degraded", READY).await?;
    assert!(health.message.contains("iam:PassRole"), "{health:?}");
    assert_eq!(
        condition_in(&denied, SYNCED).map(|c| c.1).as_deref(),
        Some("AccessDenied")
    );
    keep_as_testdata(IMPORTED, "access_denied", &denied, &health)?;

    // DeletionBlocked: Bedrock cannot stop a running import, so its model is deleted once the
    // job ends. Argo CD shows any object being deleted as Pending deletion; the reason is on
    // the conditions.
    imports.delete("slow").await?;
    let blocked = wait_json(&world, IMPORTED, "slow", "DeletionBlocked", |object| {
        object["metadata"]["deletionTimestamp"].is_string()
            && condition_in(object, READY).is_some_and(|c| c.1 == "DeletionBlocked")
    })
    .await?;
    let health = assert_pending_deletion(IMPORTED, &blocked).await?;
    let (status, _, message, _) = condition_in(&blocked, READY).context("Ready")?;
    assert_eq!(status, "False");
    assert!(message.contains("still InProgress"), "{message}");
    keep_as_testdata(IMPORTED, "deletion_blocked", &blocked, &health)?;
    // Once the job has ended, its model is deleted and the resource goes.
    imports.wait_gone("slow").await?;
    assert!(
        state.imported_model("slow").is_none(),
        "the model was deleted"
    );
    Ok(())
}

/// With the operator stopped, a spec change (a new generation) is Progressing with the
/// generation it waits for, and a deletion Pending deletion; once it is back, Healthy and gone.
///
/// (ImmutableFieldChanged has no live state here: the CRD's rules refuse a change of a fixed
/// field while the import holds, and a held import keeps its name and region whatever the
/// operator's defaults become. The edge objects of `common.rs` judge the reason.)
#[tokio::test]
async fn health_while_the_operator_is_away() -> Result<()> {
    let mut world = World::start("argo-bim-away").await?;
    roomy(&world);
    imports(&world).apply("drifting", spec("drifting")).await?;
    imports(&world).apply("leaving", spec("leaving")).await?;
    imports(&world).wait_ready("drifting").await?;
    imports(&world).wait_ready("leaving").await?;

    world.kill_operator().await?;
    let mut changed = spec("drifting");
    changed["tags"] = json!({ "team": "ml" });
    imports(&world).apply("drifting", changed).await?;
    imports(&world).delete("leaving").await?;
    let unobserved = live_json(&world, IMPORTED, "drifting")
        .await?
        .context("drifting")?;
    let generation = unobserved["metadata"]["generation"]
        .as_i64()
        .context("generation")?;
    let health = health_of(IMPORTED, &unobserved).await?;
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
    keep_as_testdata(IMPORTED, "generation_not_observed", &unobserved, &health)?;
    let leaving = live_json(&world, IMPORTED, "leaving")
        .await?
        .context("leaving")?;
    let health = assert_pending_deletion(IMPORTED, &leaving).await?;
    keep_as_testdata(IMPORTED, "deleting", &leaving, &health)?;

    world.start_operator().await?;
    let caught_up = wait_json(
        &world,
        IMPORTED,
        "drifting",
        "Ready for the new generation",
        |o| condition_in(o, READY).is_some_and(|c| c.0 == "True" && c.3 == Some(generation)),
    )
    .await?;
    assert_health(IMPORTED, &caught_up, "Healthy", READY).await?;
    imports(&world).wait_gone("leaving").await?;
    Ok(())
}

/// Throttling and server errors the operator keeps retrying are Progressing, with the Synced
/// condition's message; once Bedrock recovers, Healthy, with one job.
#[tokio::test]
async fn health_while_bedrock_is_throttling_or_failing() -> Result<()> {
    let world = World::start("argo-bim-transient").await?;
    let imports: Scope<BedrockImportedModel> = world.kind();
    let state = world.emulator.state();
    state.set_faults(FaultConfig {
        throttle_fraction: 1.0,
        operations: vec![Operation::CreateModelImportJob],
        ..FaultConfig::default()
    })?;
    imports.apply("patient", spec("patient")).await?;
    let throttled = wait_reason_json(&world, IMPORTED, "patient", SYNCED, "Throttled").await?;
    let health = assert_health(IMPORTED, &throttled, "Progressing", SYNCED).await?;
    assert!(health.message.contains("throttling"), "{health:?}");
    keep_as_testdata(IMPORTED, "throttled", &throttled, &health)?;

    state.set_faults(FaultConfig {
        internal_error_fraction: 1.0,
        operations: vec![Operation::CreateModelImportJob],
        ..FaultConfig::default()
    })?;
    let unavailable =
        wait_reason_json(&world, IMPORTED, "patient", SYNCED, "BedrockUnavailable").await?;
    let health = assert_health(IMPORTED, &unavailable, "Progressing", SYNCED).await?;
    keep_as_testdata(IMPORTED, "bedrock_unavailable", &unavailable, &health)?;

    state.set_faults(FaultConfig::default())?;
    let ready = wait_reason_json(&world, IMPORTED, "patient", READY, "Active").await?;
    assert_health(IMPORTED, &ready, "Healthy", READY).await?;
    assert_eq!(state.import_job_create_log().len(), 1);
    Ok(())
}

#[test]
fn contribution_layout_covers_every_live_state() -> Result<()> {
    assert_covers_every_live_state(IMPORTED)
}

/// The committed testdata get the health health_test.yaml says, with argocd-cm's libraries.
#[tokio::test]
async fn contribution_health_tests_pass_with_argocd_cm_libraries() -> Result<()> {
    run_contribution_tests(IMPORTED, &[]).await
}

/// … and with every library, as Argo CD runs the scripts it bundles.
#[tokio::test]
async fn contribution_health_tests_pass_with_every_library() -> Result<()> {
    run_contribution_tests(IMPORTED, &["-open-libs"]).await
}
