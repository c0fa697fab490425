//! One file's change as a unified diff in git's format (`diff --git`, three
//! lines of context, `new file mode` and `/dev/null` for a file that did not
//! exist), so that the patches of several files, concatenated, are one patch
//! that `git apply` takes at the root of the repository.

use std::fmt::Write as _;

/// Lines of context around a change.
const CONTEXT: usize = 3;

/// Beyond this many cells the middle of two texts is diffed as a whole (every
/// old line removed, every new one added): still a correct patch, only not the
/// smallest. Platform files stay far below it.
const MAX_CELLS: usize = 4_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// Old line i and new line j are the same.
    Same(usize, usize),
    /// Old line i is removed.
    Del(usize),
    /// New line j is added.
    Add(usize),
}

/// The diff turning `old` into `new` for the file at `path` (relative to the
/// repository's root, `/` separated); `old` is `None` for a file that does not
/// exist yet. Empty when nothing changes.
pub fn file_diff(path: &str, old: Option<&str>, new: &str) -> String {
    if old == Some(new) {
        return String::new();
    }
    let a: Vec<&str> = old.unwrap_or("").split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = edit_script(&a, &b);
    let mut out = format!("diff --git a/{path} b/{path}\n");
    match old {
        None => {
            let _ = write!(out, "new file mode 100644\n--- /dev/null\n+++ b/{path}\n");
        }
        Some(_) => {
            let _ = write!(out, "--- a/{path}\n+++ b/{path}\n");
        }
    }
    // Old and new lines before each operation.
    let mut before = Vec::with_capacity(ops.len() + 1);
    let (mut na, mut nb) = (0, 0);
    for op in &ops {
        before.push((na, nb));
        match op {
            Op::Same(..) => (na, nb) = (na + 1, nb + 1),
            Op::Del(_) => na += 1,
            Op::Add(_) => nb += 1,
        }
    }
    for hunk in hunks(&ops) {
        let (a0, b0) = before[hunk.start];
        let ops = &ops[hunk];
        let old_len = ops.iter().filter(|op| !matches!(op, Op::Add(_))).count();
        let new_len = ops.iter().filter(|op| !matches!(op, Op::Del(_))).count();
        // A side without lines is numbered by the line before it (0 at the top).
        let start = |first: usize, len: usize| if len == 0 { first } else { first + 1 };
        let _ = writeln!(
            out,
            "@@ -{},{old_len} +{},{new_len} @@",
            start(a0, old_len),
            start(b0, new_len)
        );
        for op in ops {
            let (sign, line) = match *op {
                Op::Same(i, _) => (' ', a[i]),
                Op::Del(i) => ('-', a[i]),
                Op::Add(j) => ('+', b[j]),
            };
            out.push(sign);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// The operations turning `a` into `b`: common prefix and suffix, and a
/// longest common subsequence of what lies between.
fn edit_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Same(i, i)).collect();
    let (n, m) = (a_mid.len(), b_mid.len());
    if n.saturating_mul(m) > MAX_CELLS {
        ops.extend((0..n).map(|i| Op::Del(prefix + i)));
        ops.extend((0..m).map(|j| Op::Add(prefix + j)));
    } else {
        // lcs[i][j]: the longest common subsequence of a_mid[i..] and b_mid[j..].
        let mut lcs = vec![0u32; (n + 1) * (m + 1)];
        let at = |i: usize, j: usize| i * (m + 1) + j;
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[at(i, j)] = if a_mid[i] == b_mid[j] {
                    lcs[at(i + 1, j + 1)] + 1
                } else {
                    lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && a_mid[i] == b_mid[j] {
                ops.push(Op::Same(prefix + i, prefix + j));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
                // Removed lines before added ones, as git shows them.
                ops.push(Op::Del(prefix + i));
                i += 1;
            } else {
                ops.push(Op::Add(prefix + j));
                j += 1;
            }
        }
    }
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    ops.extend((0..suffix).map(|k| Op::Same(a_end + k, b_end + k)));
    ops
}

/// The ranges of `ops` each hunk covers: every change with up to CONTEXT
/// unchanged lines around it, changes closer than twice that in one hunk.
fn hunks(ops: &[Op]) -> Vec<std::ops::Range<usize>> {
    let changes: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Same(..)))
        .map(|(k, _)| k)
        .collect();
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for k in changes {
        let start = k.saturating_sub(CONTEXT);
        let end = (k + 1 + CONTEXT).min(ops.len());
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = end,
            _ => out.push(start..end),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies a diff made by `file_diff` to `old`, checking every context and
    /// removed line against it: what `git apply` does, for these tests.
    fn apply(old: &str, diff: &str) -> String {
        let a: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next = 0; // the next old line not yet copied
        let mut lines = diff.lines().peekable();
        while let Some(l) = lines.next() {
            let Some(header) = l.strip_prefix("@@ -") else {
                continue;
            };
            let old_start: usize = header.split([',', ' ']).next().unwrap().parse().unwrap();
            let old_len: usize = header.split([',', ' ']).nth(1).unwrap().parse().unwrap();
            let first = if old_len == 0 {
                old_start
            } else {
                old_start - 1
            };
            for line in &a[next..first] {
                out.push_str(line);
            }
            next = first;
            while let Some(body) = lines.peek().filter(|l| !l.starts_with("@@")) {
                let body = *body;
                lines.next();
                let no_newline = lines.peek() == Some(&"\\ No newline at end of file");
                if no_newline {
                    lines.next();
                }
                let (sign, text) = body.split_at(1);
                let text = if no_newline {
                    text.to_owned()
                } else {
                    format!("{text}\n")
                };
                match sign {
                    " " | "-" => {
                        assert_eq!(a[next], text, "context or removed line {next}");
                        if sign == " " {
                            out.push_str(&text);
                        }
                        next += 1;
                    }
                    "+" => out.push_str(&text),
                    _ => panic!("unexpected diff line {body:?}"),
                }
            }
        }
        for line in &a[next..] {
            out.push_str(line);
        }
        out
    }

    #[test]
    fn diffs_apply_back_to_the_new_text() {
        let base: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let cases = [
            (base.clone(), base.replace("line 5\n", "line five\n")),
            (
                base.clone(),
                base.replace("line 5\n", "").replace("line 25\n", "x\ny\n"),
            ),
            (base.clone(), format!("top\n{base}bottom\n")),
            (
                base.clone(),
                base.replace("line 8\n", "line 8\nnew\n")
                    .replace("line 12\n", ""),
            ),
            (base.clone(), String::new()),
            (String::new(), base.clone()),
            ("a\nb".to_owned(), "a\nb\nc\n".to_owned()),
            ("a\nb\n".to_owned(), "a\nc".to_owned()),
        ];
        for (old, new) in cases {
            let d = file_diff("platforms/x.toml", Some(&old), &new);
            assert!(d.starts_with("diff --git a/platforms/x.toml b/platforms/x.toml\n--- a/"));
            assert_eq!(apply(&old, &d), new, "diff:\n{d}");
        }
        assert_eq!(file_diff("p", Some(&base), &base), "");
    }

    #[test]
    fn a_new_file_is_created_from_dev_null() {
        let d = file_diff("platforms/linux-musl.toml", None, "a\nb\n");
        assert_eq!(
            d,
            "diff --git a/platforms/linux-musl.toml b/platforms/linux-musl.toml\n\
             new file mode 100644\n--- /dev/null\n+++ b/platforms/linux-musl.toml\n\
             @@ -0,0 +1,2 @@\n+a\n+b\n"
        );
    }

    #[test]
    fn distant_changes_get_their_own_hunks_with_three_lines_of_context() {
        let old: String = (1..=20).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l2\n", "two\n").replace("l18\n", "eighteen\n");
        let d = file_diff("f", Some(&old), &new);
        let headers: Vec<&str> = d.lines().filter(|l| l.starts_with("@@")).collect();
        assert_eq!(headers, ["@@ -1,5 +1,5 @@", "@@ -15,6 +15,6 @@"], "{d}");
    }
}
