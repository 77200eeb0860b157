use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result};
use bedrock_emulator::{EmulatorConfig, FaultConfig, Operation};
use bedrock_operator::api::conditions::{READY, SYNCED};
use futures::future::try_join_all;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::harness::{TEST_ACCESS_KEY, TEST_SECRET_KEY, World, condition, s3_spec};

const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";

/// 8. At least 20 invalid specs: each refused by the server's schema, or shown as
/// Synced=False InvalidSpec naming the field; no Bedrock call for any of them; a valid
/// resource alongside still becomes Ready.
#[tokio::test]
async fn invalid_specs_are_refused_or_reported_without_aws_calls() -> Result<()> {
    let world = World::start("invalid").await?;
    let long_tags: serde_json::Map<String, Value> =
        (0..49).map(|i| (format!("k{i}"), json!("v"))).collect();
    // (name, spec, the field the error must name)
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "bad-name-chars",
            json!({"modelName": "bad name!", "source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE}),
            "spec.modelName",
        ),
        (
            "bad-name-length",
            json!({"modelName": "a".repeat(64), "source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE}),
            "spec.modelName",
        ),
        (
            "bad-name-hyphens",
            json!({"modelName": "a--b", "source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE}),
            "spec.modelName",
        ),
        (
            "bad-s3-scheme",
            json!({"source": {"s3Uri": "https://b-ucket/m/"}, "roleArn": ROLE}),
            "spec.source.s3Uri",
        ),
        (
            "bad-s3-bucket",
            json!({"source": {"s3Uri": "s3://UPPER/m/"}, "roleArn": ROLE}),
            "spec.source.s3Uri",
        ),
        (
            "bad-package",
            json!({"source": {"modelPackageArn": "arn:aws:s3:::bucket"}}),
            "spec.source.modelPackageArn",
        ),
        (
            "bad-role",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": "BedrockImport"}),
            "spec.roleArn",
        ),
        (
            "bad-kms",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/short"}),
            "spec.kmsKeyArn",
        ),
        (
            "bad-deletion-policy",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "deletionPolicy": "Destroy"}),
            "spec.deletionPolicy",
        ),
        (
            "bad-adoption-policy",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "adoptionPolicy": "Maybe"}),
            "spec.adoptionPolicy",
        ),
        (
            "bad-region",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "region": "Mars"}),
            "spec.region",
        ),
        (
            "too-many-tags",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "tags": long_tags}),
            "spec.tags",
        ),
        (
            "long-tag-value",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "tags": {"k": "v".repeat(257)}}),
            "spec.tags",
        ),
        (
            "bad-tag-value",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "tags": {"k": "no!"}}),
            "spec.tags",
        ),
        ("no-source", json!({"roleArn": ROLE}), "spec.source"),
        (
            "both-sources",
            json!({"source": {"s3Uri": "s3://b-ucket/m/", "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/p/1"}, "roleArn": ROLE}),
            "spec.source",
        ),
        (
            "empty-source",
            json!({"source": {}, "roleArn": ROLE}),
            "spec.source",
        ),
        (
            "s3-without-role",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}}),
            "spec.roleArn",
        ),
        (
            "reserved-aws-tag",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "tags": {"aws:owner": "x"}}),
            "spec.tags[\"aws:owner\"]",
        ),
        (
            "reserved-operator-tag",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "tags": {"bedrock-operator.dev/x": "y"}}),
            "spec.tags[\"bedrock-operator.dev/x\"]",
        ),
        (
            "bad-tag-key",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "tags": {"no!": "x"}}),
            "spec.tags[\"no!\"]",
        ),
        (
            "long-tag-key",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE, "tags": {"k".repeat(129): "x"}}),
            "spec.tags[\"",
        ),
        (
            "my.dotted.name",
            json!({"source": {"s3Uri": "s3://b-ucket/m/"}, "roleArn": ROLE}),
            "spec.modelName",
        ),
    ];
    assert!(cases.len() >= 20);

    let mut reported = Vec::new();
    for (name, spec, field) in &cases {
        match world.apply(name, spec.clone()).await {
            Err(error) => {
                let text = format!("{error:#}");
                let field_tail = field
                    .trim_start_matches("spec.")
                    .split(['[', '.'])
                    .next()
                    .unwrap_or(field);
                assert!(
                    text.contains(field_tail),
                    "{name}: the server refused it, but its message does not name {field}: {text}"
                );
            }
            Ok(_) => reported.push((*name, *field)),
        }
    }
    assert!(
        !reported.is_empty(),
        "some rules no schema states (a metadata.name that is no valid model name) reach the operator"
    );
    for (name, field) in &reported {
        let resource = world.wait_reason(name, SYNCED, "InvalidSpec").await?;
        let (status, _, message) = condition(&resource, SYNCED).unwrap();
        assert_eq!(status, "False", "{name}");
        assert!(
            message.contains(field),
            "{name}: the message names {field}: {message}"
        );
        assert_eq!(
            condition(&resource, READY).unwrap().1,
            "InvalidSpec",
            "{name}"
        );
    }
    assert_eq!(
        world
            .emulator
            .state()
            .counters()
            .0
            .values()
            .map(|o| o.values().sum::<u64>())
            .sum::<u64>(),
        0,
        "no Bedrock call for invalid specs"
    );

    world.apply("valid-neighbour", s3_spec("valid")).await?;
    world.wait_ready("valid-neighbour").await?;
    assert_eq!(world.emulator.state().create_log().len(), 1);
    for (name, _) in &reported {
        let resource = world.get(name).await?;
        assert_eq!(
            condition(&resource, SYNCED).unwrap().1,
            "InvalidSpec",
            "{name} still reported"
        );
    }

    // Deleting them needs no AWS call either.
    let before = world.calls(Operation::GetCustomModel) + world.calls(Operation::DeleteCustomModel);
    for (name, _) in &reported {
        world.delete(name).await?;
    }
    for (name, _) in &reported {
        world.wait_gone(name).await?;
    }
    assert_eq!(
        world.calls(Operation::GetCustomModel) + world.calls(Operation::DeleteCustomModel),
        before
    );
    Ok(())
}

/// 9. Throttling on half the calls and 500s on a tenth: 50 resources all Ready, exactly 50
/// models, no duplicates. The logs never carry the credentials.
#[tokio::test]
async fn throttling_storm_converges_without_duplicates() -> Result<()> {
    let world = World::with(
        "storm",
        EmulatorConfig {
            faults: FaultConfig {
                throttle_fraction: 0.5,
                internal_error_fraction: 0.1,
                ..FaultConfig::default()
            },
            ..EmulatorConfig::default()
        },
        &[],
        &[],
    )
    .await?;
    let names: Vec<String> = (0..50).map(|i| format!("storm-{i:02}")).collect();
    try_join_all(names.iter().map(|name| world.apply(name, s3_spec(name)))).await?;
    for name in &names {
        world.wait_ready(name).await?;
    }
    let log = world.emulator.state().create_log();
    let created: BTreeSet<&str> = log.iter().map(|e| e.model_name.as_str()).collect();
    assert_eq!(log.len(), 50, "exactly one model created per resource");
    assert_eq!(created.len(), 50);
    assert_eq!(world.emulator.state().models().len(), 50);
    let counters = world.emulator.state().counters();
    assert!(
        counters.get(Operation::CreateCustomModel, "ThrottlingException") > 0,
        "the storm happened: {counters:?}"
    );

    let logs = world.operator_logs();
    assert!(!logs.is_empty());
    for secret in [
        TEST_SECRET_KEY,
        TEST_ACCESS_KEY,
        "Signature=",
        "x-amz-security-token",
    ] {
        assert!(!logs.contains(secret), "the operator log contains {secret}");
    }
    Ok(())
}

/// 10. The operator dies right after CreateCustomModel returned and before its status write;
/// after a restart there is still exactly one model and the resource converges.
#[tokio::test]
async fn crash_after_create_makes_no_second_model() -> Result<()> {
    let mut world = World::start("crash").await?;
    world.kill_operator().await?;
    world
        .start_operator_with_env(&[("BEDROCK_OPERATOR_FAULT", "crash-after-create")])
        .await?;
    world.apply("survivor", s3_spec("survivor")).await?;
    world
        .wait_emulator("the model created", |e| e.state().create_log().len() == 1)
        .await?;
    let operator = world.operator.as_mut().context("operator")?;
    let exit = tokio::time::timeout(Duration::from_secs(30), operator.child.wait()).await??;
    assert!(!exit.success(), "the fault point killed the operator");
    let resource = world.get("survivor").await?;
    assert!(
        resource
            .status
            .as_ref()
            .and_then(|s| s.model_arn.as_ref())
            .is_none(),
        "the crash came before the status write"
    );

    world.start_operator().await?;
    let ready = world.wait_ready("survivor").await?;
    let log = world.emulator.state().create_log();
    assert_eq!(log.len(), 1, "no second model");
    assert_eq!(
        ready.status.unwrap().model_arn.as_deref(),
        Some(log[0].model_arn.as_str())
    );
    Ok(())
}

/// 11. Restarting the operator with 50 Active resources makes no CreateCustomModel call and
/// no status write when nothing changed.
#[tokio::test]
async fn restart_with_active_resources_is_quiet() -> Result<()> {
    let mut world = World::start("restart").await?;
    let names: Vec<String> = (0..50).map(|i| format!("steady-{i:02}")).collect();
    try_join_all(names.iter().map(|name| world.apply(name, s3_spec(name)))).await?;
    for name in &names {
        world.wait_ready(name).await?;
    }
    world.kill_operator().await?;
    let versions: Vec<(String, Option<String>)> = world
        .api
        .list(&Default::default())
        .await?
        .items
        .iter()
        .map(|r| (r.name_any(), r.resource_version()))
        .collect();
    let creates = world.calls(Operation::CreateCustomModel);
    let gets = world.calls(Operation::GetCustomModel);

    world.start_operator().await?;
    // Every resource is looked at again (one GetCustomModel each) ...
    world
        .wait_emulator("every model looked at", |e| {
            e.state().counters().total(Operation::GetCustomModel) >= gets + 50
        })
        .await?;
    // ... and none of them was written.
    let after: Vec<(String, Option<String>)> = world
        .api
        .list(&Default::default())
        .await?
        .items
        .iter()
        .map(|r| (r.name_any(), r.resource_version()))
        .collect();
    assert_eq!(
        after, versions,
        "no status write after a restart when nothing changed"
    );
    assert_eq!(world.calls(Operation::CreateCustomModel), creates);
    Ok(())
}

/// A control plane of its own for the malformed-object test, which swaps the CRD for a while.
static MALFORMED_PLANE: tokio::sync::OnceCell<testkit::ControlPlane> =
    tokio::sync::OnceCell::const_new();

/// A malformed object (one the operator cannot even deserialize) is reported on itself and
/// does not stop the watch for the others. The current CRD refuses such an object, so it is
/// written the way one gets stored in real life: under a laxer CRD (an older or edited one),
/// which is then replaced (the API server does not revalidate stored objects).
#[tokio::test]
async fn malformed_object_does_not_stop_the_others() -> Result<()> {
    use bedrock_operator::crd;
    let plane = MALFORMED_PLANE
        .get_or_try_init(testkit::ControlPlane::start)
        .await?;
    let world = World::with_plane(
        plane,
        "malformed",
        EmulatorConfig {
            ready_delay: Duration::from_millis(1500),
            ..EmulatorConfig::default()
        },
        &[],
        &[],
    )
    .await?;
    world.apply("broken", s3_spec("broken")).await?;
    world.wait_ready("broken").await?;

    // The lax CRD: any status, and so no rule that reads one.
    let mut lax = serde_json::to_value(crd::crd())?;
    let schema = &mut lax["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    schema["properties"]["status"] =
        json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
    schema
        .as_object_mut()
        .context("the schema is an object")?
        .remove("x-kubernetes-validations");
    plane
        .install_crds(&[serde_json::from_value(lax)?, crd::deployment_crd()])
        .await?;
    // recreations is an int32 in the Rust types.
    let patch = json!({"status": {"recreations": 99_999_999_999_i64}});
    let patched = world
        .api
        .patch_status("broken", &PatchParams::default(), &Patch::Merge(&patch))
        .await;
    match patched {
        // The typed response cannot be parsed: that is the point.
        Err(kube::Error::SerdeError(_)) => {}
        other => panic!("the lax CRD must store the malformed status as written: {other:?}"),
    }
    plane.install_crds(&crd::crds()).await?;

    world.apply("healthy", s3_spec("healthy")).await?;
    world.wait_ready("healthy").await?;
    let raw: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        world.plane.client(),
        &world.namespace,
        &kube::api::ApiResource::erase::<bedrock_operator::api::BedrockCustomModel>(&()),
    );
    let mut last = Value::Null;
    let reported = testkit::wait::until(
        "the malformed object to be reported InvalidSpec",
        crate::harness::DEADLINE,
        crate::harness::POLL,
        async || {
            let object = raw.get("broken").await?;
            let reason = object.data["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Synced"))
                .and_then(|c| c["reason"].as_str().map(str::to_string));
            last = object.data["status"].clone();
            Ok((reason.as_deref() == Some("InvalidSpec")).then_some(()))
        },
    )
    .await;
    reported.with_context(|| format!("last status: {last:?}"))
}
