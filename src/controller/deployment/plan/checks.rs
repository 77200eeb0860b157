//! The deployment's checks before any AWS call (validation, immutable fields, adoption and
//! region refusals), and whether it is settled or needs its tags read.

use crate::api::AdoptionPolicy;
use crate::api::deployment::{BedrockCustomModelDeployment, ValidDeployment};
use crate::controller::scope::NamespaceScope;
use crate::controller::{apply, held};

use super::{Plan, base_status, created_with};

/// Checks made before any AWS call: a change to an immutable field of a live deployment stops
/// here, with the reason on the resource and no call to Bedrock.
pub fn precheck(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
) -> Option<Plan> {
    let status = base_status(resource, valid, region);
    held::immutable_changed(
        resource,
        status,
        &created_with(valid, region),
        |fields, current| {
            format!(
                "{fields} cannot change while Bedrock deployment {} exists: revert the change to resume, or delete and re-create the resource to make a new deployment; nothing was sent to AWS",
                current.model_deployment_name
            )
        },
    )
}

/// `adoptionPolicy: Adopt` in a namespace the operator's `--allow-adoption` leaves out: an
/// InvalidSpec naming the field, before any AWS call.
pub fn adoption_refused(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
    scope: &NamespaceScope,
) -> Option<Plan> {
    let adopt = valid.adoption_policy == AdoptionPolicy::Adopt;
    apply::adoption_refused(
        resource,
        adopt,
        || base_status(resource, valid, region),
        scope,
    )
}
