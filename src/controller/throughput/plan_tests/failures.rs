//! Failures and disappearance.

use super::*;

#[test]
fn a_failed_throughput_shows_bedrocks_message_once() {
    let resource = in_service(by_ref(MODEL), V3);
    let mut found = remote(ThroughputState::Failed, V3);
    found.failure_message = Some("insufficient capacity.".into());
    let p = plan(&resource, &observe(resolved(V3), Some(found.clone())));
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::FAILED.into())
    );
    assert!(message_of(&p, conditions::READY).contains("insufficient capacity"));
    assert_eq!(
        p.events.len(),
        2,
        "failed, and the units leaving service: {:?}",
        p.events
    );
    let mut failed = resource.clone();
    failed.status = Some(p.status.clone());
    let again = plan(&failed, &observe(resolved(V3), Some(found)));
    assert!(again.events.is_empty(), "{:?}", again.events);
}

#[test]
fn the_retry_annotation_replaces_a_failed_throughput() {
    let mut resource = in_service(by_ref(MODEL), V3);
    if let Some(status) = resource.status.as_mut() {
        status.throughput_status = Some(ThroughputStatus::Failed);
    }
    resource.metadata.annotations = Some(BTreeMap::from([(
        RETRY_ANNOTATION.to_string(),
        "1".to_string(),
    )]));
    let p = plan(
        &resource,
        &observe(resolved(V3), Some(remote(ThroughputState::Failed, V3))),
    );
    assert_eq!(
        p.actions,
        vec![Action::Delete {
            arn: THROUGHPUT_ARN.into()
        }]
    );
    assert_eq!(p.status.recreations, 1);
    assert_eq!(p.status.provisioned_model_arn, None);
}

#[test]
fn a_throughput_without_commitment_deleted_outside_is_bought_again_with_a_warning() {
    let resource = in_service(by_ref(MODEL), V3);
    let p = plan(&resource, &observe(resolved(V3), None));
    assert!(matches!(p.actions[..], [Action::Create(_)]));
    assert_eq!(p.status.recreations, 1);
    assert!(
        p.events
            .iter()
            .any(|e| e.warning && e.reason == reason::THROUGHPUT_MISSING)
    );
}

#[test]
fn a_committed_throughput_deleted_outside_is_not_bought_again_without_a_new_retry() {
    let resource = in_service(
        committed(CommitmentDuration::OneMonth, Some("OneMonth")),
        V3,
    );
    let p = plan(&resource, &observe(resolved(V3), None));
    assert!(p.actions.is_empty(), "no new term bought by itself");
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::THROUGHPUT_MISSING.into())
    );
    assert!(message_of(&p, conditions::SYNCED).contains(RETRY_ANNOTATION));

    let mut retried = resource.clone();
    retried
        .metadata
        .annotations
        .get_or_insert_default()
        .insert(RETRY_ANNOTATION.to_string(), "1".to_string());
    let again = plan(&retried, &observe(resolved(V3), None));
    assert!(matches!(again.actions[..], [Action::Create(_)]));
    assert_eq!(again.status.retry_handled.as_deref(), Some("1"));
}
