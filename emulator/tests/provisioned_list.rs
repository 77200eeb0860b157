//! ListProvisionedModelThroughputs: each filter, both sort orders, and pagination across pages.

mod common;

use std::time::Duration;

use anyhow::Result;
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::operation::list_provisioned_model_throughputs::builders::ListProvisionedModelThroughputsFluentBuilder;
use aws_sdk_bedrock::types::{ProvisionedModelStatus, SortByProvisionedModels, SortOrder};
use aws_smithy_types::DateTime;
use bedrock_emulator::{EmulatorHandle, Limits, ProvisionedDelays, ProvisionedForceStatus};
use common::*;

async fn names(request: ListProvisionedModelThroughputsFluentBuilder) -> Result<Vec<String>> {
    let output = request.send().await?;
    Ok(output
        .provisioned_model_summaries()
        .iter()
        .map(|summary| summary.provisioned_model_name().to_owned())
        .collect())
}

struct Seeded {
    client: Client,
    model_a: String,
    model_b: String,
    /// creationTime of each throughput, in creation order.
    created: Vec<DateTime>,
}

/// Three throughputs a few milliseconds apart: alpha-one (model A, InService), beta-two (model B,
/// Failed), alpha-three (model A, Creating).
async fn seed(emulator: &EmulatorHandle) -> Result<Seeded> {
    emulator.set_limits(Limits {
        max_provisioned_model_units: 10,
        ..Limits::default()
    });
    emulator.set_provisioned_delays(ProvisionedDelays {
        create_ms: 3_600_000,
        update_ms: 0,
    });
    let client = sdk(&emulator.url());
    let model_a = active_model(emulator, "model-a")?;
    let model_b = active_model(emulator, "model-b")?;
    let mut created = Vec::new();
    for (name, model) in [
        ("alpha-one", &model_a),
        ("beta-two", &model_b),
        ("alpha-three", &model_a),
    ] {
        client
            .create_provisioned_model_throughput()
            .provisioned_model_name(name)
            .model_id(model)
            .model_units(1)
            .client_request_token(name)
            .send()
            .await?;
        let output = client
            .get_provisioned_model_throughput()
            .provisioned_model_id(name)
            .send()
            .await?;
        created.push(*output.creation_time());
        // Distinct creation times, so the strict time filters can split them.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    emulator.force_provisioned_status("alpha-one", ProvisionedForceStatus::InService)?;
    emulator.force_provisioned_status(
        "beta-two",
        ProvisionedForceStatus::Failed {
            failure_message: Some("no capacity".into()),
        },
    )?;
    Ok(Seeded {
        client,
        model_a,
        model_b,
        created,
    })
}

#[tokio::test]
async fn sort_orders_default_to_descending() -> Result<()> {
    let emulator = start().await?;
    let seeded = seed(&emulator).await?;
    let list = || seeded.client.list_provisioned_model_throughputs();
    assert_eq!(
        names(list()).await?,
        ["alpha-three", "beta-two", "alpha-one"]
    );
    assert_eq!(
        names(
            list()
                .sort_by(SortByProvisionedModels::CreationTime)
                .sort_order(SortOrder::Ascending)
        )
        .await?,
        ["alpha-one", "beta-two", "alpha-three"]
    );
    Ok(())
}

#[tokio::test]
async fn each_filter() -> Result<()> {
    let emulator = start().await?;
    let seeded = seed(&emulator).await?;
    let list = || {
        seeded
            .client
            .list_provisioned_model_throughputs()
            .sort_order(SortOrder::Ascending)
    };
    assert_eq!(
        names(list().name_contains("alpha")).await?,
        ["alpha-one", "alpha-three"]
    );
    assert_eq!(
        names(list().model_arn_equals(&seeded.model_a)).await?,
        ["alpha-one", "alpha-three"]
    );
    assert_eq!(
        names(list().model_arn_equals(&seeded.model_b)).await?,
        ["beta-two"]
    );
    for (status, expected) in [
        (ProvisionedModelStatus::InService, vec!["alpha-one"]),
        (ProvisionedModelStatus::Failed, vec!["beta-two"]),
        (ProvisionedModelStatus::Creating, vec!["alpha-three"]),
        (ProvisionedModelStatus::Updating, vec![]),
    ] {
        assert_eq!(
            names(list().status_equals(status.clone())).await?,
            expected,
            "{status:?}"
        );
    }
    // The time filters are strict, on the times the throughputs report.
    assert_eq!(
        names(list().creation_time_after(seeded.created[0])).await?,
        ["beta-two", "alpha-three"]
    );
    assert_eq!(
        names(list().creation_time_before(seeded.created[2])).await?,
        ["alpha-one", "beta-two"]
    );
    assert_eq!(
        names(
            list()
                .creation_time_after(seeded.created[0])
                .creation_time_before(seeded.created[2])
        )
        .await?,
        ["beta-two"]
    );
    Ok(())
}

#[tokio::test]
async fn a_switched_throughput_lists_under_its_new_model() -> Result<()> {
    let emulator = start().await?;
    let seeded = seed(&emulator).await?;
    seeded
        .client
        .update_provisioned_model_throughput()
        .provisioned_model_id("alpha-one")
        .desired_model_id(&seeded.model_b)
        .send()
        .await?;
    let output = seeded
        .client
        .list_provisioned_model_throughputs()
        .model_arn_equals(&seeded.model_b)
        .sort_order(SortOrder::Ascending)
        .send()
        .await?;
    let summaries: Vec<(&str, &str, &ProvisionedModelStatus)> = output
        .provisioned_model_summaries()
        .iter()
        .map(|summary| {
            (
                summary.provisioned_model_name(),
                summary.desired_model_arn(),
                summary.status(),
            )
        })
        .collect();
    assert_eq!(
        summaries,
        [
            (
                "alpha-one",
                seeded.model_b.as_str(),
                &ProvisionedModelStatus::InService
            ),
            (
                "beta-two",
                seeded.model_b.as_str(),
                &ProvisionedModelStatus::Failed
            ),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn pagination_walks_every_throughput_once_in_order() -> Result<()> {
    let emulator = start().await?;
    let seeded = seed(&emulator).await?;
    let first = seeded
        .client
        .list_provisioned_model_throughputs()
        .max_results(2)
        .send()
        .await?;
    assert_eq!(first.provisioned_model_summaries().len(), 2);
    let token = first
        .next_token()
        .ok_or_else(|| anyhow::anyhow!("a second page"))?;
    let second = seeded
        .client
        .list_provisioned_model_throughputs()
        .max_results(2)
        .next_token(token)
        .send()
        .await?;
    assert_eq!(second.next_token(), None);
    let walked: Vec<String> = first
        .provisioned_model_summaries()
        .iter()
        .chain(second.provisioned_model_summaries())
        .map(|summary| summary.provisioned_model_name().to_owned())
        .collect();
    assert_eq!(walked, ["alpha-three", "beta-two", "alpha-one"]);

    // The SDK's paginator sees the same.
    let pages: Vec<_> = seeded
        .client
        .list_provisioned_model_throughputs()
        .max_results(1)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(pages.len(), 3);
    // A token issued for one sort order is refused with the other.
    let refused = seeded
        .client
        .list_provisioned_model_throughputs()
        .max_results(2)
        .sort_order(SortOrder::Ascending)
        .next_token(token)
        .send()
        .await;
    assert_eq!(
        failure(refused).map(|(status, code, _)| (status, code)),
        Some((400, "ValidationException".to_owned()))
    );
    Ok(())
}
