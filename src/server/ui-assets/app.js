// The live view's page: plain DOM and SVG, no libraries. It takes the token
// from its own URL, listens to /api/events (server-sent events: `state` and
// `ui-event`) and falls back to polling /api/state. Every string from the
// server goes in as text, never as markup.
'use strict';
(function () {
  const token = new URLSearchParams(location.search).get('token') || '';
  const q = (s) => document.querySelector(s);
  let state = null;
  let events = [];
  let selected = null;          // an object key "1:3", or a device "vfio0"
  let view = null;              // IOVA map view { lo, hi } (numbers)
  let viewAuto = true;          // the view follows the areas until the user zooms or pans
  let chosenIoas = null;
  let chosenDomain = null;
  let ptRange = { start: '', last: '' };
  let ptState = null;           // a state fetched for a page-table range
  const kinds = ['ioctl', 'call', 'create', 'destroy', 'attach', 'detach', 'dma', 'fault', 'hazard', 'coherent'];
  const shownKinds = new Set(kinds);
  const MAX_EVENTS = 5000;

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const k of kids.flat()) if (k !== undefined && k !== null && k !== false) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }
  const svg = (tag, attrs, ...kids) => {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined) e.setAttribute(k, String(v));
    for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  };
  const keyLink = (k) => h('span', { class: 'key' + (k === selected ? ' selected' : ''), 'data-key': k, onclick: (ev) => { ev.stopPropagation(); select(k); } }, k);
  const table = (heads, rows, attrs) => rows.length
    ? h('table', attrs || {}, h('thead', {}, h('tr', {}, heads.map((x) => h('th', {}, x)))), h('tbody', {}, rows))
    : h('div', { class: 'empty' }, 'none');
  const big = (s) => { try { return BigInt(s); } catch { return 0n; } };
  const num = (s) => Number(big(s));
  const pages = (n) => `${n} pages (${fmtBytes(n * 4096)})`;
  function fmtBytes(b) {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0; let x = b;
    while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
    return `${Number.isInteger(x) ? x : x.toFixed(1)} ${u[i]}`;
  }
  const replace = (sel, node) => { const b = q(sel); b.replaceChildren(node); };

  function select(k) {
    selected = selected === k ? null : k;
    if (state && selected) {
      if (state.ioas.some((i) => i.key === selected)) { chosenIoas = selected; view = null; viewAuto = true; }
      if (state.domains.some((d) => d.key === selected)) chosenDomain = selected;
    }
    render();
  }

  // ---- panels ----

  function renderHeader() {
    const p = state.platform;
    q('#machine').textContent = `${p.name}: ${p.description} — ${p.units.map((u) => `${u.name} (${u.kind}, ${u.detail})`).join('; ') || 'no IOMMU units'}`;
  }

  function renderClients() {
    const rows = state.processes.map((p) => h('tr', {}, h('td', { class: 'mono' }, p.pid), h('td', {}, p.uid),
      h('td', {}, p.files.map((f) => h('div', { class: 'mono' }, `${f.path} `, h('span', { class: 'badge' }, f.kind), f.iommufd !== null ? h('span', { class: 'hint' }, ` iommufd ${f.iommufd}`) : '')))));
    replace('#p-clients .body', table(['pid', 'uid', 'open emulated files'], rows));
  }

  function renderObjects() {
    const out = [];
    for (const f of state.iommufds) {
      out.push(h('h3', {}, `iommufd ${f.n} `, h('span', { class: 'hint' }, `held by ${f.holders.join(', ') || 'bound devices'}; accounting ${f.accountMode}${f.vfioCompat ? '; VFIO compat IOAS set' : ''}`)));
      const rows = f.objects.map((o) => h('tr', { class: o.key === selected ? 'selected' : '', 'data-key': o.key, onclick: () => select(o.key) },
        h('td', {}, keyLink(o.key)), h('td', {}, h('span', { class: 'badge' }, o.type)), h('td', {}, o.users),
        h('td', {}, o.links.map((l) => h('div', {}, h('span', { class: 'hint' }, `${l.rel} → `), keyLink(l.key)))),
        h('td', {}, o.summary)));
      out.push(table(['id', 'type', 'users', 'links', ''], rows, { class: 'objects' }));
      if (f.attachments.length) {
        out.push(h('div', { class: 'hint' }, 'attachments: ', f.attachments.map((a) => h('span', {}, ' group ', a.group, a.pasid ? ` pasid ${a.pasid}` : '', ': ', a.devices.map(keyLink), ' → ', a.hwpt ? keyLink(a.hwpt) : 'none', ';'))));
      }
    }
    replace('#p-objects .body', out.length ? h('div', {}, out) : h('div', { class: 'empty' }, 'no /dev/iommu open'));
  }

  // The IOVA map: areas (blue), reserved ranges (red), allowed ranges (green dashes), usable holes (pale green).
  function renderIova() {
    const sel = q('#ioas-select');
    const keys = state.ioas.map((i) => i.key);
    if (!keys.includes(chosenIoas)) { chosenIoas = keys[0] || null; view = null; viewAuto = true; }
    sel.replaceChildren(...keys.map((k) => h('option', { value: k, selected: k === chosenIoas }, `IOAS ${k}`)));
    const io = state.ioas.find((i) => i.key === chosenIoas);
    const s = q('#iova-svg');
    const W = s.clientWidth || 1000, H = 150;
    s.setAttribute('viewBox', `0 0 ${W} ${H}`);
    s.replaceChildren();
    if (!io) { q('#iova-table').replaceChildren(h('div', { class: 'empty' }, 'no IOAS')); q('#iova-view').textContent = ''; return; }
    if (!view || viewAuto) view = fitView(io);
    const x = (v) => ((v - view.lo) / (view.hi - view.lo)) * W;
    const clampRect = (a, b) => { const x0 = Math.max(-5, x(a)), x1 = Math.min(W + 5, x(b)); return x1 < 0 || x0 > W ? null : { x: x0, w: Math.max(1.5, x1 - x0) }; };
    for (const u of io.usable) { const r = clampRect(num(u.start), num(u.last) + 1); if (r) s.append(svg('rect', { class: 'usable', x: r.x, y: 20, width: r.w, height: 90 })); }
    for (const u of io.reserved) { const r = clampRect(num(u.start), num(u.last) + 1); if (r) s.append(svg('rect', { class: 'reserved', x: r.x, y: 20, width: r.w, height: 90 }, svg('title', {}, `reserved ${u.start}–${u.last}: ${u.owner}`))); }
    for (const u of io.allowed) { const r = clampRect(num(u.start), num(u.last) + 1); if (r) s.append(svg('rect', { class: 'allowed', x: r.x, y: 16, width: r.w, height: 98 }, svg('title', {}, `allowed ${u.start}–${u.last}`))); }
    let lane = 0;
    for (const a of io.areas) {
      const r = clampRect(num(a.iova), num(a.last) + 1);
      if (!r) continue;
      const g = svg('g', { 'data-iova': a.iova });
      g.append(svg('rect', { class: 'area' + (selected === `${io.key}@${a.iova}` ? ' selected' : ''), x: r.x, y: 34, width: r.w, height: 60 },
        svg('title', {}, `area ${a.iova}–${a.last} (${a.length} bytes) ← ${a.backing} ${a.va}, ${a.prot}, ${a.pinnedPages} pages pinned`)));
      if (r.w > 40) g.append(svg('text', { x: r.x + 3, y: 50 + 14 * (lane % 3) }, a.iova));
      lane++;
      s.append(g);
    }
    // axis with ticks
    s.append(svg('line', { class: 'axis', x1: 0, y1: 120, x2: W, y2: 120 }));
    for (let i = 0; i <= 4; i++) {
      const v = view.lo + ((view.hi - view.lo) * i) / 4;
      const tx = (W * i) / 4;
      s.append(svg('line', { class: 'axis', x1: tx, y1: 116, x2: tx, y2: 124 }));
      s.append(svg('text', { x: Math.min(Math.max(2, tx - 40), W - 110), y: 138 }, '0x' + BigInt(Math.max(0, Math.round(v))).toString(16)));
    }
    s.append(svg('text', { x: 4, y: 12 }, `alignment ${io.iovaAlignment}${io.disableLargePages ? ', large pages disabled' : ''}; ${io.areaCount} area(s); HWPTs ${io.hwpts.join(', ') || 'none'}`));
    q('#iova-view').textContent = `view 0x${BigInt(Math.max(0, Math.floor(view.lo))).toString(16)} – 0x${BigInt(Math.max(0, Math.floor(view.hi))).toString(16)}`;
    const rows = io.areas.map((a) => h('tr', { 'data-iova': a.iova }, h('td', { class: 'mono' }, a.iova), h('td', { class: 'mono' }, a.last), h('td', { class: 'mono' }, a.length),
      h('td', {}, h('span', { class: 'badge' }, a.backing), h('span', { class: 'mono' }, a.va)), h('td', {}, a.prot), h('td', {}, a.pinnedPages, ' ', h('span', { class: 'hint' }, a.accountMode)),
      h('td', {}, a.filled ? 'filled' : '', a.accesses ? ` ${a.accesses} access(es)` : '', a.locks ? ` ${a.locks} lock(s)` : '')));
    const extra = [
      h('div', { class: 'hint' }, 'reserved: ', io.reserved.map((r) => `${r.start}–${r.last} (${r.owner})`).join('; ') || 'none'),
      h('div', { class: 'hint' }, 'allowed: ', io.allowed.map((r) => `${r.start}–${r.last}`).join('; ') || 'everything not reserved'),
    ];
    q('#iova-table').replaceChildren(table(['IOVA', 'last', 'length', 'backing (user VA / file offset)', 'prot', 'pinned pages', ''], rows, { class: 'areas' }), ...extra);
    if (io.truncated) q('#iova-table').append(h('div', { class: 'hint' }, `showing ${io.areas.length} of ${io.areaCount} areas`));
  }

  function fitView(io) {
    if (io.areas.length) {
      const lo = num(io.areas[0].iova), hi = num(io.areas[io.areas.length - 1].last) + 1;
      const pad = Math.max((hi - lo) * 0.15, 4096 * 4);
      return { lo: Math.max(0, lo - pad), hi: hi + pad };
    }
    return wholeView(io);
  }
  function wholeView(io) {
    const u = io.usable;
    const hi = u.length ? Math.min(num(u[u.length - 1].last), 2 ** 64) : 2 ** 48;
    return { lo: 0, hi: Math.max(hi, 4096) };
  }

  function setupIovaInteraction() {
    const s = q('#iova-svg');
    s.addEventListener('wheel', (ev) => {
      if (!view) return;
      ev.preventDefault();
      const W = s.clientWidth || 1000;
      const at = view.lo + (ev.offsetX / W) * (view.hi - view.lo);
      const f = ev.deltaY < 0 ? 0.8 : 1.25;
      let lo = at - (at - view.lo) * f, hi = at + (view.hi - at) * f;
      if (hi - lo < 4096) return;
      view = { lo: Math.max(0, lo), hi: Math.min(hi, 2 ** 64) };
      viewAuto = false;
      renderIova();
    }, { passive: false });
    let drag = null;
    s.addEventListener('mousedown', (ev) => { if (view) drag = { x: ev.clientX, v: { ...view } }; });
    window.addEventListener('mouseup', () => { drag = null; });
    window.addEventListener('mousemove', (ev) => {
      if (!drag) return;
      const W = s.clientWidth || 1000;
      const d = ((ev.clientX - drag.x) / W) * (drag.v.hi - drag.v.lo);
      view = { lo: Math.max(0, drag.v.lo - d), hi: drag.v.hi - d - Math.min(0, drag.v.lo - d) };
      viewAuto = false;
      renderIova();
    });
    q('#iova-fit').addEventListener('click', () => { const io = state && state.ioas.find((i) => i.key === chosenIoas); if (io) { view = fitView(io); viewAuto = true; renderIova(); } });
    q('#iova-all').addEventListener('click', () => { const io = state && state.ioas.find((i) => i.key === chosenIoas); if (io) { view = wholeView(io); viewAuto = false; renderIova(); } });
    q('#ioas-select').addEventListener('change', (ev) => { chosenIoas = ev.target.value; view = null; viewAuto = true; renderIova(); });
  }

  function renderPageTable() {
    const src = ptState || state;
    const sel = q('#domain-select');
    const keys = state.domains.map((d) => d.key);
    if (!keys.includes(chosenDomain)) chosenDomain = keys[0] || null;
    sel.replaceChildren(...keys.map((k) => h('option', { value: k, selected: k === chosenDomain }, `HWPT ${k}`)));
    const d = src.domains.find((x) => x.key === chosenDomain);
    if (!d) { replace('#pt-body', h('div', { class: 'empty' }, 'no paging domain')); return; }
    const head = h('div', {},
      h('div', {}, h('b', {}, d.format), ` on ${d.driver}; page sizes ${d.pgsizes.join(', ')}; aperture ${d.aperture.start}–${d.aperture.last}; IOAS `, keyLink(d.ioas),
        '; devices ', d.devices.length ? d.devices.map(keyLink) : 'none'),
      h('div', {}, 'coherency: ', d.enforcing === undefined ? h('span', { class: 'badge' }, 'not modelled')
        : d.enforcing ? h('span', { class: 'badge coherent' }, 'enforcing') : h('span', { class: 'badge hazard' }, 'not enforcing'),
      d.runsWithoutSnp ? h('span', { class: 'hint' }, ` ${d.runsWithoutSnp} run(s) without SNP`) : '',
      ` ${d.runCount} run(s), ${fmtBytes(num(d.mappedBytes))} mapped`, d.truncated ? h('span', { class: 'hint' }, ` (showing ${d.runs.length})`) : ''));
    const rows = [];
    for (const r of d.runs) {
      for (const l of r.leaves) {
        rows.push(h('tr', { 'data-iova': l.iova },
          h('td', { class: 'mono' }, l.iova), h('td', { class: 'mono' }, l.paddr),
          h('td', {}, `${l.size} × ${l.count}`, l.huge ? h('span', { class: 'badge huge' }, 'huge') : ''),
          h('td', { class: 'mono' }, l.pte || '—'),
          h('td', {}, l.bits.map((b) => h('span', { class: 'bit' + (b.value !== '0' ? ' on' : '') + ((b.name === 'SNP' || b.name === 'FC') && b.value === '0' ? ' warn' : ''), title: b.meaning }, `${b.name}=${b.value}`))),
          h('td', { class: 'hint' }, r.prot)));
      }
    }
    replace('#pt-body', h('div', {}, head, table(['IOVA', 'physical', 'entry size × count', 'entry', 'bits (hover: meaning)', 'prot'], rows, { class: 'ptes' })));
  }

  function setupPageTable() {
    q('#domain-select').addEventListener('change', (ev) => { chosenDomain = ev.target.value; ptState = null; renderPageTable(); });
    q('#pt-apply').addEventListener('click', async () => {
      ptRange = { start: q('#pt-start').value.trim(), last: q('#pt-last').value.trim() };
      await fetchRange();
      renderPageTable();
    });
  }
  async function fetchRange() {
    if (!ptRange.start && !ptRange.last) { ptState = null; return; }
    const u = new URLSearchParams({ token });
    if (ptRange.start) u.set('ptStart', ptRange.start);
    if (ptRange.last) u.set('ptLast', ptRange.last);
    try { const r = await fetch('api/state?' + u); if (r.ok) ptState = await r.json(); } catch { /* keep */ }
  }

  function renderPins() {
    const out = [];
    out.push(h('h3', {}, 'per user (user->locked_vm: IOPT_PAGES_ACCOUNT_USER)'));
    out.push(table(['uid', 'locked', 'processes'], state.users.map((u) => h('tr', {}, h('td', {}, u.uid), h('td', {}, pages(u.lockedVmPages)), h('td', {}, u.processes.join(', '))))));
    out.push(h('h3', {}, 'per process (mm->locked_vm: ACCOUNT_MM; mm->pinned_vm: every pin)'));
    out.push(table(['pid', 'locked', 'pinned', 'RLIMIT_MEMLOCK', 'use'], state.processes.map((p) => {
      const lim = p.rlimitMemlock;
      const user = state.users.find((u) => u.uid === p.uid);
      const charged = Math.max(p.lockedVmPages, user ? user.lockedVmPages : 0) * 4096;
      const frac = lim && lim !== 'unlimited' && num(lim) > 0 ? Math.min(1, charged / num(lim)) : 0;
      return h('tr', {}, h('td', {}, p.pid), h('td', {}, pages(p.lockedVmPages)), h('td', {}, pages(p.pinnedVmPages)),
        h('td', { class: 'mono' }, lim === null ? 'unknown' : lim === 'unlimited' ? 'unlimited' : fmtBytes(num(lim))),
        h('td', {}, h('div', { class: 'meter', title: `${Math.round(frac * 100)}% of the limit` }, h('div', { style: `width:${(frac * 100).toFixed(1)}%` }))));
    })));
    out.push(h('h3', {}, 'pinned by area'));
    const rows = [];
    for (const io of state.ioas) for (const a of io.areas) if (a.pinnedPages) rows.push(h('tr', {}, h('td', {}, keyLink(io.key)), h('td', { class: 'mono' }, a.iova), h('td', {}, pages(a.pinnedPages)), h('td', {}, a.accountMode)));
    out.push(table(['IOAS', 'area IOVA', 'pinned', 'charged to'], rows));
    replace('#p-pins .body', h('div', {}, out));
  }

  function renderDevices() {
    const out = [];
    const rows = state.devices.map((d) => h('tr', { class: selected !== null && (d.name === selected || d.bound === selected) ? 'selected' : '', 'data-device': d.name },
      h('td', {}, h('b', {}, d.name), d.bdf ? h('div', { class: 'hint mono' }, d.bdf) : ''), h('td', {}, d.group), h('td', {}, d.unit),
      h('td', {}, d.bound ? keyLink(d.bound) : '—'), h('td', { class: 'attached' }, d.attached ? keyLink(d.attached) : '—'),
      h('td', {}, d.canEnforce ? 'yes' : 'no'),
      h('td', {}, h('span', { class: 'badge ' + (d.coherency.status === 'hazard' ? 'hazard' : d.coherency.status === 'coherent' ? 'coherent' : '') }, d.coherency.status), ' ', h('span', { class: 'hint' }, d.coherency.detail))));
    out.push(table(['device', 'group', 'IOMMU', 'bound as', 'attached to', 'can enforce', 'coherency'], rows, { class: 'devices' }));
    out.push(h('h3', {}, 'groups'));
    out.push(table(['group', 'devices', 'DMA owner', 'domain'], state.groups.map((g) => h('tr', {}, h('td', {}, g.id, ' ', h('span', { class: 'hint mono' }, g.path || '')), h('td', {}, g.devices.join(', ')),
      h('td', {}, g.owner === null ? '—' : `iommufd ${g.owner}`), h('td', {}, g.domain ? keyLink(g.domain) : 'blocking')))));
    const c = state.platform.coherency;
    if (c.length) {
      out.push(h('h3', {}, `platform coherency table (each device bound and attached in turn; VFIO_DMA_CC_IOMMU ${state.platform.dmaCcIommu})`));
      out.push(table(['device', 'bind', 'can enforce', 'automatic HWPT'], c.map((r) => h('tr', {}, h('td', {}, r.device), h('td', {}, r.bind), h('td', {}, r.canEnforce ? 'yes' : 'no'),
        h('td', {}, r.hwpt === null ? `— (${r.attach})` : `${r.hwpt}, ${r.enforcing ? 'enforcing' : 'not enforcing'}`)))));
    }
    replace('#p-devices .body', h('div', {}, out));
  }

  // ---- timeline ----

  function setupTimeline() {
    const bar = q('#tl-kinds');
    for (const k of kinds) {
      const cb = h('input', { type: 'checkbox', checked: true, 'data-kind': k, onchange: (ev) => { if (ev.target.checked) shownKinds.add(k); else shownKinds.delete(k); renderTimeline(); } });
      bar.append(h('label', { class: 'badge kind-' + k }, cb, k));
    }
    q('#tl-filter').addEventListener('input', () => renderTimeline());
    q('#tl-clear').addEventListener('click', () => { selected = null; render(); });
  }

  function eventMatches(e, f) {
    if (!shownKinds.has(e.kind)) return false;
    if (selected && !e.objects.includes(selected) && !e.devices.includes(selected)) return false;
    if (!f) return true;
    return e.text.toLowerCase().includes(f) || e.name.toLowerCase().includes(f) || e.objects.includes(f) || e.devices.includes(f);
  }

  function renderTimeline() {
    const f = q('#tl-filter').value.trim().toLowerCase();
    const shown = [];
    for (let i = events.length - 1; i >= 0 && shown.length < 400; i--) if (eventMatches(events[i], f)) shown.push(events[i]);
    q('#tl-count').textContent = `${shown.length} shown of ${events.length}${selected ? `, touching ${selected}` : ''}`;
    replace('#tl-body', shown.length ? h('div', {}, shown.map((e) => h('div', { class: 'tl-row', 'data-kind': e.kind, 'data-seq': e.seq },
      h('span', { class: 'when' }, new Date(e.t).toISOString().slice(11, 23)),
      h('span', {}, h('span', { class: 'badge kind-' + e.kind }, e.kind), e.ok || (e.kind !== 'ioctl' && e.kind !== 'call') ? '' : h('span', { class: 'badge fail' }, e.errno || 'failed')),
      h('span', {}, h('span', { class: 'text' }, e.text), ' ', e.objects.map(keyLink), e.devices.map((d) => h('span', { class: 'key', onclick: () => select(d) }, d))))))
      : h('div', { class: 'empty' }, 'no events yet'));
  }

  function render() {
    if (!state) return;
    renderHeader(); renderClients(); renderObjects(); renderIova(); renderPageTable(); renderPins(); renderDevices(); renderTimeline();
    document.body.dataset.seq = String(state.seq);
  }

  // ---- data ----

  function setStatus(kind, text) { const s = q('#status'); s.dataset.state = kind; s.textContent = text; }

  function onState(s) {
    state = s;
    if (ptRange.start || ptRange.last) fetchRange().then(() => renderPageTable());
    render();
  }
  function onEvent(e) {
    if (events.length && e.seq <= events[events.length - 1].seq) return;
    events.push(e);
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
    renderTimelineSoon();
  }
  let tlTimer = null;
  function renderTimelineSoon() { if (!tlTimer) tlTimer = setTimeout(() => { tlTimer = null; renderTimeline(); }, 100); }

  async function poll() {
    try {
      const r = await fetch('api/state?token=' + encodeURIComponent(token));
      if (!r.ok) { setStatus('error', `HTTP ${r.status}`); return; }
      onState(await r.json());
      setStatus('live', 'polling');
    } catch { setStatus('error', 'disconnected'); }
  }

  function connect() {
    if (!window.EventSource) { poll(); setInterval(poll, 1000); return; }
    const es = new EventSource('api/events?token=' + encodeURIComponent(token));
    es.addEventListener('state', (m) => { onState(JSON.parse(m.data)); setStatus('live', 'live'); });
    es.addEventListener('ui-event', (m) => onEvent(JSON.parse(m.data)));
    es.onerror = () => setStatus('error', 'disconnected, retrying…');
  }

  setupIovaInteraction();
  setupPageTable();
  setupTimeline();
  window.addEventListener('resize', () => renderIova());
  connect();
})();
