//! GetCustomModel throughput on loopback: `cargo bench -p bedrock-emulator --bench get_throughput`.
//!
//! Starts the emulator in process, seeds ten models, then drives GetCustomModel over several
//! keep-alive connections for a fixed number of requests per round. Prints each round and the
//! median. Tunable with BENCH_CONNECTIONS (8), BENCH_REQUESTS (20000) and BENCH_ROUNDS (5).

use std::process::ExitCode;
use std::time::Duration;

use bedrock_emulator::bench::{self, LoadOptions, ThroughputReport};
use bedrock_emulator::{Emulator, EmulatorConfig};

const TIME_LIMIT_PER_ROUND: Duration = Duration::from_secs(60);

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|value| *value > 0)
        .unwrap_or(default)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let connections = setting("BENCH_CONNECTIONS", 8);
    let requests = setting("BENCH_REQUESTS", 20_000);
    let rounds = setting("BENCH_ROUNDS", 5);

    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let url = emulator.url();
    let model_names = bench::seed_models(&url, 10).await?;
    let options = LoadOptions {
        connections,
        requests,
        model_names,
        time_limit: TIME_LIMIT_PER_ROUND,
    };
    println!(
        "GetCustomModel against {url}: {connections} keep-alive connections, {requests} requests per round, {rounds} rounds"
    );

    // Warm-up: connection set-up, allocator, lazily compiled patterns.
    bench::run_get_load(
        &url,
        &LoadOptions {
            requests: requests / 10 + 1,
            ..options.clone()
        },
    )
    .await?;

    let mut reports: Vec<ThroughputReport> = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let report = bench::run_get_load(&url, &options).await?;
        println!("round {round}: {report}");
        if report.errors > 0 {
            return Err(format!("{} requests failed", report.errors).into());
        }
        reports.push(report);
    }
    reports.sort_by(|a, b| a.requests_per_second.total_cmp(&b.requests_per_second));
    let median = &reports[reports.len() / 2];
    println!(
        "median: {:.0} requests/s; latency p50 {:?} p90 {:?} p99 {:?} max {:?}",
        median.requests_per_second, median.p50, median.p90, median.p99, median.max
    );
    emulator.shutdown().await?;
    Ok(())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("could not start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}
