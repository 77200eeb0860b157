//! Tags, immutability, settled.

use super::*;

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
