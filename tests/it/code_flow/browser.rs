//! The sign-in page in a real browser: headless Chromium, driven through WebDriver, opens the
//! authorize URL of the served function, a user types the demo password, the browser lands on
//! the client's callback with a code (its cookie and the page's policy let the post and the
//! redirect through), and the code is exchanged. A wrong password shows the form again; the
//! page refuses to be framed.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fantoccini::Locator;
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

#[tokio::test]
async fn chromium_refuses_to_show_the_page_in_a_frame() {
    let f = Flow::public().await;
    let b = Browser::start().await;
    // A page of another origin that frames the sign-in page.
    let html = format!(
        "<iframe id=f src=\"{}\"></iframe>",
        authorize_url(&f.served.base, &f.params()).replace('&', "&amp;")
    );
    let framing = format!("data:text/html;base64,{}", STANDARD.encode(html));
    b.client.goto(&framing).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let frame = b.client.find(Locator::Id("f")).await.expect("the iframe");
    frame.enter_frame().await.expect("into the frame");
    let inside = b.client.find(Locator::Id("username")).await;
    assert!(inside.is_err(), "the sign-in form rendered inside a frame");
    b.close().await;
}
