/* mobile-cards.js — the phone's edit cards: fields, saving, and conflicts explained.
 *
 * Every save is the API's PATCH with If-Match naming the bed's own version. Before writing, a card
 * re-reads the bed (a cheap revalidated GET) and compares the fields it is about to change with what
 * the nurse started from: if someone else changed them meanwhile, the nurse sees both values and
 * chooses; nothing is overwritten silently. A 412 (this bed changed between that read and the write;
 * edits to other beds never cause one) repeats the check.
 * Task ticks and flags merge with other people's changes instead of conflicting with them.
 */
(function () {
  "use strict";

  const F = window.WhiteboardFormat;
  const el = F.el;
  const MAX_ATTEMPTS = 3;
  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;
  const get = (bed, path) => path.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), bed);
  const same = (a, b) => JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b);

  function bodyFor(changes) {
    const body = {};
    for (const [path, value] of changes) {
      if (path.startsWith("patient.")) {
        body.patient = body.patient || {};
        body.patient[path.slice(8)] = value;
      } else {
        body[path] = value;
      }
    }
    return body;
  }

  function shown(value) {
    if (value === null || value === undefined || value === "") return "(empty)";
    if (value === true) return "Yes";
    if (value === false) return "No";
    return String(value);
  }

  // --- fields: an input plus how to read and write its value ---------------------------------------

  function field(label, control, hint) {
    const id = nextId("f");
    control.id = id;
    const hintEl = hint ? el("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
    if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
    return el("div", { class: "field" }, el("label", { for: id, text: label }), hintEl, control);
  }

  function textField(path, label, opts) {
    const o = opts || {};
    const input = el("input", { type: o.type || "text", maxLength: o.max || 100, autocomplete: "off" });
    const node = field(label, input, o.hint);
    return { path, label, node, controls: [input],
      get: () => (input.value.trim() === "" ? null : input.value.trim()),
      set: (v) => (input.value = v === null || v === undefined ? "" : v) };
  }

  function notesField(path, label, max, hint) {
    const area = el("textarea", { maxLength: max, rows: 4 });
    const counter = el("span", { class: "counter", "aria-live": "off" });
    const count = () => F.setText(counter, `${area.value.length} of ${max} characters`);
    area.addEventListener("input", count);
    const node = field(label, area, `Staff only: never shown on a public board.${hint ? ` ${hint}` : ""}`);
    node.append(counter);
    return { path, label, node, controls: [area], get: () => area.value,
      set: (v) => { area.value = v || ""; count(); } };
  }

  function selectField(path, label, options, opts) {
    const o = opts || {};
    const select = el("select", {}, ...options.map(([value, text]) => el("option", { value, text })));
    const node = field(label, select, o.hint);
    return { path, label, node, controls: [select],
      get: () => (select.value === "" ? null : o.number ? Number(select.value) : select.value),
      set: (v) => (select.value = v === null || v === undefined ? "" : String(v)) };
  }

  function checkField(path, label) {
    const box = el("input", { type: "checkbox" });
    const id = nextId("c");
    box.id = id;
    const node = el("label", { class: "choice", for: id }, box, el("span", { text: label }));
    return { path, label, node, controls: [box], get: () => box.checked, set: (v) => (box.checked = Boolean(v)) };
  }

  function radioField(path, legend, options, extraClass) {
    const name = nextId("r");
    const inputs = options.map(([value]) => el("input", { type: "radio", name, value }));
    const node = el("fieldset", { class: "field" }, el("legend", { text: legend }),
      el("div", { class: `choices ${extraClass || ""}` }, ...options.map(([value, text], i) =>
        el("label", { class: `choice ${extraClass ? "rg-choice" : ""}` }, inputs[i], el("span", { text })))));
    return { path, label: legend, node, controls: inputs,
      get: () => { const c = inputs.find((i) => i.checked); return c ? c.value : null; },
      set: (v) => inputs.forEach((i) => (i.checked = i.value === v)) };
  }

  // --- a card that saves -----------------------------------------------------------------------------

  class Card {
    constructor(ctx, title) {
      this.ctx = ctx;
      const hid = nextId("h");
      this.heading = el("h2", { id: hid, text: title });
      this.state = el("p", { class: "save-state", role: "status", "aria-live": "polite", id: nextId("s") });
      this.note = el("p", { class: "changed-note", hidden: true });
      this.conflictBox = el("div", { class: "conflict", hidden: true, role: "alert" });
      this.root = el("section", { class: "card", "aria-labelledby": hid }, this.heading);
      this.busy = false;
    }

    finish() {
      this.root.append(this.note, this.state, this.conflictBox);
      return this;
    }

    say(kind, text) {
      this.state.dataset.kind = kind;
      F.setText(this.state, text);
    }

    who() {
      const last = this.ctx.session.lastBy.get(this.ctx.bedId);
      return last ? `${last.by} (at ${F.hhmm(Date.parse(last.at))})` : "Someone else";
    }

    async save(op, force) {
      if (this.busy) return;
      this.busy = true;
      this.conflictBox.hidden = true;
      this.say("saving", "Saving…");
      const { api, session, bedId } = this.ctx;
      const url = `/api/wards/${encodeURIComponent(session.id)}/beds/${encodeURIComponent(bedId)}`;
      let refused = null;
      try {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          const fresh = await session.fresh(bedId);
          if (!fresh.ok) return this.fail(fresh.error);
          if (!fresh.bed) return this.fail({ message: "This bed is no longer on the ward." });
          const conflicts = force ? [] : op.conflicts(fresh.bed);
          if (conflicts.length) return this.conflict(op, conflicts, refused);
          const body = op.build(fresh.bed);
          if (!body) {
            op.done(fresh.bed);
            return this.say("saved", "Nothing to save: the bed already says that.");
          }
          const r = await api("PATCH", url, body, fresh.etag ? { "If-Match": fresh.etag } : {});
          if (r.ok) {
            session.applyOwn(r.data.event);
            op.done(session.beds.get(bedId));
            return this.say("saved", `Saved at ${F.hhmmss(Date.now())}. It is on the board now.`);
          }
          if (r.status !== 412) return this.fail(r.error);
          refused = r.error; // the ward moved on between our read and our write: read again, check again
        }
        return this.fail({ message: `The ward kept changing while saving (${refused.message}). Nothing was saved: ` +
          "try again." });
      } finally {
        this.busy = false;
      }
    }

    fail(error) {
      this.say("error", `Not saved: ${error.message}`);
      if (this.onError) this.onError(error);
    }

    conflict(op, conflicts, refused) {
      this.say("conflict", "Not saved: this bed was changed by someone else while you were editing.");
      const rows = [];
      for (const c of conflicts) {
        rows.push(el("dt", { text: `${c.label} now` }), el("dd", { text: c.theirs }),
          el("dt", { text: "Yours" }), el("dd", { text: c.mine }));
      }
      const mine = op.noForce ? null : el("button", { type: "button", class: "btn btn-primary", text: "Save mine instead" });
      const theirs = el("button", { type: "button", class: "btn", text: op.noForce ? "OK, keep theirs" : "Keep theirs" });
      if (mine) mine.addEventListener("click", () => this.save(op, true));
      theirs.addEventListener("click", () => {
        this.conflictBox.hidden = true;
        op.discard();
        this.say("saved", "Kept the other change; yours was not saved.");
      });
      // replaceChildren would print a null as the text "null": leave absent parts out.
      this.conflictBox.replaceChildren(...[
        el("h3", { text: `Changed by ${this.who()} while you were editing` }),
        refused ? el("p", { text: `The server refused the save: ${refused.message}` }) : null,
        el("dl", {}, ...rows),
        el("div", { class: "actions" }, mine, theirs)].filter(Boolean));
      this.conflictBox.hidden = false;
      (mine || theirs).focus();
    }
  }

  /** A card of plain fields: the nurse's changes are compared with what they started from. */
  function fieldsCard(ctx, title, fields, opts) {
    const o = opts || {};
    const card = new Card(ctx, title);
    let base = new Map();
    const changed = () => fields.filter((f) => !same(f.get(), base.get(f.path)));
    const op = {
      conflicts: (fresh) => changed().filter((f) => !same(get(fresh, f.path), base.get(f.path)))
        .map((f) => ({ label: f.label, theirs: shown(get(fresh, f.path)), mine: shown(f.get()) })),
      build: (fresh) => {
        const diff = changed().filter((f) => !same(get(fresh, f.path), f.get())).map((f) => [f.path, f.get()]);
        return diff.length ? bodyFor(diff) : null;
      },
      done: (bed) => load(bed, true),
      discard: () => load(ctx.session.beds.get(ctx.bedId), true),
    };

    function load(bed, force) {
      const dirty = changed().length > 0;
      if (dirty && !force) {
        const moved = fields.filter((f) => !same(get(bed, f.path), base.get(f.path)));
        if (moved.length) {
          card.note.hidden = false;
          F.setText(card.note, `${card.who()} changed ${moved.map((f) => f.label.toLowerCase()).join(", ")} ` +
            "while you were editing. Saving will show you both versions.");
        }
        return;
      }
      base = new Map(fields.map((f) => [f.path, get(bed, f.path)]));
      fields.forEach((f) => f.set(get(bed, f.path)));
      card.note.hidden = true;
    }

    for (const f of fields) card.root.append(f.node);
    if (o.immediate) {
      fields.forEach((f) => f.controls.forEach((c) => c.addEventListener("change", () => card.save(op, false))));
    } else {
      const button = el("button", { type: "button", class: "btn btn-primary", text: o.saveText || "Save" });
      button.addEventListener("click", () => card.save(op, false));
      card.root.append(el("div", { class: "save-row" }, button));
    }
    card.onError = (error) => {
      const bad = fields.find((f) => error.field && (error.field === f.path || `patient.${error.field}` === f.path));
      if (bad) bad.controls[0].setAttribute("aria-invalid", "true");
    };
    card.finish();
    card.refresh = (bed) => load(bed, false);
    load(ctx.session.beds.get(ctx.bedId), true);
    return card;
  }

  window.WhiteboardBedParts = { Card, fieldsCard, textField, notesField, selectField, checkField, radioField,
    get, same, shown, nextId };
})();
