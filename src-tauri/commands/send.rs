//! Sending in a stored conversation: the turn is recorded, then the answer
//! streams to the window over a `tauri::ipc::Channel`, in per-frame batches,
//! until exactly one end message. The whole send is core's `turn`; this
//! command only wires it to the channel and the stream registry.

use crate::commands::attach::Staged;
use crate::commands::conversations::{with_store, ChatState};
use crate::commands::tools::ToolState;
use crate::error::IpcError;
use crate::streams::StreamRegistry;
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::EngineEvent;
use runnel_core::protocol::Sampling;
use runnel_core::render::feed::{self, StreamEnd, StreamMessage};
use runnel_core::render::view::{message_views, MessageView};
use runnel_core::service::Service;
use runnel_core::store::Store;
use runnel_core::turn::{self, Prepared, SendKind, SendSettings};
use runnel_core::types::error::{ErrorInfo, ErrorKind};
use serde::Serialize;
use std::sync::Arc;
use tauri::ipc::Channel;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a send recorded, so the window can label its messages.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Sent {
    conversation_id: String,
    user_message: MessageView,
    answer_id: String,
}

/// Records the turn and starts streaming the answer; events arrive on `on_event`.
#[allow(clippy::too_many_arguments)] // a Tauri command takes its IPC arguments one by one
#[tauri::command]
pub(crate) async fn send_message(
    service: tauri::State<'_, Arc<Service>>,
    chat: tauri::State<'_, ChatState>,
    streams: tauri::State<'_, Arc<StreamRegistry>>,
    conversation_id: String,
    stream_id: String,
    provider_id: Option<String>,
    model: Option<String>,
    system_prompt: String,
    thinking_budget: Option<u32>,
    sampling: Option<Sampling>,
    send: SendKind,
    attachments: Option<Vec<String>>,
    tools_off: Option<Vec<String>>,
    staged: tauri::State<'_, Staged>,
    tools: tauri::State<'_, Arc<ToolState>>,
    on_event: Channel<StreamMessage>,
) -> Result<Sent, IpcError> {
    let token = streams.insert(&stream_id)?;
    let file_ids = attachments.unwrap_or_default();
    let files = match staged.take(&file_ids) {
        Ok(f) => f,
        Err(e) => {
            streams.remove(&stream_id);
            return Err(e);
        }
    };
    let kept = files.clone();
    let settings = SendSettings {
        provider: provider_id,
        model,
        system_prompt,
        thinking_budget,
        sampling: sampling.unwrap_or_default(),
    };
    let conv = conversation_id.clone();
    let turn_settings = settings.clone();
    let prepared = with_store(&chat, move |s| {
        let p = turn::prepare_with(s, &conv, &turn_settings, &send, &files)?;
        if let Some(off) = &tools_off {
            s.set_tools_off(&conv, off)?;
        }
        let none = Default::default();
        let user = message_views(s, &conv, vec![p.user_message.clone()], &none)?.remove(0);
        Ok((p, user))
    })
    .await;
    let (prepared, user_view) = match prepared {
        Ok(p) => p,
        Err(e) => {
            // Nothing was stored: the files wait for the next try.
            staged.put_back(&file_ids, kept);
            streams.remove(&stream_id);
            return Err(e);
        }
    };
    let store = chat.store()?;
    let sent = Sent {
        conversation_id,
        user_message: user_view,
        answer_id: prepared.answer.id.clone(),
    };
    // The turn is stored: a provider that cannot be used (keychain locked,
    // provider deleted) ends this answer with an error and loses nothing.
    let endpoint = match turn::endpoint(&service, &settings).await {
        Ok(e) => e,
        Err(e) => {
            let info = e.to_info();
            turn::fail_before_stream(&store, &prepared, &info);
            streams.remove(&stream_id);
            let _ = on_event.send(StreamMessage::End(StreamEnd::failed(info)));
            return Ok(sent);
        }
    };
    let live = LiveStream {
        service: service.inner().clone(),
        store,
        prepared,
        endpoint,
        provider_id: settings.provider,
        token,
        stream_id,
        streams: streams.inner().clone(),
        sink: Arc::new(move |m| on_event.send(m).is_ok()),
        tools: Some(tools.inner().clone()),
    };
    tauri::async_runtime::spawn(live.run());
    Ok(sent)
}

/// Where a stream's messages go: false when the window is gone.
pub(crate) type Sink = Arc<dyn Fn(StreamMessage) -> bool + Send + Sync>;

/// One answer streaming to the window.
pub(crate) struct LiveStream {
    pub(crate) service: Arc<Service>,
    pub(crate) store: Arc<Store>,
    pub(crate) prepared: Prepared,
    pub(crate) endpoint: Endpoint,
    pub(crate) provider_id: Option<String>,
    pub(crate) token: CancellationToken,
    pub(crate) stream_id: String,
    pub(crate) streams: Arc<StreamRegistry>,
    pub(crate) sink: Sink,
    /// The MCP servers, when the model may call tools (not in Compare).
    pub(crate) tools: Option<Arc<ToolState>>,
}

impl LiveStream {
    /// Streams until the end, then sends the one end message.
    pub(crate) async fn run(self) {
        let (tx, rx) = mpsc::unbounded_channel::<EngineEvent>();
        let channel = self.sink.clone();
        let cancel_on_close = self.token.clone();
        let pump = feed::pump(rx, feed::FRAME, move |ops| {
            if !channel(StreamMessage::Ops { ops }) {
                // The window is gone: stop streaming.
                cancel_on_close.cancel();
            }
        });
        let Self {
            service,
            store,
            prepared,
            endpoint,
            provider_id,
            token,
            stream_id,
            streams,
            sink,
            tools,
        } = self;
        let (pricing, who, model) = (
            service.clone(),
            endpoint.provider_label(),
            endpoint.model.clone(),
        );
        // The stream runs in its own task so that even a panic in it ends in a
        // terminal state the window sees.
        let gate_stream = stream_id.clone();
        let run = tauri::async_runtime::spawn(async move {
            // The enabled servers' tools, less those this conversation
            // switched off; a server that cannot start is said, not fatal.
            let toolbox = match &tools {
                Some(t) => {
                    let off = {
                        let store = store.clone();
                        let id = prepared.conversation_id.clone();
                        tokio::task::spawn_blocking(move || store.tools_off(&id))
                            .await
                            .ok()
                            .and_then(Result::ok)
                            .unwrap_or_default()
                    };
                    // Stop works while the servers start.
                    tokio::select! {
                        b = service.toolbox(&t.hub, None, &off) => match b {
                            Ok(b) => Some(b),
                            Err(e) => {
                                tracing::warn!(error = %e, "no tools for this answer");
                                None
                            }
                        },
                        _ = token.cancelled() => None,
                    }
                }
                None => None,
            };
            if let Some(b) = &toolbox {
                for (name, why) in &b.unavailable {
                    let _ = tx.send(EngineEvent::Notice(format!(
                        "Tools of {name} are unavailable: {why}"
                    )));
                }
            }
            let gate = tools
                .as_ref()
                .map(|t| t.gate(service.clone(), &gate_stream));
            let limits = service.tool_settings();
            let run = match (&tools, &toolbox, &gate) {
                (Some(t), Some(b), Some(g)) => Some(turn::ToolRun {
                    hub: &t.hub,
                    toolbox: b,
                    gate: g,
                    step_limit: limits.step_limit,
                    call_timeout: std::time::Duration::from_secs(u64::from(
                        limits.call_timeout_secs,
                    )),
                }),
                _ => None,
            };
            // `tx` moves in and is dropped when the stream ends, which ends the pump.
            turn::run_with_tools(
                &service,
                &store,
                &prepared,
                &endpoint,
                provider_id,
                run.as_ref(),
                &token,
                move |ev| {
                    let _ = tx.send(ev);
                },
            )
            .await
        });
        let (result, ()) = tokio::join!(run, pump);
        let end = match result {
            Ok(result) => {
                let mut end = StreamEnd::from_result(&result);
                end.cost = pricing.cost(&who, &model, &result.usage, result.usage_estimated);
                end
            }
            Err(e) => {
                tracing::error!(error = %e, "stream task failed");
                StreamEnd::failed(ErrorInfo::new(
                    ErrorKind::Stream,
                    format!("internal error: the stream stopped unexpectedly ({e})"),
                ))
            }
        };
        streams.remove(&stream_id);
        let _ = sink(StreamMessage::End(end));
    }
}
