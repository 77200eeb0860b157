//! Last-resort cleanup for control planes whose guard never drops.
//!
//! A `ControlPlane` kept in a `static` (shared by the tests of one binary) is never dropped: the
//! test harness exits the process instead. The kernel already kills its processes then
//! (PR_SET_PDEATHSIG); this module removes its temp dir from an `atexit` handler, and removes
//! the dirs of test processes that were killed outright the next time a control plane starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::process;

const DIR_PREFIX: &str = "cp-";
const EXIT_KILL_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Entry {
    process_groups: Vec<u32>,
    dir: PathBuf,
    keep_dir: bool,
}

static LIVE: Mutex<BTreeMap<u64, Entry>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static ATEXIT: Once = Once::new();

/// Where control planes of test processes keep their temp dirs.
pub(crate) fn temp_root() -> PathBuf {
    std::env::temp_dir().join("bedrock-operator-testkit")
}

/// Creates the temp dir of a new control plane, named after this process so that a later run can
/// tell whether its owner is still alive, and removes dirs whose owners are gone.
pub(crate) fn create_dir() -> Result<PathBuf> {
    let root = temp_root();
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    remove_orphaned_dirs(&root);
    let dir = tempfile::Builder::new()
        .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
        .tempdir_in(&root)
        .with_context(|| format!("creating a temp dir in {}", root.display()))?
        .keep();
    Ok(dir)
}

fn remove_orphaned_dirs(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !process::is_running(owner) {
            tracing::debug!(dir = %entry.path().display(), "removing the temp dir of a dead test process");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Records a live control plane; returns the key for [`update`] and [`forget`].
pub(crate) fn register(process_groups: Vec<u32>, dir: &Path, keep_dir: bool) -> u64 {
    ATEXIT.call_once(|| {
        // SAFETY: registering a plain extern "C" function; it never unwinds.
        unsafe {
            libc::atexit(cleanup_at_exit);
        }
    });
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let entry = Entry {
        process_groups,
        dir: dir.to_path_buf(),
        keep_dir,
    };
    if let Ok(mut live) = LIVE.lock() {
        live.insert(id, entry);
    }
    id
}

/// Replaces the recorded process groups (after a restart).
pub(crate) fn update(id: u64, process_groups: Vec<u32>) {
    if let Ok(mut live) = LIVE.lock()
        && let Some(entry) = live.get_mut(&id)
    {
        entry.process_groups = process_groups;
    }
}

/// Forgets a control plane that cleaned up after itself.
pub(crate) fn forget(id: u64) {
    if let Ok(mut live) = LIVE.lock() {
        live.remove(&id);
    }
}

extern "C" fn cleanup_at_exit() {
    // Another thread may still hold the lock while the process exits; skip rather than hang.
    let Ok(mut live) = LIVE.try_lock() else {
        return;
    };
    for (_, entry) in std::mem::take(&mut *live) {
        for &group in &entry.process_groups {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(-(group as libc::pid_t), libc::SIGKILL);
            }
        }
        let deadline = Instant::now() + EXIT_KILL_WAIT;
        while entry.process_groups.iter().any(|&p| process::is_running(p))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !entry.keep_dir {
            let _ = std::fs::remove_dir_all(&entry.dir);
        }
    }
}
