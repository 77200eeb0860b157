//! Custom model deployments through the real SDK: create, get, update (model swap), delete, the
//! lifecycle, scripted failures, the model they hold, quotas and tags.

mod common;

use std::time::{Duration, SystemTime};

use anyhow::{Result, anyhow, ensure};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::types::{CustomModelDeploymentStatus, CustomModelDeploymentUpdateStatus};
use bedrock_emulator::{
    DeploymentDelays, DeploymentFailure, EmulatorConfig, EmulatorHandle, ForceStatus, Limits,
};
use common::*;
use http::Method;
use regex::Regex;

/// Deployments and updates that settle quickly, for the lifecycle tests.
fn quick() -> EmulatorConfig {
    EmulatorConfig {
        deployment_ready_delay: Duration::from_millis(150),
        deployment_update_delay: Duration::from_millis(150),
        ..test_config()
    }
}

async fn status(
    client: &Client,
    identifier: &str,
) -> Result<(
    CustomModelDeploymentStatus,
    String,
    Option<(String, CustomModelDeploymentUpdateStatus)>,
)> {
    let output = client
        .get_custom_model_deployment()
        .custom_model_deployment_identifier(identifier)
        .send()
        .await?;
    Ok((
        output.status().clone(),
        output.model_arn().to_owned(),
        output.update_details().map(|details| {
            (
                details.model_arn().to_owned(),
                details.update_status().clone(),
            )
        }),
    ))
}

async fn wait_active(client: &Client, identifier: &str) -> Result<()> {
    wait_for(&format!("{identifier} Active"), || async {
        let (status, _, _) = status(client, identifier).await?;
        Ok((status == CustomModelDeploymentStatus::Active).then_some(()))
    })
    .await
}

async fn wait_update(
    client: &Client,
    identifier: &str,
    expected: CustomModelDeploymentUpdateStatus,
) -> Result<String> {
    wait_for(&format!("{identifier} {expected:?}"), || async {
        let (_, model_arn, update) = status(client, identifier).await?;
        Ok(update
            .is_some_and(|(_, update_status)| update_status == expected)
            .then_some(model_arn))
    })
    .await
}

/// Two Active models and a deployment of the first, already Active.
async fn deployed(emulator: &EmulatorHandle, client: &Client) -> Result<(String, String, String)> {
    let v1 = active_model(emulator, "model-v1")?;
    let v2 = active_model(emulator, "model-v2")?;
    let deployment = deploy(client, "serving", &v1, "deploy-1").await?;
    emulator.force_deployment_status("serving", ForceStatus::Active)?;
    Ok((v1, v2, deployment))
}

#[tokio::test]
async fn create_then_get_by_name_and_by_arn() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "nova-v1")?;

    let arn = client
        .create_custom_model_deployment()
        .model_deployment_name("nova-serving")
        .model_arn(&model)
        .description("support assistant, on demand")
        .tags(tag("team", "ml")?)
        .client_request_token("deploy-1")
        .send()
        .await?
        .custom_model_deployment_arn()
        .to_owned();
    let shape = Regex::new(
        r"^arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/[a-z0-9]{12}$",
    )?;
    ensure!(shape.is_match(&arn), "unexpected ARN {arn}");

    for identifier in ["nova-serving", arn.as_str()] {
        let output = client
            .get_custom_model_deployment()
            .custom_model_deployment_identifier(identifier)
            .send()
            .await?;
        assert_eq!(output.custom_model_deployment_arn(), arn);
        assert_eq!(output.model_deployment_name(), "nova-serving");
        assert_eq!(output.model_arn(), model);
        assert_eq!(output.status(), &CustomModelDeploymentStatus::Creating);
        assert_eq!(output.description(), Some("support assistant, on demand"));
        assert_eq!(output.update_details(), None);
        assert_eq!(output.failure_message(), None);
        let created = SystemTime::try_from(*output.created_at())?;
        ensure!(SystemTime::now().duration_since(created)? < Duration::from_secs(60));
    }
    Ok(())
}

#[tokio::test]
async fn get_and_list_name_the_deployment_differently() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    deploy(&client, "named", &model, "t1").await?;
    let auth = fake_sigv4();
    let get = raw(
        &emulator.url(),
        Method::GET,
        "/model-customization/custom-model-deployments/named",
        Some(&auth),
        "",
    )
    .await?
    .json()?;
    assert_eq!(get["modelDeploymentName"], "named");
    assert!(get.get("customModelDeploymentName").is_none(), "{get}");
    let list = raw(
        &emulator.url(),
        Method::GET,
        "/model-customization/custom-model-deployments",
        Some(&auth),
        "",
    )
    .await?
    .json()?;
    let summary = &list["modelDeploymentSummaries"][0];
    assert_eq!(summary["customModelDeploymentName"], "named");
    assert!(summary.get("modelDeploymentName").is_none(), "{summary}");
    Ok(())
}

#[tokio::test]
async fn creating_turns_active_after_the_delay() -> Result<()> {
    let emulator = start_with(quick()).await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    deploy(&client, "soon", &model, "t1").await?;
    assert_eq!(
        status(&client, "soon").await?.0,
        CustomModelDeploymentStatus::Creating
    );
    wait_active(&client, "soon").await?;
    let output = client
        .get_custom_model_deployment()
        .custom_model_deployment_identifier("soon")
        .send()
        .await?;
    ensure!(
        output.last_updated_at() > Some(output.created_at()),
        "lastUpdatedAt moves with the status"
    );
    Ok(())
}

#[tokio::test]
async fn deployment_delays_change_over_the_control_api() -> Result<()> {
    let emulator = start().await?;
    let control = bedrock_emulator::ControlClient::new(emulator.url())?;
    let delays = DeploymentDelays {
        create_ms: 0,
        update_ms: 0,
    };
    assert_eq!(control.set_deployment_delays(&delays).await?, delays);
    assert_eq!(control.deployment_delays().await?, delays);
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    deploy(&client, "instant", &model, "t1").await?;
    assert_eq!(
        status(&client, "instant").await?.0,
        CustomModelDeploymentStatus::Active
    );
    Ok(())
}

#[tokio::test]
async fn the_model_must_exist_and_be_active() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let creating = create(&client, "still-importing", "m1").await?;
    let (status, code, message) = failure(
        client
            .create_custom_model_deployment()
            .model_deployment_name("too-early")
            .model_arn(&creating)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("a Creating model cannot be deployed"))?;
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    ensure!(
        message.contains("Creating") && message.contains("Active"),
        "{message}"
    );

    let unknown = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/zzzzzzzzzzzz";
    let (status, code, message) = failure(
        client
            .create_custom_model_deployment()
            .model_deployment_name("nothing")
            .model_arn(unknown)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("an unknown model cannot be deployed"))?;
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    ensure!(
        message.contains(unknown) && message.contains("does not exist"),
        "{message}"
    );
    assert!(emulator.deployments().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_taken_name_is_refused_with_the_documented_code() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    deploy(&client, "taken", &model, "t1").await?;
    let (status, code, message) = failure(
        client
            .create_custom_model_deployment()
            .model_deployment_name("taken")
            .model_arn(&model)
            .client_request_token("t2")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("the name is taken"))?;
    // CreateCustomModelDeployment lists no ConflictException in the service model.
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    ensure!(message.contains("already exists"), "{message}");
    Ok(())
}

#[tokio::test]
async fn the_same_token_replays_and_other_parameters_are_refused() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let first = deploy(&client, "once", &model, "token-1").await?;
    let again = deploy(&client, "once", &model, "token-1").await?;
    assert_eq!(first, again);
    assert_eq!(emulator.deployment_create_log().len(), 1);

    let (status, code, message) = failure(
        client
            .create_custom_model_deployment()
            .model_deployment_name("once")
            .model_arn(&model)
            .description("different")
            .client_request_token("token-1")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("other parameters with the same token"))?;
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    ensure!(message.contains("clientRequestToken"), "{message}");
    Ok(())
}

#[tokio::test]
async fn the_deployment_quota_is_enforced() -> Result<()> {
    let emulator = start().await?;
    emulator.set_limits(Limits {
        max_deployments: 1,
        ..Limits::default()
    });
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    deploy(&client, "first", &model, "t1").await?;
    let (status, code, _) = failure(
        client
            .create_custom_model_deployment()
            .model_deployment_name("second")
            .model_arn(&model)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("over the quota"))?;
    assert_eq!(
        (status, code.as_str()),
        (400, "ServiceQuotaExceededException")
    );
    Ok(())
}

#[tokio::test]
async fn a_scripted_failure_fails_the_next_deployment_only() -> Result<()> {
    let emulator = start_with(quick()).await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    emulator
        .add_deployment_failure(DeploymentFailure::next_create("no capacity for this model"))?;
    deploy(&client, "unlucky", &model, "t1").await?;
    deploy(&client, "lucky", &model, "t2").await?;
    let failed = wait_for("unlucky Failed", || async {
        let output = client
            .get_custom_model_deployment()
            .custom_model_deployment_identifier("unlucky")
            .send()
            .await?;
        Ok((output.status() == &CustomModelDeploymentStatus::Failed)
            .then(|| output.failure_message().map(str::to_owned)))
    })
    .await?;
    assert_eq!(failed.as_deref(), Some("no capacity for this model"));
    wait_active(&client, "lucky").await?;
    assert!(emulator.deployment_failures().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_named_failure_hits_only_that_deployment() -> Result<()> {
    let emulator = start_with(quick()).await?;
    let control = bedrock_emulator::ControlClient::new(emulator.url())?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    control
        .add_deployment_failure(&DeploymentFailure::next_create("bad").for_deployment("target"))
        .await?;
    deploy(&client, "bystander", &model, "t1").await?;
    deploy(&client, "target", &model, "t2").await?;
    wait_active(&client, "bystander").await?;
    wait_for("target Failed", || async {
        let (status, _, _) = status(&client, "target").await?;
        Ok((status == CustomModelDeploymentStatus::Failed).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn an_update_swaps_the_model_after_the_delay() -> Result<()> {
    let emulator = start_with(quick()).await?;
    let client = sdk(&emulator.url());
    let (v1, v2, arn) = deployed(&emulator, &client).await?;

    let output = client
        .update_custom_model_deployment()
        .custom_model_deployment_identifier(&arn)
        .model_arn(&v2)
        .send()
        .await?;
    assert_eq!(output.custom_model_deployment_arn(), arn);
    let (state, serving, update) = status(&client, "serving").await?;
    assert_eq!(state, CustomModelDeploymentStatus::Active, "still serving");
    assert_eq!(serving, v1, "the old model serves while Updating");
    assert_eq!(
        update,
        Some((v2.clone(), CustomModelDeploymentUpdateStatus::Updating))
    );

    let serving = wait_update(
        &client,
        "serving",
        CustomModelDeploymentUpdateStatus::UpdateCompleted,
    )
    .await?;
    assert_eq!(serving, v2);
    Ok(())
}

#[tokio::test]
async fn a_failed_update_keeps_serving_the_old_model() -> Result<()> {
    let emulator = start_with(quick()).await?;
    let client = sdk(&emulator.url());
    let (v1, v2, _) = deployed(&emulator, &client).await?;
    emulator.add_deployment_failure(DeploymentFailure::next_update("weights incompatible"))?;
    client
        .update_custom_model_deployment()
        .custom_model_deployment_identifier("serving")
        .model_arn(&v2)
        .send()
        .await?;
    let serving = wait_update(
        &client,
        "serving",
        CustomModelDeploymentUpdateStatus::UpdateFailed,
    )
    .await?;
    assert_eq!(serving, v1);
    let (state, _, update) = status(&client, "serving").await?;
    assert_eq!(state, CustomModelDeploymentStatus::Active);
    assert_eq!(
        update,
        Some((v2, CustomModelDeploymentUpdateStatus::UpdateFailed))
    );
    Ok(())
}

#[tokio::test]
async fn only_an_active_deployment_not_updating_can_be_updated() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let v1 = active_model(&emulator, "model-v1")?;
    let v2 = active_model(&emulator, "model-v2")?;
    let v3 = active_model(&emulator, "model-v3")?;
    deploy(&client, "young", &v1, "t1").await?;
    let update = |model: String| {
        let client = client.clone();
        async move {
            client
                .update_custom_model_deployment()
                .custom_model_deployment_identifier("young")
                .model_arn(model)
                .send()
                .await
        }
    };

    // Creating: refused with the documented code (UpdateCustomModelDeployment lists no
    // ConflictException).
    let (status_code, code, message) =
        failure(update(v2.clone()).await).ok_or_else(|| anyhow!("Creating"))?;
    assert_eq!((status_code, code.as_str()), (400, "ValidationException"));
    ensure!(message.contains("Creating"), "{message}");

    emulator.force_deployment_status("young", ForceStatus::Active)?;
    update(v2.clone()).await?;
    // A retry of the same update is a no-op; another target while Updating is refused.
    update(v2.clone()).await?;
    let (status_code, code, message) =
        failure(update(v3).await).ok_or_else(|| anyhow!("Updating"))?;
    assert_eq!((status_code, code.as_str()), (400, "ValidationException"));
    ensure!(message.contains("already being updated"), "{message}");

    emulator.force_deployment_status(
        "young",
        ForceStatus::Failed {
            failure_message: None,
        },
    )?;
    let (_, code, _) = failure(update(v1).await).ok_or_else(|| anyhow!("Failed"))?;
    assert_eq!(code, "ValidationException");
    Ok(())
}

#[tokio::test]
async fn a_model_in_use_cannot_be_deleted() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let (v1, v2, _) = deployed(&emulator, &client).await?;
    let delete = |name: &'static str| {
        let client = client.clone();
        async move {
            client
                .delete_custom_model()
                .model_identifier(name)
                .send()
                .await
        }
    };
    let (status_code, code, message) =
        failure(delete("model-v1").await).ok_or_else(|| anyhow!("v1 is deployed"))?;
    assert_eq!((status_code, code.as_str()), (400, "ConflictException"));
    ensure!(message.contains("'serving'"), "{message}");

    // During a swap both models are held.
    client
        .update_custom_model_deployment()
        .custom_model_deployment_identifier("serving")
        .model_arn(&v2)
        .send()
        .await?;
    for name in ["model-v1", "model-v2"] {
        let (_, code, _) = failure(delete(name).await).ok_or_else(|| anyhow!("{name} held"))?;
        assert_eq!(code, "ConflictException", "{name}");
    }
    // Deleting the deployment does not delete the model, and frees both.
    client
        .delete_custom_model_deployment()
        .custom_model_deployment_identifier("serving")
        .send()
        .await?;
    assert!(emulator.model(&v1).is_some() && emulator.model(&v2).is_some());
    delete("model-v1").await?;
    delete("model-v2").await?;
    Ok(())
}

#[tokio::test]
async fn a_creating_deployment_holds_its_model() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    deploy(&client, "pending", &model, "t1").await?;
    let (_, code, _) = failure(
        client
            .delete_custom_model()
            .model_identifier(&model)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("the model is held"))?;
    assert_eq!(code, "ConflictException");
    Ok(())
}

#[tokio::test]
async fn a_deleted_deployment_is_not_found() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let arn = deploy(&client, "short-lived", &model, "t1").await?;
    client
        .delete_custom_model_deployment()
        .custom_model_deployment_identifier(&arn)
        .send()
        .await?;
    let (status_code, code, message) = failure(
        client
            .get_custom_model_deployment()
            .custom_model_deployment_identifier(&arn)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("gone"))?;
    assert_eq!(
        (status_code, code.as_str()),
        (404, "ResourceNotFoundException")
    );
    ensure!(message.contains(&arn), "{message}");
    let (_, code, _) = failure(
        client
            .delete_custom_model_deployment()
            .custom_model_deployment_identifier("short-lived")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("gone"))?;
    assert_eq!(code, "ResourceNotFoundException");
    let (_, code, _) = failure(
        client
            .update_custom_model_deployment()
            .custom_model_deployment_identifier("short-lived")
            .model_arn(&model)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("gone"))?;
    assert_eq!(code, "ResourceNotFoundException");
    // The name is free again.
    deploy(&client, "short-lived", &model, "t2").await?;
    Ok(())
}

#[tokio::test]
async fn deployments_are_tagged_like_models() -> Result<()> {
    let emulator = start().await?;
    emulator.set_limits(Limits {
        max_tags_per_resource: 2,
        ..Limits::default()
    });
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let arn = client
        .create_custom_model_deployment()
        .model_deployment_name("tagged")
        .model_arn(&model)
        .tags(tag("team", "ml")?)
        .send()
        .await?
        .custom_model_deployment_arn()
        .to_owned();
    let tags = |arn: String| {
        let client = client.clone();
        async move {
            let output = client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await?;
            anyhow::Ok(
                output
                    .tags()
                    .iter()
                    .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                    .collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(tags(arn.clone()).await?, [("team".into(), "ml".into())]);
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("stage", "prod")?)
        .send()
        .await?;
    let (_, code, _) = failure(
        client
            .tag_resource()
            .resource_arn(&arn)
            .tags(tag("third", "x")?)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("over the tag limit"))?;
    assert_eq!(code, "TooManyTagsException");
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .send()
        .await?;
    assert_eq!(tags(arn.clone()).await?, [("stage".into(), "prod".into())]);
    // The model's tags are its own.
    assert!(tags(model).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn validation_errors_name_each_member() -> Result<()> {
    let emulator = start().await?;
    let auth = fake_sigv4();
    let response = raw(
        &emulator.url(),
        Method::POST,
        "/model-customization/custom-model-deployments",
        Some(&auth),
        r#"{"modelDeploymentName":"bad name","modelArn":"arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghij12","description":""}"#,
    )
    .await?;
    assert_eq!(response.status, 400);
    assert_eq!(response.error_code(), Some("ValidationException"));
    let message = response.message()?;
    ensure!(
        message.starts_with("3 validation errors detected:")
            && message.contains("Value 'bad name' at 'modelDeploymentName'")
            && message.contains("at 'modelArn' failed to satisfy constraint: Member must satisfy regular expression pattern")
            && message.contains("at 'description' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        "{message}"
    );

    let response = raw(
        &emulator.url(),
        Method::PATCH,
        "/model-customization/custom-model-deployments/some-deployment",
        Some(&auth),
        "{}",
    )
    .await?;
    assert_eq!(response.error_code(), Some("ValidationException"));
    ensure!(
        response
            .message()?
            .contains("at 'modelArn' failed to satisfy constraint: Member must not be null")
    );

    let response = raw(
        &emulator.url(),
        Method::GET,
        "/model-customization/custom-model-deployments/has%20space",
        Some(&auth),
        "",
    )
    .await?;
    assert_eq!(response.error_code(), Some("ValidationException"));
    ensure!(
        response
            .message()?
            .contains("'customModelDeploymentIdentifier'")
    );
    Ok(())
}

#[tokio::test]
async fn the_control_api_shows_and_scripts_deployments() -> Result<()> {
    let emulator = start().await?;
    let control = bedrock_emulator::ControlClient::new(emulator.url())?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let arn = deploy(&client, "inspected", &model, "token-9").await?;

    let record = control
        .deployment(&arn)
        .await?
        .ok_or_else(|| anyhow!("in the table"))?;
    assert_eq!(record.model_deployment_name, "inspected");
    assert_eq!(record.model_arn, model);
    assert_eq!(record.client_request_token.as_deref(), Some("token-9"));
    assert_eq!(control.deployments().await?, vec![record]);
    let log = control.deployment_create_log().await?;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].custom_model_deployment_arn, arn);

    let forced = control
        .force_deployment_status(
            "inspected",
            &ForceStatus::Failed {
                failure_message: Some("forced".into()),
            },
        )
        .await?;
    assert_eq!(forced.failure_message.as_deref(), Some("forced"));
    assert_eq!(
        status(&client, "inspected").await?.0,
        CustomModelDeploymentStatus::Failed
    );

    let pending = control
        .add_deployment_failure(&DeploymentFailure {
            count: 2,
            ..DeploymentFailure::next_update("x")
        })
        .await?;
    assert_eq!(pending.len(), 1);
    assert!(control.clear_deployment_failures().await?);
    assert!(control.deployment_failures().await?.is_empty());

    assert!(control.remove_deployment("inspected").await?.is_some());
    assert!(control.deployment("inspected").await?.is_none());
    control.reset().await?;
    assert!(control.deployment_create_log().await?.is_empty());
    Ok(())
}
