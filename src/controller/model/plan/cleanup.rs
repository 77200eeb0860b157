//! What deleting the resource takes, and the message of a deletion Bedrock refused.

use super::*;

/// Decides what deleting the resource takes.
pub fn cleanup(resource: &BedrockCustomModel, adoption: &NamespaceScope) -> Cleanup {
    let retain = resource.spec.deletion_policy == DeletionPolicy::Retain;
    let held = resource.status.as_ref().and_then(|s| s.model_arn.clone());
    let lookup = || {
        let policy = resource.spec.adoption_policy;
        let valid = validation::validate(resource).is_empty();
        (valid && crate::controller::cleanup::may_adopt(resource, policy, adoption))
            .then(|| model_name(resource))
    };
    let held = held.map(|arn| Cleanup::Delete { arn });
    let refused = crate::controller::cleanup::refused(resource);
    crate::controller::cleanup::decide(retain, held, refused, lookup)
}

/// The message of a deletion Bedrock refused (ConflictException: the model is in use).
pub fn deletion_refused_message(arn: &str, error: &BedrockError) -> String {
    format!(
        "Bedrock refused to delete model {arn}: {}. No deployment or throughput in the namespaces this operator watches uses it, so something else does (a resource in a namespace the operator does not watch, or one made outside Kubernetes). The operator keeps the finalizer and retries with backoff; remove what uses the model (such as a provisioned throughput), or set spec.deletionPolicy: Retain to keep the model and let the resource go",
        error.describe()
    )
}
