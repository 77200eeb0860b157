//! The Helm chart as an OCI artifact: `helm package` of `charts/bedrock-operator` at the version
//! its `Chart.yaml` names, and `helm push` of the package to an `oci://` registry. One code path
//! for `cargo xtask chart --push oci://REGISTRY/PATH` (what a release runs) and the chart tests,
//! which push to a [`crate::registry::Registry`] on loopback and install from it.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use testkit::chart::{HelmCli, publish};
//! let registry = testkit::registry::Registry::start().await?;
//! let helm = HelmCli::built()?; // the helm of testkit/go/helm
//! let out = tempfile::tempdir()?;
//! let pushed = publish(&helm, "charts/bedrock-operator".as_ref(), out.path(), &registry.oci_ref("charts"), true)?;
//! // helm install bedrock-operator oci://127.0.0.1:PORT/charts/bedrock-operator --version 0.1.0 --plain-http
//! println!("{} {}", pushed.chart_ref, pushed.digest);
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};

use crate::gotools;

/// The chart, relative to the workspace root.
pub const CHART_DIR: &str = "charts/bedrock-operator";

/// A helm CLI and, optionally, a folder of its own for Helm's configuration, cache and data
/// (tests); without one it uses the user's (a release's `helm registry login` credentials).
#[derive(Debug, Clone)]
pub struct HelmCli {
    binary: PathBuf,
    home: Option<PathBuf>,
}

impl HelmCli {
    /// The helm of `testkit/go/helm`, built once per machine (blocking).
    pub fn built() -> Result<Self> {
        let binary = gotools::HELM
            .ensure()
            .context("building the helm CLI (testkit/go/helm)")?
            .join("helm");
        Ok(Self::at(binary))
    }

    /// The helm at `binary`.
    pub fn at(binary: impl Into<PathBuf>) -> Self {
        Self {
            binary: binary.into(),
            home: None,
        }
    }

    /// Keeps Helm's configuration, cache and data (registry logins included) under `home`.
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// `helm` with the environment the tests and xtask agree on: never `$KUBECONFIG`'s cluster
    /// by accident, Helm's folders under `home` when set.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .env_remove("KUBECONFIG")
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .stdin(Stdio::null());
        if let Some(home) = &self.home {
            command
                .env("HELM_CONFIG_HOME", home.join("config"))
                .env("HELM_CACHE_HOME", home.join("cache"))
                .env("HELM_DATA_HOME", home.join("data"));
        }
        command
    }

    /// Runs `helm ARGS`; its stdout and stderr, or an error quoting them.
    pub fn run(&self, args: &[&str]) -> Result<(String, String)> {
        self.run_with(args, None, None)
    }

    /// [`HelmCli::run`] with Helm's registry logins in `registry_config` (instead of the
    /// user's) and `stdin` written to its standard input.
    fn run_with(
        &self,
        args: &[&str],
        registry_config: Option<&Path>,
        stdin: Option<&str>,
    ) -> Result<(String, String)> {
        use std::io::Write;
        let mut command = self.command();
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(config) = registry_config {
            command.env("HELM_REGISTRY_CONFIG", config);
        }
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        if let Some(text) = stdin {
            let mut input = child.stdin.take().context("helm's stdin")?;
            input.write_all(text.as_bytes())?;
        }
        let output = child
            .wait_with_output()
            .with_context(|| format!("waiting for {}", self.binary.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if !output.status.success() {
            bail!(
                "helm {} failed ({}): {}{}",
                args.join(" "),
                output.status,
                stderr.trim_end(),
                stdout.trim_end()
            );
        }
        Ok((stdout, stderr))
    }
}

/// A login for `helm push` (a release's: GHCR's actor and `GITHUB_TOKEN`). The password never
/// goes on a command line: `helm registry login --password-stdin`, into a registry config of its
/// own that is removed after the push.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// `REGISTRY_USERNAME` and `REGISTRY_PASSWORD`, as `cargo xtask image --push` reads them;
    /// `None` when either is unset or empty (then Helm's own logins apply).
    pub fn from_env() -> Option<Self> {
        let username = std::env::var("REGISTRY_USERNAME").ok()?;
        let password = std::env::var("REGISTRY_PASSWORD").ok()?;
        (!username.is_empty() && !password.is_empty()).then_some(Self { username, password })
    }
}

/// A packaged chart: `<name>-<version>.tgz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
}

/// A chart in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// What `helm install` takes: `oci://HOST/PATH/<name>` (with `--version`).
    pub chart_ref: String,
    pub version: String,
    /// The manifest digest the registry stored (`sha256:…`), for pinning `@sha256:` and for
    /// release notes.
    pub digest: String,
    /// The registry speaks plain HTTP: pulls need `--plain-http` too.
    pub plain_http: bool,
}

/// The `name` and `version` of the chart in `chart_dir` (its Chart.yaml).
pub fn chart_metadata(chart_dir: &Path) -> Result<(String, String)> {
    let path = chart_dir.join("Chart.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let chart: serde_yaml::Value =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let field = |key: &str| -> Result<String> {
        chart[key]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("{} has no {key}", path.display()))
    };
    Ok((field("name")?, field("version")?))
}

/// `helm package CHART_DIR --destination OUT_DIR`: the package, at the version Chart.yaml names.
pub fn package(helm: &HelmCli, chart_dir: &Path, out_dir: &Path) -> Result<Package> {
    package_with(helm, chart_dir, out_dir, None)
}

/// The line of the chart's values.yaml that names the default image repository.
const IMAGE_REPOSITORY_LINE: &str = "  repository: bedrock-operator\n";

/// [`package`], with `image_repository` (e.g. `ghcr.io/<org>/bedrock-operator`, the image a
/// release publishes) as the packaged chart's default `image.repository` in place of the
/// checkout's `bedrock-operator` (the name `docker build` gives a local image): the published
/// chart then installs the published image with no value set. Only that line changes.
pub fn package_with(
    helm: &HelmCli,
    chart_dir: &Path,
    out_dir: &Path,
    image_repository: Option<&str>,
) -> Result<Package> {
    let (name, version) = chart_metadata(chart_dir)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    // A copy of the chart with the line replaced; helm package names the package after
    // Chart.yaml, not the folder.
    let staging = tempfile::Builder::new()
        .prefix("bedrock-operator-chart-")
        .tempdir()
        .context("creating a folder for the chart's copy")?;
    let chart_dir = match image_repository {
        None => chart_dir.to_path_buf(),
        Some(repository) => {
            // A tag is a `:` after the last `/` (before it, a `:` is the registry's port).
            let last_segment = repository.rsplit('/').next().unwrap_or_default();
            ensure!(
                !repository.is_empty()
                    && !repository.contains(['@', ' ', '\n'])
                    && !last_segment.contains(':'),
                "--image-repository takes a repository without tag or digest, not {repository:?}"
            );
            let copy = staging.path().join(&name);
            copy_dir(chart_dir, &copy)?;
            let values_path = copy.join("values.yaml");
            let values = std::fs::read_to_string(&values_path)
                .with_context(|| format!("reading {}", values_path.display()))?;
            ensure!(
                values.matches(IMAGE_REPOSITORY_LINE).count() == 1,
                "{} has no single line {IMAGE_REPOSITORY_LINE:?} to replace",
                values_path.display()
            );
            std::fs::write(
                &values_path,
                values.replacen(
                    IMAGE_REPOSITORY_LINE,
                    &format!("  repository: {repository}\n"),
                    1,
                ),
            )
            .with_context(|| format!("writing {}", values_path.display()))?;
            copy
        }
    };
    let chart_dir = chart_dir.as_path();
    let chart = chart_dir.to_str().context("the chart's path is UTF-8")?;
    let out = out_dir.to_str().context("the output path is UTF-8")?;
    helm.run(&["package", chart, "--destination", out])?;
    let path = out_dir.join(format!("{name}-{version}.tgz"));
    ensure!(
        path.is_file(),
        "helm package wrote no {} in {}",
        path.display(),
        out_dir.display()
    );
    Ok(Package {
        path,
        name,
        version,
    })
}

/// `helm push PACKAGE REMOTE [--plain-http]`, `REMOTE` being `oci://HOST/PATH`: where it went
/// and the digest Helm reports. Helm's own registry logins apply.
pub fn push(helm: &HelmCli, package: &Package, remote: &str, plain_http: bool) -> Result<Pushed> {
    push_as(helm, package, remote, plain_http, None)
}

/// [`push`], logged in with `credentials` when given (`helm registry login HOST
/// --password-stdin` into a registry config of its own, used for this push only).
pub fn push_as(
    helm: &HelmCli,
    package: &Package,
    remote: &str,
    plain_http: bool,
    credentials: Option<&Credentials>,
) -> Result<Pushed> {
    let host = remote
        .strip_prefix("oci://")
        .and_then(|rest| rest.split('/').next())
        .filter(|host| !host.is_empty())
        .with_context(|| format!("push to an oci://HOST/PATH reference, not {remote}"))?;
    let remote = remote.trim_end_matches('/');
    let path = package.path.to_str().context("the package path is UTF-8")?;
    let mut args = vec!["push", path, remote];
    if plain_http {
        args.push("--plain-http");
    }
    let logins = tempfile::Builder::new()
        .prefix("bedrock-operator-helm-login-")
        .tempdir()
        .context("creating a folder for the registry login")?;
    let registry_config = logins.path().join("registry.json");
    let (stdout, stderr) = match credentials {
        Some(credentials) => {
            let mut login = vec![
                "registry",
                "login",
                host,
                "--username",
                credentials.username.as_str(),
                "--password-stdin",
            ];
            if plain_http {
                login.push("--plain-http");
            }
            helm.run_with(&login, Some(&registry_config), Some(&credentials.password))
                .with_context(|| format!("logging in to {host} as {}", credentials.username))?;
            helm.run_with(&args, Some(&registry_config), None)?
        }
        None => helm.run(&args)?,
    };
    let printed = format!("{stdout}\n{stderr}");
    let digest = printed
        .lines()
        .find_map(|line| line.trim().strip_prefix("Digest: "))
        .map(str::to_string)
        .with_context(|| format!("helm push printed no digest: {printed}"))?;
    Ok(Pushed {
        chart_ref: format!("{remote}/{}", package.name),
        version: package.version.clone(),
        digest,
        plain_http,
    })
}

/// [`package`] then [`push`]: what `cargo xtask chart --push` does (which logs in with
/// [`Credentials::from_env`] through [`push_as`]).
pub fn publish(
    helm: &HelmCli,
    chart_dir: &Path,
    out_dir: &Path,
    remote: &str,
    plain_http: bool,
) -> Result<Pushed> {
    let package = package(helm, chart_dir, out_dir)?;
    push(helm, &package, remote, plain_http)
}

/// Copies the folder `from` to `to` (files and folders).
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("listing {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Writes the chart folder `chart_path` (relative to the repository root) as it was at git
/// `commit` into `dest` (`git archive`; needs the history, which a full clone has): the chart of
/// an earlier release, to upgrade from. Returns the chart's folder under `dest`.
pub fn export_from_git(
    repository: &Path,
    commit: &str,
    chart_path: &str,
    dest: &Path,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let archive = dest.join("chart.tar");
    let output = Command::new("git")
        .current_dir(repository)
        .args(["archive", "--format=tar", "--output"])
        .arg(&archive)
        .arg(commit)
        .arg(chart_path)
        .output()
        .context("running git archive")?;
    ensure!(
        output.status.success(),
        "git archive {commit} {chart_path} failed (a shallow clone lacks the commit: fetch the \
         history): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = Command::new("tar")
        .current_dir(dest)
        .arg("-xf")
        .arg(&archive)
        .output()
        .context("running tar")?;
    ensure!(
        output.status.success(),
        "tar -xf {} failed: {}",
        archive.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(dest.join(chart_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{LOGIN_PASSWORD, LOGIN_USER, Registry};

    fn chart_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(CHART_DIR)
    }

    /// A registry that wants a login (as GHCR does) refuses an anonymous push and a wrong
    /// password, and takes the chart from `push_as` with the right one; the login is kept in a
    /// registry config of the push's own, never in Helm's home.
    #[tokio::test]
    async fn pushes_with_a_login_and_only_with_the_right_one() -> Result<()> {
        let registry = Registry::start_with_login().await?;
        let home = tempfile::tempdir()?;
        let helm = HelmCli::built()?.with_home(home.path());
        let out = tempfile::tempdir()?;
        let package = package(&helm, &chart_dir(), out.path())?;
        let remote = registry.oci_ref("charts");

        let anonymous = push(&helm, &package, &remote, true);
        let anonymous = format!("{anonymous:?}").to_lowercase();
        assert!(
            anonymous.contains("basic credential not found") || anonymous.contains("401"),
            "{anonymous}"
        );
        let wrong = Credentials {
            username: LOGIN_USER.to_string(),
            password: "not-the-password".to_string(),
        };
        let refused = push_as(&helm, &package, &remote, true, Some(&wrong));
        assert!(
            format!("{refused:?}").contains("logging in to"),
            "{refused:?}"
        );

        let right = Credentials {
            username: LOGIN_USER.to_string(),
            password: LOGIN_PASSWORD.to_string(),
        };
        let pushed = push_as(&helm, &package, &remote, true, Some(&right))?;
        assert!(pushed.digest.starts_with("sha256:"), "{pushed:?}");
        assert!(pushed.plain_http);
        let manifest = format!("/v2/charts/bedrock-operator/manifests/{}", package.version);
        assert!(
            registry.log_has_line(&[
                "http.request.method=PUT",
                &manifest,
                "http.response.status=201",
            ]),
            "the registry stored the chart's manifest:\n{}",
            registry.log_tail()
        );
        assert!(
            !format!("{right:?}").contains(LOGIN_PASSWORD),
            "Debug hides the password"
        );
        let mut leftovers = Vec::new();
        for entry in walk(home.path())? {
            if std::fs::read_to_string(&entry).is_ok_and(|text| text.contains(LOGIN_USER)) {
                leftovers.push(entry);
            }
        }
        assert!(
            leftovers.is_empty(),
            "logins left in Helm's home: {leftovers:?}"
        );
        Ok(())
    }

    /// The packaged chart names the published image as its default; nothing else of its
    /// values differs from the checkout's.
    #[test]
    fn packages_with_the_published_image_as_default() -> Result<()> {
        let home = tempfile::tempdir()?;
        let helm = HelmCli::built()?.with_home(home.path());
        let out = tempfile::tempdir()?;
        let repository = "ghcr.io/example/bedrock-operator";
        let package = package_with(&helm, &chart_dir(), out.path(), Some(repository))?;
        let path = package.path.to_str().context("UTF-8")?;
        let (values, _) = helm.run(&["show", "values", path])?;
        let original = std::fs::read_to_string(chart_dir().join("values.yaml"))?;
        // `helm show values` ends with one more newline than the file.
        assert_eq!(
            values.trim_end(),
            original
                .replacen(
                    IMAGE_REPOSITORY_LINE,
                    &format!("  repository: {repository}\n"),
                    1
                )
                .trim_end()
        );
        let (chart, _) = helm.run(&["show", "chart", path])?;
        assert!(
            chart.contains(&format!("version: {}", package.version)),
            "{chart}"
        );
        assert!(
            package_with(&helm, &chart_dir(), out.path(), Some("ghcr.io/x/y:1.0")).is_err(),
            "a tag is refused"
        );
        package_with(&helm, &chart_dir(), out.path(), Some("127.0.0.1:5000/x/y"))?;
        Ok(())
    }

    /// Every file under `dir`.
    fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                files.extend(walk(&path)?);
            } else {
                files.push(path);
            }
        }
        Ok(files)
    }
}
