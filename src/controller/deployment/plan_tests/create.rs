//! Creating.

use super::*;

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
