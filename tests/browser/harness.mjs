// What every browser test file shares: headless Chromium at a phone's size (390 × 844), named
// steps that report and continue, screenshots in SCREENSHOT_DIR (target/screenshots), and the
// exit status. The Worker is the one `cargo xtask test` started, at TANDEM_BASE_URL.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

export const base = process.env.TANDEM_BASE_URL;
const shots = process.env.SCREENSHOT_DIR ?? "target/screenshots";
assert.ok(base, "TANDEM_BASE_URL is not set: run with `cargo xtask test`");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const failures = [];
let passed = 0;

export async function step(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failures.push(name);
    console.log(`not ok - ${name}\n${error.stack ?? error}`);
  }
}

/// A fresh phone. The storefront asks once whether it may personalise; unless a test wants to
/// see that question (`{ consent: null }`), the phone has already said "not now".
export async function phone({ consent = "no" } = {}) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
  });
  if (consent !== null) {
    await context.addInitScript((answer) => {
      if (!localStorage.getItem("tandem.consent")) localStorage.setItem("tandem.consent", answer);
    }, consent);
  }
  const page = await context.newPage();
  page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
  return { context, page };
}

export const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });

export const noSideways = async (page) => {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page is ${width}px wide, wider than the 390px screen`);
};

/// Signs in on the sign-in page the app sent us to, reading the code from the dev outbox.
export async function signIn(page, number) {
  await page.locator('[data-test="phone"]').fill(number);
  await page.locator('[data-test="send-code"]').click();
  await page.locator('[data-test="signin-message"]').waitFor();
  const code = await page.evaluate(async (p) => (await (await fetch(`/api/dev/otp?phone=${p}`)).json()).code, number);
  await page.locator('[data-test="code"]').fill(code);
  await page.locator('[data-test="sign-in"]').click();
}

export async function finish() {
  await browser.close();
  console.log(`${passed} passed, ${failures.length} failed`);
  if (failures.length > 0) {
    console.log(`failed: ${failures.join("; ")}`);
    process.exit(1);
  }
}
