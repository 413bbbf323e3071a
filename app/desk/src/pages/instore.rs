//! What happens in the shop, in the store console: a clerk records a customer's check-in,
//! try-on (product, size, outcome) or in-store purchase into their profile, and the owner
//! registers in-store devices (smart mirrors) — the key is shown once — lists and revokes them.

use leptos::prelude::*;
use serde::de::IgnoredAny;
use tandem_app::api::{self, ApiFailure};
use tandem_app::use_language;
use tandem_domain::api::Problem;
use tandem_domain::api::memory::{DeviceCreated, Devices, EventsRequest, NewDevice};
use tandem_domain::behaviour::{Outcome, RawEvent};
use tandem_domain::money::Fen;

use crate::text::{both, failure};

/// The event a clerk records, as the API takes it.
fn event(kind: &str, product: &str, size: &str, outcome: &str, amount: &str) -> Result<RawEvent, &'static str> {
    let id = format!("desk-{}", crate::random_key().ok_or("random_key")?);
    let event = |kind: &str| RawEvent { id: Some(id.clone()), kind: Some(kind.to_owned()), ..RawEvent::default() };
    match kind {
        "check_in" => Ok(event("check_in")),
        "try_on" if product.is_empty() => Err("product"),
        "try_on" => Ok(RawEvent {
            product: Some(product.to_owned()),
            size: Some(size.trim().to_owned()).filter(|s| !s.is_empty()),
            outcome: Some(Outcome::parse(outcome).ok_or("outcome")?),
            ..event("try_on")
        }),
        _ => {
            let fen = Fen::parse_yuan(amount).filter(|f| f.is_positive()).ok_or("amount")?;
            if product.is_empty() {
                return Err("product");
            }
            Ok(RawEvent { product: Some(product.to_owned()), amount_fen: Some(fen.0), ..event("store_purchase") })
        }
    }
}

#[component]
pub fn InStorePanel(store: Memo<String>) -> impl IntoView {
    let language = use_language();
    let customer = RwSignal::new(String::new());
    let kind = RwSignal::new("check_in".to_owned());
    let product = RwSignal::new(String::new());
    let size = RwSignal::new(String::new());
    let outcome = RwSignal::new("liked".to_owned());
    let amount = RwSignal::new(String::new());
    let note = RwSignal::new(None::<Result<(), ApiFailure>>);
    let record = Action::new_local(move |(): &()| {
        let who = customer.get_untracked().trim().to_owned();
        let built = event(
            &kind.get_untracked(),
            product.get_untracked().trim(),
            &size.get_untracked(),
            &outcome.get_untracked(),
            &amount.get_untracked(),
        );
        let url = format!("/api/store/{}/events", api::encode(&store.get_untracked()));
        async move {
            let event = built.map_err(|field| match field {
                "random_key" => ApiFailure::NoSecureRandom,
                field => ApiFailure::local(Problem::BadRequest { field: field.to_owned() }),
            })?;
            let by_phone = who.bytes().all(|b| b.is_ascii_digit());
            let (customer_phone, customer_code) = if by_phone { (Some(who), None) } else { (None, Some(who)) };
            let body = EventsRequest { events: vec![event], customer_phone, customer_code };
            api::send::<IgnoredAny>("POST", &url, api::body(&body), None).await.map(drop)
        }
    });
    Effect::new(move |_| {
        if let Some(result) = record.value().get() {
            note.set(Some(result));
        }
    });
    view! {
        <section class="panel in-store" data-test="in-store">
            <h2>{move || both(language.get(), "记录到店行为", "Record an in-store visit")}</h2>
            <form class="form" on:submit=move |ev| { ev.prevent_default(); record.dispatch(()); }>
                <label>{move || both(language.get(), "顾客手机号或名片码", "Customer's phone or card code")}
                    <input type="text" required data-test="in-store-customer" prop:value=customer on:input=move |ev| customer.set(event_target_value(&ev)) />
                </label>
                <label>{move || both(language.get(), "类型", "What happened")}
                    <select data-test="in-store-kind" prop:value=kind on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="check_in">{move || both(language.get(), "到店签到", "Came in")}</option>
                        <option value="try_on">{move || both(language.get(), "试穿 / 试用", "Tried on")}</option>
                        <option value="store_purchase">{move || both(language.get(), "店内购买", "Bought in store")}</option>
                    </select>
                </label>
                {move || (kind.get() != "check_in").then(|| view! {
                    <label>{move || both(language.get(), "商品编号", "Product id")}
                        <input type="text" data-test="in-store-product" placeholder="p-0102" prop:value=product on:input=move |ev| product.set(event_target_value(&ev)) />
                    </label>
                })}
                {move || (kind.get() == "try_on").then(|| view! {
                    <div class="row">
                        <label>{move || both(language.get(), "尺码", "Size")}
                            <input type="text" size="4" maxlength="8" prop:value=size on:input=move |ev| size.set(event_target_value(&ev)) />
                        </label>
                        <label>{move || both(language.get(), "结果", "Outcome")}
                            <select data-test="in-store-outcome" prop:value=outcome on:change=move |ev| outcome.set(event_target_value(&ev))>
                                <option value="liked">{move || both(language.get(), "喜欢", "Liked it")}</option>
                                <option value="bought_here">{move || both(language.get(), "当场买了", "Bought it here")}</option>
                                <option value="not_for_me">{move || both(language.get(), "不合适", "Not for them")}</option>
                            </select>
                        </label>
                    </div>
                })}
                {move || (kind.get() == "store_purchase").then(|| view! {
                    <label>{move || both(language.get(), "金额（元）", "Amount (¥)")}
                        <input type="text" inputmode="decimal" data-test="in-store-amount" prop:value=amount on:input=move |ev| amount.set(event_target_value(&ev)) />
                    </label>
                })}
                <button type="submit" class="primary" data-test="in-store-record" disabled=move || record.pending().get()>{move || both(language.get(), "记录", "Record")}</button>
            </form>
            {move || note.get().map(|result| match result {
                Ok(()) => view! { <p class="note ok" role="status" data-test="in-store-note">{both(language.get(), "已记入顾客画像", "Added to the customer's profile")}</p> }.into_any(),
                Err(error) => view! { <p class="note error" role="alert" data-test="in-store-note">{if error.is(&Problem::ConsentRequired) {
                    both(language.get(), "顾客尚未同意记录", "The customer has not agreed to be remembered").to_owned()
                } else {
                    failure(language.get(), &error)
                }}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
pub fn DevicesPanel(store: Memo<String>) -> impl IntoView {
    let language = use_language();
    let base = move || format!("/api/store/{}/devices", api::encode(&store.get_untracked()));
    let devices = LocalResource::new(move || {
        let url = format!("/api/store/{}/devices", api::encode(&store.get()));
        async move { api::send::<Devices>("GET", &url, None, None).await }
    });
    let name = RwSignal::new(String::new());
    let created = RwSignal::new(None::<Result<String, ApiFailure>>);
    let create = Action::new_local(move |(): &()| {
        let (url, body) = (base(), api::body(&NewDevice { name: name.get_untracked() }));
        async move { api::send::<DeviceCreated>("POST", &url, body, None).await }
    });
    Effect::new(move |_| {
        if let Some(result) = create.value().get() {
            created.set(Some(result.map(|c| c.key)));
            name.set(String::new());
            devices.refetch();
        }
    });
    let revoke = Action::new_local(move |id: &String| {
        let url = format!("{}/{}", base(), api::encode(id));
        async move { api::send::<IgnoredAny>("DELETE", &url, None, None).await }
    });
    Effect::new(move |_| {
        if revoke.value().get().is_some() {
            devices.refetch();
        }
    });
    view! {
        <section class="panel devices" data-test="devices">
            <h2>{move || both(language.get(), "店内设备（智能试衣镜）", "In-store devices (smart mirrors)")}</h2>
            <form class="form row" on:submit=move |ev| { ev.prevent_default(); create.dispatch(()); }>
                <input type="text" maxlength="40" required data-test="device-name" placeholder=move || both(language.get(), "设备名称，如 试衣镜 1", "Name, e.g. Mirror 1")
                    prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                <button type="submit" class="secondary" data-test="device-create">{move || both(language.get(), "登记设备", "Register")}</button>
            </form>
            {move || created.get().map(|result| match result {
                Ok(key) => view! { <p class="note ok" data-test="device-key">{both(language.get(), "设备密钥（只显示这一次）：", "Device key (shown once): ")} <code>{key}</code></p> }.into_any(),
                Err(error) => view! { <p class="note error" role="alert">{failure(language.get(), &error)}</p> }.into_any(),
            })}
            <ul class="device-list">
                {move || devices.get().and_then(Result::ok).map(|list| list.devices.into_iter().map(|device| {
                    let id = device.id.clone();
                    let revoked = device.revoked_at.is_some();
                    view! {
                        <li data-device=device.id.clone()>
                            {device.name.clone()} " "
                            {if revoked {
                                view! { <span class="hint">{move || both(language.get(), "已停用", "Revoked")}</span> }.into_any()
                            } else {
                                view! { <button type="button" class="link" data-test="device-revoke" on:click=move |_| { revoke.dispatch(id.clone()); }>
                                    {move || both(language.get(), "停用", "Revoke")}</button> }.into_any()
                            }}
                        </li>
                    }
                }).collect_view())}
            </ul>
        </section>
    }
}
