//! The `runnel-window` binary: the desktop app (what `runnel` with no
//! command runs, and what `cargo run` starts). It takes the same commands as
//! `runnel`, but links Tauri and WebKitGTK, so they start slower there.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

fn main() {
    std::process::exit(runnel_cli::main(runnel::app::main));
}
