// The consent page in Chromium (Debian's, driven by playwright-core): every path from click to the
// recorded decision, keyboard-only use, a 320 px screen with large text, colour contrast in light and
// dark mode, the Content-Security-Policy, and the screenshots in docs/screenshots/.
// The page comes from `kmer-consent ui`; the message it posts through the bridge (stood in for by an
// exposed function named like Android's, KmerConsentBridge.postMessage) goes to
// `kmer-consent apply-ui-message`, and `kmer-consent status --json` / `history --json` say what was
// recorded. Run by tests/ui/run.sh; ends with "ui: N passed, N failed".
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { chromium } = require(path.join(process.env.PLAYWRIGHT_MODULES, 'playwright-core'));

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'target/debug/kmer-consent');
const policyFile = path.join(root, 'policies/kmeroccase.json');
const policy = JSON.parse(fs.readFileSync(policyFile, 'utf8'));
const shots = path.join(root, 'target/ui-screenshots');

let passed = 0;
let failed = 0;
async function test(name, body) {
  try {
    await body();
    passed++;
    console.log(`test ${name} ... ok`);
  } catch (e) {
    failed++;
    console.log(`test ${name} ... FAILED\n  ${(e && e.stack) || e}`);
  }
}
/** Work that is not a test: counted only if it fails. */
async function step(name, body) {
  try {
    await body();
    console.log(`${name}: done`);
  } catch (e) {
    failed++;
    console.log(`${name} ... FAILED\n  ${(e && e.stack) || e}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}
function equal(actual, expected, message) {
  const [a, b] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== b) throw new Error(`${message}: expected ${b}, got ${a}`);
}

/** A fresh store in its own temporary directory, driven through the CLI. */
function store() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmer-ui-'));
  const db = path.join(dir, 'consent.db');
  const run = (...args) =>
    execFileSync(cli, ['--db', db, '--policy', policyFile, ...args], { encoding: 'utf8', stdio: 'pipe' });
  return {
    page(lang, layer = 'banner') {
      const file = path.join(dir, `consent-${lang}-${layer}.html`);
      fs.writeFileSync(file, run('ui', '--lang', lang, '--layer', layer));
      return file;
    },
    /** Applies a bridge message; returns the CLI's exit code (0 recorded or closed, 1 refused). */
    apply(message) {
      try {
        run('apply-ui-message', message);
        return 0;
      } catch (e) {
        return e.status;
      }
    },
    status: () => JSON.parse(run('status', '--json')),
    history: () => JSON.parse(run('history', '--json')),
  };
}

const texts = (lang) => policy.texts[lang];
let browser;

/** Opens a page file with the bridge stand-in; collects messages, errors and outside requests. */
async function open(file, { width = 360, height = 740, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  const messages = [];
  const errors = [];
  const requests = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => r.url().startsWith('file://') || requests.push(r.url()));
  await page.exposeFunction('__kmerBridge', (json) => messages.push(json));
  await page.addInitScript(() => {
    window.KmerConsentBridge = { postMessage: (json) => window.__kmerBridge(json) };
  });
  await page.goto(`file://${file}`);
  return {
    page,
    errors,
    requests,
    /** The one message the page posted, waited for. */
    async message() {
      for (let i = 0; i < 100 && messages.length === 0; i++) await page.waitForTimeout(20);
      equal(messages.length, 1, 'messages posted');
      return messages[0];
    },
    close: () => context.close(),
  };
}

const button = (page, name) => page.getByRole('button', { name, exact: true });

/** Shows one layer with every SDK list open: the widest and longest the page gets. */
const showExpanded = (page, layer) =>
  page.evaluate((id) => {
    document.querySelectorAll('.layer').forEach((l) => (l.hidden = l.id !== id));
    document.querySelectorAll('details').forEach((d) => (d.open = true));
  }, layer);
const granted = (status) =>
  ['statistics', 'personalization', 'marketing'].filter((c) => status.categories[c]);

/** One user path: open the page, act, apply the message, check exactly one decision was recorded. */
async function path_(lang, layer, act, expected) {
  const s = store();
  const ui = await open(s.page(lang, layer));
  await act(ui.page);
  const message = await ui.message();
  equal(s.apply(message), 0, `apply ${message}`);
  const history = s.history();
  if (expected.source === null) {
    equal(history.length, 0, 'nothing recorded');
  } else {
    equal(history.length, 1, 'one decision recorded');
    equal(history[0].source, expected.source, 'source');
    equal(history[0].locale, lang, 'the language shown is recorded');
    equal(granted(s.status()), expected.granted, 'granted categories');
  }
  equal(ui.errors, [], 'no console errors (a CSP violation would be one)');
  equal(ui.requests, [], 'no request leaves the page');
  await ui.close();
  return message;
}

async function main() {
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
  fs.mkdirSync(shots, { recursive: true });

  for (const lang of ['fr', 'en']) {
    const t = texts(lang);
    await test(`${lang}: accept all records banner_accept_all`, () =>
      path_(lang, 'banner', (p) => button(p, t.accept_all).click(), {
        source: 'banner_accept_all',
        granted: ['statistics', 'personalization', 'marketing'],
      }));
    await test(`${lang}: reject all records banner_reject_all`, () =>
      path_(lang, 'banner', (p) => button(p, t.reject_all).click(), { source: 'banner_reject_all', granted: [] }));
    await test(`${lang}: closing the banner records banner_dismiss, a refusal`, () =>
      path_(lang, 'banner', (p) => button(p, t.close).click(), { source: 'banner_dismiss', granted: [] }));
    await test(`${lang}: customize, statistics on, save records settings_save`, () =>
      path_(
        lang,
        'banner',
        async (p) => {
          await button(p, t.customize).click();
          const statistics = p.getByRole('switch', { name: policy.categories.statistics.title[lang] });
          equal(await statistics.isChecked(), false, 'toggles start off');
          await statistics.check();
          await button(p, t.save).click();
        },
        { source: 'settings_save', granted: ['statistics'] },
      ));
    await test(`${lang}: the preferences alone, closed, record nothing`, () =>
      path_(lang, 'preferences', (p) => p.keyboard.press('Escape'), { source: null }));
  }

  await test('en: the preferences alone save marketing only', () =>
    path_(
      'en',
      'preferences',
      async (p) => {
        await p.getByRole('switch', { name: policy.categories.marketing.title.en }).check();
        await button(p, texts('en').save).click();
      },
      { source: 'settings_save', granted: ['marketing'] },
    ));

  await test('fr: Escape on the banner is "continue without accepting"', () =>
    path_('fr', 'banner', (p) => p.keyboard.press('Escape'), { source: 'banner_dismiss', granted: [] }));

  await test('a forged or tampered message records nothing', async () => {
    const victim = store();
    const attacker = store();
    const ui = await open(attacker.page('fr'));
    await button(ui.page, texts('fr').accept_all).click();
    const foreign = await ui.message(); // a real message, but from another store's page
    await ui.close();
    const own = await open(victim.page('fr'));
    await button(own.page, texts('fr').customize).click();
    await button(own.page, texts('fr').save).click();
    const genuine = JSON.parse(await own.message());
    await own.close();
    const forged = [
      foreign,
      JSON.stringify({ ...genuine, token: genuine.token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }),
      JSON.stringify({ ...genuine, choices: { ...genuine.choices, essential: false } }),
      JSON.stringify({ ...genuine, choices: { statistics: 'yes', personalization: false, marketing: false } }),
      JSON.stringify({ ...genuine, action: 'grant_everything' }),
      JSON.stringify({ ...genuine, extra: 'x'.repeat(2000) }),
      'not json',
    ];
    for (const message of forged) equal(victim.apply(message), 1, `refused: ${message.slice(0, 80)}`);
    equal(victim.history().length, 0, 'nothing recorded');
    equal(victim.apply(JSON.stringify(genuine)), 0, 'the genuine message still applies');
    equal(victim.history()[0].source, 'settings_save', 'source');
  });

  await test('keyboard only: tab order, visible focus, Enter and Space', async () => {
    const s = store();
    const ui = await open(s.page('en'));
    const t = texts('en');
    const focused = () =>
      ui.page.evaluate(() => {
        const e = document.activeElement;
        const style = getComputedStyle(e);
        return {
          text: (e.textContent || '').trim() || e.getAttribute('aria-label') || e.id,
          tag: e.tagName,
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
        };
      });
    const order = [];
    for (let i = 0; i < 5; i++) {
      await ui.page.keyboard.press('Tab');
      const f = await focused();
      assert(f.outline, `visible focus on ${f.text}`);
      order.push(f.text);
    }
    equal(order, [t.close, 'Cookie policy', t.reject_all, t.accept_all, t.customize], 'tab order of the banner');
    await ui.page.keyboard.press('Enter'); // Customize
    assert(await ui.page.locator('#preferences').isVisible(), 'Enter on Customize opens the preferences');
    const visited = [];
    for (let i = 0; i < 40; i++) {
      await ui.page.keyboard.press('Tab');
      const f = await focused();
      assert(f.outline, `visible focus on ${f.text}`);
      visited.push(f.text);
      if (f.text === 'c-statistics') await ui.page.keyboard.press('Space');
      if (f.text === t.save) break;
    }
    for (const id of ['c-statistics', 'c-personalization', 'c-marketing']) {
      assert(visited.includes(id), `${id} is reachable by keyboard: ${visited}`);
    }
    assert(!visited.includes('c-essential'), 'essential has no toggle to reach');
    await ui.page.keyboard.press('Enter'); // Save
    const message = JSON.parse(await ui.message());
    equal(message.action, 'save', 'action');
    equal(message.choices, { statistics: true, personalization: false, marketing: false }, 'choices');
    await ui.close();
  });

  await test('accept and reject are twins: same size, colours and weight', async () => {
    const ui = await open(store().page('fr'));
    const t = texts('fr');
    const look = (name) =>
      button(ui.page, name).evaluate((e) => {
        const s = getComputedStyle(e);
        const r = e.getBoundingClientRect();
        return {
          width: Math.round(r.width),
          height: Math.round(r.height),
          top: Math.round(r.top),
          style: [s.backgroundColor, s.color, s.fontWeight, s.fontSize, s.borderTopColor, s.borderTopWidth],
        };
      });
    const [reject, accept] = [await look(t.reject_all), await look(t.accept_all)];
    equal(reject, accept, 'reject all and accept all look the same');
    await ui.close();
  });

  await test('320 px wide, default and 200 % text: no horizontal scroll in either layer', async () => {
      for (const lang of ['fr', 'en']) {
        const ui = await open(store().page(lang), { width: 320, height: 640 });
        for (const zoom of ['100%', '200%']) {
          await ui.page.evaluate((z) => (document.documentElement.style.fontSize = z), zoom);
          for (const layer of ['banner', 'preferences']) {
            await showExpanded(ui.page, layer);
            const overflow = await ui.page.evaluate(
              () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
            );
            equal(overflow, 0, `${lang} ${layer} at ${zoom}: extra width`);
          }
        }
        await ui.close();
      }
  });

  for (const colorScheme of ['light', 'dark']) {
    await test(`contrast of every text at least 4.5:1 (${colorScheme})`, async () => {
      const ui = await open(store().page('fr'), { colorScheme });
      const low = [];
      for (const layer of ['banner', 'preferences']) {
        await showExpanded(ui.page, layer);
        const ratios = await ui.page.evaluate(() => {
          const rgb = (c) => c.match(/[\d.]+/g).map(Number);
          const luminance = ([r, g, b]) => {
            const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
          };
          const background = (e) => {
            for (; e; e = e.parentElement) {
              const c = rgb(getComputedStyle(e).backgroundColor);
              if (c.length < 4 || c[3] > 0) return c;
            }
            return [255, 255, 255];
          };
          const out = [];
          for (const e of document.querySelectorAll('h1, p, a, button, label, summary, li, strong, span')) {
            if (!e.getClientRects().length || !e.textContent.trim()) continue;
            const [l1, l2] = [luminance(rgb(getComputedStyle(e).color)), luminance(background(e))].sort((a, b) => b - a);
            out.push({ text: e.textContent.trim().slice(0, 40), ratio: (l1 + 0.05) / (l2 + 0.05) });
          }
          return out;
        });
        assert(ratios.length >= 6, `texts measured in ${layer}: ${ratios.length}`);
        low.push(...ratios.filter((r) => r.ratio < 4.5));
      }
      equal(low, [], 'texts under 4.5:1');
      await ui.close();
    });
  }

  await test('the CSP blocks any script the page did not ship', async () => {
    const ui = await open(store().page('en'));
    const ran = await ui.page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.body.appendChild(s);
      return window.injected === true;
    });
    equal(ran, false, 'an injected inline script ran');
    await ui.close();
  });

  // Not a test (nothing to assert): the screenshots for docs/, made from the same pages.
  await step('screenshots of both layers in both languages', async () => {
    for (const lang of ['fr', 'en']) {
      const s = store();
      for (const layer of ['banner', 'preferences']) {
        const ui = await open(s.page(lang, layer));
        await ui.page.screenshot({ path: path.join(shots, `${layer}-${lang}.png`), fullPage: true });
        await ui.close();
      }
    }
    const dark = await open(store().page('fr'), { colorScheme: 'dark' });
    await dark.page.screenshot({ path: path.join(shots, 'banner-fr-dark.png'), fullPage: true });
    await dark.close();
    const files = ['banner-en.png', 'banner-fr-dark.png', 'banner-fr.png', 'preferences-en.png', 'preferences-fr.png'];
    if (process.env.KMER_UPDATE_SCREENSHOTS === '1') {
      const docs = path.join(root, 'docs/screenshots');
      fs.mkdirSync(docs, { recursive: true });
      for (const f of files) fs.copyFileSync(path.join(shots, f), path.join(docs, f));
    }
  });

  await browser.close();
  console.log(`ui: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(`ui: ${passed} passed, ${failed + 1} failed\n${(e && e.stack) || e}`);
  process.exit(1);
});
