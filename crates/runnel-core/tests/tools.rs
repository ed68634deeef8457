//! Tools over MCP, end to end with real parts: a loopback model server
//! scripted to call tools, and real MCP servers (tests/mcp/server.py on
//! PyPI's `mcp`, over stdio and Streamable HTTP; npm's server-everything).
//! Each test checks what the next request carries back, for both protocols.

use runnel_testsupport as common;

use common::mcp::{anthropic_tool_calls, openai_tool_calls, McpCommand};
use common::{answer_stream, anthropic_stream, Reply, Request, TestServer};
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, EngineEvent, Outcome, StreamResult};
use runnel_core::store::Store;
use runnel_core::tools::mcp::{Hub, Launch, LaunchTransport};
use runnel_core::tools::Toolbox;
use runnel_core::turn::{self, ToolGate, ToolRun};
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::key::ApiKey;
use runnel_core::types::tool::{Approval, PendingCall};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Answers every call the same way, and remembers what it was asked.
struct Gate {
    answer: Approval,
    asked: Mutex<Vec<PendingCall>>,
}

impl Gate {
    fn new(answer: Approval) -> Self {
        Self {
            answer,
            asked: Mutex::new(Vec::new()),
        }
    }
}

impl ToolGate for Gate {
    fn approve<'a>(&'a self, call: &'a PendingCall) -> turn::BoxFuture<'a, Approval> {
        self.asked.lock().expect("lock").push(call.clone());
        Box::pin(async move { self.answer })
    }
}

fn launch(name: &str, c: &McpCommand) -> Launch {
    Launch {
        name: name.into(),
        transport: LaunchTransport::Stdio {
            command: c.program.clone(),
            args: c.args.clone(),
            env: Default::default(),
            cwd: None,
        },
    }
}

async fn toolbox(hub: &Hub, launch: Launch) -> Toolbox {
    let tools = hub
        .tools(&launch)
        .await
        .expect("the server lists its tools");
    let mut t = Toolbox::default();
    t.add(launch, tools, &[], &[]);
    t
}

fn openai(server: &TestServer) -> Endpoint {
    Endpoint::new(&server.base_url(), "test-model", None, "OPENAI_API_KEY")
}

fn anthropic(server: &TestServer) -> Endpoint {
    let mut e = Endpoint::anthropic(
        &format!("http://{}", server.addr),
        "claude-test",
        Some(ApiKey::new("sk-ant-test")),
        "ANTHROPIC_API_KEY",
    );
    e.max_tokens = 1000;
    e
}

fn engine() -> Engine {
    Engine::new(EngineConfig::default()).expect("engine")
}

/// Runs one answer with tools; events are collected.
async fn ask(
    endpoint: &Endpoint,
    hub: &Hub,
    toolbox: &Toolbox,
    gate: &Gate,
    step_limit: u32,
    call_timeout: Duration,
    cancel: &CancellationToken,
) -> (StreamResult, Vec<EngineEvent>) {
    let run = ToolRun {
        hub,
        toolbox,
        gate,
        step_limit,
        call_timeout,
    };
    let mut events = Vec::new();
    let live: turn::Live = Default::default();
    let r = turn::converse(
        &engine(),
        endpoint,
        vec![ChatMessage::new(Role::User, "What is 2 + 3?")],
        ChatOptions::default(),
        Some(&run),
        cancel,
        &mut |e| events.push(e),
        &live,
    )
    .await;
    (r, events)
}

fn python() -> Option<McpCommand> {
    common::mcp::python_server()
}

/// The messages of the `n`th chat request.
fn messages(server: &TestServer, n: usize) -> Vec<Value> {
    server.chat_requests_any()[n].json()["messages"]
        .as_array()
        .expect("messages")
        .clone()
}

#[tokio::test]
async fn openai_a_tool_call_runs_and_the_next_request_carries_its_result() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(openai_tool_calls(
            "Let me add.",
            &[("call_1", "calc__add", r#"{"a": 2, "b": 3}"#)],
        )),
        _ => Reply::sse(answer_stream(&["The sum ", "is 5."])),
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    assert!(tools.specs.iter().any(|s| s.name == "calc__add"));
    let gate = Gate::new(Approval::Allowed);
    let (r, events) = ask(
        &openai(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "Let me add.\n\nThe sum is 5.");
    assert_eq!(r.steps.len(), 1);
    let s = &r.steps[0];
    assert_eq!(
        (s.result.as_str(), s.is_error, s.approved),
        ("5", false, Approval::Allowed)
    );
    assert_eq!(
        (s.server.as_deref(), s.tool.as_deref()),
        (Some("calc"), Some("add"))
    );
    assert_eq!(gate.asked.lock().expect("lock").len(), 1);
    assert!(events.iter().any(|e| matches!(e, EngineEvent::ToolAsk(_))));
    assert!(events.iter().any(|e| matches!(e, EngineEvent::ToolStep(_))));
    // The first request offers the tool; the second sends the call and its result.
    let first = server.chat_requests()[0].json();
    assert_eq!(first["tools"][0]["type"], "function");
    let names: Vec<&str> = first["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(names.contains(&"calc__add"), "{names:?}");
    let m = messages(&server, 1);
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(m[1]["role"], "assistant");
    assert_eq!(m[1]["content"], "Let me add.");
    assert_eq!(m[1]["tool_calls"][0]["id"], "call_1");
    assert_eq!(m[1]["tool_calls"][0]["function"]["name"], "calc__add");
    assert_eq!(
        m[1]["tool_calls"][0]["function"]["arguments"],
        r#"{"a": 2, "b": 3}"#
    );
    assert_eq!(
        m[2],
        serde_json::json!({"role": "tool", "tool_call_id": "call_1", "content": "5"})
    );
    // Usage adds up over both requests.
    assert_eq!(r.usage.input_tokens, 25);
}

#[tokio::test]
async fn anthropic_a_tool_call_runs_and_the_next_request_carries_a_tool_result_block() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(anthropic_tool_calls(
            "",
            &[("toolu_1", "calc__echo", r#"{"text": "héllo"}"#)],
        )),
        _ => Reply::sse(anthropic_stream("It said héllo.")),
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Trusted);
    let (r, _) = ask(
        &anthropic(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "It said héllo.");
    let first = server.chat_requests_any()[0].json();
    assert_eq!(first["tools"][0]["input_schema"]["type"], "object");
    let m = messages(&server, 1);
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(m[1]["role"], "assistant");
    assert_eq!(
        m[1]["content"][0],
        serde_json::json!({"type": "tool_use", "id": "toolu_1", "name": "calc__echo", "input": {"text": "héllo"}})
    );
    assert_eq!(m[2]["role"], "user");
    let block = &m[2]["content"][0];
    assert_eq!(block["type"], "tool_result");
    assert_eq!(block["tool_use_id"], "toolu_1");
    assert_eq!(block["content"][0]["text"], "héllo");
    assert!(block.get("is_error").is_none());
}

#[tokio::test]
async fn parallel_calls_all_run_and_return_in_order() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(openai_tool_calls(
            "",
            &[
                ("c1", "calc__add", r#"{"a": 1, "b": 1}"#),
                ("c2", "calc__echo", r#"{"text": "two"}"#),
                ("c3", "calc__add", r#"{"a": 40, "b": 2}"#),
            ],
        )),
        _ => Reply::sse(answer_stream(&["Done."])),
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Allowed);
    let (r, _) = ask(
        &openai(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await;
    let results: Vec<&str> = r.steps.iter().map(|s| s.result.as_str()).collect();
    assert_eq!(results, ["2", "two", "42"]);
    let m = messages(&server, 1);
    assert_eq!(m[1]["tool_calls"].as_array().map(Vec::len), Some(3));
    let ids: Vec<&str> = m[2..]
        .iter()
        .filter_map(|x| x["tool_call_id"].as_str())
        .collect();
    assert_eq!(ids, ["c1", "c2", "c3"]);
}

#[tokio::test]
async fn a_denied_call_tells_the_model_and_the_answer_goes_on() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(anthropic_tool_calls(
            "Checking.",
            &[("t1", "calc__pid", "{}")],
        )),
        _ => Reply::sse(anthropic_stream("Understood, I will not.")),
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Denied);
    let (r, _) = ask(
        &anthropic(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await;
    assert!(matches!(r.outcome, Outcome::Done));
    let s = &r.steps[0];
    assert_eq!(s.approved, Approval::Denied);
    assert!(s.result.contains("declined"), "{}", s.result);
    assert_eq!(s.duration_ms, 0);
    let block = &messages(&server, 1)[2]["content"][0];
    assert_eq!(block["is_error"], true);
    assert!(block["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .contains("declined"));
    assert_eq!(r.answer.text, "Checking.\n\nUnderstood, I will not.");
}

#[tokio::test]
async fn a_tool_that_times_out_becomes_an_error_result() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(openai_tool_calls(
            "",
            &[("c1", "calc__slow", r#"{"seconds": 30}"#)],
        )),
        _ => Reply::sse(answer_stream(&["It timed out."])),
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Allowed);
    let started = Instant::now();
    let (r, _) = ask(
        &openai(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(1),
        &CancellationToken::new(),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout held"
    );
    let s = &r.steps[0];
    assert!(s.is_error);
    assert!(
        s.result.contains("did not finish within 1 s"),
        "{}",
        s.result
    );
    let m = messages(&server, 1);
    assert!(
        m[2]["content"]
            .as_str()
            .unwrap_or("")
            .starts_with("Error: The tool"),
        "{m:?}"
    );
    assert!(matches!(r.outcome, Outcome::Done));
}

#[tokio::test]
async fn a_server_that_crashes_mid_call_is_an_error_result_and_is_restarted_once() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(openai_tool_calls("", &[("c1", "calc__crash", "{}")])),
        1 => Reply::sse(openai_tool_calls(
            "",
            &[("c2", "calc__add", r#"{"a": 1, "b": 2}"#)],
        )),
        _ => Reply::sse(answer_stream(&["3 after a restart."])),
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Allowed);
    let (r, _) = ask(
        &openai(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.steps.len(), 2);
    assert!(r.steps[0].is_error);
    assert!(
        r.steps[0].result.contains("stopped during the call"),
        "{}",
        r.steps[0].result
    );
    assert_eq!(
        (r.steps[1].result.as_str(), r.steps[1].is_error),
        ("3", false)
    );
    // The restart was the one allowed: a second crash leaves it stopped.
    let again = hub
        .call(
            tools.launches.get("calc").expect("launch"),
            "crash",
            "{}",
            Duration::from_secs(10),
            &CancellationToken::new(),
        )
        .await;
    assert!(again.is_error);
    let dead = hub
        .call(
            tools.launches.get("calc").expect("launch"),
            "add",
            r#"{"a":1,"b":1}"#,
            Duration::from_secs(10),
            &CancellationToken::new(),
        )
        .await;
    assert!(
        dead.text.contains("stopped again after a restart"),
        "{}",
        dead.text
    );
}

#[tokio::test]
async fn the_step_limit_ends_the_loop_and_the_last_calls_do_not_run() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| {
        Reply::sse(openai_tool_calls(
            &format!("Step {i}."),
            &[(&format!("c{i}"), "calc__add", r#"{"a": 1, "b": 1}"#)],
        ))
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Allowed);
    let (r, events) = ask(
        &openai(&server),
        &hub,
        &tools,
        &gate,
        2,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(
        server.chat_requests().len(),
        3,
        "two rounds run, then the limit"
    );
    assert_eq!(r.steps.len(), 3);
    assert_eq!(r.steps[2].approved, Approval::NotRun);
    assert!(
        r.steps[2].result.contains("limit of 2"),
        "{}",
        r.steps[2].result
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, EngineEvent::Notice(n) if n.contains("step limit"))));
    assert!(matches!(r.outcome, Outcome::Done));
    assert_eq!(r.answer.text, "Step 0.\n\nStep 1.\n\nStep 2.");
}

#[tokio::test]
async fn stop_during_a_tool_call_cancels_the_call_and_the_answer() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, _| {
        Reply::sse(openai_tool_calls(
            "Waiting.",
            &[("c1", "calc__slow", r#"{"seconds": 60}"#)],
        ))
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Allowed);
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stopper.cancel();
    });
    let started = Instant::now();
    let (r, _) = ask(
        &openai(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(120),
        &cancel,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "Stop ended the call"
    );
    assert!(matches!(r.outcome, Outcome::Cancelled), "{:?}", r.outcome);
    assert_eq!(server.chat_requests().len(), 1);
    assert!(
        r.steps[0].result.contains("Stopped by the user"),
        "{}",
        r.steps[0].result
    );
    assert_eq!(r.answer.text, "Waiting.");
}

#[tokio::test]
async fn an_unknown_tool_or_bad_arguments_are_error_results_not_calls() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(openai_tool_calls(
            "",
            &[
                ("c1", "calc__nope", "{}"),
                ("c2", "calc__add", "[1, 2]"),
                ("c3", "calc__add", r#"{"a": "x"}"#),
            ],
        )),
        _ => Reply::sse(answer_stream(&["Sorry."])),
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Allowed);
    let (r, _) = ask(
        &openai(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(r.steps.len(), 3);
    assert!(r.steps.iter().all(|s| s.is_error), "{:?}", r.steps);
    assert!(r.steps[0].result.contains("No tool named"));
    assert_eq!(r.steps[0].approved, Approval::NotRun);
    assert!(r.steps[1].result.contains("JSON object"));
    // The server itself refuses an argument of the wrong type.
    assert!(!r.steps[2].result.is_empty());
    assert_eq!(
        gate.asked.lock().expect("lock").len(),
        2,
        "an unknown tool is never asked about"
    );
}

#[tokio::test]
async fn images_from_a_tool_go_back_as_image_blocks() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(anthropic_tool_calls(
            "",
            &[("t1", "calc__tiny_image", "{}")],
        )),
        _ => Reply::sse(anthropic_stream("A tiny image.")),
    })
    .await;
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Allowed);
    let (r, _) = ask(
        &anthropic(&server),
        &hub,
        &tools,
        &gate,
        10,
        Duration::from_secs(30),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(r.steps[0].images.len(), 1, "{:?}", r.steps[0]);
    assert_eq!(r.steps[0].images[0].mime, "image/png");
    let block = &messages(&server, 1)[2]["content"][0];
    let image = block["content"]
        .as_array()
        .expect("content")
        .iter()
        .find(|b| b["type"] == "image")
        .expect("an image block");
    assert_eq!(image["source"]["media_type"], "image/png");
}

#[tokio::test]
async fn a_streamable_http_server_lists_and_runs_its_tools() {
    let port = common::free_port();
    let Some(cmd) = common::mcp::python_http_server(port) else {
        return;
    };
    let mut child = tokio::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .kill_on_drop(true)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the HTTP server");
    common::ports::wait_listening(&[port], Duration::from_secs(30), "the MCP HTTP server").await;
    let hub = Hub::new();
    let launch = Launch {
        name: "web".into(),
        transport: LaunchTransport::Http {
            url: format!("http://127.0.0.1:{port}/mcp"),
            headers: [("X-Test".to_owned(), "1".to_owned())]
                .into_iter()
                .collect(),
        },
    };
    let tools = hub.tools(&launch).await.expect("tools over HTTP");
    assert!(tools.iter().any(|t| t.name == "add"));
    let out = hub
        .call(
            &launch,
            "add",
            r#"{"a": 20, "b": 22}"#,
            Duration::from_secs(10),
            &CancellationToken::new(),
        )
        .await;
    assert_eq!((out.text.as_str(), out.is_error), ("42", false));
    let _ = child.kill().await;
}

#[tokio::test]
async fn server_everything_over_stdio_and_streamable_http() {
    let Some(stdio) = common::mcp::everything("stdio") else {
        return;
    };
    let hub = Hub::new();
    let l = launch("everything", &stdio);
    let tools = hub
        .tools(&l)
        .await
        .expect("server-everything lists its tools");
    assert!(
        tools.iter().any(|t| t.name == "echo"),
        "{:?}",
        tools.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    let out = hub
        .call(
            &l,
            "echo",
            r#"{"message": "over stdio"}"#,
            Duration::from_secs(20),
            &CancellationToken::new(),
        )
        .await;
    assert!(out.text.contains("over stdio") && !out.is_error, "{out:?}");

    let port = common::free_port();
    let Some(http) = common::mcp::everything("streamableHttp") else {
        return;
    };
    let mut child = tokio::process::Command::new(&http.program)
        .args(&http.args)
        .env("PORT", port.to_string())
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start server-everything over HTTP");
    common::ports::wait_listening(
        &[port],
        Duration::from_secs(30),
        "server-everything over HTTP",
    )
    .await;
    let web = Launch {
        name: "everything-http".into(),
        transport: LaunchTransport::Http {
            url: format!("http://127.0.0.1:{port}/mcp"),
            headers: Default::default(),
        },
    };
    let tools = hub.tools(&web).await.expect("tools over Streamable HTTP");
    assert!(tools.iter().any(|t| t.name == "echo"));
    let out = hub
        .call(
            &web,
            "echo",
            r#"{"message": "over http"}"#,
            Duration::from_secs(20),
            &CancellationToken::new(),
        )
        .await;
    assert!(out.text.contains("over http") && !out.is_error, "{out:?}");
    let _ = child.kill().await;
}

#[tokio::test]
async fn the_hub_kills_its_servers_when_it_is_dropped() {
    let Some(cmd) = python() else { return };
    let hub = Hub::new();
    let l = launch("calc", &cmd);
    let out = hub
        .call(
            &l,
            "pid",
            "{}",
            Duration::from_secs(20),
            &CancellationToken::new(),
        )
        .await;
    let pid: u32 = out.text.trim().parse().expect("a pid");
    assert!(common::mcp::process_alive(pid));
    drop(hub);
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::mcp::process_alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !common::mcp::process_alive(pid),
        "the server {pid} outlived its hub"
    );
}

#[tokio::test]
async fn steps_are_stored_restored_searched_and_sent_again_on_the_next_turn() {
    let Some(cmd) = python() else { return };
    let server = TestServer::start(|_: &Request, i| match i {
        0 => Reply::sse(openai_tool_calls(
            "Adding.",
            &[("c1", "calc__add", r#"{"a": 20, "b": 17}"#)],
        )),
        1 => Reply::sse(answer_stream(&["It is 37."])),
        _ => Reply::sse(answer_stream(&["Yes."])),
    })
    .await;
    let dir = common::temp::TempDir::new("tool-steps");
    let store = Arc::new(Store::open(&dir.path().join("db.sqlite")).expect("store"));
    let settings = turn::SendSettings::default();
    let first = turn::prepare(
        &store,
        "c",
        &settings,
        &turn::SendKind::New {
            text: "20 + 17?".into(),
        },
    )
    .expect("prepare");
    let hub = Hub::new();
    let tools = toolbox(&hub, launch("calc", &cmd)).await;
    let gate = Gate::new(Approval::Allowed);
    let run = ToolRun {
        hub: &hub,
        toolbox: &tools,
        gate: &gate,
        step_limit: 10,
        call_timeout: Duration::from_secs(30),
    };
    let endpoint = openai(&server);
    let answer_id = first.answer.id.clone();
    let mut saved_while_streaming = None;
    let r = turn::stream_with_tools(
        &engine(),
        &store,
        &first,
        &endpoint,
        ChatOptions::default(),
        Some(&run),
        &CancellationToken::new(),
        &mut |ev| {
            // Each step is stored as it ends, before the answer does.
            if let EngineEvent::ToolStep(_) = ev {
                saved_while_streaming = Some(store.message(&answer_id).expect("answer"));
            }
        },
    )
    .await;
    let during = saved_while_streaming.expect("a step");
    assert_eq!(during.status, runnel_core::store::MessageStatus::Streaming);
    assert_eq!(during.tool_steps.map(|s| s.len()), Some(1));
    assert!(matches!(r.outcome, Outcome::Done));
    let stored = store.message(&first.answer.id).expect("answer");
    let steps = stored.tool_steps.expect("steps stored");
    assert_eq!(steps.len(), 1);
    assert_eq!(
        (steps[0].result.as_str(), steps[0].arguments.as_str()),
        ("37", r#"{"a": 20, "b": 17}"#)
    );
    assert_eq!(stored.content, "Adding.\n\nIt is 37.");
    // A result's text finds the answer.
    let hits = store.search("37", 10).expect("search");
    assert!(hits
        .iter()
        .any(|h| h.message_id.as_deref() == Some(first.answer.id.as_str())));
    let hits = store.search("calc__add", 10).expect("search");
    assert!(
        hits.iter()
            .any(|h| h.message_id.as_deref() == Some(first.answer.id.as_str())),
        "{hits:?}"
    );
    // The next turn sends the whole loop back: text, call, result, text.
    let second = turn::prepare(
        &store,
        "c",
        &settings,
        &turn::SendKind::New {
            text: "Sure?".into(),
        },
    )
    .expect("prepare");
    let r2 = turn::stream_with_tools(
        &engine(),
        &store,
        &second,
        &endpoint,
        ChatOptions::default(),
        Some(&run),
        &CancellationToken::new(),
        &mut |_| {},
    )
    .await;
    assert!(matches!(r2.outcome, Outcome::Done));
    let m = messages(&server, 2);
    let roles: Vec<&str> = m.iter().filter_map(|x| x["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "assistant", "user"]);
    assert_eq!(m[1]["content"], "Adding.");
    assert_eq!(m[1]["tool_calls"][0]["id"], "c1");
    assert_eq!(m[2]["content"], "37");
    assert_eq!(m[3]["content"], "It is 37.");
    // And the same history for Anthropic.
    let body =
        runnel_core::protocol::anthropic::request_body("m", &second.messages, 100, None, true);
    let am = body["messages"].as_array().expect("messages");
    assert_eq!(am[1]["content"][1]["type"], "tool_use");
    assert_eq!(am[2]["content"][0]["type"], "tool_result");
    assert_eq!(am[3]["content"][0]["text"], "It is 37.");
    // With no tool offered (the server switched off), both protocols get the
    // calls and results as text: Anthropic refuses tool blocks without tools.
    for kind in [
        runnel_core::protocol::ProviderKind::Anthropic,
        runnel_core::protocol::ProviderKind::OpenaiCompatible,
    ] {
        let body = kind
            .protocol()
            .request_body(&runnel_core::protocol::ChatRequest {
                model: "m",
                messages: &second.messages,
                stream: true,
                include_usage: false,
                max_tokens: 100,
                thinking_budget: None,
                sampling: Default::default(),
                tools: &[],
            });
        let text = body.to_string();
        assert!(
            !text.contains("tool_use") && !text.contains("tool_call_id"),
            "{kind:?}: {text}"
        );
        assert!(text.contains("[called the tool calc__add with"), "{text}");
        assert!(text.contains("[the tool's result: 37]"), "{text}");
    }

    // Exports carry the steps; a JSON round trip keeps them.
    let md = store.export_markdown("c").expect("markdown");
    assert!(md.contains("**Tool calc__add** (allowed, "), "{md}");
    assert!(md.contains("```json\n{\"a\": 20, \"b\": 17}\n```"), "{md}");
    let page = runnel_core::render::page::conversation_page(&store, "c").expect("html");
    assert!(page.contains("Tool calc__add"));
    let json = store.export_json("c").expect("json");
    let other = Store::open(&dir.path().join("other.sqlite")).expect("store");
    let id = other.import_json(&json).expect("import");
    let steps: Vec<_> = other
        .messages(&id, None, runnel_core::store::WHOLE_CONVERSATION)
        .expect("messages")
        .into_iter()
        .filter_map(|m| m.tool_steps)
        .collect();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0][0].result, "37");
    // A question carrying tool results would be sent as if a tool had answered: refused.
    let mut hostile = json.clone();
    let messages = hostile["messages"].as_array_mut().expect("messages");
    let q = messages
        .iter()
        .position(|m| m["role"] == "user")
        .expect("a question");
    messages[q]["tool_steps"] = json["messages"]
        .as_array()
        .and_then(|a| a.iter().find_map(|m| m.get("tool_steps").cloned()))
        .expect("steps");
    let err = other.import_json(&hostile).expect_err("refused");
    assert!(
        err.to_string().contains("question with tool steps"),
        "{err}"
    );
}

#[test]
fn later_turns_name_a_tools_images_and_an_empty_result_is_no_empty_block() {
    use runnel_core::types::tool::{ToolImage, ToolStep};
    let step = |id: &str, result: &str, images: Vec<ToolImage>| ToolStep {
        call_id: id.into(),
        name: "t__img".into(),
        server: Some("t".into()),
        tool: Some("img".into()),
        arguments: "{}".into(),
        approved: Approval::Allowed,
        result: result.into(),
        images,
        is_error: false,
        duration_ms: 3,
        round: 0,
        at: 5,
    };
    let png = ToolImage {
        mime: "image/png".into(),
        data: "iVBORw0KGgo=".into(),
    };
    let steps = vec![step("a", "", vec![png]), step("b", "", vec![])];
    let msgs = turn::with_steps("Look.\n\nDone.", &steps);
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0].content, "Look.");
    let results = &msgs[1].tool_results;
    assert!(results[0].images.is_empty(), "no image goes again");
    assert_eq!(
        results[0].text,
        "[1 image(s) the tool returned, shown then]"
    );
    assert_eq!(msgs[2].content, "Done.");
    let tools = [runnel_core::types::tool::ToolSpec {
        name: "t__img".into(),
        description: String::new(),
        input_schema: serde_json::json!({"type": "object"}),
    }];
    let mut all = vec![ChatMessage::new(Role::User, "Show me.")];
    all.extend(msgs);
    let body = runnel_core::protocol::ProviderKind::Anthropic
        .protocol()
        .request_body(&runnel_core::protocol::ChatRequest {
            model: "m",
            messages: &all,
            stream: true,
            include_usage: false,
            max_tokens: 100,
            thinking_budget: None,
            sampling: Default::default(),
            tools: &tools,
        });
    let empty = &body["messages"][2]["content"][1];
    assert_eq!(empty["tool_use_id"], "b");
    assert_eq!(empty["content"][0]["text"], "(no output)", "{body}");
}

#[tokio::test]
async fn tools_switched_off_in_a_conversation_are_not_offered() {
    let Some(cmd) = python() else { return };
    let dir = common::temp::TempDir::new("tools-off");
    let store = Store::open(&dir.path().join("db.sqlite")).expect("store");
    turn::prepare(
        &store,
        "c",
        &turn::SendSettings::default(),
        &turn::SendKind::New { text: "hi".into() },
    )
    .expect("prepare");
    assert!(store.tools_off("c").expect("off").is_empty());
    store
        .set_tools_off("c", &["calc__crash".to_owned(), "calc__slow".to_owned()])
        .expect("save");
    let off = store.tools_off("c").expect("off");
    assert_eq!(off, ["calc__crash", "calc__slow"]);
    let hub = Hub::new();
    let l = launch("calc", &cmd);
    let tools = hub.tools(&l).await.expect("tools");
    let mut b = Toolbox::default();
    b.add(l, tools, &["add".to_owned()], &off);
    let names: Vec<&str> = b.specs.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"calc__add")
            && !names.contains(&"calc__crash")
            && !names.contains(&"calc__slow"),
        "{names:?}"
    );
    assert!(
        b.trusted.contains("calc__add"),
        "an always-allowed tool runs without asking"
    );
    assert!(
        b.route("calc__crash").is_none(),
        "a tool switched off cannot be called either"
    );
}

/// A keychain that counts its uses (and keeps what it is given).
#[derive(Default)]
struct CountingKeychain {
    uses: std::sync::atomic::AtomicUsize,
    kept: Mutex<std::collections::HashMap<String, String>>,
}

impl runnel_core::keys::SecretStore for CountingKeychain {
    fn get(&self, account: &str) -> Result<Option<String>, runnel_core::keys::SecretError> {
        self.uses.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self.kept.lock().expect("lock").get(account).cloned())
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), runnel_core::keys::SecretError> {
        self.uses.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.kept
            .lock()
            .expect("lock")
            .insert(account.into(), secret.into());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<bool, runnel_core::keys::SecretError> {
        self.uses.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self.kept.lock().expect("lock").remove(account).is_some())
    }
}

#[tokio::test]
async fn a_server_without_secrets_never_touches_the_keychain_and_one_with_them_keeps_them_there() {
    use runnel_core::service::mcp::McpServerInput;
    let Some(cmd) = python() else { return };
    let dir = common::temp::TempDir::new("mcp-keychain");
    let keychain = Arc::new(CountingKeychain::default());
    let svc = runnel_core::service::Service::new(
        runnel_core::config::SettingsStore::at(dir.path().join("settings.json")),
        Arc::new(runnel_core::keys::Secrets::new(keychain.clone())),
        &runnel_core::config::env::Env::default(),
    )
    .expect("service");
    let input = |name: &str, values: &[(&str, &str)]| McpServerInput {
        name: name.into(),
        command: Some(cmd.program.clone()),
        args: cmd.args.clone(),
        values: values
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        ..McpServerInput::default()
    };
    svc.add_mcp_server(input("plain", &[("LOG_LEVEL", "debug")]))
        .expect("add");
    let hub = Hub::new();
    let b = svc.toolbox(&hub, None, &[]).await.expect("toolbox");
    assert!(b.specs.iter().any(|s| s.name == "plain__add"));
    svc.set_mcp_enabled("plain", false).expect("off");
    svc.remove_mcp_server("plain").expect("remove");
    assert_eq!(
        keychain.uses.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no keychain call"
    );

    svc.add_mcp_server(input(
        "keyed",
        &[("API_TOKEN", "tok-77"), ("LOG_LEVEL", "1")],
    ))
    .expect("add");
    let file = std::fs::read_to_string(dir.path().join("settings.json")).expect("settings");
    assert!(
        !file.contains("tok-77") && file.contains("API_TOKEN"),
        "{file}"
    );
    let b = svc
        .toolbox(&hub, Some(&["keyed".to_owned()]), &[])
        .await
        .expect("toolbox");
    let out = hub
        .call(
            b.launches.get("keyed").expect("launch"),
            "getenv",
            r#"{"name": "API_TOKEN"}"#,
            Duration::from_secs(20),
            &CancellationToken::new(),
        )
        .await;
    assert_eq!(
        out.text, "tok-77",
        "the server got its secret from the keychain"
    );
    assert!(
        !format!("{:?}", b.launches.get("keyed")).contains("tok-77"),
        "Debug hides it"
    );
    svc.remove_mcp_server("keyed").expect("remove");
    assert!(
        keychain.kept.lock().expect("lock").is_empty(),
        "its secret left the keychain"
    );
}
