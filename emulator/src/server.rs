//! Starting and stopping the server.

use std::any::Any;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::info;

use crate::api;
use crate::config::EmulatorConfig;
use crate::control;
use crate::error::{ApiError, ErrorKind};
use crate::state::EmulatorState;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid fault configuration: {0}")]
    InvalidFaults(#[source] ApiError),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The whole application: Bedrock routes, control routes, and an UnknownOperationException for
/// everything else. Useful to embed the emulator in another axum server.
pub fn router(state: Arc<EmulatorState>) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(control::routes())
        .fallback(api::unknown_operation)
        .method_not_allowed_fallback(api::unknown_operation)
        // Bodies are read by the emulator's own extractors, which enforce the limit themselves.
        .layer(DefaultBodyLimit::disable())
        // A bug must cost one request a 500, not the connection.
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn Any + Send>| {
            ApiError::new(
                ErrorKind::InternalServer,
                "The emulator failed while handling the request (a bug: see its log).",
            )
            .into_response()
        }))
        .with_state(state)
}

/// Entry point: `Emulator::start(config).await` serves until the handle is dropped.
pub struct Emulator;

impl Emulator {
    /// Starts serving on `config.listen` (a free loopback port by default).
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, StartError> {
        config
            .faults
            .validate()
            .map_err(StartError::InvalidFaults)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let state = Arc::new(EmulatorState::new(config));
        let app = router(Arc::clone(&state));
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // Either an explicit shutdown or the handle being dropped.
                    let _ = shutdown_rx.await;
                })
                .await
        });
        info!(%addr, "bedrock emulator listening");
        Ok(EmulatorHandle {
            addr,
            state,
            shutdown: Some(shutdown_tx),
            task: Some(task),
        })
    }
}

/// A running emulator. Dereferences to [`EmulatorState`] for the in-process accessors and
/// setters; dropping it stops the server.
pub struct EmulatorHandle {
    addr: SocketAddr,
    state: Arc<EmulatorState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`, for the SDK's `endpoint_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state, for code that outlives the handle's borrow.
    pub fn state(&self) -> Arc<EmulatorState> {
        Arc::clone(&self.state)
    }

    /// Stops accepting connections, lets in-flight requests finish and waits for the server.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Deref for EmulatorHandle {
    type Target = EmulatorState;

    fn deref(&self) -> &EmulatorState {
        &self.state
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
