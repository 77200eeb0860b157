//! Deleting the resource: what it takes (not before a commitment term ends), and the messages
//! of a blocked, retained or refused deletion.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::api::throughput::BedrockProvisionedThroughput;
use crate::api::validation;
use crate::controller::deletion;
use crate::controller::scope::NamespaceScope;

use super::Cleanup;
use super::existing::units;

/// Some slack past the end of a commitment term before asking Bedrock to delete, for clocks
/// that disagree by a little.
pub const TERM_SLACK: Duration = Duration::from_secs(5);

/// Decides what deleting the resource takes, at `now`: a throughput whose commitment term has
/// not ended waits for it.
pub fn cleanup(
    resource: &BedrockProvisionedThroughput,
    adoption: &NamespaceScope,
    now: Timestamp,
) -> Cleanup {
    let valid = || validation::validate_throughput(resource).is_ok();
    match deletion::standard(resource, valid, adoption) {
        Cleanup::Delete { arn } => {
            committed_until(resource, now).unwrap_or(Cleanup::Delete { arn })
        }
        decided => decided,
    }
}

/// The wait for the end of the commitment term of the throughput the status holds, when it
/// has not ended at `now`.
fn committed_until(resource: &BedrockProvisionedThroughput, now: Timestamp) -> Option<Cleanup> {
    let until = resource
        .status
        .as_ref()?
        .commitment_expiration_time
        .clone()?;
    let end = until.parse::<Timestamp>().ok()?;
    let left = Duration::try_from(end.duration_since(now)).ok()?;
    (!left.is_zero()).then(|| Cleanup::Until {
        until,
        wait: left + TERM_SLACK,
    })
}

/// The DeletionBlocked message of a committed throughput whose term has not ended.
pub fn committed_message(resource: &BedrockProvisionedThroughput, until: &str) -> String {
    let status = resource.status.clone().unwrap_or_default();
    let term = status.commitment_duration.unwrap_or_default();
    let name = status
        .provisioned_model_name
        .unwrap_or_else(|| resource.provisioned_model_name().to_string());
    format!(
        "provisioned throughput {name} has a {term} commitment that ends at {until}; Bedrock does not delete it before then, so the operator keeps the finalizer and deletes it at {until} (no call until then). To let this resource go now, set spec.deletionPolicy: Retain: the throughput stays in Bedrock and keeps billing until you delete it there"
    )
}

/// The Warning of a throughput kept by deletionPolicy Retain: it still bills.
pub fn retained_message(resource: &BedrockProvisionedThroughput) -> String {
    let status = resource.status.clone().unwrap_or_default();
    let name = status
        .provisioned_model_name
        .unwrap_or_else(|| resource.provisioned_model_name().to_string());
    let units = status
        .model_units
        .map(|u| format!(" ({})", units(u)))
        .unwrap_or_default();
    let until = status
        .commitment_expiration_time
        .map(|t| format!("; its commitment ends at {t}"))
        .unwrap_or_default();
    format!(
        "kept provisioned throughput {name}{units} in Bedrock because deletionPolicy is Retain: it keeps billing by the hour until it is deleted in Bedrock{until}"
    )
}
