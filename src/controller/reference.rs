//! What the kinds that serve a model (deployments, provisioned throughputs) share, pure and
//! written once: their references to a BedrockCustomModel of their namespace (resolving one,
//! saying why it cannot be served yet, the users a model deletion waits for), and what their
//! observe step saw.

use crate::api::BedrockCustomModel;
use crate::api::ModelStatus;
use crate::api::conditions::{self, reason};
use crate::controller::ownership::OwnerRef;
use crate::controller::{held, outcome};

/// The model the spec names, as far as it can be known before calling Bedrock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// The model to serve: its ARN (or, for a throughput, the ID Bedrock accepts), and its
    /// region when known.
    Resolved { arn: String, region: Option<String> },
    /// modelRef names no BedrockCustomModel in the namespace.
    Missing { name: String },
    /// The referenced BedrockCustomModel is being deleted.
    Deleting { name: String },
    /// Bedrock could not create the referenced model.
    Failed { name: String, message: String },
    /// The referenced model is not Ready yet (importing, or not reconciled yet).
    NotReady { name: String, why: String },
}

impl Resolution {
    pub fn arn(&self) -> Option<&str> {
        match self {
            Resolution::Resolved { arn, .. } => Some(arn),
            _ => None,
        }
    }

    pub fn region(&self) -> Option<&str> {
        match self {
            Resolution::Resolved { region, .. } => region.as_deref(),
            _ => None,
        }
    }
}

/// Resolves a modelRef `name` from the referenced resource's status (`model`, as read), only
/// once that model is Ready and Active.
pub fn resolve_ref(name: &str, model: Option<&BedrockCustomModel>) -> Resolution {
    let name = name.to_string();
    let Some(model) = model else {
        return Resolution::Missing { name };
    };
    if model.metadata.deletion_timestamp.is_some() {
        return Resolution::Deleting { name };
    }
    let status = model.status.clone().unwrap_or_default();
    let ready = conditions::find(&status.conditions, conditions::READY);
    if status.model_status == Some(ModelStatus::Failed) {
        let message = status
            .failure_message
            .or_else(|| ready.map(|c| c.message.clone()))
            .unwrap_or_else(|| "no reason given".to_string());
        return Resolution::Failed { name, message };
    }
    match (&status.model_arn, ready) {
        (Some(arn), Some(ready))
            if ready.status == "True" && status.model_status == Some(ModelStatus::Active) =>
        {
            Resolution::Resolved {
                arn: arn.clone(),
                region: status.region.clone(),
            }
        }
        (_, Some(ready)) => Resolution::NotReady {
            name,
            why: format!("it is {}: {}", ready.reason, ready.message),
        },
        (_, None) => Resolution::NotReady {
            name,
            why: "the operator has not reported on it yet".to_string(),
        },
    }
}

/// The condition reason and message of a model that cannot be served (yet); `noun` names the
/// resource that waits ("deployment").
pub fn unresolved(resolution: &Resolution, noun: &str) -> (&'static str, String) {
    match resolution {
        Resolution::Resolved { arn, .. } => (reason::REFERENCES_RESOLVED, arn.clone()),
        Resolution::Missing { name } => (
            reason::MODEL_NOT_FOUND,
            format!(
                "spec.modelRef names BedrockCustomModel {name}, which does not exist in this namespace; the {noun} waits for it (no call to AWS until then)"
            ),
        ),
        Resolution::Deleting { name } => (
            reason::MODEL_DELETING,
            format!(
                "BedrockCustomModel {name} (spec.modelRef) is being deleted: point spec.modelRef at another model, or delete this {noun}"
            ),
        ),
        Resolution::Failed { name, message } => (
            reason::MODEL_FAILED,
            format!(
                "BedrockCustomModel {name} (spec.modelRef) failed in Bedrock ({}); fix that model or point spec.modelRef at another one",
                message.trim_end_matches('.')
            ),
        ),
        Resolution::NotReady { name, why } => (
            reason::MODEL_NOT_READY,
            format!(
                "waiting for BedrockCustomModel {name} (spec.modelRef) to be Ready: {}; no call to AWS until then",
                why.trim_end_matches('.')
            ),
        ),
    }
}

/// How the observe step looks for the Bedrock object: by the ARN the status holds, or by the
/// spec's name while the status holds none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    ByArn(String),
    ByName(String),
}

impl Lookup {
    /// By `arn` when the status holds one, else by `name`.
    pub fn new(arn: Option<&str>, name: &str) -> Self {
        match arn {
            Some(arn) => Lookup::ByArn(arn.to_string()),
            None => Lookup::ByName(name.to_string()),
        }
    }
}

/// What a serving kind's plan reads: its model resolved, and what was seen of its object `R`.
pub type Observation<R> = held::Observation<R, Resolution>;

/// The resources managed here that still use a model: by kind (its Kubernetes kind), each
/// list sorted, in the registry's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Users(pub Vec<(&'static str, Vec<String>)>);

impl Users {
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|(_, names)| names.is_empty())
    }

    /// The message of a model deletion that waits for its users.
    pub fn message(&self, model_name: &str) -> String {
        let mut parts = Vec::new();
        for (kind, names) in &self.0 {
            if !names.is_empty() {
                let plural = if names.len() == 1 { "" } else { "s" };
                parts.push(format!("{kind}{plural} {}", outcome::name_list(names)));
            }
        }
        // Users of other namespaces are named namespace/name (see [`user_name`]).
        let local = self
            .0
            .iter()
            .flat_map(|(_, names)| names)
            .all(|name| !name.contains('/'));
        let place = if local { " in this namespace" } else { "" };
        format!(
            "{}{place} still use Bedrock model {model_name}: the model is deleted once they are gone. Delete them or point them at another model, or set spec.deletionPolicy: Retain to keep the model and let this resource go",
            parts.join(" and ")
        )
    }
}

/// The plan of a resource whose model cannot be served yet: both conditions carry the waiting
/// reason, no call, looked at again when the model changes. Waiting is not a fault, so its
/// event is Normal; it comes after `events` (what the plan announced before deciding to wait).
pub fn waiting<S, A>(
    current: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    status: S,
    resolution: &Resolution,
    noun: &str,
    mut events: Vec<outcome::Note>,
) -> outcome::Plan<S, A> {
    let (why, message) = unresolved(resolution, noun);
    let mut plan = outcome::blocked(current, status, why, message, outcome::Next::AwaitChange);
    for note in &mut plan.events {
        note.warning = false;
    }
    events.append(&mut plan.events);
    plan.events = events;
    plan
}

/// A kind that serves a model: what the model's side needs to know of it.
pub trait Serves: kube::Resource {
    /// spec.modelRef.name, if the model is named by reference.
    fn model_ref(&self) -> Option<&str>;
    /// The model ARNs it names or serves: the spec's, the one in service, the one rolled out.
    fn model_arns(&self) -> [Option<&str>; 3];
}

/// Whether `model`'s status holds the Bedrock model `arn`.
pub fn holds(model: &BedrockCustomModel, arn: &str) -> bool {
    model.status.as_ref().and_then(|s| s.model_arn.as_deref()) == Some(arn)
}

/// Who `models` are, by namespace and name.
pub fn holders(models: &[BedrockCustomModel]) -> Vec<OwnerRef> {
    models
        .iter()
        .map(|m| OwnerRef {
            namespace: m.metadata.namespace.clone().unwrap_or_default(),
            name: m.metadata.name.clone().unwrap_or_default(),
        })
        .collect()
}

/// The resources of `resources` that use `model`: by modelRef (same namespace), or by its ARN
/// as named, served or rolled out (any namespace: `--cross-namespace-references` may allow
/// it). Their namespaces and names, sorted, for the DeletionBlocked message; empty when the
/// model may go.
pub fn users<K: Serves>(model: &BedrockCustomModel, resources: &[K]) -> Vec<OwnerRef> {
    let mut users: Vec<OwnerRef> = resources
        .iter()
        .filter(|r| {
            uses(
                model,
                r.meta().namespace.as_deref(),
                r.model_ref(),
                &r.model_arns(),
            )
        })
        .filter_map(|r| {
            Some(OwnerRef {
                namespace: r.meta().namespace.clone().unwrap_or_default(),
                name: r.meta().name.clone()?,
            })
        })
        .collect();
    users.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    users
}

/// How a DeletionBlocked message names a user of a model of `namespace`: by name in the same
/// namespace, `namespace/name` in another.
pub fn user_name(user: &OwnerRef, namespace: &str) -> String {
    if user.namespace == namespace {
        user.name.clone()
    } else {
        format!("{}/{}", user.namespace, user.name)
    }
}

/// Whether a serving resource in `namespace` uses `model`: by a modelRef naming it (which
/// names a model of its own namespace), or by its ARN among `arns` (the spec's model ID, the
/// model in service, the one being rolled out), from any namespace.
fn uses(
    model: &BedrockCustomModel,
    namespace: Option<&str>,
    model_ref: Option<&str>,
    arns: &[Option<&str>],
) -> bool {
    let same_namespace = namespace == model.metadata.namespace.as_deref();
    let by_ref =
        same_namespace && model_ref.is_some() && model_ref == model.metadata.name.as_deref();
    let arn = model.status.as_ref().and_then(|s| s.model_arn.as_deref());
    let by_arn = arn.is_some_and(|arn| arns.contains(&Some(arn)));
    by_ref || by_arn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_each_kind_of_user() {
        let users = Users(vec![
            ("BedrockCustomModelDeployment", vec!["chat".into()]),
            (
                "BedrockProvisionedThroughput",
                vec!["pt-a".into(), "pt-b".into()],
            ),
        ]);
        let message = users.message("nova");
        assert!(
            message.starts_with(
                "BedrockCustomModelDeployment chat and BedrockProvisionedThroughputs pt-a and pt-b in this namespace still use Bedrock model nova"
            ),
            "{message}"
        );
        assert!(Users::default().is_empty());
        let elsewhere = Users(vec![
            ("BedrockCustomModelDeployment", vec!["team-b/chat".into()]),
            ("BedrockProvisionedThroughput", Vec::new()),
        ]);
        let message = elsewhere.message("nova");
        assert!(
            message.starts_with(
                "BedrockCustomModelDeployment team-b/chat still use Bedrock model nova"
            ),
            "{message}"
        );
    }
}
