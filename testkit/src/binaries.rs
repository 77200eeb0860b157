//! Finding (or building, once) the kube-apiserver and etcd binaries.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::process;

/// The Kubernetes version `scripts/build-kube-apiserver.sh` builds.
pub const KUBE_APISERVER_VERSION: &str = "1.20.2";

/// Environment variable naming a folder with `kube-apiserver` and `etcd` (the envtest convention).
pub const KUBEBUILDER_ASSETS: &str = "KUBEBUILDER_ASSETS";

const BUILD_SCRIPT: &str = include_str!("../scripts/build-kube-apiserver.sh");
/// The build script's exit code when Debian packages are missing and it cannot install them.
const EXIT_MISSING_PACKAGES: i32 = 3;

/// The two server binaries a control plane runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// Path of `kube-apiserver`.
    pub kube_apiserver: PathBuf,
    /// Path of `etcd`.
    pub etcd: PathBuf,
    /// The minor version of `kube-apiserver` (20 for 1.20.2); flags and CRD fields depend on it.
    pub apiserver_minor: u32,
}

/// The folder holding the built kube-apiserver:
/// `${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-operator/kube-apiserver-1.20.2`.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("bedrock-operator")
        .join(format!("kube-apiserver-{KUBE_APISERVER_VERSION}"))
}

/// Finds the binaries: `$KUBEBUILDER_ASSETS`, else the cache plus `etcd` from `PATH`, else runs
/// the build script (once per machine; concurrent callers wait on a lock in the cache dir).
pub async fn locate() -> Result<Binaries> {
    tokio::task::spawn_blocking(locate_blocking)
        .await
        .context("the binary lookup task panicked")?
}

fn locate_blocking() -> Result<Binaries> {
    if let Some(assets) = std::env::var_os(KUBEBUILDER_ASSETS).filter(|v| !v.is_empty()) {
        let assets = PathBuf::from(assets);
        let kube_apiserver = assets.join("kube-apiserver");
        let etcd = assets.join("etcd");
        for binary in [&kube_apiserver, &etcd] {
            if !is_executable(binary) {
                bail!(
                    "{KUBEBUILDER_ASSETS}={} has no executable {}",
                    assets.display(),
                    binary.display()
                );
            }
        }
        return with_version(kube_apiserver, etcd);
    }

    let dir = cache_dir();
    let kube_apiserver = dir.join("kube-apiserver");
    if let (true, Some(etcd)) = (is_executable(&kube_apiserver), find_in_path("etcd")) {
        return with_version(kube_apiserver, etcd);
    }

    build(&dir)?;
    let etcd = find_in_path("etcd").context(
        "the build script finished but etcd is not on PATH (Debian package etcd-server)",
    )?;
    with_version(kube_apiserver, etcd)
}

/// Runs the embedded build script under an exclusive lock, unless another process built the
/// binary while we waited for the lock.
fn build(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let lock_path = dir.join(".build.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;

    if is_executable(&dir.join("kube-apiserver")) && find_in_path("etcd").is_some() {
        return Ok(());
    }

    let log = dir.join("build.log");
    let message = format!(
        "testkit: building kube-apiserver {KUBE_APISERVER_VERSION} from Debian's source package \
         (once per machine, 3-9 minutes on 2 cores); log: {}",
        log.display()
    );
    tracing::info!("{message}");
    eprintln!("{message}");
    let log_file =
        std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let status = Command::new("bash")
        .arg("-c")
        .arg(BUILD_SCRIPT)
        .arg("build-kube-apiserver.sh")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .status()
        .context("running bash for the kube-apiserver build script")?;
    let tail = process::log_tail(&log, 0, process::LOG_TAIL_LINES);
    match status.code() {
        Some(0) => Ok(()),
        Some(EXIT_MISSING_PACKAGES) => bail!(
            "cannot build kube-apiserver: Debian packages are missing and this user cannot \
             install them.\n{tail}\nInstall them as root, or point {KUBEBUILDER_ASSETS} at a \
             folder with kube-apiserver and etcd, or set USE_EXISTING_CLUSTER=true."
        ),
        _ => bail!(
            "building kube-apiserver failed ({status}); last lines of {}:\n{tail}",
            log.display()
        ),
    }
}

fn with_version(kube_apiserver: PathBuf, etcd: PathBuf) -> Result<Binaries> {
    let output = Command::new(&kube_apiserver)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", kube_apiserver.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let apiserver_minor = parse_minor(&text).with_context(|| {
        format!(
            "unexpected `{} --version` output: {text:?}",
            kube_apiserver.display()
        )
    })?;
    Ok(Binaries {
        kube_apiserver,
        etcd,
        apiserver_minor,
    })
}

/// The minor version from `Kubernetes v1.20.2` (or a bare `v1.33.0-rc.1`).
fn parse_minor(version: &str) -> Option<u32> {
    let v = version.split_whitespace().find(|w| w.starts_with('v'))?;
    let minor = v.trim_start_matches('v').split('.').nth(1)?;
    minor
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minor_versions() {
        assert_eq!(parse_minor("Kubernetes v1.20.2\n"), Some(20));
        assert_eq!(parse_minor("Kubernetes v1.33.0-rc.1"), Some(33));
        assert_eq!(parse_minor("garbage"), None);
    }
}
