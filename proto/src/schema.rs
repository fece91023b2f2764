//! JSON Schema documents of the wire types, generated from the Rust types
//! themselves so that the published schema cannot disagree with what the
//! daemon sends. Only built with the `schema` feature: routers never need it.

use schemars::{JsonSchema, generate::SchemaSettings};

use crate::{Reply, Request, Status};

/// Every schema document under its file name in `docs/schema/`: one for
/// all requests, one for all replies, and `Status` on its own (what
/// `claude-quota --json status` prints).
pub fn documents() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("request.json", document::<Request>()),
        ("reply.json", document::<Reply>()),
        ("status.json", document::<Status>()),
    ]
}

/// One type's schema in draft 2020-12, the draft `jsonschema` and most
/// other validators default to.
fn document<T: JsonSchema>() -> serde_json::Value {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    schema.to_value()
}
