// The developer page's interactive view of the OpenAPI document (templates/open311/developers/
// api.html): Swagger UI, vendored from npm by `make assets`, drawn into #swagger-ui from the
// document its data-spec names. "Try it out" sends reads only: a POST would file a real request.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    domNode: root,
    deepLinking: false,
    validatorUrl: null,
    supportedSubmitMethods: ["get"],
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    tryItOutEnabled: false,
  });
  var fallback = document.getElementById("openapi-fallback");
  if (fallback) {
    fallback.setAttribute("hidden", "");
  }
})();
