// A page whose work runs in the background (an import, the chain's verifier) follows it: the element with
// data-progress-url and data-running="true" polls that URL for JSON {percent, done, total, running}, moves its
// <progress> and its [data-role=counts] text, and reloads the page once the work no longer runs, so the page shows
// the result. No inline script (CSP), no outside asset.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box || box.getAttribute("data-running") !== "true") { return; }
  var bar = box.querySelector("progress");
  var counts = box.querySelector("[data-role=counts]");
  var url = box.getAttribute("data-progress-url");
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        if (bar) { bar.value = p.percent; bar.textContent = p.percent + "%"; }
        if (counts) { counts.textContent = p.done + " / " + p.total; }
        if (p.running) { window.setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 4000); });
  }
  window.setTimeout(poll, 800);
})();
