//! The export step's decisions, with plain values: when the ConfigMap is written or deleted,
//! what it holds and whose it is, and how a conflict or a failure shows on the resource.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};

use super::*;
use crate::api::BedrockCustomModelDeploymentStatus;
use crate::api::conditions::{Desired, READY, SYNCED, event, reason};
use crate::controller::fixtures::{GENERATION, REGION, V3, V4, api_error};

const DEPLOYMENT_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456";
const UID: &str = "uid-chat";

fn data(model: &str) -> BTreeMap<String, String> {
    crate::api::export::data(Some(DEPLOYMENT_ARN), Some(model), Some(REGION)).expect("all known")
}

fn written(name: &str, model: &str) -> ExportStatus {
    ExportStatus {
        config_map_name: name.into(),
        data: data(model),
    }
}

// ---------------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------------

#[test]
fn nothing_while_export_is_unset_and_nothing_was_written() {
    assert_eq!(decide(None, Some(data(V3)), None, true), Step::default());
}

#[test]
fn nothing_before_the_object_has_an_arn() {
    assert_eq!(
        decide(Some("chat-bedrock"), None, None, true),
        Step::default()
    );
}

#[test]
fn the_first_write_once_the_arn_is_known() {
    let step = decide(Some("chat-bedrock"), Some(data(V3)), None, false);
    assert_eq!(
        step,
        Step {
            remove: None,
            write: Some(written("chat-bedrock", V3)),
        }
    );
}

#[test]
fn no_call_when_the_configmap_already_says_it() {
    let done = written("chat-bedrock", V3);
    assert_eq!(
        decide(Some("chat-bedrock"), Some(data(V3)), Some(&done), false),
        Step::default(),
        "an idle reconcile makes no call"
    );
}

#[test]
fn a_new_generation_writes_again_to_restore_a_configmap_changed_by_hand() {
    let done = written("chat-bedrock", V3);
    assert_eq!(
        decide(Some("chat-bedrock"), Some(data(V3)), Some(&done), true).write,
        Some(done)
    );
}

#[test]
fn a_rollout_rewrites_it_with_the_new_model() {
    let done = written("chat-bedrock", V3);
    let step = decide(Some("chat-bedrock"), Some(data(V4)), Some(&done), false);
    assert_eq!(step.write, Some(written("chat-bedrock", V4)));
    assert_eq!(step.remove, None);
}

#[test]
fn a_new_name_writes_the_new_configmap_and_removes_the_old() {
    let done = written("chat-bedrock", V3);
    let step = decide(Some("chat-endpoint"), Some(data(V3)), Some(&done), true);
    assert_eq!(
        step,
        Step {
            remove: Some("chat-bedrock".into()),
            write: Some(written("chat-endpoint", V3)),
        }
    );
}

#[test]
fn removing_export_removes_the_configmap() {
    let done = written("chat-bedrock", V3);
    assert_eq!(
        decide(None, Some(data(V3)), Some(&done), true),
        Step {
            remove: Some("chat-bedrock".into()),
            write: None,
        }
    );
}

// ---------------------------------------------------------------------------------------------
// What the ConfigMap holds, and whose it is
// ---------------------------------------------------------------------------------------------

fn owner(uid: &str, controller: bool) -> OwnerReference {
    OwnerReference {
        api_version: "bedrock-operator.dev/v1alpha1".into(),
        kind: "BedrockCustomModelDeployment".into(),
        name: "chat".into(),
        uid: uid.into(),
        controller: Some(controller),
        block_owner_deletion: None,
    }
}

fn existing(owners: Vec<OwnerReference>) -> ConfigMap {
    let mut config_map = ConfigMap::default();
    config_map.metadata.name = Some("chat-bedrock".into());
    config_map.metadata.owner_references = Some(owners);
    config_map
}

#[test]
fn the_configmap_holds_the_data_the_label_and_the_resource_as_its_controller() {
    let applied = config_map(
        "chat-bedrock",
        &data(V3),
        owner(UID, true),
        Some("42".into()),
    );
    let value = serde_json::to_value(&applied).expect("serializes");
    assert_eq!(
        value["data"],
        serde_json::json!({
            "AWS_REGION": REGION,
            "BEDROCK_MODEL_ARN": V3,
            "BEDROCK_MODEL_ID": DEPLOYMENT_ARN,
        })
    );
    assert_eq!(
        value["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "bedrock-operator"
    );
    assert_eq!(value["metadata"]["ownerReferences"][0]["uid"], UID);
    assert_eq!(value["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(
        value["metadata"]["ownerReferences"][0]["blockOwnerDeletion"],
        true
    );
    assert_eq!(
        value["metadata"]["resourceVersion"], "42",
        "a write applies to the version read"
    );
}

#[test]
fn only_a_controller_reference_to_the_resource_makes_it_the_resources() {
    assert!(owned_by(&existing(vec![owner(UID, true)]), UID));
    assert!(!owned_by(&existing(vec![owner(UID, false)]), UID));
    assert!(!owned_by(&existing(vec![owner("uid-other", true)]), UID));
    assert!(!owned_by(&existing(Vec::new()), UID));
}

#[test]
fn the_holder_of_a_foreign_configmap_is_named() {
    assert_eq!(
        holder(&existing(vec![owner("uid-other", true)])),
        "it belongs to BedrockCustomModelDeployment chat"
    );
    assert_eq!(
        holder(&existing(Vec::new())),
        "it was not created for this resource"
    );
}

// ---------------------------------------------------------------------------------------------
// show
// ---------------------------------------------------------------------------------------------

type TestPlan = Plan<BedrockCustomModelDeploymentStatus, ()>;

fn serving_plan(exported: Option<ExportStatus>) -> TestPlan {
    Plan {
        actions: Vec::new(),
        status: BedrockCustomModelDeploymentStatus {
            export: exported,
            ..Default::default()
        },
        conditions: vec![
            Desired::new(READY, true, reason::ACTIVE, "active"),
            Desired::new(SYNCED, true, reason::RECONCILED, "reconciled"),
        ],
        events: Vec::new(),
        next: Next::Resync,
    }
}

fn timing() -> Timing {
    Timing::default()
}

fn synced(plan: &TestPlan) -> &Desired {
    plan.conditions
        .iter()
        .find(|c| c.type_ == SYNCED)
        .expect("Synced")
}

#[test]
fn a_write_is_recorded_and_announced() {
    let mut plan = serving_plan(Some(written("chat-bedrock", V3)));
    let step = Step {
        remove: None,
        write: Some(written("chat-bedrock", V4)),
    };
    let outcome = Outcome::Done {
        written: step.write.clone(),
    };
    show(&mut plan, &[], &step, outcome, &timing());
    assert_eq!(plan.status.export, Some(written("chat-bedrock", V4)));
    assert_eq!(plan.events.len(), 1);
    assert_eq!(plan.events[0].reason, event::EXPORTED);
    assert!(plan.events[0].message.contains(V4), "{:?}", plan.events);
    assert_eq!(synced(&plan).reason, reason::RECONCILED);
    assert_eq!(plan.next, Next::Resync);
}

#[test]
fn rewriting_the_same_data_is_not_announced() {
    let done = written("chat-bedrock", V3);
    let mut plan = serving_plan(Some(done.clone()));
    let step = Step {
        remove: None,
        write: Some(done.clone()),
    };
    show(
        &mut plan,
        &[],
        &step,
        Outcome::Done {
            written: Some(done),
        },
        &timing(),
    );
    assert!(plan.events.is_empty());
}

#[test]
fn a_removal_forgets_the_configmap() {
    let mut plan = serving_plan(Some(written("chat-bedrock", V3)));
    let step = Step {
        remove: Some("chat-bedrock".into()),
        write: None,
    };
    show(
        &mut plan,
        &[],
        &step,
        Outcome::Done { written: None },
        &timing(),
    );
    assert_eq!(plan.status.export, None);
}

fn conflict_step() -> Step {
    Step {
        remove: None,
        write: Some(written("chat-bedrock", V3)),
    }
}

fn conflict() -> Outcome {
    Outcome::Conflict {
        name: "chat-bedrock".into(),
        holder: "it was not created for this resource".into(),
    }
}

#[test]
fn a_foreign_configmap_shows_on_synced_naming_the_field_with_ready_kept() {
    let mut plan = serving_plan(None);
    show(&mut plan, &[], &conflict_step(), conflict(), &timing());
    let synced = synced(&plan).clone();
    assert!(!synced.status);
    assert_eq!(synced.reason, reason::EXPORT_CONFLICT);
    assert!(
        synced
            .message
            .starts_with("spec.export.configMapName: ConfigMap chat-bedrock already exists"),
        "{}",
        synced.message
    );
    let ready = plan.conditions.iter().find(|c| c.type_ == READY).unwrap();
    assert!(ready.status, "the model is still served");
    assert_eq!(plan.events.len(), 1);
    assert!(plan.events[0].warning);
    assert_eq!(plan.status.export, None);
    assert_eq!(
        plan.next,
        Next::After(timing().slow_retry),
        "looked at again: the ConfigMap may be deleted meanwhile"
    );
}

#[test]
fn a_conflict_already_shown_is_not_announced_again() {
    let mut first = serving_plan(None);
    show(&mut first, &[], &conflict_step(), conflict(), &timing());
    let shown = synced(&first).clone();
    let current = vec![Condition {
        type_: SYNCED.into(),
        status: "False".into(),
        reason: shown.reason.clone(),
        message: shown.message.clone(),
        observed_generation: Some(GENERATION),
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::now()),
    }];
    let mut again = serving_plan(None);
    show(
        &mut again,
        &current,
        &conflict_step(),
        conflict(),
        &timing(),
    );
    assert!(again.events.is_empty());
    assert_eq!(synced(&again), &shown);
}

#[test]
fn a_reason_the_plan_gives_for_synced_comes_first() {
    let mut plan = serving_plan(None);
    plan.conditions[1] = Desired::new(SYNCED, false, reason::UPDATING, "updating");
    plan.next = Next::Poll(Duration::from_secs(2));
    show(&mut plan, &[], &conflict_step(), conflict(), &timing());
    assert_eq!(synced(&plan).reason, reason::UPDATING);
    assert_eq!(plan.next, Next::Poll(Duration::from_secs(2)));
}

#[test]
fn a_forbidden_write_shows_what_to_grant_and_keeps_what_was_written() {
    let done = written("chat-bedrock", V3);
    let mut plan = serving_plan(Some(done.clone()));
    let step = Step {
        remove: None,
        write: Some(written("chat-bedrock", V4)),
    };
    let outcome = Outcome::Failed {
        error: api_error(403),
        written: Some(done.clone()),
    };
    show(&mut plan, &[], &step, outcome, &timing());
    assert_eq!(synced(&plan).reason, reason::KUBERNETES_FORBIDDEN);
    assert!(
        synced(&plan)
            .message
            .contains("writing the spec.export ConfigMap")
    );
    assert_eq!(
        plan.status.export,
        Some(done),
        "the next reconcile tries again"
    );
    assert_eq!(plan.next, Next::After(timing().slow_retry));
}
