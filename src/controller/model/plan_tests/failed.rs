//! Tests of a model Bedrock could not create: Failed reported once, replaced after an immutable
//! change or a new retry annotation, re-created when deleted out of band.

use super::*;

#[test]
fn creating_to_failed_reports_bedrocks_message_and_is_announced() {
    ApplyCase {
        name: "Creating → Failed: Ready False with Bedrock's message, announced",
        resource: resource(spec(), Some(status_in("Creating"))),
        observation: observed(remote(ModelState::Failed), None),
        elapsed: None,
        actions: vec![],
        status: base(status_in("Failed")),
        ready: (false, reason::FAILED),
        synced: (false, reason::FAILED),
        message: vec![NAME, FAILURE, RETRY_ANNOTATION],
        events: vec![("ModelFailed", true)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn still_failed_repeats_no_event() {
    ApplyCase {
        name: "still Failed: no repeated event",
        resource: resource(spec(), Some(status_in("Failed"))),
        observation: observed(remote(ModelState::Failed), None),
        elapsed: None,
        actions: vec![],
        status: base(status_in("Failed")),
        ready: (false, reason::FAILED),
        synced: (false, reason::FAILED),
        message: vec![FAILURE],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn failed_with_immutable_change_is_deleted_to_replace() {
    ApplyCase {
        name: "Failed + immutable change: delete to replace",
        resource: resource(new_role(), Some(status_in("Failed"))),
        observation: observed(remote(ModelState::Failed), None),
        elapsed: None,
        actions: vec![Action::Delete { arn: ARN.into() }],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            managed_tag_keys: keys(&["team"]),
            recreations: 1,
            ..Default::default()
        }),
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec![NAME, "spec.roleArn"],
        events: vec![("Replacing", false)],
        next: Next::Soon,
    }
    .check();
}

#[test]
fn failed_with_new_retry_annotation_is_deleted_to_retry() {
    ApplyCase {
        name: "Failed + new retry annotation: delete to retry",
        resource: resource_with(
            spec(),
            Some(status_in("Failed")),
            &[(RETRY_ANNOTATION, "2025-06-02T08:00:00Z")],
        ),
        observation: observed(remote(ModelState::Failed), None),
        elapsed: None,
        actions: vec![Action::Delete { arn: ARN.into() }],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            managed_tag_keys: keys(&["team"]),
            recreations: 1,
            retry_handled: Some("2025-06-02T08:00:00Z".into()),
            ..Default::default()
        }),
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec![NAME, RETRY_ANNOTATION],
        events: vec![("Replacing", false)],
        next: Next::Soon,
    }
    .check();
}

#[test]
fn failed_with_retry_annotation_changed_again_is_deleted_again() {
    ApplyCase {
        name: "Failed + retry annotation changed again: delete again",
        resource: resource_with(
            spec(),
            Some(status_with("Failed", |st| {
                st.retry_handled = Some("1".into());
                st.recreations = 1;
            })),
            &[(RETRY_ANNOTATION, "2")],
        ),
        observation: observed(remote(ModelState::Failed), None),
        elapsed: None,
        actions: vec![Action::Delete { arn: ARN.into() }],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            managed_tag_keys: keys(&["team"]),
            recreations: 2,
            retry_handled: Some("2".into()),
            ..Default::default()
        }),
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Replacing", false)],
        next: Next::Soon,
    }
    .check();
}

#[test]
fn failed_with_retry_annotation_already_handled_stays_failed() {
    ApplyCase {
        name: "Failed + retry annotation already handled: stays Failed",
        resource: resource_with(
            spec(),
            Some(status_with("Failed", |st| {
                st.retry_handled = Some("1".into())
            })),
            &[(RETRY_ANNOTATION, "1")],
        ),
        observation: observed(remote(ModelState::Failed), None),
        elapsed: None,
        actions: vec![],
        status: base(status_with("Failed", |st| {
            st.retry_handled = Some("1".into())
        })),
        ready: (false, reason::FAILED),
        synced: (false, reason::FAILED),
        message: vec![FAILURE],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn failed_model_deleted_out_of_band_is_recreated_without_a_warning() {
    ApplyCase {
        name: "Failed model deleted out-of-band: re-created without a warning",
        resource: resource(spec(), Some(status_in("Failed"))),
        observation: nothing_observed(),
        elapsed: None,
        actions: vec![Action::Create(expected_create(&spec(), 1))],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            managed_tag_keys: keys(&["team"]),
            recreations: 1,
            ..Default::default()
        }),
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Creating", false)],
        next: Next::Soon,
    }
    .check();
}

#[test]
fn failed_model_is_replaced_by_delete_then_create() {
    let timing = Timing::default();
    let new_role = spec_with(|s| s.role_arn = Some(OTHER_ROLE.into()));

    // Step 1: the model Failed and roleArn changed: delete it.
    let failed = resource(new_role.clone(), Some(status_in("Failed")));
    assert_eq!(precheck(&failed, REGION), None, "a Failed model may change");
    let delete = plan_apply(
        &failed,
        &valid(&failed),
        REGION,
        &observed(remote(ModelState::Failed), None),
        &timing,
        None,
    );
    assert_eq!(delete.actions, vec![Action::Delete { arn: ARN.into() }]);

    // Step 2: with that status the model is looked up by name; it is gone: create anew, with
    // the new parameters and a token that cannot return the failed model.
    let next = resource(new_role.clone(), Some(delete.status));
    assert_eq!(lookup(&next), Lookup::ByName(NAME.into()));
    assert_eq!(precheck(&next, REGION), None);
    let create = plan_apply(
        &next,
        &valid(&next),
        REGION,
        &nothing_observed(),
        &timing,
        None,
    );
    let Some(Action::Create(request)) = create.actions.first() else {
        panic!("expected a create, got {:?}", create.actions);
    };
    assert_eq!(create.actions.len(), 1);
    assert_eq!(*request, expected_create(&new_role, 1));
    assert_ne!(
        request.client_request_token,
        expected_create(&new_role, 0).client_request_token
    );
    assert_ne!(
        request.client_request_token,
        expected_create(&spec(), 0).client_request_token
    );
    assert_eq!(create.status.recreations, 1);
    assert_eq!(
        events(&create),
        vec![("Creating", false)],
        "no ModelMissing warning"
    );
}
