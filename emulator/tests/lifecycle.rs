//! Creating → Active after the configured delay, failures by marker or by script, per-model
//! delays and scripted delete conflicts.

mod common;

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::types::ModelStatus;
use bedrock_emulator::{ControlClient, EmulatorConfig, ForceStatus};
use common::*;

async fn status(client: &Client, identifier: &str) -> Result<(ModelStatus, Option<String>)> {
    let model = client
        .get_custom_model()
        .model_identifier(identifier)
        .send()
        .await?;
    let status = model
        .model_status()
        .cloned()
        .ok_or_else(|| anyhow!("no modelStatus"))?;
    Ok((status, model.failure_message().map(str::to_owned)))
}

async fn wait_for_status(
    client: &Client,
    identifier: &str,
    wanted: ModelStatus,
) -> Result<Option<String>> {
    wait_for(&format!("{identifier} to be {wanted:?}"), || async {
        let (current, failure) = status(client, identifier).await?;
        Ok((current == wanted).then_some(failure))
    })
    .await
}

#[tokio::test]
async fn creating_turns_active_after_the_delay() -> Result<()> {
    let delay = Duration::from_millis(1500);
    let emulator = start_with(EmulatorConfig {
        ready_delay: delay,
        ..test_config()
    })
    .await?;
    let client = sdk(&emulator.url());
    let started = Instant::now();
    create(&client, "warming-up", "t1").await?;
    let (first, failure) = status(&client, "warming-up").await?;
    assert_eq!(first, ModelStatus::Creating);
    assert_eq!(failure, None);

    wait_for_status(&client, "warming-up", ModelStatus::Active).await?;
    // The creation time is truncated to milliseconds, hence the small allowance.
    ensure!(
        started.elapsed() + Duration::from_millis(2) >= delay,
        "Active after {:?}, before the {delay:?} delay",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn failure_marker_ends_failed_with_a_message() -> Result<()> {
    let emulator = start_with(EmulatorConfig {
        ready_delay: Duration::from_millis(200),
        ..test_config()
    })
    .await?;
    let client = sdk(&emulator.url());
    client
        .create_custom_model()
        .model_name("broken-s3")
        .model_source_config(s3_source("s3://bucket/models/force-failure/")?)
        .role_arn(ROLE_ARN)
        .client_request_token("t1")
        .send()
        .await?;
    client
        .create_custom_model()
        .model_name("broken-package")
        .custom_model_data_source(package_source(
            "arn:aws:sagemaker:us-east-1:123456789012:model-package/force-failure/1",
        )?)
        .client_request_token("t2")
        .send()
        .await?;

    for name in ["broken-s3", "broken-package"] {
        let failure = wait_for_status(&client, name, ModelStatus::Failed).await?;
        let failure = failure.ok_or_else(|| anyhow!("{name}: Failed without failureMessage"))?;
        ensure!(failure.contains("force-failure"), "{name}: {failure}");
    }
    Ok(())
}

#[tokio::test]
async fn per_model_delay_before_and_after_creation() -> Result<()> {
    // The global delay is an hour: only the overrides make these models Active.
    let emulator = start().await?;
    let client = sdk(&emulator.url());

    emulator.set_ready_delay("quick", Duration::ZERO)?;
    create(&client, "quick", "t1").await?;
    assert_eq!(status(&client, "quick").await?.0, ModelStatus::Active);

    let arn = create(&client, "later", "t2").await?;
    assert_eq!(status(&client, "later").await?.0, ModelStatus::Creating);
    emulator.set_ready_delay(&arn, Duration::from_millis(100))?;
    wait_for_status(&client, "later", ModelStatus::Active).await?;

    // Clearing the override brings back the global hour.
    assert!(emulator.clear_ready_delay("later")?);
    assert_eq!(status(&client, "later").await?.0, ModelStatus::Creating);

    // The global default applies to models created after it changes.
    emulator.set_default_ready_delay(Duration::ZERO);
    create(&client, "after-change", "t3").await?;
    assert_eq!(
        status(&client, "after-change").await?.0,
        ModelStatus::Active
    );
    assert_eq!(status(&client, "later").await?.0, ModelStatus::Creating);
    Ok(())
}

#[tokio::test]
async fn forcing_status_in_process_and_over_http() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "forced", "t1").await?;

    emulator.force_status("forced", ForceStatus::Active)?;
    assert_eq!(status(&client, "forced").await?.0, ModelStatus::Active);

    let control = ControlClient::new(emulator.url())?;
    let record = control
        .force_status(
            "forced",
            &ForceStatus::Failed {
                failure_message: Some("quota of model units exhausted".into()),
            },
        )
        .await?;
    assert_eq!(record.status, bedrock_emulator::ModelStatus::Failed);
    let (current, failure) = status(&client, "forced").await?;
    assert_eq!(current, ModelStatus::Failed);
    assert_eq!(failure.as_deref(), Some("quota of model units exhausted"));

    let missing = emulator.force_status("nobody", ForceStatus::Active);
    assert_eq!(
        missing.err().map(|error| error.code()),
        Some("ResourceNotFoundException")
    );
    Ok(())
}

#[tokio::test]
async fn delete_conflict_until_released() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let arn = create(&client, "in-use", "t1").await?;
    emulator.set_delete_conflict(&arn, Some("in use by provisioned throughput pt-1".into()))?;

    let error = client
        .delete_custom_model()
        .model_identifier("in-use")
        .send()
        .await
        .err()
        .ok_or_else(|| anyhow!("delete must be refused while in use"))?
        .into_service_error();
    ensure!(error.is_conflict_exception(), "got {error:?}");
    assert_eq!(
        error.meta().message(),
        Some("in use by provisioned throughput pt-1")
    );
    // Still there, and still refusing on a retry.
    assert_eq!(status(&client, "in-use").await?.0, ModelStatus::Creating);
    assert!(
        client
            .delete_custom_model()
            .model_identifier(&arn)
            .send()
            .await
            .is_err()
    );

    assert!(emulator.clear_delete_conflict("in-use")?);
    client
        .delete_custom_model()
        .model_identifier(&arn)
        .send()
        .await?;
    assert!(emulator.models().is_empty());
    Ok(())
}

#[tokio::test]
async fn delete_conflict_scripted_before_creation() -> Result<()> {
    let emulator = start().await?;
    let control = ControlClient::new(emulator.url())?;
    control.set_delete_conflict("future", None).await?;
    let client = sdk(&emulator.url());
    create(&client, "future", "t1").await?;
    let error = client
        .delete_custom_model()
        .model_identifier("future")
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(error.is_some_and(|error| error.is_conflict_exception()));
    assert!(control.clear_delete_conflict("future").await?);
    client
        .delete_custom_model()
        .model_identifier("future")
        .send()
        .await?;
    Ok(())
}
