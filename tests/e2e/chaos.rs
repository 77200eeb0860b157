//! Chaos: many resources at once against a flaky Bedrock, while the operator is SIGKILLed at
//! random moments and kube-apiserver restarts once. Every resource must still end Ready with
//! exactly one model, and deleting them all must leave nothing behind.
//!
//! The size comes from the environment: `CHAOS_RESOURCES` (default 30), `CHAOS_KILLS`
//! (default 2), `CHAOS_SEED` (default: from the clock; printed). `cargo xtask chaos` runs it
//! with 200 resources and 5 kills in release mode.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bedrock_emulator::{EmulatorConfig, FaultConfig, Limits};
use bedrock_operator::api::FINALIZER;
use bedrock_operator::api::conditions::READY;
use futures::future::join_all;
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams};
use serde_json::json;
use testkit::ControlPlane;
use testkit::wait;

use crate::harness::{World, condition, s3_spec, tail, wait_http};

/// This test restarts kube-apiserver, so it gets a control plane of its own.
static PLANE: tokio::sync::OnceCell<ControlPlane> = tokio::sync::OnceCell::const_new();

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: enough randomness for choosing moments, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [lo, hi).
    fn duration(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = hi.saturating_sub(lo).as_millis().max(1) as u64;
        lo + Duration::from_millis(self.next() % span)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Disruption {
    KillOperator,
    RestartApiserver,
}

/// Names of the resources in the namespace that are Ready, and all names, or an error while the
/// API server is away.
async fn census(world: &World) -> Result<(usize, usize)> {
    let list = world.api.list(&ListParams::default()).await?;
    let ready = list
        .items
        .iter()
        .filter(|r| condition(r, READY).is_some_and(|c| c.0 == "True"))
        .count();
    Ok((ready, list.items.len()))
}

#[tokio::test]
async fn chaos_converges_with_exactly_one_model_each() -> Result<()> {
    let resources = env_number("CHAOS_RESOURCES", 30) as usize;
    let kills = env_number("CHAOS_KILLS", 2) as usize;
    let seed = env_number(
        "CHAOS_SEED",
        std::time::UNIX_EPOCH.elapsed()?.as_nanos() as u64 | 1,
    );
    let mut rng = Rng(seed.max(1));
    println!(
        "chaos: {resources} resources, {kills} operator kills, 1 apiserver restart, seed {seed}"
    );

    let plane = PLANE.get_or_try_init(ControlPlane::start).await?;
    let emulator = EmulatorConfig {
        ready_delay: Duration::from_secs(3),
        limits: Limits {
            max_models: resources * 2 + 100,
            ..Limits::default()
        },
        faults: FaultConfig {
            throttle_fraction: 0.2,
            internal_error_fraction: 0.05,
            latency_ms: 200,
            ..FaultConfig::default()
        },
        seed: Some(seed),
        ..EmulatorConfig::default()
    };
    let concurrency = (resources / 2).max(32).to_string();
    let mut world = World::with_plane(
        plane,
        "chaos",
        emulator,
        // The harness's fast timings resync every 3 s: enough slots that the resyncs of the
        // Ready resources cannot starve the rest.
        &["--concurrency", &concurrency, "--call-timeout", "10s"],
        &[],
    )
    .await?;

    // The disruptions, each when a random share (0–95 %) of the resources is Ready, so that
    // they fall while the resources converge however fast this build is.
    let mut threshold = || (rng.next() % (resources as u64 * 95 / 100 + 1)) as usize;
    let mut plan: Vec<(usize, Disruption)> = (0..kills)
        .map(|_| (threshold(), Disruption::KillOperator))
        .collect();
    plan.push((threshold(), Disruption::RestartApiserver));
    plan.sort_by_key(|(at, _)| *at);
    let deadline = Duration::from_secs(60) + Duration::from_millis(750 * resources as u64);

    // All at once.
    let started = Instant::now();
    let names: Vec<String> = (0..resources).map(|i| format!("chaos-{i:04}")).collect();
    let applied = join_all(names.iter().map(|name| {
        let mut spec = s3_spec(&format!("chaos/{name}"));
        spec["deletionPolicy"] = json!("Delete");
        world.apply(name, spec)
    }))
    .await;
    for (name, result) in names.iter().zip(applied) {
        result.with_context(|| format!("applying {name}"))?;
    }
    println!("chaos: applied {resources} in {:?}", started.elapsed());

    let mut log = Vec::new();
    let mut exits = Vec::new();
    for (at, disruption) in &plan {
        tokio::time::sleep(rng.duration(Duration::ZERO, Duration::from_millis(500))).await;
        let mut ready = 0;
        // Past the deadline the disruption still comes; the checks below report what did not
        // converge.
        let _ = wait::until(
            format!("{at} resources Ready"),
            deadline.saturating_sub(started.elapsed()),
            Duration::from_millis(100),
            async || {
                ready = census(&world).await.map(|c| c.0).unwrap_or(ready);
                Ok((ready >= *at).then_some(()))
            },
        )
        .await;
        // An operator that exited on its own (rather than being killed) is a violation of
        // its own, whatever the resources do.
        if let Some(operator) = world.operator.as_mut()
            && let Some(status) = operator.child.try_wait()?
        {
            exits.push(format!(
                "{status} before the disruption at {:.1}s; its log ends:\n{}",
                started.elapsed().as_secs_f64(),
                tail(&operator.log_text(), 10)
            ));
        }
        match disruption {
            Disruption::KillOperator => {
                world.kill_operator().await?;
                tokio::time::sleep(rng.duration(Duration::ZERO, Duration::from_millis(1000))).await;
                world.start_operator().await?;
            }
            Disruption::RestartApiserver => plane.restart_apiserver().await?,
        }
        let line = format!(
            "{:>7.1}s  {disruption:?} (at {ready}/{resources} Ready)",
            started.elapsed().as_secs_f64()
        );
        println!("chaos: {line}");
        log.push(line);
    }

    // Converge.
    // Not converging is reported by the checks below, with everything else that went wrong.
    let mut ready = 0;
    let _ = wait::until(
        "every resource Ready",
        deadline.saturating_sub(started.elapsed()),
        Duration::from_millis(500),
        async || {
            if let Ok((now_ready, _)) = census(&world).await {
                ready = now_ready;
            }
            Ok((ready == resources).then_some(()))
        },
    )
    .await;
    let converged_after = started.elapsed();
    println!("chaos: {ready}/{resources} Ready after {converged_after:?}");
    if ready < resources
        && let Ok(list) = world.api.list(&ListParams::default()).await
    {
        for r in list
            .items
            .iter()
            .filter(|r| condition(r, READY).is_none_or(|c| c.0 != "True"))
            .take(10)
        {
            println!(
                "chaos: not Ready: {} status {}",
                r.name_any(),
                serde_json::to_string(&r.status).unwrap_or_default()
            );
        }
    }

    // One model per resource, ever.
    let mut creates: BTreeMap<String, usize> = BTreeMap::new();
    for entry in world.emulator.create_log() {
        *creates.entry(entry.model_name).or_default() += 1;
    }
    let duplicated: Vec<String> = creates
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(name, n)| format!("{name}×{n}"))
        .collect();
    let without_model: Vec<&String> = names.iter().filter(|n| !creates.contains_key(*n)).collect();
    let counters = world.emulator.state().counters();

    // Delete everything and wait until it is gone.
    let delete_started = Instant::now();
    let delete_params = DeleteParams::default();
    let deletes = join_all(
        names
            .iter()
            .map(|name| world.api.delete(name, &delete_params)),
    )
    .await;
    let failed_deletes = deletes.iter().filter(|r| r.is_err()).count();
    let mut remaining = usize::MAX;
    let _ = wait::until(
        "every resource deleted",
        deadline,
        Duration::from_millis(500),
        async || {
            if let Ok((_, total)) = census(&world).await {
                remaining = total;
            }
            Ok((remaining == 0).then_some(()))
        },
    )
    .await;
    let deleted_after = delete_started.elapsed();
    let with_finalizer: Vec<String> = world
        .api
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|r| r.finalizers().iter().any(|f| f == FINALIZER))
        .map(|r| r.name_any())
        .collect();
    let left_behind: Vec<String> = world
        .emulator
        .models()
        .into_iter()
        .filter(|m| !m.foreign)
        .map(|m| m.model_name)
        .collect();
    let logs = world.operator_logs();
    let panics = logs.matches("panicked at").count();
    let exited = match world.operator.as_mut() {
        Some(operator) => operator.child.try_wait()?.map(|s| s.to_string()),
        None => Some("not running".into()),
    };

    let mut violations = Vec::new();
    let mut check = |what: &str, ok: bool, detail: String| {
        println!(
            "| {what:<44} | {:<4} | {detail}",
            if ok { "ok" } else { "FAIL" }
        );
        if !ok {
            violations.push(format!("{what}: {detail}"));
        }
    };
    println!("\nchaos: disruptions\n{}", log.join("\n"));
    println!(
        "\nchaos results: {resources} resources, {kills} kills, 1 apiserver restart, seed {seed}"
    );
    println!("| check                                        | ok   | detail");
    println!("|----------------------------------------------|------|-------");
    check(
        "every resource reached Ready",
        ready == resources,
        format!("{ready}/{resources} in {converged_after:.1?}"),
    );
    check(
        "exactly one model created per resource",
        duplicated.is_empty() && without_model.is_empty() && creates.len() == resources,
        format!(
            "{} creates for {} names; duplicated {duplicated:?}; never created {}",
            creates.values().sum::<usize>(),
            creates.len(),
            without_model.len()
        ),
    );
    check(
        "all resources deleted",
        remaining == 0 && failed_deletes == 0,
        format!("{remaining} left after {deleted_after:.1?}; {failed_deletes} delete calls failed"),
    );
    check(
        "no model left behind",
        left_behind.is_empty(),
        format!(
            "{} left: {:?}",
            left_behind.len(),
            &left_behind[..left_behind.len().min(5)]
        ),
    );
    check(
        "no resource left with a finalizer",
        with_finalizer.is_empty(),
        format!("{with_finalizer:?}"),
    );
    check(
        "no panic in any operator log",
        panics == 0,
        format!("{panics} \"panicked at\""),
    );
    check(
        "the last operator process is still running",
        exited.is_none(),
        format!("{exited:?}"),
    );
    check(
        "no operator process exited on its own",
        exits.is_empty(),
        exits.join("\n"),
    );
    println!(
        "\nchaos: Bedrock calls by outcome: {}",
        serde_json::to_string(&counters)?
    );
    if !violations.is_empty() {
        bail!(
            "chaos violations (seed {seed}):\n{}\noperator log tail:\n{}",
            violations.join("\n"),
            tail(
                &world
                    .operator
                    .as_ref()
                    .map(|o| o.log_text())
                    .unwrap_or_default(),
                60
            )
        );
    }
    Ok(())
}

/// An operator started while kube-apiserver is down (a node reboot, a control-plane upgrade)
/// waits for it, saying so, instead of exiting; once the API server is back it leads and
/// serves. Both reads before the controllers start (the cluster ID, the leader lease) wait.
#[tokio::test]
async fn an_operator_started_while_the_api_server_is_down_waits_for_it() -> Result<()> {
    let plane = PLANE.get_or_try_init(ControlPlane::start).await?;
    let mut world =
        World::with_plane(plane, "apiserver-down", EmulatorConfig::default(), &[], &[]).await?;
    world.kill_operator().await?;
    let namespace = world.namespace.clone();
    let lease_args = [
        "--leader-election",
        "--leader-election-namespace",
        namespace.as_str(),
    ];
    plane.stop_apiserver()?;
    let (mut operator, admin_url) = world.spawn_operator(&lease_args, &[])?;
    let waiting = async {
        wait::until(
            "the operator to say it waits for the API server",
            crate::harness::DEADLINE,
            crate::harness::POLL,
            async || {
                if let Some(status) = operator.child.try_wait()? {
                    bail!(
                        "the operator exited ({status}) while the API server was down:\n{}",
                        tail(&operator.log_text(), 20)
                    );
                }
                Ok(operator
                    .log_text()
                    .contains("the API server cannot answer yet; reading the cluster ID again")
                    .then_some(()))
            },
        )
        .await?;
        // Alive, so that a liveness probe lets it wait; not ready.
        wait_http(&admin_url, "/livez", 200).await?;
        wait_http(&admin_url, "/readyz", 503).await?;
        anyhow::Ok(())
    }
    .await;
    plane.start_apiserver().await?;
    waiting?;

    world
        .apply("after-the-wait", s3_spec("apiserver-down/after-the-wait"))
        .await?;
    world.wait_ready("after-the-wait").await?;
    assert!(
        operator.child.try_wait()?.is_none(),
        "the operator that waited is the one that serves"
    );
    world.delete("after-the-wait").await?;
    world.wait_gone("after-the-wait").await?;
    operator.kill().await?;
    Ok(())
}
