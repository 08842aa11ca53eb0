//! The log macros in Rust source and their messages, read from its tokens (proc-macro2's lexer,
//! syn's reading of literals): comments are no tokens and a string literal is one, so a `warn!(`
//! inside a string or a comment is not a macro, and a macro may span lines.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

pub const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

/// One log macro call: its level, line, and message (the last string-literal argument).
#[derive(Debug, PartialEq)]
pub struct LogCall {
    pub level: String,
    pub line: usize,
    pub message: Option<String>,
}

/// The token trees of a source file.
pub fn tokens(src: &str) -> Vec<TokenTree> {
    let stream: TokenStream = src.parse().expect("a Rust source file");
    stream.into_iter().collect()
}

/// The text of a string literal (`"..."`, `r#"..."#`), escapes resolved.
fn string(tree: &TokenTree) -> Option<String> {
    match tree {
        TokenTree::Literal(l) => match syn::Lit::new(l.clone()) {
            syn::Lit::Str(s) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}

/// Calls `visit` with every sequence of sibling tokens, at every depth; doc comments (which the
/// lexer turns into `#[doc = "..."]`) are left out.
fn each_level(trees: &[TokenTree], visit: &mut impl FnMut(&[TokenTree])) {
    let is_doc = |g: &proc_macro2::Group| {
        g.delimiter() == Delimiter::Bracket
            && matches!(g.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
    };
    let kept: Vec<TokenTree> = trees
        .iter()
        .filter(|t| !matches!(t, TokenTree::Group(g) if is_doc(g)))
        .cloned()
        .collect();
    visit(&kept);
    for tree in &kept {
        if let TokenTree::Group(g) = tree {
            each_level(&g.stream().into_iter().collect::<Vec<_>>(), visit);
        }
    }
}

/// Every `level!(...)` call (also `tracing::level!`), with its message: the last argument that
/// is a string literal on its own (a `field = "value"` argument is not one).
pub fn log_messages(trees: &[TokenTree]) -> Vec<LogCall> {
    let mut calls = Vec::new();
    each_level(trees, &mut |level| {
        for w in level.windows(3) {
            let [
                TokenTree::Ident(name),
                TokenTree::Punct(bang),
                TokenTree::Group(args),
            ] = w
            else {
                continue;
            };
            let name = name.to_string();
            if bang.as_char() != '!' || !LEVELS.contains(&name.as_str()) {
                continue;
            }
            let args: Vec<TokenTree> = args.stream().into_iter().collect();
            let message = args
                .split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ','))
                .rev()
                .find_map(|arg| match arg {
                    [one] => string(one),
                    _ => None,
                });
            let line = w[0].span().start().line;
            calls.push(LogCall {
                level: name,
                line,
                message,
            });
        }
    });
    calls
}

/// Every string literal in the code, doc comments left out.
pub fn string_literals(trees: &[TokenTree]) -> Vec<String> {
    let mut out = Vec::new();
    each_level(trees, &mut |level| {
        out.extend(level.iter().filter_map(string))
    });
    out
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
        /// warn!("in a doc comment"), "a doc-only literal"
        fn g() {}
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
    let literals = string_literals(&tokens(src));
    assert!(literals.contains(&"not warn!(\"a call\")".to_owned()));
    assert!(!literals.iter().any(|l| l.contains("doc-only")));
}
