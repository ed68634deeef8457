//! Local models in the window: the installed ones and the catalog, a
//! download with its progress over a channel (Stop through the stream
//! registry, like an answer), and removal.

use crate::error::IpcError;
use crate::streams::StreamRegistry;
use runnel_core::service::local::{self, InstalledModel, LocalModelsView, PullMessage};
use runnel_core::service::Service;
use std::sync::Arc;
use tauri::ipc::Channel;

#[tauri::command]
pub(crate) async fn local_models(
    service: tauri::State<'_, Arc<Service>>,
) -> Result<LocalModelsView, IpcError> {
    let env = service.vars().clone();
    tokio::task::spawn_blocking(move || local::local_models(&env))
        .await
        .map_err(|e| IpcError::internal(format!("listing local models failed: {e}")))?
        .map_err(IpcError::from)
}

/// Downloads the catalog model `model_id`; progress arrives on `on_progress`;
/// `cancel_stream(stream_id)` stops it (the part stays for a resume).
#[tauri::command]
pub(crate) async fn pull_model(
    service: tauri::State<'_, Arc<Service>>,
    streams: tauri::State<'_, Arc<StreamRegistry>>,
    stream_id: String,
    model_id: String,
    on_progress: Channel<PullMessage>,
) -> Result<InstalledModel, IpcError> {
    let token = streams.insert(&stream_id)?;
    let engine = service.engine();
    let env = service.vars().clone();
    let result = local::pull_catalog_model(&engine, &env, &model_id, &token, &mut |m| {
        let _ = on_progress.send(m);
    })
    .await;
    streams.remove(&stream_id);
    let model = result?;
    let svc = service.inner().clone();
    let id = model.id.clone();
    tokio::task::spawn_blocking(move || svc.adopt_local_model(&id))
        .await
        .map_err(|e| IpcError::internal(format!("saving the model choice failed: {e}")))??;
    Ok(model)
}

/// Imports a `.gguf` file picked in a dialog (`RUNNEL_MODEL_IMPORT_PATH`
/// skips it): validated, copied into the models folder and adopted like a
/// download. None when the dialog was closed.
#[tauri::command]
pub(crate) async fn import_model(
    app: tauri::AppHandle,
    service: tauri::State<'_, Arc<Service>>,
) -> Result<Option<InstalledModel>, IpcError> {
    let path = match service.vars().model_import_path() {
        Some(p) => Some(p),
        None => {
            use tauri_plugin_dialog::DialogExt;
            tauri::async_runtime::spawn_blocking(move || {
                app.dialog()
                    .file()
                    .add_filter("GGUF model", &["gguf"])
                    .blocking_pick_file()
            })
            .await
            .map_err(|e| IpcError::internal(format!("the file dialog failed: {e}")))?
            .and_then(|p| p.into_path().ok())
        }
    };
    let Some(path) = path else {
        return Ok(None);
    };
    let svc = service.inner().clone();
    // Reading and copying a model of gigabytes: off the async runtime.
    let model = tokio::task::spawn_blocking(move || {
        let model = local::import_model(svc.vars(), &path, None)?;
        svc.adopt_local_model(&model.id)?;
        Ok::<_, IpcError>(model)
    })
    .await
    .map_err(|e| IpcError::internal(format!("importing the model failed: {e}")))??;
    Ok(Some(model))
}

#[tauri::command]
pub(crate) async fn remove_model(
    service: tauri::State<'_, Arc<Service>>,
    model_id: String,
) -> Result<(), IpcError> {
    Ok(local::remove_model(service.vars(), &model_id).await?)
}
