//! The deployment's decisions, one behaviour per named test: plain values in, plan out.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ObjectMeta;

use super::*;
use crate::api::conditions::reason;
use crate::api::deployment::{BedrockCustomModelDeploymentSpec, ModelRef};
use crate::api::{BedrockCustomModelSpec, BedrockCustomModelStatus, ModelSource};
use crate::bedrock::DeploymentUpdate;
use crate::controller::fixtures::{
    CLUSTER, GENERATION, MODEL, NAMESPACE, REGION, V3, V4, condition, message_of, meta, observe,
    plan, reason_of, resolved, serving_conditions,
};
use crate::controller::outcome::Next;
use crate::controller::ownership::Liveness;
use crate::controller::scope::NamespaceScope;

const NAME: &str = "chat";
const UID: &str = "7d1c0a55-4b2e-4c1f-8f5e-2a9b3c4d5e6f";
const DEPLOYMENT_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/cccccccccccc";

fn deployment(spec: BedrockCustomModelDeploymentSpec) -> BedrockCustomModelDeployment {
    BedrockCustomModelDeployment {
        metadata: meta(NAME, UID),
        spec,
        status: None,
    }
}

fn by_ref(model: &str) -> BedrockCustomModelDeployment {
    deployment(BedrockCustomModelDeploymentSpec {
        model_ref: Some(ModelRef { name: model.into() }),
        ..Default::default()
    })
}

fn by_arn(arn: &str) -> BedrockCustomModelDeployment {
    deployment(BedrockCustomModelDeploymentSpec {
        model_arn: Some(arn.into()),
        ..Default::default()
    })
}

fn valid(resource: &BedrockCustomModelDeployment) -> ValidDeployment {
    validation::validate_deployment(resource).expect("a valid spec")
}

/// The resource once it holds an Active deployment serving `serving`.
fn active(
    mut resource: BedrockCustomModelDeployment,
    serving: &str,
) -> BedrockCustomModelDeployment {
    resource.status = Some(BedrockCustomModelDeploymentStatus {
        observed_generation: Some(GENERATION),
        deployment_arn: Some(DEPLOYMENT_ARN.into()),
        model_deployment_name: Some(NAME.into()),
        region: Some(REGION.into()),
        deployment_status: Some(DeploymentStatus::Active),
        model_arn: Some(serving.into()),
        desired_model_arn: Some(serving.into()),
        created_with: Some(DeploymentCreatedWith {
            model_deployment_name: NAME.into(),
            description: None,
            region: REGION.into(),
            adopted: false,
        }),
        tags_synced_generation: Some(GENERATION),
        conditions: serving_conditions(reason::ACTIVE),
        ..Default::default()
    });
    resource
}

fn remote(
    state: DeploymentState,
    serving: &str,
    update: Option<(&str, UpdateState)>,
) -> RemoteDeployment {
    RemoteDeployment {
        arn: DEPLOYMENT_ARN.into(),
        name: NAME.into(),
        model_arn: serving.into(),
        description: None,
        state,
        failure_message: None,
        update: update.map(|(model_arn, state)| DeploymentUpdate {
            model_arn: model_arn.into(),
            state,
        }),
        creation_time: None,
        last_updated_time: None,
    }
}

fn model(status: Option<BedrockCustomModelStatus>) -> BedrockCustomModel {
    BedrockCustomModel {
        metadata: ObjectMeta {
            name: Some(MODEL.into()),
            namespace: Some(NAMESPACE.into()),
            ..Default::default()
        },
        spec: BedrockCustomModelSpec {
            source: ModelSource {
                s3_uri: Some("s3://bucket/model/".into()),
                ..Default::default()
            },
            ..Default::default()
        },
        status,
    }
}

fn model_status(state: &str, ready: bool, why: &str) -> BedrockCustomModelStatus {
    BedrockCustomModelStatus {
        model_arn: Some(V3.into()),
        region: Some(REGION.into()),
        model_status: Some(
            serde_json::from_value(serde_json::Value::from(state)).expect("a status"),
        ),
        conditions: vec![condition(conditions::READY, ready, why)],
        ..Default::default()
    }
}

// --- resolving the model ----------------------------------------------------------------------

#[test]
fn a_model_arn_resolves_to_itself_with_its_region() {
    let target = ModelTarget::Arn(V3.into());
    assert_eq!(resolve(&target, None), resolved(V3));
}

#[test]
fn a_missing_reference_is_model_not_found() {
    let got = resolve(&ModelTarget::Ref(MODEL.into()), None);
    assert_eq!(got, Resolution::Missing { name: MODEL.into() });
    assert_eq!(unresolved(&got).0, reason::MODEL_NOT_FOUND);
}

#[test]
fn a_creating_model_is_not_ready_and_says_why() {
    let m = model(Some(model_status("Creating", false, reason::CREATING)));
    let got = resolve(&ModelTarget::Ref(MODEL.into()), Some(&m));
    let (why, message) = unresolved(&got);
    assert_eq!(why, reason::MODEL_NOT_READY);
    assert!(
        message.contains(MODEL) && message.contains("Creating"),
        "{message}"
    );
}

#[test]
fn a_model_without_status_is_not_ready() {
    let m = model(None);
    assert!(matches!(
        resolve(&ModelTarget::Ref(MODEL.into()), Some(&m)),
        Resolution::NotReady { .. }
    ));
}

#[test]
fn an_active_ready_model_resolves_to_its_status_arn() {
    let m = model(Some(model_status("Active", true, reason::ACTIVE)));
    assert_eq!(
        resolve(&ModelTarget::Ref(MODEL.into()), Some(&m)),
        resolved(V3)
    );
}

#[test]
fn a_failed_model_is_model_failed_with_bedrocks_message() {
    let mut status = model_status("Failed", false, reason::FAILED);
    status.failure_message = Some("bad artifacts".into());
    let m = model(Some(status));
    let got = resolve(&ModelTarget::Ref(MODEL.into()), Some(&m));
    let (why, message) = unresolved(&got);
    assert_eq!(why, reason::MODEL_FAILED);
    assert!(message.contains("bad artifacts"), "{message}");
}

#[test]
fn a_model_being_deleted_is_model_deleting() {
    let mut m = model(Some(model_status("Active", true, reason::ACTIVE)));
    m.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
    assert_eq!(
        resolve(&ModelTarget::Ref(MODEL.into()), Some(&m)),
        Resolution::Deleting { name: MODEL.into() }
    );
}

// --- creating ---------------------------------------------------------------------------------

#[test]
fn while_the_model_is_not_ready_nothing_is_called_and_the_wait_is_shown() {
    let resource = by_ref(MODEL);
    let p = plan(
        &resource,
        &observe(
            Resolution::NotReady {
                name: MODEL.into(),
                why: "it is Creating".into(),
            },
            None,
        ),
    );
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::MODEL_NOT_READY.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::MODEL_NOT_READY.into())
    );
    assert_eq!(
        p.next,
        Next::AwaitChange,
        "the model's watch brings it back"
    );
    assert!(
        p.events.iter().all(|e| !e.warning),
        "waiting is not a fault"
    );
}

#[test]
fn once_resolved_the_deployment_is_created_with_a_deterministic_token() {
    let resource = by_ref(MODEL);
    let p = plan(&resource, &observe(resolved(V3), None));
    let [Action::Create(request)] = p.actions.as_slice() else {
        panic!("one create: {:?}", p.actions);
    };
    assert_eq!(request.name, NAME);
    assert_eq!(request.model_arn, V3);
    assert_eq!(
        request.tags.get(tags::OWNER_UID).map(String::as_str),
        Some(UID)
    );
    let again = plan(&resource, &observe(resolved(V3), None));
    assert_eq!(again.actions, p.actions, "the same token after a crash");
    assert_eq!(p.status.desired_model_arn.as_deref(), Some(V3));
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::CREATING.into())
    );
}

#[test]
fn a_recreation_sends_a_new_token() {
    let resource = by_ref(MODEL);
    let v = valid(&resource);
    let first = create_request(&resource, &v, V3, REGION, 0, CLUSTER);
    let second = create_request(&resource, &v, V3, REGION, 1, CLUSTER);
    assert_ne!(first.client_request_token, second.client_request_token);
}

#[test]
fn after_create_the_status_holds_the_arn_and_the_created_parameters() {
    let resource = by_ref(MODEL);
    let v = valid(&resource);
    let mut p = plan(&resource, &observe(resolved(V3), None));
    after_create(
        &mut p,
        &v,
        REGION,
        V3,
        DEPLOYMENT_ARN.into(),
        &Timing::default(),
        Some(GENERATION),
    );
    assert_eq!(p.status.deployment_arn.as_deref(), Some(DEPLOYMENT_ARN));
    assert_eq!(p.status.deployment_status, Some(DeploymentStatus::Creating));
    assert_eq!(p.status.model_arn.as_deref(), Some(V3));
    assert_eq!(p.status.tags_synced_generation, Some(GENERATION));
    assert!(matches!(p.next, Next::Poll(_)));
    // The first poll of the Creating deployment plans the same status: no second write.
    let mut created = resource.clone();
    let mut status = p.status.clone();
    status.conditions = p
        .conditions
        .iter()
        .map(|d| condition(d.type_, d.status, &d.reason))
        .collect();
    created.status = Some(status);
    let poll = plan(
        &created,
        &observe(
            resolved(V3),
            Some(remote(DeploymentState::Creating, V3, None)),
        ),
    );
    assert_eq!(poll.status, p.status);
    assert_eq!(
        poll.conditions
            .iter()
            .map(|c| &c.message)
            .collect::<Vec<_>>(),
        p.conditions.iter().map(|c| &c.message).collect::<Vec<_>>()
    );
}

#[test]
fn a_deployment_found_by_name_with_this_resources_tag_is_taken_back() {
    let resource = by_ref(MODEL);
    let mut observation = observe(
        resolved(V3),
        Some(remote(DeploymentState::Creating, V3, None)),
    );
    observation.tags = Some(tags::operator_tags(NAMESPACE, NAME, UID, CLUSTER));
    let p = plan(&resource, &observation);
    assert!(p.actions.is_empty(), "no second create");
    assert_eq!(p.status.deployment_arn.as_deref(), Some(DEPLOYMENT_ARN));
}

#[test]
fn a_deployment_found_by_name_without_an_owner_tag_is_a_name_conflict() {
    let resource = by_ref(MODEL);
    let mut observation = observe(
        resolved(V3),
        Some(remote(DeploymentState::Active, V3, None)),
    );
    observation.tags = Some(BTreeMap::new());
    let p = plan(&resource, &observation);
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::NAME_CONFLICT.into())
    );
    assert_eq!(p.status.deployment_arn, None);
}

// --- adoption ---------------------------------------------------------------------------------

fn adopting(model: &str) -> BedrockCustomModelDeployment {
    let mut resource = by_ref(model);
    resource.spec.adoption_policy = AdoptionPolicy::Adopt;
    resource.spec.tags = BTreeMap::from([("team".into(), "ml".into())]);
    resource
}

fn found_with_tags(tags: BTreeMap<String, String>, owner: Liveness) -> Observation {
    let mut found = remote(DeploymentState::Active, V3, None);
    found.description = Some("made by hand".into());
    let mut observation = observe(resolved(V3), Some(found));
    observation.tags = Some(tags);
    observation.owner = owner;
    observation
}

fn other_holder() -> BTreeMap<String, String> {
    tags::operator_tags(
        "other",
        "chat",
        "0b9e2f7a-1111-2222-3333-444455556666",
        CLUSTER,
    )
}

#[test]
fn adopt_takes_an_untagged_deployment_with_one_claim_of_owner_and_spec_tags() {
    let resource = adopting(MODEL);
    let p = plan(
        &resource,
        &found_with_tags(BTreeMap::new(), Liveness::Unknown),
    );
    let mut expected = tags::operator_tags(NAMESPACE, NAME, UID, CLUSTER);
    expected.insert("team".into(), "ml".into());
    assert_eq!(
        p.actions,
        vec![Action::Claim {
            arn: DEPLOYMENT_ARN.into(),
            tags: expected
        }],
        "one claim carrying the owner tags and spec.tags, no separate tag call"
    );
    assert_eq!(p.status.deployment_arn.as_deref(), Some(DEPLOYMENT_ARN));
    let created = p.status.created_with.clone().expect("createdWith");
    assert!(created.adopted);
    assert_eq!(created.description.as_deref(), Some("made by hand"));
    assert_eq!(p.status.managed_tag_keys, vec!["team".to_string()]);
    assert_eq!(p.events[0].reason, event::ADOPTED);
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::ACTIVE.into())
    );
}

#[test]
fn adopt_claims_first_then_rolls_the_specs_model_out() {
    let resource = adopting("nova-v4");
    let mut observation = found_with_tags(BTreeMap::new(), Liveness::Unknown);
    observation.model = resolved(V4);
    let p = plan(&resource, &observation);
    assert!(matches!(p.actions[0], Action::Claim { .. }));
    assert_eq!(
        p.actions[1],
        Action::Update {
            arn: DEPLOYMENT_ARN.into(),
            change: Rollout {
                model_arn: V4.into()
            }
        }
    );
}

#[test]
fn adopt_leaves_a_deployment_whose_owner_still_exists() {
    let resource = adopting(MODEL);
    let p = plan(&resource, &found_with_tags(other_holder(), Liveness::Alive));
    assert!(p.actions.is_empty());
    let (status, why) = reason_of(&p, conditions::SYNCED);
    assert_eq!((status, why.as_str()), (false, reason::NAME_CONFLICT));
    let message = &message_of(&p, conditions::SYNCED);
    assert!(
        message.contains("other/chat") && message.contains("which still exists"),
        "{message}"
    );
    assert_eq!(p.status.deployment_arn, None, "never recorded as ours");
}

#[test]
fn adopt_takes_a_deployment_whose_owner_is_gone_and_says_so() {
    let resource = adopting(MODEL);
    let p = plan(&resource, &found_with_tags(other_holder(), Liveness::Gone));
    assert!(matches!(p.actions[..], [Action::Claim { .. }]));
    assert!(
        p.events[0].message.contains("held before by other/chat"),
        "{}",
        p.events[0].message
    );
}

#[test]
fn adopt_without_the_tags_read_takes_nothing() {
    let resource = adopting(MODEL);
    let mut observation = found_with_tags(BTreeMap::new(), Liveness::Unknown);
    observation.tags = None;
    let p = plan(&resource, &observation);
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::NAME_CONFLICT.into())
    );
}

#[test]
fn never_names_adoption_as_the_way_out_of_a_name_conflict() {
    let resource = by_ref(MODEL);
    let p = plan(
        &resource,
        &found_with_tags(BTreeMap::new(), Liveness::Unknown),
    );
    assert!(p.actions.is_empty());
    assert!(
        message_of(&p, conditions::SYNCED).contains("set spec.adoptionPolicy: Adopt"),
        "{}",
        message_of(&p, conditions::SYNCED)
    );
}

#[test]
fn adopt_outside_the_allowed_namespaces_is_invalid_with_no_call() {
    let resource = adopting(MODEL);
    let scope: NamespaceScope = "team-a".parse().expect("scope");
    let p = adoption_refused(&resource, &valid(&resource), REGION, &scope).expect("refused");
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::INVALID_SPEC.into())
    );
    assert!(message_of(&p, conditions::SYNCED).contains("spec.adoptionPolicy"));
    assert_eq!(
        adoption_refused(&resource, &valid(&resource), REGION, &NamespaceScope::All),
        None
    );
    assert_eq!(
        cleanup(&resource, &scope),
        Cleanup::Nothing,
        "never adopted, so nothing to delete"
    );
}

#[test]
fn an_adopted_deployment_keeps_bedrocks_description_when_the_spec_states_none() {
    let mut resource = active(adopting(MODEL), V3);
    if let Some(created) = resource
        .status
        .as_mut()
        .and_then(|s| s.created_with.as_mut())
    {
        created.adopted = true;
        created.description = Some("made by hand".into());
    }
    assert_eq!(precheck(&resource, &valid(&resource), REGION), None);
    resource.spec.description = Some("another".into());
    let refused = precheck(&resource, &valid(&resource), REGION).expect("refused");
    assert_eq!(
        reason_of(&refused, conditions::SYNCED),
        (false, reason::IMMUTABLE_FIELD_CHANGED.into())
    );
}

#[test]
fn a_deployment_deleted_outside_the_operator_is_created_again_with_a_warning() {
    let resource = active(by_ref(MODEL), V3);
    let p = plan(&resource, &observe(resolved(V3), None));
    assert!(matches!(p.actions.as_slice(), [Action::Create(_)]));
    assert_eq!(p.status.recreations, 1);
    assert!(
        p.events
            .iter()
            .any(|e| e.warning && e.reason == "DeploymentMissing")
    );
}

// --- in progress, active, failed --------------------------------------------------------------

#[test]
fn a_creating_deployment_is_polled_and_not_ready() {
    let resource = active(by_ref(MODEL), V3);
    let p = plan(
        &resource,
        &observe(
            resolved(V3),
            Some(remote(DeploymentState::Creating, V3, None)),
        ),
    );
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::CREATING.into())
    );
    assert!(matches!(p.next, Next::Poll(_)));
}

#[test]
fn an_active_deployment_serving_the_spec_is_ready_and_quiet() {
    let resource = active(by_ref(MODEL), V3);
    let p = plan(
        &resource,
        &observe(
            resolved(V3),
            Some(remote(DeploymentState::Active, V3, None)),
        ),
    );
    assert!(p.actions.is_empty());
    assert!(p.events.is_empty(), "no event without a change");
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::ACTIVE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (true, reason::RECONCILED.into())
    );
    assert_eq!(p.next, Next::Resync);
}

#[test]
fn a_failed_deployment_shows_bedrocks_message_once() {
    let resource = active(by_ref(MODEL), V3);
    let mut found = remote(DeploymentState::Failed, V3, None);
    found.failure_message = Some("capacity unavailable".into());
    let p = plan(&resource, &observe(resolved(V3), Some(found)));
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::FAILED.into())
    );
    assert!(p.conditions[0].message.contains("capacity unavailable"));
    assert_eq!(p.events.len(), 1);
    assert!(p.actions.is_empty());
}

#[test]
fn the_retry_annotation_replaces_a_failed_deployment() {
    let mut resource = active(by_ref(MODEL), V3);
    resource.metadata.annotations = Some([(RETRY_ANNOTATION.to_string(), "1".to_string())].into());
    let p = plan(
        &resource,
        &observe(
            resolved(V3),
            Some(remote(DeploymentState::Failed, V3, None)),
        ),
    );
    assert_eq!(
        p.actions,
        vec![Action::Delete {
            arn: DEPLOYMENT_ARN.into()
        }]
    );
    assert_eq!(p.status.retry_handled.as_deref(), Some("1"));
    assert_eq!(p.status.deployment_arn, None);
}

// --- rolling a new model out ------------------------------------------------------------------

#[test]
fn a_new_model_is_rolled_out_in_place_with_ready_kept() {
    let resource = active(by_ref("nova-v4"), V3);
    let p = plan(
        &resource,
        &observe(
            resolved(V4),
            Some(remote(DeploymentState::Active, V3, None)),
        ),
    );
    assert_eq!(
        p.actions,
        vec![Action::Update {
            arn: DEPLOYMENT_ARN.into(),
            change: Rollout {
                model_arn: V4.into()
            }
        }]
    );
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::ACTIVE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (true, reason::UPDATING.into())
    );
    assert_eq!(p.status.desired_model_arn.as_deref(), Some(V4));
    assert_eq!(p.status.model_arn.as_deref(), Some(V3), "still serving v3");
}

#[test]
fn while_updating_ready_stays_on_the_old_model_and_nothing_is_called() {
    let resource = active(by_ref("nova-v4"), V3);
    let found = remote(
        DeploymentState::Active,
        V3,
        Some((V4, UpdateState::Updating)),
    );
    let p = plan(&resource, &observe(resolved(V4), Some(found)));
    assert!(p.actions.is_empty(), "no second update while one runs");
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::ACTIVE.into())
    );
    assert_eq!(p.status.update_status, Some(UpdateStatus::Updating));
    assert!(matches!(p.next, Next::Poll(_)));
}

#[test]
fn a_completed_update_is_announced_and_reconciled() {
    let mut resource = active(by_ref("nova-v4"), V3);
    if let Some(status) = resource.status.as_mut() {
        status.update_status = Some(UpdateStatus::Updating);
    }
    let found = remote(
        DeploymentState::Active,
        V4,
        Some((V4, UpdateState::UpdateCompleted)),
    );
    let p = plan(&resource, &observe(resolved(V4), Some(found)));
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (true, reason::RECONCILED.into())
    );
    assert_eq!(p.status.model_arn.as_deref(), Some(V4));
    assert!(p.events.iter().any(|e| e.reason == "Updated"));
}

#[test]
fn a_failed_swap_is_degraded_keeps_serving_and_is_not_retried_blindly() {
    let mut resource = active(by_ref("nova-v4"), V3);
    if let Some(status) = resource.status.as_mut() {
        status.update_status = Some(UpdateStatus::Updating);
    }
    let mut found = remote(
        DeploymentState::Active,
        V3,
        Some((V4, UpdateState::UpdateFailed)),
    );
    found.failure_message = Some("model v4 is incompatible".into());
    let p = plan(&resource, &observe(resolved(V4), Some(found)));
    assert!(p.actions.is_empty(), "no update again for the same model");
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::ACTIVE.into())
    );
    let (synced, why) = reason_of(&p, conditions::SYNCED);
    assert!(!synced);
    assert_eq!(why, reason::UPDATE_FAILED);
    assert!(p.conditions[1].message.contains("incompatible"));
    assert_eq!(p.status.update_status, Some(UpdateStatus::UpdateFailed));
    assert_eq!(p.events.len(), 1);
}

#[test]
fn the_retry_annotation_tries_a_failed_swap_again() {
    let mut resource = active(by_ref("nova-v4"), V3);
    resource.metadata.annotations = Some([(RETRY_ANNOTATION.to_string(), "2".to_string())].into());
    let found = remote(
        DeploymentState::Active,
        V3,
        Some((V4, UpdateState::UpdateFailed)),
    );
    let p = plan(&resource, &observe(resolved(V4), Some(found)));
    assert!(matches!(p.actions.as_slice(), [Action::Update { .. }]));
    assert_eq!(p.status.retry_handled.as_deref(), Some("2"));
}

#[test]
fn a_new_reference_not_ready_yet_keeps_serving_the_old_model() {
    let resource = active(by_ref("nova-v4"), V3);
    let p = plan(
        &resource,
        &observe(
            Resolution::NotReady {
                name: "nova-v4".into(),
                why: "it is Creating".into(),
            },
            Some(remote(DeploymentState::Active, V3, None)),
        ),
    );
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::ACTIVE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::MODEL_NOT_READY.into())
    );
}

#[test]
fn a_model_arn_change_is_rolled_out_too() {
    let resource = active(by_arn(V4), V3);
    let p = plan(
        &resource,
        &observe(
            resolved(V4),
            Some(remote(DeploymentState::Active, V3, None)),
        ),
    );
    assert!(
        matches!(p.actions.as_slice(), [Action::Update { change: Rollout { model_arn }, .. }] if model_arn == V4)
    );
}

// --- tags, immutability, settled --------------------------------------------------------------

#[test]
fn spec_tags_are_synced_on_an_active_deployment() {
    let mut resource = active(by_ref(MODEL), V3);
    resource.spec.tags = [("team".to_string(), "ml".to_string())].into();
    let mut observation = observe(
        resolved(V3),
        Some(remote(DeploymentState::Active, V3, None)),
    );
    observation.tags = Some(tags::operator_tags(NAMESPACE, NAME, UID, CLUSTER));
    let p = plan(&resource, &observation);
    assert!(
        matches!(p.actions.as_slice(), [Action::Tag { tags, .. }] if tags.get("team").map(String::as_str) == Some("ml"))
    );
    assert_eq!(p.status.managed_tag_keys, vec!["team".to_string()]);
}

#[test]
fn a_renamed_live_deployment_is_refused_without_a_call() {
    let mut resource = active(by_ref(MODEL), V3);
    resource.spec.model_deployment_name = Some("chat-2".into());
    let v = valid(&resource);
    let p = precheck(&resource, &v, REGION).expect("refused");
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::IMMUTABLE_FIELD_CHANGED.into())
    );
    assert!(p.conditions[1].message.contains("spec.modelDeploymentName"));
}

#[test]
fn an_active_reconciled_deployment_is_settled() {
    assert!(settled(&active(by_ref(MODEL), V3)));
    let mut newer = active(by_ref(MODEL), V3);
    newer.metadata.generation = Some(GENERATION + 1);
    assert!(!settled(&newer), "a new generation is not settled");
}

#[test]
fn the_region_is_the_spec_then_the_model_then_the_default() {
    let resource = by_ref(MODEL);
    let v = valid(&resource);
    let from_model = Resolution::Resolved {
        arn: V3.into(),
        region: Some("eu-west-1".into()),
    };
    assert_eq!(region(&resource, &v, &from_model, "us-west-2"), "eu-west-1");
    let unknown = Resolution::Missing { name: MODEL.into() };
    assert_eq!(region(&resource, &v, &unknown, "us-west-2"), "us-west-2");
    let live = active(by_ref(MODEL), V3);
    assert_eq!(
        region(&live, &valid(&live), &from_model, "us-west-2"),
        REGION,
        "where it lives"
    );
}

// --- deletion ---------------------------------------------------------------------------------

#[test]
fn deleting_a_live_deployment_deletes_it_by_arn() {
    assert_eq!(
        cleanup(&active(by_ref(MODEL), V3), &NamespaceScope::All),
        Cleanup::Delete {
            arn: DEPLOYMENT_ARN.into()
        }
    );
}

#[test]
fn deleting_with_retain_keeps_the_deployment() {
    let mut resource = active(by_ref(MODEL), V3);
    resource.spec.deletion_policy = DeletionPolicy::Retain;
    assert_eq!(cleanup(&resource, &NamespaceScope::All), Cleanup::Retain);
}

#[test]
fn deleting_before_the_status_names_a_deployment_looks_it_up_by_name() {
    assert_eq!(
        cleanup(&by_ref(MODEL), &NamespaceScope::All),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn a_model_is_used_by_deployments_that_reference_or_serve_it() {
    let mut m = model(Some(model_status("Active", true, reason::ACTIVE)));
    m.metadata.name = Some(MODEL.into());
    let referencing = by_ref(MODEL);
    let mut serving = active(by_ref("nova-v4"), V3);
    serving.metadata.name = Some("serving".into());
    let mut other = active(by_ref("nova-v4"), V4);
    other.metadata.name = Some("other".into());
    let mut elsewhere = by_ref(MODEL);
    elsewhere.metadata.namespace = Some("team-b".into());
    elsewhere.metadata.name = Some("elsewhere".into());
    let mut serving_elsewhere = active(by_ref("nova-v4"), V3);
    serving_elsewhere.metadata.namespace = Some("team-b".into());
    serving_elsewhere.metadata.name = Some("serving-b".into());
    let got = reference::users(
        &m,
        &[referencing, serving, other, elsewhere, serving_elsewhere],
    );
    let names: Vec<String> = got
        .iter()
        .map(|user| reference::user_name(user, NAMESPACE))
        .collect();
    assert_eq!(
        names,
        vec![
            NAME.to_string(),
            "serving".to_string(),
            "team-b/serving-b".to_string()
        ],
        "by modelRef in its own namespace only; by ARN from any namespace"
    );
    let users = reference::Users(vec![("BedrockCustomModelDeployment", names)]);
    let message = users.message(MODEL);
    assert!(
        message.contains("chat, serving and team-b/serving-b"),
        "{message}"
    );
}

#[test]
fn a_failed_deployment_renamed_is_replaced() {
    let mut resource = active(by_ref(MODEL), V3);
    resource.spec.model_deployment_name = Some("chat-2".into());
    let p = plan(
        &resource,
        &observe(
            resolved(V3),
            Some(remote(DeploymentState::Failed, V3, None)),
        ),
    );
    assert_eq!(
        p.actions,
        vec![Action::Delete {
            arn: DEPLOYMENT_ARN.into()
        }]
    );
    assert!(
        p.events[0]
            .message
            .contains("spec.modelDeploymentName changed"),
        "{:?}",
        p.events
    );
}

#[test]
fn a_spec_region_other_than_the_referenced_models_is_invalid_with_no_call() {
    let mut resource = by_ref(MODEL);
    resource.spec.region = Some("eu-west-1".into());
    let v = valid(&resource);
    let p = region_mismatch(&resource, &v, &resolved(V3)).expect("refused");
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::INVALID_SPEC.into())
    );
    assert!(
        p.conditions[0].message.contains("spec.region"),
        "{}",
        p.conditions[0].message
    );
    resource.spec.region = Some(REGION.into());
    assert_eq!(
        region_mismatch(&resource, &valid(&resource), &resolved(V3)),
        None
    );
}

#[test]
fn the_polls_of_a_swap_read_no_tags_and_the_first_look_after_it_does() {
    let mut resource = active(by_ref("nova-v4"), V3);
    resource.metadata.generation = Some(GENERATION + 1);
    let lookup = Lookup::ByArn(DEPLOYMENT_ARN.into());
    let updating = remote(
        DeploymentState::Active,
        V3,
        Some((V4, UpdateState::Updating)),
    );
    assert!(!needs_tags(&resource, &lookup, &updating, false));
    let done = remote(
        DeploymentState::Active,
        V4,
        Some((V4, UpdateState::UpdateCompleted)),
    );
    assert!(needs_tags(&resource, &lookup, &done, false));
}

#[test]
fn deleting_a_deployment_refused_before_any_call_needs_no_call() {
    // InvalidSpec at this generation (a tenant guard refused spec.modelArn): nothing was made.
    let mut refused = by_ref(MODEL);
    refused.status = Some(BedrockCustomModelDeploymentStatus {
        conditions: conditions::merge(
            &[],
            &[Desired::new(
                conditions::SYNCED,
                false,
                reason::INVALID_SPEC,
                "refused",
            )],
            refused.metadata.generation,
            &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        ),
        ..Default::default()
    });
    assert_eq!(cleanup(&refused, &NamespaceScope::All), Cleanup::Nothing);
    refused.metadata.generation = refused.metadata.generation.map(|g| g + 1);
    assert_eq!(
        cleanup(&refused, &NamespaceScope::All),
        Cleanup::LookUp { name: NAME.into() },
        "a later generation may have been created: look it up"
    );
}
