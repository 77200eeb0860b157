//! Every decision of the reconcile loop, as pure functions from (resource, observation, timing)
//! to (actions, next status, events, when to look again). No I/O: unit-tested with plain values.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::api::conditions::{self, Desired, event, reason};
use crate::api::tags;
use crate::api::validation;
use crate::api::{
    AdoptionPolicy, BedrockCustomModel, BedrockCustomModelStatus, CreatedWith, DeletionPolicy,
    ModelSource, ModelStatus, RETRY_ANNOTATION,
};
#[cfg(test)]
use crate::bedrock::ErrorClass;
use crate::bedrock::{BedrockError, CreateRequest, ModelState, RemoteModel, Source};

use crate::controller::call::{self, Call};
pub use crate::controller::cleanup::Cleanup;
use crate::controller::guards::{Guarded, Guards, NOTHING_SENT};
use crate::controller::outcome::{self, Subject};
use crate::controller::ownership::{self, Holder, Liveness, Match, Me};
use crate::controller::scope::NamespaceScope;

pub use crate::controller::outcome::{Next, Note, Timing, poll_delay, retry_delay};

/// One call to make to Bedrock: create the model, or the calls every kind shares (a model
/// changes nothing in place).
pub type Action = Call<CreateRequest>;

/// The outcome of planning a model's reconcile.
pub type Plan = outcome::Plan<BedrockCustomModelStatus, Action>;

/// What the operator saw in Bedrock before deciding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// The model: looked up by status.modelArn, or by name when the status has none.
    pub model: Option<RemoteModel>,
    /// Its tags, when they were read.
    pub tags: Option<BTreeMap<String, String>>,
    /// Whether a sweep (one ListCustomModels per region) watches this region for imports that
    /// finish, so that a Creating model needs only a rare poll of its own.
    pub swept: bool,
    /// Whether the resource the model's owner tag names still exists, when another resource's
    /// tag made the observe step look it up (see [`ownership::owner_to_look_up`]).
    pub owner: Liveness,
    /// The cluster this operator serves, as owner tags name it: read from the API server at
    /// start-up (or given by `--cluster-name`).
    pub cluster: String,
}

/// `adoptionPolicy: Adopt` in a namespace the operator's `--allow-adoption` leaves out: an
/// InvalidSpec naming the field, before any AWS call.
pub fn adoption_refused(
    resource: &BedrockCustomModel,
    region: &str,
    scope: &NamespaceScope,
) -> Option<Plan> {
    if resource.spec.adoption_policy != AdoptionPolicy::Adopt {
        return None;
    }
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let message = ownership::adoption_refused(namespace, scope)?;
    Some(blocked(
        resource,
        base_status(resource, region),
        reason::INVALID_SPEC,
        message,
        Next::AwaitChange,
    ))
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

/// NameConflict: the model `arn` named `name` is not this resource's to take. The status keeps
/// no model (this resource is not the model's), so nothing keyed by the model's ARN (the sweep,
/// the deletion) treats this resource as its.
pub fn name_conflict(
    resource: &BedrockCustomModel,
    region: &str,
    mut status: BedrockCustomModelStatus,
    arn: &str,
    holder: Option<&Holder>,
    timing: &Timing,
) -> Plan {
    let name = model_name(resource);
    clear_model(&mut status);
    let found = ownership::Found {
        noun: "model",
        field: "spec.modelName",
        name: &name,
        region,
        arn,
    };
    let adopt = resource.spec.adoption_policy == AdoptionPolicy::Adopt;
    let message = ownership::name_conflict_message(&found, holder, adopt);
    blocked(
        resource,
        status,
        reason::NAME_CONFLICT,
        message,
        Next::After(timing.slow_retry),
    )
}

/// The two regions a model reconcile deals with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regions {
    /// Where a new model goes: spec.region, or the operator's default.
    pub desired: String,
    /// Where the model the status names lives (the region it was created in, whatever the spec
    /// says now); `desired` while the status names none.
    pub model: String,
}

/// The regions of a model reconcile: the one place that chooses them.
pub fn regions(resource: &BedrockCustomModel, default_region: &str) -> Regions {
    let desired = resource
        .spec
        .region
        .clone()
        .unwrap_or_else(|| default_region.to_string());
    let status = resource.status.as_ref();
    let model = status
        .filter(|s| s.model_arn.is_some())
        .and_then(|s| s.region.clone())
        .unwrap_or_else(|| desired.clone());
    Regions { desired, model }
}

pub use crate::controller::reference::Lookup;

/// The Bedrock model name: spec.modelName or metadata.name.
fn model_name(resource: &BedrockCustomModel) -> String {
    resource.model_name().to_string()
}

/// The parameters the spec asks to create the model with.
pub fn desired_parameters(resource: &BedrockCustomModel, region: &str) -> CreatedWith {
    CreatedWith {
        model_name: model_name(resource),
        source: Some(resource.spec.source.clone()),
        role_arn: resource.spec.role_arn.clone(),
        kms_key_arn: resource.spec.kms_key_arn.clone(),
        region: region.to_string(),
        adopted: false,
    }
}

/// The immutable fields whose spec value differs from what the model was created with.
pub fn immutable_changes(desired: &CreatedWith, current: &CreatedWith) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if desired.model_name != current.model_name {
        changed.push("modelName");
    }
    if current.source.is_some() && desired.source != current.source {
        changed.push("source");
    }
    if !current.adopted && desired.role_arn != current.role_arn {
        changed.push("roleArn");
    }
    if desired.kms_key_arn != current.kms_key_arn {
        changed.push("kmsKeyArn");
    }
    if desired.region != current.region {
        changed.push("region");
    }
    changed
}

/// The status every plan starts from: the current one, brought to this generation.
pub fn base_status(resource: &BedrockCustomModel, region: &str) -> BedrockCustomModelStatus {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    status.model_name = Some(model_name(resource));
    if status.model_arn.is_none() {
        status.region = Some(region.to_string());
    }
    status.conditions.clear();
    status
}

fn is_failed(status: &BedrockCustomModelStatus) -> bool {
    status.model_status == Some(ModelStatus::Failed)
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
    let current = status.created_with.as_ref()?;
    if status.model_arn.is_none() || is_failed(&status) {
        return None;
    }
    let changed = immutable_changes(&desired_parameters(resource, region), current);
    if changed.is_empty() {
        return None;
    }
    let fields = changed
        .iter()
        .map(|f| format!("spec.{f}"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = format!(
        "{fields} cannot change while Bedrock model {} exists: revert the change to resume, or delete and re-create the resource to build a new model; nothing was sent to AWS",
        current.model_name
    );
    Some(blocked(
        resource,
        status,
        reason::IMMUTABLE_FIELD_CHANGED,
        message,
        Next::AwaitChange,
    ))
}

/// A plan that makes no call and shows why on both conditions.
fn blocked(
    resource: &BedrockCustomModel,
    status: BedrockCustomModelStatus,
    why: &'static str,
    message: String,
    next: Next,
) -> Plan {
    outcome::blocked(current_conditions(resource), status, why, message, next)
}

/// The resource's conditions as they stand.
pub fn current_conditions(
    resource: &BedrockCustomModel,
) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
    resource
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

/// Whether the status shows the spec reconciled and nothing pending: the model Active with this
/// generation's tags, or Failed with no new retry asked for (see [`outcome::settled`]).
pub fn settled(resource: &BedrockCustomModel) -> bool {
    let Some(status) = resource.status.as_ref() else {
        return false;
    };
    let standing = match status.model_status {
        Some(ModelStatus::Active) => outcome::Standing::Serving {
            ready_reason: reason::ACTIVE,
            synced_too: false,
        },
        Some(ModelStatus::Failed) => outcome::Standing::Failed,
        _ => outcome::Standing::InProgress,
    };
    let seen = outcome::Settling {
        conditions: &status.conditions,
        generation: resource.metadata.generation,
        observed_generation: status.observed_generation,
        holds_object: status.model_arn.is_some(),
        tags_synced_generation: status.tags_synced_generation,
        retry_pending: outcome::unhandled_retry(
            resource.metadata.annotations.as_ref(),
            status.retry_handled.as_deref(),
        )
        .is_some(),
    };
    outcome::settled(&seen, standing)
}

/// Where the observe step should look for the model.
pub fn lookup(resource: &BedrockCustomModel) -> Lookup {
    let arn = resource
        .status
        .as_ref()
        .and_then(|s| s.model_arn.as_deref());
    Lookup::new(arn, &model_name(resource))
}

/// Whether the observe step should also read the model's tags: to tell whose a model found by
/// name is; and for an Active model, when spec.tags may have changed since they were last made
/// to match (a new generation), or when the periodic drift check is `due`. Otherwise the tags
/// are known to be what the spec asks for, and reading them would only spend the tagging quota.
pub fn needs_tags(
    resource: &BedrockCustomModel,
    lookup: &Lookup,
    model: &RemoteModel,
    due: bool,
) -> bool {
    outcome::needs_tags(
        matches!(lookup, Lookup::ByName(_)),
        model.state == ModelState::Active,
        due,
        resource
            .status
            .as_ref()
            .and_then(|s| s.tags_synced_generation),
        resource.metadata.generation,
    )
}

/// The deterministic idempotency token of a CreateCustomModel: the same resource asking for the
/// same model (after a crash, a timeout, a restart) sends the same token, so Bedrock returns the
/// model it already made; a deliberate re-creation bumps `recreations` and so sends a new one.
pub fn client_request_token(
    uid: &str,
    request: &CreateRequest,
    region: &str,
    recreations: i32,
) -> String {
    let mut hash = Sha256::new();
    let source = match &request.source {
        Source::S3Uri(uri) => format!("s3:{uri}"),
        Source::ModelPackageArn(arn) => format!("package:{arn}"),
    };
    for part in [
        uid,
        region,
        &request.model_name,
        &source,
        request.role_arn.as_deref().unwrap_or_default(),
        request.kms_key_arn.as_deref().unwrap_or_default(),
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
    format!("bcm-{}", &hex[..40])
}

fn desired_tags(resource: &BedrockCustomModel, cluster: &str) -> BTreeMap<String, String> {
    tags::desired(&resource.spec.tags, &resource.metadata, cluster)
}

/// The CreateCustomModel request for the spec.
pub fn create_request(
    resource: &BedrockCustomModel,
    region: &str,
    recreations: i32,
    cluster: &str,
) -> CreateRequest {
    let source = match &resource.spec.source {
        ModelSource {
            s3_uri: Some(uri), ..
        } => Source::S3Uri(uri.clone()),
        ModelSource {
            model_package_arn: Some(arn),
            ..
        } => Source::ModelPackageArn(arn.clone()),
        // precheck() refuses a spec without a source before any plan is made.
        ModelSource { .. } => Source::S3Uri(String::new()),
    };
    let mut request = CreateRequest {
        model_name: model_name(resource),
        source,
        role_arn: resource.spec.role_arn.clone(),
        kms_key_arn: resource.spec.kms_key_arn.clone(),
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

/// Plans a reconcile of a resource that is not being deleted, given what Bedrock said.
pub fn plan_apply(
    resource: &BedrockCustomModel,
    region: &str,
    observation: &Observation,
    timing: &Timing,
    elapsed_since_creation: Option<Duration>,
) -> Plan {
    let mut status = base_status(resource, region);
    let me = Me::of(&resource.metadata, &observation.cluster);
    let adopt = resource.spec.adoption_policy == AdoptionPolicy::Adopt;
    let (held, tags) = (status.model_arn.clone(), observation.tags.as_ref());
    let found = observation.model.as_ref();
    let elapsed = elapsed_since_creation;
    match ownership::matching(held, found, tags, &me, adopt, observation.owner) {
        Match::Create => plan_create(resource, region, status, &observation.cluster, Vec::new()),
        // Created by this resource earlier (e.g. just before a crash): take it back.
        Match::TakeBack(model) => {
            status.created_with = Some(desired_parameters(resource, region));
            hold(&mut status, model, region);
            plan_existing(
                resource,
                region,
                status,
                model,
                observation,
                timing,
                elapsed,
            )
        }
        Match::Adopt { found: model, from } => {
            status.created_with = Some(CreatedWith {
                model_name: model.name.clone(),
                source: None,
                role_arn: None,
                kms_key_arn: model.kms_key_arn.clone(),
                region: region.to_string(),
                adopted: true,
            });
            hold(&mut status, model, region);
            let mut plan = plan_existing(
                resource,
                region,
                status,
                model,
                observation,
                timing,
                elapsed,
            );
            claim_model(&mut plan, resource, &model.arn, &observation.cluster);
            let noun = "Bedrock model";
            let message = ownership::adopted_message(noun, &model.name, &model.arn, from.as_ref());
            plan.events
                .insert(0, Note::normal(event::ADOPTED, "Adopt", message));
            plan
        }
        Match::Conflict {
            found: model,
            holder,
        } => name_conflict(
            resource,
            region,
            status,
            &model.arn,
            holder.as_ref(),
            timing,
        ),
        Match::Missing { arn } => {
            // The model is gone although nobody asked this operator to delete it.
            let was_failed = is_failed(&status);
            status.recreations += 1;
            clear_model(&mut status);
            let events = if was_failed {
                Vec::new()
            } else {
                vec![Note::warning(
                    event::MODEL_MISSING,
                    "Recreate",
                    format!(
                        "Bedrock model {arn} disappeared outside the operator; creating it again"
                    ),
                )]
            };
            plan_create(resource, region, status, &observation.cluster, events)
        }
        Match::Held(model) => plan_existing(
            resource,
            region,
            status,
            model,
            observation,
            timing,
            elapsed,
        ),
    }
}

/// Holds the model found by name (taken back or adopted).
fn hold(status: &mut BedrockCustomModelStatus, model: &RemoteModel, region: &str) {
    status.model_arn = Some(model.arn.clone());
    status.region = Some(region.to_string());
}

/// Turns an adoption's tag change into a claim: the owner tags go on the model first thing
/// (whatever its state), together with the spec's tags when the plan sets them.
fn claim_model(plan: &mut Plan, resource: &BedrockCustomModel, arn: &str, cluster: &str) {
    let owner = tags::operator_tags(
        resource.metadata.namespace.as_deref().unwrap_or_default(),
        resource.metadata.name.as_deref().unwrap_or_default(),
        resource.metadata.uid.as_deref().unwrap_or_default(),
        cluster,
    );
    call::claim_first(plan, arn, owner);
    // The next look reads the tags again: should another process have claimed the model in the
    // same moment after this one read its claim back (a leader failover), the later reader
    // finds out then, not an hour later.
    plan.status.tags_synced_generation = resource
        .status
        .as_ref()
        .and_then(|s| s.tags_synced_generation);
}

/// Forgets the current model. `created_with` stays (it is replaced when the next model is
/// created, and unused until then) because dropping a nested object through server-side apply
/// is unreliable on older API servers.
fn clear_model(status: &mut BedrockCustomModelStatus) {
    status.model_arn = None;
    status.model_status = None;
    status.failure_message = None;
    status.creation_time = None;
}

fn plan_create(
    resource: &BedrockCustomModel,
    region: &str,
    mut status: BedrockCustomModelStatus,
    cluster: &str,
    mut events: Vec<Note>,
) -> Plan {
    let request = create_request(resource, region, status.recreations, cluster);
    status.region = Some(region.to_string());
    status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
    let message = format!("creating Bedrock model {}", request.model_name);
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

/// The status and conditions once Create has returned `arn`.
pub fn after_create(
    plan: &mut Plan,
    resource: &BedrockCustomModel,
    region: &str,
    arn: String,
    timing: &Timing,
    swept: bool,
) {
    plan.status.model_arn = Some(arn);
    plan.status.model_status = Some(ModelStatus::Creating);
    plan.status.created_with = Some(desired_parameters(resource, region));
    // The create carried spec.tags.
    plan.status.tags_synced_generation = resource.metadata.generation;
    plan.next = Next::Poll(creating_poll(timing, Duration::ZERO, swept));
}

fn plan_existing(
    resource: &BedrockCustomModel,
    region: &str,
    mut status: BedrockCustomModelStatus,
    model: &RemoteModel,
    observation: &Observation,
    timing: &Timing,
    elapsed_since_creation: Option<Duration>,
) -> Plan {
    let previous_state = resource.status.as_ref().and_then(|s| s.model_status);
    status.model_arn = Some(model.arn.clone());
    status.model_status = Some(ModelStatus::from(&model.state));
    status.failure_message = model
        .failure_message
        .clone()
        .filter(|_| model.state == ModelState::Failed);
    // Recorded once the import is over, so that polls of a Creating model write nothing.
    if model.creation_time.is_some() && model.state != ModelState::Creating {
        status.creation_time = model.creation_time.clone();
    }
    let name = &model.name;

    match &model.state {
        ModelState::Failed => {
            let changed = status
                .created_with
                .as_ref()
                .map(|current| immutable_changes(&desired_parameters(resource, region), current))
                .unwrap_or_default();
            let retry = outcome::unhandled_retry(
                resource.metadata.annotations.as_ref(),
                status.retry_handled.as_deref(),
            );
            if let Some(cause) = outcome::replacement_cause(retry.is_some(), &changed) {
                if retry.is_some() {
                    status.retry_handled = retry;
                }
                status.recreations += 1;
                clear_model(&mut status);
                let delete = Action::Delete {
                    arn: model.arn.clone(),
                };
                return outcome::replacing(status, delete, "model", name, &cause);
            }
            let failure = model
                .failure_message
                .as_deref()
                .unwrap_or("no reason given")
                .trim_end_matches('.');
            let message = format!(
                "Bedrock could not create model {name}: {failure}. Fix the spec (changing source, roleArn or kmsKeyArn replaces the model) or set the {RETRY_ANNOTATION} annotation to a new value to try again"
            );
            let announce = previous_state != Some(ModelStatus::Failed);
            outcome::failed(status, message, event::MODEL_FAILED, announce)
        }
        ModelState::Active => {
            let arn = model.arn.clone();
            let mut actions = Vec::new();
            if let Some(remote_tags) = &observation.tags {
                let calls = outcome::tag_calls(
                    &arn,
                    &desired_tags(resource, &observation.cluster),
                    remote_tags,
                    &status.managed_tag_keys,
                );
                actions.extend(calls.into_iter().map(Action::from));
                status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
                status.tags_synced_generation = resource.metadata.generation;
            }
            let message = format!("Bedrock model {name} is Active");
            let events = if previous_state != Some(ModelStatus::Active) {
                vec![Note::normal(reason::ACTIVE, "Create", message.clone())]
            } else {
                Vec::new()
            };
            Plan {
                actions,
                status,
                conditions: vec![
                    Desired::new(conditions::READY, true, reason::ACTIVE, message.clone()),
                    Desired::new(conditions::SYNCED, true, reason::RECONCILED, message),
                ],
                events,
                next: Next::Resync,
            }
        }
        ModelState::Creating | ModelState::Other(_) => {
            let message = format!("Bedrock is creating model {name}");
            let elapsed = elapsed_since_creation.unwrap_or_default();
            Plan {
                actions: Vec::new(),
                status,
                conditions: vec![
                    Desired::new(conditions::READY, false, reason::CREATING, message.clone()),
                    Desired::new(conditions::SYNCED, true, reason::RECONCILED, message),
                ],
                events: Vec::new(),
                next: Next::Poll(creating_poll(timing, elapsed, observation.swept)),
            }
        }
    }
}

/// The wait before a Creating model's own next poll: when a sweep watches its region, only the
/// sweep's back-up interval (the sweep triggers the reconcile when the import ends); otherwise
/// [`poll_delay`].
pub fn creating_poll(timing: &Timing, elapsed: Duration, swept: bool) -> Duration {
    if swept && !timing.sweep_interval.is_zero() {
        timing.sweep_fallback.max(timing.sweep_interval)
    } else {
        poll_delay(timing, elapsed)
    }
}

/// Decides what deleting the resource takes.
pub fn cleanup(resource: &BedrockCustomModel, adoption: &NamespaceScope) -> Cleanup {
    if resource.spec.deletion_policy == DeletionPolicy::Retain {
        return Cleanup::Retain;
    }
    let status = resource.status.clone().unwrap_or_default();
    if let Some(arn) = status.model_arn {
        return Cleanup::Delete { arn };
    }
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let adoption_refused =
        resource.spec.adoption_policy == AdoptionPolicy::Adopt && !adoption.allows(namespace);
    if !validation::validate(resource).is_empty() || adoption_refused {
        // No valid spec, no create: this generation never reached Bedrock.
        return Cleanup::Nothing;
    }
    if outcome::refused_before_any_call(
        &status.conditions,
        resource.metadata.generation,
        resource.metadata.deletion_timestamp.is_some(),
    ) {
        Cleanup::Nothing
    } else {
        Cleanup::LookUp {
            name: model_name(resource),
        }
    }
}

/// How the model's failures are worded.
pub fn subject(model_name: &str) -> Subject<'_> {
    Subject {
        noun: "model",
        name: model_name,
        access_hint: ", including iam:PassRole on spec.roleArn",
        quota_hint: "Delete unused custom models or request a quota increase",
        not_found_hint: "Check spec.source and spec.roleArn",
    }
}

/// How a failed call shows on the resource: `None` for transient failures not yet worth a
/// status write (they are retried with backoff).
pub fn failure_conditions(
    error: &BedrockError,
    model_name: &str,
    consecutive_failures: u32,
    timing: &Timing,
) -> Option<Vec<Desired>> {
    outcome::failure_conditions(error, &subject(model_name), consecutive_failures, timing)
}

/// The message of a deletion Bedrock refused (ConflictException: the model is in use).
pub fn deletion_refused_message(arn: &str, error: &BedrockError) -> String {
    format!(
        "Bedrock refused to delete model {arn}: {}. No deployment or throughput in the namespaces this operator watches uses it, so something else does (a resource in a namespace the operator does not watch, or one made outside Kubernetes). The operator keeps the finalizer and retries with backoff; remove what uses the model (such as a provisioned throughput), or set spec.deletionPolicy: Retain to keep the model and let the resource go",
        error.describe()
    )
}

#[cfg(test)]
#[path = "plan_tests/mod.rs"]
mod tests;
