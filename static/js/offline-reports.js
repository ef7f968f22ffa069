// Reports written offline (issue 21): the form on /report/offline and the "Waiting to send"
// list (there and on the filing start page). Every report is first kept on the device
// (static/js/offline-store.js, IndexedDB, photos as Blobs), then sent: at once when online,
// else on the "online" event, on the next visit, or by the service worker's Background Sync.
// All words come from the page (#offline-words), in its language.
(function () {
  "use strict";
  var store = window.PortalOffline;
  var waiting = document.getElementById("offline-waiting");
  var wordsNode = document.getElementById("offline-words");
  if (!store || !waiting || !wordsNode) { return; }
  var words = JSON.parse(wordsNode.textContent);
  var lang = document.documentElement.lang || "en";
  var listNode = waiting.querySelector("[data-offline-list]");
  var statusBox = document.querySelector("[data-offline-status]");
  var form = document.querySelector("[data-offline-form]");
  var catalogueNode = document.getElementById("offline-catalogue");
  var catalogue = catalogueNode ? JSON.parse(catalogueNode.textContent) : [];
  var submitUrl = waiting.getAttribute("data-submit-url");

  function fill(text, name, value) { return text.split("{" + name + "}").join(value); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function say(text, link) {
    if (!statusBox) { return; }
    var p = statusBox.querySelector("[data-offline-status-text]");
    p.textContent = text;
    if (link) {
      p.appendChild(document.createTextNode(" "));
      var a = el("a", "usa-link", fill(words.open, "reference", link.reference));
      a.href = link.url;
      p.appendChild(a);
    }
    statusBox.hidden = false;
  }

  function category(code) {
    for (var g = 0; g < catalogue.length; g++) {
      for (var c = 0; c < catalogue[g].categories.length; c++) {
        if (catalogue[g].categories[c].code === code) { return catalogue[g].categories[c]; }
      }
    }
    return null;
  }

  // --- the "Waiting to send" list ---------------------------------------------------------

  function item(report) {
    var li = el("li", "border-1px border-base-lighter padding-2 margin-bottom-2");
    li.setAttribute("data-offline-report", report.key);
    li.appendChild(el("p", "margin-0 text-bold", report.label));
    if (report.excerpt) { li.appendChild(el("p", "margin-y-05", report.excerpt)); }
    li.appendChild(el("p", "margin-y-05 usa-hint", new Date(report.created).toLocaleString(lang)));
    if (report.status === "refused") {
      var alert = el("div", "usa-alert usa-alert--error usa-alert--slim margin-y-1");
      var body = el("div", "usa-alert__body");
      body.appendChild(el("p", "usa-alert__text", words.refused));
      var errors = el("ul", "usa-list");
      Object.keys(report.errors || {}).forEach(function (name) {
        errors.appendChild(el("li", "", report.errors[name]));
      });
      body.appendChild(errors);
      alert.appendChild(body);
      li.appendChild(alert);
    }
    var buttons = el("div", "margin-top-1");
    if (report.status === "refused" && report.personal) {
      var anyway = el("button", "usa-button usa-button--outline", words.send_anyway);
      anyway.type = "button";
      anyway.appendChild(el("span", "usa-sr-only", ": " + report.label));
      anyway.addEventListener("click", function () {
        report.fields.file_anyway = "1";
        report.status = "waiting";
        report.errors = {};
        report.personal = false;
        store.save(report).then(render).then(sendNow);
      });
      buttons.appendChild(anyway);
    }
    if (form && report.status === "refused") {
      var edit = el("button", "usa-button usa-button--outline", words.edit);
      edit.type = "button";
      edit.appendChild(el("span", "usa-sr-only", ": " + report.label));
      edit.addEventListener("click", function () { load(report); });
      buttons.appendChild(edit);
    }
    var remove = el("button", "usa-button usa-button--secondary", words["delete"]);
    remove.type = "button";
    remove.appendChild(el("span", "usa-sr-only", ": " + report.label));
    remove.addEventListener("click", function () {
      store.remove(report.key).then(function () { say(words.deleted); render(); });
    });
    buttons.appendChild(remove);
    li.appendChild(buttons);
    return li;
  }

  function render() {
    return store.list().then(function (reports) {
      listNode.textContent = "";
      reports.forEach(function (report) { listNode.appendChild(item(report)); });
      waiting.hidden = reports.length === 0;
    }, function () { waiting.hidden = true; });
  }

  function sendNow() {
    if (navigator.onLine === false) { return Promise.resolve(); }
    return store.list().then(function (reports) {
      if (!reports.some(function (r) { return r.status !== "refused"; })) { return null; }
      say(words.sending);
      return store.sendAll(function (result) {
        if (result.outcome === "sent") {
          say(fill(words.sent, "reference", result.answer.reference), result.answer);
        } else if (result.outcome === "refused") {
          say(words.refused + " " + result.report.label);
        } else {
          say(words.saved);
          store.requestSync();
        }
      });
    }).then(render, render);
  }

  // --- the form ---------------------------------------------------------------------------

  function questionField(q) {
    var name = "q_" + q.code;
    var box = el("div", "usa-form-group");
    box.setAttribute("data-field", name);
    var optional = q.required ? "" : " " + words.optional;
    var choices = q.kind === "yesno"
      ? [{ key: "yes", label: words.yes }, { key: "no", label: words.no }]
      : q.options;
    if (q.kind === "single" || q.kind === "multi" || q.kind === "yesno") {
      var fieldset = el("fieldset", "usa-fieldset");
      fieldset.appendChild(el("legend", "usa-legend", q.prompt + optional));
      if (q.help) { fieldset.appendChild(el("div", "usa-hint", q.help)); }
      choices.forEach(function (option, index) {
        var multi = q.kind === "multi";
        var wrap = el("div", multi ? "usa-checkbox" : "usa-radio");
        var input = el("input", multi ? "usa-checkbox__input" : "usa-radio__input");
        input.type = multi ? "checkbox" : "radio";
        input.name = name;
        input.value = option.key;
        input.id = "offline-" + name + (index ? "-" + index : "");
        var label = el("label", multi ? "usa-checkbox__label" : "usa-radio__label", option.label);
        label.htmlFor = input.id;
        wrap.appendChild(input);
        wrap.appendChild(label);
        fieldset.appendChild(wrap);
      });
      box.appendChild(fieldset);
    } else {
      var input = el("input", "usa-input");
      input.id = "offline-" + name;
      input.name = name;
      input.type = q.kind === "date" ? "date" : "text";
      if (q.kind === "number") { input.inputMode = "decimal"; }
      var label = el("label", "usa-label", q.prompt + optional);
      label.htmlFor = input.id;
      box.appendChild(label);
      if (q.help) { box.appendChild(el("div", "usa-hint", q.help)); }
      box.appendChild(input);
    }
    return box;
  }

  function showQuestions() {
    var holder = form.querySelector("[data-offline-questions]");
    holder.textContent = "";
    var chosen = category(form.elements.category.value);
    (chosen ? chosen.questions : []).forEach(function (q) { holder.appendChild(questionField(q)); });
    if (chosen && chosen.asset) {
      // No map offline: the number written on the streetlight, bin or hydrant, if known.
      holder.appendChild(questionField({
        code: "asset",
        kind: "text",
        prompt: fill(words.asset_number, "layer", chosen.asset.layer),
        required: chosen.asset.required,
        options: []
      }));
      var input = holder.querySelector("#offline-q_asset");
      input.name = "asset";
      input.id = "offline-asset";
      input.maxLength = 64;
      holder.querySelector('label[for="offline-q_asset"]').htmlFor = "offline-asset";
      holder.lastChild.setAttribute("data-field", "asset");
    }
  }

  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-offline-error]"), function (node) {
      node.parentNode.classList.remove("usa-form-group--error");
      node.parentNode.removeChild(node);
    });
  }

  function showErrors(errors) {
    var first = null;
    Object.keys(errors).forEach(function (name) {
      var box = form.querySelector('[data-field="' + name + '"]') || form;
      box.classList.add("usa-form-group--error");
      var message = el("span", "usa-error-message", errors[name]);
      message.id = "offline-error-" + name;
      message.setAttribute("data-offline-error", "");
      var control = box.querySelector("input, select, textarea");
      // Before the field (the design system wraps some, the file input, in boxes of its own).
      var before = box.querySelector("input, select, textarea, fieldset, button");
      while (before && before.parentNode !== box) { before = before.parentNode; }
      box.insertBefore(message, before);
      if (control) {
        control.setAttribute("aria-describedby", message.id);
        first = first || control;
      }
    });
    if (first) { first.focus(); }
  }

  function fields() {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.type === "file" || input.type === "submit") { return; }
      if ((input.type === "checkbox" || input.type === "radio") && !input.checked) { return; }
      if (input.type === "checkbox" && input.name !== "private") {
        out[input.name] = (out[input.name] || []).concat([input.value]);
      } else {
        out[input.name] = input.value;
      }
    });
    return out;
  }

  function check(values, files) {
    var errors = {};
    if (!values.category) { errors.category = words.choose; }
    if (!(values.description || "").trim()) { errors.description = words.describe; }
    if (!(values.address || "").trim() && !values.lat) { errors.address = words.where; }
    if (files.length > words.max_photos) { errors.photos = words.too_many_photos; }
    files.forEach(function (file) {
      if (file.size > words.max_photo_bytes) {
        errors.photos = fill(words.photo_too_large, "file", file.name);
      }
    });
    return errors;
  }

  function room(bytes) {
    if (!navigator.storage || !navigator.storage.estimate) { return Promise.resolve(true); }
    return navigator.storage.estimate().then(function (e) {
      return !e.quota || e.quota - (e.usage || 0) > bytes + 65536;
    }, function () { return true; });
  }

  function load(report) {
    form.reset();
    form.setAttribute("data-key", report.key);
    form.elements.category.value = report.fields.category || "";
    showQuestions();
    Object.keys(report.fields).forEach(function (name) {
      var value = report.fields[name];
      var values = Array.isArray(value) ? value : [value];
      Array.prototype.forEach.call(form.querySelectorAll('[name="' + name + '"]'), function (input) {
        if (input.type === "checkbox" || input.type === "radio") {
          input.checked = values.indexOf(input.value) !== -1;
        } else if (input.type !== "file") {
          input.value = values[0];
        }
      });
    });
    if (window.DataTransfer && report.photos && report.photos.length) {
      var transfer = new DataTransfer();
      report.photos.forEach(function (p) {
        transfer.items.add(new File([p.blob], p.name, { type: p.type }));
      });
      form.elements.photos.files = transfer.files;
    }
    clearErrors();
    showErrors(report.errors || {});
  }

  function keep(event) {
    event.preventDefault();
    clearErrors();
    var values = fields();
    var files = Array.prototype.slice.call(form.elements.photos.files || []);
    var errors = check(values, files);
    if (Object.keys(errors).length) { showErrors(errors); return; }
    var total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    room(total).then(function (enough) {
      if (!enough) { showErrors({ photos: words.no_room }); return null; }
      var chosen = category(values.category);
      var report = {
        key: form.getAttribute("data-key") || store.newKey(),
        url: submitUrl,
        created: new Date().toISOString(),
        label: chosen ? chosen.name : values.category,
        excerpt: values.description.trim().slice(0, 120),
        fields: values,
        photos: files.map(function (f) {
          return { name: f.name, type: f.type, blob: f.slice(0, f.size, f.type) };
        }),
        status: "waiting"
      };
      return store.save(report).then(function () {
        form.reset();
        form.removeAttribute("data-key");
        // The design system's file input shows its preview until told the files changed.
        form.elements.photos.dispatchEvent(new Event("change", { bubbles: true }));
        showQuestions();
        document.getElementById("offline-position").textContent = "";
        if (navigator.onLine === false) {
          say(words.saved);
          store.requestSync();
          return render();
        }
        return render().then(sendNow);
      }, function (error) {
        var full = error && error.name === "QuotaExceededError";
        showErrors({ photos: full ? words.no_room : words.no_store });
      });
    });
  }

  function locate() {
    var note = document.getElementById("offline-position");
    if (!navigator.geolocation) { note.textContent = words.no_position; return; }
    note.textContent = words.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      form.elements.lat.value = position.coords.latitude.toFixed(6);
      form.elements.lon.value = position.coords.longitude.toFixed(6);
      note.textContent = fill(words.located, "metres", Math.round(position.coords.accuracy));
    }, function () {
      note.textContent = words.no_position;
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  }

  if (form) {
    form.hidden = false;
    form.elements.category.addEventListener("change", showQuestions);
    form.querySelector("[data-offline-locate]").addEventListener("click", locate);
    form.addEventListener("submit", keep);
    form.addEventListener("reset", function () {
      form.elements.lat.value = "";
      form.elements.lon.value = "";
    });
  }
  window.addEventListener("online", sendNow);
  render().then(sendNow);
})();
