"use strict";
(function () {
  var LEFT = 64, PLOT_W = 920, cache = new WeakMap();
  var tip = document.getElementById("tip");

  function clock(t) {
    var s = Math.round(Math.abs(t)), m = Math.floor(s / 60), r = s % 60;
    return (t < 0 ? "-" : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }
  function ticks(t0, t1) {
    var span = Math.max(t1 - t0, 1), steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    var step = steps.find(function (s) { return span / s <= 8; }) || 3600 * Math.ceil(span / 28800);
    var out = [];
    for (var t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) out.push(t);
    return out;
  }
  function points(line) {
    var hit = cache.get(line);
    if (hit) return hit;
    var raw = line.getAttribute("points").trim().split(/\s+/), xs = [], ys = [];
    raw.forEach(function (p) { var c = p.split(","); xs.push(+c[0]); ys.push(+c[1]); });
    hit = { xs: xs, ys: ys };
    cache.set(line, hit);
    return hit;
  }
  function valueAt(line, t) {
    var p = points(line), lo = 0, hi = p.xs.length - 1;
    if (hi < 0 || t < p.xs[0] || t > p.xs[hi]) return null;
    while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (p.xs[mid] <= t) lo = mid; else hi = mid - 1; }
    return p.ys[lo];
  }
  function range(svg) {
    return [+(svg.dataset.v0 || svg.dataset.t0), +(svg.dataset.v1 || svg.dataset.t1)];
  }
  function toSvgX(svg, clientX) {
    var pt = svg.createSVGPoint(); pt.x = clientX; pt.y = 0;
    return pt.matrixTransform(svg.getScreenCTM().inverse()).x;
  }
  function timeAt(svg, clientX) {
    var r = range(svg), x = toSvgX(svg, clientX);
    if (x < LEFT || x > LEFT + PLOT_W) return null;
    return r[0] + (x - LEFT) / PLOT_W * (r[1] - r[0]);
  }
  function setRange(svg, v0, v1) {
    svg.dataset.v0 = v0; svg.dataset.v1 = v1;
    svg.querySelectorAll("svg.plot").forEach(function (plot) {
      plot.setAttribute("viewBox", v0 + " 0 " + Math.max(v1 - v0, 0.5) + " 110");
    });
    var axis = svg.querySelector("g.xaxis"), ns = "http://www.w3.org/2000/svg";
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    ticks(v0, v1).forEach(function (t) {
      var text = document.createElementNS(ns, "text");
      text.setAttribute("x", LEFT + (t - v0) / Math.max(v1 - v0, 0.5) * PLOT_W);
      text.setAttribute("y", 12);
      text.textContent = clock(t);
      axis.appendChild(text);
    });
  }
  function hover(svg, ev) {
    var t = timeAt(svg, ev.clientX);
    svg.querySelectorAll("line.cursor").forEach(function (c) {
      c.setAttribute("visibility", t === null ? "hidden" : "visible");
      if (t !== null) { c.setAttribute("x1", t); c.setAttribute("x2", t); }
    });
    if (t === null) { tip.hidden = true; return; }
    var lines = ["t = " + clock(t) + " (" + t.toFixed(1) + " s)"];
    svg.querySelectorAll("g.panel").forEach(function (panel) {
      var ymax = +panel.dataset.ymax, h = +panel.dataset.h, seen = {};
      panel.querySelectorAll("svg.plot polyline").forEach(function (line) {
        var name = line.dataset.name, y = valueAt(line, t);
        if (y === null || seen[name]) return;
        seen[name] = true;
        var v = (h - y) / h * ymax;
        lines.push(name + ": " + (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) + " " + panel.dataset.unit);
      });
    });
    tip.textContent = lines.join("\n");
    tip.hidden = false;
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 200) + "px";
    tip.style.top = (ev.clientY + 14) + "px";
  }
  function wire(svg) {
    var start = null, brush = svg.querySelector("rect.brush");
    svg.addEventListener("mousemove", function (ev) {
      hover(svg, ev);
      if (start !== null) {
        var x = toSvgX(svg, ev.clientX);
        brush.setAttribute("x", Math.min(start, x));
        brush.setAttribute("width", Math.abs(x - start));
      }
    });
    svg.addEventListener("mouseleave", function () {
      tip.hidden = true; start = null; brush.setAttribute("visibility", "hidden");
    });
    svg.addEventListener("mousedown", function (ev) {
      start = toSvgX(svg, ev.clientX);
      brush.setAttribute("x", start); brush.setAttribute("width", 0);
      brush.setAttribute("visibility", "visible");
      ev.preventDefault();
    });
    svg.addEventListener("mouseup", function (ev) {
      if (start === null) return;
      var x = toSvgX(svg, ev.clientX), r = range(svg), lo = Math.max(Math.min(start, x), LEFT), hi = Math.min(Math.max(start, x), LEFT + PLOT_W);
      brush.setAttribute("visibility", "hidden");
      if (hi - lo > 4) {
        setRange(svg, r[0] + (lo - LEFT) / PLOT_W * (r[1] - r[0]), r[0] + (hi - LEFT) / PLOT_W * (r[1] - r[0]));
      }
      start = null;
    });
    svg.addEventListener("dblclick", function () { setRange(svg, +svg.dataset.t0, +svg.dataset.t1); });
  }
  document.querySelectorAll(".variant-timeline").forEach(function (box) {
    var tabs = box.querySelectorAll(".tab"), trials = box.querySelectorAll(".trial");
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () {
        tabs.forEach(function (x) { x.classList.remove("on"); });
        trials.forEach(function (x) { x.classList.remove("on"); });
        tab.classList.add("on");
        trials[+tab.dataset.target].classList.add("on");
      });
    });
  });
  var charts = document.querySelectorAll("svg.timeline");
  charts.forEach(wire);
  document.body.dataset.chartsReady = String(charts.length);

  // report.html#selftest drives hover, zoom and reset on the first chart, for the browser test.
  if (location.hash === "#selftest" && charts.length) {
    var svg = charts[0], box = svg.querySelector("svg.plot").getBoundingClientRect();
    var y = box.top + box.height / 2, xa = box.left + box.width * 0.25, xb = box.left + box.width * 0.5;
    var fire = function (type, x) {
      svg.dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y, bubbles: true }));
    };
    fire("mousemove", xa);
    var hovered = !tip.hidden && tip.textContent.indexOf("t = ") === 0 && tip.textContent.split("\n").length > 4;
    fire("mousedown", xa); fire("mousemove", xb); fire("mouseup", xb);
    var zoomed = +svg.dataset.v1 - +svg.dataset.v0 < +svg.dataset.t1 - +svg.dataset.t0;
    fire("dblclick", xb);
    var reset = +svg.dataset.v0 === +svg.dataset.t0 && +svg.dataset.v1 === +svg.dataset.t1;
    document.body.dataset.selftest = [hovered ? "hover" : "no-hover", zoomed ? "zoom" : "no-zoom",
      reset ? "reset" : "no-reset"].join(" ");
  }
})();
