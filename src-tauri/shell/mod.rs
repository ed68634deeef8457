//! The Tauri layer: managed state, commands that call core and map errors to one
//! serialized `{kind, message}`, and the window. Streams reach the window over a
//! `tauri::ipc::Channel` per stream; a stream-id -> CancellationToken registry
//! lives in managed state.

mod chat;

use crate::core::secrets::{OsKeychain, Secrets};
use crate::core::service::{
    EnvProvider, KeySaveResult, ProviderInput, SavedProvider, Service, ServiceError, UiState,
};
use crate::core::settings::{SettingsStore, Theme, APP_ID};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tauri::{WebviewUrl, WebviewWindowBuilder};
use tokio_util::sync::CancellationToken;

/// The error every command returns: `{kind, message}`.
#[derive(Debug, Clone, Serialize)]
pub struct IpcError {
    /// Stable kind (`busy`, `invalid`, `internal`, or an engine kind).
    pub kind: String,
    /// Plain message.
    pub message: String,
}

impl IpcError {
    fn new(kind: &str, message: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            message: message.into(),
        }
    }
}

impl From<ServiceError> for IpcError {
    fn from(e: ServiceError) -> Self {
        let info = e.to_info();
        Self {
            kind: info.kind.as_str().to_owned(),
            message: info.message,
        }
    }
}

/// Running streams, by id.
#[derive(Debug, Default)]
pub struct StreamRegistry {
    map: Mutex<HashMap<String, CancellationToken>>,
}

impl StreamRegistry {
    fn insert(&self, id: &str) -> Result<CancellationToken, IpcError> {
        let mut map = self
            .map
            .lock()
            .map_err(|_| IpcError::new("internal", "stream registry poisoned"))?;
        if map.contains_key(id) {
            return Err(IpcError::new(
                "invalid",
                format!("stream id {id} is already in use"),
            ));
        }
        let token = CancellationToken::new();
        map.insert(id.to_owned(), token.clone());
        Ok(token)
    }

    fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }

    /// Cancels a stream; false if it is not running.
    pub fn cancel(&self, id: &str) -> bool {
        match self.map.lock().ok().and_then(|m| m.get(id).cloned()) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn cancel_all(&self) {
        if let Ok(map) = self.map.lock() {
            map.values().for_each(CancellationToken::cancel);
        }
    }
}

/// Runs a blocking core call (keychain) off the UI thread.
async fn blocking<T: Send + 'static>(
    service: &Arc<Service>,
    f: impl FnOnce(&Service) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, IpcError> {
    let service = service.clone();
    tauri::async_runtime::spawn_blocking(move || f(&service))
        .await
        .map_err(|e| IpcError::new("internal", format!("background task failed: {e}")))?
        .map_err(IpcError::from)
}

async fn ui_state(service: &Arc<Service>) -> Result<UiState, IpcError> {
    blocking(service, |s| Ok(s.state())).await
}

#[tauri::command]
async fn get_state(state: tauri::State<'_, Arc<Service>>) -> Result<UiState, IpcError> {
    ui_state(&state).await
}

#[tauri::command]
async fn save_provider(
    state: tauri::State<'_, Arc<Service>>,
    provider: ProviderInput,
) -> Result<SavedProvider, IpcError> {
    blocking(&state, move |s| s.save_provider(provider)).await
}

#[tauri::command]
async fn duplicate_provider(
    state: tauri::State<'_, Arc<Service>>,
    id: String,
) -> Result<String, IpcError> {
    blocking(&state, move |s| s.duplicate_provider(&id)).await
}

#[tauri::command]
async fn delete_provider(
    state: tauri::State<'_, Arc<Service>>,
    id: String,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.delete_provider(&id)).await
}

#[tauri::command]
async fn set_default_provider(
    state: tauri::State<'_, Arc<Service>>,
    id: String,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.set_default_provider(&id)).await
}

#[tauri::command]
async fn set_theme(state: tauri::State<'_, Arc<Service>>, theme: Theme) -> Result<(), IpcError> {
    blocking(&state, move |s| s.set_theme(theme)).await
}

/// Tests and saves a key. The key comes in once and never goes back out.
#[tauri::command]
async fn set_api_key(
    state: tauri::State<'_, Arc<Service>>,
    provider_id: String,
    key: String,
    force: bool,
) -> Result<KeySaveResult, IpcError> {
    Ok(state.set_key(&provider_id, &key, force).await?)
}

#[tauri::command]
async fn delete_api_key(
    state: tauri::State<'_, Arc<Service>>,
    provider_id: String,
) -> Result<(), IpcError> {
    Ok(state.delete_key(&provider_id).await?)
}

#[tauri::command]
async fn list_models(
    state: tauri::State<'_, Arc<Service>>,
    provider_id: String,
    refresh: bool,
) -> Result<Vec<String>, IpcError> {
    Ok(state.models(&provider_id, refresh).await?)
}

#[tauri::command]
async fn import_env(state: tauri::State<'_, Arc<Service>>) -> Result<String, IpcError> {
    Ok(state.import_env().await?)
}

#[tauri::command]
fn cancel_stream(streams: tauri::State<'_, Arc<StreamRegistry>>, stream_id: String) -> bool {
    streams.cancel(&stream_id)
}

/// Opens an http(s) or mailto link in the system browser, never in the app window.
#[tauri::command]
fn open_external(url: String) -> Result<(), IpcError> {
    let parsed = url::Url::parse(&url)
        .map_err(|e| IpcError::new("invalid", format!("not a valid link: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https" | "mailto") {
        return Err(IpcError::new(
            "invalid",
            format!("links with {}: are not opened", parsed.scheme()),
        ));
    }
    tauri_plugin_opener::open_url(parsed.as_str(), None::<&str>)
        .map_err(|e| IpcError::new("internal", format!("could not open the browser: {e}")))
}

/// True for URLs that belong to the app's own pages.
fn is_app_url(url: &url::Url) -> bool {
    match url.scheme() {
        "tauri" => true,
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

/// Whether WebKitGTK should draw the page without GPU compositing: when the
/// user has not chosen (`WEBKIT_DISABLE_COMPOSITING_MODE` unset; `0` keeps
/// compositing) and the machine has no GPU render node in `dri` (`/dev/dri`).
/// Without a GPU, compositing runs on Mesa's software GL (llvmpipe), which the
/// window benchmark measured at about 3x the start time, 1.4x the memory and
/// half the frame rate of WebKit's non-composited drawing.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn needs_software_drawing(user_choice: Option<&std::ffi::OsStr>, dri: &std::path::Path) -> bool {
    if user_choice.is_some() {
        return false;
    }
    let has_render_node = std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    !has_render_node
}

/// Entry point of the `runnel-window` binary: logs, then the window until
/// it closes; returns the process exit code.
pub fn main() -> i32 {
    crate::cli::init_logging("warn");
    match run() {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "Runnel could not start");
            eprintln!("runnel: could not start the window: {e}");
            1
        }
    }
}

/// Runs the desktop app until its window closes.
pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(target_os = "linux")]
    if needs_software_drawing(
        std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").as_deref(),
        std::path::Path::new("/dev/dri"),
    ) {
        tracing::info!("no GPU render node: WebKit draws without compositing");
        // Only the main thread runs yet: nothing reads the environment concurrently.
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    let secrets = Arc::new(Secrets::new(Arc::new(OsKeychain::new(APP_ID))));
    let service = Arc::new(Service::new(
        SettingsStore::default_location(),
        secrets,
        EnvProvider::from_env(),
    )?);
    tracing::info!(settings = %service.settings_path().display(), "starting Runnel");
    let streams = Arc::new(StreamRegistry::default());
    let streams_on_exit = streams.clone();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(service)
        .manage(chat::ChatState::open())
        .manage(streams)
        .invoke_handler(tauri::generate_handler![
            get_state,
            save_provider,
            duplicate_provider,
            delete_provider,
            set_default_provider,
            set_theme,
            set_api_key,
            delete_api_key,
            list_models,
            import_env,
            cancel_stream,
            open_external,
            chat::store_problem,
            chat::reset_store,
            chat::list_conversations,
            chat::open_conversation,
            chat::rename_conversation,
            chat::pin_conversation,
            chat::delete_conversation,
            chat::undo_delete,
            chat::search_conversations,
            chat::activate_version,
            chat::export_conversation,
            chat::import_conversation,
            chat::send_message
        ])
        .setup(|app| {
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                .title("Runnel")
                .inner_size(1040.0, 780.0)
                .min_inner_size(420.0, 360.0)
                .on_navigation(|url| {
                    let allowed = is_app_url(url);
                    if !allowed {
                        tracing::warn!(
                            scheme = url.scheme(),
                            "blocked navigation away from the app"
                        );
                    }
                    allowed
                })
                .build()?;
            Ok(())
        })
        .build(tauri::generate_context!())?;
    app.run(move |_handle, event| {
        if let tauri::RunEvent::ExitRequested { .. } = event {
            streams_on_exit.cancel_all();
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_drawing_only_without_a_gpu_and_without_a_user_choice() {
        let dir = std::env::temp_dir().join(format!("runnel-dri-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // No /dev/dri at all (a VM, a container, Xvfb on a server).
        assert!(needs_software_drawing(None, &dir));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("card0"), b"").expect("card");
        // A display card without a render node is still no GPU for WebKit.
        assert!(needs_software_drawing(None, &dir));
        std::fs::write(dir.join("renderD128"), b"").expect("node");
        assert!(!needs_software_drawing(None, &dir));
        // The user's setting wins either way.
        let _ = std::fs::remove_file(dir.join("renderD128"));
        assert!(!needs_software_drawing(Some("0".as_ref()), &dir));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_app_urls_navigate() {
        let ok = |s: &str| is_app_url(&url::Url::parse(s).expect("url"));
        assert!(ok("tauri://localhost/index.html"));
        assert!(ok("http://tauri.localhost/"));
        assert!(!ok("https://example.com/"));
        assert!(!ok("file:///etc/passwd"));
    }

    #[test]
    fn registry_cancels_and_rejects_duplicates() {
        let r = StreamRegistry::default();
        let t = r.insert("s1").expect("insert");
        assert!(r.insert("s1").is_err());
        assert!(r.cancel("s1"));
        assert!(t.is_cancelled());
        r.remove("s1");
        assert!(!r.cancel("s1"));
    }
}
