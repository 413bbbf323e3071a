//! The `dev` payment provider's hosted page: the amount, and "confirm", after which the
//! provider sends its signed notification and the shopper goes to their orders.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tandem_app::api;
use tandem_app::components::{ErrorNotice, TopBar};
use tandem_app::i18n::Key;
use tandem_app::use_language;
use tandem_domain::api::commerce::{Confirmed, Outcome, PaymentAnswer};

use crate::text::{T, failure, t};

#[component]
pub fn PayPage() -> impl IntoView {
    let language = use_language();
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id")).unwrap_or_default());
    let payment = LocalResource::new(move || {
        let id = id.get();
        async move { api::send::<PaymentAnswer>("GET", &format!("/api/payments/{}", api::encode(&id)), None, None).await }
    });
    let confirm = Action::new_local(move |(): &()| {
        let id = id.get_untracked();
        async move {
            api::send::<Confirmed>("POST", &format!("/api/payments/{}/confirm", api::encode(&id)), None, None).await
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(answer)) = confirm.value().get()
            && answer.result.is_paid()
        {
            crate::go("/orders");
        }
    });
    view! {
        <TopBar title=Signal::derive(move || t(language.get(), T::PayTitle).to_owned()) />
        <main class="page desk pay">
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || payment.get().map(|result| match result {
                    Ok(PaymentAnswer { payment }) => view! {
                        <section class="pay-card">
                            <p class="amount price" data-test="pay-amount">{payment.amount_fen.to_string()}</p>
                            <p class="note">{move || t(language.get(), T::PayHint)}</p>
                            <button class="primary" data-test="confirm-payment" disabled=move || confirm.pending().get() || payment.status != "created"
                                on:click=move |_| { confirm.dispatch(()); }>
                                {move || t(language.get(), T::ConfirmPayment)}
                            </button>
                        </section>
                    }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure /> }.into_any(),
                })}
            </Suspense>
            {move || confirm.value().get().map(|result| match result {
                Ok(answer) if answer.result == Outcome::Returned => view! { <p class="note error" role="alert">{move || t(language.get(), T::PaymentReturned)}</p> }.into_any(),
                Ok(_) => view! { <p class="note" role="status">{move || t(language.get(), T::Paid)}</p> }.into_any(),
                Err(error) => view! { <p class="note error" role="alert">{failure(language.get(), &error)}</p> }.into_any(),
            })}
        </main>
    }
}
