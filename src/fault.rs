//! Test-only fault points, compiled in only with the `fault-points` feature (the end-to-end
//! tests enable it; release builds never have it).

/// Called right after CreateCustomModel returned and before the status is written. With
/// `BEDROCK_OPERATOR_FAULT=crash-after-create`, the process dies on the spot (as SIGKILL
/// would leave it), so a test can prove that a restart creates no second model.
#[cfg(feature = "fault-points")]
pub fn after_create() {
    if std::env::var("BEDROCK_OPERATOR_FAULT").as_deref() == Ok("crash-after-create") {
        // abort() skips destructors and flushes nothing, as a kill would.
        std::process::abort();
    }
}

#[cfg(not(feature = "fault-points"))]
#[inline(always)]
pub fn after_create() {}

/// The operator's clock: the wall clock, plus, with the `fault-points` feature, the seconds
/// written in the file `BEDROCK_OPERATOR_FAULT_CLOCK_FILE` names (read at each use), so that an
/// end-to-end test can move the operator's clock with the emulator's (a commitment term ends
/// in seconds instead of a month).
#[cfg(feature = "fault-points")]
pub fn now() -> k8s_openapi::jiff::Timestamp {
    let now = k8s_openapi::jiff::Timestamp::now();
    let offset = std::env::var_os("BEDROCK_OPERATOR_FAULT_CLOCK_FILE")
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.trim().parse::<i64>().ok())
        .unwrap_or_default();
    now.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(offset))
        .unwrap_or(now)
}

#[cfg(not(feature = "fault-points"))]
#[inline(always)]
pub fn now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}
