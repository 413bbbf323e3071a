//! Calls to the Worker. Every call ends in the typed answer or an [`ApiFailure`] carrying the
//! `error` tag of the Worker's JSON body, so screens can say what went wrong.

use serde::de::DeserializeOwned;
use tandem_domain::api::Problem;
use tandem_domain::api::commerce::{CartLineAnswer, SetLine, StoreList};
use tandem_domain::catalog::{ProductDetail, SkuId, StoreId, StoreSummary};
use tandem_domain::order::Fulfilment;
use tandem_domain::recommend::serve::Placed;
use tandem_domain::shelf::ShelfPage;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Why a call did not give its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The Worker refused: its [`Problem`] (with what it names) and status. Checks the app makes
    /// before sending (a missing field) are the API's own problems, with the status it would give.
    Api { problem: Problem, status: u16 },
    /// No answer came.
    Network,
    /// The browser cannot make the random key a request needs.
    NoSecureRandom,
}

impl ApiFailure {
    fn network() -> Self {
        ApiFailure::Network
    }

    /// A problem found before asking the Worker, with the status it would have answered.
    pub fn local(problem: Problem) -> Self {
        let status = problem.status();
        ApiFailure::Api { problem, status }
    }

    /// The `error` tag (`not_found`, `out_of_stock`, …), or `network` when no answer came.
    pub fn code(&self) -> String {
        match self {
            ApiFailure::Api { problem, .. } => problem.tag().to_owned(),
            ApiFailure::Network => "network".to_owned(),
            ApiFailure::NoSecureRandom => "crypto_unavailable".to_owned(),
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ApiFailure::Api { problem, .. } => Some(problem),
            _ => None,
        }
    }

    pub fn is(&self, problem: &Problem) -> bool {
        self.problem() == Some(problem)
    }
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiFailure> {
    send("GET", url, None, None).await
}

/// A request body as JSON: one of `domain::api`'s request types.
pub fn body<T: serde::Serialize>(request: &T) -> Option<String> {
    serde_json::to_string(request).ok()
}

/// One call to the Worker: `body` is sent as JSON, `idempotency_key` in its header.
pub async fn send<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<String>,
    idempotency_key: Option<&str>,
) -> Result<T, ApiFailure> {
    let body = body.map(|text| (wasm_bindgen::JsValue::from_str(&text), "application/json"));
    fetch(method, url, body.as_ref().map(|(value, kind)| (value, *kind)), idempotency_key).await
}

/// One call with a typed request: the wire type `body` is sent as its JSON.
pub async fn send_json<B: serde::Serialize, T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: &B,
) -> Result<T, ApiFailure> {
    let text = serde_json::to_string(body).map_err(|_| ApiFailure::local(Problem::Internal))?;
    send(method, url, Some(text), None).await
}

/// One call whose body is raw bytes of a type (a picture file for an upload).
pub async fn send_raw<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: &wasm_bindgen::JsValue,
    content_type: &str,
) -> Result<T, ApiFailure> {
    fetch(method, url, Some((body, content_type)), None).await
}

async fn fetch<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<(&wasm_bindgen::JsValue, &str)>,
    idempotency_key: Option<&str>,
) -> Result<T, ApiFailure> {
    let window = web_sys::window().ok_or_else(ApiFailure::network)?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| ApiFailure::network())?;
    if let Some((body, content_type)) = body {
        headers.set("content-type", content_type).map_err(|_| ApiFailure::network())?;
        init.set_body(body);
    }
    if let Some(key) = idempotency_key {
        headers.set("idempotency-key", key).map_err(|_| ApiFailure::network())?;
    }
    if let Some(visitor) = crate::remembered::visitor() {
        headers.set("x-tandem-visitor", &visitor).map_err(|_| ApiFailure::network())?;
    }
    init.set_headers(&headers);
    let response =
        JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|_| ApiFailure::network())?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| ApiFailure::network())?;
    let text_promise = response.text().map_err(|_| ApiFailure::network())?;
    let text = JsFuture::from(text_promise).await.map_err(|_| ApiFailure::network())?.as_string().unwrap_or_default();
    let status = response.status();
    if response.ok() {
        serde_json::from_str(&text).map_err(|_| ApiFailure::Api { problem: Problem::Internal, status })
    } else {
        let problem = serde_json::from_str::<Problem>(&text).unwrap_or(Problem::Internal);
        Err(ApiFailure::Api { problem, status })
    }
}

pub fn encode(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

pub async fn stores() -> Result<Vec<StoreSummary>, ApiFailure> {
    get::<StoreList>("/api/stores").await.map(|list| list.stores)
}

pub async fn shelf(
    store: &str,
    category: Option<&str>,
    search: Option<&str>,
    cursor: Option<&str>,
) -> Result<ShelfPage, ApiFailure> {
    let mut url = format!("/api/stores/{}/shelf?limit=12", encode(store));
    for (key, value) in [("category", category), ("q", search), ("cursor", cursor)] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            url.push_str(&format!("&{key}={}", encode(value)));
        }
    }
    get(&url).await
}

pub async fn product(id: &str, store: &str) -> Result<ProductDetail, ApiFailure> {
    get(&format!("/api/products/{}?store={}", encode(id), encode(store))).await
}

/// Adds one unit of a SKU to the cart for a fulfilment option; the line's new quantity.
pub async fn add_to_cart(store: &str, sku: &str, pickup: bool) -> Result<i64, ApiFailure> {
    let bad = |field: &str| ApiFailure::local(Problem::BadRequest { field: field.to_owned() });
    let line = SetLine {
        store_id: StoreId::parse(store).map_err(|_| bad("store_id"))?,
        sku_id: SkuId::parse(sku).map_err(|_| bad("sku_id"))?,
        fulfilment: if pickup { Fulfilment::Pickup } else { Fulfilment::Delivery },
        quantity: 1,
    };
    send::<CartLineAnswer<serde::de::IgnoredAny>>("POST", "/api/cart/lines", body(&line), None)
        .await
        .map(|added| added.quantity)
}

/// A placement of recommendations at a store (`for_you`, `goes_with` with a product, `tried_on`).
pub async fn recommendations(
    store: &str,
    placement: &str,
    product: Option<&str>,
    limit: u8,
) -> Result<Placed, ApiFailure> {
    let mut url = format!("/api/recommendations?store={}&placement={placement}&limit={limit}", encode(store));
    if let Some(product) = product {
        url.push_str(&format!("&product={}", encode(product)));
    }
    get(&url).await
}
