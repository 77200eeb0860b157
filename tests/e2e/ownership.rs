//! One owner per model (issue 10): adoption takes a model only when no live resource holds it,
//! deletion deletes only a model the resource owns, and a cluster operator can keep adoption
//! out of namespaces. Each test asserts both what the resources show and what Bedrock (the
//! emulator's model table and call counters) went through.

use std::time::Duration;

use anyhow::{Context as _, Result};
use bedrock_emulator::{EmulatorConfig, ForeignModel, ModelStatus, Operation, Tag};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::{READY, SYNCED};
use serde_json::{Value, json};

use crate::harness::{DEADLINE, World, condition, metric, s3_spec};

const SHARED: &str = "shared-model";
const OWNER_UID: &str = "bedrock-operator.dev/owner-uid";
const OWNER: &str = "bedrock-operator.dev/owner";

fn emulator() -> EmulatorConfig {
    EmulatorConfig {
        ready_delay: Duration::from_millis(1500),
        ..EmulatorConfig::default()
    }
}

/// A spec for the model `SHARED` with `adoptionPolicy: Adopt`.
fn adopt_shared(path: &str) -> Value {
    let mut spec = s3_spec(path);
    spec["modelName"] = json!(SHARED);
    spec["adoptionPolicy"] = json!("Adopt");
    spec
}

/// A world whose operator watches its own namespace (team-a) and a second one (team-b).
async fn two_teams(test: &str) -> Result<(World, String)> {
    let plane = testkit::shared().await?;
    let team_b = plane.create_namespace(&format!("{test}-b")).await?;
    let world = World::with(
        &format!("{test}-a"),
        emulator(),
        &["--namespace", &team_b],
        &[],
    )
    .await?;
    Ok((world, team_b))
}

fn uid(resource: &BedrockCustomModel) -> String {
    resource.metadata.uid.clone().unwrap_or_default()
}

fn owner_uid(world: &World) -> Option<String> {
    world
        .model_tags(SHARED)
        .and_then(|tags| tags.get(OWNER_UID).cloned())
}

/// Every call the emulator answered, any operation.
fn all_calls(world: &World) -> u64 {
    world
        .emulator
        .state()
        .counters()
        .0
        .values()
        .flat_map(|outcomes| outcomes.values())
        .sum()
}

fn is_name_conflict(resource: &BedrockCustomModel) -> bool {
    condition(resource, READY).is_some_and(|c| c.1 == "NameConflict")
}

/// The issue's two-team scenario: team-a adopts `shared-model`; team-b's resource for the same
/// model is NameConflict naming team-a's, is not shown Creating, and deleting it deletes
/// nothing; deleting the owner deletes the model.
#[tokio::test]
async fn two_teams_one_owner_and_only_the_owner_deletes() -> Result<()> {
    let (world, team_b) = two_teams("owners").await?;
    let b = world.in_namespace(&team_b);
    let foreign = world
        .emulator
        .state()
        .insert_model(ForeignModel::new(SHARED))?;

    world.apply("m", adopt_shared("team-a")).await?;
    let owner = world.wait_ready("m").await?;
    assert_eq!(owner_uid(&world), Some(uid(&owner)));
    assert_eq!(
        world
            .model_tags(SHARED)
            .and_then(|t| t.get(OWNER).cloned())
            .as_deref(),
        Some(format!("{}/m", world.namespace).as_str())
    );

    b.apply("m", adopt_shared("team-b")).await?;
    let refused = b.wait_reason("m", READY, "NameConflict").await?;
    let (_, _, message) = condition(&refused, READY).context("Ready")?;
    assert!(
        message.contains(&format!("{}/m", world.namespace)),
        "names the owner: {message}"
    );
    assert_eq!(
        condition(&refused, SYNCED).map(|c| c.1).as_deref(),
        Some("NameConflict")
    );
    let status = refused.status.clone().context("status")?;
    assert_eq!(
        status.model_arn, None,
        "not tracked as the model's resource"
    );
    assert_ne!(
        status.model_status,
        Some(bedrock_operator::api::ModelStatus::Creating)
    );
    b.wait_event("m", "Warning", "NameConflict").await?;

    // Over several resyncs (3 s in tests) nothing changes hands.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(owner_uid(&world), Some(uid(&owner)));
    assert!(is_name_conflict(&b.get("m").await?));
    assert_eq!(
        world.calls(Operation::TagResource),
        1,
        "one claim, by the owner"
    );
    assert_eq!(world.calls(Operation::CreateCustomModel), 0);

    // Deleting the resource that does not own the model: no delete call, a Warning naming
    // the owner, the owner still Ready.
    b.delete("m").await?;
    b.wait_gone("m").await?;
    b.wait_event("m", "Warning", "LeftToOwner").await?;
    let events = b.events("m").await?;
    let left = events
        .iter()
        .find(|e| e.0 == "Warning" && e.1 == "LeftToOwner")
        .with_context(|| format!("a LeftToOwner Warning: {events:?}"))?;
    assert!(
        left.2.contains(&format!("{}/m", world.namespace)),
        "{left:?}"
    );
    assert_eq!(world.calls(Operation::DeleteCustomModel), 0);
    let model = world.emulator.state().model(SHARED).context("the model")?;
    assert_eq!(model.model_arn, foreign.model_arn);
    world.wait_ready("m").await?;
    assert_eq!(owner_uid(&world), Some(uid(&owner)));

    // Deleting the owner deletes the model.
    world.delete("m").await?;
    world.wait_gone("m").await?;
    assert!(world.emulator.state().model(SHARED).is_none());
    assert_eq!(world.ok_calls(Operation::DeleteCustomModel), 1);
    Ok(())
}

/// Both teams apply at the same moment and the operator is killed in between their reconciles
/// (as soon as the first claim reached Bedrock): after the restart exactly one owns the model,
/// the other is NameConflict naming it.
#[tokio::test]
async fn applied_at_once_with_an_operator_kill_between_ends_with_one_owner() -> Result<()> {
    let (mut world, team_b) = two_teams("race").await?;
    world
        .emulator
        .state()
        .insert_model(ForeignModel::new(SHARED))?;
    {
        let b = world.in_namespace(&team_b);
        let (a, b) = tokio::join!(
            world.apply("m", adopt_shared("team-a")),
            b.apply("m", adopt_shared("team-b"))
        );
        a?;
        b?;
    }
    world
        .wait_emulator("a first claim", |e| {
            e.state().counters().total(Operation::TagResource) >= 1
        })
        .await?;
    world.kill_operator().await?;
    world.start_operator().await?;

    let b = world.in_namespace(&team_b);
    let settled = |r: &BedrockCustomModel| {
        condition(r, READY).is_some_and(|c| c.0 == "True" || c.1 == "NameConflict")
    };
    let a_seen = world
        .wait_for("m", "Ready or NameConflict", settled)
        .await?;
    let b_seen = b.wait_for("m", "Ready or NameConflict", settled).await?;
    let (owner, owner_ns, other, other_ns) = if is_name_conflict(&a_seen) {
        (b_seen, team_b.clone(), a_seen, world.namespace.clone())
    } else {
        (a_seen, world.namespace.clone(), b_seen, team_b.clone())
    };
    assert!(
        is_name_conflict(&other),
        "exactly one owner: {owner_ns}/m and {other_ns}/m both Ready"
    );
    assert_eq!(
        condition(&owner, READY).map(|c| c.0).as_deref(),
        Some("True")
    );
    let (_, _, message) = condition(&other, READY).context("Ready")?;
    assert!(
        message.contains(&format!("{owner_ns}/m")),
        "names the owner: {message}"
    );
    assert_eq!(owner_uid(&world), Some(uid(&owner)));
    assert_eq!(
        world.calls(Operation::TagResource),
        1,
        "one claim, never a second one over it"
    );

    // Still so after resyncs and a tag check (3 s each in tests).
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(owner_uid(&world), Some(uid(&owner)));
    assert_eq!(world.calls(Operation::TagResource), 1);
    assert_eq!(world.calls(Operation::DeleteCustomModel), 0);
    assert_eq!(world.emulator.state().models().len(), 1);
    Ok(())
}

/// An owner deleted with `deletionPolicy: Retain` hands the model over: the resource waiting in
/// NameConflict adopts it, and it is then the one that deletes it.
#[tokio::test]
async fn owner_deleted_with_retain_then_adopted_by_a_new_resource() -> Result<()> {
    let world = World::start("handover").await?;
    let mut first = s3_spec("first");
    first["modelName"] = json!(SHARED);
    world.apply("first", first.clone()).await?;
    let first_seen = world.wait_ready("first").await?;
    let arn = first_seen
        .status
        .as_ref()
        .and_then(|s| s.model_arn.clone())
        .context("modelArn")?;

    world.apply("second", adopt_shared("second")).await?;
    let waiting = world.wait_reason("second", READY, "NameConflict").await?;
    let (_, _, message) = condition(&waiting, READY).context("Ready")?;
    assert!(
        message.contains(&format!("{}/first", world.namespace)),
        "{message}"
    );
    assert_eq!(world.calls(Operation::TagResource), 0);

    first["deletionPolicy"] = json!("Retain");
    world.apply("first", first).await?;
    world.delete("first").await?;
    world.wait_gone("first").await?;
    assert_eq!(world.calls(Operation::DeleteCustomModel), 0);

    let second = world.wait_ready("second").await?;
    let status = second.status.clone().context("status")?;
    assert_eq!(status.model_arn.as_deref(), Some(arn.as_str()));
    assert!(status.created_with.is_some_and(|c| c.adopted));
    assert_eq!(owner_uid(&world), Some(uid(&second)));
    world.wait_event("second", "Normal", "Adopted").await?;
    assert_eq!(world.calls(Operation::TagResource), 1);
    assert_eq!(world.emulator.state().create_log().len(), 1);

    world.delete("second").await?;
    world.wait_gone("second").await?;
    assert!(world.emulator.state().model(SHARED).is_none());
    assert_eq!(world.ok_calls(Operation::DeleteCustomModel), 1);
    Ok(())
}

/// A model with no owner tag (made outside the operator): a resource with `Never` that names it
/// is NameConflict and its deletion leaves the model to whoever created it; one with `Adopt`
/// takes it, keeping the tags other tools set.
#[tokio::test]
async fn model_without_an_owner_tag_is_left_alone_or_adopted() -> Result<()> {
    let world = World::start("untagged").await?;
    world.emulator.state().insert_model(ForeignModel {
        tags: vec![Tag::new("cost-center", "42")],
        ..ForeignModel::new(SHARED)
    })?;

    let mut never = s3_spec("never");
    never["modelName"] = json!(SHARED);
    world.apply("never", never).await?;
    world.wait_reason("never", READY, "NameConflict").await?;
    world.delete("never").await?;
    world.wait_gone("never").await?;
    world.wait_event("never", "Warning", "LeftToOwner").await?;
    let events = world.events("never").await?;
    let left = events
        .iter()
        .find(|e| e.0 == "Warning" && e.1 == "LeftToOwner")
        .with_context(|| format!("a LeftToOwner Warning: {events:?}"))?;
    assert!(left.2.contains("whoever created it"), "{left:?}");
    assert_eq!(world.calls(Operation::DeleteCustomModel), 0);
    assert_eq!(world.calls(Operation::TagResource), 0);

    let mut adopt = adopt_shared("adopt");
    adopt["tags"] = json!({ "team": "ml" });
    world.apply("adopter", adopt).await?;
    let adopted = world.wait_ready("adopter").await?;
    let tags = world.model_tags(SHARED).context("the model")?;
    assert_eq!(tags.get(OWNER_UID), adopted.metadata.uid.as_ref());
    assert_eq!(tags.get("team").map(String::as_str), Some("ml"));
    assert_eq!(tags.get("cost-center").map(String::as_str), Some("42"));
    assert_eq!(
        world.calls(Operation::TagResource),
        1,
        "the owner tags and spec.tags in one claim"
    );
    assert_eq!(world.calls(Operation::CreateCustomModel), 0);
    Ok(())
}

/// `--allow-adoption` (here through its environment variable) leaves this namespace out:
/// Adopt is InvalidSpec naming spec.adoptionPolicy, and Bedrock hears nothing, neither while
/// the resource exists nor when it is deleted.
#[tokio::test]
async fn adoption_refused_in_a_namespace_the_flag_leaves_out() -> Result<()> {
    let world = World::with(
        "noadopt",
        emulator(),
        &[],
        &[("ALLOW_ADOPTION", "ml-platform")],
    )
    .await?;
    world
        .emulator
        .state()
        .insert_model(ForeignModel::new(SHARED))?;
    world.apply("m", adopt_shared("refused")).await?;
    let refused = world.wait_reason("m", READY, "InvalidSpec").await?;
    for type_ in [READY, SYNCED] {
        let (status, reason, message) = condition(&refused, type_).context("condition")?;
        assert_eq!((status.as_str(), reason.as_str()), ("False", "InvalidSpec"));
        assert!(message.contains("spec.adoptionPolicy"), "{message}");
        assert!(message.contains(&world.namespace), "{message}");
    }
    world.wait_event("m", "Warning", "InvalidSpec").await?;
    assert_eq!(all_calls(&world), 0, "no Bedrock call");

    world.delete("m").await?;
    world.wait_gone("m").await?;
    assert_eq!(all_calls(&world), 0, "no Bedrock call on deletion either");
    assert!(world.model_tags(SHARED).is_some_and(|t| t.is_empty()));
    Ok(())
}

/// A model still Creating when two resources name it: once Bedrock reports it Active the owner
/// is Ready and the other NameConflict (neither left Creating), and the models gauge counts
/// one Active model.
#[tokio::test]
async fn a_creating_model_named_twice_leaves_no_resource_creating() -> Result<()> {
    let (world, team_b) = two_teams("creating").await?;
    let state = world.emulator.state();
    state.insert_model(ForeignModel {
        status: Some(ModelStatus::Creating),
        ..ForeignModel::new(SHARED)
    })?;
    state.set_ready_delay(SHARED, Duration::from_secs(4))?;
    let b = world.in_namespace(&team_b);
    let (a_applied, b_applied) = tokio::join!(
        world.apply("m", adopt_shared("team-a")),
        b.apply("m", adopt_shared("team-b"))
    );
    a_applied?;
    b_applied?;

    let settled = |r: &BedrockCustomModel| {
        condition(r, READY).is_some_and(|c| c.0 == "True" || c.1 == "NameConflict")
    };
    let a_seen = world
        .wait_for("m", "Ready or NameConflict", settled)
        .await?;
    let b_seen = b.wait_for("m", "Ready or NameConflict", settled).await?;
    assert_eq!(
        [&a_seen, &b_seen]
            .iter()
            .filter(|r| is_name_conflict(r))
            .count(),
        1,
        "one owner, one NameConflict"
    );
    let owner = if is_name_conflict(&a_seen) {
        b_seen
    } else {
        a_seen
    };
    assert_eq!(owner_uid(&world), Some(uid(&owner)));
    assert_eq!(
        world
            .emulator
            .state()
            .model(SHARED)
            .map(|m| m.status.as_str()),
        Some("Active")
    );

    world
        .wait_metrics(
            "one Active, one None, none Creating in the models gauge",
            |text| {
                let gauge = |status: &str| {
                    metric(
                        text,
                        &format!(r#"bedrock_operator_models{{model_status="{status}"}}"#),
                    )
                };
                gauge("Active") == Some(1.0)
                    && gauge("Creating") == Some(0.0)
                    && gauge("None") == Some(1.0)
            },
        )
        .await?;
    Ok(())
}

/// Two operator processes reconcile at once (what a leader failover can overlap for a moment;
/// here without leader election, so for the whole test): both teams' resources, applied at the
/// same moment, still end with one owner, the other NameConflict, and no model deleted.
#[tokio::test]
async fn two_processes_claiming_at_once_end_with_one_owner() -> Result<()> {
    let (world, team_b) = two_teams("overlap").await?;
    let (_second, _) = world.spawn_operator(&[], &[])?;
    world
        .emulator
        .state()
        .insert_model(ForeignModel::new(SHARED))?;
    let b = world.in_namespace(&team_b);
    let (a_applied, b_applied) = tokio::join!(
        world.apply("m", adopt_shared("team-a")),
        b.apply("m", adopt_shared("team-b"))
    );
    a_applied?;
    b_applied?;

    // Converged: one Ready, one NameConflict naming it, the tag naming the Ready one, and so
    // over a resync and a tag check (3 s each in tests).
    let mut last = String::new();
    let one_owner = testkit::wait::until_stable(
        "one owner for 7 s",
        Duration::from_secs(7),
        DEADLINE,
        Duration::from_millis(200),
        async || {
            let a_now = world.get("m").await?;
            let b_now = b.get("m").await?;
            let owners: Vec<&BedrockCustomModel> = [&a_now, &b_now]
                .into_iter()
                .filter(|r| condition(r, READY).is_some_and(|c| c.0 == "True"))
                .collect();
            last = format!(
                "team-a {:?}, team-b {:?}, owner tag {:?}",
                condition(&a_now, READY),
                condition(&b_now, READY),
                world.model_tags(SHARED)
            );
            Ok(owners.len() == 1
                && [&a_now, &b_now].iter().any(|r| is_name_conflict(r))
                && owner_uid(&world) == Some(uid(owners[0])))
        },
    )
    .await;
    one_owner.with_context(|| last.clone())?;
    assert_eq!(world.calls(Operation::DeleteCustomModel), 0);
    assert_eq!(world.emulator.state().models().len(), 1);
    Ok(())
}
