//! The operator's release image for the tests that run it on testkit's node: built once by the
//! release's own command, `cargo xtask image`, then pushed by each test to its own registry.
//!
//! `cargo xtask test` builds it before the suite starts (so no test waits for it, or shares the
//! two cores with it) and names the OCI layout in [`LAYOUT_ENV`]. A test run on its own (`cargo
//! test --test install`) builds it on first use instead, into its target folder's `tmp`: the
//! first time the production profile (fat LTO) compiles from nothing, 10 to 30 minutes on two
//! cores; later builds are incremental. Cargo's lock on that target folder makes concurrent
//! tests wait for one build.
//!
//! ```no_run
//! # async fn example(registry: &testkit::registry::Registry) -> anyhow::Result<()> {
//! // In an integration test: the workspace and env!("CARGO_TARGET_TMPDIR").
//! let (workspace, target_tmp) = (std::path::Path::new("."), std::path::Path::new("target/tmp"));
//! let layout = testkit::image::operator_layout(workspace, target_tmp).await?;
//! let reference = format!("{}/bedrock-operator:0.1.0", registry.host());
//! let digest = testkit::oci::push_layout(&layout, &reference, true).await?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

/// Names a built OCI layout of the operator's image (`cargo xtask image --out DIR`) for the
/// tests to push instead of building it.
pub const LAYOUT_ENV: &str = "BEDROCK_OPERATOR_IMAGE_LAYOUT";

/// A first build compiles the production profile from nothing.
const BUILD_DEADLINE: Duration = Duration::from_secs(45 * 60);

/// Environment that cargo sets for a test binary (its package's metadata, its dependencies'
/// library path) and a person's shell does not: removed, so the build is the one a person's
/// `cargo xtask image` makes, and reuses its target folder.
const TEST_ONLY_ENV: &[&str] = &[
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_BIN_EXE_",
    "CARGO_CRATE_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "LD_LIBRARY_PATH",
    "OUT_DIR",
];

/// The folder where the layout is built when [`LAYOUT_ENV`] names none, and cargo's target
/// folder for its build, under `target_tmp` (a test's `CARGO_TARGET_TMPDIR`).
pub fn build_dirs(target_tmp: &Path) -> (PathBuf, PathBuf) {
    (
        target_tmp.join("operator-image"),
        target_tmp.join("image-cargo"),
    )
}

/// The OCI layout of the operator's image for this checkout (`workspace`): the one
/// [`LAYOUT_ENV`] names, or one built now with `cargo xtask image` into [`build_dirs`] of
/// `target_tmp`, its output in `target_tmp/xtask-image.log`.
pub async fn operator_layout(workspace: &Path, target_tmp: &Path) -> Result<PathBuf> {
    if let Some(layout) = std::env::var_os(LAYOUT_ENV).filter(|v| !v.is_empty()) {
        let layout = PathBuf::from(layout);
        ensure!(
            layout.join("index.json").is_file(),
            "{LAYOUT_ENV}={} is not an OCI layout (no index.json)",
            layout.display()
        );
        return Ok(layout);
    }
    let (out, target_dir) = build_dirs(target_tmp);
    std::fs::create_dir_all(target_tmp)?;
    // One build at a time writes the layout folder (cargo locks only its target folder).
    let lock_path = target_tmp.join("operator-image.lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    let lock = tokio::task::spawn_blocking(move || lock.lock().map(|()| lock))
        .await?
        .context("locking the operator image's build")?;
    let log = target_tmp.join("xtask-image.log");
    let started = Instant::now();
    xtask(
        workspace,
        &[
            "image",
            "--out",
            &out.to_string_lossy(),
            "--target-dir",
            &target_dir.to_string_lossy(),
        ],
        &log,
        BUILD_DEADLINE,
    )
    .await?;
    drop(lock);
    tracing::info!(
        "built the operator's image in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(out)
}

/// `cargo xtask ARGS` in `workspace`, as from a person's shell, its output in `log`.
async fn xtask(workspace: &Path, args: &[&str], log: &Path, deadline: Duration) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut command = tokio::process::Command::new(cargo);
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if TEST_ONLY_ENV.iter().any(|prefix| text.starts_with(prefix)) {
            command.env_remove(&name);
        }
    }
    let mut child = command
        .current_dir(workspace)
        .arg("xtask")
        .args(args)
        .stdout(output.try_clone()?)
        .stderr(output)
        .kill_on_drop(true)
        .spawn()
        .context("starting cargo xtask")?;
    let status = tokio::time::timeout(deadline, child.wait())
        .await
        .with_context(|| format!("cargo xtask {args:?} did not finish within {deadline:?}"))??;
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        bail!(
            "cargo xtask {args:?} failed ({status}); the end of {}:\n{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}
