//! Winsock stream sockets (AF_UNIX, and TCP on loopback for this module's own
//! tests) as matrix channels.
//!
//! One code path for every address family: raw Winsock calls through windows-sys
//! (std's `std::os::windows::net` is unstable, rust-lang/rust#150487). Sockets
//! are made with `WSA_FLAG_NO_HANDLE_INHERIT` and put in non-blocking mode; waits
//! are bounded `WSAPoll` calls. A peer gets a socket through `WSADuplicateSocketW`.
//!
//! What this leans on, and the code known to work on real Windows that does the
//! same (the table in `afunix.rs` lists every construct):
//! - `WSASocketW(AF_UNIX, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED |
//!   WSA_FLAG_NO_HANDLE_INHERIT)`: rust-lang/rust
//!   library/std/src/sys/net/connection/socket/windows.rs (`Socket::new`, used
//!   by library/std/src/os/windows/net/stream.rs); golang/go
//!   src/internal/syscall/windows/version_windows_test.go
//!   (`TestSupportUnixSocket`, WSASocket with AF_UNIX).
//! - a pathname `sockaddr_un` passed whole (`sizeof(SOCKADDR_UN)`, the path
//!   NUL-terminated inside it): lunarmodules/luasocket#469 ("Winsock reads the
//!   path as the null terminated string inside it"); std and Go pass
//!   `offsetof(sun_path) + len + 1`, Azure/mio-uds-windows src/stdnet/mod.rs the
//!   same; both forms end at the NUL. The path is UTF-8 (mio-uds-windows:
//!   "Winsock2 expects 'sun_path' to be a Win32 UTF-8 file system path").
//! - a blocking `connect()` to a listening socket returns from the backlog before
//!   `accept()`: dotnet/runtime src/libraries/System.Net.Sockets/tests/
//!   FunctionalTests/UnixDomainSocketTest.cs `Socket_SendReceive_Success`
//!   (Connect, then Accept on the same thread); Go dials "unix" with a plain
//!   blocking connect (src/net/fd_windows.go `canUseConnectEx`: tcp only).
//! - `WSADuplicateSocketW` + `WSASocketW(FROM_PROTOCOL_INFO)` on an AF_UNIX
//!   socket: Azure/mio-uds-windows src/stdnet/socket.rs `duplicate`, std's
//!   `UnixStream::try_clone`; into another process: microsoft/WSL#9045 (an AF_UNIX
//!   socket duplicated to a different process, Windows 10.0.22000).
//!
//! Every failure after `socket()` succeeded is an error of the call that failed,
//! named with its Winsock error and code ([`Failed`]), never `unsupported`: the
//! family exists, so a failing bind or accept is not an absent API.
//!
//! The channel, as the matrix checks see it: a listener at a fresh address and
//! one connection made at creation; the sending side is the client end, the
//! receiving side the accepted end, which also accepts and reads any later
//! connection (a peer that joins by name). TCP and UDP on Windows are the socket
//! suites' own adapters (`mech::socket`); AF_UNIX, which std cannot reach on
//! Windows, is this channel under `afunix::UnixStreamMechanism`.

use std::io;
use std::os::windows::io::{AsRawSocket, FromRawSocket, OwnedSocket, RawSocket};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use windows_sys::Win32::Foundation::{HANDLE, HANDLE_FLAG_INHERIT, SetHandleInformation};
use windows_sys::Win32::Networking::WinSock as ws;

use super::Handover;
pub use super::sockaddr::Addr;
use crate::channel::{Channel, Endpoint, Role};
use crate::check::Ctx;
use crate::observe::{Checked, Observation};
use crate::peer::PeerCommand;
use crate::watchdog::BOUND;

/// Starts Winsock 2.2 once per process (std does it lazily only for std::net).
pub fn init() -> io::Result<()> {
    static INIT: OnceLock<i32> = OnceLock::new();
    let rc = *INIT.get_or_init(|| {
        // SAFETY: WSADATA is plain data that WSAStartup fills; the pointer is valid.
        unsafe {
            let mut data: ws::WSADATA = std::mem::zeroed();
            ws::WSAStartup(0x0202, &mut data)
        }
    });
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// The calling thread's last Winsock error.
pub fn last_error() -> io::Error {
    // SAFETY: WSAGetLastError only reads thread-local state.
    io::Error::from_raw_os_error(unsafe { ws::WSAGetLastError() })
}

fn would_block(e: &io::Error) -> bool {
    e.raw_os_error() == Some(ws::WSAEWOULDBLOCK)
}

/// Ends a check with an `error` naming the call, the Winsock error and its code,
/// for calls made once the socket exists (where CONTRIBUTING.md's `.step()`
/// would read WSAEOPNOTSUPP as an absent facility: after `socket()` succeeded
/// it is a failure of the call, not a missing family).
pub trait Failed<T> {
    fn failed(self, call: &str) -> Checked<T>;
}

impl<T> Failed<T> for io::Result<T> {
    fn failed(self, call: &str) -> Checked<T> {
        crate::observe::fault::point(call);
        self.map_err(|e| failure(call, &e))
    }
}

/// The observation [`Failed`] makes: `error`, with the call and the error.
pub fn failure(call: &str, e: &io::Error) -> Observation {
    Observation::error(format!(
        "{call} failed: {} ({}, {})",
        super::describe_error(e),
        crate::platform::TARGET,
        windows_build()
    ))
}

/// The running Windows build, for evidence: `Windows 10.0.20348` (RtlGetVersion).
pub fn windows_build() -> String {
    let (major, minor, build) = crate::sys::windows_version();
    format!("Windows {major}.{minor}.{build}")
}

/// `err` with the step that failed in front of its text, keeping its kind.
fn at(what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {}", super::describe_error(&e)))
}

/// A Winsock socket owned by this process.
#[derive(Debug)]
pub struct Socket(pub OwnedSocket);

impl Socket {
    /// `WSASocketW(family, ty, 0)`, overlapped (as socket() makes them), not
    /// inheritable.
    pub fn new(family: u16, ty: i32) -> io::Result<Socket> {
        Socket::with_flags(family, ty, ws::WSA_FLAG_OVERLAPPED)
    }

    /// `WSASocketW(family, ty, 0)` without WSA_FLAG_OVERLAPPED: a socket whose
    /// handle takes synchronous ReadFile/WriteFile calls with no OVERLAPPED
    /// structure. ReadFile: "For asynchronous read operations, hFile can be any
    /// handle that is opened with the FILE_FLAG_OVERLAPPED flag by the CreateFile
    /// function, or a socket handle returned by the socket or accept function"
    /// (learn.microsoft.com/windows/win32/api/fileapi/nf-fileapi-readfile);
    /// WSASocketW: WSA_FLAG_OVERLAPPED "Create a socket that supports overlapped
    /// I/O operations" (.../api/winsock2/nf-winsock2-wsasocketw); accept() gives
    /// a socket with "the same properties as socket s" (.../nf-winsock2-accept).
    pub fn new_synchronous(family: u16, ty: i32) -> io::Result<Socket> {
        Socket::with_flags(family, ty, 0)
    }

    fn with_flags(family: u16, ty: i32, flags: u32) -> io::Result<Socket> {
        init()?;
        // SAFETY: plain arguments, no protocol info.
        let s = unsafe {
            ws::WSASocketW(
                i32::from(family),
                ty,
                0,
                std::ptr::null(),
                0,
                flags | ws::WSA_FLAG_NO_HANDLE_INHERIT,
            )
        };
        if s == ws::INVALID_SOCKET {
            return Err(last_error());
        }
        // SAFETY: WSASocketW returned a new socket that nothing else owns.
        Ok(Socket(unsafe {
            OwnedSocket::from_raw_socket(s as RawSocket)
        }))
    }

    pub fn raw(&self) -> ws::SOCKET {
        self.0.as_raw_socket() as ws::SOCKET
    }

    fn check(rc: i32) -> io::Result<i32> {
        if rc == ws::SOCKET_ERROR {
            Err(last_error())
        } else {
            Ok(rc)
        }
    }

    /// `call(socket, addr, len)`: bind or connect.
    fn with_addr(
        &self,
        addr: &Addr,
        call: unsafe extern "system" fn(ws::SOCKET, *const ws::SOCKADDR, i32) -> i32,
    ) -> io::Result<()> {
        let (st, len) = addr.to_raw()?;
        // SAFETY: `st` holds a sockaddr of `len` bytes and outlives the call.
        Self::check(unsafe { call(self.raw(), (&st as *const ws::SOCKADDR_STORAGE).cast(), len) })?;
        Ok(())
    }

    pub fn bind(&self, addr: &Addr) -> io::Result<()> {
        self.with_addr(addr, ws::bind)
    }

    pub fn listen(&self, backlog: i32) -> io::Result<()> {
        // SAFETY: plain arguments.
        Self::check(unsafe { ws::listen(self.raw(), backlog) })?;
        Ok(())
    }

    pub fn connect(&self, addr: &Addr) -> io::Result<()> {
        self.with_addr(addr, ws::connect)
    }

    /// `accept()`, waiting at most `bound` (the listener is put in non-blocking
    /// mode and watched with WSAPoll): `Ok(None)` when no connection came.
    pub fn accept_within(&self, bound: Duration) -> io::Result<Option<Socket>> {
        self.set_nonblocking(true)?;
        let revents = poll(&[self.raw()], ws::POLLRDNORM, bound)?;
        if revents.iter().all(|r| *r == 0) {
            return Ok(None);
        }
        match self.accept() {
            Ok(s) => Ok(Some(s)),
            Err(e) if would_block(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The provider's WSAPROTOCOL_INFOW for this socket
    /// (`getsockopt(SOL_SOCKET, SO_PROTOCOL_INFOW)`).
    pub fn protocol_info(&self) -> io::Result<ws::WSAPROTOCOL_INFOW> {
        // SAFETY: WSAPROTOCOL_INFOW is plain data; all-zero is a valid value.
        let mut info: ws::WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<ws::WSAPROTOCOL_INFOW>() as i32;
        // SAFETY: `info` and `len` are valid out-pointers of the size given.
        Self::check(unsafe {
            ws::getsockopt(
                self.raw(),
                ws::SOL_SOCKET,
                ws::SO_PROTOCOL_INFOW,
                (&mut info as *mut ws::WSAPROTOCOL_INFOW).cast(),
                &mut len,
            )
        })?;
        Ok(info)
    }

    /// `accept()`; the new socket is made non-inheritable.
    pub fn accept(&self) -> io::Result<Socket> {
        // SAFETY: null address pointers are allowed (the peer address is not needed).
        let s = unsafe { ws::accept(self.raw(), std::ptr::null_mut(), std::ptr::null_mut()) };
        if s == ws::INVALID_SOCKET {
            return Err(last_error());
        }
        // SAFETY: accept returned a new socket that nothing else owns.
        let sock = Socket(unsafe { OwnedSocket::from_raw_socket(s as RawSocket) });
        // SAFETY: a socket of a base provider is a kernel handle; clearing its
        // inherit flag only affects what child processes receive.
        unsafe { SetHandleInformation(s as HANDLE, HANDLE_FLAG_INHERIT, 0) };
        Ok(sock)
    }

    pub fn local_addr(&self) -> io::Result<Addr> {
        // SAFETY: plain data, zero is valid.
        let mut st: ws::SOCKADDR_STORAGE = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<ws::SOCKADDR_STORAGE>() as i32;
        // SAFETY: `st` and `len` are valid out-pointers for the storage's size.
        Self::check(unsafe {
            ws::getsockname(
                self.raw(),
                (&mut st as *mut ws::SOCKADDR_STORAGE).cast(),
                &mut len,
            )
        })?;
        Addr::from_raw(&st, len)
            .ok_or_else(|| io::Error::other(format!("unknown family {}", st.ss_family)))
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        let mut arg = u32::from(on);
        // SAFETY: FIONBIO takes a pointer to a u32, valid for the call.
        Self::check(unsafe { ws::ioctlsocket(self.raw(), ws::FIONBIO, &mut arg) })?;
        Ok(())
    }

    pub fn send(&self, data: &[u8]) -> io::Result<usize> {
        let len = i32::try_from(data.len()).unwrap_or(i32::MAX);
        // SAFETY: `data` is valid for `len` bytes.
        Self::check(unsafe { ws::send(self.raw(), data.as_ptr(), len, 0) }).map(|n| n as usize)
    }

    /// ioctlsocket(FIONREAD): the bytes that can be read now
    /// (learn.microsoft.com/windows/win32/winsock/winsock-ioctls, FIONREAD).
    pub fn fionread(&self) -> io::Result<usize> {
        let mut n: u32 = 0;
        // SAFETY: FIONREAD writes one u32 through the pointer, which points at `n`.
        Self::check(unsafe { ws::ioctlsocket(self.raw(), ws::FIONREAD, &mut n) })?;
        Ok(n as usize)
    }

    pub fn recv(&self, buf: &mut [u8], flags: i32) -> io::Result<usize> {
        let len = i32::try_from(buf.len()).unwrap_or(i32::MAX);
        // SAFETY: `buf` is valid and writable for `len` bytes.
        Self::check(unsafe { ws::recv(self.raw(), buf.as_mut_ptr(), len, flags) })
            .map(|n| n as usize)
    }

    pub fn send_to(&self, data: &[u8], to: &Addr) -> io::Result<usize> {
        let (st, alen) = to.to_raw()?;
        let len = i32::try_from(data.len()).unwrap_or(i32::MAX);
        // SAFETY: `data` is valid for `len` bytes; `st` holds a sockaddr of `alen` bytes.
        Self::check(unsafe {
            ws::sendto(
                self.raw(),
                data.as_ptr(),
                len,
                0,
                (&st as *const ws::SOCKADDR_STORAGE).cast(),
                alen,
            )
        })
        .map(|n| n as usize)
    }

    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Option<Addr>)> {
        // SAFETY: plain data, zero is valid.
        let mut st: ws::SOCKADDR_STORAGE = unsafe { std::mem::zeroed() };
        let mut alen = std::mem::size_of::<ws::SOCKADDR_STORAGE>() as i32;
        let len = i32::try_from(buf.len()).unwrap_or(i32::MAX);
        // SAFETY: `buf` is writable for `len` bytes; `st`/`alen` are valid out-pointers.
        let n = Self::check(unsafe {
            ws::recvfrom(
                self.raw(),
                buf.as_mut_ptr(),
                len,
                0,
                (&mut st as *mut ws::SOCKADDR_STORAGE).cast(),
                &mut alen,
            )
        })?;
        Ok((n as usize, Addr::from_raw(&st, alen)))
    }

    /// An integer socket option (`getsockopt`).
    pub fn option(&self, level: i32, name: i32) -> io::Result<i32> {
        let mut v = 0i32;
        let mut len = 4i32;
        // SAFETY: `v` and `len` are valid out-pointers of the sizes given.
        Self::check(unsafe {
            ws::getsockopt(
                self.raw(),
                level,
                name,
                (&mut v as *mut i32).cast(),
                &mut len,
            )
        })?;
        Ok(v)
    }
}

/// `WSAPoll` on `socks` for `events`, at most `bound`: the revents of each.
pub fn poll(socks: &[ws::SOCKET], events: i16, bound: Duration) -> io::Result<Vec<i16>> {
    init()?;
    let mut fds: Vec<ws::WSAPOLLFD> = socks
        .iter()
        .map(|&fd| ws::WSAPOLLFD {
            fd,
            events,
            revents: 0,
        })
        .collect();
    let ms = bound.as_millis().min(60_000) as i32;
    // SAFETY: `fds` is a valid array of `len` WSAPOLLFD for the call.
    let rc = unsafe { ws::WSAPoll(fds.as_mut_ptr(), fds.len() as u32, ms) };
    if rc == ws::SOCKET_ERROR {
        return Err(last_error());
    }
    Ok(fds.iter().map(|f| f.revents).collect())
}

/// Whether ws2_32.dll exports a function of that name (`GetProcAddress`).
pub fn ws2_32_exports(symbol: &std::ffi::CStr) -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryA};
    // SAFETY: NUL-terminated module and symbol names; ws2_32 stays loaded (the
    // suite links it).
    unsafe {
        let m = LoadLibraryA(c"ws2_32.dll".as_ptr().cast());
        !m.is_null() && GetProcAddress(m, symbol.as_ptr().cast()).is_some()
    }
}

/// `WSADuplicateSocketW` for the process `pid`: the WSAPROTOCOL_INFOW bytes.
pub fn duplicate_for(s: RawSocket, pid: u32) -> io::Result<Vec<u8>> {
    init()?;
    // SAFETY: WSAPROTOCOL_INFOW is plain data that the call fills.
    let mut info: ws::WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
    // SAFETY: `s` is an open socket owned by the caller; `info` is a valid out-pointer.
    if unsafe { ws::WSADuplicateSocketW(s as ws::SOCKET, pid, &mut info) } != 0 {
        return Err(at(
            &format!("WSADuplicateSocketW for process {pid}"),
            last_error(),
        ));
    }
    let size = std::mem::size_of::<ws::WSAPROTOCOL_INFOW>();
    // SAFETY: viewing a plain-data struct as its bytes, within its size.
    Ok(unsafe {
        std::slice::from_raw_parts((&info as *const ws::WSAPROTOCOL_INFOW).cast::<u8>(), size)
    }
    .to_vec())
}

/// In a peer: the socket a parent duplicated for this process.
pub fn socket_from_info(bytes: &[u8]) -> io::Result<OwnedSocket> {
    init()?;
    let size = std::mem::size_of::<ws::WSAPROTOCOL_INFOW>();
    if bytes.len() != size {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "WSAPROTOCOL_INFOW of {} bytes, expected {size}",
                bytes.len()
            ),
        ));
    }
    // SAFETY: the bytes are a WSAPROTOCOL_INFOW (size checked) written by the parent's
    // WSADuplicateSocketW; read unaligned into a properly aligned value.
    let info: ws::WSAPROTOCOL_INFOW = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    // SAFETY: FROM_PROTOCOL_INFO with the duplicated info, as WSADuplicateSocketW documents.
    let s = unsafe {
        ws::WSASocketW(
            ws::FROM_PROTOCOL_INFO,
            ws::FROM_PROTOCOL_INFO,
            ws::FROM_PROTOCOL_INFO,
            &info,
            0,
            ws::WSA_FLAG_OVERLAPPED | ws::WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if s == ws::INVALID_SOCKET {
        return Err(last_error());
    }
    // SAFETY: WSASocketW returned a new socket that nothing else owns.
    Ok(unsafe { OwnedSocket::from_raw_socket(s as RawSocket) })
}

/// Reads a connection to its end (bounded): what a server wrote before closing.
pub fn read_to_end_bounded(s: &Socket) -> String {
    let _ = s.set_nonblocking(true);
    let deadline = std::time::Instant::now() + BOUND;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match s.recv(&mut buf, 0) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.raw_os_error() == Some(ws::WSAEWOULDBLOCK) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() || poll(&[s.raw()], ws::POLLRDNORM, left).is_err() {
                    break;
                }
            }
            Err(e) => return format!("recv: {}", super::describe_error(&e)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends all of `data` on a non-blocking socket, waiting (WSAPoll) at most the bound.
fn send_all(s: &Socket, data: &[u8]) -> io::Result<usize> {
    crate::mech::socket::write_all_bounded(
        data,
        |rest| s.send(rest),
        |left| {
            Ok(poll(&[s.raw()], ws::POLLWRNORM, left)?
                .iter()
                .any(|r| *r != 0))
        },
    )
}

/// A stream endpoint: one or more connections (and, on a receiving end made by
/// this process, the listener whose later connections it also reads).
pub struct StreamEndpoint {
    listener: Option<Arc<Socket>>,
    conns: Vec<(Arc<Socket>, bool)>,
}

impl StreamEndpoint {
    pub fn new(listener: Option<Arc<Socket>>, conn: Option<Arc<Socket>>) -> io::Result<Self> {
        if let Some(l) = &listener {
            l.set_nonblocking(true)?;
        }
        let mut conns = Vec::new();
        if let Some(c) = conn {
            c.set_nonblocking(true)?;
            conns.push((c, true));
        }
        Ok(StreamEndpoint { listener, conns })
    }

    fn accept_pending(&mut self) -> io::Result<()> {
        let Some(l) = &self.listener else {
            return Ok(());
        };
        loop {
            match l.accept() {
                Ok(c) => {
                    c.set_nonblocking(true)?;
                    self.conns.push((Arc::new(c), true));
                }
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn watched(&self) -> Vec<ws::SOCKET> {
        let mut v: Vec<ws::SOCKET> = self
            .conns
            .iter()
            .filter(|(_, open)| *open)
            .map(|(c, _)| c.raw())
            .collect();
        if let Some(l) = &self.listener {
            v.push(l.raw());
        }
        v
    }
}

impl Endpoint for StreamEndpoint {
    fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
        self.accept_pending()?;
        let (c, _) = self
            .conns
            .iter()
            .find(|(_, open)| *open)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no connection"))?;
        send_all(c, msg)
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.accept_pending()?;
        for (c, open) in self.conns.iter_mut().filter(|(_, o)| *o) {
            match c.recv(buf, 0) {
                Ok(0) => *open = false,
                Ok(n) => return Ok(Some(n)),
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(e),
            }
        }
        if self.listener.is_none() && self.conns.iter().all(|(_, open)| !open) {
            return Ok(Some(0));
        }
        Ok(None)
    }

    fn wait_readable(&mut self, bound: Duration) -> io::Result<bool> {
        let revents = poll(&self.watched(), ws::POLLRDNORM, bound)?;
        Ok(revents.iter().any(|r| *r != 0))
    }

    fn poll_sockets(&self) -> Vec<u64> {
        self.conns
            .iter()
            .filter(|(_, open)| *open)
            .map(|(c, _)| c.raw() as u64)
            .collect()
    }

    /// ioctlsocket(FIONREAD) summed over the open connections.
    fn queued(&mut self) -> io::Result<Option<crate::channel::Queued>> {
        self.accept_pending()?;
        let mut total = 0usize;
        for (c, _) in self.conns.iter().filter(|(_, open)| *open) {
            total += c.fionread()?;
        }
        Ok(Some(crate::channel::Queued::Bytes(total)))
    }
}

/// A stream listener made by `new`, bound to `addr` (port 0 or a fresh path)
/// and listening; with its address (the kernel's port for TCP) and what
/// removes a path.
pub fn listen_at(
    addr: Addr,
    new: fn(u16, i32) -> io::Result<Socket>,
) -> io::Result<(Socket, Addr, Option<crate::names::PathGuard>)> {
    // The guard comes first: a bind that created the file is undone even when
    // a later step fails.
    let guard = addr.guard();
    let listener = new(addr.family(), ws::SOCK_STREAM).map_err(|e| at("socket()", e))?;
    listener
        .bind(&addr)
        .map_err(|e| at(&format!("bind({})", addr.to_arg()), e))?;
    listener.listen(16).map_err(|e| at("listen(16)", e))?;
    let addr = match addr {
        Addr::Inet(_) => listener.local_addr().map_err(|e| at("getsockname()", e))?,
        other => other,
    };
    Ok((listener, addr, guard))
}

/// A stream channel: listener + one connection made at creation.
pub struct StreamChannel {
    mech: &'static str,
    addr: Addr,
    listener: Arc<Socket>,
    client: Arc<Socket>,
    server: Arc<Socket>,
    _guard: Option<crate::names::PathGuard>,
}

impl StreamChannel {
    /// Binds a listener at `addr` (port 0 or a fresh path), connects once, accepts.
    pub fn create(mech: &'static str, addr: Addr) -> io::Result<StreamChannel> {
        StreamChannel::create_from(mech, addr, Socket::new)
    }

    /// [`StreamChannel::create`] with sockets made by `new` (a listener, the
    /// client, and the accepted end, which takes the listener's properties).
    pub fn create_from(
        mech: &'static str,
        addr: Addr,
        new: fn(u16, i32) -> io::Result<Socket>,
    ) -> io::Result<StreamChannel> {
        let (listener, addr, guard) = listen_at(addr, new)?;
        let client = new(addr.family(), ws::SOCK_STREAM).map_err(|e| at("socket()", e))?;
        // A connect to a listening socket on this host completes from the
        // backlog, before accept() (module documentation: dotnet/runtime's
        // Socket_SendReceive_Success does the same on Windows).
        client
            .connect(&addr)
            .map_err(|e| at(&format!("connect({})", addr.to_arg()), e))?;
        let server = match listener.accept_within(BOUND) {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("accept(): no connection within {BOUND:?} after connect() returned"),
                ));
            }
            Err(e) => return Err(at("accept()", e)),
        };
        Ok(StreamChannel {
            mech,
            addr,
            listener: Arc::new(listener),
            client: Arc::new(client),
            server: Arc::new(server),
            _guard: guard,
        })
    }
}

impl StreamChannel {
    /// The accepted end made at creation, shared (a bounded helper thread can
    /// hold it while it waits).
    pub fn server_socket(&self) -> Arc<Socket> {
        self.server.clone()
    }
}

impl Channel for StreamChannel {
    fn open(&mut self, role: Role) -> io::Result<Box<dyn Endpoint>> {
        Ok(Box::new(match role {
            Role::Sender => StreamEndpoint::new(None, Some(self.client.clone()))?,
            Role::Receiver => {
                StreamEndpoint::new(Some(self.listener.clone()), Some(self.server.clone()))?
            }
        }))
    }

    fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand> {
        let s = match role {
            Role::Sender => &self.client,
            Role::Receiver => &self.server,
        };
        Ok(cx
            .peer(&["endpoint", self.mech, role.as_str(), "handed"])
            .handover_windows(Handover::Socket(s.0.as_raw_socket())))
    }

    fn name(&self) -> Option<String> {
        Some(self.addr.to_arg())
    }
}

/// Opens a stream socket endpoint in a peer: `endpoint <mech> <role> handed`
/// takes the socket its parent duplicated; `endpoint <mech> <role> <address>`
/// joins by the address alone (a fresh socket that connects to it).
pub fn open_remote(mech: &str, _role: Role, args: &[String]) -> io::Result<Box<dyn Endpoint>> {
    match args {
        [h] if h == "handed" => match super::take_handover()? {
            super::Handed::Socket(s) => Ok(Box::new(StreamEndpoint::new(
                None,
                Some(Arc::new(Socket(s))),
            )?)),
            super::Handed::Handle(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "expected a socket, got a handle",
            )),
        },
        [addr] => {
            let addr = Addr::parse(mech, addr)?;
            let s = Socket::new(addr.family(), ws::SOCK_STREAM)?;
            s.connect(&addr)?;
            Ok(Box::new(StreamEndpoint::new(None, Some(Arc::new(s)))?))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("endpoint {mech}: expected `handed` or an address, got {args:?}"),
        )),
    }
}

#[cfg(test)]
mod tests;
