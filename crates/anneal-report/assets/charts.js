/* anneal report — chart building blocks shared by study.js and run.js:
 * an axes frame, line charts, markers, legends and a colour bar. Inlined after
 * common.js. All sizes are in viewBox units; CSS scales the SVG to the page. */
(function (root) {
  'use strict';
  var R = root.AnnealReport;
  var isNum = R.isNum;

  // Text is measured by character count: there is no layout engine to ask before
  // the SVG is in the page (nor in some headless/print paths).
  function textWidth(s, size) { return String(s).length * (size || 11) * 0.6; }
  function truncate(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, Math.max(1, n - 1)) + '…' : s;
  }
  function px(v) { return R.r2(v); }

  // Path through [x, y] pairs; a non-finite point lifts the pen so gaps stay gaps.
  // Returns null for an empty path (an empty "d" is not worth an attribute).
  function pathD(points) {
    var d = '', pen = false;
    points.forEach(function (p) {
      if (p && isNum(p[0]) && isNum(p[1])) { d += (pen ? 'L' : 'M') + px(p[0]) + ' ' + px(p[1]); pen = true; }
      else pen = false;
    });
    return d || null;
  }

  // shape: dot | ring | cross | square | bar. Returns the element so callers can add a <title>.
  function marker(parent, shape, x, y, size, attrs) {
    var s = size || 4, a = Object.assign({}, attrs || {});
    if (!isNum(x) || !isNum(y)) return null;
    if (shape === 'cross' || shape === 'bar') {
      a.d = shape === 'cross'
        ? 'M' + px(x - s) + ' ' + px(y - s) + 'L' + px(x + s) + ' ' + px(y + s) + 'M' + px(x - s) + ' ' + px(y + s) + 'L' + px(x + s) + ' ' + px(y - s)
        : 'M' + px(x) + ' ' + px(y - s * 1.4) + 'L' + px(x) + ' ' + px(y + s * 1.4);
      a.fill = 'none';
      return R.svg('path', a, parent);
    }
    if (shape === 'square') {
      if (a.fill == null) a.fill = '#ffffff';
      a.x = x - s; a.y = y - s; a.width = 2 * s; a.height = 2 * s;
      return R.svg('rect', a, parent);
    }
    a.cx = x; a.cy = y; a.r = s;
    if (shape === 'ring' && a.fill == null) a.fill = '#ffffff';
    return R.svg('circle', a, parent);
  }

  // Axes, grid and labels; returns the scales and a <g class="plot"> to draw into.
  // o: {w, h, x: scale spec, y: scale spec, xLabel, yLabel, label, cls, mt, mr}
  function frame(parent, o) {
    var W = o.w || 640, H = o.h || 360;
    var m = { t: o.mt != null ? o.mt : 14, r: o.mr != null ? o.mr : 18, b: 40, l: 56 };
    var ys = R.scale(o.y, H - m.b, m.t);
    var ylw = 0;
    ys.ticks.forEach(function (v) { ylw = Math.max(ylw, textWidth(truncate(ys.fmt(v), 24), 10.5)); });
    m.l = Math.max(40, ylw + (o.yLabel ? 28 : 12));
    var xs = R.scale(o.x, m.l, W - m.r), rotate = false, xlw = 0;
    if (xs.type === 'band') {
      xs.cats.forEach(function (c) { xlw = Math.max(xlw, textWidth(truncate(R.fmtValue(c), 14), 10.5)); });
      rotate = xlw > xs.bandwidth - 6;
    }
    m.b = (rotate ? 18 + xlw * 0.65 : 24) + (o.xLabel ? 18 : 0);
    ys = R.scale(o.y, H - m.b, m.t);
    var x0 = m.l, x1 = W - m.r, y0 = H - m.b, y1 = m.t;

    var svgEl = R.svg('svg', {
      class: 'chart' + (o.cls ? ' ' + o.cls : ''), viewBox: '0 0 ' + W + ' ' + H,
      width: '100%', preserveAspectRatio: 'xMidYMid meet', role: 'img', 'aria-label': o.label || o.yLabel || 'chart'
    });
    if (parent) parent.appendChild(svgEl);
    var g = R.svg('g', { class: 'axes' }, svgEl);
    R.svg('rect', { class: 'plot-bg', x: x0, y: y1, width: x1 - x0, height: y0 - y1 }, g);

    ys.ticks.forEach(function (v) {
      var y = ys(v);
      if (!isNum(y)) return;
      R.svg('line', { class: 'grid', x1: x0, x2: x1, y1: y, y2: y }, g);
      var label = ys.fmt(v), t = R.svg('text', { class: 'tick-label', x: x0 - 6, y: y + 3.5, 'text-anchor': 'end', text: truncate(label, 24) }, g);
      if (label.length > 24) R.title(t, label);
    });
    xs.ticks.forEach(function (v) {
      var x = xs(v);
      if (!isNum(x)) return;
      R.svg('line', { class: 'grid', x1: x, x2: x, y1: y0, y2: y1 }, g);
      var label = xs.fmt(v), ty = y0 + 14;
      var t = R.svg('text', rotate
        ? { class: 'tick-label', x: x, y: ty - 4, 'text-anchor': 'end', transform: 'rotate(-40 ' + px(x) + ' ' + px(ty - 4) + ')', text: truncate(label, 14) }
        : { class: 'tick-label', x: x, y: ty, 'text-anchor': 'middle', text: truncate(label, 14) }, g);
      if (label.length > 14) R.title(t, label);
    });
    R.svg('line', { class: 'axis', x1: x0, x2: x1, y1: y0, y2: y0 }, g);
    R.svg('line', { class: 'axis', x1: x0, x2: x0, y1: y0, y2: y1 }, g);
    if (o.xLabel) {
      R.title(R.svg('text', { class: 'axis-label', x: (x0 + x1) / 2, y: H - 5, 'text-anchor': 'middle',
        text: truncate(o.xLabel, Math.max(6, Math.floor((x1 - x0) / 7.5))) }, g), o.xLabel);
    }
    if (o.yLabel) {
      var cy = (y0 + y1) / 2;
      R.title(R.svg('text', { class: 'axis-label', x: 12, y: cy, 'text-anchor': 'middle', transform: 'rotate(-90 12 ' + px(cy) + ')',
        text: truncate(o.yLabel, Math.max(6, Math.floor((y0 - y1) / 7.5))) }, g), o.yLabel);
    }
    var plot = R.svg('g', { class: 'plot' }, svgEl);
    return { svg: svgEl, x: xs, y: ys, plot: plot, x0: x0, x1: x1, y0: y0, y1: y1, W: W, H: H };
  }

  function autoLog(vals) {
    var e = R.extent(vals);
    return !!e && e[0] > 0 && e[1] / e[0] > 10;
  }

  // o: {w, h, xLabel, yLabel, logY: true|false|'auto', dots, label,
  //     series: [{label, points: [[x, y]], color, dash, cls, attrs, title, end, pointTitle}]}
  // Sets data-lines to the number of series that had at least one finite point.
  function lineChart(parent, o) {
    var xs = [], ys = [], clean = o.series.map(function (s) {
      var pts = R.arr(s.points).filter(function (p) { return Array.isArray(p) && isNum(p[0]) && isNum(p[1]); })
        .slice().sort(function (a, b) { return a[0] - b[0]; });
      pts.forEach(function (p) { xs.push(p[0]); ys.push(p[1]); });
      return pts;
    });
    var logY = o.logY === 'auto' ? autoLog(ys) : !!o.logY;
    var f = frame(parent, {
      w: o.w || 720, h: o.h || 320, label: o.label, cls: o.cls,
      x: { type: 'linear', values: xs, integer: xs.every(Number.isInteger), nice: false, pad: 0.02 },
      y: { type: logY ? 'log' : 'linear', values: ys },
      xLabel: o.xLabel, yLabel: (o.yLabel || '') + (logY ? ' (log scale)' : '')
    });
    var drawn = 0;
    o.series.forEach(function (s, i) {
      var pts = clean[i];
      if (!pts.length) return;
      drawn += 1;
      var xy = pts.map(function (p) { return [f.x(p[0]), f.y(p[1])]; });
      var base = Object.assign({}, s.attrs || {});
      var path = R.svg('path', Object.assign({
        class: 'series' + (s.cls ? ' ' + s.cls : ''), d: pathD(xy), stroke: s.color,
        'stroke-dasharray': s.dash, fill: 'none'
      }, base), f.plot);
      if (s.title) R.title(path, s.title);
      if (o.dots || pts.length === 1) {
        pts.forEach(function (p, j) {
          var c = marker(f.plot, 'dot', xy[j][0], xy[j][1], pts.length === 1 ? 3 : 2.2,
            Object.assign({ class: 'dot' + (s.cls ? ' ' + s.cls : ''), fill: s.color }, base));
          if (c) R.title(c, s.pointTitle ? s.pointTitle(p) : (s.label ? s.label + ': ' : '') +
            (o.xLabel || 'x') + ' ' + R.fmt(p[0]) + ', ' + (o.yLabel || 'y') + ' ' + R.fmt(p[1]));
        });
      }
      if (s.end) {
        var last = xy[xy.length - 1];
        var mk = marker(f.plot, s.end, last[0], last[1], 4, Object.assign({ class: 'cut' + (s.cls ? ' ' + s.cls : ''), stroke: s.color }, base));
        if (mk && s.title) R.title(mk, s.title);
      }
    });
    f.svg.setAttribute('data-lines', String(drawn));
    f.drawn = drawn;
    return f;
  }

  // HTML legend with tiny inline SVG swatches; HTML wraps better than SVG text.
  // items: [{label, shape: dot|ring|cross|square|line|dash|dashcross|dashbar, color}]
  function legend(parent, items) {
    var div = R.el('div', { class: 'legend' });
    items.forEach(function (it) {
      var span = R.el('span', { class: 'legend-item' });
      var s = R.svg('svg', { class: 'swatch', width: 26, height: 12, viewBox: '0 0 26 12', 'aria-hidden': 'true' }, span);
      var c = it.color || '#333333', shape = it.shape || 'dot';
      if (/line|dash/.test(shape)) {
        R.svg('path', { d: 'M1 6L25 6', stroke: c, 'stroke-width': 2, fill: 'none', 'stroke-dasharray': shape === 'line' ? null : '4 2' }, s);
        if (shape === 'dashcross') marker(s, 'cross', 21, 6, 3.5, { stroke: c, 'stroke-width': 1.6 });
        if (shape === 'dashbar') marker(s, 'bar', 24, 6, 3.5, { stroke: c, 'stroke-width': 2 });
      } else {
        marker(s, shape, 13, 6, shape === 'cross' ? 3.5 : 4, shape === 'dot'
          ? { fill: c } : { stroke: c, 'stroke-width': 1.6, fill: shape === 'cross' ? 'none' : '#ffffff' });
      }
      span.appendChild(document.createTextNode(it.label));
      div.appendChild(span);
    });
    parent.appendChild(div);
    return div;
  }

  // Horizontal colour bar for R.seq: left = t 0 (light), right = t 1 (dark).
  function colorbar(parent, leftLabel, rightLabel, caption) {
    var wrap = R.el('div', { class: 'colorbar' });
    if (caption) wrap.appendChild(R.el('span', { class: 'colorbar-caption', text: caption }));
    wrap.appendChild(R.el('span', { class: 'colorbar-end', text: leftLabel }));
    var s = R.svg('svg', { class: 'colorbar-ramp', width: 160, height: 12, viewBox: '0 0 160 12', 'aria-hidden': 'true' }, wrap);
    for (var i = 0; i < 32; i++) R.svg('rect', { x: i * 5, y: 0, width: 5.5, height: 12, fill: R.seq(i / 31) }, s);
    wrap.appendChild(R.el('span', { class: 'colorbar-end', text: rightLabel }));
    parent.appendChild(wrap);
    return wrap;
  }

  Object.assign(R, {
    textWidth: textWidth, truncate: truncate, pathD: pathD, marker: marker,
    frame: frame, lineChart: lineChart, legend: legend, colorbar: colorbar, autoLog: autoLog
  });
})(typeof window !== 'undefined' ? window : this);
