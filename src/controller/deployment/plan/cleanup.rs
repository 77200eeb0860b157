//! Deleting the resource: what it takes, and the message when Bedrock refuses.

use crate::api::deployment::BedrockCustomModelDeployment;
use crate::api::{DeletionPolicy, validation};
use crate::controller::cleanup;
use crate::controller::scope::NamespaceScope;

use super::Cleanup;

/// Decides what deleting the resource takes.
pub fn cleanup(resource: &BedrockCustomModelDeployment, adoption: &NamespaceScope) -> Cleanup {
    let retain = resource.spec.deletion_policy == DeletionPolicy::Retain;
    let status = resource.status.as_ref();
    let held = status.and_then(|s| s.deployment_arn.clone());
    let lookup = || {
        validation::validate_deployment(resource)
            .ok()
            .filter(|valid| cleanup::may_adopt(resource, valid.adoption_policy, adoption))
            .map(|valid| valid.deployment_name)
    };
    let held = held.map(|arn| Cleanup::Delete { arn });
    cleanup::decide(retain, held, cleanup::refused(resource), lookup)
}
