// Draws every <pre class="mermaid"> of the page with the vendored mermaid build.
(function () {
  "use strict";
  if (!window.mermaid) { return; }
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  window.mermaid.run({ querySelector: "pre.mermaid" }).then(function () {
    document.body.dataset.diagrams = "drawn";
  }, function (error) {
    document.body.dataset.diagrams = "failed";
    window.console.error(error);
  });
})();
