//! What the commands print: the `--json` shapes and plain-text lines. The
//! commands decide; this module only formats.

use runnel_core::config::prices::{PriceEntry, PriceOrigin};
use runnel_core::engine::{Metrics, Outcome, StreamResult};
use runnel_core::service::UiState;
use runnel_core::service::{UsageLine, UsageReport};
use runnel_core::store::{ConversationSummary, Message, SearchHit, MARK_END, MARK_START};
use runnel_core::types::answer::{ToolCall, Usage};
use runnel_core::types::cost::Cost;
use runnel_core::types::error::ErrorInfo;
use serde::Serialize;
use std::borrow::Cow;

/// The `--json` result object.
#[derive(Debug, Serialize)]
pub struct AskJson<'a> {
    /// `done`, `cancelled` or `error`.
    pub status: &'static str,
    /// Answer text.
    pub text: &'a str,
    /// Reasoning, or null.
    pub reasoning: Option<&'a str>,
    /// Refusal, or null.
    pub refusal: Option<&'a str>,
    /// Tool calls.
    pub tool_calls: &'a [ToolCall],
    /// Last finish reason.
    pub finish_reason: Option<&'a str>,
    /// Server-reported usage, or null.
    pub usage: Option<Usage>,
    /// The error, or null.
    pub error: Option<ErrorInfo>,
    /// Timings.
    pub metrics: Metrics,
    /// The stored conversation, with --save.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The stored answer, with --save.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// What the answer cost in USD at today's prices; null when the model
    /// has no known price (`runnel prices`).
    pub cost_usd: Option<f64>,
    /// The cost rests on estimated token counts (the server sent no usage).
    pub cost_estimated: bool,
    /// The tool calls that ran or were declined (with --mcp).
    pub steps: Vec<StepJson<'a>>,
}

/// One tool step in `--json`.
#[derive(Debug, Serialize)]
pub struct StepJson<'a> {
    /// The name the model called.
    pub name: &'a str,
    /// Its arguments, raw JSON as the model wrote them.
    pub arguments: &'a str,
    /// The result text.
    pub result: &'a str,
    /// The result is an error.
    pub is_error: bool,
    /// How long the call took.
    pub duration_ms: u64,
    /// Whether it ran: `allowed`, `allowed_always`, `trusted`, `denied`,
    /// `denied_unasked` (no terminal to ask on, or `--approve none`), `not_run`.
    pub approved: runnel_core::types::tool::Approval,
}

impl<'a> AskJson<'a> {
    /// Builds the object from a finished stream.
    pub fn from_result(r: &'a StreamResult) -> Self {
        Self {
            status: r.outcome.status().as_str(),
            text: &r.answer.text,
            reasoning: r.answer.reasoning.as_deref(),
            refusal: r.answer.refusal.as_deref(),
            tool_calls: &r.answer.tool_calls,
            finish_reason: r.answer.finish_reason.as_deref(),
            usage: r.answer.usage,
            error: match &r.outcome {
                Outcome::Error(e) => Some(e.to_info()),
                _ => None,
            },
            metrics: r.metrics,
            conversation_id: None,
            message_id: None,
            cost_usd: None,
            cost_estimated: false,
            steps: r
                .steps
                .iter()
                .map(|s| StepJson {
                    name: &s.name,
                    arguments: &s.arguments,
                    result: &s.result,
                    is_error: s.is_error,
                    duration_ms: s.duration_ms,
                    approved: s.approved,
                })
                .collect(),
        }
    }
}

/// A cost as shown: `$0.0123` (six decimals under a cent), `~` in front
/// when estimated, `-` when unknown.
pub fn format_usd(cost: Option<Cost>) -> String {
    match cost {
        None => "-".to_owned(),
        Some(c) => {
            let approx = if c.estimated { "~" } else { "" };
            if c.usd != 0.0 && c.usd.abs() < 0.01 {
                format!("{approx}${:.6}", c.usd)
            } else {
                format!("{approx}${:.4}", c.usd)
            }
        }
    }
}

/// One row of `runnel compare`'s table.
#[derive(Debug, Clone)]
pub struct CompareRow {
    /// PROVIDER:MODEL, or the model id.
    pub label: String,
    /// `done`, `cancelled`, or `error: kind`.
    pub status: String,
    /// Time to first token, ms.
    pub ttft_ms: Option<f64>,
    /// Total, ms.
    pub total_ms: f64,
    /// Output tokens per second.
    pub tokens_per_s: Option<f64>,
    /// Tokens in, out, and whether estimated.
    pub tokens: (u64, u64, bool),
    /// Cost.
    pub cost: Option<Cost>,
}

impl CompareRow {
    /// The row of a finished stream.
    pub fn from_result(label: &str, r: &StreamResult, cost: Option<Cost>) -> Self {
        Self {
            label: label.to_owned(),
            status: match &r.outcome {
                Outcome::Error(e) => format!("error: {}", e.kind().as_str()),
                o => o.status().as_str().to_owned(),
            },
            ttft_ms: r.metrics.ttft_ms,
            total_ms: r.metrics.total_ms,
            tokens_per_s: r.metrics.tokens_per_s,
            tokens: (
                r.usage.input_tokens,
                r.usage.output_tokens,
                r.usage_estimated,
            ),
            cost,
        }
    }

    /// The row of one that could not start.
    pub fn failed(label: &str, why: &str) -> Self {
        Self {
            label: label.to_owned(),
            status: format!("error: {why}"),
            ttft_ms: None,
            total_ms: 0.0,
            tokens_per_s: None,
            tokens: (0, 0, false),
            cost: None,
        }
    }
}

/// `runnel compare`'s table.
pub fn compare_table(rows: &[CompareRow]) -> String {
    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(5).max(5);
    let mut out = format!(
        "{:<width$}  {:<16}  {:>9}  {:>9}  {:>8}  {:>8}  {:>8}  {:>10}\n",
        "MODEL", "STATUS", "TTFT", "TOTAL", "TOK/S", "IN", "OUT", "COST"
    );
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
    for r in rows {
        let est = if r.tokens.2 { "~" } else { "" };
        let mut status = r.status.clone();
        if status.chars().count() > 16 {
            status = status.chars().take(15).collect::<String>() + "…";
        }
        out.push_str(&format!(
            "{:<width$}  {:<16}  {:>9}  {:>9}  {:>8}  {:>8}  {:>8}  {:>10}\n",
            r.label,
            status,
            r.ttft_ms.map_or("-".to_owned(), |t| format!("{t:.0} ms")),
            format!("{:.2} s", r.total_ms / 1000.0),
            opt(r.tokens_per_s, 1),
            format!("{est}{}", r.tokens.0),
            format!("{est}{}", r.tokens.1),
            format_usd(r.cost),
        ));
    }
    out
}

/// `runnel prices list`: one row per model.
pub fn prices_table(table: &[PriceEntry]) -> String {
    let mut out = String::new();
    let width = table
        .iter()
        .map(|e| e.model.len())
        .max()
        .unwrap_or(5)
        .max(5);
    out.push_str(&format!(
        "{:<width$}  {:>9}  {:>9}  {:>9}  SOURCE\n",
        "MODEL", "INPUT", "OUTPUT", "CACHED"
    ));
    for e in table {
        let cached = e.price.cached.map_or("-".to_owned(), |c| format!("{c}"));
        let source = match &e.origin {
            PriceOrigin::User => "yours".to_owned(),
            PriceOrigin::Builtin { source, date } => format!("{source} ({date})"),
        };
        out.push_str(&format!(
            "{:<width$}  {:>9}  {:>9}  {:>9}  {source}\n",
            e.model, e.price.input, e.price.output, cached
        ));
    }
    out.push_str("USD per million tokens.\n");
    out
}

/// `runnel usage`: per provider and model, then the total, then per day.
pub fn usage_table(r: &UsageReport) -> String {
    let name = |l: &UsageLine| format!("{}:{}", or_unknown(&l.provider), or_unknown(&l.model));
    let width = r
        .models
        .iter()
        .map(|l| name(l).len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = String::new();
    let head = |out: &mut String, first: &str, width: usize| {
        out.push_str(&format!(
            "{first:<width$}  {:>7}  {:>12}  {:>12}  {:>12}  {:>12}\n",
            "ANSWERS", "INPUT", "CACHED", "OUTPUT", "COST"
        ));
    };
    let line = |out: &mut String, first: &str, l: &UsageLine, width: usize| {
        out.push_str(&format!(
            "{first:<width$}  {:>7}  {:>12}  {:>12}  {:>12}  {:>12}\n",
            l.answers,
            l.input_tokens,
            l.cached_input_tokens,
            l.output_tokens,
            format_usd(l.cost)
        ));
    };
    head(&mut out, "MODEL", width);
    for l in &r.models {
        line(&mut out, &name(l), l, width);
    }
    line(&mut out, "TOTAL", &r.total, width);
    out.push('\n');
    let width = (width + 12).max(16);
    head(&mut out, "DAY (UTC)", width);
    for l in &r.days {
        line(&mut out, &format!("{} {}", l.day, name(l)), l, width);
    }
    out
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "?"
    } else {
        s
    }
}

/// `YYYY-MM-DD HH:MM` (UTC) for ms since the epoch.
pub fn format_time(ms: i64) -> String {
    let c = runnel_core::types::time::civil(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// Where model and server text may carry escape sequences (OSC 52 clipboard
/// writes, OSC 8 hidden links, cursor moves, screen clears), and whether
/// each stream is a terminal that must not receive them.
#[derive(Debug, Clone, Copy)]
pub struct Term {
    /// Stdout is a terminal and `--raw` was not given.
    pub out: bool,
    /// Stderr is a terminal and `--raw` was not given.
    pub err: bool,
}

impl Term {
    /// Looks at stdout and stderr; `raw` keeps every byte everywhere.
    pub fn detect(raw: bool) -> Self {
        use std::io::IsTerminal;
        Self {
            out: !raw && std::io::stdout().is_terminal(),
            err: !raw && std::io::stderr().is_terminal(),
        }
    }

    /// Text for stdout.
    pub fn out<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.out {
            terminal_safe(s)
        } else {
            Cow::Borrowed(s)
        }
    }

    /// Text for stderr.
    pub fn err<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.err {
            terminal_safe(s)
        } else {
            Cow::Borrowed(s)
        }
    }
}

/// `s` with every C0 and C1 control character but newline and tab shown as
/// a visible stand-in (ESC as `␛`, other C0 as their control pictures, DEL
/// as `␡`, C1 as `�`), so a terminal never acts on them. O(len), and no copy
/// when there is nothing to replace.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    let is_control = |c: char| {
        (c < ' ' && c != '\n' && c != '\t') || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c)
    };
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                c if !is_control(c) => c,
                '\u{7f}' => '\u{2421}',
                c if c < ' ' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
                _ => '\u{fffd}',
            })
            .collect(),
    )
}

/// A search snippet with its match marks as `**`.
pub fn plain(s: &str) -> String {
    s.replace([MARK_START, MARK_END], "**")
}

/// `runnel providers list --json`.
pub fn providers_json(state: &UiState) -> serde_json::Value {
    let list: Vec<serde_json::Value> = state
        .providers
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.provider.id, "name": p.provider.name, "kind": p.provider.kind.as_str(),
                "base_url": p.provider.base_url, "default_model": p.provider.default_model,
                "default": state.default_provider.as_deref() == Some(p.provider.id.as_str()),
                "key": p.key_label, "needs_key": p.needs_key,
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// `runnel providers list`: one line a provider, `*` on the default.
pub fn provider_lines(state: &UiState) -> Vec<String> {
    state
        .providers
        .iter()
        .map(|p| {
            let default = if state.default_provider.as_deref() == Some(p.provider.id.as_str()) {
                "*"
            } else {
                " "
            };
            let key = if p.needs_key || p.key.set {
                p.key_label.as_str()
            } else {
                "no key needed"
            };
            format!(
                "{default} {:<14} {:<22} {:<18} {:<40} {:<28} {key}",
                p.provider.id,
                p.provider.name,
                p.provider.kind.as_str(),
                p.provider.base_url,
                p.provider.default_model
            )
        })
        .collect()
}

/// `runnel history list --json`.
pub fn conversations_json(list: &[ConversationSummary]) -> serde_json::Value {
    list.iter()
        .map(|c| serde_json::json!({"id": c.id, "title": c.title, "updated": c.updated, "created": c.created, "pinned": c.pinned, "provider": c.provider, "model": c.model}))
        .collect()
}

/// `runnel history list`: one line a conversation.
pub fn conversation_line(c: &ConversationSummary) -> String {
    format!(
        "{}  {}  {}{}",
        c.id,
        format_time(c.updated),
        if c.pinned { "📌 " } else { "" },
        c.title
    )
}

/// `runnel history show --json`.
pub fn conversation_json(c: &ConversationSummary, messages: &[Message]) -> serde_json::Value {
    serde_json::json!({
        "id": c.id, "title": c.title, "created": c.created, "updated": c.updated,
        "provider": c.provider, "model": c.model, "system_prompt": c.system_prompt,
        "messages": messages.iter().map(|m| serde_json::json!({
            "id": m.id, "role": m.role, "status": m.status.as_str(), "content": m.content,
            "reasoning": m.reasoning, "tool_calls": m.tool_calls, "finish_reason": m.finish_reason,
            "error": m.error_kind.as_ref().map(|k| serde_json::json!({"kind": k, "message": m.error_message})),
            "usage": m.usage, "metrics": m.metrics, "created": m.created,
        })).collect::<Vec<_>>(),
    })
}

/// `runnel history search --json`.
pub fn hits_json(hits: &[SearchHit]) -> serde_json::Value {
    hits.iter()
        .map(|h| serde_json::json!({"id": h.id, "title": h.title, "updated": h.updated, "message_id": h.message_id, "snippet": plain(&h.snippet)}))
        .collect()
}

/// `runnel history search`: the hit and its snippet on the next line.
pub fn hit_lines(h: &SearchHit) -> String {
    format!(
        "{}  {}\n    {}",
        h.id,
        h.title,
        plain(&h.snippet).replace('\n', " ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_escape_sequences_never_reach_a_terminal() {
        let osc52 = "copy \u{1b}]52;c;cm0gLXJmIH4=\u{7}done";
        let shown = terminal_safe(osc52);
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{shown}"
        );
        assert!(shown.contains('\u{241b}'), "{shown}");
        assert_eq!(
            terminal_safe("clear\u{1b}[2J\u{1b}[H"),
            "clear\u{241b}[2J\u{241b}[H"
        );
        assert_eq!(terminal_safe("c1 \u{9b}31m"), "c1 \u{fffd}31m");
        assert_eq!(terminal_safe("del\u{7f}"), "del\u{2421}");
        assert_eq!(terminal_safe("cr\rover"), "cr\u{240d}over");
        // Newlines, tabs and all other text stay, without a copy.
        assert!(matches!(terminal_safe("a\n\tb ü 日本"), Cow::Borrowed(_)));
    }
}
