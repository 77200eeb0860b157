//! The wire protocol around the operations: authentication, the error format, and bad input to
//! the emulator itself (which must get a 4xx, never a panic or a hang).

mod common;

use anyhow::{Result, ensure};
use aws_credential_types::Credentials;
use aws_sdk_bedrock::error::ProvideErrorMetadata;
use aws_sdk_bedrock::types::SortOrder;
use aws_smithy_types::DateTime;
use bedrock_emulator::{EmulatorConfig, Operation, SigV4Credentials};
use common::*;
use http::Method;

const GET_PATH: &str = "/custom-models/some-model";
const CREATE_PATH: &str = "/custom-models/create-custom-model";

/// A request the emulator must refuse, and how.
struct BadInput {
    method: Method,
    path: &'static str,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    needle: &'static str,
}

fn bad(
    method: Method,
    path: &'static str,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    needle: &'static str,
) -> BadInput {
    BadInput {
        method,
        path,
        body,
        status,
        code,
        needle,
    }
}

#[tokio::test]
async fn missing_authorization_is_refused() -> Result<()> {
    let emulator = start().await?;
    let response = raw(&emulator.url(), Method::GET, GET_PATH, None, "").await?;
    assert_eq!(response.status, 403);
    assert_eq!(
        response.error_code(),
        Some("MissingAuthenticationTokenException")
    );
    assert_eq!(response.message()?, "Missing Authentication Token");
    assert_eq!(
        emulator.counters().get(
            Operation::GetCustomModel,
            "MissingAuthenticationTokenException"
        ),
        1
    );
    Ok(())
}

#[tokio::test]
async fn malformed_authorization_is_refused() -> Result<()> {
    let emulator = start().await?;
    let signature = "0".repeat(64);
    for (header, code) in [
        ("Basic dXNlcjpwYXNz".to_owned(), "IncompleteSignatureException"),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/bedrock/aws4_request".to_owned(),
            "IncompleteSignatureException",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=AKIDTEST/2026/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"),
            "IncompleteSignatureException",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=xyz".to_owned(),
            "IncompleteSignatureException",
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"),
            "InvalidSignatureException",
        ),
    ] {
        let response = raw(&emulator.url(), Method::GET, GET_PATH, Some(&header), "").await?;
        assert_eq!(response.status, 403, "{header}");
        assert_eq!(response.error_code(), Some(code), "{header}");
        ensure!(!response.message()?.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn well_formed_sigv4_and_bearer_tokens_are_accepted() -> Result<()> {
    let emulator = start().await?;
    for header in [fake_sigv4(), "Bearer ABSKQmVkcm9ja0FQSUtleQ==".to_owned()] {
        let response = raw(&emulator.url(), Method::GET, GET_PATH, Some(&header), "").await?;
        // Authenticated: the model simply does not exist.
        assert_eq!(response.status, 404, "{header}");
        assert_eq!(response.error_code(), Some("ResourceNotFoundException"));
    }
    let empty_bearer = raw(&emulator.url(), Method::GET, GET_PATH, Some("Bearer "), "").await?;
    assert_eq!(empty_bearer.status, 403);
    Ok(())
}

#[tokio::test]
async fn signatures_verified_when_configured() -> Result<()> {
    let emulator = start_with(EmulatorConfig {
        verify_signatures: Some(SigV4Credentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "secret".into(),
        }),
        ..test_config()
    })
    .await?;
    let client = sdk(&emulator.url());

    // Signed POST body, percent-encoded ARN in the path, query strings with timestamps.
    let arn = client
        .create_custom_model()
        .model_name("signed")
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .model_tags(tag("team name", "a/b=c")?)
        .client_request_token("t1")
        .send()
        .await?
        .model_arn()
        .to_owned();
    client
        .get_custom_model()
        .model_identifier(&arn)
        .send()
        .await?;
    client
        .list_custom_models()
        .creation_time_after(DateTime::from_secs(0))
        .name_contains("sig")
        .sort_order(SortOrder::Ascending)
        .max_results(5)
        .send()
        .await?;
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("k", "v")?)
        .send()
        .await?;
    client
        .delete_custom_model()
        .model_identifier(&arn)
        .send()
        .await?;

    let wrong_secret = sdk_with(
        &emulator.url(),
        Credentials::new("AKIDTEST", "not-the-secret", None, None, "test"),
        1,
    );
    let error = wrong_secret.list_custom_models().send().await.err();
    assert_eq!(
        error.as_ref().and_then(|error| error.code()),
        Some("InvalidSignatureException")
    );
    assert_eq!(
        error
            .as_ref()
            .and_then(|error| error.raw_response())
            .map(|raw| raw.status().as_u16()),
        Some(403)
    );

    let unknown_key = sdk_with(
        &emulator.url(),
        Credentials::new("AKIDOTHER", "secret", None, None, "test"),
        1,
    );
    let error = unknown_key.list_custom_models().send().await.err();
    assert_eq!(
        error.as_ref().and_then(|error| error.code()),
        Some("UnrecognizedClientException")
    );

    // A well-formed but unsigned header no longer passes.
    let response = raw(
        &emulator.url(),
        Method::GET,
        GET_PATH,
        Some(&fake_sigv4()),
        "",
    )
    .await?;
    assert_eq!(response.status, 403);
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_a_4xx_in_the_error_format() -> Result<()> {
    let emulator = start().await?;
    let url = emulator.url();
    let auth = fake_sigv4();
    let create_path = CREATE_PATH;

    let cases = [
        bad(
            Method::POST,
            create_path,
            b"{not json".to_vec(),
            400,
            "ValidationException",
            "not valid JSON",
        ),
        bad(
            Method::POST,
            create_path,
            b"[1, 2]".to_vec(),
            400,
            "ValidationException",
            "JSON object",
        ),
        bad(
            Method::POST,
            create_path,
            br#"{"modelName": 42}"#.to_vec(),
            400,
            "ValidationException",
            "'modelName'",
        ),
        bad(
            Method::POST,
            create_path,
            br#"{"modelName": "m", "modelTags": {"key": "v"}}"#.to_vec(),
            400,
            "ValidationException",
            "'modelTags'",
        ),
        bad(
            Method::POST,
            "/tagResource",
            br#"{"resourceARN": ["x"]}"#.to_vec(),
            400,
            "ValidationException",
            "'resourceARN'",
        ),
        bad(
            Method::POST,
            "/tagResource",
            Vec::new(),
            400,
            "ValidationException",
            "'resourceARN'",
        ),
        bad(
            Method::GET,
            "/custom-models?maxResults=many",
            Vec::new(),
            400,
            "ValidationException",
            "'maxResults'",
        ),
        bad(
            Method::GET,
            "/custom-models/%FF%FE",
            Vec::new(),
            400,
            "ValidationException",
            "'modelIdentifier'",
        ),
        bad(
            Method::GET,
            "/no/such/path",
            Vec::new(),
            404,
            "UnknownOperationException",
            "/no/such/path",
        ),
        bad(
            Method::PUT,
            "/custom-models",
            Vec::new(),
            404,
            "UnknownOperationException",
            "PUT",
        ),
        bad(
            Method::PATCH,
            "/tagResource",
            Vec::new(),
            404,
            "UnknownOperationException",
            "PATCH",
        ),
        bad(
            Method::GET,
            "/__emulator/nope",
            Vec::new(),
            404,
            "UnknownOperationException",
            "/__emulator/nope",
        ),
        bad(
            Method::PUT,
            "/__emulator/faults",
            b"{\"latencyMs\": \"slow\"}".to_vec(),
            400,
            "ValidationException",
            "latencyMs",
        ),
        bad(
            Method::PUT,
            "/__emulator/faults",
            b"{\"surprise\": 1}".to_vec(),
            400,
            "ValidationException",
            "surprise",
        ),
        bad(
            Method::POST,
            "/__emulator/models",
            b"{".to_vec(),
            400,
            "ValidationException",
            "Invalid request body",
        ),
    ];
    for BadInput {
        method,
        path,
        body,
        status,
        code,
        needle,
    } in cases
    {
        let response = raw(&url, method.clone(), path, Some(&auth), body).await?;
        assert_eq!(response.status.as_u16(), status, "{method} {path}");
        assert_eq!(response.error_code(), Some(code), "{method} {path}");
        let message = response.message()?;
        ensure!(message.contains(needle), "{method} {path}: {message}");
    }

    // The server still answers normal calls.
    let client = sdk(&url);
    create(&client, "still-alive", "t1").await?;
    Ok(())
}

#[tokio::test]
async fn huge_bodies_get_413_and_the_server_survives() -> Result<()> {
    let emulator = start().await?;
    let huge = vec![b' '; 2 * 1024 * 1024];
    for path in ["/custom-models/create-custom-model", "/__emulator/models"] {
        let response = raw(
            &emulator.url(),
            Method::POST,
            path,
            Some(&fake_sigv4()),
            huge.clone(),
        )
        .await?;
        assert_eq!(response.status, 413, "{path}");
        assert_eq!(
            response.error_code(),
            Some("RequestEntityTooLargeException"),
            "{path}"
        );
        ensure!(response.message()?.contains("1048576"));
    }
    let client = sdk(&emulator.url());
    create(&client, "after-huge", "t1").await?;
    Ok(())
}

#[tokio::test]
async fn error_answers_carry_code_header_message_and_request_id() -> Result<()> {
    let emulator = start().await?;
    let response = raw(
        &emulator.url(),
        Method::GET,
        GET_PATH,
        Some(&fake_sigv4()),
        "",
    )
    .await?;
    assert_eq!(response.status, 404);
    assert_eq!(response.error_code(), Some("ResourceNotFoundException"));
    assert_eq!(
        response
            .headers
            .get("content-type")
            .and_then(|value| value.to_str().ok()),
        Some("application/json")
    );
    assert!(response.headers.contains_key("x-amzn-requestid"));
    ensure!(response.message()?.contains("some-model"));
    Ok(())
}
