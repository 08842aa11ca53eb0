//! The HTTP facts of the sign-in page's answers: an HTML page with the headers that keep it
//! from running anything but itself, being framed, cached or leaking its URL; and the redirects
//! that carry a code or an error back to the client.

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION};
use lambda_http::http::{HeaderName, StatusCode};
use lambda_http::{Body, Response};

use crate::page::{Branding, STYLE_HASH, html::Html};

/// Where the page's form may post and its post may lead: the authorize endpoint's origin and,
/// for a sign-in form, the client's redirect URI (the browser applies `form-action` to the
/// redirect that follows the post). `None` for a page without a form.
#[derive(Debug, Clone, Default)]
pub struct FormTargets {
    pub sources: Vec<String>,
}

/// The page's `Content-Security-Policy`: nothing by default; its one stylesheet by hash; the
/// configured logo; the form's targets; never in a frame; no `<base>`.
pub fn csp(branding: &Branding, targets: &FormTargets) -> String {
    let img = branding.logo_url.as_deref().unwrap_or("'none'");
    let form_action = if targets.sources.is_empty() {
        "'none'".to_owned()
    } else {
        targets.sources.join(" ")
    };
    format!(
        "default-src 'none'; style-src {STYLE_HASH}; img-src {img}; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// An HTML page: never cached, never framed, never sniffed as anything else, no `Referer` to
/// other sites from it.
pub fn page(
    status: StatusCode,
    html: Html,
    branding: &Branding,
    targets: &FormTargets,
) -> Response<Body> {
    let mut resp = Response::new(Body::Text(html.into_string()));
    *resp.status_mut() = status;
    let policy = csp(branding, targets);
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&policy) {
        h.insert(HeaderName::from_static("content-security-policy"), v);
    }
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    no_store(&mut resp);
    resp
}

/// A redirect to `location` (`303 See Other` after the form's post, `302 Found` otherwise).
pub fn redirect(status: StatusCode, location: &str) -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = status;
    match HeaderValue::from_str(location) {
        Ok(v) => {
            resp.headers_mut().insert(LOCATION, v);
        }
        // A registered URI and encoded parameters are always a valid header; were one not, the
        // browser goes nowhere rather than somewhere unintended.
        Err(_) => *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
    }
    no_store(&mut resp);
    resp
}

/// No caching, no `Referer` beyond this page, no content sniffing.
fn no_store(resp: &mut Response<Body>) {
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_style_the_logo_and_the_forms_targets_only() {
        let b = Branding {
            title: "T".into(),
            logo_url: Some("https://cdn.example.com/logo.svg".into()),
        };
        let t = FormTargets {
            sources: vec!["https://auth.example.com".into(), "com.example.app:".into()],
        };
        assert_eq!(
            csp(&b, &t),
            format!(
                "default-src 'none'; style-src {STYLE_HASH}; img-src https://cdn.example.com/logo.svg; \
                 form-action https://auth.example.com com.example.app:; frame-ancestors 'none'; \
                 base-uri 'none'"
            )
        );
        let plain = Branding {
            title: "T".into(),
            logo_url: None,
        };
        let p = csp(&plain, &FormTargets::default());
        assert!(
            p.contains("img-src 'none'") && p.contains("form-action 'none'"),
            "{p}"
        );
        assert!(!p.contains("script") && !p.contains("unsafe"), "{p}");
    }

    #[test]
    fn every_page_and_redirect_is_uncached_unframed_and_sends_no_referrer() {
        let b = Branding {
            title: "T".into(),
            logo_url: None,
        };
        let resp = page(StatusCode::OK, Html::new(), &b, &FormTargets::default());
        let h = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        assert_eq!(h("content-type"), "text/html; charset=utf-8");
        assert_eq!(h("x-frame-options"), "DENY");
        assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
        for r in [
            &resp,
            &redirect(StatusCode::SEE_OTHER, "https://app.example.com/cb?code=c"),
        ] {
            let g = |n: &str| {
                r.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            };
            assert_eq!(g("cache-control"), "no-store");
            assert_eq!(g("referrer-policy"), "no-referrer");
            assert_eq!(g("x-content-type-options"), "nosniff");
        }
        let broken = redirect(StatusCode::FOUND, "https://app.example.com/\n");
        assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(broken.headers().get("location").is_none());
    }
}
