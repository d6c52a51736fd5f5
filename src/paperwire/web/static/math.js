// TeX math in titles and abstracts, rendered by KaTeX (vendor/katex-*/, loaded with `defer` after
// this file). Loaded in <head> without `defer`, so it runs before the first paint: it marks the
// page "math pending", which hides the elements that hold math (class "tex", set by the server
// where web/tex.py finds an expression) until they are rendered, so a reader never sees source
// and rendered math mixed. Without JavaScript nothing is hidden and the source stays readable.
// An expression KaTeX cannot parse stays as its source text.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("tex-pending");

  // the same delimiters, in the same order, as web/tex.py
  var DELIMITERS = [
    {left: "$$", right: "$$", display: true},
    {left: "$", right: "$", display: false},
    {left: "\\(", right: "\\)", display: false},
    {left: "\\[", right: "\\]", display: true}
  ];

  function done() { root.classList.remove("tex-pending"); }

  function render() {
    try {
      if (typeof window.renderMathInElement === "function") {
        document.querySelectorAll(".tex").forEach(function (el) {
          window.renderMathInElement(el, {
            delimiters: DELIMITERS,
            throwOnError: true,  // auto-render then keeps the failing expression's source as text
            errorCallback: function () {},
            ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option", "mark"]
          });
          el.classList.add("tex-done");
        });
      }
    } finally {
      done();  // KaTeX missing or failing: show the source rather than nothing
    }
  }

  // deferred scripts (KaTeX) have run by DOMContentLoaded; "load" is the backstop
  document.addEventListener("DOMContentLoaded", render);
  window.addEventListener("load", done);
})();
