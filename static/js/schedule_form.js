// News feed schedule forms: choosing Instant clears and disables the hours and days boxes (Spark takes none for
// an Instant schedule), choosing Scheduled enables them again. The server drops them for Instant too.
(function () {
  if (window.scheduleFormReady) return;  // included once per form; one set of listeners is enough
  window.scheduleFormReady = true;

  function apply(radio) {
    const form = radio.closest("form");
    if (!form || !radio.checked) return;
    const instant = radio.value === "Instant";
    form.querySelectorAll("fieldset.timing").forEach((set) => {
      set.classList.toggle("is-off", instant);
      set.querySelectorAll("input[type=checkbox]").forEach((box) => {
        if (instant) box.checked = false;
        box.disabled = instant;
      });
    });
  }

  function applyAll(root) {
    root.querySelectorAll("input[type=radio][name$=frequency]:checked").forEach(apply);
  }

  // Capture phase: the boxes are cleared before htmx reads the form for the preview.
  document.addEventListener("change", (e) => {
    if (e.target.matches("input[type=radio][name$=frequency]")) apply(e.target);
  }, true);
  document.addEventListener("DOMContentLoaded", () => applyAll(document));
  document.addEventListener("htmx:afterSwap", (e) => applyAll(e.target));
  if (document.readyState !== "loading") applyAll(document);
})();
