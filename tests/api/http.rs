//! HTTP helpers shared by the API tests: one call builder, the answer, and sign-in.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub nosniff: bool,
    pub set_cookie: Option<String>,
    /// The `Allow` header of a 405.
    pub allow: Option<String>,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The JSON body, after checking the status.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        self.json()
    }

    /// Checks a typed error: its status, its `error` tag and a message; returns the body.
    pub fn error(&self, status: u16, tag: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["error"], tag, "{body}");
        assert!(body["message"].is_string(), "{body}");
        assert!(self.content_type.starts_with("application/json"), "{}", self.content_type);
        body
    }
}

pub fn base_url() -> String {
    std::env::var("TANDEM_BASE_URL")
        .expect("TANDEM_BASE_URL is not set: run these tests with `cargo xtask test`, which starts the Worker")
}

/// One request, built up and then sent.
pub struct Call {
    method: String,
    path: String,
    body: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

pub fn call(method: &str, path: &str) -> Call {
    Call { method: method.to_owned(), path: path.to_owned(), body: None, headers: Vec::new() }
}

impl Call {
    pub fn json(self, body: &Value) -> Self {
        self.raw(&body.to_string())
    }

    /// A body sent as JSON whatever it holds.
    pub fn raw(self, body: &str) -> Self {
        self.bytes("application/json", body.as_bytes())
    }

    /// A body of any type.
    pub fn bytes(mut self, content_type: &str, body: &[u8]) -> Self {
        self.body = Some(body.to_vec());
        self.header("content-type", content_type)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Reads (and sets) the development clock `clock` instead of the shared one.
    pub fn on(self, clock: &Clock) -> Self {
        self.header("x-tandem-clock", clock.0)
    }

    pub fn session(self, session: &Session) -> Self {
        self.header("cookie", &session.cookie)
    }

    pub fn send(self) -> Answer {
        let base = base_url();
        self.send_to(&base)
    }

    /// Sends to another Worker than the development one.
    pub fn send_to(self, base: &str) -> Answer {
        // Redirects are answers to check (the invite link), not to follow.
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        let url = format!("{base}{}", self.path);
        let mut builder = ureq::http::Request::builder().method(self.method.as_str()).uri(&url);
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let result = match self.body {
            Some(body) => agent.run(builder.body(body).expect("a request")),
            None => agent.run(builder.body(()).expect("a request")),
        };
        let mut response = result.unwrap_or_else(|e| panic!("{} {url}: {e}", self.method));
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header("content-type").unwrap_or_default();
        let nosniff = header("x-content-type-options").is_some_and(|v| v == "nosniff");
        // Every Set-Cookie, one per line (the first is the one a test usually wants).
        let cookies: Vec<&str> =
            response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
        let set_cookie = (!cookies.is_empty()).then(|| cookies.join("\n"));
        let allow = header("allow");
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let status = response.status().as_u16();
        // Every answer a test gets is held to the API document.
        crate::contract::check(&self.method, &self.path, status, &content_type, &text);
        Answer { status, content_type, nosniff, set_cookie, allow, text }
    }
}

pub fn get(path: &str) -> Answer {
    call("GET", path).send()
}

pub fn post_json(path: &str, body: &Value) -> Answer {
    call("POST", path).json(body).send()
}

/// A 200 JSON answer with the API's headers.
pub fn ok_json(path: &str) -> Value {
    let answer = get(path);
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.text);
    assert!(answer.content_type.starts_with("application/json"), "GET {path}: {}", answer.content_type);
    assert!(answer.nosniff, "GET {path} lacks x-content-type-options: nosniff");
    answer.json()
}

pub fn assert_error(path: &str, status: u16, tag: &str) -> Value {
    get(path).error(status, tag)
}

/// A signed-in member's cookie and id.
/// A test's own development clock (`X-Tandem-Clock`): moving it moves only the requests that
/// name it, so no other test, nor a test that stops half-way, leaves time moved for the rest.
pub struct Clock(pub &'static str);

impl Clock {
    /// Sets the clock `offset_ms` away from real time.
    pub fn set(&self, offset_ms: i64) {
        let moved = call("PUT", "/api/dev/clock").on(self).json(&serde_json::json!({"offset_ms": offset_ms})).send();
        assert_eq!(moved.expect(200)["offset_ms"], offset_ms);
    }

    /// Runs the scheduled jobs by this clock for `buyer`'s checkouts and orders only: what the
    /// run did is exactly what this test made due.
    pub fn jobs_for(&self, buyer: &Session) -> Value {
        call("POST", "/api/dev/jobs").on(self).json(&serde_json::json!({"buyer": buyer.member_id})).send().expect(200)
    }
}

#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub member_id: String,
}

/// Asks for a code for `phone` and reads it from the development outbox.
pub fn code_for(phone: &str) -> String {
    let answer = post_json("/api/auth/code", &json!({"phone": phone}));
    assert_eq!(answer.status, 200, "{}", answer.text);
    let outbox = ok_json(&format!("/api/dev/otp?phone={phone}"));
    let code = outbox["code"].as_str().expect("a code in the outbox").to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    code
}

pub fn sign_in_with(phone: &str, code: &str) -> Answer {
    post_json("/api/auth/session", &json!({"phone": phone, "code": code}))
}

/// The `name=value` part of a Set-Cookie header.
pub fn cookie_pair(answer: &Answer) -> String {
    let header = answer.set_cookie.clone().expect("a session cookie");
    header.split(';').next().expect("a cookie pair").to_owned()
}

/// Signs `phone` in with a fresh code.
pub fn sign_in(phone: &str) -> Session {
    let answer = sign_in_with(phone, &code_for(phone));
    let body = answer.expect(200);
    Session { cookie: cookie_pair(&answer), member_id: body["member"]["id"].as_str().expect("member id").to_owned() }
}

/// A session for `phone`, signed in once per test run and then reused: staff and operators act
/// in many tests, and a phone may ask for only five codes an hour.
pub fn session_for(phone: &str) -> Session {
    static SESSIONS: OnceLock<Mutex<HashMap<String, Session>>> = OnceLock::new();
    let sessions = SESSIONS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut sessions = sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    sessions.entry(phone.to_owned()).or_insert_with(|| sign_in(phone)).clone()
}

/// One call to the Worker at `base`, with an optional JSON body.
pub fn call_at(base: &str, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let request = call(method, path);
    match body {
        Some(body) if method != "GET" => request.json(body).send_to(base),
        _ => request.send_to(base),
    }
}

/// A request with any method, written by hand over TCP (for methods the HTTP client refuses to
/// send); the whole answer as text.
pub fn raw_request(method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let base = base_url();
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("{host}: {e}"));
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("a request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    answer
}
