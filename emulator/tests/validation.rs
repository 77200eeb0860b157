//! Every input member is validated against the service model: a ValidationException (the SDK's
//! typed variant) whose message names the offending member.

mod common;

use anyhow::{Result, anyhow, ensure};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::operation::create_custom_model::builders::CreateCustomModelFluentBuilder;
use aws_sdk_bedrock::types::{ModelStatus, SortOrder};
use common::*;

/// Sends `$call` and checks it fails with ValidationException naming `$member`.
macro_rules! expect_validation {
    ($call:expr, $member:expr) => {{
        let member: &str = $member;
        let error = $call
            .send()
            .await
            .err()
            .ok_or_else(|| anyhow!("expected a ValidationException naming {member}"))?
            .into_service_error();
        ensure!(
            error.is_validation_exception(),
            "expected ValidationException for {member}, got {error:?}"
        );
        let message = error.meta().message().unwrap_or_default().to_owned();
        ensure!(
            message.contains(&format!("'{member}'")),
            "the message does not name '{member}': {message}"
        );
    }};
}

fn valid_create(client: &Client) -> Result<CreateCustomModelFluentBuilder> {
    Ok(client
        .create_custom_model()
        .model_name("valid-name")
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .client_request_token("token-1"))
}

#[tokio::test]
async fn a_valid_request_passes() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    valid_create(&client)?
        .model_kms_key_arn(KMS_KEY_ARN)
        .model_tags(tag("key with spaces:/=+@-._", "")?)
        .send()
        .await?;
    Ok(())
}

#[tokio::test]
async fn create_members() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());

    expect_validation!(valid_create(&client)?.model_name("bad name"), "modelName");
    expect_validation!(
        valid_create(&client)?.model_name("a".repeat(64)),
        "modelName"
    );
    expect_validation!(
        valid_create(&client)?.model_name("-leading-dash"),
        "modelName"
    );
    expect_validation!(
        valid_create(&client)?.model_source_config(s3_source("https://bucket/model")?),
        "modelSourceConfig.s3DataSource.s3Uri"
    );
    expect_validation!(
        valid_create(&client)?
            .model_source_config(s3_source(&format!("s3://bucket/{}", "a".repeat(1020)))?),
        "modelSourceConfig.s3DataSource.s3Uri"
    );
    expect_validation!(
        valid_create(&client)?
            .set_model_source_config(None)
            .custom_model_data_source(package_source("arn:aws:s3:::not-a-package")?),
        "customModelDataSource.modelPackageArnDataSource.modelPackageArn"
    );
    expect_validation!(
        valid_create(&client)?.model_kms_key_arn("alias/my-key"),
        "modelKmsKeyArn"
    );
    expect_validation!(
        valid_create(&client)?.role_arn("arn:aws:iam::123456789012:user/someone"),
        "roleArn"
    );
    expect_validation!(valid_create(&client)?.role_arn(""), "roleArn");
    expect_validation!(
        valid_create(&client)?.client_request_token("bad token!"),
        "clientRequestToken"
    );
    expect_validation!(
        valid_create(&client)?.client_request_token("x".repeat(257)),
        "clientRequestToken"
    );
    expect_validation!(
        valid_create(&client)?.model_tags(tag("bad\u{e9}key", "v")?),
        "modelTags.1.member.key"
    );
    expect_validation!(
        valid_create(&client)?.model_tags(tag("", "v")?),
        "modelTags.1.member.key"
    );
    expect_validation!(
        valid_create(&client)?.model_tags(tag(&"k".repeat(129), "v")?),
        "modelTags.1.member.key"
    );
    expect_validation!(
        valid_create(&client)?
            .model_tags(tag("ok", "v")?)
            .model_tags(tag("v", "bad|value")?),
        "modelTags.2.member.value"
    );
    expect_validation!(
        valid_create(&client)?.model_tags(tag("k", &"v".repeat(257))?),
        "modelTags.1.member.value"
    );
    expect_validation!(
        valid_create(&client)?.model_tags(tag("aws:reserved", "v")?),
        "modelTags.1.member.key"
    );
    expect_validation!(
        valid_create(&client)?.model_tags(tag("AWS:Reserved", "v")?),
        "modelTags.1.member.key"
    );

    assert!(emulator.create_log().is_empty(), "nothing was created");
    Ok(())
}

#[tokio::test]
async fn create_cross_member_rules() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());

    // roleArn is required with an S3 source.
    expect_validation!(valid_create(&client)?.set_role_arn(None), "roleArn");
    // Exactly one source.
    expect_validation!(
        valid_create(&client)?.custom_model_data_source(package_source(PACKAGE_ARN)?),
        "modelSourceConfig"
    );
    expect_validation!(
        valid_create(&client)?.set_model_source_config(None),
        "customModelDataSource"
    );
    assert!(emulator.create_log().is_empty());
    Ok(())
}

#[tokio::test]
async fn model_identifier_of_get_and_delete() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    expect_validation!(
        client.get_custom_model().model_identifier("bad name!"),
        "modelIdentifier"
    );
    expect_validation!(
        client.get_custom_model().model_identifier("x".repeat(2049)),
        "modelIdentifier"
    );
    expect_validation!(
        client.delete_custom_model().model_identifier("bad name!"),
        "modelIdentifier"
    );
    Ok(())
}

#[tokio::test]
async fn list_parameters() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    expect_validation!(
        client.list_custom_models().name_contains("a b"),
        "nameContains"
    );
    expect_validation!(client.list_custom_models().max_results(0), "maxResults");
    expect_validation!(client.list_custom_models().max_results(1001), "maxResults");
    expect_validation!(
        client
            .list_custom_models()
            .base_model_arn_equals("arn:aws:bedrock:nope"),
        "baseModelArnEquals"
    );
    expect_validation!(
        client
            .list_custom_models()
            .foundation_model_arn_equals("arn:aws:bedrock:us-east-1:123456789012:x"),
        "foundationModelArnEquals"
    );
    expect_validation!(
        client
            .list_custom_models()
            .sort_order(SortOrder::from("Sideways")),
        "sortOrder"
    );
    expect_validation!(
        client
            .list_custom_models()
            .model_status(ModelStatus::from("Deleted")),
        "modelStatus"
    );
    expect_validation!(
        client
            .list_custom_models()
            .sort_by(aws_sdk_bedrock::types::SortModelsBy::from("Name")),
        "sortBy"
    );
    expect_validation!(
        client.list_custom_models().next_token("has spaces"),
        "nextToken"
    );
    // A token the emulator never issued is refused too.
    let error = client
        .list_custom_models()
        .next_token("not-a-token")
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(error.is_some_and(|error| error.is_validation_exception()));
    Ok(())
}

#[tokio::test]
async fn tagging_members() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let arn = create(&client, "tag-target", "t1").await?;

    expect_validation!(
        client
            .tag_resource()
            .resource_arn("short")
            .tags(tag("k", "v")?),
        "resourceARN"
    );
    expect_validation!(
        client
            .tag_resource()
            .resource_arn("arn:aws:s3:::a-bucket/with/a/path")
            .tags(tag("k", "v")?),
        "resourceARN"
    );
    expect_validation!(
        client
            .tag_resource()
            .resource_arn(&arn)
            .tags(tag("aws:k", "v")?),
        "tags.1.member.key"
    );
    expect_validation!(
        client
            .tag_resource()
            .resource_arn(&arn)
            .tags(tag("k", "v\u{1F600}")?),
        "tags.1.member.value"
    );
    expect_validation!(
        client.untag_resource().resource_arn(&arn).tag_keys("aws:k"),
        "tagKeys.1.member"
    );
    expect_validation!(
        client.untag_resource().resource_arn(&arn).tag_keys(""),
        "tagKeys.1.member"
    );
    expect_validation!(
        client.untag_resource().resource_arn("short").tag_keys("k"),
        "resourceARN"
    );
    expect_validation!(
        client.list_tags_for_resource().resource_arn("short"),
        "resourceARN"
    );
    Ok(())
}
