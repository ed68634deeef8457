//! Sending in a stored conversation, shared by the window and `runnel ask
//! --save`: record the turn, build the history the request carries, stream
//! with the text flushed to the store at most every 250 ms (and at the
//! terminal state), and record how the answer ended.

use crate::core::engine::{ChatOptions, Engine, EngineEvent, Outcome, StreamResult};
use crate::core::openai::{ChatMessage, Role};
use crate::core::provider::Endpoint;
use crate::core::store::{FinalState, Message, MessageStatus, Store, StoreError};
use crate::core::stream::Answer;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a streaming answer's text is saved: 200 ms, so that a kill at
/// any moment loses at most 250 ms of text, delivery and the write included
/// (measured: a 250 ms tick lost up to ~290 ms in the window under load).
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// What a send does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SendKind {
    /// A new user message.
    New {
        /// Its text.
        text: String,
    },
    /// Answer the last user message again; the previous answer is kept as a version.
    Regenerate,
    /// Replace the last user message (kept as a version) and answer it.
    Edit {
        /// The new text.
        text: String,
    },
}

/// Where the conversation's settings come from for this send.
#[derive(Debug, Clone, Default)]
pub struct SendSettings {
    /// Provider id.
    pub provider: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: String,
    /// Anthropic extended thinking budget, when enabled.
    pub thinking_budget: Option<u32>,
}

/// A recorded turn, ready to stream.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The conversation.
    pub conversation_id: String,
    /// The user message being answered.
    pub user_message: Message,
    /// The new answer (status streaming).
    pub answer: Message,
    /// What the request carries: system prompt, then every shown turn.
    pub messages: Vec<ChatMessage>,
}

/// Records the turn in the store: creates the conversation at its first
/// message, adds or replaces the user message, and starts the answer.
pub fn prepare(
    store: &Store,
    conversation_id: &str,
    settings: &SendSettings,
    kind: &SendKind,
) -> Result<Prepared, StoreError> {
    if let SendKind::New { text } | SendKind::Edit { text } = kind {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("The message is empty".into()));
        }
    }
    let exists = store.exists(conversation_id)?;
    if !exists {
        if !matches!(kind, SendKind::New { .. }) {
            return Err(StoreError::Invalid(
                "There is no message to answer again".into(),
            ));
        }
        store.create_conversation(
            conversation_id,
            "",
            settings.provider.as_deref(),
            settings.model.as_deref(),
            &settings.system_prompt,
            settings.thinking_budget,
        )?;
    } else {
        if store.has_live_stream(conversation_id)? {
            return Err(StoreError::Invalid(
                "An answer is still streaming in this conversation: stop it first".into(),
            ));
        }
        store.set_settings(
            conversation_id,
            settings.provider.as_deref(),
            settings.model.as_deref(),
            &settings.system_prompt,
            settings.thinking_budget,
        )?;
    }
    let shown = store.messages(conversation_id, None, 100_000)?;
    let last_user = shown.iter().rev().find(|m| m.role == "user").cloned();
    let (user, answer) = match kind {
        SendKind::New { text } => {
            let user = store.add_user_message(conversation_id, text, None)?;
            let answer = store.begin_answer(conversation_id, &user.id, None)?;
            (user, answer)
        }
        SendKind::Regenerate => {
            let user = last_user
                .ok_or_else(|| StoreError::Invalid("There is no message to answer again".into()))?;
            let previous = shown
                .iter()
                .rev()
                .find(|m| m.role == "assistant" && m.parent_id.as_deref() == Some(&user.id));
            let answer =
                store.begin_answer(conversation_id, &user.id, previous.map(|m| m.id.as_str()))?;
            (user, answer)
        }
        SendKind::Edit { text } => {
            let old = last_user
                .ok_or_else(|| StoreError::Invalid("There is no message to edit".into()))?;
            let user = store.add_user_message(conversation_id, text, Some(&old.id))?;
            let answer = store.begin_answer(conversation_id, &user.id, None)?;
            (user, answer)
        }
    };
    let messages = history(store, conversation_id, &settings.system_prompt, &answer.id)?;
    Ok(Prepared {
        conversation_id: conversation_id.to_owned(),
        user_message: user,
        answer,
        messages,
    })
}

/// The request's messages: the system prompt, then every shown message with
/// text (cancelled and failed partial answers as they stand), without `skip`.
pub fn history(
    store: &Store,
    conversation_id: &str,
    system_prompt: &str,
    skip: &str,
) -> Result<Vec<ChatMessage>, StoreError> {
    let mut out = Vec::new();
    if !system_prompt.trim().is_empty() {
        out.push(ChatMessage::new(Role::System, system_prompt));
    }
    for m in store.messages(conversation_id, None, 100_000)? {
        if m.id == skip || m.content.is_empty() {
            continue;
        }
        let role = if m.role == "user" {
            Role::User
        } else {
            Role::Assistant
        };
        let mut msg = ChatMessage::new(role, m.content);
        // Anthropic requires a turn's thinking blocks (with signatures) back.
        msg.thinking = m
            .thinking_blocks
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        out.push(msg);
    }
    Ok(out)
}

/// The stored terminal state of a finished stream.
pub fn final_state(r: &StreamResult) -> FinalState {
    let (status, error_kind, error_message) = match &r.outcome {
        Outcome::Done => (MessageStatus::Done, None, None),
        Outcome::Cancelled => (MessageStatus::Cancelled, None, None),
        Outcome::Error(e) => (
            MessageStatus::Error,
            Some(e.kind().as_str().to_owned()),
            Some(e.to_string()),
        ),
    };
    let tool_calls = (!r.answer.tool_calls.is_empty())
        .then(|| serde_json::to_value(&r.answer.tool_calls).unwrap_or_default());
    FinalState {
        status: Some(status),
        content: r.answer.history_text(),
        reasoning: r.answer.reasoning.clone(),
        tool_calls,
        error_kind,
        error_message,
        finish_reason: r.answer.finish_reason.clone(),
        usage: Some(serde_json::json!({
            "input_tokens": r.usage.input_tokens,
            "output_tokens": r.usage.output_tokens,
            "estimated": r.usage_estimated,
        })),
        metrics: serde_json::to_value(r.metrics).ok(),
        thinking_blocks: (!r.answer.thinking_blocks.is_empty())
            .then(|| serde_json::to_value(&r.answer.thinking_blocks).unwrap_or_default()),
    }
}

/// Streams the prepared answer: `on_event` sees every engine event; the text
/// is saved every [`FLUSH_EVERY`] while it changes, and the terminal state at
/// the end.
pub async fn stream(
    engine: &Engine,
    store: &Arc<Store>,
    prepared: &Prepared,
    endpoint: &Endpoint,
    options: ChatOptions,
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(EngineEvent) + Send),
) -> StreamResult {
    let live: Arc<Mutex<(Answer, bool)>> = Arc::new(Mutex::new((Answer::default(), false)));
    let stop = CancellationToken::new();
    let flusher = {
        let live = live.clone();
        let store = store.clone();
        let id = prepared.answer.id.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let snapshot = match live.lock() {
                    Ok(mut g) if g.1 => {
                        g.1 = false;
                        Some((g.0.history_text(), g.0.reasoning.clone()))
                    }
                    _ => None,
                };
                if let Some((text, reasoning)) = snapshot {
                    let store = store.clone();
                    let id = id.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        if let Err(e) = store.flush_answer(&id, &text, reasoning.as_deref()) {
                            tracing::warn!(error = %e, "could not save the streaming answer");
                        }
                    })
                    .await;
                }
            }
        })
    };
    let result = engine
        .chat(endpoint, &prepared.messages, options, cancel, &mut |ev| {
            if let EngineEvent::Delta(d) = &ev {
                if let Ok(mut g) = live.lock() {
                    g.0.apply(d);
                    g.1 = true;
                }
            }
            on_event(ev);
        })
        .await;
    stop.cancel();
    let _ = flusher.await;
    let fin = final_state(&result);
    let store = store.clone();
    let id = prepared.answer.id.clone();
    match tokio::task::spawn_blocking(move || store.finish_message(&id, &fin)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "could not save the finished answer"),
        Err(e) => tracing::error!(error = %e, "the task saving the finished answer failed"),
    }
    result
}

/// Records a failure that happened before streaming (no usable provider):
/// the answer ends as an error with this message.
pub fn fail_before_stream(store: &Store, prepared: &Prepared, kind: &str, message: &str) {
    let fin = FinalState {
        status: Some(MessageStatus::Error),
        error_kind: Some(kind.to_owned()),
        error_message: Some(message.to_owned()),
        ..FinalState::default()
    };
    if let Err(e) = store.finish_message(&prepared.answer.id, &fin) {
        tracing::error!(error = %e, "could not save the failed answer");
    }
}

/// A stored message as the window shows it: assistant text already rendered
/// and sanitized; never raw HTML from the model.
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// Id.
    pub id: String,
    /// `user` or `assistant`.
    pub role: String,
    /// Status.
    pub status: MessageStatus,
    /// Raw markdown (for Copy and Edit).
    pub content: String,
    /// Sanitized HTML of an assistant answer.
    pub html: Option<String>,
    /// Reasoning.
    pub reasoning: Option<String>,
    /// Tool calls.
    pub tool_calls: Vec<crate::core::feed::ToolCallView>,
    /// Error, when status is error.
    pub error: Option<crate::core::error::ErrorInfo>,
    /// Finish reason.
    pub finish_reason: Option<String>,
    /// Usage as stored.
    pub usage: Option<serde_json::Value>,
    /// Metrics as stored.
    pub metrics: Option<serde_json::Value>,
    /// Position among its versions (1-based) and how many there are.
    pub version: (usize, usize),
    /// The ids of all its versions, oldest first (just itself when there is one).
    pub versions: Vec<String>,
    /// Position in the conversation.
    pub seq: i64,
    /// The user message an answer answers.
    pub parent_id: Option<String>,
}

/// Builds the view of stored messages; `versions` maps a version group's first
/// message id to its members in order.
pub fn message_views(
    store: &Store,
    conversation_id: &str,
    messages: Vec<Message>,
) -> Result<Vec<MessageView>, StoreError> {
    let groups = store.version_groups(conversation_id)?;
    Ok(messages
        .into_iter()
        .map(|m| {
            let root = m.variant_of.clone().unwrap_or_else(|| m.id.clone());
            let versions = groups
                .get(&root)
                .cloned()
                .unwrap_or_else(|| vec![m.id.clone()]);
            let version = versions
                .iter()
                .position(|i| *i == m.id)
                .map(|p| (p + 1, versions.len()))
                .unwrap_or((1, 1));
            let tool_calls: Vec<crate::core::stream::ToolCall> = m
                .tool_calls
                .clone()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            let error = m
                .error_kind
                .as_deref()
                .map(|k| crate::core::error::ErrorInfo {
                    kind: serde_json::from_value(serde_json::Value::String(k.to_owned()))
                        .unwrap_or(crate::core::error::ErrorKind::Stream),
                    message: m.error_message.clone().unwrap_or_default(),
                    status: None,
                    retry_after_s: None,
                });
            MessageView {
                html: (m.role == "assistant").then(|| crate::core::markdown::render(&m.content)),
                tool_calls: tool_calls
                    .iter()
                    .map(crate::core::feed::ToolCallView::from_call)
                    .collect(),
                error,
                version,
                versions,
                id: m.id,
                role: m.role,
                status: m.status,
                content: m.content,
                reasoning: m.reasoning,
                finish_reason: m.finish_reason,
                usage: m.usage,
                metrics: m.metrics,
                seq: m.seq,
                parent_id: m.parent_id,
            }
        })
        .collect())
}
