//! Create, get (by name and by ARN), list, delete and tagging through the real SDK.

mod common;

use std::time::{Duration, SystemTime};

use anyhow::{Result, ensure};
use aws_sdk_bedrock::types::{CustomizationType, ModelStatus};
use bedrock_emulator::ModelSource;
use common::*;
use http::Method;
use regex::Regex;

#[tokio::test]
async fn create_then_get_by_name_and_by_arn() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());

    let created = client
        .create_custom_model()
        .model_name("nova-import")
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .model_kms_key_arn(KMS_KEY_ARN)
        .model_tags(tag("team", "ml")?)
        .client_request_token("token-1")
        .send()
        .await?;
    let arn = created.model_arn();
    let arn_shape =
        Regex::new(r"^arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/[a-z0-9]{12}$")?;
    ensure!(arn_shape.is_match(arn), "unexpected ARN {arn}");

    for identifier in ["nova-import", arn] {
        let model = client
            .get_custom_model()
            .model_identifier(identifier)
            .send()
            .await?;
        assert_eq!(model.model_arn(), arn);
        assert_eq!(model.model_name(), "nova-import");
        assert_eq!(
            model.customization_type(),
            Some(&CustomizationType::Imported)
        );
        assert_eq!(model.model_kms_key_arn(), Some(KMS_KEY_ARN));
        assert_eq!(model.model_status(), Some(&ModelStatus::Creating));
        assert_eq!(model.failure_message(), None);
        let created_at = SystemTime::try_from(*model.creation_time())?;
        let age = SystemTime::now().duration_since(created_at)?;
        ensure!(age < Duration::from_secs(60), "creation time {age:?} ago");
    }

    // The emulator's own table keeps what GetCustomModel does not show.
    let record = emulator.model("nova-import");
    let record = record.ok_or_else(|| anyhow::anyhow!("model missing from the table"))?;
    assert_eq!(record.source, Some(ModelSource::S3Uri(S3_URI.into())));
    assert_eq!(record.role_arn.as_deref(), Some(ROLE_ARN));
    assert_eq!(record.client_request_token.as_deref(), Some("token-1"));
    Ok(())
}

#[tokio::test]
async fn get_hides_source_role_and_tags_and_uses_rfc3339() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "hidden", "t1").await?;

    let response = raw(
        &emulator.url(),
        Method::GET,
        "/custom-models/hidden",
        Some(&fake_sigv4()),
        "",
    )
    .await?;
    assert_eq!(response.status, 200);
    let body = response.json()?;
    let keys: Vec<&str> = body
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for hidden in [
        "roleArn",
        "modelSourceConfig",
        "customModelDataSource",
        "modelTags",
        "tags",
    ] {
        ensure!(
            !keys.contains(&hidden),
            "GetCustomModel leaked {hidden}: {body}"
        );
    }
    let creation_time = body["creationTime"].as_str().unwrap_or_default();
    let rfc3339 = Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")?;
    ensure!(
        rfc3339.is_match(creation_time),
        "creationTime {creation_time}"
    );
    assert!(response.headers.contains_key("x-amzn-requestid"));
    Ok(())
}

#[tokio::test]
async fn identifier_may_be_an_unencoded_arn_path() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let arn = create(&client, "slashes", "t1").await?;
    let response = raw(
        &emulator.url(),
        Method::GET,
        &format!("/custom-models/{arn}"),
        Some(&fake_sigv4()),
        "",
    )
    .await?;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()?["modelName"], "slashes");
    Ok(())
}

#[tokio::test]
async fn model_package_source_needs_no_role() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let output = client
        .create_custom_model()
        .model_name("from-package")
        .custom_model_data_source(package_source(PACKAGE_ARN)?)
        .client_request_token("t1")
        .send()
        .await?;
    let record = emulator.model(output.model_arn());
    assert_eq!(
        record.and_then(|record| record.source),
        Some(ModelSource::ModelPackageArn(PACKAGE_ARN.into()))
    );
    Ok(())
}

#[tokio::test]
async fn list_reports_imported_summaries_that_parse() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let arn = create(&client, "listed", "t1").await?;

    let output = client.list_custom_models().send().await?;
    let summaries = output.model_summaries();
    assert_eq!(summaries.len(), 1);
    let summary = &summaries[0];
    assert_eq!(summary.model_arn(), arn);
    assert_eq!(summary.model_name(), "listed");
    assert_eq!(
        summary.customization_type(),
        Some(&CustomizationType::Imported)
    );
    assert_eq!(summary.owner_account_id(), Some("123456789012"));
    assert_eq!(summary.model_status(), Some(&ModelStatus::Creating));
    // Imported models have no base model: the emulator omits the members and the SDK fills in
    // empty strings for these required fields.
    assert_eq!(summary.base_model_arn(), "");
    assert_eq!(summary.base_model_name(), "");
    assert_eq!(output.next_token(), None);
    Ok(())
}

#[tokio::test]
async fn delete_then_everything_is_not_found() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let arn = create(&client, "doomed", "t1").await?;

    client
        .delete_custom_model()
        .model_identifier(&arn)
        .send()
        .await?;

    let get = client
        .get_custom_model()
        .model_identifier("doomed")
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(get.is_some_and(|error| error.is_resource_not_found_exception()));

    let delete = client
        .delete_custom_model()
        .model_identifier("doomed")
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(delete.is_some_and(|error| error.is_resource_not_found_exception()));

    let tag_error = client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("a", "b")?)
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(tag_error.is_some_and(|error| error.is_resource_not_found_exception()));

    let untag_error = client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("a")
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(untag_error.is_some_and(|error| error.is_resource_not_found_exception()));

    let list_tags_error = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .err()
        .map(|error| error.into_service_error());
    assert!(list_tags_error.is_some_and(|error| error.is_resource_not_found_exception()));

    let listed = client.list_custom_models().send().await?;
    assert!(listed.model_summaries().is_empty());
    assert!(emulator.models().is_empty());
    Ok(())
}

#[tokio::test]
async fn tag_untag_and_list_tags() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    let arn = client
        .create_custom_model()
        .model_name("tagged")
        .model_source_config(s3_source(S3_URI)?)
        .role_arn(ROLE_ARN)
        .model_tags(tag("owner", "alice")?)
        .client_request_token("t1")
        .send()
        .await?
        .model_arn()
        .to_owned();

    let tags_of = |client: aws_sdk_bedrock::Client, arn: String| async move {
        let output = client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await?;
        Ok::<_, anyhow::Error>(
            output
                .tags()
                .iter()
                .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        tags_of(client.clone(), arn.clone()).await?,
        vec![("owner".to_owned(), "alice".to_owned())]
    );

    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("owner", "bob")?)
        .tags(tag("env", "test")?)
        .send()
        .await?;
    assert_eq!(
        tags_of(client.clone(), arn.clone()).await?,
        vec![
            ("owner".to_owned(), "bob".to_owned()),
            ("env".to_owned(), "test".to_owned())
        ]
    );

    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("owner")
        .tag_keys("never-set")
        .send()
        .await?;
    assert_eq!(
        tags_of(client.clone(), arn.clone()).await?,
        vec![("env".to_owned(), "test".to_owned())]
    );

    // Tags never appear in GetCustomModel but are in the emulator's table.
    let record = emulator.model(&arn);
    assert_eq!(
        record.map(|record| record.tags),
        Some(vec![bedrock_emulator::Tag::new("env", "test")])
    );
    Ok(())
}

#[tokio::test]
async fn a_model_may_be_named_like_the_create_path() -> Result<()> {
    let emulator = start().await?;
    let client = sdk(&emulator.url());
    create(&client, "create-custom-model", "t1").await?;
    let model = client
        .get_custom_model()
        .model_identifier("create-custom-model")
        .send()
        .await?;
    assert_eq!(model.model_name(), "create-custom-model");
    client
        .delete_custom_model()
        .model_identifier("create-custom-model")
        .send()
        .await?;
    assert!(emulator.models().is_empty());
    Ok(())
}
