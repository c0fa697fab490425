//! POSIX shared memory: every `posix_shm.*` claim of the catalog.
//!
//! The guide: "Shared Memory (POSIX) | Memory region | Name (/name) | N/A |
//! High-throughput, low-latency". The characteristics matrix gives it unrelated
//! processes, multiple readers and writers and zero copy, and denies it
//! poll(), descriptor passing and other machines. The generic matrix checks are
//! written for message passing; shared memory gets its own, with the same
//! operational definitions as the catalog texts.

ipc_conformance::suite!();

#[cfg(all(unix, not(target_os = "android")))]
#[path = "common/shm.rs"]
mod shm_common;

#[cfg(all(unix, not(target_os = "android")))]
mod unix {
    use crate::shm_common::*;
    use std::os::fd::AsFd;
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    use ipc_conformance::mech::posix_shm::{Object, Unlink, create_fd, open_fd};
    use ipc_conformance::mech::shm::{
        Append, Follow, Mapping, MemAnswer, MemCommand, bisect_name_limit, counts, mem_call,
        padded_name, spin_until, store_fd_identity, yield_until,
    };
    use nix::errno::Errno;
    use nix::sys::mman::{MapFlags, ProtFlags};

    #[test]
    fn available() {
        check!("posix_shm.available", |_cx| {
            let obj = Object::create(4096).step("shm_open(O_CREAT|O_EXCL), ftruncate, mmap")?;
            obj.map.write(0, b"marker");
            let back = obj.map.read(0, 6);
            let name = obj.name.clone();
            drop(obj);
            let after = open_fd(&name, false).err();
            Ok(Observation::holds(
                back == b"marker" && after == Some(nix::errno::Errno::ENOENT),
                format!(
                    "shm_open({name:?}, O_CREAT|O_EXCL|O_RDWR, 0600), ftruncate(4096) and mmap(MAP_SHARED) succeeded; stored \"marker\" and loaded {:?}; after shm_unlink, opening it again gave {after:?}",
                    String::from_utf8_lossy(&back)
                ),
            ))
        });
    }

    ipc_conformance::matrix_properties!(
        "posix_shm",
        cross_machine(
            false,
            "a /name resolved by the local kernel, naming memory of this host"
        )
    );

    /// A peer that opens `obj` by name only and maps it.
    fn mapper(cx: &Ctx, obj: &Object) -> Checked<Peer> {
        stranger(
            cx,
            &["posix_shm-map", &obj.name, &obj.map.len().to_string()],
        )
    }

    // ------------------------------------------------------ characteristics

    #[test]
    fn unrelated_processes() {
        check!("posix_shm.unrelated_processes", |cx| {
            let obj = Object::create(4096).step("create")?;
            let mut peer = mapper(cx, &obj)?;
            let (marker, got) = marker_seen_by(&obj.map, &mut peer, 24)?;
            Ok(Observation::holds(
                got == marker,
                format!(
                    "this process created {:?} and stored {:?}; a fresh process (pid {}, empty environment, no inherited descriptors) given only the name opened and mapped it and read {:?}",
                    obj.name,
                    String::from_utf8_lossy(&marker),
                    peer.pid(),
                    String::from_utf8_lossy(&got)
                ),
            ))
        });
    }

    const SEQ: usize = 0;
    const ARRIVE: usize = 4;
    const START: usize = 8;
    const SLOTS: usize = 64;

    #[test]
    fn multiple_readers() {
        check!("posix_shm.multiple_readers", |cx| {
            const K: u32 = 8;
            const SIZE: usize = 64;
            const ACKS: [usize; 2] = [12, 16];
            let obj = Object::create(4096).step("create")?;
            let mut readers = [mapper(cx, &obj)?, mapper(cx, &obj)?];
            for (r, ack) in readers.iter_mut().zip(ACKS) {
                let follow = Follow {
                    seq_off: SEQ,
                    slots_off: SLOTS,
                    count: K,
                    size: SIZE,
                    arrive_off: ARRIVE,
                    ack_off: ack,
                    ms: BOUND.as_millis() as u64,
                };
                r.send_line(&MemCommand::Follow(follow).to_string())?;
            }
            // Publish only once both readers are spinning on the sequence number,
            // and each record only once both readers have seen the one before:
            // both read while the writer is still publishing.
            if let Err(n) = yield_until(obj.map.atomic(ARRIVE), |v| v == 2, BOUND) {
                return Ok(Observation::timeout(format!(
                    "only {n} of 2 readers started following within {BOUND:?}"
                )));
            }
            for i in 0..K {
                obj.map.write(
                    SLOTS + i as usize * SIZE,
                    &ipc_conformance::channel::record(0, i as u16, SIZE),
                );
                obj.map.atomic(SEQ).store(i + 1, Ordering::Release);
                for ack in ACKS {
                    if let Err(n) = yield_until(obj.map.atomic(ack), |v| v > i, BOUND) {
                        return Ok(Observation::timeout(format!(
                            "a reader acknowledged {n} of {} published records within {BOUND:?}",
                            i + 1
                        )));
                    }
                }
            }
            let mut seen = Vec::new();
            for r in &mut readers {
                let answer: MemAnswer = r.answer(BOUND)?;
                let nums: Vec<u32> = match &answer {
                    MemAnswer::Ok(n) => n.iter().filter_map(|&v| u32::try_from(v).ok()).collect(),
                    _ => Vec::new(),
                };
                let [whole, torn, observations] = nums[..] else {
                    let shown = answer.to_string();
                    return Ok(Observation::error(format!(
                        "reader {} answered {shown:?}",
                        r.pid()
                    )));
                };
                seen.push((whole, torn, observations));
            }
            Ok(Observation::holds(
                seen.iter().all(|&(w, t, _)| w == K && t == 0),
                format!(
                    "two reader processes mapped the object and watched a sequence number while this process published {K} records of {SIZE} bytes one at a time (sequence stored with release after each, the next only once both readers had seen it); (whole, torn, times the sequence was seen advancing) per reader: {seen:?}; reading does not consume, so every reader sees every record"
                ),
            ))
        });
    }

    #[test]
    fn multiple_writers() {
        check!("posix_shm.multiple_writers", |cx| {
            const N: u8 = 3;
            const M: u16 = 400;
            const SIZE: usize = 32;
            let total = usize::from(N) * usize::from(M);
            let obj = Object::create(65536).step("create")?;
            let mut writers = Vec::new();
            for _ in 0..N {
                writers.push(mapper(cx, &obj)?);
            }
            let ms = BOUND.as_millis() as u64;
            for (writer, w) in (1..=N).zip(writers.iter_mut()) {
                let append = Append {
                    index_off: SEQ,
                    slots_off: SLOTS,
                    slots: total,
                    writer,
                    count: M,
                    size: SIZE,
                    arrive_off: ARRIVE,
                    start_off: START,
                    ms,
                };
                w.send_line(&MemCommand::Append(append).to_string())?;
            }
            if let Err(n) = yield_until(obj.map.atomic(ARRIVE), |v| v == u32::from(N), BOUND) {
                return Ok(Observation::timeout(format!(
                    "only {n} of {N} writers were ready within {BOUND:?}"
                )));
            }
            obj.map.atomic(START).store(1, Ordering::Release);
            for w in &mut writers {
                counts(w.answer(BOUND)?, "append")?;
            }
            let used = obj.map.atomic(SEQ).load(Ordering::Acquire) as usize;
            let mut seen = std::collections::BTreeSet::new();
            let (mut broken, mut switches, mut last) = (0, 0, 0u8);
            for slot in 0..used.min(total) {
                let rec = obj.map.read(SLOTS + slot * SIZE, SIZE);
                let (w, seq) = (rec[1], u16::from_be_bytes([rec[2], rec[3]]));
                if (1..=N).contains(&w)
                    && rec == ipc_conformance::channel::record(w, seq, SIZE)
                    && seen.insert((w, seq))
                {
                    if slot > 0 && w != last {
                        switches += 1;
                    }
                    last = w;
                } else {
                    broken += 1;
                }
            }
            Ok(Observation::holds(
                used == total && seen.len() == total && broken == 0,
                format!(
                    "{N} writer processes each stored {M} records of {SIZE} bytes at once, reserving slots with an atomic fetch-add on a shared index: index = {used}, {} distinct records whole, {broken} torn or duplicated; consecutive slots changed writer {switches} times (more than {} means the writers' stores interleaved)",
                    seen.len(),
                    N - 1
                ),
            ))
        });
    }

    #[test]
    fn zero_copy() {
        check!("posix_shm.zero_copy", |cx| {
            const FLAG: usize = 0;
            const DATA: usize = 64;
            let obj = Object::create(4096).step("create")?;
            let mut peer = mapper(cx, &obj)?;
            let sent = pattern(32);
            let publish = MemCommand::Publish {
                data_off: DATA,
                data: sent.clone(),
                flag_off: FLAG,
                value: 1,
            };
            peer.send_line(&publish.to_string())?;
            // From here on this process makes no system call until it has seen the
            // data: plain atomic loads of the flag, then plain loads of the bytes.
            let t0 = Instant::now();
            let spun = spin_until(obj.map.atomic(FLAG), |v| v == 1, BOUND);
            let waited = t0.elapsed();
            let got = obj.map.read(DATA, sent.len());
            let Ok((_, spins)) = spun else {
                return Ok(Observation::timeout(format!(
                    "the flag did not change within {BOUND:?}"
                )));
            };
            counts(peer.answer(BOUND)?, "publish")?;
            Ok(Observation::holds(
                got == sent,
                format!(
                    "after shm_open, ftruncate and mmap in both processes, the peer (pid {}) stored 32 bytes and then a flag with plain stores; this process spun on the flag with atomic loads ({spins} iterations, no system call in the loop) and saw it after {} us, then loaded {:?} from its own mapping: {} the peer's bytes, with no read()/write() on the object by either side",
                    peer.pid(),
                    waited.as_micros(),
                    String::from_utf8_lossy(&got),
                    if got == sent { "exactly" } else { "not" }
                ),
            ))
        });
    }

    #[test]
    fn pollable() {
        check!("posix_shm.pollable", |cx| {
            use ipc_conformance::channel::fd::revents_now;
            let obj = Object::create(4096).step("create")?;
            let before = revents_now(obj.fd.as_fd()).step("poll before")?;
            let mut peer = mapper(cx, &obj)?;
            let publish = MemCommand::Publish {
                data_off: 64,
                data: pattern(16),
                flag_off: 0,
                value: 1,
            };
            counts(mem_call(&mut peer, &publish)?, "publish")?;
            let stored = obj.map.atomic(0).load(Ordering::Acquire) == 1;
            let after = revents_now(obj.fd.as_fd()).step("poll after")?;
            let (rb, ra) = (
                before.contains(nix::poll::PollFlags::POLLIN),
                after.contains(nix::poll::PollFlags::POLLIN),
            );
            let why = match (rb, ra) {
                (false, true) => "readiness followed the store",
                (true, true) => {
                    "the descriptor is always readable: poll() says nothing about stores, so it is no notification"
                }
                (false, false) => {
                    "the descriptor never became readable: poll() does not see stores"
                }
                (true, false) => "readiness went away after the store",
            };
            Ok(Observation::holds(
                !rb && ra && stored,
                format!(
                    "poll(POLLIN, timeout 0) on the shm_open() descriptor: revents {before:?} before and {after:?} after another process stored 16 bytes and a flag into the mapping (flag seen here: {stored}); {why}"
                ),
            ))
        });
    }

    #[test]
    fn fd_passing() {
        check!("posix_shm.fd_passing", |cx| {
            let obj = Object::create(4096).step("create")?;
            let path = cx.path(".passed")?;
            std::fs::write(&path, b"passed file").step("write the file to pass")?;
            let file = std::fs::File::open(&path).step("open it")?;
            let (n, dev, ino) = store_fd_identity(&obj.map, 0, file.as_fd()).step("fstat")?;
            let mut peer = mapper(cx, &obj)?;
            let answer = mem_call(&mut peer, &MemCommand::FdProbe { off: 0 })?;
            let shown = answer.to_string();
            let evidence = format!(
                "shared memory has no call that carries a descriptor: this process stored the number {n} of its open file (device {dev}, inode {ino}) in the region; the peer, which mapped the object by name and inherited nothing, fstat({n}) → {shown:?}"
            );
            Ok(match answer {
                MemAnswer::Same(_) => Observation::yes(evidence),
                MemAnswer::Different { .. } | MemAnswer::Err { .. } => Observation::no(evidence),
                _ => Observation::error(evidence),
            })
        });
    }

    // ----------------------------------------------------------- behaviour

    #[test]
    fn named_slash() {
        check!("posix_shm.named_slash", |cx| {
            let obj = Object::create(4096).step("create")?;
            let mut peer = mapper(cx, &obj)?;
            let (marker, got) = marker_seen_by(&obj.map, &mut peer, 16)?;
            // Names that break the "/name" form, for the evidence.
            let mut others = Vec::new();
            for name in [
                ipc_conformance::names::unique(),
                format!("{}/sub", ipc_conformance::names::unique_slash()),
            ] {
                let _unlink = Unlink::new(&name);
                let r = create_fd(&name, 4096).map(|_| "accepted");
                others.push(format!("{name:?}: {r:?}"));
            }
            Ok(Observation::holds(
                obj.name.starts_with('/') && got == marker,
                format!(
                    "shm_open({:?}) created the object; a fresh process opened the same /name and read this process's marker {}; other forms: {}",
                    obj.name,
                    if got == marker {
                        "intact"
                    } else {
                        "NOT intact"
                    },
                    others.join("; ")
                ),
            ))
        });
    }

    #[test]
    fn visible_across_processes() {
        check!("posix_shm.visible_across_processes", |cx| {
            let obj = Object::create(4096).step("create")?;
            let mut peer = mapper(cx, &obj)?;
            let x = Exchange::run(&obj.map, &mut peer)?;
            Ok(Observation::holds(
                x.holds(),
                format!(
                    "this process stored 32 bytes; the peer (pid {}) loaded them {}; the peer stored a 32-byte reply; this process loaded it {}",
                    peer.pid(),
                    intact(x.there),
                    intact(x.back)
                ),
            ))
        });
    }

    #[test]
    fn persists_until_unlink() {
        check!("posix_shm.persists_until_unlink", |cx| {
            let name = ipc_conformance::names::unique_slash();
            let _unlink = Unlink::new(&name);
            let creator = cx
                .peer(&["posix_shm-create", &name, "4096"])
                .start()
                .map_err(|e| ipc_conformance::observe::shm_dir_observation(e.into()))?;
            let creator_pid = creator.pid();
            let (data, status) = stored_by_a_peer_that_exits(creator)?;
            let fd = open_fd(&name, false).step("shm_open after the creator exited")?;
            let size = nix::sys::stat::fstat(&fd).step("fstat")?.st_size;
            let map = Mapping::map(fd.as_fd(), 4096, ProtFlags::PROT_READ, MapFlags::MAP_SHARED)
                .step("mmap")?;
            let kept = map.read(0, 32) == data;
            nix::sys::mman::shm_unlink(name.as_str()).step("shm_unlink")?;
            let reopen = open_fd(&name, false).err();
            let mapped_after_unlink = map.read(0, 32) == data;
            Ok(Observation::holds(
                status.success() && kept && reopen == Some(Errno::ENOENT),
                format!(
                    "a peer (pid {creator_pid}) created {name:?}, stored 32 bytes and exited ({status}); this process then opened the name (size {size}) and found the bytes {}; after shm_unlink, shm_open gave {reopen:?}; this process's existing mapping still held the bytes: {mapped_after_unlink}",
                    if kept { "intact" } else { "GONE" }
                ),
            ))
        });
    }

    #[test]
    fn name_max() {
        check!("posix_shm.name_max", |_cx| {
            let base = ipc_conformance::names::unique_slash();
            let mut probe = |len: usize| -> std::io::Result<()> {
                let name = padded_name(&base, len);
                let _unlink = Unlink::new(&name);
                nix::sys::mman::shm_open(
                    name.as_str(),
                    nix::fcntl::OFlag::O_CREAT
                        | nix::fcntl::OFlag::O_EXCL
                        | nix::fcntl::OFlag::O_RDWR,
                    nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
                )
                .map(drop)
                .map_err(|e| ipc_conformance::precondition::shm_dir(e.into()))
            };
            let (limit, beyond) =
                bisect_name_limit(base.len(), 4096, &mut probe).step("shm_open probes")?;
            let errno = beyond.raw_os_error();
            if !matches!(errno, Some(libc::ENAMETOOLONG | libc::EINVAL)) {
                return Ok(Observation::error(format!(
                    "names up to {limit} characters were accepted, but the next length failed with {}, not a length error",
                    ipc_conformance::observe::describe_io_error(&beyond)
                )));
            }
            Ok(Observation::measured(format!(
                "bisection with shm_open(O_CREAT|O_EXCL) of \"/ipcconf-...\" names padded with 'x': {limit} characters (leading slash included) accepted, {} refused with {}",
                limit + 1,
                ipc_conformance::observe::describe_io_error(&beyond)
            ))
            .with("name_max", limit as f64, "chars"))
        });
    }
}
