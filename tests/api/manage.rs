//! Running the catalogue: a supplier's CSV import and bands, a store's shelf prices (band and
//! margin guard), pickup stock and clerks, the operator's stores, suppliers and fee.

use serde_json::{Value, json};

use crate::http::{Session, call, ok_json, session_for, sign_in};

const OPERATOR: &str = "13900000000";
const JINGAN_OWNER: &str = "13900000001";
const JINGAN_CLERK: &str = "13900000002";
const TIANHE_OWNER: &str = "13900000003";
const HUAFANG_STAFF: &str = "13900000011";
const YANGGUANG_STAFF: &str = "13900000012";

const HEADER: &str =
    "product_id,category,name_zh,name_en,sku_id,size,colour_zh,colour_en,supply_fen,min_fen,max_fen,stock";

fn import(staff: &Session, supplier: &str, rows: &str) -> Value {
    call("POST", &format!("/api/supplier/{supplier}/import"))
        .session(staff)
        .json(&json!({"csv": format!("{HEADER}\n{rows}")}))
        .send()
        .expect(200)
}

fn price(owner: &Session, store: &str, sku: &str, price_fen: i64) -> crate::http::Answer {
    call("PUT", &format!("/api/store/{store}/shelf/{sku}")).session(owner).json(&json!({"price_fen": price_fen})).send()
}

#[test]
fn a_supplier_imports_and_a_store_prices_inside_band_and_guard() {
    let staff = session_for(HUAFANG_STAFF);
    let report = import(
        &staff,
        "sup-huafang",
        "p-0990,clothing,测试围巾,Test scarf,p-0990-01,,灰色,Grey,1000,1100,5000,30\n\
         p-0990,clothing,测试围巾,Test scarf,p-0990-02,,,,1000,900,5000,30\n\
         p-0991,toys,玩具,Toy,p-0991-01,,,,100,200,300,1\n",
    );
    assert_eq!(report["applied"], 1, "{report}");
    let errors: Vec<(i64, &str)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["line"].as_i64().expect("line"), e["column"].as_str().expect("column")))
        .collect();
    assert_eq!(errors, [(3, "min_fen"), (4, "category")], "{report}");
    // Another supplier cannot add SKUs to this supplier's product.
    let theirs = import(
        &session_for(YANGGUANG_STAFF),
        "sup-yangguang",
        "p-0990,clothing,抢注,Hijack,p-0990-77,,,,100,200,300,1\n",
    );
    assert_eq!((theirs["applied"].as_i64(), theirs["errors"][0]["line"].as_i64()), (Some(0), Some(2)), "{theirs}");
    let skus = call("GET", "/api/supplier/sup-huafang/skus").session(&staff).send().expect(200);
    let sku =
        skus["skus"].as_array().expect("skus").iter().find(|s| s["sku_id"] == "p-0990-01").expect("imported").clone();
    assert_eq!((sku["min_price_fen"].as_i64(), sku["on_hand"].as_i64()), (Some(1100), Some(30)));

    let owner = session_for(JINGAN_OWNER);
    price(&owner, "s-jingan", "p-0990-01", 1000).error(422, "price_refused");
    price(&owner, "s-jingan", "p-0990-01", 5001).error(422, "price_refused");
    // Inside the band, but ¥12 leaves ¥1.40 after supply and fee: less than 35 % of the price.
    let guard = price(&owner, "s-jingan", "p-0990-01", 1200).error(422, "price_refused");
    assert!(guard["message"].as_str().expect("message").contains("distribution cap"), "{guard}");
    price(&session_for(JINGAN_CLERK), "s-jingan", "p-0990-01", 2500).error(403, "owner_only");
    price(&session_for(TIANHE_OWNER), "s-jingan", "p-0990-01", 2500).error(404, "not_found");
    price(&owner, "s-jingan", "p-0990-01", 2500).expect(200);
    let detail = ok_json("/api/products/p-0990?store=s-jingan");
    assert_eq!(detail["skus"][0]["price_fen"], 2500);
    assert_eq!(detail["skus"][0]["delivery"]["status"], "in_stock");

    // A band that would leave the store's price outside it is refused; the band stays.
    let narrowed =
        import(&staff, "sup-huafang", "p-0990,clothing,测试围巾,Test scarf,p-0990-01,,灰色,Grey,1000,3000,5000,30\n");
    assert_eq!(narrowed["applied"], 0, "{narrowed}");
    price(&owner, "s-jingan", "p-0990-01", 2000).expect(200);

    // Pickup stock in the store, and what unpaid checkouts hold cannot be counted away.
    call("PUT", "/api/store/s-jingan/stock/p-0990-01").session(&owner).json(&json!({"on_hand": 3})).send().expect(200);
    assert_eq!(ok_json("/api/products/p-0990?store=s-jingan")["skus"][0]["pickup"]["units"], 3);
    let shopper = sign_in("13700000020");
    let body =
        json!({"store_id": "s-jingan", "lines": [{"sku_id": "p-0990-01", "quantity": 2, "fulfilment": "pickup"}]});
    call("POST", "/api/orders").session(&shopper).header("idempotency-key", "hold").json(&body).send().expect(201);
    call("PUT", "/api/store/s-jingan/stock/p-0990-01")
        .session(&owner)
        .json(&json!({"on_hand": 1}))
        .send()
        .error(409, "stock_held");

    let removed = call("DELETE", "/api/store/s-jingan/shelf/p-0990-02").session(&owner).send();
    removed.error(404, "not_found");
    call("DELETE", "/api/store/s-jingan/shelf/p-0990-01").session(&owner).send().expect(200);
    assert_eq!(crate::http::get("/api/products/p-0990?store=s-jingan").status, 404);
}

#[test]
fn owners_invite_and_remove_clerks() {
    let owner = session_for(JINGAN_OWNER);
    let invited = call("POST", "/api/store/s-jingan/clerks")
        .session(&owner)
        .json(&json!({"phone": "13900000021"}))
        .send()
        .expect(201);
    let id = invited["id"].as_str().expect("id").to_owned();
    let clerk = sign_in("13900000021");
    let me = call("GET", "/api/me").session(&clerk).send().expect(200);
    assert_eq!(me["roles"], json!([{"role": "clerk", "store_id": "s-jingan"}]));
    call("GET", "/api/store/s-jingan/orders").session(&clerk).send().expect(200);
    let staff = call("GET", "/api/store/s-jingan/clerks").session(&owner).send().expect(200);
    assert!(staff["staff"].as_array().expect("staff").iter().any(|s| s["phone"] == "+86 139****0021"), "{staff}");
    assert!(!staff.to_string().contains("13900000021"), "phones are masked");
    call("GET", "/api/store/s-jingan/clerks").session(&clerk).send().error(403, "owner_only");
    call("POST", "/api/store/s-jingan/clerks")
        .session(&owner)
        .json(&json!({"phone": "123"}))
        .send()
        .error(400, "bad_request");
    call("DELETE", &format!("/api/store/s-jingan/clerks/{id}")).session(&owner).send().expect(200);
    call("GET", "/api/store/s-jingan/orders").session(&clerk).send().error(404, "not_found");
    call("DELETE", &format!("/api/store/s-jingan/clerks/{id}")).session(&owner).send().error(404, "not_found");
}

#[test]
fn operators_run_stores_suppliers_and_the_fee() {
    let operator = session_for(OPERATOR);
    let nobody = sign_in("13700000021");
    call("GET", "/api/operator/settings").session(&nobody).send().error(404, "not_found");
    assert_eq!(call("GET", "/api/operator/settings").session(&operator).send().expect(200)["platform_fee_bp"], 500);
    call("PUT", "/api/operator/settings")
        .session(&operator)
        .json(&json!({"platform_fee_bp": 5000}))
        .send()
        .error(400, "bad_request");
    let set = call("PUT", "/api/operator/settings")
        .session(&operator)
        .json(&json!({"platform_fee_bp": 600}))
        .send()
        .expect(200);
    assert_eq!(set["platform_fee_bp"], 600);
    call("PUT", "/api/operator/settings").session(&operator).json(&json!({"platform_fee_bp": 500})).send().expect(200);

    let store = json!({"id": "s-xuhui", "name_zh": "徐汇店", "name_en": "Xuhui store", "city_zh": "上海",
                       "city_en": "Shanghai", "address_zh": "漕溪北路 1 号", "address_en": "1 North Caoxi Road",
                       "owner_phone": "13900000031"});
    call("POST", "/api/operator/stores").session(&nobody).json(&store).send().error(404, "not_found");
    call("POST", "/api/operator/stores").session(&operator).json(&store).send().expect(201);
    call("POST", "/api/operator/stores").session(&operator).json(&store).send().error(409, "id_taken");
    let listed = |id: &str| ok_json("/api/stores")["stores"].as_array().expect("stores").iter().any(|s| s["id"] == id);
    assert!(listed("s-xuhui"));
    let owner = sign_in("13900000031");
    call("GET", "/api/store/s-xuhui/catalog").session(&owner).send().expect(200);
    price(&owner, "s-xuhui", "p-0101-01", 9900).expect(200);
    let status = |table: &str, id: &str, status: &str| {
        call("PUT", &format!("/api/operator/{table}/{id}/status"))
            .session(&operator)
            .json(&json!({"status": status}))
            .send()
            .expect(200);
    };
    status("stores", "s-xuhui", "suspended");
    assert!(!listed("s-xuhui"));
    let tenants = call("GET", "/api/operator/tenants").session(&operator).send().expect(200);
    let xuhui =
        tenants["stores"].as_array().expect("stores").iter().find(|s| s["id"] == "s-xuhui").expect("listed").clone();
    assert_eq!(xuhui["status"], "suspended", "the operator still sees a suspended store");
    call("GET", "/api/operator/tenants").session(&nobody).send().error(404, "not_found");
    let shopper = sign_in("13700000022");
    let order = json!({"store_id": "s-xuhui", "lines": [{"sku_id": "p-0101-01", "quantity": 1, "fulfilment": "delivery"}],
                       "address": {"name": "李", "phone": "13800138000", "region": "上海", "detail": "1 号"}});
    call("POST", "/api/orders")
        .session(&shopper)
        .header("idempotency-key", "suspended")
        .json(&order)
        .send()
        .error(409, "store_suspended");
    status("stores", "s-xuhui", "active");
    assert_eq!(
        call("POST", "/api/orders").session(&shopper).header("idempotency-key", "active").json(&order).send().status,
        201
    );

    let supplier =
        json!({"id": "sup-test", "name_zh": "测试供应", "name_en": "Test Supply", "staff_phone": "13900000032"});
    call("POST", "/api/operator/suppliers").session(&operator).json(&supplier).send().expect(201);
    let staff = sign_in("13900000032");
    let imported = import(&staff, "sup-test", "p-0995,home,测试杯,Test cup,p-0995-01,,,,1000,2000,3000,10\n");
    assert_eq!(imported["applied"], 1, "{imported}");
    price(&session_for(JINGAN_OWNER), "s-jingan", "p-0995-01", 2500).expect(200);
    status("suppliers", "sup-test", "suspended");
    let line = json!({"store_id": "s-jingan", "lines": [{"sku_id": "p-0995-01", "quantity": 1, "fulfilment": "delivery"}],
                      "address": {"name": "李", "phone": "13800138000", "region": "上海", "detail": "1 号"}});
    call("POST", "/api/orders")
        .session(&shopper)
        .header("idempotency-key", "sup-suspended")
        .json(&line)
        .send()
        .error(409, "supplier_suspended");
    price(&session_for(JINGAN_OWNER), "s-jingan", "p-0995-01", 2600).error(404, "not_found");
    status("suppliers", "sup-test", "active");
    call("PUT", "/api/operator/stores/s-nowhere/status")
        .session(&operator)
        .json(&json!({"status": "active"}))
        .send()
        .error(404, "not_found");
}

/// The smallest valid PNG: one transparent pixel.
const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[test]
fn suppliers_upload_pictures_that_the_shelf_then_shows() {
    let staff = session_for(HUAFANG_STAFF);
    let upload = |session: &Session, supplier: &str, product: &str, content_type: &str, body: &[u8]| {
        call(
            "POST",
            &format!("/api/supplier/{supplier}/products/{product}/media?alt_zh=%E6%AD%A3%E9%9D%A2&alt_en=Front"),
        )
        .session(session)
        .bytes(content_type, body)
        .send()
    };
    let stored = upload(&staff, "sup-huafang", "p-0102", "image/png", PIXEL_PNG).expect(201);
    let url = stored["url"].as_str().expect("url").to_owned();
    let served = crate::http::get(&url);
    assert_eq!((served.status, served.content_type.as_str()), (200, "image/png"));
    let detail = ok_json("/api/products/p-0102?store=s-jingan");
    let media = detail["media"].as_array().expect("media");
    let added = media.iter().find(|m| m["url"] == url.as_str()).expect("the picture is in the gallery");
    assert_eq!((added["alt"]["zh"].as_str(), added["alt"]["en"].as_str()), (Some("正面"), Some("Front")));

    upload(&staff, "sup-huafang", "p-0102", "image/png", b"<svg onload=alert(1)></svg>")
        .error(415, "unsupported_media");
    upload(&staff, "sup-huafang", "p-0102", "image/jpeg", PIXEL_PNG).error(415, "unsupported_media");
    let huge = [PIXEL_PNG, &vec![0u8; 1024 * 1024]].concat();
    upload(&staff, "sup-huafang", "p-0102", "image/png", &huge).error(413, "payload_too_large");
    // Another supplier's product, or another supplier's console: not found.
    upload(&staff, "sup-huafang", "p-0301", "image/png", PIXEL_PNG).error(404, "not_found");
    upload(&session_for(YANGGUANG_STAFF), "sup-huafang", "p-0102", "image/png", PIXEL_PNG).error(404, "not_found");

    let position = stored["position"].as_i64().expect("position");
    let removed = call("DELETE", &format!("/api/supplier/sup-huafang/products/p-0102/media/{position}"))
        .session(&staff)
        .send()
        .expect(200);
    assert_eq!(removed["removed"], url.as_str());
    assert_eq!(crate::http::get(&url).status, 404);
}
