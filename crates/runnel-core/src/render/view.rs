//! Stored messages as the window shows them.

use crate::config::prices::{cost_of, PriceBook};
use crate::engine::Metrics;
use crate::render::feed::ToolCallView;
use crate::render::markdown::render;
use crate::store::{Message, Store, StoreError, StoredUsage};
use crate::types::chat::Role;
use crate::types::cost::Cost;
use crate::types::error::ErrorInfo;
use crate::types::status::MessageStatus;
use serde::Serialize;

/// A file that goes with a message, as the window shows it (never its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AttachmentView {
    /// Its id while it waits for a send; its content key once stored.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: crate::types::attachment::AttachmentKind,
    /// Its size in bytes as sent.
    pub size: u64,
    /// An image's width and height in pixels.
    pub size_px: Option<(u32, u32)>,
}

impl AttachmentView {
    /// The view of a prepared file waiting under `id`.
    pub fn of(id: &str, a: &crate::types::attachment::Attachment) -> Self {
        Self {
            id: id.to_owned(),
            name: a.name.clone(),
            kind: a.kind,
            size: a.data.len() as u64,
            size_px: a.size_px,
        }
    }

    fn stored(r: &crate::store::AttachmentRow) -> Self {
        Self {
            id: r.sha256.clone(),
            name: r.name.clone(),
            kind: r.kind,
            size: r.size,
            size_px: r.size_px,
        }
    }
}

/// A stored message as the window shows it: assistant text already rendered
/// and sanitized; never raw HTML from the model.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct MessageView {
    /// The stored message's id.
    pub id: String,
    /// Who wrote it.
    pub role: Role,
    /// Streaming, or how it ended (`data-status`).
    pub status: MessageStatus,
    /// Raw markdown (for Copy and Edit).
    pub content: String,
    /// The files that went with a user message.
    pub attachments: Vec<AttachmentView>,
    /// Sanitized HTML of an assistant answer.
    pub html: Option<String>,
    /// Reasoning or thinking text, shown collapsible.
    pub reasoning: Option<String>,
    /// Tool calls with their arguments pretty-printed.
    pub tool_calls: Vec<ToolCallView>,
    /// The calls that ran or were declined, with their results.
    pub tool_steps: Vec<crate::types::tool::ToolStep>,
    /// Error, when status is error.
    pub error: Option<ErrorInfo>,
    /// The provider's last finish reason (`data-finish-reason`).
    pub finish_reason: Option<String>,
    /// Token counts as stored.
    pub usage: Option<StoredUsage>,
    /// Timings as stored.
    pub metrics: Option<Metrics>,
    /// What an answer cost at today's prices; None for user messages,
    /// answers without a known price, and those stored before schema 5.
    pub cost: Option<crate::types::cost::Cost>,
    /// Position among its siblings, the branches at its fork (1-based), and
    /// how many there are.
    pub version: (usize, usize),
    /// The ids of all its siblings, oldest first (just itself when there is no fork).
    pub versions: Vec<String>,
    /// Position in the conversation.
    pub seq: i64,
    /// The message before it on its branch (an answer's question).
    pub parent_id: Option<String>,
}

/// Builds the view of stored messages (one conversation's), each with the
/// branches at its fork.
pub fn message_views(
    store: &Store,
    conversation_id: &str,
    messages: Vec<Message>,
    prices: &PriceBook,
) -> Result<Vec<MessageView>, StoreError> {
    let groups = store.sibling_groups(conversation_id, &messages)?;
    let mut files = store.attachments_by_message(conversation_id)?;
    Ok(messages
        .into_iter()
        .map(|m| {
            let versions = groups
                .get(&m.id)
                .cloned()
                .unwrap_or_else(|| vec![m.id.clone()]);
            let version = versions
                .iter()
                .position(|i| *i == m.id)
                .map(|p| (p + 1, versions.len()))
                .unwrap_or((1, 1));
            let error = m.error_kind.map(|kind| ErrorInfo {
                kind,
                message: m.error_message.clone().unwrap_or_default(),
                status: None,
                retry_after_s: None,
            });
            MessageView {
                attachments: files
                    .remove(&m.id)
                    .unwrap_or_default()
                    .iter()
                    .map(AttachmentView::stored)
                    .collect(),
                cost: answer_cost(prices, m.provider.as_deref(), m.model.as_deref(), m.usage),
                html: (m.role == Role::Assistant).then(|| render(&m.content)),
                tool_calls: m
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(ToolCallView::from_call)
                    .collect(),
                tool_steps: m.tool_steps.clone().unwrap_or_default(),
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

/// What a stored answer cost at today's prices: None without a recorded
/// provider and model (answers stored before schema 5), usage, or price.
pub fn answer_cost(
    prices: &PriceBook,
    provider: Option<&str>,
    model: Option<&str>,
    usage: Option<StoredUsage>,
) -> Option<Cost> {
    let u = usage?;
    cost_of(prices, provider?, model?, &u.usage(), u.estimated)
}

/// What every answer of a conversation cost, versions included (each was
/// paid for); None when none has a known price.
pub fn conversation_cost(
    store: &Store,
    conversation_id: &str,
    prices: &PriceBook,
) -> Result<Option<Cost>, StoreError> {
    let mut total: Option<Cost> = None;
    for (provider, model, usage) in store.answer_usage(conversation_id)? {
        if let Some(c) = answer_cost(prices, provider.as_deref(), model.as_deref(), Some(usage)) {
            total.get_or_insert_with(Cost::default).add(c);
        }
    }
    Ok(total)
}
