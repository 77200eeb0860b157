//! The apply stage of every kind, written once: validate → read what the kind needs first
//! (a serving kind's referenced model) → checks that need no call → observe the Bedrock object
//! (and its tags, and the owner they name) → plan (the kind's pure plan) → act (the shared act
//! loop, [`lifecycle::act`]; a serving kind's export) → report. A kind says what is its own
//! through [`Apply`]; its decisions stay in its `plan`.

use std::future::Future;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use tracing::warn;

use super::context::Context;
use super::deletion::{self, Cleanup};
use super::error::Error;
use super::held::{self, HeldStatus};
use super::holding::{self, Lost};
use super::kind::Managed;
use super::lifecycle::{self, KindPlan, Lifecycle};
use super::locks::Held;
use super::outcome::{self, Plan, Timing};
use super::ownership::{self, Liveness, Me};
use super::reference::Lookup;
use super::report::{fail, finish};
use super::schedule;
use super::scope::NamespaceScope;
use super::settings::Policy;
use crate::api::conditions::reason;
use crate::api::validation::FieldError;
use crate::bedrock::Object;
use crate::bedrock::{Bedrock, BedrockError};

/// What a kind's plan reads ([`held::Observation`]).
pub type Observation<K> = held::Observation<<K as Lifecycle>::Remote, <K as Apply>::Inputs>;

/// What a plan knows besides the resource and what was seen.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub timing: &'a Timing,
    /// The operator's region, for a spec that names none.
    pub default_region: &'a str,
    /// How long the object (or its last change) has been in progress, when known.
    pub elapsed: Option<Duration>,
}

/// What the shared apply stage needs from a kind, beyond its [`Lifecycle`]: its checks and
/// guards. Every method but `admit` is a pure decision of the kind's plan; how the object is
/// found and planned is [`Plans`].
pub trait Apply: Lifecycle<Status: HeldStatus> {
    /// What the kind reads before it looks at Bedrock: a serving kind's referenced model.
    type Inputs: Send + Sync;

    fn validate(&self) -> Result<Self::Valid, Vec<FieldError>>;
    /// What deleting the resource takes, decided from the resource alone (`adoption`: the
    /// namespaces that may adopt; `now`: for a commitment term): the one rule of
    /// [`deletion::standard`] unless the kind has more to say (a commitment term).
    fn deletion(&self, adoption: &NamespaceScope, now: k8s_openapi::jiff::Timestamp) -> Cleanup {
        let _ = now;
        deletion::standard(self, || self.validate().is_ok(), adoption)
    }
    /// InvalidSpec naming every field, no call (the status otherwise as it stands).
    fn invalid(&self, errors: &[FieldError], default_region: &str) -> KindPlan<Self> {
        let _ = default_region;
        invalid(self, errors)
    }
    /// Every check that stops the reconcile before a Bedrock call, under the operator's
    /// `policy`.
    fn precheck(
        &self,
        valid: &Self::Valid,
        inputs: &Self::Inputs,
        region: &str,
        policy: &Policy,
    ) -> Option<KindPlan<Self>>;
    /// Guards that need the API server (a namespace's budget of model units), checked before
    /// any Bedrock call (`plan`: `None`) and again once the plan is made, before its calls
    /// (`plan`: `Some`): a refusal, or go on. A guard that needs a lock keeps it in `held`,
    /// which the apply stage holds until the status is written, so that a concurrent
    /// reconcile of the same namespace sees what this one bought.
    fn admit<'c, B: Bedrock>(
        &self,
        valid: &Self::Valid,
        plan: Option<&KindPlan<Self>>,
        held: &mut Option<Held<'c>>,
        ctx: &'c Context<B>,
    ) -> impl Future<Output = Result<Option<KindPlan<Self>>, Error>> + Send {
        let _ = (valid, plan, held, ctx);
        async { Ok(None) }
    }

    /// After the status is written: what the process keeps in memory about the object (the
    /// model's sweep). `changed_at`: as the observe step read it.
    fn reported<B: Bedrock>(
        &self,
        status: &Self::Status,
        changed_at: Option<&str>,
        ctx: &Context<B>,
    ) {
        let _ = (status, changed_at, ctx);
    }

    /// Once the resource is gone: what the process forgets about its object besides the
    /// shared memory (the model's sweep).
    fn forgotten<B: Bedrock>(&self, ctx: &Context<B>) {
        let _ = ctx;
    }
}

/// How the apply stage reads, finds and plans a kind's object: written once for every kind
/// that serves a model ([`super::serving`]), by the kind itself otherwise.
pub trait Plans: Apply {
    /// Reads what the plan needs before it looks at Bedrock; a plan instead when that already
    /// decides the reconcile (a reference the operator refuses).
    fn inputs<B: Bedrock>(
        &self,
        valid: &Self::Valid,
        ctx: &Context<B>,
    ) -> impl Future<Output = Result<Result<Self::Inputs, KindPlan<Self>>, Error>> + Send;
    /// The region of the object: the one rule of [`lifecycle::region`], here for a kind that
    /// references no model.
    fn region(&self, valid: &Self::Valid, inputs: &Self::Inputs, default_region: &str) -> String {
        let _ = (valid, inputs);
        lifecycle::region(
            self.held_region(),
            self.given_region(),
            None,
            default_region,
        )
    }
    /// How to find the object; `None` while there is nothing to look up yet (no call). By the
    /// ARN the status holds, else by the Bedrock name.
    fn lookup(&self, valid: &Self::Valid, inputs: &Self::Inputs) -> Option<Lookup> {
        let _ = (valid, inputs);
        let held = self.status().and_then(HeldStatus::held_arn);
        Some(Lookup::new(held, self.bedrock_name()))
    }
    /// The kind's pure plan of what was seen.
    fn plan(
        &self,
        valid: &Self::Valid,
        region: &str,
        observation: &Observation<Self>,
        facts: &Facts<'_>,
    ) -> KindPlan<Self>;
    /// The plan once the object turned out to be another resource's (`lost`).
    fn lost(
        &self,
        valid: &Self::Valid,
        region: &str,
        lost: &Lost,
        facts: &Facts<'_>,
    ) -> KindPlan<Self>;
    /// After the plan's calls, before its report: what the kind keeps in step with the plan's
    /// status in Kubernetes (a serving kind's spec.export ConfigMap, [`super::export`]). Folds
    /// its own failures into the plan: the status must still be reported.
    fn export<B: Bedrock>(
        &self,
        valid: &Self::Valid,
        plan: &mut KindPlan<Self>,
        ctx: &Context<B>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (valid, plan, ctx);
        async {}
    }
    /// The region of the model the spec names (by reference: read through the API server),
    /// for [`lifecycle::region`] in cleanup.
    fn model_region<B: Bedrock>(
        &self,
        ctx: &Context<B>,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send {
        let _ = ctx;
        async { Ok(None) }
    }
}

/// The apply stage of a kind.
pub async fn apply<K: Plans, B: Bedrock>(resource: &K, ctx: &Context<B>) -> Result<Action, Error> {
    // Validate: the code below only meets a checked spec.
    let valid = match resource.validate() {
        Ok(valid) => valid,
        Err(errors) => {
            let plan = resource.invalid(&errors, &ctx.default_region);
            return finish(resource, ctx, &plan).await;
        }
    };
    let inputs = match resource.inputs(&valid, ctx).await? {
        Ok(inputs) => inputs,
        Err(plan) => return finish(resource, ctx, &plan).await,
    };
    let region = resource.region(&valid, &inputs, &ctx.default_region);
    if let Some(plan) = resource.precheck(&valid, &inputs, &region, &ctx.policy) {
        return finish(resource, ctx, &plan).await;
    }
    // Held until the status is written (the end of this function).
    let mut held = None;
    if let Some(plan) = resource.admit(&valid, None, &mut held, ctx).await? {
        return finish(resource, ctx, &plan).await;
    }
    if ctx.memory.first_look(resource) && held::settled(resource) {
        // Counted in the gauges from the first look on, though not looked at in Bedrock yet.
        K::record_state(&ctx.metrics, &resource.key(), resource.status());
        return Ok(Action::requeue(schedule::spread(ctx.timing.resync)));
    }

    // Observe.
    let lookup = resource.lookup(&valid, &inputs);
    // One adoption (or create) of a name per region at a time, from the look-up to the
    // status write, whatever the namespace.
    let _name_lock = match &lookup {
        Some(Lookup::ByName(name)) => {
            Some(ctx.names.lock(format!("{}/{region}/{name}", K::NOUN)).await)
        }
        _ => None,
    };
    let tags_due = ctx.memory.tags_due(resource);
    let observed = async {
        let Some(lookup) = &lookup else {
            return Ok((None, None));
        };
        let (Lookup::ByName(identifier) | Lookup::ByArn(identifier)) = lookup;
        let remote = K::get(ctx, &region, identifier).await?;
        let tags = match &remote {
            Some(remote) if needs_tags(resource, lookup, remote, tags_due) => {
                Some(ctx.bedrock.list_tags(&region, remote.arn()).await?)
            }
            _ => None,
        };
        Ok::<_, BedrockError>((remote, tags))
    };
    let (remote, tags) = match observed.await {
        Ok(observed) => observed,
        Err(error) => {
            let status = resource.status().cloned().unwrap_or_default();
            return Err(fail(resource, ctx, &status, error).await);
        }
    };
    let me = Me::of(resource.meta(), &ctx.cluster);
    let owner = match tags
        .as_ref()
        .and_then(|tags| ownership::owner_to_look_up(&me, tags))
    {
        Some(holder) => holding::look_up_owner::<K, B>(&holder, ctx).await?,
        None => Liveness::Unknown,
    };
    let changed_at = remote
        .as_ref()
        .and_then(Object::changed_at)
        .map(str::to_string);
    let facts = Facts {
        timing: &ctx.timing,
        default_region: &ctx.default_region,
        elapsed: changed_at.as_deref().map(holding::elapsed_since),
    };
    let tags_read = tags.is_some();
    let observation = held::Observation {
        inputs,
        remote,
        tags,
        owner,
        cluster: ctx.cluster.clone(),
    };

    // Plan.
    let mut plan = resource.plan(&valid, &region, &observation, &facts);
    if let Some(refused) = resource.admit(&valid, Some(&plan), &mut held, ctx).await? {
        plan = refused;
    }

    // Act.
    match lifecycle::act(resource, &valid, &region, &mut plan, ctx).await {
        Ok(None) => {}
        Ok(Some(lost)) => {
            let holder = lost.holder.as_ref().map(ToString::to_string);
            warn!(resource = %resource.name_any(), namespace = %resource.namespace().unwrap_or_default(), arn = %lost.arn, owner = ?holder, "the Bedrock {} belongs to another resource", K::NOUN);
            plan = resource.lost(&valid, &region, &lost, &facts);
        }
        Err(failure) => return Err(fail(resource, ctx, &plan.status, failure).await),
    }
    if tags_read {
        ctx.memory.tags_checked(resource);
    }
    resource.export(&valid, &mut plan, ctx).await;

    // Report.
    let action = finish(resource, ctx, &plan).await?;
    resource.reported(&plan.status, changed_at.as_deref(), ctx);
    Ok(action)
}

/// Whether the observe step should also read the object's tags: to tell whose an object found
/// by name is; and for a steady one ([`Object::steady`]), when spec.tags may have changed since
/// they were last made to match (a new generation), or when the periodic drift check is `due`.
/// Otherwise the tags are known to be what the spec asks for, and reading them would only
/// spend the tagging quota.
pub fn needs_tags<K: Lifecycle<Status: HeldStatus>>(
    resource: &K,
    lookup: &Lookup,
    remote: &K::Remote,
    due: bool,
) -> bool {
    outcome::needs_tags(
        matches!(lookup, Lookup::ByName(_)),
        remote.steady(),
        due,
        resource
            .status()
            .and_then(HeldStatus::tags_synced_generation),
        resource.meta().generation,
    )
}

/// The plan of a spec that fails validation (or a guard that names a field): InvalidSpec
/// naming every field, the status otherwise as it stands, no AWS call.
pub fn invalid<K: Managed, A>(resource: &K, errors: &[FieldError]) -> Plan<K::Status, A> {
    let mut status = resource.observed_status();
    K::set_status_conditions(&mut status, Vec::new());
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let message = format!(
        "the spec is invalid, so nothing was sent to AWS: {}",
        errors.join("; ")
    );
    outcome::blocked(
        resource.conditions(),
        status,
        reason::INVALID_SPEC,
        message,
        outcome::Next::AwaitChange,
    )
}

/// `adoptionPolicy: Adopt` (`adopt`) in a namespace the operator's `--allow-adoption` leaves
/// out: an InvalidSpec naming the field, before any AWS call, with `status` as the report.
pub fn adoption_refused<K: Managed, A>(
    resource: &K,
    adopt: bool,
    status: impl FnOnce() -> K::Status,
    scope: &NamespaceScope,
) -> Option<Plan<K::Status, A>> {
    if !adopt {
        return None;
    }
    let namespace = resource.namespace().unwrap_or_default();
    let message = ownership::adoption_refused(&namespace, scope)?;
    Some(outcome::blocked(
        resource.conditions(),
        status(),
        reason::INVALID_SPEC,
        message,
        outcome::Next::AwaitChange,
    ))
}

/// NameConflict after a call found the object another resource's: the plan of a kind whose
/// conflict needs no words of its own (`status`: the kind's status before the object).
pub fn lost_to_another<K: Lifecycle>(
    resource: &K,
    status: K::Status,
    lost: &Lost,
    timing: &Timing,
) -> KindPlan<K> {
    let noun = format!("Bedrock {}", K::NOUN);
    let message = ownership::left_message(&noun, &lost.arn, lost.holder.as_ref());
    outcome::blocked(
        resource.conditions(),
        status,
        reason::NAME_CONFLICT,
        message,
        outcome::Next::After(timing.slow_retry),
    )
}
