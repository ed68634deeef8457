//! Local models as the faces show and manage them: the installed models and
//! the catalog (one view for the window's onboarding and Settings), and a
//! download whose progress a face relays.

use crate::config::env::Env;
use crate::engine::local::catalog;
use crate::engine::local::download::{self, PullError, PullEvent, PullRequest};
use crate::engine::local::library::{Library, LibraryError, LocalModel};
use crate::engine::local::LocalRuntime;
use crate::engine::Engine;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// An installed model as the window lists it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct InstalledModel {
    /// Its id (the provider `local`'s model id).
    pub id: String,
    /// The model's own name, else its id.
    pub name: String,
    /// File size in bytes.
    pub size: u64,
    /// Architecture (llama, qwen2...), when the file could be read.
    pub architecture: Option<String>,
    /// Quantization (Q4_K_M...).
    pub quantization: Option<String>,
    /// Trained context length.
    pub context_length: Option<u64>,
    /// Why it cannot be used, when its header is damaged.
    pub problem: Option<String>,
}

/// A catalog model as the window offers it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct CatalogModel {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Download size in bytes.
    pub size: u64,
    /// License.
    pub license: String,
    /// Trained context length.
    pub context: u32,
    /// Memory needed to run it, in bytes (an estimate).
    pub ram_needed: u64,
    /// Its page on Hugging Face.
    pub page: String,
    /// Already installed.
    pub installed: bool,
}

/// The local models view.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct LocalModelsView {
    /// Where models live.
    pub models_dir: String,
    /// Installed models, by id.
    pub installed: Vec<InstalledModel>,
    /// The catalog, smallest first.
    pub catalog: Vec<CatalogModel>,
    /// The model first start offers.
    pub default_model: String,
}

/// A download's progress, as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PullMessage {
    /// Bytes arrived.
    Progress {
        /// Bytes so far.
        done: u64,
        /// The file's size, when known.
        total: Option<u64>,
        /// Bytes per second.
        bytes_per_s: f64,
        /// Seconds left.
        eta_s: Option<f64>,
    },
    /// The connection dropped; resuming.
    Resuming {
        /// Bytes kept.
        at: u64,
    },
    /// Checking the file's hash and header.
    Verifying,
}

fn installed_view(m: &LocalModel) -> InstalledModel {
    let info = m.info.as_ref().ok();
    InstalledModel {
        id: m.id.clone(),
        name: info
            .and_then(|i| i.name.clone())
            .unwrap_or_else(|| m.id.clone()),
        size: m.size,
        architecture: info.map(|i| i.architecture.clone()),
        quantization: info.and_then(|i| i.quantization.clone()),
        context_length: info.and_then(|i| i.context_length),
        problem: m.info.as_ref().err().cloned(),
    }
}

/// The models folder in force.
pub fn library(env: &Env) -> Library {
    Library::new(env.models_dir())
}

/// Installed models and the catalog.
pub fn local_models(env: &Env) -> Result<LocalModelsView, LibraryError> {
    let lib = library(env);
    let installed: Vec<InstalledModel> = lib.list()?.iter().map(installed_view).collect();
    let catalog = catalog::entries()
        .iter()
        .map(|e| CatalogModel {
            id: e.id.to_owned(),
            name: e.name.to_owned(),
            size: e.size,
            license: e.license.to_owned(),
            context: e.context,
            ram_needed: e.ram_needed(),
            page: e.page(),
            installed: installed.iter().any(|m| m.id == e.id),
        })
        .collect();
    Ok(LocalModelsView {
        models_dir: lib.dir().display().to_string(),
        installed,
        catalog,
        default_model: catalog::default_model().to_owned(),
    })
}

/// Downloads the catalog model `id` (from `RUNNEL_HF_ENDPOINT` or the hub),
/// relaying progress; the installed model on success.
pub async fn pull_catalog_model(
    engine: &Engine,
    env: &Env,
    id: &str,
    cancel: &CancellationToken,
    on_message: &mut (dyn FnMut(PullMessage) + Send),
) -> Result<InstalledModel, PullError> {
    let entry = catalog::find(id).ok_or_else(|| LibraryError::NoSuchModel(id.to_owned()))?;
    let request = PullRequest {
        url: entry.url(&catalog::endpoint()),
        id: entry.id.to_owned(),
        sha256: Some(entry.sha256.to_owned()),
        disk_limit: None,
    };
    let model = download::pull(
        engine.client(),
        &library(env),
        &request,
        cancel,
        &mut |ev| {
            let message = match ev {
                PullEvent::Progress(p) => PullMessage::Progress {
                    done: p.done,
                    total: p.total,
                    bytes_per_s: p.bytes_per_s,
                    eta_s: p.eta_s,
                },
                PullEvent::Resuming { at, .. } => PullMessage::Resuming { at },
                PullEvent::Verifying => PullMessage::Verifying,
                // Catalog models always carry a pinned hash.
                PullEvent::Unverified { .. } => return,
            };
            on_message(message);
        },
    )
    .await?;
    Ok(installed_view(&model))
}

/// Copies the GGUF file at `path` into the models folder as `id` (default:
/// from its file name), after checking it is a whole GGUF model (magic,
/// version, metadata) and that the disk has room; a partial copy never stays.
pub fn import_model(
    env: &Env,
    path: &std::path::Path,
    id: Option<&str>,
) -> Result<InstalledModel, LibraryError> {
    Ok(installed_view(&library(env).import(path, id)?))
}

/// Deletes an installed model (unloading it first).
pub async fn remove_model(env: &Env, id: &str) -> Result<(), LibraryError> {
    let lib = library(env);
    let path = lib.path_of(id)?;
    LocalRuntime::global().unload(&path).await;
    lib.remove(id)
}
