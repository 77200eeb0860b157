//! The checks of a model's reconcile that stop it before any call (an invalid spec, an immutable
//! field changed, adoption or a tenant guard refused), and whether the status shows it settled.

use super::*;
use crate::controller::apply;

/// `adoptionPolicy: Adopt` in a namespace the operator's `--allow-adoption` leaves out: an
/// InvalidSpec naming the field, before any AWS call.
pub fn adoption_refused(
    resource: &BedrockCustomModel,
    region: &str,
    scope: &NamespaceScope,
) -> Option<Plan> {
    let adopt = resource.spec.adoption_policy == AdoptionPolicy::Adopt;
    apply::adoption_refused(resource, adopt, || base_status(resource, region), scope)
}

/// A spec.roleArn or spec.kmsKeyArn outside what the operator's tenant guards allow the
/// resource's namespace: InvalidSpec naming each field and the setting, before any AWS call.
pub fn guards_refused(
    resource: &BedrockCustomModel,
    region: &str,
    guards: &Guards,
) -> Option<Plan> {
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let errors: Vec<validation::FieldError> = [
        (Guarded::RoleArn, resource.spec.role_arn.as_deref()),
        (Guarded::KmsKeyArn, resource.spec.kms_key_arn.as_deref()),
    ]
    .into_iter()
    .filter_map(|(field, value)| guards.arn_refused(namespace, field, value?))
    .collect();
    if errors.is_empty() {
        return None;
    }
    Some(invalid(resource, region, &errors))
}

/// InvalidSpec naming every field in `errors`, no call.
pub fn invalid(
    resource: &BedrockCustomModel,
    region: &str,
    errors: &[validation::FieldError],
) -> Plan {
    let message = format!(
        "{NOTHING_SENT}: {}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    blocked(
        resource,
        base_status(resource, region),
        reason::INVALID_SPEC,
        message,
        Next::AwaitChange,
    )
}

/// Checks made before any AWS call: an invalid spec or a change to an immutable field stops
/// here, with the reason on the resource and no call to Bedrock.
pub fn precheck(resource: &BedrockCustomModel, region: &str) -> Option<Plan> {
    let errors = validation::validate(resource);
    if !errors.is_empty() {
        return Some(invalid(resource, region, &errors));
    }
    immutable_changed(resource, region)
}

/// A change to an immutable field while the model exists (the spec is valid): stops here, with
/// the fields named and no call to Bedrock.
pub fn immutable_changed(resource: &BedrockCustomModel, region: &str) -> Option<Plan> {
    let status = base_status(resource, region);
    held::immutable_changed(
        resource,
        status,
        &desired_parameters(resource, region),
        |fields, current| {
            format!(
                "{fields} cannot change while Bedrock model {} exists: revert the change to resume, or delete and re-create the resource to build a new model; nothing was sent to AWS",
                current.model_name
            )
        },
    )
}
