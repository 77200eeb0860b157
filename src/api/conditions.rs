//! Condition types and reasons. Reasons are part of the API: docs/reference.md explains each
//! one and what to do about it, and the Argo CD health check keys on them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// True only when the model is Active in Bedrock and matches the spec.
pub const READY: &str = "Ready";
/// Whether the last reconcile reached the desired state.
pub const SYNCED: &str = "Synced";

/// Condition reasons, CamelCase.
pub mod reason {
    /// The model is Active and matches the spec.
    pub const ACTIVE: &str = "Active";
    /// Bedrock is creating (importing) the model.
    pub const CREATING: &str = "Creating";
    /// Bedrock could not create the model; see the message.
    pub const FAILED: &str = "Failed";
    /// Bedrock refused to delete the model (for example, it is in use).
    pub const DELETION_BLOCKED: &str = "DeletionBlocked";
    /// The spec is invalid; the message names the field. No AWS call is made.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// An immutable field changed while the model exists. No AWS call is made.
    pub const IMMUTABLE_FIELD_CHANGED: &str = "ImmutableFieldChanged";
    /// A model with this name exists and belongs to something else.
    pub const NAME_CONFLICT: &str = "NameConflict";
    /// AWS denied the operator (or the model's role) access.
    pub const ACCESS_DENIED: &str = "AccessDenied";
    /// Bedrock throttled the operator repeatedly; it keeps retrying with backoff.
    pub const THROTTLED: &str = "Throttled";
    /// The account's custom-model quota is used up.
    pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";
    /// Bedrock rejected a parameter (ValidationException).
    pub const VALIDATION_FAILED: &str = "ValidationFailed";
    /// The model would carry more than 50 tags.
    pub const TOO_MANY_TAGS: &str = "TooManyTags";
    /// Bedrock reports a resource it needs (such as the model package) as missing.
    pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFound";
    /// Bedrock or the network failed; the operator keeps retrying with backoff.
    pub const BEDROCK_UNAVAILABLE: &str = "BedrockUnavailable";
    /// The Kubernetes API refused one of the operator's calls (403): its RBAC lacks a rule.
    pub const KUBERNETES_FORBIDDEN: &str = "KubernetesForbidden";
    /// A Kubernetes API call failed (the API server unreachable, overloaded, or refusing the
    /// request); the operator keeps retrying with backoff.
    pub const KUBERNETES_API_ERROR: &str = "KubernetesApiError";
    /// The model was kept in Bedrock because deletionPolicy is Retain.
    pub const RETAINED: &str = "Retained";
    /// The resource was deleted without deleting the model it named: the model belongs to
    /// another resource (or carries no owner tag).
    pub const LEFT_TO_OWNER: &str = "LeftToOwner";
    /// Everything the spec asks for is in place.
    pub const RECONCILED: &str = "Reconciled";

    // Reasons of BedrockCustomModelDeployment (which also uses Active, Creating, Failed,
    // DeletionBlocked, InvalidSpec, ImmutableFieldChanged and the AWS error reasons above).

    /// The BedrockCustomModel that spec.modelRef names exists but is not Active yet; the
    /// deployment waits for it.
    pub const MODEL_NOT_READY: &str = "ModelNotReady";
    /// No BedrockCustomModel of the name in spec.modelRef exists in the namespace (a model ARN
    /// that Bedrock does not know is ResourceNotFound).
    pub const MODEL_NOT_FOUND: &str = "ModelNotFound";
    /// The model the deployment would serve is Failed in Bedrock.
    pub const MODEL_FAILED: &str = "ModelFailed";
    /// The referenced BedrockCustomModel is being deleted.
    pub const MODEL_DELETING: &str = "ModelDeleting";
    /// Bedrock is swapping the deployment's model (UpdateCustomModelDeployment); the
    /// deployment serves the previous model until it completes.
    pub const UPDATING: &str = "Updating";
    /// The model swap failed: the deployment is still Active, serving the previous model.
    pub const UPDATE_FAILED: &str = "UpdateFailed";
    /// The model the spec names was found and resolved to its ARN.
    pub const REFERENCES_RESOLVED: &str = "ReferencesResolved";

    // Reasons of BedrockProvisionedThroughput (which also uses Creating, Failed, Updating,
    // UpdateFailed, the waiting reasons of deployments and the common ones above).

    /// The throughput is InService with the model the spec names.
    pub const IN_SERVICE: &str = "InService";
    // Reasons of the kinds that serve a model (deployments, provisioned throughputs) with
    // spec.export.

    /// A ConfigMap of the name spec.export gives exists and is not this resource's: the
    /// operator leaves it alone and exports nothing.
    pub const EXPORT_CONFLICT: &str = "ExportConflict";

    /// The throughput disappeared outside the operator and had a commitment: buying it again
    /// would start a new term, so the operator waits for the retry annotation.
    pub const THROUGHPUT_MISSING: &str = "ThroughputMissing";
}

/// Reasons that appear only on Kubernetes Events (the condition reasons above appear on
/// events too). Listed in docs/reference.md with the events each kind emits.
pub mod event {
    /// The Bedrock object was deleted with its resource.
    pub const DELETED: &str = "Deleted";
    /// An existing Bedrock object was adopted (adoptionPolicy: Adopt).
    pub const ADOPTED: &str = "Adopted";
    /// A Failed Bedrock object is deleted to be created again.
    pub const REPLACING: &str = "Replacing";
    /// A model swap completed: the deployment serves the new model.
    pub const UPDATED: &str = "Updated";
    /// The Bedrock model disappeared outside the operator and is created again.
    pub const MODEL_MISSING: &str = "ModelMissing";
    /// The Bedrock deployment disappeared outside the operator and is created again.
    pub const DEPLOYMENT_MISSING: &str = "DeploymentMissing";
    /// Bedrock could not create the model.
    pub const MODEL_FAILED: &str = "ModelFailed";
    /// Bedrock could not create the deployment.
    pub const DEPLOYMENT_FAILED: &str = "DeploymentFailed";
    /// Bedrock could not create or update the provisioned throughput.
    pub const THROUGHPUT_FAILED: &str = "ThroughputFailed";
    /// The model units in service changed (bought, replaced, adopted or released).
    pub const MODEL_UNITS: &str = "ModelUnits";
    /// The throughput was renamed in place.
    pub const RENAMED: &str = "Renamed";
    /// The spec.export ConfigMap was written (its data changed: a new object, a rollout).
    pub const EXPORTED: &str = "Exported";
}

/// The desired value of one condition; turned into a `metav1.Condition` by [`merge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

impl Desired {
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// The same condition as it stands on a resource.
    pub fn from_condition(type_: &'static str, condition: &Condition) -> Self {
        Self::new(
            type_,
            condition.status == "True",
            condition.reason.clone(),
            condition.message.clone(),
        )
    }
}

/// Builds the condition list: `lastTransitionTime` moves only when a condition's status flips,
/// so an unchanged condition serializes identically and the status write can be skipped.
pub fn merge(
    existing: &[Condition],
    desired: &[Desired],
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    desired
        .iter()
        .map(|want| {
            let status = if want.status { "True" } else { "False" };
            let previous = existing.iter().find(|c| c.type_ == want.type_);
            let last_transition_time = match previous {
                Some(prev) if prev.status == status => prev.last_transition_time.clone(),
                _ => now.clone(),
            };
            Condition {
                type_: want.type_.to_string(),
                status: status.to_string(),
                reason: want.reason.to_string(),
                message: want.message.clone(),
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

/// The condition of `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let first = merge(
            &[],
            &[Desired::new(READY, false, reason::CREATING, "creating")],
            Some(1),
            &time(10),
        );
        assert_eq!(first[0].last_transition_time, time(10));

        let same_status = merge(
            &first,
            &[Desired::new(READY, false, reason::FAILED, "failed")],
            Some(2),
            &time(20),
        );
        assert_eq!(
            same_status[0].last_transition_time,
            time(10),
            "False → False keeps the time"
        );
        assert_eq!(same_status[0].reason, "Failed");
        assert_eq!(same_status[0].observed_generation, Some(2));

        let flipped = merge(
            &same_status,
            &[Desired::new(READY, true, reason::ACTIVE, "active")],
            Some(2),
            &time(30),
        );
        assert_eq!(flipped[0].last_transition_time, time(30));
        assert_eq!(flipped[0].status, "True");
    }

    #[test]
    fn unchanged_conditions_are_equal() {
        let desired = [Desired::new(SYNCED, true, reason::RECONCILED, "ok")];
        let first = merge(&[], &desired, Some(1), &time(10));
        let again = merge(&first, &desired, Some(1), &time(99));
        assert_eq!(first, again);
    }
}
