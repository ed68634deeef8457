//! `runnel prices`, `runnel usage` and `cost_usd` in `runnel ask --json`,
//! as real child processes against the loopback server.

use runnel_testsupport as common;

use common::{content_event, Reply, TestServer};
use runnel_testsupport::cli::{last_json, run, runnel_command};
use runnel_testsupport::temp::TempDir;
use serde_json::{json, Value};
use std::path::Path;
use tokio::process::Command;

fn runnel(data: &Path, base_url: &str) -> Command {
    runnel_command(Path::new(env!("CARGO_BIN_EXE_runnel")), data, base_url)
}

/// An answer whose usage reports `cached` of the `input` prompt tokens as
/// read from the cache (OpenAI's `prompt_tokens_details.cached_tokens`).
fn answer_with_usage(input: u64, cached: u64, output: u64) -> Vec<u8> {
    let mut body = content_event("Hi.");
    let fin = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    let usage = json!({"choices": [], "usage": {"prompt_tokens": input, "completion_tokens": output,
        "prompt_tokens_details": {"cached_tokens": cached}}});
    body.extend(format!("data: {fin}\n\ndata: {usage}\n\ndata: [DONE]\n\n").into_bytes());
    body
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-12)
}

#[tokio::test]
async fn prices_set_list_remove_and_the_cost_of_answers() {
    let tmp = TempDir::new("cost");
    let data = tmp.path();
    let server = TestServer::start(|_, n| match n {
        0 | 3 => Reply::sse(answer_with_usage(1_000, 400, 200)),
        // No usage at all: the tokens, and so the cost, are estimated.
        1 => Reply::sse(
            [
                content_event("Some words here."),
                b"data: [DONE]\n\n".to_vec(),
            ]
            .concat(),
        ),
        _ => Reply::sse(answer_with_usage(10, 0, 10)),
    })
    .await;
    let url = server.base_url();

    // The built-in table lists its sources.
    let (code, out, _) = run(runnel(data, &url).args(["prices", "list", "--json"])).await;
    assert_eq!(code, 0);
    let table = last_json(&out);
    let gpt = table
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["model"] == "gpt-5-mini")
        .expect("a built-in price");
    assert_eq!(gpt["origin"]["kind"], "builtin");
    assert!(gpt["origin"]["source"]
        .as_str()
        .unwrap()
        .starts_with("https://"));

    let (code, _, err) = run(runnel(data, &url).args([
        "prices", "set", "m1", "--input", "2", "--output", "10", "--cached", "0.5",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(runnel(data, &url).args(["prices", "list"])).await;
    assert_eq!(code, 0);
    let row = out
        .lines()
        .find(|l| l.starts_with("m1 "))
        .expect("m1 listed");
    assert!(row.ends_with("yours"), "{row}");

    // 600 fresh input tokens at $2, 400 cached at $0.50, 200 out at $10.
    let (code, out, err) =
        run(runnel(data, &url).args(["ask", "--json", "--model", "m1", "hi"])).await;
    assert_eq!(code, 0, "{err}");
    let v = last_json(&out);
    assert_eq!(v["usage"]["cached_input_tokens"], 400);
    assert!(
        close(
            &v["cost_usd"],
            (600.0 * 2.0 + 400.0 * 0.5 + 200.0 * 10.0) / 1e6
        ),
        "{v}"
    );
    assert_eq!(v["cost_estimated"], false);

    // No usage from the server: priced on the estimate, and marked so.
    let (_, out, _) = run(runnel(data, &url).args(["ask", "--json", "--model", "m1", "hi"])).await;
    let v = last_json(&out);
    assert_eq!(v["usage"], Value::Null);
    assert!(v["cost_usd"].as_f64().is_some_and(|c| c > 0.0), "{v}");
    assert_eq!(v["cost_estimated"], true);

    // A model without a price has no cost, never a made-up one.
    let (_, out, _) =
        run(runnel(data, &url).args(["ask", "--json", "--model", "nobody-knows", "hi"])).await;
    let v = last_json(&out);
    assert_eq!(v["cost_usd"], Value::Null);

    // Bad prices and removals are clear errors that change nothing.
    let (code, _, err) =
        run(runnel(data, &url).args(["prices", "set", "m1", "--input=-1", "--output", "1"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("input price"), "{err}");
    let (code, _, err) = run(runnel(data, &url).args(["prices", "remove", "gpt-5-mini"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("built-in"), "{err}");
    let (code, _, err) = run(runnel(data, &url).args(["prices", "remove", "m1"])).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(runnel(data, &url).args(["prices", "remove", "m1"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("no price of yours"), "{err}");
    let (_, out, _) = run(runnel(data, &url).args(["ask", "--json", "--model", "m1", "hi"])).await;
    assert_eq!(last_json(&out)["cost_usd"], Value::Null, "removed");
}

#[tokio::test]
async fn usage_sums_stored_answers_per_model_with_cost() {
    let tmp = TempDir::new("usage");
    let data = tmp.path();
    let server = TestServer::start(|_, n| match n {
        0 => Reply::sse(answer_with_usage(1_000, 400, 200)),
        _ => Reply::sse(answer_with_usage(100, 0, 50)),
    })
    .await;
    let url = server.base_url();
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let (code, _, err) = run(runnel(data, &url).args([
        "prices", "set", "m1", "--input", "2", "--output", "10", "--cached", "0.5",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    for model in ["m1", "m1", "other"] {
        let (code, _, err) =
            run(runnel(data, &url).args(["ask", "--save", "--json", "--model", model, "hi"])).await;
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = run(runnel(data, &url).args(["usage", "--json"])).await;
    assert_eq!(code, 0, "{err}");
    let r = last_json(&out);
    let m1 = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "m1")
        .expect("m1");
    assert_eq!(m1["provider"], host.as_str());
    assert_eq!(m1["answers"], 2);
    assert_eq!(m1["input_tokens"], 1_100);
    assert_eq!(m1["cached_input_tokens"], 400);
    assert_eq!(m1["output_tokens"], 250);
    let expected = (600.0 * 2.0 + 400.0 * 0.5 + 200.0 * 10.0 + 100.0 * 2.0 + 50.0 * 10.0) / 1e6;
    assert!(close(&m1["cost"]["usd"], expected), "{m1}");
    assert_eq!(r["total"]["answers"], 3);
    assert_eq!(r["total"]["unpriced_answers"], 1, "other has no price");
    assert!(close(&r["total"]["cost"]["usd"], expected));
    assert_eq!(r["days"].as_array().unwrap().len(), 2);

    let (code, out, _) = run(runnel(data, &url).args(["usage"])).await;
    assert_eq!(code, 0);
    assert!(out.lines().any(|l| l.starts_with("TOTAL")), "{out}");
    let (code, out, _) = run(runnel(data, &url).args(["usage", "--since", "2999-01-01"])).await;
    assert_eq!(code, 0);
    assert!(out.contains("No answers"), "{out}");
    let (code, _, err) = run(runnel(data, &url).args(["usage", "--since", "last week"])).await;
    assert_eq!(code, 2);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}
