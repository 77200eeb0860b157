//! The release operator as the benchmark runs it: its flags, spawning it against a namespace
//! and an emulator, and what /proc says about its CPU and memory.

use anyhow::Result;
use bedrock_emulator::EmulatorHandle;
use testkit::operator::{Operator, OperatorCommand};

use super::Bench;
use super::startup::{STARTUP_BURST, STARTUP_QPS};

impl Bench<'_> {
    /// The flags of every scenario but start-up: the bench's concurrency and rate limit.
    pub(super) fn base_flags(&self) -> Vec<String> {
        let a = self.args;
        let qps = a
            .common
            .rate_limit_qps
            .unwrap_or(a.common.create_rate + a.common.get_rate);
        vec![
            "--concurrency".into(),
            a.common.concurrency.to_string(),
            "--rate-limit-qps".into(),
            qps.to_string(),
            "--rate-limit-burst".into(),
            a.common.rate_limit_burst.to_string(),
        ]
    }

    /// The start-up scenario's operator flags: the bench's concurrency, a rate limit high
    /// enough that converging 10,000 resources takes minutes, not hours.
    pub(super) fn startup_flags(&self) -> Vec<String> {
        vec![
            "--concurrency".into(),
            self.args.common.concurrency.to_string(),
            "--rate-limit-qps".into(),
            STARTUP_QPS.to_string(),
            "--rate-limit-burst".into(),
            STARTUP_BURST.to_string(),
        ]
    }

    /// The operator with the base flags plus `extra`.
    pub(super) fn spawn(
        &self,
        namespace: &str,
        emulator: &EmulatorHandle,
        extra: &[&str],
        tag: &str,
    ) -> Result<Operator> {
        let mut flags = self.base_flags();
        flags.extend(extra.iter().map(|f| f.to_string()));
        self.spawn_with(namespace, emulator, &flags, tag)
    }

    /// The operator with exactly these flags (besides admin address, namespace and logging);
    /// it refuses a flag given twice, so the base flags cannot be overridden by appending.
    /// It logs to `operator-TAG.log` in the run's folder.
    pub(super) fn spawn_with(
        &self,
        namespace: &str,
        emulator: &EmulatorHandle,
        flags: &[String],
        tag: &str,
    ) -> Result<Operator> {
        OperatorCommand::new(
            &self.binary,
            self.plane.kubeconfig_path(),
            &emulator.url(),
            self.out.join(format!("operator-{tag}.log")),
        )
        .namespace(namespace)
        .args(flags)
        .args(["--log-level", "info"])
        .credentials("AKIDBENCH", "bench-secret")
        .env_remove("RUST_LOG")
        .spawn()
    }
}

/// CPU and memory of a running operator, from /proc (0 once the process is gone).
pub(super) trait Usage {
    /// utime + stime in seconds.
    fn cpu_seconds(&self) -> f64;
    /// VmHWM (peak resident set) in MiB.
    fn peak_rss_mib(&self) -> f64;
    /// VmRSS (current resident set) in MiB.
    fn rss_mib(&self) -> f64;
}

impl Usage for Operator {
    fn cpu_seconds(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", pid(self))) else {
            return 0.0;
        };
        // Fields after the command (which may hold spaces) start after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|i| fields.get(*i).and_then(|v| v.parse::<f64>().ok()))
            .sum();
        ticks / clock_ticks()
    }

    fn peak_rss_mib(&self) -> f64 {
        status_mib(self, "VmHWM:")
    }

    fn rss_mib(&self) -> f64 {
        status_mib(self, "VmRSS:")
    }
}

fn pid(operator: &Operator) -> u32 {
    operator.pid().unwrap_or(0)
}

/// A `kB` field of /proc/PID/status in MiB (0 when the process is gone).
fn status_mib(operator: &Operator, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{}/status", pid(operator)))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
