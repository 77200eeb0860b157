//! Starting an import: the request, its token and its job name.

use super::*;

#[test]
fn nothing_held_and_nothing_found_starts_one_import_job_with_the_owner_tags() {
    let resource = resource(None);
    let plan = plan(&resource, &observe(None, None));
    let [Call::Create(request)] = plan.actions.as_slice() else {
        panic!("one create: {:?}", plan.actions)
    };
    assert_eq!(request.imported_model_name, NAME);
    assert_eq!(request.s3_uri, S3_URI);
    assert_eq!(request.role_arn, ROLE);
    assert_eq!(request.tags, owned(), "the spec's tags and the owner tags");
    assert!(request.client_request_token.starts_with("bim-"));
    assert_eq!(
        request.job_name,
        job_name(NAME, &request.client_request_token)
    );
    assert_eq!(
        reason_of(&plan, conditions::READY),
        (false, reason::CREATING.to_string())
    );
    assert_eq!(plan.events[0].reason, reason::CREATING);
}

#[test]
fn the_same_attempt_sends_the_same_token_and_job_name_and_a_new_attempt_new_ones() {
    let resource = resource(None);
    let valid = crate::api::imported::validate_imported(&resource).expect("valid");
    let first = create_request(&resource, &valid, REGION, 0, CLUSTER);
    let again = create_request(&resource, &valid, REGION, 0, CLUSTER);
    let retried = create_request(&resource, &valid, REGION, 1, CLUSTER);
    assert_eq!(first, again, "a crash or a retry repeats the same request");
    assert_ne!(first.client_request_token, retried.client_request_token);
    assert_ne!(
        first.job_name, retried.job_name,
        "job names are unique in Bedrock"
    );
}

#[test]
fn job_names_fit_bedrocks_job_name_pattern() {
    let long = "a_".repeat(31) + "b";
    let pattern = regex::Regex::new(r"^[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*$").expect("regex");
    for (name, model) in [
        ("underscores become hyphens", NAME),
        ("a long name is shortened", long.as_str()),
    ] {
        let job = job_name(model, "bim-0123456789abcdef0123");
        assert!(job.len() <= 63, "{name}: {job}");
        assert!(job.ends_with("-0123456789ab"), "{name}: {job}");
        assert!(pattern.is_match(&job), "{name}: {job}");
    }
}

#[test]
fn after_the_create_the_status_holds_the_job_in_progress() {
    let resource = resource(None);
    let mut plan = plan(&resource, &observe(None, None));
    let Call::Create(request) = plan.actions[0].clone() else {
        panic!("a create")
    };
    after_create(
        &mut plan,
        &resource,
        &request,
        REGION,
        JOB_ARN.into(),
        &Timing::default(),
    );
    assert_eq!(plan.status.job_arn.as_deref(), Some(JOB_ARN));
    assert_eq!(plan.status.job_name, Some(request.job_name));
    assert_eq!(plan.status.job_status, Some(JobStatus::InProgress));
    assert_eq!(plan.status.tags_synced_generation, Some(GENERATION));
}
