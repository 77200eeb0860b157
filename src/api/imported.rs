//! The `BedrockImportedModel` custom resource (group `bedrock-operator.dev`, version
//! `v1alpha1`): an open-weight model (Llama, Mistral, Qwen, ... in Hugging Face format in S3)
//! imported into Bedrock with CreateModelImportJob and served on demand by its ARN.
//!
//! The doc comments on these types become the field descriptions of the CRD (and so what
//! `kubectl explain bim.spec` prints): write them for the person filling in the YAML.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::cel;
use super::model::{AdoptionPolicy, DeletionPolicy};
use super::patterns;
use super::validation::{Check, FieldError, REGION, ROLE_ARN, S3_URI, check_tags};
use std::sync::LazyLock;

/// importedModelName defaults to metadata.name, so compare the effective names.
const IMPORTED_MODEL_NAME_EQUAL: &str = "(has(self.spec.importedModelName) ? self.spec.importedModelName : self.metadata.name) == \
     (has(oldSelf.spec.importedModelName) ? oldSelf.spec.importedModelName : oldSelf.metadata.name)";

/// A transition rule on the root: `field` keeps its value once the import has started (and
/// may change while it is Failed, which starts a new import). Bedrock cannot change an
/// imported model: a new version of the weights is a new BedrockImportedModel.
fn fixed_once_imported(field: &str, equal: &str) -> kube::core::Rule {
    let message = format!(
        "spec.{field} cannot change once the model import has started: an imported model cannot change in Bedrock, so import a new version as another BedrockImportedModel (another importedModelName) and delete this one when nothing uses it (it can change while the import is Failed, which starts a new import)"
    );
    cel::immutable_while_held("jobArn", "jobStatus", field, equal, &message)
}

/// Declares one Amazon Bedrock imported model made by a model import job
/// (CreateModelImportJob) from open-weight model files in S3. The operator starts the job,
/// follows it to the imported model, reports both, keeps their tags in sync and deletes the
/// imported model (or keeps it) when this resource is deleted. A new version of the weights is a
/// new BedrockImportedModel: an imported model cannot change in Bedrock.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "bedrock-operator.dev",
    version = "v1alpha1",
    kind = "BedrockImportedModel",
    plural = "bedrockimportedmodels",
    singular = "bedrockimportedmodel",
    shortname = "bim",
    category = "bedrock",
    namespaced,
    status = "BedrockImportedModelStatus",
    cel,
    doc = "BedrockImportedModel declares an Amazon Bedrock imported model made by a model import job (CreateModelImportJob) from open-weight model files in S3. The operator starts the job, follows it to the imported model, reports both, keeps their tags in sync and deletes or retains the imported model when the resource is deleted.",
    printcolumn(name = "Model", type_ = "string", json_path = ".status.importedModelName", description = "The Bedrock imported model name"),
    printcolumn(name = "Job", type_ = "string", json_path = ".status.jobStatus", description = "The import job's status: InProgress, Completed or Failed"),
    printcolumn(name = "Architecture", type_ = "string", json_path = ".status.modelArchitecture", description = "The model architecture Bedrock found"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status", description = "True when the import Completed and the imported model exists"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.importedModelArn", priority = 1, description = "The imported model's ARN: the modelId to invoke"),
    printcolumn(name = "Reason", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason", priority = 1, description = "Why the model is or is not ready"),
    validation = fixed_once_imported("importedModelName", IMPORTED_MODEL_NAME_EQUAL),
    validation = fixed_once_imported("source", "self.spec.source == oldSelf.spec.source"),
    validation = fixed_once_imported("roleArn", "self.spec.roleArn == oldSelf.spec.roleArn"),
    validation = fixed_once_imported("kmsKeyId", &cel::optional_equal("kmsKeyId")),
    validation = fixed_once_imported("vpcConfig", &cel::optional_equal("vpcConfig")),
    validation = fixed_once_imported("region", &cel::optional_equal("region")),
)]
#[serde(rename_all = "camelCase")]
pub struct BedrockImportedModelSpec {
    /// The Bedrock imported model name (CreateModelImportJob's importedModelName): 1 to 63
    /// letters and digits, with single hyphens or underscores between them. Defaults to
    /// metadata.name (namespace-name when the operator runs with --namespaced-names). Must be
    /// unique among the imported models of the AWS account and region. Cannot change once the
    /// import has started (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = patterns::IMPORTED_MODEL_NAME)
    )]
    pub imported_model_name: Option<String>,

    /// Where the model files are. Cannot change once the import has started (unless it Failed):
    /// a new version of the weights is a new BedrockImportedModel.
    pub source: ImportSource,

    /// ARN of the IAM service role that Bedrock assumes to read the model files (and to use
    /// the KMS key, if one is set). Cannot change once the import has started (unless it
    /// Failed).
    #[schemars(length(min = 1, max = 2048), regex(pattern = patterns::ROLE_ARN))]
    pub role_arn: String,

    /// The customer managed KMS key that encrypts the imported model
    /// (importedModelKmsKeyId): a key ARN, a key ID, an alias name (alias/...) or an alias ARN.
    /// When unset, Bedrock uses an AWS managed key. Cannot change once the import has started
    /// (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = patterns::KMS_KEY_ID))]
    pub kms_key_id: Option<String>,

    /// The VPC the import job runs in, to reach the S3 bucket through it. Cannot change once
    /// the import has started (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfig>,

    /// Tags for the import job and the imported model, kept in sync on the imported model:
    /// adding, changing or removing an entry here changes its tags. Tags set by other tools
    /// are left alone. At most 47 entries (Bedrock allows 50 and the operator uses up to 3);
    /// keys are 1 to 128 and values up to 256 of letters, digits, spaces and _ . : / = + - @;
    /// keys starting with "aws:" or "bedrock-operator.dev/" are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "super::model::tags_schema")]
    #[x_kube(validation = cel::tag_keys(), validation = cel::tag_keys_not_reserved())]
    pub tags: BTreeMap<String, String>,

    /// What happens to the imported model when this resource is deleted: Delete (the default)
    /// deletes it (DeleteImportedModel); Retain keeps it in Bedrock. The import job's record
    /// stays in Bedrock either way (Bedrock has no call that deletes it).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// What to do when an imported model with this name already exists in Bedrock and was not
    /// imported for this resource: Never (the default) reports NameConflict and leaves it
    /// alone; Adopt takes it over: the operator tags it and its import job as its own, reports
    /// its status, syncs tags and applies deletionPolicy to it.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,

    /// The AWS region of the imported model, such as us-east-1. Defaults to the operator's
    /// region (from its --region flag or the AWS configuration chain). Cannot change once the
    /// import has started (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20), regex(pattern = patterns::REGION))]
    pub region: Option<String>,
}

/// Where the model files are.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImportSource {
    /// S3 URI of the folder that holds the model files in Hugging Face format (the
    /// safetensors weights, config.json and the tokenizer files), such as
    /// s3://my-bucket/llama-3-8b-ft/ (CreateModelImportJob's
    /// modelDataSource.s3DataSource.s3Uri).
    #[schemars(length(min = 1, max = 1024), regex(pattern = patterns::S3_URI))]
    pub s3_uri: String,
}

/// The VPC an import job runs in.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VpcConfig {
    /// The IDs of 1 to 16 subnets, such as subnet-0123456789abcdef0.
    #[schemars(length(min = 1, max = 16), inner(length(min = 1, max = 32), regex(pattern = patterns::VPC_ID)))]
    pub subnet_ids: Vec<String>,
    /// The IDs of 1 to 5 security groups, such as sg-0123456789abcdef0.
    #[schemars(length(min = 1, max = 5), inner(length(min = 1, max = 32), regex(pattern = patterns::VPC_ID)))]
    pub security_group_ids: Vec<String>,
}

/// The import job's status in Bedrock (GetModelImportJob's status).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    InProgress,
    Completed,
    Failed,
    /// A value this version of the operator does not know: read without failing, so the
    /// resource stays readable.
    #[serde(other)]
    Unknown,
}

/// The model units one copy of the imported model takes (GetImportedModel's
/// customModelUnits): what on-demand inference of it is billed by.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomModelUnits {
    /// Custom model units per model copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_model_units_per_model_copy: Option<i32>,
    /// The version of the custom model units scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_model_units_version: Option<String>,
}

/// What the operator observed and did. Written by the operator only.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BedrockImportedModelStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// ARN of the model import job of this resource's current import; the imported model's own
    /// ARN when Bedrock no longer has a record of the job (an adopted model whose job expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_arn: Option<String>,

    /// The import job's name (derived by the operator from importedModelName and the attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,

    /// The import job's status as last observed: InProgress, Completed or Failed.
    // A plain string in the schema: an operator newer than its CRD can write a new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub job_status: Option<JobStatus>,

    /// ARN of the imported model: the modelId to invoke it with. Set once the job Completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_model_arn: Option<String>,

    /// The Bedrock imported model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_model_name: Option<String>,

    /// The AWS region of the import job and the imported model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,

    /// The model architecture Bedrock found in the files (such as llama3, mistral, qwen2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_architecture: Option<String>,

    /// Whether the imported model supports instruct (chat) prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruct_supported: Option<bool>,

    /// The model units a copy of the imported model takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_model_units: Option<CustomModelUnits>,

    /// Why the import job failed, when jobStatus is Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,

    /// When Bedrock created the imported model (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,

    /// Ready: True when the import Completed and the imported model exists. Synced: whether
    /// the last reconcile reached the desired state. See docs/reference.md for every reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The parameters the current import was started (or adopted) with, to tell whether the
    /// spec still matches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_with: Option<ImportCreatedWith>,

    /// The tag keys of spec.tags that the operator has put on the imported model, so that
    /// removing one from the spec removes it while tags set by other tools are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_tag_keys: Vec<String>,

    /// The metadata.generation whose spec.tags the imported model's tags were last made to
    /// match (at the import, or by TagResource/UntagResource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_synced_generation: Option<i64>,

    /// How many times a new import was started (after a failure, or after the imported model
    /// disappeared); part of the next job's name and idempotency token.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recreations: i32,

    /// The last value of the bedrock-operator.dev/retry annotation that was acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_handled: Option<String>,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

/// The parameters Bedrock fixes when it imports a model, as the import was started or
/// adopted.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImportCreatedWith {
    /// The imported model name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub imported_model_name: String,
    /// The S3 URI of the model files.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub s3_uri: String,
    /// The role the job ran with; unset for an adopted model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The KMS key as the spec named it; unset for an adopted model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// The VPC the job ran in; unset for an adopted model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_config: Option<VpcConfig>,
    /// The region of the imported model.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// True when the model was adopted rather than imported for this resource.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

impl BedrockImportedModel {
    /// The Bedrock imported model name: spec.importedModelName, or metadata.name when unset.
    pub fn imported_model_name(&self) -> &str {
        self.spec
            .imported_model_name
            .as_deref()
            .or(self.metadata.name.as_deref())
            .unwrap_or_default()
    }
}

/// An imported model's spec that passed [`validate_imported`]: every value
/// is checked (the spec itself is then read as it is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidImported {
    pub s3_uri: String,
}

#[cfg(test)]
#[path = "imported_validation_tests.rs"]
mod validation_tests;

// The controller's check of the spec (see `super::validation`): the same rules as the schema.

static IMPORTED_MODEL_NAME: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::IMPORTED_MODEL_NAME,
        patterns::IMPORTED_MODEL_NAME_MAX,
        "1 to 63 letters and digits, with single '-' or '_' between them",
    )
});
static KMS_KEY_ID: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::KMS_KEY_ID,
        patterns::ARN_MAX,
        "a KMS key ARN, key ID, alias name (alias/...) or alias ARN",
    )
});
static VPC_ID: LazyLock<Check> = LazyLock::new(|| {
    Check::new(
        patterns::VPC_ID,
        patterns::VPC_ID_MAX,
        "an ID of letters, digits and '-' such as subnet-0123456789abcdef0",
    )
});

/// An imported model's spec, checked: the validated type, or every problem in field order.
pub fn validate_imported(
    imported: &BedrockImportedModel,
) -> Result<ValidImported, Vec<FieldError>> {
    let spec = &imported.spec;
    let mut errors = Vec::new();

    let derived = imported.metadata.name.as_deref().unwrap_or_default();
    let given = spec.imported_model_name.as_deref();
    let words = ("imported model", "imported model name");
    IMPORTED_MODEL_NAME.check_name("spec.importedModelName", given, derived, words, &mut errors);
    S3_URI.check("spec.source.s3Uri", &spec.source.s3_uri, &mut errors);
    ROLE_ARN.check("spec.roleArn", &spec.role_arn, &mut errors);
    if let Some(key) = &spec.kms_key_id {
        KMS_KEY_ID.check("spec.kmsKeyId", key, &mut errors);
    }
    if let Some(vpc) = &spec.vpc_config {
        let lists = [
            ("subnetIds", &vpc.subnet_ids, patterns::VPC_SUBNETS_MAX),
            (
                "securityGroupIds",
                &vpc.security_group_ids,
                patterns::VPC_SECURITY_GROUPS_MAX,
            ),
        ];
        for (name, ids, max) in lists {
            let field = format!("spec.vpcConfig.{name}");
            if ids.is_empty() || ids.len() > max as usize {
                errors.push(FieldError {
                    field: field.clone(),
                    message: format!("has {} entries; it takes 1 to {max}", ids.len()),
                });
            }
            for (i, id) in ids.iter().enumerate() {
                VPC_ID.check(&format!("{field}[{i}]"), id, &mut errors);
            }
        }
    }
    check_tags(&spec.tags, "imported model", &mut errors);
    if let Some(region) = &spec.region {
        REGION.check("spec.region", region, &mut errors);
    }
    if errors.is_empty() {
        Ok(ValidImported {
            s3_uri: spec.source.s3_uri.clone(),
        })
    } else {
        Err(errors)
    }
}
