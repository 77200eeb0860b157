//! Leader election on a coordination.k8s.io Lease (kube-lease-manager: server-side apply, so
//! two candidates can never both hold it). Only the leader reconciles; a standby is ready and
//! waits.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube_lease_manager::{LeaseCreateMode, LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::server::Health;
use crate::startup;

#[derive(Clone, Debug)]
pub struct LeaderSettings {
    pub namespace: String,
    pub lease_name: String,
    /// Unique per process: the pod name, or a generated one.
    pub identity: String,
    /// How long a lease stays valid after its last renewal.
    pub lease_duration: Duration,
    /// How long before expiry the holder renews.
    pub renew_grace: Duration,
}

/// How leading ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Stop was requested (SIGTERM); the lease was released.
    Stopped,
    /// Another process took the lease: exit, to start again as a standby.
    LostLease,
}

#[derive(Debug, thiserror::Error)]
#[error("leader election: {0}")]
pub struct Error(#[from] kube_lease_manager::LeaseManagerError);

/// Waits for the lease, then runs `work` (given a stop signal) until `stop` turns true or the
/// lease is lost; releases the lease before returning.
pub async fn lead<F, Fut>(
    client: Client,
    settings: LeaderSettings,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
    work: F,
) -> Result<Ended, Error>
where
    F: FnOnce(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()>,
{
    let build = || {
        LeaseManagerBuilder::new(client.clone(), &settings.lease_name)
            .with_namespace(&settings.namespace)
            .with_identity(&settings.identity)
            .with_duration(settings.lease_duration.as_secs().max(2))
            .with_grace(settings.renew_grace.as_secs().max(1))
            .with_create_mode(LeaseCreateMode::AutoCreate)
            .build()
    };
    let transient = |error: &LeaseManagerError| match error {
        LeaseManagerError::KubeError(error) => startup::transient(error),
        _ => false,
    };
    let manager = startup::answered("reading the leader lease", transient, build).await?;
    let (mut is_leader, lease_task) = manager.watch().await;
    // A standby that takes part in the election is ready: it serves as soon as it leads.
    health.set_ready(true);
    info!(lease = %settings.lease_name, identity = %settings.identity, "waiting for the leader lease");

    let became_leader = loop {
        if *is_leader.borrow_and_update() {
            break true;
        }
        tokio::select! {
            changed = is_leader.changed() => if changed.is_err() { break false },
            _ = stop.wait_for(|stop| *stop) => break false,
        }
    };
    if !became_leader {
        drop(is_leader);
        release(lease_task).await;
        return Ok(Ended::Stopped);
    }

    info!(identity = %settings.identity, "leading");
    metrics.leader.set(1);
    health.set_ready(false);
    let (work_stop_tx, work_stop_rx) = watch::channel(false);
    let work = work(work_stop_rx);
    tokio::pin!(work);
    let mut lost = false;
    loop {
        tokio::select! {
            () = &mut work => break,
            _ = stop.wait_for(|stop| *stop), if !*work_stop_tx.borrow() => {
                let _ = work_stop_tx.send(true);
            }
            changed = is_leader.changed(), if !*work_stop_tx.borrow() => {
                if changed.is_err() || !*is_leader.borrow_and_update() {
                    warn!(identity = %settings.identity, "lost the leader lease; stopping");
                    lost = true;
                    let _ = work_stop_tx.send(true);
                }
            }
        }
    }
    metrics.leader.set(0);
    drop(is_leader);
    release(lease_task).await;
    Ok(if lost {
        Ended::LostLease
    } else {
        Ended::Stopped
    })
}

async fn release(
    task: tokio::task::JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>,
) {
    // Dropping the receiver makes the manager's task release the lease and return.
    match task.await {
        Ok(Ok(_)) => info!("leader lease released"),
        Ok(Err(e)) => warn!(error = %e, "could not release the leader lease"),
        Err(e) => warn!(error = %e, "leader election task failed"),
    }
}
