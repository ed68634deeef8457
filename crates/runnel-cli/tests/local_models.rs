//! `runnel models` and `runnel ask --provider local` as real child
//! processes: import a real GGUF, list it, answer with it (streamed,
//! `--no-stream`, `--json`, stored with `--save`), pull a model from a
//! loopback hub through `RUNNEL_HF_ENDPOINT`-style URLs, and refuse files
//! that are not models.

use runnel_core::engine::local::download::sha256_of;
use runnel_core::engine::local::gguf;
use runnel_testsupport::cli::runnel_command;
use runnel_testsupport::temp::TempDir;
use runnel_testsupport::{file_reply, test_model_or_skip, Reply, TestServer};
use std::path::Path;
use std::sync::Arc;

fn runnel(data: &Path) -> tokio::process::Command {
    // No OpenAI-compatible server: only local models answer.
    let mut cmd = runnel_command(env!("CARGO_BIN_EXE_runnel").as_ref(), data, "");
    cmd.env_remove("OPENAI_BASE_URL")
        .env_remove("ANTHROPIC_API_KEY");
    cmd
}

async fn run(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = runnel(data).args(args).output().await.expect("run runnel");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `runnel ARGS` against the OpenAI-compatible server at `base_url`;
/// its stdout, after checking that it succeeded.
async fn ask_server(data: &Path, base_url: &str, args: &[&str]) -> String {
    let out = runnel_command(env!("CARGO_BIN_EXE_runnel").as_ref(), data, base_url)
        .args(args)
        .output()
        .await
        .expect("run runnel");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn last_json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.lines().last().expect("a line")).expect("JSON")
}

#[tokio::test]
async fn import_list_ask_and_remove_a_real_model() {
    let Some(model) = test_model_or_skip() else {
        return;
    };
    let data = TempDir::new("cli-local");
    let (code, out, err) = run(
        data.path(),
        &["models", "import", model.to_str().unwrap(), "--id", "smol"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("imported smol  98 MB  llama  Q4_1  ctx 8192"),
        "{out}"
    );
    let (code, out, _) = run(data.path(), &["models", "list", "--json"]).await;
    assert_eq!(code, 0);
    let v = last_json(&out);
    assert_eq!(v["installed"][0]["id"], "smol");
    assert_eq!(v["installed"][0]["quantization"], "Q4_1");
    assert_eq!(v["installed"][0]["chat_template"], true);
    assert!(v["available"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["default"] == true));

    let ask = [
        "ask",
        "--provider",
        "local",
        "--model",
        "smol",
        "--temperature",
        "0",
        "--max-tokens",
        "24",
    ];
    let (code, streamed, err) = run(
        data.path(),
        &[&ask[..], &["What is the capital of France?"]].concat(),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(!streamed.trim().is_empty());
    let (code, whole, _) = run(
        data.path(),
        &[&ask[..], &["--no-stream", "What is the capital of France?"]].concat(),
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        whole, streamed,
        "--no-stream gives the same text at temperature 0"
    );
    let (code, out, err) = run(
        data.path(),
        &[
            &ask[..],
            &["--json", "--save", "What is the capital of France?"],
        ]
        .concat(),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let v = last_json(&out);
    assert_eq!(v["status"], "done");
    assert_eq!(v["text"].as_str().unwrap().trim(), streamed.trim());
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 5);
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert!(v["metrics"]["tokens_per_s"].as_f64().unwrap() > 0.0);
    // Stored like any other answer.
    let (code, out, _) = run(
        data.path(),
        &["history", "show", v["conversation_id"].as_str().unwrap()],
    )
    .await;
    assert_eq!(code, 0);
    assert!(out.contains(streamed.trim()), "{out}");

    let (code, _, err) = run(
        data.path(),
        &["ask", "--provider", "local", "--model", "nope", "hi"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("error [model]: there is no local model \"nope\""),
        "{err}"
    );
    let (code, out, _) = run(data.path(), &["models", "remove", "smol"]).await;
    assert_eq!((code, out.trim()), (0, "removed smol"));
    let (code, _, err) = run(data.path(), &["models", "remove", "smol"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("no local model \"smol\""), "{err}");
}

#[tokio::test]
async fn sampling_flags_are_checked_for_every_provider() {
    let data = TempDir::new("cli-sampling");
    for (flags, says) in [
        (
            &["--temperature", "3"][..],
            "the temperature must be between 0 and 2",
        ),
        (&["--top-p", "0"][..], "top-p must be above 0"),
        (&["--max-tokens", "0"][..], "max tokens must be at least 1"),
    ] {
        let (code, _, err) = run(data.path(), &[&["ask"][..], flags, &["hi"]].concat()).await;
        assert_eq!(code, 2, "{flags:?}");
        assert!(err.contains(says), "{err}");
    }
}

#[tokio::test]
async fn sampling_flags_reach_an_openai_compatible_server() {
    let server = TestServer::always(Reply::sse(runnel_testsupport::answer_stream(&["ok"]))).await;
    let data = TempDir::new("cli-sampling-http");
    let url = server.base_url();
    let flags = [
        "ask",
        "--temperature",
        "0.2",
        "--top-p",
        "0.5",
        "--max-tokens",
        "77",
        "hi",
    ];
    ask_server(data.path(), &url, &flags).await;
    let body = server.chat_requests()[0].json();
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(body["top_p"], 0.5);
    assert_eq!(body["max_tokens"], 77);

    // A stored conversation keeps its sampling; a flag changes one value.
    let save = [
        "ask",
        "--save",
        "--json",
        "--temperature",
        "0.3",
        "--max-tokens",
        "50",
        "hi",
    ];
    let out = ask_server(data.path(), &url, &save).await;
    let id = last_json(&out)["conversation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    ask_server(
        data.path(),
        &url,
        &["ask", "--conversation", &id, "--max-tokens", "60", "again"],
    )
    .await;
    let body = server.chat_requests().last().unwrap().json();
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["max_tokens"], 60);
    assert!(body.get("top_p").is_none());
}

#[tokio::test]
async fn pull_downloads_from_a_hub_with_progress_and_refuses_what_is_not_a_model() {
    let data = TempDir::new("cli-pull");
    let src = data.path().join("src.gguf");
    let pad = "x".repeat(2 * 1024 * 1024);
    gguf::write_test_file(
        &src,
        &[("general.architecture", "qwen2"), ("x.pad", &pad)],
        &[],
    )
    .unwrap();
    let body = Arc::new(std::fs::read(&src).unwrap());
    let sha = sha256_of(&src).unwrap();
    let served = body.clone();
    let server = TestServer::start(move |req, _| {
        if req.path_only() == "/files/tiny.gguf" {
            file_reply(&served, req, None)
        } else {
            Reply::text(200, "<!doctype html>not a model")
        }
    })
    .await;
    let url = format!("http://{}/files/tiny.gguf", server.addr);
    let (code, _, err) = run(
        data.path(),
        &["models", "pull", &url, "--sha256", &"f".repeat(64)],
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("sha256 is") && err.contains("it was deleted"),
        "{err}"
    );
    let (code, out, err) = run(data.path(), &["models", "pull", &url, "--sha256", &sha]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("installed tiny"), "{out}");
    assert!(err.contains("100%"), "progress on stderr: {err}");
    assert!(err.contains("checking the file"), "{err}");
    assert!(
        err.contains("/s") && err.contains("left"),
        "rate and time left: {err}"
    );
    assert!(!err.contains("unverified"), "{err}");
    // With no hash published or given it installs, and says it is unchecked.
    let (code, out, err) = run(
        data.path(),
        &["models", "pull", &url, "--id", "tiny-unpinned"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("installed tiny-unpinned"), "{out}");
    assert!(
        err.contains("installed unverified") && err.contains(&sha),
        "{err}"
    );
    let page = format!("http://{}/files/page.gguf", server.addr);
    let (code, _, err) = run(data.path(), &["models", "pull", &page]).await;
    assert_eq!(code, 1);
    assert!(err.contains("not a GGUF model file"), "{err}");
    let (code, _, err) = run(data.path(), &["models", "pull", "no-such-model"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("neither a catalog model"), "{err}");
}

#[tokio::test]
async fn a_catalog_pull_goes_to_the_mirror_in_runnel_hf_endpoint() {
    let data = TempDir::new("cli-mirror");
    let server = TestServer::always(Reply::text(404, "no such file")).await;
    let out = runnel(data.path())
        .env(
            "RUNNEL_HF_ENDPOINT",
            format!("http://{}/mirror", server.addr),
        )
        .args(["models", "pull", "smollm2-360m"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTTP 404"), "{err}");
    let path = server.requests()[0].path.clone();
    assert_eq!(
        path,
        "/mirror/bartowski/SmolLM2-360M-Instruct-GGUF/resolve/7be6f65f1db715fe5dc5a4634c0d459b4eed42ec/SmolLM2-360M-Instruct-Q4_K_M.gguf"
    );
}

#[tokio::test]
async fn importing_a_truncated_or_renamed_file_is_a_clear_error() {
    let Some(model) = test_model_or_skip() else {
        return;
    };
    let data = TempDir::new("cli-import-bad");
    let cut = data.path().join("cut.gguf");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (code, _, err) = run(data.path(), &["models", "import", cut.to_str().unwrap()]).await;
    assert_eq!(code, 1);
    assert!(err.contains("is truncated"), "{err}");
    let renamed = data.path().join("notes.gguf");
    std::fs::write(&renamed, "just some notes").unwrap();
    let (code, _, err) = run(
        data.path(),
        &["models", "import", renamed.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("not a GGUF model file"), "{err}");
    let (_, out, _) = run(data.path(), &["models", "list", "--json"]).await;
    assert_eq!(last_json(&out)["installed"], serde_json::json!([]));
}
