//! Why a reconcile did not finish; the error policy turns it into a retry delay, and the stage
//! driver shows on the resource whatever a stage did not show itself.

use kube::runtime::finalizer;

use crate::bedrock::BedrockError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Bedrock call failed; `shown` when the stage already wrote it to the resource (with the
    /// status its plan had reached).
    #[error("Bedrock: {error}")]
    Bedrock {
        #[source]
        error: Box<BedrockError>,
        shown: bool,
    },
    /// A Kubernetes API call failed while `action` (words for a message: "reading the
    /// referenced BedrockCustomModel").
    #[error("Kubernetes API, {action}: {source}")]
    Kube {
        action: &'static str,
        #[source]
        source: kube::Error,
    },
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    /// The deletion waits for other resources (the message says which); the finalizer stays,
    /// and the watch on those resources brings the reconcile back when they go.
    #[error("waiting: {0}")]
    Waiting(String),
    /// The deletion waits for a moment (the end of a commitment term) that is `1` from now; the
    /// finalizer stays and the reconcile comes back then, with no call before.
    #[error("waiting: {0}")]
    WaitingUntil(String, std::time::Duration),
}

impl Error {
    /// A failed Kubernetes API call made while `action`, for `map_err`.
    pub fn kube(action: &'static str) -> impl FnOnce(kube::Error) -> Error {
        move |source| Error::Kube { action, source }
    }

    /// A failed Bedrock call the stage has already shown on the resource.
    pub fn shown(error: BedrockError) -> Self {
        Error::Bedrock {
            error: Box::new(error),
            shown: true,
        }
    }

    /// A bounded label for metrics: the Bedrock error class, or where it failed.
    pub fn category(&self) -> &'static str {
        match self.bedrock() {
            Some(bedrock) => bedrock.class().as_str(),
            None => match self.innermost() {
                Error::Kube { .. } => "kubernetes",
                Error::Waiting(_) | Error::WaitingUntil(..) => "waiting",
                Error::Bedrock { .. } => "bedrock",
                Error::Finalizer(_) => match self.kube_call() {
                    Some(_) => "kubernetes",
                    None => "finalizer",
                },
            },
        }
    }

    /// The Bedrock error at the bottom of this one, if any.
    pub fn bedrock(&self) -> Option<&BedrockError> {
        match self.innermost() {
            Error::Bedrock { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The failed Kubernetes API call at the bottom of this one, with what it was for: the
    /// stages' own calls, and the finalizer's patches.
    pub fn kube_call(&self) -> Option<(&'static str, &kube::Error)> {
        match self.innermost() {
            Error::Kube { action, source } => Some((action, source)),
            Error::Finalizer(e) => match e.as_ref() {
                finalizer::Error::AddFinalizer(source) => Some(("adding the finalizer", source)),
                finalizer::Error::RemoveFinalizer(source) => {
                    Some(("removing the finalizer", source))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether a stage already showed this failure on the resource.
    pub fn is_shown(&self) -> bool {
        matches!(self.innermost(), Error::Bedrock { shown: true, .. })
    }

    /// Whether the reconcile is waiting for other resources rather than failing.
    pub fn waiting(&self) -> bool {
        matches!(
            self.innermost(),
            Error::Waiting(_) | Error::WaitingUntil(..)
        )
    }

    /// How long a reconcile waiting for a known moment waits.
    pub fn waiting_until(&self) -> Option<std::time::Duration> {
        match self.innermost() {
            Error::WaitingUntil(_, wait) => Some(*wait),
            _ => None,
        }
    }

    /// This error with the finalizer wrapping taken off.
    fn innermost(&self) -> &Error {
        match self {
            Error::Finalizer(e) => match e.as_ref() {
                finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => {
                    inner.innermost()
                }
                _ => self,
            },
            other => other,
        }
    }
}

impl From<BedrockError> for Error {
    fn from(error: BedrockError) -> Self {
        Error::Bedrock {
            error: Box::new(error),
            shown: false,
        }
    }
}
