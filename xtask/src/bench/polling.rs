//! e: the polling configurations side by side, the same import durations for each: Bedrock
//! reads per model against the lag between an import ending and Ready.

use std::time::{Duration, Instant};

use anyhow::Result;
use bedrock_emulator::{Counters, Operation};
use bedrock_operator::api::BedrockCustomModel;
use kube::api::Api;
use serde::Serialize;
use testkit::wait;

use super::resources::{
    count_ready, create_all, delete_all, list_all, ready_transition, wait_all_gone,
};
use super::{Bench, POLL, compact, plot};

/// The polling configurations compared side by side: (label, operator flags).
pub(super) const POLICIES: [(&str, &[&str]); 4] = [
    ("default (sweep 10s)", &[]),
    ("per-model schedule", &["--sweep-interval", "0s"]),
    (
        "fixed 30s",
        &[
            "--sweep-interval",
            "0s",
            "--poll-initial",
            "30s",
            "--poll-max",
            "30s",
        ],
    ),
    (
        "fixed 60s",
        &[
            "--sweep-interval",
            "0s",
            "--poll-initial",
            "60s",
            "--poll-max",
            "60s",
        ],
    ),
];
/// Goal: lag p99 of the default configuration.
pub(super) const GOAL_LAG_P99_SECONDS: f64 = 30.0;

/// The comparison (`polling` in results.json).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Polling {
    pub models_per_policy: usize,
    pub import_seconds_min: f64,
    pub import_seconds_max: f64,
    pub policies: Vec<Policy>,
}

/// One configuration's figures.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Policy {
    pub policy: String,
    pub flags: Vec<String>,
    pub get_per_model: f64,
    pub list_per_model: f64,
    pub list_tags_per_model: f64,
    /// Get + List + ListTags.
    pub reads_per_model: f64,
    pub all_ready: bool,
    pub all_ready_seconds: Option<f64>,
    /// Ready's lastTransitionTime minus the emulator's readyTime.
    pub lag_p50_seconds: Option<f64>,
    pub lag_p99_seconds: Option<f64>,
    pub lag_max_seconds: Option<f64>,
    /// Models with both times known.
    pub models: usize,
}

impl Bench<'_> {
    pub(super) async fn policies(&self) -> Result<Polling> {
        let a = self.args;
        let m = a.policy_models;
        let delay = |i: usize| {
            let span = a.policy_max.saturating_sub(a.policy_min);
            a.policy_min + span.mul_f64(i as f64 / (m.max(2) - 1) as f64)
        };
        println!(
            "\nbench: polling policies, {m} models each, imports {:?}..{:?}",
            a.policy_min, a.policy_max
        );
        let names: Vec<String> = (0..m).map(|i| format!("poll-{i:03}")).collect();
        let mut runs = Vec::new();
        for (index, (label, flags)) in POLICIES.iter().enumerate() {
            let namespace = self.plane.create_namespace("bench-poll").await?;
            let emulator = self.emulator(1000 + index as u64).await?;
            for (i, name) in names.iter().enumerate() {
                emulator.set_ready_delay(name, delay(i))?;
            }
            let api: Api<BedrockCustomModel> = Api::namespaced(self.plane.client(), &namespace);
            let mut operator =
                self.spawn(&namespace, &emulator, flags, &format!("poll-{index}"))?;
            operator.wait_ready(Duration::from_secs(60)).await?;
            runs.push((*label, *flags, emulator, api, operator));
        }
        let started = Instant::now();
        for (_, _, _, api, _) in &runs {
            create_all(api, &names).await?;
        }
        // Each configuration's counters are read when its own resources are all Ready, so
        // that a fast one is not charged for its idle time while a slow one catches up.
        let deadline = a.policy_max + Duration::from_secs(180);
        let mut at_ready: Vec<Option<(f64, Counters)>> = runs.iter().map(|_| None).collect();
        let mut timelines: Vec<Vec<(f64, usize)>> = runs.iter().map(|_| vec![(0.0, 0)]).collect();
        let all_ready = wait::until(
            "every configuration's resources Ready",
            deadline.saturating_sub(started.elapsed()),
            POLL,
            async || {
                for (i, (_, _, emulator, api, _)) in runs.iter().enumerate() {
                    if at_ready[i].is_some() {
                        continue;
                    }
                    let ready = count_ready(api).await?.1;
                    let t = started.elapsed().as_secs_f64();
                    if timelines[i].last().is_none_or(|(_, n)| *n != ready) {
                        timelines[i].push((t, ready));
                    }
                    if ready >= m {
                        at_ready[i] = Some((t, emulator.counters()));
                    }
                }
                Ok(at_ready.iter().all(Option::is_some).then_some(()))
            },
        )
        .await;
        match all_ready {
            Ok(()) => {}
            // Reported per configuration (allReady false) rather than failing the run.
            Err(error) if wait::timed_out(&error) => {
                eprintln!("bench: polling: not all Ready after {deadline:?}");
            }
            Err(error) => return Err(error),
        }
        // Bedrock's side: how many imports had ended by each second.
        let end = timelines
            .iter()
            .filter_map(|t| t.last().map(|p| p.0))
            .fold(a.policy_max.as_secs_f64(), f64::max);
        let active: Vec<(f64, usize)> = (0..=end.ceil() as usize)
            .map(|t| {
                let done = (0..m)
                    .filter(|i| delay(*i).as_secs_f64() <= t as f64)
                    .count();
                (t as f64, done)
            })
            .collect();
        let series: Vec<(&str, &[(f64, usize)])> = runs
            .iter()
            .zip(&timelines)
            .map(|((label, ..), timeline)| (*label, timeline.as_slice()))
            .collect();
        plot::policies(&self.out.join("ready-policies.svg"), &series, &active, m)?;
        let mut policies = Vec::new();
        for ((label, flags, emulator, api, mut operator), ready) in runs.into_iter().zip(at_ready) {
            let list = list_all(&api).await?;
            let mut lags = Vec::new();
            for resource in &list {
                let name = resource.metadata.name.clone().unwrap_or_default();
                let ready_time = emulator.model(&name).and_then(|m| m.ready_time);
                let transition = ready_transition(resource);
                if let (Some(ready_time), Some(transition)) = (ready_time, transition) {
                    lags.push((transition - ready_time).num_milliseconds() as f64 / 1000.0);
                }
            }
            lags.sort_by(f64::total_cmp);
            let all_ready = ready.is_some();
            let (ready_seconds, counters) = match ready {
                Some((t, c)) => (Some(t), c),
                None => (None, emulator.counters()),
            };
            let per = |op| counters.total(op) as f64 / m as f64;
            let gets = per(Operation::GetCustomModel);
            let lists = per(Operation::ListCustomModels);
            let list_tags = per(Operation::ListTagsForResource);
            let row = Policy {
                policy: label.to_string(),
                flags: flags.iter().map(|f| f.to_string()).collect(),
                get_per_model: gets,
                list_per_model: lists,
                list_tags_per_model: list_tags,
                reads_per_model: gets + lists + list_tags,
                all_ready,
                all_ready_seconds: ready_seconds,
                lag_p50_seconds: percentile(&lags, 0.50),
                lag_p99_seconds: percentile(&lags, 0.99),
                lag_max_seconds: lags.last().copied(),
                models: lags.len(),
            };
            println!("bench: polling {}", compact(&row));
            policies.push(row);
            delete_all(&api, &names).await?;
            wait_all_gone(&api, Duration::from_secs(120), false).await?;
            operator.kill().await.ok();
        }
        Ok(Polling {
            models_per_policy: m,
            import_seconds_min: a.policy_min.as_secs_f64(),
            import_seconds_max: a.policy_max.as_secs_f64(),
            policies,
        })
    }
}

pub(super) fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(index).copied()
}
