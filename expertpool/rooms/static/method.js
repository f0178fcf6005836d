/* The scoring-method and bidder editors: add and remove rows in the page, and show only the
   fields an item's kind uses. Everything also works without this script (the "add" button
   posts the form and the server adds a row; "remove" is a checkbox the server honours). */
(function () {
  "use strict";
  function showFields(row) {
    const kind = (row.querySelector("[data-field=kind]") || {}).value;
    const category = (row.querySelector("[data-field=category]") || {}).value;
    const formula = (row.querySelector("[data-field=formula]") || {}).value;
    row.querySelectorAll(".for-points").forEach((el) => { el.hidden = kind === "pass_fail"; });
    row.querySelectorAll(".for-subjective").forEach((el) => { el.hidden = kind !== "subjective"; });
    row.querySelectorAll(".for-objective").forEach((el) => {
      el.hidden = kind !== "objective" || (el.dataset.formula && el.dataset.formula !== formula);
    });
    row.querySelectorAll(".for-qualification").forEach((el) => {
      el.hidden = !(kind === "pass_fail" && category === "qualification");
    });
  }
  function bind(row) {
    row.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => showFields(row)));
    const remove = row.querySelector("[data-act=remove-row]");
    if (remove) {
      remove.addEventListener("change", () => { if (remove.checked) row.hidden = true; });
    }
    showFields(row);
  }
  function setup(containerId, templateId, addSelector, rowSelector) {
    const box = document.getElementById(containerId);
    const tpl = document.getElementById(templateId);
    if (!box || !tpl) return;
    box.querySelectorAll(rowSelector).forEach(bind);
    const add = document.querySelector(addSelector);
    if (!add) return;
    add.addEventListener("click", (e) => {
      e.preventDefault();
      const rows = box.querySelectorAll(rowSelector);
      let next = 0;
      rows.forEach((r) => { next = Math.max(next, Number(r.dataset.row) + 1); });
      const html = tpl.innerHTML.replace(/__N__/g, String(next));
      const holder = document.createElement(box.tagName === "TBODY" ? "tbody" : "div");
      holder.innerHTML = html;
      const row = holder.firstElementChild;
      box.appendChild(row);
      bind(row);
    });
  }
  setup("item-rows", "item-row-template", "[data-testid=add-row]", "[data-testid=item-row]");
  setup("bidder-rows", "bidder-row-template", "[data-testid=add-bidder]", "[data-testid=bidder-row]");
})();
