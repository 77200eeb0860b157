//! `cargo xtask image`: the operator's OCI image, built from the project's own files with no
//! Docker daemon and no base image.
//!
//! The image is one layer on nothing: the operator binary, statically linked (glibc's static
//! libc; `+crt-static`), the Mozilla CA roots as a PEM bundle (from the `webpki-root-certs`
//! crate at the version `Cargo.lock` pins), and `/etc/passwd`, `/etc/group` and
//! `/etc/nsswitch.conf` naming the non-root user `nonroot` (65532:65532) the image runs as.
//! Every input comes from the commit: file times and the `created` field are the commit's time,
//! paths of this machine are mapped away from the binary (`--remap-path-prefix`,
//! `-ffile-prefix-map`), the layer's entries are sorted and owned by root, and gzip writes no
//! time or name. So the same commit gives the same digest wherever it is built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use testkit::oci::{MEDIA_TYPE_INDEX, descriptor};

/// The cargo profile of what ships (fat LTO, one codegen unit; see Cargo.toml).
pub const PROFILE: &str = "production";
/// Where the binary is installed in the image.
pub const BINARY_PATH: &str = "usr/local/bin/bedrock-operator";
/// Where the CA bundle is installed in the image (the path rustls-native-certs and OpenSSL read
/// on Debian-like systems; also set as `SSL_CERT_FILE`).
pub const CA_BUNDLE_PATH: &str = "etc/ssl/certs/ca-certificates.crt";
/// The user and group the image runs as (distroless' `nonroot`).
pub const NONROOT: u32 = 65532;

/// One platform the image is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Platform {
    Amd64,
    Arm64,
}

impl Platform {
    /// Parses `linux/amd64` or `linux/arm64`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim() {
            "linux/amd64" => Ok(Self::Amd64),
            "linux/arm64" | "linux/arm64/v8" => Ok(Self::Arm64),
            other => bail!("unsupported platform {other:?}: use linux/amd64 or linux/arm64"),
        }
    }

    /// The platform this machine builds natively.
    pub fn host() -> Result<Self> {
        match std::env::consts::ARCH {
            "x86_64" => Ok(Self::Amd64),
            "aarch64" => Ok(Self::Arm64),
            other => bail!("no image platform for a {other} machine"),
        }
    }

    /// The OCI `architecture`.
    pub fn architecture(self) -> &'static str {
        match self {
            Self::Amd64 => "amd64",
            Self::Arm64 => "arm64",
        }
    }

    /// The OCI `variant`, if any.
    pub fn variant(self) -> Option<&'static str> {
        match self {
            Self::Amd64 => None,
            Self::Arm64 => Some("v8"),
        }
    }

    /// The Rust target triple.
    pub fn triple(self) -> &'static str {
        match self {
            Self::Amd64 => "x86_64-unknown-linux-gnu",
            Self::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The C cross compiler (Debian's `gcc-aarch64-linux-gnu`) when this is not the host's
    /// platform: it compiles the C parts (aws-lc, jemalloc) and links.
    fn cross_gcc(self) -> &'static str {
        match self {
            Self::Amd64 => "x86_64-linux-gnu-gcc",
            Self::Arm64 => "aarch64-linux-gnu-gcc",
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "linux/{}", self.architecture())
    }
}

/// What the commit says about itself: stamped into the labels and the times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The commit (`git rev-parse HEAD`).
    pub revision: String,
    /// The commit's time, seconds since the epoch (`SOURCE_DATE_EPOCH` overrides it).
    pub epoch: i64,
    /// The operator's version (Cargo.toml).
    pub version: String,
    /// The public repository's address (`SOURCE_REPOSITORY_URL`; the release workflow sets it
    /// to the GitHub repository, which links the GHCR package to it), if known.
    pub repository: Option<String>,
}

impl Source {
    /// Reads the commit of the checkout at `root`.
    pub fn of_checkout(root: &Path) -> Result<Self> {
        // A build without the git history (a Docker build context) names it in the environment.
        let revision = match std::env::var("SOURCE_REVISION") {
            Ok(revision) if !revision.is_empty() => revision,
            _ => git(root, &["rev-parse", "HEAD"])?,
        };
        let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(epoch) => epoch
                .trim()
                .parse()
                .with_context(|| format!("SOURCE_DATE_EPOCH={epoch:?} is not a number"))?,
            Err(_) => git(root, &["log", "-1", "--format=%ct", "HEAD"])?
                .parse()
                .context("git log printed no commit time")?,
        };
        Ok(Self {
            revision,
            epoch,
            version: env!("CARGO_PKG_VERSION").to_string(),
            repository: std::env::var("SOURCE_REPOSITORY_URL")
                .ok()
                .filter(|url| !url.is_empty()),
        })
    }

    /// The commit time in RFC 3339, as OCI's `created` wants it.
    pub fn created(&self) -> Result<String> {
        let time = chrono::DateTime::from_timestamp(self.epoch, 0)
            .with_context(|| format!("commit time {} is out of range", self.epoch))?;
        Ok(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }

    /// The `org.opencontainers.image.*` annotations and labels.
    pub fn labels(&self) -> Result<BTreeMap<String, String>> {
        let mut pairs = vec![
            ("title", "bedrock-operator".to_string()),
            (
                "description",
                "Kubernetes operator for Amazon Bedrock imported custom models, their \
                 deployments and Provisioned Throughput"
                    .to_string(),
            ),
            ("version", self.version.clone()),
            ("revision", self.revision.clone()),
            ("created", self.created()?),
            ("licenses", "Apache-2.0".to_string()),
        ];
        if let Some(repository) = &self.repository {
            pairs.push(("source", repository.clone()));
            pairs.push(("url", repository.clone()));
            pairs.push(("documentation", format!("{repository}/tree/main/docs")));
        }
        Ok(pairs
            .into_iter()
            .map(|(key, value)| (format!("org.opencontainers.image.{key}"), value))
            .collect())
    }
}

fn git(root: &Path, args: &[&str]) -> Result<String> {
    let output = Process::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_string())
}

/// One file of the image's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path inside the image, without a leading `/`.
    pub path: String,
    /// Unix permission bits.
    pub mode: u32,
    pub contents: Vec<u8>,
}

/// The files of the root filesystem other than the binary: CA roots and the user database.
pub fn system_files() -> Result<Vec<File>> {
    Ok(vec![
        File {
            path: CA_BUNDLE_PATH.to_string(),
            mode: 0o644,
            contents: ca_bundle()?.into_bytes(),
        },
        File {
            path: "etc/passwd".to_string(),
            mode: 0o644,
            contents: format!(
                "root:x:0:0:root:/root:/sbin/nologin\n\
                 nonroot:x:{NONROOT}:{NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n"
            )
            .into_bytes(),
        },
        File {
            path: "etc/group".to_string(),
            mode: 0o644,
            contents: format!("root:x:0:\nnonroot:x:{NONROOT}:\n").into_bytes(),
        },
        File {
            // glibc's resolver reads it; files first so that a Pod's hostAliases win.
            path: "etc/nsswitch.conf".to_string(),
            mode: 0o644,
            contents: b"hosts: files dns\n".to_vec(),
        },
    ])
}

/// The Mozilla root store (as `webpki-root-certs` ships it) as one PEM bundle.
pub fn ca_bundle() -> Result<String> {
    let blocks: Vec<pem::Pem> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|certificate| pem::Pem::new("CERTIFICATE", certificate.as_ref().to_vec()))
        .collect();
    if blocks.is_empty() {
        bail!("webpki-root-certs has no certificates");
    }
    Ok(pem::encode_many_config(
        &blocks,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    ))
}

/// Builds the operator binary for `platform`: static, with this machine's paths mapped away.
/// Returns its path.
pub fn build_binary(root: &Path, platform: Platform, target_dir: &Path) -> Result<PathBuf> {
    ensure_rust_target(platform)?;
    let triple = platform.triple();
    let env_triple = triple.replace('-', "_");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustup")))
        .context("neither RUSTUP_HOME nor HOME is set")?;
    // Most specific last: rustc applies the last prefix that matches, and the target folder
    // may be inside the checkout.
    let maps = [
        (root.to_path_buf(), "/src"),
        (cargo_home, "/cargo"),
        (rustup_home, "/rustup"),
        (target_dir.to_path_buf(), "/target"),
    ];
    let rustflags = std::iter::once("-C target-feature=+crt-static".to_string())
        .chain(
            maps.iter()
                .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display())),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let cflags = maps
        .iter()
        .map(|(from, to)| format!("-ffile-prefix-map={}={to}", from.display()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Process::new(crate::cargo());
    command
        .current_dir(root)
        .args([
            "build",
            "--locked",
            "-p",
            "bedrock-operator",
            "--profile",
            PROFILE,
        ])
        .args(["--target", triple])
        .arg("--target-dir")
        .arg(target_dir)
        .env(
            format!("CARGO_TARGET_{}_RUSTFLAGS", env_triple.to_uppercase()),
            &rustflags,
        )
        .env(format!("CFLAGS_{env_triple}"), &cflags)
        .env(format!("CXXFLAGS_{env_triple}"), &cflags)
        // A fixed value, not the commit's time: C build scripts (the cc crate) rebuild whenever
        // it changes, which made every commit rebuild most of the dependency tree.
        .env("SOURCE_DATE_EPOCH", "0")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if platform != Platform::host()? {
        let gcc = platform.cross_gcc();
        if testkit_find(gcc).is_none() {
            bail!(
                "building for {platform} on this machine needs {gcc} (Debian/Ubuntu: apt-get \
                 install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
            );
        }
        command.env(format!("CC_{env_triple}"), gcc).env(
            format!("CARGO_TARGET_{}_LINKER", env_triple.to_uppercase()),
            gcc,
        );
    }
    crate::run(&mut command)?;
    let binary = target_dir
        .join(triple)
        .join(PROFILE)
        .join("bedrock-operator");
    let bytes = std::fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
    // A path of this machine in the binary would make the digest depend on where it was built.
    let machine_paths: Vec<String> = maps
        .iter()
        .map(|(from, _)| from.display().to_string())
        .collect();
    let found = paths_in(&bytes, &machine_paths);
    if !found.is_empty() {
        bail!(
            "{} names paths of this machine ({found:?}): the image would not be reproducible",
            binary.display()
        );
    }
    Ok(binary)
}

/// Which of `paths` (followed by `/`) occur in `bytes`.
fn paths_in(bytes: &[u8], paths: &[String]) -> Vec<String> {
    paths
        .iter()
        .filter(|path| {
            let needle = format!("{}/", path.trim_end_matches('/'));
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
        .cloned()
        .collect()
}

fn testkit_find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Adds the Rust standard library of `platform` with rustup unless it is installed.
fn ensure_rust_target(platform: Platform) -> Result<()> {
    let output = Process::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup target list --installed")?;
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed
        .lines()
        .any(|line| line.trim() == platform.triple())
    {
        return Ok(());
    }
    crate::run(Process::new("rustup").args(["target", "add", platform.triple()]))
}

/// Credentials for `--push`: `REGISTRY_USERNAME` and `REGISTRY_PASSWORD` (GHCR: the actor and
/// `GITHUB_TOKEN`), else anonymous.
/// The name of an image that is not pushed: the source tree chart's default `image.repository`.
pub const DEFAULT_REPOSITORY: &str = "bedrock-operator";

/// `cargo xtask image`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Platforms to build, comma-separated: linux/amd64, linux/arm64. Default: this machine's.
    #[arg(long, value_delimiter = ',')]
    pub platform: Vec<String>,
    /// Folder of the OCI image layout written.
    #[arg(long, default_value = "target/image/layout")]
    pub out: PathBuf,
    /// Push the image to this reference (`registry/repository:tag`); credentials from
    /// REGISTRY_USERNAME and REGISTRY_PASSWORD.
    #[arg(long)]
    pub push: Option<String>,
    /// Talk plain HTTP to the registry (a registry on loopback).
    #[arg(long)]
    pub plain_http: bool,
    /// Write the image's digest (`sha256:…`) to this file.
    #[arg(long)]
    pub digest_file: Option<PathBuf>,
    /// Also write the image's root filesystem, as files, into this folder (the Dockerfile
    /// copies it onto `scratch`). Only with one platform.
    #[arg(long)]
    pub rootfs: Option<PathBuf>,
    /// Cargo's target folder for the image's builds (kept apart from the test builds: other
    /// flags, other profile).
    #[arg(long, default_value = "target/image/cargo")]
    pub target_dir: PathBuf,
}

/// The image of `binaries` (one static operator binary per platform) from `source`.
pub fn layout(
    name: &str,
    source: &Source,
    binaries: &[(Platform, Vec<u8>)],
) -> Result<testkit::oci::Layout> {
    use testkit::oci::{Entry, Image, Layout};
    let mtime = u64::try_from(source.epoch).context("a commit before 1970")?;
    let labels = source.labels()?;
    let mut layout = Layout::new(name);
    for (platform, binary) in binaries {
        let mut entries: Vec<Entry> = system_files()?
            .into_iter()
            .map(|file| Entry::file(&file.path, file.mode, file.contents))
            .collect();
        entries.push(Entry::file(BINARY_PATH, 0o755, binary.clone()));
        // The home the passwd entry names, owned by the user (nothing is written there with a
        // read-only root filesystem, but a program that looks for it finds it).
        entries.push(Entry::dir("home/nonroot", 0o750).owner(NONROOT.into(), NONROOT.into()));
        let mut image = Image::new(platform.architecture())
            .mtime(mtime)
            .layer(entries)
            .entrypoint([format!("/{BINARY_PATH}")])
            .cmd(["run"])
            .user(&format!("{NONROOT}:{NONROOT}"))
            .env("PATH", "/usr/local/bin")
            .env("SSL_CERT_FILE", &format!("/{CA_BUNDLE_PATH}"));
        if let Some(variant) = platform.variant() {
            image = image.variant(variant);
        }
        for (key, value) in &labels {
            image = image.label(key, value);
        }
        layout = layout.image(image);
    }
    Ok(layout)
}

/// Builds the image for `args.platform` into `args.out` (and pushes it if asked).
pub async fn run(root: &Path, args: &Args) -> Result<()> {
    let mut platforms = args
        .platform
        .iter()
        .map(|text| Platform::parse(text))
        .collect::<Result<Vec<_>>>()?;
    if platforms.is_empty() {
        platforms.push(Platform::host()?);
    }
    platforms.sort();
    platforms.dedup();
    let source = Source::of_checkout(root)?;
    let target_dir = root.join(&args.target_dir);
    let mut binaries = Vec::new();
    for platform in &platforms {
        let started = std::time::Instant::now();
        let path = build_binary(root, *platform, &target_dir)?;
        let binary = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        eprintln!(
            "xtask: built the {platform} binary in {:.0?}: {:.1} MiB",
            started.elapsed(),
            mib(binary.len() as u64)
        );
        binaries.push((*platform, binary));
    }
    let name = args
        .push
        .clone()
        .unwrap_or_else(|| format!("{DEFAULT_REPOSITORY}:{}", source.version));
    if let Some(rootfs) = &args.rootfs {
        let [(_, binary)] = binaries.as_slice() else {
            bail!("--rootfs writes one platform's files: name one --platform");
        };
        write_rootfs(&root.join(rootfs), binary)?;
    }
    let out = root.join(&args.out);
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    let written = layout(&name, &source, &binaries)?.write_layout(&out)?;
    let sizes = platform_sizes(&out, &platforms)?;
    for (platform, size) in &sizes {
        eprintln!("xtask: image {platform}: {:.1} MiB compressed", mib(*size));
    }
    eprintln!(
        "xtask: wrote {} ({}) to {}",
        name,
        written.digest,
        out.display()
    );
    if let Some(reference) = &args.push {
        let pushed = testkit::oci::push_layout(&out, reference, args.plain_http).await?;
        if pushed != written.digest {
            bail!(
                "pushed {pushed}, but the layout's image is {}",
                written.digest
            );
        }
        eprintln!("xtask: pushed {reference}@{pushed}");
    }
    if let Some(file) = &args.digest_file {
        std::fs::write(root.join(file), &written.digest)
            .with_context(|| format!("writing {}", file.display()))?;
    }
    println!("{}", written.digest);
    Ok(())
}

/// Writes the files of the image (but the owners: the caller's) into `dir`.
fn write_rootfs(dir: &Path, binary: &[u8]) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut files = system_files()?;
    files.push(File {
        path: BINARY_PATH.to_string(),
        mode: 0o755,
        contents: binary.to_vec(),
    });
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("writing {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(file.mode))?;
    }
    std::fs::create_dir_all(dir.join("home/nonroot"))?;
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Each platform's manifest, config and layers, summed, read back from the layout.
fn platform_sizes(layout: &Path, platforms: &[Platform]) -> Result<Vec<(Platform, u64)>> {
    let blob = |digest: &str| -> Result<Vec<u8>> {
        let hex = digest.trim_start_matches("sha256:");
        let path = layout.join("blobs/sha256").join(hex);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let top = &index["manifests"][0];
    let (digest, media_type) = descriptor(top)?;
    let entries: Vec<Value> = if media_type == MEDIA_TYPE_INDEX {
        let nested: Value = serde_json::from_slice(&blob(digest)?)?;
        nested["manifests"].as_array().cloned().unwrap_or_default()
    } else {
        vec![top.clone()]
    };
    let mut sizes = Vec::new();
    for entry in &entries {
        let architecture = entry["platform"]["architecture"]
            .as_str()
            .unwrap_or_default();
        let platform = platforms
            .iter()
            .copied()
            .find(|platform| platform.architecture() == architecture)
            .with_context(|| format!("the layout has an image for {architecture:?}"))?;
        let manifest: Value = serde_json::from_slice(&blob(descriptor(entry)?.0)?)?;
        let mut size = entry["size"].as_u64().unwrap_or_default();
        size += manifest["config"]["size"].as_u64().unwrap_or_default();
        for layer in manifest["layers"].as_array().into_iter().flatten() {
            size += layer["size"].as_u64().unwrap_or_default();
        }
        sizes.push((platform, size));
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source {
            revision: "0123456789abcdef0123456789abcdef01234567".to_string(),
            epoch: 1_765_000_000,
            version: "0.1.0".to_string(),
            repository: Some("https://github.com/example/bedrock-operator".to_string()),
        }
    }

    fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(&folder).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path
                        .strip_prefix(dir)
                        .expect("prefix")
                        .display()
                        .to_string();
                    files.insert(relative, std::fs::read(&path).expect("read"));
                }
            }
        }
        files
    }

    #[test]
    fn machine_paths_are_found_in_a_binary() {
        let binary = b"\x00panicked at /cargo/registry/src/x.rs\x00/home/ci/work/src/main.rs\x00";
        let paths = [
            "/home/ci/work".to_string(),
            "/root/.cargo".to_string(),
            "/home/ci/work/target/".to_string(),
        ];
        assert_eq!(paths_in(binary, &paths), ["/home/ci/work"]);
        assert!(paths_in(b"/home/ci/workshop/", &paths[..1]).is_empty());
    }

    #[test]
    fn platforms_parse_from_their_oci_names() {
        let cases = [
            ("linux/amd64", Some(Platform::Amd64)),
            ("linux/arm64", Some(Platform::Arm64)),
            ("linux/arm64/v8", Some(Platform::Arm64)),
            (" linux/amd64 ", Some(Platform::Amd64)),
            ("linux/arm/v7", None),
            ("windows/amd64", None),
            ("amd64", None),
        ];
        for (text, expected) in cases {
            assert_eq!(Platform::parse(text).ok(), expected, "{text}");
        }
        assert_eq!(Platform::Arm64.to_string(), "linux/arm64");
        assert_eq!(Platform::Arm64.variant(), Some("v8"));
    }

    #[test]
    fn the_ca_bundle_holds_every_mozilla_root_as_pem() {
        let bundle = ca_bundle().expect("bundle");
        let parsed = pem::parse_many(&bundle).expect("PEM");
        assert_eq!(parsed.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(parsed.len() > 100, "{} roots", parsed.len());
        assert!(parsed.iter().all(|block| block.tag() == "CERTIFICATE"));
        assert!(!bundle.contains('\r'));
    }

    #[test]
    fn the_user_database_names_nonroot_as_the_image_runs_it() {
        let files = system_files().expect("files");
        let passwd = files
            .iter()
            .find(|f| f.path == "etc/passwd")
            .expect("passwd");
        let passwd = String::from_utf8(passwd.contents.clone()).expect("utf-8");
        assert!(
            passwd
                .lines()
                .any(|line| line.starts_with("nonroot:x:65532:65532:"))
        );
        let group = files.iter().find(|f| f.path == "etc/group").expect("group");
        assert!(String::from_utf8_lossy(&group.contents).contains("nonroot:x:65532:"));
    }

    #[test]
    fn labels_carry_the_commit_and_its_time() {
        let labels = source().labels().expect("labels");
        let label = |key: &str| labels[&format!("org.opencontainers.image.{key}")].as_str();
        assert_eq!(
            label("revision"),
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(label("created"), "2025-12-06T05:46:40Z");
        assert_eq!(label("version"), "0.1.0");
        assert_eq!(label("licenses"), "Apache-2.0");
        assert_eq!(
            label("source"),
            "https://github.com/example/bedrock-operator"
        );
        let unknown = Source {
            repository: None,
            ..source()
        };
        let labels = unknown.labels().expect("labels");
        assert!(!labels.contains_key("org.opencontainers.image.source"));
    }

    #[test]
    fn the_same_commit_and_binaries_give_the_same_digest() {
        let binaries = [
            (Platform::Amd64, b"\x7fELF amd64".to_vec()),
            (Platform::Arm64, b"\x7fELF arm64".to_vec()),
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        let name = "registry.example/bedrock-operator:0.1.0";
        let one = layout(name, &source(), &binaries)
            .expect("layout")
            .write_layout(&dir.path().join("one"))
            .expect("write");
        let two = layout(name, &source(), &binaries)
            .expect("layout")
            .write_layout(&dir.path().join("two"))
            .expect("write");
        assert_eq!(one.digest, two.digest);
        assert_eq!(
            files_of(&dir.path().join("one")),
            files_of(&dir.path().join("two"))
        );

        let later = Source {
            epoch: source().epoch + 1,
            ..source()
        };
        let three = layout(name, &later, &binaries)
            .expect("layout")
            .write_layout(&dir.path().join("three"))
            .expect("write");
        assert_ne!(one.digest, three.digest, "the commit time is in the image");
        let other = [
            (Platform::Amd64, b"\x7fELF other".to_vec()),
            binaries[1].clone(),
        ];
        let four = layout(name, &source(), &other)
            .expect("layout")
            .write_layout(&dir.path().join("four"))
            .expect("write");
        assert_ne!(one.digest, four.digest, "the binary is in the image");
    }

    #[test]
    fn the_image_runs_the_binary_as_nonroot_with_the_ca_bundle() {
        let dir = tempfile::tempdir().expect("tempdir");
        layout("x/y:1", &source(), &[(Platform::Amd64, b"bin".to_vec())])
            .expect("layout")
            .write_layout(dir.path())
            .expect("write");
        let files = files_of(dir.path());
        let blob = |digest: &str| -> Value {
            let hex = digest.trim_start_matches("sha256:");
            serde_json::from_slice(&files[&format!("blobs/sha256/{hex}")]).expect("json")
        };
        let index: Value = serde_json::from_slice(&files["index.json"]).expect("index");
        let manifest = blob(index["manifests"][0]["digest"].as_str().expect("digest"));
        let config = blob(manifest["config"]["digest"].as_str().expect("config"));
        assert_eq!(config["config"]["User"], "65532:65532");
        assert_eq!(
            config["config"]["Entrypoint"][0],
            "/usr/local/bin/bedrock-operator"
        );
        assert_eq!(config["config"]["Cmd"][0], "run");
        assert!(
            config["config"]["Env"]
                .as_array()
                .expect("env")
                .contains(&Value::from(
                    "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
                ))
        );
        assert_eq!(
            config["config"]["Labels"]["org.opencontainers.image.revision"],
            source().revision
        );
        assert_eq!(config["created"], "2025-12-06T05:46:40Z");
    }
}
