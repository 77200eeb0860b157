//! The chart's RBAC, proven: its ServiceAccount, (Cluster)Roles and bindings, rendered by real
//! Helm and applied as they are, are all the operator needs for a full lifecycle of either
//! kind, and that identity can do nothing else (no Secrets, no Pods, no creating or deleting the
//! resources it manages).

#[path = "../../charts/tests/driver.rs"]
mod driver;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bedrock_operator::api::BedrockCustomModel;
use bedrock_operator::api::conditions::{self, READY};
use bedrock_operator::api::deployment::{
    BedrockCustomModelDeployment, DeploymentStatus, UpdateStatus,
};
use bedrock_operator::api::export::{MODEL_ARN_KEY, MODEL_ID_KEY};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, Pod, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{self, Scope};
use serde_json::{Value, json};

use crate::harness::{DEADLINE, POLL, World, condition, data_of, metric, s3_spec, tail};
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
        plane.install_crds(&bedrock_operator::crd::crds()).await?;
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

    /// The name of the operator's Pod, as the chart's Deployment would name it: the holder of
    /// the Lease.
    fn pod_name(&self) -> String {
        format!("{}-5f7c9d8b6-k4m2p", self.account)
    }

    /// A world whose operator runs as the chart runs it: with this ServiceAccount's token, the
    /// chart's leader-election flags and the Pod's downward-API environment.
    async fn start_world(&self, test: &str) -> Result<World> {
        let pod_name = self.pod_name();
        let args: Vec<&str> = self
            .leader_election_args
            .iter()
            .map(String::as_str)
            .collect();
        World::start_with_kubeconfig(
            test,
            &self.kubeconfig,
            &args,
            &[
                ("POD_NAME", pod_name.as_str()),
                ("POD_NAMESPACE", self.namespace.as_str()),
            ],
        )
        .await
    }
}

/// Fails, quoting the logs, if the operator was ever refused a request.
fn assert_nothing_forbidden(world: &World) {
    let logs = world.operator_logs();
    assert!(
        !logs.to_ascii_lowercase().contains("forbidden"),
        "the operator was refused something the chart does not grant:\n{logs}"
    );
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
    let world = chart.start_world("rbac-life").await?;

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
        Some(chart.pod_name().as_str())
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

    assert_nothing_forbidden(&world);
    Ok(())
}

/// A sample of the deployments gauge.
fn deployments_gauge(status: &str) -> String {
    format!(r#"bedrock_operator_deployments{{deployment_status="{status}"}}"#)
}

/// Server-side applies a deployment of the model `model` (by modelRef) that exports to its
/// default ConfigMap, as `kubectl apply` would.
async fn apply_deployment(
    api: &Api<BedrockCustomModelDeployment>,
    name: &str,
    model: &str,
) -> Result<()> {
    let object = json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModelDeployment",
        "metadata": { "name": name },
        "spec": { "modelRef": { "name": model }, "export": {} },
    });
    api.patch(
        name,
        &PatchParams::apply("e2e-user").force(),
        &Patch::Apply(&object),
    )
    .await
    .with_context(|| format!("applying deployment {name}"))?;
    Ok(())
}

/// Waits until `check` holds for the deployment `name`, or fails with what it last saw.
async fn wait_deployment(
    world: &World,
    api: &Api<BedrockCustomModelDeployment>,
    name: &str,
    what: &str,
    check: impl Fn(&BedrockCustomModelDeployment) -> bool,
) -> Result<BedrockCustomModelDeployment> {
    let mut last = None;
    let found = testkit::wait::until(
        format!("deployment {name} to become {what}"),
        DEADLINE,
        POLL,
        async || {
            let seen = api.get_opt(name).await?;
            if seen.as_ref().is_some_and(&check) {
                return Ok(seen);
            }
            last = seen.or(last.take());
            Ok(None)
        },
    )
    .await;
    found.with_context(|| {
        format!(
            "last seen status: {}\noperator log tail:\n{}",
            serde_json::to_string_pretty(&last.and_then(|d| d.status)).unwrap_or_default(),
            tail(&world.operator_logs(), 40)
        )
    })
}

fn deployment_ready(deployment: &BedrockCustomModelDeployment) -> bool {
    deployment
        .status
        .as_ref()
        .and_then(|s| conditions::find(&s.conditions, READY))
        .is_some_and(|c| c.status == "True")
}

fn model_arn(model: &BedrockCustomModel) -> Result<String> {
    model
        .status
        .as_ref()
        .and_then(|s| s.model_arn.clone())
        .context("the model's status.modelArn")
}

/// 3. A model and its deployment (modelRef) with nothing but the chart's rules: the deployment
/// turns Active and Ready, exports its ConfigMap (server-side apply creates it: `create` and
/// `patch`), rolls a second model out in place and rewrites the ConfigMap, and deleting the
/// deployment and both models at once leaves nothing in Bedrock. The deployments gauge follows
/// it.
#[tokio::test]
async fn the_charts_rbac_is_enough_for_a_deployment_lifecycle() -> Result<()> {
    let chart = ChartIdentity::install("rbac-dep-release").await?;
    let world = chart.start_world("rbac-dep").await?;
    let deployments: Api<BedrockCustomModelDeployment> =
        Api::namespaced(world.plane.client(), &world.namespace);

    world.apply("rbac-v1", s3_spec("rbac-v1")).await?;
    world.apply("rbac-v2", s3_spec("rbac-v2")).await?;
    let v1 = model_arn(&world.wait_ready("rbac-v1").await?)?;
    let v2 = model_arn(&world.wait_ready("rbac-v2").await?)?;

    // Model Active → deployment Active, serving it.
    apply_deployment(&deployments, "rbac-chat", "rbac-v1").await?;
    let active = wait_deployment(&world, &deployments, "rbac-chat", "Active and Ready", |d| {
        deployment_ready(d)
            && d.status.as_ref().and_then(|s| s.deployment_status) == Some(DeploymentStatus::Active)
    })
    .await?;
    let status = active.status.context("status")?;
    assert_eq!(status.model_arn.as_deref(), Some(v1.as_str()));
    let arn = status.deployment_arn.context("status.deploymentArn")?;
    assert_eq!(
        world
            .emulator
            .state()
            .deployment(&arn)
            .map(|d| d.model_arn)
            .as_deref(),
        Some(v1.as_str()),
        "the deployment serves the first model in Bedrock"
    );
    world
        .wait_config_map("rbac-chat-bedrock", "the export of the first model", |c| {
            data_of(c, MODEL_ID_KEY) == Some(arn.as_str())
                && data_of(c, MODEL_ARN_KEY) == Some(v1.as_str())
        })
        .await?;
    world
        .wait_metrics("one Active deployment", |text| {
            metric(text, &deployments_gauge("Active")) == Some(1.0)
        })
        .await?;

    // A new modelRef rolls the second model out in place.
    apply_deployment(&deployments, "rbac-chat", "rbac-v2").await?;
    let rolled = wait_deployment(
        &world,
        &deployments,
        "rbac-chat",
        "UpdateCompleted on the second model",
        |d| {
            d.status.as_ref().is_some_and(|s| {
                s.update_status == Some(UpdateStatus::UpdateCompleted)
                    && s.model_arn.as_deref() == Some(v2.as_str())
            }) && deployment_ready(d)
        },
    )
    .await?;
    assert_eq!(
        rolled.status.and_then(|s| s.deployment_arn).as_deref(),
        Some(arn.as_str()),
        "the same deployment, updated in place"
    );
    assert_eq!(
        world
            .emulator
            .state()
            .deployment(&arn)
            .map(|d| d.model_arn)
            .as_deref(),
        Some(v2.as_str()),
        "the deployment serves the second model in Bedrock"
    );
    world
        .wait_config_map("rbac-chat-bedrock", "the export of the second model", |c| {
            data_of(c, MODEL_ARN_KEY) == Some(v2.as_str())
        })
        .await?;

    // Everything deleted at once, as `kubectl delete -f` of one file does: the model in use
    // first (it waits for its deployment), then the deployment, then the other model.
    world.delete("rbac-v2").await?;
    deployments
        .delete("rbac-chat", &DeleteParams::default())
        .await?;
    world.delete("rbac-v1").await?;
    testkit::wait::until(
        "deployment rbac-chat to be deleted",
        DEADLINE,
        POLL,
        async || {
            Ok(deployments
                .get_opt("rbac-chat")
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await
    .with_context(|| tail(&world.operator_logs(), 40))?;
    world.wait_gone("rbac-v2").await?;
    world.wait_gone("rbac-v1").await?;
    let state = world.emulator.state();
    assert!(state.deployments().is_empty(), "{:?}", state.deployments());
    assert!(state.models().is_empty(), "{:?}", state.models());
    world
        .wait_metrics("no deployment counted", |text| {
            ["None", "Creating", "Active", "Failed", "Other"]
                .iter()
                .all(|status| metric(text, &deployments_gauge(status)) == Some(0.0))
        })
        .await?;

    assert_nothing_forbidden(&world);
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
    // spec.export reads ConfigMaps by name only: it may not list or watch them.
    expect_forbidden(
        Api::<ConfigMap>::namespaced(client.clone(), &other)
            .list(&ListParams::default())
            .await,
        "list ConfigMaps",
    )?;
    expect_forbidden(
        Api::<ConfigMap>::all(client.clone())
            .list(&ListParams::default())
            .await,
        "list ConfigMaps cluster-wide",
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

/// 4. The chart's identity manages the resources users create, and no more: it cannot create,
/// replace, delete or delete-collection either kind (it patches finalizers and status only),
/// while it may list both cluster-wide.
#[tokio::test]
async fn the_charts_identity_cannot_create_or_delete_the_resources() -> Result<()> {
    let chart = ChartIdentity::install("rbac-own").await?;
    let plane = testkit::shared().await?;
    let other = plane.create_namespace("rbac-own-other").await?;
    let client = plane
        .service_account_client(&chart.namespace, &chart.account)
        .await?;
    let kinds = [
        ApiResource::erase::<BedrockCustomModel>(&()),
        ApiResource::erase::<BedrockCustomModelDeployment>(&()),
    ];

    // The API server's RBAC authorizer learns new bindings from a watch: allow it a moment.
    for kind in &kinds {
        let all = Api::<DynamicObject>::all_with(client.clone(), kind);
        let mut refusal = None;
        let listed = testkit::wait::until(
            format!("listing {} cluster-wide, as the chart grants", kind.plural),
            DEADLINE,
            POLL,
            async || match all.list(&ListParams::default()).await {
                Ok(_) => Ok(Some(())),
                Err(error) => {
                    refusal = Some(error);
                    Ok(None)
                }
            },
        )
        .await;
        listed.with_context(|| format!("last refusal: {refusal:?}"))?;
    }

    // Authorization comes before admission and the look-up: a 403 whatever the body or name.
    let mut granted = Vec::new();
    for kind in &kinds {
        let api = Api::<DynamicObject>::namespaced_with(client.clone(), &other, kind);
        let mut object = DynamicObject::new("rbac-probe", kind);
        object.data = json!({ "spec": {} });
        let attempts = [
            (
                "create",
                api.create(&PostParams::default(), &object).await.map(drop),
            ),
            (
                "replace",
                api.replace("rbac-probe", &PostParams::default(), &object)
                    .await
                    .map(drop),
            ),
            (
                "delete",
                api.delete("rbac-probe", &DeleteParams::default())
                    .await
                    .map(drop),
            ),
            (
                "delete-collection",
                api.delete_collection(&DeleteParams::default(), &ListParams::default())
                    .await
                    .map(drop),
            ),
        ];
        // Every refusal is checked before failing, so one report names every grant too many.
        for (verb, result) in attempts {
            if let Err(error) = expect_forbidden(result, &format!("{verb} {}", kind.plural)) {
                granted.push(error.to_string());
            }
        }
    }
    assert!(granted.is_empty(), "{granted:#?}");
    Ok(())
}
