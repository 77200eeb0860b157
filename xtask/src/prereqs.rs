//! Tools the tests need beyond Rust, installed on demand and cached outside the checkout:
//! Lua 5.4 with lua-cjson (to run the Argo CD health check) from Debian, and a Python virtual
//! environment with PyPI's helm-python-sdk (real Helm v4 code, for the chart tests).
//!
//! Tests find them through the environment variables set here (`BEDROCK_OPERATOR_LUA`,
//! `BEDROCK_OPERATOR_PYTHON`); `cargo xtask test` exports both.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Debian packages for the Lua interpreter and its JSON module.
const LUA_PACKAGES: &[&str] = &["lua5.4", "lua-cjson"];
/// PyPI packages of the chart tests' virtual environment, pinned.
const PYTHON_PACKAGES: &[&str] = &["helm-python-sdk==0.2.2", "PyYAML==6.0.3"];

pub const LUA_ENV: &str = "BEDROCK_OPERATOR_LUA";
pub const PYTHON_ENV: &str = "BEDROCK_OPERATOR_PYTHON";

/// What the tests get.
#[derive(Debug)]
pub struct Tools {
    pub lua: PathBuf,
    pub python: PathBuf,
}

pub fn ensure() -> Result<Tools> {
    Ok(Tools {
        lua: ensure_lua()?,
        python: ensure_python()?,
    })
}

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("bedrock-operator")
}

fn installed(package: &str) -> bool {
    Command::new("dpkg")
        .args(["-s", package])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ensure_lua() -> Result<PathBuf> {
    let missing: Vec<&str> = LUA_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed(p))
        .collect();
    if !missing.is_empty() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        if !root {
            bail!(
                "missing Debian packages {missing:?}: run `apt-get install -y {}` as root",
                missing.join(" ")
            );
        }
        eprintln!("xtask: installing {missing:?}");
        let update = Command::new("apt-get").args(["update", "-qq"]).status()?;
        if !update.success() {
            bail!("apt-get update failed");
        }
        let status = Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()?;
        if !status.success() {
            bail!("apt-get install {missing:?} failed");
        }
    }
    Ok(PathBuf::from("/usr/bin/lua5.4"))
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
