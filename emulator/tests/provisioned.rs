//! Provisioned Throughput through the real SDK: create, get, update (rename, model switch),
//! delete, the lifecycle, commitment terms and the clock, the model-unit quota, the same-base
//! rule, scripted failures, the models they hold, tags, validation, faults and counters.

mod common;

use std::time::{Duration, SystemTime};

use anyhow::{Result, anyhow, ensure};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::types::{CommitmentDuration, ProvisionedModelStatus};
use bedrock_emulator::{
    EmulatorConfig, EmulatorHandle, FaultConfig, ForeignModel, Limits, Operation,
    ProvisionedDelays, ProvisionedFailure, ProvisionedForceStatus, RateLimit,
};
use common::*;
use http::Method;
use regex::Regex;

const NOVA_LITE: &str = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";
const NOVA_PRO: &str = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0";

/// Throughputs and model switches that settle quickly, for the lifecycle tests.
fn quick() -> EmulatorConfig {
    EmulatorConfig {
        provisioned_create_delay: Duration::from_millis(150),
        provisioned_update_delay: Duration::from_millis(150),
        ..test_config()
    }
}

/// Throughputs that stay Creating (and switches Updating) until a test moves the clock.
fn slow() -> EmulatorConfig {
    EmulatorConfig {
        provisioned_create_delay: Duration::from_secs(3600),
        provisioned_update_delay: Duration::from_secs(3600),
        ..test_config()
    }
}

/// Buys `units` model units of `model_id` as `name`; returns the throughput's ARN.
async fn provision(
    client: &Client,
    name: &str,
    model_id: &str,
    units: i32,
    token: &str,
) -> Result<String> {
    let output = client
        .create_provisioned_model_throughput()
        .provisioned_model_name(name)
        .model_id(model_id)
        .model_units(units)
        .client_request_token(token)
        .send()
        .await
        .map_err(|error| anyhow!("provision {name}: {error:?}"))?;
    Ok(output.provisioned_model_arn().to_owned())
}

/// Status, model and desired model, as GetProvisionedModelThroughput reports them.
async fn status(
    client: &Client,
    identifier: &str,
) -> Result<(ProvisionedModelStatus, String, String)> {
    let output = client
        .get_provisioned_model_throughput()
        .provisioned_model_id(identifier)
        .send()
        .await?;
    Ok((
        output.status().clone(),
        output.model_arn().to_owned(),
        output.desired_model_arn().to_owned(),
    ))
}

async fn wait_status(
    client: &Client,
    identifier: &str,
    expected: ProvisionedModelStatus,
) -> Result<String> {
    wait_for(&format!("{identifier} {expected:?}"), || async {
        let (status, model_arn, _) = status(client, identifier).await?;
        Ok((status == expected).then_some(model_arn))
    })
    .await
}

/// A model of the given foundation model, Active at once; returns its ARN.
fn model_of(emulator: &EmulatorHandle, name: &str, foundation: &str) -> Result<String> {
    Ok(emulator
        .insert_model(ForeignModel {
            foundation_model_arn: Some(foundation.into()),
            ..ForeignModel::new(name)
        })?
        .model_arn)
}

/// Two Active models of Nova Lite and a throughput of the first, already InService.
async fn in_service(
    emulator: &EmulatorHandle,
    client: &Client,
) -> Result<(String, String, String)> {
    let v1 = model_of(emulator, "model-v1", NOVA_LITE)?;
    let v2 = model_of(emulator, "model-v2", NOVA_LITE)?;
    let arn = provision(client, "serving", &v1, 1, "pt-1").await?;
    emulator.force_provisioned_status("serving", ProvisionedForceStatus::InService)?;
    Ok((v1, v2, arn))
}

#[tokio::test]
async fn create_then_get_by_name_and_by_arn() -> Result<()> {
    let emulator = start_with(slow()).await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "nova-v1")?;
    let arn = client
        .create_provisioned_model_throughput()
        .provisioned_model_name("nova-pt")
        .model_id("nova-v1")
        .model_units(1)
        .tags(tag("team", "ml")?)
        .client_request_token("pt-1")
        .send()
        .await?
        .provisioned_model_arn()
        .to_owned();
    let shape =
        Regex::new(r"^arn:aws:bedrock:us-east-1:123456789012:provisioned-model/[a-z0-9]{12}$")?;
    ensure!(shape.is_match(&arn), "unexpected ARN {arn}");

    for identifier in ["nova-pt", arn.as_str()] {
        let output = client
            .get_provisioned_model_throughput()
            .provisioned_model_id(identifier)
            .send()
            .await?;
        assert_eq!(output.provisioned_model_arn(), arn);
        assert_eq!(output.provisioned_model_name(), "nova-pt");
        assert_eq!((output.model_units(), output.desired_model_units()), (1, 1));
        assert_eq!(output.model_arn(), model, "the name resolves to the ARN");
        assert_eq!(output.desired_model_arn(), model);
        // A model without a foundation model counts as customized from the default.
        assert_eq!(output.foundation_model_arn(), NOVA_LITE);
        assert_eq!(output.status(), &ProvisionedModelStatus::Creating);
        assert_eq!(output.failure_message(), None);
        assert_eq!(output.commitment_duration(), None);
        assert_eq!(output.commitment_expiration_time(), None);
        assert_eq!(output.last_modified_time(), output.creation_time());
        let created = SystemTime::try_from(*output.creation_time())?;
        ensure!(SystemTime::now().duration_since(created)? < Duration::from_secs(60));
    }
    Ok(())
}

#[tokio::test]
async fn creating_turns_in_service_after_the_delay() -> Result<()> {
    let emulator = start_with(quick()).await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    provision(&client, "soon", &model, 1, "t1").await?;
    assert_eq!(
        status(&client, "soon").await?.0,
        ProvisionedModelStatus::Creating
    );
    wait_status(&client, "soon", ProvisionedModelStatus::InService).await?;
    let output = client
        .get_provisioned_model_throughput()
        .provisioned_model_id("soon")
        .send()
        .await?;
    ensure!(
        output.last_modified_time() > output.creation_time(),
        "lastModifiedTime moves with the status"
    );
    Ok(())
}

#[tokio::test]
async fn moving_the_clock_runs_the_delays_out() -> Result<()> {
    let emulator = start_with(slow()).await?;
    let control = bedrock_emulator::ControlClient::new(emulator.url())?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    provision(&client, "waiting", &model, 1, "t1").await?;
    assert_eq!(control.clock().await?.offset_ms, 0);

    let clock = control.advance_clock(Duration::from_secs(3599)).await?;
    assert_eq!(clock.offset_ms, 3_599_000);
    assert_eq!(
        status(&client, "waiting").await?.0,
        ProvisionedModelStatus::Creating
    );
    control.advance_clock(Duration::from_secs(1)).await?;
    assert_eq!(
        status(&client, "waiting").await?.0,
        ProvisionedModelStatus::InService
    );
    // What the emulator reports is on its clock: an hour ahead of the wall clock.
    let output = client
        .get_provisioned_model_throughput()
        .provisioned_model_id("waiting")
        .send()
        .await?;
    let modified = SystemTime::try_from(*output.last_modified_time())?;
    ensure!(modified.duration_since(SystemTime::now())? > Duration::from_secs(3500));

    // Reset puts the clock back on the wall clock.
    control.reset().await?;
    assert_eq!(control.clock().await?.offset_ms, 0);
    Ok(())
}

#[tokio::test]
async fn a_foundation_model_is_provisioned_by_id_or_arn() -> Result<()> {
    let emulator = start().await?;
    emulator.set_limits(Limits {
        max_provisioned_model_units: 10,
        ..Limits::default()
    });
    let client = sdk(&emulator.url());
    for (name, model_id) in [("by-id", "amazon.nova-pro-v1:0"), ("by-arn", NOVA_PRO)] {
        provision(&client, name, model_id, 1, name).await?;
        let output = client
            .get_provisioned_model_throughput()
            .provisioned_model_id(name)
            .send()
            .await?;
        assert_eq!(output.model_arn(), NOVA_PRO, "{name}");
        assert_eq!(output.foundation_model_arn(), NOVA_PRO, "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn a_custom_model_must_exist_and_be_active() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let (status_code, code, message) = failure(
        client
            .create_provisioned_model_throughput()
            .provisioned_model_name("orphan")
            .model_id("no-such-model")
            .model_units(1)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("an unknown model cannot be provisioned"))?;
    assert_eq!(
        (status_code, code.as_str()),
        (404, "ResourceNotFoundException")
    );
    ensure!(message.contains("no-such-model"), "{message}");

    let creating = create(&client, "still-importing", "m1").await?;
    let (status_code, code, message) = failure(
        client
            .create_provisioned_model_throughput()
            .provisioned_model_name("too-early")
            .model_id(&creating)
            .model_units(1)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("a Creating model cannot be provisioned"))?;
    assert_eq!((status_code, code.as_str()), (400, "ValidationException"));
    ensure!(
        message.contains("Creating") && message.contains("Active"),
        "{message}"
    );
    assert!(emulator.provisioned_throughputs().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_taken_name_is_refused_with_the_documented_code() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    provision(&client, "taken", &model, 1, "t1").await?;
    let (status_code, code, message) = failure(
        client
            .create_provisioned_model_throughput()
            .provisioned_model_name("taken")
            .model_id(&model)
            .model_units(1)
            .client_request_token("t2")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("the name is taken"))?;
    // CreateProvisionedModelThroughput lists no ConflictException in the service model.
    assert_eq!((status_code, code.as_str()), (400, "ValidationException"));
    ensure!(message.contains("already exists"), "{message}");
    Ok(())
}

#[tokio::test]
async fn the_same_token_replays_and_other_parameters_are_refused() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let first = provision(&client, "once", &model, 1, "token-1").await?;
    let again = provision(&client, "once", &model, 1, "token-1").await?;
    assert_eq!(first, again);
    assert_eq!(emulator.provisioned_create_log().len(), 1);

    let (status_code, code, message) = failure(
        client
            .create_provisioned_model_throughput()
            .provisioned_model_name("once")
            .model_id(&model)
            .model_units(1)
            .commitment_duration(CommitmentDuration::OneMonth)
            .client_request_token("token-1")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("other parameters with the same token"))?;
    assert_eq!((status_code, code.as_str()), (400, "ValidationException"));
    ensure!(message.contains("clientRequestToken"), "{message}");
    Ok(())
}

#[tokio::test]
async fn tokens_expire_when_the_clock_passes_the_window() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    provision(&client, "once", &model, 1, "token-1").await?;
    emulator.advance_clock(Duration::from_secs(8 * 60 * 60))?;
    // A fresh request now, and the name is taken.
    let (_, code, message) = failure(
        client
            .create_provisioned_model_throughput()
            .provisioned_model_name("once")
            .model_id(&model)
            .model_units(1)
            .client_request_token("token-1")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("the token is forgotten"))?;
    assert_eq!(code, "ValidationException");
    ensure!(message.contains("already exists"), "{message}");
    Ok(())
}

#[tokio::test]
async fn the_model_unit_quota_counts_every_throughput() -> Result<()> {
    let emulator = start().await?;
    assert_eq!(emulator.limits().max_provisioned_model_units, 2);
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    provision(&client, "first", &model, 1, "t1").await?;
    let over = |name: &'static str, units: i32| {
        let client = client.clone();
        let model = model.clone();
        async move {
            client
                .create_provisioned_model_throughput()
                .provisioned_model_name(name)
                .model_id(model)
                .model_units(units)
                .send()
                .await
        }
    };
    let (status_code, code, message) =
        failure(over("second", 2).await).ok_or_else(|| anyhow!("3 units > 2"))?;
    assert_eq!(
        (status_code, code.as_str()),
        (400, "ServiceQuotaExceededException")
    );
    ensure!(message.contains("quota of 2 model units"), "{message}");
    over("second", 1).await?;
    // Deleting a throughput gives its units back.
    client
        .delete_provisioned_model_throughput()
        .provisioned_model_id("first")
        .send()
        .await?;
    over("third", 1).await?;
    emulator.set_limits(Limits {
        max_provisioned_model_units: 10,
        ..Limits::default()
    });
    over("fourth", 8).await?;
    Ok(())
}

#[tokio::test]
async fn a_model_switch_runs_after_the_delay() -> Result<()> {
    let emulator = start_with(quick()).await?;
    let client = sdk(&emulator.url());
    let (v1, v2, arn) = in_service(&emulator, &client).await?;
    client
        .update_provisioned_model_throughput()
        .provisioned_model_id(&arn)
        .desired_model_id(&v2)
        .send()
        .await?;
    assert_eq!(
        status(&client, "serving").await?,
        (ProvisionedModelStatus::Updating, v1, v2.clone()),
        "the old model serves while Updating"
    );
    let serving = wait_status(&client, "serving", ProvisionedModelStatus::InService).await?;
    assert_eq!(serving, v2);
    assert_eq!(status(&client, "serving").await?.2, v2);
    Ok(())
}

#[tokio::test]
async fn a_rename_is_immediate_and_frees_the_old_name() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let arn = provision(&client, "old-name", &model, 1, "t1").await?;
    provision(&client, "taken", &model, 1, "t2").await?;
    client
        .update_provisioned_model_throughput()
        .provisioned_model_id("old-name")
        .desired_provisioned_model_name("new-name")
        .send()
        .await?;
    let output = client
        .get_provisioned_model_throughput()
        .provisioned_model_id("new-name")
        .send()
        .await?;
    assert_eq!(output.provisioned_model_arn(), arn);
    assert_eq!(
        output.status(),
        &ProvisionedModelStatus::Creating,
        "a rename is no update"
    );
    let (_, code, _) = failure(
        client
            .get_provisioned_model_throughput()
            .provisioned_model_id("old-name")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("the old name is gone"))?;
    assert_eq!(code, "ResourceNotFoundException");

    let (status_code, code, message) = failure(
        client
            .update_provisioned_model_throughput()
            .provisioned_model_id(&arn)
            .desired_provisioned_model_name("taken")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("the name is taken"))?;
    assert_eq!((status_code, code.as_str()), (400, "ValidationException"));
    ensure!(message.contains("already exists"), "{message}");
    Ok(())
}

#[tokio::test]
async fn a_custom_model_switches_only_within_its_base_model() -> Result<()> {
    let emulator = start_with(EmulatorConfig {
        provisioned_update_delay: Duration::ZERO,
        ..test_config()
    })
    .await?;
    let client = sdk(&emulator.url());
    let (_, v2, arn) = in_service(&emulator, &client).await?;
    let other_base = model_of(&emulator, "pro-tuned", NOVA_PRO)?;
    let switch = |model: String| {
        let client = client.clone();
        let arn = arn.clone();
        async move {
            client
                .update_provisioned_model_throughput()
                .provisioned_model_id(arn)
                .desired_model_id(model)
                .send()
                .await
        }
    };
    let (status_code, code, message) =
        failure(switch(other_base).await).ok_or_else(|| anyhow!("another base model"))?;
    assert_eq!((status_code, code.as_str()), (400, "ValidationException"));
    ensure!(
        message.contains(NOVA_PRO) && message.contains(NOVA_LITE),
        "{message}"
    );
    let (_, code, _) = failure(switch(NOVA_PRO.into()).await)
        .ok_or_else(|| anyhow!("another foundation model"))?;
    assert_eq!(code, "ValidationException");

    // Its own base model, then another custom model of the same base.
    switch("amazon.nova-lite-v1:0".into()).await?;
    assert_eq!(status(&client, &arn).await?.1, NOVA_LITE);
    switch(v2.clone()).await?;
    assert_eq!(status(&client, &arn).await?.1, v2);

    // A throughput bought for a foundation model keeps it.
    provision(&client, "base", "amazon.nova-lite-v1:0", 1, "t9").await?;
    emulator.force_provisioned_status("base", ProvisionedForceStatus::InService)?;
    let (_, code, message) = failure(
        client
            .update_provisioned_model_throughput()
            .provisioned_model_id("base")
            .desired_model_id(&v2)
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("a base model throughput"))?;
    assert_eq!(code, "ValidationException");
    ensure!(message.contains("base model"), "{message}");
    Ok(())
}

#[tokio::test]
async fn only_an_in_service_throughput_switches_models() -> Result<()> {
    let emulator = start_with(slow()).await?;
    let client = sdk(&emulator.url());
    let v1 = model_of(&emulator, "model-v1", NOVA_LITE)?;
    let v2 = model_of(&emulator, "model-v2", NOVA_LITE)?;
    let v3 = model_of(&emulator, "model-v3", NOVA_LITE)?;
    provision(&client, "young", &v1, 1, "t1").await?;
    let switch = |model: String| {
        let client = client.clone();
        async move {
            client
                .update_provisioned_model_throughput()
                .provisioned_model_id("young")
                .desired_model_id(model)
                .send()
                .await
        }
    };
    // Creating: refused with the documented code (UpdateProvisionedModelThroughput lists no
    // ConflictException).
    let (status_code, code, message) =
        failure(switch(v2.clone()).await).ok_or_else(|| anyhow!("Creating"))?;
    assert_eq!((status_code, code.as_str()), (400, "ValidationException"));
    ensure!(message.contains("Creating"), "{message}");

    emulator.force_provisioned_status("young", ProvisionedForceStatus::InService)?;
    switch(v2.clone()).await?;
    // A retry of the same switch is a no-op; another target while Updating is refused.
    switch(v2.clone()).await?;
    let (_, code, message) = failure(switch(v3).await).ok_or_else(|| anyhow!("Updating"))?;
    assert_eq!(code, "ValidationException");
    ensure!(message.contains("Updating"), "{message}");
    // The model must exist: a ValidationException, since ResourceNotFoundException would say
    // the throughput is gone.
    emulator.force_provisioned_status("young", ProvisionedForceStatus::InService)?;
    let (_, code, _) =
        failure(switch("no-such-model".into()).await).ok_or_else(|| anyhow!("an unknown model"))?;
    assert_eq!(code, "ValidationException");
    Ok(())
}

#[tokio::test]
async fn a_scripted_failure_fails_the_next_create_only() -> Result<()> {
    let emulator = start_with(quick()).await?;
    emulator.set_limits(Limits {
        max_provisioned_model_units: 10,
        ..Limits::default()
    });
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    emulator.add_provisioned_failure(ProvisionedFailure::next_create("insufficient capacity"))?;
    provision(&client, "unlucky", &model, 1, "t1").await?;
    provision(&client, "lucky", &model, 1, "t2").await?;
    wait_status(&client, "unlucky", ProvisionedModelStatus::Failed).await?;
    let output = client
        .get_provisioned_model_throughput()
        .provisioned_model_id("unlucky")
        .send()
        .await?;
    assert_eq!(output.failure_message(), Some("insufficient capacity"));
    wait_status(&client, "lucky", ProvisionedModelStatus::InService).await?;
    assert!(emulator.provisioned_failures().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_failed_switch_leaves_the_throughput_failed_on_the_old_model() -> Result<()> {
    let emulator = start_with(quick()).await?;
    let client = sdk(&emulator.url());
    let (v1, v2, _) = in_service(&emulator, &client).await?;
    emulator.add_provisioned_failure(
        ProvisionedFailure::next_update("weights incompatible").for_provisioned_model("serving"),
    )?;
    client
        .update_provisioned_model_throughput()
        .provisioned_model_id("serving")
        .desired_model_id(&v2)
        .send()
        .await?;
    let serving = wait_status(&client, "serving", ProvisionedModelStatus::Failed).await?;
    assert_eq!(serving, v1);
    let output = client
        .get_provisioned_model_throughput()
        .provisioned_model_id("serving")
        .send()
        .await?;
    assert_eq!(output.desired_model_arn(), v2);
    assert_eq!(output.failure_message(), Some("weights incompatible"));
    Ok(())
}

#[tokio::test]
async fn a_commitment_refuses_deletion_until_its_term_ends() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    client
        .create_provisioned_model_throughput()
        .provisioned_model_name("committed")
        .model_id(&model)
        .model_units(1)
        .commitment_duration(CommitmentDuration::OneMonth)
        .send()
        .await?;
    let output = client
        .get_provisioned_model_throughput()
        .provisioned_model_id("committed")
        .send()
        .await?;
    assert_eq!(
        output.commitment_duration(),
        Some(&CommitmentDuration::OneMonth)
    );
    let created = SystemTime::try_from(*output.creation_time())?;
    let ends = output
        .commitment_expiration_time()
        .ok_or_else(|| anyhow!("commitmentExpirationTime"))?;
    let term = SystemTime::try_from(*ends)?.duration_since(created)?;
    // One calendar month.
    ensure!(
        (28..=31).contains(&(term.as_secs() / 86_400)) && term.as_secs() % 86_400 == 0,
        "{term:?}"
    );

    let delete = || {
        client
            .delete_provisioned_model_throughput()
            .provisioned_model_id("committed")
            .send()
    };
    let (status_code, code, message) =
        failure(delete().await).ok_or_else(|| anyhow!("the term is running"))?;
    assert_eq!((status_code, code.as_str()), (400, "ConflictException"));
    // The message says when the term ends (to the minute, whatever the fraction format).
    let ends_text = ends.fmt(aws_smithy_types::date_time::Format::DateTime)?;
    ensure!(
        message.contains("OneMonth") && message.contains(&ends_text[..16]),
        "{message} (ends {ends_text})"
    );

    emulator.advance_clock(term - Duration::from_secs(1))?;
    let (_, code, _) = failure(delete().await).ok_or_else(|| anyhow!("one second left"))?;
    assert_eq!(code, "ConflictException");
    emulator.advance_clock(Duration::from_secs(1))?;
    delete().await?;
    assert!(emulator.provisioned_throughputs().is_empty());
    Ok(())
}

#[tokio::test]
async fn a_six_month_term_and_no_commitment() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    client
        .create_provisioned_model_throughput()
        .provisioned_model_name("long")
        .model_id(&model)
        .model_units(1)
        .commitment_duration(CommitmentDuration::SixMonths)
        .send()
        .await?;
    let record = emulator
        .provisioned_throughput("long")
        .ok_or_else(|| anyhow!("in the table"))?;
    let ends = record
        .commitment_expiration_time
        .ok_or_else(|| anyhow!("an end"))?;
    assert_eq!(
        Some(ends),
        record
            .creation_time
            .checked_add_months(chrono::Months::new(6))
    );
    // No commitment: deleted at once, in any status.
    provision(&client, "free", &model, 1, "t2").await?;
    client
        .delete_provisioned_model_throughput()
        .provisioned_model_id("free")
        .send()
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_model_in_use_cannot_be_deleted() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let (v1, v2, _) = in_service(&emulator, &client).await?;
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
        failure(delete("model-v1").await).ok_or_else(|| anyhow!("v1 is provisioned"))?;
    assert_eq!((status_code, code.as_str()), (400, "ConflictException"));
    ensure!(
        message.contains("Provisioned Throughput") && message.contains("'serving'"),
        "{message}"
    );
    // During a switch both models are held.
    client
        .update_provisioned_model_throughput()
        .provisioned_model_id("serving")
        .desired_model_id(&v2)
        .send()
        .await?;
    for name in ["model-v1", "model-v2"] {
        let (_, code, _) = failure(delete(name).await).ok_or_else(|| anyhow!("{name} held"))?;
        assert_eq!(code, "ConflictException", "{name}");
    }
    // Deleting the throughput does not delete the model, and frees both.
    client
        .delete_provisioned_model_throughput()
        .provisioned_model_id("serving")
        .send()
        .await?;
    assert!(emulator.model(&v1).is_some() && emulator.model(&v2).is_some());
    delete("model-v1").await?;
    delete("model-v2").await?;
    Ok(())
}

#[tokio::test]
async fn a_deleted_throughput_is_not_found() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let arn = provision(&client, "short-lived", &model, 1, "t1").await?;
    client
        .delete_provisioned_model_throughput()
        .provisioned_model_id(&arn)
        .send()
        .await?;
    let (status_code, code, message) = failure(
        client
            .get_provisioned_model_throughput()
            .provisioned_model_id(&arn)
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
            .update_provisioned_model_throughput()
            .provisioned_model_id("short-lived")
            .desired_provisioned_model_name("renamed")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("gone"))?;
    assert_eq!(code, "ResourceNotFoundException");
    let (_, code, _) = failure(
        client
            .delete_provisioned_model_throughput()
            .provisioned_model_id("short-lived")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("gone"))?;
    assert_eq!(code, "ResourceNotFoundException");
    // The name is free again.
    provision(&client, "short-lived", &model, 1, "t2").await?;
    Ok(())
}

#[tokio::test]
async fn throughputs_are_tagged_like_models() -> Result<()> {
    let emulator = start().await?;
    emulator.set_limits(Limits {
        max_tags_per_resource: 2,
        ..Limits::default()
    });
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let arn = client
        .create_provisioned_model_throughput()
        .provisioned_model_name("tagged")
        .model_id(&model)
        .model_units(1)
        .tags(tag("team", "ml")?)
        .send()
        .await?
        .provisioned_model_arn()
        .to_owned();
    let tags = || async {
        let output = client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await?;
        anyhow::Ok(
            output
                .tags()
                .iter()
                .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(tags().await?, [("team".into(), "ml".into())]);
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
    assert_eq!(tags().await?, [("stage".into(), "prod".into())]);
    Ok(())
}

#[tokio::test]
async fn validation_errors_name_each_member() -> Result<()> {
    let emulator = start().await?;
    let auth = fake_sigv4();
    let response = raw(
        &emulator.url(),
        Method::POST,
        "/provisioned-model-throughput",
        Some(&auth),
        r#"{"provisionedModelName":"bad name","modelUnits":0,"modelId":"arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefghij12","commitmentDuration":"OneYear"}"#,
    )
    .await?;
    assert_eq!(response.status, 400);
    assert_eq!(response.error_code(), Some("ValidationException"));
    let message = response.message()?;
    ensure!(
        message.starts_with("4 validation errors detected:")
            && message.contains("Value 'bad name' at 'provisionedModelName'")
            && message.contains("Value '0' at 'modelUnits' failed to satisfy constraint: Member must have value greater than or equal to 1")
            && message.contains("at 'modelId' failed to satisfy constraint: Member must satisfy regular expression pattern")
            && message.contains("at 'commitmentDuration' failed to satisfy constraint: Member must satisfy enum value set: [OneMonth, SixMonths]"),
        "{message}"
    );
    let response = raw(
        &emulator.url(),
        Method::PATCH,
        "/provisioned-model-throughput/some-throughput",
        Some(&auth),
        r#"{"desiredProvisionedModelName":"a b"}"#,
    )
    .await?;
    assert_eq!(response.error_code(), Some("ValidationException"));
    ensure!(
        response
            .message()?
            .contains("'desiredProvisionedModelName'")
    );
    let response = raw(
        &emulator.url(),
        Method::GET,
        "/provisioned-model-throughput/has%20space",
        Some(&auth),
        "",
    )
    .await?;
    assert_eq!(response.error_code(), Some("ValidationException"));
    ensure!(response.message()?.contains("'provisionedModelId'"));
    let response = raw(
        &emulator.url(),
        Method::GET,
        "/provisioned-model-throughputs?statusEquals=Active",
        Some(&auth),
        "",
    )
    .await?;
    assert_eq!(response.error_code(), Some("ValidationException"));
    ensure!(response.message()?.contains("'statusEquals'"));
    Ok(())
}

#[tokio::test]
async fn faults_and_counters_cover_every_operation() -> Result<()> {
    let emulator = start().await?;
    emulator.set_faults(FaultConfig {
        access_denied_operations: vec![Operation::DeleteProvisionedModelThroughput],
        rate_limits: [(
            Operation::GetProvisionedModelThroughput,
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
    provision(&client, "counted", &model, 1, "t1").await?;
    client.list_provisioned_model_throughputs().send().await?;
    client
        .update_provisioned_model_throughput()
        .provisioned_model_id("counted")
        .desired_provisioned_model_name("renamed")
        .send()
        .await?;
    status(&client, "renamed").await?;
    let (status_code, code, _) = failure(
        client
            .get_provisioned_model_throughput()
            .provisioned_model_id("renamed")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("the bucket is empty"))?;
    assert_eq!((status_code, code.as_str()), (429, "ThrottlingException"));
    let (status_code, code, message) = failure(
        client
            .delete_provisioned_model_throughput()
            .provisioned_model_id("renamed")
            .send()
            .await,
    )
    .ok_or_else(|| anyhow!("denied"))?;
    assert_eq!((status_code, code.as_str()), (403, "AccessDeniedException"));
    ensure!(
        message.contains("bedrock:DeleteProvisionedModelThroughput"),
        "{message}"
    );

    let counters = emulator.counters();
    for (operation, outcome, count) in [
        (Operation::CreateProvisionedModelThroughput, "Ok", 1),
        (Operation::ListProvisionedModelThroughputs, "Ok", 1),
        (Operation::UpdateProvisionedModelThroughput, "Ok", 1),
        (Operation::GetProvisionedModelThroughput, "Ok", 1),
        (
            Operation::GetProvisionedModelThroughput,
            "ThrottlingException",
            1,
        ),
        (
            Operation::DeleteProvisionedModelThroughput,
            "AccessDeniedException",
            1,
        ),
    ] {
        assert_eq!(
            counters.get(operation, outcome),
            count,
            "{operation} {outcome}"
        );
    }

    // Injected internal errors reach the Provisioned Throughput operations too.
    emulator.set_faults(FaultConfig {
        internal_error_fraction: 1.0,
        operations: vec![Operation::ListProvisionedModelThroughputs],
        ..FaultConfig::default()
    })?;
    let (status_code, code, _) = failure(client.list_provisioned_model_throughputs().send().await)
        .ok_or_else(|| anyhow!("an injected error"))?;
    assert_eq!(
        (status_code, code.as_str()),
        (500, "InternalServerException")
    );
    Ok(())
}

#[tokio::test]
async fn the_control_api_shows_and_scripts_throughputs() -> Result<()> {
    let emulator = start().await?;
    let control = bedrock_emulator::ControlClient::new(emulator.url())?;
    let client = sdk(&emulator.url());
    let model = active_model(&emulator, "m")?;
    let arn = provision(&client, "inspected", &model, 1, "token-9").await?;

    let record = control
        .provisioned_throughput(&arn)
        .await?
        .ok_or_else(|| anyhow!("in the table"))?;
    assert_eq!(record.provisioned_model_name, "inspected");
    assert_eq!(record.model_arn, model);
    assert_eq!(record.model_units, 1);
    assert_eq!(record.client_request_token.as_deref(), Some("token-9"));
    assert!(record.ready_time.is_some(), "Creating until readyTime");
    assert_eq!(control.provisioned_throughputs().await?, vec![record]);
    let log = control.provisioned_create_log().await?;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].provisioned_model_arn, arn);

    let forced = control
        .force_provisioned_status(
            "inspected",
            &ProvisionedForceStatus::Failed {
                failure_message: Some("forced".into()),
            },
        )
        .await?;
    assert_eq!(forced.failure_message.as_deref(), Some("forced"));
    assert_eq!(
        status(&client, "inspected").await?.0,
        ProvisionedModelStatus::Failed
    );

    let delays = ProvisionedDelays {
        create_ms: 0,
        update_ms: 5,
    };
    assert_eq!(control.set_provisioned_delays(&delays).await?, delays);
    assert_eq!(control.provisioned_delays().await?, delays);

    let pending = control
        .add_provisioned_failure(&ProvisionedFailure {
            count: 2,
            ..ProvisionedFailure::next_update("x")
        })
        .await?;
    assert_eq!(pending.len(), 1);
    assert!(control.clear_provisioned_failures().await?);
    assert!(control.provisioned_failures().await?.is_empty());

    let record = control.set_foundation_model("m", Some(NOVA_PRO)).await?;
    assert_eq!(record.foundation_model_arn.as_deref(), Some(NOVA_PRO));
    assert!(
        control
            .set_foundation_model("m", Some("not-an-arn"))
            .await
            .is_err()
    );

    assert!(
        control
            .remove_provisioned_throughput("inspected")
            .await?
            .is_some()
    );
    assert!(control.provisioned_throughput("inspected").await?.is_none());
    control.reset().await?;
    assert!(control.provisioned_create_log().await?.is_empty());
    Ok(())
}
