//! MCP servers through the official SDK (`rmcp`): a stdio server is a child
//! process started on first use, restarted once if it dies, and killed with
//! the hub (and, on Linux, by the kernel when the app itself dies); a
//! Streamable HTTP server is a URL with headers. A server's stderr goes to
//! the log. Every failure of a call (a timeout, a crash, a refusal) becomes
//! a tool error result, never a hang.

use crate::types::tool::{ToolImage, ToolOutput};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long a server may take to start and answer `initialize`.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long listing a server's tools may take.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(15);
/// How often a server that died is started again in one session.
pub const MAX_RESTARTS: u32 = 1;
/// Longest stderr line logged (the rest is cut).
const MAX_LOG_LINE: usize = 4096;
/// Most bytes of a tool result's text kept (the rest is cut, and said so).
pub const MAX_RESULT_TEXT: usize = 256 * 1024;
/// Most images of one result kept.
pub const MAX_RESULT_IMAGES: usize = 4;
/// Largest image (base64 bytes) kept from a result: about 3.5 MB decoded,
/// under Anthropic's 5 MB per image; four stay well under a request's 32 MB.
pub const MAX_RESULT_IMAGE: usize = 5_000_000;

/// A server ready to start: its settings with secret values filled in from
/// the keychain. Never logged or shown as it is (its Debug hides values).
#[derive(Clone, PartialEq, Eq)]
pub struct Launch {
    /// Its name.
    pub name: String,
    /// How to reach it.
    pub transport: LaunchTransport,
}

/// How a [`Launch`] reaches its server.
#[derive(Clone, PartialEq, Eq)]
pub enum LaunchTransport {
    /// A child process.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Its extra environment (secrets included).
        env: BTreeMap<String, String>,
        /// Its working directory.
        cwd: Option<String>,
    },
    /// Streamable HTTP.
    Http {
        /// The endpoint.
        url: String,
        /// Headers (secrets included).
        headers: BTreeMap<String, String>,
    },
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.transport {
            LaunchTransport::Stdio { command, args, .. } => f
                .debug_struct("Launch")
                .field("name", &self.name)
                .field("command", command)
                .field("args", args)
                .finish_non_exhaustive(),
            LaunchTransport::Http { url, .. } => f
                .debug_struct("Launch")
                .field("name", &self.name)
                // A query may carry a token.
                .field("url", &url.split('?').next().unwrap_or_default())
                .finish_non_exhaustive(),
        }
    }
}

/// A tool as a server lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
pub struct ServerTool {
    /// Its name on the server.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its arguments.
    #[ts(type = "unknown")]
    pub input_schema: Value,
}

/// Why a server could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum McpError {
    /// It could not be started or did not complete the handshake.
    #[error("The MCP server {server} could not be started: {reason}")]
    Start {
        /// The server.
        server: String,
        /// Why.
        reason: String,
    },
    /// It died, and was already restarted once.
    #[error(
        "The MCP server {server} stopped again after a restart; check its log, then restart Runnel"
    )]
    Dead {
        /// The server.
        server: String,
    },
    /// It answered a request with an error, or not in time.
    #[error("The MCP server {server} did not list its tools: {reason}")]
    List {
        /// The server.
        server: String,
        /// Why.
        reason: String,
    },
}

type Client = RunningService<RoleClient, ()>;

/// A started server.
struct Running {
    client: Arc<Client>,
    /// The child's process group (stdio servers on Unix).
    pgid: Option<u32>,
    tools: Option<Vec<ServerTool>>,
}

#[derive(Default)]
struct Slot {
    running: Option<Running>,
    starts: u32,
    /// The launch it was started with: a changed one starts it again.
    launch: Option<Launch>,
}

/// The MCP servers of this process: each started on first use, and all
/// stopped when the hub is shut down or dropped.
#[derive(Default)]
pub struct Hub {
    /// One lock per server, held while it starts: a slow start delays
    /// only the calls to that server.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    /// Process groups of running stdio servers, for a synchronous kill.
    groups: Mutex<HashMap<String, u32>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub with no server started.
    pub fn new() -> Self {
        Self::default()
    }

    /// The server's client, started (or restarted once) when needed.
    async fn client(
        &self,
        launch: &Launch,
    ) -> Result<(Arc<Client>, Option<Vec<ServerTool>>), McpError> {
        let slot = self.slot(&launch.name);
        let mut slot = slot.lock().await;
        if slot.launch.as_ref() != Some(launch) {
            // New settings: a fresh start, with a fresh restart allowance.
            if let Some(old) = slot.running.take() {
                self.stop(&launch.name, old);
            }
            slot.starts = 0;
            slot.launch = Some(launch.clone());
        }
        if let Some(r) = &slot.running {
            if !r.client.is_closed() && !r.client.peer().is_transport_closed() {
                return Ok((r.client.clone(), r.tools.clone()));
            }
            tracing::warn!(server = %launch.name, "the MCP server stopped");
            if let Some(old) = slot.running.take() {
                self.stop(&launch.name, old);
            }
        }
        if slot.starts > MAX_RESTARTS {
            // Started, died, restarted and died again.
            return Err(McpError::Dead {
                server: launch.name.clone(),
            });
        }
        let running = start(launch, &self.groups).await?;
        // Only a start that worked counts: a server that never started is
        // tried again on the next use.
        slot.starts += 1;
        let client = running.client.clone();
        slot.running = Some(running);
        Ok((client, None))
    }

    /// The server's tools (listed once per start).
    pub async fn tools(&self, launch: &Launch) -> Result<Vec<ServerTool>, McpError> {
        let (client, cached) = self.client(launch).await?;
        if let Some(t) = cached {
            return Ok(t);
        }
        let list_error = |reason: String| McpError::List {
            server: launch.name.clone(),
            reason,
        };
        let listed = tokio::time::timeout(LIST_TIMEOUT, client.peer().list_all_tools())
            .await
            .map_err(|_| list_error(format!("no answer within {} s", LIST_TIMEOUT.as_secs())))?
            .map_err(|e| list_error(e.to_string()))?;
        let tools: Vec<ServerTool> = listed
            .into_iter()
            .map(|t| ServerTool {
                name: t.name.to_string(),
                description: t.description.map(|d| d.to_string()).unwrap_or_default(),
                input_schema: Value::Object((*t.input_schema).clone()),
            })
            .collect();
        let slot = self.slot(&launch.name);
        let mut slot = slot.lock().await;
        if let Some(r) = slot.running.as_mut() {
            if Arc::ptr_eq(&r.client, &client) {
                r.tools = Some(tools.clone());
            }
        }
        Ok(tools)
    }

    /// Calls `tool` with `arguments` (raw JSON from the model). Whatever
    /// happens is a result: bad arguments, a server that cannot start or
    /// dies during the call, a refusal, `timeout`, or `cancel` (Stop) become
    /// an error result saying so.
    pub async fn call(
        &self,
        launch: &Launch,
        tool: &str,
        arguments: &str,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> ToolOutput {
        let args = match parse_arguments(arguments) {
            Ok(a) => a,
            Err(e) => return ToolOutput::error(e),
        };
        let client = match self.client(launch).await {
            Ok((c, _)) => c,
            Err(e) => return ToolOutput::error(e.to_string()),
        };
        let mut params = CallToolRequestParams::new(tool.to_owned());
        params.arguments = Some(args);
        let started = Instant::now();
        let call = client.peer().call_tool(params);
        let result = tokio::select! {
            r = tokio::time::timeout(timeout, call) => r,
            _ = cancel.cancelled() => {
                return ToolOutput::error("Stopped by the user before the tool finished");
            }
        };
        match result {
            Err(_) => ToolOutput::error(format!(
                "The tool {tool} did not finish within {} s",
                timeout.as_secs()
            )),
            Ok(Ok(r)) => match serde_json::to_value(&r) {
                Ok(v) => output_of(&v),
                Err(e) => ToolOutput::error(format!("The tool's result could not be read: {e}")),
            },
            Ok(Err(e)) => {
                let closed = client.is_closed()
                    || matches!(
                        e,
                        rmcp::ServiceError::TransportClosed | rmcp::ServiceError::TransportSend(_)
                    );
                if closed {
                    self.forget(&launch.name, &client).await;
                    tracing::warn!(server = %launch.name, tool, after_ms = started.elapsed().as_millis() as u64, "the MCP server stopped during a call");
                    ToolOutput::error(format!(
                        "The MCP server {} stopped during the call ({e})",
                        launch.name
                    ))
                } else {
                    ToolOutput::error(format!(
                        "The MCP server {} refused the call: {e}",
                        launch.name
                    ))
                }
            }
        }
    }

    /// Stops every server now: stdio servers' process groups are killed
    /// at once, HTTP sessions are dropped.
    pub fn shutdown(&self) {
        if let Ok(mut g) = self.groups.lock() {
            for (name, pgid) in g.drain() {
                kill_group(pgid);
                tracing::info!(server = %name, "MCP server stopped");
            }
        }
        let slots: Vec<_> = match self.slots.lock() {
            Ok(s) => s.values().cloned().collect(),
            Err(_) => Vec::new(),
        };
        for slot in slots {
            // A server starting now is killed by its group above.
            if let Ok(mut slot) = slot.try_lock() {
                if let Some(r) = slot.running.take() {
                    r.client.cancellation_token().cancel();
                }
            }
        }
    }

    /// The lock of a server's slot (made on first use).
    fn slot(&self, name: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        match self.slots.lock() {
            Ok(mut s) => s.entry(name.to_owned()).or_default().clone(),
            Err(poisoned) => poisoned
                .into_inner()
                .entry(name.to_owned())
                .or_default()
                .clone(),
        }
    }

    /// The server behind `client` died: the next use starts it again (once).
    async fn forget(&self, name: &str, client: &Arc<Client>) {
        let slot = self.slot(name);
        let mut slot = slot.lock().await;
        if slot
            .running
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(&r.client, client))
        {
            if let Some(old) = slot.running.take() {
                self.stop(name, old);
            }
        }
    }

    /// Stops one server (removed or switched off); the next use starts it
    /// afresh.
    pub async fn stop_server(&self, name: &str) {
        let slot = self.slot(name);
        let mut slot = slot.lock().await;
        if let Some(old) = slot.running.take() {
            self.stop(name, old);
        }
        slot.launch = None;
        slot.starts = 0;
    }

    fn stop(&self, name: &str, running: Running) {
        if let Some(pgid) = running.pgid {
            kill_group(pgid);
            if let Ok(mut g) = self.groups.lock() {
                g.remove(name);
            }
        }
        running.client.cancellation_token().cancel();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Kills a stdio server's whole process group (a wrapper like `npx` and
/// the server it starts).
fn kill_group(pgid: u32) {
    #[cfg(unix)]
    {
        if let Ok(pgid) = i32::try_from(pgid) {
            if pgid > 1 {
                // SAFETY: kill(2) on a process group we created; no memory is touched.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

/// Starts a server and completes the MCP handshake; a stdio server's
/// process group is in `groups` from its spawn on (and out again if the
/// start fails, the group killed).
async fn start(launch: &Launch, groups: &Mutex<HashMap<String, u32>>) -> Result<Running, McpError> {
    let fail = |reason: String| McpError::Start {
        server: launch.name.clone(),
        reason,
    };
    match &launch.transport {
        LaunchTransport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut cmd = tokio::process::Command::new(command);
            cmd.args(args).envs(env).kill_on_drop(true);
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            #[cfg(unix)]
            {
                // Its own process group (so a wrapper's children go with it),
                // and on Linux killed by the kernel when this process dies,
                // even by SIGKILL.
                // SAFETY: only async-signal-safe calls between fork and exec.
                unsafe {
                    cmd.pre_exec(|| {
                        libc::setpgid(0, 0);
                        #[cfg(target_os = "linux")]
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
            }
            let (process, stderr) = TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| fail(format!("{command}: {e}")))?;
            let pgid = process.id();
            // Known at once: a shutdown while it starts kills it too.
            if let (Some(p), Ok(mut g)) = (pgid, groups.lock()) {
                g.insert(launch.name.clone(), p);
            }
            let give_up = |reason: String| {
                if let Some(p) = pgid {
                    kill_group(p);
                    if let Ok(mut g) = groups.lock() {
                        g.remove(&launch.name);
                    }
                }
                fail(reason)
            };
            if let Some(stderr) = stderr {
                log_stderr(launch.name.clone(), stderr);
            }
            let client = tokio::time::timeout(START_TIMEOUT, ().serve(process))
                .await
                .map_err(|_| give_up(format!("no handshake within {} s", START_TIMEOUT.as_secs())))?
                .map_err(|e| give_up(e.to_string()))?;
            tracing::info!(server = %launch.name, pid = pgid, "MCP server started");
            Ok(Running {
                client: Arc::new(client),
                pgid,
                tools: None,
            })
        }
        LaunchTransport::Http { url, headers } => {
            let mut map = HashMap::new();
            for (k, v) in headers {
                let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| fail(format!("{k:?} is not a header name")))?;
                let mut value = reqwest::header::HeaderValue::from_str(v)
                    .map_err(|_| fail(format!("the value of the header {k} is not valid")))?;
                value.set_sensitive(true);
                map.insert(name, value);
            }
            let config =
                StreamableHttpClientTransportConfig::with_uri(url.as_str()).custom_headers(map);
            let transport = StreamableHttpClientTransport::from_config(config);
            let client = tokio::time::timeout(START_TIMEOUT, ().serve(transport))
                .await
                .map_err(|_| fail(format!("no answer within {} s", START_TIMEOUT.as_secs())))?
                .map_err(|e| fail(e.to_string()))?;
            tracing::info!(server = %launch.name, "MCP server connected");
            Ok(Running {
                client: Arc::new(client),
                pgid: None,
                tools: None,
            })
        }
    }
}

/// Logs a server's stderr, line by line, for as long as it writes: bytes
/// that are not UTF-8 are replaced, and a line is logged in pieces of at
/// most [`MAX_LOG_LINE`] bytes (the pipe is always drained, so a server
/// never blocks on it).
fn log_stderr(server: String, stderr: tokio::process::ChildStderr) {
    use tokio::io::AsyncReadExt;
    tokio::spawn(async move {
        let mut stderr = stderr;
        let mut buf = vec![0u8; 8192];
        let mut line: Vec<u8> = Vec::new();
        loop {
            let n = match stderr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for &b in &buf[..n] {
                if b == b'\n' || line.len() >= MAX_LOG_LINE {
                    log_line(&server, &line);
                    line.clear();
                    if b == b'\n' {
                        continue;
                    }
                }
                line.push(b);
            }
        }
        if !line.is_empty() {
            log_line(&server, &line);
        }
    });
}

fn log_line(server: &str, line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    tracing::info!(target: "runnel::mcp", server = %server, "{}", text.trim_end_matches('\r'));
}

/// The model's arguments as a JSON object (an empty text is no arguments).
pub fn parse_arguments(raw: &str) -> Result<serde_json::Map<String, Value>, String> {
    if raw.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => Err(format!(
            "The arguments must be a JSON object, not {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        )),
        Err(e) => Err(format!("The arguments are not valid JSON ({e})")),
    }
}

/// A `tools/call` result (as JSON) as a [`ToolOutput`]: text blocks joined,
/// images kept (within limits), resources' text, and the structured
/// content when there is no text.
pub fn output_of(v: &Value) -> ToolOutput {
    let mut out = ToolOutput {
        is_error: v.get("isError").and_then(Value::as_bool).unwrap_or(false),
        ..ToolOutput::default()
    };
    let push = |out: &mut ToolOutput, t: &str| {
        if !out.text.is_empty() {
            out.text.push('\n');
        }
        out.text.push_str(t);
    };
    for block in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => push(
                &mut out,
                block.get("text").and_then(Value::as_str).unwrap_or(""),
            ),
            Some("image") => {
                let mime = block
                    .get("mimeType")
                    .and_then(Value::as_str)
                    .unwrap_or("image/png");
                let data = block.get("data").and_then(Value::as_str).unwrap_or("");
                if out.images.len() < MAX_RESULT_IMAGES
                    && data.len() <= MAX_RESULT_IMAGE
                    && mime.starts_with("image/")
                {
                    out.images.push(ToolImage {
                        mime: mime.to_owned(),
                        data: data.to_owned(),
                    });
                } else {
                    push(
                        &mut out,
                        &format!("[an image ({mime}) left out: too large or too many]"),
                    );
                }
            }
            Some("resource") => {
                let r = block.get("resource");
                let uri = r
                    .and_then(|r| r.get("uri"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                match r.and_then(|r| r.get("text")).and_then(Value::as_str) {
                    Some(t) => push(&mut out, &format!("{uri}:\n{t}")),
                    None => push(&mut out, &format!("[a binary resource: {uri}]")),
                }
            }
            Some("resource_link") => {
                let uri = block.get("uri").and_then(Value::as_str).unwrap_or("");
                push(&mut out, &format!("[resource: {uri}]"));
            }
            Some("audio") => push(&mut out, "[an audio clip the tool returned]"),
            _ => {}
        }
    }
    if out.text.is_empty() && out.images.is_empty() {
        if let Some(s) = v.get("structuredContent") {
            out.text = s.to_string();
        }
    }
    if out.text.len() > MAX_RESULT_TEXT {
        let mut cut = MAX_RESULT_TEXT;
        while !out.text.is_char_boundary(cut) {
            cut -= 1;
        }
        let total = out.text.len();
        out.text.truncate(cut);
        out.text.push_str(&format!(
            "\n[cut: the result was {total} bytes; the first {cut} are kept]"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_must_be_an_object() {
        assert!(parse_arguments("").unwrap().is_empty());
        assert_eq!(parse_arguments(r#"{"a":1}"#).unwrap()["a"], 1);
        assert!(parse_arguments("[1]").unwrap_err().contains("an array"));
        assert!(parse_arguments("{\"a\":")
            .unwrap_err()
            .contains("not valid JSON"));
    }

    #[test]
    fn results_become_text_images_and_errors() {
        let v = serde_json::json!({
            "content": [
                {"type": "text", "text": "a"},
                {"type": "image", "mimeType": "image/png", "data": "iVBO"},
                {"type": "resource", "resource": {"uri": "file:///x", "text": "hi"}},
            ],
            "isError": true,
        });
        let o = output_of(&v);
        assert!(o.is_error);
        assert_eq!(o.text, "a\nfile:///x:\nhi");
        assert_eq!(o.images.len(), 1);
        let s = output_of(&serde_json::json!({"content": [], "structuredContent": {"n": 5}}));
        assert_eq!(s.text, r#"{"n":5}"#);
        let big = output_of(
            &serde_json::json!({"content": [{"type": "text", "text": "é".repeat(MAX_RESULT_TEXT)}]}),
        );
        assert!(big.text.len() < MAX_RESULT_TEXT + 100);
        assert!(big.text.ends_with("are kept]"));
    }
}
