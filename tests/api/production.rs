//! The Worker as production configures it (no `DEV_MODE`, no dev payment provider, default
//! limits), started by `cargo xtask test` beside the development one at `TANDEM_PRODUCTION_URL`.

use serde_json::json;

use crate::http::Answer;

fn production_url() -> String {
    std::env::var("TANDEM_PRODUCTION_URL")
        .expect("TANDEM_PRODUCTION_URL is not set: run these tests with `cargo xtask test`, which starts that Worker")
}

fn send(method: &str, path: &str, body: Option<&serde_json::Value>) -> Answer {
    crate::http::call_at(&production_url(), method, path, body)
}

#[test]
fn development_routes_do_not_exist_in_production() {
    for (method, path) in [
        ("GET", "/api/dev/otp?phone=13800000000"),
        ("GET", "/api/dev/clock"),
        ("PUT", "/api/dev/clock"),
        ("POST", "/api/dev/jobs"),
        ("GET", "/api/dev/stats"),
        ("POST", "/api/payments/pay-0000000000000000/confirm"),
    ] {
        let answer = send(method, path, Some(&json!({"offset_ms": 999_999_999})));
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text);
        assert_eq!(answer.json()["resource"], "route", "{method} {path}: {}", answer.text);
    }
    let notification = json!({"provider": "dev", "payment_id": "p", "checkout_id": "c", "amount_fen": 1,
                              "status": "success", "paid_at_ms": 0, "signature": ""});
    assert_eq!(
        send("POST", "/api/payments/notify/dev", Some(&notification)).error(404, "not_found")["resource"],
        "provider"
    );
    // The Worker itself is up.
    assert_eq!(send("GET", "/api/health", None).status, 200);
}

/// Production's limits: five codes an hour for a phone, twenty for one client address.
#[test]
fn production_rate_limits_hold() {
    for attempt in 1..=6 {
        let answer = send("POST", "/api/auth/code", Some(&json!({"phone": "13800000099"})));
        let expected = if attempt <= 5 { 200 } else { 429 };
        assert_eq!(answer.status, expected, "code {attempt} for one phone: {}", answer.text);
    }
    let mut statuses = Vec::new();
    for phone in 0..20 {
        statuses.push(send("POST", "/api/auth/code", Some(&json!({"phone": format!("137{phone:08}")}))).status);
    }
    // Six requests came from this address already; the twentieth of the hour is the last allowed.
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 14, "{statuses:?}");
    assert!(statuses[14..].iter().all(|&s| s == 429), "{statuses:?}");
}
