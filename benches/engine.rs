//! Engine benchmarks (issue: benchmarks), with their own loopback stream
//! server written in Rust.
//!
//! - Throughput: a stream of realistic chat.completion.chunk events as fast as
//!   possible, through `runnel ask --json` (the whole process), through
//!   `curl -sN > /dev/null` (the limit), and through the OpenAI Python SDK
//!   (`client.chat.completions.create(..., stream=True)`, joining
//!   `delta.content`) when `RUNNEL_BENCH_PYTHON` names a Python with `openai`.
//!   Median of several runs each, interleaved, so every ratio comes from one run.
//! - Latency: chunks sent every 20 ms, each carrying its send time (µs since
//!   the epoch, same clock); the time from that stamp to the engine emitting
//!   the delta, p50 and p99.
//!
//! `cargo bench --bench engine` runs the full sizes and writes
//! `target/bench/engine.json`; under `cargo test` it runs tiny sizes (no
//! timing is asserted anywhere).

use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent};
use runnel_core::types::answer::Delta;
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_testsupport::report;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use runnel_testsupport::bench_server as server;
use server::{burst_body, now_us, serve, Script};

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Runs a command to completion, returning its wall time in seconds.
fn time_cmd(cmd: &mut Command) -> Option<f64> {
    let t = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| t.elapsed().as_secs_f64())
}

const PYTHON_CLIENT: &str = r#"
import sys, openai
client = openai.OpenAI(base_url=sys.argv[1], api_key="bench")
parts = []
for ev in client.chat.completions.create(model="m", messages=[{"role": "user", "content": "go"}], stream=True):
    if ev.choices and ev.choices[0].delta.content:
        parts.append(ev.choices[0].delta.content)
print(len("".join(parts)))
"#;

fn runnel_bin() -> std::path::PathBuf {
    runnel_testsupport::bin::workspace_bin("runnel")
}

/// Streams one answer from the loopback server at `addr` through the engine
/// in this process; `on_text` sees every text delta. Returns the seconds it took.
async fn run_engine(addr: SocketAddr, on_text: impl FnMut(&str) + Send) -> f64 {
    run_engine_with(addr, ChatOptions::default(), on_text).await
}

/// [`run_engine`] with these options (a trace recorded, say).
async fn run_engine_with(
    addr: SocketAddr,
    options: ChatOptions,
    mut on_text: impl FnMut(&str) + Send,
) -> f64 {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let ep = Endpoint::new(&format!("http://{addr}/v1"), "m", None, "OPENAI_API_KEY");
    let t = Instant::now();
    let r = engine
        .chat(
            &ep,
            &[ChatMessage::new(Role::User, "go")],
            options,
            &CancellationToken::new(),
            &mut |ev| {
                if let EngineEvent::Delta(Delta::Text(text)) = ev {
                    on_text(&text);
                }
            },
        )
        .await;
    assert_eq!(
        r.answer.finish_reason.as_deref(),
        Some("stop"),
        "the stream completed"
    );
    t.elapsed().as_secs_f64()
}

async fn engine_latency(n: usize, every: Duration) -> (f64, f64, f64) {
    let mut lat = Vec::with_capacity(n);
    run_engine(serve(Script::Paced(n, every)).await, |t| {
        let now = now_us();
        if let Some(sent) = t
            .trim()
            .strip_prefix('t')
            .and_then(|s| s.parse::<u128>().ok())
        {
            lat.push((now.saturating_sub(sent)) as f64 / 1000.0);
        }
    })
    .await;
    (
        pct(lat.clone(), 0.5),
        pct(lat.clone(), 0.99),
        lat.iter().cloned().fold(0.0, f64::max),
    )
}

/// Chunks per second through the engine in this process, median of `runs`,
/// without and with a trace recorded (the default 2 MB cap), run by run
/// interleaved so both see the same machine.
async fn engine_in_process_throughput(addr: SocketAddr, n: usize, runs: usize) -> (f64, f64) {
    let mut plain = Vec::with_capacity(runs);
    let mut traced = Vec::with_capacity(runs);
    let with_trace = ChatOptions {
        trace_cap: Some(runnel_core::engine::trace::DEFAULT_TRACE_CAP),
        ..ChatOptions::default()
    };
    for _ in 0..runs {
        for (options, rates) in [
            (ChatOptions::default(), &mut plain),
            (with_trace.clone(), &mut traced),
        ] {
            let mut deltas = 0usize;
            let secs = run_engine_with(addr, options, |_| deltas += 1).await;
            assert_eq!(deltas, n);
            rates.push(n as f64 / secs);
        }
    }
    (
        report::median(&plain).unwrap_or(0.0),
        report::median(&traced).unwrap_or(0.0),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (n, runs, paced_n) = if full {
        (200_000, 5, 250)
    } else {
        (2_000, 1, 20)
    };
    let body_bytes = burst_body(n).len() as f64;
    let addr = serve(Script::Burst(n)).await;
    let url = format!("http://{addr}/v1");

    let (in_process, traced) = engine_in_process_throughput(addr, n, runs).await;

    // Whole processes on the same stream, interleaved run by run.
    let python = std::env::var("RUNNEL_BENCH_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    let (mut runnel_s, mut curl_s, mut py_s) = (Vec::new(), Vec::new(), Vec::new());
    let mut start_s = Vec::new();
    for _ in 0..runs {
        let bin = runnel_bin();
        // The command's own start and exit (no GUI libraries: milliseconds).
        for _ in 0..3 {
            if let Some(s) = time_cmd(Command::new(&bin).arg("--version")) {
                start_s.push(s);
            }
        }
        if let Some(s) = time_cmd(
            Command::new(&bin)
                .args(["ask", "--json", "--base-url", &url, "go"])
                .env_remove("OPENAI_API_KEY"),
        ) {
            runnel_s.push(s);
        }
        if let Some(s) = time_cmd(Command::new("curl").args([
            "-sN",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            "{}",
            &format!("{url}/chat/completions"),
        ])) {
            curl_s.push(s);
        }
        if let Some(py) = &python {
            if let Some(s) = time_cmd(Command::new(py).args(["-c", PYTHON_CLIENT, &url])) {
                py_s.push(s);
            }
        }
    }
    let rate = |v: &Vec<f64>| report::median(v).map(|m| n as f64 / m);
    let runnel_cps = rate(&runnel_s);
    let curl_cps = rate(&curl_s);
    let py_cps = rate(&py_s);
    let ms = |v: &Vec<f64>| report::median(v).map(|m| round(m * 1000.0, 1));
    let (p50, p99, max) =
        engine_latency(paced_n, Duration::from_millis(if full { 20 } else { 5 })).await;

    let result = serde_json::json!({
        "full": full,
        "chunks": n,
        "stream_mb": round(body_bytes / 1e6, 1),
        "engine_in_process_chunks_per_s": round(in_process, 0),
        "engine_in_process_traced_chunks_per_s": round(traced, 0),
        "trace_overhead_pct": round((1.0 - traced / in_process) * 100.0, 1),
        "runnel_ask_chunks_per_s": runnel_cps.map(|x| round(x, 0)),
        "runnel_ask_mb_per_s": runnel_cps.map(|x| round(x * body_bytes / n as f64 / 1e6, 1)),
        "curl_chunks_per_s": curl_cps.map(|x| round(x, 0)),
        "curl_mb_per_s": curl_cps.map(|x| round(x * body_bytes / n as f64 / 1e6, 1)),
        "openai_python_chunks_per_s": py_cps.map(|x| round(x, 0)),
        "runnel_ask_ms": ms(&runnel_s),
        "curl_ms": ms(&curl_s),
        "process_start_ms": ms(&start_s),
        "runnel_vs_curl": runnel_cps.zip(curl_cps).map(|(a, b)| round(a / b, 2)),
        "runnel_vs_openai_python": runnel_cps.zip(py_cps).map(|(a, b)| round(a / b, 1)),
        "latency_p50_ms": round(p50, 3),
        "latency_p99_ms": round(p99, 3),
        "latency_max_ms": round(max, 3),
        "latency_chunks": paced_n,
    });
    report::report("engine", full, &result);
}
