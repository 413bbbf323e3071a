//! "My preferences" (`/me`): what the store has learned about the person — their tags, which
//! they can delete one by one; personalisation on or off; a download of everything kept about
//! them; and erasing their behaviour and profile (orders stay, as the law requires). Works for
//! a signed-in member and for an anonymous visitor who consented.

use leptos::prelude::*;
use leptos::task::spawn_local;
use tandem_app::api::{self, ApiFailure};
use tandem_app::components::{ErrorNotice, TopBar};
use tandem_app::use_language;
use tandem_domain::api::memory::ConsentRequest;
use tandem_domain::profile::{ProfileView, Segment};

use crate::text::{both, failure};

async fn load() -> Result<ProfileView, ApiFailure> {
    api::send("GET", "/api/me/profile", None, None).await
}

#[component]
pub fn PreferencesPage() -> impl IntoView {
    let language = use_language();
    let profile = LocalResource::new(load);
    let note = RwSignal::new(None::<Result<&'static str, tandem_app::api::ApiFailure>>);
    let title = Signal::derive(move || both(language.get(), "我的偏好", "My preferences").to_owned());

    let act = move |method: &'static str, url: String, body: Option<String>, done: &'static str| {
        spawn_local(async move {
            let answer = api::send::<serde::de::IgnoredAny>(method, &url, body, None).await;
            note.set(Some(answer.map(|_| done)));
            profile.refetch();
        });
    };
    let set_personalised = move |on: bool| {
        let body = api::body(&ConsentRequest { behaviour: on, personalised: on });
        act("PUT", "/api/me/consent".to_owned(), body, if on { "personalised_on" } else { "personalised_off" });
    };
    let export = move |_| {
        spawn_local(async move {
            match api::send::<serde_json::Value>("GET", "/api/me/export", None, None).await {
                Ok(document) => save_json("tandem-my-data.json", &document.to_string()),
                Err(error) => note.set(Some(Err(error))),
            }
        });
    };
    let erase = move |_| {
        let sure = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(both(
                    language.get_untracked(),
                    "删除你的全部浏览、试穿记录和偏好标签？订单会保留。",
                    "Delete all your browsing, try-ons and preference tags? Orders are kept.",
                ))
                .ok()
            })
            .unwrap_or(false);
        if sure {
            act("DELETE", "/api/me/behaviour".to_owned(), None, "erased");
        }
    };

    view! {
        <TopBar title=title back=Signal::derive(|| "/".to_owned()) />
        <main class="page desk me" data-test="preferences">
            <p class="note"><a href="/me/card" data-test="my-card-nav">{move || both(language.get(), "我的名片与访客雷达 →", "My card and visitor radar →")}</a></p>
            {move || note.get().map(|result| match result {
                Ok(done) => view! { <p class="note ok" data-test="note">{move || done_text(language.get(), done)}</p> }.into_any(),
                Err(error) => view! { <p class="note error">{move || failure(language.get(), &error)}</p> }.into_any(),
            })}
            <Suspense fallback=move || view! { <p class="loading">{move || both(language.get(), "加载中…", "Loading…")}</p> }>
                {move || profile.get().map(|result| match result {
                    Ok(view) => {
                        let personalised = view.consent.is_some_and(|c| c.personalised);
                        view! {
                            <section class="panel">
                                <h2>{move || both(language.get(), "个性化推荐", "Personalised recommendations")}</h2>
                                <p>{move || if personalised {
                                    both(language.get(), "已开启：推荐根据你在店内和线上的行为。", "On: recommendations follow what you do in store and online.")
                                } else {
                                    both(language.get(), "已关闭：你看到的和其他顾客一样，不再记录你的行为。", "Off: you see what everyone sees, and nothing you do is recorded.")
                                }}</p>
                                <button data-test="personalise-toggle" on:click=move |_| set_personalised(!personalised)>
                                    {move || if personalised { both(language.get(), "关闭个性化", "Turn off") } else { both(language.get(), "开启个性化", "Turn on") }}
                                </button>
                            </section>
                            <section class="panel">
                                <h2>{move || both(language.get(), "我的标签", "My tags")}</h2>
                                <p class="muted">{move || segment_text(language.get(), view.segment)} " · "
                                    {move || both(language.get(), "已记录行为 ", "Events recorded: ")} {view.events}</p>
                                {if view.tags.is_empty() {
                                    view! { <p class="empty">{move || both(language.get(), "还没有标签。", "No tags yet.")}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="tags" data-test="tags">
                                            {view.tags.into_iter().map(|tag| {
                                                let url = format!("/api/me/profile/tags/{}", api::encode(&tag.key));
                                                let label = tag.label.clone();
                                                view! {
                                                    <li data-tag=tag.key.clone()>
                                                        <span>{move || language.get().pick(&label)}</span>
                                                        <button class="remove" aria-label=move || both(language.get(), "删除标签", "Delete tag")
                                                            on:click=move |_| act("DELETE", url.clone(), None, "tag_removed")>"×"</button>
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                            </section>
                            <section class="panel">
                                <h2>{move || both(language.get(), "我的数据", "My data")}</h2>
                                <div class="actions">
                                    <button class="secondary" data-test="export" on:click=export>{move || both(language.get(), "导出全部数据", "Download my data")}</button>
                                    <button class="danger" data-test="erase" on:click=erase>{move || both(language.get(), "删除行为与偏好", "Delete behaviour and tags")}</button>
                                </div>
                            </section>
                        }.into_any()
                    }
                    Err(error) if matches!(error.problem(), Some(tandem_domain::api::Problem::NotFound { .. })) => view! {
                        <section class="panel">
                            <p>{move || both(language.get(), "还没有记录你的任何行为。", "Nothing about you has been recorded.")}</p>
                            <a href="/signin?next=%2Fme">{move || both(language.get(), "登录", "Sign in")}</a>
                        </section>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice failure=error retry=Callback::new(move |()| profile.refetch()) /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

fn done_text(language: tandem_app::i18n::Language, done: &str) -> &'static str {
    match done {
        "personalised_on" => both(language, "已开启个性化。", "Personalisation is on."),
        "personalised_off" => both(language, "已关闭个性化。", "Personalisation is off."),
        "tag_removed" => both(language, "标签已删除，不会再被推断。", "Tag deleted; it will not be inferred again."),
        "erased" => both(language, "你的行为记录和偏好已删除。", "Your behaviour and tags are deleted."),
        _ => "",
    }
}

fn segment_text(language: tandem_app::i18n::Language, segment: Segment) -> String {
    language.pick(&segment.label())
}

/// Offers a JSON document as a download (the export works for visitors too, whose id travels
/// in a header a plain link cannot send).
fn save_json(name: &str, text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(link) = document.create_element("a") else { return };
    let href = format!("data:application/json;charset=utf-8,{}", api::encode(text));
    let _ = link.set_attribute("href", &href);
    let _ = link.set_attribute("download", name);
    if let Ok(link) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(link) {
        link.click();
    }
}
