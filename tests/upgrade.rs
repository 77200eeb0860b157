//! A release's life on testkit's real node (containerd, runc, CNI, kubelet, kube-scheduler,
//! kube-proxy), the operator's release image and the chart pulled from a real OCI registry as
//! users pull them (tests/support/cluster.rs): `helm install --wait`, `helm upgrade`, `helm
//! rollback` and `helm uninstall`, each revision's operator running in its Pod; the upgrade
//! from the previous release's chart; and the documented clean-up, its commands run as written.
//! What the API server refused the operator comes from its audit log (testkit::audit), which
//! also knows the requests of Pods that are gone.
//!
//! Needs root, `ip` and `iptables`, as testkit's node does, and takes the node's machine-wide
//! lock: these tests run one at a time. The image is the one `cargo xtask test` builds before
//! the suite (`BEDROCK_OPERATOR_IMAGE_LAYOUT`); run on its own, a test builds it first.

#[path = "support/chart.rs"]
mod chart;
#[path = "support/cluster.rs"]
mod cluster;
#[path = "../charts/tests/driver.rs"]
mod driver;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use testkit::wait;

use chart::{crd_names, fenced_blocks, lease_grants, operator_grants, rules_of};
use cluster::{
    Cluster, DEADLINE, POLL, RELEASE, Setup, app_version, custom_resources, is_ready,
    operator_process, resources,
};
use driver::{ChartSource, workspace_root};

const CRD_FILE: &str = "bedrockcustommodels.bedrock-operator.dev.yaml";
const CRD_NAME: &str = "bedrockcustommodels.bedrock-operator.dev";

/// One release through its whole life, each revision's operator running in the Deployment's
/// Pod on the node: each `--wait` passing means that revision's operator answered its
/// readiness probe; its Pod's args are the revision's, it takes the Lease from the Pod before
/// it (which releases it on SIGTERM), and the API server refuses it nothing.
#[tokio::test]
async fn install_upgrade_rollback_and_uninstall_run_the_operator() -> Result<()> {
    // The chart as a release publishes it: naming the pushed image, installed from `oci://`.
    let cluster = Cluster::start_with(Setup {
        chart_names_the_image: true,
    })
    .await?;
    let pushed = cluster.chart.clone();
    ensure!(pushed.digest.starts_with("sha256:"), "{pushed:?}");
    assert_eq!(
        pushed.chart_ref,
        format!("oci://{}/charts/bedrock-operator", cluster.registry.host())
    );
    assert_eq!(
        cluster.registry.tags("charts/bedrock-operator").await?,
        std::slice::from_ref(&pushed.version),
        "the registry holds the chart at the version of Chart.yaml"
    );
    let helm = &cluster.helm;
    let kubeconfig = cluster.plane.kubeconfig_path().to_path_buf();
    let namespace = cluster.namespace.clone();
    let client = cluster.plane.client();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    // What a user of a non-EKS cluster sets, but the image: the published chart names it.
    let mut values = cluster.values(json!({}));
    values
        .as_object_mut()
        .context("the values are an object")?
        .remove("image");

    // --- helm install --wait ---
    let started = Instant::now();
    let installed = cluster
        .explain(
            helm.install(&kubeconfig, RELEASE, &namespace, values.clone())
                .await,
        )
        .await?;
    eprintln!(
        "helm install --wait: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(installed["info"]["status"], "deployed", "{installed}");
    assert_eq!(installed["version"], 1);
    assert_eq!(
        installed["chart"]["metadata"]["version"], pushed.version,
        "the chart pulled from {}",
        pushed.chart_ref
    );
    let manifest = format!("/v2/charts/bedrock-operator/manifests/{}", pushed.version);
    assert!(
        cluster.registry.log_contains(&manifest),
        "helm install pulled {manifest} from the registry:\n{}",
        cluster.registry.log_tail()
    );
    assert_eq!(
        installed["apply_method"], "ssa",
        "Helm 4 applies server-side"
    );
    assert!(
        installed["info"]["notes"]
            .as_str()
            .unwrap_or_default()
            .contains("--for=condition=Ready"),
        "{installed}"
    );

    // The CRD: installed by server-side apply, served, with every CEL rule, which the server
    // enforces.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crds.get(CRD_NAME).await?;
    let established = crd
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established, "the chart's CRD is served");
    for name in crd_names() {
        let crd = crds.get(&name).await?;
        assert_eq!(
            crd.metadata
                .annotations
                .unwrap_or_default()
                .get("helm.sh/resource-policy")
                .map(String::as_str),
            Some("keep"),
            "{name}: a template of the release, kept on uninstall"
        );
    }
    let appliers: Vec<(Option<String>, Option<String>)> = crd
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|f| (f.manager.clone(), f.operation.clone()))
        .collect();
    assert!(
        appliers.contains(&(Some("helm".into()), Some("Apply".into()))),
        "Helm 4 applies CRDs server-side: {appliers:?}"
    );
    let chart_crd: Value = serde_yaml::from_str(&std::fs::read_to_string(
        workspace_root().join("crds").join(CRD_FILE),
    )?)?;
    let served_rules = cel_rules(&serde_json::to_value(&crd)?);
    assert!(!served_rules.is_empty(), "the CRD has CEL rules");
    assert_eq!(
        served_rules,
        cel_rules(&chart_crd),
        "the server keeps every CEL rule"
    );
    let models = custom_resources(
        &client,
        &namespace,
        "BedrockCustomModel",
        "bedrockcustommodels",
    );
    let no_role = resource(
        "BedrockCustomModel",
        "no-role",
        json!({ "source": { "s3Uri": "s3://helm-test/model/" } }),
    )?;
    match models.create(&PostParams::default(), &no_role).await {
        Err(kube::Error::Api(status)) if status.code == 422 => assert!(
            status
                .message
                .contains("roleArn is required when source.s3Uri is set"),
            "{status:?}"
        ),
        other => bail!("the server's CEL rule should refuse an s3Uri without roleArn: {other:?}"),
    }

    // What Helm created, read back from the server.
    let deployment = deployments.get(RELEASE).await?;
    let first_args = deployment_args(&deployment);
    let image = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone());
    assert_eq!(
        image,
        Some(format!("{}:{}", cluster.repository, app_version()?)),
        "the published chart deploys the published image by default"
    );
    assert!(
        first_args.contains(&"--log-level=info".to_string()),
        "{first_args:?}"
    );
    // Helm 4's --wait (kstatus) returns once the replicas are available; the deployment
    // controller may write the Available condition in a later status update of its own.
    let available = |deployment: &Deployment| {
        deployment
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default()
            .into_iter()
            .any(|c| c.type_ == "Available" && c.status == "True")
    };
    if !available(&deployment) {
        wait::until(
            "the Deployment's Available condition after helm install --wait",
            Duration::from_secs(10),
            POLL,
            async || Ok(available(&deployments.get(RELEASE).await?).then_some(())),
        )
        .await?;
    }
    Api::<ServiceAccount>::namespaced(client.clone(), &namespace)
        .get(RELEASE)
        .await?;
    let cluster_role = Api::<ClusterRole>::all(client.clone()).get(RELEASE).await?;
    assert_eq!(
        rules_of(&serde_json::to_value(&cluster_role)?)?,
        operator_grants()
    );
    Api::<ClusterRoleBinding>::all(client.clone())
        .get(RELEASE)
        .await?;
    let lease_role = Api::<Role>::namespaced(client.clone(), &namespace)
        .get(&format!("{RELEASE}-leader-election"))
        .await?;
    assert_eq!(
        rules_of(&serde_json::to_value(&lease_role)?)?,
        lease_grants()
    );
    Api::<Secret>::namespaced(client.clone(), &namespace)
        .get(&format!("sh.helm.release.v1.{RELEASE}.v1"))
        .await
        .context("Helm's release record")?;

    // The operator runs in the Deployment's one Pod, with its args, and leads.
    let lease_name = first_args
        .iter()
        .find_map(|a| a.strip_prefix("--leader-election-lease-name="))
        .context("the chart enables leader election")?
        .to_string();
    let holders = LeaseHolders::watch(Api::namespaced(client.clone(), &namespace), &lease_name);
    let first_pod = serving_pod(&cluster, &first_args).await?;
    let first = name_of(&first_pod)?;
    let ip = first_pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .context("the Pod's IP")?;
    for path in ["/readyz", "/livez"] {
        let (status, _) = testkit::http::get(&format!("{ip}:8080"), path).await?;
        assert_eq!(status, 200, "GET {path} on the Pod's admin port");
    }
    wait_for_leader(&cluster, &lease_name, &first).await?;

    // A resource created while the operator is installed.
    let kept = resource(
        "BedrockCustomModel",
        "kept",
        json!({
            "source": { "s3Uri": "s3://helm-test/model/" },
            "roleArn": "arn:aws:iam::123456789012:role/BedrockImport",
        }),
    )?;
    models.create(&PostParams::default(), &kept).await?;

    // --- helm upgrade --wait with a changed value: a new Pod runs the new args ---
    let before = deployment.metadata.generation;
    let mut debug = values.clone();
    debug["logLevel"] = json!("debug");
    let started = Instant::now();
    let upgraded = cluster
        .explain(helm.upgrade(&kubeconfig, RELEASE, &namespace, debug).await)
        .await?;
    eprintln!(
        "helm upgrade --wait: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(upgraded["info"]["status"], "deployed", "{upgraded}");
    assert_eq!(upgraded["version"], 2);
    let deployment = deployments.get(RELEASE).await?;
    let second_args = deployment_args(&deployment);
    assert!(
        second_args.contains(&"--log-level=debug".to_string()),
        "{second_args:?}"
    );
    assert!(
        !second_args.contains(&"--log-level=info".to_string()),
        "{second_args:?}"
    );
    assert!(deployment.metadata.generation > before);
    let second_pod = serving_pod(&cluster, &second_args).await?;
    let second = name_of(&second_pod)?;
    assert_ne!(second, first, "a rolling update replaced the Pod");
    ensure!(
        operator_process(&uid_of(&first_pod)?).is_err(),
        "the old Pod's operator was stopped"
    );
    wait_for_leader(&cluster, &lease_name, &second).await?;
    holders.handed_over(&first, &second).await?;

    // --- helm rollback --wait to the first revision: its args again ---
    let started = Instant::now();
    cluster
        .explain(helm.rollback(&kubeconfig, RELEASE, &namespace, 1).await)
        .await?;
    eprintln!(
        "helm rollback --wait: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let history = helm.history(&kubeconfig, RELEASE, &namespace).await?;
    let revisions: Vec<(i64, String, String)> = history
        .as_array()
        .context("history is a list")?
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap_or_default(),
                r["status"].as_str().unwrap_or_default().to_string(),
                r["description"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        revisions
            .iter()
            .map(|r| (r.0, r.1.as_str()))
            .collect::<Vec<_>>(),
        [(1, "superseded"), (2, "superseded"), (3, "deployed")],
        "{history}"
    );
    assert_eq!(revisions[2].2, "Rollback to 1", "{history}");
    let deployment = deployments.get(RELEASE).await?;
    assert_eq!(
        deployment_args(&deployment),
        first_args,
        "the first revision's args"
    );
    let third_pod = serving_pod(&cluster, &first_args).await?;
    let third = name_of(&third_pod)?;
    assert_ne!(third, second);
    ensure!(
        operator_process(&uid_of(&second_pod)?).is_err(),
        "the second Pod's operator was stopped"
    );
    wait_for_leader(&cluster, &lease_name, &third).await?;
    holders.handed_over(&second, &third).await?;

    // Every operator that ran talked to the API server with its Pod's token and had all the
    // rights it tried to use.
    let user = cluster.operator_user();
    let ran: BTreeSet<String> = cluster
        .plane
        .audit_events()?
        .iter()
        .filter(|request| request.user.username == user)
        .filter_map(|request| request.pod().map(str::to_string))
        .collect();
    assert_eq!(
        ran,
        BTreeSet::from([first.clone(), second.clone(), third.clone()]),
        "one Pod per revision"
    );
    let refused = cluster.plane.refused_requests(&user)?;
    assert!(
        refused.is_empty(),
        "the chart's RBAC let every revision's operator do everything it tried: {:#?}",
        refused.iter().map(|r| r.summary()).collect::<Vec<_>>()
    );

    // --- helm uninstall --wait: the release's objects and Pods go, the CRD and resources stay ---
    let started = Instant::now();
    cluster
        .explain(helm.uninstall(&kubeconfig, RELEASE, &namespace).await)
        .await?;
    eprintln!(
        "helm uninstall --wait: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        deployments.get_opt(RELEASE).await?.is_none(),
        "the Deployment is gone"
    );
    assert!(
        Api::<ClusterRole>::all(client.clone())
            .get_opt(RELEASE)
            .await?
            .is_none(),
        "the ClusterRole is gone"
    );
    assert!(
        Api::<ServiceAccount>::namespaced(client.clone(), &namespace)
            .get_opt(RELEASE)
            .await?
            .is_none(),
        "the ServiceAccount is gone"
    );
    assert!(
        Api::<Service>::namespaced(client.clone(), &namespace)
            .get_opt(&format!("{RELEASE}-metrics"))
            .await?
            .is_none(),
        "the metrics Service is gone"
    );
    wait_for_no_pods(&cluster, &[&first_pod, &second_pod, &third_pod]).await?;
    match helm.status(&kubeconfig, RELEASE, &namespace).await? {
        Ok(status) => bail!("the release is still there: {status}"),
        Err(refusal) => assert!(refusal.message.contains("release: not found"), "{refusal}"),
    }
    for name in crd_names() {
        assert!(
            crds.get_opt(&name).await?.is_some(),
            "crds.keep: helm uninstall leaves {name}"
        );
    }
    assert!(
        models.get_opt("kept").await?.is_some(),
        "BedrockCustomModels survive an uninstall"
    );

    // Helm deletes the Lease's Role with the Deployment, so the last operator, stopped once
    // its Pod goes, may no longer release the Lease (it expires instead); nothing else is refused.
    let (lease, refused): (Vec<_>, Vec<_>) = cluster
        .plane
        .refused_requests(&user)?
        .into_iter()
        .partition(|request| {
            request
                .object_ref
                .as_ref()
                .is_some_and(|object| object.resource == "leases")
        });
    let summaries = |requests: &[testkit::audit::AuditEvent]| -> Vec<String> {
        requests.iter().map(|r| r.summary()).collect()
    };
    eprintln!(
        "refused once uninstalled, the Lease's release: {:#?}",
        summaries(&lease)
    );
    assert!(refused.is_empty(), "{:#?}", summaries(&refused));

    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}

/// The commit whose chart is the previous release's: the last before the CRDs moved from the
/// chart's crds/ folder (which Helm never upgrades) to templates. Replace it with the previous
/// release's tag once releases are tagged. `git archive` needs it in the clone's history.
const PREVIOUS_RELEASE_COMMIT: &str = "81b744bf0689d1d5c7b1147d53566b77e09770a8";

/// `helm upgrade` from the previous release's chart (CRDs in crds/, installed once by Helm and
/// never upgraded) to this one (CRDs as templates) takes the CRDs into the release with
/// `--reset-then-reuse-values --take-ownership` (once; docs/helm.md), every later `helm
/// upgrade` applies the chart's CRD changes, and `crds.install=false` takes them out of the
/// release but leaves them (`crds.keep`); no custom resource of any kind is lost on the way,
/// nor on uninstall, and none of their Bedrock objects is created twice.
#[tokio::test]
async fn upgrade_from_the_previous_release_upgrades_the_crds_and_keeps_every_resource() -> Result<()>
{
    let cluster = Cluster::start().await?;
    let helm = &cluster.helm;
    let pushed = cluster.chart.clone();
    let scratch = tempfile::tempdir()?;
    let previous_dir = testkit::chart::export_from_git(
        &workspace_root(),
        PREVIOUS_RELEASE_COMMIT,
        driver::CHART_DIR,
        &scratch.path().join("previous"),
    )?;
    assert!(
        previous_dir.join("crds").is_dir(),
        "the previous release shipped its CRDs in crds/"
    );
    let previous = helm.publish(
        &previous_dir,
        &scratch.path().join("previous-package"),
        &cluster.registry,
        "previous",
        None,
    )?;
    let previous_helm = helm.with_source(ChartSource::Oci(previous));
    // The previous chart deploys the image tagged with its own appVersion. That release's
    // image is not built here: this checkout's image is pushed under its tag too. What the
    // test upgrades is the chart and the CRDs; the operator is the same throughout.
    let previous_chart: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(previous_dir.join("Chart.yaml"))?)?;
    let previous_app_version = previous_chart["appVersion"]
        .as_str()
        .context("the previous chart's appVersion")?;
    cluster.push_image_tag(previous_app_version).await?;

    let kubeconfig = cluster.plane.kubeconfig_path().to_path_buf();
    let namespace = cluster.namespace.clone();
    let client = cluster.plane.client();
    let values = cluster.values(json!({}));

    // --- the previous release: Helm installs its CRDs from crds/, outside the release ---
    let started = Instant::now();
    let installed = cluster
        .explain(
            previous_helm
                .install(&kubeconfig, RELEASE, &namespace, values.clone())
                .await,
        )
        .await?;
    eprintln!(
        "helm install --wait of the previous release: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(installed["info"]["status"], "deployed", "{installed}");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut generations = BTreeMap::new();
    // The previous release shipped the CRDs of its own kinds; a kind added since comes with the
    // upgrade (and the operator, newer than those CRDs, leaves it out until then).
    let previous_crds: BTreeSet<String> = std::fs::read_dir(previous_dir.join("crds"))?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            file.strip_suffix(".yaml").map(String::from)
        })
        .collect();
    assert!(previous_crds.contains(CRD_NAME), "{previous_crds:?}");
    for name in crd_names()
        .into_iter()
        .filter(|n| previous_crds.contains(n))
    {
        let crd = crds.get(&name).await?;
        assert!(
            !crd.metadata
                .annotations
                .unwrap_or_default()
                .contains_key("meta.helm.sh/release-name"),
            "{name}: crds/ is no part of the release"
        );
        generations.insert(name, crd.metadata.generation.unwrap_or_default());
    }

    // One resource of each kind, created under the previous release and Ready in Bedrock.
    cluster.apply_resources_until_ready(started).await?;
    let mut kept = BTreeMap::new();
    for (kind, plural, name, _) in resources() {
        let api = custom_resources(&client, &namespace, kind, plural);
        let found = api.get(name).await?;
        kept.insert((kind, plural, name), found.metadata.uid.context("a UID")?);
    }
    let still_there = async |when: &str| -> Result<()> {
        for ((kind, plural, name), uid) in &kept {
            let api = custom_resources(&client, &namespace, kind, plural);
            let found = api.get_opt(name).await?;
            assert_eq!(
                found.and_then(|r| r.metadata.uid).as_ref(),
                Some(uid),
                "{kind} {name} is kept {when}"
            );
        }
        let state = cluster.emulator.state();
        assert_eq!(
            (
                state.models().len(),
                state.deployments().len(),
                state.provisioned_throughputs().len()
            ),
            (1, 1, 1),
            "every Bedrock object is kept {when}"
        );
        assert_eq!(
            cluster.creates(),
            [1, 1, 1],
            "no Bedrock object is created again {when}"
        );
        Ok(())
    };

    let previous_pod = cluster
        .pods
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(name_of)
        .collect::<Result<Vec<_>>>()?
        .join(", ");

    // --- helm upgrade to this chart as docs/helm.md says: the CRDs become the release's ---
    // `--reuse-values` would put the previous chart's defaults in place of this chart's, which
    // has crds.*: the CRD templates refuse instead of reading crds.install as false.
    match helm
        .upgrade_with(
            &kubeconfig,
            RELEASE,
            &namespace,
            json!({}),
            &["--reuse-values", "--take-ownership"],
        )
        .await
    {
        Ok(release) => bail!("helm upgrade --reuse-values went through: {release}"),
        Err(error) => assert!(
            format!("{error:#}").contains(bedrock_operator::crd::CRDS_UNSET),
            "{error:#}"
        ),
    }
    let started = Instant::now();
    let upgraded = cluster
        .explain(
            helm.upgrade_with(
                &kubeconfig,
                RELEASE,
                &namespace,
                json!({}),
                &["--reset-then-reuse-values", "--take-ownership"],
            )
            .await,
        )
        .await?;
    eprintln!(
        "helm upgrade --reset-then-reuse-values --take-ownership from the previous release: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        upgraded["config"], values,
        "the release's own values are reused"
    );
    assert_eq!(upgraded["info"]["status"], "deployed", "{upgraded}");
    assert_eq!(upgraded["version"], 2);
    assert_eq!(upgraded["chart"]["metadata"]["version"], pushed.version);
    for crd in bedrock_operator::crd::crds() {
        let name = crd.metadata.name.clone().context("a CRD name")?;
        let served = crds.get(&name).await?;
        let annotations = served.metadata.annotations.clone().unwrap_or_default();
        let labels = served.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            annotations
                .get("meta.helm.sh/release-name")
                .map(String::as_str),
            Some(RELEASE),
            "{name} belongs to the release"
        );
        assert_eq!(
            annotations
                .get("helm.sh/resource-policy")
                .map(String::as_str),
            Some("keep"),
            "{name}"
        );
        assert_eq!(
            labels
                .get("app.kubernetes.io/managed-by")
                .map(String::as_str),
            Some("Helm"),
            "{name}"
        );
        assert_eq!(
            cel_rules(&serde_json::to_value(&served)?),
            cel_rules(&serde_json::to_value(&crd)?),
            "{name}: the server has this chart's CRD"
        );
        assert_eq!(
            printer_columns(&served),
            printer_columns(&crd),
            "{name}: the server has this chart's CRD"
        );
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let args = deployment_args(&deployments.get(RELEASE).await?);
    let upgraded_pod = serving_pod(&cluster, &args).await?;
    eprintln!(
        "the operator's Pod: {previous_pod} under the previous release, {} after the upgrade",
        name_of(&upgraded_pod)?
    );
    still_there("after the upgrade from the previous release").await?;

    // --- a later release that changes a CRD: plain helm upgrade applies the change ---
    let next_dir = scratch.path().join("next/bedrock-operator");
    testkit::chart::copy_dir(helm.chart_dir(), &next_dir)?;
    let template = next_dir.join(format!("templates/crds/{CRD_NAME}.yaml"));
    let text = std::fs::read_to_string(&template)?;
    let columns = "  - additionalPrinterColumns:\n";
    ensure!(text.contains(columns), "{}", template.display());
    std::fs::write(
        &template,
        text.replacen(
            columns,
            &format!(
                "{columns}    - description: The region\n      jsonPath: .spec.region\n      name: Region\n      type: string\n"
            ),
            1,
        ),
    )?;
    let chart_yaml = next_dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&chart_yaml)?;
    let version_line = format!("\nversion: {}\n", pushed.version);
    ensure!(text.contains(&version_line), "{text}");
    std::fs::write(
        &chart_yaml,
        text.replace(&version_line, "\nversion: 99.0.0-next\n"),
    )?;
    let next = helm.publish(
        &next_dir,
        &scratch.path().join("next-package"),
        &cluster.registry,
        "charts",
        None,
    )?;
    let next_helm = helm.with_source(ChartSource::Oci(next));
    let started = Instant::now();
    let upgraded = cluster
        .explain(
            next_helm
                .upgrade(&kubeconfig, RELEASE, &namespace, values.clone())
                .await,
        )
        .await?;
    eprintln!(
        "helm upgrade to a chart with a changed CRD: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(upgraded["version"], 3, "{upgraded}");
    let served = crds.get(CRD_NAME).await?;
    assert!(
        printer_columns(&served).contains(&"Region".to_string()),
        "the upgrade applied the CRD change: {:?}",
        printer_columns(&served)
    );
    assert!(
        served.metadata.generation.unwrap_or_default() > generations[CRD_NAME],
        "the CRD's spec changed on the server"
    );
    serving_pod(&cluster, &deployment_args(&deployments.get(RELEASE).await?)).await?;
    still_there("after an upgrade that changed a CRD").await?;

    // --- crds.install=false takes the CRDs out of the release; crds.keep leaves them ---
    let mut without_crds = values.clone();
    without_crds["crds"] = json!({ "install": false, "keep": true });
    let upgraded = cluster
        .explain(
            next_helm
                .upgrade(&kubeconfig, RELEASE, &namespace, without_crds)
                .await,
        )
        .await?;
    assert!(
        !upgraded["manifest"]
            .as_str()
            .unwrap_or_default()
            .contains("kind: CustomResourceDefinition"),
        "no CRD in the release any more"
    );
    for name in crd_names() {
        assert!(
            crds.get_opt(&name).await?.is_some(),
            "{name} is kept when the release stops installing it"
        );
    }
    still_there("after an upgrade with crds.install=false").await?;

    // --- helm uninstall: the CRDs (no longer the release's) and every resource stay; the
    // uninstall of a release that holds them is install_upgrade_rollback_and_uninstall… ---
    let pods = cluster.pods.list(&ListParams::default()).await?.items;
    cluster
        .explain(helm.uninstall(&kubeconfig, RELEASE, &namespace).await)
        .await?;
    wait_for_no_pods(&cluster, &pods.iter().collect::<Vec<_>>()).await?;
    for name in crd_names() {
        assert!(crds.get_opt(&name).await?.is_some(), "{name} is kept");
    }
    still_there("after helm uninstall").await?;

    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}

/// The clean-up of docs/helm.md ("To remove everything"), its commands run as written (the
/// namespace of the release being the test's): with the operator running against the Bedrock
/// emulator, `kubectl delete` of every kind deletes the resources and their Bedrock objects;
/// `helm uninstall` keeps the CRDs (`crds.keep`); `kubectl delete crd` removes all three.
#[tokio::test]
async fn the_documented_clean_up_leaves_nothing_behind() -> Result<()> {
    let uninstall = chart::uninstall_section(&workspace_root())?;
    let uninstall = uninstall.as_str();
    let (before, steps) = uninstall
        .split_once("To remove everything")
        .context("the clean-up steps")?;
    let uninstall_line = fenced_blocks(before, "sh").join("");
    assert!(
        uninstall_line.starts_with(&format!("helm uninstall {RELEASE} ")),
        "{uninstall_line}"
    );
    let step_blocks = fenced_blocks(steps, "sh");
    let [delete_resources, delete_crds] = step_blocks.as_slice() else {
        bail!("two command blocks in the clean-up steps: {step_blocks:?}");
    };

    let cluster = Cluster::start().await?;
    let kubeconfig = cluster.plane.kubeconfig_path().to_path_buf();
    let namespace = cluster.namespace.clone();
    let (installing, ready) = cluster.install(cluster.values(json!({})), 1).await?;

    // A model, a deployment and a throughput of it, all Ready: objects in Bedrock.
    cluster.apply_resources_until_ready(installing).await?;
    let bedrock_objects = || {
        let state = cluster.emulator.state();
        state.models().len() + state.deployments().len() + state.provisioned_throughputs().len()
    };
    assert_eq!(bedrock_objects(), 3);

    // 1. While the operator runs, delete every resource: their Bedrock objects go too.
    let kubectl = testkit::binaries::locate()
        .await?
        .kubectl
        .context("kubectl (KUBEBUILDER_ASSETS has none)")?;
    let run_kubectl = async |line: &str| -> Result<String> {
        let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        ensure!(
            words.first().map(String::as_str) == Some("kubectl"),
            "{line}"
        );
        words.remove(0);
        if words.starts_with(&["delete".into(), "namespace".into()]) {
            words[2] = namespace.clone();
        }
        // `kubectl delete` waits for the finalizers: bounded here, never for ever.
        let output = tokio::time::timeout(
            DEADLINE,
            tokio::process::Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(&words)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .with_context(|| format!("{line} did not finish within {DEADLINE:?}"))??;
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        ensure!(output.status.success(), "{line}: {printed}");
        Ok(printed)
    };
    let mut listed = String::new();
    for line in delete_resources.lines().filter(|l| !l.trim().is_empty()) {
        let line = line.split(" #").next().unwrap_or(line);
        let printed = cluster.explain(run_kubectl(line).await).await?;
        if line.starts_with("kubectl get ") {
            listed = printed;
        }
    }
    assert!(listed.contains("No resources found"), "{listed}");
    let gone = wait::until(
        "the Bedrock objects to be deleted",
        DEADLINE,
        POLL,
        async || Ok((bedrock_objects() == 0).then_some(())),
    )
    .await;
    cluster.explain(gone).await?;

    // 2. Uninstall the release: the CRDs stay.
    cluster
        .explain(
            cluster
                .helm
                .uninstall(&kubeconfig, RELEASE, &namespace)
                .await,
        )
        .await?;
    wait_for_no_pods(&cluster, &ready.iter().collect::<Vec<_>>()).await?;
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.plane.client());
    for name in crd_names() {
        assert!(crds.get_opt(&name).await?.is_some(), "{name} is kept");
    }

    // 3. Delete the CRDs (and the namespace).
    for line in delete_crds.lines().filter(|l| !l.trim().is_empty()) {
        run_kubectl(line).await?;
    }
    for name in crd_names() {
        assert!(crds.get_opt(&name).await?.is_none(), "{name} is deleted");
    }

    let Cluster { node, emulator, .. } = cluster;
    drop(emulator);
    node.stop().await?;
    Ok(())
}

fn name_of(pod: &Pod) -> Result<String> {
    pod.metadata.name.clone().context("the Pod's name")
}

fn uid_of(pod: &Pod) -> Result<String> {
    pod.metadata.uid.clone().context("the Pod's uid")
}

/// Waits until the release namespace has exactly one Pod, not terminating, Ready, whose
/// container has `args`; returns it.
async fn serving_pod(cluster: &Cluster, args: &[String]) -> Result<Pod> {
    let serving = wait::until(
        format!("a single Ready Pod running {args:?}"),
        DEADLINE,
        POLL,
        async || {
            let pods = cluster.pods.list(&ListParams::default()).await?.items;
            if let [pod] = pods.as_slice()
                && pod.metadata.deletion_timestamp.is_none()
                && is_ready(pod)
                && pod_args(pod) == args
            {
                return Ok(Some(pod.clone()));
            }
            Ok(None)
        },
    )
    .await;
    cluster.explain(serving).await
}

/// Waits until the release namespace has no Pod left and the node runs none of `pods`'
/// operators.
async fn wait_for_no_pods(cluster: &Cluster, pods: &[&Pod]) -> Result<()> {
    let uids = pods
        .iter()
        .map(|pod| uid_of(pod))
        .collect::<Result<Vec<_>>>()?;
    let mut running = Vec::new();
    let gone = wait::until(
        "the release's Pods and their operators to be gone",
        DEADLINE,
        POLL,
        async || {
            let left = cluster.pods.list(&ListParams::default()).await?.items;
            running = uids
                .iter()
                .filter_map(|uid| operator_process(uid).ok())
                .collect();
            Ok((left.is_empty() && running.is_empty()).then_some(()))
        },
    )
    .await;
    let gone = gone.with_context(|| format!("operator processes still running: {running:?}"));
    cluster.explain(gone).await
}

async fn wait_for_leader(cluster: &Cluster, lease: &str, pod: &str) -> Result<()> {
    let leases: Api<Lease> = Api::namespaced(cluster.plane.client(), &cluster.namespace);
    let mut holder = None;
    let leads = wait::until(
        format!("{pod} to hold Lease {lease}"),
        DEADLINE,
        POLL,
        async || {
            holder = leases
                .get_opt(lease)
                .await?
                .and_then(|l| l.spec)
                .and_then(|s| s.holder_identity);
            Ok((holder.as_deref() == Some(pod)).then_some(()))
        },
    )
    .await;
    let leads = leads.with_context(|| format!("held by {holder:?}"));
    cluster.explain(leads).await
}

/// The holders a Lease had, in order, as `kubectl get lease --watch` shows them (`None` while
/// nobody held it), recorded by a watch for as long as this lives.
struct LeaseHolders {
    seen: Arc<Mutex<Vec<Option<String>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LeaseHolders {
    fn watch(leases: Api<Lease>, name: &str) -> Self {
        let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                let mut leases =
                    std::pin::pin!(watcher(leases, config).default_backoff().applied_objects());
                while let Some(lease) = leases.next().await {
                    let Ok(lease) = lease else { continue };
                    let holder = lease
                        .spec
                        .and_then(|s| s.holder_identity)
                        .filter(|h| !h.is_empty());
                    if let Ok(mut seen) = seen.lock()
                        && seen.last() != Some(&holder)
                    {
                        seen.push(holder);
                    }
                }
            }
        });
        Self { seen, task }
    }

    fn holders(&self) -> Vec<Option<String>> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until `to` holds the Lease, then checks that `from` released it first: between
    /// the two, the Lease had no holder (had `from` not released it, `to` would have taken it
    /// only once it expired, straight from `from`).
    async fn handed_over(&self, from: &str, to: &str) -> Result<()> {
        let to_holds = Some(to.to_string());
        let holders = wait::until(
            format!("the watch to see {to} take the Lease"),
            DEADLINE,
            POLL,
            async || {
                let holders = self.holders();
                Ok(holders.contains(&to_holds).then_some(holders))
            },
        )
        .await?;
        let released = holders
            .windows(3)
            .any(|w| w == [Some(from.to_string()), None, to_holds.clone()]);
        ensure!(
            released,
            "{from} released the Lease on SIGTERM before {to} took it: holders {holders:?}"
        );
        Ok(())
    }
}

impl Drop for LeaseHolders {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn resource(kind: &str, name: &str, spec: Value) -> Result<DynamicObject> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": kind,
        "metadata": { "name": name },
        "spec": spec,
    }))?)
}

/// The printer column names of a CRD's first version.
fn printer_columns(crd: &CustomResourceDefinition) -> Vec<String> {
    crd.spec
        .versions
        .first()
        .and_then(|v| v.additional_printer_columns.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

/// Every CEL rule (`x-kubernetes-validations[].rule`) anywhere in a CRD.
fn cel_rules(value: &Value) -> BTreeSet<String> {
    let mut rules = BTreeSet::new();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "x-kubernetes-validations" {
                    rules.extend(
                        child
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v["rule"].as_str().map(str::to_string)),
                    );
                } else {
                    rules.extend(cel_rules(child));
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| rules.extend(cel_rules(item))),
        _ => {}
    }
    rules
}

fn deployment_args(deployment: &Deployment) -> Vec<String> {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.args.clone())
        .unwrap_or_default()
}

/// The args of a Pod's operator container, as the kubelet started it.
fn pod_args(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.args.clone())
        .unwrap_or_default()
}
