//! One test's client of the served token function, and what the tests ask with it: a client's
//! grants, a resource server's introspection, a resource server's verification of an access
//! token, and an operator's `POST /sessions/revoke`.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tollgate_service::client::GrantType;

use crate::transport::invoke_rest;
use crate::{
    Answer, ClientSpec, Served, basic_header, dynamo, event_fixture, form, http, post_token, send,
};

/// A client record in the served clients table, made for one test, with its secret.
pub struct TestClient {
    pub id: String,
    pub secret: String,
}

impl TestClient {
    /// A client of the default spec: the user grants, the demo scopes.
    pub async fn new(served: &Served) -> Self {
        Self::with(served, ClientSpec::default()).await
    }

    pub async fn with(served: &Served, spec: ClientSpec) -> Self {
        let (id, secret) = spec.create(&dynamo().await, &served.clients_table).await;
        Self { id, secret }
    }

    /// A resource server: a machine client whose record grants introspection of every token.
    pub async fn resource_server(served: &Served) -> Self {
        let spec = ClientSpec {
            introspect_any: true,
            scopes: "orders:read",
            ..ClientSpec::machine()
        };
        Self::with(served, spec).await
    }

    pub fn basic(&self) -> Option<(&str, &str)> {
        Some((&self.id, &self.secret))
    }

    /// A password grant that must succeed.
    pub async fn sign_in(&self, served: &Served, user: &str, password: &str) -> Answer {
        let pairs = [
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ];
        let a = post_token(&served.token_url(), self.basic(), &pairs).await;
        assert_eq!(a.status, 200, "{a:?}");
        a
    }

    /// A password grant that must succeed: (access token, refresh token).
    pub async fn login(&self, served: &Served, user: &str, password: &str) -> (String, String) {
        let a = self.sign_in(served, user, password).await;
        (a.access_token(), a.refresh_token())
    }

    pub async fn refresh(&self, served: &Served, token: &str) -> Answer {
        let pairs = [("grant_type", "refresh_token"), ("refresh_token", token)];
        post_token(&served.token_url(), self.basic(), &pairs).await
    }
}

impl ClientSpec {
    /// A client allowed client_credentials only, with the demo service's scopes.
    pub fn machine() -> Self {
        Self {
            grant_types: vec![GrantType::ClientCredentials],
            scopes: "orders:read orders:write",
            default_scopes: "orders:read",
            ..Self::default()
        }
    }
}

impl Served {
    pub fn introspect_url(&self) -> String {
        format!("{}/introspect", self.base)
    }

    /// POSTs a form to `/introspect`, with Basic credentials when given.
    pub async fn introspect(&self, basic: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> Answer {
        let mut req = http()
            .post(self.introspect_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(pairs));
        if let Some((id, secret)) = basic {
            req = req.header("authorization", basic_header(id, secret));
        }
        send(req).await
    }

    pub async fn jwks(&self) -> JwkSet {
        let a = send(http().get(format!("{}/.well-known/jwks.json", self.base))).await;
        assert_eq!(a.status, 200);
        serde_json::from_value(a.json).unwrap()
    }

    /// Verifies an access token against the published JWKS, as a resource server would.
    pub async fn verify(&self, token: &str) -> HashMap<String, Value> {
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Algorithm::ES256);
        let set = self.jwks().await;
        let jwk = set
            .find(header.kid.as_deref().unwrap())
            .expect("kid is published");
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
        jsonwebtoken::decode::<HashMap<String, Value>>(token, &key, &v)
            .unwrap()
            .claims
    }

    /// `POST /sessions/revoke` with this JSON body, as an IAM-signed caller sends it through the
    /// REST API (the recorded `AWS_IAM` proxy event).
    pub async fn revoke_sessions(&self, body: &Value) -> Answer {
        invoke_rest(self, &sessions_revoke_event(body)).await
    }
}

/// The recorded REST proxy event of an IAM-authorized (`AWS_IAM`) `POST /sessions/revoke`,
/// with this JSON body.
pub fn sessions_revoke_event(body: &Value) -> Value {
    let mut e = event_fixture("rest-proxy-iam.json");
    e["body"] = body.to_string().into();
    e
}

/// A JWT's claims, read without checking its signature (that is the authorizer tests' business).
pub fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}
