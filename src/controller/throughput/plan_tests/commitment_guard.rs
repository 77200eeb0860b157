//! The commitment guard.

use super::*;

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
