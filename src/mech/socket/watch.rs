//! The server's poll set (epoll on Linux and Android, kqueue on the BSDs and
//! macOS) and the thread that accepts connections into it.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::{Conn, Listener};

/// epoll on Linux, kqueue on the BSDs and macOS: a descriptor that poll()
/// reports readable when a registered connection is.
pub struct Poller {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    ep: nix::sys::epoll::Epoll,
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    kq: nix::sys::event::Kqueue,
}

impl Poller {
    fn new() -> io::Result<Poller> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android"))] {
                use nix::sys::epoll::{Epoll, EpollCreateFlags};
                Ok(Poller { ep: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)? })
            } else {
                let kq = nix::sys::event::Kqueue::new()?;
                nix::fcntl::fcntl(
                    kq.as_fd(),
                    nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
                )?;
                Ok(Poller { kq })
            }
        }
    }

    fn fd(&self) -> BorrowedFd<'_> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android"))] {
                self.ep.0.as_fd()
            } else {
                self.kq.as_fd()
            }
        }
    }

    fn change(&self, conn: &Conn, add: bool) -> io::Result<()> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android"))] {
                use nix::sys::epoll::{EpollEvent, EpollFlags};
                use std::os::fd::AsRawFd;
                if add {
                    let ev = EpollEvent::new(
                        EpollFlags::EPOLLIN | EpollFlags::EPOLLPRI,
                        conn.as_fd().as_raw_fd() as u64,
                    );
                    self.ep.add(conn.as_fd(), ev)?;
                } else {
                    self.ep.delete(conn.as_fd())?;
                }
                Ok(())
            } else {
                use nix::sys::event::{EvFlags, EventFilter, FilterFlag, KEvent};
                use std::os::fd::AsRawFd;
                let flags = if add { EvFlags::EV_ADD } else { EvFlags::EV_DELETE };
                let ev = KEvent::new(
                    conn.as_fd().as_raw_fd() as usize,
                    EventFilter::EVFILT_READ,
                    flags,
                    FilterFlag::empty(),
                    0,
                    0,
                );
                let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                self.kq.kevent(&[ev], &mut [], Some(zero))?;
                Ok(())
            }
        }
    }
}

/// Accepts connections on a thread of its own and registers each in the poll
/// set, so that poll() on the set answers for data, not for pending connects.
pub struct Watch {
    poller: Arc<Poller>,
    conns: Arc<Mutex<Vec<Conn>>>,
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    pub fn start(listener: Listener, conns: Arc<Mutex<Vec<Conn>>>) -> io::Result<Watch> {
        let poller = Arc::new(Poller::new()?);
        let (stop_r, stop_w) = crate::sys::pipe()?;
        let (p, c) = (poller.clone(), conns.clone());
        let thread = std::thread::Builder::new()
            .name("ipcconf-accept".into())
            .spawn(move || accept_loop(&listener, &stop_r, &p, &c))?;
        Ok(Watch {
            poller,
            conns,
            stop: Some(stop_w),
            thread: Some(thread),
        })
    }

    /// Adds a connection this process already holds.
    pub fn adopt(&self, conn: Conn) -> io::Result<()> {
        add(&self.poller, &self.conns, conn)
    }

    /// Removes a connection from the poll set before it is dropped (a copy of
    /// it elsewhere would keep it registered).
    pub fn forget(&self, conn: &Conn) {
        let _ = self.poller.change(conn, false);
    }

    pub fn poll_fd(&self) -> BorrowedFd<'_> {
        self.poller.fd()
    }
}

fn add(poller: &Poller, conns: &Mutex<Vec<Conn>>, conn: Conn) -> io::Result<()> {
    let mut list = conns.lock().unwrap_or_else(|e| e.into_inner());
    poller.change(&conn, true)?;
    list.push(conn);
    Ok(())
}

fn accept_loop(listener: &Listener, stop: &OwnedFd, poller: &Poller, conns: &Mutex<Vec<Conn>>) {
    loop {
        let mut fds = [
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        // The other end of `stop` closes when the server endpoint drops.
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return;
        }
        loop {
            match listener.accept() {
                Ok(conn) => {
                    if add(poller, conns, conn).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
