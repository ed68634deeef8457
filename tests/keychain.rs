//! Keys in a real Secret Service: gnome-keyring in the D-Bus session that the
//! README's test command starts. Also the paths without one: no session bus,
//! and a bus with no Secret Service, each giving a clear error and saving
//! nothing anywhere else.
//!
//! Skipped with a notice when there is no session bus, except under CI=true.

use runnel_testsupport as common;

use common::{models_reply, TestServer};
use runnel_core::keys::{OsKeychain, SecretStore};
use runnel_testsupport::temp::TempDir;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

fn session_bus() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    common::skip("the keychain test: no D-Bus session (run the README's test command)");
    false
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[test]
fn set_get_overwrite_delete_two_providers_and_a_non_ascii_key() {
    if !session_bus() {
        return;
    }
    let service = unique("dev.runnel.test");
    let kc = OsKeychain::new(&service);
    assert_eq!(kc.get("openai").expect("get"), None);
    kc.set("openai", "sk-first-1111").expect("set");
    // A separate instance reads the same entry: it is in the Secret Service, not in memory.
    let other = OsKeychain::new(&service);
    assert_eq!(
        other.get("openai").expect("get").as_deref(),
        Some("sk-first-1111")
    );
    kc.set("openai", "sk-second-2222").expect("overwrite");
    assert_eq!(
        other.get("openai").expect("get").as_deref(),
        Some("sk-second-2222")
    );
    let unicode = "gsk_ünïcødé-🔑-ключ-鍵";
    kc.set("groq", unicode).expect("set non-ASCII");
    assert_eq!(other.get("groq").expect("get").as_deref(), Some(unicode));
    assert!(kc.delete("openai").expect("delete"));
    assert_eq!(other.get("openai").expect("get"), None);
    assert_eq!(
        other.get("groq").expect("get").as_deref(),
        Some(unicode),
        "the other provider is untouched"
    );
    assert!(kc.delete("groq").expect("delete"));
    assert!(
        !kc.delete("groq").expect("delete again"),
        "deleting a missing key says so"
    );
}

/// `runnel` with its settings in `config` and a loopback provider `local`.
async fn cli(
    config: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = Command::new(runnel_testsupport::bin::workspace_bin("runnel"));
    cmd.args(args)
        .env("RUNNEL_CONFIG_DIR", config)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn runnel");
    if let Some(input) = stdin {
        let mut s = child.stdin.take().expect("stdin");
        s.write_all(input.as_bytes()).await.expect("write");
        drop(s);
    }
    tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("runnel finished")
        .expect("output")
}

#[tokio::test]
async fn without_a_session_bus_the_error_is_clear_and_nothing_is_saved() {
    let server = TestServer::always(models_reply(&["m"])).await;
    let config_tmp = TempDir::new("runnel-nobus");
    let config = config_tmp.path().to_path_buf();
    let out = cli(
        &config,
        &[
            "providers",
            "add",
            "local",
            "--base-url",
            &server.base_url(),
            "--model",
            "m",
        ],
        None,
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = "sk-nobus-secret-4242";
    let no_bus = [
        (
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/runnel-test-bus",
        ),
        ("DISPLAY", ""),
    ];
    let out = cli(&config, &["key", "set", "local"], Some(key), &no_bus).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error [keychain]"), "{stderr}");
    assert!(
        stderr.contains("No D-Bus session bus") && stderr.contains("Secret Service"),
        "{stderr}"
    );
    assert!(!stderr.contains(key) && !String::from_utf8_lossy(&out.stdout).contains(key));
    assert!(
        common::files_containing(&config, key).0.is_empty(),
        "no plaintext fallback"
    );
}

#[tokio::test]
async fn a_bus_without_a_secret_service_names_the_missing_service() {
    let Some(daemon) = find_on_path("dbus-daemon") else {
        common::skip("dbus-daemon is not installed");
        return;
    };
    // A private bus with no service files: nothing can provide org.freedesktop.secrets.
    let dir_tmp = TempDir::new("runnel-bus");
    let dir = dir_tmp.path().to_path_buf();
    let conf = dir.join("bus.conf");
    std::fs::write(
        &conf,
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\
             <busconfig><type>session</type><listen>unix:path={}/bus</listen>\
             <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
             <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
            dir.display()
        ),
    )
    .expect("bus config");
    let mut bus = std::process::Command::new(daemon)
        .arg(format!("--config-file={}", conf.display()))
        .arg("--nofork")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dbus-daemon");
    for _ in 0..100 {
        if dir.join("bus").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server = TestServer::always(models_reply(&["m"])).await;
    let config = dir.join("config");
    let out = cli(
        &config,
        &[
            "providers",
            "add",
            "local",
            "--base-url",
            &server.base_url(),
        ],
        None,
        &[],
    )
    .await;
    assert!(out.status.success());
    let address = format!("unix:path={}/bus", dir.display());
    let out = cli(
        &config,
        &["key", "set", "local"],
        Some("sk-nosvc-7777"),
        &[("DBUS_SESSION_BUS_ADDRESS", &address)],
    )
    .await;
    let _ = bus.kill();
    let _ = bus.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("No Secret Service") && stderr.contains("gnome-keyring"),
        "{stderr}"
    );
    assert!(common::files_containing(&config, "sk-nosvc-7777")
        .0
        .is_empty());
}

fn find_on_path(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

#[tokio::test]
async fn cli_providers_and_keys_share_the_keychain_and_never_print_keys() {
    if !session_bus() {
        return;
    }
    let server = TestServer::start(common::chat_and_models(&["model-x", "model-y"], |_, _| {
        common::Reply::sse(common::answer_stream(&["from", " keychain"]))
    }))
    .await;
    let config_tmp = TempDir::new("runnel-cli-keys");
    let config = config_tmp.path().to_path_buf();
    let id = unique("t").replace('_', "-");
    let key = "sk-cli-keychain-secret-5150";

    let out = cli(
        &config,
        &[
            "providers",
            "add",
            &id,
            "--base-url",
            &server.base_url(),
            "--model",
            "model-x",
            "--name",
            "Test box",
        ],
        None,
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A wrong key: the test fails with 401 and nothing is saved.
    let failing = TestServer::always(common::Reply::json(
        401,
        &serde_json::json!({"error": {"message": "bad key"}}),
    ))
    .await;
    let bad_id = format!("{id}-bad");
    let out = cli(
        &config,
        &[
            "providers",
            "add",
            &bad_id,
            "--base-url",
            &failing.base_url(),
        ],
        None,
        &[],
    )
    .await;
    assert!(out.status.success());
    let out = cli(
        &config,
        &["key", "set", &bad_id],
        Some("sk-wrong-0000"),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("auth") && stderr.contains("nothing was saved"),
        "{stderr}"
    );

    let out = cli(
        &config,
        &["key", "set", &id],
        Some(&format!("{key}\n")),
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("set ····5150"));
    assert_eq!(
        server.requests()[0]
            .header("authorization")
            .map(str::to_owned),
        Some(format!("Bearer {key}")),
        "the key was tested with GET /models"
    );

    let out = cli(&config, &["providers", "list", "--json"], None, &[]).await;
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mine = list
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["id"] == id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(mine["key"], "set ····5150");
    assert_eq!(mine["base_url"], server.base_url());
    let bad = list
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["id"] == bad_id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(bad["key"], "not set");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(key));
    let out = cli(&config, &["providers"], None, &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&id) && text.contains("openai") && !text.contains(key),
        "{text}"
    );

    let out = cli(
        &config,
        &["ask", "--provider", &id, "--json", "hi"],
        None,
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("line"),
    )
    .expect("json");
    assert_eq!(v["text"], "from keychain");
    let chat = server.chat_requests();
    assert_eq!(
        chat[0].header("authorization").map(str::to_owned),
        Some(format!("Bearer {key}"))
    );
    assert_eq!(chat[0].json()["model"], "model-x");

    assert!(
        common::files_containing(&config, key).0.is_empty(),
        "the settings never hold the key"
    );
    let out = cli(&config, &["providers", "remove", &id], None, &[]).await;
    assert!(out.status.success());
    assert_eq!(
        OsKeychain::new(runnel_core::config::APP_ID)
            .get(&id)
            .expect("get"),
        None,
        "remove deletes the key"
    );
    let out = cli(&config, &["providers", "remove", &bad_id], None, &[]).await;
    assert!(out.status.success());
}
