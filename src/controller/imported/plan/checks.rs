//! The checks of an imported model's reconcile that stop it before any call: a fixed field
//! changed while the import holds, a tenant guard refused.

use super::*;
use crate::controller::guards::{Guarded, Guards};

/// A spec.roleArn or spec.kmsKeyId outside what the operator's tenant guards allow the
/// resource's namespace: InvalidSpec naming each field and the setting, before any AWS call.
/// A key named by ID or alias matches no allowed ARN pattern but `*`: name it by its ARN.
pub fn guards_refused(resource: &BedrockImportedModel, guards: &Guards) -> Option<Plan> {
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let spec = &resource.spec;
    let errors: Vec<_> = [
        (
            Guarded::RoleArn,
            Some(spec.role_arn.as_str()),
            "spec.roleArn",
        ),
        (
            Guarded::KmsKeyArn,
            spec.kms_key_id.as_deref(),
            "spec.kmsKeyId",
        ),
    ]
    .into_iter()
    .filter_map(|(guarded, value, field)| {
        let mut error = guards.arn_refused(namespace, guarded, value?)?;
        error.field = field.to_string();
        Some(error)
    })
    .collect();
    (!errors.is_empty()).then(|| crate::controller::apply::invalid(resource, &errors))
}

/// A change to a fixed field while the import holds (the spec is valid): stops here, with the
/// fields named and no call to Bedrock.
pub fn immutable_changed(resource: &BedrockImportedModel, region: &str) -> Option<Plan> {
    let status = base_status(resource, region);
    held::immutable_changed(
        resource,
        status,
        &desired_parameters(resource, region),
        |fields, current| {
            format!(
                "{fields} cannot change while Bedrock imported model {} exists or is being imported: an imported model cannot change, so import the new version as another BedrockImportedModel and delete this one when nothing uses it; revert the change to resume; nothing was sent to AWS",
                current.imported_model_name
            )
        },
    )
}
