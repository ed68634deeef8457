//! Files for the next message: picked in a dialog, or dropped or pasted
//! (their bytes). Core's `attach` reads and prepares each one; they wait
//! here, by id, until `send_message` takes them or the window removes them.
//! The window gets names, kinds and sizes, never the bytes back.

use crate::commands::conversations::{with_store, ChatState};
use crate::error::IpcError;
use runnel_core::attach::{self, MAX_ATTACHMENTS};
use runnel_core::config::env::Env;
use runnel_core::render::view::AttachmentView;
use runnel_core::types::attachment::{Attachment, AttachmentKind};
use runnel_core::types::error::ErrorKind;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;

/// Prepared files waiting for the next send, by id; at most
/// [`MAX_ATTACHMENTS`], so a stuck window cannot pile up memory.
#[derive(Default)]
pub struct Staged(Mutex<HashMap<String, Attachment>>);

impl Staged {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Attachment>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the files `ids` names, in that order, for a send.
    pub fn take(&self, ids: &[String]) -> Result<Vec<Attachment>, IpcError> {
        let mut map = self.lock();
        if let Some(missing) = ids.iter().find(|id| !map.contains_key(*id)) {
            return Err(IpcError::new(
                ErrorKind::Invalid,
                format!("the attached file {missing} is gone: attach it again"),
            ));
        }
        Ok(ids.iter().filter_map(|id| map.remove(id)).collect())
    }

    /// Puts files back (a send that could not start keeps them).
    pub fn put_back(&self, ids: &[String], files: Vec<Attachment>) {
        let mut map = self.lock();
        for (id, f) in ids.iter().zip(files) {
            map.insert(id.clone(), f);
        }
    }

    /// The content key and bytes of a waiting image.
    fn image(&self, id: &str) -> Option<(String, std::sync::Arc<[u8]>)> {
        self.lock()
            .get(id)
            .filter(|a| a.kind == AttachmentKind::Image)
            .map(|a| (a.sha256.clone(), a.data.clone()))
    }

    fn add(&self, prepared: Vec<Result<Attachment, String>>) -> Attached {
        let mut map = self.lock();
        let mut out = Attached::default();
        for p in prepared {
            match p {
                Ok(f) if map.len() >= MAX_ATTACHMENTS => out.refused.push(format!(
                    "{}: at most {MAX_ATTACHMENTS} files go with one message",
                    f.name
                )),
                Ok(f) => {
                    let id = runnel_core::store::new_id();
                    out.files.push(AttachmentView::of(&id, &f));
                    map.insert(id, f);
                }
                Err(why) => out.refused.push(why),
            }
        }
        out
    }
}

/// What an attach did: the files now waiting, and each one refused, with why.
#[derive(Debug, Default, Serialize, ts_rs::TS)]
pub struct Attached {
    /// Prepared and waiting for the send.
    pub files: Vec<AttachmentView>,
    /// One line per file that cannot go: its name and why.
    pub refused: Vec<String>,
}

/// Picks files in a dialog (`RUNNEL_ATTACH_PATHS` skips it) and prepares them.
#[tauri::command]
pub(crate) async fn attach_files(
    app: tauri::AppHandle,
    staged: tauri::State<'_, Staged>,
) -> Result<Attached, IpcError> {
    let paths: Vec<PathBuf> = match Env::process().attach_paths() {
        Some(p) => p,
        None => {
            use tauri_plugin_dialog::DialogExt;
            tauri::async_runtime::spawn_blocking(move || {
                // No filter: what a file is comes from its bytes, not its name.
                app.dialog().file().blocking_pick_files()
            })
            .await
            .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.into_path().ok())
            .collect()
        }
    };
    // Decoding and downscaling take a while: off the async runtime.
    let prepared = tauri::async_runtime::spawn_blocking(move || {
        paths
            .iter()
            .map(|p| attach::from_path(p).map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?;
    Ok(staged.add(prepared))
}

/// Prepares a dropped or pasted file from its bytes (the raw request body;
/// its name, percent-encoded, in the `x-file-name` header).
#[tauri::command]
pub(crate) async fn attach_bytes(
    staged: tauri::State<'_, Staged>,
    request: tauri::ipc::Request<'_>,
) -> Result<Attached, IpcError> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "attach_bytes takes the file's bytes",
        ));
    };
    let name = request
        .headers()
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .unwrap_or_else(|| "file".to_owned());
    let bytes = bytes.clone();
    let prepared = tauri::async_runtime::spawn_blocking(move || {
        attach::from_bytes(&name, &bytes).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?;
    Ok(staged.add(vec![prepared]))
}

/// Drops a waiting file the window removed.
#[tauri::command]
pub(crate) fn unstage_attachment(staged: tauri::State<'_, Staged>, id: String) {
    staged.lock().remove(&id);
}

/// Stages a sent message's files again, for its edit: they go with the
/// edited message unless the window removes them first.
#[tauri::command]
pub(crate) async fn stage_message_files(
    chat: tauri::State<'_, ChatState>,
    staged: tauri::State<'_, Staged>,
    message_id: String,
) -> Result<Attached, IpcError> {
    let files = with_store(&chat, move |s| s.attachment_files(&message_id)).await?;
    Ok(staged.add(files.into_iter().map(Ok).collect()))
}

/// Thumbnails kept, newest last: a conversation drawn again, or a chip
/// moved from the composer to the sent message, does not decode again.
const THUMBNAILS_KEPT: usize = 64;

/// Recent thumbnails by content key (at most [`THUMBNAILS_KEPT`]).
#[derive(Default)]
pub struct Thumbnails(Mutex<VecDeque<(String, String)>>);

impl Thumbnails {
    fn get(&self, key: &str) -> Option<String> {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter()
            .find(|(k, _)| k == key)
            .map(|(_, url)| url.clone())
    }

    fn put(&self, key: String, url: String) {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= THUMBNAILS_KEPT {
            kept.pop_front();
        }
        kept.push_back((key, url));
    }
}

/// A small picture of an image, as a `data:` URL: `id` is a waiting
/// file's id or a stored file's content key. The web view gets this, never
/// the image itself.
#[tauri::command]
pub(crate) async fn attachment_thumbnail(
    chat: tauri::State<'_, ChatState>,
    staged: tauri::State<'_, Staged>,
    thumbnails: tauri::State<'_, Thumbnails>,
    id: String,
) -> Result<String, IpcError> {
    let (key, bytes) = match staged.image(&id) {
        Some(found) => found,
        None => {
            if let Some(url) = thumbnails.get(&id) {
                return Ok(url);
            }
            let key = id.clone();
            let bytes = with_store(&chat, move |s| s.blob(&id)).await?;
            (key, std::sync::Arc::from(bytes))
        }
    };
    if let Some(url) = thumbnails.get(&key) {
        return Ok(url);
    }
    let url = tauri::async_runtime::spawn_blocking(move || attach::thumbnail_url(&bytes))
        .await
        .map_err(|e| IpcError::new(ErrorKind::Internal, e.to_string()))?
        .map_err(|why| IpcError::new(ErrorKind::Invalid, format!("no thumbnail: {why}")))?;
    thumbnails.put(key, url.clone());
    Ok(url)
}

/// Decodes `%XX` escapes (as `encodeURIComponent` writes them); invalid
/// escapes stay as they are, invalid UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn names_come_back_as_written() {
        assert_eq!(percent_decode("caf%C3%A9%20menu.png"), "café menu.png");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
