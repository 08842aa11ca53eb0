//! The `Requests` document: the one line a counted request of the token function ends with. Its
//! metrics (`Requests`, `Unavailable`, `Latency`, and a `/token` request's `Grants`), and as
//! plain members (log fields, not metrics: no directive names them) what the request came to:
//! its route, method, status, error, client and Lambda request id. It is the request's log
//! line as well as its metrics, as the authorizer's decision line is (one line, not two).

use std::time::Duration;

use super::line::Line;
use super::{FUNCTION_NAME, GRANTS, LATENCY, Metrics, REQUESTS, UNAVAILABLE, millis, now_ms};

/// What a request's document says of it besides its metrics. Never holds a credential: the
/// client's id only once it authenticated, otherwise its hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestLog<'a> {
    /// The route's name (`token`, `revoke`, `authorize`, ...).
    pub route: &'a str,
    pub method: &'a str,
    pub status: u16,
    /// The OAuth error code of a refusal (for `authorize`, the page's reason).
    pub error: Option<&'a str>,
    /// A client that authenticated.
    pub client_id: Option<&'a str>,
    /// The first 12 characters of the SHA-256 of a client id that did not authenticate.
    pub client_id_hash: Option<&'a str>,
    /// Lambda's id of the invocation, which every other line of the request carries in its
    /// span: what joins them.
    pub request_id: Option<&'a str>,
}

impl Metrics {
    /// A counted request ended. `grant` is `(client, grant type, outcome)` for `/token`,
    /// `None` for the other routes.
    pub fn request(
        &self,
        unavailable: bool,
        latency: Duration,
        grant: Option<(&str, &str, &str)>,
        log: &RequestLog<'_>,
    ) {
        self.write(&self.render_request(now_ms(), unavailable, latency, grant, log));
    }

    pub fn render_request(
        &self,
        ts: u64,
        unavailable: bool,
        latency: Duration,
        grant: Option<(&str, &str, &str)>,
        log: &RequestLog<'_>,
    ) -> String {
        let mut line = Line::new(ts);
        line.directive(&[&REQUESTS, &UNAVAILABLE, &LATENCY]);
        if grant.is_some() {
            line.directive(&[&GRANTS]);
        }
        line.close_metadata();
        line.dimension(FUNCTION_NAME, &self.function);
        if let Some((client, grant_type, outcome)) = grant {
            line.dimension("ClientId", client);
            line.dimension("GrantType", grant_type);
            line.dimension("Outcome", outcome);
            line.value(GRANTS.name, 1.0);
        } else if let Some(client) = log.client_id {
            // Without a grant, no dimension names the client.
            line.text("ClientId", client);
        }
        line.value(REQUESTS.name, 1.0);
        line.value(UNAVAILABLE.name, if unavailable { 1.0 } else { 0.0 });
        line.value(LATENCY.name, millis(latency));
        line.text("Route", log.route);
        line.text("Method", log.method);
        line.integer("Status", u64::from(log.status));
        if let Some(error) = log.error {
            line.text("Error", error);
        }
        if let (None, Some(hash)) = (log.client_id, log.client_id_hash) {
            line.text("ClientIdHash", hash);
        }
        if let Some(id) = log.request_id {
            line.text("RequestId", id);
        }
        line.finish()
    }
}
