//! The Winsock calls std does not offer: handing a socket to another process
//! (WSADuplicateSocketW), WSAPoll, urgent data, FIONREAD and int options.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::windows::io::{AsRawSocket, FromRawSocket, OwnedSocket, RawSocket};
use std::time::Duration;

use windows_sys::Win32::Networking::WinSock::{
    FROM_PROTOCOL_INFO, INVALID_SOCKET, MSG_OOB, POLLRDBAND, POLLRDNORM, POLLWRNORM, SO_RCVBUF,
    SOCKET_ERROR, SOL_SOCKET, WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED, WSADuplicateSocketW,
    WSAPOLLFD, WSAPROTOCOL_INFOW, WSAPoll, WSASocketW, recv, send, setsockopt,
};

use super::Interest;
use crate::watchdog::BOUND;

const INFO_LEN: usize = std::mem::size_of::<WSAPROTOCOL_INFOW>();

/// Offers `sock` to one other process, the Windows way of handing a socket
/// over (the peer harness has no descriptor inheritance there): a thread
/// listens on 127.0.0.1, and the first process that connects and sends the
/// returned token and its pid gets the WSAPROTOCOL_INFOW that
/// WSADuplicateSocketW made for that pid. One-shot, bounded by BOUND.
pub fn offer(sock: OwnedSocket) -> io::Result<(String, String)> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    let at = listener.local_addr()?.to_string();
    let token = crate::names::random_hex(16);
    let expect = token.clone();
    std::thread::Builder::new()
        .name("ipcconf-wsa-offer".into())
        .spawn(move || {
            let _ = serve_offer(&listener, &sock, &expect);
        })?;
    Ok((at, token))
}

fn serve_offer(listener: &TcpListener, sock: &OwnedSocket, token: &str) -> io::Result<()> {
    if !wait_one(listener.as_raw_socket(), Interest::Read, BOUND)? {
        return Ok(());
    }
    let (mut c, _) = listener.accept()?;
    c.set_nonblocking(false)?;
    c.set_read_timeout(Some(BOUND))?;
    let mut hello = vec![0u8; 4 + token.len()];
    c.read_exact(&mut hello)?;
    if &hello[4..] != token.as_bytes() {
        return Err(io::Error::other("wrong token"));
    }
    let pid = u32::from_le_bytes([hello[0], hello[1], hello[2], hello[3]]);
    let mut info = WSAPROTOCOL_INFOW::default();
    // SAFETY: `sock` is a socket this thread owns for the whole call; `info` is a
    // writable WSAPROTOCOL_INFOW.
    if unsafe { WSADuplicateSocketW(sock.as_raw_socket() as usize, pid, &mut info) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: WSAPROTOCOL_INFOW is plain data (4-byte fields and a u16 array, no
    // padding); viewing it as INFO_LEN bytes reads only initialised memory.
    let bytes = unsafe {
        std::slice::from_raw_parts((&info as *const WSAPROTOCOL_INFOW).cast::<u8>(), INFO_LEN)
    };
    c.write_all(bytes)
}

/// The peer side of `offer`: connects to `at`, sends `token` and this
/// process's pid, and makes a socket from the WSAPROTOCOL_INFOW it gets back.
pub fn adopt(at: &str, token: &str) -> io::Result<OwnedSocket> {
    let addr: std::net::SocketAddr = at
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{at:?}: {e}")))?;
    let mut c = TcpStream::connect_timeout(&addr, BOUND)?;
    c.set_read_timeout(Some(BOUND))?;
    let mut hello = std::process::id().to_le_bytes().to_vec();
    hello.extend_from_slice(token.as_bytes());
    c.write_all(&hello)?;
    let mut bytes = [0u8; INFO_LEN];
    c.read_exact(&mut bytes)?;
    let mut info = WSAPROTOCOL_INFOW::default();
    // SAFETY: `bytes` holds INFO_LEN bytes that WSADuplicateSocketW wrote for this
    // process; any bit pattern is a valid WSAPROTOCOL_INFOW (plain data).
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (&mut info as *mut WSAPROTOCOL_INFOW).cast::<u8>(),
            INFO_LEN,
        );
    }
    // SAFETY: `info` is a valid WSAPROTOCOL_INFOW for the duration of the call.
    let s = unsafe {
        WSASocketW(
            FROM_PROTOCOL_INFO,
            FROM_PROTOCOL_INFO,
            FROM_PROTOCOL_INFO,
            &info,
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if s == INVALID_SOCKET {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: WSASocketW has just created this socket for this process; nothing
    // else owns it.
    Ok(unsafe { OwnedSocket::from_raw_socket(s as RawSocket) })
}

fn poll(fds: &mut [WSAPOLLFD], bound: Duration) -> io::Result<usize> {
    let ms = bound.as_millis().min(60_000) as i32;
    // SAFETY: `fds` is a valid, exclusively borrowed array of WSAPOLLFD whose
    // length is passed with it; WSAPoll writes only their revents fields.
    let rc = unsafe { WSAPoll(fds.as_mut_ptr(), fds.len() as u32, ms) };
    if rc == SOCKET_ERROR {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

fn pollfd(s: RawSocket, events: i16) -> WSAPOLLFD {
    WSAPOLLFD {
        fd: s as usize,
        events,
        revents: 0,
    }
}

pub fn wait_one(s: RawSocket, interest: Interest, bound: Duration) -> io::Result<bool> {
    let events = match interest {
        Interest::Read => POLLRDNORM,
        Interest::Write => POLLWRNORM,
    };
    Ok(poll(&mut [pollfd(s, events)], bound)? > 0)
}

pub fn wait_any(socks: &[RawSocket], bound: Duration) -> io::Result<bool> {
    let mut fds: Vec<WSAPOLLFD> = socks.iter().map(|&s| pollfd(s, POLLRDNORM)).collect();
    Ok(poll(&mut fds, bound)? > 0)
}

pub fn set_recv_buffer(s: RawSocket, bytes: usize) -> io::Result<()> {
    set_int_option(
        s,
        SOL_SOCKET,
        SO_RCVBUF,
        i32::try_from(bytes).unwrap_or(i32::MAX),
    )
}

/// setsockopt(s, level, name) with an int value.
pub fn set_int_option(s: RawSocket, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a live i32 whose size is passed with its address;
    // setsockopt only reads it.
    let rc = unsafe {
        setsockopt(
            s as usize,
            level,
            name,
            (&value as *const i32).cast::<u8>(),
            std::mem::size_of::<i32>() as i32,
        )
    };
    if rc == SOCKET_ERROR {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// ioctlsocket(FIONREAD): "the amount of data that can be read atomically
/// from socket s"; on a datagram socket "the amount of pending data in the
/// network buffer" (learn.microsoft.com/windows/win32/winsock/winsock-ioctls,
/// FIONREAD).
pub fn fionread(s: RawSocket) -> io::Result<usize> {
    use windows_sys::Win32::Networking::WinSock::{FIONREAD, ioctlsocket};
    let mut n: u32 = 0;
    // SAFETY: FIONREAD writes one u32 through the pointer, which points at `n`.
    let rc = unsafe { ioctlsocket(s as usize, FIONREAD, &mut n) };
    if rc == SOCKET_ERROR {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

pub fn send_urgent(s: RawSocket, msg: &[u8]) -> io::Result<usize> {
    // SAFETY: `msg` is valid for reads of its length for the whole call.
    let rc = unsafe { send(s as usize, msg.as_ptr(), msg.len() as i32, MSG_OOB) };
    if rc == SOCKET_ERROR {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

pub fn try_recv_urgent(s: RawSocket, buf: &mut [u8]) -> io::Result<Option<usize>> {
    let mut fds = [pollfd(s, POLLRDBAND)];
    if poll(&mut fds, Duration::ZERO)? == 0 || fds[0].revents & POLLRDBAND == 0 {
        return Ok(None);
    }
    // SAFETY: `buf` is valid for writes of its length for the whole call.
    let rc = unsafe { recv(s as usize, buf.as_mut_ptr(), buf.len() as i32, MSG_OOB) };
    if rc == SOCKET_ERROR {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Ok(None);
        }
        return Err(e);
    }
    Ok(Some(rc as usize))
}
