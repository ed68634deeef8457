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

#[tauri::command]
pub(crate) async fn remove_model(
    service: tauri::State<'_, Arc<Service>>,
    model_id: String,
) -> Result<(), IpcError> {
    Ok(local::remove_model(service.vars(), &model_id).await?)
}
