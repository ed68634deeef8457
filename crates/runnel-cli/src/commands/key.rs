//! `runnel key`: save (after testing it) or delete a provider's key in the
//! OS keychain. The key is read without echo and never printed.

use crate::args::KeyAction;
use crate::{fail, service};
use std::io::Read;

fn read_key(prompt: &str) -> std::io::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
    } else {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    }
}

/// Runs a `key` action; returns the exit status.
pub async fn run(action: KeyAction) -> i32 {
    let svc = match service() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match action {
        KeyAction::Set { provider, force } => {
            let Some(p) = svc.settings().provider(&provider).cloned() else {
                eprintln!("runnel: there is no provider with the id {provider:?} (see `runnel providers`)");
                return 1;
            };
            let key = match read_key(&format!("API key for {}: ", p.name)) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("runnel: could not read the key: {e}");
                    return 1;
                }
            };
            match svc.set_key(&provider, &key, force).await {
                Ok(r) => {
                    if let Some(t) = &r.test_error {
                        eprintln!(
                            "runnel: testing the key failed [{}]: {}",
                            t.kind.as_str(),
                            t.message
                        );
                        if !r.stored {
                            eprintln!("runnel: nothing was saved (use --force to save it anyway)");
                            return 1;
                        }
                    }
                    if let Some(k) = &r.keychain_error {
                        eprintln!("runnel: error [keychain]: {k}");
                        return 1;
                    }
                    println!(
                        "saved the key for {provider} in the keychain: {}",
                        r.status.label()
                    );
                    0
                }
                Err(e) => fail(&e),
            }
        }
        KeyAction::Delete { provider } => match svc.delete_key(&provider).await {
            Ok(()) => {
                println!("deleted the key for {provider}");
                0
            }
            Err(e) => fail(&e),
        },
    }
}
