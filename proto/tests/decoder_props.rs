//! Properties of the frame decoder that must hold for any input: it never
//! panics, never yields a frame longer than the limit, and how the bytes
//! are split across reads never changes what it decodes.

use bytes::BytesMut;
use claude_quota_proto::{FrameError, JsonCodec, Reply, Request, TaskComplexity, TaskValue};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

/// Decodes `chunks` fed one after another, as a socket would deliver them;
/// each frame as `Ok(Ok)`, `Ok(Err)` (malformed JSON) or the stream error.
fn decode_all(chunks: &[Vec<u8>]) -> Vec<Result<Result<Request, String>, String>> {
    let mut codec = JsonCodec::<Request, Reply>::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(item)) => out.push(Ok(item.map_err(|e| e.to_string()))),
                Ok(None) => break,
                Err(err) => {
                    out.push(Err(err.to_string()));
                    return out;
                }
            }
        }
    }
    out
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Status),
        Just(Request::Refresh),
        Just(Request::Subscribe),
        (0u32..4, proptest::option::of("[a-z/0-9.]{0,20}"))
            .prop_map(|(protocol, client)| Request::Hello { protocol, client }),
        (
            proptest::sample::select(TaskValue::ALL.to_vec()),
            proptest::option::of("[a-z0-9_-]{1,32}")
        )
            .prop_map(|(task_value, account)| Request::ShouldUseCloud {
                task_value,
                account
            }),
        proptest::sample::select(TaskComplexity::ALL.to_vec()).prop_map(|task_complexity| {
            Request::SelectModel {
                task_complexity,
                account: None,
            }
        }),
    ]
}

/// Splits `bytes` at the given cut points.
fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for point in points.into_iter().chain([bytes.len()]) {
        chunks.push(bytes[start..point].to_vec());
        start = point;
    }
    chunks
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut codec = JsonCodec::<Request, Reply>::new();
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }

    #[test]
    fn chunking_never_changes_what_is_decoded(
        requests in proptest::collection::vec(request(), 1..20),
        garbage in proptest::collection::vec(any::<u8>(), 0..64),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut wire = BytesMut::new();
        let mut codec = JsonCodec::<Reply, Request>::new();
        for request in &requests {
            codec.encode(request.clone(), &mut wire).unwrap();
        }
        wire.extend_from_slice(&(garbage.len() as u32).to_be_bytes());
        wire.extend_from_slice(&garbage);
        let whole = decode_all(&[wire.to_vec()]);
        let chunked = decode_all(&split(&wire, &cuts));
        prop_assert_eq!(&whole, &chunked);
        let decoded: Vec<Request> = whole.iter().take(requests.len())
            .map(|r| r.clone().unwrap().unwrap()).collect();
        prop_assert_eq!(decoded, requests);
    }

    #[test]
    fn any_prefix_over_the_limit_is_refused(len in (64 * 1024 + 1)..u32::MAX) {
        let mut codec = JsonCodec::<Request, Reply>::new();
        let mut buf = BytesMut::from(&len.to_be_bytes()[..]);
        prop_assert!(matches!(codec.decode(&mut buf), Err(FrameError::TooLarge)));
    }
}
