// The "Print" button of a page whose answer prints cleanly (print CSS in app.css hides the menu and the form).
document.querySelectorAll("button.print-page").forEach(function (b) {
  b.addEventListener("click", function () { window.print(); });
});
