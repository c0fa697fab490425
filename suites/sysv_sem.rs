//! System V semaphores: every `sysv_sem.*` claim of the catalog.
//!
//! The guide lists "System V IPC | ✓ | ✓ | ✓ | ✗ | Maximum Unix portability";
//! what makes a System V semaphore survive a crashed holder is SEM_UNDO.

#[cfg(all(unix, not(target_os = "android")))]
use ipc_conformance::{Observation, Step, check};

ipc_conformance::suite!();

#[cfg(all(unix, not(target_os = "android")))]
#[test]
fn available() {
    check!("sysv_sem.available", |_cx| {
        use ipc_conformance::mech::sysv_sem::{SemSet, op, value};
        let set = SemSet::private().step("semget(IPC_PRIVATE, 1, IPC_CREAT|0600)")?;
        op(set.id, 1, libc::IPC_NOWAIT).step("semop(+1)")?;
        let up = value(set.id).step("GETVAL")?;
        op(set.id, -1, libc::IPC_NOWAIT).step("semop(-1)")?;
        let empty = op(set.id, -1, libc::IPC_NOWAIT).err();
        let id = set.id;
        drop(set);
        let gone = value(id).err();
        Ok(Observation::holds(
            up == 1
                && empty.as_ref().and_then(|e| e.raw_os_error()) == Some(libc::EAGAIN)
                && gone.is_some(),
            format!(
                "semget(IPC_PRIVATE) gave set {id}; semop(+1) → value {up}; semop(-1) ok; another semop(-1, IPC_NOWAIT) on 0: {:?}; after IPC_RMID, GETVAL: {:?}",
                empty
                    .as_ref()
                    .map(ipc_conformance::observe::describe_io_error),
                gone.as_ref()
                    .map(ipc_conformance::observe::describe_io_error)
            ),
        ))
    });
}

#[cfg(all(unix, not(target_os = "android")))]
#[test]
fn undo_on_exit() {
    check!("sysv_sem.undo_on_exit", |cx| {
        use ipc_conformance::mech::sysv_sem::{SemSet, last_pid, op, value};
        let set = SemSet::create().step("semget(key, 1, IPC_CREAT|IPC_EXCL)")?;
        op(set.id, 1, 0).step("semop(+1) without SEM_UNDO")?;
        let before = value(set.id).step("GETVAL")?;
        let key = set.key.to_string();
        let holder = cx.peer(&["sysv_sem-hold", &key]).start()?;
        let holder_pid = holder.pid() as i32;
        let held = value(set.id).step("GETVAL while held")?;
        let by = last_pid(set.id).step("GETPID")?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(holder_pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .step("kill(SIGKILL)")?;
        let (status, _) = holder.finish()?;
        let after = value(set.id).step("GETVAL after the holder died")?;
        use std::os::unix::process::ExitStatusExt;
        Ok(Observation::holds(
            before == 1 && held == 0 && status.signal() == Some(libc::SIGKILL) && after == 1,
            format!(
                "semaphore at {before}; a peer (pid {holder_pid}) given only the key did semop(-1, SEM_UNDO): value {held}, last operation by pid {by}; the peer was killed with SIGKILL ({status}) without releasing it; value afterwards: {after}"
            ),
        ))
    });
}
