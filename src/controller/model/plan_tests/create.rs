//! Tests of creating a model: the create call and its request, taking back a model this
//! resource created (a crash after the create), re-creation of a model gone out of band, the
//! idempotency token, and where the observe step looks.

use super::*;
use regex::Regex;

#[test]
fn nothing_exists_creates() {
    ApplyCase {
        name: "nothing exists: create",
        resource: resource(spec(), None),
        observation: nothing_observed(),
        elapsed: None,
        actions: vec![Action::Create(expected_create(&spec(), 0))],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            managed_tag_keys: keys(&["team"]),
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
fn nothing_exists_creates_with_model_name_and_package_source() {
    ApplyCase {
        name: "nothing exists, modelName and package source: create",
        resource: resource(package(), None),
        observation: nothing_observed(),
        elapsed: None,
        actions: vec![Action::Create(expected_create(&package(), 0))],
        status: BedrockCustomModelStatus {
            model_name: Some("nova-ft_v2".into()),
            ..base(BedrockCustomModelStatus {
                region: Some(REGION.into()),
                ..Default::default()
            })
        },
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec!["nova-ft_v2"],
        events: vec![("Creating", false)],
        next: Next::Soon,
    }
    .check();
}

#[test]
fn ours_by_name_still_creating_is_taken_back_silently() {
    let timing = Timing::default();
    ApplyCase {
        name: "ours by name (crash after create), still Creating: taken back silently",
        resource: resource(spec(), None),
        observation: observed(
            remote(ModelState::Creating),
            Some(remote_tags(&[("team", "ml")])),
        ),
        elapsed: Some(Duration::ZERO),
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            model_arn: Some(ARN.into()),
            region: Some(REGION.into()),
            model_status: Some(ModelStatus::Creating),
            // Recorded once the import is over.
            creation_time: None,
            created_with: Some(created_with_default()),
            ..Default::default()
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
fn ours_by_name_active_is_taken_back_without_adoption() {
    ApplyCase {
        name: "ours by name, Active: taken back without adoption",
        resource: resource(spec(), None),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml")])),
        ),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            model_arn: Some(ARN.into()),
            region: Some(REGION.into()),
            model_status: Some(ModelStatus::Active),
            creation_time: Some(CREATED_AT.into()),
            created_with: Some(created_with_default()),
            managed_tag_keys: keys(&["team"]),
            ..Default::default()
        }),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Active", false)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn known_model_gone_out_of_band_is_recreated_with_a_new_token() {
    ApplyCase {
        name: "known model gone out-of-band: re-created with a new token",
        resource: resource(spec(), Some(status_in("Active"))),
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
        events: vec![("ModelMissing", true), ("Creating", false)],
        next: Next::Soon,
    }
    .check();
}

#[test]
fn crash_after_create_takes_the_model_back() {
    let timing = Timing::default();
    let fresh = resource(spec(), None);
    let first = plan_apply(
        &fresh,
        &valid(&fresh),
        REGION,
        &nothing_observed(),
        &timing,
        None,
    );
    let Some(Action::Create(request)) = first.actions.first() else {
        panic!("expected a create, got {:?}", first.actions);
    };

    // The operator crashed before writing the status: it looks by name and finds a model
    // carrying the tags its own create sent.
    assert_eq!(lookup(&fresh), Lookup::ByName(NAME.into()));
    let found = observed(remote(ModelState::Creating), Some(request.tags.clone()));
    let again = plan_apply(
        &fresh,
        &valid(&fresh),
        REGION,
        &found,
        &timing,
        Some(Duration::from_secs(1)),
    );
    assert!(
        again.actions.is_empty(),
        "no second create: {:?}",
        again.actions
    );
    assert_eq!(again.status.model_arn.as_deref(), Some(ARN));
    assert_eq!(again.status.created_with, Some(created_with_default()));
    assert!(
        events(&again).is_empty(),
        "taken back silently: {:?}",
        again.events
    );
    assert_eq!(again.next, Next::Poll(Duration::from_secs(1)));

    // Another resource with the same model name sees the same model as foreign.
    let mut other = resource(spec(), None);
    other.metadata.uid = Some("another-uid".into());
    let conflict = plan_apply(&other, &valid(&other), REGION, &found, &timing, None);
    assert!(conflict.actions.is_empty());
    assert_eq!(
        condition(&conflict, conditions::READY, "other resource").reason,
        reason::NAME_CONFLICT
    );
}

#[test]
fn create_request_carries_operator_and_spec_tags() {
    let spec = spec_with(|s| s.tags = map(&[("team", "ml"), ("env", "prod")]));
    let request = create_request(
        &resource(spec.clone(), None),
        &valid(&resource(spec, None)),
        REGION,
        0,
        CLUSTER,
    );
    assert_eq!(
        request.tags,
        map(&[
            ("team", "ml"),
            ("env", "prod"),
            (tags::OWNER, "ml/my-model"),
            (tags::OWNER_UID, UID),
            (tags::CLUSTER, CLUSTER),
        ])
    );
    assert_eq!(request.source, Source::S3Uri(S3_URI.into()));
    assert_eq!(request.role_arn.as_deref(), Some(ROLE));
}

#[test]
fn after_create_records_the_model() {
    let timing = Timing::default();
    let resource = resource(spec(), None);
    let mut plan = plan_apply(
        &resource,
        &valid(&resource),
        REGION,
        &nothing_observed(),
        &timing,
        None,
    );
    after_create(&mut plan, &resource, REGION, ARN.into(), &timing, false);
    assert_eq!(plan.status.model_arn.as_deref(), Some(ARN));
    assert_eq!(plan.status.model_status, Some(ModelStatus::Creating));
    assert_eq!(plan.status.created_with, Some(created_with_default()));
    assert_eq!(
        plan.status.tags_synced_generation,
        Some(GENERATION),
        "the create carried the tags of this generation"
    );
    assert_eq!(plan.next, Next::Poll(timing.poll_initial));

    // With a sweep watching the region, the model's own poll is only the back-up.
    let mut swept = plan_apply(
        &resource,
        &valid(&resource),
        REGION,
        &nothing_observed(),
        &timing,
        None,
    );
    after_create(&mut swept, &resource, REGION, ARN.into(), &timing, true);
    assert_eq!(swept.next, Next::Poll(timing.sweep_fallback));
}

#[test]
fn lookup_by_arn_when_known_else_by_name() {
    let cases = [
        (
            "no status",
            resource(spec(), None),
            Lookup::ByName(NAME.into()),
        ),
        (
            "status without arn",
            resource(
                spec_with(|s| s.model_name = Some("custom".into())),
                Some(BedrockCustomModelStatus::default()),
            ),
            Lookup::ByName("custom".into()),
        ),
        (
            "arn known",
            resource(spec(), Some(status_in("Active"))),
            Lookup::ByArn(ARN.into()),
        ),
    ];
    for (name, resource, want) in cases {
        assert_eq!(lookup(&resource), want, "{name}");
    }
}

#[test]
fn client_request_token_is_deterministic_and_distinct() {
    let token_pattern =
        Regex::new(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?$").expect("pattern");
    let request = expected_create(&spec(), 0);
    let reference = client_request_token(UID, &request, REGION, 0);

    let with = |change: &dyn Fn(&mut CreateRequest)| {
        let mut changed = request.clone();
        change(&mut changed);
        changed
    };
    struct Case {
        name: &'static str,
        uid: &'static str,
        request: CreateRequest,
        region: &'static str,
        recreations: i32,
        same: bool,
    }
    let cases = vec![
        Case {
            name: "same inputs",
            uid: UID,
            request: request.clone(),
            region: REGION,
            recreations: 0,
            same: true,
        },
        Case {
            name: "the token field itself is not an input",
            uid: UID,
            request: with(&|r| r.client_request_token = "anything".into()),
            region: REGION,
            recreations: 0,
            same: true,
        },
        Case {
            name: "re-created once",
            uid: UID,
            request: request.clone(),
            region: REGION,
            recreations: 1,
            same: false,
        },
        Case {
            name: "re-created twice",
            uid: UID,
            request: request.clone(),
            region: REGION,
            recreations: 2,
            same: false,
        },
        Case {
            name: "another resource (uid)",
            uid: "7d0e7c4a-0000-4000-8000-000000000000",
            request: request.clone(),
            region: REGION,
            recreations: 0,
            same: false,
        },
        Case {
            name: "another region",
            uid: UID,
            request: request.clone(),
            region: "eu-west-1",
            recreations: 0,
            same: false,
        },
        Case {
            name: "another model name",
            uid: UID,
            request: with(&|r| r.model_name = "other".into()),
            region: REGION,
            recreations: 0,
            same: false,
        },
        Case {
            name: "another s3Uri",
            uid: UID,
            request: with(&|r| r.source = Source::S3Uri("s3://my-bucket/other/".into())),
            region: REGION,
            recreations: 0,
            same: false,
        },
        Case {
            name: "same string as a model package",
            uid: UID,
            request: with(&|r| r.source = Source::ModelPackageArn(S3_URI.into())),
            region: REGION,
            recreations: 0,
            same: false,
        },
        Case {
            name: "another role",
            uid: UID,
            request: with(&|r| r.role_arn = Some(OTHER_ROLE.into())),
            region: REGION,
            recreations: 0,
            same: false,
        },
        Case {
            name: "a kms key",
            uid: UID,
            request: with(&|r| r.kms_key_arn = Some(KMS.into())),
            region: REGION,
            recreations: 0,
            same: false,
        },
        Case {
            name: "another tag value",
            uid: UID,
            request: with(&|r| {
                r.tags.insert("team".into(), "data".into());
            }),
            region: REGION,
            recreations: 0,
            same: false,
        },
        Case {
            name: "an extra tag",
            uid: UID,
            request: with(&|r| {
                r.tags.insert("env".into(), "prod".into());
            }),
            region: REGION,
            recreations: 0,
            same: false,
        },
    ];
    for case in cases {
        let token = client_request_token(case.uid, &case.request, case.region, case.recreations);
        assert!(
            token_pattern.is_match(&token),
            "{}: {token} does not match Bedrock's clientRequestToken pattern",
            case.name
        );
        assert!(token.len() <= 256, "{}: token too long", case.name);
        assert_eq!(
            token == reference,
            case.same,
            "{}: {token} vs {reference}",
            case.name
        );
    }
}

#[test]
fn create_request_token_follows_recreations() {
    let resource = resource(spec(), None);
    let first = create_request(&resource, &valid(&resource), REGION, 0, CLUSTER);
    let again = create_request(&resource, &valid(&resource), REGION, 0, CLUSTER);
    let recreated = create_request(&resource, &valid(&resource), REGION, 1, CLUSTER);
    assert_eq!(
        first.client_request_token, again.client_request_token,
        "a retried create reuses the token"
    );
    assert_ne!(first.client_request_token, recreated.client_request_token);
    assert_eq!(
        first.client_request_token,
        client_request_token(UID, &first, REGION, 0)
    );
}
