//! Just enough of a Rust lexer to find log macros and their messages: comments are skipped,
//! string literals (plain, raw, byte) are whole tokens, so a `warn!(` inside a string or a
//! comment is not a macro, and a macro may span lines.

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

/// A token and the line it starts on.
pub type Spanned = (Token, usize);

pub const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

/// One log macro call: its level, line, and message (the last string-literal argument).
#[derive(Debug, PartialEq)]
pub struct LogCall {
    pub level: String,
    pub line: usize,
    pub message: Option<String>,
}

pub fn tokens(src: &str) -> Vec<Spanned> {
    let c: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    while i < c.len() {
        let start_line = line;
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            i = skip_block_comment(&c, i, &mut line);
        } else if ch == '"' {
            let (s, end) = plain_string(&c, i + 1, &mut line);
            out.push((Token::Str(s), start_line));
            i = end;
        } else if ch == '\'' {
            i = skip_char_or_lifetime(&c, i);
        } else if ch.is_alphanumeric() || ch == '_' {
            let mut j = i;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            let word: String = c[i..j].iter().collect();
            i = j;
            let next = c.get(i).copied();
            if matches!(word.as_str(), "r" | "br" | "cr") && matches!(next, Some('"' | '#')) {
                let (s, end) = raw_string(&c, i, &mut line);
                out.push((Token::Str(s), start_line));
                i = end;
            } else if matches!(word.as_str(), "b" | "c") && next == Some('"') {
                let (s, end) = plain_string(&c, i + 1, &mut line);
                out.push((Token::Str(s), start_line));
                i = end;
            } else {
                out.push((Token::Ident(word), start_line));
            }
        } else {
            out.push((Token::Punct(ch), start_line));
            i += 1;
        }
    }
    out
}

fn skip_block_comment(c: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            *line += usize::from(c[i] == '\n');
            i += 1;
        }
    }
    i
}

/// From just after the opening quote; returns the unescaped text and the index after the end.
fn plain_string(c: &[char], mut i: usize, line: &mut usize) -> (String, usize) {
    let mut s = String::new();
    while i < c.len() && c[i] != '"' {
        if c[i] == '\\' {
            i += 1;
            match c.get(i) {
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('\n') => {
                    *line += 1;
                    while c.get(i + 1).is_some_and(|x| x.is_whitespace()) {
                        *line += usize::from(c[i + 1] == '\n');
                        i += 1;
                    }
                }
                Some(other) => s.push(*other),
                None => break,
            }
        } else {
            *line += usize::from(c[i] == '\n');
            s.push(c[i]);
        }
        i += 1;
    }
    (s, i + 1)
}

/// From the `#`s or quote after `r`; returns the text and the index after the end.
fn raw_string(c: &[char], mut i: usize, line: &mut usize) -> (String, usize) {
    let mut hashes = 0;
    while c.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    let start = i;
    loop {
        if i >= c.len() {
            return (c[start..].iter().collect(), i);
        }
        if c[i] == '"' && (1..=hashes).all(|k| c.get(i + k) == Some(&'#')) {
            return (c[start..i].iter().collect(), i + 1 + hashes);
        }
        *line += usize::from(c[i] == '\n');
        i += 1;
    }
}

/// `'x'`, `'\n'`, `'\u{1F600}'` are char literals; `'a` is a lifetime.
fn skip_char_or_lifetime(c: &[char], i: usize) -> usize {
    if c.get(i + 1) == Some(&'\\') {
        let mut j = i + 3; // past the backslash and the escaped character
        while j < c.len() && c[j] != '\'' {
            j += 1;
        }
        return j + 1;
    }
    if c.get(i + 2) == Some(&'\'') {
        return i + 3;
    }
    i + 1
}

/// Every `level!(...)` call (also `tracing::level!`), with its message: the last argument that
/// is a string literal on its own (a `field = "value"` argument is not one).
pub fn log_messages(toks: &[Spanned]) -> Vec<LogCall> {
    let mut calls = Vec::new();
    for (k, (tok, line)) in toks.iter().enumerate() {
        let Token::Ident(name) = tok else { continue };
        let opens = matches!(toks.get(k + 2), Some((Token::Punct('(' | '[' | '{'), _)));
        if !LEVELS.contains(&name.as_str())
            || toks.get(k + 1).map(|t| &t.0) != Some(&Token::Punct('!'))
            || !opens
        {
            continue;
        }
        let args = arguments(&toks[k + 3..]);
        let message = args.iter().rev().find_map(|a| match a.as_slice() {
            [Token::Str(s)] => Some(s.clone()),
            _ => None,
        });
        calls.push(LogCall {
            level: name.clone(),
            line: *line,
            message,
        });
    }
    calls
}

/// The comma-separated arguments up to the closing delimiter of the call.
fn arguments(toks: &[Spanned]) -> Vec<Vec<Token>> {
    let (mut args, mut current, mut depth) = (Vec::new(), Vec::new(), 0usize);
    for (tok, _) in toks {
        match tok {
            Token::Punct('(' | '[' | '{') => depth += 1,
            Token::Punct(')' | ']' | '}') if depth == 0 => break,
            Token::Punct(')' | ']' | '}') => depth -= 1,
            Token::Punct(',') if depth == 0 => {
                args.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(tok.clone());
    }
    if !current.is_empty() {
        args.push(current);
    }
    args
}

pub fn string_literals(toks: &[Spanned]) -> Vec<String> {
    toks.iter()
        .filter_map(|(t, _)| match t {
            Token::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_extractor_finds_every_kind_of_log_call_and_nothing_else() {
    let src = r##"
        // warn!("in a comment");
        /* error!("in a /* nested */ block comment"); */
        fn f<'a>(x: &'a str) {
            let q = '"'; let e = '\''; let s = "not warn!(\"a call\")";
            tracing::info!(
                init_ms = 1.0,
                "spans lines"
            );
            warn!(error = %e, source = ?f(format!("{}", 1)), "after nested calls");
            debug!(decision = "a field value", "the message, not the field");
            error!(r#"a raw "message""#);
            trace!("with {} argument", x);
            info!(field = "only a field");
        }
    "##;
    let calls = log_messages(&tokens(src));
    let got: Vec<(&str, usize, Option<&str>)> = calls
        .iter()
        .map(|c| (c.level.as_str(), c.line, c.message.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("info", 6, Some("spans lines")),
            ("warn", 10, Some("after nested calls")),
            ("debug", 11, Some("the message, not the field")),
            ("error", 12, Some("a raw \"message\"")),
            ("trace", 13, Some("with {} argument")),
            ("info", 14, None),
        ]
    );
    assert!(string_literals(&tokens(src)).contains(&"not warn!(\"a call\")".to_owned()));
}
