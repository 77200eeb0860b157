//! The shared match on an import: taken back after a crash, another's (NameConflict), adopted;
//! a fixed field changed; the tenant guards.

use super::*;
use crate::api::AdoptionPolicy;
use crate::controller::guards::Guards;

#[test]
fn a_model_imported_for_this_resource_before_a_crash_is_taken_back_without_a_new_job() {
    let resource = resource(None);
    let plan = plan(
        &resource,
        &observe(Some(import(JobState::Completed)), Some(owned())),
    );
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.status.job_arn.as_deref(), Some(JOB_ARN));
    assert_eq!(plan.status.imported_model_arn.as_deref(), Some(MODEL_ARN));
}

#[test]
fn a_model_taken_back_records_the_source_its_job_ran_with_so_a_changed_spec_is_refused() {
    // The spec's source changed between the create and a crash before the status write.
    let mut resource = resource(None);
    resource.spec.source.s3_uri = "s3://my-bucket/llama-v2/".into();
    let plan = plan(
        &resource,
        &observe(Some(import(JobState::Completed)), Some(owned())),
    );
    let created = plan.status.created_with.clone().expect("recorded");
    assert_eq!(created.s3_uri, S3_URI, "what the job imported");
    let held = BedrockImportedModel {
        status: Some(plan.status),
        ..resource
    };
    let refused = immutable_changed(&held, REGION).expect("refused");
    assert_eq!(
        reason_of(&refused, conditions::READY),
        (false, reason::IMMUTABLE_FIELD_CHANGED.to_string())
    );
}

#[test]
fn a_model_of_the_name_that_is_not_this_resources_is_a_name_conflict() {
    let resource = resource(None);
    let plan = plan(
        &resource,
        &observe(
            Some(import(JobState::Completed)),
            Some(map(&[("team", "other")])),
        ),
    );
    assert!(plan.actions.is_empty());
    assert_eq!(
        reason_of(&plan, conditions::READY),
        (false, reason::NAME_CONFLICT.to_string())
    );
    assert_eq!(
        plan.status.job_arn, None,
        "deleting this resource never deletes it"
    );
}

#[test]
fn with_adopt_an_untagged_model_is_claimed_through_its_job_and_the_model_tagged_once() {
    let mut resource = resource(None);
    resource.spec.adoption_policy = AdoptionPolicy::Adopt;
    let plan = plan(
        &resource,
        &observe(Some(import(JobState::Completed)), Some(BTreeMap::new())),
    );
    assert!(
        matches!(&plan.actions[0], Call::Claim { arn, tags } if arn == JOB_ARN && *tags == owned()),
        "{:?}",
        plan.actions
    );
    assert!(
        plan.actions.iter().any(
            |call| matches!(call, Call::Tag { arn, tags } if arn == MODEL_ARN && *tags == owned())
        ),
        "{:?}",
        plan.actions
    );
    assert!(plan.status.created_with.as_ref().is_some_and(|c| c.adopted));
    assert_eq!(plan.events[0].reason, event::ADOPTED);
}

#[test]
fn a_fixed_field_may_change_only_while_no_live_import_is_held() {
    for (name, status, refused) in [
        ("nothing held", None, false),
        ("a failed import", Some(holding(JobStatus::Failed)), false),
        (
            "an import in progress",
            Some(holding(JobStatus::InProgress)),
            true,
        ),
        (
            "a completed import",
            Some(holding(JobStatus::Completed)),
            true,
        ),
    ] {
        let mut resource = resource(status);
        resource.spec.source.s3_uri = "s3://my-bucket/llama-v2/".into();
        let plan = immutable_changed(&resource, REGION);
        assert_eq!(plan.is_some(), refused, "{name}");
        if let Some(plan) = plan {
            assert_eq!(
                reason_of(&plan, conditions::READY),
                (false, reason::IMMUTABLE_FIELD_CHANGED.to_string())
            );
            assert!(plan.conditions[0].message.contains("spec.source"), "{name}");
        }
    }
}

#[test]
fn a_role_or_key_outside_the_tenant_guards_is_refused_naming_the_field() {
    let only = |patterns: &str| patterns.parse().expect("patterns");
    let guards = Guards {
        allowed_role_arns: only("arn:aws:iam::123456789012:role/Allowed"),
        allowed_kms_key_arns: only("arn:aws:kms:*"),
        ..Guards::default()
    };
    let mut resource = resource(None);
    resource.spec.kms_key_id = Some("alias/my-key".into());
    let plan = guards_refused(&resource, &guards).expect("refused");
    let message = &plan.conditions[0].message;
    assert!(message.contains("spec.roleArn"), "{message}");
    assert!(message.contains("spec.kmsKeyId"), "{message}");
    assert!(plan.actions.is_empty());
}
