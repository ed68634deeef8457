//! MCP servers as the faces manage them: added (secret values of their
//! environment or headers to the keychain, the rest to the settings),
//! listed, switched on and off, trusted tool by tool, removed; and the
//! toolbox an answer gets from the enabled (or named) servers.

use super::{Service, ServiceError};
use crate::config::mcp::{
    is_secret_name, secret_account, McpServer, McpTransport, SecretPlace, ToolSettings,
};
use crate::config::{Settings, SettingsError};
use crate::tools::mcp::{Hub, Launch, LaunchTransport, ServerTool};
use crate::tools::Toolbox;
use crate::types::key::ApiKey;
use serde::Serialize;
use std::collections::BTreeMap;

/// A server to add, as a face read it: every value in the clear; which
/// ones are secrets is decided here ([`is_secret_name`], or named in
/// `secret`). In an edit (`replace`), a secret left empty keeps the value
/// in the keychain.
#[derive(Clone, Default, serde::Deserialize, ts_rs::TS)]
pub struct McpServerInput {
    /// Its name.
    pub name: String,
    /// For a stdio server: the program.
    #[serde(default)]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Its working directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// For a Streamable HTTP server: the URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Environment (stdio) or headers (HTTP), values in the clear.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Names of further values to keep in the keychain.
    #[serde(default)]
    pub secret: Vec<String>,
    /// Replace a server of the same name (an edit).
    #[serde(default)]
    pub replace: bool,
}

impl std::fmt::Debug for McpServerInput {
    /// Names only: the values may be secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServerInput")
            .field("name", &self.name)
            .field("command", &self.command)
            .field("values", &self.values.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A server's state as `runnel mcp list` and Settings show it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct McpServerStatus {
    /// Its settings (no secret value: only their names).
    pub server: McpServer,
    /// Started and listing its tools (only checked when asked).
    pub running: bool,
    /// Its tools, when it runs.
    pub tools: Vec<ServerTool>,
    /// Why it could not be started, if so.
    pub error: Option<String>,
}

impl Service {
    /// The tool settings (servers without secret values).
    pub fn tool_settings(&self) -> ToolSettings {
        self.settings().tools
    }

    /// Sets the step limit and the call timeout.
    pub fn set_tool_limits(
        &self,
        step_limit: u32,
        call_timeout_secs: u32,
    ) -> Result<(), ServiceError> {
        self.update(|s| {
            let mut t = s.tools.clone();
            t.step_limit = step_limit;
            t.call_timeout_secs = call_timeout_secs;
            t.validate()?;
            s.tools = t;
            Ok(())
        })
    }

    /// Adds (or, with `replace`, edits) a server. Secret values go to the
    /// keychain first; a server without secrets never touches it.
    pub fn add_mcp_server(&self, input: McpServerInput) -> Result<McpServer, ServiceError> {
        crate::config::mcp::check_name(&input.name)?;
        let previous = self.settings().tools.server(&input.name).cloned();
        let mut input = input;
        if input.replace {
            if let Some(p) = &previous {
                // What was secret stays secret; an unchanged working dir stays.
                let (names, cwd) = match &p.transport {
                    McpTransport::Stdio {
                        secret_env, cwd, ..
                    } => (secret_env.clone(), cwd.clone()),
                    McpTransport::Http { secret_headers, .. } => (secret_headers.clone(), None),
                };
                input.secret.extend(names);
                if input.cwd.is_none() {
                    input.cwd = cwd;
                }
            }
        }
        let (plain, secret): (BTreeMap<_, _>, BTreeMap<_, _>) = input
            .values
            .into_iter()
            .partition(|(k, _)| !(is_secret_name(k) || input.secret.contains(k)));
        let secret_names: Vec<String> = secret.keys().cloned().collect();
        let (transport, place) = match (input.command, input.url) {
            (Some(command), None) => (
                McpTransport::Stdio {
                    command,
                    args: input.args,
                    env: plain,
                    secret_env: secret_names,
                    cwd: input.cwd,
                },
                SecretPlace::Env,
            ),
            (None, Some(url)) => (
                McpTransport::Http {
                    url,
                    headers: plain,
                    secret_headers: secret_names,
                },
                SecretPlace::Header,
            ),
            _ => {
                return Err(ServiceError::Invalid(
                    "An MCP server has either a command (stdio) or a URL (Streamable HTTP)".into(),
                ))
            }
        };
        if previous.is_some() && !input.replace {
            return Err(ServiceError::Invalid(format!(
                "An MCP server named {} exists: remove it first, or edit it",
                input.name
            )));
        }
        let server = McpServer {
            name: input.name.clone(),
            enabled: previous.as_ref().is_none_or(|p| p.enabled),
            transport,
            always_allow: previous
                .as_ref()
                .map(|p| p.always_allow.clone())
                .unwrap_or_default(),
        };
        server.validate()?;
        let before = previous
            .as_ref()
            .map(McpServer::secret_accounts)
            .unwrap_or_default();
        for (k, v) in &secret {
            let account = secret_account(&server.name, place, k);
            // An edit leaves a secret blank to keep the one in the keychain.
            if v.is_empty() && before.contains(&account) {
                continue;
            }
            let (_, err) = self.secrets.set(&account, ApiKey::new(v.clone()));
            if let Some(e) = err {
                return Err(e.into());
            }
        }
        // Secrets the edit no longer has leave the keychain.
        let kept = server.secret_accounts();
        let gone: Vec<String> = previous
            .map(|p| p.secret_accounts())
            .unwrap_or_default()
            .into_iter()
            .filter(|a| !kept.contains(a))
            .collect();
        let saved = server.clone();
        self.update(move |s| {
            s.tools.servers.retain(|x| x.name != saved.name);
            s.tools.servers.push(saved);
            s.tools.validate()
        })?;
        for a in gone {
            if let Err(e) = self.secrets.delete(&a) {
                tracing::warn!(error = %e, "an old MCP secret could not be deleted from the keychain");
            }
        }
        Ok(server)
    }

    /// Removes a server and its secrets.
    pub fn remove_mcp_server(&self, name: &str) -> Result<(), ServiceError> {
        let Some(server) = self.settings().tools.server(name).cloned() else {
            return Err(ServiceError::Invalid(format!(
                "No MCP server is named {name}"
            )));
        };
        self.update(|s| {
            s.tools.servers.retain(|x| x.name != name);
            Ok(())
        })?;
        for a in server.secret_accounts() {
            self.secrets.delete(&a)?;
        }
        Ok(())
    }

    /// Switches a server on or off.
    pub fn set_mcp_enabled(&self, name: &str, enabled: bool) -> Result<(), ServiceError> {
        self.update(|s| {
            server_mut(s, name)?.enabled = enabled;
            Ok(())
        })
    }

    /// Lets a server's tool run without asking (or asks again).
    pub fn set_tool_trusted(
        &self,
        server: &str,
        tool: &str,
        trusted: bool,
    ) -> Result<(), ServiceError> {
        self.update(|s| {
            let entry = server_mut(s, server)?;
            entry.always_allow.retain(|t| t != tool);
            if trusted {
                entry.always_allow.push(tool.to_owned());
            }
            Ok(())
        })
    }

    /// A server ready to start: its secret values read from the keychain.
    pub fn mcp_launch(&self, server: &McpServer) -> Result<Launch, ServiceError> {
        let secret = |place, k: &str| -> Result<String, ServiceError> {
            match self.secrets.key(&secret_account(&server.name, place, k))? {
                Some(v) => Ok(v.expose().to_owned()),
                None => Err(ServiceError::Invalid(format!(
                    "The secret {k} of the MCP server {} is not in the keychain: add the server again",
                    server.name
                ))),
            }
        };
        let transport = match &server.transport {
            McpTransport::Stdio {
                command,
                args,
                env,
                secret_env,
                cwd,
            } => {
                let mut env = env.clone();
                for k in secret_env {
                    env.insert(k.clone(), secret(SecretPlace::Env, k)?);
                }
                LaunchTransport::Stdio {
                    command: command.clone(),
                    args: args.clone(),
                    env,
                    cwd: cwd.clone(),
                }
            }
            McpTransport::Http {
                url,
                headers,
                secret_headers,
            } => {
                let mut headers = headers.clone();
                for k in secret_headers {
                    headers.insert(k.clone(), secret(SecretPlace::Header, k)?);
                }
                LaunchTransport::Http {
                    url: url.clone(),
                    headers,
                }
            }
        };
        Ok(Launch {
            name: server.name.clone(),
            transport,
        })
    }

    /// The tools an answer may call: those of the servers named in `only`
    /// (None: every enabled server), less the offered names in `off`. A
    /// server that cannot start is left out and listed in `unavailable`.
    pub async fn toolbox(
        &self,
        hub: &Hub,
        only: Option<&[String]>,
        off: &[String],
    ) -> Result<Toolbox, ServiceError> {
        let settings = self.settings().tools;
        if let Some(names) = only {
            if let Some(missing) = names.iter().find(|n| settings.server(n).is_none()) {
                return Err(ServiceError::Invalid(format!(
                    "No MCP server is named {missing} (see runnel mcp list)"
                )));
            }
        }
        let mut toolbox = Toolbox::default();
        let mut ready = Vec::new();
        for server in &settings.servers {
            let chosen = match only {
                Some(names) => names.contains(&server.name),
                None => server.enabled,
            };
            if !chosen {
                continue;
            }
            match self.mcp_launch(server) {
                Ok(l) => ready.push((server, l)),
                Err(e) => toolbox
                    .unavailable
                    .push((server.name.clone(), e.to_string())),
            }
        }
        // Started side by side: a slow server delays no other.
        let listed = futures_util::future::join_all(ready.iter().map(|(_, l)| hub.tools(l))).await;
        for ((server, launch), tools) in ready.into_iter().zip(listed) {
            match tools {
                Ok(tools) => toolbox.add(launch, tools, &server.always_allow, off),
                Err(e) => {
                    tracing::warn!(server = %server.name, error = %e, "MCP server unavailable");
                    toolbox
                        .unavailable
                        .push((server.name.clone(), e.to_string()));
                }
            }
        }
        Ok(toolbox)
    }

    /// Every server with its state; `probe` starts each enabled one to list
    /// its tools.
    pub async fn mcp_status(&self, hub: &Hub, probe: bool) -> Vec<McpServerStatus> {
        let mut out = Vec::new();
        for server in self.settings().tools.servers {
            let mut status = McpServerStatus {
                server: server.clone(),
                running: false,
                tools: Vec::new(),
                error: None,
            };
            if probe && server.enabled {
                match self.mcp_launch(&server) {
                    Ok(launch) => match hub.tools(&launch).await {
                        Ok(tools) => {
                            status.running = true;
                            status.tools = tools;
                        }
                        Err(e) => status.error = Some(e.to_string()),
                    },
                    Err(e) => status.error = Some(e.to_string()),
                }
            }
            out.push(status);
        }
        out
    }
}

/// The saved server `name`, to change; an unknown name is an error.
fn server_mut<'a>(s: &'a mut Settings, name: &str) -> Result<&'a mut McpServer, SettingsError> {
    s.tools
        .servers
        .iter_mut()
        .find(|x| x.name == name)
        .ok_or_else(|| SettingsError::Invalid(format!("No MCP server is named {name}")))
}
