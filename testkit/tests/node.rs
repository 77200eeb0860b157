//! testkit's real node: containerd, runc, CNI, kubelet, kube-scheduler and kube-proxy against a
//! control plane, running Pods from images testkit writes.
//!
//! Needs root, `ip` and `iptables` (the node adds a bridge, network namespaces, mounts and
//! iptables rules, and removes them when it stops).

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams, PostParams};
use testkit::ControlPlane;
use testkit::node::{self, Node};
use testkit::oci::{Entry, Image, Layout};
use testkit::wait;

const API_CHECK_IMAGE: &str = "testkit.local/api-check:1";
const POD_DEADLINE: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(500);

/// The api-check program (testkit/go/api-check) alone in an image, behind a two-platform index
/// (the host's and one more) as a release image would be: containerd must pick the host's
/// manifest. (The other platform's layer holds the same program; it never runs.)
fn api_check_image() -> Result<Layout> {
    let binary = testkit::gotools::API_CHECK.ensure()?.join("api-check");
    let bytes = std::fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
    let image = |architecture: &str| {
        Image::new(architecture)
            .layer(vec![Entry::file("api-check", 0o755, bytes.clone())])
            .entrypoint(["/api-check"])
    };
    let host = testkit::oci::host_architecture();
    let other = if host == "arm64" { "amd64" } else { "arm64" };
    Ok(Layout::new(API_CHECK_IMAGE)
        .image(image(host))
        .image(image(other)))
}

fn api_check_pod(name: &str, hardened: bool, token: bool) -> Result<Pod> {
    let security = if hardened {
        serde_json::json!({
            "runAsNonRoot": true,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
            "seccompProfile": { "type": "RuntimeDefault" },
        })
    } else {
        serde_json::json!({})
    };
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name },
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": token,
            "containers": [{
                "name": "api-check",
                "image": API_CHECK_IMAGE,
                "imagePullPolicy": "Never",
                "securityContext": security,
            }],
        },
    }))
    .context("building the Pod")
}

/// Waits until the Pod has finished (Succeeded or Failed); returns it.
async fn finished(pods: &Api<Pod>, name: &str) -> Result<Pod> {
    wait::until(
        format!("Pod {name} to finish"),
        POD_DEADLINE,
        POLL,
        async || {
            let pod = pods.get(name).await?;
            let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
            Ok(matches!(phase.as_deref(), Some("Succeeded" | "Failed")).then_some(pod))
        },
    )
    .await
}

fn in_pod_cidr(ip: &str) -> bool {
    let (network, prefix) = node::POD_CIDR.split_once('/').expect("a CIDR");
    let (Ok(ip), Ok(network), Ok(prefix)) = (
        ip.parse::<Ipv4Addr>(),
        network.parse::<Ipv4Addr>(),
        prefix.parse::<u32>(),
    ) else {
        return false;
    };
    let mask = u32::MAX << (32 - prefix);
    u32::from(ip) & mask == u32::from(network) & mask
}

/// Runs the api-check Pod and returns its logs, after asserting it got a Pod IP and Succeeded.
async fn run_api_check(pods: &Api<Pod>, name: &str, hardened: bool) -> Result<String> {
    pods.create(
        &PostParams::default(),
        &api_check_pod(name, hardened, true)?,
    )
    .await
    .with_context(|| format!("creating Pod {name}"))?;
    let pod = finished(pods, name).await?;
    let logs = pods
        .logs(name, &LogParams::default())
        .await
        .with_context(|| format!("reading the logs of Pod {name} through the API server"))?;
    let status = pod.status.clone().unwrap_or_default();
    ensure!(
        status.phase.as_deref() == Some("Succeeded"),
        "Pod {name} did not succeed: {:?}\nlogs:\n{logs}",
        status
    );
    let pod_ip = status.pod_ip.unwrap_or_default();
    ensure!(
        in_pod_cidr(&pod_ip),
        "Pod {name} has IP {pod_ip:?}, not one of {}",
        node::POD_CIDR
    );
    ensure!(
        pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node::NODE_NAME),
        "Pod {name} was not bound to {} by the scheduler",
        node::NODE_NAME
    );
    Ok(logs)
}

#[tokio::test]
async fn pods_reach_the_api_server_through_the_kubernetes_service_with_their_token() -> Result<()> {
    let started = std::time::Instant::now();
    let plane = ControlPlane::builder().node_network().start().await?;
    let node = Node::start(&plane).await?;
    eprintln!(
        "control plane and node ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    node.import_image(&api_check_image()?).await?;
    let namespace = plane.create_namespace("node").await?;
    let pods: Api<Pod> = Api::namespaced(plane.client(), &namespace);
    let identity = format!("as system:serviceaccount:{namespace}:default");

    let logs = run_api_check(&pods, "as-image-says", false).await?;
    eprintln!("as-image-says: {}", logs.trim());
    ensure!(
        logs.contains(&identity) && logs.contains("uid 0)"),
        "expected the Pod to reach the API server {identity} as root; logs:\n{logs}"
    );

    let logs = run_api_check(&pods, "non-root-read-only", true).await?;
    eprintln!("non-root-read-only: {}", logs.trim());
    ensure!(
        logs.contains(&identity) && logs.contains("uid 65532)"),
        "expected the hardened Pod to reach the API server {identity} as uid 65532; logs:\n{logs}"
    );

    // The check is not vacuous: without its token the same program fails, and says why.
    pods.create(
        &PostParams::default(),
        &api_check_pod("without-token", false, false)?,
    )
    .await?;
    let pod = finished(&pods, "without-token").await?;
    let logs = pods.logs("without-token", &LogParams::default()).await?;
    eprintln!("without-token: {}", logs.trim());
    ensure!(
        pod.status.and_then(|s| s.phase).as_deref() == Some("Failed")
            && logs.contains("serviceaccount/token"),
        "expected the Pod without a token to fail for want of it; logs:\n{logs}"
    );

    let stopping = std::time::Instant::now();
    node.stop().await?;
    eprintln!("node stopped in {:.1} s", stopping.elapsed().as_secs_f64());
    ensure!(
        !std::path::Path::new("/sys/class/net")
            .join(node::BRIDGE)
            .exists(),
        "the node's bridge outlived it"
    );
    let chains = node::leftover_chains()?;
    ensure!(
        chains.is_empty(),
        "iptables chains outlived the node: {chains:?}"
    );
    Ok(())
}

/// What a node can leave on the machine: processes that mention its folder (containerd's
/// shims, the kubelet, …), mounts under it, its bridge, `KUBE-*`/`CNI-*` iptables chains and the
/// kubelet's Pod cgroups.
fn leftovers(node_dir: &std::path::Path) -> Result<Vec<String>> {
    let needle = node_dir.display().to_string();
    let mut found = Vec::new();
    for pid in testkit::pids() {
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmdline.contains(&needle) {
            found.push(format!("process {pid}: {cmdline}"));
        }
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    found.extend(
        mountinfo
            .lines()
            .filter(|line| line.contains(&needle))
            .map(|line| format!("mount: {line}")),
    );
    if std::path::Path::new("/sys/class/net")
        .join(node::BRIDGE)
        .exists()
    {
        found.push(format!("bridge {}", node::BRIDGE));
    }
    found.extend(node::leftover_chains()?);
    for controller in ["memory", "cpu", "pids", "unified"] {
        let cgroup = std::path::Path::new("/sys/fs/cgroup")
            .join(controller)
            .join("kubepods");
        if cgroup.exists() {
            found.push(format!("cgroup {}", cgroup.display()));
        }
    }
    Ok(found)
}

#[tokio::test]
async fn dropping_a_node_with_a_running_pod_leaves_nothing_behind() -> Result<()> {
    let plane = ControlPlane::builder().node_network().start().await?;
    let node = Node::start(&plane).await?;
    let namespace = plane.create_namespace("node-drop").await?;
    let pods: Api<Pod> = Api::namespaced(plane.client(), &namespace);
    // The sandbox image's pause program runs until it is killed.
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": "sleeper" },
        "spec": {
            "containers": [{
                "name": "pause",
                "image": node::PAUSE_IMAGE,
                "imagePullPolicy": "Never",
            }],
        },
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    wait::until("Pod sleeper to run", POD_DEADLINE, POLL, async || {
        let pod = pods.get("sleeper").await?;
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        Ok((phase.as_deref() == Some("Running")).then_some(()))
    })
    .await?;
    let node_dir = node.dir().to_path_buf();
    ensure!(
        !leftovers(&node_dir)?.is_empty(),
        "the check sees nothing of a running node"
    );

    // As a panicking test would: no orderly stop, the Pod still running.
    drop(node);
    let left = leftovers(&node_dir)?;
    ensure!(left.is_empty(), "the dropped node left behind: {left:#?}");
    Ok(())
}
