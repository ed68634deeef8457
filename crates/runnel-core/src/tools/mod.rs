//! Tools from MCP servers: starting and stopping the servers ([`mcp::Hub`]),
//! and the set of tools one answer may call ([`Toolbox`]). Above config (the
//! servers as the settings keep them); the turn runs the calls.

pub mod mcp;

use crate::types::tool::{exposed_name, ToolSpec};
use std::collections::HashMap;

/// Where an offered tool lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The server's name.
    pub server: String,
    /// The tool's name on it.
    pub tool: String,
}

/// The tools one answer may call, and the server each one lives on.
#[derive(Debug, Clone, Default)]
pub struct Toolbox {
    /// What the model is offered.
    pub specs: Vec<ToolSpec>,
    routes: HashMap<String, Route>,
    /// The servers' launch settings, by name.
    pub launches: HashMap<String, mcp::Launch>,
    /// Tools that run without asking, by offered name.
    pub trusted: std::collections::HashSet<String>,
    /// Servers that could not be started or listed: (name, why). The answer
    /// goes on without their tools, and the user is told.
    pub unavailable: Vec<(String, String)>,
}

impl Toolbox {
    /// True when no tool is offered.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// Adds a server's tools (a name already offered is skipped; see
    /// [`exposed_name`]); `always` names the tools that run without asking.
    pub fn add(
        &mut self,
        launch: mcp::Launch,
        tools: Vec<mcp::ServerTool>,
        always: &[String],
        off: &[String],
    ) {
        for t in tools {
            let name = exposed_name(&launch.name, &t.name);
            if self.routes.contains_key(&name) || off.contains(&name) {
                continue;
            }
            if always.contains(&t.name) {
                self.trusted.insert(name.clone());
            }
            self.routes.insert(
                name.clone(),
                Route {
                    server: launch.name.clone(),
                    tool: t.name.clone(),
                },
            );
            self.specs.push(ToolSpec {
                name,
                description: t.description,
                input_schema: t.input_schema,
            });
        }
        self.launches.insert(launch.name.clone(), launch);
    }

    /// Where the tool the model called by `name` lives.
    pub fn route(&self, name: &str) -> Option<&Route> {
        self.routes.get(name)
    }
}
