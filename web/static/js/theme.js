// Applies the saved theme before first paint; the toggle button is wired in common.js.
(function () {
  try {
    var saved = localStorage.getItem("ct-theme");
    if (saved === "light" || saved === "dark") {
      document.documentElement.setAttribute("data-theme", saved);
    }
  } catch (e) { /* storage blocked: follow prefers-color-scheme */ }
})();
