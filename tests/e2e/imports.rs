//! BedrockImportedModel end to end: an open-weight model imported with CreateModelImportJob
//! on the real API server, the operator process and the emulator — to Ready, a Failed job
//! retried, a crash between the create and the status write, deletion and Retain, deletion
//! blocked while Bedrock refuses it, adoption refused and allowed (also of a model whose job
//! record is gone), AccessDenied shown.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use bedrock_emulator::{FaultConfig, ImportJobFailure, Operation};
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::{BedrockImportedModel, FINALIZER, JobStatus, RETRY_ANNOTATION};
use kube::ResourceExt;
use serde_json::{Value, json};

use crate::harness::{Scope, World, condition_of, metric};

type Imports<'a> = Scope<'a, BedrockImportedModel>;

const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";

fn spec(path: &str) -> Value {
    json!({
        "source": { "s3Uri": format!("s3://open-weights/{path}/") },
        "roleArn": ROLE,
        "tags": { "team": "ml" },
    })
}

fn reason(resource: &BedrockImportedModel, type_: &str) -> String {
    condition_of(resource, type_)
        .map(|c| c.1)
        .unwrap_or_default()
}

fn message(resource: &BedrockImportedModel, type_: &str) -> String {
    condition_of(resource, type_)
        .map(|c| c.2)
        .unwrap_or_default()
}

fn tags(list: &[bedrock_emulator::Tag]) -> BTreeMap<String, String> {
    list.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// Imports `s3://open-weights/{path}/` as `model` outside the operator (as from the console)
/// and waits for the model; returns the job's ARN.
async fn foreign_import(world: &World, job: &str, model: &str, path: &str) -> Result<String> {
    let job_arn = crate::lifecycle::sdk_client(world)
        .await
        .create_model_import_job()
        .job_name(job)
        .imported_model_name(model)
        .role_arn(ROLE)
        .model_data_source(aws_sdk_bedrock::types::ModelDataSource::S3DataSource(
            aws_sdk_bedrock::types::S3DataSource::builder()
                .s3_uri(format!("s3://open-weights/{path}/"))
                .build()?,
        ))
        .send()
        .await?
        .job_arn()
        .to_string();
    world
        .wait_emulator("the foreign model imported", |e| {
            e.state().imported_model(model).is_some()
        })
        .await?;
    Ok(job_arn)
}

/// Applied, the model is imported by one job and shows Ready with what Bedrock found; the
/// job and the model both carry the spec's and the owner tags.
#[tokio::test]
async fn an_imported_model_is_imported_by_one_job_and_ready() -> Result<()> {
    let world = World::start("bim-ready").await?;
    let imports: Imports = world.kind();
    imports.apply("llama-ft", spec("llama-3-8b-ft")).await?;
    let ready = imports.wait_ready("llama-ft").await?;
    let status = ready.status.clone().context("status")?;
    assert_eq!(status.job_status, Some(JobStatus::Completed));
    assert_eq!(status.model_architecture.as_deref(), Some("llama3"));
    let model_arn = status.imported_model_arn.clone().context("model arn")?;
    assert!(model_arn.contains(":imported-model/"), "{model_arn}");
    assert_eq!(reason(&ready, READY), "Active");

    let jobs = world.emulator.state().import_job_create_log();
    assert_eq!(jobs.len(), 1, "one job");
    assert_eq!(status.job_arn.as_deref(), Some(jobs[0].job_arn.as_str()));
    let job = world
        .emulator
        .state()
        .import_job(&jobs[0].job_arn)
        .context("the job")?;
    let model = world
        .emulator
        .state()
        .imported_model(&model_arn)
        .context("the model")?;
    for (what, tags) in [("job", tags(&job.tags)), ("model", tags(&model.tags))] {
        assert_eq!(tags.get("team").map(String::as_str), Some("ml"), "{what}");
        assert!(
            tags.contains_key("bedrock-operator.dev/owner-uid"),
            "{what}: {tags:?}"
        );
    }
    imports.wait_event("llama-ft", "Normal", "Active").await?;
    world
        .wait_metrics("the import counted Completed", |text| {
            metric(
                text,
                r#"bedrock_operator_imported_models{job_status="Completed"}"#,
            ) == Some(1.0)
        })
        .await?;
    Ok(())
}

/// A job Bedrock fails shows Failed with Bedrock's message; a new retry value starts one new
/// job, which completes.
#[tokio::test]
async fn a_failed_import_shows_bedrocks_message_and_a_retry_imports_again() -> Result<()> {
    let world = World::start("bim-failed").await?;
    let imports: Imports = world.kind();
    world
        .emulator
        .state()
        .add_import_job_failure(ImportJobFailure {
            job_name: None,
            count: 1,
            failure_message: Some("The config.json of the model is not valid.".into()),
        })?;
    imports.apply("broken", spec("broken")).await?;
    let failed = imports.wait_reason("broken", READY, "Failed").await?;
    assert!(
        message(&failed, READY).contains("config.json of the model is not valid"),
        "{}",
        message(&failed, READY)
    );
    assert!(message(&failed, READY).contains(RETRY_ANNOTATION));
    imports
        .wait_event("broken", "Warning", "ModelFailed")
        .await?;

    imports
        .apply_object(json!({
            "metadata": { "name": "broken", "annotations": { RETRY_ANNOTATION: "1" } },
            "spec": spec("broken"),
        }))
        .await?;
    let ready = imports.wait_ready("broken").await?;
    let jobs = world.emulator.state().import_job_create_log();
    assert_eq!(jobs.len(), 2, "one more job for the retry: {jobs:?}");
    assert_ne!(jobs[0].job_name, jobs[1].job_name);
    assert_eq!(
        ready.status.and_then(|s| s.job_arn).as_deref(),
        Some(jobs[1].job_arn.as_str())
    );
    Ok(())
}

/// The operator dies right after CreateModelImportJob returned, before its status write; after
/// a restart there is still exactly one job, and the resource converges on it.
#[tokio::test]
async fn a_crash_between_the_create_and_the_status_write_makes_exactly_one_job() -> Result<()> {
    let mut world = World::start("bim-crash").await?;
    world.kill_operator().await?;
    world
        .start_operator_with_env(&[("BEDROCK_OPERATOR_FAULT", "crash-after-create")])
        .await?;
    let imports: Imports = world.kind();
    imports.apply("survivor", spec("survivor")).await?;
    world
        .wait_emulator("the job created", |e| {
            e.state().import_job_create_log().len() == 1
        })
        .await?;
    let operator = world.operator.as_mut().context("operator")?;
    let exit = tokio::time::timeout(Duration::from_secs(30), operator.child.wait()).await??;
    assert!(!exit.success(), "the fault point killed the operator");
    let imports: Imports = world.kind();
    let resource = imports.get("survivor").await?;
    assert!(
        resource
            .status
            .as_ref()
            .and_then(|s| s.job_arn.as_ref())
            .is_none(),
        "the crash came before the status write"
    );

    world.start_operator().await?;
    let imports: Imports = world.kind();
    let ready = imports.wait_ready("survivor").await?;
    let log = world.emulator.state().import_job_create_log();
    assert_eq!(log.len(), 1, "no second job: {log:?}");
    assert_eq!(world.emulator.state().import_jobs().len(), 1);
    assert_eq!(
        ready.status.and_then(|s| s.job_arn).as_deref(),
        Some(log[0].job_arn.as_str())
    );
    Ok(())
}

/// An imported model Bedrock refuses to delete (still in use) keeps its resource, with the
/// finalizer, showing DeletionBlocked with Bedrock's message; once Bedrock lets it go, the
/// resource and the model are gone.
#[tokio::test]
async fn deletion_is_blocked_while_bedrock_refuses_it() -> Result<()> {
    let world = World::start("bim-blocked").await?;
    let imports: Imports = world.kind();
    imports.apply("in-use", spec("in-use")).await?;
    let arn = imports
        .wait_ready("in-use")
        .await?
        .status
        .and_then(|s| s.imported_model_arn)
        .context("arn")?;
    let state = world.emulator.state();
    state.set_delete_conflict(
        &arn,
        Some("The imported model is used by inference profile ip-1".into()),
    )?;

    imports.delete("in-use").await?;
    let blocked = imports
        .wait_reason("in-use", READY, "DeletionBlocked")
        .await?;
    assert!(blocked.metadata.deletion_timestamp.is_some());
    assert_eq!(blocked.finalizers(), [FINALIZER.to_string()]);
    assert_eq!(reason(&blocked, SYNCED), "DeletionBlocked");
    for type_ in [READY, SYNCED] {
        assert!(
            message(&blocked, type_).contains("used by inference profile ip-1"),
            "{type_}: {}",
            message(&blocked, type_)
        );
    }
    imports
        .wait_event("in-use", "Warning", "DeletionBlocked")
        .await?;
    assert!(state.imported_model(&arn).is_some(), "the model is kept");

    assert!(state.clear_delete_conflict(&arn)?);
    imports.wait_gone("in-use").await?;
    assert!(state.imported_model(&arn).is_none());
    assert_eq!(world.ok_calls(Operation::DeleteImportedModel), 1);
    Ok(())
}

/// Deleting the resource deletes the imported model; with Retain, the model stays.
#[tokio::test]
async fn deletion_deletes_the_imported_model_and_retain_keeps_it() -> Result<()> {
    let world = World::start("bim-delete").await?;
    let imports: Imports = world.kind();
    let mut kept = spec("kept");
    kept["deletionPolicy"] = json!("Retain");
    imports.apply("gone", spec("gone")).await?;
    let gone_arn = imports
        .wait_ready("gone")
        .await?
        .status
        .and_then(|s| s.imported_model_arn)
        .context("arn")?;
    imports.apply("kept", kept).await?;
    let kept_arn = imports
        .wait_ready("kept")
        .await?
        .status
        .and_then(|s| s.imported_model_arn)
        .context("arn")?;

    imports.delete("gone").await?;
    imports.wait_gone("gone").await?;
    assert!(world.emulator.state().imported_model(&gone_arn).is_none());
    assert_eq!(world.ok_calls(Operation::DeleteImportedModel), 1);

    imports.delete("kept").await?;
    imports.wait_gone("kept").await?;
    assert!(world.emulator.state().imported_model(&kept_arn).is_some());
    assert_eq!(world.ok_calls(Operation::DeleteImportedModel), 1, "Retain");
    Ok(())
}

/// An imported model of the name made outside the operator is a NameConflict and left alone;
/// with adoptionPolicy Adopt it is taken over (its job and the model tagged as this
/// resource's) and deleted with the resource.
#[tokio::test]
async fn a_foreign_imported_model_is_refused_then_adopted() -> Result<()> {
    let world = World::start("bim-adopt").await?;
    let imports: Imports = world.kind();
    foreign_import(&world, "console-import", "shared", "shared").await?;

    imports.apply("shared", spec("shared")).await?;
    let conflict = imports.wait_reason("shared", READY, "NameConflict").await?;
    assert!(message(&conflict, READY).contains("adoptionPolicy"));
    assert_eq!(world.emulator.state().import_job_create_log().len(), 1);

    let mut adopt = spec("shared");
    adopt["adoptionPolicy"] = json!("Adopt");
    imports.apply("shared", adopt).await?;
    let adopted = imports.wait_ready("shared").await?;
    imports.wait_event("shared", "Normal", "Adopted").await?;
    let status = adopted.status.context("status")?;
    let model = world
        .emulator
        .state()
        .imported_model("shared")
        .context("the model")?;
    assert_eq!(
        status.imported_model_arn.as_deref(),
        Some(model.model_arn.as_str())
    );
    world
        .wait_emulator("the model tagged as the resource's", |e| {
            e.state()
                .imported_model("shared")
                .is_some_and(|m| tags(&m.tags).contains_key("bedrock-operator.dev/owner-uid"))
        })
        .await?;
    assert_eq!(
        world.emulator.state().import_job_create_log().len(),
        1,
        "no new job"
    );

    imports.delete("shared").await?;
    imports.wait_gone("shared").await?;
    assert!(world.emulator.state().imported_model("shared").is_none());
    Ok(())
}

/// An imported model whose import job Bedrock no longer has a record of is adopted all the
/// same: Ready with the model's facts, tagged as the resource's, kept Ready by later
/// reconciles without a new import, and deleted with the resource.
#[tokio::test]
async fn an_imported_model_whose_job_is_gone_is_adopted_and_deleted() -> Result<()> {
    let world = World::start("bim-orphan").await?;
    let imports: Imports = world.kind();
    let job_arn = foreign_import(&world, "expired-import", "orphan", "mistral-7b").await?;
    let state = world.emulator.state();
    assert!(state.remove_import_job(&job_arn).is_some());
    let model = state.imported_model("orphan").context("the model")?;
    assert_eq!(model.job_arn, job_arn, "the model still names its job");

    let mut adopt = spec("mistral-7b");
    adopt["adoptionPolicy"] = json!("Adopt");
    imports.apply("orphan", adopt).await?;
    let adopted = imports.wait_ready("orphan").await?;
    assert_eq!(reason(&adopted, READY), "Active");
    let status = adopted.status.clone().context("status")?;
    assert_eq!(status.job_status, Some(JobStatus::Completed));
    assert_eq!(
        status.imported_model_arn.as_deref(),
        Some(model.model_arn.as_str())
    );
    assert_eq!(status.model_architecture.as_deref(), Some("mistral"));
    world
        .wait_emulator("the model tagged as the resource's", |e| {
            e.state()
                .imported_model("orphan")
                .is_some_and(|m| tags(&m.tags).contains_key("bedrock-operator.dev/owner-uid"))
        })
        .await?;

    // Later reconciles (resyncs, 3 s apart in tests) find the model again: still Ready, no
    // new import.
    let looked = world.calls(Operation::GetImportedModel);
    world
        .wait_emulator("two more looks at the model", |e| {
            e.state().counters().total(Operation::GetImportedModel) >= looked + 2
        })
        .await?;
    let later = imports.get("orphan").await?;
    assert_eq!(reason(&later, READY), "Active", "{:?}", later.status);
    assert_eq!(
        later.status.and_then(|s| s.imported_model_arn).as_deref(),
        Some(model.model_arn.as_str())
    );
    assert_eq!(
        world.calls(Operation::CreateModelImportJob),
        1,
        "no new job"
    );

    imports.delete("orphan").await?;
    imports.wait_gone("orphan").await?;
    assert!(state.imported_model("orphan").is_none());
    assert_eq!(world.ok_calls(Operation::DeleteImportedModel), 1);
    Ok(())
}

/// IAM refusing CreateModelImportJob shows AccessDenied naming the action; once allowed, the
/// import goes through by itself.
#[tokio::test]
async fn access_denied_is_shown_and_clears_once_allowed() -> Result<()> {
    let world = World::start("bim-denied").await?;
    let imports: Imports = world.kind();
    world.emulator.state().set_faults(FaultConfig {
        access_denied_operations: vec![Operation::CreateModelImportJob],
        ..FaultConfig::default()
    })?;
    imports.apply("denied", spec("denied")).await?;
    let denied = imports
        .wait_for("denied", "AccessDenied", |r| {
            reason(r, SYNCED) == "AccessDenied"
        })
        .await?;
    assert!(
        message(&denied, SYNCED).contains("bedrock:CreateModelImportJob"),
        "{}",
        message(&denied, SYNCED)
    );
    assert!(world.emulator.state().import_job_create_log().is_empty());
    world.emulator.state().set_faults(FaultConfig::default())?;
    imports.wait_ready("denied").await?;
    Ok(())
}

/// create → Ready is three writes to the resource (finalizer, Creating, Active) however many
/// polls the job takes, with one CreateModelImportJob and no tagging call (the tags go with
/// the create); a resync of the Ready resource then writes nothing.
#[tokio::test]
async fn an_import_costs_three_writes_to_ready_and_none_idle() -> Result<()> {
    use futures::{StreamExt, TryStreamExt};
    use kube::api::{Api, WatchEvent, WatchParams};

    // Several polls (300 ms to 1 s apart in tests) while the job runs; the periodic tag
    // drift check (3 s in tests) kept out of the way.
    let emulator = bedrock_emulator::EmulatorConfig {
        import_job_delay: Duration::from_secs(3),
        ..bedrock_emulator::EmulatorConfig::default()
    };
    let world = World::with("bim-cost", emulator, &["--tag-check-interval", "1h"], &[]).await?;
    let api: Api<BedrockImportedModel> = Api::namespaced(world.plane.client(), &world.namespace);
    let name = "cost";
    let params = WatchParams::default().fields(&format!("metadata.name={name}"));
    let mut stream = api.watch(&params, "0").await?.boxed();
    let imports: Imports = world.kind();
    imports.apply(name, spec("cost")).await?;
    let mut versions = Vec::new();
    let ready = tokio::time::timeout(crate::harness::DEADLINE, async {
        while let Some(event) = stream.try_next().await? {
            if let WatchEvent::Added(object) | WatchEvent::Modified(object) = event {
                versions.push(object.metadata.resource_version.clone().unwrap_or_default());
                if reason(&object, READY) == "Active" {
                    return Ok::<_, anyhow::Error>(object);
                }
            }
        }
        anyhow::bail!("the watch ended before the resource was Ready")
    })
    .await
    .context("waiting for Ready")??;
    let polls = world.calls(Operation::GetModelImportJob);
    // The first version is the user's create; every later one is a write by the operator.
    assert_eq!(
        versions.len() - 1,
        3,
        "writes until Ready (finalizer, Creating, Active) over {polls} polls: {versions:?}"
    );
    assert!(polls >= 2, "the job was polled while it ran: {polls}");
    assert_eq!(world.ok_calls(Operation::CreateModelImportJob), 1);
    for op in [
        Operation::ListTagsForResource,
        Operation::TagResource,
        Operation::UntagResource,
    ] {
        assert_eq!(world.calls(op), 0, "{op:?}: the tags went with the create");
    }

    // Idle: resyncs (3 s apart in tests) look at the job again and write nothing. Reconciles
    // of one resource never overlap, so once the second resync has read the job, the first
    // has ended, its write (had there been one) made.
    let looked = world.calls(Operation::GetModelImportJob);
    world
        .wait_emulator("two resyncs of the Ready resource", |e| {
            e.state().counters().total(Operation::GetModelImportJob) >= looked + 2
        })
        .await?;
    let after = imports.get(name).await?;
    assert_eq!(
        after.metadata.resource_version, ready.metadata.resource_version,
        "a resync of a Ready import writes nothing"
    );
    Ok(())
}
