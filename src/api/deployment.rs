//! The `BedrockCustomModelDeployment` custom resource (group `bedrock-operator.dev`, version
//! `v1alpha1`): on-demand inference of a custom model (CreateCustomModelDeployment).
//!
//! The doc comments on these types become the field descriptions of the CRD (and so what
//! `kubectl explain bcmd.spec` prints): write them for the person filling in the YAML.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::cel;
use super::export::{Export, ExportStatus};
use super::model::{AdoptionPolicy, DeletionPolicy};
use super::patterns;

/// Declares one Amazon Bedrock custom model deployment (CreateCustomModelDeployment): on-demand
/// inference of a custom model, invoked by the deployment's ARN. The operator creates the
/// deployment, rolls a change of model out in place (UpdateCustomModelDeployment), reports its
/// status, keeps its tags in sync and deletes it (or keeps it) when this resource is deleted.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "bedrock-operator.dev",
    version = "v1alpha1",
    kind = "BedrockCustomModelDeployment",
    plural = "bedrockcustommodeldeployments",
    singular = "bedrockcustommodeldeployment",
    shortname = "bcmd",
    category = "bedrock",
    namespaced,
    status = "BedrockCustomModelDeploymentStatus",
    cel,
    doc = "BedrockCustomModelDeployment declares an Amazon Bedrock custom model deployment (CreateCustomModelDeployment) for on-demand inference of a custom model. The operator creates it, swaps its model in place when the spec names another, reports its status, keeps its tags in sync and deletes or retains it when the resource is deleted.",
    printcolumn(name = "Deployment", type_ = "string", json_path = ".status.modelDeploymentName", description = "The Bedrock deployment name"),
    printcolumn(name = "Model", type_ = "string", json_path = ".status.modelArn", description = "ARN of the model the deployment serves"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.deploymentStatus", description = "Bedrock's deployment status: Creating, Active or Failed"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status", description = "True when the deployment is Active and serves the model the spec names"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.deploymentArn", priority = 1, description = "The deployment's ARN: the modelId to invoke"),
    printcolumn(name = "Update", type_ = "string", json_path = ".status.updateStatus", priority = 1, description = "The last model swap: Updating, UpdateCompleted or UpdateFailed"),
    printcolumn(name = "Reason", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason", priority = 1, description = "Why the deployment is or is not ready"),
    validation = cel::deployment_immutable_once_created("modelDeploymentName", cel::DEPLOYMENT_NAME_EQUAL),
    validation = cel::deployment_immutable_once_created("description", &cel::optional_equal("description")),
    validation = cel::deployment_immutable_once_created("region", &cel::optional_equal("region")),
)]
#[x_kube(validation = cel::exactly_one_model(), validation = cel::model_arn_in_region())]
#[serde(rename_all = "camelCase")]
pub struct BedrockCustomModelDeploymentSpec {
    /// The Bedrock deployment name (CreateCustomModelDeployment's modelDeploymentName): 1 to 63
    /// letters and digits, with single hyphens or underscores between them. Defaults to
    /// metadata.name (namespace-name when the operator runs with --namespaced-names). Cannot
    /// change once the deployment exists (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = patterns::MODEL_DEPLOYMENT_NAME)
    )]
    pub model_deployment_name: Option<String>,

    /// A description of the deployment, 1 to 2048 characters. Cannot change once the deployment
    /// exists (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub description: Option<String>,

    /// The model to deploy, as a BedrockCustomModel of this namespace (references never leave
    /// the resource's namespace). The deployment waits until that model is Active and follows
    /// it: when the reference changes, the new model is rolled out in place. Set exactly one of
    /// modelRef or modelArn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_ref: Option<ModelRef>,

    /// The model to deploy, as the ARN of a custom model that is not managed here, such as
    /// arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abc123def456 (not a
    /// foundation model, deployment or provisioned model ARN). Changing it rolls the new model
    /// out in place. Set exactly one of modelRef or modelArn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 20, max = 1011),
        regex(pattern = patterns::CUSTOM_MODEL_ARN)
    )]
    pub model_arn: Option<String>,

    /// Tags for the deployment, kept in sync: adding, changing or removing an entry here changes
    /// the deployment's tags. Tags set on it by other tools are left alone. At most 47 entries
    /// (Bedrock allows 50 and the operator uses 2); keys are 1 to 128 and values up to 256 of
    /// letters, digits, spaces and _ . : / = + - @; keys starting with "aws:" or
    /// "bedrock-operator.dev/" are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "tags_schema")]
    #[x_kube(validation = cel::tag_keys(), validation = cel::tag_keys_not_reserved())]
    pub tags: BTreeMap<String, String>,

    /// What happens to the Bedrock deployment when this resource is deleted: Delete (the
    /// default) deletes the deployment; Retain keeps it in Bedrock. The model is never deleted
    /// with the deployment.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// What to do when a deployment with this name already exists in Bedrock and was not
    /// created for this resource: Never (the default) reports NameConflict and leaves it alone;
    /// Adopt takes it over: the operator tags it as its own, rolls the spec's model out to it
    /// if it serves another, syncs tags and applies deletionPolicy to it. A deployment that
    /// another resource of this operator still holds is never taken. Allowed only in the
    /// namespaces the operator's --allow-adoption names.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,

    /// The AWS region of the deployment, such as us-east-1. Defaults to the model's region (that
    /// of the referenced BedrockCustomModel, or the one in modelArn), else the operator's
    /// region. With modelArn it must be the ARN's region. Cannot change once the deployment
    /// exists (unless it Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20), regex(pattern = patterns::REGION))]
    pub region: Option<String>,

    /// Publish the ID to invoke, the model served and the region as a ConfigMap of this
    /// namespace (owned by this resource, deleted with it), for apps to read with envFrom.
    /// Unset: no ConfigMap (one written before is deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
}

/// A BedrockCustomModel in the namespace of this resource.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ModelRef {
    /// metadata.name of the BedrockCustomModel, in this resource's namespace (there is no
    /// namespace field: references stay in the namespace).
    #[schemars(length(min = 1, max = 253), regex(pattern = patterns::OBJECT_NAME))]
    pub name: String,
}

/// The deployment's status in Bedrock (CustomModelDeploymentStatus).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentStatus {
    Creating,
    Active,
    Failed,
    /// A value this version of the operator does not know (written by a newer one, or a new
    /// Bedrock state): read without failing, so the resource stays readable.
    #[serde(other)]
    Unknown,
}

/// The state of the last model swap (CustomModelDeploymentUpdateStatus).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateStatus {
    Updating,
    UpdateCompleted,
    UpdateFailed,
    /// A value this version of the operator does not know: read without failing.
    #[serde(other)]
    Unknown,
}

/// What the operator observed and did. Written by the operator only.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BedrockCustomModelDeploymentStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// ARN of the Bedrock deployment managed by this resource: the modelId to pass to
    /// InvokeModel or Converse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_arn: Option<String>,

    /// The Bedrock deployment name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_deployment_name: Option<String>,

    /// The AWS region of the deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,

    /// The deployment's status in Bedrock as last observed: Creating, Active or Failed.
    // A plain string in the schema: Helm does not upgrade CRDs, so an operator newer than its
    // CRD must still be able to write a value the old schema would not list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub deployment_status: Option<DeploymentStatus>,

    /// ARN of the model the deployment serves, as Bedrock reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_arn: Option<String>,

    /// ARN of the model the spec names (modelArn, or the referenced BedrockCustomModel's): what
    /// the deployment serves once a swap completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_model_arn: Option<String>,

    /// The state of the last model swap: Updating, UpdateCompleted or UpdateFailed (the
    /// deployment keeps serving the previous model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub update_status: Option<UpdateStatus>,

    /// Why Bedrock could not create the deployment, or swap its model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,

    /// Ready: True when the deployment is Active and serves the model the spec names. Synced:
    /// whether the last reconcile reached the desired state. See docs/reference.md for every
    /// reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The parameters the current deployment was created with, which Bedrock cannot change in
    /// place, to tell whether the spec still matches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_with: Option<DeploymentCreatedWith>,

    /// The tag keys of spec.tags that the operator has put on the deployment, so that removing
    /// one from the spec removes it from the deployment while tags set by other tools are left
    /// alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_tag_keys: Vec<String>,

    /// The metadata.generation whose spec.tags the deployment's tags were last made to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_synced_generation: Option<i64>,

    /// How many times the deployment was re-created after it disappeared from Bedrock or was
    /// replaced; part of the idempotency token of the next CreateCustomModelDeployment.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recreations: i32,

    /// The ConfigMap spec.export asked for, as the operator last wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportStatus>,

    /// The last value of the bedrock-operator.dev/retry annotation that was acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_handled: Option<String>,
}

/// The parameters of a deployment that Bedrock cannot change in place, as it was created.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCreatedWith {
    /// The deployment name.
    // Defaults (so not `required` in the schema), as in the model's createdWith.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_deployment_name: String,
    /// The description, if one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The region of the deployment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// True when the deployment was adopted rather than created by this resource.
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

impl BedrockCustomModelDeployment {
    /// The Bedrock deployment name: spec.modelDeploymentName, or metadata.name when unset.
    pub fn deployment_name(&self) -> &str {
        self.spec
            .model_deployment_name
            .as_deref()
            .or(self.metadata.name.as_deref())
            .unwrap_or_default()
    }
}

/// The model a valid spec deploys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelTarget {
    /// A BedrockCustomModel of the deployment's namespace, by metadata.name.
    Ref(String),
    /// A custom model ARN (checked against the CustomModelArn pattern).
    Arn(String),
}

impl ModelTarget {
    /// The region in a model ARN; `None` for a reference (its region is the referenced
    /// model's, known only once it is read).
    pub fn arn_region(&self) -> Option<&str> {
        match self {
            Self::Ref(_) => None,
            Self::Arn(arn) => arn_region(arn),
        }
    }
}

/// The region field of an ARN (`arn:PARTITION:SERVICE:REGION:...`), if it has one.
pub fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|region| !region.is_empty())
}

/// A deployment spec that passed [`super::validation::validate_deployment`]: every value is
/// checked, the defaults are applied, and the model is named exactly one way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidDeployment {
    /// The effective Bedrock deployment name (spec.modelDeploymentName or metadata.name).
    pub deployment_name: String,
    pub description: Option<String>,
    pub model: ModelTarget,
    /// spec.region as written; see [`ValidDeployment::region`] for the effective one.
    pub region: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub deletion_policy: DeletionPolicy,
    pub adoption_policy: AdoptionPolicy,
    /// The name of the ConfigMap spec.export asks for (the default applied), when it is set.
    pub export: Option<String>,
}

impl ValidDeployment {
    /// The region to deploy in: spec.region; else the model's (the region of modelArn, or
    /// `referenced_model_region`, the region of the referenced BedrockCustomModel when it is
    /// known); else the operator's default.
    pub fn region(&self, referenced_model_region: Option<&str>, operator_default: &str) -> String {
        let model_region = match &self.model {
            ModelTarget::Arn(_) => self.model.arn_region(),
            ModelTarget::Ref(_) => referenced_model_region,
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

    const ARN: &str = "arn:aws:bedrock:us-west-2:123456789012:custom-model/imported/abc123def456";

    fn valid(model: ModelTarget, region: Option<&str>) -> ValidDeployment {
        ValidDeployment {
            deployment_name: "d".into(),
            description: None,
            model,
            region: region.map(str::to_string),
            tags: BTreeMap::new(),
            deletion_policy: DeletionPolicy::Delete,
            adoption_policy: AdoptionPolicy::Never,
            export: None,
        }
    }

    #[test]
    fn region_prefers_the_spec() {
        let deployment = valid(ModelTarget::Ref("m".into()), Some("eu-west-1"));
        assert_eq!(
            deployment.region(Some("us-west-2"), "us-east-1"),
            "eu-west-1"
        );
    }

    #[test]
    fn region_of_a_model_arn_is_the_arns() {
        let deployment = valid(ModelTarget::Arn(ARN.into()), None);
        assert_eq!(
            deployment.region(Some("eu-west-1"), "us-east-1"),
            "us-west-2"
        );
    }

    #[test]
    fn region_of_a_reference_is_the_referenced_models() {
        let deployment = valid(ModelTarget::Ref("m".into()), None);
        assert_eq!(
            deployment.region(Some("us-west-2"), "us-east-1"),
            "us-west-2"
        );
    }

    #[test]
    fn region_falls_back_to_the_operator_default() {
        let deployment = valid(ModelTarget::Ref("m".into()), None);
        assert_eq!(deployment.region(None, "us-east-1"), "us-east-1");
    }

    #[test]
    fn status_with_unknown_values_still_reads() {
        let status: BedrockCustomModelDeploymentStatus =
            serde_json::from_value(serde_json::json!({
                "deploymentStatus": "Deleting",
                "updateStatus": "RollingBack",
            }))
            .expect("an unknown status value reads");
        assert_eq!(status.deployment_status, Some(DeploymentStatus::Unknown));
        assert_eq!(status.update_status, Some(UpdateStatus::Unknown));
    }

    #[test]
    fn status_values_are_bedrocks_strings() {
        for (status, text) in [
            (DeploymentStatus::Creating, "Creating"),
            (DeploymentStatus::Active, "Active"),
            (DeploymentStatus::Failed, "Failed"),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<DeploymentStatus>(text.into()).unwrap(),
                status
            );
        }
        for (status, text) in [
            (UpdateStatus::Updating, "Updating"),
            (UpdateStatus::UpdateCompleted, "UpdateCompleted"),
            (UpdateStatus::UpdateFailed, "UpdateFailed"),
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<UpdateStatus>(text.into()).unwrap(),
                status
            );
        }
    }

    #[test]
    fn tags_schema_is_the_models() {
        let field = |crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition| {
            let crd = serde_json::to_value(crd).unwrap();
            let mut tags = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
                ["spec"]["properties"]["tags"]
                .clone();
            // The descriptions speak of a model and of a deployment.
            tags.as_object_mut().unwrap().remove("description");
            tags
        };
        assert_eq!(
            field(crate::crd::deployment_crd()),
            field(crate::crd::crd())
        );
    }
}
