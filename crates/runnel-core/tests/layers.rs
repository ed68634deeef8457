//! The layering of runnel-core is a checked fact: every `crate::` path in a
//! module's source names a module at its own layer or below, so nothing
//! points back up and there are no module circles across layers. Within the
//! config/keys/store layer, store may read config (the data dir) but config
//! and keys use neither store nor each other's internals. And no `match` on
//! the provider kind lives outside the protocol folder.

use std::path::{Path, PathBuf};

/// Top-level modules, bottom first; modules on one line share a layer.
const LAYERS: &[&[&str]] = &[
    &["types"],
    // Files into attachments: types only, beside the protocols that send them.
    &["protocol", "attach"],
    &["engine"],
    &["config", "keys"],
    &["store"],
    // Conversations from other apps: over the store, beside rendering.
    &["render", "import", "tools"],
    &["service"],
    &["turn"],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("module {module} is in no layer: add it to LAYERS"))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The non-test part of a source file.
fn code(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

#[test]
fn no_module_points_up_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let Some(first) = rel.components().next() else {
            continue;
        };
        let own = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if own == "lib" {
            continue;
        }
        let own_layer = layer_of(&own);
        let text = std::fs::read_to_string(f).expect("read");
        for (i, line) in code(&text).lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.is_empty() || name == own {
                    continue;
                }
                if layer_of(&name) > own_layer {
                    wrong.push(format!("{}:{}: {own} uses {name}", rel.display(), i + 1));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "modules pointing up a layer:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_protocol_folder_matches_on_the_provider_kind() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let root = src
        .ancestors()
        .nth(3)
        .expect("workspace root")
        .to_path_buf();
    let mut files = Vec::new();
    sources(&src, &mut files);
    sources(&root.join("src-tauri"), &mut files);
    sources(&root.join("crates/runnel-cli/src"), &mut files);
    let protocol = src.join("protocol");
    let mut wrong = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(&protocol)) {
        let text = std::fs::read_to_string(f).expect("read");
        for (i, line) in code(&text).lines().enumerate() {
            let arm = line.trim_start();
            if arm.starts_with("ProviderKind::") && arm.contains("=>") {
                wrong.push(format!("{}:{}: {}", f.display(), i + 1, arm));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "matches on the provider kind outside protocol/:\n{}",
        wrong.join("\n")
    );
}
