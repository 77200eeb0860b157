//! Why a reconcile did not finish; the error policy turns it into a retry delay.

use kube::runtime::finalizer;

use crate::bedrock::BedrockError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Bedrock: {0}")]
    Bedrock(#[source] Box<BedrockError>),
    #[error("Kubernetes API: {0}")]
    Kube(#[source] kube::Error),
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
    /// A bounded label for metrics: the Bedrock error class, or where it failed.
    pub fn category(&self) -> &'static str {
        match self.bedrock() {
            Some(bedrock) => bedrock.class().as_str(),
            None => match self.innermost() {
                Error::Kube(_) => "kubernetes",
                Error::Waiting(_) | Error::WaitingUntil(..) => "waiting",
                Error::Bedrock(_) => "bedrock",
                Error::Finalizer(_) => "finalizer",
            },
        }
    }

    /// The Bedrock error at the bottom of this one, if any.
    pub fn bedrock(&self) -> Option<&BedrockError> {
        match self.innermost() {
            Error::Bedrock(e) => Some(e),
            _ => None,
        }
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
        Error::Bedrock(Box::new(error))
    }
}
