// Apply the saved theme before the first paint: no light flash on a dark desk. A classic script
// loaded in <head>, not a module (modules run after the page is parsed), and not inline (the
// Content-Security-Policy allows no inline script).
(function () {
  try {
    var saved = localStorage.getItem("monitor.theme");
    if (saved === "light" || saved === "dark") document.documentElement.setAttribute("data-bs-theme", saved);
  } catch (e) { /* storage disabled: keep dark */ }
})();
