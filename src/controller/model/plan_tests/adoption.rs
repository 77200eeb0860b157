//! Tests of whose a model found by name is: name conflicts, adoption, take-over from another
//! cluster, a model let go to another resource, the adoption scope and the owner look-up.

use super::*;
use crate::api::TAKE_OVER_ANNOTATION;
use crate::controller::ownership::{self, Me};

#[test]
fn foreign_model_with_the_name_is_a_name_conflict() {
    let timing = Timing::default();
    ApplyCase {
        name: "foreign model with the name: NameConflict",
        resource: resource(spec(), None),
        observation: observed(
            remote(ModelState::Active),
            Some(map(&[(tags::OWNER_UID, "someone-else"), ("team", "other")])),
        ),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec![NAME, ARN, "adoptionPolicy"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn untagged_model_with_the_name_and_tags_not_read_is_a_name_conflict() {
    let timing = Timing::default();
    ApplyCase {
        name: "untagged model with the name, tags not read: NameConflict",
        resource: resource(spec(), None),
        observation: observed(remote(ModelState::Active), None),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec![NAME],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn foreign_model_with_adopt_is_adopted_and_tagged() {
    ApplyCase {
        name: "foreign model with adoptionPolicy Adopt: adopted and tagged",
        resource: resource(adopt(), None),
        observation: observed(
            remote(ModelState::Active),
            Some(map(&[("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![Action::Claim {
            arn: ARN.into(),
            tags: remote_tags(&[("team", "ml")]),
        }],
        status: adopted_status("Active"),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Adopted", false), ("Active", false)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn adopt_model_held_by_a_live_resource_is_a_name_conflict_naming_it() {
    let timing = Timing::default();
    ApplyCase {
        name: "Adopt, model held by a resource that still exists: NameConflict naming it",
        resource: resource(adopt(), None),
        observation: Observation {
            owner: Liveness::Alive,
            ..observed(remote(ModelState::Active), Some(team_b_tags()))
        },
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec![NAME, ARN, "team-b/m", "still exists"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn adopt_with_owner_not_looked_up_claims_nothing_on_a_guess() {
    let timing = Timing::default();
    ApplyCase {
        name: "Adopt, owner tag not looked up: no claim on a guess",
        resource: resource(adopt(), None),
        observation: observed(remote(ModelState::Active), Some(team_b_tags())),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec!["team-b/m"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn adopt_model_held_in_another_cluster_is_a_name_conflict_naming_that_cluster() {
    let timing = Timing::default();
    ApplyCase {
        name: "Adopt, model held in another cluster: NameConflict naming it, no call",
        resource: resource(adopt(), None),
        // Whatever this cluster's API server says of a team-b/m here.
        observation: Observation {
            owner: Liveness::Gone,
            ..observed(remote(ModelState::Active), Some(other_cluster_tags()))
        },
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec![
            NAME,
            "team-b/m of cluster cluster-other",
            "bedrock-operator.dev/take-over-from: cluster-other",
        ],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn take_over_from_the_named_cluster_claims_the_model_with_this_clusters_tags() {
    ApplyCase {
        name: "Adopt with take-over-from naming the holder's cluster: claimed",
        resource: resource_with(adopt(), None, &[(TAKE_OVER_ANNOTATION, "cluster-other")]),
        observation: observed(remote(ModelState::Active), Some(other_cluster_tags())),
        elapsed: None,
        actions: vec![Action::Claim {
            arn: ARN.into(),
            tags: remote_tags(&[("team", "ml")]),
        }],
        status: adopted_status("Active"),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Adopted", false), ("Active", false)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn a_model_this_resource_holds_taken_over_by_another_cluster_is_let_go() {
    let timing = Timing::default();
    let mut taken = other_cluster_tags();
    taken.insert(tags::OWNER_UID.into(), "uid-in-cluster-other".into());
    ApplyCase {
        name: "Active model retagged by another cluster's take-over: NameConflict, no call",
        resource: resource(spec(), Some(status_in("Active"))),
        observation: observed(remote(ModelState::Active), Some(taken)),
        elapsed: None,
        actions: vec![],
        // Not this resource's model any more: its deletion leaves it alone.
        status: base(BedrockCustomModelStatus {
            model_arn: None,
            model_status: None,
            creation_time: None,
            created_with: None,
            ..status_in("Active")
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec!["of cluster cluster-other"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn adopt_model_held_by_a_gone_resource_is_claimed_with_owner_tags_replaced() {
    ApplyCase {
        name: "Adopt, model held by a resource that is gone: claimed, owner tags replaced",
        resource: resource(adopt(), None),
        observation: Observation {
            owner: Liveness::Gone,
            ..observed(remote(ModelState::Active), Some(team_b_tags()))
        },
        elapsed: None,
        actions: vec![Action::Claim {
            arn: ARN.into(),
            tags: remote_tags(&[("team", "ml")]),
        }],
        status: adopted_status("Active"),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Adopted", false), ("Active", false)],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn adopt_untagged_creating_model_gets_owner_tags_at_once() {
    let timing = Timing::default();
    ApplyCase {
        name: "Adopt, untagged model still Creating: the owner tags go on at once",
        resource: resource(adopt(), None),
        observation: observed(remote(ModelState::Creating), Some(BTreeMap::new())),
        elapsed: Some(Duration::ZERO),
        actions: vec![Action::Claim {
            arn: ARN.into(),
            tags: operator_tags(),
        }],
        status: BedrockCustomModelStatus {
            creation_time: None,
            managed_tag_keys: Vec::new(),
            ..adopted_status("Creating")
        },
        ready: (false, reason::CREATING),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![("Adopted", false)],
        next: Next::Poll(timing.poll_initial),
    }
    .check();
}

#[test]
fn never_adopt_model_held_by_another_resource_is_a_name_conflict_naming_it() {
    let timing = Timing::default();
    ApplyCase {
        name: "Never, model held by another resource: NameConflict naming it",
        resource: resource(spec(), None),
        observation: observed(remote(ModelState::Active), Some(team_b_tags())),
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            region: Some(REGION.into()),
            ..Default::default()
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec!["team-b/m", "adoptionPolicy"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn known_model_now_held_by_another_live_resource_is_let_go() {
    let timing = Timing::default();
    ApplyCase {
        name: "known model now held by another live resource: NameConflict, model let go",
        resource: resource(adopt(), Some(status_in("Active"))),
        observation: Observation {
            owner: Liveness::Alive,
            ..observed(remote(ModelState::Active), Some(team_b_tags()))
        },
        elapsed: None,
        actions: vec![],
        status: base(BedrockCustomModelStatus {
            model_arn: None,
            model_status: None,
            creation_time: None,
            created_with: None,
            ..status_in("Active")
        }),
        ready: (false, reason::NAME_CONFLICT),
        synced: (false, reason::NAME_CONFLICT),
        message: vec!["team-b/m"],
        events: vec![(reason::NAME_CONFLICT, true)],
        next: Next::After(timing.slow_retry),
    }
    .check();
}

#[test]
fn adoption_outside_the_allowed_namespaces_is_invalid_spec_before_any_call() {
    let adopt = resource(
        spec_with(|s| s.adoption_policy = AdoptionPolicy::Adopt),
        None,
    );
    let never = resource(spec(), None);
    let only_other: NamespaceScope = "team-b".parse().expect("a list");
    let only_ours: NamespaceScope = NAMESPACE.parse().expect("a list");
    let cases = [
        ("Adopt, all allowed", &adopt, NamespaceScope::All, false),
        ("Adopt, namespace listed", &adopt, only_ours, false),
        ("Adopt, none allowed", &adopt, NamespaceScope::None, true),
        ("Adopt, namespace not listed", &adopt, only_other, true),
        ("Never, none allowed", &never, NamespaceScope::None, false),
    ];
    for (name, resource, scope, refused) in cases {
        let plan = adoption_refused(resource, REGION, &scope);
        assert_eq!(plan.is_some(), refused, "{name}");
        let Some(plan) = plan else { continue };
        assert!(plan.actions.is_empty(), "{name}: no AWS call");
        assert_eq!(plan.next, Next::AwaitChange, "{name}");
        for type_ in [conditions::READY, conditions::SYNCED] {
            let c = condition(&plan, type_, name);
            assert_eq!(c.reason, reason::INVALID_SPEC, "{name}");
            assert!(
                c.message.contains("spec.adoptionPolicy"),
                "{name}: {}",
                c.message
            );
            assert!(c.message.contains(NAMESPACE), "{name}: {}", c.message);
        }
        assert_eq!(plan.events.len(), 1, "{name}: announced once");
    }
}

#[test]
fn the_owner_is_looked_up_only_when_the_tags_name_another_resource() {
    let me = resource(spec(), None);
    let cases = [
        ("untagged", BTreeMap::new(), false),
        ("ours", operator_tags(), false),
        ("another resource's", team_b_tags(), true),
        (
            "a bare owner-uid cannot be looked up",
            map(&[(tags::OWNER_UID, "uid-b")]),
            false,
        ),
    ];
    for (name, tags, look_up) in cases {
        let holder = ownership::owner_to_look_up(&Me::of(&me.metadata, CLUSTER), &tags);
        assert_eq!(holder.is_some(), look_up, "{name}");
    }
    let holder = ownership::owner_to_look_up(&Me::of(&me.metadata, CLUSTER), &team_b_tags())
        .expect("team-b's");
    assert_eq!(holder.to_string(), "team-b/m");
    assert_eq!(holder.uid, "uid-b");
}
