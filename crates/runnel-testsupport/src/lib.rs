//! What Runnel's tests and benchmarks share, one copy each: the loopback
//! provider server ([`server`]), the benchmarks' stream server
//! ([`bench_server`]), temp dirs that are removed even when a test panics
//! ([`temp`]), the recorded provider streams ([`fixtures`]), the built
//! binaries ([`bin`]) and the command line as a child process ([`cli`]), the benchmark database ([`fill`]) and report ([`report`]).

pub mod bench_server;
pub mod bin;
pub mod cli;
pub mod files;
pub mod fill;
pub mod fixtures;
pub mod mcp;
pub mod ports;
pub mod report;
pub mod server;
pub mod socks;
pub mod temp;
pub mod window;

pub use fixtures::{
    files_containing, fixture_streams, shared_fixtures, test_model, test_model_or_skip,
};

/// A test that cannot run on this machine, for `why`: under `CI=true` that
/// fails (CI runs every test); elsewhere the test prints a one-line notice
/// and returns.
pub fn skip(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but a test cannot run: {why}");
    }
    eprintln!("notice: skipping: {why}");
}
pub use ports::free_port;
pub use server::*;
