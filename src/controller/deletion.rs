//! What deleting a resource takes, decided from the resource alone: the first step of the
//! cleanup stage ([`super::cleanup`]), one rule for every kind ([`standard`]), which a kind
//! may refine ([`super::apply::Apply::deletion`]: a throughput's commitment term).

use std::time::Duration;

use super::held::HeldStatus;
use super::kind::Managed;
use super::outcome;
use super::scope::NamespaceScope;
use crate::api::{AdoptionPolicy, DeletionPolicy};

/// What deleting the resource takes, as the kind decides it from the resource alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// deletionPolicy Retain: keep the object, let the resource go.
    Retain,
    /// Delete the object the status holds.
    Delete { arn: String },
    /// The status holds no object, but one may have been created just before a crash (or
    /// the one of that name is another's, NameConflict): look it up by name and delete it if
    /// it is this resource's.
    LookUp { name: String },
    /// Bedrock will not delete the object before `until` (RFC 3339), `wait` from now (the end
    /// of a commitment term): no call until then.
    Until { until: String, wait: Duration },
    /// Nothing was ever created for this resource: no AWS call.
    Nothing,
}

/// The one rule: Retain keeps the object; else delete the object the status holds; else,
/// unless this generation was refused before any call, look up the object of the resource's
/// Bedrock name when the spec is `valid` (checked only then: a held object needs no check) and
/// its adoption, if it asks for one, is allowed.
pub fn standard<K>(resource: &K, valid: impl FnOnce() -> bool, adoption: &NamespaceScope) -> Cleanup
where
    K: Managed<Status: HeldStatus>,
{
    let retain = resource.deletion_policy() == DeletionPolicy::Retain;
    let held = resource
        .status()
        .and_then(HeldStatus::held_arn)
        .map(|arn| Cleanup::Delete {
            arn: arn.to_string(),
        });
    let lookup = || {
        (valid() && may_adopt(resource, resource.adoption_policy(), adoption))
            .then(|| resource.bedrock_name().to_string())
    };
    decide(retain, held, refused(resource), lookup)
}

/// What deleting the resource takes, the same for every kind: keep the object (`retain`:
/// deletionPolicy Retain); else what the kind says of the object the status holds (`held`:
/// delete it, or wait for the end of its term); else, unless this generation was refused
/// before any call (`refused`), look it up by the name `lookup` gives: the name of a valid
/// spec whose adoption, if it asks for one, is allowed (`None`: it never reached Bedrock).
pub fn decide(
    retain: bool,
    held: Option<Cleanup>,
    refused: bool,
    lookup: impl FnOnce() -> Option<String>,
) -> Cleanup {
    if retain {
        return Cleanup::Retain;
    }
    if let Some(held) = held {
        return held;
    }
    if refused {
        // Refused (by validation or a tenant guard) before any call: nothing to look up.
        return Cleanup::Nothing;
    }
    match lookup() {
        Some(name) => Cleanup::LookUp { name },
        None => Cleanup::Nothing,
    }
}

/// Whether the resource's current generation was refused before any call (see
/// [`outcome::refused_before_any_call`]).
pub fn refused<K: Managed>(resource: &K) -> bool {
    let meta = resource.meta();
    outcome::refused_before_any_call(
        resource.conditions(),
        meta.generation,
        meta.deletion_timestamp.is_some(),
    )
}

/// Whether a spec with `policy` may have adopted an object in the resource's namespace.
pub fn may_adopt<K: Managed>(resource: &K, policy: AdoptionPolicy, scope: &NamespaceScope) -> bool {
    policy != AdoptionPolicy::Adopt
        || scope.allows(resource.meta().namespace.as_deref().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/m";
    const SLOW: Duration = Duration::from_secs(300);

    #[test]
    fn the_decision_keeps_a_retained_object_whatever_else_holds() {
        let held = Some(Cleanup::Delete { arn: ARN.into() });
        assert_eq!(
            decide(true, held, false, || Some("m".into())),
            Cleanup::Retain
        );
        assert_eq!(decide(true, None, true, || None), Cleanup::Retain);
    }

    #[test]
    fn the_decision_follows_the_held_object_before_any_look_up() {
        let until = Cleanup::Until {
            until: "2027-01-01T00:00:00Z".into(),
            wait: SLOW,
        };
        let looked = std::cell::Cell::new(false);
        let lookup = || {
            looked.set(true);
            Some("m".into())
        };
        assert_eq!(decide(false, Some(until.clone()), false, lookup), until);
        assert!(!looked.get(), "no look-up while an object is held");
    }

    #[test]
    fn the_decision_looks_up_by_name_only_what_may_have_reached_bedrock() {
        assert_eq!(
            decide(false, None, false, || Some("m".into())),
            Cleanup::LookUp { name: "m".into() }
        );
        assert_eq!(
            decide(false, None, true, || Some("m".into())),
            Cleanup::Nothing
        );
        assert_eq!(decide(false, None, false, || None), Cleanup::Nothing);
    }
}
