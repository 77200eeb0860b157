//! The controllers, wired from the kind registry ([`crate::for_each_kind!`]): for each kind, a
//! cache per watched namespace (in the shared [`Index`]) and a controller per watched
//! namespace. A kind says how it is wired through [`Wired`]: a kind that serves a model gives
//! the model's controller what it needs of it ([`ServingKind`]: its users of a model, and a
//! watch that brings back the models waiting for them), and its controller watches the models.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::core::error_boundary::DeserializeGuard;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tracing::debug;

use super::apply::Plans;
use super::context::{Context, ServingKind};
use super::driver;
use super::error::Error;
use super::index::Index;
use super::kind::Managed;
use super::ownership::OwnerRef;
use super::reference::{self, Serves};
use super::serving::Serving;
use crate::api::BedrockCustomModel;
use crate::bedrock::Bedrock;

/// A watched namespace's API of a kind (`None`: all namespaces).
pub type Scoped<K> = (Option<String>, Api<DeserializeGuard<K>>);
/// A kind's cache of one watched namespace: what reads it and what fills it.
pub type Cache<K> = (
    Store<DeserializeGuard<K>>,
    reflector::store::Writer<DeserializeGuard<K>>,
);

/// How a kind is wired. The defaults wire a kind that neither serves a model nor is one.
pub trait Wired: Plans {
    /// For a kind that serves a model: what the model's controller needs of it.
    fn serving<B: Bedrock>() -> Option<Arc<dyn ServingKind<B>>> {
        None
    }

    /// The controller of the kind in one watched namespace.
    fn controller<B: Bedrock>(
        wiring: &Wiring<B>,
        (namespace, api): Scoped<Self>,
        cache: Cache<Self>,
    ) -> BoxFuture<'static, ()> {
        let _ = namespace;
        wiring.run(wiring.for_stream(api, cache))
    }
}

/// Every kind that serves a model is wired alike: the model's controller sees it through
/// [`Served`], and its controller watches the models.
impl<K: Serving + Plans> Wired for K {
    fn serving<B: Bedrock>() -> Option<Arc<dyn ServingKind<B>>> {
        Served::<K>::erased()
    }
    fn controller<B: Bedrock>(
        wiring: &Wiring<B>,
        scoped: Scoped<Self>,
        cache: Cache<Self>,
    ) -> BoxFuture<'static, ()> {
        wiring.serving(scoped, cache)
    }
}

/// The [`ServingKind`] of kind `K`.
pub struct Served<K>(std::marker::PhantomData<fn() -> K>);

impl<K> Served<K> {
    pub fn erased<B: Bedrock>() -> Option<Arc<dyn ServingKind<B>>>
    where
        K: Managed + Serves,
    {
        Some(Arc::new(Served::<K>(std::marker::PhantomData)))
    }
}

impl<B: Bedrock, K: Managed + Serves> ServingKind<B> for Served<K> {
    fn users<'a>(
        &'a self,
        model: &'a BedrockCustomModel,
        ctx: &'a Context<B>,
    ) -> BoxFuture<'a, Result<(&'static str, Vec<OwnerRef>), Error>> {
        async move {
            let one = |r: &K| !reference::users(model, std::slice::from_ref(r)).is_empty();
            let cached = ctx.index.filter::<K>(one);
            let mut fresh = Vec::new();
            for candidate in reference::users(model, &cached) {
                let api: Api<K> = Api::namespaced(ctx.client.clone(), &candidate.namespace);
                if let Some(found) = api
                    .get_opt(&candidate.name)
                    .await
                    .map_err(Error::kube("reading a resource that uses the model"))?
                {
                    fresh.push(found);
                }
            }
            Ok((K::KIND.label.name(), reference::users(model, &fresh)))
        }
        .boxed()
    }

    fn waiting_models(
        &self,
        client: &Client,
        namespace: &Option<String>,
        ctx: Arc<Context<B>>,
    ) -> BoxStream<'static, ObjectRef<DeserializeGuard<BedrockCustomModel>>> {
        let api: Api<K> = scoped(client, namespace);
        watcher(api, driver::watcher_config())
            .default_backoff()
            .touched_objects()
            .filter_map(move |user| {
                let models = match user {
                    Ok(user) => models_waiting_for(&ctx, &user),
                    Err(error) => {
                        debug!(error = %error, kind = ?K::KIND.label, "watch of the users of models");
                        Vec::new()
                    }
                };
                futures::future::ready(Some(futures::stream::iter(models)))
            })
            .flatten()
            .boxed()
    }
}

/// The models being deleted that a serving resource (as it is now, or as it was when it went)
/// may hold up: their deletion waits for it, so they are looked at again when it changes or goes.
fn models_waiting_for<K: Serves, B: Bedrock>(
    ctx: &Context<B>,
    user: &K,
) -> Vec<ObjectRef<DeserializeGuard<BedrockCustomModel>>> {
    // Any namespace: a user may name another namespace's model by ARN.
    let one = std::slice::from_ref(user);
    ctx.index
        .filter::<BedrockCustomModel>(|model| {
            model.metadata.deletion_timestamp.is_some() && !reference::users(model, one).is_empty()
        })
        .iter()
        .map(|model| {
            ObjectRef::new(&model.name_any()).within(&model.namespace().unwrap_or_default())
        })
        .collect()
}

/// The resources of serving kind `K` whose spec.modelRef names the model: looked at again
/// when it changes.
fn referrers_of<K: Managed + Serves, B: Bedrock>(
    ctx: &Context<B>,
    model: &PartialObjectMeta<BedrockCustomModel>,
) -> Vec<ObjectRef<DeserializeGuard<K>>> {
    let namespace = model.namespace().unwrap_or_default();
    let name = model.name_any();
    ctx.index
        .filter::<K>(|r| {
            r.meta().namespace.as_deref() == Some(namespace.as_str())
                && r.model_ref() == Some(name.as_str())
        })
        .iter()
        .map(|r| ObjectRef::new(&r.name_any()).within(&namespace))
        .collect()
}

/// An API of one watched namespace, or of all.
pub fn scoped<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// What every controller is built with.
pub struct Wiring<B: Bedrock> {
    pub client: Client,
    pub ctx: Arc<Context<B>>,
    pub config: ControllerConfig,
    pub stop: tokio::sync::watch::Receiver<bool>,
}

impl<B: Bedrock> Wiring<B> {
    /// A controller of kind `K` on its own objects, through its cache.
    pub fn for_stream<K: Plans>(
        &self,
        api: Api<DeserializeGuard<K>>,
        (reader, writer): Cache<K>,
    ) -> Controller<DeserializeGuard<K>> {
        Controller::for_stream(super::trigger_stream(api, writer), reader)
            .with_config(self.config.clone())
    }

    /// Runs a controller with the shared stages until the stop signal.
    pub fn run<K: Plans>(
        &self,
        controller: Controller<DeserializeGuard<K>>,
    ) -> BoxFuture<'static, ()> {
        controller
            .graceful_shutdown_on(super::shutdown(&self.stop))
            .run(
                driver::reconcile::<K, B>,
                driver::error_policy::<K, B>,
                self.ctx.clone(),
            )
            .for_each(super::log_result)
            .boxed()
    }

    /// The models' controller in one watched namespace: its own objects, the sweep's finished
    /// imports, and the models that a resource of each serving kind held up.
    pub fn models(
        &self,
        (namespace, api): Scoped<BedrockCustomModel>,
        cache: Cache<BedrockCustomModel>,
    ) -> BoxFuture<'static, ()> {
        let mut controller = self
            .for_stream(api, cache)
            .reconcile_on(self.ctx.sweep.subscribe(namespace.clone()));
        for kind in &self.ctx.serving {
            controller = controller.reconcile_on(kind.waiting_models(
                &self.client,
                &namespace,
                self.ctx.clone(),
            ));
        }
        self.run(controller)
    }

    /// The controller of serving kind `K` in one watched namespace: its own objects, and each
    /// model that changes (becomes Ready, fails, goes) mapped to the resources referencing it.
    pub fn serving<K: Plans + Serves>(
        &self,
        (namespace, api): Scoped<K>,
        cache: Cache<K>,
    ) -> BoxFuture<'static, ()> {
        let models: Api<PartialObjectMeta<BedrockCustomModel>> = scoped(&self.client, &namespace);
        let ctx = self.ctx.clone();
        let controller = self.for_stream(api, cache).watches_stream(
            watcher(models, driver::watcher_config())
                .default_backoff()
                .touched_objects(),
            move |model| referrers_of::<K, B>(&ctx, &model),
        );
        self.run(controller)
    }
}

/// A kind's controllers, started once the context exists.
pub type Start<B> = Box<dyn FnOnce(&Wiring<B>) -> Vec<BoxFuture<'static, ()>>>;

/// The first pass over the registry: every kind's caches, before the shared context exists.
pub struct Caches<B: Bedrock> {
    client: Client,
    namespaces: Vec<String>,
    pub index: Index,
    pub ready: Vec<Box<dyn super::Ready>>,
    pub serving: Vec<Arc<dyn ServingKind<B>>>,
    /// Each kind's controllers, to start once the context exists.
    pub start: Vec<Start<B>>,
}

impl<B: Bedrock> Caches<B> {
    pub fn new(client: Client, namespaces: Vec<String>) -> Self {
        Self {
            client,
            namespaces,
            index: Index::default(),
            ready: Vec::new(),
            serving: Vec::new(),
            start: Vec::new(),
        }
    }

    /// Registers kind `K`: a cache per watched namespace, and its controllers to start.
    pub fn kind<K: Wired>(&mut self) {
        let mut parts = Vec::new();
        for (namespace, api) in super::apis::<DeserializeGuard<K>>(&self.client, &self.namespaces) {
            let (reader, writer) = reflector::store();
            self.index.add::<K>(reader.clone());
            self.ready.push(Box::new(reader.clone()));
            parts.push(((namespace, api), (reader, writer)));
        }
        self.serving.extend(K::serving::<B>());
        self.start.push(Box::new(move |wiring: &Wiring<B>| {
            parts
                .into_iter()
                .map(|(scoped, cache)| K::controller(wiring, scoped, cache))
                .collect()
        }));
    }
}
