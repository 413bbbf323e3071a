//! The sharer centre (`/share`): the invite link, its poster, copy and share; identity and the
//! progress to partner; link metrics; earnings by state with thaw dates; withdrawals and their
//! history; and the team as a tree that opens on demand.

use leptos::prelude::*;
use tandem_app::api::{self, ApiFailure};
use tandem_app::components::{ErrorNotice, TopBar};
use tandem_app::i18n::{Key, Language};
use tandem_app::use_language;
use tandem_domain::api::Problem;
use tandem_domain::api::sharers::{Centre, Profile, TeamMember, Tree, WithdrawalAnswer, WithdrawalRequest};
use tandem_domain::money::Fen;
use tandem_domain::time::Timestamp;

use crate::text::{both, failure};

/// Basis points as a percentage with two decimals: 1234 → "12.34%".
pub fn percent(bp: impl Into<i64>) -> String {
    let bp = bp.into();
    format!("{}.{:02}%", bp / 100, bp % 100)
}

pub fn identity_name(language: Language, identity: &str) -> &'static str {
    match identity {
        "partner" => both(language, "合伙人", "Partner"),
        "agent" => both(language, "代理", "Agent"),
        _ => both(language, "会员", "Member"),
    }
}

fn kind_name(language: Language, kind: &str, generation: i64) -> String {
    let name = match kind {
        "direct" => both(language, "直推奖", "Direct"),
        "indirect" => both(language, "间推奖", "Indirect"),
        "team" => both(language, "团队奖", "Team"),
        "peer" => both(language, "平级奖", "Peer"),
        _ => both(language, "动态激励", "Bonus"),
    };
    if kind == "peer" { format!("{name} ({generation})") } else { name.to_owned() }
}

fn state_name(language: Language, state: &str) -> &'static str {
    match state {
        "pending" => both(language, "待结算", "Pending"),
        "frozen" => both(language, "冻结中", "Frozen"),
        "available" => both(language, "可提现", "Available"),
        "requested" => both(language, "审核中", "Requested"),
        "paid" => both(language, "已打款", "Paid out"),
        "rejected" => both(language, "已驳回", "Rejected"),
        _ => "",
    }
}

fn origin() -> String {
    web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
}

/// Calls `navigator.<object>.<method>(arg)` or `navigator.<method>(arg)` when the browser has
/// it; whether it did.
fn navigator_call(object: Option<&str>, method: &str, arg: &wasm_bindgen::JsValue) -> bool {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else { return false };
    let navigator: wasm_bindgen::JsValue = window.navigator().into();
    let target = match object {
        Some(name) => js_sys::Reflect::get(&navigator, &name.into()).unwrap_or(wasm_bindgen::JsValue::UNDEFINED),
        None => navigator,
    };
    let Ok(function) = js_sys::Reflect::get(&target, &method.into()) else { return false };
    let Some(function) = function.dyn_ref::<js_sys::Function>() else { return false };
    function.call1(&target, arg).is_ok()
}

/// A node of the team tree: its metrics, and its directs fetched from `base` when opened.
#[component]
pub fn TeamNode(node: TeamMember, base: &'static str) -> impl IntoView {
    let language = use_language();
    let open = RwSignal::new(false);
    let TeamMember { member_id, name, identity, directs, visitors, conversions, conversion_bp, k, gmv_fen, .. } = node;
    let id = member_id.clone();
    let children = LocalResource::new(move || {
        let (id, open) = (id.clone(), open.get());
        async move {
            if !open {
                return Ok(Vec::new());
            }
            api::send::<Tree>("GET", &format!("{base}?parent={}", api::encode(&id)), None, None)
                .await
                .map(|p| p.members)
        }
    });
    let conversion = conversion_bp.map_or_else(|| "–".to_owned(), percent);
    let has_children = directs > 0;
    let label = name.unwrap_or_else(|| member_id.clone());
    let identity_code = identity.clone();
    view! {
        <li class="team-node" data-identity=identity_code data-member=member_id>
            <div class="node-head">
                {has_children.then(|| view! {
                    <button class="expand" aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                        {move || if open.get() { "▾" } else { "▸" }}
                    </button>
                })}
                <span class="node-name">{label}</span>
                <span class="identity-badge">{move || identity_name(language.get(), &identity)}</span>
            </div>
            <p class="node-metrics">
                {move || both(language.get(), "直推 ", "Directs ")} {directs}
                " · " {move || both(language.get(), "访客 ", "Visitors ")} {visitors}
                " · " {move || both(language.get(), "转化 ", "Converted ")} {conversions} " (" {conversion} ")"
                " · K " {k}
                " · GMV " {Fen(gmv_fen).to_string()}
            </p>
            {move || open.get().then(|| view! {
                <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                    {move || children.get().map(|result| match result {
                        Ok(nodes) => view! {
                            <ul class="team-tree">
                                {nodes.into_iter().map(|n| view! { <TeamNode node=n base=base /> }.into_any()).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <ErrorNotice failure=e /> }.into_any(),
                    })}
                </Suspense>
            })}
        </li>
    }
}

#[component]
pub fn SharePage() -> impl IntoView {
    let language = use_language();
    let centre = LocalResource::new(|| async {
        crate::signed_in(api::send::<Centre>("GET", "/api/chain/me", None, None).await, "/share")
    });
    view! {
        <TopBar title=Signal::derive(move || both(language.get(), "分享中心", "Sharer centre").to_owned()) back=Signal::derive(|| "/".to_owned()) />
        <main class="page desk share">
            <Suspense fallback=move || view! { <p class="loading">{move || language.get().t(Key::Loading)}</p> }>
                {move || centre.get().map(|result| match result {
                    Ok(data) => view! { <CentreView data=data reload=Callback::new(move |()| centre.refetch()) /> }.into_any(),
                    Err(failure) => view! { <ErrorNotice failure=failure /> }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn CentreView(data: Centre, reload: Callback<()>) -> impl IntoView {
    let language = use_language();
    let link = format!("{}{}", origin(), data.invite_path);
    let copied = RwSignal::new(false);
    let copy_link = link.clone();
    let share_link = link.clone();
    // The poster names the store the sharer came from (`/share?store=…`), else the first one.
    let store = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("store"))
        .unwrap_or_default();
    let poster = format!("/api/chain/poster.svg?store={}", api::encode(&store));
    let identity = data.identity.clone();
    let member_hint = (data.identity == "member").then(|| view! {
        <p class="progress-label">{move || both(language.get(), "购买指定商品即可成为代理，开始获得分享收益", "Buy a designated product to become an agent and start earning")}</p>
    });
    let progress = data.required_directs.filter(|_| data.identity == "agent").map(|required| {
        let done = data.qualifying_directs.min(required);
        view! {
            <p class="progress-label">{move || both(language.get(), "升级合伙人进度", "Progress to partner")} " " {done} " / " {required}</p>
            <progress max=required.to_string() value=done.to_string()></progress>
        }
    });
    let name = RwSignal::new(data.display_name.clone().unwrap_or_default());
    let save_name = Action::new_local(move |name: &String| {
        let body = Profile { display_name: Some(name.trim().to_owned()).filter(|n| !n.is_empty()) };
        async move { api::send_json::<_, Profile>("PUT", "/api/chain/me", &body).await.map(drop) }
    });
    Effect::new(move |_| {
        if matches!(save_name.value().get(), Some(Ok(()))) {
            reload.run(());
        }
    });
    let b = data.balances;
    let amount = RwSignal::new(String::new());
    // One key per withdrawal the sharer means: a retry after a lost answer sends the same key,
    // so it is not paid twice; a new amount, or a withdrawal that went through, takes a new one.
    let request_key = RwSignal::new(crate::random_key());
    let withdraw = Action::new_local(move |yuan: &String| {
        let fen = Fen::parse_yuan(yuan.trim());
        let key = request_key.get_untracked();
        async move {
            let Some(fen) = fen else {
                return Err(ApiFailure::local(Problem::BadRequest { field: "amount_fen".to_owned() }));
            };
            let key = key.ok_or_else(crate::no_random_key)?;
            let body = WithdrawalRequest { amount_fen: fen.get(), request_key: key };
            api::send_json::<_, WithdrawalAnswer>("POST", "/api/chain/withdrawals", &body).await.map(drop)
        }
    });
    Effect::new(move |_| {
        if matches!(withdraw.value().get(), Some(Ok(()))) {
            amount.set(String::new());
            request_key.set(crate::random_key());
            reload.run(());
        }
    });
    let stats = data.stats.clone();
    let period = data.period_days;
    view! {
        <section class="panel sharer" data-test="sharer">
            <h2>{data.name.clone()} " " <span class="identity-badge" data-test="identity">{move || identity_name(language.get(), &identity)}</span></h2>
            {member_hint}
            {progress}
            <form class="form inline" on:submit=move |ev| { ev.prevent_default(); save_name.dispatch(name.get_untracked()); }>
                <label>{move || both(language.get(), "海报上的名字", "Name on the poster")}
                    <input maxlength="20" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                <button type="submit" class="secondary">{move || both(language.get(), "保存", "Save")}</button>
            </form>
        </section>
        <section class="panel invite">
            <h2>{move || both(language.get(), "邀请好友", "Invite friends")}</h2>
            <p class="invite-link"><code data-test="invite-link">{link.clone()}</code></p>
            <div class="actions">
                <button class="primary" data-test="copy-link" on:click=move |_| { copied.set(navigator_call(Some("clipboard"), "writeText", &copy_link.clone().into())); }>
                    {move || if copied.get() { both(language.get(), "已复制", "Copied") } else { both(language.get(), "复制链接", "Copy link") }}
                </button>
                <button class="secondary" on:click=move |_| {
                    let payload = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(&payload, &"url".into(), &share_link.clone().into());
                    if !navigator_call(None, "share", &payload) {
                        copied.set(navigator_call(Some("clipboard"), "writeText", &share_link.clone().into()));
                    }
                }>{move || both(language.get(), "分享", "Share")}</button>
                <a class="secondary button" href=poster.clone() download="tandem-poster.svg">{move || both(language.get(), "保存海报", "Save poster")}</a>
            </div>
            <img class="poster" src=poster alt=move || both(language.get(), "邀请海报", "Invite poster") data-test="poster" />
            <p class="hint">{move || both(language.get(), "长按海报可保存或转发", "Long-press the poster to save or forward it")}</p>
        </section>
        {stats.map(|s| view! {
            <section class="panel stats" data-test="stats">
                <h2>{move || both(language.get(), "近 ", "Last ")} {period} {move || both(language.get(), " 天", " days")}</h2>
                <dl class="figures">
                    <div><dt>{move || both(language.get(), "访客", "Visitors")}</dt><dd>{s.visitors}</dd></div>
                    <div><dt>{move || both(language.get(), "转化", "Converted")}</dt><dd>{s.conversions}</dd></div>
                    <div><dt>"K"</dt><dd>{s.k}</dd></div>
                    <div><dt>"GMV"</dt><dd>{Fen(s.gmv_fen).to_string()}</dd></div>
                </dl>
            </section>
        })}
        <section class="panel earnings">
            <h2>{move || both(language.get(), "收益", "Earnings")}</h2>
            <dl class="figures" data-test="balances">
                <div><dt>{move || state_name(language.get(), "pending")}</dt><dd data-test="pending">{Fen(b.pending_fen).to_string()}</dd></div>
                <div><dt>{move || state_name(language.get(), "frozen")}</dt><dd>{Fen(b.frozen_fen).to_string()}</dd></div>
                <div><dt>{move || state_name(language.get(), "available")}</dt><dd data-test="available">{Fen(b.available_fen).to_string()}</dd></div>
                <div><dt>{move || both(language.get(), "提现中", "Withdrawing")}</dt><dd>{Fen(b.withdrawing_fen).to_string()}</dd></div>
                <div><dt>{move || both(language.get(), "已提现", "Withdrawn")}</dt><dd>{Fen(b.paid_out_fen).to_string()}</dd></div>
            </dl>
            <ul class="rewards" data-test="rewards">
                {data.rewards.into_iter().map(|r| {
                    let thaw = r.thaw_at.filter(|_| r.state == "frozen").map(|at| crate::local_time(Timestamp(at)));
                    let (kind, generation, state) = (r.kind.clone(), r.generation, r.state.clone());
                    view! {
                        <li data-state=r.state.clone()>
                            <span class="kind">{move || kind_name(language.get(), &kind, generation)}</span>
                            <span class="price">{Fen(r.amount_fen).to_string()}</span>
                            <span class="state">{move || state_name(language.get(), &state)}</span>
                            {thaw.map(|t| view! { <span class="thaw">{move || both(language.get(), "解冻 ", "thaws ")} {t.clone()}</span> })}
                            {(r.voided_fen > 0).then(|| view! { <span class="void">{move || both(language.get(), "退款扣回 ", "voided ")} {Fen(r.voided_fen).to_string()}</span> })}
                            {(r.clawback_fen > 0).then(|| view! { <span class="void">{move || both(language.get(), "追回 ", "clawed back ")} {Fen(r.clawback_fen).to_string()}</span> })}
                            <code class="order">{r.order_id}</code>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
        <section class="panel withdrawals">
            <h2>{move || both(language.get(), "提现", "Withdraw")}</h2>
            <form class="form inline" on:submit=move |ev| { ev.prevent_default(); withdraw.dispatch(amount.get_untracked()); }>
                <label>{move || both(language.get(), "金额（元）", "Amount (yuan)")}
                    <input inputmode="decimal" data-test="withdraw-amount" prop:value=move || amount.get() on:input=move |ev| { amount.set(event_target_value(&ev)); request_key.set(crate::random_key()); } /></label>
                <button type="submit" class="primary" disabled=move || withdraw.pending().get()>{move || both(language.get(), "申请提现", "Request")}</button>
            </form>
            {move || withdraw.value().get().and_then(Result::err).map(|e| {
                let message = failure(language.get(), &e);
                view! { <p class="note error" role="alert">{message}</p> }
            })}
            <ul class="history" data-test="withdrawals">
                {data.withdrawals.into_iter().map(|w| {
                    let state = w.state.clone();
                    view! {
                        <li data-state=w.state.clone() data-id=w.id>
                            <span class="price">{Fen(w.amount_fen).to_string()}</span>
                            <span class="state">{move || state_name(language.get(), &state)}</span>
                            <span class="when">{crate::local_time(Timestamp(w.requested_at))}</span>
                            {w.note.map(|n| view! { <span class="note">{n}</span> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
        <section class="panel team">
            <h2>{move || both(language.get(), "我的团队", "My team")}</h2>
            {data.directs.is_empty().then(|| view! { <p class="note">{move || both(language.get(), "还没有直推成员，分享链接邀请好友吧", "No one yet: share your link")}</p> })}
            <ul class="team-tree" data-test="team">
                {data.directs.into_iter().map(|n| view! { <TeamNode node=n base="/api/chain/team" /> }).collect_view()}
            </ul>
        </section>
    }
}
