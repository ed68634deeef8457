//! Testing a provider (`GET /models`) against a loopback server: each mistake a
//! user makes gets a message that says what is wrong.

use runnel_testsupport as common;

use common::{models_reply, Reply, TestServer};
use runnel_core::config::Provider;
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{Engine, EngineConfig};
use runnel_core::protocol::ProviderKind;
use runnel_core::types::error::ErrorKind;
use runnel_core::types::key::ApiKey;
use std::time::Duration;

fn engine() -> Engine {
    Engine::new(EngineConfig {
        connect_timeout: Duration::from_secs(5),
        first_byte_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn endpoint(base: &str, key: &str) -> Endpoint {
    let p = Provider::new("p", "P", ProviderKind::OpenaiCompatible, base, "m");
    p.endpoint(None, Some(ApiKey::new(key)))
}

#[tokio::test]
async fn models_are_listed_sorted_with_the_key_and_extra_headers() {
    let server = TestServer::always(models_reply(&["zeta", "alpha", "mid"])).await;
    let mut p = Provider::new(
        "p",
        "P",
        ProviderKind::OpenaiCompatible,
        &server.base_url(),
        "m",
    );
    p.extra_headers.insert("X-Team".into(), "blue".into());
    let ep = p.endpoint(None, Some(ApiKey::new("sk-k")));
    assert_eq!(
        engine().list_models(&ep).await.expect("models"),
        vec!["alpha", "mid", "zeta"]
    );
    let req = &server.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(req.header("authorization"), Some("Bearer sk-k"));
    assert_eq!(req.header("x-team"), Some("blue"));
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error_with_the_providers_message() {
    let server = TestServer::always(Reply::json(
        401,
        &serde_json::json!({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}),
    ))
    .await;
    let e = engine()
        .list_models(&endpoint(&server.base_url(), "sk-wrong"))
        .await
        .expect_err("401");
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(
        e.to_string().contains("check the API key") && e.to_string().contains("Incorrect API key"),
        "{e}"
    );
}

#[tokio::test]
async fn a_key_for_another_provider_is_named() {
    let server = TestServer::always(Reply::json(
        401,
        &serde_json::json!({"error": {"message": "Invalid API Key"}}),
    ))
    .await;
    // A loopback server stands in for api.groq.com: the hint compares the key's
    // prefix with the host, so use the host form the user would have.
    let e = engine()
        .list_models(&endpoint(&server.base_url(), "sk-ant-api03-abc"))
        .await
        .expect_err("401");
    assert!(
        e.to_string().contains("This looks like an Anthropic key"),
        "{e}"
    );
}

#[tokio::test]
async fn a_base_url_without_v1_says_to_add_it() {
    // The server has /v1/models only; the user typed the bare host.
    let server = TestServer::start(|req, _| {
        if req.path == "/v1/models" {
            models_reply(&["m"])
        } else {
            Reply::text(404, "404 page not found")
        }
    })
    .await;
    let bare = format!("http://{}", server.addr);
    let e = engine()
        .list_models(&endpoint(&bare, "k"))
        .await
        .expect_err("404");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("add /v1 to the base URL"), "{e}");
}

#[tokio::test]
async fn a_models_page_that_is_html_is_named() {
    let server = TestServer::always(Reply::Full {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<!DOCTYPE html><html><body>Dashboard</body></html>".to_vec(),
    })
    .await;
    let e = engine()
        .list_models(&endpoint(&server.base_url(), "k"))
        .await
        .expect_err("html");
    let msg = e.to_string();
    assert!(
        msg.contains("did not answer with a model list") && msg.contains("HTML page"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_base_url_that_is_not_http_is_refused_before_any_request() {
    let e = engine()
        .list_models(&endpoint("ftp://example.com/v1", "k"))
        .await
        .expect_err("ftp");
    assert_eq!(e.kind(), ErrorKind::Network);
    assert!(e.to_string().contains("http:// or https://"), "{e}");
    let p = Provider::new(
        "x",
        "X",
        ProviderKind::OpenaiCompatible,
        "ftp://example.com/v1",
        "m",
    );
    let err = runnel_core::config::validate_provider(&p).expect_err("invalid");
    assert!(err.to_string().contains("http:// or https://"));
}

#[tokio::test]
async fn an_unreachable_host_is_a_network_error_naming_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let e = engine()
        .list_models(&endpoint(&base, "k"))
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Network);
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[tokio::test]
async fn a_tls_failure_is_a_network_error() {
    // https:// to a server that speaks plain HTTP: the TLS handshake fails.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let base = format!("https://{addr}/v1");
    let e = engine()
        .list_models(&endpoint(&base, "k"))
        .await
        .expect_err("tls");
    assert_eq!(e.kind(), ErrorKind::Network);
    let msg = e.to_string().to_ascii_lowercase();
    assert!(
        msg.contains("tls")
            || msg.contains("ssl")
            || msg.contains("handshake")
            || msg.contains("corrupt"),
        "{msg}"
    );
}
