//! `cargo xtask chaos`: the e2e chaos test (tests/e2e/chaos.rs) at full size, in release mode.

use std::path::Path;

use anyhow::Result;

/// Runs `chaos_converges_with_exactly_one_model_each` with `resources` resources and `kills`
/// operator kills; fails (non-zero exit) on any violation, which the test prints as a table.
pub fn run(root: &Path, resources: usize, kills: usize, seed: Option<u64>) -> Result<()> {
    let mut command = crate::nested_cargo();
    command
        .current_dir(root)
        .args([
            "test",
            "--release",
            "--all-features",
            "--test",
            "e2e",
            "chaos",
            "--",
            "--nocapture",
        ])
        .env("CHAOS_RESOURCES", resources.to_string())
        .env("CHAOS_KILLS", kills.to_string());
    if let Some(seed) = seed {
        command.env("CHAOS_SEED", seed.to_string());
    }
    crate::run(&mut command)
}
