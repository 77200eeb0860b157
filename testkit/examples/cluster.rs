//! The developer cluster without xtask: `cargo run -p testkit --example cluster -- up|down|status`.

use anyhow::{Result, bail};

#[tokio::main]
async fn main() -> Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("up") => println!("{}", testkit::cluster::up().await?.display()),
        Some("down") => testkit::cluster::down().await?,
        Some("status") => match testkit::cluster::status()? {
            Some(state) => println!("{}", serde_json::to_string_pretty(&state)?),
            None => println!(
                "no cluster recorded in {}",
                testkit::cluster::state_dir().display()
            ),
        },
        _ => bail!("usage: cluster up|down|status"),
    }
    Ok(())
}
