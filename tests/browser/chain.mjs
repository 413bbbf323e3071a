// The distribution network in the browser: a sharer opens the sharer centre and its invite
// link; a shopper opens the link, signs in and buys the designated product; the sharer's centre
// then shows the new team member and the pending reward. The operator's network console shows
// the rules with their compliance findings.
import assert from "node:assert/strict";
import { base, finish, noSideways, phone, shot, signIn, step } from "./harness.mjs";

const run = String(process.pid % 10000).padStart(4, "0");
const sharerPhone = `1350${run}001`;
const shopperPhone = `1350${run}002`;

/// Buys the designated gift set for pickup at s-jingan, signing in as `number` when asked.
async function buyGift(page, number) {
  await page.goto(`${base}/p/p-0208?store=s-jingan`);
  await page.locator('[data-test="add-pickup"]:not([disabled])').click();
  await page.locator('[data-test="added"]').waitFor();
  await page.locator('[data-test="go-to-cart"]').click();
  await page.locator('[data-test="cart-lines"] .line').first().waitFor();
  await page.locator('[data-test="place-order"]').click();
  await page.waitForURL(/\/(signin\?next=|pay\/)/);
  if (page.url().includes("/signin")) {
    await signIn(page, number);
    await page.waitForURL(/\/cart$/);
    await page.locator('[data-test="cart-lines"] .line').first().waitFor();
    await page.locator('[data-test="place-order"]').click();
    await page.waitForURL(/\/pay\//);
  }
  assert.equal((await page.locator('[data-test="pay-amount"]').textContent()).trim(), "¥119.00");
  await page.locator('[data-test="confirm-payment"]').click();
  await page.waitForURL(/\/orders$/);
  await page.locator('.order-card[data-state="ready_for_pickup"]').waitFor();
}

const sharer = await phone();
let inviteLink = null;

await step("a sharer becomes an agent and finds its invite link and poster", async () => {
  const { page } = sharer;
  await page.goto(`${base}/share?store=s-jingan`);
  await page.waitForURL(/\/signin\?next=/);
  await signIn(page, sharerPhone);
  await page.waitForURL(/\/share/);
  assert.equal((await page.locator('[data-test="identity"]').textContent()).trim(), "会员");
  await buyGift(page, sharerPhone);
  await page.goto(`${base}/share?store=s-jingan`);
  inviteLink = (await page.locator('[data-test="invite-link"]').textContent()).trim();
  assert.match(inviteLink, /\/i\/[0-9a-z]{8}$/);
  assert.equal((await page.locator('[data-test="identity"]').textContent()).trim(), "代理");
  await page.waitForFunction(() => {
    const poster = document.querySelector('[data-test="poster"]');
    return poster && poster.complete && poster.naturalWidth > 0;
  });
  await noSideways(page);
  await shot(page, "30-sharer-centre");
});

await step("a shopper opens the invite link, signs in and buys the designated product", async () => {
  assert.ok(inviteLink, "the sharer's step gave a link");
  const { context, page } = await phone();
  await page.goto(inviteLink);
  await page.waitForURL((url) => url.pathname === "/");
  await buyGift(page, shopperPhone);
  // Bought the designated product: the shopper is an agent now.
  await page.goto(`${base}/share`);
  await page.locator('[data-test="identity"]').waitFor();
  assert.equal((await page.locator('[data-test="identity"]').textContent()).trim(), "代理");
  await context.close();
});

await step("the sharer's centre shows the new team member and the pending reward", async () => {
  const { page } = sharer;
  await page.reload();
  const member = page.locator('[data-test="team"] .team-node');
  await member.first().waitFor();
  assert.equal(await member.count(), 1);
  assert.equal(await member.first().getAttribute("data-identity"), "agent");
  assert.match(await member.first().locator(".node-name").textContent(), /^\+86 135\*{4}\d{4}$/);
  const reward = page.locator('[data-test="rewards"] li[data-state="pending"]');
  await reward.first().waitFor();
  // An agent's direct reward under the chain21 preset: 10 % of ¥119.
  assert.equal((await reward.first().locator(".price").textContent()).trim(), "¥11.90");
  assert.equal((await page.locator('[data-test="pending"]').textContent()).trim(), "¥11.90");
  await noSideways(page);
  await shot(page, "31-sharer-team-and-reward");
  await sharer.context.close();
});

await step("the operator sees the rules with their compliance findings", async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/console/operator/network`);
  await page.waitForURL(/\/signin\?next=/);
  await signIn(page, "13900000000");
  await page.waitForURL(/\/console\/operator\/network/);
  await page.locator('[data-test="findings"] li').first().waitFor();
  assert.ok((await page.locator('[data-test="findings"] li').count()) >= 1);
  assert.match(await page.locator('[data-test="rules-text"]').inputValue(), /total_bp = 3500/);
  await noSideways(page);
  await shot(page, "32-operator-rules");
  await context.close();
});

await finish();
