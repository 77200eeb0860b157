//! One owner per Bedrock resource: who holds a model (or any resource the operator adopts or
//! deletes), judged by the operator's owner tags on it. Pure functions, shared by every kind:
//! the reconcile stages do the reading (the tags; the named owner through the API server) and
//! hand the results here.
//!
//! The rules: an object's owner is one resource of one cluster (its owner-uid and cluster
//! tags). A resource takes an object only when it carries no owner tag, names this resource,
//! or names a resource of this cluster that no longer exists (looked up at that moment); an
//! object another cluster holds is taken only when the resource's take-over annotation names
//! that cluster. A resource deletes an object only when its tags, read just before the call,
//! name this resource in this cluster.
//!
//! Objects tagged before cluster identity (no cluster tag) belong to the resource whose UID
//! they carry: a resource of this cluster with that UID holds them (and gets the cluster tag at
//! its next tag sync); one not found here may live in another cluster sharing the account, so
//! such an object is never taken without the take-over annotation naming that UID.

use std::collections::BTreeMap;
use std::fmt;

use super::scope::NamespaceScope;
use crate::api::TAKE_OVER_ANNOTATION;
use crate::api::tags::{CLUSTER, OWNER, OWNER_UID};

/// The resource a model's owner tag names, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnerRef {
    pub namespace: String,
    pub name: String,
}

/// Which cluster an owner lives in, from the object's cluster tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The cluster tag names this operator's cluster (or the owner was found here by UID).
    Here,
    /// The cluster tag names another cluster.
    Elsewhere(String),
    /// No cluster tag: tagged by a version before cluster identity, by a resource not found
    /// in this cluster (yet).
    Unnamed,
}

/// Who holds a model, from its tags: the owner's UID, its namespace/name when the tag that
/// carries them is readable, and its cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub uid: String,
    pub reference: Option<OwnerRef>,
    pub place: Place,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            Some(r) => write!(f, "{}/{}", r.namespace, r.name)?,
            None => write!(f, "the resource with UID {}", self.uid)?,
        }
        match &self.place {
            Place::Elsewhere(cluster) => write!(f, " of cluster {cluster}"),
            Place::Here | Place::Unnamed => Ok(()),
        }
    }
}

/// The resource that would own an object: its UID, the cluster this operator serves, and the
/// cluster (or, for an object tagged before cluster identity, the owner UID) its
/// `bedrock-operator.dev/take-over-from` annotation names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Me<'a> {
    pub uid: &'a str,
    pub cluster: &'a str,
    pub take_over_from: Option<&'a str>,
}

impl<'a> Me<'a> {
    /// The resource with `meta` in `cluster`.
    pub fn of(meta: &'a kube::core::ObjectMeta, cluster: &'a str) -> Self {
        Me {
            uid: meta.uid.as_deref().unwrap_or_default(),
            cluster,
            take_over_from: meta
                .annotations
                .as_ref()
                .and_then(|a| a.get(TAKE_OVER_ANNOTATION))
                .map(|value| value.trim())
                .filter(|value| !value.is_empty()),
        }
    }

    /// Whether the object's owner tags name this very resource in this cluster.
    pub fn holds(&self, tags: &BTreeMap<String, String>) -> bool {
        holder(tags, self.cluster).is_some_and(|holder| {
            !self.uid.is_empty()
                && holder.uid == self.uid
                && !matches!(holder.place, Place::Elsewhere(_))
        })
    }

    /// Whether the take-over annotation names the holder's cluster (or, for an object tagged
    /// before cluster identity, its owner UID).
    fn takes_over_from(&self, holder: &Holder) -> bool {
        let named = match &holder.place {
            Place::Elsewhere(cluster) => cluster.as_str(),
            Place::Unnamed => holder.uid.as_str(),
            Place::Here => return false,
        };
        self.take_over_from == Some(named)
    }
}

/// The holder an object's tags name, seen from `cluster`; `None` when it carries no owner-uid
/// tag (created outside the operator, or its tags were removed).
pub fn holder(tags: &BTreeMap<String, String>, cluster: &str) -> Option<Holder> {
    let uid = tags.get(OWNER_UID).filter(|uid| !uid.is_empty())?;
    let reference = tags.get(OWNER).and_then(|owner| {
        let (namespace, name) = owner.split_once('/')?;
        (!namespace.is_empty() && !name.is_empty() && !name.contains('/')).then(|| OwnerRef {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    });
    let place = match tags
        .get(CLUSTER)
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        None => Place::Unnamed,
        Some(tagged) if tagged == cluster => Place::Here,
        Some(tagged) => Place::Elsewhere(tagged.to_string()),
    };
    Some(Holder {
        uid: uid.clone(),
        reference,
        place,
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

/// May the resource `me` take the object whose tags are `tags`?
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Adoption {
    /// Yes: untagged, tagged for this resource, for a resource of this cluster that is gone,
    /// or held by the cluster the take-over annotation names.
    Take,
    /// No: another resource holds it (or may: one of another cluster, or one tagged before
    /// cluster identity that this cluster does not have).
    Conflict(Holder),
    /// Only the API server can tell: look the named owner up, then decide again.
    LookUpOwner(OwnerRef),
}

pub fn adoption(tags: &BTreeMap<String, String>, me: &Me<'_>, owner: Liveness) -> Adoption {
    let Some(holder) = holder(tags, me.cluster) else {
        return Adoption::Take;
    };
    if me.holds(tags) {
        return Adoption::Take;
    }
    if let Place::Elsewhere(_) = holder.place {
        // Another cluster's resource: it cannot be looked up from here, so it is never taken
        // unless the resource says, by the annotation, that it takes over from that cluster.
        return if me.takes_over_from(&holder) {
            Adoption::Take
        } else {
            Adoption::Conflict(holder)
        };
    }
    match (&holder.reference, owner) {
        // Without a readable namespace/name the owner cannot be looked up: never take a model
        // on a guess.
        (None, _) => Adoption::Conflict(holder),
        (Some(reference), Liveness::Unknown) => Adoption::LookUpOwner(reference.clone()),
        // Found here by its UID: this cluster's resource, whatever the tags said.
        (Some(_), Liveness::Alive) => Adoption::Conflict(Holder {
            place: Place::Here,
            ..holder
        }),
        (Some(_), Liveness::Gone) => match holder.place {
            Place::Here => Adoption::Take,
            // Tagged before cluster identity by a resource this cluster does not have: it may
            // be alive in another cluster sharing the account.
            _ if me.takes_over_from(&holder) => Adoption::Take,
            _ => Adoption::Conflict(holder),
        },
    }
}

/// What deleting the resource `me` may do to the object whose tags (read just before the
/// call) are `tags`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    Delete,
    /// Not ours: leave it to its holder (`None`: to whoever created it, it has no owner tag).
    LeaveToOwner(Option<Holder>),
}

pub fn deletion(tags: &BTreeMap<String, String>, me: &Me<'_>) -> Deletion {
    if me.holds(tags) {
        Deletion::Delete
    } else {
        Deletion::LeaveToOwner(holder(tags, me.cluster))
    }
}

/// The owner the observe step must look up before a plan can decide: the object's tags name
/// another resource than `me`, which may or may not still exist in this cluster.
pub fn owner_to_look_up(me: &Me<'_>, tags: &BTreeMap<String, String>) -> Option<Holder> {
    match adoption(tags, me, Liveness::Unknown) {
        Adoption::LookUpOwner(_) => holder(tags, me.cluster),
        Adoption::Take | Adoption::Conflict(_) => None,
    }
}

/// How a plan treats a Bedrock object found under the name its resource asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FoundByName {
    /// Its owner tags name this resource (it created it, e.g. just before a crash).
    Ours,
    /// Adopt it: `adoptionPolicy: Adopt` and nobody else holds it; `from` is whom it was
    /// tagged for before (gone, or the cluster taken over from).
    Adopt { from: Option<Holder> },
    /// Not this resource's to take (NameConflict): `holder` is whose its tags say it is.
    Conflict { holder: Option<Holder> },
}

/// The one decision every kind makes about an object found by name: `tags` as read (none when
/// they were not), whether the spec asks for adoption, and the liveness of the owner they name.
pub fn found_by_name(
    tags: Option<&BTreeMap<String, String>>,
    me: &Me<'_>,
    adopt: bool,
    owner: Liveness,
) -> FoundByName {
    let holder = tags.and_then(|tags| holder(tags, me.cluster));
    if tags.is_some_and(|tags| me.holds(tags)) {
        return FoundByName::Ours;
    }
    if !adopt {
        return FoundByName::Conflict { holder };
    }
    // Without the tags (or the owner they name looked up), nothing says it is free to take.
    match tags.map(|tags| adoption(tags, me, owner)) {
        Some(Adoption::Take) => FoundByName::Adopt { from: holder },
        Some(Adoption::Conflict(holder)) => FoundByName::Conflict {
            holder: Some(holder),
        },
        Some(Adoption::LookUpOwner(_)) | None => FoundByName::Conflict { holder },
    }
}

/// Where every kind's plan starts: the object the status holds (its ARN) against the object
/// found (by that ARN, or by name when the status holds none), and whose it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Match<'a, R> {
    /// Nothing held and nothing of the name: create it.
    Create,
    /// Found by name, and its owner tags name this resource (it made it just before a crash):
    /// take it back.
    TakeBack(&'a R),
    /// Found by name and adopted (`adoptionPolicy: Adopt`, nobody else holds it): the claim
    /// goes first; `from` is whom it was tagged for before.
    Adopt { found: &'a R, from: Option<Holder> },
    /// Found, but another resource's (NameConflict): the status keeps no object.
    Conflict {
        found: &'a R,
        holder: Option<Holder>,
    },
    /// The held object is gone although nobody asked the operator to delete it.
    Missing { arn: String },
    /// The held object, this resource's.
    Held(&'a R),
}

/// The match every kind's plan starts from: `held`, the ARN the status holds; `found`, the
/// object as read, with its `tags` when they were read; `adopt`, whether the spec asks for
/// adoption; `owner`, the liveness of the owner the tags name.
pub fn matching<'a, R>(
    held: Option<String>,
    found: Option<&'a R>,
    tags: Option<&BTreeMap<String, String>>,
    me: &Me<'_>,
    adopt: bool,
    owner: Liveness,
) -> Match<'a, R> {
    match (held, found) {
        (None, None) => Match::Create,
        (None, Some(found)) => match found_by_name(tags, me, adopt, owner) {
            FoundByName::Ours => Match::TakeBack(found),
            FoundByName::Adopt { from } => Match::Adopt { found, from },
            FoundByName::Conflict { holder } => Match::Conflict { found, holder },
        },
        (Some(arn), None) => Match::Missing { arn },
        // Another resource took the object over (a claim that raced, or an operator from
        // before one owner): while that resource exists, the object is its.
        (Some(_), Some(found)) => match tags.map(|tags| adoption(tags, me, owner)) {
            Some(Adoption::Conflict(holder)) => Match::Conflict {
                found,
                holder: Some(holder),
            },
            _ => Match::Held(found),
        },
    }
}

/// The Adopted event's message of `noun` ("Bedrock model") `name` at `arn`, held before by
/// `from`.
pub fn adopted_message(noun: &str, name: &str, arn: &str, from: Option<&Holder>) -> String {
    format!(
        "adopted existing {noun} {name} ({arn}){}",
        adopted_from(from)
    )
}

/// The end of an Adopted event's message: whom the object was held by before, if anyone.
pub fn adopted_from(from: Option<&Holder>) -> String {
    match from {
        None => String::new(),
        Some(
            holder @ Holder {
                place: Place::Elsewhere(_),
                ..
            },
        ) => format!(", taken over from {holder} as the {TAKE_OVER_ANNOTATION} annotation asks"),
        Some(
            holder @ Holder {
                place: Place::Unnamed,
                ..
            },
        ) => format!(
            ", tagged before cluster identity for {holder}, taken over as the {TAKE_OVER_ANNOTATION} annotation asks"
        ),
        Some(holder) => format!(", held before by {holder}, which is gone"),
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
        (
            Some(
                holder @ Holder {
                    place: Place::Elsewhere(cluster),
                    ..
                },
            ),
            _,
        ) => format!(
            "Bedrock {noun} {name} in {region} ({arn}) belongs to {holder}, and one cluster's operator never adopts, changes or deletes what another cluster holds: choose another {field}; to move the {noun} to this cluster on purpose (a blue/green upgrade), set spec.adoptionPolicy: Adopt and the annotation {TAKE_OVER_ANNOTATION}: {cluster}"
        ),
        (
            Some(
                holder @ Holder {
                    place: Place::Unnamed,
                    reference: Some(_),
                    ..
                },
            ),
            true,
        ) => format!(
            "Bedrock {noun} {name} in {region} ({arn}) belongs to {holder} (UID {uid}) by owner tags written before cluster identity, and this cluster has no such resource: it may live in another cluster sharing the AWS account. Choose another {field}; if that resource is gone for good, take the {noun} over with the annotation {TAKE_OVER_ANNOTATION}: {uid}",
            uid = holder.uid
        ),
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
    const HERE: &str = "cluster-a";
    const THERE: &str = "cluster-b";

    fn me() -> Me<'static> {
        Me {
            uid: ME,
            cluster: HERE,
            take_over_from: None,
        }
    }

    fn taking_over_from(from: &'static str) -> Me<'static> {
        Me {
            take_over_from: Some(from),
            ..me()
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn owned_by(namespace: &str, name: &str, uid: &str) -> BTreeMap<String, String> {
        owned_in(HERE, namespace, name, uid)
    }

    fn owned_in(cluster: &str, namespace: &str, name: &str, uid: &str) -> BTreeMap<String, String> {
        let mut t = operator_tags(namespace, name, uid, cluster);
        t.insert("team".into(), "ml".into());
        t
    }

    /// Tags written by a version before cluster identity: no cluster tag.
    fn owned_before_clusters(namespace: &str, name: &str, uid: &str) -> BTreeMap<String, String> {
        let mut t = owned_by(namespace, name, uid);
        t.remove(CLUSTER);
        t
    }

    fn team_b_in(place: Place) -> Holder {
        Holder {
            uid: "uid-b".into(),
            reference: Some(OwnerRef {
                namespace: "team-b".into(),
                name: "m".into(),
            }),
            place,
        }
    }

    fn team_b() -> Holder {
        team_b_in(Place::Here)
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
                tags(&[(OWNER_UID, "uid-b"), (OWNER, "garbage"), (CLUSTER, HERE)]),
                Liveness::Gone,
                Adoption::Conflict(Holder {
                    uid: "uid-b".into(),
                    reference: None,
                    place: Place::Here,
                }),
            ),
            (
                "owner-uid without any owner tag",
                tags(&[(OWNER_UID, "uid-b")]),
                Liveness::Unknown,
                Adoption::Conflict(Holder {
                    uid: "uid-b".into(),
                    reference: None,
                    place: Place::Unnamed,
                }),
            ),
        ];
        for (name, tags, owner, want) in cases {
            assert_eq!(adoption(&tags, &me(), owner), want, "{name}");
        }
    }

    #[test]
    fn another_clusters_object_is_never_taken_whatever_this_cluster_holds() {
        let theirs = owned_in(THERE, "team-b", "m", "uid-b");
        for owner in [Liveness::Unknown, Liveness::Alive, Liveness::Gone] {
            assert_eq!(
                adoption(&theirs, &me(), owner),
                Adoption::Conflict(team_b_in(Place::Elsewhere(THERE.into()))),
                "{owner:?}"
            );
        }
        assert_eq!(
            owner_to_look_up(&me(), &theirs),
            None,
            "another cluster's owner cannot be looked up here"
        );
    }

    #[test]
    fn another_clusters_object_with_this_resources_uid_is_still_theirs() {
        // A cluster cloned from an etcd snapshot has the same UIDs: only the cluster tells.
        let cloned = owned_in(THERE, "team-a", "m", ME);
        assert!(matches!(
            adoption(&cloned, &me(), Liveness::Unknown),
            Adoption::Conflict(_)
        ));
        assert!(matches!(
            deletion(&cloned, &me()),
            Deletion::LeaveToOwner(Some(_))
        ));
    }

    #[test]
    fn the_take_over_annotation_takes_from_the_cluster_it_names_only() {
        let theirs = owned_in(THERE, "team-b", "m", "uid-b");
        assert_eq!(
            adoption(&theirs, &taking_over_from(THERE), Liveness::Unknown),
            Adoption::Take
        );
        assert!(matches!(
            adoption(&theirs, &taking_over_from("cluster-c"), Liveness::Unknown),
            Adoption::Conflict(_)
        ));
        let ours = owned_by("team-b", "m", "uid-b");
        assert_eq!(
            adoption(&ours, &taking_over_from(HERE), Liveness::Alive),
            Adoption::Conflict(team_b()),
            "naming this very cluster takes nothing from a live owner here"
        );
    }

    #[test]
    fn objects_tagged_before_cluster_identity_belong_to_the_uid_they_name() {
        let mine = owned_before_clusters("team-a", "m", ME);
        assert_eq!(adoption(&mine, &me(), Liveness::Unknown), Adoption::Take);
        assert_eq!(deletion(&mine, &me()), Deletion::Delete);
        let other = owned_before_clusters("team-b", "m", "uid-b");
        assert_eq!(
            owner_to_look_up(&me(), &other).map(|h| h.uid),
            Some("uid-b".to_string()),
            "looked up here first"
        );
        assert_eq!(
            adoption(&other, &me(), Liveness::Alive),
            Adoption::Conflict(team_b()),
            "found here with its UID: this cluster's live resource"
        );
        assert_eq!(
            adoption(&other, &me(), Liveness::Gone),
            Adoption::Conflict(team_b_in(Place::Unnamed)),
            "not here: it may live in another cluster"
        );
        assert_eq!(
            adoption(&other, &taking_over_from("uid-b"), Liveness::Gone),
            Adoption::Take,
            "taken over by naming the owner UID"
        );
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
                "another cluster's",
                owned_in(THERE, "team-b", "m", "uid-b"),
                Deletion::LeaveToOwner(Some(team_b_in(Place::Elsewhere(THERE.into())))),
            ),
            (
                "no owner tag",
                tags(&[("team", "ml")]),
                Deletion::LeaveToOwner(None),
            ),
            (
                "only the namespace/name tag matches",
                tags(&[(OWNER, "team-a/m"), (OWNER_UID, "uid-old"), (CLUSTER, HERE)]),
                Deletion::LeaveToOwner(Some(Holder {
                    uid: "uid-old".into(),
                    reference: Some(OwnerRef {
                        namespace: "team-a".into(),
                        name: "m".into(),
                    }),
                    place: Place::Here,
                })),
            ),
        ];
        for (name, tags, want) in cases {
            assert_eq!(deletion(&tags, &me()), want, "{name}");
        }
        let nobody = Me { uid: "", ..me() };
        assert_eq!(
            deletion(&tags(&[(OWNER_UID, "")]), &nobody),
            Deletion::LeaveToOwner(None),
            "a resource without a UID owns nothing"
        );
    }

    #[test]
    fn found_by_name_decisions() {
        let mine = owned_by("team-a", "m", ME);
        let theirs = owned_in(THERE, "team-b", "m", "uid-b");
        let gone_here = owned_by("team-b", "m", "uid-b");
        let cases = [
            (
                "ours",
                Some(&mine),
                false,
                Liveness::Unknown,
                FoundByName::Ours,
            ),
            (
                "untagged, no adoption asked",
                Some(&BTreeMap::new()),
                false,
                Liveness::Unknown,
                FoundByName::Conflict { holder: None },
            ),
            (
                "untagged, adopted",
                Some(&BTreeMap::new()),
                true,
                Liveness::Unknown,
                FoundByName::Adopt { from: None },
            ),
            (
                "tags not read: nothing says it is free",
                None,
                true,
                Liveness::Unknown,
                FoundByName::Conflict { holder: None },
            ),
            (
                "owner gone here, adopted",
                Some(&gone_here),
                true,
                Liveness::Gone,
                FoundByName::Adopt {
                    from: Some(team_b()),
                },
            ),
            (
                "another cluster's, adopt asked",
                Some(&theirs),
                true,
                Liveness::Gone,
                FoundByName::Conflict {
                    holder: Some(team_b_in(Place::Elsewhere(THERE.into()))),
                },
            ),
        ];
        for (name, tags, adopt, owner, want) in cases {
            assert_eq!(found_by_name(tags, &me(), adopt, owner), want, "{name}");
        }
    }

    #[test]
    fn name_conflict_messages_say_which_cluster_holds_it_and_how_to_take_it_over() {
        let found = Found {
            noun: "model",
            field: "spec.modelName",
            name: "chat",
            region: "us-east-1",
            arn: "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abc",
        };
        let elsewhere = team_b_in(Place::Elsewhere(THERE.into()));
        let message = name_conflict_message(&found, Some(&elsewhere), true);
        assert!(
            message.contains("team-b/m of cluster cluster-b"),
            "{message}"
        );
        assert!(
            message.contains("bedrock-operator.dev/take-over-from: cluster-b"),
            "{message}"
        );
        let legacy = team_b_in(Place::Unnamed);
        let message = name_conflict_message(&found, Some(&legacy), true);
        assert!(message.contains("before cluster identity"), "{message}");
        assert!(
            message.contains("bedrock-operator.dev/take-over-from: uid-b"),
            "{message}"
        );
    }

    #[test]
    fn the_take_over_annotation_is_read_from_the_resource() {
        let meta = kube::core::ObjectMeta {
            uid: Some(ME.into()),
            annotations: Some(
                [(TAKE_OVER_ANNOTATION.to_string(), " cluster-b ".to_string())].into(),
            ),
            ..Default::default()
        };
        assert_eq!(Me::of(&meta, HERE), taking_over_from(THERE));
        let plain = kube::core::ObjectMeta {
            uid: Some(ME.into()),
            ..Default::default()
        };
        assert_eq!(Me::of(&plain, HERE), me());
    }

    #[test]
    fn left_messages_name_the_owner_or_say_there_is_none() {
        let owned = left_message("Bedrock model", "shared", Some(&team_b()));
        assert!(owned.contains("team-b/m"), "{owned}");
        let untagged = left_message("Bedrock model", "shared", None);
        assert!(untagged.contains("whoever created it"), "{untagged}");
    }

    // --- the match every plan starts from -----------------------------------------------------

    const FOUND: &str = "the object";

    fn matched(
        held: Option<&str>,
        found: bool,
        tags: Option<BTreeMap<String, String>>,
        adopt: bool,
    ) -> Match<'static, &'static str> {
        let found = found.then_some(&FOUND);
        matching(
            held.map(str::to_string),
            found,
            tags.as_ref(),
            &me(),
            adopt,
            Liveness::Unknown,
        )
    }

    #[test]
    fn nothing_held_and_nothing_found_is_a_create() {
        assert_eq!(matched(None, false, None, false), Match::Create);
    }

    #[test]
    fn an_object_found_by_name_with_this_resources_tags_is_taken_back() {
        let tags = owned_by("ns", "m", ME);
        assert_eq!(
            matched(None, true, Some(tags), false),
            Match::TakeBack(&FOUND)
        );
    }

    #[test]
    fn an_untagged_object_found_by_name_is_adopted_only_when_the_spec_asks() {
        let untagged = tags(&[("team", "ml")]);
        assert_eq!(
            matched(None, true, Some(untagged.clone()), true),
            Match::Adopt {
                found: &FOUND,
                from: None
            }
        );
        assert_eq!(
            matched(None, true, Some(untagged), false),
            Match::Conflict {
                found: &FOUND,
                holder: None
            }
        );
    }

    #[test]
    fn an_object_found_by_name_of_another_cluster_is_a_conflict_even_with_adopt() {
        let theirs = owned_in(THERE, "ns", "m", "uid-other");
        let Match::Conflict { found, holder } = matched(None, true, Some(theirs), true) else {
            panic!("not a conflict");
        };
        assert_eq!(found, &FOUND);
        assert!(holder.is_some());
    }

    #[test]
    fn a_held_object_that_is_gone_is_missing() {
        assert_eq!(
            matched(Some("arn:held"), false, None, false),
            Match::Missing {
                arn: "arn:held".into()
            }
        );
    }

    #[test]
    fn a_held_object_is_this_resources_unless_its_tags_name_another_living_holder() {
        assert_eq!(
            matched(Some("arn:held"), true, None, false),
            Match::Held(&FOUND)
        );
        let mine = owned_by("ns", "m", ME);
        assert_eq!(
            matched(Some("arn:held"), true, Some(mine), false),
            Match::Held(&FOUND)
        );
        let theirs = owned_in(THERE, "ns", "other", "uid-other");
        assert!(matches!(
            matched(Some("arn:held"), true, Some(theirs), false),
            Match::Conflict {
                holder: Some(_),
                ..
            }
        ));
    }
}
