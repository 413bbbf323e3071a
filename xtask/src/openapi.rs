//! The API document's bodies, generated from the wire types: every route whose request or
//! answer is a `domain::api` (or domain) type has its JSON Schema from that type, with the
//! types it names under `components/schemas`. What the routes do, their parameters and their
//! error statuses stay written in `worker/openapi.json`; `cargo xtask openapi` writes the
//! generated parts into it, and the test below fails when the committed document differs.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};
use tandem_domain::api::{self, account, cards, commerce, dev, manage, memory, promotions, rules, sharers};
use tandem_domain::{card, catalog, checkout, fulfilment, ledger, llm, payment, profile, promote, recommend, shelf};

use crate::Result;

type Make = fn(&mut SchemaGenerator) -> Schema;

fn of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// A route's bodies: its request's type, and its answer's type for each success status.
struct Bodies {
    method: &'static str,
    path: &'static str,
    request: Option<Make>,
    answers: &'static [(&'static str, Make)],
}

const fn route(
    method: &'static str,
    path: &'static str,
    request: Option<Make>,
    answers: &'static [(&'static str, Make)],
) -> Bodies {
    Bodies { method, path, request, answers }
}

/// Every route with a typed body.
const BODIES: &[Bodies] = &[
    route("GET", "/api/health", None, &[("200", of::<api::Health>)]),
    route("GET", "/api/stores", None, &[("200", of::<commerce::StoreList>)]),
    route("GET", "/api/stores/{id}/shelf", None, &[("200", of::<shelf::ShelfPage>)]),
    route("GET", "/api/products/{id}", None, &[("200", of::<catalog::ProductDetail>)]),
    route("POST", "/api/auth/code", Some(of::<account::CodeRequest>), &[("200", of::<account::CodeSent>)]),
    route("POST", "/api/auth/session", Some(of::<account::SessionRequest>), &[("200", of::<account::SignedIn>)]),
    route("DELETE", "/api/auth/session", None, &[("200", of::<account::SignedOut>)]),
    route("GET", "/api/me", None, &[("200", of::<account::Me>)]),
    route("POST", "/api/orders", Some(of::<checkout::CheckoutRequest>), &[("201", of::<commerce::CheckoutAnswer>)]),
    route("GET", "/api/orders", None, &[("200", of::<commerce::OrderPage>)]),
    route("GET", "/api/orders/{id}", None, &[("200", of::<commerce::OrderAnswer>)]),
    route("POST", "/api/orders/{id}/cancel", None, &[("200", of::<commerce::OrderAnswer>)]),
    route(
        "POST",
        "/api/orders/{id}/refund",
        Some(of::<commerce::RefundRequest>),
        &[("200", of::<commerce::RefundAsked>)],
    ),
    route("POST", "/api/orders/{id}/received", None, &[("200", of::<commerce::OrderAnswer>)]),
    route("GET", "/api/cart", None, &[("200", of::<commerce::CartAnswer>)]),
    route("PUT", "/api/cart/lines", Some(of::<commerce::SetLine>), &[("200", of::<commerce::CartLineAnswer>)]),
    route("POST", "/api/cart/lines", Some(of::<commerce::SetLine>), &[("200", of::<commerce::CartLineAnswer>)]),
    route(
        "POST",
        "/api/checkouts/{id}/payments",
        None,
        &[("200", of::<commerce::PaymentAnswer>), ("201", of::<commerce::PaymentAnswer>)],
    ),
    route("GET", "/api/payments/{id}", None, &[("200", of::<commerce::PaymentAnswer>)]),
    route("POST", "/api/payments/{id}/confirm", None, &[("200", of::<commerce::Confirmed>)]),
    route(
        "POST",
        "/api/payments/notify/{provider}",
        Some(of::<payment::Notification>),
        &[("200", of::<commerce::NotificationAnswer>)],
    ),
    route("GET", "/api/store/{id}/orders", None, &[("200", of::<commerce::StoreOrders>)]),
    route(
        "POST",
        "/api/store/{id}/pickups",
        Some(of::<commerce::PickupRequest>),
        &[("200", of::<commerce::OrderAnswer>)],
    ),
    route(
        "POST",
        "/api/store/{id}/orders/{order}/refund",
        Some(of::<commerce::RefundDecision>),
        &[("200", of::<commerce::OrderAnswer>)],
    ),
    route("GET", "/api/store/{id}/settlement", None, &[("200", of::<commerce::SettlementAnswer>)]),
    route("GET", "/api/supplier/{id}/settlement", None, &[("200", of::<commerce::SettlementAnswer>)]),
    route("GET", "/api/supplier/{id}/orders", None, &[("200", of::<commerce::SupplierOrders>)]),
    route(
        "POST",
        "/api/supplier/{id}/orders/{order}/shipment",
        Some(of::<fulfilment::Shipment>),
        &[("200", of::<commerce::OrderAnswer>)],
    ),
    route(
        "POST",
        "/api/supplier/{id}/orders/{order}/refund",
        Some(of::<commerce::RefundDecision>),
        &[("200", of::<commerce::OrderAnswer>)],
    ),
    route("PUT", "/api/supplier/{id}/stock", Some(of::<commerce::WarehouseStock>), &[("200", of::<manage::StockSet>)]),
    route("GET", "/api/operator/ledger", None, &[("200", of::<ledger::LedgerOverview>)]),
    route("GET", "/api/store/{id}/catalog", None, &[("200", of::<manage::StoreCatalog>)]),
    route("PUT", "/api/store/{id}/shelf/{sku}", Some(of::<manage::ShelfPrice>), &[("200", of::<manage::PriceSet>)]),
    route("DELETE", "/api/store/{id}/shelf/{sku}", None, &[("200", of::<manage::OffShelf>)]),
    route("PUT", "/api/store/{id}/stock/{sku}", Some(of::<manage::StoreStock>), &[("200", of::<manage::StockSet>)]),
    route("GET", "/api/store/{id}/clerks", None, &[("200", of::<manage::StaffList>)]),
    route("POST", "/api/store/{id}/clerks", Some(of::<manage::ClerkInvite>), &[("201", of::<manage::StaffMember>)]),
    route("DELETE", "/api/store/{id}/clerks/{staff}", None, &[("200", of::<manage::Removed>)]),
    route("GET", "/api/supplier/{id}/skus", None, &[("200", of::<manage::SupplierSkus>)]),
    route(
        "POST",
        "/api/supplier/{id}/import",
        Some(of::<manage::ImportRequest>),
        &[("200", of::<manage::ImportAnswer>)],
    ),
    route("GET", "/api/operator/settings", None, &[("200", of::<manage::Settings>)]),
    route("PUT", "/api/operator/settings", Some(of::<manage::FeeRequest>), &[("200", of::<manage::Settings>)]),
    route("POST", "/api/operator/stores", Some(of::<manage::NewStore>), &[("201", of::<manage::TenantStatus>)]),
    route(
        "PUT",
        "/api/operator/stores/{id}/status",
        Some(of::<manage::StatusRequest>),
        &[("200", of::<manage::TenantStatus>)],
    ),
    route("POST", "/api/operator/suppliers", Some(of::<manage::NewSupplier>), &[("201", of::<manage::TenantStatus>)]),
    route(
        "PUT",
        "/api/operator/suppliers/{id}/status",
        Some(of::<manage::StatusRequest>),
        &[("200", of::<manage::TenantStatus>)],
    ),
    route("POST", "/api/supplier/{id}/products/{product}/media", None, &[("201", of::<manage::MediaAdded>)]),
    route("DELETE", "/api/supplier/{id}/products/{product}/media/{position}", None, &[("200", of::<manage::Removed>)]),
    route("GET", "/api/operator/tenants", None, &[("200", of::<manage::Tenants>)]),
    route("GET", "/api/chain/me", None, &[("200", of::<sharers::Centre>)]),
    route("PUT", "/api/chain/me", Some(of::<sharers::Profile>), &[("200", of::<sharers::Profile>)]),
    route("GET", "/api/chain/team", None, &[("200", of::<sharers::Team>)]),
    route(
        "POST",
        "/api/chain/withdrawals",
        Some(of::<sharers::WithdrawalRequest>),
        &[("200", of::<sharers::WithdrawalAnswer>), ("201", of::<sharers::WithdrawalAnswer>)],
    ),
    route("GET", "/api/operator/chain/rules", None, &[("200", of::<rules::RulesList>)]),
    route(
        "POST",
        "/api/operator/chain/rules/check",
        Some(of::<rules::RulesText>),
        &[("200", of::<rules::RulesChecked>)],
    ),
    route("POST", "/api/operator/chain/rules", Some(of::<rules::RulesText>), &[("201", of::<rules::DraftSaved>)]),
    route(
        "POST",
        "/api/operator/chain/rules/{version}/publish",
        Some(of::<rules::PublishRequest>),
        &[("200", of::<rules::Published>)],
    ),
    route("GET", "/api/operator/chain/withdrawals", None, &[("200", of::<sharers::Withdrawals>)]),
    route(
        "POST",
        "/api/operator/chain/withdrawals/{id}",
        Some(of::<sharers::WithdrawalDecision>),
        &[("200", of::<sharers::WithdrawalAnswer>)],
    ),
    route("GET", "/api/operator/chain/members", None, &[("200", of::<sharers::Tree>)]),
    route(
        "PUT",
        "/api/operator/products/{id}/chain",
        Some(of::<sharers::ProductFlags>),
        &[("200", of::<sharers::ProductFlagsSet>)],
    ),
    route("PUT", "/api/me/consent", Some(of::<memory::ConsentRequest>), &[("200", of::<memory::ConsentAnswer>)]),
    route("POST", "/api/events", Some(of::<memory::EventsRequest>), &[]),
    route("POST", "/api/store/{id}/events", Some(of::<memory::EventsRequest>), &[]),
    route("POST", "/api/devices/events", Some(of::<memory::EventsRequest>), &[]),
    route("GET", "/api/me/profile", None, &[("200", of::<profile::ProfileView>)]),
    route("DELETE", "/api/me/profile/tags/{tag}", None, &[("200", of::<memory::Muted>)]),
    route("DELETE", "/api/me/behaviour", None, &[("200", of::<memory::Erased>)]),
    route("GET", "/api/me/export", None, &[("200", of::<memory::Export>)]),
    route("POST", "/api/store/{id}/devices", Some(of::<memory::NewDevice>), &[("201", of::<memory::DeviceCreated>)]),
    route("GET", "/api/store/{id}/devices", None, &[("200", of::<memory::Devices>)]),
    route("DELETE", "/api/store/{id}/devices/{device}", None, &[("200", of::<memory::Device>)]),
    route("GET", "/api/recommendations", None, &[("200", of::<recommend::serve::Placed>)]),
    route(
        "POST",
        "/api/store/{id}/conversations",
        Some(of::<memory::NoteRequest>),
        &[("200", of::<recommend::serve::FollowUp>)],
    ),
    route("GET", "/api/cards/{code}", None, &[("200", of::<cards::CardAnswer>)]),
    route("POST", "/api/cards/{code}/visits", Some(of::<cards::VisitRequest>), &[("200", of::<cards::Visited>)]),
    route("GET", "/api/me/card", None, &[("200", of::<cards::MyCard>)]),
    route("PUT", "/api/me/card", Some(of::<card::CardForm>), &[("200", of::<cards::MyCard>)]),
    route("PUT", "/api/me/card/photo", None, &[("200", of::<cards::PhotoAnswer>)]),
    route("GET", "/api/me/radar", None, &[("200", of::<cards::Radar>)]),
    route("GET", "/api/store/{id}/card", None, &[("200", of::<cards::StoreCard>)]),
    route("GET", "/api/store/{id}/promotions", None, &[("200", of::<promotions::PromotionRules>)]),
    route(
        "PUT",
        "/api/store/{id}/promotions",
        Some(of::<promotions::RulesRequest>),
        &[("200", of::<promotions::PromotionRules>)],
    ),
    route(
        "POST",
        "/api/store/{id}/promotions/preview",
        Some(of::<promotions::RulesRequest>),
        &[("200", of::<promotions::PromotionRules>)],
    ),
    route("GET", "/api/operator/promotions", None, &[("200", of::<promotions::PromotionRules>)]),
    route(
        "PUT",
        "/api/operator/promotions",
        Some(of::<promotions::RulesRequest>),
        &[("200", of::<promotions::PromotionRules>)],
    ),
    route(
        "POST",
        "/api/operator/promotions/preview",
        Some(of::<promotions::RulesRequest>),
        &[("200", of::<promotions::PromotionRules>)],
    ),
    route("GET", "/api/me/offers", None, &[("200", of::<promotions::OfferAnswer<promote::Message>>)]),
    route("GET", "/api/dev/otp", None, &[("200", of::<dev::DevCode>)]),
    route("GET", "/api/dev/clock", None, &[("200", of::<dev::Clock>)]),
    route("PUT", "/api/dev/clock", Some(of::<dev::ClockRequest>), &[("200", of::<dev::Clock>)]),
    route("POST", "/api/dev/jobs", Some(of::<dev::JobsRequest>), &[("200", of::<dev::JobsRun>)]),
    route("GET", "/api/dev/stats", None, &[("200", of::<dev::Stats>)]),
    route("POST", "/api/dev/llm/chat/completions", Some(of::<llm::ChatRequest>), &[("200", of::<llm::ChatReply>)]),
];

fn document_path() -> std::path::PathBuf {
    crate::root().join("worker/openapi.json")
}

/// The committed document with every typed body generated from its type.
fn generated(committed: &Value) -> Result<Value> {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    });
    let mut generator = SchemaGenerator::new(settings);
    let mut document = committed.clone();
    for bodies in BODIES {
        let operation = document
            .pointer_mut(&format!(
                "/paths/{}/{}",
                bodies.path.replace('~', "~0").replace('/', "~1"),
                bodies.method.to_lowercase()
            ))
            .ok_or_else(|| format!("{} {} is not in the document", bodies.method, bodies.path))?;
        if let Some(request) = bodies.request {
            let schema = request(&mut generator).to_value();
            let body = &mut operation["requestBody"];
            if !body.is_object() {
                *body = json!({"required": true});
            }
            body["content"] = json!({"application/json": {"schema": schema}});
        }
        for (status, answer) in bodies.answers {
            let schema = answer(&mut generator).to_value();
            let response = operation
                .pointer_mut(&format!("/responses/{status}"))
                .ok_or_else(|| format!("{} {} documents no {status}", bodies.method, bodies.path))?;
            response["content"] = json!({"application/json": {"schema": schema}});
        }
    }
    let schemas =
        document.pointer_mut("/components/schemas").and_then(Value::as_object_mut).ok_or("no components/schemas")?;
    for (name, schema) in generator.take_definitions(true) {
        schemas.insert(name, schema);
    }
    drop_unused_schemas(&mut document);
    Ok(document)
}

/// Removes the hand-written schemas nothing refers to any more.
fn drop_unused_schemas(document: &mut Value) {
    loop {
        let text = document.to_string();
        let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
        let unused: Vec<String> = schemas
            .keys()
            .filter(|name| !text.contains(&format!("\"#/components/schemas/{name}\"")))
            .cloned()
            .collect();
        if unused.is_empty() {
            return;
        }
        for name in unused {
            schemas.remove(&name);
        }
    }
}

fn read() -> Result<Value> {
    let text = std::fs::read_to_string(document_path()).map_err(|e| format!("reading the API document: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("the API document is not JSON: {e}"))
}

/// `cargo xtask openapi`: writes the generated bodies into the document.
pub fn write() -> Result {
    let document = generated(&read()?)?;
    let mut text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
    text.push('\n');
    std::fs::write(document_path(), text).map_err(|e| format!("writing the API document: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_document_s_bodies_are_the_wire_types() {
        let committed = read().unwrap();
        let generated = generated(&committed).unwrap();
        assert!(
            committed == generated,
            "worker/openapi.json is not what the wire types say: run `cargo xtask openapi` and commit it"
        );
    }
}
