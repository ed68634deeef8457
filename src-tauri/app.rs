//! The window: WebKit's drawing mode, the app's managed state, navigation
//! kept inside the app, and the run loop.

use crate::commands::conversations::ChatState;
use crate::streams::StreamRegistry;
use crate::window_state::{self, WindowState};
use runnel_core::config::env::Env;
use runnel_core::config::{SettingsStore, APP_ID};
use runnel_core::keys::{OsKeychain, Secrets};
use runnel_core::service::{Appearance, Service};
use std::path::Path;
use std::sync::Arc;
use tauri::{Manager, WebviewUrl, WebviewWindowBuilder, WindowEvent};

/// The window's label.
const MAIN: &str = "main";
/// The window's size before it has a saved one.
const DEFAULT_SIZE: (f64, f64) = (1040.0, 780.0);

/// The page's global that holds its [`Appearance`] before its scripts run.
const BOOT_GLOBAL: &str = "__RUNNEL_BOOT__";

/// A script run before the page's own (an initialization script, outside the
/// page's CSP, as Tauri's own are): it hands the page the theme and language
/// to draw its first frame in, so that frame need not wait for the provider
/// state, which asks the keychain. The values are JSON, so a language
/// variable holding quotes or script stays a string. `None` if it cannot be
/// serialized (the page then starts in the web view's language and the
/// system theme, as before it had this, and the provider state corrects it).
fn boot_script(appearance: &Appearance) -> Option<String> {
    match serde_json::to_string(appearance) {
        Ok(json) => Some(format!("window.{BOOT_GLOBAL} = {json};")),
        Err(e) => {
            tracing::warn!(error = %e, "the window starts without its appearance");
            None
        }
    }
}

/// The single-instance name for a data directory: a second launch with the
/// same data focuses the open window and exits; other data directories
/// (profiles, parallel tests) get windows of their own. (The name is a D-Bus
/// name on Linux; elsewhere the plugin keeps one instance per user.)
fn instance_id(data_dir: &Path) -> String {
    // FNV-1a: stable across builds and Rust versions, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data_dir.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{APP_ID}.d{hash:016x}")
}

/// Shows the running window in front (a second launch asked for it).
fn bring_to_front<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Writes the window's state now (closing, exiting), if it was opened.
fn save_window_state<R: tauri::Runtime>(app: &impl Manager<R>) {
    if let Some(state) = app.try_state::<WindowState<R>>() {
        if let Err(e) = state.save() {
            tracing::warn!(error = %e, "window state not saved");
        }
    }
}

/// True for URLs that belong to the app's own pages.
fn is_app_url(url: &url::Url) -> bool {
    match url.scheme() {
        "tauri" => true,
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

/// Whether WebKitGTK should draw the page without GPU compositing: when the
/// user has not chosen (`user_chose`: `WEBKIT_DISABLE_COMPOSITING_MODE` is set
/// at all; `0` keeps compositing) and the machine has no GPU render node in `dri` (`/dev/dri`).
/// Without a GPU, compositing runs on Mesa's software GL (llvmpipe), which the
/// window benchmark measured at about 3x the start time, 1.4x the memory and
/// half the frame rate of WebKit's non-composited drawing.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn needs_software_drawing(user_chose: bool, dri: &std::path::Path) -> bool {
    if user_chose {
        return false;
    }
    let has_render_node = std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    !has_render_node
}

/// The render node WebKit is told about on a machine that has none: a path
/// that names no device, so WebKit finds no GPU (as its own probe would) and
/// opens nothing.
const NO_RENDER_NODE: &str = "/dev/dri/none";

/// What GTK and WebKitGTK are told when the window draws without a GPU
/// ([`needs_software_drawing`]), each only where the user has not set it:
/// no compositing; no DMA-BUF renderer (it only serves compositing); no GL in
/// GTK (which loads Mesa's GLX driver at start to pick visuals); and a render
/// node, so that WebKit does not open an EGL display in the app's own process
/// only to ask it for one. Mesa's software driver links LLVM, whose relocated
/// tables alone are 8 MB of private memory in every process that loads it:
/// the app's process no longer does (the web process still needs EGL).
/// Measured idle with the window open: the app's process 97 -> 69 MB PSS
/// (the three processes 243 -> 222 MB), and GTK's start 60 -> 14 ms.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn software_drawing_env(env: &Env) -> Vec<(&'static str, &'static str)> {
    // Set at all (even empty) is the user's choice: GTK and WebKit read it so.
    [
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
        ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
        ("GDK_GL", "disable"),
        ("WEBKIT_WEB_RENDER_DEVICE_FILE", NO_RENDER_NODE),
    ]
    .into_iter()
    .filter(|(name, _)| !env.is_set(name))
    .collect()
}

/// Entry point of the `runnel-window` binary: logs, then the window until
/// it closes; returns the process exit code.
pub fn main() -> i32 {
    // MCP servers' stderr is logged too (target runnel::mcp).
    runnel_cli::init_logging("warn,runnel::mcp=info");
    match run() {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "Runnel could not start");
            eprintln!("runnel: could not start the window: {e}");
            1
        }
    }
}

/// Runs the desktop app until its window closes.
pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    #[cfg(target_os = "linux")]
    if needs_software_drawing(
        Env::process().is_set("WEBKIT_DISABLE_COMPOSITING_MODE"),
        std::path::Path::new("/dev/dri"),
    ) {
        tracing::info!(
            "no GPU render node: WebKit draws without compositing or GL in this process"
        );
        for (name, value) in software_drawing_env(Env::process()) {
            // Only the main thread runs yet: nothing reads the environment concurrently.
            std::env::set_var(name, value);
        }
    }
    let secrets = Arc::new(Secrets::new(Arc::new(OsKeychain::new(APP_ID))));
    let service = Arc::new(Service::new(
        SettingsStore::default_location(),
        secrets,
        Env::process(),
    )?);
    tracing::info!(settings = %service.settings_path().display(), "starting Runnel");
    let boot = boot_script(&service.appearance());
    let streams = Arc::new(StreamRegistry::default());
    let streams_on_exit = streams.clone();
    let tools = Arc::new(crate::commands::tools::ToolState::default());
    let tools_on_exit = tools.clone();
    let data_dir = Env::process().data_dir();
    let app = tauri::Builder::default()
        // First: a second launch must exit before anything else starts.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(instance_id(&data_dir))
                .callback(|app, _args, _cwd| {
                    tracing::info!("second launch: the open window is brought to the front");
                    bring_to_front(app);
                })
                .build(),
        )
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .manage(service)
        .manage(ChatState::open())
        .manage(streams)
        .manage(tools)
        .manage(crate::commands::attach::Staged::default())
        .manage(crate::commands::attach::Thumbnails::default())
        .invoke_handler(crate::commands::handler())
        .setup(move |app| {
            let state = WindowState::open(app, &data_dir)?;
            // Hidden until it is where it was, so it does not jump.
            let mut builder =
                WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()));
            if let Some(script) = &boot {
                builder = builder.initialization_script(script);
            }
            let window = builder
                .title("Runnel")
                .inner_size(DEFAULT_SIZE.0, DEFAULT_SIZE.1)
                .min_inner_size(
                    f64::from(window_state::MIN_SIZE.0),
                    f64::from(window_state::MIN_SIZE.1),
                )
                .visible(false)
                // Dropped files reach the page (attachments.js reads them),
                // not Tauri's own drop events, which the window does not use.
                .disable_drag_drop_handler()
                .on_navigation(|url| {
                    let allowed = is_app_url(url);
                    if !allowed {
                        tracing::warn!(
                            scheme = url.scheme(),
                            "blocked navigation away from the app"
                        );
                    }
                    allowed
                })
                .build()?;
            if let Some(g) = state.geometry() {
                window_state::restore(&window, g);
            }
            window.show()?;
            app.manage(state);
            crate::commands::backup::start_maintenance(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| match event {
            WindowEvent::Resized(_) | WindowEvent::Moved(_) => {
                if let (Some(w), Some(state)) = (
                    window.get_webview_window(window.label()),
                    window.try_state::<WindowState<tauri::Wry>>(),
                ) {
                    state.remember_window(&w);
                }
            }
            WindowEvent::CloseRequested { .. } | WindowEvent::Destroyed => {
                save_window_state(window)
            }
            _ => {}
        })
        .build(tauri::generate_context!())?;
    app.run(move |handle, event| match event {
        tauri::RunEvent::ExitRequested { .. } => streams_on_exit.cancel_all(),
        tauri::RunEvent::Exit => {
            // No MCP server outlives the app.
            tools_on_exit.shutdown();
            save_window_state(handle)
        }
        _ => {}
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_drawing_only_without_a_gpu_and_without_a_user_choice() {
        let dir = std::env::temp_dir().join(format!("runnel-dri-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // No /dev/dri at all (a VM, a container, Xvfb on a server).
        assert!(needs_software_drawing(false, &dir));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("card0"), b"").expect("card");
        // A display card without a render node is still no GPU for WebKit.
        assert!(needs_software_drawing(false, &dir));
        std::fs::write(dir.join("renderD128"), b"").expect("node");
        assert!(!needs_software_drawing(false, &dir));
        // The user's setting wins either way.
        let _ = std::fs::remove_file(dir.join("renderD128"));
        assert!(!needs_software_drawing(true, &dir));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn software_drawing_sets_only_what_the_user_has_not() {
        let all = software_drawing_env(&Env::from_pairs([]));
        assert_eq!(all.len(), 4);
        assert!(all.contains(&("WEBKIT_WEB_RENDER_DEVICE_FILE", NO_RENDER_NODE)));
        assert!(!std::path::Path::new(NO_RENDER_NODE).exists());
        let some = software_drawing_env(&Env::from_pairs([
            ("GDK_GL", ""),
            ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/dri/renderD129"),
        ]));
        assert_eq!(
            some,
            vec![
                ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
                ("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            ]
        );
    }

    #[test]
    fn the_boot_script_hands_over_the_appearance_as_one_json_value() {
        use runnel_core::config::{Language, Theme};
        // A language variable is the user's environment: quotes, a script
        // end, a line separator stay inside the string.
        let hostile = "de\";alert(1)//\u{2028}</script>".to_owned();
        let appearance = Appearance {
            theme: Theme::Dark,
            language: Some(Language::German),
            system_languages: vec![hostile.clone(), "en_US.UTF-8".into()],
        };
        let script = boot_script(&appearance).expect("script");
        let json = script
            .strip_prefix(&format!("window.{BOOT_GLOBAL} = "))
            .and_then(|s| s.strip_suffix(';'))
            .expect("one assignment");
        let back: serde_json::Value = serde_json::from_str(json).expect("one JSON value");
        assert_eq!(back["theme"], "dark");
        assert_eq!(back["language"], "de");
        assert_eq!(back["system_languages"][0], hostile.as_str());
        assert_eq!(back.as_object().map(|o| o.len()), Some(3), "{back}");
    }

    #[test]
    fn only_app_urls_navigate() {
        let ok = |s: &str| is_app_url(&url::Url::parse(s).expect("url"));
        assert!(ok("tauri://localhost/index.html"));
        assert!(ok("http://tauri.localhost/"));
        assert!(!ok("https://example.com/"));
        assert!(!ok("file:///etc/passwd"));
    }
}
