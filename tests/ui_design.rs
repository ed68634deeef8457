//! The window's design in the real app (tauri-driver + WebKitWebDriver under
//! Xvfb): the one-row header, the provider·model picker, the "⋯" menu, the
//! sidebar (collapse, resize), Send and Stop in one place, themes, languages,
//! keyboard-only use, and axe-core (WCAG 2.2 AA) on the main views.
//!
//! Skipped with a notice when there is no display or no tauri-driver, except
//! under CI=true, where that fails.

use runnel_testsupport as common;

use common::window::keys::{CTRL, DOWN, ENTER, ESC, NULL, RIGHT, TAB};
use common::window::{
    can_run, click, connect, count, css, eventually, focused, js, pick_model, press as keys,
    restart, select, send_text, start_driver, start_driver_with, text, wait_count, wait_for,
    Driver,
};
use common::{chat_and_models, content_event, Reply, TestServer};
use fantoccini::{Client, Locator};
use std::time::Duration;

/// The window's size when it opens (src-tauri/app.rs).
const DEFAULT_SIZE: (u32, u32) = (1040, 780);
/// The narrowest width the header must stay one row at.
const ONE_ROW_FROM: u32 = 900;
/// The tallest the header may be.
const HEADER_MAX_PX: f64 = 64.0;

/// A markdown answer with a code block, a list and a table (for looks and axe).
fn rich_answer() -> Vec<u8> {
    let mut b = Vec::new();
    for part in [
        "Here is a **short** answer with `inline code`.\n\n",
        "```rust\nfn main() {\n    println!(\"hello\");\n}\n```\n\n",
        "- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    ] {
        b.extend(content_event(part));
    }
    b.extend(common::finish_events("stop", 12, 40));
    b
}

/// A loopback provider that answers every chat with `rich_answer`.
async fn rich_server() -> TestServer {
    TestServer::start(chat_and_models(&["e2e-model"], |_, _| {
        Reply::sse(rich_answer())
    }))
    .await
}

/// The app, talking to a `rich_server` (kept alive with it).
async fn app_with_rich_server() -> (TestServer, Driver, Client) {
    let server = rich_server().await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;
    (server, driver, c)
}

/// Waits until the conversation's first answer is done.
async fn first_answer_done(c: &Client) {
    wait_for(
        c,
        "const a = document.querySelector('[data-testid=message][data-role=assistant]'); return !!a && a.dataset.status === 'done'",
        "the answer",
    )
    .await;
}

async fn header_height(c: &Client) -> f64 {
    js(
        c,
        "return document.querySelector('.topbar').getBoundingClientRect().height",
    )
    .await
    .as_f64()
    .expect("header height")
}

/// Whether the element is on screen (not hidden, has a box).
async fn shown(c: &Client, sel: &str) -> bool {
    js(
        c,
        &format!(
            "const e = document.querySelector('{sel}'); return !!e && !e.hidden && e.getClientRects().length > 0"
        ),
    )
    .await
        == serde_json::Value::Bool(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_is_one_row_picker_menu_sidebar_and_send_stop_share_a_place() {
    if !can_run() {
        return;
    }
    // The first answer streams slowly enough to see Stop; the others answer at once.
    let server = TestServer::start(chat_and_models(&["e2e-model", "other-model"], |_, n| {
        if n == 0 {
            let mut pieces: Vec<_> = (0..100)
                .map(|i| (Duration::from_millis(100), content_event(&format!("w{i} "))))
                .collect();
            pieces.push((Duration::ZERO, common::finish_events("stop", 5, 100)));
            Reply::sse_pieces(pieces, common::End::Finish)
        } else {
            Reply::sse(rich_answer())
        }
    }))
    .await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;

    // Every icon is drawn: inline shapes, visible, no <use> left empty.
    let icons = js(
        &c,
        r#"const all = [...document.querySelectorAll('svg.i')];
        const empty = all.filter((s) => !s.querySelector('path, circle, rect, line, polyline')).length;
        const box = document.querySelector('[data-testid=clear] svg.i path').getBBox();
        return [all.length, empty, document.querySelectorAll('use').length, box.width > 4 && box.height > 4];"#,
    )
    .await;
    assert!(icons[0].as_u64() > Some(20), "icons on the page: {icons}");
    assert_eq!(icons[1], 0, "no empty icon: {icons}");
    assert_eq!(icons[2], 0, "no <use> references: {icons}");
    assert_eq!(
        icons[3], true,
        "the New chat icon has a visible shape: {icons}"
    );

    // One row, at the default size and at 900 px.
    for (w, h) in [DEFAULT_SIZE, (ONE_ROW_FROM, 700)] {
        c.set_window_size(w, h).await.expect("window size");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let height = header_height(&c).await;
        assert!(
            height <= HEADER_MAX_PX,
            "header is {height} px at {w} px wide"
        );
        // Every item inside the bar, side by side: none below or over another.
        let layout = js(&c, r#"const bar = document.querySelector('.topbar').getBoundingClientRect();
const kids = [...document.querySelector('.topbar').children]
  .filter(e => e.getClientRects().length && !e.matches('.spacer, .popover, .menu'))
  .map(e => e.getBoundingClientRect());
const bad = [];
kids.forEach((r, i) => {
  if (r.top < bar.top || r.bottom > bar.bottom || r.right > bar.right + 0.5) bad.push('item ' + i + ' outside the bar');
  if (i > 0 && r.left < kids[i - 1].right - 0.5) bad.push('item ' + i + ' overlaps the one before');
});
return bad;"#).await;
        assert_eq!(
            layout,
            serde_json::json!([]),
            "header items on one row at {w} px"
        );
    }
    c.set_window_size(DEFAULT_SIZE.0, DEFAULT_SIZE.1)
        .await
        .expect("window size");

    // Send and Stop share one place: one is shown at a time.
    assert!(shown(&c, "[data-testid=send]").await);
    assert!(!shown(&c, "[data-testid=cancel]").await);
    send_text(&c, "stream slowly").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=cancel]').getClientRects().length > 0",
        "Stop shown",
    )
    .await;
    assert!(
        !shown(&c, "[data-testid=send]").await,
        "Send hidden while streaming"
    );
    let stop_box = js(&c, "const r = document.querySelector('[data-testid=cancel]').getBoundingClientRect(); return [r.left, r.top]").await;
    click(&c, "[data-testid=cancel]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=send]').getClientRects().length > 0",
        "Send back",
    )
    .await;
    let send_pos = js(&c, "const r = document.querySelector('[data-testid=send]').getBoundingClientRect(); return [r.left, r.top]").await;
    assert_eq!(stop_box, send_pos, "Stop sits where Send sits");
    // A finished answer is announced once, in a sentence (not token by token).
    let said = text(&c, "[data-testid=announcer]").await;
    assert!(said.starts_with("Answer stopped after"), "{said}");

    // The picker: every provider with its models, a filter, the status dot.
    click(&c, "[data-testid=provider-select]").await;
    let models = eventually(20, "models listed", || async {
        let v = js(&c, "return [...document.querySelectorAll('[data-testid=picker-model]')].map(e => e.dataset.providerId + '/' + e.dataset.model)").await;
        let list: Vec<String> = serde_json::from_value(v).ok()?;
        list.iter().any(|m| m.ends_with("/other-model")).then_some(list)
    })
    .await;
    assert!(models.iter().any(|m| m == "env/e2e-model"), "{models:?}");
    let filter = css(&c, "[data-testid=model-select]").await;
    filter.send_keys("other").await.expect("filter");
    let filtered = js(&c, "return [...document.querySelectorAll('[data-testid=picker-model]')].map(e => e.dataset.model)").await;
    assert_eq!(filtered, serde_json::json!(["other-model"]));
    // Esc closes it and gives the focus back to its button.
    keys(&c, ESC).await;
    assert!(!shown(&c, "[data-testid=picker]").await);
    assert_eq!(focused(&c).await, "provider-select");
    // A typed id that no server lists can be used.
    pick_model(&c, "my-finetune").await;
    let line = css(&c, "[data-testid=provider-line]").await;
    assert!(line
        .text()
        .await
        .expect("provider line")
        .contains("my-finetune"));
    // The recently used model comes first next time.
    pick_model(&c, "other-model").await;
    click(&c, "[data-testid=provider-select]").await;
    let first = js(
        &c,
        "return document.querySelector('[data-testid=picker-model]').dataset.model",
    )
    .await;
    assert_eq!(first, serde_json::json!("other-model"));
    keys(&c, ESC).await;

    // The ⋯ menu: keyboard opens it on its first item, arrows move, Esc closes.
    let more = css(&c, "[data-testid=more-menu]").await;
    more.send_keys(ENTER).await.expect("open menu");
    assert!(shown(&c, "[data-testid=more-menu-items]").await);
    assert_eq!(focused(&c).await, "export-md");
    keys(&c, DOWN).await;
    assert_eq!(focused(&c).await, "export-json");
    keys(&c, ESC).await;
    assert!(!shown(&c, "[data-testid=more-menu-items]").await);
    assert_eq!(focused(&c).await, "more-menu");

    // The sidebar: Ctrl+B hides and shows it; its edge resizes it from the keyboard.
    keys(&c, &format!("{CTRL}b{NULL}")).await;
    assert!(
        !shown(&c, "[data-testid=sidebar]").await,
        "Ctrl+B hides the sidebar"
    );
    assert!(shown(&c, "[data-testid=sidebar-expand]").await);
    click(&c, "[data-testid=sidebar-expand]").await;
    assert!(shown(&c, "[data-testid=sidebar]").await);
    let width = || async {
        js(
            &c,
            "return document.querySelector('[data-testid=sidebar]').getBoundingClientRect().width",
        )
        .await
        .as_f64()
        .expect("width")
    };
    let before = width().await;
    let edge = css(&c, "[data-testid=sidebar-resizer]").await;
    edge.send_keys(&RIGHT.repeat(4)).await.expect("resize");
    let after = width().await;
    assert!(after > before + 40.0, "{before} -> {after}");
    click(&c, "[data-testid=sidebar-toggle]").await;
    assert!(!shown(&c, "[data-testid=sidebar]").await);
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn theme_and_language_switch_and_every_visible_string_is_from_the_catalog() {
    if !can_run() {
        return;
    }
    let server = rich_server().await;
    let base = server.base_url();
    // The system says German: the window starts in German.
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", base.as_str()),
        ("RUNNEL_MODEL", "e2e-model"),
        ("LANGUAGE", ""),
        ("LC_ALL", ""),
        ("LANG", "de_DE.UTF-8"),
    ])
    .await;
    let c = connect(&driver).await;
    wait_for(
        &c,
        "return document.documentElement.lang === 'de'",
        "lang=de",
    )
    .await;
    let settings = css(&c, "[data-testid=settings-open]").await;
    assert_eq!(settings.text().await.expect("text").trim(), "Einstellungen");
    send_text(&c, "Hallo").await;
    first_answer_done(&c).await;
    let metrics = css(&c, "[data-testid=metrics]").await;
    assert!(metrics.text().await.expect("metrics").contains("gesamt"));
    assert_all_text_from_catalog(&c, "de", "the chat").await;
    click(&c, "[data-testid=settings-open]").await;
    assert_all_text_from_catalog(&c, "de", "settings").await;

    // Switch to Chinese in Settings: the page follows at once, and it is kept.
    select(&c, "[data-testid=language-select]", "zh-CN").await;
    wait_for(
        &c,
        "return document.documentElement.lang === 'zh-CN'",
        "lang=zh-CN",
    )
    .await;
    assert_eq!(
        css(&c, "#settings-title")
            .await
            .text()
            .await
            .expect("title"),
        "设置"
    );
    assert_all_text_from_catalog(&c, "zh-CN", "settings in Chinese").await;

    // Themes: forced dark, forced light; the page's colours follow.
    let bg = || async {
        js(&c, "return getComputedStyle(document.body).backgroundColor")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    select(&c, "[data-testid=theme-select]", "dark").await;
    wait_for(
        &c,
        "return document.documentElement.dataset.theme === 'dark'",
        "dark",
    )
    .await;
    assert_eq!(bg().await, "rgb(21, 23, 27)");
    select(&c, "[data-testid=theme-select]", "light").await;
    wait_for(
        &c,
        "return document.documentElement.dataset.theme === 'light'",
        "light",
    )
    .await;
    assert_eq!(bg().await, "rgb(246, 247, 249)");

    // Both are kept over a restart (the settings file), and English comes back on request.
    select(&c, "[data-testid=language-select]", "en").await;
    wait_for(
        &c,
        "return document.documentElement.lang === 'en'",
        "lang=en",
    )
    .await;
    let mut driver = driver;
    let dirs = driver.dirs.take().expect("dirs");
    let settings_file = std::fs::read_to_string(dirs.0.join("config/dev.runnel.app/settings.json"))
        .expect("settings file");
    let saved: serde_json::Value = serde_json::from_str(&settings_file).expect("settings json");
    assert_eq!(saved["language"], "en");
    assert_eq!(saved["theme"], "light");
    driver.dirs = Some(dirs);

    // Restarted (the system still German): the very first frame is in the
    // saved language and theme, although the provider state (the keychain)
    // now comes after it; the app hands both over before the page's scripts.
    let c = restart(&driver, c).await;
    wait_for(
        &c,
        "return !!document.body.dataset.paintedIn",
        "the sidebar's first frame",
    )
    .await;
    assert_eq!(
        js(&c, "return document.body.dataset.paintedIn").await,
        "en light",
        "the first frame's language and theme"
    );
    c.close().await.expect("close");
}

/// Every visible piece of the window's own text (not user or model text,
/// provider or model names, paths or URLs) is a string of `lang`'s catalog
/// (a template's literal parts, when it has placeholders).
async fn assert_all_text_from_catalog(c: &Client, lang: &str, view: &str) {
    let stray = c
        .execute_async(
            &format!(
                r#"const done = arguments[arguments.length - 1];
import('./js/catalog.js').then(({{ CATALOG }}) => {{
  const values = Object.values(CATALOG['{lang}']);
  const esc = (s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/[{{}}]/g, (m) => '\\' + m);
  const patterns = values.map((v) => new RegExp('^' + esc(v).replace(/\\\{{\w+\\\}}/g, '[\\s\\S]*') + '$'));
  // Not the window's own words: user and model text, names, paths, URLs, numbers.
  const skip = '[data-testid=user-text], [data-testid=answer], [data-testid=reasoning], [data-testid=tool-call], '
    + '[data-testid=conversation-title], [data-testid=search-result], #picker-label, .picker-provider-name, '
    + '.model-name, #provider-base, #settings-path, #local-dir, .provider-row .title, .provider-row .meta, '
    + '[data-testid=onboarding-preset], [data-testid=provider-kind-select] option:not([value^=custom]), '
    + '#chat-title, .date, [data-testid=error], [data-testid=language-select], .sep, .backend-text, '
    + '[data-testid=price-row] td:first-child, [data-testid=usage-row] td:first-child';
  const stray = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {{
    const text = n.data.trim();
    const e = n.parentElement;
    if (!text || !e || e.closest(skip) || !e.getClientRects().length) continue;
    if (e.closest('[hidden]') || getComputedStyle(e).visibility === 'hidden') continue;
    if (/^[\d\s.,:·/~%()-]+$/.test(text)) continue;
    // A line of parts (the metrics) is checked part by part.
    const known = (s) => patterns.some((p) => p.test(s));
    if (!known(text) && !known((e.textContent || '').trim()) && !text.split(' · ').every(known)) stray.push(text);
  }}
  for (const e of document.querySelectorAll('[title], [placeholder], [aria-label]')) {{
    if (e.closest(skip) || !e.getClientRects().length) continue;
    for (const at of ['title', 'placeholder', 'aria-label']) {{
      const v = e.getAttribute(at);
      // Numbers and technical examples (URLs, host lists) are not language.
      const technical = /^[\d\s.,:·/~%()-]+$/.test(v) || /^[\w.:/[\]-]+(,\s*[\w.:/[\]-]+)*$/.test(v) && /[:.]/.test(v);
      if (v && !technical && !patterns.some((p) => p.test(v)) && !e.closest('.picker-group')) stray.push(at + ': ' + v);
    }}
  }}
  done(stray);
}}, (e) => done(['import failed: ' + e]));"#
            ),
            vec![],
        )
        .await
        .expect("catalog check");
    assert_eq!(stray, serde_json::json!([]), "{view} in {lang}");
}

/// Runs axe-core (from node_modules, installed by the test command's `npm ci`)
/// in the page and returns the serious and critical violations.
async fn axe(c: &Client, view: &str) -> Vec<String> {
    let root = common::fixtures::workspace_root();
    let source = std::fs::read_to_string(root.join("node_modules/axe-core/axe.min.js"))
        .unwrap_or_else(|e| {
            panic!(
                "node_modules/axe-core/axe.min.js: {e} (the test command's `npm ci` installs it)"
            )
        });
    if js(c, "return typeof window.axe").await != serde_json::json!("object") {
        c.execute(&source, vec![]).await.expect("inject axe-core");
    }
    let result = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } })
  .then((r) => done(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\s+/g, ' ')).join(' | '))))
  .catch((e) => done(['axe failed: ' + e]));"#,
            vec![],
        )
        .await
        .expect("axe.run");
    let found: Vec<String> = serde_json::from_value(result).expect("violations");
    found.into_iter().map(|v| format!("{view}: {v}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_serious_or_critical_violation_on_the_main_views_in_both_themes() {
    if !can_run() {
        return;
    }
    let server = rich_server().await;
    let mut found = Vec::new();

    // Onboarding: a first start with nothing usable (a remote provider without a key).
    {
        let driver = start_driver_with(&[]).await;
        let c = connect(&driver).await;
        wait_for(
            &c,
            "return !document.querySelector('[data-testid=onboarding]').hidden",
            "onboarding",
        )
        .await;
        found.extend(axe(&c, "onboarding").await);
        c.close().await.expect("close");
    }

    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;
    send_text(&c, "Show me some markdown").await;
    first_answer_done(&c).await;
    for theme in ["light", "dark"] {
        js(
            &c,
            &format!("document.documentElement.dataset.theme = '{theme}'; return true"),
        )
        .await;
        // Colours ease for 120 ms: measure them settled.
        tokio::time::sleep(Duration::from_millis(400)).await;
        found.extend(axe(&c, &format!("chat ({theme})")).await);
        // Search results.
        let search = css(&c, "[data-testid=search]").await;
        search.clear().await.expect("clear");
        search.send_keys("markdown").await.expect("search");
        css(&c, "[data-testid=search-result]").await;
        found.extend(axe(&c, &format!("search ({theme})")).await);
        search.send_keys(ESC).await.expect("clear search");
        // The picker and the menu open.
        click(&c, "[data-testid=provider-select]").await;
        found.extend(axe(&c, &format!("picker ({theme})")).await);
        keys(&c, ESC).await;
        // Settings, with the provider editor open.
        click(&c, "[data-testid=settings-open]").await;
        click(&c, "[data-testid=provider-add]").await;
        found.extend(axe(&c, &format!("settings ({theme})")).await);
        click(&c, "[data-testid=settings-close]").await;
    }
    assert!(found.is_empty(), "axe-core:\n{}", found.join("\n"));
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_alone_sends_searches_picks_a_model_and_starts_a_new_chat() {
    if !can_run() {
        return;
    }
    let server = TestServer::start(chat_and_models(&["e2e-model", "kbd-model"], |_, _| {
        Reply::sse(rich_answer())
    }))
    .await;
    let driver = start_driver(&server.base_url()).await;
    let c = connect(&driver).await;

    // The composer has the focus at start: type and Enter sends.
    assert_eq!(focused(&c).await, "composer");
    keys(&c, "keyboard only please").await;
    keys(&c, ENTER).await;
    first_answer_done(&c).await;

    // Tab reaches the answer's actions (they show on focus).
    let mut reached = false;
    for _ in 0..40 {
        keys(&c, TAB).await;
        if focused(&c).await == "copy" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches a message's Copy button");
    // A focused action is visible (its colour fades in over 120 ms).
    wait_for(
        &c,
        "return getComputedStyle(document.activeElement).color !== 'rgba(0, 0, 0, 0)'",
        "a focused action is visible",
    )
    .await;

    // The picker from the keyboard: open, filter, arrow, Enter.
    css(&c, "[data-testid=provider-select]")
        .await
        .send_keys(ENTER)
        .await
        .expect("open picker");
    assert_eq!(focused(&c).await, "model-select");
    keys(&c, "kbd").await;
    // The server's list has arrived (until then only the typed id is offered).
    css(
        &c,
        "[data-testid=picker-model][data-model=kbd-model].active",
    )
    .await;
    keys(&c, ENTER).await;
    assert_eq!(
        focused(&c).await,
        "provider-select",
        "focus returns to the picker button"
    );
    let line = css(&c, "[data-testid=provider-line]").await;
    assert!(line.text().await.expect("line").contains("kbd-model"));

    // Ctrl+K searches, Enter opens the hit.
    keys(&c, &format!("{CTRL}k{NULL}")).await;
    assert_eq!(focused(&c).await, "search");
    keys(&c, "keyboard").await;
    css(&c, "[data-testid=search-result]").await;
    keys(&c, ENTER).await;
    wait_count(&c, "[data-testid=message]", 2, "the hit opened").await;

    // Ctrl+N starts a new chat with the composer focused.
    keys(&c, &format!("{CTRL}n{NULL}")).await;
    wait_count(&c, "[data-testid=message]", 0, "new chat").await;
    assert_eq!(focused(&c).await, "composer");

    // Settings: Esc closes the dialog and the focus goes back.
    css(&c, "[data-testid=settings-open]")
        .await
        .send_keys(ENTER)
        .await
        .expect("open settings");
    wait_for(
        &c,
        "return document.getElementById('settings').open",
        "settings open",
    )
    .await;
    keys(&c, ESC).await;
    wait_for(
        &c,
        "return !document.getElementById('settings').open",
        "settings closed",
    )
    .await;
    assert_eq!(focused(&c).await, "settings-open");
    c.close().await.expect("close");
}

/// Not a check: writes the README's screenshots (light and dark) of the
/// current window to `RUNNEL_SCREENSHOT_DIR`. Run by scripts/screenshots.sh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a tool: scripts/screenshots.sh runs it"]
async fn readme_screenshots() {
    let dir = std::path::PathBuf::from(
        std::env::var("RUNNEL_SCREENSHOT_DIR").expect("RUNNEL_SCREENSHOT_DIR"),
    );
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let server = TestServer::start(chat_and_models(&["gpt-4o-mini", "llama3.2"], |_, n| {
        Reply::sse(if n == 1 {
            rich_answer()
        } else {
            let mut b = content_event(
                "Runnel keeps every conversation on this machine, searchable and exportable.",
            );
            b.extend(common::finish_events("stop", 9, 14));
            b
        })
    }))
    .await;
    let base = server.base_url();
    let driver = start_driver_with(&[
        ("OPENAI_BASE_URL", base.as_str()),
        ("RUNNEL_MODEL", "gpt-4o-mini"),
    ])
    .await;
    let c = connect(&driver).await;
    click(&c, "[data-testid=env-dismiss]").await;
    send_text(&c, "Where are my chats kept?").await;
    wait_for(&c, "return [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].every(a => a.dataset.status === 'done')", "answer").await;
    css(&c, "[data-testid=clear]")
        .await
        .click()
        .await
        .expect("new chat");
    send_text(&c, "Show me a Rust hello world, briefly.").await;
    wait_for(&c, "const a = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')]; return a.length === 1 && a[0].dataset.status === 'done'", "answer").await;
    for theme in ["light", "dark"] {
        js(
            &c,
            &format!("document.documentElement.dataset.theme = '{theme}'; return true"),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("window-{theme}.png")), png).expect("write png");
    }
    click(&c, "[data-testid=provider-select]").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    std::fs::write(
        dir.join("picker.png"),
        c.screenshot().await.expect("screenshot"),
    )
    .expect("write png");
    let _ = c.find(Locator::Css("body")).await;
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_edit_timeouts_reset_them_and_send_through_a_proxy_with_a_keychain_password() {
    if !can_run() {
        return;
    }
    const PASSWORD: &str = "pw-window-proxy-5150";
    // The provider itself never answers: only the proxy does.
    let provider = TestServer::start(chat_and_models(&["e2e-model"], |_, _| {
        Reply::text(500, "the provider was reached directly")
    }))
    .await;
    let proxy = TestServer::start(chat_and_models(&["e2e-model"], |_, _| {
        let mut b = content_event("via the proxy");
        b.extend(common::finish_events("stop", 3, 3));
        Reply::sse(b)
    }))
    .await;
    let proxy_origin = proxy.base_url().trim_end_matches("/v1").to_owned();
    let driver = start_driver(&provider.base_url()).await;
    let c = connect(&driver).await;
    let settings_file = || {
        let dirs = driver.dirs.as_ref().expect("dirs");
        let text = std::fs::read_to_string(dirs.0.join("config/dev.runnel.app/settings.json"))
            .expect("settings file");
        serde_json::from_str::<serde_json::Value>(&text).expect("settings json")
    };
    click(&c, "[data-testid=settings-open]").await;

    // Timeouts and retries: each shows its default; Save writes them.
    let hint = css(&c, "#net-connect-default").await;
    assert_eq!(hint.text().await.expect("hint"), "Default: 10 s");
    let connect_field = css(&c, "[data-testid=net-connect]").await;
    connect_field.clear().await.expect("clear");
    connect_field.send_keys("2.5").await.expect("type");
    let retries = css(&c, "[data-testid=net-retries]").await;
    retries.clear().await.expect("clear");
    retries.send_keys("4").await.expect("type");
    click(&c, "[data-testid=network-save]").await;
    wait_for(&c, "return document.querySelector('[data-testid=network-result]').textContent.startsWith('Saved')", "saved").await;
    let saved = settings_file();
    assert_eq!(saved["timeouts"]["connect_ms"], 2500);
    assert_eq!(saved["retries"]["max_retries"], 4);
    // A bad value is refused in place, naming the field.
    retries.clear().await.expect("clear");
    retries.send_keys("-1").await.expect("type");
    click(&c, "[data-testid=network-save]").await;
    let err = css(&c, "[data-testid=network-error]").await;
    assert!(err.text().await.expect("error").starts_with("Retries"));
    // Reset: the defaults, saved. The form shows them at once and the file is
    // written after, so wait for "Saved" (the refused value above cleared it).
    click(&c, "[data-testid=network-reset]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=net-connect]').value === '10' \
         && document.querySelector('[data-testid=network-result]').textContent.startsWith('Saved')",
        "defaults shown and saved",
    )
    .await;
    let reset = settings_file();
    assert_eq!(reset["timeouts"]["connect_ms"], 10000);
    assert_eq!(reset["retries"]["max_retries"], 2);

    // The proxy: custom, with a user whose password goes to the keychain.
    css(&c, "[data-testid=proxy-mode]")
        .await
        .select_by_value("custom")
        .await
        .expect("custom proxy");
    css(&c, "[data-testid=proxy-url]")
        .await
        .send_keys(&proxy_origin)
        .await
        .expect("url");
    css(&c, "[data-testid=proxy-user]")
        .await
        .send_keys("dora")
        .await
        .expect("user");
    css(&c, "[data-testid=proxy-password]")
        .await
        .send_keys(PASSWORD)
        .await
        .expect("password");
    click(&c, "[data-testid=network-save]").await;
    wait_for(&c, "return document.querySelector('[data-testid=proxy-password-status]').textContent === 'a password is in the keychain'", "password saved").await;
    let with_proxy = settings_file();
    assert_eq!(with_proxy["proxy"]["mode"], "custom");
    assert_eq!(with_proxy["proxy"]["username"], "dora");
    assert!(!with_proxy.to_string().contains(PASSWORD));
    assert_eq!(
        js(
            &c,
            "return document.querySelector('[data-testid=proxy-password]').value"
        )
        .await,
        serde_json::json!("")
    );
    click(&c, "[data-testid=settings-close]").await;

    // The next answer comes through the proxy, with the password from the keychain.
    send_text(&c, "through the proxy please").await;
    wait_for(&c, "const a = document.querySelector('[data-testid=message][data-role=assistant]'); return !!a && a.dataset.status !== 'streaming'", "answer").await;
    let answer = text(&c, "[data-testid=answer]").await;
    assert_eq!(answer, serde_json::json!("via the proxy"));
    let via = proxy.chat_requests();
    assert_eq!(via.len(), 1);
    assert!(
        via[0].path.starts_with("http://127.0.0.1:")
            && via[0].path.ends_with("/v1/chat/completions"),
        "{}",
        via[0].path
    );
    // "dora:pw-window-proxy-5150" in Basic auth.
    assert_eq!(
        via[0].header("proxy-authorization"),
        Some("Basic ZG9yYTpwdy13aW5kb3ctcHJveHktNTE1MA==")
    );
    assert!(
        provider.chat_requests().is_empty(),
        "the provider was reached directly"
    );
    let page = c.source().await.expect("page source");
    assert!(
        !page.contains(PASSWORD),
        "the page holds the proxy password"
    );
    c.close().await.expect("close");
}

/// The port the Ollama preset expects (config::presets).
const OLLAMA_PORT: u16 = 11434;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_preselects_a_local_server_only_when_it_answers_and_banners_say_what_they_do() {
    if !can_run() {
        return;
    }
    // Nothing listens on a local server's port: nothing is preselected.
    {
        let driver = start_driver_with(&[]).await;
        let c = connect(&driver).await;
        wait_for(
            &c,
            "return !document.querySelector('[data-testid=onboarding]').hidden",
            "onboarding",
        )
        .await;
        // The probes of the local presets have had their answer (connection refused).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let preset = css(&c, "[data-testid=onboarding-preset]").await;
        assert_eq!(
            preset.prop("value").await.expect("value"),
            Some(String::new())
        );
        // Start without choosing says so.
        click(&c, "[data-testid=onboarding-start]").await;
        let err = css(&c, "[data-testid=onboarding-error]").await;
        assert_eq!(err.text().await.expect("error"), "Choose a provider first.");
        c.close().await.expect("close");
    }
    let Some(ollama) = TestServer::start_on(
        OLLAMA_PORT,
        chat_and_models(&["llama3.2"], |_, _| Reply::sse(rich_answer())),
    )
    .await
    else {
        common::skip(&format!(
            "the local-server preselection test: port {OLLAMA_PORT} is taken"
        ));
        return;
    };
    let driver = start_driver_with(&[]).await;
    let c = connect(&driver).await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=onboarding-preset]').value === 'ollama'",
        "Ollama preselected once it answers",
    )
    .await;
    let hint = text(&c, "#onboarding-hint").await;
    assert!(hint.contains("no key needed"), "{hint}");
    click(&c, "[data-testid=onboarding-start]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=onboarding]').hidden",
        "onboarding done",
    )
    .await;
    send_text(&c, "hello local").await;
    first_answer_done(&c).await;
    assert_eq!(ollama.chat_requests().len(), 1);
    c.close().await.expect("close");
    drop(driver);

    // OPENAI_BASE_URL alone (no key): the banner offers to save a provider, not a key.
    let driver = start_driver_with(&[("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")]).await;
    let c = connect(&driver).await;
    let banner = css(&c, "[data-testid=env-import-banner]").await;
    let said = text(&c, "#env-banner-text").await;
    assert!(said.contains("Save it as a provider?"), "{said}");
    let button = text(&c, "[data-testid=env-import]").await;
    assert_eq!(button, serde_json::json!("Save as a provider"));
    // One line: the banner is no taller than one line of its text and its buttons.
    let height = js(&c, "return document.querySelector('[data-testid=env-import-banner]').getBoundingClientRect().height").await;
    assert!(
        height.as_f64().is_some_and(|h| h <= 48.0),
        "banner is {height} px"
    );
    click(&c, "[data-testid=env-dismiss]").await;
    assert!(!banner.is_displayed().await.expect("displayed"));
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_system_prompts_are_edited_in_settings_and_used_from_the_chat() {
    if !can_run() {
        return;
    }
    let (server, driver, c) = app_with_rich_server().await;
    click(&c, "[data-testid=settings-open]").await;
    click(&c, "[data-testid=prompt-add]").await;
    keys(&c, "Pirate").await;
    css(&c, "[data-testid=prompt-text]")
        .await
        .send_keys("Answer like a pirate.")
        .await
        .expect("text");
    // Two with one name are refused, naming it.
    click(&c, "[data-testid=prompt-add]").await;
    keys(&c, "pirate").await;
    click(&c, "[data-testid=prompts-save]").await;
    let err = css(&c, "[data-testid=prompts-error]").await;
    let said = eventually(10, "duplicate refused", || async {
        let t = err.text().await.ok()?;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert!(said.contains("pirate"), "{said}");
    let rows = c
        .find_all(Locator::Css("[data-testid=prompt-delete]"))
        .await
        .expect("rows");
    rows[1].click().await.expect("delete the second");
    click(&c, "[data-testid=prompts-save]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=prompts-result]').textContent === 'Saved.'",
        "saved",
    )
    .await;
    let dirs = driver.dirs.as_ref().expect("dirs");
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dirs.0.join("config/dev.runnel.app/settings.json"))
            .expect("settings"),
    )
    .expect("json");
    assert_eq!(
        file["system_prompts"],
        serde_json::json!([{"name": "Pirate", "text": "Answer like a pirate."}])
    );
    click(&c, "[data-testid=settings-close]").await;

    // In a chat: the system prompt box offers it.
    js(
        &c,
        "document.getElementById('system-box').open = true; return true",
    )
    .await;
    css(&c, "[data-testid=system-preset]")
        .await
        .select_by_label("Pirate")
        .await
        .expect("pick the prompt");
    let text = js(
        &c,
        "return document.querySelector('[data-testid=system-prompt]').value",
    )
    .await;
    assert_eq!(text, serde_json::json!("Answer like a pirate."));
    send_text(&c, "Ahoy?").await;
    first_answer_done(&c).await;
    let sent = server.chat_requests()[0].json();
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][0]["content"], "Answer like a pirate.");
    c.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_title_is_renamed_in_place_and_the_composer_grows_to_its_limit() {
    if !can_run() {
        return;
    }
    let (_server, _driver, c) = app_with_rich_server().await;
    // A new chat has no title to rename yet.
    let title = css(&c, "[data-testid=chat-title]").await;
    // (Read as text content: WebKitWebDriver reads a clipped, ellipsized box as empty.)
    let title_text = || async { text(&c, "[data-testid=chat-title]").await };
    assert_eq!(title_text().await, serde_json::json!("New chat"));
    assert!(!title.is_enabled().await.expect("enabled"));

    // The composer grows with its text, up to 40% of the window, then scrolls.
    let height = || async {
        js(
            &c,
            "return document.querySelector('[data-testid=composer]').getBoundingClientRect().height",
        )
        .await
        .as_f64()
        .expect("height")
    };
    let one_line = height().await;
    // (Lines are set as typing would, with an input event: WebKitWebDriver
    // sends Shift+Enter as a plain Enter, which sends.)
    let type_lines = |n: usize| {
        format!(
            "const e = document.querySelector('[data-testid=composer]'); e.value = 'line\\n'.repeat({n}); e.dispatchEvent(new Event('input')); return true"
        )
    };
    js(&c, &type_lines(4)).await;
    let four_lines = height().await;
    assert!(four_lines > one_line * 2.0, "{one_line} -> {four_lines}");
    js(&c, &type_lines(200)).await;
    let many = height().await;
    let window = js(&c, "return window.innerHeight")
        .await
        .as_f64()
        .expect("h");
    assert!(many <= window * 0.4 + 1.0, "{many} of {window}");
    assert!(many > four_lines, "{four_lines} -> {many}");
    let composer = css(&c, "[data-testid=composer]").await;
    composer.clear().await.expect("clear");
    send_text(&c, "Name me").await;
    first_answer_done(&c).await;

    // Click the title, type, Enter: renamed in the header and the sidebar.
    wait_for(
        &c,
        "return !document.querySelector('[data-testid=chat-title]').disabled",
        "a stored chat",
    )
    .await;
    click(&c, "[data-testid=chat-title]").await;
    // The field has the focus with the old title selected: typing replaces it.
    assert_eq!(focused(&c).await, "chat-title-input");
    keys(&c, "Renamed in place").await;
    keys(&c, ENTER).await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=conversation-item][aria-current=true] [data-testid=conversation-title]').textContent === 'Renamed in place'",
        "the sidebar shows the new title",
    )
    .await;
    assert_eq!(title_text().await, serde_json::json!("Renamed in place"));
    assert_eq!(
        focused(&c).await,
        "chat-title",
        "the focus goes back to the title"
    );
    // Esc cancels a rename.
    click(&c, "[data-testid=chat-title]").await;
    keys(&c, "Not this").await;
    keys(&c, ESC).await;
    assert_eq!(title_text().await, serde_json::json!("Renamed in place"));
    c.close().await.expect("close");
}

/// The sidebar's title of the one conversation (as text content).
async fn sidebar_title(c: &Client) -> serde_json::Value {
    js(
        c,
        "const t = document.querySelector('[data-testid=conversation-title]'); return t ? t.textContent : null",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_and_delete_through_the_in_app_dialogs_by_keyboard() {
    if !can_run() {
        return;
    }
    let (_server, _driver, c) = app_with_rich_server().await;
    send_text(&c, "hello").await;
    first_answer_done(&c).await;
    wait_count(
        &c,
        "[data-testid=conversation-item]",
        1,
        "the conversation in the sidebar",
    )
    .await;
    let before = sidebar_title(&c).await;
    let dialog_open = "return document.querySelector('[data-testid=dialog]').open";

    // An item's action icons are drawn when it is first hovered or focused,
    // not for every item listed.
    let drawn = "return document.querySelectorAll('[data-testid=conversation-item] .item-actions svg.i path').length";
    assert_eq!(js(&c, drawn).await, 0, "drawn before the item was focused");

    // Rename: Enter on the item's rename button opens the dialog with the
    // title selected in its field; Esc cancels and the focus comes back.
    js(
        &c,
        "document.querySelector('[data-testid=conversation-rename]').focus(); return true",
    )
    .await;
    let shapes = js(&c, drawn).await;
    assert!(
        shapes.as_u64() >= Some(3),
        "focus drew the item's icons: {shapes}"
    );
    keys(&c, ENTER).await;
    wait_for(&c, dialog_open, "the rename dialog").await;
    assert_eq!(focused(&c).await, "dialog-input");
    assert_eq!(js(&c, "return document.activeElement.value").await, before);
    // The focus stays inside the dialog (the page behind it is inert).
    for _ in 0..4 {
        keys(&c, TAB).await;
        let inside = js(
            &c,
            "return !!document.activeElement.closest('[data-testid=dialog]')",
        )
        .await;
        assert_eq!(
            inside,
            true,
            "Tab left the dialog for {}",
            focused(&c).await
        );
    }
    keys(&c, ESC).await;
    wait_for(&c, &format!("{dialog_open} === false"), "closed by Esc").await;
    assert_eq!(focused(&c).await, "conversation-rename");
    assert_eq!(sidebar_title(&c).await, before);

    // Again, type a name and press Enter: renamed, the focus back.
    keys(&c, ENTER).await;
    wait_for(&c, dialog_open, "the rename dialog").await;
    keys(&c, "Trip plans").await;
    keys(&c, ENTER).await;
    wait_for(
        &c,
        "const t = document.querySelector('[data-testid=conversation-title]'); return !!t && t.textContent === 'Trip plans'",
        "the new name in the sidebar",
    )
    .await;
    assert_eq!(js(&c, dialog_open).await, false);
    let header = text(&c, "[data-testid=chat-title]").await;
    assert_eq!(header, "Trip plans");

    // Delete: the confirmation names the chat; Esc keeps it.
    js(
        &c,
        "document.querySelector('[data-testid=conversation-delete]').focus(); return true",
    )
    .await;
    keys(&c, ENTER).await;
    wait_for(&c, dialog_open, "the delete confirmation").await;
    let asked = text(&c, "[data-testid=dialog-title]").await;
    assert!(asked.contains("Trip plans"), "{asked}");
    assert_eq!(focused(&c).await, "dialog-ok");
    keys(&c, ESC).await;
    wait_for(&c, &format!("{dialog_open} === false"), "closed by Esc").await;
    assert_eq!(focused(&c).await, "conversation-delete");
    assert_eq!(count(&c, "[data-testid=conversation-item]").await, 1);
    // Enter on the button, Enter in the dialog: deleted, with Undo offered.
    keys(&c, ENTER).await;
    wait_for(&c, dialog_open, "the delete confirmation").await;
    keys(&c, ENTER).await;
    wait_count(&c, "[data-testid=conversation-item]", 0, "the chat deleted").await;
    assert_eq!(js(&c, dialog_open).await, false);
    wait_for(
        &c,
        "const u = document.querySelector('[data-testid=undo]'); return !!u && !u.hidden",
        "Undo offered",
    )
    .await;
}

/// Regression (sidebar titles cut at about 60% of the row): the row's
/// hidden action buttons kept their width, so a long title ended early.
/// Hidden, they take no width and no click; hovered, they take their place
/// at the title's end (not drawn over it) and the click.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sidebar_titles_are_not_cut_short_by_hidden_row_actions() {
    if !can_run() {
        return;
    }
    let (_server, _driver, c) = app_with_rich_server().await;
    send_text(
        &c,
        "Plan a three week walking holiday through the Scottish highlands, with trains between the towns and a rest day each week",
    )
    .await;
    first_answer_done(&c).await;
    wait_count(
        &c,
        "[data-testid=conversation-item]",
        1,
        "the conversation in the sidebar",
    )
    .await;
    let measure = r#"
      const item = document.querySelector('[data-testid=conversation-item]');
      const title = item.querySelector('[data-testid=conversation-title]');
      const del = item.querySelector('[data-testid=conversation-delete]');
      const r = del.getBoundingClientRect();
      const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      const cs = getComputedStyle(item);
      return {
        title: title.getBoundingClientRect().width,
        row: item.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight),
        cut: title.scrollWidth > title.clientWidth,
        hits_button: del.contains(hit),
        overlaps: title.getBoundingClientRect().right > item.querySelector('.item-actions > button').getBoundingClientRect().left + 0.5,
        colour: getComputedStyle(del).color,
      };"#;
    let hidden = js(&c, measure).await;
    assert_eq!(
        hidden["cut"], true,
        "the title is long enough to be cut: {hidden}"
    );
    let (title, row) = (
        hidden["title"].as_f64().unwrap_or_default(),
        hidden["row"].as_f64().unwrap_or_default(),
    );
    // The flex gap (6 px) is all that stands between the title and the row's end.
    assert!(
        title >= row - 8.0,
        "title {title} px of a {row} px row: {hidden}"
    );
    assert_eq!(
        hidden["hits_button"], false,
        "a hidden button takes the click: {hidden}"
    );
    assert_eq!(hidden["colour"], "rgba(0, 0, 0, 0)");

    // The pointer on the row: the buttons show at the title's end and a
    // click on one does what it says.
    let item = css(&c, "[data-testid=conversation-item]").await;
    use fantoccini::actions::InputSource;
    let hover = fantoccini::actions::MouseActions::new("mouse".into()).then(
        fantoccini::actions::PointerAction::MoveToElement {
            element: item,
            duration: None,
            x: 0.0,
            y: 0.0,
        },
    );
    c.perform_actions(hover).await.expect("hover the row");
    // Drawn in (a short colour transition).
    wait_for(
        &c,
        "return getComputedStyle(document.querySelector('[data-testid=conversation-delete]')).color !== 'rgba(0, 0, 0, 0)'",
        "the row's actions drawn on hover",
    )
    .await;
    let shown = js(&c, measure).await;
    assert_eq!(
        shown["hits_button"], true,
        "a shown button takes the click: {shown}"
    );
    assert_eq!(
        shown["overlaps"], false,
        "the title runs under the shown buttons: {shown}"
    );
    click(&c, "[data-testid=conversation-delete]").await;
    wait_for(
        &c,
        "return document.querySelector('[data-testid=dialog]').open",
        "the delete confirmation",
    )
    .await;
}
