//! `runnel ask`: one question without a window. The answer streams to
//! stdout as it arrives (one flush per network read), reasoning to stderr;
//! with --save or --conversation the exchange is stored through the same
//! turn as the window's.

use crate::args::{ApproveArg, AskArgs, KindArg};
use crate::output::{AskJson, Term};
use crate::{fail, service};
use runnel_core::config::env::Env;
use runnel_core::engine::{ChatOptions, Engine, EngineEvent, Outcome};
use runnel_core::protocol::Sampling;
use runnel_core::store::{new_id, Store};
use runnel_core::tools::mcp::Hub;
use runnel_core::turn;
use runnel_core::types::answer::Delta;
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::tool::{Approval, PendingCall, ToolStep};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Runs `runnel ask`; returns the exit status.
pub fn run(args: AskArgs, term: Term) -> i32 {
    let prompt = match super::read_prompt(&args.prompt) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runnel: could not start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(ask_async(args, prompt, term))
}

async fn ask_async(args: AskArgs, prompt: String, term: Term) -> i32 {
    let env = Env::process();
    // Files first: a file that cannot go is said before anything is sent or stored.
    let mut files = Vec::with_capacity(args.attach.len());
    for path in &args.attach {
        match runnel_core::attach::from_path(path) {
            Ok(f) => files.push(f),
            Err(e) => {
                eprintln!("runnel: error [invalid]: {e}");
                return 2;
            }
        }
    }
    if let Err(e) = runnel_core::attach::check_message(&files) {
        eprintln!("runnel: error [invalid]: {e}");
        return 2;
    }
    // --save and --conversation store the exchange: one store for the whole run.
    let store = if args.save || args.conversation.is_some() {
        match Store::open_default() {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                eprintln!("runnel: error [storage]: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    let stored = match (&store, &args.conversation) {
        (Some(s), Some(cid)) => match s.conversation(cid) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("runnel: error [storage]: {e}");
                return 1;
            }
        },
        _ => None,
    };
    // A stored conversation continues with its own provider, model, budget
    // and system prompt unless told otherwise.
    let continued = turn::Continuation::of(
        stored.as_ref(),
        args.base_url.is_some() || args.provider.is_some(),
    );
    let provider = args.provider.clone().or(continued.provider);
    let model = args.model.clone().or(continued.model);
    let (engine, mut endpoint) = match &provider {
        Some(id) => {
            let svc = match service() {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            match svc.endpoint(Some(id), model.as_deref()).await {
                Ok(ep) => (svc.engine(), ep),
                Err(e) => return fail(&e),
            }
        }
        None => {
            let kind = args.protocol.map(|KindArg(k)| k).unwrap_or_default();
            let endpoint = env.ad_hoc_endpoint(
                kind,
                args.base_url.as_deref(),
                model.as_deref(),
                args.api_key_env.as_deref(),
            );
            match Engine::new(env.engine_config(None)) {
                Ok(e) => (Arc::new(e), endpoint),
                Err(e) => {
                    eprintln!("runnel: {e}");
                    return 1;
                }
            }
        }
    };
    let sampling = Sampling {
        temperature: args.temperature,
        top_p: args.top_p,
        max_tokens: args.max_tokens,
    };
    if let Err(e) = sampling.check() {
        eprintln!("runnel: {e}");
        return 2;
    }
    // A stored conversation keeps its sampling; the flags change it.
    endpoint.sampling = endpoint
        .sampling
        .overridden_by(continued.sampling)
        .overridden_by(sampling);
    if let Err(e) = turn::check_thinking_budget(args.thinking_budget) {
        eprintln!("runnel: --thinking-budget {e}");
        return 2;
    }
    let budget = args.thinking_budget.or(continued.thinking_budget);
    if !endpoint.set_thinking_budget(budget) && args.thinking_budget.is_some() {
        eprintln!("runnel: --thinking-budget applies to Anthropic providers only; ignored");
    }
    let saved = match &store {
        Some(store) => {
            let settings = turn::SendSettings {
                provider: provider.clone(),
                model: Some(endpoint.model.clone()),
                system_prompt: args.system.clone().unwrap_or(continued.system_prompt),
                thinking_budget: budget,
                sampling: continued.sampling.overridden_by(sampling),
            };
            let id = args.conversation.clone().unwrap_or_else(new_id);
            let kind = turn::SendKind::New {
                text: prompt.clone(),
            };
            match turn::prepare_with(store, &id, &settings, &kind, &files) {
                Ok(p) => Some((store.clone(), p)),
                Err(e) => {
                    eprintln!("runnel: error [storage]: {e}");
                    return 1;
                }
            }
        }
        None => None,
    };
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = args.system.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(ChatMessage::new(Role::System, system));
    }
    let mut user = ChatMessage::new(Role::User, prompt);
    user.attachments = files;
    messages.push(user);

    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout);
    let mut err = std::io::stderr();
    let json = args.json;
    let mut last_char_newline = true;
    let mut broken_pipe = false;
    // The exchange is recorded for --trace, and for a stored answer when
    // the settings keep traces.
    // The settings once (a service reads the file): the trace's, and the
    // prices the answer is costed with (the built-in ones when unreadable).
    let settings = service().map(|s| s.settings()).unwrap_or_default();
    let trace_settings = settings.trace;
    let options = ChatOptions {
        stream: !args.no_stream,
        trace_cap: if args.trace.is_some() {
            Some(trace_settings.cap_kib as usize * 1024)
        } else if saved.is_some() {
            trace_settings.cap()
        } else {
            None
        },
        ..ChatOptions::default()
    };
    // Tools of the servers named by --mcp: started now, stopped when this
    // run ends (the hub kills them on drop).
    let hub = Hub::new();
    let toolbox = if args.mcp.is_empty() {
        None
    } else {
        let svc = match service() {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        match svc.toolbox(&hub, Some(&args.mcp), &[]).await {
            Ok(t) => {
                if let Some((name, why)) = t.unavailable.first() {
                    eprintln!(
                        "runnel: error [tool]: {}",
                        term.err(&format!("{name}: {why}"))
                    );
                    return 1;
                }
                Some(t)
            }
            Err(e) => return fail(&e),
        }
    };
    let gate = TerminalGate {
        mode: args.approve,
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    };
    let tool_run = toolbox.as_ref().map(|toolbox| turn::ToolRun {
        hub: &hub,
        toolbox,
        gate: &gate,
        step_limit: settings.tools.step_limit,
        call_timeout: std::time::Duration::from_secs(u64::from(settings.tools.call_timeout_secs)),
    });
    let mut on_event = |ev| match ev {
        EngineEvent::Delta(Delta::Text(t) | Delta::Refusal(t)) if !json => {
            broken_pipe |= out.write_all(term.out(&t).as_bytes()).is_err();
            if broken_pipe {
                cancel.cancel();
            }
            last_char_newline = t.ends_with('\n');
        }
        EngineEvent::Delta(Delta::Reasoning(t)) if !json => {
            let _ = err.write_all(term.err(&t).as_bytes());
        }
        EngineEvent::Retrying {
            attempt,
            max,
            delay,
            reason,
        } => {
            let _ = writeln!(
                err,
                "runnel: retrying in {:.0} s ({attempt}/{max}): {}",
                delay.as_secs_f64().ceil(),
                term.err(&reason)
            );
        }
        EngineEvent::Notice(n) => {
            let _ = writeln!(err, "runnel: {}", term.err(&n));
        }
        EngineEvent::ContextTrimmed { dropped, context } => {
            let _ = writeln!(
                err,
                "runnel: the conversation is longer than this model's context ({context} tokens): \
                 the oldest {dropped} message(s) were left out of this answer"
            );
        }
        EngineEvent::Waiting => {
            let _ = writeln!(
                err,
                "runnel: waiting for the model to finish another answer"
            );
        }
        EngineEvent::Loading { percent: 0 } => {
            let _ = writeln!(err, "runnel: loading the model");
        }
        EngineEvent::ToolStep(step) if !json => {
            let _ = out.flush();
            let _ = writeln!(err, "{}", term.err(&step_line(&step)));
        }
        EngineEvent::ReadEnd => {
            // One flush per network read keeps latency low without a syscall per token.
            broken_pipe |= out.flush().is_err();
            if broken_pipe {
                cancel.cancel();
            }
        }
        _ => {}
    };
    let result = match &saved {
        Some((store, prepared)) => {
            turn::stream_with_tools(
                &engine,
                store,
                prepared,
                &endpoint,
                options,
                tool_run.as_ref(),
                &cancel,
                &mut on_event,
            )
            .await
        }
        None => {
            let live: turn::Live = Default::default();
            turn::converse(
                &engine,
                &endpoint,
                messages,
                options,
                tool_run.as_ref(),
                &cancel,
                &mut on_event,
                &live,
            )
            .await
        }
    };
    hub.shutdown();

    if json {
        let mut obj = AskJson::from_result(&result);
        if let Some((_, p)) = &saved {
            obj.conversation_id = Some(p.conversation_id.clone());
            obj.message_id = Some(p.answer.id.clone());
        }
        let cost = runnel_core::config::prices::cost_of(
            &settings.prices,
            &endpoint.provider_label(),
            &endpoint.model,
            &result.usage,
            result.usage_estimated,
        );
        obj.cost_usd = cost.map(|c| c.usd);
        obj.cost_estimated = cost.is_some_and(|c| c.estimated);
        match serde_json::to_string(&obj) {
            Ok(line) => {
                let _ = writeln!(out, "{line}");
            }
            Err(e) => {
                let _ = writeln!(err, "runnel: could not encode the result: {e}");
            }
        }
    } else {
        if !result.answer.text.is_empty() && !last_char_newline {
            let _ = writeln!(out);
        }
        if result.answer.reasoning.is_some() {
            let _ = writeln!(err);
        }
        // Calls that ran were shown as they ended; the others as they are.
        for call in result
            .answer
            .tool_calls
            .iter()
            .filter(|c| !result.steps.iter().any(|s| s.call_id == c.id))
        {
            let _ = writeln!(
                err,
                "{}",
                term.err(&format!(
                    "[tool call {}] {}({})",
                    call.id, call.name, call.arguments
                ))
            );
        }
    }
    let _ = out.flush();
    drop(out);
    if let Some(path) = &args.trace {
        let jsonl = result
            .trace
            .as_ref()
            .map(|t| t.to_jsonl())
            .unwrap_or_default();
        if let Err(e) = runnel_core::types::files::write_private(path, jsonl.as_bytes()) {
            let _ = writeln!(
                err,
                "runnel: could not write the trace to {}: {e}",
                path.display()
            );
        }
    }
    match &result.outcome {
        Outcome::Done => 0,
        Outcome::Cancelled if broken_pipe => 1,
        Outcome::Cancelled => {
            let _ = writeln!(err, "runnel: cancelled");
            130
        }
        Outcome::Error(e) => {
            let message = e.to_string();
            let _ = writeln!(
                err,
                "runnel: error [{}]: {}",
                e.kind().as_str(),
                term.err(&message)
            );
            1
        }
    }
}

/// Approves tool calls from the command line: `--approve all` or `none`,
/// or a question on the terminal (none there: denied, and the step says so).
struct TerminalGate {
    mode: ApproveArg,
    interactive: bool,
}

impl turn::ToolGate for TerminalGate {
    fn approve<'a>(&'a self, call: &'a PendingCall) -> turn::BoxFuture<'a, Approval> {
        Box::pin(async move {
            match self.mode {
                ApproveArg::All => Approval::Trusted,
                ApproveArg::None => Approval::DeniedUnasked,
                ApproveArg::Ask if !self.interactive => Approval::DeniedUnasked,
                ApproveArg::Ask => {
                    let question = format!(
                        "runnel: the model calls {} with {}\nrunnel: allow? [y]es, [a]lways for this tool, [N]o: ",
                        call.name,
                        if call.arguments.trim().is_empty() { "{}" } else { call.arguments.as_str() }
                    );
                    // A thread of its own: Ctrl+C ends the run while it still waits
                    // for a line (a blocking task would hold the runtime open).
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    std::thread::spawn(move || {
                        let mut err = std::io::stderr();
                        let _ = err.write_all(question.as_bytes());
                        let _ = err.flush();
                        let mut line = String::new();
                        let _ = tx.send(std::io::stdin().read_line(&mut line).map(|_| line));
                    });
                    let answer = rx.await;
                    match answer {
                        Ok(Ok(line)) => match line.trim().to_ascii_lowercase().as_str() {
                            "y" | "yes" => Approval::Allowed,
                            "a" | "always" => Approval::AllowedAlways,
                            _ => Approval::Denied,
                        },
                        _ => Approval::Denied,
                    }
                }
            }
        })
    }
}

/// One line on stderr for a finished tool call.
fn step_line(s: &ToolStep) -> String {
    let what = match s.approved {
        Approval::Denied => "declined".to_owned(),
        Approval::DeniedUnasked => "denied (not asked)".to_owned(),
        Approval::NotRun => "not run".to_owned(),
        _ if s.is_error => format!("failed in {} ms", s.duration_ms),
        _ => format!("{} ms", s.duration_ms),
    };
    let mut result: String = s.result.chars().take(200).collect();
    if result.len() < s.result.len() {
        result.push('…');
    }
    format!(
        "[tool {}] {} -> {} ({what})",
        s.name,
        s.arguments,
        result.replace('\n', " ")
    )
}
