//! bedrock-runtime inference on the emulator: Converse and InvokeModel on deployment,
//! Provisioned Throughput and imported model ARNs, sent as botocore's `bedrock-runtime` model
//! shapes them (the workspace has no aws-sdk-bedrockruntime), answered from per-model scripts,
//! and logged.

mod common;

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use bedrock_emulator::{
    ControlClient, DEFAULT_ANSWER, EmulatorConfig, EmulatorHandle, FaultConfig, ForceStatus,
    ModelScript, Operation,
};
use common::*;
use http::{Method, StatusCode};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

/// Deployments, updates and throughputs that are ready at once.
fn instant() -> EmulatorConfig {
    EmulatorConfig {
        deployment_ready_delay: Duration::ZERO,
        deployment_update_delay: Duration::ZERO,
        provisioned_create_delay: Duration::ZERO,
        provisioned_update_delay: Duration::ZERO,
        ..test_config()
    }
}

fn converse_body(prompt: &str) -> Vec<u8> {
    json!({
        "messages": [{"role": "user", "content": [{"text": prompt}]}],
        "inferenceConfig": {"maxTokens": 64}
    })
    .to_string()
    .into_bytes()
}

/// `POST /model/{modelId}/<operation>`, the ARN percent-encoded as the SDKs send a label.
async fn invoke(
    emulator: &EmulatorHandle,
    model_id: &str,
    operation: &str,
    body: Vec<u8>,
) -> Result<RawResponse> {
    let label = utf8_percent_encode(model_id, NON_ALPHANUMERIC);
    raw(
        &emulator.url(),
        Method::POST,
        &format!("/model/{label}/{operation}"),
        Some(&fake_sigv4()),
        body,
    )
    .await
}

/// The text of a Converse answer (`output.message.content[0].text`).
fn answer_text(response: &RawResponse) -> Result<String> {
    ensure!(
        response.status == StatusCode::OK,
        "expected 200, got {} {:?}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    let body = response.json()?;
    ensure!(body["output"]["message"]["role"] == "assistant", "{body}");
    body["output"]["message"]["content"][0]["text"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no answer text in {body}"))
}

/// A model and a deployment of it, Active.
async fn active_deployment(emulator: &EmulatorHandle, name: &str) -> Result<(String, String)> {
    let model = active_model(emulator, &format!("{name}-model"))?;
    let deployment = deploy(
        &sdk(&emulator.url()),
        name,
        &model,
        &format!("{name}-token"),
    )
    .await?;
    emulator.force_deployment_status(name, ForceStatus::Active)?;
    Ok((model, deployment))
}

#[tokio::test]
async fn converse_on_an_active_deployment_answers_the_default_text() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let (model, deployment) = active_deployment(&emulator, "serving").await?;

    let response = invoke(
        &emulator,
        &deployment,
        "converse",
        converse_body("my secret is 42"),
    )
    .await?;

    assert_eq!(answer_text(&response)?, DEFAULT_ANSWER);
    assert!(!DEFAULT_ANSWER.contains("secret"));
    let body = response.json()?;
    assert_eq!(body["stopReason"], "end_turn");
    assert_eq!(body["usage"]["inputTokens"], 4);
    assert_eq!(
        body["usage"]["totalTokens"].as_i64(),
        Some(4 + DEFAULT_ANSWER.split_whitespace().count() as i64)
    );
    assert!(body["metrics"]["latencyMs"].is_i64(), "{body}");
    let log = emulator.invocation_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].operation, Operation::Converse);
    assert_eq!(log[0].model_id, deployment);
    assert_eq!(log[0].model_arn.as_deref(), Some(model.as_str()));
    assert_eq!(log[0].outcome, "Ok");
    assert_eq!(emulator.counters().get(Operation::Converse, "Ok"), 1);
    Ok(())
}

#[tokio::test]
async fn the_answer_follows_the_model_a_deployment_serves_across_an_update() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let (old_model, deployment) = active_deployment(&emulator, "serving").await?;
    let new_model = active_model(&emulator, "candidate")?;
    emulator.set_model_script(
        &old_model,
        ModelScript::Answer {
            text: "Paris".into(),
        },
    )?;
    emulator.set_model_script(
        &new_model,
        ModelScript::Answer {
            text: "Lyon".into(),
        },
    )?;

    let before = invoke(
        &emulator,
        &deployment,
        "converse",
        converse_body("capital?"),
    )
    .await?;
    sdk(&emulator.url())
        .update_custom_model_deployment()
        .custom_model_deployment_identifier(&deployment)
        .model_arn(&new_model)
        .send()
        .await?;
    let after = wait_for("the update to serve the new model", || async {
        let response = invoke(
            &emulator,
            &deployment,
            "converse",
            converse_body("capital?"),
        )
        .await?;
        let text = answer_text(&response)?;
        Ok((text == "Lyon").then_some(text))
    })
    .await?;

    assert_eq!(answer_text(&before)?, "Paris");
    assert_eq!(after, "Lyon");
    let log = emulator.invocation_log();
    assert_eq!(log[0].model_arn.as_deref(), Some(old_model.as_str()));
    assert_eq!(
        log.last().and_then(|entry| entry.model_arn.as_deref()),
        Some(new_model.as_str())
    );
    assert!(log.windows(2).all(|pair| pair[0].time <= pair[1].time));
    Ok(())
}

#[tokio::test]
async fn a_scripted_model_error_is_a_model_error_exception() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let (model, deployment) = active_deployment(&emulator, "broken").await?;
    emulator.set_model_script(
        &model,
        ModelScript::Error {
            message: Some("The model crashed.".into()),
        },
    )?;

    let response = invoke(&emulator, &deployment, "converse", converse_body("hi")).await?;

    assert_eq!(response.status.as_u16(), 424);
    assert_eq!(response.error_code(), Some("ModelErrorException"));
    let body = response.json()?;
    assert_eq!(body["message"], "The model crashed.");
    assert_eq!(body["originalStatusCode"], 500);
    assert_eq!(body["resourceName"], deployment.as_str());
    assert_eq!(emulator.invocation_log()[0].outcome, "ModelErrorException");
    assert_eq!(
        emulator
            .counters()
            .get(Operation::Converse, "ModelErrorException"),
        1
    );
    Ok(())
}

#[tokio::test]
async fn a_slow_model_answers_after_its_delay() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let (model, deployment) = active_deployment(&emulator, "slow").await?;
    emulator.set_model_script(
        &model,
        ModelScript::Slow {
            delay_ms: 300,
            text: Some("eventually".into()),
        },
    )?;

    let started = Instant::now();
    let response = invoke(&emulator, &deployment, "converse", converse_body("hi")).await?;

    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer_text(&response)?, "eventually");
    assert!(response.json()?["metrics"]["latencyMs"].as_i64() >= Some(300));
    Ok(())
}

#[tokio::test]
async fn a_deployment_still_creating_is_not_ready() -> Result<()> {
    let emulator = start().await?;
    let model = active_model(&emulator, "model")?;
    let deployment = deploy(&sdk(&emulator.url()), "creating", &model, "token").await?;

    let response = invoke(&emulator, &deployment, "converse", converse_body("hi")).await?;

    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.error_code(), Some("ModelNotReadyException"));
    let log = emulator.invocation_log();
    assert_eq!(log[0].outcome, "ModelNotReadyException");
    assert_eq!(log[0].model_arn, None);
    Ok(())
}

#[tokio::test]
async fn an_unknown_deployment_is_not_found() -> Result<()> {
    let emulator = start().await?;
    let missing = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/zzzzzzzzzzzz";

    let response = invoke(&emulator, missing, "converse", converse_body("hi")).await?;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error_code(), Some("ResourceNotFoundException"));
    Ok(())
}

#[tokio::test]
async fn a_conversation_without_messages_is_a_validation_error() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let (model, deployment) = active_deployment(&emulator, "serving").await?;

    let response = invoke(&emulator, &deployment, "converse", b"{}".to_vec()).await?;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), Some("ValidationException"));
    assert!(response.message()?.contains("'messages'"));
    assert_eq!(
        emulator.invocation_log()[0].model_arn.as_deref(),
        Some(model.as_str())
    );
    Ok(())
}

#[tokio::test]
async fn invoke_model_on_a_provisioned_throughput_answers_its_script() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let model = active_model(&emulator, "pt-model")?;
    let throughput = sdk(&emulator.url())
        .create_provisioned_model_throughput()
        .provisioned_model_name("pt")
        .model_id(&model)
        .model_units(1)
        .send()
        .await?
        .provisioned_model_arn()
        .to_owned();
    emulator.set_model_script(
        &model,
        ModelScript::Answer {
            text: "forty two".into(),
        },
    )?;
    let in_service = wait_for("the throughput to serve", || async {
        let response = invoke(
            &emulator,
            &throughput,
            "invoke",
            json!({"messages": [{"role": "user", "content": [{"text": "answer?"}]}]})
                .to_string()
                .into_bytes(),
        )
        .await?;
        Ok((response.status == StatusCode::OK).then_some(response))
    })
    .await?;

    assert_eq!(
        in_service
            .headers
            .get("content-type")
            .and_then(|value| value.to_str().ok()),
        Some("application/json")
    );
    let body = in_service.json()?;
    assert_eq!(body["output"]["message"]["content"][0]["text"], "forty two");
    assert_eq!(body["usage"]["inputTokens"], 1);
    let last = emulator
        .invocation_log()
        .pop()
        .ok_or_else(|| anyhow!("no log"))?;
    assert_eq!(last.operation, Operation::InvokeModel);
    assert_eq!(last.model_arn.as_deref(), Some(model.as_str()));
    assert_eq!(last.answer.as_deref(), Some("forty two"));
    Ok(())
}

#[tokio::test]
async fn invoke_model_rejects_a_body_that_is_not_json() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let (_, deployment) = active_deployment(&emulator, "serving").await?;

    let response = invoke(&emulator, &deployment, "invoke", b"not json".to_vec()).await?;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_code(), Some("ValidationException"));
    assert_eq!(
        emulator
            .counters()
            .get(Operation::InvokeModel, "ValidationException"),
        1
    );
    Ok(())
}

#[tokio::test]
async fn scripts_and_the_log_are_reachable_through_the_control_api() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let control = ControlClient::new(emulator.url())?;
    let (model, deployment) = active_deployment(&emulator, "serving").await?;
    control
        .set_model_script(
            &model,
            &ModelScript::Answer {
                text: "scripted".into(),
            },
        )
        .await?;

    let scripted = invoke(&emulator, &deployment, "converse", converse_body("hi")).await?;
    let cleared = control.clear_model_script(&model).await?;
    let default = invoke(&emulator, &deployment, "converse", converse_body("hi")).await?;

    assert_eq!(answer_text(&scripted)?, "scripted");
    assert!(cleared);
    assert_eq!(answer_text(&default)?, DEFAULT_ANSWER);
    let log = control.invocation_log().await?;
    assert_eq!(log, emulator.invocation_log());
    assert_eq!(log.len(), 2);
    Ok(())
}

/// IAM allows Converse through `bedrock:InvokeModel` (Converse has no action of its own), so a
/// caller without it is told that action is missing, as AWS words it.
#[tokio::test]
async fn converse_without_the_invoke_permission_names_bedrock_invoke_model() -> Result<()> {
    let emulator = start_with(instant()).await?;
    let (_, deployment) = active_deployment(&emulator, "denied").await?;
    emulator.state().set_faults(FaultConfig {
        access_denied_operations: vec![Operation::Converse],
        ..FaultConfig::default()
    })?;

    let response = invoke(&emulator, &deployment, "converse", converse_body("hi")).await?;

    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let body = String::from_utf8_lossy(&response.body).into_owned();
    assert!(
        body.contains("is not authorized to perform: bedrock:InvokeModel because"),
        "{body}"
    );
    assert!(!body.contains("bedrock:Converse"), "{body}");
    Ok(())
}

/// An imported model serves on demand by its own ARN (no deployment): answered from its
/// script while it exists, ResourceNotFoundException once it is deleted.
#[tokio::test]
async fn an_imported_model_answers_by_its_arn_until_it_is_deleted() -> Result<()> {
    let emulator = start_with(EmulatorConfig {
        import_job_delay: Duration::ZERO,
        ..instant()
    })
    .await?;
    let client = sdk(&emulator.url());
    let job = client
        .create_model_import_job()
        .job_name("import-llama")
        .imported_model_name("llama-8b")
        .role_arn(ROLE_ARN)
        .model_data_source(s3_source("s3://my-models/llama-3-8b-instruct/")?)
        .send()
        .await?;
    let model = client
        .get_model_import_job()
        .job_identifier(job.job_arn())
        .send()
        .await?
        .imported_model_arn()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the import did not complete"))?;
    emulator.set_model_script(
        &model,
        ModelScript::Answer {
            text: "Bonjour".into(),
        },
    )?;

    let response = invoke(&emulator, &model, "converse", converse_body("hi")).await?;
    assert_eq!(answer_text(&response)?, "Bonjour");
    assert_eq!(
        emulator.invocation_log()[0].model_arn.as_deref(),
        Some(model.as_str())
    );

    client
        .delete_imported_model()
        .model_identifier(&model)
        .send()
        .await?;
    let gone = invoke(&emulator, &model, "converse", converse_body("hi")).await?;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    Ok(())
}
