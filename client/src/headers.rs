//! The rate-limit headers of a Messages API response, as `ingest_headers`
//! hands them to the daemon: only the `anthropic-ratelimit-unified-*` ones,
//! as they are, within the bounds the daemon takes (docs/protocol.md,
//! "Client rules"). The daemon reads them; this client knows nothing of
//! what they mean, so a new header needs no new client.
//!
//! Takes any iterator of name/value pairs, so `http::HeaderMap` (reqwest,
//! hyper, axum) fits without this library depending on `http`.

use std::collections::BTreeMap;

/// The prefix of the headers that carry the subscription's windows.
const PREFIX: &str = "anthropic-ratelimit-unified-";

/// The most headers one push carries, and the longest name and value, in
/// bytes: what the daemon takes.
const MAX_HEADERS: usize = 64;
const MAX_NAME_LEN: usize = 128;
const MAX_VALUE_LEN: usize = 256;

/// The `anthropic-ratelimit-unified-*` headers of `headers`, names
/// lowercased, each once with its first value within the bounds, at most
/// [`MAX_HEADERS`] of them; `None` when there is none.
pub(crate) fn unified<I, K, V>(headers: I) -> Option<BTreeMap<String, String>>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    let mut sent = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_ref().to_ascii_lowercase();
        if !name.starts_with(PREFIX) || sent.contains_key(&name) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_ref());
        let fits = name.len() <= MAX_NAME_LEN && value.len() <= MAX_VALUE_LEN;
        if fits && sent.len() < MAX_HEADERS {
            sent.insert(name, value.into_owned());
        }
    }
    (!sent.is_empty()).then_some(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_header_map_fits() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut map = HeaderMap::new();
        map.insert(
            "Anthropic-Ratelimit-Unified-5h-Utilization",
            HeaderValue::from_static("0.5"),
        );
        map.insert("content-type", HeaderValue::from_static("text/plain"));
        let sent = unified(&map).unwrap();
        assert_eq!(
            sent,
            BTreeMap::from([(format!("{PREFIX}5h-utilization"), "0.5".to_owned())])
        );
    }

    #[test]
    fn nothing_when_no_header_is_unified() {
        assert_eq!(unified([("content-type", "application/json")]), None);
    }
}
