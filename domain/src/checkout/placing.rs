//! Placing a checkout: the request's lines priced from the shelf as the Worker read it, each
//! checked against the store, its supplier and the stock its fulfilment draws on, split into
//! orders, and each order's money checked postable, so that a payment never meets an order
//! the ledger cannot post.

use crate::catalog::{ProductId, SkuId, StoreId, SupplierId, Text};
use crate::checkout::{CheckoutRequest, OrderPart, PricedLine, ShippingPolicy, split};
use crate::ledger::{self, LedgerError, OrderMoney};
use crate::money::{BasisPoints, Fen};
use crate::order::{Fulfilment, OrderState};
use crate::time::Timestamp;
use crate::views::{CheckoutView, OrderLineView, OrderView};

/// Where a line would be served from, and how many units are free there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub location_id: String,
    pub available: i64,
    /// The row is on flash sale: its checkouts ask its stock gate (`stock::gate`) first.
    pub flash_sale: bool,
}

/// A SKU on the store's shelf as a checkout reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub sku_id: SkuId,
    pub product_id: ProductId,
    pub price_fen: Fen,
    pub supply_fen: Fen,
    pub supplier_id: SupplierId,
    pub supplier_active: bool,
    pub name: Text,
    pub variant: Text,
    /// The store's own stock, for pickup.
    pub pickup: Option<Source>,
    /// The supplier's warehouse, for delivery.
    pub delivery: Option<Source>,
}

impl Offer {
    pub fn source(&self, fulfilment: Fulfilment) -> Option<&Source> {
        match fulfilment {
            Fulfilment::Pickup => self.pickup.as_ref(),
            Fulfilment::Delivery => self.delivery.as_ref(),
        }
    }

    /// Units free for `fulfilment` (none without a source).
    pub fn available(&self, fulfilment: Fulfilment) -> i64 {
        self.source(fulfilment).map_or(0, |s| s.available.max(0))
    }
}

/// Why a checkout is not placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("this store is not taking orders")]
    StoreSuspended,
    #[error("{0} is not on this store's shelf")]
    NotOnShelf(SkuId),
    #[error("{0} cannot be sold now")]
    SupplierSuspended(SkuId),
    /// Kept as the idempotency key's answer: a retry is told the same.
    #[error("only {available} of {sku_id} left for {}", fulfilment.code())]
    OutOfStock { sku_id: SkuId, fulfilment: Fulfilment, available: i64, requested: i64 },
    /// A shelf price below supply and fee: the shelf's guard should have refused it.
    #[error("an order the ledger could not post: {0}")]
    Unpostable(LedgerError),
}

/// The rules a checkout is placed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub shipping: ShippingPolicy,
    pub platform_fee: BasisPoints,
    pub hold_expires_at: Timestamp,
}

/// A line as placed: priced, with what the order keeps of the product and where it is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedLine {
    pub line: PricedLine,
    pub product_id: ProductId,
    pub name: Text,
    pub variant: Text,
    pub location_id: String,
    /// Whether the units are held through the row's stock gate first.
    pub gated: bool,
}

/// An order of the checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    pub id: String,
    pub part: OrderPart,
    /// The part's lines, in its order.
    pub lines: Vec<PlacedLine>,
}

/// A checkout placed: everything the store writes, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub checkout_id: String,
    pub store_id: StoreId,
    pub orders: Vec<PlacedOrder>,
    pub total_fen: Fen,
    pub platform_fee: BasisPoints,
    pub hold_expires_at: Timestamp,
    pub placed_at: Timestamp,
}

/// The money of an order of `store` as the ledger posts it at payment.
pub fn order_money(store: &StoreId, part: &OrderPart, fee: BasisPoints, provider: &str) -> OrderMoney {
    let mut supply: Vec<(SupplierId, Fen)> = Vec::new();
    for line in &part.lines {
        match supply.iter_mut().find(|(supplier, _)| supplier == &line.supplier_id) {
            Some((_, amount)) => *amount = *amount + line.supply_amount(),
            None => supply.push((line.supplier_id.clone(), line.supply_amount())),
        }
    }
    OrderMoney {
        store: store.clone(),
        provider: provider.to_owned(),
        goods_fen: part.goods_fen,
        shipping_fen: part.shipping_fen,
        shipper: part.shipper.clone(),
        supply,
        platform_fee: fee,
    }
}

/// The first line whose stock does not cover it, as the refusal to tell.
pub fn short_line(request: &CheckoutRequest, offers: &[Offer]) -> Option<Refused> {
    request.lines.iter().find_map(|line| {
        let available = offers.iter().find(|o| o.sku_id == line.sku_id).map_or(0, |o| o.available(line.fulfilment));
        (available < line.quantity).then(|| Refused::OutOfStock {
            sku_id: line.sku_id.clone(),
            fulfilment: line.fulfilment,
            available,
            requested: line.quantity,
        })
    })
}

/// Places `request` (already validated) on the shelf as read: `offers` for its SKUs. The
/// orders take their ids from `order_ids` in turn (one per line is always enough; past them,
/// an order is named after the checkout and its place in it). A line held on a row on flash
/// sale is not refused for the count read: the row's gate decides before the write.
pub fn place(
    request: &CheckoutRequest,
    store_active: bool,
    offers: &[Offer],
    terms: Terms,
    checkout_id: String,
    order_ids: Vec<String>,
    now: Timestamp,
) -> Result<Placement, Refused> {
    if !store_active {
        return Err(Refused::StoreSuspended);
    }
    let mut priced = Vec::with_capacity(request.lines.len());
    for line in &request.lines {
        let offer =
            offers.iter().find(|o| o.sku_id == line.sku_id).ok_or_else(|| Refused::NotOnShelf(line.sku_id.clone()))?;
        if !offer.supplier_active {
            return Err(Refused::SupplierSuspended(line.sku_id.clone()));
        }
        let available = offer.available(line.fulfilment);
        // A row on flash sale is not refused on the count read here: its gate decides (and keeps
        // the refusal), and `stock`'s CHECK guards the write.
        let refused =
            offer.source(line.fulfilment).is_none_or(|source| !source.flash_sale && available < line.quantity);
        if refused {
            return Err(Refused::OutOfStock {
                sku_id: line.sku_id.clone(),
                fulfilment: line.fulfilment,
                available,
                requested: line.quantity,
            });
        }
        priced.push(PricedLine {
            sku_id: line.sku_id.clone(),
            supplier_id: offer.supplier_id.clone(),
            quantity: line.quantity,
            fulfilment: line.fulfilment,
            price_fen: offer.price_fen,
            supply_fen: offer.supply_fen,
        });
    }
    let mut ids = order_ids.into_iter();
    let mut orders = Vec::new();
    for part in split(priced, terms.shipping) {
        ledger::payment(&order_money(&request.store_id, &part, terms.platform_fee, "check"))
            .map_err(Refused::Unpostable)?;
        let lines = part
            .lines
            .iter()
            .map(|line| {
                // Every priced line came from an offer with a source, checked above.
                let offer = offers.iter().find(|o| o.sku_id == line.sku_id);
                let location = offer.and_then(|o| o.source(line.fulfilment));
                match (offer, location) {
                    (Some(offer), Some(location)) => Ok(PlacedLine {
                        line: line.clone(),
                        product_id: offer.product_id.clone(),
                        name: offer.name.clone(),
                        variant: offer.variant.clone(),
                        location_id: location.location_id.clone(),
                        gated: location.flash_sale,
                    }),
                    _ => Err(Refused::NotOnShelf(line.sku_id.clone())),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let id = ids.next().unwrap_or_else(|| format!("{checkout_id}-{}", orders.len() + 1));
        orders.push(PlacedOrder { id, part, lines });
    }
    let total_fen = orders.iter().fold(Fen::ZERO, |sum, order| sum + order.part.total_fen);
    Ok(Placement {
        checkout_id,
        store_id: request.store_id.clone(),
        orders,
        total_fen,
        platform_fee: terms.platform_fee,
        hold_expires_at: terms.hold_expires_at,
        placed_at: now,
    })
}

/// Units a checkout asks of one flash-sale row's gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatedHold {
    pub location_id: String,
    pub sku_id: SkuId,
    pub fulfilment: Fulfilment,
    pub quantity: i64,
}

impl Placement {
    /// What the placement holds of rows on flash sale, one entry per row, in the order of the
    /// lines: each is asked of the row's gate before the checkout is written.
    pub fn gated_holds(&self) -> Vec<GatedHold> {
        let mut holds: Vec<GatedHold> = Vec::new();
        for placed in self.orders.iter().flat_map(|order| &order.lines).filter(|placed| placed.gated) {
            let row =
                |hold: &&mut GatedHold| hold.location_id == placed.location_id && hold.sku_id == placed.line.sku_id;
            match holds.iter_mut().find(|hold| row(hold)) {
                Some(hold) => hold.quantity += placed.line.quantity,
                None => holds.push(GatedHold {
                    location_id: placed.location_id.clone(),
                    sku_id: placed.line.sku_id.clone(),
                    fulfilment: placed.line.fulfilment,
                    quantity: placed.line.quantity,
                }),
            }
        }
        holds
    }

    /// The checkout as its answer shows it.
    pub fn view(&self) -> CheckoutView {
        let orders = self
            .orders
            .iter()
            .map(|order| OrderView {
                id: order.id.clone(),
                checkout_id: self.checkout_id.clone(),
                store_id: self.store_id.clone(),
                store_name: Text { zh: String::new(), en: String::new() },
                fulfilment: order.part.fulfilment,
                shipper_id: order.part.shipper.clone(),
                shipper_name: None,
                state: OrderState::AwaitingPayment,
                goods_fen: order.part.goods_fen,
                shipping_fen: order.part.shipping_fen,
                total_fen: order.part.total_fen,
                refunded_fen: Fen::ZERO,
                lines: order
                    .lines
                    .iter()
                    .map(|placed| OrderLineView {
                        sku_id: placed.line.sku_id.clone(),
                        product_id: placed.product_id.clone(),
                        name: placed.name.clone(),
                        variant: placed.variant.clone(),
                        quantity: placed.line.quantity,
                        price_fen: placed.line.price_fen,
                    })
                    .collect(),
                pickup_code: None,
                carrier: None,
                tracking_no: None,
                created_at: self.placed_at,
                timeline: Vec::new(),
            })
            .collect();
        CheckoutView {
            id: self.checkout_id.clone(),
            store_id: self.store_id.clone(),
            state: "awaiting_payment".to_owned(),
            total_fen: self.total_fen,
            hold_expires_at: self.hold_expires_at,
            orders,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::CartLine;

    fn offer(sku: &str, supplier: &str, price: i64, pickup: Option<i64>, delivery: Option<i64>) -> Offer {
        let source =
            |location: &str, available| Source { location_id: location.to_owned(), available, flash_sale: false };
        Offer {
            sku_id: SkuId::parse(sku).unwrap(),
            product_id: ProductId::parse(&format!("p-{sku}")).unwrap(),
            price_fen: Fen(price),
            supply_fen: Fen(price / 2),
            supplier_id: SupplierId::parse(supplier).unwrap(),
            supplier_active: true,
            name: Text { zh: "杯".into(), en: "Cup".into() },
            variant: Text { zh: String::new(), en: String::new() },
            pickup: pickup.map(|n| source("store-loc", n)),
            delivery: delivery.map(|n| source(&format!("w-{supplier}"), n)),
        }
    }

    fn request(lines: &[(&str, i64, Fulfilment)]) -> CheckoutRequest {
        CheckoutRequest {
            store_id: StoreId::parse("s-1").unwrap(),
            lines: lines
                .iter()
                .map(|&(sku, quantity, fulfilment)| CartLine {
                    sku_id: SkuId::parse(sku).unwrap(),
                    quantity,
                    fulfilment,
                })
                .collect(),
            address: None,
        }
    }

    const TERMS: Terms = Terms {
        shipping: ShippingPolicy { flat_fen: Fen(1_000), free_from_fen: Fen(9_900) },
        platform_fee: BasisPoints::clamped(500),
        hold_expires_at: Timestamp(900),
    };

    fn placed(request: &CheckoutRequest, offers: &[Offer]) -> Result<Placement, Refused> {
        place(request, true, offers, TERMS, "c-1".into(), vec!["o-1".into(), "o-2".into()], Timestamp(0))
    }

    #[test]
    fn a_checkout_is_priced_from_the_shelf_split_and_held_where_each_line_is_served() {
        let offers = [offer("a-1", "sup-a", 3_000, Some(5), Some(5)), offer("b-1", "sup-b", 2_000, None, Some(1))];
        let request = request(&[("a-1", 2, Fulfilment::Pickup), ("b-1", 1, Fulfilment::Delivery)]);
        let placement = placed(&request, &offers).unwrap();
        let ids: Vec<&str> = placement.orders.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["o-1", "o-2"]);
        assert_eq!(placement.orders[0].lines[0].location_id, "store-loc");
        assert_eq!(placement.orders[1].lines[0].location_id, "w-sup-b");
        // 6000 of pickup; 2000 of delivery with 1000 shipping below the free threshold.
        assert_eq!(placement.total_fen, Fen(9_000));
        let view = placement.view();
        assert_eq!((view.orders.len(), view.total_fen, view.hold_expires_at), (2, Fen(9_000), Timestamp(900)));
        assert_eq!(view.orders[1].shipping_fen, Fen(1_000));
    }

    #[test]
    fn a_checkout_is_refused_for_the_store_the_shelf_the_supplier_or_the_stock() {
        let mut offers = vec![offer("a-1", "sup-a", 3_000, Some(1), None)];
        let two = request(&[("a-1", 2, Fulfilment::Pickup)]);
        let short = Refused::OutOfStock {
            sku_id: SkuId::parse("a-1").unwrap(),
            fulfilment: Fulfilment::Pickup,
            available: 1,
            requested: 2,
        };
        assert_eq!(placed(&two, &offers), Err(short.clone()));
        assert_eq!(short_line(&two, &offers), Some(short));
        let delivered = request(&[("a-1", 1, Fulfilment::Delivery)]);
        assert!(matches!(placed(&delivered, &offers), Err(Refused::OutOfStock { available: 0, .. })), "no warehouse");
        assert!(matches!(placed(&request(&[("z-9", 1, Fulfilment::Pickup)]), &offers), Err(Refused::NotOnShelf(_))));
        let one = request(&[("a-1", 1, Fulfilment::Pickup)]);
        assert_eq!(short_line(&one, &offers), None);
        let closed = place(&one, false, &offers, TERMS, "c-1".into(), vec![], Timestamp(0));
        assert_eq!(closed, Err(Refused::StoreSuspended));
        offers[0].supplier_active = false;
        assert!(matches!(placed(&one, &offers), Err(Refused::SupplierSuspended(_))));
        offers[0].supplier_active = true;
        offers[0].supply_fen = Fen(2_900);
        assert!(matches!(placed(&one, &offers), Err(Refused::Unpostable(_))), "supply and fee above the price");
    }

    #[test]
    fn orders_past_the_ids_given_are_named_after_the_checkout() {
        let offers = [offer("a-1", "sup-a", 3_000, Some(5), None), offer("b-1", "sup-b", 2_000, None, Some(1))];
        let request = request(&[("a-1", 1, Fulfilment::Pickup), ("b-1", 1, Fulfilment::Delivery)]);
        let placement = place(&request, true, &offers, TERMS, "c-9".into(), vec!["o-1".into()], Timestamp(0)).unwrap();
        let ids: Vec<&str> = placement.orders.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["o-1", "c-9-2"]);
    }

    #[test]
    fn only_lines_held_on_a_flash_sale_row_ask_its_gate() {
        let mut offers =
            vec![offer("a-1", "sup-a", 3_000, Some(5), Some(5)), offer("b-1", "sup-b", 2_000, None, Some(9))];
        let request = request(&[
            ("a-1", 2, Fulfilment::Pickup),
            ("a-1", 1, Fulfilment::Delivery),
            ("b-1", 3, Fulfilment::Delivery),
        ]);
        assert_eq!(placed(&request, &offers).unwrap().gated_holds(), Vec::new());
        if let Some(source) = offers[0].delivery.as_mut() {
            source.flash_sale = true;
        }
        let holds = placed(&request, &offers).unwrap().gated_holds();
        // Sold out as read: the line is still placed, for the gate to decide.
        if let Some(source) = offers[0].delivery.as_mut() {
            source.available = 0;
        }
        assert_eq!(placed(&request, &offers).unwrap().gated_holds(), holds);
        let expected = GatedHold {
            location_id: "w-sup-a".into(),
            sku_id: SkuId::parse("a-1").unwrap(),
            fulfilment: Fulfilment::Delivery,
            quantity: 1,
        };
        assert_eq!(holds, vec![expected], "the pickup line and the other SKU hold without the gate");
    }
}
