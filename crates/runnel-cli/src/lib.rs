//! The `runnel` command: `runnel ask` and the other commands for the
//! terminal; with no command it opens the window by running `runnel-window`.
//! It links no GUI library, so a command starts in milliseconds, and builds
//! on machines without GTK or WebKit.
//!
//! [`args`] is the command line's shape, `commands` runs each command over
//! runnel-core, and `output` formats what they print.

pub mod args;
mod commands;
mod output;

pub use args::{
    AskArgs, BackupAction, Cli, Command, CompareArgs, HistoryAction, KeyAction, McpAction,
    ModelsAction, PricesAction, ProvidersAction,
};
pub use output::AskJson;

use clap::Parser;
use runnel_core::config::env::Env;
use runnel_core::config::{SettingsStore, APP_ID};
use runnel_core::keys::{OsKeychain, Secrets};
use runnel_core::service::{Service, ServiceError};
use std::sync::Arc;

/// Logs go to stderr, or appended to `RUNNEL_LOG_FILE`; the level comes from
/// `RUNNEL_LOG` (tracing filter syntax). Keys are never logged.
pub fn init_logging(default: &str) {
    let env = Env::process();
    let filter = env
        .log_filter()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    let file = env.log_file().and_then(|p| {
        runnel_core::types::files::private_options()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match file {
        Some(f) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(f))
            .try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
}

/// Entry point of the `runnel` binary; returns the process exit code.
/// `open_window` runs when no command is given.
pub fn main(open_window: fn() -> i32) -> i32 {
    let cli = Cli::parse();
    match cli.command {
        None => open_window(),
        Some(Command::Ask(args)) => {
            init_logging("error");
            commands::ask::run(args, output::Term::detect(cli.raw))
        }
        Some(Command::Compare(args)) => {
            init_logging("error");
            commands::compare::run(args, output::Term::detect(cli.raw))
        }
        Some(Command::Providers { action }) => {
            init_logging("error");
            run_async(commands::providers::run(
                action.unwrap_or(ProvidersAction::List { json: false }),
            ))
        }
        Some(Command::Backup { action }) => {
            init_logging("error");
            commands::backup::run(action)
        }
        Some(Command::Key { action }) => {
            init_logging("error");
            run_async(commands::key::run(action))
        }
        Some(Command::History { action }) => {
            init_logging("error");
            commands::history::run(action, output::Term::detect(cli.raw))
        }
        Some(Command::Models { action }) => {
            init_logging("error");
            run_async(commands::models::run(
                action.unwrap_or(ModelsAction::List { json: false }),
            ))
        }
        Some(Command::Prices { action }) => {
            init_logging("error");
            commands::prices::run(action.unwrap_or(PricesAction::List { json: false }))
        }
        Some(Command::Usage { since, json }) => {
            init_logging("error");
            commands::prices::usage(since.as_deref(), json)
        }
        Some(Command::Mcp { action }) => {
            init_logging("warn");
            run_async(commands::mcp::run(action))
        }
    }
}

/// The name of the window's binary, installed beside `runnel`.
pub const WINDOW_BINARY: &str = "runnel-window";

/// Opens the window by running the window's binary beside this one in this
/// process's place. `runnel` itself does not link the GUI libraries (loading
/// WebKitGTK and its ~170 libraries costs ~40 ms), so `runnel ask` starts in
/// milliseconds.
pub fn exec_window_binary() -> i32 {
    let name = format!("{WINDOW_BINARY}{}", std::env::consts::EXE_SUFFIX);
    let path = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(name),
        Err(e) => {
            eprintln!("runnel: could not find where runnel is installed: {e}");
            return 1;
        }
    };
    let mut cmd = std::process::Command::new(&path);
    cmd.args(std::env::args_os().skip(1));
    let not_started = |e: std::io::Error| {
        eprintln!(
            "runnel: could not open the window ({}: {e}); build both binaries with \
             `cargo build --release`, or run scripts/run.sh",
            path.display()
        );
        1
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Only returns on failure.
        not_started(cmd.exec())
    }
    #[cfg(not(unix))]
    match cmd.status() {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => not_started(e),
    }
}

fn run_async(f: impl std::future::Future<Output = i32>) -> i32 {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("runnel: could not start the async runtime: {e}");
            1
        }
    }
}

pub(crate) fn service() -> Result<Arc<Service>, ServiceError> {
    let secrets = Arc::new(Secrets::new(Arc::new(OsKeychain::new(APP_ID))));
    // The command line names its provider: no session-only one from the environment.
    let service = Service::new(SettingsStore::default_location(), secrets, Env::process())?;
    Ok(Arc::new(service.without_env_provider()))
}

pub(crate) fn fail(e: &ServiceError) -> i32 {
    let info = e.to_info();
    eprintln!("runnel: error [{}]: {}", info.kind.as_str(), info.message);
    1
}
