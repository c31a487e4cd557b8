// The import page follows a running import: it polls the JSON progress endpoint and moves the bar; when the
// import ends it reloads the page, which then shows the result. No inline script (CSP), no outside asset.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.getAttribute("data-status") !== "running") { return; }
  var bar = document.getElementById("bar");
  var text = document.getElementById("progress-text");
  var url = box.getAttribute("data-url");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.value = p.percent;
        bar.textContent = p.percent + "%";
        text.textContent = p.households_done + " / " + p.households_good;
        if (p.status === "running" && !p.stalled) { window.setTimeout(poll, 1000); }
        else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
