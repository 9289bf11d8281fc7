// Shared links: copy buttons, the listing picker's counter, and showing the part of the form that applies.
// Every page works without it (the address stays in a visible text field to copy by hand).
(function () {
  async function copy(button) {
    const field = document.querySelector(button.dataset.copy);
    const result = button.parentElement.querySelector(".copy-result");
    if (!field) return;
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(field.value);
        ok = true;
      }
    } catch (e) { ok = false; }
    if (!ok) {
      field.focus();
      field.select();
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    }
    if (result) result.textContent = ok ? "Copied" : "Press Ctrl+C (⌘C) to copy";
  }

  function syncCount() {
    const out = document.getElementById("chosen-count");
    const box = document.getElementById("picker-count");
    if (!out || !box) return;
    const n = document.querySelectorAll("#picker-results input.pick-listing:checked").length;
    out.textContent = n;
    box.classList.toggle("over", n > Number(box.dataset.max || 200));
  }

  function syncWhat() {
    const chosen = document.querySelector("input[name=what]:checked");
    if (!chosen) return;
    document.querySelectorAll("fieldset.pick").forEach((f) => { f.hidden = f.dataset.what !== chosen.value; });
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest(".copy-button");
    if (button) { e.preventDefault(); copy(button); }
  });
  document.addEventListener("change", (e) => {
    if (e.target.matches("input.pick-listing")) {
      e.target.closest("tr")?.classList.toggle("is-chosen", e.target.checked);
      syncCount();
    }
    if (e.target.matches("input[name=what]")) syncWhat();
  });
  // Enter in a search box searches (htmx) instead of creating the link.
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.matches("#listing-q, #contact-q, .picker-search input")) {
      e.preventDefault();
      e.target.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
  // A shared link's address is selected whole on focus, to copy; the filter submits when changed.
  document.addEventListener("focusin", (e) => {
    if (e.target.matches("input.share-uri")) e.target.select();
  });
  document.addEventListener("change", (e) => {
    if (e.target.matches("select[data-autosubmit]")) e.target.form.submit();
  });
  document.addEventListener("htmx:afterSwap", syncCount);
  document.addEventListener("DOMContentLoaded", () => { syncWhat(); syncCount(); });
})();
