//! The `BedrockCustomModel` custom resource (group `bedrock-operator.dev`, version `v1alpha1`).
//!
//! The doc comments on these types become the field descriptions of the CRD (and so what
//! `kubectl explain bcm.spec` prints): write them for the person filling in the YAML.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::cel;
use super::patterns;

/// Declares one Amazon Bedrock imported custom model (CreateCustomModel), built from a SageMaker
/// trained Amazon Nova model in S3 or from a SageMaker model package. The operator creates the
/// model, reports its status, keeps its tags in sync and deletes it (or keeps it) when this
/// resource is deleted.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "bedrock-operator.dev",
    version = "v1alpha1",
    kind = "BedrockCustomModel",
    plural = "bedrockcustommodels",
    singular = "bedrockcustommodel",
    shortname = "bcm",
    category = "bedrock",
    namespaced,
    status = "BedrockCustomModelStatus",
    cel,
    doc = "BedrockCustomModel declares an Amazon Bedrock imported custom model (CreateCustomModel). The operator creates it, reports its status, keeps its tags in sync and deletes or retains it when the resource is deleted.",
    printcolumn(name = "Model", type_ = "string", json_path = ".status.modelName", description = "The Bedrock model name"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.modelStatus", description = "Bedrock's modelStatus: Creating, Active or Failed"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status", description = "True when the model is Active and matches the spec"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.modelArn", priority = 1, description = "The model's ARN"),
    printcolumn(name = "Reason", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason", priority = 1, description = "Why the model is or is not ready"),
    validation = cel::immutable_once_created("modelName", cel::MODEL_NAME_EQUAL),
    validation = cel::immutable_once_created("source", "self.spec.source == oldSelf.spec.source"),
    validation = cel::immutable_once_created("roleArn", &cel::optional_equal("roleArn")),
    validation = cel::immutable_once_created("kmsKeyArn", &cel::optional_equal("kmsKeyArn")),
    validation = cel::immutable_once_created("region", &cel::optional_equal("region")),
)]
#[x_kube(validation = cel::role_required_with_s3())]
#[serde(rename_all = "camelCase")]
pub struct BedrockCustomModelSpec {
    /// The Bedrock model name (CreateCustomModel's modelName): 1 to 63 letters and digits, with
    /// single hyphens or underscores between them. Defaults to metadata.name (namespace-name
    /// when the operator runs with --namespaced-names). Must be unique
    /// among the custom models of the AWS account and region. Cannot change once the model
    /// exists (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63), regex(pattern = patterns::MODEL_NAME))]
    pub model_name: Option<String>,

    /// Where the model artifacts come from: exactly one of s3Uri or modelPackageArn. Cannot
    /// change once the model exists (unless it Failed).
    pub source: ModelSource,

    /// ARN of the IAM service role that Bedrock assumes to read the model artifacts (and to use
    /// the KMS key, if one is set). Required when source.s3Uri is set. Cannot change once the
    /// model exists (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = patterns::ROLE_ARN))]
    pub role_arn: Option<String>,

    /// ARN of a customer managed KMS key that encrypts the model. When unset, Bedrock uses an
    /// AWS managed key. The role in roleArn must be allowed to use it. Cannot change once the
    /// model exists (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = patterns::KMS_KEY_ARN))]
    pub kms_key_arn: Option<String>,

    /// Tags for the model, kept in sync: adding, changing or removing an entry here changes the
    /// model's tags. Tags set on the model by other tools are left alone. At most 47 entries
    /// (Bedrock allows 50 and the operator uses 2); keys are 1 to 128 and values up to 256 of
    /// letters, digits, spaces and _ . : / = + - @; keys starting with "aws:" or
    /// "bedrock-operator.dev/" are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "tags_schema")]
    #[x_kube(validation = cel::tag_keys(), validation = cel::tag_keys_not_reserved())]
    pub tags: BTreeMap<String, String>,

    /// What happens to the Bedrock model when this resource is deleted: Delete (the default)
    /// deletes the model; Retain keeps it in Bedrock.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// What to do when a model with this name already exists in Bedrock and was not created for
    /// this resource: Never (the default) reports NameConflict and leaves that model alone;
    /// Adopt takes it over: the operator tags it as its own, reports its status, syncs tags and
    /// applies deletionPolicy to it.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,

    /// The AWS region of the model, such as us-east-1. Defaults to the operator's region (from
    /// its --region flag or the AWS configuration chain). Cannot change once the model exists
    /// (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20), regex(pattern = patterns::REGION))]
    pub region: Option<String>,
}

/// Where the model artifacts come from. Set exactly one of the two fields.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[x_kube(validation = cel::exactly_one_source())]
#[serde(rename_all = "camelCase")]
pub struct ModelSource {
    /// S3 URI of the model artifacts of a SageMaker trained Amazon Nova model, in the Amazon
    /// managed S3 bucket (CreateCustomModel's modelSourceConfig.s3DataSource.s3Uri), such as
    /// s3://my-bucket/path/to/model/. Requires roleArn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = patterns::S3_URI))]
    pub s3_uri: Option<String>,

    /// ARN of a SageMaker AI model package (CreateCustomModel's
    /// customModelDataSource.modelPackageArnDataSource.modelPackageArn), such as
    /// arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/1. Bedrock resolves the
    /// package to find the artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2200), regex(pattern = patterns::MODEL_PACKAGE_ARN))]
    pub model_package_arn: Option<String>,
}

/// What happens to the Bedrock model when the resource is deleted.
#[derive(
    schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub enum DeletionPolicy {
    /// Delete the model from Bedrock, then let the resource go.
    #[default]
    Delete,
    /// Keep the model in Bedrock; only the resource goes.
    Retain,
}

/// The model's status in Bedrock (ModelStatus of GetCustomModel).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelStatus {
    Creating,
    Active,
    Failed,
    /// A value this version of the operator does not know (a new Bedrock state, or one written
    /// by a newer operator): read without failing, so the resource stays readable.
    #[serde(other)]
    Unknown,
}

/// What to do with a Bedrock object (model, deployment) of the same name that this resource did
/// not create.
#[derive(
    schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub enum AdoptionPolicy {
    /// Report NameConflict and leave the existing object alone.
    #[default]
    Never,
    /// Take the existing object over and manage it from this resource.
    Adopt,
}

/// What the operator observed and did. Written by the operator only.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BedrockCustomModelStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// ARN of the Bedrock model managed by this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_arn: Option<String>,

    /// The Bedrock model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,

    /// The AWS region of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,

    /// The model's status in Bedrock as last observed: Creating, Active or Failed.
    // A plain string in the schema: Helm does not upgrade CRDs, so an operator newer than its
    // CRD must still be able to write a value the old schema would not list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub model_status: Option<ModelStatus>,

    /// Why Bedrock could not create the model, when modelStatus is Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,

    /// When Bedrock created the model (RFC 3339). Recorded once the import has finished
    /// (Active or Failed), so that polling a Creating model writes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,

    /// Ready: True when the model is Active and matches the spec. Synced: whether the last
    /// reconcile reached the desired state. See docs/reference.md for every reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The parameters the current model was created (or adopted) with, to tell whether the
    /// spec still matches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_with: Option<CreatedWith>,

    /// The tag keys of spec.tags that the operator has put on the model, so that removing one
    /// from the spec removes it from the model while tags set by other tools are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_tag_keys: Vec<String>,

    /// The metadata.generation whose spec.tags the model's tags were last made to match (at
    /// create, or by TagResource/UntagResource). The operator reads the model's tags again only
    /// when the generation moves past it, and on the first resync an hour after the last read
    /// (--tag-check-interval), to catch changes made elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_synced_generation: Option<i64>,

    /// How many times the model was re-created after it disappeared from Bedrock; part of the
    /// idempotency token of the next CreateCustomModel.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recreations: i32,

    /// The last value of the bedrock-operator.dev/retry annotation that was acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_handled: Option<String>,
}

/// OpenAPI cannot constrain map keys: the CEL rules on the field do that.
pub(super) fn tags_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
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

/// The immutable parameters of a model as it was created or adopted.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWith {
    /// The model name.
    // Defaults (so not `required` in the schema): server-side apply of a status that drops
    // `createdWith` could leave an emptied object behind (seen on kube-apiserver 1.20).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_name: String,
    /// The source the model was created from; unset for an adopted model (Bedrock does not
    /// report it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ModelSource>,
    /// The role the model was created with; unset for an adopted model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The KMS key of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// The region of the model.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// True when the model was adopted rather than created by this resource.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

impl BedrockCustomModel {
    /// The Bedrock model name: spec.modelName, or metadata.name when unset.
    pub fn model_name(&self) -> &str {
        self.spec
            .model_name
            .as_deref()
            .or(self.metadata.name.as_deref())
            .unwrap_or_default()
    }
}

/// Where a valid spec's model comes from: exactly one of the two sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidSource {
    /// spec.source.s3Uri.
    S3Uri(String),
    /// spec.source.modelPackageArn.
    ModelPackageArn(String),
}

/// A model spec that passed [`super::validation::validate_model`]: every value is checked and
/// the source is named exactly one way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidModel {
    pub source: ValidSource,
}
