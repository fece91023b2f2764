//! The Homebrew formula builds what exists: every `cargo install` path it
//! names is a crate of this workspace with a binary, and together they
//! install both commands (`claude-quotad`, `claude-quota`). Brew itself
//! does not run here; this catches a formula left behind by a move.

use std::path::Path;

#[test]
fn the_homebrew_formula_installs_both_binaries_from_existing_crates() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let formula = std::fs::read_to_string(repo.join("packaging/homebrew/claude-quota.rb"))
        .expect("read the formula");
    let paths: Vec<&str> = formula
        .split("std_cargo_args(path: \"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(path, _)| path))
        .collect();
    let mut binaries = Vec::new();
    for path in &paths {
        let manifest =
            std::fs::read_to_string(repo.join(path).join("Cargo.toml")).unwrap_or_else(|e| {
                panic!("the formula installs {path}, which has no Cargo.toml: {e}")
            });
        let manifest: toml::Table = manifest.parse().expect("a valid Cargo.toml");
        let bins = manifest.get("bin").and_then(|b| b.as_array());
        let package = manifest["package"]["name"].as_str().unwrap().to_owned();
        match bins {
            Some(bins) => binaries.extend(
                bins.iter()
                    .map(|b| b["name"].as_str().unwrap_or(&package).to_owned()),
            ),
            None if repo.join(path).join("src/main.rs").exists() => binaries.push(package),
            None => panic!("the formula installs {path}, which builds no binary"),
        }
    }
    binaries.sort();
    assert_eq!(binaries, ["claude-quota", "claude-quotad"], "{paths:?}");
}
