/* anneal report — single training run. Inlined after common.js and charts.js;
 * renders #report from the JSON in #data when data.kind is "run" (or missing). */
(function (root) {
  'use strict';
  var R = root.AnnealReport, isNum = R.isNum;
  // Two series need telling apart; both come from the report's one colour scale.
  var TRAIN = R.seq(0.95), VAL = R.seq(0.45);

  function num(v) { return isNum(v) ? v : null; }

  function normEpochs(list) {
    return R.arr(list).filter(function (e) { return e && typeof e === 'object'; }).map(function (e, i) {
      return { epoch: isNum(e.epoch) ? e.epoch : i + 1, train: num(e.train_loss), val: num(e.val_loss), metric: num(e.val_metric), lr: num(e.lr) };
    }).sort(function (a, b) { return a.epoch - b.epoch; });
  }

  function column(epochs, key) {
    return epochs.map(function (e) { return [e.epoch, e[key]]; }).filter(function (p) { return p[1] !== null; });
  }

  // The epoch at which a series is smallest (or largest): [epoch, value] or null.
  function extremum(points, largest) {
    var out = null;
    points.forEach(function (p) { if (!out || (largest ? p[1] > out[1] : p[1] < out[1])) out = p; });
    return out;
  }

  function summary(ctx, sec) {
    var run = ctx.run, e = ctx.epochs, last = e.length ? e[e.length - 1] : null;
    var bestVal = extremum(column(e, 'val'), false);
    sec.appendChild(R.kvList([
      ['Run', R.str(run.name, '(unnamed)')],
      ['Task', R.str(run.task, '—')],
      ['Dataset', R.str(run.dataset, '—')],
      ['Model', R.str(run.model, '—')],
      ['Status', R.el('span', { class: 'state state-' + String(R.str(run.status, 'unknown')).toLowerCase().replace(/[^a-z0-9-]/g, ''), text: R.str(run.status, 'unknown') })],
      ['Epochs', String(e.length)],
      ['Final train loss', last ? R.fmt(last.train) : null],
      ['Final val loss', last ? R.fmt(last.val) : null],
      ['Lowest val loss', bestVal ? R.fmt(bestVal[1]) + ' (epoch ' + R.fmt(bestVal[0]) + ')' : null],
      ['Final val ' + ctx.metric, last ? R.fmt(last.metric) : null]
    ]));
    var test = R.obj(run.test), keys = Object.keys(test);
    sec.appendChild(R.el('h3', { text: 'Test split' }));
    if (!keys.length) { R.note(sec, 'No test figures were recorded.'); return; }
    var t = R.table([
      { label: 'metric', get: function (k) { return k; } },
      { label: 'value', cls: 'num', get: function (k) { return test[k]; }, text: function (k) { return R.fmt(test[k]); } }
    ], keys, { cls: 'test-metrics' });
    sec.appendChild(R.tableWrap(t));
  }

  function series(label, points, color, dash) {
    return { label: label, points: points, color: color, dash: dash, cls: 'run-' + label.replace(/\s+/g, '-') };
  }

  function lossChart(ctx, sec) {
    var tr = column(ctx.epochs, 'train'), va = column(ctx.epochs, 'val');
    if (!tr.length && !va.length) return R.note(sec, 'No loss values were recorded.');
    R.lineChart(sec, { w: 760, h: 320, dots: true, xLabel: 'epoch', yLabel: 'loss', label: 'Loss by epoch',
      series: [series('train loss', tr, TRAIN), series('val loss', va, VAL, '6 3')] });
    var items = [];
    if (tr.length) items.push({ label: 'train loss', shape: 'line', color: TRAIN });
    if (va.length) items.push({ label: 'val loss', shape: 'dash', color: VAL });
    R.legend(sec, items);
  }

  function metricChart(ctx, sec) {
    var pts = column(ctx.epochs, 'metric');
    if (!pts.length) return R.note(sec, 'No validation ' + ctx.metric + ' was recorded.');
    R.lineChart(sec, { w: 760, h: 300, dots: true, xLabel: 'epoch', yLabel: 'val ' + ctx.metric, label: 'Validation ' + ctx.metric,
      series: [series('val ' + ctx.metric, pts, VAL)] });
  }

  function lrChart(ctx, sec) {
    var pts = column(ctx.epochs, 'lr');
    if (!pts.length) return R.note(sec, 'No learning rate was recorded.');
    R.lineChart(sec, { w: 760, h: 260, dots: true, logY: 'auto', xLabel: 'epoch', yLabel: 'learning rate', label: 'Learning rate',
      series: [series('learning rate', pts, TRAIN)] });
  }

  function confusion(ctx, sec) {
    var m = ctx.data.confusion, task = R.str(ctx.run.task, '');
    if (task === 'regression') return R.note(sec, 'A confusion matrix applies to classification; this run is a regression.');
    if (!Array.isArray(m) || !m.length) return R.note(sec, 'No confusion matrix was recorded.');
    var classes = R.arr(ctx.data.classes), n = classes.length || m.length;
    var labels = [];
    for (var i = 0; i < n; i++) labels.push(i < classes.length ? R.fmtValue(classes[i]) : String(i));
    var count = function (r, c) { var row = m[r]; return Array.isArray(row) && isNum(row[c]) ? row[c] : 0; };
    var cell = R.clamp(Math.floor(560 / n), 12, 52), lw = 0;
    labels.forEach(function (l) { lw = Math.max(lw, R.textWidth(R.truncate(l, 16), 11)); });
    var left = lw + 34, top = 10, bottom = lw * 0.8 + 40, W = left + n * cell + 70, H = top + n * cell + bottom;
    var svg = R.svg('svg', { class: 'chart confusion', viewBox: '0 0 ' + W + ' ' + H, width: '100%', role: 'img', 'aria-label': 'Confusion matrix' }, sec);
    svg.style.maxWidth = Math.round(W * 1.25) + 'px';
    var g = R.svg('g', { class: 'plot' }, svg), cells = 0, fs = Math.min(12, cell * 0.34);
    for (var r = 0; r < n; r++) {
      var rowSum = 0;
      for (var c0 = 0; c0 < n; c0++) rowSum += count(r, c0);
      for (var c = 0; c < n; c++) {
        var k = count(r, c), frac = rowSum > 0 ? k / rowSum : 0, x = left + c * cell, y = top + r * cell;
        // Exact zeros stay near-white so the few informative cells stand out.
        var rect = R.svg('rect', { class: 'cell' + (r === c ? ' diag' : ''), x: x, y: y, width: cell, height: cell,
          fill: k === 0 ? '#f7f7f7' : R.seq(0.05 + 0.95 * frac) }, g);
        R.title(rect, 'true ' + labels[r] + ' → predicted ' + labels[c] + ': ' + k + (rowSum > 0 ? ' (' + R.fmt(100 * frac, 3) + '% of row)' : ''));
        if (cell >= 18) {
          R.svg('text', { class: 'cell-count', x: x + cell / 2, y: y + cell / 2 + fs * 0.35, 'text-anchor': 'middle', 'font-size': fs,
            fill: k === 0 ? '#9a9a9a' : frac > 0.5 ? '#ffffff' : '#111111', text: R.fmt(k) }, g);
        }
        cells += 1;
      }
      R.svg('text', { class: 'tick-label', x: left - 6, y: top + r * cell + cell / 2 + 3.5, 'text-anchor': 'end', text: R.truncate(labels[r], 16) }, g);
      R.svg('text', { class: 'tick-label row-total', x: left + n * cell + 6, y: top + r * cell + cell / 2 + 3.5, text: 'n=' + rowSum }, g);
      var lx = left + r * cell + cell / 2, ly = top + n * cell + 8;
      R.svg('text', { class: 'tick-label', x: lx, y: ly, 'text-anchor': 'end', transform: 'rotate(-50 ' + R.r2(lx) + ' ' + R.r2(ly) + ')', text: R.truncate(labels[r], 16) }, g);
    }
    R.svg('text', { class: 'axis-label', x: left + n * cell / 2, y: H - 6, 'text-anchor': 'middle', text: 'predicted class' }, g);
    var cy = top + n * cell / 2;
    R.svg('text', { class: 'axis-label', x: 12, y: cy, 'text-anchor': 'middle', transform: 'rotate(-90 12 ' + R.r2(cy) + ')', text: 'true class' }, g);
    svg.setAttribute('data-cells', String(cells));
    R.colorbar(sec, '0%', '100%', 'share of the true class (row):');
  }

  function perClass(ctx, sec) {
    var rows = R.arr(ctx.data.per_class).filter(function (r) { return r && typeof r === 'object'; });
    if (!rows.length) {
      return R.note(sec, R.str(ctx.run.task, '') === 'regression'
        ? 'Per-class figures apply to classification; this run is a regression.' : 'No per-class figures were recorded.');
    }
    var numCol = function (key, label) {
      return { label: label || key, cls: 'num', get: function (r) { return num(r[key]); }, text: function (r) { return R.fmt(num(r[key]), 3); } };
    };
    var t = R.table([
      { label: 'class', get: function (r) { return r['class']; } },
      numCol('precision'), numCol('recall'), numCol('f1', 'F1'), numCol('support')
    ], rows, { cls: 'per-class' });
    sec.appendChild(R.el('p', { class: 'table-help ctl', text: 'Click a column header to sort.' }));
    sec.appendChild(R.tableWrap(t));
  }

  function config(ctx, sec) {
    var text = ctx.run.config;
    if (typeof text !== 'string' || !text) return R.note(sec, 'The run did not export its configuration.');
    R.copyBlock(sec, text);
  }

  function renderRun(data, rootEl) {
    data = R.obj(data);
    rootEl.textContent = '';
    var run = R.obj(data.run);
    var ctx = { data: data, run: run, epochs: normEpochs(data.epochs), metric: R.str(data.metric, 'metric') };
    rootEl.appendChild(R.el('header', { class: 'report-head' }, [
      R.el('h1', { text: R.str(run.name, 'Training run') }),
      R.el('p', { class: 'subtitle', text: 'anneal run report · ' + [run.task, run.dataset, run.model].filter(Boolean).join(' · ') })
    ]));
    [['summary', 'Summary', summary], ['loss', 'Loss', lossChart], ['metric', 'Validation ' + ctx.metric, metricChart],
      ['lr', 'Learning rate', lrChart], ['confusion', 'Confusion matrix (test split)', confusion],
      ['per-class', 'Per-class figures (test split)', perClass], ['config', 'Configuration', config]
    ].forEach(function (s) { R.addSection(rootEl, s[0], s[1], function (sec) { s[2](ctx, sec); }); });
  }

  R.renderRun = renderRun;
  R.boot('run', renderRun);
})(typeof window !== 'undefined' ? window : this);
