//! The `signal-peer` line protocol, typed: the [`Ready`] line a peer prints
//! first, the [`Command`]s the controller sends and the peer's [`Answer`]s,
//! each written with `Display` and read with [`WireLine::from_line`] by both
//! sides (the list of commands is in the module's header, `super`). A line that
//! is not a message of the protocol is a [`ProtocolError`] naming it.

use super::Delivery;
use crate::peer::wire::{
    Arity, Commas, Dash, Field, Maybe, Out, Rest, Spaced, Token, Trailing, Unknown, Words, keyed,
    messages, num,
};

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

impl Token for Sig {
    fn write_token(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
    fn read_token(word: &str, _: &str) -> Result<Sig, String> {
        Sig::parse(word).ok_or_else(|| format!("{word:?} is not a signal name"))
    }
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

impl Token for FdList {
    fn write_token(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
    fn read_token(word: &str, _: &str) -> Result<FdList, String> {
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

messages! {
    /// The first line of a signal peer: `ready <pid> uid=<uid> pgid=<pgid>
    /// threads=<n|?> fds=<list|?>` (the descriptors it had before installing
    /// anything).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Ready: "a signal-peer ready line" = "ready" {
        pub pid: u32,
        pub uid: u32 = "uid",
        pub pgid: i32 = "pgid",
        pub threads: Option<usize> as Unknown = "threads",
        pub fds: FdList = "fds",
    }
}

messages! {
    /// A command to a signal peer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Command: "a signal-peer command" {
        /// `kill <pid> <sig> <count>`
        "kill" Kill { pid: i32, sig: Sig, count: u64 },
        /// `killpg <pgid> <sig> <count>`: kill(-pgid)
        "killpg" Killpg { pgid: i32, sig: Sig, count: u64 },
        /// `sigqueue <pid> <sig> <first-value> <count>`: values first, first+1, ...
        "sigqueue" Sigqueue { pid: i32, sig: Sig, first: usize, count: u64 },
        /// `sweep <pid> <from> <to>`: one sigqueue() of every signal from..=to
        "sweep" Sweep { pid: i32, from: Sig, to: Sig },
        /// `unblock`
        "unblock" Unblock,
        /// `handle`
        "handle" Handle,
        /// `report`
        "report" Report,
        /// `pending`
        "pending" Pending,
        /// `fds`
        "fds" Fds,
        /// `open <path>` (one word)
        "open" Open { path: String },
        /// `fdstat <n>`
        "fdstat" Fdstat { fd: i32 },
        /// `rtprobe`
        "rtprobe" Rtprobe,
        /// `dropkill <uid> <pid> <sig>`
        "dropkill" Dropkill { uid: u32, pid: i32, sig: Sig },
        /// `fillchild <uid|-> <rlimit|-> <sig> <max>`
        "fillchild" Fillchild {
            uid: Option<u32> as Dash,
            rlimit: Option<u64> as Dash,
            sig: Sig,
            max: u64,
        },
        /// `signalfd`
        "signalfd" Signalfd,
        /// `sfdwait <ms>`
        "sfdwait" Sfdwait { ms: u64 },
        /// `kqueue`
        "kqueue" Kqueue,
        /// `kqwait <ms>`
        "kqwait" Kqwait { ms: u64 },
        /// `quit` (no answer: the peer exits 0)
        "quit" Quit,
    }
}

messages! {
    /// A signal peer's answer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Answer: "a signal-peer answer" {
        /// `ok` (`handle`) or `ok <count>` (every signal of `kill`, `killpg`,
        /// `sigqueue` sent).
        "ok" Ok(count: Option<u64> as Maybe),
        /// `err <errno> <text>`: a failed step (errno 0: not a system error); a
        /// sender's text ends `after <n>`, the signals it sent before.
        "err" Err { errno: i32, text: String as Rest },
        /// `swept ok=<n> refused=<signo>:<errno name>,...|-`
        "swept" Swept {
            ok: u32 = "ok",
            refused: Vec<(i32, String)> as Refusals = "refused",
        },
        /// `got <n> rounds=<r> <signo>:<value>:<pid>:<uid>:<code> ...`: what the
        /// handler recorded (`unblock`, `report`); `rounds` of unblocking.
        "got" Got { rounds: u32, got: Vec<Delivery> } as Deliveries,
        /// `pending <signo,...>` (`-` for none)
        "pending" Pending(signos: Vec<i32> as Commas),
        /// `fds <list>`
        "fds" Fds(list: FdList as Trailing),
        /// `fd <n> <dev> <ino>`: the descriptor `open` left open
        "fd" Fd { fd: i32, dev: u64, ino: u64 },
        /// `stat <dev> <ino>`
        "stat" Stat { dev: u64, ino: u64 },
        /// `rt min=<n|-> max=<n|-> highest_valid=<n|->`
        "rt" Rt {
            min: Option<i32> as Dash = "min",
            max: Option<i32> as Dash = "max",
            highest_valid: Option<i32> as Dash = "highest_valid",
        },
        /// `dropkill sig0=<OK|errno name> sig=<OK|errno name>` (`sig0=SETUID-<errno
        /// name> sig=-` when the child could not become the other user)
        "dropkill" Dropkill { sig0: String = "sig0", sig: String = "sig" },
        /// `filled <n> stop=<errno name|max> rlimit=<soft|-> child=<wait status>`
        "filled" Filled {
            n: u64,
            stop: String = "stop",
            rlimit: String = "rlimit",
            child: String = "child",
        },
        /// `sfd revents=<poll bits>`
        "sfd" SfdRevents(bits: i16 = "revents"),
        /// `sfd ready=<bool> signo=<n> pid=<n> uid=<n>`
        "sfd" SfdRead {
            ready: bool = "ready",
            signo: u32 = "signo",
            pid: u32 = "pid",
            uid: u32 = "uid",
        },
        /// `kq revents=<poll bits>`
        "kq" KqRevents(bits: i16 = "revents"),
        /// `kq ready=<bool> ident=<n> data=<n>`
        "kq" KqRead { ready: bool = "ready", ident: u64 = "ident", data: i64 = "data" },
    }
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

/// The codec of a `swept` answer's refusals ([`refused_word`]).
pub struct Refusals;

impl Field<Vec<(i32, String)>> for Refusals {
    fn write(v: &Vec<(i32, String)>, out: &mut Out<'_, '_>) -> std::fmt::Result {
        out.word()?.write_str(&refused_word(v))
    }
    fn read(words: &mut Words<'_>, _: &str) -> Result<Vec<(i32, String)>, String> {
        match words.next().unwrap_or("") {
            "-" => Ok(Vec::new()),
            list => list
                .split(',')
                .map(|item| match item.split_once(':') {
                    Some((s, e)) => Ok((num(s, "signo")?, e.to_owned())),
                    None => Err(format!("refusal {item:?} is not signo:errno")),
                })
                .collect(),
        }
    }
}

/// A delivery as a word: `signo:value:pid:uid:code`.
impl Token for Delivery {
    fn write_token(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self;
        write!(f, "{}:{}:{}:{}:{}", d.signo, d.value, d.pid, d.uid, d.code)
    }
    fn read_token(item: &str, _: &str) -> Result<Delivery, String> {
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
}

/// The codec of a `got` answer: the count of deliveries, `rounds=<r>`, then
/// the deliveries.
pub struct Deliveries;

impl Field<(u32, Vec<Delivery>)> for Deliveries {
    const WORDS: Arity = Arity { min: 2, max: None };
    fn write(v: &(u32, Vec<Delivery>), out: &mut Out<'_, '_>) -> std::fmt::Result {
        let (rounds, got) = v;
        write!(out.word()?, "{}", got.len())?;
        write!(out.word()?, "rounds={rounds}")?;
        Spaced::write(got, out)
    }
    fn read(words: &mut Words<'_>, _: &str) -> Result<(u32, Vec<Delivery>), String> {
        let n = words.next().unwrap_or("");
        let rounds = num(keyed(words.next().unwrap_or(""), "rounds")?, "rounds")?;
        let got: Vec<Delivery> = Spaced::read(words, "delivery")?;
        if num::<usize>(n, "count")? != got.len() {
            return Err(format!("counts {n} deliveries but lists {}", got.len()));
        }
        Ok((rounds, got))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::WireLine;
    use crate::peer::wire::testing::{refused, round_trip, round_trip_all};

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
        round_trip_all(all);
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
        let all = [
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
        ];
        round_trip_all(all);
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
