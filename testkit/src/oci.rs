//! A small, deterministic OCI image writer: files → gzipped tar layers → image config →
//! manifest → (multi-arch) index, written as an [OCI image layout] folder or as one tar of it
//! (what `ctr images import`, `skopeo copy oci-archive:` and `docker load` read).
//!
//! The same inputs always give the same bytes, so the same digests: entries are sorted by path,
//! every entry's mtime is the one given (default: the Unix epoch), owners are the uid/gid given
//! (no user or group names), gzip carries no timestamp or file name, and JSON objects are
//! written with sorted keys.
//!
//! ```no_run
//! # fn demo(pause: &[u8]) -> anyhow::Result<()> {
//! use testkit::oci::{Entry, Image, Layout};
//! let image = Image::new("amd64")
//!     .layer(vec![Entry::file("pause", 0o755, pause.to_vec())])
//!     .entrypoint(["/pause"])
//!     .user("65535:65535");
//! Layout::new("testkit.local/pause:1")
//!     .image(image)
//!     .write_tar(std::path::Path::new("/tmp/pause.tar"))?;
//! # Ok(()) }
//! ```
//!
//! [OCI image layout]: https://github.com/opencontainers/image-spec/blob/main/image-layout.md

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest, HistoryBuilder,
    ImageConfigurationBuilder, ImageIndexBuilder, ImageManifestBuilder, MediaType, Os,
    PlatformBuilder, RootFsBuilder, Sha256Digest,
};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// containerd's annotation with an image's full name (`registry/repository:tag`), which `ctr
/// images import` names the image by.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation with an image's reference name (the tag, for a named image).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Mode of the parent directories a layer gets implicitly.
const IMPLICIT_DIR_MODE: u32 = 0o755;

/// What a layer entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file with these contents.
    File(Vec<u8>),
    /// A directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(String),
}

/// One entry of a layer: a path inside the image (leading `/` optional), its kind, mode and
/// owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the image's root, without a leading `/`.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits (e.g. `0o755`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

impl Entry {
    /// A regular file owned by root.
    pub fn file(path: &str, mode: u32, contents: Vec<u8>) -> Self {
        Self::new(path, EntryKind::File(contents), mode)
    }

    /// A directory owned by root.
    pub fn dir(path: &str, mode: u32) -> Self {
        Self::new(path, EntryKind::Dir, mode)
    }

    /// A symbolic link owned by root.
    pub fn symlink(path: &str, target: &str) -> Self {
        Self::new(path, EntryKind::Symlink(target.to_string()), 0o777)
    }

    fn new(path: &str, kind: EntryKind, mode: u32) -> Self {
        Self {
            path: path
                .trim_start_matches('/')
                .trim_end_matches('/')
                .to_string(),
            kind,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    /// The same entry owned by `uid:gid`.
    #[must_use]
    pub fn owner(mut self, uid: u64, gid: u64) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }
}

/// One platform's image: layers and the runtime configuration.
#[derive(Debug, Clone)]
#[must_use]
pub struct Image {
    architecture: String,
    os: String,
    variant: Option<String>,
    mtime: u64,
    layers: Vec<Vec<Entry>>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    user: Option<String>,
    env: Vec<String>,
    working_dir: Option<String>,
    labels: BTreeMap<String, String>,
}

impl Image {
    /// An empty Linux image for a Go-style architecture name (`amd64`, `arm64`, …).
    pub fn new(architecture: &str) -> Self {
        Self {
            architecture: architecture.to_string(),
            os: "linux".to_string(),
            variant: None,
            mtime: 0,
            layers: Vec::new(),
            entrypoint: Vec::new(),
            cmd: Vec::new(),
            user: None,
            env: Vec::new(),
            working_dir: None,
            labels: BTreeMap::new(),
        }
    }

    /// An empty Linux image for the architecture this code runs on.
    pub fn for_host() -> Self {
        Self::new(host_architecture())
    }

    /// The architecture variant (e.g. `v8` for arm64).
    pub fn variant(mut self, variant: &str) -> Self {
        self.variant = Some(variant.to_string());
        self
    }

    /// The modification time of every entry and the image's `created` time, in seconds since
    /// the epoch (default 0: set it to e.g. the last commit's time for meaningful dates).
    pub fn mtime(mut self, seconds: u64) -> Self {
        self.mtime = seconds;
        self
    }

    /// Adds a layer with these entries (in any order; parent directories are added as needed).
    pub fn layer(mut self, entries: Vec<Entry>) -> Self {
        self.layers.push(entries);
        self
    }

    /// Adds a layer of regular root-owned files: `(path in image, mode, contents)`.
    pub fn layer_files(self, files: &[(&str, u32, &[u8])]) -> Self {
        self.layer(
            files
                .iter()
                .map(|(path, mode, contents)| Entry::file(path, *mode, contents.to_vec()))
                .collect(),
        )
    }

    /// The program a container runs.
    pub fn entrypoint<S: Into<String>>(mut self, entrypoint: impl IntoIterator<Item = S>) -> Self {
        self.entrypoint = entrypoint.into_iter().map(Into::into).collect();
        self
    }

    /// Default arguments to the entrypoint.
    pub fn cmd<S: Into<String>>(mut self, cmd: impl IntoIterator<Item = S>) -> Self {
        self.cmd = cmd.into_iter().map(Into::into).collect();
        self
    }

    /// The user a container runs as (`uid`, `uid:gid` or a name of the image's /etc/passwd).
    pub fn user(mut self, user: &str) -> Self {
        self.user = Some(user.to_string());
        self
    }

    /// An environment variable of the container.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push(format!("{name}={value}"));
        self
    }

    /// The container's working directory.
    pub fn working_dir(mut self, dir: &str) -> Self {
        self.working_dir = Some(dir.to_string());
        self
    }

    /// A label of the image config (e.g. `org.opencontainers.image.source`).
    pub fn label(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_string(), value.to_string());
        self
    }
}

/// The Go/OCI name of the architecture this code runs on.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// A blob of the layout: its bytes and descriptor.
#[derive(Debug, Clone)]
struct Blob {
    bytes: Vec<u8>,
    descriptor: Descriptor,
}

impl Blob {
    fn new(media_type: MediaType, bytes: Vec<u8>) -> Result<Self> {
        let descriptor = DescriptorBuilder::default()
            .media_type(media_type)
            .digest(sha256_digest(&bytes)?)
            .size(bytes.len() as u64)
            .build()
            .context("building a descriptor")?;
        Ok(Self { bytes, descriptor })
    }

    fn hex(&self) -> String {
        self.descriptor.digest().digest().to_string()
    }
}

/// An image layout under one name: one image, or one per platform behind an image index.
#[derive(Debug, Clone)]
#[must_use]
pub struct Layout {
    name: String,
    images: Vec<Image>,
}

/// What [`Layout::write_layout`] or [`Layout::write_tar`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The image's full name, as `ctr images import` will call it.
    pub name: String,
    /// The digest the name points at: the manifest of a one-platform image, else the index
    /// (`sha256:…`).
    pub digest: String,
    /// Every blob's digest, sorted.
    pub blobs: Vec<String>,
}

impl Layout {
    /// A layout naming its image `name` (a full reference such as `testkit.local/pause:1`).
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            images: Vec::new(),
        }
    }

    /// Adds one platform's image.
    pub fn image(mut self, image: Image) -> Self {
        self.images.push(image);
        self
    }

    /// Writes the OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`) into `dir`.
    pub fn write_layout(&self, dir: &Path) -> Result<Written> {
        let (files, written) = self.files()?;
        for (path, bytes) in files {
            let target = dir.join(&path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&target, bytes)
                .with_context(|| format!("writing {}", target.display()))?;
        }
        Ok(written)
    }

    /// Writes the layout as one uncompressed tar (an `oci-archive`) to `path`.
    pub fn write_tar(&self, path: &Path) -> Result<Written> {
        let (files, written) = self.files()?;
        let mut entries: Vec<Entry> = files
            .into_iter()
            .map(|(path, bytes)| Entry::file(&path, 0o644, bytes))
            .collect();
        entries.push(Entry::dir("blobs", 0o755));
        entries.push(Entry::dir("blobs/sha256", 0o755));
        let bytes = tar_bytes(&entries, 0)?;
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(written)
    }

    /// Every file of the layout, by path, and what it holds.
    fn files(&self) -> Result<(BTreeMap<String, Vec<u8>>, Written)> {
        if self.images.is_empty() {
            bail!("the image layout {} has no image", self.name);
        }
        let platforms: BTreeSet<(String, Option<String>)> = self
            .images
            .iter()
            .map(|i| (i.architecture.clone(), i.variant.clone()))
            .collect();
        if platforms.len() != self.images.len() {
            bail!(
                "the image layout {} has two images for one platform",
                self.name
            );
        }
        let mut blobs = BTreeMap::new();
        let mut manifests = Vec::new();
        for image in &self.images {
            manifests.push(image_blobs(image, &mut blobs)?);
        }
        let top = if let [manifest] = manifests.as_slice() {
            manifest.clone()
        } else {
            let index = ImageIndexBuilder::default()
                .schema_version(2u32)
                .media_type(MediaType::ImageIndex)
                .manifests(manifests)
                .build()
                .context("building the image index")?;
            let blob = Blob::new(MediaType::ImageIndex, canonical_json(&index)?)?;
            let descriptor = blob.descriptor.clone();
            blobs.insert(blob.hex(), blob.bytes);
            descriptor
        };
        let mut named = top.clone();
        let annotations = [
            (ANNOTATION_IMAGE_NAME.to_string(), self.name.clone()),
            (ANNOTATION_REF_NAME.to_string(), reference_tag(&self.name)),
        ];
        named.set_annotations(Some(annotations.into_iter().collect()));
        let index = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(vec![named])
            .build()
            .context("building index.json")?;

        let mut files = BTreeMap::new();
        files.insert(
            "oci-layout".to_string(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        );
        files.insert("index.json".to_string(), canonical_json(&index)?);
        let mut digests = Vec::new();
        for (hex, bytes) in blobs {
            digests.push(format!("sha256:{hex}"));
            files.insert(format!("blobs/sha256/{hex}"), bytes);
        }
        Ok((
            files,
            Written {
                name: self.name.clone(),
                digest: top.digest().to_string(),
                blobs: digests,
            },
        ))
    }
}

/// The tag of `registry/repository:tag` (the OCI ref name), else the whole name.
fn reference_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) if !name.contains('@') => tag.to_string(),
        _ => name.to_string(),
    }
}

/// Adds one image's layers, config and manifest to `blobs`; returns the manifest's descriptor
/// (with its platform).
fn image_blobs(image: &Image, blobs: &mut BTreeMap<String, Vec<u8>>) -> Result<Descriptor> {
    let mut layer_descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for entries in &image.layers {
        let tar = tar_bytes(entries, image.mtime)?;
        diff_ids.push(sha256_digest(&tar)?.to_string());
        let blob = Blob::new(MediaType::ImageLayerGzip, gzip(&tar)?)?;
        layer_descriptors.push(blob.descriptor.clone());
        blobs.insert(blob.hex(), blob.bytes);
    }

    let mut config = ConfigBuilder::default();
    if !image.entrypoint.is_empty() {
        config = config.entrypoint(image.entrypoint.clone());
    }
    if !image.cmd.is_empty() {
        config = config.cmd(image.cmd.clone());
    }
    if let Some(user) = &image.user {
        config = config.user(user.clone());
    }
    if !image.env.is_empty() {
        config = config.env(image.env.clone());
    }
    if let Some(dir) = &image.working_dir {
        config = config.working_dir(dir.clone());
    }
    if !image.labels.is_empty() {
        config = config.labels(
            image
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<std::collections::HashMap<_, _>>(),
        );
    }
    let created = rfc3339(image.mtime)?;
    let history = image
        .layers
        .iter()
        .map(|_| {
            HistoryBuilder::default()
                .created(created.clone())
                .created_by("testkit::oci")
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .context("building the image history")?;
    let mut configuration = ImageConfigurationBuilder::default()
        .created(created)
        .architecture(Arch::from(image.architecture.as_str()))
        .os(Os::from(image.os.as_str()))
        .config(
            config
                .build()
                .context("building the image's runtime config")?,
        )
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(diff_ids)
                .build()
                .context("building the image's rootfs")?,
        )
        .history(history);
    if let Some(variant) = &image.variant {
        configuration = configuration.variant(variant.clone());
    }
    let configuration = configuration
        .build()
        .context("building the image configuration")?;
    let config_blob = Blob::new(MediaType::ImageConfig, canonical_json(&configuration)?)?;

    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config_blob.descriptor.clone())
        .layers(layer_descriptors)
        .build()
        .context("building the image manifest")?;
    blobs.insert(config_blob.hex(), config_blob.bytes);
    let manifest_blob = Blob::new(MediaType::ImageManifest, canonical_json(&manifest)?)?;
    let mut descriptor = manifest_blob.descriptor.clone();
    let mut platform = PlatformBuilder::default()
        .architecture(Arch::from(image.architecture.as_str()))
        .os(Os::from(image.os.as_str()));
    if let Some(variant) = &image.variant {
        platform = platform.variant(variant.clone());
    }
    descriptor.set_platform(Some(platform.build().context("building a platform")?));
    blobs.insert(manifest_blob.hex(), manifest_blob.bytes);
    Ok(descriptor)
}

/// A tar of `entries`, sorted by path, with the parent directories they need, every entry
/// dated `mtime`.
fn tar_bytes(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let mut by_path: BTreeMap<String, &Entry> = BTreeMap::new();
    for entry in entries {
        if entry.path.is_empty() || entry.path.split('/').any(|p| p.is_empty() || p == "..") {
            bail!("invalid path in image: {:?}", entry.path);
        }
        if by_path.insert(entry.path.clone(), entry).is_some() {
            bail!("{:?} is twice in one layer", entry.path);
        }
    }
    let implicit: Vec<Entry> = by_path
        .keys()
        .flat_map(|path| {
            let parts: Vec<&str> = path.split('/').collect();
            (1..parts.len())
                .map(|n| parts[..n].join("/"))
                .collect::<Vec<_>>()
        })
        .filter(|dir| !by_path.contains_key(dir))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|dir| Entry::dir(&dir, IMPLICIT_DIR_MODE))
        .collect();
    for dir in &implicit {
        by_path.insert(dir.path.clone(), dir);
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, entry) in by_path {
        let mut header = tar::Header::new_gnu();
        header.set_mode(entry.mode);
        header.set_uid(entry.uid);
        header.set_gid(entry.gid);
        header.set_mtime(mtime);
        let result = match &entry.kind {
            EntryKind::File(contents) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(contents.len() as u64);
                builder.append_data(&mut header, &path, contents.as_slice())
            }
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, format!("{path}/"), std::io::empty())
            }
            EntryKind::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, &path, target)
            }
        };
        result.with_context(|| format!("adding {path} to a layer"))?;
    }
    builder.into_inner().context("finishing a tar")
}

/// gzip without a file name or timestamp (flate2's `GzEncoder` writes mtime 0 and no name).
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).context("compressing a layer")?;
    encoder.finish().context("compressing a layer")
}

fn sha256_digest(bytes: &[u8]) -> Result<Digest> {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let digest: Sha256Digest = hex.parse().context("a sha256 digest")?;
    Ok(digest.into())
}

/// JSON with every object's keys sorted (oci-spec keeps annotations and labels in hash maps).
fn canonical_json(value: &impl serde::Serialize) -> Result<Vec<u8>> {
    fn sort(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    let value = serde_json::to_value(value).context("serialising OCI JSON")?;
    serde_json::to_vec(&sort(value)).context("serialising OCI JSON")
}

fn rfc3339(seconds: u64) -> Result<String> {
    let seconds = i64::try_from(seconds).context("mtime out of range")?;
    let timestamp = k8s_openapi::jiff::Timestamp::from_second(seconds)
        .with_context(|| format!("mtime {seconds} out of range"))?;
    Ok(timestamp.to_string())
}

/// Credentials for a push: `REGISTRY_USERNAME` and `REGISTRY_PASSWORD` if set, else none.
fn registry_auth() -> oci_client::secrets::RegistryAuth {
    match (
        std::env::var("REGISTRY_USERNAME"),
        std::env::var("REGISTRY_PASSWORD"),
    ) {
        (Ok(user), Ok(password)) if !user.is_empty() => {
            oci_client::secrets::RegistryAuth::Basic(user, password)
        }
        _ => oci_client::secrets::RegistryAuth::Anonymous,
    }
}

/// Pushes the image of the OCI layout at `layout` (what its `index.json` points at: one
/// platform's manifest, or an image index of several) to `reference` (`host[:port]/repo:tag`):
/// every blob, every platform's manifest by digest, then the top manifest under the tag.
/// `plain_http` talks HTTP to the registry (a registry on loopback). Returns the pushed digest.
pub async fn push_layout(layout: &Path, reference: &str, plain_http: bool) -> Result<String> {
    use oci_client::client::{ClientConfig, ClientProtocol};
    use oci_client::{Reference, RegistryOperation};

    let reference: Reference = reference
        .parse()
        .with_context(|| format!("{reference:?} is not an image reference"))?;
    let client = oci_client::Client::new(ClientConfig {
        protocol: if plain_http {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        ..ClientConfig::default()
    });
    client
        .auth(&reference, &registry_auth(), RegistryOperation::Push)
        .await
        .with_context(|| format!("authenticating to {} to push", reference.registry()))?;

    let blobs = layout.join("blobs");
    let read_blob = |digest: &str| -> Result<Vec<u8>> {
        let (algorithm, hex) = digest
            .split_once(':')
            .with_context(|| format!("{digest:?} is not a digest"))?;
        let path = blobs.join(algorithm).join(hex);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    let top: Value = serde_json::from_slice(
        &std::fs::read(layout.join("index.json")).context("reading the layout's index.json")?,
    )?;
    let [entry] = top["manifests"]
        .as_array()
        .context("index.json has no manifests")?
        .as_slice()
    else {
        bail!("index.json names more than one image");
    };
    let (digest, media_type) = descriptor(entry)?;
    let bytes = read_blob(digest)?;
    let manifests: Vec<(String, String, Vec<u8>)> = if media_type == MEDIA_TYPE_INDEX {
        let index: Value = serde_json::from_slice(&bytes)?;
        let mut manifests = Vec::new();
        for entry in index["manifests"]
            .as_array()
            .context("an index has no manifests")?
        {
            let (digest, media_type) = descriptor(entry)?;
            manifests.push((
                digest.to_string(),
                media_type.to_string(),
                read_blob(digest)?,
            ));
        }
        manifests
    } else {
        vec![(digest.to_string(), media_type.to_string(), bytes.clone())]
    };
    for (digest, media_type, manifest_bytes) in &manifests {
        let manifest: Value = serde_json::from_slice(manifest_bytes)?;
        let mut blob_descriptors = vec![&manifest["config"]];
        blob_descriptors.extend(
            manifest["layers"]
                .as_array()
                .context("a manifest has no layers")?,
        );
        for blob in blob_descriptors {
            let (blob, _) = descriptor(blob)?;
            client
                .push_blob(&reference, read_blob(blob)?, blob)
                .await
                .with_context(|| format!("pushing blob {blob} to {reference}"))?;
        }
        if manifests.len() > 1 {
            client
                .push_manifest_raw(
                    &reference.clone_with_digest(digest.clone()),
                    manifest_bytes.clone(),
                    media_type.parse()?,
                )
                .await
                .with_context(|| format!("pushing manifest {digest} to {reference}"))?;
        }
    }
    client
        .push_manifest_raw(&reference, bytes, media_type.parse()?)
        .await
        .with_context(|| format!("pushing {digest} to {reference}"))?;
    Ok(digest.to_string())
}

/// The digest and media type of an OCI descriptor.
pub fn descriptor(value: &Value) -> Result<(&str, &str)> {
    Ok((
        value["digest"]
            .as_str()
            .context("a descriptor has no digest")?,
        value["mediaType"]
            .as_str()
            .context("a descriptor has no mediaType")?,
    ))
}

/// The media type of an OCI image index.
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn pause_image(arch: &str) -> Image {
        Image::new(arch)
            .mtime(1_700_000_000)
            .layer(vec![
                Entry::file("/bin/pause", 0o755, b"\x7fELF pause".to_vec()),
                Entry::file("etc/passwd", 0o644, b"root:x:0:0::/:/pause\n".to_vec()),
                Entry::symlink("usr/bin/pause", "/bin/pause"),
                Entry::dir("tmp", 0o1777).owner(65532, 65532),
            ])
            .entrypoint(["/bin/pause"])
            .user("65532:65532")
            .env("PATH", "/bin")
            .label("z.last", "1")
            .label("a.first", "2")
    }

    fn tar_listing(bytes: &[u8]) -> Vec<(String, u32, u64, u64, u64, String)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .expect("entries")
            .map(|entry| {
                let entry = entry.expect("entry");
                let header = entry.header();
                (
                    entry.path().expect("path").display().to_string(),
                    header.mode().expect("mode"),
                    header.uid().expect("uid"),
                    header.gid().expect("gid"),
                    header.mtime().expect("mtime"),
                    format!("{:?}", header.entry_type()),
                )
            })
            .collect()
    }

    fn files_of(layout: &Layout) -> BTreeMap<String, Vec<u8>> {
        layout.files().expect("files").0
    }

    fn json_of(files: &BTreeMap<String, Vec<u8>>, path: &str) -> serde_json::Value {
        serde_json::from_slice(&files[path]).expect("json")
    }

    fn blob_json(files: &BTreeMap<String, Vec<u8>>, digest: &str) -> serde_json::Value {
        let hex = digest.trim_start_matches("sha256:");
        json_of(files, &format!("blobs/sha256/{hex}"))
    }

    #[test]
    fn the_same_image_gives_the_same_bytes() {
        let one = files_of(&Layout::new("testkit.local/pause:1").image(pause_image("amd64")));
        let two = files_of(&Layout::new("testkit.local/pause:1").image(pause_image("amd64")));
        assert_eq!(one, two);
        let other_time =
            files_of(&Layout::new("testkit.local/pause:1").image(pause_image("amd64").mtime(1)));
        assert_ne!(one["index.json"], other_time["index.json"]);
    }

    #[test]
    fn layer_entries_are_sorted_with_parents_owners_and_the_given_mtime() {
        let image = pause_image("amd64");
        let listing = tar_listing(&tar_bytes(&image.layers[0], image.mtime).expect("tar"));
        let expected = [
            ("bin/", 0o755, 0, 0, "Directory"),
            ("bin/pause", 0o755, 0, 0, "Regular"),
            ("etc/", 0o755, 0, 0, "Directory"),
            ("etc/passwd", 0o644, 0, 0, "Regular"),
            ("tmp/", 0o1777, 65532, 65532, "Directory"),
            ("usr/", 0o755, 0, 0, "Directory"),
            ("usr/bin/", 0o755, 0, 0, "Directory"),
            ("usr/bin/pause", 0o777, 0, 0, "Symlink"),
        ];
        let got: Vec<_> = listing
            .iter()
            .map(|(path, mode, uid, gid, mtime, kind)| {
                assert_eq!(*mtime, 1_700_000_000, "{path}");
                (path.as_str(), *mode, *uid, *gid, kind.as_str())
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn refuses_bad_layers() {
        let cases: &[(&str, Vec<Entry>)] = &[
            ("empty path", vec![Entry::file("/", 0o644, Vec::new())]),
            ("parent dir", vec![Entry::file("a/../b", 0o644, Vec::new())]),
            (
                "duplicate",
                vec![
                    Entry::file("a", 0o644, Vec::new()),
                    Entry::dir("/a/", 0o755),
                ],
            ),
        ];
        for (name, entries) in cases {
            assert!(tar_bytes(entries, 0).is_err(), "{name}");
        }
    }

    #[test]
    fn digests_and_sizes_match_the_blobs() {
        let files = files_of(&Layout::new("testkit.local/pause:1").image(pause_image("amd64")));
        let index = json_of(&files, "index.json");
        let top = &index["manifests"][0];
        let manifest = blob_json(&files, top["digest"].as_str().expect("digest"));
        let mut descriptors = vec![top.clone(), manifest["config"].clone()];
        descriptors.extend(manifest["layers"].as_array().expect("layers").clone());
        for descriptor in descriptors {
            let digest = descriptor["digest"].as_str().expect("digest");
            let hex = digest.trim_start_matches("sha256:");
            let bytes = &files[&format!("blobs/sha256/{hex}")];
            assert_eq!(sha256_digest(bytes).expect("digest").to_string(), digest);
            assert_eq!(descriptor["size"].as_u64(), Some(bytes.len() as u64));
        }
        // The config's diff_id is the digest of the uncompressed layer.
        let config = blob_json(&files, manifest["config"]["digest"].as_str().expect("d"));
        let layer_hex = manifest["layers"][0]["digest"]
            .as_str()
            .expect("layer")
            .trim_start_matches("sha256:");
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(files[&format!("blobs/sha256/{layer_hex}")].as_slice())
            .read_to_end(&mut tar)
            .expect("gunzip");
        assert_eq!(
            config["rootfs"]["diff_ids"][0].as_str(),
            Some(sha256_digest(&tar).expect("digest").to_string().as_str())
        );
    }

    #[test]
    fn index_json_names_the_image_and_the_config_says_how_to_run_it() {
        let files = files_of(&Layout::new("testkit.local/pause:1").image(pause_image("amd64")));
        let index = json_of(&files, "index.json");
        let top = &index["manifests"][0];
        assert_eq!(
            top["mediaType"],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(
            top["annotations"][ANNOTATION_IMAGE_NAME],
            "testkit.local/pause:1"
        );
        assert_eq!(top["annotations"][ANNOTATION_REF_NAME], "1");
        assert_eq!(top["platform"]["architecture"], "amd64");
        let manifest = blob_json(&files, top["digest"].as_str().expect("digest"));
        let config = blob_json(&files, manifest["config"]["digest"].as_str().expect("d"));
        assert_eq!(config["architecture"], "amd64");
        assert_eq!(config["os"], "linux");
        assert_eq!(config["created"], "2023-11-14T22:13:20Z");
        assert_eq!(config["config"]["Entrypoint"][0], "/bin/pause");
        assert_eq!(config["config"]["User"], "65532:65532");
        assert_eq!(config["config"]["Env"][0], "PATH=/bin");
        // Keys are sorted: labels come out in order whatever the hash map did.
        let text = String::from_utf8(
            files[&format!(
                "blobs/sha256/{}",
                manifest["config"]["digest"]
                    .as_str()
                    .expect("d")
                    .trim_start_matches("sha256:")
            )]
                .clone(),
        )
        .expect("utf-8");
        assert!(text.find("a.first") < text.find("z.last"), "{text}");
    }

    #[test]
    fn several_platforms_go_behind_an_image_index() {
        let layout = Layout::new("example.com/team/tool:v2")
            .image(pause_image("amd64"))
            .image(pause_image("arm64").variant("v8"));
        let files = files_of(&layout);
        let index = json_of(&files, "index.json");
        let top = &index["manifests"][0];
        assert_eq!(top["mediaType"], "application/vnd.oci.image.index.v1+json");
        assert_eq!(top["annotations"][ANNOTATION_REF_NAME], "v2");
        let nested = blob_json(&files, top["digest"].as_str().expect("digest"));
        let platforms: Vec<(String, Option<String>)> = nested["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .map(|m| {
                (
                    m["platform"]["architecture"].as_str().expect("arch").into(),
                    m["platform"]["variant"].as_str().map(String::from),
                )
            })
            .collect();
        assert_eq!(
            platforms,
            [("amd64".into(), None), ("arm64".into(), Some("v8".into()))]
        );
        let twice = Layout::new("x:1")
            .image(pause_image("amd64"))
            .image(pause_image("amd64"));
        assert!(twice.files().is_err());
        assert!(Layout::new("x:1").files().is_err());
    }

    #[test]
    fn reference_tags() {
        let cases = [
            ("testkit.local/pause:1", "1"),
            ("127.0.0.1:5000/app:v1.2", "v1.2"),
            ("127.0.0.1:5000/app", "127.0.0.1:5000/app"),
            ("app@sha256:abc", "app@sha256:abc"),
        ];
        for (name, tag) in cases {
            assert_eq!(reference_tag(name), tag, "{name}");
        }
    }

    #[test]
    fn the_tar_holds_the_layout_and_equals_the_folder() {
        let layout = Layout::new("testkit.local/pause:1").image(pause_image("amd64"));
        let dir = tempfile::tempdir().expect("tempdir");
        let tar_path = dir.path().join("image.tar");
        let from_tar = layout.write_tar(&tar_path).expect("tar");
        let from_dir = layout
            .write_layout(&dir.path().join("layout"))
            .expect("layout");
        assert_eq!(from_tar, from_dir);
        let bytes = std::fs::read(&tar_path).expect("read");
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut in_tar = BTreeMap::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            if entry.header().entry_type().is_file() {
                let mut contents = Vec::new();
                entry.read_to_end(&mut contents).expect("read");
                in_tar.insert(entry.path().expect("path").display().to_string(), contents);
            }
        }
        for (path, contents) in &in_tar {
            let on_disk = std::fs::read(dir.path().join("layout").join(path)).expect("file");
            assert_eq!(&on_disk, contents, "{path}");
        }
        assert!(in_tar.contains_key("oci-layout"));
        assert_eq!(in_tar.len(), 2 + from_tar.blobs.len());
    }
}
