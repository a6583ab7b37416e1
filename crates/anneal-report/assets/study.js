/* anneal report — study page. Inlined after common.js and charts.js; renders
 * #report from the JSON in #data when data.kind is "study" (or missing).
 * Every mark drawn for a trial carries data-trial="<number>" so the trials
 * table can hide it without re-rendering. */
(function (root) {
  'use strict';
  var R = root.AnnealReport, isNum = R.isNum, has = R.has;
  var STATES = ['complete', 'pruned', 'failed', 'paused', 'running', 'interrupted'];
  var COLOR = { complete: '#2c6e8f', pruned: '#2c6e8f', failed: '#c0392b', other: '#b7791f', best: '#e4572e' };

  /* ---------- data normalisation: the page must survive any shape ---------- */

  function cls(s) { return String(s).toLowerCase().replace(/[^a-z0-9-]/g, '') || 'unknown'; }
  function present(v) { return v !== undefined && v !== null; }
  function paramValue(t, p) { return has(t.params, p.name) ? t.params[p.name] : undefined; }

  function normCurve(list) {
    var out = [];
    R.arr(list).forEach(function (e) {
      var s = null, v = null;
      if (Array.isArray(e)) { s = e[0]; v = e[1]; } else if (e && typeof e === 'object') { s = e.step; v = e.value; }
      if (isNum(s) && isNum(v)) out.push([s, v]);
    });
    return out.sort(function (a, b) { return a[0] - b[0]; });
  }

  function normTrials(list) {
    return R.arr(list).filter(function (t) { return t && typeof t === 'object'; }).map(function (t, i) {
      return {
        number: isNum(t.number) ? t.number : i,
        state: typeof t.state === 'string' && t.state ? t.state.toLowerCase() : 'unknown',
        value: isNum(t.value) ? t.value : null,
        params: R.obj(t.params),
        curve: normCurve(t.intermediate),
        duration: isNum(t.duration) ? t.duration : null,
        epochs: isNum(t.epochs) ? t.epochs : null,
        message: t.message == null || t.message === '' ? null : String(t.message)
      };
    }).sort(function (a, b) { return a.number - b.number; });
  }

  function normParams(list, trials) {
    var out = [], seen = new Set();
    function add(name, p) {
      if (seen.has(name)) return;
      seen.add(name);
      out.push({
        name: name, kind: ['float', 'int', 'categorical'].indexOf(p.kind) >= 0 ? p.kind : null,
        log: p.log === true, low: isNum(p.low) ? p.low : null, high: isNum(p.high) ? p.high : null,
        choices: Array.isArray(p.choices) ? p.choices : null
      });
    }
    R.arr(list).forEach(function (p) { if (p && typeof p === 'object' && p.name != null) add(String(p.name), p); });
    // Parameters seen only in trials (an older search space, say) still get an axis and a column.
    trials.forEach(function (t) { Object.keys(t.params).forEach(function (k) { add(k, {}); }); });
    out.forEach(function (p) {
      var vals = trials.map(function (t) { return paramValue(t, p); }).filter(present);
      var numeric = vals.every(isNum);
      if (!p.kind) p.kind = vals.length && numeric ? 'float' : 'categorical';
      // A "numeric" parameter holding strings or booleans cannot sit on a number line.
      if (p.kind !== 'categorical' && !numeric) p.kind = 'categorical';
      if (p.kind === 'categorical') { p.log = false; p.cats = R.arr(p.choices).concat(vals); }
      else if (p.log && (vals.some(function (v) { return v <= 0; }) || (p.low !== null && p.low <= 0))) p.log = false;
    });
    return out;
  }

  function paramSpec(p, trials, extra) {
    if (p.kind === 'categorical') return { type: 'band', cats: p.cats };
    return Object.assign({
      type: p.log ? 'log' : 'linear', domain: [p.low, p.high], integer: p.kind === 'int',
      values: trials.map(function (t) { return paramValue(t, p); }).filter(isNum)
    }, extra || {});
  }
  function axisName(p) { return p.name + (p.log ? ' (log)' : ''); }
  function canPlace(p, v) { return p.kind === 'categorical' ? present(v) : isNum(v) && (!p.log || v > 0); }
  // Deterministic jitter in [-0.5, 0.5): the same trial lands in the same place on every render.
  function jitter(n) { var s = Math.sin(n * 12.9898 + 78.233) * 43758.5453; return s - Math.floor(s) - 0.5; }

  function context(data, rootEl) {
    var st = R.obj(data.study), dir = st.direction === 'maximize' ? 'maximize' : 'minimize';
    var trials = normTrials(data.trials), params = normParams(data.params, trials);
    var complete = trials.filter(function (t) { return t.state === 'complete' && t.value !== null; });
    var better = function (a, b) { return dir === 'maximize' ? a > b : a < b; };
    var b = R.obj(data.best), bestTrial = null;
    if (isNum(b.number)) bestTrial = trials.filter(function (t) { return t.number === b.number; })[0] || null;
    if (!bestTrial) complete.forEach(function (t) { if (!bestTrial || better(t.value, bestTrial.value)) bestTrial = t; });
    var ne = R.extent(trials.map(function (t) { return t.number; })) || [0, 0];
    var ctx = {
      data: data, root: rootEl, study: st, dir: dir, objective: R.str(st.objective, 'value'),
      trials: trials, params: params, complete: complete, better: better, bestTrial: bestTrial,
      bestNumber: isNum(b.number) ? b.number : bestTrial ? bestTrial.number : null,
      bestValue: isNum(b.value) ? b.value : bestTrial ? bestTrial.value : null,
      numberRange: ne
    };
    ctx.trialColor = function (n) { return R.seq(ne[1] === ne[0] ? 1 : (n - ne[0]) / (ne[1] - ne[0])); };
    var tips = new Map();
    ctx.tip = function (t) {
      if (tips.has(t)) return tips.get(t);
      var lines = ['Trial #' + t.number + ' (' + t.state + ')', ctx.objective + ' = ' + R.fmt(t.value)];
      params.forEach(function (p) { if (has(t.params, p.name)) lines.push(p.name + ' = ' + R.fmtValue(t.params[p.name])); });
      if (t.epochs !== null) lines.push('epochs = ' + R.fmt(t.epochs));
      if (t.duration !== null) lines.push('duration = ' + R.fmtDuration(t.duration));
      if (t.message) lines.push(t.message);
      tips.set(t, lines.join('\n'));
      return tips.get(t);
    };
    return ctx;
  }

  /* ---------- sections ---------- */

  function summary(ctx, sec) {
    var counts = {}, st = ctx.study;
    ctx.trials.forEach(function (t) { counts[t.state] = (counts[t.state] || 0) + 1; });
    var chips = R.el('span', { class: 'state-counts' });
    STATES.concat(Object.keys(counts).filter(function (s) { return STATES.indexOf(s) < 0; })).forEach(function (s) {
      if (counts[s]) chips.appendChild(R.el('span', { class: 'state state-' + cls(s), text: s + ' ' + counts[s] }));
    });
    var bestText = ctx.bestValue !== null
      ? R.fmt(ctx.bestValue) + (ctx.bestNumber !== null ? ' (trial #' + ctx.bestNumber + ')' : '')
      : 'no complete trial yet';
    sec.appendChild(R.kvList([
      ['Study', R.str(st.name, '(unnamed)')],
      ['Direction', ctx.dir],
      ['Objective', ctx.objective],
      ['Sampler', R.str(st.sampler, '—')],
      ['Pruner', R.str(st.pruner, '—')],
      ['Budget', isNum(st.budget) ? R.fmt(st.budget) + ' trials' : 'none'],
      // Stored as seconds since the Unix epoch; shown in UTC so every reader sees the same.
      ['Created', typeof st.created === 'number' && isFinite(st.created)
        ? new Date(st.created * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
        : R.str(st.created, null)],
      ['Parameters', ctx.params.length ? ctx.params.map(axisName).join(', ') : 'none'],
      ['Trials', R.el('span', null, [ctx.trials.length + ' ', chips])],
      ['Best ' + ctx.objective, R.el('strong', { text: bestText })]
    ]));
  }

  function history(ctx, sec) {
    if (!ctx.trials.length) return R.note(sec, 'No trials have been run yet.');
    // A pruned or paused trial is placed at its last reported value when it has no final one.
    var items = ctx.trials.map(function (t) {
      var y = t.value;
      if (y === null && t.curve.length) y = t.curve[t.curve.length - 1][1];
      return { t: t, y: t.state === 'failed' ? null : y };
    });
    var f = R.frame(sec, {
      w: 880, h: 360, label: 'Optimization history', xLabel: 'trial number', yLabel: ctx.objective,
      // A lone trial gets a half-trial margin each side rather than a "-1" tick.
      x: { type: 'linear', values: ctx.trials.map(function (t) { return t.number; }), integer: true, nice: false, pad: 0.03,
        domain: [ctx.trials[0].number - 0.5, ctx.trials[ctx.trials.length - 1].number + 0.5] },
      y: { type: 'linear', values: items.map(function (i) { return i.y; }) }
    });
    var d = '', cur = null, r2 = R.r2;
    ctx.complete.forEach(function (t) {
      if (cur === null) { cur = t.value; d = 'M' + r2(f.x(t.number)) + ' ' + r2(f.y(cur)); return; }
      d += 'H' + r2(f.x(t.number));
      if (ctx.better(t.value, cur)) { cur = t.value; d += 'V' + r2(f.y(cur)); }
    });
    if (d) {
      d += 'H' + r2(f.x(ctx.trials[ctx.trials.length - 1].number));
      R.title(R.svg('path', { class: 'best-line', d: d, fill: 'none', stroke: COLOR.best }, f.plot),
        'Best so far: ' + R.fmt(cur));
    }
    var drawn = 0, seen = {};
    items.forEach(function (it) {
      var t = it.t, onBase = it.y === null, x = f.x(t.number), y = onBase ? f.y0 : f.y(it.y);
      var shape = t.state === 'failed' ? 'cross' : t.state === 'complete' && !onBase ? 'dot'
        : t.state === 'pruned' || t.state === 'complete' ? 'ring' : 'square';
      var color = COLOR[t.state] || COLOR.other;
      seen[shape] = t.state;
      var node = R.marker(f.plot, shape, x, y, shape === 'cross' ? 3.5 : shape === 'square' ? 3.2 : 4, {
        class: 'pt state-' + cls(t.state) + (onBase ? ' on-base' : ''), 'data-trial': t.number,
        fill: shape === 'dot' ? color : null, stroke: shape === 'dot' ? null : color, 'stroke-width': shape === 'dot' ? null : 1.6
      });
      if (node) { R.title(node, ctx.tip(t)); drawn += 1; }
    });
    f.svg.setAttribute('data-points', String(drawn));
    var legend = [];
    if (seen.dot) legend.push({ label: 'complete', shape: 'dot', color: COLOR.complete });
    if (seen.ring) legend.push({ label: 'pruned (last reported value)', shape: 'ring', color: COLOR.pruned });
    if (seen.square) legend.push({ label: 'paused / running', shape: 'square', color: COLOR.other });
    if (seen.cross) legend.push({ label: 'failed (on the axis)', shape: 'cross', color: COLOR.failed });
    if (d) legend.push({ label: 'best so far (' + ctx.dir + ')', shape: 'line', color: COLOR.best });
    R.legend(sec, legend);
  }

  function uniqueLabels(names) {
    var n = {};
    return names.map(function (s) { n[s] = (n[s] || 0) + 1; return n[s] > 1 ? s + ' (' + n[s] + ')' : s; });
  }

  function importance(ctx, sec) {
    var imp = ctx.data.importance && typeof ctx.data.importance === 'object' ? ctx.data.importance : null;
    if (imp && imp.method) sec.appendChild(R.el('p', { class: 'method', text: String(imp.method) }));
    var vals = imp ? R.arr(imp.values).filter(function (v) { return v && typeof v === 'object' && isNum(v.importance); })
      .map(function (v) { return { name: R.str(v.name, '?'), v: v.importance }; }) : [];
    if (!vals.length) {
      return R.note(sec, imp ? 'The importance analysis returned no values.'
        : 'Parameter importance is not available: it needs at least two complete trials and at least one parameter that varies.');
    }
    vals.sort(function (a, b) { return b.v - a.v; });
    var names = uniqueLabels(vals.map(function (v) { return v.name; }));
    var f = R.frame(sec, {
      w: 760, h: 70 + 28 * vals.length, label: 'Parameter importance', xLabel: 'importance', mr: 60,
      x: { type: 'linear', values: vals.map(function (v) { return v.v; }), zero: true, pad: 0.02 },
      y: { type: 'band', cats: names.slice().reverse() }
    });
    var max = Math.max.apply(null, vals.map(function (v) { return Math.abs(v.v); }));
    vals.forEach(function (v, i) {
      var y = f.y(names[i]), h = f.y.bandwidth * 0.64, xa = f.x(0), xb = f.x(v.v);
      var bar = R.svg('rect', {
        class: 'bar', x: Math.min(xa, xb), y: y - h / 2, width: Math.max(0.5, Math.abs(xb - xa)), height: h,
        fill: R.seq(0.3 + 0.7 * (max > 0 ? Math.abs(v.v) / max : 1))
      }, f.plot);
      R.title(bar, v.name + ': importance ' + R.fmt(v.v));
      R.svg('text', { class: 'bar-label', x: Math.max(xa, xb) + 4, y: y + 3.5, text: R.fmt(v.v) }, f.plot);
    });
    f.svg.setAttribute('data-bars', String(vals.length));
  }

  function parallel(ctx, sec) {
    if (!ctx.params.length) return R.note(sec, 'The study has no parameters to draw.');
    var lines = ctx.complete;
    if (!lines.length) return R.note(sec, 'No complete trial with a value yet.');
    var axes = ctx.params.map(function (p) {
      return { name: axisName(p), spec: paramSpec(p, lines, { nice: false, pad: 0.03 }), get: function (t) { return paramValue(t, p); } };
    });
    axes.push({ name: ctx.objective, objective: true, get: function (t) { return t.value; },
      spec: { type: 'linear', nice: false, pad: 0.03, values: lines.map(function (t) { return t.value; }) } });
    var n = axes.length, W = Math.max(720, 120 * n + 120), H = 400, top = 58, bottom = H - 28, left = 80, right = W - 64;
    var gap = (right - left) / (n - 1);
    axes.forEach(function (a, i) { a.x = left + i * gap; a.s = R.scale(a.spec, bottom, top); });
    var svg = R.svg('svg', { class: 'chart parallel', viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img', 'aria-label': 'Parallel coordinates' }, sec);
    var oc = R.objectiveColor(lines.map(function (t) { return t.value; }), ctx.dir);
    var gl = R.svg('g', { class: 'plot' }, svg);
    // Worst first so the best lines are drawn on top.
    lines.slice().sort(function (a, b) { return oc.t(a.value) - oc.t(b.value); }).forEach(function (t) {
      var d = R.pathD(axes.map(function (a) { return [a.x, a.s(a.get(t))]; }));
      R.title(R.svg('path', { class: 'pc-line', d: d, stroke: oc.color(t.value), fill: 'none', 'data-trial': t.number }, gl), ctx.tip(t));
    });
    var ga = R.svg('g', { class: 'axes pc-axes' }, svg);
    axes.forEach(function (a, i) {
      R.svg('line', { class: 'axis', x1: a.x, x2: a.x, y1: top, y2: bottom }, ga);
      var ticks = a.s.ticks, every = Math.ceil(ticks.length / (a.s.type === 'band' ? 12 : 7));
      ticks.filter(function (v, j) { return j % every === 0; }).forEach(function (v) {
        var y = a.s(v), lab = a.s.fmt(v);
        if (!isNum(y)) return;
        R.svg('line', { class: 'tick', x1: a.x - 4, x2: a.x, y1: y, y2: y }, ga);
        var t = R.svg('text', { class: 'tick-label halo', x: a.x - 6, y: y + 3.5, 'text-anchor': 'end', text: R.truncate(lab, 12) }, ga);
        if (lab.length > 12) R.title(t, lab);
      });
      var room = i === 0 ? 2 * left : i === n - 1 ? 2 * (W - right) : gap;
      R.title(R.svg('text', { class: 'axis-label' + (a.objective ? ' objective' : ''), x: a.x, y: top - 18,
        'text-anchor': 'middle', text: R.truncate(a.name, Math.max(4, Math.floor(room / 7))) }, ga), a.name);
    });
    svg.setAttribute('data-lines', String(lines.length));
    R.colorbar(sec, 'worse ' + R.fmt(oc.worst), 'better ' + R.fmt(oc.best), ctx.objective + ':');
  }

  function slices(ctx, sec) {
    if (!ctx.params.length) return R.note(sec, 'The study has no parameters to draw.');
    if (!ctx.complete.length) return R.note(sec, 'No complete trial with a value yet.');
    var ys = ctx.complete.map(function (t) { return t.value; });
    R.colorbar(sec, '#' + ctx.numberRange[0], '#' + ctx.numberRange[1], 'trial number:');
    var wrap = R.el('div', { class: 'slices-grid', 'data-charts': ctx.params.length });
    sec.appendChild(wrap);
    ctx.params.forEach(function (p) {
      var fig = R.el('figure', { class: 'slice' });
      wrap.appendChild(fig);
      var f = R.frame(fig, {
        w: 360, h: 260, label: 'Slice: ' + p.name, xLabel: axisName(p), yLabel: ctx.objective,
        x: paramSpec(p, ctx.complete, { nice: false, pad: 0.05 }), y: { type: 'linear', values: ys }
      });
      var n = 0;
      ctx.complete.forEach(function (t) {
        var v = paramValue(t, p);
        if (!canPlace(p, v)) return;
        var x = f.x(v);
        if (f.x.type === 'band') x += jitter(t.number) * f.x.bandwidth * 0.5;
        var c = R.marker(f.plot, 'dot', x, f.y(t.value), 3.4,
          { class: 'pt slice-pt', fill: ctx.trialColor(t.number), 'data-trial': t.number });
        if (c) { R.title(c, ctx.tip(t)); n += 1; }
      });
      f.svg.setAttribute('data-points', String(n));
      fig.appendChild(R.el('figcaption', { text: p.name + ': ' + n + ' complete trial' + (n === 1 ? '' : 's') }));
    });
  }

  // The two most important parameters; fall back to numeric ones, then to any.
  // Conditional parameters set by fewer than 3 complete trials are passed over
  // first, as they cannot carry a surface.
  function pickPair(ctx) {
    var byName = new Map(ctx.params.map(function (p) { return [p.name, p]; }));
    var ranked = R.arr(R.obj(ctx.data.importance).values).filter(function (v) { return v && isNum(v.importance); })
      .sort(function (a, b) { return b.importance - a.importance; })
      .map(function (v) { return byName.get(String(v.name)); }).filter(Boolean);
    var order = ranked.concat(ctx.params.filter(function (p) { return p.kind !== 'categorical'; }), ctx.params);
    function usable(p) { return ctx.complete.filter(function (t) { return canPlace(p, paramValue(t, p)); }).length >= 3; }
    var out = [];
    [order.filter(usable), order].forEach(function (list) {
      list.forEach(function (p) { if (out.indexOf(p) < 0 && out.length < 2) out.push(p); });
    });
    return { pair: out, ranked: out.every(function (p) { return ranked.indexOf(p) >= 0 && ranked.indexOf(p) < 2; }) };
  }

  // Inverse-distance weighting (power 2) in plot-normalised coordinates, so both
  // axes count equally whatever their units or log scaling.
  function idw(known, x, y, W, H) {
    var num = 0, den = 0, exact = 0, exactN = 0;
    for (var i = 0; i < known.length; i++) {
      var k = known[i], dx = (k.x - x) / W, dy = (k.y - y) / H, d2 = dx * dx + dy * dy;
      if (d2 < 1e-12) { exact += k.v; exactN += 1; continue; }
      num += k.v / d2; den += 1 / d2;
    }
    return exactN ? exact / exactN : den > 0 ? num / den : NaN;
  }

  function contour(ctx, sec) {
    var pick = pickPair(ctx), pair = pick.pair;
    if (pair.length < 2) return R.note(sec, 'A contour needs at least two parameters.');
    var px = pair[0], py = pair[1];
    var pts = ctx.complete.filter(function (t) { return canPlace(px, paramValue(t, px)) && canPlace(py, paramValue(t, py)); });
    if (pts.length < 3) {
      return R.note(sec, 'A contour of ' + px.name + ' × ' + py.name + ' needs at least 3 complete trials that set both parameters (' + pts.length + ' so far).');
    }
    sec.appendChild(R.el('p', { class: 'method', text: 'Objective estimated by inverse-distance weighting over ' + pts.length +
      ' complete trials; parameters chosen ' + (pick.ranked ? 'as the two most important.' : 'from the search space order.') }));
    var f = R.frame(sec, {
      w: 620, h: 480, label: 'Contour of ' + ctx.objective, xLabel: axisName(px), yLabel: axisName(py),
      x: paramSpec(px, pts, { nice: false, pad: 0.03 }), y: paramSpec(py, pts, { nice: false, pad: 0.03 })
    });
    var oc = R.objectiveColor(pts.map(function (t) { return t.value; }), ctx.dir);
    var known = pts.map(function (t) {
      return { t: t, v: t.value, x: f.x(paramValue(t, px)), y: f.y(paramValue(t, py)) };
    }).filter(function (k) { return isNum(k.x) && isNum(k.y); });
    var W = f.x1 - f.x0, H = f.y0 - f.y1;
    function spans(s, a, b) {
      if (s.type === 'band') return s.cats.map(function (c) { var m = s(c); return [m - s.bandwidth / 2, m + s.bandwidth / 2]; });
      var out = [];
      for (var i = 0; i < 24; i++) out.push([a + (b - a) * i / 24, a + (b - a) * (i + 1) / 24]);
      return out;
    }
    var g = R.svg('g', { class: 'surface', 'shape-rendering': 'crispEdges' }, f.plot);
    spans(f.x, f.x0, f.x1).forEach(function (sx) {
      spans(f.y, f.y1, f.y0).forEach(function (sy) {
        var est = idw(known, (sx[0] + sx[1]) / 2, (sy[0] + sy[1]) / 2, W, H);
        R.title(R.svg('rect', { class: 'cell', x: Math.min(sx[0], sx[1]), y: Math.min(sy[0], sy[1]),
          width: Math.abs(sx[1] - sx[0]) + 0.5, height: Math.abs(sy[1] - sy[0]) + 0.5, fill: oc.color(est) }, g),
          'estimated ' + ctx.objective + ' ≈ ' + R.fmt(est));
      });
    });
    var drawn = 0;
    known.forEach(function (k) {
      var x = k.x + (f.x.type === 'band' ? jitter(k.t.number) * f.x.bandwidth * 0.4 : 0);
      var y = k.y + (f.y.type === 'band' ? jitter(k.t.number + 0.5) * f.y.bandwidth * 0.4 : 0);
      var c = R.marker(f.plot, 'dot', x, y, 3.6, { class: 'pt contour-pt', fill: '#ffffff', stroke: '#111111', 'stroke-width': 1.2, 'data-trial': k.t.number });
      if (c) { R.title(c, ctx.tip(k.t)); drawn += 1; }
    });
    f.svg.setAttribute('data-points', String(drawn));
    R.colorbar(sec, 'worse ' + R.fmt(oc.worst), 'better ' + R.fmt(oc.best), ctx.objective + ':');
  }

  function curves(ctx, sec) {
    var withCurve = ctx.trials.filter(function (t) { return t.curve.length > 0; });
    if (!withCurve.length) return R.note(sec, 'No trial reported intermediate values.');
    var kinds = {};
    var series = withCurve.map(function (t) {
      var done = t.state === 'complete', end = t.state === 'pruned' || t.state === 'failed' ? 'cross' : t.state === 'paused' ? 'bar' : null;
      kinds[done ? 'line' : end === 'cross' ? 'dashcross' : end === 'bar' ? 'dashbar' : 'dash'] = true;
      return {
        points: t.curve, color: ctx.trialColor(t.number), dash: done ? null : '5 3', end: end,
        cls: 'curve state-' + cls(t.state), attrs: { 'data-trial': t.number }, title: ctx.tip(t),
        pointTitle: function (p) { return 'Trial #' + t.number + ' step ' + R.fmt(p[0]) + ': ' + R.fmt(p[1]); }
      };
    });
    R.lineChart(sec, { w: 880, h: 360, series: series, xLabel: 'step', yLabel: ctx.objective, label: 'Intermediate values' });
    var legend = [];
    if (kinds.line) legend.push({ label: 'complete', shape: 'line' });
    if (kinds.dashcross) legend.push({ label: 'pruned / failed (cut)', shape: 'dashcross' });
    if (kinds.dashbar) legend.push({ label: 'paused', shape: 'dashbar' });
    if (kinds.dash) legend.push({ label: 'running / other', shape: 'dash' });
    R.legend(sec, legend);
    R.colorbar(sec, '#' + ctx.numberRange[0], '#' + ctx.numberRange[1], 'trial number:');
  }

  function trialsTable(ctx, sec) {
    if (!ctx.trials.length) return R.note(sec, 'No trials yet.');
    var hidden = new Set(), boxes = [], total = ctx.trials.length;
    var master = R.el('input', { type: 'checkbox', class: 'show-all', 'aria-label': 'Show all trials in the charts', title: 'Show or hide all trials' });
    master.checked = true;
    var count = R.el('span', { class: 'shown-count' });
    function refresh() {
      count.textContent = (total - hidden.size) + ' of ' + total + ' trials shown in the charts.';
      master.checked = hidden.size === 0;
      master.indeterminate = hidden.size > 0 && hidden.size < total;
    }
    function marks(n) { return ctx.root.querySelectorAll('svg [data-trial="' + n + '"]'); }
    var tbl;
    function toggle(n, show) {
      if (show) hidden.delete(n); else hidden.add(n);
      Array.prototype.forEach.call(marks(n), function (e) { e.classList.toggle('is-hidden', !show); });
      tbl.pairs.forEach(function (p) { if (p.row.number === n) p.tr.classList.toggle('row-hidden', !show); });
    }
    master.addEventListener('change', function () {
      boxes.forEach(function (b) { b.cb.checked = master.checked; toggle(b.n, master.checked); });
      refresh();
    });
    var cols = [
      { label: 'show', cls: 'ctl show-col', sortable: false, header: function (th) { th.appendChild(master); },
        render: function (t, td) {
          var cb = R.el('input', { type: 'checkbox', class: 'show-trial', 'aria-label': 'Show trial ' + t.number + ' in the charts' });
          cb.checked = true;
          cb.addEventListener('change', function () { toggle(t.number, cb.checked); refresh(); });
          boxes.push({ cb: cb, n: t.number });
          td.appendChild(cb);
        } },
      { label: '#', cls: 'num', get: function (t) { return t.number; } },
      { label: 'state', get: function (t) { return t.state; },
        render: function (t, td) { td.appendChild(R.el('span', { class: 'state state-' + cls(t.state), text: t.state })); } },
      { label: ctx.objective, cls: 'num', get: function (t) { return t.value; }, text: function (t) { return R.fmt(t.value); } }
    ].concat(ctx.params.map(function (p) {
      return { label: p.name, cls: p.kind === 'categorical' ? 'cat' : 'num',
        get: function (t) { return paramValue(t, p); }, text: function (t) { return R.fmtValue(paramValue(t, p)); } };
    })).concat([
      { label: 'epochs', cls: 'num', get: function (t) { return t.epochs; } },
      { label: 'duration', cls: 'num', get: function (t) { return t.duration; }, text: function (t) { return R.fmtDuration(t.duration); } }
    ]);
    if (ctx.trials.some(function (t) { return t.message; })) {
      cols.push({ label: 'message', cls: 'msg', get: function (t) { return t.message; }, text: function (t) { return t.message || ''; } });
    }
    tbl = R.table(cols, ctx.trials, { cls: 'trials', rowAttrs: function (t) {
      return { 'data-row': t.number, class: t === ctx.bestTrial ? 'is-best' : null, title: t === ctx.bestTrial ? 'best trial' : null };
    } });
    // Hovering a row outlines that trial's marks in every chart.
    tbl.pairs.forEach(function (p) {
      p.tr.addEventListener('mouseenter', function () { Array.prototype.forEach.call(marks(p.row.number), function (e) { e.classList.add('is-focus'); }); });
      p.tr.addEventListener('mouseleave', function () { Array.prototype.forEach.call(marks(p.row.number), function (e) { e.classList.remove('is-focus'); }); });
    });
    sec.appendChild(R.el('p', { class: 'table-help ctl' }, ['Click a column header to sort (again to reverse). Untick “show” to hide a trial in every chart. ', count]));
    sec.appendChild(R.tableWrap(tbl));
    refresh();
  }

  function tomlKey(k) { return /^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k); }
  function tomlValue(v, p) {
    if (typeof v === 'number') return p.kind === 'float' && Number.isInteger(v) ? v.toFixed(1) : String(v);
    if (typeof v === 'boolean') return String(v);
    return JSON.stringify(typeof v === 'string' ? v : R.fmtValue(v));
  }

  function best(ctx, sec) {
    var b = R.obj(ctx.data.best), t = ctx.bestTrial;
    var line = function (n) {
      return R.el('p', { class: 'best-line-text' }, ['Trial #' + n + ' — ' + ctx.objective + ' ', R.el('strong', { text: R.fmt(ctx.bestValue) })]);
    };
    if (typeof b.config === 'string' && b.config) {
      sec.appendChild(line(ctx.bestNumber !== null ? ctx.bestNumber : '?'));
      R.copyBlock(sec, b.config);
      return;
    }
    if (!t) return R.note(sec, 'No trial has completed yet, so there is no best configuration.');
    sec.appendChild(line(t.number));
    R.note(sec, 'The study did not export a configuration; these are the parameters of that trial.');
    R.copyBlock(sec, ctx.params.filter(function (p) { return present(paramValue(t, p)); }).map(function (p) {
      return tomlKey(p.name) + ' = ' + tomlValue(paramValue(t, p), p);
    }).join('\n') + '\n');
  }

  function renderStudy(data, rootEl) {
    data = R.obj(data);
    rootEl.textContent = '';
    var ctx = context(data, rootEl);
    rootEl.appendChild(R.el('header', { class: 'report-head' }, [
      R.el('h1', { text: R.str(ctx.study.name, 'Study') }),
      R.el('p', { class: 'subtitle', text: 'anneal study report · ' + ctx.dir + ' ' + ctx.objective })
    ]));
    [['summary', 'Summary', summary], ['history', 'Optimization history', history],
      ['importance', 'Parameter importance', importance], ['parallel', 'Parallel coordinates', parallel],
      ['slices', 'Slices', slices], ['contour', 'Contour', contour], ['curves', 'Intermediate values', curves],
      ['trials', 'Trials', trialsTable], ['best', 'Best configuration', best]
    ].forEach(function (s) { R.addSection(rootEl, s[0], s[1], function (sec) { s[2](ctx, sec); }); });
  }

  R.renderStudy = renderStudy;
  R.boot('study', renderStudy);
})(typeof window !== 'undefined' ? window : this);
