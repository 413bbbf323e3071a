//! The AI business card over HTTP: editing and showing a card, its vCard, visits that
//! attribute customers to a clerk and feed the radar, the store's door code, the pages' Open
//! Graph meta, a visitor's behaviour joining the member's at sign-in, and promotions by segment.

use serde_json::{Value, json};

use crate::http::{Session, call, code_for, cookie_pair, session_for, sign_in};

const JINGAN_OWNER: &str = "13900000001";
const JINGAN_CLERK: &str = "13900000002";
const TIANHE_CLERK: &str = "13900000004";
const OPERATOR: &str = "13900000000";
const FORMULA: &str = "p-0301";
const STORE: &str = "s-jingan";

/// A phone of this run (the development database is kept between runs).
fn phone(n: u32) -> String {
    format!("1351{:04}{n:03}", std::process::id() % 10_000)
}

fn id(tag: &str, n: usize) -> String {
    format!("{tag}-{}-{n:04}", std::process::id())
}

fn consent(session: &Session, on: bool) {
    call("PUT", "/api/me/consent")
        .session(session)
        .json(&json!({"behaviour": on, "personalised": on}))
        .send()
        .expect(200);
}

fn code_of(session: &Session) -> String {
    call("GET", "/api/me/card").session(session).send().expect(200)["card"]["code"].as_str().expect("code").to_owned()
}

fn visit(session: Option<&Session>, code: &str, body: &Value) -> crate::http::Answer {
    let request = call("POST", &format!("/api/cards/{code}/visits")).json(body);
    match session {
        Some(session) => request.session(session).send(),
        None => request.send(),
    }
}

fn baby_views(session: &Session, tag: &str) {
    let views: Vec<Value> = (0..6).map(|n| json!({"id": id(tag, n), "type": "view", "product": FORMULA})).collect();
    call("POST", "/api/events").session(session).json(&json!({"events": views})).send().expect(200);
}

#[test]
fn a_clerks_card_shows_what_they_chose_and_attributes_its_visitors() {
    let clerk = session_for(JINGAN_CLERK);
    let code = code_of(&clerk);
    let edit = json!({"title": "母婴顾问", "bio": "十年母婴经验，欢迎到店试用。", "wechat": "jingan_fang",
                      "show_phone": true, "featured": [FORMULA]});
    let mine = call("PUT", "/api/me/card").session(&clerk).json(&edit).send().expect(200);
    assert_eq!(mine["card"]["title"], "母婴顾问");
    // Bad edits are refused by field and change nothing.
    for (bad, field) in [
        (json!({"wechat": "1abc"}), "wechat"),
        (json!({"featured": ["p-9999"]}), "featured"),
        (json!({"title": "长".repeat(31)}), "title"),
        (json!({"email": "not-an-address"}), "email"),
    ] {
        let answer = call("PUT", "/api/me/card").session(&clerk).json(&bad).send();
        assert_eq!(answer.error(400, "bad_request")["field"], field, "{}", answer.text);
    }
    call("PUT", "/api/me/card").session(&clerk).json(&json!({"nickname": "x"})).send().error(400, "bad_request");

    // Anyone sees the card: role, store, the phone the clerk chose to show, featured products.
    let card = call("GET", &format!("/api/cards/{code}")).send().expect(200);
    let shown = &card["card"];
    assert_eq!((shown["role"].as_str(), shown["store"]["id"].as_str()), (Some("clerk"), Some(STORE)), "{card}");
    assert_eq!(shown["title"], "母婴顾问");
    assert_eq!(shown["phone"], JINGAN_CLERK);
    assert_eq!(shown["wechat"], "jingan_fang");
    assert_eq!(shown["featured"][0]["product_id"], FORMULA);
    assert!(shown["featured"][0]["price_from_fen"].as_i64().is_some_and(|p| p > 0));
    assert_eq!(card["links"]["invite"], format!("/i/{code}"));
    call("GET", "/api/cards/zzzzzzzz").send().error(404, "not_found");
    call("GET", "/api/cards/..%2Fetc").send().error(404, "not_found");

    let vcard = call("GET", &format!("/api/cards/{code}/vcard")).send();
    assert_eq!(vcard.status, 200);
    assert!(vcard.content_type.starts_with("text/vcard"), "{}", vcard.content_type);
    let unfolded = vcard.text.replace("\r\n ", "");
    assert!(unfolded.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"), "{unfolded}");
    assert!(unfolded.contains(&format!("TEL;TYPE=CELL:{JINGAN_CLERK}\r\n")) && unfolded.contains("TITLE:母婴顾问\r\n"));
    assert!(unfolded.contains(&format!("/c/{code}\r\n")) && unfolded.contains("微信: jingan_fang"));

    // A shopper opens the card and a product shared from it: attributed to the clerk.
    let shopper_phone = phone(1);
    let shopper = sign_in(&shopper_phone);
    let opened = visit(Some(&shopper), &code, &json!({"kind": "card"})).expect(200);
    assert_eq!((opened["recorded"].as_bool(), opened["attributed"].as_bool()), (Some(true), Some(true)), "{opened}");
    visit(Some(&shopper), &code, &json!({"kind": "product", "product": FORMULA})).expect(200);
    // Nothing is kept of an anonymous browser: no visit on the radar, no cookie naming it (the
    // card's code waits in a cookie to bind them if they sign in).
    let anonymous = visit(None, &code, &json!({"kind": "card"}));
    let cookies: Vec<&str> = anonymous.set_cookie.as_deref().map(|c| c.lines().collect()).unwrap_or_default();
    assert!(cookies.iter().all(|c| c.starts_with(&format!("tandem_ref={code};"))), "{cookies:?}");
    let anonymous = anonymous.expect(200);
    assert_eq!((anonymous["visitor"].as_str(), anonymous["recorded"].as_bool()), (Some("anonymous"), Some(false)));
    // The clerk opening their own card is not a visit.
    assert_eq!(visit(Some(&clerk), &code, &json!({"kind": "card"})).expect(200)["own_card"], true);
    // Bad visits.
    visit(None, &code, &json!({"kind": "poke"})).error(400, "bad_request");
    visit(None, &code, &json!({"kind": "product"})).error(400, "bad_request");
    visit(None, &code, &json!({"kind": "door"})).error(400, "bad_request");
    visit(None, "zzzzzzzz", &json!({"kind": "card"})).error(404, "not_found");

    // The radar: the shopper, by masked phone, with two visits and a reason; and as a customer.
    let radar = call("GET", "/api/me/radar").session(&clerk).send().expect(200);
    let masked = format!("+86 {}****{}", &shopper_phone[..3], &shopper_phone[7..]);
    let entry = radar["visitors"].as_array().expect("visitors").iter().find(|v| v["name"] == masked.as_str());
    let entry = entry.unwrap_or_else(|| panic!("{masked} on the radar: {radar}"));
    assert_eq!(entry["visits"], 2);
    assert!(entry["interest"]["score"].as_u64().is_some_and(|s| s > 0), "{entry}");
    let reason = entry["interest"]["reason"]["zh"].as_str().expect("reason");
    assert!(reason.contains("打开名片 1 次") && reason.contains("看过 1 件分享的商品"), "{reason}");
    assert!(radar["customers"].as_array().expect("customers").iter().any(|c| c["name"] == masked.as_str()), "{radar}");
    // The shopper's own radar does not show the clerk's visitors.
    let theirs = call("GET", "/api/me/radar").session(&shopper).send().expect(200);
    assert!(!theirs["visitors"].as_array().expect("visitors").iter().any(|v| v["name"] == masked.as_str()));
    call("GET", "/api/me/radar").send().error(401, "unauthenticated");
}

#[test]
fn the_door_code_checks_in_a_consenting_visitor_once_a_day() {
    let owner = session_for(JINGAN_OWNER);
    let store_card = call("GET", &format!("/api/store/{STORE}/card")).session(&owner).send().expect(200);
    let code = store_card["card"]["code"].as_str().expect("store code").to_owned();
    assert_eq!(code.len(), 10);
    assert!(store_card["door_url"].as_str().is_some_and(|u| u.ends_with(&format!("/c/{code}?door=1"))));
    assert!(store_card["door_qr_svg"].as_str().is_some_and(|svg| svg.starts_with("<svg")));
    assert_eq!(store_card["card"]["role"], "store");
    call("GET", &format!("/api/store/{STORE}/card")).session(&session_for(TIANHE_CLERK)).send().error(404, "not_found");

    let shopper = sign_in(&phone(2));
    let first = visit(Some(&shopper), &code, &json!({"kind": "door"})).expect(200);
    assert_eq!(first["checked_in"], false, "no consent, no check-in");
    consent(&shopper, true);
    assert_eq!(visit(Some(&shopper), &code, &json!({"kind": "door"})).expect(200)["checked_in"], true);
    assert_eq!(visit(Some(&shopper), &code, &json!({"kind": "door"})).expect(200)["checked_in"], false, "once a day");
    let export = call("GET", "/api/me/export").session(&shopper).send().expect(200);
    let events = export["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{export}");
    assert_eq!(
        (events[0]["type"].as_str(), events[0]["source"].as_str()),
        (Some("check_in"), Some("door:s-jingan")),
        "{export}"
    );
}

fn meta(html: &str, property: &str) -> String {
    let marker = format!("property=\"{property}\" content=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("{property} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

#[test]
fn card_product_and_invite_pages_carry_their_preview() {
    let clerk = session_for(JINGAN_CLERK);
    let code = code_of(&clerk);
    let page = call("GET", &format!("/c/{code}")).send();
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    assert!(page.text.contains("<div id=\"app\">"), "the app's page");
    assert!(meta(&page.text, "og:url").ends_with(&format!("/c/{code}")));
    assert!(meta(&page.text, "og:title").contains("静安"), "{}", meta(&page.text, "og:title"));
    assert_eq!(page.text.matches("<title>").count(), 1);

    let product = call("GET", &format!("/p/{FORMULA}?store={STORE}")).send();
    assert_eq!(product.status, 200);
    let title = meta(&product.text, "og:title");
    assert!(title.contains("奶粉") && title.contains('¥'), "{title}");
    assert!(meta(&product.text, "og:image").starts_with("http"), "an absolute picture");
    let missing = call("GET", "/p/p-9999").send();
    assert!(missing.status == 200 && meta(&missing.text, "og:title").contains("不存在"));

    let invite = call("GET", &format!("/i/{code}")).send();
    assert_eq!(invite.status, 200);
    assert!(meta(&invite.text, "og:title").contains("邀请你"), "{}", meta(&invite.text, "og:title"));
    assert!(
        invite.text.contains(&format!("<meta name=\"tandem:land\" content=\"/?store={STORE}\">")),
        "lands on the clerk's store"
    );
    assert_eq!(cookie_pair(&invite), format!("tandem_ref={code}"));
    assert_eq!(invite.set_cookie.as_deref().map(str::lines).map(Iterator::count), Some(1), "only the code is kept");

    // An invite link attributes like the card: a signed-in shopper becomes the clerk's customer.
    let shopper_phone = phone(5);
    let shopper = sign_in(&shopper_phone);
    assert_eq!(call("GET", &format!("/i/{code}")).session(&shopper).send().status, 200);
    let radar = call("GET", "/api/me/radar").session(&clerk).send().expect(200);
    let masked = format!("+86 {}****{}", &shopper_phone[..3], &shopper_phone[7..]);
    assert!(radar["customers"].as_array().expect("customers").iter().any(|c| c["name"] == masked.as_str()), "{radar}");
}

#[test]
fn a_visitors_behaviour_becomes_the_members_at_sign_in() {
    let answer = call("PUT", "/api/me/consent").json(&json!({"behaviour": true, "personalised": true})).send();
    let visitor = answer.expect(200)["visitor"].as_str().expect("visitor id").to_owned();
    let views: Vec<Value> = (0..4).map(|n| json!({"id": id("pre", n), "type": "view", "product": FORMULA})).collect();
    call("POST", "/api/events").header("x-tandem-visitor", &visitor).json(&json!({"events": views})).send().expect(200);
    call("DELETE", "/api/me/profile/tags/price:mid").header("x-tandem-visitor", &visitor).send();

    let member_phone = phone(3);
    let code = code_for(&member_phone);
    let signed = call("POST", "/api/auth/session")
        .header("x-tandem-visitor", &visitor)
        .json(&json!({"phone": member_phone, "code": code}))
        .send();
    signed.expect(200);
    let member = Session { cookie: cookie_pair(&signed), member_id: String::new() };
    let profile = call("GET", "/api/me/profile").session(&member).send().expect(200);
    assert_eq!((profile["subject"].as_str(), profile["events"].as_u64()), (Some("member"), Some(4)), "{profile}");
    assert_eq!(profile["consent"]["personalised"], true, "the consent came along");
    let keys: Vec<&str> = profile["tags"].as_array().expect("tags").iter().filter_map(|t| t["key"].as_str()).collect();
    assert!(keys.contains(&"category:baby"), "{profile}");
    assert!(profile["muted"].as_array().expect("muted").iter().any(|m| m == "price:mid"), "removed tags stay removed");
    // Nothing is left under the visitor.
    let left = call("GET", "/api/me/export").header("x-tandem-visitor", &visitor).send().expect(200);
    assert_eq!(left["events"], json!([]), "{left}");
}

#[test]
fn promotions_by_segment_are_previewed_edited_and_reach_the_shopper() {
    let owner = session_for(JINGAN_OWNER);
    let clerk = session_for(JINGAN_CLERK);
    let parent_phone = phone(4);
    let parent = sign_in(&parent_phone);
    consent(&parent, true);
    baby_views(&parent, "promo");
    // Through the clerk's card the parent becomes one of the store's customers.
    visit(Some(&parent), &code_of(&clerk), &json!({"kind": "card"})).expect(200);

    let url = format!("/api/store/{STORE}/promotions");
    let current = call("GET", &url).session(&owner).send().expect(200);
    let rules = current["rules"].clone();
    assert!(rules.as_array().is_some_and(|r| r.iter().any(|r| r["id"] == "mother_baby")), "{current}");
    let masked = format!("+86 {}****{}", &parent_phone[..3], &parent_phone[7..]);
    let row_of = |answer: &Value| {
        answer["preview"]["rows"].as_array().expect("rows").iter().find(|r| r["name"] == masked.as_str()).cloned()
    };
    let row = row_of(&current).unwrap_or_else(|| panic!("{masked} in the preview: {current}"));
    assert_eq!(row["message"]["rule_id"], "mother_baby", "{row}");

    // The parent sees their own message on the shelf.
    let offers = call("GET", &format!("/api/me/offers?store={STORE}")).session(&parent).send().expect(200);
    assert_eq!(offers["message"]["rule_id"], "mother_baby", "{offers}");
    assert!(
        offers["message"]["text"]["zh"].as_str().is_some_and(|t| t.contains("奶粉券") && t.contains("¥30")),
        "{offers}"
    );

    // A draft preview changes nothing.
    let mut draft = rules.clone();
    for rule in draft.as_array_mut().expect("rules") {
        if rule["id"] == "mother_baby" {
            rule["enabled"] = json!(false);
        }
    }
    let previewed =
        call("POST", &format!("{url}/preview")).session(&owner).json(&json!({"rules": draft})).send().expect(200);
    assert_eq!(previewed["source"], "draft");
    assert!(row_of(&previewed).is_some_and(|r| r["message"]["rule_id"] != "mother_baby"), "{previewed}");
    let again = call("GET", &url).session(&owner).send().expect(200);
    assert_eq!(row_of(&again).expect("row")["message"]["rule_id"], "mother_baby", "the preview saved nothing");

    // Bad rules are refused naming the rule; clerks may look but not edit.
    let mut bad = rules.clone();
    bad[0]["when"] = json!(["life:astronaut"]);
    let refused = call("PUT", &url).session(&owner).json(&json!({"rules": bad, "version": again["version"]})).send();
    assert_eq!(refused.error(400, "bad_request")["field"], "rules[0].when");
    call("GET", &url).session(&clerk).send().expect(200);
    call("PUT", &url)
        .session(&clerk)
        .json(&json!({"rules": rules, "version": again["version"]}))
        .send()
        .error(403, "manager_only");

    // The manager saves new copy; the parent's message follows; a stale editor is refused.
    let mut edited = rules.clone();
    for rule in edited.as_array_mut().expect("rules") {
        if rule["id"] == "mother_baby" {
            rule["message"]["zh"] = json!("{name}，静安店周六亲子日「{event}」！送你奶粉券：{coupon}，{days} 天有效。");
        }
    }
    let saved = call("PUT", &url)
        .session(&owner)
        .json(&json!({"rules": edited, "version": again["version"]}))
        .send()
        .expect(200);
    assert_eq!(saved["source"], "store");
    let offers = call("GET", &format!("/api/me/offers?store={STORE}")).session(&parent).send().expect(200);
    assert!(offers["message"]["text"]["zh"].as_str().is_some_and(|t| t.contains("静安店周六亲子日")), "{offers}");
    call("PUT", &url)
        .session(&owner)
        .json(&json!({"rules": edited, "version": again["version"]}))
        .send()
        .error(409, "stale_rules");

    // Tried on in the store, offered online with the parent's coupon.
    let try_on = json!({"customer_code": code_of(&parent), "events": [
        {"id": id("tried", 0), "type": "try_on", "product": "p-0102", "size": "M", "outcome": "liked"}]});
    call("POST", &format!("/api/store/{STORE}/events")).session(&clerk).json(&try_on).send().expect(200);
    let tried = call("GET", &format!("/api/recommendations?store={STORE}&placement=tried_on"))
        .session(&parent)
        .send()
        .expect(200);
    assert_eq!(tried["items"][0]["product_id"], "p-0102", "{tried}");
    assert_eq!(tried["offer"]["rule_id"], "mother_baby", "{tried}");
    assert!(tried["offer"]["text"]["zh"].as_str().is_some_and(|t| t.contains("¥30")), "the coupon's words: {tried}");

    // Personalisation off: no message, and the preview leaves them out.
    consent(&parent, false);
    let offers = call("GET", &format!("/api/me/offers?store={STORE}")).session(&parent).send().expect(200);
    assert_eq!((offers["personalised"].as_bool(), offers["message"].is_null()), (Some(false), true));
    assert!(row_of(&call("GET", &url).session(&owner).send().expect(200)).is_none());

    // The platform's rules are the operator's.
    call("GET", "/api/operator/promotions").session(&session_for(OPERATOR)).send().expect(200);
    assert!(call("GET", "/api/operator/promotions").session(&clerk).send().status >= 400);
}

/// A card edit takes the JSON object the document describes, in UTF-8: an array read by
/// position or bytes that are not UTF-8 are refused and change nothing.
#[test]
fn a_card_edit_takes_a_json_object_in_utf8_only() {
    let me = sign_in(&phone(90));
    call("PUT", "/api/me/card").session(&me).json(&json!({"title": "店长", "bio": "你好"})).send().expect(200);
    let array = call("PUT", "/api/me/card").session(&me).raw(r#"["t","b"]"#).send();
    assert_eq!(array.error(400, "bad_request")["field"], "body");
    let not_utf8 =
        call("PUT", "/api/me/card").session(&me).bytes("application/json", b"{\"title\":\"\xff\xfe\"}").send();
    assert_eq!(not_utf8.error(400, "bad_request")["field"], "body");
    let wrong_type = call("PUT", "/api/me/card").session(&me).json(&json!({"title": 3})).send();
    assert_eq!(wrong_type.error(400, "bad_request")["field"], "title");
    let card = call("GET", "/api/me/card").session(&me).send().expect(200)["card"].clone();
    assert_eq!((card["title"].as_str(), card["bio"].as_str()), (Some("店长"), Some("你好")), "{card}");
}
