//! A loopback HTTP/1.1 test server for provider traffic: real sockets on
//! 127.0.0.1, scripted replies (streams with delays, drops, stalls, error
//! statuses), a record of every request, and notice of every connection the
//! client closed while the server was still sending.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// How a streamed reply ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The chunked body is terminated properly.
    Finish,
    /// The socket is closed without terminating the body (a dropped connection).
    Drop,
    /// Nothing more is sent; the connection stays open until the client closes it.
    Hang,
}

/// A scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A chunked body, each piece sent after its delay.
    Stream {
        status: u16,
        headers: Vec<(String, String)>,
        pieces: Vec<(Duration, Vec<u8>)>,
        end: End,
    },
    /// A complete body with Content-Length.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Never answer (not even headers) until the client gives up.
    Silence,
}

impl Reply {
    /// 200 text/event-stream with the whole body in one piece.
    pub fn sse(body: impl Into<Vec<u8>>) -> Self {
        Self::sse_pieces(vec![(Duration::ZERO, body.into())], End::Finish)
    }

    /// 200 text/event-stream from pieces.
    pub fn sse_pieces(pieces: Vec<(Duration, Vec<u8>)>, end: End) -> Self {
        Self::Stream {
            status: 200,
            headers: vec![("Content-Type".into(), "text/event-stream".into())],
            pieces,
            end,
        }
    }

    /// A JSON body with a status.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// A plain-text body with a status.
    pub fn text(status: u16, body: &str) -> Self {
        Self::Full {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, k: &str, v: &str) -> Self {
        match &mut self {
            Self::Stream { headers, .. } | Self::Full { headers, .. } => {
                headers.push((k.into(), v.into()))
            }
            Self::Silence => {}
        }
        self
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

/// Every streamed piece the server wrote, with when.
type SentLog = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A running server; it stops when dropped.
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    sent: SentLog,
    closed_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Instant>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server; `handler` gets each request and its 0-based number.
    pub async fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        Self::serve_on(listener, handler)
    }

    /// Starts a server on a fixed loopback port (where a preset expects a
    /// local server, say); None when something else holds the port.
    pub async fn start_on(
        port: u16,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Option<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.ok()?;
        Some(Self::serve_on(listener, handler))
    }

    fn serve_on(
        listener: TcpListener,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (closed_tx, closed_rx) = mpsc::unbounded_channel();
        let handler: Arc<Handler> = Arc::new(handler);
        let reqs = requests.clone();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let sent_log = sent.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    break;
                };
                let _ = sock.set_nodelay(true);
                let handler = handler.clone();
                let reqs = reqs.clone();
                let closed_tx = closed_tx.clone();
                let sent_log = sent_log.clone();
                tokio::spawn(async move {
                    serve(sock, handler, reqs, closed_tx, sent_log).await;
                });
            }
        });
        Self {
            addr,
            requests,
            sent,
            closed_rx: tokio::sync::Mutex::new(closed_rx),
            task,
        }
    }

    /// Serves the same reply to every request.
    pub async fn always(reply: Reply) -> Self {
        Self::start(move |_, _| reply.clone()).await
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("lock").clone()
    }

    /// Requests for answers in either protocol (`/chat/completions`, `/messages`).
    pub fn chat_requests_any(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/chat/completions") || r.path.ends_with("/messages"))
            .collect()
    }

    /// Every streamed piece written so far, with when it was written.
    pub fn sent(&self) -> Vec<(Instant, Vec<u8>)> {
        self.sent.lock().expect("lock").clone()
    }

    /// The content the server had streamed by `t`: the deltas starting with
    /// `prefix`, in order (the prefix picks one stream when a test runs several).
    pub fn sent_text_by(&self, t: Instant, prefix: &str) -> String {
        let mut text = String::new();
        for (at, piece) in self.sent() {
            if at > t {
                break;
            }
            for line in String::from_utf8_lossy(&piece).lines() {
                let Some(data) = line.strip_prefix("data: ") else {
                    continue;
                };
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(data) {
                    if let Some(c) = v["choices"][0]["delta"]["content"]
                        .as_str()
                        .filter(|c| c.starts_with(prefix))
                    {
                        text.push_str(c);
                    }
                }
            }
        }
        text
    }

    /// The chat completion requests so far (not `/models`).
    pub fn chat_requests(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .collect()
    }

    /// Waits until the client closes a connection the server was still streaming on.
    pub async fn wait_client_closed(&self, within: Duration) -> Option<Instant> {
        let mut rx = self.closed_rx.lock().await;
        tokio::time::timeout(within, rx.recv()).await.ok().flatten()
    }
}

async fn read_request(sock: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Waits for the peer to close (read returns 0 or fails).
async fn peer_closed(sock: &mut tokio::net::tcp::ReadHalf<'_>) {
    let mut tmp = [0u8; 1024];
    loop {
        match sock.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

async fn serve(
    mut sock: TcpStream,
    handler: Arc<Handler>,
    reqs: Arc<Mutex<Vec<Request>>>,
    closed_tx: mpsc::UnboundedSender<Instant>,
    sent_log: SentLog,
) {
    // One request per connection keeps the script simple.
    let Some(req) = read_request(&mut sock).await else {
        return;
    };
    let n = {
        let mut r = reqs.lock().expect("lock");
        r.push(req.clone());
        r.len() - 1
    };
    let reply = handler(&req, n);
    match reply {
        Reply::Silence => {
            let (mut rd, _wr) = sock.split();
            peer_closed(&mut rd).await;
            let _ = closed_tx.send(Instant::now());
        }
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let mut bytes = out.into_bytes();
            bytes.extend_from_slice(&body);
            let _ = sock.write_all(&bytes).await;
            let _ = sock.shutdown().await;
        }
        Reply::Stream {
            status,
            headers,
            pieces,
            end,
        } => {
            let mut out = format!("HTTP/1.1 {status} {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nCache-Control: no-cache\r\n", reason(status));
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let (mut rd, mut wr) = sock.split();
            let send_all = async {
                wr.write_all(out.as_bytes()).await?;
                for (delay, piece) in pieces {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if piece.is_empty() {
                        continue;
                    }
                    let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                    chunk.extend_from_slice(&piece);
                    chunk.extend_from_slice(b"\r\n");
                    wr.write_all(&chunk).await?;
                    sent_log.lock().expect("lock").push((Instant::now(), piece));
                }
                match end {
                    End::Finish => wr.write_all(b"0\r\n\r\n").await?,
                    End::Drop => {}
                    End::Hang => std::future::pending::<()>().await,
                }
                Ok::<(), std::io::Error>(())
            };
            tokio::select! {
                r = send_all => {
                    if r.is_err() {
                        let _ = closed_tx.send(Instant::now());
                    }
                }
                _ = peer_closed(&mut rd) => {
                    let _ = closed_tx.send(Instant::now());
                }
            }
        }
    }
}

/// An OpenAI-style model list.
pub fn models_reply(ids: &[&str]) -> Reply {
    let data: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"id": id, "object": "model"}))
        .collect();
    Reply::json(200, &serde_json::json!({"object": "list", "data": data}))
}

/// Serves `/models` with `models`, and numbers chat requests separately: `chat`
/// gets each chat request and its 0-based chat number.
pub fn chat_and_models(
    models: &'static [&'static str],
    chat: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request, usize) -> Reply + Send + Sync + 'static {
    let n = std::sync::atomic::AtomicUsize::new(0);
    move |req, _| {
        if req.method == "GET" && req.path_only().ends_with("/models") {
            models_reply(models)
        } else {
            chat(req, n.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        }
    }
}

/// A chat.completion.chunk SSE event carrying `content`.
pub fn content_event(text: &str) -> Vec<u8> {
    let v = serde_json::json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "test",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
    });
    format!("data: {v}\n\n").into_bytes()
}

/// A finish chunk, a usage chunk and `[DONE]`.
pub fn finish_events(reason: &str, input: u64, output: u64) -> Vec<u8> {
    let fin = serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]});
    let usage = serde_json::json!({"choices": [], "usage": {"prompt_tokens": input, "completion_tokens": output}});
    format!("data: {fin}\n\ndata: {usage}\n\ndata: [DONE]\n\n").into_bytes()
}

/// A complete streamed answer of `words`, one per event.
/// An Anthropic Messages stream that answers `text` and ends normally.
pub fn anthropic_stream(text: &str) -> Vec<u8> {
    let events = [
        (
            "message_start",
            serde_json::json!({"type": "message_start", "message": {"id": "msg_test", "type": "message",
            "role": "assistant", "model": "claude-test", "content": [], "stop_reason": null,
            "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}}),
        ),
        (
            "content_block_stop",
            serde_json::json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 5}}),
        ),
        ("message_stop", serde_json::json!({"type": "message_stop"})),
    ];
    let mut out = String::new();
    for (name, data) in events {
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    }
    out.into_bytes()
}

pub fn answer_stream(words: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in words {
        out.extend(content_event(w));
    }
    out.extend(finish_events("stop", 5, words.len() as u64));
    out
}

/// A file download as a hub's storage serves it: the whole `body` (200), or
/// from the request's `Range: bytes=N-` on (206 with Content-Range). With
/// `drop_at`, the connection drops once the file's byte `drop_at` is
/// reached (a dropped download).
pub fn file_reply(body: &[u8], req: &Request, drop_at: Option<usize>) -> Reply {
    let from = req
        .header("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
    let (status, start) = match from {
        Some(n) if n >= body.len() => return Reply::text(416, ""),
        Some(n) => (206, n),
        None => (200, 0),
    };
    let mut headers = vec![(
        "Content-Type".to_owned(),
        "application/octet-stream".to_owned(),
    )];
    if status == 206 {
        headers.push((
            "Content-Range".into(),
            format!("bytes {start}-{}/{}", body.len() - 1, body.len()),
        ));
    }
    match drop_at.filter(|&d| d > start && d < body.len()) {
        // The whole rest, with its Content-Length.
        None => Reply::Full {
            status,
            headers,
            body: body[start..].to_vec(),
        },
        Some(end) => Reply::Stream {
            status,
            headers,
            pieces: body[start..end]
                .chunks(64 * 1024)
                .map(|c| (Duration::ZERO, c.to_vec()))
                .collect(),
            end: End::Drop,
        },
    }
}
