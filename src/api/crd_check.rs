//! The one harness of every kind's CRD validation tests. For a kind `K` it builds the resource
//! of a case (`cel_cases.rs`, `deployment_cel_cases.rs`, `throughput_cel_cases.rs`,
//! `imported_cel_cases.rs`) and checks
//! the case's expected failures against:
//!
//! - the CEL rules alone, evaluated with a real CEL implementation (kube-cel, on `K::crd()`),
//!   for a create and for an update (the transition rules, against the old object);
//! - the API server's verdict: the OpenAPI schema of `K::crd()`, checked as the server checks
//!   it and worded as it words it, then the CEL rules unless a schema failure stops them;
//! - the controller's validate function, passed in: a bad input is refused naming exactly the
//!   case's field, and a valid spec passes.
//!
//! A verdict must be exactly the case's failures (in any order): a missing failure, an extra
//! one, another field or a message without the case's fragment fails the test, naming every
//! case that differs. `tests/crd_server.rs` replays the same cases against a real
//! kube-apiserver.

use std::fmt::Debug;
use std::marker::PhantomData;

use kube::CustomResourceExt;
use kube::core::cel::{ValidationErrors, validate_cel, validate_cel_update};
use kube::core::object::HasSpec;
use regex::Regex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::cel_cases::{BadInput, CreateCase, Failure, UpdateCase};
use super::validation::FieldError;

/// A failure as a verdict reports it: (field path, message).
pub type Found = (String, String);

/// The checks of one kind `K` on its case table.
pub struct CrdCheck<K> {
    /// metadata.name of every case's resource.
    name: &'static str,
    /// metadata.uid of every case's resource.
    uid: &'static str,
    kind: PhantomData<fn() -> K>,
}

impl<K> CrdCheck<K> {
    /// The checks of `K`, on resources named `name` (the case table's `NAME`) with `uid`.
    pub const fn new(name: &'static str, uid: &'static str) -> Self {
        Self {
            name,
            uid,
            kind: PhantomData,
        }
    }
}

impl<K> CrdCheck<K>
where
    K: CustomResourceExt + HasSpec + Serialize + DeserializeOwned,
    K::Spec: DeserializeOwned,
{
    /// The resource `metadata_name` in namespace `ml`, at generation 1, with a case's spec and
    /// status.
    pub fn resource(&self, metadata_name: &str, spec: &Value, status: Option<&Value>) -> K {
        let object = json!({
            "metadata": {
                "name": metadata_name,
                "namespace": "ml",
                "uid": self.uid,
                "generation": 1,
            },
            "spec": spec,
            "status": status,
        });
        serde_json::from_value(object).expect("a case's spec and status deserialize")
    }

    /// [`Self::resource`] named as every case's resource is.
    pub fn object(&self, spec: &Value, status: Option<&Value>) -> K {
        self.resource(self.name, spec, status)
    }

    /// The OpenAPI schema of `K`'s CRD, as generated.
    pub fn schema(&self) -> Value {
        let crd = serde_json::to_value(K::crd()).expect("CRD serializes");
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
    }

    /// The schema's verdict on an object with `spec`, as the server words it.
    pub fn schema_failures(&self, spec: &Value) -> Vec<Found> {
        let object = json!({ "metadata": { "name": self.name }, "spec": spec });
        let mut failures = Vec::new();
        openapi_failures(&self.schema(), &object, "", &mut failures);
        failures
    }

    /// The CEL rules' verdict on a create of `spec` (the transition rules do not run).
    pub fn cel_create(&self, spec: &Value, status: Option<&Value>) -> Vec<Found> {
        cel_failures(validate_cel(&self.object(spec, status)))
    }

    /// The CEL rules' verdict on the update of a case, the transition rules included.
    pub fn cel_update(&self, case: &UpdateCase) -> Vec<Found> {
        let old = self.object(&case.spec, case.status.as_ref());
        // The status subresource keeps the status as it was across a spec update.
        let new = self.object(&case.new_spec(), case.status.as_ref());
        cel_failures(validate_cel_update(&new, &old))
    }

    /// What the API server would refuse in a create of `spec`: schema, then CEL.
    pub fn server_create(&self, spec: &Value, status: Option<&Value>) -> Vec<Found> {
        let mut failures = self.schema_failures(spec);
        if !blocks_cel(&failures) {
            failures.extend(self.cel_create(spec, status));
        }
        failures
    }

    /// What the API server would refuse in the update of a case: schema of the new spec, then
    /// CEL with the transition rules.
    pub fn server_update(&self, case: &UpdateCase) -> Vec<Found> {
        let mut failures = self.schema_failures(&case.new_spec());
        if !blocks_cel(&failures) {
            failures.extend(self.cel_update(case));
        }
        failures
    }

    /// Fails with every create of `cases` whose CEL verdict differs from the table.
    pub fn check_cel_creates(&self, family: &str, cases: Vec<CreateCase>) {
        assert_cases(family, &cases, |case| {
            let got = self.cel_create(&case.spec, case.status.as_ref());
            mismatch(&case.name, &got, &case.want)
        });
    }

    /// Fails with every update of `cases` whose CEL verdict differs from the table.
    pub fn check_cel_updates(&self, family: &str, cases: Vec<UpdateCase>) {
        assert_cases(family, &cases, |case| {
            mismatch(&case.name, &self.cel_update(case), &case.want)
        });
    }

    /// Fails with every update of `cases` whose server verdict differs from the table.
    pub fn check_server_updates(&self, family: &str, cases: Vec<UpdateCase>) {
        assert_cases(family, &cases, |case| {
            mismatch(&case.name, &self.server_update(case), &case.want)
        });
    }

    /// Panics unless the server would take a create of `spec`.
    pub fn assert_server_accepts(&self, case: &str, spec: &Value) {
        assert_failures(case, &self.server_create(spec, None), &[]);
    }

    /// Each valid spec passes the server and `validate`.
    pub fn check_valid_creates<V: Debug>(
        &self,
        cases: Vec<CreateCase>,
        validate: impl Fn(&K) -> Result<V, Vec<FieldError>>,
    ) {
        for case in &cases {
            self.assert_server_accepts(&case.name, &case.spec);
            let valid = validate(&self.object(&case.spec, None));
            assert!(valid.is_ok(), "{}: {valid:?}", case.name);
        }
    }

    /// The server's verdict on the create of a bad input, and the controller's: both refuse,
    /// naming the field. An input with no controller field does not even read as `K::Spec`
    /// (a value the type has no place for, or a required field missing), so the controller
    /// never gets to validate it.
    pub fn check_bad_input<V: Debug>(
        &self,
        input: BadInput,
        validate: impl Fn(&K) -> Result<V, Vec<FieldError>>,
    ) {
        let BadInput { case, field } = input;
        assert!(!case.want.is_empty(), "{}: a bad input", case.name);
        assert_failures(
            &case.name,
            &self.server_create(&case.spec, case.status.as_ref()),
            &case.want,
        );
        let Some(field) = field else {
            let read = serde_json::from_value::<K::Spec>(case.spec.clone());
            let Err(error) = read else {
                panic!("{}: the spec reads as the Rust type", case.name);
            };
            let error = error.to_string();
            assert!(
                error.contains("unknown variant") || error.contains("missing field"),
                "{}: {error}",
                case.name
            );
            return;
        };
        let errors = validate(&self.object(&case.spec, None))
            .expect_err("the controller refuses a bad input");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [field],
            "{}: controller errors {errors:?}",
            case.name
        );
        assert!(
            errors[0].to_string().starts_with(&format!("{field}: ")),
            "{}: {}",
            case.name,
            errors[0]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The controller's refusals.
// ---------------------------------------------------------------------------------------------

/// Panics unless `errors` name exactly `fields`, in that order.
pub fn assert_fields(errors: &[FieldError], fields: &[&str]) {
    let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(named, fields, "{errors:?}");
}

/// Panics unless the message of `error` contains `fragment`.
pub fn assert_message(error: &FieldError, fragment: &str) {
    assert!(error.message.contains(fragment), "{}", error.message);
}

/// Panics unless `errors` is one error, naming `field`, whose message contains `fragment`.
pub fn assert_one_error(errors: &[FieldError], field: &str, fragment: &str) {
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, field);
    assert_message(&errors[0], fragment);
}

// ---------------------------------------------------------------------------------------------
// One source of truth: a kind's schema carries the `patterns` constants.
// ---------------------------------------------------------------------------------------------

/// A string field of a CRD's schema and the `patterns` constants it must carry.
#[derive(Debug, Clone, Copy)]
pub struct StringField {
    /// The field's path from the schema's root, e.g. `spec.modelRef.name`.
    pub path: &'static str,
    /// The pattern; `None`: the field must have none.
    pub pattern: Option<&'static str>,
    pub min_length: u32,
    pub max_length: u32,
}

/// The string field at `path` with `pattern` and a length from `min_length` to `max_length`.
pub const fn string_field(
    path: &'static str,
    pattern: Option<&'static str>,
    min_length: u32,
    max_length: u32,
) -> StringField {
    StringField {
        path,
        pattern,
        min_length,
        max_length,
    }
}

/// The node of the field at `path` (e.g. `spec.modelRef.name`) in an OpenAPI schema.
pub fn schema_node<'a>(schema: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(schema, |node, name| &node["properties"][name])
}

/// Panics unless each of `fields` is a string in `schema` with exactly its pattern, minLength
/// and maxLength.
pub fn assert_string_fields(schema: &Value, fields: &[StringField]) {
    for field in fields {
        let path = field.path;
        let node = schema_node(schema, path);
        assert_eq!(node["type"], "string", "{path}: type");
        assert_eq!(node["pattern"].as_str(), field.pattern, "{path}: pattern");
        assert_eq!(node["minLength"], field.min_length, "{path}: minLength");
        assert_eq!(node["maxLength"], field.max_length, "{path}: maxLength");
    }
}

/// Panics unless the CRD committed as `yaml` carries the pattern of each of `fields` that has one.
pub fn assert_committed_patterns(yaml: &str, fields: &[StringField]) {
    let committed: Value = serde_yaml::from_str(yaml).expect("committed CRD parses");
    let schema = &committed["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    for field in fields {
        if let Some(pattern) = field.pattern {
            let path = field.path;
            assert_eq!(
                schema_node(schema, path)["pattern"],
                pattern,
                "committed CRD {path}: pattern"
            );
        }
    }
}

/// Panics unless each pattern of `patterns` (name, pattern) compiles and is anchored at both
/// ends.
pub fn assert_anchored(patterns: &[(&str, &str)]) {
    for (name, pattern) in patterns {
        assert!(Regex::new(pattern).is_ok(), "{name} does not compile");
        assert!(
            pattern.starts_with('^') && pattern.ends_with('$'),
            "{name} must be anchored: {pattern}"
        );
    }
}

/// Panics unless each status field of `fields` is a string without an enum, and the conditions a
/// map list: Helm does not upgrade CRDs, and an operator newer than its CRD must still write its
/// status.
pub fn assert_status_strings(schema: &Value, fields: &[&str]) {
    let status = &schema["properties"]["status"]["properties"];
    for field in fields {
        assert_eq!(status[field]["type"], "string", "status.{field}");
        assert!(status[field]["enum"].is_null(), "status.{field}: no enum");
    }
    assert_eq!(status["conditions"]["x-kubernetes-list-type"], "map");
}

/// One named test per update family of a kind's case table: `$name => $cases` checks the
/// server's verdict on each update of `$cases` with [`CrdCheck::check_server_updates`] by
/// `$check`.
macro_rules! server_update_tests {
    ($check:expr; $($(#[$meta:meta])* $name:ident => $cases:expr),* $(,)?) => {
        $(
            $(#[$meta])*
            #[test]
            fn $name() {
                $check.check_server_updates(stringify!($name), $cases);
            }
        )*
    };
}
pub(crate) use server_update_tests;

/// One named test per bad input of a kind's case table (`cases::$case()`, checked with
/// [`CrdCheck::check_bad_input`] by `$check` and the validate function `$validate`), and
/// `every_bad_input_has_a_named_test`: the named inputs are exactly those `cases::bad_inputs()`
/// gives the server replay, in its order.
macro_rules! bad_input_tests {
    ($check:expr, $validate:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $check.check_bad_input(cases::$case(), $validate);
            }
        )*

        /// Every bad input the server replays has its own named test here.
        #[test]
        fn every_bad_input_has_a_named_test() {
            let named: Vec<String> = vec![$(cases::$case().case.name),*];
            let replayed: Vec<String> =
                cases::bad_inputs().into_iter().map(|input| input.case.name).collect();
            assert_eq!(named, replayed);
            assert!(named.len() >= 12);
        }
    };
}
pub(crate) use bad_input_tests;

/// The OpenAPI checks the API server makes before the CEL rules, as it words them: of a
/// string's maxLength, minLength and pattern only the first that fails is reported; a list's
/// maxItems or minItems, then each of its items (`path[i]`).
fn openapi_failures(schema: &Value, value: &Value, path: &str, out: &mut Vec<Found>) {
    let child = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    match value {
        Value::Object(object) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().expect("required names are strings");
                if !object.contains_key(name) {
                    out.push((child(name), "Required value".into()));
                }
            }
            if let Some(max) = schema["maxProperties"].as_u64()
                && object.len() as u64 > max
            {
                out.push((
                    path.to_string(),
                    format!("Too many: {}: must have at most {max} items", object.len()),
                ));
            }
            for (name, field) in object {
                if let Some(field_schema) = schema["properties"].get(name) {
                    openapi_failures(field_schema, field, &child(name), out);
                } else if schema["additionalProperties"].is_object() {
                    let entry = format!("{path}[{name}]");
                    openapi_failures(&schema["additionalProperties"], field, &entry, out);
                }
            }
        }
        Value::String(text) => {
            let length = text.chars().count() as u64;
            if let Some(max) = schema["maxLength"].as_u64()
                && length > max
            {
                out.push((
                    path.to_string(),
                    format!("Too long: may not be more than {max} bytes"),
                ));
            } else if let Some(min) = schema["minLength"].as_u64()
                && length < min
            {
                out.push((
                    path.to_string(),
                    format!(
                        "Invalid value: {text:?}: {path} in body should be at least {min} chars long"
                    ),
                ));
            } else if let Some(pattern) = schema["pattern"].as_str()
                && !Regex::new(pattern)
                    .expect("schema patterns compile")
                    .is_match(text)
            {
                out.push((
                    path.to_string(),
                    format!("Invalid value: {text:?}: {path} in body should match '{pattern}'"),
                ));
            }
            if let Some(allowed) = schema["enum"].as_array()
                && !allowed.contains(value)
            {
                out.push((path.to_string(), format!("Unsupported value: {text:?}")));
            }
        }
        Value::Array(items) => {
            let count = items.len() as u64;
            if let Some(max) = schema["maxItems"].as_u64()
                && count > max
            {
                out.push((
                    path.to_string(),
                    format!("Too many: {count}: must have at most {max} items"),
                ));
            } else if let Some(min) = schema["minItems"].as_u64()
                && count < min
            {
                out.push((
                    path.to_string(),
                    format!(
                        "Invalid value: {count}: {path} in body should have at least {min} items"
                    ),
                ));
            }
            if schema["items"].is_object() {
                for (index, item) in items.iter().enumerate() {
                    openapi_failures(&schema["items"], item, &format!("{path}[{index}]"), out);
                }
            }
        }
        Value::Number(number) => {
            if let (Some(minimum), Some(n)) = (schema["minimum"].as_f64(), number.as_f64())
                && n < minimum
            {
                out.push((
                    path.to_string(),
                    format!(
                        "Invalid value: {number}: {path} in body should be greater than or equal to {minimum}"
                    ),
                ));
            }
        }
        _ => {}
    }
}

/// The schema failures after which the API server does not run the CEL rules (it says "some
/// validation rules were not checked", with no field): a missing, unsupported, too long or
/// too many value.
fn blocks_cel(failures: &[Found]) -> bool {
    failures.iter().any(|(_, message)| {
        [
            "Required value",
            "Unsupported value",
            "Too long",
            "Too many",
        ]
        .iter()
        .any(|kind| message.starts_with(kind))
    })
}

/// (field path, message) of each CEL failure.
///
/// kube-cel appends a rule's `fieldPath` to the node path verbatim, so a rule on the root (node
/// path "") with fieldPath `.spec.region` reports `.spec.region`; the apiserver reports
/// `spec.region`. The leading dot is dropped so both read the same.
fn cel_failures(result: Result<(), ValidationErrors>) -> Vec<Found> {
    match result {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| {
                (
                    e.field_path.trim_start_matches('.').to_string(),
                    e.message.clone(),
                )
            })
            .collect(),
    }
}

/// Why `got` is not exactly `want` (in any order), if it is not.
fn mismatch(case: &str, got: &[Found], want: &[Failure]) -> Option<String> {
    let matched = want.iter().all(|w| {
        got.iter()
            .any(|(field, message)| field == w.field && message.contains(w.message))
    });
    (got.len() != want.len() || !matched).then(|| format!("{case}: expected {want:?}, got {got:?}"))
}

/// Panics unless `got` is exactly `want` (in any order).
fn assert_failures(case: &str, got: &[Found], want: &[Failure]) {
    if let Some(problem) = mismatch(case, got, want) {
        panic!("{problem}");
    }
}

/// Fails with every case of `family` whose verdict differs from the table, not just the first.
fn assert_cases<C>(family: &str, cases: &[C], mismatch_of: impl Fn(&C) -> Option<String>) {
    let mismatches: Vec<String> = cases.iter().filter_map(mismatch_of).collect();
    assert!(
        mismatches.is_empty(),
        "{family}: {} of {} cases differ from the table:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}
