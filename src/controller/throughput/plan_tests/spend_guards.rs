//! The spend guards.

use super::*;

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
