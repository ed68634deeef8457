//! The command line's shape: commands, flags and their values (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};
use runnel_core::protocol::ProviderKind;

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
    /// Keep control characters (escape sequences) in model and server text
    /// even when writing to a terminal (by default they are shown as visible
    /// stand-ins there; pipes and files always get the text as it is).
    #[arg(long, global = true)]
    pub raw: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ask one question without a window; the answer streams to stdout as it arrives.
    ///
    /// Reasoning goes to stderr. Exit status: 0 done, 1 error (kind and message on
    /// stderr, partial text already printed), 130 on Ctrl+C (partial kept).
    Ask(AskArgs),
    /// Send one prompt to 2-4 models at once and compare them: progress on
    /// stderr, then a table (status, TTFT, total, tokens/s, tokens, cost).
    ///
    /// Exit status: 0 when every answer is done, 1 when any failed.
    Compare(CompareArgs),
    /// List saved providers (never keys), or add and remove them.
    Providers {
        /// What to do (default: list).
        #[command(subcommand)]
        action: Option<ProvidersAction>,
    },
    /// Browse, search and export stored conversations.
    History {
        /// What to do.
        #[command(subcommand)]
        action: HistoryAction,
    },
    /// Copies of the conversation database: list them, make one, or restore one.
    ///
    /// The window makes one a day (the last 7 are kept) and one before every
    /// upgrade; a restore first backs up the database it replaces.
    Backup {
        /// What to do.
        #[command(subcommand)]
        action: BackupAction,
    },
    /// Save or delete a provider's API key in the OS keychain.
    Key {
        /// What to do.
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Local models run on this computer (`runnel ask --provider local`).
    Models {
        /// What to do (default: list).
        #[command(subcommand)]
        action: Option<ModelsAction>,
    },
    /// The price table (USD per million tokens) answers are costed with.
    Prices {
        /// What to do (default: list).
        #[command(subcommand)]
        action: Option<PricesAction>,
    },
    /// Tokens and cost per provider and model, in total and per day (UTC),
    /// at today's prices. Deleted conversations still count.
    Usage {
        /// From this day on (YYYY-MM-DD, UTC) [default: everything].
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Print the report as one JSON object (`days`, `models`, `total`).
        #[arg(long)]
        json: bool,
    },
    /// MCP servers whose tools models may call (`runnel ask --mcp NAME`).
    Mcp {
        /// What to do.
        #[command(subcommand)]
        action: McpAction,
    },
}

/// `runnel mcp ...`
#[derive(Debug, Subcommand)]
pub enum McpAction {
    /// Add a server: `runnel mcp add NAME -- CMD ARGS...` (stdio) or
    /// `runnel mcp add NAME --url URL [--header K=V]` (Streamable HTTP).
    /// Values whose names look secret (KEY, TOKEN, SECRET, PASSWORD, AUTH...)
    /// or are named by --secret go to the keychain, never to settings.json.
    Add {
        /// Its name (letters, digits, - and _).
        name: String,
        /// The Streamable HTTP endpoint.
        #[arg(long, conflicts_with_all = ["env", "cwd"])]
        url: Option<String>,
        /// A header of an HTTP server (repeatable).
        #[arg(long = "header", value_name = "K=V", requires = "url")]
        header: Vec<String>,
        /// An environment variable of a stdio server (repeatable).
        #[arg(long = "env", value_name = "K=V")]
        env: Vec<String>,
        /// Keep this variable's or header's value in the keychain (repeatable).
        #[arg(long = "secret", value_name = "K")]
        secret: Vec<String>,
        /// The stdio server's working directory.
        #[arg(long)]
        cwd: Option<String>,
        /// Replace a server of this name.
        #[arg(long)]
        replace: bool,
        /// The stdio server's command and arguments, after `--`.
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// List servers; each enabled one is started to show its status and tools.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Remove a server and its secrets.
    Remove {
        /// Its name.
        name: String,
    },
    /// Offer a server's tools to models again.
    Enable {
        /// Its name.
        name: String,
    },
    /// Stop offering a server's tools (kept in the settings).
    Disable {
        /// Its name.
        name: String,
    },
}

/// How `runnel ask --mcp` approves tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ApproveArg {
    /// Ask on the terminal for each call (Allow / Always / Deny); without a
    /// terminal every call is denied.
    #[default]
    Ask,
    /// Allow every call.
    All,
    /// Deny every call (the model is told).
    None,
}

/// `runnel prices ...`
#[derive(Debug, Subcommand)]
pub enum PricesAction {
    /// List every known price: yours, then the built-in ones with their source.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Set your price of a model (replaces a built-in one).
    Set {
        /// The model id, as the provider spells it.
        model: String,
        /// USD per million input tokens.
        #[arg(long, value_name = "USD")]
        input: f64,
        /// USD per million output tokens.
        #[arg(long, value_name = "USD")]
        output: f64,
        /// USD per million cached input tokens [default: the input price].
        #[arg(long, value_name = "USD")]
        cached: Option<f64>,
    },
    /// Remove your price of a model (a built-in one applies again).
    Remove {
        /// The model id.
        model: String,
    },
}

/// `runnel models ...`
#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// List installed models (id, size, architecture, quantization, context),
    /// then the catalog's models not yet installed.
    List {
        /// Print one JSON object: `installed` and `available` arrays.
        #[arg(long)]
        json: bool,
    },
    /// Download a catalog model by id, or a .gguf by URL; progress on stderr.
    /// Resumes a download that stopped; checks its sha256 before use.
    Pull {
        /// A catalog id (see `runnel models list`) or an http(s) URL of a .gguf file.
        model: String,
        /// The sha256 the file must have (hex) [default: the catalog's, else the hub's].
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        /// Install it under this id [default: the catalog id, or the file's name].
        #[arg(long)]
        id: Option<String>,
    },
    /// Copy a .gguf file from disk into the models folder (checked first).
    Import {
        /// The file.
        path: std::path::PathBuf,
        /// Install it under this id [default: from the file's name].
        #[arg(long)]
        id: Option<String>,
    },
    /// Delete an installed model.
    Remove {
        /// Its id.
        id: String,
    },
}

/// `runnel providers ...`
#[derive(Debug, Subcommand)]
pub enum ProvidersAction {
    /// List providers: id, name, kind, base URL, default model, key status.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Add a provider, or change the one with this id.
    Add {
        /// Provider id (lowercase letters, digits, dashes).
        id: String,
        /// Base URL, e.g. http://localhost:8000/v1.
        #[arg(long)]
        base_url: String,
        /// Protocol: openai-compatible (default) or anthropic.
        #[arg(long, default_value = "openai-compatible")]
        kind: KindArg,
        /// Default model.
        #[arg(long)]
        model: Option<String>,
        /// Display name (default: the id).
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove a provider and its key.
    Remove {
        /// Provider id.
        id: String,
    },
}

/// `runnel history ...`
#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Conversations, newest first (pinned on top).
    List {
        /// Print a JSON array of {id, title, updated, ...}.
        #[arg(long)]
        json: bool,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One conversation with its messages.
    Show {
        /// Conversation id.
        id: String,
        /// Print {id, title, messages: [...]} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over every message and title, newest first.
    ///
    /// --provider and --model select the conversations that used them in any
    /// answer (then every message in them); --role and the dates select
    /// messages (and leave title hits out). Filters combine.
    Search {
        /// Words to find.
        query: String,
        /// Only conversations answered (at least once) by this provider id.
        #[arg(long, value_name = "ID")]
        provider: Option<String>,
        /// Only conversations answered (at least once) by this model, exactly.
        #[arg(long, value_name = "M")]
        model: Option<String>,
        /// Only the user's messages, or only answers.
        #[arg(long, value_enum)]
        role: Option<SearchRole>,
        /// Messages from this date on: YYYY-MM-DD (UTC) or RFC 3339.
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Messages up to this date: YYYY-MM-DD (UTC, the whole day) or RFC 3339.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Print a JSON array of {id, title, updated, message_id, snippet}.
        #[arg(long)]
        json: bool,
    },
    /// Print the exchange stored with an answer as JSON lines (see `ask --trace`).
    Trace {
        /// The answer's message id (`runnel ask --save --json` prints it).
        message_id: String,
        /// Print the response body's bytes as received instead.
        #[arg(long)]
        sse: bool,
    },
    /// Import conversations: a Runnel JSON export, ChatGPT's or Claude's
    /// conversations.json (or the export's folder), Open WebUI's chat export,
    /// or llm's logs.db. The format is detected. Prints each new
    /// conversation's id; what was skipped or rejected goes to stderr with
    /// the reason. Importing the same file again adds nothing.
    Import {
        /// The file or folder.
        file: std::path::PathBuf,
        /// Print {source, imported, skipped, rejected, messages_left_out} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export a conversation as Markdown or Runnel JSON.
    Export {
        /// Conversation id.
        id: String,
        /// md or json.
        #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
        format: ExportFormat,
        /// Write to this file instead of stdout.
        #[arg(short = 'o', long = "output")]
        output: Option<std::path::PathBuf>,
    },
}

/// `history search --role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchRole {
    /// What the user wrote.
    User,
    /// What the models answered.
    Assistant,
}

/// `runnel backup ...`
#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// The backups, newest first: id, when, why, size.
    List {
        /// Print a JSON array of {id, created (ms since the epoch), reason, size (bytes)}.
        #[arg(long)]
        json: bool,
    },
    /// Make a backup now (checked in full before it is kept); prints its id.
    Create {
        /// Print {id, created, reason, size} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace the database with a backup; the current one is backed up first.
    Restore {
        /// The backup's id (see `runnel backup list`).
        id: String,
    },
}

/// `runnel key ...`
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Read a key from stdin (without echo on a terminal), test it with GET /models, and save it.
    Set {
        /// Provider id.
        provider: String,
        /// Save even if the test fails (e.g. a server without /models).
        #[arg(long)]
        force: bool,
    },
    /// Delete a provider's key from the keychain.
    Delete {
        /// Provider id.
        provider: String,
    },
}

/// Arguments of `runnel ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// A saved provider (see `runnel providers`); its key comes from the keychain.
    #[arg(long, conflicts_with_all = ["base_url", "api_key_env"])]
    pub provider: Option<String>,
    /// Base URL of an OpenAI-compatible API [env: OPENAI_BASE_URL] [default: https://api.openai.com/v1].
    /// `--provider local` runs an installed local model instead (see `runnel models`).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Model id [env: RUNNEL_MODEL without --provider] [default: the provider's, or gpt-4o-mini].
    #[arg(long)]
    pub model: Option<String>,
    /// System prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// Name of the environment variable that holds the API key [default: OPENAI_API_KEY].
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Print only one JSON object with the whole result, on the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// Ask for one complete response instead of a stream.
    #[arg(long)]
    pub no_stream: bool,
    /// Write the exchange to FILE as JSON lines: the request (secrets as
    /// `<redacted>`), the response, each SSE event and comment with its
    /// arrival time (`t_ms`), retries, and the end.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
    /// Protocol of --base-url: openai (default) or anthropic.
    #[arg(long, value_name = "openai|anthropic", conflicts_with = "provider")]
    pub protocol: Option<KindArg>,
    /// Anthropic extended thinking with this token budget.
    #[arg(long, value_name = "TOKENS")]
    pub thinking_budget: Option<u32>,
    /// Store the exchange as a new conversation (see `runnel history`).
    #[arg(long)]
    pub save: bool,
    /// Continue a stored conversation (implies --save).
    #[arg(long, value_name = "ID")]
    pub conversation: Option<String>,
    /// Sampling temperature, 0-2 (0: the most likely answer, the same each time on a local model).
    #[arg(long, value_name = "T")]
    pub temperature: Option<f32>,
    /// Nucleus sampling threshold, above 0 up to 1.
    #[arg(long, value_name = "P")]
    pub top_p: Option<f32>,
    /// Most tokens of the answer.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Send a file with the prompt (repeatable): an image (PNG, JPEG, WebP,
    /// GIF), a text or code file, or a PDF.
    #[arg(long = "attach", value_name = "FILE")]
    pub attach: Vec<std::path::PathBuf>,
    /// Let the model call this MCP server's tools (repeatable; see `runnel mcp`).
    #[arg(long = "mcp", value_name = "NAME")]
    pub mcp: Vec<String>,
    /// How tool calls are approved.
    #[arg(long, value_enum, default_value_t = ApproveArg::Ask, requires = "mcp")]
    pub approve: ApproveArg,
    /// The prompt; `-` reads it from stdin.
    pub prompt: String,
}

/// `runnel compare` flags.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// PROVIDER:MODEL (split at the first colon, so `ollama:llama3.2:1b` is
    /// the model `llama3.2:1b` of `ollama`); with --base-url, a model id on
    /// that server. Give it 2 to 4 times.
    #[arg(long = "model", value_name = "PROVIDER:MODEL", required = true)]
    pub models: Vec<String>,
    /// One server for every --model (OpenAI-compatible unless --protocol).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Protocol of --base-url: openai (default) or anthropic.
    #[arg(long, value_name = "openai|anthropic", requires = "base_url")]
    pub protocol: Option<KindArg>,
    /// With --base-url: the environment variable holding its key.
    #[arg(long, value_name = "VAR", requires = "base_url")]
    pub api_key_env: Option<String>,
    /// System prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// Print one JSON array of `runnel ask --json` objects, each with
    /// `provider` and `model`, on the last line of stdout.
    #[arg(long)]
    pub json: bool,
    /// The prompt; `-` reads it from stdin.
    pub prompt: String,
}

/// A provider protocol as a flag value: any kind's name or alias, listed
/// from core's kinds (the CLI keeps no list of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindArg(pub ProviderKind);

impl ValueEnum for KindArg {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [KindArg; ProviderKind::ALL.len()] = {
            let mut out = [KindArg(ProviderKind::OpenaiCompatible); ProviderKind::ALL.len()];
            let mut i = 0;
            while i < out.len() {
                out[i] = KindArg(ProviderKind::ALL[i]);
                i += 1;
            }
            out
        };
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.as_str()).aliases(self.0.aliases()))
    }
}

/// What `history export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Markdown, the shown versions.
    Md,
    /// Runnel JSON, everything.
    Json,
    /// One self-contained HTML page to share (no script), the shown versions.
    Html,
}
