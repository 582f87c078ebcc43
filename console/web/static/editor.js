// The script editor: line numbers beside the textarea, kept in step while typing and
// scrolling; lines with problems stay marked until the script is checked again.
(function () {
  "use strict";
  var source = document.getElementById("source");
  var gutter = document.getElementById("gutter");
  if (!source || !gutter) { return; }
  var errors = (source.dataset.errorLines || "").split(",").filter(Boolean).map(Number);
  var draw = function () {
    var count = source.value.split("\n").length;
    if (gutter.childElementCount === count) { return; }
    var html = [];
    for (var n = 1; n <= count; n += 1) {
      html.push(errors.indexOf(n) >= 0 ? '<span class="error">' + n + "</span>" : "<span>" + n + "</span>");
    }
    gutter.innerHTML = html.join("");
  };
  source.addEventListener("input", draw);
  source.addEventListener("scroll", function () { gutter.scrollTop = source.scrollTop; });
  draw();
  if (errors.length) {
    // Put the caret on the first line with a problem.
    var lines = source.value.split("\n");
    var at = 0;
    for (var i = 0; i < errors[0] - 1 && i < lines.length; i += 1) { at += lines[i].length + 1; }
    source.setSelectionRange(at, at);
  }
})();
