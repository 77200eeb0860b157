//! Tools the tests need beyond Rust, installed on demand and cached outside the checkout: a
//! Python virtual environment with PyPI's helm-python-sdk (real Helm v4 code, for the chart
//! tests), and `argocd-lua` (built from our Go module by `testkit::gotools::ARGOCD_LUA`, for the
//! Argo CD health check; the tests find it in the same cache, so building it here only keeps
//! parallel tests from waiting on the build).
//!
//! Tests find Python through the environment variable set here (`BEDROCK_OPERATOR_PYTHON`);
//! `cargo xtask test` exports it.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// PyPI packages of the chart tests' virtual environment, pinned.
const PYTHON_PACKAGES: &[&str] = &["helm-python-sdk==0.2.2", "PyYAML==6.0.3"];

pub const PYTHON_ENV: &str = "BEDROCK_OPERATOR_PYTHON";

/// What the tests get.
#[derive(Debug)]
pub struct Tools {
    pub python: PathBuf,
    /// Shown, not passed on: the Argo CD tests find argocd-lua in the same cache.
    #[expect(dead_code, reason = "read through the Debug output only")]
    pub argocd_lua: PathBuf,
}

pub fn ensure() -> Result<Tools> {
    Ok(Tools {
        python: ensure_python()?,
        argocd_lua: testkit::gotools::ARGOCD_LUA.ensure()?.join("argocd-lua"),
    })
}

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("bedrock-operator")
}

fn ensure_python() -> Result<PathBuf> {
    let venv = cache_dir().join("venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join(".packages");
    let wanted = PYTHON_PACKAGES.join("\n");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    eprintln!(
        "xtask: creating the Python environment for the chart tests in {}",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()?;
    if !status.success() {
        bail!("python3 -m venv failed (Debian: apt-get install python3-venv)");
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PYTHON_PACKAGES)
        .status()
        .context("running pip")?;
    if !status.success() {
        bail!("pip install {PYTHON_PACKAGES:?} failed");
    }
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}
