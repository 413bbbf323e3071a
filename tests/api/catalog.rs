//! The catalogue: stores, shelves, products, the OpenAPI document and the served app.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::http::{assert_error, call, get, ok_json};

/// Walks every page of a shelf query, checking the pages' order and cursors on the way.
fn all_pages(store: &str, extra: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/api/stores/{store}/shelf?limit={limit}{extra}");
        if let Some(cursor) = &cursor {
            path = format!("{path}&cursor={cursor}");
        }
        let page = ok_json(&path);
        pages += 1;
        let page_items = page["items"].as_array().expect("items").clone();
        assert!(page_items.len() <= limit);
        items.extend(page_items);
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(items.len() % limit, 0, "only full pages have a next cursor");
                cursor = Some(next.to_owned());
            }
            None => break,
        }
        assert!(pages < 100, "pagination does not end");
    }
    (items, pages)
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|item| item["product_id"].as_str().expect("product_id").to_owned()).collect()
}

#[test]
fn health_answers_ok() {
    let body = ok_json("/api/health");
    assert_eq!(body["status"], "ok");
}

#[test]
fn stores_lists_the_demo_stores_in_both_languages() {
    let body = ok_json("/api/stores");
    let stores = body["stores"].as_array().unwrap();
    assert!(stores.len() >= 3);
    let jingan = stores.iter().find(|s| s["id"] == "s-jingan").expect("s-jingan");
    assert_eq!(jingan["name"]["zh"], "静安寺店");
    assert_eq!(jingan["name"]["en"], "Jing'an Temple store");
    assert!(jingan["shelf_size"].as_u64().unwrap() >= 40);
    let ids: Vec<&str> = stores.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    assert_error("/api/stores?page=2", 400, "bad_request");
}

#[test]
fn shelf_pages_cover_the_whole_shelf_once_in_order() {
    for store in ["s-jingan", "s-tianhe", "s-chunxi"] {
        let stores = ok_json("/api/stores");
        let expected = stores["stores"].as_array().unwrap().iter().find(|s| s["id"] == store).unwrap()["shelf_size"]
            .as_u64()
            .unwrap();
        let (items, pages) = all_pages(store, "", 7);
        let ids = ids(&items);
        assert_eq!(ids.len() as u64, expected, "{store}");
        assert!(pages >= 4, "{store}: {pages} pages");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{store}: not strictly ordered: {ids:?}");
        for item in &items {
            let from = item["price_from_fen"].as_i64().unwrap();
            assert!(from > 0 && from <= item["price_to_fen"].as_i64().unwrap());
        }
    }
}

#[test]
fn default_page_is_twenty_items_with_a_cursor() {
    let page = ok_json("/api/stores/s-jingan/shelf");
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
    assert!(page["next_cursor"].as_str().unwrap().starts_with("v1."));
}

#[test]
fn shelf_filters_by_category_and_search() {
    let (baby, _) = all_pages("s-jingan", "&category=baby", 3);
    assert!(baby.len() >= 6);
    assert!(baby.iter().all(|item| item["category"] == "baby"));

    let (formula, _) = all_pages("s-jingan", "&q=%E5%A5%B6%E7%B2%89", 20); // 奶粉
    assert_eq!(ids(&formula), ["p-0301", "p-0302"]);

    let (cotton, _) = all_pages("s-jingan", "&q=COTTON", 20);
    assert!(cotton.len() >= 3);
    assert!(cotton.iter().all(|item| item["name"]["en"].as_str().unwrap().to_lowercase().contains("cotton")));

    let (both, _) = all_pages("s-jingan", "&category=home&q=cotton", 20);
    assert!(!both.is_empty());
    assert!(both.iter().all(|item| item["category"] == "home"));

    let (nothing, pages) = all_pages("s-jingan", "&q=zzzz-nothing", 20);
    assert!(nothing.is_empty());
    assert_eq!(pages, 1);

    // A wildcard in the search is a literal character, not "anything".
    let (percent, _) = all_pages("s-jingan", "&q=%25", 20);
    assert!(percent.iter().all(|item| item["name"]["en"].as_str().unwrap().contains('%')));
}

#[test]
fn shelf_rejects_bad_parameters_naming_the_field() {
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=51", "limit"),
        ("limit=ten", "limit"),
        ("category=toys", "category"),
        ("cursor=p-0101", "cursor"),
        ("sort=price", "sort"),
        ("q=a&q=b", "q"),
    ] {
        let body = assert_error(&format!("/api/stores/s-jingan/shelf?{query}"), 400, "bad_request");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let body = assert_error("/api/stores/NOT%20AN%20ID/shelf", 400, "bad_request");
    assert_eq!(body["field"], "id");
}

#[test]
fn unknown_store_is_404() {
    let body = assert_error("/api/stores/s-nowhere/shelf", 404, "not_found");
    assert_eq!(body["resource"], "store");
}

#[test]
fn product_shows_store_prices_and_availability_per_fulfilment() {
    let detail = ok_json("/api/products/p-0101?store=s-jingan");
    assert_eq!(detail["name"]["zh"], "新疆长绒棉圆领T恤");
    assert_eq!(detail["store_id"], "s-jingan");
    assert_eq!(detail["supplier"]["zh"], "华纺服饰");
    let skus = detail["skus"].as_array().unwrap();
    assert_eq!(skus.len(), 12, "4 sizes × 3 colours");
    for sku in skus {
        assert_eq!(sku["price_fen"], 9_900);
        for option in ["pickup", "delivery"] {
            let status = sku[option]["status"].as_str().unwrap();
            assert!(["in_stock", "low", "out_of_stock", "unavailable"].contains(&status), "{status}");
        }
    }
    assert!(skus.iter().any(|s| s["variant"]["size"] == "M" && s["variant"]["colour"]["en"] == "Black"));
    assert!(detail["media"].as_array().unwrap().len() >= 2);

    // The same product costs what each store charges.
    let tianhe = ok_json("/api/products/p-0101?store=s-tianhe");
    assert_eq!(tianhe["skus"][0]["price_fen"], 10_900);
}

#[test]
fn products_with_models_list_their_glb() {
    for id in ["p-0501", "p-0304", "p-0202"] {
        let detail = ok_json(&format!("/api/products/{id}?store=s-jingan"));
        let model = detail["media"].as_array().unwrap().iter().find(|m| m["kind"] == "model").expect("model");
        let url = model["url"].as_str().unwrap();
        let asset = get(url);
        assert_eq!(asset.status, 200, "{url}");
    }
    let (items, _) = all_pages("s-jingan", "&category=home", 20);
    assert!(items.iter().any(|item| item["has_model"] == true));
}

#[test]
fn product_errors_are_json_with_the_right_status() {
    assert_eq!(assert_error("/api/products/p-0101", 400, "bad_request")["field"], "store");
    assert_eq!(assert_error("/api/products/p-0101?store=Bad!", 400, "bad_request")["field"], "store");
    assert_eq!(assert_error("/api/products/p-0101?store=s-jingan&x=1", 400, "bad_request")["field"], "x");
    assert_eq!(assert_error("/api/products/p-9999?store=s-jingan", 404, "not_found")["resource"], "product");
    assert_eq!(assert_error("/api/products/p-0101?store=s-nowhere", 404, "not_found")["resource"], "store");
    // p-0104 is not on the Tianhe store's shelf: there it does not exist.
    assert_eq!(assert_error("/api/products/p-0104?store=s-tianhe", 404, "not_found")["resource"], "product");
    assert_eq!(ok_json("/api/products/p-0104?store=s-jingan")["product_id"], "p-0104");
}

#[test]
fn unknown_routes_and_methods_answer_json() {
    assert_eq!(assert_error("/api/nothing-here", 404, "not_found")["resource"], "route");
    let answer = call("POST", "/api/stores").send();
    assert_eq!(answer.status, 405);
    assert_eq!(answer.json()["error"], "method_not_allowed");
    assert_eq!(answer.allow.as_deref(), Some("GET, HEAD"));
    // Methods no route takes are refused, never served as a GET.
    for (method, path, allow) in [
        ("QUERY", "/api/cart", "GET, HEAD"),
        ("PROPFIND", "/api/me/export", "GET, HEAD"),
        ("PATCH", "/api/me/card", "GET, HEAD, PUT"),
    ] {
        // Sent by hand: the HTTP client refuses methods it does not know.
        let answer = crate::http::raw_request(method, path);
        assert!(answer.starts_with("HTTP/1.1 405"), "{method} {path}: {answer}");
        let allow_header = format!("allow: {}", allow.to_ascii_lowercase());
        assert!(answer.to_ascii_lowercase().contains(&allow_header), "{method} {path}: {answer}");
        assert!(answer.contains(&format!(r#""allowed":"{allow}""#)), "{method} {path}: {answer}");
    }
}

/// Every route in the served OpenAPI document exists on the running Worker (it may refuse the
/// empty request, but not as an unknown route or method), and the document lists the routes
/// this file exercises. The Worker's own unit test checks its route table against the same
/// document both ways, so a new route must be documented to pass.
#[test]
fn openapi_documents_every_route() {
    let document = ok_json("/api/openapi.json");
    assert_eq!(document["openapi"], "3.1.0");
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    for expected in [
        ("GET", "/api/health"),
        ("GET", "/api/stores/{id}/shelf"),
        ("GET", "/api/products/{id}"),
        ("POST", "/api/auth/code"),
        ("POST", "/api/auth/session"),
        ("DELETE", "/api/auth/session"),
        ("GET", "/api/me"),
        ("GET", "/api/dev/otp"),
        ("PUT", "/api/dev/clock"),
    ] {
        assert!(operations.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} undocumented");
    }
    for (method, path) in &operations {
        let concrete = path.replace("{id}", if path.starts_with("/api/products") { "p-0101" } else { "s-jingan" });
        let answer = call(method, &concrete).send();
        let unknown_route = answer.status == 404 && answer.text.contains("\"resource\":\"route\"");
        assert!(
            !unknown_route && answer.status != 405,
            "{method} {concrete} is documented but not routed: {}",
            answer.text
        );
        assert!(document["paths"][path][method.to_lowercase()]["summary"].is_string());
    }
}

#[test]
fn the_app_is_served_beside_the_api() {
    let index = get("/");
    assert_eq!(index.status, 200);
    assert!(index.text.contains("id=\"app\""));
    assert!(index.text.contains("sk-card"), "the skeleton shows before the Wasm runs");
    // Client-side routes fall back to the app.
    let product_page = get("/p/p-0101?store=s-jingan");
    assert_eq!(product_page.status, 200);
    assert!(product_page.text.contains("id=\"app\""));
    for asset in ["/app.css", "/pkg/app.js", "/pkg/app_bg.wasm", "/favicon.svg"] {
        assert_eq!(get(asset).status, 200, "{asset}");
    }
    let robots = get("/robots.txt");
    assert_eq!(robots.status, 200);
    assert!(robots.text.contains("User-agent: *") && robots.text.contains("Disallow: /api/"), "{}", robots.text);
    assert!(!robots.text.contains("id=\"app\""), "robots.txt is not the app's page");
    let page = ok_json("/api/stores/s-chunxi/shelf?limit=50");
    for item in page["items"].as_array().unwrap() {
        let image = item["image"].as_str().unwrap();
        assert_eq!(get(image).status, 200, "{image}");
    }
}
