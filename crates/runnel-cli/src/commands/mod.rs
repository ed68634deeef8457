//! One module a command; each parses nothing (clap did) and calls core.

pub mod ask;
pub mod backup;
pub mod compare;
pub mod history;
pub mod key;
pub mod mcp;
pub mod models;
pub mod prices;
pub mod providers;

/// The prompt of `ask` and `compare`: the argument, or stdin for `-`; an
/// empty one (or one stdin could not give) is an error already printed,
/// returned as the exit status.
pub(crate) fn read_prompt(arg: &str) -> Result<String, i32> {
    let prompt = if arg == "-" {
        let mut s = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            eprintln!("runnel: could not read the prompt from stdin: {e}");
            return Err(1);
        }
        s
    } else {
        arg.to_owned()
    };
    if prompt.trim().is_empty() {
        eprintln!("runnel: the prompt is empty");
        return Err(1);
    }
    Ok(prompt)
}
