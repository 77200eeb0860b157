//! The Helm chart (charts/bedrock-operator), driven through real Helm v4 code (PyPI's
//! helm-python-sdk, see charts/tests/helm_driver.py): lint, what it renders with default and
//! non-default values, what its schema refuses, its CRD copy, and a release's life on a real
//! kube-apiserver: install, the installed Deployment actually running, upgrade, uninstall.

#[path = "../charts/tests/driver.rs"]
mod driver;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use testkit::ControlPlane;

use driver::{Helm, Rendered, workspace_root};

const RELEASE: &str = "bedrock-operator";
const NAMESPACE: &str = "operators";
const CRD_FILE: &str = "bedrockcustommodels.bedrock-operator.dev.yaml";
const CRD_NAME: &str = "bedrockcustommodels.bedrock-operator.dev";
const IRSA: &str = "eks.amazonaws.com/role-arn";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/bedrock-operator";

/// (apiGroup, resource, verbs): every permission a rule grants, flattened.
type Grants = BTreeSet<(String, String, BTreeSet<String>)>;

fn grants(pairs: &[(&str, &str, &[&str])]) -> Grants {
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
fn operator_grants() -> Grants {
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
        ("events.k8s.io", "events", &["create", "patch"]),
    ])
}

/// Leader election, in the release namespace only.
fn lease_grants() -> Grants {
    grants(&[("coordination.k8s.io", "leases", &["get", "create", "patch"])])
}

/// The grants of a Role or ClusterRole; fails on anything a flat list cannot express
/// (resourceNames, nonResourceURLs, wildcards).
fn rules_of(role: &Value) -> Result<Grants> {
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

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn chart_yaml() -> Result<Value> {
    let text =
        std::fs::read_to_string(workspace_root().join("charts/bedrock-operator/Chart.yaml"))?;
    Ok(serde_yaml::from_str(&text)?)
}

fn render(values: Value) -> Result<Rendered> {
    Helm::new()?.render(values, RELEASE, NAMESPACE)
}

fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn lint_passes_strict() -> Result<()> {
    let report = Helm::new()?.lint(json!({}))?;
    assert_eq!(report["total_charts_linted"], 1, "{report}");
    assert_eq!(report["errors"], json!([]), "{report}");
    let problems: Vec<&Value> = report["messages"]
        .as_array()
        .context("messages")?
        .iter()
        .filter(|m| m["severity"].as_i64().unwrap_or(3) >= 2)
        .collect();
    assert!(problems.is_empty(), "lint warnings or errors: {problems:?}");
    Ok(())
}

#[test]
fn default_values_render_a_hardened_least_privilege_operator() -> Result<()> {
    let rendered = render(json!({}))?;
    let chart = chart_yaml()?;
    let app_version = chart["appVersion"].as_str().context("appVersion")?;
    assert_eq!(
        app_version,
        env!("CARGO_PKG_VERSION"),
        "the chart's appVersion is the operator's version"
    );

    // Every object: standard labels, and the release namespace when namespaced.
    for object in &rendered.objects {
        let labels = &object["metadata"]["labels"];
        for (key, value) in [
            ("app.kubernetes.io/name", "bedrock-operator"),
            ("app.kubernetes.io/instance", RELEASE),
            ("app.kubernetes.io/managed-by", "Helm"),
            ("app.kubernetes.io/version", app_version),
            ("helm.sh/chart", "bedrock-operator-0.1.0"),
        ] {
            assert_eq!(labels[key], value, "{key} on {}", object["kind"]);
        }
        if !["ClusterRole", "ClusterRoleBinding"].contains(&object["kind"].as_str().unwrap_or("")) {
            assert_eq!(object["metadata"]["namespace"], NAMESPACE, "{object}");
        }
    }
    let kinds: BTreeMap<String, usize> =
        rendered
            .objects
            .iter()
            .fold(BTreeMap::new(), |mut counts, object| {
                *counts
                    .entry(object["kind"].as_str().unwrap_or_default().to_string())
                    .or_default() += 1;
                counts
            });
    assert_eq!(
        kinds,
        BTreeMap::from(
            [
                ("ClusterRole", 1),
                ("ClusterRoleBinding", 1),
                ("Deployment", 1),
                ("Role", 1),
                ("RoleBinding", 1),
                ("Service", 1),
                ("ServiceAccount", 1),
            ]
            .map(|(k, n)| (k.to_string(), n))
        ),
        "no ServiceMonitor or PodDisruptionBudget unless asked for"
    );

    // The Deployment.
    let deployment = rendered.one("Deployment")?;
    let pod = &deployment["spec"]["template"]["spec"];
    let operator = container(deployment);
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(
        operator["image"],
        format!("bedrock-operator:{app_version}"),
        "the image `docker build -t bedrock-operator:{app_version} .` makes (docs/helm.md)"
    );
    assert_eq!(operator["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        strings(&operator["args"]),
        [
            "run",
            "--concurrency=16",
            "--rate-limit-qps=10",
            "--rate-limit-burst=20",
            "--sweep-interval=10s",
            "--sweep-fallback=5m",
            "--poll-initial=2s",
            "--poll-max=30s",
            "--resync=10m",
            "--tag-check-interval=1h",
            "--slow-retry=5m",
            "--backoff-base=500ms",
            "--backoff-max=2m",
            "--call-timeout=30s",
            "--admin-address=0.0.0.0:8080",
            "--log-format=json",
            "--log-level=info",
            "--leader-election",
            "--leader-election-lease-name=bedrock-operator",
            "--leader-election-lease-duration=15s",
        ]
    );
    assert_eq!(
        operator["env"],
        json!([
            { "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
            { "name": "POD_NAMESPACE", "valueFrom": { "fieldRef": { "fieldPath": "metadata.namespace" } } },
        ]),
        "the Lease's identity and namespace from the downward API; no AWS_REGION unless set"
    );
    assert_eq!(
        operator["ports"],
        json!([{ "name": "admin", "containerPort": 8080, "protocol": "TCP" }])
    );
    assert_eq!(
        operator["livenessProbe"]["httpGet"],
        json!({ "path": "/livez", "port": "admin" })
    );
    assert_eq!(
        operator["readinessProbe"]["httpGet"],
        json!({ "path": "/readyz", "port": "admin" })
    );
    assert_eq!(
        operator["securityContext"],
        json!({
            "runAsNonRoot": true,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
            "privileged": false,
            "capabilities": { "drop": ["ALL"] },
            "seccompProfile": { "type": "RuntimeDefault" },
        })
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["runAsUser"], 65532,
        "distroless's nonroot user"
    );
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(pod["terminationGracePeriodSeconds"], 45);
    assert!(
        operator["resources"]["requests"]["memory"].is_string(),
        "{operator}"
    );
    assert!(
        operator["resources"]["limits"]["memory"].is_string(),
        "{operator}"
    );
    assert_eq!(pod["serviceAccountName"], RELEASE);
    assert!(
        pod.get("automountServiceAccountToken").is_none(),
        "the operator needs its token"
    );
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    for (key, value) in selector.as_object().context("selector")? {
        assert_eq!(
            &deployment["spec"]["template"]["metadata"]["labels"][key],
            value
        );
    }

    // The ServiceAccount: nothing that blocks IRSA or EKS Pod Identity.
    let account = rendered.one("ServiceAccount")?;
    assert_eq!(account["metadata"]["name"], RELEASE);
    assert!(
        account.get("automountServiceAccountToken").is_none(),
        "{account}"
    );
    assert!(
        account["metadata"].get("annotations").is_none(),
        "{account}"
    );

    // RBAC: exactly the operator's rules cluster-wide, Leases in the release namespace only.
    let cluster_role = rendered.one("ClusterRole")?;
    assert_eq!(rules_of(cluster_role)?, operator_grants());
    let binding = rendered.one("ClusterRoleBinding")?;
    assert_eq!(binding["roleRef"]["name"], cluster_role["metadata"]["name"]);
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(
        binding["subjects"],
        json!([{ "kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE }])
    );
    let lease_role = rendered.one("Role")?;
    assert_eq!(lease_role["metadata"]["namespace"], NAMESPACE);
    assert_eq!(rules_of(lease_role)?, lease_grants());
    let lease_binding = rendered.one("RoleBinding")?;
    assert_eq!(
        lease_binding["roleRef"]["name"],
        lease_role["metadata"]["name"]
    );
    assert_eq!(lease_binding["roleRef"]["kind"], "Role");
    assert_eq!(
        lease_binding["subjects"],
        json!([{ "kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE }])
    );

    // The metrics Service reaches the admin port of the operator's pods.
    let service = rendered.one("Service")?;
    assert_eq!(
        service["spec"]["ports"],
        json!([{ "name": "metrics", "port": 8080, "targetPort": "admin", "protocol": "TCP" }])
    );
    assert_eq!(&service["spec"]["selector"], selector);

    // NOTES.txt says what to do next.
    let notes = rendered.notes();
    assert!(notes.contains("kind: BedrockCustomModel"), "{notes}");
    assert!(
        notes.contains("kubectl wait --for=condition=Ready bedrockcustommodel/my-model"),
        "{notes}"
    );
    Ok(())
}

#[test]
fn non_default_values_render_namespaced_rbac_irsa_replicas_monitoring_and_pdb() -> Result<()> {
    let rendered = render(json!({
        "watchNamespaces": ["team-a", "team-b"],
        "serviceAccount": { "annotations": { IRSA: ROLE_ARN } },
        "replicas": 2,
        "aws": { "region": "eu-west-1" },
        "logLevel": "info,bedrock_operator=debug",
        "image": { "repository": "registry.example.com/ml/bedrock-operator", "tag": "0.1.0-rc1" },
        "metrics": { "serviceMonitor": { "enabled": true, "labels": { "release": "prometheus" } } },
        "podDisruptionBudget": { "enabled": true },
    }))?;

    // No cluster-wide access to BedrockCustomModels or events: a Role in each namespace.
    assert!(
        rendered.all("ClusterRole").is_empty(),
        "{:?}",
        rendered.all("ClusterRole")
    );
    assert!(rendered.all("ClusterRoleBinding").is_empty());
    let roles = rendered.all("Role");
    let bindings = rendered.all("RoleBinding");
    for namespace in ["team-a", "team-b"] {
        let role = roles
            .iter()
            .find(|r| r["metadata"]["namespace"] == namespace)
            .with_context(|| format!("a Role in {namespace}"))?;
        assert_eq!(rules_of(role)?, operator_grants(), "in {namespace}");
        let binding = bindings
            .iter()
            .find(|b| b["metadata"]["namespace"] == namespace)
            .with_context(|| format!("a RoleBinding in {namespace}"))?;
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
        assert_eq!(
            binding["subjects"],
            json!([{ "kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE }]),
            "the operator's account lives in the release namespace"
        );
    }
    let lease_roles: Vec<&&Value> = roles
        .iter()
        .filter(|r| r["metadata"]["namespace"] == NAMESPACE)
        .collect();
    assert_eq!(lease_roles.len(), 1);
    assert_eq!(rules_of(lease_roles[0])?, lease_grants());
    assert_eq!(roles.len(), 3);
    assert_eq!(bindings.len(), 3);

    let account = rendered.one("ServiceAccount")?;
    assert_eq!(account["metadata"]["annotations"][IRSA], ROLE_ARN);

    let deployment = rendered.one("Deployment")?;
    let operator = container(deployment);
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(
        operator["image"],
        "registry.example.com/ml/bedrock-operator:0.1.0-rc1"
    );
    let args = strings(&operator["args"]);
    assert!(
        args.contains(&"--namespace=team-a,team-b".to_string()),
        "{args:?}"
    );
    assert!(args.contains(&"--leader-election".to_string()), "{args:?}");
    assert!(
        args.contains(&"--log-level=info,bedrock_operator=debug".to_string()),
        "{args:?}"
    );
    let env = operator["env"].as_array().context("env")?;
    assert!(
        env.contains(&json!({ "name": "AWS_REGION", "value": "eu-west-1" })),
        "{env:?}"
    );

    let service = rendered.one("Service")?;
    let monitor = rendered.one("ServiceMonitor")?;
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    assert_eq!(
        monitor["spec"]["namespaceSelector"]["matchNames"],
        json!([NAMESPACE])
    );
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .context("selector")?
    {
        assert_eq!(
            &service["metadata"]["labels"][key], value,
            "selects the Service"
        );
    }

    let budget = rendered.one("PodDisruptionBudget")?;
    assert_eq!(budget["apiVersion"], "policy/v1");
    assert_eq!(budget["spec"]["maxUnavailable"], 1);
    assert_eq!(
        budget["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    let notes = rendered.notes();
    assert!(notes.contains("team-a, team-b"), "{notes}");
    assert!(notes.contains("--namespace team-a"), "{notes}");
    Ok(())
}

#[test]
fn leader_election_off_drops_the_flag_and_the_lease_role() -> Result<()> {
    let rendered = render(json!({ "leaderElection": { "enabled": false } }))?;
    let args = strings(&container(rendered.one("Deployment")?)["args"]);
    assert!(
        !args.iter().any(|a| a.starts_with("--leader-election")),
        "{args:?}"
    );
    assert!(rendered.all("Role").is_empty());
    assert!(rendered.all("RoleBinding").is_empty());
    assert_eq!(rules_of(rendered.one("ClusterRole")?)?, operator_grants());

    let custom = render(json!({
        "leaderElection": { "leaseName": "bcm-leader", "leaseDuration": "30s" },
        "podDisruptionBudget": { "enabled": true, "minAvailable": "50%" },
    }))?;
    let args = strings(&container(custom.one("Deployment")?)["args"]);
    assert!(
        args.contains(&"--leader-election-lease-name=bcm-leader".to_string()),
        "{args:?}"
    );
    assert!(
        args.contains(&"--leader-election-lease-duration=30s".to_string()),
        "{args:?}"
    );
    let budget = custom.one("PodDisruptionBudget")?;
    assert_eq!(budget["spec"]["minAvailable"], "50%");
    assert!(budget["spec"].get("maxUnavailable").is_none(), "{budget}");
    Ok(())
}

#[test]
fn the_schema_refuses_bad_values_with_a_message_naming_the_field() -> Result<()> {
    let helm = Helm::new()?;
    let cases = [
        (json!({ "replicas": "two" }), "/replicas"),
        (json!({ "replicas": -1 }), "/replicas"),
        (json!({ "logFormat": "xml" }), "/logFormat"),
        (
            json!({ "timing": { "resync": "ten minutes" } }),
            "/timing/resync",
        ),
        (
            json!({ "watchNamespaces": ["Team_A"] }),
            "/watchNamespaces/0",
        ),
        (json!({ "watchNamespaces": "team-a" }), "/watchNamespaces"),
        (json!({ "aws": { "region": "Europe" } }), "/aws/region"),
        (
            json!({ "image": { "pullPolicy": "Sometimes" } }),
            "/image/pullPolicy",
        ),
        (json!({ "rateLimit": { "qps": 0 } }), "/rateLimit/qps"),
        (
            json!({ "serviceAccount": { "annotations": { IRSA: 5 } } }),
            "/serviceAccount/annotations",
        ),
        (json!({ "replicaCount": 2 }), "replicaCount"),
        (
            json!({ "replicas": 2, "leaderElection": { "enabled": false } }),
            "/leaderElection/enabled",
        ),
    ];
    for (values, field) in cases {
        match helm.try_render(values.clone(), RELEASE, NAMESPACE)? {
            Ok(_) => bail!("{values} was accepted"),
            Err(refusal) => {
                assert_eq!(refusal.kind, "HelmValuesError", "{values}: {refusal}");
                assert!(
                    refusal.message.contains("schema") && refusal.message.contains(field),
                    "{values}: the message should name {field}: {refusal}"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn the_charts_crd_is_the_generated_one_byte_for_byte() -> Result<()> {
    let root = workspace_root();
    let generated = std::fs::read(root.join("crds").join(CRD_FILE))?;
    let chart_crds = root.join("charts/bedrock-operator/crds");
    let copy = std::fs::read(chart_crds.join(CRD_FILE))?;
    assert!(
        copy == generated,
        "charts/bedrock-operator/crds/{CRD_FILE} differs from crds/{CRD_FILE}: run `cargo xtask crd`"
    );
    let files: Vec<String> = std::fs::read_dir(&chart_crds)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    assert_eq!(
        files,
        [CRD_FILE],
        "only the generated CRD in the chart's crds/"
    );
    Ok(())
}

#[test]
fn the_documented_image_build_makes_the_default_image() -> Result<()> {
    let root = workspace_root();
    let app_version = chart_yaml()?["appVersion"]
        .as_str()
        .context("appVersion")?
        .to_string();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile"))?;
    assert!(
        dockerfile.contains("cargo build --profile production --locked -p bedrock-operator"),
        "{dockerfile}"
    );
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    assert!(
        manifest.contains("[profile.production]"),
        "the profile the image is built with"
    );
    assert!(dockerfile.contains("USER 65532:65532") || dockerfile.contains(":nonroot"));
    let docs = std::fs::read_to_string(root.join("docs/helm.md"))?;
    assert!(
        docs.contains(&format!("docker build -t bedrock-operator:{app_version} .")),
        "docs/helm.md builds the chart's default image"
    );
    Ok(())
}

// --- A release on a real API server ------------------------------------------------------

/// The longest any one wait takes.
const DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn install_run_upgrade_and_uninstall_on_a_real_api_server() -> Result<()> {
    let helm = Helm::new()?;
    // Its own control plane: Helm installs the CRD, and uninstall must leave it behind.
    let plane = ControlPlane::start().await?;
    let kubeconfig = plane.kubeconfig_path().to_path_buf();
    let namespace = plane.create_namespace("bedrock-system").await?;
    let client = plane.client();

    let installed = helm.install(
        &kubeconfig,
        RELEASE,
        &namespace,
        json!({ "aws": { "region": "us-east-1" } }),
    )?;
    assert_eq!(installed["status"], "deployed", "{installed}");
    assert_eq!(installed["revision"], 1);
    assert!(
        installed["notes"]
            .as_str()
            .unwrap_or_default()
            .contains("--for=condition=Ready"),
        "{installed}"
    );

    // What Helm created, read back from the server.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crds.get(CRD_NAME).await?;
    let established = crd
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .into_iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established, "the chart's CRD is served");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let deployment = deployments.get(RELEASE).await?;
    let args = deployment_args(&deployment);
    assert!(args.contains(&"--log-level=info".to_string()), "{args:?}");
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

    // No scheduler runs here, so no pod: run the binary as the pod would, with the installed
    // Deployment's args and env, under the installed ServiceAccount and RBAC.
    run_like_the_pod(&plane, &deployment, &namespace).await?;

    // A resource created while the operator is installed (nobody reconciles it here).
    let models = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bedrock-operator.dev", "v1alpha1", "BedrockCustomModel"),
        "bedrockcustommodels",
    );
    let models: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &models);
    let model: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModel",
        "metadata": { "name": "kept" },
        "spec": {
            "source": { "s3Uri": "s3://helm-test/model/" },
            "roleArn": "arn:aws:iam::123456789012:role/BedrockImport",
        },
    }))?;
    models.create(&PostParams::default(), &model).await?;

    // Upgrade with a changed value: the server's Deployment follows.
    let before = deployment.metadata.generation;
    let upgraded = helm.upgrade(
        &kubeconfig,
        RELEASE,
        &namespace,
        json!({ "aws": { "region": "us-east-1" }, "logLevel": "debug" }),
    )?;
    assert_eq!(upgraded["status"], "deployed", "{upgraded}");
    assert_eq!(upgraded["revision"], 2);
    let deployment = deployments.get(RELEASE).await?;
    let args = deployment_args(&deployment);
    assert!(args.contains(&"--log-level=debug".to_string()), "{args:?}");
    assert!(!args.contains(&"--log-level=info".to_string()), "{args:?}");
    assert!(deployment.metadata.generation > before);

    // Uninstall: the release's objects go, the CRD and the user's resources stay.
    helm.uninstall(&kubeconfig, RELEASE, &namespace)?;
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
    match helm.status(&kubeconfig, RELEASE, &namespace)? {
        Ok(status) => bail!("the release is still there: {status}"),
        Err(refusal) => assert_eq!(refusal.kind, "HelmNotFoundError", "{refusal}"),
    }
    assert!(
        crds.get_opt(CRD_NAME).await?.is_some(),
        "Helm keeps CRDs on uninstall"
    );
    assert!(
        models.get_opt("kept").await?.is_some(),
        "BedrockCustomModels survive an uninstall"
    );
    Ok(())
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

/// Starts the operator binary with the Deployment's container args and env (the downward API
/// resolved as the kubelet would; only the admin address moved to a free loopback port),
/// authenticated as the chart's ServiceAccount, and waits until it is ready and holds the
/// Lease.
async fn run_like_the_pod(
    plane: &ControlPlane,
    deployment: &Deployment,
    namespace: &str,
) -> Result<()> {
    let pod_name = format!("{RELEASE}-7d9f8c6b5-x2x4q");
    let spec = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .context("pod template")?;
    let container = spec.containers.first().context("a container")?;
    let account = spec
        .service_account_name
        .as_deref()
        .context("serviceAccountName")?;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.local_addr()?.port()
    };
    let args: Vec<String> = deployment_args(deployment)
        .into_iter()
        .map(|arg| {
            if arg.starts_with("--admin-address=") {
                format!("--admin-address=127.0.0.1:{port}")
            } else {
                arg
            }
        })
        .collect();
    let log = plane.dir().join("operator-as-pod.log");
    let file = std::fs::File::create(&log)?;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_bedrock-operator"));
    command
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "KUBECONFIG",
            plane.service_account_kubeconfig(namespace, account).await?,
        )
        .env("AWS_ACCESS_KEY_ID", "AKIDHELMTEST00000001")
        .env("AWS_SECRET_ACCESS_KEY", "helm-test-secret")
        .env("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true);
    for variable in container.env.iter().flatten() {
        let value = match (&variable.value, &variable.value_from) {
            (Some(value), _) => value.clone(),
            (None, Some(from)) => match from.field_ref.as_ref().map(|f| f.field_path.as_str()) {
                Some("metadata.name") => pod_name.clone(),
                Some("metadata.namespace") => namespace.to_string(),
                other => bail!("unexpected downward API field {other:?}"),
            },
            (None, None) => String::new(),
        };
        command.env(&variable.name, value);
    }
    let mut child = command.spawn().context("starting the operator")?;
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();

    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("the operator exited with {status}:\n{}", logs());
        }
        let last = match http_status(port, "/readyz").await {
            Ok(200) => break,
            other => format!("{other:?}"),
        };
        if start.elapsed() > DEADLINE {
            bail!("/readyz never answered 200 (last: {last}):\n{}", logs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(http_status(port, "/livez").await?, 200);

    let lease_name = args
        .iter()
        .find_map(|a| a.strip_prefix("--leader-election-lease-name="))
        .context("the chart enables leader election")?;
    let leases: Api<Lease> = Api::namespaced(plane.client(), namespace);
    loop {
        let holder = leases
            .get_opt(lease_name)
            .await?
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity);
        if holder.as_deref() == Some(pod_name.as_str()) {
            break;
        }
        if start.elapsed() > DEADLINE {
            bail!(
                "Lease {lease_name} held by {holder:?}, not {pod_name}:\n{}",
                logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = logs();
    assert!(
        !text.to_ascii_lowercase().contains("forbidden"),
        "the chart's RBAC let it do everything it tried:\n{text}"
    );
    child.kill().await?;
    Ok(())
}

/// The status code of a plain HTTP/1.0 GET on loopback.
async fn http_status(port: u16, path: &str) -> Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .context("an HTTP status line")
}
