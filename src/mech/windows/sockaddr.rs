//! Socket addresses in the families the Winsock code uses (IPv4, AF_UNIX path
//! and abstract names), and their raw `sockaddr` forms.
//!
//! A pathname `sockaddr_un` is passed whole (`sizeof(SOCKADDR_UN)`, the path
//! NUL-terminated inside it), an abstract one counted (`winsock.rs` names the
//! code known to work on real Windows that does the same).

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use windows_sys::Win32::Networking::WinSock as ws;

/// A socket address in one of the families the suite uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    Inet(SocketAddrV4),
    /// A pathname AF_UNIX address.
    Path(PathBuf),
    /// An abstract AF_UNIX address: the bytes after the leading NUL.
    Abstract(Vec<u8>),
}

impl Addr {
    pub fn family(&self) -> u16 {
        match self {
            Addr::Inet(_) => ws::AF_INET,
            Addr::Path(_) | Addr::Abstract(_) => ws::AF_UNIX,
        }
    }

    /// The text a peer gets to join: `127.0.0.1:port`, the path, or `@name`.
    pub fn to_arg(&self) -> String {
        match self {
            Addr::Inet(a) => a.to_string(),
            Addr::Path(p) => p.display().to_string(),
            Addr::Abstract(n) => format!("@{}", String::from_utf8_lossy(n)),
        }
    }

    /// What removes a path address when the check is done: `None` for others.
    pub fn guard(&self) -> Option<crate::names::PathGuard> {
        match self {
            Addr::Path(p) => Some(crate::names::PathGuard::new(p.clone())),
            _ => None,
        }
    }

    /// Parses what `to_arg` made: `a.b.c.d:port` is an IPv4 address; otherwise, for
    /// `unix_stream`, `@name` is abstract and anything else a path.
    pub fn parse(mech: &str, s: &str) -> io::Result<Addr> {
        if let Ok(a) = s.parse::<SocketAddrV4>() {
            return Ok(Addr::Inet(a));
        }
        if mech == "unix_stream" {
            Ok(match s.strip_prefix('@') {
                Some(n) => Addr::Abstract(n.as_bytes().to_vec()),
                None => Addr::Path(PathBuf::from(s)),
            })
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{s:?} is not an IPv4 socket address"),
            ))
        }
    }

    /// The raw sockaddr and its length.
    pub(super) fn to_raw(&self) -> io::Result<(ws::SOCKADDR_STORAGE, i32)> {
        // SAFETY: SOCKADDR_STORAGE is plain data; all-zero is a valid value.
        let mut st: ws::SOCKADDR_STORAGE = unsafe { std::mem::zeroed() };
        let len = match self {
            Addr::Inet(a) => {
                let sin = ws::SOCKADDR_IN {
                    sin_family: ws::AF_INET,
                    sin_port: a.port().to_be(),
                    sin_addr: ws::IN_ADDR {
                        S_un: ws::IN_ADDR_0 {
                            S_addr: u32::from_ne_bytes(a.ip().octets()),
                        },
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: SOCKADDR_IN is smaller than SOCKADDR_STORAGE and both are
                // plain data; the storage is aligned for any sockaddr.
                unsafe { std::ptr::write((&mut st as *mut ws::SOCKADDR_STORAGE).cast(), sin) };
                std::mem::size_of::<ws::SOCKADDR_IN>()
            }
            Addr::Path(_) | Addr::Abstract(_) => {
                let (bytes, lead_nul) = match self {
                    Addr::Path(p) => (p.to_string_lossy().into_owned().into_bytes(), false),
                    Addr::Abstract(n) => (n.clone(), true),
                    Addr::Inet(_) => unreachable!(),
                };
                let mut un = ws::SOCKADDR_UN {
                    sun_family: ws::AF_UNIX,
                    sun_path: [0; 108],
                };
                let start = usize::from(lead_nul);
                if start + bytes.len() >= un.sun_path.len() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{} bytes do not fit sun_path[108]", bytes.len()),
                    ));
                }
                for (i, b) in bytes.iter().enumerate() {
                    un.sun_path[start + i] = *b as i8;
                }
                // SAFETY: as above, SOCKADDR_UN fits in SOCKADDR_STORAGE.
                unsafe { std::ptr::write((&mut st as *mut ws::SOCKADDR_STORAGE).cast(), un) };
                if lead_nul {
                    // Abstract names are counted, not NUL-terminated.
                    2 + 1 + bytes.len()
                } else {
                    std::mem::size_of::<ws::SOCKADDR_UN>()
                }
            }
        };
        Ok((st, len as i32))
    }

    pub(super) fn from_raw(st: &ws::SOCKADDR_STORAGE, len: i32) -> Option<Addr> {
        match st.ss_family {
            ws::AF_INET => {
                // SAFETY: the family says the storage holds a SOCKADDR_IN.
                let sin: ws::SOCKADDR_IN =
                    unsafe { std::ptr::read((st as *const ws::SOCKADDR_STORAGE).cast()) };
                // SAFETY: every view of the IN_ADDR union is plain data.
                let ip = unsafe { sin.sin_addr.S_un.S_addr }.to_ne_bytes();
                Some(Addr::Inet(SocketAddrV4::new(
                    Ipv4Addr::from(ip),
                    u16::from_be(sin.sin_port),
                )))
            }
            ws::AF_UNIX => {
                // SAFETY: the family says the storage holds a SOCKADDR_UN.
                let un: ws::SOCKADDR_UN =
                    unsafe { std::ptr::read((st as *const ws::SOCKADDR_STORAGE).cast()) };
                let n = (len as usize).saturating_sub(2).min(108);
                let path: Vec<u8> = un.sun_path[..n].iter().map(|b| *b as u8).collect();
                if path.first() == Some(&0) && n > 1 {
                    Some(Addr::Abstract(path[1..].to_vec()))
                } else {
                    let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
                    Some(Addr::Path(PathBuf::from(
                        String::from_utf8_lossy(&path[..end]).into_owned(),
                    )))
                }
            }
            _ => None,
        }
    }
}
