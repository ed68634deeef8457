//! The `runnel` command as a child process for tests: its own data and
//! config dirs, the provider from `base_url`, no key or model from the
//! caller's environment, output captured, killed when dropped.

use std::path::Path;
use std::process::Stdio;
use tokio::process::Command;

/// `bin` (the `runnel` binary) with its data in `data`, its settings in
/// `data/config`, and `OPENAI_BASE_URL` set to `base_url`.
pub fn runnel_command(bin: &Path, data: &Path, base_url: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env("RUNNEL_DATA_DIR", data)
        .env("RUNNEL_CONFIG_DIR", data.join("config"))
        .env("OPENAI_BASE_URL", base_url)
        .env_remove("OPENAI_API_KEY")
        .env_remove("RUNNEL_MODEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// The JSON object on the last line of a command's output (`--json` prints
/// one there); panics with the whole output when there is none.
pub fn last_json(out: impl AsRef<[u8]>) -> serde_json::Value {
    let text = String::from_utf8_lossy(out.as_ref());
    text.lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON on the last line: {text}"))
}

/// Runs `cmd` to its end: its exit code (-1 when killed by a signal), and
/// its stdout and stderr as text.
pub async fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().await.expect("run the runnel command");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
