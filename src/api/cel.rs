//! CEL rules (x-kubernetes-validations) of the CRD.
//!
//! Servers with CEL (Kubernetes 1.25+) refuse a bad object at `kubectl apply` time with these
//! messages. The controller's own validation (`super::validation`) checks the same things, so
//! older servers and objects stored before a rule existed still get a clear status.

use kube::core::{Reason, Rule};

use super::patterns;

/// A transition rule on the object root: `field` keeps its value (`equal`, comparing `self`
/// with `oldSelf`) while the status holds an object (`status.<arn>` set) that is not Failed
/// (`status.<state>`); `message` says why and what to do.
pub fn immutable_while_held(
    arn: &str,
    state: &str,
    field: &str,
    equal: &str,
    message: &str,
) -> Rule {
    let allowed = format!(
        "!has(oldSelf.status) || !has(oldSelf.status.{arn}) || \
         (has(oldSelf.status.{state}) && oldSelf.status.{state} == 'Failed')"
    );
    Rule::new(format!("{allowed} || ({equal})"))
        .message(message)
        .reason(Reason::FieldValueForbidden)
        .field_path(format!(".spec.{field}"))
}

/// modelName defaults to metadata.name, so compare the effective names.
pub const MODEL_NAME_EQUAL: &str = "(has(self.spec.modelName) ? self.spec.modelName : self.metadata.name) == \
     (has(oldSelf.spec.modelName) ? oldSelf.spec.modelName : oldSelf.metadata.name)";

/// A transition rule on the object root: `field` keeps its value once a model exists.
pub fn immutable_once_created(field: &str, equal: &str) -> Rule {
    let message = format!(
        "spec.{field} cannot change once the Bedrock model exists: revert it, or delete and re-create the resource (it can change while the model is Failed, which replaces the model)"
    );
    immutable_while_held("modelArn", "modelStatus", field, equal, &message)
}

/// Equality of an optional spec field between the old and the new object.
pub fn optional_equal(field: &str) -> String {
    format!(
        "has(self.spec.{field}) == has(oldSelf.spec.{field}) && (!has(self.spec.{field}) || self.spec.{field} == oldSelf.spec.{field})"
    )
}

/// On `spec.source`: exactly one of the two sources.
pub fn exactly_one_source() -> Rule {
    Rule::new("has(self.s3Uri) != has(self.modelPackageArn)")
        .message("exactly one of source.s3Uri or source.modelPackageArn must be set")
        .reason(Reason::FieldValueRequired)
}

/// On `spec`: an S3 source needs a role for Bedrock to read it with.
pub fn role_required_with_s3() -> Rule {
    Rule::new("!has(self.source.s3Uri) || has(self.roleArn)")
        .message("roleArn is required when source.s3Uri is set: name the IAM role Bedrock assumes to read the model artifacts")
        .reason(Reason::FieldValueRequired)
        .field_path(".roleArn")
}

/// On `spec.tags`: key length and character set (OpenAPI cannot constrain map keys).
pub fn tag_keys() -> Rule {
    let pattern = cel_string(patterns::TAG_KEY);
    Rule::new(format!(
        "self.all(k, k.size() >= 1 && k.size() <= {} && k.matches('{pattern}'))",
        patterns::TAG_KEY_MAX
    ))
    .message("tag keys must be 1 to 128 characters of letters, digits, spaces and _ . : / = + - @")
}

/// On `spec.tags`: keys the operator or AWS reserve.
pub fn tag_keys_not_reserved() -> Rule {
    Rule::new("self.all(k, !k.startsWith('aws:') && !k.startsWith('bedrock-operator.dev/'))")
        .message("tag keys starting with 'aws:' or 'bedrock-operator.dev/' are reserved")
        .reason(Reason::FieldValueForbidden)
}

/// modelDeploymentName defaults to metadata.name, so compare the effective names.
pub const DEPLOYMENT_NAME_EQUAL: &str = "(has(self.spec.modelDeploymentName) ? self.spec.modelDeploymentName : self.metadata.name) == \
     (has(oldSelf.spec.modelDeploymentName) ? oldSelf.spec.modelDeploymentName : oldSelf.metadata.name)";

/// A transition rule on the root of a BedrockCustomModelDeployment: `field` keeps its value once
/// the deployment exists (Bedrock cannot change it in place).
pub fn deployment_immutable_once_created(field: &str, equal: &str) -> Rule {
    let message = format!(
        "spec.{field} cannot change once the Bedrock deployment exists: revert it, or delete and re-create the resource (it can change while the deployment is Failed, which replaces the deployment)"
    );
    immutable_while_held("deploymentArn", "deploymentStatus", field, equal, &message)
}

/// On a deployment's `spec`: the model is named exactly one way.
pub fn exactly_one_model() -> Rule {
    Rule::new("has(self.modelRef) != has(self.modelArn)")
        .message("exactly one of spec.modelRef or spec.modelArn must be set: name a BedrockCustomModel of this namespace (modelRef) or a custom model ARN (modelArn)")
        .reason(Reason::FieldValueRequired)
}

/// On a deployment's `spec`: a deployment serves a model of its own region. A valid custom
/// model ARN holds `:bedrock:REGION:` only at its region (what follows the account is
/// `custom-model/` and colon-free names), so `contains` compares the ARN's region; it avoids
/// building a regular expression from user input.
pub fn model_arn_in_region() -> Rule {
    Rule::new("!has(self.region) || !has(self.modelArn) || self.modelArn.contains(':bedrock:' + self.region + ':')")
        .message("spec.region must be the region of spec.modelArn: a deployment serves a model of its own region (leave region unset to use the ARN's)")
        .reason(Reason::FieldValueInvalid)
        .field_path(".region")
}

/// A transition rule on the root of a BedrockProvisionedThroughput: `field` keeps its value once
/// the throughput exists (Bedrock cannot change it); `what_to_do` says how to get the change.
pub fn throughput_immutable_once_created(field: &str, equal: &str, what_to_do: &str) -> Rule {
    let message =
        format!("spec.{field} cannot change once the provisioned throughput exists: {what_to_do}");
    immutable_while_held(
        "provisionedModelArn",
        "throughputStatus",
        field,
        equal,
        &message,
    )
}

/// On a provisioned throughput's `spec`: the model is named exactly one way.
pub fn exactly_one_throughput_model() -> Rule {
    Rule::new("has(self.modelRef) != has(self.modelId)")
        .message("exactly one of spec.modelRef or spec.modelId must be set: name a BedrockCustomModel of this namespace (modelRef) or a model ARN or ID (modelId)")
        .reason(Reason::FieldValueRequired)
}

/// On a provisioned throughput's `spec`: a model ARN in modelId is of the throughput's region
/// (see [`model_arn_in_region`] for why `contains` compares the region).
pub fn model_id_in_region() -> Rule {
    Rule::new("!has(self.region) || !has(self.modelId) || !self.modelId.startsWith('arn:') || self.modelId.contains(':bedrock:' + self.region + ':')")
        .message("spec.region must be the region of the model ARN in spec.modelId: a provisioned throughput serves a model of its own region (leave region unset to use the ARN's)")
        .reason(Reason::FieldValueInvalid)
        .field_path(".region")
}

/// Escapes a regular expression for a single-quoted CEL string literal.
fn cel_string(pattern: &str) -> String {
    pattern.replace('\\', "\\\\").replace('\'', "\\'")
}

#[cfg(test)]
#[path = "cel_tests.rs"]
mod tests;
