//! Markup that cannot carry unescaped input. An [`Html`] grows only by markup written in the code
//! (`&'static str`, which no request can produce) and by text, which is escaped as it is
//! written; there is no way to add a runtime string as markup. The escaping is the one that is
//! safe both between tags and inside a double-quoted attribute value (the only attribute quoting
//! the templates use), so a text cannot close a tag, open one, or leave its attribute.

use std::fmt::Write;

/// A page or a fragment of one: only code-written markup and escaped text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    pub fn new() -> Self {
        Self(String::with_capacity(4096))
    }

    /// Markup written in the code.
    pub fn markup(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Text from anywhere (a client's name, a username, a configured title): escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.0, text);
        self
    }

    /// A number (a length, a count): digits need no escaping.
    pub fn number(&mut self, n: u64) -> &mut Self {
        let _ = write!(self.0, "{n}");
        self
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// `text` for an HTML text node or a double-quoted attribute value: `&`, `<`, `>`, `"` and `'`
/// as character references; NUL and the other C0 and C1 controls but tab, newline and carriage
/// return (which HTML parsers turn into errors or replacement characters) as U+FFFD.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_open_a_tag_or_leave_an_attribute() {
        let mut h = Html::new();
        h.markup("<p title=\"")
            .text("\"><script>alert('x')</script>&amp;")
            .markup("\">")
            .text("</p><img src=x onerror=alert(1)>")
            .markup("</p>");
        assert_eq!(
            h.as_str(),
            "<p title=\"&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;\">\
             &lt;/p&gt;&lt;img src=x onerror=alert(1)&gt;</p>"
        );
    }

    #[test]
    fn controls_become_replacement_characters_and_other_text_stays() {
        let mut h = Html::new();
        h.text("a\u{0}b\u{7}c\u{85}d\te\nf é 名 \u{202e}");
        assert_eq!(
            h.as_str(),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\te\nf é 名 \u{202e}"
        );
        let mut n = Html::new();
        n.number(10_240);
        assert_eq!(n.into_string(), "10240");
    }
}
