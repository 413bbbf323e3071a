//! Behaviour events from the storefront, sent only after the shopper agreed.
//!
//! The choice is remembered by the browser (`remembered`); an anonymous shopper who agrees gets a
//! visitor id from the Worker, which every call then carries, so their views shape their "for
//! you" before they ever sign in. Events queue for half a second and go as one batch.

use std::cell::RefCell;

use tandem_domain::api::memory::{ConsentAnswer, ConsentRequest, EventsRequest};
use tandem_domain::behaviour::RawEvent;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::api::{self, ApiFailure};
use crate::remembered;

/// How long events wait for company before they are sent.
const FLUSH_AFTER_MS: i32 = 500;

thread_local! {
    static QUEUE: RefCell<Vec<RawEvent>> = const { RefCell::new(Vec::new()) };
    static SCHEDULED: RefCell<bool> = const { RefCell::new(false) };
}

/// The shopper's answer: `None` until they answer.
pub fn consent() -> Option<bool> {
    remembered::consent()
}

/// Records the shopper's answer with the Worker (and, for an anonymous shopper who agrees,
/// keeps the visitor id it gives).
pub async fn answer(agree: bool) -> Result<(), ApiFailure> {
    let request = ConsentRequest { behaviour: agree, personalised: agree };
    let consented: ConsentAnswer = api::send("PUT", "/api/me/consent", api::body(&request), None).await?;
    if let Some(id) = consented.visitor {
        remembered::set_visitor(&id);
    }
    remembered::set_consent(agree);
    Ok(())
}

fn event_id() -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // ids, not arithmetic
    let (time, random) = (js_sys::Date::now() as u64, (js_sys::Math::random() * 4_294_967_296.0) as u64);
    format!("e-{time:x}-{random:08x}")
}

/// Queues an event (`view`, `click`, `favourite`, `cart`, `share` with a product; `search`
/// with a query) when the shopper agreed; otherwise does nothing.
pub fn record(kind: &str, product: Option<&str>, query: Option<&str>) {
    if consent() != Some(true) {
        return;
    }
    let event = RawEvent {
        id: Some(event_id()),
        kind: Some(kind.to_owned()),
        product: product.map(str::to_owned),
        query: query.map(|q| q.chars().take(100).collect()),
        ..RawEvent::default()
    };
    QUEUE.with(|queue| queue.borrow_mut().push(event));
    schedule_flush();
}

fn schedule_flush() {
    if SCHEDULED.with(|s| s.replace(true)) {
        return;
    }
    let Some(window) = web_sys::window() else { return };
    let flush = Closure::once_into_js(|| {
        SCHEDULED.with(|s| *s.borrow_mut() = false);
        wasm_bindgen_futures::spawn_local(flush());
    });
    let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(flush.unchecked_ref(), FLUSH_AFTER_MS);
}

/// Sends what is queued now (the storefront also calls it before reading recommendations).
pub async fn flush() {
    let events: Vec<RawEvent> = QUEUE.with(|queue| std::mem::take(&mut *queue.borrow_mut()));
    for batch in events.chunks(100) {
        let request = EventsRequest { events: batch.to_vec(), customer_phone: None, customer_code: None };
        // Lost events cost a little personalisation, never a screen: failures are dropped.
        let _ = api::send::<serde::de::IgnoredAny>("POST", "/api/events", api::body(&request), None).await;
    }
}
