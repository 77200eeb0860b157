//! The tenant guards: limits the cluster admin sets (flags, Helm values, and per-namespace
//! overrides read at start from `--guards-file`) on what the tenants of a shared cluster may do
//! with the operator's AWS account. Pure decisions: settings, a spec and what the API server
//! holds in, `Some(problem)` out; the reconcile stages do the reading and the refusing.
//!
//! Spend: a maximum of model units per provisioned throughput and per namespace (the sum of
//! the throughputs it holds), and which namespaces may buy a commitment term at all.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::scope::{NamespaceScope, is_namespace_name};
use crate::api::throughput::{BedrockProvisionedThroughput, CommitmentDuration};
use crate::api::validation::FieldError;

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
    /// Per-namespace overrides, by namespace name.
    pub namespaces: BTreeMap<String, NamespaceGuards>,
}

impl Default for Guards {
    /// No limit, and no namespace may buy a commitment.
    fn default() -> Self {
        Guards {
            max_model_units_per_throughput: None,
            max_model_units_per_namespace: None,
            commitment_namespaces: NamespaceScope::None,
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

#[cfg(test)]
#[path = "guards_tests.rs"]
mod tests;
