//! What a user of a cluster outside EKS sets to install the chart, and finding the operator
//! process of an installed Pod on testkit's node: shared by the install tests
//! (`tests/support/cluster.rs`) and `cargo xtask bench pod`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The Secret a user creates for the operator's static AWS keys (a cluster outside EKS has
/// no IRSA or Pod Identity).
pub const CREDENTIALS_SECRET: &str = "bedrock-operator-aws";

/// Creates the credentials Secret [`CREDENTIALS_SECRET`] with these keys in `namespace`, as a
/// user does before `helm install`.
pub async fn create_credentials_secret(
    client: kube::Client,
    namespace: &str,
    access_key_id: &str,
    secret_access_key: &str,
) -> Result<()> {
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": { "name": CREDENTIALS_SECRET },
        "stringData": {
            "AWS_ACCESS_KEY_ID": access_key_id,
            "AWS_SECRET_ACCESS_KEY": secret_access_key,
        },
    }))?;
    kube::Api::namespaced(client, namespace)
        .create(&kube::api::PostParams::default(), &secret)
        .await
        .context("creating the credentials Secret")?;
    Ok(())
}

/// The chart values a user of a non-EKS cluster sets: the image repository, the region, the
/// keys from [`CREDENTIALS_SECRET`] and the Bedrock endpoint (here the emulator's).
pub fn user_values(repository: &str, region: &str, bedrock_endpoint: &str) -> Value {
    let from_secret = |name: &str| {
        json!({
            "name": name,
            "valueFrom": { "secretKeyRef": { "name": CREDENTIALS_SECRET, "key": name } },
        })
    };
    json!({
        "image": { "repository": repository },
        "aws": { "region": region },
        "extraEnv": [
            from_secret("AWS_ACCESS_KEY_ID"),
            from_secret("AWS_SECRET_ACCESS_KEY"),
            { "name": "AWS_ENDPOINT_URL_BEDROCK", "value": bedrock_endpoint },
        ],
    })
}

/// The operator process of the Pod with `pod_uid`, found on the node the way `ps` would: the
/// image's binary, in the Pod's cgroup. Returns its pid.
pub fn operator_process(pod_uid: &str) -> Result<u32> {
    let systemd_uid = pod_uid.replace('-', "_");
    for pid in crate::pids() {
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !cmdline.starts_with(b"/usr/local/bin/bedrock-operator\0") {
            continue;
        }
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if cgroup.contains(pod_uid) || cgroup.contains(&systemd_uid) {
            return Ok(pid);
        }
    }
    bail!("no /usr/local/bin/bedrock-operator process in the cgroup of Pod {pod_uid}")
}
