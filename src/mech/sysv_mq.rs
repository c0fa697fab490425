//! System V message queues (`msgget`, `msgsnd`, `msgrcv`, `msgctl`): the
//! sysv_mq peer roles and the helpers the sysv_mq suite needs.
//!
//! Where the API exists: Linux, FreeBSD and macOS. The `libc` crate binds the
//! msg* calls for Linux and FreeBSD but not for Apple targets, although macOS
//! ships them (XNU `bsd/kern/sysv_msg.c`; `<sys/msg.h>`); [`ffi`] declares them
//! there. `msgctl` is used with IPC_RMID (no buffer) everywhere, and with
//! IPC_STAT only where the libc crate binds `struct msqid_ds` (Linux, FreeBSD).
//!
//! Every queue is created exclusively (IPC_CREAT|IPC_EXCL, mode 0600): either
//! private (IPC_PRIVATE) or under a random key of the form `0x1Cxxxxxx` (the
//! suite's marker byte, so that `ipcs -q` shows which queues would be ours),
//! retried on EEXIST. A [`Queue`] removes its queue (IPC_RMID) when dropped, also
//! when a check panics; a [`KeyGuard`] does the same for a queue a peer creates.

crate::mech::api_where!(
    any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "macos"
    ),
    imp
);

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
mod imp {
    use crate::peer::answer::{err_text, say};
    use std::io;

    use crate::peer::{hex, unhex};

    pub use libc::key_t;

    /// The narrow unsafe layer over msgget/msgsnd/msgrcv/msgctl.
    pub mod ffi {
        use std::io;
        use std::os::raw::{c_int, c_long, c_void};

        #[cfg(target_os = "macos")]
        mod decl {
            use std::os::raw::{c_int, c_long, c_void};
            // <sys/msg.h> on macOS; absent from the libc crate's Apple bindings.
            // On 64-bit Apple targets these are the plain symbol names (no
            // $UNIX2003 variants).
            unsafe extern "C" {
                pub fn msgget(key: libc::key_t, msgflg: c_int) -> c_int;
                pub fn msgsnd(
                    msqid: c_int,
                    msgp: *const c_void,
                    msgsz: usize,
                    msgflg: c_int,
                ) -> c_int;
                pub fn msgrcv(
                    msqid: c_int,
                    msgp: *mut c_void,
                    msgsz: usize,
                    msgtyp: c_long,
                    msgflg: c_int,
                ) -> isize;
                pub fn msgctl(msqid: c_int, cmd: c_int, buf: *mut c_void) -> c_int;
            }
        }

        #[cfg(not(target_os = "macos"))]
        mod decl {
            pub use libc::{msgget, msgrcv, msgsnd};
            pub unsafe fn msgctl(
                msqid: std::os::raw::c_int,
                cmd: std::os::raw::c_int,
                buf: *mut std::os::raw::c_void,
            ) -> std::os::raw::c_int {
                // SAFETY: forwarded from the caller's contract; buf is NULL or a
                // msqid_ds the caller provides.
                unsafe { libc::msgctl(msqid, cmd, buf.cast()) }
            }
        }

        const LONG: usize = std::mem::size_of::<c_long>();

        /// A `struct msgbuf { long mtype; char mtext[cap]; }` in long-aligned
        /// storage, reusable across calls (no allocation per message).
        pub struct MsgBuf {
            words: Vec<c_long>,
            cap: usize,
        }

        impl MsgBuf {
            /// A buffer with room for `cap` bytes of text.
            pub fn new(cap: usize) -> MsgBuf {
                MsgBuf {
                    words: vec![0; 1 + cap.div_ceil(LONG)],
                    cap,
                }
            }

            pub fn mtype(&self) -> c_long {
                self.words[0]
            }

            pub fn set_type(&mut self, mtype: c_long) {
                self.words[0] = mtype;
            }

            /// The text part.
            pub fn text(&self) -> &[u8] {
                // SAFETY: the words after the first are initialised integers;
                // viewing them as `cap` bytes (<= their size) is in bounds, and u8
                // has no alignment or validity requirement. The borrow of `self`
                // covers the slice's life.
                unsafe {
                    std::slice::from_raw_parts(self.words.as_ptr().add(1).cast::<u8>(), self.cap)
                }
            }

            /// The text part, writable.
            pub fn text_mut(&mut self) -> &mut [u8] {
                // SAFETY: as for `text`; the mutable borrow of `self` makes it
                // exclusive, and any byte pattern is a valid integer.
                unsafe {
                    std::slice::from_raw_parts_mut(
                        self.words.as_mut_ptr().add(1).cast::<u8>(),
                        self.cap,
                    )
                }
            }
        }

        pub fn get(key: libc::key_t, flags: c_int) -> io::Result<c_int> {
            // SAFETY: msgget takes two integers.
            let id = unsafe { decl::msgget(key, flags) };
            if id == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(id)
            }
        }

        /// msgsnd(2) of the first `len` bytes of `buf`'s text, with its type;
        /// EINTR is retried.
        #[inline(always)]
        pub fn send_buf(id: c_int, buf: &MsgBuf, len: usize, flags: c_int) -> io::Result<()> {
            assert!(len <= buf.cap);
            loop {
                // SAFETY: buf holds a long mtype followed by at least `len` bytes
                // of text (asserted); msgsz counts the text only, as msgsnd(2)
                // requires.
                let rc =
                    unsafe { decl::msgsnd(id, buf.words.as_ptr().cast::<c_void>(), len, flags) };
                if rc == 0 {
                    return Ok(());
                }
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINTR) {
                    return Err(e);
                }
            }
        }

        /// msgrcv(2) of one message of type `msgtyp` (msgrcv's rules) into
        /// `buf`: its text length; EINTR is retried.
        #[inline(always)]
        pub fn receive_buf(
            id: c_int,
            buf: &mut MsgBuf,
            msgtyp: c_long,
            flags: c_int,
        ) -> io::Result<usize> {
            loop {
                // SAFETY: buf has room for a long and `cap` text bytes; msgrcv
                // writes at most that.
                let n = unsafe {
                    decl::msgrcv(
                        id,
                        buf.words.as_mut_ptr().cast::<c_void>(),
                        buf.cap,
                        msgtyp,
                        flags,
                    )
                };
                if n >= 0 {
                    return Ok(n as usize);
                }
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINTR) {
                    return Err(e);
                }
            }
        }

        pub fn send(id: c_int, mtype: c_long, data: &[u8], flags: c_int) -> io::Result<()> {
            let mut buf = MsgBuf::new(data.len());
            buf.set_type(mtype);
            buf.text_mut()[..data.len()].copy_from_slice(data);
            send_buf(id, &buf, data.len(), flags)
        }

        /// Receives one message of at most `max` text bytes: (mtype, text).
        pub fn receive(
            id: c_int,
            max: usize,
            msgtyp: c_long,
            flags: c_int,
        ) -> io::Result<(c_long, Vec<u8>)> {
            let mut buf = MsgBuf::new(max);
            let n = receive_buf(id, &mut buf, msgtyp, flags)?;
            Ok((buf.mtype(), buf.text()[..n].to_vec()))
        }

        /// The queue's capacity in bytes (msg_qbytes), where the OS reports it
        /// (Linux and FreeBSD; the layout of macOS's msqid_ds is not bound).
        pub fn qbytes(id: c_int) -> Option<usize> {
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "freebsd"))] {
                    // SAFETY: msqid_ds is plain data; IPC_STAT fills it.
                    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
                    // SAFETY: `ds` is writable and of the type IPC_STAT expects.
                    let rc = unsafe { libc::msgctl(id, libc::IPC_STAT, &mut ds) };
                    (rc == 0).then_some(ds.msg_qbytes as usize)
                } else {
                    let _ = id;
                    None
                }
            }
        }

        pub fn remove(id: c_int) -> io::Result<()> {
            // SAFETY: IPC_RMID does not read or write the buffer argument; NULL is
            // what msgctl(2) allows for it.
            let rc = unsafe { decl::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
            if rc == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        }
    }

    /// A queue this process created; removed (IPC_RMID) when dropped.
    #[derive(Debug)]
    pub struct Queue {
        pub id: i32,
        /// IPC_PRIVATE or the key it was created under.
        pub key: key_t,
    }

    impl Drop for Queue {
        fn drop(&mut self) {
            let _ = ffi::remove(self.id);
        }
    }

    impl Queue {
        /// msgget(IPC_PRIVATE, IPC_CREAT|IPC_EXCL|0600).
        pub fn private() -> io::Result<Queue> {
            let id = ffi::get(libc::IPC_PRIVATE, libc::IPC_CREAT | libc::IPC_EXCL | 0o600)?;
            Ok(Queue {
                id,
                key: libc::IPC_PRIVATE,
            })
        }

        /// A queue under a fresh random key, retried on EEXIST.
        pub fn keyed() -> io::Result<Queue> {
            let mut last = None;
            for _ in 0..16 {
                let key = random_key();
                match ffi::get(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) {
                    Ok(id) => return Ok(Queue { id, key }),
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => last = Some(e),
                    Err(e) => return Err(e),
                }
            }
            Err(last.unwrap_or_else(|| io::Error::other("no free key")))
        }

        pub fn send(&self, mtype: i64, data: &[u8]) -> io::Result<()> {
            ffi::send(self.id, c_long(mtype)?, data, libc::IPC_NOWAIT)
        }

        /// msgrcv(IPC_NOWAIT) into a buffer of `max` text bytes: (mtype, text).
        // mtype is a c_long: 32 bits on 32-bit targets, so widening it is lossless.
        #[allow(clippy::unnecessary_cast)]
        pub fn receive(&self, max: usize, msgtyp: i64) -> io::Result<(i64, Vec<u8>)> {
            ffi::receive(self.id, max, c_long(msgtyp)?, libc::IPC_NOWAIT)
                .map(|(t, d)| (t as i64, d))
        }
    }

    /// A message type as msgsnd/msgrcv take it (a C long, 32 bits on 32-bit
    /// targets): one that does not fit is refused, never cut.
    fn c_long(v: i64) -> io::Result<libc::c_long> {
        libc::c_long::try_from(v).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("message type {v} does not fit a C long"),
            )
        })
    }

    /// A fresh random key `0x1Cxxxxxx` (see [`crate::names::sysv_key`]).
    pub fn random_key() -> key_t {
        crate::names::sysv_key() as key_t
    }

    /// msgget(key, 0): the id of an existing queue.
    pub fn find(key: key_t) -> io::Result<i32> {
        ffi::get(key, 0)
    }

    /// msgctl(id, IPC_RMID).
    pub fn remove(id: i32) -> io::Result<()> {
        ffi::remove(id)
    }

    /// Removes the queue found under `key` when dropped: for a queue another
    /// process creates under a key this process chose (and saw free first).
    #[must_use = "the queue is removed when the guard drops"]
    pub struct KeyGuard {
        key: Option<key_t>,
    }

    impl KeyGuard {
        pub fn new(key: key_t) -> KeyGuard {
            KeyGuard { key: Some(key) }
        }

        /// Forgets the key (the queue under it is not ours).
        pub fn disarm(mut self) {
            self.key = None;
        }
    }

    impl Drop for KeyGuard {
        fn drop(&mut self) {
            if let Some(Ok(id)) = self.key.map(find) {
                let _ = remove(id);
            }
        }
    }

    pub fn parse_key(s: &str) -> Option<key_t> {
        let v = match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok()?,
            None => s.parse::<u32>().ok()?,
        };
        Some(v as key_t)
    }

    pub fn key_text(key: key_t) -> String {
        format!("0x{:08x}", key as u32)
    }

    /// Peer roles (a key travels as `0x...`):
    /// - `sysv_mq-create-send <key> <mtype> <hex>`: msgget(key,
    ///   IPC_CREAT|IPC_EXCL|0600), msgsnd the message, print `created <id>` (or
    ///   `exists` on EEXIST, `err <errno> <text>`) and exit without removing it;
    /// - `sysv_mq-receive <key> <msgtyp>`: msgget(key, 0) and one msgrcv
    ///   (IPC_NOWAIT, 64 KiB buffer); prints `got <id> <mtype> <hex>` or
    ///   `err <errno> <text>`.
    pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        match (role, args) {
            ("sysv_mq-create-send", [key, mtype, h]) => Some((|| {
                let key = parse_key(key).ok_or("bad key")?;
                let mtype: libc::c_long = mtype.parse().map_err(|_| "bad mtype")?;
                let data = unhex(h).ok_or("bad hex")?;
                match ffi::get(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) {
                    Ok(id) => match ffi::send(id, mtype, &data, libc::IPC_NOWAIT) {
                        Ok(()) => say(&format!("created {id}")),
                        Err(e) => {
                            let _ = ffi::remove(id);
                            say(&format!("err {}", err_text(&e)))
                        }
                    },
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => say("exists"),
                    Err(e) => say(&format!("err {}", err_text(&e))),
                }
            })()),
            ("sysv_mq-receive", [key, msgtyp]) => Some((|| {
                let key = parse_key(key).ok_or("bad key")?;
                let msgtyp: libc::c_long = msgtyp.parse().map_err(|_| "bad msgtyp")?;
                let id = match find(key) {
                    Ok(id) => id,
                    Err(e) => return say(&format!("err {}", err_text(&e))),
                };
                match ffi::receive(id, 65536, msgtyp, libc::IPC_NOWAIT) {
                    Ok((t, d)) => say(&format!("got {id} {t} {}", hex(&d))),
                    Err(e) => say(&format!("err {}", err_text(&e))),
                }
            })()),
            _ => None,
        }
    }
}
