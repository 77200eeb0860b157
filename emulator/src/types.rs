//! The data types every kind shares: tags, call counters, Bedrock's timestamp format, and the
//! wire shapes of the answers that are not about one kind (the tagging operations', the empty
//! one).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::operation::Operation;

/// A resource tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Calls per operation and outcome; the outcome is `Ok` or the error code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Counters(pub BTreeMap<Operation, BTreeMap<String, u64>>);

impl Counters {
    /// Calls of `operation` that ended with `outcome` (`"Ok"` or an error code).
    pub fn get(&self, operation: Operation, outcome: &str) -> u64 {
        self.0
            .get(&operation)
            .and_then(|outcomes| outcomes.get(outcome))
            .copied()
            .unwrap_or(0)
    }

    /// All calls of `operation`, whatever their outcome.
    pub fn total(&self, operation: Operation) -> u64 {
        self.0
            .get(&operation)
            .map(|outcomes| outcomes.values().sum())
            .unwrap_or(0)
    }
}

#[derive(Serialize)]
pub(crate) struct ListTagsForResourceOutput {
    pub tags: Vec<Tag>,
}

/// The empty `{}` answer of the operations that return nothing.
#[derive(Serialize)]
pub(crate) struct Empty {}

/// Formats a timestamp the way Bedrock does (`2026-11-22T13:53:53.123Z`); aws-sdk-rust refuses
/// anything without the `T` separator.
pub(crate) fn format_timestamp(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) mod rfc3339_millis {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_timestamp(time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

pub(crate) mod rfc3339_millis_opt {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.serialize_str(&format_timestamp(time)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|time| time.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_t_separator_and_z() {
        let time = DateTime::parse_from_rfc3339("2026-11-22T13:53:53.5+00:00")
            .map(|time| time.with_timezone(&Utc))
            .ok();
        assert_eq!(
            time.map(|time| format_timestamp(&time)).as_deref(),
            Some("2026-11-22T13:53:53.500Z")
        );
    }

    #[test]
    fn counters_serialise_by_operation_name() {
        let mut counters = Counters::default();
        counters
            .0
            .entry(Operation::GetCustomModel)
            .or_default()
            .insert("Ok".into(), 3);
        let json = serde_json::to_string(&counters).unwrap_or_default();
        assert_eq!(json, r#"{"GetCustomModel":{"Ok":3}}"#);
        let back: Counters = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.get(Operation::GetCustomModel, "Ok"), 3);
    }
}
