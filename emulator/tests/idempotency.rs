//! clientRequestToken semantics: replays return the same ARN and create nothing, even after a
//! delete; a reused token with other parameters is refused; names are unique.

mod common;

use std::time::Duration;

use anyhow::{Result, anyhow, ensure};
use aws_sdk_bedrock::Client;
use bedrock_emulator::{EmulatorConfig, Operation};
use common::*;
use http::Method;

async fn create_tagged(
    client: &Client,
    name: &str,
    token: &str,
    tags: &[(&str, &str)],
) -> Result<String> {
    let mut request = client
        .create_custom_model()
        .model_name(name)
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .client_request_token(token);
    for (key, value) in tags {
        request = request.model_tags(tag(key, value)?);
    }
    Ok(request.send().await?.model_arn().to_owned())
}

#[tokio::test]
async fn same_token_same_parameters_returns_the_same_arn() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let first = create_tagged(&client, "idem", "token-a", &[("a", "1"), ("b", "2")]).await?;
    // Tag order does not make a different request.
    let second = create_tagged(&client, "idem", "token-a", &[("b", "2"), ("a", "1")]).await?;
    assert_eq!(first, second);

    let log = emulator.create_log();
    assert_eq!(log.len(), 1, "exactly one model was created: {log:?}");
    assert_eq!(log[0].model_arn, first);
    assert_eq!(log[0].client_request_token.as_deref(), Some("token-a"));
    assert_eq!(emulator.models().len(), 1);
    assert_eq!(
        emulator.counters().get(Operation::CreateCustomModel, "Ok"),
        2
    );
    Ok(())
}

#[tokio::test]
async fn same_token_different_parameters_is_a_validation_error() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "first", "token-a").await?;

    for request in [
        // Another name.
        client
            .create_custom_model()
            .model_name("second")
            .model_source_config(s3_source(S3_URI)?)
            .role_arn(ROLE_ARN)
            .client_request_token("token-a"),
        // Same name, another role.
        client
            .create_custom_model()
            .model_name("first")
            .model_source_config(s3_source(S3_URI)?)
            .role_arn("arn:aws:iam::123456789012:role/Other")
            .client_request_token("token-a"),
    ] {
        let error = request
            .send()
            .await
            .err()
            .ok_or_else(|| anyhow!("a reused token with other parameters must fail"))?
            .into_service_error();
        ensure!(error.is_validation_exception(), "got {error:?}");
        let message = error.meta().message().unwrap_or_default();
        ensure!(message.contains("clientRequestToken"), "{message}");
    }
    assert_eq!(emulator.create_log().len(), 1);
    Ok(())
}

#[tokio::test]
async fn replay_after_delete_returns_the_same_arn_and_creates_nothing() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let arn = create(&client, "short-lived", "token-a").await?;
    client
        .delete_custom_model()
        .model_identifier(&arn)
        .send()
        .await?;

    let replayed = create(&client, "short-lived", "token-a").await?;
    assert_eq!(replayed, arn);
    assert_eq!(emulator.create_log().len(), 1);
    assert!(
        emulator.models().is_empty(),
        "the replay must not resurrect the model"
    );
    let get = client
        .get_custom_model()
        .model_identifier(&arn)
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(get.is_some_and(|error| error.is_resource_not_found_exception()));

    // A new token does create a new model under the freed name.
    let fresh = create(&client, "short-lived", "token-b").await?;
    assert_ne!(fresh, arn);
    assert_eq!(emulator.create_log().len(), 2);
    Ok(())
}

#[tokio::test]
async fn tokens_expire_after_the_window() -> Result<()> {
    let emulator = start_with(EmulatorConfig {
        idempotency_window: Duration::ZERO,
        ..test_config()
    })
    .await?;
    let client = sdk(&emulator.url());
    let arn = create(&client, "forgotten", "token-a").await?;
    client
        .delete_custom_model()
        .model_identifier(&arn)
        .send()
        .await?;
    let again = create(&client, "forgotten", "token-a").await?;
    assert_ne!(again, arn, "an expired token is a fresh request");
    assert_eq!(emulator.create_log().len(), 2);
    Ok(())
}

#[tokio::test]
async fn taken_name_with_another_token_is_a_conflict() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "taken", "token-a").await?;
    let error = client
        .create_custom_model()
        .model_name("taken")
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .client_request_token("token-b")
        .send()
        .await
        .err()
        .ok_or_else(|| anyhow!("a taken name must fail"))?
        .into_service_error();
    ensure!(error.is_conflict_exception(), "got {error:?}");
    ensure!(
        error.meta().message().unwrap_or_default().contains("taken"),
        "the message names the model"
    );
    assert_eq!(
        error.meta().code(),
        Some("ConflictException"),
        "a 400 classified by code, not status"
    );

    // A foreign model holds its name too.
    emulator.insert_model(bedrock_emulator::ForeignModel::new("foreign"))?;
    let error = create(&client, "foreign", "token-c").await.err();
    ensure!(error.is_some(), "a foreign model's name is taken");
    assert_eq!(emulator.create_log().len(), 1);
    Ok(())
}

#[tokio::test]
async fn requests_without_a_token_are_fresh() -> Result<()> {
    let emulator = start().await?;
    let body = |name: &str| {
        serde_json::json!({
            "modelName": name,
            "modelSourceConfig": {"s3DataSource": {"s3Uri": S3_URI}},
            "roleArn": ROLE_ARN,
        })
        .to_string()
    };
    let path = "/custom-models/create-custom-model";
    let first = raw(
        &emulator.url(),
        Method::POST,
        path,
        Some(&fake_sigv4()),
        body("one"),
    )
    .await?;
    assert_eq!(first.status, 202);
    let second = raw(
        &emulator.url(),
        Method::POST,
        path,
        Some(&fake_sigv4()),
        body("two"),
    )
    .await?;
    assert_eq!(second.status, 202);
    assert_ne!(first.json()?["modelArn"], second.json()?["modelArn"]);

    let again = raw(
        &emulator.url(),
        Method::POST,
        path,
        Some(&fake_sigv4()),
        body("one"),
    )
    .await?;
    assert_eq!(again.status, 400);
    assert_eq!(again.error_code(), Some("ConflictException"));

    let log = emulator.create_log();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|entry| entry.client_request_token.is_none()));
    Ok(())
}
