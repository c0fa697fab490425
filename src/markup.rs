//! Making free text inert in the two markups the project writes: Markdown
//! (PORTABILITY.md, drafted-entry summaries) and HTML (index.html). Evidence,
//! OS names, kernel strings and labels come from result sets, so any text must
//! stay text: these are the one escape of each.

/// Makes free text (evidence, OS names, kernel strings, labels) inert in
/// GitHub-flavoured Markdown: every character that could end a table cell, open
/// emphasis, code, a link, math or raw HTML is backslash-escaped (CommonMark
/// escapes any ASCII punctuation this way, and GFM reads `\|` inside a table as a
/// literal bar), and line breaks and other control characters become spaces, so
/// a cell stays one cell on one line whatever the input. An underscore between
/// two letters or digits cannot open or close emphasis and stays as it is, so
/// ids such as `linux-x86_64-gnu` read (and search) the same as in the sources.
pub fn markdown(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let alnum = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        match c {
            '_' if alnum(i.checked_sub(1)) && alnum(Some(i + 1)) => out.push('_'),
            '\\' | '|' | '`' | '*' | '_' | '~' | '[' | ']' | '<' | '>' | '&' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Makes free text inert in HTML: `&`, `<`, `>` and `"` become entities (text
/// and attribute values alike).
pub fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
