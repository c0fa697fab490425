//! System V shared memory: every `sysv_shm.*` claim of the catalog.
//!
//! The guide: "Shared Memory (System V) | Memory region | Numeric key | N/A |
//! Legacy, maximum portability", and "System V IPC | ✓ | ✓ | ✓ | ✗" in the
//! portability table.

ipc_conformance::suite!();

#[cfg(all(unix, not(target_os = "android")))]
#[path = "common/shm.rs"]
mod shm_common;

#[cfg(all(unix, not(target_os = "android")))]
mod unix {
    use crate::shm_common::*;

    use ipc_conformance::mech::sysv_shm::{
        KeyGuard, Segment, attach, free_key, lookup, remove, stat,
    };
    use ipc_conformance::observe::describe_io_error;

    #[test]
    fn available() {
        check!("sysv_shm.available", |_cx| {
            let seg = Segment::private(4096).step("shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600)")?;
            let id = seg.id;
            let map = attach(id).step("shmat")?;
            map.write(0, b"marker");
            let back = map.read(0, 6);
            drop(map);
            drop(seg);
            let after = stat(id).err().map(|e| describe_io_error(&e));
            Ok(Observation::holds(
                back == b"marker" && after.is_some(),
                format!(
                    "shmget(IPC_PRIVATE) gave id {id}; shmat, stored \"marker\" and loaded {:?}; shmdt and IPC_RMID; IPC_STAT afterwards: {after:?}",
                    String::from_utf8_lossy(&back)
                ),
            ))
        });
    }

    /// A peer that gets only the key number and attaches the segment.
    fn attacher(cx: &Ctx, key: libc::key_t) -> Checked<Peer> {
        stranger(cx, &["sysv_shm-attach", &key.to_string()])
    }

    /// A fresh 4 KiB segment under a suite key, attached here and by an
    /// [`attacher`].
    fn shared_with_attacher(
        cx: &Ctx,
    ) -> Checked<(Segment, ipc_conformance::mech::shm::Mapping, Peer)> {
        let seg = Segment::create(4096).step("shmget(key, IPC_CREAT|IPC_EXCL)")?;
        let map = attach(seg.id).step("shmat")?;
        let peer = attacher(cx, seg.key)?;
        Ok((seg, map, peer))
    }

    #[test]
    fn named_by_key() {
        check!("sysv_shm.named_by_key", |cx| {
            let (seg, map, mut peer) = shared_with_attacher(cx)?;
            let (marker, got) = marker_seen_by(&map, &mut peer, 16)?;
            Ok(Observation::holds(
                got == marker,
                format!(
                    "this process created segment id {} under key {:#x} (a fresh suite key) and stored a marker; a fresh process (pid {}, empty environment) given only the key number {} attached the segment and read the marker {}",
                    seg.id,
                    seg.key,
                    peer.pid(),
                    seg.key,
                    intact(got == marker)
                ),
            ))
        });
    }

    #[test]
    fn visible_across_processes() {
        check!("sysv_shm.visible_across_processes", |cx| {
            let (seg, map, mut peer) = shared_with_attacher(cx)?;
            let x = Exchange::run(&map, &mut peer)?;
            let attached = stat(seg.id).map(|s| s.attached).unwrap_or(0);
            Ok(Observation::holds(
                x.holds(),
                format!(
                    "this process stored 32 bytes into segment {}; the peer (pid {}) attached it by key and loaded them {}; the peer stored a 32-byte reply, which this process loaded {}; shm_nattch while both were attached: {attached}",
                    seg.id,
                    peer.pid(),
                    intact(x.there),
                    intact(x.back)
                ),
            ))
        });
    }

    #[test]
    fn persists_until_removed() {
        check!("sysv_shm.persists_until_removed", |cx| {
            let key = free_key().step("choose a free key")?;
            let mut guard = KeyGuard {
                key,
                creators: Vec::new(),
            };
            let key_arg = key.to_string();
            let mut creator = cx.peer(&["sysv_shm-create", &key_arg, "4096"]).spawn()?;
            let creator_pid = creator.pid() as i32;
            guard.creators.push(creator_pid);
            let ready = creator.line(BOUND)?;
            if !ready.starts_with("ready") {
                return Ok(Observation::error(format!(
                    "the creating peer said {ready:?}"
                )));
            }
            let (data, status) = stored_by_a_peer_that_exits(creator)?;

            // Nobody is attached now.
            let id = lookup(key).step("shmget(key) after the creator exited")?;
            let st = stat(id).step("IPC_STAT")?;
            let map = attach(id).step("shmat")?;
            let kept = map.read(0, 32) == data;

            // Removed while this process is attached: it stays until the last detach.
            remove(id).step("IPC_RMID")?;
            let after_rmid_key = lookup(key).err().map(|e| describe_io_error(&e));
            let after_rmid_stat = stat(id)
                .map(|s| {
                    // Linux marks a removed but attached segment SHM_DEST (01000).
                    let dest = if cfg!(target_os = "linux") && s.mode & 0o1000 != 0 {
                        " (SHM_DEST)"
                    } else {
                        ""
                    };
                    format!("attached {}, mode {:o}{dest}", s.attached, s.mode)
                })
                .map_err(|e| describe_io_error(&e));
            let readable_after_rmid = map.read(0, 32) == data;
            drop(map);
            let after_detach = stat(id).err();
            let forced = std::fs::read_to_string("/proc/sys/kernel/shm_rmid_forced")
                .map(|s| format!("; kernel.shm_rmid_forced = {}", s.trim()))
                .unwrap_or_default();
            Ok(Observation::holds(
                status.success()
                    && st.attached == 0
                    && kept
                    && readable_after_rmid
                    && after_detach.is_some(),
                format!(
                    "a peer (pid {creator_pid}) created a segment under key {key:#x}, stored 32 bytes, detached and exited ({status}); IPC_STAT then: creator pid {}, {} attached; this process attached it by key and found the bytes {}; after IPC_RMID while still attached: shmget(key) {after_rmid_key:?}, IPC_STAT {after_rmid_stat:?}, the bytes still readable: {readable_after_rmid}; after the last detach IPC_STAT gave {:?}{forced}",
                    st.creator,
                    st.attached,
                    if kept { "intact" } else { "GONE" },
                    after_detach.as_ref().map(describe_io_error)
                ),
            ))
        });
    }
}
