// The portal's maps (templates/places/_map.html): every element with data-portal-map becomes
// a Leaflet map. Progressive enhancement: without JavaScript (or without Leaflet) the element
// stays hidden and the page's list and address search do the work.
//
// data-portal-map holds a JSON object:
//   layers     [{kind: "areas"|"streets"|"assets"|"requests", url, cluster}] GeoJSON endpoints,
//              asked again with ?bbox=minLon,minLat,maxLon,maxLat&zoom=z whenever the view moves;
//              an assets layer with pick: "input-id" lets a tap choose an asset (document event
//              "portal:asset" {id, label, lat, lon}): its id goes in that input, the pin to it
//   center     [lat, lon] and zoom; or bounds [minLon, minLat, maxLon, maxLat]
//   pin        [lat, lon] or null: a marker; draggable with inputs {lat: id, lon: id}
//   reverse    URL asked ?lat=&lon= for the nearest address when the pin moves (optional)
//   tiles, attribution  a basemap (empty: the city's own streets and areas only)
//   text       translated strings
// Each area carries its name on the map: a label at the point the server chose inside the
// area's part in view (properties.label_point), in a pane above the areas and under every
// marker, never taking a tap; labels that would overlap each other, the pin or a control step
// aside when they can stay inside their area, else the roomiest is kept. The map block's
// [data-map-areas] sentence lists the areas in view for screen readers (the labels are hidden
// from them, so no name is read twice).
// The address search (or anything else) moves the pin by dispatching on document:
//   new CustomEvent("portal:place", {detail: {lat: 42.1, lon: -85.6, label: "118 Main Street"}})
(function () {
  "use strict";
  var L = window.L;
  var elements = document.querySelectorAll("[data-portal-map]");
  if (!L || !elements.length) { return; }

  var STATUS_COLOURS = {
    open: "#d54309", acknowledged: "#d54309", in_progress: "#e5a000",
    fixed: "#00a91c", closed: "#71767a"
  };

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : values[key];
    });
  }

  function requestPopup(properties) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = properties.url;
    link.textContent = properties.title;
    box.appendChild(link);
    var status = document.createElement("div");
    status.textContent = properties.status_label || "";
    box.appendChild(status);
    return box;
  }

  function clusterIcon(count, text) {
    return L.divIcon({
      className: "portal-map__cluster",
      html: "<span>" + escapeHtml(String(count)) + "</span>",
      iconSize: [36, 36]
    });
  }

  // A pane between the tiles (200) and the overlay pane (400) for the city's areas and streets.
  function basePane(map) {
    if (!map.getPane("portal-base")) { map.createPane("portal-base").style.zIndex = 350; }
    return "portal-base";
  }

  // The areas' names: above the areas and streets (350), under requests and assets (400) and
  // the pin (600); a label never takes a tap or a click.
  function labelPane(map) {
    if (!map.getPane("portal-labels")) {
      var pane = map.createPane("portal-labels");
      pane.style.zIndex = 360;
      pane.style.pointerEvents = "none";
    }
    return "portal-labels";
  }

  // Is [lon, lat] inside a GeoJSON Polygon or MultiPolygon (even-odd over its rings)?
  function covers(geometry, lon, lat) {
    if (!geometry) { return false; }
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates]
      : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    return polygons.some(function (rings) {
      var inside = false;
      rings.forEach(function (ring) {
        for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
          var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
          if ((yi > lat) !== (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) {
            inside = !inside;
          }
        }
      });
      return inside;
    });
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  function within(a, box) {
    return a.left >= box.left && a.right <= box.right && a.top >= box.top && a.bottom <= box.bottom;
  }

  function shifted(rect, dx, dy) {
    return { left: rect.left + dx, right: rect.right + dx, top: rect.top + dy, bottom: rect.bottom + dy };
  }

  // Show the areas' labels without overlaps, roomiest area first. A label in the way of the
  // pin, a control or a label already shown moves just past it (below, above, right, left)
  // if it stays in the map and inside its area; otherwise it is hidden (the name is still in
  // the screen-reader sentence and, on every page with a map, in the page's own text).
  function declutter(map, markers, obstacles) {
    var container = map.getContainer().getBoundingClientRect();
    var box = { left: container.left + 2, right: container.right - 2,
      top: container.top + 2, bottom: container.bottom - 2 };
    var taken = obstacles.slice();
    markers.slice().sort(function (a, b) {
      return b.portalLabel.room - a.portalLabel.room;
    }).forEach(function (marker) {
      var element = marker.getElement();
      if (!element || !element.firstChild) { return; }
      marker.setLatLng(marker.portalLabel.home);
      element.classList.remove("portal-map__area-label--hidden");
      var rect = element.firstChild.getBoundingClientRect();
      var free = function (r) {
        return within(r, box) && !taken.some(function (t) { return overlaps(r, t); });
      };
      if (free(rect)) { taken.push(rect); return; }
      var home = map.latLngToContainerPoint(marker.portalLabel.home);
      var blocking = taken.filter(function (t) { return overlaps(rect, t); });
      var moves = [];
      blocking.forEach(function (t) {
        moves.push([0, t.bottom + 2 - rect.top], [0, t.top - 2 - rect.bottom],
          [t.right + 2 - rect.left, 0], [t.left - 2 - rect.right, 0]);
      });
      for (var i = 0; i < moves.length; i++) {
        var moved = shifted(rect, moves[i][0], moves[i][1]);
        var at = map.containerPointToLatLng(L.point(home.x + moves[i][0], home.y + moves[i][1]));
        if (free(moved) && covers(marker.portalLabel.geometry, at.lng, at.lat)) {
          marker.setLatLng(at);
          taken.push(moved);
          return;
        }
      }
      element.classList.add("portal-map__area-label--hidden");
    });
  }

  function makeLayer(map, spec, text, labelled) {
    var group = spec.cluster && L.markerClusterGroup
      ? L.markerClusterGroup({
        showCoverageOnHover: false,
        maxClusterRadius: 50,
        iconCreateFunction: function (cluster) {
          return clusterIcon(cluster.getChildCount(), text);
        }
      })
      : L.featureGroup();
    group.addTo(map);
    var labels = spec.kind === "areas" ? L.featureGroup().addTo(map) : null;
    var controller = null;
    var lastKey = null;

    function style(feature) {
      if (spec.kind === "areas") {
        return { className: "portal-map__area", weight: 2, color: "#1a4480", fillOpacity: 0.05 };
      }
      if (spec.kind === "streets") {
        return { className: "portal-map__street", weight: 3, color: "#a9aeb1" };
      }
      return {};
    }

    function point(feature, latlng) {
      var p = feature.properties || {};
      if (p.cluster) {
        var marker = L.marker(latlng, {
          icon: clusterIcon(p.count, text),
          title: format(text.cluster || "{count}", { count: p.count }),
          keyboard: false
        });
        marker.on("click", function () { map.setView(latlng, map.getZoom() + 2); });
        return marker;
      }
      if (spec.kind === "requests") {
        var colour = STATUS_COLOURS[p.status] || "#005ea2";
        return L.circleMarker(latlng, {
          radius: 7, color: "#1b1b1b", weight: 1, fillColor: colour, fillOpacity: 0.9,
          className: "portal-map__request"
        });
      }
      if (spec.kind === "assets" && spec.pick) {
        var asset = L.circleMarker(latlng, {
          radius: 8, color: "#162e51", weight: 2, fillColor: "#73b3e7", fillOpacity: 0.9,
          className: "portal-map__asset portal-map__asset--pick", bubblingMouseEvents: false
        });
        asset.on("click", function () {
          document.dispatchEvent(new CustomEvent("portal:asset", { detail: {
            id: p.id, label: p.label || p.id, lat: latlng.lat, lon: latlng.lng
          } }));
        });
        return asset;
      }
      return L.circleMarker(latlng, {
        radius: 4, color: "#162e51", weight: 1, fillColor: "#73b3e7", fillOpacity: 0.9,
        className: "portal-map__asset"
      });
    }

    function eachFeature(feature, layer) {
      var p = feature.properties || {};
      if (spec.kind === "requests" && !p.cluster && p.url) {
        layer.bindPopup(requestPopup(p));
      } else if (spec.kind === "assets" && p.label) {
        layer.bindTooltip(p.label);
      } else if (spec.kind === "streets" && p.name) {
        layer.bindTooltip(p.name, { sticky: true });
      }
    }

    // Each area's name at the point the server chose inside its part in view.
    function drawLabels(features) {
      labels.clearLayers();
      var names = [];
      features.forEach(function (feature) {
        var p = feature.properties || {};
        if (!p.name || !p.label_point) { return; }
        names.push(p.name);
        var home = L.latLng(p.label_point[1], p.label_point[0]);
        var marker = L.marker(home, {
          icon: L.divIcon({
            className: "portal-map__area-label",
            html: "<span>" + escapeHtml(p.name) + "</span>",
            iconSize: [0, 0]
          }),
          interactive: false,
          keyboard: false,
          pane: labelPane(map)
        });
        marker.portalLabel = { home: home, room: p.label_room_m || 0, geometry: feature.geometry };
        labels.addLayer(marker);
        var element = marker.getElement();
        if (element) { element.setAttribute("aria-hidden", "true"); }
      });
      labelled(names);
    }

    function load() {
      // Areas: the view itself, since each answer places the names inside the view.
      var b = map.getBounds().pad(spec.kind === "areas" ? 0 : 0.1);
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
        return v.toFixed(5);
      }).join(",");
      var url = spec.url + (spec.url.indexOf("?") < 0 ? "?" : "&") +
        "bbox=" + bbox + "&zoom=" + map.getZoom();
      if (controller && window.AbortController) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      fetch(url, { credentials: "same-origin", signal: controller ? controller.signal : undefined,
        headers: { Accept: "application/geo+json, application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          // The same answer again (a small pan): keep the markers, and any open popup.
          var key = JSON.stringify(data.features);
          if (key === lastKey) { return; }
          lastKey = key;
          group.clearLayers();
          var options = { style: style, pointToLayer: point, onEachFeature: eachFeature };
          // Areas and streets are drawn in a pane under everything else, so whichever answer
          // comes last, an area never covers a request or an asset a resident taps.
          if (spec.kind === "areas" || spec.kind === "streets") { options.pane = basePane(map); }
          L.geoJSON(data, options).eachLayer(function (layer) { group.addLayer(layer); });
          if (spec.kind !== "areas" && spec.kind !== "streets") { group.bringToFront && group.bringToFront(); }
          if (labels) { drawLabels(data.features); }
        })
        .catch(function () { /* the map is never required: the list has the same reports */ });
    }
    return {
      load: load,
      group: group,
      labels: function () { return labels ? labels.getLayers() : []; }
    };
  }

  function setup(element) {
    var config;
    try { config = JSON.parse(element.getAttribute("data-portal-map")); } catch (e) { return; }
    var text = config.text || {};
    var block = element.closest("[data-portal-map-block]") || element.parentNode;
    var status = block.querySelector("[data-map-status]");
    block.hidden = false;
    element.hidden = false;

    // maxZoom: without a basemap nothing else sets it, and marker clustering needs it.
    var map = L.map(element, { zoomControl: true, keyboard: true, attributionControl: true, maxZoom: 19 });
    // Leaflet's own controls speak English: give them the page's language.
    if (map.zoomControl) {
      map.zoomControl.remove();
      L.control.zoom({ zoomInTitle: text.zoom_in || "Zoom in", zoomOutTitle: text.zoom_out || "Zoom out" }).addTo(map);
    }
    if (config.tiles) {
      L.tileLayer(config.tiles, { maxZoom: 19, attribution: escapeHtml(config.attribution || "") }).addTo(map);
    } else {
      element.classList.add("portal-map--no-basemap");
    }
    if (config.bounds) {
      var bb = config.bounds;
      map.fitBounds([[bb[1], bb[0]], [bb[3], bb[2]]]);
    } else if (config.center) {
      map.setView(config.center, config.zoom || 16);
    } else {
      map.setView([0, 0], 2);
    }

    // Leaflet's popup close button is labelled in English: use the page's language.
    map.on("popupopen", function (event) {
      var close = event.popup.getElement() &&
        event.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close && text.close) { close.setAttribute("aria-label", text.close); close.title = text.close; }
    });
    // The areas' names: laid out again whenever the view, the labels or the pin move, and
    // said in one sentence for screen readers.
    var areaList = block.querySelector("[data-map-areas]");
    var pin = null;
    function layout() {
      var obstacles = [];
      var controls = element.querySelectorAll(".leaflet-control");
      Array.prototype.forEach.call(controls, function (control) {
        obstacles.push(control.getBoundingClientRect());
      });
      var icon = pin && pin.getElement();
      if (icon) { obstacles.push(icon.getBoundingClientRect()); }
      var markers = [];
      layers.forEach(function (layer) { markers = markers.concat(layer.labels()); });
      declutter(map, markers, obstacles);
    }
    function labelled(names) {
      if (areaList) {
        names.sort(function (a, b) { return a.localeCompare(b); });
        areaList.textContent = names.length
          ? format(text.areas || "{names}", { names: names.join(", ") }) : "";
      }
      layout();
    }
    var layers = (config.layers || []).map(function (spec) {
      return makeLayer(map, spec, text, labelled);
    });
    function reload() { layers.forEach(function (layer) { layer.load(); }); }
    map.on("moveend", reload);
    map.on("moveend", layout);
    reload();

    // The pin: shown where the request is; draggable on the location step, where it writes
    // the form's latitude and longitude and asks for the nearest address.
    var inputs = config.inputs ? {
      lat: document.getElementById(config.inputs.lat),
      lon: document.getElementById(config.inputs.lon)
    } : null;
    var reverseController = null;

    function say(message) { if (status) { status.textContent = message; } }

    function describe(latlng) {
      var coordinates = format(text.chosen || "{lat}, {lon}",
        { lat: latlng.lat.toFixed(6), lon: latlng.lng.toFixed(6) });
      if (!config.reverse || !window.fetch) { say(coordinates); return; }
      if (reverseController && window.AbortController) { reverseController.abort(); }
      reverseController = window.AbortController ? new AbortController() : null;
      fetch(config.reverse + (config.reverse.indexOf("?") < 0 ? "?" : "&") +
        "lat=" + latlng.lat.toFixed(6) + "&lon=" + latlng.lng.toFixed(6),
        { credentials: "same-origin", signal: reverseController ? reverseController.signal : undefined,
          headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          var label = data && (data.label || (data.address && data.address.label) ||
            (data.results && data.results[0] && data.results[0].label));
          say(label ? format(text.near || "{label}", { label: label }) : coordinates);
        })
        .catch(function () { say(coordinates); });
    }

    function place(latlng, options) {
      options = options || {};
      if (!pin) {
        pin = L.marker(latlng, {
          draggable: !!config.draggable,
          keyboard: true,
          title: text.pin || "",
          alt: text.pin || "",
          icon: L.divIcon({ className: "portal-map__pin", iconSize: [28, 28], iconAnchor: [14, 14] })
        }).addTo(map);
        var icon = pin.getElement();
        if (icon) {
          icon.setAttribute("aria-label", config.draggable ? (text.pin_move || text.pin) : text.pin);
          if (!config.draggable) { icon.removeAttribute("tabindex"); icon.setAttribute("role", "img"); }
        }
        if (config.draggable) {
          pin.on("dragend", function () { chosen(pin.getLatLng(), {}); });
          if (icon) { icon.addEventListener("keydown", nudge); }
        }
      } else {
        pin.setLatLng(latlng);
      }
      layout();
      if (options.pan) { map.setView(latlng, Math.max(map.getZoom(), config.zoom || 17)); }
    }

    function chosen(latlng, options) {
      place(latlng, options);
      if (assetInput && !options.asset) { assetInput.value = ""; }
      if (inputs && inputs.lat && inputs.lon) {
        inputs.lat.value = latlng.lat.toFixed(6);
        inputs.lon.value = latlng.lng.toFixed(6);
      }
      if (options.asset) {
        say(format(text.asset || "{label}", { label: options.label }));
      } else if (options.label) {
        say(format(text.near || "{label}", { label: options.label }));
      } else {
        describe(latlng);
      }
    }

    // Arrow keys move a focused draggable pin (10 px; 50 px with Shift).
    function nudge(event) {
      var steps = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
      var step = steps[event.key];
      if (!step) { return; }
      event.preventDefault();
      event.stopPropagation();
      var size = event.shiftKey ? 50 : 10;
      var at = map.latLngToContainerPoint(pin.getLatLng());
      var latlng = map.containerPointToLatLng(L.point(at.x + step[0] * size, at.y + step[1] * size));
      chosen(latlng, {});
    }

    if (config.pin) { place(L.latLng(config.pin[0], config.pin[1])); }

    // A tap on an asset (a layer with "pick") chooses it: its id in the form, the pin on it.
    var picking = (config.layers || []).filter(function (spec) { return spec.pick; })[0];
    var assetInput = picking ? document.getElementById(picking.pick) : null;
    if (assetInput) {
      document.addEventListener("portal:asset", function (event) {
        var d = event.detail || {};
        assetInput.value = d.id || "";
        chosen(L.latLng(d.lat, d.lon), { label: d.label, asset: true });
      });
    }

    if (config.draggable) {
      map.on("click", function (event) { chosen(event.latlng, {}); });
      document.addEventListener("portal:place", function (event) {
        var d = event.detail || {};
        var lat = parseFloat(d.lat);
        var lon = parseFloat(d.lon);
        if (isFinite(lat) && isFinite(lon)) { chosen(L.latLng(lat, lon), { pan: true, label: d.label }); }
      });
      var locate = block.querySelector("[data-use-location]");
      if (locate) {
        locate.addEventListener("click", function () {
          if (!navigator.geolocation) { say(text.denied || ""); return; }
          navigator.geolocation.getCurrentPosition(function (position) {
            chosen(L.latLng(position.coords.latitude, position.coords.longitude), { pan: true });
          }, function () { say(text.denied || ""); }, { enableHighAccuracy: true, timeout: 10000 });
        });
      }
      var clear = block.querySelector("[data-clear-point]");
      if (clear) {
        clear.addEventListener("click", function () {
          if (inputs && inputs.lat && inputs.lon) { inputs.lat.value = ""; inputs.lon.value = ""; }
          if (pin) { pin.remove(); pin = null; }
          say("");
        });
      }
    }
    element.portalMap = map;
  }

  Array.prototype.forEach.call(elements, setup);
})();
