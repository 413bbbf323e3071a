//! The distribution network over HTTP: invite links bind, payments post the rewards the
//! published rules give to the right people, exactly once, and a sharer sees only its own.

use serde_json::{Value, json};

use crate::commerce::{address, assert_ledger_holds, checkout, line, pay, set_stock};
use crate::http::{Session, call, code_for, cookie_pair, ok_json, session_for, sign_in};

const YANGGUANG_STAFF: &str = "13900000012";
const GIFT: &str = "p-0208";

/// A phone of this run: the test also runs against a development database kept between runs.
fn phone(n: u32) -> String {
    format!("1360{:04}{n:03}", std::process::id() % 10_000)
}

fn centre(session: &Session) -> Value {
    call("GET", "/api/chain/me").session(session).send().expect(200)
}

/// The gift set's SKU and its price at a store that shelves it.
fn gift_offer() -> (String, String, i64) {
    for store in ["s-jingan", "s-tianhe", "s-chunxi"] {
        let detail = call("GET", &format!("/api/products/{GIFT}?store={store}")).send();
        if detail.status == 200 {
            let sku = detail.json()["skus"][0].clone();
            let id = sku["sku_id"].as_str().expect("sku").to_owned();
            return (store.to_owned(), id, sku["price_fen"].as_i64().expect("price"));
        }
    }
    panic!("no store shelves the designated product");
}

/// Buys one of `sku` for delivery from `store`; the paid checkout and the notification.
fn buy(session: &Session, key: &str, store: &str, sku: &str) -> (Value, Value) {
    let placed =
        checkout(session, key, &json!({"store_id": store, "lines": [line(sku, 1, "delivery")], "address": address()}));
    let confirmed = pay(session, &placed);
    (placed, confirmed["notification"].clone())
}

/// Opens an invite link without a session; the `tandem_ref` cookie it leaves.
fn open_anonymously(code: &str) -> String {
    let answer = call("GET", &format!("/i/{code}")).send();
    assert_eq!(answer.status, 302, "{}", answer.text);
    let cookie = cookie_pair(&answer);
    assert_eq!(cookie, format!("tandem_ref={code}"));
    cookie
}

fn sign_in_with_cookie(phone: &str, cookie: &str) -> Session {
    let code = code_for(phone);
    let answer =
        call("POST", "/api/auth/session").header("cookie", cookie).json(&json!({"phone": phone, "code": code})).send();
    let body = answer.expect(200);
    Session { cookie: cookie_pair(&answer), member_id: body["member"]["id"].as_str().expect("id").to_owned() }
}

#[test]
fn invite_links_bind_and_payments_post_rewards_once() {
    let (store, gift, price) = gift_offer();
    set_stock(&session_for(YANGGUANG_STAFF), "sup-yangguang", &gift, 500);

    // P buys the designated product: an agent, with no inviter and so no one to reward.
    let p = sign_in(&phone(101));
    assert_eq!(centre(&p)["identity"], "member");
    buy(&p, "chain-p", &store, &gift);
    let p_centre = centre(&p);
    assert_eq!(p_centre["identity"], "agent", "{p_centre}");
    assert_eq!(p_centre["rewards"], json!([]));
    let p_code = p_centre["invite_code"].as_str().expect("code").to_owned();
    assert_eq!(p_centre["invite_path"], format!("/i/{p_code}"));

    // A opens P's link before signing in; sign-in binds it.
    let a = sign_in_with_cookie(&phone(102), &open_anonymously(&p_code));
    let a_centre = centre(&a);
    assert_eq!(a_centre["inviter"], p.member_id.as_str(), "{a_centre}");
    // P opening its own link binds nothing.
    assert_eq!(call("GET", &format!("/i/{p_code}")).session(&p).send().status, 302);
    assert_eq!(centre(&p)["inviter"], Value::Null);

    let ledger_before = assert_ledger_holds();
    let (placed, notification) = buy(&a, "chain-a", &store, &gift);
    let order_id = placed["orders"][0]["id"].as_str().expect("order").to_owned();
    for _ in 0..5 {
        let again = call("POST", "/api/payments/notify/dev").json(&notification).send().expect(200);
        assert_eq!(again["result"], "already_processed");
    }
    let p_centre = centre(&p);
    let rewards = p_centre["rewards"].as_array().expect("rewards");
    assert_eq!(rewards.len(), 1, "one reward however often the provider notifies: {p_centre}");
    assert_eq!(rewards[0]["order_id"], order_id.as_str());
    assert_eq!(rewards[0]["kind"], "direct");
    assert_eq!(rewards[0]["amount_fen"], price * 1_000 / 10_000, "an agent's direct rate on the base");
    assert_eq!(rewards[0]["state"], "pending");
    assert_eq!(rewards[0]["rules_version"], 1);
    assert_eq!(p_centre["balances"]["pending_fen"], price / 10);
    assert_eq!(p_centre["directs"][0]["member_id"], a.member_id.as_str());
    assert_eq!(p_centre["qualifying_directs"], 1, "A qualified while P was an agent");
    let ledger_after = assert_ledger_holds();
    assert_eq!(
        ledger_after["payments_fen"].as_i64().expect("p") - ledger_before["payments_fen"].as_i64().expect("p"),
        placed["total_fen"].as_i64().expect("total")
    );

    // B, signed in, opens A's link: bound at once. B buys ordinary goods: direct A, indirect P.
    let b = sign_in(&phone(103));
    let a_code = centre(&a)["invite_code"].as_str().expect("code").to_owned();
    assert_eq!(call("GET", &format!("/i/{a_code}")).session(&b).send().status, 302);
    assert_eq!(centre(&b)["inviter"], a.member_id.as_str());
    let detail = ok_json(&format!("/api/products/p-0301?store={store}"));
    let sku = detail["skus"][0]["sku_id"].as_str().expect("sku").to_owned();
    let goods = detail["skus"][0]["price_fen"].as_i64().expect("price");
    set_stock(&session_for(YANGGUANG_STAFF), "sup-yangguang", &sku, 500);
    buy(&b, "chain-b", &store, &sku);
    let a_rewards = centre(&a)["rewards"].clone();
    assert_eq!(a_rewards.as_array().expect("rewards").len(), 1, "{a_rewards}");
    assert_eq!(
        (a_rewards[0]["kind"].clone(), a_rewards[0]["amount_fen"].clone()),
        (json!("direct"), json!(goods / 10))
    );
    let p_rewards = centre(&p)["rewards"].clone();
    assert_eq!(p_rewards[0]["kind"], "indirect", "{p_rewards}");
    assert_eq!(p_rewards[0]["amount_fen"], goods * 500 / 10_000);
    assert_eq!(centre(&b)["identity"], "member", "ordinary goods do not make an agent");

    // Each sharer sees its own rewards only: A's list has nothing of P's, B has none.
    assert!(a_rewards.as_array().expect("rewards").iter().all(|r| r["kind"] == "direct"));
    assert_eq!(centre(&b)["rewards"], json!([]));
    call("GET", "/api/chain/me").send().error(401, "unauthenticated");
    // Once paid, a member can no longer be bound.
    let c = sign_in(&phone(104));
    let c_code = centre(&c)["invite_code"].as_str().expect("code").to_owned();
    assert_eq!(call("GET", &format!("/i/{c_code}")).session(&b).send().status, 302);
    assert_eq!(centre(&b)["inviter"], a.member_id.as_str());
    assert_ledger_holds();
}
