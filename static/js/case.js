// The case page, faster (templates/casework/case/*). Everything works without this file: each
// form posts, the server answers with the case page at the section the action was taken in,
// with its result beside it. With it, a form marked data-case-form is sent with fetch and the
// page's sections (data-case-region) are replaced in place from the answer; the result is
// announced (a live region) and focused where the action was taken; nothing reloads.
// The composer fills a chosen response template into the message at once.
(function () {
  "use strict";
  var page = document.querySelector("[data-case-page]");
  if (!page || !window.fetch || !window.DOMParser) { return; }
  var announcer = document.querySelector("[data-case-announce]");

  function announce(text) {
    if (!announcer) { return; }
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  // -- response templates ---------------------------------------------------------------------
  function templateText(form, id) {
    var holder = form.querySelector("template[data-case-templates]");
    if (!holder || !id) { return null; }
    var kind = form.querySelector("input[name=kind]:checked");
    var audience = kind && kind.value === "note" ? "staff" : "resident";
    var found = holder.content.querySelector(
      'textarea[data-id="' + id.replace(/"/g, "") + '"][data-for="' + audience + '"]');
    return found ? found.value : null;
  }

  function enhanceComposer(root) {
    var form = root.querySelector("[data-case-composer]");
    if (!form) { return; }
    var use = form.querySelector("[data-case-use-template]");
    if (use) { use.hidden = true; }
    var select = form.querySelector("select[name=template]");
    var message = form.querySelector("textarea[name=message]");
    if (!select || !message) { return; }
    var hint = document.getElementById(select.getAttribute("aria-describedby") || "");
    if (hint) { hint.hidden = true; }
    var filled = "";
    select.addEventListener("change", function () {
      var text = templateText(form, select.value);
      if (text === null) { return; }
      if (!message.value.trim() || message.value === filled) {
        message.value = text;
      } else {
        message.value = message.value.replace(/\s+$/, "") + "\n\n" + text;
      }
      filled = message.value;
      message.focus();
    });
  }

  // -- sending a form in place ----------------------------------------------------------------
  function regionOf(element) {
    return element.closest("[data-case-region]");
  }

  function swap(doc) {
    var regions = doc.querySelectorAll("[data-case-region][id]");
    var swapped = 0;
    regions.forEach(function (fresh) {
      var old = document.getElementById(fresh.id);
      if (old && old.hasAttribute("data-case-region")) {
        old.replaceWith(document.importNode(fresh, true));
        swapped += 1;
      }
    });
    // Forms outside the regions (the location, the related panel) carry the new version.
    ["version", "seen"].forEach(function (name) {
      var value = doc.querySelector("input[name=" + name + "]");
      if (!value) { return; }
      document.querySelectorAll("input[type=hidden][name=" + name + "]").forEach(function (input) {
        input.value = value.value;
      });
    });
    if (doc.title) { document.title = doc.title; }
    return swapped;
  }

  function settle(sectionId) {
    enhanceComposer(document);
    var problem = document.querySelector("#case-messages [data-error-summary], #case-messages [data-case-conflict]");
    var section = sectionId ? document.getElementById(sectionId) : null;
    var invalid = section ? section.querySelector("[aria-invalid=true]") : null;
    var outcome = document.querySelector("[data-case-outcome]");
    if (invalid) {
      invalid.focus();
      var error = invalid.closest(".usa-form-group");
      var text = error ? error.querySelector(".usa-error-message") : null;
      announce(text ? text.textContent : "");
    } else if (problem) {
      problem.focus();
      announce(problem.textContent.replace(/\s+/g, " ").trim());
    } else if (outcome) {
      var resolved = document.querySelector("[data-case-resolved]");
      outcome.focus({ preventScroll: false });
      announce(outcome.textContent.replace(/\s+/g, " ").trim() +
        (resolved && !outcome.contains(resolved) ? " " + resolved.textContent.trim() : ""));
    }
  }

  function send(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var region = regionOf(form);
    var sectionId = region ? region.id : null;
    form.setAttribute("data-case-busy", "");
    form.setAttribute("aria-busy", "true");
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.text().then(function (html) { return { response: response, html: html }; });
    }).then(function (answer) {
      var doc = new DOMParser().parseFromString(answer.html, "text/html");
      if (!doc.querySelector("[data-case-page]") || !swap(doc)) { throw new Error("not the case page"); }
      settle(sectionId);
    }).catch(function () {
      // Anything unexpected: send it the ordinary way, so the person sees what happened.
      form.removeAttribute("data-case-busy");
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      form.setAttribute("data-case-native", "");
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-case-form")) { return; }
    if (form.hasAttribute("data-case-native") || !page.contains(form)) { return; }
    event.preventDefault();
    if (form.hasAttribute("data-case-busy")) { return; }
    send(form, event.submitter || null);
  });

  // -- a machine translation of what the resident wrote (issue 22), loaded in place ---------
  // The link renders the case page with the translation; here only its block is taken from
  // that page and put where the link was, and the reader is taken to it.
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-assist-translate]") : null;
    if (!link || !page.contains(link) || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var id = link.getAttribute("data-assist-translate");
    var old = document.getElementById(id);
    if (!old) { return; }
    event.preventDefault();
    link.setAttribute("aria-busy", "true");
    fetch(link.href, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
        if (!fresh) { throw new Error("no such text"); }
        var made = document.importNode(fresh, true);
        old.replaceWith(made);
        var heading = made.querySelector(".usa-summary-box__heading, [role=status]");
        if (heading) {
          heading.setAttribute("tabindex", "-1");
          heading.focus();
          announce(heading.closest("[role=region]") ? heading.closest("[role=region]").textContent.replace(/\s+/g, " ").trim() : heading.textContent.trim());
        }
      }).catch(function () { window.location.href = link.href; });
  });

  enhanceComposer(document);
})();
