//! `runnel compare`: one prompt to 2-4 models at once. Every stream starts
//! the moment the prompt is read, on its own connection, and none waits for
//! another; a failing one reports its error and the others go on.

use crate::args::{CompareArgs, KindArg};
use crate::output::{compare_table, AskJson, CompareRow, Term};
use crate::service;
use runnel_core::config::env::Env;
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineEvent, Outcome, StreamResult};
use runnel_core::service::Service;
use runnel_core::types::answer::Delta;
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::error::{ErrorInfo, ErrorKind};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

use runnel_core::turn::{MAX_COMPARED, MIN_COMPARED};

/// `PROVIDER:MODEL` split at the first colon (model ids keep theirs).
pub fn split_model(s: &str) -> Option<(&str, &str)> {
    let (p, m) = s.split_once(':')?;
    let (p, m) = (p.trim(), m.trim());
    (!p.is_empty() && !m.is_empty()).then_some((p, m))
}

/// Runs `runnel compare`; returns the exit status.
pub fn run(args: CompareArgs, term: Term) -> i32 {
    if !(MIN_COMPARED..=MAX_COMPARED).contains(&args.models.len()) {
        eprintln!(
            "runnel: compare takes {MIN_COMPARED} to {MAX_COMPARED} --model flags (got {})",
            args.models.len()
        );
        return 2;
    }
    let prompt = match super::read_prompt(&args.prompt) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runnel: could not start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(compare(args, prompt, term))
}

/// One column of the comparison: where it goes and its label.
struct Contender {
    label: String,
    provider: String,
    endpoint: Result<Endpoint, ErrorInfo>,
}

async fn compare(args: CompareArgs, prompt: String, term: Term) -> i32 {
    let env = Env::process();
    let svc: Option<Arc<Service>> = service().ok();
    let mut contenders = Vec::with_capacity(args.models.len());
    for m in &args.models {
        let c = match &args.base_url {
            Some(base) => {
                let kind = args.protocol.map(|KindArg(k)| k).unwrap_or_default();
                let e = env.ad_hoc_endpoint(
                    kind,
                    Some(base),
                    Some(m.trim()),
                    args.api_key_env.as_deref(),
                );
                Contender {
                    label: m.trim().to_owned(),
                    provider: e.provider_label(),
                    endpoint: Ok(e),
                }
            }
            None => {
                let Some((provider, model)) = split_model(m) else {
                    eprintln!(
                        "runnel: --model {m:?} needs the form PROVIDER:MODEL (see `runnel providers`), or give --base-url"
                    );
                    return 2;
                };
                let endpoint = match &svc {
                    Some(s) => s
                        .endpoint(Some(provider), Some(model))
                        .await
                        .map_err(|e| e.to_info()),
                    None => Err(ErrorInfo::new(
                        ErrorKind::Storage,
                        "the settings could not be read".to_owned(),
                    )),
                };
                Contender {
                    label: format!("{provider}:{model}"),
                    provider: provider.to_owned(),
                    endpoint,
                }
            }
        };
        contenders.push(c);
    }
    let engine = match &svc {
        Some(s) if args.base_url.is_none() => s.engine(),
        _ => match Engine::new(env.engine_config(None)) {
            Ok(e) => Arc::new(e),
            Err(e) => {
                eprintln!("runnel: {e}");
                return 1;
            }
        },
    };
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = args.system.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(ChatMessage::new(Role::System, system));
    }
    messages.push(ChatMessage::new(Role::User, prompt));
    let messages = Arc::new(messages);

    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });

    // Every stream in its own task, all started now.
    let started = Instant::now();
    let tasks: Vec<_> = contenders
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let endpoint = c.endpoint.clone();
            let (engine, messages, cancel) = (engine.clone(), messages.clone(), cancel.clone());
            let label = c.label.clone();
            tokio::spawn(async move {
                let endpoint = endpoint.map_err(|e| (e.kind, e.message))?;
                let mut first = true;
                let mut err = std::io::stderr();
                let r = engine
                    .chat(
                        &endpoint,
                        &messages,
                        ChatOptions::default(),
                        &cancel,
                        &mut |ev| match ev {
                            EngineEvent::Delta(Delta::Text(_) | Delta::Reasoning(_)) if first => {
                                first = false;
                                let _ = writeln!(
                                    err,
                                    "runnel: [{}] {} answering after {} ms",
                                    i + 1,
                                    term.err(&label),
                                    started.elapsed().as_millis()
                                );
                            }
                            EngineEvent::Retrying { attempt, max, .. } => {
                                let _ = writeln!(
                                    err,
                                    "runnel: [{}] {} retrying ({attempt}/{max})",
                                    i + 1,
                                    term.err(&label)
                                );
                            }
                            _ => {}
                        },
                    )
                    .await;
                let _ = writeln!(
                    err,
                    "runnel: [{}] {} {} after {:.2} s",
                    i + 1,
                    term.err(&label),
                    r.outcome.status().as_str(),
                    r.metrics.total_ms / 1000.0
                );
                Ok::<(StreamResult, Endpoint), (ErrorKind, String)>((r, endpoint))
            })
        })
        .collect();
    let mut results: Vec<Result<(StreamResult, Endpoint), (ErrorKind, String)>> = Vec::new();
    for t in tasks {
        results.push(match t.await {
            Ok(r) => r,
            Err(e) => Err((
                ErrorKind::Internal,
                format!("the stream's task failed: {e}"),
            )),
        });
    }

    let prices = svc
        .as_ref()
        .map(|s| s.settings().prices)
        .unwrap_or_default();
    let mut all_done = true;
    let mut rows = Vec::new();
    let mut json = Vec::new();
    for (c, r) in contenders.iter().zip(&results) {
        match r {
            Ok((r, endpoint)) => {
                let cost = runnel_core::config::prices::cost_of(
                    &prices,
                    &endpoint.provider_label(),
                    &endpoint.model,
                    &r.usage,
                    r.usage_estimated,
                );
                all_done &= matches!(r.outcome, Outcome::Done);
                let mut obj = AskJson::from_result(r);
                obj.cost_usd = cost.map(|c| c.usd);
                obj.cost_estimated = cost.is_some_and(|c| c.estimated);
                let mut v = serde_json::to_value(&obj).unwrap_or_default();
                v["provider"] = c.provider.clone().into();
                v["model"] = endpoint.model.clone().into();
                json.push(v);
                rows.push(CompareRow::from_result(&c.label, r, cost));
            }
            Err((kind, message)) => {
                all_done = false;
                let _ = writeln!(
                    std::io::stderr(),
                    "runnel: {}: error [{}]: {}",
                    term.err(&c.label),
                    kind.as_str(),
                    term.err(message)
                );
                json.push(serde_json::json!({
                    "status": "error", "provider": c.provider, "model": c.label,
                    "error": {"kind": kind.as_str(), "message": message},
                }));
                rows.push(CompareRow::failed(&c.label, kind.as_str()));
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(out, "{}", serde_json::Value::Array(json));
    } else {
        // Each answer, then the table.
        for (c, r) in contenders.iter().zip(&results) {
            if let Ok((r, _)) = r {
                let _ = writeln!(
                    out,
                    "== {} ==\n{}\n",
                    term.out(&c.label),
                    term.out(r.answer.text.trim_end())
                );
            }
        }
        let _ = write!(out, "{}", term.out(&compare_table(&rows)));
    }
    let _ = out.flush();
    if all_done {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_and_model_split_at_the_first_colon() {
        assert_eq!(
            split_model("openai:gpt-5-mini"),
            Some(("openai", "gpt-5-mini"))
        );
        assert_eq!(
            split_model("ollama:llama3.2:1b"),
            Some(("ollama", "llama3.2:1b"))
        );
        assert_eq!(split_model("gpt-5-mini"), None);
        assert_eq!(split_model(":m"), None);
        assert_eq!(split_model("p:"), None);
    }
}
