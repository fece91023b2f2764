//! The JSON Schema in `docs/schema/` is what the Rust wire types generate:
//! a change to a request, a reply or `Status` that was not followed by a
//! regeneration fails here, so the published schema never lies to a
//! client written in another language.

use std::path::Path;

/// Compares every generated document with its checked-in file;
/// `UPDATE_SCHEMA=1` rewrites the files first.
#[test]
fn the_checked_in_schema_is_what_the_types_generate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema");
    let update = std::env::var_os("UPDATE_SCHEMA").is_some();
    for (file, schema) in claude_quota_proto::schema::documents() {
        let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "{} is not what the wire types generate; the types changed without a regeneration. \
             Run `UPDATE_SCHEMA=1 cargo test -p claude-quota-e2e --test schema` and commit docs/schema/",
            path.display()
        );
    }
}
