// The bid documents panel of the room page: the lot's documents for this reader, and a PDF.js
// viewer beside the sheets (page navigation, zoom, search). Each copy comes from the server
// stamped with the reader's alias and the time; the server refuses (403 with its reason) before
// check-in, outside an open session and to anyone not in the session.
import * as pdfjsLib from "./vendor/pdfjs/pdf.min.mjs";

const panel = document.getElementById("sec-documents");
if (panel) init(panel);

function init(panel) {
  const T = JSON.parse(document.getElementById("documents-texts").textContent);
  pdfjsLib.GlobalWorkerOptions.workerSrc = panel.dataset.workerUrl;
  const $ = (id) => panel.querySelector(`[data-testid="${id}"]`);
  const layout = panel.closest(".room-layout");
  const viewer = $("viewer");
  const canvas = $("viewer-canvas");
  const box = canvas.parentElement;
  const textLayerDiv = box.querySelector(".textLayer");
  const wrap = $("viewer-canvas-wrap");
  let pdf = null;
  let pageNo = 1;
  let zoom = null; // null: fit the width
  let task = null;
  let pageTexts = [];
  let generation = 0;

  function showError(message) {
    const el = $("documents-error");
    el.textContent = message || "";
    el.hidden = !message;
  }

  async function loadList() {
    const list = $("documents-list");
    let res;
    try {
      res = await fetch(panel.dataset.listUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
    } catch (e) {
      showError(T.failed);
      return;
    }
    const body = await res.json().catch(() => ({}));
    list.replaceChildren();
    if (!res.ok) {
      showError((body.error && body.error.message) || T.failed);
      return;
    }
    showError("");
    if (!body.documents.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = T.none;
      list.append(li);
    }
    for (const d of body.documents) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.dataset.testid = "document-open";
      b.dataset.documentId = d.id;
      b.textContent = `${d.bidder ? d.bidder + " · " : ""}${d.kind_label} (${d.pages} ${T.pages})`;
      b.addEventListener("click", () => openDocument(d, b.textContent));
      li.append(b);
      list.append(li);
    }
  }

  async function openDocument(d, title) {
    const mine = ++generation;
    showError("");
    $("viewer-title").textContent = title;
    $("viewer-found").textContent = T.loading;
    viewer.hidden = false;
    layout && layout.classList.add("reading");
    if (pdf) {
      pdf.destroy();
      pdf = null;
    }
    try {
      // the stamped copy: fetched once, so the opening is recorded once
      const res = await fetch(d.url, {
        credentials: "same-origin",
        headers: { Accept: "application/pdf, application/json" },
      });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw new Error((body.error && body.error.message) || T.failed);
      }
      const data = new Uint8Array(await res.arrayBuffer());
      const loaded = await pdfjsLib.getDocument({
        data,
        cMapUrl: panel.dataset.cmapUrl,
        cMapPacked: true,
        isEvalSupported: false,
      }).promise;
      if (mine !== generation) return loaded.destroy();
      pdf = loaded;
    } catch (e) {
      viewer.hidden = true;
      showError(e.message || T.failed);
      return;
    }
    pageTexts = new Array(pdf.numPages).fill(null);
    pageNo = 1;
    $("viewer-pages").textContent = String(pdf.numPages);
    $("viewer-page").max = String(pdf.numPages);
    $("viewer-found").textContent = "";
    await render();
  }

  async function render() {
    if (!pdf) return;
    const page = await pdf.getPage(pageNo);
    const base = page.getViewport({ scale: 1 });
    const fit = Math.max(0.25, (wrap.clientWidth - 16) / base.width);
    const scale = zoom || fit;
    const viewport = page.getViewport({ scale });
    const ratio = window.devicePixelRatio || 1;
    if (task) task.cancel();
    canvas.width = Math.floor(viewport.width * ratio);
    canvas.height = Math.floor(viewport.height * ratio);
    canvas.style.width = `${Math.floor(viewport.width)}px`;
    canvas.style.height = `${Math.floor(viewport.height)}px`;
    box.style.width = canvas.style.width;
    box.style.height = canvas.style.height;
    task = page.render({
      canvas,
      viewport,
      transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null,
    });
    try {
      await task.promise;
    } catch (e) {
      if (e && e.name === "RenderingCancelledException") return;
      throw e;
    }
    textLayerDiv.replaceChildren();
    textLayerDiv.style.setProperty("--total-scale-factor", String(scale));
    const layer = new pdfjsLib.TextLayer({
      textContentSource: await page.getTextContent(),
      container: textLayerDiv,
      viewport,
    });
    await layer.render();
    highlight();
    $("viewer-page").value = String(pageNo);
    $("viewer-zoom").textContent = `${Math.round(scale * 100)}%`;
    canvas.dataset.renderedPage = String(pageNo);
    viewer.dataset.page = String(pageNo);
  }

  function go(n) {
    if (!pdf) return;
    const next = Math.min(pdf.numPages, Math.max(1, n));
    if (next === pageNo) return render();
    pageNo = next;
    return render();
  }

  function currentScale() {
    const z = parseInt($("viewer-zoom").textContent, 10);
    return Number.isFinite(z) ? z / 100 : 1;
  }

  function highlight() {
    const q = $("viewer-search").value.trim();
    for (const span of textLayerDiv.querySelectorAll("span")) {
      span.classList.toggle("hit", !!q && span.textContent.includes(q));
    }
  }

  async function textOf(i) {
    if (pageTexts[i - 1] === null) {
      const page = await pdf.getPage(i);
      const content = await page.getTextContent();
      pageTexts[i - 1] = content.items.map((it) => it.str || "").join("");
    }
    return pageTexts[i - 1];
  }

  async function findNext() {
    const q = $("viewer-search").value.trim();
    if (!pdf || !q) return;
    for (let step = 1; step <= pdf.numPages; step++) {
      const i = ((pageNo - 1 + step) % pdf.numPages) + 1;
      if ((await textOf(i)).includes(q)) {
        $("viewer-found").textContent = T.match_page.replace("{n}", String(i));
        pageNo = i;
        return render();
      }
    }
    $("viewer-found").textContent = T.no_match;
    highlight();
  }

  $("documents-refresh").addEventListener("click", loadList);
  $("viewer-prev").addEventListener("click", () => go(pageNo - 1));
  $("viewer-next").addEventListener("click", () => go(pageNo + 1));
  $("viewer-page").addEventListener("change", (e) => go(parseInt(e.target.value, 10) || 1));
  $("viewer-zoom-in").addEventListener("click", () => {
    zoom = Math.min(4, currentScale() * 1.25);
    render();
  });
  $("viewer-zoom-out").addEventListener("click", () => {
    zoom = Math.max(0.25, currentScale() / 1.25);
    render();
  });
  $("viewer-fit").addEventListener("click", () => {
    zoom = null;
    render();
  });
  $("viewer-find").addEventListener("click", findNext);
  $("viewer-search").addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      findNext();
    }
  });
  $("viewer-close").addEventListener("click", () => {
    generation++;
    viewer.hidden = true;
    layout && layout.classList.remove("reading");
    if (pdf) pdf.destroy();
    pdf = null;
  });
  // The list follows the room: after check-in or a phase change it is fetched again.
  const phase = document.querySelector('[data-testid="phase"]');
  const checkin = document.getElementById("sec-checkin");
  let pending = null;
  const again = () => {
    clearTimeout(pending);
    pending = setTimeout(loadList, 300);
  };
  const watch = new MutationObserver(again);
  if (phase) watch.observe(phase, { childList: true, characterData: true, subtree: true });
  if (checkin) watch.observe(checkin, { childList: true, subtree: true, attributes: true });
  loadList();
}
