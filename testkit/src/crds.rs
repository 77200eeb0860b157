//! Installing CustomResourceDefinitions the way Helm 4 does: unchanged, by server-side apply,
//! then waiting until they are Established.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use serde::Deserialize;
use serde_json::Value;

/// How long a CRD may take to become Established, and then to be published in OpenAPI v3.
pub const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the OpenAPI v3 document is read again while a kind is not yet in it.
const OPENAPI_POLL: Duration = Duration::from_millis(100);

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

/// The field manager of CRDs testkit applies.
const FIELD_MANAGER: &str = "testkit";

/// Applies each CRD, unchanged, by server-side apply (forcing conflicts: a test's CRD wins over
/// an older copy) and waits until all are Established. A server that refuses a CRD (a CEL
/// rule over the cost budget, an unknown field) fails the install with its message. Then waits
/// until every served version of each kind is in the server's OpenAPI v3 document, so that
/// `kubectl explain` right after an install finds it.
pub(crate) async fn install(
    client: &kube::Client,
    crds: &[CustomResourceDefinition],
) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for crd in crds {
        let name = crd
            .metadata
            .name
            .clone()
            .context("a CRD to install has no metadata.name")?;
        let mut crd = crd.clone();
        crd.metadata.resource_version = None;
        crd.metadata.managed_fields = None;
        crd.status = None;
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("applying CRD {name}"))?;
        names.push(name);
    }
    for name in &names {
        let name = name.as_str();
        let established = await_condition(api.clone(), name, conditions::is_crd_established());
        match tokio::time::timeout(ESTABLISH_TIMEOUT, established).await {
            Ok(Ok(_)) => tracing::debug!(crd = %name, "established"),
            Ok(Err(error)) => return Err(error).with_context(|| format!("watching CRD {name}")),
            Err(_) => bail!("CRD {name} was not Established within {ESTABLISH_TIMEOUT:?}"),
        }
    }
    for crd in crds {
        let spec = &crd.spec;
        for version in spec.versions.iter().filter(|version| version.served) {
            let published = published(client, &spec.group, &version.name, &spec.names.kind);
            match tokio::time::timeout(ESTABLISH_TIMEOUT, published).await {
                Ok(result) => result?,
                Err(_) => bail!(
                    "{}/{} {} was not in the OpenAPI v3 document within {ESTABLISH_TIMEOUT:?}",
                    spec.group,
                    version.name,
                    spec.names.kind
                ),
            }
        }
    }
    Ok(())
}

/// Returns once the OpenAPI v3 document of `group`/`version` names `kind`.
async fn published(client: &kube::Client, group: &str, version: &str, kind: &str) -> Result<()> {
    let path = format!("/openapi/v3/apis/{group}/{version}");
    loop {
        let request = http::Request::get(path.as_str()).body(Vec::new())?;
        // Until the first kind of a group is published the path is 404: read again.
        if let Ok(document) = client.request::<Value>(request).await
            && names_kind(&document, group, version, kind)
        {
            return Ok(());
        }
        tokio::time::sleep(OPENAPI_POLL).await;
    }
}

/// Whether an OpenAPI v3 document has a schema for `group`/`version` `kind`.
fn names_kind(document: &Value, group: &str, version: &str, kind: &str) -> bool {
    let Some(schemas) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return false;
    };
    schemas.values().any(|schema| {
        schema
            .get("x-kubernetes-group-version-kind")
            .and_then(Value::as_array)
            .is_some_and(|kinds| {
                kinds.iter().any(|gvk| {
                    gvk["group"] == group && gvk["version"] == version && gvk["kind"] == kind
                })
            })
    })
}

/// The server's minor version (`"20"`, or `"20+"` on some distributions).
pub async fn server_minor(client: &kube::Client) -> Result<u32> {
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

    fn crd(schema: Value) -> CustomResourceDefinition {
        let version = json!({
            "name": "v1", "served": true, "storage": true,
            "schema": { "openAPIV3Schema": schema },
        });
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

    #[test]
    fn a_kind_is_published_when_a_schema_names_its_group_version_and_kind() {
        let document = json!({ "components": { "schemas": {
            "com.example.v1.Widget": {
                "x-kubernetes-group-version-kind": [
                    { "group": "example.com", "version": "v1", "kind": "Widget" },
                ],
            },
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {},
        }}});
        assert!(names_kind(&document, "example.com", "v1", "Widget"));
        assert!(!names_kind(&document, "example.com", "v1", "Gadget"));
        assert!(!names_kind(&document, "example.com", "v2", "Widget"));
        assert!(!names_kind(&json!({}), "example.com", "v1", "Widget"));
    }

    #[test]
    fn yaml_streams_parse_into_crds() {
        let one = serde_yaml::to_string(&crd(json!({ "type": "object" }))).expect("yaml");
        let parsed = parse_yaml(&format!("---\n{one}---\n{one}\n---\n")).expect("parses");
        assert_eq!(parsed.len(), 2);
    }
}
