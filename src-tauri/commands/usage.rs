//! Usage and prices (issue 16): the Usage view's report, the price table
//! and its edits, and whether answers keep their exchange.

use crate::commands::conversations::{with_store, ChatState};
use crate::error::IpcError;
use runnel_core::config::prices::PriceEntry;
use runnel_core::config::TraceSettings;
use runnel_core::service::{Service, UsageReport};
use runnel_core::types::cost::Price;
use std::sync::Arc;

/// Tokens and cost per day (at `utc_offset_minutes`), provider and model of
/// the answers started from `since_ms` on (ms since the epoch; None: all).
#[tauri::command]
pub(crate) async fn usage_report(
    service: tauri::State<'_, Arc<Service>>,
    chat: tauri::State<'_, ChatState>,
    since_ms: Option<i64>,
    utc_offset_minutes: i32,
) -> Result<UsageReport, IpcError> {
    let service = service.inner().clone();
    with_store(&chat, move |s| {
        service.usage(s, since_ms, None, utc_offset_minutes)
    })
    .await
}

/// The price table: the user's prices, then the built-in ones.
#[tauri::command]
pub(crate) fn price_list(service: tauri::State<'_, Arc<Service>>) -> Vec<PriceEntry> {
    service.prices()
}

/// Sets the user's price of `model`.
#[tauri::command]
pub(crate) fn set_price(
    service: tauri::State<'_, Arc<Service>>,
    model: String,
    price: Price,
) -> Result<(), IpcError> {
    service.set_price(&model, price).map_err(IpcError::from)
}

/// Removes the user's price of `model`.
#[tauri::command]
pub(crate) fn remove_price(
    service: tauri::State<'_, Arc<Service>>,
    model: String,
) -> Result<(), IpcError> {
    service.remove_price(&model).map_err(IpcError::from)
}

/// Turns keeping answers' exchanges on or off, and sets their cap.
#[tauri::command]
pub(crate) fn set_trace(
    service: tauri::State<'_, Arc<Service>>,
    trace: TraceSettings,
) -> Result<(), IpcError> {
    service.set_trace(trace).map_err(IpcError::from)
}
