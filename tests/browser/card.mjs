// The AI business card in the browser, at 390 px: a clerk fills in their card; a shopper scans
// the clerk's card link, agrees to be remembered, browses the shelf, views baby goods and sees
// "for you" change and a mother-and-baby offer appear; the clerk's radar shows the visit; the
// store's door code checks the shopper in; the manager previews the segment promotions.
import assert from "node:assert/strict";
import { base, finish, noSideways, phone, shot, signIn, step } from "./harness.mjs";

const clerkPhone = "13900000002";
const { page: clerk } = await phone();
let cardLink = null;

await step("a clerk fills in their card and finds its link", async () => {
  await clerk.goto(`${base}/me/card`);
  await clerk.waitForURL(/\/signin/);
  await signIn(clerk, clerkPhone);
  await clerk.waitForURL(/\/me\/card/);
  await clerk.locator('[data-test="my-card"]').waitFor();
  await clerk.locator('[data-test="card-title"]').fill("搭配顾问");
  await clerk.locator('[data-test="card-bio"]').fill("静安寺店的穿搭与母婴顾问，欢迎来店<b>试穿</b>。");
  await clerk.locator('[data-test="card-add-product"]').fill(`${base}/p/p-0301?store=s-jingan`);
  await clerk.locator('.featured-ids + .row button').click();
  await clerk.locator('[data-test="card-save"]').click();
  await clerk.locator('[data-test="card-saved"]').waitFor();
  cardLink = await clerk.locator('[data-test="my-card-link"]').getAttribute("href");
  assert.match(cardLink, /^\/c\/[0-9a-z]{8}$/);
  await shot(clerk, "50-my-card");
  await noSideways(clerk);
});

const { page: shopper } = await phone({ consent: null });
const picks = shopper.locator('section.picks[data-placement="for_you"]');
const pickIds = async () => picks.locator("li.pick").evaluateAll((items) => items.map((i) => i.dataset.product));

await step("a shopper scans the clerk's card, agrees, and browses the store's shelf", async () => {
  assert.ok(cardLink, "the clerk's step gave a link");
  await shopper.goto(`${base}${cardLink}`);
  await shopper.locator('[data-test="card"]').waitFor();
  assert.equal((await shopper.locator('[data-test="card-role"]').textContent()).includes("搭配顾问"), true);
  assert.match(await shopper.locator('[data-test="card-store"]').textContent(), /静安/);
  assert.equal(await shopper.locator('.featured li.pick[data-product="p-0301"]').count(), 1);
  // What the clerk typed is shown as text, never as markup.
  assert.ok((await shopper.locator(".biz-card .bio").textContent()).includes("<b>试穿</b>"));
  assert.equal(await shopper.locator(".biz-card .bio b").count(), 0);
  assert.match(await shopper.locator('[data-test="card-vcard"]').getAttribute("href"), /\/vcard$/);
  await shot(shopper, "51-card");
  await noSideways(shopper);
  await shopper.locator('[data-test="consent-yes"]').click();
  await shopper.locator('[data-test="consent"]').waitFor({ state: "detached" });
  await shopper.locator('[data-test="card-shelf"]').click();
  await shopper.waitForURL(/\?store=s-jingan/);
  await picks.waitFor();
});

await step("after viewing baby goods, for you changes and a mother-and-baby offer appears", async () => {
  const before = await pickIds();
  await shopper.locator('a.tab[data-category="baby"]').click();
  await shopper.waitForURL(/category=baby/);
  await shopper.locator("ul.grid li.card").first().waitFor();
  const baby = await shopper.locator("ul.grid li.card a").evaluateAll((links) => links.map((a) => a.dataset.product));
  for (const product of [...baby.slice(0, 2), ...baby.slice(0, 2), baby[0]]) {
    await shopper.goto(`${base}/p/${product}?store=s-jingan`);
    await shopper.locator('[data-test="availability"]').waitFor();
  }
  await shopper.goto(`${base}/?store=s-jingan`);
  await picks.waitFor();
  await shopper.waitForFunction(() => document.querySelectorAll('section.picks[data-placement="for_you"] li.pick[data-category="baby"]').length >= 2);
  assert.notDeepEqual(await pickIds(), before, "for you changed");
  const offer = shopper.locator('[data-test="offer"]');
  await offer.waitFor();
  assert.equal(await offer.getAttribute("data-rule"), "mother_baby");
  assert.match(await offer.textContent(), /奶粉券/);
  await shot(shopper, "52-for-you-offer");
  await noSideways(shopper);
});

await step("the clerk's radar shows the visitor with an interest score and its reason", async () => {
  await clerk.reload();
  const entries = clerk.locator('[data-test="radar"] .radar-entry');
  await entries.first().waitFor();
  const reasons = await clerk.locator('[data-test="radar"] .radar-entry .why').allTextContents();
  assert.ok(reasons.some((r) => r.includes("打开名片")), reasons.join(" | "));
  await clerk.locator('[data-test="customers"] .radar-entry').first().waitFor();
  await shot(clerk, "53-radar");
  await noSideways(clerk);
});

await step("the store's door code checks the shopper in; the manager previews promotions", async () => {
  const { page: owner } = await phone();
  await owner.goto(`${base}/console/store/s-jingan`);
  await owner.waitForURL(/\/signin/);
  await signIn(owner, "13900000001");
  const door = owner.locator('[data-test="door-link"]');
  await door.waitFor();
  const doorUrl = await door.getAttribute("href");
  assert.match(doorUrl, /\/c\/[0-9a-z]{10}\?door=1$/);
  await shopper.goto(doorUrl);
  await shopper.locator('[data-test="checked-in"]').waitFor();

  const panel = owner.locator('[data-test="promotions"]');
  await panel.locator('li.rule[data-rule="mother_baby"]').waitFor();
  await panel.locator('[data-test="promotions-preview"]').click();
  await panel.locator('[data-test="promotions-note"][data-done="previewed"]').waitFor();
  const reach = await panel.locator('.reach li[data-rule="mother_baby"]').getAttribute("data-reach");
  assert.ok(Number(reach) >= 1, `mother_baby reaches ${reach}`);
  await panel.scrollIntoViewIfNeeded();
  await shot(owner, "54-promotions");
  await noSideways(owner);
});

await step("the shopper signs in and their visitor history comes along; the clerk records a try-on", async () => {
  const shopperPhone = `13${String(Date.now() % 1e9).padStart(9, "0")}`;
  await shopper.goto(`${base}/signin?next=/me`);
  await signIn(shopper, shopperPhone);
  await shopper.waitForURL(/\/me$/);
  await shopper.locator('[data-tag="category:baby"]').waitFor();
  await clerk.goto(`${base}/console/store/s-jingan`);
  const panel = clerk.locator('[data-test="in-store"]');
  await panel.waitFor();
  await panel.locator('[data-test="in-store-customer"]').fill(shopperPhone);
  await panel.locator('[data-test="in-store-kind"]').selectOption("try_on");
  await panel.locator('[data-test="in-store-product"]').fill("p-0102");
  await panel.locator('[data-test="in-store-record"]').click();
  await panel.locator('[data-test="in-store-note"].ok').waitFor();
  await panel.scrollIntoViewIfNeeded();
  await shot(clerk, "55-in-store");
  await noSideways(clerk);
  await shopper.goto(`${base}/p/p-0301?store=s-jingan`);
  await shopper.locator('section.picks[data-placement="tried_on"] li.pick[data-product="p-0102"]').waitFor();
});

await finish();
