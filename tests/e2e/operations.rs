//! What an operations team relies on: health endpoints that mean something, metrics that move
//! with the resources, graceful shutdown, and leader election across replicas.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bedrock_emulator::{EmulatorConfig, Operation};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;

use crate::harness::{World, http_get, metric, s3_spec, wait_http};

/// `/livez`, `/readyz` and `/metrics` of a running operator; the figures follow the resources,
/// and no label carries an object name.
#[tokio::test]
async fn health_and_metrics_follow_the_resources() -> Result<()> {
    let world = World::start("metrics").await?;
    wait_http(&world.admin_url, "/livez", 200).await?;
    wait_http(&world.admin_url, "/readyz", 200).await?;

    world.apply("counted-model", s3_spec("counted")).await?;
    world.wait_ready("counted-model").await?;
    let text = wait_for_metric(
        &world,
        r#"bedrock_operator_models{model_status="Active"}"#,
        1.0,
    )
    .await?;
    assert_eq!(
        metric(
            &text,
            r#"bedrock_operator_bedrock_calls_total{operation="CreateCustomModel",outcome="ok"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        metric(
            &text,
            r#"bedrock_operator_reconciles_total{kind="BedrockCustomModel",outcome="ok"}"#
        )
        .is_some_and(|n| n >= 2.0)
    );
    assert_eq!(metric(&text, "bedrock_operator_leader"), Some(1.0));
    assert!(text.contains("bedrock_operator_reconcile_duration_seconds_bucket"));
    assert!(text.contains("bedrock_operator_bedrock_call_duration_seconds_bucket"));
    assert!(
        !text.contains("counted"),
        "no label carries an object or model name"
    );

    world.delete("counted-model").await?;
    world.wait_gone("counted-model").await?;
    wait_for_metric(
        &world,
        r#"bedrock_operator_models{model_status="Active"}"#,
        0.0,
    )
    .await?;
    Ok(())
}

/// Throttling shows in the call metrics by class, and objects in backoff are counted.
#[tokio::test]
async fn throttled_calls_are_counted_by_class() -> Result<()> {
    let world = World::with(
        "throttle-metrics",
        EmulatorConfig {
            faults: bedrock_emulator::FaultConfig {
                throttle_fraction: 1.0,
                operations: vec![Operation::CreateCustomModel],
                ..Default::default()
            },
            ..EmulatorConfig::default()
        },
        &[],
        &[],
    )
    .await?;
    world.apply("throttled", s3_spec("throttled")).await?;
    let text = world
        .wait_metrics("3 throttled creates and one object in backoff", |text| {
            metric(text, r#"bedrock_operator_bedrock_calls_total{operation="CreateCustomModel",outcome="throttled"}"#)
                .is_some_and(|n| n >= 3.0)
                && metric(text, "bedrock_operator_objects_in_backoff") == Some(1.0)
        })
        .await?;
    assert!(
        metric(
            &text,
            r#"bedrock_operator_reconciles_total{kind="BedrockCustomModel",outcome="throttled"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    // Repeated throttling is shown on the resource too.
    world
        .wait_reason("throttled", "Synced", "Throttled")
        .await?;
    Ok(())
}

/// SIGTERM: the operator stops, and exits cleanly well within a pod's grace period.
#[tokio::test]
async fn sigterm_exits_cleanly() -> Result<()> {
    let mut world = World::start("sigterm").await?;
    world.apply("before-stop", s3_spec("before-stop")).await?;
    world.wait_ready("before-stop").await?;
    let operator = world.operator.as_mut().context("operator")?;
    let started = Instant::now();
    operator.sigterm()?;
    let status = tokio::time::timeout(Duration::from_secs(10), operator.child.wait()).await??;
    assert!(status.success(), "exit status {status}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(operator.log_text().contains("shutdown requested"));
    Ok(())
}

/// Two replicas with leader election: only one reconciles; SIGKILL it and the other takes over
/// within the lease duration and finishes the work, creating no model twice. SIGTERM on a
/// leader releases the lease.
#[tokio::test]
async fn leader_election_fails_over_without_duplicates() -> Result<()> {
    let mut world = World::start("leader").await?;
    world.kill_operator().await?;
    let lease_args = [
        "--leader-election",
        "--leader-election-namespace",
        world.namespace.as_str(),
        "--leader-election-lease-duration",
        "4s",
    ];
    let (mut first, first_url) = world.spawn_operator(&lease_args, &[("POD_NAME", "replica-a")])?;
    wait_http(&first_url, "/readyz", 200).await?;
    let (mut second, second_url) =
        world.spawn_operator(&lease_args, &[("POD_NAME", "replica-b")])?;
    wait_http(&second_url, "/readyz", 200).await?;

    let names: Vec<String> = (0..5).map(|i| format!("ha-{i}")).collect();
    for name in &names[..2] {
        world.apply(name, s3_spec(name)).await?;
    }
    for name in &names[..2] {
        world.wait_ready(name).await?;
    }
    let leases: Api<Lease> = Api::namespaced(world.plane.client(), &world.namespace);
    let holder = leases
        .get("bedrock-operator")
        .await?
        .spec
        .and_then(|s| s.holder_identity)
        .context("a lease holder")?;
    let (leader, leader_url, standby, standby_url) = if holder == "replica-a" {
        (&mut first, &first_url, &mut second, &second_url)
    } else {
        (&mut second, &second_url, &mut first, &first_url)
    };
    let standby_metrics = http_get(standby_url, "/metrics").await?.1;
    assert_eq!(
        metric(&standby_metrics, "bedrock_operator_leader"),
        Some(0.0)
    );
    assert_eq!(
        metric(
            &http_get(leader_url, "/metrics").await?.1,
            "bedrock_operator_leader"
        ),
        Some(1.0)
    );
    assert!(
        !standby.log_text().contains("reconciling object"),
        "the standby reconciled:\n{}",
        standby.log_text()
    );

    // The leader dies; new work arrives; the standby takes over within the lease duration.
    leader.child.kill().await?;
    let killed = Instant::now();
    for name in &names[2..] {
        world.apply(name, s3_spec(name)).await?;
    }
    for name in &names {
        world.wait_ready(name).await?;
    }
    let took_over = killed.elapsed();
    assert!(
        took_over < Duration::from_secs(4 + 10),
        "takeover took {took_over:?}"
    );
    let new_holder = leases
        .get("bedrock-operator")
        .await?
        .spec
        .and_then(|s| s.holder_identity);
    assert_ne!(new_holder.as_deref(), Some(holder.as_str()));
    let log = world.emulator.state().create_log();
    assert_eq!(
        log.len(),
        names.len(),
        "exactly one model per resource: {log:?}"
    );

    // SIGTERM on the new leader releases the lease.
    standby.sigterm()?;
    let status = tokio::time::timeout(Duration::from_secs(10), standby.child.wait()).await??;
    assert!(status.success());
    let released = leases
        .get("bedrock-operator")
        .await?
        .spec
        .and_then(|s| s.holder_identity);
    assert!(
        released.as_deref().is_none_or(str::is_empty),
        "lease still held by {released:?}"
    );
    Ok(())
}

async fn wait_for_metric(world: &World, sample: &str, value: f64) -> Result<String> {
    world
        .wait_metrics(&format!("{sample} {value}"), |text| {
            metric(text, sample) == Some(value)
        })
        .await
}
