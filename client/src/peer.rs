//! Who runs the daemon: a client refuses any but itself, since another
//! user's process on the socket could answer "use the cloud" for it.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::Error;

/// Fails with [`Error::WrongOwner`] unless the process at the other end
/// of `stream` runs as this user, and with [`Error::DaemonUnreachable`]
/// when that cannot be told.
pub(crate) fn check(stream: BorrowedFd<'_>, socket: &Path) -> Result<(), Error> {
    let uid = peer_uid(stream).map_err(|source| Error::DaemonUnreachable {
        socket: socket.to_owned(),
        source,
    })?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own_uid = unsafe { libc::geteuid() };
    if uid != own_uid {
        return Err(Error::WrongOwner {
            socket: socket.to_owned(),
            uid,
            own_uid,
        });
    }
    Ok(())
}

/// `SO_PEERCRED` on Linux and Android.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_uid(stream: BorrowedFd<'_>) -> io::Result<u32> {
    Ok(rustix::net::sockopt::socket_peercred(stream)?.uid.as_raw())
}

/// `getpeereid` on macOS and the BSDs.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn peer_uid(stream: BorrowedFd<'_>) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: the descriptor is open for the borrow's lifetime and both
    // pointers are to live locals of the types getpeereid writes.
    let failed = unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) } != 0;
    if failed {
        return Err(io::Error::last_os_error());
    }
    Ok(uid)
}
