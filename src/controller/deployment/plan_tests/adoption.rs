//! Adoption.

use super::*;

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
    observation.inputs = resolved(V4);
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
