//! The custom resources: types, conditions, validation and the generated CRD.

pub mod cel;
pub mod conditions;
pub mod deployment;
pub mod export;
pub mod imported;
pub mod model;
pub mod patterns;
pub mod tags;
pub mod throughput;
pub mod validation;

// The case tables of the CRDs' validation, mounted side by side as `tests/crd_server.rs`
// mounts them, and the harness that checks every kind's table.
#[cfg(test)]
mod cel_cases;
#[cfg(test)]
mod crd_check;
#[cfg(test)]
mod deployment_cel_cases;
#[cfg(test)]
mod imported_cel_cases;
#[cfg(test)]
mod throughput_cel_cases;

pub use deployment::{
    BedrockCustomModelDeployment, BedrockCustomModelDeploymentSpec,
    BedrockCustomModelDeploymentStatus, DeploymentCreatedWith, DeploymentStatus, ModelRef,
    ModelTarget, UpdateStatus, ValidDeployment,
};
pub use export::{Export, ExportStatus};
pub use imported::{
    BedrockImportedModel, BedrockImportedModelSpec, BedrockImportedModelStatus, CustomModelUnits,
    ImportCreatedWith, ImportSource, JobStatus, ValidImported, VpcConfig,
};
pub use model::{
    AdoptionPolicy, BedrockCustomModel, BedrockCustomModelSpec, BedrockCustomModelStatus,
    CreatedWith, DeletionPolicy, ModelSource, ModelStatus,
};
pub use throughput::{
    BedrockProvisionedThroughput, BedrockProvisionedThroughputSpec,
    BedrockProvisionedThroughputStatus, CommitmentDuration, ThroughputCreatedWith, ThroughputModel,
    ThroughputStatus, ValidThroughput,
};

/// Finalizer the operator puts on every resource so that deleting it deletes the model first.
pub const FINALIZER: &str = "bedrock-operator.dev/finalizer";

/// Annotation that asks for a fresh attempt at a Failed model without a spec change: set it to
/// any new value (e.g. a timestamp).
pub const RETRY_ANNOTATION: &str = "bedrock-operator.dev/retry";

/// Annotation that moves a Bedrock object held by another cluster (sharing the AWS account) to
/// this resource, on purpose (a blue/green cluster upgrade): its value names the cluster to take
/// over from, as the NameConflict message shows it (for an object tagged before cluster
/// identity, the owner UID it carries). Works with `spec.adoptionPolicy: Adopt` only.
pub const TAKE_OVER_ANNOTATION: &str = "bedrock-operator.dev/take-over-from";
