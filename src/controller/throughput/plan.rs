//! Every decision of a BedrockProvisionedThroughput reconcile, as pure functions from
//! (resource, validated spec, observation, timing, now) to (calls, next status, events, when to
//! look again). No I/O: unit-tested with plain values in `plan_tests.rs`.
//!
//! Money first: nothing is bought while the spec is invalid, while a commitment is not
//! confirmed by the annotation (or not allowed in the namespace), while it would exceed a
//! tenant guard's limit of model units, or while the model is not ready; a committed throughput that disappeared is not bought again without a new retry
//! value; a committed throughput is not deleted (nor Bedrock asked to) before its term ends.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::api::conditions::{self, Desired, event, reason};
use crate::api::throughput::{
    BedrockProvisionedThroughput, BedrockProvisionedThroughputStatus, CommitmentDuration,
    ThroughputCreatedWith, ThroughputModel, ThroughputStatus, ValidThroughput,
};
use crate::api::{AdoptionPolicy, BedrockCustomModel, DeletionPolicy, RETRY_ANNOTATION, tags};
use crate::api::{validation, validation::FieldError};
use crate::bedrock::{
    BedrockError, CreateThroughputRequest, RemoteThroughput, ThroughputState,
    UpdateThroughputRequest,
};
use crate::controller::call::{self, Call};
pub use crate::controller::cleanup::Cleanup;
use crate::controller::guards::{self, Guards, Holding};
use crate::controller::outcome::{self, Next, Note, Subject, Timing};
use crate::controller::ownership::{self, Holder, Match, Me};
use crate::controller::reference;
pub use crate::controller::reference::{Lookup, Resolution};
use crate::controller::scope::NamespaceScope;

/// One call to make to Bedrock: buy the throughput (CreateProvisionedModelThroughput), rename
/// it or swap its model in place (UpdateProvisionedModelThroughput), or the calls every kind
/// shares.
pub type Action = Call<CreateThroughputRequest, UpdateThroughputRequest>;

/// The outcome of planning a throughput's reconcile.
pub type Plan = outcome::Plan<BedrockProvisionedThroughputStatus, Action>;

/// Resolves the spec's model: a modelId as it is; a modelRef from the referenced resource's
/// status, only once that model is Ready.
pub fn resolve(target: &ThroughputModel, model: Option<&BedrockCustomModel>) -> Resolution {
    match target {
        ThroughputModel::Id(id) => Resolution::Resolved {
            arn: id.clone(),
            region: target.arn_region().map(str::to_string),
        },
        ThroughputModel::Ref(name) => reference::resolve_ref(name, model),
    }
}

fn unresolved(resolution: &Resolution) -> (&'static str, String) {
    reference::unresolved(resolution, "throughput")
}

/// Whether `wanted` (a model ARN, or a foundation model ID) names the model Bedrock reports as
/// `arn`: the same ARN, or the foundation model ARN that ends with that ID.
pub fn same_model(wanted: &str, arn: &str) -> bool {
    wanted == arn
        || (!wanted.starts_with("arn:") && arn.ends_with(&format!(":foundation-model/{wanted}")))
}

/// What the operator saw before deciding.
pub type Observation = reference::Observation<RemoteThroughput>;

pub fn lookup(resource: &BedrockProvisionedThroughput, valid: &ValidThroughput) -> Lookup {
    let arn = resource
        .status
        .as_ref()
        .and_then(|s| s.provisioned_model_arn.as_deref());
    Lookup::new(arn, &valid.name)
}

/// The region of the throughput: the one it lives in once it exists; for a new one spec.region,
/// else the model's, else the operator's default.
pub fn region(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    model: &Resolution,
    default_region: &str,
) -> String {
    resource
        .status
        .as_ref()
        .filter(|s| s.provisioned_model_arn.is_some())
        .and_then(|s| s.region.clone())
        .unwrap_or_else(|| valid.region(model.region(), default_region))
}

/// How the throughput's failures are worded.
pub fn subject(name: &str) -> Subject<'_> {
    Subject {
        noun: "provisioned throughput",
        name,
        access_hint: "",
        quota_hint: "Model units for custom models must be granted to the account by AWS first: request a Provisioned Throughput quota increase (model units) in Service Quotas, or delete unused throughputs",
        not_found_hint: "Check spec.modelRef or spec.modelId",
    }
}

/// The resource's conditions as they stand.
pub fn current_conditions(resource: &BedrockProvisionedThroughput) -> &[Condition] {
    resource
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default()
}

/// The status every plan starts from: the current one, brought to this generation.
pub fn base_status(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    region: &str,
) -> BedrockProvisionedThroughputStatus {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    if status.provisioned_model_arn.is_none() {
        status.provisioned_model_name = Some(valid.name.clone());
        status.region = Some(region.to_string());
    }
    status.conditions.clear();
    status
}

fn created_with(valid: &ValidThroughput, region: &str) -> ThroughputCreatedWith {
    ThroughputCreatedWith {
        model_units: valid.model_units,
        commitment_duration: valid.commitment,
        region: region.to_string(),
        adopted: false,
    }
}

/// The fields Bedrock cannot change whose spec value differs from what the throughput was
/// bought with, each with what to do instead.
pub fn immutable_changes(
    desired: &ThroughputCreatedWith,
    current: &ThroughputCreatedWith,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if desired.model_units != current.model_units {
        changed.push("modelUnits");
    }
    if desired.commitment_duration != current.commitment_duration {
        changed.push("commitmentDuration");
    }
    if desired.region != current.region {
        changed.push("region");
    }
    changed
}

/// The plan of a spec that fails validation (or the commitment guard): InvalidSpec naming
/// every field, no AWS call.
pub fn invalid(resource: &BedrockProvisionedThroughput, errors: &[FieldError]) -> Plan {
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

fn is_failed(status: &BedrockProvisionedThroughputStatus) -> bool {
    status.throughput_status == Some(ThroughputStatus::Failed)
}

/// The purchase guards, checked before any call while nothing is bought yet: a commitment
/// needs a namespace the operator's `--commitment-namespaces` lists and the
/// confirm-commitment annotation naming the same term; spec.modelUnits must fit the namespace's
/// limit per throughput. A throughput that exists is not bought again by a reconcile that
/// merely looks at it, so the guards do not stop those (spec.modelUnits cannot change once
/// bought); every purchase meets them again ([`purchase_refused`]).
pub fn guard_refused(resource: &BedrockProvisionedThroughput, guards: &Guards) -> Option<Plan> {
    let bought = resource
        .status
        .as_ref()
        .is_some_and(|s| s.provisioned_model_arn.is_some());
    if bought {
        return None;
    }
    purchase_refused(resource, guards)
}

/// The guards at the moment of a purchase, whatever the status says (a throughput bought again
/// after it disappeared starts a new term too): InvalidSpec naming each refusing field and
/// setting, and the purchase is not made.
pub fn purchase_refused(resource: &BedrockProvisionedThroughput, guards: &Guards) -> Option<Plan> {
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let commitment = match resource.spec.commitment_duration {
        // Where no term may be bought, whether the annotation confirms it does not matter.
        Some(term) => guards::commitment_namespace_refused(guards, namespace, term)
            .or_else(|| validation::commitment_refused(resource)),
        None => None,
    };
    let units = guards::units_per_throughput_refused(guards, namespace, resource.spec.model_units);
    let errors: Vec<FieldError> = units.into_iter().chain(commitment).collect();
    (!errors.is_empty()).then(|| invalid(resource, &errors))
}

/// The namespace's budget of model units, with what its other throughputs hold (`others`, read
/// from the API server under the namespace's lock): InvalidSpec naming spec.modelUnits and the
/// setting, no call, and a look again after `--slow-retry` (the others may go meanwhile).
pub fn budget_refused(
    resource: &BedrockProvisionedThroughput,
    guards: &Guards,
    others: &[Holding],
    timing: &Timing,
) -> Option<Plan> {
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let error =
        guards::namespace_budget_refused(guards, namespace, resource.spec.model_units, others)?;
    let mut plan = invalid(resource, std::slice::from_ref(&error));
    plan.next = Next::After(timing.slow_retry);
    Some(plan)
}

/// Checks made before any AWS call: a change to a field Bedrock cannot change on a live
/// throughput stops here, with what to do in the message and no call.
pub fn precheck(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    region: &str,
) -> Option<Plan> {
    let status = base_status(resource, valid, region);
    let current = status.created_with.as_ref()?;
    if status.provisioned_model_arn.is_none() || is_failed(&status) {
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
    let name = status.provisioned_model_name.clone().unwrap_or_default();
    let message = format!(
        "{fields} cannot change on a live provisioned throughput ({name}): Bedrock fixes the model units, commitment and region when it is bought. Revert the change to resume; to get other units or another term, create another BedrockProvisionedThroughput, move traffic to it, then delete this one. Nothing was sent to AWS"
    );
    Some(outcome::blocked(
        current_conditions(resource),
        status,
        reason::IMMUTABLE_FIELD_CHANGED,
        message,
        Next::AwaitChange,
    ))
}

/// spec.region differs from the region of the referenced BedrockCustomModel: InvalidSpec, no
/// call (a throughput serves a model of its own region).
pub fn region_mismatch(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    model: &Resolution,
) -> Option<Plan> {
    let (ThroughputModel::Ref(name), Some(wanted), Some(actual)) =
        (&valid.model, valid.region.as_deref(), model.region())
    else {
        return None;
    };
    if wanted == actual {
        return None;
    }
    let error = FieldError {
        field: "spec.region".into(),
        message: format!(
            "{wanted} is not the region of BedrockCustomModel {name} ({actual}); a provisioned throughput serves a model of its own region, so remove spec.region or reference a model in {wanted}"
        ),
    };
    Some(invalid(resource, &[error]))
}

/// `adoptionPolicy: Adopt` in a namespace the operator's `--allow-adoption` leaves out.
pub fn adoption_refused(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    scope: &NamespaceScope,
) -> Option<Plan> {
    if valid.adoption_policy != AdoptionPolicy::Adopt {
        return None;
    }
    let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
    let message = ownership::adoption_refused(namespace, scope)?;
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = resource.metadata.generation;
    status.conditions.clear();
    Some(outcome::blocked(
        current_conditions(resource),
        status,
        reason::INVALID_SPEC,
        message,
        Next::AwaitChange,
    ))
}

/// Whether the status shows the spec reconciled and nothing pending (see [`outcome::settled`]).
pub fn settled(resource: &BedrockProvisionedThroughput) -> bool {
    let Some(status) = resource.status.as_ref() else {
        return false;
    };
    let standing = match status.throughput_status {
        Some(ThroughputStatus::InService) => outcome::Standing::Serving {
            ready_reason: reason::IN_SERVICE,
            synced_too: true,
        },
        Some(ThroughputStatus::Failed) => outcome::Standing::Failed,
        _ => outcome::Standing::InProgress,
    };
    let seen = outcome::Settling {
        conditions: &status.conditions,
        generation: resource.metadata.generation,
        observed_generation: status.observed_generation,
        holds_object: status.provisioned_model_arn.is_some(),
        tags_synced_generation: status.tags_synced_generation,
        retry_pending: outcome::unhandled_retry(
            resource.metadata.annotations.as_ref(),
            status.retry_handled.as_deref(),
        )
        .is_some(),
    };
    outcome::settled(&seen, standing)
}

/// Whether the observe step should also read the throughput's tags: to tell whose one found by
/// name is; for one InService, when spec.tags may have changed since they were last made to
/// match, or when the periodic drift check is `due`.
pub fn needs_tags(
    resource: &BedrockProvisionedThroughput,
    lookup: &Lookup,
    throughput: &RemoteThroughput,
    due: bool,
) -> bool {
    outcome::needs_tags(
        matches!(lookup, Lookup::ByName(_)),
        throughput.state == ThroughputState::InService,
        due,
        resource
            .status
            .as_ref()
            .and_then(|s| s.tags_synced_generation),
        resource.metadata.generation,
    )
}

fn desired_tags(
    resource: &BedrockProvisionedThroughput,
    cluster: &str,
) -> BTreeMap<String, String> {
    tags::desired(&resource.spec.tags, &resource.metadata, cluster)
}

/// The deterministic idempotency token of a CreateProvisionedModelThroughput: the same
/// resource asking for the same throughput (after a crash, a timeout, a restart) sends the same
/// token, so Bedrock returns the one it already bought; a deliberate re-purchase bumps
/// `recreations` and so sends a new one.
pub fn client_request_token(
    uid: &str,
    request: &CreateThroughputRequest,
    region: &str,
    recreations: i32,
) -> String {
    let mut hash = Sha256::new();
    for part in [
        uid,
        region,
        &request.name,
        &request.model_id,
        &request.model_units.to_string(),
        request.commitment.as_deref().unwrap_or_default(),
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
    format!("bpt-{}", &hex[..40])
}

/// The CreateProvisionedModelThroughput request for the spec and the resolved model.
pub fn create_request(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    model_id: &str,
    region: &str,
    recreations: i32,
    cluster: &str,
) -> CreateThroughputRequest {
    let mut request = CreateThroughputRequest {
        name: valid.name.clone(),
        model_id: model_id.to_string(),
        model_units: valid.model_units,
        commitment: valid.commitment.map(|c| c.as_str().to_string()),
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

/// Plans a reconcile of a throughput that is not being deleted, given what was observed.
/// `elapsed` is how long the throughput (or its update) has been in progress.
pub fn plan_apply(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
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
    let (held, tags) = (
        status.provisioned_model_arn.clone(),
        observation.tags.as_ref(),
    );
    let found = observation.remote.as_ref();
    match ownership::matching(held, found, tags, &me, adopt, observation.owner) {
        Match::Create => plan_create(resource, valid, region, status, observation, Vec::new()),
        Match::TakeBack(found) => {
            status.created_with = Some(created_with(valid, region));
            hold(&mut status, found, region);
            plan_existing(resource, valid, status, found, observation, timing, elapsed)
        }
        Match::Adopt { found, from } => {
            status.created_with = Some(ThroughputCreatedWith {
                model_units: found.model_units,
                commitment_duration: found.commitment.as_deref().and_then(commitment),
                region: region.to_string(),
                adopted: true,
            });
            status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
            hold(&mut status, found, region);
            let mut plan =
                plan_existing(resource, valid, status, found, observation, timing, elapsed);
            claim_throughput(&mut plan, resource, &found.arn, &observation.cluster);
            let noun = "provisioned throughput";
            let message = ownership::adopted_message(noun, &found.name, &found.arn, from.as_ref());
            plan.events
                .insert(0, Note::normal(event::ADOPTED, "Adopt", message));
            plan
        }
        Match::Conflict { found, holder } => {
            status.region = Some(region.to_string());
            name_conflict(resource, valid, status, found, holder.as_ref(), timing)
        }
        Match::Missing { arn } => plan_missing(resource, valid, region, status, observation, &arn),
        Match::Held(found) => {
            plan_existing(resource, valid, status, found, observation, timing, elapsed)
        }
    }
}

/// Holds the throughput found by name (taken back or adopted).
fn hold(status: &mut BedrockProvisionedThroughputStatus, found: &RemoteThroughput, region: &str) {
    status.region = Some(region.to_string());
    status.provisioned_model_arn = Some(found.arn.clone());
}

fn commitment(value: &str) -> Option<CommitmentDuration> {
    match value {
        "OneMonth" => Some(CommitmentDuration::OneMonth),
        "SixMonths" => Some(CommitmentDuration::SixMonths),
        _ => None,
    }
}

/// The throughput disappeared although nobody asked this operator to delete it. Without a
/// commitment it is bought again, with a Warning. With one, buying again starts a new term, so
/// that waits for a new value of the retry annotation.
fn plan_missing(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    region: &str,
    mut status: BedrockProvisionedThroughputStatus,
    observation: &Observation,
    arn: &str,
) -> Plan {
    let was_failed = is_failed(&status);
    let retry = outcome::unhandled_retry(
        resource.metadata.annotations.as_ref(),
        status.retry_handled.as_deref(),
    );
    if let Some(term) = valid.commitment
        && !was_failed
        && retry.is_none()
    {
        let message = format!(
            "provisioned throughput {arn} disappeared outside the operator; buying it again would start a new {term} commitment, so the operator waits: set the {RETRY_ANNOTATION} annotation to a new value to buy it again, or delete this resource"
        );
        clear_throughput(&mut status);
        return outcome::blocked(
            current_conditions(resource),
            status,
            reason::THROUGHPUT_MISSING,
            message,
            Next::AwaitChange,
        );
    }
    if retry.is_some() {
        status.retry_handled = retry;
    }
    status.recreations += 1;
    clear_throughput(&mut status);
    let events = if was_failed {
        Vec::new()
    } else {
        vec![Note::warning(
            reason::THROUGHPUT_MISSING,
            "Recreate",
            format!(
                "provisioned throughput {arn} disappeared outside the operator; buying it again"
            ),
        )]
    };
    plan_create(resource, valid, region, status, observation, events)
}

/// NameConflict: the throughput found by name is not this resource's to take.
fn name_conflict(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    mut status: BedrockProvisionedThroughputStatus,
    found: &RemoteThroughput,
    holder: Option<&Holder>,
    timing: &Timing,
) -> Plan {
    clear_throughput(&mut status);
    let region = status.region.clone().unwrap_or_default();
    let (name, arn) = (&found.name, &found.arn);
    let found = ownership::Found {
        noun: "provisioned throughput",
        field: "spec.provisionedModelName",
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

/// Turns the plan of an adopted throughput into a claim: the owner tags and spec.tags go on
/// first, in one call that is read back, before anything else is done to it.
fn claim_throughput(
    plan: &mut Plan,
    resource: &BedrockProvisionedThroughput,
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

/// Forgets the current throughput (`createdWith` stays: it is replaced at the next purchase).
fn clear_throughput(status: &mut BedrockProvisionedThroughputStatus) {
    status.provisioned_model_arn = None;
    status.throughput_status = None;
    status.model_arn = None;
    status.model_units = None;
    status.commitment_duration = None;
    status.commitment_expiration_time = None;
    status.failure_message = None;
}

/// No throughput yet: buy it once the model is resolved; until then wait, with no call.
fn plan_create(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    region: &str,
    mut status: BedrockProvisionedThroughputStatus,
    observation: &Observation,
    mut events: Vec<Note>,
) -> Plan {
    let Some(model_id) = observation.model.arn() else {
        let current = current_conditions(resource);
        return reference::waiting(current, status, &observation.model, "throughput", events);
    };
    let request = create_request(
        resource,
        valid,
        model_id,
        region,
        status.recreations,
        &observation.cluster,
    );
    status.region = Some(region.to_string());
    status.provisioned_model_name = Some(valid.name.clone());
    status.managed_tag_keys = resource.spec.tags.keys().cloned().collect();
    let term = match valid.commitment {
        Some(term) => format!(" with a {term} commitment"),
        None => " without commitment".to_string(),
    };
    let message = format!(
        "buying provisioned throughput {} of {} model units of {model_id}{term}",
        request.name, request.model_units
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

/// The status once Create has returned `arn`: what the polls of a Creating throughput will
/// say, so that they write nothing.
pub fn after_create(
    plan: &mut Plan,
    valid: &ValidThroughput,
    region: &str,
    model_id: &str,
    arn: String,
    timing: &Timing,
    generation: Option<i64>,
) {
    plan.status.provisioned_model_arn = Some(arn);
    plan.status.throughput_status = Some(ThroughputStatus::Creating);
    let message = creating_message(&valid.name);
    plan.conditions = vec![
        Desired::new(conditions::READY, false, reason::CREATING, message.clone()),
        Desired::new(conditions::SYNCED, true, reason::RECONCILED, message),
    ];
    plan.status.desired_model_arn = Some(model_id.to_string());
    // What the polls of the Creating throughput will report, so that they write nothing (a
    // foundation model ID comes back as its ARN; a commitment's end is Bedrock's to say).
    if model_id.starts_with("arn:") {
        plan.status.model_arn = Some(model_id.to_string());
    }
    plan.status.model_units = Some(valid.model_units);
    plan.status.commitment_duration = valid.commitment.map(|c| c.as_str().to_string());
    plan.status.created_with = Some(created_with(valid, region));
    // The create carried spec.tags.
    plan.status.tags_synced_generation = generation;
    plan.next = Next::Poll(outcome::poll_delay(timing, Duration::ZERO));
}

fn creating_message(name: &str) -> String {
    format!("Bedrock is creating provisioned throughput {name}")
}

/// The status once Update has been accepted.
pub fn after_update(plan: &mut Plan, timing: &Timing) {
    plan.status.throughput_status = Some(ThroughputStatus::Updating);
    plan.next = Next::Poll(outcome::poll_delay(timing, Duration::ZERO));
}

fn throughput_status(state: &ThroughputState) -> ThroughputStatus {
    match state {
        ThroughputState::Creating => ThroughputStatus::Creating,
        ThroughputState::InService => ThroughputStatus::InService,
        ThroughputState::Updating => ThroughputStatus::Updating,
        ThroughputState::Failed => ThroughputStatus::Failed,
        ThroughputState::Other(_) => ThroughputStatus::Unknown,
    }
}

/// Ready's message while the throughput serves (also during a swap).
fn in_service_message(name: &str, model_units: i32, serving: &str) -> String {
    format!(
        "provisioned throughput {name} is InService with {}, serving {serving}",
        units(model_units)
    )
}

/// Synced's message while a model swap runs: the same from the plan that starts it and from
/// the polls that follow it.
fn swapping_message(name: &str, model: &str, serving: &str) -> String {
    format!(
        "swapping model {model} into provisioned throughput {name}; it serves {serving} until then"
    )
}

/// "1 model unit", "2 model units".
fn units(count: i32) -> String {
    if count == 1 {
        "1 model unit".to_string()
    } else {
        format!("{count} model units")
    }
}

/// Units in service: those of a throughput that serves (InService, or Updating, which keeps
/// serving the old model); none while Creating or Failed.
pub fn units_in_service(status: &BedrockProvisionedThroughputStatus) -> i32 {
    match status.throughput_status {
        Some(ThroughputStatus::InService | ThroughputStatus::Updating) => {
            status.model_units.unwrap_or_default()
        }
        _ => 0,
    }
}

fn plan_existing(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    mut status: BedrockProvisionedThroughputStatus,
    found: &RemoteThroughput,
    observation: &Observation,
    timing: &Timing,
    elapsed: Duration,
) -> Plan {
    let previous = resource.status.clone().unwrap_or_default();
    status.provisioned_model_arn = Some(found.arn.clone());
    status.provisioned_model_name = Some(found.name.clone());
    status.throughput_status = Some(throughput_status(&found.state));
    status.model_arn = Some(found.model_arn.clone());
    status.model_units = Some(found.model_units);
    status.commitment_duration = found.commitment.clone();
    status.commitment_expiration_time = found.commitment_expiration_time.clone();
    status.failure_message = found
        .failure_message
        .clone()
        .filter(|_| found.state == ThroughputState::Failed);
    let mut plan = plan_state(resource, valid, status, found, observation, timing, elapsed);
    // Cost visible: every change of the units in service is an event.
    let before = units_in_service(&previous);
    let now = units_in_service(&plan.status);
    if before != now {
        plan.events.push(Note::normal(
            event::MODEL_UNITS,
            "Provision",
            format!(
                "{} in service for provisioned throughput {} (was {before})",
                units(now),
                found.name
            ),
        ));
    }
    plan
}

fn plan_state(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    mut status: BedrockProvisionedThroughputStatus,
    found: &RemoteThroughput,
    observation: &Observation,
    timing: &Timing,
    elapsed: Duration,
) -> Plan {
    let previous = resource.status.clone().unwrap_or_default();
    let name = &found.name;
    let serving = &found.model_arn;
    match &found.state {
        ThroughputState::Failed => {
            let retry = outcome::unhandled_retry(
                resource.metadata.annotations.as_ref(),
                previous.retry_handled.as_deref(),
            );
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
                clear_throughput(&mut status);
                let delete = Action::Delete {
                    arn: found.arn.clone(),
                };
                return outcome::replacing(status, delete, "provisioned throughput", name, &cause);
            }
            let failure = found
                .failure_message
                .as_deref()
                .unwrap_or("no reason given")
                .trim_end_matches('.');
            let message = format!(
                "Bedrock could not provision throughput {name}: {failure}. Set the {RETRY_ANNOTATION} annotation to a new value to try again, or delete the resource"
            );
            let announce = previous.throughput_status != Some(ThroughputStatus::Failed);
            outcome::failed(status, message, event::THROUGHPUT_FAILED, announce)
        }
        ThroughputState::Creating | ThroughputState::Other(_) => {
            let message = creating_message(name);
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
        ThroughputState::Updating => {
            // The words of the plan that started the swap, so that its polls write nothing.
            let message = swapping_message(name, &found.desired_model_arn, serving);
            let events = if previous.throughput_status != Some(ThroughputStatus::Updating) {
                vec![Note::normal(reason::UPDATING, "Update", message.clone())]
            } else {
                Vec::new()
            };
            Plan {
                actions: Vec::new(),
                status,
                conditions: vec![
                    Desired::new(
                        conditions::READY,
                        true,
                        reason::IN_SERVICE,
                        in_service_message(name, found.model_units, serving),
                    ),
                    Desired::new(conditions::SYNCED, true, reason::UPDATING, message),
                ],
                events,
                next: Next::Poll(outcome::poll_delay(timing, elapsed)),
            }
        }
        ThroughputState::InService => {
            plan_in_service(resource, valid, status, found, observation, &previous)
        }
    }
}

fn plan_in_service(
    resource: &BedrockProvisionedThroughput,
    valid: &ValidThroughput,
    mut status: BedrockProvisionedThroughputStatus,
    found: &RemoteThroughput,
    observation: &Observation,
    previous: &BedrockProvisionedThroughputStatus,
) -> Plan {
    let name = &found.name;
    let serving = &found.model_arn;
    let serving_message = in_service_message(name, found.model_units, serving);
    let ready = Desired::new(
        conditions::READY,
        true,
        reason::IN_SERVICE,
        serving_message.clone(),
    );
    let Some(desired_model) = observation.model.arn() else {
        // The model the spec names now cannot be resolved: keep serving, say why.
        let (why, message) = unresolved(&observation.model);
        let message = format!("{message}; the throughput keeps serving {serving}");
        let synced = Desired::new(conditions::SYNCED, false, why, message.clone());
        let events =
            if outcome::changed(current_conditions(resource), std::slice::from_ref(&synced)) {
                vec![Note::normal(why, "Reconcile", message)]
            } else {
                Vec::new()
            };
        return Plan {
            actions: Vec::new(),
            status,
            conditions: vec![ready, synced],
            events,
            next: Next::Resync,
        };
    };
    let rename = (valid.name != found.name).then(|| valid.name.clone());
    let swap = (!same_model(desired_model, serving)).then(|| desired_model.to_string());
    if rename.is_some() || swap.is_some() {
        let message = match (&rename, &swap) {
            (Some(new), Some(model)) => format!(
                "renaming provisioned throughput {name} to {new}; {}",
                swapping_message(new, model, serving)
            ),
            (Some(new), None) => format!("renaming provisioned throughput {name} to {new}"),
            (None, _) => swapping_message(name, desired_model, serving),
        };
        let mut events = vec![Note::normal(reason::UPDATING, "Update", message.clone())];
        if let Some(new) = &rename {
            events.push(Note::normal(
                event::RENAMED,
                "Update",
                format!("provisioned throughput {name} is renamed {new}"),
            ));
        }
        return Plan {
            actions: vec![Action::Update {
                arn: found.arn.clone(),
                change: UpdateThroughputRequest {
                    name: rename,
                    model_id: swap,
                },
            }],
            status,
            conditions: vec![
                ready,
                Desired::new(conditions::SYNCED, true, reason::UPDATING, message),
            ],
            events,
            next: Next::Soon,
        };
    }
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
    let events = if previous.throughput_status == Some(ThroughputStatus::Updating) {
        vec![Note::normal(
            event::UPDATED,
            "Update",
            format!("provisioned throughput {name} now serves {serving}"),
        )]
    } else if previous.throughput_status != Some(ThroughputStatus::InService) {
        vec![Note::normal(
            reason::IN_SERVICE,
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

/// Some slack past the end of a commitment term before asking Bedrock to delete, for clocks
/// that disagree by a little.
pub const TERM_SLACK: Duration = Duration::from_secs(5);

/// Decides what deleting the resource takes, at `now`.
pub fn cleanup(
    resource: &BedrockProvisionedThroughput,
    adoption: &NamespaceScope,
    now: Timestamp,
) -> Cleanup {
    if resource.spec.deletion_policy == DeletionPolicy::Retain {
        return Cleanup::Retain;
    }
    let status = resource.status.clone().unwrap_or_default();
    if let Some(arn) = status.provisioned_model_arn {
        if let Some(until) = status.commitment_expiration_time
            && let Ok(end) = until.parse::<Timestamp>()
            && let Ok(left) = Duration::try_from(end.duration_since(now))
            && !left.is_zero()
        {
            return Cleanup::Until {
                until,
                wait: left + TERM_SLACK,
            };
        }
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
    match validation::validate_throughput(resource) {
        Err(_) => Cleanup::Nothing,
        Ok(valid)
            if valid.adoption_policy == AdoptionPolicy::Adopt
                && !adoption.allows(resource.metadata.namespace.as_deref().unwrap_or_default()) =>
        {
            Cleanup::Nothing
        }
        Ok(valid) => Cleanup::LookUp { name: valid.name },
    }
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

/// The DeletionBlocked message of a throughput whose deletion Bedrock refused.
pub fn deletion_refused_message(arn: &str, error: &BedrockError) -> String {
    format!(
        "Bedrock refused to delete provisioned throughput {arn}: {}. The operator keeps the finalizer and retries with backoff (a commitment term that has not ended is the usual cause), or set spec.deletionPolicy: Retain to keep the throughput (it keeps billing) and let the resource go",
        error.describe()
    )
}

impl reference::Serves for BedrockProvisionedThroughput {
    fn model_ref(&self) -> Option<&str> {
        self.spec.model_ref.as_ref().map(|r| r.name.as_str())
    }
    fn model_arns(&self) -> [Option<&str>; 3] {
        let status = self.status.as_ref();
        [
            self.spec.model_id.as_deref(),
            status.and_then(|s| s.model_arn.as_deref()),
            status.and_then(|s| s.desired_model_arn.as_deref()),
        ]
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
