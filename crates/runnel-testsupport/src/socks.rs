//! A SOCKS5 proxy on loopback for proxy tests (RFC 1928, with RFC 1929 user
//! name and password when asked for): it accepts CONNECT to an IPv4, IPv6 or
//! domain target, connects, and relays both ways. It records each target and
//! the credentials it was given, so a test can tell that a request really
//! went through it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy saw of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocksConnect {
    /// `host:port` as the client asked for it (a domain stays a domain).
    pub target: String,
    /// User name and password, when the client authenticated.
    pub auth: Option<(String, String)>,
}

/// A running SOCKS5 proxy; stops when dropped.
pub struct SocksProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<SocksConnect>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SocksProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SocksProxy {
    /// Starts the proxy; with `auth`, clients must give that user and password.
    pub async fn start(auth: Option<(&str, &str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind socks");
        let addr = listener.local_addr().expect("socks addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let want = auth.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (want, log) = (want.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, want, log).await;
                });
            }
        });
        Self { addr, seen, task }
    }

    /// `socks5h://127.0.0.1:port` (names resolved by the proxy).
    pub fn url(&self) -> String {
        format!("socks5h://{}", self.addr)
    }

    /// Every CONNECT so far.
    pub fn connects(&self) -> Vec<SocksConnect> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

async fn serve(
    mut client: TcpStream,
    want: Option<(String, String)>,
    log: Arc<Mutex<Vec<SocksConnect>>>,
) -> std::io::Result<()> {
    // Greeting: version 5, the methods the client offers.
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; head[1] as usize];
    client.read_exact(&mut methods).await?;
    let method = if want.is_some() { 2 } else { 0 };
    if head[0] != 5 || !methods.contains(&method) {
        client.write_all(&[5, 0xff]).await?;
        return Ok(());
    }
    client.write_all(&[5, method]).await?;
    let mut auth = None;
    if let Some((user, pass)) = &want {
        // RFC 1929: version 1, user, password.
        let mut v = [0u8; 2];
        client.read_exact(&mut v).await?;
        let mut u = vec![0u8; v[1] as usize];
        client.read_exact(&mut u).await?;
        let mut plen = [0u8; 1];
        client.read_exact(&mut plen).await?;
        let mut p = vec![0u8; plen[0] as usize];
        client.read_exact(&mut p).await?;
        let given = (
            String::from_utf8_lossy(&u).into_owned(),
            String::from_utf8_lossy(&p).into_owned(),
        );
        let ok = &given.0 == user && &given.1 == pass;
        client.write_all(&[1, if ok { 0 } else { 1 }]).await?;
        if !ok {
            return Ok(());
        }
        auth = Some(given);
    }
    // Request: version, CONNECT, reserved, address type.
    let mut req = [0u8; 4];
    client.read_exact(&mut req).await?;
    let host = match req[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            let mut name = vec![0u8; len[0] as usize];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    if let Ok(mut l) = log.lock() {
        l.push(SocksConnect {
            target: target.clone(),
            auth,
        });
    }
    if req[1] != 1 {
        // Only CONNECT: "command not supported".
        client.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    }
    let Ok(mut upstream) = TcpStream::connect(&target).await else {
        // "Host unreachable".
        client.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    };
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
