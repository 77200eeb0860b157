//! The chart's RBAC, proven: its ServiceAccount, (Cluster)Roles and bindings, rendered by real
//! Helm and applied as they are, are all the operator needs for a full lifecycle, and that
//! identity can do nothing else (no Secrets, no Pods).

#[path = "../../charts/tests/driver.rs"]
mod driver;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bedrock_operator::api::conditions::READY;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event as CoreEvent, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{self, Scope};
use serde_json::{Value, json};

use crate::harness::{DEADLINE, POLL, World, condition, s3_spec};
use driver::Helm;

/// The kinds that make up the operator's identity and rights.
const RBAC_KINDS: &[&str] = &[
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
];

/// The chart's identity installed in a release namespace of the shared control plane.
struct ChartIdentity {
    /// The release namespace (the ServiceAccount's and the Lease's).
    namespace: String,
    account: String,
    /// A kubeconfig with a real token of that ServiceAccount.
    kubeconfig: PathBuf,
    /// The rendered Deployment's leader-election flags.
    leader_election_args: Vec<String>,
}

impl ChartIdentity {
    /// Renders the chart with default values for a fresh release namespace, and server-side
    /// applies its RBAC objects (nothing else) as admin.
    async fn install(prefix: &str) -> Result<Self> {
        let plane = testkit::shared().await?;
        // The CRD must be there for the grants to mean anything (each test process may have
        // a control plane of its own).
        plane
            .install_crds(&bedrock_operator::api::crd::crds())
            .await?;
        let namespace = plane.create_namespace(prefix).await?;
        // The release is named after its namespace, so cluster-scoped names never collide
        // between tests sharing the control plane.
        let rendered = Helm::new()?.render(json!({}), &namespace, &namespace)?;
        let objects: Vec<&Value> = rendered
            .objects
            .iter()
            .filter(|o| RBAC_KINDS.contains(&o["kind"].as_str().unwrap_or_default()))
            .collect();
        for kind in RBAC_KINDS {
            assert!(
                objects.iter().any(|o| o["kind"] == *kind),
                "the chart renders a {kind}"
            );
        }
        let client = plane.client();
        for object in &objects {
            apply(&client, object).await?;
        }

        let deployment = rendered.one("Deployment")?;
        let spec = &deployment["spec"]["template"]["spec"];
        let account = spec["serviceAccountName"]
            .as_str()
            .context("serviceAccountName")?
            .to_string();
        let leader_election_args = spec["containers"][0]["args"]
            .as_array()
            .context("args")?
            .iter()
            .filter_map(Value::as_str)
            .filter(|arg| arg.starts_with("--leader-election"))
            .map(str::to_string)
            .collect::<Vec<_>>();
        assert!(
            leader_election_args.contains(&"--leader-election".to_string()),
            "{leader_election_args:?}"
        );
        let kubeconfig = plane
            .service_account_kubeconfig(&namespace, &account)
            .await?;
        Ok(Self {
            namespace,
            account,
            kubeconfig,
            leader_election_args,
        })
    }

    fn lease_name(&self) -> Result<&str> {
        self.leader_election_args
            .iter()
            .find_map(|a| a.strip_prefix("--leader-election-lease-name="))
            .context("the chart names the Lease")
    }
}

/// Server-side applies one rendered object with the admin client.
async fn apply(client: &kube::Client, object: &Value) -> Result<()> {
    let api_version = object["apiVersion"].as_str().context("apiVersion")?;
    let kind = object["kind"].as_str().context("kind")?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, capabilities) = discovery::pinned_kind(client, &gvk).await?;
    let name = object["metadata"]["name"].as_str().context("name")?;
    let api: Api<DynamicObject> = if capabilities.scope == Scope::Namespaced {
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .with_context(|| format!("{kind} {name} has a namespace"))?;
        Api::namespaced_with(client.clone(), namespace, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    api.patch(
        name,
        &PatchParams::apply("chart-rbac-test").force(),
        &Patch::Apply(object),
    )
    .await
    .with_context(|| format!("applying {kind} {name}"))?;
    Ok(())
}

/// 1. create → Ready → tag change reaches Bedrock → delete → model and resource gone, with
/// nothing but the chart's rules (leader election on, as the chart runs it).
#[tokio::test]
async fn the_charts_rbac_is_enough_for_a_full_lifecycle() -> Result<()> {
    let chart = ChartIdentity::install("rbac-release").await?;
    let pod_name = format!("{}-5f7c9d8b6-k4m2p", chart.account);
    let args: Vec<&str> = chart
        .leader_election_args
        .iter()
        .map(String::as_str)
        .collect();
    let world = World::start_with_kubeconfig(
        "rbac-life",
        &chart.kubeconfig,
        &args,
        &[
            ("POD_NAME", pod_name.as_str()),
            ("POD_NAMESPACE", chart.namespace.as_str()),
        ],
    )
    .await?;

    let mut spec = s3_spec("rbac");
    spec["tags"] = json!({ "team": "ml" });
    world.apply("rbac-model", spec.clone()).await?;
    let ready = world.wait_ready("rbac-model").await?;
    assert_eq!(
        condition(&ready, READY).map(|c| c.0).as_deref(),
        Some("True")
    );
    assert_eq!(
        world
            .model_tags("rbac-model")
            .and_then(|t| t.get("team").cloned())
            .as_deref(),
        Some("ml")
    );

    // Leader election ran in the release namespace, under the chart's Lease Role.
    let leases: Api<Lease> = Api::namespaced(world.plane.client(), &chart.namespace);
    let lease = leases.get(chart.lease_name()?).await?;
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity).as_deref(),
        Some(pod_name.as_str())
    );
    // Events went out through events.k8s.io (published just after the status).
    let mut events = Vec::new();
    let published = testkit::wait::until("an Active event", DEADLINE, POLL, async || {
        events = world.events("rbac-model").await?;
        Ok(events.iter().any(|e| e.1 == "Active").then_some(()))
    })
    .await;
    published.with_context(|| format!("events: {events:?}"))?;

    // A tag change reaches Bedrock.
    spec["tags"] = json!({ "team": "ml", "stage": "prod" });
    world.apply("rbac-model", spec).await?;
    world
        .wait_emulator("the new tag on the model", |emulator| {
            emulator
                .state()
                .model("rbac-model")
                .is_some_and(|m| m.tags.iter().any(|t| t.key == "stage" && t.value == "prod"))
        })
        .await?;

    // Delete: the finalizer runs, the model goes, then the resource.
    world.delete("rbac-model").await?;
    world.wait_gone("rbac-model").await?;
    world
        .wait_emulator("the model deleted", |emulator| {
            emulator.state().model("rbac-model").is_none()
        })
        .await?;

    let logs = world.operator_logs();
    assert!(
        !logs.to_ascii_lowercase().contains("forbidden"),
        "the operator was refused something the chart does not grant:\n{logs}"
    );
    Ok(())
}

fn expect_forbidden<T: std::fmt::Debug>(result: kube::Result<T>, what: &str) -> Result<()> {
    match result {
        Err(kube::Error::Api(status)) if status.is_forbidden() => Ok(()),
        other => bail!("{what}: expected 403 Forbidden, got {other:?}"),
    }
}

/// 2. The chart's identity is refused everything it was not given: Secrets, Pods, CRDs, core
/// events, Leases outside the release namespace.
#[tokio::test]
async fn the_charts_identity_is_refused_secrets_and_pods() -> Result<()> {
    let chart = ChartIdentity::install("rbac-deny").await?;
    let plane = testkit::shared().await?;
    let other = plane.create_namespace("rbac-deny-other").await?;
    let secret: Secret = serde_json::from_value(json!({
        "metadata": { "name": "db-password" },
        "stringData": { "password": "hunter2" },
    }))?;
    Api::<Secret>::namespaced(plane.client(), &other)
        .create(&PostParams::default(), &secret)
        .await?;
    let client = plane
        .service_account_client(&chart.namespace, &chart.account)
        .await?;

    // The token works, and what the chart grants is granted.
    let models = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bedrock-operator.dev", "v1alpha1", "BedrockCustomModel"),
        "bedrockcustommodels",
    );
    // The API server's RBAC authorizer learns new bindings from a watch: allow it a moment.
    let granted = Api::<DynamicObject>::all_with(client.clone(), &models);
    let mut refusal = None;
    let listed = testkit::wait::until(
        "listing BedrockCustomModels cluster-wide, as the chart grants",
        DEADLINE,
        POLL,
        async || match granted.list(&ListParams::default()).await {
            Ok(_) => Ok(Some(())),
            Err(error) => {
                refusal = Some(error);
                Ok(None)
            }
        },
    )
    .await;
    listed.with_context(|| format!("last refusal: {refusal:?}"))?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &chart.namespace);
    match leases.get_opt("not-there").await {
        Ok(_) => {}
        Err(error) => bail!("reading a Lease in the release namespace: {error}"),
    }

    let secrets_there: Api<Secret> = Api::namespaced(client.clone(), &other);
    let secrets_home: Api<Secret> = Api::namespaced(client.clone(), &chart.namespace);
    let secrets_all: Api<Secret> = Api::all(client.clone());
    expect_forbidden(secrets_there.get("db-password").await, "get a Secret")?;
    expect_forbidden(
        secrets_there.list(&ListParams::default()).await,
        "list Secrets in another namespace",
    )?;
    expect_forbidden(
        secrets_home.list(&ListParams::default()).await,
        "list Secrets in the release namespace",
    )?;
    expect_forbidden(
        secrets_all.list(&ListParams::default()).await,
        "list Secrets cluster-wide",
    )?;
    expect_forbidden(
        Api::<Pod>::all(client.clone())
            .list(&ListParams::default())
            .await,
        "list Pods cluster-wide",
    )?;
    expect_forbidden(
        Api::<Pod>::namespaced(client.clone(), &chart.namespace)
            .list(&ListParams::default())
            .await,
        "list Pods in the release namespace",
    )?;
    expect_forbidden(
        Api::<CustomResourceDefinition>::all(client.clone())
            .list(&ListParams::default())
            .await,
        "list CRDs",
    )?;
    let core_event: CoreEvent = serde_json::from_value(json!({
        "metadata": { "name": "rbac-probe" },
        "involvedObject": { "kind": "Namespace", "name": other },
        "reason": "Probe",
        "message": "core/v1 events are not the operator's",
    }))?;
    expect_forbidden(
        Api::<CoreEvent>::namespaced(client.clone(), &other)
            .create(&PostParams::default(), &core_event)
            .await,
        "create a core/v1 Event",
    )?;
    expect_forbidden(
        Api::<Lease>::namespaced(client.clone(), &other)
            .get_opt("anything")
            .await,
        "read Leases outside the release namespace",
    )?;
    Ok(())
}
