//! The cart, kept on the server: a member's, or before sign-in the one named by the random id in
//! the `tandem_cart` cookie, which sign-in merges into the member's.

use serde::Deserialize;
use serde_json::json;
use tandem_domain::catalog::{ProductId, SkuId, StoreId, Text, Variant};
use tandem_domain::checkout::MAX_LINE_QUANTITY;
use tandem_domain::crypto;
use tandem_domain::money::Fen;
use tandem_domain::order::Fulfilment;
use tandem_domain::stock::Availability;
use tandem_domain::views::{CartLineView, CartView};
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

use super::json_response;
use super::orders::fulfilment_code;
use crate::error::ApiError;
use crate::{body, config, db, session};

pub const CART_COOKIE: &str = "tandem_cart";

/// The anonymous cart's id from its cookie, if well-formed.
fn anonymous_id(req: &Request) -> Option<String> {
    session::cookie(req, CART_COOKIE)
        .filter(|id| id.len() == 34 && id.starts_with("k-") && id[2..].bytes().all(|b| b.is_ascii_hexdigit()))
}

fn new_cart_id() -> Result<String, ApiError> {
    Ok(format!("k-{}", crypto::hex(&config::random_bytes::<16>()?)))
}

/// Whose cart a request reaches.
enum Owner {
    Member(String),
    Anonymous(Option<String>),
}

async fn owner(env: &Env, req: &Request) -> Result<Owner, ApiError> {
    match session::caller(env, req).await {
        Ok(caller) => Ok(Owner::Member(caller.member_id)),
        Err(ApiError::Unauthenticated) => Ok(Owner::Anonymous(anonymous_id(req))),
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct LineRow {
    store_id: String,
    sku_id: String,
    product_id: String,
    fulfilment: String,
    quantity: i64,
    name_zh: String,
    name_en: String,
    size: Option<String>,
    colour_zh: Option<String>,
    colour_en: Option<String>,
    image: Option<String>,
    price_fen: i64,
    on_hand: Option<i64>,
    reserved: Option<i64>,
}

/// The cart's lines that are still on their store's shelf, oldest first, with today's price and
/// stock. `?1` is the cart id, `?2` 1 for an anonymous cart (which must not belong to a member).
const VIEW_SQL: &str = "SELECT cl.store_id, cl.sku_id, si.product_id, cl.fulfilment, cl.quantity, p.name_zh, p.name_en,
        k.size, k.colour_zh, k.colour_en,
        (SELECT m.url FROM media m WHERE m.product_id = p.id AND m.kind = 'image' ORDER BY m.position LIMIT 1) AS image,
        si.price_fen,
        CASE cl.fulfilment WHEN 'pickup' THEN ss.on_hand ELSE ws.on_hand END AS on_hand,
        CASE cl.fulfilment WHEN 'pickup' THEN ss.reserved ELSE ws.reserved END AS reserved
     FROM cart_lines cl
     JOIN carts c ON c.id = cl.cart_id
     JOIN shelf_items si ON si.store_id = cl.store_id AND si.sku_id = cl.sku_id
     JOIN skus k ON k.id = cl.sku_id
     JOIN products p ON p.id = si.product_id
     LEFT JOIN locations sl ON sl.store_id = cl.store_id
     LEFT JOIN stock ss ON ss.location_id = sl.id AND ss.sku_id = cl.sku_id
     LEFT JOIN locations wl ON wl.supplier_id = p.supplier_id
     LEFT JOIN stock ws ON ws.location_id = wl.id AND ws.sku_id = cl.sku_id
     WHERE cl.cart_id = ?1 AND (?2 = 0 OR c.member_id IS NULL)
     ORDER BY cl.added_at, cl.sku_id";

fn view(rows: Vec<LineRow>) -> Result<CartView, ApiError> {
    let lines = rows
        .into_iter()
        .map(|row| {
            Ok(CartLineView {
                store_id: db::stored(StoreId::parse(&row.store_id))?,
                sku_id: db::stored(SkuId::parse(&row.sku_id))?,
                product_id: db::stored(ProductId::parse(&row.product_id))?,
                fulfilment: if row.fulfilment == "pickup" { Fulfilment::Pickup } else { Fulfilment::Delivery },
                quantity: row.quantity,
                name: Text { zh: row.name_zh, en: row.name_en },
                variant: Variant {
                    size: row.size,
                    colour: match (row.colour_zh, row.colour_en) {
                        (Some(zh), Some(en)) => Some(Text { zh, en }),
                        _ => None,
                    },
                },
                image: row.image.unwrap_or_default(),
                price_fen: Fen(row.price_fen),
                availability: Availability::from_counts(row.on_hand.zip(row.reserved)),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(CartView { lines })
}

/// The statement reading a cart's view: by member, or by anonymous id.
fn view_statement(db: &D1Database, owner: &Owner) -> Result<Option<D1PreparedStatement>, ApiError> {
    Ok(match owner {
        Owner::Member(member) => Some(db::prepare(
            db,
            &VIEW_SQL.replace("cl.cart_id = ?1", "cl.cart_id = (SELECT id FROM carts WHERE member_id = ?1)"),
            &[db::text(member), db::integer(0)],
        )?),
        Owner::Anonymous(Some(id)) => Some(db::prepare(db, VIEW_SQL, &[db::text(id), db::integer(1)])?),
        Owner::Anonymous(None) => None,
    })
}

/// `GET /api/cart`.
pub async fn get(env: &Env, req: &Request) -> Result<Response, ApiError> {
    let owner = owner(env, req).await?;
    let db = db::database(env)?;
    let cart = match view_statement(&db, &owner)? {
        Some(statement) => view(db::all(statement).await?)?,
        None => CartView::default(),
    };
    json_response(200, &json!({"cart": cart}), "no-store")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetLine {
    store_id: StoreId,
    sku_id: SkuId,
    fulfilment: Fulfilment,
    /// The line's new quantity; 0 removes it.
    quantity: i64,
}

/// `PUT /api/cart/lines` sets one line's quantity (0 removes it); `POST /api/cart/lines` adds
/// to it (up to the most a line may hold). Both answer the line's quantity and the whole cart.
pub async fn set_line(env: &Env, req: &Request, text: &str, add: bool) -> Result<Response, ApiError> {
    let form: SetLine = body::parse_json(text)?;
    let least = i64::from(add);
    if !(least..=MAX_LINE_QUANTITY).contains(&form.quantity) {
        return Err(ApiError::bad_request("quantity", format!("from {least} to {MAX_LINE_QUANTITY}")));
    }
    let owner = owner(env, req).await?;
    let now = config::now(env).await?;
    let db = db::database(env)?;
    let mut new_cookie = None;
    let (cart_id_sql, cart_key, anonymous) = match &owner {
        Owner::Member(member) => ("(SELECT id FROM carts WHERE member_id = ?1)", member.clone(), 0),
        Owner::Anonymous(Some(id)) => ("?1", id.clone(), 1),
        Owner::Anonymous(None) => {
            let id = new_cart_id()?;
            new_cookie = Some(id.clone());
            ("?1", id, 1)
        }
    };
    let ensure_cart = match &owner {
        Owner::Member(member) => db::prepare(
            &db,
            "INSERT INTO carts (id, member_id, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (member_id) DO UPDATE SET updated_at = excluded.updated_at",
            &[db::text(&new_cart_id()?), db::text(member), db::integer(now.millis())],
        )?,
        Owner::Anonymous(_) => db::prepare(
            &db,
            "INSERT INTO carts (id, member_id, updated_at) VALUES (?1, NULL, ?2)
             ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at WHERE carts.member_id IS NULL",
            &[db::text(&cart_key), db::integer(now.millis())],
        )?,
    };
    let values = [
        db::text(&cart_key),
        db::text(form.store_id.as_str()),
        db::text(form.sku_id.as_str()),
        db::text(fulfilment_code(form.fulfilment)),
        db::integer(form.quantity),
        db::integer(now.millis()),
        db::integer(anonymous),
    ];
    let change = if form.quantity == 0 {
        db::prepare(
            &db,
            &format!(
                "DELETE FROM cart_lines WHERE cart_id = {cart_id_sql} AND store_id = ?2 AND sku_id = ?3 AND fulfilment = ?4"
            ),
            &values[..4],
        )?
    } else {
        // Only a SKU on the store's shelf goes in; the statement inserts nothing otherwise.
        db::prepare(
            &db,
            &format!(
                "INSERT INTO cart_lines (cart_id, store_id, sku_id, fulfilment, quantity, added_at)
                 SELECT {cart_id_sql}, ?2, ?3, ?4, ?5, ?6 FROM shelf_items si
                 WHERE si.store_id = ?2 AND si.sku_id = ?3
                   AND (?7 = 0 OR EXISTS (SELECT 1 FROM carts WHERE id = ?1 AND member_id IS NULL))
                 ON CONFLICT (cart_id, store_id, sku_id, fulfilment) DO UPDATE SET quantity = {}",
                if add {
                    format!("MIN({MAX_LINE_QUANTITY}, cart_lines.quantity + excluded.quantity)")
                } else {
                    "excluded.quantity".to_owned()
                }
            ),
            &values,
        )?
    };
    let mut statements = vec![ensure_cart, change];
    if let Some(read) = view_statement(
        &db,
        &match &owner {
            Owner::Member(member) => Owner::Member(member.clone()),
            Owner::Anonymous(_) => Owner::Anonymous(Some(cart_key.clone())),
        },
    )? {
        statements.push(read);
    }
    let results = db::batch(&db, statements).await?;
    let changed = results.get(1).map_or(0, db::changes);
    if form.quantity > 0 && changed == 0 {
        return Err(ApiError::NotFound { resource: "sku" });
    }
    let cart = view(db::nth(&results, 2)?)?;
    let quantity = cart
        .lines
        .iter()
        .find(|l| l.store_id == form.store_id && l.sku_id == form.sku_id && l.fulfilment == form.fulfilment)
        .map_or(0, |l| l.quantity);
    let mut response = json_response(200, &json!({"quantity": quantity, "cart": cart}), "no-store")?;
    if let Some(id) = new_cookie {
        let cookie = format!("{CART_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}", 30 * 86_400);
        response.headers_mut().set("set-cookie", &cookie).map_err(ApiError::internal)?;
    }
    Ok(response)
}

/// The statements that move the anonymous cart of `req` (if any) into the cart of the member
/// with `phone_hash`, adding quantities line by line (capped at what one line may hold), for
/// the sign-in batch.
pub fn merge_statements(
    db: &D1Database,
    req: &Request,
    phone_hash: &str,
    now: tandem_domain::time::Timestamp,
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let Some(anonymous) = anonymous_id(req) else { return Ok(Vec::new()) };
    let member = "(SELECT id FROM members WHERE phone_hash = ?1)";
    Ok(vec![
        db::prepare(
            db,
            &format!(
                "INSERT INTO carts (id, member_id, updated_at) SELECT ?2, {member}, ?3 WHERE {member} IS NOT NULL
                 ON CONFLICT (member_id) DO UPDATE SET updated_at = excluded.updated_at"
            ),
            &[db::text(phone_hash), db::text(&new_cart_id()?), db::integer(now.millis())],
        )?,
        db::prepare(
            db,
            &format!(
                "INSERT INTO cart_lines (cart_id, store_id, sku_id, fulfilment, quantity, added_at)
                 SELECT (SELECT id FROM carts WHERE member_id = {member}), store_id, sku_id, fulfilment, quantity, added_at
                 FROM cart_lines WHERE cart_id = ?2 AND EXISTS (SELECT 1 FROM carts WHERE id = ?2 AND member_id IS NULL)
                 ON CONFLICT (cart_id, store_id, sku_id, fulfilment)
                 DO UPDATE SET quantity = MIN({MAX_LINE_QUANTITY}, cart_lines.quantity + excluded.quantity)"
            ),
            &[db::text(phone_hash), db::text(&anonymous)],
        )?,
        db::prepare(db, "DELETE FROM carts WHERE id = ?1 AND member_id IS NULL", &[db::text(&anonymous)])?,
    ])
}

/// The Set-Cookie value that forgets the anonymous cart after a merge.
pub fn clear_cookie() -> String {
    format!("{CART_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}
