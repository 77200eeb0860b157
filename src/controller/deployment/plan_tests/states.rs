//! In progress, active, failed.

use super::*;

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
