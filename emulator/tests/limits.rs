//! The model quota and the 50-tag limit (counting tags already on the resource).

mod common;

use anyhow::{Result, anyhow, bail, ensure};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::operation::tag_resource::TagResourceError;
use bedrock_emulator::{EmulatorConfig, Limits};
use common::*;

fn tags(prefix: &str, count: usize) -> Result<Vec<aws_sdk_bedrock::types::Tag>> {
    (0..count)
        .map(|index| tag(&format!("{prefix}{index}"), "v"))
        .collect()
}

async fn create_with_tags(client: &Client, name: &str, count: usize) -> Result<String> {
    Ok(client
        .create_custom_model()
        .model_name(name)
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .set_model_tags(Some(tags("key", count)?))
        .client_request_token(name)
        .send()
        .await?
        .model_arn()
        .to_owned())
}

#[tokio::test]
async fn quota_on_the_number_of_models() -> Result<()> {
    let emulator = start_with(EmulatorConfig {
        limits: Limits {
            max_models: 2,
            ..Limits::default()
        },
        ..test_config()
    })
    .await?;
    let client = sdk(&emulator.url());
    create(&client, "one", "t1").await?;
    create(&client, "two", "t2").await?;

    let error = create(&client, "three", "t3")
        .await
        .err()
        .ok_or_else(|| anyhow!("the third model is over quota"))?;
    let error = error
        .downcast::<aws_sdk_bedrock::error::SdkError<
            aws_sdk_bedrock::operation::create_custom_model::CreateCustomModelError,
        >>()?
        .into_service_error();
    ensure!(error.is_service_quota_exceeded_exception(), "got {error:?}");
    assert_eq!(emulator.create_log().len(), 2);

    // Deleting one frees a slot; raising the limit at run time does too.
    client
        .delete_custom_model()
        .model_identifier("one")
        .send()
        .await?;
    create(&client, "three", "t3").await?;
    emulator.set_limits(Limits {
        max_models: 3,
        ..Limits::default()
    });
    create(&client, "four", "t4").await?;
    Ok(())
}

#[tokio::test]
async fn at_most_fifty_tags_on_create() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create_with_tags(&client, "fifty", 50).await?;

    let error = client
        .create_custom_model()
        .model_name("fifty-one")
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .set_model_tags(Some(tags("key", 51)?))
        .client_request_token("t51")
        .send()
        .await
        .err()
        .ok_or_else(|| anyhow!("51 tags are too many"))?
        .into_service_error();
    ensure!(error.is_too_many_tags_exception(), "got {error:?}");
    assert_eq!(emulator.create_log().len(), 1);
    Ok(())
}

#[tokio::test]
async fn tag_resource_counts_existing_tags() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let arn = create_with_tags(&client, "forty", 40).await?;

    // 40 existing + 11 new = 51.
    let error = client
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(tags("extra", 11)?))
        .send()
        .await
        .err()
        .ok_or_else(|| anyhow!("51 tags in all are too many"))?
        .into_service_error();
    let TagResourceError::TooManyTagsException(too_many) = &error else {
        bail!("expected TooManyTagsException, got {error:?}");
    };
    assert_eq!(
        too_many.resource_name(),
        Some(arn.as_str()),
        "TooManyTagsException names the resource"
    );

    // Exactly 50 is fine, and overwriting existing keys adds nothing.
    client
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(tags("extra", 10)?))
        .send()
        .await?;
    client
        .tag_resource()
        .resource_arn(&arn)
        .set_tags(Some(tags("key", 40)?))
        .send()
        .await?;
    let error = client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("one-more", "v")?)
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(error.is_some_and(|error| error.is_too_many_tags_exception()));

    // Untagging makes room again.
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("key0")
        .send()
        .await?;
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("one-more", "v")?)
        .send()
        .await?;
    let listed = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await?;
    assert_eq!(listed.tags().len(), 50);
    Ok(())
}
