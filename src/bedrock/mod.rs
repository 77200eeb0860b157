//! The AWS boundary: a small trait that speaks domain types. The controller never sees an SDK
//! type. Each kind has its own file here (`model`, `deployment`, `throughput`): its domain
//! types, the trait of its calls and their implementation over aws-sdk-bedrock, every request
//! through the one call path of `sdk` (pace, rate limit, send, map the error, record the
//! metrics of `metered`); the tag calls every kind makes are `sdk`'s. `Operation` is the table
//! of the operations called.

use std::collections::BTreeMap;
use std::future::Future;

mod deployment;
mod error;
mod imported;
pub mod metered;
mod model;
mod operation;
mod pacing;
pub mod sdk;
mod throughput;

pub use deployment::{
    CreateDeploymentRequest, DeploymentFilter, DeploymentState, DeploymentSummary,
    DeploymentUpdate, Deployments, RemoteDeployment, UpdateState,
};
pub use error::{BedrockError, ErrorClass};
pub use imported::{
    CreateImportRequest, ImportJob, ImportJobs, ImportVpc, ImportedModel, JobState, RemoteImport,
};
pub use model::{CreateRequest, ModelState, ModelSummary, Models, RemoteModel, Source};
pub use operation::Operation;
pub use throughput::{
    CreateThroughputRequest, RemoteThroughput, ThroughputState, Throughputs,
    UpdateThroughputRequest,
};

/// A Bedrock object as Get describes it: its ARN, its name, and when it (or its last change)
/// started.
pub trait Object {
    fn arn(&self) -> &str;
    fn name(&self) -> &str;
    /// When the object (or its last change) started, RFC 3339: how long it has been in
    /// progress.
    fn changed_at(&self) -> Option<&str>;
    /// Whether it serves with no change under way (Active, InService): the state in which the
    /// operator keeps its tags in sync.
    fn steady(&self) -> bool;
    /// Bedrock's reason of a failure, when it gives one.
    fn failure(&self) -> Option<&str>;
}

/// A state Bedrock reports as a string (a `status`): its known values, and `Other` keeping any
/// value this operator does not know yet (treated as still in progress), read without failing.
macro_rules! state {
    ($(#[$doc:meta])* $state:ident { $($value:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $state {
            $($value,)+
            /// A status this operator does not know; treated as still in progress.
            Other(String),
        }

        impl $state {
            pub fn as_str(&self) -> &str {
                match self {
                    $($state::$value => stringify!($value),)+
                    $state::Other(other) => other,
                }
            }
        }

        impl From<&str> for $state {
            fn from(status: &str) -> Self {
                match status {
                    $(stringify!($value) => $state::$value,)+
                    other => $state::Other(other.to_string()),
                }
            }
        }
    };
}
pub(crate) use state;

/// Implements [`Object`] for a Bedrock type with `arn`, `name` and `failure_message` fields; `changed_at` is the
/// first of the listed time fields that is set; `steady` is the expression given, of `self`
/// named as the closure names it.
macro_rules! object {
    ($remote:ty, changed_at: [$($time:ident),+], steady: |$it:ident| $steady:expr) => {
        impl $crate::bedrock::Object for $remote {
            fn arn(&self) -> &str {
                &self.arn
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn changed_at(&self) -> Option<&str> {
                None$(.or(self.$time.as_deref()))+
            }
            fn steady(&self) -> bool {
                let $it = self;
                $steady
            }
            fn failure(&self) -> Option<&str> {
                self.failure_message.as_deref()
            }
        }
    };
}
pub(crate) use object;

/// The Bedrock operations the operator uses, grouped by the kind that calls them: a kind adds
/// its own trait (its file in this module) and one bound here, not methods to one trait. Every
/// method takes the region of the resource.
pub trait Bedrock:
    Models + Tags + Deployments + Throughputs + ImportJobs + Send + Sync + 'static
{
}

impl<T: Models + Tags + Deployments + Throughputs + ImportJobs + Send + Sync + 'static> Bedrock
    for T
{
}

/// The tag calls every kind makes on its object.
pub trait Tags: Send + Sync {
    /// ListTagsForResource.
    fn list_tags(
        &self,
        region: &str,
        arn: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, String>, BedrockError>> + Send;

    /// TagResource.
    fn tag(
        &self,
        region: &str,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), BedrockError>> + Send;

    /// UntagResource.
    fn untag(
        &self,
        region: &str,
        arn: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), BedrockError>> + Send;
}
