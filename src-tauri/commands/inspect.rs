//! Inspect (issue 16): the exchange stored with an answer, for the Inspect
//! panel, and its export as the bytes received (`.sse`) or JSON lines.

use crate::commands::conversations::{with_store, ChatState};
use crate::error::IpcError;
use runnel_core::config::env::Env;
use runnel_core::engine::trace::{Trace, TraceLine};
use runnel_core::store::StoreError;
use runnel_core::types::error::ErrorKind;
use runnel_core::types::files::write_private;
use serde::{Deserialize, Serialize};

/// An answer's trace as the Inspect panel shows it.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct TraceView {
    /// Request, response, events, comments, retries and the end, in order
    /// (the history the request repeats put back).
    lines: Vec<TraceLine>,
    /// Bytes of the response body kept.
    raw_bytes: usize,
    /// The request as a `curl` command, the key as `$OPENAI_API_KEY` or
    /// `$ANTHROPIC_API_KEY`.
    curl: Option<String>,
}

/// How a trace is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum TraceFormat {
    /// The response body's bytes as received.
    Sse,
    /// One JSON object a line (`runnel ask --trace`).
    Jsonl,
}

fn stored(s: &runnel_core::store::Store, id: &str) -> Result<Trace, StoreError> {
    let t = s.trace(id)?.ok_or_else(|| {
        StoreError::Invalid(
            "This answer has no trace: tracing was off, or it was stored before traces were kept"
                .into(),
        )
    })?;
    Ok(runnel_core::turn::resolve_trace(s, t))
}

/// The trace of answer `id`.
#[tauri::command]
pub(crate) async fn message_trace(
    chat: tauri::State<'_, ChatState>,
    id: String,
) -> Result<TraceView, IpcError> {
    with_store(&chat, move |s| {
        let t = stored(s, &id)?;
        Ok(TraceView {
            curl: t.curl(),
            raw_bytes: t.raw.len(),
            lines: t.lines,
        })
    })
    .await
}

/// Writes the trace of answer `id` through a save dialog (or to
/// `RUNNEL_EXPORT_PATH`); returns where, or None when the dialog was closed.
#[tauri::command]
pub(crate) async fn export_trace(
    app: tauri::AppHandle,
    chat: tauri::State<'_, ChatState>,
    id: String,
    format: TraceFormat,
) -> Result<Option<String>, IpcError> {
    let name = format!("runnel-{}", id.chars().take(12).collect::<String>());
    let bytes = with_store(&chat, move |s| {
        let t = stored(s, &id)?;
        Ok(match format {
            TraceFormat::Sse => t.raw,
            TraceFormat::Jsonl => t.to_jsonl().into_bytes(),
        })
    })
    .await?;
    let ext = match format {
        TraceFormat::Sse => "sse",
        TraceFormat::Jsonl => "jsonl",
    };
    let path = match Env::process().export_path() {
        Some(p) => Some(p),
        None => {
            use tauri_plugin_dialog::DialogExt;
            let file = format!("{name}.{ext}");
            tauri::async_runtime::spawn_blocking(move || {
                app.dialog()
                    .file()
                    .set_file_name(file)
                    .add_filter(ext, &[ext])
                    .blocking_save_file()
            })
            .await
            .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?
            .and_then(|p| p.into_path().ok())
        }
    };
    let Some(path) = path else { return Ok(None) };
    write_private(&path, &bytes).map_err(|e| {
        IpcError::new(
            ErrorKind::Storage,
            format!("could not write {}: {e}", path.display()),
        )
    })?;
    Ok(Some(path.display().to_string()))
}
