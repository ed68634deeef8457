//! `runnel mcp`: add, list, switch and remove MCP servers.

use crate::args::McpAction;
use crate::{fail, service};
use runnel_core::config::mcp::McpTransport;
use runnel_core::service::mcp::McpServerInput;
use runnel_core::tools::mcp::Hub;
use std::collections::BTreeMap;

/// Runs `runnel mcp ...`; returns the exit status.
pub async fn run(action: McpAction) -> i32 {
    let svc = match service() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match action {
        McpAction::Add {
            name,
            url,
            header,
            env,
            secret,
            cwd,
            replace,
            command,
        } => {
            let pairs = if url.is_some() { header } else { env };
            let mut values = BTreeMap::new();
            for p in &pairs {
                match p.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        values.insert(k.trim().to_owned(), v.to_owned());
                    }
                    _ => {
                        eprintln!("runnel: {p:?} is not K=V");
                        return 2;
                    }
                }
            }
            let mut command = command.into_iter();
            let program = command.next();
            if url.is_none() && program.is_none() {
                eprintln!("runnel: give the server's command after --, or --url URL");
                return 2;
            }
            let input = McpServerInput {
                name,
                command: program,
                args: command.collect(),
                cwd,
                url,
                values,
                secret,
                replace,
            };
            match svc.add_mcp_server(input) {
                Ok(server) => {
                    let secrets = server.secret_accounts().len();
                    let kept = if secrets == 0 {
                        String::new()
                    } else {
                        format!(" ({secrets} secret value(s) in the keychain)")
                    };
                    eprintln!("runnel: added the MCP server {}{kept}", server.name);
                    0
                }
                Err(e) => fail(&e),
            }
        }
        McpAction::List { json } => {
            let hub = Hub::new();
            let list = svc.mcp_status(&hub, true).await;
            hub.shutdown();
            if json {
                match serde_json::to_string(&list) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("runnel: could not encode the list: {e}");
                        return 1;
                    }
                }
                return 0;
            }
            if list.is_empty() {
                eprintln!(
                    "runnel: no MCP server yet; add one with runnel mcp add NAME -- CMD ARGS..."
                );
            }
            for s in &list {
                let target = match &s.server.transport {
                    McpTransport::Stdio { command, args, .. } => {
                        format!("stdio: {command} {}", args.join(" "))
                    }
                    McpTransport::Http { url, .. } => format!("http: {url}"),
                };
                let state = if !s.server.enabled {
                    "disabled".to_owned()
                } else if s.running {
                    format!("running, {} tool(s)", s.tools.len())
                } else {
                    format!("error: {}", s.error.as_deref().unwrap_or("not started"))
                };
                println!("{}\t{}\t{}", s.server.name, state, target.trim_end());
                for t in &s.tools {
                    let trusted = if s.server.always_allow.contains(&t.name) {
                        " (always allowed)"
                    } else {
                        ""
                    };
                    let first_line = t.description.lines().next().unwrap_or("");
                    println!("  {}{trusted}\t{first_line}", t.name);
                }
            }
            0
        }
        McpAction::Remove { name } => match svc.remove_mcp_server(&name) {
            Ok(()) => {
                eprintln!("runnel: removed the MCP server {name}");
                0
            }
            Err(e) => fail(&e),
        },
        McpAction::Enable { name } => match svc.set_mcp_enabled(&name, true) {
            Ok(()) => 0,
            Err(e) => fail(&e),
        },
        McpAction::Disable { name } => match svc.set_mcp_enabled(&name, false) {
            Ok(()) => 0,
            Err(e) => fail(&e),
        },
    }
}
