//! The benchmark's BedrockCustomModels: creating and deleting many at once, counting them,
//! and waiting until all are Ready or gone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use bedrock_operator::api::BedrockCustomModel;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};
use testkit::wait;

use super::POLL;

const ROLE: &str = "arn:aws:iam::123456789012:role/BedrockImport";
/// Creates and deletes in flight at once.
const IN_FLIGHT: usize = 32;
/// How often a progress line is printed while waiting.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

fn spec(name: &str) -> Value {
    json!({
        "apiVersion": "bedrock-operator.dev/v1alpha1",
        "kind": "BedrockCustomModel",
        "metadata": { "name": name },
        "spec": {
            "source": { "s3Uri": format!("s3://bench-models/{name}/") },
            "roleArn": ROLE,
            "deletionPolicy": "Delete",
        },
    })
}

/// Creates every resource (POST, 32 at a time), retrying what the API server refuses.
pub(super) async fn create_all(api: &Api<BedrockCustomModel>, names: &[String]) -> Result<()> {
    let limit = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let api = api.clone();
        let limit = Arc::clone(&limit);
        let object: BedrockCustomModel = serde_json::from_value(spec(name))?;
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let mut attempt = 0;
            loop {
                match api.create(&PostParams::default(), &object).await {
                    Ok(_) => return anyhow::Ok(()),
                    Err(kube::Error::Api(e)) if e.code == 409 => return Ok(()),
                    Err(e) if attempt < 5 => {
                        attempt += 1;
                        eprintln!("bench: create retry: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

pub(super) async fn delete_all(api: &Api<BedrockCustomModel>, names: &[String]) -> Result<()> {
    let limit = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let name = name.clone();
        let api = api.clone();
        let limit = Arc::clone(&limit);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) | Err(kube::Error::Api(_)) => anyhow::Ok(()),
                Err(e) => Err(e.into()),
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(())
}

/// Every resource, in pages of 500 (a single list of 10,000 is a large response).
pub(super) async fn list_all(api: &Api<BedrockCustomModel>) -> Result<Vec<BedrockCustomModel>> {
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(items),
        }
    }
}

fn is_ready(resource: &BedrockCustomModel) -> bool {
    resource.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

/// (resources, of which Ready).
pub(super) async fn count_ready(api: &Api<BedrockCustomModel>) -> Result<(usize, usize)> {
    let items = list_all(api).await?;
    Ok((items.len(), items.iter().filter(|r| is_ready(r)).count()))
}

/// How many resources there are, from a one-item page's remainingItemCount.
pub(super) async fn count_resources(api: &Api<BedrockCustomModel>) -> Result<usize> {
    let page = api.list(&ListParams::default().limit(1)).await?;
    let more = page
        .metadata
        .continue_
        .as_deref()
        .is_some_and(|c| !c.is_empty());
    match page.metadata.remaining_item_count {
        Some(remaining) => Ok(page.items.len() + remaining.max(0) as usize),
        None if more => Ok(list_all(api).await?.len()),
        None => Ok(page.items.len()),
    }
}

/// When Ready last became True (the condition's lastTransitionTime).
pub(super) fn ready_transition(
    resource: &BedrockCustomModel,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let value = serde_json::to_value(resource).ok()?;
    let condition = value["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready" && c["status"] == "True")?
        .clone();
    chrono::DateTime::parse_from_rfc3339(condition["lastTransitionTime"].as_str()?)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Polls the list every `poll` until `size` resources are Ready (or `deadline` after `started`
/// passed: reported as not converged rather than failing the whole run); the (seconds since
/// `started`, Ready count) timeline. With `progress`, prints the count every 10 s or so.
pub(super) async fn wait_all_ready(
    api: &Api<BedrockCustomModel>,
    size: usize,
    started: Instant,
    deadline: Duration,
    poll: Duration,
    progress: bool,
) -> Result<Vec<(f64, usize)>> {
    let mut timeline = vec![(0.0, 0)];
    let mut printed = Instant::now();
    let all_ready = wait::until(
        format!("{size} resources Ready"),
        deadline.saturating_sub(started.elapsed()),
        poll,
        async || {
            let (_, ready) = count_ready(api).await?;
            let t = started.elapsed().as_secs_f64();
            timeline.push((t, ready));
            if ready >= size {
                return Ok(Some(()));
            }
            if progress && printed.elapsed() >= PROGRESS_EVERY {
                println!("bench: {ready}/{size} Ready after {t:.0} s");
                printed = Instant::now();
            }
            Ok(None)
        },
    )
    .await;
    match all_ready {
        Ok(()) => {}
        Err(error) if wait::timed_out(&error) => {
            let ready = timeline.last().map(|p| p.1).unwrap_or(0);
            eprintln!("bench: only {ready}/{size} Ready after {deadline:?}");
        }
        Err(error) => return Err(error),
    }
    Ok(timeline)
}

/// Polls until no resource is left; fails after `deadline`. With `progress`, prints how many
/// are left every 10 s or so.
pub(super) async fn wait_all_gone(
    api: &Api<BedrockCustomModel>,
    deadline: Duration,
    progress: bool,
) -> Result<()> {
    let start = Instant::now();
    let mut printed = Instant::now();
    let mut left = None;
    let gone = wait::until("every resource deleted", deadline, POLL, async || {
        let now_left = count_resources(api).await?;
        left = Some(now_left);
        if now_left == 0 {
            return Ok(Some(()));
        }
        if progress && printed.elapsed() >= PROGRESS_EVERY {
            println!(
                "bench: {now_left} resources left after {:.0} s",
                start.elapsed().as_secs_f64()
            );
            printed = Instant::now();
        }
        Ok(None)
    })
    .await;
    match gone {
        Err(error) if wait::timed_out(&error) => bail!(
            "{} resources not deleted after {deadline:?}",
            left.unwrap_or_default()
        ),
        other => other,
    }
}
