//! The business card's memory over HTTP: consent first, event batches accepted, deduplicated
//! and refused whole, device keys, the person's own tags, export and erasure (queried after).

use serde_json::{Value, json};

use crate::http::{Session, call, session_for, sign_in};

const JINGAN_OWNER: &str = "13900000001";
const JINGAN_CLERK: &str = "13900000002";
const FORMULA: &str = "p-0301";

/// A phone of this run (the development database is kept between runs).
fn phone(n: u32) -> String {
    format!("1350{:04}{n:03}", std::process::id() % 10_000)
}

/// An event id unique to this run.
fn id(tag: &str, n: usize) -> String {
    format!("{tag}-{}-{n:04}", std::process::id())
}

fn post_events(session: &Session, events: &Value) -> crate::http::Answer {
    call("POST", "/api/events").session(session).json(&json!({"events": events})).send()
}

fn consent(session: &Session, behaviour: bool, personalised: bool) -> Value {
    call("PUT", "/api/me/consent")
        .session(session)
        .json(&json!({"behaviour": behaviour, "personalised": personalised}))
        .send()
        .expect(200)
}

fn profile(session: &Session) -> Value {
    call("GET", "/api/me/profile").session(session).send().expect(200)
}

fn tag_keys(profile: &Value) -> Vec<String> {
    profile["tags"].as_array().expect("tags").iter().map(|t| t["key"].as_str().expect("key").to_owned()).collect()
}

#[test]
fn app_events_need_consent_and_are_taken_once() {
    let shopper = sign_in(&phone(1));
    let views: Vec<Value> = (0..5).map(|n| json!({"id": id("view", n), "type": "view", "product": FORMULA})).collect();

    // Before consent nothing is stored.
    post_events(&shopper, &json!(views)).error(409, "consent_required");
    consent(&shopper, true, true);

    let stored = post_events(&shopper, &json!(views)).expect(200);
    assert_eq!((stored["accepted"].as_u64(), stored["duplicates"].as_u64()), (Some(5), Some(0)));
    // The same ids again, plus one new: only the new one counts.
    let mut again = views.clone();
    again.push(json!({"id": id("cart", 0), "type": "cart", "product": FORMULA}));
    let stored = post_events(&shopper, &json!(again)).expect(200);
    assert_eq!((stored["accepted"].as_u64(), stored["duplicates"].as_u64()), (Some(1), Some(5)));

    let mine = profile(&shopper);
    assert_eq!(mine["events"], 6);
    let keys = tag_keys(&mine);
    assert!(keys.contains(&"category:baby".to_owned()) && keys.contains(&"life:mother_baby".to_owned()), "{mine}");

    // Bad batches are refused whole: nothing of them is written.
    let good = json!({"id": id("click", 0), "type": "click", "product": FORMULA});
    for (bad, field) in [
        (json!({"id": id("bad", 1), "type": "poke", "product": FORMULA}), "events[1].type"),
        (json!({"id": id("bad", 2), "type": "view"}), "events[1].product"),
        (json!({"id": "short", "type": "view", "product": FORMULA}), "events[1].id"),
        (json!({"id": id("bad", 3), "type": "view", "product": "p-9999"}), "events[1].product"),
        (json!({"id": id("bad", 4), "type": "check_in"}), "events[1].type"),
    ] {
        let answer = post_events(&shopper, &json!([good, bad]));
        assert_eq!(answer.error(400, "bad_request")["field"], field, "{}", answer.text);
    }
    let too_many: Vec<Value> =
        (0..101).map(|n| json!({"id": id("many", n), "type": "view", "product": FORMULA})).collect();
    assert_eq!(post_events(&shopper, &json!(too_many)).error(400, "bad_request")["field"], "events");
    call("POST", "/api/events")
        .session(&shopper)
        .json(&json!({"events": [good], "extra": 1}))
        .send()
        .error(400, "bad_request");
    assert_eq!(profile(&shopper)["events"], 6, "refused batches wrote nothing");

    // A tag the person deletes is gone and stays gone.
    call("DELETE", "/api/me/profile/tags/life:mother_baby").session(&shopper).send().expect(200);
    post_events(&shopper, &json!([{"id": id("view", 9), "type": "view", "product": FORMULA}])).expect(200);
    let mine = profile(&shopper);
    assert!(!tag_keys(&mine).contains(&"life:mother_baby".to_owned()), "{mine}");
    call("DELETE", "/api/me/profile/tags/nonsense").session(&shopper).send().error(400, "bad_request");
}

#[test]
fn an_anonymous_visitor_consents_and_gets_an_id() {
    let answer = call("PUT", "/api/me/consent").json(&json!({"behaviour": true, "personalised": true})).send();
    let visitor = answer.expect(200)["visitor"].as_str().expect("a visitor id").to_owned();
    let stored = call("POST", "/api/events")
        .header("x-tandem-visitor", &visitor)
        .json(&json!({"events": [{"id": id("anon", 0), "type": "search", "query": "婴儿奶粉"}]}))
        .send()
        .expect(200);
    assert_eq!(stored["accepted"], 1);
    let mine = call("GET", "/api/me/profile").header("x-tandem-visitor", &visitor).send().expect(200);
    assert_eq!(mine["subject"], "visitor");
    assert_eq!(mine["events"], 1);
    // No id, no consent: nothing is stored.
    call("POST", "/api/events")
        .json(&json!({"events": [{"id": id("anon", 1), "type": "search", "query": "x"}]}))
        .send()
        .error(409, "consent_required");
}

#[test]
fn devices_need_their_key_and_clerks_their_store() {
    let customer_phone = phone(2);
    let customer = sign_in(&customer_phone);
    consent(&customer, true, true);
    let code = call("GET", "/api/chain/me").session(&customer).send().expect(200)["invite_code"]
        .as_str()
        .expect("the customer's code")
        .to_owned();

    let owner = session_for(JINGAN_OWNER);
    let device = call("POST", "/api/store/s-jingan/devices")
        .session(&owner)
        .json(&json!({"name": "试衣镜 1"}))
        .send()
        .expect(201);
    let key = device["key"].as_str().expect("key").to_owned();
    let clerk = session_for(JINGAN_CLERK);
    call("POST", "/api/store/s-jingan/devices")
        .session(&clerk)
        .json(&json!({"name": "x"}))
        .send()
        .error(403, "owner_only");

    let body = json!({"customer_code": code, "events": [
        {"id": id("mirror", 0), "type": "body", "measurements": {"height_cm": 170, "chest_cm": 95, "waist_cm": 78, "hip_cm": 96}},
        {"id": id("mirror", 1), "type": "try_on", "product": "p-0101", "size": "L", "outcome": "liked"},
    ]});
    call("POST", "/api/devices/events").json(&body).send().error(401, "device_key_required");
    call("POST", "/api/devices/events")
        .header("authorization", "Bearer tdk_wrong")
        .json(&body)
        .send()
        .error(401, "device_key_required");
    let stored = call("POST", "/api/devices/events")
        .header("authorization", &format!("Bearer {key}"))
        .json(&body)
        .send()
        .expect(200);
    assert_eq!(stored["accepted"], 2);
    // A device may not record purchases; the whole batch is refused.
    let purchase = json!({"customer_code": code, "events": [{"id": id("mirror", 2), "type": "store_purchase", "product": "p-0101", "amount_fen": 100}]});
    call("POST", "/api/devices/events")
        .header("authorization", &format!("Bearer {key}"))
        .json(&purchase)
        .send()
        .error(400, "bad_request");

    // The owner lists the store's devices (no keys) and revokes this one: its key stops working.
    let device_id = device["id"].as_str().expect("device id");
    let listed = call("GET", "/api/store/s-jingan/devices").session(&owner).send().expect(200);
    let row = listed["devices"].as_array().expect("devices").iter().find(|d| d["id"] == device_id).cloned();
    assert!(row.as_ref().is_some_and(|d| d["revoked_at"].is_null() && d.get("key").is_none()), "{listed}");
    call("GET", "/api/store/s-jingan/devices").session(&clerk).send().error(403, "owner_only");
    call("DELETE", &format!("/api/store/s-tianhe/devices/{device_id}")).session(&owner).send().error(404, "not_found");
    let revoked =
        call("DELETE", &format!("/api/store/s-jingan/devices/{device_id}")).session(&owner).send().expect(200);
    assert!(revoked["revoked_at"].is_i64(), "{revoked}");
    let after = json!({"customer_code": code, "events": [{"id": id("mirror", 3), "type": "try_on", "product": "p-0101", "outcome": "liked"}]});
    call("POST", "/api/devices/events")
        .header("authorization", &format!("Bearer {key}"))
        .json(&after)
        .send()
        .error(401, "device_key_required");

    // The clerk records the check-in and the purchase; another store's console is not theirs.
    let visit = json!({"customer_phone": customer_phone, "events": [
        {"id": id("desk", 0), "type": "check_in"},
        {"id": id("desk", 1), "type": "store_purchase", "product": "p-0101", "amount_fen": 29_900},
    ]});
    call("POST", "/api/store/s-tianhe/events").session(&clerk).json(&visit).send().error(404, "not_found");
    call("POST", "/api/store/s-jingan/events").session(&clerk).json(&visit).send().expect(200);

    let mine = profile(&customer);
    assert_eq!(mine["events"], 4);
    assert_eq!(mine["body"]["chest_cm"], 95);
    assert_eq!(mine["segment"], "new");
    let keys = tag_keys(&mine);
    assert!(keys.contains(&"size:L".to_owned()) && keys.contains(&"category:clothing".to_owned()), "{mine}");
}

#[test]
fn export_returns_everything_and_erase_removes_it() {
    let shopper = sign_in(&phone(3));
    consent(&shopper, true, true);
    post_events(
        &shopper,
        &json!([
            {"id": id("exp", 0), "type": "view", "product": FORMULA},
            {"id": id("exp", 1), "type": "favourite", "product": FORMULA},
        ]),
    )
    .expect(200);
    let export = call("GET", "/api/me/export").session(&shopper).send().expect(200);
    assert_eq!(export["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(export["events"][1]["type"], "product");
    assert_eq!(export["events"][1]["action"], "favourite");
    assert_eq!(export["consent"]["behaviour"], true);
    assert!(export["profile"]["tags"]["category:baby"]["weight"].as_f64().unwrap_or(0.0) > 0.0, "{export}");

    let erased = call("DELETE", "/api/me/behaviour").session(&shopper).send().expect(200);
    assert_eq!(erased["deleted_events"], 2);
    assert_eq!(erased["deleted_profile"], true);
    let export = call("GET", "/api/me/export").session(&shopper).send().expect(200);
    assert_eq!(export["events"], json!([]));
    assert_eq!(export["profile"], Value::Null);
    assert_eq!(profile(&shopper)["events"], 0);
}

fn placement(session: Option<&Session>, query: &str) -> Value {
    let mut request = call("GET", &format!("/api/recommendations?store=s-jingan&{query}"));
    if let Some(session) = session {
        request = request.session(session);
    }
    request.send().expect(200)
}

fn products(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["product_id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn recommendations_follow_the_person_and_fall_back_without_consent() {
    let anonymous = placement(None, "placement=for_you&limit=6");
    assert_eq!(anonymous["personalised"], false);
    assert_eq!(anonymous["items"].as_array().map(Vec::len), Some(6), "{anonymous}");
    for item in anonymous["items"].as_array().expect("items") {
        assert!(
            item["why"]["zh"].is_string() && item["why"]["en"].is_string() && item["price_from_fen"].is_i64(),
            "{item}"
        );
    }

    // A shopper who looks at baby goods gets baby goods, with the reason.
    let shopper = sign_in(&phone(4));
    consent(&shopper, true, true);
    let views: Vec<Value> = ["p-0301", "p-0302", "p-0301", "p-0302"]
        .iter()
        .enumerate()
        .map(|(n, product)| json!({"id": id("rec", n), "type": "view", "product": product}))
        .collect();
    post_events(&shopper, &json!(views)).expect(200);
    let mine = placement(Some(&shopper), "placement=for_you&limit=6");
    assert_eq!(mine["personalised"], true);
    assert_ne!(products(&mine), products(&anonymous));
    let baby: Vec<&Value> =
        mine["items"].as_array().expect("items").iter().filter(|i| i["category"] == "baby").collect();
    assert!(baby.len() >= 3, "{mine}");

    // Switched off, the same person gets what everyone gets.
    consent(&shopper, true, false);
    let off = placement(Some(&shopper), "placement=for_you&limit=6");
    assert_eq!(off["personalised"], false);
    assert_eq!(products(&off), products(&anonymous));

    placement_error("placement=everything");
    placement_error("placement=goes_with");
    call("GET", "/api/recommendations?store=s-nowhere").send().error(404, "not_found");
}

fn placement_error(query: &str) {
    call("GET", &format!("/api/recommendations?store=s-jingan&{query}")).send().error(400, "bad_request");
}

#[test]
fn goes_with_learns_pairs_and_tried_on_names_the_store() {
    // Three people put the two formulas in their carts on the same day.
    for n in 0..3 {
        let shopper = sign_in(&phone(10 + u32::try_from(n).unwrap_or(0)));
        consent(&shopper, true, true);
        post_events(
            &shopper,
            &json!([
                {"id": id("pair-a", n), "type": "cart", "product": "p-0301"},
                {"id": id("pair-b", n), "type": "cart", "product": "p-0302"},
            ]),
        )
        .expect(200);
    }
    let jobs = call("POST", "/api/dev/jobs").send().expect(200);
    assert!(jobs["recommender"]["touches"].as_u64().unwrap_or(0) >= 6, "{jobs}");
    let with = placement(None, "placement=goes_with&product=p-0301&limit=3");
    assert_eq!(products(&with).first().map(String::as_str), Some("p-0302"), "{with}");
    assert!(with["items"][0]["why"]["zh"].as_str().unwrap_or_default().contains("一起购买"), "{with}");
    assert!(!products(&with).contains(&"p-0301".to_owned()));

    // A try-on at the mirror comes back as "tried on at 静安寺店 — buy online".
    let customer = sign_in(&phone(20));
    consent(&customer, true, true);
    let owner = session_for(JINGAN_OWNER);
    let key = call("POST", "/api/store/s-jingan/devices")
        .session(&owner)
        .json(&json!({"name": "镜 2"}))
        .send()
        .expect(201)["key"]
        .as_str()
        .expect("key")
        .to_owned();
    call("POST", "/api/devices/events")
        .header("authorization", &format!("Bearer {key}"))
        .json(&json!({"customer_phone": phone(20), "events": [{"id": id("try", 0), "type": "try_on", "product": "p-0102", "size": "M", "outcome": "liked"}]}))
        .send()
        .expect(200);
    let tried = placement(Some(&customer), "placement=tried_on");
    assert_eq!(products(&tried), vec!["p-0102".to_owned()], "{tried}");
    assert_eq!(tried["items"][0]["why"]["zh"], "你在静安寺店试穿过");
}

#[test]
fn a_clerks_notes_become_a_follow_up() {
    let clerk = session_for(JINGAN_CLERK);
    let note = "王女士试了羽绒服，很喜欢，但觉得有点贵，说下个月发工资再来。";
    let answer = call("POST", "/api/store/s-jingan/conversations")
        .session(&clerk)
        .json(&json!({"note": note, "customer_name": "王女士", "clerk_name": "小李"}))
        .send()
        .expect(200);
    let analysis = &answer["analysis"];
    assert_eq!(analysis["mentions"][0]["product"], "p-0102", "{answer}");
    assert_eq!(analysis["intent"], "considering");
    assert_eq!(analysis["objections"], json!(["price", "timing"]));
    assert_eq!(analysis["mood"], "positive");
    let draft = analysis["draft"]["zh"].as_str().unwrap_or_default();
    assert!(draft.starts_with("王女士您好，我是静安寺店的小李。") && draft.contains("羽绒服"), "{draft}");
    assert!(analysis["draft"]["en"].as_str().unwrap_or_default().contains("this is 小李 from"), "{answer}");
    assert!(analysis["next_contact"].as_i64().is_some());
    assert!(answer["suggested"].is_array());

    let english = call("POST", "/api/store/s-jingan/conversations")
        .session(&clerk)
        .json(&json!({"note": "Tried the high-rise straight jeans, too tight, wants a bigger size next week."}))
        .send()
        .expect(200);
    assert_eq!(english["analysis"]["mentions"][0]["product"], "p-0103", "{english}");
    assert_eq!(english["analysis"]["objections"], json!(["size", "timing"]));

    call("POST", "/api/store/s-jingan/conversations")
        .session(&clerk)
        .json(&json!({"note": " "}))
        .send()
        .error(400, "bad_request");
    call("POST", "/api/store/s-tianhe/conversations")
        .session(&clerk)
        .json(&json!({"note": note}))
        .send()
        .error(404, "not_found");
    call("POST", "/api/store/s-jingan/conversations").json(&json!({"note": note})).send().error(401, "unauthenticated");
}

/// The test Worker's model is its development stand-in (`/api/dev/llm`): a polished draft is
/// used; a slow answer (past the time limit) or one that changes a number leaves the local one.
#[test]
fn a_configured_model_polishes_the_draft_and_the_local_draft_is_the_fallback() {
    let clerk = session_for(JINGAN_CLERK);
    let note = "王女士试了羽绒服，很喜欢，但觉得有点贵，说下个月发工资再来。";
    let ask = |customer: &str| {
        let started = std::time::Instant::now();
        let answer = call("POST", "/api/store/s-jingan/conversations")
            .session(&clerk)
            .json(&json!({"note": note, "customer_name": customer}))
            .send()
            .expect(200);
        (answer, started.elapsed())
    };
    let (polished, _) = ask("王女士");
    assert_eq!(polished["refined_by"], "llm", "{polished}");
    let draft = polished["analysis"]["draft"]["zh"].as_str().unwrap_or_default();
    assert!(draft.starts_with("王女士您好") && draft.ends_with("（期待再见到您！）"), "{draft}");
    assert!(
        polished["analysis"]["draft"]["en"].as_str().unwrap_or_default().ends_with("(Looking forward to seeing you!)")
    );

    let (slow, took) = ask("王女士[llm:slow]");
    assert_eq!(slow["refined_by"], "local", "{slow}");
    assert!(
        took < std::time::Duration::from_millis(5_500),
        "answered after the 4 s limit, not the model's 6 s: {took:?}"
    );
    assert!(!slow["analysis"]["draft"]["zh"].as_str().unwrap_or_default().contains("期待再见到您"));

    let (garbled, _) = ask("王女士[llm:garble]");
    assert_eq!(garbled["refined_by"], "local", "a changed number is refused: {garbled}");
}
