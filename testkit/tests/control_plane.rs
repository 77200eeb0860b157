//! The control plane against the real kube-apiserver + etcd: CRDs, finalizers, identities and
//! RBAC, restart and cleanup.

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use serde::{Deserialize, Serialize};
use testkit::ControlPlane;
use tokio::sync::OnceCell;

const WAIT: Duration = Duration::from_secs(20);
/// How often kube-controller-manager's garbage collector rediscovers resource types.
const GARBAGE_COLLECTOR_DISCOVERY: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);
const FINALIZER: &str = "testkit.bedrock-operator.io/hold";

/// A tiny custom resource whose schema carries CEL rules, which the server must keep and enforce.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "testkit.bedrock-operator.io",
    version = "v1",
    kind = "Gadget",
    namespaced,
    validation = "self.metadata.name.size() < 60"
)]
pub struct GadgetSpec {
    #[x_kube(validation = Rule::new("self <= 100").message("size must be at most 100"))]
    size: i32,
}

/// Shared by the tests that neither restart nor drop it; each test works in its own namespace.
static PLANE: OnceCell<ControlPlane> = OnceCell::const_new();

async fn plane() -> Result<&'static ControlPlane> {
    PLANE
        .get_or_try_init(|| ControlPlane::builder().user("alice", &["devs"]).start())
        .await
}

fn gadget(name: &str, finalizers: Vec<String>) -> Gadget {
    let mut gadget = Gadget::new(name, GadgetSpec { size: 3 });
    gadget.metadata.finalizers = Some(finalizers);
    gadget
}

async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    condition: impl Condition<K>,
    what: &str,
) -> Result<Option<K>>
where
    K: kube::Resource + Clone + std::fmt::Debug + Send + serde::de::DeserializeOwned + 'static,
{
    tokio::time::timeout(WAIT, await_condition(api.clone(), name, condition))
        .await
        .with_context(|| format!("timed out after {WAIT:?} waiting until {what}"))?
        .with_context(|| format!("watching until {what}"))
}

fn forbidden<T: std::fmt::Debug>(result: kube::Result<T>) -> Result<String> {
    match result {
        Err(kube::Error::Api(status)) if status.is_forbidden() => Ok(status.message.clone()),
        other => bail!("expected 403 Forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn finalizer_holds_a_custom_resource_until_cleared() -> Result<()> {
    let cp = plane().await?;
    let crd = Gadget::crd();
    ensure!(serde_json::to_string(&crd)?.contains("x-kubernetes-validations"));
    cp.install_crds(std::slice::from_ref(&crd)).await?;
    // Installing again (from YAML) replaces it: install is idempotent.
    cp.install_crds_yaml(&serde_yaml::to_string(&crd)?).await?;
    let stored = Api::<CustomResourceDefinition>::all(cp.client())
        .get(Gadget::crd_name())
        .await?;
    let stored = serde_json::to_string(&stored)?;
    ensure!(
        stored.contains("size must be at most 100"),
        "the CEL rules were lost on the way: {stored}"
    );
    ensure!(
        stored.contains(r#""size":{"format":"int32","type":"integer","#),
        "schema lost: {stored}"
    );

    let namespace = cp.create_namespace("finalizer").await?;
    let gadgets: Api<Gadget> = Api::namespaced(cp.client(), &namespace);

    // The server enforces the CEL rule, naming the field and saying the rule's message.
    let refused = gadgets
        .create(
            &PostParams::default(),
            &Gadget::new("too-big", GadgetSpec { size: 101 }),
        )
        .await;
    match refused {
        Err(kube::Error::Api(status)) if status.code == 422 => ensure!(
            status.message.contains("spec.size") && status.message.contains("at most 100"),
            "{}",
            status.message
        ),
        other => bail!("a size over 100 must be refused by the CEL rule, got {other:?}"),
    }
    let created = gadgets
        .create(
            &PostParams::default(),
            &gadget("held", vec![FINALIZER.into()]),
        )
        .await?;
    let uid = created
        .metadata
        .uid
        .clone()
        .context("created object has a uid")?;

    gadgets.delete("held", &DeleteParams::default()).await?;
    let terminating =
        |g: Option<&Gadget>| g.is_some_and(|g| g.metadata.deletion_timestamp.is_some());
    wait_for(&gadgets, "held", terminating, "deletionTimestamp is set").await?;
    let still_there = gadgets.get("held").await?;
    ensure!(still_there.metadata.finalizers == Some(vec![FINALIZER.to_string()]));

    let clear = serde_json::json!({ "metadata": { "finalizers": null } });
    gadgets
        .patch("held", &PatchParams::default(), &Patch::Merge(&clear))
        .await?;
    wait_for(
        &gadgets,
        "held",
        conditions::is_deleted(&uid),
        "the object is gone",
    )
    .await?;
    ensure!(gadgets.get_opt("held").await?.is_none());

    // The admin kubeconfig file works for a client of its own.
    let kubeconfig = kube::config::Kubeconfig::read_from(cp.kubeconfig_path())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    let from_file: Api<Gadget> = Api::namespaced(kube::Client::try_from(config)?, &namespace);
    ensure!(
        from_file
            .list(&ListParams::default())
            .await?
            .items
            .is_empty()
    );

    let metrics = cp.apiserver_metrics_text().await?;
    ensure!(
        metrics.contains("apiserver_request_total"),
        "no apiserver_request_total in /metrics"
    );
    Ok(())
}

#[tokio::test]
async fn identities_without_rbac_are_refused_until_a_role_grants_access() -> Result<()> {
    let cp = plane().await?;
    cp.install_crds(&[Gadget::crd()]).await?;
    let namespace = cp.create_namespace("rbac").await?;

    // (identity the server should see, its client); static users exist only on our own servers.
    let mut granted = vec![(
        format!("system:serviceaccount:{namespace}:robot"),
        cp.service_account_client(&namespace, "robot").await?,
    )];
    if cp.is_local() {
        granted.push(("alice".to_string(), cp.client_for_user("alice")?));
    }
    let bob: Api<Gadget> = Api::namespaced(cp.impersonating_client("bob", &["devs"]), &namespace);

    // The refusals name the identity the server saw: the credentials really are distinct.
    for (identity, client) in &granted {
        let api: Api<Gadget> = Api::namespaced(client.clone(), &namespace);
        let message = forbidden(api.list(&ListParams::default()).await)?;
        ensure!(
            message.contains(identity.as_str()),
            "refusal does not name {identity}: {message}"
        );
        forbidden(
            api.create(&PostParams::default(), &gadget("refused", vec![]))
                .await,
        )?;
    }
    let message = forbidden(bob.list(&ListParams::default()).await)?;
    ensure!(
        message.contains("\"bob\""),
        "refusal does not name bob: {message}"
    );

    grant_gadget_access(&cp.client(), &namespace).await?;

    let mut expected = Vec::new();
    for (index, (identity, client)) in granted.iter().enumerate() {
        let api: Api<Gadget> = Api::namespaced(client.clone(), &namespace);
        // The authorizer sees new bindings through its informer, a moment after the write.
        let deadline = tokio::time::Instant::now() + WAIT;
        while let Err(error) = api.list(&ListParams::default()).await {
            ensure!(
                tokio::time::Instant::now() < deadline,
                "RBAC grant for {identity} not effective within {WAIT:?}: {error}"
            );
            tokio::time::sleep(POLL).await;
        }
        let name = format!("granted-{index}");
        api.create(&PostParams::default(), &gadget(&name, vec![]))
            .await?;
        expected.push(name);
    }
    let api: Api<Gadget> = Api::namespaced(cp.client(), &namespace);
    let names: Vec<_> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|g| g.metadata.name)
        .collect();
    ensure!(names == expected, "unexpected objects: {names:?}");
    // The binding names alice, not her group: bob (also in devs) is still refused.
    forbidden(bob.list(&ListParams::default()).await)?;
    Ok(())
}

/// A Role on gadgets, bound to user alice and service account robot (not to any group).
async fn grant_gadget_access(admin: &kube::Client, namespace: &str) -> Result<()> {
    let role = Role {
        metadata: ObjectMeta {
            name: Some("gadget-editor".into()),
            ..ObjectMeta::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["testkit.bedrock-operator.io".into()]),
            resources: Some(vec!["gadgets".into()]),
            verbs: vec!["get".into(), "list".into(), "watch".into(), "create".into()],
            ..PolicyRule::default()
        }]),
    };
    Api::<Role>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &role)
        .await?;
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some("gadget-editors".into()),
            ..ObjectMeta::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "gadget-editor".into(),
        },
        subjects: Some(vec![
            Subject {
                kind: "User".into(),
                name: "alice".into(),
                api_group: Some("rbac.authorization.k8s.io".into()),
                ..Subject::default()
            },
            Subject {
                kind: "ServiceAccount".into(),
                name: "robot".into(),
                namespace: Some(namespace.to_string()),
                ..Subject::default()
            },
        ]),
    };
    Api::<RoleBinding>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &binding)
        .await?;
    Ok(())
}

#[tokio::test]
async fn restart_keeps_objects_and_drop_stops_every_process() -> Result<()> {
    let cp = ControlPlane::start().await?;
    if !cp.is_local() {
        eprintln!(
            "skipped: restarting needs a control plane started by testkit, not USE_EXISTING_CLUSTER"
        );
        return Ok(());
    }
    cp.install_crds(&[Gadget::crd()]).await?;
    let namespace = cp.create_namespace("restart").await?;
    let client = cp.client();
    let gadgets: Api<Gadget> = Api::namespaced(client.clone(), &namespace);
    gadgets
        .create(&PostParams::default(), &gadget("survivor", vec![]))
        .await?;

    let before = cp.pids();
    ensure!(
        before.len() == 3,
        "etcd, kube-apiserver and kube-controller-manager: {before:?}"
    );
    cp.restart_apiserver().await?;
    let after = cp.pids();
    ensure!(
        before[0] == after[0],
        "etcd must keep running: {before:?} -> {after:?}"
    );
    ensure!(
        before[1] != after[1],
        "kube-apiserver must be a new process: {before:?} -> {after:?}"
    );
    ensure!(!is_running(before[1]), "the old kube-apiserver still runs");

    // The client made before the restart reconnects and reads what etcd kept.
    let survivor = gadgets.get("survivor").await?;
    ensure!(survivor.spec == GadgetSpec { size: 3 });

    let dir = cp.dir().to_path_buf();
    ensure!(after.iter().all(|&pid| is_running(pid)));
    drop(cp);
    for pid in after {
        ensure!(!is_running(pid), "process {pid} survived the drop");
    }
    ensure!(!dir.exists(), "{} survived the drop", dir.display());
    Ok(())
}

/// kube-controller-manager runs: a deleted namespace holding an object with a finalizer waits
/// for it, then goes; the service-account controller gives new namespaces their `default`
/// account; the garbage collector removes dependents of a deleted owner.
#[tokio::test]
async fn controller_manager_finalises_namespaces_and_collects_garbage() -> Result<()> {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    let cp = plane().await?;
    cp.install_crds(&[Gadget::crd()]).await?;
    let namespace = cp.create_namespace("ns-lifecycle").await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(cp.client(), &namespace);
    wait_for(
        &accounts,
        "default",
        |a: Option<&ServiceAccount>| a.is_some(),
        "the namespace has its default service account",
    )
    .await?;

    // Garbage collection: a config map owned by a gadget goes with it.
    let gadgets: Api<Gadget> = Api::namespaced(cp.client(), &namespace);
    let owner = gadgets
        .create(&PostParams::default(), &gadget("owner", vec![]))
        .await?;
    let maps: Api<ConfigMap> = Api::namespaced(cp.client(), &namespace);
    let mut dependent = ConfigMap::default();
    dependent.metadata.name = Some("dependent".into());
    dependent.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "testkit.bedrock-operator.io/v1".into(),
        kind: "Gadget".into(),
        name: "owner".into(),
        uid: owner.metadata.uid.clone().context("owner uid")?,
        ..OwnerReference::default()
    }]);
    let dependent = maps.create(&PostParams::default(), &dependent).await?;
    gadgets.delete("owner", &DeleteParams::default()).await?;
    // The garbage collector learns of a new CRD at its next discovery sync (every 30 s).
    let dependent_uid = dependent.metadata.uid.clone().context("uid")?;
    tokio::time::timeout(
        GARBAGE_COLLECTOR_DISCOVERY + WAIT,
        await_condition(
            maps.clone(),
            "dependent",
            conditions::is_deleted(&dependent_uid),
        ),
    )
    .await
    .context("the garbage collector did not delete the dependent")??;

    // Namespace deletion waits for the finalizer, then completes.
    gadgets
        .create(
            &PostParams::default(),
            &gadget("held", vec![FINALIZER.into()]),
        )
        .await?;
    let namespaces: Api<Namespace> = Api::all(cp.client());
    let uid = namespaces
        .get(&namespace)
        .await?
        .metadata
        .uid
        .context("namespace uid")?;
    namespaces
        .delete(&namespace, &DeleteParams::default())
        .await?;
    wait_for(
        &gadgets,
        "held",
        |g: Option<&Gadget>| g.is_some_and(|g| g.metadata.deletion_timestamp.is_some()),
        "the namespace controller deleted the gadget",
    )
    .await?;
    ensure!(
        namespaces.get_opt(&namespace).await?.is_some(),
        "the namespace must wait for the finalizer"
    );
    let clear = serde_json::json!({ "metadata": { "finalizers": null } });
    gadgets
        .patch("held", &PatchParams::default(), &Patch::Merge(&clear))
        .await?;
    wait_for(
        &namespaces,
        &namespace,
        conditions::is_deleted(&uid),
        "the namespace is gone",
    )
    .await?;
    Ok(())
}

/// Whether the pid names a live (not zombie) process.
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}
