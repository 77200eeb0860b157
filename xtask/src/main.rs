//! `cargo xtask <command>`: the project's automation. See `cargo xtask --help`.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use testkit::binaries::Release;

mod bench;
mod chaos;
mod demo;
mod image;
mod prereqs;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "bedrock-operator automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install prerequisites, then run fmt, clippy and every test (what CI runs).
    Test {
        /// Extra arguments for the test runner (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the whole thing on an embedded default: a real control plane, the Bedrock emulator
    /// and the operator, with the examples applied.
    Demo {
        /// Exit once every example has settled instead of waiting for Ctrl-C.
        #[arg(long)]
        exit_when_settled: bool,
    },
    /// A local control plane (kube-apiserver + etcd) for a person to use.
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
    },
    /// Build what the tests need, once per machine: kube-apiserver, kube-controller-manager and
    /// kubectl of both Kubernetes releases, etcd, helm, the OCI registry, actionlint and the Argo
    /// CD Lua runner.
    Prereqs,
    /// Regenerate the committed CRD YAML from the Rust types: crds/ and the chart's templates.
    Crd,
    /// Package the Helm chart (charts/bedrock-operator, at the version its Chart.yaml names)
    /// and, with --push, push it to an OCI registry and print its digest. What a release runs,
    /// and what the chart tests run against their own registry. Logs in with
    /// REGISTRY_USERNAME and REGISTRY_PASSWORD when set, else uses Helm's own logins.
    Chart {
        /// Where to push, e.g. oci://ghcr.io/<org>/charts (the chart's name is appended).
        #[arg(long, value_name = "oci://REGISTRY/PATH")]
        push: Option<String>,
        /// Talk plain HTTP to the registry (a local one on loopback).
        #[arg(long, requires = "push")]
        plain_http: bool,
        /// The packaged chart's default image.repository (values.yaml), e.g.
        /// ghcr.io/<org>/bedrock-operator: the image the release published, so that the
        /// published chart installs it with no value set. Default: the checkout's.
        #[arg(long, value_name = "REPOSITORY")]
        image_repository: Option<String>,
        /// Write the pushed chart's digest (`sha256:…`) to this file.
        #[arg(long, requires = "push")]
        digest_file: Option<PathBuf>,
        /// Folder for the package.
        #[arg(long, default_value = "target/chart")]
        destination: PathBuf,
        /// The helm CLI to use; default: the one testkit builds from testkit/go/helm.
        #[arg(long, env = "HELM_BIN")]
        helm: Option<PathBuf>,
    },
    /// Build the operator's OCI image from the project's own files (no Docker daemon, no base
    /// image): a static binary, CA roots and a non-root user; reproducible from the commit.
    /// Prints the digest; `--push` sends it to a registry.
    Image(Box<image::Args>),
    /// Benchmarks that print their figures.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
    /// The e2e chaos test at full size (release build): many resources, a flaky Bedrock,
    /// operator kills and an apiserver restart; fails on any violation.
    Chaos {
        /// Resources applied at once.
        #[arg(long, default_value_t = 200)]
        resources: usize,
        /// Times the operator is SIGKILLed (and restarted) while they converge.
        #[arg(long, default_value_t = 5)]
        kills: usize,
        /// Seed for the moments of the disruptions and the emulator's faults.
        #[arg(long)]
        seed: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
enum ClusterAction {
    /// Start it in the background and print `export KUBECONFIG=…`.
    Up,
    /// Stop it.
    Down,
}

#[derive(Debug, Subcommand)]
enum BenchTarget {
    /// GetCustomModel requests per second the emulator serves on loopback.
    Emulator,
    /// The release operator against its own control plane and an in-process emulator:
    /// convergence, cost per lifecycle, steady state, memory and start-up, polling policies,
    /// deployments, throughputs, imported models.
    /// Results go to target/bench-results/ (JSON, Markdown, SVG). See docs/benchmarks.md.
    Operator(Box<bench::Args>),
    /// Only the deployment section of `bench operator`: N models and one
    /// BedrockCustomModelDeployment each, created, idle, rolled out to a second model and
    /// deleted; writes per deployment, Bedrock calls per lifecycle, time to Ready.
    Deployments(Box<bench::DeploymentsArgs>),
    /// Only the throughput section of `bench operator`: N models and one
    /// BedrockProvisionedThroughput each (1 model unit, no commitment), created, idle, swapped
    /// to a second model of the same base and deleted; writes per throughput, Bedrock calls per
    /// lifecycle, time to Ready and to swapped.
    Throughputs(Box<bench::ThroughputsArgs>),
    /// Only the imported model section of `bench operator`: N BedrockImportedModels (an import
    /// job from S3 each; no model referenced, nothing swapped), created, idle and deleted;
    /// writes per import, Bedrock calls per lifecycle, time to Ready.
    Imports(Box<bench::ImportsArgs>),
    /// The operator's Pod on testkit's real node, installed from the release image and the
    /// chart (helm install from an OCI registry): its cgroup's peak working set, usage and CPU
    /// while 1,000 resources converge and when a new Pod starts with 10,000 present, against
    /// the chart's requests and limits. Needs root (the node). See docs/benchmarks.md.
    Pod(Box<bench::PodArgs>),
}

/// Where the plain CRD files generated from the Rust types go, relative to the workspace root
/// (the chart's templated copies go to `bedrock_operator::crd::CHART_CRD_TEMPLATES`).
const CRD_FOLDER: &str = "crds";

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    std::env::set_current_dir(&root)?;
    match cli.command {
        Command::Test { args } => test(&root, &args),
        Command::Demo { exit_when_settled } => {
            runtime()?.block_on(demo::run(&root, exit_when_settled))
        }
        Command::Cluster { action } => runtime()?.block_on(async {
            match action {
                ClusterAction::Up => {
                    let kubeconfig = testkit::cluster::up().await?;
                    println!("export KUBECONFIG={}", kubeconfig.display());
                    Ok(())
                }
                ClusterAction::Down => testkit::cluster::down().await,
            }
        }),
        Command::Prereqs => {
            for release in [Release::Newest, Release::Oldest] {
                let binaries = runtime()?.block_on(testkit::binaries::locate_release(release))?;
                println!("{binaries:?}");
            }
            let tools = prereqs::ensure()?;
            println!("{tools:?}");
            Ok(())
        }
        Command::Crd => write_crds(&root),
        Command::Chart {
            push,
            plain_http,
            image_repository,
            digest_file,
            destination,
            helm,
        } => chart(
            &root,
            ChartArgs {
                push: push.as_deref(),
                plain_http,
                image_repository: image_repository.as_deref(),
                digest_file: digest_file.as_deref(),
                destination: &destination,
            },
            helm,
        ),
        Command::Image(args) => runtime()?.block_on(image::run(&root, &args)),
        Command::Bench { target } => match target {
            BenchTarget::Emulator => run(Process::new(cargo()).args([
                "bench",
                "-p",
                "bedrock-emulator",
                "--bench",
                "get_throughput",
            ])),
            BenchTarget::Operator(args) => runtime()?.block_on(bench::run(&root, *args)),
            BenchTarget::Deployments(args) => {
                runtime()?.block_on(bench::run(&root, (*args).into()))
            }
            BenchTarget::Throughputs(args) => {
                runtime()?.block_on(bench::run(&root, (*args).into()))
            }
            BenchTarget::Imports(args) => runtime()?.block_on(bench::run(&root, (*args).into())),
            BenchTarget::Pod(args) => runtime()?.block_on(bench::run_pod(&root, *args)),
        },
        Command::Chaos {
            resources,
            kills,
            seed,
        } => chaos::run(&root, resources, kills, seed),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn workspace_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest
        .parent()
        .context("xtask lives in the workspace")?
        .to_path_buf())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A `cargo` command without the variables `cargo run` set for xtask itself: build scripts that
/// watch such variables would make a nested build start from scratch.
fn nested_cargo() -> Process {
    let mut command = Process::new(cargo());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&key.as_ref())
        {
            command.env_remove(key.as_ref());
        }
    }
    command
}

fn run(command: &mut Process) -> Result<()> {
    eprintln!("xtask: running {command:?}");
    let status = command
        .status()
        .with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// What `cargo xtask chart` was asked.
struct ChartArgs<'a> {
    push: Option<&'a str>,
    plain_http: bool,
    image_repository: Option<&'a str>,
    digest_file: Option<&'a Path>,
    destination: &'a Path,
}

/// `cargo xtask chart [--image-repository REPO] [--push oci://REGISTRY/PATH [--plain-http]
/// [--digest-file FILE]]`.
fn chart(root: &Path, args: ChartArgs<'_>, helm: Option<PathBuf>) -> Result<()> {
    use testkit::chart;
    let helm = match helm {
        Some(binary) => chart::HelmCli::at(binary),
        None => chart::HelmCli::built()?,
    };
    let chart_dir = root.join(testkit::chart::CHART_DIR);
    let package = chart::package_with(
        &helm,
        &chart_dir,
        &root.join(args.destination),
        args.image_repository,
    )?;
    println!("packaged {}", package.path.display());
    if let Some(remote) = args.push {
        let credentials = chart::Credentials::from_env();
        let pushed = chart::push_as(
            &helm,
            &package,
            remote,
            args.plain_http,
            credentials.as_ref(),
        )?;
        println!("pushed {}:{}", pushed.chart_ref, pushed.version);
        println!("digest {}", pushed.digest);
        if let Some(file) = args.digest_file {
            std::fs::write(root.join(file), &pushed.digest)
                .with_context(|| format!("writing {}", file.display()))?;
        }
    }
    Ok(())
}

/// `cargo xtask crd`: the plain CRDs under `crds/` and the chart's templated CRDs, both from the
/// Rust types; files of CRDs that no longer exist are removed from both folders.
fn write_crds(root: &Path) -> Result<()> {
    use bedrock_operator::crd;
    for (folder, files) in [
        (CRD_FOLDER, crd::crd_files()?),
        (crd::CHART_CRD_TEMPLATES, crd::chart_crd_files()?),
    ] {
        let dir = root.join(folder);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let path = entry?.path();
            let generated = files
                .iter()
                .any(|f| path.file_name() == Some(f.file_name.as_ref()));
            if !generated && path.extension().is_some_and(|e| e == "yaml") {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
                println!("removed {folder}/{}", path.display());
            }
        }
        for file in files {
            let path = dir.join(&file.file_name);
            std::fs::write(&path, &file.yaml)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {folder}/{}", file.file_name);
        }
    }
    // Helm would install crds/ once and never again next to the templates; it must not exist.
    let old = root.join("charts/bedrock-operator/crds");
    if old.exists() {
        std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        println!("removed charts/bedrock-operator/crds/ (the CRDs are templates now)");
    }
    Ok(())
}

/// What runs again on the oldest supported Kubernetes release: (test binary, name filter).
/// The CRD installed server-side and client-side with the CEL replay, and whole lifecycles
/// (create → Ready → delete, namespace deletion).
const COMPATIBILITY_LEG: &[(&str, &str)] = &[
    ("crd_server", ""),
    ("e2e", "lifecycle::deletion_policies"),
    ("e2e", "lifecycle::namespace_deletion"),
];

/// The compatibility leg runs on a server testkit builds; a server the user brings is one
/// version only.
fn compatibility_leg_applies() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    !set(testkit::binaries::KUBEBUILDER_ASSETS)
        && !std::env::var(testkit::USE_EXISTING_CLUSTER).is_ok_and(|v| v == "true")
}

/// Every process the test run starts inherits this variable, so the processes that outlive
/// the suite can be told apart from anything else running on the machine.
const RUN_MARKER: &str = "BEDROCK_OPERATOR_TEST_RUN";

/// Processes (pid and command line) that carry `RUN_MARKER=value` in their environment.
fn marked_processes(value: &str) -> Vec<String> {
    let needle = format!("{RUN_MARKER}={value}");
    let mut found = Vec::new();
    for pid in testkit::pids() {
        if pid == std::process::id() {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            // Zombies have an empty command line and are gone once reaped.
            if !cmdline.trim().is_empty() {
                found.push(format!("{pid} {cmdline}"));
            }
        }
    }
    found
}

/// The operator's release image that the tests on testkit's node install: the one
/// `testkit::image::LAYOUT_ENV` names, or built now, before the suite (beside the
/// prerequisites), where a test run on its own builds it too (`CARGO_TARGET_TMPDIR`), so that
/// no test waits for the long build.
fn test_image(root: &Path) -> Result<PathBuf> {
    if let Some(layout) = std::env::var_os(testkit::image::LAYOUT_ENV).filter(|v| !v.is_empty()) {
        eprintln!(
            "xtask: the tests install the image of {}",
            Path::new(&layout).display()
        );
        return Ok(layout.into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| root.join("target"), PathBuf::from);
    let (out, target_dir) = testkit::image::build_dirs(&root.join(target).join("tmp"));
    eprintln!("xtask: building the operator's image for the tests on the node");
    let started = std::time::Instant::now();
    let args = image::Args {
        platform: Vec::new(),
        out: out.clone(),
        push: None,
        plain_http: false,
        digest_file: None,
        rootfs: None,
        target_dir,
    };
    runtime()?.block_on(image::run(root, &args))?;
    eprintln!(
        "xtask: built the image in {:.0?}: {}",
        started.elapsed(),
        out.display()
    );
    Ok(out)
}

/// What runs before the suite: the test programs, once, so that parallel tests never race to
/// build them (both Kubernetes releases when the compatibility leg runs, etcd, helm, the
/// registry, the node's programs), then fmt and clippy. Returns whether the compatibility leg
/// runs.
fn prepare_tests() -> Result<bool> {
    eprintln!(
        "xtask: checking prerequisites (Kubernetes {} and {}, etcd, helm, the OCI registry, the node's programs)",
        Release::Newest.version(),
        Release::Oldest.version()
    );
    let binaries = runtime()?.block_on(testkit::binaries::locate_release(Release::Newest))?;
    eprintln!("xtask: using {binaries:?}");
    let compatibility = compatibility_leg_applies();
    if compatibility {
        let oldest = runtime()?.block_on(testkit::binaries::locate_release(Release::Oldest))?;
        eprintln!("xtask: compatibility leg will use {oldest:?}");
    }
    let tools = prereqs::ensure()?;
    eprintln!("xtask: using {tools:?}");
    run(Process::new(cargo()).args(["fmt", "--all", "--check"]))?;
    run(Process::new(cargo()).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    Ok(compatibility)
}

fn test(root: &Path, args: &[String]) -> Result<()> {
    let marker = format!(
        "{}-{}",
        std::process::id(),
        std::time::UNIX_EPOCH.elapsed()?.as_nanos()
    );

    // The operator's image builds beside the prerequisites, fmt and clippy, in its own target
    // folder: its long single-threaded step (fat LTO) takes the core that the Go links and
    // clippy's last crates leave idle.
    let image = std::thread::spawn({
        let root = root.to_path_buf();
        move || test_image(&root)
    });
    let prepared = prepare_tests();
    let image_layout = image
        .join()
        .map_err(|_| anyhow::anyhow!("the image build panicked"))?;
    let compatibility = prepared?;
    let image_layout = image_layout?;

    let nextest = Process::new(cargo())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut command = Process::new(cargo());
    if nextest {
        command.args([
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ]);
    } else {
        command.args(["test", "--workspace", "--all-features", "--no-fail-fast"]);
    }
    if !args.is_empty() {
        if !nextest {
            command.arg("--");
        }
        command.args(args);
    }
    command
        .current_dir(root)
        .env(testkit::binaries::KUBERNETES_ENV, "newest")
        .env(testkit::image::LAYOUT_ENV, &image_layout)
        .env(RUN_MARKER, &marker);
    let mut result = run(&mut command);

    if compatibility {
        eprintln!(
            "xtask: compatibility leg on Kubernetes {}",
            Release::Oldest.version()
        );
        for (test_binary, filter) in COMPATIBILITY_LEG {
            let mut command = Process::new(cargo());
            command
                .args(["test", "--all-features", "--test", test_binary])
                .current_dir(root)
                .env(testkit::binaries::KUBERNETES_ENV, "oldest")
                .env(RUN_MARKER, &marker);
            if !filter.is_empty() {
                command.args(["--", filter]);
            }
            let leg = run(&mut command);
            if result.is_ok() {
                result = leg;
            }
        }
    } else {
        eprintln!(
            "xtask: no compatibility leg: KUBEBUILDER_ASSETS or USE_EXISTING_CLUSTER chooses the server"
        );
    }

    // Processes killed at the very end may take a moment to be reaped.
    let mut leaked = marked_processes(&marker);
    for _ in 0..20 {
        if leaked.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        leaked = marked_processes(&marker);
    }
    if !leaked.is_empty() {
        eprintln!("xtask: processes left running by the tests:");
        for line in &leaked {
            eprintln!("  {line}");
        }
        result?;
        bail!("the test suite left {} process(es) running", leaked.len());
    }
    eprintln!("xtask: no process started by the tests is left running");
    result
}
