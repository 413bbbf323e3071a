//! The store console's follow-up panel: a clerk writes or pastes notes of a conversation, and
//! gets back the products mentioned, the customer's intent, objections and mood, a follow-up
//! message to copy (Chinese and English), the day to get back in touch and products to suggest.

use leptos::prelude::*;
use tandem_app::api::{self, ApiFailure};
use tandem_app::i18n::Language;
use tandem_app::use_language;
use tandem_domain::api::memory::NoteRequest;
use tandem_domain::conversation::{Intent, Mood, Objection};
use tandem_domain::recommend::serve::FollowUp;

use crate::text::{both, failure};

fn intent_text(language: Language, intent: Intent) -> &'static str {
    match intent {
        Intent::Buy => both(language, "准备购买", "Ready to buy"),
        Intent::Considering => both(language, "在考虑", "Considering"),
        Intent::Gift => both(language, "买来送人", "Buying a gift"),
        Intent::AfterSale => both(language, "售后问题", "After-sale issue"),
        Intent::Browsing => both(language, "随便看看", "Just looking"),
    }
}

fn objection_text(language: Language, objection: Objection) -> &'static str {
    match objection {
        Objection::Price => both(language, "价格", "Price"),
        Objection::Size => both(language, "尺码", "Size"),
        Objection::Timing => both(language, "时间", "Timing"),
        Objection::Quality => both(language, "质量", "Quality"),
    }
}

fn mood_text(language: Language, mood: Mood) -> &'static str {
    match mood {
        Mood::Positive => both(language, "积极", "Positive"),
        Mood::Neutral => both(language, "平静", "Neutral"),
        Mood::Negative => both(language, "不满", "Unhappy"),
    }
}

#[component]
pub fn FollowUpPanel(store: Memo<String>) -> impl IntoView {
    let language = use_language();
    let note = RwSignal::new(String::new());
    let customer = RwSignal::new(String::new());
    let analyse = Action::new_local(move |(): &()| {
        let customer_name = Some(customer.get_untracked()).filter(|c| !c.trim().is_empty());
        let body = api::body(&NoteRequest { note: note.get_untracked(), customer_name, clerk_name: None });
        let url = format!("/api/store/{}/conversations", api::encode(&store.get_untracked()));
        async move { api::send::<FollowUp>("POST", &url, body, None).await }
    });
    view! {
        <section class="panel follow-up" data-test="follow-up">
            <h2>{move || both(language.get(), "客户沟通 · 跟进话术", "Customer follow-up")}</h2>
            <form class="form" on:submit=move |ev| { ev.prevent_default(); analyse.dispatch(()); }>
                <label>{move || both(language.get(), "顾客称呼（可选）", "Customer's name (optional)")}
                    <input type="text" maxlength="20" data-test="customer-name" prop:value=customer on:input=move |ev| customer.set(event_target_value(&ev)) />
                </label>
                <label>{move || both(language.get(), "沟通记录", "Notes of the conversation")}
                    <textarea rows="4" maxlength="4000" data-test="note" prop:value=note on:input=move |ev| note.set(event_target_value(&ev))
                        placeholder=move || both(language.get(), "例如：试了羽绒服，很喜欢但觉得贵，下个月再来", "e.g. tried the down jacket, loved it but found it pricey, back next month")></textarea>
                </label>
                <button type="submit" class="primary" data-test="analyse" disabled=move || analyse.pending().get() || note.with(|n| n.trim().is_empty())>
                    {move || both(language.get(), "分析并生成跟进", "Analyse and draft")}
                </button>
            </form>
            {move || analyse.value().get().map(|result: Result<FollowUp, ApiFailure>| match result {
                Ok(found) => view! { <AnalysisView found=found /> }.into_any(),
                Err(error) => view! { <p class="note error" role="alert">{failure(language.get(), &error)}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn AnalysisView(found: FollowUp) -> impl IntoView {
    let language = use_language();
    let analysis = found.analysis;
    let draft = analysis.draft.clone();
    let reason = analysis.next_contact_reason.clone();
    let mentions = analysis.mentions.clone();
    let objections = analysis.objections.clone();
    let (intent, mood, next) = (analysis.intent, analysis.mood, analysis.next_contact);
    view! {
        <dl class="analysis" data-test="analysis">
            <dt>{move || both(language.get(), "提到的商品", "Products mentioned")}</dt>
            <dd data-test="mentions">{move || {
                let language = language.get();
                if mentions.is_empty() { both(language, "无", "None").to_owned() } else {
                    mentions.iter().map(|m| language.pick(&m.name)).collect::<Vec<_>>().join("、")
                }
            }}</dd>
            <dt>{move || both(language.get(), "意向", "Intent")}</dt>
            <dd data-test="intent">{move || intent_text(language.get(), intent)}</dd>
            <dt>{move || both(language.get(), "顾虑", "Objections")}</dt>
            <dd data-test="objections">{move || {
                let language = language.get();
                if objections.is_empty() { both(language, "无", "None").to_owned() } else {
                    objections.iter().map(|o| objection_text(language, *o)).collect::<Vec<_>>().join("、")
                }
            }}</dd>
            <dt>{move || both(language.get(), "情绪", "Mood")}</dt>
            <dd>{move || mood_text(language.get(), mood)}</dd>
            <dt>{move || both(language.get(), "下次联系", "Next contact")}</dt>
            <dd data-test="next-contact">{crate::local_time(next).chars().take(10).collect::<String>()} " · " {move || language.get().pick(&reason)}</dd>
        </dl>
        <h3>{move || both(language.get(), "跟进消息", "Follow-up message")}</h3>
        <p class="draft" data-test="draft">{move || language.get().pick(&draft)}</p>
        {(!found.suggested.is_empty()).then(|| view! {
            <h3>{move || both(language.get(), "可以推荐", "Suggest")}</h3>
            <ul class="suggested">
                {found.suggested.into_iter().map(|card| {
                    let name = card.name.clone();
                    view! { <li data-product=card.product_id.to_string()>{move || language.get().pick(&name)} " · " {card.price_from_fen.to_string()}</li> }
                }).collect_view()}
            </ul>
        })}
    }
}
