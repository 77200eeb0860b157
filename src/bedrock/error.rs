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
