//! Running the catalogue: a store's shelf (prices inside the band, past the margin guard), its
//! pickup stock and its clerks; a supplier's SKUs, price bands and CSV import; the operator's
//! stores, suppliers and platform fee. Every route checks the caller's role for the store or
//! supplier in its path (404 otherwise); changing a store's shelf, stock or clerks takes its
//! owner, not a clerk.

use tandem_domain::access::{Access, StoreRight};
use tandem_domain::api::Problem;
use tandem_domain::api::manage::{
    ClerkInvite, FeeRequest, ImportRequest, NewStore, NewSupplier, OffShelf, PriceSet, Removed, ShelfPrice,
    StatusRequest, StockSet, StoreStock, TenantStatus,
};
use tandem_domain::api::manage::{ImportAnswer, Settings, StaffList, StaffMember, StoreCatalog, SupplierSkus, Tenants};
use tandem_domain::auth::Phone;
use tandem_domain::card;
use tandem_domain::catalog::{SkuId, StoreId, Text};
use tandem_domain::crypto;
use tandem_domain::import::{self, RowError};
use tandem_domain::money::Fen;
use tandem_domain::pricing::PricingPolicy;
use tandem_domain::time::Timestamp;
use worker::{D1Database, Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::session::{caller_with_access, require_operator, require_store, require_supplier};
use crate::store::d1::D1;
use crate::store::sql::Guarded;
use crate::store::tenants::{self, Person};
use crate::store::{cards, catalog};
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

fn settings_of(policy: PricingPolicy) -> Settings {
    Settings { platform_fee_bp: policy.platform_fee.get(), distribution_cap_bp: policy.distribution_cap.get() }
}

async fn pricing_policy(db: &D1Database) -> Result<PricingPolicy, ApiError> {
    Ok(crate::store::settings::pricing(&crate::store::d1::D1(db)).await?)
}

/// `GET /api/store/{id}/catalog`: every SKU of the active suppliers, with its band, this
/// store's price (none when not on the shelf) and the store's stock.
pub async fn store_catalog(env: &Env, req: &Request, store: &str, now: Timestamp) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let (store, _) = require_store(&access, store)?;
    let db = db::database(env)?;
    let rows = catalog::store_skus(&D1(&db), store.as_str()).await?;
    let policy = pricing_policy(&db).await?;
    json_response(200, &StoreCatalog { skus: rows, settings: settings_of(policy) }, "no-store")
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
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: ShelfPrice = body::parse_json(text)?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let store = owned_store(&access, store)?;
    let sku = sku_param(sku)?;
    let db = db::database(env)?;
    let store_db = D1(&db);
    let (product, band) = catalog::band(&store_db, &sku).await?.ok_or(ApiError::NotFound { resource: "sku" })?;
    band.check_shelf_price(Fen(form.price_fen), pricing_policy(&db).await?)
        .map_err(|e| ApiError::refused(Problem::PriceRefused, e.to_string()))?;
    catalog::shelve(&store_db, &store, (&sku, &product), Fen(form.price_fen), now).await?;
    json_response(200, &PriceSet { sku_id: sku, price_fen: form.price_fen }, "no-store")
}

/// `DELETE /api/store/{id}/shelf/{sku}`: takes a SKU off the shelf (carts lose it; orders keep it).
pub async fn remove_from_shelf(
    env: &Env,
    req: &Request,
    store: &str,
    sku: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let store = owned_store(&access, store)?;
    let sku = sku_param(sku)?;
    let db = db::database(env)?;
    if !catalog::unshelve(&D1(&db), &store, &sku).await? {
        return Err(ApiError::NotFound { resource: "sku" });
    }
    json_response(200, &OffShelf { sku_id: sku, on_shelf: false }, "no-store")
}

/// `PUT /api/store/{id}/stock/{sku}`: the units on hand in the store, for pickup. Units held by
/// unpaid checkouts cannot be counted away (409 `stock_held`).
pub async fn set_store_stock(
    env: &Env,
    req: &Request,
    store: &str,
    sku: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: StoreStock = body::parse_json(text)?;
    if !(0..=1_000_000).contains(&form.on_hand) {
        return Err(ApiError::bad_request("on_hand", "from 0 to 1000000"));
    }
    let (_, access) = caller_with_access(env, req, now).await?;
    let store = owned_store(&access, store)?;
    let sku = sku_param(sku)?;
    let db = db::database(env)?;
    let flash_sale = match catalog::set_store_stock(&D1(&db), &store, &sku, form.on_hand, form.flash_sale).await? {
        Guarded::Written(Some(flash_sale)) => flash_sale,
        Guarded::Written(None) => return Err(ApiError::NotFound { resource: "sku" }),
        Guarded::Lost(_) => {
            return Err(ApiError::refused(Problem::StockHeld, "more units than that are held by unpaid checkouts"));
        }
    };
    json_response(200, &StockSet { sku_id: sku, on_hand: form.on_hand, flash_sale }, "no-store")
}

/// `GET /api/store/{id}/clerks`: the store's owner and clerks, phones masked.
pub async fn list_clerks(env: &Env, req: &Request, store: &str, now: Timestamp) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let store = owned_store(&access, store)?;
    let db = db::database(env)?;
    let key = config::key(env, "PHONE_ENC_KEY")?;
    let people: Vec<_> = tenants::clerks(&D1(&db), store.as_str())
        .await?
        .into_iter()
        .map(|row| {
            let phone = crypto::open(&key, &row.phone_enc)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| Phone::parse(&text).ok())
                .map(|phone| phone.masked());
            StaffMember { id: row.phone_hash, phone, role: row.role }
        })
        .collect();
    json_response(200, &StaffList { staff: people }, "no-store")
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
pub async fn invite_clerk(
    env: &Env,
    req: &Request,
    store: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: ClerkInvite = body::parse_json(text)?;
    let phone = Phone::parse(&form.phone).map_err(|e| ApiError::bad_request("phone", e.to_string()))?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let store = owned_store(&access, store)?;
    let (hash, sealed) = staff_identity(env, &phone)?;
    let db = db::database(env)?;
    tenants::add_clerk(&D1(&db), store.as_str(), Person { phone_hash: &hash, phone_sealed: &sealed }, now).await?;
    json_response(201, &StaffMember { id: hash, phone: Some(phone.masked()), role: "clerk".to_owned() }, "no-store")
}

/// `DELETE /api/store/{id}/clerks/{staff}`: removes a clerk (never the owner).
pub async fn remove_clerk(
    env: &Env,
    req: &Request,
    store: &str,
    staff: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let store = owned_store(&access, store)?;
    let db = db::database(env)?;
    if !tenants::remove_clerk(&D1(&db), store.as_str(), staff).await? {
        return Err(ApiError::NotFound { resource: "clerk" });
    }
    json_response(200, &Removed { removed: staff.to_owned() }, "no-store")
}

/// `GET /api/supplier/{id}/skus`: the supplier's SKUs with their bands and warehouse stock.
pub async fn supplier_skus(env: &Env, req: &Request, supplier: &str, now: Timestamp) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    let supplier = require_supplier(&access, supplier)?;
    let db = db::database(env)?;
    json_response(200, &SupplierSkus { skus: catalog::supplier_skus(&D1(&db), supplier.as_str()).await? }, "no-store")
}

/// `POST /api/supplier/{id}/import`: rows of the CSV (at most 200 a request; the console sends
/// a file in parts and shows the progress). Each good row is written in its own batch; the
/// answer lists how many were applied and each refused row with its line and column.
pub async fn import_csv(
    env: &Env,
    req: &Request,
    supplier: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: ImportRequest = body::parse_json(text)?;
    let (_, access) = caller_with_access(env, req, now).await?;
    let supplier = require_supplier(&access, supplier)?;
    let (rows, mut errors) = import::parse(&form.csv).map_err(|e| ApiError::bad_request("csv", e.to_string()))?;
    let db = db::database(env)?;
    let mut applied = 0;
    for row in &rows {
        if catalog::import_row(&D1(&db), &supplier, row, now).await?.written() {
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
    json_response(200, &ImportAnswer { applied, errors }, "no-store")
}

/// `GET /api/operator/settings` and `PUT` (the platform fee, at most 20 %).
pub async fn settings(env: &Env, req: &Request, text: Option<&str>, now: Timestamp) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    require_operator(&access)?;
    let db = db::database(env)?;
    if let Some(text) = text {
        let form: FeeRequest = body::parse_json(text)?;
        let fee = tandem_domain::pricing::platform_fee(form.platform_fee_bp).map_err(|_| {
            let most = tandem_domain::pricing::MAX_PLATFORM_FEE_BP;
            ApiError::bad_request("platform_fee_bp", format!("from 0 to {most} basis points"))
        })?;
        crate::store::settings::set_platform_fee(&crate::store::d1::D1(&db), fee.get()).await?;
    }
    let policy = pricing_policy(&db).await?;
    json_response(200, &settings_of(policy), "no-store")
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let chars = value.trim().chars().count();
    if chars == 0 || chars > max || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(field, format!("1 to {max} characters")));
    }
    Ok(())
}

/// `POST /api/operator/stores`: a store, its stock location, and its owner.
pub async fn create_store(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
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
    let (_, access) = caller_with_access(env, req, now).await?;
    require_operator(&access)?;
    let (hash, sealed) = staff_identity(env, &owner)?;
    let db = db::database(env)?;
    let id = form.id.as_str();
    let text = |zh: &str, en: &str| Text::new(zh.trim(), en.trim());
    let (name, city, address) = (
        text(&form.name_zh, &form.name_en),
        text(&form.city_zh, &form.city_en),
        text(&form.address_zh, &form.address_en),
    );
    let store = tenants::NewStore { id, name: &name, city: &city, address: &address };
    let card_code = card::code_of(&config::random_bytes::<{ card::STORE_CODE_LEN }>()?);
    let owner = Person { phone_hash: &hash, phone_sealed: &sealed };
    let created =
        tenants::create_store(&D1(&db), store, owner, cards::ensure_store_card(id, &card_code, now), now).await?;
    if !created.written() {
        return Err(ApiError::refused(Problem::IdTaken, format!("a store {id} exists already")));
    }
    json_response(201, &TenantStatus { id: id.to_string(), status: "active".to_owned() }, "no-store")
}

/// `POST /api/operator/suppliers`: a supplier, its warehouse, and its first staff member.
pub async fn create_supplier(env: &Env, req: &Request, text: &str, now: Timestamp) -> Result<Response, ApiError> {
    let form: NewSupplier = body::parse_json(text)?;
    check_text("name_zh", &form.name_zh, 40)?;
    check_text("name_en", &form.name_en, 80)?;
    let staff = Phone::parse(&form.staff_phone).map_err(|e| ApiError::bad_request("staff_phone", e.to_string()))?;
    let (_, access) = caller_with_access(env, req, now).await?;
    require_operator(&access)?;
    let (hash, sealed) = staff_identity(env, &staff)?;
    let db = db::database(env)?;
    let id = form.id.as_str();
    let name = Text::new(form.name_zh.trim(), form.name_en.trim());
    let warehouse = Text::new(format!("{}仓", form.name_zh.trim()), format!("{} warehouse", form.name_en.trim()));
    let person = Person { phone_hash: &hash, phone_sealed: &sealed };
    if !tenants::create_supplier(&D1(&db), (id, &name, &warehouse), person, now).await?.written() {
        return Err(ApiError::refused(Problem::IdTaken, format!("a supplier {id} exists already")));
    }
    json_response(201, &TenantStatus { id: id.to_string(), status: "active".to_owned() }, "no-store")
}

/// `PUT /api/operator/stores/{id}/status` and `…/suppliers/{id}/status`: active or suspended.
/// A suspended store takes no orders and leaves the store list; a suspended supplier's goods
/// cannot be bought or priced.
pub async fn set_status(
    env: &Env,
    req: &Request,
    table: &str,
    id: &str,
    text: &str,
    now: Timestamp,
) -> Result<Response, ApiError> {
    let form: StatusRequest = body::parse_json(text)?;
    if !matches!(form.status.as_str(), "active" | "suspended") {
        return Err(ApiError::bad_request("status", "active or suspended"));
    }
    let (_, access) = caller_with_access(env, req, now).await?;
    require_operator(&access)?;
    let (kind, resource) = match table {
        "stores" => (tenants::Kind::Store, "store"),
        _ => (tenants::Kind::Supplier, "supplier"),
    };
    let db = db::database(env)?;
    if !tenants::set_status(&D1(&db), kind, id, &form.status).await? {
        return Err(ApiError::NotFound { resource });
    }
    json_response(200, &TenantStatus { id: id.to_owned(), status: form.status }, "no-store")
}

/// `GET /api/operator/tenants`: every store and supplier with its status, suspended ones too.
pub async fn tenants(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let (_, access) = caller_with_access(env, req, now).await?;
    require_operator(&access)?;
    let db = db::database(env)?;
    let (stores, suppliers) = tenants::all(&D1(&db)).await?;
    json_response(200, &Tenants { stores, suppliers }, "no-store")
}
