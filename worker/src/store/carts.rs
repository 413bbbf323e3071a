//! Carts, kept on the server: a member's (one per member), or an anonymous one named by a random
//! id until sign-in merges it into the member's. A line names a SKU of a store's shelf and how
//! it is fulfilled; the view reads today's price and stock of the lines still on their shelf.

use serde::Deserialize;
use tandem_domain::catalog::{ProductId, SkuId, StoreId, Text, Variant};
use tandem_domain::checkout::MAX_LINE_QUANTITY;
use tandem_domain::money::Fen;
use tandem_domain::order::Fulfilment;
use tandem_domain::stock::Availability;
use tandem_domain::time::Timestamp;
use tandem_domain::views::{CartLineView, CartView};

use super::sql::{self, Database, Statement, StoreError, Value, statement, stored};

/// Whose cart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cart<'a> {
    /// A member's.
    Member(&'a str),
    /// An anonymous cart by its id; never one a member has taken over.
    Anonymous(&'a str),
}

impl Cart<'_> {
    /// The cart's id as SQL over `?1` (the member or the cart id), and whether it is anonymous.
    fn id_sql(self) -> (&'static str, i64) {
        match self {
            Cart::Member(_) => ("(SELECT id FROM carts WHERE member_id = ?1)", 0),
            Cart::Anonymous(_) => ("?1", 1),
        }
    }

    fn key(self) -> String {
        match self {
            Cart::Member(key) | Cart::Anonymous(key) => key.to_owned(),
        }
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

impl LineRow {
    fn view(self) -> Result<CartLineView, StoreError> {
        Ok(CartLineView {
            store_id: stored(StoreId::parse(&self.store_id))?,
            sku_id: stored(SkuId::parse(&self.sku_id))?,
            product_id: stored(ProductId::parse(&self.product_id))?,
            fulfilment: stored(Fulfilment::parse(&self.fulfilment).ok_or("an unknown fulfilment"))?,
            quantity: self.quantity,
            name: Text { zh: self.name_zh, en: self.name_en },
            variant: Variant {
                size: self.size,
                colour: match (self.colour_zh, self.colour_en) {
                    (Some(zh), Some(en)) => Some(Text { zh, en }),
                    _ => None,
                },
            },
            image: self.image.unwrap_or_default(),
            price_fen: Fen(self.price_fen),
            availability: Availability::from_counts(self.on_hand.zip(self.reserved)),
        })
    }
}

/// The read of a cart's view: the lines still on their store's shelf, oldest first, with
/// today's price and stock (the store's for pickup, the supplier's warehouse for delivery).
fn view_read(cart: Cart<'_>) -> Statement {
    let (id_sql, anonymous) = cart.id_sql();
    statement!(
        format!(
            "SELECT cl.store_id, cl.sku_id, si.product_id, cl.fulfilment, cl.quantity, p.name_zh, p.name_en,
                 k.size, k.colour_zh, k.colour_en,
                 (SELECT m.url FROM media m WHERE m.product_id = p.id AND m.kind = 'image' ORDER BY m.position LIMIT 1)
                     AS image,
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
             WHERE cl.cart_id = {id_sql} AND (?2 = 0 OR c.member_id IS NULL)
             ORDER BY cl.added_at, cl.sku_id"
        ),
        cart.key(),
        anonymous
    )
}

fn view_of(rows: Vec<LineRow>) -> Result<CartView, StoreError> {
    Ok(CartView { lines: rows.into_iter().map(LineRow::view).collect::<Result<_, _>>()? })
}

/// A cart's view.
pub async fn view<D: Database>(db: &D, cart: Cart<'_>) -> Result<CartView, StoreError> {
    view_of(sql::run(db, vec![view_read(cart)]).await?.all()?)
}

/// One line's change: its quantity set (0 removes it) or added to, up to the most a line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineChange<'a> {
    pub store_id: &'a str,
    pub sku_id: &'a str,
    pub fulfilment: Fulfilment,
    pub quantity: i64,
    pub add: bool,
}

/// Changes one line of `cart` (created as `new_id` if it does not exist) at `now` and reads the
/// cart back, in one round trip. `None` when the SKU is not on the store's shelf (nothing is
/// added).
pub async fn change_line<D: Database>(
    db: &D,
    cart: Cart<'_>,
    new_id: &str,
    change: LineChange<'_>,
    now: Timestamp,
) -> Result<Option<CartView>, StoreError> {
    let ensure = match cart {
        Cart::Member(member) => statement!(
            "INSERT INTO carts (id, member_id, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (member_id) DO UPDATE SET updated_at = excluded.updated_at",
            new_id,
            member,
            now.millis()
        ),
        Cart::Anonymous(id) => statement!(
            "INSERT INTO carts (id, member_id, updated_at) VALUES (?1, NULL, ?2)
             ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at WHERE carts.member_id IS NULL",
            id,
            now.millis()
        ),
    };
    let (id_sql, anonymous) = cart.id_sql();
    let line: Vec<Value> =
        vec![cart.key().into(), change.store_id.into(), change.sku_id.into(), change.fulfilment.code().into()];
    let write = if change.quantity == 0 {
        Statement::new(
            format!(
                "DELETE FROM cart_lines WHERE cart_id = {id_sql} AND store_id = ?2 AND sku_id = ?3 AND fulfilment = ?4"
            ),
            line,
        )
    } else {
        let quantity = if change.add {
            format!("MIN({MAX_LINE_QUANTITY}, cart_lines.quantity + excluded.quantity)")
        } else {
            "excluded.quantity".to_owned()
        };
        let mut values = line;
        values.extend([change.quantity.into(), now.millis().into(), anonymous.into()]);
        // Only a SKU on the store's shelf goes in; the statement inserts nothing otherwise.
        Statement::new(
            format!(
                "INSERT INTO cart_lines (cart_id, store_id, sku_id, fulfilment, quantity, added_at)
                 SELECT {id_sql}, ?2, ?3, ?4, ?5, ?6 FROM shelf_items si
                 WHERE si.store_id = ?2 AND si.sku_id = ?3
                   AND (?7 = 0 OR EXISTS (SELECT 1 FROM carts WHERE id = ?1 AND member_id IS NULL))
                 ON CONFLICT (cart_id, store_id, sku_id, fulfilment) DO UPDATE SET quantity = {quantity}"
            ),
            values,
        )
    };
    let mut results = sql::run(db, vec![ensure, write, view_read(cart)]).await?;
    results.next_rows()?;
    if change.quantity > 0 && results.changes()? == 0 {
        return Ok(None);
    }
    Ok(Some(view_of(results.all()?)?))
}

/// The statements that move anonymous cart `anonymous` into the cart of the member with
/// `phone_hash` (made as `new_id` if it has none), adding quantities line by line up to the
/// most one line holds, for the sign-in batch.
pub fn merge(anonymous: &str, phone_hash: &str, new_id: &str, now: Timestamp) -> Vec<Statement> {
    let member = "(SELECT id FROM members WHERE phone_hash = ?1)";
    vec![
        statement!(
            format!(
                "INSERT INTO carts (id, member_id, updated_at) SELECT ?2, {member}, ?3 WHERE {member} IS NOT NULL
                 ON CONFLICT (member_id) DO UPDATE SET updated_at = excluded.updated_at"
            ),
            phone_hash,
            new_id,
            now.millis()
        ),
        statement!(
            format!(
                "INSERT INTO cart_lines (cart_id, store_id, sku_id, fulfilment, quantity, added_at)
                 SELECT (SELECT id FROM carts WHERE member_id = {member}), store_id, sku_id, fulfilment, quantity, added_at
                 FROM cart_lines WHERE cart_id = ?2 AND EXISTS (SELECT 1 FROM carts WHERE id = ?2 AND member_id IS NULL)
                 ON CONFLICT (cart_id, store_id, sku_id, fulfilment)
                 DO UPDATE SET quantity = MIN({MAX_LINE_QUANTITY}, cart_lines.quantity + excluded.quantity)"
            ),
            phone_hash,
            anonymous
        ),
        statement!("DELETE FROM carts WHERE id = ?1 AND member_id IS NULL", anonymous),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures;
    use crate::store::sqlite::{Sqlite, block_on};

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    /// The catalogue with p-1-01 on s-1's shelf at 250 fen, and member m-1.
    fn shelf() -> Sqlite {
        let db = fixtures::catalogue();
        fixtures::member(&db, "m-1", "CODEM1", None);
        db.execute(
            "INSERT INTO shelf_items (store_id, sku_id, product_id, price_fen, listed_at)
                 VALUES ('s-1', 'p-1-01', 'p-1', 250, '2026-11-01T08:00:00Z');",
        )
        .unwrap();
        db
    }

    fn change(quantity: i64, add: bool) -> LineChange<'static> {
        LineChange { store_id: "s-1", sku_id: "p-1-01", fulfilment: Fulfilment::Delivery, quantity, add }
    }

    fn quantities(view: &CartView) -> Vec<i64> {
        view.lines.iter().map(|l| l.quantity).collect()
    }

    #[test]
    fn a_line_is_set_added_to_up_to_the_most_a_line_holds_and_removed() {
        let db = shelf();
        let cart = Cart::Member("m-1");
        let set = block_on(change_line(&db, cart, "k-1", change(3, false), NOW)).unwrap().unwrap();
        assert_eq!(quantities(&set), [3]);
        assert_eq!(set.lines[0].price_fen, Fen(250));
        let added = block_on(change_line(&db, cart, "k-2", change(MAX_LINE_QUANTITY, true), NOW)).unwrap().unwrap();
        assert_eq!(quantities(&added), [MAX_LINE_QUANTITY], "capped, and still one cart");
        let removed = block_on(change_line(&db, cart, "k-3", change(0, false), NOW)).unwrap().unwrap();
        assert!(removed.lines.is_empty());
        let off_shelf = LineChange { sku_id: "p-9-01", ..change(1, true) };
        assert_eq!(block_on(change_line(&db, cart, "k-4", off_shelf, NOW)).unwrap(), None);
    }

    #[test]
    fn sign_in_merges_the_anonymous_cart_into_the_members_and_forgets_it() {
        let db = shelf();
        block_on(change_line(&db, Cart::Member("m-1"), "k-m", change(2, false), NOW)).unwrap();
        block_on(change_line(&db, Cart::Anonymous("k-anon"), "unused", change(4, true), NOW)).unwrap();
        block_on(sql::run(&db, merge("k-anon", &fixtures::phone_hash("m-1"), "k-new", NOW))).unwrap();
        assert_eq!(quantities(&block_on(view(&db, Cart::Member("m-1"))).unwrap()), [6]);
        assert!(block_on(view(&db, Cart::Anonymous("k-anon"))).unwrap().lines.is_empty());
        // A stale cookie of the merged cart starts a fresh anonymous cart; the member's is untouched.
        let reused = block_on(change_line(&db, Cart::Anonymous("k-anon"), "unused", change(1, true), NOW)).unwrap();
        assert_eq!(reused.map(|v| quantities(&v)), Some(vec![1]));
        assert_eq!(quantities(&block_on(view(&db, Cart::Member("m-1"))).unwrap()), [6]);
    }
}
