//! TCP over loopback, for comparison with local IPC: the adapter for the matrix
//! checks (shared with Unix stream sockets in [`super::socket`]) and the two
//! measurements behind the guide's "TCP for local IPC" mistake: Nagle's
//! write-write-read stall and the cost of connection set-up. Portable: std::net
//! only, so these run on Windows too. Everything binds 127.0.0.1, port 0.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::channel::{Endpoint, Role};
use crate::mech::socket::{Family, Kind, SocketMechanism};
use crate::watchdog::BOUND;

/// TCP on 127.0.0.1 as a `Mechanism`.
pub const MECHANISM: SocketMechanism = SocketMechanism {
    id: "tcp",
    family: Family::Inet,
    kind: Kind::Stream,
};

/// `endpoint tcp <role> fd|127.0.0.1:<port>`.
pub fn open_remote(_role: Role, args: &[String]) -> Option<io::Result<Box<dyn Endpoint>>> {
    MECHANISM.open_remote(args)
}

pub fn peer_role(_role: &str, _args: &[String]) -> Option<Result<(), String>> {
    None
}

/// Switches Nagle's algorithm off (`on`) or back on for the TCP socket behind a
/// sending endpoint of [`MECHANISM`] (TCP_NODELAY).
pub fn set_nodelay(ep: &dyn Endpoint, on: bool) -> io::Result<()> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            let fd = ep
                .poll_fd()
                .ok_or_else(|| io::Error::other("the endpoint has no socket"))?;
            nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::TcpNoDelay, &on)?;
            Ok(())
        } else if #[cfg(windows)] {
            use windows_sys::Win32::Networking::WinSock::{IPPROTO_TCP, TCP_NODELAY};
            let [s] = ep.poll_sockets()[..] else {
                return Err(io::Error::other("the endpoint is not one socket"));
            };
            crate::mech::socket::set_int_option(s, IPPROTO_TCP, TCP_NODELAY, i32::from(on))
        } else {
            let _ = (ep, on);
            Err(io::Error::new(io::ErrorKind::Unsupported, "no socket options here"))
        }
    }
}

/// The size of each of the two small writes, and of the reply.
pub const SMALL: usize = 10;

/// Round trips of write-write-read over a fresh loopback connection: the client
/// writes two `SMALL`-byte pieces and then reads the `SMALL`-byte reply that the
/// server (a thread, TCP_NODELAY on its side) sends once it has both. Stops after
/// `max_rounds`, or once `enough_stalls` rounds took `stall` or longer.
pub fn write_write_read(
    nodelay: bool,
    max_rounds: usize,
    stall: Duration,
    enough_stalls: usize,
) -> io::Result<Vec<Duration>> {
    use crate::mech::socket::{Addr, Conn, Listener};
    let (listener, addr) = Listener::bind(&Addr::loopback())?;
    let Addr::Inet(addr) = addr else {
        return Err(io::Error::other("a TCP listener without an IP address"));
    };
    let client = TcpStream::connect_timeout(&addr, BOUND)?;
    listener.set_nonblocking(true)?;
    let server = match listener.accept_within(BOUND)?.map(Conn::into_tcp) {
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            return Err(io::Error::other(
                "a TCP listener accepted a non-TCP connection",
            ));
        }
        None => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("accept() found no connection within {BOUND:?}"),
            ));
        }
    };
    server.set_nonblocking(false)?;
    server.set_nodelay(true)?;
    server.set_read_timeout(Some(BOUND))?;
    let server_thread = std::thread::Builder::new()
        .name("ipcconf-tcp-server".into())
        .spawn(move || serve_pairs(server))?;
    client.set_nodelay(nodelay)?;
    client.set_read_timeout(Some(BOUND))?;
    let result = client_rounds(&client, max_rounds, stall, enough_stalls);
    // The server ends at end of file (or its read timeout).
    let _ = client.shutdown(std::net::Shutdown::Both);
    drop(client);
    let served = server_thread
        .join()
        .map_err(|_| io::Error::other("the server thread panicked"))?;
    let rounds = result?;
    served?;
    Ok(rounds)
}

fn client_rounds(
    client: &TcpStream,
    max_rounds: usize,
    stall: Duration,
    enough_stalls: usize,
) -> io::Result<Vec<Duration>> {
    let mut rounds = Vec::new();
    let mut c: &TcpStream = client;
    let mut reply = [0u8; SMALL];
    for _ in 0..max_rounds {
        let t0 = Instant::now();
        c.write_all(&[b'a'; SMALL])?;
        c.write_all(&[b'b'; SMALL])?;
        c.read_exact(&mut reply)?;
        rounds.push(t0.elapsed());
        if rounds.iter().filter(|d| **d >= stall).count() >= enough_stalls {
            break;
        }
    }
    Ok(rounds)
}

/// Reads pairs of small writes and answers each pair, until end of file.
fn serve_pairs(server: TcpStream) -> io::Result<()> {
    let mut s: &TcpStream = &server;
    let mut got = 0usize;
    let mut buf = [0u8; 256];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionReset) => return Ok(()),
            Err(e) => return Err(e),
        };
        got += n;
        while got >= 2 * SMALL {
            got -= 2 * SMALL;
            s.write_all(&[b'r'; SMALL])?;
        }
    }
}

/// connect() + accept() times of `n` loopback TCP connections, one after the
/// other (blocking connect; the accept finds the connection queued).
pub fn setup_times(n: usize) -> io::Result<Vec<Duration>> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let c = TcpStream::connect(addr)?;
        let (s, _) = listener.accept()?;
        times.push(t0.elapsed());
        drop((c, s));
    }
    Ok(times)
}

/// The median of some durations, in microseconds.
pub fn median_us(times: &[Duration]) -> f64 {
    let mut v: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
