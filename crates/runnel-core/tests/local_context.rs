//! A conversation longer than a local model's context: the oldest turns
//! are left out (never the system prompt) and the user is told. Its own test
//! binary, as it shrinks the process's local context to 1024 tokens.

use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::local::{LocalConfig, LocalRuntime};
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent, Outcome};
use runnel_core::protocol::Sampling;
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_testsupport::temp::TempDir;
use runnel_testsupport::test_model_or_skip;
use tokio_util::sync::CancellationToken;

/// The tests here change the process's local runtime settings: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_longer_than_the_context_drops_its_oldest_turns_and_says_so() {
    let _one = SERIAL.lock().await;
    let Some(model) = test_model_or_skip() else {
        return;
    };
    let dir = TempDir::new("local-context");
    std::fs::copy(&model, dir.path().join("smol.gguf")).unwrap();
    let rt = LocalRuntime::global();
    let before = rt.config();
    rt.set_config(LocalConfig {
        context: 1024,
        ..before.clone()
    });
    let mut msgs = vec![ChatMessage::new(
        Role::System,
        "Remember the code word: heron.",
    )];
    for i in 0..20 {
        msgs.push(ChatMessage::new(
            Role::User,
            format!("Message {i}: {}", "lorem ipsum dolor sit amet ".repeat(20)),
        ));
        msgs.push(ChatMessage::new(Role::Assistant, "Noted."));
    }
    msgs.push(ChatMessage::new(Role::User, "What is the code word?"));
    let mut trimmed = Vec::new();
    let mut e = Endpoint::local(dir.path(), "smol");
    e.sampling = Sampling {
        temperature: Some(0.0),
        top_p: None,
        max_tokens: Some(16),
    };
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let r = engine
        .chat(
            &e,
            &msgs,
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |ev| {
                if let EngineEvent::ContextTrimmed { dropped, context } = ev {
                    trimmed.push((dropped, context));
                }
            },
        )
        .await;
    rt.set_config(before);
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    // Said once, with the count, before the answer; and kept with the
    // answer's metrics, which are stored with it (a reopened conversation
    // says it too).
    assert_eq!(trimmed.len(), 1, "{trimmed:?}");
    let (dropped, context) = trimmed[0];
    assert_eq!(context, 1024);
    assert!((2..41).contains(&dropped), "{dropped}");
    assert_eq!(r.metrics.context_dropped, Some(dropped));
    let stored = serde_json::to_string(&r.metrics).unwrap();
    let back: runnel_core::engine::Metrics = serde_json::from_str(&stored).unwrap();
    assert_eq!(back.context_dropped, Some(dropped));
    assert!(r.usage.input_tokens <= 1024 - 16);
    assert!(r.usage.input_tokens > 700, "as many turns as fit are kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_stays_loaded_and_is_unloaded_after_the_idle_time() {
    let _one = SERIAL.lock().await;
    let Some(model) = test_model_or_skip() else {
        return;
    };
    let dir = TempDir::new("local-idle");
    let path = dir.path().join("smol.gguf");
    std::fs::copy(&model, &path).unwrap();
    let rt = LocalRuntime::global();
    assert!(!rt.is_loaded(&path));
    let mut e = Endpoint::local(dir.path(), "smol");
    e.sampling.max_tokens = Some(2);
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let msgs = vec![ChatMessage::new(Role::User, "hi")];
    let r = engine
        .chat(
            &e,
            &msgs,
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert!(
        rt.is_loaded(&path),
        "the model stays loaded after an answer"
    );
    let before = rt.config();
    rt.set_config(LocalConfig {
        idle_unload: std::time::Duration::from_secs(3600),
        ..before.clone()
    });
    rt.unload_idle();
    assert!(rt.is_loaded(&path), "not idle long enough");
    rt.set_config(LocalConfig {
        idle_unload: std::time::Duration::ZERO,
        ..before.clone()
    });
    rt.unload_idle();
    assert!(!rt.is_loaded(&path), "unloaded once idle");
    rt.set_config(before);
}

#[test]
fn threads_come_from_the_setting_then_runnel_local_threads_then_the_physical_cores() {
    let _one = SERIAL.blocking_lock();
    let cores = runnel_core::engine::local::system::physical_cores();
    assert!(cores >= 1);
    let set = LocalConfig {
        threads: Some(3),
        ..LocalConfig::default()
    };
    assert_eq!(set.threads(), 3);
    // SAFETY of the test: this binary's other tests do not read the variable.
    std::env::set_var("RUNNEL_LOCAL_THREADS", "5");
    assert_eq!(LocalConfig::default().threads(), 5);
    assert_eq!(set.threads(), 3, "the setting wins");
    std::env::set_var("RUNNEL_LOCAL_THREADS", "zero");
    assert_eq!(
        LocalConfig::default().threads(),
        cores,
        "a bad value is ignored"
    );
    std::env::remove_var("RUNNEL_LOCAL_THREADS");
    assert_eq!(LocalConfig::default().threads(), cores);
}
