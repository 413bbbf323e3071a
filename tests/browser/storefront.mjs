// The storefront in real headless Chromium at a phone's size (390 × 844), against the Worker
// that `cargo xtask test` started. Screenshots go to SCREENSHOT_DIR (target/screenshots).
import assert from "node:assert/strict";
import { base, finish, noSideways, phone, shot, step } from "./harness.mjs";

await step("a shopper browses a store's shelf, searches, picks a variant and switches language", async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/?store=s-jingan`);
  await page.locator(".card").first().waitFor();
  assert.equal(await page.locator(".sk-card").count(), 0, "the skeleton is gone once the app runs");
  await page.locator(".top-bar .title", { hasText: "静安寺店" }).waitFor();
  await noSideways(page);
  await shot(page, "1-shelf");

  await page.locator('.tab[data-category="snacks"]').click();
  await page.locator('.tab.active[data-category="snacks"]').waitFor();
  await page.waitForFunction(() => {
    const names = [...document.querySelectorAll(".card .name")].map((n) => n.textContent);
    return names.length > 0 && names.every((n) => !n.includes("T恤"));
  });
  assert.ok(await page.locator(".card", { hasText: "手撕牛肉干" }).count() === 1);
  await shot(page, "2-category");

  await page.locator('.search input[type="search"]').fill("牛肉");
  await page.locator(".search button").click();
  await page.waitForFunction(() => document.querySelectorAll(".card").length === 1);
  assert.match(page.url(), /q=%E7%89%9B%E8%82%89/);
  await shot(page, "3-search");

  await page.locator(".card a").first().click();
  const name = page.locator('[data-test="product-name"]');
  await name.waitFor();
  assert.equal(await name.textContent(), "手撕牛肉干");
  const price = page.locator('[data-test="product-price"]');
  assert.equal((await price.textContent()).trim(), "¥69.00");
  await page.locator('[data-test="sizes"] .chip', { hasText: "500g" }).click();
  await page.locator('[data-test="colours"] .chip', { hasText: "香辣" }).click();
  await page.locator('[data-test="sizes"] .chip.active', { hasText: "500g" }).waitFor();
  assert.equal((await price.textContent()).trim(), "¥110.00");
  const availability = await page.locator('[data-test="availability"]').textContent();
  assert.match(availability, /到店自提/);
  assert.match(availability, /快递到家/);
  await noSideways(page);
  await shot(page, "4-product-zh");

  await page.locator('[data-test="lang-switch"]').click();
  await page.locator('[data-test="product-name"]', { hasText: "Hand-torn beef jerky" }).waitFor();
  assert.equal((await price.textContent()).trim(), "¥110.00");
  assert.match(await page.locator('[data-test="availability"]').textContent(), /Home delivery/);
  await shot(page, "5-product-en");

  // The choice is remembered on the next visit.
  await page.goto(`${base}/?store=s-jingan`);
  await page.locator(".top-bar .title", { hasText: "Jing'an Temple store" }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
  await context.close();
});

await step("more products load page after page", async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/?store=s-jingan`);
  await page.locator(".card").first().waitFor();
  const first = await page.locator(".card").count();
  await page.locator(".load-more").click();
  await page.waitForFunction((n) => document.querySelectorAll(".card").length > n, first);
  await context.close();
});

await step("without a store the shopper picks one", async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/`);
  await page.locator('.store-card[data-store="s-chunxi"]').click();
  await page.locator(".top-bar .title", { hasText: "春熙路店" }).waitFor();
  await page.locator(".card").first().waitFor();
  await shot(page, "6-store-picker-result");
  await context.close();
});

await step("API errors show as messages, not blank screens", async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/?store=s-nowhere`);
  await page.locator('.notice.error[data-error="not_found"]').waitFor();
  await page.goto(`${base}/p/p-9999?store=s-jingan`);
  await page.locator('.notice.error[data-error="not_found"]').waitFor();
  assert.match(await page.locator(".notice.error").textContent(), /找不到/);
  await shot(page, "7-error");
  await context.close();
});

await step("a product with a 3D model shows it in the gallery", async () => {
  const { context, page } = await phone();
  await page.goto(`${base}/p/p-0501?store=s-jingan`);
  await page.locator('.thumb[data-kind="model"]').click();
  await page.locator("model-viewer").waitFor();
  await page.waitForFunction(() => customElements.get("model-viewer") !== undefined, null, { timeout: 20000 });
  await shot(page, "8-model");
  await context.close();
});

await finish();
