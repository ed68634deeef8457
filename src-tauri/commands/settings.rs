//! Settings commands: providers, keys, models, theme, the environment
//! import, Stop, and opening links. Each parses, calls core, maps the error.

use crate::error::IpcError;
use crate::streams::StreamRegistry;
use runnel_core::config::{Language, LocalSettings, SystemPromptPreset, Theme};
use runnel_core::service::{
    KeySaveResult, NetworkSettings, ProviderInput, SavedProvider, Service, ServiceError, UiState,
};
use runnel_core::types::key::ApiKey;
use std::sync::Arc;

/// Runs a blocking core call (keychain) off the UI thread.
async fn blocking<T: Send + 'static>(
    service: &Arc<Service>,
    f: impl FnOnce(&Service) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, IpcError> {
    let service = service.clone();
    tauri::async_runtime::spawn_blocking(move || f(&service))
        .await
        .map_err(|e| IpcError::internal(format!("background task failed: {e}")))?
        .map_err(IpcError::from)
}

async fn ui_state(service: &Arc<Service>) -> Result<UiState, IpcError> {
    blocking(service, |s| Ok(s.state())).await
}

#[tauri::command]
pub(crate) async fn get_state(state: tauri::State<'_, Arc<Service>>) -> Result<UiState, IpcError> {
    ui_state(&state).await
}

#[tauri::command]
pub(crate) async fn save_provider(
    state: tauri::State<'_, Arc<Service>>,
    provider: ProviderInput,
) -> Result<SavedProvider, IpcError> {
    blocking(&state, move |s| s.save_provider(provider)).await
}

#[tauri::command]
pub(crate) async fn duplicate_provider(
    state: tauri::State<'_, Arc<Service>>,
    id: String,
) -> Result<String, IpcError> {
    blocking(&state, move |s| s.duplicate_provider(&id)).await
}

#[tauri::command]
pub(crate) async fn delete_provider(
    state: tauri::State<'_, Arc<Service>>,
    id: String,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.delete_provider(&id)).await
}

#[tauri::command]
pub(crate) async fn set_default_provider(
    state: tauri::State<'_, Arc<Service>>,
    id: String,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.set_default_provider(&id)).await
}

#[tauri::command]
pub(crate) async fn set_theme(
    state: tauri::State<'_, Arc<Service>>,
    theme: Theme,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.set_theme(theme)).await
}

#[tauri::command]
pub(crate) async fn set_language(
    state: tauri::State<'_, Arc<Service>>,
    language: Option<Language>,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.set_language(language)).await
}

/// Tests and saves a key. The key comes in once and never goes back out.
#[tauri::command]
pub(crate) async fn set_api_key(
    state: tauri::State<'_, Arc<Service>>,
    provider_id: String,
    key: String,
    force: bool,
) -> Result<KeySaveResult, IpcError> {
    Ok(state.set_key(&provider_id, &key, force).await?)
}

/// Replaces the named system prompts.
#[tauri::command]
pub(crate) async fn set_system_prompts(
    state: tauri::State<'_, Arc<Service>>,
    prompts: Vec<SystemPromptPreset>,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.set_system_prompts(prompts)).await
}

/// Saves timeouts, retries and the proxy.
#[tauri::command]
pub(crate) async fn set_network(
    state: tauri::State<'_, Arc<Service>>,
    network: NetworkSettings,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.set_network(network)).await
}

/// Saves the proxy's password to the keychain (None deletes it). It comes in
/// once and never goes back out.
#[tauri::command]
pub(crate) async fn set_local(
    state: tauri::State<'_, Arc<Service>>,
    local: LocalSettings,
) -> Result<(), IpcError> {
    blocking(&state, move |s| s.set_local(local)).await
}

#[tauri::command]
pub(crate) async fn set_proxy_password(
    state: tauri::State<'_, Arc<Service>>,
    password: Option<String>,
) -> Result<(), IpcError> {
    let password = password.filter(|p| !p.is_empty()).map(ApiKey::new);
    blocking(&state, move |s| s.set_proxy_password(password)).await
}

#[tauri::command]
pub(crate) async fn delete_api_key(
    state: tauri::State<'_, Arc<Service>>,
    provider_id: String,
) -> Result<(), IpcError> {
    Ok(state.delete_key(&provider_id).await?)
}

#[tauri::command]
pub(crate) async fn list_models(
    state: tauri::State<'_, Arc<Service>>,
    provider_id: String,
    refresh: bool,
) -> Result<Vec<String>, IpcError> {
    Ok(state.models(&provider_id, refresh).await?)
}

#[tauri::command]
pub(crate) async fn import_env(state: tauri::State<'_, Arc<Service>>) -> Result<String, IpcError> {
    Ok(state.import_env().await?)
}

#[tauri::command]
pub(crate) fn cancel_stream(
    streams: tauri::State<'_, Arc<StreamRegistry>>,
    stream_id: String,
) -> bool {
    streams.cancel(&stream_id)
}

/// Opens an http(s) or mailto link in the system browser, never in the app window.
#[tauri::command]
pub(crate) fn open_external(url: String) -> Result<(), IpcError> {
    let safe = external_link(&url)?;
    tauri_plugin_opener::open_url(safe.as_str(), None::<&str>)
        .map_err(|e| IpcError::internal(format!("could not open the browser: {e}")))
}

/// The link to open: http(s) as given; `mailto:` with its address and at
/// most a `subject` (a model's link cannot pre-fill a body, cc or bcc).
fn external_link(url: &str) -> Result<url::Url, IpcError> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| IpcError::invalid(format!("not a valid link: {e}")))?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        "mailto" => {
            let subject: Vec<(String, String)> = parsed
                .query_pairs()
                .filter(|(k, _)| k.eq_ignore_ascii_case("subject"))
                .take(1)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            parsed.set_query(None);
            if !subject.is_empty() {
                parsed.query_pairs_mut().extend_pairs(subject);
            }
            Ok(parsed)
        }
        other => Err(IpcError::invalid(format!(
            "links with {other}: are not opened"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_mailto_keeps_only_the_subject() {
        let u = external_link("mailto:a@example.com?subject=Hi&body=secret%20stuff&cc=x@y&bcc=z@w")
            .expect("mailto");
        assert_eq!(u.as_str(), "mailto:a@example.com?subject=Hi");
        assert_eq!(
            external_link("mailto:a@example.com?body=x")
                .expect("mailto")
                .as_str(),
            "mailto:a@example.com"
        );
        assert!(external_link("javascript:alert(1)").is_err());
        assert!(external_link("file:///etc/passwd").is_err());
        assert_eq!(
            external_link("https://example.com/a?b=c")
                .expect("https")
                .as_str(),
            "https://example.com/a?b=c"
        );
    }
}
