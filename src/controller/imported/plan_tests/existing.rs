//! An import that exists: in progress, Completed, Failed, its model gone, its tags.

use super::*;

#[test]
fn a_job_in_progress_is_polled_with_no_call() {
    let resource = resource(Some(holding(JobStatus::InProgress)));
    let plan = plan(
        &resource,
        &observe(Some(import(JobState::InProgress)), None),
    );
    assert!(plan.actions.is_empty());
    assert_eq!(
        reason_of(&plan, conditions::READY),
        (false, reason::CREATING.to_string())
    );
    assert!(matches!(plan.next, outcome::Next::Poll(_)));
}

#[test]
fn a_completed_job_shows_its_model_ready_and_announces_it_once() {
    for (name, before, announced) in [
        ("just completed", holding(JobStatus::InProgress), 1),
        (
            "completed before",
            {
                let mut s = holding(JobStatus::Completed);
                s.imported_model_arn = Some(MODEL_ARN.into());
                s
            },
            0,
        ),
    ] {
        let resource = resource(Some(before));
        let plan = plan(&resource, &observe(Some(import(JobState::Completed)), None));
        assert!(plan.actions.is_empty(), "{name}: tags not read, no call");
        assert_eq!(
            reason_of(&plan, conditions::READY),
            (true, reason::ACTIVE.to_string()),
            "{name}"
        );
        let status = &plan.status;
        assert_eq!(
            status.imported_model_arn.as_deref(),
            Some(MODEL_ARN),
            "{name}"
        );
        assert_eq!(
            status.model_architecture.as_deref(),
            Some("llama3"),
            "{name}"
        );
        assert_eq!(status.instruct_supported, Some(true), "{name}");
        assert_eq!(
            status
                .custom_model_units
                .as_ref()
                .and_then(|u| u.custom_model_units_per_model_copy),
            Some(1),
            "{name}"
        );
        assert_eq!(plan.events.len(), announced, "{name}");
    }
}

#[test]
fn a_failed_job_shows_bedrocks_message_and_a_new_retry_value_starts_a_new_import() {
    let resource = resource(Some(holding(JobStatus::Failed)));
    let failed = plan(&resource, &observe(Some(import(JobState::Failed)), None));
    assert!(failed.actions.is_empty(), "no call while nothing changes");
    assert_eq!(
        reason_of(&failed, conditions::READY),
        (false, reason::FAILED.to_string())
    );
    let message = &failed.conditions[0].message;
    assert!(
        message.contains("could not be validated") && message.contains(RETRY_ANNOTATION),
        "{message}"
    );

    let mut retried = resource.clone();
    retried.metadata.annotations = Some(map(&[(RETRY_ANNOTATION, "1")]));
    let plan = plan(&retried, &observe(Some(import(JobState::Failed)), None));
    assert_eq!(
        plan.actions,
        vec![Call::Delete {
            arn: JOB_ARN.into()
        }],
        "the failed import is let go (it has no model to delete)"
    );
    assert_eq!(plan.status.job_arn, None);
    assert_eq!(plan.status.recreations, 1, "the next job has a new name");
    assert_eq!(plan.status.retry_handled.as_deref(), Some("1"));
}

#[test]
fn a_completed_job_whose_model_disappeared_imports_it_again_with_a_warning() {
    let mut before = holding(JobStatus::Completed);
    before.imported_model_arn = Some(MODEL_ARN.into());
    let resource = resource(Some(before));
    let gone = RemoteImport::new(job(JobState::Completed), None);
    let plan = plan(&resource, &observe(Some(gone), None));
    assert!(
        matches!(plan.actions.as_slice(), [Call::Create(_)]),
        "{:?}",
        plan.actions
    );
    assert_eq!(plan.status.recreations, 1);
    assert_eq!(plan.events[0].reason, event::MODEL_MISSING);
}

#[test]
fn a_spec_tag_change_is_made_on_the_job_and_on_the_model() {
    let mut before = holding(JobStatus::Completed);
    before.imported_model_arn = Some(MODEL_ARN.into());
    before.tags_synced_generation = Some(GENERATION - 1);
    let mut resource = resource(Some(before));
    resource.spec.tags = map(&[("team", "search")]);
    let remote_tags = owned();
    let plan = plan(
        &resource,
        &observe(Some(import(JobState::Completed)), Some(remote_tags)),
    );
    let tagged: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|call| match call {
            Call::Tag { arn, tags } if tags.get("team").map(String::as_str) == Some("search") => {
                Some(arn.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(tagged, vec![MODEL_ARN, JOB_ARN]);
    assert_eq!(plan.status.tags_synced_generation, Some(GENERATION));
}

#[test]
fn a_model_whose_job_record_is_gone_is_held_by_its_own_arn_and_tagged_once() {
    let forgotten = ImportJob::forgotten(&model());
    assert_eq!(forgotten.arn, MODEL_ARN);
    let mut before = holding(JobStatus::Completed);
    before.job_arn = Some(MODEL_ARN.into());
    before.imported_model_arn = Some(MODEL_ARN.into());
    before.tags_synced_generation = Some(GENERATION - 1);
    let mut resource = resource(Some(before));
    resource.spec.tags = map(&[("team", "search")]);
    let import = RemoteImport::new(forgotten, Some(model()));
    let plan = plan(&resource, &observe(Some(import), Some(owned())));

    assert_eq!(plan.status.job_arn.as_deref(), Some(MODEL_ARN));
    assert_eq!(plan.status.job_name, None);
    assert_eq!(plan.status.job_status, Some(JobStatus::Completed));
    assert_eq!(plan.status.model_architecture.as_deref(), Some("llama3"));
    let tagged: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|call| match call {
            Call::Tag { arn, .. } => Some(arn.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(tagged, vec![MODEL_ARN], "one call on the model");
    assert_eq!(
        reason_of(&plan, conditions::READY),
        (true, reason::ACTIVE.to_string())
    );
}
