//! The tools' JSON Schemas in standard JSON Schema only. schemars marks
//! Rust's number types with formats of its own (`uint64`, `uint`,
//! `double`), which JSON Schema does not define: hosts that validate with
//! a strict validator (the MCP Inspector, Claude Code's AJV) warn about
//! them on every call ("unknown format "uint64" ignored"). The range is
//! already said with `minimum`, so the format goes and the type stays.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::JsonObject;
use serde_json::Value;

/// The formats JSON Schema (2020-12) defines; any other is dropped.
const STANDARD_FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// `router` with every tool's input and output schema made standard.
pub fn standard<S>(mut router: ToolRouter<S>) -> ToolRouter<S> {
    for route in router.map.values_mut() {
        let tool = &mut route.attr;
        tool.input_schema = standard_object(&tool.input_schema);
        if let Some(output) = &tool.output_schema {
            tool.output_schema = Some(standard_object(output));
        }
    }
    router
}

fn standard_object(schema: &JsonObject) -> Arc<JsonObject> {
    let mut value = Value::Object(schema.clone());
    drop_unknown_formats(&mut value);
    match value {
        Value::Object(object) => Arc::new(object),
        _ => unreachable!("an object stays an object"),
    }
}

/// Removes every `format` keyword whose value is no standard format, at
/// any depth. A property *named* `format` is an object, never a string,
/// and is kept.
fn drop_unknown_formats(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let unknown = object
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|format| !STANDARD_FORMATS.contains(&format));
            if unknown {
                object.remove("format");
            }
            object.values_mut().for_each(drop_unknown_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_unknown_formats),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_standard_formats_are_left() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "n": {"type": ["integer", "null"], "format": "uint64", "minimum": 0},
                "x": {"type": "number", "format": "double"},
                "at": {"type": "string", "format": "date-time"},
                "format": {"type": "string"},
                "list": {"type": "array", "items": {"type": "integer", "format": "uint"}}
            },
            "$defs": {"W": {"anyOf": [{"type": "integer", "format": "int64"}]}}
        });
        drop_unknown_formats(&mut schema);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "n": {"type": ["integer", "null"], "minimum": 0},
                    "x": {"type": "number"},
                    "at": {"type": "string", "format": "date-time"},
                    "format": {"type": "string"},
                    "list": {"type": "array", "items": {"type": "integer"}}
                },
                "$defs": {"W": {"anyOf": [{"type": "integer"}]}}
            })
        );
    }
}
