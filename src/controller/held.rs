//! The object a resource holds, written once for every kind.
//!
//! - [`HeldStatus`]: what the shared plan reads and writes of a status that holds one Bedrock
//!   object, a table per kind made by [`held_status!`].
//! - [`decide`]: the (held × found) match every plan starts from: create, take back, adopt and
//!   claim, NameConflict, create again, or the kind's look at the object it holds.
//! - The pieces every kind's plan shares: [`create`] (a create's plan), [`failed`] (the Failed
//!   branch), [`immutable_changed`] (a change to a field Bedrock fixes at creation),
//!   [`settled`], [`sync_tags`] and [`name_conflict`].
//!
//! A kind supplies only its own branches ([`Branches`]): its create, its look at an existing
//! object, what its object was created with, and the tags an adoption puts on.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::Resource;

use super::kind::Managed;
use super::lifecycle::{KindPlan, Lifecycle};
use super::outcome::{self, Next, Note, Plan};
use super::ownership::{self, Liveness, Match, Me};
use crate::api::AdoptionPolicy;
use crate::api::conditions::{event, reason};
use crate::bedrock::Object;

/// What the shared plan reads and writes of a kind's status: the held object's ARN, its
/// region, its state fields, what it was created with and the bookkeeping of tags and
/// re-creations. No decision: a table per kind ([`held_status!`]).
pub trait HeldStatus: Clone + Default {
    /// The parameters Bedrock fixes when it creates the object.
    type CreatedWith: Fixed;

    fn held_arn(&self) -> Option<&str>;
    /// Holds the object `arn` in `region`.
    fn hold(&mut self, arn: &str, region: &str);
    fn set_region(&mut self, region: &str);
    /// Forgets the held object and its state (`createdWith` stays: it is replaced at the next
    /// create, and dropping a nested object through server-side apply is unreliable).
    fn clear(&mut self);
    /// Whether the held object is Failed.
    fn failed(&self) -> bool;
    /// Where the state recorded stands, for [`settled`].
    fn standing(&self) -> outcome::Standing;
    fn created_with(&self) -> Option<&Self::CreatedWith>;
    fn set_created_with(&mut self, created_with: Self::CreatedWith);
    fn set_tags_synced_generation(&mut self, generation: Option<i64>);
    fn managed_tag_keys(&self) -> &[String];
    fn set_managed_tag_keys(&mut self, keys: Vec<String>);
    fn tags_synced_generation(&self) -> Option<i64>;
    /// Counts one more re-creation (part of the next create's idempotency token).
    fn count_recreation(&mut self);
    fn observed_generation(&self) -> Option<i64>;
    /// The last value of the retry annotation acted on.
    fn retry_handled(&self) -> Option<&str>;
    fn set_retry_handled(&mut self, value: String);
}

/// What an object was created with, of the parameters Bedrock fixes at creation.
pub trait Fixed {
    /// The fields (as under spec.) whose value here differs from what the object was created
    /// with (`current`).
    fn changes(&self, current: &Self) -> Vec<&'static str>;
}

/// The [`HeldStatus`] table of a status: the field that holds the ARN; the state field, its
/// Failed value, its serving value with the Ready reason it shows and whether a settled one
/// shows Synced `Reconciled` too; and the fields forgotten with the object besides the ARN
/// and the state.
macro_rules! held_status {
    ($status:ty {
        created_with: $created_with:ty,
        arn: $arn:ident,
        state: $state:ident {
            failed: $failed:path,
            serving: $serving:path => $ready:expr,
            synced_too: $synced_too:expr $(,)?
        },
        clear: [$($field:ident),* $(,)?] $(,)?
    }) => {
        impl $crate::controller::held::HeldStatus for $status {
            type CreatedWith = $created_with;

            fn held_arn(&self) -> Option<&str> {
                self.$arn.as_deref()
            }
            fn hold(&mut self, arn: &str, region: &str) {
                self.$arn = Some(arn.to_string());
                self.region = Some(region.to_string());
            }
            fn set_region(&mut self, region: &str) {
                self.region = Some(region.to_string());
            }
            fn clear(&mut self) {
                self.$arn = None;
                self.$state = None;
                $(self.$field = None;)*
            }
            fn failed(&self) -> bool {
                self.$state == Some($failed)
            }
            fn standing(&self) -> $crate::controller::outcome::Standing {
                match self.$state {
                    Some($serving) => $crate::controller::outcome::Standing::Serving {
                        ready_reason: $ready,
                        synced_too: $synced_too,
                    },
                    Some($failed) => $crate::controller::outcome::Standing::Failed,
                    _ => $crate::controller::outcome::Standing::InProgress,
                }
            }
            fn created_with(&self) -> Option<&$created_with> {
                self.created_with.as_ref()
            }
            fn set_created_with(&mut self, created_with: $created_with) {
                self.created_with = Some(created_with);
            }
            fn set_tags_synced_generation(&mut self, generation: Option<i64>) {
                self.tags_synced_generation = generation;
            }
            fn managed_tag_keys(&self) -> &[String] {
                &self.managed_tag_keys
            }
            fn set_managed_tag_keys(&mut self, keys: Vec<String>) {
                self.managed_tag_keys = keys;
            }
            fn tags_synced_generation(&self) -> Option<i64> {
                self.tags_synced_generation
            }
            fn count_recreation(&mut self) {
                self.recreations += 1;
            }
            fn observed_generation(&self) -> Option<i64> {
                self.observed_generation
            }
            fn retry_handled(&self) -> Option<&str> {
                self.retry_handled.as_deref()
            }
            fn set_retry_handled(&mut self, value: String) {
                self.retry_handled = Some(value);
            }
        }
    };
}
pub(crate) use held_status;

/// What is the kind's own in the match: how it creates, how it looks at an object it holds,
/// and what an object was created with.
pub trait Branches {
    type Kind: Lifecycle<Status: HeldStatus>;
    /// The reason of the warning when the held object disappeared and is created again.
    const MISSING: &'static str;

    /// The plan of a create (first, or again after the object disappeared, with `events`).
    fn create(&self, status: Status<Self>, events: Vec<Note>) -> KindPlan<Self::Kind>;
    /// The plan of an object the status holds (or just took back or adopted).
    fn existing(&self, status: Status<Self>, found: &Remote<Self>) -> KindPlan<Self::Kind>;
    /// What an object this resource created was created with: the spec's values.
    fn created_with(&self) -> CreatedWith<Self::Kind>;
    /// What an adopted object was created with, as Bedrock describes it.
    fn adopted_with(&self, found: &Remote<Self>) -> CreatedWith<Self::Kind>;
    /// What an object this resource created before a crash (taken back) was created with: the
    /// spec's values, where Bedrock does not say otherwise.
    fn taken_back_with(&self, found: &Remote<Self>) -> CreatedWith<Self::Kind> {
        let _ = found;
        self.created_with()
    }
    /// Whether an adoption puts the spec's tags on with the owner tags in its one claim (and
    /// the kind manages their keys from then on), rather than the owner tags alone (the
    /// spec's then follow with the tag sync).
    const CLAIMS_SPEC_TAGS: bool;

    /// The held object disappeared outside the operator: create it again (with a warning,
    /// unless it had failed). A kind that must not (money) says so here.
    fn missing(&self, status: Status<Self>, arn: &str) -> KindPlan<Self::Kind> {
        let what = format!("Bedrock {} {arn}", Self::Kind::NOUN);
        recreate(self, status, &what, "creating it again")
    }
}

/// The held object (`what`, as the warning names it) disappeared outside the operator: create
/// it again, the re-creation counted (part of the next create's token), with a warning that
/// says what the operator is `doing`, none when the object had failed.
pub fn recreate<B: Branches + ?Sized>(
    branches: &B,
    mut status: Status<B>,
    what: &str,
    doing: &str,
) -> KindPlan<B::Kind> {
    let was_failed = status.failed();
    status.count_recreation();
    status.clear();
    let events = if was_failed {
        Vec::new()
    } else {
        vec![Note::warning(
            B::MISSING,
            "Recreate",
            format!("{what} disappeared outside the operator; {doing}"),
        )]
    };
    branches.create(status, events)
}

type Status<B> = <<B as Branches>::Kind as Managed>::Status;
type Remote<B> = <<B as Branches>::Kind as Lifecycle>::Remote;
type CreatedWith<K> = <<K as Managed>::Status as HeldStatus>::CreatedWith;

/// What a kind's [`Branches`] decide from: the resource, its checked spec, the region, what
/// was observed, the timing, and how long the object (or its last change) has been in progress.
pub struct Given<'a, K, V, O, E> {
    pub resource: &'a K,
    pub valid: &'a V,
    pub region: &'a str,
    pub observation: &'a O,
    pub timing: &'a super::outcome::Timing,
    pub elapsed: E,
}

impl<K, V, O, E: Copy> Clone for Given<'_, K, V, O, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V, O, E: Copy> Copy for Given<'_, K, V, O, E> {}

impl<'a, K, V, O, E> Given<'a, K, V, O, E> {
    pub fn new(
        resource: &'a K,
        valid: &'a V,
        region: &'a str,
        observation: &'a O,
        timing: &'a super::outcome::Timing,
        elapsed: E,
    ) -> Self {
        Self {
            resource,
            valid,
            region,
            observation,
            timing,
            elapsed,
        }
    }
}

/// A kind's plan: the shared match ([`decide`]) of what was observed, through the kind's
/// branches (`given`), from `status`.
pub fn plan<'a, K, V, I, E>(
    given: Given<'a, K, V, Observation<K::Remote, I>, E>,
    status: K::Status,
) -> KindPlan<K>
where
    K: Lifecycle<Status: HeldStatus>,
    K::Remote: Object,
    E: Copy,
    Given<'a, K, V, Observation<K::Remote, I>, E>: Branches<Kind = K>,
{
    let adopt = given.resource.adoption_policy() == AdoptionPolicy::Adopt;
    let seen = given
        .observation
        .seen(adopt, given.region, given.timing.slow_retry);
    decide(given.resource, &given, status, seen)
}

/// What a kind's plan reads: what the kind read before it looked at Bedrock (its
/// [`Apply::Inputs`](super::apply::Apply::Inputs): a serving kind's model resolved, the model's
/// sweep; nothing for an import), and what the observe step found of the object. Built once, by
/// the shared apply stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation<R, I = ()> {
    pub inputs: I,
    /// The object: looked up by the status's ARN, or by name when there is none.
    pub remote: Option<R>,
    /// Its tags, when they were read.
    pub tags: Option<BTreeMap<String, String>>,
    /// Whether the resource the object's owner tag names still exists, when another
    /// resource's tag made the observe step look it up (see [`ownership::owner_to_look_up`]).
    pub owner: Liveness,
    /// The cluster this operator serves, as owner tags name it: read from the API server at
    /// start-up (or given by `--cluster-name`).
    pub cluster: String,
}

impl<R, I: Default> Default for Observation<R, I> {
    fn default() -> Self {
        Self {
            inputs: I::default(),
            remote: None,
            tags: None,
            owner: Liveness::default(),
            cluster: String::new(),
        }
    }
}

impl<R, I> Observation<R, I> {
    /// What the shared match reads of it ([`decide`]).
    pub fn seen<'a>(&'a self, adopt: bool, region: &'a str, slow_retry: Duration) -> Seen<'a, R> {
        Seen {
            found: self.remote.as_ref(),
            tags: self.tags.as_ref(),
            owner: self.owner,
            cluster: &self.cluster,
            adopt,
            region,
            slow_retry,
        }
    }
}

/// What the observe step saw, for [`decide`].
pub struct Seen<'a, R> {
    /// The object: by the status's ARN, or by name while there is none.
    pub found: Option<&'a R>,
    pub tags: Option<&'a BTreeMap<String, String>>,
    /// The liveness of the owner the tags name.
    pub owner: Liveness,
    /// The cluster this operator serves.
    pub cluster: &'a str,
    /// Whether the spec asks for adoption.
    pub adopt: bool,
    pub region: &'a str,
    pub slow_retry: Duration,
}

/// The plan of every kind's reconcile, from the (held × found) match: create; take back an
/// object this resource created before a crash; adopt (claim first); NameConflict; create
/// again when the held object disappeared; or the kind's look at the object it holds.
pub fn decide<B: Branches>(
    resource: &B::Kind,
    branches: &B,
    mut status: Status<B>,
    seen: Seen<'_, Remote<B>>,
) -> KindPlan<B::Kind>
where
    Remote<B>: Object,
{
    let me = Me::of(resource.meta(), seen.cluster);
    let held = status.held_arn().map(str::to_string);
    let region = seen.region;
    match ownership::matching(held, seen.found, seen.tags, &me, seen.adopt, seen.owner) {
        Match::Create => branches.create(status, Vec::new()),
        // Created by this resource earlier (just before a crash): take it back.
        Match::TakeBack(found) => {
            status.set_created_with(branches.taken_back_with(found));
            status.hold(found.arn(), region);
            branches.existing(status, found)
        }
        Match::Adopt { found, from } => {
            status.set_created_with(branches.adopted_with(found));
            let tags = claimed::<B>(resource, &mut status, seen.cluster);
            status.hold(found.arn(), region);
            let mut plan = branches.existing(status, found);
            super::call::claim_first(&mut plan, found.arn(), tags);
            // The next look reads the tags again: another process may have claimed the object
            // in the same moment (a leader failover), and finds out then.
            plan.status.set_tags_synced_generation(
                resource
                    .status()
                    .and_then(HeldStatus::tags_synced_generation),
            );
            let noun = format!("Bedrock {}", B::Kind::NOUN);
            let message =
                ownership::adopted_message(&noun, found.name(), found.arn(), from.as_ref());
            plan.events
                .insert(0, Note::normal(event::ADOPTED, "Adopt", message));
            plan
        }
        Match::Conflict { found, holder } => {
            let conflict = Conflict {
                name: found.name(),
                arn: found.arn(),
                region,
                holder: holder.as_ref(),
                adopt: seen.adopt,
            };
            name_conflict(resource, status, &conflict, seen.slow_retry)
        }
        Match::Missing { arn } => branches.missing(status, &arn),
        Match::Held(found) => branches.existing(status, found),
    }
}

/// The tags an adoption puts on first, in one call read back: the owner tags, and the spec's
/// tags where the kind claims them too ([`Branches::CLAIMS_SPEC_TAGS`]; their keys are then
/// managed, as recorded in `status`).
fn claimed<B: Branches>(
    resource: &B::Kind,
    status: &mut Status<B>,
    cluster: &str,
) -> BTreeMap<String, String> {
    if !B::CLAIMS_SPEC_TAGS {
        return crate::api::tags::desired(&BTreeMap::new(), resource.meta(), cluster);
    }
    status.set_managed_tag_keys(resource.spec_tags().keys().cloned().collect());
    resource.desired_tags(cluster)
}

/// A Bedrock object found under the name a resource asks for that is not the resource's.
pub struct Conflict<'a> {
    pub name: &'a str,
    pub arn: &'a str,
    pub region: &'a str,
    /// Whose its owner tag says it is.
    pub holder: Option<&'a ownership::Holder>,
    /// Whether the spec asks for adoption.
    pub adopt: bool,
}

/// NameConflict: the object is not this resource's to take. The status keeps no object, so
/// deleting this resource never deletes it, and nothing keyed by its ARN (the sweep) treats
/// this resource as its.
pub fn name_conflict<K: Lifecycle<Status: HeldStatus>>(
    resource: &K,
    mut status: K::Status,
    conflict: &Conflict<'_>,
    slow_retry: Duration,
) -> KindPlan<K> {
    status.set_region(conflict.region);
    status.clear();
    let found = ownership::Found {
        noun: K::NOUN,
        field: K::NAME_FIELD,
        name: conflict.name,
        region: conflict.region,
        arn: conflict.arn,
    };
    let message = ownership::name_conflict_message(&found, conflict.holder, conflict.adopt);
    outcome::blocked(
        resource.conditions(),
        status,
        reason::NAME_CONFLICT,
        message,
        Next::After(slow_retry),
    )
}

/// ImmutableFieldChanged: a field Bedrock fixes at creation differs from what the live object
/// (held, not Failed) was created with ([`Fixed::changes`] of `desired`); `message` words the
/// refusal from "spec.a, spec.b" and the recorded values. No call.
pub fn immutable_changed<K, A, C>(
    resource: &K,
    status: K::Status,
    desired: &C,
    message: impl FnOnce(&str, &C) -> String,
) -> Option<Plan<K::Status, A>>
where
    K: Managed<Status: HeldStatus<CreatedWith = C>>,
    C: Fixed,
{
    let current = status.created_with()?;
    if status.held_arn().is_none() || status.failed() {
        return None;
    }
    let changed = desired.changes(current);
    if changed.is_empty() {
        return None;
    }
    let fields = changed
        .iter()
        .map(|f| format!("spec.{f}"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = message(&fields, current);
    Some(outcome::blocked(
        resource.conditions(),
        status,
        reason::IMMUTABLE_FIELD_CHANGED,
        message,
        Next::AwaitChange,
    ))
}

/// How a kind words its object's failure.
pub struct Failure {
    /// The Failed event's reason.
    pub event: &'static str,
    /// The Failed message, from the object's name and Bedrock's reason (without its final
    /// period).
    pub message: fn(name: &str, failure: &str) -> String,
}

/// The plan of a held object Bedrock reports Failed: replaced (deleted, then created again)
/// when a new retry value asks for it or a field Bedrock fixed at creation differs from
/// `desired` ([`Fixed::changes`]); otherwise Failed with Bedrock's reason, announced once.
pub fn failed<K: Lifecycle<Status: HeldStatus>>(
    resource: &K,
    mut status: K::Status,
    found: &K::Remote,
    desired: &CreatedWith<K>,
    words: &Failure,
) -> KindPlan<K> {
    let changed = status
        .created_with()
        .map(|current| desired.changes(current))
        .unwrap_or_default();
    let retry = outcome::unhandled_retry(
        resource.meta().annotations.as_ref(),
        resource.status().and_then(HeldStatus::retry_handled),
    );
    let name = found.name();
    if let Some(cause) = outcome::replacement_cause(retry.is_some(), &changed) {
        if let Some(retry) = retry {
            status.set_retry_handled(retry);
        }
        status.count_recreation();
        status.clear();
        let delete = super::call::Call::Delete {
            arn: found.arn().to_string(),
        };
        return outcome::replacing(status, delete, K::NOUN, name, &cause);
    }
    let failure = found
        .failure()
        .unwrap_or("no reason given")
        .trim_end_matches('.');
    let message = (words.message)(name, failure);
    let announce = !resource.status().is_some_and(HeldStatus::failed);
    outcome::failed(status, message, words.event, announce)
}

/// Whether the status shows the spec reconciled and nothing pending (see
/// [`outcome::settled`]), from where the state it records stands ([`HeldStatus::standing`]).
pub fn settled<K: Managed<Status: HeldStatus>>(resource: &K) -> bool {
    let Some(status) = resource.status() else {
        return false;
    };
    let seen = outcome::Settling {
        conditions: K::status_conditions(status),
        generation: resource.meta().generation,
        observed_generation: status.observed_generation(),
        holds_object: status.held_arn().is_some(),
        tags_synced_generation: status.tags_synced_generation(),
        retry_pending: outcome::unhandled_retry(
            resource.meta().annotations.as_ref(),
            status.retry_handled(),
        )
        .is_some(),
    };
    outcome::settled(&seen, status.standing())
}

/// The calls that bring the object's tags (`remote`, when they were read) to the spec's tags
/// (`spec`) plus the owner tags, removing only keys the operator set before; records in the
/// status which keys it manages now and for which generation. No call when the tags were not
/// read.
pub fn sync_tags<S: HeldStatus, C, U>(
    status: &mut S,
    arn: &str,
    spec: &BTreeMap<String, String>,
    meta: &kube::core::ObjectMeta,
    remote: Option<&BTreeMap<String, String>>,
    cluster: &str,
) -> Vec<super::call::Call<C, U>> {
    let Some(remote) = remote else {
        return Vec::new();
    };
    let desired = crate::api::tags::desired(spec, meta, cluster);
    let calls = outcome::tag_calls(arn, &desired, remote, status.managed_tag_keys());
    status.set_managed_tag_keys(spec.keys().cloned().collect());
    status.set_tags_synced_generation(meta.generation);
    calls.into_iter().map(super::call::Call::from).collect()
}

/// The plan of a create: the one call (which carries the tags), the status in the region
/// given with the spec's tag keys managed, Creating with `message`, and a Creating event after
/// `events`.
pub fn create<K: Managed<Status: HeldStatus>, V, O, E, C, U>(
    given: &Given<'_, K, V, O, E>,
    mut status: K::Status,
    request: C,
    message: String,
    mut events: Vec<Note>,
) -> Plan<K::Status, super::call::Call<C, U>> {
    status.set_region(given.region);
    status.set_managed_tag_keys(given.resource.spec_tags().keys().cloned().collect());
    events.push(Note::normal(reason::CREATING, "Create", message.clone()));
    Plan {
        actions: vec![super::call::Call::Create(request)],
        status,
        conditions: outcome::creating(message),
        events,
        next: Next::Soon,
    }
}

#[cfg(test)]
mod tests {
    //! The shared pieces on one kind's table (the deployment's); every kind's plan tests cover
    //! them again through its own branches.

    use std::collections::BTreeMap;

    use super::*;
    use crate::api::RETRY_ANNOTATION;
    use crate::api::deployment::{
        BedrockCustomModelDeployment, BedrockCustomModelDeploymentStatus, DeploymentCreatedWith,
        DeploymentStatus,
    };
    use crate::bedrock::{DeploymentState, RemoteDeployment};
    use crate::controller::call::Call;
    use crate::controller::fixtures::{GENERATION, REGION, V3, meta};

    const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/held";

    type Status = BedrockCustomModelDeploymentStatus;

    fn created(name: &str) -> DeploymentCreatedWith {
        DeploymentCreatedWith {
            model_deployment_name: name.into(),
            description: None,
            region: REGION.into(),
            adopted: false,
        }
    }

    fn holding(state: DeploymentStatus) -> Status {
        Status {
            deployment_arn: Some(ARN.into()),
            deployment_status: Some(state),
            model_arn: Some(V3.into()),
            failure_message: Some("quota".into()),
            region: Some(REGION.into()),
            created_with: Some(created("chat")),
            ..Default::default()
        }
    }

    fn resource(status: Option<Status>, retry: Option<&str>) -> BedrockCustomModelDeployment {
        let mut metadata = meta("chat", "uid-1");
        metadata.annotations = retry.map(|v| BTreeMap::from([(RETRY_ANNOTATION.into(), v.into())]));
        BedrockCustomModelDeployment {
            metadata,
            spec: Default::default(),
            status,
        }
    }

    fn failed_remote() -> RemoteDeployment {
        RemoteDeployment {
            arn: ARN.into(),
            name: "chat".into(),
            model_arn: V3.into(),
            description: None,
            state: DeploymentState::Failed,
            failure_message: Some("no capacity.".into()),
            update: None,
            creation_time: None,
            last_updated_time: None,
        }
    }

    const WORDS: Failure = Failure {
        event: "DeploymentFailed",
        message: |name, failure| format!("{name} failed: {failure}"),
    };

    #[test]
    fn the_table_forgets_the_object_and_keeps_what_it_was_created_with() {
        let mut status = holding(DeploymentStatus::Failed);
        assert!(status.failed());
        assert_eq!(status.held_arn(), Some(ARN));
        status.clear();
        assert_eq!(status.held_arn(), None);
        assert!(!status.failed());
        assert_eq!(status.model_arn, None);
        assert_eq!(status.failure_message, None);
        assert_eq!(status.created_with, Some(created("chat")));
        status.hold("arn:other", "eu-west-1");
        assert_eq!(status.deployment_arn.as_deref(), Some("arn:other"));
        assert_eq!(status.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn a_failed_object_stays_failed_and_is_announced_once() {
        for (name, before, announced) in [
            ("just failed", DeploymentStatus::Creating, true),
            ("failed before", DeploymentStatus::Failed, false),
        ] {
            let resource = resource(Some(holding(before)), None);
            let status = holding(DeploymentStatus::Failed);
            let plan: KindPlan<BedrockCustomModelDeployment> = failed(
                &resource,
                status,
                &failed_remote(),
                &created("chat"),
                &WORDS,
            );
            assert!(plan.actions.is_empty(), "{name}: no call");
            assert_eq!(plan.status.held_arn(), Some(ARN), "{name}: still held");
            assert_eq!(
                plan.conditions[0].message, "chat failed: no capacity",
                "{name}"
            );
            assert_eq!(plan.events.len(), usize::from(announced), "{name}");
        }
    }

    #[test]
    fn a_failed_object_is_replaced_on_a_new_retry_or_a_changed_fixed_field() {
        for (name, retry, desired, handled) in [
            ("a new retry value", Some("1"), created("chat"), Some("1")),
            ("a changed fixed field", None, created("renamed"), None),
        ] {
            let resource = resource(Some(holding(DeploymentStatus::Failed)), retry);
            let status = holding(DeploymentStatus::Failed);
            let plan: KindPlan<BedrockCustomModelDeployment> =
                failed(&resource, status, &failed_remote(), &desired, &WORDS);
            assert_eq!(
                plan.actions,
                vec![Call::Delete { arn: ARN.into() }],
                "{name}: the failed object is deleted"
            );
            assert_eq!(plan.status.held_arn(), None, "{name}: and forgotten");
            assert_eq!(plan.status.recreations, 1, "{name}: a new token next");
            assert_eq!(plan.status.retry_handled.as_deref(), handled, "{name}");
        }
    }

    #[test]
    fn a_fixed_field_may_change_only_while_nothing_live_is_held() {
        let moved = DeploymentCreatedWith {
            region: "eu-west-1".into(),
            ..created("chat")
        };
        let words = |fields: &str, _: &DeploymentCreatedWith| format!("{fields} is fixed");
        for (name, status, refused) in [
            ("nothing held", Status::default(), false),
            ("a failed object", holding(DeploymentStatus::Failed), false),
            ("a live object", holding(DeploymentStatus::Active), true),
        ] {
            let resource = resource(Some(status.clone()), None);
            let plan: Option<KindPlan<BedrockCustomModelDeployment>> =
                immutable_changed(&resource, status, &moved, words);
            assert_eq!(plan.is_some(), refused, "{name}");
            if let Some(plan) = plan {
                assert_eq!(plan.conditions[0].reason, reason::IMMUTABLE_FIELD_CHANGED);
                assert_eq!(plan.conditions[0].message, "spec.region is fixed");
                assert!(plan.actions.is_empty(), "{name}: no call");
            }
        }
    }

    #[test]
    fn tags_are_synced_only_when_they_were_read() {
        let spec = BTreeMap::from([("team".to_string(), "ml".to_string())]);
        let meta = meta("chat", "uid-1");
        let mut status = holding(DeploymentStatus::Active);
        let calls: Vec<Call<(), ()>> = sync_tags(&mut status, ARN, &spec, &meta, None, "c");
        assert!(calls.is_empty());
        assert_eq!(status.tags_synced_generation, None, "nothing recorded");

        let calls: Vec<Call<(), ()>> =
            sync_tags(&mut status, ARN, &spec, &meta, Some(&BTreeMap::new()), "c");
        assert!(
            matches!(&calls[..], [Call::Tag { arn, tags }] if arn == ARN && tags.get("team").is_some()),
            "{calls:?}"
        );
        assert_eq!(status.managed_tag_keys, vec!["team".to_string()]);
        assert_eq!(status.tags_synced_generation, Some(GENERATION));
    }
}
