//! The tags the operator keeps on each model, and how spec.tags are reconciled with the tags
//! found on it. Pure functions: the controller calls them with what it observed.

use std::collections::{BTreeMap, BTreeSet};

/// Prefix of the operator's own tag keys (reserved in spec.tags).
pub const OPERATOR_PREFIX: &str = "bedrock-operator.dev/";
/// The UID of the resource that owns the model: how the operator recognises its own models
/// (after a crash, or when a name is already taken).
pub const OWNER_UID: &str = "bedrock-operator.dev/owner-uid";
/// `namespace/name` of the owning resource, for people browsing Bedrock.
pub const OWNER: &str = "bedrock-operator.dev/owner";
/// The cluster the owning resource lives in (the operator's `--cluster-name`, by default the
/// UID of its kube-system namespace): several clusters may share one AWS account, and one
/// cluster's operator never takes, changes or deletes what another cluster's resources hold.
/// Objects tagged by versions before 0.2 carry no such tag.
pub const CLUSTER: &str = "bedrock-operator.dev/cluster";

/// The operator's own tags for the resource `namespace/name` with `uid` in `cluster`.
pub fn operator_tags(
    namespace: &str,
    name: &str,
    uid: &str,
    cluster: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (OWNER.to_string(), format!("{namespace}/{name}")),
        (OWNER_UID.to_string(), uid.to_string()),
        (CLUSTER.to_string(), cluster.to_string()),
    ])
}

/// The tags a resource's Bedrock object should carry: its spec.tags and the operator's owner
/// tags for the resource with `meta` in `cluster` (the owner tags win over a spec key of the
/// same name, which validation refuses anyway).
pub fn desired(
    spec: &BTreeMap<String, String>,
    meta: &kube::core::ObjectMeta,
    cluster: &str,
) -> BTreeMap<String, String> {
    let mut tags = spec.clone();
    tags.extend(operator_tags(
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
        meta.uid.as_deref().unwrap_or_default(),
        cluster,
    ));
    tags
}

/// The tag calls that bring a model's tags to the desired state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagChanges {
    /// Keys to add or overwrite (TagResource).
    pub set: BTreeMap<String, String>,
    /// Keys to remove (UntagResource).
    pub remove: Vec<String>,
}

impl TagChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// Compares the desired tags (spec.tags plus the operator's) with the model's.
///
/// Only keys this operator set are ever removed: those of spec.tags it applied before
/// (`managed_before`, from the status) that the spec no longer has. Tags set out-of-band are
/// left alone unless the spec names the same key.
pub fn changes(
    desired: &BTreeMap<String, String>,
    remote: &BTreeMap<String, String>,
    managed_before: &[String],
) -> TagChanges {
    let set = desired
        .iter()
        .filter(|(key, value)| remote.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let remove = managed_before
        .iter()
        .filter(|key| !desired.contains_key(*key) && remote.contains_key(*key))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    TagChanges { set, remove }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tag_changes() {
        struct Case {
            name: &'static str,
            desired: BTreeMap<String, String>,
            remote: BTreeMap<String, String>,
            managed: Vec<&'static str>,
            set: BTreeMap<String, String>,
            remove: Vec<&'static str>,
        }
        let cases = [
            Case {
                name: "in sync",
                desired: map(&[("team", "ml")]),
                remote: map(&[("team", "ml")]),
                managed: vec!["team"],
                set: map(&[]),
                remove: vec![],
            },
            Case {
                name: "added and changed",
                desired: map(&[("team", "ml"), ("env", "prod")]),
                remote: map(&[("team", "data")]),
                managed: vec!["team"],
                set: map(&[("team", "ml"), ("env", "prod")]),
                remove: vec![],
            },
            Case {
                name: "removed from spec",
                desired: map(&[]),
                remote: map(&[("team", "ml")]),
                managed: vec!["team"],
                set: map(&[]),
                remove: vec!["team"],
            },
            Case {
                name: "out-of-band tag survives",
                desired: map(&[("team", "ml")]),
                remote: map(&[("team", "ml"), ("cost-center", "42")]),
                managed: vec!["team"],
                set: map(&[]),
                remove: vec![],
            },
            Case {
                name: "managed key already gone",
                desired: map(&[]),
                remote: map(&[]),
                managed: vec!["team"],
                set: map(&[]),
                remove: vec![],
            },
        ];
        for case in cases {
            let managed: Vec<String> = case.managed.iter().map(|s| s.to_string()).collect();
            let got = changes(&case.desired, &case.remote, &managed);
            assert_eq!(got.set, case.set, "{}: set", case.name);
            assert_eq!(got.remove, case.remove, "{}: remove", case.name);
        }
    }
}
