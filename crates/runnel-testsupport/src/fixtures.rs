//! The recorded provider streams in `../shared/fixtures/sse` (beside the
//! checkout; never committed here) and file helpers for leak scans.

use std::path::{Path, PathBuf};

/// The workspace root (the checkout), whichever crate's test asks.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The shared recorded streams, or None (with a one-line notice) when
/// ../shared is absent outside CI. Under CI=true its absence fails.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = workspace_root().join("../shared/fixtures/sse");
    if dir.is_dir() {
        return Some(dir);
    }
    crate::skip(&format!(
        "shared fixtures not found at {} (clone ../shared beside the project)",
        dir.display()
    ));
    None
}

/// Files under `dir` that contain `needle`, and how many files were read.
pub fn files_containing(dir: &Path, needle: &str) -> (Vec<PathBuf>, usize) {
    let mut hits = Vec::new();
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                files += 1;
                if b.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    hits.push(p);
                }
            }
        }
    }
    (hits, files)
}
