//! Which cluster this operator serves: the ID its owner tags carry, so that several clusters
//! sharing one AWS account never take, change or delete each other's Bedrock objects.
//!
//! `--cluster-name` when set; otherwise the UID of the kube-system namespace. That UID is made
//! once, when the cluster is created, and never changes for the life of the cluster (upgrades,
//! control-plane restarts and restores from an etcd snapshot keep it), it differs between any
//! two clusters made separately (a blue and a green cluster, dev and prod), and the operator can
//! read it with one narrow permission (get namespaces/kube-system). It says nothing to a person
//! browsing Bedrock, so a readable `--cluster-name` is better where one is set; and two clusters
//! cloned from one etcd snapshot share it, so give clones different names.

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::Api;
use regex::Regex;

use crate::api::patterns::{TAG_VALUE, TAG_VALUE_MAX};
use crate::startup;

/// The namespace whose UID is the default cluster ID.
pub const ID_NAMESPACE: &str = "kube-system";

#[derive(Debug, thiserror::Error)]
pub enum ClusterIdError {
    #[error(
        "--cluster-name {0:?} cannot be a Bedrock tag value: use 1 to 256 letters, digits, spaces and . _ : / = + @ -"
    )]
    InvalidName(String),
    #[error(
        "cannot read the UID of the {ID_NAMESPACE} namespace, the default cluster ID: {0}; grant get on namespaces/{ID_NAMESPACE} (the Helm chart does when clusterName is empty) or set --cluster-name (Helm clusterName)"
    )]
    Unreadable(#[source] kube::Error),
    #[error("the {ID_NAMESPACE} namespace has no UID; set --cluster-name (Helm clusterName)")]
    NoUid,
}

/// Checks a configured cluster name: it goes into a Bedrock tag value.
pub fn checked_name(name: &str) -> Result<String, ClusterIdError> {
    let trimmed = name.trim();
    let pattern = Regex::new(TAG_VALUE).map_err(|_| ClusterIdError::InvalidName(name.into()))?;
    if trimmed.is_empty() || trimmed.len() > TAG_VALUE_MAX as usize || !pattern.is_match(trimmed) {
        return Err(ClusterIdError::InvalidName(name.to_string()));
    }
    Ok(trimmed.to_string())
}

/// The cluster ID: `configured` (checked) when set, else the kube-system namespace's UID.
///
/// An API server that cannot answer yet (restarting, overloaded, not reachable for a moment)
/// is waited for, with a warning at each try: exiting would only trade the wait for a restart
/// of the Pod with a growing back-off. A refusal (no permission) is final.
pub async fn identify(client: &Client, configured: Option<&str>) -> Result<String, ClusterIdError> {
    if let Some(name) = configured.filter(|n| !n.trim().is_empty()) {
        return checked_name(name);
    }
    let namespaces = Api::<Namespace>::all(client.clone());
    let namespace = startup::answered("reading the cluster ID", startup::transient, || {
        namespaces.get_metadata(ID_NAMESPACE)
    })
    .await
    .map_err(ClusterIdError::Unreadable)?;
    namespace.metadata.uid.ok_or(ClusterIdError::NoUid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readable_name_is_taken_as_it_is() {
        assert_eq!(
            checked_name(" prod-eu-1 ").ok().as_deref(),
            Some("prod-eu-1")
        );
        assert_eq!(
            checked_name("eks:prod/eu-west-1").ok().as_deref(),
            Some("eks:prod/eu-west-1")
        );
    }

    #[test]
    fn a_name_no_tag_value_can_hold_is_refused() {
        for bad in ["", "   ", "prod#1", "ümlaut", &"x".repeat(257)] {
            assert!(checked_name(bad).is_err(), "{bad:?}");
        }
    }
}
