//! What every kind does to a Bedrock object through its owner tags, written once: tell whose an
//! object is, claim one (adoption), and delete one for replacement only as its owner (the last
//! step of a resource's deletion is in [`super::cleanup`]).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use tracing::{debug, info};

use super::context::Context;
use super::error::Error;
use super::kind::Managed;
use super::ownership::{self, Deletion, Holder, Liveness, Me};
use crate::bedrock::{Bedrock, BedrockError, ErrorClass};

/// A Bedrock object this resource meant to take or delete turned out to be another resource's
/// (or, with no owner tag, nobody's that the operator knows).
pub(crate) struct Lost {
    pub arn: String,
    pub holder: Option<Holder>,
}

/// The object's tags as they are now; `None` when it is gone.
pub(crate) async fn tags_now<B: Bedrock>(
    ctx: &Context<B>,
    region: &str,
    arn: &str,
) -> Result<Option<BTreeMap<String, String>>, BedrockError> {
    match ctx.bedrock.list_tags(region, arn).await {
        Ok(tags) => Ok(Some(tags)),
        Err(error) if error.class() == ErrorClass::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Whether the resource an owner tag names still exists: a GET through the API server (not the
/// cache, which may lag), its UID compared with the tag's. A namespace the operator may not
/// read cannot prove the owner gone, so the owner counts as alive.
pub(crate) async fn look_up_owner<K: Managed, B: Bedrock>(
    holder: &Holder,
    ctx: &Context<B>,
) -> Result<Liveness, Error> {
    let Some(reference) = &holder.reference else {
        return Ok(Liveness::Unknown);
    };
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &reference.namespace);
    match api.get_metadata_opt(&reference.name).await {
        Ok(found) => Ok(ownership::liveness(
            holder,
            found.as_ref().and_then(|o| o.metadata.uid.as_deref()),
        )),
        Err(kube::Error::Api(status)) if status.is_forbidden() => {
            debug!(owner = %holder, "may not read the owner; taking it as alive");
            Ok(Liveness::Alive)
        }
        Err(e) => Err(Error::kube("looking up the resource the owner tags name")(
            e,
        )),
    }
}

/// How long ago an RFC 3339 time was (zero when it does not parse or is in the future).
pub(crate) fn elapsed_since(time: &str) -> Duration {
    time.parse::<Timestamp>()
        .ok()
        .and_then(|then| Duration::try_from(Timestamp::now().duration_since(then)).ok())
        .unwrap_or_default()
}

/// Puts this resource's owner tags (and its spec's tags) on an object it adopts, then reads
/// them back: another writer may have claimed it in the same moment (a second process during
/// a failover, or another cluster's operator), and the last tag written wins and says whose it
/// is.
pub(crate) async fn claim<B: Bedrock>(
    ctx: &Context<B>,
    region: &str,
    arn: &str,
    tags: &BTreeMap<String, String>,
    me: &Me<'_>,
) -> Result<Option<Lost>, BedrockError> {
    ctx.bedrock.tag(region, arn, tags).await?;
    let now = ctx.bedrock.list_tags(region, arn).await?;
    if !me.holds(&now) {
        return Ok(Some(Lost {
            arn: arn.to_string(),
            holder: ownership::holder(&now, me.cluster),
        }));
    }
    info!(arn = %arn, "adopted");
    Ok(None)
}

/// Deletes an object the plan replaces, only when its tags, read just before the call, say it
/// is this resource's; `Lost` when it is another's. Nothing to do when it is already gone.
pub(crate) async fn delete_owned<B: Bedrock>(
    ctx: &Context<B>,
    region: &str,
    arn: &str,
    me: &Me<'_>,
    delete: impl AsyncFnOnce() -> Result<bool, BedrockError>,
) -> Result<Option<Lost>, BedrockError> {
    let Some(tags) = tags_now(ctx, region, arn).await? else {
        return Ok(None);
    };
    if let Deletion::LeaveToOwner(holder) = ownership::deletion(&tags, me) {
        return Ok(Some(Lost {
            arn: arn.to_string(),
            holder,
        }));
    }
    delete().await?;
    info!(arn = %arn, "deleted for replacement");
    Ok(None)
}
