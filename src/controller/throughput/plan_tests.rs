//! The provisioned throughput's decisions, one behaviour per named test: plain values in, plan
//! out.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::api::ModelRef;
use crate::api::conditions::{event, reason};
use crate::api::throughput::{BedrockProvisionedThroughputSpec, CONFIRM_COMMITMENT_ANNOTATION};
use crate::controller::fixtures::{
    CLUSTER, GENERATION, MODEL, NAMESPACE, REGION, V3, V4, condition, message_of, meta, observe,
    plan, reason_of, resolved, serving_conditions,
};
use crate::controller::outcome::Next;
use crate::controller::scope::NamespaceScope;

const NAME: &str = "pt";
const UID: &str = "5e1c0a55-4b2e-4c1f-8f5e-2a9b3c4d5e6f";
const THROUGHPUT_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/cccccccccccc";

fn throughput(spec: BedrockProvisionedThroughputSpec) -> BedrockProvisionedThroughput {
    BedrockProvisionedThroughput {
        metadata: meta(NAME, UID),
        spec,
        status: None,
    }
}

fn by_ref(model: &str) -> BedrockProvisionedThroughput {
    throughput(BedrockProvisionedThroughputSpec {
        model_ref: Some(ModelRef { name: model.into() }),
        model_units: 1,
        ..Default::default()
    })
}

fn committed(term: CommitmentDuration, confirmed: Option<&str>) -> BedrockProvisionedThroughput {
    let mut resource = by_ref(MODEL);
    resource.spec.commitment_duration = Some(term);
    if let Some(value) = confirmed {
        resource.metadata.annotations = Some(BTreeMap::from([(
            CONFIRM_COMMITMENT_ANNOTATION.to_string(),
            value.to_string(),
        )]));
    }
    resource
}

fn valid(resource: &BedrockProvisionedThroughput) -> ValidThroughput {
    validation::validate_throughput(resource).expect("a valid spec")
}

/// The resource once it holds an InService throughput serving `serving`.
fn in_service(
    mut resource: BedrockProvisionedThroughput,
    serving: &str,
) -> BedrockProvisionedThroughput {
    resource.status = Some(BedrockProvisionedThroughputStatus {
        observed_generation: Some(GENERATION),
        provisioned_model_arn: Some(THROUGHPUT_ARN.into()),
        provisioned_model_name: Some(NAME.into()),
        region: Some(REGION.into()),
        throughput_status: Some(ThroughputStatus::InService),
        model_arn: Some(serving.into()),
        desired_model_arn: Some(serving.into()),
        model_units: Some(resource.spec.model_units),
        commitment_duration: resource.spec.commitment_duration.map(|c| c.to_string()),
        created_with: Some(ThroughputCreatedWith {
            model_units: resource.spec.model_units,
            commitment_duration: resource.spec.commitment_duration,
            region: REGION.into(),
            adopted: false,
        }),
        tags_synced_generation: Some(GENERATION),
        conditions: serving_conditions(reason::IN_SERVICE),
        ..Default::default()
    });
    resource
}

fn remote(state: ThroughputState, serving: &str) -> RemoteThroughput {
    RemoteThroughput {
        arn: THROUGHPUT_ARN.into(),
        name: NAME.into(),
        model_arn: serving.into(),
        desired_model_arn: serving.into(),
        model_units: 1,
        state,
        failure_message: None,
        commitment: None,
        commitment_expiration_time: None,
        creation_time: None,
        last_modified_time: None,
    }
}

/// Guards that let this test's namespace buy commitment terms.
fn commitments_here() -> Guards {
    Guards {
        commitment_namespaces: NamespaceScope::Namespaces([NAMESPACE.to_string()].into()),
        ..Guards::default()
    }
}

fn at(time: &str) -> Timestamp {
    time.parse().expect("a timestamp")
}

// --- the commitment guard ---------------------------------------------------------------------

#[test]
fn a_commitment_without_the_annotation_is_invalid_naming_it() {
    let resource = committed(CommitmentDuration::OneMonth, None);
    let p = guard_refused(&resource, &commitments_here()).expect("refused");
    assert!(p.actions.is_empty(), "nothing bought");
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::INVALID_SPEC.into())
    );
    let message = message_of(&p, conditions::READY);
    assert!(
        message.contains(CONFIRM_COMMITMENT_ANNOTATION) && message.contains("OneMonth"),
        "{message}"
    );
}

#[test]
fn an_annotation_naming_another_term_does_not_confirm() {
    let resource = committed(CommitmentDuration::SixMonths, Some("OneMonth"));
    let p = guard_refused(&resource, &commitments_here()).expect("refused");
    assert!(message_of(&p, conditions::SYNCED).contains("SixMonths"));
}

#[test]
fn the_matching_annotation_confirms_the_purchase() {
    let resource = committed(CommitmentDuration::SixMonths, Some("SixMonths"));
    assert_eq!(guard_refused(&resource, &commitments_here()), None);
    let p = plan(&resource, &observe(resolved(V3), None));
    let Some(Action::Create(request)) = p.actions.first() else {
        panic!("a create: {:?}", p.actions);
    };
    assert_eq!(request.commitment.as_deref(), Some("SixMonths"));
}

#[test]
fn a_namespace_not_allowed_commitments_refuses_even_a_confirmed_one() {
    let resource = committed(CommitmentDuration::OneMonth, Some("OneMonth"));
    let p = guard_refused(&resource, &Guards::default()).expect("refused");
    let message = message_of(&p, conditions::SYNCED);
    assert!(
        message.contains("spec.commitmentDuration") && message.contains("--commitment-namespaces"),
        "{message}"
    );
    assert_eq!(
        guard_refused(&by_ref(MODEL), &Guards::default()),
        None,
        "no commitment, nothing to forbid"
    );
}

#[test]
fn buying_again_meets_the_guard_although_the_status_holds_an_arn() {
    // A committed throughput that disappeared, with a new retry value, but the confirmation
    // removed meanwhile (or commitments forbidden since): the purchase is refused.
    let resource = in_service(committed(CommitmentDuration::OneMonth, None), V3);
    assert_eq!(
        guard_refused(&resource, &commitments_here()),
        None,
        "looking is not buying"
    );
    let refused = purchase_refused(&resource, &commitments_here()).expect("buying is refused");
    assert_eq!(
        reason_of(&refused, conditions::READY),
        (false, reason::INVALID_SPEC.into())
    );
    let confirmed = in_service(
        committed(CommitmentDuration::OneMonth, Some("OneMonth")),
        V3,
    );
    assert_eq!(purchase_refused(&confirmed, &commitments_here()), None);
    assert!(purchase_refused(&confirmed, &Guards::default()).is_some());
}

#[test]
fn the_guard_does_not_apply_to_a_throughput_already_bought() {
    let resource = in_service(committed(CommitmentDuration::OneMonth, None), V3);
    assert_eq!(guard_refused(&resource, &Guards::default()), None);
}

// --- the spend guards -------------------------------------------------------------------------

/// The whole plan of a refusal: no call, the status brought to this generation, InvalidSpec
/// with `message` on both conditions, a Warning with it (the conditions change), and `next`.
fn refused_plan(resource: &BedrockProvisionedThroughput, message: &str, next: Next) -> Plan {
    let mut status = resource.status.clone().unwrap_or_default();
    status.observed_generation = Some(GENERATION);
    status.conditions.clear();
    Plan {
        actions: Vec::new(),
        status,
        conditions: vec![
            Desired::new(conditions::READY, false, reason::INVALID_SPEC, message),
            Desired::new(conditions::SYNCED, false, reason::INVALID_SPEC, message),
        ],
        events: vec![Note::warning(
            reason::INVALID_SPEC,
            "Reconcile",
            message.into(),
        )],
        next,
    }
}

fn units(n: i32) -> BedrockProvisionedThroughput {
    let mut resource = by_ref(MODEL);
    resource.spec.model_units = n;
    resource
}

fn capped(per_throughput: Option<i32>, per_namespace: Option<i32>) -> Guards {
    Guards {
        max_model_units_per_throughput: per_throughput,
        max_model_units_per_namespace: per_namespace,
        ..Guards::default()
    }
}

#[test]
fn more_units_than_a_throughput_may_buy_is_invalid_with_no_call() {
    let resource = units(5);
    let guards = capped(Some(4), None);
    let message = format!(
        "the spec is invalid, so nothing was sent to AWS: spec.modelUnits: is 5, more than the 4 model units a provisioned throughput of namespace {NAMESPACE} may buy, the limit set by the operator's --max-model-units-per-throughput (Helm guards.maxModelUnitsPerThroughput): set spec.modelUnits to 4 or fewer, or ask the cluster admin to raise that limit"
    );
    assert_eq!(
        guard_refused(&resource, &guards),
        Some(refused_plan(&resource, &message, Next::AwaitChange))
    );
    assert_eq!(guard_refused(&units(4), &guards), None, "at the cap");
}

#[test]
fn the_cap_per_throughput_leaves_one_already_bought_alone_but_not_its_purchase_again() {
    // The limit lowered after the purchase: looking is not buying; buying again is.
    let resource = in_service(units(5), V3);
    let guards = capped(Some(4), None);
    assert_eq!(guard_refused(&resource, &guards), None);
    let refused = purchase_refused(&resource, &guards).expect("buying again is refused");
    assert!(refused.actions.is_empty());
    assert_eq!(
        reason_of(&refused, conditions::READY),
        (false, reason::INVALID_SPEC.into())
    );
}

#[test]
fn a_refusal_names_every_guard_that_refuses() {
    let mut resource = committed(CommitmentDuration::OneMonth, Some("OneMonth"));
    resource.spec.model_units = 3;
    let p = guard_refused(&resource, &capped(Some(2), None)).expect("refused");
    let message = message_of(&p, conditions::READY);
    assert!(
        message.contains("spec.modelUnits: is 3")
            && message.contains("spec.commitmentDuration: is OneMonth"),
        "{message}"
    );
}

#[test]
fn a_namespace_over_its_budget_is_invalid_and_looked_at_again() {
    let resource = units(3);
    let guards = capped(None, Some(4));
    let others = [Holding {
        name: "other".into(),
        units: 2,
    }];
    let timing = Timing::default();
    let message = format!(
        "the spec is invalid, so nothing was sent to AWS: spec.modelUnits: is 3, but the other provisioned throughputs of namespace {NAMESPACE} already hold 2 model units (other 2) and the operator's --max-model-units-per-namespace (Helm guards.maxModelUnitsPerNamespace) allows 4 in all, so buying this one would make 5: set spec.modelUnits to 2 or fewer, delete another throughput of the namespace, or ask the cluster admin to raise that limit. Nothing is bought until it fits; the operator checks again periodically"
    );
    assert_eq!(
        budget_refused(&resource, &guards, &others, &timing),
        Some(refused_plan(
            &resource,
            &message,
            Next::After(timing.slow_retry)
        ))
    );
    assert_eq!(
        budget_refused(&units(2), &guards, &others, &timing),
        None,
        "exactly the budget"
    );
    assert_eq!(
        budget_refused(&resource, &capped(Some(1), None), &others, &timing),
        None,
        "no budget per namespace"
    );
}

#[test]
fn a_budget_refusal_warns_once() {
    let resource = units(3);
    let guards = capped(None, Some(2));
    let first = budget_refused(&resource, &guards, &[], &Timing::default()).expect("refused");
    let mut again = resource.clone();
    let mut status = first.status.clone();
    status.conditions = first
        .conditions
        .iter()
        .map(|d| Condition {
            message: d.message.clone(),
            ..condition(d.type_, d.status, &d.reason)
        })
        .collect();
    again.status = Some(status);
    let second = budget_refused(&again, &guards, &[], &Timing::default()).expect("refused");
    assert_eq!(
        second.events,
        Vec::new(),
        "no second Warning for the same refusal"
    );
}

// --- buying -----------------------------------------------------------------------------------

#[test]
fn while_the_model_is_not_ready_nothing_is_bought_and_the_wait_is_normal() {
    let resource = by_ref(MODEL);
    let waiting = Resolution::NotReady {
        name: MODEL.into(),
        why: "it is Creating: importing".into(),
    };
    let p = plan(&resource, &observe(waiting, None));
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::MODEL_NOT_READY.into())
    );
    assert!(p.events.iter().all(|e| !e.warning));
    assert!(
        message_of(&p, conditions::READY).contains("throughput waits")
            || message_of(&p, conditions::READY).contains("no call to AWS")
    );
}

#[test]
fn once_resolved_it_is_bought_with_a_deterministic_token() {
    let resource = by_ref(MODEL);
    let p = plan(&resource, &observe(resolved(V3), None));
    let Some(Action::Create(request)) = p.actions.first() else {
        panic!("a create: {:?}", p.actions);
    };
    assert_eq!(request.model_id, V3);
    assert_eq!(request.model_units, 1);
    assert_eq!(request.commitment, None);
    assert!(request.client_request_token.starts_with("bpt-"));
    let again = plan(&resource, &observe(resolved(V3), None));
    assert_eq!(again.actions, p.actions, "the same token after a crash");
    assert_eq!(
        request.tags.get(tags::OWNER_UID).map(String::as_str),
        Some(UID)
    );
}

#[test]
fn after_create_the_polls_of_a_creating_throughput_write_nothing_new() {
    let resource = by_ref(MODEL);
    let mut p = plan(&resource, &observe(resolved(V3), None));
    after_create(
        &mut p,
        &valid(&resource),
        REGION,
        V3,
        THROUGHPUT_ARN.into(),
        &Timing::default(),
        Some(GENERATION),
    );
    let mut created = resource.clone();
    created.status = Some(p.status.clone());
    let poll = plan(
        &created,
        &observe(resolved(V3), Some(remote(ThroughputState::Creating, V3))),
    );
    assert_eq!(
        poll.conditions, p.conditions,
        "the same conditions: no write"
    );
    assert_eq!(poll.status, p.status, "the same status: no write");
    assert!(poll.actions.is_empty());
}

#[test]
fn a_throughput_found_by_name_with_this_resources_tag_is_taken_back() {
    let resource = by_ref(MODEL);
    let mut observation = observe(resolved(V3), Some(remote(ThroughputState::Creating, V3)));
    observation.tags = Some(tags::operator_tags(NAMESPACE, NAME, UID, CLUSTER));
    let p = plan(&resource, &observation);
    assert!(p.actions.is_empty(), "no second purchase");
    assert_eq!(
        p.status.provisioned_model_arn.as_deref(),
        Some(THROUGHPUT_ARN)
    );
}

#[test]
fn a_throughput_found_by_name_without_an_owner_tag_is_a_name_conflict() {
    let resource = by_ref(MODEL);
    let mut observation = observe(resolved(V3), Some(remote(ThroughputState::InService, V3)));
    observation.tags = Some(BTreeMap::new());
    let p = plan(&resource, &observation);
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::NAME_CONFLICT.into())
    );
    assert!(message_of(&p, conditions::SYNCED).contains("adoptionPolicy: Adopt"));
}

#[test]
fn adopt_claims_an_untagged_throughput_and_records_what_it_was_bought_with() {
    let mut resource = by_ref(MODEL);
    resource.spec.adoption_policy = AdoptionPolicy::Adopt;
    let mut found = remote(ThroughputState::InService, V3);
    found.commitment = Some("OneMonth".into());
    let mut observation = observe(resolved(V3), Some(found));
    observation.tags = Some(BTreeMap::new());
    let p = plan(&resource, &observation);
    assert!(matches!(p.actions[..], [Action::Claim { .. }]));
    let created = p.status.created_with.clone().expect("createdWith");
    assert!(created.adopted);
    assert_eq!(
        created.commitment_duration,
        Some(CommitmentDuration::OneMonth)
    );
    assert_eq!(p.events[0].reason, event::ADOPTED);
}

// --- in service -------------------------------------------------------------------------------

#[test]
fn an_in_service_throughput_serving_the_spec_is_ready_and_quiet() {
    let resource = in_service(by_ref(MODEL), V3);
    let p = plan(
        &resource,
        &observe(resolved(V3), Some(remote(ThroughputState::InService, V3))),
    );
    assert!(p.actions.is_empty());
    assert!(p.events.is_empty(), "{:?}", p.events);
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::IN_SERVICE.into())
    );
    assert_eq!(p.next, Next::Resync);
    assert!(settled(&resource));
}

#[test]
fn the_first_time_in_service_announces_the_units() {
    let mut resource = in_service(by_ref(MODEL), V3);
    if let Some(status) = resource.status.as_mut() {
        status.throughput_status = Some(ThroughputStatus::Creating);
    }
    let p = plan(
        &resource,
        &observe(resolved(V3), Some(remote(ThroughputState::InService, V3))),
    );
    let units = p
        .events
        .iter()
        .find(|e| e.reason == event::MODEL_UNITS)
        .expect("a units event");
    assert!(
        units.message.contains("1 model unit in service"),
        "{}",
        units.message
    );
    assert!(units.message.contains("(was 0)"), "{}", units.message);
}

#[test]
fn a_new_model_is_swapped_in_place_with_ready_kept() {
    let resource = in_service(by_ref("nova-v4"), V3);
    let p = plan(
        &resource,
        &observe(resolved(V4), Some(remote(ThroughputState::InService, V3))),
    );
    assert_eq!(
        p.actions,
        vec![Action::Update {
            arn: THROUGHPUT_ARN.into(),
            change: UpdateThroughputRequest {
                name: None,
                model_id: Some(V4.into()),
            },
        }]
    );
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::IN_SERVICE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (true, reason::UPDATING.into())
    );
}

#[test]
fn a_new_name_renames_in_place() {
    let mut resource = in_service(by_ref(MODEL), V3);
    resource.spec.provisioned_model_name = Some("pt-renamed".into());
    let p = plan(
        &resource,
        &observe(resolved(V3), Some(remote(ThroughputState::InService, V3))),
    );
    assert_eq!(
        p.actions,
        vec![Action::Update {
            arn: THROUGHPUT_ARN.into(),
            change: UpdateThroughputRequest {
                name: Some("pt-renamed".into()),
                model_id: None,
            },
        }]
    );
    assert!(p.events.iter().any(|e| e.reason == event::RENAMED));
}

#[test]
fn while_updating_ready_stays_on_the_old_model_and_nothing_is_called() {
    let resource = in_service(by_ref("nova-v4"), V3);
    let mut found = remote(ThroughputState::Updating, V3);
    found.desired_model_arn = V4.into();
    let p = plan(&resource, &observe(resolved(V4), Some(found)));
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::IN_SERVICE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (true, reason::UPDATING.into())
    );
    assert!(matches!(p.next, Next::Poll(_)));
    assert_eq!(units_in_service(&p.status), 1, "an update keeps serving");
}

#[test]
fn a_foundation_model_id_matches_its_arn_so_nothing_is_swapped() {
    let foundation = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";
    assert!(same_model("amazon.nova-lite-v1:0", foundation));
    assert!(same_model(foundation, foundation));
    assert!(!same_model("amazon.nova-pro-v1:0", foundation));
    assert!(!same_model(V4, V3));
}

#[test]
fn a_unit_change_on_a_live_throughput_is_refused_with_what_to_do() {
    let mut resource = in_service(by_ref(MODEL), V3);
    resource.spec.model_units = 2;
    let p = precheck(&resource, &valid(&resource), REGION).expect("refused");
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::IMMUTABLE_FIELD_CHANGED.into())
    );
    let message = message_of(&p, conditions::SYNCED);
    assert!(
        message.contains("spec.modelUnits") && message.contains("create another"),
        "{message}"
    );
}

#[test]
fn a_model_that_cannot_be_resolved_any_more_keeps_the_throughput_serving() {
    let resource = in_service(by_ref(MODEL), V3);
    let p = plan(
        &resource,
        &observe(
            Resolution::Deleting { name: MODEL.into() },
            Some(remote(ThroughputState::InService, V3)),
        ),
    );
    assert!(p.actions.is_empty());
    assert_eq!(
        reason_of(&p, conditions::READY),
        (true, reason::IN_SERVICE.into())
    );
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::MODEL_DELETING.into())
    );
}

#[test]
fn spec_tags_are_synced_on_an_in_service_throughput() {
    let mut resource = in_service(by_ref(MODEL), V3);
    resource.spec.tags = BTreeMap::from([("team".into(), "ml".into())]);
    let mut observation = observe(resolved(V3), Some(remote(ThroughputState::InService, V3)));
    observation.tags = Some(tags::operator_tags(NAMESPACE, NAME, UID, CLUSTER));
    let p = plan(&resource, &observation);
    assert_eq!(
        p.actions,
        vec![Action::Tag {
            arn: THROUGHPUT_ARN.into(),
            tags: BTreeMap::from([("team".into(), "ml".into())]),
        }]
    );
}

// --- failures and disappearance ---------------------------------------------------------------

#[test]
fn a_failed_throughput_shows_bedrocks_message_once() {
    let resource = in_service(by_ref(MODEL), V3);
    let mut found = remote(ThroughputState::Failed, V3);
    found.failure_message = Some("insufficient capacity.".into());
    let p = plan(&resource, &observe(resolved(V3), Some(found.clone())));
    assert_eq!(
        reason_of(&p, conditions::READY),
        (false, reason::FAILED.into())
    );
    assert!(message_of(&p, conditions::READY).contains("insufficient capacity"));
    assert_eq!(
        p.events.len(),
        2,
        "failed, and the units leaving service: {:?}",
        p.events
    );
    let mut failed = resource.clone();
    failed.status = Some(p.status.clone());
    let again = plan(&failed, &observe(resolved(V3), Some(found)));
    assert!(again.events.is_empty(), "{:?}", again.events);
}

#[test]
fn the_retry_annotation_replaces_a_failed_throughput() {
    let mut resource = in_service(by_ref(MODEL), V3);
    if let Some(status) = resource.status.as_mut() {
        status.throughput_status = Some(ThroughputStatus::Failed);
    }
    resource.metadata.annotations = Some(BTreeMap::from([(
        RETRY_ANNOTATION.to_string(),
        "1".to_string(),
    )]));
    let p = plan(
        &resource,
        &observe(resolved(V3), Some(remote(ThroughputState::Failed, V3))),
    );
    assert_eq!(
        p.actions,
        vec![Action::Delete {
            arn: THROUGHPUT_ARN.into()
        }]
    );
    assert_eq!(p.status.recreations, 1);
    assert_eq!(p.status.provisioned_model_arn, None);
}

#[test]
fn a_throughput_without_commitment_deleted_outside_is_bought_again_with_a_warning() {
    let resource = in_service(by_ref(MODEL), V3);
    let p = plan(&resource, &observe(resolved(V3), None));
    assert!(matches!(p.actions[..], [Action::Create(_)]));
    assert_eq!(p.status.recreations, 1);
    assert!(
        p.events
            .iter()
            .any(|e| e.warning && e.reason == reason::THROUGHPUT_MISSING)
    );
}

#[test]
fn a_committed_throughput_deleted_outside_is_not_bought_again_without_a_new_retry() {
    let resource = in_service(
        committed(CommitmentDuration::OneMonth, Some("OneMonth")),
        V3,
    );
    let p = plan(&resource, &observe(resolved(V3), None));
    assert!(p.actions.is_empty(), "no new term bought by itself");
    assert_eq!(
        reason_of(&p, conditions::SYNCED),
        (false, reason::THROUGHPUT_MISSING.into())
    );
    assert!(message_of(&p, conditions::SYNCED).contains(RETRY_ANNOTATION));

    let mut retried = resource.clone();
    retried
        .metadata
        .annotations
        .get_or_insert_default()
        .insert(RETRY_ANNOTATION.to_string(), "1".to_string());
    let again = plan(&retried, &observe(resolved(V3), None));
    assert!(matches!(again.actions[..], [Action::Create(_)]));
    assert_eq!(again.status.retry_handled.as_deref(), Some("1"));
}

// --- deletion ---------------------------------------------------------------------------------

#[test]
fn deleting_before_the_commitment_ends_waits_for_the_term_with_no_call() {
    let mut resource = in_service(
        committed(CommitmentDuration::OneMonth, Some("OneMonth")),
        V3,
    );
    if let Some(status) = resource.status.as_mut() {
        status.commitment_expiration_time = Some("2026-12-30T10:00:00Z".into());
    }
    let cleanup_at = |now| cleanup(&resource, &NamespaceScope::All, at(now));
    assert_eq!(
        cleanup_at("2026-12-30T09:00:00Z"),
        Cleanup::Until {
            until: "2026-12-30T10:00:00Z".into(),
            wait: Duration::from_secs(3600) + TERM_SLACK,
        }
    );
    assert_eq!(
        cleanup_at("2026-12-30T10:00:01Z"),
        Cleanup::Delete {
            arn: THROUGHPUT_ARN.into()
        }
    );
    let message = committed_message(&resource, "2026-12-30T10:00:00Z");
    assert!(
        message.contains("2026-12-30T10:00:00Z") && message.contains("deletionPolicy: Retain"),
        "{message}"
    );
}

#[test]
fn retain_releases_at_once_and_says_it_still_bills() {
    let mut resource = in_service(
        committed(CommitmentDuration::OneMonth, Some("OneMonth")),
        V3,
    );
    resource.spec.deletion_policy = DeletionPolicy::Retain;
    if let Some(status) = resource.status.as_mut() {
        status.commitment_expiration_time = Some("2026-12-30T10:00:00Z".into());
    }
    assert_eq!(
        cleanup(&resource, &NamespaceScope::All, at("2026-12-01T00:00:00Z")),
        Cleanup::Retain
    );
    let message = retained_message(&resource);
    assert!(
        message.contains("keeps billing") && message.contains("(1 model unit)"),
        "{message}"
    );
}

#[test]
fn deleting_a_throughput_without_commitment_deletes_it_by_arn() {
    let resource = in_service(by_ref(MODEL), V3);
    assert_eq!(
        cleanup(&resource, &NamespaceScope::All, Timestamp::now()),
        Cleanup::Delete {
            arn: THROUGHPUT_ARN.into()
        }
    );
}

#[test]
fn deleting_before_anything_was_bought_looks_it_up_by_name_or_calls_nothing() {
    assert_eq!(
        cleanup(&by_ref(MODEL), &NamespaceScope::All, Timestamp::now()),
        Cleanup::LookUp { name: NAME.into() }
    );
    let mut broken = by_ref(MODEL);
    broken.spec.model_units = 0;
    assert_eq!(
        cleanup(&broken, &NamespaceScope::All, Timestamp::now()),
        Cleanup::Nothing
    );
}

#[test]
fn a_model_is_used_by_throughputs_that_reference_or_serve_it() {
    let mut model = BedrockCustomModel::new(MODEL, Default::default());
    model.metadata.namespace = Some(NAMESPACE.into());
    model.status = Some(crate::api::BedrockCustomModelStatus {
        model_arn: Some(V3.into()),
        ..Default::default()
    });
    let referencing = by_ref(MODEL);
    let mut serving = in_service(by_ref("other"), V3);
    serving.metadata.name = Some("serving".into());
    let mut elsewhere = by_ref(MODEL);
    elsewhere.metadata.namespace = Some("elsewhere".into());
    let mut serving_elsewhere = in_service(by_ref("other"), V3);
    serving_elsewhere.metadata.namespace = Some("team-b".into());
    let got = reference::users(
        &model,
        &[referencing, serving, elsewhere, serving_elsewhere],
    );
    let names: Vec<String> = got
        .iter()
        .map(|user| reference::user_name(user, NAMESPACE))
        .collect();
    assert_eq!(
        names,
        vec![
            NAME.to_string(),
            "serving".to_string(),
            format!("team-b/{NAME}")
        ],
        "by modelRef in its own namespace only; by ARN from any namespace"
    );
}

#[test]
fn the_units_in_service_count_only_while_serving() {
    let mut status = BedrockProvisionedThroughputStatus {
        model_units: Some(3),
        ..Default::default()
    };
    for (state, units) in [
        (ThroughputStatus::Creating, 0),
        (ThroughputStatus::InService, 3),
        (ThroughputStatus::Updating, 3),
        (ThroughputStatus::Failed, 0),
    ] {
        status.throughput_status = Some(state);
        assert_eq!(units_in_service(&status), units, "{state:?}");
    }
}

#[test]
fn a_refused_unit_quota_says_aws_must_grant_model_units_first() {
    let error = BedrockError {
        operation: "CreateProvisionedModelThroughput",
        class: crate::bedrock::ErrorClass::from_code("ServiceQuotaExceededException", Some(400)),
        code: Some("ServiceQuotaExceededException".into()),
        message: Some("model units exceed the quota".into()),
        source: None,
    };
    let desired = outcome::failure_conditions(&error, &subject(NAME), 1, &Timing::default())
        .expect("shown at once");
    let synced = desired
        .iter()
        .find(|d| d.type_ == conditions::SYNCED)
        .expect("Synced");
    assert_eq!(synced.reason, reason::QUOTA_EXCEEDED);
    assert!(
        synced.message.contains("granted to the account by AWS"),
        "{}",
        synced.message
    );
}

#[test]
fn the_polls_of_a_swap_write_nothing_after_the_plan_that_started_it() {
    let resource = in_service(by_ref("nova-v4"), V3);
    let observation = observe(resolved(V4), Some(remote(ThroughputState::InService, V3)));
    let mut started = plan(&resource, &observation);
    after_update(&mut started, &Timing::default());
    let mut updating = resource.clone();
    updating.status = Some(started.status.clone());
    let mut found = remote(ThroughputState::Updating, V3);
    found.desired_model_arn = V4.into();
    let poll = plan(&updating, &observe(resolved(V4), Some(found)));
    assert_eq!(
        poll.conditions, started.conditions,
        "the same conditions: no write"
    );
    assert_eq!(poll.status, started.status, "the same status: no write");
    assert!(poll.events.is_empty(), "{:?}", poll.events);
}
