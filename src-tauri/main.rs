//! The `runnel` binary: the window by default, `runnel ask` for the terminal.

fn main() {
    std::process::exit(runnel::cli::main());
}
