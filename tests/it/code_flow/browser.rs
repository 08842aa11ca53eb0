//! The sign-in page in a real browser: headless Chromium, driven through WebDriver, opens the
//! authorize URL of the served function, a user types the demo password, the browser lands on
//! the client's callback with a code (its cookie and the page's policy let the post and the
//! redirect through), and the code is exchanged. A wrong password shows the form again; the
//! page refuses to be framed.

use std::time::Duration;

use fantoccini::Locator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tollgate_tests::browser::Browser;
use tollgate_tests::code_flow::{authorize_url, exchange, query_params};

use super::Flow;

/// Where the sign-in page's screenshot is written (docs/sign-in.png is a copy of one).
fn screenshot_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/sign-in.png")
}

/// Waits until the browser is at a URL that starts with `prefix`: the callback after the
/// form's post and the redirect.
async fn landed_on(b: &Browser, prefix: &str) -> String {
    for _ in 0..200 {
        let url = b.url().await;
        if url.starts_with(prefix) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the browser never reached {prefix}: it is at {}",
        b.url().await
    );
}

#[tokio::test]
async fn a_user_signs_in_with_chromium_and_the_code_is_exchanged() {
    let f = Flow::new(true, "Orders App").await;
    let b = Browser::start().await;
    b.client
        .goto(&authorize_url(&f.served.base, &f.params()))
        .await
        .expect("open the authorize URL");
    let source = b.source().await;
    assert!(
        source.contains("Orders App"),
        "the page names the client: {source}"
    );
    if let Ok(png) = b.client.screenshot().await {
        let _ = std::fs::write(screenshot_path(), png);
    }
    b.fill("username", &f.username).await;
    b.fill("password", &f.password).await;
    b.submit().await;
    let url = landed_on(&b, &f.callback.uri).await;
    let p = query_params(url.split_once('?').map_or("", |(_, q)| q));
    assert_eq!(p["state"], f.state);
    assert_eq!(p["iss"], f.served.issuer);
    assert_eq!(
        f.callback.queries.lock().unwrap().len(),
        1,
        "the callback was reached once"
    );
    let t = exchange(
        &f.served.token_url(),
        f.client(),
        &p["code"],
        &f.pkce.verifier,
        Some(&f.callback.uri),
    )
    .await;
    assert_eq!(t.status, 200, "{t:?}");
    assert!(t.json["refresh_token"].as_str().is_some());
    b.close().await;
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_and_the_right_one_then_signs_in() {
    let f = Flow::public().await;
    let b = Browser::start().await;
    b.client
        .goto(&authorize_url(&f.served.base, &f.params()))
        .await
        .unwrap();
    b.fill("username", &f.username).await;
    b.fill("password", "not-the-password").await;
    b.submit().await;
    let notice = b
        .client
        .find(Locator::Css("p.notice"))
        .await
        .expect("a notice")
        .text()
        .await
        .unwrap();
    assert_eq!(notice, "The username or password is incorrect.");
    let username = b.client.find(Locator::Id("username")).await.unwrap();
    assert_eq!(
        username.prop("value").await.unwrap().as_deref(),
        Some(f.username.as_str())
    );
    b.fill("password", &f.password).await;
    b.submit().await;
    let url = landed_on(&b, &f.callback.uri).await;
    assert!(url.contains("code="), "{url}");
    b.close().await;
}

/// An attacker's page: its own origin (a port of its own on 127.0.0.1, as the sign-in page's is,
/// so no browser rule about public pages reaching private addresses stands in for the page's
/// headers) that frames each of `srcs`, as `<iframe id=f0>`, `f1`, ...
async fn framing_page(srcs: &[String]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let frames: String = srcs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "<iframe id=f{i} src=\"{}\"></iframe>",
                s.replace('&', "&amp;")
            )
        })
        .collect();
    let body = format!("<!doctype html><title>framing</title>{frames}");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = stream.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(resp.as_bytes()).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/")
}

/// Whether the element `#id` shows up inside the top page's frame `#frame` within `wait`.
async fn shows_in_frame(b: &Browser, frame: &str, id: &str, wait: Duration) -> bool {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let _ = b.client.enter_parent_frame().await;
        if let Ok(f) = b.client.find(Locator::Id(frame)).await
            && f.enter_frame().await.is_ok()
            && b.client.find(Locator::Id(id)).await.is_ok()
        {
            return true;
        }
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn chromium_refuses_to_show_the_page_in_a_frame() {
    let f = Flow::public().await;
    let b = Browser::start().await;
    // Another origin frames the sign-in page and, beside it, the client's callback page (no
    // frame rules): the callback rendering in its frame shows this browser frames what lets
    // itself be framed, so the sign-in page's absence is its headers' doing.
    let page = authorize_url(&f.served.base, &f.params());
    let framing = framing_page(&[page, f.callback.uri.clone()]).await;
    b.client.goto(&framing).await.unwrap();
    assert!(
        shows_in_frame(&b, "f1", "done", Duration::from_secs(20)).await,
        "the control frame (the callback page) never rendered"
    );
    assert!(
        !shows_in_frame(&b, "f0", "username", Duration::from_secs(2)).await,
        "the sign-in form rendered inside a frame"
    );
    b.close().await;
}
