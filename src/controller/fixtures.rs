//! What the plan tests of every kind build their cases from: one cluster, namespace,
//! generation and region, the model versions a serving resource names, and the builders of
//! metadata, conditions and observations.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::ObjectMeta;

use super::held::Branches;
use super::lifecycle::KindPlan;
use super::outcome::{self, Timing};
use super::ownership::Liveness;
use super::reference::{Observation, Resolution};
use super::serving::{self, Given, Serving};
use crate::api::conditions::{self, reason};

/// The cluster the operator under test serves.
pub const CLUSTER: &str = "cluster-test";
pub const NAMESPACE: &str = "ml";
/// The generation of every resource under test, and of its conditions.
pub const GENERATION: i64 = 2;
pub const REGION: &str = "us-east-1";
/// The BedrockCustomModel a serving resource references, and two versions of its model.
pub const MODEL: &str = "nova-v3";
pub const V3: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/aaaaaaaaaaaa";
pub const V4: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/bbbbbbbbbbbb";

/// The metadata of resource `name` (UID `uid`) in [`NAMESPACE`] at [`GENERATION`].
pub fn meta(name: &str, uid: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(uid.into()),
        generation: Some(GENERATION),
        ..Default::default()
    }
}

/// A condition as the status carries it.
pub fn condition(type_: &str, status: bool, why: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: why.into(),
        message: String::new(),
        observed_generation: Some(GENERATION),
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    }
}

/// The conditions of a resource that serves: Ready for `ready_reason`, Synced.
pub fn serving_conditions(ready_reason: &str) -> Vec<Condition> {
    vec![
        condition(conditions::READY, true, ready_reason),
        condition(conditions::SYNCED, true, reason::RECONCILED),
    ]
}

/// A model resolved to `arn` in [`REGION`].
pub fn resolved(arn: &str) -> Resolution {
    Resolution::Resolved {
        arn: arn.into(),
        region: Some(REGION.into()),
    }
}

/// What a serving kind's observe step saw: the model, the object, no tags.
pub fn observe<R>(model: Resolution, remote: Option<R>) -> Observation<R> {
    Observation {
        inputs: model,
        remote,
        tags: None,
        owner: Liveness::Unknown,
        cluster: CLUSTER.into(),
    }
}

/// The plan of a serving resource (its spec valid) that saw `observation`, at [`REGION`], with
/// nothing in progress.
pub fn plan<K>(resource: &K, observation: &Observation<K::Remote>) -> KindPlan<K>
where
    K: Serving,
    for<'a> Given<'a, K>: Branches<Kind = K>,
{
    let valid = resource.validate().expect("a valid spec");
    let timing = Timing::default();
    serving::plan_apply(
        resource,
        &valid,
        REGION,
        observation,
        &timing,
        Duration::ZERO,
    )
}

/// The status and reason of the condition `type_` a plan sets.
pub fn reason_of<S, A>(plan: &outcome::Plan<S, A>, type_: &str) -> (bool, String) {
    let c = planned(plan, type_);
    (c.status, c.reason.clone())
}

/// The message of the condition `type_` a plan sets.
pub fn message_of<S, A>(plan: &outcome::Plan<S, A>, type_: &str) -> String {
    planned(plan, type_).message.clone()
}

fn planned<'p, S, A>(plan: &'p outcome::Plan<S, A>, type_: &str) -> &'p conditions::Desired {
    plan.conditions
        .iter()
        .find(|c| c.type_ == type_)
        .expect("condition planned")
}

pub use super::deletion::Cleanup;

/// What deleting `resource` takes, as the cleanup stage asks its kind (at no moment in
/// particular: a kind with a commitment term has its own tests of `now`).
pub fn cleanup<K: super::apply::Apply>(
    resource: &K,
    adoption: &super::scope::NamespaceScope,
) -> Cleanup {
    resource.deletion(adoption, k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

/// A Kubernetes API error of HTTP status `code`, as the client returns it.
pub fn api_error(code: u16) -> kube::Error {
    kube::Error::Api(
        kube::core::Status::failure("denied by the test", "Forbidden")
            .with_code(code)
            .boxed(),
    )
}
