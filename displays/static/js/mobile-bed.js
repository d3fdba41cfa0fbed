/* mobile-bed.js — one bed on the phone (what is known, then a card per thing a nurse changes), and
 * the admin's "Public board fields" card on the ward page. Cards come from mobile-cards.js.
 */
(function () {
  "use strict";

  const F = window.WhiteboardFormat;
  const P = window.WhiteboardBedParts;
  const O = window.WhiteboardObs;
  const el = F.el;

  function factList(pairs) {
    const dl = el("dl", { class: "facts" });
    for (const [k, v] of pairs) if (v !== null && v !== undefined && v !== "") dl.append(el("dt", { text: k }), el("dd", { text: v }));
    return dl;
  }

  function facts(bed, ctx) {
    const now = ctx.clock.now();
    const p = bed.patient;
    const last = ctx.session.lastBy.get(bed.id);
    const changed = bed.updated_at ? `${F.hhmm(Date.parse(bed.updated_at))}${last ? ` by ${last.by}` : ""}` : null;
    if (!p) return factList([["Bed status", F.STATUS_TEXT[bed.status] || bed.status], ["Notes", bed.notes], ["Last change", changed]]);
    const band = F.newsBand(p.news2);
    const news = band ? `${band.score} (${band.words}${band.red ? ", 3 in one parameter" : ""})` : "No observations";
    const los = F.lengthOfStay(p.admitted_at, now);
    const flagNames = (p.flags || []).map((f) => (ctx.config.flags.find((x) => x.code === f) || { label: f }).label);
    const ed = p.edd ? F.edd(p.edd, now) : null;
    return factList([
      ["Name", p.name],
      ["Similar name", bed.similar_name ? "⚠ Another patient on this ward has the same initials or surname: " +
        "check name, date of birth and NHS number on the wristband" : null],
      ["NHS number", F.nhsNumber(p.nhs_number)],
      ["Date of birth", p.date_of_birth ? `${F.longDate(p.date_of_birth)}${p.age !== null && p.age !== undefined ? ` (age ${p.age})` : ""}` : null],
      ["Sex", p.sex],
      ["Consultant", p.consultant],
      ["Named nurse", p.named_nurse || "None"],
      ["Admitted", p.admitted_at ? `${F.shortDate(p.admitted_at.slice(0, 10))}${los !== null ? `, ${los} days ago` : ""}` : null],
      ["NEWS2", news],
      ["Next obs", F.obsDue(p.news2, now).text],
      ["EDD", ed ? ed.text : "Not set"],
      ["Discharge", `${F.DISCHARGE_TEXT[p.discharge_status] || "–"}${p.medically_optimised ? ", medically optimised" : ""}`],
      ["Flags", flagNames.join(", ") || "None"],
      ["Last change", changed],
    ]);
  }

  function nextTaskId(tasks) {
    const n = tasks.map((t) => /^t(\d+)$/.exec(t.id)).filter(Boolean).map((m) => Number(m[1]));
    return `t${Math.max(0, ...n) + 1}`;
  }

  function tasksCard(ctx) {
    const card = new P.Card(ctx, "Tasks");
    const list = el("ul", { class: "tasks" });
    const kind = P.selectField("kind", "New task: kind", ctx.config.taskKinds.map((k) => [k, F.TASK_TEXT[k] || k]));
    const text = P.textField("text", "New task: what", { max: 200, hint: "For example: Chase blood cultures" });
    const add = el("button", { type: "button", class: "btn btn-primary", text: "Add task" });
    const taskOf = (bed) => (bed.patient && bed.patient.tasks) || [];

    function tick(id, done) {
      return {
        conflicts: (fresh) => (taskOf(fresh).some((t) => t.id === id) ? []
          : [{ label: "Task", theirs: "removed by someone else", mine: done ? "done" : "not done" }]),
        build: (fresh) => {
          const tasks = taskOf(fresh).map((t) => (t.id === id ? Object.assign({}, t, { done }) : t));
          return P.same(tasks, taskOf(fresh)) ? null : { patient: { tasks } };
        },
        done: draw,
        discard: () => draw(ctx.session.beds.get(ctx.bedId)),
        noForce: true,
      };
    }

    function draw(bed) {
      const focused = document.activeElement && document.activeElement.dataset.task;
      list.replaceChildren(...taskOf(bed).map((t) => {
        const box = el("input", { type: "checkbox", checked: t.done, "data-task": t.id, id: P.nextId("t") });
        box.addEventListener("change", () => card.save(tick(t.id, box.checked), false));
        return el("li", { class: t.done ? "task-done" : "" }, el("label", { class: "choice", for: box.id }, box,
          el("span", { class: "task-text", text: `${F.TASK_TEXT[t.kind] || t.kind}: ${t.text}` }),
          el("span", { class: "visually-hidden", text: t.done ? " (done)" : " (to do)" })));
      }));
      if (!taskOf(bed).length) list.append(el("li", { class: "muted", text: "No tasks." }));
      if (focused) {
        const again = list.querySelector(`[data-task="${CSS.escape(focused)}"]`);
        if (again) again.focus();
      }
    }

    add.addEventListener("click", () => {
      const what = text.get();
      if (!what) {
        card.say("error", "Not added: write what the task is first.");
        text.controls[0].setAttribute("aria-invalid", "true");
        text.controls[0].focus();
        return;
      }
      text.controls[0].removeAttribute("aria-invalid");
      const k = kind.get();
      card.save({
        conflicts: () => [],
        build: (fresh) => ({ patient: { tasks: [...taskOf(fresh), { id: nextTaskId(taskOf(fresh)), kind: k, text: what, done: false }] } }),
        done: (bed) => {
          text.set("");
          draw(bed);
        },
        discard: () => {},
      }, false);
    });
    card.root.append(list, kind.node, text.node, el("div", { class: "save-row" }, add));
    card.finish();
    card.refresh = draw;
    draw(ctx.session.beds.get(ctx.bedId));
    return card;
  }

  function flagsCard(ctx) {
    const card = new P.Card(ctx, "Safety flags");
    const boxes = ctx.config.flags.map((f) => ({ code: f.code, ...P.checkField(f.code, f.label) }));
    let base = [];
    const mine = () => boxes.filter((b) => b.get()).map((b) => b.code);
    const flagsOf = (bed) => (bed.patient && bed.patient.flags) || [];
    function load(bed, force) {
      const dirty = !P.same([...mine()].sort(), [...base].sort());
      if (dirty && !force) return;
      base = flagsOf(bed).slice();
      boxes.forEach((b) => b.set(base.includes(b.code)));
    }
    const op = {
      conflicts: () => [], // flags merge: others' additions and removals are kept, ours are applied on top
      build: (fresh) => {
        const now = mine();
        const added = now.filter((f) => !base.includes(f));
        const removed = base.filter((f) => !now.includes(f));
        const result = flagsOf(fresh).filter((f) => !removed.includes(f)).concat(added.filter((f) => !flagsOf(fresh).includes(f)));
        return P.same(result, flagsOf(fresh)) ? null : { patient: { flags: result } };
      },
      done: (bed) => load(bed, true),
      discard: () => load(ctx.session.beds.get(ctx.bedId), true),
    };
    const save = el("button", { type: "button", class: "btn btn-primary", text: "Save flags" });
    save.addEventListener("click", () => card.save(op, false));
    card.root.append(el("fieldset", {}, el("legend", { class: "visually-hidden", text: "Safety flags" }),
      el("div", { class: "flags-grid" }, ...boxes.map((b) => b.node))), el("div", { class: "save-row" }, save));
    card.finish();
    card.refresh = (bed) => load(bed, false);
    load(ctx.session.beds.get(ctx.bedId), true);
    return card;
  }

  /** Admit or discharge: never forced over someone else's change (that could move the wrong patient). */
  function movementCard(ctx, bed) {
    if (bed.patient) {
      const card = new P.Card(ctx, "Discharge");
      const name = bed.patient.name || bed.patient.initials;
      const start = el("button", { type: "button", class: "btn btn-danger", text: "Discharge patient…" });
      const confirm = el("div", { class: "conflict", hidden: true },
        el("p", { text: `Discharge ${name} from bed ${bed.id}? The bed goes to cleaning.` }));
      const yes = el("button", { type: "button", class: "btn btn-danger", text: "Yes, discharge" });
      const no = el("button", { type: "button", class: "btn", text: "Cancel" });
      confirm.append(el("div", { class: "actions" }, yes, no));
      start.addEventListener("click", () => { confirm.hidden = false; no.focus(); });
      no.addEventListener("click", () => { confirm.hidden = true; start.focus(); });
      yes.addEventListener("click", () => {
        confirm.hidden = true;
        card.save({
          conflicts: (fresh) => (fresh.patient && fresh.patient.name === bed.patient.name ? []
            : [{ label: "Patient", theirs: fresh.patient ? fresh.patient.name : "already discharged", mine: `discharge ${name}` }]),
          build: () => ({ patient: null, status: "cleaning" }),
          done: () => {}, discard: () => {}, noForce: true,
        }, false);
      });
      card.root.append(el("p", { class: "hint", text: "Frees the bed: it goes to cleaning and the patient leaves the board." }),
        el("div", { class: "save-row" }, start), confirm);
      return card.finish();
    }
    const card = new P.Card(ctx, "Admit a patient");
    const name = P.textField("name", "Full name", { max: 100 });
    const age = P.textField("age", "Age (years)", { type: "number", max: 3 });
    const sex = P.selectField("sex", "Sex", [["", "Not recorded"], ["F", "Female"], ["M", "Male"], ["X", "Other"], ["U", "Unknown"]]);
    const nurse = P.textField("nurse", "Named nurse", { max: 100 });
    const go = el("button", { type: "button", class: "btn btn-primary", text: "Admit to this bed" });
    go.addEventListener("click", () => {
      const who = name.get();
      if (!who) {
        card.say("error", "Not admitted: enter the patient's full name.");
        name.controls[0].setAttribute("aria-invalid", "true");
        name.controls[0].focus();
        return;
      }
      name.controls[0].removeAttribute("aria-invalid");
      const patient = { name: who };
      if (age.get() !== null) patient.age = Number(age.get());
      if (sex.get() !== null) patient.sex = sex.get();
      if (nurse.get() !== null) patient.named_nurse = nurse.get();
      card.save({
        conflicts: (fresh) => (fresh.patient ? [{ label: "Bed", theirs: `now has ${fresh.patient.name}`, mine: `admit ${who}` }] : []),
        build: () => ({ status: "occupied", patient }),
        done: () => {}, discard: () => {}, noForce: true,
      }, false);
    });
    card.root.append(name.node, age.node, sex.node, nurse.node, el("div", { class: "save-row" }, go));
    return card.finish();
  }

  function cardsFor(ctx, bed) {
    const c = ctx.config;
    const statuses = c.statuses.filter((s) => s !== "occupied").map((s) => [s, F.STATUS_TEXT[s] || s]);
    if (!bed.patient) {
      return [
        P.fieldsCard(ctx, "Bed status", [P.radioField("status", "Status of this bed", statuses)], { saveText: "Save bed status" }),
        movementCard(ctx, bed),
        P.fieldsCard(ctx, "Notes", [P.notesField("notes", "Notes about this bed", c.notesMax,
          "A patient admitted here keeps them; they are cleared when that patient leaves.")], { saveText: "Save notes" }),
      ];
    }
    return [
      O.obsCard(ctx),
      P.fieldsCard(ctx, "Red or green day", [P.radioField("patient.red_green", "Today is a", [["red", "Red day"], ["green", "Green day"]], "choices-2")],
        { immediate: true }),
      tasksCard(ctx),
      P.fieldsCard(ctx, "Named nurse", [P.textField("patient.named_nurse", "Named nurse", { max: 100 })], { saveText: "Save nurse" }),
      P.fieldsCard(ctx, "Discharge plan", [
        P.textField("patient.edd", "Expected date of discharge (EDD)", { type: "date" }),
        P.checkField("patient.medically_optimised", "Medically optimised for discharge"),
        P.selectField("patient.discharge_status", "Discharge status", c.dischargeStatuses.map((s) => [s, F.DISCHARGE_TEXT[s] || s])),
        P.selectField("patient.discharge_pathway", "Discharge pathway", [["", "Not set"], ["0", "0 — home, no new support"],
          ["1", "1 — home with support"], ["2", "2 — rehabilitation bed"], ["3", "3 — care home"]], { number: true }),
      ], { saveText: "Save discharge plan" }),
      flagsCard(ctx),
      P.fieldsCard(ctx, "Notes", [P.notesField("notes", "Notes about this patient", c.notesMax,
        "They move with the patient to another bed and are cleared when the patient is discharged.")], { saveText: "Save notes" }),
      O.moveCard(ctx, bed),
      movementCard(ctx, bed),
    ];
  }

  function detail(ctx) {
    const wrapper = el("div", {});
    let cards = [];
    let summary = null;
    let hadPatient = null;

    function build() {
      const bed = ctx.session.beds.get(ctx.bedId);
      hadPatient = Boolean(bed.patient);
      summary = el("section", { class: "card", "aria-label": "Summary" }, facts(bed, ctx));
      const status = `${bed.bay} · ${F.STATUS_TEXT[bed.status] || bed.status}`;
      cards = ctx.config.canWrite ? cardsFor(ctx, bed) : [];
      const readOnly = ctx.config.canWrite ? null
        : el("p", { class: "notice", text: `Your role (${ctx.config.role}) can see this bed but not change it.` });
      wrapper.replaceChildren(ctx.heading(`Bed ${bed.id}${bed.patient ? ` — ${bed.patient.name || bed.patient.initials}` : ""}`),
        el("p", { class: "muted", text: status }), summary, ...[readOnly].filter(Boolean), ...cards.map((c) => c.root));
    }

    build();
    return {
      nodes: [wrapper],
      update(change) {
        const bed = ctx.session.beds.get(ctx.bedId);
        if (!bed) return;
        if (Boolean(bed.patient) !== hadPatient) {
          build();
          const moved = String(change.kind || "").startsWith("patient.transferred");
          ctx.toast(bed.patient ? `A patient ${moved ? "moved into" : "was admitted to"} bed ${bed.id}.`
            : `The patient in bed ${bed.id} ${moved ? "moved to another bed" : "was discharged"}.`);
          return;
        }
        summary.replaceChildren(facts(bed, ctx));
        if (change.type !== "tick") cards.forEach((c) => c.refresh && c.refresh(bed));
      },
    };
  }

  /** Admins: which fields this ward's public boards show (the server keeps identifiers off them anyway). */
  function profileSection(ctx) {
    const card = new P.Card({ session: { lastBy: new Map() } }, "Public board fields");
    const url = `/api/wards/${encodeURIComponent(ctx.wardId)}/display-profile`;
    const host = el("div", {}, el("p", { text: "Loading…" }));
    card.root.classList.add("admin-profile");
    card.root.append(el("p", { class: "hint", text: "What wall displays of this ward show. Names, NHS numbers, dates of " +
      "birth, notes and DNACPR are never shown, whatever is ticked here." }), host);
    card.finish();

    async function put(fields) {
      card.say("saving", "Saving…");
      const r = await ctx.api("PUT", url, { fields });
      if (!r.ok) return card.say("error", `Not saved: ${r.error.message}`);
      draw(r.data);
      return card.say("saved", `Saved at ${F.hhmmss(Date.now())}. Open boards update now.`);
    }

    function draw(profile) {
      const boxes = profile.available.map((f) => {
        const box = P.checkField(f, `${ctx.fieldLabels[f] || f}${profile.default.includes(f) ? " (default)" : ""}`);
        box.set(profile.fields.includes(f));
        return { f, ...box };
      });
      const save = el("button", { type: "button", class: "btn btn-primary", text: "Save board fields" });
      const reset = el("button", { type: "button", class: "btn", text: "Use the safe default" });
      save.addEventListener("click", () => put(boxes.filter((b) => b.get()).map((b) => b.f)));
      reset.addEventListener("click", () => put(null));
      host.replaceChildren(el("fieldset", {}, el("legend", { class: "visually-hidden", text: "Fields shown on public boards" }),
        el("div", { class: "flags-grid" }, ...boxes.map((b) => b.node))), el("div", { class: "actions" }, save, reset));
    }

    ctx.api("GET", url).then((r) => {
      if (r.ok) draw(r.data);
      else host.replaceChildren(el("p", { text: `Not available: ${r.error.message}` }));
    });
    return card.root;
  }

  window.WhiteboardBed = { detail, profileSection };
})();
