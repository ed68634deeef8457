//! `runnel providers`: list, add and remove saved providers (never keys).

use crate::args::{KindArg, ProvidersAction};
use crate::{fail, output, service};
use runnel_core::config::Provider;
use runnel_core::service::ProviderInput;

/// Runs a `providers` action; returns the exit status.
pub async fn run(action: ProvidersAction) -> i32 {
    let svc = match service() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match action {
        ProvidersAction::List { json } => {
            let state = svc.state();
            if let Some(n) = &state.notice {
                eprintln!("runnel: {n}");
            }
            if json {
                println!("{}", output::providers_json(&state));
            } else {
                for line in output::provider_lines(&state) {
                    println!("{line}");
                }
            }
            0
        }
        ProvidersAction::Add {
            id,
            base_url,
            kind,
            model,
            name,
        } => {
            let KindArg(kind) = kind;
            let existing = svc.settings().provider(&id).cloned();
            let exists = existing.is_some();
            let result = if let Some(old) = existing {
                // Flags that were not given keep their values.
                svc.save_provider(ProviderInput {
                    id: Some(id.clone()),
                    name: name.unwrap_or(old.name),
                    kind,
                    base_url,
                    default_model: model.unwrap_or(old.default_model),
                    extra_headers: old.extra_headers,
                    max_tokens: old.max_tokens,
                })
                .map(|saved| {
                    if saved.key_removed {
                        eprintln!("runnel: the host changed, so the saved key was removed: set it again with `runnel key set {}`", saved.id);
                    }
                    saved.id
                })
            } else {
                let model = model.unwrap_or_default();
                let mut p =
                    Provider::new(&id, name.as_deref().unwrap_or(&id), kind, &base_url, &model);
                p.name = p.name.trim().to_owned();
                svc.add_provider(p)
            };
            match result {
                Ok(id) => {
                    println!("{} provider {id}", if exists { "updated" } else { "added" });
                    0
                }
                Err(e) => fail(&e),
            }
        }
        ProvidersAction::Remove { id } => match svc.delete_provider(&id) {
            Ok(()) => {
                println!("removed provider {id}");
                0
            }
            Err(e) => fail(&e),
        },
    }
}
