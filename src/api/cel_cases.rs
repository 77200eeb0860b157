//! The cases of the CRD's CEL rules, as plain data shared by two tests: `cel_tests.rs`
//! evaluates them with kube-cel, and `tests/crd_server.rs` replays them against a real
//! kube-apiserver with kubectl. Where the two disagreed, the real server's verdict is recorded.
//!
//! It also holds what the case tables of every kind share (`deployment_cel_cases.rs`,
//! `throughput_cel_cases.rs` and `imported_cel_cases.rs` use it as their sibling module
//! `cel_cases`): the case types, the server's wording of schema failures, and the model the
//! other kinds refer to.
//!
//! Only JSON values and string constants, no crate types, so that the integration test can
//! include this file with `#[path]`. A spec change is a JSON merge patch (RFC 7386) of the spec:
//! what `kubectl patch --type merge` sends, and what `kubectl apply` amounts to.

// Each of the two includers uses a different part.
#![allow(dead_code)]

use serde_json::{Map, Value, json};

/// metadata.name of every case's resource (the effective model name when spec.modelName is
/// unset).
pub const NAME: &str = "my-model";
pub const ARN: &str = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abc123def456";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
pub const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/OtherRole";
pub const S3_SOURCE: &str = "s3://my-bucket/models/nova/";
pub const OTHER_S3_SOURCE: &str = "s3://my-bucket/models/nova-v2/";
pub const PACKAGE_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package/my-group/1";
pub const KMS: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

pub const ONE_SOURCE: &str = "exactly one of source.s3Uri or source.modelPackageArn must be set";
pub const ROLE_REQUIRED: &str = "roleArn is required when source.s3Uri is set";
pub const TAG_KEY_RULE: &str = "tag keys must be 1 to 128 characters";
pub const RESERVED: &str = "tag keys starting with 'aws:' or 'bedrock-operator.dev/' are reserved";

/// One failure a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The field path as the API server prints it, e.g. `spec.roleArn`.
    pub field: &'static str,
    /// A fragment of the message.
    pub message: &'static str,
}

pub const fn failure(field: &'static str, message: &'static str) -> Failure {
    Failure { field, message }
}

// How the API server words the OpenAPI schema's failures (a fragment of its message), for the
// kinds whose bad inputs break the schema too.

/// How the server words a string that does not match the schema's pattern.
pub const SHOULD_MATCH: &str = "should match";
/// ... a string longer than maxLength.
pub const TOO_LONG: &str = "Too long";
/// ... a string shorter than minLength.
pub const TOO_SHORT: &str = "should be at least";
/// ... a map with more than maxProperties entries, or a list with more than maxItems.
pub const TOO_MANY: &str = "Too many";
/// ... an integer below the schema's minimum of 1.
pub const AT_LEAST_ONE: &str = "should be greater than or equal to 1";
/// ... a string that is not one of the schema's enum values.
pub const UNSUPPORTED: &str = "Unsupported value";
/// ... a required field that is missing.
pub const REQUIRED: &str = "Required value";
/// ... a list with fewer than minItems entries.
pub const TOO_FEW_ITEMS: &str = "should have at least";

/// The BedrockCustomModel that the cases of the other kinds refer to (the model of these
/// cases: [`NAME`], [`ARN`]), and another one to swap to.
pub const MODEL: &str = NAME;
pub const OTHER_MODEL: &str = "my-other-model";
pub const MODEL_ARN: &str = ARN;
pub const OTHER_MODEL_ARN: &str =
    "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/fff000111222";

/// A resource created with `spec` (and, from a client that sends one, `status`).
#[derive(Debug, Clone)]
pub struct CreateCase {
    pub name: String,
    pub spec: Value,
    /// A status in the created object; the status subresource makes the server drop it.
    pub status: Option<Value>,
    pub want: Vec<Failure>,
}

/// A resource created with `spec`, given `status` by the operator (through the status
/// subresource), then changed by the user with `change`.
#[derive(Debug, Clone)]
pub struct UpdateCase {
    pub name: String,
    pub spec: Value,
    pub status: Option<Value>,
    /// A JSON merge patch of the spec (`null` removes a field).
    pub change: Value,
    pub want: Vec<Failure>,
}

/// An input the API server refuses, and what the controller makes of it.
#[derive(Debug, Clone)]
pub struct BadInput {
    /// The create and the server's failures.
    pub case: CreateCase,
    /// The one field the controller's validation names (InvalidSpec, no AWS call); `None` for a
    /// spec the Rust type cannot hold (an enum value it has no variant for, a required field
    /// missing): such a spec does not even read as the kind's spec type, so the schema is its
    /// only guard.
    pub field: Option<&'static str>,
}

/// A create of `spec` that the server refuses with `want`, and the controller naming `field`.
pub fn bad_input(
    name: &str,
    spec: Value,
    want: Vec<Failure>,
    field: Option<&'static str>,
) -> BadInput {
    BadInput {
        case: CreateCase {
            name: name.to_string(),
            spec,
            status: None,
            want,
        },
        field,
    }
}

impl UpdateCase {
    /// The spec after the change.
    pub fn new_spec(&self) -> Value {
        patched(&self.spec, &self.change)
    }
}

/// A kind's immutability rules as its case table describes them, so that every kind makes its
/// "field changed while the object exists" cases (refused) and "changed before it counts"
/// cases (allowed) alike.
pub struct Immutability {
    /// The valid spec the changes are made to.
    pub spec: fn() -> Value,
    /// The status of an existing object in a state (`None`: Bedrock state not recorded).
    pub existing: fn(Option<&str>) -> Option<Value>,
    /// Each guarded spec field, with a merge patch that changes it.
    pub changes: fn() -> Vec<(&'static str, Value)>,
    /// The failure of the rule of a guarded field.
    pub refused: fn(&str) -> Failure,
}

impl Immutability {
    /// The merge patch that changes `field`.
    fn change(&self, field: &str) -> Value {
        (self.changes)()
            .into_iter()
            .find_map(|(name, change)| (name == field).then_some(change))
            .unwrap_or_else(|| panic!("no immutability rule for spec.{field}"))
    }

    /// `field` changed while the object exists in `state` and is not Failed: refused.
    pub fn changed_while(&self, field: &str, state: Option<&str>) -> UpdateCase {
        UpdateCase {
            name: format!("{field} changed while {}", state.unwrap_or("unknown")),
            spec: (self.spec)(),
            status: (self.existing)(state),
            change: self.change(field),
            want: vec![(self.refused)(field)],
        }
    }

    /// `field` changed under `status` (named `status_name`: Failed, or no object yet): allowed.
    pub fn changed_before_it_counts(
        &self,
        field: &str,
        status: Option<Value>,
        status_name: &str,
    ) -> UpdateCase {
        UpdateCase {
            name: format!("{field} changed, {status_name}"),
            spec: (self.spec)(),
            status,
            change: self.change(field),
            want: vec![],
        }
    }

    /// Each guarded field changed in each of `states` (refused), then under each of `allowed`
    /// (status, name) (allowed).
    pub fn cases(
        &self,
        states: &[Option<&str>],
        allowed: &[(Option<Value>, &str)],
    ) -> Vec<UpdateCase> {
        let fields: Vec<&str> = (self.changes)()
            .into_iter()
            .map(|(field, _)| field)
            .collect();
        let mut cases = Vec::new();
        for state in states {
            for field in &fields {
                cases.push(self.changed_while(field, *state));
            }
        }
        for (status, status_name) in allowed {
            for field in &fields {
                cases.push(self.changed_before_it_counts(field, status.clone(), status_name));
            }
        }
        cases
    }
}

/// `status` with its state field `key` set to `state` (`None`: Bedrock state not recorded).
pub fn in_state(mut status: Value, key: &str, state: Option<&str>) -> Option<Value> {
    if let Some(state) = state {
        status[key] = json!(state);
    }
    Some(status)
}

/// Applies a JSON merge patch (RFC 7386) to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// `value` with the merge patch `patch` applied.
pub fn patched(value: &Value, patch: &Value) -> Value {
    let mut value = value.clone();
    merge_patch(&mut value, patch);
    value
}

/// A valid spec: an S3 source with its role, and one tag.
pub fn spec() -> Value {
    json!({
        "source": { "s3Uri": S3_SOURCE },
        "roleArn": ROLE,
        "tags": { "team": "ml" },
    })
}

/// [`spec`] with a merge patch applied.
pub fn spec_with(change: Value) -> Value {
    patched(&spec(), &change)
}

/// The status of an existing model in `state` (`None`: Bedrock state not recorded).
pub fn with_model(state: Option<&str>) -> Option<Value> {
    in_state(
        json!({ "modelArn": ARN, "modelName": NAME }),
        "modelStatus",
        state,
    )
}

/// A status that records no model yet.
pub fn without_model() -> Option<Value> {
    Some(json!({ "modelName": NAME, "modelStatus": "Creating" }))
}

/// The creation rules: exactly one source, a role with an S3 source, tag keys.
pub fn creation_cases() -> Vec<CreateCase> {
    let case = |name: &str, spec: Value, want: Vec<Failure>| CreateCase {
        name: name.to_string(),
        spec,
        status: None,
        want,
    };
    let key_rule = failure("spec.tags", TAG_KEY_RULE);
    let reserved = failure("spec.tags", RESERVED);
    vec![
        case("s3 source with role", spec(), vec![]),
        case(
            "model package without role",
            spec_with(json!({
                "source": { "s3Uri": null, "modelPackageArn": PACKAGE_ARN },
                "roleArn": null,
            })),
            vec![],
        ),
        case(
            "model package with role",
            spec_with(json!({ "source": { "s3Uri": null, "modelPackageArn": PACKAGE_ARN } })),
            vec![],
        ),
        case(
            "both sources",
            spec_with(json!({ "source": { "modelPackageArn": PACKAGE_ARN } })),
            vec![failure("spec.source", ONE_SOURCE)],
        ),
        case(
            "neither source",
            spec_with(json!({ "source": { "s3Uri": null }, "roleArn": null })),
            vec![failure("spec.source", ONE_SOURCE)],
        ),
        case(
            "s3 source without role",
            spec_with(json!({ "roleArn": null })),
            vec![failure("spec.roleArn", ROLE_REQUIRED)],
        ),
        case(
            "reserved aws: key",
            spec_with(json!({ "tags": { "aws:x": "y" } })),
            vec![reserved],
        ),
        case(
            "reserved operator key",
            spec_with(json!({ "tags": { "bedrock-operator.dev/owner-uid": "y" } })),
            vec![reserved],
        ),
        case(
            "key with '!'",
            spec_with(json!({ "tags": { "team!": "y" } })),
            vec![key_rule],
        ),
        case(
            "key with '&'",
            spec_with(json!({ "tags": { "r&d": "y" } })),
            vec![key_rule],
        ),
        case(
            "empty key",
            spec_with(json!({ "tags": { "": "y" } })),
            vec![key_rule],
        ),
        case(
            "129-character key",
            spec_with(json!({ "tags": { "k".repeat(129): "y" } })),
            vec![key_rule],
        ),
        case(
            "reserved key with a bad character breaks both rules",
            spec_with(json!({ "tags": { "aws:x!": "y" } })),
            vec![key_rule, reserved],
        ),
        case(
            "keys with every allowed character, 128 characters",
            spec_with(json!({ "tags": {
                "team": null,
                "cost center._:/=+-@": "v",
                "k".repeat(128): "v",
                "team/aws:x": "v",
            } })),
            vec![],
        ),
        case(
            "both sources and no role: each rule reports",
            spec_with(json!({
                "source": { "modelPackageArn": PACKAGE_ARN },
                "roleArn": null,
            })),
            vec![
                failure("spec.source", ONE_SOURCE),
                failure("spec.roleArn", ROLE_REQUIRED),
            ],
        ),
    ]
}

/// The immutability rules compare with oldSelf: on create (no old object) they do not run,
/// whatever the status says.
pub fn creation_with_status_cases() -> Vec<CreateCase> {
    vec![CreateCase {
        name: "create with the status of an Active model".into(),
        spec: spec(),
        status: with_model(Some("Active")),
        want: vec![],
    }]
}

/// The failure of the immutability rule of `field` (a spec field name).
pub fn immutable(field: &str) -> Failure {
    match field {
        "modelName" => failure(
            "spec.modelName",
            "spec.modelName cannot change once the Bedrock model exists",
        ),
        "source" => failure(
            "spec.source",
            "spec.source cannot change once the Bedrock model exists",
        ),
        "roleArn" => failure(
            "spec.roleArn",
            "spec.roleArn cannot change once the Bedrock model exists",
        ),
        "kmsKeyArn" => failure(
            "spec.kmsKeyArn",
            "spec.kmsKeyArn cannot change once the Bedrock model exists",
        ),
        "region" => failure(
            "spec.region",
            "spec.region cannot change once the Bedrock model exists",
        ),
        other => panic!("no immutability rule for spec.{other}"),
    }
}

/// The changes the immutability rules guard.
fn immutable_changes() -> Vec<(&'static str, Value)> {
    vec![
        ("modelName", json!({ "modelName": "renamed" })),
        ("source", json!({ "source": { "s3Uri": OTHER_S3_SOURCE } })),
        ("roleArn", json!({ "roleArn": OTHER_ROLE })),
        ("kmsKeyArn", json!({ "kmsKeyArn": KMS })),
        ("region", json!({ "region": "eu-west-1" })),
    ]
}

const IMMUTABILITY: Immutability = Immutability {
    spec,
    existing: with_model,
    changes: immutable_changes,
    refused: immutable,
};

/// The immutability transition rules: source, roleArn, kmsKeyArn, region and the effective
/// model name keep their values once a model exists, unless it Failed.
pub fn immutability_cases() -> Vec<UpdateCase> {
    // Each immutable field, changed while a model exists and is not Failed: refused; the same
    // changes while Failed, or before any model exists: allowed.
    let mut cases = IMMUTABILITY.cases(
        &[Some("Active"), Some("Creating"), None],
        &[
            (with_model(Some("Failed")), "Failed"),
            (without_model(), "no modelArn"),
            (None, "no status"),
        ],
    );
    let active = with_model(Some("Active"));
    let case = |name: &str, spec: Value, change: Value, want: Vec<Failure>| UpdateCase {
        name: name.to_string(),
        spec,
        status: active.clone(),
        change,
        want,
    };
    cases.extend([
        case(
            "several fields changed while Active: each reported",
            spec(),
            json!({ "modelName": "renamed", "roleArn": OTHER_ROLE, "region": "eu-west-1" }),
            vec![
                immutable("modelName"),
                immutable("roleArn"),
                immutable("region"),
            ],
        ),
        case(
            "switch to a model package while Active",
            spec(),
            json!({
                "source": { "s3Uri": null, "modelPackageArn": PACKAGE_ARN },
                "roleArn": null,
            }),
            vec![immutable("source"), immutable("roleArn")],
        ),
        case(
            "kmsKeyArn removed while Active",
            spec_with(json!({ "kmsKeyArn": KMS })),
            json!({ "kmsKeyArn": null }),
            vec![immutable("kmsKeyArn")],
        ),
        case(
            "modelName set to metadata.name: same model name",
            spec(),
            json!({ "modelName": NAME }),
            vec![],
        ),
        case(
            "modelName unset when it equalled metadata.name",
            spec_with(json!({ "modelName": NAME })),
            json!({ "modelName": null }),
            vec![],
        ),
        case(
            "only tags changed while Active",
            spec(),
            json!({ "tags": { "team": null, "env": "prod" } }),
            vec![],
        ),
        case(
            "only deletionPolicy changed while Active",
            spec(),
            json!({ "deletionPolicy": "Retain" }),
            vec![],
        ),
        case(
            "only adoptionPolicy changed while Active",
            spec(),
            json!({ "adoptionPolicy": "Adopt" }),
            vec![],
        ),
        case("nothing changed while Active", spec(), json!({}), vec![]),
    ]);
    cases
}

/// Updates still meet the creation rules, next to the transition rules.
pub fn update_creation_rule_cases() -> Vec<UpdateCase> {
    vec![UpdateCase {
        name: "role removed from an Active s3 model".into(),
        spec: spec(),
        status: with_model(Some("Active")),
        change: json!({ "roleArn": null }),
        want: vec![failure("spec.roleArn", ROLE_REQUIRED), immutable("roleArn")],
    }]
}

// spec.export of the kinds that serve a model: one schema, so one set of cases, each kind's
// table applies them to its own valid spec.

/// The field that names the export's ConfigMap.
pub const EXPORT_NAME_FIELD: &str = "spec.export.configMapName";

/// `spec` exporting to a ConfigMap named with uppercase letters and '_'.
pub fn export_name_invalid(spec: &Value) -> BadInput {
    bad_input(
        "export.configMapName with uppercase and '_'",
        patched(
            spec,
            &json!({ "export": { "configMapName": "Chat_Endpoint" } }),
        ),
        vec![failure(EXPORT_NAME_FIELD, SHOULD_MATCH)],
        Some(EXPORT_NAME_FIELD),
    )
}

/// `spec` exporting to a ConfigMap name of 254 characters.
pub fn export_name_too_long(spec: &Value) -> BadInput {
    bad_input(
        "export.configMapName of 254 characters",
        patched(
            spec,
            &json!({ "export": { "configMapName": "a".repeat(254) } }),
        ),
        vec![failure(EXPORT_NAME_FIELD, TOO_LONG)],
        Some(EXPORT_NAME_FIELD),
    )
}

/// `spec` exporting to an empty ConfigMap name.
pub fn export_name_empty(spec: &Value) -> BadInput {
    bad_input(
        "empty export.configMapName",
        patched(spec, &json!({ "export": { "configMapName": "" } })),
        vec![failure(EXPORT_NAME_FIELD, TOO_SHORT)],
        Some(EXPORT_NAME_FIELD),
    )
}

/// Valid exports of `spec`: to the default ConfigMap and to a named one.
pub fn export_valid_creates(spec: &Value) -> Vec<CreateCase> {
    let case = |name: &str, export: Value| CreateCase {
        name: name.to_string(),
        spec: patched(spec, &json!({ "export": export })),
        status: None,
        want: vec![],
    };
    vec![
        case("export to the default ConfigMap", json!({})),
        case(
            "export to a named ConfigMap",
            json!({ "configMapName": "chat.endpoint-1" }),
        ),
    ]
}

/// The named export cases of a serving kind's table, on its `spec()`: what its
/// `bad_input_tests!` names and its `bad_inputs` lists.
macro_rules! export_cases {
    () => {
        pub fn export_config_map_name_invalid() -> BadInput {
            super::cel_cases::export_name_invalid(&spec())
        }

        pub fn export_config_map_name_too_long() -> BadInput {
            super::cel_cases::export_name_too_long(&spec())
        }

        pub fn export_config_map_name_empty() -> BadInput {
            super::cel_cases::export_name_empty(&spec())
        }
    };
}
pub(crate) use export_cases;
