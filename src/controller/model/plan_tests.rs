//! Table-driven tests of the reconcile decisions: plain values in, plan out.

use std::collections::BTreeMap;
use std::time::Duration;

/// The cluster the operator under test serves.
const CLUSTER: &str = "cluster-test";

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ObjectMeta;
use regex::Regex;

use super::*;

/// The status value of a Bedrock state name, as the CRD stores it.
fn status_of(state: &str) -> ModelStatus {
    serde_json::from_value(serde_json::Value::from(state)).expect("a status")
}
use crate::api::BedrockCustomModelSpec;
use crate::api::TAKE_OVER_ANNOTATION;
use crate::controller::ownership::{Liveness, Me};
use crate::controller::scope::NamespaceScope;

const NAMESPACE: &str = "ml";
const NAME: &str = "my-model";
const UID: &str = "0b6f2c1e-5d7a-4c1b-9a8e-3f2d1c0b9a87";
const GENERATION: i64 = 3;
const REGION: &str = "us-east-1";
const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abc123def456";
const S3_URI: &str = "s3://my-bucket/models/nova/";
const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/OtherRole";
const PACKAGE_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/1";
const KMS: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const CREATED_AT: &str = "2025-06-01T12:00:00Z";
const FAILURE: &str =
    "ValidationException: the model artifacts in S3 are not a supported architecture";

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| k.to_string()).collect()
}

/// A valid S3 spec with one tag.
fn spec() -> BedrockCustomModelSpec {
    BedrockCustomModelSpec {
        source: ModelSource {
            s3_uri: Some(S3_URI.into()),
            model_package_arn: None,
        },
        role_arn: Some(ROLE.into()),
        tags: map(&[("team", "ml")]),
        ..Default::default()
    }
}

fn spec_with(change: impl FnOnce(&mut BedrockCustomModelSpec)) -> BedrockCustomModelSpec {
    let mut spec = spec();
    change(&mut spec);
    spec
}

fn resource_with(
    spec: BedrockCustomModelSpec,
    status: Option<BedrockCustomModelStatus>,
    annotations: &[(&str, &str)],
) -> BedrockCustomModel {
    let mut resource = BedrockCustomModel::new(NAME, spec);
    resource.metadata = ObjectMeta {
        name: Some(NAME.into()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(UID.into()),
        generation: Some(GENERATION),
        annotations: (!annotations.is_empty()).then(|| map(annotations)),
        ..Default::default()
    };
    resource.status = status;
    resource
}

fn resource(
    spec: BedrockCustomModelSpec,
    status: Option<BedrockCustomModelStatus>,
) -> BedrockCustomModel {
    resource_with(spec, status, &[])
}

/// The parameters the default spec creates its model with.
fn created_with_default() -> CreatedWith {
    desired_parameters(&resource(spec(), None), REGION)
}

/// The status of a model created from [`spec`] and last seen in `state`.
fn status_in(state: &str) -> BedrockCustomModelStatus {
    BedrockCustomModelStatus {
        observed_generation: Some(GENERATION - 1),
        model_arn: Some(ARN.into()),
        model_name: Some(NAME.into()),
        region: Some(REGION.into()),
        model_status: Some(status_of(state)),
        failure_message: (state == "Failed").then(|| FAILURE.to_string()),
        creation_time: Some(CREATED_AT.into()),
        created_with: Some(created_with_default()),
        managed_tag_keys: keys(&["team"]),
        ..Default::default()
    }
}

fn status_with(
    state: &str,
    change: impl FnOnce(&mut BedrockCustomModelStatus),
) -> BedrockCustomModelStatus {
    let mut status = status_in(state);
    change(&mut status);
    status
}

fn remote(state: ModelState) -> RemoteModel {
    let failure_message = (state == ModelState::Failed).then(|| FAILURE.to_string());
    RemoteModel {
        arn: ARN.into(),
        name: NAME.into(),
        state,
        failure_message,
        creation_time: Some(CREATED_AT.into()),
        kms_key_arn: None,
    }
}

/// The operator's own tags for the test resource.
fn operator_tags() -> BTreeMap<String, String> {
    tags::operator_tags(NAMESPACE, NAME, UID, CLUSTER)
}

/// Tags on a model: the operator's plus `extra`.
fn remote_tags(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut all = operator_tags();
    all.extend(map(extra));
    all
}

/// Tags of a model held by team-b/m.
fn team_b_tags() -> BTreeMap<String, String> {
    let mut tags = tags::operator_tags("team-b", "m", "uid-b", CLUSTER);
    tags.insert("cost-center".into(), "42".into());
    tags
}

/// The status of a model adopted in `state`.
fn adopted_status(state: &str) -> BedrockCustomModelStatus {
    base(BedrockCustomModelStatus {
        model_arn: Some(ARN.into()),
        region: Some(REGION.into()),
        model_status: Some(status_of(state)),
        creation_time: Some(CREATED_AT.into()),
        created_with: Some(CreatedWith {
            model_name: NAME.into(),
            source: None,
            role_arn: None,
            kms_key_arn: None,
            region: REGION.into(),
            adopted: true,
        }),
        managed_tag_keys: keys(&["team"]),
        ..Default::default()
    })
}

/// Nothing found in Bedrock.
fn nothing_observed() -> Observation {
    Observation {
        cluster: CLUSTER.into(),
        ..Observation::default()
    }
}

fn observed(model: RemoteModel, tags: Option<BTreeMap<String, String>>) -> Observation {
    Observation {
        model: Some(model),
        tags,
        swept: false,
        owner: Liveness::Unknown,
        cluster: CLUSTER.into(),
    }
}

/// The CreateCustomModel request expected for `spec`, with the token of `recreations`.
fn expected_create(spec: &BedrockCustomModelSpec, recreations: i32) -> CreateRequest {
    let mut all_tags = spec.tags.clone();
    all_tags.extend(operator_tags());
    let source = match (&spec.source.s3_uri, &spec.source.model_package_arn) {
        (Some(uri), _) => Source::S3Uri(uri.clone()),
        (None, Some(arn)) => Source::ModelPackageArn(arn.clone()),
        (None, None) => unreachable!("test specs have a source"),
    };
    let mut request = CreateRequest {
        model_name: spec.model_name.clone().unwrap_or_else(|| NAME.into()),
        source,
        role_arn: spec.role_arn.clone(),
        kms_key_arn: spec.kms_key_arn.clone(),
        tags: all_tags,
        client_request_token: String::new(),
    };
    request.client_request_token = client_request_token(UID, &request, REGION, recreations);
    request
}

/// The fields every plan sets on the status, on top of what the resource had.
fn base(status: BedrockCustomModelStatus) -> BedrockCustomModelStatus {
    BedrockCustomModelStatus {
        observed_generation: Some(GENERATION),
        model_name: Some(NAME.into()),
        conditions: Vec::new(),
        ..status
    }
}

fn condition<'a>(plan: &'a Plan, type_: &str, case: &str) -> &'a Desired {
    plan.conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("{case}: no {type_} condition in {:?}", plan.conditions))
}

fn events(plan: &Plan) -> Vec<(&str, bool)> {
    plan.events
        .iter()
        .map(|e| (e.reason.as_str(), e.warning))
        .collect()
}

fn time(secs: i64) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(secs).expect("valid timestamp"))
}

// ---------------------------------------------------------------------------------------------
// precheck
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// plan_apply
// ---------------------------------------------------------------------------------------------

/// One `plan_apply` case: what the resource and Bedrock look like, and everything the plan
/// must say about it.
struct ApplyCase {
    name: &'static str,
    resource: BedrockCustomModel,
    observation: Observation,
    elapsed: Option<Duration>,
    actions: Vec<Action>,
    status: BedrockCustomModelStatus,
    ready: (bool, &'static str),
    synced: (bool, &'static str),
    /// Each must appear in the Ready message.
    message: Vec<&'static str>,
    events: Vec<(&'static str, bool)>,
    next: Next,
}

impl ApplyCase {
    fn check(self) {
        let timing = Timing::default();
        let plan = plan_apply(
            &self.resource,
            REGION,
            &self.observation,
            &timing,
            self.elapsed,
        );
        assert_eq!(plan.actions, self.actions, "{}: actions", self.name);
        // Once the model is forgotten (no modelArn), createdWith is unused until the next create
        // replaces it: whether it is kept or dropped is not behaviour, so it is not compared.
        let mut got_status = plan.status.clone();
        if self.status.model_arn.is_none() {
            got_status.created_with = None;
        }
        // The tags of this generation are known to be on the model exactly when they were read
        // from an Active model (and synced by this plan's actions); otherwise the field keeps
        // what the resource had.
        let tags_synced = self.observation.tags.is_some()
            && self
                .observation
                .model
                .as_ref()
                .is_some_and(|m| m.state == ModelState::Active)
            && plan.status.model_status == Some(ModelStatus::Active)
            // A claim is confirmed by reading the tags again on the next look.
            && !plan
                .actions
                .iter()
                .any(|a| matches!(a, Action::Claim { .. }));
        let had = self
            .resource
            .status
            .as_ref()
            .and_then(|s| s.tags_synced_generation);
        assert_eq!(
            got_status.tags_synced_generation,
            if tags_synced { Some(GENERATION) } else { had },
            "{}: tagsSyncedGeneration",
            self.name
        );
        got_status.tags_synced_generation = self.status.tags_synced_generation;
        assert_eq!(got_status, self.status, "{}: status", self.name);
        assert!(
            plan.status.conditions.is_empty(),
            "{}: conditions are merged later",
            self.name
        );
        let ready = condition(&plan, conditions::READY, self.name);
        assert_eq!(
            (ready.status, ready.reason.as_str()),
            self.ready,
            "{}: Ready ({})",
            self.name,
            ready.message
        );
        let synced = condition(&plan, conditions::SYNCED, self.name);
        assert_eq!(
            (synced.status, synced.reason.as_str()),
            self.synced,
            "{}: Synced ({})",
            self.name,
            synced.message
        );
        for part in &self.message {
            assert!(
                ready.message.contains(part),
                "{}: Ready message should contain {part:?}: {}",
                self.name,
                ready.message
            );
        }
        assert_eq!(
            events(&plan),
            self.events,
            "{}: events {:?}",
            self.name,
            plan.events
        );
        assert_eq!(plan.next, self.next, "{}: next", self.name);
    }
}

fn two_tags() -> BedrockCustomModelSpec {
    spec_with(|s| s.tags = map(&[("team", "ml"), ("env", "prod")]))
}

fn new_role() -> BedrockCustomModelSpec {
    spec_with(|s| s.role_arn = Some(OTHER_ROLE.into()))
}

fn adopt() -> BedrockCustomModelSpec {
    spec_with(|s| s.adoption_policy = AdoptionPolicy::Adopt)
}

/// A model package source with modelName and a KMS key, no role and no tags.
fn package() -> BedrockCustomModelSpec {
    spec_with(|s| {
        s.model_name = Some("nova-ft_v2".into());
        s.source = ModelSource {
            s3_uri: None,
            model_package_arn: Some(PACKAGE_ARN.into()),
        };
        s.role_arn = None;
        s.kms_key_arn = Some(KMS.into());
        s.tags = BTreeMap::new();
    })
}

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
fn foreign_model_with_the_name_is_a_name_conflict() {
    let timing = Timing::default();
    ApplyCase {
        name: "foreign model with the name: NameConflict",
        resource: resource(spec(), None),
        observation: observed(
            remote(ModelState::Active),
            Some(map(&[(tags::OWNER_UID, "someone-else"), ("team", "other")])),
        ),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec![NAME, ARN, "adoptionPolicy"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn untagged_model_with_the_name_and_tags_not_read_is_a_name_conflict() {
    let timing = Timing::default();
    ApplyCase {
        name: "untagged model with the name, tags not read: NameConflict",
        resource: resource(spec(), None),
        observation: observed(remote(ModelState::Active), None),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec![NAME],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn foreign_model_with_adopt_is_adopted_and_tagged() {
    ApplyCase {
        name: "foreign model with adoptionPolicy Adopt: adopted and tagged",
        resource: resource(adopt(), None),
        observation: observed(
            remote(ModelState::Active),
            Some(map(&[("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![Action::Claim {
            arn: ARN.into(),
            tags: remote_tags(&[("team", "ml")]),
        }],
        status: adopted_status("Active"),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Adopted", false), ("Active", false)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn adopt_model_held_by_a_live_resource_is_a_name_conflict_naming_it() {
    let timing = Timing::default();
    ApplyCase {
        name: "Adopt, model held by a resource that still exists: NameConflict naming it",
        resource: resource(adopt(), None),
        observation: Observation {
            owner: Liveness::Alive,
            ..observed(remote(ModelState::Active), Some(team_b_tags()))
        },
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec![NAME, ARN, "team-b/m", "still exists"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn adopt_with_owner_not_looked_up_claims_nothing_on_a_guess() {
    let timing = Timing::default();
    ApplyCase {
        name: "Adopt, owner tag not looked up: no claim on a guess",
        resource: resource(adopt(), None),
        observation: observed(remote(ModelState::Active), Some(team_b_tags())),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec!["team-b/m"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

/// Tags of a model held by team-b/m of another cluster sharing the AWS account.
fn other_cluster_tags() -> BTreeMap<String, String> {
    tags::operator_tags("team-b", "m", "uid-b", "cluster-other")
}

#[test]
fn adopt_model_held_in_another_cluster_is_a_name_conflict_naming_that_cluster() {
    let timing = Timing::default();
    ApplyCase {
        name: "Adopt, model held in another cluster: NameConflict naming it, no call",
        resource: resource(adopt(), None),
        // Whatever this cluster's API server says of a team-b/m here.
        observation: Observation {
            owner: Liveness::Gone,
            ..observed(remote(ModelState::Active), Some(other_cluster_tags()))
        },
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec![
            NAME,
            "team-b/m of cluster cluster-other",
            "bedrock-operator.dev/take-over-from: cluster-other",
        ],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn take_over_from_the_named_cluster_claims_the_model_with_this_clusters_tags() {
    ApplyCase {
        name: "Adopt with take-over-from naming the holder's cluster: claimed",
        resource: resource_with(adopt(), None, &[(TAKE_OVER_ANNOTATION, "cluster-other")]),
        observation: observed(remote(ModelState::Active), Some(other_cluster_tags())),
        elapsed: None,
        actions: vec![Action::Claim {
            arn: ARN.into(),
            tags: remote_tags(&[("team", "ml")]),
        }],
        status: adopted_status("Active"),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Adopted", false), ("Active", false)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn a_model_this_resource_holds_taken_over_by_another_cluster_is_let_go() {
    let timing = Timing::default();
    let mut taken = other_cluster_tags();
    taken.insert(tags::OWNER_UID.into(), "uid-in-cluster-other".into());
    ApplyCase {
        name: "Active model retagged by another cluster's take-over: NameConflict, no call",
        resource: resource(spec(), Some(status_in("Active"))),
        observation: observed(remote(ModelState::Active), Some(taken)),
        elapsed: None,
        actions: vec![],
        // Not this resource's model any more: its deletion leaves it alone.
        status: base(BedrockCustomModelStatus {
            model_arn: None,
            model_status: None,
            creation_time: None,
            created_with: None,
            ..status_in("Active")
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec!["of cluster cluster-other"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn adopt_model_held_by_a_gone_resource_is_claimed_with_owner_tags_replaced() {
    ApplyCase {
        name: "Adopt, model held by a resource that is gone: claimed, owner tags replaced",
        resource: resource(adopt(), None),
        observation: Observation {
            owner: Liveness::Gone,
            ..observed(remote(ModelState::Active), Some(team_b_tags()))
        },
        elapsed: None,
        actions: vec![Action::Claim {
            arn: ARN.into(),
            tags: remote_tags(&[("team", "ml")]),
        }],
        status: adopted_status("Active"),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Adopted", false), ("Active", false)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn adopt_untagged_creating_model_gets_owner_tags_at_once() {
    let timing = Timing::default();
    ApplyCase {
        name: "Adopt, untagged model still Creating: the owner tags go on at once",
        resource: resource(adopt(), None),
        observation: observed(remote(ModelState::Creating), Some(BTreeMap::new())),
        elapsed: Some(Duration::ZERO),
        actions: vec![Action::Claim {
            arn: ARN.into(),
            tags: operator_tags(),
        }],
        status: BedrockCustomModelStatus {
            creation_time: None,
            managed_tag_keys: Vec::new(),
            ..adopted_status("Creating")
        },
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Adopted", false)],
        next: Next::Poll(timing.poll_initial),
    }
    .check();
}

#[test]
fn never_adopt_model_held_by_another_resource_is_a_name_conflict_naming_it() {
    let timing = Timing::default();
    ApplyCase {
        name: "Never, model held by another resource: NameConflict naming it",
        resource: resource(spec(), None),
        observation: observed(remote(ModelState::Active), Some(team_b_tags())),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec!["team-b/m", "adoptionPolicy"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn known_model_now_held_by_another_live_resource_is_let_go() {
    let timing = Timing::default();
    ApplyCase {
        name: "known model now held by another live resource: NameConflict, model let go",
        resource: resource(adopt(), Some(status_in("Active"))),
        observation: Observation {
            owner: Liveness::Alive,
            ..observed(remote(ModelState::Active), Some(team_b_tags()))
        },
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            model_arn: None,
            model_status: None,
            creation_time: None,
            created_with: None,
            ..status_in("Active")
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec!["team-b/m"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
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
fn active_with_tags_in_sync_and_out_of_band_tag_does_nothing() {
    ApplyCase {
        name: "Active, tags in sync, out-of-band tag present: nothing to do",
        resource: resource(spec(), Some(status_in("Active"))),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![],
        status: base(status_in("Active")),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_spec_tag_added_is_tagged() {
    ApplyCase {
        name: "Active, spec tag added",
        resource: resource(two_tags(), Some(status_in("Active"))),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![Action::Tag {
            arn: ARN.into(),
            tags: map(&[("env", "prod")]),
        }],
        status: base(status_with("Active", |st| {
            st.managed_tag_keys = keys(&["env", "team"])
        })),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_spec_tag_value_changed_is_tagged() {
    ApplyCase {
        name: "Active, spec tag value changed",
        resource: resource(
            spec_with(|s| s.tags = map(&[("team", "data")])),
            Some(status_in("Active")),
        ),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![Action::Tag {
            arn: ARN.into(),
            tags: map(&[("team", "data")]),
        }],
        status: base(status_in("Active")),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_spec_tag_removed_untags_only_that_key() {
    ApplyCase {
        name: "Active, spec tag removed: untag only that key",
        resource: resource(
            spec_with(|s| s.tags = BTreeMap::new()),
            Some(status_in("Active")),
        ),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![Action::Untag {
            arn: ARN.into(),
            keys: keys(&["team"]),
        }],
        status: base(status_with("Active", |st| st.managed_tag_keys = Vec::new())),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_tags_added_changed_removed_at_once_and_operator_tag_restored() {
    ApplyCase {
        name: "Active, added, changed and removed at once; operator tag restored",
        resource: resource(
            spec_with(|s| s.tags = map(&[("team", "data"), ("env", "prod")])),
            Some(status_with("Active", |st| {
                st.managed_tag_keys = keys(&["team", "owner"])
            })),
        ),
        observation: observed(
            remote(ModelState::Active),
            Some(map(&[
                (tags::OWNER_UID, UID),
                ("team", "ml"),
                ("owner", "alice"),
                ("cost-center", "42"),
            ])),
        ),
        elapsed: None,
        actions: vec![
            Action::Tag {
                arn: ARN.into(),
                tags: map(&[
                    ("env", "prod"),
                    ("team", "data"),
                    (tags::OWNER, "ml/my-model"),
                    // Tagged before cluster identity: the cluster tag is added.
                    (tags::CLUSTER, CLUSTER),
                ]),
            },
            Action::Untag {
                arn: ARN.into(),
                keys: keys(&["owner"]),
            },
        ],
        status: base(status_with("Active", |st| {
            st.managed_tag_keys = keys(&["env", "team"])
        })),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_out_of_band_tag_with_a_spec_key_is_overwritten_not_removed() {
    ApplyCase {
        name: "Active, out-of-band tag with a key the spec now names: overwritten, not removed",
        resource: resource(two_tags(), Some(status_in("Active"))),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("env", "dev")])),
        ),
        elapsed: None,
        actions: vec![Action::Tag {
            arn: ARN.into(),
            tags: map(&[("env", "prod")]),
        }],
        status: base(status_with("Active", |st| {
            st.managed_tag_keys = keys(&["env", "team"])
        })),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

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
    let create = plan_apply(&next, REGION, &nothing_observed(), &timing, None);
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

#[test]
fn crash_after_create_takes_the_model_back() {
    let timing = Timing::default();
    let fresh = resource(spec(), None);
    let first = plan_apply(&fresh, REGION, &nothing_observed(), &timing, None);
    let Some(Action::Create(request)) = first.actions.first() else {
        panic!("expected a create, got {:?}", first.actions);
    };

    // The operator crashed before writing the status: it looks by name and finds a model
    // carrying the tags its own create sent.
    assert_eq!(lookup(&fresh), Lookup::ByName(NAME.into()));
    let found = observed(remote(ModelState::Creating), Some(request.tags.clone()));
    let again = plan_apply(
        &fresh,
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
    let conflict = plan_apply(&other, REGION, &found, &timing, None);
    assert!(conflict.actions.is_empty());
    assert_eq!(
        condition(&conflict, conditions::READY, "other resource").reason,
        reason::NAME_CONFLICT
    );
}

#[test]
fn create_request_carries_operator_and_spec_tags() {
    let spec = spec_with(|s| s.tags = map(&[("team", "ml"), ("env", "prod")]));
    let request = create_request(&resource(spec, None), REGION, 0, CLUSTER);
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
    let mut plan = plan_apply(&resource, REGION, &nothing_observed(), &timing, None);
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
    let mut swept = plan_apply(&resource, REGION, &nothing_observed(), &timing, None);
    after_create(&mut swept, &resource, REGION, ARN.into(), &timing, true);
    assert_eq!(swept.next, Next::Poll(timing.sweep_fallback));
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
            swept,
            ..observed(remote(ModelState::Creating), None)
        };
        let plan = plan_apply(
            &resource,
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
fn tags_are_read_only_when_they_may_differ_from_the_spec() {
    let synced = |generation: Option<i64>| {
        resource(
            spec(),
            Some(status_with("Active", |st| {
                st.tags_synced_generation = generation
            })),
        )
    };
    let by_arn = Lookup::ByArn(ARN.into());
    let by_name = Lookup::ByName(NAME.into());
    let cases = [
        // (case, resource, lookup, model state, drift check due, read tags)
        (
            "found by name: whose is it?",
            synced(None),
            &by_name,
            ModelState::Creating,
            false,
            true,
        ),
        (
            "Active, tags of this generation on the model",
            synced(Some(GENERATION)),
            &by_arn,
            ModelState::Active,
            false,
            false,
        ),
        (
            "Active, the drift check is due",
            synced(Some(GENERATION)),
            &by_arn,
            ModelState::Active,
            true,
            true,
        ),
        (
            "Active, spec changed since the tags were set",
            synced(Some(GENERATION - 1)),
            &by_arn,
            ModelState::Active,
            false,
            true,
        ),
        (
            "Active, written by an older operator (no tagsSyncedGeneration)",
            synced(None),
            &by_arn,
            ModelState::Active,
            false,
            true,
        ),
        (
            "Creating",
            synced(Some(GENERATION - 1)),
            &by_arn,
            ModelState::Creating,
            true,
            false,
        ),
        (
            "Failed",
            synced(Some(GENERATION - 1)),
            &by_arn,
            ModelState::Failed,
            true,
            false,
        ),
    ];
    for (case, resource, lookup, state, due, want) in cases {
        assert_eq!(
            needs_tags(&resource, lookup, &remote(state), due),
            want,
            "{case}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// client_request_token
// ---------------------------------------------------------------------------------------------

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
    let first = create_request(&resource, REGION, 0, CLUSTER);
    let again = create_request(&resource, REGION, 0, CLUSTER);
    let recreated = create_request(&resource, REGION, 1, CLUSTER);
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

// ---------------------------------------------------------------------------------------------
// poll_delay
// ---------------------------------------------------------------------------------------------

/// The check times (seconds since creation) that following `poll_delay` produces.
fn schedule(timing: &Timing, checks: usize) -> Vec<Duration> {
    let mut at = Duration::ZERO;
    (0..checks)
        .map(|_| {
            at += poll_delay(timing, at);
            at
        })
        .collect()
}

#[test]
fn poll_delay_default_schedule() {
    let timing = Timing::default();
    assert_eq!(poll_delay(&timing, Duration::ZERO), timing.poll_initial);
    let secs: Vec<u64> = schedule(&timing, 8).iter().map(Duration::as_secs).collect();
    assert_eq!(secs, vec![2, 6, 14, 30, 60, 90, 120, 150]);
}

#[test]
fn poll_delay_schedules() {
    let secs = Duration::from_secs;
    struct Case {
        name: &'static str,
        timing: Timing,
        checks: Vec<Duration>,
    }
    let timing = |initial: Duration, max: Duration| Timing {
        poll_initial: initial,
        poll_max: max,
        ..Timing::default()
    };
    let cases = vec![
        Case {
            name: "default",
            timing: Timing::default(),
            checks: [2, 6, 14, 30, 60, 90].map(secs).to_vec(),
        },
        Case {
            name: "5 s up to 20 s",
            timing: timing(secs(5), secs(20)),
            checks: [5, 15, 35, 55, 75].map(secs).to_vec(),
        },
        Case {
            name: "max below initial: constant",
            timing: timing(secs(10), secs(3)),
            checks: [10, 20, 30].map(secs).to_vec(),
        },
        Case {
            name: "initial equals max",
            timing: timing(secs(30), secs(30)),
            checks: [30, 60, 90].map(secs).to_vec(),
        },
        Case {
            name: "zero initial is clamped (no hot loop)",
            timing: timing(Duration::ZERO, Duration::from_millis(400)),
            checks: [100, 300, 700, 1100].map(Duration::from_millis).to_vec(),
        },
    ];
    for case in cases {
        assert_eq!(
            schedule(&case.timing, case.checks.len()),
            case.checks,
            "{}: check times",
            case.name
        );
    }
}

#[test]
fn poll_delay_bounds_and_monotonicity() {
    let timings = [
        ("default", Timing::default()),
        (
            "1 s up to 7 s",
            Timing {
                poll_initial: Duration::from_secs(1),
                poll_max: Duration::from_secs(7),
                ..Timing::default()
            },
        ),
    ];
    for (name, timing) in timings {
        // Wherever a reconcile happens to run, the next check is soon enough, never now,
        // and never earlier than the next check seen from an earlier moment.
        let mut previous_check = Duration::ZERO;
        for millis in (0..=900_000u64).step_by(250) {
            let elapsed = Duration::from_millis(millis);
            let delay = poll_delay(&timing, elapsed);
            assert!(delay > Duration::ZERO, "{name}: zero delay at {elapsed:?}");
            assert!(
                delay <= timing.poll_max,
                "{name}: {delay:?} > poll_max at {elapsed:?}"
            );
            let check = elapsed + delay;
            assert!(
                check >= previous_check,
                "{name}: next check went back at {elapsed:?}"
            );
            previous_check = check;
        }
        // Following the schedule, check times strictly increase and gaps never shrink.
        let checks = schedule(&timing, 50);
        for pair in checks.windows(2) {
            assert!(
                pair[1] > pair[0],
                "{name}: check times must increase: {pair:?}"
            );
        }
        let gaps: Vec<Duration> = std::iter::once(checks[0])
            .chain(checks.windows(2).map(|p| p[1] - p[0]))
            .collect();
        for pair in gaps.windows(2) {
            assert!(pair[1] >= pair[0], "{name}: intervals back off: {gaps:?}");
        }
        assert_eq!(
            *gaps.last().expect("gaps"),
            timing.poll_max,
            "{name}: settles at poll_max"
        );
        // Long-running imports.
        for hours in [1u64, 6, 24, 24 * 30, 24 * 365] {
            let delay = poll_delay(&timing, Duration::from_secs(hours * 3600 + 1));
            assert!(
                delay > Duration::ZERO && delay <= timing.poll_max,
                "{name}: {delay:?} after {hours} h"
            );
        }
    }
}

#[test]
fn default_poll_cap_is_at_most_30s() {
    assert!(Timing::default().poll_max <= Duration::from_secs(30));
}

// ---------------------------------------------------------------------------------------------
// cleanup
// ---------------------------------------------------------------------------------------------

/// A status without a model whose Synced condition says `why` at `generation`.
fn no_arn(why: &'static str, generation: i64) -> BedrockCustomModelStatus {
    let desired = [Desired::new(conditions::SYNCED, false, why, "message")];
    BedrockCustomModelStatus {
        conditions: conditions::merge(&[], &desired, Some(generation), &time(0)),
        ..Default::default()
    }
}

fn retain() -> BedrockCustomModelSpec {
    spec_with(|s| s.deletion_policy = DeletionPolicy::Retain)
}

/// An s3Uri without roleArn: InvalidSpec.
fn invalid() -> BedrockCustomModelSpec {
    spec_with(|s| s.role_arn = None)
}

/// What deleting `resource` does, with adoption allowed everywhere.
fn cleanup_of(resource: BedrockCustomModel) -> Cleanup {
    cleanup(&resource, &NamespaceScope::All)
}

#[test]
fn cleanup_retains_a_model_under_retain() {
    assert_eq!(
        cleanup_of(resource(retain(), Some(status_in("Active")))),
        Cleanup::Retain
    );
}

#[test]
fn cleanup_retains_without_a_model_under_retain() {
    assert_eq!(cleanup_of(resource(retain(), None)), Cleanup::Retain);
}

#[test]
fn cleanup_retains_with_an_invalid_spec_under_retain() {
    let spec = spec_with(|s| {
        s.deletion_policy = DeletionPolicy::Retain;
        s.role_arn = None;
    });
    assert_eq!(cleanup_of(resource(spec, None)), Cleanup::Retain);
}

#[test]
fn cleanup_deletes_a_known_model() {
    assert_eq!(
        cleanup_of(resource(spec(), Some(status_in("Active")))),
        Cleanup::Delete { arn: ARN.into() }
    );
}

#[test]
fn cleanup_deletes_a_known_failed_model() {
    assert_eq!(
        cleanup_of(resource(spec(), Some(status_in("Failed")))),
        Cleanup::Delete { arn: ARN.into() }
    );
}

#[test]
fn cleanup_deletes_a_known_model_whose_spec_is_now_invalid() {
    assert_eq!(
        cleanup_of(resource(invalid(), Some(status_in("Active")))),
        Cleanup::Delete { arn: ARN.into() }
    );
}

#[test]
fn cleanup_does_nothing_for_an_invalid_spec_without_status() {
    assert_eq!(cleanup_of(resource(invalid(), None)), Cleanup::Nothing);
}

#[test]
fn cleanup_does_nothing_for_an_invalid_spec_reported_as_such() {
    assert_eq!(
        cleanup_of(resource(
            invalid(),
            Some(no_arn(reason::INVALID_SPEC, GENERATION))
        )),
        Cleanup::Nothing
    );
}

/// NameConflict at the current generation: look up whose it is, to say so.
#[test]
fn cleanup_looks_up_after_a_name_conflict() {
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::NAME_CONFLICT, GENERATION))
        )),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn cleanup_looks_up_after_a_name_conflict_of_an_older_generation() {
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::NAME_CONFLICT, GENERATION - 1))
        )),
        Cleanup::LookUp { name: NAME.into() }
    );
}

/// A create may have happened before any status was written.
#[test]
fn cleanup_looks_up_without_a_status() {
    assert_eq!(
        cleanup_of(resource(spec(), None)),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn cleanup_looks_up_a_create_in_flight() {
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::RECONCILED, GENERATION))
        )),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn cleanup_looks_up_after_a_transient_error_before_any_arn() {
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::THROTTLED, GENERATION))
        )),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn cleanup_looks_up_by_spec_model_name() {
    assert_eq!(
        cleanup_of(resource(
            spec_with(|s| s.model_name = Some("nova-prod".into())),
            None
        )),
        Cleanup::LookUp {
            name: "nova-prod".into(),
        }
    );
}

/// Adopt where the operator refuses it never reached Bedrock, so there is nothing to look up.
#[test]
fn cleanup_does_nothing_for_a_refused_adoption() {
    assert_eq!(
        cleanup(&resource(adopt(), None), &NamespaceScope::None),
        Cleanup::Nothing
    );
}

#[test]
fn cleanup_looks_up_an_allowed_adoption() {
    assert_eq!(
        cleanup(&resource(adopt(), None), &NamespaceScope::All),
        Cleanup::LookUp { name: NAME.into() }
    );
}

/// A model adopted before the restriction still follows deletionPolicy.
#[test]
fn cleanup_deletes_a_model_adopted_before_adoption_was_refused() {
    assert_eq!(
        cleanup(
            &resource(adopt(), Some(status_in("Active"))),
            &NamespaceScope::None
        ),
        Cleanup::Delete { arn: ARN.into() }
    );
}

// ---------------------------------------------------------------------------------------------
// failure_conditions and retry_delay
// ---------------------------------------------------------------------------------------------

fn error(class: ErrorClass, code: &str, message: &str) -> BedrockError {
    BedrockError {
        operation: "CreateCustomModel",
        class,
        code: Some(code.into()),
        message: Some(message.into()),
        source: None,
    }
}

/// One `failure_conditions` case: a CreateCustomModel error of `class` after `failures`
/// failures in a row, and the conditions it shows.
struct FailureCase {
    name: &'static str,
    class: ErrorClass,
    code: &'static str,
    failures: u32,
    /// `None`: not shown yet. `Some((reason, ready_too))`.
    want: Option<(&'static str, bool)>,
    /// Each must appear in the message.
    message: Vec<&'static str>,
}

/// How many transient failures in a row stay hidden.
fn shown_after() -> u32 {
    Timing::default().transient_failures_shown_after
}

impl FailureCase {
    fn check(self) {
        let timing = Timing::default();
        let error = error(self.class, self.code, "details from AWS");
        let got = failure_conditions(&error, NAME, self.failures, &timing);
        let Some((why, ready_too)) = self.want else {
            assert_eq!(got, None, "{}: transient failures stay hidden", self.name);
            return;
        };
        let got = got.unwrap_or_else(|| panic!("{}: expected conditions", self.name));
        let types: Vec<&str> = got.iter().map(|c| c.type_).collect();
        let want_types = if ready_too {
            vec![conditions::READY, conditions::SYNCED]
        } else {
            vec![conditions::SYNCED]
        };
        assert_eq!(types, want_types, "{}: condition types", self.name);
        for c in &got {
            assert!(!c.status, "{}: {} must be False", self.name, c.type_);
            assert_eq!(c.reason, why, "{}: {} reason", self.name, c.type_);
            assert!(
                c.message.contains("details from AWS"),
                "{}: {}",
                self.name,
                c.message
            );
            for part in &self.message {
                assert!(
                    c.message.contains(part),
                    "{}: message should contain {part:?}: {}",
                    self.name,
                    c.message
                );
            }
        }
    }
}

#[test]
fn failure_conditions_hide_a_single_throttle() {
    FailureCase {
        name: "throttled once",
        class: ErrorClass::Throttled,
        code: "ThrottlingException",
        failures: 1,
        want: None,
        message: vec![],
    }
    .check();
}

#[test]
fn failure_conditions_hide_throttles_below_the_threshold() {
    FailureCase {
        name: "throttled below threshold",
        class: ErrorClass::Throttled,
        code: "ThrottlingException",
        failures: shown_after() - 1,
        want: None,
        message: vec![],
    }
    .check();
}

#[test]
fn failure_conditions_show_throttled_at_the_threshold() {
    FailureCase {
        name: "throttled at threshold",
        class: ErrorClass::Throttled,
        code: "ThrottlingException",
        failures: shown_after(),
        want: Some((reason::THROTTLED, false)),
        message: vec!["CreateCustomModel", "ThrottlingException", "retrying"],
    }
    .check();
}

#[test]
fn failure_conditions_show_throttled_beyond_the_threshold() {
    FailureCase {
        name: "throttled beyond threshold",
        class: ErrorClass::Throttled,
        code: "ThrottlingException",
        failures: shown_after() + 10,
        want: Some((reason::THROTTLED, false)),
        message: vec!["ThrottlingException"],
    }
    .check();
}

#[test]
fn failure_conditions_hide_server_errors_below_the_threshold() {
    FailureCase {
        name: "5xx below threshold",
        class: ErrorClass::Retryable,
        code: "InternalServerException",
        failures: shown_after() - 1,
        want: None,
        message: vec![],
    }
    .check();
}

#[test]
fn failure_conditions_show_server_errors_at_the_threshold() {
    FailureCase {
        name: "5xx at threshold",
        class: ErrorClass::Retryable,
        code: "InternalServerException",
        failures: shown_after(),
        want: Some((reason::BEDROCK_UNAVAILABLE, false)),
        message: vec!["CreateCustomModel", "InternalServerException", "retrying"],
    }
    .check();
}

#[test]
fn failure_conditions_hide_a_conflict_below_the_threshold() {
    FailureCase {
        name: "conflict below threshold",
        class: ErrorClass::Conflict,
        code: "ConflictException",
        failures: 1,
        want: None,
        message: vec![],
    }
    .check();
}

#[test]
fn failure_conditions_show_conflicts_at_the_threshold() {
    FailureCase {
        name: "conflict at threshold",
        class: ErrorClass::Conflict,
        code: "ConflictException",
        failures: shown_after(),
        want: Some((reason::BEDROCK_UNAVAILABLE, false)),
        message: vec!["ConflictException"],
    }
    .check();
}

#[test]
fn failure_conditions_show_access_denied_at_once() {
    FailureCase {
        name: "access denied on first failure",
        class: ErrorClass::AccessDenied,
        code: "AccessDeniedException",
        failures: 1,
        want: Some((reason::ACCESS_DENIED, true)),
        message: vec![
            NAME,
            "CreateCustomModel",
            "AccessDeniedException",
            "iam:PassRole",
            "5 min",
        ],
    }
    .check();
}

#[test]
fn failure_conditions_show_quota_exceeded_at_once() {
    FailureCase {
        name: "quota exceeded",
        class: ErrorClass::QuotaExceeded,
        code: "ServiceQuotaExceededException",
        failures: 1,
        want: Some((reason::QUOTA_EXCEEDED, true)),
        message: vec![NAME, "ServiceQuotaExceededException", "quota"],
    }
    .check();
}

#[test]
fn failure_conditions_show_validation_at_once() {
    FailureCase {
        name: "validation",
        class: ErrorClass::Validation,
        code: "ValidationException",
        failures: 1,
        want: Some((reason::VALIDATION_FAILED, true)),
        message: vec![NAME, "ValidationException", "Fix the spec"],
    }
    .check();
}

#[test]
fn failure_conditions_show_too_many_tags_at_once() {
    FailureCase {
        name: "too many tags",
        class: ErrorClass::TooManyTags,
        code: "TooManyTagsException",
        failures: 1,
        want: Some((reason::TOO_MANY_TAGS, true)),
        message: vec![NAME, "TooManyTagsException", "spec.tags"],
    }
    .check();
}

#[test]
fn failure_conditions_show_not_found_at_once() {
    FailureCase {
        name: "not found",
        class: ErrorClass::NotFound,
        code: "ResourceNotFoundException",
        failures: 1,
        want: Some((reason::RESOURCE_NOT_FOUND, true)),
        message: vec![NAME, "ResourceNotFoundException", "spec.source"],
    }
    .check();
}

#[test]
fn failure_conditions_show_an_unclassified_error_at_once() {
    FailureCase {
        name: "unclassified",
        class: ErrorClass::Terminal,
        code: "SomethingNewException",
        failures: 1,
        want: Some((reason::BEDROCK_UNAVAILABLE, true)),
        message: vec![NAME, "SomethingNewException"],
    }
    .check();
}

#[test]
fn failure_conditions_without_code_or_message() {
    let error = BedrockError {
        operation: "GetCustomModel",
        class: ErrorClass::AccessDenied,
        code: None,
        message: None,
        source: None,
    };
    let got = failure_conditions(&error, NAME, 1, &Timing::default()).expect("shown at once");
    assert!(
        got[0].message.contains("unknown error"),
        "{}",
        got[0].message
    );
    assert!(
        got[0].message.contains("GetCustomModel"),
        "{}",
        got[0].message
    );
}

#[test]
fn retry_delay_per_class() {
    let timing = Timing::default();
    let ms = Duration::from_millis;
    let transient = [
        ErrorClass::Throttled,
        ErrorClass::Retryable,
        ErrorClass::Conflict,
    ];
    let exponential = [
        (0, ms(500)),
        (1, ms(500)),
        (2, ms(1_000)),
        (3, ms(2_000)),
        (4, ms(4_000)),
        (8, ms(64_000)),
        (9, ms(120_000)),
        (10, ms(120_000)),
        (40, ms(120_000)),
        (u32::MAX, ms(120_000)),
    ];
    for class in transient {
        for (failures, want) in exponential {
            assert_eq!(
                retry_delay(class, failures, &timing),
                want,
                "{class:?} after {failures} failures"
            );
        }
        let mut previous = Duration::ZERO;
        for failures in 1..=64 {
            let delay = retry_delay(class, failures, &timing);
            assert!(delay >= previous, "{class:?}: backoff shrank at {failures}");
            assert!(
                delay <= timing.backoff_max,
                "{class:?}: above the cap at {failures}"
            );
            previous = delay;
        }
    }
    let slow = [
        ErrorClass::AccessDenied,
        ErrorClass::QuotaExceeded,
        ErrorClass::Validation,
        ErrorClass::TooManyTags,
        ErrorClass::NotFound,
        ErrorClass::Terminal,
    ];
    for class in slow {
        for failures in [0, 1, 2, 10, 1_000] {
            assert_eq!(
                retry_delay(class, failures, &timing),
                timing.slow_retry,
                "{class:?} after {failures} failures"
            );
        }
    }
}

#[test]
fn retry_delay_respects_custom_timing() {
    let timing = Timing {
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(10),
        slow_retry: Duration::from_secs(60),
        ..Timing::default()
    };
    let got: Vec<u64> = (1..=6)
        .map(|n| retry_delay(ErrorClass::Throttled, n, &timing).as_secs())
        .collect();
    assert_eq!(got, vec![1, 2, 4, 8, 10, 10]);
    assert_eq!(
        retry_delay(ErrorClass::Validation, 1, &timing),
        Duration::from_secs(60)
    );
}

// ---------------------------------------------------------------------------------------------
// settled
// ---------------------------------------------------------------------------------------------

#[test]
fn settled_means_this_generation_is_fully_reconciled_with_nothing_pending() {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    // A status as the operator writes it after reconciling `state` at GENERATION.
    let written = |state: &str, reason_: &str| {
        let mut status = status_with(state, |st| {
            st.observed_generation = Some(GENERATION);
            st.tags_synced_generation = Some(GENERATION);
        });
        status.conditions = conditions::merge(
            &[],
            &[Desired::new(
                conditions::READY,
                state == "Active",
                reason_,
                "m",
            )],
            Some(GENERATION),
            &now,
        );
        status
    };
    let active = written("Active", reason::ACTIVE);
    let failed = written("Failed", reason::FAILED);
    let cases: Vec<(&str, BedrockCustomModel, bool)> = vec![
        (
            "Active, this generation, tags synced",
            resource(spec(), Some(active.clone())),
            true,
        ),
        (
            "Failed, no retry asked",
            resource(spec(), Some(failed.clone())),
            true,
        ),
        (
            "Failed, the retry already handled",
            resource_with(
                spec(),
                Some(BedrockCustomModelStatus {
                    retry_handled: Some("1".into()),
                    ..failed.clone()
                }),
                &[(RETRY_ANNOTATION, "1")],
            ),
            true,
        ),
        (
            "Failed, a new retry asked",
            resource_with(spec(), Some(failed.clone()), &[(RETRY_ANNOTATION, "1")]),
            false,
        ),
        ("no status", resource(spec(), None), false),
        (
            "Creating",
            resource(spec(), Some(written("Creating", reason::CREATING))),
            false,
        ),
        (
            "spec changed since (older observedGeneration)",
            resource(
                spec(),
                Some(BedrockCustomModelStatus {
                    observed_generation: Some(GENERATION - 1),
                    ..active.clone()
                }),
            ),
            false,
        ),
        (
            "tags of an older generation",
            resource(
                spec(),
                Some(BedrockCustomModelStatus {
                    tags_synced_generation: Some(GENERATION - 1),
                    ..active.clone()
                }),
            ),
            false,
        ),
        (
            "Active in Bedrock but Ready shows an error",
            resource(spec(), Some(written("Active", reason::THROTTLED))),
            false,
        ),
        (
            "no model",
            resource(
                spec(),
                Some(BedrockCustomModelStatus {
                    model_arn: None,
                    ..active.clone()
                }),
            ),
            false,
        ),
    ];
    for (case, resource, want) in cases {
        assert_eq!(settled(&resource), want, "{case}");
    }
}

// ---------------------------------------------------------------------------------------------
// ownership: adoption scope, owner look-up
// ---------------------------------------------------------------------------------------------

#[test]
fn adoption_outside_the_allowed_namespaces_is_invalid_spec_before_any_call() {
    let adopt = resource(
        spec_with(|s| s.adoption_policy = AdoptionPolicy::Adopt),
        None,
    );
    let never = resource(spec(), None);
    let only_other: NamespaceScope = "team-b".parse().expect("a list");
    let only_ours: NamespaceScope = NAMESPACE.parse().expect("a list");
    let cases = [
        ("Adopt, all allowed", &adopt, NamespaceScope::All, false),
        ("Adopt, namespace listed", &adopt, only_ours, false),
        ("Adopt, none allowed", &adopt, NamespaceScope::None, true),
        ("Adopt, namespace not listed", &adopt, only_other, true),
        ("Never, none allowed", &never, NamespaceScope::None, false),
    ];
    for (name, resource, scope, refused) in cases {
        let plan = adoption_refused(resource, REGION, &scope);
        assert_eq!(plan.is_some(), refused, "{name}");
        let Some(plan) = plan else { continue };
        assert!(plan.actions.is_empty(), "{name}: no AWS call");
        assert_eq!(plan.next, Next::AwaitChange, "{name}");
        for type_ in [conditions::READY, conditions::SYNCED] {
            let c = condition(&plan, type_, name);
            assert_eq!(c.reason, reason::INVALID_SPEC, "{name}");
            assert!(
                c.message.contains("spec.adoptionPolicy"),
                "{name}: {}",
                c.message
            );
            assert!(c.message.contains(NAMESPACE), "{name}: {}", c.message);
        }
        assert_eq!(plan.events.len(), 1, "{name}: announced once");
    }
}

#[test]
fn the_owner_is_looked_up_only_when_the_tags_name_another_resource() {
    let me = resource(spec(), None);
    let cases = [
        ("untagged", BTreeMap::new(), false),
        ("ours", operator_tags(), false),
        ("another resource's", team_b_tags(), true),
        (
            "a bare owner-uid cannot be looked up",
            map(&[(tags::OWNER_UID, "uid-b")]),
            false,
        ),
    ];
    for (name, tags, look_up) in cases {
        let holder = ownership::owner_to_look_up(&Me::of(&me.metadata, CLUSTER), &tags);
        assert_eq!(holder.is_some(), look_up, "{name}");
    }
    let holder = ownership::owner_to_look_up(&Me::of(&me.metadata, CLUSTER), &team_b_tags())
        .expect("team-b's");
    assert_eq!(holder.to_string(), "team-b/m");
    assert_eq!(holder.uid, "uid-b");
}

// ---------------------------------------------------------------------------------------------
// tenant guards: allowed roles and KMS keys
// ---------------------------------------------------------------------------------------------

#[test]
fn a_role_or_key_outside_the_allowed_patterns_is_invalid_spec_before_any_call() {
    use crate::controller::guards::{Guards, NamespaceGuards};
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    let role = spec().role_arn.clone().unwrap_or_default();
    let with_key = resource(spec_with(|s| s.kms_key_arn = Some(KEY.into())), None);
    let plain = resource(spec(), None);
    let only = |patterns: &str| patterns.parse().expect("patterns");
    let team_roles = Guards {
        allowed_role_arns: only("arn:aws:iam::*:role/team-*"),
        ..Guards::default()
    };
    let other_keys = Guards {
        allowed_kms_key_arns: only("arn:aws:kms:*:999999999999:key/*"),
        ..Guards::default()
    };
    let our_namespace_may = Guards {
        namespaces: [(
            NAMESPACE.to_string(),
            NamespaceGuards {
                allowed_role_arns: Some(only(&role)),
                ..NamespaceGuards::default()
            },
        )]
        .into(),
        ..team_roles.clone()
    };
    let cases: [(&str, &BedrockCustomModel, &Guards, &[&str]); 6] = [
        (
            "defaults allow anything",
            &with_key,
            &Guards::default(),
            &[],
        ),
        (
            "role outside the global patterns",
            &plain,
            &team_roles,
            &["spec.roleArn", "--allowed-role-arns"],
        ),
        (
            "the namespace's list allows it",
            &plain,
            &our_namespace_may,
            &[],
        ),
        (
            "key outside the patterns",
            &with_key,
            &other_keys,
            &["spec.kmsKeyArn", "--allowed-kms-key-arns"],
        ),
        ("no key, nothing to refuse", &plain, &other_keys, &[]),
        (
            "both refused, both named",
            &with_key,
            &Guards {
                allowed_kms_key_arns: only("x"),
                ..team_roles.clone()
            },
            &["spec.roleArn", "spec.kmsKeyArn"],
        ),
    ];
    for (name, resource, guards, named) in cases {
        let plan = guards_refused(resource, REGION, guards);
        assert_eq!(plan.is_some(), !named.is_empty(), "{name}");
        let Some(plan) = plan else { continue };
        assert!(plan.actions.is_empty(), "{name}: no AWS call");
        assert_eq!(plan.next, Next::AwaitChange, "{name}");
        let c = condition(&plan, conditions::SYNCED, name);
        assert_eq!(c.reason, reason::INVALID_SPEC, "{name}");
        assert!(
            c.message
                .starts_with("the spec is invalid, so nothing was sent to AWS"),
            "{name}: {}",
            c.message
        );
        for part in named {
            assert!(c.message.contains(part), "{name}: {part}: {}", c.message);
        }
    }
}

#[test]
fn deleting_a_model_a_guard_refused_needs_no_call() {
    // A valid spec refused by a tenant guard (InvalidSpec at this generation): never created.
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::INVALID_SPEC, GENERATION))
        )),
        Cleanup::Nothing
    );
}
