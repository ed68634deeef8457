//! Local models in the real window: a model installed in the models folder
//! answers with no key and no server (picked in the provider·model picker,
//! typed out, stopped with its partial text kept); on a first start with
//! none, "Chat offline on this computer" downloads the catalog's default
//! model from the hub (here a loopback mirror through RUNNEL_HF_ENDPOINT)
//! with its progress, and the download can be cancelled.

use runnel_testsupport as common;

use common::window::{
    can_run, click, connect, css, eventually, pick_model, send_text, start_driver_with, text,
    text_or_empty,
};
use common::{test_model_or_skip, End, Reply, TestServer};
use fantoccini::{Client, Locator};
use std::time::Duration;

async fn answer(c: &Client, nth: usize) -> (String, String) {
    let all = c
        .find_all(Locator::Css("[data-testid=message][data-role=assistant]"))
        .await
        .unwrap_or_default();
    let Some(m) = all.get(nth) else {
        return (String::new(), String::new());
    };
    let status = m
        .attr("data-status")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let text = match m.find(Locator::Css("[data-testid=answer]")).await {
        Ok(a) => a.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pick_the_local_model_send_watch_it_type_out_and_stop() {
    if !can_run() {
        return;
    }
    let Some(model) = test_model_or_skip() else {
        return;
    };
    let models = common::temp::TempDir::new("ui-local-models");
    std::fs::copy(&model, models.path().join("smol-135m.gguf")).expect("copy the model");
    let dir = models.path().to_str().unwrap().to_owned();
    let driver = start_driver_with(&[("RUNNEL_MODELS_DIR", &dir)]).await;
    let c = connect(&driver).await;
    // A model is installed: no onboarding, and the picker lists it.
    let onboarding = css(&c, "[data-testid=onboarding]").await;
    assert!(
        onboarding.attr("hidden").await.unwrap().is_some(),
        "no onboarding with a local model"
    );
    pick_model(&c, "smol-135m").await;
    let line = eventually(20, "the model in use", || async {
        let t = text(&c, "[data-testid=provider-select]").await;
        t.contains("smol-135m").then_some(t)
    })
    .await;
    assert!(line.contains("smol-135m"), "{line}");

    send_text(
        &c,
        "Write a very long story about a lighthouse keeper and the sea.",
    )
    .await;
    let first = eventually(60, "the answer typing out", || async {
        let (s, t) = answer(&c, 0).await;
        (s == "streaming" && t.split_whitespace().count() >= 3).then_some(t)
    })
    .await;
    eventually(30, "more of the answer", || async {
        let (_, t) = answer(&c, 0).await;
        (t.len() > first.len()).then_some(())
    })
    .await;
    click(&c, "[data-testid=cancel]").await;
    let (_, partial) = eventually(10, "the answer cancelled", || async {
        let (s, t) = answer(&c, 0).await;
        (s == "cancelled").then_some((s, t))
    })
    .await;
    assert!(
        partial.len() >= first.len(),
        "the partial text is kept: {partial:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(answer(&c, 0).await.1, partial, "nothing arrives after Stop");

    // The model stays loaded and answers the next send (stopped too: a small
    // model at the default sampling may go on for thousands of tokens). A
    // long answer is asked for: a short one ("Say hello.") once ended on its
    // own between the test seeing it type and clicking Stop (a clean-clone
    // CI run), so it was done, not cancelled.
    send_text(
        &c,
        "Now write another very long story, about a fisherman and a storm.",
    )
    .await;
    eventually(60, "the next answer typing out", || async {
        let (s, t) = answer(&c, 1).await;
        (s == "streaming" && !t.trim().is_empty()).then_some(())
    })
    .await;
    click(&c, "[data-testid=cancel]").await;
    eventually(10, "the next answer cancelled", || async {
        (answer(&c, 1).await.0 == "cancelled").then_some(())
    })
    .await;
    // llama.cpp's own token counts, not an estimate.
    let all = c
        .find_all(Locator::Css(
            "[data-testid=message][data-role=assistant] [data-testid=metrics]",
        ))
        .await
        .unwrap();
    let metrics = all.last().expect("the metrics line");
    assert_eq!(
        metrics
            .attr("data-usage-estimated")
            .await
            .unwrap()
            .as_deref(),
        Some("false")
    );
    let output: u64 = metrics
        .attr("data-output-tokens")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(output > 0);
    let _ = c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_offers_chat_offline_and_its_download_shows_progress_and_cancels() {
    if !can_run() {
        return;
    }
    // A mirror that sends the file slowly, never finishing.
    let server = TestServer::start(|_, _| {
        let pieces = (0..2000)
            .map(|_| (Duration::from_millis(20), vec![0u8; 64 * 1024]))
            .collect();
        Reply::Stream {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/octet-stream".into()),
                ("X-Linked-Size".into(), "1117320736".into()),
            ],
            pieces,
            end: End::Hang,
        }
    })
    .await;
    let models = common::temp::TempDir::new("ui-local-empty");
    let dir = models.path().to_str().unwrap().to_owned();
    let mirror = format!("http://{}/hub", server.addr);
    let driver =
        start_driver_with(&[("RUNNEL_MODELS_DIR", &dir), ("RUNNEL_HF_ENDPOINT", &mirror)]).await;
    let c = connect(&driver).await;
    let onboarding = css(&c, "[data-testid=onboarding]").await;
    assert!(
        onboarding.attr("hidden").await.unwrap().is_none(),
        "onboarding on a first start"
    );
    let hint = eventually(20, "the offline offer", || async {
        let t = text(&c, "[data-testid=onboarding-offline-hint]").await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert!(
        hint.contains("Qwen2.5 1.5B Instruct") && hint.contains("1.1 GB"),
        "{hint}"
    );
    // Nothing is preselected that is not there.
    let preset = css(&c, "[data-testid=onboarding-preset]").await;
    assert_eq!(preset.prop("value").await.unwrap().as_deref(), Some(""));

    click(&c, "[data-testid=onboarding-offline]").await;
    let progress = eventually(20, "download progress", || async {
        let t = text(&c, "[data-testid=model-download-text]").await;
        t.contains(" of 1.1 GB").then_some(t)
    })
    .await;
    assert!(progress.contains("/s"), "{progress}");
    let bar = css(&c, "[data-testid=model-download-progress]").await;
    assert!(bar.attr("value").await.unwrap().is_some());
    let path = server.requests()[0].path.clone();
    assert!(
        path.starts_with("/hub/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/"),
        "the catalog's default model, from the mirror: {path}"
    );
    click(&c, "[data-testid=model-download-cancel]").await;
    let error = eventually(10, "the download stopped", || async {
        let t = text(&c, "[data-testid=model-download-error]").await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert!(error.contains("Download stopped"), "{error}");
    let download = css(&c, "[data-testid=model-download]").await;
    assert!(download.attr("hidden").await.unwrap().is_some());
    // The part stays for a resume.
    assert!(models.path().join("qwen2.5-1.5b.gguf.partial").exists());
    let _ = c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_chosen_by_the_composer_goes_with_each_send_and_stays_with_the_conversation() {
    if !can_run() {
        return;
    }
    let server = TestServer::start(common::chat_and_models(&["e2e-model"], |_, _| {
        Reply::sse(common::answer_stream(&["Sampled", " answer"]))
    }))
    .await;
    let driver = common::window::start_driver(&server.base_url()).await;
    let c = connect(&driver).await;
    assert_eq!(text(&c, "[data-testid=sampling-toggle]").await, "Sampling");
    click(&c, "[data-testid=sampling-toggle]").await;
    css(&c, "[data-testid=sampling-temperature]")
        .await
        .send_keys("0.4")
        .await
        .unwrap();
    css(&c, "[data-testid=sampling-max-tokens]")
        .await
        .send_keys("100")
        .await
        .unwrap();
    assert_eq!(
        text(&c, "[data-testid=sampling-toggle]").await,
        "temp 0.4 · ≤ 100 tokens"
    );
    send_text(&c, "hello").await;
    eventually(20, "the answer done", || async {
        (answer(&c, 0).await.0 == "done").then_some(())
    })
    .await;
    let body = server.chat_requests()[0].json();
    assert_eq!(body["temperature"], 0.4);
    assert_eq!(body["max_tokens"], 100);
    assert!(
        body.get("top_p").is_none(),
        "unset values are left to the provider"
    );
    // A new chat starts from the defaults; the stored one brings its own back.
    click(&c, "[data-testid=clear]").await;
    eventually(10, "the defaults", || async {
        (text(&c, "[data-testid=sampling-toggle]").await == "Sampling").then_some(())
    })
    .await;
    click(&c, "[data-testid=conversation-item]").await;
    eventually(10, "the conversation's sampling", || async {
        (text(&c, "[data-testid=sampling-toggle]").await == "temp 0.4 · ≤ 100 tokens").then_some(())
    })
    .await;
    // Out of range: the send is refused with the reason, nothing is sent.
    common::window::js(&c, "document.getElementById('sampling-box').open = true").await;
    let t = css(&c, "[data-testid=sampling-temperature]").await;
    t.clear().await.unwrap();
    t.send_keys("7").await.unwrap();
    send_text(&c, "again").await;
    // Polled until it is drawn: `text` would fail at once on the first poll
    // that comes before it (the flake seen under the full suite's load).
    let error = eventually(10, "the range error", || async {
        let t = common::window::text_or_empty(
            &c,
            "[data-testid=message][data-role=assistant] [data-testid=error]",
        )
        .await;
        t.contains("temperature must be between 0 and 2")
            .then_some(t)
    })
    .await;
    assert!(!error.is_empty());
    assert_eq!(server.chat_requests().len(), 1);
    let _ = c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_local_models_lists_the_catalog_downloads_imports_and_removes() {
    if !can_run() {
        return;
    }
    // The mirror: Qwen2.5 0.5B arrives slowly and never ends (progress and
    // Cancel); SmolLM2 360M arrives whole but is not the published file
    // (the pinned sha256 refuses it).
    let server = TestServer::start(|req, _| {
        if req.path.contains("SmolLM2-360M") {
            return Reply::Full {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: vec![7u8; 256 * 1024],
            };
        }
        Reply::Stream {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/octet-stream".into()),
                ("X-Linked-Size".into(), "491400032".into()),
            ],
            pieces: (0..2000)
                .map(|_| (Duration::from_millis(20), vec![0u8; 64 * 1024]))
                .collect(),
            end: End::Hang,
        }
    })
    .await;
    let models = common::temp::TempDir::new("ui-local-settings");
    let outside = common::temp::TempDir::new("ui-local-import");
    let import = outside.path().join("pocket-model.gguf");
    // First a file that only has the name of a model.
    std::fs::write(&import, b"<html>not a model</html>").unwrap();
    let dir = models.path().to_str().unwrap().to_owned();
    let mirror = format!("http://{}/hub", server.addr);
    let import_s = import.to_str().unwrap().to_owned();
    let driver = start_driver_with(&[
        ("RUNNEL_MODELS_DIR", &dir),
        ("RUNNEL_HF_ENDPOINT", &mirror),
        ("RUNNEL_MODEL_IMPORT_PATH", &import_s),
    ])
    .await;
    let c = connect(&driver).await;
    click(&c, "[data-testid=settings-open]").await;

    // The catalog, each model with its size, license, context and memory.
    let row = "[data-testid=local-catalog-row][data-model-id='qwen2.5-0.5b']";
    let meta = eventually(20, "the catalog", || async {
        let t = text_or_empty(&c, &format!("{row} .meta")).await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    for part in [
        "491 MB download",
        "Apache-2.0",
        "32,768 tokens",
        "911 MB of memory",
    ] {
        assert!(meta.contains(part), "{part} in {meta:?}");
    }
    let rows = c
        .find_all(Locator::Css("[data-testid=local-catalog-row]"))
        .await
        .unwrap();
    assert!(rows.len() >= 8, "the whole catalog: {}", rows.len());

    // A download shows bytes, rate and time left, and cancels.
    click(&c, &format!("{row} [data-testid=local-catalog-download]")).await;
    let progress = eventually(20, "download progress", || async {
        let t = text_or_empty(
            &c,
            &format!("{row} [data-testid=local-catalog-progress-text]"),
        )
        .await;
        (t.contains(" of 491 MB") && t.contains("left")).then_some(t)
    })
    .await;
    assert!(progress.contains("/s"), "{progress}");
    assert!(server.requests()[0]
        .path
        .starts_with("/hub/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/"));
    click(&c, &format!("{row} [data-testid=local-catalog-cancel]")).await;
    let stopped = eventually(10, "the download stopped", || async {
        let t = text(&c, "[data-testid=local-error]").await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert!(stopped.contains("Download stopped"), "{stopped}");
    css(&c, &format!("{row} [data-testid=local-catalog-download]")).await;
    assert!(models.path().join("qwen2.5-0.5b.gguf.partial").exists());

    // A file that is not the published one is refused and deleted.
    let smol = "[data-testid=local-catalog-row][data-model-id='smollm2-360m']";
    click(&c, &format!("{smol} [data-testid=local-catalog-download]")).await;
    let refused = eventually(20, "the wrong file refused", || async {
        let t = text(&c, "[data-testid=local-error]").await;
        t.contains("sha256").then_some(t)
    })
    .await;
    assert!(refused.contains("deleted"), "{refused}");
    assert!(!models.path().join("smollm2-360m.gguf").exists());
    assert!(!models.path().join("smollm2-360m.gguf.partial").exists());

    // Import: a non-GGUF file gets a clear error and leaves nothing.
    click(&c, "[data-testid=local-import]").await;
    let bad = eventually(20, "the import refused", || async {
        let t = text(&c, "[data-testid=local-error]").await;
        t.contains("not a GGUF").then_some(t)
    })
    .await;
    assert!(bad.contains("pocket-model.gguf"), "{bad}");
    assert_eq!(
        std::fs::read_dir(models.path()).unwrap().count(),
        1,
        "only the partial"
    );
    // A real GGUF file is imported, listed with its metadata and used.
    runnel_core::engine::local::gguf::write_test_file(
        &import,
        &[
            ("general.architecture", "llama"),
            ("general.name", "Pocket"),
        ],
        &[("llama.context_length", 4096), ("general.file_type", 15)],
    )
    .unwrap();
    click(&c, "[data-testid=local-import]").await;
    let installed = "[data-testid=local-model-row][data-model-id='pocket-model']";
    let listed = eventually(20, "the imported model listed", || async {
        let t = text_or_empty(&c, &format!("{installed} .meta")).await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert!(
        listed.contains("llama") && listed.contains("Q4_K_M"),
        "{listed}"
    );
    assert_eq!(
        text(&c, "[data-testid=local-result]").await,
        "Imported pocket-model."
    );
    assert!(models.path().join("pocket-model.gguf").exists());
    // It was the first model: the local provider now uses it by default.
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            driver
                .dirs
                .as_ref()
                .expect("the app's dirs")
                .0
                .join("config/dev.runnel.app/settings.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(settings["default_provider"], "local");

    // Remove asks first, then deletes the file.
    click(&c, &format!("{installed} [data-testid=local-model-remove]")).await;
    click(&c, "[data-testid=dialog-ok]").await;
    eventually(10, "the model removed", || async {
        c.find(Locator::Css(installed)).await.is_err().then_some(())
    })
    .await;
    assert!(!models.path().join("pocket-model.gguf").exists());
    let _ = c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_longer_than_the_context_says_so_and_says_it_again_when_reopened() {
    if !can_run() {
        return;
    }
    let Some(model) = test_model_or_skip() else {
        return;
    };
    let models = common::temp::TempDir::new("ui-local-context");
    std::fs::copy(&model, models.path().join("smol-135m.gguf")).expect("copy the model");
    let dir = models.path().to_str().unwrap().to_owned();
    let driver = start_driver_with(&[("RUNNEL_MODELS_DIR", &dir)]).await;
    let c = connect(&driver).await;

    // The context's size is a setting: its default is shown, 512 is saved.
    click(&c, "[data-testid=settings-open]").await;
    let default = eventually(20, "the context's default", || async {
        let t = text_or_empty(&c, "#local-context-default").await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert!(default.contains("8,192"), "{default}");
    let field = css(&c, "[data-testid=local-context]").await;
    field.send_keys("512").await.unwrap();
    click(&c, "[data-testid=local-save]").await;
    eventually(10, "saved", || async {
        (!text(&c, "[data-testid=local-result]").await.is_empty()).then_some(())
    })
    .await;
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            driver
                .dirs
                .as_ref()
                .expect("the app's dirs")
                .0
                .join("config/dev.runnel.app/settings.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(settings["local"]["context"], 512);
    click(&c, "[data-testid=settings-close]").await;

    pick_model(&c, "smol-135m").await;
    click(&c, "[data-testid=sampling-toggle]").await;
    css(&c, "[data-testid=sampling-max-tokens]")
        .await
        .send_keys("8")
        .await
        .unwrap();
    // Each message alone fits in 512 tokens; the two together do not.
    let long = |n: &str| format!("Note {n}: {}", "lorem ipsum dolor sit amet ".repeat(35));
    send_text(&c, &long("one")).await;
    eventually(60, "the first answer", || async {
        (answer(&c, 0).await.0 == "done").then_some(())
    })
    .await;
    send_text(&c, &long("two")).await;
    eventually(60, "the second answer", || async {
        (answer(&c, 1).await.0 == "done").then_some(())
    })
    .await;
    let notices = || async {
        let mut out = Vec::new();
        for m in c
            .find_all(Locator::Css("[data-testid=message][data-role=assistant]"))
            .await
            .unwrap_or_default()
        {
            let n = m
                .find(Locator::Css("[data-testid=stream-notice]"))
                .await
                .unwrap();
            let shown = n.is_displayed().await.unwrap_or(false);
            out.push(if shown {
                n.text().await.unwrap_or_default()
            } else {
                String::new()
            });
        }
        out
    };
    let live = notices().await;
    assert_eq!(live.len(), 2, "{live:?}");
    assert_eq!(live[0], "", "the first answer had room");
    assert!(
        live[1].contains("longer than the model's context") && live[1].contains("(2)"),
        "the first exchange was left out: {live:?}"
    );
    // Reopened, the answer says it again (from its stored metrics).
    click(&c, "[data-testid=clear]").await;
    eventually(10, "the new chat", || async {
        c.find(Locator::Css("[data-testid=message]"))
            .await
            .is_err()
            .then_some(())
    })
    .await;
    click(&c, "[data-testid=conversation-item]").await;
    let reopened = eventually(10, "the conversation reopened", || async {
        let n = notices().await;
        (n.len() == 2).then_some(n)
    })
    .await;
    assert_eq!(reopened, live);
    let _ = c.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_downloads_the_offered_model_and_the_first_chat_works_with_the_mirror_gone() {
    if !can_run() {
        return;
    }
    let Some(model) = test_model_or_skip() else {
        return;
    };
    // A team catalog (RUNNEL_MODEL_CATALOG) offers the test model first, with
    // its real size and sha256, from a loopback mirror.
    let bytes = std::fs::read(&model).expect("the test model");
    let sha = runnel_core::engine::local::download::sha256_of(&model).unwrap();
    let files = common::temp::TempDir::new("ui-local-offline");
    let catalog = files.path().join("catalog.json");
    std::fs::write(
        &catalog,
        serde_json::json!({
            "default": "smol-135m",
            "models": [{
                "id": "smol-135m", "name": "SmolLM2 135M Instruct (team)",
                "repo": "team/smol", "revision": "main", "file": "smol-135m.gguf",
                "size": bytes.len(), "sha256": sha, "license": "Apache-2.0", "context": 2048,
            }],
        })
        .to_string(),
    )
    .unwrap();
    let served = bytes.clone();
    let server = TestServer::start(move |_, _| Reply::Full {
        status: 200,
        headers: vec![("Content-Type".into(), "application/octet-stream".into())],
        body: served.clone(),
    })
    .await;
    let models = common::temp::TempDir::new("ui-local-offline-models");
    let dir = models.path().to_str().unwrap().to_owned();
    let mirror = format!("http://{}/hub", server.addr);
    let catalog_s = catalog.to_str().unwrap().to_owned();
    let driver = start_driver_with(&[
        ("RUNNEL_MODELS_DIR", &dir),
        ("RUNNEL_HF_ENDPOINT", &mirror),
        ("RUNNEL_MODEL_CATALOG", &catalog_s),
    ])
    .await;
    let c = connect(&driver).await;
    let hint = eventually(20, "the offline offer", || async {
        let t = text(&c, "[data-testid=onboarding-offline-hint]").await;
        (!t.is_empty()).then_some(t)
    })
    .await;
    assert!(hint.contains("SmolLM2 135M Instruct (team)"), "{hint}");
    click(&c, "[data-testid=onboarding-offline]").await;
    eventually(60, "the download done and onboarding gone", || async {
        let o = css(&c, "[data-testid=onboarding]").await;
        o.attr("hidden").await.ok().flatten().map(|_| ())
    })
    .await;
    assert_eq!(
        std::fs::read(models.path().join("smol-135m.gguf")).unwrap(),
        bytes,
        "the whole file, checked and renamed"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].path,
        "/hub/team/smol/resolve/main/smol-135m.gguf"
    );
    // The mirror is gone: the first chat needs no network.
    drop(server);
    click(&c, "[data-testid=sampling-toggle]").await;
    css(&c, "[data-testid=sampling-max-tokens]")
        .await
        .send_keys("12")
        .await
        .unwrap();
    send_text(&c, "Say hello.").await;
    let (_, said) = eventually(60, "the first answer", || async {
        let (s, t) = answer(&c, 0).await;
        (s == "done").then_some((s, t))
    })
    .await;
    assert!(!said.trim().is_empty(), "an answer, offline");
    assert!(
        text(&c, "[data-testid=provider-select]")
            .await
            .contains("smol-135m"),
        "the local model is in use"
    );
    let _ = c.close().await;
}
