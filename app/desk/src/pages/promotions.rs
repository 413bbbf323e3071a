//! Promotion copy by segment, in the store console (the store's rules) and the operator console
//! (the platform's): each rule's tags, message in both languages and offers, edited in place;
//! "Preview" shows who would get what before anything is saved.

use leptos::prelude::*;
use tandem_app::api::{self, ApiFailure};
use tandem_app::use_language;
use tandem_domain::api::promotions::{PromotionRules, RulesRequest};
use tandem_domain::money::Fen;
use tandem_domain::promote::{Offer, Rule};

use crate::text::{both, failure};

fn yuan_text(fen: Fen) -> String {
    format!("{}.{:02}", fen.0 / 100, fen.0 % 100)
}

/// The promotions panel for a store (`Some(id)`) or the platform (`None`).
#[component]
pub fn PromotionsPanel(store: Option<Memo<String>>) -> impl IntoView {
    let language = use_language();
    let base = move || match store {
        Some(store) => format!("/api/store/{}/promotions", api::encode(&store.get_untracked())),
        None => "/api/operator/promotions".to_owned(),
    };
    let rules = RwSignal::new(Vec::<Rule>::new());
    let version = RwSignal::new(None::<i64>);
    let answer = RwSignal::new(None::<PromotionRules>);
    let note = RwSignal::new(None::<Result<&'static str, ApiFailure>>);
    let take = move |result: Result<PromotionRules, ApiFailure>, done: &'static str| match result {
        Ok(got) => {
            if got.source != "draft" {
                rules.set(got.rules.clone());
                version.set(got.version);
            }
            answer.set(Some(got));
            note.set(Some(Ok(done)));
        }
        Err(error) => note.set(Some(Err(error))),
    };
    let load = Action::new_local(move |(): &()| {
        let url = base();
        async move { api::send::<PromotionRules>("GET", &url, None, None).await }
    });
    let preview = Action::new_local(move |(): &()| {
        let (url, body) = (format!("{}/preview", base()), RulesRequest { rules: rules.get_untracked(), version: None });
        async move { api::send::<PromotionRules>("POST", &url, api::body(&body), None).await }
    });
    let save = Action::new_local(move |(): &()| {
        let body = RulesRequest { rules: rules.get_untracked(), version: version.get_untracked() };
        let url = base();
        async move { api::send::<PromotionRules>("PUT", &url, api::body(&body), None).await }
    });
    load.dispatch(());
    Effect::new(move |_| {
        if let Some(result) = load.value().get() {
            take(result, "loaded");
        }
    });
    Effect::new(move |_| {
        if let Some(result) = preview.value().get() {
            take(result, "previewed");
        }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            take(result, "saved");
        }
    });
    view! {
        <section class="panel promotions" data-test="promotions">
            <h2>{move || both(language.get(), "分群营销 · 文案与优惠", "Segment promotions")}</h2>
            <p class="hint">{move || answer.get().map(|a| match a.source.as_str() {
                "store" => both(language.get(), "本店规则", "This store's own rules"),
                "platform" => both(language.get(), "沿用平台规则", "The platform's rules"),
                "draft" => both(language.get(), "草稿（未保存）", "Draft (not saved)"),
                _ => both(language.get(), "默认规则", "The default rules"),
            })}</p>
            <ol class="rules">
                {move || (0..rules.with(Vec::len)).map(|index| view! { <RuleEditor rules=rules index=index /> }).collect_view()}
            </ol>
            <div class="row">
                <button type="button" class="secondary" data-test="promotions-preview" on:click=move |_| { preview.dispatch(()); }>
                    {move || both(language.get(), "预览", "Preview")}
                </button>
                <button type="button" class="primary" data-test="promotions-save" disabled=move || save.pending().get() on:click=move |_| { save.dispatch(()); }>
                    {move || both(language.get(), "保存", "Save")}
                </button>
            </div>
            {move || note.get().map(|result| match result {
                Ok(done) => view! { <p class="note ok" role="status" data-test="promotions-note" data-done=done>{match done {
                    "saved" => both(language.get(), "已保存", "Saved"),
                    "previewed" => both(language.get(), "预览已更新", "Preview updated"),
                    _ => "",
                }}</p> }.into_any(),
                Err(error) => view! { <p class="note error" role="alert" data-test="promotions-note">{failure(language.get(), &error)}</p> }.into_any(),
            })}
            {move || answer.get().map(|a| view! { <PreviewTable answer=a /> })}
        </section>
    }
}

#[component]
fn RuleEditor(rules: RwSignal<Vec<Rule>>, index: usize) -> impl IntoView {
    let language = use_language();
    let read = move |f: fn(&Rule) -> String| rules.with(|r| r.get(index).map(f).unwrap_or_default());
    let edit = move |f: &dyn Fn(&mut Rule)| {
        rules.update(|r| {
            if let Some(rule) = r.get_mut(index) {
                f(rule);
            }
        });
    };
    let offers = move || rules.with(|r| r.get(index).map(|rule| rule.offers.clone()).unwrap_or_default());
    view! {
        <li class="rule" data-rule=move || read(|r| r.id.clone())>
            <label class="check">
                <input type="checkbox" prop:checked=move || rules.with(|r| r.get(index).is_some_and(|r| r.enabled))
                    on:change=move |ev| { let on = event_target_checked(&ev); edit(&|r| r.enabled = on) } />
                <strong>{move || { let name = rules.with(|r| r.get(index).map(|r| r.name.clone())); name.map(|n| language.get().pick(&n)) }}</strong>
            </label>
            <label>{move || both(language.get(), "目标标签（逗号分隔）", "Tags (comma-separated)")}
                <input type="text" data-test="rule-when" prop:value=move || read(|r| r.when.join(", "))
                    on:change=move |ev| { let text = event_target_value(&ev); edit(&|r| r.when = text.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()) } />
            </label>
            <label>"中文文案"
                <textarea rows="3" data-test="rule-message-zh" prop:value=move || read(|r| r.message.zh.clone())
                    on:change=move |ev| { let text = event_target_value(&ev); edit(&|r| r.message.zh.clone_from(&text)) }></textarea>
            </label>
            <label>"English copy"
                <textarea rows="3" data-test="rule-message-en" prop:value=move || read(|r| r.message.en.clone())
                    on:change=move |ev| { let text = event_target_value(&ev); edit(&|r| r.message.en.clone_from(&text)) }></textarea>
            </label>
            <ul class="offers">
                {move || offers().into_iter().enumerate().map(|(at, offer)| match offer {
                    Offer::Coupon { amount_fen, min_spend_fen, valid_days, .. } => view! {
                        <li class="row coupon">
                            <label>{move || both(language.get(), "券额 ¥", "Off ¥")}
                                <input type="text" inputmode="decimal" size="6" data-test="coupon-amount" prop:value=yuan_text(amount_fen)
                                    on:change=move |ev| { if let Some(fen) = Fen::parse_yuan(&event_target_value(&ev)) {
                                        edit(&|r| if let Some(Offer::Coupon { amount_fen, .. }) = r.offers.get_mut(at) { *amount_fen = fen });
                                    } } />
                            </label>
                            <label>{move || both(language.get(), "满 ¥", "Over ¥")}
                                <input type="text" inputmode="decimal" size="6" prop:value=yuan_text(min_spend_fen)
                                    on:change=move |ev| { if let Some(fen) = Fen::parse_yuan(&event_target_value(&ev)) {
                                        edit(&|r| if let Some(Offer::Coupon { min_spend_fen, .. }) = r.offers.get_mut(at) { *min_spend_fen = fen });
                                    } } />
                            </label>
                            <label>{move || both(language.get(), "天数", "Days")}
                                <input type="number" min="1" max="90" prop:value=valid_days.to_string()
                                    on:change=move |ev| { if let Ok(days) = event_target_value(&ev).parse::<u16>() {
                                        edit(&|r| if let Some(Offer::Coupon { valid_days, .. }) = r.offers.get_mut(at) { *valid_days = days });
                                    } } />
                            </label>
                        </li>
                    }.into_any(),
                    Offer::Event { title, when } => view! {
                        <li class="event">{move || both(language.get(), "活动：", "Event: ")} {move || language.get().pick(&title)} " · " {move || language.get().pick(&when)}</li>
                    }.into_any(),
                    Offer::SharerInvitation => view! {
                        <li class="invite">{move || both(language.get(), "邀请成为分享达人", "Invitation to become a sharer")}</li>
                    }.into_any(),
                }).collect_view()}
            </ul>
        </li>
    }
}

#[component]
fn PreviewTable(answer: PromotionRules) -> impl IntoView {
    let language = use_language();
    let preview = answer.preview;
    let rules = answer.rules;
    let reach: Vec<(String, usize)> = preview.reach.clone();
    view! {
        <div class="preview" data-test="promotions-preview-result" data-people=preview.people.to_string()>
            <p class="hint">
                {move || both(language.get(), "顾客 ", "Customers: ")} {preview.people}
                {move || both(language.get(), "，未命中 ", "; no message: ")} {preview.untouched}
                {move || both(language.get(), "，未授权个性化（不推送）", "; without consent to personalise (never targeted): ")} {answer.without_consent}
            </p>
            <ul class="reach">
                {reach.into_iter().map(|(id, count)| {
                    let name = rules.iter().find(|r| r.id == id).map(|r| r.name.clone());
                    view! { <li data-rule=id.clone() data-reach=count.to_string()>{move || name.as_ref().map(|n| language.get().pick(n))} ": " {count}</li> }
                }).collect_view()}
            </ul>
            <ul class="preview-rows">
                {preview.rows.into_iter().filter(|row| row.message.is_some()).take(30).map(|row| {
                    let message = row.message.clone();
                    let rule = message.as_ref().map(|m| m.rule_id.clone());
                    view! {
                        <li data-rule=rule>
                            <strong>{row.name.clone()}</strong> " · " {move || language.get().pick(&row.segment.label())}
                            <p>{move || message.as_ref().map(|m| language.get().pick(&m.text))}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}
