// Keyboard shortcuts for the paper lists (documented in the "?" dialog of base.html); progressive
// enhancement only. j / k move between the cards, s and u press the current card's Save and
// Upvote buttons (so vote.js and library.js do the rest), / goes to the search field.
(function () {
  "use strict";
  var help = document.getElementById("keys-help");
  var current = -1;

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("article.card")); }

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable], dialog[open]");
  }

  function signedIn() { return !!document.querySelector("form.signout"); }

  function move(step) {
    var list = cards();
    if (!list.length) return;
    // start from the card that holds the focus, if any (a reader may have tabbed or clicked)
    var focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("article.card") : null;
    var at = focused ? list.indexOf(focused) : current;
    var next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    list.forEach(function (c) { c.classList.remove("current"); });
    var card = list[next];
    card.classList.add("current");
    current = next;
    var link = card.querySelector("h2.title a");
    if (link) link.focus({preventScroll: true});
    card.scrollIntoView({block: "nearest"});
  }

  function press(selector) {
    var list = cards();
    var focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("article.card") : null;
    var card = focused || list[current];
    if (!card) return;
    var button = card.querySelector(selector);
    if (button && !button.disabled) button.click();
  }

  function showHelp() {
    if (!help || help.open) return;
    if (typeof help.showModal === "function") help.showModal(); else help.setAttribute("open", "");
  }

  function closeHelp() {
    if (!help) return;
    if (typeof help.close === "function") help.close(); else help.removeAttribute("open");
  }

  var opener = document.getElementById("keys-open");
  if (opener) {
    opener.closest(".keys-open-wrap").hidden = false;
    opener.addEventListener("click", showHelp);
  }
  var closer = document.getElementById("keys-close");
  if (closer) closer.addEventListener("click", closeHelp);

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (event.key === "?" && !typing(event.target)) { event.preventDefault(); showHelp(); return; }
    if (typing(event.target)) return;
    switch (event.key) {
      case "j": event.preventDefault(); move(1); break;
      case "k": event.preventDefault(); move(-1); break;
      case "s": press("button.save-button"); break;
      case "u": if (signedIn()) press("button.vote-button"); break;
      case "/": {
        var field = document.getElementById("site-q") || document.getElementById("q");
        if (field) { event.preventDefault(); field.focus(); field.select(); }
        break;
      }
      default: return;
    }
  });
})();
