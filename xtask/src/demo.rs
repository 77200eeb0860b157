//! `cargo xtask demo`: the main job on an embedded default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bedrock_emulator::{Emulator, EmulatorConfig};
use bedrock_operator::api::conditions::{self, reason};
use bedrock_operator::api::deployment::BedrockCustomModelDeployment;
use bedrock_operator::api::throughput::BedrockProvisionedThroughput;
use bedrock_operator::api::{BedrockCustomModel, BedrockImportedModel};
use bedrock_operator::crd;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use testkit::ControlPlane;
use testkit::operator::{Operator, OperatorCommand};

const NAMESPACE_PREFIX: &str = "demo";
/// How long a model stays Creating in the demo's emulator.
const IMPORT_TIME: Duration = Duration::from_secs(8);
/// How long the demo waits for every example to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);
/// How often the demo looks at the examples.
const POLL: Duration = Duration::from_millis(500);

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
        "==> starting a real Kubernetes control plane (the first run builds it from its Go \
         modules: ~10 min on 2 cores)"
    );
    let plane = ControlPlane::start().await?;
    plane.install_crds(&crd::crds()).await?;
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
    let mut operator = OperatorCommand::new(
        &operator_binary,
        plane.kubeconfig_path(),
        &emulator.url(),
        &log_path,
    )
    .namespace(&namespace)
    .args(["--sweep-interval", "1s"])
    .credentials("AKIDDEMO", "demo-secret")
    .spawn()?;

    let apis = Apis::new(&plane, &namespace);
    for (file, example) in examples(root)? {
        let (kind, name) = apis
            .apply(&example)
            .await
            .with_context(|| format!("applying {}", file.display()))?;
        println!("    applied {} ({kind} {name})", file.display());
    }

    println!(
        "==> watching the models, deployments, throughputs and imported models (Ctrl-C to stop)"
    );
    let settled = watch(&apis, &mut operator).await;
    match &settled {
        Ok(examples) => println!("==> {}", settled_summary(examples)),
        Err(e) => println!("==> {e}"),
    }
    println!();

    if exit_when_settled {
        // Stop everything first, so that what is printed next is only what is still usable.
        operator.kill().await.ok();
        emulator.shutdown().await.ok();
        drop(plane);
        let kept_log = log_path.exists().then_some(log_path.as_path());
        print!("{}", closing_text(&Ending::Exited { kept_log }));
        return settled.map(|_| ());
    }
    print!(
        "{}",
        closing_text(&Ending::KeptUp {
            kubeconfig: plane.kubeconfig_path(),
            namespace: &namespace,
            emulator_url: &emulator.url(),
            operator_log: &log_path,
        })
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        status = operator.child.wait() => println!("the operator exited: {status:?}"),
    }
    operator.kill().await.ok();
    Ok(())
}

/// How the demo ends, and what of it is left for a person to use.
enum Ending<'a> {
    /// `--exit-when-settled`: the operator, the emulator and the control plane are gone; the
    /// operator log survives only when the control plane's dir was kept.
    Exited { kept_log: Option<&'a Path> },
    /// The servers stay up until Ctrl-C.
    KeptUp {
        kubeconfig: &'a Path,
        namespace: &'a str,
        emulator_url: &'a str,
        operator_log: &'a Path,
    },
}

/// What the demo prints once every example settled (or the wait gave up): commands only for
/// servers that are still running.
fn closing_text(ending: &Ending) -> String {
    match ending {
        Ending::Exited { kept_log } => {
            let log = match kept_log {
                Some(path) => format!("Operator log (kept): {}\n", path.display()),
                None => format!(
                    "The operator log went with the control plane's temporary dir \
                     ({}=true keeps it).\n",
                    testkit::KEEP_TEMP
                ),
            };
            format!(
                "The demo stopped the operator, the Bedrock emulator and the control plane.\n\
                 {log}\
                 To keep them running and try commands against them, run `cargo xtask demo` \
                 without --exit-when-settled.\n"
            )
        }
        Ending::KeptUp {
            kubeconfig,
            namespace,
            emulator_url,
            operator_log,
        } => format!(
            "Try it yourself:\n\
             \x20 export KUBECONFIG={kubeconfig}\n\
             \x20 kubectl get bedrock -n {namespace}        # models, deployments, throughputs, imported models; -o wide for ARNs\n\
             \x20 kubectl describe bcm -n {namespace} demo-failing-import\n\
             \x20 kubectl delete bcm -n {namespace} nova-support-assistant\n\
             \x20 curl -s {emulator_url}/__emulator/models | python3 -m json.tool   # Bedrock's side\n\
             Operator log: {operator_log}\n\
             Press Ctrl-C to stop the demo and remove everything.\n",
            kubeconfig = kubeconfig.display(),
            operator_log = operator_log.display(),
        ),
    }
}

/// An example once it settled.
#[derive(Debug, Clone, PartialEq)]
struct Settled {
    name: String,
    /// Ready=True; otherwise the import failed.
    ready: bool,
}

/// One line on how the examples ended, e.g. "every example settled: 2 Ready (a, b), 1 Failed (c)".
fn settled_summary(examples: &[Settled]) -> String {
    let names = |ready: bool| {
        examples
            .iter()
            .filter(|e| e.ready == ready)
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
    };
    let counts: Vec<String> = [("Ready", names(true)), ("Failed", names(false))]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(state, names)| format!("{} {state} ({})", names.len(), names.join(", ")))
        .collect();
    format!("every example settled: {}", counts.join(", "))
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// One document of examples/*.yaml.
pub enum Example {
    Model(Box<BedrockCustomModel>),
    Deployment(Box<BedrockCustomModelDeployment>),
    Throughput(Box<BedrockProvisionedThroughput>),
    Imported(Box<BedrockImportedModel>),
}

/// The demo namespace's API of each kind.
struct Apis {
    models: Api<BedrockCustomModel>,
    deployments: Api<BedrockCustomModelDeployment>,
    throughputs: Api<BedrockProvisionedThroughput>,
    imported: Api<BedrockImportedModel>,
}

impl Apis {
    fn new(plane: &ControlPlane, namespace: &str) -> Self {
        Self {
            models: Api::namespaced(plane.client(), namespace),
            deployments: Api::namespaced(plane.client(), namespace),
            throughputs: Api::namespaced(plane.client(), namespace),
            imported: Api::namespaced(plane.client(), namespace),
        }
    }

    /// Applies one example (server-side apply); its kind, as the demo words it, and name.
    async fn apply(&self, example: &Example) -> Result<(&'static str, String)> {
        match example {
            Example::Model(r) => Ok(("model", apply_one(&self.models, r.as_ref()).await?)),
            Example::Deployment(r) => Ok((
                "deployment",
                apply_one(&self.deployments, r.as_ref()).await?,
            )),
            Example::Throughput(r) => Ok((
                "throughput",
                apply_one(&self.throughputs, r.as_ref()).await?,
            )),
            Example::Imported(r) => Ok(("imported", apply_one(&self.imported, r.as_ref()).await?)),
        }
    }
}

async fn apply_one<K>(api: &Api<K>, resource: &K) -> Result<String>
where
    K: kube::Resource + serde::Serialize + Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let apply = PatchParams::apply("bedrock-operator-demo");
    let name = resource.name_any();
    api.patch(&name, &apply, &Patch::Apply(resource)).await?;
    Ok(name)
}

/// One example's row while the demo watches: its key, name, line and whether it settled.
type Row = (String, String, String, Option<bool>);

/// The rows of every resource of one kind: `facts` gives its Bedrock name, its state and its
/// status's conditions.
async fn rows<K>(
    api: &Api<K>,
    kind: &str,
    facts: impl Fn(&K) -> (Option<String>, Option<String>, Vec<Condition>),
) -> Result<Vec<Row>>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let mut rows = Vec::new();
    for resource in api.list(&ListParams::default()).await?.items {
        let (bedrock, state, conditions) = facts(&resource);
        let ready = conditions::find(&conditions, conditions::READY);
        let (line, settled) = example_line(
            kind,
            &resource.name_any(),
            bedrock.as_deref().unwrap_or("-"),
            state.as_deref().unwrap_or("-"),
            ready,
        );
        rows.push((
            format!("{kind}/{}", resource.name_any()),
            resource.name_any(),
            line,
            settled,
        ));
    }
    Ok(rows)
}

/// Every resource (of the operator's kinds) in examples/*.yaml, in file order.
pub fn examples(root: &Path) -> Result<Vec<(PathBuf, Example)>> {
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
            let kind = value
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default();
            let example = match kind {
                "BedrockCustomModel" => Example::Model(Box::new(
                    serde_yaml::from_value(value)
                        .with_context(|| format!("parsing {}", file.display()))?,
                )),
                "BedrockCustomModelDeployment" => Example::Deployment(Box::new(
                    serde_yaml::from_value(value)
                        .with_context(|| format!("parsing {}", file.display()))?,
                )),
                "BedrockProvisionedThroughput" => Example::Throughput(Box::new(
                    serde_yaml::from_value(value)
                        .with_context(|| format!("parsing {}", file.display()))?,
                )),
                "BedrockImportedModel" => Example::Imported(Box::new(
                    serde_yaml::from_value(value)
                        .with_context(|| format!("parsing {}", file.display()))?,
                )),
                other => bail!("{}: unknown kind {other:?}", file.display()),
            };
            resources.push((file.clone(), example));
        }
    }
    Ok(resources)
}

use serde::Deserialize as _;

/// One example's line and whether it settled (Some(ready)) or not yet (None).
fn example_line(
    kind: &str,
    name: &str,
    bedrock: &str,
    state: &str,
    ready: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
) -> (String, Option<bool>) {
    let line = format!(
        "{kind:<10} {name:<24} bedrock={bedrock:<24} status={state:<9} ready={:<5} {}",
        ready.map(|c| c.status.as_str()).unwrap_or("-"),
        ready.map(|c| c.message.as_str()).unwrap_or(""),
    );
    let settled = ready
        .filter(|c| c.status == "True" || c.reason == reason::FAILED)
        .map(|c| c.status == "True");
    (line, settled)
}

/// Prints each example's status as it changes, until every one is Ready or Failed.
async fn watch(apis: &Apis, operator: &mut Operator) -> Result<Vec<Settled>> {
    let started = Instant::now();
    let mut shown: BTreeMap<String, String> = BTreeMap::new();
    let state = |s: Option<String>| s.or_else(|| Some("-".into()));
    let settled = testkit::wait::until(
        "every example to settle",
        SETTLE_TIMEOUT,
        POLL,
        async || {
            if let Some(status) = operator.child.try_wait()? {
                bail!("the operator exited early: {status}");
            }
            let mut lines = rows(&apis.models, "model", |r| {
                let s = r.status.clone().unwrap_or_default();
                (
                    s.model_name,
                    state(s.model_status.map(|s| format!("{s:?}"))),
                    s.conditions,
                )
            })
            .await?;
            lines.extend(
                rows(&apis.deployments, "deployment", |r| {
                    let s = r.status.clone().unwrap_or_default();
                    let st = state(s.deployment_status.map(|s| format!("{s:?}")));
                    (s.model_deployment_name, st, s.conditions)
                })
                .await?,
            );
            lines.extend(
                rows(&apis.throughputs, "throughput", |r| {
                    let s = r.status.clone().unwrap_or_default();
                    let st = state(s.throughput_status.map(|s| format!("{s:?}")));
                    (s.provisioned_model_name, st, s.conditions)
                })
                .await?,
            );
            lines.extend(
                rows(&apis.imported, "imported", |r| {
                    let s = r.status.clone().unwrap_or_default();
                    let st = state(s.job_status.map(|s| format!("{s:?}")));
                    (s.imported_model_name, st, s.conditions)
                })
                .await?,
            );
            let mut settled = Vec::new();
            for (key, name, line, done) in &lines {
                if shown.get(key) != Some(line) {
                    println!("  {:>5.1}s  {line}", started.elapsed().as_secs_f64());
                    shown.insert(key.clone(), line.clone());
                }
                if let Some(ready) = done {
                    settled.push(Settled {
                        name: name.clone(),
                        ready: *ready,
                    });
                }
            }
            Ok((!lines.is_empty() && settled.len() == lines.len()).then_some(settled))
        },
    )
    .await;
    settled.map_err(|error| {
        if testkit::wait::timed_out(&error) {
            anyhow::anyhow!(
                "not every example settled within {}s",
                SETTLE_TIMEOUT.as_secs()
            )
        } else {
            error
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words that only make sense while the servers are up.
    const LIVE_ONLY: [&str; 5] = ["KUBECONFIG", "kubectl", "curl", "http://", "Ctrl-C"];

    #[test]
    fn exiting_prints_no_command_for_the_stopped_servers() {
        let text = closing_text(&Ending::Exited { kept_log: None });
        for word in LIVE_ONLY {
            assert!(!text.contains(word), "{word:?} in {text:?}");
        }
        assert!(text.contains("stopped the operator, the Bedrock emulator and the control plane"));
        assert!(text.contains("`cargo xtask demo` without --exit-when-settled"));
        assert!(text.contains("TESTKIT_KEEP_TEMP=true keeps it"));
    }

    #[test]
    fn exiting_names_the_operator_log_only_when_it_was_kept() {
        let text = closing_text(&Ending::Exited {
            kept_log: Some(Path::new("cp-dir/operator.log")),
        });
        assert!(text.contains("Operator log (kept): cp-dir/operator.log"));
        for word in LIVE_ONLY {
            assert!(!text.contains(word), "{word:?} in {text:?}");
        }
    }

    #[test]
    fn keeping_the_servers_up_prints_how_to_try_them() {
        let text = closing_text(&Ending::KeptUp {
            kubeconfig: Path::new("cp-dir/admin.kubeconfig"),
            namespace: "demo-abcde",
            emulator_url: "http://127.0.0.1:40123",
            operator_log: Path::new("cp-dir/operator.log"),
        });
        assert!(text.starts_with("Try it yourself:\n"));
        assert!(text.contains("\n  export KUBECONFIG=cp-dir/admin.kubeconfig\n"));
        assert!(text.contains("\n  kubectl get bedrock -n demo-abcde "));
        assert!(text.contains("\n  curl -s http://127.0.0.1:40123/__emulator/models "));
        assert!(text.contains("Operator log: cp-dir/operator.log\n"));
        assert!(text.contains("Press Ctrl-C to stop the demo"));
    }

    #[test]
    fn summary_counts_ready_and_failed_examples() {
        let example = |name: &str, ready| Settled {
            name: name.into(),
            ready,
        };
        assert_eq!(
            settled_summary(&[
                example("nova-support-assistant", true),
                example("demo-failing-import", false),
                example("nova-adopted", true),
            ]),
            "every example settled: 2 Ready (nova-support-assistant, nova-adopted), \
             1 Failed (demo-failing-import)"
        );
        assert_eq!(
            settled_summary(&[example("nova-support-assistant", true)]),
            "every example settled: 1 Ready (nova-support-assistant)"
        );
    }
}
