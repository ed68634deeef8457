// Generated from the Rust types by src-tauri/ipc_types.rs: do not edit.
// Regenerate with `RUNNEL_BLESS=1 cargo test --test ipc_types`.

export type IpcError = { 
/**
 * Stable kind.
 */
kind: ErrorKind, 
/**
 * Plain message.
 */
message: string, };

export type ErrorKind = "auth" | "not_found" | "rate_limited" | "bad_request" | "server" | "overloaded" | "network" | "timeout" | "stream" | "keychain" | "invalid" | "storage" | "internal" | "model";

export type ErrorInfo = { 
/**
 * Stable kind.
 */
kind: ErrorKind, 
/**
 * Plain message for people.
 */
message: string, 
/**
 * HTTP status, if any.
 */
status?: number | null, 
/**
 * Retry-After in whole seconds, if the server sent one.
 */
retry_after_s?: number | null, };

export type MessageStatus = "streaming" | "done" | "cancelled" | "error" | "interrupted";

export type Role = "system" | "user" | "assistant";

export type UiState = { 
/**
 * Providers, the environment's first when there is one.
 */
providers: Array<ProviderView>, 
/**
 * Provider of new conversations.
 */
default_provider: string | null, 
/**
 * Timeouts, retries and proxy in force (the settings file's; the
 * environment's `RUNNEL_*` variables may override timeouts and retries).
 */
network: NetworkSettings, 
/**
 * What "reset" goes back to.
 */
network_defaults: NetworkSettings, 
/**
 * A custom proxy is set and its password is in the keychain.
 */
proxy_password_set: boolean, 
/**
 * The `max_tokens` an Anthropic provider asks for when it sets none.
 */
anthropic_default_max_tokens: number, 
/**
 * System prompt presets.
 */
system_prompts: Array<SystemPromptPreset>, 
/**
 * A message about the settings file (moved aside...).
 */
notice: string | null, 
/**
 * Keys in the environment that can be imported with one click.
 */
env_import: EnvImport | null, 
/**
 * No provider is usable yet: show onboarding.
 */
onboarding: boolean, 
/**
 * The presets (for "add provider").
 */
presets: Array<Provider>, 
/**
 * Where the settings live.
 */
settings_path: string, 
/**
 * The page measures its streaming pipeline (`RUNNEL_PAGE_METRICS=1`, for the window benchmark).
 */
page_metrics: boolean, 
/**
 * How local models run.
 */
local: LocalSettings, 
/**
 * Their defaults, each spelled out (the context's size too).
 */
local_defaults: LocalSettings, 
/**
 * Physical cores (the default thread count of local models).
 */
physical_cores: number, 
/**
 * Whether answers keep their exchange, and how much.
 */
trace: TraceSettings, 
/**
 * Theme.
 */
theme: Theme, 
/**
 * The language the user picked; `None` follows the system.
 */
language: Language | null, 
/**
 * The system's language preferences, best first (`LANGUAGE`, `LC_ALL`,
 * `LC_MESSAGES`, `LANG`); the window also reads its own.
 */
system_languages: Array<string>, };

export type Appearance = { 
/**
 * Theme.
 */
theme: Theme, 
/**
 * The language the user picked; `None` follows the system.
 */
language: Language | null, 
/**
 * The system's language preferences, best first (`LANGUAGE`, `LC_ALL`,
 * `LC_MESSAGES`, `LANG`); the window also reads its own.
 */
system_languages: Array<string>, };

export type ProviderView = { 
/**
 * Key status.
 */
key: KeyStatus, 
/**
 * `not set` or `set ····abcd`.
 */
key_label: string, 
/**
 * A key is needed (the server is not on this machine).
 */
needs_key: boolean, 
/**
 * Requests can be made: a key is set or none is needed.
 */
usable: boolean, 
/**
 * From the environment, not saved.
 */
from_env: boolean, 
/**
 * Why requests cannot be made as configured, and what to do.
 */
problem: string | null, 
/**
 * Stable id: the keychain account and the CLI's `--provider`.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Protocol.
 */
kind: ProviderKind, 
/**
 * Base URL, e.g. `https://api.openai.com/v1`.
 */
base_url: string, 
/**
 * Model used for new conversations.
 */
default_model: string, 
/**
 * Extra HTTP headers sent with every request (non-secret).
 */
extra_headers?: { [key in string]: string }, 
/**
 * The provider's models, as last listed.
 */
models?: ModelCache | null, 
/**
 * The server rejected `stream_options`: never send it.
 */
no_stream_options?: boolean, 
/**
 * Anthropic `max_tokens` (ignored by other kinds).
 */
max_tokens?: number | null, };

export type Provider = { 
/**
 * Stable id: the keychain account and the CLI's `--provider`.
 */
id: string, 
/**
 * Display name.
 */
name: string, 
/**
 * Protocol.
 */
kind: ProviderKind, 
/**
 * Base URL, e.g. `https://api.openai.com/v1`.
 */
base_url: string, 
/**
 * Model used for new conversations.
 */
default_model: string, 
/**
 * Extra HTTP headers sent with every request (non-secret).
 */
extra_headers?: { [key in string]: string }, 
/**
 * The provider's models, as last listed.
 */
models?: ModelCache | null, 
/**
 * The server rejected `stream_options`: never send it.
 */
no_stream_options?: boolean, 
/**
 * Anthropic `max_tokens` (ignored by other kinds).
 */
max_tokens?: number | null, };

export type ProviderKind = "openai-compatible" | "anthropic" | "local";

export type ModelCache = { 
/**
 * Unix seconds of the fetch.
 */
fetched_at: number, 
/**
 * Model ids, sorted.
 */
models: Array<string>, };

export type KeyStatus = { 
/**
 * A key is available.
 */
set: boolean, 
/**
 * Its last 4 characters, when set.
 */
last4: string | null, 
/**
 * It is in the keychain (false: this session only, or not set).
 */
saved: boolean, 
/**
 * Why the keychain could not be read or written, if it could not.
 */
problem: string | null, };

export type EnvImport = { 
/**
 * `OPENAI_API_KEY` is set.
 */
openai_key: boolean, 
/**
 * `OPENAI_BASE_URL`, if set.
 */
base_url: string | null, 
/**
 * `ANTHROPIC_API_KEY` is set.
 */
anthropic_key: boolean, };

export type Theme = "system" | "light" | "dark";

export type Language = "en" | "de" | "zh-CN";

export type SystemPromptPreset = { 
/**
 * Name shown in the picker.
 */
name: string, 
/**
 * The prompt.
 */
text: string, };

export type Timeouts = { 
/**
 * Connect timeout.
 */
connect_ms: number, 
/**
 * Time to first byte.
 */
first_byte_ms: number, 
/**
 * Longest silence between chunks.
 */
idle_ms: number, 
/**
 * The longest one answer may take, when set (`RUNNEL_ANSWER_DEADLINE_MS`
 * overrides it).
 */
answer_deadline_ms?: number | null, };

export type Retries = { 
/**
 * Retries after the first try.
 */
max_retries: number, 
/**
 * First backoff step in milliseconds; doubled on each retry, with jitter.
 */
backoff_ms: number, };

export type ProxyMode = "system" | "off" | "custom";

export type ProxySettings = { 
/**
 * Which proxy.
 */
mode: ProxyMode, 
/**
 * `http://host:port`, `https://host:port`, `socks5://host:port` or
 * `socks5h://host:port` (names resolved by the proxy); used in `Custom` mode.
 */
url: string, 
/**
 * Hosts that bypass the proxy: comma-separated names, `.domain` suffixes,
 * IPs or CIDR ranges (as `NO_PROXY`).
 */
no_proxy: string, 
/**
 * The proxy's user name, when it asks for one (the password is in the keychain).
 */
username: string, };

export type NetworkSettings = { 
/**
 * Timeouts.
 */
timeouts: Timeouts, 
/**
 * Retries.
 */
retries: Retries, 
/**
 * The proxy.
 */
proxy: ProxySettings, };

export type Sampling = { 
/**
 * Temperature (0 = most deterministic).
 */
temperature?: number | null, 
/**
 * Nucleus sampling threshold.
 */
top_p?: number | null, 
/**
 * Most tokens of the answer.
 */
max_tokens?: number | null, };

export type LocalSettings = { 
/**
 * Threads for a local model; None: one per physical core
 * (`RUNNEL_LOCAL_THREADS` applies when this is None).
 */
threads?: number | null, 
/**
 * Minutes a loaded model stays loaded unused.
 */
idle_unload_minutes: number, 
/**
 * Most tokens of context (prompt and answer) a model is given; None:
 * the default, 8,192 (a model's own training context caps it). A
 * longer conversation loses its oldest turns, and the answer says so.
 */
context?: number | null, };

export type ProviderInput = { 
/**
 * Existing id to edit; None to add.
 */
id: string | null, 
/**
 * Name.
 */
name: string, 
/**
 * Kind.
 */
kind: ProviderKind, 
/**
 * Base URL.
 */
base_url: string, 
/**
 * Default model.
 */
default_model: string, 
/**
 * Extra headers.
 */
extra_headers: { [key in string]: string }, 
/**
 * Anthropic `max_tokens` (None: the default); other kinds ignore it.
 */
max_tokens: number | null, };

export type SavedProvider = { 
/**
 * Its id.
 */
id: string, 
/**
 * Its host changed, so its key was removed (set it again for the new host).
 */
key_removed: boolean, };

export type KeySaveResult = { 
/**
 * The key was stored (keychain, or this session only when the keychain failed).
 */
stored: boolean, 
/**
 * Status after the attempt.
 */
status: KeyStatus, 
/**
 * The test (`GET /models`) failed with this; nothing was stored unless forced.
 */
test_error: ErrorInfo | null, 
/**
 * The keychain failed with this; the key is held for this session only.
 */
keychain_error: string | null, 
/**
 * Models found by the test.
 */
models: Array<string>, };

export type LocalModelsView = { 
/**
 * Where models live.
 */
models_dir: string, 
/**
 * Installed models, by id.
 */
installed: Array<InstalledModel>, 
/**
 * The catalog, smallest first.
 */
catalog: Array<CatalogModel>, 
/**
 * The model first start offers.
 */
default_model: string, };

export type InstalledModel = { 
/**
 * Its id (the provider `local`'s model id).
 */
id: string, 
/**
 * The model's own name, else its id.
 */
name: string, 
/**
 * File size in bytes.
 */
size: number, 
/**
 * Architecture (llama, qwen2...), when the file could be read.
 */
architecture: string | null, 
/**
 * Quantization (Q4_K_M...).
 */
quantization: string | null, 
/**
 * Trained context length.
 */
context_length: number | null, 
/**
 * Why it cannot be used, when its header is damaged.
 */
problem: string | null, };

export type CatalogModel = { 
/**
 * Its id.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * Download size in bytes.
 */
size: number, 
/**
 * License.
 */
license: string, 
/**
 * Trained context length.
 */
context: number, 
/**
 * Memory needed to run it, in bytes (an estimate).
 */
ram_needed: number, 
/**
 * Its page on Hugging Face.
 */
page: string, 
/**
 * Already installed.
 */
installed: boolean, };

export type PullMessage = { "kind": "progress", 
/**
 * Bytes so far.
 */
done: number, 
/**
 * The file's size, when known.
 */
total: number | null, 
/**
 * Bytes per second.
 */
bytes_per_s: number, 
/**
 * Seconds left.
 */
eta_s: number | null, } | { "kind": "resuming", 
/**
 * Bytes kept.
 */
at: number, } | { "kind": "verifying" };

export type ConversationSummary = { 
/**
 * Unique, time-ordered (see `new_id`).
 */
id: string, 
/**
 * From the first user message until the user renames it.
 */
title: string, 
/**
 * Created, ms since the epoch.
 */
created: number, 
/**
 * Last change, ms since the epoch.
 */
updated: number, 
/**
 * Pinned on top.
 */
pinned: boolean, 
/**
 * The saved provider its next send goes to (None: the default one).
 */
provider: string | null, 
/**
 * The model its next send asks (None: the provider's default).
 */
model: string | null, 
/**
 * System prompt.
 */
system_prompt: string, 
/**
 * Anthropic extended thinking budget, when enabled for this conversation.
 */
thinking_budget: number | null, 
/**
 * Temperature, top-p and max tokens chosen for this conversation.
 */
sampling: Sampling, };

export type Cursor = { 
/**
 * Its pinned flag.
 */
pinned: boolean, 
/**
 * Its last change.
 */
updated: number, 
/**
 * Its id.
 */
id: string, };

export type ConversationPage = { conversation: ConversationSummary, messages: Array<MessageView>, has_more: boolean, 
/**
 * What all its answers cost at today's prices (None: none has a price).
 */
cost: Cost | null, 
/**
 * The app it was imported from (`chatgpt`, `claude`, `open-webui`,
 * `llm`, `runnel`), if it was imported.
 */
imported_from: string | null, };

export type Answerers = { 
/**
 * Provider ids, sorted.
 */
providers: Array<string>, 
/**
 * Model ids, sorted.
 */
models: Array<string>, };

export type MessageView = { 
/**
 * The stored message's id.
 */
id: string, 
/**
 * Who wrote it.
 */
role: Role, 
/**
 * Streaming, or how it ended (`data-status`).
 */
status: MessageStatus, 
/**
 * Raw markdown (for Copy and Edit).
 */
content: string, 
/**
 * The files that went with a user message.
 */
attachments: Array<AttachmentView>, 
/**
 * Sanitized HTML of an assistant answer.
 */
html: string | null, 
/**
 * Reasoning or thinking text, shown collapsible.
 */
reasoning: string | null, 
/**
 * Tool calls with their arguments pretty-printed.
 */
tool_calls: Array<ToolCallView>, 
/**
 * The calls that ran or were declined, with their results.
 */
tool_steps: Array<ToolStep>, 
/**
 * Error, when status is error.
 */
error: ErrorInfo | null, 
/**
 * The provider's last finish reason (`data-finish-reason`).
 */
finish_reason: string | null, 
/**
 * Token counts as stored.
 */
usage: StoredUsage | null, 
/**
 * Timings as stored.
 */
metrics: Metrics | null, 
/**
 * What an answer cost at today's prices; None for user messages,
 * answers without a known price, and those stored before schema 5.
 */
cost: Cost | null, 
/**
 * Position among its siblings, the branches at its fork (1-based), and
 * how many there are.
 */
version: [number, number], 
/**
 * The ids of all its siblings, oldest first (just itself when there is no fork).
 */
versions: Array<string>, 
/**
 * Position in the conversation.
 */
seq: number, 
/**
 * The message before it on its branch (an answer's question).
 */
parent_id: string | null, };

export type AttachmentView = { 
/**
 * Its id while it waits for a send; its content key once stored.
 */
id: string, 
/**
 * Its name.
 */
name: string, 
/**
 * What it is.
 */
kind: AttachmentKind, 
/**
 * Its size in bytes as sent.
 */
size: number, 
/**
 * An image's width and height in pixels.
 */
size_px: [number, number] | null, };

export type AttachmentKind = "image" | "text" | "pdf";

export type Attached = { 
/**
 * Prepared and waiting for the send.
 */
files: Array<AttachmentView>, 
/**
 * One line per file that cannot go: its name and why.
 */
refused: Array<string>, };

export type StoredUsage = { 
/**
 * Prompt tokens.
 */
input_tokens: number, 
/**
 * Completion tokens.
 */
output_tokens: number, 
/**
 * True when the server reported none and these are estimates.
 */
estimated: boolean, 
/**
 * Of the prompt tokens, those read from the prompt cache.
 */
cached_input_tokens: number, };

export type Metrics = { 
/**
 * Milliseconds from the request to the first piece of the answer.
 */
ttft_ms: number | null, 
/**
 * Milliseconds from the request to the terminal state.
 */
total_ms: number, 
/**
 * SSE data events received.
 */
chunks: number, 
/**
 * Output tokens per second of generation (after the first token).
 */
tokens_per_s: number | null, 
/**
 * How many of the oldest messages a local model's context could not
 * hold and were left out of this answer; stored with it, so a reopened
 * conversation still says so. Absent when none were.
 */
context_dropped?: number | null, };

export type SearchHit = { 
/**
 * Conversation.
 */
id: string, 
/**
 * Its title.
 */
title: string, 
/**
 * Its last change.
 */
updated: number, 
/**
 * The message (None for a title hit).
 */
message_id: string | null, 
/**
 * Text around the match; matches are between U+E000 and U+E001.
 */
snippet: string, };

export type SearchFilter = { 
/**
 * A provider id.
 */
provider: string | null, 
/**
 * A model id, exactly.
 */
model: string | null, 
/**
 * Only the user's messages, or only answers.
 */
role: Role | null, 
/**
 * Messages from this instant on (ms since the epoch, inclusive).
 */
since: number | null, 
/**
 * Messages before this instant (ms since the epoch, exclusive).
 */
until: number | null, };

export type StoreProblem = { 
/**
 * The file.
 */
path: string, 
/**
 * What is wrong.
 */
message: string, 
/**
 * Moving it aside and starting fresh would help.
 */
can_move_aside: boolean, };

export type BackupInfo = { 
/**
 * The id `backup restore` takes: the file name without `.sqlite3`.
 */
id: string, 
/**
 * When it was made (ms since the epoch, to the second).
 */
created: number, 
/**
 * Why it was made.
 */
reason: BackupReason, 
/**
 * Its size in bytes.
 */
size: number, };

export type ImportReport = { 
/**
 * The format found.
 */
source: Source, 
/**
 * The new conversations' ids.
 */
imported: Array<string>, 
/**
 * Imported before, or with nothing to import.
 */
skipped: Array<NotImported>, 
/**
 * Refused: the file's data for them is invalid.
 */
rejected: Array<NotImported>, 
/**
 * Messages left out on purpose (hidden, system and tool messages).
 */
messages_left_out: number, };

export type NotImported = { 
/**
 * Its title (or id) in the source.
 */
title: string, 
/**
 * Why.
 */
reason: string, };

export type Source = "runnel" | "chatgpt" | "claude" | "open-webui" | "llm";

export type BackupReason = "daily" | "manual" | "migration" | "restore";

export type ExportFormat = "md" | "json" | "html";

export type SendKind = { "kind": "new", 
/**
 * Its text.
 */
text: string, } | { "kind": "regenerate", 
/**
 * The answer to answer again (or a user message: answer it once
 * more); None: the last shown question.
 */
of: string | null, } | { "kind": "edit", 
/**
 * The new text.
 */
text: string, 
/**
 * The user message edited; None: the last shown one.
 */
of: string | null, };

export type Sent = { conversation_id: string, user_message: MessageView, answer_id: string, };

export type StreamMessage = { "type": "ops", 
/**
 * The operations.
 */
ops: Array<UiOp>, } | { "type": "end" } & StreamEnd;

export type UiOp = { "op": "retrying", 
/**
 * 1 for the first retry.
 */
attempt: number, 
/**
 * Most retries.
 */
max: number, 
/**
 * Wait in milliseconds.
 */
delay_ms: number, 
/**
 * Why.
 */
reason: string, } | { "op": "notice", 
/**
 * What to show.
 */
text: string, } | { "op": "context_trimmed", 
/**
 * Messages left out.
 */
dropped: number, 
/**
 * The context's size in tokens.
 */
context: number, } | { "op": "waiting" } | { "op": "loading", 
/**
 * 0-100.
 */
percent: number, } | { "op": "reasoning", 
/**
 * Text to append.
 */
text: string, } | { "op": "block", 
/**
 * Sanitized HTML.
 */
html: string, } | { "op": "open", 
/**
 * Sanitized HTML.
 */
html: string, } | { "op": "code_open", 
/**
 * Language from the fence info string.
 */
lang: string, } | { "op": "code_append", 
/**
 * Text to append.
 */
text: string, } | { "op": "code_lit", 
/**
 * Highlighted HTML of completed lines, made by trusted code.
 */
html: string, 
/**
 * The unfinished line, plain text.
 */
tail: string, } | { "op": "code_close" } | { "op": "refusal", 
/**
 * Text to append.
 */
text: string, } | { "op": "tool_call", 
/**
 * Slot.
 */
index: number, 
/**
 * Id, if known now.
 */
id: string | null, 
/**
 * Name, if known now.
 */
name: string | null, } | { "op": "tool_args", 
/**
 * Slot.
 */
index: number, 
/**
 * Text to append.
 */
text: string, } | { "op": "tool_ask", 
/**
 * The call.
 */
call: PendingCall, } | { "op": "tool_running", 
/**
 * Its id.
 */
call_id: string, } | { "op": "tool_step", 
/**
 * The step.
 */
step: ToolStep, };

export type StreamEnd = { 
/**
 * `done`, `cancelled` or `error`.
 */
status: MessageStatus, 
/**
 * Set when status is `error`.
 */
error: ErrorInfo | null, 
/**
 * Last finish reason.
 */
finish_reason: string | null, 
/**
 * Timings.
 */
metrics: Metrics, 
/**
 * Token counts.
 */
usage: Usage, 
/**
 * True when usage is estimated.
 */
usage_estimated: boolean, 
/**
 * Final tool calls.
 */
tool_calls: Array<ToolCallView>, 
/**
 * The raw markdown of the answer as it stands (for Copy).
 */
text: string, 
/**
 * What it cost at today's prices; None when its model has no known
 * price (set by the face, which knows the price table).
 */
cost: Cost | null, };

export type ToolCallView = { 
/**
 * Call id.
 */
id: string, 
/**
 * Function name.
 */
name: string, 
/**
 * Arguments, pretty-printed when they are valid JSON, else raw.
 */
arguments: string, 
/**
 * False when the arguments are not valid JSON (e.g. cut off by max tokens).
 */
valid_json: boolean, };

export type Usage = { 
/**
 * Prompt tokens, cached ones included.
 */
input_tokens: number, 
/**
 * Completion tokens.
 */
output_tokens: number, 
/**
 * Of the prompt tokens, those read from the provider's prompt cache
 * (OpenAI `prompt_tokens_details.cached_tokens`, DeepSeek
 * `prompt_cache_hit_tokens`, Anthropic `cache_read_input_tokens`);
 * billed at the cached-input price.
 */
cached_input_tokens: number, };

export type CompareTarget = { 
/**
 * A saved provider (None: the default one).
 */
provider_id: string | null, 
/**
 * The model (None: the provider's default).
 */
model: string | null, 
/**
 * The column's stream id (for `cancel_stream`).
 */
stream_id: string, };

export type CompareMessage = { 
/**
 * The column (0-based, as the targets were given).
 */
column: number, 
/**
 * Its stream's message.
 */
message: StreamMessage, };

export type CompareSent = { conversation_id: string, user_message: MessageView, 
/**
 * Each column's answer id, in column order.
 */
answer_ids: Array<string>, };

export type TraceView = { 
/**
 * Request, response, events, comments, retries and the end, in order
 * (the history the request repeats put back).
 */
lines: Array<TraceLine>, 
/**
 * Bytes of the response body kept.
 */
raw_bytes: number, 
/**
 * The request as a `curl` command, the key as `$OPENAI_API_KEY` or
 * `$ANTHROPIC_API_KEY`.
 */
curl: string | null, };

export type TraceFormat = "sse" | "jsonl";

export type TraceLine = { "kind": "request", 
/**
 * Ms since the request started (0 for the first try).
 */
t_ms: number, 
/**
 * `POST`.
 */
method: string, 
/**
 * The URL.
 */
url: string, 
/**
 * Headers, secret values as `<redacted>`.
 */
headers: Array<[string, string]>, 
/**
 * The JSON body.
 */
body: string, } | { "kind": "response", 
/**
 * Ms since the request.
 */
t_ms: number, 
/**
 * HTTP status.
 */
status: number, 
/**
 * Headers (cookies as `<redacted>`).
 */
headers: Array<[string, string]>, 
/**
 * The body of an error response, as read.
 */
body?: string | null, } | { "kind": "event", 
/**
 * Ms since the request.
 */
t_ms: number, 
/**
 * Its `event:` name, or null when it had none.
 */
event: string | null, 
/**
 * Its data exactly as received (lines joined with `\n`).
 */
data: string, } | { "kind": "comment", 
/**
 * Ms since the request.
 */
t_ms: number, 
/**
 * The text after the colon.
 */
text: string, } | { "kind": "retry", 
/**
 * Ms since the request.
 */
t_ms: number, 
/**
 * 1 for the first retry.
 */
attempt: number, 
/**
 * Wait before it.
 */
delay_ms: number, 
/**
 * Why.
 */
reason: string, } | { "kind": "end", 
/**
 * Ms since the request.
 */
t_ms: number, 
/**
 * `done`, `cancelled` or `error`.
 */
status: string, 
/**
 * The error, when it failed.
 */
error?: ErrorInfo | null, 
/**
 * Events left out in the middle (over the cap).
 */
dropped_events: number, 
/**
 * Body bytes left out in the middle (over the cap).
 */
dropped_bytes: number, };

export type UsageReport = { 
/**
 * Per day, provider and model, in that order.
 */
days: Array<UsageLine>, 
/**
 * Per provider and model over the range, dearest first.
 */
models: Array<UsageLine>, 
/**
 * Everything.
 */
total: UsageLine, };

export type UsageLine = { 
/**
 * The day (`YYYY-MM-DD`), or "" in totals.
 */
day: string, 
/**
 * The provider, or "" in the grand total.
 */
provider: string, 
/**
 * The model, or "" in the grand total.
 */
model: string, 
/**
 * Answers.
 */
answers: number, 
/**
 * Prompt tokens, cached ones included.
 */
input_tokens: number, 
/**
 * Completion tokens.
 */
output_tokens: number, 
/**
 * Prompt tokens read from the provider's cache.
 */
cached_input_tokens: number, 
/**
 * Answers whose usage was estimated.
 */
estimated_answers: number, 
/**
 * Their cost at today's prices; None when no answer in it has a known
 * price.
 */
cost: Cost | null, 
/**
 * Answers without a known price (not in `cost`).
 */
unpriced_answers: number, };

export type PriceEntry = { 
/**
 * The model id.
 */
model: string, 
/**
 * The preset provider a built-in price belongs to ("" for the user's).
 */
provider: string, 
/**
 * USD per million tokens.
 */
price: Price, 
/**
 * Where it comes from.
 */
origin: PriceOrigin, };

export type PriceOrigin = { "kind": "builtin", 
/**
 * The page it was read from.
 */
source: string, 
/**
 * When.
 */
date: string, } | { "kind": "user" };

export type TraceSettings = { 
/**
 * Record and store it (on by default).
 */
enabled: boolean, 
/**
 * At most this many KiB per answer; beyond it the first and last events
 * are kept and the rest counted.
 */
cap_kib: number, };

export type Cost = { 
/**
 * US dollars.
 */
usd: number, 
/**
 * Some token counts were estimated (the server reported no usage).
 */
estimated: boolean, };

export type Price = { 
/**
 * Input (prompt) tokens.
 */
input: number, 
/**
 * Output (completion, reasoning included) tokens.
 */
output: number, 
/**
 * Input tokens read from the provider's prompt cache; None: billed as
 * input.
 */
cached: number | null, };

export type ViewReply = { view: View, 
/**
 * Set when the state file was damaged and moved aside.
 */
notice: string | null, };

export type View = { 
/**
 * The sidebar's width in CSS pixels (the window clamps it).
 */
sidebar_width: number | null, sidebar_collapsed: boolean, 
/**
 * The conversation that was open (none: a new chat).
 */
open_conversation: string | null, 
/**
 * Unsent drafts by conversation id; `""` is the new chat's.
 */
drafts: { [key in string]: Draft }, };

export type ViewPatch = { sidebar_width: number | null, sidebar_collapsed: boolean, open_conversation: string | null, };

export type Draft = { text: string, updated: number, };

export type ToolStep = { 
/**
 * The call's id, as the model gave it.
 */
call_id: string, 
/**
 * The name the model called (see [`exposed_name`]).
 */
name: string, 
/**
 * The server that has the tool (None: no enabled server has it).
 */
server: string | null, 
/**
 * The tool's own name on that server.
 */
tool: string | null, 
/**
 * The arguments, raw JSON as the model wrote them.
 */
arguments: string, 
/**
 * Whether it ran.
 */
approved: Approval, 
/**
 * The result as text (the tool's text, JSON, or what went wrong).
 */
result: string, 
/**
 * Images the tool returned.
 */
images?: Array<ToolImage>, 
/**
 * The result is an error (the model sees `is_error`).
 */
is_error: boolean, 
/**
 * Time from the call's start to its result, in ms.
 */
duration_ms: number, 
/**
 * Which request of the answer asked for it (0 for the first).
 */
round: number, 
/**
 * Where in the answer's text the request that asked for it ended (a
 * byte offset): the text before it was said before the call.
 */
at: number, };

export type ToolImage = { 
/**
 * Its MIME type.
 */
mime: string, 
/**
 * Its bytes, base64.
 */
data: string, };

export type PendingCall = { 
/**
 * The call's id.
 */
call_id: string, 
/**
 * The name the model called.
 */
name: string, 
/**
 * The server that has it.
 */
server: string | null, 
/**
 * The tool's own name there.
 */
tool: string | null, 
/**
 * The arguments, raw JSON as the model wrote them.
 */
arguments: string, };

export type Approval = "allowed" | "allowed_always" | "trusted" | "denied" | "denied_unasked" | "not_run";

export type ToolSettings = { 
/**
 * MCP servers.
 */
servers: Array<McpServer>, 
/**
 * Most requests one answer makes while calling tools.
 */
step_limit: number, 
/**
 * How long one call may take, in seconds.
 */
call_timeout_secs: number, };

export type McpServer = { 
/**
 * Its name: letters, digits, `-` and `_` (tools are offered as
 * `name__tool`).
 */
name: string, 
/**
 * Offered to models.
 */
enabled: boolean, 
/**
 * How it is reached.
 */
transport: McpTransport, 
/**
 * Tools that run without asking ("Always").
 */
always_allow?: Array<string>, };

export type McpTransport = { "type": "stdio", 
/**
 * The program.
 */
command: string, 
/**
 * Its arguments.
 */
args: Array<string>, 
/**
 * Environment variables that are not secrets (secret ones: in the
 * keychain, named in `secret_env`).
 */
env?: { [key in string]: string }, 
/**
 * Names of environment variables whose values are in the keychain.
 */
secret_env?: Array<string>, 
/**
 * Its working directory (None: the app's).
 */
cwd?: string | null, } | { "type": "http", 
/**
 * Its URL (http or https).
 */
url: string, 
/**
 * Headers that are not secrets.
 */
headers?: { [key in string]: string }, 
/**
 * Names of headers whose values are in the keychain.
 */
secret_headers?: Array<string>, };

export type McpServerStatus = { 
/**
 * Its settings (no secret value: only their names).
 */
server: McpServer, 
/**
 * Started and listing its tools (only checked when asked).
 */
running: boolean, 
/**
 * Its tools, when it runs.
 */
tools: Array<ServerTool>, 
/**
 * Why it could not be started, if so.
 */
error: string | null, };

export type McpServerInput = { 
/**
 * Its name.
 */
name: string, 
/**
 * For a stdio server: the program.
 */
command: string | null, 
/**
 * Its arguments.
 */
args: Array<string>, 
/**
 * Its working directory.
 */
cwd: string | null, 
/**
 * For a Streamable HTTP server: the URL.
 */
url: string | null, 
/**
 * Environment (stdio) or headers (HTTP), values in the clear.
 */
values: { [key in string]: string }, 
/**
 * Names of further values to keep in the keychain.
 */
secret: Array<string>, 
/**
 * Replace a server of the same name (an edit).
 */
replace: boolean, };

export type ServerTool = { 
/**
 * Its name on the server.
 */
name: string, 
/**
 * What it does.
 */
description: string, 
/**
 * JSON Schema of its arguments.
 */
input_schema: unknown, };

export type ToolDecision = "allow" | "allow_always" | "deny";

export type OfferedTool = { 
/**
 * The name it is offered under (what `tools_off` lists).
 */
name: string, 
/**
 * Its server.
 */
server: string, 
/**
 * Its own name there.
 */
tool: string, 
/**
 * What it does.
 */
description: string, 
/**
 * It runs without asking.
 */
trusted: boolean, };

export type ConversationTools = { 
/**
 * Every tool of the enabled servers.
 */
tools: Array<OfferedTool>, 
/**
 * Those switched off in this conversation.
 */
off: Array<string>, 
/**
 * Servers that could not be started: (name, why).
 */
unavailable: Array<[string, string]>, };
