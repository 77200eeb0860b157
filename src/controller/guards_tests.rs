//! The tenant guards' decisions, one behaviour per named test.

use std::collections::HashMap;

use kube::api::ObjectMeta;

use super::*;
use crate::api::ModelRef;
use crate::api::throughput::{
    BedrockProvisionedThroughputSpec, BedrockProvisionedThroughputStatus, ThroughputCreatedWith,
};

const TEAM: &str = "team-a";

fn limited(per_throughput: Option<i32>, per_namespace: Option<i32>) -> Guards {
    Guards {
        max_model_units_per_throughput: per_throughput,
        max_model_units_per_namespace: per_namespace,
        ..Guards::default()
    }
}

fn with_override(guards: Guards, namespace: &str, overrides: NamespaceGuards) -> Guards {
    let mut guards = guards;
    guards.namespaces.insert(namespace.into(), overrides);
    guards
}

/// A throughput of TEAM with `units`, holding a provisioned model when `arn` is set.
fn throughput(name: &str, units: i32, arn: Option<&str>) -> BedrockProvisionedThroughput {
    BedrockProvisionedThroughput {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(TEAM.into()),
            uid: Some(format!("uid-{name}")),
            ..Default::default()
        },
        spec: BedrockProvisionedThroughputSpec {
            model_ref: Some(ModelRef {
                name: "nova".into(),
            }),
            model_units: units,
            ..Default::default()
        },
        status: arn.map(|arn| BedrockProvisionedThroughputStatus {
            provisioned_model_arn: Some(arn.into()),
            ..Default::default()
        }),
    }
}

fn holding(name: &str, units: i32) -> Holding {
    Holding {
        name: name.into(),
        units,
    }
}

#[test]
fn no_flag_and_no_file_means_no_limit_and_no_commitments() {
    let guards = Guards::default();
    assert_eq!(guards.units_per_throughput(TEAM), None);
    assert_eq!(guards.units_per_namespace(TEAM), None);
    assert_eq!(units_per_throughput_refused(&guards, TEAM, 1000), None);
    assert_eq!(
        namespace_budget_refused(&guards, TEAM, 1000, &[holding("a", 1000)]),
        None
    );
    assert!(
        commitment_namespace_refused(&guards, TEAM, CommitmentDuration::OneMonth).is_some(),
        "commitments are allowed nowhere by default"
    );
}

#[test]
fn a_namespace_override_wins_over_the_flag_and_names_itself() {
    let guards = with_override(
        limited(Some(4), Some(8)),
        TEAM,
        NamespaceGuards {
            max_model_units_per_throughput: Some(2),
            max_model_units_per_namespace: None,
            ..NamespaceGuards::default()
        },
    );
    let cases = [
        (
            "the override of the namespace",
            guards.units_per_throughput(TEAM),
            Some((2, Some(TEAM))),
        ),
        (
            "the flag elsewhere",
            guards.units_per_throughput("team-b"),
            Some((4, None)),
        ),
        (
            "a field the override leaves out keeps the flag",
            guards.units_per_namespace(TEAM),
            Some((8, None)),
        ),
    ];
    for (name, got, want) in cases {
        let got = got.map(|cap| (cap.units, cap.set_for));
        let want = want.map(|(units, ns)| (units, ns.map(str::to_string)));
        assert_eq!(got, want, "{name}");
    }
    let cap = guards.units_per_throughput(TEAM).expect("a cap");
    assert_eq!(
        cap.to_string(),
        "namespaces.team-a.maxModelUnitsPerThroughput of the operator's --guards-file (Helm guards.namespaces.team-a.maxModelUnitsPerThroughput)"
    );
    let flag = guards.units_per_namespace(TEAM).expect("a cap");
    assert_eq!(
        flag.to_string(),
        "the operator's --max-model-units-per-namespace (Helm guards.maxModelUnitsPerNamespace)"
    );
}

#[test]
fn an_override_also_limits_a_namespace_the_flags_leave_free() {
    let guards = with_override(
        Guards::default(),
        TEAM,
        NamespaceGuards {
            max_model_units_per_throughput: None,
            max_model_units_per_namespace: Some(3),
            ..NamespaceGuards::default()
        },
    );
    assert!(namespace_budget_refused(&guards, TEAM, 4, &[]).is_some());
    assert_eq!(namespace_budget_refused(&guards, "team-b", 4, &[]), None);
}

#[test]
fn units_per_throughput_cap() {
    let guards = limited(Some(4), None);
    let cases = [
        ("under the cap", 3, false),
        ("at the cap", 4, false),
        ("over the cap", 5, true),
    ];
    for (name, units, refused) in cases {
        assert_eq!(
            units_per_throughput_refused(&guards, TEAM, units).is_some(),
            refused,
            "{name}"
        );
    }
}

#[test]
fn a_refusal_per_throughput_names_the_field_the_setting_and_the_limit() {
    let error = units_per_throughput_refused(&limited(Some(4), None), TEAM, 5).expect("refused");
    assert_eq!(error.field, "spec.modelUnits");
    for part in [
        "is 5",
        "the 4 model units",
        "namespace team-a",
        "--max-model-units-per-throughput",
        "guards.maxModelUnitsPerThroughput",
        "set spec.modelUnits to 4 or fewer",
    ] {
        assert!(error.message.contains(part), "{part}: {}", error.message);
    }
}

#[test]
fn namespace_budget() {
    let guards = limited(None, Some(8));
    let cases = [
        ("alone, under the budget", 3, vec![], false),
        ("alone, over the budget", 9, vec![], true),
        (
            "with the others, up to the budget",
            3,
            vec![holding("a", 2), holding("b", 3)],
            false,
        ),
        (
            "with the others, one over",
            4,
            vec![holding("a", 2), holding("b", 3)],
            true,
        ),
        ("the others hold it all", 1, vec![holding("a", 8)], true),
    ];
    for (name, units, others, refused) in cases {
        assert_eq!(
            namespace_budget_refused(&guards, TEAM, units, &others).is_some(),
            refused,
            "{name}"
        );
    }
}

#[test]
fn a_budget_refusal_names_the_sum_the_holders_the_setting_and_what_fits() {
    let others = [holding("a", 2), holding("b", 3)];
    let error =
        namespace_budget_refused(&limited(None, Some(8)), TEAM, 4, &others).expect("refused");
    assert_eq!(error.field, "spec.modelUnits");
    for part in [
        "is 4",
        "already hold 5 model units (a 2, b 3)",
        "--max-model-units-per-namespace",
        "guards.maxModelUnitsPerNamespace",
        "allows 8 in all",
        "would make 9",
        "set spec.modelUnits to 3 or fewer",
    ] {
        assert!(error.message.contains(part), "{part}: {}", error.message);
    }
    let full = namespace_budget_refused(&limited(None, Some(8)), TEAM, 1, &[holding("a", 8)])
        .expect("refused");
    assert!(
        !full.message.contains("or fewer"),
        "nothing fits, so no smaller size is offered: {}",
        full.message
    );
}

#[test]
fn what_the_namespace_holds() {
    let mut reported = throughput("reported", 1, Some("arn:reported"));
    if let Some(status) = reported.status.as_mut() {
        // Bedrock's own figure wins over the spec.
        status.model_units = Some(3);
    }
    let mut adopted = throughput("adopted", 1, Some("arn:adopted"));
    if let Some(status) = adopted.status.as_mut() {
        status.created_with = Some(ThroughputCreatedWith {
            model_units: 5,
            ..Default::default()
        });
    }
    let listed = [
        throughput("this", 2, Some("arn:this")),
        throughput("bought", 2, Some("arn:bought")),
        throughput("waiting", 4, None),
        throughput("just-bought", 6, None),
        reported,
        adopted,
    ];
    let bought = HashMap::from([
        ("uid-just-bought".to_string(), 6),
        ("uid-gone".to_string(), 7),
    ]);
    assert_eq!(
        holdings(&listed, "uid-this", &bought),
        vec![
            holding("bought", 2),
            holding("just-bought", 6),
            holding("reported", 3),
            holding("adopted", 5),
        ],
        "itself, a throughput not bought, and one bought that is gone are not counted"
    );
}

#[test]
fn commitment_namespaces() {
    let cases = [
        ("none", NamespaceScope::None, true),
        ("all", NamespaceScope::All, false),
        (
            "listed",
            NamespaceScope::Namespaces([TEAM.into()].into()),
            false,
        ),
        (
            "not listed",
            NamespaceScope::Namespaces(["team-b".into()].into()),
            true,
        ),
    ];
    for (name, scope, refused) in cases {
        let guards = Guards {
            commitment_namespaces: scope,
            ..Guards::default()
        };
        assert_eq!(
            commitment_namespace_refused(&guards, TEAM, CommitmentDuration::SixMonths).is_some(),
            refused,
            "{name}"
        );
    }
}

#[test]
fn a_commitment_refusal_names_the_field_the_setting_and_the_namespace() {
    let error =
        commitment_namespace_refused(&Guards::default(), TEAM, CommitmentDuration::OneMonth)
            .expect("refused");
    assert_eq!(error.field, "spec.commitmentDuration");
    for part in [
        "is OneMonth",
        "--commitment-namespaces",
        "guards.commitmentNamespaces",
        "which is none",
        "namespace team-a",
        "remove commitmentDuration",
    ] {
        assert!(error.message.contains(part), "{part}: {}", error.message);
    }
}

#[test]
fn the_guards_file_format() {
    let text = "namespaces:\n  team-a:\n    maxModelUnitsPerThroughput: 2\n    maxModelUnitsPerNamespace: 6\n  team-b:\n    maxModelUnitsPerNamespace: 1\n";
    let parsed = Guards::parse(text).expect("a valid file");
    assert_eq!(
        parsed.namespaces,
        BTreeMap::from([
            (
                "team-a".to_string(),
                NamespaceGuards {
                    max_model_units_per_throughput: Some(2),
                    max_model_units_per_namespace: Some(6),
                    ..NamespaceGuards::default()
                }
            ),
            (
                "team-b".to_string(),
                NamespaceGuards {
                    max_model_units_per_throughput: None,
                    max_model_units_per_namespace: Some(1),
                    ..NamespaceGuards::default()
                }
            ),
        ])
    );
    for (name, text) in [("empty", ""), ("no namespaces", "namespaces: {}\n")] {
        let parsed = Guards::parse(text).expect("a valid file");
        assert_eq!(parsed, Guards::default(), "{name}");
    }
}

#[test]
fn a_guards_file_with_a_mistake_is_refused() {
    let cases = [
        (
            "a misspelt limit",
            "namespaces:\n  team-a:\n    maxModelUnitsPerThroughtput: 2\n",
            "unknown field",
        ),
        (
            "a flag's value in the file",
            "maxModelUnitsPerThroughput: 2\n",
            "unknown field",
        ),
        (
            "not a namespace name",
            "namespaces:\n  Team_A:\n    maxModelUnitsPerThroughput: 2\n",
            "not a namespace name",
        ),
        (
            "zero units",
            "namespaces:\n  team-a:\n    maxModelUnitsPerNamespace: 0\n",
            "1 or more",
        ),
        (
            "not a number",
            "namespaces:\n  team-a:\n    maxModelUnitsPerNamespace: many\n",
            "invalid type",
        ),
    ];
    for (name, text, want) in cases {
        let problem = match Guards::parse(text) {
            Ok(parsed) => panic!("{name}: accepted as {parsed:?}"),
            Err(FileError::Yaml(e)) => e.to_string(),
            Err(FileError::Invalid(problem)) => problem,
        };
        assert!(problem.contains(want), "{name}: {problem}");
    }
}

#[test]
fn reading_the_guards_file_keeps_the_flags() {
    let dir = std::env::temp_dir().join(format!("bedrock-operator-guards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("guards.yaml");
    std::fs::write(
        &path,
        "namespaces:\n  team-a:\n    maxModelUnitsPerNamespace: 3\n",
    )
    .expect("written");
    let guards = limited(Some(4), None).with_file(&path).expect("read");
    assert_eq!(guards.max_model_units_per_throughput, Some(4));
    assert_eq!(guards.units_per_namespace(TEAM).map(|c| c.units), Some(3));
    let missing = limited(None, None).with_file(&dir.join("absent.yaml"));
    assert!(
        matches!(missing, Err(GuardsError::Read { .. })),
        "{missing:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
