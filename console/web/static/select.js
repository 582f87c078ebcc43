// The user search: "Select all" ticks every box of the page and follows them, and a form
// that creates something is sent once (a second click waits for the first).
(function () {
  "use strict";
  var all = document.querySelector("[data-select-all]");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-user]"));
  if (all && boxes.length) {
    var sync = function () {
      all.checked = boxes.every(function (b) { return b.checked; });
    };
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  }
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
})();
