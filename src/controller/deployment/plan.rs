//! Every decision of a BedrockCustomModelDeployment reconcile, as pure functions from
//! (resource, validated spec, observation, timing) to (calls, next status, events, when to
//! look again). No I/O: unit-tested with plain values in `plan_tests.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use sha2::{Digest, Sha256};

use crate::api::conditions::{self, Desired, event, reason};
use crate::api::deployment::{
    BedrockCustomModelDeployment, BedrockCustomModelDeploymentStatus, DeploymentCreatedWith,
    DeploymentStatus, ModelTarget, UpdateStatus, ValidDeployment,
};
use crate::api::{
    AdoptionPolicy, BedrockCustomModel, DeletionPolicy, RETRY_ANNOTATION, tags, validation,
};
use crate::bedrock::{
    BedrockError, CreateDeploymentRequest, DeploymentState, RemoteDeployment, UpdateState,
};
use crate::controller::call::{self, Call};
pub use crate::controller::cleanup::Cleanup;
use crate::controller::outcome::{self, Next, Note, Subject, Timing};
use crate::controller::ownership::{self, Holder, Match, Me};
use crate::controller::reference;
pub use crate::controller::reference::{Lookup, Resolution};
use crate::controller::scope::NamespaceScope;

/// One call to make to Bedrock: create, or roll another model out in place
/// (UpdateCustomModelDeployment), or the calls every kind shares.
pub type Action = Call<CreateDeploymentRequest, Rollout>;

/// Roll another model out in place (UpdateCustomModelDeployment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub model_arn: String,
}

/// The outcome of planning a deployment's reconcile.
pub type Plan = outcome::Plan<BedrockCustomModelDeploymentStatus, Action>;

/// Resolves the spec's model: a modelArn as it is; a modelRef from the referenced resource's
/// status, only once that model is Ready (`model` is the referenced resource as read).
pub fn resolve(target: &ModelTarget, model: Option<&BedrockCustomModel>) -> Resolution {
    match target {
        ModelTarget::Arn(arn) => Resolution::Resolved {
            arn: arn.clone(),
            region: target.arn_region().map(str::to_string),
        },
        ModelTarget::Ref(name) => reference::resolve_ref(name, model),
    }
}

fn unresolved(resolution: &Resolution) -> (&'static str, String) {
    reference::unresolved(resolution, "deployment")
}

/// What the operator saw before deciding.
pub type Observation = reference::Observation<RemoteDeployment>;

pub fn lookup(resource: &BedrockCustomModelDeployment, valid: &ValidDeployment) -> Lookup {
    let arn = resource
        .status
        .as_ref()
        .and_then(|s| s.deployment_arn.as_deref());
    Lookup::new(arn, &valid.deployment_name)
}

/// The region of the deployment: the one it lives in once it exists; for a new one
/// spec.region, else the model's, else the operator's default.
pub fn region(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    model: &Resolution,
    default_region: &str,
) -> String {
    resource
        .status
        .as_ref()
        .filter(|s| s.deployment_arn.is_some())
        .and_then(|s| s.region.clone())
        .unwrap_or_else(|| valid.region(model.region(), default_region))
}

/// How the deployment's failures are worded.
pub fn subject(name: &str) -> Subject<'_> {
    Subject {
        noun: "deployment",
        name,
        access_hint: "",
        quota_hint: "Delete unused custom model deployments or request a quota increase",
        not_found_hint: "Check spec.modelRef or spec.modelArn",
    }
}

/// The resource's conditions as they stand.
pub fn current_conditions(resource: &BedrockCustomModelDeployment) -> &[Condition] {
    resource
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

/// The status every plan starts from: the current one, brought to this generation.
pub fn base_status(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
) -> BedrockCustomModelDeploymentStatus {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    status.model_deployment_name = Some(valid.deployment_name.clone());
    if status.deployment_arn.is_none() {
        status.region = Some(region.to_string());
    }
    status.conditions.clear();
    status
}

fn created_with(valid: &ValidDeployment, region: &str) -> DeploymentCreatedWith {
    DeploymentCreatedWith {
        model_deployment_name: valid.deployment_name.clone(),
        description: valid.description.clone(),
        region: region.to_string(),
        adopted: false,
    }
}

/// The immutable fields whose spec value differs from what the deployment was created with.
pub fn immutable_changes(
    desired: &DeploymentCreatedWith,
    current: &DeploymentCreatedWith,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if desired.model_deployment_name != current.model_deployment_name {
        changed.push("modelDeploymentName");
    }
    // An adopted deployment's description is Bedrock's; a spec that states none accepts it.
    let accepted = current.adopted && desired.description.is_none();
    if desired.description != current.description && !accepted {
        changed.push("description");
    }
    if desired.region != current.region {
        changed.push("region");
    }
    changed
}

/// The plan of a spec that fails validation: InvalidSpec naming every field, no AWS call.
pub fn invalid(resource: &BedrockCustomModelDeployment, errors: &[validation::FieldError]) -> Plan {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    status.conditions.clear();
    let message = format!(
        "the spec is invalid, so nothing was sent to AWS: {}",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );
    outcome::blocked(
        current_conditions(resource),
        status,
        reason::INVALID_SPEC,
        message,
        Next::AwaitChange,
    )
}

fn is_failed(status: &BedrockCustomModelDeploymentStatus) -> bool {
    status.deployment_status == Some(DeploymentStatus::Failed)
}

/// Checks made before any AWS call: a change to an immutable field of a live deployment stops
/// here, with the reason on the resource and no call to Bedrock.
pub fn precheck(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
) -> Option<Plan> {
    let status = base_status(resource, valid, region);
    let current = status.created_with.as_ref()?;
    if status.deployment_arn.is_none() || is_failed(&status) {
        return None;
    }
    let changed = immutable_changes(&created_with(valid, region), current);
    if changed.is_empty() {
        return None;
    }
    let fields = changed
        .iter()
        .map(|f| format!("spec.{f}"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = format!(
        "{fields} cannot change while Bedrock deployment {} exists: revert the change to resume, or delete and re-create the resource to make a new deployment; nothing was sent to AWS",
        current.model_deployment_name
    );
    Some(outcome::blocked(
        current_conditions(resource),
        status,
        reason::IMMUTABLE_FIELD_CHANGED,
        message,
        Next::AwaitChange,
    ))
}

/// `adoptionPolicy: Adopt` in a namespace the operator's `--allow-adoption` leaves out: an
/// InvalidSpec naming the field, before any AWS call.
pub fn adoption_refused(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
    scope: &NamespaceScope,
) -> Option<Plan> {
    if valid.adoption_policy != AdoptionPolicy::Adopt {
        return None;
    }
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let message = ownership::adoption_refused(namespace, scope)?;
    Some(outcome::blocked(
        current_conditions(resource),
        base_status(resource, valid, region),
        reason::INVALID_SPEC,
        message,
        Next::AwaitChange,
    ))
}

/// Whether the status shows the spec reconciled and nothing pending (see [`outcome::settled`]).
pub fn settled(resource: &BedrockCustomModelDeployment) -> bool {
    let Some(status) = resource.status.as_ref() else {
        return false;
    };
    let standing = match status.deployment_status {
        Some(DeploymentStatus::Active) => outcome::Standing::Serving {
            ready_reason: reason::ACTIVE,
            synced_too: true,
        },
        Some(DeploymentStatus::Failed) => outcome::Standing::Failed,
        _ => outcome::Standing::InProgress,
    };
    outcome::settled(&settling(resource, status), standing)
}

fn settling<'a>(
    resource: &'a BedrockCustomModelDeployment,
    status: &'a BedrockCustomModelDeploymentStatus,
) -> outcome::Settling<'a> {
    outcome::Settling {
        conditions: &status.conditions,
        generation: resource.metadata.generation,
        observed_generation: status.observed_generation,
        holds_object: status.deployment_arn.is_some(),
        tags_synced_generation: status.tags_synced_generation,
        retry_pending: outcome::unhandled_retry(
            resource.metadata.annotations.as_ref(),
            status.retry_handled.as_deref(),
        )
        .is_some(),
    }
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

fn desired_tags(
    resource: &BedrockCustomModelDeployment,
    cluster: &str,
) -> BTreeMap<String, String> {
    tags::desired(&resource.spec.tags, &resource.metadata, cluster)
}

/// The deterministic idempotency token of a CreateCustomModelDeployment: the same resource
/// asking for the same deployment (after a crash, a timeout, a restart) sends the same token,
/// so Bedrock returns the deployment it already made; a deliberate re-creation bumps
/// `recreations` and so sends a new one.
pub fn client_request_token(
    uid: &str,
    request: &CreateDeploymentRequest,
    region: &str,
    recreations: i32,
) -> String {
    let mut hash = Sha256::new();
    for part in [
        uid,
        region,
        &request.name,
        &request.model_arn,
        request.description.as_deref().unwrap_or_default(),
        &recreations.to_string(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    for (key, value) in &request.tags {
        hash.update(key.as_bytes());
        hash.update([1u8]);
        hash.update(value.as_bytes());
        hash.update([0u8]);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("bcmd-{}", &hex[..40])
}

/// The CreateCustomModelDeployment request for the spec and the resolved model.
pub fn create_request(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    model_arn: &str,
    region: &str,
    recreations: i32,
    cluster: &str,
) -> CreateDeploymentRequest {
    let mut request = CreateDeploymentRequest {
        name: valid.deployment_name.clone(),
        model_arn: model_arn.to_string(),
        description: valid.description.clone(),
        tags: desired_tags(resource, cluster),
        client_request_token: String::new(),
    };
    request.client_request_token = client_request_token(
        resource.metadata.uid.as_deref().unwrap_or_default(),
        &request,
        region,
        recreations,
    );
    request
}

/// spec.region that is not the referenced model's: a deployment serves a model of its own
/// region, so this is InvalidSpec naming both, with no call (a modelArn of another region is
/// refused by the schema already).
pub fn region_mismatch(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    model: &Resolution,
) -> Option<Plan> {
    let (ModelTarget::Ref(name), Some(wanted), Some(actual)) =
        (&valid.model, valid.region.as_deref(), model.region())
    else {
        return None;
    };
    if wanted == actual {
        return None;
    }
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    status.conditions.clear();
    let message = format!(
        "the spec is invalid, so nothing was sent to AWS: spec.region: {wanted} is not the region of BedrockCustomModel {name} ({actual}); a deployment serves a model of its own region, so remove spec.region or reference a model in {wanted}"
    );
    Some(outcome::blocked(
        current_conditions(resource),
        status,
        reason::INVALID_SPEC,
        message,
        Next::AwaitChange,
    ))
}

/// Plans a reconcile of a deployment that is not being deleted, given what was observed.
/// `elapsed` is how long the deployment (or its update) has been in progress.
pub fn plan_apply(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
    observation: &Observation,
    timing: &Timing,
    elapsed: Duration,
) -> Plan {
    let mut status = base_status(resource, valid, region);
    let me = Me::of(&resource.metadata, &observation.cluster);
    if let Some(arn) = observation.model.arn() {
        status.desired_model_arn = Some(arn.to_string());
    }
    let adopt = valid.adoption_policy == AdoptionPolicy::Adopt;
    let (held, tags) = (status.deployment_arn.clone(), observation.tags.as_ref());
    let found = observation.remote.as_ref();
    match ownership::matching(held, found, tags, &me, adopt, observation.owner) {
        Match::Create => plan_create(resource, valid, region, status, observation, Vec::new()),
        Match::TakeBack(found) => {
            status.created_with = Some(created_with(valid, region));
            hold(&mut status, found, region);
            plan_existing(resource, valid, status, found, observation, timing, elapsed)
        }
        Match::Adopt { found, from } => {
            status.created_with = Some(DeploymentCreatedWith {
                model_deployment_name: found.name.clone(),
                description: found.description.clone(),
                region: region.to_string(),
                adopted: true,
            });
            status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
            hold(&mut status, found, region);
            let mut plan =
                plan_existing(resource, valid, status, found, observation, timing, elapsed);
            claim_deployment(&mut plan, resource, &found.arn, &observation.cluster);
            let noun = "Bedrock deployment";
            let message = ownership::adopted_message(noun, &found.name, &found.arn, from.as_ref());
            plan.events
                .insert(0, Note::normal(event::ADOPTED, "Adopt", message));
            plan
        }
        Match::Conflict { found, holder } => {
            status.region = Some(region.to_string());
            name_conflict(resource, valid, status, found, holder.as_ref(), timing)
        }
        Match::Missing { arn } => {
            // Gone although nobody asked this operator to delete it.
            let was_failed = is_failed(&status);
            status.recreations += 1;
            clear_deployment(&mut status);
            let events = if was_failed {
                Vec::new()
            } else {
                vec![Note::warning(
                    event::DEPLOYMENT_MISSING,
                    "Recreate",
                    format!(
                        "Bedrock deployment {arn} disappeared outside the operator; creating it again"
                    ),
                )]
            };
            plan_create(resource, valid, region, status, observation, events)
        }
        Match::Held(found) => {
            plan_existing(resource, valid, status, found, observation, timing, elapsed)
        }
    }
}

/// Holds the deployment found by name (taken back or adopted).
fn hold(status: &mut BedrockCustomModelDeploymentStatus, found: &RemoteDeployment, region: &str) {
    status.region = Some(region.to_string());
    status.deployment_arn = Some(found.arn.clone());
}

/// NameConflict: the deployment found by name is not this resource's to take. The status keeps
/// no deployment, so deleting this resource never deletes it.
fn name_conflict(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    mut status: BedrockCustomModelDeploymentStatus,
    found: &RemoteDeployment,
    holder: Option<&Holder>,
    timing: &Timing,
) -> Plan {
    clear_deployment(&mut status);
    let region = status.region.clone().unwrap_or_default();
    let (name, arn) = (&found.name, &found.arn);
    let found = ownership::Found {
        noun: "deployment",
        field: "spec.modelDeploymentName",
        name,
        region: &region,
        arn,
    };
    let adopt = valid.adoption_policy == AdoptionPolicy::Adopt;
    let message = ownership::name_conflict_message(&found, holder, adopt);
    outcome::blocked(
        current_conditions(resource),
        status,
        reason::NAME_CONFLICT,
        message,
        Next::After(timing.slow_retry),
    )
}

/// Turns the plan of an adopted deployment into a claim: the owner tags and the spec's tags go
/// on first, in one call that is read back, before anything else is done to it.
fn claim_deployment(
    plan: &mut Plan,
    resource: &BedrockCustomModelDeployment,
    arn: &str,
    cluster: &str,
) {
    call::claim_first(plan, arn, desired_tags(resource, cluster));
    // The next look reads the tags again: another process may have claimed the object in the
    // same moment (a leader failover), and finds out then.
    plan.status.tags_synced_generation = resource
        .status
        .as_ref()
        .and_then(|s| s.tags_synced_generation);
}

/// Forgets the current deployment (`createdWith` stays: it is replaced at the next create).
fn clear_deployment(status: &mut BedrockCustomModelDeploymentStatus) {
    status.deployment_arn = None;
    status.deployment_status = None;
    status.model_arn = None;
    status.update_status = None;
    status.failure_message = None;
}

/// No deployment yet: create it once the model is resolved; until then wait, with no call.
fn plan_create(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    region: &str,
    mut status: BedrockCustomModelDeploymentStatus,
    observation: &Observation,
    mut events: Vec<Note>,
) -> Plan {
    let Some(model_arn) = observation.model.arn() else {
        let current = current_conditions(resource);
        return reference::waiting(current, status, &observation.model, "deployment", events);
    };
    let request = create_request(
        resource,
        valid,
        model_arn,
        region,
        status.recreations,
        &observation.cluster,
    );
    status.region = Some(region.to_string());
    status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
    let message = format!(
        "creating Bedrock deployment {} of model {model_arn}",
        request.name
    );
    events.push(Note::normal(reason::CREATING, "Create", message.clone()));
    Plan {
        actions: vec![Action::Create(request)],
        status,
        conditions: vec![
            Desired::new(conditions::READY, false, reason::CREATING, message.clone()),
            Desired::new(conditions::SYNCED, true, reason::RECONCILED, message),
        ],
        events,
        next: Next::Soon,
    }
}

/// The status once Create has returned `arn`.
pub fn after_create(
    plan: &mut Plan,
    valid: &ValidDeployment,
    region: &str,
    model_arn: &str,
    arn: String,
    timing: &Timing,
    generation: Option<i64>,
) {
    plan.status.deployment_arn = Some(arn);
    plan.status.deployment_status = Some(DeploymentStatus::Creating);
    // What the polls of a Creating deployment will say, so that they write nothing.
    let message = format!("Bedrock is creating deployment {}", valid.deployment_name);
    plan.conditions = vec![
        Desired::new(conditions::READY, false, reason::CREATING, message.clone()),
        Desired::new(conditions::SYNCED, true, reason::RECONCILED, message),
    ];
    plan.status.model_arn = Some(model_arn.to_string());
    plan.status.created_with = Some(created_with(valid, region));
    // The create carried spec.tags.
    plan.status.tags_synced_generation = generation;
    plan.next = Next::Poll(outcome::poll_delay(timing, Duration::ZERO));
}

/// The status once Update has been accepted.
pub fn after_update(plan: &mut Plan, timing: &Timing) {
    plan.status.update_status = Some(UpdateStatus::Updating);
    plan.next = Next::Poll(outcome::poll_delay(timing, Duration::ZERO));
}

fn deployment_status(state: &DeploymentState) -> DeploymentStatus {
    match state {
        DeploymentState::Creating => DeploymentStatus::Creating,
        DeploymentState::Active => DeploymentStatus::Active,
        DeploymentState::Failed => DeploymentStatus::Failed,
        DeploymentState::Other(_) => DeploymentStatus::Unknown,
    }
}

fn update_status(state: &UpdateState) -> UpdateStatus {
    match state {
        UpdateState::Updating => UpdateStatus::Updating,
        UpdateState::UpdateCompleted => UpdateStatus::UpdateCompleted,
        UpdateState::UpdateFailed => UpdateStatus::UpdateFailed,
        UpdateState::Other(_) => UpdateStatus::Unknown,
    }
}

fn plan_existing(
    resource: &BedrockCustomModelDeployment,
    valid: &ValidDeployment,
    mut status: BedrockCustomModelDeploymentStatus,
    found: &RemoteDeployment,
    observation: &Observation,
    timing: &Timing,
    elapsed: Duration,
) -> Plan {
    let previous = resource.status.clone().unwrap_or_default();
    status.deployment_arn = Some(found.arn.clone());
    status.deployment_status = Some(deployment_status(&found.state));
    status.model_arn = Some(found.model_arn.clone());
    status.update_status = found.update.as_ref().map(|u| update_status(&u.state));
    status.failure_message = found.failure_message.clone().filter(|_| {
        found.state == DeploymentState::Failed
            || found
                .update
                .as_ref()
                .is_some_and(|u| u.state == UpdateState::UpdateFailed)
    });
    let name = &found.name;
    let serving = &found.model_arn;
    match &found.state {
        DeploymentState::Failed => {
            let retry = outcome::unhandled_retry(
                resource.metadata.annotations.as_ref(),
                previous.retry_handled.as_deref(),
            );
            // A Failed deployment may be renamed (or moved, or described anew): replaced.
            let region = status.region.clone().unwrap_or_default();
            let changed = status
                .created_with
                .as_ref()
                .map(|current| immutable_changes(&created_with(valid, &region), current))
                .unwrap_or_default();
            if let Some(cause) = outcome::replacement_cause(retry.is_some(), &changed) {
                if retry.is_some() {
                    status.retry_handled = retry;
                }
                status.recreations += 1;
                clear_deployment(&mut status);
                let delete = Action::Delete {
                    arn: found.arn.clone(),
                };
                return outcome::replacing(status, delete, "deployment", name, &cause);
            }
            let failure = found
                .failure_message
                .as_deref()
                .unwrap_or("no reason given")
                .trim_end_matches('.');
            let message = format!(
                "Bedrock could not create deployment {name}: {failure}. Set the {RETRY_ANNOTATION} annotation to a new value to try again, or delete the resource"
            );
            let announce = previous.deployment_status != Some(DeploymentStatus::Failed);
            outcome::failed(status, message, event::DEPLOYMENT_FAILED, announce)
        }
        DeploymentState::Creating | DeploymentState::Other(_) => {
            let message = format!("Bedrock is creating deployment {name}");
            Plan {
                actions: Vec::new(),
                status,
                conditions: vec![
                    Desired::new(conditions::READY, false, reason::CREATING, message.clone()),
                    Desired::new(conditions::SYNCED, true, reason::RECONCILED, message),
                ],
                events: Vec::new(),
                next: Next::Poll(outcome::poll_delay(timing, elapsed)),
            }
        }
        DeploymentState::Active => {
            let serving_message = format!("Bedrock deployment {name} is Active, serving {serving}");
            let ready = Desired::new(
                conditions::READY,
                true,
                reason::ACTIVE,
                serving_message.clone(),
            );
            let desired_model = observation.model.arn();
            let update = found.update.as_ref();
            if let Some(update) = update.filter(|u| u.state == UpdateState::Updating) {
                let message = format!(
                    "rolling model {} out to deployment {name}; it serves {serving} until then",
                    update.model_arn
                );
                let events = if previous.update_status != Some(UpdateStatus::Updating) {
                    vec![Note::normal(reason::UPDATING, "Update", message.clone())]
                } else {
                    Vec::new()
                };
                return Plan {
                    actions: Vec::new(),
                    status,
                    conditions: vec![
                        ready,
                        Desired::new(conditions::SYNCED, true, reason::UPDATING, message),
                    ],
                    events,
                    next: Next::Poll(outcome::poll_delay(timing, elapsed)),
                };
            }
            match desired_model {
                Some(desired) if desired != serving => {
                    let failed_before = update.is_some_and(|u| {
                        u.state == UpdateState::UpdateFailed && u.model_arn == desired
                    });
                    let retry = outcome::unhandled_retry(
                        resource.metadata.annotations.as_ref(),
                        previous.retry_handled.as_deref(),
                    );
                    if failed_before && retry.is_none() {
                        let failure = found
                            .failure_message
                            .as_deref()
                            .unwrap_or("no reason given")
                            .trim_end_matches('.');
                        let message = format!(
                            "Bedrock could not roll model {desired} out to deployment {name}: {failure}. The deployment keeps serving {serving}; point the spec at another model, or set the {RETRY_ANNOTATION} annotation to a new value to try again"
                        );
                        let events = if previous.update_status != Some(UpdateStatus::UpdateFailed)
                            || outcome::changed(
                                current_conditions(resource),
                                &[Desired::new(
                                    conditions::SYNCED,
                                    false,
                                    reason::UPDATE_FAILED,
                                    message.clone(),
                                )],
                            ) {
                            vec![Note::warning(
                                reason::UPDATE_FAILED,
                                "Update",
                                message.clone(),
                            )]
                        } else {
                            Vec::new()
                        };
                        return Plan {
                            actions: Vec::new(),
                            status,
                            conditions: vec![
                                ready,
                                Desired::new(
                                    conditions::SYNCED,
                                    false,
                                    reason::UPDATE_FAILED,
                                    message,
                                ),
                            ],
                            events,
                            next: Next::Resync,
                        };
                    }
                    if let Some(retry) = retry {
                        status.retry_handled = Some(retry);
                    }
                    let message = format!(
                        "rolling model {desired} out to deployment {name}; it serves {serving} until then"
                    );
                    Plan {
                        actions: vec![Action::Update {
                            arn: found.arn.clone(),
                            change: Rollout {
                                model_arn: desired.to_string(),
                            },
                        }],
                        status,
                        conditions: vec![
                            ready,
                            Desired::new(
                                conditions::SYNCED,
                                true,
                                reason::UPDATING,
                                message.clone(),
                            ),
                        ],
                        events: vec![Note::normal(reason::UPDATING, "Update", message)],
                        next: Next::Soon,
                    }
                }
                None => {
                    // The model the spec names now cannot be resolved: keep serving, say why.
                    let (why, message) = unresolved(&observation.model);
                    let message = format!("{message}; the deployment keeps serving {serving}");
                    let synced = Desired::new(conditions::SYNCED, false, why, message.clone());
                    let events = if outcome::changed(
                        current_conditions(resource),
                        std::slice::from_ref(&synced),
                    ) {
                        vec![Note::normal(why, "Reconcile", message)]
                    } else {
                        Vec::new()
                    };
                    Plan {
                        actions: Vec::new(),
                        status,
                        conditions: vec![ready, synced],
                        events,
                        next: Next::Resync,
                    }
                }
                Some(_) => {
                    let mut actions = Vec::new();
                    if let Some(remote_tags) = &observation.tags {
                        let calls = outcome::tag_calls(
                            &found.arn,
                            &desired_tags(resource, &observation.cluster),
                            remote_tags,
                            &status.managed_tag_keys,
                        );
                        actions.extend(calls.into_iter().map(Action::from));
                        status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
                        status.tags_synced_generation = resource.metadata.generation;
                    }
                    let events = if previous.update_status == Some(UpdateStatus::Updating)
                        && status.update_status == Some(UpdateStatus::UpdateCompleted)
                    {
                        vec![Note::normal(
                            event::UPDATED,
                            "Update",
                            format!("deployment {name} now serves {serving}"),
                        )]
                    } else if previous.deployment_status != Some(DeploymentStatus::Active) {
                        vec![Note::normal(
                            reason::ACTIVE,
                            "Create",
                            serving_message.clone(),
                        )]
                    } else {
                        Vec::new()
                    };
                    Plan {
                        actions,
                        status,
                        conditions: vec![
                            ready,
                            Desired::new(
                                conditions::SYNCED,
                                true,
                                reason::RECONCILED,
                                serving_message,
                            ),
                        ],
                        events,
                        next: Next::Resync,
                    }
                }
            }
        }
    }
}

/// Decides what deleting the resource takes.
pub fn cleanup(resource: &BedrockCustomModelDeployment, adoption: &NamespaceScope) -> Cleanup {
    if resource.spec.deletion_policy == DeletionPolicy::Retain {
        return Cleanup::Retain;
    }
    let status = resource.status.clone().unwrap_or_default();
    if let Some(arn) = status.deployment_arn {
        return Cleanup::Delete { arn };
    }
    if outcome::refused_before_any_call(
        &status.conditions,
        resource.metadata.generation,
        resource.metadata.deletion_timestamp.is_some(),
    ) {
        // Refused (by validation or a tenant guard) before any call: nothing to look up.
        return Cleanup::Nothing;
    }
    match validation::validate_deployment(resource) {
        // No valid spec, no create: this generation never reached Bedrock.
        Err(_) => Cleanup::Nothing,
        Ok(valid)
            if valid.adoption_policy == AdoptionPolicy::Adopt
                && !adoption.allows(resource.metadata.namespace.as_deref().unwrap_or_default()) =>
        {
            Cleanup::Nothing
        }
        Ok(valid) => Cleanup::LookUp {
            name: valid.deployment_name,
        },
    }
}

/// The DeletionBlocked message of a deployment whose deletion Bedrock refused.
pub fn deletion_refused_message(arn: &str, error: &BedrockError) -> String {
    format!(
        "Bedrock refused to delete deployment {arn}: {}. The operator keeps the finalizer and retries with backoff, or set spec.deletionPolicy: Retain to keep the deployment and let the resource go",
        error.describe()
    )
}

impl reference::Serves for BedrockCustomModelDeployment {
    fn model_ref(&self) -> Option<&str> {
        self.spec.model_ref.as_ref().map(|r| r.name.as_str())
    }
    fn model_arns(&self) -> [Option<&str>; 3] {
        let status = self.status.as_ref();
        [
            self.spec.model_arn.as_deref(),
            status.and_then(|s| s.model_arn.as_deref()),
            status.and_then(|s| s.desired_model_arn.as_deref()),
        ]
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
