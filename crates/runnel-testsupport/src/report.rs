//! How every benchmark reports: pretty JSON on stdout, and at full size the
//! same in `target/bench/<name>.json` for `scripts/bench_report.py`.

/// The median of `v` (the upper one of an even count), None when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Prints `result`; writes it to `target/bench/<name>.json` when `full`.
pub fn report(name: &str, full: bool, result: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(result).unwrap_or_default()
    );
    if full {
        let out = crate::fixtures::workspace_root().join("target/bench");
        let _ = std::fs::create_dir_all(&out);
        let _ = std::fs::write(out.join(format!("{name}.json")), result.to_string());
    }
}
