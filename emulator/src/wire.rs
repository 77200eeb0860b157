//! The HTTP plumbing both faces of the emulator share, the Bedrock API and the control API:
//! JSON answers with the headers AWS sends, and request bodies read under a size limit.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use http_body_util::BodyExt;
use serde::Serialize;

use crate::error::{ApiError, ErrorKind};
use crate::request_id::{REQUEST_ID_HEADER, new_request_id};

/// After the body limit is exceeded, this much more is read and thrown away so that the client,
/// still sending, receives the 413 rather than a connection reset.
const DRAIN_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// A JSON answer with the headers AWS sends.
pub(crate) fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Ok(request_id) = HeaderValue::from_str(&new_request_id()) {
                headers.insert(REQUEST_ID_HEADER, request_id);
            }
            response
        }
        Err(error) => ApiError::new(
            ErrorKind::InternalServer,
            format!("could not serialise the response: {error}"),
        )
        .into_response(),
    }
}

/// Reads a body up to `limit` bytes. Past the limit it keeps reading (and discarding) up to
/// [`DRAIN_LIMIT_BYTES`] so the 413 reaches a client that is still sending.
pub(crate) async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut buffer = BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            ApiError::validation(format!("The request body could not be read: {error}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= limit {
            buffer.extend_from_slice(&data);
        } else if total > DRAIN_LIMIT_BYTES {
            break;
        }
    }
    if total > limit {
        return Err(ApiError::new(
            ErrorKind::RequestEntityTooLarge,
            format!("The request body exceeds the limit of {limit} bytes."),
        ));
    }
    Ok(buffer.freeze())
}
