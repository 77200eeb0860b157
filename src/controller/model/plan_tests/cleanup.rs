//! Tests of `cleanup`: what deleting the resource takes.

use super::*;

#[test]
fn cleanup_retains_a_model_under_retain() {
    assert_eq!(
        cleanup_of(resource(retain(), Some(status_in("Active")))),
        Cleanup::Retain
    );
}

#[test]
fn cleanup_retains_without_a_model_under_retain() {
    assert_eq!(cleanup_of(resource(retain(), None)), Cleanup::Retain);
}

#[test]
fn cleanup_retains_with_an_invalid_spec_under_retain() {
    let spec = spec_with(|s| {
        s.deletion_policy = DeletionPolicy::Retain;
        s.role_arn = None;
    });
    assert_eq!(cleanup_of(resource(spec, None)), Cleanup::Retain);
}

#[test]
fn cleanup_deletes_a_known_model() {
    assert_eq!(
        cleanup_of(resource(spec(), Some(status_in("Active")))),
        Cleanup::Delete { arn: ARN.into() }
    );
}

#[test]
fn cleanup_deletes_a_known_failed_model() {
    assert_eq!(
        cleanup_of(resource(spec(), Some(status_in("Failed")))),
        Cleanup::Delete { arn: ARN.into() }
    );
}

#[test]
fn cleanup_deletes_a_known_model_whose_spec_is_now_invalid() {
    assert_eq!(
        cleanup_of(resource(invalid(), Some(status_in("Active")))),
        Cleanup::Delete { arn: ARN.into() }
    );
}

#[test]
fn cleanup_does_nothing_for_an_invalid_spec_without_status() {
    assert_eq!(cleanup_of(resource(invalid(), None)), Cleanup::Nothing);
}

#[test]
fn cleanup_does_nothing_for_an_invalid_spec_reported_as_such() {
    assert_eq!(
        cleanup_of(resource(
            invalid(),
            Some(no_arn(reason::INVALID_SPEC, GENERATION))
        )),
        Cleanup::Nothing
    );
}

/// NameConflict at the current generation: look up whose it is, to say so.
#[test]
fn cleanup_looks_up_after_a_name_conflict() {
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::NAME_CONFLICT, GENERATION))
        )),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn cleanup_looks_up_after_a_name_conflict_of_an_older_generation() {
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::NAME_CONFLICT, GENERATION - 1))
        )),
        Cleanup::LookUp { name: NAME.into() }
    );
}

/// A create may have happened before any status was written.
#[test]
fn cleanup_looks_up_without_a_status() {
    assert_eq!(
        cleanup_of(resource(spec(), None)),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn cleanup_looks_up_a_create_in_flight() {
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::RECONCILED, GENERATION))
        )),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn cleanup_looks_up_after_a_transient_error_before_any_arn() {
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::THROTTLED, GENERATION))
        )),
        Cleanup::LookUp { name: NAME.into() }
    );
}

#[test]
fn cleanup_looks_up_by_spec_model_name() {
    assert_eq!(
        cleanup_of(resource(
            spec_with(|s| s.model_name = Some("nova-prod".into())),
            None
        )),
        Cleanup::LookUp {
            name: "nova-prod".into(),
        }
    );
}

/// Adopt where the operator refuses it never reached Bedrock, so there is nothing to look up.
#[test]
fn cleanup_does_nothing_for_a_refused_adoption() {
    assert_eq!(
        cleanup(&resource(adopt(), None), &NamespaceScope::None),
        Cleanup::Nothing
    );
}

#[test]
fn cleanup_looks_up_an_allowed_adoption() {
    assert_eq!(
        cleanup(&resource(adopt(), None), &NamespaceScope::All),
        Cleanup::LookUp { name: NAME.into() }
    );
}

/// A model adopted before the restriction still follows deletionPolicy.
#[test]
fn cleanup_deletes_a_model_adopted_before_adoption_was_refused() {
    assert_eq!(
        cleanup(
            &resource(adopt(), Some(status_in("Active"))),
            &NamespaceScope::None
        ),
        Cleanup::Delete { arn: ARN.into() }
    );
}
