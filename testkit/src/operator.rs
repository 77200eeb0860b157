//! The operator binary as a child process, run against a control plane and a Bedrock endpoint
//! (an emulator's URL): how the end-to-end tests, `cargo xtask demo` and `cargo xtask bench`
//! start it. The binary is spawned by path (`env!("CARGO_BIN_EXE_bedrock-operator")` in a test,
//! the built one in xtask), so testkit does not depend on the operator crate.
//!
//! ```no_run
//! # async fn example(plane: &testkit::ControlPlane, emulator_url: &str) -> anyhow::Result<()> {
//! use std::time::Duration;
//! let mut operator = testkit::operator::OperatorCommand::new(
//!     "target/debug/bedrock-operator",
//!     plane.kubeconfig_path(),
//!     emulator_url,
//!     plane.dir().join("operator.log"),
//! )
//! .namespace("my-test")
//! .args(["--sweep-interval", "1s"])
//! .spawn()?;
//! operator.wait_ready(Duration::from_secs(60)).await?;
//! let (status, metrics) = testkit::http::get(operator.admin(), "/metrics").await?;
//! operator.kill().await?; // also killed when dropped
//! # Ok(()) }
//! ```

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// How often [`Operator::wait_ready`] asks `/readyz`.
const READY_POLL: Duration = Duration::from_millis(20);

/// The AWS region the operator is given.
pub const REGION: &str = "us-east-1";

/// How to start the operator binary. Besides what the caller adds it gets: `run`, an admin
/// address on a free loopback port, `KUBECONFIG`, `AWS_ENDPOINT_URL_BEDROCK`, static
/// credentials, `AWS_REGION`, no instance metadata and no `AWS_PROFILE`; its stdout and stderr
/// are appended to the log file.
#[derive(Debug, Clone)]
pub struct OperatorCommand {
    binary: PathBuf,
    kubeconfig: PathBuf,
    bedrock_url: String,
    log: PathBuf,
    access_key: String,
    secret_key: String,
    args: Vec<OsString>,
    /// Applied in order after the defaults: `Some` sets, `None` removes.
    env: Vec<(OsString, Option<OsString>)>,
}

impl OperatorCommand {
    /// `binary run` against the API server of `kubeconfig` and the Bedrock at `bedrock_url`,
    /// logging to `log`.
    pub fn new(
        binary: impl Into<PathBuf>,
        kubeconfig: impl AsRef<Path>,
        bedrock_url: &str,
        log: impl Into<PathBuf>,
    ) -> Self {
        Self {
            binary: binary.into(),
            kubeconfig: kubeconfig.as_ref().to_path_buf(),
            bedrock_url: bedrock_url.to_string(),
            log: log.into(),
            access_key: "AKIDTESTKIT000000001".into(),
            secret_key: "testkit-secret".into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// `--namespace NAMESPACE` (more than one watches each).
    pub fn namespace(self, namespace: &str) -> Self {
        self.args(["--namespace", namespace])
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// The static AWS credentials (a test may scan the logs for them).
    pub fn credentials(mut self, access_key: &str, secret_key: &str) -> Self {
        self.access_key = access_key.into();
        self.secret_key = secret_key.into();
        self
    }

    /// Sets an environment variable, after (so over) the defaults, `KUBECONFIG` included.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((
            key.as_ref().to_os_string(),
            Some(value.as_ref().to_os_string()),
        ));
        self
    }

    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (key, value) in vars {
            self = self.env(key, value);
        }
        self
    }

    /// Removes an inherited environment variable (e.g. `RUST_LOG`).
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_os_string(), None));
        self
    }

    /// Starts the process; it is SIGKILLed when the returned [`Operator`] is dropped.
    pub fn spawn(&self) -> Result<Operator> {
        let admin_port = crate::process::free_port()?;
        let admin = format!("127.0.0.1:{admin_port}");
        if let Some(dir) = self.log.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut command = Command::new(&self.binary);
        command
            .arg("run")
            .args(["--admin-address", &admin])
            .args(&self.args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("AWS_ENDPOINT_URL_BEDROCK", &self.bedrock_url)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE");
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("starting the operator {}", self.binary.display()))?;
        Ok(Operator {
            child,
            log: self.log.clone(),
            admin,
            started: Instant::now(),
        })
    }
}

/// A running operator process; SIGKILLed when dropped.
#[derive(Debug)]
pub struct Operator {
    pub child: Child,
    /// Its log file (shared with earlier processes given the same file).
    pub log: PathBuf,
    admin: String,
    started: Instant,
}

impl Operator {
    /// Where its admin server (`/metrics`, `/livez`, `/readyz`) listens: `127.0.0.1:PORT`.
    pub fn admin(&self) -> &str {
        &self.admin
    }

    /// [`Operator::admin`] as a URL: `http://127.0.0.1:PORT`.
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin)
    }

    /// When it was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Its process id, while it has not been reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Its log file's text so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/readyz` answers 200, at most `deadline` after the spawn; returns the time
    /// since the spawn. Fails at once when the process exits first (it does not know a flag,
    /// say; its log says why).
    pub async fn wait_ready(&mut self, deadline: Duration) -> Result<Duration> {
        let remaining = deadline.saturating_sub(self.started.elapsed());
        let what = format!("the operator at {} to become ready", self.admin);
        let (admin, started, log) = (self.admin.clone(), self.started, self.log.clone());
        let child = &mut self.child;
        crate::wait::until(what, remaining, READY_POLL, async || {
            if crate::http::get(&admin, "/readyz")
                .await
                .is_ok_and(|(status, _)| status == 200)
            {
                return Ok(Some(started.elapsed()));
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the operator exited ({status}) before it became ready; see {}",
                    log.display()
                );
            }
            Ok(None)
        })
        .await
    }

    /// SIGKILL, and waits until it is gone.
    pub async fn kill(&mut self) -> Result<()> {
        // Fails only when it is gone already, which is what was asked.
        self.child.kill().await.ok();
        self.child.wait().await?;
        Ok(())
    }

    /// Sends SIGTERM (the operator shuts down: releases its lease, finishes in-flight work).
    pub fn sigterm(&self) -> Result<()> {
        let pid = self.pid().context("the operator has exited")?;
        let pid = libc::pid_t::try_from(pid).context("a pid out of range")?;
        // SAFETY: kill(2) with a pid of our own child and a valid signal number.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Err(std::io::Error::last_os_error()).context("kill -TERM");
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`; how long it took to exit.
    pub async fn terminate(mut self, grace: Duration) -> Duration {
        let asked = Instant::now();
        if self.sigterm().is_ok() && tokio::time::timeout(grace, self.child.wait()).await.is_ok() {
            return asked.elapsed();
        }
        if let Some(pid) = self.pid() {
            eprintln!("operator {pid} still running {grace:?} after SIGTERM; killing it");
        }
        self.kill().await.ok();
        asked.elapsed()
    }
}
