//! Tools (issue 19): MCP servers in Settings, and the approval of each call
//! a streaming answer makes. The window is asked through the stream's
//! channel (a `tool_ask` op) and answers with `decide_tool`; closing the
//! window or Stop declines whatever is still waiting.

use crate::error::IpcError;
use runnel_core::config::mcp::{McpServer, ToolSettings};
use runnel_core::service::mcp::{McpServerInput, McpServerStatus};
use runnel_core::service::Service;
use runnel_core::tools::mcp::Hub;
use runnel_core::turn::{BoxFuture, ToolGate};
use runnel_core::types::tool::{Approval, PendingCall};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// How long a call waits for the window's answer before it is declined.
pub const APPROVAL_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The app's MCP servers and the calls waiting for the user, in managed state.
#[derive(Default)]
pub struct ToolState {
    /// Started on first use, stopped when the app exits.
    pub hub: Arc<Hub>,
    /// Calls waiting for a decision, by `stream_id/call_id`.
    pending: Mutex<HashMap<String, (oneshot::Sender<Approval>, PendingCall)>>,
}

impl ToolState {
    fn key(stream_id: &str, call_id: &str) -> String {
        format!("{stream_id}/{call_id}")
    }

    /// The gate of one stream.
    pub fn gate(self: &Arc<Self>, service: Arc<Service>, stream_id: &str) -> WindowGate {
        WindowGate {
            state: self.clone(),
            service,
            stream_id: stream_id.to_owned(),
        }
    }

    /// Stops every server (the app is exiting).
    pub fn shutdown(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.clear();
        }
        self.hub.shutdown();
    }
}

/// Asks the window about each call of one stream.
pub struct WindowGate {
    state: Arc<ToolState>,
    service: Arc<Service>,
    stream_id: String,
}

impl ToolGate for WindowGate {
    fn approve<'a>(&'a self, call: &'a PendingCall) -> BoxFuture<'a, Approval> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            let key = ToolState::key(&self.stream_id, &call.call_id);
            if let Ok(mut p) = self.state.pending.lock() {
                p.insert(key.clone(), (tx, call.clone()));
            }
            // Forgotten however this ends: answered, or dropped by Stop.
            let _waiting = Waiting {
                state: &self.state,
                key,
            };
            // A dropped sender (the window went away) declines, and so does
            // no answer in time (a window reloaded never answers).
            let answer = match tokio::time::timeout(APPROVAL_WAIT, rx).await {
                Ok(Ok(a)) => a,
                Ok(Err(_)) => Approval::Denied,
                Err(_) => {
                    tracing::warn!(tool = %call.name, "no answer to a tool call in time: declined");
                    Approval::Denied
                }
            };
            if answer == Approval::AllowedAlways {
                if let (Some(server), Some(tool)) = (&call.server, &call.tool) {
                    let service = self.service.clone();
                    let (server, tool) = (server.clone(), tool.clone());
                    let saved = tokio::task::spawn_blocking(move || {
                        service.set_tool_trusted(&server, &tool, true)
                    })
                    .await;
                    if let Ok(Err(e)) = saved {
                        tracing::warn!(error = %e, "could not save the tool as always allowed");
                    }
                }
            }
            answer
        })
    }
}

/// A call waiting for the user: removed from the pending ones when the
/// wait ends, also when Stop drops it.
struct Waiting<'a> {
    state: &'a ToolState,
    key: String,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Ok(mut p) = self.state.pending.lock() {
            p.remove(&self.key);
        }
    }
}

/// The user's answer to a call.
#[derive(Debug, Clone, Copy, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ToolDecision {
    /// Run it this once.
    Allow,
    /// Run it, and this tool from now on without asking.
    AllowAlways,
    /// Do not run it (the model is told).
    Deny,
}

/// Answers a waiting call.
#[tauri::command]
pub(crate) fn decide_tool(
    tools: tauri::State<'_, Arc<ToolState>>,
    stream_id: String,
    call_id: String,
    decision: ToolDecision,
) -> Result<(), IpcError> {
    let waiting = tools
        .pending
        .lock()
        .map_err(|_| IpcError::internal("tool approvals poisoned"))?
        .remove(&ToolState::key(&stream_id, &call_id));
    let Some((tx, _)) = waiting else {
        return Err(IpcError::invalid("That tool call is no longer waiting"));
    };
    let answer = match decision {
        ToolDecision::Allow => Approval::Allowed,
        ToolDecision::AllowAlways => Approval::AllowedAlways,
        ToolDecision::Deny => Approval::Denied,
    };
    let _ = tx.send(answer);
    Ok(())
}

/// The tool settings, every server with its state (`probe`: start each
/// enabled one to list its tools). Secret values never leave the backend.
#[tauri::command]
pub(crate) async fn mcp_servers(
    service: tauri::State<'_, Arc<Service>>,
    tools: tauri::State<'_, Arc<ToolState>>,
    probe: bool,
) -> Result<(ToolSettings, Vec<McpServerStatus>), IpcError> {
    let list = service.mcp_status(&tools.hub, probe).await;
    Ok((service.tool_settings(), list))
}

/// Adds or edits a server (secret values go to the keychain).
#[tauri::command]
pub(crate) async fn add_mcp_server(
    service: tauri::State<'_, Arc<Service>>,
    input: McpServerInput,
) -> Result<McpServer, IpcError> {
    let service = service.inner().clone();
    tokio::task::spawn_blocking(move || service.add_mcp_server(input))
        .await
        .map_err(|e| IpcError::internal(e.to_string()))?
        .map_err(IpcError::from)
}

/// Removes a server and its secrets.
#[tauri::command]
pub(crate) async fn remove_mcp_server(
    service: tauri::State<'_, Arc<Service>>,
    tools: tauri::State<'_, Arc<ToolState>>,
    name: String,
) -> Result<(), IpcError> {
    let service = service.inner().clone();
    let removed = name.clone();
    tokio::task::spawn_blocking(move || service.remove_mcp_server(&removed))
        .await
        .map_err(|e| IpcError::internal(e.to_string()))?
        .map_err(IpcError::from)?;
    tools.hub.stop_server(&name).await;
    Ok(())
}

/// Switches a server on or off.
#[tauri::command]
pub(crate) async fn set_mcp_enabled(
    service: tauri::State<'_, Arc<Service>>,
    tools: tauri::State<'_, Arc<ToolState>>,
    name: String,
    enabled: bool,
) -> Result<(), IpcError> {
    service.set_mcp_enabled(&name, enabled)?;
    if !enabled {
        // Switched off: it stops now, not when the app exits.
        tools.hub.stop_server(&name).await;
    }
    Ok(())
}

/// Lets a tool run without asking, or asks again.
#[tauri::command]
pub(crate) fn set_tool_trusted(
    service: tauri::State<'_, Arc<Service>>,
    server: String,
    tool: String,
    trusted: bool,
) -> Result<(), IpcError> {
    service
        .set_tool_trusted(&server, &tool, trusted)
        .map_err(IpcError::from)
}

/// Sets the step limit and the call timeout.
#[tauri::command]
pub(crate) fn set_tool_limits(
    service: tauri::State<'_, Arc<Service>>,
    step_limit: u32,
    call_timeout_secs: u32,
) -> Result<(), IpcError> {
    service
        .set_tool_limits(step_limit, call_timeout_secs)
        .map_err(IpcError::from)
}

/// A tool an answer may be offered.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct OfferedTool {
    /// The name it is offered under (what `tools_off` lists).
    pub name: String,
    /// Its server.
    pub server: String,
    /// Its own name there.
    pub tool: String,
    /// What it does.
    pub description: String,
    /// It runs without asking.
    pub trusted: bool,
}

/// The tools of a conversation: every enabled server's, and which are off.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct ConversationTools {
    /// Every tool of the enabled servers.
    pub tools: Vec<OfferedTool>,
    /// Those switched off in this conversation.
    pub off: Vec<String>,
    /// Servers that could not be started: (name, why).
    pub unavailable: Vec<(String, String)>,
}

/// The tools the conversation may offer (starting the enabled servers), and
/// which of them it switched off.
#[tauri::command]
pub(crate) async fn conversation_tools(
    service: tauri::State<'_, Arc<Service>>,
    chat: tauri::State<'_, crate::commands::conversations::ChatState>,
    tools: tauri::State<'_, Arc<ToolState>>,
    conversation_id: String,
) -> Result<ConversationTools, IpcError> {
    let off =
        crate::commands::conversations::with_store(&chat, move |s| s.tools_off(&conversation_id))
            .await?;
    let b = service.toolbox(&tools.hub, None, &[]).await?;
    let offered = b
        .specs
        .iter()
        .filter_map(|s| {
            let r = b.route(&s.name)?;
            Some(OfferedTool {
                name: s.name.clone(),
                server: r.server.clone(),
                tool: r.tool.clone(),
                description: s.description.clone(),
                trusted: b.trusted.contains(&s.name),
            })
        })
        .collect();
    Ok(ConversationTools {
        tools: offered,
        off,
        unavailable: b.unavailable,
    })
}

/// Switches tools off (or on again) in a stored conversation.
#[tauri::command]
pub(crate) async fn set_conversation_tools_off(
    chat: tauri::State<'_, crate::commands::conversations::ChatState>,
    conversation_id: String,
    off: Vec<String>,
) -> Result<(), IpcError> {
    crate::commands::conversations::with_store(&chat, move |s| {
        s.set_tools_off(&conversation_id, &off)
    })
    .await
}
