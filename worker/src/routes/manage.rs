//! Running the catalogue: a store's shelf (prices inside the band, past the margin guard), its
//! pickup stock and its clerks; a supplier's SKUs, price bands and CSV import; the operator's
//! stores, suppliers and platform fee. Every route checks the caller's role for the store or
//! supplier in its path (404 otherwise); changing a store's shelf, stock or clerks takes its
//! owner, not a clerk.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::access::{Access, StoreRight};
use tandem_domain::api::Problem;
use tandem_domain::auth::Phone;
use tandem_domain::catalog::{SkuId, StoreId, SupplierId};
use tandem_domain::crypto;
use tandem_domain::import::{self, ImportRow, RowError};
use tandem_domain::money::Fen;
use tandem_domain::pricing::{PriceBand, PricingPolicy};
use tandem_domain::time::Timestamp;
use worker::{D1Database, Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::session::{caller_with_access, require_operator, require_store, require_supplier};
use crate::{body, config, db};

/// The store in the path, for its owner; a clerk is refused, anyone else told it does not exist.
fn owned_store(access: &Access, store: &str) -> Result<StoreId, ApiError> {
    let (id, right) = require_store(access, store)?;
    if right < StoreRight::Manage {
        return Err(ApiError::refused(Problem::OwnerOnly, "only the store's owner can change this"));
    }
    Ok(id)
}

fn sku_param(raw: &str) -> Result<SkuId, ApiError> {
    SkuId::parse(raw).map_err(|_| ApiError::NotFound { resource: "sku" })
}

async fn pricing_policy(db: &D1Database) -> Result<PricingPolicy, ApiError> {
    Ok(crate::store::settings::pricing(&crate::store::d1::D1(db)).await?)
}

#[derive(Deserialize, serde::Serialize)]
struct CatalogRow {
    sku_id: String,
    product_id: String,
    supplier_id: String,
    name_zh: String,
    name_en: String,
    size: Option<String>,
    colour_zh: Option<String>,
    supply_price_fen: i64,
    min_price_fen: i64,
    max_price_fen: i64,
    price_fen: Option<i64>,
    on_hand: Option<i64>,
    reserved: Option<i64>,
}

/// `GET /api/store/{id}/catalog`: every SKU of the active suppliers, with its band, this
/// store's price (none when not on the shelf) and the store's stock.
pub async fn store_catalog(env: &Env, req: &Request, store: &str) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    let (store, _) = require_store(&access, store)?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "SELECT k.id AS sku_id, p.id AS product_id, p.supplier_id, p.name_zh, p.name_en, k.size, k.colour_zh,
                k.supply_price_fen, k.min_price_fen, k.max_price_fen, si.price_fen, st.on_hand, st.reserved
         FROM skus k JOIN products p ON p.id = k.product_id JOIN suppliers sup ON sup.id = p.supplier_id
         LEFT JOIN shelf_items si ON si.store_id = ?1 AND si.sku_id = k.id
         LEFT JOIN locations l ON l.store_id = ?1
         LEFT JOIN stock st ON st.location_id = l.id AND st.sku_id = k.id
         WHERE sup.status = 'active' ORDER BY p.id, k.position LIMIT 1000",
        &[db::text(store.as_str())],
    )?;
    let rows = db::all::<CatalogRow>(statement).await?;
    let policy = pricing_policy(&db).await?;
    json_response(
        200,
        &json!({"skus": rows, "platform_fee_bp": policy.platform_fee.get(), "distribution_cap_bp": policy.distribution_cap.get()}),
        "no-store",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceForm {
    price_fen: i64,
}

#[derive(Deserialize)]
struct BandRow {
    product_id: String,
    supply_price_fen: i64,
    min_price_fen: i64,
    max_price_fen: i64,
}

/// `PUT /api/store/{id}/shelf/{sku}`: puts a SKU on the shelf, or changes its price. The price
/// must lie in the supplier's band and leave a margin that covers the platform fee and the
/// distribution cap (422 `price_refused` says which).
pub async fn set_shelf_price(
    env: &Env,
    req: &Request,
    store: &str,
    sku: &str,
    text: &str,
) -> Result<Response, ApiError> {
    let form: PriceForm = body::parse_json(text)?;
    let (_, access) = caller_with_access(env, req).await?;
    let store = owned_store(&access, store)?;
    let sku = sku_param(sku)?;
    let db = db::database(env)?;
    let read = db::prepare(
        &db,
        "SELECT k.product_id, k.supply_price_fen, k.min_price_fen, k.max_price_fen FROM skus k
         JOIN products p ON p.id = k.product_id JOIN suppliers s ON s.id = p.supplier_id
         WHERE k.id = ?1 AND s.status = 'active'",
        &[db::text(sku.as_str())],
    )?;
    let row = db::one::<BandRow>(read).await?.ok_or(ApiError::NotFound { resource: "sku" })?;
    let band = db::stored(PriceBand::new(Fen(row.supply_price_fen), Fen(row.min_price_fen), Fen(row.max_price_fen)))?;
    band.check_shelf_price(Fen(form.price_fen), pricing_policy(&db).await?)
        .map_err(|e| ApiError::refused(Problem::PriceRefused, e.to_string()))?;
    let now = config::now(env).await?;
    let write = db::prepare(
        &db,
        "INSERT INTO shelf_items (store_id, sku_id, product_id, price_fen, listed_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (store_id, sku_id) DO UPDATE SET price_fen = excluded.price_fen",
        &[
            db::text(store.as_str()),
            db::text(sku.as_str()),
            db::text(&row.product_id),
            db::integer(form.price_fen),
            db::text(&now.to_rfc3339()),
        ],
    )?;
    db::run(write).await?;
    json_response(200, &json!({"sku_id": sku, "price_fen": form.price_fen}), "no-store")
}

/// `DELETE /api/store/{id}/shelf/{sku}`: takes a SKU off the shelf (carts lose it; orders keep it).
pub async fn remove_from_shelf(env: &Env, req: &Request, store: &str, sku: &str) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    let store = owned_store(&access, store)?;
    let sku = sku_param(sku)?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "DELETE FROM shelf_items WHERE store_id = ?1 AND sku_id = ?2",
        &[db::text(store.as_str()), db::text(sku.as_str())],
    )?;
    let result = db::run(statement).await?;
    let changed = db::changes(&result);
    if changed == 0 {
        return Err(ApiError::NotFound { resource: "sku" });
    }
    json_response(200, &json!({"sku_id": sku, "on_shelf": false}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StockForm {
    on_hand: i64,
}

/// `PUT /api/store/{id}/stock/{sku}`: the units on hand in the store, for pickup. Units held by
/// unpaid checkouts cannot be counted away (409 `stock_held`).
pub async fn set_store_stock(
    env: &Env,
    req: &Request,
    store: &str,
    sku: &str,
    text: &str,
) -> Result<Response, ApiError> {
    let form: StockForm = body::parse_json(text)?;
    if !(0..=1_000_000).contains(&form.on_hand) {
        return Err(ApiError::bad_request("on_hand", "from 0 to 1000000"));
    }
    let (_, access) = caller_with_access(env, req).await?;
    let store = owned_store(&access, store)?;
    let sku = sku_param(sku)?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "INSERT INTO stock (location_id, sku_id, on_hand)
         SELECT l.id, k.id, ?3 FROM locations l JOIN skus k ON k.id = ?2 WHERE l.store_id = ?1
         ON CONFLICT (location_id, sku_id) DO UPDATE SET on_hand = excluded.on_hand",
        &[db::text(store.as_str()), db::text(sku.as_str()), db::integer(form.on_hand)],
    )?;
    let Some(results) = db::guarded_batch(&db, vec![statement]).await? else {
        return Err(ApiError::refused(Problem::StockHeld, "more units than that are held by unpaid checkouts"));
    };
    if results.first().map_or(0, db::changes) == 0 {
        return Err(ApiError::NotFound { resource: "sku" });
    }
    json_response(200, &json!({"sku_id": sku, "on_hand": form.on_hand}), "no-store")
}

#[derive(Deserialize)]
struct StaffRow {
    phone_hash: String,
    phone_enc: String,
    role: String,
}

/// `GET /api/store/{id}/clerks`: the store's owner and clerks, phones masked.
pub async fn list_clerks(env: &Env, req: &Request, store: &str) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    let store = owned_store(&access, store)?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "SELECT phone_hash, phone_enc, role FROM staff WHERE scope = 'store' AND scope_id = ?1 ORDER BY role DESC, added_at",
        &[db::text(store.as_str())],
    )?;
    let key = config::key(env, "PHONE_ENC_KEY")?;
    let people: Vec<_> = db::all::<StaffRow>(statement)
        .await?
        .into_iter()
        .map(|row| {
            let phone = crypto::open(&key, &row.phone_enc)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| Phone::parse(&text).ok())
                .map(|phone| phone.masked());
            json!({"id": row.phone_hash, "phone": phone, "role": row.role})
        })
        .collect();
    json_response(200, &json!({"staff": people}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteForm {
    phone: String,
}

/// A staff row's statement for `phone`: `(hash, sealed phone)`.
fn staff_identity(env: &Env, phone: &Phone) -> Result<(String, String), ApiError> {
    let hash = phone.lookup_hash(&config::key(env, "LOOKUP_KEY")?);
    let sealed =
        crypto::seal(&config::key(env, "PHONE_ENC_KEY")?, config::random_bytes::<12>()?, phone.as_str().as_bytes())
            .ok_or_else(|| ApiError::internal("could not seal a phone number"))?;
    Ok((hash, sealed))
}

/// `POST /api/store/{id}/clerks`: makes a phone a clerk of the store (from its next request on;
/// before its first sign-in too).
pub async fn invite_clerk(env: &Env, req: &Request, store: &str, text: &str) -> Result<Response, ApiError> {
    let form: InviteForm = body::parse_json(text)?;
    let phone = Phone::parse(&form.phone).map_err(|e| ApiError::bad_request("phone", e.to_string()))?;
    let (_, access) = caller_with_access(env, req).await?;
    let store = owned_store(&access, store)?;
    let now = config::now(env).await?;
    let (hash, sealed) = staff_identity(env, &phone)?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "INSERT INTO staff (scope, scope_id, phone_hash, phone_enc, role, added_at) VALUES ('store', ?1, ?2, ?3, 'clerk', ?4)
         ON CONFLICT (scope, scope_id, phone_hash) DO NOTHING",
        &[db::text(store.as_str()), db::text(&hash), db::text(&sealed), db::integer(now.millis())],
    )?;
    db::run(statement).await?;
    json_response(201, &json!({"id": hash, "phone": phone.masked(), "role": "clerk"}), "no-store")
}

/// `DELETE /api/store/{id}/clerks/{staff}`: removes a clerk (never the owner).
pub async fn remove_clerk(env: &Env, req: &Request, store: &str, staff: &str) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    let store = owned_store(&access, store)?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "DELETE FROM staff WHERE scope = 'store' AND scope_id = ?1 AND phone_hash = ?2 AND role = 'clerk'",
        &[db::text(store.as_str()), db::text(staff)],
    )?;
    let result = db::run(statement).await?;
    if db::changes(&result) == 0 {
        return Err(ApiError::NotFound { resource: "clerk" });
    }
    json_response(200, &json!({"removed": staff}), "no-store")
}

/// `GET /api/supplier/{id}/skus`: the supplier's SKUs with their bands and warehouse stock.
pub async fn supplier_skus(env: &Env, req: &Request, supplier: &str) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    let statement = db::prepare(
        &db,
        "SELECT k.id AS sku_id, p.id AS product_id, p.supplier_id, p.name_zh, p.name_en, k.size, k.colour_zh,
                k.supply_price_fen, k.min_price_fen, k.max_price_fen, NULL AS price_fen, st.on_hand, st.reserved
         FROM skus k JOIN products p ON p.id = k.product_id
         LEFT JOIN locations l ON l.supplier_id = p.supplier_id
         LEFT JOIN stock st ON st.location_id = l.id AND st.sku_id = k.id
         WHERE p.supplier_id = ?1 ORDER BY p.id, k.position LIMIT 1000",
        &[db::text(supplier.as_str())],
    )?;
    json_response(200, &json!({"skus": db::all::<CatalogRow>(statement).await?}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportForm {
    csv: String,
}

/// The writes of one imported row: product, SKU (its band refused, failing the batch, if a
/// store's shelf price would fall outside it), a picture for a new product, warehouse stock.
fn row_writes(
    db: &D1Database,
    supplier: &SupplierId,
    row: &ImportRow,
    now: Timestamp,
) -> Result<Vec<worker::D1PreparedStatement>, ApiError> {
    let (colour_zh, colour_en) = row.colour.clone().unzip();
    Ok(vec![
        db::prepare(
            db,
            "INSERT INTO products (id, supplier_id, category, name_zh, name_en, description_zh, description_en, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, '', '', ?6)
             ON CONFLICT (id) DO UPDATE SET category = excluded.category, name_zh = excluded.name_zh, name_en = excluded.name_en
             WHERE products.supplier_id = excluded.supplier_id",
            &[
                db::text(row.product_id.as_str()),
                db::text(supplier.as_str()),
                db::text(row.category.code()),
                db::text(&row.name_zh),
                db::text(&row.name_en),
                db::text(&now.to_rfc3339()),
            ],
        )?,
        // A product of another supplier keeps its owner: the guard's NULL refuses the row.
        db::prepare(
            db,
            "INSERT INTO skus (id, product_id, position, size, colour_zh, colour_en, supply_price_fen, min_price_fen, max_price_fen)
             SELECT ?1, CASE WHEN p.supplier_id = ?2 THEN p.id END,
                    (SELECT COALESCE(MAX(position) + 1, 0) FROM skus WHERE product_id = ?3), ?4, ?5, ?6, ?7, ?8, ?9
             FROM products p WHERE p.id = ?3
             ON CONFLICT (id) DO UPDATE SET supply_price_fen = excluded.supply_price_fen,
                 min_price_fen = CASE WHEN NOT EXISTS (SELECT 1 FROM shelf_items si WHERE si.sku_id = excluded.id
                                   AND si.price_fen NOT BETWEEN excluded.min_price_fen AND excluded.max_price_fen)
                                 AND skus.product_id = excluded.product_id THEN excluded.min_price_fen END,
                 max_price_fen = excluded.max_price_fen, size = excluded.size,
                 colour_zh = excluded.colour_zh, colour_en = excluded.colour_en",
            &[
                db::text(row.sku_id.as_str()),
                db::text(supplier.as_str()),
                db::text(row.product_id.as_str()),
                db::optional_text(row.size.as_deref()),
                db::optional_text(colour_zh.as_deref()),
                db::optional_text(colour_en.as_deref()),
                db::integer(row.band.supply_fen().get()),
                db::integer(row.band.min_fen().get()),
                db::integer(row.band.max_fen().get()),
            ],
        )?,
        db::prepare(
            db,
            "INSERT INTO media (product_id, position, kind, url, alt_zh, alt_en)
             SELECT ?1, 0, 'image', '/favicon.svg', ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM media WHERE product_id = ?1)",
            &[db::text(row.product_id.as_str()), db::text(&row.name_zh), db::text(&row.name_en)],
        )?,
        db::prepare(
            db,
            "INSERT INTO stock (location_id, sku_id, on_hand) SELECT l.id, ?2, ?3 FROM locations l WHERE l.supplier_id = ?1
             ON CONFLICT (location_id, sku_id) DO UPDATE SET on_hand = excluded.on_hand",
            &[db::text(supplier.as_str()), db::text(row.sku_id.as_str()), db::integer(row.stock)],
        )?,
    ])
}

/// `POST /api/supplier/{id}/import`: rows of the CSV (at most 200 a request; the console sends
/// a file in parts and shows the progress). Each good row is written in its own batch; the
/// answer lists how many were applied and each refused row with its line and column.
pub async fn import_csv(env: &Env, req: &Request, supplier: &str, text: &str) -> Result<Response, ApiError> {
    let form: ImportForm = body::parse_json(text)?;
    let (_, access) = caller_with_access(env, req).await?;
    let supplier = require_supplier(&access, supplier)?;
    let (rows, mut errors) = import::parse(&form.csv).map_err(|e| ApiError::bad_request("csv", e.to_string()))?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let mut applied = 0;
    for row in &rows {
        if db::guarded_batch(&db, row_writes(&db, &supplier, row, now)?).await?.is_some() {
            applied += 1;
        } else {
            errors.push(RowError {
                line: row.line,
                column: "sku_id".to_owned(),
                message: "refused: the product belongs to another supplier, a store's price lies outside the new band, or units are held".to_owned(),
            });
        }
    }
    errors.sort_by_key(|e| e.line);
    json_response(200, &json!({"applied": applied, "errors": errors}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeeForm {
    platform_fee_bp: u32,
}

/// `GET /api/operator/settings` and `PUT` (the platform fee, at most 20 %).
pub async fn settings(env: &Env, req: &Request, text: Option<&str>) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    require_operator(&access)?;
    let db = db::database(env)?;
    if let Some(text) = text {
        let form: FeeForm = body::parse_json(text)?;
        let fee = tandem_domain::pricing::platform_fee(form.platform_fee_bp).map_err(|_| {
            let most = tandem_domain::pricing::MAX_PLATFORM_FEE_BP;
            ApiError::bad_request("platform_fee_bp", format!("from 0 to {most} basis points"))
        })?;
        crate::store::settings::set_platform_fee(&crate::store::d1::D1(&db), fee.get()).await?;
    }
    let policy = pricing_policy(&db).await?;
    json_response(
        200,
        &json!({"platform_fee_bp": policy.platform_fee.get(), "distribution_cap_bp": policy.distribution_cap.get()}),
        "no-store",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewStore {
    id: StoreId,
    name_zh: String,
    name_en: String,
    city_zh: String,
    city_en: String,
    address_zh: String,
    address_en: String,
    owner_phone: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSupplier {
    id: SupplierId,
    name_zh: String,
    name_en: String,
    staff_phone: String,
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > max || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(field, format!("1 to {max} characters")));
    }
    Ok(())
}

/// The stock location of a new store (`scope` "store") or supplier's warehouse ("supplier").
fn tenant_location(
    db: &D1Database,
    scope: &str,
    id: &str,
    name_zh: &str,
    name_en: &str,
) -> Result<worker::D1PreparedStatement, ApiError> {
    let (kind, column) = if scope == "store" { ("store", "store_id") } else { ("supplier_warehouse", "supplier_id") };
    db::prepare(
        db,
        &format!("INSERT INTO locations (id, kind, {column}, name_zh, name_en) VALUES (?1, '{kind}', ?2, ?3, ?4)"),
        &[db::text(&format!("loc-{id}")), db::text(id), db::text(name_zh), db::text(name_en)],
    )
}

/// The first staff row of a new store (its owner) or supplier.
fn first_staff(
    db: &D1Database,
    scope: &str,
    id: &str,
    role: &str,
    hash: &str,
    sealed: &str,
    now: tandem_domain::time::Timestamp,
) -> Result<worker::D1PreparedStatement, ApiError> {
    db::prepare(
        db,
        "INSERT INTO staff (scope, scope_id, phone_hash, phone_enc, role, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[db::text(scope), db::text(id), db::text(hash), db::text(sealed), db::text(role), db::integer(now.millis())],
    )
}

/// `POST /api/operator/stores`: a store, its stock location, and its owner.
pub async fn create_store(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: NewStore = body::parse_json(text)?;
    for (field, value, max) in [
        ("name_zh", &form.name_zh, 40),
        ("name_en", &form.name_en, 80),
        ("city_zh", &form.city_zh, 20),
        ("city_en", &form.city_en, 40),
        ("address_zh", &form.address_zh, 120),
        ("address_en", &form.address_en, 200),
    ] {
        check_text(field, value, max)?;
    }
    let owner = Phone::parse(&form.owner_phone).map_err(|e| ApiError::bad_request("owner_phone", e.to_string()))?;
    let (_, access) = caller_with_access(env, req).await?;
    require_operator(&access)?;
    let now = config::now(env).await?;
    let (hash, sealed) = staff_identity(env, &owner)?;
    let db = db::database(env)?;
    let id = form.id.as_str();
    let writes = vec![
        db::prepare(
            &db,
            "INSERT INTO stores (id, name_zh, name_en, city_zh, city_en, address_zh, address_en, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                db::text(id),
                db::text(form.name_zh.trim()),
                db::text(form.name_en.trim()),
                db::text(form.city_zh.trim()),
                db::text(form.city_en.trim()),
                db::text(form.address_zh.trim()),
                db::text(form.address_en.trim()),
                db::text(&now.to_rfc3339()),
            ],
        )?,
        tenant_location(&db, "store", id, form.name_zh.trim(), form.name_en.trim())?,
        first_staff(&db, "store", id, "owner", &hash, &sealed, now)?,
        super::cards::ensure_store_card(&db, id, now)?,
    ];
    if db::guarded_batch(&db, writes).await?.is_none() {
        return Err(ApiError::refused(Problem::IdTaken, format!("a store {id} exists already")));
    }
    json_response(201, &json!({"id": id, "status": "active"}), "no-store")
}

/// `POST /api/operator/suppliers`: a supplier, its warehouse, and its first staff member.
pub async fn create_supplier(env: &Env, req: &Request, text: &str) -> Result<Response, ApiError> {
    let form: NewSupplier = body::parse_json(text)?;
    check_text("name_zh", &form.name_zh, 40)?;
    check_text("name_en", &form.name_en, 80)?;
    let staff = Phone::parse(&form.staff_phone).map_err(|e| ApiError::bad_request("staff_phone", e.to_string()))?;
    let (_, access) = caller_with_access(env, req).await?;
    require_operator(&access)?;
    let now = config::now(env).await?;
    let (hash, sealed) = staff_identity(env, &staff)?;
    let db = db::database(env)?;
    let id = form.id.as_str();
    let writes = vec![
        db::prepare(
            &db,
            "INSERT INTO suppliers (id, name_zh, name_en, created_at) VALUES (?1, ?2, ?3, ?4)",
            &[db::text(id), db::text(form.name_zh.trim()), db::text(form.name_en.trim()), db::text(&now.to_rfc3339())],
        )?,
        tenant_location(
            &db,
            "supplier",
            id,
            &format!("{}仓", form.name_zh.trim()),
            &format!("{} warehouse", form.name_en.trim()),
        )?,
        first_staff(&db, "supplier", id, "staff", &hash, &sealed, now)?,
    ];
    if db::guarded_batch(&db, writes).await?.is_none() {
        return Err(ApiError::refused(Problem::IdTaken, format!("a supplier {id} exists already")));
    }
    json_response(201, &json!({"id": id, "status": "active"}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusForm {
    status: String,
}

/// `PUT /api/operator/stores/{id}/status` and `…/suppliers/{id}/status`: active or suspended.
/// A suspended store takes no orders and leaves the store list; a suspended supplier's goods
/// cannot be bought or priced.
pub async fn set_status(env: &Env, req: &Request, table: &str, id: &str, text: &str) -> Result<Response, ApiError> {
    let form: StatusForm = body::parse_json(text)?;
    if !matches!(form.status.as_str(), "active" | "suspended") {
        return Err(ApiError::bad_request("status", "active or suspended"));
    }
    let (_, access) = caller_with_access(env, req).await?;
    require_operator(&access)?;
    let (sql, resource) = match table {
        "stores" => ("UPDATE stores SET status = ?2 WHERE id = ?1", "store"),
        _ => ("UPDATE suppliers SET status = ?2 WHERE id = ?1", "supplier"),
    };
    let db = db::database(env)?;
    let result = db::run(db::prepare(&db, sql, &[db::text(id), db::text(&form.status)])?).await?;
    if db::changes(&result) == 0 {
        return Err(ApiError::NotFound { resource });
    }
    json_response(200, &json!({"id": id, "status": form.status}), "no-store")
}

#[derive(Deserialize, serde::Serialize)]
struct TenantRow {
    id: String,
    name_zh: String,
    name_en: String,
    status: String,
}

/// `GET /api/operator/tenants`: every store and supplier with its status, suspended ones too.
pub async fn tenants(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req).await?;
    require_operator(&access)?;
    let db = db::database(env)?;
    let results = db::batch(
        &db,
        vec![
            db::prepare(&db, "SELECT id, name_zh, name_en, status FROM stores ORDER BY id", &[])?,
            db::prepare(&db, "SELECT id, name_zh, name_en, status FROM suppliers ORDER BY id", &[])?,
        ],
    )
    .await?;
    let stores: Vec<TenantRow> = db::nth(&results, 0)?;
    let suppliers: Vec<TenantRow> = db::nth(&results, 1)?;
    json_response(200, &json!({"stores": stores, "suppliers": suppliers}), "no-store")
}
