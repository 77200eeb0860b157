//! The committed CRDs are exactly what the Rust types generate.

use bedrock_operator::crd;

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
fn committed_deployment_crd_matches_the_generator() {
    let committed = include_str!("../crds/bedrockcustommodeldeployments.bedrock-operator.dev.yaml");
    let generated = crd::deployment_crd_yaml().expect("the CRD renders");
    assert!(
        committed == generated,
        "crds/bedrockcustommodeldeployments.bedrock-operator.dev.yaml is stale: run `cargo xtask crd` and commit the result"
    );
}

/// Every generated CRD has its file under crds/ and its template under the chart's
/// templates/crds/, byte for byte as `cargo xtask crd` writes them, and there is no other; the
/// chart has no crds/ folder (Helm would install it once and never upgrade it).
#[test]
fn every_crd_is_committed_in_both_folders() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let plain = crd::crd_files().expect("the CRDs render");
    let templates = crd::chart_crd_files().expect("the CRD templates render");
    assert_eq!(plain.len(), crd::crds().len());
    assert_eq!(templates.len(), crd::crds().len());
    for (folder, files) in [("crds", plain), (crd::CHART_CRD_TEMPLATES, templates)] {
        for file in &files {
            let path = root.join(folder).join(&file.file_name);
            let committed = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            assert!(
                committed == file.yaml,
                "{folder}/{} is stale: run `cargo xtask crd` and commit the result",
                file.file_name
            );
        }
        let mut present: Vec<String> = std::fs::read_dir(root.join(folder))
            .expect("the folder lists")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        present.sort();
        let mut expected: Vec<String> = files.iter().map(|f| f.file_name.clone()).collect();
        expected.sort();
        assert_eq!(present, expected, "{folder}: only the generated CRDs");
    }
    assert!(
        !root.join("charts/bedrock-operator/crds").exists(),
        "the chart's CRDs are templates; a crds/ folder would be installed once and never upgraded"
    );
}

/// The chart's templates are the plain CRDs with only Helm's wrapping added: stripping the
/// `{{ … }}` lines and the keep annotation and labels gives back crds/ line for line (what
/// Helm renders is compared object for object in tests/helm.rs).
#[test]
fn chart_crd_templates_wrap_the_plain_crds_unchanged() {
    let plain = crd::crd_files().expect("the CRDs render");
    let templates = crd::chart_crd_files().expect("the CRD templates render");
    for (plain, template) in plain.iter().zip(&templates) {
        assert_eq!(plain.file_name, template.file_name);
        let spec_of = |text: &str| -> String {
            let start = text.find("\nspec:\n").expect("a spec");
            let body = &text[start + 1..];
            body.lines()
                .filter(|line| !line.trim_start().starts_with("{{"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            spec_of(&template.yaml),
            spec_of(&plain.yaml),
            "{}: the template's spec is the CRD's",
            template.file_name
        );
        assert!(
            template.yaml.starts_with(&format!(
                "{{{{- $crds := required \"{}\" .Values.crds }}}}\n{{{{- if $crds.install }}}}\n",
                crd::CRDS_UNSET
            )),
            "{}",
            template.file_name
        );
        assert!(
            template.yaml.contains("helm.sh/resource-policy: keep"),
            "{}",
            template.file_name
        );
    }
}

#[test]
fn every_field_has_a_description() {
    for crd in crd::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let crd = serde_json::to_value(crd).expect("the CRD serializes");
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut missing = Vec::new();
        walk(schema, "", &mut missing);
        assert!(
            missing.is_empty(),
            "{name}: fields without a description (kubectl explain shows nothing): {missing:?}"
        );
    }
}

/// docs/reference.md names every spec and status field of each kind in that kind's part (the
/// model's before the `## BedrockCustomModelDeployment` heading, the deployment's after it).
#[test]
fn reference_doc_names_every_field() {
    let doc = include_str!("../docs/reference.md");
    let (model_part, deployment_part) = doc
        .split_once("\n## BedrockCustomModelDeployment\n")
        .expect("docs/reference.md has a BedrockCustomModelDeployment section");
    let mut missing = Vec::new();
    for (crd, part) in [
        (crd::crd(), model_part),
        (crd::deployment_crd(), deployment_part),
    ] {
        let kind = crd.spec.names.kind.clone();
        let crd = serde_json::to_value(crd).expect("the CRD serializes");
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        for section in ["spec", "status"] {
            let fields = schema["properties"][section]["properties"]
                .as_object()
                .expect("the section has fields");
            for field in fields.keys() {
                if !part.contains(&format!("`{field}")) {
                    missing.push(format!("{kind}: {section}.{field}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/reference.md does not name {missing:?}"
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
