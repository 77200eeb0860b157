//! Tenant guards: what the cluster admin allows each namespace to name (roles, KMS keys, models
//! of other namespaces) and how default Bedrock names are composed. Settings in one plain
//! struct, and pure decisions from (settings, namespace, spec values, what the caches know) to
//! a refusal, table-tested. Every refusal is decided before any Bedrock call and names the
//! setting that refused.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::ownership::OwnerRef;
use super::scope::NamespaceScope;
use crate::api::patterns;
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

/// One namespace's overrides: each list set here replaces the global one for that namespace.
/// Read from `--guards-file` (Helm `guards.namespaces.<namespace>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceGuards {
    pub allowed_role_arns: Option<ArnPatterns>,
    pub allowed_kms_key_arns: Option<ArnPatterns>,
}

/// The guards the cluster admin set (flags, Helm `guards.*`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Guards {
    /// Namespaces whose deployments and throughputs may name (by ARN or ID) a custom model that
    /// a BedrockCustomModel of another namespace holds (`--cross-namespace-references`).
    pub cross_namespace_references: NamespaceScope,
    /// The roles `spec.roleArn` may name (`--allowed-role-arns`).
    pub allowed_role_arns: ArnPatterns,
    /// The keys `spec.kmsKeyArn` may name (`--allowed-kms-key-arns`).
    pub allowed_kms_key_arns: ArnPatterns,
    /// Default Bedrock names are `<namespace>-<name>` (`--namespaced-names`).
    pub namespaced_names: bool,
    /// Per-namespace overrides (`--guards-file`).
    pub namespaces: BTreeMap<String, NamespaceGuards>,
}

impl Default for Guards {
    fn default() -> Self {
        Self {
            cross_namespace_references: NamespaceScope::None,
            allowed_role_arns: ArnPatterns::any(),
            allowed_kms_key_arns: ArnPatterns::any(),
            namespaced_names: false,
            namespaces: BTreeMap::new(),
        }
    }
}

/// What `--guards-file` holds: the per-namespace part of the guards.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardsFile {
    pub namespaces: BTreeMap<String, NamespaceGuards>,
}

/// Why `--guards-file` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GuardsFileError {
    #[error("cannot read the guards file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the guards file {path} is not valid: expected `namespaces: {{<namespace>: {{allowedRoleArns: [...], allowedKmsKeyArns: [...]}}}}`"
    )]
    Parse {
        path: String,
        #[source]
        source: serde_yaml::Error,
    },
}

impl GuardsFile {
    pub fn parse(path: &str, text: &str) -> Result<Self, GuardsFileError> {
        if text.trim().is_empty() {
            return Ok(GuardsFile::default());
        }
        serde_yaml::from_str(text).map_err(|source| GuardsFileError::Parse {
            path: path.to_string(),
            source,
        })
    }

    pub fn read(path: &str) -> Result<Self, GuardsFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| GuardsFileError::Read {
            path: path.to_string(),
            source,
        })?;
        Self::parse(path, &text)
    }
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
mod tests {
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
        let file = GuardsFile::parse(
            "guards.yaml",
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
        assert_eq!(
            GuardsFile::parse("empty", "").expect("empty"),
            GuardsFile::default()
        );
        assert_eq!(
            GuardsFile::parse("empty map", "namespaces: {}\n").expect("empty map"),
            GuardsFile::default()
        );
        assert!(GuardsFile::parse("typo", "namespaces:\n  a:\n    allowedRoles: [x]\n").is_err());
        assert!(
            GuardsFile::parse(
                "empty pattern",
                "namespaces:\n  a:\n    allowedRoleArns: []\n"
            )
            .is_err()
        );
    }
}
