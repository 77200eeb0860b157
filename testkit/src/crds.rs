//! Installing CustomResourceDefinitions on servers older than the types that describe them.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use serde::Deserialize;
use serde_json::Value;

/// How long a CRD may take to become Established.
pub const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a create-or-replace is retried when another writer got in between.
const WRITE_ATTEMPTS: usize = 5;

/// The first minor version that accepts `x-kubernetes-validations` (CEL, beta and on by default).
pub const CEL_SINCE_MINOR: u32 = 25;
/// The first minor version that accepts `spec.versions[].selectableFields`.
pub const SELECTABLE_FIELDS_SINCE_MINOR: u32 = 30;

const VALIDATIONS_KEY: &str = "x-kubernetes-validations";
const SELECTABLE_FIELDS_KEY: &str = "selectableFields";

/// `crd` without the fields a server of this minor version does not know, and the JSON paths of
/// what was removed.
///
/// Removed below 1.25: every `x-kubernetes-validations` (CEL rules) anywhere in the schemas; a
/// 1.20 server refuses them under server-side apply and silently drops them otherwise. Removed
/// below 1.30: `spec.versions[].selectableFields`. Everything else kube-derive 5 emits
/// (`x-kubernetes-list-type`, `x-kubernetes-map-type`, `x-kubernetes-preserve-unknown-fields`,
/// `x-kubernetes-int-or-string`, `nullable`, defaults, subresources, printer columns) is
/// understood by 1.20.
pub fn for_server(
    crd: &CustomResourceDefinition,
    server_minor: u32,
) -> Result<(CustomResourceDefinition, Vec<String>)> {
    let mut value = serde_json::to_value(crd).context("serialising a CRD")?;
    let mut removed = Vec::new();
    if server_minor < SELECTABLE_FIELDS_SINCE_MINOR
        && let Some(versions) = value
            .pointer_mut("/spec/versions")
            .and_then(Value::as_array_mut)
    {
        for (index, version) in versions.iter_mut().enumerate() {
            if let Some(object) = version.as_object_mut()
                && object.remove(SELECTABLE_FIELDS_KEY).is_some()
            {
                removed.push(format!("/spec/versions/{index}/{SELECTABLE_FIELDS_KEY}"));
            }
        }
    }
    if server_minor < CEL_SINCE_MINOR {
        remove_key_recursively(&mut value, VALIDATIONS_KEY, "", &mut removed);
    }
    let crd = serde_json::from_value(value).context("rebuilding a CRD")?;
    Ok((crd, removed))
}

fn remove_key_recursively(value: &mut Value, key: &str, path: &str, removed: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if object.remove(key).is_some() {
                removed.push(format!("{path}/{key}"));
            }
            for (name, child) in object.iter_mut() {
                remove_key_recursively(child, key, &format!("{path}/{name}"), removed);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter_mut().enumerate() {
                remove_key_recursively(child, key, &format!("{path}/{index}"), removed);
            }
        }
        _ => {}
    }
}

/// Parses CRDs from YAML (several documents separated by `---`; empty documents are skipped).
pub fn parse_yaml(yaml: &str) -> Result<Vec<CustomResourceDefinition>> {
    let mut crds = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let value = Value::deserialize(document)
            .with_context(|| format!("parsing YAML document {index}"))?;
        if value.is_null() {
            continue;
        }
        let crd = serde_json::from_value(value)
            .with_context(|| format!("YAML document {index} is not a CustomResourceDefinition"))?;
        crds.push(crd);
    }
    Ok(crds)
}

/// Creates or replaces each CRD (adapted to the server with [`for_server`]) and waits until all
/// are Established.
pub(crate) async fn install(
    client: &kube::Client,
    crds: &[CustomResourceDefinition],
) -> Result<()> {
    let server_minor = server_minor(client).await?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for crd in crds {
        let (crd, removed) = for_server(crd, server_minor)?;
        let name = crd
            .metadata
            .name
            .clone()
            .context("a CRD to install has no metadata.name")?;
        if !removed.is_empty() {
            tracing::debug!(crd = %name, server_minor, ?removed, "removed fields the server does not know");
        }
        create_or_replace(&api, &name, crd).await?;
        names.push(name);
    }
    for name in names {
        let established = await_condition(api.clone(), &name, conditions::is_crd_established());
        match tokio::time::timeout(ESTABLISH_TIMEOUT, established).await {
            Ok(Ok(_)) => tracing::debug!(crd = %name, "established"),
            Ok(Err(error)) => return Err(error).with_context(|| format!("watching CRD {name}")),
            Err(_) => bail!("CRD {name} was not Established within {ESTABLISH_TIMEOUT:?}"),
        }
    }
    Ok(())
}

async fn create_or_replace(
    api: &Api<CustomResourceDefinition>,
    name: &str,
    mut crd: CustomResourceDefinition,
) -> Result<()> {
    for _ in 0..WRITE_ATTEMPTS {
        let existing = api
            .get_opt(name)
            .await
            .with_context(|| format!("reading CRD {name}"))?;
        let result = match existing {
            Some(existing) => {
                crd.metadata.resource_version = existing.metadata.resource_version;
                api.replace(name, &PostParams::default(), &crd).await
            }
            None => {
                crd.metadata.resource_version = None;
                api.create(&PostParams::default(), &crd).await
            }
        };
        match result {
            Ok(_) => return Ok(()),
            // Another test installed or changed it between our read and write: read again.
            Err(kube::Error::Api(status)) if status.is_conflict() || status.is_already_exists() => {
            }
            Err(error) => return Err(error).with_context(|| format!("writing CRD {name}")),
        }
    }
    bail!("CRD {name} kept changing under us ({WRITE_ATTEMPTS} attempts)")
}

/// The server's minor version (`"20"`, or `"20+"` on some distributions).
pub(crate) async fn server_minor(client: &kube::Client) -> Result<u32> {
    let info = client
        .apiserver_version()
        .await
        .context("reading the server version")?;
    info.minor
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .with_context(|| format!("unexpected server minor version {:?}", info.minor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(schema: Value, selectable: bool) -> CustomResourceDefinition {
        let mut version = json!({
            "name": "v1", "served": true, "storage": true,
            "schema": { "openAPIV3Schema": schema },
        });
        if selectable {
            version["selectableFields"] = json!([{ "jsonPath": ".spec.size" }]);
        }
        serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": { "name": "widgets.example.com" },
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": { "plural": "widgets", "singular": "widget", "kind": "Widget" },
                "versions": [version],
            },
        }))
        .expect("valid test CRD")
    }

    fn schema_with_rules() -> Value {
        json!({
            "type": "object",
            "x-kubernetes-validations": [{ "rule": "self.spec.size > 0" }],
            "properties": { "spec": {
                "type": "object",
                "x-kubernetes-validations": [{ "rule": "self.size < 10", "message": "too big" }],
                "properties": { "tags": {
                    "type": "array",
                    "x-kubernetes-list-type": "set",
                    "items": { "type": "string", "x-kubernetes-validations": [{ "rule": "self != ''" }] },
                }},
            }},
        })
    }

    #[test]
    fn old_servers_lose_cel_rules_and_selectable_fields_only() {
        let (adapted, removed) = for_server(&crd(schema_with_rules(), true), 20).expect("adapts");
        let text = serde_json::to_string(&adapted).expect("serialises");
        assert!(!text.contains(VALIDATIONS_KEY), "{text}");
        assert!(!text.contains(SELECTABLE_FIELDS_KEY), "{text}");
        assert!(text.contains("x-kubernetes-list-type"), "{text}");
        assert_eq!(
            removed,
            [
                "/spec/versions/0/selectableFields",
                "/spec/versions/0/schema/openAPIV3Schema/x-kubernetes-validations",
                "/spec/versions/0/schema/openAPIV3Schema/properties/spec/x-kubernetes-validations",
                "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/tags/items/x-kubernetes-validations",
            ]
        );
    }

    #[test]
    fn current_servers_keep_everything() {
        let original = crd(schema_with_rules(), true);
        let (adapted, removed) = for_server(&original, 33).expect("adapts");
        assert!(removed.is_empty());
        assert_eq!(adapted, original);
    }

    #[test]
    fn yaml_streams_parse_into_crds() {
        let one = serde_yaml::to_string(&crd(json!({ "type": "object" }), false)).expect("yaml");
        let parsed = parse_yaml(&format!("---\n{one}---\n{one}\n---\n")).expect("parses");
        assert_eq!(parsed.len(), 2);
    }
}
