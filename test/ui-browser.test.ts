// The live view in a real browser: headless Chromium from Debian's packages
// (/usr/bin/chromium, or $CHROMIUM), driven by puppeteer-core, watches
// `iommufd-emu run --platform qemu-vtd --ui -- ui-demo hold` (examples/ui-demo.c):
// after the attach it shows the attachment; after the program maps memory,
// without a reload, the area at its IOVA, the domain's 2 MiB entries with SNP
// clear, and the map's ioctl in the timeline. Screenshots of the main views
// are saved under the test's temporary directory and checked for size and
// content (not pixel-exact). Without Chromium this test fails: install it
// (apt-get install chromium; .ci/run does).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, ROOT, ensureShim } from './shim/build.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'iommufd-emu-ui-browser-'));
const children = new Set<ChildProcess>();

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (!process.env.KEEP_UI_SCREENSHOTS) fs.rmSync(TMP, { recursive: true, force: true });
});

/** Lines of a stream, waited for by pattern. */
class Lines {
  text = '';
  private waiters: Array<() => void> = [];
  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => { this.text += d; for (const w of this.waiters.splice(0)) w(); });
  }
  async wait(re: RegExp, ms = 20000): Promise<RegExpExecArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m;
      if (Date.now() > end) throw new Error(`timed out waiting for ${re}; got:\n${this.text}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }
}

/** Pixel statistics of a PNG, computed by the browser itself (no PNG decoder needed here). */
interface PixelStats { width: number; height: number; colors: number; nonBackground: number; areaBlue: number }

test('ui in Chromium: attachment, then live the area at its IOVA, the domain\'s entries, the timeline; screenshots', { timeout: 120000 }, async () => {
  assert.ok(fs.existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM`);
  const puppeteer = (await import('puppeteer-core')).default;
  ensureShim();
  const demo = path.join(TMP, 'ui-demo');
  execFileSync('cc', ['-O2', '-Wall', '-I', path.join(ROOT, 'include'), '-o', demo, path.join(ROOT, 'examples/ui-demo.c')], { stdio: 'inherit' });

  const run = spawn(BIN, ['run', '--platform', 'qemu-vtd', '--ui', '--', demo, 'hold'], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(run);
  const out = new Lines(run.stdout!), err = new Lines(run.stderr!);
  const exited = new Promise<number | null>((r) => run.once('exit', (code) => r(code)));
  const url = (await err.wait(/live view: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/))[1]!;
  const ids = await out.wait(/IOAS (\d+), device (\d+) attached to HWPT (\d+)/);
  const [ioas, dev, hwpt] = [ids[1], ids[2], ids[3]];
  await out.wait(/attached; press Enter/);

  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.setViewport({ width: 1400, height: 1000 });
    // The token is the key: without it the page is refused.
    const refused = await page.goto(url.replace(/\?token=.*/, ''));
    assert.equal(refused?.status(), 403);
    await page.goto(url);

    // After the attach: the attachment, the device's HWPT, no areas yet.
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10000 });
    await page.waitForSelector(`tr[data-device="vfio0"] .attached [data-key="1:${hwpt}"]`, { timeout: 10000 });
    const attachText = await page.$eval('#p-objects .body', (e) => e.textContent ?? '');
    assert.match(attachText, new RegExp(`group 1: 1:${dev}\\s*→\\s*1:${hwpt}`), 'the objects panel shows the attachment');
    assert.equal(await page.$(`#iova-table tr[data-iova="0x200000"]`), null, 'nothing mapped yet');
    const coherency = await page.$eval('tr[data-device="vfio0"]', (e) => e.textContent ?? '');
    assert.match(coherency, /hazard/, 'VT-d without snoop control: a coherency hazard');

    // The program maps; the page follows without a reload.
    run.stdin!.write('\n');
    await out.wait(/mapped; press Enter/);
    await page.waitForSelector('#iova-table tr[data-iova="0x200000"]', { timeout: 10000 });
    await page.waitForSelector('#iova-svg g[data-iova="0x200000"] rect.area');
    const areaRow = await page.$eval('#iova-table tr[data-iova="0x200000"]', (e) => e.textContent ?? '');
    assert.match(areaRow, /0x5fffff/, 'the area ends at 0x5fffff');
    assert.match(areaRow, /user\s*0x[0-9a-f]+/, 'with its user VA');
    assert.match(areaRow, /1024/, '1024 pages pinned');
    await page.waitForSelector('#pt-body tr[data-iova="0x200000"]');
    const entry = await page.$eval('#pt-body tr[data-iova="0x200000"]', (e) => e.textContent ?? '');
    assert.match(entry, /2 MiB × 2/, 'two 2 MiB entries');
    assert.match(entry, /huge/);
    assert.match(entry, /R=1/);
    assert.match(entry, /W=1/);
    assert.match(entry, /SNP=0/);
    const selected = await page.$eval('#domain-select', (e) => (e as HTMLSelectElement).value);
    assert.equal(selected, `1:${hwpt}`);
    await page.waitForFunction(() => [...document.querySelectorAll('#tl-body .tl-row[data-kind="ioctl"]')].some((r) => /IOMMU_IOAS_MAP/.test(r.textContent ?? '')), { timeout: 10000 });
    const mapRow = await page.$$eval('#tl-body .tl-row[data-kind="ioctl"]', (rows) => rows.map((r) => r.textContent ?? '').find((t) => /IOMMU_IOAS_MAP\(.*iova=0x200000/.test(t)) ?? '');
    assert.match(mapRow, new RegExp(`\\b1:${ioas}\\b`), 'the map event links its IOAS');

    // Filtering the timeline by an object.
    // Clicked inside the page in one step: a live update may re-render the
    // timeline between puppeteer finding the row and clicking it.
    await page.waitForSelector(`#tl-body .tl-row[data-kind="create"] [data-key="1:${hwpt}"]`);
    await page.$eval(`#tl-body .tl-row[data-kind="create"] [data-key="1:${hwpt}"]`, (e) => (e as HTMLElement).click());
    const kinds = await page.$$eval('#tl-body .tl-row', (rows) => rows.map((r) => r.getAttribute('data-kind')));
    assert.ok(kinds.length > 0 && kinds.includes('attach'), `events touching the HWPT: ${kinds.join(',')}`);
    assert.ok(!kinds.includes('call'), 'events that do not touch it are hidden');
    await page.$eval('#tl-clear', (e) => (e as HTMLElement).click());

    // Screenshots: the whole page and each main view.
    const shots: Record<string, string> = {};
    shots.page = path.join(TMP, 'ui-page.png');
    await page.screenshot({ path: shots.page, fullPage: true });
    for (const id of ['p-objects', 'p-iova', 'p-pt', 'p-pins', 'p-devices', 'p-timeline']) {
      shots[id] = path.join(TMP, `ui-${id}.png`);
      const el = await page.$(`#${id}`);
      assert.ok(el, id);
      await el.screenshot({ path: shots[id] });
    }
    const stats: Record<string, PixelStats> = {};
    for (const [name, file] of Object.entries(shots)) {
      const b64 = fs.readFileSync(file).toString('base64');
      assert.equal(fs.readFileSync(file).subarray(1, 4).toString(), 'PNG', `${name} is a PNG`);
      stats[name] = await page.evaluate(async (data: string) => {
        const img = new Image();
        img.src = `data:image/png;base64,${data}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width; c.height = img.height;
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        const colors = new Set<number>();
        let nonBackground = 0, areaBlue = 0;
        for (let i = 0; i < px.length; i += 4) {
          const r = px[i]!, gg = px[i + 1]!, b = px[i + 2]!;
          colors.add(((r >> 3) << 10) | ((gg >> 3) << 5) | (b >> 3));
          if (!(r > 240 && gg > 240 && b > 240)) nonBackground++;
          if (Math.abs(r - 95) < 16 && Math.abs(gg - 147) < 16 && Math.abs(b - 226) < 16) areaBlue++;
        }
        const n = px.length / 4;
        return { width: c.width, height: c.height, colors: colors.size, nonBackground: nonBackground / n, areaBlue: areaBlue / n };
      }, b64);
    }
    const s = stats.page!;
    assert.equal(s.width, 1400, 'the page screenshot is the viewport wide');
    assert.ok(s.height >= 1000, `full page: ${s.height}`);
    assert.ok(s.colors > 30 && s.nonBackground > 0.2, `the page is drawn: ${JSON.stringify(s)}`);
    for (const id of ['p-objects', 'p-iova', 'p-pt', 'p-pins', 'p-devices', 'p-timeline']) {
      const v = stats[id]!;
      assert.ok(v.width > 300 && v.height > 80, `${id}: ${JSON.stringify(v)}`);
      assert.ok(v.colors > 8 && v.nonBackground > 0.05, `${id} is not blank: ${JSON.stringify(v)}`);
    }
    assert.ok(stats['p-iova']!.areaBlue > 0.03, `the IOVA map shows the area in its colour: ${JSON.stringify(stats['p-iova'])}`);
    assert.deepEqual(pageErrors, [], 'no script errors');
  } finally {
    await browser.close();
    run.stdin!.end('\n');
  }
  assert.equal(await exited, 0, `the program finished: ${out.text}${err.text}`);
  assert.match(out.text, /ui-demo: done/);
});
