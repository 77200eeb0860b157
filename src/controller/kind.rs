//! What the shared machinery needs to know of a resource kind.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::outcome::Subject;
pub use crate::metrics::KindLabel;
use crate::metrics::Metrics;

/// The accessors of a `Managed` impl that every kind writes the same, for a status with
/// `conditions` and `observed_generation` fields and a resource with a `status` field; and
/// where the status holds its object: `held_region` and `held_name` read `region` and
/// `$name` only while `$arn` is set. `$name` is also the spec field of the Bedrock name
/// (`$field` as messages name it), and `$effective` the resource's method that gives the
/// effective name.
macro_rules! status_access {
    ($arn:ident, $name:ident = $field:literal, bedrock_name: $effective:ident) => {
        const NAME_FIELD: &'static str = $field;
        fn bedrock_name(&self) -> &str {
            self.$effective()
        }
        fn given_name(&self) -> Option<&str> {
            self.spec.$name.as_deref()
        }
        fn set_given_name(&mut self, name: String) {
            self.spec.$name = Some(name);
        }
        fn spec_tags(&self) -> &std::collections::BTreeMap<String, String> {
            &self.spec.tags
        }
        fn deletion_policy(&self) -> $crate::api::DeletionPolicy {
            self.spec.deletion_policy
        }
        fn adoption_policy(&self) -> $crate::api::AdoptionPolicy {
            self.spec.adoption_policy
        }
        fn status(&self) -> Option<&Self::Status> {
            self.status.as_ref()
        }
        fn status_conditions(
            status: &Self::Status,
        ) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
            &status.conditions
        }
        fn set_status_conditions(
            status: &mut Self::Status,
            conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
        ) {
            status.conditions = conditions;
        }
        fn set_observed_generation(status: &mut Self::Status, generation: Option<i64>) {
            status.observed_generation = generation;
        }
        fn held_name(&self) -> Option<&str> {
            let status = self.status.as_ref()?;
            status.$arn.as_ref()?;
            status.$name.as_deref()
        }
        fn given_region(&self) -> Option<&str> {
            self.spec.region.as_deref()
        }
        fn held_region(&self) -> Option<&str> {
            let status = self.status.as_ref()?;
            status.$arn.as_ref()?;
            status.region.as_deref()
        }
    };
}
pub(crate) use status_access;

/// A resource kind the operator manages: its status type and the few facts the stage driver,
/// the status writer and the metrics need. Each kind's decisions stay in its own plan.
pub trait Managed:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
    + crate::kinds::Registered
{
    // The kind's registry entry (`Registered::KIND`) names it: its metrics label, its plural.
    type Status: Clone + Debug + Default + PartialEq + Serialize + Send + Sync + 'static;

    fn status(&self) -> Option<&Self::Status>;
    fn status_conditions(status: &Self::Status) -> &[Condition];
    fn set_status_conditions(status: &mut Self::Status, conditions: Vec<Condition>);
    fn set_observed_generation(status: &mut Self::Status, generation: Option<i64>);

    /// How logs and messages name the Bedrock object: its Bedrock name.
    fn bedrock_name(&self) -> &str;

    /// The spec field that names the Bedrock object ("spec.modelName").
    const NAME_FIELD: &'static str;

    /// The Bedrock name the spec gives, when it gives one.
    fn given_name(&self) -> Option<&str>;

    /// The Bedrock name of the object the status holds, when it holds one.
    fn held_name(&self) -> Option<&str>;

    /// The region the spec gives, when it gives one.
    fn given_region(&self) -> Option<&str>;

    /// The region of the object the status holds, when it holds one.
    fn held_region(&self) -> Option<&str>;

    /// Fills in the Bedrock name the spec leaves to the operator (in memory: the spec is never
    /// written back).
    fn set_given_name(&mut self, name: String);

    /// spec.tags.
    fn spec_tags(&self) -> &std::collections::BTreeMap<String, String>;

    /// spec.deletionPolicy: what deleting the resource does to its object.
    fn deletion_policy(&self) -> crate::api::DeletionPolicy;

    /// spec.adoptionPolicy: whether the resource may take an existing object of its name.
    fn adoption_policy(&self) -> crate::api::AdoptionPolicy;

    /// The tags the object should carry: spec.tags and the owner tags of this resource in
    /// `cluster`.
    fn desired_tags(&self, cluster: &str) -> std::collections::BTreeMap<String, String> {
        crate::api::tags::desired(self.spec_tags(), self.meta(), cluster)
    }

    /// How messages word the Bedrock object, and what a person can do.
    const WORDS: super::outcome::Words;

    /// How failure messages word this resource's Bedrock object.
    fn subject(&self) -> Subject<'_> {
        Self::WORDS.subject(self.bedrock_name())
    }

    /// Records the Bedrock state of `status` in the metrics (`None`: the resource is gone).
    fn record_state(metrics: &Metrics, key: &str, status: Option<&Self::Status>);

    /// The resource's conditions as they stand.
    fn conditions(&self) -> &[Condition] {
        self.status()
            .map(Self::status_conditions)
            .unwrap_or_default()
    }

    /// The status as it stands, brought to the current generation (for a report that changes
    /// only the conditions).
    fn observed_status(&self) -> Self::Status {
        let mut status = self.status().cloned().unwrap_or_default();
        Self::set_observed_generation(&mut status, self.meta().generation);
        status
    }

    /// The key of everything kept in memory about the object: its UID (unique across kinds).
    fn key(&self) -> String {
        self.uid().unwrap_or_else(|| self.name_any())
    }
}
