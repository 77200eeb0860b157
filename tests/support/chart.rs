//! What the chart grants the operator and what docs/helm.md tells users to run, as the chart
//! tests (tests/helm.rs) and the release tests on the real node (tests/upgrade.rs) check them.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use serde_json::Value;

/// (apiGroup, resource, verbs): every permission a rule grants, flattened.
pub type Grants = BTreeSet<(String, String, BTreeSet<String>)>;

pub fn grants(pairs: &[(&str, &str, &[&str])]) -> Grants {
    pairs
        .iter()
        .map(|(group, resource, verbs)| {
            (
                group.to_string(),
                resource.to_string(),
                verbs.iter().map(|v| v.to_string()).collect(),
            )
        })
        .collect()
}

/// What the operator does with its resources and events, in every watched namespace.
pub fn operator_grants() -> Grants {
    grants(&[
        (
            "bedrock-operator.dev",
            "bedrockcustommodels",
            &["get", "list", "watch", "patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockcustommodels/status",
            &["patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockcustommodeldeployments",
            &["get", "list", "watch", "patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockcustommodeldeployments/status",
            &["patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockprovisionedthroughputs",
            &["get", "list", "watch", "patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockprovisionedthroughputs/status",
            &["patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockimportedmodels",
            &["get", "list", "watch", "patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockimportedmodels/status",
            &["patch"],
        ),
        ("events.k8s.io", "events", &["create", "patch"]),
        // spec.export's ConfigMap: read by name, server-side applied, deleted.
        ("", "configmaps", &["get", "create", "patch", "delete"]),
    ])
}

/// Leader election, in the release namespace only.
pub fn lease_grants() -> Grants {
    grants(&[("coordination.k8s.io", "leases", &["get", "create", "patch"])])
}

/// The grants of a Role or ClusterRole; fails on anything a flat list cannot express
/// (resourceNames, nonResourceURLs, wildcards).
pub fn rules_of(role: &Value) -> Result<Grants> {
    let mut found = Grants::new();
    for rule in role["rules"].as_array().context("rules")? {
        let keys: BTreeSet<&str> = rule
            .as_object()
            .context("a rule")?
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["apiGroups", "resources", "verbs"]),
            "only plain rules: {rule}"
        );
        let strings = |key: &str| -> Vec<String> {
            rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        let verbs: BTreeSet<String> = strings("verbs").into_iter().collect();
        for group in strings("apiGroups") {
            for resource in strings("resources") {
                assert!(
                    !group.contains('*') && !resource.contains('*') && !verbs.contains("*"),
                    "no wildcards: {rule}"
                );
                found.insert((group.clone(), resource, verbs.clone()));
            }
        }
    }
    Ok(found)
}

/// The fenced blocks of `language` in a Markdown text, in order.
pub fn fenced_blocks(markdown: &str, language: &str) -> Vec<String> {
    let opening = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed == opening => current = Some(String::new()),
            Some(block) if trimmed == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(trimmed);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The names of the operator's CRDs.
pub fn crd_names() -> Vec<String> {
    bedrock_operator::crd::crds()
        .into_iter()
        .filter_map(|crd| crd.metadata.name)
        .collect()
}

/// The "Uninstall" section of docs/helm.md, up to the next section.
pub fn uninstall_section(workspace: &std::path::Path) -> Result<String> {
    let docs = std::fs::read_to_string(workspace.join("docs/helm.md"))?;
    let uninstall = docs
        .split_once("\n## Uninstall\n")
        .context("an Uninstall section in docs/helm.md")?
        .1;
    Ok(uninstall
        .split("\n## ")
        .next()
        .unwrap_or_default()
        .to_string())
}
