//! The Helm chart (charts/bedrock-operator), driven through the real `helm` CLI (v4, see
//! charts/tests/driver.rs) as users run it: `helm lint`, what `helm template` renders with
//! default and non-default values and Kubernetes versions, what the values schema refuses, its
//! templated CRDs, what docs/helm.md tells users to run. A release's life on a cluster (install,
//! upgrade, rollback, uninstall, the upgrade from the previous release and the documented
//! clean-up, the operator running on a real node) is tests/upgrade.rs.

#[path = "support/chart.rs"]
mod chart;
#[path = "../charts/tests/driver.rs"]
mod driver;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use chart::{crd_names, fenced_blocks, lease_grants, operator_grants, rules_of};
use driver::{Helm, Rendered, workspace_root};

const RELEASE: &str = "bedrock-operator";
const NAMESPACE: &str = "operators";
const IRSA: &str = "eks.amazonaws.com/role-arn";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/bedrock-operator";

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
                // BedrockCustomModel, BedrockCustomModelDeployment, BedrockProvisionedThroughput,
                // BedrockImportedModel.
                ("CustomResourceDefinition", 4),
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
    let generated = bedrock_operator::crd::crds();
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

/// docs/helm.md's clean-up deletes every resource kind and all four CRDs, and NOTES.txt says
/// uninstall keeps them (or, with crds.keep=false, that it deletes them).
#[test]
fn the_docs_clean_up_names_every_kind_and_crd() -> Result<()> {
    let uninstall = chart::uninstall_section(&workspace_root())?;
    let uninstall = uninstall.as_str();
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
    for crd in bedrock_operator::crd::crds() {
        let plural = crd.spec.names.plural;
        assert!(
            commands.contains(&plural),
            "the clean-up deletes the {plural}: {commands}"
        );
    }
    let notes = Helm::new()?.notes(json!({}), RELEASE, NAMESPACE)?;
    assert!(
        notes.contains("helm uninstall keeps the four CRDs"),
        "{notes}"
    );
    for kind in [
        "BedrockCustomModels",
        "BedrockCustomModelDeployments",
        "BedrockProvisionedThroughputs",
        "BedrockImportedModels",
    ] {
        assert!(notes.contains(kind), "NOTES.txt names {kind}: {notes}");
    }
    let unkept = Helm::new()?.notes(json!({ "crds": { "keep": false } }), RELEASE, NAMESPACE)?;
    assert!(unkept.contains("helm uninstall DELETES"), "{unkept}");
    Ok(())
}
