include!("commands/names.rs");

fn main() {
    // An app permission manifest: each command gets allow-/deny- permissions,
    // and only what a capability grants may be invoked.
    println!("cargo:rerun-if-changed=src-tauri/commands/names.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build configuration");
}
