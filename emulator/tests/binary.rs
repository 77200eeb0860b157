//! The standalone binary: start on a free port, announce the URL on stdout, serve the SDK, honour
//! fault flags, exit on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bedrock_emulator::{ControlClient, Operation, RateLimit};
use common::*;

/// Kills the child if the test fails before it exits on its own.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn spawn(args: &[&str]) -> Result<(Running, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("spawn bedrock-emulator")?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let running = Running(child);
    // Read the first line on a thread so a silent child cannot hang the test.
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = sender.send(read);
    });
    let line = receiver
        .recv_timeout(WAIT_DEADLINE)
        .context("no first line on stdout in time")??;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| anyhow!("unexpected first line {line:?}"))?
        .to_owned();
    Ok((running, url))
}

fn wait_for_exit(running: &mut Running) -> Result<ExitStatus> {
    let deadline = Instant::now() + WAIT_DEADLINE;
    loop {
        if let Some(status) = running.0.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            bail!("the emulator did not exit within {WAIT_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn binary_serves_the_sdk_and_exits_on_sigterm() -> Result<()> {
    let (mut running, url) = spawn(&[
        "--listen",
        "127.0.0.1:0",
        "--ready-delay-ms",
        "0",
        "--rate-limit",
        "ListCustomModels=0.5:2",
        "--access-denied-role-arn",
        "arn:aws:iam::123456789012:role/Denied",
    ])?;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let client = sdk(&url);
    let arn = create(&client, "from-binary", "t1").await?;
    let model = client
        .get_custom_model()
        .model_identifier(&arn)
        .send()
        .await?;
    assert_eq!(
        model.model_status(),
        Some(&aws_sdk_bedrock::types::ModelStatus::Active),
        "--ready-delay-ms 0"
    );

    // The fault flags reached the emulator.
    let control = ControlClient::new(&url)?;
    let faults = control.faults().await?;
    assert_eq!(
        faults.rate_limits.get(&Operation::ListCustomModels),
        Some(&RateLimit {
            rate_per_second: 0.5,
            burst: 2
        })
    );
    assert_eq!(
        faults.access_denied_role_arns,
        vec!["arn:aws:iam::123456789012:role/Denied".to_owned()]
    );
    assert_eq!(control.create_log().await?.len(), 1);

    let pid = running.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status()?;
    assert!(status.success(), "kill -TERM {pid}");
    let exit = wait_for_exit(&mut running)?;
    assert!(exit.success(), "graceful exit, got {exit:?}");
    Ok(())
}

#[tokio::test]
async fn binary_refuses_bad_flags() -> Result<()> {
    let output = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
        .args(["--rate-limit", "NoSuchOperation=1:1"])
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("NoSuchOperation"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_bedrock-emulator"))
        .args(["--throttle-fraction", "3"])
        .output()?;
    assert!(!output.status.success(), "a fraction above 1 is refused");
    Ok(())
}
