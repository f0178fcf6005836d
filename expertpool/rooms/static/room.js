/* The evaluation room page: one Socket.IO connection, rendering the viewer's own snapshot.
   The server pushes full snapshots; an older or equal seq is ignored; on every (re)connect the
   page re-joins and receives the full snapshot again. Every action waits for its acknowledgement. */
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("room-config").textContent);
  const T = cfg.t;
  const $ = (sel) => document.querySelector(sel);
  const esc = (v) => String(v === null || v === undefined ? "" : v)
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const SCORING_ON = ["scoring"];
  let snap = null;
  let codeAccepted = false;
  // Every change carries this participant's next request number; the server refuses one older
  // than a change it already applied (a late delivery after a timeout must not overwrite a newer
  // value). The counter resumes from the server's last_request after every (re)join.
  let lastReq = 0;
  const UNORDERED = ["chat", "join", "snapshot", "scores", "report"];
  const keys = {};

  // One origin: behind the site's proxy (nginx, docs/deploy.md) a reconnect reaches a surviving
  // server process, and the "connect" handler re-joins for a full snapshot. The room id in the
  // query lets the proxy send everyone of this session to the same process.
  const socket = io("/room", { transports: ["websocket"], withCredentials: true,
                               query: { room: cfg.room_id },
                               reconnectionDelay: 500, reconnectionDelayMax: 3000 });
  const ACK_TIMEOUT_MS = 10000;

  function join() {
    socket.emit("join", { room_id: cfg.room_id }, (ack) => {
      if (!ack.ok) { showError(ack.error); return; }
      render(ack.snapshot, true);
      $("#sec-chat .messages").innerHTML = "";
      (ack.chat || []).forEach(addChat);
    });
  }
  socket.on("connect", () => { setConn(true); join(); });
  socket.on("disconnect", () => setConn(false));
  socket.on("snapshot", (s) => { if (!snap || s.seq > snap.seq) render(s); });
  socket.on("chat", addChat);

  function send(event, payload, after) {
    payload = Object.assign({ room_id: cfg.room_id }, payload || {});
    if (UNORDERED.indexOf(event) < 0) payload.req = ++lastReq;
    // An action whose acknowledgement never comes (its server died) may or may not be saved: say
    // so, and the fresh snapshot after the reconnect shows which; sending again is safe.
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      if (err) { showError({ code: "not_acknowledged" }); return; }
      if (!ack.ok) {
        const d = ack.error.details;
        if (d && d.last_request > lastReq) lastReq = d.last_request;
        showError(ack.error);
        return;
      }
      clearError();
      if (after) after(ack);
      // A gap: our change is saved but its snapshot has not arrived yet; ask for it.
      if (ack.seq && (!snap || ack.seq > snap.seq)) {
        setTimeout(() => {
          if (!snap || ack.seq > snap.seq) {
            socket.emit("snapshot", { room_id: cfg.room_id }, (a) => { if (a.ok) render(a.snapshot); });
          }
        }, 400);
      }
    });
  }

  function setConn(on) {
    const el = $("[data-testid=conn]");
    el.textContent = on ? T.connected : T.disconnected;
    el.dataset.state = on ? "connected" : "disconnected";
  }
  function showError(err) {
    const el = $("[data-testid=error]");
    let text = T["err_" + err.code] || err.message || err.code;
    if (err.fields) text += " (" + Object.entries(err.fields).map(([k, v]) => k + ": " + v).join("; ") + ")";
    el.textContent = text;
    el.dataset.code = err.code;
    el.hidden = false;
  }
  function clearError() { const el = $("[data-testid=error]"); el.hidden = true; el.textContent = ""; el.dataset.code = ""; }

  function section(id, key, show, html, bind) {
    const el = document.getElementById(id);
    el.hidden = !show;
    if (!show) { keys[id] = null; return; }
    if (keys[id] === key) return;
    keys[id] = key;
    el.innerHTML = html;
    if (bind) bind(el);
  }
  const on = (el, sel, fn) => el.querySelectorAll(sel).forEach((b) => b.addEventListener("click", fn));
  const phaseOf = (s) => s.paused_from || s.phase;
  const isMainHost = (s) => s.viewer.role === "host" && (s.venues || []).some((v) => v.is_main && v.venue_id === s.viewer.venue_id);
  const venueName = (s, id) => ((s.venues || []).find((v) => v.venue_id === id) || {}).name || "";
  const subjective = (s) => ((s.form && s.form.items) || []).filter((i) => i.kind === "subjective");
  const itemName = (s, id) => (((s.form && s.form.items) || []).find((i) => i.item_id === id) || {}).name || id;
  const yes = (b) => (b ? T.yes : T.no);

  function render(s, force) {
    if (force) Object.keys(keys).forEach((k) => { keys[k] = null; });
    snap = s;
    if (s.viewer && s.viewer.last_request > lastReq) lastReq = s.viewer.last_request;
    const role = s.viewer.role;
    const phase = phaseOf(s);
    $("[data-testid=phase]").textContent = T["phase_" + s.phase] || s.phase;
    $("[data-testid=phase]").dataset.phase = s.phase;
    $("[data-testid=seq]").textContent = s.seq;
    const paused = $("[data-testid=paused]");
    paused.hidden = s.phase !== "paused";
    paused.textContent = s.phase === "paused" ? T.paused + ": " + s.pause_reason : "";
    renderMembers(s);
    renderHost(s, role === "host");
    const member = role === "expert" || role === "representative";
    const me = (s.members || []).find((m) => m.alias === s.viewer.alias) || {};
    renderCheckIn(s, member && ["check_in", "leader_election", "scoring"].includes(phase) && !me.is_checked_in, me);
    renderElection(s, !!s.election, member);
    renderReview(s, member);
    renderSheet(s, member && (SCORING_ON.includes(phase) || (s.my_sheet && s.my_sheet.submitted_at && phase === "scoring")));
    renderFlags(s, Array.isArray(s.flags) && s.flags.length > 0, member);
    renderResults(s, !!s.results, member);
    renderSign(s, ["signing", "archived"].includes(phase), member);
  }

  function renderMembers(s) {
    const staff = s.viewer.role === "host" || s.viewer.role === "supervisor";
    const mine = (m) => s.viewer.role === "host" && m.venue_id === s.viewer.venue_id;
    const phase = phaseOf(s);
    const pending = new Set((s.pending_removals || []).map((r) => r.participant_id));
    const replaceable = ["scheduled", "opened", "check_in", "leader_election", "scoring", "deviation_review"].includes(phase);
    const rows = (s.members || []).map((m) => {
      let actions = "";
      if (pending.has(m.participant_id) && m.status === "active") {
        const why = (s.pending_removals.find((r) => r.participant_id === m.participant_id) || {}).reason || "";
        actions += `<span class="badge" data-testid="removal-pending">${esc(T.removal_pending)}: ${esc(why)}</span> `;
        if (s.viewer.role === "supervisor" && replaceable) {
          actions += `<button data-act="approve-removal" data-pid="${esc(m.participant_id)}">${esc(T.approve_removal)}</button>`
            + ` <button data-act="reject-removal" data-pid="${esc(m.participant_id)}">${esc(T.reject_removal)}</button>`;
        }
      }
      if (s.viewer.role === "host" && m.status === "active") {
        if (mine(m) && phase === "check_in" && !m.is_checked_in) {
          if (!m.codes_exhausted) {
            actions += `<button data-act="code" data-pid="${esc(m.participant_id)}">${esc(T.issue_code)}</button>`;
          }
          actions += ` <input size="6" data-seat="${esc(m.participant_id)}" value="${esc(m.seat || "")}" placeholder="${esc(T.seat)}">`;
          if (m.has_valid_code) {
            actions += ` <button data-act="confirm" data-pid="${esc(m.participant_id)}">${esc(T.confirm)}</button>`;
          }
          const why = m.codes_exhausted ? "codes_failed" : "no_signal";
          actions += ` <button data-act="in-person" data-reason="${why}" data-pid="${esc(m.participant_id)}">`
            + `${esc(m.codes_exhausted ? T.verify_in_person : T.no_signal_verify)}</button>`;
        }
        if (isMainHost(s) && replaceable && !pending.has(m.participant_id)) {
          actions += ` <button data-act="replace" data-pid="${esc(m.participant_id)}">${esc(T.replace)}</button>`;
        }
        if ((mine(m) || isMainHost(s)) && phase === "signing" && !m.has_signed) {
          actions += ` <button data-act="refusal" data-pid="${esc(m.participant_id)}">${esc(T.refusal)}</button>`;
        }
      } else if (isMainHost(s) && m.status === "removed" && !(s.members || []).some((o) => o.replaces === m.alias)
                 && replaceable) {
        // A vacated seat: once the backup called for it has accepted, the host seats them.
        actions += `<button data-act="fill" data-pid="${esc(m.participant_id)}">${esc(T.seat_backup)}</button>`;
      }
      return `<tr data-alias="${esc(m.alias)}"><td>${esc(m.alias)}${m.is_leader ? " ★" : ""}</td>`
        + (staff ? `<td>${esc(m.name || "")}</td><td>${esc(venueName(s, m.venue_id))}</td><td>${esc(m.seat || "")}</td>` : "")
        + `<td>${esc(m.status === "active" ? "" : T[m.status] || m.status)}</td>`
        + `<td data-col="checked-in">${yes(m.is_checked_in)}</td><td>${yes(m.has_submitted)}</td><td>${yes(m.has_signed)}</td>`
        + (staff ? `<td>${actions}</td>` : "") + "</tr>";
    }).join("");
    const head = `<tr><th>${esc(T.alias)}</th>` + (staff ? `<th>${esc(T.name)}</th><th>${esc(T.venue)}</th><th>${esc(T.seat)}</th>` : "")
      + `<th>${esc(T.status)}</th><th>${esc(T.checked_in)}</th><th>${esc(T.submitted)}</th><th>${esc(T.signed)}</th>`
      + (staff ? "<th></th>" : "") + "</tr>";
    const hosts = (s.hosts || []).map((h) => esc(venueName(s, h.venue_id))).join("、");
    const title = `<h2>${esc(T.members)}</h2><p class="muted">${esc(T.venue_hosts)}: ${hosts}</p>`
      + (s.viewer.role === "supervisor" ? `<p class="badge">${esc(T.observer)}</p>` : "");
    section("sec-members", JSON.stringify([s.members, s.phase, s.pending_removals]), true,
      `${title}<table data-testid="members">${head}${rows}</table>`, (el) => {
        on(el, "[data-act=code]", (e) => send("request_code", { member: e.target.dataset.pid }));
        on(el, "[data-act=confirm]", (e) => {
          const pid = e.target.dataset.pid;
          send("confirm_identity", { member: pid, seat: el.querySelector(`[data-seat="${pid}"]`).value });
        });
        on(el, "[data-act=in-person]", (e) => {
          const pid = e.target.dataset.pid;
          if (!window.confirm(T.confirm_id_card)) return;
          send("verify_in_person", {
            member: pid,
            seat: el.querySelector(`[data-seat="${pid}"]`).value,
            reason: e.target.dataset.reason,
          });
        });
        on(el, "[data-act=fill]", (e) => send("replace_member", { member: e.target.dataset.pid, reason: T.backup_accepted }));
        on(el, "[data-act=replace]", (e) => {
          const reason = window.prompt(T.reason);
          if (reason) send("replace_member", { member: e.target.dataset.pid, reason: reason });
        });
        on(el, "[data-act=approve-removal]", (e) => {
          if (window.confirm(T.confirm_removal)) send("decide_removal", { member: e.target.dataset.pid, decision: "approve" });
        });
        on(el, "[data-act=reject-removal]", (e) => {
          const reason = window.prompt(T.reason);
          if (reason) send("decide_removal", { member: e.target.dataset.pid, decision: "reject", reason: reason });
        });
        on(el, "[data-act=refusal]", (e) => {
          const reason = window.prompt(T.reasons);
          send("record_refusal", { member: e.target.dataset.pid, reason: reason || "" });
        });
      });
  }

  function renderHost(s, show) {
    const main = isMainHost(s);
    const phase = phaseOf(s);
    const setup = ["scheduled", "opened", "check_in", "leader_election"].includes(phase);
    const hasStages = ((s.form && s.form.items) || []).some((i) => i.kind === "pass_fail" && (i.by_committee !== false) && ["qualification", "compliance"].includes(i.category));
    const actions = ["open", "start_check_in", "start_election"].concat(hasStages ? ["start_review"] : [], ["start_scoring", "finalise", "start_signing", "archive"]);
    const buttons = main ? actions.map((a) => `<button data-phase="${a}">${esc(T[a])}</button>`).join(" ") : "";
    const bids = (s.bids || []).map((b) => `<tr data-bidder="${esc(b.bidder_code)}"><td>${esc(b.bidder_code)}</td><td>${esc(b.bidder_name)}</td><td>${esc(b.price)}</td>`
      + `<td>${esc(Object.entries(b.checks || {}).filter(([, ok]) => !ok).map(([k]) => itemName(s, k)).join("、"))}</td></tr>`).join("");
    const items = ((s.form && s.form.items) || []).map((i) => `<li>${esc(T["cat_" + (i.category || "technical")] || i.category || "")}: ${esc(i.name)}`
      + (i.kind === "pass_fail" ? ` (${esc(T.pass_fail)})` : ` (${esc(i.minimum)}–${esc(i.maximum)})`) + "</li>").join("");
    const html = `<h2>${esc(T.host_console)}</h2>`
      + (main ? `<h3>${esc(T.form)}</h3><ul data-testid="method-items">${items}</ul>`
        + (setup ? `<p><a href="${esc(cfg.method_url)}" data-testid="edit-method">${esc(T.edit_method)}</a></p>` : "")
        + `<h3>${esc(T.bids)}</h3><table data-testid="bids"><tr><th>${esc(T.bidder)}</th><th>${esc(T.name)}</th><th>${esc(T.price)}</th><th>${esc(T.failed_checks)}</th></tr>${bids}</table>`
        + (setup ? `<p><a href="${esc(cfg.bidders_url)}" data-testid="edit-bidders">${esc(T.edit_bidders)}</a></p>` : "")
        + `<h3>${esc(T.phase)}</h3><p data-testid="phase-buttons">${buttons}</p>` : "")
      + `<p><input data-testid="pause-reason" placeholder="${esc(T.reason)}"> <button data-testid="pause">${esc(T.pause)}</button>`
      + (main ? ` <button data-testid="resume">${esc(T.resume)}</button>` : "") + "</p>";
    section("sec-host", JSON.stringify([s.bids, s.form, phase, s.phase]), show, html, (el) => {
      on(el, "[data-phase]", (e) => send("phase", { action: e.target.dataset.phase, seq: snap.seq }));
      on(el, "[data-testid=pause]", () => send("pause", { reason: el.querySelector("[data-testid=pause-reason]").value }));
      on(el, "[data-testid=resume]", () => send("resume", {}));
    });
  }

  function renderReview(s, member) {
    const stages = s.stages || [];
    const show = stages.length > 0;
    const items = (stage) => ((s.form && s.form.items) || []).filter((i) => i.kind === "pass_fail" && i.category === stage && i.by_committee !== false);
    const parts = stages.map((st) => {
      const its = items(st.stage);
      const head = `<h3 data-stage="${esc(st.stage)}">${esc(T["stage_" + st.stage] || st.stage)}</h3>`
        + `<p class="muted">${esc(T.submitted)}: ${esc((st.submitted || []).join("、"))}</p>`;
      if (st.is_concluded) {
        const rows = st.bidders.map((b) => {
          const failed = (st.failed || {})[b] || [];
          return `<tr data-outcome="${esc(b)}"><td>${esc(b)}</td><td data-col="outcome">${esc(failed.length ? T.fail : T.pass)}</td><td>`
            + failed.map((f) => `${esc(itemName(s, f.item_id))} (${f.fails}/${f.members}): ${esc((f.reasons || []).join("；"))}`).join("<br>") + "</td></tr>";
        }).join("");
        return head + `<table data-testid="stage-outcome"><tr><th>${esc(T.bidder)}</th><th>${esc(T.conclusion)}</th><th>${esc(T.reasons)}</th></tr>${rows}</table>`;
      }
      if (!member) return head;
      if (st.my_marks) return head + `<p data-testid="review-done">${esc(T.review_submitted)}</p>`;
      const rows = st.bidders.map((b) => its.map((i) => `<tr><td>${esc(b)}</td><td title="${esc(i.criteria || "")}">${esc(i.name)}<br><small class="muted">${esc(i.criteria || "")}</small></td>`
        + `<td><select data-mark-bidder="${esc(b)}" data-mark-item="${esc(i.item_id)}"><option value="pass">${esc(T.pass)}</option><option value="fail">${esc(T.fail)}</option></select></td>`
        + `<td><input data-reason-bidder="${esc(b)}" data-reason-item="${esc(i.item_id)}" placeholder="${esc(T.fail_reason)}" maxlength="500"></td></tr>`).join("")).join("");
      return head + `<table data-testid="review-sheet"><tr><th>${esc(T.bidder)}</th><th>${esc(T.item)}</th><th>${esc(T.conclusion)}</th><th>${esc(T.reasons)}</th></tr>${rows}</table>`
        + `<p><button data-testid="submit-review" class="primary">${esc(T.submit_review)}</button></p>`;
    }).join("");
    section("sec-review", JSON.stringify([stages, s.form, s.phase, member]), show, `<h2>${esc(T.review)}</h2>${parts}`, (el) => {
      on(el, "[data-testid=submit-review]", () => {
        const marks = {};
        el.querySelectorAll("select[data-mark-bidder]").forEach((sel) => {
          const b = sel.dataset.markBidder, i = sel.dataset.markItem;
          const reason = el.querySelector(`[data-reason-bidder="${b}"][data-reason-item="${i}"]`).value;
          (marks[b] = marks[b] || {})[i] = { passed: sel.value === "pass", reason: reason };
        });
        send("submit_review", { marks: marks });
      });
    });
  }

  function renderCheckIn(s, show, me) {
    const html = `<h2>${esc(T.check_in)}</h2>`
      + (codeAccepted ? `<p data-testid="checkin-wait">${esc(T.waiting_host)}</p>` : `
        <p><button data-testid="request-code">${esc(T.request_code)}</button></p>
        <p><input data-testid="code" inputmode="numeric" autocomplete="one-time-code" size="8">
        <button data-testid="enter-code">${esc(T.enter_code)}</button></p>`);
    section("sec-checkin", JSON.stringify([codeAccepted, me.is_checked_in, s.phase]), show, html, (el) => {
      on(el, "[data-testid=request-code]", () => send("request_code", {}, () => { el.querySelector("[data-testid=code]").placeholder = T.code_sent; }));
      on(el, "[data-testid=enter-code]", () => send("enter_code", { code: el.querySelector("[data-testid=code]").value }, () => {
        codeAccepted = true; keys["sec-checkin"] = null; render(snap);
      }));
    });
  }

  function renderElection(s, show, member) {
    const e = s.election || { rounds: [], electorate: [], candidates: [] };
    const round = e.rounds[e.rounds.length - 1] || {};
    const canVote = member && phaseOf(s) === "leader_election" && !e.leader && !round.my_vote;
    const counts = e.rounds.filter((r) => r.counts).map((r) => `<li>#${r.number}: ` + Object.entries(r.counts).map(([a, n]) => `${esc(a)} ${n}`).join("，") + "</li>").join("");
    const html = `<h2>${esc(T.election)}</h2>`
      + (e.leader ? `<p data-testid="leader">${esc(T.leader)}: ${esc(e.leader)}</p>` : "")
      + (canVote ? `<select data-testid="candidate">${(e.candidates || e.electorate).map((a) => `<option>${esc(a)}</option>`).join("")}</select>
         <button data-testid="vote">${esc(T.vote)}</button>` : (round.my_vote ? `<p>${esc(T.voted)} (${esc(round.my_vote)})</p>` : ""))
      + `<ul>${counts}</ul>`;
    section("sec-election", JSON.stringify([e, s.phase, member]), !!show, html, (el) => {
      on(el, "[data-testid=vote]", () => send("vote", { candidate: el.querySelector("[data-testid=candidate]").value }));
    });
  }

  function renderSheet(s, show) {
    const items = subjective(s);
    const sheet = s.my_sheet || { scores: {}, reasons: {} };
    const done = !!(sheet && sheet.submitted_at);
    const objective = s.objective || {};
    const rows = (s.scoring_bidders || []).map((b) => `<tr><td>${esc(b)}</td>`
      + items.map((i) => `<td><input size="5" data-bidder="${esc(b)}" data-item="${esc(i.item_id)}" value="${esc(((sheet.scores || {})[b] || {})[i.item_id] || "")}"
          ${done ? "disabled" : ""} title="${esc(i.minimum)}–${esc(i.maximum)} / ${esc(i.step)}">
          <input size="12" data-why-bidder="${esc(b)}" data-why-item="${esc(i.item_id)}" maxlength="200" placeholder="${esc(T.low_reason)}"
          value="${esc(((sheet.reasons || {})[b] || {})[i.item_id] || "")}" ${done ? "disabled" : ""}></td>`).join("")
      + `<td>${esc(Object.values(objective[b] || {}).join(" / "))}</td></tr>`).join("");
    const criteria = items.filter((i) => i.criteria).map((i) => `<li><strong>${esc(i.name)}</strong>: ${esc(i.criteria)}</li>`).join("");
    const lowPct = s.low_score_reason_pct;
    const html = `<h2>${esc(T.sheet)}</h2>` + (criteria ? `<details open data-testid="criteria"><summary>${esc(T.criteria)}</summary><ul>${criteria}</ul></details>` : "")
      + (lowPct ? `<p class="muted">${esc(T.low_reason_help)} (${esc(lowPct)} %)</p>` : "")
      + `<table data-testid="sheet"><tr><th>${esc(T.bidder)}</th>`
      + items.map((i) => `<th>${esc(i.name)} (${esc(i.minimum)}–${esc(i.maximum)})</th>`).join("")
      + `<th>${esc(T.objective)}</th></tr>${rows}</table>`
      + (done ? `<p data-testid="sheet-done">${esc(T.sheet_submitted)}</p>`
        : `<p><button data-testid="save-draft">${esc(T.save_draft)}</button> <button data-testid="submit-sheet" class="primary">${esc(T.submit)}</button></p>`);
    section("sec-sheet", JSON.stringify([s.scoring_bidders, s.form, done, s.phase]), show, html, (el) => {
      const collect = () => {
        const scores = {};
        const reasons = {};
        el.querySelectorAll("input[data-bidder]").forEach((inp) => {
          if (inp.value.trim() === "") return;
          (scores[inp.dataset.bidder] = scores[inp.dataset.bidder] || {})[inp.dataset.item] = inp.value.trim();
        });
        el.querySelectorAll("input[data-why-bidder]").forEach((inp) => {
          if (inp.value.trim() === "") return;
          (reasons[inp.dataset.whyBidder] = reasons[inp.dataset.whyBidder] || {})[inp.dataset.whyItem] = inp.value.trim();
        });
        return { scores: scores, reasons: reasons };
      };
      on(el, "[data-testid=save-draft]", () => send("enter_scores", collect()));
      on(el, "[data-testid=submit-sheet]", () => send("submit_sheet", collect()));
    });
  }

  function renderFlags(s, show, member) {
    const phase = phaseOf(s);
    const rows = (s.flags || []).map((f) => {
      const own = member && f.flag_id && f.status === "open" && phase === "deviation_review";
      return `<tr data-flag="${esc(f.flag_id || "")}"><td>${esc(f.member)}</td><td>${esc(f.bidder_code)}</td><td>${esc(itemName(s, f.item_id))}</td>
        <td>${esc(f.score)}</td><td>${esc(f.mean)}</td><td>${esc(f.deviation_pct)}</td><td data-col="status">${esc(f.status)}</td><td>${esc(f.explanation)}</td>
        <td>${own ? `<input data-explain size="14" placeholder="${esc(T.explanation)}"> <button data-act="explain">${esc(T.explain)}</button>
          <input data-value size="4" placeholder="${esc(T.new_value)}"> <input data-note size="8" placeholder="${esc(T.note)}">
          <button data-act="revise" data-bidder="${esc(f.bidder_code)}" data-item="${esc(f.item_id)}">${esc(T.revise)}</button>` : ""}</td></tr>`;
    }).join("");
    const canFinalise = phase === "deviation_review" && (s.viewer.is_leader || isMainHost(s));
    const html = `<h2>${esc(T.flags)}</h2><table data-testid="flags"><tr><th>${esc(T.alias)}</th><th>${esc(T.bidder)}</th><th>${esc(T.item)}</th>
      <th>${esc(T.score)}</th><th>${esc(T.mean)}</th><th>${esc(T.deviation)}</th><th>${esc(T.status)}</th><th>${esc(T.explanation)}</th><th></th></tr>${rows}</table>`
      + (canFinalise && s.viewer.is_leader ? `<p><button data-testid="finalise">${esc(T.finalise)}</button></p>` : "");
    section("sec-flags", JSON.stringify([s.flags, s.phase, s.viewer.is_leader]), show, html, (el) => {
      on(el, "[data-act=explain]", (e) => {
        const tr = e.target.closest("tr");
        send("explain_deviation", { flag_id: tr.dataset.flag, explanation: tr.querySelector("[data-explain]").value });
      });
      on(el, "[data-act=revise]", (e) => {
        const tr = e.target.closest("tr");
        send("revise_score", { bidder: e.target.dataset.bidder, item_id: e.target.dataset.item,
          value: tr.querySelector("[data-value]").value, note: tr.querySelector("[data-note]").value });
      });
      on(el, "[data-testid=finalise]", () => send("phase", { action: "finalise" }));
    });
  }

  function renderResults(s, show, member) {
    const r = s.results || { ranking: [], bidders: [], candidates: [] };
    const totals = Object.fromEntries((r.bidders || []).map((b) => [b.bidder_code, b]));
    const rows = (r.ranking || []).map((x) => `<tr><td>${x.rank}</td><td>${esc(x.bidder_code)}</td><td>${esc(totals[x.bidder_code] ? totals[x.bidder_code].total : x.total)}</td></tr>`).join("");
    const items = subjective(s);
    const amend = member && phaseOf(s) === "finalised" ? `<h3>${esc(T.amend)}</h3>
      <select data-a="bidder">${(s.scoring_bidders || []).map((b) => `<option>${esc(b)}</option>`).join("")}</select>
      <select data-a="item">${items.map((i) => `<option value="${esc(i.item_id)}">${esc(i.name)}</option>`).join("")}</select>
      <input data-a="value" size="5" placeholder="${esc(T.new_value)}">
      <select data-a="reason">${["arithmetic_error", "out_of_range", "objective_disagreement", "abnormal_score"].map((k) => `<option value="${k}">${esc(T[k])}</option>`).join("")}</select>
      <input data-a="note" placeholder="${esc(T.note)}"> <button data-testid="amend">${esc(T.amend)}</button>` : "";
    const leaderButtons = phaseOf(s) === "finalised" && s.viewer.is_leader ? `<p><button data-testid="start-signing">${esc(T.start_signing)}</button></p>` : "";
    const low = (s.low_score_reasons || []).map((x) => `<li>${esc(x.member)} · ${esc(x.bidder_code)} · ${esc(itemName(s, x.item_id))} ${esc(x.score)}: ${esc(x.reason)}</li>`).join("");
    const excluded = (r.excluded || []).map((x) => `<li>${esc(x.bidder_code)} (${esc(T["stage_" + x.stage] || T.failed_checks)}): ${esc((x.reasons && x.reasons.length ? x.reasons : x.failed_checks.map((k) => itemName(s, k))).join("；"))}</li>`).join("");
    const html = `<h2>${esc(T.results)}</h2>`
      + (excluded ? `<h3>${esc(T.excluded)}</h3><ul data-testid="excluded">${excluded}</ul>` : "")
      + (low ? `<h3>${esc(T.low_reasons)}</h3><ul data-testid="low-reasons">${low}</ul>` : "")
      + `<table data-testid="results"><tr><th>${esc(T.rank)}</th><th>${esc(T.bidder)}</th><th>${esc(T.total)}</th></tr>${rows}</table>
      <p>${esc(T.candidates)}: ${esc((r.candidates || []).join("、"))}</p>${amend}${leaderButtons}`;
    section("sec-results", JSON.stringify([s.results, s.phase, member, s.viewer.is_leader, s.low_score_reasons]), show, html, (el) => {
      on(el, "[data-testid=amend]", () => {
        const v = (k) => el.querySelector(`[data-a=${k}]`).value;
        send("amend_score", { bidder: v("bidder"), item_id: v("item"), value: v("value"), reason: v("reason"), note: v("note") });
      });
      on(el, "[data-testid=start-signing]", () => send("phase", { action: "start_signing" }));
    });
  }

  function renderSign(s, show, member) {
    const signed = (s.signatures || []).some((x) => x.member === s.viewer.alias);
    const sigs = (s.signatures || []).map((x) => `<li>${esc(x.member)}: ${esc(T[x.verdict] || x.verdict)} ${esc(x.reasons)}</li>`).join("");
    const form = member && !signed && s.phase === "signing" ? `
      <p>${esc(T.digest)}: <code data-testid="sign-digest">${esc(s.report_digest)}</code></p>
      <p><select data-testid="verdict"><option value="agree">${esc(T.agree)}</option><option value="dissent">${esc(T.dissent)}</option></select>
      <input data-testid="reasons" placeholder="${esc(T.reasons)}">
      <input type="password" data-testid="sign-password" placeholder="${esc(T.sign)}" autocomplete="current-password">
      <button data-testid="sign" class="primary">${esc(T.sign)}</button></p>` : "";
    const html = `<h2>${esc(T.sign)}</h2><p><a href="${esc(cfg.report_url)}" target="_blank" data-testid="report-link">${esc(T.report)}</a></p>${form}
      <h3>${esc(T.signatures)}</h3><ul data-testid="signatures">${sigs}</ul>`;
    section("sec-sign", JSON.stringify([s.signatures, s.phase, s.report_digest, member]), show, html, (el) => {
      on(el, "[data-testid=sign]", () => send("sign", {
        verdict: el.querySelector("[data-testid=verdict]").value, reasons: el.querySelector("[data-testid=reasons]").value,
        password: el.querySelector("[data-testid=sign-password]").value, report_digest: snap.report_digest,
      }));
    });
  }

  function addChat(m) {
    const li = document.createElement("li");
    li.textContent = `${m.sender}: ${m.text}`;
    $("#sec-chat .messages").appendChild(li);
  }
  (function initChat() {
    const el = $("#sec-chat");
    const canTalk = cfg.role !== "supervisor";
    el.innerHTML = `<h2>${esc(T.chat)}</h2><ul class="messages" data-testid="chat"></ul>`
      + (canTalk ? `<p><input data-testid="chat-text" size="40"> <button data-testid="chat-send">${esc(T.send)}</button></p>` : "");
    if (canTalk) {
      on(el, "[data-testid=chat-send]", () => {
        const inp = el.querySelector("[data-testid=chat-text]");
        if (inp.value.trim()) send("chat", { text: inp.value }, () => { inp.value = ""; });
      });
    }
  })();
})();
