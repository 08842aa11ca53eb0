//! The signer against AWS's SigV4 test suite (the `aws-signing-test-suite/v4` cases shipped with
//! the `aws-sigv4` crate, themselves from awslabs/aws-c-auth; expected values copied here) and
//! against the SDK's own signer (`aws-sigv4`, a dev-dependency only) on generated requests.

use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 2015-08-30T12:36:00Z, every case's time.
const WHEN: u64 = 1_440_938_160;
const STS_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

fn creds(token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: AKID.into(),
        secret_access_key: SECRET.into(),
        session_token: token.map(str::to_owned),
    }
}

/// One case of the suite: its request's method, headers and body, and the expected signature.
struct Case {
    name: &'static str,
    method: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    signature: &'static str,
}

const HOST: (&str, &str) = ("Host", "example.amazonaws.com");
const DATE: (&str, &str) = ("X-Amz-Date", "20150830T123600Z");

const CASES: &[Case] = &[
    Case {
        name: "get-vanilla",
        method: "GET",
        headers: &[HOST, DATE],
        body: b"",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    },
    Case {
        name: "post-vanilla",
        method: "POST",
        headers: &[HOST, DATE],
        body: b"",
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    },
    Case {
        name: "post-header-key-sort",
        method: "POST",
        headers: &[HOST, ("My-Header1", "value1"), DATE],
        body: b"",
        signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
    },
    Case {
        name: "post-header-value-case",
        method: "POST",
        headers: &[HOST, ("My-Header1", "VALUE1"), DATE],
        body: b"",
        signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
    },
    Case {
        name: "get-header-value-trim",
        method: "GET",
        headers: &[
            HOST,
            ("My-Header1", " value1"),
            ("My-Header2", " \"a   b   c\""),
            DATE,
        ],
        body: b"",
        signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    },
    Case {
        name: "post-x-www-form-urlencoded",
        method: "POST",
        headers: &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            HOST,
            ("Content-Length", "13"),
            DATE,
            (
                "x-amz-content-sha256",
                "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            ),
        ],
        body: b"Param1=value1",
        signature: "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
    },
];

fn signature_of(authorization: &str) -> &str {
    authorization
        .rsplit_once("Signature=")
        .map_or("", |(_, s)| s)
}

#[test]
fn the_dates_are_utc_calendar_dates() {
    assert_eq!(AmzDate::from_unix(WHEN).stamp, "20150830T123600Z");
    assert_eq!(AmzDate::from_unix(0).stamp, "19700101T000000Z");
    // A leap day, the last second of a year, and a century that is not a leap year's.
    assert_eq!(AmzDate::from_unix(951_782_400).stamp, "20000229T000000Z");
    assert_eq!(AmzDate::from_unix(1_704_067_199).stamp, "20231231T235959Z");
    assert_eq!(AmzDate::from_unix(4_107_542_400).stamp, "21000301T000000Z");
    assert_eq!(AmzDate::from_unix(WHEN).date(), "20150830");
}

#[test]
fn the_suites_cases_sign_as_published() {
    let date = AmzDate::from_unix(WHEN);
    let scope = Scope {
        region: "us-east-1",
        service: "service",
        date: &date,
    };
    for case in CASES {
        let req = Request {
            method: case.method,
            path: "/",
            query: "",
            headers: case.headers,
            payload: case.body,
        };
        let auth = authorization(&creds(None), &scope, &req);
        assert_eq!(signature_of(&auth), case.signature, "{}: {auth}", case.name);
    }
}

#[test]
fn get_vanillas_canonical_request_and_string_to_sign_are_the_suites() {
    let date = AmzDate::from_unix(WHEN);
    let scope = Scope {
        region: "us-east-1",
        service: "service",
        date: &date,
    };
    let req = Request {
        method: "GET",
        path: "/",
        query: "",
        headers: &[HOST, DATE],
        payload: b"",
    };
    let (canonical, signed) = canonical_request(&req);
    assert_eq!(
        canonical,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(signed, "host;x-amz-date");
    assert_eq!(
        string_to_sign(&canonical, &scope),
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
    let auth = authorization(&creds(None), &scope, &req);
    assert_eq!(
        auth,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

#[test]
fn session_tokens_are_signed_as_the_suite_signs_them() {
    let date = AmzDate::from_unix(WHEN);
    let scope = Scope {
        region: "us-east-1",
        service: "service",
        date: &date,
    };
    let short = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    for (name, method, token, want) in [
        (
            "get-vanilla-with-session-token",
            "GET",
            short,
            "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
        ),
        (
            "post-sts-header-before",
            "POST",
            STS_TOKEN,
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        ),
    ] {
        let headers = [HOST, DATE, ("X-Amz-Security-Token", token)];
        let req = Request {
            method,
            path: "/",
            query: "",
            headers: &headers,
            payload: b"",
        };
        let auth = authorization(&creds(Some(token)), &scope, &req);
        assert_eq!(signature_of(&auth), want, "{name}");
    }
}

#[test]
fn credentials_never_show_their_secrets() {
    let shown = format!("{:?}", creds(Some("the-session-token")));
    assert!(shown.contains(AKID), "{shown}");
    assert!(
        !shown.contains(SECRET) && !shown.contains("the-session-token"),
        "{shown}"
    );
}

/// The SDK's signature for the same request, time and credentials.
fn sdk_authorization(
    c: &Credentials,
    region: &str,
    secs: u64,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(
        &c.access_key_id,
        &c.secret_access_key,
        c.session_token.clone(),
        None,
        "test",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("dynamodb")
        .time(UNIX_EPOCH + Duration::from_secs(secs))
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let host = headers
        .iter()
        .find(|(n, _)| *n == "host")
        .map_or("", |(_, v)| *v);
    let req = SignableRequest::new(
        "POST",
        format!("https://{host}/"),
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("signable");
    let (instructions, _) = sign(req, &params).expect("signed").into_parts();
    instructions
        .headers()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.to_owned())
        .expect("an authorization header")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// For generated DynamoDB queries, credentials, regions and times, the reader's request is
    /// signed exactly as the AWS SDK signs it.
    #[test]
    fn every_query_is_signed_as_the_sdk_signs_it(
        akid in "[A-Z0-9]{16,20}",
        secret in "[A-Za-z0-9/+]{40}",
        token in proptest::option::of("[A-Za-z0-9/+=]{20,300}"),
        region in "(us|eu|ap|sa|ca|me|af|il|cn)-(east|west|north|south|central|northeast|southeast)-[1-9]",
        secs in 946_684_800u64..4_102_444_800,
        table in "[A-Za-z0-9_.-]{3,255}",
        after in 0u64..9_999_999_999_999,
    ) {
        let c = Credentials { access_key_id: akid, secret_access_key: secret, session_token: token };
        let host = format!("dynamodb.{region}.amazonaws.com");
        let body = format!(
            r#"{{"TableName":"{table}","KeyConditionExpression":"pk = :p AND sk > :c","ExpressionAttributeValues":{{":p":{{"S":"feed"}},":c":{{"S":"{after:013}$"}}}},"ConsistentRead":true}}"#
        );
        let date = AmzDate::from_unix(secs);
        let mut headers = vec![
            ("host", host.as_str()),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ];
        let sdk = sdk_authorization(&c, &region, secs, &headers, body.as_bytes());
        headers.push(("x-amz-date", date.stamp.as_str()));
        if let Some(t) = &c.session_token {
            headers.push(("x-amz-security-token", t.as_str()));
        }
        let scope = Scope { region: &region, service: "dynamodb", date: &date };
        let req = Request { method: "POST", path: "/", query: "", headers: &headers, payload: body.as_bytes() };
        prop_assert_eq!(authorization(&c, &scope, &req), sdk);
    }
}
