//! Helpers shared by the tooling tests.

/// Cell boundaries in a Markdown table line: the `|` not escaped by a backslash.
pub fn unescaped_bars(line: &str) -> usize {
    let mut n = 0;
    let mut backslashes = 0;
    for c in line.chars() {
        if c == '|' && backslashes % 2 == 0 {
            n += 1;
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
    }
    n
}
