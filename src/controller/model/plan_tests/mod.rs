//! Table-driven tests of the reconcile decisions: plain values in, plan out.
//!
//! The shared fixtures and builders are here; the tests, one module per topic, below.

mod adoption;
mod cleanup;
mod create;
mod failed;
mod failure_conditions;
mod polling;
mod precheck;
mod settled;
mod tag_sync;
mod tenant_guards;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ObjectMeta;

use super::*;

use crate::api::{BedrockCustomModelSpec, DeletionPolicy, ModelSource};
use crate::controller::fixtures::{Cleanup, cleanup};
use crate::controller::ownership::Liveness;
use crate::controller::scope::NamespaceScope;

/// The cluster the operator under test serves.
const CLUSTER: &str = "cluster-test";
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

/// The status value of a Bedrock state name, as the CRD stores it.
/// The checked spec of a test's resource (every resource a plan is made for is valid).
fn valid(resource: &BedrockCustomModel) -> crate::api::model::ValidModel {
    crate::api::validation::validate_model(resource).expect("the test's spec is valid")
}

fn status_of(state: &str) -> ModelStatus {
    serde_json::from_value(serde_json::Value::from(state)).expect("a status")
}

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
        inputs: Inputs { swept: false },
        remote: Some(model),
        tags,
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

/// Tags of a model held by team-b/m of another cluster sharing the AWS account.
fn other_cluster_tags() -> BTreeMap<String, String> {
    tags::operator_tags("team-b", "m", "uid-b", "cluster-other")
}

fn retain() -> BedrockCustomModelSpec {
    spec_with(|s| s.deletion_policy = DeletionPolicy::Retain)
}

/// An s3Uri without roleArn: InvalidSpec.
fn invalid() -> BedrockCustomModelSpec {
    spec_with(|s| s.role_arn = None)
}

/// A status without a model whose Synced condition says `why` at `generation`.
fn no_arn(why: &'static str, generation: i64) -> BedrockCustomModelStatus {
    let desired = [Desired::new(conditions::SYNCED, false, why, "message")];
    BedrockCustomModelStatus {
        conditions: conditions::merge(&[], &desired, Some(generation), &time(0)),
        ..Default::default()
    }
}

/// What deleting `resource` does, with adoption allowed everywhere.
fn cleanup_of(resource: BedrockCustomModel) -> Cleanup {
    cleanup(&resource, &NamespaceScope::All)
}

fn error(class: ErrorClass, code: &str, message: &str) -> BedrockError {
    BedrockError {
        operation: "CreateCustomModel",
        class,
        code: Some(code.into()),
        message: Some(message.into()),
        source: None,
    }
}

/// How many transient failures in a row stay hidden.
fn shown_after() -> u32 {
    Timing::default().transient_failures_shown_after
}

// ---------------------------------------------------------------------------------------------
// plan_apply: one case of the table
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
            &valid(&self.resource),
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
                .remote
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

/// Where the apply stage looks the model up (the shared rule of `Plans::lookup`).
fn lookup(resource: &BedrockCustomModel) -> Lookup {
    use crate::controller::apply::Plans;
    let inputs = crate::controller::model::Inputs { swept: false };
    resource
        .lookup(&valid(resource), &inputs)
        .expect("a model is always looked up")
}
