//! Sign-in with a mobile number and a one-time code; then back to where the shopper was going.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use tandem_app::api;
use tandem_app::components::TopBar;
use tandem_app::use_language;
use tandem_domain::api::account::{CodeRequest, CodeSent, SessionRequest, SignedIn};

use crate::text::{T, failure, t};

#[component]
pub fn SignIn() -> impl IntoView {
    let language = use_language();
    let query = use_query_map();
    // Only a path on this site: never an open redirect.
    let next = Memo::new(move |_| {
        query
            .with(|q| q.get("next"))
            .filter(|n| n.starts_with('/') && !n.starts_with("//"))
            .unwrap_or_else(|| "/orders".to_owned())
    });
    let phone = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let sent = RwSignal::new(false);

    let send_code = Action::new_local(move |phone: &String| {
        let body = api::body(&CodeRequest { phone: phone.clone() });
        async move { api::send::<CodeSent>("POST", "/api/auth/code", body, None).await }
    });
    Effect::new(move |_| match send_code.value().get() {
        Some(Ok(_)) => {
            sent.set(true);
            message.set(Some(t(language.get_untracked(), T::CodeSent).to_owned()));
        }
        Some(Err(error)) => message.set(Some(failure(language.get_untracked(), &error))),
        None => {}
    });
    let sign_in = Action::new_local(move |(phone, code): &(String, String)| {
        let body = api::body(&SessionRequest { phone: phone.clone(), code: code.clone() });
        async move { api::send::<SignedIn>("POST", "/api/auth/session", body, None).await }
    });
    Effect::new(move |_| match sign_in.value().get() {
        Some(Ok(_)) => crate::go(&next.get_untracked()),
        Some(Err(error)) => message.set(Some(failure(language.get_untracked(), &error))),
        None => {}
    });

    view! {
        <TopBar title=Signal::derive(move || t(language.get(), T::SignIn).to_owned()) />
        <main class="page desk signin">
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                sign_in.dispatch((phone.get_untracked(), code.get_untracked()));
            }>
                <label>{move || t(language.get(), T::Phone)}
                    <input type="tel" inputmode="numeric" autocomplete="tel" data-test="phone"
                        placeholder=move || t(language.get(), T::PhonePlaceholder)
                        prop:value=phone on:input=move |ev| phone.set(event_target_value(&ev)) />
                </label>
                <button type="button" class="secondary" data-test="send-code"
                    disabled=move || send_code.pending().get()
                    on:click=move |_| { send_code.dispatch(phone.get_untracked()); }>
                    {move || t(language.get(), T::SendCode)}
                </button>
                <label>{move || t(language.get(), T::Code)}
                    <input type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6" data-test="code"
                        prop:value=code on:input=move |ev| code.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="primary" data-test="sign-in" disabled=move || !sent.get() || sign_in.pending().get()>
                    {move || t(language.get(), T::SignInButton)}
                </button>
                {move || message.get().map(|m| view! { <p class="note" role="status" data-test="signin-message">{m}</p> })}
            </form>
        </main>
    }
}
