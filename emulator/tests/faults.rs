//! Injected faults, each observed through the SDK as its typed error.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use bedrock_emulator::{FaultConfig, Operation, RateLimit};
use common::*;

#[tokio::test]
async fn token_bucket_throttles_one_operation() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "bucketed", "t1").await?;
    emulator.set_faults(FaultConfig {
        rate_limits: BTreeMap::from([(
            Operation::GetCustomModel,
            RateLimit {
                rate_per_second: 0.0,
                burst: 3,
            },
        )]),
        ..FaultConfig::default()
    })?;

    for _ in 0..3 {
        client
            .get_custom_model()
            .model_identifier("bucketed")
            .send()
            .await?;
    }
    let error = client
        .get_custom_model()
        .model_identifier("bucketed")
        .send()
        .await
        .err()
        .ok_or_else(|| anyhow!("the fourth call finds the bucket empty"))?;
    assert_eq!(
        error.raw_response().map(|raw| raw.status().as_u16()),
        Some(429)
    );
    let error = error.into_service_error();
    ensure!(error.is_throttling_exception(), "got {error:?}");

    // Other operations have no bucket.
    client.list_custom_models().send().await?;
    let counters = emulator.counters();
    assert_eq!(counters.get(Operation::GetCustomModel, "Ok"), 3);
    assert_eq!(
        counters.get(Operation::GetCustomModel, "ThrottlingException"),
        1
    );
    assert_eq!(counters.get(Operation::ListCustomModels, "Ok"), 1);

    // Removing the limit lets calls through again.
    emulator.set_faults(FaultConfig::default())?;
    client
        .get_custom_model()
        .model_identifier("bucketed")
        .send()
        .await?;
    Ok(())
}

#[tokio::test]
async fn token_bucket_refills_at_its_rate() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    emulator.set_faults(FaultConfig {
        rate_limits: BTreeMap::from([(
            Operation::ListCustomModels,
            RateLimit {
                rate_per_second: 10.0,
                burst: 1,
            },
        )]),
        ..FaultConfig::default()
    })?;
    client.list_custom_models().send().await?;
    let throttled_at = Instant::now();
    let error = client.list_custom_models().send().await.err();
    let error = error.map(|error| error.into_service_error());
    assert!(error.is_some_and(|error| error.is_throttling_exception()));
    wait_for("the bucket to refill", || async {
        Ok(client.list_custom_models().send().await.ok())
    })
    .await?;
    ensure!(
        throttled_at.elapsed() >= Duration::from_millis(50),
        "refilled too fast: {:?}",
        throttled_at.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn probabilistic_throttling() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "chaos", "t1").await?;
    emulator.set_faults(FaultConfig {
        throttle_fraction: 0.5,
        operations: vec![Operation::GetCustomModel],
        ..FaultConfig::default()
    })?;
    let calls = 200;
    let mut throttled = 0;
    for _ in 0..calls {
        match client
            .get_custom_model()
            .model_identifier("chaos")
            .send()
            .await
        {
            Ok(_) => {}
            Err(error) => {
                let error = error.into_service_error();
                ensure!(error.is_throttling_exception(), "got {error:?}");
                throttled += 1;
            }
        }
    }
    ensure!(
        (60..=140).contains(&throttled),
        "{throttled} of {calls} throttled at fraction 0.5"
    );
    let counters = emulator.counters();
    assert_eq!(
        counters.get(Operation::GetCustomModel, "ThrottlingException"),
        throttled
    );
    assert_eq!(counters.total(Operation::GetCustomModel), calls);

    // Fraction 1 throttles everything, fraction 0 nothing.
    emulator.set_faults(FaultConfig {
        throttle_fraction: 1.0,
        ..FaultConfig::default()
    })?;
    let error = client.list_custom_models().send().await.err();
    assert!(error.is_some_and(|error| error.into_service_error().is_throttling_exception()));
    emulator.set_faults(FaultConfig::default())?;
    client.list_custom_models().send().await?;
    Ok(())
}

#[tokio::test]
async fn the_sdk_retries_throttled_calls_by_default() -> Result<()> {
    let emulator = start().await?;
    emulator.set_faults(FaultConfig {
        throttle_fraction: 1.0,
        ..FaultConfig::default()
    })?;
    let retrying = sdk_with(&emulator.url(), test_credentials(), 3);
    let error = retrying.list_custom_models().send().await.err();
    assert!(error.is_some_and(|error| error.into_service_error().is_throttling_exception()));
    assert_eq!(
        emulator
            .counters()
            .get(Operation::ListCustomModels, "ThrottlingException"),
        3,
        "three attempts reached the emulator"
    );
    Ok(())
}

#[tokio::test]
async fn injected_internal_errors() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "stable", "t1").await?;
    emulator.set_faults(FaultConfig {
        internal_error_fraction: 1.0,
        operations: vec![Operation::CreateCustomModel],
        ..FaultConfig::default()
    })?;
    let error = create(&client, "unlucky", "t2")
        .await
        .err()
        .ok_or_else(|| anyhow!("the create must fail"))?
        .downcast::<aws_sdk_bedrock::error::SdkError<
            aws_sdk_bedrock::operation::create_custom_model::CreateCustomModelError,
        >>()?;
    assert_eq!(
        error.raw_response().map(|raw| raw.status().as_u16()),
        Some(500)
    );
    let error = error.into_service_error();
    ensure!(error.is_internal_server_exception(), "got {error:?}");
    assert_eq!(
        emulator.create_log().len(),
        1,
        "nothing created by the failed call"
    );
    // Only the chosen operation is affected.
    client
        .get_custom_model()
        .model_identifier("stable")
        .send()
        .await?;
    assert_eq!(
        emulator
            .counters()
            .get(Operation::CreateCustomModel, "InternalServerException"),
        1
    );
    Ok(())
}

#[tokio::test]
async fn added_latency() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let latency = Duration::from_millis(300);
    emulator.set_faults(FaultConfig {
        latency_ms: 300,
        operations: vec![Operation::ListCustomModels],
        ..FaultConfig::default()
    })?;
    let started = Instant::now();
    client.list_custom_models().send().await?;
    ensure!(
        started.elapsed() >= latency,
        "answered in {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let _ = client
        .get_custom_model()
        .model_identifier("nobody")
        .send()
        .await;
    ensure!(
        started.elapsed() < latency,
        "an operation without latency took {:?}",
        started.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn access_denied_for_chosen_roles() -> Result<()> {
    let denied_role = "arn:aws:iam::123456789012:role/NoPassRole";
    let emulator = start().await?;
    emulator.set_faults(FaultConfig {
        access_denied_role_arns: vec![denied_role.to_owned()],
        ..FaultConfig::default()
    })?;
    let client = sdk(&emulator.url());
    let error = client
        .create_custom_model()
        .model_name("denied")
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(denied_role)
        .client_request_token("t1")
        .send()
        .await
        .err()
        .ok_or_else(|| anyhow!("the role is denied"))?;
    assert_eq!(
        error.raw_response().map(|raw| raw.status().as_u16()),
        Some(403)
    );
    let error = error.into_service_error();
    ensure!(error.is_access_denied_exception(), "got {error:?}");
    ensure!(
        error
            .meta()
            .message()
            .unwrap_or_default()
            .contains(denied_role),
        "the message names the role"
    );
    assert!(emulator.create_log().is_empty());

    // Another role goes through.
    create(&client, "allowed", "t2").await?;
    Ok(())
}

#[tokio::test]
async fn invalid_fault_settings_are_refused() -> Result<()> {
    let emulator = start().await?;
    let refused = emulator.set_faults(FaultConfig {
        internal_error_fraction: 2.0,
        ..FaultConfig::default()
    });
    assert_eq!(
        refused.err().map(|error| error.code()),
        Some("ValidationException")
    );
    Ok(())
}

#[tokio::test]
async fn access_denied_for_chosen_operations() -> Result<()> {
    let emulator = start().await?;
    emulator.set_faults(FaultConfig {
        access_denied_operations: vec![Operation::CreateCustomModelDeployment],
        ..FaultConfig::default()
    })?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let refused = client
        .create_custom_model_deployment()
        .model_deployment_name("denied")
        .model_arn(&model)
        .send()
        .await;
    let (status, code, message) = failure(refused).ok_or_else(|| anyhow!("the call is denied"))?;
    assert_eq!((status, code.as_str()), (403, "AccessDeniedException"));
    ensure!(
        message.contains("bedrock:CreateCustomModelDeployment"),
        "the message names the action: {message}"
    );
    assert!(emulator.deployments().is_empty());
    // Other operations go through.
    client.list_custom_model_deployments().send().await?;
    assert_eq!(
        emulator.counters().get(
            Operation::CreateCustomModelDeployment,
            "AccessDeniedException"
        ),
        1
    );
    Ok(())
}

#[tokio::test]
async fn deployment_operations_have_their_own_token_buckets() -> Result<()> {
    let emulator = start().await?;
    emulator.set_faults(FaultConfig {
        rate_limits: [(
            Operation::GetCustomModelDeployment,
            RateLimit {
                rate_per_second: 0.0,
                burst: 1,
            },
        )]
        .into(),
        ..FaultConfig::default()
    })?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    deploy(&client, "limited", &model, "t1").await?;
    let get = || {
        client
            .get_custom_model_deployment()
            .custom_model_deployment_identifier("limited")
            .send()
    };
    get().await?;
    let (status, code, _) = failure(get().await).ok_or_else(|| anyhow!("throttled"))?;
    assert_eq!((status, code.as_str()), (429, "ThrottlingException"));
    client.list_custom_model_deployments().send().await?;
    let counters = emulator.counters();
    assert_eq!(counters.get(Operation::GetCustomModelDeployment, "Ok"), 1);
    assert_eq!(
        counters.get(Operation::GetCustomModelDeployment, "ThrottlingException"),
        1
    );
    Ok(())
}
