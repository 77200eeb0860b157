//! BedrockCustomModelDeployment end to end: a model and its deployment on the real API server,
//! the operator process, and the emulator — references, rollouts, deletion order, crashes.

use std::time::Duration;

use anyhow::{Context, Result};
use bedrock_emulator::{DeploymentFailure, Operation};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::deployment::{
    BedrockCustomModelDeployment, DeploymentStatus, UpdateStatus,
};
use bedrock_operator::api::export::{MODEL_ARN_KEY, MODEL_ID_KEY, REGION_KEY};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, WatchParams};
use serde_json::{Value, json};

use crate::harness::{DEADLINE, World, data_of, s3_spec, tail};

const POLL: Duration = Duration::from_millis(200);

fn condition(d: &BedrockCustomModelDeployment, type_: &str) -> Option<(String, String)> {
    d.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

fn message(d: &BedrockCustomModelDeployment, type_: &str) -> String {
    d.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

fn by_ref(model: &str) -> Value {
    json!({ "modelRef": { "name": model } })
}

/// A deployment applied while its model is still importing waits (no deployment call, the
/// reason names the model), then is created once the model is Active, and turns Ready.
#[tokio::test]
async fn a_deployment_waits_for_its_model_then_becomes_active() -> Result<()> {
    let world = World::start("dep-wait").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world
        .emulator
        .state()
        .set_default_ready_delay(Duration::from_secs(6));
    world.apply("nova", s3_spec("nova")).await?;
    deployments.apply("chat", by_ref("nova")).await?;

    let waiting = deployments
        .wait_reason("chat", READY, "ModelNotReady")
        .await?;
    assert!(
        message(&waiting, READY).contains("nova"),
        "{}",
        message(&waiting, READY)
    );
    assert_eq!(
        world.calls(Operation::CreateCustomModelDeployment),
        0,
        "no call while waiting"
    );
    assert_eq!(
        world.calls(Operation::GetCustomModelDeployment),
        0,
        "no call while waiting"
    );

    let model = world.wait_ready("nova").await?;
    let ready = deployments.wait_ready("chat").await?;
    let status = ready.status.clone().context("status")?;
    let model_arn = model
        .status
        .and_then(|s| s.model_arn)
        .context("model arn")?;
    assert_eq!(status.deployment_status, Some(DeploymentStatus::Active));
    assert_eq!(status.model_arn.as_deref(), Some(model_arn.as_str()));
    assert_eq!(
        condition(&ready, SYNCED).map(|c| c.0).as_deref(),
        Some("True")
    );
    let arn = status.deployment_arn.context("deployment arn")?;
    let record = world
        .emulator
        .state()
        .deployment(&arn)
        .context("in Bedrock")?;
    assert_eq!(record.model_arn, model_arn);
    assert_eq!(world.ok_calls(Operation::CreateCustomModelDeployment), 1);
    Ok(())
}

/// Pointing an Active deployment at model v4 swaps it in place: Updating while Ready stays
/// True on v3, then v4 in service; one deployment in Bedrock all along.
#[tokio::test]
async fn a_new_model_is_rolled_out_in_place_with_ready_kept() -> Result<()> {
    let world = World::start("dep-rollout").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world
        .emulator
        .state()
        .set_deployment_delays(bedrock_emulator::DeploymentDelays {
            create_ms: 500,
            update_ms: 4000,
        });
    world.apply("v3", s3_spec("v3")).await?;
    world.apply("v4", s3_spec("v4")).await?;
    let v4 = world
        .wait_ready("v4")
        .await?
        .status
        .and_then(|s| s.model_arn)
        .context("v4")?;
    world.wait_ready("v3").await?;
    deployments.apply("chat", by_ref("v3")).await?;
    let before = deployments.wait_ready("chat").await?;
    let arn = before
        .status
        .clone()
        .and_then(|s| s.deployment_arn)
        .context("arn")?;

    deployments.apply("chat", by_ref("v4")).await?;
    let updating = deployments.wait_reason("chat", SYNCED, "Updating").await?;
    assert_eq!(
        condition(&updating, READY).map(|c| c.0).as_deref(),
        Some("True"),
        "Ready kept during the swap"
    );
    assert_eq!(
        updating.status.as_ref().and_then(|s| s.update_status),
        Some(UpdateStatus::Updating)
    );

    let done = deployments
        .wait_for("chat", "serving v4", |d| {
            d.status.as_ref().and_then(|s| s.model_arn.as_deref()) == Some(v4.as_str())
                && condition(d, SYNCED).is_some_and(|c| c.1 == "Reconciled")
        })
        .await?;
    assert_eq!(
        done.status.as_ref().and_then(|s| s.deployment_arn.clone()),
        Some(arn.clone()),
        "in place"
    );
    assert_eq!(world.ok_calls(Operation::UpdateCustomModelDeployment), 1);
    assert_eq!(world.ok_calls(Operation::CreateCustomModelDeployment), 1);
    assert_eq!(
        world
            .emulator
            .state()
            .deployment(&arn)
            .context("kept")?
            .model_arn,
        v4
    );
    Ok(())
}

/// A swap Bedrock fails is Degraded (Synced False, UpdateFailed, with the message) while the
/// deployment keeps serving the old model, Ready True; it is not retried for the same model.
#[tokio::test]
async fn a_failed_swap_keeps_serving_the_old_model() -> Result<()> {
    let world = World::start("dep-swapfail").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world.apply("v3", s3_spec("v3")).await?;
    world.apply("v4", s3_spec("v4")).await?;
    let v3 = world
        .wait_ready("v3")
        .await?
        .status
        .and_then(|s| s.model_arn)
        .context("v3")?;
    let v4 = world
        .wait_ready("v4")
        .await?
        .status
        .and_then(|s| s.model_arn)
        .context("v4")?;
    deployments.apply("chat", by_ref("v3")).await?;
    deployments.wait_ready("chat").await?;

    world
        .emulator
        .state()
        .add_deployment_failure(DeploymentFailure::next_update("the v4 weights do not fit"))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    deployments.apply("chat", by_ref("v4")).await?;
    let failed = deployments
        .wait_reason("chat", SYNCED, "UpdateFailed")
        .await?;
    // GetCustomModelDeployment carries no reason for a failed update (failureMessage is the
    // deployment's own): the message names the model that failed and the one still served.
    let text = message(&failed, SYNCED);
    assert!(text.contains(&v4) && text.contains(&v3), "{text}");
    assert!(text.contains("keeps serving"), "{text}");
    assert_eq!(
        condition(&failed, READY).map(|c| c.0).as_deref(),
        Some("True"),
        "still serving"
    );
    assert_eq!(
        failed.status.as_ref().and_then(|s| s.model_arn.clone()),
        Some(v3)
    );
    let updates = world.calls(Operation::UpdateCustomModelDeployment);
    assert_eq!(updates, 1);
    Ok(())
}

/// Deleting the model first waits (DeletionBlocked naming the deployment) until the deployment
/// is deleted; then both go and nothing is left in Bedrock.
#[tokio::test]
async fn deleting_the_model_first_waits_for_its_deployment() -> Result<()> {
    let world = World::start("dep-order1").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world.apply("nova", s3_spec("nova")).await?;
    deployments.apply("chat", by_ref("nova")).await?;
    deployments.wait_ready("chat").await?;

    world.delete("nova").await?;
    let blocked = world.wait_reason("nova", READY, "DeletionBlocked").await?;
    let (_, _, text) = crate::harness::condition(&blocked, READY).context("condition")?;
    assert!(text.contains("chat"), "names the deployment: {text}");
    assert_eq!(
        world.calls(Operation::DeleteCustomModel),
        0,
        "no doomed call to Bedrock"
    );

    deployments
        .api
        .delete("chat", &DeleteParams::default())
        .await?;
    deployments.wait_gone("chat").await?;
    world.wait_gone("nova").await?;
    let state = world.emulator.state();
    assert!(state.deployments().is_empty(), "{:?}", state.deployments());
    assert!(state.model("nova").is_none());
    Ok(())
}

/// Deleting both at once (as `kubectl delete -f` of one file does), deployment first or model
/// first, converges with nothing left in Bedrock.
#[tokio::test]
async fn deleting_both_at_once_converges_in_either_order() -> Result<()> {
    let world = World::start("dep-order2").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    for (model, deployment) in [("m1", "d1"), ("m2", "d2")] {
        world.apply(model, s3_spec(model)).await?;
        deployments.apply(deployment, by_ref(model)).await?;
    }
    deployments.wait_ready("d1").await?;
    deployments.wait_ready("d2").await?;

    deployments
        .api
        .delete("d1", &DeleteParams::default())
        .await?;
    world.delete("m1").await?;
    world.delete("m2").await?;
    deployments
        .api
        .delete("d2", &DeleteParams::default())
        .await?;
    for (model, deployment) in [("m1", "d1"), ("m2", "d2")] {
        deployments.wait_gone(deployment).await?;
        world.wait_gone(model).await?;
    }
    let state = world.emulator.state();
    assert!(state.deployments().is_empty(), "{:?}", state.deployments());
    assert!(state.models().is_empty(), "{:?}", state.models());
    Ok(())
}

/// `kubectl delete namespace` with a model and its deployment completes; Bedrock is empty.
#[tokio::test]
async fn deleting_the_namespace_removes_model_and_deployment() -> Result<()> {
    use k8s_openapi::api::core::v1::Namespace;
    let world = World::start("dep-ns").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world.apply("nova", s3_spec("nova")).await?;
    deployments.apply("chat", by_ref("nova")).await?;
    deployments.wait_ready("chat").await?;

    let namespaces: Api<Namespace> = Api::all(world.plane.client());
    namespaces
        .delete(&world.namespace, &DeleteParams::default())
        .await?;
    testkit::wait::until(
        format!("namespace {} to go", world.namespace),
        DEADLINE,
        POLL,
        async || {
            Ok(namespaces
                .get_opt(&world.namespace)
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await
    .with_context(|| tail(&world.operator_logs(), 40))?;
    let state = world.emulator.state();
    assert!(state.deployments().is_empty(), "{:?}", state.deployments());
    assert!(state.models().is_empty(), "{:?}", state.models());
    Ok(())
}

/// The operator dies right after CreateCustomModelDeployment returned, before writing the
/// status: the restarted operator finds the deployment by name (its owner tag) and makes no
/// second one.
#[tokio::test]
async fn a_crash_after_create_leaves_exactly_one_deployment() -> Result<()> {
    let mut world = World::start("dep-crash").await?;
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;
    world.kill_operator().await?;
    world
        .start_operator_with_env(&[("BEDROCK_OPERATOR_FAULT", "crash-after-create")])
        .await?;
    world
        .kind::<BedrockCustomModelDeployment>()
        .apply("chat", by_ref("nova"))
        .await?;
    world
        .wait_emulator("the deployment created", |e| {
            e.state().deployment_create_log().len() == 1
        })
        .await?;
    let logs = world.operator_logs();
    let operator = world.operator.as_mut().context("operator")?;
    let exit = tokio::time::timeout(Duration::from_secs(30), operator.child.wait())
        .await
        .with_context(|| format!("the operator did not die:\n{}", tail(&logs, 30)))??;
    assert!(!exit.success(), "the fault point killed the operator");
    let before = world
        .kind::<BedrockCustomModelDeployment>()
        .api
        .get("chat")
        .await?;
    assert!(
        before
            .status
            .as_ref()
            .and_then(|s| s.deployment_arn.as_ref())
            .is_none(),
        "the crash came before the status write"
    );
    world.start_operator().await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    deployments.wait_ready("chat").await?;
    assert_eq!(world.emulator.state().deployment_create_log().len(), 1);
    assert_eq!(world.emulator.state().deployments().len(), 1);
    Ok(())
}

/// A deployment deleted in Bedrock by someone else is created again, with a Warning event.
#[tokio::test]
async fn a_deployment_deleted_outside_is_created_again() -> Result<()> {
    let world = World::start("dep-oob").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world.apply("nova", s3_spec("nova")).await?;
    deployments.apply("chat", by_ref("nova")).await?;
    let first = deployments.wait_ready("chat").await?;
    let arn = first.status.and_then(|s| s.deployment_arn).context("arn")?;
    world
        .emulator
        .state()
        .remove_deployment(&arn)
        .context("removed")?;

    // The next look (a resync, or a spec change) finds it gone; a label change is not a spec
    // change, so bump a tag to bring the look now.
    deployments
        .apply(
            "chat",
            json!({ "modelRef": { "name": "nova" }, "tags": { "look": "now" } }),
        )
        .await?;
    let again = deployments
        .wait_for("chat", "Ready on a new deployment", |d| {
            d.status
                .as_ref()
                .and_then(|s| s.deployment_arn.as_deref())
                .is_some_and(|a| a != arn)
                && condition(d, READY).is_some_and(|c| c.0 == "True")
        })
        .await?;
    assert_eq!(again.status.map(|s| s.recreations), Some(1));
    assert_eq!(world.emulator.state().deployments().len(), 1);
    Ok(())
}

/// A deployment made outside the operator (here with the AWS SDK, as the CLI would) is left
/// alone under the default adoptionPolicy (NameConflict, no call that changes it), taken over
/// with `Adopt` (owner and spec tags on it, no second deployment), then deleted per policy.
#[tokio::test]
async fn a_deployment_made_outside_is_adopted_only_when_asked() -> Result<()> {
    let world = World::start("dep-adopt").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world.apply("nova", s3_spec("nova")).await?;
    let model = world.wait_ready("nova").await?;
    let model_arn = model
        .status
        .and_then(|s| s.model_arn)
        .context("model arn")?;
    let foreign = crate::lifecycle::sdk_client(&world)
        .await
        .create_custom_model_deployment()
        .model_deployment_name("legacy")
        .model_arn(&model_arn)
        .description("made by hand")
        .send()
        .await?
        .custom_model_deployment_arn;
    let creates = world.calls(Operation::CreateCustomModelDeployment);

    deployments.apply("legacy", by_ref("nova")).await?;
    let refused = deployments
        .wait_reason("legacy", SYNCED, "NameConflict")
        .await?;
    assert!(
        message(&refused, SYNCED).contains("spec.adoptionPolicy: Adopt"),
        "{}",
        message(&refused, SYNCED)
    );
    assert_eq!(world.calls(Operation::TagResource), 0, "left untouched");

    deployments
        .apply(
            "legacy",
            json!({
                "modelRef": { "name": "nova" },
                "adoptionPolicy": "Adopt",
                "tags": { "team": "ml" },
            }),
        )
        .await?;
    let adopted = deployments.wait_ready("legacy").await?;
    let status = adopted.status.clone().context("status")?;
    assert_eq!(status.deployment_arn.as_deref(), Some(foreign.as_str()));
    let created = status.created_with.context("createdWith")?;
    assert!(created.adopted);
    assert_eq!(created.description.as_deref(), Some("made by hand"));
    let tags: std::collections::BTreeMap<_, _> = world
        .emulator
        .state()
        .deployment(&foreign)
        .context("still there")?
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    assert_eq!(tags.get("team").map(String::as_str), Some("ml"));
    assert_eq!(
        tags.get("bedrock-operator.dev/owner-uid"),
        adopted.metadata.uid.as_ref()
    );
    assert_eq!(
        world.calls(Operation::CreateCustomModelDeployment),
        creates,
        "no second deployment"
    );
    assert_eq!(world.emulator.state().deployments().len(), 1);

    deployments
        .api
        .delete("legacy", &DeleteParams::default())
        .await?;
    deployments.wait_gone("legacy").await?;
    assert!(
        world.emulator.state().deployment(&foreign).is_none(),
        "the adopted deployment is deleted with the resource (deletionPolicy Delete)"
    );
    Ok(())
}

/// Bad input the schema cannot catch is reported with the field named, and nothing is sent
/// to Bedrock.
#[tokio::test]
async fn a_reference_to_a_missing_model_waits_with_no_call() -> Result<()> {
    let world = World::start("dep-missing").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    deployments.apply("lonely", by_ref("nobody")).await?;
    let waiting = deployments
        .wait_reason("lonely", READY, "ModelNotFound")
        .await?;
    assert!(
        message(&waiting, READY).contains("spec.modelRef"),
        "{}",
        message(&waiting, READY)
    );
    assert_eq!(world.emulator.state().deployments().len(), 0);
    assert_eq!(world.calls(Operation::CreateCustomModelDeployment), 0);
    // The model appears: the watch through the reference brings the deployment along.
    world.apply("nobody", s3_spec("nobody")).await?;
    deployments.wait_ready("lonely").await?;
    Ok(())
}

/// What a deployment costs: create → Active is three writes to the resource (finalizer,
/// Creating, Active), one CreateCustomModelDeployment and no tag written (the tags go with the
/// create); once Active, resyncs write nothing; deleting it is one DeleteCustomModelDeployment.
#[tokio::test]
async fn a_deployment_lifecycle_costs_three_writes_and_no_tag_calls() -> Result<()> {
    use kube::api::WatchEvent;

    let world = World::start("dep-cost").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;
    let before = |op| world.calls(op);
    let (gets_before, tags_before) = (
        before(Operation::GetCustomModelDeployment),
        before(Operation::TagResource) + before(Operation::UntagResource),
    );

    let params = WatchParams::default().fields("metadata.name=chat");
    let stream = deployments.api.watch(&params, "0").await?;
    // Every version until Ready, then every version in two resync periods (3 s each in tests)
    // after it: the idle window.
    let idle = Duration::from_secs(7);
    let watch = tokio::spawn(async move {
        let mut stream = stream.boxed();
        let mut versions = Vec::new();
        let mut ready_at = None;
        loop {
            let next = match ready_at {
                Some(at) => {
                    let left = idle.saturating_sub(std::time::Instant::now() - at);
                    match tokio::time::timeout(left, stream.try_next()).await {
                        Ok(next) => next?,
                        Err(_) => return Ok::<_, anyhow::Error>(versions),
                    }
                }
                None => stream.try_next().await?,
            };
            match next {
                Some(WatchEvent::Added(object) | WatchEvent::Modified(object)) => {
                    let ready = condition(&object, READY).is_some_and(|(s, _)| s == "True");
                    versions.push((
                        object.metadata.resource_version.clone().unwrap_or_default(),
                        ready,
                    ));
                    if ready && ready_at.is_none() {
                        ready_at = Some(std::time::Instant::now());
                    }
                }
                Some(WatchEvent::Error(e)) => anyhow::bail!("watch failed: {e}"),
                Some(_) => {}
                None => anyhow::bail!("the watch ended"),
            }
        }
    });
    deployments
        .apply(
            "chat",
            json!({ "modelRef": { "name": "nova" }, "tags": { "team": "ml" } }),
        )
        .await?;
    let versions = tokio::time::timeout(DEADLINE, watch)
        .await
        .context("waiting for Ready and the idle window")???;
    let until_ready = versions
        .iter()
        .position(|(_, ready)| *ready)
        .context("Ready")?;
    // The first version is the user's create; every later one is a write by the operator.
    assert_eq!(
        until_ready, 3,
        "writes until Ready (finalizer, Creating, Active): {versions:?}"
    );
    assert_eq!(
        versions.len(),
        until_ready + 1,
        "no write in the idle window after Ready: {versions:?}"
    );
    assert_eq!(world.ok_calls(Operation::CreateCustomModelDeployment), 1);
    // The tags went with the create: nothing to set or remove afterwards (the reads of the
    // tag drift check, every 3 s in tests, find them as the spec says).
    assert_eq!(
        world.calls(Operation::TagResource) + world.calls(Operation::UntagResource),
        tags_before,
        "no tag written after the create"
    );
    let gets = world.calls(Operation::GetCustomModelDeployment) - gets_before;
    println!("GetCustomModelDeployment per lifecycle until idle: {gets}");

    deployments
        .api
        .delete("chat", &DeleteParams::default())
        .await?;
    deployments.wait_gone("chat").await?;
    assert_eq!(world.ok_calls(Operation::DeleteCustomModelDeployment), 1);
    Ok(())
}

/// The ConfigMap `spec.export` writes: the deployment's ARN to invoke, the model it serves and
/// its region, owned by the deployment (controller, blockOwnerDeletion).
fn export_says(
    config_map: Option<&ConfigMap>,
    deployment_arn: &str,
    model_arn: &str,
    region: &str,
) -> bool {
    data_of(config_map, MODEL_ID_KEY) == Some(deployment_arn)
        && data_of(config_map, MODEL_ARN_KEY) == Some(model_arn)
        && data_of(config_map, REGION_KEY) == Some(region)
}

/// `spec.export` on a deployment: the ConfigMap appears with the ARN to invoke once the
/// deployment has one, owned by it, and is not written again while nothing changes; a rollout to model v4 rewrites it with v4 once the swap
/// completes (same ID to invoke); deleting the deployment deletes the ConfigMap (by the
/// garbage collector of the real kube-controller-manager, through the ownerReference).
#[tokio::test]
async fn the_export_configmap_follows_a_rollout_and_goes_with_the_deployment() -> Result<()> {
    let world = World::start("dep-export").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    world.apply("v3", s3_spec("v3")).await?;
    world.apply("v4", s3_spec("v4")).await?;
    let model_arn = |model: BedrockCustomModel| model.status.and_then(|s| s.model_arn);
    let v3 = model_arn(world.wait_ready("v3").await?).context("v3")?;
    let v4 = model_arn(world.wait_ready("v4").await?).context("v4")?;
    let with_export = |model: &str| json!({ "modelRef": { "name": model }, "export": {} });

    deployments.apply("chat", with_export("v3")).await?;
    let ready = deployments.wait_ready("chat").await?;
    let status = ready.status.clone().context("status")?;
    let arn = status.deployment_arn.clone().context("deploymentArn")?;
    let region = status.region.clone().context("region")?;
    let written = world
        .wait_config_map("chat-bedrock", "the export of v3", |c| {
            export_says(c, &arn, &v3, &region)
        })
        .await?
        .context("the ConfigMap")?;
    let owners = written
        .metadata
        .owner_references
        .clone()
        .unwrap_or_default();
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(owners[0].kind, "BedrockCustomModelDeployment");
    assert_eq!(Some(&owners[0].uid), ready.metadata.uid.as_ref());
    assert_eq!(owners[0].controller, Some(true));
    assert_eq!(owners[0].block_owner_deletion, Some(true));
    let recorded = deployments
        .wait_for("chat", "recording the export", |d| {
            d.status
                .as_ref()
                .and_then(|s| s.export.as_ref())
                .is_some_and(|e| e.config_map_name == "chat-bedrock")
        })
        .await?;
    assert_eq!(
        condition(&recorded, SYNCED).map(|c| c.1).as_deref(),
        Some("Reconciled")
    );
    world.wait_event("chat", "Normal", "Exported").await?;

    // Quiet: the resyncs that follow (every 3 s in tests) do not write it again.
    let params = WatchParams::default().fields("metadata.name=chat-bedrock");
    let version = written
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    let mut changes = world.config_maps().watch(&params, &version).await?.boxed();
    let idle = tokio::time::timeout(Duration::from_secs(7), changes.try_next()).await;
    assert!(
        idle.is_err(),
        "the ConfigMap was written again with nothing new: {idle:?}"
    );
    // Not even a write that changes nothing (the API server would not bump the version).
    let writes = world
        .operator_logs()
        .matches("export ConfigMap written")
        .count();
    assert_eq!(writes, 1, "one write until something changes");

    // A rollout: once v4 is served, the ConfigMap names it; the ID to invoke stays.
    deployments.apply("chat", with_export("v4")).await?;
    deployments
        .wait_for("chat", "serving v4", |d| {
            d.status.as_ref().and_then(|s| s.model_arn.as_deref()) == Some(v4.as_str())
        })
        .await?;
    world
        .wait_config_map("chat-bedrock", "the export of v4", |c| {
            export_says(c, &arn, &v4, &region)
        })
        .await?;

    // Deleted with the deployment, by the garbage collector (which learns a kind installed
    // after it started at its next discovery: up to half a minute in a fresh control plane).
    deployments.delete("chat").await?;
    deployments.wait_gone("chat").await?;
    world
        .wait_config_map("chat-bedrock", "deleted with the deployment", |c| {
            c.is_none()
        })
        .await?;
    Ok(())
}

/// A ConfigMap of the export's name that is not the deployment's is never touched: Synced
/// shows ExportConflict naming spec.export.configMapName (Ready stays True) and the ConfigMap
/// keeps its data and version. Another configMapName exports there; removing spec.export
/// deletes the ConfigMap the deployment owns and still leaves the foreign one alone.
#[tokio::test]
async fn a_foreign_configmap_of_the_export_name_is_left_alone() -> Result<()> {
    let world = World::start("dep-export-foreign").await?;
    let deployments = world.kind::<BedrockCustomModelDeployment>();
    let foreign = world.create_foreign_config_map("chat-bedrock").await?;
    world.apply("nova", s3_spec("nova")).await?;
    let nova = world
        .wait_ready("nova")
        .await?
        .status
        .and_then(|s| s.model_arn)
        .context("nova")?;

    deployments
        .apply(
            "chat",
            json!({ "modelRef": { "name": "nova" }, "export": {} }),
        )
        .await?;
    let refused = deployments
        .wait_for("chat", "Ready, with Synced ExportConflict", |d| {
            condition(d, READY).is_some_and(|c| c.0 == "True")
                && condition(d, SYNCED).is_some_and(|c| c.1 == "ExportConflict")
        })
        .await?;
    let said = message(&refused, SYNCED);
    assert!(
        said.starts_with("spec.export.configMapName: ConfigMap chat-bedrock already exists"),
        "{said}"
    );
    world
        .wait_event("chat", "Warning", "ExportConflict")
        .await?;
    let after = world.config_maps().get("chat-bedrock").await?;
    assert_eq!(
        after.metadata.resource_version, foreign.metadata.resource_version,
        "the foreign ConfigMap is not written"
    );
    assert_eq!(after.data, foreign.data);
    assert_eq!(after.metadata.owner_references, None);

    // Another name: exported there, Synced back to Reconciled.
    deployments
        .apply(
            "chat",
            json!({ "modelRef": { "name": "nova" }, "export": { "configMapName": "chat-endpoint" } }),
        )
        .await?;
    let exported = deployments
        .wait_for("chat", "exporting to chat-endpoint", |d| {
            condition(d, SYNCED).is_some_and(|c| c.1 == "Reconciled")
                && d.status
                    .as_ref()
                    .and_then(|s| s.export.as_ref())
                    .is_some_and(|e| e.config_map_name == "chat-endpoint")
        })
        .await?;
    let arn = exported
        .status
        .as_ref()
        .and_then(|s| s.deployment_arn.clone())
        .context("deploymentArn")?;
    world
        .wait_config_map("chat-endpoint", "the export", |c| {
            data_of(c, MODEL_ID_KEY) == Some(arn.as_str())
                && data_of(c, MODEL_ARN_KEY) == Some(nova.as_str())
        })
        .await?;

    // spec.export removed: the deployment's ConfigMap goes, the foreign one stays as it was.
    deployments
        .apply("chat", json!({ "modelRef": { "name": "nova" } }))
        .await?;
    world
        .wait_config_map("chat-endpoint", "deleted with spec.export", |c| c.is_none())
        .await?;
    let kept = world.config_maps().get("chat-bedrock").await?;
    assert_eq!(
        kept.metadata.resource_version,
        foreign.metadata.resource_version
    );
    let cleared = deployments.get("chat").await?;
    assert_eq!(cleared.status.and_then(|s| s.export), None);
    Ok(())
}
