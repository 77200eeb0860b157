//! Model imports through the real aws-sdk-bedrock client: CreateModelImportJob's lifecycle
//! (InProgress → Completed with an imported model, or Failed), idempotent retries, name
//! conflicts and quotas, validation, the two lists, DeleteImportedModel and tags. Jobs stay
//! InProgress for an hour unless a test moves the emulator's clock.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::types::{ModelImportJobStatus, SortOrder, VpcConfig};
use bedrock_emulator::{EmulatorConfig, EmulatorHandle, ImportJobFailure, Limits, Operation};
use common::*;

const JOB_DELAY: Duration = Duration::from_secs(3600);
const LLAMA_URI: &str = "s3://my-models/llama-3-8b-instruct/";

async fn start_imports() -> Result<EmulatorHandle> {
    start_with(EmulatorConfig {
        import_job_delay: JOB_DELAY,
        ..test_config()
    })
    .await
}

/// Starts an import job of `LLAMA_URI`; returns the job's ARN.
async fn import(client: &Client, job: &str, model: &str, token: &str) -> Result<String> {
    let output = client
        .create_model_import_job()
        .job_name(job)
        .imported_model_name(model)
        .role_arn(ROLE_ARN)
        .model_data_source(s3_source(LLAMA_URI)?)
        .client_request_token(token)
        .send()
        .await
        .with_context(|| format!("import {job}"))?;
    Ok(output.job_arn().to_owned())
}

async fn job_status(client: &Client, job: &str) -> Result<ModelImportJobStatus> {
    let output = client
        .get_model_import_job()
        .job_identifier(job)
        .send()
        .await?;
    output
        .status()
        .cloned()
        .context("GetModelImportJob without a status")
}

/// The job ends once its delay is over on the emulator's clock.
async fn finish_jobs(emulator: &EmulatorHandle) -> Result<()> {
    emulator.advance_clock(JOB_DELAY)?;
    Ok(())
}

#[tokio::test]
async fn import_job_runs_then_completes_with_a_readable_imported_model() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    let job_arn = import(&client, "import-llama", "llama-8b", "token-1").await?;
    assert!(
        job_arn.starts_with("arn:aws:bedrock:us-east-1:123456789012:model-import-job/")
            && job_arn.len() - job_arn.rfind('/').unwrap_or(0) == 13,
        "{job_arn}"
    );

    let running = client
        .get_model_import_job()
        .job_identifier(&job_arn)
        .send()
        .await?;
    assert_eq!(running.status(), Some(&ModelImportJobStatus::InProgress));
    assert_eq!(running.imported_model_arn(), None);
    assert_eq!(running.end_time(), None);
    assert_eq!(running.role_arn(), Some(ROLE_ARN));
    let missing = client
        .get_imported_model()
        .model_identifier("llama-8b")
        .send()
        .await;
    assert_eq!(
        failure(missing).map(|(status, code, _)| (status, code)),
        Some((404, "ResourceNotFoundException".to_owned()))
    );

    emulator.advance_clock(JOB_DELAY - Duration::from_secs(1))?;
    assert_eq!(
        job_status(&client, "import-llama").await?,
        ModelImportJobStatus::InProgress
    );
    emulator.advance_clock(Duration::from_secs(1))?;
    let done = client
        .get_model_import_job()
        .job_identifier("import-llama")
        .send()
        .await?;
    assert_eq!(done.status(), Some(&ModelImportJobStatus::Completed));
    assert!(done.end_time().is_some());
    let model_arn = done
        .imported_model_arn()
        .context("a completed job names its model")?
        .to_owned();
    assert!(
        model_arn.starts_with("arn:aws:bedrock:us-east-1:123456789012:imported-model/"),
        "{model_arn}"
    );

    for identifier in [model_arn.as_str(), "llama-8b"] {
        let model = client
            .get_imported_model()
            .model_identifier(identifier)
            .send()
            .await?;
        assert_eq!(model.model_arn(), Some(model_arn.as_str()));
        assert_eq!(model.model_name(), Some("llama-8b"));
        assert_eq!(model.job_arn(), Some(job_arn.as_str()));
        assert_eq!(model.job_name(), Some("import-llama"));
        assert_eq!(model.model_architecture(), Some("llama3"));
        assert_eq!(model.instruct_supported(), Some(true));
        let units = model.custom_model_units().context("customModelUnits")?;
        assert_eq!(units.custom_model_units_per_model_copy(), Some(1));
        assert_eq!(units.custom_model_units_version(), Some("v1.0"));
        assert_eq!(
            model
                .model_data_source()
                .and_then(|source| source.as_s3_data_source().ok())
                .map(|s3| s3.s3_uri()),
            Some(LLAMA_URI)
        );
    }
    Ok(())
}

#[tokio::test]
async fn scripted_failure_ends_the_job_failed_without_a_model() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    emulator.add_import_job_failure(
        ImportJobFailure::next_job("config.json is missing").for_job("doomed"),
    )?;
    import(&client, "doomed", "doomed-model", "token-1").await?;
    finish_jobs(&emulator).await?;
    let job = client
        .get_model_import_job()
        .job_identifier("doomed")
        .send()
        .await?;
    assert_eq!(job.status(), Some(&ModelImportJobStatus::Failed));
    assert_eq!(job.failure_message(), Some("config.json is missing"));
    assert_eq!(job.imported_model_arn(), None);
    let listed = client.list_imported_models().send().await?;
    assert!(listed.model_summaries().is_empty());
    assert!(emulator.import_job_failures().is_empty());
    Ok(())
}

#[tokio::test]
async fn failure_marker_in_the_s3_uri_fails_the_job() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    client
        .create_model_import_job()
        .job_name("marked")
        .imported_model_name("marked")
        .role_arn(ROLE_ARN)
        .model_data_source(s3_source("s3://bucket/force-failure/")?)
        .send()
        .await?;
    finish_jobs(&emulator).await?;
    let job = client
        .get_model_import_job()
        .job_identifier("marked")
        .send()
        .await?;
    assert_eq!(job.status(), Some(&ModelImportJobStatus::Failed));
    assert!(
        job.failure_message()
            .is_some_and(|message| message.contains("force-failure"))
    );
    Ok(())
}

#[tokio::test]
async fn retried_create_with_the_same_token_makes_exactly_one_job() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    let first = import(&client, "retried", "retried-model", "same-token").await?;
    let second = import(&client, "retried", "retried-model", "same-token").await?;
    assert_eq!(first, second);
    assert_eq!(emulator.import_job_create_log().len(), 1);
    assert_eq!(emulator.import_jobs().len(), 1);

    // The same token for another request is refused.
    let other = client
        .create_model_import_job()
        .job_name("retried")
        .imported_model_name("another-model")
        .role_arn(ROLE_ARN)
        .model_data_source(s3_source(LLAMA_URI)?)
        .client_request_token("same-token")
        .send()
        .await;
    let (status, code, message) = failure(other).context("a reused token must fail")?;
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    assert!(message.contains("same-token"), "{message}");
    assert_eq!(emulator.import_jobs().len(), 1);
    Ok(())
}

#[tokio::test]
async fn taken_job_and_model_names_are_conflicts() -> Result<()> {
    let emulator = start_imports().await?;
    emulator.set_limits(Limits {
        max_concurrent_import_jobs: 5,
        ..Limits::default()
    });
    let client = sdk(&emulator.url());
    import(&client, "job-a", "model-a", "token-a").await?;
    let same_job = import(&client, "job-a", "model-b", "token-b").await;
    let (status, code, _) = failure(same_job.map_err(sdk_error)).context("job name taken")?;
    assert_eq!((status, code.as_str()), (400, "ConflictException"));
    // The model name of a job still running is taken too, and stays so once it completed.
    let running_name = import(&client, "job-b", "model-a", "token-c").await;
    let (_, code, _) = failure(running_name.map_err(sdk_error)).context("model name taken")?;
    assert_eq!(code, "ConflictException");
    finish_jobs(&emulator).await?;
    let completed_name = import(&client, "job-c", "model-a", "token-d").await;
    let (_, code, _) = failure(completed_name.map_err(sdk_error)).context("model exists")?;
    assert_eq!(code, "ConflictException");
    Ok(())
}

/// `import` wraps the SDK error in anyhow; get it back for [`failure`].
fn sdk_error(
    error: anyhow::Error,
) -> aws_sdk_bedrock::error::SdkError<
    aws_sdk_bedrock::operation::create_model_import_job::CreateModelImportJobError,
> {
    match error.downcast() {
        Ok(error) => error,
        Err(error) => panic!("not an SDK error: {error:?}"),
    }
}

#[tokio::test]
async fn quotas_limit_running_jobs_and_imported_models() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    import(&client, "first", "first", "t1").await?;
    let second = import(&client, "second", "second", "t2").await;
    let (status, code, _) = failure(second.map_err(sdk_error)).context("one job at a time")?;
    assert_eq!(
        (status, code.as_str()),
        (400, "ServiceQuotaExceededException")
    );
    finish_jobs(&emulator).await?;
    import(&client, "second", "second", "t2").await?;
    finish_jobs(&emulator).await?;
    import(&client, "third", "third", "t3").await?;
    finish_jobs(&emulator).await?;
    let fourth = import(&client, "fourth", "fourth", "t4").await;
    let (_, code, _) = failure(fourth.map_err(sdk_error)).context("three imported models")?;
    assert_eq!(code, "ServiceQuotaExceededException");
    client
        .delete_imported_model()
        .model_identifier("first")
        .send()
        .await?;
    import(&client, "fourth", "fourth", "t4").await?;
    Ok(())
}

#[tokio::test]
async fn invalid_input_is_a_validation_exception() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    let bad_job_name = client
        .create_model_import_job()
        .job_name("-leading-dash")
        .imported_model_name("ok")
        .role_arn(ROLE_ARN)
        .model_data_source(s3_source(LLAMA_URI)?)
        .send()
        .await;
    let (status, code, message) = failure(bad_job_name).context("bad job name")?;
    assert_eq!((status, code.as_str()), (400, "ValidationException"));
    assert!(message.contains("at 'jobName'"), "{message}");

    let bad_model_name = client
        .create_model_import_job()
        .job_name("ok")
        .imported_model_name("has.dot")
        .role_arn(ROLE_ARN)
        .model_data_source(s3_source(LLAMA_URI)?)
        .send()
        .await;
    let (_, code, message) = failure(bad_model_name).context("bad model name")?;
    assert_eq!(code, "ValidationException");
    assert!(message.contains("at 'importedModelName'"), "{message}");

    let bad_source_and_role = client
        .create_model_import_job()
        .job_name("ok")
        .imported_model_name("ok")
        .role_arn("arn:aws:iam::123456789012:user/not-a-role")
        .model_data_source(s3_source("https://bucket/model")?)
        .send()
        .await;
    let (_, _, message) = failure(bad_source_and_role).context("bad role and URI")?;
    assert!(
        message.starts_with("2 validation errors detected:")
            && message.contains("at 'roleArn'")
            && message.contains("at 'modelDataSource.s3DataSource.s3Uri'"),
        "{message}"
    );

    let bad_vpc = client
        .create_model_import_job()
        .job_name("ok")
        .imported_model_name("ok")
        .role_arn(ROLE_ARN)
        .model_data_source(s3_source(LLAMA_URI)?)
        .vpc_config(
            VpcConfig::builder()
                .subnet_ids("subnet 1")
                .security_group_ids("sg-1")
                .build()?,
        )
        .imported_model_kms_key_id("not/a/key")
        .send()
        .await;
    let (_, _, message) = failure(bad_vpc).context("bad VPC and key")?;
    assert!(
        message.contains("at 'vpcConfig.subnetIds.1.member'")
            && message.contains("at 'importedModelKmsKeyId'"),
        "{message}"
    );

    let bad_identifier = client
        .get_imported_model()
        .model_identifier("not.a.name")
        .send()
        .await;
    let (_, code, _) = failure(bad_identifier).context("bad identifier")?;
    assert_eq!(code, "ValidationException");
    assert!(emulator.import_jobs().is_empty());
    Ok(())
}

#[tokio::test]
async fn absent_job_and_model_are_not_found() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    let job = client
        .get_model_import_job()
        .job_identifier("arn:aws:bedrock:us-east-1:123456789012:model-import-job/abcdefghij12")
        .send()
        .await;
    assert_eq!(
        failure(job).map(|(status, code, _)| (status, code)),
        Some((404, "ResourceNotFoundException".to_owned()))
    );
    let delete = client
        .delete_imported_model()
        .model_identifier("nothing-here")
        .send()
        .await;
    assert_eq!(
        failure(delete).map(|(status, code, _)| (status, code)),
        Some((404, "ResourceNotFoundException".to_owned()))
    );
    Ok(())
}

#[tokio::test]
async fn deleted_imported_model_is_gone_and_its_job_stays() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    import(&client, "to-delete", "short-lived", "t1").await?;
    finish_jobs(&emulator).await?;
    client
        .delete_imported_model()
        .model_identifier("short-lived")
        .send()
        .await?;
    let get = client
        .get_imported_model()
        .model_identifier("short-lived")
        .send()
        .await;
    assert_eq!(
        failure(get).map(|(status, code, _)| (status, code)),
        Some((404, "ResourceNotFoundException".to_owned()))
    );
    assert!(
        client
            .list_imported_models()
            .send()
            .await?
            .model_summaries()
            .is_empty()
    );
    assert_eq!(
        job_status(&client, "to-delete").await?,
        ModelImportJobStatus::Completed
    );
    // The name is free again.
    import(&client, "again", "short-lived", "t2").await?;
    Ok(())
}

async fn delete_imported(client: &Client, model: &str) -> Option<(u16, String, String)> {
    failure(
        client
            .delete_imported_model()
            .model_identifier(model)
            .send()
            .await,
    )
}

/// A scripted refusal (by the model's ARN) makes DeleteImportedModel a ConflictException with
/// its message, the model kept, until cleared; one scripted by name before the import exists
/// uses DeleteImportedModel's own words.
#[tokio::test]
async fn delete_imported_model_is_refused_while_a_conflict_is_scripted() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    emulator.set_delete_conflict("later", None)?;
    // One job at a time (Bedrock's default quota).
    import(&client, "import-in-use", "in-use", "t1").await?;
    finish_jobs(&emulator).await?;
    import(&client, "import-later", "later", "t2").await?;
    finish_jobs(&emulator).await?;
    let arn = emulator
        .imported_model("in-use")
        .context("the model")?
        .model_arn;
    emulator.set_delete_conflict(&arn, Some("in use by an inference profile".into()))?;
    assert_eq!(
        emulator
            .imported_model("in-use")
            .and_then(|model| model.delete_conflict)
            .as_deref(),
        Some("in use by an inference profile")
    );

    for identifier in ["in-use", arn.as_str()] {
        assert_eq!(
            delete_imported(&client, identifier).await,
            Some((
                400,
                "ConflictException".to_owned(),
                "in use by an inference profile".to_owned()
            )),
            "{identifier}"
        );
    }
    assert!(emulator.imported_model(&arn).is_some(), "still there");
    let (_, code, message) = delete_imported(&client, "later").await.context("refused")?;
    assert_eq!(code, "ConflictException");
    assert!(message.contains("'later' is in use"), "{message}");

    assert!(emulator.clear_delete_conflict("in-use")?);
    assert!(!emulator.clear_delete_conflict("in-use")?);
    assert_eq!(delete_imported(&client, &arn).await, None);
    assert!(emulator.imported_model(&arn).is_none());
    Ok(())
}

/// Over the control API: a delete conflict on an imported model's ARN, and a job record
/// forgotten (as Bedrock forgets old jobs) while the model it made stays and still names it.
#[tokio::test]
async fn control_api_refuses_deletes_and_forgets_jobs() -> Result<()> {
    let emulator = start_imports().await?;
    let control = bedrock_emulator::ControlClient::new(emulator.url())?;
    let client = sdk(&emulator.url());
    let job_arn = import(&client, "old-job", "kept", "t1").await?;
    finish_jobs(&emulator).await?;
    let model = control.imported_model("kept").await?.context("the model")?;
    control
        .set_delete_conflict(&model.model_arn, Some("busy"))
        .await?;
    assert_eq!(
        delete_imported(&client, "kept")
            .await
            .map(|(_, code, _)| code),
        Some("ConflictException".to_owned())
    );
    assert!(control.clear_delete_conflict(&model.model_arn).await?);

    let forgotten = control.remove_import_job(&job_arn).await?;
    assert_eq!(
        forgotten.map(|job| job.job_name).as_deref(),
        Some("old-job")
    );
    assert!(control.remove_import_job("old-job").await?.is_none());
    let get = client
        .get_model_import_job()
        .job_identifier(&job_arn)
        .send()
        .await;
    assert_eq!(
        failure(get).map(|(status, code, _)| (status, code)),
        Some((404, "ResourceNotFoundException".to_owned()))
    );
    let kept = client
        .get_imported_model()
        .model_identifier("kept")
        .send()
        .await?;
    assert_eq!(kept.job_arn(), Some(job_arn.as_str()));
    assert_eq!(delete_imported(&client, "kept").await, None);
    Ok(())
}

#[tokio::test]
async fn tags_work_on_the_job_and_the_imported_model() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    let job_arn = client
        .create_model_import_job()
        .job_name("tagged")
        .imported_model_name("tagged-model")
        .role_arn(ROLE_ARN)
        .model_data_source(s3_source(LLAMA_URI)?)
        .job_tags(tag("team", "ml")?)
        .imported_model_tags(tag("owner", "operator")?)
        .send()
        .await?
        .job_arn()
        .to_owned();
    let job_tags = client
        .list_tags_for_resource()
        .resource_arn(&job_arn)
        .send()
        .await?;
    assert_eq!(
        job_tags
            .tags()
            .iter()
            .map(|tag| (tag.key(), tag.value()))
            .collect::<Vec<_>>(),
        [("team", "ml")]
    );
    finish_jobs(&emulator).await?;
    let model_arn = client
        .get_model_import_job()
        .job_identifier(&job_arn)
        .send()
        .await?
        .imported_model_arn()
        .context("completed")?
        .to_owned();
    client
        .tag_resource()
        .resource_arn(&model_arn)
        .tags(tag("stage", "prod")?)
        .send()
        .await?;
    client
        .untag_resource()
        .resource_arn(&model_arn)
        .tag_keys("owner")
        .send()
        .await?;
    let model_tags = client
        .list_tags_for_resource()
        .resource_arn(&model_arn)
        .send()
        .await?;
    assert_eq!(
        model_tags
            .tags()
            .iter()
            .map(|tag| (tag.key(), tag.value()))
            .collect::<Vec<_>>(),
        [("stage", "prod")]
    );
    Ok(())
}

#[tokio::test]
async fn import_jobs_list_filters_by_status_and_name_and_pages() -> Result<()> {
    let emulator = start_imports().await?;
    emulator.set_limits(Limits {
        max_concurrent_import_jobs: 10,
        max_imported_models: 10,
        ..Limits::default()
    });
    let client = sdk(&emulator.url());
    import(&client, "alpha-1", "alpha-1", "t1").await?;
    import(&client, "beta-2", "beta-2", "t2").await?;
    finish_jobs(&emulator).await?;
    import(&client, "alpha-3", "alpha-3", "t3").await?;

    let names =
        |output: &aws_sdk_bedrock::operation::list_model_import_jobs::ListModelImportJobsOutput| {
            output
                .model_import_job_summaries()
                .iter()
                .map(|summary| summary.job_name().to_owned())
                .collect::<Vec<_>>()
        };
    let all = client.list_model_import_jobs().send().await?;
    assert_eq!(
        names(&all),
        ["alpha-3", "beta-2", "alpha-1"],
        "newest first by default"
    );
    let ascending = client
        .list_model_import_jobs()
        .sort_order(SortOrder::Ascending)
        .send()
        .await?;
    assert_eq!(names(&ascending), ["alpha-1", "beta-2", "alpha-3"]);
    let running = client
        .list_model_import_jobs()
        .status_equals(ModelImportJobStatus::InProgress)
        .send()
        .await?;
    assert_eq!(names(&running), ["alpha-3"]);
    let completed = client
        .list_model_import_jobs()
        .status_equals(ModelImportJobStatus::Completed)
        .name_contains("alpha")
        .send()
        .await?;
    assert_eq!(names(&completed), ["alpha-1"]);
    assert!(
        completed.model_import_job_summaries()[0]
            .imported_model_arn()
            .is_some()
    );

    let first_page = client
        .list_model_import_jobs()
        .max_results(2)
        .send()
        .await?;
    assert_eq!(names(&first_page), ["alpha-3", "beta-2"]);
    let token = first_page.next_token().context("a second page")?;
    let second_page = client
        .list_model_import_jobs()
        .max_results(2)
        .next_token(token)
        .send()
        .await?;
    assert_eq!(names(&second_page), ["alpha-1"]);
    assert_eq!(second_page.next_token(), None);

    let mut paginated = HashSet::new();
    let mut items = client
        .list_model_import_jobs()
        .max_results(1)
        .into_paginator()
        .items()
        .send();
    while let Some(summary) = items.next().await {
        paginated.insert(summary?.job_name().to_owned());
    }
    assert_eq!(paginated.len(), 3);
    Ok(())
}

#[tokio::test]
async fn imported_models_list_filters_by_name_and_time_and_pages() -> Result<()> {
    let emulator = start_imports().await?;
    emulator.set_limits(Limits {
        max_concurrent_import_jobs: 10,
        max_imported_models: 10,
        ..Limits::default()
    });
    let client = sdk(&emulator.url());
    for name in ["llama-one", "mistral-two", "llama-three"] {
        import(&client, name, name, name).await?;
        // A distinct creation time for each model.
        finish_jobs(&emulator).await?;
    }
    let names =
        |output: &aws_sdk_bedrock::operation::list_imported_models::ListImportedModelsOutput| {
            output
                .model_summaries()
                .iter()
                .map(|summary| summary.model_name().to_owned())
                .collect::<Vec<_>>()
        };
    let all = client
        .list_imported_models()
        .sort_order(SortOrder::Ascending)
        .send()
        .await?;
    assert_eq!(names(&all), ["llama-one", "mistral-two", "llama-three"]);
    assert!(
        all.model_summaries()
            .iter()
            .all(|summary| summary.instruct_supported() == Some(true))
    );
    let llamas = client
        .list_imported_models()
        .name_contains("llama")
        .send()
        .await?;
    assert_eq!(names(&llamas), ["llama-three", "llama-one"]);
    let middle = *all.model_summaries()[1].creation_time();
    let after = client
        .list_imported_models()
        .creation_time_after(middle)
        .send()
        .await?;
    assert_eq!(names(&after), ["llama-three"]);
    let before = client
        .list_imported_models()
        .creation_time_before(middle)
        .send()
        .await?;
    assert_eq!(names(&before), ["llama-one"]);
    let page = client.list_imported_models().max_results(2).send().await?;
    let rest = client
        .list_imported_models()
        .max_results(2)
        .next_token(page.next_token().context("a second page")?)
        .send()
        .await?;
    assert_eq!(names(&rest), ["llama-one"]);
    Ok(())
}

#[tokio::test]
async fn import_operations_are_counted_and_can_be_denied() -> Result<()> {
    let emulator = start_imports().await?;
    let client = sdk(&emulator.url());
    let mut faults = emulator.faults();
    faults.access_denied_operations = vec![Operation::ListImportedModels];
    emulator.set_faults(faults)?;
    let denied = client.list_imported_models().send().await;
    assert_eq!(
        failure(denied).map(|(status, code, _)| (status, code)),
        Some((403, "AccessDeniedException".to_owned()))
    );
    client.list_model_import_jobs().send().await?;
    let counters = emulator.counters();
    assert_eq!(
        counters
            .0
            .get(&Operation::ListImportedModels)
            .and_then(|outcomes| outcomes.get("AccessDeniedException")),
        Some(&1)
    );
    assert_eq!(
        counters
            .0
            .get(&Operation::ListModelImportJobs)
            .and_then(|outcomes| outcomes.get("Ok")),
        Some(&1)
    );
    assert_eq!(
        "DeleteImportedModel".parse::<Operation>().ok(),
        Some(Operation::DeleteImportedModel)
    );
    Ok(())
}

#[tokio::test]
async fn control_api_scripts_and_shows_imports() -> Result<()> {
    let emulator = start_imports().await?;
    let control = bedrock_emulator::ControlClient::new(emulator.url())?;
    control
        .set_import_delays(&bedrock_emulator::ImportDelays { job_ms: 0 })
        .await?;
    control
        .add_import_job_failure(&ImportJobFailure::next_job("no weights").for_job("scripted"))
        .await?;
    assert_eq!(control.import_job_failures().await?.len(), 1);
    let client = sdk(&emulator.url());
    import(&client, "scripted", "scripted-model", "t1").await?;
    let job = control.import_job("scripted").await?.context("the job")?;
    assert_eq!(job.status, bedrock_emulator::ImportJobStatus::Failed);
    assert_eq!(job.failure_message.as_deref(), Some("no weights"));
    import(&client, "plain", "plain-model", "t2").await?;
    let models = control.imported_models().await?;
    assert_eq!(
        models
            .iter()
            .map(|model| model.model_name.as_str())
            .collect::<Vec<_>>(),
        ["plain-model"]
    );
    assert_eq!(control.import_job_create_log().await?.len(), 2);
    assert!(control.import_job("absent").await?.is_none());
    assert!(!control.clear_import_job_failures().await?);
    Ok(())
}
