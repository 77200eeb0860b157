//! Tests of `precheck`: an invalid spec or a change to an immutable field stops before any
//! AWS call.

use super::*;

/// One `precheck` case: a resource and the region it resolves to, and whether the precheck
/// blocks it (no AWS call, both conditions False naming the fields, one warning event).
struct PrecheckCase {
    name: &'static str,
    resource: BedrockCustomModel,
    region: &'static str,
    /// `None`: the precheck lets the reconcile go on.
    reason: Option<&'static str>,
    /// Each must appear in the message of both conditions.
    fields: Vec<&'static str>,
    /// Must not appear in the message.
    not_fields: Vec<&'static str>,
}

impl PrecheckCase {
    /// The precheck lets the reconcile go on.
    fn passes(name: &'static str, resource: BedrockCustomModel, region: &'static str) -> Self {
        PrecheckCase {
            name,
            resource,
            region,
            reason: None,
            fields: vec![],
            not_fields: vec![],
        }
    }

    /// A never-reconciled resource with `spec` is InvalidSpec, naming `field`.
    fn invalid(name: &'static str, spec: BedrockCustomModelSpec, field: &'static str) -> Self {
        PrecheckCase {
            name,
            resource: resource(spec, None),
            region: REGION,
            reason: Some(reason::INVALID_SPEC),
            fields: vec![field],
            not_fields: vec![],
        }
    }

    /// A model created from [`spec`] and last seen in `state`, now with `spec`, is
    /// ImmutableFieldChanged, naming `fields` and none of `not_fields`.
    fn immutable(
        name: &'static str,
        spec: BedrockCustomModelSpec,
        state: &str,
        region: &'static str,
        fields: Vec<&'static str>,
        not_fields: Vec<&'static str>,
    ) -> Self {
        PrecheckCase {
            name,
            resource: resource(spec, Some(status_in(state))),
            region,
            reason: Some(reason::IMMUTABLE_FIELD_CHANGED),
            fields,
            not_fields,
        }
    }

    fn check(self) {
        let got = precheck(&self.resource, self.region);
        let Some(want) = self.reason else {
            assert_eq!(got, None, "{}: expected no precheck plan", self.name);
            return;
        };
        let plan = got.unwrap_or_else(|| panic!("{}: expected a {want} plan, got None", self.name));
        assert!(
            plan.actions.is_empty(),
            "{}: no AWS call, got {:?}",
            self.name,
            plan.actions
        );
        assert_eq!(plan.next, Next::AwaitChange, "{}: next", self.name);
        for type_ in [conditions::READY, conditions::SYNCED] {
            let c = condition(&plan, type_, self.name);
            assert!(!c.status, "{}: {type_} must be False", self.name);
            assert_eq!(c.reason, want, "{}: {type_} reason", self.name);
            for field in &self.fields {
                assert!(
                    c.message.contains(field),
                    "{}: {type_} message should name {field}: {}",
                    self.name,
                    c.message
                );
            }
            for field in &self.not_fields {
                assert!(
                    !c.message.contains(field),
                    "{}: {type_} message should not name {field}: {}",
                    self.name,
                    c.message
                );
            }
        }
        assert_eq!(
            events(&plan),
            vec![(want, true)],
            "{}: one warning event",
            self.name
        );
        assert_eq!(
            plan.status.observed_generation,
            Some(GENERATION),
            "{}: observedGeneration",
            self.name
        );
        let before = self.resource.status.clone().unwrap_or_default();
        assert_eq!(
            plan.status.model_arn, before.model_arn,
            "{}: modelArn kept",
            self.name
        );
        assert_eq!(
            plan.status.created_with, before.created_with,
            "{}: createdWith kept",
            self.name
        );
    }
}

#[test]
fn precheck_passes_a_valid_never_reconciled_spec() {
    PrecheckCase::passes("valid, never reconciled", resource(spec(), None), REGION).check();
}

#[test]
fn precheck_passes_a_model_package_spec_without_role() {
    PrecheckCase::passes(
        "valid model package spec without role",
        resource(
            spec_with(|s| {
                s.source = ModelSource {
                    s3_uri: None,
                    model_package_arn: Some(PACKAGE_ARN.into()),
                };
                s.role_arn = None;
            }),
            None,
        ),
        REGION,
    )
    .check();
}

#[test]
fn precheck_passes_an_unchanged_active_model() {
    PrecheckCase::passes(
        "valid, Active and unchanged",
        resource(spec(), Some(status_in("Active"))),
        REGION,
    )
    .check();
}

#[test]
fn precheck_passes_changes_to_tags_and_policies() {
    PrecheckCase::passes(
        "tags and deletionPolicy are mutable",
        resource(
            spec_with(|s| {
                s.tags = map(&[("env", "prod")]);
                s.deletion_policy = DeletionPolicy::Retain;
                s.adoption_policy = AdoptionPolicy::Adopt;
            }),
            Some(status_in("Active")),
        ),
        REGION,
    )
    .check();
}

#[test]
fn precheck_blocks_a_bad_model_name() {
    PrecheckCase::invalid(
        "bad modelName",
        spec_with(|s| s.model_name = Some("bad--name".into())),
        "spec.modelName",
    )
    .check();
}

#[test]
fn precheck_blocks_both_sources() {
    PrecheckCase::invalid(
        "both sources",
        spec_with(|s| s.source.model_package_arn = Some(PACKAGE_ARN.into())),
        "spec.source",
    )
    .check();
}

#[test]
fn precheck_blocks_no_source() {
    PrecheckCase::invalid(
        "no source",
        spec_with(|s| s.source = ModelSource::default()),
        "spec.source",
    )
    .check();
}

#[test]
fn precheck_blocks_a_bad_s3_uri() {
    PrecheckCase::invalid(
        "bad s3Uri",
        spec_with(|s| s.source.s3_uri = Some("s3://My-Bucket/model/".into())),
        "spec.source.s3Uri",
    )
    .check();
}

#[test]
fn precheck_blocks_s3_uri_without_role_arn() {
    PrecheckCase::invalid(
        "s3Uri without roleArn",
        spec_with(|s| s.role_arn = None),
        "spec.roleArn",
    )
    .check();
}

#[test]
fn precheck_blocks_a_bad_kms_key_arn() {
    PrecheckCase::invalid(
        "bad kmsKeyArn",
        spec_with(|s| s.kms_key_arn = Some("alias/my-key".into())),
        "spec.kmsKeyArn",
    )
    .check();
}

#[test]
fn precheck_blocks_a_reserved_tag_key() {
    PrecheckCase::invalid(
        "reserved tag key",
        spec_with(|s| {
            s.tags.insert("aws:x".into(), "y".into());
        }),
        "spec.tags[\"aws:x\"]",
    )
    .check();
}

#[test]
fn precheck_blocks_a_bad_region() {
    PrecheckCase::invalid(
        "bad region",
        spec_with(|s| s.region = Some("US-EAST-1".into())),
        "spec.region",
    )
    .check();
}

/// An invalid spec is reported even while a model exists.
#[test]
fn precheck_blocks_an_invalid_spec_on_an_active_model() {
    PrecheckCase {
        name: "invalid spec on an Active model",
        resource: resource(
            spec_with(|s| s.role_arn = Some("not-an-arn".into())),
            Some(status_in("Active")),
        ),
        region: REGION,
        reason: Some(reason::INVALID_SPEC),
        fields: vec!["spec.roleArn"],
        not_fields: vec![],
    }
    .check();
}

#[test]
fn precheck_blocks_model_name_changed_while_active() {
    PrecheckCase::immutable(
        "modelName changed while Active",
        spec_with(|s| s.model_name = Some("renamed".into())),
        "Active",
        REGION,
        vec!["spec.modelName"],
        vec!["spec.source", "spec.roleArn"],
    )
    .check();
}

#[test]
fn precheck_blocks_source_changed_while_active() {
    PrecheckCase::immutable(
        "source changed while Active",
        spec_with(|s| s.source.s3_uri = Some("s3://my-bucket/models/nova-v2/".into())),
        "Active",
        REGION,
        vec!["spec.source"],
        vec!["spec.modelName", "spec.roleArn"],
    )
    .check();
}

#[test]
fn precheck_blocks_role_arn_changed_while_active() {
    PrecheckCase::immutable(
        "roleArn changed while Active",
        spec_with(|s| s.role_arn = Some(OTHER_ROLE.into())),
        "Active",
        REGION,
        vec!["spec.roleArn"],
        vec!["spec.source", "spec.kmsKeyArn"],
    )
    .check();
}

#[test]
fn precheck_blocks_kms_key_arn_added_while_active() {
    PrecheckCase::immutable(
        "kmsKeyArn added while Active",
        spec_with(|s| s.kms_key_arn = Some(KMS.into())),
        "Active",
        REGION,
        vec!["spec.kmsKeyArn"],
        vec!["spec.roleArn"],
    )
    .check();
}

#[test]
fn precheck_blocks_region_changed_while_active() {
    PrecheckCase::immutable(
        "region changed while Active",
        spec(),
        "Active",
        "eu-west-1",
        vec!["spec.region"],
        vec!["spec.modelName"],
    )
    .check();
}

#[test]
fn precheck_blocks_several_fields_changed_while_creating_naming_each() {
    PrecheckCase::immutable(
        "several fields changed while Creating",
        spec_with(|s| {
            s.model_name = Some("renamed".into());
            s.role_arn = Some(OTHER_ROLE.into());
            s.kms_key_arn = Some(KMS.into());
        }),
        "Creating",
        REGION,
        vec!["spec.modelName", "spec.roleArn", "spec.kmsKeyArn"],
        vec!["spec.source"],
    )
    .check();
}

#[test]
fn precheck_leaves_immutable_changes_of_a_failed_model_to_plan_apply() {
    PrecheckCase::passes(
        "same change while Failed is left to plan_apply",
        resource(
            spec_with(|s| {
                s.model_name = Some("renamed".into());
                s.role_arn = Some(OTHER_ROLE.into());
            }),
            Some(status_in("Failed")),
        ),
        REGION,
    )
    .check();
}

#[test]
fn precheck_passes_a_region_change_while_failed() {
    PrecheckCase::passes(
        "region change while Failed",
        resource(spec(), Some(status_in("Failed"))),
        "eu-west-1",
    )
    .check();
}

#[test]
fn precheck_passes_changes_before_a_model_exists() {
    PrecheckCase::passes(
        "no model yet (status without modelArn)",
        resource(
            spec_with(|s| s.role_arn = Some(OTHER_ROLE.into())),
            Some(status_with("Creating", |st| st.model_arn = None)),
        ),
        REGION,
    )
    .check();
}

/// Source and roleArn of an adopted model are unknown, so they are not compared.
#[test]
fn precheck_passes_a_role_change_on_an_adopted_model() {
    let adopted = CreatedWith {
        model_name: NAME.into(),
        source: None,
        role_arn: None,
        kms_key_arn: None,
        region: REGION.into(),
        adopted: true,
    };
    PrecheckCase::passes(
        "adopted model: source and roleArn are unknown, so not compared",
        resource(
            spec_with(|s| s.role_arn = Some(OTHER_ROLE.into())),
            Some(status_with("Active", |st| st.created_with = Some(adopted))),
        ),
        REGION,
    )
    .check();
}

#[test]
fn precheck_announces_a_block_once() {
    let first_resource = resource(
        spec_with(|s| s.role_arn = Some(OTHER_ROLE.into())),
        Some(status_in("Active")),
    );
    let first = precheck(&first_resource, REGION).expect("immutable change is blocked");
    assert_eq!(first.events.len(), 1, "first block announces itself");

    // The status now carries the same Synced condition: the next reconcile stays quiet.
    let mut status = status_in("Active");
    status.conditions = conditions::merge(&[], &first.conditions, Some(GENERATION), &time(100));
    let again = precheck(&resource(first_resource.spec.clone(), Some(status)), REGION)
        .expect("still blocked");
    assert_eq!(again.conditions, first.conditions);
    assert!(
        again.events.is_empty(),
        "no repeated event: {:?}",
        again.events
    );
}
