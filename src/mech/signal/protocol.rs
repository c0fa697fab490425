//! The `signal-peer` line protocol, typed: the [`Ready`] line a peer prints
//! first, the [`Command`]s the controller sends and the peer's [`Answer`]s,
//! each written with `Display` and read with [`WireLine::from_line`] by both
//! sides (the list of commands is in the module's header, `super`). A line that
//! is not a message of the protocol is a [`ProtocolError`] naming it.

use super::Delivery;
use crate::peer::wire::{ProtocolError, WireLine, bad, keyed, num, opt_num, show_opt};

/// A signal as the protocol names it: `USR1`, `USR2`, `RT+<k>` (SIGRTMIN + k),
/// `RTMAX`, or a number (`0` is the null signal of kill()). The name is kept as
/// written; [`Sig::number`] resolves it on the running system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    Usr1,
    Usr2,
    Rt(u32),
    RtMax,
    Num(i32),
}

impl Sig {
    /// Reads a signal name; numbers above 1024 are no signal of any system here.
    pub fn parse(s: &str) -> Option<Sig> {
        Some(match s {
            "USR1" => Sig::Usr1,
            "USR2" => Sig::Usr2,
            "RTMAX" => Sig::RtMax,
            _ => match s.strip_prefix("RT+") {
                Some(k) => Sig::Rt(k.parse().ok()?),
                None => Sig::Num(s.parse().ok().filter(|n| (0..=1024).contains(n))?),
            },
        })
    }

    /// The signal number on this system, if it has that signal.
    pub fn number(self) -> Option<i32> {
        match self {
            #[cfg(unix)]
            Sig::Usr1 => Some(libc::SIGUSR1),
            #[cfg(unix)]
            Sig::Usr2 => Some(libc::SIGUSR2),
            #[cfg(not(unix))]
            Sig::Usr1 | Sig::Usr2 => None,
            Sig::RtMax => super::rt_max(),
            Sig::Rt(k) => {
                let sig = super::rt_min()?.checked_add(i32::try_from(k).ok()?)?;
                (sig <= super::rt_max()?).then_some(sig)
            }
            Sig::Num(n) => Some(n),
        }
    }
}

impl std::fmt::Display for Sig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sig::Usr1 => f.write_str("USR1"),
            Sig::Usr2 => f.write_str("USR2"),
            Sig::Rt(k) => write!(f, "RT+{k}"),
            Sig::RtMax => f.write_str("RTMAX"),
            Sig::Num(n) => write!(f, "{n}"),
        }
    }
}

fn sig_word(word: &str) -> Result<Sig, String> {
    Sig::parse(word).ok_or_else(|| format!("{word:?} is not a signal name"))
}

/// Open descriptors as the peer lists them: `3,4,7`, or `?` where the system
/// does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdList(pub Option<Vec<i32>>);

impl std::fmt::Display for FdList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("?"),
            Some(fds) => f.write_str(&join(fds, ",")),
        }
    }
}

impl FdList {
    fn parse(word: &str) -> Result<FdList, String> {
        if word == "?" {
            return Ok(FdList(None));
        }
        list(word, "descriptor").map(|v| FdList(Some(v)))
    }
}

fn join<T: ToString>(items: &[T], sep: &str) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(sep)
}

/// A comma-separated list of numbers (empty for none).
fn list<T: std::str::FromStr>(word: &str, field: &str) -> Result<Vec<T>, String> {
    if word.is_empty() {
        return Ok(Vec::new());
    }
    word.split(',').map(|w| num(w, field)).collect()
}

/// The first line of a signal peer: `ready <pid> uid=<uid> pgid=<pgid>
/// threads=<n|?> fds=<list|?>` (the descriptors it had before installing
/// anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub pid: u32,
    pub uid: u32,
    pub pgid: i32,
    pub threads: Option<usize>,
    pub fds: FdList,
}

impl std::fmt::Display for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ready {} uid={} pgid={} threads={} fds={}",
            self.pid,
            self.uid,
            self.pgid,
            self.threads.map_or("?".to_owned(), |t| t.to_string()),
            self.fds
        )
    }
}

impl WireLine for Ready {
    fn from_line(line: &str) -> Result<Ready, ProtocolError> {
        let parsed = match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["ready", pid, uid, pgid, threads, fds] => (|| {
                let threads = keyed(threads, "threads")?;
                Ok(Ready {
                    pid: num(pid, "pid")?,
                    uid: num(keyed(uid, "uid")?, "uid")?,
                    pgid: num(keyed(pgid, "pgid")?, "pgid")?,
                    threads: (threads != "?")
                        .then(|| num(threads, "threads"))
                        .transpose()?,
                    fds: FdList::parse(keyed(fds, "fds")?)?,
                })
            })(),
            _ => Err("expected ready <pid> uid= pgid= threads= fds=".to_owned()),
        };
        parsed.map_err(|reason| bad("a signal-peer ready line", line, reason))
    }
}

/// A command to a signal peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `kill <pid> <sig> <count>`
    Kill { pid: i32, sig: Sig, count: u64 },
    /// `killpg <pgid> <sig> <count>`: kill(-pgid)
    Killpg { pgid: i32, sig: Sig, count: u64 },
    /// `sigqueue <pid> <sig> <first-value> <count>`: values first, first+1, ...
    Sigqueue {
        pid: i32,
        sig: Sig,
        first: usize,
        count: u64,
    },
    /// `sweep <pid> <from> <to>`: one sigqueue() of every signal from..=to
    Sweep { pid: i32, from: Sig, to: Sig },
    /// `unblock`
    Unblock,
    /// `handle`
    Handle,
    /// `report`
    Report,
    /// `pending`
    Pending,
    /// `fds`
    Fds,
    /// `open <path>` (one word)
    Open { path: String },
    /// `fdstat <n>`
    Fdstat { fd: i32 },
    /// `rtprobe`
    Rtprobe,
    /// `dropkill <uid> <pid> <sig>`
    Dropkill { uid: u32, pid: i32, sig: Sig },
    /// `fillchild <uid|-> <rlimit|-> <sig> <max>`
    Fillchild {
        uid: Option<u32>,
        rlimit: Option<u64>,
        sig: Sig,
        max: u64,
    },
    /// `signalfd`
    Signalfd,
    /// `sfdwait <ms>`
    Sfdwait { ms: u64 },
    /// `kqueue`
    Kqueue,
    /// `kqwait <ms>`
    Kqwait { ms: u64 },
    /// `quit` (no answer: the peer exits 0)
    Quit,
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Kill { pid, sig, count } => write!(f, "kill {pid} {sig} {count}"),
            Command::Killpg { pgid, sig, count } => write!(f, "killpg {pgid} {sig} {count}"),
            Command::Sigqueue {
                pid,
                sig,
                first,
                count,
            } => write!(f, "sigqueue {pid} {sig} {first} {count}"),
            Command::Sweep { pid, from, to } => write!(f, "sweep {pid} {from} {to}"),
            Command::Unblock => f.write_str("unblock"),
            Command::Handle => f.write_str("handle"),
            Command::Report => f.write_str("report"),
            Command::Pending => f.write_str("pending"),
            Command::Fds => f.write_str("fds"),
            Command::Open { path } => write!(f, "open {path}"),
            Command::Fdstat { fd } => write!(f, "fdstat {fd}"),
            Command::Rtprobe => f.write_str("rtprobe"),
            Command::Dropkill { uid, pid, sig } => write!(f, "dropkill {uid} {pid} {sig}"),
            Command::Fillchild {
                uid,
                rlimit,
                sig,
                max,
            } => write!(
                f,
                "fillchild {} {} {sig} {max}",
                show_opt(uid),
                show_opt(rlimit)
            ),
            Command::Signalfd => f.write_str("signalfd"),
            Command::Sfdwait { ms } => write!(f, "sfdwait {ms}"),
            Command::Kqueue => f.write_str("kqueue"),
            Command::Kqwait { ms } => write!(f, "kqwait {ms}"),
            Command::Quit => f.write_str("quit"),
        }
    }
}

/// Each command's word and its number of arguments.
const COMMANDS: [(&str, usize); 19] = [
    ("kill", 3),
    ("killpg", 3),
    ("sigqueue", 4),
    ("sweep", 3),
    ("unblock", 0),
    ("handle", 0),
    ("report", 0),
    ("pending", 0),
    ("fds", 0),
    ("open", 1),
    ("fdstat", 1),
    ("rtprobe", 0),
    ("dropkill", 3),
    ("fillchild", 4),
    ("signalfd", 0),
    ("sfdwait", 1),
    ("kqueue", 0),
    ("kqwait", 1),
    ("quit", 0),
];

impl WireLine for Command {
    fn from_line(line: &str) -> Result<Command, ProtocolError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let parsed = match words.as_slice() {
            [head, args @ ..] => match COMMANDS.iter().find(|(w, _)| w == head) {
                None => Err("unknown command".to_owned()),
                Some((_, n)) if *n != args.len() => {
                    Err(format!("{head} takes {n} argument(s), not {}", args.len()))
                }
                Some(_) => command(head, args),
            },
            [] => Err("empty line".to_owned()),
        };
        parsed.map_err(|reason| bad("a signal-peer command", line, reason))
    }
}

/// A command from its word and its (counted) arguments.
fn command(head: &str, a: &[&str]) -> Result<Command, String> {
    Ok(match head {
        "kill" => Command::Kill {
            pid: num(a[0], "pid")?,
            sig: sig_word(a[1])?,
            count: num(a[2], "count")?,
        },
        "killpg" => Command::Killpg {
            pgid: num(a[0], "pgid")?,
            sig: sig_word(a[1])?,
            count: num(a[2], "count")?,
        },
        "sigqueue" => Command::Sigqueue {
            pid: num(a[0], "pid")?,
            sig: sig_word(a[1])?,
            first: num(a[2], "first value")?,
            count: num(a[3], "count")?,
        },
        "sweep" => Command::Sweep {
            pid: num(a[0], "pid")?,
            from: sig_word(a[1])?,
            to: sig_word(a[2])?,
        },
        "unblock" => Command::Unblock,
        "handle" => Command::Handle,
        "report" => Command::Report,
        "pending" => Command::Pending,
        "fds" => Command::Fds,
        "open" => Command::Open {
            path: a[0].to_owned(),
        },
        "fdstat" => Command::Fdstat {
            fd: num(a[0], "descriptor")?,
        },
        "rtprobe" => Command::Rtprobe,
        "dropkill" => Command::Dropkill {
            uid: num(a[0], "uid")?,
            pid: num(a[1], "pid")?,
            sig: sig_word(a[2])?,
        },
        "fillchild" => Command::Fillchild {
            uid: opt_num(a[0], "uid")?,
            rlimit: opt_num(a[1], "rlimit")?,
            sig: sig_word(a[2])?,
            max: num(a[3], "max")?,
        },
        "signalfd" => Command::Signalfd,
        "sfdwait" => Command::Sfdwait {
            ms: num(a[0], "ms")?,
        },
        "kqueue" => Command::Kqueue,
        "kqwait" => Command::Kqwait {
            ms: num(a[0], "ms")?,
        },
        _ => Command::Quit,
    })
}

/// A signal peer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `ok` (`handle`) or `ok <count>` (every signal of `kill`, `killpg`,
    /// `sigqueue` sent).
    Ok(Option<u64>),
    /// `err <errno> <text>`: a failed step (errno 0: not a system error); a
    /// sender's text ends `after <n>`, the signals it sent before.
    Err { errno: i32, text: String },
    /// `swept ok=<n> refused=<signo>:<errno name>,...|-`
    Swept {
        ok: u32,
        refused: Vec<(i32, String)>,
    },
    /// `got <n> rounds=<r> <signo>:<value>:<pid>:<uid>:<code> ...`: what the
    /// handler recorded (`unblock`, `report`); `rounds` of unblocking.
    Got { rounds: u32, got: Vec<Delivery> },
    /// `pending <signo,...>` (`-` for none)
    Pending(Vec<i32>),
    /// `fds <list>`
    Fds(FdList),
    /// `fd <n> <dev> <ino>`: the descriptor `open` left open
    Fd { fd: i32, dev: u64, ino: u64 },
    /// `stat <dev> <ino>`
    Stat { dev: u64, ino: u64 },
    /// `rt min=<n|-> max=<n|-> highest_valid=<n|->`
    Rt {
        min: Option<i32>,
        max: Option<i32>,
        highest_valid: Option<i32>,
    },
    /// `dropkill sig0=<OK|errno name> sig=<OK|errno name>` (`sig0=SETUID-<errno
    /// name> sig=-` when the child could not become the other user)
    Dropkill { sig0: String, sig: String },
    /// `filled <n> stop=<errno name|max> rlimit=<soft|-> child=<wait status>`
    Filled {
        n: u64,
        stop: String,
        rlimit: String,
        child: String,
    },
    /// `sfd revents=<poll bits>`
    SfdRevents(i16),
    /// `sfd ready=<bool> signo=<n> pid=<n> uid=<n>`
    SfdRead {
        ready: bool,
        signo: u32,
        pid: u32,
        uid: u32,
    },
    /// `kq revents=<poll bits>`
    KqRevents(i16),
    /// `kq ready=<bool> ident=<n> data=<n>`
    KqRead { ready: bool, ident: u64, data: i64 },
}

impl Answer {
    /// An `err` answer for a failed system call.
    pub fn io_error(e: &std::io::Error) -> Answer {
        Answer::Err {
            errno: e.raw_os_error().unwrap_or(0),
            text: crate::observe::describe_io_error(e),
        }
    }

    /// An `err 0 <text>` answer: not a system error.
    pub fn refusal(text: impl Into<String>) -> Answer {
        Answer::Err {
            errno: 0,
            text: text.into(),
        }
    }
}

/// The refusals of a `swept` answer as its word: `<signo>:<errno name>,...`,
/// `-` for none.
pub fn refused_word(refused: &[(i32, String)]) -> String {
    if refused.is_empty() {
        return "-".to_owned();
    }
    let list: Vec<String> = refused.iter().map(|(s, e)| format!("{s}:{e}")).collect();
    list.join(",")
}

/// A delivery as a word: `signo:value:pid:uid:code`.
fn delivery_word(d: &Delivery) -> String {
    format!("{}:{}:{}:{}:{}", d.signo, d.value, d.pid, d.uid, d.code)
}

fn parse_delivery(item: &str) -> Result<Delivery, String> {
    let f: Vec<&str> = item.split(':').collect();
    let [signo, value, pid, uid, code] = f.as_slice() else {
        return Err(format!("delivery {item:?} is not signo:value:pid:uid:code"));
    };
    Ok(Delivery {
        signo: num(signo, "signo")?,
        value: num(value, "value")?,
        pid: num(pid, "pid")?,
        uid: num(uid, "uid")?,
        code: num(code, "code")?,
    })
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Ok(None) => f.write_str("ok"),
            Answer::Ok(Some(n)) => write!(f, "ok {n}"),
            Answer::Err { errno, text } => write!(f, "err {errno} {text}"),
            Answer::Swept { ok, refused } => {
                write!(f, "swept ok={ok} refused={}", refused_word(refused))
            }
            Answer::Got { rounds, got } => {
                write!(f, "got {} rounds={rounds}", got.len())?;
                got.iter()
                    .try_for_each(|d| write!(f, " {}", delivery_word(d)))
            }
            Answer::Pending(p) if p.is_empty() => f.write_str("pending -"),
            Answer::Pending(p) => write!(f, "pending {}", join(p, ",")),
            Answer::Fds(list) => write!(f, "fds {list}"),
            Answer::Fd { fd, dev, ino } => write!(f, "fd {fd} {dev} {ino}"),
            Answer::Stat { dev, ino } => write!(f, "stat {dev} {ino}"),
            Answer::Rt {
                min,
                max,
                highest_valid,
            } => write!(
                f,
                "rt min={} max={} highest_valid={}",
                show_opt(min),
                show_opt(max),
                show_opt(highest_valid)
            ),
            Answer::Dropkill { sig0, sig } => write!(f, "dropkill sig0={sig0} sig={sig}"),
            Answer::Filled {
                n,
                stop,
                rlimit,
                child,
            } => write!(f, "filled {n} stop={stop} rlimit={rlimit} child={child}"),
            Answer::SfdRevents(bits) => write!(f, "sfd revents={bits}"),
            Answer::SfdRead {
                ready,
                signo,
                pid,
                uid,
            } => write!(f, "sfd ready={ready} signo={signo} pid={pid} uid={uid}"),
            Answer::KqRevents(bits) => write!(f, "kq revents={bits}"),
            Answer::KqRead { ready, ident, data } => {
                write!(f, "kq ready={ready} ident={ident} data={data}")
            }
        }
    }
}

impl WireLine for Answer {
    fn from_line(line: &str) -> Result<Answer, ProtocolError> {
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        let words: Vec<&str> = rest.split_whitespace().collect();
        answer(head, rest, &words).map_err(|reason| bad("a signal-peer answer", line, reason))
    }
}

/// An answer from its first word, the rest of its line and the rest's words.
fn answer(head: &str, rest: &str, w: &[&str]) -> Result<Answer, String> {
    let k = |i: usize, key: &str| -> Result<&str, String> {
        keyed(w.get(i).ok_or_else(|| format!("no {key}= field"))?, key)
    };
    let bool_field = |i: usize| -> Result<bool, String> { num(k(i, "ready")?, "ready") };
    Ok(match (head, w) {
        ("ok", []) => Answer::Ok(None),
        ("ok", [n]) => Answer::Ok(Some(num(n, "count")?)),
        ("err", [errno, ..]) => Answer::Err {
            errno: num(errno, "errno")?,
            text: rest.split_once(' ').map_or("", |(_, t)| t).to_owned(),
        },
        ("swept", [_, _]) => Answer::Swept {
            ok: num(k(0, "ok")?, "ok")?,
            refused: match k(1, "refused")? {
                "-" => Vec::new(),
                list => list
                    .split(',')
                    .map(|item| match item.split_once(':') {
                        Some((s, e)) => Ok((num(s, "signo")?, e.to_owned())),
                        None => Err(format!("refusal {item:?} is not signo:errno")),
                    })
                    .collect::<Result<_, String>>()?,
            },
        },
        ("got", [n, rounds, items @ ..]) => {
            let got: Vec<Delivery> = items
                .iter()
                .map(|i| parse_delivery(i))
                .collect::<Result<_, _>>()?;
            if num::<usize>(n, "count")? != got.len() {
                return Err(format!("counts {n} deliveries but lists {}", got.len()));
            }
            Answer::Got {
                rounds: num(keyed(rounds, "rounds")?, "rounds")?,
                got,
            }
        }
        ("pending", ["-"]) => Answer::Pending(Vec::new()),
        ("pending", [signos]) => Answer::Pending(list(signos, "signo")?),
        ("fds", []) => Answer::Fds(FdList(Some(Vec::new()))),
        ("fds", [fds]) => Answer::Fds(FdList::parse(fds)?),
        ("fd", [fd, dev, ino]) => Answer::Fd {
            fd: num(fd, "descriptor")?,
            dev: num(dev, "dev")?,
            ino: num(ino, "ino")?,
        },
        ("stat", [dev, ino]) => Answer::Stat {
            dev: num(dev, "dev")?,
            ino: num(ino, "ino")?,
        },
        ("rt", [_, _, _]) => Answer::Rt {
            min: opt_num(k(0, "min")?, "min")?,
            max: opt_num(k(1, "max")?, "max")?,
            highest_valid: opt_num(k(2, "highest_valid")?, "highest_valid")?,
        },
        ("dropkill", [_, _]) => Answer::Dropkill {
            sig0: k(0, "sig0")?.to_owned(),
            sig: k(1, "sig")?.to_owned(),
        },
        ("filled", [n, _, _, _]) => Answer::Filled {
            n: num(n, "count")?,
            stop: k(1, "stop")?.to_owned(),
            rlimit: k(2, "rlimit")?.to_owned(),
            child: k(3, "child")?.to_owned(),
        },
        ("sfd", [_]) => Answer::SfdRevents(num(k(0, "revents")?, "revents")?),
        ("sfd", [_, _, _, _]) => Answer::SfdRead {
            ready: bool_field(0)?,
            signo: num(k(1, "signo")?, "signo")?,
            pid: num(k(2, "pid")?, "pid")?,
            uid: num(k(3, "uid")?, "uid")?,
        },
        ("kq", [_]) => Answer::KqRevents(num(k(0, "revents")?, "revents")?),
        ("kq", [_, _, _]) => Answer::KqRead {
            ready: bool_field(0)?,
            ident: num(k(1, "ident")?, "ident")?,
            data: num(k(2, "data")?, "data")?,
        },
        (
            "ok" | "err" | "swept" | "got" | "pending" | "fds" | "fd" | "stat" | "rt" | "dropkill"
            | "filled" | "sfd" | "kq",
            _,
        ) => return Err(format!("wrong number of fields for {head}")),
        _ => return Err("unknown answer".to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip};

    #[test]
    fn signal_names_round_trip() {
        for s in ["USR1", "USR2", "RT+0", "RT+5", "RTMAX", "0", "10", "1024"] {
            assert_eq!(Sig::parse(s).map(|s| s.to_string()).as_deref(), Some(s));
        }
        for s in ["", "USR3", "RT+", "RT+x", "RT+-1", "-1", "1025", "SIGUSR1"] {
            assert_eq!(Sig::parse(s), None, "{s:?}");
        }
        assert_eq!(Sig::Num(0).number(), Some(0));
        #[cfg(unix)]
        assert_eq!(Sig::Usr1.number(), Some(libc::SIGUSR1));
        if let (Some(min), Some(max)) = (super::super::rt_min(), super::super::rt_max()) {
            assert_eq!(Sig::Rt(0).number(), Some(min));
            assert_eq!(Sig::RtMax.number(), Some(max));
            assert_eq!(
                Sig::Rt(u32::try_from(max - min + 1).unwrap()).number(),
                None
            );
        }
    }

    #[test]
    fn every_command_round_trips() {
        let all = [
            Command::Kill {
                pid: 42,
                sig: Sig::Usr1,
                count: 1,
            },
            Command::Killpg {
                pgid: 77,
                sig: Sig::Rt(0),
                count: 3,
            },
            Command::Sigqueue {
                pid: 42,
                sig: Sig::Rt(5),
                first: 1000,
                count: 8,
            },
            Command::Sweep {
                pid: 42,
                from: Sig::Rt(0),
                to: Sig::RtMax,
            },
            Command::Unblock,
            Command::Handle,
            Command::Report,
            Command::Pending,
            Command::Fds,
            Command::Open {
                path: "/tmp/ipcconf-x/file".into(),
            },
            Command::Fdstat { fd: 5 },
            Command::Rtprobe,
            Command::Dropkill {
                uid: 65534,
                pid: 42,
                sig: Sig::Usr2,
            },
            Command::Fillchild {
                uid: Some(4000),
                rlimit: None,
                sig: Sig::Rt(0),
                max: 300_000,
            },
            Command::Fillchild {
                uid: None,
                rlimit: Some(64),
                sig: Sig::Num(34),
                max: 10,
            },
            Command::Signalfd,
            Command::Sfdwait { ms: 2000 },
            Command::Kqueue,
            Command::Kqwait { ms: 2000 },
            Command::Quit,
        ];
        // Every command word of the table is exercised.
        for (word, _) in COMMANDS {
            assert!(
                all.iter()
                    .any(|c| c.to_string().split(' ').next() == Some(word)),
                "{word}"
            );
        }
        for c in all {
            round_trip(c);
        }
        assert_eq!(
            Command::from_line("kill 42 USR1 1").map(|c| c.to_string()),
            Ok("kill 42 USR1 1".to_owned())
        );
    }

    #[test]
    fn every_answer_round_trips() {
        let d = |signo, value| Delivery {
            signo,
            value,
            pid: 4242,
            uid: 1000,
            code: -1,
        };
        for a in [
            Answer::Ok(None),
            Answer::Ok(Some(8)),
            Answer::Err {
                errno: 11,
                text: "EAGAIN (Resource temporarily unavailable) after 3".into(),
            },
            Answer::refusal(""),
            Answer::Swept {
                ok: 32,
                refused: Vec::new(),
            },
            Answer::Swept {
                ok: 30,
                refused: vec![(33, "EINVAL".into()), (64, "EAGAIN".into())],
            },
            Answer::Got {
                rounds: 1,
                got: Vec::new(),
            },
            Answer::Got {
                rounds: 2,
                got: vec![d(10, 0), d(34, 1000)],
            },
            Answer::Pending(Vec::new()),
            Answer::Pending(vec![10, 12]),
            Answer::Fds(FdList(Some(vec![0, 1, 2, 5]))),
            Answer::Fds(FdList(Some(Vec::new()))),
            Answer::Fds(FdList(None)),
            Answer::Fd {
                fd: 5,
                dev: 2049,
                ino: 1234567,
            },
            Answer::Stat {
                dev: 2049,
                ino: 1234567,
            },
            Answer::Rt {
                min: Some(34),
                max: Some(64),
                highest_valid: Some(64),
            },
            Answer::Rt {
                min: None,
                max: None,
                highest_valid: Some(31),
            },
            Answer::Dropkill {
                sig0: "EPERM".into(),
                sig: "EPERM".into(),
            },
            Answer::Dropkill {
                sig0: "SETUID-EPERM".into(),
                sig: "-".into(),
            },
            Answer::Filled {
                n: 64,
                stop: "EAGAIN".into(),
                rlimit: "64".into(),
                child: "Signaled(Pid(77),SIGKILL,false)".into(),
            },
            Answer::SfdRevents(0),
            Answer::SfdRead {
                ready: true,
                signo: 10,
                pid: 4242,
                uid: 1000,
            },
            Answer::KqRevents(1),
            Answer::KqRead {
                ready: false,
                ident: 30,
                data: 1,
            },
        ] {
            round_trip(a);
        }
        let ready = Ready {
            pid: 4242,
            uid: 1000,
            pgid: 4240,
            threads: Some(1),
            fds: FdList(Some(vec![0, 1, 2])),
        };
        assert_eq!(
            ready.to_string(),
            "ready 4242 uid=1000 pgid=4240 threads=1 fds=0,1,2"
        );
        round_trip(ready);
        round_trip(Ready {
            pid: 1,
            uid: 0,
            pgid: 1,
            threads: None,
            fds: FdList(None),
        });
    }

    #[test]
    fn bad_lines_are_named() {
        refused::<Command>(&[
            "",
            "kil 1 USR1 1",
            "kill 1 USR1",
            "kill x USR1 1",
            "kill 1 USR9 1",
            "sigqueue 1 RT+0 x 1",
            "fillchild - - RT+0",
            "fillchild x - RT+0 1",
            "unblock now",
            "quit 0",
        ]);
        refused::<Answer>(&[
            "",
            "okay",
            "ok 1 2",
            "got 2 rounds=1 10:0:1:2:3",
            "got 1 rounds=1 10:0:1:2",
            "pending x",
            "swept ok=1",
            "rt min=1 max=2",
            "sfd ready=maybe signo=1 pid=1 uid=1",
            "kq ready=true ident=1",
            "err",
        ]);
        refused::<Ready>(&["ready 1 uid=0", "err cannot start"]);
    }
}
