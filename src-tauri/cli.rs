//! Command line: `runnel` opens the window; `runnel ask` runs the same engine
//! headless, streaming the answer to stdout.

use crate::core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent, Outcome, StreamResult};
use crate::core::error::ErrorInfo;
use crate::core::openai::{ChatMessage, Role};
use crate::core::provider::{ApiKey, Endpoint, DEFAULT_BASE_URL, DEFAULT_MODEL};
use crate::core::stream::{Delta, ToolCall};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::io::{Read, Write};
use tokio_util::sync::CancellationToken;

/// Runnel: a fast, lossless chat client for large language models.
///
/// With no command, opens the desktop app. The provider comes from the
/// environment: OPENAI_BASE_URL, OPENAI_API_KEY and RUNNEL_MODEL.
#[derive(Debug, Parser)]
#[command(name = "runnel", version)]
pub struct Cli {
    /// What to do (default: open the window).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask one question without a window; the answer streams to stdout as it arrives.
    ///
    /// Reasoning goes to stderr. Exit status: 0 done, 1 error (kind and message on
    /// stderr, partial text already printed), 130 on Ctrl+C (partial kept).
    Ask(AskArgs),
}

/// Arguments of `runnel ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// Base URL of an OpenAI-compatible API.
    #[arg(long, env = "OPENAI_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
    /// Model id.
    #[arg(long, env = "RUNNEL_MODEL", default_value = DEFAULT_MODEL)]
    pub model: String,
    /// System prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// Name of the environment variable that holds the API key.
    #[arg(long, default_value = "OPENAI_API_KEY", value_name = "VAR")]
    pub api_key_env: String,
    /// Print only one JSON object with the whole result, on the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Ask for one complete response instead of a stream.
    #[arg(long)]
    pub no_stream: bool,
    /// The prompt; `-` reads it from stdin.
    pub prompt: String,
}

/// The `--json` result object.
#[derive(Debug, Serialize)]
pub struct AskJson<'a> {
    /// `done`, `cancelled` or `error`.
    pub status: &'static str,
    /// Answer text.
    pub text: &'a str,
    /// Reasoning, or null.
    pub reasoning: Option<&'a str>,
    /// Refusal, or null.
    pub refusal: Option<&'a str>,
    /// Tool calls.
    pub tool_calls: &'a [ToolCall],
    /// Last finish reason.
    pub finish_reason: Option<&'a str>,
    /// Server-reported usage, or null.
    pub usage: Option<crate::core::stream::Usage>,
    /// The error, or null.
    pub error: Option<ErrorInfo>,
    /// Timings.
    pub metrics: crate::core::engine::Metrics,
}

impl<'a> AskJson<'a> {
    /// Builds the object from a finished stream.
    pub fn from_result(r: &'a StreamResult) -> Self {
        Self {
            status: r.outcome.status(),
            text: &r.answer.text,
            reasoning: r.answer.reasoning.as_deref(),
            refusal: r.answer.refusal.as_deref(),
            tool_calls: &r.answer.tool_calls,
            finish_reason: r.answer.finish_reason.as_deref(),
            usage: r.answer.usage,
            error: match &r.outcome {
                Outcome::Error(e) => Some(e.to_info()),
                _ => None,
            },
            metrics: r.metrics,
        }
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUNNEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        None => {
            init_logging("warn");
            match crate::shell::run() {
                Ok(()) => 0,
                Err(e) => {
                    tracing::error!(error = %e, "Runnel could not start");
                    eprintln!("runnel: could not start the window: {e}");
                    1
                }
            }
        }
        Some(Command::Ask(args)) => {
            init_logging("error");
            ask(args)
        }
    }
}

fn ask(args: AskArgs) -> i32 {
    let prompt = if args.prompt == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut s) {
            eprintln!("runnel: could not read the prompt from stdin: {e}");
            return 1;
        }
        s
    } else {
        args.prompt.clone()
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
    runtime.block_on(ask_async(args, prompt))
}

async fn ask_async(args: AskArgs, prompt: String) -> i32 {
    let key = std::env::var(&args.api_key_env).ok().map(ApiKey::new);
    let endpoint = Endpoint::new(&args.base_url, &args.model, key, &args.api_key_env);
    let engine = match Engine::new(EngineConfig::from_env()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("runnel: {e}");
            return 1;
        }
    };
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = args.system.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(ChatMessage::new(Role::System, system));
    }
    messages.push(ChatMessage::new(Role::User, prompt));

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
    let options = ChatOptions {
        stream: !args.no_stream,
    };
    let result = engine
        .chat(&endpoint, &messages, options, &cancel, &mut |ev| match ev {
            EngineEvent::Delta(Delta::Text(t) | Delta::Refusal(t)) if !json => {
                broken_pipe |= out.write_all(t.as_bytes()).is_err();
                if broken_pipe {
                    cancel.cancel();
                }
                last_char_newline = t.ends_with('\n');
            }
            EngineEvent::Delta(Delta::Reasoning(t)) if !json => {
                let _ = err.write_all(t.as_bytes());
            }
            EngineEvent::Retrying {
                attempt,
                max,
                delay,
                reason,
            } => {
                let _ = writeln!(
                    err,
                    "runnel: retrying in {:.0} s ({attempt}/{max}): {reason}",
                    delay.as_secs_f64().ceil()
                );
            }
            EngineEvent::ReadEnd => {
                // One flush per network read keeps latency low without a syscall per token.
                broken_pipe |= out.flush().is_err();
                if broken_pipe {
                    cancel.cancel();
                }
            }
            _ => {}
        })
        .await;

    if json {
        match serde_json::to_string(&AskJson::from_result(&result)) {
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
        for call in &result.answer.tool_calls {
            let _ = writeln!(
                err,
                "[tool call {}] {}({})",
                call.id, call.name, call.arguments
            );
        }
    }
    let _ = out.flush();
    drop(out);
    match &result.outcome {
        Outcome::Done => 0,
        Outcome::Cancelled if broken_pipe => 1,
        Outcome::Cancelled => {
            let _ = writeln!(err, "runnel: cancelled");
            130
        }
        Outcome::Error(e) => {
            let _ = writeln!(err, "runnel: error [{}]: {e}", e.kind().as_str());
            1
        }
    }
}
