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

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use testkit::node;
use testkit::wait;

use cluster::{
    Cluster, DEADLINE, NONROOT, POLL, RELEASE, is_ready, leader_gauge, metrics, operator_process,
    resources, root_mount_options, uids,
};

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
async fn deleting_the_leaders_pod_hands_over_to_the_standby_without_a_second_create() -> Result<()>
{
    let cluster = Cluster::start().await?;
    let (installing, ready) = cluster
        .install(cluster.values(json!({ "replicas": 2 })), 2)
        .await?;
    cluster.apply_resources_until_ready(installing).await?;
    ensure!(cluster.creates() == [1, 1, 1], "{:?}", cluster.creates());

    let leases: Api<Lease> = Api::namespaced(cluster.plane.client(), &cluster.namespace);
    let holder = async || -> Result<Option<String>> {
        Ok(leases
            .get_opt(RELEASE)
            .await?
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity))
    };
    let leader = holder().await?.context("a leader")?;
    let standby = ready
        .iter()
        .find(|p| p.metadata.name.as_deref() != Some(leader.as_str()))
        .context("a standby Pod")?
        .clone();
    let standby_name = standby.metadata.name.clone().context("a name")?;
    ensure!(
        leader_gauge(&standby).await?.as_deref() == Some("0"),
        "the standby does not lead"
    );

    // `kubectl delete pod`: the kubelet sends SIGTERM; the leader releases its Lease on the way
    // out, so the standby need not wait for it to expire.
    let deleting = Instant::now();
    cluster
        .pods
        .delete(&leader, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting the leader's Pod {leader}"))?;
    let handover = wait::until(
        format!("{standby_name} to take the Lease from {leader}"),
        DEADLINE,
        POLL,
        async || Ok((holder().await?.as_deref() == Some(standby_name.as_str())).then_some(())),
    )
    .await;
    cluster.explain(handover).await?;
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
    eprintln!(
        "after deleting the leader's Pod: the standby leads after {:.1} s, the old Pod is gone after {:.1} s",
        handed_over.as_secs_f64(),
        terminated.as_secs_f64()
    );
    ensure!(
        leader_gauge(&standby).await?.as_deref() == Some("1"),
        "the standby reports itself leader"
    );
    // Well inside terminationGracePeriodSeconds (45 s): the operator, PID 1 of its container,
    // exited on SIGTERM rather than being killed at the end of the grace period.
    ensure!(
        terminated < Duration::from_secs(30),
        "the leader's Pod took {terminated:?} to go: SIGTERM not handled?"
    );

    // The new leader settles every resource again, and creates nothing.
    let reconciled = wait::until(
        format!("{standby_name} to reconcile every kind"),
        DEADLINE,
        POLL,
        async || {
            let text = metrics(&standby).await?;
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
    let settled = wait::until_stable(
        "one create of each kind, no more",
        Duration::from_secs(5),
        DEADLINE,
        POLL,
        async || Ok(cluster.creates() == [1, 1, 1]),
    )
    .await;
    cluster.explain(settled).await?;
    ensure!(
        cluster.emulator.state().create_log().len() == 1,
        "the emulator's create log: {:?}",
        cluster.emulator.state().create_log()
    );
    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}
