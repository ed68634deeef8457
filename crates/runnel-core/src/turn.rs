//! Sending in a stored conversation, shared by the window and `runnel ask
//! --save`: record the turn, build the history the request carries, stream
//! with the text flushed to the store at most every 250 ms (and at the
//! terminal state), and record how the answer ended.

use crate::config::env::ENV_PROVIDER_ID;
use crate::engine::endpoint::Endpoint;
use crate::engine::trace::{Trace, TraceLine};
use crate::engine::{ChatOptions, Engine, EngineEvent, Outcome, StreamResult};
use crate::protocol::Sampling;
use crate::service::{Service, ServiceError};
use crate::store::ConversationSummary;
use crate::store::{
    FinalState, Message, MessageStatus, Store, StoreError, StoredUsage, WHOLE_CONVERSATION,
};
use crate::tools::{mcp::Hub, Toolbox};
use crate::types::answer::{Answer, Delta, ThinkingBlock, ToolCall};
use crate::types::attachment::Attachment;
use crate::types::chat::{ChatMessage, Role};
use crate::types::error::ErrorInfo;
use crate::types::tool::{Approval, PendingCall, ToolResult, ToolStep};
pub use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a streaming answer's text is saved: 200 ms, so that a kill at
/// any moment loses at most 250 ms of text, delivery and the write included
/// (measured: a 250 ms tick lost up to ~290 ms in the window under load).
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// The smallest Anthropic extended-thinking budget the API accepts.
pub const MIN_THINKING_BUDGET: u32 = 1024;

/// Checks a thinking budget the user asked for: none, or at least
/// [`MIN_THINKING_BUDGET`] tokens. The error completes "thinking budget ...".
pub fn check_thinking_budget(budget: Option<u32>) -> Result<(), String> {
    match budget {
        Some(b) if b < MIN_THINKING_BUDGET => Err(format!(
            "must be at least {MIN_THINKING_BUDGET} tokens (got {b})"
        )),
        _ => Ok(()),
    }
}

/// What a stored conversation carries into its next send when the face does
/// not say otherwise.
#[derive(Debug, Clone, Default)]
pub struct Continuation {
    /// Its saved provider (never the session-only environment provider).
    pub provider: Option<String>,
    /// Its model, with its provider.
    pub model: Option<String>,
    /// Its system prompt.
    pub system_prompt: String,
    /// Its thinking budget.
    pub thinking_budget: Option<u32>,
    /// Its sampling settings.
    pub sampling: Sampling,
}

impl Continuation {
    /// What `conversation` carries on; with `retarget` (the face names a
    /// provider or server of its own) its provider and model are not carried.
    pub fn of(conversation: Option<&ConversationSummary>, retarget: bool) -> Self {
        let Some(c) = conversation else {
            return Self::default();
        };
        let provider = c
            .provider
            .clone()
            .filter(|p| p != ENV_PROVIDER_ID && !retarget);
        Self {
            model: provider.as_ref().and(c.model.clone()),
            provider,
            system_prompt: c.system_prompt.clone(),
            thinking_budget: c.thinking_budget,
            sampling: c.sampling,
        }
    }
}

/// What a send does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SendKind {
    /// A new user message.
    New {
        /// Its text.
        text: String,
    },
    /// Answer again: a new branch beside an answer (the previous answer and
    /// what followed it are kept, one arrow away).
    Regenerate {
        /// The answer to answer again (or a user message: answer it once
        /// more); None: the last shown question.
        #[serde(default)]
        of: Option<String>,
    },
    /// Edit a user message: the new text starts a new branch beside it (the
    /// old text and what followed it are kept), and is answered.
    Edit {
        /// The new text.
        text: String,
        /// The user message edited; None: the last shown one.
        #[serde(default)]
        of: Option<String>,
    },
}

/// Where the conversation's settings come from for this send.
#[derive(Debug, Clone, Default)]
pub struct SendSettings {
    /// The saved provider to ask (None: the default, else the environment's).
    pub provider: Option<String>,
    /// The model to ask (None: the provider's default).
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: String,
    /// Anthropic extended thinking budget, when enabled.
    pub thinking_budget: Option<u32>,
    /// Temperature, top-p and max tokens for this conversation.
    pub sampling: Sampling,
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
    /// The stored messages the request repeats: (id, text), for the trace.
    pub history_ids: Vec<(String, String)>,
}

/// Fewest answers a comparison asks for.
pub const MIN_COMPARED: usize = 2;
/// Most answers a comparison asks for at once.
pub const MAX_COMPARED: usize = 4;

/// Records a compared turn: the user message once, then `columns` answers
/// to it, each a branch beside the first (the last one started is shown until
/// the user picks one). Every answer repeats the same history, `files`
/// included (checked against the per-message limits first).
pub fn prepare_compare(
    store: &Store,
    conversation_id: &str,
    settings: &SendSettings,
    text: &str,
    columns: usize,
    files: &[Attachment],
) -> Result<Vec<Prepared>, StoreError> {
    if !(MIN_COMPARED..=MAX_COMPARED).contains(&columns) {
        return Err(StoreError::Invalid(format!(
            "Compare {MIN_COMPARED} to {MAX_COMPARED} models (got {columns})"
        )));
    }
    let first = prepare_with(
        store,
        conversation_id,
        settings,
        &SendKind::New {
            text: text.to_owned(),
        },
        files,
    )?;
    let mut out = Vec::with_capacity(columns);
    for _ in 1..columns {
        let answer = store.begin_answer(conversation_id, &first.user_message.id)?;
        out.push(Prepared {
            answer,
            ..first.clone()
        });
    }
    out.insert(0, first);
    Ok(out)
}

/// Records the turn in the store: creates the conversation at its first
/// message, adds or replaces the user message, and starts the answer.
pub fn prepare(
    store: &Store,
    conversation_id: &str,
    settings: &SendSettings,
    kind: &SendKind,
) -> Result<Prepared, StoreError> {
    prepare_with(store, conversation_id, settings, kind, &[])
}

/// [`prepare`], with files going with a new or edited user message (checked
/// together against the per-message limits first).
pub fn prepare_with(
    store: &Store,
    conversation_id: &str,
    settings: &SendSettings,
    kind: &SendKind,
    files: &[Attachment],
) -> Result<Prepared, StoreError> {
    crate::attach::check_message(files).map_err(|e| StoreError::Invalid(e.to_string()))?;
    check_thinking_budget(settings.thinking_budget)
        .map_err(|e| StoreError::Invalid(format!("The thinking budget {e}")))?;
    settings.sampling.check().map_err(|e| {
        let mut e = e;
        if let Some(first) = e.get(..1) {
            let upper = first.to_uppercase();
            e.replace_range(..1, &upper);
        }
        StoreError::Invalid(e)
    })?;
    if let SendKind::New { text } | SendKind::Edit { text, .. } = kind {
        if text.trim().is_empty() && files.is_empty() {
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
    store.set_sampling(conversation_id, &settings.sampling)?;
    // The message a regenerate or an edit starts from (None: a new message).
    let target = match kind {
        SendKind::New { .. } => None,
        SendKind::Regenerate { of: Some(id) } | SendKind::Edit { of: Some(id), .. } => {
            let m = store.message(id)?;
            if m.conversation_id != conversation_id {
                return Err(StoreError::NotFound(format!("message {id}")));
            }
            Some(m)
        }
        SendKind::Regenerate { of: None } | SendKind::Edit { of: None, .. } => Some(
            store
                .messages(conversation_id, None, WHOLE_CONVERSATION)?
                .into_iter()
                .rev()
                .find(|m| m.role == Role::User)
                .ok_or_else(|| {
                    StoreError::Invalid(if matches!(kind, SendKind::Edit { .. }) {
                        "There is no message to edit".into()
                    } else {
                        "There is no message to answer again".into()
                    })
                })?,
        ),
    };
    let (user, answer, new_user) = match (kind, target) {
        (SendKind::New { text }, _) => {
            let user = store.add_user_message_with(conversation_id, text, None, files)?;
            let answer = store.begin_answer(conversation_id, &user.id)?;
            (user, answer, true)
        }
        (SendKind::Regenerate { .. }, Some(t)) => {
            // An answer is answered again from its question; a question once more.
            let user = if t.role == Role::Assistant {
                let parent = t.parent_id.as_deref().ok_or_else(|| {
                    StoreError::Invalid("There is no message to answer again".into())
                })?;
                let question = store.message(parent)?;
                // An imported tree may have an answer after an answer: the
                // request would end on the model's own turn.
                if question.role != Role::User {
                    return Err(StoreError::Invalid(
                        "This answer follows another answer, not a question: edit or ask a question to answer again".into(),
                    ));
                }
                question
            } else {
                t
            };
            let answer = store.begin_answer(conversation_id, &user.id)?;
            (user, answer, false)
        }
        (SendKind::Edit { text, .. }, Some(old)) => {
            let user = store.add_user_message_with(conversation_id, text, Some(&old.id), files)?;
            let answer = store.begin_answer(conversation_id, &user.id)?;
            (user, answer, true)
        }
        (_, None) => {
            return Err(StoreError::Invalid(
                "There is no message to answer again".into(),
            ))
        }
    };
    // The request is the branch now shown, up to the new answer; the turns
    // it repeats (not a new user message) are referenced by the trace.
    let (messages, history_ids) = history_with_ids(
        store,
        conversation_id,
        &settings.system_prompt,
        &answer.id,
        new_user.then_some(user.id.as_str()),
    )?;
    Ok(Prepared {
        conversation_id: conversation_id.to_owned(),
        user_message: user,
        answer,
        messages,
        history_ids,
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
    Ok(history_with_ids(store, conversation_id, system_prompt, skip, None)?.0)
}

/// Stored messages a request repeats: (id, text).
type Repeated = Vec<(String, String)>;

/// [`history`], and the stored messages it repeats as (id, text) for the
/// trace (long enough to be worth a reference; not `fresh`, the user
/// message this send adds).
fn history_with_ids(
    store: &Store,
    conversation_id: &str,
    system_prompt: &str,
    skip: &str,
    fresh: Option<&str>,
) -> Result<(Vec<ChatMessage>, Repeated), StoreError> {
    let mut ids = Vec::new();
    let mut out = Vec::new();
    if !system_prompt.trim().is_empty() {
        out.push(ChatMessage::new(Role::System, system_prompt));
    }
    // Files go again with every later request: the model sees the whole turn.
    let with_files = store.attachments_by_message(conversation_id)?;
    for m in store.messages(conversation_id, None, WHOLE_CONVERSATION)? {
        let has_files = with_files.contains_key(&m.id);
        let steps = m.tool_steps.as_deref().unwrap_or_default();
        if m.id == skip || (m.content.is_empty() && !has_files && steps.is_empty()) {
            continue;
        }
        if !steps.is_empty() {
            // Each request's text and calls, then their results, as sent.
            let mut rounds = with_steps(&m.content, steps);
            if let Some(first) = rounds.first_mut() {
                first.thinking = m.thinking_blocks.clone().unwrap_or_default();
            }
            out.extend(rounds);
            continue;
        }
        if Some(m.id.as_str()) != fresh && m.content.len() >= MIN_REFERENCED_LEN {
            ids.push((m.id.clone(), m.content.clone()));
        }
        let mut msg = ChatMessage::new(m.role, m.content);
        if has_files {
            msg.attachments = store.attachment_files(&m.id)?;
        }
        // Anthropic requires a turn's thinking blocks (with signatures) back.
        msg.thinking = m.thinking_blocks.unwrap_or_default();
        out.push(msg);
    }
    Ok((out, ids))
}

/// An answer that called tools as the requests that made it: for each
/// round, the text said before its calls with the calls, then a message
/// with their results; then the text after the last round.
pub fn with_steps(content: &str, steps: &[ToolStep]) -> Vec<ChatMessage> {
    let mut out = Vec::new();
    let mut prev = 0;
    let mut i = 0;
    while i < steps.len() {
        let round = steps[i].round;
        let end = steps[i..]
            .iter()
            .position(|s| s.round != round)
            .map_or(steps.len(), |n| i + n);
        let group = &steps[i..end];
        let mut at = group[0].at.clamp(prev, content.len());
        while !content.is_char_boundary(at) {
            at -= 1;
        }
        let mut said = ChatMessage::new(Role::Assistant, content.get(prev..at).unwrap_or(""));
        said.tool_calls = group
            .iter()
            .map(|s| ToolCall {
                id: s.call_id.clone(),
                name: s.name.clone(),
                arguments: s.arguments.clone(),
            })
            .collect();
        out.push(said);
        // Images went to the model in their own answer; later turns name
        // them (a request never grows by every image a tool ever returned).
        out.push(ChatMessage::tool_results(
            group
                .iter()
                .map(|s| {
                    let mut r = ToolResult::from(s);
                    if !r.images.is_empty() {
                        let n = r.images.len();
                        r.images.clear();
                        if !r.text.is_empty() {
                            r.text.push('\n');
                        }
                        r.text
                            .push_str(&format!("[{n} image(s) the tool returned, shown then]"));
                    }
                    r
                })
                .collect(),
        ));
        prev = if content[at..].starts_with(ROUND_BREAK) {
            at + ROUND_BREAK.len()
        } else {
            at
        };
        i = end;
    }
    let rest = content.get(prev..).unwrap_or("");
    if !rest.is_empty() {
        out.push(ChatMessage::new(Role::Assistant, rest));
    }
    out
}

/// The stored terminal state of a stream `endpoint` answered.
pub fn final_state(r: &StreamResult, endpoint: &Endpoint) -> FinalState {
    let (error_kind, error_message) = match &r.outcome {
        Outcome::Error(e) => (Some(e.kind()), Some(e.to_string())),
        Outcome::Done | Outcome::Cancelled => (None, None),
    };
    let answer = &r.answer;
    FinalState {
        status: r.outcome.status(),
        content: answer.history_text(),
        reasoning: answer.reasoning.clone(),
        tool_calls: (!answer.tool_calls.is_empty()).then(|| answer.tool_calls.clone()),
        tool_steps: (!r.steps.is_empty()).then(|| r.steps.clone()),
        error_kind,
        error_message,
        finish_reason: answer.finish_reason.clone(),
        usage: Some(StoredUsage {
            input_tokens: r.usage.input_tokens,
            output_tokens: r.usage.output_tokens,
            estimated: r.usage_estimated,
            cached_input_tokens: r.usage.cached_input_tokens,
        }),
        metrics: Some(r.metrics),
        thinking_blocks: (!answer.thinking_blocks.is_empty())
            .then(|| answer.thinking_blocks.clone()),
        provider: Some(endpoint.provider_label()),
        model: Some(endpoint.model.clone()),
        trace: None,
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
    stream_with_tools(
        engine, store, prepared, endpoint, options, None, cancel, on_event,
    )
    .await
}

/// Says whether a tool call may run. The window shows a dialog, the command
/// line asks on its terminal or follows `--approve`.
pub trait ToolGate: Send + Sync {
    /// The user's answer for `call` (already announced by an
    /// [`EngineEvent::ToolAsk`]).
    fn approve<'a>(&'a self, call: &'a PendingCall) -> BoxFuture<'a, Approval>;
}

/// The tools an answer may call, and how their calls run.
pub struct ToolRun<'a> {
    /// The servers.
    pub hub: &'a Hub,
    /// What is offered, and where each tool lives.
    pub toolbox: &'a Toolbox,
    /// Who allows calls.
    pub gate: &'a dyn ToolGate,
    /// Most rounds of calls one answer runs.
    pub step_limit: u32,
    /// How long one call may take.
    pub call_timeout: Duration,
}

/// Text put between the text of two requests of one answer.
const ROUND_BREAK: &str = "\n\n";

/// [`stream`], with tools: while the model calls tools (and `tools` has
/// them), each call is announced, approved, run and reported
/// ([`EngineEvent::ToolStep`]), and the answer goes on in the same message
/// with the results, until the model stops calling tools, the step limit,
/// Stop or an error.
#[allow(clippy::too_many_arguments)]
pub async fn stream_with_tools(
    engine: &Engine,
    store: &Arc<Store>,
    prepared: &Prepared,
    endpoint: &Endpoint,
    options: ChatOptions,
    tools: Option<&ToolRun<'_>>,
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(EngineEvent) + Send),
) -> StreamResult {
    let live: Live = Arc::new(Mutex::new((Answer::default(), false)));
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
    // Thinking blocks go back only to the model (and server) that signed
    // them: after a switch the API would reject the request.
    let source = ThinkingBlock::source_of(&endpoint.base_url, &endpoint.model);
    let mut messages = prepared.messages.clone();
    for m in &mut messages {
        m.thinking.retain(|b| b.source == source);
    }
    // Each step is saved as it ends: a crash in the middle of the loop
    // keeps the calls made so far with the text.
    let mut saved_steps: Vec<ToolStep> = Vec::new();
    let mut on_event = |ev: EngineEvent| {
        if let EngineEvent::ToolStep(step) = &ev {
            saved_steps.push(step.clone());
            if let Err(e) = store.save_tool_steps(&prepared.answer.id, &saved_steps) {
                tracing::warn!(error = %e, "could not save a tool step");
            }
        }
        on_event(ev);
    };
    let mut result = converse(
        engine,
        endpoint,
        messages,
        options,
        tools,
        cancel,
        &mut on_event,
        &live,
    )
    .await;
    stop.cancel();
    let _ = flusher.await;
    for b in &mut result.answer.thinking_blocks {
        b.source.clone_from(&source);
    }
    let mut fin = final_state(&result, endpoint);
    fin.trace = result.trace.clone().map(|mut t| {
        reference_history(&mut t, &prepared.history_ids);
        t
    });
    let store = store.clone();
    let id = prepared.answer.id.clone();
    match tokio::task::spawn_blocking(move || store.finish_message(&id, &fin)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "could not save the finished answer"),
        Err(e) => tracing::error!(error = %e, "the task saving the finished answer failed"),
    }
    result
}

/// A delta of a later request, its tool-call slot moved past the `base`
/// calls of the requests before it.
fn shift_slot(d: Delta, base: usize) -> Delta {
    if base == 0 {
        return d;
    }
    match d {
        Delta::ToolCallStart { index, id, name } => Delta::ToolCallStart {
            index: index + base,
            id,
            name,
        },
        Delta::ToolCallMeta { index, id, name } => Delta::ToolCallMeta {
            index: index + base,
            id,
            name,
        },
        Delta::ToolCallArgs { index, fragment } => Delta::ToolCallArgs {
            index: index + base,
            fragment,
        },
        other => other,
    }
}

/// The last request's result made the whole answer's: usage and chunks
/// summed over every request, the first one's time to first token, the
/// whole time, and the traces one after the other.
fn combine(last: &mut StreamResult, earlier: Vec<StreamResult>) {
    let mut usage = crate::types::answer::Usage::default();
    let mut estimated = last.usage_estimated;
    let mut total_ms = 0.0;
    let mut chunks = 0;
    let mut ttft = None;
    let mut lines = Vec::new();
    let mut raw = Vec::new();
    for r in earlier.iter().chain(std::iter::once(&*last)) {
        usage.input_tokens += r.usage.input_tokens;
        usage.output_tokens += r.usage.output_tokens;
        usage.cached_input_tokens += r.usage.cached_input_tokens;
        estimated |= r.usage_estimated;
        total_ms += r.metrics.total_ms;
        chunks += r.metrics.chunks;
        ttft = ttft.or(r.metrics.ttft_ms);
        if let Some(t) = &r.trace {
            lines.extend(t.lines.iter().cloned());
            raw.extend_from_slice(&t.raw);
        }
    }
    last.usage = usage;
    last.usage_estimated = estimated;
    last.metrics.total_ms = total_ms;
    last.metrics.chunks = chunks;
    last.metrics.ttft_ms = ttft;
    if last.trace.is_some() {
        last.trace = Some(crate::engine::trace::Trace { lines, raw });
    }
}

/// Runs one call the model made: checks it is offered, asks the gate
/// (unless trusted), runs it on its server within the timeout, and returns
/// its step. Nothing runs past the step limit (`limited`) or after Stop.
#[allow(clippy::too_many_arguments)]
async fn run_call(
    t: &ToolRun<'_>,
    call: &ToolCall,
    round: u32,
    at: usize,
    limited: bool,
    trusted: &mut std::collections::HashSet<String>,
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(EngineEvent) + Send),
) -> ToolStep {
    let route = t.toolbox.route(&call.name).cloned();
    let mut step = ToolStep {
        call_id: call.id.clone(),
        name: call.name.clone(),
        server: route.as_ref().map(|r| r.server.clone()),
        tool: route.as_ref().map(|r| r.tool.clone()),
        arguments: call.arguments.clone(),
        approved: Approval::NotRun,
        result: String::new(),
        images: Vec::new(),
        is_error: true,
        duration_ms: 0,
        round,
        at,
    };
    let Some(route) = route else {
        step.result = format!("No tool named {:?} is offered; nothing ran", call.name);
        return step;
    };
    if limited {
        step.result = format!(
            "Not run: this answer reached its limit of {} rounds of tool calls",
            t.step_limit
        );
        return step;
    }
    if cancel.is_cancelled() {
        step.result = "Not run: stopped by the user".into();
        return step;
    }
    step.approved = if trusted.contains(&call.name) {
        Approval::Trusted
    } else {
        let pending = PendingCall {
            call_id: call.id.clone(),
            name: call.name.clone(),
            server: Some(route.server.clone()),
            tool: Some(route.tool.clone()),
            arguments: call.arguments.clone(),
        };
        on_event(EngineEvent::ToolAsk(pending.clone()));
        tokio::select! {
            a = t.gate.approve(&pending) => a,
            _ = cancel.cancelled() => {
                step.approved = Approval::Denied;
                step.result = "Not run: stopped by the user".into();
                return step;
            }
        }
    };
    if step.approved == Approval::AllowedAlways {
        trusted.insert(call.name.clone());
    }
    if !step.approved.ran() {
        step.result = "The user declined to run this tool call.".into();
        return step;
    }
    let Some(launch) = t.toolbox.launches.get(&route.server) else {
        step.result = format!("The MCP server {} is not configured", route.server);
        return step;
    };
    on_event(EngineEvent::ToolRunning {
        call_id: call.id.clone(),
    });
    let started = std::time::Instant::now();
    let out = t
        .hub
        .call(launch, &route.tool, &call.arguments, t.call_timeout, cancel)
        .await;
    step.duration_ms = started.elapsed().as_millis() as u64;
    step.result = out.text;
    step.images = out.images;
    step.is_error = out.is_error;
    step
}

/// What a streaming answer holds so far, and whether it changed since it
/// was last saved.
pub type Live = Arc<Mutex<(Answer, bool)>>;

/// The requests of one answer: the first, then, while the model calls
/// tools (and `tools` has them), each call announced, approved, run and
/// reported ([`EngineEvent::ToolStep`]), and the next request with the
/// results, until the model stops calling tools, the step limit, Stop or an
/// error. `live` holds the whole answer as it grows. Nothing is stored.
#[allow(clippy::too_many_arguments)]
pub async fn converse(
    engine: &Engine,
    endpoint: &Endpoint,
    mut messages: Vec<ChatMessage>,
    mut options: ChatOptions,
    tools: Option<&ToolRun<'_>>,
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(EngineEvent) + Send),
    live: &Live,
) -> StreamResult {
    let source = ThinkingBlock::source_of(&endpoint.base_url, &endpoint.model);
    if let Some(t) = tools {
        options.tools = t.toolbox.specs.clone();
    }
    let mut steps: Vec<ToolStep> = Vec::new();
    let mut round: u32 = 0;
    // The requests before the last one: their usage, timings and traces.
    let mut earlier: Vec<StreamResult> = Vec::new();
    let mut trusted: std::collections::HashSet<String> =
        tools.map(|t| t.toolbox.trusted.clone()).unwrap_or_default();
    let mut result = loop {
        // Calls of earlier requests hold the first slots of the whole answer.
        let base = live.lock().map(|g| g.0.tool_calls.len()).unwrap_or(0);
        let mut this = engine
            .chat(endpoint, &messages, options.clone(), cancel, &mut |ev| {
                let ev = match ev {
                    EngineEvent::Delta(d) => EngineEvent::Delta(shift_slot(d, base)),
                    other => other,
                };
                if let EngineEvent::Delta(d) = &ev {
                    if let Ok(mut g) = live.lock() {
                        g.0.apply(d);
                        g.1 = true;
                    }
                }
                on_event(ev);
            })
            .await;
        let Some(t) = tools else { break this };
        let calls = this.answer.tool_calls.clone();
        if calls.is_empty() || !matches!(this.outcome, Outcome::Done) {
            break this;
        }
        let at = live.lock().map(|g| g.0.text.len()).unwrap_or(0);
        let limited = round >= t.step_limit;
        let mut results = Vec::with_capacity(calls.len());
        for call in &calls {
            let step = run_call(t, call, round, at, limited, &mut trusted, cancel, on_event).await;
            on_event(EngineEvent::ToolStep(step.clone()));
            results.push(step);
        }
        // The request's own text and calls, then their results.
        let mut said = ChatMessage::new(Role::Assistant, this.answer.history_text());
        said.tool_calls = calls;
        said.thinking = std::mem::take(&mut this.answer.thinking_blocks);
        for b in &mut said.thinking {
            b.source.clone_from(&source);
        }
        messages.push(said);
        messages.push(ChatMessage::tool_results(
            results.iter().map(ToolResult::from).collect(),
        ));
        steps.extend(results);
        if limited {
            on_event(EngineEvent::Notice(format!(
                "Stopped after {} rounds of tool calls (the step limit in Settings); the last calls did not run",
                t.step_limit
            )));
            break this;
        }
        if cancel.is_cancelled() {
            this.outcome = Outcome::Cancelled;
            break this;
        }
        round += 1;
        // The next request's text follows after a break.
        let has_text = live.lock().map(|g| !g.0.text.is_empty()).unwrap_or(false);
        if has_text {
            let d = Delta::Text(ROUND_BREAK.to_owned());
            if let Ok(mut g) = live.lock() {
                g.0.apply(&d);
                g.1 = true;
            }
            on_event(EngineEvent::Delta(d));
        }
        earlier.push(this);
    };
    if !earlier.is_empty() {
        if let Ok(g) = live.lock() {
            result.answer = g.0.clone();
        }
        combine(&mut result, earlier);
    }
    result.steps = steps;
    result
}

/// Where a send goes: the service's endpoint for the settings' provider and
/// model, with thinking on where the protocol has it.
pub async fn endpoint(
    service: &Arc<Service>,
    settings: &SendSettings,
) -> Result<Endpoint, ServiceError> {
    let mut endpoint = service
        .endpoint(settings.provider.as_deref(), settings.model.as_deref())
        .await?;
    endpoint.set_thinking_budget(settings.thinking_budget);
    endpoint.sampling = endpoint.sampling.overridden_by(settings.sampling);
    Ok(endpoint)
}

/// Streams and records the answer of a prepared turn (see [`stream`]), then
/// keeps what the engine learned about the provider (e.g. that it rejects
/// `stream_options`) in its settings.
pub async fn run(
    service: &Arc<Service>,
    store: &Arc<Store>,
    prepared: &Prepared,
    endpoint: &Endpoint,
    provider_id: Option<String>,
    cancel: &CancellationToken,
    on_event: impl FnMut(EngineEvent) + Send,
) -> StreamResult {
    run_with_tools(
        service,
        store,
        prepared,
        endpoint,
        provider_id,
        None,
        cancel,
        on_event,
    )
    .await
}

/// [`run`], with tools the model may call (see [`stream_with_tools`]).
#[allow(clippy::too_many_arguments)]
pub async fn run_with_tools(
    service: &Arc<Service>,
    store: &Arc<Store>,
    prepared: &Prepared,
    endpoint: &Endpoint,
    provider_id: Option<String>,
    tools: Option<&ToolRun<'_>>,
    cancel: &CancellationToken,
    mut on_event: impl FnMut(EngineEvent) + Send,
) -> StreamResult {
    let options = ChatOptions {
        trace_cap: service.settings().trace.cap(),
        ..ChatOptions::default()
    };
    let result = stream_with_tools(
        &service.engine(),
        store,
        prepared,
        endpoint,
        options,
        tools.filter(|t| !t.toolbox.is_empty()),
        cancel,
        &mut on_event,
    )
    .await;
    drop(on_event);
    let service = service.clone();
    let endpoint = endpoint.clone();
    let _ = tokio::task::spawn_blocking(move || {
        service.remember_quirks(provider_id.as_deref(), &endpoint)
    })
    .await;
    result
}

/// Records a failure that happened before streaming (no usable provider):
/// the answer ends as an error with this message.
pub fn fail_before_stream(store: &Store, prepared: &Prepared, error: &ErrorInfo) {
    let fin = FinalState {
        error_kind: Some(error.kind),
        error_message: Some(error.message.clone()),
        ..FinalState::bare(MessageStatus::Error)
    };
    if let Err(e) = store.finish_message(&prepared.answer.id, &fin) {
        tracing::error!(error = %e, "could not save the failed answer");
    }
}

/// The key a request body's repeated history points at a stored message
/// with, in a stored trace.
pub const TRACE_REF: &str = "runnel_ref";
/// Shorter texts are kept in the trace as they are.
const MIN_REFERENCED_LEN: usize = 64;

/// Replaces the history a stored trace's request repeats (each text equal to
/// a stored message's) by `{"runnel_ref": id}`, so a trace costs O(answer),
/// not O(conversation). `history` maps texts to their message ids.
pub fn reference_history(trace: &mut Trace, history: &[(String, String)]) {
    if history.is_empty() {
        return;
    }
    let by_text: std::collections::HashMap<&str, &str> = history
        .iter()
        .filter(|(_, text)| text.len() >= MIN_REFERENCED_LEN)
        .map(|(id, text)| (text.as_str(), id.as_str()))
        .collect();
    for line in &mut trace.lines {
        let TraceLine::Request { body, .. } = line else {
            continue;
        };
        let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) else {
            continue;
        };
        let Some(messages) = v.get_mut("messages").and_then(|m| m.as_array_mut()) else {
            continue;
        };
        let mut changed = false;
        for m in messages {
            walk_strings(m, &mut |s| {
                by_text.get(s.as_str()).map(|id| {
                    changed = true;
                    serde_json::json!({ TRACE_REF: id })
                })
            });
        }
        if changed {
            if let Ok(s) = serde_json::to_string(&v) {
                *body = s;
            }
        }
    }
}

/// The trace with its request's references replaced by the stored texts
/// again (a reference to a message since deleted stays as it is).
pub fn resolve_trace(store: &Store, mut trace: Trace) -> Trace {
    for line in &mut trace.lines {
        let TraceLine::Request { body, .. } = line else {
            continue;
        };
        if !body.contains(TRACE_REF) {
            continue;
        }
        let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) else {
            continue;
        };
        resolve_refs(&mut v, store);
        if let Ok(s) = serde_json::to_string(&v) {
            *body = s;
        }
    }
    trace
}

fn resolve_refs(v: &mut serde_json::Value, store: &Store) {
    use serde_json::Value;
    if let Value::Object(o) = v {
        if o.len() == 1 {
            if let Some(Value::String(id)) = o.get(TRACE_REF) {
                if let Ok(m) = store.message(id) {
                    *v = Value::String(m.content);
                }
                return;
            }
        }
    }
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_refs(x, store)),
        Value::Object(o) => o.values_mut().for_each(|x| resolve_refs(x, store)),
        _ => {}
    }
}

/// Calls `f` on every string inside `v`; a value it returns takes the
/// string's place.
fn walk_strings(
    v: &mut serde_json::Value,
    f: &mut impl FnMut(&String) -> Option<serde_json::Value>,
) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Some(new) = f(s) {
                *v = new;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| walk_strings(x, f)),
        Value::Object(o) => o.values_mut().for_each(|x| walk_strings(x, f)),
        _ => {}
    }
}
