// Save / not-relevant buttons without a page reload (the routes: web/library.py); progressive
// enhancement only: without this file the same forms post and the server redirects back.
//
// Contract with the pages (and the card macro's Save button):
//   <form action="/library/save" method="post"> with hidden paper_id, action (save|remove), csrf,
//     optional tags; the button may carry data-label-save / data-label-saved; the form may carry
//     data-remove-closest="<selector>" (the element removed once the paper is no longer saved).
//   <form action="/for-you/not-relevant" method="post">: the enclosing [data-rec] element goes.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  function post(form) {
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { "Accept": "application/json", "X-CSRF-Token": token },
      credentials: "same-origin"
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.status === 401 && data.signin) { window.location.assign(data.signin); throw new Error("sign in"); }
        if (!resp.ok) throw new Error(data.error || "That did not work (" + resp.status + ").");
        return data;
      });
    });
  }

  function showError(form, message) {
    var out = form.querySelector(".form-error");
    if (!out) {
      out = document.createElement("span");
      out.className = "form-error";
      out.setAttribute("role", "alert");
      form.appendChild(out);
    }
    out.textContent = message;
  }

  function showSaved(form, saved) {
    var button = form.querySelector("button");
    var action = form.querySelector('input[name="action"]');
    if (action) action.value = saved ? "remove" : "save";
    if (!button) return;
    button.setAttribute("aria-pressed", saved ? "true" : "false");
    button.title = saved ? "Remove from your library" : "Save to your library";
    var label = button.getAttribute(saved ? "data-label-saved" : "data-label-save");
    if (label) button.textContent = label;
  }

  function onSave(form) {
    var button = form.querySelector("button");
    if (button) {
      if (button.disabled) return;  // one request at a time per button
      button.disabled = true;
    }
    var paperId = (form.querySelector('input[name="paper_id"]') || {}).value;
    post(form).then(function (data) {
      var err = form.querySelector(".form-error");
      if (err) err.remove();
      var selector = form.getAttribute("data-remove-closest");
      if (!data.saved && selector && form.closest(selector)) { form.closest(selector).remove(); return; }
      // every save form of the same paper on the page (a card and the paper's header, say);
      // a tag's "Save to" button only follows its own answer
      document.querySelectorAll('form[action="/library/save"]').forEach(function (other) {
        var id = other.querySelector('input[name="paper_id"]');
        if (other === form || (id && id.value === paperId && !other.querySelector('input[name="tags"]'))) {
          showSaved(other, data.saved);
        }
      });
    }).catch(function (e) {
      if (e.message !== "sign in") showError(form, e.message);
    }).then(function () { if (button) button.disabled = false; });
  }

  function onNotRelevant(form) {
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    post(form).then(function () {
      var entry = form.closest("[data-rec]");
      if (entry) entry.remove();
    }).catch(function (e) {
      if (button) button.disabled = false;
      if (e.message !== "sign in") showError(form, e.message);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !window.fetch) return;
    var action = form.getAttribute("action");
    if (action === "/library/save") { event.preventDefault(); onSave(form); }
    else if (action === "/for-you/not-relevant") { event.preventDefault(); onNotRelevant(form); }
  });
})();
