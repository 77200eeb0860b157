//! Tests of a model in progress: polls of a Creating model, the sweep's back-up poll, and the
//! move to Active.

use super::*;

#[test]
fn creating_model_is_polled() {
    ApplyCase {
        name: "Creating: poll",
        resource: resource(spec(), Some(status_in("Creating"))),
        observation: observed(remote(ModelState::Creating), None),
        elapsed: Some(Duration::from_secs(3)),
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            model_status: Some(ModelStatus::Creating),
            ..status_in("Creating")
        }),
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Poll(Duration::from_secs(3)),
    }
    .check();
}

#[test]
fn unknown_bedrock_status_is_treated_as_in_progress() {
    let timing = Timing::default();
    ApplyCase {
        name: "unknown Bedrock status: treated as in progress",
        resource: resource(spec(), Some(status_in("Creating"))),
        observation: observed(remote(ModelState::Other("Importing".into())), None),
        elapsed: Some(Duration::ZERO),
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            model_status: Some(ModelStatus::Unknown),
            ..status_in("Creating")
        }),
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Poll(timing.poll_initial),
    }
    .check();
}

#[test]
fn creating_to_active_is_ready_and_announced() {
    ApplyCase {
        name: "Creating → Active: Ready and announced",
        resource: resource(spec(), Some(status_in("Creating"))),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml")])),
        ),
        elapsed: None,
        actions: vec![],
        status: base(status_in("Active")),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Active", false)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn polls_of_a_creating_model_write_nothing_and_follow_the_sweep() {
    let timing = Timing::default();
    // As written right after the create: no creationTime yet.
    let created = status_with("Creating", |st| {
        st.creation_time = None;
        st.observed_generation = Some(GENERATION);
        st.tags_synced_generation = Some(GENERATION);
    });
    let resource = resource(spec(), Some(created.clone()));
    for swept in [false, true] {
        let observation = Observation {
            inputs: Inputs { swept },
            ..observed(remote(ModelState::Creating), None)
        };
        let plan = plan_apply(
            &resource,
            &valid(&resource),
            REGION,
            &observation,
            &timing,
            Some(Duration::from_secs(5)),
        );
        let mut want = created.clone();
        want.conditions.clear();
        assert_eq!(
            plan.status, want,
            "swept={swept}: the status stays as written at create, so no write"
        );
        let next = if swept {
            timing.sweep_fallback
        } else {
            poll_delay(&timing, Duration::from_secs(5))
        };
        assert_eq!(plan.next, Next::Poll(next), "swept={swept}");
    }
    // Once Active, Bedrock's creationTime is recorded with the same write.
    let plan = plan_apply(
        &resource,
        &valid(&resource),
        REGION,
        &observed(remote(ModelState::Active), None),
        &timing,
        None,
    );
    assert_eq!(plan.status.creation_time.as_deref(), Some(CREATED_AT));
    assert_eq!(plan.status.model_status, Some(ModelStatus::Active));
    assert!(
        plan.actions.is_empty(),
        "tags were not read: nothing to sync"
    );
    assert_eq!(plan.status.tags_synced_generation, Some(GENERATION));
}

#[test]
fn creating_poll_without_a_sweep_interval_ignores_swept() {
    let timing = Timing {
        sweep_interval: Duration::ZERO,
        ..Timing::default()
    };
    assert_eq!(
        creating_poll(&timing, Duration::ZERO, true),
        timing.poll_initial
    );
}
