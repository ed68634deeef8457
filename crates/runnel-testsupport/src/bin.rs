//! The workspace's built binaries, for tests and benchmarks of another
//! package than the one that builds them (Cargo's `CARGO_BIN_EXE_*` only
//! names a package's own). `cargo test --workspace` builds every binary
//! before any test runs.

use std::path::PathBuf;

/// The path of the workspace binary `name` (`runnel`, `runnel-window`) in the
/// profile folder this test runs from. Panics, saying how to build it, when
/// it is missing.
pub fn workspace_bin(name: &str) -> PathBuf {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let found = exe
        .ancestors()
        .skip(1)
        .take(3)
        .map(|d| d.join(&file))
        .find(|p| p.is_file());
    match found {
        Some(p) => p,
        None => panic!(
            "the {name} binary is not built beside {}: run the tests with `cargo test --workspace`",
            exe.display()
        ),
    }
}
