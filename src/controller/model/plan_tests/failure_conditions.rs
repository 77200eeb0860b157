//! Tests of `failure_conditions`: how a failed AWS call shows on the model.

use super::*;

/// One `failure_conditions` case: a CreateCustomModel error of `class` after `failures`
/// failures in a row, and the conditions it shows.
struct FailureCase {
    name: &'static str,
    class: ErrorClass,
    code: &'static str,
    failures: u32,
    /// `None`: not shown yet. `Some((reason, ready_too))`.
    want: Option<(&'static str, bool)>,
    /// Each must appear in the message.
    message: Vec<&'static str>,
}

impl FailureCase {
    fn check(self) {
        let timing = Timing::default();
        let error = error(self.class, self.code, "details from AWS");
        let got = failure_conditions(&error, NAME, self.failures, &timing);
        let Some((why, ready_too)) = self.want else {
            assert_eq!(got, None, "{}: transient failures stay hidden", self.name);
            return;
        };
        let got = got.unwrap_or_else(|| panic!("{}: expected conditions", self.name));
        let types: Vec<&str> = got.iter().map(|c| c.type_).collect();
        let want_types = if ready_too {
            vec![conditions::READY, conditions::SYNCED]
        } else {
            vec![conditions::SYNCED]
        };
        assert_eq!(types, want_types, "{}: condition types", self.name);
        for c in &got {
            assert!(!c.status, "{}: {} must be False", self.name, c.type_);
            assert_eq!(c.reason, why, "{}: {} reason", self.name, c.type_);
            assert!(
                c.message.contains("details from AWS"),
                "{}: {}",
                self.name,
                c.message
            );
            for part in &self.message {
                assert!(
                    c.message.contains(part),
                    "{}: message should contain {part:?}: {}",
                    self.name,
                    c.message
                );
            }
        }
    }
}

#[test]
fn failure_conditions_hide_a_single_throttle() {
    FailureCase {
        name: "throttled once",
        class: ErrorClass::Throttled,
        code: "ThrottlingException",
        failures: 1,
        want: None,
        message: vec![],
    }
    .check();
}

#[test]
fn failure_conditions_hide_throttles_below_the_threshold() {
    FailureCase {
        name: "throttled below threshold",
        class: ErrorClass::Throttled,
        code: "ThrottlingException",
        failures: shown_after() - 1,
        want: None,
        message: vec![],
    }
    .check();
}

#[test]
fn failure_conditions_show_throttled_at_the_threshold() {
    FailureCase {
        name: "throttled at threshold",
        class: ErrorClass::Throttled,
        code: "ThrottlingException",
        failures: shown_after(),
        want: Some((reason::THROTTLED, false)),
        message: vec!["CreateCustomModel", "ThrottlingException", "retrying"],
    }
    .check();
}

#[test]
fn failure_conditions_show_throttled_beyond_the_threshold() {
    FailureCase {
        name: "throttled beyond threshold",
        class: ErrorClass::Throttled,
        code: "ThrottlingException",
        failures: shown_after() + 10,
        want: Some((reason::THROTTLED, false)),
        message: vec!["ThrottlingException"],
    }
    .check();
}

#[test]
fn failure_conditions_hide_server_errors_below_the_threshold() {
    FailureCase {
        name: "5xx below threshold",
        class: ErrorClass::Retryable,
        code: "InternalServerException",
        failures: shown_after() - 1,
        want: None,
        message: vec![],
    }
    .check();
}

#[test]
fn failure_conditions_show_server_errors_at_the_threshold() {
    FailureCase {
        name: "5xx at threshold",
        class: ErrorClass::Retryable,
        code: "InternalServerException",
        failures: shown_after(),
        want: Some((reason::BEDROCK_UNAVAILABLE, false)),
        message: vec!["CreateCustomModel", "InternalServerException", "retrying"],
    }
    .check();
}

#[test]
fn failure_conditions_hide_a_conflict_below_the_threshold() {
    FailureCase {
        name: "conflict below threshold",
        class: ErrorClass::Conflict,
        code: "ConflictException",
        failures: 1,
        want: None,
        message: vec![],
    }
    .check();
}

#[test]
fn failure_conditions_show_conflicts_at_the_threshold() {
    FailureCase {
        name: "conflict at threshold",
        class: ErrorClass::Conflict,
        code: "ConflictException",
        failures: shown_after(),
        want: Some((reason::BEDROCK_UNAVAILABLE, false)),
        message: vec!["ConflictException"],
    }
    .check();
}

#[test]
fn failure_conditions_show_access_denied_at_once() {
    FailureCase {
        name: "access denied on first failure",
        class: ErrorClass::AccessDenied,
        code: "AccessDeniedException",
        failures: 1,
        want: Some((reason::ACCESS_DENIED, true)),
        message: vec![
            NAME,
            "CreateCustomModel",
            "AccessDeniedException",
            "iam:PassRole",
            "5 min",
        ],
    }
    .check();
}

#[test]
fn failure_conditions_show_quota_exceeded_at_once() {
    FailureCase {
        name: "quota exceeded",
        class: ErrorClass::QuotaExceeded,
        code: "ServiceQuotaExceededException",
        failures: 1,
        want: Some((reason::QUOTA_EXCEEDED, true)),
        message: vec![NAME, "ServiceQuotaExceededException", "quota"],
    }
    .check();
}

#[test]
fn failure_conditions_show_validation_at_once() {
    FailureCase {
        name: "validation",
        class: ErrorClass::Validation,
        code: "ValidationException",
        failures: 1,
        want: Some((reason::VALIDATION_FAILED, true)),
        message: vec![NAME, "ValidationException", "Fix the spec"],
    }
    .check();
}

#[test]
fn failure_conditions_show_too_many_tags_at_once() {
    FailureCase {
        name: "too many tags",
        class: ErrorClass::TooManyTags,
        code: "TooManyTagsException",
        failures: 1,
        want: Some((reason::TOO_MANY_TAGS, true)),
        message: vec![NAME, "TooManyTagsException", "spec.tags"],
    }
    .check();
}

#[test]
fn failure_conditions_show_not_found_at_once() {
    FailureCase {
        name: "not found",
        class: ErrorClass::NotFound,
        code: "ResourceNotFoundException",
        failures: 1,
        want: Some((reason::RESOURCE_NOT_FOUND, true)),
        message: vec![NAME, "ResourceNotFoundException", "spec.source"],
    }
    .check();
}

#[test]
fn failure_conditions_show_an_unclassified_error_at_once() {
    FailureCase {
        name: "unclassified",
        class: ErrorClass::Terminal,
        code: "SomethingNewException",
        failures: 1,
        want: Some((reason::BEDROCK_UNAVAILABLE, true)),
        message: vec![NAME, "SomethingNewException"],
    }
    .check();
}

#[test]
fn failure_conditions_without_code_or_message() {
    let error = BedrockError {
        operation: "GetCustomModel",
        class: ErrorClass::AccessDenied,
        code: None,
        message: None,
        source: None,
    };
    let got = failure_conditions(&error, NAME, 1, &Timing::default()).expect("shown at once");
    assert!(
        got[0].message.contains("unknown error"),
        "{}",
        got[0].message
    );
    assert!(
        got[0].message.contains("GetCustomModel"),
        "{}",
        got[0].message
    );
}
