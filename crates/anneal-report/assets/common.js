/* anneal report — shared helpers.
 * Inlined first (then charts.js, then study.js or run.js). Everything hangs off
 * one global, window.AnnealReport, so the inlined files cannot collide with each
 * other or with anything else on the page. Never writes to the console: a
 * report is a document, so problems are shown in the page instead. */
(function (root) {
  'use strict';
  var R = root.AnnealReport = root.AnnealReport || {};
  var SVG_NS = 'http://www.w3.org/2000/svg';

  /* ---------- values and formatting ---------- */

  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function clamp(v, lo, hi) { return v < lo ? lo : v > hi ? hi : v; }
  function has(o, k) { return o != null && Object.prototype.hasOwnProperty.call(o, k); }
  function obj(v) { return v && typeof v === 'object' && !Array.isArray(v) ? v : {}; }
  function arr(v) { return Array.isArray(v) ? v : []; }
  // Display text from a field that should be a string; objects never leak as "[object Object]".
  function str(v, dflt) {
    if (typeof v === 'string') return v !== '' ? v : dflt;
    return typeof v === 'number' || typeof v === 'boolean' ? String(v) : dflt;
  }

  // "1.230e-4" -> "1.23e-4", "1.000e+6" -> "1e6": exponent form without noise.
  function trimExp(s) { return s.replace(/\.?0+e/, 'e').replace('e+', 'e'); }

  function fmt(v, digits) {
    if (v === null || v === undefined) return '—';
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return isNaN(v) ? '—' : (v > 0 ? '∞' : '−∞');
    if (v === 0) return '0';
    var p = digits || 4, a = Math.abs(v);
    if (a >= 1e6 || a < 1e-3) return trimExp(v.toExponential(p - 1));
    if (Number.isInteger(v)) return String(v);
    return String(parseFloat(v.toPrecision(p)));
  }

  // Parameter values may be numbers, strings, booleans or (badly) anything else.
  function fmtValue(v) {
    if (v === null || v === undefined) return '—';
    if (typeof v === 'number') return fmt(v);
    if (typeof v === 'string' || typeof v === 'boolean') return String(v);
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }

  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function fmtDuration(s) {
    if (!isNum(s) || s < 0) return '—';
    if (s < 1) return fmt(s * 1000, 3) + ' ms';
    if (s < 60) return fmt(s, 3) + ' s';
    var m = Math.floor(s / 60), sec = Math.round(s - m * 60);
    if (sec === 60) { m += 1; sec = 0; }
    if (m < 60) return m + 'm ' + pad2(sec) + 's';
    var h = Math.floor(m / 60);
    return h + 'h ' + pad2(m - h * 60) + 'm';
  }

  // Identity of a categorical value: 1, "1" and true must stay distinct.
  function catKey(v) {
    if (v === undefined) return 'undefined';
    try { return typeof v + ':' + JSON.stringify(v); } catch (e) { return typeof v + ':' + String(v); }
  }

  function extent(vals) {
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < vals.length; i++) {
      var v = vals[i];
      if (isNum(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    }
    return lo <= hi ? [lo, hi] : null;
  }

  /* ---------- ticks ---------- */

  function cleanNum(v) { return parseFloat(v.toPrecision(12)); }

  function niceStep(raw) {
    if (!(raw > 0) || !isFinite(raw)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  function niceTicks(lo, hi, count, integer) {
    if (!isNum(lo) || !isNum(hi)) return [];
    if (lo > hi) { var t = lo; lo = hi; hi = t; }
    if (lo === hi) return [lo];
    var step = niceStep((hi - lo) / Math.max(1, count || 5));
    if (integer && step < 1) step = 1;
    var i0 = Math.ceil(lo / step - 1e-9), i1 = Math.floor(hi / step + 1e-9), out = [];
    if (i1 - i0 > 500) return [lo, hi];
    for (var i = i0; i <= i1; i++) out.push(cleanNum(i * step));
    return out;
  }

  // Decades when the range is wide, 1-2-5 inside a decade or two, linear ticks
  // when the range is too narrow to hold two "round" log values.
  function logTicks(lo, hi) {
    if (!(lo > 0) || !(hi > 0) || !isFinite(lo) || !isFinite(hi)) return [];
    if (lo > hi) { var t = lo; lo = hi; hi = t; }
    var e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi)), span = e1 - e0;
    var mults = span <= 2 ? [1, 2, 5] : [1], step = span > 7 ? Math.ceil(span / 6) : 1, out = [];
    for (var e = e0; e <= e1; e += step) {
      for (var j = 0; j < mults.length; j++) {
        var v = cleanNum(mults[j] * Math.pow(10, e));
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    }
    if (out.length < 2) out = niceTicks(lo, hi, 4).filter(function (v) { return v > 0; });
    return out;
  }

  // Enough digits to tell neighbouring ticks apart, never fewer than 3.
  function tickFormat(ticks) {
    var step = Infinity, big = 0;
    for (var i = 0; i < ticks.length; i++) {
      big = Math.max(big, Math.abs(ticks[i]));
      if (i) step = Math.min(step, Math.abs(ticks[i] - ticks[i - 1]));
    }
    var d = isFinite(step) && step > 0 && big > 0 ? Math.ceil(Math.log10(big / step)) + 1 : 3;
    d = clamp(d, 3, 10);
    return function (v) { return fmt(v, d); };
  }

  /* ---------- scales ---------- */
  // spec: {type: 'linear'|'log'|'band', values, domain: [lo, hi], cats, nice, pad,
  // integer, zero, ticks}. Returns f(value) -> pixel (NaN when unplaceable) with
  // .type, .domain, .ticks, .fmt and, for bands, .cats and .bandwidth.

  function scale(spec, r0, r1) {
    spec = spec || {};
    if (spec.type === 'band') return bandScale(arr(spec.cats), r0, r1);
    var vals = arr(spec.values).filter(isNum).concat(arr(spec.domain).filter(isNum));
    if (spec.type === 'log') {
      var pos = vals.filter(function (v) { return v > 0; });
      if (pos.length) return logScale(pos, r0, r1, spec);
    }
    return linearScale(vals, r0, r1, spec);
  }

  function linearScale(vals, r0, r1, spec) {
    var e = extent(vals) || [0, 1], lo = e[0], hi = e[1];
    if (spec.zero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (lo === hi) { var d = Math.abs(lo) * 0.1 || 1; if (spec.integer) d = Math.max(1, d); lo -= d; hi += d; }
    var pad = spec.pad == null ? 0.04 : spec.pad, span = hi - lo, count = spec.ticks || 5;
    // Padding never pushes an all-positive (or all-negative) range across zero:
    // a loss axis starting at -0.5 reads as nonsense.
    var lo0 = lo, hi0 = hi;
    lo -= span * pad; hi += span * pad;
    if (lo0 >= 0 && lo < 0) lo = 0;
    if (hi0 <= 0 && hi > 0) hi = 0;
    if (spec.nice !== false) {
      var step = niceStep((hi - lo) / count);
      if (spec.integer && step < 1) step = 1;
      lo = cleanNum(Math.floor(lo / step + 1e-9) * step);
      hi = cleanNum(Math.ceil(hi / step - 1e-9) * step);
    }
    var k = (r1 - r0) / (hi - lo);
    var s = function (v) { return isNum(v) ? r0 + (v - lo) * k : NaN; };
    s.type = 'linear'; s.domain = [lo, hi]; s.range = [r0, r1];
    s.ticks = niceTicks(lo, hi, count, spec.integer);
    s.fmt = tickFormat(s.ticks);
    return s;
  }

  function logScale(vals, r0, r1, spec) {
    var e = extent(vals), lo = Math.log10(e[0]), hi = Math.log10(e[1]);
    if (lo === hi) { lo -= 0.5; hi += 0.5; }
    var pad = spec.pad == null ? 0.04 : spec.pad, span = hi - lo;
    lo -= span * pad; hi += span * pad;
    var k = (r1 - r0) / (hi - lo);
    var s = function (v) { return isNum(v) && v > 0 ? r0 + (Math.log10(v) - lo) * k : NaN; };
    s.type = 'log'; s.domain = [Math.pow(10, lo), Math.pow(10, hi)]; s.range = [r0, r1];
    s.ticks = logTicks(s.domain[0], s.domain[1]);
    s.fmt = function (v) { return fmt(v, 3); };
    return s;
  }

  function bandScale(cats, r0, r1) {
    var index = new Map(), list = [];
    cats.forEach(function (c) {
      var key = catKey(c);
      if (!index.has(key)) { index.set(key, list.length); list.push(c); }
    });
    var bw = list.length ? (r1 - r0) / list.length : 0;
    var s = function (v) {
      var i = index.get(catKey(v));
      return i === undefined ? NaN : r0 + (i + 0.5) * bw;
    };
    s.type = 'band'; s.cats = list; s.ticks = list; s.range = [r0, r1];
    s.bandwidth = Math.abs(bw); s.fmt = fmtValue;
    return s;
  }

  /* ---------- colour ---------- */

  // Viridis sampled at ten stops; interpolating between them is visually exact enough.
  var VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e',
    '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'].map(function (h) {
    return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
  });
  function hex2(n) { var s = Math.round(clamp(n, 0, 255)).toString(16); return s.length < 2 ? '0' + s : s; }
  function viridis(u) {
    u = clamp(isNum(u) ? u : 0, 0, 1) * (VIRIDIS.length - 1);
    var i = Math.min(Math.floor(u), VIRIDIS.length - 2), f = u - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return '#' + hex2(a[0] + (b[0] - a[0]) * f) + hex2(a[1] + (b[1] - a[1]) * f) + hex2(a[2] + (b[2] - a[2]) * f);
  }
  // The report's one sequential scale: t = 0 light yellow-green, t = 1 dark purple.
  // The top of viridis is skipped because pure yellow vanishes on white paper.
  function seq(t) { return viridis(0.9 * (1 - clamp(isNum(t) ? t : 0, 0, 1))); }

  // Objective colouring: better values get the dark end whatever the direction.
  function objectiveColor(values, direction) {
    var e = extent(values) || [0, 1], lo = e[0], hi = e[1], max = direction === 'maximize';
    function t(v) {
      if (!isNum(v)) return NaN;
      if (hi === lo) return 1;
      var u = (v - lo) / (hi - lo);
      return max ? u : 1 - u;
    }
    return { t: t, color: function (v) { return isNum(v) ? seq(t(v)) : '#999999'; },
      best: max ? hi : lo, worst: max ? lo : hi };
  }

  /* ---------- DOM ---------- */

  function r2(v) { return String(Math.round(v * 100) / 100); }

  // Null, false and non-finite numbers are skipped: a "NaN" coordinate would make
  // browsers log an SVG parse error, and this report must stay silent.
  function setAttrs(n, attrs) {
    if (!attrs) return n;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (typeof v === 'number' && !isFinite(v)) return;
      if (k === 'text') n.textContent = String(v);
      else n.setAttribute(k, typeof v === 'number' ? r2(v) : String(v));
    });
    return n;
  }

  function svg(tag, attrs, parent) {
    var n = setAttrs(document.createElementNS(SVG_NS, tag), attrs);
    if (parent) parent.appendChild(n);
    return n;
  }

  function el(tag, attrs, children) {
    var n = setAttrs(document.createElement(tag), attrs);
    arr(children).forEach(function (c) {
      if (c === null || c === undefined) return;
      n.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
    return n;
  }

  // <title> gives a native hover tooltip that needs no script and survives printing.
  function title(node, text) { svg('title', { text: text }, node); return node; }

  function note(parent, text, cls) {
    return parent.appendChild(el('p', { class: 'note' + (cls ? ' ' + cls : ''), text: text }));
  }

  // One failing section must not take the rest of the report down with it.
  function addSection(rootEl, id, heading, fill) {
    var sec = el('section', { class: 'card', id: id }, [el('h2', { text: heading })]);
    rootEl.appendChild(sec);
    try { fill(sec); } catch (e) {
      note(sec, 'This section could not be drawn: ' + (e && e.message ? e.message : String(e)), 'render-error');
    }
    return sec;
  }

  // A definition list of [label, value-or-node] pairs; empty values are left out.
  function kvList(pairs) {
    var dl = el('dl', { class: 'kv' });
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === '') return;
      dl.appendChild(el('dt', { text: p[0] }));
      dl.appendChild(el('dd', null, [p[1]]));
    });
    return dl;
  }

  /* ---------- copy to clipboard ---------- */

  function legacyCopy(text) {
    var ta;
    try {
      ta = el('textarea', { readonly: 'readonly', class: 'copy-buffer' });
      ta.value = text;
      ta.style.position = 'fixed'; ta.style.left = '-9999px'; ta.style.top = '0';
      document.body.appendChild(ta);
      ta.select();
      return typeof document.execCommand === 'function' && !!document.execCommand('copy');
    } catch (e) {
      return false;
    } finally {
      if (ta && ta.parentNode) ta.parentNode.removeChild(ta);
    }
  }

  // A file:// page may or may not get navigator.clipboard; try it, fall back to
  // execCommand, and as a last resort select the text so the user can copy it.
  function copyBlock(parent, text, label) {
    var wrap = el('div', { class: 'copy-block' });
    var pre = el('pre', { class: 'config', text: text });
    var status = el('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    var btn = el('button', { type: 'button', class: 'copy-btn ctl', text: label || 'Copy' });
    function done(ok) {
      status.textContent = ok ? 'Copied.' : 'Copy is blocked here: the text is selected, press Ctrl+C.';
      if (!ok) selectText(pre);
    }
    btn.addEventListener('click', function () {
      try {
        var nav = root.navigator;
        if (nav && nav.clipboard && typeof nav.clipboard.writeText === 'function') {
          nav.clipboard.writeText(text).then(function () { done(true); },
            function () { done(legacyCopy(text)); });
          return;
        }
      } catch (e) { /* fall through to the legacy path */ }
      done(legacyCopy(text));
    });
    wrap.appendChild(el('div', { class: 'copy-bar' }, [btn, status]));
    wrap.appendChild(pre);
    parent.appendChild(wrap);
    return wrap;
  }

  function selectText(node) {
    try {
      var sel = root.getSelection && root.getSelection(), range = document.createRange();
      range.selectNodeContents(node);
      if (sel) { sel.removeAllRanges(); sel.addRange(range); }
    } catch (e) { /* selection is a convenience only */ }
  }

  /* ---------- sortable table ---------- */

  function missing(v) { return v === null || v === undefined || v === '' || (typeof v === 'number' && !isFinite(v)); }
  function typeRank(v) { return typeof v === 'number' ? 0 : typeof v === 'boolean' ? 1 : typeof v === 'string' ? 2 : 3; }

  // Missing values sort last in both directions: they are never the interesting rows.
  function compareValues(a, b, dir) {
    var am = missing(a), bm = missing(b);
    if (am || bm) return am === bm ? 0 : am ? 1 : -1;
    var ta = typeRank(a), tb = typeRank(b);
    if (ta !== tb) return (ta - tb) * dir;
    if (ta < 2) return (Number(a) - Number(b)) * dir;
    return String(fmtValue(a)).localeCompare(String(fmtValue(b)), undefined, { numeric: true }) * dir;
  }

  // columns: [{label, get(row) -> sort value, text(row) | render(row, td), cls,
  // sortable, header(th)}]; opts.rowAttrs(row) -> attributes for the <tr>.
  function table(columns, rows, opts) {
    opts = opts || {};
    var tbl = el('table', { class: 'data-table' + (opts.cls ? ' ' + opts.cls : '') });
    var thead = el('thead'), htr = el('tr'), tbody = el('tbody'), state = { col: -1, dir: 1 };
    var pairs = rows.map(function (row, i) {
      var tr = el('tr', opts.rowAttrs ? opts.rowAttrs(row) : null);
      columns.forEach(function (col) {
        var td = el('td', { class: col.cls });
        if (col.render) col.render(row, td);
        else td.textContent = col.text ? col.text(row) : fmtValue(col.get(row));
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
      return { tr: tr, row: row, i: i };
    });
    var ths = columns.map(function (col, ci) {
      var th = el('th', { class: col.cls, scope: 'col' });
      if (col.header) col.header(th); else th.textContent = col.label;
      if (col.sortable !== false && col.get) {
        th.classList.add('sortable');
        setAttrs(th, { tabindex: 0, 'aria-sort': 'none', title: 'Sort by ' + col.label });
        th.addEventListener('click', function () { sortBy(ci); });
        th.addEventListener('keydown', function (e) {
          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(ci); }
        });
      }
      htr.appendChild(th);
      return th;
    });
    function sortBy(ci) {
      state.dir = state.col === ci ? -state.dir : 1;
      state.col = ci;
      var get = columns[ci].get;
      pairs.sort(function (a, b) { return compareValues(get(a.row), get(b.row), state.dir) || a.i - b.i; });
      pairs.forEach(function (p) { tbody.appendChild(p.tr); });
      ths.forEach(function (th, j) {
        if (!th.classList.contains('sortable')) return;
        th.setAttribute('aria-sort', j === ci ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
      });
    }
    thead.appendChild(htr);
    tbl.appendChild(thead);
    tbl.appendChild(tbody);
    tbl.setAttribute('data-rows', String(rows.length));
    return { table: tbl, tbody: tbody, sortBy: sortBy, pairs: pairs };
  }

  function tableWrap(t) { return el('div', { class: 'table-wrap' }, [t.table || t]); }

  /* ---------- start-up ---------- */

  function showError(rootEl, msg) {
    rootEl.appendChild(el('p', { class: 'note render-error', text: msg }));
  }

  // Renders once, when the DOM is ready. The data kind is checked so that a page
  // accidentally carrying both renderers still draws only the right one.
  function boot(kind, render) {
    if (typeof document === 'undefined') return;
    function go() {
      var rootEl = document.getElementById('report'), node = document.getElementById('data');
      if (!rootEl || rootEl.getAttribute('data-kind')) return;
      var data = null;
      try {
        data = JSON.parse(node ? node.textContent || 'null' : 'null');
      } catch (e) {
        rootEl.setAttribute('data-kind', kind);
        showError(rootEl, 'The report data could not be read: ' + (e && e.message ? e.message : String(e)));
        rootEl.setAttribute('data-ready', 'error');
        return;
      }
      if (data && typeof data === 'object' && data.kind && data.kind !== kind) return;
      rootEl.setAttribute('data-kind', kind);
      // A page assembled without charts.js would otherwise fail section by section.
      if (typeof R.frame !== 'function') {
        showError(rootEl, 'The report page is incomplete: charts.js must be inlined between common.js and ' + kind + '.js.');
        rootEl.setAttribute('data-ready', 'error');
        return;
      }
      try {
        render(obj(data), rootEl);
        rootEl.setAttribute('data-ready', 'true');
      } catch (e) {
        showError(rootEl, 'The report could not be drawn: ' + (e && e.message ? e.message : String(e)));
        rootEl.setAttribute('data-ready', 'error');
      }
    }
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go);
    else go();
  }

  var api = {
    isNum: isNum, clamp: clamp, has: has, obj: obj, arr: arr, str: str,
    fmt: fmt, fmtValue: fmtValue, fmtDuration: fmtDuration, catKey: catKey, extent: extent,
    niceStep: niceStep, niceTicks: niceTicks, logTicks: logTicks, tickFormat: tickFormat,
    scale: scale, viridis: viridis, seq: seq, objectiveColor: objectiveColor,
    svg: svg, el: el, setAttrs: setAttrs, title: title, note: note, addSection: addSection,
    kvList: kvList, copyBlock: copyBlock, table: table, tableWrap: tableWrap,
    compareValues: compareValues, boot: boot, r2: r2
  };
  Object.keys(api).forEach(function (k) { R[k] = api[k]; });
})(typeof window !== 'undefined' ? window : this);
