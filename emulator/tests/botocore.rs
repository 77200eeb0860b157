//! botocore as a second client: `tests/botocore/crosscheck.py` drives every emulator operation
//! with botocore's own `bedrock` and `bedrock-runtime` service models (the pinned version,
//! installed once per machine by `testkit::python`) and checks each answer against that model:
//! required output members at every depth, types and enums, success and error HTTP statuses,
//! documented error codes. This test asserts the script's verdict and that the emulator counted
//! exactly the calls the script made.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use bedrock_emulator::{EmulatorConfig, Limits, Operation};
use common::*;

/// A cold run installs botocore (a few seconds) before the script's well under a second.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(120);

#[tokio::test]
async fn botocore_parses_every_operation_as_the_service_model_has_it() -> Result<()> {
    let emulator = start_with(EmulatorConfig {
        ready_delay: Duration::ZERO,
        deployment_ready_delay: Duration::ZERO,
        deployment_update_delay: Duration::ZERO,
        provisioned_create_delay: Duration::ZERO,
        provisioned_update_delay: Duration::ZERO,
        import_job_delay: Duration::ZERO,
        limits: Limits {
            max_provisioned_model_units: 10,
            max_imported_models: 2,
            ..Limits::default()
        },
        ..test_config()
    })
    .await?;
    let python = tokio::task::spawn_blocking(testkit::python::botocore)
        .await
        .context("the install task")??;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/botocore/crosscheck.py");
    let mut command = tokio::process::Command::from(python.command());
    command
        .arg(&script)
        .env("EMULATOR_URL", emulator.url())
        .env(
            "EXPECTED_BOTOCORE",
            testkit::python::botocore_version().unwrap_or_default(),
        )
        // No credentials or configuration of the machine may leak into the client.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_BEDROCK")
        .env_remove("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
        .kill_on_drop(true);
    let output = tokio::time::timeout(SCRIPT_DEADLINE, command.output())
        .await
        .map_err(|_| {
            anyhow!(
                "{} did not finish within {SCRIPT_DEADLINE:?}",
                script.display()
            )
        })?
        .with_context(|| format!("running {}", script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        output.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        output.status
    );

    // The script's own tally of calls and outcomes is exactly what the emulator counted.
    let summary = stdout
        .lines()
        .find_map(|line| line.strip_prefix("SUMMARY "))
        .ok_or_else(|| anyhow!("no SUMMARY line in:\n{stdout}"))?;
    let tally: BTreeMap<Operation, BTreeMap<String, u64>> =
        serde_json::from_str(summary).with_context(|| format!("SUMMARY {summary}"))?;
    let counters = emulator.counters();
    assert_eq!(counters.0, tally, "emulator counters vs the script's calls");
    for operation in Operation::ALL {
        if counters.get(operation, "Ok") == 0 {
            bail!("botocore never called {operation} successfully");
        }
    }
    for (operation, code) in [
        (
            Operation::CreateCustomModelDeployment,
            "ValidationException",
        ),
        (
            Operation::GetCustomModelDeployment,
            "ResourceNotFoundException",
        ),
        (Operation::DeleteCustomModel, "ConflictException"),
        (
            Operation::CreateProvisionedModelThroughput,
            "ServiceQuotaExceededException",
        ),
        (
            Operation::CreateProvisionedModelThroughput,
            "ResourceNotFoundException",
        ),
        (
            Operation::UpdateProvisionedModelThroughput,
            "ValidationException",
        ),
        (
            Operation::DeleteProvisionedModelThroughput,
            "ConflictException",
        ),
        (Operation::CreateModelImportJob, "ConflictException"),
        (
            Operation::CreateModelImportJob,
            "ServiceQuotaExceededException",
        ),
        (Operation::GetImportedModel, "ResourceNotFoundException"),
        (Operation::DeleteImportedModel, "ResourceNotFoundException"),
        (Operation::Converse, "ResourceNotFoundException"),
        (Operation::Converse, "ValidationException"),
        (Operation::InvokeModel, "ModelErrorException"),
    ] {
        ensure!(
            counters.get(operation, code) > 0,
            "{operation} never answered {code}"
        );
    }
    Ok(())
}
