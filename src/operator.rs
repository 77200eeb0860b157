//! The `run` command: the operator process from start to exit. It reads the flags, finds the
//! cluster and the AWS region, serves `/metrics`, `/livez` and `/readyz`, runs the controllers
//! (under leader election when asked), and on SIGTERM lets in-flight reconciles finish.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tracing::{error, info};

use crate::bedrock::sdk::{SdkBedrock, SdkSettings};
use crate::cli::RunArgs;
use crate::leader::{self, Ended, LeaderSettings};
use crate::metrics::Metrics;
use crate::server::{self, Health};
use crate::{cluster, controller, telemetry};

/// Runs the operator until it is stopped: the process's exit code.
pub async fn run(args: RunArgs) -> ExitCode {
    telemetry::init(args.log_format, &args.log_level);
    let client = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(e) => {
            error!(error = %e, "cannot reach Kubernetes (set KUBECONFIG or run in a cluster)");
            return ExitCode::FAILURE;
        }
    };
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let sdk = SdkBedrock::from_env(SdkSettings {
        rate_limit_qps: args.rate_limit_qps,
        rate_limit_burst: args.rate_limit_burst,
        call_timeout: args.call_timeout,
    })
    .await;
    let Some(region) = args.region.clone().or_else(|| sdk.default_region()) else {
        error!("no AWS region: set --region, AWS_REGION, or a region in the AWS configuration");
        return ExitCode::FAILURE;
    };
    let guards = match args.guards() {
        Ok(guards) => guards,
        Err(e) => {
            error!(error = %e, "cannot read the tenant guards");
            return ExitCode::FAILURE;
        }
    };
    // Served from here on: alive (and not ready) while the cluster ID waits for the API server.
    let listener = match server::bind(args.admin_address).await {
        Ok(listener) => listener,
        Err(e) => {
            error!(error = %e, address = %args.admin_address, "cannot listen on the admin address");
            return ExitCode::FAILURE;
        }
    };
    let (admin_stop_tx, mut admin_stop_rx) = watch::channel(false);
    let admin = tokio::spawn(server::serve(
        listener,
        metrics.clone(),
        health.clone(),
        async move {
            let _ = admin_stop_rx.wait_for(|stop| *stop).await;
        },
    ));

    let cluster = match cluster::identify(&client, args.cluster_name.as_deref()).await {
        Ok(cluster) => cluster,
        Err(e) => {
            error!(error = %e, "cannot tell which cluster this is");
            return stop_admin(admin, admin_stop_tx, &args, ExitCode::FAILURE).await;
        }
    };
    info!(cluster = %cluster, "cluster identity for owner tags");
    let bedrock = sdk.with_metrics(metrics.clone());
    let settings = controller::Settings {
        cluster,
        namespaces: args.namespaces.clone(),
        concurrency: args.concurrency,
        default_region: region,
        timing: args.timing(),
        adoption: args.allow_adoption.clone(),
        guards,
    };

    // SIGTERM/SIGINT → stop taking work, finish in-flight reconciles, release the lease, exit.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        info!("shutdown requested");
        let _ = stop_tx.send(true);
    });
    let code = if args.leader_election {
        let identity = args.identity.clone().unwrap_or_else(random_identity);
        let lease = LeaderSettings {
            namespace: args.leader_election_namespace.clone(),
            lease_name: args.leader_election_lease_name.clone(),
            identity,
            lease_duration: args.leader_election_lease_duration,
            renew_grace: (args.leader_election_lease_duration / 3).max(Duration::from_secs(1)),
        };
        let work = {
            let (client, metrics, health) = (client.clone(), metrics.clone(), health.clone());
            move |stop| controller::run(client, bedrock, settings, metrics, health, stop)
        };
        match leader::lead(
            client,
            lease,
            health.clone(),
            metrics.clone(),
            stop_rx,
            work,
        )
        .await
        {
            Ok(Ended::Stopped) => ExitCode::SUCCESS,
            Ok(Ended::LostLease) => ExitCode::from(2),
            Err(e) => {
                error!(error = %e, "leader election failed");
                ExitCode::FAILURE
            }
        }
    } else {
        metrics.leader.set(1);
        controller::run(
            client,
            bedrock,
            settings,
            metrics.clone(),
            health.clone(),
            stop_rx,
        )
        .await;
        ExitCode::SUCCESS
    };

    health.set_ready(false);
    stop_admin(admin, admin_stop_tx, &args, code).await
}

/// Stops the admin server and says goodbye: the exit code, `code` unless the server failed.
async fn stop_admin(
    admin: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: watch::Sender<bool>,
    args: &RunArgs,
    code: ExitCode,
) -> ExitCode {
    let _ = stop.send(true);
    match admin.await {
        Ok(Err(e)) => {
            error!(error = %e, address = %args.admin_address, "admin server failed");
            return ExitCode::FAILURE;
        }
        Err(e) => error!(error = %e, "admin server task failed"),
        Ok(Ok(())) => {}
    }
    info!("bye");
    code
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn random_identity() -> String {
    let suffix: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(10)
        .map(char::from)
        .collect::<String>()
        .to_lowercase();
    format!("bedrock-operator-{suffix}")
}
