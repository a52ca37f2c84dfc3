// The consent page in two browser engines, the same test cases for each: Chromium (Debian's, driven
// by playwright-core; Android's WebView is Chromium) and WebKit (WebKitGTK's MiniBrowser driven by
// WebKitWebDriver; iOS's WKWebView is WebKit). The engine adapters are chromium.cjs and webkit.cjs;
// each says how it observes requests, errors, the bridge, the colour scheme and input.
//
// Every path from click to the recorded decision, keyboard-only use, a 320 px screen with large text,
// colour contrast in light and dark mode, the Content-Security-Policy, an axe-core audit (WCAG 2.1 A
// and AA) of both layers, and the screenshots in docs/screenshots/ (Chromium's).
// The page comes from `kmer-consent ui`; the message it posts through the bridge goes to
// `kmer-consent apply-ui-message`, and `kmer-consent status --json` / `history --json` say what was
// recorded. Run by tests/ui/run.sh (KMER_UI_ENGINES=chromium,webkit by default); test names start with
// their engine; ends with "ui: N passed, N failed" for both engines together.
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { find } = require('./find.cjs');

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'target/debug/kmer-consent');
const policyFile = path.join(root, 'policies/kmeroccase.json');
const policy = JSON.parse(fs.readFileSync(policyFile, 'utf8'));
const shots = path.join(root, 'target/ui-screenshots');
const axeSource = fs.readFileSync(path.join(process.env.AXE_MODULES, 'axe-core/axe.min.js'), 'utf8');
const axeVersion = JSON.parse(
  fs.readFileSync(path.join(process.env.AXE_MODULES, 'axe-core/package.json'), 'utf8'),
).version;
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

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
const granted = (status) =>
  ['statistics', 'personalization', 'marketing'].filter((c) => status.categories[c]);

/** The test cases, once, for one engine (see chromium.cjs / webkit.cjs for what `engine` is). */
async function cases(engine) {
  const E = `[${engine.name}]`;

  /** Opens a page; checks what every page must show whatever the test: its stylesheet applied (a
   * CSP that blocked it at load would leave the body's default margin) and the colour scheme asked
   * for is the one the page sees (an emulation that did not take fails here, not silently). */
  async function open(file, options = {}) {
    const ui = await engine.open(file, options);
    try {
      const seen = await ui.evaluate(() => ({
        margin: getComputedStyle(document.body).marginTop,
        dark: matchMedia('(prefers-color-scheme: dark)').matches,
      }));
      equal(seen.margin, '0px', "the page's stylesheet applied");
      equal(seen.dark, options.colorScheme === 'dark', 'prefers-color-scheme: dark matches');
    } catch (e) {
      await ui.close();
      throw e;
    }
    return {
      ...ui,
      /** The one message the page posted, waited for. */
      async message() {
        let messages = [];
        for (let i = 0; i < 100 && messages.length === 0; i++) {
          messages = await ui.messages();
          if (messages.length === 0) await ui.wait(20);
        }
        equal(messages.length, 1, 'messages posted');
        return messages[0];
      },
    };
  }

  /** Shows one layer with every SDK list open: the widest and longest the page gets. */
  const showExpanded = (ui, layer) =>
    ui.evaluate((id) => {
      document.querySelectorAll('.layer').forEach((l) => (l.hidden = l.id !== id));
      document.querySelectorAll('details').forEach((d) => (d.open = true));
    }, layer);

  /** One user path: open the page, act, apply the message, check exactly one decision was recorded. */
  async function path_(lang, layer, act, expected) {
    const s = store();
    const ui = await open(s.page(lang, layer));
    await act(ui);
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
    equal(await ui.errors(), [], 'no errors (a CSP violation would be one)');
    equal(await ui.requests(), [], 'no request leaves the page');
    await ui.close();
    return message;
  }

  for (const lang of ['fr', 'en']) {
    const t = texts(lang);
    await test(`${E} ${lang}: accept all records banner_accept_all`, () =>
      path_(lang, 'banner', (ui) => ui.click('button', t.accept_all), {
        source: 'banner_accept_all',
        granted: ['statistics', 'personalization', 'marketing'],
      }));
    await test(`${E} ${lang}: reject all records banner_reject_all`, () =>
      path_(lang, 'banner', (ui) => ui.click('button', t.reject_all), {
        source: 'banner_reject_all',
        granted: [],
      }));
    await test(`${E} ${lang}: closing the banner records banner_dismiss, a refusal`, () =>
      path_(lang, 'banner', (ui) => ui.click('button', t.close), { source: 'banner_dismiss', granted: [] }));
    await test(`${E} ${lang}: customize, statistics on, save records settings_save`, () =>
      path_(
        lang,
        'banner',
        async (ui) => {
          await ui.click('button', t.customize);
          const statistics = policy.categories.statistics.title[lang];
          equal(await ui.isChecked('switch', statistics), false, 'toggles start off');
          await ui.check('switch', statistics);
          await ui.click('button', t.save);
        },
        { source: 'settings_save', granted: ['statistics'] },
      ));
    await test(`${E} ${lang}: the preferences alone, closed, record nothing`, () =>
      path_(lang, 'preferences', (ui) => ui.press('Escape'), { source: null }));
  }

  await test(`${E} en: the preferences alone save marketing only`, () =>
    path_(
      'en',
      'preferences',
      async (ui) => {
        await ui.check('switch', policy.categories.marketing.title.en);
        await ui.click('button', texts('en').save);
      },
      { source: 'settings_save', granted: ['marketing'] },
    ));

  await test(`${E} fr: Escape on the banner is "continue without accepting"`, () =>
    path_('fr', 'banner', (ui) => ui.press('Escape'), { source: 'banner_dismiss', granted: [] }));

  await test(`${E} a forged or tampered message records nothing`, async () => {
    const victim = store();
    const attacker = store();
    const ui = await open(attacker.page('fr'));
    await ui.click('button', texts('fr').accept_all);
    const foreign = await ui.message(); // a real message, but from another store's page
    await ui.close();
    const own = await open(victim.page('fr'));
    await own.click('button', texts('fr').customize);
    await own.click('button', texts('fr').save);
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

  await test(`${E} keyboard only: tab order, visible focus, Enter and Space`, async () => {
    const s = store();
    const ui = await open(s.page('en'));
    const t = texts('en');
    const focused = () =>
      ui.evaluate(() => {
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
      await ui.press('Tab');
      const f = await focused();
      assert(f.outline, `visible focus on ${f.text}`);
      order.push(f.text);
    }
    equal(order, [t.close, 'Cookie policy', t.reject_all, t.accept_all, t.customize], 'tab order of the banner');
    await ui.press('Enter'); // Customize
    assert(
      await ui.evaluate(() => {
        const p = document.getElementById('preferences');
        return !p.hidden && p.getClientRects().length > 0;
      }),
      'Enter on Customize opens the preferences',
    );
    const visited = [];
    for (let i = 0; i < 40; i++) {
      await ui.press('Tab');
      const f = await focused();
      assert(f.outline, `visible focus on ${f.text}`);
      visited.push(f.text);
      if (f.text === 'c-statistics') await ui.press('Space');
      if (f.text === t.save) break;
    }
    for (const id of ['c-statistics', 'c-personalization', 'c-marketing']) {
      assert(visited.includes(id), `${id} is reachable by keyboard: ${visited}`);
    }
    assert(!visited.includes('c-essential'), 'essential has no toggle to reach');
    await ui.press('Enter'); // Save
    const message = JSON.parse(await ui.message());
    equal(message.action, 'save', 'action');
    equal(message.choices, { statistics: true, personalization: false, marketing: false }, 'choices');
    await ui.close();
  });

  await test(`${E} accept and reject are twins: same size, colours and weight`, async () => {
    const ui = await open(store().page('fr'));
    const t = texts('fr');
    const look = (name) =>
      ui.evaluate((label, find) => {
        const e = find('button', label);
        const s = getComputedStyle(e);
        const r = e.getBoundingClientRect();
        return {
          width: Math.round(r.width),
          height: Math.round(r.height),
          top: Math.round(r.top),
          style: [s.backgroundColor, s.color, s.fontWeight, s.fontSize, s.borderTopColor, s.borderTopWidth],
        };
      }, name);
    const [reject, accept] = [await look(t.reject_all), await look(t.accept_all)];
    equal(reject, accept, 'reject all and accept all look the same');
    await ui.close();
  });

  // 200 % text: the root font size doubled, in both engines. The page sizes every text and box in
  // rem/em from the root, so this is what a user's larger default text does to it; neither driver
  // reaches the browser's own text zoom (WebKitGTK's zoom-text-only is a setting, not a WebDriver
  // command), and a page zoom would also widen nothing in CSS pixels.
  await test(`${E} 320 px wide, default and 200 % text: no horizontal scroll in either layer`, async () => {
    for (const lang of ['fr', 'en']) {
      const ui = await open(store().page(lang), { width: 320, height: 640 });
      equal(await ui.evaluate(() => window.innerWidth), 320, 'viewport width');
      for (const zoom of ['100%', '200%']) {
        await ui.evaluate((z) => (document.documentElement.style.fontSize = z), zoom);
        for (const layer of ['banner', 'preferences']) {
          await showExpanded(ui, layer);
          const overflow = await ui.evaluate(
            () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
          );
          equal(overflow, 0, `${lang} ${layer} at ${zoom}: extra width`);
        }
      }
      await ui.close();
    }
  });

  await test(`${E} the CSP blocks an injected script, image and fetch; no request leaves`, async () => {
    const ui = await open(store().page('en'));
    const seen = await ui.evaluate(async () => {
      const violations = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.body.appendChild(s);
      const image = new Image();
      image.src = 'http://csp-check.kmer-consent.invalid/pixel.png';
      document.body.appendChild(image);
      let fetched = 'answered';
      try {
        await fetch('http://csp-check.kmer-consent.invalid/data');
      } catch (e) {
        fetched = 'refused';
      }
      for (let i = 0; i < 50 && violations.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      return { ran: window.injected === true, fetched, violations: violations.map((d) => d.split('-')[0]).sort() };
    });
    equal(seen.ran, false, 'the injected inline script ran');
    equal(seen.fetched, 'refused', 'the fetch');
    equal(seen.violations, ['connect', 'img', 'script'], 'securitypolicyviolation events');
    equal(await ui.requests(), [], 'requests made');
    // The error channel the path tests rely on ("no errors") does report CSP violations.
    assert((await ui.errors()).length > 0, 'the violations show as errors');
    await ui.close();
  });

  /** axe-core's result in the page it was injected into, summarized. */
  const audit = (ui) =>
    ui.evaluate(async (tags) => {
      const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
      const list = (results) =>
        results.map((v) => ({
          id: v.id,
          impact: v.impact,
          nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${(n.failureSummary || '').replace(/\s+/g, ' ')}`),
        }));
      return { violations: list(r.violations), incomplete: list(r.incomplete), passes: r.passes.length };
    }, AXE_TAGS);

  // axe-core goes in through the automation channel (playwright's evaluate, WebDriver's execute
  // script), which the page's CSP does not govern; a <script> tag (playwright's addScriptTag) is
  // refused by it, as it should be.
  await test(`${E} axe-core ${axeVersion} runs here: it finds violations planted in the page`, async () => {
    const ui = await open(store().page('en'));
    await ui.inject(axeSource);
    await ui.evaluate(() => {
      const layer = document.getElementById('banner');
      layer.appendChild(document.createElement('button')); // no accessible name
      const faint = document.createElement('p');
      faint.textContent = 'faint text';
      faint.style.color = '#c8c8c8'; // CSSOM, which the CSP allows: about 1.7:1 on white
      layer.appendChild(faint);
    });
    const found = (await audit(ui)).violations.map((v) => v.id);
    assert(found.includes('button-name') && found.includes('color-contrast'), `violations found: ${found}`);
    await ui.close();
  });

  for (const colorScheme of ['light', 'dark']) {
    await test(`${E} contrast of every text at least 4.5:1 (${colorScheme})`, async () => {
      const ui = await open(store().page('fr'), { colorScheme });
      const low = [];
      for (const layer of ['banner', 'preferences']) {
        await showExpanded(ui, layer);
        const ratios = await ui.evaluate(() => {
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

    for (const lang of ['fr', 'en']) {
      await test(`${E} axe-core, WCAG 2.1 A and AA: no violation on either layer (${lang}, ${colorScheme})`, async () => {
        const t = texts(lang);
        const ui = await open(store().page(lang), { colorScheme });
        await ui.inject(axeSource);
        const banner = await audit(ui);
        await ui.click('button', t.customize); // the second layer as the user reaches it
        await ui.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
        const preferences = await audit(ui);
        const found = (r) => ({ violations: r.violations, incomplete: r.incomplete });
        // "incomplete" is what axe could not decide (it asks for a person to check): none either.
        equal({ banner: found(banner), preferences: found(preferences) }, {
          banner: { violations: [], incomplete: [] },
          preferences: { violations: [], incomplete: [] },
        }, 'axe results');
        assert(banner.passes >= 10 && preferences.passes >= 10, `rules passed: ${banner.passes}, ${preferences.passes}`);
        await ui.close();
      });
    }

    // Not a test (nothing to assert): screenshots made from the same pages; Chromium's are the ones
    // docs/screenshots/ shows, WebKit's are named webkit-*.png beside them in target/.
    await step(`${E} screenshots (${colorScheme})`, async () => {
      const prefix = engine.name === 'chromium' ? '' : `${engine.name}-`;
      if (colorScheme === 'dark') {
        const dark = await open(store().page('fr'), { colorScheme });
        await dark.screenshot(path.join(shots, `${prefix}banner-fr-dark.png`));
        await dark.close();
        return;
      }
      for (const lang of ['fr', 'en']) {
        const s = store();
        for (const layer of ['banner', 'preferences']) {
          const ui = await open(s.page(lang, layer));
          await ui.screenshot(path.join(shots, `${prefix}${layer}-${lang}.png`));
          await ui.close();
        }
      }
    });
  }
}

const engines = {
  chromium: () => require('./chromium.cjs').chromiumEngine(),
  webkit: () => require('./webkit.cjs').webkitEngine(),
};

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const names = (process.env.KMER_UI_ENGINES || 'chromium,webkit').split(',').filter(Boolean);
  const counts = [];
  for (const name of names) {
    const [passedBefore, failedBefore] = [passed, failed];
    const started = Date.now();
    const engine = engines[name]();
    const failedBeforeStart = failed;
    await step(`[${name}] start`, () => engine.start());
    if (failed === failedBeforeStart) await cases(engine); // else counted once, as the start's failure
    await step(`[${name}] stop`, () => engine.stop());
    counts.push(
      `${name} ${passed - passedBefore} passed, ${failed - failedBefore} failed in ${Math.round((Date.now() - started) / 1000)} s`,
    );
  }
  if (process.env.KMER_UPDATE_SCREENSHOTS === '1') {
    const files = ['banner-en.png', 'banner-fr-dark.png', 'banner-fr.png', 'preferences-en.png', 'preferences-fr.png'];
    const docs = path.join(root, 'docs/screenshots');
    fs.mkdirSync(docs, { recursive: true });
    for (const f of files) fs.copyFileSync(path.join(shots, f), path.join(docs, f));
  }
  console.log(`per engine: ${counts.join('; ')}`);
  console.log(`ui: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(`ui: ${passed} passed, ${failed + 1} failed\n${(e && e.stack) || e}`);
  process.exit(1);
});
