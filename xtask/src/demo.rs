//! `cargo xtask demo`: the main job on an embedded default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bedrock_emulator::{Emulator, EmulatorConfig};
use bedrock_operator::api::conditions::{self, reason};
use bedrock_operator::api::{BedrockCustomModel, crd};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use testkit::ControlPlane;
use tokio::process::Command;

const NAMESPACE_PREFIX: &str = "demo";
/// How long a model stays Creating in the demo's emulator.
const IMPORT_TIME: Duration = Duration::from_secs(8);
/// How long the demo waits for every example to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

pub async fn run(root: &Path, exit_when_settled: bool) -> Result<()> {
    println!("==> building the operator");
    let status = std::process::Command::new(super::cargo())
        .args([
            "build",
            "--quiet",
            "-p",
            "bedrock-operator",
            "--bin",
            "bedrock-operator",
        ])
        .status()?;
    if !status.success() {
        bail!("building the operator failed");
    }
    let operator_binary = target_dir(root).join("debug").join("bedrock-operator");

    println!(
        "==> starting a real kube-apiserver + etcd (the first run builds kube-apiserver: ~6 min)"
    );
    let plane = ControlPlane::start().await?;
    plane.install_crds(&[crd::crd()]).await?;
    let namespace = plane.create_namespace(NAMESPACE_PREFIX).await?;

    println!(
        "==> starting the Bedrock emulator (imports take {}s)",
        IMPORT_TIME.as_secs()
    );
    let emulator = Emulator::start(EmulatorConfig {
        ready_delay: IMPORT_TIME,
        ..EmulatorConfig::default()
    })
    .await?;

    println!("==> starting bedrock-operator");
    let log_path = plane.dir().join("operator.log");
    let log = std::fs::File::create(&log_path)?;
    let mut operator = Command::new(&operator_binary)
        .args(["run", "--namespace", &namespace, "--sweep-interval", "1s"])
        .env("KUBECONFIG", plane.kubeconfig_path())
        .env("AWS_ENDPOINT_URL_BEDROCK", emulator.url())
        .env("AWS_ACCESS_KEY_ID", "AKIDDEMO")
        .env("AWS_SECRET_ACCESS_KEY", "demo-secret")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", operator_binary.display()))?;

    let api: Api<BedrockCustomModel> = Api::namespaced(plane.client(), &namespace);
    for (file, resource) in examples(root)? {
        let name = resource.name_any();
        api.patch(
            &name,
            &PatchParams::apply("bedrock-operator-demo"),
            &Patch::Apply(&resource),
        )
        .await
        .with_context(|| format!("applying {}", file.display()))?;
        println!("    applied {} ({name})", file.display());
    }

    println!("==> watching the models (Ctrl-C to stop)");
    let settled = watch(&api, &mut operator).await;
    match &settled {
        Ok(()) => println!("==> every example settled"),
        Err(e) => println!("==> {e}"),
    }

    println!();
    println!("Try it yourself:");
    println!("  export KUBECONFIG={}", plane.kubeconfig_path().display());
    println!("  kubectl get bcm -n {namespace}            # add -o wide for ARNs");
    println!("  kubectl describe bcm -n {namespace} demo-failing-import");
    println!("  kubectl delete bcm -n {namespace} nova-support-assistant");
    println!(
        "  curl -s {}/__emulator/models | python3 -m json.tool   # Bedrock's side",
        emulator.url()
    );
    println!("Operator log: {}", log_path.display());

    if exit_when_settled {
        operator.kill().await.ok();
        return settled;
    }
    println!("Press Ctrl-C to stop the demo and remove everything.");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        status = operator.wait() => println!("the operator exited: {status:?}"),
    }
    operator.kill().await.ok();
    Ok(())
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Every BedrockCustomModel in examples/*.yaml.
pub fn examples(root: &Path) -> Result<Vec<(PathBuf, BedrockCustomModel)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    let mut resources = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = serde_yaml::Value::deserialize(document)?;
            if value.is_null() {
                continue;
            }
            let resource: BedrockCustomModel = serde_yaml::from_value(value)
                .with_context(|| format!("parsing {}", file.display()))?;
            resources.push((file.clone(), resource));
        }
    }
    Ok(resources)
}

use serde::Deserialize as _;

async fn watch(api: &Api<BedrockCustomModel>, operator: &mut tokio::process::Child) -> Result<()> {
    let started = Instant::now();
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    loop {
        if let Some(status) = operator.try_wait()? {
            bail!("the operator exited early: {status}");
        }
        let list = api.list(&ListParams::default()).await?;
        let mut settled = !list.items.is_empty();
        for resource in &list.items {
            let status = resource.status.clone().unwrap_or_default();
            let ready = conditions::find(&status.conditions, conditions::READY);
            let line = format!(
                "{:<28} model={:<24} status={:<9} ready={:<5} {}",
                resource.name_any(),
                status.model_name.as_deref().unwrap_or("-"),
                status.model_status.as_deref().unwrap_or("-"),
                ready.map(|c| c.status.as_str()).unwrap_or("-"),
                ready.map(|c| c.message.as_str()).unwrap_or(""),
            );
            if shown.get(&resource.name_any()) != Some(&line) {
                println!("  {:>5.1}s  {line}", started.elapsed().as_secs_f64());
                shown.insert(resource.name_any(), line);
            }
            let done = ready.is_some_and(|c| c.status == "True" || c.reason == reason::FAILED);
            settled &= done;
        }
        if settled {
            return Ok(());
        }
        if started.elapsed() > SETTLE_TIMEOUT {
            bail!(
                "not every example settled within {}s",
                SETTLE_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
