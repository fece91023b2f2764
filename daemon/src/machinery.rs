//! The answer path's speed machinery, and which of it is on: all of it,
//! always, except in a build with the `speed-variants` feature, where
//! `CLAUDE_QUOTAD_WITHOUT` (a comma-separated list of `answer-cache`,
//! `pre-encoding` and `decode-memo`) switches pieces off so that
//! `bench --variants` can measure what each is worth against redis in one
//! run (BENCHMARKS.md, "What the speed machinery is worth").

/// The pieces of speed machinery in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machinery {
    /// Answers are worked out once per change of state, config or Ollama
    /// (the verdict is cached), not once per question.
    pub answer_cache: bool,
    /// The cached answers are kept as encoded JSON, so a question costs no
    /// serialization.
    pub pre_encoding: bool,
    /// The codec remembers the last small frame it decoded, so a router
    /// asking the same question again costs no parse.
    pub decode_memo: bool,
}

impl Machinery {
    /// All of it.
    const ALL: Machinery = Machinery {
        answer_cache: true,
        pre_encoding: true,
        decode_memo: true,
    };

    /// What this build uses: [`Machinery::ALL`], or with the
    /// `speed-variants` feature, less what `CLAUDE_QUOTAD_WITHOUT` names.
    pub fn of_this_build() -> Self {
        #[allow(unused_mut)]
        let mut machinery = Self::ALL;
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
    pub fn codec<D, E>(self) -> claude_quota_proto::JsonCodec<D, E> {
        #[cfg(feature = "speed-variants")]
        if !self.decode_memo {
            return claude_quota_proto::JsonCodec::without_memo();
        }
        claude_quota_proto::JsonCodec::new()
    }
}
