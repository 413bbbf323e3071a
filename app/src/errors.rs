//! What a screen says when a call fails: the specific refusal the API gave
//! ([`tandem_domain::api::Problem`], with what it names), in the shopper's language. Both
//! bundles use it, so every error the API can give has one message everywhere.

use tandem_domain::api::Problem;

use crate::api::ApiFailure;
use crate::i18n::Language;

/// The field a `bad_request` names, as a person would call it.
fn field_name(field: &str) -> (&'static str, &'static str) {
    let last = field.rsplit('.').next().unwrap_or(field);
    let last = last.split('[').next().unwrap_or(last);
    match last {
        "phone" => ("手机号", "phone number"),
        "code" => ("验证码", "code"),
        "name" => ("姓名", "name"),
        "region" => ("所在地区", "region"),
        "detail" => ("详细地址", "street address"),
        "address" => ("收货地址", "delivery address"),
        "quantity" => ("数量", "quantity"),
        "lines" => ("商品", "items"),
        "sku_id" => ("商品规格", "item"),
        "store_id" | "store" => ("门店", "store"),
        "price_fen" => ("价格", "price"),
        "amount_fen" | "amount" => ("金额", "amount"),
        "on_hand" => ("库存数量", "stock count"),
        "reason" => ("原因", "reason"),
        "carrier" => ("快递公司", "carrier"),
        "tracking_no" => ("运单号", "tracking number"),
        "display_name" => ("名字", "name"),
        "title" => ("头衔", "title"),
        "bio" => ("简介", "bio"),
        "email" => ("邮箱", "email"),
        "wechat" => ("微信号", "WeChat ID"),
        "product" => ("商品编号", "product id"),
        "csv" => ("表格文件", "CSV file"),
        "rules" | "text" => ("规则", "rules"),
        "limit" | "cursor" => ("分页参数", "page parameter"),
        "q" => ("搜索词", "search words"),
        "body" => ("提交的内容", "request"),
        _ => ("填写的内容", "input"),
    }
}

/// The thing a `not_found` names.
fn resource_name(resource: &str) -> (&'static str, &'static str) {
    match resource {
        "order" => ("订单", "order"),
        "checkout" => ("待支付订单", "checkout"),
        "payment" => ("支付单", "payment"),
        "sku" => ("该规格商品（可能已下架）", "item (it may be off the shelf)"),
        "product" => ("商品", "product"),
        "store" => ("门店", "store"),
        "supplier" => ("供应商", "supplier"),
        "card" | "code" => ("名片", "card"),
        "pickup" | "pickup_code" => ("该取货码对应的订单", "order for that pickup code"),
        "clerk" => ("店员", "clerk"),
        "customer" => ("顾客", "customer"),
        "device" => ("设备", "device"),
        "media" => ("图片", "picture"),
        "withdrawal" => ("提现申请", "withdrawal"),
        "profile" => ("偏好档案", "profile"),
        "route" => ("页面", "page"),
        _ => ("内容", "item"),
    }
}

fn fulfilment_name(fulfilment: &str) -> (&'static str, &'static str) {
    if fulfilment == "pickup" { ("到店自提", "pickup") } else { ("快递配送", "delivery") }
}

/// The message for a failure, specific to what the API said.
pub fn describe(language: Language, failure: &ApiFailure) -> String {
    let zh = language == Language::Zh;
    let say = |zh_text: &str, en_text: &str| if zh { zh_text.to_owned() } else { en_text.to_owned() };
    let problem = match failure {
        ApiFailure::Network => {
            return say("网络不给力，请检查网络后重试", "No connection; check your network and retry");
        }
        ApiFailure::NoSecureRandom => {
            return say(
                "此浏览器无法生成安全的随机编号，请换用系统浏览器",
                "This browser cannot make a secure random id; use the system browser",
            );
        }
        ApiFailure::Api { problem, .. } => problem,
    };
    match problem {
        Problem::BadRequest { field } => {
            let (zh_name, en_name) = field_name(field);
            if zh { format!("请检查{zh_name}") } else { format!("Please check the {en_name}") }
        }
        Problem::NotFound { resource } => {
            let (zh_name, en_name) = resource_name(resource);
            if zh { format!("找不到{zh_name}") } else { format!("That {en_name} was not found") }
        }
        Problem::MethodNotAllowed { .. } => say("此操作不受支持", "That action is not supported"),
        Problem::Unauthenticated => say("请先登录", "Please sign in first"),
        Problem::NoCode => say("请先获取验证码", "Ask for a code first"),
        Problem::WrongCode { attempts_left } => {
            if zh {
                format!("验证码不正确，还可再试 {attempts_left} 次")
            } else {
                format!("Wrong code; {attempts_left} tries left")
            }
        }
        Problem::CodeExpired => say("验证码已过期，请重新获取", "The code has expired; ask for a new one"),
        Problem::TooManyAttempts { .. } => {
            let minutes = tandem_domain::auth::GUESS_WINDOW_MINUTES;
            if zh {
                format!("尝试次数过多，请 {minutes} 分钟后再试")
            } else {
                format!("Too many tries; wait {minutes} min and try again")
            }
        }
        Problem::CodeUsed => say("验证码已使用，请重新获取", "The code was used already; ask for a new one"),
        Problem::BadCode => say("验证码是 6 位数字", "The code is 6 digits"),
        Problem::DeviceKeyRequired => say("设备密钥缺失或已失效", "The device key is missing or revoked"),
        Problem::OwnerOnly => say("只有店主可以这样做", "Only the store's owner can do that"),
        Problem::ManagerOnly => say("只有店主或店长可以这样做", "Only the store's owner or manager can do that"),
        Problem::PayloadTooLarge { max_bytes } => {
            let kb = max_bytes / 1024;
            if zh { format!("内容太大，最多 {kb} KB") } else { format!("That is too large: at most {kb} KB") }
        }
        Problem::UnsupportedMedia => {
            say("只支持 PNG、JPEG、WebP 图片或 GLB 模型", "Only PNG, JPEG or WebP pictures and GLB models")
        }
        Problem::RateLimited { retry_after_s } => {
            let minutes = (retry_after_s + 59) / 60;
            if zh {
                format!("操作太频繁，请 {minutes} 分钟后再试")
            } else {
                format!("Too many requests; try again in {minutes} min")
            }
        }
        Problem::OutOfStock { sku_id, fulfilment, available, .. } => {
            let (zh_way, en_way) = fulfilment_name(fulfilment);
            if *available > 0 {
                if zh {
                    format!("库存不足：{sku_id}（{zh_way}）仅剩 {available} 件")
                } else {
                    format!("Not enough stock: only {available} of {sku_id} left for {en_way}")
                }
            } else if zh {
                format!("{sku_id}（{zh_way}）已售罄")
            } else {
                format!("{sku_id} is sold out for {en_way}")
            }
        }
        Problem::CheckoutClosed => say("该订单已支付或已取消", "That checkout was paid or cancelled"),
        Problem::HoldExpired => say(
            "支付时间已过，商品已释放，请重新下单",
            "The time to pay ran out and the goods were released; order again",
        ),
        Problem::IllegalTransition => {
            say("订单状态已变化，请刷新后重试", "The order changed meanwhile; refresh and try again")
        }
        Problem::OrderNotCancellable => {
            say("订单已支付，无法取消，可申请退款", "A paid order cannot be cancelled; ask for a refund instead")
        }
        Problem::RefundNotAllowed => {
            say("该订单现在不能退款，或已有退款在处理中", "This order cannot be refunded now, or a refund is open")
        }
        Problem::NoOpenRefund => say("没有待处理的退款申请", "No refund is waiting for a decision"),
        Problem::AlreadyDecided => say("已经处理过了", "That was decided already"),
        Problem::StockHeld => {
            say("有未支付订单占用着这些库存，不能改得更少", "Unpaid checkouts hold more units than that")
        }
        Problem::IdTaken => say("该编号已被使用", "That id is taken"),
        Problem::StoreSuspended => say("该门店已暂停营业", "The store is suspended"),
        Problem::SupplierSuspended => say("该供应商已暂停", "The supplier is suspended"),
        Problem::TooManyMedia => say("图片数量已达上限", "The product has as many pictures as it may"),
        Problem::LastImage => say(
            "这是商品的最后一张图片，货架要用它，不能删除",
            "This is the product's last picture; the shelf shows it",
        ),
        Problem::InsufficientBalance => say("可提现余额不足", "Not enough available"),
        Problem::NotADraft => say("只有草稿可以发布", "Only a draft can be published"),
        Problem::StaleRules => {
            say("规则已被他人修改，请刷新后再保存", "The rules changed meanwhile; refresh before saving")
        }
        Problem::ConsentRequired => say("需要先同意记录浏览偏好", "Agree to be remembered first"),
        Problem::Busy => say("当前人数较多，请稍后重试", "Busy right now; please try again"),
        Problem::BadSignature => say("支付通知校验失败", "The payment notification did not verify"),
        Problem::AmountMismatch => say("支付金额与订单金额不符", "The amount paid is not the order's amount"),
        Problem::IdempotencyKeyReused => {
            say("请求已变化，请刷新后重新提交", "The request changed; refresh and submit again")
        }
        Problem::PriceRefused => say(
            "价格不在供应商的价格区间内，或低于分销佣金所需的毛利",
            "The price is outside the supplier's band or leaves less than the distribution cap",
        ),
        Problem::UnacknowledgedFindings => {
            say("请逐条确认合规提示后再发布", "Acknowledge each compliance finding before publishing")
        }
        Problem::Internal => say("服务出错了，请稍后重试", "Something went wrong on our side; try again shortly"),
        Problem::Unknown => say("操作未成功，请重试", "That did not work; please retry"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(problem: Problem) -> ApiFailure {
        ApiFailure::local(problem)
    }

    /// Every refusal reads as itself: no two problems share a message, none is the fallback for
    /// tags this build does not know, and each names what the API named.
    #[test]
    fn each_problem_has_its_own_message_in_both_languages() {
        let problems = Problem::samples();
        let fallback = describe(Language::Zh, &api(Problem::Unknown));
        let mut seen = std::collections::BTreeSet::new();
        for problem in problems {
            let zh = describe(Language::Zh, &api(problem.clone()));
            let en = describe(Language::En, &api(problem.clone()));
            assert_ne!(zh, fallback, "{problem:?}");
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{problem:?}: {zh}");
            assert!(en.is_ascii(), "{problem:?}: {en}");
            assert!(seen.insert(zh.clone()), "{problem:?} shares its message: {zh}");
        }
        let short = describe(
            Language::Zh,
            &api(Problem::OutOfStock {
                sku_id: "p-0101-01".into(),
                fulfilment: "pickup".into(),
                available: 2,
                requested: 3,
            }),
        );
        assert!(short.contains("p-0101-01") && short.contains('2'), "{short}");
        assert_eq!(describe(Language::Zh, &api(Problem::BadRequest { field: "address.phone".into() })), "请检查手机号");
        assert!(describe(Language::En, &api(Problem::WrongCode { attempts_left: 3 })).contains('3'));
        assert!(describe(Language::Zh, &ApiFailure::Network).contains("网络"));
    }
}
