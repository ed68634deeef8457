//! Free loopback ports for servers a test starts (tauri-driver and its
//! WebKitWebDriver). A port is free when the kernel hands it out, but it is
//! free again the moment the probe closes: two calls in a row (or two tests
//! at once) could get the same one, and the second server would fail to
//! bind. Ports handed out here are never handed out again in this process.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A loopback port nobody listens on, and not given out before by this process.
pub fn free_port() -> u16 {
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free loopback port: {e}"));
        if given.insert(port) {
            return port;
        }
    }
}

/// Waits until something accepts connections on loopback `ports`, all of
/// them, or panics naming `what` after `within`. tauri-driver listens on its
/// own port at once but starts WebKitWebDriver beside it; a session asked for
/// before the native driver listens is dropped mid-request (seen in CI as
/// `IncompleteMessage` on the first two window tests of a cold machine).
pub async fn wait_listening(ports: &[u16], within: std::time::Duration, what: &str) {
    let deadline = std::time::Instant::now() + within;
    for &port in ports {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "{what} did not listen on {port} within {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
