//! GitOps manners: a manifest applied with server-side apply under its own field manager (as
//! Argo CD does with ServerSideApply=true) stays entirely its own. The operator's writes (status
//! through its own apply, the finalizer through kube-runtime's helper) own nothing in spec and
//! nothing in metadata but the finalizers, so re-applying the manifest never conflicts.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use bedrock_operator::api::conditions::READY;
use bedrock_operator::api::{BedrockCustomModel, FINALIZER};
use bedrock_operator::controller::FIELD_MANAGER;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::harness::{World, condition};

/// The field manager of the "GitOps tool".
const GITOPS: &str = "gitops";
const NAME: &str = "gitops-model";
/// The manager the API server records for the finalizer patch.
const FINALIZER_MANAGER: &str = "unknown";

fn manifest(stage: &str) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModel",
        "metadata": {
            "name": NAME,
            "labels": { "app.kubernetes.io/instance": "models", "team": "ml" },
            "annotations": {
                "argocd.argoproj.io/sync-wave": "1",
                "example.com/owner": "ml-platform",
            },
        },
        "spec": {
            "modelName": NAME,
            "source": { "s3Uri": "s3://e2e-models/gitops/" },
            "roleArn": "arn:aws:iam::123456789012:role/BedrockImport",
            "tags": { "team": "ml", "stage": stage },
            "deletionPolicy": "Delete",
            "adoptionPolicy": "Never",
        },
    })
}

/// Server-side apply as `manager`, without force: a conflict is an error.
async fn apply_as(world: &World, manager: &str, object: &Value) -> Result<BedrockCustomModel> {
    Ok(world
        .api
        .patch(NAME, &PatchParams::apply(manager), &Patch::Apply(object))
        .await?)
}

/// Every leaf of `value` as a managed-fields path: `{"spec": {"source": {"s3Uri": ..}}}` gives
/// `["f:spec", "f:source", "f:s3Uri"]`.
fn leaf_paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                prefix.push(format!("f:{key}"));
                leaf_paths(inner, prefix, out);
                prefix.pop();
            }
        }
        _ => out.push(prefix.clone()),
    }
}

fn owns(fields: &Value, path: &[String]) -> bool {
    path.iter()
        .try_fold(fields, |node, key| node.get(key))
        .is_some()
}

/// (manager, operation, fieldsV1) of each managed-fields entry.
fn managed_fields(resource: &BedrockCustomModel) -> Vec<(String, String, Value)> {
    resource
        .metadata
        .managed_fields
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|entry| {
            (
                entry.manager.unwrap_or_default(),
                entry.operation.unwrap_or_default(),
                entry.fields_v1.map(|f| f.0).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// Checks who owns what on the live object, and returns the manager that owns the finalizers.
fn check_ownership(resource: &BedrockCustomModel, applied: &Value) -> Result<String> {
    let entries = managed_fields(resource);
    let describe = || serde_json::to_string_pretty(&resource.metadata.managed_fields).unwrap();

    // The operator's entries: status, and the finalizer in metadata; nothing else.
    let mut finalizer_manager = None;
    for (manager, operation, fields) in entries.iter().filter(|e| e.0 != GITOPS) {
        let top: Vec<&String> = fields
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert!(
            top.iter().all(|k| *k == "f:status" || *k == "f:metadata"),
            "{manager} ({operation}) owns {top:?}; it may own f:status and f:metadata.f:finalizers only:\n{}",
            describe()
        );
        assert!(fields.get("f:spec").is_none(), "{manager} owns spec fields");
        if let Some(metadata) = fields.get("f:metadata") {
            let keys: Vec<&String> = metadata
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            assert!(
                keys.iter().all(|k| *k == "f:finalizers"),
                "{manager} ({operation}) owns metadata fields {keys:?}; only f:finalizers is allowed:\n{}",
                describe()
            );
            if !keys.is_empty() {
                assert_eq!(operation, "Update", "the finalizer is patched, not applied");
                finalizer_manager = Some(manager.clone());
            }
        }
    }
    let status_entry = entries
        .iter()
        .find(|e| e.0 == FIELD_MANAGER && e.2.get("f:status").is_some())
        .with_context(|| format!("no {FIELD_MANAGER} entry owning f:status:\n{}", describe()))?;
    assert_eq!(
        status_entry.1, "Apply",
        "status goes through server-side apply"
    );
    let Some(finalizer_manager) = finalizer_manager else {
        bail!("nobody owns f:metadata.f:finalizers:\n{}", describe());
    };

    // The GitOps tool still owns every field it applied, and nothing it did not.
    let gitops: Vec<&(String, String, Value)> = entries.iter().filter(|e| e.0 == GITOPS).collect();
    assert_eq!(gitops.len(), 1, "one {GITOPS} entry:\n{}", describe());
    let (_, operation, fields) = gitops[0];
    assert_eq!(operation, "Apply");
    let mut wanted = Vec::new();
    for part in ["spec", "metadata"] {
        let mut prefix = vec![format!("f:{part}")];
        let subtree = match part {
            "metadata" => json!({
                "labels": applied["metadata"]["labels"],
                "annotations": applied["metadata"]["annotations"],
            }),
            _ => applied[part].clone(),
        };
        leaf_paths(&subtree, &mut prefix, &mut wanted);
    }
    for path in &wanted {
        assert!(
            owns(fields, path),
            "{GITOPS} lost {}:\n{}",
            path.join("."),
            describe()
        );
    }
    assert!(fields.get("f:status").is_none());
    assert!(
        fields
            .get("f:metadata")
            .and_then(|m| m.get("f:finalizers"))
            .is_none()
    );

    // Spec, labels and annotations are exactly what was applied.
    let live = serde_json::to_value(resource)?;
    assert_eq!(live["spec"], applied["spec"], "spec as applied");
    assert_eq!(live["metadata"]["labels"], applied["metadata"]["labels"]);
    assert_eq!(
        live["metadata"]["annotations"],
        applied["metadata"]["annotations"]
    );
    assert_eq!(
        serde_json::to_string(&live["spec"])?,
        serde_json::to_string(&applied["spec"])?
    );
    assert_eq!(resource.finalizers(), [FINALIZER.to_string()]);
    Ok(finalizer_manager)
}

#[tokio::test]
async fn gitops_manifest_stays_owned_by_the_gitops_tool() -> Result<()> {
    let world = World::start("gitops").await?;
    let first = manifest("dev");
    apply_as(&world, GITOPS, &first).await?;
    let ready = world.wait_ready(NAME).await?;
    let generation = ready.metadata.generation;
    let finalizer_manager = check_ownership(&ready, &first)?;
    eprintln!(
        "managed fields after reconcile:\n{}",
        serde_json::to_string_pretty(&ready.metadata.managed_fields)?
    );
    // kube-runtime's finalizer helper adds the finalizer with a JSON patch that names no field
    // manager, and kube's client sends no User-Agent, so the API server records the write as
    // an Update by "unknown" (docs/argocd.md says so).
    assert_eq!(finalizer_manager, FINALIZER_MANAGER);

    // The same manifest again, without force: no conflict, no new generation.
    let again = apply_as(&world, GITOPS, &first).await?;
    assert_eq!(again.metadata.generation, generation);
    check_ownership(&again, &first)?;

    // Conflicts are real: another manager changing a field the GitOps tool owns is refused.
    let mut intruder = first.clone();
    intruder["spec"] = json!({ "tags": { "stage": "hijacked" } });
    match apply_as(&world, "intruder", &intruder).await {
        Err(e) => match e.downcast_ref::<kube::Error>() {
            Some(kube::Error::Api(status)) if status.code == 409 => {}
            _ => bail!("expected a 409 conflict, got {e:#}"),
        },
        Ok(_) => bail!("a second manager took spec.tags.stage without a conflict"),
    }

    // A tag changes in Git: applied without force, no conflict, and it reaches Bedrock.
    let second = manifest("prod");
    let changed = apply_as(&world, GITOPS, &second).await?;
    let new_generation = changed.metadata.generation;
    assert_ne!(new_generation, generation);
    world
        .wait_emulator("the new tag on the model", |emulator| {
            emulator
                .state()
                .model(NAME)
                .map(|m| {
                    m.tags
                        .into_iter()
                        .map(|t| (t.key, t.value))
                        .collect::<BTreeMap<_, _>>()
                })
                .is_some_and(|tags| tags.get("stage").map(String::as_str) == Some("prod"))
        })
        .await?;
    let synced = world
        .wait_for(NAME, "Ready for the new generation", |r| {
            r.status.as_ref().and_then(|s| s.observed_generation) == new_generation
                && condition(r, READY).is_some_and(|c| c.0 == "True")
        })
        .await?;
    let again_manager = check_ownership(&synced, &second)?;
    assert_eq!(again_manager, finalizer_manager);
    assert_eq!(world.emulator.state().create_log().len(), 1);
    Ok(())
}
