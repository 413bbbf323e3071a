//! The demo catalogue: three suppliers, three stores and 42 products a shopper in Shanghai,
//! Guangzhou or Chengdu would recognise, with prices in fen that pass the shelf-price guard.

use tandem_domain::catalog::Category;

pub struct Supplier {
    pub id: &'static str,
    pub name: (&'static str, &'static str),
    pub warehouse: (&'static str, &'static str),
}

pub struct Store {
    pub id: &'static str,
    pub name: (&'static str, &'static str),
    pub city: (&'static str, &'static str),
    pub address: (&'static str, &'static str),
    /// Percent of the base price this store charges (inside every band).
    pub price_percent: i64,
    /// Every n-th product is left off this store's shelf (0: carries everything).
    pub skip_every: usize,
}

pub struct Product {
    pub id: &'static str,
    pub supplier: &'static str,
    pub category: Category,
    pub name: (&'static str, &'static str),
    pub description: (&'static str, &'static str),
    /// Typical retail price in yuan; the supplier's band and supply price derive from it.
    pub base_yuan: i64,
    pub sizes: &'static [&'static str],
    pub colours: &'static [(&'static str, &'static str, &'static str)],
    /// A glTF model of the product, drawn by `tandem seed media`.
    pub model: Option<crate::media::ModelShape>,
}

pub const SUPPLIERS: &[Supplier] = &[
    Supplier {
        id: "sup-huafang",
        name: ("华纺服饰", "Huafang Apparel"),
        warehouse: ("华纺嘉兴仓", "Huafang Jiaxing warehouse"),
    },
    Supplier {
        id: "sup-yangguang",
        name: ("阳光母婴美妆", "Sunshine Baby & Beauty"),
        warehouse: ("阳光昆山仓", "Sunshine Kunshan warehouse"),
    },
    Supplier {
        id: "sup-lianghui",
        name: ("良汇食品家居", "Lianghui Foods & Home"),
        warehouse: ("良汇佛山仓", "Lianghui Foshan warehouse"),
    },
];

pub const STORES: &[Store] = &[
    Store {
        id: "s-jingan",
        name: ("静安寺店", "Jing'an Temple store"),
        city: ("上海", "Shanghai"),
        address: ("上海市静安区南京西路1618号", "1618 West Nanjing Road, Jing'an, Shanghai"),
        price_percent: 100,
        skip_every: 0,
    },
    Store {
        id: "s-tianhe",
        name: ("天河城店", "Tianhe City store"),
        city: ("广州", "Guangzhou"),
        address: ("广州市天河区天河路208号", "208 Tianhe Road, Tianhe, Guangzhou"),
        price_percent: 105,
        skip_every: 4,
    },
    Store {
        id: "s-chunxi",
        name: ("春熙路店", "Chunxi Road store"),
        city: ("成都", "Chengdu"),
        address: ("成都市锦江区春熙路南段8号", "8 South Chunxi Road, Jinjiang, Chengdu"),
        price_percent: 95,
        skip_every: 3,
    },
];

const APPAREL_SIZES: &[&str] = &["S", "M", "L", "XL"];
const KIDS_SIZES: &[&str] = &["80cm", "90cm", "100cm", "110cm"];
const NONE: &[&str] = &[];
const NO_COLOUR: &[(&str, &str, &str)] = &[];

macro_rules! product {
    ($id:literal, $supplier:literal, $category:ident, ($zh:literal, $en:literal), ($dzh:literal, $den:literal), $yuan:literal, $sizes:expr, $colours:expr) => {
        product!($id, $supplier, $category, ($zh, $en), ($dzh, $den), $yuan, $sizes, $colours, None)
    };
    ($id:literal, $supplier:literal, $category:ident, ($zh:literal, $en:literal), ($dzh:literal, $den:literal), $yuan:literal, $sizes:expr, $colours:expr, $model:expr) => {
        Product {
            id: $id,
            supplier: $supplier,
            category: Category::$category,
            name: ($zh, $en),
            description: ($dzh, $den),
            base_yuan: $yuan,
            sizes: $sizes,
            colours: $colours,
            model: $model,
        }
    };
}

use crate::media::ModelShape;

pub const PRODUCTS: &[Product] = &[
    // 服饰 clothing
    product!(
        "p-0101",
        "sup-huafang",
        Clothing,
        ("新疆长绒棉圆领T恤", "Xinjiang long-staple cotton tee"),
        (
            "180克重磅长绒棉，亲肤透气，洗后不变形。",
            "180 g heavyweight long-staple cotton: soft, breathable, keeps its shape wash after wash."
        ),
        99,
        APPAREL_SIZES,
        &[("白色", "White", "#f4f4f0"), ("黑色", "Black", "#2b2b2b"), ("雾蓝", "Mist blue", "#8fa9c4")]
    ),
    product!(
        "p-0102",
        "sup-huafang",
        Clothing,
        ("轻薄羽绒服", "Ultralight down jacket"),
        (
            "90%白鸭绒填充，可收纳进口袋，通勤出游两相宜。",
            "90 % white duck down that packs into its own pocket, for the commute and for trips."
        ),
        499,
        APPAREL_SIZES,
        &[("藏青", "Navy", "#1f2f4f"), ("燕麦", "Oat", "#d8c8a8")]
    ),
    product!(
        "p-0103",
        "sup-huafang",
        Clothing,
        ("高腰直筒牛仔裤", "High-rise straight jeans"),
        ("微弹牛仔面料，显瘦直筒版型。", "Stretch denim in a slimming straight cut."),
        259,
        &["26", "27", "28", "29", "30"],
        &[("浅蓝", "Light blue", "#9fbad6"), ("深蓝", "Dark blue", "#2f4a6d")]
    ),
    product!(
        "p-0104",
        "sup-huafang",
        Clothing,
        ("真丝衬衫", "Mulberry silk shirt"),
        (
            "19姆米桑蚕丝，垂顺有光泽，职场百搭。",
            "19-momme mulberry silk with a soft drape and sheen, easy to wear to work."
        ),
        699,
        &["S", "M", "L"],
        &[("香槟", "Champagne", "#e9d8b8"), ("墨绿", "Forest green", "#2f4f3f")]
    ),
    product!(
        "p-0105",
        "sup-huafang",
        Clothing,
        ("羊毛混纺开衫", "Wool-blend cardigan"),
        (
            "50%羊毛混纺，柔软不扎，春秋叠穿。",
            "50 % wool blend, soft against the skin, for layering in spring and autumn."
        ),
        329,
        APPAREL_SIZES,
        &[("驼色", "Camel", "#b8895a"), ("灰色", "Grey", "#9a9a9a")]
    ),
    product!(
        "p-0106",
        "sup-huafang",
        Clothing,
        ("运动速干短裤", "Quick-dry running shorts"),
        (
            "轻量速干面料，内置口袋，跑步健身都合适。",
            "Light quick-dry fabric with an inner pocket, for running and the gym."
        ),
        129,
        APPAREL_SIZES,
        &[("黑色", "Black", "#2b2b2b"), ("荧光绿", "Neon green", "#a8e04a")]
    ),
    product!(
        "p-0107",
        "sup-huafang",
        Clothing,
        ("法式碎花连衣裙", "French floral midi dress"),
        ("雪纺碎花，V领收腰，约会度假必备。", "Floral chiffon with a V-neck and fitted waist, for dates and holidays."),
        389,
        &["S", "M", "L"],
        &[("碎花蓝", "Blue floral", "#7f9fd0"), ("碎花红", "Red floral", "#d07f7f")]
    ),
    product!(
        "p-0108",
        "sup-huafang",
        Clothing,
        ("棉麻阔腿裤", "Cotton-linen wide-leg trousers"),
        ("棉麻混纺，松紧腰，夏季清爽。", "Cotton-linen blend with an elastic waist, cool in summer."),
        199,
        APPAREL_SIZES,
        &[("米白", "Ivory", "#efe8d8"), ("卡其", "Khaki", "#b5a27a")]
    ),
    product!(
        "p-0109",
        "sup-huafang",
        Clothing,
        ("冬季加绒卫衣", "Fleece-lined hoodie"),
        ("内里加绒，宽松版型，冬天也暖和。", "Fleece-lined and relaxed, warm through winter."),
        239,
        APPAREL_SIZES,
        &[("灰色", "Grey", "#9a9a9a"), ("酒红", "Burgundy", "#7a2f3a")]
    ),
    // 美妆 beauty
    product!(
        "p-0201",
        "sup-yangguang",
        Beauty,
        ("丝绒哑光口红", "Velvet matte lipstick"),
        ("丝绒质地，不拔干，持妆8小时。", "Velvet texture that does not dry the lips, stays on for 8 hours."),
        159,
        NONE,
        &[
            ("正红 #999", "True red #999", "#c4161c"),
            ("豆沙 #520", "Rosewood #520", "#b5656b"),
            ("枫叶 #888", "Maple #888", "#9c3b24")
        ]
    ),
    product!(
        "p-0202",
        "sup-yangguang",
        Beauty,
        ("玻尿酸保湿精华", "Hyaluronic acid serum"),
        ("三重玻尿酸，一抹水润，敏感肌可用。", "Triple hyaluronic acid for instant moisture; suits sensitive skin."),
        239,
        &["30ml", "50ml"],
        NO_COLOUR,
        Some(ModelShape::Dropper)
    ),
    product!(
        "p-0203",
        "sup-yangguang",
        Beauty,
        ("氨基酸洁面乳", "Amino-acid cleanser"),
        ("温和氨基酸配方，洗后不紧绷。", "A gentle amino-acid formula that leaves skin comfortable, not tight."),
        89,
        &["100g", "150g"],
        NO_COLOUR
    ),
    product!(
        "p-0204",
        "sup-yangguang",
        Beauty,
        ("清透防晒乳 SPF50+", "Sheer sunscreen SPF50+"),
        ("PA++++高倍防护，清爽不油腻。", "PA++++ high protection in a light, non-greasy finish."),
        139,
        &["40ml", "60ml"],
        NO_COLOUR
    ),
    product!(
        "p-0205",
        "sup-yangguang",
        Beauty,
        ("持妆粉底液", "Long-wear foundation"),
        ("轻薄遮瑕，控油持妆12小时。", "Light, covering, oil-controlling, lasts 12 hours."),
        299,
        NONE,
        &[("象牙白", "Ivory", "#f1d9c0"), ("自然色", "Natural", "#e2bf9a"), ("小麦色", "Wheat", "#c99a6e")]
    ),
    product!(
        "p-0206",
        "sup-yangguang",
        Beauty,
        ("修护晚霜", "Overnight repair cream"),
        ("神经酰胺修护屏障，一夜焕亮。", "Ceramides to repair the skin barrier; wake up to brighter skin."),
        329,
        &["50g"],
        NO_COLOUR
    ),
    product!(
        "p-0207",
        "sup-yangguang",
        Beauty,
        ("十二色眼影盘", "12-shade eyeshadow palette"),
        ("哑光与珠光搭配，日常晚宴都能画。", "Matte and shimmer shades, from daytime to evening."),
        199,
        NONE,
        &[("大地色", "Earth tones", "#a8785a"), ("玫瑰色", "Rose tones", "#c27a8a")]
    ),
    product!(
        "p-0208",
        "sup-yangguang",
        Beauty,
        ("护手霜礼盒", "Hand cream gift set"),
        ("三支装，乳木果滋润，送礼自用皆宜。", "Three tubes with shea butter, for gifts or for yourself."),
        119,
        NONE,
        NO_COLOUR
    ),
    // 母婴 mother and baby
    product!(
        "p-0301",
        "sup-yangguang",
        Baby,
        ("有机婴儿配方奶粉 1段", "Organic infant formula, stage 1"),
        ("0-6个月，有机奶源，含DHA和乳铁蛋白。", "For 0–6 months: organic milk with DHA and lactoferrin."),
        368,
        &["800g"],
        NO_COLOUR
    ),
    product!(
        "p-0302",
        "sup-yangguang",
        Baby,
        ("有机较大婴儿奶粉 2段", "Organic follow-on formula, stage 2"),
        ("6-12个月，有机奶源，易吸收。", "For 6–12 months: organic milk, easy to digest."),
        348,
        &["800g"],
        NO_COLOUR
    ),
    product!(
        "p-0303",
        "sup-yangguang",
        Baby,
        ("超薄透气纸尿裤", "Ultra-thin breathable nappies"),
        ("3D透气芯体，一夜干爽。", "A breathable 3D core that stays dry all night."),
        139,
        &["S 84片", "M 72片", "L 60片", "XL 52片"],
        NO_COLOUR
    ),
    product!(
        "p-0304",
        "sup-yangguang",
        Baby,
        ("宽口径玻璃奶瓶", "Wide-neck glass feeding bottle"),
        ("高硼硅玻璃，防胀气奶嘴。", "Borosilicate glass with an anti-colic teat."),
        129,
        &["160ml", "240ml"],
        NO_COLOUR,
        Some(ModelShape::Bottle)
    ),
    product!(
        "p-0305",
        "sup-yangguang",
        Baby,
        ("婴儿纯棉连体衣", "Baby cotton bodysuit"),
        ("A类纯棉，无骨缝制，宝宝穿着舒服。", "Class-A cotton with flat seams, comfortable for babies."),
        99,
        KIDS_SIZES,
        &[("奶白", "Milk white", "#f6f1e7"), ("浅粉", "Pale pink", "#f3cfd6"), ("浅蓝", "Pale blue", "#cfe0f3")]
    ),
    product!(
        "p-0306",
        "sup-yangguang",
        Baby,
        ("婴儿湿巾 80抽×6包", "Baby wipes, 80 × 6 packs"),
        ("纯水配方，手口可用。", "Pure-water formula, safe for hands and mouths."),
        69,
        NONE,
        NO_COLOUR
    ),
    product!(
        "p-0307",
        "sup-yangguang",
        Baby,
        ("轻便折叠婴儿推车", "Light folding stroller"),
        ("一键收车，可登机，可坐可躺。", "One-hand fold, cabin-size, sits up or lies flat."),
        1299,
        NONE,
        &[("月光灰", "Moon grey", "#8a8f99"), ("燕麦色", "Oat", "#d8c8a8")]
    ),
    product!(
        "p-0308",
        "sup-yangguang",
        Baby,
        ("孕妇叶酸片", "Prenatal folic acid tablets"),
        ("备孕及孕期补充叶酸，每日一片。", "Folic acid for before and during pregnancy, one tablet a day."),
        89,
        &["60片"],
        NO_COLOUR
    ),
    product!(
        "p-0309",
        "sup-yangguang",
        Baby,
        ("儿童学饮杯", "Toddler sippy cup"),
        ("防漏吸管，双把手，适合6个月以上。", "Leak-proof straw and two handles, from 6 months."),
        79,
        NONE,
        &[("小黄鸭", "Duckling yellow", "#f5d04a"), ("薄荷绿", "Mint", "#a8dcc4")]
    ),
    // 零食 snacks
    product!(
        "p-0401",
        "sup-lianghui",
        Snacks,
        ("每日坚果 30袋", "Daily mixed nuts, 30 packs"),
        ("六种坚果果干科学配比，每天一袋。", "Six nuts and dried fruits in balance, one pack a day."),
        129,
        NONE,
        NO_COLOUR
    ),
    product!(
        "p-0402",
        "sup-lianghui",
        Snacks,
        ("手撕牛肉干", "Hand-torn beef jerky"),
        ("内蒙古草原牛肉，风干工艺。", "Inner Mongolian grassland beef, air-dried."),
        69,
        &["200g", "500g"],
        &[("原味", "Original", "#8a4b2a"), ("香辣", "Spicy", "#c43b1c")]
    ),
    product!(
        "p-0403",
        "sup-lianghui",
        Snacks,
        ("海苔脆片", "Crispy seaweed snacks"),
        ("烤制海苔夹心，宝宝大人都爱吃。", "Roasted seaweed sandwiches that children and adults love."),
        39,
        NONE,
        NO_COLOUR
    ),
    product!(
        "p-0404",
        "sup-lianghui",
        Snacks,
        ("冻干草莓脆", "Freeze-dried strawberries"),
        ("整颗冻干，酸甜酥脆，无添加糖。", "Whole freeze-dried berries: sweet, tart and crisp, no added sugar."),
        49,
        &["50g", "100g"],
        NO_COLOUR
    ),
    product!(
        "p-0405",
        "sup-lianghui",
        Snacks,
        ("云南小粒咖啡挂耳", "Yunnan drip-bag coffee"),
        ("保山小粒咖啡，中深烘焙，20包。", "Baoshan arabica, medium-dark roast, 20 bags."),
        79,
        NONE,
        NO_COLOUR
    ),
    product!(
        "p-0406",
        "sup-lianghui",
        Snacks,
        ("川味麻辣兔头", "Sichuan spicy rabbit heads"),
        ("成都老味道，麻辣鲜香。", "The old taste of Chengdu: numbing, hot and fragrant."),
        59,
        NONE,
        &[("麻辣", "Mala", "#c43b1c"), ("五香", "Five-spice", "#8a4b2a")]
    ),
    product!(
        "p-0407",
        "sup-lianghui",
        Snacks,
        ("全麦无蔗糖饼干", "Whole-wheat sugar-free crackers"),
        ("全麦粉，零蔗糖，饱腹代餐。", "Whole-wheat flour and no sucrose: a filling snack."),
        45,
        NONE,
        NO_COLOUR
    ),
    product!(
        "p-0408",
        "sup-lianghui",
        Snacks,
        ("广式手工蛋卷", "Cantonese egg rolls"),
        ("鸡蛋黄油手工卷制，酥脆香甜。", "Hand-rolled with egg and butter, crisp and sweet."),
        58,
        NONE,
        NO_COLOUR
    ),
    product!(
        "p-0409",
        "sup-lianghui",
        Snacks,
        ("西湖龙井茶 明前", "West Lake Longjing, pre-Qingming"),
        ("明前头采，豆香清雅，罐装100克。", "First spring pick with a delicate bean aroma; 100 g tin."),
        268,
        NONE,
        NO_COLOUR
    ),
    // 家居 home
    product!(
        "p-0501",
        "sup-lianghui",
        Home,
        ("景德镇手绘马克杯", "Jingdezhen hand-painted mug"),
        ("景德镇陶瓷，手绘青花，容量350毫升。", "Jingdezhen porcelain painted by hand in blue and white, 350 ml."),
        88,
        NONE,
        &[("青花", "Blue and white", "#2f5fa8"), ("粉彩", "Famille rose", "#d88fa0")],
        Some(ModelShape::Mug)
    ),
    product!(
        "p-0502",
        "sup-huafang",
        Home,
        ("全棉四件套", "Cotton bedding set, 4 pieces"),
        ("60支长绒棉贡缎，柔滑亲肤。", "60s long-staple cotton sateen, smooth against the skin."),
        599,
        &["1.5m床", "1.8m床"],
        &[("雾霾蓝", "Haze blue", "#8fa3b8"), ("奶咖", "Latte", "#c8a888")]
    ),
    product!(
        "p-0503",
        "sup-huafang",
        Home,
        ("纯棉浴巾", "Cotton bath towel"),
        ("长绒棉毛圈，吸水快干。", "Long-staple cotton loops, absorbent and quick to dry."),
        79,
        NONE,
        &[("白色", "White", "#f4f4f0"), ("灰色", "Grey", "#9a9a9a")]
    ),
    product!(
        "p-0504",
        "sup-lianghui",
        Home,
        ("香薰蜡烛", "Scented candle"),
        ("大豆蜡，燃烧40小时。", "Soy wax, burns for 40 hours."),
        128,
        NONE,
        &[("白茶", "White tea", "#eae6d6"), ("雪松", "Cedar", "#8a7a5a")]
    ),
    product!(
        "p-0505",
        "sup-lianghui",
        Home,
        ("不锈钢保温杯", "Stainless steel vacuum flask"),
        ("316不锈钢内胆，保温12小时。", "316 stainless steel, keeps drinks hot for 12 hours."),
        149,
        &["350ml", "500ml"],
        &[("墨黑", "Ink black", "#2b2b2b"), ("樱花粉", "Sakura pink", "#f0c0c8")]
    ),
    product!(
        "p-0506",
        "sup-lianghui",
        Home,
        ("北欧实木小边几", "Nordic solid-wood side table"),
        ("白橡木实木，免安装。", "Solid white oak, no assembly needed."),
        399,
        NONE,
        &[("原木", "Natural", "#c8a06a"), ("胡桃", "Walnut", "#6a4a2a")]
    ),
    product!(
        "p-0507",
        "sup-lianghui",
        Home,
        ("乳胶记忆枕", "Latex memory pillow"),
        ("天然乳胶，护颈曲线。", "Natural latex with a neck-supporting curve."),
        259,
        NONE,
        NO_COLOUR
    ),
    product!(
        "p-0508",
        "sup-lianghui",
        Home,
        ("家用收纳箱 3只装", "Storage boxes, set of 3"),
        ("加厚PP材质，可叠放。", "Thick PP plastic, stackable."),
        99,
        NONE,
        &[("透明", "Clear", "#dde8ee"), ("奶白", "Milk white", "#f6f1e7")]
    ),
];

/// A demo account with a role: who to sign in as to see each console (README, "Demo accounts").
pub struct StaffAccount {
    pub phone: &'static str,
    /// A store person's name and card (title, bio, featured products); suppliers have none.
    pub card: Option<DemoCard>,
    /// `store` or `supplier`.
    pub scope: &'static str,
    pub scope_id: &'static str,
    /// `owner` or `clerk` of a store; `staff` of a supplier.
    pub role: &'static str,
}

/// A demo person's card.
pub struct DemoCard {
    pub name: &'static str,
    pub title: &'static str,
    pub bio: &'static str,
    pub featured: &'static [&'static str],
}

pub const STAFF: &[StaffAccount] = &[
    StaffAccount {
        phone: "13900000001",
        card: Some(DemoCard {
            name: "周静",
            title: "店长",
            bio: "静安寺店店长，十年服装陈列经验。到店报我名字，帮你搭一整套。",
            featured: &["p-0102", "p-0201", "p-0301"],
        }),
        scope: "store",
        scope_id: "s-jingan",
        role: "owner",
    },
    StaffAccount {
        phone: "13900000002",
        card: Some(DemoCard {
            name: "李芳",
            title: "母婴与穿搭顾问",
            bio: "两个孩子的妈妈，懂奶粉也懂穿搭。周末都在店里，欢迎来试。",
            featured: &["p-0301", "p-0102"],
        }),
        scope: "store",
        scope_id: "s-jingan",
        role: "clerk",
    },
    StaffAccount {
        phone: "13900000003",
        card: Some(DemoCard {
            name: "陈伟",
            title: "店长",
            bio: "天河城店店长。新品到店第一时间通知你。",
            featured: &["p-0101", "p-0201"],
        }),
        scope: "store",
        scope_id: "s-tianhe",
        role: "owner",
    },
    StaffAccount {
        phone: "13900000004",
        card: Some(DemoCard {
            name: "黄敏",
            title: "美妆顾问",
            bio: "肤质不同，护肤方法也不同——来店里测一测再选。",
            featured: &["p-0201"],
        }),
        scope: "store",
        scope_id: "s-tianhe",
        role: "clerk",
    },
    StaffAccount {
        phone: "13900000005",
        card: Some(DemoCard {
            name: "王磊",
            title: "店长",
            bio: "春熙路店店长，成都本地人，吃喝穿搭都可以问我。",
            featured: &["p-0401", "p-0101"],
        }),
        scope: "store",
        scope_id: "s-chunxi",
        role: "owner",
    },
    StaffAccount {
        phone: "13900000006",
        card: Some(DemoCard {
            name: "刘洋",
            title: "零食买手",
            bio: "每周试吃新品，只推荐自己回购的。",
            featured: &["p-0401"],
        }),
        scope: "store",
        scope_id: "s-chunxi",
        role: "clerk",
    },
    StaffAccount { phone: "13900000011", card: None, scope: "supplier", scope_id: "sup-huafang", role: "staff" },
    StaffAccount { phone: "13900000012", card: None, scope: "supplier", scope_id: "sup-yangguang", role: "staff" },
    StaffAccount { phone: "13900000013", card: None, scope: "supplier", scope_id: "sup-lianghui", role: "staff" },
];
