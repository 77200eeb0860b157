//! The GitHub Actions workflows in `.github/workflows/` pass actionlint (built once per machine
//! from its own Go module by `testkit::gotools::ACTIONLINT`), which checks their syntax, the
//! expressions, the inputs of the actions they use and the permissions; and the release workflow
//! publishes with the commands the test suite runs against its local registry.
//!
//! shellcheck is not run on the `run:` scripts (it is not a Go program; actionlint is told not to
//! look for it, so that a machine that has it and one that does not lint alike).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde_yaml::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workflows() -> Result<Vec<PathBuf>> {
    let dir = root().join(".github/workflows");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml")
        {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs actionlint on `files` from `dir`; returns (success, what it printed).
fn actionlint(dir: &Path, files: &[PathBuf]) -> Result<(bool, String)> {
    let binary = testkit::gotools::ACTIONLINT.ensure()?.join("actionlint");
    let output = Command::new(&binary)
        .current_dir(dir)
        .args(["-no-color", "-shellcheck=", "-pyflakes="])
        .args(files)
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), printed))
}

#[test]
fn every_workflow_passes_actionlint() -> Result<()> {
    let files = workflows()?;
    let names: Vec<_> = files
        .iter()
        .filter_map(|file| file.file_name()?.to_str())
        .collect();
    assert!(
        names.contains(&"ci.yml") && names.contains(&"release.yml"),
        "the workflows are {names:?}"
    );
    let (success, printed) = actionlint(root(), &files)?;
    assert!(success, "actionlint found problems:\n{printed}");
    Ok(())
}

#[test]
fn actionlint_rejects_a_misspelt_action_input() -> Result<()> {
    // The lint above is only worth something if actionlint knows the actions' inputs.
    let release = std::fs::read_to_string(root().join(".github/workflows/release.yml"))?;
    let broken = release.replacen("subject-digest:", "subject-digset:", 1);
    assert_ne!(broken, release, "release.yml attests with subject-digest");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("release.yml");
    std::fs::write(&file, broken)?;
    let (success, printed) = actionlint(dir.path(), &[file])?;
    assert!(!success, "actionlint passed a misspelt input:\n{printed}");
    assert!(
        printed.contains("\"subject-digset\" is not defined"),
        "actionlint printed:\n{printed}"
    );
    Ok(())
}

/// The `run:` scripts of one job of a workflow.
fn run_scripts(workflow: &str, job: &str) -> Result<Vec<String>> {
    let path = root().join(".github/workflows").join(workflow);
    let text = std::fs::read_to_string(&path)?;
    let document: Value = serde_yaml::from_str(&text)?;
    let steps = document["jobs"][job]["steps"]
        .as_sequence()
        .with_context(|| format!("{workflow} has no job {job} with steps"))?;
    Ok(steps
        .iter()
        .filter_map(|step| step["run"].as_str().map(str::to_owned))
        .collect())
}

#[test]
fn the_release_publishes_with_the_commands_the_tests_run() -> Result<()> {
    let scripts = run_scripts("release.yml", "publish")?.join("\n");
    for command in [
        "cargo xtask image --platform linux/amd64,linux/arm64",
        "--push",
        "cargo xtask chart --push",
        "cosign sign --yes",
    ] {
        assert!(
            scripts.contains(command),
            "the publish job does not run {command:?}:\n{scripts}"
        );
    }
    // A second build elsewhere must give the published digest.
    let rebuild = run_scripts("release.yml", "reproducible")?.join("\n");
    for command in [
        "cargo xtask image --platform linux/amd64,linux/arm64",
        "\"$rebuilt\" != \"$PUBLISHED\"",
    ] {
        assert!(
            rebuild.contains(command),
            "the reproducible job does not run {command:?}:\n{rebuild}"
        );
    }
    // Both workflows test with the one test command, which is also CI's.
    for workflow in ["ci.yml", "release.yml"] {
        let scripts = run_scripts(workflow, "test")?;
        assert!(
            scripts.iter().any(|script| script.trim() == "bash .ci/run"),
            "{workflow} does not run bash .ci/run: {scripts:?}"
        );
    }
    Ok(())
}
