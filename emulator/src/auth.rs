//! Request authentication: every Bedrock call needs a well-formed SigV4 `Authorization` header
//! (or a Bearer API key). Verifying the signature itself is optional.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{KeyInit, Mac};
use http::request::Parts;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use sha2::{Digest, Sha256};

use crate::config::{EmulatorConfig, SigV4Credentials};
use crate::error::{ApiError, ErrorKind};

const SIGNING_SERVICE: &str = "bedrock";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// AWS refuses requests signed more than 15 minutes away from its clock.
const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(15);

/// The parts of a SigV4 `Authorization` header.
struct SigV4Header<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::IncompleteSignature, message)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidSignature, message)
}

/// Checks the request's credentials as the service front end would.
pub(crate) fn authorize(
    parts: &Parts,
    body: &[u8],
    config: &EmulatorConfig,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(header) = parts.headers.get(http::header::AUTHORIZATION) else {
        return Err(ApiError::new(
            ErrorKind::MissingAuthenticationToken,
            "Missing Authentication Token",
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| incomplete("The Authorization header is not valid ASCII."))?
        .trim();
    if let Some(token) = header.strip_prefix("Bearer ") {
        return authorize_bearer(token.trim(), config);
    }
    let Some(params) = header.strip_prefix(ALGORITHM) else {
        return Err(incomplete(format!(
            "Authorization header requires '{ALGORITHM}' or 'Bearer' as its scheme."
        )));
    };
    let parsed = parse_sigv4(params)?;
    let amz_date = parts
        .headers
        .get("x-amz-date")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        })?;
    if let Some(credentials) = &config.verify_signatures {
        verify(parts, body, config, credentials, &parsed, amz_date, now)?;
    }
    Ok(())
}

fn authorize_bearer(token: &str, config: &EmulatorConfig) -> Result<(), ApiError> {
    if token.is_empty() {
        return Err(incomplete("The Bearer token is empty."));
    }
    match &config.api_key {
        Some(expected) if !constant_time_eq(expected.as_bytes(), token.as_bytes()) => {
            Err(ApiError::new(
                ErrorKind::UnrecognizedClient,
                "The security token included in the request is invalid.",
            ))
        }
        _ => Ok(()),
    }
}

fn parse_sigv4(params: &str) -> Result<SigV4Header<'_>, ApiError> {
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for component in params.split(',') {
        let component = component.trim();
        if let Some(value) = component.strip_prefix("Credential=") {
            credential = Some(value);
        } else if let Some(value) = component.strip_prefix("SignedHeaders=") {
            signed_headers = Some(value);
        } else if let Some(value) = component.strip_prefix("Signature=") {
            signature = Some(value);
        } else if !component.is_empty() {
            return Err(incomplete(format!(
                "'{component}' is not a valid key=value pair (missing equal-sign) in Authorization header."
            )));
        }
    }
    let mut missing = Vec::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if value.is_none_or(str::is_empty) {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(missing.join(" ")));
    };
    if !missing.is_empty() {
        return Err(incomplete(missing.join(" ")));
    }

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(format!(
            "Credential '{credential}' must have the form <AccessKeyId>/<yyyymmdd>/<region>/<service>/aws4_request."
        )));
    };
    if access_key_id.is_empty()
        || date.len() != 8
        || !date.bytes().all(|byte| byte.is_ascii_digit())
        || region.is_empty()
        || *terminator != "aws4_request"
    {
        return Err(incomplete(format!(
            "Credential '{credential}' must have the form <AccessKeyId>/<yyyymmdd>/<region>/<service>/aws4_request."
        )));
    }
    if *service != SIGNING_SERVICE {
        return Err(invalid(format!(
            "Credential should be scoped to correct service: '{SIGNING_SERVICE}'."
        )));
    }
    if signature.len() != 64 || !signature.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(incomplete(
            "The Signature parameter must be 64 hexadecimal characters.",
        ));
    }
    let signed_headers: Vec<&str> = signed_headers.split(';').collect();
    if signed_headers.iter().any(|name| {
        name.is_empty()
            || name
                .bytes()
                .any(|byte| byte.is_ascii_uppercase() || byte.is_ascii_whitespace())
    }) {
        return Err(incomplete(
            "SignedHeaders must be a ';'-separated list of lower-case header names.",
        ));
    }
    if !signed_headers.contains(&"host") {
        return Err(incomplete("SignedHeaders must include 'host'."));
    }
    Ok(SigV4Header {
        access_key_id,
        date,
        region,
        signed_headers,
        signature,
    })
}

fn verify(
    parts: &Parts,
    body: &[u8],
    config: &EmulatorConfig,
    credentials: &SigV4Credentials,
    header: &SigV4Header<'_>,
    amz_date: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if header.access_key_id != credentials.access_key_id {
        return Err(ApiError::new(
            ErrorKind::UnrecognizedClient,
            "The security token included in the request is invalid.",
        ));
    }
    if header.region != config.region {
        return Err(invalid(format!(
            "Credential should be scoped to a valid region, not '{}'. Expected '{}'.",
            header.region, config.region
        )));
    }
    let signed_at = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map(|time| time.and_utc())
        .map_err(|_| {
            invalid(format!(
                "X-Amz-Date '{amz_date}' must have the form yyyyMMddTHHmmssZ."
            ))
        })?;
    if !amz_date.starts_with(header.date) {
        return Err(invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
            header.date,
            amz_date.get(..8).unwrap_or(amz_date)
        )));
    }
    if (now - signed_at).abs() > MAX_CLOCK_SKEW {
        return Err(invalid(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 15 min.)",
            (now - MAX_CLOCK_SKEW).format("%Y%m%dT%H%M%SZ"),
            now.format("%Y%m%dT%H%M%SZ")
        )));
    }

    let canonical = canonical_request(parts, body, &header.signed_headers)?;
    let scope = format!(
        "{}/{}/{SIGNING_SERVICE}/aws4_request",
        header.date, header.region
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac_sha256(
        format!("AWS4{}", credentials.secret_access_key).as_bytes(),
        header.date.as_bytes(),
    );
    for part in [header.region, SIGNING_SERVICE, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let expected = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    if constant_time_eq(
        expected.as_bytes(),
        header.signature.to_ascii_lowercase().as_bytes(),
    ) {
        Ok(())
    } else {
        Err(invalid(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ))
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this never takes the error branch.
    match hmac::Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The characters aws-sigv4 (via aws-smithy-http) percent-encodes.
const BASE_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'/')
    .add(b':')
    .add(b',')
    .add(b'?')
    .add(b'#')
    .add(b'[')
    .add(b']')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'@')
    .add(b'!')
    .add(b'$')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b';')
    .add(b'=')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'"')
    .add(b'^')
    .add(b'`')
    .add(b'\\');
const PATH_SET: &AsciiSet = &BASE_SET.remove(b'/');

/// The SigV4 canonical request, built the way aws-sigv4 builds it for non-S3 services: the path
/// normalised and encoded a second time, the query re-encoded and sorted.
fn canonical_request(
    parts: &Parts,
    body: &[u8],
    signed_headers: &[&str],
) -> Result<String, ApiError> {
    let path = normalize_path(parts.uri.path());
    let path = utf8_percent_encode(&path, PATH_SET).to_string();

    let mut query: Vec<(String, String)> =
        form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(|(key, value)| {
                (
                    utf8_percent_encode(&key, BASE_SET).to_string(),
                    utf8_percent_encode(&value, BASE_SET).to_string(),
                )
            })
            .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&");

    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<Cow<'_, str>> = parts
            .headers
            .get_all(*name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .map(|value| Cow::Owned(trim_all(&value)))
            .collect();
        if values.is_empty() {
            return Err(invalid(format!(
                "The header '{name}' is listed in SignedHeaders but absent from the request."
            )));
        }
        headers.push_str(name);
        headers.push(':');
        headers.push_str(&values.join(","));
        headers.push('\n');
    }

    let payload_hash = match parts
        .headers
        .get("x-amz-content-sha256")
        .and_then(|value| value.to_str().ok())
    {
        Some(hash) => hash.to_owned(),
        None => hex::encode(Sha256::digest(body)),
    };
    Ok(format!(
        "{}\n{path}\n{query}\n{headers}\n{}\n{payload_hash}",
        parts.method,
        signed_headers.join(";")
    ))
}

/// Removes dot segments and empty segments, as aws-sigv4 does.
fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    if !(path.contains('.') || path.contains("//")) {
        return path.to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut normalized = format!("/{}", segments.join("/"));
    if ["/", "/.", "/./", "/..", "/../"]
        .iter()
        .any(|suffix| path.ends_with(suffix))
        && !normalized.ends_with('/')
    {
        normalized.push('/');
    }
    normalized
}

/// Trims surrounding spaces and collapses runs of spaces, as SigV4 requires for header values.
fn trim_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut previous_space = false;
    for character in value.trim_matches(' ').chars() {
        if character == ' ' {
            if !previous_space {
                out.push(' ');
            }
            previous_space = true;
        } else {
            out.push(character);
            previous_space = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(authorization: Option<&str>) -> Parts {
        let mut builder = http::Request::builder()
            .method("GET")
            .uri("http://127.0.0.1/custom-models/m")
            .header("host", "127.0.0.1")
            .header("x-amz-date", "20260101T000000Z");
        if let Some(value) = authorization {
            builder = builder.header("authorization", value);
        }
        match builder.body(()) {
            Ok(request) => request.into_parts().0,
            Err(error) => panic!("test request: {error}"),
        }
    }

    fn outcome(authorization: Option<&str>) -> Option<&'static str> {
        authorize(
            &parts(authorization),
            b"",
            &EmulatorConfig::default(),
            Utc::now(),
        )
        .err()
        .map(|error| error.code())
    }

    #[test]
    fn classifies_authorization_headers() {
        let good = format!(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
            "a".repeat(64)
        );
        assert_eq!(outcome(Some(&good)), None);
        assert_eq!(outcome(Some("Bearer abc")), None);
        assert_eq!(outcome(None), Some("MissingAuthenticationTokenException"));
        assert_eq!(
            outcome(Some("Basic abc")),
            Some("IncompleteSignatureException")
        );
        assert_eq!(
            outcome(Some(
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/bedrock/aws4_request"
            )),
            Some("IncompleteSignatureException")
        );
        let short_signature = good.replace(&"a".repeat(64), "abc");
        assert_eq!(
            outcome(Some(&short_signature)),
            Some("IncompleteSignatureException")
        );
        let other_service = good.replace("/bedrock/", "/s3/");
        assert_eq!(
            outcome(Some(&other_service)),
            Some("InvalidSignatureException")
        );
    }

    #[test]
    fn normalizes_paths_like_aws_sigv4() {
        assert_eq!(normalize_path("/a/./b/../c"), "/a/c");
        assert_eq!(normalize_path("/a//b/"), "/a/b/");
        assert_eq!(normalize_path("/custom-models/x"), "/custom-models/x");
        assert_eq!(
            utf8_percent_encode("/custom-models/arn%3Aaws", PATH_SET).to_string(),
            "/custom-models/arn%253Aaws"
        );
        assert_eq!(trim_all("  a   b  "), "a b");
    }
}
