//! The daemon's codec: the protocol's framing (proto's [`JsonCodec`]), and
//! a memo of the last small request frame decoded. A router asks the same
//! question again and again on one connection; the same bytes need no
//! second parse, which is most of what answering it costs.

use bytes::{Buf, BytesMut};
use claude_quota_proto::{
    FrameError, JsonCodec, MalformedMessage, PREFIX_LEN, Request, decode_message, frame_payload,
};
use tokio_util::codec::{Decoder, Encoder};

use super::Outgoing;

/// Frames up to this size are remembered: questions, not pushes, whose
/// copy would cost more than the parse it saves.
const REMEMBERED_FRAME_LEN: usize = 256;

/// Decodes requests and encodes what the daemon writes.
#[derive(Debug)]
pub struct RequestCodec {
    plain: JsonCodec<Request, Outgoing>,
    /// The last small frame decoded and what it decoded to.
    last: Option<(Vec<u8>, Request)>,
    /// Whether frames are remembered (always, but in a build measuring
    /// what that is worth).
    remembers: bool,
}

impl RequestCodec {
    /// A codec that remembers the last small frame when `remembers`.
    pub fn new(remembers: bool) -> Self {
        RequestCodec {
            plain: JsonCodec::new(),
            last: None,
            remembers,
        }
    }

    fn parse(&mut self, frame: &[u8]) -> Result<Request, MalformedMessage> {
        if let Some((_, request)) = self.last.as_ref().filter(|(last, _)| last == frame) {
            return Ok(request.clone());
        }
        let request: Request = decode_message(frame)?;
        if self.remembers && frame.len() <= REMEMBERED_FRAME_LEN {
            let mut remembered = self.last.take().map(|(bytes, _)| bytes).unwrap_or_default();
            remembered.clear();
            remembered.extend_from_slice(frame);
            self.last = Some((remembered, request.clone()));
        }
        Ok(request)
    }
}

impl Decoder for RequestCodec {
    type Item = Result<Request, MalformedMessage>;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        let Some(payload) = frame_payload(src)? else {
            return Ok(None);
        };
        let len = payload.len();
        let item = self.parse(payload);
        src.advance(PREFIX_LEN + len);
        Ok(Some(item))
    }
}

impl Encoder<Outgoing> for RequestCodec {
    type Error = FrameError;

    fn encode(&mut self, item: Outgoing, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.plain.encode(item, dst)
    }
}
