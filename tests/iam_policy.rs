//! docs/iam-policy.json allows exactly the Bedrock operations the operator calls
//! (`Operation::ALL`), lets the operator's identity change only the Bedrock objects that carry
//! its owner-uid tag (or create and adopt objects only by setting that tag), never lets it remove
//! its own tags, and passes only the roles under the documented path, to Bedrock only.
//!
//! Which condition keys Bedrock supports for which action and resource type comes from the
//! Service Authorization Reference ("Actions, resources, and condition keys for Amazon
//! Bedrock"); docs/security.md cites it. Besides structural checks, a small evaluator below
//! answers "would IAM allow this call?" for the few policy elements the file uses, so that the
//! tests can state what the operator may and may not do.

use std::collections::BTreeSet;

use bedrock_operator::api::tags::{OPERATOR_PREFIX, OWNER, OWNER_UID};
use bedrock_operator::bedrock::Operation;
use serde_json::Value;

/// The roles the operator may pass: those under the IAM path `/bedrock-operator/`
/// (docs/security.md says how to choose another).
const ROLE_PATH: &str = "/bedrock-operator/";
const PASSABLE_ROLES: &str = "arn:aws:iam::*:role/bedrock-operator/*";

const MODEL: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdef123456";
const DEPLOYMENT: &str =
    "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdef123456";
const THROUGHPUT: &str = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdef123456";
const IMPORTED_MODEL: &str = "arn:aws:bedrock:us-east-1:123456789012:imported-model/abcdef123456";
/// A model import job: the operator's tags go on it too, and Bedrock keeps it after the model.
const IMPORT_JOB: &str = "arn:aws:bedrock:us-east-1:123456789012:model-import-job/abcdef123456";
const FOUNDATION_MODEL: &str = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";
/// An action with no resource type (CreateCustomModel, the List calls) is authorized on `*`.
const NO_RESOURCE_TYPE: &str = "*";

/// The tags the operator puts on every object it creates or adopts.
const OWNER_TAGS: &[(&str, &str)] = &[
    (OWNER, "ml-platform/nova-support"),
    (OWNER_UID, "6f1c2a9e-0d3b-4c1e-9a57-2b8e4f0c7d11"),
];
/// A user's tag from spec.tags.
const SPEC_TAG: (&str, &str) = ("team", "ml-platform");

/// Mutating grants made on purpose without the owner-uid condition, and why. docs/security.md
/// lists the same. Each is the *other* resource of a call that acts on an object the operator
/// owns: UpdateCustomModelDeployment and UpdateProvisionedModelThroughput are authorized both
/// on the deployment or throughput (which must carry the owner-uid tag) and on the model it is
/// swapped to.
const UNCONDITIONED: &[(&str, &str, &str)] = &[
    (
        "bedrock:UpdateCustomModelDeployment",
        "arn:aws:bedrock:*:*:custom-model/*",
        "the model a deployment is swapped to: spec.modelArn may name any custom model, \
         tagged by the operator or not (Bedrock supports aws:ResourceTag here; not using it is a choice)",
    ),
    (
        "bedrock:UpdateProvisionedModelThroughput",
        "arn:aws:bedrock:*:*:custom-model/*",
        "the custom model a throughput is swapped to: spec.modelId may name any custom model \
         (Bedrock supports aws:ResourceTag here; not using it is a choice)",
    ),
    (
        "bedrock:UpdateProvisionedModelThroughput",
        "arn:aws:bedrock:*::foundation-model/*",
        "the foundation model a throughput is swapped to: foundation models carry no tags, \
         Bedrock has no aws:ResourceTag for them",
    ),
];

fn policy() -> Value {
    serde_json::from_str(include_str!("../docs/iam-policy.json"))
        .expect("docs/iam-policy.json is valid JSON")
}

fn security_doc() -> &'static str {
    include_str!("../docs/security.md")
}

fn statements(policy: &Value) -> &Vec<Value> {
    policy["Statement"].as_array().expect("Statement is a list")
}

/// A policy element that is a string or a list of strings.
fn strings(element: &Value) -> Vec<String> {
    match element {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn actions(statement: &Value) -> Vec<String> {
    strings(&statement["Action"])
}

fn resources(statement: &Value) -> Vec<String> {
    strings(&statement["Resource"])
}

fn allow_statements(policy: &Value) -> impl Iterator<Item = &Value> {
    statements(policy).iter().filter(|s| s["Effect"] == "Allow")
}

/// The Allow statements that grant `action`.
fn granting<'p>(policy: &'p Value, action: &str) -> Vec<&'p Value> {
    allow_statements(policy)
        .filter(|s| actions(s).iter().any(|a| a == action))
        .collect()
}

/// Every action an Allow statement grants.
fn allowed(policy: &Value) -> Vec<String> {
    allow_statements(policy).flat_map(actions).collect()
}

/// The IAM actions of the Bedrock calls the code makes.
fn called() -> BTreeSet<String> {
    Operation::ALL.iter().map(|op| op.iam_action()).collect()
}

/// Whether the statement requires the condition key to be present (`"Null": {key: "false"}`).
fn requires_present(statement: &Value, key: &str) -> bool {
    statement["Condition"]["Null"][key] == "false"
}

fn request_owner_uid() -> String {
    format!("aws:RequestTag/{OWNER_UID}")
}

fn resource_owner_uid() -> String {
    format!("aws:ResourceTag/{OWNER_UID}")
}

/// Operations that create an object; the request must carry the owner tags.
fn creates(op: Operation) -> bool {
    op.as_str().starts_with("Create")
}

/// Operations that change or delete an existing object, other than TagResource (which also
/// adopts, see its own test).
fn changes_an_existing_object(op: Operation) -> bool {
    ["Update", "Delete", "Untag"]
        .iter()
        .any(|prefix| op.as_str().starts_with(prefix))
}

fn mutates(op: Operation) -> bool {
    creates(op) || changes_an_existing_object(op) || op == Operation::TagResource
}

/// The resources IAM authorizes each call against, per the Service Authorization Reference:
/// the object the call acts on first, then the kinds of model it may name, if any. A new operation fails
/// to compile here until its resources are stated.
fn authorized_on(op: Operation) -> &'static [&'static str] {
    use Operation::*;
    match op {
        CreateCustomModel | ListCustomModels | ListCustomModelDeployments => &[NO_RESOURCE_TYPE],
        GetCustomModel | DeleteCustomModel => &[MODEL],
        ListTagsForResource | TagResource | UntagResource => {
            &[MODEL, DEPLOYMENT, THROUGHPUT, IMPORTED_MODEL, IMPORT_JOB]
        }
        CreateCustomModelDeployment => &[MODEL],
        GetCustomModelDeployment | DeleteCustomModelDeployment => &[DEPLOYMENT],
        UpdateCustomModelDeployment => &[DEPLOYMENT, MODEL],
        CreateProvisionedModelThroughput => &[MODEL, FOUNDATION_MODEL],
        GetProvisionedModelThroughput | DeleteProvisionedModelThroughput => &[THROUGHPUT],
        UpdateProvisionedModelThroughput => &[THROUGHPUT, MODEL, FOUNDATION_MODEL],
        // The policy grants it on `*` with the request-tag condition, whichever of the job and
        // the model it is authorized against.
        CreateModelImportJob => &[IMPORT_JOB, IMPORTED_MODEL],
        GetModelImportJob => &[IMPORT_JOB],
        GetImportedModel | DeleteImportedModel => &[IMPORTED_MODEL],
    }
}

// --- A small IAM evaluator, for the elements docs/iam-policy.json uses ---

/// One call as IAM sees it, on one of the resources it is authorized against.
#[derive(Clone, Debug, Default)]
struct Call<'a> {
    action: &'a str,
    resource: &'a str,
    /// The tags the resource carries (aws:ResourceTag/…).
    resource_tags: Vec<(&'a str, &'a str)>,
    /// The tags the request sets (aws:RequestTag/…; their keys are aws:TagKeys).
    request_tags: Vec<(&'a str, &'a str)>,
    /// The keys an UntagResource removes (aws:TagKeys).
    removed_keys: Vec<&'a str>,
    /// iam:PassedToService, for iam:PassRole.
    passed_to_service: Option<&'a str>,
}

impl<'a> Call<'a> {
    fn new(action: &'a str, resource: &'a str) -> Self {
        Self {
            action,
            resource,
            ..Self::default()
        }
    }

    fn on_owned_object(mut self) -> Self {
        if self.resource != FOUNDATION_MODEL && self.resource != NO_RESOURCE_TYPE {
            self.resource_tags = OWNER_TAGS.to_vec();
        }
        self
    }

    fn setting(mut self, tags: &[(&'a str, &'a str)]) -> Self {
        self.request_tags = tags.to_vec();
        self
    }

    fn removing(mut self, keys: &[&'a str]) -> Self {
        self.removed_keys = keys.to_vec();
        self
    }

    /// The values of a condition key in this call's context; None when it is absent.
    fn values(&self, key: &str) -> Option<Vec<&'a str>> {
        let tag = |tags: &[(&'a str, &'a str)], wanted: &str| {
            tags.iter()
                .find(|(k, _)| *k == wanted)
                .map(|(_, v)| vec![*v])
        };
        if key == "aws:TagKeys" {
            let keys: Vec<&str> = if self.request_tags.is_empty() {
                self.removed_keys.clone()
            } else {
                self.request_tags.iter().map(|(k, _)| *k).collect()
            };
            return (!keys.is_empty()).then_some(keys);
        }
        if let Some(wanted) = key.strip_prefix("aws:RequestTag/") {
            return tag(&self.request_tags, wanted);
        }
        if let Some(wanted) = key.strip_prefix("aws:ResourceTag/") {
            return tag(&self.resource_tags, wanted);
        }
        if key == "iam:PassedToService" {
            return self.passed_to_service.map(|service| vec![service]);
        }
        panic!("the evaluator does not know the condition key {key}");
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Allowed,
    /// No Allow statement applies.
    ImplicitlyDenied,
    /// A Deny statement applies.
    ExplicitlyDenied,
}

/// `*` matches any run of characters, `?` one.
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

/// IAM matches an ARN pattern segment by segment: a wildcard never spans the `:` between
/// partition, service, region, account and resource.
fn arn_like(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn: Vec<&str> = arn.splitn(6, ':').collect();
    pattern.len() == 6 && arn.len() == 6 && pattern.iter().zip(&arn).all(|(p, a)| glob(p, a))
}

fn condition_holds(operator: &str, key: &str, expected: &Value, call: &Call) -> bool {
    let expected = strings(expected);
    let values = call.values(key);
    match operator {
        "Null" => {
            let absent = values.is_none();
            expected.iter().all(|e| (e == "true") == absent)
        }
        "StringEquals" => values.is_some_and(|values| {
            values
                .iter()
                .all(|value| expected.iter().any(|e| e.as_str() == *value))
        }),
        "StringLike" => values.is_some_and(|values| {
            values
                .iter()
                .all(|value| expected.iter().any(|e| glob(e, value)))
        }),
        "ForAnyValue:StringLike" => values.is_some_and(|values| {
            values
                .iter()
                .any(|value| expected.iter().any(|e| glob(e, value)))
        }),
        other => panic!("the evaluator does not know the condition operator {other}"),
    }
}

fn applies(statement: &Value, call: &Call) -> bool {
    for unsupported in ["NotAction", "NotResource", "Principal", "NotPrincipal"] {
        assert!(
            statement.get(unsupported).is_none(),
            "the evaluator does not know {unsupported}: {statement}"
        );
    }
    let conditions = statement["Condition"].as_object();
    actions(statement).iter().any(|a| glob(a, call.action))
        && resources(statement)
            .iter()
            .any(|r| arn_like(r, call.resource))
        && conditions.is_none_or(|conditions| {
            conditions.iter().all(|(operator, keys)| {
                keys.as_object()
                    .expect("a condition maps keys to values")
                    .iter()
                    .all(|(key, expected)| condition_holds(operator, key, expected, call))
            })
        })
}

fn decide(policy: &Value, call: &Call) -> Decision {
    let applying = |effect: &str| {
        statements(policy)
            .iter()
            .any(|s| s["Effect"] == effect && applies(s, call))
    };
    if applying("Deny") {
        Decision::ExplicitlyDenied
    } else if applying("Allow") {
        Decision::Allowed
    } else {
        Decision::ImplicitlyDenied
    }
}

// --- What the operator calls ---

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
fn policy_allows_no_action_the_operator_does_not_call() {
    let mut needed = called();
    needed.insert("iam:PassRole".to_string());
    let extra: BTreeSet<String> = allowed(&policy())
        .into_iter()
        .filter(|action| !needed.contains(action))
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
fn every_statement_explains_itself_with_a_distinct_sid() {
    let policy = policy();
    let sids: Vec<&str> = statements(&policy)
        .iter()
        .map(|s| s["Sid"].as_str().expect("every statement has a Sid"))
        .collect();
    let distinct: BTreeSet<&str> = sids.iter().copied().collect();
    assert_eq!(distinct.len(), sids.len(), "{sids:?}");
}

// --- Tag conditions, statement by statement ---

#[test]
fn creates_require_the_owner_uid_tag_in_the_request() {
    let policy = policy();
    for op in Operation::ALL.into_iter().filter(|op| creates(*op)) {
        let action = op.iam_action();
        let grants = granting(&policy, &action);
        assert!(!grants.is_empty(), "{action} is not allowed");
        for statement in grants {
            assert!(
                requires_present(statement, &request_owner_uid())
                    || documented_unconditioned(&action, statement),
                "{action} is allowed without {} in the request: {statement}",
                request_owner_uid()
            );
        }
    }
}

#[test]
fn updates_deletes_and_untags_require_the_owner_uid_tag_on_the_object() {
    let policy = policy();
    for op in Operation::ALL
        .into_iter()
        .filter(|op| changes_an_existing_object(*op))
    {
        let action = op.iam_action();
        let grants = granting(&policy, &action);
        assert!(!grants.is_empty(), "{action} is not allowed");
        for statement in grants {
            assert!(
                requires_present(statement, &resource_owner_uid())
                    || documented_unconditioned(&action, statement),
                "{action} is allowed on objects without {}: {statement}",
                resource_owner_uid()
            );
        }
    }
}

#[test]
fn tag_resource_requires_the_owner_uid_tag_on_the_object_or_in_the_request() {
    let policy = policy();
    let grants = granting(&policy, "bedrock:TagResource");
    for statement in &grants {
        assert!(
            requires_present(statement, &resource_owner_uid())
                || requires_present(statement, &request_owner_uid()),
            "TagResource is allowed with the owner-uid tag neither on the object nor in the \
             request: {statement}"
        );
    }
    // Both ways are needed: spec.tags go onto the operator's objects, adoption claims others.
    assert!(
        grants
            .iter()
            .any(|s| requires_present(s, &resource_owner_uid())),
        "TagResource is never allowed on the operator's own objects"
    );
    assert!(
        grants
            .iter()
            .any(|s| requires_present(s, &request_owner_uid())),
        "TagResource is never allowed for adoption"
    );
}

/// Whether every resource of the statement is a documented unconditioned grant of `action`.
fn documented_unconditioned(action: &str, statement: &Value) -> bool {
    statement.get("Condition").is_none()
        && resources(statement).iter().all(|resource| {
            UNCONDITIONED
                .iter()
                .any(|(a, r, _)| *a == action && *r == resource.as_str())
        })
}

#[test]
fn the_unconditioned_grants_are_in_the_policy_and_in_docs_security_md() {
    let policy = policy();
    for (action, resource, why) in UNCONDITIONED {
        assert!(
            granting(&policy, action).iter().any(|s| s
                .get("Condition")
                .is_none()
                && resources(s).iter().any(|r| r == resource)),
            "the table names {action} on {resource} ({why}), which the policy does not grant"
        );
        let name = action.trim_start_matches("bedrock:");
        assert!(
            security_doc().contains(name) && security_doc().contains(resource),
            "docs/security.md does not explain why {name} is allowed on {resource} \
             without a tag condition: {why}"
        );
    }
}

// --- What the operator may and may not do ---

#[test]
fn the_operator_may_do_every_call_on_what_it_owns() {
    let policy = policy();
    for op in Operation::ALL {
        let action = op.iam_action();
        for resource in authorized_on(op) {
            let mut call = Call::new(&action, resource).on_owned_object();
            if creates(op) || op == Operation::TagResource {
                call = call.setting(&[OWNER_TAGS[0], OWNER_TAGS[1], SPEC_TAG]);
            }
            if op == Operation::UntagResource {
                call = call.removing(&[SPEC_TAG.0]);
            }
            assert_eq!(decide(&policy, &call), Decision::Allowed, "{call:?}");
        }
    }
}

#[test]
fn objects_without_an_owner_uid_tag_cannot_be_changed_or_deleted() {
    let policy = policy();
    for op in Operation::ALL
        .into_iter()
        .filter(|op| changes_an_existing_object(*op) || *op == Operation::TagResource)
    {
        let action = op.iam_action();
        let acted_on = match op {
            Operation::TagResource | Operation::UntagResource => authorized_on(op),
            _ => &authorized_on(op)[..1],
        };
        for resource in acted_on {
            let mut call = Call::new(&action, resource);
            call.resource_tags = vec![SPEC_TAG];
            if op == Operation::TagResource {
                call = call.setting(&[SPEC_TAG]);
            }
            if op == Operation::UntagResource {
                call = call.removing(&[SPEC_TAG.0]);
            }
            assert_ne!(decide(&policy, &call), Decision::Allowed, "{call:?}");
        }
    }
}

#[test]
fn creates_without_the_owner_uid_tag_are_refused() {
    let policy = policy();
    for op in Operation::ALL.into_iter().filter(|op| creates(*op)) {
        let action = op.iam_action();
        for resource in authorized_on(op) {
            let call = Call::new(&action, resource).setting(&[OWNER_TAGS[0], SPEC_TAG]);
            assert_ne!(decide(&policy, &call), Decision::Allowed, "{call:?}");
        }
    }
}

#[test]
fn adoption_tags_an_untagged_object_with_its_owner_uid() {
    let policy = policy();
    let cluster = format!("{OPERATOR_PREFIX}cluster");
    for object in authorized_on(Operation::TagResource) {
        let call = Call::new("bedrock:TagResource", object).setting(&[
            OWNER_TAGS[0],
            OWNER_TAGS[1],
            (&cluster, "prod-eu"),
            SPEC_TAG,
        ]);
        assert_eq!(decide(&policy, &call), Decision::Allowed, "{call:?}");
    }
}

#[test]
fn an_owned_deployment_or_throughput_can_be_swapped_to_a_model_the_operator_did_not_tag() {
    let policy = policy();
    let swaps = [
        (Operation::UpdateCustomModelDeployment, DEPLOYMENT, MODEL),
        (
            Operation::UpdateProvisionedModelThroughput,
            THROUGHPUT,
            MODEL,
        ),
        (
            Operation::UpdateProvisionedModelThroughput,
            THROUGHPUT,
            FOUNDATION_MODEL,
        ),
    ];
    for (op, object, model) in swaps {
        let action = op.iam_action();
        let on_object = Call::new(&action, object).on_owned_object();
        let on_model = Call::new(&action, model);
        assert_eq!(
            decide(&policy, &on_object),
            Decision::Allowed,
            "{on_object:?}"
        );
        assert_eq!(
            decide(&policy, &on_model),
            Decision::Allowed,
            "{on_model:?}"
        );
    }
}

#[test]
fn reads_need_no_tag() {
    let policy = policy();
    for op in Operation::ALL.into_iter().filter(|op| !mutates(*op)) {
        let action = op.iam_action();
        for resource in authorized_on(op) {
            let call = Call::new(&action, resource);
            assert_eq!(decide(&policy, &call), Decision::Allowed, "{call:?}");
        }
    }
}

#[test]
fn untagging_the_operators_own_tags_is_denied() {
    let policy = policy();
    let cluster = format!("{OPERATOR_PREFIX}cluster");
    for object in authorized_on(Operation::UntagResource) {
        for keys in [
            vec![OWNER_UID],
            vec![OWNER],
            vec![cluster.as_str()],
            vec![SPEC_TAG.0, OWNER_UID],
        ] {
            let call = Call::new("bedrock:UntagResource", object)
                .on_owned_object()
                .removing(&keys);
            assert_eq!(
                decide(&policy, &call),
                Decision::ExplicitlyDenied,
                "{call:?}"
            );
        }
    }
}

#[test]
fn untagging_a_users_tag_from_an_owned_object_is_allowed() {
    let policy = policy();
    for object in authorized_on(Operation::UntagResource) {
        let call = Call::new("bedrock:UntagResource", object)
            .on_owned_object()
            .removing(&[SPEC_TAG.0]);
        assert_eq!(decide(&policy, &call), Decision::Allowed, "{call:?}");
    }
}

// --- iam:PassRole ---

fn pass_role_statements(policy: &Value) -> Vec<&Value> {
    granting(policy, "iam:PassRole")
}

#[test]
fn roles_are_passed_to_bedrock_only() {
    let policy = policy();
    let pass_role = pass_role_statements(&policy);
    assert_eq!(pass_role.len(), 1, "{pass_role:?}");
    assert_eq!(
        pass_role[0]["Condition"]["StringEquals"]["iam:PassedToService"],
        "bedrock.amazonaws.com"
    );
}

#[test]
fn only_roles_under_the_documented_path_can_be_passed() {
    let policy = policy();
    let pass_role = pass_role_statements(&policy);
    assert_eq!(pass_role.len(), 1, "{pass_role:?}");
    assert_eq!(resources(pass_role[0]), vec![PASSABLE_ROLES.to_string()]);
    assert!(
        security_doc().contains(ROLE_PATH) && security_doc().contains(PASSABLE_ROLES),
        "docs/security.md does not document the role path {ROLE_PATH} ({PASSABLE_ROLES})"
    );

    let pass = |role: &'static str, service: &'static str| Call {
        passed_to_service: Some(service),
        ..Call::new("iam:PassRole", role)
    };
    let under_path = "arn:aws:iam::123456789012:role/bedrock-operator/BedrockModelImport";
    let nested = "arn:aws:iam::123456789012:role/bedrock-operator/team-a/BedrockModelImport";
    let elsewhere = "arn:aws:iam::123456789012:role/BedrockModelImport";
    let admin = "arn:aws:iam::123456789012:role/admin/bedrock-operator";
    let bedrock = "bedrock.amazonaws.com";
    assert_eq!(
        decide(&policy, &pass(under_path, bedrock)),
        Decision::Allowed
    );
    assert_eq!(decide(&policy, &pass(nested, bedrock)), Decision::Allowed);
    for refused in [
        pass(elsewhere, bedrock),
        pass(admin, bedrock),
        pass(under_path, "ec2.amazonaws.com"),
    ] {
        assert_ne!(decide(&policy, &refused), Decision::Allowed, "{refused:?}");
    }
}

// --- The evaluator itself ---

#[test]
fn the_evaluator_matches_arns_segment_by_segment() {
    assert!(arn_like("arn:aws:bedrock:*:*:custom-model/*", MODEL));
    assert!(!arn_like("arn:aws:bedrock:*:*:custom-model/*", DEPLOYMENT));
    assert!(!arn_like(
        "arn:aws:bedrock:*:*:custom-model/*",
        IMPORTED_MODEL
    ));
    assert!(!arn_like(
        "arn:aws:bedrock:*:*:imported-model/*",
        IMPORT_JOB
    ));
    assert!(arn_like(
        "arn:aws:bedrock:*::foundation-model/*",
        FOUNDATION_MODEL
    ));
    // A wildcard in the region does not reach into the account or the resource.
    assert!(!arn_like("arn:aws:bedrock:*:custom-model/*", MODEL));
    assert!(arn_like("*", NO_RESOURCE_TYPE));
    assert!(!arn_like(PASSABLE_ROLES, NO_RESOURCE_TYPE));
    assert!(glob("bedrock-operator.dev/*", OWNER_UID));
    assert!(!glob("bedrock-operator.dev/*", SPEC_TAG.0));
}
