//! Deleting the resource: what it takes, and the message when Bedrock refuses.

use crate::api::deployment::BedrockCustomModelDeployment;
use crate::api::{AdoptionPolicy, DeletionPolicy, validation};
use crate::bedrock::BedrockError;
use crate::controller::outcome;
use crate::controller::scope::NamespaceScope;

use super::Cleanup;

/// Decides what deleting the resource takes.
pub fn cleanup(resource: &BedrockCustomModelDeployment, adoption: &NamespaceScope) -> Cleanup {
    if resource.spec.deletion_policy == DeletionPolicy::Retain {
        return Cleanup::Retain;
    }
    let status = resource.status.clone().unwrap_or_default();
    if let Some(arn) = status.deployment_arn {
        return Cleanup::Delete { arn };
    }
    if outcome::refused_before_any_call(
        &status.conditions,
        resource.metadata.generation,
        resource.metadata.deletion_timestamp.is_some(),
    ) {
        // Refused (by validation or a tenant guard) before any call: nothing to look up.
        return Cleanup::Nothing;
    }
    match validation::validate_deployment(resource) {
        // No valid spec, no create: this generation never reached Bedrock.
        Err(_) => Cleanup::Nothing,
        Ok(valid)
            if valid.adoption_policy == AdoptionPolicy::Adopt
                && !adoption.allows(resource.metadata.namespace.as_deref().unwrap_or_default()) =>
        {
            Cleanup::Nothing
        }
        Ok(valid) => Cleanup::LookUp {
            name: valid.deployment_name,
        },
    }
}

/// The DeletionBlocked message of a deployment whose deletion Bedrock refused.
pub fn deletion_refused_message(arn: &str, error: &BedrockError) -> String {
    format!(
        "Bedrock refused to delete deployment {arn}: {}. The operator keeps the finalizer and retries with backoff, or set spec.deletionPolicy: Retain to keep the deployment and let the resource go",
        error.describe()
    )
}
