use std::error::Error as StdError;

/// How the controller should react to a failed Bedrock call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// ThrottlingException: back off and retry.
    Throttled,
    /// Server errors, timeouts, connection failures: back off and retry.
    Retryable,
    /// AccessDeniedException or a credentials problem: retry slowly (IAM gets fixed).
    AccessDenied,
    /// ServiceQuotaExceededException: retry slowly (quotas get raised).
    QuotaExceeded,
    /// ResourceNotFoundException.
    NotFound,
    /// ConflictException.
    Conflict,
    /// ValidationException: wait for a spec change (slow retry).
    Validation,
    /// TooManyTagsException: wait for a spec change (slow retry).
    TooManyTags,
    /// Anything else: retry slowly.
    Terminal,
}

impl ErrorClass {
    /// A bounded label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Throttled => "throttled",
            ErrorClass::Retryable => "retryable",
            ErrorClass::AccessDenied => "access_denied",
            ErrorClass::QuotaExceeded => "quota_exceeded",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Conflict => "conflict",
            ErrorClass::Validation => "validation",
            ErrorClass::TooManyTags => "too_many_tags",
            ErrorClass::Terminal => "terminal",
        }
    }

    /// Classifies by error code (never by HTTP status: four codes share 400).
    pub fn from_code(code: &str, http_status: Option<u16>) -> Self {
        match code {
            "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded" => {
                ErrorClass::Throttled
            }
            "InternalServerException" | "ServiceUnavailableException" | "InternalFailure" => {
                ErrorClass::Retryable
            }
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignatureException"
            | "MissingAuthenticationTokenException"
            | "ExpiredTokenException" => ErrorClass::AccessDenied,
            "ServiceQuotaExceededException" => ErrorClass::QuotaExceeded,
            "ResourceNotFoundException" => ErrorClass::NotFound,
            "ConflictException" => ErrorClass::Conflict,
            "ValidationException" => ErrorClass::Validation,
            "TooManyTagsException" => ErrorClass::TooManyTags,
            _ if http_status.is_some_and(|s| s >= 500) => ErrorClass::Retryable,
            _ => ErrorClass::Terminal,
        }
    }
}

/// A failed Bedrock call, in domain terms.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {}", self.describe())]
pub struct BedrockError {
    pub operation: &'static str,
    pub class: ErrorClass,
    /// The AWS error code, such as `ThrottlingException`, when the service answered.
    pub code: Option<String>,
    /// The service's message (never contains credentials).
    pub message: Option<String>,
    #[source]
    pub source: Option<Box<dyn StdError + Send + Sync>>,
}

impl BedrockError {
    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// `Code: message`, or what is known.
    pub fn describe(&self) -> String {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => match &self.source {
                Some(source) => source.to_string(),
                None => "unknown error".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One named test per error code, so that a wrong class names its code.
    macro_rules! classifies {
        ($($test:ident: $code:literal, $status:expr => $class:ident;)*) => {
            $(
                #[test]
                fn $test() {
                    assert_eq!(ErrorClass::from_code($code, $status), ErrorClass::$class);
                }
            )*
        };
    }

    classifies! {
        throttling_exception_is_throttled: "ThrottlingException", Some(429) => Throttled;
        too_many_requests_is_throttled: "TooManyRequestsException", Some(429) => Throttled;
        request_limit_exceeded_is_throttled: "RequestLimitExceeded", Some(400) => Throttled;
        internal_server_exception_is_retryable: "InternalServerException", Some(500) => Retryable;
        service_unavailable_is_retryable: "ServiceUnavailableException", Some(503) => Retryable;
        internal_failure_is_retryable: "InternalFailure", Some(500) => Retryable;
        access_denied_is_access_denied: "AccessDeniedException", Some(403) => AccessDenied;
        unrecognized_client_is_access_denied: "UnrecognizedClientException", Some(403) => AccessDenied;
        invalid_signature_is_access_denied: "InvalidSignatureException", Some(403) => AccessDenied;
        incomplete_signature_is_access_denied: "IncompleteSignatureException", Some(403) => AccessDenied;
        missing_authentication_token_is_access_denied: "MissingAuthenticationTokenException", Some(403) => AccessDenied;
        expired_token_is_access_denied: "ExpiredTokenException", Some(403) => AccessDenied;
        service_quota_exceeded_is_quota_exceeded: "ServiceQuotaExceededException", Some(400) => QuotaExceeded;
        resource_not_found_is_not_found: "ResourceNotFoundException", Some(404) => NotFound;
        conflict_is_conflict: "ConflictException", Some(400) => Conflict;
        validation_is_validation: "ValidationException", Some(400) => Validation;
        too_many_tags_is_too_many_tags: "TooManyTagsException", Some(400) => TooManyTags;
        an_unknown_code_with_a_server_error_is_retryable: "SomethingNew", Some(502) => Retryable;
        an_unknown_code_with_a_client_error_is_terminal: "SomethingNew", Some(400) => Terminal;
        an_unknown_code_without_a_status_is_terminal: "SomethingNew", None => Terminal;
        no_code_with_a_server_error_is_retryable: "", Some(500) => Retryable;
        a_known_code_wins_over_its_status: "ThrottlingException", Some(500) => Throttled;
        a_client_error_code_wins_over_a_server_status: "ValidationException", Some(503) => Validation;
    }

    #[test]
    fn the_four_codes_that_share_http_400_get_four_classes() {
        let classes: std::collections::HashSet<ErrorClass> = [
            "ValidationException",
            "ConflictException",
            "TooManyTagsException",
            "ServiceQuotaExceededException",
        ]
        .into_iter()
        .map(|code| ErrorClass::from_code(code, Some(400)))
        .collect();
        assert_eq!(classes.len(), 4);
    }

    #[test]
    fn labels_are_snake_case_and_distinct() {
        let all = [
            ErrorClass::Throttled,
            ErrorClass::Retryable,
            ErrorClass::AccessDenied,
            ErrorClass::QuotaExceeded,
            ErrorClass::NotFound,
            ErrorClass::Conflict,
            ErrorClass::Validation,
            ErrorClass::TooManyTags,
            ErrorClass::Terminal,
        ];
        let labels: std::collections::HashSet<&str> = all.iter().map(|c| c.as_str()).collect();
        assert_eq!(labels.len(), all.len());
        for label in labels {
            assert!(
                label.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{label}"
            );
        }
    }

    #[test]
    fn describe_prefers_code_and_message() {
        let error = BedrockError {
            operation: "GetCustomModel",
            class: ErrorClass::NotFound,
            code: Some("ResourceNotFoundException".into()),
            message: Some("no such model".into()),
            source: None,
        };
        assert_eq!(
            error.to_string(),
            "GetCustomModel: ResourceNotFoundException: no such model"
        );
    }
}
