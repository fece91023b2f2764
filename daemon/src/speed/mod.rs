//! The answer path's speed machinery, all of it in this room and nowhere
//! else: a question a router asks before every model call costs a few
//! thousand instructions, and each piece here is kept only while the bench
//! shows it pays (BENCHMARKS.md, "What the speed machinery is worth").
//!
//! - [`answers`]: the verdict worked out once per change of state, config
//!   or Ollama, and every answer of it encoded once, not per question.
//! - [`memo`]: the daemon's codec remembers the last small request frame it
//!   decoded, so a router asking the same question again costs no parse.
//! - [`outgoing`]: what a connection writes, a reply built now or one
//!   encoded earlier.
//!
//! [`Machinery`] says which pieces are on: all of them, always, except in a
//! build with the `speed-variants` feature, where `CLAUDE_QUOTAD_WITHOUT`
//! (a comma-separated list of `answer-cache`, `pre-encoding` and
//! `decode-memo`) switches pieces off, so that `bench --machinery` can
//! measure what each is worth against redis in one run. The policy, the
//! service and the socket side know nothing of any of it.

mod answers;
mod memo;
mod outgoing;

pub use answers::Answers;
pub use memo::RequestCodec;
pub use outgoing::Outgoing;

/// The pieces of speed machinery in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machinery {
    /// Answers are worked out once per change of state, config or Ollama
    /// (the verdict is cached), not once per question.
    answer_cache: bool,
    /// The cached answers are kept as encoded JSON, so a question costs no
    /// serialization.
    pre_encoding: bool,
    /// The codec remembers the last small frame it decoded.
    decode_memo: bool,
}

impl Machinery {
    /// What this build uses: all of it, or with the `speed-variants`
    /// feature, less what `CLAUDE_QUOTAD_WITHOUT` names.
    pub fn of_this_build() -> Self {
        #[allow(unused_mut)]
        let mut machinery = Machinery {
            answer_cache: true,
            pre_encoding: true,
            decode_memo: true,
        };
        #[cfg(feature = "speed-variants")]
        {
            let without = std::env::var("CLAUDE_QUOTAD_WITHOUT").unwrap_or_default();
            let off = |piece: &str| without.split(',').any(|named| named.trim() == piece);
            machinery.answer_cache &= !off("answer-cache");
            machinery.pre_encoding &= !off("pre-encoding");
            machinery.decode_memo &= !off("decode-memo");
            tracing::warn!(?machinery, "a build for measuring the speed machinery");
        }
        machinery
    }

    /// The codec for a client connection.
    pub fn codec(self) -> RequestCodec {
        RequestCodec::new(self.decode_memo)
    }
}
