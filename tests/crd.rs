//! The committed CRD is exactly what the Rust types generate.

use bedrock_operator::api::crd;

#[test]
fn committed_crd_matches_the_generator() {
    let committed = include_str!("../crds/bedrockcustommodels.bedrock-operator.dev.yaml");
    let generated = crd::crd_yaml().expect("the CRD renders");
    assert!(
        committed == generated,
        "crds/bedrockcustommodels.bedrock-operator.dev.yaml is stale: run `cargo xtask crd` and commit the result"
    );
}

#[test]
fn every_field_has_a_description() {
    let crd = serde_json::to_value(crd::crd()).expect("the CRD serializes");
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let mut missing = Vec::new();
    walk(schema, "", &mut missing);
    assert!(
        missing.is_empty(),
        "fields without a description (kubectl explain shows nothing): {missing:?}"
    );
}

fn walk(schema: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
    let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    for (name, field) in properties {
        let field_path = format!("{path}.{name}");
        // metadata, apiVersion and kind are Kubernetes' own.
        let own = !(path.is_empty() && ["metadata", "apiVersion", "kind"].contains(&name.as_str()));
        if own && field.get("description").is_none() {
            missing.push(field_path.clone());
        }
        walk(field, &field_path, missing);
        if let Some(items) = field.get("items") {
            walk(items, &format!("{field_path}[]"), missing);
        }
    }
}
