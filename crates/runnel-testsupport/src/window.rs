//! Driving the real app window in tests: tauri-driver and WebKitWebDriver
//! start the debug binary under the display the test command provides
//! (Xvfb), with fresh XDG dirs; helpers find, click and wait for elements.

use crate::ports::free_port;
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tauri-driver (and the WebKitWebDriver it runs) serving one app run.
pub struct Driver {
    child: Child,
    /// tauri-driver's port.
    pub port: u16,
    /// The app's XDG dirs; taken out to inspect them after the app is gone.
    pub dirs: Option<tempdirs::TempDirs>,
}

/// Fresh XDG dirs for one app run.
pub mod tempdirs {
    use crate::temp::TempDir;

    /// Fresh XDG dirs (data, config, cache) for one app run, removed when
    /// dropped (the second field, held for that), even when the test panics.
    pub struct TempDirs(pub std::path::PathBuf, #[allow(dead_code)] TempDir);

    impl TempDirs {
        /// Makes `data`, `config` and `cache` under a new temp dir.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            let t = TempDir::new("e2e");
            for sub in ["data", "config", "cache"] {
                t.subdir(sub);
            }
            Self(t.path().to_path_buf(), t)
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SIGTERM lets tauri-driver stop WebKitWebDriver too (SIGKILL would orphan it).
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_on_path(bin: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// Whether this machine can run the window test; in CI it must.
pub fn can_run() -> bool {
    let display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let driver =
        find_on_path("tauri-driver").is_some() && find_on_path("WebKitWebDriver").is_some();
    if display && driver {
        return true;
    }
    crate::skip(if !display {
        "the window test: no display (run the README's test command, which starts Xvfb)"
    } else {
        "the window test: tauri-driver or WebKitWebDriver not on PATH"
    });
    false
}

/// Whether there is a display to open a window on; in CI there must be.
pub fn have_display(what: &str) -> bool {
    let display =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if !display {
        crate::skip(&format!("{what}: no display"));
    }
    display
}

/// The environment every app a test starts gets: its own XDG dirs under
/// `root` (`data`, `config`, `cache`; [`tempdirs::TempDirs`] makes them),
/// English, and none of the user's provider variables.
pub fn app_env<'a>(cmd: &'a mut Command, root: &std::path::Path) -> &'a mut Command {
    cmd.env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("RUNNEL_MODEL")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("RUNNEL_CONFIG_DIR")
        // English unless a test asks for another language (the window follows LANG).
        .env("LANGUAGE", "")
        .env("LC_ALL", "")
        .env("LC_MESSAGES", "")
        .env("LANG", "C.UTF-8")
        .env("XDG_DATA_HOME", root.join("data"))
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env("XDG_CACHE_HOME", root.join("cache"))
}

/// Starts tauri-driver for an app that talks to `base_url` with model `e2e-model`.
pub async fn start_driver(base_url: &str) -> Driver {
    start_driver_with(&[("OPENAI_BASE_URL", base_url), ("RUNNEL_MODEL", "e2e-model")]).await
}

/// Starts tauri-driver; the app it launches gets fresh XDG dirs, no OPENAI_*
/// variables except those in `env`, and `env`.
pub async fn start_driver_with(env: &[(&str, &str)]) -> Driver {
    let port = free_port();
    let native = free_port();
    let dirs = tempdirs::TempDirs::new();
    let mut cmd = Command::new("tauri-driver");
    cmd.args([
        "--port",
        &port.to_string(),
        "--native-port",
        &native.to_string(),
    ]);
    app_env(&mut cmd, &dirs.0)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("start tauri-driver");
    let driver = Driver {
        child,
        port,
        dirs: Some(dirs),
    };
    crate::ports::wait_listening(
        &[port, native],
        Duration::from_secs(30),
        "tauri-driver or its WebKitWebDriver",
    )
    .await;
    driver
}

/// A WebDriver session with the app, once its window finished starting.
pub async fn connect(driver: &Driver) -> Client {
    session(driver.port, Duration::from_secs(30)).await
}

/// Starts the app through tauri-driver on `port` as a user does, through
/// `runnel` (which runs the app's binary in its place, same process), and
/// waits up to `ready_within` for the window to finish starting (state
/// loaded, sidebar listed).
pub async fn session(port: u16, ready_within: Duration) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": crate::bin::workspace_bin("runnel") }),
    );
    let c = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session with the app");
    c.wait()
        .at_most(ready_within)
        .for_element(Locator::Css("body[data-ready=true]"))
        .await
        .expect("the window finished starting");
    c
}

/// The element matching `sel`, waiting up to 20 s for it.
pub async fn css(c: &Client, sel: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(sel))
        .await
        .unwrap_or_else(|e| panic!("{sel}: {e}"))
}

/// Scrolls the element to the middle of its scroller, then clicks it (a
/// sticky header must not intercept the click).
pub async fn click(c: &Client, sel: &str) {
    let e = css(c, sel).await;
    let arg = serde_json::to_value(&e).expect("element as JSON");
    c.execute("arguments[0].scrollIntoView({block: 'center'})", vec![arg])
        .await
        .expect("scroll");
    e.click()
        .await
        .unwrap_or_else(|err| panic!("click {sel}: {err}"));
}

/// Polls `f` until it returns Some, or fails after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `script` in the page and returns its value.
pub async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.expect("execute")
}

/// The text of the first element matching `sel`, trimmed (it must exist).
pub async fn text(c: &Client, sel: &str) -> String {
    let v = c
        .execute(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null",
            vec![serde_json::json!(sel)],
        )
        .await
        .expect("execute");
    match v {
        serde_json::Value::String(s) => s,
        _ => panic!("no element matches {sel}"),
    }
}

/// The text of the first element matching `sel`, or "" while none does
/// (for `eventually` on an element that a render has yet to make).
pub async fn text_or_empty(c: &Client, sel: &str) -> String {
    if count(c, sel).await == 0 {
        return String::new();
    }
    text(c, sel).await
}

/// How many elements match `sel`.
pub async fn count(c: &Client, sel: &str) -> u64 {
    c.execute(
        "return document.querySelectorAll(arguments[0]).length",
        vec![serde_json::json!(sel)],
    )
    .await
    .expect("execute")
    .as_u64()
    .expect("a count")
}

/// Waits up to 30 s until `script` returns true. A script that throws (an
/// element not there yet: the settings dialog is built when it first opens)
/// counts as not yet; the timeout names its last error.
pub async fn wait_for(c: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let error = match c.execute(script, vec![]).await {
            Ok(serde_json::Value::Bool(true)) => return,
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} {error}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits up to 30 s until exactly `n` elements match `sel`.
pub async fn wait_count(c: &Client, sel: &str, n: u64, what: &str) {
    let script = format!(
        "return document.querySelectorAll({}).length === {n}",
        serde_json::json!(sel)
    );
    wait_for(c, &script, what).await;
}

/// Types `text` in the composer and presses Enter.
pub async fn send_text(c: &Client, text: &str) {
    let composer = css(c, "[data-testid=composer]").await;
    composer.send_keys(text).await.expect("type");
    composer.send_keys("\u{E007}").await.expect("enter");
}

/// Opens the provider·model picker and picks `model` (typed in its filter, then Enter).
///
/// The trigger toggles the picker, so it is clicked only while the picker is
/// closed, and again if a click did not open it within 2 s. Under the full
/// suite's load the filter was once still hidden when typed into ("not
/// focusable"): the one click had not opened the picker.
pub async fn pick_model(c: &Client, model: &str) {
    const OPEN: &str =
        "const p = document.querySelector('[data-testid=picker]'); return !!p && !p.hidden";
    let deadline = Instant::now() + Duration::from_secs(30);
    while js(c, OPEN).await != serde_json::Value::Bool(true) {
        assert!(Instant::now() < deadline, "the model picker opens");
        click(c, "[data-testid=provider-select]").await;
        let opened = Instant::now() + Duration::from_secs(2);
        while js(c, OPEN).await != serde_json::Value::Bool(true) && Instant::now() < opened {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let filter = css(c, "[data-testid=model-select]").await;
    filter.send_keys(model).await.expect("type the model");
    filter.send_keys("\u{E007}").await.expect("enter");
    wait_for(
        c,
        "return document.querySelector('[data-testid=picker]').hidden",
        "the picker closed",
    )
    .await;
}

/// Opens the "⋯" menu and clicks the item `testid`.
pub async fn menu_item(c: &Client, testid: &str) {
    click(c, "[data-testid=more-menu]").await;
    click(c, &format!("[data-testid={testid}]")).await;
}

/// Pids of the app's processes (`runnel-window`) started with this driver's
/// data directory.
pub fn app_pids(driver: &Driver) -> Vec<u32> {
    let Some(dirs) = &driver.dirs else {
        return Vec::new();
    };
    let wanted = format!("XDG_DATA_HOME={}", dirs.0.join("data").display());
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if !comm.trim().starts_with("runnel-window") {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|v| v == wanted.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// Closes the session and starts the app again on the same data: waits for
/// the old app to be gone first (one instance per data directory: a second
/// one would hand over to it and exit).
pub async fn restart(driver: &Driver, c: Client) -> Client {
    c.close().await.expect("close the session");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !app_pids(driver).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the app did not exit after its session closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    connect(driver).await
}

/// Picks `value` in the `<select>` matching `sel`, found afresh on each try:
/// Settings re-renders its controls when the state it shows changes (a theme
/// saved a moment ago), which leaves an element found before it stale.
pub async fn select(c: &Client, sel: &str, value: &str) {
    eventually(10, &format!("{value} chosen in {sel}"), || async {
        let e = c.find(Locator::Css(sel)).await.ok()?;
        e.select_by_value(value).await.ok()
    })
    .await;
}

/// WebDriver key codes, for [`press`].
pub mod keys {
    /// Enter.
    pub const ENTER: &str = "\u{E007}";
    /// Escape.
    pub const ESC: &str = "\u{E00C}";
    /// Tab.
    pub const TAB: &str = "\u{E004}";
    /// Shift (held until [`NULL`]).
    pub const SHIFT: &str = "\u{E008}";
    /// Arrow down.
    pub const DOWN: &str = "\u{E015}";
    /// Arrow right.
    pub const RIGHT: &str = "\u{E014}";
    /// Control (held until [`NULL`]).
    pub const CTRL: &str = "\u{E009}";
    /// Releases the modifier keys held by a chord.
    pub const NULL: &str = "\u{E000}";
}

/// Presses `keys` (WebDriver key codes or text) on whatever has the focus.
pub async fn press(c: &Client, keys: &str) {
    let active = c.active_element().await.expect("the focused element");
    active.send_keys(keys).await.expect("keys");
}

/// The data-testid (or id) of the focused element.
pub async fn focused(c: &Client) -> String {
    js(
        c,
        "const e = document.activeElement; return e ? (e.dataset.testid || e.id || e.tagName) : ''",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}
