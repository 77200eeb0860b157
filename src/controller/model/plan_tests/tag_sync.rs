//! Tests of the tags of an Active model: made to match spec.tags, out-of-band tags spared, and
//! when the tags are read at all.

use super::*;

#[test]
fn active_with_tags_in_sync_and_out_of_band_tag_does_nothing() {
    ApplyCase {
        name: "Active, tags in sync, out-of-band tag present: nothing to do",
        resource: resource(spec(), Some(status_in("Active"))),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![],
        status: base(status_in("Active")),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_spec_tag_added_is_tagged() {
    ApplyCase {
        name: "Active, spec tag added",
        resource: resource(two_tags(), Some(status_in("Active"))),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![Action::Tag {
            arn: ARN.into(),
            tags: map(&[("env", "prod")]),
        }],
        status: base(status_with("Active", |st| {
            st.managed_tag_keys = keys(&["env", "team"])
        })),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_spec_tag_value_changed_is_tagged() {
    ApplyCase {
        name: "Active, spec tag value changed",
        resource: resource(
            spec_with(|s| s.tags = map(&[("team", "data")])),
            Some(status_in("Active")),
        ),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![Action::Tag {
            arn: ARN.into(),
            tags: map(&[("team", "data")]),
        }],
        status: base(status_in("Active")),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_spec_tag_removed_untags_only_that_key() {
    ApplyCase {
        name: "Active, spec tag removed: untag only that key",
        resource: resource(
            spec_with(|s| s.tags = BTreeMap::new()),
            Some(status_in("Active")),
        ),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("cost-center", "42")])),
        ),
        elapsed: None,
        actions: vec![Action::Untag {
            arn: ARN.into(),
            keys: keys(&["team"]),
        }],
        status: base(status_with("Active", |st| st.managed_tag_keys = Vec::new())),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_tags_added_changed_removed_at_once_and_operator_tag_restored() {
    ApplyCase {
        name: "Active, added, changed and removed at once; operator tag restored",
        resource: resource(
            spec_with(|s| s.tags = map(&[("team", "data"), ("env", "prod")])),
            Some(status_with("Active", |st| {
                st.managed_tag_keys = keys(&["team", "owner"])
            })),
        ),
        observation: observed(
            remote(ModelState::Active),
            Some(map(&[
                (tags::OWNER_UID, UID),
                ("team", "ml"),
                ("owner", "alice"),
                ("cost-center", "42"),
            ])),
        ),
        elapsed: None,
        actions: vec![
            Action::Tag {
                arn: ARN.into(),
                tags: map(&[
                    ("env", "prod"),
                    ("team", "data"),
                    (tags::OWNER, "ml/my-model"),
                    // Tagged before cluster identity: the cluster tag is added.
                    (tags::CLUSTER, CLUSTER),
                ]),
            },
            Action::Untag {
                arn: ARN.into(),
                keys: keys(&["owner"]),
            },
        ],
        status: base(status_with("Active", |st| {
            st.managed_tag_keys = keys(&["env", "team"])
        })),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn active_out_of_band_tag_with_a_spec_key_is_overwritten_not_removed() {
    ApplyCase {
        name: "Active, out-of-band tag with a key the spec now names: overwritten, not removed",
        resource: resource(two_tags(), Some(status_in("Active"))),
        observation: observed(
            remote(ModelState::Active),
            Some(remote_tags(&[("team", "ml"), ("env", "dev")])),
        ),
        elapsed: None,
        actions: vec![Action::Tag {
            arn: ARN.into(),
            tags: map(&[("env", "prod")]),
        }],
        status: base(status_with("Active", |st| {
            st.managed_tag_keys = keys(&["env", "team"])
        })),
        ready: (true, reason::ACTIVE),
        synced: (true, reason::RECONCILED),
        message: vec![NAME],
        events: vec![],
        next: Next::Resync,
    }
    .check();
}

#[test]
fn tags_are_read_only_when_they_may_differ_from_the_spec() {
    let synced = |generation: Option<i64>| {
        resource(
            spec(),
            Some(status_with("Active", |st| {
                st.tags_synced_generation = generation
            })),
        )
    };
    let by_arn = Lookup::ByArn(ARN.into());
    let by_name = Lookup::ByName(NAME.into());
    let cases = [
        // (case, resource, lookup, model state, drift check due, read tags)
        (
            "found by name: whose is it?",
            synced(None),
            &by_name,
            ModelState::Creating,
            false,
            true,
        ),
        (
            "Active, tags of this generation on the model",
            synced(Some(GENERATION)),
            &by_arn,
            ModelState::Active,
            false,
            false,
        ),
        (
            "Active, the drift check is due",
            synced(Some(GENERATION)),
            &by_arn,
            ModelState::Active,
            true,
            true,
        ),
        (
            "Active, spec changed since the tags were set",
            synced(Some(GENERATION - 1)),
            &by_arn,
            ModelState::Active,
            false,
            true,
        ),
        (
            "Active, written by an older operator (no tagsSyncedGeneration)",
            synced(None),
            &by_arn,
            ModelState::Active,
            false,
            true,
        ),
        (
            "Creating",
            synced(Some(GENERATION - 1)),
            &by_arn,
            ModelState::Creating,
            true,
            false,
        ),
        (
            "Failed",
            synced(Some(GENERATION - 1)),
            &by_arn,
            ModelState::Failed,
            true,
            false,
        ),
    ];
    for (case, resource, lookup, state, due, want) in cases {
        assert_eq!(
            needs_tags(&resource, lookup, &remote(state), due),
            want,
            "{case}"
        );
    }
}
