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
