//! Calls to the Worker. Every call ends in the typed answer or an [`ApiFailure`] carrying the
//! `error` tag of the Worker's JSON body, so screens can say what went wrong.

use serde::de::DeserializeOwned;
use tandem_domain::catalog::{ProductDetail, StoreSummary};
use tandem_domain::shelf::ShelfPage;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// The Worker's `error` tag (`not_found`, `bad_request`, …), or `network` when no answer came.
    pub code: String,
    pub status: u16,
}

impl ApiFailure {
    fn network() -> Self {
        Self { code: "network".to_owned(), status: 0 }
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: String,
}

#[derive(serde::Deserialize)]
struct StoreList {
    stores: Vec<StoreSummary>,
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiFailure> {
    let window = web_sys::window().ok_or_else(ApiFailure::network)?;
    let response = JsFuture::from(window.fetch_with_str(url)).await.map_err(|_| ApiFailure::network())?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| ApiFailure::network())?;
    let text_promise = response.text().map_err(|_| ApiFailure::network())?;
    let text = JsFuture::from(text_promise).await.map_err(|_| ApiFailure::network())?.as_string().unwrap_or_default();
    let status = response.status();
    if response.ok() {
        serde_json::from_str(&text).map_err(|_| ApiFailure { code: "internal".to_owned(), status })
    } else {
        let code = serde_json::from_str::<ErrorBody>(&text).map_or_else(|_| "internal".to_owned(), |body| body.error);
        Err(ApiFailure { code, status })
    }
}

fn encode(value: &str) -> String {
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
