//! The kind registry (`bedrock_operator::kinds::KINDS`) and everything outside src/ that lists
//! the kinds agree: the chart's RBAC rules, the committed CRD files, the Argo CD health checks
//! (one folder per kind, one argocd-cm entry per kind) and the IAM policy. A kind added to the
//! registry and forgotten in one of them fails here (docs/adding-a-kind.md is the checklist).

use std::collections::BTreeSet;
use std::path::Path;

use bedrock_operator::kinds::{GROUP, KINDS, TAG_OPERATIONS};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn registered<T: Ord>(f: impl Fn(&bedrock_operator::kinds::Kind) -> T) -> BTreeSet<T> {
    KINDS.iter().map(f).collect()
}

/// The `resources` lists of the chart's rules for the operator's API group, in order.
fn chart_rule_resources() -> Vec<BTreeSet<String>> {
    let helpers = read("charts/bedrock-operator/templates/_helpers.tpl");
    let rules = helpers
        .split(r#"{{- define "bedrock-operator.rules" -}}"#)
        .nth(1)
        .and_then(|rest| rest.split("{{- end }}").next())
        .expect("_helpers.tpl defines bedrock-operator.rules");
    let mut lists = Vec::new();
    let mut in_group = false;
    for line in rules.lines() {
        let line = line.trim();
        if let Some(groups) = line.strip_prefix("- apiGroups:") {
            in_group = groups.contains(&format!("\"{GROUP}\""));
        } else if in_group && let Some(list) = line.strip_prefix("resources:") {
            let names = list
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|name| name.trim().trim_matches('"').to_string())
                .collect();
            lists.push(names);
        }
    }
    lists
}

#[test]
fn the_charts_rbac_grants_exactly_the_registered_kinds_and_their_status() {
    let kinds = registered(|k| k.plural.to_string());
    let status = registered(|k| format!("{}/status", k.plural));
    let lists = chart_rule_resources();
    assert_eq!(
        lists,
        vec![kinds, status],
        "charts/bedrock-operator/templates/_helpers.tpl"
    );
}

#[test]
fn the_committed_crds_are_exactly_the_registered_kinds() {
    let committed: BTreeSet<String> = std::fs::read_dir(root().join("crds"))
        .expect("crds/")
        .map(|entry| {
            entry
                .expect("crds/ entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(committed, registered(|k| format!("{}.yaml", k.crd_name())));
}

#[test]
fn every_registered_kind_has_an_argo_cd_health_check_and_no_other_kind_has() {
    let folder = root()
        .join("docs/argocd/resource_customizations")
        .join(GROUP);
    let checked: BTreeSet<String> = std::fs::read_dir(&folder)
        .expect("the Argo CD resource customizations")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(checked, registered(|k| k.name()));
    for kind in KINDS {
        assert!(
            folder.join(kind.name()).join("health.lua").is_file(),
            "{} has no health.lua",
            kind.name()
        );
    }
    let cm = read("docs/argocd/argocd-cm.yaml");
    let entries: BTreeSet<String> = cm
        .lines()
        .filter_map(|line| line.trim().strip_prefix("resource.customizations.health."))
        .map(|rest| rest.trim_end_matches(": |").to_string())
        .collect();
    assert_eq!(entries, registered(|k| format!("{GROUP}_{}", k.name())));
}

#[test]
fn the_iam_policy_allows_every_registered_kinds_operations() {
    let policy: serde_json::Value =
        serde_json::from_str(&read("docs/iam-policy.json")).expect("docs/iam-policy.json");
    let allowed: BTreeSet<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::String(action) => vec![action.clone()],
            serde_json::Value::Array(actions) => actions
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    for kind in KINDS {
        for operation in kind.operations.iter().chain(TAG_OPERATIONS) {
            assert!(
                allowed.contains(&operation.iam_action()),
                "docs/iam-policy.json does not allow {} ({})",
                operation.iam_action(),
                kind.name()
            );
        }
    }
}
