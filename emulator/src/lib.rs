//! An emulator of Amazon Bedrock's custom-model control plane.
//!
//! It speaks Bedrock's rest-json protocol closely enough that the real `aws-sdk-bedrock` client
//! cannot tell the difference for the operations it implements (CreateCustomModel,
//! GetCustomModel, ListCustomModels, DeleteCustomModel, TagResource, UntagResource,
//! ListTagsForResource, and the Create, Get, List, Update and Delete operations of custom model
//! deployments and of Provisioned Throughput, and the six operations of model imports:
//! CreateModelImportJob, GetModelImportJob, ListModelImportJobs, GetImportedModel,
//! ListImportedModels, DeleteImportedModel), bedrock-runtime's Converse and InvokeModel on
//! deployment and Provisioned Throughput ARNs (answers scripted per model, every call logged),
//! and adds a control API under `/__emulator/` for
//! tests: fault injection, lifecycle scripting, a clock that can be moved forward, and
//! inspection of everything that happened.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use bedrock_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! println!("point the SDK's endpoint_url at {}", emulator.url());
//! assert!(emulator.create_log().is_empty());
//! # Ok(())
//! # }
//! ```

mod api;
mod auth;
pub mod bench;
pub mod client;
mod clock;
mod config;
mod control;
mod deployment;
mod error;
mod faults;
mod import;
mod model;
mod operation;
mod provisioned;
mod request_id;
mod runtime;
mod server;
mod state;
mod types;
mod validate;
mod wire;

pub use client::{ControlClient, ControlClientError};
pub use clock::{ClockAdvance, ClockStatus};
pub use config::{DEFAULT_FOUNDATION_MODEL_ID, EmulatorConfig, Limits, SigV4Credentials};
pub use control::PREFIX as CONTROL_PREFIX;
pub use deployment::{
    DeploymentCreateLogEntry, DeploymentDelays, DeploymentFailure, DeploymentPhase,
    DeploymentRecord, DeploymentStatus, DeploymentUpdateRecord, DeploymentUpdateStatus,
};
pub use error::{ApiError, ErrorKind};
pub use faults::{FaultConfig, RateLimit};
pub use import::{
    ImportDelays, ImportJobCreateLogEntry, ImportJobFailure, ImportJobRecord, ImportJobStatus,
    ImportedModelRecord,
};
pub use model::{CreateLogEntry, ForceStatus, ForeignModel, ModelRecord, ModelSource, ModelStatus};
pub use operation::Operation;
pub use provisioned::{
    CommitmentDuration, ProvisionedCreateLogEntry, ProvisionedDelays, ProvisionedFailure,
    ProvisionedForceStatus, ProvisionedPhase, ProvisionedRecord, ProvisionedStatus,
};
pub use runtime::{DEFAULT_ANSWER, InvocationRecord, ModelScript};
pub use server::{Emulator, EmulatorHandle, StartError, router};
pub use state::EmulatorState;
pub use types::{Counters, Tag};
