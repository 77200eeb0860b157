//! Tests of the tenant guards (allowed roles and KMS keys) on a model: `guards_refused`, and
//! the deletion of a model a guard refused.

use super::*;

#[test]
fn a_role_or_key_outside_the_allowed_patterns_is_invalid_spec_before_any_call() {
    use crate::controller::guards::{Guards, NamespaceGuards};
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
    let role = spec().role_arn.clone().unwrap_or_default();
    let with_key = resource(spec_with(|s| s.kms_key_arn = Some(KEY.into())), None);
    let plain = resource(spec(), None);
    let only = |patterns: &str| patterns.parse().expect("patterns");
    let team_roles = Guards {
        allowed_role_arns: only("arn:aws:iam::*:role/team-*"),
        ..Guards::default()
    };
    let other_keys = Guards {
        allowed_kms_key_arns: only("arn:aws:kms:*:999999999999:key/*"),
        ..Guards::default()
    };
    let our_namespace_may = Guards {
        namespaces: [(
            NAMESPACE.to_string(),
            NamespaceGuards {
                allowed_role_arns: Some(only(&role)),
                ..NamespaceGuards::default()
            },
        )]
        .into(),
        ..team_roles.clone()
    };
    let cases: [(&str, &BedrockCustomModel, &Guards, &[&str]); 6] = [
        (
            "defaults allow anything",
            &with_key,
            &Guards::default(),
            &[],
        ),
        (
            "role outside the global patterns",
            &plain,
            &team_roles,
            &["spec.roleArn", "--allowed-role-arns"],
        ),
        (
            "the namespace's list allows it",
            &plain,
            &our_namespace_may,
            &[],
        ),
        (
            "key outside the patterns",
            &with_key,
            &other_keys,
            &["spec.kmsKeyArn", "--allowed-kms-key-arns"],
        ),
        ("no key, nothing to refuse", &plain, &other_keys, &[]),
        (
            "both refused, both named",
            &with_key,
            &Guards {
                allowed_kms_key_arns: only("x"),
                ..team_roles.clone()
            },
            &["spec.roleArn", "spec.kmsKeyArn"],
        ),
    ];
    for (name, resource, guards, named) in cases {
        let plan = guards_refused(resource, REGION, guards);
        assert_eq!(plan.is_some(), !named.is_empty(), "{name}");
        let Some(plan) = plan else { continue };
        assert!(plan.actions.is_empty(), "{name}: no AWS call");
        assert_eq!(plan.next, Next::AwaitChange, "{name}");
        let c = condition(&plan, conditions::SYNCED, name);
        assert_eq!(c.reason, reason::INVALID_SPEC, "{name}");
        assert!(
            c.message
                .starts_with("the spec is invalid, so nothing was sent to AWS"),
            "{name}: {}",
            c.message
        );
        for part in named {
            assert!(c.message.contains(part), "{name}: {part}: {}", c.message);
        }
    }
}

#[test]
fn deleting_a_model_a_guard_refused_needs_no_call() {
    // A valid spec refused by a tenant guard (InvalidSpec at this generation): never created.
    assert_eq!(
        cleanup_of(resource(
            spec(),
            Some(no_arn(reason::INVALID_SPEC, GENERATION))
        )),
        Cleanup::Nothing
    );
}
