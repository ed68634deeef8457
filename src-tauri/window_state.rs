//! Where the user was: the window's size, position and maximized state, the
//! sidebar, the open conversation and each conversation's unsent draft.
//!
//! This is the window's own state, kept with tauri-plugin-store in
//! `window-state.json` beside the conversations; it is not in core's settings
//! file because the `runnel` command shares that file and has no window. A
//! file that cannot be read as these types is moved aside, defaults are used,
//! and the window shows a notice ([`WindowState::notice`]).

use runnel_core::config::move_aside;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{Manager, PhysicalPosition, PhysicalSize, Runtime, WebviewWindow};
use tauri_plugin_store::Store;

/// The file, in the data directory.
pub const STATE_FILE: &str = "window-state.json";
/// Longest unsent draft kept, in bytes (a bigger one is refused, not cut).
pub const MAX_DRAFT_BYTES: usize = 1024 * 1024;
/// Most drafts kept; past it the oldest is dropped.
pub const MAX_DRAFTS: usize = 200;
/// Drafts, sizes and positions reach the disk at most this often.
pub const SAVE_EVERY: Duration = Duration::from_millis(400);
/// The smallest window restored (the window's own minimum).
pub const MIN_SIZE: (u32, u32) = (420, 360);
/// At least this much of a restored window must be on a monitor, each way.
pub const MIN_VISIBLE_PX: i32 = 120;
/// Longest conversation id kept (ids are UUIDs; this only bounds a bad caller).
const MAX_ID_LEN: usize = 128;

/// The file's keys: the geometry, the layout, and one key per draft (so a
/// keystroke rewrites one draft, not all of them).
const GEOMETRY_KEY: &str = "window";
const LAYOUT_KEY: &str = "view";
const DRAFT_PREFIX: &str = "draft:";

/// The window's normal (not maximized) size and position, in physical
/// pixels, and whether it was maximized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    pub x: i32,
    pub y: i32,
    pub maximized: bool,
}

/// An unsent message, and when it was last typed into (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub text: String,
    #[ts(type = "number")]
    pub updated: i64,
}

/// The view as the user left it, as the window reads it at start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct View {
    /// The sidebar's width in CSS pixels (the window clamps it).
    pub sidebar_width: Option<u32>,
    pub sidebar_collapsed: bool,
    /// The conversation that was open (none: a new chat).
    pub open_conversation: Option<String>,
    /// Unsent drafts by conversation id; `""` is the new chat's.
    pub drafts: BTreeMap<String, Draft>,
}

/// The sidebar and the open conversation, as the window reports them and as
/// they are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ViewPatch {
    pub sidebar_width: Option<u32>,
    pub sidebar_collapsed: bool,
    pub open_conversation: Option<String>,
}

/// What the window reads at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct ViewReply {
    pub view: View,
    /// Set when the state file was damaged and moved aside.
    pub notice: Option<String>,
}

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the draft is {0} bytes; drafts of up to {MAX_DRAFT_BYTES} bytes are kept")]
    DraftTooLong(usize),
    #[error("a conversation id of {0} bytes is not one")]
    BadId(usize),
    #[error("the window state could not be saved: {0}")]
    Save(String),
}

/// Reads the file as the types above; `Err` says what is wrong with it.
/// A missing file is fine (defaults).
fn check_file(path: &Path) -> Result<(), String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("it could not be read ({e})")),
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("it is not valid JSON ({e})"))?;
    let object = value
        .as_object()
        .ok_or_else(|| "it is not a JSON object".to_owned())?;
    for (key, v) in object {
        let read = if key == GEOMETRY_KEY {
            Geometry::deserialize(v).map(drop)
        } else if key == LAYOUT_KEY {
            ViewPatch::deserialize(v).map(drop)
        } else if let Some(id) = key.strip_prefix(DRAFT_PREFIX) {
            if id.len() > MAX_ID_LEN {
                return Err(format!("it has a draft for an id of {} bytes", id.len()));
            }
            Draft::deserialize(v).map(drop)
        } else {
            return Err(format!("it has an unknown entry \"{key}\""));
        };
        read.map_err(|e| format!("its \"{key}\" entry could not be read ({e})"))?;
    }
    Ok(())
}

/// The window's state, in managed state.
pub struct WindowState<R: Runtime> {
    store: Arc<Store<R>>,
    /// Said once to the window after a damaged file was moved aside.
    notice: Mutex<Option<String>>,
    /// When each kept draft was last typed into, by conversation id: which
    /// draft is the oldest without reading them.
    drafts: Mutex<BTreeMap<String, i64>>,
}

impl<R: Runtime> WindowState<R> {
    /// Opens `dir/window-state.json`; a damaged file is moved aside first.
    pub fn open(app: &impl Manager<R>, dir: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(STATE_FILE);
        let notice = match check_file(&path) {
            Ok(()) => None,
            Err(problem) => {
                let aside: PathBuf = move_aside(&path)?;
                tracing::warn!(path = %path.display(), aside = %aside.display(), %problem, "window state moved aside");
                Some(format!(
                    "The window's saved state could not be used: {problem}. It was moved to {} and the window opened with its defaults.",
                    aside.display()
                ))
            }
        };
        let store = tauri_plugin_store::StoreBuilder::new(app, path)
            .auto_save(SAVE_EVERY)
            .build()?;
        let drafts = Self::read_drafts(&store)
            .into_iter()
            .map(|(id, d)| (id, d.updated))
            .collect();
        Ok(Self {
            store,
            notice: Mutex::new(notice),
            drafts: Mutex::new(drafts),
        })
    }

    fn read_drafts(store: &Store<R>) -> BTreeMap<String, Draft> {
        store
            .entries()
            .into_iter()
            .filter_map(|(key, v)| {
                let id = key.strip_prefix(DRAFT_PREFIX)?.to_owned();
                serde_json::from_value(v).ok().map(|d| (id, d))
            })
            .collect()
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.store
            .get(key)
            .and_then(|v| serde_json::from_value(v).ok())
    }

    fn put<T: Serialize>(&self, key: &str, value: &T) {
        if let Ok(v) = serde_json::to_value(value) {
            self.store.set(key, v);
        }
    }

    /// The saved size and position, if any.
    pub fn geometry(&self) -> Option<Geometry> {
        self.get(GEOMETRY_KEY)
    }

    /// The view with every draft, and the damaged-file notice (once).
    pub fn view(&self) -> ViewReply {
        let notice = self.notice.lock().map(|mut n| n.take()).unwrap_or(None);
        let layout: ViewPatch = self.get(LAYOUT_KEY).unwrap_or_default();
        ViewReply {
            view: View {
                sidebar_width: layout.sidebar_width,
                sidebar_collapsed: layout.sidebar_collapsed,
                open_conversation: layout.open_conversation,
                drafts: Self::read_drafts(&self.store),
            },
            notice,
        }
    }

    /// Keeps the sidebar and the open conversation.
    pub fn set_view(&self, patch: ViewPatch) -> Result<(), StateError> {
        if let Some(id) = &patch.open_conversation {
            check_id(id)?;
        }
        self.put(LAYOUT_KEY, &patch);
        Ok(())
    }

    /// Keeps (or, when empty, forgets) a conversation's unsent draft.
    pub fn set_draft(
        &self,
        conversation: &str,
        text: String,
        now_ms: i64,
    ) -> Result<(), StateError> {
        check_id(conversation)?;
        if text.len() > MAX_DRAFT_BYTES {
            return Err(StateError::DraftTooLong(text.len()));
        }
        let mut kept = self
            .drafts
            .lock()
            .map_err(|_| StateError::Save("the drafts' index was poisoned".into()))?;
        let key = format!("{DRAFT_PREFIX}{conversation}");
        if text.is_empty() {
            kept.remove(conversation);
            self.store.delete(&key);
            return Ok(());
        }
        kept.insert(conversation.to_owned(), now_ms);
        self.put(
            &key,
            &Draft {
                text,
                updated: now_ms,
            },
        );
        for gone in trim_drafts(&mut kept) {
            self.store.delete(format!("{DRAFT_PREFIX}{gone}"));
        }
        Ok(())
    }

    /// Keeps the window's size and position as it is now. A maximized or
    /// minimized window keeps its last normal size and position.
    pub fn remember_window(&self, window: &WebviewWindow<R>) {
        let maximized = window.is_maximized().unwrap_or(false);
        if window.is_minimized().unwrap_or(false) {
            return;
        }
        let before = self.geometry();
        let mut g = before;
        if !maximized {
            if let (Ok(size), Ok(pos)) = (window.inner_size(), window.outer_position()) {
                g = Some(Geometry {
                    width: size.width,
                    height: size.height,
                    x: pos.x,
                    y: pos.y,
                    maximized: false,
                });
            }
        }
        if let Some(mut g) = g {
            g.maximized = maximized;
            if before != Some(g) {
                self.put(GEOMETRY_KEY, &g);
            }
        }
    }

    /// Writes the file now (at exit).
    pub fn save(&self) -> Result<(), StateError> {
        self.store
            .save()
            .map_err(|e| StateError::Save(e.to_string()))
    }
}

fn check_id(id: &str) -> Result<(), StateError> {
    if id.len() > MAX_ID_LEN {
        return Err(StateError::BadId(id.len()));
    }
    Ok(())
}

/// Drops the oldest drafts past [`MAX_DRAFTS`] from the index (id -> when
/// last typed into) and returns their ids.
fn trim_drafts(drafts: &mut BTreeMap<String, i64>) -> Vec<String> {
    let mut gone = Vec::new();
    while drafts.len() > MAX_DRAFTS {
        let oldest = drafts
            .iter()
            .min_by_key(|(_, updated)| **updated)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => {
                drafts.remove(&k);
                gone.push(k);
            }
            None => break,
        }
    }
    gone
}

/// A monitor's work area: position and size in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

/// Where to put a saved window on these monitors: the saved size (at least
/// the window's minimum, at most the largest monitor) at the saved place when
/// enough of it is on a monitor; otherwise `None` for the position (the window
/// is centered). No monitors known: the size alone.
pub fn clamp(g: Geometry, monitors: &[Area]) -> (PhysicalSize<u32>, Option<PhysicalPosition<i32>>) {
    let max_w = monitors.iter().map(|m| m.width).max().unwrap_or(u32::MAX);
    let max_h = monitors.iter().map(|m| m.height).max().unwrap_or(u32::MAX);
    let width = g.width.clamp(MIN_SIZE.0, max_w.max(MIN_SIZE.0));
    let height = g.height.clamp(MIN_SIZE.1, max_h.max(MIN_SIZE.1));
    let visible = monitors.iter().any(|m| {
        let overlap_w = (g.x.saturating_add(width as i32)).min(m.x.saturating_add(m.width as i32))
            - g.x.max(m.x);
        let overlap_h = (g.y.saturating_add(height as i32))
            .min(m.y.saturating_add(m.height as i32))
            - g.y.max(m.y);
        overlap_w >= MIN_VISIBLE_PX && overlap_h >= MIN_VISIBLE_PX
    });
    let position = visible.then_some(PhysicalPosition::new(g.x, g.y));
    (PhysicalSize::new(width, height), position)
}

/// Puts the window where it was: size and position (clamped onto a monitor),
/// then maximized if it was.
pub fn restore<R: Runtime>(window: &WebviewWindow<R>, g: Geometry) {
    let monitors: Vec<Area> = window
        .available_monitors()
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let area = m.work_area();
            Area {
                x: area.position.x,
                y: area.position.y,
                width: area.size.width,
                height: area.size.height,
            }
        })
        .collect();
    let (size, position) = clamp(g, &monitors);
    if let Err(e) = window.set_size(size) {
        tracing::warn!(error = %e, "could not restore the window size");
    }
    match position {
        Some(p) => {
            if let Err(e) = window.set_position(p) {
                tracing::warn!(error = %e, "could not restore the window position");
            }
        }
        None => {
            let _ = window.center();
        }
    }
    if g.maximized {
        let _ = window.maximize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(width: u32, height: u32, x: i32, y: i32) -> Geometry {
        Geometry {
            width,
            height,
            x,
            y,
            maximized: false,
        }
    }

    const FULL_HD: Area = Area {
        x: 0,
        y: 0,
        width: 1920,
        height: 1080,
    };

    #[test]
    fn a_window_on_the_monitor_keeps_its_size_and_place() {
        let (size, pos) = clamp(g(1000, 700, 100, 50), &[FULL_HD]);
        assert_eq!(size, PhysicalSize::new(1000, 700));
        assert_eq!(pos, Some(PhysicalPosition::new(100, 50)));
    }

    #[test]
    fn a_window_left_on_a_monitor_that_is_gone_is_centered() {
        // It was on a second monitor to the right.
        let (_, pos) = clamp(g(1000, 700, 2500, 100), &[FULL_HD]);
        assert_eq!(pos, None);
        // Only a sliver was visible.
        let (_, pos) = clamp(g(1000, 700, 1900, 100), &[FULL_HD]);
        assert_eq!(pos, None);
    }

    #[test]
    fn sizes_are_kept_between_the_minimum_and_the_largest_monitor() {
        let (size, _) = clamp(g(10, 10, 0, 0), &[FULL_HD]);
        assert_eq!(size, PhysicalSize::new(MIN_SIZE.0, MIN_SIZE.1));
        let (size, _) = clamp(g(9000, 9000, 0, 0), &[FULL_HD]);
        assert_eq!(size, PhysicalSize::new(1920, 1080));
        // No monitor known (a headless start): the size alone.
        let (size, pos) = clamp(g(800, 600, 5, 5), &[]);
        assert_eq!((size, pos), (PhysicalSize::new(800, 600), None));
    }

    #[test]
    fn extreme_positions_do_not_overflow() {
        let (_, pos) = clamp(g(u32::MAX, u32::MAX, i32::MAX, i32::MIN), &[FULL_HD]);
        assert_eq!(pos, None);
    }

    #[test]
    fn the_oldest_drafts_go_past_the_limit() {
        let mut drafts = BTreeMap::new();
        for i in 0..(MAX_DRAFTS as i64 + 3) {
            drafts.insert(format!("c{i}"), i);
        }
        assert_eq!(trim_drafts(&mut drafts), ["c0", "c1", "c2"]);
        assert_eq!(drafts.len(), MAX_DRAFTS);
        assert!(!drafts.contains_key("c0") && !drafts.contains_key("c2"));
        assert!(drafts.contains_key("c3"));
    }

    #[test]
    fn damaged_files_are_told_apart_from_good_ones() {
        let dir = std::env::temp_dir().join(format!("runnel-ws-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(STATE_FILE);
        assert_eq!(check_file(&path), Ok(()), "missing: defaults");
        for (bad, why) in [
            ("{not json", "not valid JSON"),
            ("[1, 2]", "not a JSON object"),
            (r#"{"window": {"width": -5}}"#, "\"window\" entry"),
            (r#"{"view": {"drafts": {}}}"#, "\"view\" entry"),
            (r#"{"view": {"surprise": true}}"#, "\"view\" entry"),
            (
                r#"{"draft:c1": {"text": 7, "updated": 1}}"#,
                "\"draft:c1\" entry",
            ),
            (r#"{"surprise": 1}"#, "unknown entry \"surprise\""),
        ] {
            std::fs::write(&path, bad).expect("write");
            let e = check_file(&path).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
        std::fs::write(
            &path,
            r#"{"window": {"width": 900, "height": 700, "x": 3, "y": 4, "maximized": true},
                "view": {"sidebar_width": 300, "sidebar_collapsed": false, "open_conversation": null},
                "draft:": {"text": "hi", "updated": 1}}"#,
        )
        .expect("write");
        assert_eq!(check_file(&path), Ok(()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
