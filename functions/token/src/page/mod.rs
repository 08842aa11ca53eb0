//! The HTML Tollgate serves: the sign-in page of `GET /authorize` and the error page shown when
//! an authorization request cannot be sent back to its client. The one place markup is
//! written, through [`html::Html`], which escapes every text it is given; the HTTP layer
//! (`crate::authorize`) adds the headers (`Content-Security-Policy` with [`STYLE_HASH`], no
//! caching, no framing). Std only: the fuzz target `sign_in_page` compiles this module as it is.

pub mod html;

use html::Html;

/// The page's one stylesheet, inline and allowed by its hash in the `Content-Security-Policy`
/// (no `'unsafe-inline'`, no second request). The page has no script at all.
pub const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}\
main{max-width:22rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin:.5rem 0 1rem}img{max-height:48px;max-width:100%}\
label{display:block;margin-top:1rem;font-weight:600}\
input{box-sizing:border-box;width:100%;padding:.6rem;margin-top:.3rem;font:inherit;border:1px solid #8a8f98;border-radius:4px}\
button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;background:#2457c5;border:0;border-radius:4px;cursor:pointer}\
.notice{padding:.6rem .8rem;background:#fdecea;border-left:4px solid #c62828;margin:1rem 0}\
.client{overflow-wrap:anywhere}";

/// `'sha256-…'` of [`STYLE`], the `style-src` source that allows it (a unit test recomputes it).
pub const STYLE_HASH: &str = "'sha256-yyotqJnhK6Wr+I2vWWMr1I6pv5ktzlPXPbnhkMDI65A='";

/// What the operator set for every page: a title, and a logo (an `https` URL, checked when the
/// function starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub title: String,
    pub logo_url: Option<String>,
}

/// The one message a sign-in page may show above its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A wrong username or password: it does not say which.
    WrongCredentials,
    /// Too many failed attempts for this username.
    Locked,
    /// The password check or a store did not answer.
    Unavailable,
    /// The application is over its rate limit.
    Busy,
}

impl Notice {
    pub fn text(self) -> &'static str {
        match self {
            Self::WrongCredentials => "The username or password is incorrect.",
            Self::Locked => "Too many failed attempts. Wait a few minutes, then try again.",
            Self::Unavailable => "Sign-in is unavailable right now. Try again in a moment.",
            Self::Busy => "Too many sign-in requests. Wait a minute, then try again.",
        }
    }
}

/// The sign-in form of one authorization request.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub branding: &'a Branding,
    /// The client's name (or id) as its record has it.
    pub client_name: &'a str,
    /// Where the form posts: the authorize endpoint.
    pub action: &'a str,
    /// The sealed authorization request the post carries back.
    pub request: &'a str,
    /// The username typed before, when the page is shown again.
    pub username: &'a str,
    pub notice: Option<Notice>,
}

/// Why an authorization request ends on an error page instead of going back to its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// No `client_id`, one that names no client, a disabled one, or one without the code flow.
    UnknownClient,
    /// A `redirect_uri` the client did not register (or a malformed one).
    UnregisteredRedirect,
    /// No `redirect_uri`, and the client registered more than one.
    MissingRedirect,
    /// `client_id` or `redirect_uri` sent twice, or a request too large to read.
    Malformed,
    /// The form's request is expired or does not open.
    FormExpired,
    /// The form was posted without this browser's sign-in cookie, or with another's.
    Forged,
    /// A store did not answer before the client was known.
    Unavailable,
    /// A sign-out (`/end_session`) without an ID token Tollgate issued to the client.
    InvalidLogout,
}

impl Problem {
    pub fn text(self) -> &'static str {
        match self {
            Self::UnknownClient => "This application is not known, or may not use this sign-in.",
            Self::UnregisteredRedirect => {
                "The application asked to return to an address it has not registered."
            }
            Self::MissingRedirect => "The application did not say where to return after sign-in.",
            Self::Malformed => "The sign-in request is malformed.",
            Self::FormExpired => {
                "This sign-in form has expired. Go back to the application and start again."
            }
            Self::Forged => {
                "This sign-in form was not opened in this browser, or cookies are blocked. \
                 Go back to the application and start again."
            }
            Self::Unavailable => "Sign-in is unavailable right now. Try again in a moment.",
            Self::InvalidLogout => {
                "This sign-out request is not valid. Close this window, or sign out from the application again."
            }
        }
    }
}

/// The head of every page, up to `<main>`.
fn head(h: &mut Html, branding: &Branding, heading: &str) {
    h.markup("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .markup("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .markup("<meta name=\"referrer\" content=\"no-referrer\"><title>")
        .text(heading)
        .markup(" - ")
        .text(&branding.title)
        .markup("</title><style>")
        .markup(STYLE)
        .markup("</style></head><body><main>");
    if let Some(logo) = &branding.logo_url {
        h.markup("<img src=\"").text(logo).markup("\" alt=\"\">");
    }
    h.markup("<h1>").text(&branding.title).markup("</h1>");
}

fn foot(h: &mut Html) {
    h.markup("</main></body></html>");
}

/// The sign-in page: the client's name, the one notice, and the form. Labelled fields with the
/// `autocomplete` tokens password managers look for; nothing needs JavaScript.
pub fn sign_in(page: &SignIn<'_>) -> Html {
    let mut h = Html::new();
    head(&mut h, page.branding, "Sign in");
    h.markup("<p>Sign in to continue to <strong class=\"client\"><bdi>")
        .text(page.client_name)
        .markup("</bdi></strong>.</p>");
    if let Some(n) = page.notice {
        h.markup("<p class=\"notice\" role=\"alert\">")
            .text(n.text())
            .markup("</p>");
    }
    h.markup("<form method=\"post\" action=\"")
        .text(page.action)
        .markup("\"><input type=\"hidden\" name=\"request\" value=\"")
        .text(page.request)
        .markup("\"><label for=\"username\">Username</label>")
        .markup("<input id=\"username\" name=\"username\" autocomplete=\"username\" ")
        .markup("autocapitalize=\"none\" spellcheck=\"false\" required value=\"")
        .text(page.username)
        .markup("\"")
        .markup(if page.username.is_empty() {
            " autofocus>"
        } else {
            ">"
        })
        .markup("<label for=\"password\">Password</label>")
        .markup("<input id=\"password\" name=\"password\" type=\"password\" ")
        .markup("autocomplete=\"current-password\" required")
        .markup(if page.username.is_empty() {
            ">"
        } else {
            " autofocus>"
        })
        .markup("<button type=\"submit\">Sign in</button></form>");
    foot(&mut h);
    h
}

/// The page a sign-out ends on when the application asked for none to return to.
pub fn signed_out(branding: &Branding) -> Html {
    let mut h = Html::new();
    head(&mut h, branding, "Signed out");
    h.markup("<p role=\"status\">You are signed out. You can close this window.</p>");
    foot(&mut h);
    h
}

/// The page of a request that cannot go back to its client.
pub fn error(branding: &Branding, problem: Problem) -> Html {
    let mut h = Html::new();
    head(&mut h, branding, "Sign-in error");
    h.markup("<p class=\"notice\" role=\"alert\">")
        .text(problem.text())
        .markup("</p>");
    foot(&mut h);
    h
}

#[cfg(test)]
mod tests;
