// Starts Swagger UI (/docs) or ReDoc (/redoc) on the element the page names, from vendored files:
// no inline script, so the pages keep script-src 'self'.
(function () {
  "use strict";
  var el = document.getElementById("api-docs");
  if (!el) return;
  var url = el.getAttribute("data-openapi-url");
  if (el.getAttribute("data-tool") === "swagger") {
    window.ui = SwaggerUIBundle({
      url: url,
      dom_id: "#api-docs",
      deepLinking: true,
      layout: "BaseLayout",
      presets: [SwaggerUIBundle.presets.apis],
      validatorUrl: null  // else a badge is fetched from the validator's site
    });
  } else {
    Redoc.init(url, {
      nonce: el.getAttribute("data-nonce"),  // on the <style> elements ReDoc writes (the page's CSP)
      theme: { typography: { fontFamily: "system-ui, sans-serif", headings: { fontFamily: "system-ui, sans-serif" } } }
    }, el);
  }
})();
