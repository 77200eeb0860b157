//! Command line: `bedrock-operator run` and `bedrock-operator crd`.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::controller::Timing;
use crate::controller::guards::{ArnPatterns, Guards, GuardsError};
use crate::controller::scope::NamespaceScope;
use crate::telemetry::LogFormat;

/// Kubernetes operator for Amazon Bedrock imported custom models: BedrockCustomModel (an
/// imported model), BedrockCustomModelDeployment (on-demand inference for one) and
/// BedrockProvisionedThroughput (model units bought for one).
#[derive(Debug, Parser)]
#[command(name = "bedrock-operator", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the operator: watch BedrockCustomModels, BedrockCustomModelDeployments and
    /// BedrockProvisionedThroughputs and manage their Bedrock models, deployments and
    /// provisioned throughputs.
    ///
    /// Kubernetes access comes from KUBECONFIG, ~/.kube/config or the in-cluster service
    /// account. AWS credentials and region come from the standard AWS chain (environment,
    /// profile, IRSA web identity, EKS Pod Identity, instance metadata); the Bedrock endpoint
    /// can be overridden with AWS_ENDPOINT_URL_BEDROCK or AWS_ENDPOINT_URL.
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinitions (one multi-document YAML stream) generated from the
    /// Rust types: pipe it to `kubectl apply --server-side -f -`.
    Crd,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Namespace to watch; repeat or separate with commas for several. All namespaces when unset.
    #[arg(long = "namespace", env = "WATCH_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,

    /// Reconciles running at once (per watched namespace).
    #[arg(long, env = "CONCURRENCY", default_value_t = 16)]
    pub concurrency: u16,

    /// AWS region for resources that set no spec.region (default: from the AWS configuration).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,

    /// Namespaces where a BedrockProvisionedThroughput may buy a commitmentDuration (OneMonth,
    /// SixMonths: billed for the whole term, not deletable before it ends): none, all, or a
    /// comma-separated list of namespaces. Elsewhere such a resource is InvalidSpec naming
    /// spec.commitmentDuration, with no AWS call; throughputs without commitment are not
    /// affected. Even where allowed, each purchase needs the resource's
    /// bedrock-operator.dev/confirm-commitment annotation to name the term.
    #[arg(long, env = "COMMITMENT_NAMESPACES", default_value = "none")]
    pub commitment_namespaces: NamespaceScope,

    /// Most model units one BedrockProvisionedThroughput may buy (unset: no limit). A larger
    /// spec.modelUnits is InvalidSpec naming this flag, with no AWS call. Throughputs already
    /// bought are not affected.
    #[arg(long, env = "MAX_MODEL_UNITS_PER_THROUGHPUT", value_parser = clap::value_parser!(i32).range(1..))]
    pub max_model_units_per_throughput: Option<i32>,

    /// Most model units the BedrockProvisionedThroughputs of one namespace may hold together
    /// (unset: no limit). A purchase that would go beyond it is InvalidSpec naming this flag,
    /// with no AWS call, and is looked at again every --slow-retry. Checked against the API
    /// server, one purchase per namespace at a time.
    #[arg(long, env = "MAX_MODEL_UNITS_PER_NAMESPACE", value_parser = clap::value_parser!(i32).range(1..))]
    pub max_model_units_per_namespace: Option<i32>,

    /// A YAML file of per-namespace overrides of the tenant guards, read at start:
    /// `namespaces: {team-a: {maxModelUnitsPerThroughput: 4, maxModelUnitsPerNamespace: 8}}`
    /// (docs/security.md). A file that cannot be read or parsed stops the operator.
    #[arg(long, env = "GUARDS_FILE")]
    pub guards_file: Option<std::path::PathBuf>,

    /// Namespaces whose resources (models, deployments, throughputs) may use adoptionPolicy: Adopt (take over
    /// a Bedrock object that exists and that no live resource holds): all, none, or a comma-separated
    /// list of namespaces. Elsewhere Adopt is InvalidSpec, with no AWS call. On clusters shared
    /// by several teams, use none or a list (docs/security.md).
    #[arg(long, env = "ALLOW_ADOPTION", default_value = "all")]
    pub allow_adoption: NamespaceScope,

    /// Namespaces whose BedrockCustomModelDeployments and BedrockProvisionedThroughputs may
    /// name (spec.modelArn, spec.modelId) a custom model that a BedrockCustomModel of another
    /// namespace holds: none, all, or a comma-separated list of namespaces. Elsewhere such a
    /// reference is InvalidSpec naming the field, with no AWS call (docs/security.md).
    #[arg(long, env = "CROSS_NAMESPACE_REFERENCES", default_value = "none")]
    pub cross_namespace_references: NamespaceScope,

    /// The roles a BedrockCustomModel's spec.roleArn may name: comma-separated ARN patterns
    /// where * matches any run of characters; * allows any role. Another role is InvalidSpec
    /// naming spec.roleArn, with no AWS call. --guards-file may replace the list per namespace.
    #[arg(long, env = "ALLOWED_ROLE_ARNS", default_value = "*")]
    pub allowed_role_arns: ArnPatterns,

    /// The KMS keys a BedrockCustomModel's spec.kmsKeyArn may name: comma-separated ARN
    /// patterns where * matches any run of characters; * allows any key. Another key is
    /// InvalidSpec naming spec.kmsKeyArn, with no AWS call. --guards-file may replace the list
    /// per namespace.
    #[arg(long, env = "ALLOWED_KMS_KEY_ARNS", default_value = "*")]
    pub allowed_kms_key_arns: ArnPatterns,

    /// Name Bedrock objects <namespace>-<name> when the spec names none (spec.modelName,
    /// spec.modelDeploymentName, spec.provisionedModelName), so that two namespaces' resources
    /// of the same name do not collide. Objects that already exist keep their name.
    #[arg(long, env = "NAMESPACED_NAMES", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub namespaced_names: bool,

    /// The name of this cluster in the owner tags of every Bedrock object the operator creates
    /// or adopts (bedrock-operator.dev/cluster). Several clusters may share one AWS account: an
    /// object whose tag names another cluster is never adopted, changed or deleted here. Default:
    /// the UID of the kube-system namespace (needs get on namespaces/kube-system). Choose once:
    /// renaming makes the objects tagged with the old name another cluster's, to be taken over
    /// with the bedrock-operator.dev/take-over-from annotation (docs/security.md).
    #[arg(long, env = "CLUSTER_NAME")]
    pub cluster_name: Option<String>,

    /// Most Bedrock calls per second, across all resources.
    #[arg(long, env = "RATE_LIMIT_QPS", default_value_t = 10.0)]
    pub rate_limit_qps: f64,

    /// Bedrock calls allowed in a burst above the rate.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 20)]
    pub rate_limit_burst: u32,

    /// How often one ListCustomModels call per region looks for finished imports, instead of a
    /// GetCustomModel per Creating model; 0s turns the sweep off (each model polls on its own,
    /// from --poll-initial up to --poll-max). Needs bedrock:ListCustomModels.
    #[arg(long, env = "SWEEP_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub sweep_interval: Duration,

    /// While the sweep watches a Creating model, the model's own poll only backs it up, this far
    /// apart; a region whose sweeps keep failing goes back to per-model polls for this long.
    #[arg(long, env = "SWEEP_FALLBACK", default_value = "5m", value_parser = humantime::parse_duration)]
    pub sweep_fallback: Duration,

    /// Without the sweep: first look at a model after creating it; the interval then doubles up
    /// to --poll-max.
    #[arg(long, env = "POLL_INITIAL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub poll_initial: Duration,

    /// Without the sweep: longest interval between two looks at a Creating model.
    #[arg(long, env = "POLL_MAX", default_value = "30s", value_parser = humantime::parse_duration)]
    pub poll_max: Duration,

    /// How often settled resources (Active or Failed models, deployments, throughputs) are
    /// checked again for drift (±10 % jitter).
    #[arg(long, env = "RESYNC", default_value = "10m", value_parser = humantime::parse_duration)]
    pub resync: Duration,

    /// How often, at most, a resync also reads a Bedrock object's tags (ListTagsForResource) to catch
    /// changes made outside the operator; spec changes are applied at once regardless.
    #[arg(long, env = "TAG_CHECK_INTERVAL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub tag_check_interval: Duration,

    /// Retry interval for errors a person must fix (access denied, quota, validation).
    #[arg(long, env = "SLOW_RETRY", default_value = "5m", value_parser = humantime::parse_duration)]
    pub slow_retry: Duration,

    /// First retry delay after throttling or a server error; doubles per consecutive failure.
    #[arg(long, env = "BACKOFF_BASE", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub backoff_base: Duration,

    /// Longest retry delay after throttling or server errors (±10 % jitter).
    #[arg(long, env = "BACKOFF_MAX", default_value = "2m", value_parser = humantime::parse_duration)]
    pub backoff_max: Duration,

    /// Limit for one Bedrock call.
    #[arg(long, env = "CALL_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub call_timeout: Duration,

    /// Address of the admin HTTP server: /metrics, /livez, /readyz.
    #[arg(long, env = "ADMIN_ADDRESS", default_value = "0.0.0.0:8080")]
    pub admin_address: std::net::SocketAddr,

    /// Elect a leader among replicas through a Lease; only the leader reconciles.
    #[arg(long, env = "LEADER_ELECTION")]
    pub leader_election: bool,

    /// Namespace of the Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub leader_election_namespace: String,

    /// Name of the Lease.
    #[arg(long, default_value = "bedrock-operator")]
    pub leader_election_lease_name: String,

    /// How long the Lease stays valid without renewal: the longest a standby waits to take over.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// Identity in the Lease (default: the pod name, or a random one).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,

    /// Log level or tracing filter (RUST_LOG, when set, wins).
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

impl RunArgs {
    /// The tenant guards: the flags, and the overrides of --guards-file.
    pub fn guards(&self) -> Result<Guards, GuardsError> {
        let guards = Guards {
            max_model_units_per_throughput: self.max_model_units_per_throughput,
            max_model_units_per_namespace: self.max_model_units_per_namespace,
            commitment_namespaces: self.commitment_namespaces.clone(),
            cross_namespace_references: self.cross_namespace_references.clone(),
            allowed_role_arns: self.allowed_role_arns.clone(),
            allowed_kms_key_arns: self.allowed_kms_key_arns.clone(),
            namespaced_names: self.namespaced_names,
            ..Guards::default()
        };
        match &self.guards_file {
            Some(path) => guards.with_file(path),
            None => Ok(guards),
        }
    }

    pub fn timing(&self) -> Timing {
        Timing {
            poll_initial: self.poll_initial,
            poll_max: self.poll_max,
            resync: self.resync,
            tag_check: self.tag_check_interval,
            slow_retry: self.slow_retry,
            backoff_base: self.backoff_base,
            backoff_max: self.backoff_max,
            sweep_interval: self.sweep_interval,
            sweep_fallback: self.sweep_fallback,
            ..Timing::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(flags: &[&str]) -> Result<Box<RunArgs>, clap::Error> {
        let argv = ["bedrock-operator", "run"].iter().chain(flags);
        match Cli::try_parse_from(argv)?.command {
            Command::Run(args) => Ok(args),
            Command::Crd => unreachable!("parsed `run`"),
        }
    }

    #[test]
    fn spend_guards_default_to_no_limit_and_no_commitments() {
        let args = run_args(&[]).expect("parses");
        let guards = args.guards().expect("no file to read");
        assert_eq!(guards.commitment_namespaces, NamespaceScope::None);
        assert_eq!(guards.max_model_units_per_throughput, None);
        assert_eq!(guards.max_model_units_per_namespace, None);
    }

    #[test]
    fn spend_guard_flags() {
        let args = run_args(&[
            "--commitment-namespaces=team-a,team-b",
            "--max-model-units-per-throughput=2",
            "--max-model-units-per-namespace=8",
        ])
        .expect("parses");
        let guards = args.guards().expect("no file to read");
        assert_eq!(guards.commitment_namespaces.to_string(), "team-a,team-b");
        assert_eq!(guards.max_model_units_per_throughput, Some(2));
        assert_eq!(guards.max_model_units_per_namespace, Some(8));
    }

    #[test]
    fn spend_guard_flags_refuse_what_is_no_limit() {
        for flags in [
            ["--max-model-units-per-throughput=0"],
            ["--max-model-units-per-namespace=-1"],
            ["--max-model-units-per-namespace=many"],
            ["--commitment-namespaces=Team_A"],
            ["--allow-commitments=true"],
        ] {
            assert!(run_args(&flags).is_err(), "{flags:?}");
        }
    }
}
