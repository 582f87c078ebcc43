// The progress page: polls how far the background step is, then shows the result.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var poll = function () {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (run) {
        if (run.finished) { window.location.assign(box.dataset.doneUrl); return; }
        if (run.total) {
          bar.max = run.total;
          bar.value = run.done;
          text.textContent = run.done.toLocaleString("en") + " of " +
            run.total.toLocaleString("en") + " done";
        }
        window.setTimeout(poll, 500);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  };
  window.setTimeout(poll, 300);
})();
