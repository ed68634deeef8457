//! Micro-benchmarks (criterion) of the per-token hot path: the SSE decoder,
//! the chunk assembler and the streaming markdown renderer. Under `cargo
//! test` criterion runs each once, as a check that they still work.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use runnel_core::protocol::openai::ChunkAssembler;
use runnel_core::protocol::sse::{SseDecoder, SseEvent};
use runnel_core::render::markdown::{MarkdownStream, MdOp};
use std::hint::black_box;

fn chunk(content: &str, created: usize) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-x\",\"object\":\"chat.completion.chunk\",\"created\":{created},\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"finish_reason\":null}}]}}\n\n",
        serde_json::Value::String(content.to_owned())
    )
}

/// `n` chunks; with `varying`, each one differs outside its text too (a new
/// `created`), so none matches the assembler's learnt shape and each is parsed.
fn stream_of(n: usize, varying: bool) -> Vec<u8> {
    (0..n)
        .map(|i| chunk(&format!(" word{i}"), if varying { i } else { 1 }))
        .collect::<String>()
        .into_bytes()
}

fn stream(n: usize) -> Vec<u8> {
    stream_of(n, false)
}

fn sse_decoder(c: &mut Criterion) {
    let body = stream(1000);
    let mut g = c.benchmark_group("sse_decoder");
    g.throughput(Throughput::Bytes(body.len() as u64));
    for piece in [16usize, 1400, 65536] {
        g.bench_with_input(
            BenchmarkId::new("piece_bytes", piece),
            &piece,
            |b, &piece| {
                b.iter(|| {
                    let mut d = SseDecoder::new();
                    let mut out = Vec::with_capacity(1000);
                    for p in body.chunks(piece) {
                        d.feed(black_box(p), &mut out);
                    }
                    out.len()
                })
            },
        );
    }
    g.finish();
}

fn assembler(c: &mut Criterion) {
    let mut g = c.benchmark_group("chunk_assembler");
    for (name, varying) in [("1000_chunks", false), ("1000_chunks_each_parsed", true)] {
        let events: Vec<SseEvent> = {
            let mut d = SseDecoder::new();
            let mut out = Vec::new();
            d.feed(&stream_of(1000, varying), &mut out);
            out
        };
        g.throughput(Throughput::Elements(events.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut a = ChunkAssembler::new();
                let mut out = Vec::with_capacity(2);
                let mut n = 0;
                for ev in &events {
                    let _ = a.on_event(black_box(ev), &mut out);
                    n += out.len();
                    out.clear();
                }
                n
            })
        });
    }
    g.finish();
}

fn markdown(c: &mut Criterion) {
    let text: String = (0..200)
        .map(|i| {
            if i % 10 == 0 {
                "```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n".to_owned()
            } else {
                format!("Paragraph {i} with **bold**, `code` and a [link](https://example.com). More words here.\n\n")
            }
        })
        .collect();
    let tokens: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    let mut g = c.benchmark_group("markdown_stream");
    g.throughput(Throughput::Elements(tokens.len() as u64));
    // A frame every 8 tokens, as at several thousand tokens/s.
    g.bench_function("tokens_with_a_frame_every_8", |b| {
        b.iter(|| {
            let mut md = MarkdownStream::new();
            let mut ops: Vec<MdOp> = Vec::new();
            for (i, t) in tokens.iter().enumerate() {
                md.push(black_box(t), &mut ops);
                if i % 8 == 7 {
                    md.flush(&mut ops);
                }
            }
            md.finish(&mut ops);
            ops.len()
        })
    });
    g.finish();
}

criterion_group!(benches, sse_decoder, assembler, markdown);
criterion_main!(benches);
