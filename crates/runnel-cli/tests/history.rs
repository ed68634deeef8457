//! Stored conversations through the CLI twin: `runnel ask --save`, `runnel
//! history`, and a SIGKILL in the middle of a stream.

use runnel_testsupport as common;

use common::{answer_stream, content_event, End, Reply, TestServer};
use runnel_core::store::{MessageStatus, Store};
use runnel_testsupport::cli::{last_json, runnel_command};
use runnel_testsupport::temp::TempDir;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::process::Command;

fn runnel(data: &Path, base_url: &str) -> Command {
    runnel_command(Path::new(env!("CARGO_BIN_EXE_runnel")), data, base_url)
}

#[tokio::test]
async fn ask_save_then_history_list_show_search_and_export() {
    let data_tmp = TempDir::new("history");
    let data = data_tmp.path().to_path_buf();
    let server = TestServer::start(|_, n| {
        if n == 0 {
            Reply::sse(answer_stream(&["Pelicans", " scoop", " fish."]))
        } else {
            Reply::sse(answer_stream(&["Herons", " spear", " fish."]))
        }
    })
    .await;
    let out = runnel(&data, &server.base_url())
        .args([
            "ask",
            "--save",
            "--json",
            "--system",
            "Be brief.",
            "How do pelicans eat?",
        ])
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = last_json(&out.stdout);
    let id = v["conversation_id"]
        .as_str()
        .expect("conversation id")
        .to_owned();
    let answer_id = v["message_id"].as_str().expect("message id").to_owned();

    // --conversation continues it, carrying the history.
    let out = runnel(&data, &server.base_url())
        .args(["ask", "--conversation", &id, "And herons?"])
        .output()
        .await
        .expect("run");
    assert!(out.status.success());
    let body = server.chat_requests()[1].json();
    let msgs = body["messages"].as_array().expect("messages");
    assert_eq!(
        msgs.len(),
        4,
        "system, question, answer, follow-up: {msgs:?}"
    );
    assert_eq!(msgs[0]["content"], "Be brief.");
    assert_eq!(msgs[2]["content"], "Pelicans scoop fish.");

    let out = runnel(&data, &server.base_url())
        .args(["history", "list", "--json"])
        .output()
        .await
        .expect("run");
    let list = last_json(&out.stdout);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["title"], "How do pelicans eat?");
    assert!(list[0]["updated"].is_number());

    let out = runnel(&data, &server.base_url())
        .args(["history", "show", &id, "--json"])
        .output()
        .await
        .expect("run");
    let show = last_json(&out.stdout);
    assert_eq!(show["id"], id.as_str());
    let roles: Vec<&str> = show["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(show["messages"][1]["id"], answer_id.as_str());
    assert_eq!(show["messages"][1]["status"], "done");
    assert_eq!(show["messages"][1]["content"], "Pelicans scoop fish.");
    assert_eq!(show["messages"][1]["versions"], 1);
    assert_eq!(show["messages"][1]["has_siblings"], false);

    let out = runnel(&data, &server.base_url())
        .args(["history", "search", "scoop", "--json"])
        .output()
        .await
        .expect("run");
    let hits = last_json(&out.stdout);
    assert_eq!(hits[0]["id"], id.as_str());
    assert_eq!(hits[0]["message_id"], answer_id.as_str());
    assert!(hits[0]["snippet"]
        .as_str()
        .expect("snippet")
        .contains("**scoop**"));

    let md_path = data.join("export.md");
    let out = runnel(&data, &server.base_url())
        .args(["history", "export", &id, "--format", "md", "-o"])
        .arg(&md_path)
        .output()
        .await
        .expect("run");
    assert!(out.status.success());
    let md = std::fs::read_to_string(&md_path).expect("md");
    assert!(
        md.starts_with("# How do pelicans eat?")
            && md.contains("Pelicans scoop fish.")
            && md.contains("And herons?")
    );
    let out = runnel(&data, &server.base_url())
        .args(["history", "show", "nope"])
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    // A second version of the first answer (a regenerate): its place has siblings.
    {
        let store = Store::open(&data.join("runnel.sqlite3")).expect("open");
        let user_id = show["messages"][0]["id"].as_str().expect("user id");
        let again = store.begin_answer(&id, user_id).expect("version");
        store
            .finish_message(
                &again.id,
                &runnel_core::store::FinalState {
                    content: "Pelicans gulp fish.".into(),
                    ..runnel_core::store::FinalState::bare(MessageStatus::Done)
                },
            )
            .expect("finish");
    }
    let out = runnel(&data, &server.base_url())
        .args(["history", "show", &id, "--json"])
        .output()
        .await
        .expect("run");
    let show = last_json(&out.stdout);
    assert_eq!(
        show["messages"][1]["content"], "Pelicans gulp fish.",
        "the shown version"
    );
    assert_eq!(show["messages"][1]["versions"], 2);
    assert_eq!(show["messages"][1]["has_siblings"], true);
    assert_eq!(show["messages"][0]["has_siblings"], false);
}

#[tokio::test]
async fn sigkill_mid_stream_leaves_an_interrupted_message_with_the_text_so_far() {
    let data_tmp = TempDir::new("crash");
    let data = data_tmp.path().to_path_buf();
    let first =
        TestServer::always(Reply::sse(answer_stream(&["An", " earlier", " answer."]))).await;
    let out = runnel(&data, &first.base_url())
        .args(["ask", "--save", "--json", "Earlier question"])
        .output()
        .await
        .expect("run");
    assert!(out.status.success());
    let id = last_json(&out.stdout)["conversation_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let pieces: Vec<_> = (0..2000)
        .map(|i| (Duration::from_millis(10), content_event(&format!("w{i} "))))
        .collect();
    let server = TestServer::always(Reply::sse_pieces(pieces, End::Finish)).await;
    let mut child = runnel(&data, &server.base_url())
        .args(["ask", "--conversation", &id, "Count slowly"])
        .spawn()
        .expect("spawn");
    // Let it stream for a while (at least ~60 pieces, past several flushes).
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.sent().len() < 60 {
        assert!(Instant::now() < deadline, "the stream started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = child.id().expect("pid") as i32;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed_at = Instant::now();
    let _ = child.wait().await;
    let must_have = server.sent_text_by(killed_at - Duration::from_millis(250), "w");
    assert!(!must_have.is_empty());

    let store = Store::open(&data.join("runnel.sqlite3")).expect("reopen");
    let messages = store.messages(&id, None, 100).expect("messages");
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0].content, "Earlier question");
    assert_eq!(messages[1].content, "An earlier answer.");
    assert_eq!(messages[1].status, MessageStatus::Done);
    assert_eq!(messages[2].content, "Count slowly");
    let crashed = &messages[3];
    assert_eq!(crashed.status, MessageStatus::Interrupted);
    assert!(
        crashed.content.starts_with(&must_have),
        "kept {} chars; the server had sent {} chars 250 ms before the kill",
        crashed.content.len(),
        must_have.len()
    );
    eprintln!(
        "kill -9: kept {} chars, {} were due (sent up to 250 ms before the kill)",
        crashed.content.len(),
        must_have.len()
    );
}

#[tokio::test]
async fn a_stream_of_another_live_process_is_never_marked_interrupted() {
    let data_tmp = TempDir::new("live");
    let data = data_tmp.path().to_path_buf();
    let mut pieces: Vec<_> = (0..300)
        .map(|i| (Duration::from_millis(10), content_event(&format!("x{i} "))))
        .collect();
    pieces.push((Duration::ZERO, common::finish_events("stop", 3, 300)));
    let server = TestServer::always(Reply::sse_pieces(pieces, End::Finish)).await;
    let child = runnel(&data, &server.base_url())
        .args(["ask", "--save", "--json", "Stream please"])
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.sent().len() < 40 {
        assert!(Instant::now() < deadline, "the stream started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another process (this test, like the window) opens the store meanwhile.
    let store = Store::open(&data.join("runnel.sqlite3")).expect("open while streaming");
    let id = store.list(None, 5).expect("list")[0].id.clone();
    let answer = store
        .messages(&id, None, 10)
        .expect("messages")
        .pop()
        .expect("answer");
    assert_eq!(
        answer.status,
        MessageStatus::Streaming,
        "a live writer is left alone"
    );
    assert!(store.has_live_stream(&id).expect("check"));
    drop(store);
    let out = child.wait_with_output().await.expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&data.join("runnel.sqlite3")).expect("reopen");
    let answer = store
        .messages(&id, None, 10)
        .expect("messages")
        .pop()
        .expect("answer");
    assert_eq!(answer.status, MessageStatus::Done);
    assert!(answer.content.starts_with("x0 x1 ") && answer.content.ends_with("x299 "));
}

/// Every `<tag ...>` of `html` with its attributes, for checks on the page.
fn tags(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .filter_map(|t| t.split('>').next())
        .collect()
}

#[tokio::test]
async fn history_export_html_is_one_page_with_code_math_and_no_script() {
    let data_tmp = TempDir::new("history-html");
    let data = data_tmp.path().to_path_buf();
    // An answer with code, math, a dollar amount, and markup that must stay text.
    let server = TestServer::start(|_, _| {
        Reply::sse(answer_stream(&[
            "Here:\n\n```rust\nfn main() { println!(\"<b>\"); }\n```\n\n",
            "Euler: $e^{i\\pi} + 1 = 0$ and \\[\\frac{a}{b}\\] for $5 and $10.\n\n",
            "<script>alert(1)</script><img src=\"https://example.com/x.png\" onerror=\"alert(2)\">",
            " ![remote](https://example.com/y.png)",
        ]))
    })
    .await;
    let out = runnel(&data, &server.base_url())
        .args(["ask", "--save", "--json", "Show <i>me</i> code"])
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = last_json(&out.stdout)["conversation_id"]
        .as_str()
        .expect("conversation id")
        .to_owned();
    let page_path = data.join("page.html");
    let out = runnel(&data, &server.base_url())
        .args(["history", "export", &id, "--format", "html", "-o"])
        .arg(&page_path)
        .output()
        .await
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&page_path).expect("page");

    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    assert!(
        page.contains("prefers-color-scheme: dark"),
        "light and dark by the reader"
    );
    // Highlighted code, with the model's markup in it escaped.
    assert!(
        page.contains("<code class=\"language-rust\"><span class=\"hl-"),
        "{page}"
    );
    assert!(page.contains("&lt;b&gt;"), "{page}");
    // Both formulas are MathML; the dollar amounts stay text.
    assert_eq!(page.matches("<math").count(), 2, "{page}");
    assert!(page.contains("<mfrac>"), "{page}");
    assert!(page.contains("for $5 and $10."), "{page}");
    // The user's text and the model's markup are text.
    assert!(page.contains("Show &lt;i&gt;me&lt;/i&gt; code"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
    for tag in tags(&page) {
        let lower = tag.to_ascii_lowercase();
        assert!(!lower.starts_with("script"), "a script: <{tag}>");
        assert!(
            !lower.starts_with("link") && !lower.starts_with("img"),
            "<{tag}>"
        );
        assert!(!lower.contains(" on"), "an inline handler: <{tag}>");
        assert!(!lower.contains("src="), "a remote load: <{tag}>");
    }
    assert!(!page.contains("url("), "no remote stylesheet load");
}
