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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_longer_than_the_context_drops_its_oldest_turns_and_says_so() {
    let Some(model) = test_model_or_skip() else {
        return;
    };
    let dir = TempDir::new("local-context");
    std::fs::copy(&model, dir.path().join("smol.gguf")).unwrap();
    let rt = LocalRuntime::global();
    rt.set_config(LocalConfig {
        context: 1024,
        ..LocalConfig::default()
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
    let mut notices = Vec::new();
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
                if let EngineEvent::Notice(n) = ev {
                    notices.push(n);
                }
            },
        )
        .await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert!(
        notices
            .iter()
            .any(|n| n.contains("longer than this model's context") && n.contains("left out")),
        "{notices:?}"
    );
    assert!(r.usage.input_tokens <= 1024 - 16);
    assert!(r.usage.input_tokens > 700, "as many turns as fit are kept");
}
