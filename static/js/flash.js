// Up/down tick flashes with the Web Animations API: no class juggling, no forced reflow,
// and nothing runs while the tab is hidden.

const DURATION_MS = 650;
let colors = null;

/** Re-read the theme's flash colours (call after a theme switch). */
export function refreshFlashColors() {
  const css = getComputedStyle(document.documentElement);
  colors = {
    up: css.getPropertyValue("--m-up-flash").trim() || "rgba(14,203,129,.45)",
    down: css.getPropertyValue("--m-down-flash").trim() || "rgba(246,70,93,.45)",
  };
}

export function flash(el, up) {
  if (!el || document.hidden || typeof el.animate !== "function") return;
  if (!colors) refreshFlashColors();
  el.animate([{ backgroundColor: up ? colors.up : colors.down }, { backgroundColor: "transparent" }],
    { duration: DURATION_MS, easing: "ease-out" });
}
