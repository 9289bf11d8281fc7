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

  function selected() {
    return Array.from(document.querySelectorAll("input.pick:checked")).map((b) => b.value);
  }

  function syncBulkBar() {
    const bar = document.getElementById("contacts-bulk");
    if (!bar) return;
    const ids = selected();
    const all = document.getElementById("all-matching");
    bar.hidden = ids.length === 0 && !(all && all.checked);
    document.getElementById("bulk-ids").value = ids.join(",");
    document.getElementById("bulk-count").textContent = ids.length + " selected";
    const action = document.getElementById("bulk-action").value;
    document.getElementById("bulk-tag").hidden = !action.startsWith("tag");
    if (all) all.disabled = action === "share";
    document.getElementById("bulk-owner").hidden = action !== "transfer";
  }

  document.addEventListener("change", (e) => {
    if (e.target.id === "pick-all") {
      document.querySelectorAll("input.pick").forEach((b) => (b.checked = e.target.checked));
    }
    if (e.target.matches("input.pick, #pick-all, #all-matching, #bulk-action")) syncBulkBar();
  });

  document.addEventListener("submit", (e) => {
    if (e.target.id === "contacts-bulk" && document.getElementById("bulk-action").value === "share") {
      // Sharing is a page of its own: open the share form with the selected contacts preselected.
      e.preventDefault();
      window.location = "/sharing/new/?contacts=" + selected().join(",");
      return;
    }
    if (e.target.id === "contacts-bulk" && document.getElementById("bulk-action").value === "delete") {
      const n = document.getElementById("all-matching")?.checked ? "all matching" : selected().length;
      if (!confirm(`Delete ${n} contacts from flexmls? Their portal accounts, saved searches and news feeds go with them.`)) e.preventDefault();
    }
  });

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
      case "x": if (list[cursor]) { const b = list[cursor].querySelector("input.pick"); b.checked = !b.checked; syncBulkBar(); } break;
      case "Enter": if (list[cursor]) { list[cursor].querySelector("td.name a").click(); } break;
      case "e": {
        const edit = document.getElementById("edit-link") || list[cursor]?.querySelector("td.name a");
        if (edit) { e.preventDefault(); window.location = edit.id ? edit.href : edit.href + "edit/"; }
        break;
      }
      case "t": {
        const tag = document.getElementById("tag-input");
        if (tag) { e.preventDefault(); tag.focus(); break; }
        if (list[cursor] && !selected().length) { list[cursor].querySelector("input.pick").checked = true; }
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
  document.addEventListener("DOMContentLoaded", () => { tickUndo(); syncBulkBar(); });
  document.addEventListener("htmx:afterSwap", () => { cursor = -1; syncBulkBar(); });
})();
