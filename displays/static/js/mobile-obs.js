/* mobile-obs.js — the phone's clinical cards: record a set of observations (NEWS2 shown before saving) and
 * move the patient to another bed or ward (a transfer).
 *
 * The score on the card is the server's: every change to the form asks the preview endpoint, which scores with
 * the same table as the save (one source of truth, no copy of RCP Chart 1 in the browser). Saving posts the set;
 * the answer's score is shown again, as charted.
 */
(function () {
  "use strict";

  const F = window.WhiteboardFormat;
  const P = window.WhiteboardBedParts;
  const el = F.el;
  const PREVIEW_DELAY_MS = 250;
  const RISK_TEXT = { low: "Low risk", "low-medium": "Low–medium risk", medium: "Medium risk", high: "High risk" };
  const MONITORING_TEXT = { "12-hourly": "12-hourly", "4-6-hourly": "4–6-hourly", hourly: "hourly",
    continuous: "continuous monitoring" };
  const PARAMETER_TEXT = { respiration_rate: "Respiration", spo2: "SpO2", air_or_oxygen: "Oxygen", systolic_bp: "Systolic BP",
    pulse: "Pulse", consciousness: "Consciousness", temperature: "Temperature" };
  const bedUrl = (ward, bed) => `/api/wards/${encodeURIComponent(ward)}/beds/${encodeURIComponent(bed)}`;

  function numberField(path, label, opts) {
    const f = P.textField(path, label, { type: "number", max: 5, hint: opts.hint });
    const input = f.controls[0];
    input.inputMode = opts.decimal ? "decimal" : "numeric";
    input.step = opts.decimal ? "0.1" : "1";
    input.min = String(opts.min);
    input.max = String(opts.max);
    f.value = () => {
      const v = f.get();
      if (v === null) return null;
      const n = Number(v);
      return Number.isFinite(n) ? n : NaN;
    };
    return f;
  }

  /** Shows a NEWS2 result (the preview's or the save's) as words, not colour alone. */
  function describe(n, when) {
    const band = F.newsBand(n);
    const parts = Object.entries(n.parameters || {}).filter(([, v]) => v > 0)
      .map(([k, v]) => `${PARAMETER_TEXT[k] || k} ${v}`);
    return [
      el("p", { class: "news-score" }, el("span", { class: "chip news-chip", "data-band": band.band, text: `NEWS2 ${n.score}` }),
        el("span", { text: ` ${RISK_TEXT[n.risk] || n.risk}${n.red_score ? " · 3 in one parameter" : ""}` })),
      el("p", { text: `${when}: next observations due ${F.hhmm(Date.parse(n.next_due))} (${MONITORING_TEXT[n.monitoring] || n.monitoring}).` }),
      parts.length ? el("p", { class: "hint", text: `Scored: ${parts.join(", ")}.` }) : null,
      el("p", { class: "news-response", text: n.response }),
    ];
  }

  function obsCard(ctx) {
    const card = new P.Card(ctx, "Record observations");
    const patientOf = () => (ctx.session.beds.get(ctx.bedId) || {}).patient || {};
    const resp = numberField("respiration_rate", "Respiration rate (per minute)", { min: 0, max: 80 });
    const spo2 = numberField("spo2", "SpO2 (%)", { min: 50, max: 100 });
    const scale = P.radioField("spo2_scale", "SpO2 scale", [["1", "Scale 1"], ["2", "Scale 2 (hypercapnic)"]], "choices-2");
    const scaleHint = el("p", { class: "hint" });
    scale.node.append(scaleHint);
    const air = P.radioField("on_oxygen", "Air or oxygen?", [["air", "Air"], ["oxygen", "Oxygen"]], "choices-2");
    const bp = numberField("systolic_bp", "Systolic blood pressure (mmHg)", { min: 30, max: 300 });
    const pulse = numberField("pulse", "Pulse (per minute)", { min: 20, max: 250 });
    const avpu = P.selectField("consciousness", "Consciousness (ACVPU)", [["", "Choose…"], ["A", "A — Alert"],
      ["C", "C — New confusion"], ["V", "V — Responds to voice"], ["P", "P — Responds to pain"], ["U", "U — Unresponsive"]]);
    const temp = numberField("temperature", "Temperature (°C)", { min: 25, max: 45, decimal: true });
    const fields = [resp, spo2, scale, air, bp, pulse, avpu, temp];
    const preview = el("div", { class: "news-preview", role: "status", "aria-live": "polite", "data-slot": "news-preview" });
    const save = el("button", { type: "button", class: "btn btn-primary", text: "Save observations" });
    let timer = null;
    let asked = 0;

    function drawScale() {
      const decision = patientOf().spo2_scale_2;
      const two = scale.controls.find((c) => c.value === "2");
      two.disabled = !decision;
      if (!decision && two.checked) scale.set("1");
      F.setText(scaleHint, decision ? `Scale 2 decided by ${decision.decided_by}.`
        : "Scale 2 needs a clinician's decision recorded for this patient (below).");
    }

    function body() {
      const b = {
        respiration_rate: resp.value(), spo2: spo2.value(), spo2_scale: scale.get() === null ? null : Number(scale.get()),
        on_oxygen: air.get() === null ? null : air.get() === "oxygen", systolic_bp: bp.value(), pulse: pulse.value(),
        consciousness: avpu.get(), temperature: temp.value(),
      };
      return Object.values(b).some((v) => v === null || Number.isNaN(v)) ? null : b;
    }

    async function ask() {
      const b = body();
      const mine = ++asked;
      fields.forEach((f) => f.controls.forEach((c) => c.removeAttribute("aria-invalid")));
      if (!b) {
        preview.dataset.state = "incomplete";
        preview.replaceChildren(el("p", { class: "hint", text: "Enter all seven to see the NEWS2 score before saving." }));
        return;
      }
      const r = await ctx.api("POST", `${bedUrl(ctx.session.id, ctx.bedId)}/observations/preview`, b);
      if (mine !== asked) return; // a newer question is on its way
      if (!r.ok) {
        preview.dataset.state = "error";
        preview.replaceChildren(el("p", { text: `Not scored: ${r.error.message}` }));
        const bad = fields.find((f) => f.path === r.error.field);
        if (bad) bad.controls[0].setAttribute("aria-invalid", "true");
        return;
      }
      preview.dataset.state = "preview";
      preview.replaceChildren(...describe(r.data.news2, "If saved now").filter(Boolean));
    }

    const later = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, PREVIEW_DELAY_MS);
    };
    fields.forEach((f) => f.controls.forEach((c) => {
      c.addEventListener("input", later);
      c.addEventListener("change", later);
    }));

    save.addEventListener("click", async () => {
      const b = body();
      if (!b) {
        card.say("error", "Not saved: enter all seven observations first.");
        const empty = fields.find((f) => f.get() === null);
        if (empty) empty.controls[0].focus();
        return;
      }
      card.say("saving", "Saving…");
      save.disabled = true;
      const r = await ctx.api("POST", `${bedUrl(ctx.session.id, ctx.bedId)}/observations`, b);
      save.disabled = false;
      if (!r.ok) return card.say("error", `Not saved: ${r.error.message}`);
      ctx.session.applyOwn(r.data.event);
      preview.dataset.state = "saved";
      preview.replaceChildren(...describe(r.data.news2, "Saved").filter(Boolean));
      fields.forEach((f) => f.set(null));
      scale.set("1");
      air.set("air");
      return card.say("saved", `Saved at ${F.hhmmss(Date.now())}. The board shows NEWS2 ${r.data.news2.score} now.`);
    });

    // Scale 2 is a clinical decision about this patient, recorded once (RCP 2017), not a choice per set.
    const decider = P.textField("decided_by", "Scale 2 decided by (clinician)", { max: 100 });
    const decide = el("button", { type: "button", class: "btn", text: "Record Scale 2 decision" });
    const decisionBox = el("details", { class: "scale2" }, el("summary", { text: "Record a Scale 2 decision" }),
      el("p", { class: "hint", text: "Only for a patient with hypercapnic respiratory failure (target 88–92 %), " +
        "as decided by a competent clinical decision maker." }), decider.node, el("div", { class: "save-row" }, decide));
    decide.addEventListener("click", () => {
      const who = decider.get();
      if (!who) {
        card.say("error", "Not recorded: name the clinician who decided Scale 2.");
        decider.controls[0].focus();
        return;
      }
      card.save({
        conflicts: () => [],
        build: () => ({ patient: { spo2_scale_2: { decided_by: who } } }),
        done: () => { decider.set(null); decisionBox.open = false; drawScale(); },
        discard: () => {},
      }, false);
    });

    scale.set("1");
    air.set("air");
    card.root.append(el("p", { class: "hint", text: "The score, risk and next-due time come from the server as you type; " +
      "nothing is saved until you press Save." }), ...fields.map((f) => f.node), preview, el("div", { class: "save-row" }, save),
    decisionBox);
    card.finish();
    card.refresh = drawScale;
    drawScale();
    ask();
    return card;
  }

  /** Move the patient to an empty bed of this ward or another (the same write as a PAS transfer). */
  function moveCard(ctx, bed) {
    const card = new P.Card(ctx, "Move to another bed");
    const wardChoice = P.selectField("to_ward", "Ward", ctx.wards.map((w) => [w.id, w.name]));
    const bedChoice = P.selectField("to_bed", "Empty bed", [["", "Loading…"]]);
    const start = el("button", { type: "button", class: "btn btn-primary", text: "Move patient…" });
    const confirm = el("div", { class: "conflict", hidden: true });
    const yes = el("button", { type: "button", class: "btn btn-primary", text: "Yes, move" });
    const no = el("button", { type: "button", class: "btn", text: "Cancel" });
    const question = el("p", {});
    confirm.append(question, el("div", { class: "actions" }, yes, no));
    let targets = new Map(); // bed id → version, for the chosen ward

    async function loadBeds() {
      const ward = wardChoice.get();
      const select = bedChoice.controls[0];
      let beds;
      if (ward === ctx.session.id) {
        beds = [...ctx.session.beds.values()];
      } else {
        const r = await ctx.api("GET", `/api/wards/${encodeURIComponent(ward)}`);
        if (wardChoice.get() !== ward) return;
        if (!r.ok) {
          select.replaceChildren(el("option", { value: "", text: "Not available" }));
          return card.say("error", `Cannot list that ward's beds: ${r.error.message}`);
        }
        beds = r.data.beds;
      }
      const free = beds.filter((b) => b.status === "empty" && !b.patient && !(ward === ctx.session.id && b.id === ctx.bedId));
      targets = new Map(free.map((b) => [b.id, b.version]));
      select.replaceChildren(...(free.length ? free.map((b) => el("option", { value: b.id, text: `${b.id}${b.bay ? ` (${b.bay})` : ""}` }))
        : [el("option", { value: "", text: "No empty bed on this ward" })]));
      start.disabled = !free.length;
      return undefined;
    }

    wardChoice.controls[0].addEventListener("change", () => { confirm.hidden = true; loadBeds(); });
    bedChoice.controls[0].addEventListener("change", () => { confirm.hidden = true; });
    start.addEventListener("click", () => {
      const to = bedChoice.get();
      if (!to) return card.say("error", "Choose an empty bed first.");
      const ward = ctx.wards.find((w) => w.id === wardChoice.get());
      const name = bed.patient.name || bed.patient.initials;
      F.setText(question, `Move ${name} from bed ${ctx.bedId} to ${ward ? ward.name : wardChoice.get()}, bed ${to}? ` +
        `Bed ${ctx.bedId} goes to cleaning.`);
      confirm.hidden = false;
      no.focus();
      return undefined;
    });
    no.addEventListener("click", () => { confirm.hidden = true; start.focus(); });
    yes.addEventListener("click", async () => {
      confirm.hidden = true;
      const toWard = wardChoice.get();
      const toBed = bedChoice.get();
      card.say("saving", "Moving…");
      const here = ctx.session.beds.get(ctx.bedId);
      const body = { to_ward: toWard, to_bed: toBed };
      if (Number.isInteger(targets.get(toBed))) body.to_version = targets.get(toBed);
      const headers = here && Number.isInteger(here.version) ? { "If-Match": `"bed-${here.version}"` } : {};
      const r = await ctx.api("POST", `${bedUrl(ctx.session.id, ctx.bedId)}/transfer`, body, headers);
      if (!r.ok) {
        card.say("error", `Not moved: ${r.error.message}`);
        return loadBeds();
      }
      ctx.session.applyOwn(r.data.event);
      ctx.toast(`Moved to ${toWard === ctx.session.id ? "" : `${toWard}, `}bed ${toBed}.`);
      location.hash = `#/ward/${encodeURIComponent(toWard)}/bed/${encodeURIComponent(toBed)}`;
      return undefined;
    });

    wardChoice.set(ctx.session.id);
    card.root.append(el("p", { class: "hint", text: "The whole record moves: NEWS2, tasks and flags go with the patient." }),
      wardChoice.node, bedChoice.node, el("div", { class: "save-row" }, start), confirm);
    card.finish();
    card.refresh = () => { if (wardChoice.get() === ctx.session.id) loadBeds(); };
    loadBeds();
    return card;
  }

  window.WhiteboardObs = { obsCard, moveCard };
})();
