//! Framing: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
//!
//! The codec keeps two failures apart because the daemon treats them
//! differently: a frame whose JSON is wrong is a bad *request* (answer it and
//! keep the connection), while a broken or oversized frame means the byte
//! stream can no longer be trusted (answer once and close).

use std::io;
use std::marker::PhantomData;

use bytes::{Buf, BufMut, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::codec::{Decoder, Encoder};

/// The largest frame either side accepts, in bytes of JSON.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// Bytes of the big-endian length prefix.
pub const PREFIX_LEN: usize = 4;

/// A failure of the byte stream itself; the connection must be closed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A length prefix announced more than [`MAX_FRAME_LEN`] bytes.
    #[error("frame larger than {MAX_FRAME_LEN} bytes")]
    TooLarge,
    /// A message could not be serialized.
    #[error("could not encode message: {0}")]
    Encode(#[source] serde_json::Error),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A whole frame whose JSON is not a message of the expected type. The
/// stream stays in sync, so the connection can go on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MalformedMessage(#[source] pub serde_json::Error);

/// A tokio-util codec for one end of the protocol: it decodes frames into
/// `D` and encodes `E`.
///
/// The daemon uses `JsonCodec<Request, Reply>`, clients
/// `JsonCodec<Reply, Request>`.
#[derive(Debug)]
pub struct JsonCodec<D, E> {
    types: PhantomData<fn(E) -> D>,
}

impl<D, E> JsonCodec<D, E> {
    /// A codec with the protocol's frame limit.
    pub fn new() -> Self {
        Self { types: PhantomData }
    }
}

impl<D, E> Default for JsonCodec<D, E> {
    fn default() -> Self {
        Self::new()
    }
}

/// The payload length a frame's prefix announces, refused above
/// [`MAX_FRAME_LEN`] before a byte of the payload is read: for readers
/// without this codec (the blocking client), so every side of the socket
/// applies the same limit.
pub fn frame_len(prefix: [u8; PREFIX_LEN]) -> Result<usize, FrameError> {
    usize::try_from(u32::from_be_bytes(prefix))
        .ok()
        .filter(|len| *len <= MAX_FRAME_LEN)
        .ok_or(FrameError::TooLarge)
}

/// One frame's payload as a message, for readers without this codec.
pub fn decode_message<D: DeserializeOwned>(payload: &[u8]) -> Result<D, MalformedMessage> {
    serde_json::from_slice(payload).map_err(MalformedMessage)
}

/// Appends `message` to `out` as one frame (prefix and JSON), for writers
/// without this codec; on failure `out` is left as it was.
pub fn encode_frame<T: Serialize + ?Sized>(
    message: &T,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    encode_into(message, out)
}

/// A buffer a frame can be written into: the codec's `BytesMut` and the
/// blocking client's `Vec<u8>` share one encoder.
trait FrameBuf: BufMut + AsMut<[u8]> {
    fn filled(&self) -> usize;
    fn cut(&mut self, len: usize);
}

impl FrameBuf for Vec<u8> {
    fn filled(&self) -> usize {
        self.len()
    }
    fn cut(&mut self, len: usize) {
        self.truncate(len);
    }
}

impl FrameBuf for BytesMut {
    fn filled(&self) -> usize {
        self.len()
    }
    fn cut(&mut self, len: usize) {
        self.truncate(len);
    }
}

/// Serializes straight into the output buffer behind a placeholder
/// prefix, so a frame costs no intermediate allocation.
fn encode_into<T: Serialize + ?Sized, B: FrameBuf>(
    item: &T,
    dst: &mut B,
) -> Result<(), FrameError> {
    let start = dst.filled();
    dst.put_u32(0);
    let written = serde_json::to_writer((&mut *dst).writer(), item);
    if let Err(err) = written {
        dst.cut(start);
        return Err(FrameError::Encode(err));
    }
    let len = dst.filled() - start - PREFIX_LEN;
    if len > MAX_FRAME_LEN {
        dst.cut(start);
        return Err(FrameError::TooLarge);
    }
    let prefix = u32::try_from(len).expect("frame length is bounded by MAX_FRAME_LEN");
    dst.as_mut()[start..start + PREFIX_LEN].copy_from_slice(&prefix.to_be_bytes());
    Ok(())
}

/// The payload of the whole frame at the start of `src`, or `None` until
/// all of it has arrived (room for it is reserved). The prefix is checked
/// before a byte of the payload is read. The caller advances `src` past
/// [`PREFIX_LEN`] + the payload's length once it is done with it, so a
/// frame is read in place: no split of the buffer, no reference count.
pub fn frame_payload(src: &mut BytesMut) -> Result<Option<&[u8]>, FrameError> {
    let Some(prefix) = src.get(..PREFIX_LEN) else {
        return Ok(None);
    };
    let len = frame_len(prefix.try_into().expect("a prefix is 4 bytes"))?;
    if src.len() < PREFIX_LEN + len {
        src.reserve(PREFIX_LEN + len - src.len());
        return Ok(None);
    }
    Ok(Some(&src[PREFIX_LEN..PREFIX_LEN + len]))
}

impl<D: DeserializeOwned, E> Decoder for JsonCodec<D, E> {
    type Item = Result<D, MalformedMessage>;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        let Some(payload) = frame_payload(src)? else {
            return Ok(None);
        };
        let (item, len) = (decode_message(payload), payload.len());
        src.advance(PREFIX_LEN + len);
        Ok(Some(item))
    }
}

impl<D, E: Serialize> Encoder<E> for JsonCodec<D, E> {
    type Error = FrameError;

    fn encode(&mut self, item: E, dst: &mut BytesMut) -> Result<(), FrameError> {
        encode_into(&item, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Reply, Request};

    fn frame(payload: &[u8]) -> BytesMut {
        let mut buf = BytesMut::new();
        buf.put_u32(payload.len() as u32);
        buf.put_slice(payload);
        buf
    }

    #[test]
    fn encodes_a_big_endian_length_then_json() {
        let mut buf = BytesMut::new();
        JsonCodec::<Reply, Request>::new()
            .encode(Request::Status, &mut buf)
            .unwrap();
        assert_eq!(&buf[..], &frame(br#"{"type":"status"}"#)[..]);
    }

    #[test]
    fn decodes_pipelined_frames_in_order_and_waits_for_partial_ones() {
        let mut codec = JsonCodec::<Request, Reply>::new();
        let mut buf = frame(br#"{"type":"status"}"#);
        buf.extend_from_slice(&frame(br#"{"type":"refresh"}"#));
        let half = frame(br#"{"type":"subscribe"}"#);
        buf.extend_from_slice(&half[..7]);
        assert_eq!(
            codec.decode(&mut buf).unwrap().unwrap().unwrap(),
            Request::Status
        );
        assert_eq!(
            codec.decode(&mut buf).unwrap().unwrap().unwrap(),
            Request::Refresh
        );
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&half[7..]);
        assert_eq!(
            codec.decode(&mut buf).unwrap().unwrap().unwrap(),
            Request::Subscribe
        );
    }

    #[test]
    fn malformed_json_is_an_item_not_a_stream_error() {
        let mut codec = JsonCodec::<Request, Reply>::new();
        let mut buf = frame(b"not json");
        buf.extend_from_slice(&frame(br#"{"type":"status"}"#));
        assert!(codec.decode(&mut buf).unwrap().unwrap().is_err());
        assert_eq!(
            codec.decode(&mut buf).unwrap().unwrap().unwrap(),
            Request::Status
        );
    }

    #[test]
    fn the_codec_and_the_plain_functions_write_and_read_the_same_frames() {
        let mut codec_out = BytesMut::new();
        JsonCodec::<Reply, Request>::new()
            .encode(Request::Refresh, &mut codec_out)
            .unwrap();
        let mut plain_out = Vec::new();
        encode_frame(&Request::Refresh, &mut plain_out).unwrap();
        assert_eq!(&codec_out[..], &plain_out[..]);
        let prefix: [u8; PREFIX_LEN] = plain_out[..PREFIX_LEN].try_into().unwrap();
        let len = frame_len(prefix).unwrap();
        let decoded: Request = decode_message(&plain_out[PREFIX_LEN..PREFIX_LEN + len]).unwrap();
        assert_eq!(decoded, Request::Refresh);
        let too_long = u32::try_from(MAX_FRAME_LEN + 1).unwrap().to_be_bytes();
        assert!(matches!(frame_len(too_long), Err(FrameError::TooLarge)));
        let at_limit = u32::try_from(MAX_FRAME_LEN).unwrap().to_be_bytes();
        assert_eq!(frame_len(at_limit).unwrap(), MAX_FRAME_LEN);
    }

    #[test]
    fn a_message_over_the_limit_leaves_the_buffer_as_it_was() {
        let mut out = b"kept".to_vec();
        let huge = "x".repeat(MAX_FRAME_LEN);
        assert!(matches!(
            encode_frame(&huge, &mut out),
            Err(FrameError::TooLarge)
        ));
        assert_eq!(out, b"kept");
    }

    #[test]
    fn oversized_length_prefix_is_refused_before_reading_the_body() {
        let mut codec = JsonCodec::<Request, Reply>::new();
        let mut buf = BytesMut::new();
        buf.put_u32(MAX_FRAME_LEN as u32 + 1);
        assert!(matches!(codec.decode(&mut buf), Err(FrameError::TooLarge)));
    }

    #[test]
    fn a_frame_of_exactly_the_limit_is_accepted() {
        let mut codec = JsonCodec::<serde_json::Value, Reply>::new();
        let body = format!("\"{}\"", "a".repeat(MAX_FRAME_LEN - 2));
        let mut buf = frame(body.as_bytes());
        assert!(codec.decode(&mut buf).unwrap().unwrap().is_ok());
    }
}
