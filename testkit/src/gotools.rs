//! Third-party programs the tests run, built once per machine from their own published Go
//! modules: kube-apiserver, kube-controller-manager and kubectl (`k8s.io/kubernetes`, two
//! releases; kubelet, kube-scheduler and kube-proxy of the newest too), etcd
//! (`go.etcd.io/etcd/server/v3`), the helm CLI (`helm.sh/helm/v4`), the CNCF distribution
//! registry (`github.com/distribution/distribution/v3`, an OCI registry for the charts),
//! actionlint (`github.com/rhysd/actionlint`), an Argo CD-style Lua runner
//! (`github.com/yuin/gopher-lua`), and for testkit's node containerd
//! (`github.com/containerd/containerd/v2`), runc (`github.com/opencontainers/runc`) and the
//! CNI plugins (`github.com/containernetworking/plugins`), plus two small programs of ours
//! that run inside its Pods (`pause`, `api-check`).
//!
//! Each lives in `testkit/go/<module>/` as a `go.mod` + `go.sum` of ours (plus, where the module
//! has no `main` to build, a few lines of `main.go`); those files are the only place a version is
//! pinned. They are embedded here, written to a build folder in the cache, and built with the
//! machine's Go into `${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-operator/go/<module>-<hash>/bin/`,
//! where `<hash>` is taken over the embedded files: a version bump builds anew, an unchanged
//! module takes no time. One build at a time per module, under a lock next to it.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::process;

/// Environment variable: build again although the binaries exist.
pub const REBUILD_ENV: &str = "TESTKIT_REBUILD";
/// The oldest Go that builds every module here (`k8s.io/kubernetes` v1.37 says `go 1.26.0`).
const MINIMUM_GO_MINOR: u32 = 26;

/// One Go module of ours and what to build from it.
#[derive(Debug, Clone, Copy)]
pub struct GoModule {
    /// Folder name under `testkit/go/`, and the cache key's prefix.
    pub name: &'static str,
    /// The module's files: `(file name, contents)`.
    pub files: &'static [(&'static str, &'static str)],
    /// What to build: `(package path, binary name)`.
    pub packages: &'static [(&'static str, &'static str)],
    /// The module whose version `-X` linker flags stamp into the binaries (for Kubernetes, whose
    /// version package would otherwise say v0.0.0-master).
    pub stamp_kubernetes_version: bool,
    /// A newer Go toolchain the module needs than the machine's (`GOTOOLCHAIN`), if any.
    pub toolchain: Option<&'static str>,
    /// Build with cgo (`CGO_ENABLED=1`, the machine's C compiler); everything else is built
    /// static without it.
    pub cgo: bool,
    /// Build tags (`-tags`).
    pub tags: &'static [&'static str],
}

macro_rules! module_files {
    ($dir:literal: $($file:literal),+) => {
        &[$(($file, include_str!(concat!("../go/", $dir, "/", $file)))),+]
    };
}

/// kube-apiserver, kube-controller-manager and kubectl of the newest Kubernetes release the
/// suite runs on, and the node programs of the same release (kubelet, kube-scheduler,
/// kube-proxy) for [`crate::node`].
pub const KUBERNETES_NEWEST: GoModule = GoModule {
    name: "kubernetes-newest",
    files: module_files!("kubernetes-newest": "go.mod", "go.sum"),
    packages: KUBERNETES_NEWEST_PACKAGES,
    stamp_kubernetes_version: true,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// The same programs at the oldest Kubernetes release the operator supports (the compatibility
/// leg).
pub const KUBERNETES_OLDEST: GoModule = GoModule {
    name: "kubernetes-oldest",
    files: module_files!("kubernetes-oldest": "go.mod", "go.sum"),
    packages: KUBERNETES_PACKAGES,
    stamp_kubernetes_version: true,
    toolchain: None,
    cgo: false,
    tags: &[],
};

const KUBERNETES_PACKAGES: &[(&str, &str)] = &[
    ("k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver"),
    (
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "kube-controller-manager",
    ),
    ("k8s.io/kubernetes/cmd/kubectl", "kubectl"),
];

/// [`KUBERNETES_PACKAGES`] and what a node runs: only the newest release has a node.
const KUBERNETES_NEWEST_PACKAGES: &[(&str, &str)] = &[
    ("k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver"),
    (
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "kube-controller-manager",
    ),
    ("k8s.io/kubernetes/cmd/kubectl", "kubectl"),
    ("k8s.io/kubernetes/cmd/kubelet", "kubelet"),
    ("k8s.io/kubernetes/cmd/kube-scheduler", "kube-scheduler"),
    ("k8s.io/kubernetes/cmd/kube-proxy", "kube-proxy"),
];

/// etcd 3.6: the server package of `go.etcd.io/etcd/server/v3` is etcd's own `main`.
pub const ETCD: GoModule = GoModule {
    name: "etcd",
    files: module_files!("etcd": "go.mod", "go.sum"),
    packages: &[("go.etcd.io/etcd/server/v3", "etcd")],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// The helm v4 CLI.
pub const HELM: GoModule = GoModule {
    name: "helm",
    files: module_files!("helm": "go.mod", "go.sum"),
    packages: &[("helm.sh/helm/v4/cmd/helm", "helm")],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// The CNCF distribution registry (`registry serve CONFIG`): the OCI registry the chart tests
/// push the packaged chart to and install it from (see [`crate::registry`]).
pub const REGISTRY: GoModule = GoModule {
    name: "registry",
    files: module_files!("registry": "go.mod", "go.sum"),
    packages: &[(
        "github.com/distribution/distribution/v3/cmd/registry",
        "registry",
    )],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// actionlint, the linter of GitHub Actions workflows (the release workflow is checked with it).
pub const ACTIONLINT: GoModule = GoModule {
    name: "actionlint",
    files: module_files!("actionlint": "go.mod", "go.sum"),
    packages: &[("github.com/rhysd/actionlint/cmd/actionlint", "actionlint")],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// `argocd-lua`: a main of ours around Argo CD's Lua interpreter (`github.com/yuin/gopher-lua`
/// at the version Argo CD pins) that computes the health Argo CD would show from a health.lua,
/// with Argo CD's rules around the script (see its main.go).
pub const ARGOCD_LUA: GoModule = GoModule {
    name: "argocd-lua",
    files: module_files!("argocd-lua": "go.mod", "go.sum", "main.go"),
    packages: &[("bedrock-operator.dev/testkit/argocd-lua", "argocd-lua")],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// containerd 2, its runc shim (`containerd-shim-runc-v2`) and `ctr`: the container runtime of
/// testkit's node, as on EKS nodes.
pub const CONTAINERD: GoModule = GoModule {
    name: "containerd",
    files: module_files!("containerd": "go.mod", "go.sum"),
    packages: &[
        (
            "github.com/containerd/containerd/v2/cmd/containerd",
            "containerd",
        ),
        (
            "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",
            "containerd-shim-runc-v2",
        ),
        ("github.com/containerd/containerd/v2/cmd/ctr", "ctr"),
    ],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// runc, the OCI runtime containerd's shim starts containers with. Its `nsenter` package is C
/// (it runs before the Go runtime to join namespaces), so it needs cgo; with the `seccomp` tag
/// it links libseccomp (`libseccomp-dev` on Debian), so Pods' seccomp profiles are enforced.
pub const RUNC: GoModule = GoModule {
    name: "runc",
    files: module_files!("runc": "go.mod", "go.sum"),
    packages: &[("github.com/opencontainers/runc", "runc")],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: true,
    tags: &["seccomp"],
};

/// The CNI plugins testkit's node wires Pods with: `bridge`, `host-local` (IPAM), `loopback`
/// and `portmap`.
pub const CNI_PLUGINS: GoModule = GoModule {
    name: "cni-plugins",
    files: module_files!("cni-plugins": "go.mod", "go.sum"),
    packages: &[
        (
            "github.com/containernetworking/plugins/plugins/main/bridge",
            "bridge",
        ),
        (
            "github.com/containernetworking/plugins/plugins/ipam/host-local",
            "host-local",
        ),
        (
            "github.com/containernetworking/plugins/plugins/main/loopback",
            "loopback",
        ),
        (
            "github.com/containernetworking/plugins/plugins/meta/portmap",
            "portmap",
        ),
    ],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// `pause`: the sandbox container of every Pod on testkit's node (ours: the machines cannot pull
/// registry.k8s.io/pause). Static, so an image of this one file runs.
pub const PAUSE: GoModule = GoModule {
    name: "pause",
    files: module_files!("pause": "go.mod", "main.go"),
    packages: &[("bedrock-operator.dev/testkit/pause", "pause")],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// `api-check`: a static program of ours that, inside a Pod, reaches the API server through the
/// `kubernetes` Service with the Pod's ServiceAccount token and CA (see its main.go).
pub const API_CHECK: GoModule = GoModule {
    name: "api-check",
    files: module_files!("api-check": "go.mod", "main.go"),
    packages: &[("bedrock-operator.dev/testkit/api-check", "api-check")],
    stamp_kubernetes_version: false,
    toolchain: None,
    cgo: false,
    tags: &[],
};

/// Everything testkit's node needs built: [`crate::node`] calls `ensure` on each.
pub const NODE_MODULES: &[GoModule] = &[
    KUBERNETES_NEWEST,
    CONTAINERD,
    RUNC,
    CNI_PLUGINS,
    PAUSE,
    API_CHECK,
];

impl GoModule {
    /// The version the module's `go.mod` requires of `module_path` (e.g. `v1.37.2`).
    pub fn required_version(&self, module_path: &str) -> Option<&'static str> {
        let go_mod = self.file("go.mod")?;
        go_mod.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            let first = words.next()?;
            let (path, version) = if first == "require" {
                (words.next()?, words.next()?)
            } else {
                (first, words.next()?)
            };
            (path == module_path && version.starts_with('v')).then_some(version)
        })
    }

    fn file(&self, name: &str) -> Option<&'static str> {
        self.files
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, text)| *text)
    }

    /// The Kubernetes release of a `kubernetes-*` module, e.g. `v1.37.2`.
    pub fn kubernetes_version(&self) -> Option<&'static str> {
        self.required_version("k8s.io/kubernetes")
    }

    /// A short hash of the embedded files: the cache key.
    fn fingerprint(&self) -> String {
        // FNV-1a, 64 bits: enough to tell versions of a handful of small files apart.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, text) in self.files {
            for byte in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    }

    /// The folder the binaries are built into.
    pub fn bin_dir(&self) -> PathBuf {
        cache_root()
            .join(format!("{}-{}", self.name, self.fingerprint()))
            .join("bin")
    }

    /// The path of one built binary (no build).
    pub fn binary(&self, name: &str) -> PathBuf {
        self.bin_dir().join(name)
    }

    fn binary_names(&self) -> impl Iterator<Item = &'static str> {
        self.packages.iter().map(|(_, name)| *name)
    }

    fn is_built(&self) -> bool {
        self.binary_names()
            .all(|name| is_executable(&self.binary(name)))
    }

    /// Builds the binaries unless they are in the cache; returns their folder. Blocking; one
    /// build per module at a time (others wait on the lock and then find the binaries).
    pub fn ensure(&self) -> Result<PathBuf> {
        let rebuild = std::env::var(REBUILD_ENV).is_ok_and(|v| v == "1" || v == "true");
        if self.is_built() && !rebuild {
            return Ok(self.bin_dir());
        }
        let root = cache_root();
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let lock_path = root.join(format!("{}.lock", self.name));
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("locking {}", lock_path.display()))?;
        if self.is_built() && !rebuild {
            return Ok(self.bin_dir());
        }
        self.build()?;
        Ok(self.bin_dir())
    }

    fn build(&self) -> Result<()> {
        let bin = self.bin_dir();
        let dir = bin.parent().context("bin dir has a parent")?.to_path_buf();
        let src = dir.join("src");
        std::fs::create_dir_all(&src).with_context(|| format!("creating {}", src.display()))?;
        std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
        for (name, text) in self.files {
            std::fs::write(src.join(name), text)
                .with_context(|| format!("writing {}", src.join(name).display()))?;
        }
        let go = go_command(self.toolchain)?;
        let log = dir.join("build.log");
        let message = format!(
            "testkit: building {} from Go modules (once per machine; Kubernetes takes 5-15 minutes on 2 cores); log: {}",
            self.binary_names().collect::<Vec<_>>().join(", "),
            log.display()
        );
        tracing::info!("{message}");
        eprintln!("{message}");
        let started = Instant::now();
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        // One `go build` per binary (`-o` names it); they share Go's build cache, so the
        // packages common to several are compiled once.
        for (package, name) in self.packages {
            let mut command = Command::new(&go);
            command
                .current_dir(&src)
                .arg("build")
                .arg("-trimpath")
                .arg(format!("-ldflags={}", self.ldflags().join(" ")));
            if !self.tags.is_empty() {
                command.arg(format!("-tags={}", self.tags.join(",")));
            }
            command
                .arg("-o")
                .arg(bin.join(name))
                .arg(package)
                .env("CGO_ENABLED", if self.cgo { "1" } else { "0" })
                // Our go.sum is complete: refuse to edit it instead of silently resolving anew.
                .env("GOFLAGS", "-mod=readonly -buildvcs=false")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone()?)
                .stderr(log_file.try_clone()?);
            if let Some(toolchain) = self.toolchain {
                command.env("GOTOOLCHAIN", toolchain);
            }
            let status = command
                .status()
                .with_context(|| format!("running {}", go.display()))?;
            if !status.success() {
                let tail = process::log_tail(&log, 0, process::LOG_TAIL_LINES);
                bail!(
                    "building {package} failed ({status}); last lines of {}:\n{tail}",
                    log.display()
                );
            }
        }
        let message = format!(
            "testkit: built {} in {:.0} s",
            self.name,
            started.elapsed().as_secs_f64()
        );
        tracing::info!("{message}");
        eprintln!("{message}");
        Ok(())
    }

    fn ldflags(&self) -> Vec<String> {
        let mut flags = vec!["-s".to_string(), "-w".to_string()];
        if self.stamp_kubernetes_version
            && let Some(version) = self.kubernetes_version()
        {
            let mut parts = version.trim_start_matches('v').split('.');
            let major = parts.next().unwrap_or("1");
            let minor = parts.next().unwrap_or("0");
            let package = "k8s.io/component-base/version";
            flags.extend([
                format!("-X {package}.gitVersion={version}"),
                format!("-X {package}.gitMajor={major}"),
                format!("-X {package}.gitMinor={minor}"),
                format!("-X {package}.gitTreeState=clean"),
                format!("-X {package}.buildDate=1970-01-01T00:00:00Z"),
            ]);
        }
        flags
    }
}

/// `${XDG_CACHE_HOME:-$HOME/.cache}/bedrock-operator/go`.
pub fn cache_root() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("bedrock-operator").join("go")
}

/// The Go command to build with: `go` from `PATH` when it is new enough, else the official
/// install in `/usr/local/go` (Debian's `golang-go` is far older and must not win).
fn go_command(toolchain: Option<&str>) -> Result<PathBuf> {
    let mut seen = Vec::new();
    let candidates = find_in_path("go")
        .into_iter()
        .chain([PathBuf::from("/usr/local/go/bin/go")]);
    for candidate in candidates {
        if !is_executable(&candidate) {
            continue;
        }
        let version = Command::new(&candidate)
            .args(["env", "GOVERSION"])
            .env("GOTOOLCHAIN", "local")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        // With GOTOOLCHAIN set, the go command fetches the newer toolchain itself.
        if toolchain.is_some() || go_minor(&version).is_some_and(|m| m >= MINIMUM_GO_MINOR) {
            return Ok(candidate);
        }
        seen.push(format!("{} ({version})", candidate.display()));
    }
    bail!(
        "testkit needs Go 1.{MINIMUM_GO_MINOR} or newer to build its test programs; found {}. \
         Install Go from https://go.dev/dl into /usr/local/go (Debian's golang-go is too old), \
         or point KUBEBUILDER_ASSETS at a folder with kube-apiserver, etcd and \
         kube-controller-manager.",
        if seen.is_empty() {
            "none".to_string()
        } else {
            seen.join(", ")
        }
    )
}

/// 26 for `go1.26.8`.
fn go_minor(version: &str) -> Option<u32> {
    let rest = version.strip_prefix("go1.")?;
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub(crate) fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pinned_versions_from_go_mod() {
        let newest = KUBERNETES_NEWEST.kubernetes_version().expect("pinned");
        let oldest = KUBERNETES_OLDEST.kubernetes_version().expect("pinned");
        assert!(newest.starts_with("v1."), "{newest}");
        assert!(oldest.starts_with("v1."), "{oldest}");
        assert_ne!(newest, oldest);
        assert!(HELM.required_version("helm.sh/helm/v4").is_some());
        assert!(
            REGISTRY
                .required_version("github.com/distribution/distribution/v3")
                .is_some_and(|v| v.starts_with("v3."))
        );
        assert!(
            ETCD.required_version("go.etcd.io/etcd/server/v3")
                .is_some_and(|v| v.starts_with("v3.6."))
        );
    }

    #[test]
    fn staging_modules_are_replaced_with_the_release_they_belong_to() {
        // k8s.io/kubernetes requires its staging modules at v0.0.0; a dependent module must
        // replace each with the published v0.<minor>.<patch> of the same release.
        for module in [KUBERNETES_NEWEST, KUBERNETES_OLDEST] {
            let version = module.kubernetes_version().expect("pinned");
            let staging = format!("v0.{}", version.trim_start_matches("v1."));
            let go_mod = module.file("go.mod").expect("go.mod");
            let replaces: Vec<&str> = go_mod.lines().filter(|l| l.contains(" => ")).collect();
            assert!(replaces.len() > 20, "{}: {replaces:?}", module.name);
            for line in replaces {
                assert!(
                    line.trim_end().ends_with(&staging),
                    "{}: {line}",
                    module.name
                );
            }
        }
    }

    #[test]
    fn parses_go_versions() {
        assert_eq!(go_minor("go1.26.8"), Some(26));
        assert_eq!(go_minor("go1.19.8"), Some(19));
        assert_eq!(go_minor(""), None);
    }

    #[test]
    fn fingerprints_differ_between_modules() {
        assert_ne!(
            KUBERNETES_NEWEST.fingerprint(),
            KUBERNETES_OLDEST.fingerprint()
        );
    }
}
