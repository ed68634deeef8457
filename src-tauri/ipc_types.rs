//! The shapes the window relies on, as TypeScript declarations generated
//! from the Rust types (ts-rs). `ui/types/ipc.ts` is this output; the JS
//! checks its JSDoc types against it with `tsc --checkJs`, and a test fails
//! when the file is not what the Rust types generate.

use runnel_core::config::{
    Language, LocalSettings, ModelCache, Provider, ProxyMode, ProxySettings, Retries,
    SystemPromptPreset, Theme, Timeouts,
};
use runnel_core::engine::Metrics;
use runnel_core::keys::KeyStatus;
use runnel_core::protocol::{ProviderKind, Sampling};
use runnel_core::render::feed::{StreamEnd, StreamMessage, ToolCallView, UiOp};
use runnel_core::render::view::{AttachmentView, MessageView};
use runnel_core::service::local::{CatalogModel, InstalledModel, LocalModelsView, PullMessage};
use runnel_core::service::{
    Appearance, EnvImport, KeySaveResult, NetworkSettings, ProviderInput, ProviderView,
    SavedProvider, UiState,
};
use runnel_core::store::{ConversationSummary, Cursor, SearchHit, StoredUsage};
use runnel_core::turn::SendKind;
use runnel_core::types::answer::Usage;
use runnel_core::types::attachment::AttachmentKind;
use runnel_core::types::chat::Role;
use runnel_core::types::error::{ErrorInfo, ErrorKind};
use runnel_core::types::status::MessageStatus;
use ts_rs::{Config, TS};

use crate::commands::attach::Attached;
use crate::commands::conversations::{ConversationPage, ExportFormat, StoreProblem};
use crate::commands::send::Sent;
use crate::error::IpcError;
use crate::window_state::{Draft, View, ViewPatch, ViewReply};

/// Where the generated declarations live, relative to the checkout.
pub const IPC_TS_PATH: &str = "ui/types/ipc.ts";

fn decl<T: TS>(cfg: &Config, out: &mut String) {
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

/// The whole `ui/types/ipc.ts`.
pub fn declarations() -> String {
    // JSON numbers: u64 and i64 values reach the page as plain numbers.
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/ipc_types.rs: do not edit.\n\
         // Regenerate with `RUNNEL_BLESS=1 cargo test --test ipc_types`.\n\n",
    );
    let c = &cfg;
    let o = &mut out;
    // Errors and statuses.
    decl::<IpcError>(c, o);
    decl::<ErrorKind>(c, o);
    decl::<ErrorInfo>(c, o);
    decl::<MessageStatus>(c, o);
    decl::<Role>(c, o);
    // Settings and providers.
    decl::<UiState>(c, o);
    decl::<Appearance>(c, o);
    decl::<ProviderView>(c, o);
    decl::<Provider>(c, o);
    decl::<ProviderKind>(c, o);
    decl::<ModelCache>(c, o);
    decl::<KeyStatus>(c, o);
    decl::<EnvImport>(c, o);
    decl::<Theme>(c, o);
    decl::<Language>(c, o);
    decl::<SystemPromptPreset>(c, o);
    decl::<Timeouts>(c, o);
    decl::<Retries>(c, o);
    decl::<ProxyMode>(c, o);
    decl::<ProxySettings>(c, o);
    decl::<NetworkSettings>(c, o);
    decl::<Sampling>(c, o);
    decl::<LocalSettings>(c, o);
    decl::<ProviderInput>(c, o);
    decl::<SavedProvider>(c, o);
    decl::<KeySaveResult>(c, o);
    // Local models.
    decl::<LocalModelsView>(c, o);
    decl::<InstalledModel>(c, o);
    decl::<CatalogModel>(c, o);
    decl::<PullMessage>(c, o);
    // Conversations.
    decl::<ConversationSummary>(c, o);
    decl::<Cursor>(c, o);
    decl::<ConversationPage>(c, o);
    decl::<crate::commands::conversations::Answerers>(c, o);
    decl::<MessageView>(c, o);
    decl::<AttachmentView>(c, o);
    decl::<AttachmentKind>(c, o);
    decl::<Attached>(c, o);
    decl::<StoredUsage>(c, o);
    decl::<Metrics>(c, o);
    decl::<SearchHit>(c, o);
    decl::<runnel_core::store::SearchFilter>(c, o);
    decl::<StoreProblem>(c, o);
    decl::<runnel_core::store::BackupInfo>(c, o);
    decl::<runnel_core::import::ImportReport>(c, o);
    decl::<runnel_core::import::NotImported>(c, o);
    decl::<runnel_core::import::Source>(c, o);
    decl::<runnel_core::store::BackupReason>(c, o);
    decl::<ExportFormat>(c, o);
    // Sending and streaming.
    decl::<SendKind>(c, o);
    decl::<Sent>(c, o);
    decl::<StreamMessage>(c, o);
    decl::<UiOp>(c, o);
    decl::<StreamEnd>(c, o);
    decl::<ToolCallView>(c, o);
    decl::<Usage>(c, o);
    // Compare.
    decl::<crate::commands::compare::CompareTarget>(c, o);
    decl::<crate::commands::compare::CompareMessage>(c, o);
    decl::<crate::commands::compare::CompareSent>(c, o);
    // Inspect.
    decl::<crate::commands::inspect::TraceView>(c, o);
    decl::<crate::commands::inspect::TraceFormat>(c, o);
    decl::<runnel_core::engine::trace::TraceLine>(c, o);
    // Usage and prices.
    decl::<runnel_core::service::UsageReport>(c, o);
    decl::<runnel_core::service::UsageLine>(c, o);
    decl::<runnel_core::config::prices::PriceEntry>(c, o);
    decl::<runnel_core::config::prices::PriceOrigin>(c, o);
    decl::<runnel_core::config::TraceSettings>(c, o);
    // Cost.
    decl::<runnel_core::types::cost::Cost>(c, o);
    decl::<runnel_core::types::cost::Price>(c, o);
    // Where the user was.
    decl::<ViewReply>(c, o);
    decl::<View>(c, o);
    decl::<ViewPatch>(c, o);
    decl::<Draft>(c, o);
    decl::<runnel_core::types::tool::ToolStep>(c, o);
    decl::<runnel_core::types::tool::ToolImage>(c, o);
    decl::<runnel_core::types::tool::PendingCall>(c, o);
    decl::<runnel_core::types::tool::Approval>(c, o);
    decl::<runnel_core::config::mcp::ToolSettings>(c, o);
    decl::<runnel_core::config::mcp::McpServer>(c, o);
    decl::<runnel_core::config::mcp::McpTransport>(c, o);
    decl::<runnel_core::service::mcp::McpServerStatus>(c, o);
    decl::<runnel_core::service::mcp::McpServerInput>(c, o);
    decl::<runnel_core::tools::mcp::ServerTool>(c, o);
    decl::<crate::commands::tools::ToolDecision>(c, o);
    decl::<crate::commands::tools::OfferedTool>(c, o);
    decl::<crate::commands::tools::ConversationTools>(c, o);
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
