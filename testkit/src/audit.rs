//! The API server's audit log (`ControlPlane::builder().audit_log()`): every request a client
//! made, who made it and what the server answered, also for programs whose own logs are gone
//! (the operator of a Pod a rolling update deleted).
//!
//! The policy records each request at `Metadata` level (no bodies), once it is answered, except
//! the renewals of the node's and the API server's own Leases (a request every few seconds each,
//! by no program a test runs). [`ControlPlane::refused_requests`](crate::ControlPlane) reads the
//! requests of one user that the server refused.
//!
//! A request whose token the server does not accept (401) is recorded without a user: the
//! server could not tell who sent it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The policy `--audit-policy-file` reads.
pub(crate) const POLICY: &str = r#"apiVersion: audit.k8s.io/v1
kind: Policy
# One event per request, once answered (a watch also when it starts streaming).
omitStages: ["RequestReceived"]
rules:
  # The kubelet's heartbeat and the API server's identity Leases: renewed every few seconds.
  - level: None
    users: ["system:apiserver", "system:node:testkit-node"]
    resources:
      - group: coordination.k8s.io
        resources: ["leases"]
  - level: Metadata
"#;

/// The `user.extra` key under which a projected ServiceAccount token names its Pod.
const POD_NAME_EXTRA: &str = "authentication.kubernetes.io/pod-name";

/// One request as the audit log records it (`audit.k8s.io/v1` `Event`, the fields tests read).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub stage: String,
    /// `get`, `list`, `watch`, `create`, `patch`, …
    pub verb: String,
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    #[serde(default)]
    pub user: AuditUser,
    #[serde(default)]
    pub object_ref: Option<ObjectRef>,
    #[serde(default)]
    pub response_status: Option<ResponseStatus>,
    /// RFC 3339, microseconds.
    #[serde(default)]
    pub request_received_timestamp: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AuditUser {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub extra: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub subresource: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResponseStatus {
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub message: String,
}

impl AuditEvent {
    /// The HTTP status the server answered with (0 when the log has none, e.g. a watch that
    /// was still streaming).
    pub fn code(&self) -> u16 {
        self.response_status.as_ref().map_or(0, |s| s.code)
    }

    /// Whether the server refused the request: its credentials (401) or its rights (403).
    pub fn is_refused(&self) -> bool {
        matches!(self.code(), 401 | 403)
    }

    /// The Pod whose ServiceAccount token made the request, if it was one.
    pub fn pod(&self) -> Option<&str> {
        self.user
            .extra
            .get(POD_NAME_EXTRA)
            .and_then(|names| names.first())
            .map(String::as_str)
    }

    /// `verb resource[/subresource] [namespace/]name → code`, for a failure message.
    pub fn summary(&self) -> String {
        let object = self.object_ref.clone().unwrap_or_default();
        let resource = if object.subresource.is_empty() {
            object.resource
        } else {
            format!("{}/{}", object.resource, object.subresource)
        };
        let name = match (object.namespace.as_str(), object.name.as_str()) {
            ("", name) => name.to_string(),
            (namespace, name) => format!("{namespace}/{name}"),
        };
        format!(
            "{} {} {} {resource} {name} ({}) → {}",
            self.request_received_timestamp,
            self.pod().unwrap_or(&self.user.username),
            self.verb,
            self.request_uri,
            self.code()
        )
    }
}

/// The events of an audit log's text (one JSON object a line; lines that are none, such as one
/// the server is still writing, are skipped).
pub fn parse(text: &str) -> Vec<AuditEvent> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// [`parse`] of the file at `path`.
pub(crate) fn read(path: &Path) -> Result<Vec<AuditEvent>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the audit log {}", path.display()))?;
    Ok(parse(&text))
}

/// The requests of `user` that the server refused (401 or 403), in the order it answered them.
pub fn refused_by(events: &[AuditEvent], user: &str) -> Vec<AuditEvent> {
    events
        .iter()
        .filter(|event| event.user.username == user && event.is_refused())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three lines as kube-apiserver 1.35 writes them (`--audit-log-format=json`), and a line
    /// cut short by a read while the server was writing it.
    const LOG: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5b0c6e53-1","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/ops/leases/bedrock-operator?fieldManager=bedrock-operator-7d9f-x2x","verb":"patch","user":{"username":"system:serviceaccount:ops:bedrock-operator","uid":"0d7e","groups":["system:serviceaccounts","system:serviceaccounts:ops","system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":["JTI=a1"],"authentication.kubernetes.io/node-name":["testkit-node"],"authentication.kubernetes.io/pod-name":["bedrock-operator-7d9f-x2x"],"authentication.kubernetes.io/pod-uid":["9a0b"]}},"sourceIPs":["10.213.0.7"],"userAgent":"bedrock-operator","objectRef":{"resource":"leases","namespace":"ops","name":"bedrock-operator","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \"bedrock-operator\" is forbidden: User \"system:serviceaccount:ops:bedrock-operator\" cannot patch resource \"leases\"","reason":"Forbidden","details":{"name":"bedrock-operator","group":"coordination.k8s.io","kind":"leases"},"code":403},"requestReceivedTimestamp":"2026-12-07T08:01:02.123456Z","stageTimestamp":"2026-12-07T08:01:02.124000Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5b0c6e53-2","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/ops/pods?limit=500","verb":"list","user":{"username":"system:serviceaccount:ops:bedrock-operator","groups":["system:serviceaccounts"]},"sourceIPs":["10.213.0.7"],"objectRef":{"resource":"pods","namespace":"ops","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-07T08:01:03.000001Z","stageTimestamp":"2026-12-07T08:01:03.000900Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5b0c6e53-3","stage":"ResponseComplete","requestURI":"/apis/bedrock-operator.dev/v1alpha1/bedrockcustommodels?watch=true","verb":"watch","user":{},"sourceIPs":["10.213.0.7"],"objectRef":{"resource":"bedrockcustommodels","apiGroup":"bedrock-operator.dev","apiVersion":"v1alpha1"},"responseStatus":{"metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401},"requestReceivedTimestamp":"2026-12-07T08:01:04.5Z","stageTimestamp":"2026-12-07T08:01:04.5Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"5b0c"#;

    #[test]
    fn the_audit_log_parser_finds_the_refusals_of_one_user_and_the_pod_that_made_them() {
        let events = parse(LOG);
        assert_eq!(events.len(), 3, "the cut line is skipped: {events:#?}");

        let refused = refused_by(&events, "system:serviceaccount:ops:bedrock-operator");
        let [lease] = refused.as_slice() else {
            panic!("one refusal of the operator: {refused:#?}");
        };
        assert_eq!(lease.verb, "patch");
        assert_eq!(lease.code(), 403);
        assert_eq!(lease.pod(), Some("bedrock-operator-7d9f-x2x"));
        let object = lease.object_ref.clone().unwrap_or_default();
        assert_eq!(
            (
                object.resource.as_str(),
                object.namespace.as_str(),
                object.name.as_str()
            ),
            ("leases", "ops", "bedrock-operator")
        );
        assert!(
            lease
                .summary()
                .contains("bedrock-operator-7d9f-x2x patch leases ops/bedrock-operator"),
            "{}",
            lease.summary()
        );

        // The answered list is no refusal; the 401 is one, but of nobody the server knew.
        assert!(!events[1].is_refused());
        assert_eq!(events[1].pod(), None);
        assert!(events[2].is_refused());
        assert_eq!(events[2].user.username, "");
        assert!(refused_by(&events, "").contains(&events[2]));
    }
}
