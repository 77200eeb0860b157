//! The cleanup stage of every kind, written once: what deleting a resource takes is a plan of
//! pure steps (each decided from what the step before observed), and the stage only makes the
//! one call or read each step names. The kind decides the first step ([`lifecycle::Lifecycle::deletion`])
//! and words its messages; the waits (for a moment, for the object's users) are plan values.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::runtime::controller::Action;
use tracing::info;

use super::apply::Plans;
use super::context::Context;
pub use super::deletion::Cleanup;
use super::error::Error;
use super::holding;
use super::kind::Managed;
use super::lifecycle;
use super::outcome::{self, Note};
use super::ownership::{self, Deletion, Me};
use super::report::{publish, report};
use crate::api::conditions::{event, reason};
use crate::bedrock::Object;
use crate::bedrock::{Bedrock, BedrockError, ErrorClass};

/// How a deletion ends, for now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Let the resource go (the finalizer is removed), announcing `events`.
    Release(Vec<Note>),
    /// Keep the finalizer and show DeletionBlocked with `message`; look again after `after`,
    /// or, with none, when what it waits for changes (or after the slow retry).
    Wait {
        message: String,
        after: Option<Duration>,
    },
}

/// The next step of a deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    End(End),
    /// Look the object up by name.
    LookUp {
        name: String,
    },
    /// Check that nothing still uses the object, then whose it is.
    Check {
        arn: String,
    },
    /// Delete the object: its tags, read just before, say it is this resource's.
    Delete {
        arn: String,
    },
}

/// The first step, from the kind's decision and its words (`retained`: the event of a kept
/// object; `until`: the message of one Bedrock will not delete yet). `slow_retry` bounds a
/// wait for a moment: a look makes no call and writes nothing while it runs, and notices a
/// clock change.
pub fn first(
    decision: Cleanup,
    retained: impl FnOnce() -> Note,
    until: impl FnOnce(&str) -> String,
    slow_retry: Duration,
) -> Step {
    match decision {
        Cleanup::Retain => Step::End(End::Release(vec![retained()])),
        Cleanup::Nothing => Step::End(End::Release(Vec::new())),
        Cleanup::Until {
            until: moment,
            wait,
        } => Step::End(End::Wait {
            message: until(&moment),
            after: Some(wait.min(slow_retry)),
        }),
        Cleanup::Delete { arn } => Step::Check { arn },
        Cleanup::LookUp { name } => Step::LookUp { name },
    }
}

/// After the look-up by name: the object found (its ARN), or nothing to delete.
pub fn found(arn: Option<String>) -> Step {
    match arn {
        Some(arn) => Step::Check { arn },
        None => Step::End(End::Release(Vec::new())),
    }
}

/// After asking what uses the object: wait for its users (`users`: the DeletionBlocked
/// message), else on to whose it is. `None` means: read its tags.
pub fn used(users: Option<String>) -> Option<Step> {
    users.map(|message| {
        Step::End(End::Wait {
            message,
            after: None,
        })
    })
}

/// After reading the object's tags (`None`: it is gone): delete it when this resource owns
/// it, else leave it to its owner with a Warning.
pub fn owned(
    tags: Option<&BTreeMap<String, String>>,
    me: &Me<'_>,
    noun: &str,
    name: &str,
    arn: &str,
) -> Step {
    let Some(tags) = tags else {
        return Step::End(End::Release(Vec::new()));
    };
    match ownership::deletion(tags, me) {
        Deletion::LeaveToOwner(holder) => {
            let what = format!("{name} ({arn})");
            let message = ownership::left_message(noun, &what, holder.as_ref());
            Step::End(End::Release(vec![Note::warning(
                reason::LEFT_TO_OWNER,
                "Delete",
                message,
            )]))
        }
        Deletion::Delete => Step::Delete {
            arn: arn.to_string(),
        },
    }
}

/// After the delete call: whether the object existed (a Deleted event).
pub fn deleted(existed: bool, noun: &str, arn: &str) -> Step {
    let events = match existed {
        true => vec![Note::normal(
            event::DELETED,
            "Delete",
            format!("deleted {noun} {arn}"),
        )],
        false => Vec::new(),
    };
    Step::End(End::Release(events))
}

/// A delete Bedrock refused (ConflictException): DeletionBlocked with `refused`'s message,
/// the finalizer kept and the call retried with backoff. `None` for any other failure.
pub fn refusal(
    error: &BedrockError,
    refused: impl FnOnce(&BedrockError) -> String,
) -> Option<String> {
    (error.class() == ErrorClass::Conflict).then(|| refused(error))
}

/// The cleanup stage of a kind: `Ok` lets the finalizer go.
pub async fn cleanup<K: Plans, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
) -> Result<Action, Error> {
    let decision = resource.deletion(&ctx.policy.adoption, crate::fault::now());
    let retained = || resource.retained();
    let until = |moment: &str| resource.undeletable_until(moment);
    let end = match first(decision, retained, until, ctx.timing.slow_retry) {
        Step::End(end) => end,
        step => {
            let region = object_region(resource, ctx).await?;
            run(resource, ctx, &region, step).await?
        }
    };
    match end {
        End::Wait { message, after } => {
            info!(message = %message, "the deletion waits");
            blocked(resource, ctx, message.clone()).await?;
            Err(match after {
                Some(wait) => Error::WaitingUntil(message, wait),
                None => Error::Waiting(message),
            })
        }
        End::Release(events) => {
            publish(resource, ctx, &events).await;
            ctx.memory.succeeded(resource);
            Ok(Action::await_change())
        }
    }
}

/// Takes the steps that call Bedrock, in `region`, to the end.
async fn run<K: Plans, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
    region: &str,
    mut step: Step,
) -> Result<End, Error> {
    let noun = format!("Bedrock {}", K::NOUN);
    loop {
        step = match step {
            Step::End(end) => return Ok(end),
            Step::LookUp { name } => {
                let found = K::get(ctx, region, &name).await?;
                self::found(found.as_ref().map(|o| o.arn().to_string()))
            }
            Step::Check { arn } => match used(resource.users(ctx).await?) {
                Some(wait) => wait,
                None => {
                    let tags = holding::tags_now(ctx, region, &arn).await?;
                    let me = Me::of(resource.meta(), &ctx.cluster);
                    owned(tags.as_ref(), &me, &noun, resource.bedrock_name(), &arn)
                }
            },
            Step::Delete { arn } => match K::delete(ctx, region, &arn).await {
                Ok(existed) => {
                    info!(arn = %arn, existed, "deleted");
                    deleted(existed, &noun, &arn)
                }
                Err(error) => {
                    let Some(message) = refusal(&error, |e| K::WORDS.deletion_refused(&arn, e))
                    else {
                        return Err(Error::from(error));
                    };
                    blocked(resource, ctx, message).await?;
                    return Err(Error::shown(error));
                }
            },
        };
    }
}

/// DeletionBlocked with `message` on the resource.
async fn blocked<K: Managed, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
    message: String,
) -> Result<(), Error> {
    let (desired, events) = outcome::deletion_blocked(resource.conditions(), message);
    report(
        resource,
        ctx,
        &resource.observed_status(),
        &desired,
        &events,
    )
    .await
}
/// The region cleanup reads and deletes in: [`lifecycle::region`], the referenced model read
/// only when neither the status nor the spec names one.
async fn object_region<K: Plans, B: Bedrock>(
    resource: &K,
    ctx: &Context<B>,
) -> Result<String, Error> {
    let model = match resource.held_region().or(resource.given_region()) {
        Some(_) => None,
        None => resource.model_region(ctx).await?,
    };
    Ok(lifecycle::region(
        resource.held_region(),
        resource.given_region(),
        model.as_deref(),
        &ctx.default_region,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::tags::operator_tags;
    use crate::bedrock::BedrockError;

    const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/m/abc";
    const SLOW: Duration = Duration::from_secs(300);

    fn error(class: ErrorClass, code: &str, message: &str) -> BedrockError {
        BedrockError {
            operation: "DeleteCustomModel",
            class,
            code: Some(code.into()),
            message: Some(message.into()),
            source: None,
        }
    }

    fn me() -> Me<'static> {
        Me {
            uid: "uid-me",
            cluster: "cluster-a",
            take_over_from: None,
        }
    }

    fn retained() -> Note {
        Note::warning(reason::RETAINED, "Delete", "kept".into())
    }

    fn start(decision: Cleanup) -> Step {
        first(
            decision,
            retained,
            |until| format!("not before {until}"),
            SLOW,
        )
    }

    fn release(events: Vec<Note>) -> Step {
        Step::End(End::Release(events))
    }

    #[test]
    fn retain_lets_the_resource_go_with_the_kinds_event_and_no_call() {
        assert_eq!(start(Cleanup::Retain), release(vec![retained()]));
    }

    #[test]
    fn nothing_created_lets_the_resource_go_silently() {
        assert_eq!(start(Cleanup::Nothing), release(Vec::new()));
    }

    #[test]
    fn a_held_object_is_checked_before_it_is_deleted() {
        assert_eq!(
            start(Cleanup::Delete { arn: ARN.into() }),
            Step::Check { arn: ARN.into() }
        );
    }

    #[test]
    fn no_object_in_the_status_is_looked_up_by_name() {
        assert_eq!(
            start(Cleanup::LookUp { name: "m".into() }),
            Step::LookUp { name: "m".into() }
        );
    }

    #[test]
    fn a_commitment_term_waits_for_its_end_or_the_slow_retry_whichever_is_sooner() {
        let until = "2027-01-01T00:00:00Z".to_string();
        let soon = Duration::from_secs(30);
        assert_eq!(
            start(Cleanup::Until {
                until: until.clone(),
                wait: soon
            }),
            Step::End(End::Wait {
                message: format!("not before {until}"),
                after: Some(soon),
            })
        );
        let late = Duration::from_secs(86_400);
        assert_eq!(
            start(Cleanup::Until {
                until: until.clone(),
                wait: late
            }),
            Step::End(End::Wait {
                message: format!("not before {until}"),
                after: Some(SLOW),
            })
        );
    }

    #[test]
    fn a_look_up_that_finds_nothing_lets_the_resource_go() {
        assert_eq!(found(None), release(Vec::new()));
        assert_eq!(found(Some(ARN.into())), Step::Check { arn: ARN.into() });
    }

    #[test]
    fn users_make_the_deletion_wait_until_they_change() {
        assert_eq!(
            used(Some("used by d".into())),
            Some(Step::End(End::Wait {
                message: "used by d".into(),
                after: None,
            }))
        );
        assert_eq!(used(None), None);
    }

    #[test]
    fn an_object_already_gone_lets_the_resource_go() {
        assert_eq!(
            owned(None, &me(), "Bedrock model", "m", ARN),
            release(Vec::new())
        );
    }

    #[test]
    fn an_object_this_resource_owns_is_deleted() {
        let tags = operator_tags("ns", "m", "uid-me", "cluster-a");
        assert_eq!(
            owned(Some(&tags), &me(), "Bedrock model", "m", ARN),
            Step::Delete { arn: ARN.into() }
        );
    }

    #[test]
    fn an_object_of_another_resource_or_cluster_is_left_with_a_warning() {
        for tags in [
            operator_tags("ns", "other", "uid-other", "cluster-a"),
            operator_tags("ns", "m", "uid-me", "cluster-b"),
        ] {
            let Step::End(End::Release(events)) =
                owned(Some(&tags), &me(), "Bedrock model", "m", ARN)
            else {
                panic!("not released: {tags:?}");
            };
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].reason, reason::LEFT_TO_OWNER);
            assert!(
                events[0].message.contains("belongs to"),
                "{}",
                events[0].message
            );
            assert!(events[0].message.contains(ARN), "{}", events[0].message);
        }
    }

    #[test]
    fn an_object_with_no_owner_tag_is_left_to_whoever_created_it() {
        let Step::End(End::Release(events)) =
            owned(Some(&BTreeMap::new()), &me(), "Bedrock model", "m", ARN)
        else {
            panic!("not released");
        };
        assert_eq!(events[0].reason, reason::LEFT_TO_OWNER);
        assert!(
            events[0].message.contains("no owner tag"),
            "{}",
            events[0].message
        );
    }

    #[test]
    fn a_delete_announces_deleted_only_when_the_object_existed() {
        let Step::End(End::Release(events)) = deleted(true, "Bedrock model", ARN) else {
            panic!("not released");
        };
        assert_eq!(events[0].reason, event::DELETED);
        assert_eq!(events[0].message, format!("deleted Bedrock model {ARN}"));
        assert_eq!(deleted(false, "Bedrock model", ARN), release(Vec::new()));
    }

    #[test]
    fn only_a_conflict_is_a_refusal_shown_as_deletion_blocked() {
        let refused = |e: &BedrockError| format!("refused: {}", e.describe());
        let conflict = error(ErrorClass::Conflict, "ConflictException", "busy");
        assert_eq!(
            refusal(&conflict, refused).as_deref(),
            Some("refused: ConflictException: busy")
        );
        let throttled = error(ErrorClass::Throttled, "ThrottlingException", "slow down");
        assert_eq!(refusal(&throttled, refused), None);
    }
}
