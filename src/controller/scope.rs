//! Which namespaces a setting of the cluster admin applies to: all, none, or a list. Parsed
//! from flags (`--allow-adoption`, `--commitment-namespaces`) and shown back in messages the
//! way it was written.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A set of namespaces a setting applies to, as an admin writes it: `all`, `none`, or a
/// comma-separated list (`--allow-adoption`, `--commitment-namespaces`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamespaceScope {
    /// Every namespace.
    All,
    /// No namespace.
    None,
    /// Only these.
    Namespaces(BTreeSet<String>),
}

impl NamespaceScope {
    pub fn allows(&self, namespace: &str) -> bool {
        match self {
            NamespaceScope::All => true,
            NamespaceScope::None => false,
            NamespaceScope::Namespaces(allowed) => allowed.contains(namespace),
        }
    }
}

impl fmt::Display for NamespaceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamespaceScope::All => f.write_str("all"),
            NamespaceScope::None => f.write_str("none"),
            NamespaceScope::Namespaces(allowed) => {
                f.write_str(&allowed.iter().cloned().collect::<Vec<_>>().join(","))
            }
        }
    }
}

/// Why a namespace scope value was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a namespace name (lowercase letters, digits and '-', at most 63): use all, none, or a comma-separated list of namespaces"
)]
pub struct InvalidScope(String);

impl FromStr for NamespaceScope {
    type Err = InvalidScope;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "all" => return Ok(NamespaceScope::All),
            "none" => return Ok(NamespaceScope::None),
            _ => {}
        }
        let mut allowed = BTreeSet::new();
        for namespace in value.split(',').map(str::trim) {
            if !is_namespace_name(namespace) {
                return Err(InvalidScope(namespace.to_string()));
            }
            allowed.insert(namespace.to_string());
        }
        Ok(NamespaceScope::Namespaces(allowed))
    }
}

/// A DNS-1123 label, what Kubernetes accepts as a namespace name.
pub(crate) fn is_namespace_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(|b| *b != b'-')
        && bytes.last().is_some_and(|b| *b != b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_allow() {
        let cases = [
            ("all", Ok(NamespaceScope::All)),
            ("none", Ok(NamespaceScope::None)),
            (
                "team-a",
                Ok(NamespaceScope::Namespaces(["team-a".to_string()].into())),
            ),
            (
                "team-a, team-b",
                Ok(NamespaceScope::Namespaces(
                    ["team-a".to_string(), "team-b".to_string()].into(),
                )),
            ),
            ("", Err(InvalidScope(String::new()))),
            ("team-a,", Err(InvalidScope(String::new()))),
            ("Team-A", Err(InvalidScope("Team-A".into()))),
            ("-a", Err(InvalidScope("-a".into()))),
            ("*", Err(InvalidScope("*".into()))),
        ];
        for (value, want) in cases {
            assert_eq!(value.parse::<NamespaceScope>(), want, "{value:?}");
        }
        let list: NamespaceScope = "team-a,team-b".parse().expect("a list");
        assert!(list.allows("team-a"));
        assert!(!list.allows("team-c"));
        assert!(NamespaceScope::All.allows("anything"));
        assert!(!NamespaceScope::None.allows("team-a"));
        assert_eq!(list.to_string(), "team-a,team-b");
    }
}
