//! ListCustomModels: each filter, both sort orders, and pagination across pages.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Result, ensure};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::operation::list_custom_models::builders::ListCustomModelsFluentBuilder;
use aws_sdk_bedrock::types::{ModelStatus, SortOrder};
use aws_smithy_types::DateTime;
use bedrock_emulator::{EmulatorHandle, ForeignModel};
use chrono::{TimeZone, Utc};
use common::*;

const BASE_MODEL_ARN: &str = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0";
const OTHER_BASE_MODEL_ARN: &str =
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";

async fn names(request: ListCustomModelsFluentBuilder) -> Result<Vec<String>> {
    let output = request.send().await?;
    Ok(output
        .model_summaries()
        .iter()
        .map(|summary| summary.model_name().to_owned())
        .collect())
}

/// Four foreign models on 1, 2, 3 and 4 January 2026, with assorted status, owner and base model.
fn seed(emulator: &EmulatorHandle) -> Result<()> {
    let day = |d| Utc.with_ymd_and_hms(2026, 1, d, 12, 0, 0).single();
    emulator.insert_model(ForeignModel {
        creation_time: day(1),
        base_model_arn: Some(BASE_MODEL_ARN.into()),
        base_model_name: Some("amazon.nova-micro-v1".into()),
        foundation_model_arn: Some(BASE_MODEL_ARN.into()),
        ..ForeignModel::new("alpha-one")
    })?;
    emulator.insert_model(ForeignModel {
        creation_time: day(2),
        status: Some(bedrock_emulator::ModelStatus::Failed),
        base_model_arn: Some(OTHER_BASE_MODEL_ARN.into()),
        foundation_model_arn: Some(OTHER_BASE_MODEL_ARN.into()),
        ..ForeignModel::new("beta-two")
    })?;
    emulator.insert_model(ForeignModel {
        creation_time: day(3),
        status: Some(bedrock_emulator::ModelStatus::Creating),
        owner_account_id: Some("210987654321".into()),
        ..ForeignModel::new("alpha-three")
    })?;
    // Created in the past: only a long per-model delay keeps it Creating.
    emulator.set_ready_delay("alpha-three", Duration::from_secs(100 * 365 * 24 * 3600))?;
    emulator.insert_model(ForeignModel {
        creation_time: day(4),
        ..ForeignModel::new("gamma-four")
    })?;
    Ok(())
}

fn client_and_seed(emulator: &EmulatorHandle) -> Result<Client> {
    seed(emulator)?;
    Ok(sdk(&emulator.url()))
}

#[tokio::test]
async fn sort_orders_default_to_descending() -> Result<()> {
    let emulator = start().await?;
    let client = client_and_seed(&emulator)?;
    let newest_first = vec!["gamma-four", "alpha-three", "beta-two", "alpha-one"];
    assert_eq!(names(client.list_custom_models()).await?, newest_first);
    assert_eq!(
        names(
            client
                .list_custom_models()
                .sort_order(SortOrder::Descending)
        )
        .await?,
        newest_first
    );
    let oldest_first: Vec<&str> = newest_first.iter().rev().copied().collect();
    assert_eq!(
        names(
            client
                .list_custom_models()
                .sort_by(aws_sdk_bedrock::types::SortModelsBy::CreationTime)
                .sort_order(SortOrder::Ascending)
        )
        .await?,
        oldest_first
    );
    Ok(())
}

#[tokio::test]
async fn each_filter() -> Result<()> {
    let emulator = start().await?;
    let client = client_and_seed(&emulator)?;
    let jan = |d: u32| {
        DateTime::from_secs(
            Utc.with_ymd_and_hms(2026, 1, d, 12, 0, 0)
                .single()
                .map_or(0, |t| t.timestamp()),
        )
    };

    assert_eq!(
        names(client.list_custom_models().creation_time_before(jan(3))).await?,
        vec!["beta-two", "alpha-one"],
        "strictly before"
    );
    assert_eq!(
        names(client.list_custom_models().creation_time_after(jan(3))).await?,
        vec!["gamma-four"],
        "strictly after"
    );
    assert_eq!(
        names(
            client
                .list_custom_models()
                .creation_time_after(jan(1))
                .creation_time_before(jan(4))
        )
        .await?,
        vec!["alpha-three", "beta-two"]
    );
    assert_eq!(
        names(client.list_custom_models().name_contains("alpha")).await?,
        vec!["alpha-three", "alpha-one"]
    );
    assert_eq!(
        names(
            client
                .list_custom_models()
                .model_status(ModelStatus::Failed)
        )
        .await?,
        vec!["beta-two"]
    );
    assert_eq!(
        names(
            client
                .list_custom_models()
                .model_status(ModelStatus::Creating)
        )
        .await?,
        vec!["alpha-three"]
    );
    assert_eq!(
        names(
            client
                .list_custom_models()
                .model_status(ModelStatus::Active)
        )
        .await?,
        vec!["gamma-four", "alpha-one"]
    );
    assert_eq!(
        names(client.list_custom_models().is_owned(false)).await?,
        vec!["alpha-three"]
    );
    assert_eq!(
        names(client.list_custom_models().is_owned(true)).await?,
        vec!["gamma-four", "beta-two", "alpha-one"]
    );
    assert_eq!(
        names(
            client
                .list_custom_models()
                .base_model_arn_equals(BASE_MODEL_ARN)
        )
        .await?,
        vec!["alpha-one"]
    );
    assert_eq!(
        names(
            client
                .list_custom_models()
                .foundation_model_arn_equals(OTHER_BASE_MODEL_ARN)
        )
        .await?,
        vec!["beta-two"]
    );
    // Filters combine.
    assert_eq!(
        names(
            client
                .list_custom_models()
                .name_contains("alpha")
                .is_owned(true)
        )
        .await?,
        vec!["alpha-one"]
    );

    // A model with a base model reports it; the SDK reads it back.
    let output = client
        .list_custom_models()
        .base_model_arn_equals(BASE_MODEL_ARN)
        .send()
        .await?;
    let summary = &output.model_summaries()[0];
    assert_eq!(summary.base_model_arn(), BASE_MODEL_ARN);
    assert_eq!(summary.base_model_name(), "amazon.nova-micro-v1");
    Ok(())
}

#[tokio::test]
async fn created_models_filter_on_the_times_they_report() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "first", "t1").await?;
    let created = client
        .get_custom_model()
        .model_identifier("first")
        .send()
        .await?
        .creation_time()
        .to_owned();
    // Exactly the reported time is neither before nor after itself.
    assert!(
        names(client.list_custom_models().creation_time_before(created))
            .await?
            .is_empty()
    );
    assert!(
        names(client.list_custom_models().creation_time_after(created))
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn pagination_walks_every_model_once_in_order() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let mut created = Vec::new();
    for index in 0..25 {
        let name = format!("model-{index:02}");
        create(&client, &name, &format!("token-{index}")).await?;
        created.push(name);
    }

    for (order, expected) in [
        (SortOrder::Ascending, created.clone()),
        (
            SortOrder::Descending,
            created.iter().rev().cloned().collect(),
        ),
    ] {
        let mut seen = Vec::new();
        let mut next_token = None;
        let mut pages = 0;
        loop {
            let output = client
                .list_custom_models()
                .sort_order(order.clone())
                .max_results(10)
                .set_next_token(next_token)
                .send()
                .await?;
            pages += 1;
            ensure!(output.model_summaries().len() <= 10);
            seen.extend(
                output
                    .model_summaries()
                    .iter()
                    .map(|summary| summary.model_name().to_owned()),
            );
            next_token = output.next_token().map(str::to_owned);
            if next_token.is_none() {
                break;
            }
            ensure!(pages < 10, "pagination does not end");
        }
        assert_eq!(pages, 3, "{order:?}");
        assert_eq!(seen, expected, "{order:?}");
    }

    // The SDK's paginator agrees.
    let mut paginated = HashSet::new();
    let mut items = client
        .list_custom_models()
        .max_results(7)
        .into_paginator()
        .items()
        .send();
    while let Some(summary) = items.next().await {
        paginated.insert(summary?.model_name().to_owned());
    }
    assert_eq!(paginated, created.into_iter().collect::<HashSet<_>>());
    Ok(())
}

#[tokio::test]
async fn a_page_token_survives_deletions() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    for index in 0..4 {
        create(&client, &format!("m{index}"), &format!("t{index}")).await?;
    }
    let first = client
        .list_custom_models()
        .sort_order(SortOrder::Ascending)
        .max_results(2)
        .send()
        .await?;
    let token = first.next_token().map(str::to_owned);
    ensure!(token.is_some(), "a second page exists");
    // The last model of the first page disappears before the second page is read.
    client
        .delete_custom_model()
        .model_identifier("m1")
        .send()
        .await?;
    assert_eq!(
        names(
            client
                .list_custom_models()
                .sort_order(SortOrder::Ascending)
                .max_results(2)
                .set_next_token(token)
        )
        .await?,
        vec!["m2", "m3"]
    );
    Ok(())
}
