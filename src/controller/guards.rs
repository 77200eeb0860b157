//! The tenant guards: limits the cluster admin sets (flags, Helm values, and per-namespace
//! overrides read at start from `--guards-file`) on what the tenants of a shared cluster may do
//! with the operator's AWS account. Pure decisions: settings, a spec and what the API server
//! holds in, `Some(problem)` out; the reconcile stages do the reading and the refusing.
//!
//! Spend: a maximum of model units per provisioned throughput and per namespace (the sum of
//! the throughputs it holds), and which namespaces may buy a commitment term at all.
//! Tenancy: the roles and KMS keys a namespace may name, whether it may name a model another
//! namespace holds, and how default Bedrock names are composed.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::ownership::OwnerRef;
use super::scope::{NamespaceScope, is_namespace_name};
use crate::api::patterns;
use crate::api::throughput::{BedrockProvisionedThroughput, CommitmentDuration};
use crate::api::validation::FieldError;

/// ARN patterns where `*` matches any run of characters (including none); every other
/// character matches itself. `*` alone allows anything.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "PatternsValue")]
pub struct ArnPatterns(Vec<String>);

/// A pattern list as YAML may spell it: a list, or one comma-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum PatternsValue {
    List(Vec<String>),
    Text(String),
}

impl TryFrom<PatternsValue> for ArnPatterns {
    type Error = InvalidPatterns;

    fn try_from(value: PatternsValue) -> Result<Self, Self::Error> {
        match value {
            PatternsValue::Text(text) => text.parse(),
            PatternsValue::List(list) => ArnPatterns::new(list),
        }
    }
}

impl Default for ArnPatterns {
    fn default() -> Self {
        ArnPatterns::any()
    }
}

/// Why a pattern list was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "an empty pattern: give one or more ARN patterns separated by commas, where * matches any run of characters (* alone allows anything)"
)]
pub struct InvalidPatterns;

impl ArnPatterns {
    /// `*`: anything.
    pub fn any() -> Self {
        ArnPatterns(vec!["*".to_string()])
    }

    pub fn new(patterns: Vec<String>) -> Result<Self, InvalidPatterns> {
        let patterns: Vec<String> = patterns.iter().map(|p| p.trim().to_string()).collect();
        if patterns.is_empty() || patterns.iter().any(String::is_empty) {
            return Err(InvalidPatterns);
        }
        Ok(ArnPatterns(patterns))
    }

    /// Whether `value` matches one of the patterns.
    pub fn allows(&self, value: &str) -> bool {
        self.0.iter().any(|pattern| glob_match(pattern, value))
    }
}

impl FromStr for ArnPatterns {
    type Err = InvalidPatterns;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ArnPatterns::new(value.split(',').map(str::to_string).collect())
    }
}

impl fmt::Display for ArnPatterns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// Whether `value` matches `pattern`, where `*` matches any run of characters.
fn glob_match(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    // `split` yields at least one part.
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        // No `*`: the whole value must be the pattern.
        return rest.is_empty();
    };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Every tenant guard. The flags fill the top-level limits; the guards file (its format is
/// this struct, camelCase YAML) adds per-namespace overrides under `namespaces`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Guards {
    /// `--max-model-units-per-throughput`; `None`: no limit. A flag, not read from the file.
    #[serde(skip)]
    pub max_model_units_per_throughput: Option<i32>,
    /// `--max-model-units-per-namespace`; `None`: no limit. A flag, not read from the file.
    #[serde(skip)]
    pub max_model_units_per_namespace: Option<i32>,
    /// `--commitment-namespaces`: where a commitment term may be bought. A flag.
    #[serde(skip)]
    pub commitment_namespaces: NamespaceScope,
    /// Namespaces whose deployments and throughputs may name (by ARN or ID) a custom model that
    /// a BedrockCustomModel of another namespace holds (`--cross-namespace-references`). A flag.
    #[serde(skip)]
    pub cross_namespace_references: NamespaceScope,
    /// The roles `spec.roleArn` may name (`--allowed-role-arns`). A flag.
    #[serde(skip)]
    pub allowed_role_arns: ArnPatterns,
    /// The keys `spec.kmsKeyArn` may name (`--allowed-kms-key-arns`). A flag.
    #[serde(skip)]
    pub allowed_kms_key_arns: ArnPatterns,
    /// Default Bedrock names are `<namespace>-<name>` (`--namespaced-names`). A flag.
    #[serde(skip)]
    pub namespaced_names: bool,
    /// Per-namespace overrides, by namespace name.
    pub namespaces: BTreeMap<String, NamespaceGuards>,
}

impl Default for Guards {
    /// No limit of units, no namespace may buy a commitment or name another namespace's model,
    /// any role and key, names as given.
    fn default() -> Self {
        Guards {
            max_model_units_per_throughput: None,
            max_model_units_per_namespace: None,
            commitment_namespaces: NamespaceScope::None,
            cross_namespace_references: NamespaceScope::None,
            allowed_role_arns: ArnPatterns::any(),
            allowed_kms_key_arns: ArnPatterns::any(),
            namespaced_names: false,
            namespaces: BTreeMap::new(),
        }
    }
}

/// The overrides of one namespace; a field left out keeps the operator-wide value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceGuards {
    pub max_model_units_per_throughput: Option<i32>,
    pub max_model_units_per_namespace: Option<i32>,
    /// Replaces `--allowed-role-arns` in this namespace.
    pub allowed_role_arns: Option<ArnPatterns>,
    /// Replaces `--allowed-kms-key-arns` in this namespace.
    pub allowed_kms_key_arns: Option<ArnPatterns>,
}

/// Why the guards file was refused (the operator does not start).
#[derive(Debug, thiserror::Error)]
pub enum GuardsError {
    #[error("cannot read the guards file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the guards file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("the guards file {path} is not valid: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

impl Guards {
    /// Reads the per-namespace overrides of `path` into these guards.
    pub fn with_file(mut self, path: &Path) -> Result<Self, GuardsError> {
        let text = std::fs::read_to_string(path).map_err(|source| GuardsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file = Guards::parse(&text).map_err(|error| match error {
            FileError::Yaml(source) => GuardsError::Parse {
                path: path.to_path_buf(),
                source,
            },
            FileError::Invalid(problem) => GuardsError::Invalid {
                path: path.to_path_buf(),
                problem,
            },
        })?;
        self.namespaces = file.namespaces;
        Ok(self)
    }

    /// The guards file's content: its overrides, checked (the flags' fields stay unset).
    pub fn parse(text: &str) -> Result<Guards, FileError> {
        // An empty file (a ConfigMap with no overrides) is no override.
        if text.trim().is_empty() {
            return Ok(Guards::default());
        }
        let guards: Guards = serde_yaml::from_str(text).map_err(FileError::Yaml)?;
        for (namespace, overrides) in &guards.namespaces {
            if !is_namespace_name(namespace) {
                return Err(FileError::Invalid(format!(
                    "namespaces.{namespace:?} is not a namespace name (lowercase letters, digits and '-', at most 63)"
                )));
            }
            for (field, value) in [
                (
                    "maxModelUnitsPerThroughput",
                    overrides.max_model_units_per_throughput,
                ),
                (
                    "maxModelUnitsPerNamespace",
                    overrides.max_model_units_per_namespace,
                ),
            ] {
                if let Some(value) = value
                    && value < 1
                {
                    return Err(FileError::Invalid(format!(
                        "namespaces.{namespace}.{field} is {value}: a limit of model units is 1 or more (leave it out for the operator-wide value)"
                    )));
                }
            }
        }
        Ok(guards)
    }

    /// The most model units one throughput of `namespace` may buy, and what set it.
    pub fn units_per_throughput(&self, namespace: &str) -> Option<Cap> {
        self.cap(namespace, Limit::PerThroughput)
    }

    /// The most model units the throughputs of `namespace` may hold together, and what set it.
    pub fn units_per_namespace(&self, namespace: &str) -> Option<Cap> {
        self.cap(namespace, Limit::PerNamespace)
    }

    fn cap(&self, namespace: &str, limit: Limit) -> Option<Cap> {
        let (flag, overridden) = match limit {
            Limit::PerThroughput => (
                self.max_model_units_per_throughput,
                self.namespaces
                    .get(namespace)
                    .and_then(|n| n.max_model_units_per_throughput),
            ),
            Limit::PerNamespace => (
                self.max_model_units_per_namespace,
                self.namespaces
                    .get(namespace)
                    .and_then(|n| n.max_model_units_per_namespace),
            ),
        };
        match (overridden, flag) {
            (Some(units), _) => Some(Cap {
                units,
                limit,
                set_for: Some(namespace.to_string()),
            }),
            (None, Some(units)) => Some(Cap {
                units,
                limit,
                set_for: None,
            }),
            (None, None) => None,
        }
    }
}

/// What is wrong with a guards file's content.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    Yaml(#[source] serde_yaml::Error),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    PerThroughput,
    PerNamespace,
}

/// A limit of model units and the setting it comes from, named in refusals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cap {
    pub units: i32,
    pub limit: Limit,
    /// The namespace whose override set it; `None`: the operator-wide flag.
    pub set_for: Option<String>,
}

impl fmt::Display for Cap {
    /// The setting, as the admin finds it: its flag or file key, and its Helm value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (flag, key) = match self.limit {
            Limit::PerThroughput => (
                "--max-model-units-per-throughput",
                "maxModelUnitsPerThroughput",
            ),
            Limit::PerNamespace => (
                "--max-model-units-per-namespace",
                "maxModelUnitsPerNamespace",
            ),
        };
        match &self.set_for {
            None => write!(f, "the operator's {flag} (Helm guards.{key})"),
            Some(namespace) => write!(
                f,
                "namespaces.{namespace}.{key} of the operator's --guards-file (Helm guards.namespaces.{namespace}.{key})"
            ),
        }
    }
}

/// A throughput of the namespace that holds (or is buying) model units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub name: String,
    pub units: i32,
}

/// The model units the namespace's other throughputs hold, from a list of them read from the
/// API server: every throughput but the one of `this_uid` whose status holds a
/// provisionedModelArn (Creating, InService, Updating, Failed, or being deleted: it bills until
/// Bedrock has deleted it), or that this process bought moments ago and whose status does not
/// show it yet (`bought`: units by UID). The units are those Bedrock reports, else those bought.
pub fn holdings(
    throughputs: &[BedrockProvisionedThroughput],
    this_uid: &str,
    bought: &HashMap<String, i32>,
) -> Vec<Holding> {
    throughputs
        .iter()
        .filter_map(|throughput| {
            let uid = throughput.metadata.uid.as_deref().unwrap_or_default();
            if uid == this_uid {
                return None;
            }
            let status = throughput.status.as_ref();
            let recorded = status
                .filter(|s| s.provisioned_model_arn.is_some())
                .map(|s| {
                    s.model_units
                        .or_else(|| s.created_with.as_ref().map(|c| c.model_units))
                        .filter(|units| *units > 0)
                        .unwrap_or(throughput.spec.model_units)
                });
            let units = recorded.or_else(|| bought.get(uid).copied())?;
            Some(Holding {
                name: throughput.metadata.name.clone().unwrap_or_default(),
                units,
            })
        })
        .collect()
}

/// spec.modelUnits above the namespace's limit per throughput.
pub fn units_per_throughput_refused(
    guards: &Guards,
    namespace: &str,
    units: i32,
) -> Option<FieldError> {
    let cap = guards.units_per_throughput(namespace)?;
    (units > cap.units).then(|| FieldError {
        field: "spec.modelUnits".into(),
        message: format!(
            "is {units}, more than the {} model units a provisioned throughput of namespace {namespace} may buy, the limit set by {cap}: set spec.modelUnits to {} or fewer, or ask the cluster admin to raise that limit",
            cap.units, cap.units
        ),
    })
}

/// spec.modelUnits that would take the namespace's throughputs, with what the others hold,
/// above the namespace's limit.
pub fn namespace_budget_refused(
    guards: &Guards,
    namespace: &str,
    units: i32,
    others: &[Holding],
) -> Option<FieldError> {
    let cap = guards.units_per_namespace(namespace)?;
    let held: i64 = others.iter().map(|h| i64::from(h.units)).sum();
    let total = held + i64::from(units);
    if total <= i64::from(cap.units) {
        return None;
    }
    let left = i64::from(cap.units) - held;
    let holders = if others.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            others
                .iter()
                .map(|h| format!("{} {}", h.name, h.units))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let what_to_do = if left > 0 {
        format!(
            "set spec.modelUnits to {left} or fewer, delete another throughput of the namespace, or ask the cluster admin to raise that limit"
        )
    } else {
        "delete another throughput of the namespace, or ask the cluster admin to raise that limit"
            .to_string()
    };
    Some(FieldError {
        field: "spec.modelUnits".into(),
        message: format!(
            "is {units}, but the other provisioned throughputs of namespace {namespace} already hold {held} model units{holders} and {cap} allows {} in all, so buying this one would make {total}: {what_to_do}. Nothing is bought until it fits; the operator checks again periodically",
            cap.units
        ),
    })
}

/// A commitment term in a namespace the operator's `--commitment-namespaces` leaves out.
pub fn commitment_namespace_refused(
    guards: &Guards,
    namespace: &str,
    term: CommitmentDuration,
) -> Option<FieldError> {
    let scope = &guards.commitment_namespaces;
    (!scope.allows(namespace)).then(|| FieldError {
        field: "spec.commitmentDuration".into(),
        message: format!(
            "is {term}, but this operator buys commitment terms only in the namespaces of its --commitment-namespaces (Helm guards.commitmentNamespaces), which is {scope}, and namespace {namespace} is not one: remove commitmentDuration to buy a throughput without commitment, or ask the cluster admin to add {namespace} to that setting"
        ),
    })
}

/// An ARN-valued spec field with an allow list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guarded {
    RoleArn,
    KmsKeyArn,
}

impl Guarded {
    fn field(self) -> &'static str {
        match self {
            Guarded::RoleArn => "spec.roleArn",
            Guarded::KmsKeyArn => "spec.kmsKeyArn",
        }
    }
    fn flag(self) -> &'static str {
        match self {
            Guarded::RoleArn => "--allowed-role-arns",
            Guarded::KmsKeyArn => "--allowed-kms-key-arns",
        }
    }
    fn value(self) -> &'static str {
        match self {
            Guarded::RoleArn => "allowedRoleArns",
            Guarded::KmsKeyArn => "allowedKmsKeyArns",
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Guarded::RoleArn => "role",
            Guarded::KmsKeyArn => "KMS key",
        }
    }
}

/// The prefix of every InvalidSpec message.
pub const NOTHING_SENT: &str = "the spec is invalid, so nothing was sent to AWS";

impl Guards {
    /// The patterns that apply to `field` in `namespace`, and whether they are the namespace's
    /// own (an override) rather than the global ones.
    fn patterns(&self, namespace: &str, field: Guarded) -> (&ArnPatterns, bool) {
        let own = self.namespaces.get(namespace).and_then(|n| match field {
            Guarded::RoleArn => n.allowed_role_arns.as_ref(),
            Guarded::KmsKeyArn => n.allowed_kms_key_arns.as_ref(),
        });
        match own {
            Some(own) => (own, true),
            None => match field {
                Guarded::RoleArn => (&self.allowed_role_arns, false),
                Guarded::KmsKeyArn => (&self.allowed_kms_key_arns, false),
            },
        }
    }

    /// The refusal of `value` in `field` for a resource of `namespace`, or `None` when the
    /// patterns that apply there allow it.
    pub fn arn_refused(&self, namespace: &str, field: Guarded, value: &str) -> Option<FieldError> {
        let (patterns, own) = self.patterns(namespace, field);
        if patterns.allows(value) {
            return None;
        }
        let setting = if own {
            format!(
                "the operator's setting for namespace {namespace} (--guards-file, Helm guards.namespaces.{namespace}.{}, which replaces {} there)",
                field.value(),
                field.flag()
            )
        } else {
            format!(
                "the operator's {} (Helm guards.{})",
                field.flag(),
                field.value()
            )
        };
        Some(FieldError {
            field: field.field().to_string(),
            message: format!(
                "{value} is not a {noun} this namespace may use: {setting} allows only {patterns}; name a {noun} that matches, or ask the cluster admin to allow this one",
                noun = field.noun(),
            ),
        })
    }

    /// The refusal of a deployment's or throughput's reference to the custom model `arn`
    /// (named in `field`) from `namespace`, when a BedrockCustomModel of another namespace
    /// holds it. `holders` are the cached BedrockCustomModels whose status names `arn`.
    pub fn cross_namespace_refused(
        &self,
        namespace: &str,
        field: &str,
        arn: &str,
        holders: &[OwnerRef],
    ) -> Option<FieldError> {
        if self.cross_namespace_references.allows(namespace)
            || holders.iter().any(|h| h.namespace == namespace)
        {
            return None;
        }
        let holder = holders.iter().min_by(|a, b| {
            (a.namespace.as_str(), a.name.as_str()).cmp(&(b.namespace.as_str(), b.name.as_str()))
        })?;
        Some(FieldError {
            field: field.to_string(),
            message: format!(
                "{arn} is the Bedrock model of BedrockCustomModel {}/{}, in another namespace, and the operator's --cross-namespace-references (Helm guards.crossNamespaceReferences) is {}, which does not include namespace {namespace}; use a model of this namespace (spec.modelRef), or ask the cluster admin to allow this namespace",
                holder.namespace, holder.name, self.cross_namespace_references,
            ),
        })
    }

    /// The default Bedrock name of a resource `name` in `namespace` whose spec names none
    /// (`None` when the spec names one: `given`). `held` is the Bedrock name of the object its
    /// status holds: a resource keeps the name its object was created with when that was either
    /// default, so switching `--namespaced-names` neither orphans nor duplicates an object.
    /// `field` is the spec field that would name it ("spec.modelName"), for the refusal of a
    /// composed name Bedrock would not accept.
    pub fn default_name(
        &self,
        namespace: &str,
        name: &str,
        given: Option<&str>,
        held: Option<&str>,
        field: &str,
    ) -> Result<Option<String>, FieldError> {
        if given.is_some() {
            return Ok(None);
        }
        let composed = format!("{namespace}-{name}");
        match held {
            Some(held) if held == name => return Ok(None),
            Some(held) if held == composed => return Ok(Some(composed)),
            _ => {}
        }
        if !self.namespaced_names {
            return Ok(None);
        }
        if !BEDROCK_NAME.is_match(name) {
            // Not a valid name on its own either: the kind's validation says so.
            return Ok(None);
        }
        if !BEDROCK_NAME.is_match(&composed) || composed.len() > patterns::MODEL_NAME_MAX as usize {
            return Err(FieldError {
                field: "metadata.name".to_string(),
                message: format!(
                    "with the operator's --namespaced-names (Helm guards.namespacedNames: true) and no {field}, the Bedrock name would be <metadata.namespace>-<metadata.name>, {composed} ({} characters), which is not a valid Bedrock name (1 to {} letters and digits, with single '-' or '_' between them): set {field}, or use a shorter metadata.name",
                    composed.chars().count(),
                    patterns::MODEL_NAME_MAX,
                ),
            });
        }
        Ok(Some(composed))
    }
}

/// Model, deployment and provisioned model names share one shape.
static BEDROCK_NAME: LazyLock<Regex> = LazyLock::new(|| {
    // A compile-time constant, compiled by the validation tests too.
    Regex::new(patterns::MODEL_NAME).expect("pattern constants are valid regular expressions")
});

#[cfg(test)]
#[path = "guards_tests.rs"]
mod tests;

#[cfg(test)]
mod tenancy_tests {
    use super::*;

    fn patterns(text: &str) -> ArnPatterns {
        text.parse().expect("patterns")
    }

    #[test]
    fn glob_matching() {
        let cases = [
            (
                "star alone matches anything",
                "*",
                "arn:aws:iam::1:role/x",
                true,
            ),
            ("star matches the empty value", "*", "", true),
            (
                "exact value",
                "arn:aws:iam::1:role/a",
                "arn:aws:iam::1:role/a",
                true,
            ),
            (
                "exact, longer value",
                "arn:aws:iam::1:role/a",
                "arn:aws:iam::1:role/ab",
                false,
            ),
            (
                "trailing star",
                "arn:aws:iam::1:role/team-a-*",
                "arn:aws:iam::1:role/team-a-import",
                true,
            ),
            (
                "trailing star, other prefix",
                "arn:aws:iam::1:role/team-a-*",
                "arn:aws:iam::1:role/team-b-import",
                false,
            ),
            (
                "star in the middle",
                "arn:aws:iam::*:role/import",
                "arn:aws:iam::123456789012:role/import",
                true,
            ),
            (
                "star in the middle, other suffix",
                "arn:aws:iam::*:role/import",
                "arn:aws:iam::123456789012:role/importer",
                false,
            ),
            (
                "two stars",
                "arn:aws:kms:*:111122223333:key/*",
                "arn:aws:kms:us-east-1:111122223333:key/abc",
                true,
            ),
            (
                "two stars, other account",
                "arn:aws:kms:*:111122223333:key/*",
                "arn:aws:kms:us-east-1:444455556666:key/abc",
                false,
            ),
            (
                "stars cannot overlap the fixed parts",
                "a*ba*a",
                "aba",
                false,
            ),
            (
                "no special meaning of regex characters",
                "arn.aws",
                "arnXaws",
                false,
            ),
        ];
        for (name, pattern, value, want) in cases {
            assert_eq!(glob_match(pattern, value), want, "{name}");
        }
    }

    #[test]
    fn pattern_lists() {
        let list = patterns("arn:aws:iam::1:role/a, arn:aws:iam::1:role/b-*");
        assert!(list.allows("arn:aws:iam::1:role/a"));
        assert!(list.allows("arn:aws:iam::1:role/b-x"));
        assert!(!list.allows("arn:aws:iam::1:role/c"));
        assert_eq!(
            list.to_string(),
            "arn:aws:iam::1:role/a,arn:aws:iam::1:role/b-*"
        );
        assert_eq!("".parse::<ArnPatterns>(), Err(InvalidPatterns));
        assert_eq!("a,,b".parse::<ArnPatterns>(), Err(InvalidPatterns));
        assert!(ArnPatterns::default().allows("anything"));
    }

    const ROLE_A: &str = "arn:aws:iam::111122223333:role/team-a-import";
    const ROLE_B: &str = "arn:aws:iam::111122223333:role/team-b-import";

    fn guards_with_override() -> Guards {
        Guards {
            allowed_role_arns: patterns("arn:aws:iam::111122223333:role/team-a-*"),
            namespaces: [(
                "team-b".to_string(),
                NamespaceGuards {
                    allowed_role_arns: Some(patterns(ROLE_B)),
                    ..NamespaceGuards::default()
                },
            )]
            .into(),
            ..Guards::default()
        }
    }

    #[test]
    fn role_decisions() {
        let guards = guards_with_override();
        let cases = [
            ("global patterns allow", "team-a", ROLE_A, None),
            (
                "global patterns refuse",
                "team-c",
                ROLE_B,
                Some(
                    "--allowed-role-arns (Helm guards.allowedRoleArns) allows only arn:aws:iam::111122223333:role/team-a-*",
                ),
            ),
            ("the namespace's list allows", "team-b", ROLE_B, None),
            (
                "the namespace's list replaces the global one",
                "team-b",
                ROLE_A,
                Some(
                    "setting for namespace team-b (--guards-file, Helm guards.namespaces.team-b.allowedRoleArns, which replaces --allowed-role-arns there) allows only arn:aws:iam::111122223333:role/team-b-import",
                ),
            ),
        ];
        for (name, namespace, role, want) in cases {
            let refused = guards.arn_refused(namespace, Guarded::RoleArn, role);
            match (want, refused) {
                (None, None) => {}
                (Some(want), Some(refused)) => {
                    assert_eq!(refused.field, "spec.roleArn", "{name}");
                    assert!(
                        refused.message.contains(want),
                        "{name}: {}",
                        refused.message
                    );
                    assert!(
                        refused.message.contains(role),
                        "{name}: {}",
                        refused.message
                    );
                }
                (want, refused) => panic!("{name}: want {want:?}, got {refused:?}"),
            }
        }
    }

    #[test]
    fn kms_key_decisions() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555";
        let guards = Guards {
            allowed_kms_key_arns: patterns("arn:aws:kms:*:111122223333:key/*"),
            namespaces: [(
                "locked".to_string(),
                NamespaceGuards {
                    allowed_kms_key_arns: Some(patterns("arn:aws:kms:*:999999999999:key/*")),
                    ..NamespaceGuards::default()
                },
            )]
            .into(),
            ..Guards::default()
        };
        assert_eq!(guards.arn_refused("team-a", Guarded::KmsKeyArn, key), None);
        let refused = guards
            .arn_refused("locked", Guarded::KmsKeyArn, key)
            .expect("refused by the namespace's list");
        assert_eq!(refused.field, "spec.kmsKeyArn");
        assert!(
            refused
                .message
                .contains("guards.namespaces.locked.allowedKmsKeyArns"),
            "{}",
            refused.message
        );
        assert_eq!(
            guards.arn_refused("locked", Guarded::RoleArn, ROLE_A),
            None,
            "an override of one list leaves the other global"
        );
        assert_eq!(
            Guards::default().arn_refused("any", Guarded::KmsKeyArn, key),
            None,
            "default: anything"
        );
    }

    fn held_by(namespace: &str, name: &str) -> OwnerRef {
        OwnerRef {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn cross_namespace_decisions() {
        const ARN: &str =
            "arn:aws:bedrock:us-east-1:111122223333:custom-model/imported/abcdefabcdef";
        let team_b: NamespaceScope = "team-b".parse().expect("scope");
        let cases = [
            (
                "held by another namespace, default none",
                NamespaceScope::None,
                "team-b",
                vec![held_by("team-a", "m")],
                true,
            ),
            (
                "held by another namespace, this one listed",
                team_b.clone(),
                "team-b",
                vec![held_by("team-a", "m")],
                false,
            ),
            (
                "held by another namespace, another one listed",
                team_b,
                "team-c",
                vec![held_by("team-a", "m")],
                true,
            ),
            (
                "held by another namespace, all allowed",
                NamespaceScope::All,
                "team-b",
                vec![held_by("team-a", "m")],
                false,
            ),
            (
                "held by this namespace",
                NamespaceScope::None,
                "team-a",
                vec![held_by("team-a", "m")],
                false,
            ),
            (
                "held by no cached model (a foundation model, or one made outside the operator)",
                NamespaceScope::None,
                "team-b",
                vec![],
                false,
            ),
        ];
        for (name, scope, namespace, holders, refused) in cases {
            let guards = Guards {
                cross_namespace_references: scope,
                ..Guards::default()
            };
            let got = guards.cross_namespace_refused(namespace, "spec.modelArn", ARN, &holders);
            assert_eq!(got.is_some(), refused, "{name}");
            if let Some(error) = got {
                assert_eq!(error.field, "spec.modelArn", "{name}");
                assert!(
                    error.message.contains("team-a/m"),
                    "{name}: {}",
                    error.message
                );
                assert!(
                    error.message.contains("--cross-namespace-references"),
                    "{name}: {}",
                    error.message
                );
            }
        }
    }

    #[test]
    fn default_names() {
        let on = Guards {
            namespaced_names: true,
            ..Guards::default()
        };
        let off = Guards::default();
        let long = "a".repeat(60);
        // (case, guards, spec name, held name, metadata.name, the name, or Err: refused)
        type Case<'a> = (
            &'a str,
            &'a Guards,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
            Result<Option<String>, ()>,
        );
        let cases: [Case<'_>; 9] = [
            ("off: metadata.name", &off, None, None, "chat", Ok(None)),
            (
                "on: <namespace>-<name>",
                &on,
                None,
                None,
                "chat",
                Ok(Some("team-a-chat".into())),
            ),
            (
                "on, but the spec names it",
                &on,
                Some("given"),
                None,
                "chat",
                Ok(None),
            ),
            (
                "on, object created with the plain name keeps it",
                &on,
                None,
                Some("chat"),
                "chat",
                Ok(None),
            ),
            (
                "off, object created with the composed name keeps it",
                &off,
                None,
                Some("team-a-chat"),
                "chat",
                Ok(Some("team-a-chat".into())),
            ),
            (
                "on, held name is neither default (spec.modelName removed)",
                &on,
                None,
                Some("other"),
                "chat",
                Ok(Some("team-a-chat".into())),
            ),
            (
                "on, composed name too long",
                &on,
                None,
                None,
                long.as_str(),
                Err(()),
            ),
            (
                "on, 63 characters fit",
                &on,
                None,
                None,
                &long[..56],
                Ok(Some(format!("team-a-{}", &long[..56]))),
            ),
            (
                "on, an invalid name is left to validation",
                &on,
                None,
                None,
                "chat.v1",
                Ok(None),
            ),
        ];
        for (name, guards, given, held, object, want) in cases {
            let got = guards.default_name("team-a", object, given, held, "spec.modelName");
            match (want, got) {
                (Ok(want), Ok(got)) => assert_eq!(got, want, "{name}"),
                (Err(()), Err(error)) => {
                    assert_eq!(error.field, "metadata.name", "{name}");
                    assert!(
                        error.message.contains("--namespaced-names"),
                        "{name}: {}",
                        error.message
                    );
                    assert!(
                        error.message.contains("set spec.modelName"),
                        "{name}: {}",
                        error.message
                    );
                }
                (want, got) => panic!("{name}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn the_guards_file_holds_per_namespace_lists() {
        let file = Guards::parse(
            "namespaces:\n  team-a:\n    allowedRoleArns: [\"arn:aws:iam::1:role/a-*\"]\n  team-b:\n    allowedKmsKeyArns: \"arn:aws:kms:*:1:key/*, arn:aws:kms:*:2:key/*\"\n",
        )
        .expect("valid");
        let team_a = &file.namespaces["team-a"];
        assert!(
            team_a
                .allowed_role_arns
                .as_ref()
                .is_some_and(|p| p.allows("arn:aws:iam::1:role/a-x"))
        );
        assert_eq!(team_a.allowed_kms_key_arns, None);
        let team_b = &file.namespaces["team-b"];
        assert!(
            team_b
                .allowed_kms_key_arns
                .as_ref()
                .is_some_and(|p| p.allows("arn:aws:kms:eu-west-1:2:key/k"))
        );
        assert!(
            Guards::parse("namespaces:\n  a:\n    allowedRoles: [x]\n").is_err(),
            "a typo is refused"
        );
        assert!(
            Guards::parse("namespaces:\n  a:\n    allowedRoleArns: []\n").is_err(),
            "an empty pattern list is refused"
        );
    }
}
