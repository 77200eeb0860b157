//! One owner per Bedrock resource: who holds a model (or any resource the operator adopts or
//! deletes), judged by the operator's owner tags on it. Pure functions, shared by every kind:
//! the reconcile stages do the reading (the tags; the named owner through the API server) and
//! hand the results here.
//!
//! The rules: a resource takes a model only when the model carries no owner tag, names this
//! resource, or names a resource that no longer exists (looked up at that moment); it deletes a
//! model only when the owner-uid tag, read just before the call, is its own UID.

use std::collections::BTreeMap;
use std::fmt;

use super::scope::NamespaceScope;
use crate::api::tags::{OWNER, OWNER_UID};

/// The resource a model's owner tag names, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnerRef {
    pub namespace: String,
    pub name: String,
}

/// Who holds a model, from its tags: the owner's UID, and its namespace/name when the tag that
/// carries them is readable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub uid: String,
    pub reference: Option<OwnerRef>,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            Some(r) => write!(f, "{}/{}", r.namespace, r.name),
            None => write!(f, "the resource with UID {}", self.uid),
        }
    }
}

/// The holder a model's tags name; `None` when it carries no owner-uid tag (created outside
/// the operator, or its tags were removed).
pub fn holder(tags: &BTreeMap<String, String>) -> Option<Holder> {
    let uid = tags.get(OWNER_UID).filter(|uid| !uid.is_empty())?;
    let reference = tags.get(OWNER).and_then(|owner| {
        let (namespace, name) = owner.split_once('/')?;
        (!namespace.is_empty() && !name.is_empty() && !name.contains('/')).then(|| OwnerRef {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    });
    Some(Holder {
        uid: uid.clone(),
        reference,
    })
}

/// Whether the resource an owner tag names still exists, as the API server answered a GET of
/// it by namespace/name (never the cache: a stale cache could hand a live owner's model away).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Liveness {
    /// Not looked up.
    #[default]
    Unknown,
    /// A resource of that namespace/name exists with the tagged UID (or the operator may not
    /// read it, and so cannot prove it gone).
    Alive,
    /// No resource of that namespace/name, or one with another UID (re-created since).
    Gone,
}

/// What a GET of the named owner found: `Some(uid)` of the resource at that namespace/name, or
/// `None` when there is none.
pub fn liveness(holder: &Holder, found_uid: Option<&str>) -> Liveness {
    if found_uid == Some(holder.uid.as_str()) {
        Liveness::Alive
    } else {
        Liveness::Gone
    }
}

/// May the resource with `uid` take the model whose tags are `tags`?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Adoption {
    /// Yes: untagged, tagged for this resource, or for a resource that is gone.
    Take,
    /// No: another resource holds it.
    Conflict(Holder),
    /// Only the API server can tell: look the named owner up, then decide again.
    LookUpOwner(OwnerRef),
}

pub fn adoption(tags: &BTreeMap<String, String>, uid: &str, owner: Liveness) -> Adoption {
    let Some(holder) = holder(tags) else {
        return Adoption::Take;
    };
    if holder.uid == uid {
        return Adoption::Take;
    }
    match (&holder.reference, owner) {
        // Without a readable namespace/name the owner cannot be looked up: never take a model
        // on a guess.
        (None, _) => Adoption::Conflict(holder),
        (Some(reference), Liveness::Unknown) => Adoption::LookUpOwner(reference.clone()),
        (Some(_), Liveness::Alive) => Adoption::Conflict(holder),
        (Some(_), Liveness::Gone) => Adoption::Take,
    }
}

/// What deleting the resource with `uid` may do to the model whose tags (read just before the
/// call) are `tags`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    Delete,
    /// Not ours: leave it to its holder (`None`: to whoever created it, it has no owner tag).
    LeaveToOwner(Option<Holder>),
}

pub fn deletion(tags: &BTreeMap<String, String>, uid: &str) -> Deletion {
    match holder(tags) {
        Some(holder) if !uid.is_empty() && holder.uid == uid => Deletion::Delete,
        other => Deletion::LeaveToOwner(other),
    }
}

/// The owner the observe step must look up before a plan can decide: the object's tags name
/// another resource than the one of `uid`, which may or may not still exist.
pub fn owner_to_look_up(uid: &str, tags: &BTreeMap<String, String>) -> Option<Holder> {
    match adoption(tags, uid, Liveness::Unknown) {
        Adoption::LookUpOwner(_) => holder(tags),
        Adoption::Take | Adoption::Conflict(_) => None,
    }
}

/// A Bedrock object found under the name a resource asks for, for [`name_conflict_message`].
pub struct Found<'a> {
    /// "model", "deployment", "provisioned throughput".
    pub noun: &'a str,
    /// The spec field that names it: "spec.modelName".
    pub field: &'a str,
    pub name: &'a str,
    pub region: &'a str,
    pub arn: &'a str,
}

/// Why a Bedrock object found by name is not this resource's to take (NameConflict), and what
/// to do: `holder` is whose its owner tag says it is; `adopt` whether the spec asks for it.
pub fn name_conflict_message(found: &Found<'_>, holder: Option<&Holder>, adopt: bool) -> String {
    let Found {
        noun,
        field,
        name,
        region,
        arn,
    } = found;
    match (holder, adopt) {
        (Some(holder), true) if holder.reference.is_some() => format!(
            "Bedrock {noun} {name} in {region} ({arn}) belongs to {holder}, which still exists, and a {noun} has one owner: choose another {field}, or hand the {noun} over by deleting {holder} with spec.deletionPolicy: Retain"
        ),
        (Some(holder), true) => format!(
            "Bedrock {noun} {name} in {region} ({arn}) belongs to {holder}; its owner tag names no namespace/name, so the operator cannot tell whether that resource still exists and leaves the {noun} to it: choose another {field}"
        ),
        (Some(holder), false) => format!(
            "a Bedrock {noun} named {name} already exists in {region} ({arn}) and belongs to {holder}, not to this resource: choose another {field}, or set spec.adoptionPolicy: Adopt to take it over once that resource is gone"
        ),
        (None, _) => format!(
            "a Bedrock {noun} named {name} already exists in {region} and was not created by this resource ({arn}): choose another {field}, delete that {noun}, or set spec.adoptionPolicy: Adopt to manage it from this resource"
        ),
    }
}

/// The message of the Warning event of a resource deleted without deleting the model it named.
pub fn left_message(kind: &str, model: &str, holder: Option<&Holder>) -> String {
    match holder {
        Some(holder) => format!(
            "left {kind} {model} in place: it belongs to {holder}, not to this resource, so it was not deleted"
        ),
        None => format!(
            "left {kind} {model} in place: it carries no owner tag (it was created outside the operator), so it was left to whoever created it and not deleted"
        ),
    }
}

/// The InvalidSpec message of `adoptionPolicy: Adopt` in a namespace that `scope` (the
/// operator's `--allow-adoption`) leaves out; `None` where adoption is allowed.
pub fn adoption_refused(namespace: &str, scope: &NamespaceScope) -> Option<String> {
    (!scope.allows(namespace)).then(|| format!(
        "the spec is invalid, so nothing was sent to AWS: spec.adoptionPolicy: Adopt is not allowed in namespace {namespace} (the operator's --allow-adoption is {scope}); set spec.adoptionPolicy: Never, or ask the cluster operator to allow adoption in this namespace"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::tags::operator_tags;

    const ME: &str = "uid-me";

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn owned_by(namespace: &str, name: &str, uid: &str) -> BTreeMap<String, String> {
        let mut t = operator_tags(namespace, name, uid);
        t.insert("team".into(), "ml".into());
        t
    }

    fn team_b() -> Holder {
        Holder {
            uid: "uid-b".into(),
            reference: Some(OwnerRef {
                namespace: "team-b".into(),
                name: "m".into(),
            }),
        }
    }

    #[test]
    fn adoption_decisions() {
        let cases = [
            (
                "no tags at all",
                tags(&[]),
                Liveness::Unknown,
                Adoption::Take,
            ),
            (
                "only foreign tags, no owner tag",
                tags(&[("team", "ml")]),
                Liveness::Unknown,
                Adoption::Take,
            ),
            (
                "an empty owner-uid tag is no owner",
                tags(&[(OWNER_UID, "")]),
                Liveness::Unknown,
                Adoption::Take,
            ),
            (
                "tagged for this resource",
                owned_by("team-a", "m", ME),
                Liveness::Unknown,
                Adoption::Take,
            ),
            (
                "another owner, not looked up yet",
                owned_by("team-b", "m", "uid-b"),
                Liveness::Unknown,
                Adoption::LookUpOwner(OwnerRef {
                    namespace: "team-b".into(),
                    name: "m".into(),
                }),
            ),
            (
                "another owner that exists",
                owned_by("team-b", "m", "uid-b"),
                Liveness::Alive,
                Adoption::Conflict(team_b()),
            ),
            (
                "another owner that is gone",
                owned_by("team-b", "m", "uid-b"),
                Liveness::Gone,
                Adoption::Take,
            ),
            (
                "owner-uid without a readable owner tag cannot be looked up",
                tags(&[(OWNER_UID, "uid-b"), (OWNER, "garbage")]),
                Liveness::Gone,
                Adoption::Conflict(Holder {
                    uid: "uid-b".into(),
                    reference: None,
                }),
            ),
            (
                "owner-uid without any owner tag",
                tags(&[(OWNER_UID, "uid-b")]),
                Liveness::Unknown,
                Adoption::Conflict(Holder {
                    uid: "uid-b".into(),
                    reference: None,
                }),
            ),
        ];
        for (name, tags, owner, want) in cases {
            assert_eq!(adoption(&tags, ME, owner), want, "{name}");
        }
    }

    #[test]
    fn liveness_compares_the_uid_of_what_the_api_server_returned() {
        let holder = team_b();
        assert_eq!(liveness(&holder, Some("uid-b")), Liveness::Alive);
        assert_eq!(
            liveness(&holder, Some("uid-b2")),
            Liveness::Gone,
            "re-created under the same name: a different resource"
        );
        assert_eq!(liveness(&holder, None), Liveness::Gone);
    }

    #[test]
    fn deletion_decisions() {
        let cases = [
            ("ours", owned_by("team-a", "m", ME), Deletion::Delete),
            (
                "another resource's",
                owned_by("team-b", "m", "uid-b"),
                Deletion::LeaveToOwner(Some(team_b())),
            ),
            (
                "no owner tag",
                tags(&[("team", "ml")]),
                Deletion::LeaveToOwner(None),
            ),
            (
                "only the namespace/name tag matches",
                tags(&[(OWNER, "team-a/m"), (OWNER_UID, "uid-old")]),
                Deletion::LeaveToOwner(Some(Holder {
                    uid: "uid-old".into(),
                    reference: Some(OwnerRef {
                        namespace: "team-a".into(),
                        name: "m".into(),
                    }),
                })),
            ),
        ];
        for (name, tags, want) in cases {
            assert_eq!(deletion(&tags, ME), want, "{name}");
        }
        assert_eq!(
            deletion(&tags(&[(OWNER_UID, "")]), ""),
            Deletion::LeaveToOwner(None),
            "a resource without a UID owns nothing"
        );
    }

    #[test]
    fn left_messages_name_the_owner_or_say_there_is_none() {
        let owned = left_message("Bedrock model", "shared", Some(&team_b()));
        assert!(owned.contains("team-b/m"), "{owned}");
        let untagged = left_message("Bedrock model", "shared", None);
        assert!(untagged.contains("whoever created it"), "{untagged}");
    }
}
