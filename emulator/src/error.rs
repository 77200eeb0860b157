//! Errors in Bedrock's rest-json wire format: the `x-amzn-ErrorType` header carries the code, the
//! body is `{"message": "..."}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::request_id::{REQUEST_ID_HEADER, new_request_id};

/// The error codes the emulator answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Validation,
    Conflict,
    TooManyTags,
    ServiceQuotaExceeded,
    ResourceNotFound,
    AccessDenied,
    Throttling,
    InternalServer,
    /// No `Authorization` header at all.
    MissingAuthenticationToken,
    /// An `Authorization` header that is not a well-formed SigV4 (or Bearer) header.
    IncompleteSignature,
    /// A well-formed SigV4 header whose signature, scope or date does not check out.
    InvalidSignature,
    /// A SigV4 header signed with an access key the emulator does not know.
    UnrecognizedClient,
    /// No operation at this path and method.
    UnknownOperation,
    /// A request body over the size limit.
    RequestEntityTooLarge,
    /// bedrock-runtime: the model failed while answering (HTTP 424).
    ModelError,
    /// bedrock-runtime: the model cannot serve inference yet (HTTP 429, not a throttle).
    ModelNotReady,
    /// bedrock-runtime: the model took too long to answer (HTTP 408).
    ModelTimeout,
    /// bedrock-runtime: the service cannot take the call now (HTTP 503).
    ServiceUnavailable,
}

impl ErrorKind {
    /// The error code, as sent in `x-amzn-ErrorType`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Validation => "ValidationException",
            ErrorKind::Conflict => "ConflictException",
            ErrorKind::TooManyTags => "TooManyTagsException",
            ErrorKind::ServiceQuotaExceeded => "ServiceQuotaExceededException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::Throttling => "ThrottlingException",
            ErrorKind::InternalServer => "InternalServerException",
            ErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorKind::IncompleteSignature => "IncompleteSignatureException",
            ErrorKind::InvalidSignature => "InvalidSignatureException",
            ErrorKind::UnrecognizedClient => "UnrecognizedClientException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
            ErrorKind::RequestEntityTooLarge => "RequestEntityTooLargeException",
            ErrorKind::ModelError => "ModelErrorException",
            ErrorKind::ModelNotReady => "ModelNotReadyException",
            ErrorKind::ModelTimeout => "ModelTimeoutException",
            ErrorKind::ServiceUnavailable => "ServiceUnavailableException",
        }
    }

    /// The HTTP status the service model gives this error.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Validation
            | ErrorKind::Conflict
            | ErrorKind::TooManyTags
            | ErrorKind::ServiceQuotaExceeded => StatusCode::BAD_REQUEST,
            ErrorKind::ResourceNotFound | ErrorKind::UnknownOperation => StatusCode::NOT_FOUND,
            ErrorKind::AccessDenied
            | ErrorKind::MissingAuthenticationToken
            | ErrorKind::IncompleteSignature
            | ErrorKind::InvalidSignature
            | ErrorKind::UnrecognizedClient => StatusCode::FORBIDDEN,
            ErrorKind::Throttling | ErrorKind::ModelNotReady => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::InternalServer => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::RequestEntityTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::ModelError => StatusCode::FAILED_DEPENDENCY,
            ErrorKind::ModelTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answer: a code, a human-readable message and, for TooManyTagsException and
/// ModelErrorException, the resource; for ModelErrorException, the model's own HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct ApiError {
    kind: ErrorKind,
    message: String,
    resource_name: Option<String>,
    original_status_code: Option<u16>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            resource_name: None,
            original_status_code: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::Validation, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::ResourceNotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::Conflict, message)
    }

    pub fn too_many_tags(message: impl Into<String>, resource_name: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::TooManyTags,
            message: message.into(),
            resource_name: Some(resource_name.into()),
            original_status_code: None,
        }
    }

    /// ModelErrorException: the model behind `resource_name` failed with `original_status_code`.
    pub fn model_error(
        message: impl Into<String>,
        resource_name: impl Into<String>,
        original_status_code: u16,
    ) -> Self {
        ApiError {
            kind: ErrorKind::ModelError,
            message: message.into(),
            resource_name: Some(resource_name.into()),
            original_status_code: Some(original_status_code),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_status_code: Option<u16>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            message: &self.message,
            resource_name: self.resource_name.as_deref(),
            original_status_code: self.original_status_code,
        };
        // Serialising two strings cannot fail; fall back to an empty object to stay panic-free.
        let body = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.kind.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code()));
        if let Ok(request_id) = HeaderValue::from_str(&new_request_id()) {
            headers.insert(REQUEST_ID_HEADER, request_id);
        }
        response
    }
}
