//! Compare (issue 16): one prompt to 2-4 provider/model pairs at once. The
//! user message is stored once and each answer as a version of that turn;
//! every column streams on its own connection with its own Stop (its stream
//! id in the registry); the user then picks the one to continue with
//! (`activate_version`).

use crate::commands::attach::Staged;
use crate::commands::conversations::{with_store, ChatState};
use crate::commands::send::{LiveStream, Sink};
use crate::error::IpcError;
use crate::streams::StreamRegistry;
use runnel_core::protocol::Sampling;
use runnel_core::render::feed::{StreamEnd, StreamMessage};
use runnel_core::render::view::{message_views, MessageView};
use runnel_core::service::Service;
use runnel_core::turn::{self, SendSettings};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tauri::ipc::Channel;

/// One column: where it asks, and the stream id its Stop cancels.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
pub struct CompareTarget {
    /// A saved provider (None: the default one).
    pub provider_id: Option<String>,
    /// The model (None: the provider's default).
    pub model: Option<String>,
    /// The column's stream id (for `cancel_stream`).
    pub stream_id: String,
}

/// A message of one column's stream.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CompareMessage {
    /// The column (0-based, as the targets were given).
    pub column: usize,
    /// Its stream's message.
    pub message: StreamMessage,
}

/// What a compared send recorded.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct CompareSent {
    conversation_id: String,
    user_message: MessageView,
    /// Each column's answer id, in column order.
    answer_ids: Vec<String>,
}

/// Records the turn and starts every column's stream at once.
#[allow(clippy::too_many_arguments)] // a Tauri command takes its IPC arguments one by one
#[tauri::command]
pub(crate) async fn compare_message(
    service: tauri::State<'_, Arc<Service>>,
    chat: tauri::State<'_, ChatState>,
    streams: tauri::State<'_, Arc<StreamRegistry>>,
    conversation_id: String,
    targets: Vec<CompareTarget>,
    system_prompt: String,
    sampling: Option<Sampling>,
    text: String,
    attachments: Option<Vec<String>>,
    staged: tauri::State<'_, Staged>,
    on_event: Channel<CompareMessage>,
) -> Result<CompareSent, IpcError> {
    let sampling = sampling.unwrap_or_default();
    let settings_of = |t: &CompareTarget| SendSettings {
        provider: t.provider_id.clone(),
        model: t.model.clone(),
        system_prompt: system_prompt.clone(),
        thinking_budget: None,
        sampling,
    };
    let first = targets.first().map(settings_of).unwrap_or_default();
    let mut tokens = Vec::with_capacity(targets.len());
    for t in &targets {
        match streams.insert(&t.stream_id) {
            Ok(token) => tokens.push(token),
            Err(e) => {
                targets.iter().for_each(|t| streams.remove(&t.stream_id));
                return Err(e);
            }
        }
    }
    // Every column gets the same files; they were prepared once.
    let file_ids = attachments.unwrap_or_default();
    let files = match staged.take(&file_ids) {
        Ok(f) => f,
        Err(e) => {
            targets.iter().for_each(|t| streams.remove(&t.stream_id));
            return Err(e);
        }
    };
    let kept = files.clone();
    let (conv, n) = (conversation_id.clone(), targets.len());
    let prepared = with_store(&chat, move |s| {
        let p = turn::prepare_compare(s, &conv, &first, &text, n, &files)?;
        let none = Default::default();
        let user = message_views(s, &conv, vec![p[0].user_message.clone()], &none)?.remove(0);
        Ok((p, user))
    })
    .await;
    let (prepared, user_view) = match prepared {
        Ok(p) => p,
        Err(e) => {
            // Nothing was stored: the files wait for the next try.
            staged.put_back(&file_ids, kept);
            targets.iter().for_each(|t| streams.remove(&t.stream_id));
            return Err(e);
        }
    };
    let store = chat.store()?;
    let sent = CompareSent {
        conversation_id,
        user_message: user_view,
        answer_ids: prepared.iter().map(|p| p.answer.id.clone()).collect(),
    };
    for (column, ((target, prepared), token)) in
        targets.iter().zip(prepared).zip(tokens).enumerate()
    {
        let channel = on_event.clone();
        let sink: Sink =
            Arc::new(move |message| channel.send(CompareMessage { column, message }).is_ok());
        let settings = settings_of(target);
        // A column whose provider cannot be used ends with its error; the
        // others go on.
        let endpoint = match turn::endpoint(&service, &settings).await {
            Ok(e) => e,
            Err(e) => {
                let info = e.to_info();
                turn::fail_before_stream(&store, &prepared, &info);
                streams.remove(&target.stream_id);
                sink(StreamMessage::End(StreamEnd::failed(info)));
                continue;
            }
        };
        let live = LiveStream {
            service: service.inner().clone(),
            store: store.clone(),
            prepared,
            endpoint,
            provider_id: settings.provider,
            token,
            stream_id: target.stream_id.clone(),
            streams: streams.inner().clone(),
            sink,
            tools: None,
        };
        tauri::async_runtime::spawn(live.run());
    }
    Ok(sent)
}
