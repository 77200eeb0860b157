//! The `BedrockProvisionedThroughput` custom resource (group `bedrock-operator.dev`, version
//! `v1alpha1`): dedicated, hourly-billed inference capacity for a model
//! (CreateProvisionedModelThroughput).
//!
//! The doc comments on these types become the field descriptions of the CRD (and so what
//! `kubectl explain bpt.spec` prints): write them for the person filling in the YAML.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::cel;
use super::deployment::{ModelRef, arn_region};
use super::export::{Export, ExportStatus};
use super::model::{AdoptionPolicy, DeletionPolicy};
use super::patterns;

/// Annotation that confirms buying a commitment: its value must equal spec.commitmentDuration
/// (OneMonth or SixMonths). Without it, a throughput with a commitment is not bought.
pub const CONFIRM_COMMITMENT_ANNOTATION: &str = "bedrock-operator.dev/confirm-commitment";

/// Declares one Amazon Bedrock Provisioned Throughput (CreateProvisionedModelThroughput):
/// dedicated capacity for a model, billed by the hour per model unit. The operator buys it,
/// swaps its model or renames it in place (UpdateProvisionedModelThroughput), reports its
/// status, keeps its tags in sync and deletes it (or keeps it) when this resource is deleted.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "bedrock-operator.dev",
    version = "v1alpha1",
    kind = "BedrockProvisionedThroughput",
    plural = "bedrockprovisionedthroughputs",
    singular = "bedrockprovisionedthroughput",
    shortname = "bpt",
    category = "bedrock",
    namespaced,
    status = "BedrockProvisionedThroughputStatus",
    cel,
    doc = "BedrockProvisionedThroughput declares an Amazon Bedrock Provisioned Throughput (CreateProvisionedModelThroughput): dedicated capacity for a model, billed by the hour per model unit. The operator buys it (a commitment only when the confirm-commitment annotation names the same term), swaps its model or renames it in place, reports its status, keeps its tags in sync and deletes or retains it when the resource is deleted; a committed throughput is not deleted before its term ends.",
    printcolumn(name = "Throughput", type_ = "string", json_path = ".status.provisionedModelName", description = "The Bedrock provisioned model name"),
    printcolumn(name = "Model", type_ = "string", json_path = ".status.modelArn", description = "ARN of the model in service"),
    printcolumn(name = "Units", type_ = "integer", json_path = ".status.modelUnits", description = "Model units in service (each billed by the hour)"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.throughputStatus", description = "Bedrock's status: Creating, InService, Updating or Failed"),
    printcolumn(name = "Commitment ends", type_ = "string", json_path = ".status.commitmentExpirationTime", description = "When the commitment term ends (RFC 3339; a date column would print a time in the future as invalid); the throughput cannot be deleted before"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status", description = "True when the throughput is InService with the model the spec names"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.provisionedModelArn", priority = 1, description = "The provisioned model ARN: the modelId to invoke"),
    printcolumn(name = "Commitment", type_ = "string", json_path = ".status.commitmentDuration", priority = 1, description = "OneMonth, SixMonths, or empty for none"),
    printcolumn(name = "Reason", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason", priority = 1, description = "Why the throughput is or is not ready"),
    validation = cel::throughput_immutable_once_created("modelUnits", "self.spec.modelUnits == oldSelf.spec.modelUnits", "Bedrock cannot change the model units of a provisioned throughput; to get other units, create another BedrockProvisionedThroughput, move traffic to it, then delete this one"),
    validation = cel::throughput_immutable_once_created("commitmentDuration", &cel::optional_equal("commitmentDuration"), "a commitment term is fixed when bought; to change it, create another BedrockProvisionedThroughput with the new term"),
    validation = cel::throughput_immutable_once_created("region", &cel::optional_equal("region"), "a provisioned throughput lives in one region; create another in the new region"),
)]
#[x_kube(
    validation = cel::exactly_one_throughput_model(),
    validation = cel::model_id_in_region()
)]
#[serde(rename_all = "camelCase")]
pub struct BedrockProvisionedThroughputSpec {
    /// The Bedrock provisioned model name (CreateProvisionedModelThroughput's
    /// provisionedModelName): 1 to 63 letters and digits, with single hyphens or underscores
    /// between them. Defaults to metadata.name (namespace-name when the operator runs with
    /// --namespaced-names). Changing it renames the throughput in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = patterns::PROVISIONED_MODEL_NAME)
    )]
    pub provisioned_model_name: Option<String>,

    /// The model to serve, as a BedrockCustomModel of this namespace (references never leave
    /// the resource's namespace). The throughput is bought only once that model is Active, and
    /// follows it: when the reference changes, the new model is swapped in place (Bedrock
    /// allows a custom model to be swapped only for its base model or another custom model of
    /// the same base). Set exactly one of modelRef or modelId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<ModelRef>,

    /// The model to serve when it is not managed here: a custom model ARN, or a foundation
    /// model ARN or ID (such as amazon.nova-lite-v1:0). Changing it swaps the model in place.
    /// Set exactly one of modelRef or modelId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 2048),
        regex(pattern = patterns::PROVISIONED_MODEL_ID)
    )]
    pub model_id: Option<String>,

    /// How many model units to buy (at least 1). Each is billed by the hour, and for custom
    /// models AWS must first grant the account model units (a quota increase). Cannot change
    /// once the throughput exists: to resize, create another throughput and delete this one.
    #[schemars(range(min = 1))]
    pub model_units: i32,

    /// The commitment term: OneMonth or SixMonths, or unset for no commitment (billed by the
    /// hour until deleted). A throughput with a commitment cannot be deleted before the term
    /// ends, and is bought only when the resource also carries the annotation
    /// bedrock-operator.dev/confirm-commitment with the same term as its value, and only in
    /// the namespaces the operator's --commitment-namespaces allows (none by default). Cannot
    /// change once the throughput exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<CommitmentDuration>,

    /// Tags for the throughput, kept in sync: adding, changing or removing an entry here
    /// changes the throughput's tags. Tags set on it by other tools are left alone. At most 47
    /// entries (Bedrock allows 50 and the operator uses 2); keys are 1 to 128 and values up to
    /// 256 of letters, digits, spaces and _ . : / = + - @; keys starting with "aws:" or
    /// "bedrock-operator.dev/" are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "tags_schema")]
    #[x_kube(validation = cel::tag_keys(), validation = cel::tag_keys_not_reserved())]
    pub tags: BTreeMap<String, String>,

    /// What happens to the throughput when this resource is deleted: Delete (the default)
    /// deletes it, once any commitment term has ended (until then the resource stays, with
    /// DeletionBlocked saying when the term ends); Retain keeps it in Bedrock, where it keeps
    /// billing. The model is never deleted with the throughput.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// What to do when a provisioned throughput with this name already exists in Bedrock and
    /// was not created for this resource: Never (the default) reports NameConflict and leaves
    /// it alone; Adopt takes it over (owner tags, tags synced, deletionPolicy applied) when no
    /// other resource of this operator holds it. Allowed only in the namespaces the operator's
    /// --allow-adoption names.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,

    /// The AWS region of the throughput, such as us-east-1. Defaults to the model's region (that
    /// of the referenced BedrockCustomModel, or the one in a modelId ARN), else the operator's
    /// region. With a modelId ARN it must be the ARN's region. Cannot change once the
    /// throughput exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20), regex(pattern = patterns::REGION))]
    pub region: Option<String>,

    /// Publish the ID to invoke, the model served and the region as a ConfigMap of this
    /// namespace (owned by this resource, deleted with it), for apps to read with envFrom.
    /// Unset: no ConfigMap (one written before is deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
}

// A commitment term (CommitmentDuration). No doc comment: it would replace the field's
// description in the CRD (what `kubectl explain bpt.spec.commitmentDuration` prints).
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitmentDuration {
    /// One month: discounted hourly price, no deletion before the month ends.
    OneMonth,
    /// Six months: the lowest hourly price, no deletion before the six months end.
    SixMonths,
}

impl CommitmentDuration {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitmentDuration::OneMonth => "OneMonth",
            CommitmentDuration::SixMonths => "SixMonths",
        }
    }
}

impl std::fmt::Display for CommitmentDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The throughput's status in Bedrock (ProvisionedModelStatus).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThroughputStatus {
    Creating,
    InService,
    Updating,
    Failed,
    /// A value this version of the operator does not know: read without failing.
    #[serde(other)]
    Unknown,
}

/// What the operator observed and did. Written by the operator only.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BedrockProvisionedThroughputStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// ARN of the provisioned throughput managed by this resource: the modelId to pass to
    /// InvokeModel or Converse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_model_arn: Option<String>,

    /// The Bedrock provisioned model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_model_name: Option<String>,

    /// The AWS region of the throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,

    /// The throughput's status in Bedrock as last observed: Creating, InService, Updating or
    /// Failed.
    // A plain string in the schema, as the other kinds' statuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub throughput_status: Option<ThroughputStatus>,

    /// ARN of the model in service, as Bedrock reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_arn: Option<String>,

    /// ARN of the model the spec names, resolved: what is in service once an update completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_model_arn: Option<String>,

    /// Model units in service (billed by the hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_units: Option<i32>,

    /// The commitment term bought: OneMonth or SixMonths (unset: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_duration: Option<String>,

    /// When the commitment term ends (RFC 3339). The throughput cannot be deleted before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment_expiration_time: Option<String>,

    /// Why Bedrock could not create or update the throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,

    /// Ready: True when the throughput is InService with the model the spec names. Synced:
    /// whether the last reconcile reached the desired state. See docs/reference.md for every
    /// reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The parameters the current throughput was bought with, which Bedrock cannot change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_with: Option<ThroughputCreatedWith>,

    /// The tag keys of spec.tags that the operator has put on the throughput (tags set by other
    /// tools are left alone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_tag_keys: Vec<String>,

    /// The metadata.generation whose spec.tags the throughput's tags were last made to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_synced_generation: Option<i64>,

    /// How many times the throughput was bought again after it disappeared from Bedrock or was
    /// replaced; part of the idempotency token of the next CreateProvisionedModelThroughput.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recreations: i32,

    /// The ConfigMap spec.export asked for, as the operator last wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportStatus>,

    /// The last value of the bedrock-operator.dev/retry annotation that was acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_handled: Option<String>,
}

/// The parameters of a throughput that Bedrock cannot change, as it was bought.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ThroughputCreatedWith {
    /// The model units bought.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub model_units: i32,
    /// The commitment term bought, if any.
    // A plain string in the schema, as the status's other enums.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub commitment_duration: Option<CommitmentDuration>,
    /// The region of the throughput.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// True when the throughput was adopted rather than bought by this resource.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

/// OpenAPI cannot constrain map keys: the CEL rules on the field do that. The same schema as
/// the model's spec.tags (a unit test compares the two).
fn tags_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": patterns::SPEC_TAGS_MAX,
        "additionalProperties": {
            "type": "string",
            "maxLength": patterns::TAG_VALUE_MAX,
            "pattern": patterns::TAG_VALUE,
        },
    })
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

impl BedrockProvisionedThroughput {
    /// The Bedrock provisioned model name: spec.provisionedModelName, or metadata.name.
    pub fn provisioned_model_name(&self) -> &str {
        self.spec
            .provisioned_model_name
            .as_deref()
            .or(self.metadata.name.as_deref())
            .unwrap_or_default()
    }

    /// The value of the confirm-commitment annotation, if set.
    pub fn confirmed_commitment(&self) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CONFIRM_COMMITMENT_ANNOTATION))
            .map(String::as_str)
    }
}

/// The model a valid throughput spec serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThroughputModel {
    /// A BedrockCustomModel of the throughput's namespace, by metadata.name.
    Ref(String),
    /// A model ARN or a foundation model ID.
    Id(String),
}

impl ThroughputModel {
    /// The region in a modelId ARN; `None` for a reference, an ID or a name.
    pub fn arn_region(&self) -> Option<&str> {
        match self {
            Self::Id(id) if id.starts_with("arn:") => arn_region(id),
            _ => None,
        }
    }
}

/// A throughput spec that passed [`super::validation::validate_throughput`]: every value is
/// checked, the defaults are applied, and the model is named exactly one way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidThroughput {
    /// The effective Bedrock provisioned model name.
    pub name: String,
    pub model: ThroughputModel,
    pub model_units: i32,
    pub commitment: Option<CommitmentDuration>,
    /// spec.region as written; see [`ValidThroughput::region`] for the effective one.
    pub region: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub deletion_policy: DeletionPolicy,
    pub adoption_policy: AdoptionPolicy,
    /// The name of the ConfigMap spec.export asks for (the default applied), when it is set.
    pub export: Option<String>,
}

impl ValidThroughput {
    /// The region to buy in: spec.region; else the model's (a modelId ARN's, or
    /// `referenced_model_region`); else the operator's default.
    pub fn region(&self, referenced_model_region: Option<&str>, operator_default: &str) -> String {
        let model_region = match &self.model {
            ThroughputModel::Id(_) => self.model.arn_region(),
            ThroughputModel::Ref(_) => referenced_model_region,
        };
        self.region
            .as_deref()
            .or(model_region)
            .unwrap_or(operator_default)
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_with_unknown_values_still_reads() {
        let status: BedrockProvisionedThroughputStatus =
            serde_json::from_value(serde_json::json!({ "throughputStatus": "Deleting" }))
                .expect("an unknown status value reads");
        assert_eq!(status.throughput_status, Some(ThroughputStatus::Unknown));
    }

    #[test]
    fn status_and_commitment_values_are_bedrocks_strings() {
        for (status, text) in [
            (ThroughputStatus::Creating, "Creating"),
            (ThroughputStatus::InService, "InService"),
            (ThroughputStatus::Updating, "Updating"),
            (ThroughputStatus::Failed, "Failed"),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), text);
        }
        for term in [CommitmentDuration::OneMonth, CommitmentDuration::SixMonths] {
            assert_eq!(serde_json::to_value(term).unwrap(), term.as_str());
        }
    }

    #[test]
    fn the_region_of_a_model_id_is_that_of_an_arn_only() {
        let arn = ThroughputModel::Id(
            "arn:aws:bedrock:us-west-2:123456789012:custom-model/imported/abc123def456".into(),
        );
        assert_eq!(arn.arn_region(), Some("us-west-2"));
        assert_eq!(
            ThroughputModel::Id("amazon.nova-lite-v1:0".into()).arn_region(),
            None
        );
        let foundation = ThroughputModel::Id(
            "arn:aws:bedrock:eu-west-1::foundation-model/amazon.nova-lite-v1:0".into(),
        );
        assert_eq!(foundation.arn_region(), Some("eu-west-1"));
    }
}

#[cfg(test)]
#[path = "throughput_validation_tests.rs"]
mod validation_tests;
