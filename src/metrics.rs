//! Prometheus metrics (prometheus-client). Labels are bounded: operation, outcome, error
//! class, model or deployment status — never an object name or an error string.

use crate::api::ModelStatus;
use crate::api::deployment::DeploymentStatus;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Instant;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The `kind` label of the metrics: the resource's Kubernetes kind, as the kind registry
/// ([`crate::kinds`]) names it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct KindLabel(pub &'static str);

impl KindLabel {
    /// The Kubernetes kind: "BedrockCustomModel".
    pub fn name(self) -> &'static str {
        self.0
    }
}

impl prometheus_client::encoding::EncodeLabelValue for KindLabel {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// The resource kind reconciled.
    pub kind: KindLabel,
    /// `ok` or an error category.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub operation: &'static str,
    /// `ok` or the error class (`throttled`, `access_denied`, …).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelStatusLabels {
    pub model_status: ModelStatusLabel,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum ModelStatusLabel {
    None,
    Creating,
    Active,
    Failed,
    Other,
}

impl ModelStatusLabel {
    const ALL: [Self; 5] = [
        Self::None,
        Self::Creating,
        Self::Active,
        Self::Failed,
        Self::Other,
    ];

    pub fn from_status(status: Option<ModelStatus>) -> Self {
        match status {
            None => ModelStatusLabel::None,
            Some(ModelStatus::Creating) => ModelStatusLabel::Creating,
            Some(ModelStatus::Active) => ModelStatusLabel::Active,
            Some(ModelStatus::Failed) => ModelStatusLabel::Failed,
            Some(ModelStatus::Unknown) => ModelStatusLabel::Other,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeploymentStatusLabels {
    pub deployment_status: DeploymentStatusLabel,
}

/// The values of the models gauge's label, so that one alert reads both gauges alike.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum DeploymentStatusLabel {
    /// No deployment in Bedrock yet (e.g. waiting for its model).
    None,
    Creating,
    Active,
    Failed,
    /// A status this version does not know.
    Other,
}

impl DeploymentStatusLabel {
    const ALL: [Self; 5] = [
        Self::None,
        Self::Creating,
        Self::Active,
        Self::Failed,
        Self::Other,
    ];
}

impl From<Option<DeploymentStatus>> for DeploymentStatusLabel {
    fn from(status: Option<DeploymentStatus>) -> Self {
        match status {
            None => Self::None,
            Some(DeploymentStatus::Creating) => Self::Creating,
            Some(DeploymentStatus::Active) => Self::Active,
            Some(DeploymentStatus::Failed) => Self::Failed,
            Some(DeploymentStatus::Unknown) => Self::Other,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ImportStatusLabels {
    pub job_status: ImportStatusLabel,
}

/// The values of the imported models gauge's label: the import job's status.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum ImportStatusLabel {
    /// No import job yet.
    None,
    InProgress,
    Completed,
    Failed,
    /// A status this version does not know.
    Other,
}

impl ImportStatusLabel {
    const ALL: [Self; 5] = [
        Self::None,
        Self::InProgress,
        Self::Completed,
        Self::Failed,
        Self::Other,
    ];
}

impl From<Option<crate::api::JobStatus>> for ImportStatusLabel {
    fn from(status: Option<crate::api::JobStatus>) -> Self {
        use crate::api::JobStatus;
        match status {
            None => Self::None,
            Some(JobStatus::InProgress) => Self::InProgress,
            Some(JobStatus::Completed) => Self::Completed,
            Some(JobStatus::Failed) => Self::Failed,
            Some(JobStatus::Unknown) => Self::Other,
        }
    }
}

/// A gauge of resources by the status last recorded for each: every resource counts under one
/// label set (with a weight: 1, or e.g. its model units) until it is recorded again or removed.
#[derive(Debug)]
struct StatusGauge<S> {
    family: Family<S, Gauge>,
    /// The label set each resource (by UID) counts under, and how much it counts.
    statuses: Mutex<HashMap<String, (S, i64)>>,
}

impl<S> StatusGauge<S>
where
    S: EncodeLabelSet + Clone + Debug + Hash + Eq + Send + Sync + 'static,
{
    /// Registers the gauge with every label set of `all` at 0, so that a status no resource has
    /// reads 0 rather than missing (an alert on it then fires only on a real value).
    fn register(
        registry: &mut Registry,
        name: &str,
        help: &str,
        all: impl IntoIterator<Item = S>,
    ) -> Self {
        let family = Family::<S, Gauge>::default();
        registry.register(name, help, family.clone());
        for labels in all {
            family.get_or_create(&labels).set(0);
        }
        Self {
            family,
            statuses: Mutex::new(HashMap::new()),
        }
    }

    /// Records the status of resource `uid` (`None` removes it, on deletion).
    fn record(&self, uid: &str, status: Option<S>) {
        self.record_weighted(uid, status.map(|status| (status, 1)));
    }

    /// Records the status of resource `uid` and how much it counts (`None` removes it).
    fn record_weighted(&self, uid: &str, status: Option<(S, i64)>) {
        let mut statuses = self.statuses.lock();
        let previous = match &status {
            Some(status) => statuses.insert(uid.to_string(), status.clone()),
            None => statuses.remove(uid),
        };
        // Only the label sets involved change: no pass over every resource per reconcile.
        if previous == status {
            return;
        }
        if let Some((labels, weight)) = &previous {
            self.family.get_or_create(labels).dec_by(*weight);
        }
        if let Some((labels, weight)) = &status {
            self.family.get_or_create(labels).inc_by(*weight);
        }
    }
}

/// The labels of the model units gauge: the region (an AWS region name, checked against the
/// region pattern) and the commitment term.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelUnitsLabels {
    pub region: String,
    pub commitment: CommitmentLabel,
}

/// The commitment term of a provisioned throughput, as a bounded label value.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum CommitmentLabel {
    None,
    OneMonth,
    SixMonths,
}

impl CommitmentLabel {
    pub fn from_status(commitment: Option<&str>) -> Self {
        match commitment {
            Some("OneMonth") => Self::OneMonth,
            Some("SixMonths") => Self::SixMonths,
            _ => Self::None,
        }
    }
}

/// Every metric the operator exports.
pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<OutcomeLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub bedrock_calls: Family<CallLabels, Counter>,
    pub bedrock_call_duration: Family<OperationLabels, Histogram>,
    models: StatusGauge<ModelStatusLabels>,
    deployments: StatusGauge<DeploymentStatusLabels>,
    imports: StatusGauge<ImportStatusLabels>,
    model_units: StatusGauge<ModelUnitsLabels>,
    pub objects_in_backoff: Gauge,
    pub sweep_watched_models: Gauge,
    pub leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("bedrock_operator");
        let reconciles = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles finished, by resource kind and outcome (ok, or an error category)",
            reconciles.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took",
            reconcile_duration.clone(),
        );
        let bedrock_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "bedrock_calls",
            "Calls to Bedrock, by operation and outcome (ok, or the error class)",
            bedrock_calls.clone(),
        );
        let bedrock_call_duration =
            Family::<OperationLabels, Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 16))
            });
        registry.register(
            "bedrock_call_duration_seconds",
            "Latency of calls to Bedrock, by operation (including the wait for the rate limiter)",
            bedrock_call_duration.clone(),
        );
        let models = StatusGauge::register(
            &mut registry,
            "models",
            "Resources by the modelStatus last observed in Bedrock (none: no model yet)",
            ModelStatusLabel::ALL.map(|model_status| ModelStatusLabels { model_status }),
        );
        let deployments = StatusGauge::register(
            &mut registry,
            "deployments",
            "Deployment resources by the deploymentStatus last observed in Bedrock (none: no deployment yet)",
            DeploymentStatusLabel::ALL
                .map(|deployment_status| DeploymentStatusLabels { deployment_status }),
        );
        let imports = StatusGauge::register(
            &mut registry,
            "imported_models",
            "BedrockImportedModel resources by the import job's status last observed in Bedrock (none: no job yet)",
            ImportStatusLabel::ALL.map(|job_status| ImportStatusLabels { job_status }),
        );
        let model_units = StatusGauge::register(
            &mut registry,
            "provisioned_model_units",
            "Model units in service (billed by the hour) of the provisioned throughputs managed here, by region and commitment term",
            std::iter::empty(),
        );
        let objects_in_backoff = Gauge::default();
        registry.register(
            "objects_in_backoff",
            "Resources waiting to retry after a failure",
            objects_in_backoff.clone(),
        );
        let sweep_watched_models = Gauge::default();
        registry.register(
            "sweep_watched_models",
            "Creating models whose end the ListCustomModels sweep watches for",
            sweep_watched_models.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this process holds the leader lease (or runs without leader election)",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_duration,
            bedrock_calls,
            bedrock_call_duration,
            models,
            deployments,
            imports,
            model_units,
            objects_in_backoff,
            sweep_watched_models,
            leader,
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    pub fn reconciled(&self, kind: KindLabel, outcome: &str, started: Instant) {
        self.reconciles
            .get_or_create(&OutcomeLabels {
                kind,
                outcome: outcome.to_string(),
            })
            .inc();
        self.reconcile_duration
            .observe(started.elapsed().as_secs_f64());
    }

    /// Records the modelStatus of resource `uid` (`None` removes it, on deletion).
    pub fn model_status(&self, uid: &str, status: Option<ModelStatusLabel>) {
        self.models.record(
            uid,
            status.map(|model_status| ModelStatusLabels { model_status }),
        );
    }

    /// Records the deploymentStatus of resource `uid` (`None` removes it, on deletion).
    pub fn deployment_status(&self, uid: &str, status: Option<DeploymentStatusLabel>) {
        self.deployments.record(
            uid,
            status.map(|deployment_status| DeploymentStatusLabels { deployment_status }),
        );
    }

    /// Records the import job status of resource `uid` (`None` removes it, on deletion).
    pub fn import_status(&self, uid: &str, status: Option<ImportStatusLabel>) {
        self.imports.record(
            uid,
            status.map(|job_status| ImportStatusLabels { job_status }),
        );
    }

    /// Records the model units in service of provisioned throughput `uid`, in `region` with
    /// `commitment` (`None` removes it, on deletion).
    pub fn model_units(&self, uid: &str, units: Option<(&str, CommitmentLabel, i64)>) {
        self.model_units.record_weighted(
            uid,
            units.map(|(region, commitment, units)| {
                (
                    ModelUnitsLabels {
                        region: region.to_string(),
                        commitment,
                    },
                    units,
                )
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENTS: &str = "bedrock_operator_deployments";

    /// The samples of the family `name` in the text exposition, sorted: a family writes its
    /// label sets in no fixed order.
    fn samples(text: &str, name: &str) -> Vec<String> {
        let prefix = format!("{name}{{");
        let mut lines: Vec<String> = text
            .lines()
            .filter(|line| line.starts_with(&prefix))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }

    /// The deployments gauge's samples with the `counted` statuses as given and every other
    /// status at 0, sorted as `samples` sorts them.
    fn deployments_gauge(counted: &[(&str, i64)]) -> Vec<String> {
        let mut lines: Vec<String> = ["None", "Creating", "Active", "Failed", "Other"]
            .into_iter()
            .map(|status| {
                let count = counted
                    .iter()
                    .find(|(counted, _)| *counted == status)
                    .map_or(0, |(_, count)| *count);
                format!(r#"{DEPLOYMENTS}{{deployment_status="{status}"}} {count}"#)
            })
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn model_units_sum_by_region_and_term_and_follow_each_throughput() {
        const UNITS: &str = "bedrock_operator_provisioned_model_units";
        let metrics = Metrics::new();
        metrics.model_units("a", Some(("us-east-1", CommitmentLabel::None, 2)));
        metrics.model_units("b", Some(("us-east-1", CommitmentLabel::None, 3)));
        metrics.model_units("c", Some(("us-east-1", CommitmentLabel::OneMonth, 1)));
        assert_eq!(
            samples(&metrics.encode(), UNITS),
            vec![
                format!(r#"{UNITS}{{region="us-east-1",commitment="None"}} 5"#),
                format!(r#"{UNITS}{{region="us-east-1",commitment="OneMonth"}} 1"#),
            ]
        );
        // b is replaced by a larger one, then a goes; c stops serving (Failed: 0 units).
        metrics.model_units("b", Some(("us-east-1", CommitmentLabel::None, 4)));
        metrics.model_units("a", None);
        metrics.model_units("c", Some(("us-east-1", CommitmentLabel::OneMonth, 0)));
        assert_eq!(
            samples(&metrics.encode(), UNITS),
            vec![
                format!(r#"{UNITS}{{region="us-east-1",commitment="None"}} 4"#),
                format!(r#"{UNITS}{{region="us-east-1",commitment="OneMonth"}} 0"#),
            ]
        );
    }

    #[test]
    fn the_deployments_gauge_follows_a_deployment_from_creating_to_gone() {
        let metrics = Metrics::new();
        let text = metrics.encode();
        assert!(
            text.contains(&format!("# TYPE {DEPLOYMENTS} gauge\n")),
            "{text}"
        );
        assert_eq!(samples(&text, DEPLOYMENTS), deployments_gauge(&[]));

        metrics.deployment_status("uid-chat", Some(Some(DeploymentStatus::Creating).into()));
        assert_eq!(
            samples(&metrics.encode(), DEPLOYMENTS),
            deployments_gauge(&[("Creating", 1)])
        );

        metrics.deployment_status("uid-chat", Some(Some(DeploymentStatus::Active).into()));
        assert_eq!(
            samples(&metrics.encode(), DEPLOYMENTS),
            deployments_gauge(&[("Active", 1)])
        );

        metrics.deployment_status("uid-chat", None);
        assert_eq!(
            samples(&metrics.encode(), DEPLOYMENTS),
            deployments_gauge(&[])
        );
    }

    #[test]
    fn the_deployments_gauge_counts_each_resource_once() {
        let metrics = Metrics::new();
        // A reconcile that observes the same status again, a deployment still waiting for its
        // model, and a status from a newer Bedrock.
        metrics.deployment_status("uid-chat", Some(Some(DeploymentStatus::Active).into()));
        metrics.deployment_status("uid-chat", Some(Some(DeploymentStatus::Active).into()));
        metrics.deployment_status("uid-waiting", Some(None.into()));
        metrics.deployment_status("uid-new", Some(Some(DeploymentStatus::Unknown).into()));
        assert_eq!(
            samples(&metrics.encode(), DEPLOYMENTS),
            deployments_gauge(&[("Active", 1), ("None", 1), ("Other", 1)])
        );

        // Cleanup may finish more than once for one resource; and a resource never recorded
        // can be forgotten.
        metrics.deployment_status("uid-chat", None);
        metrics.deployment_status("uid-chat", None);
        metrics.deployment_status("uid-never-seen", None);
        assert_eq!(
            samples(&metrics.encode(), DEPLOYMENTS),
            deployments_gauge(&[("None", 1), ("Other", 1)])
        );
    }

    #[test]
    fn the_models_and_deployments_gauges_count_apart() {
        let metrics = Metrics::new();
        metrics.model_status("uid-model", Some(ModelStatusLabel::Active));
        metrics.deployment_status("uid-chat", Some(Some(DeploymentStatus::Creating).into()));
        let text = metrics.encode();
        assert_eq!(
            samples(&text, "bedrock_operator_models"),
            [
                r#"bedrock_operator_models{model_status="Active"} 1"#,
                r#"bedrock_operator_models{model_status="Creating"} 0"#,
                r#"bedrock_operator_models{model_status="Failed"} 0"#,
                r#"bedrock_operator_models{model_status="None"} 0"#,
                r#"bedrock_operator_models{model_status="Other"} 0"#,
            ]
        );
        assert_eq!(
            samples(&text, DEPLOYMENTS),
            deployments_gauge(&[("Creating", 1)])
        );
    }
}
