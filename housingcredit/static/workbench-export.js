// A list's export takes a while for many rows (the file is built before the download starts): say so on click,
// so nobody clicks again. No inline script (CSP).
(function () {
  "use strict";
  var link = document.getElementById("export-xlsx");
  var note = document.getElementById("export-note");
  if (!link || !note) { return; }
  link.addEventListener("click", function () { note.hidden = false; });
})();
