//! The calls a plan makes to Bedrock, one enum for every kind: the kind's own create and
//! in-place change, and the calls every kind makes the same way (delete for replacement, claim
//! on adoption, tag sync). The act loop that runs them is in [`super::lifecycle`].

use std::collections::BTreeMap;
use std::convert::Infallible;

use sha2::{Digest, Sha256};

use super::outcome::{Plan, TagCall};

/// One call to make to Bedrock. `C` is the kind's create request, `U` its in-place change
/// (`Infallible` for a kind that changes nothing in place).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call<C, U = Infallible> {
    /// Create the object (CreateCustomModel, CreateCustomModelDeployment,
    /// CreateProvisionedModelThroughput).
    Create(C),
    /// Change the object in place: roll another model out, rename, swap.
    Update {
        arn: String,
        change: U,
    },
    /// Delete a Failed (or replaced) object before creating it again; only when its owner
    /// tags, read just before, say it is this resource's.
    Delete {
        arn: String,
    },
    /// Adoption: put the operator's owner tags (and the spec's tags) on an object this
    /// resource takes over, then read them back: another writer may have tagged it at the
    /// same moment.
    Claim {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    Tag {
        arn: String,
        tags: BTreeMap<String, String>,
    },
    Untag {
        arn: String,
        keys: Vec<String>,
    },
}

impl<C, U> From<TagCall> for Call<C, U> {
    fn from(call: TagCall) -> Self {
        match call {
            TagCall::Set { arn, tags } => Call::Tag { arn, tags },
            TagCall::Remove { arn, keys } => Call::Untag { arn, keys },
        }
    }
}

impl<C, U> Call<C, U> {
    /// The tags a TagResource of the plan sets.
    pub fn tags_set(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            Call::Tag { tags, .. } => Some(tags),
            _ => None,
        }
    }
}

/// The deterministic idempotency token of a Create: `prefix` ("bcm", "bcmd", "bpt") and the
/// first 40 hex digits of a SHA-256 over `parts` (each ended by a zero byte) and `tags` (key,
/// one byte, value, zero byte). The same resource asking for the same object (after a crash, a
/// timeout, a restart) sends the same token, so Bedrock returns the object it already made; a
/// deliberate re-creation changes a part (the count of re-creations) and so sends a new one.
pub fn idempotency_token(prefix: &str, parts: &[&str], tags: &BTreeMap<String, String>) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    for (key, value) in tags {
        hash.update(key.as_bytes());
        hash.update([1u8]);
        hash.update(value.as_bytes());
        hash.update([0u8]);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{}", &hex[..40])
}

/// A create request that carries the idempotency token of its own fields
/// ([`client_request_token`]): the kind's table of what the token covers.
pub trait Tokened {
    /// The token's prefix: "bcm", "bcmd", "bpt".
    const PREFIX: &'static str;
    /// The request's fields the token covers, in order (its tags are covered too).
    fn token_fields(&self) -> Vec<String>;
    fn tags(&self) -> &BTreeMap<String, String>;
    fn set_token(&mut self, token: String);
}

/// The [`Tokened`] table of a create request with `tags` and `client_request_token` fields:
/// its token's prefix and the fields the token covers (`|request| vec![...]`).
macro_rules! token_table {
    ($request:ty, $prefix:literal, |$r:ident| $fields:expr) => {
        impl $crate::controller::call::Tokened for $request {
            const PREFIX: &'static str = $prefix;
            fn token_fields(&self) -> Vec<String> {
                let $r = self;
                $fields
            }
            fn tags(&self) -> &std::collections::BTreeMap<String, String> {
                &self.tags
            }
            fn set_token(&mut self, token: String) {
                self.client_request_token = token;
            }
        }
    };
}
pub(crate) use token_table;

/// The deterministic idempotency token of a Create of `request` by the resource `uid` in
/// `region` after `recreations` re-creations: the same resource asking for the same object
/// (after a crash, a timeout, a restart) sends the same token, so Bedrock returns the one it
/// already made; a deliberate re-creation bumps `recreations` and so sends a new one.
pub fn client_request_token<R: Tokened>(
    uid: &str,
    request: &R,
    region: &str,
    recreations: i32,
) -> String {
    let fields = request.token_fields();
    let recreations = recreations.to_string();
    let parts: Vec<&str> = [uid, region]
        .into_iter()
        .chain(fields.iter().map(String::as_str))
        .chain([recreations.as_str()])
        .collect();
    idempotency_token(R::PREFIX, &parts, request.tags())
}

/// `request` with its token, for the resource `meta` names.
pub fn tokened<R: Tokened>(
    mut request: R,
    meta: &kube::api::ObjectMeta,
    region: &str,
    recreations: i32,
) -> R {
    let uid = meta.uid.as_deref().unwrap_or_default();
    let token = client_request_token(uid, &request, region, recreations);
    request.set_token(token);
    request
}

/// Turns a plan for an object being adopted into a claim: `tags` (the owner tags and
/// spec.tags), together with what the plan's tag calls would set on it, go on first in one
/// Claim (read back when acted on) before anything else is done to the object at `arn`. Tag
/// calls on another object (an import's model) stay as they are, after the claim.
pub fn claim_first<S, C, U>(
    plan: &mut Plan<S, Call<C, U>>,
    arn: &str,
    mut tags: BTreeMap<String, String>,
) {
    plan.actions.retain(|call| match call {
        Call::Tag { arn: on, tags: set } if on == arn => {
            tags.extend(set.clone());
            false
        }
        _ => true,
    });
    plan.actions.insert(
        0,
        Call::Claim {
            arn: arn.to_string(),
            tags,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::outcome::Next;

    type TestCall = Call<&'static str, &'static str>;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn plan(actions: Vec<TestCall>) -> Plan<(), TestCall> {
        Plan {
            actions,
            status: (),
            conditions: Vec::new(),
            events: Vec::new(),
            next: Next::Soon,
        }
    }

    #[test]
    fn the_token_is_the_prefix_and_forty_hex_digits_of_the_parts_and_tags() {
        // sha256("a\0b\0k\x01v\0"), its first 40 hex digits.
        let token = idempotency_token("bcm", &["a", "b"], &tags(&[("k", "v")]));
        assert_eq!(
            token,
            format!("bcm-{}", &hex_sha256(b"a\0b\0k\x01v\0")[..40])
        );
        assert_eq!(token.len(), 4 + 40);
        assert_ne!(
            token,
            idempotency_token("bcm", &["a", "c"], &tags(&[("k", "v")]))
        );
        assert_ne!(
            token,
            idempotency_token("bcm", &["a", "b"], &tags(&[("k", "w")]))
        );
        // A part cannot run into the next: the zero byte ends each.
        assert_ne!(
            idempotency_token("bcm", &["ab", ""], &BTreeMap::new()),
            idempotency_token("bcm", &["a", "b"], &BTreeMap::new())
        );
    }

    fn hex_sha256(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn a_tag_call_becomes_the_kinds_tag_or_untag() {
        let set: TestCall = TagCall::Set {
            arn: "a".into(),
            tags: tags(&[("k", "v")]),
        }
        .into();
        assert_eq!(
            set,
            Call::Tag {
                arn: "a".into(),
                tags: tags(&[("k", "v")])
            }
        );
        let remove: TestCall = TagCall::Remove {
            arn: "a".into(),
            keys: vec!["k".into()],
        }
        .into();
        assert_eq!(
            remove,
            Call::Untag {
                arn: "a".into(),
                keys: vec!["k".into()]
            }
        );
    }

    #[test]
    fn a_claim_goes_first_and_takes_in_what_the_tag_calls_would_set() {
        let mut p = plan(vec![
            Call::Update {
                arn: "a".into(),
                change: "swap",
            },
            Call::Tag {
                arn: "a".into(),
                tags: tags(&[("team", "ml")]),
            },
            Call::Untag {
                arn: "a".into(),
                keys: vec!["old".into()],
            },
        ]);
        claim_first(&mut p, "a", tags(&[("owner", "me")]));
        assert_eq!(
            p.actions,
            vec![
                Call::Claim {
                    arn: "a".into(),
                    tags: tags(&[("owner", "me"), ("team", "ml")]),
                },
                Call::Update {
                    arn: "a".into(),
                    change: "swap",
                },
                Call::Untag {
                    arn: "a".into(),
                    keys: vec!["old".into()],
                },
            ]
        );
    }

    #[test]
    fn a_claim_on_a_plan_with_no_calls_is_the_only_call() {
        let mut p = plan(Vec::new());
        claim_first(&mut p, "a", tags(&[("owner", "me")]));
        assert_eq!(
            p.actions,
            vec![Call::Claim {
                arn: "a".into(),
                tags: tags(&[("owner", "me")]),
            }]
        );
    }
}
