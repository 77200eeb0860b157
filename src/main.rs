use std::process::ExitCode;

use bedrock_operator::bedrock::sdk::{SdkBedrock, SdkSettings};
use bedrock_operator::cli::{Cli, Command, RunArgs};
use bedrock_operator::{api, controller, telemetry};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => match api::crd::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot render the CRD: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Run(args) => run(args).await,
    }
}

async fn run(args: RunArgs) -> ExitCode {
    telemetry::init(args.log_format, &args.log_level);
    let client = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot reach Kubernetes (set KUBECONFIG or run in a cluster)");
            return ExitCode::FAILURE;
        }
    };
    let bedrock = SdkBedrock::from_env(SdkSettings {
        rate_limit_qps: args.rate_limit_qps,
        rate_limit_burst: args.rate_limit_burst,
        call_timeout: args.call_timeout,
    })
    .await;
    let Some(region) = args.region.clone().or_else(|| bedrock.default_region()) else {
        tracing::error!(
            "no AWS region: set --region, AWS_REGION, or a region in the AWS configuration"
        );
        return ExitCode::FAILURE;
    };
    let settings = controller::Settings {
        namespaces: args.namespaces.clone(),
        concurrency: args.concurrency,
        default_region: region,
        timing: args.timing(),
    };
    controller::run(client, bedrock, settings).await;
    ExitCode::SUCCESS
}
