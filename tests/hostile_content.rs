//! Hostile content through the real window: well over 100 XSS and spoofing
//! payloads (OWASP cheat-sheet vectors, markdown link and image tricks, fence
//! info strings, HTML in a title, in a server's error body, in a search
//! snippet) are streamed, stored, reopened and searched. None executes
//! (`window.__pwned` stays unset), no element leaves its message, and no
//! answer keeps a script, a frame, an event handler, a style or a class the
//! page's own boxes use.
//!
//! Needs the same set-up as tests/ui_e2e.rs (tauri-driver, WebKitWebDriver, a
//! display); without it it says so and skips.

use fantoccini::{Client, ClientBuilder, Locator};
use runnel_testsupport::{content_event, finish_events, Reply, TestServer};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// OWASP XSS filter-evasion style vectors; each runs `__pwned` if it ever executes.
const VECTORS: &[&str] = &[
    "<script>window.__pwned=1</script>",
    "<SCRIPT SRC=//x.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:window.__pwned=1\">",
    "<IMG SRC=javascript:window.__pwned=1>",
    "<IMG SRC=JaVaScRiPt:window.__pwned=1>",
    "<IMG SRC=`javascript:window.__pwned=1`>",
    "<a onmouseover=\"window.__pwned=1\">xxs link</a>",
    "<IMG \"\"\"><SCRIPT>window.__pwned=1</SCRIPT>\"\\>",
    "<IMG SRC=# onmouseover=\"window.__pwned=1\">",
    "<IMG SRC= onmouseover=\"window.__pwned=1\">",
    "<IMG onmouseover=\"window.__pwned=1\">",
    "<IMG SRC=/ onerror=\"window.__pwned=1\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058window.__pwned=1\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;window.__pwned=1>",
    "<IMG SRC=\"jav\tascript:window.__pwned=1;\">",
    "<IMG SRC=\"jav&#x09;ascript:window.__pwned=1;\">",
    "<IMG SRC=\" &#14;  javascript:window.__pwned=1;\">",
    "<SCRIPT/XSS SRC=\"http://x.example/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=window.__pwned=1>",
    "<<SCRIPT>window.__pwned=1;//<</SCRIPT>",
    "<SCRIPT SRC=http://x.example/xss.js?< B >",
    "<IMG SRC=\"`<javascript:window.__pwned=1>`\"",
    "</TITLE><SCRIPT>window.__pwned=1;</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:window.__pwned=1;\">",
    "<BODY BACKGROUND=\"javascript:window.__pwned=1\">",
    "<IMG DYNSRC=\"javascript:window.__pwned=1\">",
    "<STYLE>li {list-style-image: url(\"javascript:window.__pwned=1\");}</STYLE><UL><LI>XSS</br>",
    "<svg/onload=window.__pwned=1>",
    "<svg><script>window.__pwned=1</script></svg>",
    "<BODY ONLOAD=window.__pwned=1>",
    "<BGSOUND SRC=\"javascript:window.__pwned=1;\">",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:window.__pwned=1;\">",
    "<STYLE>@import'http://x.example/xss.css';</STYLE>",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:window.__pwned=1;\">",
    "<IFRAME SRC=\"javascript:window.__pwned=1;\"></IFRAME>",
    "<IFRAME SRC=# onmouseover=\"window.__pwned=1\"></IFRAME>",
    "<FRAMESET><FRAME SRC=\"javascript:window.__pwned=1;\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:window.__pwned=1\">",
    "<DIV STYLE=\"background-image: url(javascript:window.__pwned=1)\">",
    "<DIV STYLE=\"width: expression(window.__pwned=1);\">",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://x.example/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9d2luZG93Ll9fcHduZWQ9MT4=\" type=\"image/svg+xml\">",
    "<details open ontoggle=window.__pwned=1>",
    "<video><source onerror=\"window.__pwned=1\">",
    "<audio src=x onerror=window.__pwned=1>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=1>",
    "<form><button formaction=javascript:window.__pwned=1>X</button>",
    "<isindex type=image src=1 onerror=window.__pwned=1>",
    "<marquee onstart=window.__pwned=1>",
    "<base href=\"javascript:window.__pwned=1//\">",
    "\"><script>window.__pwned=1</script>",
    "'><img src=x onerror=window.__pwned=1>",
    "<div class=\"error\" data-testid=\"error\" data-error-kind=\"auth\">Fake app error: enter your key here</div>",
    "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">covers the app</div>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__pwned=1>\">",
    "<template><img src=x onerror=window.__pwned=1></template>",
    "<object data=\"javascript:window.__pwned=1\">",
    "<a href=\"javascript&colon;window.__pwned=1\">click</a>",
    "<a href=\"&#106;avascript:window.__pwned=1\">click</a>",
    "<img src=\"x\" onerror=\"eval(atob('d2luZG93Ll9fcHduZWQ9MQ=='))\">",
];

/// Markdown tricks (links, images, fences, autolinks).
const MARKDOWN: &[&str] = &[
    "[click](javascript:window.__pwned=1)",
    "[click](JaVaScRiPt:window.__pwned=1)",
    "[click](  javascript:window.__pwned=1  )",
    "[click](&#106;avascript:window.__pwned=1)",
    "[click](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+)",
    "[click](vbscript:window.__pwned=1)",
    "[click](file:///etc/passwd)",
    "[https://bank.example](https://evil.example)",
    "[a](https://example.com \"title\\\" onmouseover=\\\"window.__pwned=1\")",
    "![img](javascript:window.__pwned=1)",
    "![img](https://x.example/track.png)",
    "![img\"onerror=\"window.__pwned=1](x)",
    "<javascript:window.__pwned=1>",
    "<https://example.com/\"onmouseover=\"window.__pwned=1>",
    "[ref]\n\n[ref]: javascript:window.__pwned=1",
    "```sh\tsr-only\nhidden text\n```",
    "```\" onmouseover=\"window.__pwned=1\nx\n```",
    "```error message\nfake error box\n```",
    "`<script>window.__pwned=1</script>`",
    "| a | <img src=x onerror=window.__pwned=1> |\n|---|---|\n| <script>window.__pwned=1</script> | b |",
    "> <img src=x onerror=window.__pwned=1>",
    "- [ ] <img src=x onerror=window.__pwned=1>",
    "**<img src=x onerror=window.__pwned=1>**",
    "[<img src=x onerror=window.__pwned=1>](https://example.com)",
    "<!-- --><script>window.__pwned=1</script><!-- -->",
    "\\<script>window.__pwned=1\\</script>",
    "&lt;script&gt;window.__pwned=1&lt;/script&gt;",
    "<scr<script>ipt>window.__pwned=1</scr</script>ipt>",
];

/// Every payload in every context (plain paragraph, list item, quote,
/// table cell): well over 100 in all.
fn answer() -> (String, usize) {
    let mut out = String::new();
    let mut n = 0;
    for v in VECTORS {
        out.push_str(&format!("{v}\n\n- item {v}\n\n> {v}\n\n"));
        n += 3;
    }
    for m in MARKDOWN {
        out.push_str(&format!("{m}\n\n"));
        n += 1;
    }
    out.push_str("marker-word-zebra\n");
    (out, n)
}

fn can_run() -> bool {
    let found = |b: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(b).is_file()))
    };
    let ok =
        std::env::var_os("DISPLAY").is_some() && found("tauri-driver") && found("WebKitWebDriver");
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "CI=true but the window cannot be driven (DISPLAY, tauri-driver, WebKitWebDriver)"
            );
        }
        eprintln!("notice: skipping the hostile-content window test (no display or driver)");
    }
    ok
}

/// tauri-driver, and the app's XDG dirs (held until the test ends).
struct Driver(Child, #[allow(dead_code)] runnel_testsupport::temp::TempDir);

impl Drop for Driver {
    fn drop(&mut self) {
        // SIGTERM lets tauri-driver stop WebKitWebDriver too.
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start(base_url: &str) -> (Driver, Client) {
    start_with_key(base_url, None).await
}

/// Starts the app on `base_url`, with `OPENAI_API_KEY` set to `key` when given.
async fn start_with_key(base_url: &str, key: Option<&str>) -> (Driver, Client) {
    let port = free_port();
    let home = runnel_testsupport::temp::TempDir::new("hostile");
    let mut cmd = Command::new("tauri-driver");
    if let Some(k) = key {
        cmd.env("OPENAI_API_KEY", k);
    } else {
        cmd.env_remove("OPENAI_API_KEY");
    }
    let child = cmd
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &free_port().to_string(),
        ])
        .env_remove("RUNNEL_CONFIG_DIR")
        .env("OPENAI_BASE_URL", base_url)
        .env("RUNNEL_MODEL", "<img src=x onerror=window.__pwned=7>")
        .env("XDG_DATA_HOME", home.subdir("data"))
        .env("XDG_CONFIG_HOME", home.subdir("config"))
        .env("XDG_CACHE_HOME", home.subdir("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tauri-driver");
    let driver = Driver(child, home);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tauri-driver listens");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": runnel_testsupport::bin::workspace_bin("runnel") }),
    );
    let c = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session");
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("body[data-ready=true]"))
        .await
        .expect("the window started");
    (driver, c)
}

async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.expect("execute")
}

async fn wait_for(c: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while js(c, script).await != serde_json::Value::Bool(true) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send(c: &Client, text: &str) {
    let composer = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("[data-testid=composer]"))
        .await
        .expect("composer");
    composer.send_keys(text).await.expect("type");
    composer.send_keys("\u{E007}").await.expect("enter");
}

/// What must hold after every step: nothing ran, and nothing the model or a
/// server wrote is outside its box or carries active content.
const SAFE: &str = r#"
const list = document.querySelector('[data-testid=message-list]');
const boxes = [...document.querySelectorAll('[data-testid=answer], [data-testid=error], [data-testid=user-text], [data-testid=conversation-title], [data-testid=search-result], [data-testid=provider-line]')];
const active = ['script','iframe','frame','object','embed','style','link','meta','base','form','svg','math','img','video','audio','template','details','marquee','body','input'];
const bad = [];
for (const box of boxes) {
  for (const e of box.querySelectorAll('*')) {
    const tag = e.tagName.toLowerCase();
    if (active.includes(tag) && !(tag === 'input' && e.type === 'checkbox' && e.disabled)) bad.push('tag ' + tag);
    for (const at of e.getAttributeNames()) {
      if (at.startsWith('on') || at === 'style' || at === 'formaction') bad.push(tag + ' @' + at);
      if (at === 'data-testid' && e.getAttribute(at) !== 'code-copy') bad.push(tag + ' testid ' + e.getAttribute(at));
    }
    // The page's own boxes (errors, toasts, banners, hidden text) are never imitated.
    if (/(^|\s)(sr-only|error|toast|banner|message|setup-banner)(\s|$)/.test(e.getAttribute('class') || '')) bad.push(tag + ' .' + e.getAttribute('class'));
    // A link the sanitizer disarmed has no href at all: inert text.
    if (tag === 'a' && e.hasAttribute('href') && !/^(https?:|mailto:)/i.test(e.getAttribute('href') || '')) bad.push('a href=' + e.getAttribute('href'));
  }
}
for (const child of list.children) {
  if (!child.matches('[data-testid=message]')) bad.push('outside a message: ' + child.tagName);
}
if (window.__pwned !== undefined) bad.push('__pwned=' + window.__pwned);
return bad;
"#;

async fn assert_safe(c: &Client, step: &str) {
    let bad = js(c, SAFE).await;
    assert_eq!(bad, serde_json::json!([]), "after {step}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_hundred_hostile_payloads_never_run_or_escape_their_box() {
    if !can_run() {
        return;
    }
    let (text, payloads) = answer();
    assert!(payloads >= 100, "{payloads} payloads");
    let mut body = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for chunk in chars.chunks(7) {
        body.extend(content_event(&chunk.iter().collect::<String>()));
    }
    body.extend(finish_events("stop", 10, 500));
    let hostile_error = "<html><body><script>window.__pwned=5</script><img src=x onerror=window.__pwned=6>denied</body></html>";
    let chats = std::sync::atomic::AtomicUsize::new(0);
    let server = TestServer::start(move |req, _| {
        if req.path_only().ends_with("/models") {
            return Reply::json(
                200,
                &serde_json::json!({"data": [{"id": "<img src=x onerror=window.__pwned=8>"}]}),
            );
        }
        if chats
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            .is_multiple_of(2)
        {
            Reply::sse(body.clone())
        } else {
            Reply::text(400, hostile_error)
        }
    })
    .await;
    let (_driver, c) = start(&server.base_url()).await;

    // The title comes from a hostile first message.
    send(
        &c,
        "<img src=x onerror=window.__pwned=3> hello <script>window.__pwned=4</script>",
    )
    .await;
    wait_for(
        &c,
        "const a = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].pop(); return !!a && a.dataset.status === 'done'",
        "the hostile answer",
    )
    .await;
    assert_safe(&c, "streaming the answer").await;

    // A server error body with HTML.
    send(&c, "again").await;
    wait_for(
        &c,
        "const a = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')].pop(); return !!a && a.dataset.status === 'error'",
        "the hostile error",
    )
    .await;
    assert_safe(&c, "a hostile error body").await;

    // Reopen from the store (rendered again, from the database).
    c.find(Locator::Css("[data-testid=conversation-item]"))
        .await
        .expect("the conversation")
        .click()
        .await
        .expect("open");
    wait_for(
        &c,
        "return document.querySelectorAll('[data-testid=message]').length >= 4",
        "the reopened conversation",
    )
    .await;
    assert_safe(&c, "reopening").await;

    // Search snippets around hostile text.
    let search = c
        .find(Locator::Css("[data-testid=search]"))
        .await
        .expect("search");
    search.send_keys("onerror").await.expect("type");
    wait_for(
        &c,
        "return document.querySelectorAll('[data-testid=search-result]').length > 0",
        "search results",
    )
    .await;
    assert_safe(&c, "search snippets").await;
    println!("hostile content: {payloads} payloads in answers, plus a title, an error body, a model name and search snippets; none ran or escaped");
}

/// The window's part of the key canary: a key echoed by the server in a
/// retried 500, a 401 and an in-stream error never reaches the page (its
/// whole source) or any file under the app's data, config and cache dirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echoed_key_never_reaches_the_page_or_the_apps_files() {
    if !can_run() {
        return;
    }
    const CANARY: &str = "sk-canary-window-4d2e8f0a9c71";
    let sends = std::sync::atomic::AtomicUsize::new(0);
    let echo = format!("invalid key {CANARY}");
    let server = TestServer::start(move |req, _| {
        if req.path_only().ends_with("/models") {
            return Reply::json(200, &serde_json::json!({"data": [{"id": "m"}]}));
        }
        match sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            // The first send: a 500 (retried, then reported), echoing the key.
            0..=2 => Reply::text(500, &echo),
            3 => Reply::text(401, &echo),
            _ => {
                let mut b = content_event("partial ");
                b.extend(
                    format!("data: {{\"error\": {{\"message\": \"{echo}\"}}}}\n\n").into_bytes(),
                );
                Reply::sse(b)
            }
        }
    })
    .await;
    // A loopback server: the key is sent, and echoed back.
    let (driver, c) = start_with_key(&server.base_url(), Some(CANARY)).await;
    for (n, text) in ["one", "two", "three"].into_iter().enumerate() {
        send(&c, text).await;
        wait_for(
            &c,
            &format!("const a = [...document.querySelectorAll('[data-testid=message][data-role=assistant]')]; return a.length === {} && a[{}].dataset.status === 'error'", n + 1, n),
            "an error",
        )
        .await;
        let page = c.source().await.expect("page source");
        assert!(page.contains("redacted"), "the echo was shown, redacted");
        assert!(!page.contains(CANARY), "the key is in the page after send {text}");
    }
    drop(c);
    let home = driver.1.path().to_path_buf();
    let (hits, scanned) = runnel_testsupport::files_containing(&home, CANARY);
    assert!(scanned > 0);
    assert!(hits.is_empty(), "the key is in {hits:?}");
    println!("window key canary: page source after 3 echoes and {scanned} files under data, config and cache: 0 hits");
}
