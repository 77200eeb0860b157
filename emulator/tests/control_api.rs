//! The control API over HTTP, through the typed client: inspection and scripting.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, anyhow, ensure};
use aws_sdk_bedrock::types::ModelStatus as SdkModelStatus;
use bedrock_emulator::{
    ControlClient, ControlClientError, FaultConfig, ForeignModel, Limits, ModelSource, ModelStatus,
    Operation, RateLimit, Tag,
};
use common::*;

#[tokio::test]
async fn counters_create_log_and_model_table() -> Result<()> {
    let emulator = start().await?;
    let control = ControlClient::new(emulator.url())?;
    control.health().await?;
    let client = sdk(&emulator.url());

    let arn = client
        .create_custom_model()
        .model_name("inspected")
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .model_kms_key_arn(KMS_KEY_ARN)
        .model_tags(tag("team", "ml")?)
        .client_request_token("token-1")
        .send()
        .await?
        .model_arn()
        .to_owned();
    client
        .get_custom_model()
        .model_identifier("inspected")
        .send()
        .await?;
    let _ = client
        .get_custom_model()
        .model_identifier("missing")
        .send()
        .await;
    client.list_custom_models().send().await?;

    let counters = control.counters().await?;
    assert_eq!(counters.get(Operation::CreateCustomModel, "Ok"), 1);
    assert_eq!(counters.get(Operation::GetCustomModel, "Ok"), 1);
    assert_eq!(
        counters.get(Operation::GetCustomModel, "ResourceNotFoundException"),
        1
    );
    assert_eq!(counters.get(Operation::ListCustomModels, "Ok"), 1);
    assert_eq!(counters.total(Operation::DeleteCustomModel), 0);
    assert_eq!(counters, emulator.counters(), "HTTP and in-process agree");

    let log = control.create_log().await?;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].model_name, "inspected");
    assert_eq!(log[0].model_arn, arn);
    assert_eq!(log[0].client_request_token.as_deref(), Some("token-1"));

    let models = control.models().await?;
    assert_eq!(models.len(), 1);
    let model = &models[0];
    assert_eq!(model.model_arn, arn);
    assert_eq!(model.status, ModelStatus::Creating);
    assert_eq!(model.source, Some(ModelSource::S3Uri(S3_URI.into())));
    assert_eq!(model.role_arn.as_deref(), Some(ROLE_ARN));
    assert_eq!(model.model_kms_key_arn.as_deref(), Some(KMS_KEY_ARN));
    assert_eq!(model.tags, vec![Tag::new("team", "ml")]);
    assert!(!model.foreign);
    ensure!(
        model
            .ready_time
            .is_some_and(|ready| ready > model.creation_time)
    );
    assert_eq!(control.model(&arn).await?.as_ref(), Some(model));
    assert_eq!(control.model("missing").await?, None);
    Ok(())
}

#[tokio::test]
async fn foreign_models_and_out_of_band_deletes() -> Result<()> {
    let emulator = start().await?;
    let control = ControlClient::new(emulator.url())?;
    let client = sdk(&emulator.url());

    let record = control
        .insert_model(&ForeignModel {
            role_arn: Some(ROLE_ARN.into()),
            tags: vec![Tag::new("managed-by", "someone-else")],
            ..ForeignModel::new("foreign")
        })
        .await?;
    assert!(record.foreign);
    assert_eq!(record.status, ModelStatus::Active);

    let seen = client
        .get_custom_model()
        .model_identifier("foreign")
        .send()
        .await?;
    assert_eq!(seen.model_arn(), record.model_arn);
    assert_eq!(seen.model_status(), Some(&SdkModelStatus::Active));
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&record.model_arn)
        .send()
        .await?;
    assert_eq!(tags.tags().len(), 1);
    assert!(
        control.create_log().await?.is_empty(),
        "foreign models are not created"
    );

    // Duplicates are refused in the Bedrock error format.
    match control.insert_model(&ForeignModel::new("foreign")).await {
        Err(ControlClientError::Status { code, .. }) => assert_eq!(code, "ConflictException"),
        other => return Err(anyhow!("expected a conflict, got {other:?}")),
    }

    let removed = control.remove_model(&record.model_arn).await?;
    assert_eq!(
        removed.map(|record| record.model_name).as_deref(),
        Some("foreign")
    );
    let error = client
        .get_custom_model()
        .model_identifier("foreign")
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(error.is_some_and(|error| error.is_resource_not_found_exception()));
    assert_eq!(control.remove_model("foreign").await?, None);
    Ok(())
}

#[tokio::test]
async fn delays_conflicts_faults_and_limits_over_http() -> Result<()> {
    let emulator = start().await?;
    let control = ControlClient::new(emulator.url())?;
    let client = sdk(&emulator.url());

    control
        .set_default_ready_delay(Duration::from_millis(250))
        .await?;
    assert_eq!(
        control.default_ready_delay().await?,
        Duration::from_millis(250)
    );
    control.set_ready_delay("instant", Duration::ZERO).await?;
    create(&client, "instant", "t1").await?;
    assert_eq!(
        control.model("instant").await?.map(|model| model.status),
        Some(ModelStatus::Active)
    );
    assert!(control.clear_ready_delay("instant").await?);
    assert!(!control.clear_ready_delay("instant").await?);

    control.set_delete_conflict("instant", Some("busy")).await?;
    assert_eq!(
        control
            .model("instant")
            .await?
            .and_then(|model| model.delete_conflict)
            .as_deref(),
        Some("busy")
    );
    assert!(
        client
            .delete_custom_model()
            .model_identifier("instant")
            .send()
            .await
            .is_err()
    );
    assert!(control.clear_delete_conflict("instant").await?);
    client
        .delete_custom_model()
        .model_identifier("instant")
        .send()
        .await?;

    let faults = FaultConfig {
        latency_ms: 5,
        throttle_fraction: 0.25,
        internal_error_fraction: 0.1,
        operations: vec![Operation::GetCustomModel],
        rate_limits: BTreeMap::from([(
            Operation::CreateCustomModel,
            RateLimit {
                rate_per_second: 2.0,
                burst: 4,
            },
        )]),
        access_denied_role_arns: vec![ROLE_ARN.into()],
        access_denied_operations: vec![Operation::DeleteCustomModelDeployment],
    };
    assert_eq!(control.set_faults(&faults).await?, faults);
    assert_eq!(control.faults().await?, faults);
    assert_eq!(emulator.faults(), faults);
    let refused = control
        .set_faults(&FaultConfig {
            throttle_fraction: -1.0,
            ..FaultConfig::default()
        })
        .await;
    ensure!(
        matches!(refused, Err(ControlClientError::Status { ref code, .. }) if code == "ValidationException"),
        "got {refused:?}"
    );

    let limits = Limits {
        max_models: 7,
        max_tags_per_resource: 9,
        max_deployments: 3,
        max_provisioned_model_units: 4,
        max_imported_models: 5,
        max_concurrent_import_jobs: 2,
    };
    assert_eq!(control.set_limits(&limits).await?, limits);
    assert_eq!(control.limits().await?, limits);

    // Settings for an ARN that does not exist are refused.
    let unknown_arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/aaaaaaaaaaaa";
    assert!(
        control
            .set_delete_conflict(unknown_arn, None)
            .await
            .is_err()
    );
    Ok(())
}

#[tokio::test]
async fn reset_returns_to_the_start_up_state() -> Result<()> {
    let emulator = start().await?;
    let control = ControlClient::new(emulator.url())?;
    let client = sdk(&emulator.url());
    create(&client, "temporary", "token-1").await?;
    control
        .set_faults(&FaultConfig {
            latency_ms: 1,
            ..FaultConfig::default()
        })
        .await?;
    control.set_ready_delay("temporary", Duration::ZERO).await?;

    control.reset().await?;
    assert!(control.models().await?.is_empty());
    assert!(control.create_log().await?.is_empty());
    assert_eq!(control.counters().await?, Default::default());
    assert_eq!(control.faults().await?, FaultConfig::default());
    assert_eq!(
        control.default_ready_delay().await?,
        Duration::from_secs(3600)
    );

    // Tokens are forgotten too: the same token creates anew.
    create(&client, "temporary", "token-1").await?;
    assert_eq!(control.create_log().await?.len(), 1);
    assert_eq!(
        control.model("temporary").await?.map(|model| model.status),
        Some(ModelStatus::Creating),
        "per-model delays are cleared"
    );
    Ok(())
}
