//! The cgroup (v1) of a container on testkit's node, as the kubelet reads it: where it is
//! (from /proc/PID/cgroup), its memory and CPU counters, a sampler that reads them once a
//! second, and the peaks `cargo xtask bench pod` reports.
//!
//! Memory: `memory.usage_in_bytes` counts the page cache (for the operator, mostly its own
//! binary, mapped from the image); the kubelet's working set is usage minus
//! `total_inactive_file` of `memory.stat`, what eviction, `kubectl top` and the OOM killer's
//! view of the container come down to. `memory.max_usage_in_bytes` is the kernel's peak of
//! usage (cache included) since the cgroup was created, so no spike between samples escapes it.
//! CPU: `cpuacct.usage`, nanoseconds since the cgroup was created.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// Where the cgroup v1 hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const MIB: f64 = 1024.0 * 1024.0;
/// How often the sampler reads the counters.
pub(super) const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The memory and cpuacct folders of one cgroup.
#[derive(Debug, Clone)]
pub(super) struct Cgroup {
    pub memory: PathBuf,
    pub cpuacct: PathBuf,
}

/// One reading of a cgroup's counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sample {
    /// Seconds since the sampler started.
    pub at: f64,
    /// `cpuacct.usage`: CPU nanoseconds since the cgroup was created.
    pub cpu_ns: u64,
    /// `memory.usage_in_bytes` (page cache included).
    pub usage: u64,
    /// usage − `total_inactive_file`, as the kubelet computes it.
    pub working_set: u64,
    /// `total_rss` of `memory.stat`: anonymous memory.
    pub rss: u64,
    /// `total_cache` of `memory.stat`.
    pub cache: u64,
}

impl Cgroup {
    /// The cgroup of process `pid`: its `memory` and `cpuacct` lines of /proc/PID/cgroup under
    /// the hierarchies' mount points (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/cpu,cpuacct` or
    /// `/sys/fs/cgroup/cpuacct`, as the machine mounts them).
    pub fn of_process(pid: u32) -> Result<Self> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .with_context(|| format!("reading /proc/{pid}/cgroup"))?;
        let (memory_controllers, memory) = controller_path(&text, "memory")
            .with_context(|| format!("no memory cgroup of {pid}: {text}"))?;
        let (cpu_controllers, cpuacct) = controller_path(&text, "cpuacct")
            .with_context(|| format!("no cpuacct cgroup of {pid}: {text}"))?;
        let under = |controllers: &str, path: &str| {
            Path::new(CGROUP_ROOT)
                .join(controllers)
                .join(path.trim_start_matches('/'))
        };
        let cgroup = Self {
            memory: under(memory_controllers, memory),
            cpuacct: under(cpu_controllers, cpuacct),
        };
        for dir in [&cgroup.memory, &cgroup.cpuacct] {
            if !dir.is_dir() {
                bail!(
                    "the cgroup {} of process {pid} is not mounted",
                    dir.display()
                );
            }
        }
        Ok(cgroup)
    }

    fn read(&self, dir: &Path, file: &str) -> Result<String> {
        let path = dir.join(file);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    fn read_u64(&self, dir: &Path, file: &str) -> Result<u64> {
        let text = self.read(dir, file)?;
        text.trim()
            .parse()
            .with_context(|| format!("{file}: {text:?} is not a number"))
    }

    /// The counters now; `at` is seconds since `since`.
    pub fn sample(&self, since: Instant) -> Result<Sample> {
        let cpu_ns = self.read_u64(&self.cpuacct, "cpuacct.usage")?;
        let usage = self.read_u64(&self.memory, "memory.usage_in_bytes")?;
        let stat = MemoryStat::parse(&self.read(&self.memory, "memory.stat")?);
        Ok(Sample {
            at: since.elapsed().as_secs_f64(),
            cpu_ns,
            usage,
            working_set: usage.saturating_sub(stat.inactive_file),
            rss: stat.rss,
            cache: stat.cache,
        })
    }

    /// `memory.max_usage_in_bytes`: the kernel's peak usage, page cache included.
    pub fn max_usage(&self) -> Result<u64> {
        self.read_u64(&self.memory, "memory.max_usage_in_bytes")
    }
}

/// The `(controllers, path)` of the hierarchy of /proc/PID/cgroup (`ID:CONTROLLERS:PATH` lines)
/// whose controllers include `controller`.
fn controller_path<'a>(proc_cgroup: &'a str, controller: &str) -> Option<(&'a str, &'a str)> {
    proc_cgroup.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        controllers
            .split(',')
            .any(|c| c == controller)
            .then_some((controllers, path))
    })
}

/// The fields of `memory.stat` the bench reads (the `total_` ones: this cgroup and any below).
#[derive(Debug, Default, PartialEq, Eq)]
struct MemoryStat {
    rss: u64,
    cache: u64,
    inactive_file: u64,
}

impl MemoryStat {
    fn parse(text: &str) -> Self {
        let mut stat = Self::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(' ') else {
                continue;
            };
            let Ok(value) = value.trim().parse() else {
                continue;
            };
            match key {
                "total_rss" => stat.rss = value,
                "total_cache" => stat.cache = value,
                "total_inactive_file" => stat.inactive_file = value,
                _ => {}
            }
        }
        stat
    }
}

/// A task reading a cgroup every [`SAMPLE_EVERY`] until stopped.
pub(super) struct Sampler {
    cgroup: Cgroup,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Vec<Sample>>,
}

impl Sampler {
    /// Starts sampling `cgroup`; the first sample is taken now.
    pub fn start(cgroup: Cgroup) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let reader = cgroup.clone();
        let task = tokio::spawn(async move {
            let since = Instant::now();
            let mut samples = Vec::new();
            let mut ticks = tokio::time::interval(SAMPLE_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => match reader.sample(since) {
                        Ok(sample) => samples.push(sample),
                        // The container is gone (e.g. OOM-killed): keep what was read.
                        Err(_) => break,
                    },
                    _ = stopped.changed() => break,
                }
            }
            // A last reading at the end of the window.
            if let Ok(sample) = reader.sample(since) {
                samples.push(sample);
            }
            samples
        });
        Self { cgroup, stop, task }
    }

    /// Stops sampling: the figures of the window.
    pub async fn finish(self) -> Result<Peaks> {
        let _ = self.stop.send(true);
        let samples = self.task.await?;
        let max_usage = self.cgroup.max_usage().ok();
        Peaks::of(&samples, max_usage).context("no sample of the Pod's cgroup")
    }
}

/// What one window of samples comes to (results.json, MiB and millicores).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(super) struct Peaks {
    pub window_seconds: f64,
    /// Highest working set of the 1-second samples.
    #[serde(rename = "peakWorkingSetMiB")]
    pub peak_working_set_mib: f64,
    /// The working set of the last sample.
    #[serde(rename = "endWorkingSetMiB")]
    pub end_working_set_mib: f64,
    /// `memory.max_usage_in_bytes` at the end of the window: the cgroup's peak since it was
    /// created, page cache included (None when the cgroup was gone).
    #[serde(rename = "peakUsageMiB")]
    pub peak_usage_mib: Option<f64>,
    /// Highest `total_rss` of the samples.
    #[serde(rename = "peakRssMiB")]
    pub peak_rss_mib: f64,
    /// Highest `total_cache` of the samples.
    #[serde(rename = "peakCacheMiB")]
    pub peak_cache_mib: f64,
    pub peak_cpu_1s_millicores: f64,
    pub peak_cpu_10s_millicores: f64,
    pub mean_cpu_millicores: f64,
    /// CPU seconds over the window.
    pub cpu_seconds: f64,
    /// (seconds since the window started, working set MiB, CPU millicores over the second
    /// before).
    pub timeline: Vec<(f64, f64, f64)>,
}

impl Peaks {
    pub fn of(samples: &[Sample], max_usage: Option<u64>) -> Option<Self> {
        let (first, last) = (samples.first()?, samples.last()?);
        let max = |f: fn(&Sample) -> u64| samples.iter().map(f).max().unwrap_or(0) as f64 / MIB;
        let window = last.at - first.at;
        let cpu_ns = last.cpu_ns.saturating_sub(first.cpu_ns);
        let timeline = samples
            .windows(2)
            .map(|w| {
                (
                    w[1].at,
                    w[1].working_set as f64 / MIB,
                    millicores(w[1].cpu_ns.saturating_sub(w[0].cpu_ns), w[1].at - w[0].at),
                )
            })
            .collect();
        Some(Self {
            window_seconds: window,
            peak_working_set_mib: max(|s| s.working_set),
            end_working_set_mib: last.working_set as f64 / MIB,
            peak_usage_mib: max_usage.map(|bytes| bytes as f64 / MIB),
            peak_rss_mib: max(|s| s.rss),
            peak_cache_mib: max(|s| s.cache),
            peak_cpu_1s_millicores: peak_rate(samples, 1.0),
            peak_cpu_10s_millicores: peak_rate(samples, 10.0),
            mean_cpu_millicores: millicores(cpu_ns, window),
            cpu_seconds: cpu_ns as f64 / 1e9,
            timeline,
        })
    }
}

/// CPU nanoseconds over `seconds` in millicores (1000 = one core busy).
fn millicores(cpu_ns: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    cpu_ns as f64 / 1e6 / seconds
}

/// The highest CPU rate (millicores) over any `window` seconds of `samples`: from each sample
/// to the first one at least `window` later (a tick a few milliseconds early still counts, so
/// that 1-second samples give 1-second windows). 0 when the samples span less than `window`.
fn peak_rate(samples: &[Sample], window: f64) -> f64 {
    let span = window * 0.95;
    samples
        .iter()
        .enumerate()
        .filter_map(|(i, start)| {
            let end = samples[i + 1..].iter().find(|s| s.at - start.at >= span)?;
            Some(millicores(
                end.cpu_ns.saturating_sub(start.cpu_ns),
                end.at - start.at,
            ))
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(at: f64, cpu_ms: u64) -> Sample {
        Sample {
            at,
            cpu_ns: cpu_ms * 1_000_000,
            usage: 0,
            working_set: 0,
            rss: 0,
            cache: 0,
        }
    }

    #[test]
    fn controller_paths_are_found_whatever_the_hierarchies_are_named() {
        let separate = "5:memory:/kubepods/burstable/pod1/abc\n2:cpuacct:/kubepods/burstable/pod1/abc\n1:cpu:/kubepods/burstable/pod1/abc\n0::/\n";
        let joined = "11:cpu,cpuacct:/kubepods/pod2/def\n9:memory:/kubepods/pod2/def\n1:name=systemd:/kubepods/pod2/def\n";
        struct Case {
            name: &'static str,
            proc_cgroup: &'static str,
            controller: &'static str,
            expected: Option<(&'static str, &'static str)>,
        }
        let cases = [
            Case {
                name: "memory, own hierarchy",
                proc_cgroup: separate,
                controller: "memory",
                expected: Some(("memory", "/kubepods/burstable/pod1/abc")),
            },
            Case {
                name: "cpuacct, own hierarchy (not cpu)",
                proc_cgroup: separate,
                controller: "cpuacct",
                expected: Some(("cpuacct", "/kubepods/burstable/pod1/abc")),
            },
            Case {
                name: "cpuacct mounted with cpu",
                proc_cgroup: joined,
                controller: "cpuacct",
                expected: Some(("cpu,cpuacct", "/kubepods/pod2/def")),
            },
            Case {
                name: "v2 only: none",
                proc_cgroup: "0::/kubepods/pod3\n",
                controller: "memory",
                expected: None,
            },
        ];
        for case in cases {
            assert_eq!(
                controller_path(case.proc_cgroup, case.controller),
                case.expected,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn memory_stat_reads_the_hierarchical_totals() {
        let text = "cache 100\nrss 200\ninactive_file 7\ntotal_cache 4096\ntotal_rss 8192\n\
                    total_inactive_file 1024\ntotal_active_file 3072\nhierarchical_memory_limit 9223372036854771712\n";
        assert_eq!(
            MemoryStat::parse(text),
            MemoryStat {
                rss: 8192,
                cache: 4096,
                inactive_file: 1024
            }
        );
    }

    #[test]
    fn peak_rates_over_one_and_ten_seconds() {
        // 100 ms of CPU per second, one second of 900 ms, back to 100 ms: ticks a little late
        // or early, as tokio's interval gives them.
        let mut samples = Vec::new();
        let mut total = 0;
        for i in 0..=20u64 {
            let at = i as f64 + if i % 2 == 0 { 0.002 } else { -0.003 };
            samples.push(cpu(at, total));
            total += if i == 5 { 900 } else { 100 };
        }
        let cases = [
            ("1 s: the busy second", 1.0, 900.0),
            ("10 s: nine quiet seconds and the busy one", 10.0, 180.0),
            ("30 s: longer than the samples", 30.0, 0.0),
        ];
        for (name, window, expected) in cases {
            let rate = peak_rate(&samples, window);
            assert!(
                (rate - expected).abs() < expected * 0.01 + 0.001,
                "{name}: {rate} millicores, expected {expected}"
            );
        }
        let peaks = Peaks::of(&samples, Some(64 * 1024 * 1024)).expect("samples");
        assert!(
            (peaks.mean_cpu_millicores - 140.0).abs() < 1.0,
            "{}",
            peaks.mean_cpu_millicores
        );
        assert!((peaks.cpu_seconds - 2.8).abs() < 1e-9);
        assert_eq!(peaks.peak_usage_mib, Some(64.0));
    }
}
