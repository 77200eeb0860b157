//! What spans the kinds: edge objects every kind's script judges alike, the argocd-cm snippet
//! and the contribution layouts' scripts, and argocd-lua itself (no more lenient than Argo CD).

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::{
    CHECKS, Case, Check, DEPLOYMENT, Health, MODEL, Mode, PENDING_DELETION, THROUGHPUT, argocd_dir,
    check_cases, failed_cases, gen2, health_under, ready, synced,
};

/// A BedrockCustomModel. No script reads kind or spec, so the topics every kind shares use it
/// for all of them.
fn object(metadata: Value, status: Value) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModel",
        "metadata": metadata,
        "spec": { "source": { "s3Uri": "s3://e2e-models/x/" } },
        "status": status,
    })
}

/// No status, no conditions, conditions of the wrong shape: Progressing, never an error.
#[tokio::test]
async fn edge_objects_without_a_status_or_conditions() -> Result<()> {
    check_cases(CHECKS, vec![
        (
            "empty object",
            json!({}),
            "Progressing",
            "report a status".into(),
        ),
        (
            "no status at all",
            json!({ "metadata": gen2(), "spec": {} }),
            "Progressing",
            "report a status".into(),
        ),
        (
            "a status that is not an object",
            object(gen2(), json!("Active")),
            "Progressing",
            "report a status".into(),
        ),
        (
            "empty conditions",
            object(gen2(), json!({ "observedGeneration": 2, "conditions": [] })),
            "Progressing",
            "Ready condition".into(),
        ),
        (
            "conditions of the wrong type",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": "Ready" }),
            ),
            "Progressing",
            "Ready condition".into(),
        ),
        (
            "only a Synced condition",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [synced("True", "Reconciled", json!(2))] }),
            ),
            "Progressing",
            "Ready condition".into(),
        ),
        (
            "status without observedGeneration",
            object(
                gen2(),
                json!({ "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "observe generation 2 (status.observedGeneration is none)".into(),
        ),
        (
            "Ready without observedGeneration",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [{ "type": "Ready", "status": "True", "reason": "Active" }] }),
            ),
            "Progressing",
            "the Ready condition is for generation none".into(),
        ),
    ])
    .await
}

/// Argo CD hands the script every number as a float: generations compare and print as the
/// whole numbers they are.
#[tokio::test]
async fn edge_objects_with_float_numbers() -> Result<()> {
    check_cases(CHECKS, vec![
        (
            "generation and observedGeneration written as floats",
            object(
                json!({ "name": "m", "generation": 2.0 }),
                json!({ "observedGeneration": 2.0, "conditions": [ready("True", "Active", json!(2.0))] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
        (
            "a generation not yet observed",
            object(
                json!({ "name": "m", "generation": 3 }),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "Waiting for the operator to observe generation 3 (status.observedGeneration is 2)"
                .into(),
        ),
        (
            "Ready for an older generation",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(1))] }),
            ),
            "Progressing",
            "observe generation 2 (the Ready condition is for generation 1)".into(),
        ),
        (
            "a large generation",
            object(
                json!({ "name": "m", "generation": 1_234_567_890_123_i64 }),
                json!({ "observedGeneration": 1_234_567_890_122_i64, "conditions": [ready("True", "Active", json!(1_234_567_890_122_i64))] }),
            ),
            "Progressing",
            "generation 1234567890123 (status.observedGeneration is 1234567890122)".into(),
        ),
    ])
    .await
}

/// Argo CD drops every JSON null, also inside arrays (the entries after it move up).
#[tokio::test]
async fn edge_objects_with_nulls() -> Result<()> {
    check_cases(CHECKS, vec![
        (
            "null status",
            object(gen2(), Value::Null),
            "Progressing",
            "report a status".into(),
        ),
        (
            "null conditions",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": null }),
            ),
            "Progressing",
            "Ready condition".into(),
        ),
        (
            "null observedGeneration",
            object(
                gen2(),
                json!({ "observedGeneration": null, "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "(status.observedGeneration is none)".into(),
        ),
        (
            "null entries around Ready and junk entries",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [null, 7, "x", ready("True", "Active", json!(2)), null] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
        (
            "a null message: the reason stands in",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [{ "type": "Ready", "status": "False", "reason": "QuotaExceeded", "message": null, "observedGeneration": 2 }] }),
            ),
            "Degraded",
            "QuotaExceeded".into(),
        ),
        (
            "a null metadata.generation: nothing to compare with",
            object(
                json!({ "name": "m", "generation": null }),
                json!({ "conditions": [ready("True", "Active", Value::Null)] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
    ])
    .await
}

/// The conditions may come in any order, with other types among them.
#[tokio::test]
async fn edge_objects_with_conditions_in_any_order() -> Result<()> {
    let other = json!({ "type": "SomethingElse", "status": "False", "reason": "Whatever" });
    check_cases(CHECKS, vec![
        (
            "Synced before Ready",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [synced("True", "Reconciled", json!(2)), other, ready("True", "Active", json!(2))] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
        (
            "Ready, but tag changes are throttled (Synced first)",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [synced("False", "Throttled", json!(2)), ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            "synced message (Throttled)".into(),
        ),
        (
            "Degraded only on Synced, Ready last",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [other, synced("False", "TooManyTags", json!(2)), ready("False", "Creating", json!(2))] }),
            ),
            "Degraded",
            "synced message (TooManyTags)".into(),
        ),
        (
            "a Degraded Synced of an older generation does not count",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [synced("False", "TooManyTags", json!(1)), ready("True", "Active", json!(2))] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
    ])
    .await
}

/// Reasons a newer operator may add: Unknown (with the reason) only when Ready is False for a
/// reason this check has not heard of; otherwise Ready's status decides. Deleting is a reason
/// of models only: the deployment's and the throughput's checks do not know it.
#[tokio::test]
async fn edge_objects_with_reasons_this_check_does_not_know() -> Result<()> {
    let deleting = || {
        object(
            gen2(),
            json!({ "observedGeneration": 2, "conditions": [ready("False", "Deleting", json!(2))] }),
        )
    };
    let shared: Vec<Case> = vec![
        (
            "Ready False, a new reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "SomethingNew", json!(2))] }),
            ),
            "Unknown",
            "SomethingNew".into(),
        ),
        (
            "Ready Unknown, a new reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("Unknown", "SomethingNew", json!(2))] }),
            ),
            "Progressing",
            "ready message (SomethingNew)".into(),
        ),
        (
            "Ready True, a new reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "SomethingNew", json!(2))] }),
            ),
            "Healthy",
            "ready message (SomethingNew)".into(),
        ),
        (
            "Ready True, Synced False for a new reason",
            object(
                gen2(),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(2)), synced("False", "SomethingNew", json!(2))] }),
            ),
            "Healthy",
            "ready message (Active)".into(),
        ),
    ];
    let mut failures = failed_cases(CHECKS, &shared).await?;
    failures.extend(
        failed_cases(
            &[MODEL],
            &[(
                "a Deleting reason",
                deleting(),
                "Progressing",
                "ready message (Deleting)".into(),
            )],
        )
        .await?,
    );
    failures.extend(
        failed_cases(
            &[DEPLOYMENT, THROUGHPUT],
            &[(
                "a Deleting reason",
                deleting(),
                "Unknown",
                "(Deleting): ready message (Deleting)".into(),
            )],
        )
        .await?,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Whatever its conditions say, an object being deleted is Pending deletion: Argo CD does not
/// run the script for it, and the script says the same when run on its own.
#[tokio::test]
async fn edge_objects_being_deleted() -> Result<()> {
    let deleted = |generation: i64| json!({ "name": "m", "generation": generation, "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["bedrock-operator.dev/cleanup"] });
    check_cases(CHECKS, vec![
        (
            "blocked",
            object(
                deleted(2),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "DeletionBlocked", json!(2)), synced("False", "DeletionBlocked", json!(2))] }),
            ),
            "Progressing",
            PENDING_DELETION.into(),
        ),
        (
            "not yet observed",
            object(
                deleted(3),
                json!({ "observedGeneration": 2, "conditions": [ready("True", "Active", json!(2))] }),
            ),
            "Progressing",
            PENDING_DELETION.into(),
        ),
        (
            "never reconciled",
            json!({ "metadata": deleted(1) }),
            "Progressing",
            PENDING_DELETION.into(),
        ),
        (
            "Failed",
            object(
                deleted(2),
                json!({ "observedGeneration": 2, "conditions": [ready("False", "Failed", json!(2))] }),
            ),
            "Progressing",
            PENDING_DELETION.into(),
        ),
    ])
    .await
}

/// argocd-lua is no more lenient than Argo CD, or the tests above would prove nothing: without
/// useOpenLibs there is no `math` (the error a user saw, as Unknown), numbers are floats, nulls
/// in arrays vanish, a deleted object never reaches the script, and a status Argo CD does not
/// know is Unknown.
#[tokio::test]
async fn argocd_lua_runs_scripts_as_argo_cd_does() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("argocd-lua-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = |name: &str, text: &str| -> Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let healthy = |message: &str| Health {
        status: "Healthy".into(),
        message: message.into(),
    };
    let object = json!({
        "metadata": { "generation": 2 },
        "status": { "conditions": [null, { "type": "Ready" }, null, { "type": "Synced" }], "message": null },
    });

    let floor = script(
        "floor.lua",
        "return { status = 'Healthy', message = tostring(math.floor(obj.metadata.generation)) }",
    )?;
    let healths = health_under(&floor, Mode::ArgocdCm, std::slice::from_ref(&object)).await?;
    let argocd_cm = &healths[0];
    assert_eq!(argocd_cm.status, "Unknown");
    assert!(
        argocd_cm
            .message
            .ends_with("attempt to index a non-table object(nil) with key 'floor'"),
        "{argocd_cm:?}"
    );
    assert_eq!(
        health_under(&floor, Mode::OpenLibs, std::slice::from_ref(&object)).await?,
        [healthy("2")]
    );

    let shapes = script(
        "shapes.lua",
        "return { status = 'Healthy', message = tostring(obj.metadata.generation) .. ' '
           .. tostring(#obj.status.conditions) .. ' ' .. obj.status.conditions[2].type .. ' '
           .. type(obj.status.message) .. ' ' .. type(string) .. ' ' .. type(os) }",
    )?;
    assert_eq!(
        health_under(&shapes, Mode::ArgocdCm, std::slice::from_ref(&object)).await?,
        [healthy("2 2 Synced nil nil nil")]
    );

    let never = script("never.lua", "error('the script ran')")?;
    let mut deleted = object.clone();
    deleted["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let healths = health_under(&never, Mode::ArgocdCm, &[deleted.clone(), object.clone()]).await?;
    assert_eq!(
        healths[0],
        Health {
            status: "Progressing".into(),
            message: PENDING_DELETION.into()
        }
    );
    assert_eq!(healths[1].status, "Unknown");
    assert!(
        healths[1].message.ends_with("the script ran"),
        "{healths:?}"
    );
    let script_only = health_under(&never, Mode::ScriptOnly, &[deleted]).await?;
    assert_eq!(script_only[0].status, "Unknown", "{script_only:?}");

    let odd = script(
        "odd.lua",
        "return { status = 'Fine', message = 'all good' }",
    )?;
    assert_eq!(
        health_under(&odd, Mode::ArgocdCm, &[object]).await?,
        [Health {
            status: "Unknown".into(),
            message: "Lua returned an invalid health status".into()
        }]
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// The argocd-cm snippet installs each kind's script, byte for byte, under the key Argo CD
/// looks up for that group and kind, and nothing else.
#[test]
fn argocd_cm_snippet_is_each_kinds_script() -> Result<()> {
    let snippet: Value = serde_yaml::from_str(&std::fs::read_to_string(
        argocd_dir().join("argocd-cm.yaml"),
    )?)?;
    assert_eq!(snippet["kind"], "ConfigMap");
    assert_eq!(snippet["metadata"]["name"], "argocd-cm");
    let keys: Vec<String> = CHECKS.iter().map(Check::argocd_cm_key).collect();
    assert_eq!(
        keys,
        [
            "resource.customizations.health.bedrock-operator.dev_BedrockCustomModel",
            "resource.customizations.health.bedrock-operator.dev_BedrockCustomModelDeployment",
            "resource.customizations.health.bedrock-operator.dev_BedrockImportedModel",
            "resource.customizations.health.bedrock-operator.dev_BedrockProvisionedThroughput",
        ]
    );
    let data = snippet["data"].as_object().context("data")?;
    let mut listed: Vec<&String> = data.keys().collect();
    listed.sort();
    assert_eq!(listed, keys.iter().collect::<Vec<_>>(), "argocd-cm's keys");
    for (check, key) in CHECKS.iter().zip(&keys) {
        let script = std::fs::read_to_string(check.script())?;
        let inlined = data[key].as_str().context("the script")?;
        assert!(
            inlined == script,
            "docs/argocd/argocd-cm.yaml's script for {} differs from docs/argocd/{}: paste it under `{key}: |`, indented by four spaces",
            check.kind(),
            check.script
        );
    }
    Ok(())
}

/// Each contribution layout carries the script argocd-cm installs, byte for byte.
#[test]
fn contribution_layout_health_lua_is_health_lua() -> Result<()> {
    for check in CHECKS {
        let script = std::fs::read_to_string(check.script())?;
        let path = check.contribution_dir().join("health.lua");
        let contributed = std::fs::read_to_string(&path)?;
        assert!(
            contributed == script,
            "{} differs from docs/argocd/{}: copy it",
            path.display(),
            check.script
        );
    }
    Ok(())
}
