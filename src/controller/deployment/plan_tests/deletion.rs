//! Deletion.

use super::*;

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
