//! What one model costs the cluster and the AWS account: API-server writes and Bedrock calls.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bedrock_emulator::{EmulatorConfig, FaultConfig, Operation};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::READY;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;

use crate::harness::{DEADLINE, World, condition, metric, s3_spec, wait_http};

fn is_ready(resource: &BedrockCustomModel) -> bool {
    condition(resource, READY).is_some_and(|(status, _, _)| status == "True")
}

/// create → Active is three writes to the resource (finalizer, Creating, Active), one
/// CreateCustomModel, two GetCustomModel (the look-up by name before the create, and the read
/// once the sweep saw the import end) and no tagging call: the operator's own status writes
/// do not come back as reconciles, the tags go with the create, and polls of a Creating model
/// write nothing.
#[tokio::test]
async fn a_lifecycle_costs_three_writes_and_no_tag_calls() -> Result<()> {
    let world = World::with(
        "cost",
        EmulatorConfig {
            // Long enough for several sweeps and a back-up poll window to pass while Creating.
            ready_delay: Duration::from_secs(2),
            ..EmulatorConfig::default()
        },
        &[],
        &[],
    )
    .await?;
    let name = "cost-a";
    let params = WatchParams::default().fields(&format!("metadata.name={name}"));
    let stream = world.api.watch(&params, "0").await?;
    let watch = tokio::spawn(async move {
        let mut stream = stream.boxed();
        let mut versions = Vec::new();
        while let Some(event) = stream.try_next().await? {
            match event {
                WatchEvent::Added(object) | WatchEvent::Modified(object) => {
                    versions.push(object.metadata.resource_version.clone().unwrap_or_default());
                    if is_ready(&object) {
                        return Ok::<_, anyhow::Error>(versions);
                    }
                }
                WatchEvent::Error(e) => bail!("watch failed: {e}"),
                _ => {}
            }
        }
        bail!("the watch ended before the resource was Ready")
    });
    let mut spec = s3_spec("cost");
    spec["tags"] = json!({ "team": "ml" });
    world.apply(name, spec).await?;
    let versions = tokio::time::timeout(DEADLINE, watch)
        .await
        .context("waiting for Ready")???;
    // Taken as soon as Ready shows, well before the first resync (3 s in tests).
    let gets = world.calls(Operation::GetCustomModel);
    let lists = world.calls(Operation::ListCustomModels);

    // The first version is the user's create; every later one is a write by the operator.
    assert_eq!(
        versions.len() - 1,
        3,
        "writes by the operator until Ready (finalizer, Creating, Active): versions {versions:?}"
    );
    assert_eq!(world.ok_calls(Operation::CreateCustomModel), 1);
    assert_eq!(
        gets, 2,
        "GetCustomModel: the look-up by name before the create, and one once the import ended"
    );
    assert!(
        lists >= 1,
        "the sweep lists Creating models instead of polling each"
    );
    for op in [
        Operation::ListTagsForResource,
        Operation::TagResource,
        Operation::UntagResource,
    ] {
        assert_eq!(world.calls(op), 0, "{op:?}: the tags went with the create");
    }
    let ready = world.get(name).await?;
    assert!(ready.status.as_ref().unwrap().creation_time.is_some());
    assert_eq!(
        ready.status.as_ref().unwrap().tags_synced_generation,
        ready.metadata.generation
    );

    // A label is not a reason to reconcile; a spec change is. Label first, then change the
    // tags: the tag change is read and applied with one GetCustomModel and one
    // ListTagsForResource, and the label cost nothing.
    let patch = json!({ "metadata": { "labels": { "app": "demo" } } });
    world
        .api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let patch = json!({ "spec": { "tags": { "team": "research" } } });
    let changed = world
        .api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let generation = changed.metadata.generation;
    world
        .wait_for(name, "tags synced for the new generation", |r| {
            r.status.as_ref().and_then(|s| s.tags_synced_generation) == generation
        })
        .await?;
    let tags = world.model_tags(name).unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("research"));
    assert_eq!(world.calls(Operation::TagResource), 1);
    let extra_gets = world.calls(Operation::GetCustomModel) - gets;
    let resyncs_possible = 1; // the 3 s resync may fall inside this window
    assert!(
        (1..=1 + resyncs_possible).contains(&extra_gets),
        "GetCustomModel after a label and a spec change: {extra_gets}"
    );
    Ok(())
}

/// When ListCustomModels keeps failing (here: always throttled; in real life also an IAM
/// policy without bedrock:ListCustomModels), the region's models go back to polling on their
/// own and still become Ready.
#[tokio::test]
async fn models_poll_on_their_own_when_the_sweep_keeps_failing() -> Result<()> {
    let world = World::with(
        "sweepfail",
        EmulatorConfig {
            ready_delay: Duration::from_secs(2),
            faults: FaultConfig {
                throttle_fraction: 1.0,
                operations: vec![Operation::ListCustomModels],
                ..FaultConfig::default()
            },
            ..EmulatorConfig::default()
        },
        &[],
        &[],
    )
    .await?;
    world.apply("fallback", s3_spec("fallback")).await?;
    world.wait_ready("fallback").await?;
    assert!(world.calls(Operation::ListCustomModels) >= 3);
    assert_eq!(world.ok_calls(Operation::ListCustomModels), 0);
    assert!(
        world.operator_logs().contains("sweep paused"),
        "the fallback is logged"
    );
    assert_eq!(world.ok_calls(Operation::CreateCustomModel), 1);
    Ok(())
}

/// A restart (or a new leader) calls Bedrock for none of the resources it finds settled: their
/// first looks are spread over the resync period, so neither the restart nor each later resync
/// is a burst of GetCustomModel. A spec change is still acted on at once.
#[tokio::test]
async fn a_restart_spreads_its_first_looks_over_the_resync_period() -> Result<()> {
    // A resync of 100 h: a spread first look falls into the few seconds of this test with a
    // chance of about 1 in 10,000 per resource.
    let mut world = World::with(
        "spread",
        EmulatorConfig {
            ready_delay: Duration::from_millis(500),
            ..EmulatorConfig::default()
        },
        &["--resync", "100h"],
        &[],
    )
    .await?;
    let names: Vec<String> = (0..20).map(|i| format!("settled-{i:02}")).collect();
    futures::future::try_join_all(names.iter().map(|name| world.apply(name, s3_spec(name))))
        .await?;
    for name in &names {
        world.wait_ready(name).await?;
    }
    world.kill_operator().await?;
    let gets = world.calls(Operation::GetCustomModel);
    let list_tags = world.calls(Operation::ListTagsForResource);

    world.start_operator().await?;
    wait_http(&world.admin_url, "/readyz", 200).await?;
    // Every resource has had its first reconcile in the new process ...
    let text = world
        .wait_metrics(
            "a first reconcile of every resource by the restarted operator",
            |text| {
                metric(
                    text,
                    r#"bedrock_operator_reconciles_total{kind="BedrockCustomModel",outcome="ok"}"#,
                )
                .is_some_and(|n| n >= names.len() as f64)
            },
        )
        .await?;
    // ... without a Bedrock call, and still counts them as Active.
    assert_eq!(world.calls(Operation::GetCustomModel), gets);
    assert_eq!(
        metric(&text, r#"bedrock_operator_models{model_status="Active"}"#),
        Some(names.len() as f64)
    );

    // A spec change is acted on at once: one model read, its tags read and set.
    let patch = json!({ "spec": { "tags": { "team": "research" } } });
    let changed = world
        .api
        .patch(&names[0], &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let generation = changed.metadata.generation;
    world
        .wait_for(&names[0], "tags synced for the new generation", |r| {
            r.status.as_ref().and_then(|s| s.tags_synced_generation) == generation
        })
        .await?;
    assert_eq!(world.calls(Operation::GetCustomModel) - gets, 1);
    assert_eq!(world.calls(Operation::ListTagsForResource) - list_tags, 1);
    Ok(())
}
