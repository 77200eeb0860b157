//! The bedrock-operator binary: parses the command line and runs the command (the operator
//! itself is `bedrock_operator::operator::run`).

use std::process::ExitCode;

use bedrock_operator::cli::{Cli, Command};
use clap::Parser;

/// jemalloc returns freed memory and fragments less than glibc's allocator under the
/// operator's many small allocations (measured with 10,000 resources: peak RSS after a restart
/// 70.4 → 68.1 MiB, while converging them 136 → 130 MiB; docs/benchmarks.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => match bedrock_operator::crd::crds_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot render the CRDs: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Run(args) => bedrock_operator::operator::run(*args).await,
    }
}
