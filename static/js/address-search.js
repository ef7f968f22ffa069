// The address box as an accessible combobox (WAI-ARIA 1.2 pattern, list autocomplete):
// suggestions from GET /places/suggest?q= appear as the resident types; Up/Down move through
// them, Enter chooses, Escape closes; the count is announced in a polite live region.
// Choosing one fills the address, #lat/#lon and #point, and tells the map (portal:place).
// Without JavaScript none of this runs: the server searches on submit and offers a choice.
(function () {
  "use strict";
  var box = document.querySelector("[data-address-search]");
  if (!box || !window.fetch) { return; }
  var input = box.querySelector("input");
  var list = box.querySelector("[role=listbox]");
  var status = box.querySelector("[role=status]");
  var form = input.form;
  // The fields it fills: #lat, #lon and #point unless the box names others (data-lat...).
  var lat = document.getElementById(box.getAttribute("data-lat") || "lat");
  var lon = document.getElementById(box.getAttribute("data-lon") || "lon");
  var point = document.getElementById(box.getAttribute("data-point") || "point");
  var url = box.getAttribute("data-address-search");
  var items = [];
  var active = -1;
  var timer = null;
  var controller = null;
  var fromSuggestion = false;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("autocomplete", "off");

  function text(name, values) {
    var template = box.getAttribute("data-text-" + name) || "";
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values && key in values ? values[key] : ""; });
  }

  function say(message) { status.textContent = message; }

  function close() {
    list.hidden = true;
    list.innerHTML = "";
    items = [];
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function highlight(index) {
    var options = list.querySelectorAll("[role=option]");
    if (!options.length) { return; }
    active = (index + options.length) % options.length;
    for (var i = 0; i < options.length; i++) {
      var on = i === active;
      options[i].setAttribute("aria-selected", on ? "true" : "false");
      options[i].classList.toggle("address-search__option--active", on);
    }
    input.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  function choose(index) {
    var item = items[index];
    if (!item) { return; }
    input.value = item.label;
    if (lat && lon) { lat.value = item.lat.toFixed(6); lon.value = item.lon.toFixed(6); }
    if (point) { point.value = item.id ? String(item.id) : ""; }
    fromSuggestion = true;
    close();
    say(text("chosen", { label: item.label }));
    document.dispatchEvent(new CustomEvent("portal:place", {
      detail: { lat: item.lat, lon: item.lon, label: item.label }
    }));
  }

  function show(found) {
    list.innerHTML = "";
    items = found;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    found.forEach(function (item, index) {
      var option = document.createElement("li");
      option.id = "address-suggestion-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.className = "address-search__option";
      option.textContent = item.label;
      // mousedown, not click: the input keeps focus and its blur does not close the list first.
      option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(index); });
      list.appendChild(option);
    });
    var open = found.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (found.length === 0) { say(text("none")); }
    else if (found.length === 1) { say(text("one")); }
    else { say(text("count", { count: found.length })); }
  }

  function search() {
    var query = input.value.trim();
    if (query.length < 2) { close(); say(""); return; }
    if (controller && window.AbortController) { controller.abort(); }
    controller = window.AbortController ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(query.slice(0, 200)), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (found) { if (document.activeElement === input) { show(found || []); } })
      .catch(function () { /* aborted or offline: the server searches on submit */ });
  }

  input.addEventListener("input", function () {
    // A new address: the point chosen for the old one no longer applies.
    if (point) { point.value = ""; }
    if (fromSuggestion && lat && lon) { lat.value = ""; lon.value = ""; }
    fromSuggestion = false;
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });

  input.addEventListener("keydown", function (event) {
    var open = !list.hidden && items.length > 0;
    if (event.key === "ArrowDown") {
      if (!open) { search(); return; }
      event.preventDefault();
      highlight(active + 1);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlight(active - 1);
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault(); // choose, do not submit the form yet
      choose(active);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      close();
    }
  });

  input.addEventListener("blur", function () { setTimeout(close, 150); });
  if (form) { form.addEventListener("submit", close); }
})();
