//! The local model a client answers with when it cannot ask the daemon:
//! the one the daemon named in its last `hello` (`models.local_large`, the
//! user's choice), the built-in default only before any contact.
//!
//! Kept for the whole process and per socket, so that the free `route()`
//! functions, which connect anew each time, remember it too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use claude_quota_proto::ConfiguredModels;

/// The local model answered before any contact with the daemon: the
/// policy's default `models.local_large`, as in the Python and Node clients.
pub const FALLBACK_LOCAL_MODEL: &str = "qwen3:14b";

/// `models.local_large` of the last `hello` from each socket.
static NAMED: Mutex<BTreeMap<PathBuf, String>> = Mutex::new(BTreeMap::new());

/// Remembers the models the daemon at `socket` named.
pub(crate) fn remember(socket: &Path, models: &ConfiguredModels) {
    let mut named = NAMED.lock().unwrap_or_else(PoisonError::into_inner);
    named.insert(socket.to_owned(), models.local_large.clone());
}

/// The local model to answer with when the daemon at `socket` cannot be asked.
pub(crate) fn local_model(socket: &Path) -> String {
    let named = NAMED.lock().unwrap_or_else(PoisonError::into_inner);
    named
        .get(socket)
        .cloned()
        .unwrap_or_else(|| FALLBACK_LOCAL_MODEL.to_owned())
}
