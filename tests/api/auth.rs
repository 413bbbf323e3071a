//! Sign-in with a one-time code, sessions, rate limits.

use serde_json::json;

use crate::http::{Clock, call, code_for, cookie_pair, post_json, sign_in, sign_in_with};

#[test]
fn a_shopper_signs_in_with_a_code_and_signs_out() {
    let phone = "13800000001";
    let code = code_for(phone);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = sign_in_with(phone, wrong);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json()["error"], "wrong_code");
    assert_eq!(refused.json()["attempts_left"], 4);

    let signed_in = sign_in_with(phone, &code);
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.json()["member"]["phone"], "+86 138****0001");
    let header = signed_in.set_cookie.clone().expect("a cookie");
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax"), "{header}");
    assert!(!header.contains("Secure"), "plain-HTTP localhost gets no Secure flag: {header}");
    let cookie = cookie_pair(&signed_in);
    assert_eq!(cookie.len(), "tandem_session=".len() + 32, "128-bit token: {cookie}");

    let me = call("GET", "/api/me").header("cookie", &cookie).send();
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["member"]["id"], signed_in.json()["member"]["id"]);

    // The same code does not work twice, and the same phone is the same member next time.
    assert_eq!(sign_in_with(phone, &code).json()["error"], "code_used");
    let again = sign_in_with(phone, &code_for(phone));
    assert_eq!(again.json()["member"]["id"], signed_in.json()["member"]["id"]);

    let out = call("DELETE", "/api/auth/session").header("cookie", &cookie).send();
    assert_eq!(out.status, 200);
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(call("GET", "/api/me").header("cookie", &cookie).send().status, 401, "a revoked session is dead");
    assert_eq!(call("GET", "/api/me").send().json()["error"], "unauthenticated");
    assert_eq!(call("GET", "/api/me").header("cookie", "tandem_session=notatoken").send().status, 401);
}

#[test]
fn five_wrong_codes_lock_the_code() {
    let phone = "13800000002";
    let code = code_for(phone);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..=4).rev() {
        assert_eq!(sign_in_with(phone, wrong).json()["attempts_left"], left);
    }
    assert_eq!(sign_in_with(phone, wrong).json()["error"], "too_many_attempts");
    assert_eq!(sign_in_with(phone, &code).json()["error"], "too_many_attempts", "even the right code");
}

#[test]
fn codes_expire_after_five_minutes() {
    let phone = "13800000003";
    let code = code_for(phone);
    let clock = Clock("codes-expire");
    let moved = call("PUT", "/api/dev/clock").on(&clock).raw(r#"{"offset_ms": 301000}"#).send().expect(200);
    assert_eq!((moved["clock"].as_str(), moved["offset_ms"].as_i64()), (Some("codes-expire"), Some(301_000)));
    assert_eq!(call("GET", "/api/dev/clock").send().expect(200)["offset_ms"], 0, "the shared clock did not move");
    let late = call("POST", "/api/auth/session").on(&clock).json(&json!({"phone": phone, "code": code})).send();
    assert_eq!(late.status, 401);
    assert_eq!(late.json()["error"], "code_expired");
    assert_eq!(sign_in_with(phone, &code_for(phone)).status, 200);
    let bad = call("GET", "/api/health").header("x-tandem-clock", "Not A Name").send().error(400, "bad_request");
    assert_eq!(bad["field"], "x-tandem-clock");
}

/// The test configuration raises only the per-address limit; the per-phone limit is
/// production's: five codes an hour.
#[test]
fn a_phone_gets_at_most_five_codes_an_hour() {
    let phone = "13800000004";
    for _ in 0..5 {
        assert_eq!(post_json("/api/auth/code", &serde_json::json!({"phone": phone})).status, 200);
    }
    let limited = post_json("/api/auth/code", &serde_json::json!({"phone": phone}));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.json()["error"], "rate_limited");
    assert!(limited.json()["retry_after_s"].as_i64().unwrap() > 0);
}

#[test]
fn bad_sign_in_input_is_refused_with_the_field_named() {
    let field = |body: &str| {
        let answer = call("POST", "/api/auth/code").raw(body).send();
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        answer.json()["field"].as_str().unwrap().to_owned()
    };
    assert_eq!(field(r#"{"phone":"12345"}"#), "phone");
    assert_eq!(field(r#"{"phone":"13800000005","admin":true}"#), "admin");
    assert_eq!(field("{}"), "phone");
    assert_eq!(field(r#"{"phone":13800000005}"#), "phone", "the field whose value has the wrong type");
    assert_eq!(field(r#"["13800000005"]"#), "body", "an array is not the object the route takes");
    assert_eq!(field("{not json"), "body");
    let huge = format!(r#"{{"phone":"{}"}}"#, "1".repeat(20_000));
    let too_large = call("POST", "/api/auth/code").raw(&huge).send();
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.json()["error"], "payload_too_large");
    let bad_code = sign_in_with("13800000005", "12ab56");
    assert_eq!((bad_code.status, bad_code.json()["field"].as_str()), (400, Some("code")));
    assert_eq!(sign_in_with("13800000006", "123456").json()["error"], "no_code");
}

/// Each sign-in is its own session: signing out on one phone leaves the other signed in.
#[test]
fn sessions_are_per_device_and_revoked_one_by_one() {
    let phone = "13800000007";
    let first = sign_in(phone);
    let second = sign_in(phone);
    assert_eq!(first.member_id, second.member_id);
    assert_ne!(first.cookie, second.cookie);
    assert_eq!(call("DELETE", "/api/auth/session").session(&first).send().status, 200);
    assert_eq!(call("GET", "/api/me").session(&first).send().status, 401);
    assert_eq!(call("GET", "/api/me").session(&second).send().expect(200)["member"]["id"], second.member_id.as_str());
}

/// A stranger cannot lock a phone out of sign-in: their code requests (from another address)
/// neither void the code the owner was sent nor use up the owner's requests, and their wrong
/// guesses use up only their own tries.
#[test]
fn a_stranger_cannot_lock_the_owner_out() {
    let phone = "13800000005";
    let from = |address: &str, path: &str, body: serde_json::Value| {
        call("POST", path).header("cf-connecting-ip", address).json(&body).send()
    };
    let asked = from("198.51.100.1", "/api/auth/code", serde_json::json!({"phone": phone}));
    assert_eq!(asked.status, 200, "{}", asked.text);
    let owners_code =
        crate::http::ok_json(&format!("/api/dev/otp?phone={phone}"))["code"].as_str().expect("code").to_owned();
    for _ in 0..5 {
        assert_eq!(from("203.0.113.9", "/api/auth/code", serde_json::json!({"phone": phone})).status, 200);
    }
    assert_eq!(
        from("203.0.113.9", "/api/auth/code", serde_json::json!({"phone": phone})).status,
        429,
        "the stranger is limited"
    );
    let wrong = if owners_code == "000000" { "111111" } else { "000000" };
    for _ in 0..6 {
        from("203.0.113.9", "/api/auth/session", serde_json::json!({"phone": phone, "code": wrong}));
    }
    let locked = from("203.0.113.9", "/api/auth/session", serde_json::json!({"phone": phone, "code": owners_code}));
    assert_eq!(locked.json()["error"], "too_many_attempts", "the stranger used up their own tries");
    let owner = from("198.51.100.1", "/api/auth/session", serde_json::json!({"phone": phone, "code": owners_code}));
    assert_eq!(owner.status, 200, "the owner's code survived the stranger's requests: {}", owner.text);
    assert_eq!(
        from("198.51.100.1", "/api/auth/code", serde_json::json!({"phone": phone})).status,
        200,
        "and the owner can ask again"
    );
}
