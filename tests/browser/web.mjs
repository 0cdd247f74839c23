// Drives teld's web page in a real, headless Debian chromium (run by tests/e2e_web.rs).
//
// 1. An observer signs in with a token, submits a request through the form and sees
//    it in the plan table under the chart; the chart image loads.
// 2. The observer's page has no telescope controls, and the API refuses the observer's
//    park (403) even when called from the page.
// 3. An operator, in another browser context, parks the telescope that is observing:
//    confirms in the dialog, and the mount cell turns to "parked" through the live
//    event stream.
// Every request the page makes must go to teld itself.
//
// Env: TELD_URL, OBSERVER_TOKEN, OPERATOR_TOKEN, CHROMIUM, SHOTS (a folder for
// screenshots on failure).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const url = process.env.TELD_URL;
const shots = process.env.SHOTS || 'target/e2e-web';
const foreign = [];
const pageErrors = [];
const log = (...a) => console.log(new Date().toISOString().slice(11, 23), ...a);

function watch(page, who) {
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(url) && !u.startsWith('blob:') && !u.startsWith('data:')) foreign.push(`${who}: ${u}`);
  });
  page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') log(`${who} console:`, m.text()); });
}

async function signIn(page, token, role) {
  await page.goto(url);
  await page.locator('#token').fill(token);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator(`#whoami[data-role="${role}"]`).waitFor({ timeout: 10000 });
  await page.locator('[data-telescope="t1"]').waitFor({ timeout: 10000 });
}

async function submit(page, fields) {
  for (const [name, value] of Object.entries(fields)) {
    const field = page.locator(`#request-form [name="${name}"]`);
    if (name === 'class') await field.selectOption(String(value));
    else await field.fill(String(value));
  }
  await page.locator('#request-form button[type=submit]').click();
  const result = page.locator('#request-result[data-request-id]');
  await result.waitFor({ timeout: 10000 });
  return Number(await result.getAttribute('data-request-id'));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // CI runs as root, where chromium's sandbox cannot start.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const pages = [];
let failed = false;
try {
  // 1. Observer.
  const obsCtx = await browser.newContext();
  const obs = await obsCtx.newPage();
  pages.push(['observer', obs]);
  watch(obs, 'observer');
  await signIn(obs, process.env.OBSERVER_TOKEN, 'observer');
  log('observer signed in');

  // A bad value is refused next to its field, and nothing is stored.
  await obs.locator('#request-form input[name="target.name"]').fill('bad');
  await obs.locator('#request-form input[name="target.ra_deg"]').fill('10');
  await obs.locator('#request-form input[name="target.dec_deg"]').fill('95');
  await obs.locator('#request-form button[type=submit]').click();
  await obs.locator('#request-form input[name="target.dec_deg"] + .field-error').waitFor({ timeout: 10000 });
  log('field error shown:', await obs.locator('.field-error').first().textContent());

  // Rises late in the evening, so it stays in the plan for a while.
  const later = await submit(obs, {
    'target.name': 'WEB-LATER', 'target.ra_deg': 95, 'target.dec_deg': 20,
    exposure_s: 30, count: 3, name: 'web test (later)',
  });
  log('observer submitted request', later);
  await obs.locator(`#requests tr[data-request="${later}"]`).waitFor({ timeout: 10000 });
  await obs.locator(`#plan-table tr[data-plan-request="${later}"]`).waitFor({ timeout: 90000 });
  log('request', later, 'is in the plan');
  await obs.waitForFunction(() => document.querySelector('#plan-chart').naturalWidth > 0, null, { timeout: 20000 });

  // 2. The observer cannot control a telescope.
  if (await obs.locator('[data-telescope="t1"] button[data-action]').count() !== 0) {
    throw new Error('the observer page shows telescope controls');
  }
  const refused = await obs.evaluate(async (token) => {
    const r = await fetch('/api/v1/telescopes/t1/actions/park', {
      method: 'POST', headers: { Authorization: `Bearer ${token}` },
    });
    return r.status;
  }, process.env.OBSERVER_TOKEN);
  if (refused !== 403) throw new Error(`the observer's park answered ${refused}, not 403`);
  log('observer park refused with 403');

  // 3. Operator parks the telescope while it observes (an urgent request, so it is
  //    observed now rather than where the planner would put it for best value).
  const opCtx = await browser.newContext();
  const op = await opCtx.newPage();
  pages.push(['operator', op]);
  watch(op, 'operator');
  await signIn(op, process.env.OPERATOR_TOKEN, 'operator');
  const now = await submit(op, {
    'target.name': 'WEB-NOW', 'target.ra_deg': 22.5, 'target.dec_deg': 20.1,
    exposure_s: 60, count: 20, priority: 100, class: 'rapid_response', name: 'web test (now)',
  });
  log('operator submitted request', now, '; waiting for the mount to move');
  const mount = op.locator('[data-telescope="t1"] .value.mount');
  await op.waitForFunction(
    () => ['slewing', 'tracking'].includes(document.querySelector('[data-telescope="t1"] .value.mount')?.textContent),
    null, { timeout: 120000 });
  log('mount is', await mount.textContent(), '; parking');
  await op.locator('[data-telescope="t1"] button[data-action="park"]').click();
  await op.locator('#confirm[open]').waitFor({ timeout: 5000 });
  await op.locator('#confirm-ok').click();
  await op.waitForFunction(
    () => document.querySelector('[data-telescope="t1"] .value.mount')?.textContent === 'parked',
    null, { timeout: 60000 });
  log('mount parked; control is', await op.locator('[data-telescope="t1"] .value.control').textContent());
  // The observer's page follows too, through its own event stream.
  await obs.waitForFunction(
    () => document.querySelector('[data-telescope="t1"] .value.mount')?.textContent === 'parked',
    null, { timeout: 30000 });

  if (foreign.length) throw new Error(`requests left teld: ${foreign.join(', ')}`);
  if (pageErrors.length) throw new Error(`script errors on the page: ${pageErrors.join('; ')}`);
  log('all scenarios passed');
} catch (e) {
  failed = true;
  console.error('FAILED:', e.message);
  mkdirSync(shots, { recursive: true });
  for (const [who, page] of pages) {
    await page.screenshot({ path: `${shots}/${who}.png`, fullPage: true }).catch(() => {});
  }
  console.error(`screenshots in ${shots}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
