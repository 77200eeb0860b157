//! docs/iam-policy.json is valid JSON and allows every Bedrock operation the operator calls,
//! and passes roles to Bedrock only.

use bedrock_operator::bedrock::operation;
use serde_json::Value;

fn policy() -> Value {
    serde_json::from_str(include_str!("../docs/iam-policy.json"))
        .expect("docs/iam-policy.json is valid JSON")
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

#[test]
fn policy_allows_every_operation_the_operator_calls() {
    let policy = policy();
    assert_eq!(policy["Version"], "2012-10-17");
    let allowed: Vec<String> = policy["Statement"]
        .as_array()
        .expect("Statement is a list")
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(actions)
        .collect();
    for op in operation::ALL {
        let action = format!("bedrock:{op}");
        assert!(
            allowed.contains(&action),
            "docs/iam-policy.json does not allow {action}"
        );
    }
    for action in &allowed {
        assert!(!action.contains('*'), "no wildcard actions: {action}");
    }
}

#[test]
fn roles_are_passed_to_bedrock_only() {
    let policy = policy();
    let statements = policy["Statement"].as_array().expect("Statement is a list");
    let pass_role: Vec<&Value> = statements
        .iter()
        .filter(|s| actions(s).iter().any(|a| a == "iam:PassRole"))
        .collect();
    assert_eq!(pass_role.len(), 1);
    assert_eq!(
        pass_role[0]["Condition"]["StringEquals"]["iam:PassedToService"],
        "bedrock.amazonaws.com"
    );
}
