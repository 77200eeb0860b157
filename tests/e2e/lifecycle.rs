use std::collections::BTreeMap;

use anyhow::Result;
use bedrock_emulator::{ForceStatus, ForeignModel, Operation};
use bedrock_operator::api::conditions::{READY, SYNCED};
use bedrock_operator::api::{FINALIZER, ModelStatus};
use serde_json::json;

use crate::harness::{World, condition, s3_spec};

/// 1. Create → Creating → Active; Ready=True; status filled; one CreateCustomModel; tags.
#[tokio::test]
async fn create_becomes_active_with_tags() -> Result<()> {
    let world = World::start("create").await?;
    let mut spec = s3_spec("create");
    spec["tags"] = json!({ "team": "ml", "env": "test" });
    world.apply("model-a", spec).await?;

    let creating = world.wait_reason("model-a", READY, "Creating").await?;
    assert_eq!(creating.finalizers(), [FINALIZER.to_string()]);
    let ready = world.wait_ready("model-a").await?;

    let status = ready.status.clone().unwrap();
    let arn = status.model_arn.clone().unwrap();
    assert!(
        arn.starts_with("arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/"),
        "{arn}"
    );
    assert_eq!(status.model_name.as_deref(), Some("model-a"));
    assert_eq!(status.model_status, Some(ModelStatus::Active));
    assert!(status.creation_time.is_some());
    assert_eq!(status.observed_generation, ready.metadata.generation);
    assert_eq!(condition(&ready, SYNCED).unwrap().0, "True");

    assert_eq!(world.ok_calls(Operation::CreateCustomModel), 1);
    assert_eq!(world.emulator.state().create_log().len(), 1);
    let tags = world.model_tags("model-a").unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("ml"));
    assert_eq!(tags.get("env").map(String::as_str), Some("test"));
    assert_eq!(
        tags.get("bedrock-operator.dev/owner-uid"),
        ready.metadata.uid.as_ref(),
        "the operator's ownership tag: {tags:?}"
    );
    assert_eq!(
        world.calls(Operation::TagResource),
        0,
        "tags are passed at create"
    );

    world.wait_event("model-a", "Normal", "Creating").await?;
    world.wait_event("model-a", "Normal", "Active").await?;
    Ok(())
}

use kube::ResourceExt;

/// 2. Tags edited/removed → the model follows; a tag set out-of-band survives.
#[tokio::test]
async fn tags_follow_the_spec_and_foreign_tags_survive() -> Result<()> {
    let world = World::start("tags").await?;
    let mut spec = s3_spec("tags");
    spec["tags"] = json!({ "team": "ml", "stage": "dev" });
    world.apply("tagged", spec.clone()).await?;
    world.wait_ready("tagged").await?;

    // Another tool tags the model directly in Bedrock.
    let state = world.emulator.state();
    let arn = state.model("tagged").unwrap().model_arn;
    let bedrock = sdk_client(&world).await;
    bedrock
        .tag_resource()
        .resource_arn(&arn)
        .tags(
            aws_sdk_bedrock::types::Tag::builder()
                .key("cost-center")
                .value("42")
                .build()?,
        )
        .send()
        .await?;

    spec["tags"] = json!({ "team": "platform", "owner": "ana" });
    world.apply("tagged", spec).await?;
    world
        .wait_emulator("tags following the spec", |e| {
            let tags: BTreeMap<_, _> = e
                .state()
                .model("tagged")
                .map(|m| m.tags.into_iter().map(|t| (t.key, t.value)).collect())
                .unwrap_or_default();
            tags.get("team").map(String::as_str) == Some("platform")
                && tags.get("owner").map(String::as_str) == Some("ana")
                && !tags.contains_key("stage")
        })
        .await?;
    let tags = world.model_tags("tagged").unwrap();
    assert_eq!(
        tags.get("cost-center").map(String::as_str),
        Some("42"),
        "out-of-band tag kept: {tags:?}"
    );
    assert!(tags.contains_key("bedrock-operator.dev/owner-uid"));
    // The status records the keys the operator now manages (written after the tag calls).
    world
        .wait_for("tagged", "managing owner and team", |r| {
            r.status.as_ref().is_some_and(|s| {
                s.managed_tag_keys == vec!["owner".to_string(), "team".to_string()]
            })
        })
        .await?;
    world.wait_ready("tagged").await?;
    assert_eq!(world.ok_calls(Operation::CreateCustomModel), 1);
    Ok(())
}

/// 3. Delete with Delete → model gone, resource gone; with Retain → model kept.
#[tokio::test]
async fn deletion_policies() -> Result<()> {
    let world = World::start("delete").await?;
    world.apply("doomed", s3_spec("doomed")).await?;
    let mut retained = s3_spec("kept");
    retained["deletionPolicy"] = json!("Retain");
    world.apply("kept", retained).await?;
    world.wait_ready("doomed").await?;
    world.wait_ready("kept").await?;

    world.delete("doomed").await?;
    world.delete("kept").await?;
    world.wait_gone("doomed").await?;
    world.wait_gone("kept").await?;

    let state = world.emulator.state();
    assert!(
        state.model("doomed").is_none(),
        "Delete policy deletes the model"
    );
    assert!(
        state.model("kept").is_some(),
        "Retain policy keeps the model"
    );
    assert_eq!(world.ok_calls(Operation::DeleteCustomModel), 1);
    Ok(())
}

/// `kubectl delete namespace` with models inside completes (kube-controller-manager's namespace
/// controller deletes them, the operator finishes each deletion): Delete models are gone from
/// Bedrock, Retain models stay, and nothing else is touched.
#[tokio::test]
async fn namespace_deletion_completes_and_honours_each_policy() -> Result<()> {
    use k8s_openapi::api::core::v1::Namespace;
    use kube::api::{Api, DeleteParams};

    let world = World::start("nsdel").await?;
    world.apply("doomed-a", s3_spec("doomed-a")).await?;
    world.apply("doomed-b", s3_spec("doomed-b")).await?;
    let mut retained = s3_spec("kept");
    retained["deletionPolicy"] = json!("Retain");
    world.apply("kept", retained).await?;
    for name in ["doomed-a", "doomed-b", "kept"] {
        world.wait_ready(name).await?;
    }

    let namespaces: Api<Namespace> = Api::all(world.plane.client());
    namespaces
        .delete(&world.namespace, &DeleteParams::default())
        .await?;
    let gone = testkit::wait::until(
        format!("namespace {} to be deleted", world.namespace),
        crate::harness::DEADLINE,
        std::time::Duration::from_millis(200),
        async || {
            Ok(namespaces
                .get_opt(&world.namespace)
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await;
    if let Err(error) = gone {
        let left = world
            .api
            .list(&Default::default())
            .await
            .map(|l| l.items.iter().map(|r| r.name_any()).collect::<Vec<_>>());
        return Err(error.context(format!(
            "resources left: {left:?}\noperator log tail:\n{}",
            crate::harness::tail(&world.operator_logs(), 40)
        )));
    }

    let state = world.emulator.state();
    assert!(state.model("doomed-a").is_none(), "Delete policy deletes");
    assert!(state.model("doomed-b").is_none(), "Delete policy deletes");
    assert!(state.model("kept").is_some(), "Retain policy keeps");
    assert_eq!(world.ok_calls(Operation::DeleteCustomModel), 2);
    assert_eq!(state.models().len(), 1, "{:?}", state.models());
    Ok(())
}

/// 4. A source that fails → Failed with the message; fixing the spec → a new model, Active.
#[tokio::test]
async fn failed_import_then_fixed_spec_replaces_the_model() -> Result<()> {
    let world = World::start("failed").await?;
    world.apply("flaky", s3_spec("force-failure")).await?;
    let failed = world.wait_reason("flaky", READY, "Failed").await?;
    let (status, _, message) = condition(&failed, READY).unwrap();
    assert_eq!(status, "False");
    let failure = failed.status.clone().unwrap().failure_message.unwrap();
    assert!(
        message.contains(&failure),
        "the condition carries Bedrock's failureMessage: {message}"
    );
    let first_arn = failed.status.unwrap().model_arn.unwrap();
    world.wait_event("flaky", "Warning", "ModelFailed").await?;

    world.apply("flaky", s3_spec("fixed")).await?;
    let ready = world.wait_ready("flaky").await?;
    let second_arn = ready.status.unwrap().model_arn.unwrap();
    assert_ne!(first_arn, second_arn, "a new model replaced the failed one");
    let state = world.emulator.state();
    assert_eq!(state.create_log().len(), 2);
    assert_eq!(state.models().len(), 1, "the failed model was deleted");
    Ok(())
}

/// 4b. The retry annotation asks for a fresh attempt without a spec change.
#[tokio::test]
async fn retry_annotation_makes_a_fresh_attempt() -> Result<()> {
    let world = World::start("retry").await?;
    world.apply("again", s3_spec("force-failure")).await?;
    world.wait_reason("again", READY, "Failed").await?;
    world
        .apply_object(json!({
            "metadata": { "name": "again", "annotations": { "bedrock-operator.dev/retry": "1" } },
            "spec": s3_spec("force-failure"),
        }))
        .await?;
    world
        .wait_emulator("a second create", |e| e.state().create_log().len() == 2)
        .await?;
    let failed_again = world.wait_reason("again", READY, "Failed").await?;
    assert_eq!(
        failed_again.status.unwrap().retry_handled.as_deref(),
        Some("1")
    );
    assert_eq!(world.emulator.state().models().len(), 1);
    Ok(())
}

/// 5. Name taken by a foreign model → NameConflict, foreign model untouched; with adoption →
/// adopted, tags applied, status filled, deleted per policy.
#[tokio::test]
async fn name_conflict_and_adoption() -> Result<()> {
    let world = World::start("conflict").await?;
    let state = world.emulator.state();
    let foreign = state.insert_model(ForeignModel {
        model_name: "taken".into(),
        ..ForeignModel::default()
    })?;
    world.apply("taken", s3_spec("taken")).await?;
    let conflicted = world.wait_reason("taken", READY, "NameConflict").await?;
    assert!(
        condition(&conflicted, READY)
            .unwrap()
            .2
            .contains("adoptionPolicy")
    );
    assert_eq!(world.calls(Operation::CreateCustomModel), 0);
    assert_eq!(
        world.calls(Operation::TagResource),
        0,
        "the foreign model is untouched"
    );
    assert_eq!(state.model("taken").unwrap().tags.len(), foreign.tags.len());

    let mut adopt = s3_spec("taken");
    adopt["adoptionPolicy"] = json!("Adopt");
    adopt["tags"] = json!({ "team": "ml" });
    world.apply("taken", adopt).await?;
    let adopted = world.wait_ready("taken").await?;
    let status = adopted.status.clone().unwrap();
    assert_eq!(
        status.model_arn.as_deref(),
        Some(foreign.model_arn.as_str())
    );
    assert!(status.created_with.unwrap().adopted);
    let tags = world.model_tags("taken").unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("ml"));
    assert_eq!(
        tags.get("bedrock-operator.dev/owner-uid"),
        adopted.metadata.uid.as_ref()
    );
    assert_eq!(world.calls(Operation::CreateCustomModel), 0);

    world.delete("taken").await?;
    world.wait_gone("taken").await?;
    assert!(
        world.emulator.state().model("taken").is_none(),
        "adopted model deleted per policy"
    );
    Ok(())
}

/// 6. Model deleted behind the operator's back → re-created, Warning event.
#[tokio::test]
async fn model_deleted_out_of_band_is_recreated() -> Result<()> {
    let world = World::start("missing").await?;
    world.apply("phoenix", s3_spec("phoenix")).await?;
    let first = world.wait_ready("phoenix").await?;
    let first_arn = first.status.unwrap().model_arn.unwrap();
    world.emulator.state().remove_model("phoenix");

    let again = world
        .wait_for("phoenix", "re-created", |r| {
            r.status.as_ref().is_some_and(|s| {
                s.model_arn.as_deref().is_some_and(|a| a != first_arn)
                    && s.model_status == Some(ModelStatus::Active)
            })
        })
        .await?;
    assert_eq!(again.status.unwrap().recreations, 1);
    assert_eq!(world.emulator.state().create_log().len(), 2);
    world
        .wait_event("phoenix", "Warning", "ModelMissing")
        .await?;
    Ok(())
}

/// 7. Immutable field changed while Active → ImmutableFieldChanged, Bedrock untouched;
/// reverted → Synced.
#[tokio::test]
async fn immutable_change_is_refused_until_reverted() -> Result<()> {
    let world = World::start("immutable").await?;
    world.apply("fixed", s3_spec("fixed")).await?;
    world.wait_ready("fixed").await?;

    let mut changed = s3_spec("other-path");
    changed["kmsKeyArn"] =
        json!("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    let before = world.emulator.state().counters();
    // The API server's CEL transition rules refuse the edit, naming both fields and the fix;
    // the stored spec, and so the model, stay as they were.
    let refusal = match world.apply("fixed", changed).await {
        Ok(_) => anyhow::bail!("an immutable change must be refused by the API server"),
        Err(error) => format!("{error:#}"),
    };
    for field in ["spec.source", "spec.kmsKeyArn"] {
        assert!(
            refusal.contains(&format!(
                "{field}: Forbidden: {field} cannot change once the Bedrock model exists"
            )),
            "{field}: {refusal}"
        );
    }
    assert!(refusal.contains("revert it"), "{refusal}");
    let kept = world.get("fixed").await?;
    assert_eq!(
        kept.spec.source.s3_uri.as_deref(),
        s3_spec("fixed")["source"]["s3Uri"].as_str()
    );
    assert_eq!(kept.metadata.generation, Some(1));
    assert_eq!(condition(&kept, READY).unwrap().0, "True");
    assert_eq!(
        world.emulator.state().counters(),
        before,
        "no AWS call for a refused edit"
    );

    // A mutable field still changes.
    let mut tagged = s3_spec("fixed");
    tagged["tags"] = json!({ "team": "ml" });
    world.apply("fixed", tagged).await?;
    world
        .wait_for("fixed", "observed generation 2", |r| {
            r.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
                && condition(r, SYNCED).is_some_and(|c| c.0 == "True")
        })
        .await?;
    assert_eq!(world.ok_calls(Operation::CreateCustomModel), 1);
    Ok(())
}

/// 12. Deletion refused (model in use) → DeletionBlocked, finalizer kept; released → deleted.
#[tokio::test]
async fn deletion_blocked_until_released() -> Result<()> {
    let world = World::start("blocked").await?;
    world.apply("in-use", s3_spec("in-use")).await?;
    world.wait_ready("in-use").await?;
    let state = world.emulator.state();
    state.set_delete_conflict(
        "in-use",
        Some("the model is used by provisioned throughput pt-1".into()),
    )?;

    world.delete("in-use").await?;
    let blocked = world
        .wait_reason("in-use", READY, "DeletionBlocked")
        .await?;
    assert!(blocked.metadata.deletion_timestamp.is_some());
    assert_eq!(blocked.finalizers(), [FINALIZER.to_string()]);
    assert!(
        condition(&blocked, READY)
            .unwrap()
            .2
            .contains("provisioned throughput")
    );
    assert!(state.model("in-use").is_some());

    state.clear_delete_conflict("in-use")?;
    world.wait_gone("in-use").await?;
    assert!(state.model("in-use").is_none());
    Ok(())
}

/// 13. Deleting a resource while its model is still Creating leaves no model behind.
#[tokio::test]
async fn delete_while_creating_leaves_nothing() -> Result<()> {
    let world = World::start("early").await?;
    world
        .emulator
        .state()
        .set_default_ready_delay(std::time::Duration::from_secs(30));
    world.apply("early", s3_spec("early")).await?;
    world.wait_reason("early", READY, "Creating").await?;
    world
        .wait_emulator("the model created", |e| e.state().model("early").is_some())
        .await?;
    world.delete("early").await?;
    world.wait_gone("early").await?;
    assert!(
        world.emulator.state().models().is_empty(),
        "no model left behind"
    );
    Ok(())
}

/// A failed model can also be forced through the emulator's control API; the operator reports
/// Bedrock's message as is.
#[tokio::test]
async fn model_failing_after_creation_is_reported() -> Result<()> {
    let world = World::start("forced").await?;
    world
        .emulator
        .state()
        .set_default_ready_delay(std::time::Duration::from_secs(30));
    world.apply("forced", s3_spec("forced")).await?;
    world
        .wait_emulator("the model created", |e| e.state().model("forced").is_some())
        .await?;
    world.emulator.state().force_status(
        "forced",
        ForceStatus::Failed {
            failure_message: Some("artifact checksum mismatch".into()),
        },
    )?;
    let failed = world.wait_reason("forced", READY, "Failed").await?;
    assert!(
        condition(&failed, READY)
            .unwrap()
            .2
            .contains("artifact checksum mismatch")
    );
    Ok(())
}

pub async fn sdk_client(world: &World) -> aws_sdk_bedrock::Client {
    let credentials = aws_credential_types::Credentials::new(
        crate::harness::TEST_ACCESS_KEY,
        crate::harness::TEST_SECRET_KEY,
        None,
        None,
        "e2e",
    );
    let config = aws_sdk_bedrock::Config::builder()
        .behavior_version(aws_sdk_bedrock::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrock::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(world.emulator.url())
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}
