//! Buying.

use super::*;

#[test]
fn while_the_model_is_not_ready_nothing_is_bought_and_the_wait_is_normal() {
    let resource = by_ref(MODEL);
    let waiting = Resolution::NotReady {
        name: MODEL.into(),
        why: "it is Creating: importing".into(),
    };
    let p = plan(&resource, &observe(waiting, None));
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::MODEL_NOT_READY.into())
    );
    assert!(p.events.iter().all(|e| !e.warning));
    assert!(
        message_of(&p, conditions::READY).contains("throughput waits")
            || message_of(&p, conditions::READY).contains("no call to AWS")
    );
}

#[test]
fn once_resolved_it_is_bought_with_a_deterministic_token() {
    let resource = by_ref(MODEL);
    let p = plan(&resource, &observe(resolved(V3), None));
    let Some(Action::Create(request)) = p.actions.first() else {
        panic!("a create: {:?}", p.actions);
    };
    assert_eq!(request.model_id, V3);
    assert_eq!(request.model_units, 1);
    assert_eq!(request.commitment, None);
    assert!(request.client_request_token.starts_with("bpt-"));
    let again = plan(&resource, &observe(resolved(V3), None));
    assert_eq!(again.actions, p.actions, "the same token after a crash");
    assert_eq!(
        request.tags.get(tags::OWNER_UID).map(String::as_str),
        Some(UID)
    );
}

#[test]
fn after_create_the_polls_of_a_creating_throughput_write_nothing_new() {
    let resource = by_ref(MODEL);
    let mut p = plan(&resource, &observe(resolved(V3), None));
    after_create(
        &mut p,
        &valid(&resource),
        REGION,
        V3,
        THROUGHPUT_ARN.into(),
        &Timing::default(),
        Some(GENERATION),
    );
    let mut created = resource.clone();
    created.status = Some(p.status.clone());
    let poll = plan(
        &created,
        &observe(resolved(V3), Some(remote(ThroughputState::Creating, V3))),
    );
    assert_eq!(
        poll.conditions, p.conditions,
        "the same conditions: no write"
    );
    assert_eq!(poll.status, p.status, "the same status: no write");
    assert!(poll.actions.is_empty());
}

#[test]
fn a_throughput_found_by_name_with_this_resources_tag_is_taken_back() {
    let resource = by_ref(MODEL);
    let mut observation = observe(resolved(V3), Some(remote(ThroughputState::Creating, V3)));
    observation.tags = Some(tags::operator_tags(NAMESPACE, NAME, UID, CLUSTER));
    let p = plan(&resource, &observation);
    assert!(p.actions.is_empty(), "no second purchase");
    assert_eq!(
        p.status.provisioned_model_arn.as_deref(),
        Some(THROUGHPUT_ARN)
    );
}

#[test]
fn a_throughput_found_by_name_without_an_owner_tag_is_a_name_conflict() {
    let resource = by_ref(MODEL);
    let mut observation = observe(resolved(V3), Some(remote(ThroughputState::InService, V3)));
    observation.tags = Some(BTreeMap::new());
    let p = plan(&resource, &observation);
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::NAME_CONFLICT.into())
    );
    assert!(message_of(&p, conditions::SYNCED).contains("adoptionPolicy: Adopt"));
}

#[test]
fn adopt_claims_an_untagged_throughput_and_records_what_it_was_bought_with() {
    let mut resource = by_ref(MODEL);
    resource.spec.adoption_policy = AdoptionPolicy::Adopt;
    let mut found = remote(ThroughputState::InService, V3);
    found.commitment = Some("OneMonth".into());
    let mut observation = observe(resolved(V3), Some(found));
    observation.tags = Some(BTreeMap::new());
    let p = plan(&resource, &observation);
    assert!(matches!(p.actions[..], [Action::Claim { .. }]));
    let created = p.status.created_with.clone().expect("createdWith");
    assert!(created.adopted);
    assert_eq!(
        created.commitment_duration,
        Some(CommitmentDuration::OneMonth)
    );
    assert_eq!(p.events[0].reason, event::ADOPTED);
}
