//! Scripted failures, shared by deployments and Provisioned Throughput: a queue of "the next
//! `count` creates (or updates), or those of one name, fail", used up as they hit.

use crate::error::ApiError;
use crate::validate;

/// A scripted failure of one resource kind (its public, serialisable form).
pub(super) trait Scripted: Clone {
    type Phase: Copy + PartialEq;

    fn phase(&self) -> Self::Phase;
    /// The resource name it is limited to; any resource when `None`.
    fn target(&self) -> Option<&str>;
    fn remaining(&mut self) -> &mut u32;
    fn message(&self) -> Option<&str>;
}

/// Scripted failures not yet used, in the order they were added.
pub(super) struct FailureQueue<F> {
    pending: Vec<F>,
}

impl<F: Scripted> FailureQueue<F> {
    pub(super) fn new() -> Self {
        FailureQueue {
            pending: Vec::new(),
        }
    }

    /// Checks a failure before it is queued: a valid name (`member` names the field in
    /// messages), a count of at least 1.
    pub(super) fn check(failure: &mut F, member: &str) -> Result<(), ApiError> {
        if let Some(name) = failure.target()
            && !validate::is_valid_model_name(name)
        {
            return Err(ApiError::validation(format!(
                "{member} '{name}' is not a valid name"
            )));
        }
        if *failure.remaining() == 0 {
            return Err(ApiError::validation("count must be at least 1"));
        }
        Ok(())
    }

    /// Takes the first failure for `phase` that applies to `name` (one naming it wins over one
    /// for any resource), counts it down and returns its message (`default` when it has none).
    pub(super) fn take(&mut self, phase: F::Phase, name: &str, default: &str) -> Option<String> {
        let applies = |failure: &F, named: bool| {
            failure.phase() == phase
                && match failure.target() {
                    Some(target) => named && target == name,
                    None => !named,
                }
        };
        let index = self
            .pending
            .iter()
            .position(|failure| applies(failure, true))
            .or_else(|| {
                self.pending
                    .iter()
                    .position(|failure| applies(failure, false))
            })?;
        let failure = &mut self.pending[index];
        let message = failure.message().unwrap_or(default).to_owned();
        let remaining = failure.remaining();
        *remaining = remaining.saturating_sub(1);
        if *remaining == 0 {
            self.pending.remove(index);
        }
        Some(message)
    }

    pub(super) fn push(&mut self, failure: F) {
        self.pending.push(failure);
    }

    pub(super) fn pending(&self) -> Vec<F> {
        self.pending.clone()
    }

    /// Drops every pending failure; returns how many there were.
    pub(super) fn clear(&mut self) -> usize {
        std::mem::take(&mut self.pending).len()
    }
}
