//! Every failure shows (issue 16): a deletion that AWS refuses (IAM denies the delete, or the
//! tag read that proves ownership before it) says so on the resource while it is Terminating
//! (Synced False, AccessDenied naming the IAM action to grant), with a Warning event and a warn
//! log line, and completes by itself once the permission is back.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use bedrock_emulator::{EmulatorHandle, FaultConfig, Operation};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::SYNCED;
use bedrock_operator::api::deployment::BedrockCustomModelDeployment;
use bedrock_operator::api::throughput::BedrockProvisionedThroughput;
use bedrock_operator::controller::Managed;
use serde_json::{Value, json};

use crate::harness::{Scope, World, condition_of, s3_spec};

/// How soon the resource must say why its deletion does not go through.
const SHOWN_WITHIN: Duration = Duration::from_secs(60);

fn deny(world: &World, operations: &[Operation]) -> Result<()> {
    world.emulator.state().set_faults(FaultConfig {
        access_denied_operations: operations.to_vec(),
        ..FaultConfig::default()
    })?;
    Ok(())
}

/// Deletes `name` while `denied` is refused by IAM: the Terminating resource shows AccessDenied
/// naming `bedrock:<denied>` within a minute, with a Warning event and a warn log; once the
/// permission is back, the deletion completes and `gone` holds for the emulator's state.
async fn refused_then_allowed<K: Managed>(
    world: &World,
    scope: &Scope<'_, K>,
    name: &str,
    denied: Operation,
    gone: impl Fn(&EmulatorHandle) -> bool,
) -> Result<()> {
    deny(world, &[denied])?;
    let started = Instant::now();
    scope.delete(name).await?;
    let action = format!("bedrock:{}", denied.as_str());
    let shown = scope
        .wait_for(name, "Terminating with AccessDenied", |r| {
            r.meta().deletion_timestamp.is_some()
                && condition_of(r, SYNCED).is_some_and(|c| {
                    c.0 == "False" && c.1 == "AccessDenied" && c.2.contains(&action)
                })
        })
        .await?;
    let took = started.elapsed();
    ensure!(
        took < SHOWN_WITHIN,
        "shown after {took:?}, not within {SHOWN_WITHIN:?}"
    );
    let (_, _, message) = condition_of(&shown, SYNCED).context("Synced")?;
    assert!(
        message.contains(denied.as_str()),
        "names the call: {message}"
    );
    scope.wait_event(name, "Warning", "AccessDenied").await?;
    let logs = world.operator_logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("WARN") && l.contains("reconcile failed") && l.contains(name)),
        "a warn log line for {name}"
    );
    assert!(!gone(&world.emulator), "nothing deleted while denied");

    deny(world, &[])?;
    scope.wait_gone(name).await?;
    world
        .wait_emulator("the Bedrock object deleted once allowed", gone)
        .await?;
    Ok(())
}

async fn active_model(world: &World, name: &str) -> Result<()> {
    world.apply(name, s3_spec(name)).await?;
    world.wait_ready(name).await?;
    Ok(())
}

#[tokio::test]
async fn a_model_deletion_iam_refuses_shows_access_denied_and_completes_once_allowed() -> Result<()>
{
    let world = World::start("denied-model-delete").await?;
    active_model(&world, "m").await?;
    refused_then_allowed(
        &world,
        &world.scope(),
        "m",
        Operation::DeleteCustomModel,
        |e| e.state().model("m").is_none(),
    )
    .await
}

#[tokio::test]
async fn a_model_whose_tags_iam_refuses_to_read_shows_access_denied_while_terminating() -> Result<()>
{
    let world = World::start("denied-model-tags").await?;
    active_model(&world, "m").await?;
    let deletes = world.calls(Operation::DeleteCustomModel);
    refused_then_allowed(
        &world,
        &world.scope(),
        "m",
        Operation::ListTagsForResource,
        |e| e.state().model("m").is_none(),
    )
    .await?;
    assert_eq!(
        world.calls(Operation::DeleteCustomModel),
        deletes + 1,
        "no delete before ownership was proven"
    );
    Ok(())
}

fn by_ref(model: &str) -> Value {
    json!({ "modelRef": { "name": model } })
}

#[tokio::test]
async fn a_deployment_deletion_iam_refuses_shows_access_denied_and_completes_once_allowed()
-> Result<()> {
    let world = World::start("denied-deployment-delete").await?;
    active_model(&world, "m").await?;
    let deployments: Scope<BedrockCustomModelDeployment> = world.kind();
    deployments.apply("d", by_ref("m")).await?;
    deployments.wait_ready("d").await?;
    refused_then_allowed(
        &world,
        &deployments,
        "d",
        Operation::DeleteCustomModelDeployment,
        |e| e.state().deployments().is_empty(),
    )
    .await?;
    // The model it served is untouched.
    world.wait_ready("m").await?;
    let model: BedrockCustomModel = world.get("m").await?;
    assert!(model.metadata.deletion_timestamp.is_none());
    Ok(())
}

#[tokio::test]
async fn a_throughput_deletion_iam_refuses_shows_access_denied_and_completes_once_allowed()
-> Result<()> {
    let world = World::start("denied-throughput-delete").await?;
    active_model(&world, "m").await?;
    let throughputs: Scope<BedrockProvisionedThroughput> = world.kind();
    throughputs
        .apply(
            "pt",
            json!({ "modelRef": { "name": "m" }, "modelUnits": 1 }),
        )
        .await?;
    throughputs.wait_ready("pt").await?;
    refused_then_allowed(
        &world,
        &throughputs,
        "pt",
        Operation::DeleteProvisionedModelThroughput,
        |e| e.state().provisioned_throughputs().is_empty(),
    )
    .await
}
