//! docs/iam-policy.json is valid JSON, allows exactly the Bedrock operations the operator calls
//! (`Operation::ALL`), and passes roles to Bedrock only.

use std::collections::BTreeSet;

use bedrock_operator::bedrock::Operation;
use serde_json::Value;

fn policy() -> Value {
    serde_json::from_str(include_str!("../docs/iam-policy.json"))
        .expect("docs/iam-policy.json is valid JSON")
}

fn statements(policy: &Value) -> &Vec<Value> {
    policy["Statement"].as_array().expect("Statement is a list")
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(action) => vec![action.clone()],
        Value::Array(actions) => actions
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every action an Allow statement grants.
fn allowed(policy: &Value) -> Vec<String> {
    statements(policy)
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(actions)
        .collect()
}

/// The IAM actions of the Bedrock calls the code makes.
fn called() -> BTreeSet<String> {
    Operation::ALL.iter().map(|op| op.iam_action()).collect()
}

#[test]
fn policy_is_a_current_iam_policy() {
    assert_eq!(policy()["Version"], "2012-10-17");
}

#[test]
fn policy_allows_every_operation_the_operator_calls() {
    let allowed = allowed(&policy());
    let missing: Vec<String> = called()
        .into_iter()
        .filter(|action| !allowed.contains(action))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/iam-policy.json does not allow {missing:?}"
    );
}

#[test]
fn policy_allows_no_bedrock_operation_the_operator_does_not_call() {
    let called = called();
    let extra: Vec<String> = allowed(&policy())
        .into_iter()
        .filter(|action| action.starts_with("bedrock:") && !called.contains(action))
        .collect();
    assert!(
        extra.is_empty(),
        "docs/iam-policy.json allows {extra:?}, which the operator never calls"
    );
}

#[test]
fn policy_has_no_wildcard_actions() {
    for action in allowed(&policy()) {
        assert!(!action.contains('*'), "no wildcard actions: {action}");
    }
}

#[test]
fn policy_grants_each_action_once() {
    let allowed = allowed(&policy());
    let distinct: BTreeSet<&String> = allowed.iter().collect();
    assert_eq!(distinct.len(), allowed.len(), "{allowed:?}");
}

#[test]
fn roles_are_passed_to_bedrock_only() {
    let policy = policy();
    let pass_role: Vec<&Value> = statements(&policy)
        .iter()
        .filter(|s| actions(s).iter().any(|a| a == "iam:PassRole"))
        .collect();
    assert_eq!(pass_role.len(), 1);
    assert_eq!(
        pass_role[0]["Condition"]["StringEquals"]["iam:PassedToService"],
        "bedrock.amazonaws.com"
    );
}
