//! Chinese is the primary language and English the second. The choice is remembered in
//! `localStorage`, so a shopper who switched once keeps their language on the next visit.

use tandem_domain::catalog::Text;

const STORAGE_KEY: &str = "tandem.lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Zh,
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Zh => "zh-CN",
            Language::En => "en",
        }
    }

    #[must_use]
    pub fn other(self) -> Language {
        match self {
            Language::Zh => Language::En,
            Language::En => Language::Zh,
        }
    }

    /// Picks the text in this language.
    pub fn pick(self, text: &Text) -> String {
        match self {
            Language::Zh => text.zh.clone(),
            Language::En => text.en.clone(),
        }
    }

    pub fn t(self, key: Key) -> &'static str {
        let (zh, en) = key.texts();
        match self {
            Language::Zh => zh,
            Language::En => en,
        }
    }
}

/// Every fixed text on the screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    AppName,
    SwitchLanguage,
    ChooseStore,
    ChooseStoreHint,
    Products,
    All,
    Search,
    SearchPlaceholder,
    LoadMore,
    Loading,
    NoResults,
    EndOfShelf,
    From,
    Pickup,
    Delivery,
    InStock,
    LowStock,
    OutOfStock,
    NotOffered,
    Size,
    Colour,
    Supplier,
    Back,
    ChangeStore,
    Retry,
    ErrorNetwork,
    View3d,
    Units,
    AddToCart,
    Added,
    GoToCart,
    MyOrders,
    Cart,
    ConsentQuestion,
    ConsentYes,
    ConsentNo,
    ForYou,
    GoesWith,
    TriedOn,
    ManagePreferences,
}

impl Key {
    fn texts(self) -> (&'static str, &'static str) {
        match self {
            Key::AppName => ("Tandem 云店", "Tandem virtual store"),
            Key::SwitchLanguage => ("English", "中文"),
            Key::ChooseStore => ("选择门店", "Choose a store"),
            Key::ChooseStoreHint => (
                "扫描门店二维码，或在下方选择门店进入云货架。",
                "Scan a store's QR code, or choose a store below to open its virtual shelf.",
            ),
            Key::Products => ("件商品", "products"),
            Key::All => ("全部", "All"),
            Key::Search => ("搜索", "Search"),
            Key::SearchPlaceholder => ("搜索商品名称", "Search products"),
            Key::LoadMore => ("加载更多", "Load more"),
            Key::Loading => ("加载中…", "Loading…"),
            Key::NoResults => ("没有找到相关商品", "No products found"),
            Key::EndOfShelf => ("已经到底了", "That's everything"),
            Key::From => ("起", "from"),
            Key::Pickup => ("到店自提", "Pick up in store"),
            Key::Delivery => ("快递到家", "Home delivery"),
            Key::InStock => ("有货", "In stock"),
            Key::LowStock => ("仅剩", "Only"),
            Key::OutOfStock => ("缺货", "Out of stock"),
            Key::NotOffered => ("本店不提供", "Not offered here"),
            Key::Size => ("尺码/规格", "Size"),
            Key::Colour => ("颜色/款式", "Colour"),
            Key::Supplier => ("供货商", "Supplier"),
            Key::Back => ("返回", "Back"),
            Key::ChangeStore => ("切换门店", "Change store"),
            Key::Retry => ("重试", "Retry"),
            Key::ErrorNetwork => {
                ("网络连接失败，请检查网络后重试。", "Could not reach the store. Check your connection and retry.")
            }
            Key::View3d => ("3D 查看", "View in 3D"),
            Key::Units => ("件", "left"),
            Key::AddToCart => ("加入购物车", "Add to cart"),
            Key::Added => ("已加入购物车", "Added to your cart."),
            Key::GoToCart => ("去结算", "Check out"),
            Key::MyOrders => ("我的订单", "My orders"),
            Key::Cart => ("购物车", "Cart"),
            Key::ConsentQuestion => (
                "允许我们记录你在店内和线上的浏览与试穿，为你推荐更合适的商品吗？你可随时在“我的偏好”中查看、删除或关闭。",
                "May we record what you view and try on, in store and online, to recommend what suits you? You can see, delete or switch it off at any time under My preferences.",
            ),
            Key::ConsentYes => ("同意", "Yes, personalise"),
            Key::ConsentNo => ("暂不", "Not now"),
            Key::ForYou => ("为你推荐", "For you"),
            Key::ManagePreferences => ("为什么推荐这些？管理我的偏好", "Why these? Manage my preferences"),
            Key::GoesWith => ("搭配推荐", "Goes with this"),
            Key::TriedOn => ("店里试穿过 · 线上下单", "Tried on in store — buy online"),
        }
    }
}

pub fn remembered_language() -> Language {
    match crate::remembered::stored(STORAGE_KEY).as_deref() {
        Some("en") => Language::En,
        _ => Language::Zh,
    }
}

pub fn remember_language(language: Language) {
    // A full or disabled storage (private browsing) only loses the memory, not the switch.
    crate::remembered::store(STORAGE_KEY, language.code());
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", language.code());
    }
}
