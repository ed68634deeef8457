//! The `runnel` command: `runnel ask` and the other commands for the terminal;
//! with no command it opens the window by running `runnel-window`. It links
//! no GUI library, so a command starts in milliseconds.

fn main() {
    std::process::exit(runnel_cli::main(runnel_cli::exec_window_binary));
}
