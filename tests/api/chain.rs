//! The distribution network over HTTP: invite links bind, payments post the rewards the
//! published rules give to the right people, exactly once, and a sharer sees only its own.

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};
use tandem_domain::chain21::rules::Rules;

use crate::commerce::{address, assert_ledger_holds, checkout, line, pay, set_stock};
use crate::http::{Clock, Session, call, code_for, cookie_pair, get, ok_json, session_for, sign_in};

const YANGGUANG_STAFF: &str = "13900000012";
const OPERATOR: &str = "13900000000";
const DAY_MS: i64 = 86_400_000;
const GIFT: &str = "p-0208";

/// A phone of this run: the test also runs against a development database kept between runs.
fn phone(n: u32) -> String {
    format!("1360{:04}{n:03}", std::process::id() % 10_000)
}

fn published() -> Value {
    let rules = call("GET", "/api/operator/chain/rules").session(&session_for(OPERATOR)).send().expect(200);
    let versions = rules["versions"].as_array().expect("versions");
    versions.iter().find(|v| v["state"] == "published").expect("a published version").clone()
}

fn published_version() -> i64 {
    published()["version"].as_i64().expect("n")
}

/// The rules in force, read from the operator's published version (not restated here).
fn published_rules() -> Rules {
    Rules::from_toml(published()["text"].as_str().expect("text")).expect("the published rules parse")
}

/// `bp` basis points of `fen`, rounded down as the ledger does.
fn share(fen: i64, bp: u32) -> i64 {
    fen * i64::from(bp) / 10_000
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
    assert_eq!(answer.status, 200, "{}", answer.text);
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
    assert_eq!(call("GET", &format!("/i/{p_code}")).session(&p).send().status, 200);
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
    let rules = published_rules();
    assert_eq!(rewards[0]["amount_fen"], share(price, rules.direct.agent_bp), "an agent's direct rate on the base");
    assert_eq!(rewards[0]["state"], "pending");
    assert_eq!(rewards[0]["rules_version"], published_version(), "the rules in force are recorded");
    assert_eq!(p_centre["balances"]["pending_fen"], share(price, rules.direct.agent_bp));
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
    assert_eq!(call("GET", &format!("/i/{a_code}")).session(&b).send().status, 200);
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
        (json!("direct"), json!(share(goods, rules.direct.agent_bp)))
    );
    let p_rewards = centre(&p)["rewards"].clone();
    assert_eq!(p_rewards[0]["kind"], "indirect", "{p_rewards}");
    assert_eq!(p_rewards[0]["amount_fen"], share(goods, rules.indirect.bp));
    assert_eq!(centre(&b)["identity"], "member", "ordinary goods do not make an agent");

    // Each sharer sees its own rewards only: A's list has nothing of P's, B has none.
    assert!(a_rewards.as_array().expect("rewards").iter().all(|r| r["kind"] == "direct"));
    assert_eq!(centre(&b)["rewards"], json!([]));
    call("GET", "/api/chain/me").send().error(401, "unauthenticated");
    // Once paid, a member can no longer be bound.
    let c = sign_in(&phone(104));
    let c_code = centre(&c)["invite_code"].as_str().expect("code").to_owned();
    assert_eq!(call("GET", &format!("/i/{c_code}")).session(&b).send().status, 200);
    assert_eq!(centre(&b)["inviter"], a.member_id.as_str());
    assert_ledger_holds();
}

fn reward_of(centre: &Value, order: &str) -> Value {
    centre["rewards"]
        .as_array()
        .expect("rewards")
        .iter()
        .find(|r| r["order_id"] == order)
        .cloned()
        .unwrap_or(Value::Null)
}

/// P is an agent; A, bound to P, buys the gift set for delivery. The order id.
fn agent_and_direct_buyer(first: u32) -> (Session, Session, String) {
    let (store, gift, _) = gift_offer();
    set_stock(&session_for(YANGGUANG_STAFF), "sup-yangguang", &gift, 500);
    let p = sign_in(&phone(first));
    buy(&p, &format!("chain-{first}-p"), &store, &gift);
    let p_code = centre(&p)["invite_code"].as_str().expect("code").to_owned();
    let a = sign_in(&phone(first + 1));
    assert_eq!(call("GET", &format!("/i/{p_code}")).session(&a).send().status, 200);
    let (placed, _) = buy(&a, &format!("chain-{first}-a"), &store, &gift);
    (p, a, placed["orders"][0]["id"].as_str().expect("order").to_owned())
}

#[test]
fn rewards_freeze_on_completion_thaw_by_the_clock_and_pay_out_on_approval() {
    let (p, a, order) = agent_and_direct_buyer(201);
    let pending = reward_of(&centre(&p), &order);
    assert_eq!(pending["state"], "pending", "{pending}");
    let amount = pending["amount_fen"].as_i64().expect("amount");
    assert!(amount >= 100, "a reward big enough to withdraw: {amount}");

    // Shipped, received, and seven days later complete: the reward freezes for the after-sale days.
    let staff = session_for(YANGGUANG_STAFF);
    let shipment = json!({"carrier": "顺丰速运", "tracking_no": "SF2000000201"});
    call("POST", &format!("/api/supplier/sup-yangguang/orders/{order}/shipment"))
        .session(&staff)
        .json(&shipment)
        .send()
        .expect(200);
    call("POST", &format!("/api/orders/{order}/received")).session(&a).send().expect(200);
    let clock = Clock("rewards-freeze");
    clock.set(8 * DAY_MS);
    let jobs = clock.jobs_for(&a);
    assert_eq!((jobs["completed_orders"].as_u64(), jobs["thawed_rewards"].as_u64()), (Some(1), Some(0)), "{jobs}");
    let p_centre = centre(&p);
    let frozen = reward_of(&p_centre, &order);
    assert_eq!(frozen["state"], "frozen", "{frozen}");
    let thaw_at = frozen["thaw_at"].as_i64().expect("a thaw date");
    assert!(p_centre["balances"]["frozen_fen"].as_i64().expect("frozen") >= amount);
    assert_eq!(p_centre["balances"]["available_fen"], 0);

    // Not before its date; after it, the cron's run makes it available.
    clock.set(9 * DAY_MS);
    assert_eq!(clock.jobs_for(&a)["thawed_rewards"], 0);
    assert_eq!(reward_of(&centre(&p), &order)["state"], "frozen");
    clock.set(16 * DAY_MS);
    let jobs = clock.jobs_for(&a);
    // The one reward of the order (P is A's inviter and an agent: one direct reward).
    assert_eq!(jobs["thawed_rewards"], 1, "{jobs} (thaw at {thaw_at})");
    let p_centre = centre(&p);
    assert_eq!(reward_of(&p_centre, &order)["state"], "available");
    assert_eq!(p_centre["balances"]["available_fen"], amount);
    assert_eq!(p_centre["balances"]["frozen_fen"], 0);

    // Withdrawals: more than available is refused; the same key twice is one withdrawal.
    let ask = |fen: i64, key: &str| {
        call("POST", "/api/chain/withdrawals").session(&p).json(&json!({"amount_fen": fen, "request_key": key})).send()
    };
    ask(amount + 1, "too-much-201").error(409, "insufficient_balance");
    ask(50, "too-small-201").error(400, "bad_request");
    let first = ask(100, "first-key-201");
    assert_eq!(first.status, 201, "{}", first.text);
    let again = ask(100, "first-key-201").expect(200);
    assert_eq!(again["withdrawal"]["id"], first.json()["withdrawal"]["id"]);
    let rest = amount - 100;
    let second = ask(rest, "second-key-201");
    assert_eq!(second.status, 201, "{}", second.text);
    ask(1, "third-key-2010").error(400, "bad_request");
    ask(100, "third-key-2011").error(409, "insufficient_balance");
    let balances = centre(&p)["balances"].clone();
    assert_eq!((balances["available_fen"].as_i64(), balances["withdrawing_fen"].as_i64()), (Some(0), Some(amount)));
    // Only the operator decides; a sharer cannot.
    let first_id = first.json()["withdrawal"]["id"].as_str().expect("id").to_owned();
    let second_id = second.json()["withdrawal"]["id"].as_str().expect("id").to_owned();
    call("POST", &format!("/api/operator/chain/withdrawals/{first_id}"))
        .session(&p)
        .json(&json!({"approve": true}))
        .send()
        .error(404, "not_found");
    let operator = session_for(OPERATOR);
    let waiting = call("GET", "/api/operator/chain/withdrawals").session(&operator).send().expect(200);
    assert!(waiting["withdrawals"].as_array().expect("list").iter().any(|w| w["id"] == first_id.as_str()));
    let decide = |id: &str, approve: bool| {
        call("POST", &format!("/api/operator/chain/withdrawals/{id}"))
            .session(&operator)
            .json(&json!({"approve": approve, "note": "微信零钱"}))
            .send()
    };
    assert_eq!(decide(&first_id, true).expect(200)["withdrawal"]["state"], "paid");
    decide(&first_id, false).error(409, "already_decided");
    assert_eq!(decide(&second_id, false).expect(200)["withdrawal"]["state"], "rejected");
    let p_centre = centre(&p);
    let balances = &p_centre["balances"];
    assert_eq!(
        (balances["available_fen"].as_i64(), balances["withdrawing_fen"].as_i64(), balances["paid_out_fen"].as_i64()),
        (Some(rest), Some(0), Some(100))
    );
    let history: Vec<&str> =
        p_centre["withdrawals"].as_array().expect("history").iter().map(|w| w["state"].as_str().expect("s")).collect();
    assert_eq!(history.len(), 2);
    assert!(history.contains(&"paid") && history.contains(&"rejected"));
    assert_ledger_holds();
}

#[test]
fn a_refund_voids_rewards_and_takes_back_the_identity_it_gave() {
    let (p, a, order) = agent_and_direct_buyer(301);
    assert_eq!(centre(&a)["identity"], "agent");
    let before = centre(&p);
    let pending = reward_of(&before, &order);
    let amount = pending["amount_fen"].as_i64().expect("amount");
    assert!(amount > 0);

    // Before hand-over the refund is automatic and whole: the reward is voided to nothing.
    let refund =
        call("POST", &format!("/api/orders/{order}/refund")).session(&a).json(&json!({"reason": "不想要了"})).send();
    assert_eq!(refund.expect(200)["automatic"], true);
    let after = centre(&p);
    let voided = reward_of(&after, &order);
    assert_eq!((voided["amount_fen"].as_i64(), voided["voided_fen"].as_i64()), (Some(0), Some(amount)), "{voided}");
    assert_eq!(voided["clawback_fen"], 0);
    assert_eq!(
        after["balances"]["pending_fen"].as_i64().expect("p"),
        before["balances"]["pending_fen"].as_i64().expect("p") - amount
    );
    // qualify_on = paid: a full refund of the qualifying order before completion revokes.
    assert_eq!(centre(&a)["identity"], "member");
    assert_ledger_holds();
}

#[test]
fn the_team_poster_and_the_operators_tree() {
    let (p, a, _) = agent_and_direct_buyer(401);
    let renamed =
        call("PUT", "/api/chain/me").session(&p).json(&json!({"display_name": "小周<店长>"})).send().expect(200);
    assert_eq!(renamed["display_name"], "小周<店长>");
    call("PUT", "/api/chain/me")
        .session(&p)
        .json(&json!({"display_name": "x".repeat(21)}))
        .send()
        .error(400, "bad_request");

    let team = call("GET", "/api/chain/team").session(&p).send().expect(200);
    let node = &team["members"][0];
    assert_eq!(node["member_id"], a.member_id.as_str(), "{team}");
    assert_eq!((node["identity"].as_str(), node["k"].as_i64()), (Some("agent"), Some(0)));
    assert!(node["gmv_fen"].as_i64().expect("gmv") > 0, "A's own order counts: {node}");
    assert!(node["name"].as_str().expect("name").contains("****"), "a masked phone: {node}");
    // A opened P's link and paid: one visitor, one conversion, K = 1 over the period.
    let stats = centre(&p)["stats"].clone();
    assert_eq!(
        (
            stats["visitors"].as_i64(),
            stats["conversions"].as_i64(),
            stats["conversion_bp"].as_i64(),
            stats["k"].as_i64()
        ),
        (Some(1), Some(1), Some(10_000), Some(1)),
        "{stats}"
    );
    assert_eq!(centre(&p)["directs"].as_array().expect("directs").len(), 1);
    // A's subtree is open to P; P's is not open to A.
    call("GET", &format!("/api/chain/team?parent={}", a.member_id)).session(&p).send().expect(200);
    call("GET", &format!("/api/chain/team?parent={}", p.member_id)).session(&a).send().error(404, "not_found");

    let poster = call("GET", "/api/chain/poster.svg?store=s-jingan").session(&p).send();
    assert_eq!(poster.status, 200);
    assert!(poster.content_type.starts_with("image/svg+xml"), "{}", poster.content_type);
    let code = centre(&p)["invite_code"].as_str().expect("code").to_owned();
    assert!(poster.text.contains(&format!("/i/{code}")) && poster.text.contains("小周&lt;店长&gt;"), "{}", poster.text);
    call("GET", "/api/chain/poster.svg").send().error(401, "unauthenticated");

    let operator = session_for(OPERATOR);
    let found =
        call("GET", &format!("/api/operator/chain/members?q={}", phone(402))).session(&operator).send().expect(200);
    assert_eq!(found["members"][0]["member_id"], a.member_id.as_str(), "{found}");
    assert_eq!(found["path"], json!([p.member_id]));
    let children = call("GET", &format!("/api/operator/chain/members?parent={}", p.member_id))
        .session(&operator)
        .send()
        .expect(200);
    assert_eq!(children["members"][0]["member_id"], a.member_id.as_str());
    call("GET", "/api/operator/chain/members").session(&p).send().error(404, "not_found");
}

#[test]
fn the_operator_drafts_and_publishes_rules_acknowledging_each_finding() {
    let operator = session_for(OPERATOR);
    let before = published_version();
    let text = "preset = \"chain21\"\n[direct]\nagent_bp = 1200\n[upgrade]\nenabled = true\nrequired_directs = 3\n";
    let checked =
        call("POST", "/api/operator/chain/rules/check").session(&operator).json(&json!({"text": text})).send();
    let findings: Vec<String> = checked.expect(200)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect();
    assert!(findings.contains(&"entry_fee".to_owned()), "{findings:?}");
    let bad = call("POST", "/api/operator/chain/rules/check")
        .session(&operator)
        .json(&json!({"text": "preset = \"chain21\"\n[cap]\ntotal_bp = 20000\n"}))
        .send();
    assert!(bad.error(400, "bad_request")["message"].as_str().expect("m").contains("cap.total_bp"));

    let draft = call("POST", "/api/operator/chain/rules").session(&operator).json(&json!({"text": text})).send();
    assert_eq!(draft.status, 201, "{}", draft.text);
    let version = draft.json()["version"].as_i64().expect("version");
    assert!(version > before);
    let publish = |acknowledged: &[String]| {
        call("POST", &format!("/api/operator/chain/rules/{version}/publish"))
            .session(&operator)
            .json(&json!({"acknowledged": acknowledged}))
            .send()
    };
    publish(&findings[1..]).error(422, "unacknowledged_findings");
    assert_eq!(published_version(), before, "nothing changes without every acknowledgement");
    assert_eq!(publish(&findings).expect(200)["state"], "published");
    publish(&findings).error(409, "not_a_draft");
    let listed = call("GET", "/api/operator/chain/rules").session(&operator).send().expect(200);
    let state_of = |n: i64| {
        listed["versions"].as_array().expect("versions").iter().find(|v| v["version"] == n).expect("version")["state"]
            .clone()
    };
    assert_eq!((state_of(version), state_of(before)), (json!("published"), json!("retired")));

    // A payment now pays the new rate and records the new version; the sharer centre asks
    // for the new number of directs.
    let (p, _, order) = agent_and_direct_buyer(501);
    let (_, _, price) = gift_offer();
    assert_eq!(centre(&p)["required_directs"], 3, "as published");
    let reward = reward_of(&centre(&p), &order);
    assert_eq!(
        (reward["amount_fen"].as_i64(), reward["rules_version"].as_i64()),
        (Some(share(price, published_rules().direct.agent_bp)), Some(version))
    );

    // Back to the preset for the other tests.
    let restore = call("POST", "/api/operator/chain/rules")
        .session(&operator)
        .json(&json!({"text": "preset = \"chain21\"\n"}))
        .send();
    let restored = restore.expect(201)["version"].as_i64().expect("version");
    call("POST", &format!("/api/operator/chain/rules/{restored}/publish"))
        .session(&operator)
        .json(&json!({"acknowledged": findings}))
        .send()
        .expect(200);

    // Product flags are the operator's.
    let flags = json!({"designated": true, "commissionable": true});
    call("PUT", "/api/operator/products/p-0208/chain").session(&operator).json(&flags).send().expect(200);
    call("PUT", "/api/operator/products/p-nope/chain").session(&operator).json(&flags).send().error(404, "not_found");
    call("PUT", "/api/operator/products/p-0208/chain").session(&p).json(&flags).send().error(404, "not_found");
}

/// Payments applied and payment write tries a guard refused, as the Worker counts them.
fn payment_tries() -> (i64, i64) {
    let stats = get("/api/dev/stats").expect(200);
    (stats["payments_applied"].as_i64().expect("applied"), stats["payment_tries_refused"].as_i64().expect("refused"))
}

/// Opens a payment for each placed checkout, then confirms them all at once, each on its own
/// connection; the confirmations' answers.
fn confirm_at_once(placed: Vec<(Session, Value)>) -> Vec<Value> {
    let barrier = Arc::new(Barrier::new(placed.len()));
    let handles: Vec<_> = placed
        .into_iter()
        .map(|(session, checkout)| {
            let id = checkout["id"].as_str().expect("checkout id").to_owned();
            let payment = call("POST", &format!("/api/checkouts/{id}/payments")).session(&session).send().expect(201);
            let payment = payment["payment"]["id"].as_str().expect("payment").to_owned();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                call("POST", &format!("/api/payments/{payment}/confirm")).session(&session).send().expect(200)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("a payer thread")).collect()
}

/// Payments conflict only on what they share: buyers under different sharers, or under none,
/// paid at once, read nothing another changes, so the Worker refuses none of their writes;
/// two directs of one agent qualifying at once both count, as in some serial order.
#[test]
fn concurrent_payments_wait_only_for_what_they_share() {
    let (store, gift, _) = gift_offer();
    let staff = session_for(YANGGUANG_STAFF);
    set_stock(&staff, "sup-yangguang", &gift, 500);
    let detail = ok_json(&format!("/api/products/p-0301?store={store}"));
    let goods = detail["skus"][0]["sku_id"].as_str().expect("sku").to_owned();
    set_stock(&staff, "sup-yangguang", &goods, 500);
    let code = |session: &Session| centre(session)["invite_code"].as_str().expect("code").to_owned();
    let sharers: Vec<Session> = (0..6)
        .map(|i| {
            let sharer = sign_in(&phone(601 + i));
            buy(&sharer, &format!("together-sharer-{i}"), &store, &gift);
            sharer
        })
        .collect();
    let mut placed = Vec::new();
    for i in 0..12 {
        let buyer = sign_in(&phone(611 + i));
        if let Some(sharer) = sharers.get(i as usize) {
            assert_eq!(call("GET", &format!("/i/{}", code(sharer))).session(&buyer).send().status, 200);
        }
        let body = json!({"store_id": store, "lines": [line(&goods, 1, "delivery")], "address": address()});
        placed.push((buyer.clone(), checkout(&buyer, &format!("together-{i}"), &body)));
    }
    let before = payment_tries();
    let confirmed = confirm_at_once(placed);
    assert!(confirmed.iter().all(|c| c["result"] == "paid"), "{confirmed:?}");
    let after = payment_tries();
    assert_eq!(after.0 - before.0, 12, "every payment applied once");
    assert_eq!(after.1 - before.1, 0, "no payment of an unrelated buyer was refused for another's");
    for sharer in &sharers {
        let rewards = centre(sharer)["rewards"].as_array().expect("rewards").len();
        assert_eq!(rewards, 1, "each sharer earns from its own buyer only");
    }

    // Two directs of one fresh agent buy the designated product at once: both qualify, and
    // both count for their inviter (neither read lost the other's).
    let agent = sign_in(&phone(631));
    buy(&agent, "together-agent", &store, &gift);
    let directs: Vec<(Session, Value)> = (0..2)
        .map(|i| {
            let direct = sign_in(&phone(632 + i));
            assert_eq!(call("GET", &format!("/i/{}", code(&agent))).session(&direct).send().status, 200);
            let body = json!({"store_id": store, "lines": [line(&gift, 1, "delivery")], "address": address()});
            let placed = checkout(&direct, &format!("together-direct-{i}"), &body);
            (direct, placed)
        })
        .collect();
    let confirmed = confirm_at_once(directs);
    assert!(confirmed.iter().all(|c| c["result"] == "paid"), "{confirmed:?}");
    let agent_centre = centre(&agent);
    assert_eq!(agent_centre["qualifying_directs"], 2, "{agent_centre}");
    assert_eq!(agent_centre["rewards"].as_array().expect("rewards").len(), 2);
    assert_ledger_holds();
}
