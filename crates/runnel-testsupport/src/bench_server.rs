//! The benchmarks' loopback stream server: realistic chat.completion.chunk
//! events, as fast as possible or at a set rate, each stamped with its send
//! time. Also answers `GET /models`. Shared by the engine and window benchmarks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const WORDS: &[&str] = &[
    " the", " stream", " token", " answer", " model", " fast", " window", " render", " block",
    " code", " and", " of", " to", " is", " in", " that", " it", " for", " with", " as",
];

/// What the server sends for one request.
#[derive(Clone, Copy)]
pub enum Script {
    /// `n` chunks in one go (as fast as the socket takes them).
    Burst(usize),
    /// `n` chunks, one every `every`, each stamped with its send time (µs).
    Paced(usize, Duration),
    /// `n` tokens at `per_s` tokens per second, sent in 2 ms batches, each
    /// stamped `t<ms since the epoch>`, a paragraph break every 40 tokens.
    /// A request whose text says `CODE_REQUEST` gets the same tokens as code
    /// ([`code_token`]): fenced Rust blocks, a line of prose between them.
    Rate(usize, u32),
}

/// The request text that asks [`Script::Rate`] for an answer that is code.
pub const CODE_REQUEST: &str = "code please";

/// A model name that sets [`Script::Rate`]'s rate and length for its
/// request: `bench-rate-<tokens per s>-tokens-<n>` (Compare's columns ask
/// one server for streams of their own).
pub fn rate_model(per_s: u32, tokens: usize) -> String {
    format!("{RATE_MODEL}{per_s}-tokens-{tokens}")
}

const RATE_MODEL: &str = "bench-rate-";

/// The rate and length a request's model name asks for, if it does.
fn rate_in(request: &str) -> Option<(usize, u32)> {
    let rest = &request[request.find(RATE_MODEL)? + RATE_MODEL.len()..];
    let digits = |s: &str| -> Option<usize> {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        s[..end].parse().ok()
    };
    let per_s = digits(rest)?;
    let n = digits(rest.split_once("-tokens-")?.1)?;
    Some((n, u32::try_from(per_s).ok()?.max(1)))
}

/// Tokens per line of code, and lines per code block, in a code answer.
const CODE_LINE_TOKENS: usize = 8;
const CODE_BLOCK_LINES: usize = 40;

/// Token `i` (from 0) of a code answer, stamped `t<ms>`: each line is
/// `let tA = tB + … + tG; // step`, each block 40 such lines in a Rust fence,
/// then one line of prose.
pub fn code_token(i: usize, ms: u128) -> String {
    let per_block = CODE_LINE_TOKENS * CODE_BLOCK_LINES;
    let mut out = String::new();
    if i.is_multiple_of(per_block) {
        if i > 0 {
            out.push_str("```\n\n");
        }
        out.push_str(&format!("Step t{ms}, in Rust:\n\n```rust\nfn step() {{\n"));
        return out;
    }
    match i % CODE_LINE_TOKENS {
        0 => out.push_str(&format!("    let t{ms} = ")),
        7 => out.push_str(&format!("t{ms}; // a step\n")),
        _ => out.push_str(&format!("t{ms} + ")),
    }
    out
}

fn chunk(content: &str) -> String {
    // The shape of a real OpenAI chunk (ids, model, fingerprint, logprobs: null).
    format!(
        "data: {{\"id\":\"chatcmpl-AbCdEfGhIjKlMnOpQrStUv\",\"object\":\"chat.completion.chunk\",\"created\":1727346168,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_5050236cbd\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{}}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n",
        serde_json::Value::String(content.to_owned())
    )
}

fn finish() -> String {
    "data: {\"id\":\"chatcmpl-AbCdEfGhIjKlMnOpQrStUv\",\"object\":\"chat.completion.chunk\",\"created\":1727346168,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"chatcmpl-AbCdEfGhIjKlMnOpQrStUv\",\"object\":\"chat.completion.chunk\",\"created\":1727346168,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":200000,\"total_tokens\":200012}}\n\ndata: [DONE]\n\n".to_owned()
}

pub fn burst_body(n: usize) -> Vec<u8> {
    let mut body = String::with_capacity(n * 260);
    for i in 0..n {
        body.push_str(&chunk(WORDS[i % WORDS.len()]));
    }
    body.push_str(&finish());
    body.into_bytes()
}

pub fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

/// The loopback stream server: answers every request with `script`.
pub async fn serve(script: Script) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let burst = match script {
        Script::Burst(n) => burst_body(n),
        Script::Paced(..) | Script::Rate(..) => Vec::new(),
    };
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock.set_nodelay(true);
            let burst = burst.clone();
            tokio::spawn(async move {
                // Read the request head and body.
                let mut buf = Vec::new();
                let mut tmp = [0u8; 16384];
                loop {
                    let Ok(n) = sock.read(&mut tmp).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                if buf.starts_with(b"GET ") {
                    let body =
                        r#"{"object":"list","data":[{"id":"bench-model","object":"model"}]}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(reply.as_bytes()).await;
                    return;
                }
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                match script {
                    Script::Burst(_) => {
                        let _ = sock.write_all(&burst).await;
                    }
                    Script::Rate(n, per_s) => {
                        let request = String::from_utf8_lossy(&buf);
                        let code = request.contains(CODE_REQUEST);
                        let (n, per_s) = rate_in(&request).unwrap_or((n, per_s));
                        let mut tick = tokio::time::interval(Duration::from_millis(2));
                        let per_batch = (per_s as usize / 500).max(1);
                        let mut sent = 0;
                        while sent < n {
                            tick.tick().await;
                            let ms = now_us() / 1000;
                            let mut batch = String::new();
                            for _ in 0..per_batch.min(n - sent) {
                                let token = if code {
                                    code_token(sent, ms)
                                } else {
                                    let sep = if (sent + 1).is_multiple_of(40) {
                                        "\n\n"
                                    } else {
                                        " "
                                    };
                                    format!("t{ms}{sep}")
                                };
                                sent += 1;
                                batch.push_str(&chunk(&token));
                            }
                            if sock.write_all(batch.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        let _ = sock.write_all(finish().as_bytes()).await;
                    }
                    Script::Paced(n, every) => {
                        let mut tick = tokio::time::interval(every);
                        for _ in 0..n {
                            tick.tick().await;
                            let c = chunk(&format!("t{} ", now_us()));
                            if sock.write_all(c.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        let _ = sock.write_all(finish().as_bytes()).await;
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}
