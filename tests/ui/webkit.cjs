// The WebKit engine for tests/ui/browser.cjs: WebKitGTK's MiniBrowser (the WebKit that iOS's
// WKWebView shares its engine with) driven by WebKitWebDriver over plain W3C WebDriver HTTP calls,
// under the Xvfb display that tests/ui/run.sh starts (DISPLAY).
//
// WebDriver has no request interception, no console log and no script that runs before the page's,
// so each observation is made another way, and says how:
// - requests: MiniBrowser runs with --proxy set to a counting HTTP proxy on 127.0.0.1 (this file), so
//   any http or https request the browser makes (seen here: GET, and CONNECT for https), from the
//   page or not, reaches it and is counted (answered 502, never forwarded); a navigation to a
//   .invalid host checks at each start that the counter does see requests. Beside it, the page's own
//   performance.getEntriesByType('resource') (which would also list file:// loads) must stay empty.
// - errors: listeners added by execute-script right after the load: `error`, `unhandledrejection`,
//   `securitypolicyviolation` and console.error. What happens during the load itself is checked by
//   its effect instead: the page's stylesheet applied (browser.cjs checks a rule of it on each
//   page) and its script answers every click (each path test), which a CSP that blocked either, or a
//   script error, would break.
// - the bridge: window.webkit.messageHandlers.kmerConsent is stood in for (MiniBrowser has no
//   window.webkit), so the page takes its iOS branch, the one WKWebView runs.
// - colour scheme: MiniBrowser's --dark-mode (GTK's dark preference, which WebKitGTK maps to
//   prefers-color-scheme), one browser session per scheme; browser.cjs checks matchMedia in the page.
// - width: the window is left as MiniBrowser opens it (1024 x 768): it cannot be made narrower than
//   its toolbar (about 450 px), and under Xvfb, with no window manager, any resize leaves it inactive
//   for good (document.hasFocus() false, so no :focus-visible ring for the keyboard test to see). A
//   given width (the 320 px test) is an iframe of exactly that size in a plain wrapper page, the page
//   in it driven through WebDriver's switch-to-frame: its viewport, media queries and scroll width
//   are the iframe's.
// - keyboard: the WebDriver Actions API (key down and up); clicks: WebDriver's element click (the
//   element scrolled into view, then a mouse click at its centre), on the one visible element that
//   find.cjs names.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const { find } = require('./find.cjs');

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const KEYS = { Tab: '\uE004', Enter: '\uE007', Space: '\uE00D', Escape: '\uE00C' };
const browserBinary =
  process.env.KMER_MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A proxy that forwards nothing: it counts what reaches it and answers 502. */
async function countingProxy() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('kmer-consent test proxy: no request leaves this machine\n');
  });
  server.on('connect', (req, socket) => {
    seen.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, close: () => server.close() };
}

function webkitEngine() {
  let driver;
  let driverLog;
  let base;
  let proxy;
  let session = null; // { id, colorScheme, version }

  async function wd(method, route, body) {
    const response = await fetch(base + route, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60000),
    });
    const json = await response.json();
    if (!response.ok) {
      const v = json.value || {};
      throw new Error(`WebDriver ${method} ${route}: ${v.error}: ${v.message}`);
    }
    return json.value;
  }
  const s = (route) => `/session/${session.id}${route}`;
  /** Script through WebDriver's execute, which WebKit runs outside the page's CSP (an eval inside it
   * would still be refused); a returned promise is waited for. */
  const execute = (script, args = []) => wd('POST', s('/execute/sync'), { script, args });

  async function startSession(colorScheme) {
    if (session) await endSession();
    const args = ['--automation', `--proxy=${proxy.url}`];
    if (colorScheme === 'dark') args.push('--dark-mode');
    const created = await wd('POST', '/session', {
      capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: browserBinary, args } } },
    });
    session = { id: created.sessionId, colorScheme, version: created.capabilities.browserVersion };
    // The counter is live: a request to a name that cannot resolve reaches it (and only it).
    const before = proxy.seen.length;
    await wd('POST', s('/url'), { url: 'http://proxy-check.kmer-consent.invalid/' });
    if (!proxy.seen.slice(before).some((r) => r.includes('proxy-check.kmer-consent.invalid'))) {
      throw new Error(`the counting proxy saw no request from WebKit: ${proxy.seen.slice(before)}`);
    }
  }
  async function endSession() {
    const id = session.id;
    session = null;
    await wd('DELETE', `/session/${id}`);
  }

  return {
    name: 'webkit',
    get version() {
      return session && session.version;
    },
    async start() {
      proxy = await countingProxy();
      const port = await freePort();
      driverLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kmer-webkit-')), 'driver.log');
      const log = fs.openSync(driverLog, 'w');
      driver = spawn('WebKitWebDriver', [`--port=${port}`], { stdio: ['ignore', log, log] });
      base = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        try {
          await fetch(`${base}/status`);
          break;
        } catch (e) {
          if (i > 100) throw new Error(`WebKitWebDriver did not answer: ${fs.readFileSync(driverLog, 'utf8')}`);
          await sleep(50);
        }
      }
    },
    async stop() {
      try {
        if (session) await endSession();
      } finally {
        if (driver) driver.kill();
        if (proxy) proxy.close();
      }
    },
    /** Without a width, the page gets MiniBrowser's window as it opens (1024 px wide); with a
     * width, an iframe of that size (see the top of this file). */
    async open(file, { width, height = 740, colorScheme = 'light' } = {}) {
      if (!session || session.colorScheme !== colorScheme) await startSession(colorScheme);
      await wd('POST', s('/frame'), { id: null });
      const framed = width !== undefined;
      const requestsBefore = proxy.seen.length;
      if (framed) {
        const wrapper = `${file}.${width}x${height}.html`;
        fs.writeFileSync(
          wrapper,
          `<!doctype html><title>${width} px</title><body style="margin:0">` +
            `<iframe id="frame" src="file://${encodeURI(file)}" style="border:0;width:${width}px;height:${height}px"></iframe>`,
        );
        await wd('POST', s('/url'), { url: `file://${encodeURI(wrapper)}` });
        const frame = await wd('POST', s('/element'), { using: 'css selector', value: '#frame' });
        await wd('POST', s('/frame'), { id: frame });
      } else {
        await wd('POST', s('/url'), { url: `file://${encodeURI(file)}` });
      }
      await execute(`
        window.__kmer = { messages: [], errors: [] };
        const errors = window.__kmer.errors;
        window.webkit = { messageHandlers: { kmerConsent: { postMessage: (json) => window.__kmer.messages.push(json) } } };
        addEventListener('error', (e) => errors.push('error: ' + e.message));
        addEventListener('unhandledrejection', (e) => errors.push('unhandled rejection: ' + e.reason));
        document.addEventListener('securitypolicyviolation', (e) =>
          errors.push('CSP ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline')));
        const consoleError = console.error;
        console.error = (...a) => { errors.push(a.join(' ')); consoleError.apply(console, a); };
      `);
      const element = async (role, name) => {
        const e = await execute(`return (${find})(arguments[0], arguments[1])`, [role, name]);
        return e[ELEMENT];
      };
      const keys = (...names) =>
        wd('POST', s('/actions'), {
          actions: [
            {
              type: 'key',
              id: 'keyboard',
              actions: names.flatMap((k) => [
                { type: 'keyDown', value: KEYS[k] },
                { type: 'keyUp', value: KEYS[k] },
              ]),
            },
          ],
        });
      const ui = {
        /** `fn(arg, find)` in the page. */
        evaluate: (fn, arg) => execute(`return (${fn})(arguments[0], ${find})`, [arg === undefined ? null : arg]),
        inject: (source) => execute(`${source}\n;return null`),
        click: async (role, name) => wd('POST', s(`/element/${await element(role, name)}/click`), {}),
        isChecked: async (role, name) =>
          wd('GET', s(`/element/${await element(role, name)}/property/checked`)),
        async check(role, name) {
          if (!(await ui.isChecked(role, name))) await ui.click(role, name);
          if (!(await ui.isChecked(role, name))) throw new Error(`${name} did not check`);
        },
        press: (key) => keys(key),
        messages: () => execute('return window.__kmer.messages.slice()'),
        wait: sleep,
        errors: () => execute('return window.__kmer.errors.slice()'),
        async requests() {
          const local = await execute(
            "return performance.getEntriesByType('resource').map((e) => e.name)",
          );
          return [...proxy.seen.slice(requestsBefore), ...local];
        },
        /** The viewport only: WebKitGTK's element screenshot of <html> paints only what is on
         * screen, so a "full page" one would be partly blank. */
        async screenshot(out) {
          fs.writeFileSync(out, Buffer.from(await wd('GET', s('/screenshot')), 'base64'));
        },
        close: async () => {},
      };
      return ui;
    },
  };
}

module.exports = { webkitEngine };
