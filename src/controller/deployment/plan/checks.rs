//! The deployment's checks before any AWS call (validation, immutable fields, adoption and
//! region refusals), and whether it is settled or needs its tags read.

use crate::api::AdoptionPolicy;
use crate::api::conditions::reason;
use crate::api::deployment::{BedrockCustomModelDeployment, DeploymentStatus, ValidDeployment};
use crate::bedrock::{DeploymentState, RemoteDeployment, UpdateState};
use crate::controller::outcome::{self};
use crate::controller::scope::NamespaceScope;
use crate::controller::{apply, held};

use super::{Lookup, Plan, base_status, created_with, immutable_changes};

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
        immutable_changes,
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

/// Whether the status shows the spec reconciled and nothing pending (see [`outcome::settled`]).
pub fn settled(resource: &BedrockCustomModelDeployment) -> bool {
    held::settled(resource, |status| match status.deployment_status {
        Some(DeploymentStatus::Active) => outcome::Standing::Serving {
            ready_reason: reason::ACTIVE,
            synced_too: true,
        },
        Some(DeploymentStatus::Failed) => outcome::Standing::Failed,
        _ => outcome::Standing::InProgress,
    })
}

/// Whether the observe step should also read the deployment's tags: to tell whose a deployment
/// found by name is; for an Active one, when spec.tags may have changed since they were last
/// made to match, or when the periodic drift check is `due`.
pub fn needs_tags(
    resource: &BedrockCustomModelDeployment,
    lookup: &Lookup,
    deployment: &RemoteDeployment,
    due: bool,
) -> bool {
    // While a swap runs the tags are not synced (the plan waits for it), so the polls of an
    // update read none.
    let updating = deployment
        .update
        .as_ref()
        .is_some_and(|u| u.state == UpdateState::Updating);
    outcome::needs_tags(
        matches!(lookup, Lookup::ByName(_)),
        deployment.state == DeploymentState::Active && !updating,
        due,
        resource
            .status
            .as_ref()
            .and_then(|s| s.tags_synced_generation),
        resource.metadata.generation,
    )
}
