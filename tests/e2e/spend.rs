//! The spend guards end to end (docs/security.md, "Tenant guards"): the cluster admin's limits
//! of model units per throughput and per namespace, and the namespaces that may buy a
//! commitment term. Each refusal is InvalidSpec naming the field and the setting, with no
//! Bedrock call; the emulator's counters and its log of purchases say what was bought.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use bedrock_emulator::{EmulatorConfig, FaultConfig, Limits, Operation};
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::throughput::{
    BedrockProvisionedThroughput, CONFIRM_COMMITMENT_ANNOTATION,
};
use futures::future::try_join_all;
use kube::api::ListParams;
use serde_json::{Value, json};
use testkit::wait;

use crate::harness::{DEADLINE, POLL, Scope, World, condition_of, s3_spec, tail};

type Throughputs<'a> = Scope<'a, BedrockProvisionedThroughput>;

/// Room for every purchase in the account's quota: only the operator's guards limit them.
fn roomy() -> EmulatorConfig {
    EmulatorConfig {
        ready_delay: Duration::from_millis(1500),
        limits: Limits {
            max_provisioned_model_units: 100,
            ..Limits::default()
        },
        ..EmulatorConfig::default()
    }
}

fn units(model: &str, units: i32) -> Value {
    json!({ "modelRef": { "name": model }, "modelUnits": units })
}

fn message(t: &BedrockProvisionedThroughput, type_: &str) -> String {
    condition_of(t, type_).map(|c| c.2).unwrap_or_default()
}

fn reason(t: &BedrockProvisionedThroughput) -> String {
    condition_of(t, READY).map(|c| c.1).unwrap_or_default()
}

/// Every call about provisioned throughputs, reads included.
fn provisioned_calls(world: &World) -> u64 {
    [
        Operation::CreateProvisionedModelThroughput,
        Operation::GetProvisionedModelThroughput,
        Operation::UpdateProvisionedModelThroughput,
        Operation::DeleteProvisionedModelThroughput,
        Operation::ListTagsForResource,
    ]
    .into_iter()
    .map(|op| world.calls(op))
    .sum()
}

fn assert_names(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
}

/// A throughput above --max-model-units-per-throughput is refused, naming the field and the
/// setting, before any call (no Get, no Create); one at the limit is bought. A commitment term
/// is refused too: no namespace may buy one by default.
#[tokio::test]
async fn more_units_than_a_throughput_may_buy_are_refused_with_no_call() -> Result<()> {
    let world = World::with(
        "spend-cap",
        roomy(),
        &["--max-model-units-per-throughput=2"],
        &[],
    )
    .await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;

    throughputs.apply("big", units("nova", 3)).await?;
    let refused = throughputs.wait_reason("big", READY, "InvalidSpec").await?;
    let text = message(&refused, READY);
    assert_names(
        &text,
        &[
            "spec.modelUnits: is 3",
            "--max-model-units-per-throughput",
            "guards.maxModelUnitsPerThroughput",
            "set spec.modelUnits to 2 or fewer",
        ],
    );
    assert_eq!(message(&refused, SYNCED), text);
    throughputs
        .wait_event("big", "Warning", "InvalidSpec")
        .await?;
    assert_eq!(
        provisioned_calls(&world),
        0,
        "no call at all, not even a read"
    );

    let mut term = json!({
        "metadata": {
            "name": "term",
            "annotations": { CONFIRM_COMMITMENT_ANNOTATION: "OneMonth" },
        },
        "spec": units("nova", 1),
    });
    term["spec"]["commitmentDuration"] = json!("OneMonth");
    throughputs.apply_object(term).await?;
    let refused = throughputs
        .wait_reason("term", READY, "InvalidSpec")
        .await?;
    assert_names(
        &message(&refused, READY),
        &[
            "spec.commitmentDuration: is OneMonth",
            "--commitment-namespaces",
            "which is none",
        ],
    );
    assert_eq!(provisioned_calls(&world), 0, "still no call");

    throughputs.apply("fits", units("nova", 2)).await?;
    throughputs.wait_ready("fits").await?;
    let bought: Vec<(String, i32)> = world
        .emulator
        .state()
        .provisioned_create_log()
        .into_iter()
        .map(|e| (e.provisioned_model_name, e.model_units))
        .collect();
    assert_eq!(bought, [("fits".to_string(), 2)], "only the one that fits");
    Ok(())
}

/// A namespace override from --guards-file (what Helm renders from guards.namespaces) wins
/// over the flag, and the refusal names it.
#[tokio::test]
async fn a_namespace_override_of_the_guards_file_wins_over_the_flag() -> Result<()> {
    let mut world = World::with(
        "spend-file",
        roomy(),
        &["--max-model-units-per-throughput=4"],
        &[],
    )
    .await?;
    world.kill_operator().await?;
    let dir = std::env::temp_dir().join(format!("bedrock-operator-e2e-{}", world.namespace));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("guards.yaml");
    std::fs::write(
        &file,
        format!(
            "namespaces:\n  {}:\n    maxModelUnitsPerThroughput: 1\n",
            world.namespace
        ),
    )?;
    let path = file.to_string_lossy().to_string();
    let (_operator, _admin) = world.spawn_operator(&["--guards-file", &path], &[])?;

    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;
    throughputs.apply("two", units("nova", 2)).await?;
    let refused = throughputs.wait_reason("two", READY, "InvalidSpec").await?;
    assert_names(
        &message(&refused, READY),
        &[
            "spec.modelUnits: is 2",
            &format!(
                "namespaces.{}.maxModelUnitsPerThroughput of the operator's --guards-file",
                world.namespace
            ),
            &format!(
                "Helm guards.namespaces.{}.maxModelUnitsPerThroughput",
                world.namespace
            ),
        ],
    );
    assert_eq!(provisioned_calls(&world), 0);
    throughputs.apply("one", units("nova", 1)).await?;
    throughputs.wait_ready("one").await?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Each throughput of the namespace as it settled: bought (its units) or refused (InvalidSpec).
async fn settled(
    throughputs: &Throughputs<'_>,
    count: usize,
) -> Result<BTreeMap<String, Option<i32>>> {
    wait::until(
        "every throughput bought or refused",
        DEADLINE,
        POLL,
        async || {
            let list = throughputs.api.list(&ListParams::default()).await?;
            let mut seen = BTreeMap::new();
            for t in &list.items {
                let name = t.metadata.name.clone().unwrap_or_default();
                let bought = t
                    .status
                    .as_ref()
                    .is_some_and(|s| s.provisioned_model_arn.is_some());
                match (bought, reason(t).as_str()) {
                    (true, _) => {
                        seen.insert(name, Some(t.spec.model_units));
                    }
                    (false, "InvalidSpec") => {
                        seen.insert(name, None);
                    }
                    _ => return Ok(None),
                }
            }
            Ok((seen.len() == count).then_some(seen))
        },
    )
    .await
}

/// Five throughputs applied at once, 10 model units in all, against a namespace limit of 5:
/// exactly those that fit are bought (never more than 5 units in Bedrock, whatever the order),
/// each of the others is InvalidSpec naming the setting because it does not fit with those
/// bought; once a bought one is deleted, a refused one that now fits is bought.
#[tokio::test]
async fn concurrent_creates_never_overshoot_the_namespace_budget() -> Result<()> {
    const BUDGET: i32 = 5;
    // Slow purchases: without the namespace's lock, every create would check the budget before
    // any other's purchase shows.
    let emulator = EmulatorConfig {
        faults: FaultConfig {
            latency_ms: 400,
            operations: vec![Operation::CreateProvisionedModelThroughput],
            ..FaultConfig::default()
        },
        ..roomy()
    };
    let world = World::with(
        "spend-budget",
        emulator,
        &["--max-model-units-per-namespace=5"],
        &[],
    )
    .await?;
    let throughputs: Throughputs = world.kind();
    world.apply("nova", s3_spec("nova")).await?;
    world.wait_ready("nova").await?;

    let wanted = [("a", 2), ("b", 2), ("c", 2), ("d", 1), ("e", 3)];
    try_join_all(
        wanted
            .iter()
            .map(|(name, n)| throughputs.apply(name, units("nova", *n))),
    )
    .await?;
    let first = settled(&throughputs, wanted.len())
        .await
        .with_context(|| tail(&world.operator_logs(), 60))?;
    let bought: i32 = first.values().flatten().sum();
    ensure!(bought <= BUDGET, "bought {bought} units: {first:?}");
    for (name, units) in &wanted {
        if first[*name].is_none() {
            ensure!(
                bought + units > BUDGET,
                "{name} ({units} units) fits next to {bought} bought yet was refused: {first:?}"
            );
            let refused = throughputs.get(name).await?;
            assert_names(
                &message(&refused, READY),
                &[
                    &format!("spec.modelUnits: is {units}"),
                    "--max-model-units-per-namespace",
                    "guards.maxModelUnitsPerNamespace",
                    "allows 5 in all",
                ],
            );
        }
    }
    let log = world.emulator.state().provisioned_create_log();
    assert_eq!(
        log.iter().map(|e| e.model_units).sum::<i32>(),
        bought,
        "Bedrock bought exactly what the statuses show: {log:?}"
    );
    assert_eq!(
        world.ok_calls(Operation::CreateProvisionedModelThroughput),
        first.values().flatten().count() as u64
    );

    // Room again: the refused ones are looked at again (every --slow-retry) and bought as
    // they fit, still never beyond the budget.
    let (gone, _) = first
        .iter()
        .find_map(|(name, units)| units.map(|u| (name.clone(), u)))
        .context("one bought")?;
    throughputs.delete(&gone).await?;
    throughputs.wait_gone(&gone).await?;
    let before = log.len();
    world
        .wait_emulator("a refused throughput bought once there is room", |state| {
            state.state().provisioned_create_log().len() > before
        })
        .await?;
    let live: i32 = world
        .emulator
        .state()
        .provisioned_throughputs()
        .iter()
        .map(|t| t.model_units)
        .sum();
    ensure!(live <= BUDGET, "{live} units in Bedrock");
    Ok(())
}
