//! Buying: cart, checkout with stock holds, payment through the dev provider, fulfilment by
//! store and supplier, refunds, the ledger's invariants, concurrency and tenant isolation.

use std::sync::{Arc, Barrier};

use serde_json::{Value, json};

use crate::http::{Answer, Clock, Session, call, get, ok_json, session_for, sign_in};

const OPERATOR: &str = "13900000000";
const JINGAN_CLERK: &str = "13900000002";
const TIANHE_CLERK: &str = "13900000004";
const TIANHE_OWNER: &str = "13900000003";
const HUAFANG_STAFF: &str = "13900000011";
const YANGGUANG_STAFF: &str = "13900000012";

pub fn address() -> Value {
    json!({"name": "王小明", "phone": "13800138000", "region": "上海市 静安区", "detail": "南京西路 1 号 1201 室"})
}

pub fn line(sku: &str, quantity: i64, fulfilment: &str) -> Value {
    json!({"sku_id": sku, "quantity": quantity, "fulfilment": fulfilment})
}

pub fn place(session: &Session, key: &str, body: &Value) -> Answer {
    call("POST", "/api/orders").session(session).header("idempotency-key", key).json(body).send()
}

/// Places a checkout that must succeed; its JSON.
pub fn checkout(session: &Session, key: &str, body: &Value) -> Value {
    place(session, key, body).expect(201)["checkout"].clone()
}

/// Pays a checkout through the dev provider's page; the confirm answer (with the notification).
pub fn pay(session: &Session, checkout: &Value) -> Value {
    let id = checkout["id"].as_str().expect("checkout id");
    let created = call("POST", &format!("/api/checkouts/{id}/payments")).session(session).send();
    assert!(created.status == 201 || created.status == 200, "{}", created.text);
    let payment = created.json()["payment"].clone();
    assert_eq!(payment["amount_fen"], checkout["total_fen"]);
    assert_eq!(payment["pay_url"], format!("/pay/{}", payment["id"].as_str().expect("payment id")));
    let confirmed = call("POST", &format!("/api/payments/{}/confirm", payment["id"].as_str().expect("id")))
        .session(session)
        .send()
        .expect(200);
    assert_eq!(confirmed["result"], "paid", "{confirmed}");
    confirmed
}

fn order(session: &Session, id: &str) -> Value {
    call("GET", &format!("/api/orders/{id}")).session(session).send().expect(200)["order"].clone()
}

pub fn order_id(checkout: &Value, fulfilment: &str) -> String {
    checkout["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .find(|o| o["fulfilment"] == fulfilment)
        .and_then(|o| o["id"].as_str())
        .expect("an order of that fulfilment")
        .to_owned()
}

/// Units a shopper can get of a SKU at a store by one fulfilment option (0 when out of stock).
fn units(product: &str, sku: &str, fulfilment: &str) -> i64 {
    let detail = ok_json(&format!("/api/products/{product}?store=s-jingan"));
    let offer = detail["skus"].as_array().expect("skus").iter().find(|s| s["sku_id"] == sku).expect("the sku").clone();
    offer[fulfilment]["units"].as_i64().unwrap_or(0)
}

pub fn set_stock(staff: &Session, supplier: &str, sku: &str, on_hand: i64) {
    call("PUT", &format!("/api/supplier/{supplier}/stock"))
        .session(staff)
        .json(&json!({"sku_id": sku, "on_hand": on_hand}))
        .send()
        .expect(200);
}

/// The ledger's invariants from money.md, as the operator sees them.
pub fn assert_ledger_holds() -> Value {
    let operator = session_for(OPERATOR);
    let ledger = call("GET", "/api/operator/ledger").session(&operator).send().expect(200);
    assert_eq!(ledger["sum_fen"], 0, "the ledger sums to zero: {ledger}");
    assert_eq!(ledger["unbalanced_transactions"], json!([]), "{ledger}");
    let clearing = ledger["clearing_fen"].as_i64().expect("clearing");
    let paid = ledger["payments_fen"].as_i64().expect("payments");
    let refunded = ledger["refunds_fen"].as_i64().expect("refunds");
    assert_eq!(clearing, paid - refunded, "clearing = payments − refunds: {ledger}");
    ledger
}

#[test]
fn a_pickup_purchase_from_cart_to_collection() {
    // A cart started before sign-in follows the shopper in.
    let anonymous = call("PUT", "/api/cart/lines")
        .json(&json!({"store_id": "s-jingan", "sku_id": "p-0103-01", "fulfilment": "pickup", "quantity": 1}))
        .send();
    let cart_cookie = crate::http::cookie_pair(&anonymous);
    assert!(cart_cookie.starts_with("tandem_cart="), "{cart_cookie}");
    let phone = "13700000001";
    let code = crate::http::code_for(phone);
    let signed_in = call("POST", "/api/auth/session")
        .header("cookie", &cart_cookie)
        .json(&json!({"phone": phone, "code": code}))
        .send();
    let shopper = Session {
        cookie: crate::http::cookie_pair(&signed_in),
        member_id: signed_in.expect(200)["member"]["id"].as_str().expect("id").to_owned(),
    };
    let cart = call("GET", "/api/cart").session(&shopper).send().expect(200);
    assert_eq!(cart["cart"]["lines"][0]["sku_id"], "p-0103-01", "the anonymous cart was merged: {cart}");
    assert_eq!(call("GET", "/api/cart").header("cookie", &cart_cookie).send().expect(200)["cart"]["lines"], json!([]));

    let before = units("p-0103", "p-0103-01", "pickup");
    assert!(before >= 1);
    let placed =
        checkout(&shopper, "pickup-1", &json!({"store_id": "s-jingan", "lines": [line("p-0103-01", 1, "pickup")]}));
    assert_eq!(placed["orders"].as_array().expect("orders").len(), 1);
    assert_eq!(units("p-0103", "p-0103-01", "pickup"), before - 1, "the unit is held");
    let id = order_id(&placed, "pickup");
    assert_eq!(
        call("GET", "/api/cart").session(&shopper).send().expect(200)["cart"]["lines"],
        json!([]),
        "bought lines leave the cart"
    );

    pay(&shopper, &placed);
    let paid = order(&shopper, &id);
    assert_eq!(paid["state"], "ready_for_pickup");
    let code = paid["pickup_code"].as_str().expect("a pickup code").to_owned();
    assert_eq!(code.len(), 8);
    let qr = call("GET", &format!("/api/orders/{id}/pickup-qr.svg")).session(&shopper).send();
    assert_eq!(qr.status, 200);
    assert!(qr.content_type.starts_with("image/svg+xml") && qr.text.starts_with("<svg"));

    // A clerk of another store cannot, a clerk of this one can.
    let other = session_for(TIANHE_CLERK);
    let refused = call("POST", "/api/store/s-tianhe/pickups").session(&other).json(&json!({"code": code})).send();
    refused.error(404, "not_found");
    call("POST", "/api/store/s-jingan/pickups")
        .session(&other)
        .json(&json!({"code": code}))
        .send()
        .error(404, "not_found");
    let clerk = session_for(JINGAN_CLERK);
    let scanned = format!("TANDEM-PICKUP:{code}");
    let verified =
        call("POST", "/api/store/s-jingan/pickups").session(&clerk).json(&json!({"code": scanned})).send().expect(200);
    assert_eq!(verified["order"]["state"], "picked_up");
    call("POST", "/api/store/s-jingan/pickups")
        .session(&clerk)
        .json(&json!({"code": code}))
        .send()
        .error(409, "illegal_transition");

    let store_orders = call("GET", "/api/store/s-jingan/orders").session(&clerk).send().expect(200);
    assert!(store_orders["orders"].as_array().expect("orders").iter().any(|o| o["id"] == id.as_str()));

    // Seven days after pickup the order completes by itself.
    let clock = Clock("pickup-purchase");
    clock.set(8 * 86_400_000);
    let jobs = clock.jobs_for(&shopper);
    assert_eq!((jobs["completed_orders"].as_u64(), jobs["released_checkouts"].as_u64()), (Some(1), Some(0)), "{jobs}");
    let done = order(&shopper, &id);
    assert_eq!(done["state"], "completed");
    let events: Vec<&str> =
        done["timeline"].as_array().expect("timeline").iter().map(|e| e["event"].as_str().expect("event")).collect();
    assert_eq!(events, ["place", "pay", "prepare", "pick_up", "complete"]);

    let settlement =
        call("GET", "/api/store/s-jingan/settlement").session(&session_for("13900000001")).send().expect(200);
    assert!(settlement["settlement"]["lines"].as_array().expect("lines").iter().any(|l| l["order_id"] == id.as_str()));
    assert_ledger_holds();
}

#[test]
fn a_delivery_purchase_split_per_supplier_shipped_and_received() {
    let shopper = sign_in("13700000002");
    // Two suppliers' goods for delivery, one for pickup: three orders, one payment.
    let body = json!({
        "store_id": "s-jingan",
        "lines": [line("p-0103-02", 1, "delivery"), line("p-0201-01", 1, "delivery"), line("p-0103-03", 1, "pickup")],
        "address": address(),
    });
    let placed = checkout(&shopper, "delivery-1", &body);
    let orders = placed["orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 3, "{placed}");
    let total: i64 = orders.iter().map(|o| o["total_fen"].as_i64().expect("total")).sum();
    assert_eq!(placed["total_fen"], total);
    for order in orders {
        let goods: i64 = order["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| l["price_fen"].as_i64().expect("price") * l["quantity"].as_i64().expect("q"))
            .sum();
        assert_eq!(order["goods_fen"], goods);
        assert_eq!(order["total_fen"].as_i64(), Some(goods + order["shipping_fen"].as_i64().expect("shipping")));
    }
    pay(&shopper, &placed);

    let delivery = orders.iter().find(|o| o["shipper_id"] == "sup-huafang").expect("huafang's part");
    let id = delivery["id"].as_str().expect("id");
    assert_eq!(order(&shopper, id)["state"], "paid");
    let staff = session_for(HUAFANG_STAFF);
    let listed = call("GET", "/api/supplier/sup-huafang/orders").session(&staff).send().expect(200);
    let mine = listed["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .find(|o| o["order"]["id"] == id)
        .expect("the order")
        .clone();
    assert_eq!(mine["address"]["detail"], "南京西路 1 号 1201 室");
    let other = session_for(YANGGUANG_STAFF);
    let shipment = json!({"carrier": "顺丰速运", "tracking_no": "SF1234567890"});
    call("POST", &format!("/api/supplier/sup-yangguang/orders/{id}/shipment"))
        .session(&other)
        .json(&shipment)
        .send()
        .error(404, "not_found");
    call("POST", &format!("/api/supplier/sup-huafang/orders/{id}/shipment"))
        .session(&other)
        .json(&shipment)
        .send()
        .error(404, "not_found");
    let bad = call("POST", &format!("/api/supplier/sup-huafang/orders/{id}/shipment"))
        .session(&staff)
        .json(&json!({"carrier": "顺丰", "tracking_no": "no spaces"}))
        .send();
    assert_eq!(bad.error(400, "bad_request")["field"], "tracking_no");
    let shipped = call("POST", &format!("/api/supplier/sup-huafang/orders/{id}/shipment"))
        .session(&staff)
        .json(&shipment)
        .send()
        .expect(200);
    assert_eq!(shipped["order"]["state"], "shipped");
    let seen = order(&shopper, id);
    assert_eq!((seen["carrier"].as_str(), seen["tracking_no"].as_str()), (Some("顺丰速运"), Some("SF1234567890")));
    let received = call("POST", &format!("/api/orders/{id}/received")).session(&shopper).send().expect(200);
    assert_eq!(received["order"]["state"], "delivered");

    let settlement = call("GET", "/api/supplier/sup-huafang/settlement").session(&staff).send().expect(200);
    let line = settlement["settlement"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .find(|l| l["order_id"] == id)
        .expect("this order")
        .clone();
    assert!(line["amount_fen"].as_i64().expect("amount") > 0, "the supplier is owed its supply price: {line}");
    assert_ledger_holds();
}

#[test]
fn refunds_before_and_after_hand_over() {
    let shopper = sign_in("13700000003");
    let before = units("p-0103", "p-0103-04", "delivery");
    let placed = checkout(
        &shopper,
        "refund-1",
        &json!({"store_id": "s-jingan", "lines": [line("p-0103-04", 2, "delivery")], "address": address()}),
    );
    pay(&shopper, &placed);
    let id = order_id(&placed, "delivery");
    assert_eq!(units("p-0103", "p-0103-04", "delivery"), before - 2, "sold units leave the shelf");

    // Not shipped yet: refunded at once, in full, and the goods are back.
    let refunded = call("POST", &format!("/api/orders/{id}/refund"))
        .session(&shopper)
        .json(&json!({"reason": "买错了"}))
        .send()
        .expect(200);
    assert_eq!(refunded["automatic"], true);
    assert_eq!(refunded["order"]["state"], "refunded");
    assert_eq!(refunded["order"]["refunded_fen"], placed["orders"][0]["total_fen"]);
    assert_eq!(units("p-0103", "p-0103-04", "delivery"), before);
    call("POST", &format!("/api/orders/{id}/refund"))
        .session(&shopper)
        .json(&json!({"reason": "again"}))
        .send()
        .error(409, "refund_not_allowed");

    // Shipped: the supplier decides, here for part of it.
    let placed = checkout(
        &shopper,
        "refund-2",
        &json!({"store_id": "s-jingan", "lines": [line("p-0103-05", 2, "delivery")], "address": address()}),
    );
    pay(&shopper, &placed);
    let id = order_id(&placed, "delivery");
    let staff = session_for(HUAFANG_STAFF);
    call("POST", &format!("/api/supplier/sup-huafang/orders/{id}/shipment"))
        .session(&staff)
        .json(&json!({"carrier": "中通", "tracking_no": "ZT20261124001"}))
        .send()
        .expect(200);
    let asked = call("POST", &format!("/api/orders/{id}/refund"))
        .session(&shopper)
        .json(&json!({"reason": "一件有瑕疵"}))
        .send()
        .expect(200);
    assert_eq!(
        (asked["automatic"].as_bool(), asked["order"]["state"].as_str()),
        (Some(false), Some("refund_requested"))
    );
    let goods = placed["orders"][0]["goods_fen"].as_i64().expect("goods");
    let too_much = json!({"approve": true, "amount": {"goods_fen": goods + 1, "shipping_fen": 0}});
    call("POST", &format!("/api/supplier/sup-huafang/orders/{id}/refund"))
        .session(&staff)
        .json(&too_much)
        .send()
        .error(400, "bad_request");
    let half = json!({"approve": true, "amount": {"goods_fen": goods / 2, "shipping_fen": 0}});
    let decided = call("POST", &format!("/api/supplier/sup-huafang/orders/{id}/refund"))
        .session(&staff)
        .json(&half)
        .send()
        .expect(200);
    assert_eq!(decided["order"]["state"], "partially_refunded");
    assert_eq!(decided["order"]["refunded_fen"], goods / 2);
    // The store cannot decide a delivery order's refund.
    let owner = session_for("13900000001");
    call("POST", &format!("/api/store/s-jingan/orders/{id}/refund"))
        .session(&owner)
        .json(&half)
        .send()
        .error(404, "not_found");
    assert_ledger_holds();
}

#[test]
fn the_same_idempotency_key_replays_the_first_answer() {
    let shopper = sign_in("13700000004");
    let body = json!({"store_id": "s-jingan", "lines": [line("p-0103-06", 1, "delivery")], "address": address()});
    let first = place(&shopper, "same-key", &body);
    assert_eq!(first.status, 201);
    // The same request spelled differently is the same request.
    let spaced = format!(" {} ", serde_json::to_string_pretty(&body).expect("json"));
    let again = call("POST", "/api/orders").session(&shopper).header("idempotency-key", "same-key").raw(&spaced).send();
    assert_eq!((again.status, again.text.as_str()), (201, first.text.as_str()));
    let list = call("GET", "/api/orders").session(&shopper).send().expect(200);
    assert_eq!(list["orders"].as_array().expect("orders").len(), 1, "one checkout, not two");
    let other = json!({"store_id": "s-jingan", "lines": [line("p-0103-06", 2, "delivery")], "address": address()});
    place(&shopper, "same-key", &other).error(422, "idempotency_key_reused");
    // Another member's same key is theirs.
    assert_eq!(place(&sign_in("13700000005"), "same-key", &body).status, 201);

    // A refusal is replayed too, even after the stock came back.
    let too_many = json!({"store_id": "s-jingan", "lines": [line("p-0103-07", 99, "pickup")]});
    let refused = place(&shopper, "short", &too_many);
    let body409 = refused.error(409, "out_of_stock");
    assert_eq!((body409["sku_id"].as_str(), body409["fulfilment"].as_str()), (Some("p-0103-07"), Some("pickup")));
    set_stock(&session_for(HUAFANG_STAFF), "sup-huafang", "p-0103-07", 500);
    let replayed = place(&shopper, "short", &too_many);
    assert_eq!((replayed.status, replayed.text), (409, refused.text));
    call("POST", "/api/orders").session(&shopper).json(&body).send().error(400, "bad_request");
}

#[test]
fn notifications_are_verified_and_applied_once() {
    let shopper = sign_in("13700000006");
    let placed = checkout(
        &shopper,
        "notify-1",
        &json!({"store_id": "s-jingan", "lines": [line("p-0103-08", 1, "delivery")], "address": address()}),
    );
    let ledger_before = assert_ledger_holds();
    let confirmed = pay(&shopper, &placed);
    let notification = confirmed["notification"].clone();
    let ledger_after = assert_ledger_holds();
    let paid = ledger_after["payments_fen"].as_i64().expect("p") - ledger_before["payments_fen"].as_i64().expect("p");
    assert_eq!(Some(paid), placed["total_fen"].as_i64());
    for _ in 0..10 {
        let again = call("POST", "/api/payments/notify/dev").json(&notification).send().expect(200);
        assert_eq!(again["result"], "already_processed");
    }
    assert_eq!(assert_ledger_holds()["clearing_fen"], ledger_after["clearing_fen"], "ten deliveries, one posting");

    let mut forged = notification.clone();
    forged["amount_fen"] = json!(1);
    call("POST", "/api/payments/notify/dev").json(&forged).send().error(400, "bad_signature");
    let mut unsigned = notification.clone();
    unsigned["signature"] = json!("0".repeat(64));
    call("POST", "/api/payments/notify/dev").json(&unsigned).send().error(400, "bad_signature");
    let mut extra = notification.clone();
    extra["bonus"] = json!(true);
    assert_eq!(
        call("POST", "/api/payments/notify/dev").json(&extra).send().error(400, "bad_request")["field"],
        "bonus"
    );
    call("POST", "/api/payments/notify/wechat").json(&notification).send().error(404, "not_found");
    let payment = call("GET", &format!("/api/payments/{}", notification["payment_id"].as_str().expect("id")))
        .session(&shopper)
        .send()
        .expect(200);
    assert_eq!(payment["payment"]["status"], "succeeded");
    // Paid once: no second payment for the checkout.
    let checkout_id = placed["id"].as_str().expect("id");
    call("POST", &format!("/api/checkouts/{checkout_id}/payments"))
        .session(&shopper)
        .send()
        .error(409, "checkout_closed");
}

#[test]
fn holds_expire_and_give_the_stock_back() {
    let shopper = sign_in("13700000007");
    let before = units("p-0103", "p-0103-09", "delivery");
    let placed = checkout(
        &shopper,
        "expire-1",
        &json!({"store_id": "s-jingan", "lines": [line("p-0103-09", 3, "delivery")], "address": address()}),
    );
    assert_eq!(units("p-0103", "p-0103-09", "delivery"), before - 3);
    let id = placed["id"].as_str().expect("id");
    let payment =
        call("POST", &format!("/api/checkouts/{id}/payments")).session(&shopper).send().expect(201)["payment"].clone();

    let clock = Clock("holds-expire");
    clock.set(16 * 60_000);
    let jobs = clock.jobs_for(&shopper);
    let late_payment = call("POST", &format!("/api/checkouts/{id}/payments")).on(&clock).session(&shopper).send();
    let late_confirm = call("POST", &format!("/api/payments/{}/confirm", payment["id"].as_str().expect("id")))
        .on(&clock)
        .session(&shopper)
        .send();
    assert_eq!(jobs["released_checkouts"], 1, "{jobs}");
    assert_eq!(clock.jobs_for(&shopper)["released_checkouts"], 0, "a hold is released once");
    assert_eq!(units("p-0103", "p-0103-09", "delivery"), before, "released");
    let order = order(&shopper, &order_id(&placed, "delivery"));
    assert_eq!(order["state"], "cancelled");
    assert_eq!(order["timeline"][1]["event"], "expire");
    late_payment.error(409, "checkout_closed");
    assert_eq!(late_confirm.expect(200)["result"], "returned", "money for an expired checkout goes back");
    assert_ledger_holds();

    // Cancelling an unpaid order releases at once; a paid one cannot be cancelled.
    let placed = checkout(
        &shopper,
        "cancel-1",
        &json!({"store_id": "s-jingan", "lines": [line("p-0103-09", 1, "delivery")], "address": address()}),
    );
    let id = order_id(&placed, "delivery");
    assert_eq!(
        call("POST", &format!("/api/orders/{id}/cancel")).session(&shopper).send().expect(200)["order"]["state"],
        "cancelled"
    );
    assert_eq!(units("p-0103", "p-0103-09", "delivery"), before);
    call("POST", &format!("/api/orders/{id}/cancel")).session(&shopper).send().error(409, "order_not_cancellable");
}

/// The notification handler refuses money for a checkout whose hold ran out, also before the
/// release job has run (a minute in production, never by itself here).
#[test]
fn money_after_the_hold_ran_out_is_returned_before_the_release_job() {
    let shopper = sign_in("13700000021");
    let placed = checkout(
        &shopper,
        "late-1",
        &json!({"store_id": "s-jingan", "lines": [line("p-0103-09", 1, "delivery")], "address": address()}),
    );
    let id = placed["id"].as_str().expect("id");
    let payment =
        call("POST", &format!("/api/checkouts/{id}/payments")).session(&shopper).send().expect(201)["payment"].clone();
    let ledger_before = assert_ledger_holds();
    let clock = Clock("late-money");
    clock.set(16 * 60_000);
    let late_confirm = call("POST", &format!("/api/payments/{}/confirm", payment["id"].as_str().expect("id")))
        .on(&clock)
        .session(&shopper)
        .send();
    let late_payment = call("POST", &format!("/api/checkouts/{id}/payments")).on(&clock).session(&shopper).send();
    assert_eq!(clock.jobs_for(&shopper)["released_checkouts"], 1);
    assert_eq!(late_confirm.expect(200)["result"], "returned", "the hold had run out");
    late_payment.error(409, "hold_expired");
    let status = call("GET", &format!("/api/payments/{}", payment["id"].as_str().expect("id")))
        .session(&shopper)
        .send()
        .expect(200);
    assert_eq!(status["payment"]["status"], "returned");
    assert_eq!(order(&shopper, &order_id(&placed, "delivery"))["state"], "cancelled");
    let ledger_after = assert_ledger_holds();
    assert_eq!(ledger_after["payments_fen"], ledger_before["payments_fen"], "nothing was posted");
}

/// Five requests at once to pay one checkout open one payment: a real provider could otherwise
/// charge the shopper several times.
#[test]
fn concurrent_requests_to_pay_one_checkout_open_one_payment() {
    let shopper = sign_in("13700000022");
    let placed = checkout(
        &shopper,
        "five-pay-1",
        &json!({"store_id": "s-jingan", "lines": [line("p-0103-09", 1, "delivery")], "address": address()}),
    );
    let id = placed["id"].as_str().expect("id").to_owned();
    let barrier = Arc::new(Barrier::new(5));
    let answers: Vec<Answer> = (0..5)
        .map(|_| {
            let (barrier, shopper, id) = (barrier.clone(), shopper.clone(), id.clone());
            std::thread::spawn(move || {
                barrier.wait();
                call("POST", &format!("/api/checkouts/{id}/payments")).session(&shopper).send()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 1, "{:?}", answers.iter().map(|a| (a.status, a.text.clone())).collect::<Vec<_>>());
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert!(a.status == 201 || a.status == 200, "{}", a.text);
            a.json()["payment"]["id"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one payment: {ids:?}");
    pay(&shopper, &placed);
    assert_ledger_holds();
}

/// 200 buyers at once for a SKU with 50 in stock: exactly 50 checkouts hold, all 50 pay, the
/// stock ends at 0 and nothing is oversold.
#[test]
fn two_hundred_buyers_for_fifty_units() {
    let staff = session_for(HUAFANG_STAFF);
    set_stock(&staff, "sup-huafang", "p-0102-01", 50);
    let buyers: Vec<Session> = (0..200).map(|i| sign_in(&format!("136{i:08}"))).collect();
    let barrier = Arc::new(Barrier::new(buyers.len()));
    let handles: Vec<_> = buyers
        .into_iter()
        .map(|buyer| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let body =
                    json!({"store_id": "s-jingan", "lines": [line("p-0102-01", 1, "delivery")], "address": address()});
                let answer = place(&buyer, "rush", &body);
                match answer.status {
                    201 => {
                        pay(&buyer, &answer.json()["checkout"]);
                        true
                    }
                    409 => {
                        assert_eq!(answer.json()["error"], "out_of_stock");
                        false
                    }
                    other => panic!("unexpected {other}: {}", answer.text),
                }
            })
        })
        .collect();
    let paid = handles.into_iter().map(|h| h.join().expect("a buyer thread")).filter(|&paid| paid).count();
    assert_eq!(paid, 50);
    assert_eq!(units("p-0102", "p-0102-01", "delivery"), 0);
    let product = ok_json("/api/products/p-0102?store=s-jingan");
    let sku =
        product["skus"].as_array().expect("skus").iter().find(|s| s["sku_id"] == "p-0102-01").expect("sku").clone();
    assert_eq!(sku["delivery"]["status"], "out_of_stock");
    assert_ledger_holds();
}

/// A flash sale: 120 buyers at once for a row on flash sale with 30 units. Its stock gate
/// admits exactly 30; the 90 losers are refused without a D1 write (the Worker's round trips
/// over the rush stay below two per buyer, which a refusal written to D1 would pass), a loser's
/// retry is told the same, a cancelled checkout's unit is sold again, nothing is oversold.
#[test]
fn a_flash_sale_admits_its_units_and_refuses_the_rest_without_writing() {
    const SKU: &str = "p-0101-09";
    const BUYERS: usize = 120;
    let staff = session_for(HUAFANG_STAFF);
    let marked = call("PUT", "/api/supplier/sup-huafang/stock")
        .session(&staff)
        .json(&json!({"sku_id": SKU, "on_hand": 30, "flash_sale": true}))
        .send()
        .expect(200);
    assert_eq!((marked["on_hand"].as_i64(), marked["flash_sale"].as_bool()), (Some(30), Some(true)));
    // A count set without the mark keeps it.
    set_stock(&staff, "sup-huafang", SKU, 30);
    let buyers: Vec<Session> = (0..BUYERS).map(|i| sign_in(&format!("134{i:08}"))).collect();
    let body = json!({"store_id": "s-jingan", "lines": [line(SKU, 1, "delivery")], "address": address()});
    let trips_before = get("/api/dev/stats").expect(200)["d1_round_trips"].as_u64().expect("trips");
    let barrier = Arc::new(Barrier::new(BUYERS));
    let answers: Vec<(Session, Answer)> = buyers
        .into_iter()
        .map(|buyer| {
            let (barrier, body) = (Arc::clone(&barrier), body.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let answer = place(&buyer, "flash", &body);
                (buyer, answer)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("a buyer thread"))
        .collect();
    let trips = get("/api/dev/stats").expect(200)["d1_round_trips"].as_u64().expect("trips") - trips_before;
    let (won, lost): (Vec<_>, Vec<_>) = answers.into_iter().partition(|(_, answer)| answer.status == 201);
    assert_eq!(won.len(), 30, "{:?}", lost.iter().map(|(_, a)| (a.status, a.text.clone())).collect::<Vec<_>>());
    for (_, answer) in &lost {
        let refusal = answer.error(409, "out_of_stock");
        assert_eq!((refusal["sku_id"].as_str(), refusal["requested"].as_i64()), (Some(SKU), Some(1)));
    }
    assert!(trips < 2 * BUYERS as u64, "{trips} D1 round trips for {BUYERS} buyers");
    assert_eq!(units("p-0101", SKU, "delivery"), 0);

    // A loser's retry of the same key is told the same; the key with another request is refused.
    let (loser, first) = &lost[0];
    let again = place(loser, "flash", &body);
    assert_eq!((again.status, again.json()), (409, first.json()));
    let other = json!({"store_id": "s-jingan", "lines": [line(SKU, 2, "delivery")], "address": address()});
    place(loser, "flash", &other).error(422, "idempotency_key_reused");

    // A winner pays; another cancels, and its unit goes to the next buyer once the gate's count
    // is read again.
    let (payer, paid) = &won[0];
    pay(payer, &paid.json()["checkout"]);
    let (shopper, cancelled) = &won[1];
    let order = cancelled.json()["checkout"]["orders"][0]["id"].as_str().expect("order id").to_owned();
    call("POST", &format!("/api/orders/{order}/cancel")).session(shopper).send().expect(200);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let late = sign_in("13400009999");
    let second = checkout(&late, "flash-late", &body);
    pay(&late, &second);
    let refused = place(&sign_in("13400009998"), "flash-later", &body);
    refused.error(409, "out_of_stock");
    assert_eq!(units("p-0101", SKU, "delivery"), 0);

    // Off sale, the row sells through D1 alone again.
    let unmarked = call("PUT", "/api/supplier/sup-huafang/stock")
        .session(&staff)
        .json(&json!({"sku_id": SKU, "on_hand": 40, "flash_sale": false}))
        .send()
        .expect(200);
    assert_eq!(unmarked["flash_sale"], false);
    let after = checkout(&lost[1].0, "after-sale", &body);
    pay(&lost[1].0, &after);
    assert_ledger_holds();
}

/// A flash-sale gate whose count went stale never oversells: the supplier lowers the row's count
/// behind the gate's back, the gate grants from its old count, D1 refuses the checkout, the gate
/// reads again and refuses the next one itself; a restock reaches it on the next ask.
#[test]
fn a_flash_sale_gate_with_a_stale_count_never_oversells() {
    const SKU: &str = "p-0101-08";
    let staff = session_for(HUAFANG_STAFF);
    let stock = |on_hand: i64| {
        call("PUT", "/api/supplier/sup-huafang/stock")
            .session(&staff)
            .json(&json!({"sku_id": SKU, "on_hand": on_hand, "flash_sale": true}))
            .send()
            .expect(200)
    };
    stock(5);
    let body = json!({"store_id": "s-jingan", "lines": [line(SKU, 1, "delivery")], "address": address()});
    let first = sign_in("13400008001");
    checkout(&first, "stale-1", &body);
    // One unit held: the supplier sets the count to it, so nothing is free in D1, while the
    // gate still counts 4.
    stock(1);
    let second = sign_in("13400008002");
    let refused = place(&second, "stale-2", &body).error(409, "out_of_stock");
    assert_eq!(refused["available"], 0, "{refused}");
    let third = sign_in("13400008003");
    place(&third, "stale-3", &body).error(409, "out_of_stock");
    assert_eq!(units("p-0101", SKU, "delivery"), 0);
    // A restock reaches the gate once its count is a quarter of a second old.
    stock(3);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let fourth = sign_in("13400008004");
    let placed = checkout(&fourth, "stale-4", &body);
    pay(&fourth, &placed);
    assert_eq!(units("p-0101", SKU, "delivery"), 1);
    assert_ledger_holds();
}

/// The same key sent twice at once for the last unit of a row on flash sale answers the same
/// checkout twice: the gate lets the key through once more, and D1's key record decides.
#[test]
fn the_same_key_raced_for_a_flash_sale_s_last_unit_answers_one_checkout() {
    const SKU: &str = "p-0101-07";
    let staff = session_for(HUAFANG_STAFF);
    let buyer = sign_in("13400008101");
    let body = json!({"store_id": "s-jingan", "lines": [line(SKU, 1, "delivery")], "address": address()});
    for held in 0..4 {
        // One unit free each time, the rest held by the checkouts before.
        call("PUT", "/api/supplier/sup-huafang/stock")
            .session(&staff)
            .json(&json!({"sku_id": SKU, "on_hand": held + 1, "flash_sale": true}))
            .send()
            .expect(200);
        // Past the gate's quarter of a second, so it reads the new count.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let barrier = Arc::new(Barrier::new(2));
        let answers: Vec<Answer> = (0..2)
            .map(|_| {
                let (barrier, buyer, body) = (Arc::clone(&barrier), buyer.clone(), body.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    place(&buyer, &format!("race-{held}"), &body)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("a racer"))
            .collect();
        let ids: Vec<Value> = answers.iter().map(|a| a.expect(201)["checkout"]["id"].clone()).collect();
        assert_eq!(ids[0], ids[1], "one checkout for one key");
    }
    assert_eq!(units("p-0101", SKU, "delivery"), 0);
}

/// Every scoped route, called with a session of another tenant, answers 404 and leaks nothing.
#[test]
fn tenants_never_see_each_other() {
    let shopper = sign_in("13700000008");
    let placed = checkout(
        &shopper,
        "tenant-1",
        &json!({"store_id": "s-jingan", "lines": [line("p-0103-10", 1, "pickup"), line("p-0103-10", 1, "delivery")], "address": address()}),
    );
    pay(&shopper, &placed);
    let pickup = order_id(&placed, "pickup");
    let delivery = order_id(&placed, "delivery");
    let stranger = sign_in("13700000009");
    let tianhe = session_for(TIANHE_OWNER);
    let yangguang = session_for(YANGGUANG_STAFF);
    let checkout_id = placed["id"].as_str().expect("id");
    let refund = json!({"approve": true});
    let cases: Vec<(&Session, &str, String, Option<Value>)> = vec![
        (&stranger, "GET", format!("/api/orders/{pickup}"), None),
        (&stranger, "GET", format!("/api/orders/{pickup}/pickup-qr.svg"), None),
        (&stranger, "POST", format!("/api/orders/{pickup}/cancel"), None),
        (&stranger, "POST", format!("/api/orders/{pickup}/refund"), Some(json!({"reason": ""}))),
        (&stranger, "POST", format!("/api/orders/{delivery}/received"), None),
        (&stranger, "POST", format!("/api/checkouts/{checkout_id}/payments"), None),
        (&stranger, "GET", "/api/store/s-jingan/orders".to_owned(), None),
        (&stranger, "GET", "/api/supplier/sup-huafang/orders".to_owned(), None),
        (&stranger, "GET", "/api/operator/ledger".to_owned(), None),
        (&tianhe, "GET", "/api/store/s-jingan/orders".to_owned(), None),
        (&tianhe, "GET", "/api/store/s-jingan/settlement".to_owned(), None),
        (&tianhe, "POST", "/api/store/s-jingan/pickups".to_owned(), Some(json!({"code": "12345678"}))),
        (&tianhe, "POST", format!("/api/store/s-tianhe/orders/{pickup}/refund"), Some(refund.clone())),
        (&tianhe, "POST", format!("/api/store/s-jingan/orders/{pickup}/refund"), Some(refund.clone())),
        (&yangguang, "GET", "/api/supplier/sup-huafang/orders".to_owned(), None),
        (&yangguang, "GET", "/api/supplier/sup-huafang/settlement".to_owned(), None),
        (
            &yangguang,
            "PUT",
            "/api/supplier/sup-huafang/stock".to_owned(),
            Some(json!({"sku_id": "p-0103-10", "on_hand": 0})),
        ),
        (
            &yangguang,
            "POST",
            format!("/api/supplier/sup-yangguang/orders/{delivery}/shipment"),
            Some(json!({"carrier": "x", "tracking_no": "SF123456"})),
        ),
        (&yangguang, "POST", format!("/api/supplier/sup-huafang/orders/{delivery}/refund"), Some(refund.clone())),
    ];
    for (session, method, path, body) in cases {
        let mut request = call(method, &path).session(session);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let answer = request.send();
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text);
        for secret in [pickup.as_str(), delivery.as_str(), "王小明", "南京西路"] {
            assert!(!answer.text.contains(secret), "{method} {path} leaked {secret}: {}", answer.text);
        }
    }
    let theirs = call("GET", "/api/orders").session(&stranger).send().expect(200);
    assert_eq!(theirs["orders"], json!([]));
    assert_eq!(order(&shopper, &pickup)["state"], "ready_for_pickup", "nothing changed");
    assert!(units("p-0103", "p-0103-10", "delivery") > 0);
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let shopper = sign_in("13700000010");
    let before = units("p-0103", "p-0103-01", "delivery");
    let cases: Vec<(&str, u16, &str)> = vec![
        ("{not json", 400, "body"),
        (r#"{"store_id":"s-jingan","lines":"many"}"#, 400, "lines"),
        (r#"{"store_id":"s-jingan","lines":[],"coupon":"FREE"}"#, 400, "coupon"),
        (r#"{"store_id":"s-jingan","lines":[]}"#, 400, "lines"),
        (
            r#"{"store_id":"s-jingan","lines":[{"sku_id":"p-0103-01","quantity":-1,"fulfilment":"pickup"}]}"#,
            400,
            "quantity",
        ),
        (
            r#"{"store_id":"s-jingan","lines":[{"sku_id":"p-0103-01","quantity":100000,"fulfilment":"pickup"}]}"#,
            400,
            "quantity",
        ),
        (
            r#"{"store_id":"s-jingan","lines":[{"sku_id":"p-0103-01","quantity":1.5,"fulfilment":"pickup"}]}"#,
            400,
            "lines[0].quantity",
        ),
        (
            r#"{"store_id":"s-jingan","lines":[{"sku_id":"p-0103-01","quantity":1,"fulfilment":"drone"}]}"#,
            400,
            "lines[0].fulfilment",
        ),
        (
            r#"{"store_id":"s-jingan","lines":[{"sku_id":"p-0103-01","quantity":1,"fulfilment":"delivery"}]}"#,
            400,
            "address",
        ),
        (
            r#"{"store_id":"s-jingan","lines":[{"sku_id":"p-0103-01","quantity":1,"fulfilment":"pickup","price_fen":1}]}"#,
            400,
            "lines[0].price_fen",
        ),
    ];
    for (i, (body, status, field)) in cases.iter().enumerate() {
        let answer = call("POST", "/api/orders")
            .session(&shopper)
            .header("idempotency-key", &format!("bad-{i}"))
            .raw(body)
            .send();
        assert_eq!(answer.status, *status, "{body}: {}", answer.text);
        assert_eq!(answer.json()["field"], *field, "{body}: {}", answer.text);
    }
    let huge = format!(r#"{{"store_id":"s-jingan","lines":[],"pad":"{}"}}"#, "x".repeat(20_000));
    call("POST", "/api/orders")
        .session(&shopper)
        .header("idempotency-key", "huge")
        .raw(&huge)
        .send()
        .error(413, "payload_too_large");
    let unknown =
        place(&shopper, "unknown-sku", &json!({"store_id": "s-jingan", "lines": [line("p-9999-01", 1, "pickup")]}));
    unknown.error(404, "not_found");
    place(&shopper, "unknown-store", &json!({"store_id": "s-nowhere", "lines": [line("p-0103-01", 1, "pickup")]}))
        .error(404, "not_found");
    call("POST", "/api/orders")
        .json(&json!({"store_id": "s-jingan", "lines": [line("p-0103-01", 1, "pickup")]}))
        .header("idempotency-key", "anon")
        .send()
        .error(401, "unauthenticated");
    for body in [
        r#"{"store_id":"s-jingan","sku_id":"p-0103-01","fulfilment":"pickup","quantity":100}"#,
        r#"{"store_id":"s-jingan","sku_id":"p-0103-01","fulfilment":"pickup","quantity":-3}"#,
    ] {
        call("PUT", "/api/cart/lines").session(&shopper).raw(body).send().error(400, "bad_request");
    }
    call("PUT", "/api/cart/lines")
        .session(&shopper)
        .json(&json!({"store_id": "s-jingan", "sku_id": "p-9999-01", "fulfilment": "pickup", "quantity": 1}))
        .send()
        .error(404, "not_found");

    assert_eq!(
        call("GET", "/api/orders").session(&shopper).send().expect(200)["orders"],
        json!([]),
        "no order was written"
    );
    assert_eq!(
        call("GET", "/api/cart").session(&shopper).send().expect(200)["cart"]["lines"],
        json!([]),
        "nor a cart line"
    );
    assert_eq!(units("p-0103", "p-0103-01", "delivery"), before);
    assert_eq!(get("/api/health").status, 200, "the Worker survived all of it");
}
