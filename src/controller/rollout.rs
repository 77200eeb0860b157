//! The plans of an object that serves while the operator changes it in place (a new model
//! rolled out, a throughput renamed or its model swapped), written once for every serving
//! kind: Ready stays True at the kind's words (`ready`) all along, Synced says what runs.

use std::time::Duration;

use super::outcome::{self, Next, Note, Plan, Timing};
use crate::api::conditions::{self, Desired, event, reason};

/// Synced True (Updating) with `message`, next to `ready`.
fn updating(ready: Desired, message: String) -> Vec<Desired> {
    vec![
        ready,
        Desired::new(conditions::SYNCED, true, reason::UPDATING, message),
    ]
}

/// Starts the change (`update`): an Updating event (and `more`), looked at again soon.
pub fn start<S, A>(
    status: S,
    ready: Desired,
    update: A,
    message: String,
    more: Vec<Note>,
) -> Plan<S, A> {
    let mut events = vec![Note::normal(reason::UPDATING, "Update", message.clone())];
    events.extend(more);
    Plan {
        actions: vec![update],
        status,
        conditions: updating(ready, message),
        events,
        next: Next::Soon,
    }
}

/// A change Bedrock is still making: no call, polled; the Updating event only when the change
/// was not seen running before (`announce`: one started outside this reconcile).
pub fn running<S, A>(
    status: S,
    ready: Desired,
    message: String,
    announce: bool,
    timing: &Timing,
    elapsed: Duration,
) -> Plan<S, A> {
    let events = if announce {
        vec![Note::normal(reason::UPDATING, "Update", message.clone())]
    } else {
        Vec::new()
    };
    Plan {
        actions: Vec::new(),
        status,
        conditions: updating(ready, message),
        events,
        next: Next::Poll(outcome::poll_delay(timing, elapsed)),
    }
}

/// The model the spec names now cannot be resolved (`why`, `message`): the object keeps
/// serving what it serves (`keeps`: "the deployment keeps serving ..."), Synced False says
/// why, with an event when that is news. No call.
pub fn unresolved<S, A>(
    current: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    status: S,
    ready: Desired,
    (why, message): (&'static str, String),
    keeps: &str,
) -> Plan<S, A> {
    let message = format!("{message}; {keeps}");
    let synced = Desired::new(conditions::SYNCED, false, why, message.clone());
    let events = if outcome::changed(current, std::slice::from_ref(&synced)) {
        vec![Note::normal(why, "Reconcile", message)]
    } else {
        Vec::new()
    };
    Plan {
        actions: Vec::new(),
        status,
        conditions: vec![ready, synced],
        events,
        next: Next::Resync,
    }
}

/// The event of an object that serves, settled: Updated when a change just ended (`ended`:
/// its message), else the kind's ready event when it has just become ready (`became`: the
/// reason), else none.
pub fn settled_events(
    ended: Option<String>,
    became: Option<&'static str>,
    message: &str,
) -> Vec<Note> {
    match (ended, became) {
        (Some(ended), _) => vec![Note::normal(event::UPDATED, "Update", ended)],
        (None, Some(reason)) => vec![Note::normal(reason, "Create", message.to_string())],
        (None, None) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settled_object_announces_an_ended_change_before_becoming_ready() {
        let ended = || Some("chat now serves v3".to_string());
        for (name, ended, became, want) in [
            (
                "a change ended",
                ended(),
                Some(reason::ACTIVE),
                Some(event::UPDATED),
            ),
            (
                "just became ready",
                None,
                Some(reason::ACTIVE),
                Some(reason::ACTIVE),
            ),
            ("serving as before", None, None, None),
        ] {
            let events = settled_events(ended, became, "serving v3");
            assert_eq!(events.first().map(|n| n.reason.as_str()), want, "{name}");
            assert!(events.len() <= 1, "{name}: one event at most");
        }
    }

    #[test]
    fn an_unresolved_model_is_announced_once() {
        let ready = Desired::new(conditions::READY, true, reason::ACTIVE, "serving v3");
        let why = || (reason::MODEL_NOT_READY, "model m is not Ready".to_string());
        let first: Plan<(), ()> = unresolved(&[], (), ready.clone(), why(), "keeps serving v3");
        assert_eq!(first.events.len(), 1);
        assert_eq!(
            first.conditions[1].message,
            "model m is not Ready; keeps serving v3"
        );
        assert!(first.actions.is_empty());
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        );
        let written = conditions::merge(&[], &first.conditions, Some(1), &now);
        let again: Plan<(), ()> = unresolved(&written, (), ready, why(), "keeps serving v3");
        assert!(again.events.is_empty(), "nothing new to say");
    }
}
