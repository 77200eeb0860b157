//! Tenant guards (issue 16): what the cluster admin lets each namespace name. Each refusal is
//! InvalidSpec naming the field and the setting, with no Bedrock call (the emulator's counters
//! say so); each guard allows what it is configured to allow.

use std::time::Duration;

use anyhow::{Context as _, Result};
use bedrock_emulator::{EmulatorConfig, Operation};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::deployment::BedrockCustomModelDeployment;
use bedrock_operator::api::throughput::BedrockProvisionedThroughput;
use serde_json::json;

use crate::harness::{World, condition, condition_of, s3_spec};

const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
const TEAM_ROLE: &str = "arn:aws:iam::123456789012:role/team-import";
const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
const OTHER_KEY: &str =
    "arn:aws:kms:us-east-1:999999999999:key/11111111-2222-3333-4444-555555555555";

fn emulator() -> EmulatorConfig {
    EmulatorConfig {
        ready_delay: Duration::from_millis(1500),
        ..EmulatorConfig::default()
    }
}

/// A world whose operator watches its own namespace (`<test>-a`) and a second one, with `args`.
async fn two_teams(test: &str, args: &[&str]) -> Result<(World, String)> {
    let plane = testkit::shared().await?;
    let team_b = plane.create_namespace(&format!("{test}-b")).await?;
    let mut all = vec!["--namespace", team_b.as_str()];
    all.extend_from_slice(args);
    let world = World::with(&format!("{test}-a"), emulator(), &all, &[]).await?;
    Ok((world, team_b))
}

fn message_of<K: bedrock_operator::controller::Managed>(resource: &K) -> String {
    condition_of(resource, READY)
        .map(|c| c.2)
        .unwrap_or_default()
}

/// The model of `world`'s namespace, Active; its ARN.
async fn active_model(world: &World, name: &str) -> Result<String> {
    world.apply(name, s3_spec(name)).await?;
    let model = world.wait_ready(name).await?;
    model.status.and_then(|s| s.model_arn).context("model arn")
}

/// By default a deployment and a throughput of namespace B may not name A's model by ARN:
/// InvalidSpec naming the field and --cross-namespace-references, and not one call for them.
#[tokio::test]
async fn another_namespaces_model_is_refused_by_default_with_no_call() -> Result<()> {
    let (world, team_b) = two_teams("xns-refused", &[]).await?;
    let arn = active_model(&world, "nova").await?;
    let deployments = world.kind_in::<BedrockCustomModelDeployment>(&team_b);
    let throughputs = world.kind_in::<BedrockProvisionedThroughput>(&team_b);
    deployments
        .apply("chat", json!({ "modelArn": arn }))
        .await?;
    throughputs
        .apply("pt", json!({ "modelId": arn, "modelUnits": 1 }))
        .await?;

    let refused = deployments
        .wait_reason("chat", SYNCED, "InvalidSpec")
        .await?;
    let message = message_of(&refused);
    for part in [
        "spec.modelArn",
        "--cross-namespace-references",
        &format!("{}/nova", world.namespace),
        "nothing was sent to AWS",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    let refused = throughputs.wait_reason("pt", SYNCED, "InvalidSpec").await?;
    let message = message_of(&refused);
    assert!(message.contains("spec.modelId"), "{message}");
    assert!(
        message.contains("--cross-namespace-references"),
        "{message}"
    );
    for operation in [
        Operation::CreateCustomModelDeployment,
        Operation::GetCustomModelDeployment,
        Operation::CreateProvisionedModelThroughput,
        Operation::GetProvisionedModelThroughput,
    ] {
        assert_eq!(world.calls(operation), 0, "{operation:?}");
    }
    // Deleting them needs no call either: nothing was made for them.
    deployments.delete("chat").await?;
    throughputs.delete("pt").await?;
    deployments.wait_gone("chat").await?;
    throughputs.wait_gone("pt").await?;
    assert_eq!(world.calls(Operation::GetCustomModelDeployment), 0);
    assert_eq!(world.calls(Operation::GetProvisionedModelThroughput), 0);
    Ok(())
}

/// With namespace B listed, B's deployment serves A's model; deleting A's model then waits,
/// DeletionBlocked naming B's deployment, until that deployment is gone.
#[tokio::test]
async fn a_listed_namespace_may_serve_another_namespaces_model_whose_deletion_waits_for_it()
-> Result<()> {
    let plane = testkit::shared().await?;
    let team_b = plane.create_namespace("xns-allowed-b").await?;
    let world = World::with(
        "xns-allowed-a",
        emulator(),
        &[
            "--namespace",
            &team_b,
            "--cross-namespace-references",
            &team_b,
        ],
        &[],
    )
    .await?;
    let arn = active_model(&world, "nova").await?;
    let deployments = world.kind_in::<BedrockCustomModelDeployment>(&team_b);
    deployments
        .apply("chat", json!({ "modelArn": arn }))
        .await?;
    let ready = deployments.wait_ready("chat").await?;
    assert_eq!(
        ready.status.as_ref().and_then(|s| s.model_arn.as_deref()),
        Some(arn.as_str())
    );
    assert_eq!(world.ok_calls(Operation::CreateCustomModelDeployment), 1);

    world.delete("nova").await?;
    let blocked = world.wait_reason("nova", READY, "DeletionBlocked").await?;
    let message = condition(&blocked, READY).map(|c| c.2).unwrap_or_default();
    assert!(message.contains(&format!("{team_b}/chat")), "{message}");
    assert_eq!(world.calls(Operation::DeleteCustomModel), 0, "{message}");

    deployments.delete("chat").await?;
    deployments.wait_gone("chat").await?;
    world.wait_gone("nova").await?;
    assert_eq!(world.ok_calls(Operation::DeleteCustomModel), 1);
    Ok(())
}

/// A role or KMS key outside --allowed-role-arns / --allowed-kms-key-arns is InvalidSpec naming
/// the field and the flag, with no call; one that matches is imported; a namespace's own list
/// (--guards-file) replaces the global one there.
#[tokio::test]
async fn roles_and_keys_outside_the_allowed_patterns_are_refused_with_no_call() -> Result<()> {
    let plane = testkit::shared().await?;
    let team_b = plane.create_namespace("arns-b").await?;
    let file = plane.dir().join(format!("{team_b}-guards.yaml"));
    std::fs::write(
        &file,
        format!("namespaces:\n  {team_b}:\n    allowedRoleArns: [\"{ROLE}\"]\n"),
    )?;
    let file = file.to_string_lossy().into_owned();
    let world = World::with(
        "arns-a",
        emulator(),
        &[
            "--namespace",
            &team_b,
            "--allowed-role-arns",
            "arn:aws:iam::123456789012:role/team-*",
            "--allowed-kms-key-arns",
            "arn:aws:kms:*:123456789012:key/*",
            "--guards-file",
            &file,
        ],
        &[],
    )
    .await?;

    // Refused: the role is not one the global patterns allow.
    world.apply("denied-role", s3_spec("denied-role")).await?;
    let refused = world
        .wait_reason("denied-role", SYNCED, "InvalidSpec")
        .await?;
    let message = condition(&refused, READY).map(|c| c.2).unwrap_or_default();
    for part in [
        "spec.roleArn",
        ROLE,
        "--allowed-role-arns",
        "guards.allowedRoleArns",
        "arn:aws:iam::123456789012:role/team-*",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    // Refused: the key is of another account.
    let mut spec = s3_spec("denied-key");
    spec["roleArn"] = json!(TEAM_ROLE);
    spec["kmsKeyArn"] = json!(OTHER_KEY);
    world.apply("denied-key", spec).await?;
    let refused = world
        .wait_reason("denied-key", SYNCED, "InvalidSpec")
        .await?;
    let message = condition(&refused, READY).map(|c| c.2).unwrap_or_default();
    for part in [
        "spec.kmsKeyArn",
        "--allowed-kms-key-arns",
        "guards.allowedKmsKeyArns",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert_eq!(world.calls(Operation::CreateCustomModel), 0);
    assert_eq!(world.calls(Operation::GetCustomModel), 0);

    // Allowed: a matching role and key.
    let mut spec = s3_spec("allowed");
    spec["roleArn"] = json!(TEAM_ROLE);
    spec["kmsKeyArn"] = json!(KEY);
    world.apply("allowed", spec).await?;
    world.wait_ready("allowed").await?;
    assert_eq!(world.ok_calls(Operation::CreateCustomModel), 1);

    // Namespace B's own list replaces the global one: its role is allowed there, the team
    // role is not.
    let models_b = world.in_namespace(&team_b);
    models_b.apply("import", s3_spec("import-b")).await?;
    models_b.wait_ready("import").await?;
    let mut spec = s3_spec("team-b");
    spec["roleArn"] = json!(TEAM_ROLE);
    models_b.apply("team-role", spec).await?;
    let refused: BedrockCustomModel = models_b
        .wait_reason("team-role", SYNCED, "InvalidSpec")
        .await?;
    let message = condition(&refused, READY).map(|c| c.2).unwrap_or_default();
    assert!(
        message.contains(&format!("guards.namespaces.{team_b}.allowedRoleArns")),
        "{message}"
    );
    assert_eq!(world.ok_calls(Operation::CreateCustomModel), 2);

    // Deleting the refused ones needs no call: nothing was made for them.
    let deletes = world.calls(Operation::GetCustomModel);
    world.delete("denied-role").await?;
    world.wait_gone("denied-role").await?;
    assert_eq!(world.calls(Operation::GetCustomModel), deletes);
    Ok(())
}

/// With --namespaced-names, two namespaces' `chat` become `<namespace>-chat` in Bedrock and
/// both turn Active; no NameConflict.
#[tokio::test]
async fn namespaced_names_keep_two_namespaces_chat_apart() -> Result<()> {
    let (world, team_b) = two_teams("names", &["--namespaced-names"]).await?;
    let team_a = world.namespace.clone();
    world.apply("chat", s3_spec("chat-a")).await?;
    let models_b = world.in_namespace(&team_b);
    models_b.apply("chat", s3_spec("chat-b")).await?;
    let a = world.wait_ready("chat").await?;
    let b = models_b.wait_ready("chat").await?;
    for (namespace, model) in [(&team_a, &a), (&team_b, &b)] {
        let status = model.status.clone().context("status")?;
        let want = format!("{namespace}-chat");
        assert_eq!(status.model_name.as_deref(), Some(want.as_str()));
        let arn = status.model_arn.context("arn")?;
        let record = world.emulator.state().model(&arn).context("in Bedrock")?;
        assert_eq!(record.model_name, want);
    }
    assert_eq!(world.ok_calls(Operation::CreateCustomModel), 2);

    // A deployment of each namespace gets a namespaced name too.
    let deployments_b = world.kind_in::<BedrockCustomModelDeployment>(&team_b);
    deployments_b
        .apply("chat", json!({ "modelRef": { "name": "chat" } }))
        .await?;
    let ready = deployments_b.wait_ready("chat").await?;
    assert_eq!(
        ready
            .status
            .as_ref()
            .and_then(|s| s.model_deployment_name.as_deref()),
        Some(format!("{team_b}-chat").as_str())
    );
    Ok(())
}
