/* Charts are drawn from JSON the page embeds with json_script; panels that HTMX loads
   later get their charts on htmx:afterSwap. No network access is needed. */
(function () {
  "use strict";
  // Day-by-day axes: a few unrotated dates instead of a crowded slanted row.
  var DAY_AXIS = {
    ticks: {
      maxRotation: 0, autoSkip: true, maxTicksLimit: 6,
      callback: function (value) { return String(this.getLabelForValue(value)).slice(5); },  // 2026-08-26 -> 08-26
    },
  };
  var COLORS = { green: "#2e9e5b", yellow: "#e0a526", red: "#d64545", grey: "#b8bec7", blue: "#3a6ff7" };

  function readData(canvas) {
    var el = document.getElementById(canvas.dataset.source);
    return el ? JSON.parse(el.textContent) : null;
  }

  var builders = {
    bands: function (canvas, d) {
      return {
        type: "doughnut",
        data: {
          labels: canvas.dataset.labels.split("|"),
          datasets: [{ data: d.bands, backgroundColor: [COLORS.green, COLORS.yellow, COLORS.red, COLORS.grey] }],
        },
        options: { plugins: { legend: { position: "right" } } },
      };
    },
    renewals: function (canvas, d) {
      return {
        type: "bar",
        data: {
          labels: d.labels || d.months,
          datasets: [
            { label: canvas.dataset.labelForecast, data: d.forecast, backgroundColor: COLORS.blue },
            { label: canvas.dataset.labelRisk, data: d.at_risk, backgroundColor: COLORS.red },
          ],
        },
        options: { scales: { y: { beginAtZero: true } } },
      };
    },
    health: function (canvas, d) {
      return {
        type: "line",
        data: {
          labels: d.score_labels,
          datasets: [{ label: canvas.dataset.labelScore, data: d.scores, borderColor: COLORS.blue, pointRadius: 0, tension: 0.2 }],
        },
        options: { scales: { x: DAY_AXIS, y: { min: 0, max: 100 } }, plugins: { legend: { display: false } } },
      };
    },
    usage: function (canvas, d) {
      return {
        type: "bar",
        data: {
          labels: d.usage_labels,
          datasets: [
            { label: canvas.dataset.labelEvents, data: d.events, backgroundColor: COLORS.blue },
            { label: canvas.dataset.labelUsers, data: d.users, backgroundColor: COLORS.green },
          ],
        },
        options: { scales: { x: DAY_AXIS, y: { beginAtZero: true, ticks: { precision: 0 } } } },
      };
    },
  };

  function draw(root) {
    if (!window.Chart) return;
    (root || document).querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var d = readData(canvas), build = builders[canvas.dataset.chart];
      if (!d || !build) return;
      var config = build(canvas, d);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
      new window.Chart(canvas, config);
      canvas.dataset.drawn = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
