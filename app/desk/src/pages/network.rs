//! The operator's distribution network (`/console/operator/network`): the rules editor with
//! presets and live compliance findings (saved as drafts, published with an acknowledgement of
//! each finding), the withdrawals waiting for a decision, the whole tree with search, and which
//! products are designated or commissionable.

use leptos::prelude::*;
use tandem_app::api::{self, ApiFailure};
use tandem_app::components::{ErrorNotice, TopBar};
use tandem_app::i18n::Key;
use tandem_app::use_language;
use tandem_domain::api::rules::{DraftSaved, PublishRequest, Published, RulesChecked, RulesList, RulesText};
use tandem_domain::api::sharers::{
    self, ProductFlags as Flags, ProductFlagsSet, WithdrawalAnswer, WithdrawalDecision, Withdrawals,
};
use tandem_domain::money::Fen;
use tandem_domain::time::Timestamp;

use super::share::TeamNode;
use crate::text::{both, failure};

#[component]
pub fn NetworkConsole() -> impl IntoView {
    let language = use_language();
    view! {
        <TopBar title=Signal::derive(move || both(language.get(), "分销网络", "Distribution network").to_owned()) back=Signal::derive(|| "/console/operator".to_owned()) />
        <main class="page desk console network">
            <RulesEditor />
            <WithdrawalApprovals />
            <Tree />
            <ProductFlags />
        </main>
    }
}

#[component]
fn RulesEditor() -> impl IntoView {
    let language = use_language();
    let list = LocalResource::new(|| async {
        crate::signed_in(
            api::send::<RulesList>("GET", "/api/operator/chain/rules", None, None).await,
            "/console/operator/network",
        )
    });
    let text = RwSignal::new(String::new());
    // The editor starts from the published version once the list arrives.
    Effect::new(move |_| {
        if let Some(Ok(rules)) = list.get()
            && text.get_untracked().is_empty()
            && let Some(v) = rules.versions.iter().find(|v| v.state == "published").or(rules.versions.first())
        {
            text.set(v.text.clone());
        }
    });
    let check = Action::new_local(move |text: &String| {
        let body = RulesText { text: text.clone() };
        async move { api::send_json::<_, RulesChecked>("POST", "/api/operator/chain/rules/check", &body).await }
    });
    Effect::new(move |_| {
        let current = text.get();
        if !current.is_empty() {
            check.dispatch(current);
        }
    });
    let acknowledged = RwSignal::new(Vec::<String>::new());
    let draft = Action::new_local(move |text: &String| {
        let body = RulesText { text: text.clone() };
        async move { api::send_json::<_, DraftSaved>("POST", "/api/operator/chain/rules", &body).await }
    });
    let publish = Action::new_local(move |(version, codes): &(i64, Vec<String>)| {
        let (version, body) = (*version, PublishRequest { acknowledged: codes.clone() });
        async move {
            let url = format!("/api/operator/chain/rules/{version}/publish");
            api::send_json::<_, Published>("POST", &url, &body).await.map(drop)
        }
    });
    Effect::new(move |_| {
        if matches!(publish.value().get(), Some(Ok(()))) {
            list.refetch();
        }
    });
    let findings = move || check.value().get().and_then(Result::ok).map(|c| c.findings).unwrap_or_default();
    view! {
        <section class="panel rules" data-test="rules-editor">
            <h2>{move || both(language.get(), "分销规则", "Distribution rules")}</h2>
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || list.get().map(|result| match result {
                    Ok(rules) => view! {
                        <div class="actions presets">
                            {rules.presets.into_iter().map(|p| {
                                let body = p.text.clone();
                                view! { <button class="secondary" on:click=move |_| text.set(body.clone())>{move || both(language.get(), "预设 ", "Preset ")} {p.name.clone()}</button> }
                            }).collect_view()}
                        </div>
                        <ul class="versions" data-test="rule-versions">
                            {rules.versions.into_iter().map(|v| {
                                let body = v.text.clone();
                                view! {
                                    <li data-state=v.state.clone()>
                                        <button class="link" on:click=move |_| text.set(body.clone())>"v" {v.version}</button>
                                        " " {v.state.clone()} " · cap " {super::share::percent(v.cap_bp)}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice failure=e /> }.into_any(),
                })}
            </Suspense>
            <textarea class="rules-text" rows="14" spellcheck="false" data-test="rules-text"
                prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            {move || check.value().get().and_then(Result::err).map(|_| view! {
                <p class="note error" role="alert">{move || both(language.get(), "规则有误，请检查键和取值", "The rules do not parse or a value is out of range")}</p>
            })}
            <h3>{move || both(language.get(), "合规提示（发布前逐条确认）", "Compliance findings (acknowledge each before publishing)")}</h3>
            <ul class="findings" data-test="findings">
                {move || findings().into_iter().map(|f| {
                    let code = f.code.clone();
                    let checked_code = code.clone();
                    view! {
                        <li data-code=f.code.clone()>
                            <label>
                                <input type="checkbox"
                                    prop:checked=move || acknowledged.with(|a| a.contains(&checked_code))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        acknowledged.update(|a| { a.retain(|c| c != &code); if on { a.push(code.clone()); } });
                                    } />
                                <strong>{f.risk.clone()}</strong> " — " {f.reference.clone()}
                            </label>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <div class="actions">
                <button class="secondary" data-test="save-draft" on:click=move |_| { draft.dispatch(text.get_untracked()); }>{move || both(language.get(), "保存草稿", "Save draft")}</button>
                {move || draft.value().get().map(|result| match result {
                    Ok(saved) => {
                        let version = saved.version;
                        let missing = move || saved.findings.iter().any(|f| !acknowledged.with(|a| a.contains(&f.code)));
                        view! {
                            <button class="primary" data-test="publish" disabled=missing
                                on:click=move |_| { publish.dispatch((i64::from(version), acknowledged.get_untracked())); }>
                                {move || both(language.get(), "发布 v", "Publish v")} {version}
                            </button>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> }.into_any(),
                })}
            </div>
            {move || publish.value().get().map(|result| match result {
                Ok(()) => view! { <p class="note ok" role="status">{move || both(language.get(), "已发布", "Published")}</p> }.into_any(),
                Err(e) => view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
fn WithdrawalApprovals() -> impl IntoView {
    let language = use_language();
    let list = LocalResource::new(|| async {
        api::send::<Withdrawals>("GET", "/api/operator/chain/withdrawals", None, None).await.map(|w| w.withdrawals)
    });
    let decide = Action::new_local(move |(id, approve): &(String, bool)| {
        let (id, body) = (id.clone(), WithdrawalDecision { approve: *approve, note: None });
        async move {
            let url = format!("/api/operator/chain/withdrawals/{}", api::encode(&id));
            api::send_json::<_, WithdrawalAnswer>("POST", &url, &body).await.map(drop)
        }
    });
    Effect::new(move |_| {
        if decide.value().get().is_some() {
            list.refetch();
        }
    });
    view! {
        <section class="panel withdrawals">
            <h2>{move || both(language.get(), "提现审核", "Withdrawals to decide")}</h2>
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || list.get().map(|result| match result {
                    Ok(items) if items.is_empty() => view! { <p class="note">{move || both(language.get(), "没有待审核的提现", "Nothing waiting")}</p> }.into_any(),
                    Ok(items) => view! {
                        <ul class="history" data-test="withdrawal-queue">
                            {items.into_iter().map(|w| {
                                let (yes, no) = (w.id.clone(), w.id.clone());
                                view! {
                                    <li data-id=w.id.clone()>
                                        <span class="price">{Fen(w.amount_fen).to_string()}</span>
                                        <code>{w.member_id}</code>
                                        <span class="when">{crate::local_time(Timestamp(w.requested_at))}</span>
                                        <button class="primary" on:click=move |_| { decide.dispatch((yes.clone(), true)); }>{move || both(language.get(), "打款", "Pay out")}</button>
                                        <button class="secondary" on:click=move |_| { decide.dispatch((no.clone(), false)); }>{move || both(language.get(), "驳回", "Reject")}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice failure=e /> }.into_any(),
                })}
            </Suspense>
            {move || decide.value().get().and_then(Result::err).map(|e| view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> })}
        </section>
    }
}

#[component]
fn Tree() -> impl IntoView {
    let language = use_language();
    let query = RwSignal::new(String::new());
    let searched = RwSignal::new(String::new());
    let members = LocalResource::new(move || {
        let q = searched.get();
        async move {
            let url = if q.is_empty() {
                "/api/operator/chain/members".to_owned()
            } else {
                format!("/api/operator/chain/members?q={}", api::encode(&q))
            };
            api::send::<sharers::Tree>("GET", &url, None, None).await
        }
    });
    view! {
        <section class="panel tree">
            <h2>{move || both(language.get(), "分销树", "Distribution tree")}</h2>
            <form class="form inline" on:submit=move |ev| { ev.prevent_default(); searched.set(query.get_untracked().trim().to_owned()); }>
                <input type="search" data-test="tree-search" placeholder=move || both(language.get(), "手机号 / 会员号 / 邀请码", "Phone, member id or invite code")
                    prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev)) />
                <button type="submit" class="secondary">{move || both(language.get(), "搜索", "Search")}</button>
            </form>
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || members.get().map(|result: Result<sharers::Tree, ApiFailure>| match result {
                    Ok(found) => view! {
                        {found.path.filter(|p| !p.is_empty()).map(|path| view! { <p class="path">{move || both(language.get(), "上级链：", "Inviters: ")} {path.join(" › ")}</p> })}
                        {found.members.is_empty().then(|| view! { <p class="note">{move || both(language.get(), "没有找到", "Nobody found")}</p> })}
                        <ul class="team-tree" data-test="tree">
                            {found.members.into_iter().map(|n| view! { <TeamNode node=n base="/api/operator/chain/members" /> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice failure=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ProductFlags() -> impl IntoView {
    let language = use_language();
    let product = RwSignal::new(String::new());
    let designated = RwSignal::new(false);
    let commissionable = RwSignal::new(true);
    let save = Action::new_local(move |(id, d, c): &(String, bool, bool)| {
        let (id, body) = (id.trim().to_owned(), Flags { designated: *d, commissionable: *c });
        async move {
            let url = format!("/api/operator/products/{}/chain", api::encode(&id));
            api::send_json::<_, ProductFlagsSet>("PUT", &url, &body).await.map(drop)
        }
    });
    view! {
        <section class="panel flags">
            <h2>{move || both(language.get(), "商品分销属性", "Product flags")}</h2>
            <form class="form" on:submit=move |ev| { ev.prevent_default(); save.dispatch((product.get_untracked(), designated.get_untracked(), commissionable.get_untracked())); }>
                <label>{move || both(language.get(), "商品编号", "Product id")}
                    <input placeholder="p-0208" prop:value=move || product.get() on:input=move |ev| product.set(event_target_value(&ev)) /></label>
                <label class="check"><input type="checkbox" prop:checked=move || designated.get() on:change=move |ev| designated.set(event_target_checked(&ev)) />
                    {move || both(language.get(), "指定商品（购买即成为代理）", "Designated (buying it makes an agent)")}</label>
                <label class="check"><input type="checkbox" prop:checked=move || commissionable.get() on:change=move |ev| commissionable.set(event_target_checked(&ev)) />
                    {move || both(language.get(), "参与分佣", "Pays rewards")}</label>
                <button type="submit" class="secondary">{move || both(language.get(), "保存", "Save")}</button>
            </form>
            {move || save.value().get().map(|result| match result {
                Ok(()) => view! { <p class="note ok" role="status">{move || both(language.get(), "已保存", "Saved")}</p> }.into_any(),
                Err(e) => view! { <p class="note error" role="alert">{failure(language.get(), &e)}</p> }.into_any(),
            })}
        </section>
    }
}
