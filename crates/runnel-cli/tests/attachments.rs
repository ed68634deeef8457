//! Attachments through `runnel ask --attach` (issue 17): what each protocol
//! receives for images, text files and PDFs, over real HTTP on loopback;
//! images downscaled and stripped; a server that refuses images; files kept
//! with a saved conversation, sent again with later turns, searched, and
//! carried through a JSON export and import.

use runnel_testsupport as common;

use base64::Engine as _;
use common::files::{jpeg_with_exif, pdf_with_text, png_noise, EXIF_CANARY};
use common::{answer_stream, anthropic_stream, Reply, TestServer};
use runnel_testsupport::cli::{last_json, runnel_command};
use runnel_testsupport::temp::TempDir;
use std::path::{Path, PathBuf};
use tokio::process::Command;

fn runnel(data: &Path, base_url: &str) -> Command {
    runnel_command(Path::new(env!("CARGO_BIN_EXE_runnel")), data, base_url)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The three fixtures: a photo with EXIF (a quarter turn, GPS), a code
/// file whose text holds a fence, and a PDF with a text layer.
fn fixtures(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        write(dir, "photo.jpg", &jpeg_with_exif(60, 30, 6)),
        write(dir, "notes.rs", b"// pelican notes\nfn main() {}\n```\n"),
        write(dir, "report.pdf", &pdf_with_text("Herons spear fish")),
    )
}

#[tokio::test]
async fn openai_gets_content_parts_with_the_files_text_and_an_image_data_url() {
    let tmp = TempDir::new("attach-openai");
    let (photo, notes, pdf) = fixtures(tmp.path());
    let server = TestServer::start(|_, _| Reply::sse(answer_stream(&["Seen."]))).await;
    let out = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--attach"])
        .arg(&photo)
        .arg("--attach")
        .arg(&notes)
        .arg("--attach")
        .arg(&pdf)
        .arg("What is in these?")
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let body = server.chat_requests()[0].json();
    let content = &body["messages"][0]["content"];
    let parts = content.as_array().expect("content parts");
    assert_eq!(parts.len(), 2, "{content}");
    assert_eq!(parts[0]["type"], "text");
    let text = parts[0]["text"].as_str().expect("text");
    assert!(
        text.starts_with("What is in these?\n\nnotes.rs:\n````rust\n// pelican notes\n"),
        "{text}"
    );
    assert!(
        text.contains("```\n````"),
        "the file's own fence stays inside: {text}"
    );
    assert!(
        text.contains("report.pdf:\n```\n") && text.contains("Herons spear fish"),
        "{text}"
    );
    assert_eq!(parts[1]["type"], "image_url");
    let url = parts[1]["image_url"]["url"].as_str().expect("url");
    let data = b64(url
        .strip_prefix("data:image/jpeg;base64,")
        .expect("a JPEG data URL"));
    assert!(
        !contains(&data, EXIF_CANARY) && !contains(&data, b"Exif"),
        "metadata stripped"
    );
    let img = image::load_from_memory(&data).expect("decode");
    assert_eq!((img.width(), img.height()), (30, 60), "turned upright");
}

#[tokio::test]
async fn anthropic_gets_image_and_document_blocks_before_the_text() {
    let tmp = TempDir::new("attach-anthropic");
    let (photo, notes, pdf) = fixtures(tmp.path());
    let pdf_bytes = std::fs::read(&pdf).expect("pdf");
    let server = TestServer::start(|_, _| Reply::sse(anthropic_stream("Seen."))).await;
    let out = runnel(tmp.path(), &server.base_url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test-key")
        .args([
            "ask",
            "--protocol",
            "anthropic",
            "--base-url",
            &server.base_url(),
            "--attach",
        ])
        .arg(&photo)
        .arg("--attach")
        .arg(&notes)
        .arg("--attach")
        .arg(&pdf)
        .arg("What is in these?")
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Seen."));
    let body = server.chat_requests_any()[0].json();
    let blocks = body["messages"][0]["content"]
        .as_array()
        .expect("blocks")
        .clone();
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    assert_eq!(blocks[0]["type"], "image");
    assert_eq!(blocks[0]["source"]["type"], "base64");
    assert_eq!(blocks[0]["source"]["media_type"], "image/jpeg");
    let data = b64(blocks[0]["source"]["data"].as_str().expect("data"));
    assert!(!contains(&data, EXIF_CANARY));
    assert_eq!(blocks[1]["type"], "document");
    assert_eq!(blocks[1]["source"]["media_type"], "application/pdf");
    assert_eq!(
        b64(blocks[1]["source"]["data"].as_str().expect("pdf")),
        pdf_bytes,
        "the PDF as it is"
    );
    assert_eq!(blocks[1]["title"], "report.pdf");
    assert_eq!(blocks[2]["type"], "text");
    let text = blocks[2]["text"].as_str().expect("text");
    assert!(
        text.starts_with("What is in these?\n\nnotes.rs:\n````rust\n"),
        "{text}"
    );
    assert!(
        !text.contains("Herons"),
        "the PDF goes as a document, not as text: {text}"
    );
}

#[tokio::test]
async fn a_20_mb_image_is_sent_downscaled_not_whole() {
    let tmp = TempDir::new("attach-big");
    let big = write(tmp.path(), "scan.png", &png_noise(2900, 2300, 11));
    assert!(std::fs::metadata(&big).expect("size").len() > 19_000_000);
    let server = TestServer::start(|_, _| Reply::sse(answer_stream(&["ok"]))).await;
    let out = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--attach"])
        .arg(&big)
        .arg("Read it")
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let req = &server.chat_requests()[0];
    assert!(
        req.body.len() < 6_000_000,
        "the request is {} bytes",
        req.body.len()
    );
    let body = req.json();
    let url = body["messages"][0]["content"][1]["image_url"]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let data = b64(url.split_once(',').expect("data url").1);
    let img = image::load_from_memory(&data).expect("decode");
    assert!(
        img.width().max(img.height()) <= 2048,
        "{}x{}",
        img.width(),
        img.height()
    );
}

#[tokio::test]
async fn a_server_that_refuses_images_says_so_and_the_message_is_kept() {
    let tmp = TempDir::new("attach-refused");
    let (photo, _, _) = fixtures(tmp.path());
    let server = TestServer::start(|_, _| {
        Reply::json(
            400,
            &serde_json::json!({"error": {"message": "Invalid content type. image_url is only supported by certain models.", "type": "invalid_request_error"}}),
        )
    })
    .await;
    let out = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--save", "--json", "--attach"])
        .arg(&photo)
        .arg("Describe")
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
    assert!(
        text.contains("image_url is only supported by certain models"),
        "{text}"
    );
    assert!(text.contains("this model may not take images"), "{text}");
    // The question and its photo are stored: nothing is lost.
    let out = runnel(tmp.path(), &server.base_url())
        .args(["history", "search", "photo", "--json"])
        .output()
        .await
        .expect("run");
    let hits: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(hits.as_array().map(Vec::len), Some(1), "{hits}");
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap_or("")
            .contains("photo.jpg"),
        "{hits}"
    );
}

#[tokio::test]
async fn saved_files_go_again_with_later_turns_and_survive_export_and_import() {
    let tmp = TempDir::new("attach-saved");
    let (photo, notes, _) = fixtures(tmp.path());
    let server = TestServer::start(|_, _| Reply::sse(answer_stream(&["Noted."]))).await;
    let out = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--save", "--json", "--attach"])
        .arg(&photo)
        .arg("--attach")
        .arg(&notes)
        .arg("Keep these")
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let v = last_json(&out.stdout);
    let id = v["conversation_id"].as_str().expect("id").to_owned();
    let out = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--conversation", &id, "And now?"])
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let second = server.chat_requests()[1].json();
    let first_turn = &second["messages"][0]["content"];
    assert_eq!(
        first_turn[1]["type"], "image_url",
        "the photo goes again: {first_turn}"
    );
    assert!(first_turn[0]["text"]
        .as_str()
        .unwrap_or("")
        .contains("pelican notes"));
    assert_eq!(second["messages"][2]["content"], "And now?");

    // Search finds the message by a file's name and by its text.
    for q in ["notes", "pelican"] {
        let out = runnel(tmp.path(), &server.base_url())
            .args(["history", "search", q, "--json"])
            .output()
            .await
            .expect("run");
        let hits: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(hits[0]["id"], id.as_str(), "{q}: {hits}");
    }

    // Export, import: the imported conversation sends the same files.
    let path = tmp.path().join("export.json");
    let out = runnel(tmp.path(), &server.base_url())
        .args(["history", "export", &id, "--format", "json", "-o"])
        .arg(&path)
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let export: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert_eq!(export["attachments"].as_array().map(Vec::len), Some(2));
    assert_eq!(export["blobs"].as_object().map(|b| b.len()), Some(2));
    let out = runnel(tmp.path(), &server.base_url())
        .args(["history", "import"])
        .arg(&path)
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let imported = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let out = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--conversation", &imported, "Still there?"])
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let third = server.chat_requests()[2].json();
    assert_eq!(
        third["messages"][0]["content"],
        second["messages"][0]["content"]
    );

    // A tampered file is refused whole.
    let mut bad = export.clone();
    let key = bad["blobs"]
        .as_object()
        .expect("blobs")
        .keys()
        .next()
        .expect("a key")
        .clone();
    bad["blobs"][&key] = base64::engine::general_purpose::STANDARD
        .encode(b"other bytes")
        .into();
    let bad_path = tmp.path().join("bad.json");
    std::fs::write(&bad_path, serde_json::to_vec(&bad).expect("json")).expect("write");
    let out = runnel(tmp.path(), &server.base_url())
        .args(["history", "import"])
        .arg(&bad_path)
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match its key"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn hostile_files_are_refused_or_sent_as_text_never_as_markup() {
    let tmp = TempDir::new("attach-hostile");
    let server = TestServer::start(|_, _| Reply::sse(answer_stream(&["ok"]))).await;
    // An SVG with a script, named like a PNG, with a right-to-left override.
    let svg = write(
        tmp.path(),
        "cat\u{202E}gnp.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>",
    );
    let out = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--attach"])
        .arg(&svg)
        .arg("What is this?")
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let body = server.chat_requests()[0].json();
    let parts = body["messages"][0]["content"]
        .as_array()
        .expect("parts")
        .clone();
    assert_eq!(parts.len(), 1, "text only, no image: {parts:?}");
    let text = parts[0]["text"].as_str().expect("text");
    assert!(
        text.contains("catgnp.svg:\n```xml\n<svg"),
        "shown as a file's text: {text}"
    );

    // Binary data, and text over the limit, are refused before anything is sent.
    let bin = write(tmp.path(), "data.txt", b"\x00\x01\x02\x03binary");
    let big = write(
        tmp.path(),
        "big.log",
        "x".repeat(2 * 1024 * 1024).as_bytes(),
    );
    for (file, says) in [
        (&bin, "a binary file cannot be attached"),
        (&big, "KB of text"),
    ] {
        let out = runnel(tmp.path(), &server.base_url())
            .args(["ask", "--attach"])
            .arg(file)
            .arg("Read")
            .output()
            .await
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    assert_eq!(
        server.chat_requests().len(),
        1,
        "nothing sent for refused files"
    );
    let missing = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--attach", "/nonexistent/file.png", "Read"])
        .output()
        .await
        .expect("run");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("file.png: could not read it"),
        "{}",
        stderr(&missing)
    );
}

#[tokio::test]
async fn the_shared_page_shows_an_attached_image_inline_and_loads_nothing() {
    let tmp = TempDir::new("attach-page");
    let (photo, notes, _) = fixtures(tmp.path());
    let server = TestServer::start(|_, _| Reply::sse(answer_stream(&["A photo."]))).await;
    let out = runnel(tmp.path(), &server.base_url())
        .args(["ask", "--save", "--json", "--attach"])
        .arg(&photo)
        .arg("--attach")
        .arg(&notes)
        .arg("Look")
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let v = last_json(&out.stdout);
    let id = v["conversation_id"].as_str().expect("id").to_owned();
    let out = runnel(tmp.path(), &server.base_url())
        .args(["history", "export", &id, "--format", "html"])
        .output()
        .await
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let page = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        page.matches("<img class=\"attachment\" alt=\"photo.jpg\" src=\"data:image/jpeg;base64,")
            .count(),
        1
    );
    assert!(
        page.contains("<p class=\"file\">notes.rs (1 KB)</p>"),
        "{page}"
    );
    for tag in page.split('<').skip(1).filter_map(|t| t.split('>').next()) {
        if let Some(src) = tag.split(" src=\"").nth(1) {
            assert!(src.starts_with("data:"), "only inline data: {tag:.80}");
        }
    }
}
