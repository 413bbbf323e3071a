//! What the browser remembers for the shopper in `localStorage`: their answer to the consent
//! question (`tandem.consent`: `yes` or `no`) and, for an anonymous shopper who agreed, the
//! visitor id the Worker gave (`tandem.visitor`), which every call then carries. [`stored`] and
//! [`store`] are the one way both bundles read and write `localStorage` (the language, the
//! delivery address too).

const CONSENT_KEY: &str = "tandem.consent";
const VISITOR_KEY: &str = "tandem.visitor";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The value kept under `key`, if storage is there and holds one.
pub fn stored(key: &str) -> Option<String> {
    storage().and_then(|s| s.get_item(key).ok().flatten())
}

/// Keeps `value` under `key`.
pub fn store(key: &str, value: &str) {
    if let Some(storage) = storage() {
        // Private browsing or a full storage may refuse: the value then lasts this page only.
        let _ = storage.set_item(key, value);
    }
}

/// The shopper's answer: `None` until they answer.
pub fn consent() -> Option<bool> {
    stored(CONSENT_KEY).map(|answer| answer == "yes")
}

pub fn set_consent(agree: bool) {
    store(CONSENT_KEY, if agree { "yes" } else { "no" });
}

/// The anonymous visitor id the Worker gave, if any.
pub fn visitor() -> Option<String> {
    stored(VISITOR_KEY)
}

pub fn set_visitor(id: &str) {
    store(VISITOR_KEY, id);
}
