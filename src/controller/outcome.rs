//! The decisions every kind shares, as pure functions: the shape of a plan (calls, status,
//! conditions, events, when to look again), how a failed call or a blocked deletion shows on a
//! resource, and how long to wait before retrying. No I/O: unit-tested with plain values.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::api::conditions::{self, Desired, event, reason};
use crate::api::{RETRY_ANNOTATION, tags};
use crate::bedrock::{BedrockError, ErrorClass};

/// How often to look at Bedrock objects; configuration, never literals in the code path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// First look after a create; the interval doubles from here.
    pub poll_initial: Duration,
    /// The longest interval between two looks at an object in progress (Creating, Updating).
    pub poll_max: Duration,
    /// How often a settled object is looked at again to catch drift (jittered).
    pub resync: Duration,
    /// How often, at most, a resync also reads the object's tags to catch changes made outside
    /// the operator (reading them on every resync would spend the tagging quota at scale).
    pub tag_check: Duration,
    /// Retry interval for errors a person has to fix (IAM, quotas, Bedrock validation).
    pub slow_retry: Duration,
    /// Backoff for throttling and server errors: base and cap (doubled per failure, jittered).
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Consecutive transient failures before they are shown on the resource.
    pub transient_failures_shown_after: u32,
    /// How often one ListCustomModels call per region looks for imports that finished, instead
    /// of one GetCustomModel per Creating model per poll; zero turns the sweep off.
    pub sweep_interval: Duration,
    /// While the sweep covers a Creating model, the per-model poll only backs it up, this far
    /// apart.
    pub sweep_fallback: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll_initial: Duration::from_secs(2),
            poll_max: Duration::from_secs(30),
            resync: Duration::from_secs(600),
            tag_check: Duration::from_secs(3600),
            slow_retry: Duration::from_secs(300),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(120),
            // Five in a row: about 8 s of backoff at the defaults, past the few throttles the
            // pacing takes to find an operation's quota.
            transient_failures_shown_after: 5,
            sweep_interval: Duration::from_secs(10),
            sweep_fallback: Duration::from_secs(300),
        }
    }
}

/// When to reconcile again if nothing else happens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Look at an object in progress after this long.
    Poll(Duration),
    /// Steady state: look again after the (jittered) resync period.
    Resync,
    /// Nothing to do until the resource (or what it references) changes.
    AwaitChange,
    /// Look again after this long (errors a person must fix).
    After(Duration),
    /// Look again right away (a step of a multi-step change).
    Soon,
}

/// A Kubernetes Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: String,
    pub action: &'static str,
    pub message: String,
}

impl Note {
    pub fn normal(reason: &str, action: &'static str, message: String) -> Self {
        Self {
            warning: false,
            reason: reason.to_string(),
            action,
            message,
        }
    }
    pub fn warning(reason: &str, action: &'static str, message: String) -> Self {
        Self {
            warning: true,
            reason: reason.to_string(),
            action,
            message,
        }
    }
}

/// The outcome of planning one kind's reconcile: the Bedrock calls to make (`A`, the kind's
/// action type), the status to report (`S`, without conditions: `conditions` are merged in
/// when reporting), what to announce and when to look again.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan<S, A> {
    pub actions: Vec<A>,
    pub status: S,
    pub conditions: Vec<Desired>,
    pub events: Vec<Note>,
    pub next: Next,
}

/// Whether the resource's last reconcile of this `generation` was refused as InvalidSpec (by
/// validation or a guard) before any call: nothing was created for it, so its deletion needs
/// no look-up in Bedrock. The API server bumps a custom resource's generation once when its
/// deletion starts (`deleting`): the refusal of the generation before that counts too.
pub fn refused_before_any_call(
    current: &[Condition],
    generation: Option<i64>,
    deleting: bool,
) -> bool {
    conditions::find(current, conditions::SYNCED).is_some_and(|c| {
        let seen = c.observed_generation;
        let this_generation = seen == generation || (deleting && seen.map(|g| g + 1) == generation);
        this_generation && c.reason == conditions::reason::INVALID_SPEC
    })
}

/// A plan that makes no call and shows why on both conditions; the event only when the reason
/// or message is new (`current` is the resource's condition list as it stands).
pub fn blocked<S, A>(
    current: &[Condition],
    status: S,
    why: &'static str,
    message: String,
    next: Next,
) -> Plan<S, A> {
    let desired = vec![
        Desired::new(conditions::READY, false, why, message.clone()),
        Desired::new(conditions::SYNCED, false, why, message.clone()),
    ];
    let events = if changed(current, &desired[1..]) {
        vec![Note::warning(why, "Reconcile", message)]
    } else {
        Vec::new()
    };
    Plan {
        actions: Vec::new(),
        status,
        conditions: desired,
        events,
        next,
    }
}

/// The value of the `bedrock-operator.dev/retry` annotation when it asks for something not yet
/// acted on (`handled` is the value last acted on, from the status).
pub fn unhandled_retry(
    annotations: Option<&BTreeMap<String, String>>,
    handled: Option<&str>,
) -> Option<String> {
    annotations
        .and_then(|a| a.get(RETRY_ANNOTATION))
        .filter(|value| Some(value.as_str()) != handled)
        .cloned()
}

/// Why a Failed Bedrock object is to be replaced: the retry annotation asks for a new attempt
/// (`retry`), or fields Bedrock cannot change in place changed (`changed`); `None` when
/// neither, so it stays Failed.
pub fn replacement_cause(retry: bool, changed: &[&str]) -> Option<String> {
    if !changed.is_empty() {
        let fields = changed
            .iter()
            .map(|f| format!("spec.{f}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Some(format!("{fields} changed"));
    }
    retry.then(|| format!("the {RETRY_ANNOTATION} annotation asks for a new attempt"))
}

/// The conditions of an object on its way: Ready False (Creating) and Synced True, both
/// saying `message`.
pub fn creating(message: String) -> Vec<Desired> {
    vec![
        Desired::new(conditions::READY, false, reason::CREATING, message.clone()),
        Desired::new(conditions::SYNCED, true, reason::RECONCILED, message),
    ]
}

/// The plan of an object Bedrock is still creating: Ready False (Creating) with `message`, no
/// call, looked at again after `delay`.
pub fn still_creating<S, A>(status: S, message: String, delay: Duration) -> Plan<S, A> {
    Plan {
        actions: Vec::new(),
        status,
        conditions: creating(message),
        events: Vec::new(),
        next: Next::Poll(delay),
    }
}

/// The plan of an object that serves: `actions` (tag sync), `ready` as the kind words it,
/// Synced True with `message`, `events`, looked at again at the resync.
pub fn serving<S, A>(
    actions: Vec<A>,
    status: S,
    ready: Desired,
    message: String,
    events: Vec<Note>,
) -> Plan<S, A> {
    Plan {
        actions,
        status,
        conditions: vec![
            ready,
            Desired::new(conditions::SYNCED, true, reason::RECONCILED, message),
        ],
        events,
        next: Next::Resync,
    }
}

/// The plan that replaces a Failed Bedrock object: `delete` it now, create anew on the next
/// reconcile. Ready False (Creating), Synced True, a Replacing event.
pub fn replacing<S, A>(status: S, delete: A, noun: &str, name: &str, cause: &str) -> Plan<S, A> {
    let message = format!("replacing failed Bedrock {noun} {name} because {cause}");
    Plan {
        actions: vec![delete],
        status,
        conditions: creating(message.clone()),
        events: vec![Note::normal(event::REPLACING, "Replace", message)],
        next: Next::Soon,
    }
}

/// The plan of a Failed Bedrock object left as it is: both conditions False (Failed) with
/// `message`, a Warning `event` only when it has just failed (`announce`), looked at again at
/// the resync.
pub fn failed<S, A>(status: S, message: String, event: &str, announce: bool) -> Plan<S, A> {
    let events = if announce {
        vec![Note::warning(event, "Create", message.clone())]
    } else {
        Vec::new()
    };
    Plan {
        actions: Vec::new(),
        status,
        conditions: vec![
            Desired::new(conditions::READY, false, reason::FAILED, message.clone()),
            Desired::new(conditions::SYNCED, false, reason::FAILED, message),
        ],
        events,
        next: Next::Resync,
    }
}

/// Where a resource's Bedrock object stands, for [`settled`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Serving (Active, InService): settled with Ready at `ready_reason`, Synced `Reconciled`
    /// when `synced_too`, and this generation's tags.
    Serving {
        ready_reason: &'static str,
        synced_too: bool,
    },
    /// Failed: settled until a new retry value asks for another attempt.
    Failed,
    /// Anything else (in progress, unknown): never settled.
    InProgress,
}

/// What [`settled`] reads of a resource and its status.
#[derive(Clone, Copy, Debug)]
pub struct Settling<'a> {
    pub conditions: &'a [Condition],
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    /// Whether the status names a Bedrock object.
    pub holds_object: bool,
    pub tags_synced_generation: Option<i64>,
    /// Whether the retry annotation asks for something not yet acted on.
    pub retry_pending: bool,
}

/// Whether the status shows the current spec fully reconciled and nothing pending, so that a
/// process seeing the resource for the first time (after a restart, or as a new leader) has no
/// reason to call Bedrock at once and spreads its first look over the resync period instead.
pub fn settled(seen: &Settling<'_>, standing: Standing) -> bool {
    let Some(ready) = conditions::find(seen.conditions, conditions::READY) else {
        return false;
    };
    if !seen.holds_object
        || seen.observed_generation != seen.generation
        || ready.observed_generation != seen.generation
    {
        return false;
    }
    match standing {
        Standing::Serving {
            ready_reason,
            synced_too,
        } => {
            let synced = conditions::find(seen.conditions, conditions::SYNCED)
                .is_some_and(|c| c.reason == reason::RECONCILED);
            ready.reason == ready_reason
                && (synced || !synced_too)
                && seen.tags_synced_generation == seen.generation
        }
        Standing::Failed => ready.reason == reason::FAILED && !seen.retry_pending,
        Standing::InProgress => false,
    }
}

/// Whether the observe step should also read the object's tags: to tell whose an object found
/// by name is (`by_name`); for one serving and idle, when spec.tags may have changed since they
/// were last made to match, or when the periodic drift check is `due`.
pub fn needs_tags(
    by_name: bool,
    serving_idle: bool,
    due: bool,
    tags_synced_generation: Option<i64>,
    generation: Option<i64>,
) -> bool {
    by_name || (serving_idle && (due || tags_synced_generation != generation))
}

/// One tag call on a Bedrock object: `Call` (the act loop's) converts it (`From<TagCall>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagCall {
    Set {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    Remove {
        arn: String,
        keys: Vec<String>,
    },
}

/// The calls that make the object's tags (`remote`) match `desired` (spec.tags plus the owner
/// tags), removing only the keys the operator set before (`managed`): at most one of each.
pub fn tag_calls(
    arn: &str,
    desired: &BTreeMap<String, String>,
    remote: &BTreeMap<String, String>,
    managed: &[String],
) -> Vec<TagCall> {
    let changes = tags::changes(desired, remote, managed);
    let mut calls = Vec::new();
    if !changes.set.is_empty() {
        calls.push(TagCall::Set {
            arn: arn.to_string(),
            tags: changes.set,
        });
    }
    if !changes.remove.is_empty() {
        calls.push(TagCall::Remove {
            arn: arn.to_string(),
            keys: changes.remove,
        });
    }
    calls
}

/// Whether any of `desired` differs in reason or message from the conditions as they stand.
pub fn changed(current: &[Condition], desired: &[Desired]) -> bool {
    desired.iter().any(|want| {
        conditions::find(current, want.type_)
            .is_none_or(|c| c.reason != want.reason || c.message != want.message)
    })
}

/// How a kind words its Bedrock object in messages, and what a person can do: a table per kind
/// (`Managed::WORDS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Words {
    /// How messages, logs and lock keys call the object: `model`, `deployment`.
    pub noun: &'static str,
    /// Appended to "Check the operator's IAM policy (docs/security.md)".
    pub access_hint: &'static str,
    /// What to do when a quota is used up.
    pub quota_hint: &'static str,
    /// Where to look when Bedrock cannot find something the call needs.
    pub not_found_hint: &'static str,
    /// What a person can do when Bedrock refuses to delete the object (ConflictException),
    /// after "Bedrock refused to delete <noun> <arn>: <Bedrock's words>. ".
    pub deletion_refused: &'static str,
}

impl Words {
    /// The words of the object named `name`.
    pub const fn subject<'a>(&self, name: &'a str) -> Subject<'a> {
        Subject {
            noun: self.noun,
            name,
            access_hint: self.access_hint,
            quota_hint: self.quota_hint,
            not_found_hint: self.not_found_hint,
        }
    }

    /// The DeletionBlocked message of the object `arn` Bedrock refused to delete.
    pub fn deletion_refused(&self, arn: &str, error: &crate::bedrock::BedrockError) -> String {
        format!(
            "Bedrock refused to delete {} {arn}: {}. {}",
            self.noun,
            error.describe(),
            self.deletion_refused
        )
    }
}

/// What a failure message says about the Bedrock object, and what a person can do, per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject<'a> {
    /// How messages call the object: `model`, `deployment`.
    pub noun: &'static str,
    /// Its Bedrock name.
    pub name: &'a str,
    /// Appended to "Check the operator's IAM policy (docs/security.md)".
    pub access_hint: &'static str,
    /// What to do when a quota is used up.
    pub quota_hint: &'static str,
    /// Where to look when Bedrock cannot find something the call needs.
    pub not_found_hint: &'static str,
}

/// How a failed call shows on the resource: `None` for transient failures not yet worth a
/// status write (they are retried with backoff).
pub fn failure_conditions(
    error: &BedrockError,
    subject: &Subject<'_>,
    consecutive_failures: u32,
    timing: &Timing,
) -> Option<Vec<Desired>> {
    let op = error.operation;
    let described = error.describe();
    // The messages put their own full stop after Bedrock's words.
    let detail = described.trim_end_matches('.');
    let retry = humanize(timing.slow_retry);
    let Subject {
        noun,
        name,
        access_hint,
        quota_hint,
        not_found_hint,
    } = subject;
    let (why, message, ready_too) = match error.class() {
        ErrorClass::Throttled | ErrorClass::Retryable | ErrorClass::Conflict
            if consecutive_failures < timing.transient_failures_shown_after =>
        {
            return None;
        }
        ErrorClass::Throttled => (
            reason::THROTTLED,
            format!(
                "Bedrock is throttling the operator ({op}: {detail}); it keeps retrying with backoff"
            ),
            false,
        ),
        ErrorClass::Retryable | ErrorClass::Conflict => (
            reason::BEDROCK_UNAVAILABLE,
            format!("{op} failed ({detail}); the operator keeps retrying with backoff"),
            false,
        ),
        ErrorClass::AccessDenied => (
            reason::ACCESS_DENIED,
            format!(
                "AWS denied {op} for {noun} {name}: {detail}. Grant {action} to the operator's AWS identity (docs/iam-policy.json, docs/security.md){access_hint}; retrying every {retry}",
                action = denied_action(detail).unwrap_or_else(|| format!("bedrock:{op}"))
            ),
            true,
        ),
        ErrorClass::QuotaExceeded => (
            reason::QUOTA_EXCEEDED,
            format!(
                "{op} for {noun} {name} exceeds an AWS quota: {detail}. {quota_hint}; retrying every {retry}"
            ),
            true,
        ),
        ErrorClass::Validation => (
            reason::VALIDATION_FAILED,
            format!(
                "Bedrock rejected {op} for {noun} {name}: {detail}. Fix the spec; retrying every {retry}"
            ),
            true,
        ),
        ErrorClass::TooManyTags => (
            reason::TOO_MANY_TAGS,
            format!(
                "{noun} {name} would carry more than 50 tags ({detail}): remove entries from spec.tags or tags set on the {noun} by other tools"
            ),
            true,
        ),
        ErrorClass::NotFound => (
            reason::RESOURCE_NOT_FOUND,
            format!(
                "Bedrock could not find something {op} needs for {noun} {name}: {detail}. {not_found_hint}; retrying every {retry}"
            ),
            true,
        ),
        ErrorClass::Terminal => (
            reason::BEDROCK_UNAVAILABLE,
            format!("{op} failed for {noun} {name}: {detail}; retrying every {retry}"),
            true,
        ),
    };
    let mut desired = vec![Desired::new(
        conditions::SYNCED,
        false,
        why,
        message.clone(),
    )];
    if ready_too {
        desired.insert(0, Desired::new(conditions::READY, false, why, message));
    }
    Some(desired)
}

/// The conditions and event a failed call leaves on a resource whose conditions are `current`,
/// or `None` while the failure is not worth a status write. When the failure does not decide
/// Ready, Ready stays as the resource shows it (or, on a resource that has none yet, says the
/// same as Synced); the event only when a reason or message is new.
pub fn failure(
    current: &[Condition],
    error: &BedrockError,
    subject: &Subject<'_>,
    consecutive_failures: u32,
    timing: &Timing,
) -> Option<(Vec<Desired>, Vec<Note>)> {
    let mut desired = failure_conditions(error, subject, consecutive_failures, timing)?;
    if !desired.iter().any(|c| c.type_ == conditions::READY) {
        let ready = match conditions::find(current, conditions::READY) {
            Some(condition) => Desired::from_condition(conditions::READY, condition),
            None => {
                let synced = &desired[0];
                Desired::new(
                    conditions::READY,
                    false,
                    synced.reason.clone(),
                    synced.message.clone(),
                )
            }
        };
        desired.insert(0, ready);
    }
    let events = desired
        .last()
        .filter(|_| changed(current, &desired))
        .map(|c| Note {
            warning: true,
            reason: c.reason.clone(),
            action: "Reconcile",
            message: c.message.clone(),
        })
        .into_iter()
        .collect();
    Some((desired, events))
}

/// The IAM action an AccessDenied message says was refused ("… is not authorized to perform:
/// iam:PassRole on resource: …"), when it says one.
fn denied_action(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("not authorized to perform: ")?;
    let action = rest
        .split_whitespace()
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    action.contains(':').then(|| action.to_string())
}

/// How a failed Kubernetes API call (made while `action`) shows on a resource whose conditions
/// are `current`: Synced False naming the call and what to do, Ready as it stands, a Warning
/// event when new; `None` for what is not worth a status write: the object gone meanwhile (the
/// next reconcile sees it), or a transient failure not yet repeated
/// `transient_failures_shown_after` times.
pub fn kube_failure(
    current: &[Condition],
    action: &str,
    error: &kube::Error,
    consecutive_failures: u32,
    timing: &Timing,
) -> Option<(Vec<Desired>, Vec<Note>)> {
    let retry = humanize(timing.slow_retry);
    let (why, message) = match error {
        kube::Error::Api(status) if status.code == 404 => return None,
        kube::Error::Api(status) if status.code == 401 || status.code == 403 => (
            reason::KUBERNETES_FORBIDDEN,
            format!(
                "the Kubernetes API refused {action} ({}): the operator's ServiceAccount lacks a permission; give it the Helm chart's RBAC (docs/security.md); retrying every {retry}",
                status.message.trim_end_matches('.')
            ),
        ),
        kube::Error::Api(status) if status.code == 422 => (
            reason::KUBERNETES_API_ERROR,
            format!(
                "the Kubernetes API rejected {action} as invalid ({}); the CRD installed may be older than the operator: apply the CRDs of this release; retrying every {retry}",
                status.message.trim_end_matches('.')
            ),
        ),
        _ if consecutive_failures < timing.transient_failures_shown_after => return None,
        other => (
            reason::KUBERNETES_API_ERROR,
            format!(
                "{action} failed on the Kubernetes API ({other}); the operator keeps retrying with backoff"
            ),
        ),
    };
    let desired = vec![
        match conditions::find(current, conditions::READY) {
            Some(ready) => Desired::from_condition(conditions::READY, ready),
            None => Desired::new(conditions::READY, false, why, message.clone()),
        },
        Desired::new(conditions::SYNCED, false, why, message.clone()),
    ];
    let events = if changed(current, &desired[1..]) {
        vec![Note::warning(why, "Reconcile", message)]
    } else {
        Vec::new()
    };
    Some((desired, events))
}

/// The conditions and event of a deletion that has to wait (Bedrock refused it, or resources
/// that use the object still exist): Ready and Synced False with DeletionBlocked, the event
/// only when the message is new.
pub fn deletion_blocked(current: &[Condition], message: String) -> (Vec<Desired>, Vec<Note>) {
    let desired = vec![
        Desired::new(
            conditions::READY,
            false,
            reason::DELETION_BLOCKED,
            message.clone(),
        ),
        Desired::new(
            conditions::SYNCED,
            false,
            reason::DELETION_BLOCKED,
            message.clone(),
        ),
    ];
    let events = if changed(current, &desired) {
        vec![Note::warning(reason::DELETION_BLOCKED, "Delete", message)]
    } else {
        Vec::new()
    };
    (desired, events)
}

/// How long to wait before retrying after a failed call.
pub fn retry_delay(class: ErrorClass, consecutive_failures: u32, timing: &Timing) -> Duration {
    match class {
        ErrorClass::Throttled | ErrorClass::Retryable | ErrorClass::Conflict => {
            let exponent = consecutive_failures.saturating_sub(1).min(16);
            (timing.backoff_base * 2u32.pow(exponent)).min(timing.backoff_max)
        }
        ErrorClass::NotFound
        | ErrorClass::AccessDenied
        | ErrorClass::QuotaExceeded
        | ErrorClass::Validation
        | ErrorClass::TooManyTags
        | ErrorClass::Terminal => timing.slow_retry,
    }
}

/// The wait before the next look at an object in progress, from how long it has been in
/// progress: checks at `initial`, then at intervals doubling up to `max` (2 s, 4 s, 8 s, 16 s,
/// 30 s, 30 s… by default), so short operations are seen quickly and long ones cost few calls.
/// Stateless, so a restarted operator picks up the same schedule.
pub fn poll_delay(timing: &Timing, elapsed: Duration) -> Duration {
    let initial = timing.poll_initial.max(Duration::from_millis(100));
    let max = timing.poll_max.max(initial);
    let mut next_check = Duration::ZERO;
    let mut step = initial;
    while step < max {
        next_check += step;
        if next_check > elapsed {
            return next_check - elapsed;
        }
        step = (step * 2).min(max);
    }
    // From here the checks are `max` apart.
    let since = elapsed.saturating_sub(next_check);
    let periods = since.as_nanos() / max.as_nanos() + 1;
    let at = next_check + max * u32::try_from(periods).unwrap_or(u32::MAX);
    at.saturating_sub(elapsed).max(Duration::from_millis(100))
}

/// "5 min", "30 s".
pub fn humanize(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// A list of names for a message: `a`, `a and b`, `a, b and 3 more`.
pub fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 5;
    match names {
        [] => String::new(),
        [one] => one.clone(),
        _ if names.len() <= SHOWN => {
            let (last, rest) = names.split_last().unwrap_or((&names[0], &[]));
            format!("{} and {last}", rest.join(", "))
        }
        _ => format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::fixtures::api_error;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const SUBJECT: Subject<'static> = Subject {
        noun: "deployment",
        name: "chat",
        access_hint: "",
        quota_hint: "Delete unused deployments or request a quota increase",
        not_found_hint: "Check spec.modelArn",
    };

    #[test]
    fn a_retry_value_already_acted_on_asks_for_nothing() {
        let annotations = BTreeMap::from([(RETRY_ANNOTATION.to_string(), "2".to_string())]);
        assert_eq!(unhandled_retry(Some(&annotations), Some("2")), None);
        assert_eq!(
            unhandled_retry(Some(&annotations), Some("1")).as_deref(),
            Some("2")
        );
        assert_eq!(unhandled_retry(None, None), None);
    }

    #[test]
    fn a_failed_object_is_replaced_for_a_changed_field_before_a_retry() {
        assert_eq!(replacement_cause(false, &[]), None);
        assert_eq!(
            replacement_cause(true, &["name", "region"]).as_deref(),
            Some("spec.name, spec.region changed")
        );
        assert!(replacement_cause(true, &[]).is_some_and(|cause| cause.contains(RETRY_ANNOTATION)));
    }

    #[test]
    fn tag_calls_set_and_remove_once_each_and_spare_foreign_keys() {
        let desired = BTreeMap::from([("team".to_string(), "ml".to_string())]);
        let remote = BTreeMap::from([
            ("team".to_string(), "old".to_string()),
            ("gone".to_string(), "x".to_string()),
            ("theirs".to_string(), "y".to_string()),
        ]);
        let calls = tag_calls("arn", &desired, &remote, &["team".into(), "gone".into()]);
        assert_eq!(
            calls,
            vec![
                TagCall::Set {
                    arn: "arn".into(),
                    tags: desired.clone()
                },
                TagCall::Remove {
                    arn: "arn".into(),
                    keys: vec!["gone".into()]
                },
            ]
        );
        assert!(tag_calls("arn", &desired, &desired, &["team".into()]).is_empty());
    }

    fn error(code: &str) -> BedrockError {
        BedrockError {
            operation: "CreateCustomModelDeployment",
            class: ErrorClass::from_code(code, Some(400)),
            code: Some(code.to_string()),
            message: Some("no".to_string()),
            source: None,
        }
    }

    fn condition(type_: &str, status: &str, why: &str, message: &str) -> Condition {
        Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: why.to_string(),
            message: message.to_string(),
            observed_generation: Some(1),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }
    }

    #[test]
    fn transient_failures_stay_off_the_status_until_the_threshold() {
        let timing = Timing::default();
        let throttled = error("ThrottlingException");
        for failures in 1..timing.transient_failures_shown_after {
            assert_eq!(failure(&[], &throttled, &SUBJECT, failures, &timing), None);
        }
        let (desired, events) = failure(
            &[],
            &throttled,
            &SUBJECT,
            timing.transient_failures_shown_after,
            &timing,
        )
        .expect("shown at the threshold");
        assert_eq!(desired[1].reason, reason::THROTTLED);
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn a_failure_that_does_not_decide_ready_keeps_ready_as_it_stands() {
        let timing = Timing::default();
        let current = [condition(
            conditions::READY,
            "True",
            reason::ACTIVE,
            "serving",
        )];
        let (desired, _) = failure(
            &current,
            &error("InternalServerException"),
            &SUBJECT,
            9,
            &timing,
        )
        .expect("shown");
        assert_eq!(desired[0].type_, conditions::READY);
        assert!(desired[0].status, "Ready stays True");
        assert_eq!(desired[0].reason, reason::ACTIVE);
        assert_eq!(desired[1].reason, reason::BEDROCK_UNAVAILABLE);
    }

    #[test]
    fn a_repeated_failure_publishes_no_second_event() {
        let timing = Timing::default();
        let (desired, events) =
            failure(&[], &error("AccessDeniedException"), &SUBJECT, 1, &timing).expect("shown");
        assert_eq!(events.len(), 1);
        assert!(events[0].message.contains("for deployment chat"));
        let now = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        let current = conditions::merge(&[], &desired, Some(1), &now);
        let (_, again) = failure(
            &current,
            &error("AccessDeniedException"),
            &SUBJECT,
            2,
            &timing,
        )
        .expect("shown");
        assert!(again.is_empty());
    }

    #[test]
    fn access_denied_names_the_iam_action_to_grant() {
        let timing = Timing::default();
        let denied = failure_conditions(&error("AccessDeniedException"), &SUBJECT, 1, &timing)
            .expect("shown at once");
        let op = error("AccessDeniedException").operation;
        assert!(
            denied[1].message.contains(&format!("Grant bedrock:{op}")),
            "{}",
            denied[1].message
        );
    }

    #[test]
    fn access_denied_names_the_action_aws_says_it_refused() {
        let timing = Timing::default();
        let error = BedrockError {
            message: Some(
                "User: arn:aws:sts::123456789012:assumed-role/op/s is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/r".into(),
            ),
            ..error("AccessDeniedException")
        };
        let denied = failure_conditions(&error, &SUBJECT, 1, &timing).expect("shown");
        assert!(
            denied[1].message.contains("Grant iam:PassRole to"),
            "{}",
            denied[1].message
        );
    }

    #[test]
    fn a_forbidden_kubernetes_call_shows_at_once_naming_the_call_and_rbac() {
        let timing = Timing::default();
        let (desired, events) = kube_failure(
            &[],
            "reading the referenced BedrockCustomModel",
            &api_error(403),
            1,
            &timing,
        )
        .expect("shown at once");
        let synced = &desired[1];
        assert_eq!(synced.type_, conditions::SYNCED);
        assert!(!synced.status);
        assert_eq!(synced.reason, reason::KUBERNETES_FORBIDDEN);
        assert!(
            synced
                .message
                .contains("refused reading the referenced BedrockCustomModel"),
            "{}",
            synced.message
        );
        assert!(synced.message.contains("RBAC"), "{}", synced.message);
        assert_eq!(events.len(), 1);
        assert!(events[0].warning);
    }

    #[test]
    fn a_kubernetes_object_gone_meanwhile_is_not_shown() {
        let timing = Timing::default();
        assert_eq!(
            kube_failure(&[], "writing the status", &api_error(404), 9, &timing),
            None
        );
    }

    #[test]
    fn a_transient_kubernetes_failure_shows_once_repeated_and_keeps_ready() {
        let timing = Timing::default();
        let after = timing.transient_failures_shown_after;
        assert_eq!(
            kube_failure(
                &[],
                "writing the status",
                &api_error(503),
                after - 1,
                &timing
            ),
            None
        );
        let current = [condition(
            conditions::READY,
            "True",
            reason::ACTIVE,
            "serving",
        )];
        let (desired, _) = kube_failure(
            &current,
            "writing the status",
            &api_error(503),
            after,
            &timing,
        )
        .expect("shown");
        assert!(desired[0].status, "Ready stays True");
        assert_eq!(desired[1].reason, reason::KUBERNETES_API_ERROR);
        assert!(desired[1].message.contains("writing the status failed"));
    }

    #[test]
    fn quota_and_not_found_messages_carry_the_kinds_hint() {
        let timing = Timing::default();
        let quota = failure_conditions(
            &error("ServiceQuotaExceededException"),
            &SUBJECT,
            1,
            &timing,
        )
        .expect("shown");
        assert!(
            quota[0].message.contains("Delete unused deployments"),
            "{}",
            quota[0].message
        );
        let missing = failure_conditions(&error("ResourceNotFoundException"), &SUBJECT, 1, &timing)
            .expect("shown");
        assert!(
            missing[0].message.contains("Check spec.modelArn"),
            "{}",
            missing[0].message
        );
    }

    #[test]
    fn deletion_blocked_announces_a_new_message_once() {
        let (desired, events) = deletion_blocked(&[], "wait for chat".into());
        assert_eq!(desired.len(), 2);
        assert!(
            desired
                .iter()
                .all(|c| c.reason == reason::DELETION_BLOCKED && !c.status)
        );
        assert_eq!(events.len(), 1);
        let now = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        let current = conditions::merge(&[], &desired, Some(1), &now);
        assert!(
            deletion_blocked(&current, "wait for chat".into())
                .1
                .is_empty()
        );
        assert_eq!(
            deletion_blocked(&current, "wait for chat-2".into()).1.len(),
            1
        );
    }

    #[test]
    fn name_lists_read_as_a_sentence() {
        let names = |n: usize| (1..=n).map(|i| format!("d{i}")).collect::<Vec<_>>();
        assert_eq!(name_list(&names(1)), "d1");
        assert_eq!(name_list(&names(2)), "d1 and d2");
        assert_eq!(name_list(&names(5)), "d1, d2, d3, d4 and d5");
        assert_eq!(name_list(&names(7)), "d1, d2, d3, d4, d5 and 2 more");
    }

    // -----------------------------------------------------------------------------------------
    // poll_delay and retry_delay
    // -----------------------------------------------------------------------------------------

    /// The check times (seconds since creation) that following `poll_delay` produces.
    fn schedule(timing: &Timing, checks: usize) -> Vec<Duration> {
        let mut at = Duration::ZERO;
        (0..checks)
            .map(|_| {
                at += poll_delay(timing, at);
                at
            })
            .collect()
    }

    #[test]
    fn poll_delay_default_schedule() {
        let timing = Timing::default();
        assert_eq!(poll_delay(&timing, Duration::ZERO), timing.poll_initial);
        let secs: Vec<u64> = schedule(&timing, 8).iter().map(Duration::as_secs).collect();
        assert_eq!(secs, vec![2, 6, 14, 30, 60, 90, 120, 150]);
    }

    #[test]
    fn poll_delay_schedules() {
        let secs = Duration::from_secs;
        struct Case {
            name: &'static str,
            timing: Timing,
            checks: Vec<Duration>,
        }
        let timing = |initial: Duration, max: Duration| Timing {
            poll_initial: initial,
            poll_max: max,
            ..Timing::default()
        };
        let cases = vec![
            Case {
                name: "default",
                timing: Timing::default(),
                checks: [2, 6, 14, 30, 60, 90].map(secs).to_vec(),
            },
            Case {
                name: "5 s up to 20 s",
                timing: timing(secs(5), secs(20)),
                checks: [5, 15, 35, 55, 75].map(secs).to_vec(),
            },
            Case {
                name: "max below initial: constant",
                timing: timing(secs(10), secs(3)),
                checks: [10, 20, 30].map(secs).to_vec(),
            },
            Case {
                name: "initial equals max",
                timing: timing(secs(30), secs(30)),
                checks: [30, 60, 90].map(secs).to_vec(),
            },
            Case {
                name: "zero initial is clamped (no hot loop)",
                timing: timing(Duration::ZERO, Duration::from_millis(400)),
                checks: [100, 300, 700, 1100].map(Duration::from_millis).to_vec(),
            },
        ];
        for case in cases {
            assert_eq!(
                schedule(&case.timing, case.checks.len()),
                case.checks,
                "{}: check times",
                case.name
            );
        }
    }

    #[test]
    fn poll_delay_bounds_and_monotonicity() {
        let timings = [
            ("default", Timing::default()),
            (
                "1 s up to 7 s",
                Timing {
                    poll_initial: Duration::from_secs(1),
                    poll_max: Duration::from_secs(7),
                    ..Timing::default()
                },
            ),
        ];
        for (name, timing) in timings {
            // Wherever a reconcile happens to run, the next check is soon enough, never now,
            // and never earlier than the next check seen from an earlier moment.
            let mut previous_check = Duration::ZERO;
            for millis in (0..=900_000u64).step_by(250) {
                let elapsed = Duration::from_millis(millis);
                let delay = poll_delay(&timing, elapsed);
                assert!(delay > Duration::ZERO, "{name}: zero delay at {elapsed:?}");
                assert!(
                    delay <= timing.poll_max,
                    "{name}: {delay:?} > poll_max at {elapsed:?}"
                );
                let check = elapsed + delay;
                assert!(
                    check >= previous_check,
                    "{name}: next check went back at {elapsed:?}"
                );
                previous_check = check;
            }
            // Following the schedule, check times strictly increase and gaps never shrink.
            let checks = schedule(&timing, 50);
            for pair in checks.windows(2) {
                assert!(
                    pair[1] > pair[0],
                    "{name}: check times must increase: {pair:?}"
                );
            }
            let gaps: Vec<Duration> = std::iter::once(checks[0])
                .chain(checks.windows(2).map(|p| p[1] - p[0]))
                .collect();
            for pair in gaps.windows(2) {
                assert!(pair[1] >= pair[0], "{name}: intervals back off: {gaps:?}");
            }
            assert_eq!(
                *gaps.last().expect("gaps"),
                timing.poll_max,
                "{name}: settles at poll_max"
            );
            // Long-running imports.
            for hours in [1u64, 6, 24, 24 * 30, 24 * 365] {
                let delay = poll_delay(&timing, Duration::from_secs(hours * 3600 + 1));
                assert!(
                    delay > Duration::ZERO && delay <= timing.poll_max,
                    "{name}: {delay:?} after {hours} h"
                );
            }
        }
    }

    #[test]
    fn default_poll_cap_is_at_most_30s() {
        assert!(Timing::default().poll_max <= Duration::from_secs(30));
    }

    #[test]
    fn retry_delay_per_class() {
        let timing = Timing::default();
        let ms = Duration::from_millis;
        let transient = [
            ErrorClass::Throttled,
            ErrorClass::Retryable,
            ErrorClass::Conflict,
        ];
        let exponential = [
            (0, ms(500)),
            (1, ms(500)),
            (2, ms(1_000)),
            (3, ms(2_000)),
            (4, ms(4_000)),
            (8, ms(64_000)),
            (9, ms(120_000)),
            (10, ms(120_000)),
            (40, ms(120_000)),
            (u32::MAX, ms(120_000)),
        ];
        for class in transient {
            for (failures, want) in exponential {
                assert_eq!(
                    retry_delay(class, failures, &timing),
                    want,
                    "{class:?} after {failures} failures"
                );
            }
            let mut previous = Duration::ZERO;
            for failures in 1..=64 {
                let delay = retry_delay(class, failures, &timing);
                assert!(delay >= previous, "{class:?}: backoff shrank at {failures}");
                assert!(
                    delay <= timing.backoff_max,
                    "{class:?}: above the cap at {failures}"
                );
                previous = delay;
            }
        }
        let slow = [
            ErrorClass::AccessDenied,
            ErrorClass::QuotaExceeded,
            ErrorClass::Validation,
            ErrorClass::TooManyTags,
            ErrorClass::NotFound,
            ErrorClass::Terminal,
        ];
        for class in slow {
            for failures in [0, 1, 2, 10, 1_000] {
                assert_eq!(
                    retry_delay(class, failures, &timing),
                    timing.slow_retry,
                    "{class:?} after {failures} failures"
                );
            }
        }
    }

    #[test]
    fn retry_delay_respects_custom_timing() {
        let timing = Timing {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            slow_retry: Duration::from_secs(60),
            ..Timing::default()
        };
        let got: Vec<u64> = (1..=6)
            .map(|n| retry_delay(ErrorClass::Throttled, n, &timing).as_secs())
            .collect();
        assert_eq!(got, vec![1, 2, 4, 8, 10, 10]);
        assert_eq!(
            retry_delay(ErrorClass::Validation, 1, &timing),
            Duration::from_secs(60)
        );
    }
}
