//! What every kind's lifecycle needs of its Bedrock object ([`Lifecycle`]), and the act stage
//! written once on it: a plan's calls run in order, the kind's own create and in-place change
//! through its hooks, the shared calls (delete for replacement, claim, tags) here.

use std::future::Future;

use tracing::debug;

use super::call::Call;
use super::context::Context;
use super::error::Error;
use super::holding::{self, Lost};
use super::kind::Managed;
use super::outcome::{Note, Plan};
use super::ownership::Me;
use crate::bedrock::Object;
use crate::bedrock::{Bedrock, BedrockError};

/// The plan of a kind.
pub type KindPlan<K> =
    Plan<<K as Managed>::Status, Call<<K as Lifecycle>::Create, <K as Lifecycle>::Update>>;

/// Whether the act loop goes on after a create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Go,
    /// The create was refused before the call and the plan replaced (a purchase guard).
    Stop,
}

/// A kind's Bedrock object: how it is read, created, changed and deleted, and what deleting
/// the resource takes. Each method is a single Bedrock call, a read through the API server
/// (`users`, `model_region`) or a pure decision.
pub trait Lifecycle: Managed {
    /// The checked spec (what a create needs beyond its request).
    type Valid: Send + Sync;
    /// The Bedrock object as Get describes it.
    type Remote: Send + Sync + Object;
    /// The kind's create request.
    type Create: Send + Sync;
    /// The kind's in-place change (`Infallible` for none).
    type Update: Send + Sync;
    /// How lock keys and messages name the Bedrock object: "deployment".
    const NOUN: &'static str = Self::WORDS.noun;

    /// GetXxx by name or ARN; `None` when there is no such object.
    fn get<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<Self::Remote>, BedrockError>> + Send;

    /// Creates the object and brings the plan to what follows (`after_create`); `Stop` when
    /// a last check refused the create and replaced the plan.
    fn create<B: Bedrock>(
        &self,
        valid: &Self::Valid,
        region: &str,
        request: &Self::Create,
        plan: &mut KindPlan<Self>,
        ctx: &Context<B>,
    ) -> impl Future<Output = Result<Flow, BedrockError>> + Send;

    /// Starts the in-place change of the object at `arn`.
    fn update<B: Bedrock>(
        region: &str,
        arn: &str,
        change: &Self::Update,
        plan: &mut KindPlan<Self>,
        ctx: &Context<B>,
    ) -> impl Future<Output = Result<(), BedrockError>> + Send;

    /// DeleteXxx; whether the object existed.
    fn delete<B: Bedrock>(
        ctx: &Context<B>,
        region: &str,
        arn: &str,
    ) -> impl Future<Output = Result<bool, BedrockError>> + Send;

    /// The event of a resource let go with its object kept (deletionPolicy Retain).
    fn retained(&self) -> Note {
        Note::normal(
            crate::api::conditions::reason::RETAINED,
            "Delete",
            format!(
                "kept Bedrock {} {} because deletionPolicy is Retain",
                Self::NOUN,
                self.bedrock_name()
            ),
        )
    }

    /// The DeletionBlocked message of an object Bedrock will not delete before `until`.
    fn undeletable_until(&self, until: &str) -> String {
        format!(
            "Bedrock {} {} cannot be deleted before {until}; the operator keeps the finalizer and deletes it then",
            Self::NOUN,
            self.bedrock_name()
        )
    }

    /// What still uses the object and must go first: the DeletionBlocked message, or `None`.
    fn users<B: Bedrock>(
        &self,
        ctx: &Context<B>,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send {
        let _ = ctx;
        async { Ok(None) }
    }
}

/// The `update` of a kind that changes nothing in place (`type Update = Infallible`): a plan
/// of such a kind never holds a `Call::Update`.
macro_rules! no_update {
    () => {
        async fn update<B: $crate::bedrock::Bedrock>(
            _region: &str,
            _arn: &str,
            change: &std::convert::Infallible,
            _plan: &mut $crate::controller::lifecycle::KindPlan<Self>,
            _ctx: &$crate::controller::context::Context<B>,
        ) -> Result<(), $crate::bedrock::BedrockError> {
            match *change {}
        }
    };
}
pub(crate) use no_update;

/// The region of a kind's Bedrock object, one rule for every kind, in apply and in cleanup:
/// where the object lives once the status holds it (`held`); else where a new one goes:
/// spec.region, else the referenced model's, else the operator's default.
pub fn region(
    held: Option<&str>,
    spec: Option<&str>,
    model: Option<&str>,
    default: &str,
) -> String {
    held.or(spec).or(model).unwrap_or(default).to_string()
}

/// Runs the plan's calls in order, in `region` (the kind's create picks its own), updating the
/// plan with what they returned; stops at the first failure, or with `Lost` when the object
/// turned out to be another resource's.
pub(crate) async fn act<K: Lifecycle, B: Bedrock>(
    resource: &K,
    valid: &K::Valid,
    region: &str,
    plan: &mut KindPlan<K>,
    ctx: &Context<B>,
) -> Result<Option<Lost>, BedrockError> {
    let me = Me::of(resource.meta(), &ctx.cluster);
    let calls = std::mem::take(&mut plan.actions);
    for call in &calls {
        match call {
            Call::Create(request) => {
                if resource.create(valid, region, request, plan, ctx).await? == Flow::Stop {
                    return Ok(None);
                }
                // Test builds only: die here, between the create and the status write.
                crate::fault::after_create();
            }
            Call::Update { arn, change } => K::update(region, arn, change, plan, ctx).await?,
            Call::Delete { arn } => {
                let delete = async || K::delete(ctx, region, arn).await;
                if let Some(lost) = holding::delete_owned(ctx, region, arn, &me, delete).await? {
                    return Ok(Some(lost));
                }
            }
            Call::Claim { arn, tags } => {
                if let Some(lost) = holding::claim(ctx, region, arn, tags, &me).await? {
                    return Ok(Some(lost));
                }
            }
            Call::Tag { arn, tags } => {
                ctx.bedrock.tag(region, arn, tags).await?;
                debug!(arn = %arn, keys = tags.len(), "tags set");
            }
            Call::Untag { arn, keys } => {
                ctx.bedrock.untag(region, arn, keys).await?;
                debug!(arn = %arn, keys = keys.len(), "tags removed");
            }
        }
    }
    plan.actions = calls;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::region;

    #[test]
    fn the_region_of_the_held_object_comes_first() {
        assert_eq!(
            region(
                Some("eu-west-1"),
                Some("us-west-2"),
                Some("ap-south-1"),
                "us-east-1"
            ),
            "eu-west-1"
        );
    }

    #[test]
    fn with_nothing_recorded_the_spec_region_then_the_models_then_the_default() {
        assert_eq!(
            region(None, Some("us-west-2"), Some("ap-south-1"), "us-east-1"),
            "us-west-2"
        );
        assert_eq!(
            region(None, None, Some("ap-south-1"), "us-east-1"),
            "ap-south-1"
        );
        assert_eq!(region(None, None, None, "us-east-1"), "us-east-1");
    }
}
