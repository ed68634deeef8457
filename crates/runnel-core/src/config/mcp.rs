//! MCP servers as the settings keep them, and how tools run: the step limit
//! and the call timeout. Secret values of a server's environment or headers
//! are never here: only their names, the values being in the keychain under
//! [`secret_account`].

use super::SettingsError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most requests one answer makes while it calls tools.
pub const DEFAULT_STEP_LIMIT: u32 = 10;
/// Highest step limit accepted.
pub const MAX_STEP_LIMIT: u32 = 100;
/// How long one tool call may take, by default.
pub const DEFAULT_CALL_TIMEOUT_SECS: u32 = 60;
/// Longest call timeout accepted (an hour).
pub const MAX_CALL_TIMEOUT_SECS: u32 = 3600;
/// Longest server name.
pub const MAX_SERVER_NAME: usize = 40;

/// How a server is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum McpTransport {
    /// A child process speaking MCP on its stdin and stdout.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        #[serde(default)]
        args: Vec<String>,
        /// Environment variables that are not secrets (secret ones: in the
        /// keychain, named in `secret_env`).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, String>,
        /// Names of environment variables whose values are in the keychain.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        secret_env: Vec<String>,
        /// Its working directory (None: the app's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
    },
    /// A Streamable HTTP endpoint.
    Http {
        /// Its URL (http or https).
        url: String,
        /// Headers that are not secrets.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        /// Names of headers whose values are in the keychain.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        secret_headers: Vec<String>,
    },
}

/// One MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct McpServer {
    /// Its name: letters, digits, `-` and `_` (tools are offered as
    /// `name__tool`).
    pub name: String,
    /// Offered to models.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How it is reached.
    pub transport: McpTransport,
    /// Tools that run without asking ("Always").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub always_allow: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Tools: the servers and how their calls run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ToolSettings {
    /// MCP servers.
    #[serde(default)]
    pub servers: Vec<McpServer>,
    /// Most requests one answer makes while calling tools.
    #[serde(default = "default_step_limit")]
    pub step_limit: u32,
    /// How long one call may take, in seconds.
    #[serde(default = "default_call_timeout")]
    pub call_timeout_secs: u32,
}

fn default_step_limit() -> u32 {
    DEFAULT_STEP_LIMIT
}

fn default_call_timeout() -> u32 {
    DEFAULT_CALL_TIMEOUT_SECS
}

impl Default for ToolSettings {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            step_limit: DEFAULT_STEP_LIMIT,
            call_timeout_secs: DEFAULT_CALL_TIMEOUT_SECS,
        }
    }
}

impl ToolSettings {
    /// Checks the limits and every server.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=MAX_STEP_LIMIT).contains(&self.step_limit) {
            return Err(SettingsError::Invalid(format!(
                "The tool step limit must be 1 to {MAX_STEP_LIMIT} (got {})",
                self.step_limit
            )));
        }
        if !(1..=MAX_CALL_TIMEOUT_SECS).contains(&self.call_timeout_secs) {
            return Err(SettingsError::Invalid(format!(
                "The tool call timeout must be 1 to {MAX_CALL_TIMEOUT_SECS} seconds (got {})",
                self.call_timeout_secs
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.servers {
            s.validate()?;
            if !seen.insert(s.name.as_str()) {
                return Err(SettingsError::Invalid(format!(
                    "Two MCP servers are named {:?}",
                    s.name
                )));
            }
        }
        Ok(())
    }

    /// The server named `name`.
    pub fn server(&self, name: &str) -> Option<&McpServer> {
        self.servers.iter().find(|s| s.name == name)
    }
}

impl McpServer {
    /// Checks its name and transport.
    pub fn validate(&self) -> Result<(), SettingsError> {
        check_name(&self.name)?;
        match &self.transport {
            McpTransport::Stdio { command, .. } => {
                if command.trim().is_empty() {
                    return Err(SettingsError::Invalid(format!(
                        "The MCP server {} has no command",
                        self.name
                    )));
                }
            }
            McpTransport::Http { url, headers, .. } => {
                let u = url::Url::parse(url).map_err(|e| {
                    SettingsError::Invalid(format!(
                        "The MCP server {} has a bad URL {url:?}: {e}",
                        self.name
                    ))
                })?;
                if !matches!(u.scheme(), "http" | "https") {
                    return Err(SettingsError::Invalid(format!(
                        "The MCP server {}'s URL must start with http:// or https:// (got {url:?})",
                        self.name
                    )));
                }
                for k in headers.keys() {
                    reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                        SettingsError::Invalid(format!("{k:?} is not a header name"))
                    })?;
                }
            }
        }
        Ok(())
    }

    /// The keychain accounts of its secret values.
    pub fn secret_accounts(&self) -> Vec<String> {
        match &self.transport {
            McpTransport::Stdio { secret_env, .. } => secret_env
                .iter()
                .map(|k| secret_account(&self.name, SecretPlace::Env, k))
                .collect(),
            McpTransport::Http { secret_headers, .. } => secret_headers
                .iter()
                .map(|k| secret_account(&self.name, SecretPlace::Header, k))
                .collect(),
        }
    }
}

/// Checks a server name: 1 to [`MAX_SERVER_NAME`] letters, digits, `-`, `_`.
pub fn check_name(name: &str) -> Result<(), SettingsError> {
    if name.is_empty()
        || name.len() > MAX_SERVER_NAME
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(SettingsError::Invalid(format!(
            "An MCP server's name is 1 to {MAX_SERVER_NAME} letters, digits, - or _ (got {name:?})"
        )));
    }
    Ok(())
}

/// Where a secret value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretPlace {
    /// An environment variable of a stdio server.
    Env,
    /// A header of an HTTP server.
    Header,
}

/// The keychain account of a server's secret value.
pub fn secret_account(server: &str, place: SecretPlace, key: &str) -> String {
    let place = match place {
        SecretPlace::Env => "env",
        SecretPlace::Header => "header",
    };
    format!("mcp/{server}/{place}/{key}")
}

/// Words that make an environment variable or header a secret.
const SECRET_WORDS: [&str; 8] = [
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "AUTH",
    "COOKIE",
    "CREDENTIAL",
];

/// True when a variable or header of this name holds a secret
/// (`GITHUB_TOKEN`, `Authorization`, `X-Api-Key`...): its value goes to the
/// keychain, never to the settings file.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for s in ["GITHUB_TOKEN", "Authorization", "x-api-key", "DB_PASSWORD"] {
            assert!(is_secret_name(s), "{s}");
        }
        for s in ["PATH", "LOG_LEVEL", "Accept", "HOME"] {
            assert!(!is_secret_name(s), "{s}");
        }
    }

    #[test]
    fn names_and_limits_are_checked() {
        assert!(check_name("files-2_x").is_ok());
        for bad in ["", "a b", "ü", &"x".repeat(41)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        let mut t = ToolSettings::default();
        assert!(t.validate().is_ok());
        t.step_limit = 0;
        assert!(t.validate().is_err());
        let t = ToolSettings {
            servers: vec![McpServer {
                name: "h".into(),
                enabled: true,
                transport: McpTransport::Http {
                    url: "ftp://x".into(),
                    headers: BTreeMap::new(),
                    secret_headers: vec![],
                },
                always_allow: vec![],
            }],
            ..ToolSettings::default()
        };
        assert!(t.validate().is_err());
    }
}
