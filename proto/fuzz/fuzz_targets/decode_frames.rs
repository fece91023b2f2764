//! Feeds arbitrary bytes to the daemon's side of the codec, split into
//! reads at a fuzzer-chosen point, and parses every frame as a request:
//! nothing may panic, and no frame over the limit may come out.

#![no_main]

use bytes::BytesMut;
use claude_quota_proto::{JsonCodec, MAX_FRAME_LEN, Reply, Request};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(bytes.len());
    let mut codec = JsonCodec::<Request, Reply>::new();
    let mut buf = BytesMut::new();
    for chunk in [&bytes[..cut], &bytes[cut..]] {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(Ok(request))) => {
                    let json = serde_json_len(&request);
                    assert!(json <= MAX_FRAME_LEN);
                }
                Ok(Some(Err(_malformed))) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});

/// A decoded request re-encodes within the frame limit.
fn serde_json_len(request: &Request) -> usize {
    let mut out = BytesMut::new();
    tokio_util::codec::Encoder::encode(&mut JsonCodec::<Reply, Request>::new(), request.clone(), &mut out)
        .expect("a decoded request encodes");
    out.len() - 4
}
