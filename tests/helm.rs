//! The Helm chart (charts/bedrock-operator), driven through the real `helm` CLI (v4, see
//! charts/tests/driver.rs) as users run it: `helm lint`, what `helm template` renders with
//! default and non-default values and Kubernetes versions, what the values schema refuses, its
//! templated CRDs, what docs/helm.md tells users to run; then, with the chart pushed to a real
//! OCI registry on loopback (testkit::registry) and installed from `oci://`, a release's life
//! on the current control plane: `helm install --wait` (the operator really starts, as the
//! Deployment's Pod, and becomes ready), `helm upgrade`, `helm rollback`, `helm uninstall`; the
//! upgrade from the previous release's chart; and the documented clean-up.

#[path = "../charts/tests/driver.rs"]
mod driver;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bedrock_emulator::{Emulator, EmulatorConfig};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use testkit::ControlPlane;
use testkit::kubelet::{Kubelet, PodRun};
use testkit::registry::Registry;
use testkit::wait;

use driver::{ChartSource, Helm, Rendered, workspace_root};

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
        (
            "bedrock-operator.dev",
            "bedrockcustommodeldeployments",
            &["get", "list", "watch", "patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockcustommodeldeployments/status",
            &["patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockprovisionedthroughputs",
            &["get", "list", "watch", "patch"],
        ),
        (
            "bedrock-operator.dev",
            "bedrockprovisionedthroughputs/status",
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
    assert!(
        report.contains("1 chart(s) linted, 0 chart(s) failed"),
        "{report}"
    );
    let problems: Vec<&str> = report
        .lines()
        .filter(|line| line.starts_with("[WARNING]") || line.starts_with("[ERROR]"))
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
        if ![
            "ClusterRole",
            "ClusterRoleBinding",
            "CustomResourceDefinition",
        ]
        .contains(&object["kind"].as_str().unwrap_or(""))
        {
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
                // The operator's rules, and the read of kube-system for the cluster ID.
                ("ClusterRole", 2),
                ("ClusterRoleBinding", 2),
                // BedrockCustomModel, BedrockCustomModelDeployment, BedrockProvisionedThroughput.
                ("CustomResourceDefinition", 3),
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
            "--allow-adoption=all",
            "--commitment-namespaces=none",
            "--cross-namespace-references=none",
            "--allowed-role-arns=*",
            "--allowed-kms-key-arns=*",
            "--namespaced-names=false",
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
    let cluster_role = rendered.named("ClusterRole", RELEASE)?;
    assert_eq!(rules_of(cluster_role)?, operator_grants());
    let binding = rendered.named("ClusterRoleBinding", RELEASE)?;
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

    // The cluster ID: the UID of kube-system, and nothing else of namespaces.
    let cluster_id = rendered.named("ClusterRole", &format!("{RELEASE}-cluster-id"))?;
    assert_eq!(
        cluster_id["rules"],
        json!([{ "apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["kube-system"], "verbs": ["get"] }])
    );
    let cluster_id_binding =
        rendered.named("ClusterRoleBinding", &format!("{RELEASE}-cluster-id"))?;
    assert_eq!(
        cluster_id_binding["subjects"],
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
    let notes = Helm::new()?.notes(json!({}), RELEASE, NAMESPACE)?;
    assert!(notes.contains("kind: BedrockCustomModel"), "{notes}");
    assert!(
        notes.contains("kubectl wait --for=condition=Ready bedrockcustommodel/my-model"),
        "{notes}"
    );
    Ok(())
}

#[test]
fn non_default_values_render_namespaced_rbac_irsa_replicas_monitoring_and_pdb() -> Result<()> {
    let values = json!({
        "watchNamespaces": ["team-a", "team-b"],
        "serviceAccount": { "annotations": { IRSA: ROLE_ARN } },
        "replicas": 2,
        "aws": { "region": "eu-west-1" },
        "logLevel": "info,bedrock_operator=debug",
        "image": { "repository": "registry.example.com/ml/bedrock-operator", "tag": "0.1.0-rc1" },
        "metrics": { "serviceMonitor": { "enabled": true, "labels": { "release": "prometheus" } } },
        "podDisruptionBudget": { "enabled": true },
    });
    let rendered = render(values.clone())?;

    // No cluster-wide access to BedrockCustomModels or events: a Role in each namespace. The
    // one ClusterRole reads the kube-system namespace (its UID is the default cluster ID).
    let cluster_roles = rendered.all("ClusterRole");
    assert_eq!(cluster_roles.len(), 1, "{cluster_roles:?}");
    assert_eq!(
        cluster_roles[0]["rules"],
        json!([{ "apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["kube-system"], "verbs": ["get"] }])
    );
    assert_eq!(rendered.all("ClusterRoleBinding").len(), 1);
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
    let args = strings(&container(deployment)["args"]);
    assert!(
        args.contains(&"--allow-adoption=all".to_string()),
        "adoption stays as it was unless restricted: {args:?}"
    );
    let notes = Helm::new()?.notes(values, RELEASE, NAMESPACE)?;
    assert!(notes.contains("team-a, team-b"), "{notes}");
    assert!(notes.contains("--namespace team-a"), "{notes}");
    Ok(())
}

/// The arguments of the rendered operator container that start with `prefix`.
fn args_starting(rendered: &Rendered, prefix: &str) -> Result<Vec<String>> {
    Ok(strings(&container(rendered.one("Deployment")?)["args"])
        .into_iter()
        .filter(|a| a.starts_with(prefix))
        .collect())
}

#[test]
fn commitments_are_bought_nowhere_unless_the_admin_lists_namespaces() -> Result<()> {
    let default_rules = rules_of(render(json!({}))?.named("ClusterRole", RELEASE)?)?;
    for (value, flag) in [
        (json!("none"), "--commitment-namespaces=none"),
        (json!("all"), "--commitment-namespaces=all"),
        (
            json!(["ml-platform", "team-a"]),
            "--commitment-namespaces=ml-platform,team-a",
        ),
    ] {
        let rendered = render(json!({ "guards": { "commitmentNamespaces": value } }))?;
        assert_eq!(
            args_starting(&rendered, "--commitment-namespaces")?,
            [flag],
            "{value}"
        );
        assert_eq!(
            rules_of(rendered.named("ClusterRole", RELEASE)?)?,
            default_rules
        );
    }
    for (refused, why) in [
        (
            json!({ "guards": { "commitmentNamespaces": true } }),
            "a boolean",
        ),
        (
            json!({ "guards": { "commitmentNamespaces": [] } }),
            "an empty list",
        ),
        (
            json!({ "guards": { "commitmentNamespaces": ["Team_A"] } }),
            "not a namespace",
        ),
        (json!({ "allowCommitments": true }), "the removed value"),
    ] {
        assert!(render(refused).is_err(), "the values schema refuses {why}");
    }
    Ok(())
}

#[test]
fn model_unit_limits_become_flags_only_when_set() -> Result<()> {
    let default = render(json!({}))?;
    assert_eq!(
        args_starting(&default, "--max-model-units")?,
        Vec::<String>::new(),
        "no limit by default"
    );
    let rendered = render(json!({
        "guards": { "maxModelUnitsPerThroughput": 4, "maxModelUnitsPerNamespace": 10 }
    }))?;
    assert_eq!(
        args_starting(&rendered, "--max-model-units")?,
        [
            "--max-model-units-per-throughput=4",
            "--max-model-units-per-namespace=10"
        ]
    );
    for refused in [
        json!({ "guards": { "maxModelUnitsPerThroughput": 0 } }),
        json!({ "guards": { "maxModelUnitsPerNamespace": "10" } }),
        json!({ "guards": { "maxModelUnitsPerNamespace": 2.5 } }),
    ] {
        assert!(render(refused.clone()).is_err(), "{refused}");
    }
    Ok(())
}

#[test]
fn per_namespace_limits_become_a_guards_file_the_operator_reads() -> Result<()> {
    let default = render(json!({}))?;
    assert!(
        default.all("ConfigMap").is_empty(),
        "no file without overrides"
    );
    assert_eq!(
        args_starting(&default, "--guards-file")?,
        Vec::<String>::new()
    );

    let overrides = json!({
        "ml-platform": { "maxModelUnitsPerThroughput": 4, "maxModelUnitsPerNamespace": 16 },
        "team-a": { "maxModelUnitsPerNamespace": 2 },
    });
    let rendered = render(json!({ "guards": { "namespaces": overrides } }))?;
    let config = rendered.one("ConfigMap")?;
    let text = config["data"]["guards.yaml"]
        .as_str()
        .context("the ConfigMap's guards.yaml")?;
    // Read with the operator's own parser of the file.
    let guards = bedrock_operator::controller::guards::Guards::parse(text)?;
    let per_namespace = |ns: &str| {
        guards.namespaces.get(ns).map(|g| {
            (
                g.max_model_units_per_throughput,
                g.max_model_units_per_namespace,
            )
        })
    };
    assert_eq!(per_namespace("ml-platform"), Some((Some(4), Some(16))));
    assert_eq!(per_namespace("team-a"), Some((None, Some(2))));

    let deployment = rendered.one("Deployment")?;
    let pod = &deployment["spec"]["template"]["spec"];
    let operator = container(deployment);
    assert_eq!(
        args_starting(&rendered, "--guards-file")?,
        ["--guards-file=/etc/bedrock-operator/guards/guards.yaml"]
    );
    assert_eq!(
        operator["volumeMounts"],
        json!([{ "name": "guards", "mountPath": "/etc/bedrock-operator/guards", "readOnly": true }])
    );
    assert_eq!(
        pod["volumes"][0]["configMap"]["name"],
        config["metadata"]["name"]
    );
    let checksum = |values: Value| -> Result<Value> {
        Ok(render(values)?.one("Deployment")?["spec"]["template"]["metadata"]["annotations"]
            ["checksum/guards"]
            .clone())
    };
    let other = checksum(
        json!({ "guards": { "namespaces": { "team-a": { "maxModelUnitsPerNamespace": 3 } } } }),
    )?;
    assert!(other.is_string());
    assert_ne!(
        other,
        checksum(json!({ "guards": { "namespaces": overrides } }))?,
        "a change of the overrides rolls the pod"
    );
    for refused in [
        json!({ "guards": { "namespaces": { "team-a": { "maxModelUnits": 2 } } } }),
        json!({ "guards": { "namespaces": { "Team_A": { "maxModelUnitsPerNamespace": 2 } } } }),
        json!({ "guards": { "namespaces": { "team-a": { "maxModelUnitsPerNamespace": 0 } } } }),
    ] {
        assert!(render(refused.clone()).is_err(), "{refused}");
    }
    Ok(())
}

#[test]
fn adoption_can_be_allowed_to_no_namespace_or_a_list_without_more_rbac() -> Result<()> {
    let default_rules = rules_of(render(json!({}))?.named("ClusterRole", RELEASE)?)?;
    for (allow, flag) in [
        (json!("none"), "--allow-adoption=none"),
        (json!(["ml-platform"]), "--allow-adoption=ml-platform"),
        (
            json!(["ml-platform", "research"]),
            "--allow-adoption=ml-platform,research",
        ),
    ] {
        let rendered = render(json!({ "allowAdoption": allow }))?;
        let args = strings(&container(rendered.one("Deployment")?)["args"]);
        assert_eq!(
            args.iter()
                .filter(|a| a.starts_with("--allow-adoption"))
                .collect::<Vec<_>>(),
            [flag],
            "{allow}"
        );
        // The restriction is the operator's own check: no namespace access is added.
        assert_eq!(
            rules_of(rendered.named("ClusterRole", RELEASE)?)?,
            default_rules,
            "{allow}"
        );
    }
    Ok(())
}

#[test]
fn tenant_guards_default_to_open_roles_and_keys_and_closed_cross_namespace_references() -> Result<()>
{
    let rendered = render(json!({}))?;
    let args = strings(&container(rendered.one("Deployment")?)["args"]);
    for flag in [
        "--cross-namespace-references=none",
        "--allowed-role-arns=*",
        "--allowed-kms-key-arns=*",
        "--namespaced-names=false",
    ] {
        assert!(args.contains(&flag.to_string()), "{flag}: {args:?}");
    }
    assert!(
        !args.iter().any(|a| a.starts_with("--guards-file")),
        "no per-namespace guards, no file: {args:?}"
    );
    assert!(rendered.all("ConfigMap").is_empty());
    Ok(())
}

#[test]
fn tenant_guards_render_as_flags_and_per_namespace_lists_as_a_mounted_configmap() -> Result<()> {
    let default_rules = rules_of(render(json!({}))?.named("ClusterRole", RELEASE)?)?;
    let team_a_roles = ["arn:aws:iam::111122223333:role/team-a-*"];
    let values = json!({ "guards": {
        "crossNamespaceReferences": ["ml-platform", "research"],
        "allowedRoleArns": ["arn:aws:iam::111122223333:role/import-*", "arn:aws:iam::111122223333:role/shared"],
        "allowedKmsKeyArns": ["arn:aws:kms:*:111122223333:key/*"],
        "namespacedNames": true,
        "namespaces": { "team-a": { "allowedRoleArns": team_a_roles } },
    }});
    let rendered = render(values.clone())?;
    let deployment = rendered.one("Deployment")?;
    let args = strings(&container(deployment)["args"]);
    for flag in [
        "--cross-namespace-references=ml-platform,research",
        "--allowed-role-arns=arn:aws:iam::111122223333:role/import-*,arn:aws:iam::111122223333:role/shared",
        "--allowed-kms-key-arns=arn:aws:kms:*:111122223333:key/*",
        "--namespaced-names=true",
        "--guards-file=/etc/bedrock-operator/guards/guards.yaml",
    ] {
        assert!(args.contains(&flag.to_string()), "{flag}: {args:?}");
    }
    let config_map = rendered.one("ConfigMap")?;
    let file: Value = serde_yaml::from_str(
        config_map["data"]["guards.yaml"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("guards.yaml: {config_map}"))?,
    )?;
    assert_eq!(
        file,
        json!({ "namespaces": { "team-a": { "allowedRoleArns": team_a_roles } } })
    );
    // The operator reads the file as it starts: it parses, and a change restarts the Pod.
    let parsed = bedrock_operator::controller::guards::Guards::parse(
        config_map["data"]["guards.yaml"]
            .as_str()
            .unwrap_or_default(),
    )?;
    assert!(parsed.namespaces.contains_key("team-a"));
    let mount = &container(deployment)["volumeMounts"][0];
    assert_eq!(mount["mountPath"], "/etc/bedrock-operator/guards");
    assert_eq!(mount["readOnly"], true);
    let volume = &deployment["spec"]["template"]["spec"]["volumes"][0];
    assert_eq!(volume["configMap"]["name"], config_map["metadata"]["name"]);
    let checksum = |values: Value| -> Result<String> {
        let rendered = render(values)?;
        Ok(rendered.one("Deployment")?["spec"]["template"]["metadata"]["annotations"]
            ["checksum/guards"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    };
    let before = checksum(values.clone())?;
    let mut changed = values.clone();
    changed["guards"]["namespaces"]["team-a"]["allowedRoleArns"] =
        json!(["arn:aws:iam::111122223333:role/other"]);
    assert!(!before.is_empty());
    assert_ne!(
        before,
        checksum(changed)?,
        "a changed list restarts the Pod"
    );
    // The guards are the operator's own checks: no more RBAC (the file is a mount, not read
    // through the API server).
    assert_eq!(
        rules_of(rendered.named("ClusterRole", RELEASE)?)?,
        default_rules
    );
    Ok(())
}

#[test]
fn the_schema_refuses_bad_tenant_guards() -> Result<()> {
    let helm = Helm::new()?;
    let cases = [
        (
            json!({ "guards": { "crossNamespaceReferences": "some" } }),
            "/guards/crossNamespaceReferences",
        ),
        (
            json!({ "guards": { "allowedRoleArns": [] } }),
            "/guards/allowedRoleArns",
        ),
        (
            json!({ "guards": { "allowedRoleArns": "*" } }),
            "/guards/allowedRoleArns",
        ),
        (
            json!({ "guards": { "allowedKmsKeyArns": ["a,b"] } }),
            "/guards/allowedKmsKeyArns",
        ),
        (
            json!({ "guards": { "namespacedNames": "yes" } }),
            "/guards/namespacedNames",
        ),
        (
            json!({ "guards": { "namespaces": { "team-a": { "allowedRoles": ["*"] } } } }),
            "/guards/namespaces/team-a",
        ),
    ];
    for (values, field) in cases {
        match helm.try_render(values.clone(), RELEASE, NAMESPACE)? {
            Ok(_) => bail!("{values} was accepted"),
            Err(refusal) => assert!(
                refusal.message.contains(field),
                "{values}: the message should name {field}: {refusal}"
            ),
        }
    }
    Ok(())
}

#[test]
fn a_cluster_name_is_passed_on_and_drops_the_read_of_kube_system() -> Result<()> {
    let rendered = render(json!({ "clusterName": "prod eu:1" }))?;
    let args = strings(&container(rendered.one("Deployment")?)["args"]);
    assert_eq!(
        args.iter()
            .filter(|a| a.starts_with("--cluster-name"))
            .collect::<Vec<_>>(),
        ["--cluster-name=prod eu:1"]
    );
    assert!(
        rendered
            .named("ClusterRole", &format!("{RELEASE}-cluster-id"))
            .is_err(),
        "no namespace read when the name is given"
    );
    let default_args = strings(&container(render(json!({}))?.one("Deployment")?)["args"]);
    assert!(
        !default_args.iter().any(|a| a.starts_with("--cluster-name")),
        "{default_args:?}"
    );
    assert!(
        render(json!({ "clusterName": "prod#1" })).is_err(),
        "the values schema takes what a Bedrock tag value can hold"
    );
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
    assert_eq!(
        rules_of(rendered.named("ClusterRole", RELEASE)?)?,
        operator_grants()
    );

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
        (json!({ "allowAdoption": "some" }), "/allowAdoption"),
        (json!({ "allowAdoption": [] }), "/allowAdoption"),
        (json!({ "allowAdoption": ["Team_A"] }), "/allowAdoption"),
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
                assert!(
                    refusal
                        .message
                        .contains("values don't meet the specifications of the schema"),
                    "{values}: refused by the schema: {refusal}"
                );
                assert!(
                    refusal.message.contains(field),
                    "{values}: the message should name {field}: {refusal}"
                );
            }
        }
    }
    Ok(())
}

/// The chart's CRDs are templates (`helm upgrade` upgrades them; a chart's crds/ folder Helm
/// never upgrades): with default values Helm renders each generated CRD as it is, plus the
/// chart's labels and `helm.sh/resource-policy: keep`; `crds.keep=false` drops the annotation,
/// `crds.install=false` the CRDs.
#[test]
fn the_charts_crds_render_to_the_generated_ones() -> Result<()> {
    let root = workspace_root();
    assert!(
        !root.join("charts/bedrock-operator/crds").exists(),
        "no crds/ folder: Helm would install it once and never upgrade it"
    );
    let generated = bedrock_operator::api::crd::crds();
    let rendered = render(json!({}))?;
    let crds = rendered.all("CustomResourceDefinition");
    assert_eq!(crds.len(), generated.len(), "every CRD, once");
    for crd in &generated {
        let name = crd.metadata.name.clone().context("a CRD name")?;
        let from_helm = rendered.named("CustomResourceDefinition", &name)?;
        let mut expected = serde_json::to_value(crd)?;
        let mut got = from_helm.clone();
        assert_eq!(
            got["metadata"]["annotations"],
            json!({ "helm.sh/resource-policy": "keep" }),
            "{name}: uninstall keeps the CRD and every resource"
        );
        assert_eq!(
            got["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "Helm"
        );
        // Beyond the chart's metadata, exactly the generated object.
        for object in [&mut expected, &mut got] {
            let metadata = object["metadata"].as_object_mut().context("metadata")?;
            metadata.remove("labels");
            metadata.remove("annotations");
        }
        assert_eq!(got, expected, "{name}: run `cargo xtask crd`");
    }

    let unkept = render(json!({ "crds": { "keep": false } }))?;
    for crd in unkept.all("CustomResourceDefinition") {
        assert!(crd["metadata"].get("annotations").is_none(), "{crd}");
    }
    assert_eq!(
        unkept.all("CustomResourceDefinition").len(),
        generated.len()
    );
    let without = render(json!({ "crds": { "install": false } }))?;
    assert!(without.all("CustomResourceDefinition").is_empty());
    without.one("Deployment")?;
    for (values, field) in [
        (json!({ "crds": { "install": "yes" } }), "/crds/install"),
        (json!({ "crds": { "upgrade": true } }), "/crds"),
    ] {
        match Helm::new()?.try_render(values.clone(), RELEASE, NAMESPACE)? {
            Ok(_) => bail!("{values} was accepted"),
            Err(refusal) => assert!(refusal.message.contains(field), "{values}: {refusal}"),
        }
    }
    Ok(())
}

/// The Kubernetes releases the chart accepts: 1.34 (the oldest the operator supports, with the
/// CRD's CEL rules and server-side apply as Helm 4 uses them) and newer.
#[test]
fn the_chart_requires_kubernetes_1_34_or_newer() -> Result<()> {
    assert_eq!(chart_yaml()?["kubeVersion"], ">= 1.34.0-0");
    let helm = Helm::new()?;
    match helm.try_render_with(json!({}), RELEASE, NAMESPACE, &["--kube-version", "1.33.0"])? {
        Ok(_) => bail!("helm template --kube-version 1.33.0 rendered the chart"),
        Err(refusal) => assert!(
            refusal.message.contains(
                "chart requires kubeVersion: >= 1.34.0-0 which is incompatible with Kubernetes v1.33.0"
            ),
            "{refusal}"
        ),
    }
    // The range's ends, and the releases the test control planes run (both legs of
    // `cargo xtask test`).
    let mut versions = BTreeSet::from(["1.34.0".to_string(), "1.37.2".to_string()]);
    for module in [
        testkit::gotools::KUBERNETES_OLDEST,
        testkit::gotools::KUBERNETES_NEWEST,
    ] {
        let pinned = module.kubernetes_version().context("a pinned release")?;
        versions.insert(pinned.trim_start_matches('v').to_string());
    }
    for version in versions {
        let rendered = helm
            .try_render_with(json!({}), RELEASE, NAMESPACE, &["--kube-version", &version])?
            .map_err(|refusal| anyhow::anyhow!("Kubernetes {version}: {refusal}"))?;
        rendered.one("Deployment")?;
    }
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
    // The Dockerfile runs the recipe the release publishes with (`cargo xtask image`, the
    // production profile) and copies its root filesystem onto nothing.
    assert!(
        dockerfile.contains("cargo xtask image --rootfs"),
        "{dockerfile}"
    );
    let image_recipe = std::fs::read_to_string(root.join("xtask/src/image.rs"))?;
    assert!(
        image_recipe.contains(r#"pub const PROFILE: &str = "production";"#),
        "the image's profile"
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

/// The fenced blocks of `language` in a Markdown text, in order.
fn fenced_blocks(markdown: &str, language: &str) -> Vec<String> {
    let opening = format!("```{language}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed == opening => current = Some(String::new()),
            Some(block) if trimmed == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(trimmed);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// docs/helm.md opens with the one-line install from the registry at the chart's version, and
/// its trust policies are valid JSON that name the ServiceAccount that install creates (the
/// chart's default, rendered by Helm) in its namespace: a copied policy works as it is once
/// the account, region and cluster are the reader's.
#[test]
fn the_docs_install_line_and_trust_policies_match_the_chart() -> Result<()> {
    let docs = std::fs::read_to_string(workspace_root().join("docs/helm.md"))?;
    let version = chart_yaml()?["version"]
        .as_str()
        .context("version")?
        .to_string();
    let first = fenced_blocks(&docs, "sh")
        .into_iter()
        .next()
        .context("a first sh block")?;
    let expected = format!(
        "helm install {RELEASE} oci://ghcr.io/<org>/charts/bedrock-operator --version {version} -n bedrock-operator --create-namespace"
    );
    assert_eq!(
        first.trim(),
        expected,
        "docs/helm.md opens with the install"
    );
    assert!(
        docs[..docs.find(&expected).unwrap_or(0)].lines().count() <= 3,
        "the install line comes first"
    );
    let namespace = "bedrock-operator";
    let rendered = Helm::new()?.render(json!({}), RELEASE, namespace)?;
    let account = rendered.one("ServiceAccount")?["metadata"]["name"]
        .as_str()
        .context("the ServiceAccount's name")?
        .to_string();

    let policies: Vec<Value> = fenced_blocks(&docs, "json")
        .iter()
        .map(|block| serde_json::from_str(block).with_context(|| block.to_string()))
        .collect::<Result<_>>()?;
    let statement = |principal: &str| -> Result<&Value> {
        policies
            .iter()
            .flat_map(|p| p["Statement"].as_array().into_iter().flatten())
            .find(|s| {
                s["Principal"]["Service"] == principal
                    || s["Principal"]["Federated"]
                        .as_str()
                        .is_some_and(|f| f.contains(principal))
            })
            .with_context(|| format!("a trust policy for {principal}"))
    };
    for policy in &policies {
        assert_eq!(policy["Version"], "2012-10-17", "{policy}");
    }

    let irsa = statement(":oidc-provider/")?;
    assert_eq!(irsa["Action"], "sts:AssumeRoleWithWebIdentity");
    let conditions = irsa["Condition"]["StringEquals"]
        .as_object()
        .context("IRSA's StringEquals")?;
    let sub = conditions
        .iter()
        .find(|(key, _)| key.ends_with(":sub"))
        .context("a :sub condition")?
        .1;
    assert_eq!(
        sub,
        &json!(format!("system:serviceaccount:{namespace}:{account}"))
    );
    assert!(
        conditions
            .iter()
            .any(|(key, value)| key.ends_with(":aud") && value == "sts.amazonaws.com")
    );

    let pod_identity = statement("pods.eks.amazonaws.com")?;
    assert_eq!(
        pod_identity["Action"],
        json!(["sts:AssumeRole", "sts:TagSession"])
    );
    let tags = &pod_identity["Condition"]["StringEquals"];
    assert_eq!(tags["aws:RequestTag/kubernetes-namespace"], namespace);
    assert_eq!(tags["aws:RequestTag/kubernetes-service-account"], account);

    let bedrock = statement("bedrock.amazonaws.com")?;
    assert_eq!(bedrock["Action"], "sts:AssumeRole");
    let account_id = bedrock["Condition"]["StringEquals"]["aws:SourceAccount"]
        .as_str()
        .context("aws:SourceAccount")?;
    let source_arn = bedrock["Condition"]
        .as_object()
        .into_iter()
        .flat_map(|c| c.values())
        .find_map(|operator| operator["aws:SourceArn"].as_str())
        .context("aws:SourceArn")?;
    assert!(
        source_arn.starts_with("arn:aws:bedrock:") && source_arn.contains(account_id),
        "{source_arn}"
    );
    Ok(())
}

/// docs/helm.md's clean-up deletes every resource kind and all three CRDs, and NOTES.txt says
/// uninstall keeps them (or, with crds.keep=false, that it deletes them).
#[test]
fn the_docs_clean_up_names_every_kind_and_crd() -> Result<()> {
    let docs = std::fs::read_to_string(workspace_root().join("docs/helm.md"))?;
    let uninstall = docs
        .split_once("\n## Uninstall\n")
        .context("an Uninstall section")?
        .1;
    let uninstall = uninstall.split("\n## ").next().unwrap_or_default();
    let commands = fenced_blocks(uninstall, "sh").join("\n");
    let delete_crd = commands
        .lines()
        .find(|line| line.starts_with("kubectl delete crd "))
        .context("a kubectl delete crd line")?;
    let deleted: BTreeSet<&str> = delete_crd.split_whitespace().skip(3).collect();
    let names = crd_names();
    assert_eq!(
        deleted,
        names.iter().map(String::as_str).collect(),
        "{delete_crd}"
    );
    for crd in bedrock_operator::api::crd::crds() {
        let plural = crd.spec.names.plural;
        assert!(
            commands.contains(&plural),
            "the clean-up deletes the {plural}: {commands}"
        );
    }
    let notes = Helm::new()?.notes(json!({}), RELEASE, NAMESPACE)?;
    assert!(
        notes.contains("helm uninstall keeps the three CRDs"),
        "{notes}"
    );
    for kind in [
        "BedrockCustomModels",
        "BedrockCustomModelDeployments",
        "BedrockProvisionedThroughputs",
    ] {
        assert!(notes.contains(kind), "NOTES.txt names {kind}: {notes}");
    }
    let unkept = Helm::new()?.notes(json!({ "crds": { "keep": false } }), RELEASE, NAMESPACE)?;
    assert!(unkept.contains("helm uninstall DELETES"), "{unkept}");
    Ok(())
}

// --- A release on a real control plane ---------------------------------------------------

/// The longest any one wait takes (besides helm's own `--wait`).
const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);
/// The stand-in kubelet's Node.
const NODE: &str = "helm-test-node";
const RUN_MARKER: &str = "BEDROCK_OPERATOR_TEST_RUN";

/// What the stand-in kubelet started for a Pod: the container's args as the Pod has them, and
/// the loopback port its admin address moved to.
#[derive(Debug, Clone)]
struct Launched {
    args: Vec<String>,
    admin_port: u16,
}

/// Per Pod name.
type LaunchLog = Arc<Mutex<BTreeMap<String, Launched>>>;

/// One release through its whole life, with the operator running as the Deployment's Pod: the
/// stand-in kubelet (testkit::kubelet) binds each Pod the Deployment makes and runs the operator
/// binary with exactly the Pod's args and env, under a token of the chart's ServiceAccount, and
/// reports the Pod Ready only once that process answers the Pod's readiness probe, so each
/// `--wait` passing means the operator of that revision really became ready.
#[tokio::test]
async fn install_upgrade_rollback_and_uninstall_run_the_operator() -> Result<()> {
    // The chart as users get it: packaged and pushed to an OCI registry (by the code path of
    // `cargo xtask chart --push`), installed and upgraded from `oci://`.
    let registry = Registry::start().await?;
    let (helm, pushed) = publish_checkout_chart(&registry).await?;
    // Its own control plane: Helm installs the CRDs, and uninstall must leave them behind.
    let plane = ControlPlane::start().await?;
    let kubeconfig = plane.kubeconfig_path().to_path_buf();
    let namespace = plane.create_namespace("bedrock-system").await?;
    let client = plane.client();
    let launched = LaunchLog::default();
    let kubelet = Kubelet::start(&plane, NODE, &namespace, launcher(launched.clone())).await?;
    let cluster = Cluster {
        pods: Api::namespaced(client.clone(), &namespace),
        deployments: Api::namespaced(client.clone(), &namespace),
        leases: Api::namespaced(client.clone(), &namespace),
        kubelet: &kubelet,
        launched: launched.clone(),
    };

    // --- helm install --wait ---
    let values = json!({ "aws": { "region": "us-east-1" } });
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
        registry.log_contains(&manifest),
        "helm install pulled {manifest} from the registry:\n{}",
        registry.log_tail()
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
    let models = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bedrock-operator.dev", "v1alpha1", "BedrockCustomModel"),
        "bedrockcustommodels",
    );
    let models: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &models);
    let no_role = model(
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
    let deployment = cluster.deployments.get(RELEASE).await?;
    let first_args = deployment_args(&deployment);
    let image = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone());
    assert_eq!(
        image,
        Some(format!(
            "{}:{}",
            published_image(&registry),
            chart_yaml()?["appVersion"].as_str().context("appVersion")?
        )),
        "the published chart deploys the published image by default"
    );
    assert!(
        first_args.contains(&"--log-level=info".to_string()),
        "{first_args:?}"
    );
    // Helm 4's --wait (kstatus) returns once the replicas are available; the deployment
    // controller may write the Available condition in a later status update of its own.
    let available = |deployment: &k8s_openapi::api::apps::v1::Deployment| {
        deployment
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default()
            .into_iter()
            .any(|c| c.type_ == "Available" && c.status == "True")
    };
    if !available(&deployment) {
        testkit::wait::until(
            "the Deployment's Available condition after helm install --wait",
            Duration::from_secs(10),
            POLL,
            async || Ok(available(&cluster.deployments.get(RELEASE).await?).then_some(())),
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

    // The operator runs as the Deployment's one Pod, with its args, and leads.
    let lease_name = first_args
        .iter()
        .find_map(|a| a.strip_prefix("--leader-election-lease-name="))
        .context("the chart enables leader election")?
        .to_string();
    let first_pod = cluster.serving_pod(&first_args).await?;
    let admin_port = cluster.launched(&first_pod)?.admin_port;
    assert_eq!(http_status(admin_port, "/readyz").await?, 200);
    assert_eq!(http_status(admin_port, "/livez").await?, 200);
    cluster.wait_for_leader(&lease_name, &first_pod).await?;

    // A resource created while the operator is installed (its Bedrock is unreachable here).
    let kept = model(
        "kept",
        json!({
            "source": { "s3Uri": "s3://helm-test/model/" },
            "roleArn": "arn:aws:iam::123456789012:role/BedrockImport",
        }),
    )?;
    models.create(&PostParams::default(), &kept).await?;

    // --- helm upgrade --wait with a changed value: a new Pod runs the new args ---
    let before = deployment.metadata.generation;
    let started = Instant::now();
    let upgraded = cluster
        .explain(
            helm.upgrade(
                &kubeconfig,
                RELEASE,
                &namespace,
                json!({ "aws": { "region": "us-east-1" }, "logLevel": "debug" }),
            )
            .await,
        )
        .await?;
    eprintln!(
        "helm upgrade --wait: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(upgraded["info"]["status"], "deployed", "{upgraded}");
    assert_eq!(upgraded["version"], 2);
    let deployment = cluster.deployments.get(RELEASE).await?;
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
    let second_pod = cluster.serving_pod(&second_args).await?;
    assert_ne!(second_pod, first_pod, "a rolling update replaced the Pod");
    assert!(
        !kubelet.running_pods().contains(&first_pod),
        "the old Pod's operator was stopped"
    );
    cluster.wait_for_leader(&lease_name, &second_pod).await?;

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
    let deployment = cluster.deployments.get(RELEASE).await?;
    assert_eq!(
        deployment_args(&deployment),
        first_args,
        "the first revision's args"
    );
    let third_pod = cluster.serving_pod(&first_args).await?;
    assert_ne!(third_pod, second_pod);
    cluster.wait_for_leader(&lease_name, &third_pod).await?;

    // Every operator that ran had all the rights it tried to use (the first two also released
    // the Lease when their rolling update stopped them).
    let ran: Vec<String> = launched
        .lock()
        .map_err(|_| anyhow::anyhow!("launch log poisoned"))?
        .keys()
        .cloned()
        .collect();
    assert_eq!(ran.len(), 3, "one Pod per revision: {ran:?}");
    for pod in &ran {
        let refused = refusals(&kubelet.logs(pod));
        assert!(
            refused.is_empty(),
            "the chart's RBAC let {pod} do everything it tried: {refused:#?}"
        );
    }
    for pod in [&first_pod, &second_pod] {
        assert!(
            kubelet.logs(pod).contains("leader lease released"),
            "{pod} handed the Lease over on SIGTERM:\n{}",
            kubelet.logs(pod)
        );
    }

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
        cluster.deployments.get_opt(RELEASE).await?.is_none(),
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
    cluster.wait_for_no_pods().await?;
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
    let refused: Vec<String> = refusals(&kubelet.logs(&third_pod))
        .into_iter()
        .filter(|line| !line.contains("could not release the leader lease"))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
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
/// nor on uninstall.
#[tokio::test]
async fn upgrade_from_the_previous_release_upgrades_the_crds_and_keeps_every_resource() -> Result<()>
{
    let registry = Registry::start().await?;
    let (helm, pushed) = publish_checkout_chart(&registry).await?;
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
        &registry,
        "previous",
        None,
    )?;
    let previous_helm = helm.with_source(ChartSource::Oci(previous));

    let plane = ControlPlane::start().await?;
    let kubeconfig = plane.kubeconfig_path().to_path_buf();
    let namespace = plane.create_namespace("bedrock-upgrade").await?;
    let client = plane.client();
    let launched = LaunchLog::default();
    let kubelet = Kubelet::start(&plane, NODE, &namespace, launcher(launched.clone())).await?;
    let cluster = Cluster {
        pods: Api::namespaced(client.clone(), &namespace),
        deployments: Api::namespaced(client.clone(), &namespace),
        leases: Api::namespaced(client.clone(), &namespace),
        kubelet: &kubelet,
        launched: launched.clone(),
    };
    let values = json!({ "aws": { "region": "us-east-1" } });

    // --- the previous release: Helm installs its CRDs from crds/, outside the release ---
    let installed = cluster
        .explain(
            previous_helm
                .install(&kubeconfig, RELEASE, &namespace, values.clone())
                .await,
        )
        .await?;
    assert_eq!(installed["info"]["status"], "deployed", "{installed}");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut generations = BTreeMap::new();
    for name in crd_names() {
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

    // One resource of each kind, created under the previous release.
    let mut kept = BTreeMap::new();
    for (kind, plural, name, spec) in one_of_each_kind("kept-") {
        let api = custom_resources(&client, &namespace, kind, plural);
        let created = api
            .create(&PostParams::default(), &resource(kind, &name, spec)?)
            .await
            .with_context(|| format!("creating {kind} {name}"))?;
        kept.insert((kind, plural, name), created.metadata.uid.context("a UID")?);
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
        Ok(())
    };

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
            format!("{error:#}").contains(bedrock_operator::api::crd::CRDS_UNSET),
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
    for crd in bedrock_operator::api::crd::crds() {
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
    still_there("after the upgrade from the previous release").await?;

    // --- a later release that changes a CRD: plain helm upgrade applies the change ---
    let next_dir = scratch.path().join("next/bedrock-operator");
    testkit::chart::copy_dir(helm.chart_dir(), &next_dir)?;
    let model_crd = "bedrockcustommodels.bedrock-operator.dev";
    let template = next_dir.join(format!("templates/crds/{model_crd}.yaml"));
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
        &registry,
        "charts",
        Some(&published_image(&registry)),
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
    let served = crds.get(model_crd).await?;
    assert!(
        printer_columns(&served).contains(&"Region".to_string()),
        "the upgrade applied the CRD change: {:?}",
        printer_columns(&served)
    );
    assert!(
        served.metadata.generation.unwrap_or_default() > generations[model_crd],
        "the CRD's spec changed on the server"
    );
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
    cluster
        .explain(helm.uninstall(&kubeconfig, RELEASE, &namespace).await)
        .await?;
    cluster.wait_for_no_pods().await?;
    for name in crd_names() {
        assert!(crds.get_opt(&name).await?.is_some(), "{name} is kept");
    }
    still_there("after helm uninstall").await?;
    Ok(())
}

const EMULATOR_REGION: &str = "us-east-1";

/// The clean-up of docs/helm.md ("To remove everything"), its commands run as written (the
/// namespace of the release being the test's): with the operator running against a Bedrock
/// emulator, `kubectl delete` of every kind deletes the resources and their Bedrock objects;
/// `helm uninstall` keeps the CRDs (`crds.keep`); `kubectl delete crd` removes all three.
#[tokio::test]
async fn the_documented_clean_up_leaves_nothing_behind() -> Result<()> {
    let docs = std::fs::read_to_string(workspace_root().join("docs/helm.md"))?;
    let uninstall = docs
        .split_once("\n## Uninstall\n")
        .context("an Uninstall section")?
        .1;
    let uninstall = uninstall.split("\n## ").next().unwrap_or_default();
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

    let emulator = Emulator::start(EmulatorConfig {
        region: EMULATOR_REGION.to_string(),
        ready_delay: Duration::from_millis(300),
        deployment_ready_delay: Duration::from_millis(300),
        provisioned_create_delay: Duration::from_millis(300),
        ..EmulatorConfig::default()
    })
    .await?;
    let registry = Registry::start().await?;
    let (helm, _) = publish_checkout_chart(&registry).await?;
    let plane = ControlPlane::start().await?;
    let kubeconfig = plane.kubeconfig_path().to_path_buf();
    let namespace = plane.create_namespace("bedrock-clean-up").await?;
    let client = plane.client();
    let launched = LaunchLog::default();
    let kubelet = Kubelet::start(
        &plane,
        NODE,
        &namespace,
        launcher_to(launched.clone(), emulator.url()),
    )
    .await?;
    let cluster = Cluster {
        pods: Api::namespaced(client.clone(), &namespace),
        deployments: Api::namespaced(client.clone(), &namespace),
        leases: Api::namespaced(client.clone(), &namespace),
        kubelet: &kubelet,
        launched: launched.clone(),
    };
    cluster
        .explain(
            helm.install(
                &kubeconfig,
                RELEASE,
                &namespace,
                json!({ "aws": { "region": EMULATOR_REGION } }),
            )
            .await,
        )
        .await?;

    // A model, a deployment and a throughput of it, all Ready: objects in Bedrock.
    let resources = one_of_each_kind("");
    for (kind, plural, name, spec) in &resources {
        custom_resources(&client, &namespace, kind, plural)
            .create(&PostParams::default(), &resource(kind, name, spec.clone())?)
            .await
            .with_context(|| format!("creating {kind} {name}"))?;
    }
    for (kind, plural, name, _) in &resources {
        let api = custom_resources(&client, &namespace, kind, plural);
        let ready = wait::until(
            format!("{kind} {name} to become Ready"),
            DEADLINE,
            POLL,
            async || {
                let object = api.get(name).await?;
                let ready = object.data["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                Ok(ready.then_some(()))
            },
        )
        .await;
        cluster.explain(ready).await?;
    }
    let bedrock_objects = |emulator: &bedrock_emulator::EmulatorHandle| {
        let state = emulator.state();
        state.models().len() + state.deployments().len() + state.provisioned_throughputs().len()
    };
    assert_eq!(bedrock_objects(&emulator), 3);

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
        async || Ok((bedrock_objects(&emulator) == 0).then_some(())),
    )
    .await;
    cluster.explain(gone).await?;

    // 2. Uninstall the release: the CRDs stay.
    cluster
        .explain(helm.uninstall(&kubeconfig, RELEASE, &namespace).await)
        .await?;
    cluster.wait_for_no_pods().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
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
    Ok(())
}

/// The namespaced API of one of the operator's kinds.
fn custom_resources(
    client: &kube::Client,
    namespace: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bedrock-operator.dev", "v1alpha1", kind),
        plural,
    );
    Api::namespaced_with(client.clone(), namespace, &resource)
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

/// The lines of an operator log that tell of a refusal by the API server.
fn refusals(logs: &str) -> Vec<String> {
    logs.lines()
        .filter(|line| line.to_ascii_lowercase().contains("forbidden"))
        .map(str::to_string)
        .collect()
}

/// The operator binary in place of the chart's container: the Pod's args (the admin address
/// moved to the loopback port the kubelet chose), its resolved env, its ServiceAccount's token,
/// and AWS settings that reach no Bedrock.
fn launcher(
    launched: LaunchLog,
) -> impl Fn(&PodRun<'_>) -> Result<std::process::Command> + Send + Sync + 'static {
    launcher_to(launched, "http://127.0.0.1:9".to_string())
}

/// [`launcher`] with the operator's Bedrock at `bedrock_endpoint` (an emulator).
fn launcher_to(
    launched: LaunchLog,
    bedrock_endpoint: String,
) -> impl Fn(&PodRun<'_>) -> Result<std::process::Command> + Send + Sync + 'static {
    move |run| {
        let container = run.container;
        ensure!(
            container.command.is_none(),
            "the chart keeps the image's entrypoint (bedrock-operator)"
        );
        let args = container.args.clone().unwrap_or_default();
        let admin = container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some("admin"))
            .context("the container's admin port")?;
        let admin_port = *run
            .ports
            .get(&admin.container_port)
            .context("the admin port's loopback port")?;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bedrock-operator"));
        for arg in &args {
            match arg.strip_prefix("--admin-address=") {
                Some(address) => {
                    ensure!(
                        address == format!("0.0.0.0:{}", admin.container_port),
                        "the admin address is the admin port: {arg}"
                    );
                    command.arg(format!("--admin-address=127.0.0.1:{admin_port}"));
                }
                None => {
                    command.arg(arg);
                }
            }
        }
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(run.env.iter().map(|(name, value)| (name, value)))
            .env("KUBECONFIG", &run.kubeconfig)
            .env("AWS_ACCESS_KEY_ID", "AKIDHELMTEST00000001")
            .env("AWS_SECRET_ACCESS_KEY", "helm-test-secret")
            .env("AWS_ENDPOINT_URL_BEDROCK", &bedrock_endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if let Some(marker) = std::env::var_os(RUN_MARKER) {
            command.env(RUN_MARKER, marker);
        }
        let pod = run.pod.metadata.name.clone().context("the pod's name")?;
        launched
            .lock()
            .map_err(|_| anyhow::anyhow!("launch log poisoned"))?
            .insert(pod, Launched { args, admin_port });
        Ok(command)
    }
}

/// The release namespace as the test watches it.
struct Cluster<'a> {
    pods: Api<Pod>,
    deployments: Api<Deployment>,
    leases: Api<Lease>,
    kubelet: &'a Kubelet,
    launched: LaunchLog,
}

impl Cluster<'_> {
    fn launched(&self, pod: &str) -> Result<Launched> {
        self.launched
            .lock()
            .map_err(|_| anyhow::anyhow!("launch log poisoned"))?
            .get(pod)
            .cloned()
            .with_context(|| format!("the kubelet never started {pod}"))
    }

    /// Waits until the namespace has exactly one Pod, not terminating, Ready, and started with
    /// `args`; returns its name.
    async fn serving_pod(&self, args: &[String]) -> Result<String> {
        let serving = wait::until(
            format!("a single Ready Pod running {args:?}"),
            DEADLINE,
            POLL,
            async || {
                let pods = self.pods.list(&ListParams::default()).await?.items;
                if let [pod] = pods.as_slice()
                    && pod.metadata.deletion_timestamp.is_none()
                    && is_ready(pod)
                    && let Some(name) = pod.metadata.name.clone()
                    && self.launched(&name).is_ok_and(|l| l.args == args)
                {
                    return Ok(Some(name));
                }
                Ok(None)
            },
        )
        .await;
        self.explain(serving).await
    }

    async fn wait_for_no_pods(&self) -> Result<()> {
        let mut running = Vec::new();
        let gone = wait::until(
            "the release's Pods and their processes to be gone",
            DEADLINE,
            POLL,
            async || {
                let pods = self.pods.list(&ListParams::default()).await?.items;
                running = self.kubelet.running_pods();
                Ok((pods.is_empty() && running.is_empty()).then_some(()))
            },
        )
        .await;
        let gone = gone.with_context(|| format!("still running: {running:?}"));
        self.explain(gone).await
    }

    async fn wait_for_leader(&self, lease: &str, pod: &str) -> Result<()> {
        let mut holder = None;
        let leads = wait::until(
            format!("{pod} to hold Lease {lease}"),
            DEADLINE,
            POLL,
            async || {
                holder = self
                    .leases
                    .get_opt(lease)
                    .await?
                    .and_then(|l| l.spec)
                    .and_then(|s| s.holder_identity);
                Ok((holder.as_deref() == Some(pod)).then_some(()))
            },
        )
        .await;
        let leads = leads.with_context(|| format!("held by {holder:?}"));
        self.explain(leads).await
    }

    /// A failed step, with what the Deployment and its Pods looked like.
    async fn explain<T>(&self, result: Result<T>) -> Result<T> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => Err(error.context(self.diagnose().await)),
        }
    }

    /// The Deployment's status, each Pod's state and the end of its operator's log.
    async fn diagnose(&self) -> String {
        let mut report = String::new();
        if let Ok(Some(deployment)) = self.deployments.get_opt(RELEASE).await {
            report.push_str(&format!(
                "Deployment status: {}\n",
                serde_json::to_string(&deployment.status).unwrap_or_default()
            ));
        }
        for pod in self
            .pods
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default()
        {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let logs = self.kubelet.logs(&name);
            let tail: Vec<&str> = logs.lines().rev().take(15).collect();
            report.push_str(&format!(
                "Pod {name} (deleting: {}): {}\n  {}\n",
                pod.metadata.deletion_timestamp.is_some(),
                serde_json::to_string(&pod.status).unwrap_or_default(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n  ")
            ));
        }
        report
    }
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn model(name: &str, spec: Value) -> Result<DynamicObject> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModel",
        "metadata": { "name": name },
        "spec": spec,
    }))?)
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

/// The status code of a plain HTTP/1.0 GET on loopback.
async fn http_status(port: u16, path: &str) -> Result<u16> {
    Ok(testkit::http::get(&format!("127.0.0.1:{port}"), path)
        .await?
        .0)
}

/// The names of the operator's CRDs.
fn crd_names() -> Vec<String> {
    bedrock_operator::api::crd::crds()
        .into_iter()
        .filter_map(|crd| crd.metadata.name)
        .collect()
}

/// The image a release of the tests' registry would publish: `127.0.0.1:PORT/bedrock-operator`
/// (`cargo xtask chart --image-repository`; the stand-in kubelet never pulls it).
fn published_image(registry: &Registry) -> String {
    format!("{}/bedrock-operator", registry.host())
}

/// The checkout's chart packaged and pushed to `registry` under `charts/` (as a release pushes
/// it to `oci://ghcr.io/<org>/charts`): a helm that installs it from there, and what was pushed.
async fn publish_checkout_chart(registry: &Registry) -> Result<(Helm, testkit::chart::Pushed)> {
    let helm = Helm::new()?;
    let out = tempfile::tempdir()?;
    let pushed = helm.publish(
        helm.chart_dir(),
        out.path(),
        registry,
        "charts",
        Some(&published_image(registry)),
    )?;
    assert!(pushed.digest.starts_with("sha256:"), "{pushed:?}");
    assert_eq!(
        pushed.chart_ref,
        format!("oci://{}/charts/bedrock-operator", registry.host())
    );
    assert_eq!(
        registry.tags("charts/bedrock-operator").await?,
        std::slice::from_ref(&pushed.version),
        "the registry holds the chart at the version of Chart.yaml"
    );
    Ok((helm.with_source(ChartSource::Oci(pushed.clone())), pushed))
}

/// A model (`{prefix}model`), a deployment (`{prefix}deployment`) and a throughput
/// (`{prefix}throughput`) of it: (kind, plural, name, spec).
fn one_of_each_kind(prefix: &str) -> [(&'static str, &'static str, String, Value); 3] {
    let model = format!("{prefix}model");
    [
        (
            "BedrockCustomModel",
            "bedrockcustommodels",
            model.clone(),
            json!({
                "source": { "s3Uri": "s3://helm-test/model/" },
                "roleArn": "arn:aws:iam::123456789012:role/bedrock-operator/BedrockImport",
            }),
        ),
        (
            "BedrockCustomModelDeployment",
            "bedrockcustommodeldeployments",
            format!("{prefix}deployment"),
            json!({ "modelRef": { "name": model } }),
        ),
        (
            "BedrockProvisionedThroughput",
            "bedrockprovisionedthroughputs",
            format!("{prefix}throughput"),
            json!({ "modelRef": { "name": model }, "modelUnits": 1 }),
        ),
    ]
}
