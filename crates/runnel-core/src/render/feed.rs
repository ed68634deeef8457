//! What the window receives for one stream: engine events turned into small
//! render operations (markdown already rendered and sanitized in Rust), batched
//! every [`FRAME`] (8 ms). Deltas that arrive within one batch travel together;
//! none waits longer than that. The transport (a Tauri Channel) is the shell's
//! business.

use crate::engine::{EngineEvent, Metrics, Outcome, StreamResult};
use crate::render::markdown::{MarkdownStream, MdOp};
use crate::types::answer::{Delta, Usage};
use crate::types::error::ErrorInfo;
use crate::types::status::MessageStatus;
use serde::Serialize;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The longest any delta waits before it is sent: half a 60 Hz frame, so a
/// delta is in the page before the frame after it arrived (16 ms batches put
/// 8 ms on the median send-to-paint; the page still draws once per frame).
pub const FRAME: Duration = Duration::from_millis(8);

/// One render operation for the answer element of a message.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum UiOp {
    /// A retry is scheduled before the answer starts.
    Retrying {
        /// 1 for the first retry.
        attempt: u32,
        /// Most retries.
        max: u32,
        /// Wait in milliseconds.
        delay_ms: u64,
        /// Why.
        reason: String,
    },
    /// A notice beside the answer (a fallback chat template, the tool step
    /// limit); it stays.
    Notice {
        /// What to show.
        text: String,
    },
    /// The oldest `dropped` messages were left out to fit a local model's
    /// context of `context` tokens; the window says so in its language,
    /// and it stays.
    ContextTrimmed {
        /// Messages left out.
        dropped: u32,
        /// The context's size in tokens.
        context: u32,
    },
    /// The local model is busy with another answer: this one waits.
    Waiting,
    /// A local model is loading: this percent is done.
    Loading {
        /// 0-100.
        percent: u32,
    },
    /// Append plain text to the Thinking section.
    Reasoning {
        /// Text to append.
        text: String,
    },
    /// Append a completed, sanitized HTML block; the open block becomes empty.
    Block {
        /// Sanitized HTML.
        html: String,
    },
    /// Replace the open block with this sanitized HTML.
    Open {
        /// Sanitized HTML.
        html: String,
    },
    /// The open block becomes an empty code block.
    CodeOpen {
        /// Language from the fence info string.
        lang: String,
    },
    /// Append plain text to the open code block's unfinished line.
    CodeAppend {
        /// Text to append.
        text: String,
    },
    /// The open code block's plain text is replaced by these highlighted
    /// lines (appended after the ones before), then its unfinished line is `tail`.
    CodeLit {
        /// Highlighted HTML of completed lines, made by trusted code.
        html: String,
        /// The unfinished line, plain text.
        tail: String,
    },
    /// The open code block is complete as shown: it becomes a completed block.
    CodeClose,
    /// Append plain text to the refusal.
    Refusal {
        /// Text to append.
        text: String,
    },
    /// A tool call starts, or learns its id or name.
    ToolCall {
        /// Slot.
        index: usize,
        /// Id, if known now.
        id: Option<String>,
        /// Name, if known now.
        name: Option<String>,
    },
    /// Append raw text to a tool call's arguments.
    ToolArgs {
        /// Slot.
        index: usize,
        /// Text to append.
        text: String,
    },
    /// A call waits for the user: show its arguments with Allow, Allow
    /// always and Deny (answered with the `decide_tool` command).
    ToolAsk {
        /// The call.
        call: crate::types::tool::PendingCall,
    },
    /// A call is running.
    ToolRunning {
        /// Its id.
        call_id: String,
    },
    /// A call ended: its step (approval, result, duration).
    ToolStep {
        /// The step.
        step: crate::types::tool::ToolStep,
    },
}

/// A finished tool call as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ToolCallView {
    /// Call id.
    pub id: String,
    /// Function name.
    pub name: String,
    /// Arguments, pretty-printed when they are valid JSON, else raw.
    pub arguments: String,
    /// False when the arguments are not valid JSON (e.g. cut off by max tokens).
    pub valid_json: bool,
}

impl ToolCallView {
    /// A finished call: arguments pretty-printed when they are valid JSON.
    pub fn from_call(c: &crate::types::answer::ToolCall) -> Self {
        let parsed = if c.arguments.trim().is_empty() {
            Some(serde_json::Value::Object(Default::default()))
        } else {
            serde_json::from_str::<serde_json::Value>(&c.arguments).ok()
        };
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            valid_json: parsed.is_some(),
            arguments: parsed
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| c.arguments.clone()),
        }
    }
}

/// The last message of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct StreamEnd {
    /// `done`, `cancelled` or `error`.
    pub status: MessageStatus,
    /// Set when status is `error`.
    pub error: Option<ErrorInfo>,
    /// Last finish reason.
    pub finish_reason: Option<String>,
    /// Timings.
    pub metrics: Metrics,
    /// Token counts.
    pub usage: Usage,
    /// True when usage is estimated.
    pub usage_estimated: bool,
    /// Final tool calls.
    pub tool_calls: Vec<ToolCallView>,
    /// The raw markdown of the answer as it stands (for Copy).
    pub text: String,
    /// What it cost at today's prices; None when its model has no known
    /// price (set by the face, which knows the price table).
    pub cost: Option<crate::types::cost::Cost>,
}

impl StreamEnd {
    /// The end of a stream that failed before or outside the engine.
    pub fn failed(error: ErrorInfo) -> Self {
        Self {
            status: MessageStatus::Error,
            error: Some(error),
            finish_reason: None,
            metrics: Metrics::default(),
            usage: Usage::default(),
            usage_estimated: true,
            tool_calls: Vec::new(),
            text: String::new(),
            cost: None,
        }
    }

    /// Summarizes a finished stream.
    pub fn from_result(r: &StreamResult) -> Self {
        Self {
            status: r.outcome.status(),
            error: match &r.outcome {
                Outcome::Error(e) => Some(e.to_info()),
                _ => None,
            },
            finish_reason: r.answer.finish_reason.clone(),
            metrics: r.metrics,
            usage: r.usage,
            usage_estimated: r.usage_estimated,
            tool_calls: r
                .answer
                .tool_calls
                .iter()
                .map(ToolCallView::from_call)
                .collect(),
            text: r.answer.text.clone(),
            cost: None,
        }
    }
}

/// A message on the stream's channel to the window.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamMessage {
    /// Render operations of one frame, in order.
    Ops {
        /// The operations.
        ops: Vec<UiOp>,
    },
    /// The terminal state; nothing follows.
    End(StreamEnd),
}

/// Turns engine events into render operations.
#[derive(Debug, Default)]
pub struct UiFeed {
    md: MarkdownStream,
    md_ops: Vec<MdOp>,
    ops: Vec<UiOp>,
}

impl UiFeed {
    /// A feed for a new answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one engine event.
    pub fn on_event(&mut self, ev: EngineEvent) {
        match ev {
            EngineEvent::Retrying {
                attempt,
                max,
                delay,
                reason,
            } => self.ops.push(UiOp::Retrying {
                attempt,
                max,
                delay_ms: delay.as_millis() as u64,
                reason,
            }),
            EngineEvent::ReadEnd => {}
            EngineEvent::Notice(text) => self.ops.push(UiOp::Notice { text }),
            EngineEvent::ContextTrimmed { dropped, context } => {
                self.ops.push(UiOp::ContextTrimmed { dropped, context })
            }
            EngineEvent::Loading { percent } => self.ops.push(UiOp::Loading { percent }),
            EngineEvent::Waiting => self.ops.push(UiOp::Waiting),
            EngineEvent::ToolAsk(call) => self.ops.push(UiOp::ToolAsk { call }),
            EngineEvent::ToolRunning { call_id } => self.ops.push(UiOp::ToolRunning { call_id }),
            EngineEvent::ToolStep(step) => self.ops.push(UiOp::ToolStep { step }),
            EngineEvent::Delta(d) => match d {
                Delta::Text(t) => {
                    self.md.push(&t, &mut self.md_ops);
                    self.drain_md();
                }
                Delta::Reasoning(t) => match self.ops.last_mut() {
                    Some(UiOp::Reasoning { text }) => text.push_str(&t),
                    _ => self.ops.push(UiOp::Reasoning { text: t }),
                },
                Delta::Refusal(t) => match self.ops.last_mut() {
                    Some(UiOp::Refusal { text }) => text.push_str(&t),
                    _ => self.ops.push(UiOp::Refusal { text: t }),
                },
                Delta::ToolCallStart { index, id, name } => self.ops.push(UiOp::ToolCall {
                    index,
                    id: Some(id).filter(|s| !s.is_empty()),
                    name: Some(name).filter(|s| !s.is_empty()),
                }),
                Delta::ToolCallMeta { index, id, name } => {
                    self.ops.push(UiOp::ToolCall { index, id, name })
                }
                Delta::ToolCallArgs { index, fragment } => match self.ops.last_mut() {
                    Some(UiOp::ToolArgs { index: i, text }) if *i == index => {
                        text.push_str(&fragment)
                    }
                    _ => self.ops.push(UiOp::ToolArgs {
                        index,
                        text: fragment,
                    }),
                },
                Delta::Usage(_)
                | Delta::Finish(_)
                | Delta::ThinkingStart { .. }
                | Delta::Signature(_) => {}
            },
        }
    }

    fn drain_md(&mut self) {
        for op in self.md_ops.drain(..) {
            let op = match op {
                MdOp::Block(html) => UiOp::Block { html },
                MdOp::Open(html) => UiOp::Open { html },
                MdOp::CodeOpen(lang) => UiOp::CodeOpen { lang },
                MdOp::CodeAppend(text) => match self.ops.last_mut() {
                    Some(UiOp::CodeAppend { text: t }) | Some(UiOp::CodeLit { tail: t, .. }) => {
                        t.push_str(&text);
                        continue;
                    }
                    _ => UiOp::CodeAppend { text },
                },
                MdOp::CodeLit(html, tail) => match self.ops.last_mut() {
                    Some(UiOp::CodeLit { html: h, tail: t }) => {
                        h.push_str(&html);
                        *t = tail;
                        continue;
                    }
                    // Plain text sent this frame is replaced by the lines anyway.
                    Some(UiOp::CodeAppend { .. }) => {
                        self.ops.pop();
                        UiOp::CodeLit { html, tail }
                    }
                    _ => UiOp::CodeLit { html, tail },
                },
                MdOp::CodeClose => UiOp::CodeClose,
            };
            self.ops.push(op);
        }
    }

    /// The operations of this frame (the open block rendered once).
    pub fn take_frame(&mut self) -> Vec<UiOp> {
        self.md.flush(&mut self.md_ops);
        self.drain_md();
        std::mem::take(&mut self.ops)
    }

    /// The last operations: the open block becomes a completed block.
    pub fn finish(&mut self) -> Vec<UiOp> {
        self.md.finish(&mut self.md_ops);
        self.drain_md();
        std::mem::take(&mut self.ops)
    }
}

/// Forwards events from `rx` as per-frame batches to `send` until `rx` closes,
/// then sends the final operations. A batch leaves at most one `frame` after
/// its first event arrived.
pub async fn pump(
    mut rx: mpsc::UnboundedReceiver<EngineEvent>,
    frame: Duration,
    mut send: impl FnMut(Vec<UiOp>),
) {
    let mut feed = UiFeed::new();
    let mut last_flush: Option<Instant> = None;
    'outer: while let Some(ev) = rx.recv().await {
        feed.on_event(ev);
        let due = last_flush.map(|t| t + frame).unwrap_or_else(Instant::now);
        let mut open = true;
        while open {
            tokio::select! {
                biased;
                // The deadline first: a producer faster than us never holds a frame back.
                _ = tokio::time::sleep_until(due) => break,
                ev = rx.recv() => match ev {
                    Some(ev) => feed.on_event(ev),
                    None => open = false,
                },
            }
        }
        let ops = feed.take_frame();
        if !ops.is_empty() {
            send(ops);
        }
        last_flush = Some(Instant::now());
        if !open {
            break 'outer;
        }
    }
    let ops = feed.finish();
    if !ops.is_empty() {
        send(ops);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> EngineEvent {
        EngineEvent::Delta(Delta::Text(t.into()))
    }

    #[test]
    fn reasoning_and_args_merge_within_a_frame() {
        let mut f = UiFeed::new();
        f.on_event(EngineEvent::Delta(Delta::Reasoning("a".into())));
        f.on_event(EngineEvent::Delta(Delta::Reasoning("b".into())));
        f.on_event(EngineEvent::Delta(Delta::ToolCallStart {
            index: 0,
            id: "c1".into(),
            name: "f".into(),
        }));
        f.on_event(EngineEvent::Delta(Delta::ToolCallArgs {
            index: 0,
            fragment: "{\"a\"".into(),
        }));
        f.on_event(EngineEvent::Delta(Delta::ToolCallArgs {
            index: 0,
            fragment: ":1}".into(),
        }));
        let ops = f.take_frame();
        assert_eq!(
            ops,
            vec![
                UiOp::Reasoning { text: "ab".into() },
                UiOp::ToolCall {
                    index: 0,
                    id: Some("c1".into()),
                    name: Some("f".into())
                },
                UiOp::ToolArgs {
                    index: 0,
                    text: "{\"a\":1}".into()
                },
            ]
        );
    }

    #[test]
    fn open_block_rendered_once_per_frame() {
        let mut f = UiFeed::new();
        for t in ["Hel", "lo", " wor", "ld"] {
            f.on_event(text(t));
        }
        assert_eq!(
            f.take_frame(),
            vec![UiOp::Open {
                html: "<p>Hello world</p>\n".into()
            }]
        );
        assert_eq!(f.take_frame(), vec![]);
        assert_eq!(
            f.finish(),
            vec![UiOp::Block {
                html: "<p>Hello world</p>\n".into()
            }]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pump_batches_per_frame_and_never_waits_longer() {
        let (tx, rx) = mpsc::unbounded_channel();
        let (btx, mut brx) = mpsc::unbounded_channel::<(Instant, Vec<UiOp>)>();
        let handle = tokio::spawn(pump(rx, FRAME, move |ops| {
            let _ = btx.send((Instant::now(), ops));
        }));
        let t0 = Instant::now();
        // A burst within one frame travels together after the first immediate flush.
        tx.send(text("a")).expect("send");
        tokio::time::sleep(Duration::from_millis(1)).await;
        let (t, first) = brx.recv().await.expect("batch");
        assert!(t - t0 <= FRAME);
        assert_eq!(
            first,
            vec![UiOp::Open {
                html: "<p>a</p>\n".into()
            }]
        );
        for c in ["b", "c", "d"] {
            tx.send(text(c)).expect("send");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let (t2, second) = brx.recv().await.expect("batch");
        assert!(t2 - t <= FRAME + Duration::from_millis(1), "{:?}", t2 - t);
        assert_eq!(
            second,
            vec![UiOp::Open {
                html: "<p>abcd</p>\n".into()
            }]
        );
        drop(tx);
        handle.await.expect("pump");
        let (_, last) = brx.recv().await.expect("final");
        assert_eq!(
            last[0],
            UiOp::Block {
                html: "<p>abcd</p>\n".into()
            }
        );
    }
}
