//! Two clusters sharing one AWS account (issue 16): two control planes, each with its own
//! operator, and one Bedrock emulator. An object one cluster's resource holds is never adopted,
//! changed or deleted by the other's; a take-over annotation moves it on purpose; objects tagged
//! before cluster identity keep working. Each test asserts the emulator's call counters.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use bedrock_emulator::{EmulatorConfig, Operation};
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::tags::{CLUSTER, OWNER_UID};
use bedrock_operator::api::{BedrockCustomModel, TAKE_OVER_ANNOTATION};
use bedrock_operator::crd;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use serde_json::{Value, json};
use testkit::ControlPlane;

use crate::harness::{Operator, World, condition, s3_spec};
use crate::lifecycle::sdk_client;

const SHARED: &str = "cross-cluster-model";

/// The calls that change something in Bedrock.
const MUTATING: [Operation; 4] = [
    Operation::CreateCustomModel,
    Operation::DeleteCustomModel,
    Operation::TagResource,
    Operation::UntagResource,
];

fn mutating_calls(world: &World) -> BTreeMap<&'static str, u64> {
    MUTATING
        .iter()
        .map(|op| (op.as_str(), world.calls(*op)))
        .collect()
}

/// The UID of a control plane's kube-system namespace: the operator's default cluster ID.
async fn cluster_id(plane: &ControlPlane) -> Result<String> {
    let kube_system = Api::<Namespace>::all(plane.client())
        .get("kube-system")
        .await?;
    kube_system.metadata.uid.context("kube-system has a UID")
}

/// Cluster B: a control plane of its own with the CRDs, a namespace, and an operator serving
/// it against world A's emulator.
struct ClusterB {
    plane: ControlPlane,
    namespace: String,
    operator: Option<Operator>,
}

impl ClusterB {
    async fn start(world: &World, test: &str) -> Result<Self> {
        let plane = ControlPlane::start().await?;
        plane.install_crds(&crd::crds()).await?;
        let namespace = plane.create_namespace(test).await?;
        let (operator, _) = world.spawn_operator_on(&plane, &namespace, &[])?;
        Ok(Self {
            plane,
            namespace,
            operator: Some(operator),
        })
    }
}

impl Drop for ClusterB {
    fn drop(&mut self) {
        // The operator goes before its control plane.
        drop(self.operator.take());
    }
}

fn emulator() -> EmulatorConfig {
    EmulatorConfig {
        ready_delay: Duration::from_millis(1500),
        ..EmulatorConfig::default()
    }
}

/// The model `SHARED`, adopted when it exists.
fn shared_spec(path: &str) -> Value {
    let mut spec = s3_spec(path);
    spec["modelName"] = json!(SHARED);
    spec["adoptionPolicy"] = json!("Adopt");
    spec
}

fn tag(world: &World, key: &str) -> Option<String> {
    world
        .model_tags(SHARED)
        .and_then(|tags| tags.get(key).cloned())
}

fn uid(resource: &BedrockCustomModel) -> String {
    resource.metadata.uid.clone().unwrap_or_default()
}

/// Cluster A holds a model; cluster B's resource for the same model with `adoptionPolicy:
/// Adopt` is NameConflict naming cluster A, with no mutating call, and deleting it deletes
/// nothing. (Before cluster identity, B found no such owner locally and took the model.)
#[tokio::test]
async fn a_model_another_cluster_holds_is_never_adopted_and_deleting_there_deletes_nothing()
-> Result<()> {
    let world = World::with("clusters-a", emulator(), &[], &[]).await?;
    let cluster_a = cluster_id(world.plane).await?;
    world.apply("m", shared_spec("a")).await?;
    let held = world.wait_ready("m").await?;
    assert_eq!(tag(&world, CLUSTER), Some(cluster_a.clone()));
    assert_eq!(tag(&world, OWNER_UID), Some(uid(&held)));

    let b = ClusterB::start(&world, "clusters-b").await?;
    let cluster_b = cluster_id(&b.plane).await?;
    assert_ne!(cluster_a, cluster_b, "two clusters, two IDs");
    let in_b = world.on_plane::<BedrockCustomModel>(&b.plane, &b.namespace);
    let before = mutating_calls(&world);

    in_b.apply("m", shared_spec("b")).await?;
    let refused = in_b.wait_reason("m", READY, "NameConflict").await?;
    let (_, _, message) = condition(&refused, READY).context("Ready")?;
    assert!(
        message.contains(&format!("of cluster {cluster_a}")),
        "names cluster A: {message}"
    );
    assert!(
        message.contains(&format!("{TAKE_OVER_ANNOTATION}: {cluster_a}")),
        "says how to take it over: {message}"
    );
    assert_eq!(
        condition(&refused, SYNCED).map(|c| c.1).as_deref(),
        Some("NameConflict")
    );
    in_b.wait_event("m", "Warning", "NameConflict").await?;
    assert_eq!(refused.status.and_then(|s| s.model_arn), None);

    in_b.delete("m").await?;
    in_b.wait_gone("m").await?;
    assert_eq!(
        mutating_calls(&world),
        before,
        "cluster B adopted, tagged and deleted nothing"
    );
    assert_eq!(tag(&world, CLUSTER), Some(cluster_a));
    assert_eq!(tag(&world, OWNER_UID), Some(uid(&held)));
    world.wait_ready("m").await?;
    Ok(())
}

/// A blue/green move: cluster B's resource with the take-over annotation naming cluster A
/// takes the model (one claim); cluster A's resource then shows NameConflict naming cluster B,
/// and deleting it deletes nothing; deleting B's resource deletes the model.
#[tokio::test]
async fn the_take_over_annotation_moves_a_model_to_another_cluster() -> Result<()> {
    let world = World::with("takeover-a", emulator(), &[], &[]).await?;
    let cluster_a = cluster_id(world.plane).await?;
    world.apply("m", shared_spec("a")).await?;
    world.wait_ready("m").await?;

    let b = ClusterB::start(&world, "takeover-b").await?;
    let cluster_b = cluster_id(&b.plane).await?;
    let in_b = world.on_plane::<BedrockCustomModel>(&b.plane, &b.namespace);
    let tags_before = world.calls(Operation::TagResource);
    in_b.apply_object(json!({
        "metadata": { "name": "m", "annotations": { TAKE_OVER_ANNOTATION: cluster_a } },
        "spec": shared_spec("b"),
    }))
    .await?;
    let taken = in_b.wait_ready("m").await?;
    assert_eq!(tag(&world, CLUSTER), Some(cluster_b.clone()));
    assert_eq!(tag(&world, OWNER_UID), Some(uid(&taken)));
    assert_eq!(
        world.calls(Operation::TagResource),
        tags_before + 1,
        "one claim"
    );
    in_b.wait_event("m", "Normal", "Adopted").await?;
    let events = in_b.events("m").await?;
    assert!(
        events
            .iter()
            .any(|e| e.1 == "Adopted" && e.2.contains(&format!("of cluster {cluster_a}"))),
        "{events:?}"
    );

    // Cluster A finds out at its next tag check (3 s in tests) and lets go.
    let lost = world.wait_reason("m", READY, "NameConflict").await?;
    let (_, _, message) = condition(&lost, READY).context("Ready")?;
    assert!(
        message.contains(&format!("of cluster {cluster_b}")),
        "{message}"
    );
    let deletes = world.calls(Operation::DeleteCustomModel);
    world.delete("m").await?;
    world.wait_gone("m").await?;
    assert_eq!(world.calls(Operation::DeleteCustomModel), deletes);
    assert!(world.emulator.state().model(SHARED).is_some());
    assert_eq!(tag(&world, CLUSTER), Some(cluster_b));

    in_b.delete("m").await?;
    in_b.wait_gone("m").await?;
    assert_eq!(world.calls(Operation::DeleteCustomModel), deletes + 1);
    assert!(world.emulator.state().model(SHARED).is_none());
    Ok(())
}

/// A model tagged by a version before cluster identity (no cluster tag): another cluster
/// does not take it (its owner is not there, but may be alive elsewhere); its own resource
/// keeps it, tags it with the cluster after the upgrade, and deletes it.
#[tokio::test]
async fn objects_tagged_before_cluster_identity_keep_working_after_the_upgrade() -> Result<()> {
    let mut world = World::with("legacy-a", emulator(), &[], &[]).await?;
    let cluster_a = cluster_id(world.plane).await?;
    world.apply("m", shared_spec("a")).await?;
    let held = world.wait_ready("m").await?;
    let arn = held
        .status
        .as_ref()
        .and_then(|s| s.model_arn.clone())
        .context("modelArn")?;

    // The state an earlier version left: no cluster tag, its operator not running.
    world.kill_operator().await?;
    let sdk = sdk_client(&world).await;
    sdk.untag_resource()
        .resource_arn(&arn)
        .tag_keys(CLUSTER)
        .send()
        .await?;
    assert_eq!(tag(&world, CLUSTER), None);

    let b = ClusterB::start(&world, "legacy-b").await?;
    let in_b = world.on_plane::<BedrockCustomModel>(&b.plane, &b.namespace);
    let before = mutating_calls(&world);
    in_b.apply("m", shared_spec("b")).await?;
    let refused = in_b.wait_reason("m", READY, "NameConflict").await?;
    let (_, _, message) = condition(&refused, READY).context("Ready")?;
    assert!(message.contains("before cluster identity"), "{message}");
    assert!(
        message.contains(&format!("{TAKE_OVER_ANNOTATION}: {}", uid(&held))),
        "{message}"
    );
    in_b.delete("m").await?;
    in_b.wait_gone("m").await?;
    assert_eq!(mutating_calls(&world), before, "cluster B changed nothing");

    // The upgraded operator of cluster A keeps the model and adds its cluster tag.
    world.start_operator().await?;
    world
        .wait_emulator("the cluster tag back on the model", |emulator| {
            emulator.state().model(SHARED).is_some_and(|m| {
                m.tags
                    .iter()
                    .any(|t| t.key == CLUSTER && t.value == cluster_a)
            })
        })
        .await?;
    world.wait_ready("m").await?;

    // And deletes it as its own even when the tag is missing again at that moment.
    world.kill_operator().await?;
    sdk.untag_resource()
        .resource_arn(&arn)
        .tag_keys(CLUSTER)
        .send()
        .await?;
    let deletes = world.calls(Operation::DeleteCustomModel);
    world.delete("m").await?;
    world.start_operator().await?;
    world.wait_gone("m").await?;
    assert_eq!(world.calls(Operation::DeleteCustomModel), deletes + 1);
    assert!(world.emulator.state().model(SHARED).is_none());
    Ok(())
}
