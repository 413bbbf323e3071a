// The business card's memory in the browser: a shopper is asked before anything is recorded,
// agrees, views baby goods and sees "for you" turn to baby goods with the reason; on "My
// preferences" they see the tag, delete it, and switch personalisation off, after which the
// storefront shows what everyone sees. All at 390 px.
import assert from "node:assert/strict";
import { base, finish, noSideways, phone, shot, signIn, step } from "./harness.mjs";

const { page } = await phone({ consent: null });
const picks = page.locator('section.picks[data-placement="for_you"]');
const pickIds = async () => picks.locator("li.pick").evaluateAll((items) => items.map((i) => i.dataset.product));
let before = [];

await step("the storefront asks before recording anything, and the shopper agrees", async () => {
  await page.goto(`${base}/?store=s-jingan`);
  await page.locator('[data-test="consent"]').waitFor();
  await shot(page, "40-consent");
  await noSideways(page);
  await page.locator('[data-test="consent-yes"]').click();
  await page.locator('[data-test="consent"]').waitFor({ state: "detached" });
  const visitor = await page.evaluate(() => localStorage.getItem("tandem.visitor"));
  assert.match(visitor ?? "", /^v-[0-9a-f]{16}$/);
  await picks.waitFor();
  before = await pickIds();
  assert.ok(before.length >= 3, `for you shows ${before.length} items`);
});

await step("after viewing baby goods, for you shows baby goods with the reason", async () => {
  await page.locator('a.tab[data-category="baby"]').click();
  await page.waitForURL(/category=baby/);
  await page.locator(".list-end .loading").waitFor({ state: "detached" });
  await page.locator("ul.grid li.card").first().waitFor();
  const babyProducts = await page.locator("ul.grid li.card a").evaluateAll((links) => links.map((a) => a.dataset.product));
  assert.ok(babyProducts.length >= 2, "the baby tab lists products");
  // Four looks make an interest the profile shows as a tag (one look is not one).
  for (const product of [...babyProducts.slice(0, 2), ...babyProducts.slice(0, 2)]) {
    await page.goto(`${base}/p/${product}?store=s-jingan`);
    await page.locator('[data-test="availability"]').waitFor();
  }
  await page.goto(`${base}/?store=s-jingan`);
  await picks.waitFor();
  await page.waitForFunction(() => document.querySelectorAll('section.picks[data-placement="for_you"] li.pick[data-category="baby"]').length >= 2);
  const after = await pickIds();
  assert.notDeepEqual(after, before, "for you changed");
  const why = await picks.locator('li.pick[data-category="baby"] .why').allTextContents();
  assert.ok(why.some((w) => w.includes("母婴") || w.includes("看过")), `reasons: ${why.join(" | ")}`);
  assert.equal(await picks.getAttribute("data-personalised"), "true");
  await shot(page, "41-for-you");
  await noSideways(page);
});

await step("my preferences show the tag, delete it, and switch personalisation off", async () => {
  await page.locator('[data-test="preferences-link"]').click();
  await page.locator('[data-test="tags"]').waitFor();
  await shot(page, "42-preferences");
  await noSideways(page);
  const baby = page.locator('[data-tag="category:baby"]');
  await baby.waitFor();
  await baby.locator("button.remove").click();
  await page.locator('[data-test="note"]').waitFor();
  await baby.waitFor({ state: "detached" });
  await page.locator('[data-test="personalise-toggle"]').click();
  await page.waitForFunction(() => document.querySelector('[data-test="note"]')?.textContent.includes("关闭"));
  await page.goto(`${base}/?store=s-jingan`);
  await picks.waitFor();
  assert.equal(await picks.getAttribute("data-personalised"), "false");
});

await step("a clerk's notes become a follow-up message with the products and the next date", async () => {
  const { page: desk } = await phone();
  await desk.goto(`${base}/console/store/s-jingan`);
  await desk.waitForURL(/\/signin/);
  await signIn(desk, "13900000002");
  await desk.locator('[data-test="follow-up"]').waitFor();
  await desk.locator('[data-test="customer-name"]').fill("王女士");
  await desk.locator('[data-test="note"]').fill("王女士试了羽绒服，很喜欢，但觉得有点贵，说下个月发工资再来。");
  await desk.locator('[data-test="analyse"]').click();
  await desk.locator('[data-test="analysis"]').waitFor();
  assert.match(await desk.locator('[data-test="mentions"]').textContent(), /羽绒服/);
  assert.match(await desk.locator('[data-test="objections"]').textContent(), /价格/);
  assert.match(await desk.locator('[data-test="draft"]').textContent(), /^王女士您好/);
  await desk.locator('[data-test="follow-up"]').scrollIntoViewIfNeeded();
  await shot(desk, "43-follow-up");
  await noSideways(desk);
});

await finish();
