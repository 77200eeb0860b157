//! What deleting the resource takes, and the message of a deletion Bedrock refused.

use super::*;

/// Decides what deleting the resource takes.
pub fn cleanup(resource: &BedrockCustomModel, adoption: &NamespaceScope) -> Cleanup {
    if resource.spec.deletion_policy == DeletionPolicy::Retain {
        return Cleanup::Retain;
    }
    let status = resource.status.clone().unwrap_or_default();
    if let Some(arn) = status.model_arn {
        return Cleanup::Delete { arn };
    }
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let adoption_refused =
        resource.spec.adoption_policy == AdoptionPolicy::Adopt && !adoption.allows(namespace);
    if !validation::validate(resource).is_empty() || adoption_refused {
        // No valid spec, no create: this generation never reached Bedrock.
        return Cleanup::Nothing;
    }
    if outcome::refused_before_any_call(
        &status.conditions,
        resource.metadata.generation,
        resource.metadata.deletion_timestamp.is_some(),
    ) {
        Cleanup::Nothing
    } else {
        Cleanup::LookUp {
            name: model_name(resource),
        }
    }
}

/// The message of a deletion Bedrock refused (ConflictException: the model is in use).
pub fn deletion_refused_message(arn: &str, error: &BedrockError) -> String {
    format!(
        "Bedrock refused to delete model {arn}: {}. No deployment or throughput in the namespaces this operator watches uses it, so something else does (a resource in a namespace the operator does not watch, or one made outside Kubernetes). The operator keeps the finalizer and retries with backoff; remove what uses the model (such as a provisioned throughput), or set spec.deletionPolicy: Retain to keep the model and let the resource go",
        error.describe()
    )
}
