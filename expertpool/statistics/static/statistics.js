// Draws each figure's chart from the JSON embedded in its container (the same JSON the API
// answers); hidden cells are left out of the chart and shown as "<5" in the table.
(function () {
  "use strict";
  document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
    var fig = JSON.parse(el.getAttribute("data-figure"));
    var chart = echarts.init(el);
    var series;
    if (fig.column_totals === null) {
      series = [{ type: fig.chart === "line" ? "line" : "bar", name: fig.title, data: fig.cells[0] || [] }];
      chart.setOption({
        tooltip: {}, grid: { containLabel: true, left: 8, right: 8 },
        xAxis: { type: "category", data: fig.column_labels, axisLabel: { rotate: 30 } },
        yAxis: { type: "value" }, series: series,
      });
    } else {
      series = fig.column_labels.map(function (col, j) {
        return { type: "bar", stack: "all", name: col,
                 data: fig.cells.map(function (row) { return row[j]; }) };
      });
      chart.setOption({
        tooltip: { trigger: "axis" }, legend: { type: "scroll" },
        grid: { containLabel: true, left: 8, right: 8, top: 40 },
        xAxis: { type: "category", data: fig.rows }, yAxis: { type: "value" }, series: series,
      });
    }
    el.setAttribute("data-rendered", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
