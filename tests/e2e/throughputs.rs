//! BedrockProvisionedThroughput end to end: a model and its throughput on the real API server,
//! the operator process and the emulator — references, swaps in place, the commitment guard,
//! deletion that waits for a commitment term, crashes.

use std::time::Duration;

use anyhow::{Context, Result};
use bedrock_emulator::{EmulatorConfig, Operation};
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::export::{MODEL_ARN_KEY, MODEL_ID_KEY, REGION_KEY};
use bedrock_operator::api::throughput::{
    BedrockProvisionedThroughput, CONFIRM_COMMITMENT_ANNOTATION, ThroughputStatus,
};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::harness::{
    COMMITMENTS_HERE, Scope, World, condition_of, data_of, metric, s3_spec, tail,
};

type Throughputs<'a> = Scope<'a, BedrockProvisionedThroughput>;

fn by_ref(model: &str) -> Value {
    json!({ "modelRef": { "name": model }, "modelUnits": 1 })
}

fn message(t: &BedrockProvisionedThroughput, type_: &str) -> String {
    condition_of(t, type_).map(|c| c.2).unwrap_or_default()
}

fn reason(t: &BedrockProvisionedThroughput, type_: &str) -> String {
    condition_of(t, type_).map(|c| c.1).unwrap_or_default()
}

/// A throughput with a commitment term, confirmed (or not) by the annotation.
fn committed(name: &str, model: &str, confirm: Option<&str>) -> Value {
    let mut object = json!({
        "metadata": { "name": name },
        "spec": { "modelRef": { "name": model }, "modelUnits": 1, "commitmentDuration": "OneMonth" },
    });
    if let Some(term) = confirm {
        object["metadata"]["annotations"] = json!({ CONFIRM_COMMITMENT_ANNOTATION: term });
    }
    object
}

fn provisioned_calls(world: &World) -> u64 {
    [
        Operation::CreateProvisionedModelThroughput,
        Operation::GetProvisionedModelThroughput,
        Operation::UpdateProvisionedModelThroughput,
        Operation::DeleteProvisionedModelThroughput,
    ]
    .into_iter()
    .map(|op| world.calls(op))
    .sum()
}

/// Applied together with its model, the throughput waits (no call) while the model imports,
/// then is bought once and turns InService on that model, its units and term in the status.
#[tokio::test]
async fn a_throughput_waits_for_its_model_then_is_in_service() -> Result<()> {
    let world = World::start("pt-wait").await?;
    let throughputs: Throughputs = world.kind();
    world
        .emulator
        .state()
        .set_default_ready_delay(Duration::from_secs(6));
    world.apply("nova", s3_spec("nova")).await?;
    throughputs.apply("pt", by_ref("nova")).await?;
    let waiting = throughputs
        .wait_reason("pt", READY, "ModelNotReady")
        .await?;
    assert!(message(&waiting, READY).contains("nova"));
    assert_eq!(provisioned_calls(&world), 0, "no call while waiting");

    let model = world.wait_ready("nova").await?;
    let ready = throughputs.wait_ready("pt").await?;
    let status = ready.status.clone().context("status")?;
    let model_arn = model
        .status
        .and_then(|s| s.model_arn)
        .context("model arn")?;
    assert_eq!(status.throughput_status, Some(ThroughputStatus::InService));
    assert_eq!(status.model_arn.as_deref(), Some(model_arn.as_str()));
    assert_eq!(status.model_units, Some(1));
    assert_eq!(status.commitment_duration, None);
    assert_eq!(
        world.ok_calls(Operation::CreateProvisionedModelThroughput),
        1
    );
    let record = world
        .emulator
        .state()
        .provisioned_throughput(status.provisioned_model_arn.as_deref().context("arn")?)
        .context("in Bedrock")?;
    assert_eq!(record.model_arn, model_arn);
    // Cost visible: the units in service are a gauge and an event.
    world
        .wait_metrics("1 model unit in service", |text| {
            metric(
                text,
                r#"bedrock_operator_provisioned_model_units{region="us-east-1",commitment="None"}"#,
            ) == Some(1.0)
        })
        .await?;
    throughputs.wait_event("pt", "Normal", "ModelUnits").await?;
    Ok(())
}

/// Pointing an InService throughput at model v4 swaps it in place: Updating with Ready kept
/// on v3, then InService on v4, one throughput (one ARN) all along.
#[tokio::test]
async fn a_new_model_is_swapped_in_place_with_ready_kept() -> Result<()> {
    let emulator = EmulatorConfig {
        ready_delay: Duration::from_millis(1500),
        provisioned_update_delay: Duration::from_secs(4),
        ..EmulatorConfig::default()
    };
    let world = World::with("pt-swap", emulator, &[], &[]).await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova-v3", s3_spec("v3")).await?;
    world.apply("nova-v4", s3_spec("v4")).await?;
    throughputs.apply("pt", by_ref("nova-v3")).await?;
    let first = throughputs.wait_ready("pt").await?;
    let arn = first
        .status
        .as_ref()
        .and_then(|s| s.provisioned_model_arn.clone())
        .context("arn")?;
    let v4 = world
        .wait_ready("nova-v4")
        .await?
        .status
        .and_then(|s| s.model_arn)
        .context("v4 arn")?;

    throughputs.apply("pt", by_ref("nova-v4")).await?;
    let updating = throughputs.wait_reason("pt", SYNCED, "Updating").await?;
    assert_eq!(
        condition_of(&updating, READY).map(|c| (c.0, c.1)),
        Some(("True".into(), "InService".into())),
        "Ready kept on the old model while the swap runs"
    );
    let swapped = throughputs
        .wait_for("pt", "InService on v4", |t| {
            t.status.as_ref().and_then(|s| s.model_arn.as_deref()) == Some(v4.as_str())
                && reason(t, SYNCED) == "Reconciled"
        })
        .await?;
    assert_eq!(
        swapped
            .status
            .and_then(|s| s.provisioned_model_arn)
            .as_deref(),
        Some(arn.as_str()),
        "swapped in place, not bought again"
    );
    assert_eq!(
        world.ok_calls(Operation::CreateProvisionedModelThroughput),
        1
    );
    assert_eq!(
        world.ok_calls(Operation::UpdateProvisionedModelThroughput),
        1
    );
    Ok(())
}

/// modelUnits cannot change on a live throughput: the API server refuses the edit naming the
/// field and what to do, the stored spec stays, and nothing is sent to Bedrock.
#[tokio::test]
async fn a_unit_change_is_refused_with_what_to_do() -> Result<()> {
    let world = World::start("pt-units").await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    throughputs.apply("pt", by_ref("nova")).await?;
    throughputs.wait_ready("pt").await?;
    let updates = world.calls(Operation::UpdateProvisionedModelThroughput);
    let refused = throughputs
        .apply(
            "pt",
            json!({ "modelRef": { "name": "nova" }, "modelUnits": 2 }),
        )
        .await
        .expect_err("the server refuses a unit change");
    let text = format!("{refused:#}");
    assert!(
        text.contains("spec.modelUnits") && text.contains("create another"),
        "{text}"
    );
    assert_eq!(throughputs.get("pt").await?.spec.model_units, 1);
    assert_eq!(
        world.calls(Operation::UpdateProvisionedModelThroughput),
        updates
    );
    Ok(())
}

/// The commitment guard: a term without the annotation is InvalidSpec naming it, with no
/// call at all; the annotation naming the term buys it.
#[tokio::test]
async fn a_commitment_is_bought_only_when_the_annotation_confirms_it() -> Result<()> {
    let world = World::start_with("pt-guard", &[COMMITMENTS_HERE]).await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;
    throughputs
        .apply_object(committed("pt", "nova", None))
        .await?;
    let refused = throughputs.wait_reason("pt", READY, "InvalidSpec").await?;
    assert!(
        message(&refused, READY).contains(CONFIRM_COMMITMENT_ANNOTATION),
        "{}",
        message(&refused, READY)
    );
    assert_eq!(
        provisioned_calls(&world),
        0,
        "nothing bought, nothing asked"
    );

    throughputs
        .apply_object(committed("pt", "nova", Some("OneMonth")))
        .await?;
    let bought = throughputs.wait_ready("pt").await?;
    let status = bought.status.context("status")?;
    assert_eq!(status.commitment_duration.as_deref(), Some("OneMonth"));
    assert!(status.commitment_expiration_time.is_some());
    let log = world.emulator.state().provisioned_create_log();
    assert_eq!(log.len(), 1);
    Ok(())
}

/// An operator whose --commitment-namespaces leaves the namespace out refuses a confirmed
/// commitment, naming spec.commitmentDuration and the setting, with no call at all; a
/// throughput without commitment is bought as usual. (Listed, the namespace buys it:
/// `a_commitment_is_bought_only_when_the_annotation_confirms_it`.)
#[tokio::test]
async fn a_namespace_left_out_of_commitment_namespaces_buys_no_term() -> Result<()> {
    let world = World::start_with("pt-forbid", &["--commitment-namespaces=ml-platform"]).await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;
    throughputs
        .apply_object(committed("pt", "nova", Some("OneMonth")))
        .await?;
    let refused = throughputs.wait_reason("pt", READY, "InvalidSpec").await?;
    let text = message(&refused, READY);
    for part in [
        "spec.commitmentDuration",
        "--commitment-namespaces",
        "guards.commitmentNamespaces",
        "which is ml-platform",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert_eq!(message(&refused, SYNCED), text);
    assert_eq!(provisioned_calls(&world), 0, "no call, not even a read");
    throughputs
        .wait_event("pt", "Warning", "InvalidSpec")
        .await?;
    throughputs.apply("plain", by_ref("nova")).await?;
    throughputs.wait_ready("plain").await?;
    Ok(())
}

/// Deleting a committed throughput before its term ends keeps it (DeletionBlocked naming the
/// end of the term) with no DeleteProvisionedModelThroughput call, however often the operator
/// looks; once the clock passes the term, it is deleted and the resource goes.
#[tokio::test]
async fn a_committed_throughput_is_deleted_only_after_its_term() -> Result<()> {
    // The operator's clock offset (fault-points build), moved with the emulator's below.
    let clock = std::env::temp_dir().join(format!(
        "bedrock-operator-e2e-clock-{}-{}",
        std::process::id(),
        std::time::UNIX_EPOCH.elapsed()?.as_nanos()
    ));
    std::fs::write(&clock, "0")?;
    let clock_path = clock.to_string_lossy().to_string();
    let world = World::with(
        "pt-term",
        EmulatorConfig {
            ready_delay: Duration::from_millis(1500),
            ..EmulatorConfig::default()
        },
        &[COMMITMENTS_HERE],
        &[("BEDROCK_OPERATOR_FAULT_CLOCK_FILE", clock_path.as_str())],
    )
    .await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    throughputs
        .apply_object(committed("pt", "nova", Some("OneMonth")))
        .await?;
    let bought = throughputs.wait_ready("pt").await?;
    let until = bought
        .status
        .and_then(|s| s.commitment_expiration_time)
        .context("the term's end")?;

    throughputs
        .api
        .delete("pt", &DeleteParams::default())
        .await?;
    let blocked = throughputs
        .wait_reason("pt", SYNCED, "DeletionBlocked")
        .await?;
    assert!(
        message(&blocked, SYNCED).contains(&until),
        "{}",
        message(&blocked, SYNCED)
    );
    // The operator looks again every --slow-retry (2 s here) while the term runs: several
    // looks, and not one delete call.
    world
        .wait_metrics("three waiting reconciles of the throughput", |text| {
            metric(
                text,
                r#"bedrock_operator_reconciles_total{kind="BedrockProvisionedThroughput",outcome="waiting"}"#,
            )
            .is_some_and(|n| n >= 3.0)
        })
        .await?;
    assert_eq!(
        world.calls(Operation::DeleteProvisionedModelThroughput),
        0,
        "no call before the term ends"
    );

    // A month and a bit later, on both clocks.
    let later = Duration::from_secs(32 * 24 * 3600);
    world.emulator.state().advance_clock(later)?;
    std::fs::write(&clock, later.as_secs().to_string())?;
    let gone = throughputs.wait_gone("pt").await;
    let _ = std::fs::remove_file(&clock);
    gone?;
    assert!(world.emulator.state().provisioned_throughputs().is_empty());
    assert_eq!(
        world.ok_calls(Operation::DeleteProvisionedModelThroughput),
        1
    );
    Ok(())
}

/// deletionPolicy Retain lets a committed throughput's resource go at once, with a Warning
/// that the throughput still bills; the throughput stays in Bedrock.
#[tokio::test]
async fn retain_releases_a_committed_throughput_with_a_warning() -> Result<()> {
    let world = World::start_with("pt-retain", &[COMMITMENTS_HERE]).await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    let mut object = committed("pt", "nova", Some("OneMonth"));
    object["spec"]["deletionPolicy"] = json!("Retain");
    throughputs.apply_object(object).await?;
    throughputs.wait_ready("pt").await?;
    throughputs
        .api
        .delete("pt", &DeleteParams::default())
        .await?;
    throughputs.wait_gone("pt").await?;
    throughputs.wait_event("pt", "Warning", "Retained").await?;
    let events = throughputs.events("pt").await?;
    assert!(
        events
            .iter()
            .any(|e| e.0 == "Warning" && e.1 == "Retained" && e.2.contains("keeps billing")),
        "{events:?}"
    );
    assert_eq!(world.emulator.state().provisioned_throughputs().len(), 1);
    assert_eq!(world.calls(Operation::DeleteProvisionedModelThroughput), 0);
    Ok(())
}

/// A model, a deployment and a throughput deleted at once: the model waits for both users,
/// and nothing is left in Bedrock.
#[tokio::test]
async fn deleting_all_three_kinds_at_once_leaves_nothing() -> Result<()> {
    use bedrock_operator::api::deployment::BedrockCustomModelDeployment;

    let world = World::start("pt-all").await?;
    let throughputs: Throughputs = world.kind();
    let deployments: Scope<BedrockCustomModelDeployment> = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    deployments
        .apply("chat", json!({ "modelRef": { "name": "nova" } }))
        .await?;
    throughputs.apply("pt", by_ref("nova")).await?;
    deployments.wait_ready("chat").await?;
    throughputs.wait_ready("pt").await?;

    world.delete("nova").await?;
    let blocked = world.wait_reason("nova", SYNCED, "DeletionBlocked").await?;
    let text = crate::harness::condition(&blocked, SYNCED)
        .map(|c| c.2)
        .unwrap_or_default();
    assert!(
        text.contains("BedrockCustomModelDeployment chat")
            && text.contains("BedrockProvisionedThroughput pt"),
        "{text}"
    );
    deployments
        .api
        .delete("chat", &DeleteParams::default())
        .await?;
    throughputs
        .api
        .delete("pt", &DeleteParams::default())
        .await?;
    world.wait_gone("nova").await?;
    deployments.wait_gone("chat").await?;
    throughputs.wait_gone("pt").await?;
    let state = world.emulator.state();
    assert!(state.models().is_empty(), "{:?}", state.models());
    assert!(state.deployments().is_empty());
    assert!(state.provisioned_throughputs().is_empty());
    Ok(())
}

/// The operator dies right after CreateProvisionedModelThroughput returned, before writing the
/// status: the restarted operator finds the throughput by name (its owner tag) and buys no
/// second one.
#[tokio::test]
async fn a_crash_after_create_buys_exactly_one_throughput() -> Result<()> {
    let mut world = World::start("pt-crash").await?;
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;
    world.kill_operator().await?;
    world
        .start_operator_with_env(&[("BEDROCK_OPERATOR_FAULT", "crash-after-create")])
        .await?;
    world
        .kind::<BedrockProvisionedThroughput>()
        .apply("pt", by_ref("nova"))
        .await?;
    world
        .wait_emulator("the throughput bought", |e| {
            e.state().provisioned_create_log().len() == 1
        })
        .await?;
    let logs = world.operator_logs();
    let operator = world.operator.as_mut().context("operator")?;
    let exit = tokio::time::timeout(Duration::from_secs(30), operator.child.wait())
        .await
        .with_context(|| format!("the operator did not die:\n{}", tail(&logs, 30)))??;
    assert!(!exit.success(), "the fault point killed the operator");
    world.start_operator().await?;
    world
        .kind::<BedrockProvisionedThroughput>()
        .wait_ready("pt")
        .await?;
    assert_eq!(world.emulator.state().provisioned_create_log().len(), 1);
    assert_eq!(world.emulator.state().provisioned_throughputs().len(), 1);
    Ok(())
}

/// Bad input the schema cannot catch (spec.region other than the referenced model's) is
/// InvalidSpec naming the field, with no call to Bedrock's throughput operations.
#[tokio::test]
async fn a_region_other_than_the_models_is_invalid_with_no_call() -> Result<()> {
    let world = World::start("pt-region").await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;
    throughputs
        .apply(
            "pt",
            json!({ "modelRef": { "name": "nova" }, "modelUnits": 1, "region": "eu-west-1" }),
        )
        .await?;
    let refused = throughputs.wait_reason("pt", READY, "InvalidSpec").await?;
    assert!(message(&refused, READY).contains("spec.region"));
    assert_eq!(provisioned_calls(&world), 0);
    // Fixed, it is bought.
    throughputs
        .api
        .patch(
            "pt",
            &PatchParams::apply("e2e-user").force(),
            &Patch::Apply(json!({
                "apiVersion": "bedrock-operator.dev/v1alpha1",
                "kind": "BedrockProvisionedThroughput",
                "metadata": { "name": "pt" },
                "spec": { "modelRef": { "name": "nova" }, "modelUnits": 1 },
            })),
        )
        .await?;
    throughputs.wait_ready("pt").await?;
    Ok(())
}

/// `spec.export` on a throughput: the ConfigMap holds the provisioned model's ARN to invoke,
/// and follows a swap to another model once Bedrock serves it (same ARN to invoke).
#[tokio::test]
async fn the_export_configmap_names_the_provisioned_arn_and_follows_a_swap() -> Result<()> {
    let world = World::start("pt-export").await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova-v3", s3_spec("v3")).await?;
    world.apply("nova-v4", s3_spec("v4")).await?;
    let with_export = |model: &str| {
        let mut spec = by_ref(model);
        spec["export"] = json!({ "configMapName": "pt-env" });
        spec
    };
    throughputs.apply("pt", with_export("nova-v3")).await?;
    let first = throughputs.wait_ready("pt").await?;
    let status = first.status.context("status")?;
    let arn = status
        .provisioned_model_arn
        .context("provisionedModelArn")?;
    let v3 = status.model_arn.context("modelArn")?;
    let v4 = world
        .wait_ready("nova-v4")
        .await?
        .status
        .and_then(|s| s.model_arn)
        .context("v4 arn")?;
    let says = |config_map: Option<&ConfigMap>, model: &str| {
        data_of(config_map, MODEL_ID_KEY) == Some(arn.as_str())
            && data_of(config_map, MODEL_ARN_KEY) == Some(model)
            && data_of(config_map, REGION_KEY) == status.region.as_deref()
    };
    world
        .wait_config_map("pt-env", "the export of v3", |c| says(c, &v3))
        .await?;

    throughputs.apply("pt", with_export("nova-v4")).await?;
    world
        .wait_config_map("pt-env", "the export of v4", |c| says(c, &v4))
        .await?;
    let swapped = throughputs.get("pt").await?;
    assert_eq!(
        swapped.status.and_then(|s| s.provisioned_model_arn),
        Some(arn.clone()),
        "swapped in place"
    );
    Ok(())
}
