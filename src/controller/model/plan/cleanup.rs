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
