//! JSON edited without disturbing what is not edited: a subagent's tool
//! input with only its `model` changed, a user's Claude Code settings with
//! only our entries added or taken out.
//!
//! `serde_json::Value` sorts object keys (its `preserve_order` feature would
//! change the key order of every crate in the workspace, the generated JSON
//! Schema among them), and re-prints every number and string it parsed. Here
//! an object is its members in order, each value kept as the exact text it
//! was read from until it is expanded for editing; printing writes that
//! text back verbatim.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;

/// One JSON value: the text it was read from, or an object or array
/// expanded one level for editing.
#[derive(Debug, Clone)]
pub enum Node {
    /// Exactly as read (or as built by [`Node::new`]).
    Raw(Box<RawValue>),
    /// An object being edited.
    Object(Members),
    /// An array being edited.
    Array(Vec<Node>),
}

/// An object's members in their order, duplicates and all (as read).
#[derive(Debug, Clone, Default)]
pub struct Members(Vec<(String, Node)>);

impl Node {
    /// `value` (a string, a number) as a node.
    pub fn new(value: &impl Serialize) -> Node {
        // Serializing our own plain values into JSON text cannot fail; a
        // failure would be a bug, shown as `null` rather than a panic.
        Node::Raw(serde_json::value::to_raw_value(value).unwrap_or_else(|_| null()))
    }

    /// An object of these members in this order, printed like the rest of
    /// the file (pretty where the file is).
    pub fn object<'a>(members: impl IntoIterator<Item = (&'a str, Node)>) -> Node {
        Node::Object(Members(
            members
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        ))
    }

    /// The value read into `T` (a check of what a member holds); `None`
    /// when it does not fit `T`.
    pub fn read<T: de::DeserializeOwned>(&self) -> Option<T> {
        match self {
            Node::Raw(raw) => serde_json::from_str(raw.get()).ok(),
            edited => serde_json::to_value(edited)
                .ok()
                .and_then(|value| serde_json::from_value(value).ok()),
        }
    }

    /// The object's members, expanded in place for editing; `None` when
    /// this is not an object.
    pub fn object_mut(&mut self) -> Option<&mut Members> {
        if let Node::Raw(raw) = self
            && raw.get().trim_start().starts_with('{')
        {
            *self = Node::Object(serde_json::from_str(raw.get()).ok()?);
        }
        match self {
            Node::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The array's items, expanded in place for editing; `None` when this
    /// is not an array.
    pub fn array_mut(&mut self) -> Option<&mut Vec<Node>> {
        if let Node::Raw(raw) = self
            && raw.get().trim_start().starts_with('[')
        {
            *self = Node::Array(serde_json::from_str(raw.get()).ok()?);
        }
        match self {
            Node::Array(items) => Some(items),
            _ => None,
        }
    }
}

impl Members {
    /// Reads a JSON object; an error for invalid JSON or another kind of
    /// value.
    pub fn parse(text: &str) -> Result<Members, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The value of `key`: the last member of that name, as
    /// `JSON.parse` (and so Claude Code) reads a duplicated key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value of `key` for editing (the last of that name).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.0
            .iter_mut()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// How many members have the name `key`.
    pub fn count(&self, key: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == key).count()
    }

    /// Sets `key` to `value`: in the place of the first member of that
    /// name (any later duplicates go), else at the end.
    pub fn insert(&mut self, key: &str, value: Node) {
        match self.0.iter().position(|(k, _)| k == key) {
            Some(first) => {
                self.0[first].1 = value;
                let mut index = 0;
                self.0.retain(|(k, _)| {
                    index += 1;
                    index - 1 == first || k != key
                });
            }
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// Takes out every member named `key`; whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(k, _)| k != key);
        self.0.len() != before
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The object as pretty JSON (two spaces, as Claude Code writes its
    /// settings), with a final newline.
    pub fn to_pretty(&self) -> String {
        // Serializing into a String cannot fail: every raw value is valid
        // JSON and every key a string.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("null is JSON")
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Node::Raw)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Raw(raw) => raw.serialize(serializer),
            Node::Object(members) => members.serialize(serializer),
            Node::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Members, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Node>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

impl Serialize for Members {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unedited_values_print_as_they_were_read() {
        let text = r#"{"z":1.50,"a":{"n":[1e3, -0.0,"é\u00e9"]},"m":"\ud83d\ude00"}"#;
        let members = Members::parse(text).unwrap();
        assert_eq!(serde_json::to_string(&members).unwrap(), text);
        let names: Vec<&str> = members.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["z", "a", "m"], "in order, not sorted");
    }

    #[test]
    fn insert_replaces_in_place_and_appends_new_keys() {
        let mut members = Members::parse(r#"{"a":1,"b":2,"a":3,"c":4}"#).unwrap();
        assert_eq!(
            members.get("a").unwrap().read::<i64>(),
            Some(3),
            "the last wins"
        );
        members.insert("a", Node::new(&"x"));
        members.insert("d", Node::new(&true));
        assert_eq!(
            serde_json::to_string(&members).unwrap(),
            r#"{"a":"x","b":2,"c":4,"d":true}"#
        );
        assert!(members.remove("b"));
        assert!(!members.remove("b"));
        assert_eq!(members.count("a"), 1);
    }

    #[test]
    fn expanded_parts_are_indented_by_their_depth_and_the_rest_kept() {
        let text = "{\n  \"keep\": {\n    \"x\": [\n      1\n    ]\n  },\n  \"edit\": {\n    \"list\": [\n      {\n        \"k\": 1\n      }\n    ]\n  }\n}\n";
        let mut members = Members::parse(text).unwrap();
        assert_eq!(members.to_pretty(), text, "nothing edited, nothing changed");
        let edit = members.get_mut("edit").unwrap().object_mut().unwrap();
        let list = edit.get_mut("list").unwrap().array_mut().unwrap();
        list.push(Node::object([("k", Node::new(&2)), ("b", Node::new(&"x"))]));
        assert_eq!(
            members.to_pretty(),
            "{\n  \"keep\": {\n    \"x\": [\n      1\n    ]\n  },\n  \"edit\": {\n    \"list\": [\n      {\n        \"k\": 1\n      },\n      {\n        \"k\": 2,\n        \"b\": \"x\"\n      }\n    ]\n  }\n}\n"
        );
    }

    #[test]
    fn only_objects_parse_and_expand_as_objects() {
        for text in ["[]", "1", "\"s\"", "null", "{", "{}x"] {
            assert!(Members::parse(text).is_err(), "{text}");
        }
        let mut node = Node::new(&[1, 2]);
        assert!(node.object_mut().is_none());
        assert_eq!(node.array_mut().map(|items| items.len()), Some(2));
    }
}
