//! Scripted refusals of deletion: DeleteCustomModel and DeleteImportedModel answer
//! ConflictException for a model of a scripted name until the refusal is cleared, as Bedrock does
//! for a model still in use. Keyed by name, so that a refusal can be scripted before the model
//! exists; a name covers a model of either kind.

use std::collections::HashMap;

use super::{EmulatorState, Inner, scripted_name};
use crate::error::ApiError;

/// The scripted refusals, by model name: the message, or `None` for the operation's own.
#[derive(Default)]
pub(super) struct DeleteConflicts(HashMap<String, Option<String>>);

impl DeleteConflicts {
    /// The ConflictException message deleting the model `name` answers with, if refused:
    /// the scripted message, else `default`'s.
    pub(super) fn refusal(&self, name: &str, default: impl FnOnce() -> String) -> Option<String> {
        self.0
            .get(name)
            .map(|message| message.clone().unwrap_or_else(default))
    }
}

impl Inner {
    /// The model name a refusal is scripted for: a valid name as is, the ARN of an existing
    /// custom or imported model as its name.
    fn conflict_name(&self, identifier: &str) -> Result<String, ApiError> {
        scripted_name(identifier, |arn| {
            self.models
                .resolve(arn)
                .map(|model| model.name.clone())
                .or_else(|| self.imports.model_name(arn))
        })
    }
}

impl EmulatorState {
    /// Makes DeleteCustomModel and DeleteImportedModel answer ConflictException for this model
    /// (by name, or ARN of an existing model of either kind) until cleared; `None` words it as
    /// the operation does.
    pub fn set_delete_conflict(
        &self,
        identifier: &str,
        message: Option<String>,
    ) -> Result<(), ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let name = inner.conflict_name(identifier)?;
        inner.delete_conflicts.0.insert(name, message);
        Ok(())
    }

    /// Lets the model's deletion succeed again; returns whether a conflict was set.
    pub fn clear_delete_conflict(&self, identifier: &str) -> Result<bool, ApiError> {
        let now = self.now();
        let mut inner = self.lock();
        inner.imports.settle(now);
        let name = inner.conflict_name(identifier)?;
        Ok(inner.delete_conflicts.0.remove(&name).is_some())
    }
}
