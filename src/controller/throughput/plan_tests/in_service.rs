//! In service.

use super::*;

#[test]
fn an_in_service_throughput_serving_the_spec_is_ready_and_quiet() {
    let resource = in_service(by_ref(MODEL), V3);
    let p = plan(
        &resource,
        &observe(resolved(V3), Some(remote(ThroughputState::InService, V3))),
    );
    assert!(p.actions.is_empty());
    assert!(p.events.is_empty(), "{:?}", p.events);
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::IN_SERVICE.into())
    );
    assert_eq!(p.next, Next::Resync);
    assert!(settled(&resource));
}

#[test]
fn the_first_time_in_service_announces_the_units() {
    let mut resource = in_service(by_ref(MODEL), V3);
    if let Some(status) = resource.status.as_mut() {
        status.throughput_status = Some(ThroughputStatus::Creating);
    }
    let p = plan(
        &resource,
        &observe(resolved(V3), Some(remote(ThroughputState::InService, V3))),
    );
    let units = p
        .events
        .iter()
        .find(|e| e.reason == event::MODEL_UNITS)
        .expect("a units event");
    assert!(
        units.message.contains("1 model unit in service"),
        "{}",
        units.message
    );
    assert!(units.message.contains("(was 0)"), "{}", units.message);
}

#[test]
fn a_new_model_is_swapped_in_place_with_ready_kept() {
    let resource = in_service(by_ref("nova-v4"), V3);
    let p = plan(
        &resource,
        &observe(resolved(V4), Some(remote(ThroughputState::InService, V3))),
    );
    assert_eq!(
        p.actions,
        vec![Action::Update {
            arn: THROUGHPUT_ARN.into(),
            change: UpdateThroughputRequest {
                name: None,
                model_id: Some(V4.into()),
            },
        }]
    );
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::IN_SERVICE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (true, reason::UPDATING.into())
    );
}

#[test]
fn a_new_name_renames_in_place() {
    let mut resource = in_service(by_ref(MODEL), V3);
    resource.spec.provisioned_model_name = Some("pt-renamed".into());
    let p = plan(
        &resource,
        &observe(resolved(V3), Some(remote(ThroughputState::InService, V3))),
    );
    assert_eq!(
        p.actions,
        vec![Action::Update {
            arn: THROUGHPUT_ARN.into(),
            change: UpdateThroughputRequest {
                name: Some("pt-renamed".into()),
                model_id: None,
            },
        }]
    );
    assert!(p.events.iter().any(|e| e.reason == event::RENAMED));
}

#[test]
fn while_updating_ready_stays_on_the_old_model_and_nothing_is_called() {
    let resource = in_service(by_ref("nova-v4"), V3);
    let mut found = remote(ThroughputState::Updating, V3);
    found.desired_model_arn = V4.into();
    let p = plan(&resource, &observe(resolved(V4), Some(found)));
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::IN_SERVICE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (true, reason::UPDATING.into())
    );
    assert!(matches!(p.next, Next::Poll(_)));
    assert_eq!(units_in_service(&p.status), 1, "an update keeps serving");
}

#[test]
fn a_foundation_model_id_matches_its_arn_so_nothing_is_swapped() {
    let foundation = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";
    assert!(same_model("amazon.nova-lite-v1:0", foundation));
    assert!(same_model(foundation, foundation));
    assert!(!same_model("amazon.nova-pro-v1:0", foundation));
    assert!(!same_model(V4, V3));
}

#[test]
fn a_unit_change_on_a_live_throughput_is_refused_with_what_to_do() {
    let mut resource = in_service(by_ref(MODEL), V3);
    resource.spec.model_units = 2;
    let p = precheck(&resource, &valid(&resource), REGION).expect("refused");
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::IMMUTABLE_FIELD_CHANGED.into())
    );
    let message = message_of(&p, conditions::SYNCED);
    assert!(
        message.contains("spec.modelUnits") && message.contains("create another"),
        "{message}"
    );
}

#[test]
fn a_model_that_cannot_be_resolved_any_more_keeps_the_throughput_serving() {
    let resource = in_service(by_ref(MODEL), V3);
    let p = plan(
        &resource,
        &observe(
            Resolution::Deleting { name: MODEL.into() },
            Some(remote(ThroughputState::InService, V3)),
        ),
    );
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::IN_SERVICE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::MODEL_DELETING.into())
    );
}

#[test]
fn spec_tags_are_synced_on_an_in_service_throughput() {
    let mut resource = in_service(by_ref(MODEL), V3);
    resource.spec.tags = BTreeMap::from([("team".into(), "ml".into())]);
    let mut observation = observe(resolved(V3), Some(remote(ThroughputState::InService, V3)));
    observation.tags = Some(tags::operator_tags(NAMESPACE, NAME, UID, CLUSTER));
    let p = plan(&resource, &observation);
    assert_eq!(
        p.actions,
        vec![Action::Tag {
            arn: THROUGHPUT_ARN.into(),
            tags: BTreeMap::from([("team".into(), "ml".into())]),
        }]
    );
}
