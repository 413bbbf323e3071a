//! Rows the store's tests start from, written as SQL fixtures outside the store layer: a store,
//! a supplier with a product, its SKU and warehouse stock, members, and orders with lines.

use super::sqlite::Sqlite;

/// The phone hash of member `id`: 64 hex characters, distinct per id.
pub fn phone_hash(id: &str) -> String {
    tandem_domain::crypto::sha256_hex(id.as_bytes())
}

/// A database with the migrations, store `s-1`, supplier `sup-a` selling product `p-1` (SKU
/// `p-1-01`, supply 100 fen, band 200–300) with 5 units in warehouse `w-a`.
pub fn catalogue() -> Sqlite {
    let db = Sqlite::migrated().unwrap();
    db.execute(
        "INSERT INTO stores (id, name_zh, name_en, city_zh, city_en, address_zh, address_en, created_at)
             VALUES ('s-1', '店', 'Store', '上海', 'Shanghai', '路', 'Road', '0');
         INSERT INTO suppliers (id, name_zh, name_en, created_at) VALUES ('sup-a', '甲', 'A', '0');
         INSERT INTO products (id, supplier_id, category, name_zh, name_en, description_zh, description_en, created_at)
             VALUES ('p-1', 'sup-a', 'home', '杯', 'Cup', '', '', '0');
         INSERT INTO skus (id, product_id, position, supply_price_fen, min_price_fen, max_price_fen)
             VALUES ('p-1-01', 'p-1', 0, 100, 200, 300);
         INSERT INTO locations (id, kind, supplier_id, name_zh, name_en)
             VALUES ('w-a', 'supplier_warehouse', 'sup-a', '仓', 'Warehouse');
         INSERT INTO stock (location_id, sku_id, on_hand) VALUES ('w-a', 'p-1-01', 5);",
    )
    .unwrap();
    db
}

/// Member `id` with a place in the network under `inviter`, invite code `code`.
pub fn member(db: &Sqlite, id: &str, code: &str, inviter: Option<&str>) {
    let inviter = inviter.map_or("NULL".to_owned(), |i| format!("'{i}'"));
    db.execute(&format!(
        "INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES ('{id}', '{}', 'x', 0);
         INSERT INTO chain_members (member_id, invite_code, inviter, joined_at) VALUES ('{id}', '{code}', {inviter}, 0);",
        phone_hash(id)
    ))
    .unwrap();
}

/// Member `id` without a place in the network yet.
pub fn member_only(db: &Sqlite, id: &str) {
    db.execute(&format!(
        "INSERT INTO members (id, phone_hash, phone_enc, created_at) VALUES ('{id}', '{}', 'x', 0)",
        phone_hash(id)
    ))
    .unwrap();
}

/// A delivery order `id` of `member` in checkout `co-{id}` in state `state`: `quantity` of SKU
/// `p-1-01` at 250 fen each, shipped by `sup-a`.
pub fn order(db: &Sqlite, id: &str, member: &str, state: &str, quantity: i64) {
    let goods = 250 * quantity;
    db.execute(&format!(
        "INSERT INTO checkouts (id, member_id, store_id, state, total_fen, hold_expires_at, created_at)
             VALUES ('co-{id}', '{member}', 's-1', 'awaiting_payment', {goods}, 1, 0);
         INSERT INTO orders (id, checkout_id, member_id, store_id, fulfilment, shipper_id, state, goods_fen,
                             shipping_fen, total_fen, platform_fee_bp, created_at)
             VALUES ('{id}', 'co-{id}', '{member}', 's-1', 'delivery', 'sup-a', '{state}', {goods}, 0, {goods}, 500, 0);
         INSERT INTO order_lines (order_id, position, sku_id, product_id, supplier_id, location_id, quantity,
                                  price_fen, supply_fen, name_zh, name_en, variant_zh, variant_en)
             VALUES ('{id}', 0, 'p-1-01', 'p-1', 'sup-a', 'w-a', {quantity}, 250, 100, '杯', 'Cup', '', '');"
    ))
    .unwrap();
}

/// Publishes `rules` as their own version.
pub fn publish(db: &Sqlite, rules: &tandem_domain::chain21::rules::Rules) {
    let body = serde_json::to_string(rules).unwrap().replace('\'', "''");
    db.execute(&format!(
        "INSERT INTO chain_rules (version, state, body, created_at, published_at, team_period_days, conversion_window_days)
             VALUES ({}, 'published', '{body}', 0, 0, {}, {})",
        rules.version, rules.peer.period_days, rules.dynamic.window_days
    ))
    .unwrap();
}
