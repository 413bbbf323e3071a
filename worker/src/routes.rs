//! The route table and the dispatcher. [`ROUTES`] is the single list of what the API answers:
//! the dispatcher matches against it, and a test checks it against `openapi.json` both ways, so
//! a route cannot be added without being documented or documented without existing.

#[cfg(target_arch = "wasm32")]
use tandem_domain::time::Timestamp;

use crate::error::ApiError;

#[cfg(target_arch = "wasm32")]
mod auth;
#[cfg(target_arch = "wasm32")]
pub mod behaviour;
#[cfg(target_arch = "wasm32")]
mod cards;
#[cfg(target_arch = "wasm32")]
mod cart;
#[cfg(target_arch = "wasm32")]
mod catalog;
#[cfg(target_arch = "wasm32")]
pub mod chain;
#[cfg(target_arch = "wasm32")]
mod console;
#[cfg(target_arch = "wasm32")]
mod dev;
#[cfg(target_arch = "wasm32")]
pub mod lifecycle;
#[cfg(target_arch = "wasm32")]
mod manage;
#[cfg(target_arch = "wasm32")]
mod media;
#[cfg(target_arch = "wasm32")]
mod network;
#[cfg(target_arch = "wasm32")]
mod orders;
#[cfg(target_arch = "wasm32")]
mod payments;
#[cfg(target_arch = "wasm32")]
mod promote;
#[cfg(target_arch = "wasm32")]
pub mod recommend;
#[cfg(target_arch = "wasm32")]
mod system;

/// What a matched route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Health,
    OpenApi,
    ListStores,
    StoreShelf,
    ProductDetail,
    RequestCode,
    SignIn,
    SignOut,
    Me,
    DevOtp,
    DevClock,
    DevSetClock,
    PlaceOrder,
    ListOrders,
    OrderDetail,
    PickupQr,
    CancelOrder,
    RequestRefund,
    GetCart,
    SetCartLine,
    AddCartLine,
    CreatePayment,
    QueryPayment,
    ConfirmDevPayment,
    PaymentNotification,
    DevRunJobs,
    DevStats,
    ConfirmReceived,
    StoreOrders,
    VerifyPickup,
    StoreRefundDecision,
    StoreSettlement,
    SupplierOrders,
    Ship,
    SupplierRefundDecision,
    SupplierSettlement,
    OperatorLedger,
    SetWarehouseStock,
    StoreCatalog,
    SetShelfPrice,
    RemoveFromShelf,
    SetStoreStock,
    ListClerks,
    InviteClerk,
    RemoveClerk,
    SupplierSkus,
    ImportCsv,
    GetSettings,
    SetSettings,
    CreateStore,
    SetStoreStatus,
    CreateSupplier,
    SetSupplierStatus,
    UploadMedia,
    RemoveMedia,
    ServeMedia,
    Tenants,
    OpenInvite,
    SharerCentre,
    SetSharerProfile,
    SharerTeam,
    RequestWithdrawal,
    SharerPoster,
    ListChainRules,
    CheckChainRules,
    CreateChainRules,
    PublishChainRules,
    ListWithdrawals,
    DecideWithdrawal,
    ChainMembers,
    SetProductFlags,
    SetConsent,
    PostEvents,
    PostClerkEvents,
    PostDeviceEvents,
    MyProfile,
    MuteTag,
    ExportMyData,
    EraseMyBehaviour,
    CreateDevice,
    Recommendations,
    AnalyseConversation,
    CardPage,
    ProductPage,
    GetCard,
    CardVcard,
    CardVisit,
    MyCard,
    EditMyCard,
    UploadCardPhoto,
    MyRadar,
    StoreCard,
    StorePromotions,
    SetStorePromotions,
    PreviewStorePromotions,
    PlatformPromotions,
    SetPlatformPromotions,
    PreviewPlatformPromotions,
    MyOffers,
    DevLlm,
    ListDevices,
    RevokeDevice,
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// The path in OpenAPI template form: `{name}` matches one non-empty path segment.
    pub path: &'static str,
    pub operation: Operation,
    /// Exists only when `DEV_MODE` is set; otherwise the path answers as if it did not exist.
    pub dev_only: bool,
}

const fn route(method: &'static str, path: &'static str, operation: Operation) -> Route {
    Route { method, path, operation, dev_only: false }
}

const fn dev_route(method: &'static str, path: &'static str, operation: Operation) -> Route {
    Route { method, path, operation, dev_only: true }
}

pub const ROUTES: &[Route] = &[
    route("GET", "/api/health", Operation::Health),
    route("GET", "/api/openapi.json", Operation::OpenApi),
    route("GET", "/api/stores", Operation::ListStores),
    route("GET", "/api/stores/{id}/shelf", Operation::StoreShelf),
    route("GET", "/api/products/{id}", Operation::ProductDetail),
    route("POST", "/api/auth/code", Operation::RequestCode),
    route("POST", "/api/auth/session", Operation::SignIn),
    route("DELETE", "/api/auth/session", Operation::SignOut),
    route("GET", "/api/me", Operation::Me),
    route("POST", "/api/orders", Operation::PlaceOrder),
    route("GET", "/api/orders", Operation::ListOrders),
    route("GET", "/api/orders/{id}", Operation::OrderDetail),
    route("GET", "/api/orders/{id}/pickup-qr.svg", Operation::PickupQr),
    route("POST", "/api/orders/{id}/cancel", Operation::CancelOrder),
    route("POST", "/api/orders/{id}/refund", Operation::RequestRefund),
    route("POST", "/api/orders/{id}/received", Operation::ConfirmReceived),
    route("GET", "/api/cart", Operation::GetCart),
    route("PUT", "/api/cart/lines", Operation::SetCartLine),
    route("POST", "/api/cart/lines", Operation::AddCartLine),
    route("POST", "/api/checkouts/{id}/payments", Operation::CreatePayment),
    route("GET", "/api/payments/{id}", Operation::QueryPayment),
    route("POST", "/api/payments/{id}/confirm", Operation::ConfirmDevPayment),
    route("POST", "/api/payments/notify/{provider}", Operation::PaymentNotification),
    route("GET", "/api/store/{id}/orders", Operation::StoreOrders),
    route("POST", "/api/store/{id}/pickups", Operation::VerifyPickup),
    route("POST", "/api/store/{id}/orders/{order}/refund", Operation::StoreRefundDecision),
    route("GET", "/api/store/{id}/settlement", Operation::StoreSettlement),
    route("GET", "/api/supplier/{id}/orders", Operation::SupplierOrders),
    route("POST", "/api/supplier/{id}/orders/{order}/shipment", Operation::Ship),
    route("POST", "/api/supplier/{id}/orders/{order}/refund", Operation::SupplierRefundDecision),
    route("GET", "/api/supplier/{id}/settlement", Operation::SupplierSettlement),
    route("PUT", "/api/supplier/{id}/stock", Operation::SetWarehouseStock),
    route("GET", "/api/operator/ledger", Operation::OperatorLedger),
    route("GET", "/api/store/{id}/catalog", Operation::StoreCatalog),
    route("PUT", "/api/store/{id}/shelf/{sku}", Operation::SetShelfPrice),
    route("DELETE", "/api/store/{id}/shelf/{sku}", Operation::RemoveFromShelf),
    route("PUT", "/api/store/{id}/stock/{sku}", Operation::SetStoreStock),
    route("GET", "/api/store/{id}/clerks", Operation::ListClerks),
    route("POST", "/api/store/{id}/clerks", Operation::InviteClerk),
    route("DELETE", "/api/store/{id}/clerks/{staff}", Operation::RemoveClerk),
    route("GET", "/api/supplier/{id}/skus", Operation::SupplierSkus),
    route("POST", "/api/supplier/{id}/import", Operation::ImportCsv),
    route("GET", "/api/operator/settings", Operation::GetSettings),
    route("PUT", "/api/operator/settings", Operation::SetSettings),
    route("POST", "/api/operator/stores", Operation::CreateStore),
    route("PUT", "/api/operator/stores/{id}/status", Operation::SetStoreStatus),
    route("POST", "/api/operator/suppliers", Operation::CreateSupplier),
    route("PUT", "/api/operator/suppliers/{id}/status", Operation::SetSupplierStatus),
    route("POST", "/api/supplier/{id}/products/{product}/media", Operation::UploadMedia),
    route("DELETE", "/api/supplier/{id}/products/{product}/media/{position}", Operation::RemoveMedia),
    route("GET", "/api/media/{key}", Operation::ServeMedia),
    route("GET", "/api/operator/tenants", Operation::Tenants),
    route("GET", "/i/{code}", Operation::OpenInvite),
    route("GET", "/api/chain/me", Operation::SharerCentre),
    route("PUT", "/api/chain/me", Operation::SetSharerProfile),
    route("GET", "/api/chain/team", Operation::SharerTeam),
    route("POST", "/api/chain/withdrawals", Operation::RequestWithdrawal),
    route("GET", "/api/chain/poster.svg", Operation::SharerPoster),
    route("GET", "/api/operator/chain/rules", Operation::ListChainRules),
    route("POST", "/api/operator/chain/rules/check", Operation::CheckChainRules),
    route("POST", "/api/operator/chain/rules", Operation::CreateChainRules),
    route("POST", "/api/operator/chain/rules/{version}/publish", Operation::PublishChainRules),
    route("GET", "/api/operator/chain/withdrawals", Operation::ListWithdrawals),
    route("POST", "/api/operator/chain/withdrawals/{id}", Operation::DecideWithdrawal),
    route("GET", "/api/operator/chain/members", Operation::ChainMembers),
    route("PUT", "/api/operator/products/{id}/chain", Operation::SetProductFlags),
    route("PUT", "/api/me/consent", Operation::SetConsent),
    route("POST", "/api/events", Operation::PostEvents),
    route("POST", "/api/store/{id}/events", Operation::PostClerkEvents),
    route("POST", "/api/devices/events", Operation::PostDeviceEvents),
    route("GET", "/api/me/profile", Operation::MyProfile),
    route("DELETE", "/api/me/profile/tags/{tag}", Operation::MuteTag),
    route("GET", "/api/me/export", Operation::ExportMyData),
    route("DELETE", "/api/me/behaviour", Operation::EraseMyBehaviour),
    route("POST", "/api/store/{id}/devices", Operation::CreateDevice),
    route("GET", "/api/store/{id}/devices", Operation::ListDevices),
    route("DELETE", "/api/store/{id}/devices/{device}", Operation::RevokeDevice),
    route("GET", "/api/recommendations", Operation::Recommendations),
    route("POST", "/api/store/{id}/conversations", Operation::AnalyseConversation),
    route("GET", "/c/{code}", Operation::CardPage),
    route("GET", "/p/{id}", Operation::ProductPage),
    route("GET", "/api/cards/{code}", Operation::GetCard),
    route("GET", "/api/cards/{code}/vcard", Operation::CardVcard),
    route("POST", "/api/cards/{code}/visits", Operation::CardVisit),
    route("GET", "/api/me/card", Operation::MyCard),
    route("PUT", "/api/me/card", Operation::EditMyCard),
    route("PUT", "/api/me/card/photo", Operation::UploadCardPhoto),
    route("GET", "/api/me/radar", Operation::MyRadar),
    route("GET", "/api/store/{id}/card", Operation::StoreCard),
    route("GET", "/api/store/{id}/promotions", Operation::StorePromotions),
    route("PUT", "/api/store/{id}/promotions", Operation::SetStorePromotions),
    route("POST", "/api/store/{id}/promotions/preview", Operation::PreviewStorePromotions),
    route("GET", "/api/operator/promotions", Operation::PlatformPromotions),
    route("PUT", "/api/operator/promotions", Operation::SetPlatformPromotions),
    route("POST", "/api/operator/promotions/preview", Operation::PreviewPlatformPromotions),
    route("GET", "/api/me/offers", Operation::MyOffers),
    dev_route("GET", "/api/dev/otp", Operation::DevOtp),
    dev_route("GET", "/api/dev/clock", Operation::DevClock),
    dev_route("PUT", "/api/dev/clock", Operation::DevSetClock),
    dev_route("POST", "/api/dev/jobs", Operation::DevRunJobs),
    dev_route("GET", "/api/dev/stats", Operation::DevStats),
    dev_route("POST", "/api/dev/llm/chat/completions", Operation::DevLlm),
];

/// The OpenAPI 3.1 document served at `/api/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// A matched route with its path parameters, in the order they appear in the template.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched<'a> {
    pub operation: Operation,
    pub params: Vec<&'a str>,
}

/// Finds the route for a method and path. A path that matches with other methods only gets
/// 405, naming every method it takes (`HEAD` wherever `GET` is); a path that matches nothing
/// gets 404. `method` is the request's own, so a method no route takes (`QUERY`, `PROPFIND`)
/// is never mistaken for another.
pub fn resolve<'a>(method: &str, path: &'a str, dev_mode: bool) -> Result<Matched<'a>, ApiError> {
    let mut allowed: Vec<&'static str> = Vec::new();
    for route in ROUTES.iter().filter(|route| dev_mode || !route.dev_only) {
        if let Some(params) = match_template(route.path, path) {
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return Ok(Matched { operation: route.operation, params });
            }
            allowed.push(route.method);
            if route.method == "GET" {
                allowed.push("HEAD");
            }
        }
    }
    if allowed.is_empty() {
        return Err(ApiError::NoRoute);
    }
    allowed.sort_unstable();
    allowed.dedup();
    Err(ApiError::MethodNotAllowed { allowed: allowed.join(", ") })
}

fn match_template<'a>(template: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    let mut template_parts = template.split('/');
    let mut path_parts = path.split('/');
    let mut params = Vec::new();
    loop {
        match (template_parts.next(), path_parts.next()) {
            (None, None) => return Some(params),
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') && !p.is_empty() => params.push(p),
            (Some(t), Some(p)) if t == p => {}
            _ => return None,
        }
    }
}

/// Answers one request. The error case is only a failure to build the error response itself,
/// which the runtime turns into a bare 500.
#[cfg(target_arch = "wasm32")]
pub async fn handle(mut req: worker::Request, env: worker::Env) -> worker::Result<worker::Response> {
    let path = req.path();
    // The request's own method: workers-rs maps methods it does not know to GET.
    let method = req.inner().method();
    let outcome = match resolve(&method, &path, crate::config::dev_mode(&env)) {
        Ok(matched) => answer(&mut req, &env, &method, &matched).await,
        Err(error) => Err(error),
    };
    outcome.or_else(|error| {
        if let ApiError::Internal { detail } = &error {
            worker::console_error!("internal error on {method} {path}: {detail}");
        }
        let mut response = json_response(error.status(), &error.body(), "no-store")
            .map_err(|_| worker::Error::RustError("could not build the error response".into()))?;
        if let ApiError::MethodNotAllowed { allowed } = &error {
            response.headers_mut().set("allow", allowed)?;
        }
        Ok(response)
    })
}

/// Answers a request matched to a route: the time it is answered at is read once, here.
#[cfg(target_arch = "wasm32")]
async fn answer(
    req: &mut worker::Request,
    env: &worker::Env,
    method: &str,
    matched: &Matched<'_>,
) -> Result<worker::Response, ApiError> {
    let now = crate::config::now(env, req).await?;
    match matched.operation {
        // A picture is raw bytes, larger than any JSON body: its route reads the body itself.
        Operation::UploadMedia => media::upload(req, env, matched.params[0], matched.params[1], now).await,
        Operation::UploadCardPhoto => cards::upload_photo(req, env, now).await,
        operation => {
            let body = read_body(req, method, body_limit(operation)).await?;
            dispatch(matched, req, env, &body, now).await
        }
    }
}

#[cfg(target_arch = "wasm32")]
async fn dispatch(
    matched: &Matched<'_>,
    req: &worker::Request,
    env: &worker::Env,
    body: &str,
    now: Timestamp,
) -> Result<worker::Response, ApiError> {
    let query = query_pairs(req)?;
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    match matched.operation {
        Operation::Health => system::health(),
        Operation::OpenInvite => cards::invite_page(env, req, matched.params[0], now).await,
        Operation::SharerCentre => chain::me(env, req, now).await,
        Operation::SetSharerProfile => chain::set_profile(env, req, body, now).await,
        Operation::SharerTeam => chain::team(env, req, &query, now).await,
        Operation::RequestWithdrawal => chain::request_withdrawal(env, req, body, now).await,
        Operation::SharerPoster => chain::poster(env, req, &query, now).await,
        Operation::ListChainRules => network::list_rules(env, req, now).await,
        Operation::CheckChainRules => network::check_rules(env, req, body, now).await,
        Operation::CreateChainRules => network::create_draft(env, req, body, now).await,
        Operation::PublishChainRules => network::publish(env, req, matched.params[0], body, now).await,
        Operation::ListWithdrawals => network::list_withdrawals(env, req, &query, now).await,
        Operation::DecideWithdrawal => network::decide_withdrawal(env, req, matched.params[0], body, now).await,
        Operation::ChainMembers => network::members(env, req, &query, now).await,
        Operation::SetProductFlags => network::set_product_flags(env, req, matched.params[0], body, now).await,
        Operation::SetConsent => behaviour::set_consent(env, req, body, now).await,
        Operation::PostEvents => behaviour::post_app_events(env, req, body, now).await,
        Operation::PostClerkEvents => behaviour::post_clerk_events(env, req, matched.params[0], body, now).await,
        Operation::PostDeviceEvents => behaviour::post_device_events(env, req, body, now).await,
        Operation::MyProfile => behaviour::my_profile(env, req, now).await,
        Operation::MuteTag => behaviour::mute_tag(env, req, matched.params[0], now).await,
        Operation::ExportMyData => behaviour::export(env, req, now).await,
        Operation::EraseMyBehaviour => behaviour::erase(env, req, now).await,
        Operation::CreateDevice => behaviour::create_device(env, req, matched.params[0], body, now).await,
        Operation::ListDevices => behaviour::list_devices(env, req, matched.params[0], now).await,
        Operation::RevokeDevice => behaviour::revoke_device(env, req, matched.params[0], matched.params[1], now).await,
        Operation::Recommendations => recommend::recommendations(env, req, &query, now).await,
        Operation::AnalyseConversation => recommend::analyse_conversation(env, req, matched.params[0], body, now).await,
        Operation::CardPage => cards::card_page(env, req, matched.params[0]).await,
        Operation::ProductPage => cards::product_page(env, req, matched.params[0]).await,
        Operation::GetCard => cards::get(env, matched.params[0]).await,
        Operation::CardVcard => cards::vcard(env, req, matched.params[0], &query).await,
        Operation::CardVisit => cards::visit(env, req, matched.params[0], body, now).await,
        Operation::MyCard => cards::mine(env, req, now).await,
        Operation::EditMyCard => cards::edit(env, req, body, now).await,
        Operation::MyRadar => cards::radar(env, req, now).await,
        Operation::StoreCard => cards::store_card(env, req, matched.params[0], now).await,
        Operation::StorePromotions => promote::get(env, req, Some(matched.params[0]), now).await,
        Operation::SetStorePromotions => promote::put(env, req, Some(matched.params[0]), body, now).await,
        Operation::PreviewStorePromotions => promote::preview(env, req, Some(matched.params[0]), body, now).await,
        Operation::PlatformPromotions => promote::get(env, req, None, now).await,
        Operation::SetPlatformPromotions => promote::put(env, req, None, body, now).await,
        Operation::PreviewPlatformPromotions => promote::preview(env, req, None, body, now).await,
        Operation::MyOffers => promote::mine(env, req, &query, now).await,
        Operation::OpenApi => system::openapi(),
        Operation::ListStores => catalog::list_stores(env, &query).await,
        Operation::StoreShelf => catalog::store_shelf(env, matched.params[0], &query).await,
        Operation::ProductDetail => catalog::product_detail(env, matched.params[0], &query).await,
        Operation::RequestCode => auth::request_code(env, req, body, now).await,
        Operation::SignIn => auth::sign_in(env, req, body, now).await,
        Operation::SignOut => auth::sign_out(env, req, now).await,
        Operation::Me => auth::me(env, req, now).await,
        Operation::DevOtp => dev::otp(env, &query).await,
        Operation::DevClock => dev::clock(env, req, now).await,
        Operation::DevSetClock => dev::set_clock(env, req, body, now).await,
        Operation::PlaceOrder => orders::create(env, req, body, now).await,
        Operation::ListOrders => orders::list(env, req, &query, now).await,
        Operation::OrderDetail => orders::detail(env, req, matched.params[0], now).await,
        Operation::PickupQr => orders::pickup_qr(env, req, matched.params[0], now).await,
        Operation::CancelOrder => lifecycle::cancel(env, req, matched.params[0], now).await,
        Operation::RequestRefund => lifecycle::request_refund(env, req, matched.params[0], body, now).await,
        Operation::GetCart => cart::get(env, req, now).await,
        Operation::SetCartLine => cart::set_line(env, req, body, false, now).await,
        Operation::AddCartLine => cart::set_line(env, req, body, true, now).await,
        Operation::CreatePayment => payments::create(env, req, matched.params[0], now).await,
        Operation::QueryPayment => payments::query(env, req, matched.params[0], now).await,
        Operation::ConfirmDevPayment => payments::dev_confirm(env, req, matched.params[0], now).await,
        Operation::PaymentNotification => payments::notify(env, matched.params[0], body, now).await,
        Operation::DevRunJobs => lifecycle::dev_jobs(env, body, now).await,
        Operation::DevStats => dev::stats(),
        Operation::DevLlm => dev::llm(body).await,
        Operation::ConfirmReceived => console::confirm_received(env, req, matched.params[0], now).await,
        Operation::StoreOrders => console::store_orders(env, req, matched.params[0], &query, now).await,
        Operation::VerifyPickup => console::verify_pickup(env, req, matched.params[0], body, now).await,
        Operation::StoreRefundDecision => {
            console::decide_refund(env, req, "store", matched.params[0], matched.params[1], body, now).await
        }
        Operation::StoreSettlement => console::store_settlement(env, req, matched.params[0], now).await,
        Operation::SupplierOrders => console::supplier_orders(env, req, matched.params[0], &query, now).await,
        Operation::Ship => console::ship(env, req, matched.params[0], matched.params[1], body, now).await,
        Operation::SupplierRefundDecision => {
            console::decide_refund(env, req, "supplier", matched.params[0], matched.params[1], body, now).await
        }
        Operation::SupplierSettlement => console::supplier_settlement(env, req, matched.params[0], now).await,
        Operation::OperatorLedger => console::operator_ledger(env, req, now).await,
        Operation::SetWarehouseStock => console::set_warehouse_stock(env, req, matched.params[0], body, now).await,
        Operation::StoreCatalog => manage::store_catalog(env, req, matched.params[0], now).await,
        Operation::SetShelfPrice => {
            manage::set_shelf_price(env, req, matched.params[0], matched.params[1], body, now).await
        }
        Operation::RemoveFromShelf => {
            manage::remove_from_shelf(env, req, matched.params[0], matched.params[1], now).await
        }
        Operation::SetStoreStock => {
            manage::set_store_stock(env, req, matched.params[0], matched.params[1], body, now).await
        }
        Operation::ListClerks => manage::list_clerks(env, req, matched.params[0], now).await,
        Operation::InviteClerk => manage::invite_clerk(env, req, matched.params[0], body, now).await,
        Operation::RemoveClerk => manage::remove_clerk(env, req, matched.params[0], matched.params[1], now).await,
        Operation::SupplierSkus => manage::supplier_skus(env, req, matched.params[0], now).await,
        Operation::ImportCsv => manage::import_csv(env, req, matched.params[0], body, now).await,
        Operation::GetSettings => manage::settings(env, req, None, now).await,
        Operation::SetSettings => manage::settings(env, req, Some(body), now).await,
        Operation::CreateStore => manage::create_store(env, req, body, now).await,
        Operation::SetStoreStatus => manage::set_status(env, req, "stores", matched.params[0], body, now).await,
        Operation::CreateSupplier => manage::create_supplier(env, req, body, now).await,
        Operation::SetSupplierStatus => manage::set_status(env, req, "suppliers", matched.params[0], body, now).await,
        Operation::UploadMedia | Operation::UploadCardPhoto => {
            Err(ApiError::internal("uploads are answered before dispatch"))
        }
        Operation::RemoveMedia => {
            media::remove(env, req, matched.params[0], matched.params[1], matched.params[2], now).await
        }
        Operation::ServeMedia => crate::pictures::serve(env, matched.params[0]).await,
        Operation::Tenants => manage::tenants(env, req, now).await,
    }
}

/// The body of a request that has one, refused beyond the size any route takes. The declared
/// length is checked first so a huge body is not read at all.
#[cfg(target_arch = "wasm32")]
async fn read_body(req: &mut worker::Request, method: &str, max_bytes: usize) -> Result<String, ApiError> {
    if !matches!(method, "POST" | "PUT" | "PATCH") {
        return Ok(String::new());
    }
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > max_bytes) {
        return Err(ApiError::PayloadTooLarge { max_bytes });
    }
    let bytes = req.bytes().await.map_err(|e| ApiError::bad_request("body", e.to_string()))?;
    if bytes.len() > max_bytes {
        return Err(ApiError::PayloadTooLarge { max_bytes });
    }
    // Decoded strictly: a body that is not UTF-8 is refused, not stored with U+FFFD in it.
    String::from_utf8(bytes).map_err(|_| ApiError::bad_request("body", "the body is not valid UTF-8"))
}

/// The largest body an operation reads: event batches (100 events) are larger than forms.
pub fn body_limit(operation: Operation) -> usize {
    match operation {
        Operation::PostEvents | Operation::PostClerkEvents | Operation::PostDeviceEvents => {
            crate::body::MAX_BATCH_BYTES
        }
        _ => crate::body::MAX_JSON_BYTES,
    }
}

#[cfg(target_arch = "wasm32")]
fn query_pairs(req: &worker::Request) -> Result<Vec<(String, String)>, ApiError> {
    let url = req.url().map_err(ApiError::internal)?;
    Ok(url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

/// `limit` and `before` of a listing.
#[cfg(target_arch = "wasm32")]
pub fn page_params(query: &[(&str, &str)]) -> Result<(Option<String>, u32), ApiError> {
    let mut before = None;
    let mut limit = 20;
    for (name, value) in query {
        match *name {
            "before" => before = Some((*value).to_owned()),
            "limit" => {
                limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=50).contains(l))
                    .ok_or_else(|| ApiError::bad_request("limit", "a whole number from 1 to 50"))?;
            }
            other => return Err(ApiError::bad_request(other, "unknown parameter")),
        }
    }
    Ok((before, limit))
}

/// One of the caller's orders, or 404 (also for someone else's order).
#[cfg(target_arch = "wasm32")]
pub async fn own_order(
    env: &worker::Env,
    caller: &crate::session::Caller,
    id: &str,
) -> Result<tandem_domain::views::OrderView, ApiError> {
    use crate::store::order_views::{self, Scope};
    let db = crate::db::database(env)?;
    order_views::one(&crate::store::d1::D1(&db), Scope::Member(&caller.member_id), id)
        .await?
        .ok_or(ApiError::NotFound { resource: "order" })
}

/// A JSON response with the API's common headers.
#[cfg(target_arch = "wasm32")]
pub fn json_response(
    status: u16,
    body: &impl serde::Serialize,
    cache_control: &str,
) -> Result<worker::Response, ApiError> {
    let text = serde_json::to_string(body).map_err(ApiError::internal)?;
    json_text_response(status, text, cache_control)
}

/// A response whose body is already JSON text, with the API's common headers.
#[cfg(target_arch = "wasm32")]
pub fn json_text_response(status: u16, text: String, cache_control: &str) -> Result<worker::Response, ApiError> {
    let mut response = worker::Response::ok(text).map_err(ApiError::internal)?.with_status(status);
    let headers = response.headers_mut();
    headers.set("content-type", "application/json; charset=utf-8").map_err(ApiError::internal)?;
    headers.set("cache-control", cache_control).map_err(ApiError::internal)?;
    headers.set("x-content-type-options", "nosniff").map_err(ApiError::internal)?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    #[test]
    fn resolves_paths_with_parameters() {
        let matched = resolve("GET", "/api/stores/s-jingan/shelf", false).unwrap();
        assert_eq!(matched.operation, Operation::StoreShelf);
        assert_eq!(matched.params, ["s-jingan"]);
        assert_eq!(resolve("GET", "/api/stores/", false).unwrap().operation, Operation::ListStores);
        assert_eq!(resolve("HEAD", "/api/health", false).unwrap().operation, Operation::Health);
        assert_eq!(resolve("DELETE", "/api/auth/session", false).unwrap().operation, Operation::SignOut);
    }

    #[test]
    fn unknown_paths_and_methods_are_told_apart() {
        assert_eq!(resolve("GET", "/api/nothing", false), Err(ApiError::NoRoute));
        assert_eq!(resolve("GET", "/api/stores//shelf", false), Err(ApiError::NoRoute));
        assert_eq!(
            resolve("POST", "/api/stores", false),
            Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD".into() })
        );
        assert_eq!(
            resolve("QUERY", "/api/cart", false),
            Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD".into() })
        );
        assert_eq!(
            resolve("PATCH", "/api/me/card", false),
            Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD, PUT".into() })
        );
        assert_eq!(
            resolve("PROPFIND", "/api/me/export", false),
            Err(ApiError::MethodNotAllowed { allowed: "GET, HEAD".into() })
        );
    }

    #[test]
    fn development_routes_exist_only_in_development_mode() {
        assert_eq!(resolve("GET", "/api/dev/otp", false), Err(ApiError::NoRoute));
        assert_eq!(resolve("PUT", "/api/dev/clock", false), Err(ApiError::NoRoute));
        assert_eq!(resolve("GET", "/api/dev/otp", true).unwrap().operation, Operation::DevOtp);
    }

    /// What the router and the body reader answer for every route is in the document: a route
    /// that reads a body may answer 400 (a body it cannot use) and 413 (too large), and a route
    /// with query parameters 400 (one it cannot use).
    #[test]
    fn openapi_lists_the_statuses_every_route_can_answer() {
        let document: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap().iter().filter(|(m, _)| *m != "parameters") {
                let responses = operation["responses"].as_object().unwrap();
                if matches!(method.as_str(), "post" | "put" | "patch") {
                    for status in ["400", "413"] {
                        assert!(responses.contains_key(status), "{method} {path} does not document {status}");
                    }
                }
                let queried = operation["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
                if queried {
                    assert!(responses.contains_key("400"), "{method} {path} takes a query but does not document 400");
                }
            }
        }
    }

    /// Every route in the table is in the OpenAPI document with its method, and the document
    /// names no route the table lacks.
    #[test]
    fn openapi_documents_exactly_the_route_table() {
        let document: Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        let documented: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(|m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> =
            ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
        assert_eq!(documented, routed);
        for (method, path) in &documented {
            let operation = &document["paths"][path][method.to_lowercase()];
            assert!(operation["summary"].is_string(), "{method} {path} has no summary");
            let responses = operation["responses"].as_object().unwrap();
            // A redirect (the invite link) answers 302; everything else has a success body.
            let answered = responses.keys().any(|code| code.starts_with('2') || code == "302");
            assert!(answered, "{method} {path} documents no 2xx or redirect response");
        }
    }
}
