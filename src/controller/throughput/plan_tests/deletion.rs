//! Deletion.

use super::*;

#[test]
fn deleting_before_the_commitment_ends_waits_for_the_term_with_no_call() {
    let mut resource = in_service(
        committed(CommitmentDuration::OneMonth, Some("OneMonth")),
        V3,
    );
    if let Some(status) = resource.status.as_mut() {
        status.commitment_expiration_time = Some("2026-12-30T10:00:00Z".into());
    }
    let cleanup_at = |now| cleanup(&resource, &NamespaceScope::All, at(now));
    assert_eq!(
        cleanup_at("2026-12-30T09:00:00Z"),
        Cleanup::Until {
            until: "2026-12-30T10:00:00Z".into(),
            wait: Duration::from_secs(3600) + TERM_SLACK,
        }
    );
    assert_eq!(
        cleanup_at("2026-12-30T10:00:01Z"),
        Cleanup::Delete {
            arn: THROUGHPUT_ARN.into()
        }
    );
    let message = committed_message(&resource, "2026-12-30T10:00:00Z");
    assert!(
        message.contains("2026-12-30T10:00:00Z") && message.contains("deletionPolicy: Retain"),
        "{message}"
    );
}

#[test]
fn retain_releases_at_once_and_says_it_still_bills() {
    let mut resource = in_service(
        committed(CommitmentDuration::OneMonth, Some("OneMonth")),
        V3,
    );
    resource.spec.deletion_policy = DeletionPolicy::Retain;
    if let Some(status) = resource.status.as_mut() {
        status.commitment_expiration_time = Some("2026-12-30T10:00:00Z".into());
    }
    assert_eq!(
        cleanup(&resource, &NamespaceScope::All, at("2026-12-01T00:00:00Z")),
        Cleanup::Retain
    );
    let message = retained_message(&resource);
    assert!(
        message.contains("keeps billing") && message.contains("(1 model unit)"),
        "{message}"
    );
}

#[test]
fn deleting_a_throughput_without_commitment_deletes_it_by_arn() {
    let resource = in_service(by_ref(MODEL), V3);
    assert_eq!(
        cleanup(&resource, &NamespaceScope::All, Timestamp::now()),
        Cleanup::Delete {
            arn: THROUGHPUT_ARN.into()
        }
    );
}

#[test]
fn deleting_before_anything_was_bought_looks_it_up_by_name_or_calls_nothing() {
    assert_eq!(
        cleanup(&by_ref(MODEL), &NamespaceScope::All, Timestamp::now()),
        Cleanup::LookUp { name: NAME.into() }
    );
    let mut broken = by_ref(MODEL);
    broken.spec.model_units = 0;
    assert_eq!(
        cleanup(&broken, &NamespaceScope::All, Timestamp::now()),
        Cleanup::Nothing
    );
}

#[test]
fn a_model_is_used_by_throughputs_that_reference_or_serve_it() {
    let mut model = BedrockCustomModel::new(MODEL, Default::default());
    model.metadata.namespace = Some(NAMESPACE.into());
    model.status = Some(crate::api::BedrockCustomModelStatus {
        model_arn: Some(V3.into()),
        ..Default::default()
    });
    let referencing = by_ref(MODEL);
    let mut serving = in_service(by_ref("other"), V3);
    serving.metadata.name = Some("serving".into());
    let mut elsewhere = by_ref(MODEL);
    elsewhere.metadata.namespace = Some("elsewhere".into());
    let mut serving_elsewhere = in_service(by_ref("other"), V3);
    serving_elsewhere.metadata.namespace = Some("team-b".into());
    let got = reference::users(
        &model,
        &[referencing, serving, elsewhere, serving_elsewhere],
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
            format!("team-b/{NAME}")
        ],
        "by modelRef in its own namespace only; by ARN from any namespace"
    );
}

#[test]
fn the_units_in_service_count_only_while_serving() {
    let mut status = BedrockProvisionedThroughputStatus {
        model_units: Some(3),
        ..Default::default()
    };
    for (state, units) in [
        (ThroughputStatus::Creating, 0),
        (ThroughputStatus::InService, 3),
        (ThroughputStatus::Updating, 3),
        (ThroughputStatus::Failed, 0),
    ] {
        status.throughput_status = Some(state);
        assert_eq!(units_in_service(&status), units, "{state:?}");
    }
}

#[test]
fn a_refused_unit_quota_says_aws_must_grant_model_units_first() {
    let error = BedrockError {
        operation: "CreateProvisionedModelThroughput",
        class: crate::bedrock::ErrorClass::from_code("ServiceQuotaExceededException", Some(400)),
        code: Some("ServiceQuotaExceededException".into()),
        message: Some("model units exceed the quota".into()),
        source: None,
    };
    let desired = outcome::failure_conditions(&error, &WORDS.subject(NAME), 1, &Timing::default())
        .expect("shown at once");
    let synced = desired
        .iter()
        .find(|d| d.type_ == conditions::SYNCED)
        .expect("Synced");
    assert_eq!(synced.reason, reason::QUOTA_EXCEEDED);
    assert!(
        synced.message.contains("granted to the account by AWS"),
        "{}",
        synced.message
    );
}

#[test]
fn the_polls_of_a_swap_write_nothing_after_the_plan_that_started_it() {
    let resource = in_service(by_ref("nova-v4"), V3);
    let observation = observe(resolved(V4), Some(remote(ThroughputState::InService, V3)));
    let mut started = plan(&resource, &observation);
    after_update(&mut started, &Timing::default());
    let mut updating = resource.clone();
    updating.status = Some(started.status.clone());
    let mut found = remote(ThroughputState::Updating, V3);
    found.desired_model_arn = V4.into();
    let poll = plan(&updating, &observe(resolved(V4), Some(found)));
    assert_eq!(
        poll.conditions, started.conditions,
        "the same conditions: no write"
    );
    assert_eq!(poll.status, started.status, "the same status: no write");
    assert!(poll.events.is_empty(), "{:?}", poll.events);
}
