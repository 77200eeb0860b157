//! Rolling a new model out.

use super::*;

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
