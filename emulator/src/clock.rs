//! The emulator's clock: the wall clock plus an offset tests move forward, so that a month-long
//! commitment term (or any delay) can end without waiting for it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::rfc3339_millis;

/// Where the emulator's clock stands (`GET /__emulator/clock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockStatus {
    /// The emulator's now.
    #[serde(with = "rfc3339_millis")]
    pub now: DateTime<Utc>,
    /// How far it is ahead of the wall clock.
    pub offset_ms: u64,
}

/// How far to move the clock (`POST /__emulator/clock`): `advanceSeconds`, `advanceMs` or both
/// (they add up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ClockAdvance {
    pub advance_seconds: u64,
    pub advance_ms: u64,
}

impl ClockAdvance {
    /// The whole step, or `None` when it overflows.
    pub fn duration(&self) -> Option<std::time::Duration> {
        std::time::Duration::from_secs(self.advance_seconds)
            .checked_add(std::time::Duration::from_millis(self.advance_ms))
    }
}
