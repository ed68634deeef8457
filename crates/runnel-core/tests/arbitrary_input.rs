//! Arbitrary bytes into every parser a hostile provider or file can reach:
//! the SSE decoder (with a small limit, so overflow paths run too), both
//! stream assemblers, the markdown splitter and the importer. None may panic,
//! and each keeps its memory bounded. More cases than the per-module tests.

use proptest::prelude::*;
use runnel_core::protocol::sse::{SseDecoder, SseEvent};
use runnel_core::protocol::ProviderKind;
use runnel_core::render::markdown::{MarkdownStream, MdOp, OPEN_BLOCK_LIMIT};
use runnel_core::store::Store;
use std::ops::ControlFlow;

/// Bytes that look like SSE often enough to reach the assemblers.
fn sse_like() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..24),
            Just(b"data: ".to_vec()),
            Just(b"\n\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"event: error\n".to_vec()),
            Just(br#"data: {"choices":[{"index":0,"delta":{"content":"x"}}]}"#.to_vec()),
            Just(br#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"y"}}"#.to_vec()),
            Just(br#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"id":"c","function":{"arguments":"{"}}]}}]}"#.to_vec()),
            Just("data: é😀\u{2028}".as_bytes().to_vec()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn the_decoder_and_assemblers_take_anything(bytes in sse_like(), cuts in proptest::collection::vec(0usize..2_000, 0..6)) {
        for kind in ProviderKind::ALL {
            let mut decoder = SseDecoder::with_limit(256);
            let mut assembler = kind.assembler();
            let mut deltas = Vec::new();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| (*c).min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut prev = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                let _ = decoder.feed_with(&bytes[prev..c], &mut |ev: &SseEvent| {
                    // A panic here fails the case (proptest catches it).
                    assert!(ev.data.len() <= 256, "an event past the limit");
                    match assembler.on_event(ev, &mut deltas) {
                        Ok(_) => ControlFlow::Continue(()),
                        Err(_) => ControlFlow::Break(()),
                    }
                });
                prev = c;
            }
            decoder.finish();
        }
    }

    #[test]
    fn the_markdown_splitter_takes_anything(text in "\\PC{0,300}", pieces in 1usize..8) {
        let mut md = MarkdownStream::new();
        let mut out: Vec<MdOp> = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(chars.len().div_ceil(pieces).max(1)) {
            let s: String = chunk.iter().collect();
            md.push(&s, &mut out);
            md.flush(&mut out);
        }
        md.finish(&mut out);
        for op in &out {
            if let MdOp::Open(html) = op {
                prop_assert!(html.len() <= 8 * OPEN_BLOCK_LIMIT);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_importer_refuses_any_garbage_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..600), json_like in "\\{\"format\": \"runnel-conversation\", \"version\": 1, \"conversation\": \\PC{0,80}") {
        let dir = runnel_testsupport::temp::TempDir::new("arbitrary-import");
        let store = Store::open(&dir.join("runnel.sqlite3")).expect("store");
        for content in [bytes.clone(), json_like.into_bytes()] {
            let path = dir.join("import.json");
            std::fs::write(&path, &content).expect("write");
            prop_assert!(store.import_file(&path).is_err());
        }
        prop_assert!(store.list(None, 10).expect("list").is_empty(), "nothing stored");
    }
}
