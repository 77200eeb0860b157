//! Every version of the benchmark's objects of one kind (deployments, throughputs, imports),
//! from one watch of their namespace: how many of them the operator wrote in a window, per
//! object, and when each object first looked a given way (Ready, swapped to its new model,
//! gone).
//!
//! The API server's request counters say how many writes were sent; the watch says which
//! object each one changed, so the figures can be per object (the worst one, not only the
//! mean). A write that changed nothing makes no version, so it shows in the counters only.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use bedrock_operator::api::conditions::READY;
use bedrock_operator::controller::Managed;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::runtime::WatchStreamExt;
use serde::Serialize;
use testkit::wait;

/// How often a wait looks at the latest versions (they are in memory: no API request).
const LOOK: Duration = Duration::from_millis(100);
/// Each watch request ends after this long and the next resumes from the last version seen.
const WATCH_SECONDS: u32 = 240;

/// A kind whose versions the benchmark records: what a version says beyond Ready.
pub(super) trait Watched: Managed {
    /// The status describes the current spec, the last model swap is complete and the object
    /// serves the model the spec names.
    fn swapped(&self) -> bool;
}

/// Ready is True.
pub(super) fn is_ready<K: Managed>(object: &K) -> bool {
    object
        .conditions()
        .iter()
        .any(|c| c.type_ == READY && c.status == "True")
}

/// What made a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Added,
    Modified,
    Deleted,
}

/// One version of one object as the watch delivered it.
#[derive(Debug, Clone)]
pub(super) struct Version {
    /// When the watch delivered it.
    pub at: Instant,
    pub name: String,
    pub change: Change,
    pub generation: i64,
    pub ready: bool,
    /// Ready, and [`Watched::swapped`].
    pub swapped: bool,
}

impl Version {
    fn new<K: Watched>(at: Instant, change: Change, object: &K) -> Self {
        let ready = is_ready(object);
        Self {
            at,
            name: object.meta().name.clone().unwrap_or_default(),
            change,
            generation: object.meta().generation.unwrap_or_default(),
            ready,
            swapped: ready && object.swapped(),
        }
    }
}

/// A watch running in the background, recording every version.
pub(super) struct Recorder {
    /// The objects, plural, for messages: "deployments".
    objects: &'static str,
    versions: Arc<Mutex<Vec<Version>>>,
    task: tokio::task::JoinHandle<Result<()>>,
}

impl Recorder {
    /// Starts watching from the namespace's current resource version: every version written
    /// after this returns is recorded.
    pub(super) async fn start<K: Watched>(api: Api<K>, objects: &'static str) -> Result<Self> {
        let list = api.list(&ListParams::default().limit(1)).await?;
        let from = list.metadata.resource_version.unwrap_or_default();
        let versions = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(record(api, from, Arc::clone(&versions)));
        Ok(Self {
            objects,
            versions,
            task,
        })
    }

    /// Every version so far, in the order the watch delivered them.
    pub(super) fn versions(&self) -> Vec<Version> {
        self.versions.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Waits until `check` holds for the latest version of every one of `names` (deleted ones
    /// included, as their `Deleted` version), or fails after `deadline` naming how many did.
    /// Fails at once if the watch failed.
    pub(super) async fn wait_all(
        &self,
        what: &str,
        names: &[String],
        deadline: Duration,
        check: impl Fn(&Version) -> bool,
    ) -> Result<()> {
        let mut done = 0;
        let waited = wait::until(
            format!("{} {what}", names.len()),
            deadline,
            LOOK,
            async || {
                if self.task.is_finished() {
                    bail!("the watch of the {} ended", self.objects);
                }
                let versions = self.versions();
                let latest = latest(&versions);
                done = names
                    .iter()
                    .filter(|n| latest.get(n.as_str()).is_some_and(|v| check(v)))
                    .count();
                Ok((done == names.len()).then_some(()))
            },
        )
        .await;
        match waited {
            Err(error) if wait::timed_out(&error) => bail!(
                "only {done} of {} {} {what} after {deadline:?}",
                names.len(),
                self.objects
            ),
            other => other,
        }
    }

    /// Ends the watch; fails if it had failed.
    pub(super) async fn stop(self) -> Result<Vec<Version>> {
        if self.task.is_finished() {
            self.task.await??;
            bail!("the watch of the {} ended", self.objects);
        }
        self.task.abort();
        let versions = self.versions();
        Ok(versions)
    }
}

/// The watch loop: one request after another, each resuming from the last version seen.
async fn record<K: Watched>(
    api: Api<K>,
    mut from: String,
    versions: Arc<Mutex<Vec<Version>>>,
) -> Result<()> {
    let params = WatchParams::default().timeout(WATCH_SECONDS);
    loop {
        let mut stream = Box::pin(api.watch(&params, &from).await?);
        while let Some(event) = next(&mut stream).await {
            let at = Instant::now();
            let (change, object) = match event? {
                WatchEvent::Added(o) => (Change::Added, o),
                WatchEvent::Modified(o) => (Change::Modified, o),
                WatchEvent::Deleted(o) => (Change::Deleted, o),
                WatchEvent::Bookmark(bookmark) => {
                    from = bookmark.metadata.resource_version;
                    continue;
                }
                // A 410 Gone here would mean versions were missed: the figures would be wrong.
                WatchEvent::Error(status) => bail!("the watch failed: {status:?}"),
            };
            if let Some(version) = &object.meta().resource_version {
                from.clone_from(version);
            }
            if let Ok(mut all) = versions.lock() {
                all.push(Version::new(at, change, &object));
            }
        }
    }
}

/// The next item of a stream. Generic so that `poll_next` is reachable through the bound
/// (xtask does not depend on `futures`, whose `StreamExt` would offer `next`).
async fn next<S>(stream: &mut Pin<Box<S>>) -> Option<S::Item>
where
    S: WatchStreamExt + ?Sized,
{
    std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await
}

/// The latest version of each object.
fn latest(versions: &[Version]) -> BTreeMap<&str, &Version> {
    versions.iter().map(|v| (v.name.as_str(), v)).collect()
}

/// When each of `names` first had a version matching `check` delivered in `[from, to)`.
pub(super) fn first_seen(
    versions: &[Version],
    names: &[String],
    from: Instant,
    to: Instant,
    check: impl Fn(&Version) -> bool,
) -> BTreeMap<String, Instant> {
    let mut seen = BTreeMap::new();
    for version in versions {
        if version.at >= from && version.at < to && names.contains(&version.name) && check(version)
        {
            seen.entry(version.name.clone()).or_insert(version.at);
        }
    }
    seen
}

/// The operator's writes to each of `names` delivered in `[from, to)`: every version but those
/// a user made. A user makes the `Added` version (the create) and every version whose
/// generation rose (a spec change; setting the deletion timestamp raises it too). The
/// operator never changes the spec, so each other `Modified` version is its write; the
/// `Deleted` version is its removal of the last finalizer.
pub(super) fn operator_writes(
    versions: &[Version],
    names: &[String],
    from: Instant,
    to: Instant,
) -> BTreeMap<String, usize> {
    let mut writes: BTreeMap<String, usize> = names.iter().map(|n| (n.clone(), 0)).collect();
    let mut generation: BTreeMap<&str, i64> = BTreeMap::new();
    for version in versions {
        let before = generation.insert(version.name.as_str(), version.generation);
        let by_operator = match version.change {
            Change::Added => false,
            Change::Deleted => true,
            Change::Modified => before.is_some_and(|g| version.generation <= g),
        };
        if by_operator
            && version.at >= from
            && version.at < to
            && let Some(count) = writes.get_mut(&version.name)
        {
            *count += 1;
        }
    }
    writes
}

/// How a per-object count is spread over the objects.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Spread {
    pub mean: f64,
    pub min: usize,
    pub max: usize,
    /// count → objects with that count.
    pub histogram: BTreeMap<usize, usize>,
}

impl Spread {
    pub(super) fn of(counts: &BTreeMap<String, usize>) -> Self {
        let mut histogram = BTreeMap::new();
        for count in counts.values() {
            *histogram.entry(*count).or_insert(0) += 1;
        }
        Self {
            mean: counts.values().sum::<usize>() as f64 / counts.len().max(1) as f64,
            min: counts.values().copied().min().unwrap_or(0),
            max: counts.values().copied().max().unwrap_or(0),
            histogram,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(at: Instant, name: &str, change: Change, generation: i64) -> Version {
        Version {
            at,
            name: name.into(),
            change,
            generation,
            ready: false,
            swapped: false,
        }
    }

    #[test]
    fn counts_only_the_operators_versions() {
        let t0 = Instant::now();
        let t = |s: u64| t0 + Duration::from_secs(s);
        let versions = vec![
            version(t(0), "a", Change::Added, 1),
            version(t(1), "a", Change::Modified, 1), // finalizer
            version(t(2), "a", Change::Modified, 1), // Creating
            version(t(3), "a", Change::Modified, 1), // Active
            version(t(10), "a", Change::Modified, 2), // the user's spec change
            version(t(11), "a", Change::Modified, 2), // Updating
            version(t(12), "a", Change::Modified, 2), // UpdateCompleted
            version(t(20), "a", Change::Modified, 3), // deletion timestamp
            version(t(21), "a", Change::Deleted, 3), // finalizer removed
        ];
        let names = vec!["a".to_string(), "b".to_string()];
        let create = operator_writes(&versions, &names, t(0), t(5));
        assert_eq!(create.get("a"), Some(&3));
        assert_eq!(
            create.get("b"),
            Some(&0),
            "an object without versions counts 0"
        );
        assert_eq!(operator_writes(&versions, &names, t(10), t(15))["a"], 2);
        assert_eq!(operator_writes(&versions, &names, t(20), t(25))["a"], 1);
    }

    #[test]
    fn spreads_counts_over_objects() {
        let counts: BTreeMap<String, usize> = [("a", 3), ("b", 3), ("c", 4)]
            .into_iter()
            .map(|(n, c)| (n.to_string(), c))
            .collect();
        let spread = Spread::of(&counts);
        assert_eq!((spread.min, spread.max), (3, 4));
        assert!((spread.mean - 10.0 / 3.0).abs() < 1e-9);
        assert_eq!(spread.histogram, BTreeMap::from([(3, 2), (4, 1)]));
    }
}
