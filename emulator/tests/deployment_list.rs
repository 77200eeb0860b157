//! ListCustomModelDeployments: each filter, both sort orders, and pagination across pages.

mod common;

use std::time::Duration;

use anyhow::Result;
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::operation::list_custom_model_deployments::builders::ListCustomModelDeploymentsFluentBuilder;
use aws_sdk_bedrock::types::{CustomModelDeploymentStatus, SortModelsBy, SortOrder};
use aws_smithy_types::DateTime;
use bedrock_emulator::{EmulatorHandle, ForceStatus};
use common::*;

async fn names(request: ListCustomModelDeploymentsFluentBuilder) -> Result<Vec<String>> {
    let output = request.send().await?;
    Ok(output
        .model_deployment_summaries()
        .iter()
        .map(|summary| summary.custom_model_deployment_name().to_owned())
        .collect())
}

struct Seeded {
    client: Client,
    model_a: String,
    model_b: String,
    /// createdAt of each deployment, in creation order.
    created: Vec<DateTime>,
}

/// Three deployments a few milliseconds apart: alpha-one (model A, Active), beta-two (model B,
/// Failed), alpha-three (model A, Creating).
async fn seed(emulator: &EmulatorHandle) -> Result<Seeded> {
    let client = sdk(&emulator.url());
    let model_a = active_model(emulator, "model-a")?;
    let model_b = active_model(emulator, "model-b")?;
    let mut created = Vec::new();
    for (name, model) in [
        ("alpha-one", &model_a),
        ("beta-two", &model_b),
        ("alpha-three", &model_a),
    ] {
        deploy(&client, name, model, name).await?;
        let output = client
            .get_custom_model_deployment()
            .custom_model_deployment_identifier(name)
            .send()
            .await?;
        created.push(*output.created_at());
        // Distinct creation times, so the strict time filters can split them.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    emulator.force_deployment_status("alpha-one", ForceStatus::Active)?;
    emulator.force_deployment_status(
        "beta-two",
        ForceStatus::Failed {
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
    let list = || seeded.client.list_custom_model_deployments();
    assert_eq!(
        names(list()).await?,
        ["alpha-three", "beta-two", "alpha-one"]
    );
    assert_eq!(
        names(
            list()
                .sort_by(SortModelsBy::CreationTime)
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
            .list_custom_model_deployments()
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
        (CustomModelDeploymentStatus::Active, "alpha-one"),
        (CustomModelDeploymentStatus::Failed, "beta-two"),
        (CustomModelDeploymentStatus::Creating, "alpha-three"),
    ] {
        assert_eq!(
            names(list().status_equals(status.clone())).await?,
            [expected],
            "{status:?}"
        );
    }
    // The time filters are strict, on the times the deployments report.
    assert_eq!(
        names(list().created_after(seeded.created[0])).await?,
        ["beta-two", "alpha-three"]
    );
    assert_eq!(
        names(list().created_before(seeded.created[2])).await?,
        ["alpha-one", "beta-two"]
    );
    assert_eq!(
        names(
            list()
                .created_after(seeded.created[0])
                .created_before(seeded.created[2])
        )
        .await?,
        ["beta-two"]
    );
    let failed = seeded
        .client
        .list_custom_model_deployments()
        .status_equals(CustomModelDeploymentStatus::Failed)
        .send()
        .await?;
    assert_eq!(
        failed
            .model_deployment_summaries()
            .first()
            .and_then(|summary| summary.failure_message()),
        Some("no capacity")
    );
    Ok(())
}

#[tokio::test]
async fn a_swapped_deployment_lists_under_its_new_model() -> Result<()> {
    let emulator = start().await?;
    emulator.set_deployment_delays(bedrock_emulator::DeploymentDelays {
        create_ms: 3_600_000,
        update_ms: 0,
    });
    let seeded = seed(&emulator).await?;
    seeded
        .client
        .update_custom_model_deployment()
        .custom_model_deployment_identifier("alpha-one")
        .model_arn(&seeded.model_b)
        .send()
        .await?;
    assert_eq!(
        names(
            seeded
                .client
                .list_custom_model_deployments()
                .model_arn_equals(&seeded.model_b)
                .sort_order(SortOrder::Ascending)
        )
        .await?,
        ["alpha-one", "beta-two"]
    );
    Ok(())
}

#[tokio::test]
async fn pagination_walks_every_deployment_once_in_order() -> Result<()> {
    let emulator = start().await?;
    let seeded = seed(&emulator).await?;
    let first = seeded
        .client
        .list_custom_model_deployments()
        .max_results(2)
        .send()
        .await?;
    assert_eq!(first.model_deployment_summaries().len(), 2);
    let token = first
        .next_token()
        .ok_or_else(|| anyhow::anyhow!("a second page"))?;
    let second = seeded
        .client
        .list_custom_model_deployments()
        .max_results(2)
        .next_token(token)
        .send()
        .await?;
    assert_eq!(second.next_token(), None);
    let walked: Vec<String> = first
        .model_deployment_summaries()
        .iter()
        .chain(second.model_deployment_summaries())
        .map(|summary| summary.custom_model_deployment_name().to_owned())
        .collect();
    assert_eq!(walked, ["alpha-three", "beta-two", "alpha-one"]);

    // The SDK's paginator sees the same.
    let pages: Vec<_> = seeded
        .client
        .list_custom_model_deployments()
        .max_results(1)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(pages.len(), 3);
    // A token issued for one sort order is refused with the other.
    let refused = seeded
        .client
        .list_custom_model_deployments()
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
