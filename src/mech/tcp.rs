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

/// One-write exchanges before every counted round: the client writes
/// `2 * SMALL` bytes in one write() and reads the server's `SMALL`-byte reply,
/// so that each round is counted on a connection past the kernels' start-up
/// acknowledgement policies, in their steady state. An exchange never stalls
/// under Nagle (the client's write finds nothing unacknowledged: the previous
/// reply acknowledged it all), so the warm-up costs microseconds per exchange.
///
/// Why 24: XNU acknowledges the first TCP_FORCED_ACKS_COUNT (16) segments a
/// connection end receives at once: `t_forced_acks` is set to 16 when the
/// connection is established (apple-oss-distributions/xnu bsd/netinet/tcp_var.h
/// TCP_FORCED_ACKS_COUNT; tcp_input.c, SYN_SENT and SYN_RECEIVED to
/// ESTABLISHED), `tcp_cc_delay_ack` (tcp_cc.c) never delays while it is not
/// 0, and tcp_output decrements it with every ACK it forces out (TF_ACKNOW).
/// Each exchange brings the server one segment, so 16 exchanges spend the
/// server's budget (and 16 replies the client's); 24 leave a margin for
/// acknowledgements the handshake forced. The budget is re-armed to 16 by the
/// delayed-ACK timer firing (tcp_timer.c, TCPT_DELACK in tcp_timers: the very
/// stall this check counts), by tcp_output after an idle spell of a
/// retransmission timeout (`tcp_cc_after_idle_stretchack`'s caller, tcp_output.c),
/// by out-of-order segments (tcp_reass), ECN congestion marks and SACK: hence
/// the warm-up before every counted round, which keeps each one on a spent
/// budget, with no pause in between (the rounds follow each other at once, far
/// below a retransmission timeout, and loopback neither reorders nor marks).
///
/// The other kernels: Linux acknowledges at once in quick-ack mode, at
/// connection start (net/ipv4/tcp_input.c tcp_in_quickack_mode,
/// tcp_incr_quickack), and leaves ping-pong (interactive) mode when its
/// delayed-ACK timer fires (tcp_timer.c tcp_delack_timer_handler); a reply
/// sent soon after a request re-enters it (tcp_output.c tcp_event_data_sent).
/// Its first round used to be a quick-ACK round (0.02 ms, the next ones
/// 40 ms); with the warm-up every counted round is a delayed-ACK round. FreeBSD delays the acknowledgement of a segment whenever no
/// delayed-ACK timer runs (freebsd-src sys/netinet/tcp_input.c DELAY_ACK) from
/// the first segment on, until `tcp_delacktime` (TCPTV_DELACK); the warm-up
/// changes nothing there.
pub const WARM_UP_EXCHANGES: usize = 24;

/// Round trips of write-write-read over a fresh loopback connection: the client
/// writes two `SMALL`-byte pieces and then reads the `SMALL`-byte reply that the
/// server (a thread, TCP_NODELAY on its side) sends once it has both. Before
/// each round, [`WARM_UP_EXCHANGES`] one-write exchanges, not timed. Stops
/// after `max_rounds`, or once `enough_stalls` rounds took `stall` or longer.
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
        for _ in 0..WARM_UP_EXCHANGES {
            c.write_all(&[b'w'; 2 * SMALL])?;
            c.read_exact(&mut reply)?;
        }
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

/// Reads pairs of small writes (or one write of both) and answers each pair,
/// until end of file.
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
