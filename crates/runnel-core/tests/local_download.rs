//! Downloading a model from a loopback "hub": resumed with a Range after the
//! server drops the connection half way, checked against the hash the hub
//! publishes (X-Linked-Etag), refused on a wrong hash, a full disk, or a file
//! that is not a model, and cancellable with the partial file kept.

use runnel_core::engine::local::download::{pull, sha256_of, PullError, PullEvent, PullRequest};
use runnel_core::engine::local::gguf;
use runnel_core::engine::local::library::Library;
use runnel_core::engine::{Engine, EngineConfig};
use runnel_testsupport::temp::TempDir;
use runnel_testsupport::{file_reply, Reply, TestServer};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// A 3 MB GGUF file (metadata only, padded) and its sha256.
fn model_bytes(dir: &std::path::Path) -> (Vec<u8>, String) {
    let p = dir.join("src.gguf");
    let pad = "x".repeat(3 * 1024 * 1024);
    gguf::write_test_file(
        &p,
        &[
            ("general.architecture", "llama"),
            ("general.name", "Hub model"),
            ("x.pad", &pad),
        ],
        &[],
    )
    .unwrap();
    (std::fs::read(&p).unwrap(), sha256_of(&p).unwrap())
}

/// A hub: `/org/m/resolve/main/m.gguf` redirects to `/cdn/m.gguf` with the
/// file's hash and size; the first download drops at half the file.
async fn hub(body: Arc<Vec<u8>>, etag: Option<String>, drop_first: bool) -> TestServer {
    TestServer::start(move |req, _| {
        if req.path_only() == "/org/m/resolve/main/m.gguf" {
            let mut r = Reply::text(302, "").with_header("Location", "/cdn/m.gguf");
            r = r.with_header("X-Linked-Size", &body.len().to_string());
            if let Some(e) = &etag {
                r = r.with_header("X-Linked-Etag", &format!("\"{e}\""));
            }
            return r;
        }
        let first = req.header("range").is_none();
        file_reply(&body, req, (drop_first && first).then_some(body.len() / 2))
    })
    .await
}

fn request(server: &TestServer, sha256: Option<String>) -> PullRequest {
    PullRequest {
        url: format!("http://{}/org/m/resolve/main/m.gguf", server.addr),
        id: "hub-model".into(),
        sha256,
        disk_limit: None,
    }
}

/// The engine's client (it follows no redirect: the download does, reading each hop).
fn client() -> reqwest::Client {
    Engine::new(EngineConfig::default())
        .unwrap()
        .client()
        .clone()
}

/// Pulls `req` into `lib`, expecting an error.
async fn pull_err(lib: &Library, req: &PullRequest) -> PullError {
    pull(&client(), lib, req, &CancellationToken::new(), &mut |_| {})
        .await
        .unwrap_err()
}

fn leftovers(lib: &Library) -> Vec<String> {
    std::fs::read_dir(lib.dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_download_dropped_half_way_resumes_with_a_range_and_is_checked_against_the_hubs_hash() {
    let tmp = TempDir::new("pull-resume");
    let (bytes, sha) = model_bytes(tmp.path());
    let server = hub(Arc::new(bytes.clone()), Some(sha.clone()), true).await;
    let lib = Library::new(tmp.path().join("models"));
    let mut events = Vec::new();
    let model = pull(
        &client(),
        &lib,
        &request(&server, None),
        &CancellationToken::new(),
        &mut |e| events.push(e),
    )
    .await
    .unwrap();
    assert_eq!(model.id, "hub-model");
    assert_eq!(
        model.info.as_ref().unwrap().name.as_deref(),
        Some("Hub model")
    );
    assert_eq!(sha256_of(&model.path).unwrap(), sha);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, PullEvent::Resuming { .. })),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(e, PullEvent::Verifying)));
    let last = events.iter().rev().find_map(|e| match e {
        PullEvent::Progress(p) => Some(*p),
        _ => None,
    });
    let last = last.expect("progress reported");
    assert_eq!(last.done, bytes.len() as u64);
    assert_eq!(last.total, Some(bytes.len() as u64));
    let ranges: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.header("range").map(str::to_owned))
        .collect();
    assert!(
        ranges
            .iter()
            .any(|r| r != "bytes=0-" && r.starts_with("bytes=")),
        "resumed from where it dropped: {ranges:?}"
    );
    assert_eq!(leftovers(&lib), vec!["hub-model.gguf".to_owned()]);
}

#[tokio::test]
async fn a_wrong_sha256_is_an_error_and_leaves_no_file() {
    let tmp = TempDir::new("pull-sha");
    let (bytes, _) = model_bytes(tmp.path());
    let server = hub(Arc::new(bytes), None, false).await;
    let lib = Library::new(tmp.path().join("models"));
    let wrong = "0".repeat(64);
    let e = pull_err(&lib, &request(&server, Some(wrong))).await;
    assert!(matches!(e, PullError::Checksum { .. }), "{e}");
    assert!(e.to_string().contains("expected 0000"), "{e}");
    assert!(leftovers(&lib).is_empty(), "{:?}", leftovers(&lib));
}

#[tokio::test]
async fn a_full_disk_is_a_clear_error_before_the_download() {
    let tmp = TempDir::new("pull-disk");
    let (bytes, sha) = model_bytes(tmp.path());
    let server = hub(Arc::new(bytes), Some(sha), false).await;
    let lib = Library::new(tmp.path().join("models"));
    let mut req = request(&server, None);
    req.disk_limit = Some(100_000);
    let e = pull_err(&lib, &req).await;
    assert!(matches!(e, PullError::NoSpace(_)), "{e}");
    assert!(
        e.to_string()
            .starts_with("not enough disk space: the model needs 3 MB more"),
        "{e}"
    );
    assert!(!lib.dir().join("hub-model.gguf").exists());
}

#[tokio::test]
async fn a_download_that_is_not_a_model_is_refused_and_deleted() {
    let tmp = TempDir::new("pull-html");
    let server = TestServer::always(Reply::text(
        200,
        "<!doctype html><p>Sign in to download</p>",
    ))
    .await;
    let lib = Library::new(tmp.path().join("models"));
    let req = PullRequest {
        url: format!("http://{}/m.gguf", server.addr),
        id: "page".into(),
        sha256: None,
        disk_limit: None,
    };
    let e = pull_err(&lib, &req).await;
    assert!(matches!(e, PullError::NotAModel(_)), "{e}");
    assert!(e.to_string().contains("not a GGUF model file"), "{e}");
    assert!(leftovers(&lib).is_empty());
}

#[tokio::test]
async fn a_cancelled_download_keeps_its_part_and_the_next_pull_resumes_it() {
    let tmp = TempDir::new("pull-cancel");
    let (bytes, sha) = model_bytes(tmp.path());
    // Every try drops half way, so the first pull is cancelled while resuming.
    let server = hub(Arc::new(bytes.clone()), Some(sha.clone()), true).await;
    let lib = Library::new(tmp.path().join("models"));
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let e = pull(
        &client(),
        &lib,
        &request(&server, None),
        &cancel,
        &mut |ev| {
            if matches!(ev, PullEvent::Resuming { .. }) {
                stop.cancel();
            }
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, PullError::Cancelled), "{e}");
    let partial = lib.dir().join("hub-model.gguf.partial");
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept > 0 && kept < bytes.len() as u64);
    let model = pull(
        &client(),
        &lib,
        &request(&server, None),
        &CancellationToken::new(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(sha256_of(&model.path).unwrap(), sha);
    assert!(!partial.exists());
}
