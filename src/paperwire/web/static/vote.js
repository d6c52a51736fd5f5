// Upvote buttons without a page reload (the routes: web/community.py); progressive enhancement only:
// without this file the vote forms post and the server redirects back to the page.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  function update(action, data) {
    // every vote form of the same paper on the page (a card and the paper's header, say)
    document.querySelectorAll("form.vote").forEach(function (form) {
      if (form.getAttribute("action") !== action) return;
      var button = form.querySelector("button");
      var count = form.querySelector(".vote-count");
      var next = form.querySelector('input[name="action"]');
      if (count) count.textContent = String(data.upvotes);
      if (button) {
        button.setAttribute("aria-pressed", data.voted ? "true" : "false");
        button.title = data.voted ? "Take back your upvote" : "Upvote";
      }
      if (next) next.value = data.voted ? "down" : "up";
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("vote") || !window.fetch) return;
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) {
      if (button.disabled) return;  // one request at a time per button
      button.disabled = true;
    }
    var action = form.getAttribute("action");
    fetch(action, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRF-Token": token},
      body: new URLSearchParams(new FormData(form)),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401 && data.signin) {
          window.location.assign(data.signin);
        } else if (response.ok) {
          update(action, data);
        } else {
          form.submit();  // let the server's page say what went wrong
        }
      });
    }).catch(function () {
      form.submit();
    }).finally(function () {
      if (button) button.disabled = false;
    });
  });
})();
