// The Chromium engine for tests/ui/browser.cjs: Debian's chromium driven by playwright-core.
// What it observes on its own, outside the page:
// - requests: every request the page starts (playwright's `request` event; the page's own file://
//   load aside), less those Chromium refused before sending them because the page's CSP forbids them
//   (they still fire `request`, then fail with errorText "csp"); one still pending counts as sent;
// - errors: every console error (a Content-Security-Policy violation is one, from the page's load on)
//   and every uncaught exception;
// - the bridge: an exposed function stands in for Android's KmerConsentBridge.postMessage, installed
//   before the page's script runs, so the page takes its Android branch;
// - colour scheme: playwright's emulation of prefers-color-scheme, per page;
// - keyboard and clicks: real input events through the DevTools protocol.
'use strict';

const path = require('path');

const { find } = require('./find.cjs');
const { chromium } = require(path.join(process.env.PLAYWRIGHT_MODULES, 'playwright-core'));

/** The engine: `start()`, then `open(file, options)` per page, then `stop()`. */
function chromiumEngine() {
  let browser;
  return {
    name: 'chromium',
    async start() {
      browser = await chromium.launch({
        executablePath: process.env.KMER_CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-default-apps',
          '--disable-sync',
          '--no-first-run',
          '--metrics-recording-only',
          '--disable-features=Translate,MediaRouter,OptimizationHints',
        ],
      });
    },
    async stop() {
      if (browser) await browser.close();
    },
    /** Opens a page file with the bridge stand-in; collects messages, errors and outside requests. */
    async open(file, { width = 360, height = 740, colorScheme = 'light' } = {}) {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme });
      const page = await context.newPage();
      const messages = [];
      const errors = [];
      const requests = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      const blocked = new Set();
      const settled = new Set();
      page.on('request', (r) => r.url().startsWith('file://') || requests.push(r));
      page.on('requestfinished', (r) => settled.add(r));
      page.on('requestfailed', (r) => {
        settled.add(r);
        if (r.failure() && r.failure().errorText === 'csp') blocked.add(r);
      });
      await page.exposeFunction('__kmerBridge', (json) => messages.push(json));
      await page.addInitScript(() => {
        window.KmerConsentBridge = { postMessage: (json) => window.__kmerBridge(json) };
      });
      await page.goto(`file://${file}`);
      const locate = (role, name) => page.getByRole(role, { name, exact: true });
      const keys = { Tab: 'Tab', Enter: 'Enter', Space: 'Space', Escape: 'Escape' };
      return {
        /** `fn(arg, find)` in the page, `find` being the shared lookup (a string expression is
         * evaluated through the DevTools protocol, which the page's CSP does not stop). */
        evaluate: (fn, arg) =>
          page.evaluate(`(${fn})(${JSON.stringify(arg === undefined ? null : arg)}, ${find})`),
        /** Runs a script's source in the page (axe-core): the same channel as `evaluate`. */
        inject: (source) => page.evaluate(source),
        click: (role, name) => locate(role, name).click(),
        check: (role, name) => locate(role, name).check(),
        isChecked: (role, name) => locate(role, name).isChecked(),
        press: (key) => page.keyboard.press(keys[key]),
        /** Every message posted so far. */
        messages: async () => messages.slice(),
        wait: (ms) => page.waitForTimeout(ms),
        errors: async () => errors.slice(),
        async requests() {
          for (let i = 0; i < 50 && requests.some((r) => !settled.has(r)); i++) await page.waitForTimeout(20);
          return requests.filter((r) => !blocked.has(r)).map((r) => r.url());
        },
        screenshot: (file) => page.screenshot({ path: file, fullPage: true }),
        close: () => context.close(),
      };
    },
  };
}

module.exports = { chromiumEngine };
