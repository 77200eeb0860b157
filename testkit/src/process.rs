//! Child processes: spawning them so they cannot outlive their owner, stopping them, reading
//! their logs, and finding free loopback ports.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

/// How long a stopped process gets between SIGTERM and SIGKILL.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);
/// How many log lines an error message quotes.
pub(crate) const LOG_TAIL_LINES: usize = 30;
const EXIT_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Whether a child dies with this process or lives on as a daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// Own process group, killed (SIGKILL) by the kernel when this process dies.
    Supervised,
    /// Own session (setsid), survives this process (for `cargo xtask cluster up`).
    Detached,
}

/// A running child process whose output goes to a log file.
#[derive(Debug)]
pub(crate) struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
    /// Where this run's output starts in `log` (the file is appended to across restarts).
    log_offset: u64,
    /// Set by [`Proc::release`]: the process is a daemon and outlives this handle.
    released: bool,
}

impl Proc {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub(crate) fn spawn(
        name: &'static str,
        mut command: Command,
        log: &Path,
        lifetime: Lifetime,
    ) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let log_offset = file.metadata().map(|m| m.len()).unwrap_or(0);
        let stderr = file
            .try_clone()
            .context("duplicating the log file handle")?;
        command.stdin(Stdio::null()).stdout(file).stderr(stderr);
        let program = command.get_program().to_string_lossy().into_owned();
        let child = match lifetime {
            Lifetime::Supervised => spawn_supervised(command),
            Lifetime::Detached => spawn_detached(command),
        }
        .with_context(|| format!("starting {name} ({program})"))?;
        tracing::debug!(process = name, pid = child.id(), log = %log.display(), "started");
        Ok(Self {
            name,
            child,
            log: log.to_path_buf(),
            log_offset,
            released: false,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The name it was spawned under (e.g. `kubelet`).
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The exit status if the process has already ended.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last lines this run of the process wrote.
    pub(crate) fn log_tail(&self) -> String {
        log_tail(&self.log, self.log_offset, LOG_TAIL_LINES)
    }

    /// This run's log.
    pub(crate) fn log_text(&self) -> String {
        read_from(&self.log, self.log_offset)
    }

    /// Whether this run's log mentions `needle`.
    pub(crate) fn log_contains(&self, needle: &str) -> bool {
        read_from(&self.log, self.log_offset).contains(needle)
    }

    /// An error saying the process ended, quoting its log: its error lines first (klog's
    /// `E…`/`F…` lines, which warnings logged later would push out of the tail), then the tail.
    pub(crate) fn exit_error(&self, status: ExitStatus) -> anyhow::Error {
        let text = read_from(&self.log, self.log_offset);
        let errors: Vec<&str> = text.lines().filter(|line| is_klog_error(line)).collect();
        let errors = errors[errors.len().saturating_sub(10)..].join("\n");
        anyhow!(
            "{} exited early ({status}); error lines of {}:\n{errors}\nlast lines:\n{}",
            self.name,
            self.log.display(),
            self.log_tail()
        )
    }

    /// SIGTERM to the process group, up to `grace` to exit, then SIGKILL. Always reaps the child.
    pub(crate) fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let group = self.child.id() as libc::pid_t;
        signal_group(group, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                tracing::debug!(process = self.name, pid = group, "stopped");
                return;
            }
            thread::sleep(EXIT_POLL_INTERVAL);
        }
        tracing::warn!(
            process = self.name,
            pid = group,
            "did not stop on SIGTERM, killing"
        );
        signal_group(group, libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// Leaves the process running and unsupervised (detached daemons); returns its pid.
    pub(crate) fn release(mut self) -> u32 {
        self.released = true;
        self.child.id()
    }
}

/// A handle dropped early (a failed start, a panicking test) takes its process with it.
impl Drop for Proc {
    fn drop(&mut self) {
        if !self.released {
            self.stop(STOP_GRACE);
        }
    }
}

fn signal_group(group: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions; a negative pid addresses the group.
    unsafe {
        libc::kill(-group, signal);
    }
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns a child that the kernel kills when this process dies.
///
/// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process. Test
/// threads and tokio's blocking threads come and go, so every supervised child is forked by one
/// thread that lives until the process exits.
fn spawn_supervised(mut command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, inbox) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("testkit-spawner".into())
            .spawn(move || {
                for (mut command, reply) in inbox {
                    let _ = reply.send(command.spawn());
                }
            })
            .ok()
            .map(|_| requests)
    });
    let Some(spawner) = spawner else {
        return Err(io::Error::other(
            "the testkit spawner thread could not be started",
        ));
    };

    let parent = std::process::id() as libc::pid_t;
    command.process_group(0);
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe calls
    // (prctl, getppid); it does not allocate.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) == -1
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl; the signal would never come.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let (reply, answer) = mpsc::channel();
    spawner
        .send((command, reply))
        .map_err(|_| io::Error::other("the testkit spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the testkit spawner thread did not answer"))?
}

/// Spawns a daemon in its own session, so it outlives this process and its terminal.
fn spawn_detached(mut command: Command) -> io::Result<Child> {
    // SAFETY: setsid is async-signal-safe and the closure does not allocate.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Whether a process with this pid exists and is not a zombie.
pub(crate) fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself contain spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The pids of every process on the machine (the numeric entries of /proc), as `ps` lists them.
pub fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The command line of a running process, arguments joined by spaces.
pub(crate) fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .map(String::from_utf8_lossy)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Stops a process that is not our child (a detached daemon from an earlier run): SIGTERM to its
/// group, up to `grace` to go away, then SIGKILL.
pub(crate) fn stop_foreign(pid: u32, grace: Duration) {
    if !is_running(pid) {
        return;
    }
    signal_group(pid as libc::pid_t, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !is_running(pid) {
            return;
        }
        thread::sleep(EXIT_POLL_INTERVAL);
    }
    signal_group(pid as libc::pid_t, libc::SIGKILL);
    let deadline = Instant::now() + grace;
    while is_running(pid) && Instant::now() < deadline {
        thread::sleep(EXIT_POLL_INTERVAL);
    }
}

/// A loopback port nobody listens on right now. Another process may take it before we use it;
/// callers retry the start when the server reports "address already in use".
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).context("binding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path)
        && file.seek(SeekFrom::Start(offset)).is_ok()
    {
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_ok() {
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    text
}

/// The last `lines` lines of `path` after byte `offset`.
/// `E1129 23:17:13.168191 …` or `F…`: a klog error or fatal line.
fn is_klog_error(line: &str) -> bool {
    let mut chars = line.chars();
    matches!(chars.next(), Some('E' | 'F')) && chars.take(4).all(|c| c.is_ascii_digit())
}

pub(crate) fn log_tail(path: &Path, offset: u64, lines: usize) -> String {
    let text = read_from(path, offset);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Random hex (for tokens and names), from the kernel's CSPRNG.
pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
