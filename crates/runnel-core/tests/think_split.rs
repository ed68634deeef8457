//! Inline `<think>…</think>` reasoning (Qwen3, DeepSeek-R1 distills, through
//! Ollama and other OpenAI-compatible servers) lands in the reasoning
//! section, never in the answer, at every byte split of the SSE stream,
//! UTF-8 characters cut in the middle included.

use runnel_core::protocol::sse::SseDecoder;
use runnel_core::protocol::{Control, ProviderKind};
use runnel_core::types::answer::{Answer, Delta};
use std::ops::ControlFlow;

/// An OpenAI-compatible stream whose content pieces are `pieces`.
fn stream(pieces: &[&str]) -> Vec<u8> {
    let mut out = String::new();
    for p in pieces {
        let chunk = serde_json::json!({
            "id": "c1", "object": "chat.completion.chunk", "model": "qwen3",
            "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]
        });
        out.push_str(&format!("data: {chunk}\n\n"));
    }
    let end = serde_json::json!({
        "id": "c1", "object": "chat.completion.chunk", "model": "qwen3",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    });
    out.push_str(&format!("data: {end}\n\ndata: [DONE]\n\n"));
    out.into_bytes()
}

/// Feeds `bytes` cut at `cuts` and assembles the answer.
fn assemble(bytes: &[u8], cuts: &[usize]) -> Answer {
    let mut decoder = SseDecoder::new();
    let mut assembler = ProviderKind::OpenaiCompatible.assembler();
    let mut answer = Answer::default();
    let mut deltas: Vec<Delta> = Vec::new();
    let mut from = 0;
    for &c in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let _ = decoder.feed_with(&bytes[from..c], &mut |ev| {
            let control = assembler.on_event(ev, &mut deltas).unwrap();
            for d in deltas.drain(..) {
                answer.apply(&d);
            }
            match control {
                Control::Done => ControlFlow::Break(()),
                Control::Continue => ControlFlow::Continue(()),
            }
        });
        from = c;
    }
    answer
}

const PIECES: &[&str] = &[
    "<th",
    "ink>\nThe user",
    " asks 2+2 — é",
    "✓ 🦀.\n</th",
    "ink>\n\n",
    "**4** ",
    "(<think> is just text here)",
];

#[test]
fn inline_thinking_is_reasoning_at_every_byte_split() {
    let bytes = stream(PIECES);
    let whole = assemble(&bytes, &[]);
    assert_eq!(
        whole.reasoning.as_deref(),
        Some("\nThe user asks 2+2 — é✓ 🦀.\n")
    );
    assert_eq!(whole.text, "**4** (<think> is just text here)");
    assert_eq!(whole.finish_reason.as_deref(), Some("stop"));
    for i in 1..bytes.len() {
        let a = assemble(&bytes, &[i]);
        assert_eq!(
            (&a.reasoning, &a.text),
            (&whole.reasoning, &whole.text),
            "split at byte {i}"
        );
    }
}

#[test]
fn inline_thinking_is_reasoning_however_the_tags_are_cut_into_pieces() {
    let joined: String = PIECES.concat();
    let expected = assemble(&stream(PIECES), &[]);
    for (i, _) in joined.char_indices().skip(1) {
        let a = assemble(&stream(&[&joined[..i], &joined[i..]]), &[]);
        assert_eq!(
            (&a.reasoning, &a.text),
            (&expected.reasoning, &expected.text),
            "pieces cut at {i}"
        );
    }
}

#[test]
fn an_answer_without_a_leading_think_tag_is_left_alone() {
    let a = assemble(
        &stream(&["Use ", "<think>", " tags like </think> this."]),
        &[],
    );
    assert_eq!(a.reasoning, None);
    assert_eq!(a.text, "Use <think> tags like </think> this.");
}
