//! Local models against llama.cpp's own server: the same GGUF
//! (SmolLM2-135M-Instruct Q4_1), the same thread count, the same prompts and
//! the same number of generated tokens, in the same run, against
//! llama-cpp-python's OpenAI server (built from PyPI with the same portable
//! CPU flags; `RUNNEL_BENCH_PYTHON` names its Python). Both sides are timed
//! the same way, from the send to each text delta the engine emits.
//!
//! Prints numbers; asserts no speed. `cargo test` runs it tiny (Runnel only),
//! `cargo bench --bench local` at full size into `target/bench/local.json`.

use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::local::{system, LocalRuntime};
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent};
use runnel_core::protocol::Sampling;
use runnel_core::types::answer::Delta;
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_testsupport::report::{median, report};
use runnel_testsupport::temp::TempDir;
use serde_json::json;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// One timed answer: send to first text, first to last text, text deltas.
#[derive(Debug, Clone, Copy)]
struct Timed {
    ttft_ms: f64,
    gen_tokens_per_s: f64,
    deltas: u64,
    input_tokens: u64,
}

fn messages(prompt: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::new(Role::User, prompt)]
}

async fn timed(engine: &Engine, e: &Endpoint, prompt: &str) -> Timed {
    let started = Instant::now();
    let (mut first, mut last, mut n) = (None, None, 0u64);
    let r = engine
        .chat(
            e,
            &messages(prompt),
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |ev| {
                if let EngineEvent::Delta(Delta::Text(_)) = ev {
                    let now = Instant::now();
                    first.get_or_insert(now);
                    last = Some(now);
                    n += 1;
                }
            },
        )
        .await;
    let first = first.unwrap_or(started);
    let last = last.unwrap_or(first);
    let gen_s = (last - first).as_secs_f64();
    Timed {
        ttft_ms: (first - started).as_secs_f64() * 1000.0,
        gen_tokens_per_s: if gen_s > 0.0 {
            (n.saturating_sub(1)) as f64 / gen_s
        } else {
            0.0
        },
        deltas: n,
        input_tokens: r.usage.input_tokens,
    }
}

fn greedy(max_tokens: u32) -> Sampling {
    Sampling {
        temperature: Some(0.0),
        top_p: None,
        max_tokens: Some(max_tokens),
    }
}

/// A prompt of about `words` words; `run` makes each one differ from its start,
/// so no server can reuse an earlier prompt's cache.
fn long_prompt(run: usize, words: usize) -> String {
    let base =
        "The lighthouse keeper climbed the stairs each evening to light the lamp above the sea. ";
    let mut s = format!("Note {run}. ");
    while s.split_whitespace().count() < words {
        s.push_str(base);
    }
    s.push_str("Summarize this text in one sentence.");
    s
}

const STORY: &str = "Write a long story about a lighthouse keeper, with many chapters.";

/// Runs `runs` answers on each side, interleaved; medians.
async fn compare(
    engine: &Engine,
    runnel: &Endpoint,
    reference: Option<&Endpoint>,
    runs: usize,
    prompt_of: impl Fn(usize) -> String,
) -> (Vec<Timed>, Vec<Timed>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let p = prompt_of(run);
        a.push(timed(engine, runnel, &p).await);
        if let Some(r) = reference {
            b.push(timed(engine, r, &p).await);
        }
    }
    (a, b)
}

fn med(v: &[Timed], f: impl Fn(&Timed) -> f64) -> Option<f64> {
    median(&v.iter().map(f).collect::<Vec<_>>())
}

/// llama-cpp-python's server on `model`, with `threads`; None when the
/// Python is not set or has no llama_cpp.
async fn start_reference(
    engine: &Engine,
    model: &Path,
    threads: usize,
) -> Option<(tokio::process::Child, String)> {
    let python = std::env::var("RUNNEL_BENCH_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())?;
    let port = runnel_testsupport::free_port();
    let child = tokio::process::Command::new(&python)
        .args(["-m", "llama_cpp.server", "--model"])
        .arg(model)
        .args([
            "--model_alias",
            "smol",
            "--n_threads",
            &threads.to_string(),
            "--n_threads_batch",
            &threads.to_string(),
            "--n_ctx",
            "8192",
            "--n_batch",
            "512",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .ok()?;
    let url = format!("http://127.0.0.1:{port}/v1");
    let client = engine.client();
    for _ in 0..600 {
        if client
            .get(format!("{url}/models"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Some((child, url));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("notice: llama-cpp-python's server did not start: no reference numbers");
    None
}

fn rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// `runnel ask` with the model unloaded: process start to the first byte
/// of the answer on stdout.
async fn cold_start_ms(dir: &Path) -> Option<f64> {
    let bin = runnel_testsupport::bin::workspace_bin("runnel");
    let data = TempDir::new("bench-local-cold");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(bin)
        .args([
            "ask",
            "--provider",
            "local",
            "--model",
            "smol",
            "--temperature",
            "0",
            "--max-tokens",
            "8",
            "Hello!",
        ])
        .env("RUNNEL_MODELS_DIR", dir)
        .env("RUNNEL_DATA_DIR", data.path())
        .env("RUNNEL_CONFIG_DIR", data.path().join("config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    use tokio::io::AsyncReadExt;
    let mut out = child.stdout.take()?;
    let mut byte = [0u8; 1];
    let n = out.read(&mut byte).await.ok()?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let _ = child.wait().await;
    (n == 1).then_some(ms)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let Some(model) = runnel_testsupport::test_model() else {
        eprintln!("notice: no test model (run ./scripts/test.sh once): the local benchmark skips");
        return;
    };
    let dir = TempDir::new("bench-local");
    std::fs::copy(&model, dir.path().join("smol.gguf")).expect("copy the model");
    let threads = system::physical_cores();
    let (gen_tokens, runs) = if full { (256u32, 5) } else { (16, 1) };
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let mut runnel = Endpoint::local(dir.path(), "smol");
    runnel.sampling = greedy(gen_tokens);
    let reference = if full {
        start_reference(&engine, &model, threads).await
    } else {
        None
    };
    let mut reference_ep = reference.as_ref().map(|(_, url)| {
        let mut e = Endpoint::new(url, "smol", None, "OPENAI_API_KEY");
        e.sampling = greedy(gen_tokens);
        e
    });
    // Warm both (load the model, fill caches).
    timed(&engine, &runnel, "Hello!").await;
    if let Some(r) = &reference_ep {
        timed(&engine, r, "Hello!").await;
    }
    let (gen_a, gen_b) = compare(&engine, &runnel, reference_ep.as_ref(), runs, |_| {
        STORY.to_owned()
    })
    .await;
    // Prompt processing: a long prompt, one token out.
    runnel.sampling = greedy(1);
    if let Some(r) = reference_ep.as_mut() {
        r.sampling = greedy(1);
    }
    let words = if full { 700 } else { 60 };
    let (pp_a, pp_b) = compare(&engine, &runnel, reference_ep.as_ref(), runs, |run| {
        long_prompt(run, words)
    })
    .await;
    let pp = |v: &[Timed]| med(v, |t| t.input_tokens as f64 / (t.ttft_ms / 1000.0));
    // The reference's prompt is the same text and template: Runnel's count.
    let pp_ref = (!pp_b.is_empty()).then(|| {
        let tokens = pp_a.first().map(|t| t.input_tokens).unwrap_or(0) as f64;
        median(
            &pp_b
                .iter()
                .map(|t| tokens / (t.ttft_ms / 1000.0))
                .collect::<Vec<_>>(),
        )
    });
    // Time to first token for a short chat prompt.
    runnel.sampling = greedy(8);
    if let Some(r) = reference_ep.as_mut() {
        r.sampling = greedy(8);
    }
    let (ttft_a, ttft_b) = compare(&engine, &runnel, reference_ep.as_ref(), runs, |run| {
        format!("Question {run}: what is the capital of France?")
    })
    .await;
    drop(reference);
    let rss = rss_mb();

    // Stop at full speed: Stop to the answer's end, and to the model being free.
    let rt = LocalRuntime::global();
    let mut stop_returns = Vec::new();
    let mut model_free = Vec::new();
    runnel.sampling = greedy(2000);
    for _ in 0..runs {
        let cancel = CancellationToken::new();
        let stopper = cancel.clone();
        let mut n = 0;
        let mut pressed = None;
        engine
            .chat(
                &runnel,
                &messages(STORY),
                ChatOptions::default(),
                &cancel,
                &mut |ev| {
                    if let EngineEvent::Delta(Delta::Text(_)) = ev {
                        n += 1;
                        if n == 20 {
                            pressed = Some(Instant::now());
                            stopper.cancel();
                        }
                    }
                },
            )
            .await;
        let Some(pressed) = pressed else { continue };
        stop_returns.push(pressed.elapsed().as_secs_f64() * 1000.0);
        let _ = rt
            .templated_prompt(
                &dir.path().join("smol.gguf"),
                None,
                vec![(Role::User, "x".into())],
            )
            .await;
        model_free.push(pressed.elapsed().as_secs_f64() * 1000.0);
    }
    let cold = if full {
        let mut v = Vec::new();
        for _ in 0..3 {
            if let Some(ms) = cold_start_ms(dir.path()).await {
                v.push(ms);
            }
        }
        median(&v)
    } else {
        None
    };
    let size_mb = std::fs::metadata(&model)
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
        .unwrap_or(0.0);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some((a / b * 100.0).round() / 100.0),
        _ => None,
    };
    let gen_runnel = med(&gen_a, |t| t.gen_tokens_per_s);
    let gen_ref = med(&gen_b, |t| t.gen_tokens_per_s);
    let pp_runnel = pp(&pp_a);
    let pp_reference = pp_ref.flatten();
    let ttft_runnel = med(&ttft_a, |t| t.ttft_ms);
    let ttft_ref = med(&ttft_b, |t| t.ttft_ms);
    report(
        "local",
        full,
        &json!({
            "model": "SmolLM2-135M-Instruct Q4_1",
            "model_mb": (size_mb * 10.0).round() / 10.0,
            "threads": threads,
            "runs": runs,
            "gen_tokens": gen_tokens,
            "gen_deltas_runnel": med(&gen_a, |t| t.deltas as f64),
            "gen_deltas_reference": med(&gen_b, |t| t.deltas as f64),
            "gen_tokens_per_s_runnel": gen_runnel,
            "gen_tokens_per_s_reference": gen_ref,
            "gen_ratio": ratio(gen_runnel, gen_ref),
            "prompt_tokens": pp_a.first().map(|t| t.input_tokens),
            "prompt_tokens_per_s_runnel": pp_runnel,
            "prompt_tokens_per_s_reference": pp_reference,
            "prompt_ratio": ratio(pp_runnel, pp_reference),
            "ttft_ms_runnel": ttft_runnel,
            "ttft_ms_reference": ttft_ref,
            "ttft_ratio": ratio(ttft_runnel, ttft_ref),
            "cold_start_to_first_token_ms": cold,
            "rss_loaded_mb": rss,
            "rss_limit_mb": size_mb + 300.0,
            "stop_returns_ms_median": median(&stop_returns),
            "stop_returns_ms_max": stop_returns.iter().copied().fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x)))),
            "stop_model_free_ms_median": median(&model_free),
            "stop_model_free_ms_max": model_free.iter().copied().fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x)))),
        }),
    );
}
