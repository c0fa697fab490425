//! Memory-mapped files: every `mmap_file.*` claim of the catalog.
//!
//! The guide: "Memory-Mapped File | Memory region | Filesystem path | N/A |
//! Persistence, file-based sharing", and for configuration sharing
//! "Memory-mapped file (read-only) | Persistent, multiple readers, no
//! coordination".

use ipc_conformance::{Observation, Step, check};

ipc_conformance::suite!();

#[cfg(any(unix, windows))]
#[test]
fn available() {
    check!("mmap_file.available", |cx| {
        use ipc_conformance::mech::mmap_file::{Mode, map_file};
        let path = cx.path(".map")?;
        std::fs::write(&path, vec![0u8; 4096]).step("create a 4096-byte file")?;
        let map = map_file(&path, 4096, Mode::Shared).step("map the file shared")?;
        map.write(0, b"marker");
        drop(map);
        let file = std::fs::read(&path).step("read the file")?;
        Ok(Observation::holds(
            file.starts_with(b"marker"),
            format!(
                "mapped a 4096-byte file shared read-write ({}), stored \"marker\" and unmapped; reading the file then gave {:?}",
                if cfg!(windows) {
                    "CreateFileMapping(PAGE_READWRITE), MapViewOfFile(FILE_MAP_WRITE)"
                } else {
                    "mmap(MAP_SHARED)"
                },
                String::from_utf8_lossy(&file[..6.min(file.len())])
            ),
        ))
    });
}

/// How the process that stored through a read-only mapping ended: whether it
/// died of the fault, and how to say it.
#[cfg(any(unix, windows))]
fn fault(status: std::process::ExitStatus) -> (bool, String) {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            use std::os::unix::process::ExitStatusExt;
            match status.signal() {
                Some(s @ (libc::SIGSEGV | libc::SIGBUS)) => (
                    true,
                    format!("killed by {}", nix::sys::signal::Signal::try_from(s).map_or("?", |s| s.as_str())),
                ),
                Some(s) => (false, format!("killed by signal {s}")),
                None => (false, "not killed by a signal".to_owned()),
            }
        } else {
            use ipc_conformance::mech::mmap_file::ACCESS_VIOLATION;
            match status.code() {
                Some(c) if c as u32 == ACCESS_VIOLATION => (true, "ended by an access violation (0xC0000005)".to_owned()),
                Some(c) => (false, format!("exited with {:#x}", c as u32)),
                None => (false, "no exit code".to_owned()),
            }
        }
    }
}

#[cfg(any(unix, windows))]
mod mapped {
    use super::*;

    use ipc_conformance::mech::mmap_file::{Mode, map_file};
    use ipc_conformance::mech::shm::{
        MemCommand, data_in, mem_call, pattern, peer_read, peer_write,
    };
    use ipc_conformance::watchdog::BOUND;

    #[test]
    fn shared_writes_reach_file() {
        check!("mmap_file.shared_writes_reach_file", |cx| {
            let path = cx.path(".map")?;
            std::fs::write(&path, vec![0u8; 4096]).step("create the file")?;
            let p = path.display().to_string();
            let mut writer = cx.peer(&["mmap_file-map", &p, "4096", "shared"]).start()?;
            let writer_pid = writer.pid();
            let data = pattern(32);
            peer_write(&mut writer, 0, &data)?;
            let synced = mem_call(&mut writer, &MemCommand::Sync)?.to_string();
            let (status, _) = writer.finish()?;
            let file = std::fs::read(&path).step("read the file")?;
            let reached = file.get(..32) == Some(&data[..]);
            Ok(Observation::holds(
                status.success() && reached,
                format!(
                    "a peer (pid {writer_pid}) mapped the file shared ({}), stored 32 bytes, flushed the mapping ({}) → {synced:?}, and exited ({status}); this process then read the file: the bytes {}",
                    if cfg!(windows) {
                        "PAGE_READWRITE, FILE_MAP_WRITE"
                    } else {
                        "MAP_SHARED"
                    },
                    if cfg!(windows) {
                        "FlushViewOfFile"
                    } else {
                        "msync MS_SYNC"
                    },
                    if reached {
                        "are there"
                    } else {
                        "are NOT there"
                    }
                ),
            ))
        });
    }

    #[test]
    fn read_only_many_readers() {
        check!("mmap_file.read_only_many_readers", |cx| {
            const LEN: usize = 8192;
            const READERS: usize = 3;
            let path = cx.path(".conf")?;
            let content = pattern(LEN);
            std::fs::write(&path, &content).step("write the file")?;
            let p = path.display().to_string();
            let mut readers = Vec::new();
            for _ in 0..READERS {
                readers.push(
                    cx.peer(&["mmap_file-map", &p, &LEN.to_string(), "read"])
                        .start()?,
                );
            }
            // All readers are mapped at once; they read without any coordination.
            for r in &mut readers {
                r.send_line(&MemCommand::Read { off: 0, len: LEN }.to_string())?;
            }
            let mut exact = 0;
            for r in &mut readers {
                if data_in(r.answer(BOUND)?, "read")? == content {
                    exact += 1;
                }
            }
            // A store through a read-only mapping, in a process of its own.
            let mut prober = cx.peer(&["mmap_file-store-readonly", &p]).spawn()?;
            let ready = prober.line(BOUND)?;
            let (status, stderr) = prober.finish()?;
            let (faulted, how) = fault(status);
            let unchanged = std::fs::read(&path).step("read the file")? == content;
            Ok(Observation::holds(
                exact == READERS && faulted && unchanged,
                format!(
                    "{READERS} peer processes mapped the same {LEN}-byte file shared and read-only ({}) at the same time; {exact} of them read its exact contents; a process that stored a byte through such a mapping ({ready:?}) was {how} (status: {status}){}; the file afterwards is {}",
                    if cfg!(windows) {
                        "PAGE_READONLY, FILE_MAP_READ"
                    } else {
                        "MAP_SHARED, PROT_READ"
                    },
                    if stderr.trim().is_empty() {
                        String::new()
                    } else {
                        format!(", saying {:?}", stderr.trim())
                    },
                    if unchanged { "unchanged" } else { "CHANGED" }
                ),
            ))
        });
    }

    #[test]
    fn private_is_copy_on_write() {
        check!("mmap_file.private_is_copy_on_write", |cx| {
            let path = cx.path(".map")?;
            let original = pattern(4096);
            std::fs::write(&path, &original).step("write the file")?;
            let p = path.display().to_string();
            let private = map_file(&path, 4096, Mode::Private).step("map the file private")?;
            let mut peer = cx.peer(&["mmap_file-map", &p, "4096", "shared"]).start()?;
            let store = pattern(32);
            private.write(0, &store);
            let own = private.read(0, 32) == store;
            let peer_view = peer_read(&mut peer, 0, 32)?;
            let file = std::fs::read(&path).step("read the file")?;
            let (peer_orig, file_orig) =
                (peer_view == original[..32], file[..32] == original[..32]);
            Ok(Observation::holds(
                own && peer_orig && file_orig,
                format!(
                    "this process mapped the file private ({}) and stored 32 bytes: its own mapping shows {}; a peer (pid {}) mapping it shared sees {}; reading the file gives {}",
                    if cfg!(windows) {
                        "PAGE_WRITECOPY, FILE_MAP_COPY"
                    } else {
                        "MAP_PRIVATE"
                    },
                    if own { "the store" } else { "NOT the store" },
                    peer.pid(),
                    if peer_orig {
                        "the original bytes"
                    } else {
                        "CHANGED bytes"
                    },
                    if file_orig {
                        "the original bytes"
                    } else {
                        "CHANGED bytes"
                    }
                ),
            ))
        });
    }
}
