//! The throughput's other checks before any AWS call (validation, immutable fields, region
//! and adoption refusals), and whether it is settled or needs its tags read.

use crate::api::throughput::{BedrockProvisionedThroughput, ValidThroughput};
use crate::api::{AdoptionPolicy, validation::FieldError};
use crate::controller::scope::NamespaceScope;
use crate::controller::{apply, held};

use super::{Plan, base_status, created_with};

/// The plan of a spec that fails validation (or the commitment guard): InvalidSpec naming
/// every field, no AWS call.
pub fn invalid(resource: &BedrockProvisionedThroughput, errors: &[FieldError]) -> Plan {
    apply::invalid(resource, errors)
}

/// Checks made before any AWS call: a change to a field Bedrock cannot change on a live
/// throughput stops here, with what to do in the message and no call.
pub fn precheck(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    region: &str,
) -> Option<Plan> {
    let status = base_status(resource, valid, region);
    let name = status.provisioned_model_name.clone().unwrap_or_default();
    held::immutable_changed(
        resource,
        status,
        &created_with(valid, region),
        |fields, _| {
            format!(
                "{fields} cannot change on a live provisioned throughput ({name}): Bedrock fixes the model units, commitment and region when it is bought. Revert the change to resume; to get other units or another term, create another BedrockProvisionedThroughput, move traffic to it, then delete this one. Nothing was sent to AWS"
            )
        },
    )
}

/// `adoptionPolicy: Adopt` in a namespace the operator's `--allow-adoption` leaves out.
pub fn adoption_refused(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    scope: &NamespaceScope,
) -> Option<Plan> {
    let adopt = valid.adoption_policy == AdoptionPolicy::Adopt;
    let status = || {
        let mut status = resource.status.clone().unwrap_or_default();
        status.observed_generation = resource.metadata.generation;
        status.conditions.clear();
        status
    };
    apply::adoption_refused(resource, adopt, status, scope)
}
