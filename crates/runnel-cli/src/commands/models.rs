//! `runnel models`: the local models (list, pull, import, remove).

use crate::args::ModelsAction;
use crate::{fail, service};
use runnel_core::config::env::Env;
use runnel_core::engine::local::catalog;
use runnel_core::engine::local::download::{self, Progress, PullEvent, PullRequest};
use runnel_core::engine::local::library::{id_from_file_name, Library, LocalModel};
use runnel_core::engine::local::system::human_bytes;
use serde_json::json;
use std::io::{IsTerminal, Write};
use tokio_util::sync::CancellationToken;

/// Runs a `models` action; returns the exit status.
pub async fn run(action: ModelsAction) -> i32 {
    let library = Library::new(Env::process().models_dir());
    match action {
        ModelsAction::List { json } => list(&library, json),
        ModelsAction::Pull { model, sha256, id } => pull(&library, &model, sha256, id).await,
        ModelsAction::Import { path, id } => match library.import(&path, id.as_deref()) {
            Ok(m) => {
                println!("imported {}", line(&m));
                0
            }
            Err(e) => {
                eprintln!("runnel: error [model]: {e}");
                1
            }
        },
        ModelsAction::Remove { id } => match library.remove(&id) {
            Ok(()) => {
                println!("removed {id}");
                0
            }
            Err(e) => {
                eprintln!("runnel: error [model]: {e}");
                1
            }
        },
    }
}

/// One installed model as a line: id, size, architecture, quantization, context, name.
fn line(m: &LocalModel) -> String {
    match &m.info {
        Ok(i) => format!(
            "{}  {}  {}  {}  ctx {}  {}",
            m.id,
            human_bytes(m.size),
            i.architecture,
            i.quantization.as_deref().unwrap_or("?"),
            i.context_length
                .map(|c| c.to_string())
                .unwrap_or_else(|| "?".into()),
            i.name.as_deref().unwrap_or("")
        ),
        Err(e) => format!("{}  {}  unusable: {e}", m.id, human_bytes(m.size)),
    }
}

fn list(library: &Library, as_json: bool) -> i32 {
    let installed = match library.list() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("runnel: error [model]: {e}");
            return 1;
        }
    };
    let endpoint = catalog::endpoint();
    let available: Vec<_> = catalog::entries()
        .iter()
        .filter(|e| !installed.iter().any(|m| m.id == e.id))
        .collect();
    if as_json {
        let installed: Vec<_> = installed
            .iter()
            .map(|m| {
                let info = m.info.as_ref().ok();
                json!({
                    "id": m.id,
                    "path": m.path,
                    "size": m.size,
                    "architecture": info.map(|i| i.architecture.as_str()),
                    "name": info.and_then(|i| i.name.as_deref()),
                    "context_length": info.and_then(|i| i.context_length),
                    "quantization": info.and_then(|i| i.quantization.as_deref()),
                    "chat_template": info.is_some_and(|i| i.chat_template.is_some()),
                    "error": m.info.as_ref().err(),
                })
            })
            .collect();
        let available: Vec<_> = available
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "name": e.name,
                    "url": e.url(&endpoint),
                    "page": e.page(),
                    "size": e.size,
                    "sha256": e.sha256,
                    "license": e.license,
                    "context": e.context,
                    "ram_needed": e.ram_needed(),
                    "default": e.id == catalog::default_model(),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "models_dir": library.dir(),
                "installed": installed,
                "available": available,
            })
        );
        return 0;
    }
    if installed.is_empty() {
        println!("No local model installed (in {}).", library.dir().display());
    } else {
        println!("Installed (in {}):", library.dir().display());
        for m in &installed {
            println!("  {}", line(m));
        }
    }
    if !available.is_empty() {
        println!("Available (runnel models pull ID):");
        for e in available {
            let mark = if e.id == catalog::default_model() {
                "  (default)"
            } else {
                ""
            };
            println!(
                "  {}  {}  {}  ctx {}  needs {} RAM  {}{mark}",
                e.id,
                human_bytes(e.size),
                e.license,
                e.context,
                human_bytes(e.ram_needed()),
                e.name
            );
        }
    }
    0
}

/// A 64-digit hex sha256, lowercased; None if it is not one.
fn parse_sha256(s: &str) -> Option<String> {
    let s = s.trim();
    download::is_sha256_hex(s).then(|| s.to_ascii_lowercase())
}

async fn pull(library: &Library, model: &str, sha256: Option<String>, id: Option<String>) -> i32 {
    let sha256 = match sha256.as_deref().map(|s| (s, parse_sha256(s))) {
        Some((s, None)) => {
            eprintln!("runnel: --sha256 must be 64 hex digits (got {s:?})");
            return 2;
        }
        Some((_, h)) => h,
        None => None,
    };
    let request = if model.starts_with("http://") || model.starts_with("https://") {
        let file = model
            .split(['?', '#'])
            .next()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or("model.gguf");
        PullRequest {
            url: model.to_owned(),
            id: id.unwrap_or_else(|| id_from_file_name(file)),
            sha256,
            disk_limit: None,
        }
    } else if let Some(entry) = catalog::find(model) {
        PullRequest {
            url: entry.url(&catalog::endpoint()),
            id: id.unwrap_or_else(|| entry.id.to_owned()),
            sha256: sha256.or_else(|| Some(entry.sha256.to_owned())),
            disk_limit: None,
        }
    } else {
        let ids: Vec<&str> = catalog::entries().iter().map(|e| e.id).collect();
        eprintln!(
            "runnel: \"{model}\" is neither a catalog model ({}) nor an http(s) URL",
            ids.join(", ")
        );
        return 2;
    };
    let svc = match service() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let engine = svc.engine();
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    eprintln!("runnel: downloading {} from {}", request.id, request.url);
    let tty = std::io::stderr().is_terminal();
    let mut last_step = None;
    let mut on_event = |ev: PullEvent| {
        let mut err = std::io::stderr();
        match ev {
            PullEvent::Progress(p) => {
                if tty {
                    let _ = write!(err, "\r\x1b[2K{}", progress_line(&p));
                } else {
                    // One line per tenth (or per 100 MB when the size is unknown).
                    let step = match p.total {
                        Some(t) if t > 0 => p.done * 10 / t,
                        _ => p.done / 100_000_000,
                    };
                    if last_step != Some(step) {
                        last_step = Some(step);
                        let _ = writeln!(err, "runnel: {}", progress_line(&p));
                    }
                }
            }
            PullEvent::Resuming { at, reason } => {
                let _ = writeln!(
                    err,
                    "{}runnel: {reason}; resuming at {}",
                    if tty { "\n" } else { "" },
                    human_bytes(at)
                );
            }
            PullEvent::Verifying => {
                let _ = writeln!(
                    err,
                    "{}runnel: checking the file",
                    if tty { "\n" } else { "" }
                );
            }
            PullEvent::Unverified { sha256 } => {
                let _ = writeln!(
                    err,
                    "runnel: warning: no sha256 was published for this file and none was given \
                     (--sha256): it is installed unverified. Its sha256 is {sha256}"
                );
            }
        }
    };
    match download::pull(engine.client(), library, &request, &cancel, &mut on_event).await {
        Ok(m) => {
            println!("installed {}", line(&m));
            0
        }
        Err(download::PullError::Cancelled) => {
            eprintln!("\nrunnel: download stopped; run the same command to resume it");
            130
        }
        Err(e) => {
            eprintln!("\nrunnel: error [model]: {e}");
            1
        }
    }
}

/// `45%  123 MB of 271 MB  12.3 MB/s  12 s left`
fn progress_line(p: &Progress) -> String {
    let rate = format!("{}/s", human_bytes(p.bytes_per_s as u64));
    match p.total {
        Some(t) if t > 0 => format!(
            "{:>3}%  {} of {}  {rate}  {}",
            p.done * 100 / t,
            human_bytes(p.done),
            human_bytes(t),
            p.eta_s
                .map(|s| format!("{:.0} s left", s.ceil()))
                .unwrap_or_default()
        ),
        _ => format!("{}  {rate}", human_bytes(p.done)),
    }
}
