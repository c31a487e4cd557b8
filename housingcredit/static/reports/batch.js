// The batch page polls its JSON progress every 2 s until the zip is ready, then reloads once to show it.
(function () {
  var box = document.getElementById("batch");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("[data-role=bar]");
  var counts = box.querySelector("[data-role=counts]");
  function tick() {
    fetch(url, {credentials: "same-origin", cache: "no-store"}).then(function (r) { return r.json(); })
      .then(function (p) {
        if (bar) { bar.value = p.percent; }
        if (counts) { counts.textContent = p.done + " / " + p.total + (p.failed ? " (" + p.failed + " ×)" : ""); }
        if (p.zip_ready) { window.location.reload(); return; }
        if (!p.stopped) { setTimeout(tick, 2000); }
      }).catch(function () { setTimeout(tick, 5000); });
  }
  if (!box.querySelector("[data-role=zip]") || box.querySelector("[data-role=zip]").hidden) { setTimeout(tick, 1000); }
})();
