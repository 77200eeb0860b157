//! botocore as a second client for the emulator: the version pinned in
//! `testkit/python/requirements.txt`, installed once per machine with the machine's
//! `python3 -m pip install --target` (no virtualenv) into
//! `${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-operator/python/botocore-<hash>/site-packages/`,
//! where `<hash>` is taken over the requirements file: a version bump installs anew, an unchanged
//! file takes no time. One install at a time, under a lock next to it; the install goes to a
//! side folder and is renamed into place, so a crash never leaves half a botocore behind.
//!
//! ```no_run
//! let python = testkit::python::botocore()?;
//! let status = python.command().arg("-c").arg("import botocore").status()?;
//! # anyhow::Ok(())
//! ```

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::gotools::{find_in_path, is_executable};
use crate::process;

/// The pinned requirements, embedded: the cache key and what pip installs.
pub const REQUIREMENTS: &str = include_str!("../python/requirements.txt");
/// Environment variable: the Python interpreter to use instead of `python3` from `PATH`.
pub const PYTHON_ENV: &str = "TESTKIT_PYTHON";
/// Environment variable: install again although the packages are in the cache.
pub const REINSTALL_ENV: &str = "TESTKIT_REINSTALL";
/// The file written once an install is complete.
const MARKER: &str = "installed";

/// A Python interpreter with the pinned botocore first on its module path.
#[derive(Debug, Clone)]
pub struct Python {
    interpreter: PathBuf,
    site_packages: PathBuf,
}

impl Python {
    /// `python3` with the pinned packages first on `PYTHONPATH` (ahead of any botocore the
    /// machine has installed itself) and the user's site-packages switched off.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.interpreter);
        let mut path = OsString::from(self.site_packages.as_os_str());
        if let Some(existing) = std::env::var_os("PYTHONPATH").filter(|value| !value.is_empty()) {
            path.push(":");
            path.push(existing);
        }
        command
            .env("PYTHONPATH", path)
            .env("PYTHONNOUSERSITE", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null());
        command
    }

    pub fn interpreter(&self) -> &Path {
        &self.interpreter
    }

    /// The folder the pinned packages are installed in.
    pub fn site_packages(&self) -> &Path {
        &self.site_packages
    }
}

/// The botocore version the requirements pin, e.g. `1.44.8`.
pub fn botocore_version() -> Option<&'static str> {
    REQUIREMENTS.lines().find_map(|line| {
        line.trim()
            .strip_prefix("botocore==")
            .map(|version| version.trim())
    })
}

/// A short hash of the requirements: the cache key.
fn fingerprint() -> String {
    // FNV-1a, 64 bits, as gotools keys its builds.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in REQUIREMENTS.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-operator/python`.
pub fn cache_root() -> PathBuf {
    crate::gotools::cache_root()
        .parent()
        .map(|root| root.join("python"))
        .unwrap_or_else(|| std::env::temp_dir().join("bedrock-operator-python"))
}

/// The folder of this requirements file's install.
pub fn install_dir() -> PathBuf {
    cache_root().join(format!("botocore-{}", fingerprint()))
}

fn is_installed(dir: &Path) -> bool {
    dir.join(MARKER).is_file() && dir.join("site-packages").join("botocore").is_dir()
}

/// Installs the pinned botocore unless it is in the cache; returns how to run Python with it.
/// Blocking; one install at a time (others wait on the lock and then find it installed).
pub fn botocore() -> Result<Python> {
    let interpreter = interpreter()?;
    let dir = install_dir();
    let python = Python {
        interpreter: interpreter.clone(),
        site_packages: dir.join("site-packages"),
    };
    let reinstall = std::env::var(REINSTALL_ENV).is_ok_and(|v| v == "1" || v == "true");
    if is_installed(&dir) && !reinstall {
        return Ok(python);
    }
    let root = cache_root();
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let lock_path = root.join("botocore.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    if is_installed(&dir) && !reinstall {
        return Ok(python);
    }
    install(&interpreter, &dir)?;
    Ok(python)
}

fn install(interpreter: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let _ = std::fs::remove_file(dir.join(MARKER));
    let requirements = dir.join("requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS)
        .with_context(|| format!("writing {}", requirements.display()))?;
    let partial = dir.join("site-packages.partial");
    let target = dir.join("site-packages");
    for old in [&partial, &target] {
        if old.exists() {
            std::fs::remove_dir_all(old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    let log = dir.join("install.log");
    let message = format!(
        "testkit: installing botocore {} with {} -m pip (once per machine); log: {}",
        botocore_version().unwrap_or("?"),
        interpreter.display(),
        log.display()
    );
    tracing::info!("{message}");
    eprintln!("{message}");
    let started = Instant::now();
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let status = Command::new(interpreter)
        .args(["-m", "pip", "install", "--target"])
        .arg(&partial)
        .args([
            "--requirement",
            "requirements.txt",
            "--only-binary=:all:",
            "--no-input",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--no-warn-conflicts",
        ])
        .current_dir(dir)
        .env("PYTHONNOUSERSITE", "1")
        .env("PIP_NO_INPUT", "1")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .status()
        .with_context(|| format!("running {} -m pip", interpreter.display()))?;
    if !status.success() {
        let tail = process::log_tail(&log, 0, process::LOG_TAIL_LINES);
        bail!(
            "installing botocore from {} failed ({status}); PyPI must be reachable. Last lines of {}:\n{tail}",
            requirements.display(),
            log.display()
        );
    }
    std::fs::rename(&partial, &target)
        .with_context(|| format!("moving {} to {}", partial.display(), target.display()))?;
    std::fs::write(dir.join(MARKER), REQUIREMENTS)
        .with_context(|| format!("writing {}", dir.join(MARKER).display()))?;
    let message = format!(
        "testkit: installed botocore in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    tracing::info!("{message}");
    eprintln!("{message}");
    Ok(())
}

/// The interpreter: `TESTKIT_PYTHON`, else `python3` from `PATH`; it must have pip.
fn interpreter() -> Result<PathBuf> {
    let chosen = std::env::var_os(PYTHON_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    let interpreter = match chosen {
        Some(path) if is_executable(&path) => path,
        Some(path) => bail!(
            "{PYTHON_ENV} names {}, which is no executable file",
            path.display()
        ),
        None => find_in_path("python3").with_context(|| {
            format!(
                "the botocore cross-check needs python3 (3.10 or newer) with pip, to install botocore {} from PyPI; \
                 no python3 on PATH. Install it (Debian: apt-get install python3 python3-pip) or set {PYTHON_ENV}.",
                botocore_version().unwrap_or("?")
            )
        })?,
    };
    let pip = Command::new(&interpreter)
        .args(["-m", "pip", "--version"])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} -m pip --version", interpreter.display()))?;
    if !pip.status.success() {
        bail!(
            "the botocore cross-check installs botocore with pip, but `{} -m pip` does not work ({}): {}. \
             Install pip for it (Debian: apt-get install python3-pip) or set {PYTHON_ENV} to a Python that has it.",
            interpreter.display(),
            pip.status,
            String::from_utf8_lossy(&pip.stderr).trim()
        );
    }
    Ok(interpreter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_requirement_is_pinned_exactly() {
        let pins: Vec<&str> = REQUIREMENTS
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        assert!(pins.len() >= 2, "{pins:?}");
        for pin in pins {
            assert!(pin.contains("=="), "not pinned with ==: {pin}");
        }
        assert!(botocore_version().is_some_and(|version| version.starts_with("1.")));
    }

    #[test]
    fn the_install_folder_is_keyed_by_the_requirements() {
        let dir = install_dir();
        let name = dir.file_name().and_then(|name| name.to_str()).unwrap_or("");
        assert_eq!(name, format!("botocore-{}", fingerprint()));
        assert!(dir.starts_with(cache_root()));
        assert!(cache_root().ends_with("bedrock-operator/python"));
    }
}
