//! Downloading a model: into `<id>.gguf.partial`, resumed with an HTTP
//! Range after a dropped connection (also in a later run), cancellable,
//! with free disk space checked first and the sha256 checked before the
//! file is renamed into place. The expected hash is the catalog's, the
//! caller's, or the one the hub publishes for the file (its LFS oid, sent
//! as `X-Linked-Etag` on the redirect to the file's storage).

use super::gguf;
use super::library::{Library, LibraryError, LocalModel, PARTIAL_SUFFIX};
use super::system::{free_disk, human_bytes};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Redirects followed at most (the hub redirects once, to its storage).
const MAX_REDIRECTS: usize = 10;
/// Tries after a dropped connection, each resuming where the last stopped.
pub const MAX_RESUMES: u32 = 5;
/// Longest silence from the server before the try counts as dropped.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Progress is reported at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Room left free on the disk beside the model.
const DISK_MARGIN: u64 = 64 * 1024 * 1024;

/// What a download is asked to fetch.
#[derive(Debug, Clone)]
pub struct PullRequest {
    /// The file's URL.
    pub url: String,
    /// The id it is installed as.
    pub id: String,
    /// The sha256 it must have (hex), when known beforehand.
    pub sha256: Option<String>,
    /// Free bytes to assume instead of asking the file system (tests).
    pub disk_limit: Option<u64>,
}

/// Progress of a download.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes on disk so far.
    pub done: u64,
    /// The file's size, when the server said.
    pub total: Option<u64>,
    /// Bytes per second over this run.
    pub bytes_per_s: f64,
    /// Seconds left at that rate.
    pub eta_s: Option<f64>,
}

/// What a download reports.
#[derive(Debug, Clone, PartialEq)]
pub enum PullEvent {
    /// Bytes arrived.
    Progress(Progress),
    /// The connection dropped; the next try resumes at `at` bytes.
    Resuming {
        /// Bytes kept.
        at: u64,
        /// Why the last try stopped.
        reason: String,
    },
    /// The file arrived and is being checked.
    Verifying,
    /// Nobody published a hash for the file and none was given: it is
    /// installed unchecked, and this is the hash it has (to pin it next time).
    Unverified {
        /// The file's sha256 (hex).
        sha256: String,
    },
}

/// Why a download failed. The partial file stays for a later resume unless
/// the message says it was deleted.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The server could not be reached or kept dropping the connection.
    #[error("the download from {url} failed: {detail}")]
    Network {
        /// The URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The server answered with an error status.
    #[error("the download from {url} failed: HTTP {status}")]
    Http {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The file arrived but its sha256 is not the expected one.
    #[error("the downloaded file's sha256 is {actual}, expected {expected}: it was deleted")]
    Checksum {
        /// The hash asked for.
        expected: String,
        /// The hash of what arrived.
        actual: String,
    },
    /// The disk has no room for it.
    #[error("not enough disk space: {0}")]
    NoSpace(String),
    /// Stopped by the user; the partial file stays for a resume.
    #[error("the download was cancelled")]
    Cancelled,
    /// The file arrived but is not a usable model.
    #[error("the downloaded file is not a usable model ({0}): it was deleted")]
    NotAModel(gguf::GgufError),
    /// The models folder failed.
    #[error(transparent)]
    Library(#[from] LibraryError),
}

impl PullError {
    /// The stable kind shown to users.
    pub fn kind(&self) -> crate::types::error::ErrorKind {
        use crate::types::error::ErrorKind;
        match self {
            Self::Network { .. } | Self::Http { .. } => ErrorKind::Network,
            Self::NoSpace(_) => ErrorKind::Storage,
            Self::Cancelled => ErrorKind::Invalid,
            Self::Checksum { .. } | Self::NotAModel(_) | Self::Library(_) => ErrorKind::Model,
        }
    }
}

fn io(what: &str) -> impl FnOnce(std::io::Error) -> PullError + '_ {
    move |source| {
        PullError::Library(LibraryError::Io {
            what: what.to_owned(),
            source,
        })
    }
}

/// True when `s` is a sha256 written as 64 hex digits (either case).
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A 64-digit hex sha256 from a header value such as `"abc…"` or `W/"abc…"`.
pub fn sha256_from_etag(value: &str) -> Option<String> {
    let v = value.trim().trim_start_matches("W/").trim_matches('"');
    is_sha256_hex(v).then(|| v.to_ascii_lowercase())
}

/// One try's response after redirects, with what the hops said.
struct Fetched {
    response: reqwest::Response,
    linked_sha256: Option<String>,
    linked_size: Option<u64>,
}

async fn fetch(client: &reqwest::Client, url: &str, from: u64) -> Result<Fetched, PullError> {
    let mut url = reqwest::Url::parse(url).map_err(|e| PullError::Network {
        url: url.to_owned(),
        detail: format!("not a URL ({e})"),
    })?;
    let (mut linked_sha256, mut linked_size) = (None, None);
    for _ in 0..=MAX_REDIRECTS {
        let mut req = client.get(url.clone());
        if from > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        let response = req.send().await.map_err(|e| PullError::Network {
            url: url.to_string(),
            detail: crate::types::error::error_chain(&e),
        })?;
        let h = response.headers();
        if let Some(sha) = h
            .get("x-linked-etag")
            .and_then(|v| v.to_str().ok())
            .and_then(sha256_from_etag)
        {
            linked_sha256 = Some(sha);
        }
        if let Some(n) = h
            .get("x-linked-size")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
        {
            linked_size = Some(n);
        }
        if response.status().is_redirection() {
            let next = h
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| url.join(loc).ok())
                .ok_or_else(|| PullError::Network {
                    url: url.to_string(),
                    detail: "a redirect without a usable Location".into(),
                })?;
            url = next;
            continue;
        }
        return Ok(Fetched {
            response,
            linked_sha256,
            linked_size,
        });
    }
    Err(PullError::Network {
        url: url.to_string(),
        detail: format!("more than {MAX_REDIRECTS} redirects"),
    })
}

/// The sha256 of the first bytes already downloaded (a resume goes on from them).
fn hash_existing(path: &std::path::Path) -> Result<(Sha256, u64), PullError> {
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((hasher, 0)),
        Err(e) => return Err(io("cannot read the partial download")(e)),
    };
    let mut buf = vec![0u8; 1024 * 1024];
    loop {
        let k = f
            .read(&mut buf)
            .map_err(io("cannot read the partial download"))?;
        if k == 0 {
            break;
        }
        hasher.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hasher, n))
}

/// Downloads `request` into `library` with `client` (which must not follow
/// redirects itself: the engine's does not), resuming a partial file left by an
/// earlier try, and installs it once its hash and header check out.
pub async fn pull(
    client: &reqwest::Client,
    library: &Library,
    request: &PullRequest,
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(PullEvent) + Send),
) -> Result<LocalModel, PullError> {
    let target = library.file_of(&request.id)?;
    if target.exists() {
        return Err(LibraryError::Exists(request.id.clone()).into());
    }
    std::fs::create_dir_all(library.dir()).map_err(io("cannot create the models folder"))?;
    let partial = library
        .dir()
        .join(format!("{}.gguf{PARTIAL_SUFFIX}", request.id));
    let (mut hasher, mut done) = hash_existing(&partial)?;
    let mut expected = request.sha256.as_ref().map(|s| s.to_ascii_lowercase());
    let mut total: Option<u64> = None;
    let started = Instant::now();
    let first_done = done;
    let mut tries = 0u32;
    loop {
        if cancel.is_cancelled() {
            return Err(PullError::Cancelled);
        }
        let attempt = async {
            let fetched = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(PullError::Cancelled),
                f = fetch(client, &request.url, done) => f?,
            };
            if expected.is_none() {
                expected = fetched.linked_sha256.clone();
            }
            let status = fetched.response.status();
            let mut append = done > 0;
            match status.as_u16() {
                206 => {}
                200 => {
                    // The server ignored the Range: start over.
                    append = false;
                    hasher = Sha256::new();
                    done = 0;
                }
                416 if done > 0 => {
                    // Nothing after what we have: the file is complete.
                    total = Some(done);
                    return Ok(true);
                }
                s => {
                    return Err(PullError::Http {
                        url: request.url.clone(),
                        status: s,
                    })
                }
            }
            // The size: the hub's, else the Content-Range total, else what
            // the Content-Length says is left (read from the headers:
            // reqwest's content_length() is the body's size hint).
            let headers = fetched.response.headers();
            let header = |name: reqwest::header::HeaderName| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let range_total = header(reqwest::header::CONTENT_RANGE).and_then(|r| {
                r.rsplit('/')
                    .next()
                    .and_then(|t| t.trim().parse::<u64>().ok())
            });
            let rest =
                header(reqwest::header::CONTENT_LENGTH).and_then(|l| l.trim().parse::<u64>().ok());
            total = fetched
                .linked_size
                .or(range_total)
                .or_else(|| rest.map(|r| r + done))
                .or(total);
            if let Some(t) = total {
                let need = t.saturating_sub(done);
                let free = request.disk_limit.or_else(|| free_disk(library.dir()));
                if let Some(free) = free {
                    let margin = if request.disk_limit.is_some() {
                        0
                    } else {
                        DISK_MARGIN
                    };
                    if need.saturating_add(margin) > free {
                        return Err(PullError::NoSpace(format!(
                            "the model needs {} more and {} has {} free",
                            human_bytes(need),
                            library.dir().display(),
                            human_bytes(free)
                        )));
                    }
                }
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(&partial)
                .map_err(io("cannot write the download"))?;
            let mut file = std::io::BufWriter::with_capacity(1024 * 1024, file);
            let mut body = fetched.response.bytes_stream();
            let mut last_report = Instant::now() - PROGRESS_EVERY;
            loop {
                let next = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => {
                        let _ = file.flush();
                        return Err(PullError::Cancelled);
                    }
                    n = tokio::time::timeout(IDLE_TIMEOUT, body.next()) => n,
                };
                let chunk = match next {
                    Err(_) => {
                        file.flush().map_err(io("cannot write the download"))?;
                        return Ok(false);
                    }
                    Ok(None) => break,
                    Ok(Some(Err(e))) => {
                        file.flush().map_err(io("cannot write the download"))?;
                        tracing::info!(error = %crate::types::error::error_chain(&e), "download dropped");
                        return Ok(false);
                    }
                    Ok(Some(Ok(c))) => c,
                };
                if let Some(limit) = request.disk_limit {
                    if done + chunk.len() as u64 > limit {
                        return Err(PullError::NoSpace(format!(
                            "{} filled up after {}",
                            library.dir().display(),
                            human_bytes(done)
                        )));
                    }
                }
                file.write_all(&chunk).map_err(|e| {
                    if e.raw_os_error() == Some(28) {
                        PullError::NoSpace(format!("{} is full", library.dir().display()))
                    } else {
                        io("cannot write the download")(e)
                    }
                })?;
                hasher.update(&chunk);
                done += chunk.len() as u64;
                if last_report.elapsed() >= PROGRESS_EVERY {
                    last_report = Instant::now();
                    on_event(PullEvent::Progress(progress(
                        done, total, first_done, started,
                    )));
                }
            }
            file.flush().map_err(io("cannot write the download"))?;
            Ok(total.is_none_or(|t| done >= t))
        };
        match attempt.await {
            Ok(true) => break,
            Ok(false) => {
                tries += 1;
                if tries > MAX_RESUMES {
                    return Err(PullError::Network {
                        url: request.url.clone(),
                        detail: format!(
                            "the connection dropped {tries} times; {} of the file is kept: pull again to resume",
                            human_bytes(done)
                        ),
                    });
                }
                on_event(PullEvent::Resuming {
                    at: done,
                    reason: "the connection dropped".into(),
                });
                tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
            }
            Err(e) => return Err(e),
        }
    }
    on_event(PullEvent::Progress(progress(
        done, total, first_done, started,
    )));
    on_event(PullEvent::Verifying);
    let actual = hex(&hasher.finalize());
    match &expected {
        Some(want) if *want != actual => {
            let _ = std::fs::remove_file(&partial);
            return Err(PullError::Checksum {
                expected: want.clone(),
                actual,
            });
        }
        Some(_) => {}
        None => {
            tracing::warn!(url = %request.url, sha256 = %actual, "no published hash to check the download against");
            on_event(PullEvent::Unverified {
                sha256: actual.clone(),
            });
        }
    }
    if let Err(e) = gguf::read(&partial) {
        let _ = std::fs::remove_file(&partial);
        return Err(PullError::NotAModel(e));
    }
    std::fs::rename(&partial, &target).map_err(io("cannot move the model into place"))?;
    let model = library
        .list()?
        .into_iter()
        .find(|m| m.id == request.id)
        .ok_or_else(|| LibraryError::NoSuchModel(request.id.clone()))?;
    Ok(model)
}

fn progress(done: u64, total: Option<u64>, first_done: u64, started: Instant) -> Progress {
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let rate = (done.saturating_sub(first_done)) as f64 / secs;
    Progress {
        done,
        total,
        bytes_per_s: rate,
        eta_s: total
            .filter(|_| rate > 0.0)
            .map(|t| t.saturating_sub(done) as f64 / rate),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The sha256 of a file, hex (for `--sha256` checks and tests).
pub fn sha256_of(path: &std::path::Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_etags_give_the_sha256() {
        let h = "74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db";
        assert_eq!(sha256_from_etag(&format!("\"{h}\"")).as_deref(), Some(h));
        assert_eq!(
            sha256_from_etag(&format!("W/\"{}\"", h.to_uppercase())).as_deref(),
            Some(h)
        );
        assert_eq!(sha256_from_etag("\"1234-abcd\""), None);
    }
}
