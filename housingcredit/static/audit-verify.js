// The audit trail page follows the chain's verifier running in the background: it polls the run's JSON state and
// moves the bar; when the run ends it reloads the page, which then shows the answer. No inline script (CSP).
(function () {
  "use strict";
  var box = document.getElementById("verify-progress");
  if (!box || box.getAttribute("data-state") !== "running") { return; }
  var bar = document.getElementById("verify-bar");
  var text = document.getElementById("verify-text");
  var url = box.getAttribute("data-url");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (v) {
        bar.value = v.percent;
        bar.textContent = v.percent + "%";
        text.textContent = v.checked + " / " + v.total;
        if (v.state === "running") { window.setTimeout(poll, 2000); }
        else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
