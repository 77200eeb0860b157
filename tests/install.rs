//! The operator installed as users install it, on testkit's real node (containerd, runc, CNI,
//! kubelet, kube-scheduler, kube-proxy): the release image built and pushed by the release's
//! own command (`cargo xtask image --push`) to a real OCI registry, the chart pushed there as
//! `cargo xtask chart --push` does, `helm install oci://… --wait` with only the values a user
//! of a non-EKS cluster sets (the image repository, the region, static keys from a Secret, the
//! Bedrock endpoint), then the Pod and the operator in it as a user would check them: pulled
//! from the registry, running as uid 65532 on a read-only root filesystem, Ready by its probes
//! and never restarted, talking to the API server with its projected ServiceAccount token and
//! to Bedrock (the emulator, on the node's bridge) to bring one resource of each kind to Ready.
//!
//! Needs root, `ip` and `iptables`, as testkit's node does. The image is the one `cargo xtask
//! test` builds before the suite; run on its own, the test builds it (testkit::image): the
//! production profile (fat LTO) from nothing takes 10 to 30 minutes on two cores the first time.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "../charts/tests/driver.rs"]
mod driver;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use futures::TryStreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::watcher;
use serde_json::{Value, json};
use testkit::node;
use testkit::wait;

use cluster::{
    Cluster, DEADLINE, NONROOT, POLL, RELEASE, is_ready, leader_gauge, metrics, operator_process,
    resources, root_mount_options, uids,
};

/// The chart's `leaderElection.leaseDuration`: how long a standby waits for a leader that
/// vanished without releasing its Lease.
const LEASE_DURATION: Duration = Duration::from_secs(15);

#[tokio::test]
async fn helm_install_from_a_registry_runs_the_release_image_on_a_real_node() -> Result<()> {
    let cluster = Cluster::start().await?;
    let (installing, ready) = cluster.install(cluster.values(json!({})), 1).await?;
    let [pod] = ready.as_slice() else {
        bail!("one Ready Pod: {}", ready.len());
    };

    // The Pod: pulled from the registry, the pushed image, hardened as the chart says.
    let pod_name = pod.metadata.name.clone().context("the Pod's name")?;
    let spec = pod.spec.clone().context("the Pod's spec")?;
    ensure!(
        spec.node_name.as_deref() == Some(node::NODE_NAME),
        "bound to {:?}",
        spec.node_name
    );
    let container = spec.containers.first().context("a container")?;
    ensure!(
        container.image.as_deref() == Some(cluster.image_ref.as_str()),
        "the chart deploys {}: {:?}",
        cluster.image_ref,
        container.image
    );
    let security = container.security_context.clone().unwrap_or_default();
    ensure!(
        security.read_only_root_filesystem == Some(true),
        "{security:?}"
    );
    let pod_security = spec.security_context.clone().unwrap_or_default();
    ensure!(
        pod_security.run_as_user == Some(i64::from(NONROOT)),
        "{pod_security:?}"
    );
    let status = pod.status.clone().context("the Pod's status")?;
    let container_status = status
        .container_statuses
        .as_ref()
        .and_then(|s| s.first())
        .context("a container status")?;
    ensure!(
        container_status
            .image_id
            .ends_with(&format!("@{}", cluster.image_digest)),
        "the Pod runs {}, not the pushed {}",
        container_status.image_id,
        cluster.image_digest
    );
    ensure!(
        cluster.registry.log_has_line(&[
            "http.request.method=GET",
            &format!("/v2/bedrock-operator/manifests/{}", cluster.image_digest),
            "http.request.useragent=containerd/",
        ]),
        "containerd pulled the image from the registry; registry log:\n{}",
        cluster.registry.log_tail()
    );
    ensure!(
        status
            .pod_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.213.0.")),
        "a Pod IP on the node's bridge: {:?}",
        status.pod_ip
    );

    // The operator itself, as the node runs it: uid 65532, a read-only root.
    let pod_uid = pod.metadata.uid.clone().context("the Pod's uid")?;
    let pid = operator_process(&pod_uid)?;
    let process_uids = uids(pid)?;
    ensure!(
        process_uids.iter().all(|uid| *uid == NONROOT),
        "the operator runs as {process_uids:?}"
    );
    let root_options = root_mount_options(pid)?;
    ensure!(
        root_options.split(',').any(|o| o == "ro"),
        "the operator's / is mounted {root_options}"
    );

    // A model, a deployment and a throughput of it, all Ready: the operator reads and writes
    // them with its ServiceAccount's projected token and reaches Bedrock from the Pod.
    cluster.apply_resources_until_ready(installing).await?;

    // Probes kept passing and nothing restarted; the log holds no refusal of the API server.
    let pod = cluster.pods.get(&pod_name).await?;
    let restarts: i32 = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|s| s.restart_count)
        .sum();
    ensure!(is_ready(&pod), "the Pod stays Ready");
    ensure!(restarts == 0, "the operator restarted {restarts} time(s)");
    let refused = cluster.refusals(&pod_name).await?;
    ensure!(
        refused.is_empty(),
        "the API server refused the operator: {refused:#?}"
    );

    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn deleting_the_leaders_pod_hands_over_within_the_lease_without_a_second_create() -> Result<()>
{
    let cluster = Cluster::start().await?;
    let (installing, ready) = cluster
        .install(cluster.values(json!({ "replicas": 2 })), 2)
        .await?;
    cluster.apply_resources_until_ready(installing).await?;
    ensure!(cluster.creates() == [1, 1, 1], "{:?}", cluster.creates());

    let holder = async || cluster.lease_holder().await;
    let leader = holder().await?.context("a leader")?;
    let standby = ready
        .iter()
        .find(|p| p.metadata.name.as_deref() != Some(leader.as_str()))
        .context("a standby Pod")?;
    ensure!(
        leader_gauge(standby).await?.as_deref() == Some("0"),
        "the standby does not lead"
    );

    // `kubectl delete pod`: the kubelet sends SIGTERM; the leader releases its Lease on the way
    // out, so no one waits for it to expire. Whoever asks first leads: the standby, or the
    // Pod the Deployment starts in its place (seen to win by a second: it asks as it starts,
    // the standby at its next retry).
    let deleting = Instant::now();
    cluster
        .pods
        .delete(&leader, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting the leader's Pod {leader}"))?;
    let handover = wait::until(
        format!("another Pod to take the Lease from {leader}"),
        DEADLINE,
        POLL,
        async || Ok(holder().await?.filter(|h| *h != leader)),
    )
    .await;
    let new_leader = cluster.explain(handover).await?;
    let handed_over = deleting.elapsed();
    let gone = wait::until(
        format!("the leader's Pod {leader} to be gone"),
        DEADLINE,
        POLL,
        async || Ok(cluster.pods.get_opt(&leader).await?.is_none().then_some(())),
    )
    .await;
    cluster.explain(gone).await?;
    let terminated = deleting.elapsed();
    let standby_won = standby.metadata.name.as_deref() == Some(new_leader.as_str());
    eprintln!(
        "after deleting the leader's Pod: {new_leader} ({}) leads after {:.1} s, the old Pod is gone after {:.1} s",
        if standby_won {
            "the standby"
        } else {
            "its replacement"
        },
        handed_over.as_secs_f64(),
        terminated.as_secs_f64()
    );
    ensure!(
        handed_over < LEASE_DURATION,
        "{new_leader} took {handed_over:?} to lead, longer than the Lease's {LEASE_DURATION:?}"
    );
    let new_leader_pod = cluster.pods.get(&new_leader).await?;
    let led = wait::until(
        format!("{new_leader} to report itself leader"),
        DEADLINE,
        POLL,
        async || Ok((leader_gauge(&new_leader_pod).await?.as_deref() == Some("1")).then_some(())),
    )
    .await;
    cluster.explain(led).await?;
    // Well inside terminationGracePeriodSeconds (45 s): the operator, PID 1 of its container,
    // exited on SIGTERM rather than being killed at the end of the grace period.
    ensure!(
        terminated < Duration::from_secs(30),
        "the leader's Pod took {terminated:?} to go: SIGTERM not handled?"
    );

    // The new leader settles every resource again, and creates nothing.
    let reconciled = wait::until(
        format!("{new_leader} to reconcile every kind"),
        DEADLINE,
        POLL,
        async || {
            let text = metrics(&new_leader_pod).await?;
            let all = resources().iter().all(|(kind, ..)| {
                text.contains(&format!(
                    r#"bedrock_operator_reconciles_total{{kind="{kind}",outcome="ok"}}"#
                ))
            });
            Ok(all.then_some(()))
        },
    )
    .await;
    cluster.explain(reconciled).await?;
    cluster.settle_creates(1).await?;
    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}

/// The last state the kubelet reported of each operator container that stopped, by Pod name:
/// its exit code and reason, recorded from a watch of the namespace's Pods (the Pod object,
/// and with it that state, is gone soon after).
struct Terminations {
    seen: std::sync::Arc<std::sync::Mutex<BTreeMap<String, (i32, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Terminations {
    fn watch(pods: Api<Pod>) -> Self {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let events = kube::runtime::watcher(pods, kube::runtime::watcher::Config::default());
            let _ = events
                .try_for_each(|event| {
                    let pods: Vec<Pod> = match event {
                        watcher::Event::Apply(pod)
                        | watcher::Event::InitApply(pod)
                        | watcher::Event::Delete(pod) => vec![pod],
                        _ => Vec::new(),
                    };
                    for pod in pods {
                        let name = pod.metadata.name.clone().unwrap_or_default();
                        for status in pod
                            .status
                            .and_then(|s| s.container_statuses)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(done) = status.state.and_then(|s| s.terminated)
                                && let Ok(mut seen) = record.lock()
                            {
                                seen.insert(
                                    name.clone(),
                                    (done.exit_code, done.reason.unwrap_or_default()),
                                );
                            }
                        }
                    }
                    futures::future::ready(Ok(()))
                })
                .await;
        });
        Self { seen, task }
    }

    fn of(&self, pod: &str) -> Option<(i32, String)> {
        self.seen.lock().ok()?.get(pod).cloned()
    }
}

impl Drop for Terminations {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn names(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

/// A second model of the same source as [`resources`]' first.
fn another_model() -> Value {
    resources()[0].3.clone()
}

#[tokio::test]
async fn a_rollout_restart_and_a_node_drain_keep_a_leader_and_lose_nothing() -> Result<()> {
    let cluster = Cluster::start().await?;
    let values = json!({ "replicas": 2, "podDisruptionBudget": { "enabled": true } });
    let (installing, ready) = cluster.install(cluster.values(values), 2).await?;
    cluster.apply_resources_until_ready(installing).await?;
    let first = names(&ready);
    let stopped = Terminations::watch(cluster.pods.clone());
    let holder = async || cluster.lease_holder().await;
    let ready_pods = async || -> Result<Vec<Pod>> {
        Ok(cluster
            .pods
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
            .collect())
    };

    // --- kubectl rollout restart: both Pods replaced, one at a time, a model created meanwhile ---
    let restarting = Instant::now();
    let deployment = format!("deployment/{RELEASE}");
    let (ok, printed) = cluster
        .kubectl(&["rollout", "restart", &deployment])
        .await?;
    ensure!(ok, "kubectl rollout restart: {printed}");
    cluster
        .create(
            "BedrockCustomModel",
            "bedrockcustommodels",
            "during-restart",
            another_model(),
        )
        .await?;
    let (ok, printed) = cluster
        .kubectl(&["rollout", "status", &deployment, "--timeout=100s"])
        .await?;
    cluster
        .explain(if ok {
            Ok(())
        } else {
            Err(anyhow::anyhow!("kubectl rollout status: {printed}"))
        })
        .await?;
    let replaced = wait::until(
        "two new Ready Pods and the old ones gone",
        DEADLINE,
        POLL,
        async || {
            let all = cluster.pods.list(&ListParams::default()).await?.items;
            let ready = ready_pods().await?;
            let fresh = ready.len() == 2 && names(&ready).is_disjoint(&first);
            Ok((fresh && all.len() == 2).then_some(ready))
        },
    )
    .await;
    let second = names(&cluster.explain(replaced).await?);
    eprintln!(
        "kubectl rollout restart: two new Pods Ready and the old ones gone after {:.1} s",
        restarting.elapsed().as_secs_f64()
    );
    // Each old operator, PID 1 of its container, exited by itself on SIGTERM (0) before the
    // grace period's SIGKILL (137).
    eprintln!(
        "the old operators stopped with: {:?}",
        first.iter().map(|p| (p, stopped.of(p))).collect::<Vec<_>>()
    );
    for pod in &first {
        let stopped_with = wait::until(
            format!("the kubelet's report of {pod}'s exit"),
            DEADLINE,
            POLL,
            async || Ok(stopped.of(pod)),
        )
        .await?;
        ensure!(
            stopped_with.0 == 0,
            "the operator of {pod} stopped with {stopped_with:?}, not by itself on SIGTERM"
        );
    }
    cluster
        .wait_ready(
            "BedrockCustomModel",
            "bedrockcustommodels",
            "during-restart",
        )
        .await?;
    let led = wait::until("a new Pod to lead", DEADLINE, POLL, async || {
        Ok(holder().await?.filter(|h| second.contains(h)))
    })
    .await;
    cluster.explain(led).await?;
    for (kind, plural, name, _) in resources() {
        cluster.wait_ready(kind, plural, name).await?;
    }
    cluster.settle_creates(2).await?;

    // --- kubectl drain: the PodDisruptionBudget (maxUnavailable 1) keeps one Pod serving ---
    let (drained, printed) = cluster
        .kubectl(&[
            "drain",
            node::NODE_NAME,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=20s",
        ])
        .await?;
    ensure!(
        !drained && printed.contains("disruption budget"),
        "kubectl drain evicts one operator Pod and is refused the other by the budget: {printed}"
    );
    eprintln!("kubectl drain: one eviction, the other refused by the budget: {printed}");
    let left = ready_pods().await?;
    let [serving] = left.as_slice() else {
        bail!("one Pod left serving after the drain: {:?}", names(&left));
    };
    let serving = serving.metadata.name.clone().context("a name")?;
    ensure!(
        second.contains(&serving),
        "{serving} is one of the Pods the drain found"
    );
    let led = wait::until(
        format!("{serving}, the Pod left, to lead"),
        DEADLINE,
        POLL,
        async || Ok((holder().await?.as_deref() == Some(serving.as_str())).then_some(())),
    )
    .await;
    cluster.explain(led).await?;
    cluster
        .create(
            "BedrockCustomModel",
            "bedrockcustommodels",
            "during-drain",
            another_model(),
        )
        .await?;
    cluster
        .wait_ready("BedrockCustomModel", "bedrockcustommodels", "during-drain")
        .await?;

    // --- kubectl uncordon: the evicted Pod's replacement is scheduled again ---
    let (ok, printed) = cluster.kubectl(&["uncordon", node::NODE_NAME]).await?;
    ensure!(ok, "kubectl uncordon: {printed}");
    let back = wait::until("two Ready Pods again", DEADLINE, POLL, async || {
        Ok((ready_pods().await?.len() == 2).then_some(()))
    })
    .await;
    cluster.explain(back).await?;
    cluster.settle_creates(3).await?;
    drop(stopped);
    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}
