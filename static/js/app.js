// Keyboard and selection for the contacts workspace. Everything works without it; this makes it fast.
(function () {
  const typing = () => ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName);
  const rows = () => Array.from(document.querySelectorAll("tr.contact-row"));
  let cursor = -1;

  function focusRow(i) {
    const list = rows();
    if (!list.length) return;
    cursor = Math.max(0, Math.min(list.length - 1, i));
    list.forEach((r, j) => r.classList.toggle("cursor", j === cursor));
    list[cursor].scrollIntoView({ block: "nearest" });
  }

  // The selection: ids the agent picked, kept in sessionStorage (per agent) so that filtering, sorting, paging
  // and searching — all htmx swaps of #results — never drop it.
  const bulkBar = () => document.getElementById("contacts-bulk");
  function selection() {
    const bar = bulkBar();
    if (!bar) return new Set();
    try { return new Set(JSON.parse(sessionStorage.getItem(bar.dataset.selectionKey) || "[]")); }
    catch { return new Set(); }
  }
  function saveSelection(set) {
    const bar = bulkBar();
    if (bar) sessionStorage.setItem(bar.dataset.selectionKey, JSON.stringify(Array.from(set)));
  }
  function selected() { return Array.from(selection()); }
  function pick(box, on) {
    const set = selection();
    box.checked = on;
    if (on) set.add(box.value); else set.delete(box.value);
    saveSelection(set);
  }

  const HINTS = {
    share: "Opens the share form with these contacts.",
    newsfeed_schedule: "Opens the news feed schedule form with these contacts.",
  };

  function syncBulkBar() {
    const bar = bulkBar();
    if (!bar) return;
    const set = selection();
    const boxes = Array.from(document.querySelectorAll("input.pick"));
    boxes.forEach((b) => (b.checked = set.has(b.value)));
    const inView = boxes.filter((b) => b.checked).length;
    const pickAll = document.getElementById("pick-all");
    if (pickAll) pickAll.checked = boxes.length > 0 && inView === boxes.length;
    const all = document.getElementById("all-matching");
    const allOn = !!(all && all.checked);
    bar.hidden = set.size === 0 && bar.hasAttribute("data-empty");
    document.getElementById("bulk-ids").value = Array.from(set).join(",");
    const away = set.size - inView;
    let count = allOn ? `All ${Number(bar.dataset.matching).toLocaleString()} matching selected`
      : `${set.size} selected` + (away > 0 ? ` (${away} not in this view)` : "");
    document.getElementById("bulk-count").textContent = count;
    document.getElementById("bulk-clear").hidden = set.size === 0;
    const action = document.getElementById("bulk-action").value;
    const tag = document.getElementById("bulk-tag");
    tag.hidden = !action.startsWith("tag");
    tag.required = !tag.hidden;
    const owner = document.getElementById("bulk-owner");
    if (owner) owner.required = action === "transfer";
    document.getElementById("bulk-owner-field").hidden = action !== "transfer";
    const many = allOn ? Number(bar.dataset.matching) : set.size;
    let note = HINTS[action] || "";
    let blocked = many === 0;
    if (action === "share" && many > Number(bar.dataset.shareMax)) {
      note = `A shared link goes to at most ${bar.dataset.shareMax} contacts; narrow the filter or pick them.`;
      blocked = true;
    }
    if (action === "transfer" && !owner) blocked = true;
    document.getElementById("bulk-note").textContent = note;
    document.getElementById("bulk-go").disabled = blocked;
  }

  document.addEventListener("change", (e) => {
    if (e.target.id === "pick-all") {
      const set = selection();
      document.querySelectorAll("input.pick").forEach((b) => (e.target.checked ? set.add(b.value) : set.delete(b.value)));
      saveSelection(set);
    }
    if (e.target.matches("input.pick")) pick(e.target, e.target.checked);
    if (e.target.matches("input.pick, #pick-all, #all-matching, #bulk-action")) syncBulkBar();
  });

  document.addEventListener("click", (e) => {
    if (e.target.id === "bulk-clear") {
      saveSelection(new Set());
      const all = document.getElementById("all-matching");
      if (all) all.checked = false;
      syncBulkBar();
    }
  });

  document.addEventListener("submit", (e) => {
    if (e.target.id !== "contacts-bulk") return;
    const bar = e.target;
    const action = document.getElementById("bulk-action").value;
    if (action === "delete") {
      const all = document.getElementById("all-matching")?.checked;
      const n = all ? Number(bar.dataset.matching) : selection().size;
      const what = all ? `all ${n.toLocaleString()} matching contacts` : `${n} contact${n === 1 ? "" : "s"}`;
      if (!confirm(`Delete ${what} from flexmls? Their portal accounts, saved searches and news feeds go with them.`)) {
        e.preventDefault();
        return;
      }
    }
    if (action.startsWith("export_")) return;  // a download: the page and its selection stay
    // The job (or the share / news feed form) takes the selection from here; a new one starts empty. Kept aside
    // until the next page shows whether it was taken (a refusal comes back to this list with the reason).
    sessionStorage.setItem(bar.dataset.selectionKey + ":sent", JSON.stringify(selected()));
    saveSelection(new Set());
  });

  function restoreRefusedSelection() {
    const bar = bulkBar();
    if (!bar) return;
    const key = bar.dataset.selectionKey + ":sent";
    const sent = sessionStorage.getItem(key);
    sessionStorage.removeItem(key);
    if (sent && document.querySelector(".flash-error") && selection().size === 0) {
      sessionStorage.setItem(bar.dataset.selectionKey, sent);
    }
  }

  document.addEventListener("keydown", (e) => {
    if (e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === "Escape" && typing()) { const el = document.activeElement; if (el.id === "q" && el.value) { el.value = ""; el.dispatchEvent(new Event("input", { bubbles: true })); } el.blur(); return; }
    if (typing()) return;
    const list = rows();
    switch (e.key) {
      case "/": {
        const box = document.getElementById("q");
        if (box) { e.preventDefault(); box.focus(); box.select(); }
        break;
      }
      case "j": focusRow(cursor + 1); break;
      case "k": focusRow(cursor - 1); break;
      case "x": if (list[cursor]) { const b = list[cursor].querySelector("input.pick"); pick(b, !b.checked); syncBulkBar(); } break;
      case "Enter": if (list[cursor]) { list[cursor].querySelector("td.name a").click(); } break;
      case "e": {
        const edit = document.getElementById("edit-link") || list[cursor]?.querySelector("td.name a");
        if (edit) { e.preventDefault(); window.location = edit.id ? edit.href : edit.href + "edit/"; }
        break;
      }
      case "t": {
        const tag = document.getElementById("tag-input");
        if (tag) { e.preventDefault(); tag.focus(); break; }
        if (list[cursor] && !selected().length) { pick(list[cursor].querySelector("input.pick"), true); }
        if (selected().length) { syncBulkBar(); document.getElementById("bulk-action").value = "tag_add"; syncBulkBar(); e.preventDefault(); document.getElementById("bulk-tag").focus(); }
        break;
      }
      case "?": document.getElementById("keys")?.showModal(); break;
    }
  });

  // The undo bar disappears when its window has passed.
  function tickUndo() {
    const bar = document.getElementById("undo");
    if (!bar) return;
    const left = Math.round(parseFloat(bar.dataset.until) - Date.now() / 1000);
    if (left <= 0) { bar.remove(); return; }
    bar.querySelector(".countdown").textContent = `${left}s to undo`;
    setTimeout(tickUndo, 500);
  }
  document.addEventListener("DOMContentLoaded", () => { tickUndo(); restoreRefusedSelection(); syncBulkBar(); });
  window.addEventListener("pageshow", (e) => { if (e.persisted) syncBulkBar(); });
  // What the agent set in the bulk bar (action, tag, agent) survives any refresh of the results under it.
  let barState = null;
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (!e.detail.target || e.detail.target.id !== "results") return;
    const get = (id) => document.getElementById(id)?.value;
    barState = { action: get("bulk-action"), tag: get("bulk-tag"), owner: get("bulk-owner") };
  });
  document.addEventListener("htmx:afterSwap", () => {
    cursor = -1;
    if (barState) {
      for (const [id, value] of [["bulk-action", barState.action], ["bulk-tag", barState.tag], ["bulk-owner", barState.owner]]) {
        const el = document.getElementById(id);
        if (el && value !== undefined && (el.tagName !== "SELECT" || el.querySelector(`option[value="${CSS.escape(value)}"]`))) el.value = value;
      }
      barState = null;
    }
    syncBulkBar();
  });
})();
