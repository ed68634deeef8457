//! Real MCP servers for the tool tests, and model streams that call tools.
//!
//! The test command installs both servers: PyPI's `mcp<2` into a venv
//! (`RUNNEL_TEST_MCP_PYTHON`) for `tests/mcp/server.py`, and npm's
//! `@modelcontextprotocol/server-everything` (`RUNNEL_TEST_MCP_EVERYTHING`,
//! its entry script for `node`).

use crate::fixtures::workspace_root;
use crate::server::finish_events;
use std::path::PathBuf;

/// An MCP server to start: program and arguments.
#[derive(Debug, Clone)]
pub struct McpCommand {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
}

fn env_file(var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.exists() => Some(p),
        _ => {
            crate::skip(&format!(
                "{what} is not installed: run ./scripts/test.sh (it installs it and sets {var})"
            ));
            None
        }
    }
}

/// `tests/mcp/server.py` over stdio (None, after a skip notice, when the
/// venv is missing). Its tools: add, echo, slow, crash, fail, pid, getenv,
/// tiny_image.
pub fn python_server() -> Option<McpCommand> {
    let python = env_file("RUNNEL_TEST_MCP_PYTHON", "PyPI's mcp package")?;
    Some(McpCommand {
        program: python.to_string_lossy().into_owned(),
        args: vec![script().to_string_lossy().into_owned()],
    })
}

/// `tests/mcp/server.py` over Streamable HTTP on `port` (path `/mcp`).
pub fn python_http_server(port: u16) -> Option<McpCommand> {
    let mut c = python_server()?;
    c.args.push("--http".into());
    c.args.push(port.to_string());
    Some(c)
}

/// The test server's script.
pub fn script() -> PathBuf {
    workspace_root().join("tests/mcp/server.py")
}

/// npm's server-everything in `mode` (`stdio` or `streamableHttp`).
pub fn everything(mode: &str) -> Option<McpCommand> {
    let js = env_file("RUNNEL_TEST_MCP_EVERYTHING", "npm's server-everything")?;
    Some(McpCommand {
        program: "node".into(),
        args: vec![js.to_string_lossy().into_owned(), mode.into()],
    })
}

/// An OpenAI stream whose answer says `text`, then calls tools: each
/// `(id, name, arguments)` in its own slot, the arguments in two pieces
/// (as providers stream them); finish reason `tool_calls`.
pub fn openai_tool_calls(text: &str, calls: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    let chunk = |delta: serde_json::Value| {
        let v = serde_json::json!({
            "id": "chatcmpl-t", "object": "chat.completion.chunk", "created": 0, "model": "test",
            "choices": [{"index": 0, "delta": delta, "finish_reason": null}]
        });
        format!("data: {v}\n\n").into_bytes()
    };
    if !text.is_empty() {
        out.extend(chunk(
            serde_json::json!({"role": "assistant", "content": text}),
        ));
    }
    for (i, (id, name, args)) in calls.iter().enumerate() {
        let cut = args.len() / 2;
        let cut = (0..=cut)
            .rev()
            .find(|c| args.is_char_boundary(*c))
            .unwrap_or(0);
        out.extend(chunk(
            serde_json::json!({"tool_calls": [{"index": i, "id": id, "type": "function",
            "function": {"name": name, "arguments": &args[..cut]}}]}),
        ));
        out.extend(chunk(serde_json::json!({"tool_calls": [{"index": i,
            "function": {"arguments": &args[cut..]}}]})));
    }
    out.extend(finish_events("tool_calls", 20, 10));
    out
}

/// An Anthropic stream that says `text`, then calls tools as `tool_use`
/// blocks (input streamed as `input_json_delta`); stop reason `tool_use`.
pub fn anthropic_tool_calls(text: &str, calls: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut events: Vec<(&str, serde_json::Value)> = vec![(
        "message_start",
        serde_json::json!({"type": "message_start", "message": {"id": "msg_t", "type": "message",
            "role": "assistant", "model": "claude-test", "content": [], "stop_reason": null,
            "usage": {"input_tokens": 20, "output_tokens": 1}}}),
    )];
    let mut index = 0;
    if !text.is_empty() {
        events.push((
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ));
        events.push((
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}),
        ));
        events.push((
            "content_block_stop",
            serde_json::json!({"type": "content_block_stop", "index": 0}),
        ));
        index = 1;
    }
    for (id, name, args) in calls {
        events.push((
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        ));
        events.push((
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": index,
            "delta": {"type": "input_json_delta", "partial_json": args}}),
        ));
        events.push((
            "content_block_stop",
            serde_json::json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    events.push((
        "message_delta",
        serde_json::json!({"type": "message_delta",
        "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 10}}),
    ));
    events.push(("message_stop", serde_json::json!({"type": "message_stop"})));
    let mut out = String::new();
    for (name, data) in events {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    out.into_bytes()
}

/// True while a process with this id exists (and is no zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesised command name.
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            !matches!(state, Some("Z" | "X") | None)
        }
        Err(_) => false,
    }
}

/// Processes whose command line contains `needle` (from /proc).
pub fn processes_running(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) && process_alive(pid) {
                out.push(pid);
            }
        }
    }
    out
}
