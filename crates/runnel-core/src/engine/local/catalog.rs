//! The models Runnel offers to download: small chat models in GGUF from
//! Hugging Face repositories that need no login, each pinned to a revision
//! with the file's size and sha256 as the hub records them (its LFS oid).
//! Sizes and hashes were taken from the hub's file records as copied by
//! projects that pin these downloads, agreeing across at least two of them
//! (December 2026); a download is checked against them before use.

/// One downloadable model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    /// Runnel's id (`runnel models pull ID`).
    pub id: &'static str,
    /// The name people see.
    pub name: &'static str,
    /// The Hugging Face repository.
    pub repo: &'static str,
    /// The revision (commit) the hash belongs to.
    pub revision: &'static str,
    /// The file in the repository.
    pub file: &'static str,
    /// File size in bytes.
    pub size: u64,
    /// sha256 of the file (hex).
    pub sha256: &'static str,
    /// The model's license.
    pub license: &'static str,
    /// Context length the model was trained for, in tokens.
    pub context: u32,
    /// Writes its reasoning inline as `<think>…</think>`.
    pub reasons: bool,
}

/// The Hugging Face endpoint downloads go to (`RUNNEL_HF_ENDPOINT` points
/// them at a mirror, like huggingface_hub's `HF_ENDPOINT`).
pub const HF_ENDPOINT: &str = "https://huggingface.co";

/// Memory a model needs beyond its file: its context (KV cache) at
/// Runnel's default context size and llama.cpp's buffers (an estimate).
pub const RUNTIME_OVERHEAD: u64 = 400 * 1024 * 1024;

impl CatalogEntry {
    /// The download URL under `endpoint` (no trailing slash).
    pub fn url(&self, endpoint: &str) -> String {
        format!(
            "{}/{}/resolve/{}/{}",
            endpoint.trim_end_matches('/'),
            self.repo,
            self.revision,
            self.file
        )
    }

    /// The model's page.
    pub fn page(&self) -> String {
        format!("{HF_ENDPOINT}/{}", self.repo)
    }

    /// Memory needed to run it: the file plus [`RUNTIME_OVERHEAD`].
    pub fn ram_needed(&self) -> u64 {
        self.size + RUNTIME_OVERHEAD
    }
}

/// The endpoint in force: `RUNNEL_HF_ENDPOINT`, else [`HF_ENDPOINT`].
pub fn endpoint() -> String {
    std::env::var("RUNNEL_HF_ENDPOINT")
        .ok()
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| HF_ENDPOINT.to_owned())
}

/// The model first start offers ("Chat offline on this computer").
pub const DEFAULT_MODEL: &str = "qwen2.5-1.5b";

/// Every catalog model, smallest first.
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        id: "smollm2-360m",
        name: "SmolLM2 360M Instruct (Q4_K_M)",
        repo: "bartowski/SmolLM2-360M-Instruct-GGUF",
        revision: "7be6f65f1db715fe5dc5a4634c0d459b4eed42ec",
        file: "SmolLM2-360M-Instruct-Q4_K_M.gguf",
        size: 270_590_880,
        sha256: "2fa3f013dcdd7b99f9b237717fa0b12d75bbb89984cc1274be1471a465bac9c2",
        license: "Apache-2.0",
        context: 8192,
        reasons: false,
    },
    CatalogEntry {
        id: "qwen2.5-0.5b",
        name: "Qwen2.5 0.5B Instruct (Q4_K_M)",
        repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        revision: "9217f5db79a29953eb74d5343926648285ec7e67",
        file: "qwen2.5-0.5b-instruct-q4_k_m.gguf",
        size: 491_400_032,
        sha256: "74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db",
        license: "Apache-2.0",
        context: 32_768,
        reasons: false,
    },
    CatalogEntry {
        id: "qwen3-0.6b",
        name: "Qwen3 0.6B (Q8_0)",
        repo: "Qwen/Qwen3-0.6B-GGUF",
        revision: "1eaf4d9657fe65ad10a51eab76a8db5b363bddaa",
        file: "Qwen3-0.6B-Q8_0.gguf",
        size: 639_446_688,
        sha256: "9465e63a22add5354d9bb4b99e90117043c7124007664907259bd16d043bb031",
        license: "Apache-2.0",
        context: 32_768,
        reasons: true,
    },
    CatalogEntry {
        id: "gemma-3-1b",
        name: "Gemma 3 1B it (Q4_K_M)",
        repo: "ggml-org/gemma-3-1b-it-GGUF",
        revision: "f9c28bcd85737ffc5aef028638d3341d49869c27",
        file: "gemma-3-1b-it-Q4_K_M.gguf",
        size: 806_058_240,
        sha256: "8ccc5cd1f1b3602548715ae25a66ed73fd5dc68a210412eea643eb20eb75a135",
        license: "Gemma Terms of Use",
        context: 32_768,
        reasons: false,
    },
    CatalogEntry {
        id: "llama-3.2-1b",
        name: "Llama 3.2 1B Instruct (Q4_K_M)",
        repo: "bartowski/Llama-3.2-1B-Instruct-GGUF",
        revision: "067b946cf014b7c697f3654f621d577a3e3afd1c",
        file: "Llama-3.2-1B-Instruct-Q4_K_M.gguf",
        size: 807_694_464,
        sha256: "6f85a640a97cf2bf5b8e764087b1e83da0fdb51d7c9fab7d0fece9385611df83",
        license: "Llama 3.2 Community License",
        context: 131_072,
        reasons: false,
    },
    CatalogEntry {
        id: "smollm2-1.7b",
        name: "SmolLM2 1.7B Instruct (Q4_K_M)",
        repo: "HuggingFaceTB/SmolLM2-1.7B-Instruct-GGUF",
        revision: "2d4a76a30b4af41ecd395c35725ac11688d4cfe4",
        file: "smollm2-1.7b-instruct-q4_k_m.gguf",
        size: 1_055_609_536,
        sha256: "decd2598bc2c8ed08c19adc3c8fdd461ee19ed5708679d1c54ef54a5a30d4f33",
        license: "Apache-2.0",
        context: 8192,
        reasons: false,
    },
    CatalogEntry {
        id: "qwen3-1.7b",
        name: "Qwen3 1.7B (Q4_K_M)",
        repo: "unsloth/Qwen3-1.7B-GGUF",
        revision: "d7f544eead698dbd1f15126ef60b45a1e1933222",
        file: "Qwen3-1.7B-Q4_K_M.gguf",
        size: 1_107_409_472,
        sha256: "b139949c5bd74937ad8ed8c8cf3d9ffb1e99c866c823204dc42c0d91fa181897",
        license: "Apache-2.0",
        context: 32_768,
        reasons: true,
    },
    CatalogEntry {
        id: "qwen2.5-1.5b",
        name: "Qwen2.5 1.5B Instruct (Q4_K_M)",
        repo: "Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        revision: "91cad51170dc346986eccefdc2dd33a9da36ead9",
        file: "qwen2.5-1.5b-instruct-q4_k_m.gguf",
        size: 1_117_320_736,
        sha256: "6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e",
        license: "Apache-2.0",
        context: 32_768,
        reasons: false,
    },
    CatalogEntry {
        id: "llama-3.2-3b",
        name: "Llama 3.2 3B Instruct (Q4_K_M)",
        repo: "bartowski/Llama-3.2-3B-Instruct-GGUF",
        revision: "5ab33fa94d1d04e903623ae72c95d1696f09f9e8",
        file: "Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        size: 2_019_377_696,
        sha256: "6c1a2b41161032677be168d354123594c0e6e67d2b9227c84f296ad037c728ff",
        license: "Llama 3.2 Community License",
        context: 131_072,
        reasons: false,
    },
];

/// The environment variable naming a catalog file of more models.
pub const CATALOG_FILE_VAR: &str = "RUNNEL_MODEL_CATALOG";
/// Largest catalog file read, in bytes.
pub const MAX_CATALOG_FILE: u64 = 1024 * 1024;

/// A catalog file (`RUNNEL_MODEL_CATALOG`): an organisation's own models
/// on its mirror, or models a user pins, beside the built-in ones, and
/// optionally the one first start offers. Every entry needs its sha256:
/// nothing in a catalog is installed unverified.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    /// The id first start offers, from either list.
    #[serde(default)]
    default: Option<String>,
    models: Vec<FileEntry>,
}

/// One model of a catalog file: [`CatalogEntry`]'s fields.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    id: String,
    name: String,
    repo: String,
    revision: String,
    file: String,
    size: u64,
    sha256: String,
    license: String,
    context: u32,
    #[serde(default)]
    reasons: bool,
}

/// The catalog in force: the built-in models, and those of the catalog
/// file (an entry with a built-in id replaces it), smallest first.
#[derive(Debug)]
struct Catalog {
    entries: Vec<CatalogEntry>,
    default: &'static str,
}

/// Reads and checks a catalog file; the error says what is wrong and where.
fn read_file(path: &std::path::Path) -> Result<CatalogFile, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if meta.len() > MAX_CATALOG_FILE {
        return Err(format!(
            "{shown}: larger than {MAX_CATALOG_FILE} bytes, not read"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let file: CatalogFile = serde_json::from_str(&text).map_err(|e| format!("{shown}: {e}"))?;
    for m in &file.models {
        let bad = |what: &str| Err(format!("{shown}: model {:?}: {what}", m.id));
        if !super::library::valid_id(&m.id) {
            return bad(
                "the id may hold letters, digits, '.', '_' and '-' only, and not start with '.'",
            );
        }
        if !super::download::is_sha256_hex(&m.sha256) {
            return bad("sha256 must be 64 hex digits");
        }
        if !m.file.ends_with(".gguf") || m.file.contains("..") {
            return bad("the file must be a .gguf file in the repository");
        }
        if m.repo.split('/').count() != 2 || m.repo.contains("..") || m.revision.is_empty() {
            return bad("repo must be owner/name, with a revision");
        }
        if m.size == 0 {
            return bad("the size must be given");
        }
    }
    Ok(file)
}

/// The built-in catalog with `file`'s models merged in. Strings of a
/// file's entries live as long as the process (the catalog is made once).
fn merged(file: Option<CatalogFile>) -> Catalog {
    let mut entries = CATALOG.to_vec();
    let mut default = DEFAULT_MODEL;
    if let Some(file) = file {
        let leak = |s: String| -> &'static str { s.leak() };
        for m in file.models {
            let entry = CatalogEntry {
                id: leak(m.id),
                name: leak(m.name),
                repo: leak(m.repo),
                revision: leak(m.revision),
                file: leak(m.file),
                size: m.size,
                sha256: leak(m.sha256.to_ascii_lowercase()),
                license: leak(m.license),
                context: m.context,
                reasons: m.reasons,
            };
            entries.retain(|e| e.id != entry.id);
            entries.push(entry);
        }
        entries.sort_by_key(|e| e.size);
        if let Some(d) = file.default {
            match entries.iter().find(|e| e.id == d) {
                Some(e) => default = e.id,
                None => tracing::warn!(
                    default = %d,
                    "the catalog file's default model is in no catalog: {DEFAULT_MODEL} stays the default"
                ),
            }
        }
    }
    Catalog { entries, default }
}

fn catalog() -> &'static Catalog {
    static CATALOG_IN_FORCE: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG_IN_FORCE.get_or_init(|| {
        let file = std::env::var_os(CATALOG_FILE_VAR)
            .filter(|v| !v.is_empty())
            .and_then(|path| match read_file(std::path::Path::new(&path)) {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "the catalog file was not used: only the built-in models are offered"
                    );
                    None
                }
            });
        merged(file)
    })
}

/// Every model offered: the built-in ones and a catalog file's, smallest
/// first.
pub fn entries() -> &'static [CatalogEntry] {
    &catalog().entries
}

/// The model first start offers: [`DEFAULT_MODEL`], or a catalog file's
/// `default`.
pub fn default_model() -> &'static str {
    catalog().default
}

/// The catalog entry with this id.
pub fn find(id: &str) -> Option<&'static CatalogEntry> {
    entries().iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_complete_and_unique() {
        let mut ids = std::collections::HashSet::new();
        for e in CATALOG {
            assert!(ids.insert(e.id), "{} twice", e.id);
            assert_eq!(e.sha256.len(), 64, "{}", e.id);
            assert!(e.sha256.bytes().all(|b| b.is_ascii_hexdigit()), "{}", e.id);
            assert_eq!(e.revision.len(), 40, "{}", e.id);
            assert!(e.file.ends_with(".gguf"), "{}", e.id);
            assert!(e.size > 100_000_000, "{}", e.id);
        }
        assert!(find(DEFAULT_MODEL).is_some());
        assert!(CATALOG.windows(2).all(|w| w[0].size <= w[1].size));
    }

    #[test]
    fn a_catalog_file_adds_models_replaces_by_id_and_may_name_the_default() {
        let dir = std::env::temp_dir().join(format!("runnel-catalog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("catalog.json");
        let entry = |id: &str, size: u64, sha: &str| {
            format!(
                r#"{{"id": "{id}", "name": "Team {id}", "repo": "team/models", "revision": "main",
                   "file": "{id}.gguf", "size": {size}, "sha256": "{sha}", "license": "MIT", "context": 2048}}"#
            )
        };
        let sha = "AB".repeat(32);
        std::fs::write(
            &path,
            format!(
                r#"{{"default": "team-tiny", "models": [{}, {}]}}"#,
                entry("team-tiny", 1000, &sha),
                entry("qwen2.5-0.5b", 5, &sha)
            ),
        )
        .unwrap();
        let c = merged(Some(read_file(&path).unwrap()));
        assert_eq!(c.default, "team-tiny");
        assert_eq!(c.entries.len(), CATALOG.len() + 1);
        // Smallest first; the replaced entry is the file's.
        assert_eq!(c.entries[0].id, "qwen2.5-0.5b");
        assert_eq!(c.entries[0].size, 5);
        assert_eq!(c.entries[1].sha256, "ab".repeat(32));
        // A default that is in no catalog leaves the built-in one.
        std::fs::write(
            &path,
            format!(
                r#"{{"default": "nope", "models": [{}]}}"#,
                entry("t", 9, &sha)
            ),
        )
        .unwrap();
        assert_eq!(
            merged(Some(read_file(&path).unwrap())).default,
            DEFAULT_MODEL
        );
        // Each problem is refused with what is wrong.
        for (bad, says) in [
            (entry("t", 9, "12"), "sha256"),
            (entry("../t", 9, &sha), "the id"),
            (entry("t", 0, &sha), "size"),
            (
                entry("t", 9, &sha).replace("team/models", "team"),
                "owner/name",
            ),
            (
                entry("t", 9, &sha).replace("\"MIT\"", "\"MIT\", \"gpu\": 1"),
                "unknown field",
            ),
        ] {
            std::fs::write(&path, format!(r#"{{"models": [{bad}]}}"#)).unwrap();
            let e = read_file(&path).unwrap_err();
            assert!(e.contains(says), "{says} in {e}");
        }
        assert!(read_file(&dir.join("absent.json")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn urls_point_at_the_pinned_revision() {
        let e = find("qwen2.5-0.5b").unwrap();
        assert_eq!(
            e.url("http://127.0.0.1:9/"),
            "http://127.0.0.1:9/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/9217f5db79a29953eb74d5343926648285ec7e67/qwen2.5-0.5b-instruct-q4_k_m.gguf"
        );
    }
}
