//! The cart, kept on the server: a member's, or before sign-in the one named by the random id in
//! the `tandem_cart` cookie, which sign-in merges into the member's.

use tandem_domain::api::commerce::SetLine;
use tandem_domain::api::commerce::{CartAnswer, CartLineAnswer};
use tandem_domain::checkout::cart::Change;
use tandem_domain::time::Timestamp;
use tandem_domain::views::CartView;
use worker::{Env, Request, Response};

use super::json_response;
use crate::error::ApiError;
use crate::store::carts::{self, Cart, LineChange};
use crate::store::d1::D1;
use crate::{body, db, session};

/// Whose cart a request reaches.
enum Owner {
    Member(String),
    Anonymous(Option<String>),
}

async fn owner(env: &Env, req: &Request, now: Timestamp) -> Result<Owner, ApiError> {
    match session::caller(env, req, now).await {
        Ok(caller) => Ok(Owner::Member(caller.member_id)),
        Err(ApiError::Unauthenticated) => Ok(Owner::Anonymous(session::anonymous_cart(req))),
        Err(other) => Err(other),
    }
}

impl Owner {
    /// The cart the owner has, if any.
    fn cart(&self) -> Option<Cart<'_>> {
        match self {
            Owner::Member(member) => Some(Cart::Member(member)),
            Owner::Anonymous(Some(id)) => Some(Cart::Anonymous(id)),
            Owner::Anonymous(None) => None,
        }
    }
}

/// `GET /api/cart`.
pub async fn get(env: &Env, req: &Request, now: Timestamp) -> Result<Response, ApiError> {
    let owner = owner(env, req, now).await?;
    let db = db::database(env)?;
    let cart = match owner.cart() {
        Some(cart) => carts::view(&D1(&db), cart).await?,
        None => CartView::default(),
    };
    json_response(200, &CartAnswer { cart }, "no-store")
}

/// `PUT /api/cart/lines` sets one line's quantity (0 removes it); `POST /api/cart/lines` adds
/// to it (up to the most a line may hold). Both answer the line's quantity and the whole cart.
pub async fn set_line(env: &Env, req: &Request, text: &str, add: bool, now: Timestamp) -> Result<Response, ApiError> {
    let form: SetLine = body::parse_json(text)?;
    let change = Change::of(form.quantity, add).map_err(|e| ApiError::bad_request("quantity", e.to_string()))?;
    let owner = owner(env, req, now).await?;
    let db = db::database(env)?;
    let mut new_cookie = None;
    let cart = match &owner {
        Owner::Member(member) => Cart::Member(member),
        Owner::Anonymous(Some(id)) => Cart::Anonymous(id),
        Owner::Anonymous(None) => Cart::Anonymous(new_cookie.insert(session::new_cart_id()?)),
    };
    let change = LineChange {
        store_id: form.store_id.as_str(),
        sku_id: form.sku_id.as_str(),
        fulfilment: form.fulfilment,
        change,
    };
    let cart = carts::change_line(&D1(&db), cart, &session::new_cart_id()?, change, now)
        .await?
        .ok_or(ApiError::NotFound { resource: "sku" })?;
    let quantity = cart
        .lines
        .iter()
        .find(|l| l.store_id == form.store_id && l.sku_id == form.sku_id && l.fulfilment == form.fulfilment)
        .map_or(0, |l| l.quantity);
    let mut response = json_response(200, &CartLineAnswer { quantity, cart }, "no-store")?;
    if let Some(id) = &new_cookie {
        response.headers_mut().set("set-cookie", &session::cart_cookie(id)).map_err(ApiError::internal)?;
    }
    Ok(response)
}
