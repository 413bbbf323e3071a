//! Carts, kept on the server: a member's (one per member), or an anonymous one named by a random
//! id until sign-in merges it into the member's. A line names a SKU of a store's shelf and how
//! it is fulfilled; the view reads today's price and stock of the lines still on their shelf.

use serde::Deserialize;
use tandem_domain::catalog::{ProductId, SkuId, StoreId, Text, Variant};
use tandem_domain::checkout::cart::{Change, merged};
use tandem_domain::money::Fen;
use tandem_domain::order::Fulfilment;
use tandem_domain::stock::Availability;
use tandem_domain::time::Timestamp;
use tandem_domain::views::{CartLineView, CartView};

use super::sql::{self, Database, Guarded, RACE_GUARDS, Statement, StoreError, Value, statement, stored};

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

/// One line's change, as `checkout::cart::Change` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineChange<'a> {
    pub store_id: &'a str,
    pub sku_id: &'a str,
    pub fulfilment: Fulfilment,
    pub change: Change,
}

/// Tries of an add that lost a race to another change of the same line.
const TRIES: usize = 5;

#[derive(Deserialize)]
struct Held {
    quantity: Option<i64>,
}

/// Changes one line of `cart` (created as `new_id` if it does not exist) at `now` and reads the
/// cart back. A set is one round trip; an add first reads what the line holds and writes what
/// `Change::applied` makes of it over the quantity read (another change that came first makes
/// the write refused, and the line is read again). `None` when the SKU is not on the store's
/// shelf (nothing is added).
pub async fn change_line<D: Database>(
    db: &D,
    cart: Cart<'_>,
    new_id: &str,
    change: LineChange<'_>,
    now: Timestamp,
) -> Result<Option<CartView>, StoreError> {
    let (id_sql, anonymous) = cart.id_sql();
    let line: Vec<Value> =
        vec![cart.key().into(), change.store_id.into(), change.sku_id.into(), change.fulfilment.code().into()];
    let key = "cart_id = {id} AND store_id = ?2 AND sku_id = ?3 AND fulfilment = ?4".replace("{id}", id_sql);
    for _ in 0..TRIES {
        let held = if change.change.reads_the_line() {
            let read = Statement::new(
                format!("SELECT (SELECT quantity FROM cart_lines WHERE {key}) AS quantity"),
                line.clone(),
            );
            sql::run(db, vec![read]).await?.first::<Held>()?.and_then(|h| h.quantity)
        } else {
            None
        };
        let quantity = change.change.applied(held.unwrap_or(0));
        let write = if quantity == 0 {
            Statement::new(format!("DELETE FROM cart_lines WHERE {key}"), line.clone())
        } else {
            // Only a SKU on the store's shelf goes in. A set replaces what is there; an add
            // writes over the quantity it read (NULL, refused, when the line changed or appeared).
            let update = if change.change.reads_the_line() { "CASE WHEN quantity = ?8 THEN ?9 END" } else { "?9" };
            let mut values = line.clone();
            values.extend([
                change.change.applied(0).into(),
                now.millis().into(),
                anonymous.into(),
                held.into(),
                quantity.into(),
            ]);
            Statement::new(
                format!(
                    "INSERT INTO cart_lines (cart_id, store_id, sku_id, fulfilment, quantity, added_at)
                     SELECT {id_sql}, ?2, ?3, ?4, ?5, ?6 FROM shelf_items si
                     WHERE si.store_id = ?2 AND si.sku_id = ?3
                       AND (?7 = 0 OR EXISTS (SELECT 1 FROM carts WHERE id = ?1 AND member_id IS NULL))
                     ON CONFLICT (cart_id, store_id, sku_id, fulfilment) DO UPDATE SET quantity = {update}"
                ),
                values,
            )
        };
        match sql::guarded(db, vec![ensure_cart(cart, new_id, now), write, view_read(cart)], RACE_GUARDS).await? {
            Guarded::Written(mut results) => {
                results.next_rows()?;
                if quantity > 0 && results.changes()? == 0 {
                    return Ok(None);
                }
                return Ok(Some(view_of(results.all()?)?));
            }
            Guarded::Lost(_) => {}
        }
    }
    Err(StoreError::failed("the cart line kept changing"))
}

/// The statement that makes `cart` if it does not exist (a member's as `new_id`), and marks it
/// changed at `now`.
fn ensure_cart(cart: Cart<'_>, new_id: &str, now: Timestamp) -> Statement {
    match cart {
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
    }
}

/// A line of a cart as the merge at sign-in reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HeldLine {
    pub store_id: String,
    pub sku_id: String,
    pub fulfilment: String,
    pub quantity: i64,
    pub added_at: i64,
}

impl HeldLine {
    fn same_line(&self, other: &HeldLine) -> bool {
        (&self.store_id, &self.sku_id, &self.fulfilment) == (&other.store_id, &other.sku_id, &other.fulfilment)
    }
}

/// What merging an anonymous cart at sign-in reads: its lines, and the lines of the member of
/// the phone, if they have a cart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToMerge {
    pub anonymous: Vec<HeldLine>,
    pub member: Vec<HeldLine>,
}

/// The reads of what merging anonymous cart `anonymous` into the cart of the member with
/// `phone_hash` needs, for the sign-in's read.
pub fn to_merge_reads(anonymous: &str, phone_hash: &str) -> [Statement; 2] {
    [
        statement!(
            "SELECT cl.store_id, cl.sku_id, cl.fulfilment, cl.quantity, cl.added_at
             FROM cart_lines cl JOIN carts c ON c.id = cl.cart_id
             WHERE cl.cart_id = ?1 AND c.member_id IS NULL ORDER BY cl.added_at, cl.sku_id",
            anonymous
        ),
        statement!(
            "SELECT cl.store_id, cl.sku_id, cl.fulfilment, cl.quantity, cl.added_at
             FROM cart_lines cl JOIN carts c ON c.id = cl.cart_id JOIN members m ON m.id = c.member_id
             WHERE m.phone_hash = ?1",
            phone_hash
        ),
    ]
}

/// Reads what [`to_merge_reads`] asked, in order.
pub fn to_merge_from<R: sql::Rows>(results: &mut sql::Results<R>) -> Result<ToMerge, StoreError> {
    Ok(ToMerge { anonymous: results.all()?, member: results.all()? })
}

/// The statements that move the anonymous cart read in `read` (named `anonymous`) into the
/// cart of the member with `phone_hash` (made as `new_id` if they have none), each line's
/// quantity as `checkout::cart::merged` says, written over the member's line as read (a line
/// changed meanwhile refuses the batch), for the sign-in batch.
pub fn merge(read: &ToMerge, anonymous: &str, phone_hash: &str, new_id: &str, now: Timestamp) -> Vec<Statement> {
    let member = "(SELECT id FROM members WHERE phone_hash = ?1)";
    let member_cart = format!("(SELECT id FROM carts WHERE member_id = {member})");
    let mut writes = vec![statement!(
        format!(
            "INSERT INTO carts (id, member_id, updated_at) SELECT ?2, {member}, ?3 WHERE {member} IS NOT NULL
             ON CONFLICT (member_id) DO UPDATE SET updated_at = excluded.updated_at"
        ),
        phone_hash,
        new_id,
        now.millis()
    )];
    for line in &read.anonymous {
        // Over the member's line as read: one changed (or added) meanwhile refuses the batch.
        let held = read.member.iter().find(|m| m.same_line(line)).map(|m| m.quantity);
        writes.push(statement!(
            format!(
                "INSERT INTO cart_lines (cart_id, store_id, sku_id, fulfilment, quantity, added_at)
                 VALUES ({member_cart}, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (cart_id, store_id, sku_id, fulfilment)
                 DO UPDATE SET quantity = CASE WHEN quantity = ?7 THEN ?8 END"
            ),
            phone_hash,
            line.store_id.as_str(),
            line.sku_id.as_str(),
            line.fulfilment.as_str(),
            merged(None, line.quantity),
            line.added_at,
            held,
            merged(held, line.quantity)
        ));
    }
    writes.push(statement!("DELETE FROM carts WHERE id = ?1 AND member_id IS NULL", anonymous));
    writes
}

#[cfg(test)]
mod tests {
    use tandem_domain::checkout::MAX_LINE_QUANTITY;

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
        let change = Change::of(quantity, add).unwrap();
        LineChange { store_id: "s-1", sku_id: "p-1-01", fulfilment: Fulfilment::Delivery, change }
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
        let phone = fixtures::phone_hash("m-1");
        let read = {
            let mut results = block_on(sql::run(&db, to_merge_reads("k-anon", &phone).to_vec())).unwrap();
            to_merge_from(&mut results).unwrap()
        };
        assert_eq!((read.anonymous[0].quantity, read.member[0].quantity), (4, 2));
        block_on(sql::run(&db, merge(&read, "k-anon", &phone, "k-new", NOW))).unwrap();
        assert_eq!(quantities(&block_on(view(&db, Cart::Member("m-1"))).unwrap()), [6]);
        assert!(block_on(view(&db, Cart::Anonymous("k-anon"))).unwrap().lines.is_empty());
        // A stale cookie of the merged cart starts a fresh anonymous cart; the member's is untouched.
        let reused = block_on(change_line(&db, Cart::Anonymous("k-anon"), "unused", change(1, true), NOW)).unwrap();
        assert_eq!(reused.map(|v| quantities(&v)), Some(vec![1]));
        assert_eq!(quantities(&block_on(view(&db, Cart::Member("m-1"))).unwrap()), [6]);
    }
}
