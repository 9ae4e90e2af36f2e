// Skip htmx polls while the tab is hidden: a hidden inbox costs the server
// nothing, and polling resumes on the next tick once the tab is visible again.
// (A trigger filter would need eval, which the Content Security Policy forbids.)
document.addEventListener("htmx:config:request", (event) => {
  const ctx = event.detail.ctx;
  if (ctx.sourceEvent?.type === "every" && document.visibilityState !== "visible") {
    event.preventDefault();
  }
});
