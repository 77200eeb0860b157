//! The export of every kind that serves a model (`spec.export`, [`crate::api::export`]): a
//! ConfigMap of the resource's namespace, owned by it, that says what to invoke. One step of
//! the shared apply stage, after the plan's calls and before its report, written once here for
//! every serving kind ([`super::serving`]).
//!
//! Quiet: what the ConfigMap should say is a function of the status, and the status records
//! what was last written (`status.export`), so an idle reconcile compares the two and makes no
//! call. The ConfigMap is read (by name) and written only when they differ, or at a new
//! generation of the spec (a spec edit also restores a ConfigMap changed or deleted by hand).
//! A ConfigMap of that name that the resource does not own is never changed: the resource shows
//! ExportConflict naming spec.export.configMapName.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::{Resource, ResourceExt};
use tracing::info;

use super::context::Context;
use super::held::HeldStatus;
use super::lifecycle::{KindPlan, Lifecycle};
use super::outcome::{self, Next, Note, Plan, Timing};
use super::report::FIELD_MANAGER;
use crate::api::conditions::{self, Desired, event, reason};
use crate::api::export::ExportStatus;
use crate::bedrock::Bedrock;

/// The label that marks the operator's ConfigMaps.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "bedrock-operator");

/// What a serving kind's status says of its export. A table per kind (`serving_tables!`).
pub trait Exports {
    /// What the ConfigMap should hold ([`crate::api::export::data`]): `None` until the status holds the
    /// object's ARN, the model it serves and its region.
    fn export_data(&self) -> Option<BTreeMap<String, String>>;
    /// The ConfigMap last written, and what it holds.
    fn exported(&self) -> Option<&ExportStatus>;
    fn set_exported(&mut self, exported: Option<ExportStatus>);
}

/// What the export step does this reconcile. Pure: decided by [`decide`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The ConfigMap written before that is no longer wanted (export removed, or renamed):
    /// deleted if this resource owns it.
    pub remove: Option<String>,
    /// The ConfigMap to write, and its data.
    pub write: Option<ExportStatus>,
}

/// The export step of a reconcile: `wanted`, the ConfigMap spec.export names (`None`: export
/// unset); `data`, what it should hold (`None` until the status knows it); `written`, what the
/// status records as written; `new_generation`, whether the spec changed since the status was
/// last written. Nothing while the ConfigMap already says what it should.
pub fn decide(
    wanted: Option<&str>,
    data: Option<BTreeMap<String, String>>,
    written: Option<&ExportStatus>,
    new_generation: bool,
) -> Step {
    let remove = written
        .filter(|written| Some(written.config_map_name.as_str()) != wanted)
        .map(|written| written.config_map_name.clone());
    let write = match (wanted, data) {
        (Some(name), Some(data)) => {
            let next = ExportStatus {
                config_map_name: name.to_string(),
                data,
            };
            (new_generation || written != Some(&next)).then_some(next)
        }
        _ => None,
    };
    Step { remove, write }
}

/// Whether `config_map` is the resource `owner`'s (its controller owner reference names the
/// resource's UID).
pub fn owned_by(config_map: &ConfigMap, owner: &str) -> bool {
    config_map
        .owner_references()
        .iter()
        .any(|reference| reference.uid == owner && reference.controller == Some(true))
}

/// Who holds a ConfigMap that is not the resource's, for the ExportConflict message.
pub fn holder(config_map: &ConfigMap) -> String {
    match config_map
        .owner_references()
        .iter()
        .find(|reference| reference.controller == Some(true))
    {
        Some(owner) => format!("it belongs to {} {}", owner.kind, owner.name),
        None => "it was not created for this resource".to_string(),
    }
}

/// The ConfigMap as the operator applies it: `data`, the managed-by label, and the resource as
/// its controller `owner`, blocking the owner's deletion (the garbage collector deletes it with
/// the resource). With
/// `resource_version` (the ConfigMap as just read) the write applies only to that version, so
/// that a ConfigMap replaced since it was read is not taken over.
pub fn config_map(
    name: &str,
    data: &BTreeMap<String, String>,
    owner: OwnerReference,
    resource_version: Option<String>,
) -> ConfigMap {
    let mut config_map = ConfigMap {
        data: Some(data.clone()),
        ..ConfigMap::default()
    };
    let meta = config_map.meta_mut();
    meta.name = Some(name.to_string());
    meta.labels = Some(BTreeMap::from([(
        MANAGED_BY.0.to_string(),
        MANAGED_BY.1.to_string(),
    )]));
    // Foreground deletion of the resource waits for the ConfigMap (kube's controller
    // reference leaves this unset).
    meta.owner_references = Some(vec![OwnerReference {
        block_owner_deletion: Some(true),
        ..owner
    }]);
    meta.resource_version = resource_version;
    config_map
}

/// How the export step ended.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing to do, or done: `written` is what the ConfigMap now holds (`None`: none).
    Done { written: Option<ExportStatus> },
    /// A ConfigMap of the wanted name is not this resource's: left alone, nothing recorded as
    /// written. `holder` says whose.
    Conflict { name: String, holder: String },
    /// A Kubernetes API call failed; the status keeps `written` (what is known to be written),
    /// so the next reconcile tries again.
    Failed {
        error: kube::Error,
        written: Option<ExportStatus>,
    },
}

/// The words of a failed export call, as [`outcome::kube_failure`] puts them.
const WRITING: &str = "writing the spec.export ConfigMap";

/// Brings the plan to the outcome of the export step (`current`: the resource's conditions as
/// they stand): the status records what was written; a conflict or a failure shows on Synced
/// (when the plan has it True: a reason the plan gives for Synced False comes first) with a
/// Warning event when new, and looks again after a while; a write is a Normal event.
pub fn show<S: Exports, A>(
    plan: &mut Plan<S, A>,
    current: &[Condition],
    step: &Step,
    outcome: Outcome,
    timing: &Timing,
) {
    let (shown, retry) = match outcome {
        Outcome::Done { written } => {
            if let Some(write) = step.write.as_ref().filter(|_| written.is_some())
                && plan.status.exported() != written.as_ref()
            {
                plan.events.push(Note::normal(
                    event::EXPORTED,
                    "Export",
                    format!(
                        "wrote ConfigMap {} for spec.export: {}",
                        write.config_map_name,
                        describe(&write.data)
                    ),
                ));
            }
            plan.status.set_exported(written);
            return;
        }
        Outcome::Conflict { name, holder } => {
            // Whatever was written under this name is not the resource's any more.
            plan.status.set_exported(None);
            let message = format!(
                "spec.export.configMapName: ConfigMap {name} already exists and {holder}, so the operator leaves it alone and exports nothing: delete that ConfigMap or set spec.export.configMapName to another name"
            );
            let synced = Desired::new(conditions::SYNCED, false, reason::EXPORT_CONFLICT, message);
            (Some(synced), timing.slow_retry)
        }
        Outcome::Failed { error, written } => {
            plan.status.set_exported(written);
            let shown = outcome::kube_failure(
                current,
                WRITING,
                &error,
                timing.transient_failures_shown_after,
                timing,
            );
            let person_must_fix =
                matches!(&error, kube::Error::Api(s) if matches!(s.code, 401 | 403 | 422));
            let retry = if person_must_fix {
                timing.slow_retry
            } else {
                timing.backoff_max
            };
            let synced = shown.and_then(|(desired, _)| {
                desired.into_iter().find(|d| d.type_ == conditions::SYNCED)
            });
            (synced, retry)
        }
    };
    plan.next = sooner(&plan.next, retry);
    let Some(synced) = shown else {
        return;
    };
    let Some(planned) = plan
        .conditions
        .iter_mut()
        .find(|d| d.type_ == conditions::SYNCED && d.status)
    else {
        return;
    };
    if outcome::changed(current, std::slice::from_ref(&synced)) {
        plan.events.push(Note::warning(
            &synced.reason,
            "Export",
            synced.message.clone(),
        ));
    }
    *planned = synced;
}

/// `next`, or `retry` if that comes sooner.
fn sooner(next: &Next, retry: Duration) -> Next {
    match next {
        Next::Poll(delay) | Next::After(delay) if *delay <= retry => next.clone(),
        Next::Soon => Next::Soon,
        _ => Next::After(retry),
    }
}

/// `KEY=value` pairs, for the Exported event.
fn describe(data: &BTreeMap<String, String>) -> String {
    data.iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The export step of a serving resource's reconcile, on its plan: decides ([`decide`]), reads
/// and writes the ConfigMap when there is something to do, and shows the outcome ([`show`]).
/// Never fails the reconcile: the plan's status (a new ARN among it) must still be reported.
pub async fn export<K, B>(
    resource: &K,
    wanted: Option<&str>,
    plan: &mut KindPlan<K>,
    ctx: &Context<B>,
) where
    K: Lifecycle<Status: Exports + HeldStatus>,
    B: Bedrock,
{
    let written = resource.status().and_then(Exports::exported);
    let observed = resource.status().and_then(HeldStatus::observed_generation);
    let new_generation = observed != resource.meta().generation;
    let step = decide(wanted, plan.status.export_data(), written, new_generation);
    if step == Step::default() {
        return;
    }
    let outcome = act(resource, &step, written.cloned(), ctx).await;
    show(plan, resource.conditions(), &step, outcome, &ctx.timing);
}

/// Makes the step's calls: the old ConfigMap deleted if it is this resource's, the new one read
/// and, unless another's, applied.
async fn act<K: Lifecycle, B: Bedrock>(
    resource: &K,
    step: &Step,
    mut written: Option<ExportStatus>,
    ctx: &Context<B>,
) -> Outcome {
    let namespace = resource.namespace().unwrap_or_default();
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let uid = resource.uid().unwrap_or_default();
    if let Some(name) = &step.remove {
        if let Err(error) = remove(&api, name, &uid).await {
            return Outcome::Failed { error, written };
        }
        written = None;
    }
    let Some(write) = &step.write else {
        return Outcome::Done { written };
    };
    let name = write.config_map_name.as_str();
    let current = match api.get_opt(name).await {
        Ok(current) => current,
        Err(error) => return Outcome::Failed { error, written },
    };
    if let Some(current) = &current
        && !owned_by(current, &uid)
    {
        return Outcome::Conflict {
            name: name.to_string(),
            holder: holder(current),
        };
    }
    let Some(owner) = resource.controller_owner_ref(&()) else {
        // A resource read from the API server always has a name and a UID.
        return Outcome::Done { written };
    };
    let applied = config_map(
        name,
        &write.data,
        owner,
        current.and_then(|c| c.metadata.resource_version),
    );
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match api.patch(name, &params, &Patch::Apply(&applied)).await {
        Ok(_) => {
            info!(
                kind = %K::kind(&()),
                resource = %resource.name_any(),
                namespace = %namespace,
                config_map = %name,
                "export ConfigMap written"
            );
            Outcome::Done {
                written: Some(write.clone()),
            }
        }
        Err(error) => Outcome::Failed { error, written },
    }
}

/// Deletes the ConfigMap `name` if the resource `owner` owns it (the version just read, so a
/// ConfigMap replaced meanwhile is not deleted); one that is gone, or another's, is left.
async fn remove(api: &Api<ConfigMap>, name: &str, owner: &str) -> Result<(), kube::Error> {
    let Some(current) = api.get_opt(name).await? else {
        return Ok(());
    };
    if !owned_by(&current, owner) {
        return Ok(());
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: current.metadata.uid.clone(),
            resource_version: current.metadata.resource_version.clone(),
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => {
            info!(config_map = %name, "export ConfigMap deleted");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
#[path = "export_tests.rs"]
mod tests;
