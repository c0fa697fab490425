//! POSIX IPC names ("/name", of shared-memory objects and semaphores): the
//! guard that unlinks one, and the longest name a namespace accepts, found by
//! bisection.

use std::io;
use std::marker::PhantomData;

/// A namespace of POSIX IPC names: how a name is removed from it.
pub trait Unlinker {
    /// Removes `name`, ignoring failure (the name may be gone already).
    fn unlink(name: &str);
}

/// Removes a name of namespace `U` when dropped, also when the check panics.
/// Made before the object is created, so no window leaks it.
#[must_use = "the name is unlinked when the guard drops"]
pub struct NameGuard<U: Unlinker> {
    name: String,
    namespace: PhantomData<U>,
}

impl<U: Unlinker> NameGuard<U> {
    pub fn new(name: &str) -> NameGuard<U> {
        NameGuard {
            name: name.to_owned(),
            namespace: PhantomData,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<U: Unlinker> Drop for NameGuard<U> {
    fn drop(&mut self) {
        U::unlink(&self.name);
    }
}

/// The longest name `probe` accepts, by bisection between `good` (a length
/// known to work) and `bad` (one known to fail). `probe(len)` creates and
/// removes an object whose name has `len` characters. Returns the limit and
/// the error of the first length beyond it.
pub fn bisect_name_limit(
    mut good: usize,
    mut bad: usize,
    probe: &mut dyn FnMut(usize) -> io::Result<()>,
) -> io::Result<(usize, io::Error)> {
    probe(good)?;
    let mut beyond = match probe(bad) {
        Ok(()) => {
            return Err(io::Error::other(format!(
                "a name of {bad} characters was accepted"
            )));
        }
        Err(e) => e,
    };
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        match probe(mid) {
            Ok(()) => good = mid,
            Err(e) => {
                bad = mid;
                beyond = e;
            }
        }
    }
    Ok((good, beyond))
}

/// `base` padded with 'x' to exactly `len` characters.
pub fn padded_name(base: &str, len: usize) -> String {
    let mut s = base.to_owned();
    while s.len() < len {
        s.push('x');
    }
    s.truncate(len);
    s
}
