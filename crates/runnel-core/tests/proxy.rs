//! Every request goes through the proxy the settings name: an HTTP proxy
//! (a loopback server standing in for it, which sees the absolute-form
//! requests and the Proxy-Authorization header) and a real SOCKS5 proxy
//! (RFC 1928/1929) that relays to a loopback provider. The hosts in the
//! no-proxy list are reached directly.

use runnel_testsupport as common;

use common::socks::SocksProxy;
use common::{chat_and_models, content_event, finish_events, models_reply, Reply, TestServer};
use runnel_core::engine::endpoint::Endpoint;
use runnel_core::engine::{ChatOptions, Engine, EngineConfig, Outcome, ProxyConfig};
use runnel_core::types::chat::{ChatMessage, Role};
use runnel_core::types::error::ErrorKind;
use runnel_core::types::key::ApiKey;
use tokio_util::sync::CancellationToken;

fn engine(proxy: ProxyConfig) -> Engine {
    Engine::new(EngineConfig {
        max_retries: 0,
        proxy,
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn endpoint(base: &str) -> Endpoint {
    Endpoint::new(
        base,
        "m",
        Some(ApiKey::new("sk-proxy-test")),
        "OPENAI_API_KEY",
    )
}

fn custom(url: &str, no_proxy: &str, auth: Option<(&str, &str)>) -> ProxyConfig {
    ProxyConfig::Custom {
        url: url.to_owned(),
        no_proxy: no_proxy.to_owned(),
        auth: auth.map(|(u, p)| (u.to_owned(), ApiKey::new(p))),
    }
}

#[tokio::test]
async fn an_http_proxy_carries_every_request_with_its_credentials() {
    // The provider's host does not exist: only the proxy can answer for it.
    let proxy = TestServer::always(models_reply(&["via-proxy"])).await;
    let origin = proxy.base_url().trim_end_matches("/v1").to_owned();
    let e = engine(custom(&origin, "", Some(("alice", "s3cret"))));
    let models = e
        .list_models(&endpoint("http://provider.runnel-test.invalid/v1"))
        .await
        .expect("models through the proxy");
    assert_eq!(models, vec!["via-proxy"]);
    let req = &proxy.requests()[0];
    assert_eq!(req.path, "http://provider.runnel-test.invalid/v1/models");
    // "alice:s3cret" in Basic auth.
    assert_eq!(
        req.header("proxy-authorization"),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    assert_eq!(req.header("authorization"), Some("Bearer sk-proxy-test"));
}

#[tokio::test]
async fn hosts_in_the_no_proxy_list_are_reached_directly() {
    let proxy = TestServer::always(models_reply(&["via-proxy"])).await;
    let direct = TestServer::always(models_reply(&["direct"])).await;
    let origin = proxy.base_url().trim_end_matches("/v1").to_owned();
    let e = engine(custom(&origin, "localhost, 127.0.0.1", None));
    let models = e
        .list_models(&endpoint(&direct.base_url()))
        .await
        .expect("models");
    assert_eq!(models, vec!["direct"]);
    assert!(proxy.requests().is_empty(), "the proxy saw a request");
}

#[tokio::test]
async fn a_socks5_proxy_relays_a_streamed_answer_and_checks_the_password() {
    let server = TestServer::start(chat_and_models(&["m"], |_, _| {
        let mut b = content_event("through ");
        b.extend(content_event("socks"));
        b.extend(finish_events("stop", 3, 2));
        Reply::sse(b)
    }))
    .await;
    let socks = SocksProxy::start(Some(("bob", "hunter2"))).await;
    let e = engine(custom(&socks.url(), "", Some(("bob", "hunter2"))));
    let r = e
        .chat(
            &endpoint(&server.base_url()),
            &[ChatMessage::new(Role::User, "hi")],
            ChatOptions::default(),
            &CancellationToken::new(),
            &mut |_| {},
        )
        .await;
    assert!(matches!(r.outcome, Outcome::Done), "{:?}", r.outcome);
    assert_eq!(r.answer.text, "through socks");
    let port = server
        .base_url()
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .map(str::to_owned);
    let seen = socks.connects();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        Some(seen[0].target.rsplit(':').next().unwrap_or("").to_owned()),
        port
    );
    assert_eq!(seen[0].auth, Some(("bob".into(), "hunter2".into())));

    // A wrong password: the proxy refuses, and the error is a network error naming the proxy.
    let wrong = engine(custom(&socks.url(), "", Some(("bob", "nope"))));
    let err = wrong
        .list_models(&endpoint(&server.base_url()))
        .await
        .expect_err("refused by the proxy");
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    assert!(
        !err.to_string().contains("nope"),
        "the password is never shown: {err}"
    );
}

#[tokio::test]
async fn a_proxy_that_is_down_is_a_network_error_not_a_hang() {
    let port = common::free_port();
    let e = engine(custom(&format!("http://127.0.0.1:{port}"), "", None));
    let err = e
        .list_models(&endpoint("http://provider.runnel-test.invalid/v1"))
        .await
        .expect_err("no proxy listening");
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
}

#[tokio::test]
async fn off_ignores_the_proxy_and_a_custom_url_that_cannot_be_used_is_refused() {
    let direct = TestServer::always(models_reply(&["direct"])).await;
    let models = engine(ProxyConfig::Off)
        .list_models(&endpoint(&direct.base_url()))
        .await
        .expect("direct");
    assert_eq!(models, vec!["direct"]);
    let e = Engine::new(EngineConfig {
        proxy: custom("not a proxy url", "", None),
        ..EngineConfig::default()
    })
    .expect_err("unusable proxy URL");
    assert_eq!(e.kind(), ErrorKind::Network);
    assert!(e.to_string().contains("proxy"), "{e}");
}

/// A keychain in memory (the real Secret Service is tested in the app's keychain tests).
#[derive(Default)]
struct MemoryKeychain(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl runnel_core::keys::SecretStore for MemoryKeychain {
    fn get(&self, account: &str) -> Result<Option<String>, runnel_core::keys::SecretError> {
        Ok(self.0.lock().expect("lock").get(account).cloned())
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), runnel_core::keys::SecretError> {
        self.0
            .lock()
            .expect("lock")
            .insert(account.to_owned(), secret.to_owned());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<bool, runnel_core::keys::SecretError> {
        Ok(self.0.lock().expect("lock").remove(account).is_some())
    }
}

#[tokio::test]
async fn the_services_proxy_setting_is_used_at_once_and_its_password_stays_in_the_keychain() {
    use runnel_core::config::{ProxyMode, ProxySettings, SettingsStore};
    use runnel_core::keys::Secrets;
    use runnel_core::service::Service;
    use std::sync::Arc;

    let proxy = TestServer::always(models_reply(&["via-proxy"])).await;
    let origin = proxy.base_url().trim_end_matches("/v1").to_owned();
    let dir = common::temp::TempDir::new("proxy-settings");
    let path = dir.path().join("settings.json");
    let svc = Service::new(
        SettingsStore::at(path.clone()),
        Arc::new(Secrets::new(Arc::new(MemoryKeychain::default()))),
        &runnel_core::config::env::Env::default(),
    )
    .expect("service");
    let mut network = svc.state().network;
    network.proxy = ProxySettings {
        mode: ProxyMode::Custom,
        url: format!(" {origin} "),
        no_proxy: String::new(),
        username: "carol".into(),
    };
    svc.set_network(network.clone()).expect("save the proxy");
    svc.set_proxy_password(Some(ApiKey::new("pw-in-keychain-77")))
        .expect("save the password");
    assert!(svc.state().proxy_password_set);

    let models = svc
        .engine()
        .list_models(&endpoint("http://provider.runnel-test.invalid/v1"))
        .await
        .expect("through the proxy");
    assert_eq!(models, vec!["via-proxy"]);
    // "carol:pw-in-keychain-77" in Basic auth.
    assert_eq!(
        proxy.requests()[0].header("proxy-authorization"),
        Some("Basic Y2Fyb2w6cHctaW4ta2V5Y2hhaW4tNzc=")
    );
    let file = std::fs::read_to_string(&path).expect("settings file");
    assert!(file.contains("carol") && file.contains(&origin), "{file}");
    assert!(
        !file.contains("pw-in-keychain-77"),
        "the password is in the settings file"
    );

    // A URL with a password in it is refused, and nothing changes.
    let mut leaky = network.clone();
    leaky.proxy.url = "http://carol:pw@proxy.example:3128".into();
    assert!(svc.set_network(leaky).is_err());
    assert_eq!(svc.state().network.proxy.url, origin);

    // Deleting the password, then going direct.
    svc.set_proxy_password(None).expect("delete");
    assert!(!svc.state().proxy_password_set);
    network.proxy.mode = ProxyMode::Off;
    svc.set_network(network).expect("off");
    let direct = TestServer::always(models_reply(&["direct"])).await;
    assert_eq!(
        svc.engine()
            .list_models(&endpoint(&direct.base_url()))
            .await
            .expect("direct"),
        vec!["direct"]
    );
    assert_eq!(proxy.requests().len(), 1);
}
