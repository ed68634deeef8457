//! `ui/types/ipc.ts` is exactly what the Rust types generate: a renamed or
//! retyped field changes it, and then the window's JS type check
//! (`tsc -p ui`, in the test command and tests/js/ipc-types.test.js) fails
//! where the JS uses the old shape. `RUNNEL_BLESS=1` rewrites the file.

use runnel::ipc_types::{declarations, IPC_TS_PATH};
use runnel_testsupport::fixtures::workspace_root;

#[test]
fn generated_ipc_types_match_the_rust_types() {
    let path = workspace_root().join(IPC_TS_PATH);
    let fresh = declarations();
    if std::env::var("RUNNEL_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write ipc.ts");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is out of date with the Rust types: run `RUNNEL_BLESS=1 cargo test --test ipc_types` and fix the JS the type check then names",
        path.display()
    );
}

#[test]
fn every_error_kind_is_spelled_once_in_the_declarations() {
    let d = declarations();
    for kind in runnel_core::types::error::ErrorKind::ALL {
        let quoted = format!("\"{}\"", kind.as_str());
        assert_eq!(d.matches(&quoted).count(), 1, "{quoted} in:\n{d}");
    }
}
