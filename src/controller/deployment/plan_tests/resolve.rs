//! Resolving the model.

use super::*;

#[test]
fn a_model_arn_resolves_to_itself_with_its_region() {
    let target = ModelTarget::Arn(V3.into());
    assert_eq!(resolve(&target, None), resolved(V3));
}

#[test]
fn a_missing_reference_is_model_not_found() {
    let got = resolve(&ModelTarget::Ref(MODEL.into()), None);
    assert_eq!(got, Resolution::Missing { name: MODEL.into() });
    assert_eq!(unresolved(&got).0, reason::MODEL_NOT_FOUND);
}

#[test]
fn a_creating_model_is_not_ready_and_says_why() {
    let m = model(Some(model_status("Creating", false, reason::CREATING)));
    let got = resolve(&ModelTarget::Ref(MODEL.into()), Some(&m));
    let (why, message) = unresolved(&got);
    assert_eq!(why, reason::MODEL_NOT_READY);
    assert!(
        message.contains(MODEL) && message.contains("Creating"),
        "{message}"
    );
}

#[test]
fn a_model_without_status_is_not_ready() {
    let m = model(None);
    assert!(matches!(
        resolve(&ModelTarget::Ref(MODEL.into()), Some(&m)),
        Resolution::NotReady { .. }
    ));
}

#[test]
fn an_active_ready_model_resolves_to_its_status_arn() {
    let m = model(Some(model_status("Active", true, reason::ACTIVE)));
    assert_eq!(
        resolve(&ModelTarget::Ref(MODEL.into()), Some(&m)),
        resolved(V3)
    );
}

#[test]
fn a_failed_model_is_model_failed_with_bedrocks_message() {
    let mut status = model_status("Failed", false, reason::FAILED);
    status.failure_message = Some("bad artifacts".into());
    let m = model(Some(status));
    let got = resolve(&ModelTarget::Ref(MODEL.into()), Some(&m));
    let (why, message) = unresolved(&got);
    assert_eq!(why, reason::MODEL_FAILED);
    assert!(message.contains("bad artifacts"), "{message}");
}

#[test]
fn a_model_being_deleted_is_model_deleting() {
    let mut m = model(Some(model_status("Active", true, reason::ACTIVE)));
    m.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
    assert_eq!(
        resolve(&ModelTarget::Ref(MODEL.into()), Some(&m)),
        Resolution::Deleting { name: MODEL.into() }
    );
}
